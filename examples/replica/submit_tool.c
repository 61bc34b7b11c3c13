/*
 * cyberagent-submit: submits signed ledger ops to the stream and prints
 * their stream sequence and status (README.md, "Submitting by hand"). It
 * follows the stream in memory (submit.h, rfol) to learn the signer's next
 * nonce and each op's result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger_args.h"
#include "submit.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cyberagent-submit id --seed-env NAME\n"
            "       cyberagent-submit --urls URLS --authority HEX [ledger options] COMMAND\n"
            "\n"
            "COMMAND (the signer's 32-byte seed is in $NAME as 64 hex digits):\n"
            "  mint     --seed-env NAME --to HEX --amount N   (NAME: the authority's seed)\n"
            "  transfer --seed-env NAME --to HEX --amount N\n"
            "  bond     --seed-env NAME --amount N\n"
            "  unbond   --seed-env NAME --amount N\n"
            "      each with [--count K] (K ops, nonces in a row; default 1) and\n"
            "      [--batch B] (B ops per stream message, 1..4096; default 1)\n"
            "  state                 the ledger's state once the stream is read: SEQ HASH FAILED\n"
            "  account --id HEX      balance bonded unbonding nonce of an account\n"
            "\n"
            "An op command prints, per message, `submitted SEQ OPS` (the stream sequence;\n"
            "`duplicate` appended when those bytes were already in the stream), then per op\n"
            "`op SEQ INDEX STATUS` as every replica computes it, then a summary line\n"
            "`ops K applied A refused R seconds S ops_per_s X`. Exit status 0 when every\n"
            "op applied, 1 otherwise, 2 on bad arguments.\n"
            "  --urls URLS               NATS client URLs, comma-separated\n"
            "  --stream NAME --prefix P  the stream (default LEDGER, ledger.ops)\n"
            "  --quiet                   only the summary line\n" LA_USAGE);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ca_identity *seed_identity(const char *env)
{
    const char *hex = env != NULL ? getenv(env) : NULL;
    uint8_t seed[32];
    ca_identity *id = NULL;
    if (hex == NULL || la_hex32(hex, seed) != 0 || ca_identity_from_seed(&id, seed) != CA_OK) {
        fprintf(stderr, "cyberagent-submit: $%s must hold a 32-byte seed as 64 hex digits\n",
                env != NULL ? env : "(--seed-env)");
        return NULL;
    }
    return id;
}

typedef struct acct_q {
    ca_agent_id id;
    ca_status st;
    ca_ledger_account_info info;
} acct_q;

static void query(void *ctx, ca_ledger *l)
{
    acct_q *q = ctx;
    q->info.version = CA_LEDGER_ACCOUNT_INFO_VERSION;
    q->st = ca_ledger_account(l, &q->id, &q->info);
}

int main(int argc, char **argv)
{
    const char *urls = NULL, *seed_env = NULL, *to = NULL, *idhex = NULL, *cmd = NULL;
    uint64_t amount = 0, count = 1, batch = 1;
    int have_auth = 0, quiet = 0;
    ca_ledger_options lo;
    rjs_options jo;
    rjs_options_init(&jo);
    if (la_init(&lo) != 0 || ca_init() != CA_OK)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(k, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (k[0] != '-') {
            if (cmd != NULL) {
                fprintf(stderr, "cyberagent-submit: one command only (--help)\n");
                return 2;
            }
            cmd = k;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "cyberagent-submit: %s needs a value\n", k);
            return 2;
        }
        i++;
        int r = la_option(&lo, k, v, &have_auth);
        if (r == 1)
            continue;
        if (r == 0 && strcmp(k, "--urls") == 0) {
            urls = v;
        } else if (r == 0 && strcmp(k, "--stream") == 0) {
            jo.stream = v;
        } else if (r == 0 && strcmp(k, "--prefix") == 0) {
            jo.subject_prefix = v;
        } else if (r == 0 && strcmp(k, "--seed-env") == 0) {
            seed_env = v;
        } else if (r == 0 && strcmp(k, "--to") == 0) {
            to = v;
        } else if (r == 0 && strcmp(k, "--id") == 0) {
            idhex = v;
        } else if (r == 0 && strcmp(k, "--amount") == 0 && la_u64(v, &amount) == 0) {
        } else if (r == 0 && strcmp(k, "--count") == 0 && la_u64(v, &count) == 0 && count > 0) {
        } else if (r == 0 && strcmp(k, "--batch") == 0 && la_u64(v, &batch) == 0 && batch > 0 &&
                   batch <= RC_FRAME_MAX_ITEMS) {
        } else {
            fprintf(stderr, "cyberagent-submit: bad option or value: %s %s\n", k, v);
            return 2;
        }
    }
    if (cmd == NULL) {
        usage(stderr);
        return 2;
    }
    if (strcmp(cmd, "id") == 0) {
        ca_identity *me = seed_identity(seed_env);
        if (me == NULL)
            return 2;
        ca_agent_id id;
        char hex[65];
        ca_identity_id(me, &id);
        la_hex(id.bytes, 32, hex);
        printf("%s\n", hex);
        ca_identity_free(me);
        return 0;
    }
    uint32_t type = strcmp(cmd, "mint") == 0       ? CA_LEDGER_OP_MINT
                    : strcmp(cmd, "transfer") == 0 ? CA_LEDGER_OP_TRANSFER
                    : strcmp(cmd, "bond") == 0     ? CA_LEDGER_OP_BOND
                    : strcmp(cmd, "unbond") == 0   ? CA_LEDGER_OP_UNBOND
                                                   : 0;
    int is_state = strcmp(cmd, "state") == 0, is_account = strcmp(cmd, "account") == 0;
    ca_agent_id target;
    memset(&target, 0, sizeof target);
    if ((type == 0 && !is_state && !is_account) || urls == NULL || !have_auth ||
        (type != 0 && (seed_env == NULL || amount == 0)) ||
        ((type == CA_LEDGER_OP_MINT || type == CA_LEDGER_OP_TRANSFER) &&
         (to == NULL || la_hex32(to, target.bytes) != 0)) ||
        (is_account && (idhex == NULL || la_hex32(idhex, target.bytes) != 0))) {
        fprintf(stderr, "cyberagent-submit: missing or bad arguments for %s (--help)\n", cmd);
        return 2;
    }
    ca_identity *me = type != 0 ? seed_identity(seed_env) : NULL;
    if (type != 0 && me == NULL)
        return 2;
    ca_hash lid;
    if (ca_ledger_options_id(&lo, &lid) != CA_OK) {
        fprintf(stderr, "cyberagent-submit: bad ledger options: %s\n", ca_last_error());
        return 2;
    }
    jo.urls = urls;
    rjs *h = NULL;
    rfol *fol = NULL;
    if (rjs_open(&h, &jo) != RJS_OK || rfol_start(&fol, &jo, &lo) != RJS_OK) {
        rjs_close(h);
        ca_identity_free(me);
        return 1;
    }
    int rc = 1;
    rjs_stream_state ss;
    rc_checkpoint now;
    if (rjs_stream_info(h, &ss) != RJS_OK || rfol_state(fol, ss.last_seq, 120000, &now) != RJS_OK) {
        fprintf(stderr, "cyberagent-submit: reading the stream: %s %s\n", rjs_error(h),
                rfol_error(fol));
        goto out;
    }
    if (is_state) {
        char line[RC_LINE_MAX];
        rc_format(&now, line);
        printf("%s\n", line);
        rc = 0;
        goto out;
    }
    acct_q q;
    memset(&q, 0, sizeof q);
    if (is_account) {
        q.id = target;
        rfol_with_ledger(fol, query, &q);
        if (q.st != CA_OK) {
            fprintf(stderr, "cyberagent-submit: %s\n", ca_status_str(q.st));
            goto out;
        }
        printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", q.info.balance, q.info.bonded,
               q.info.unbonding, q.info.nonce);
        rc = 0;
        goto out;
    }
    ca_identity_id(me, &q.id);
    rfol_with_ledger(fol, query, &q); /* unknown account: nonce 0 */
    uint64_t nonce = q.st == CA_OK ? q.info.nonce : 0;
    rsub *sub = NULL;
    if (rsub_new(&sub, h, &lid, &q.id) != RJS_OK) {
        fprintf(stderr, "cyberagent-submit: %s\n", rjs_error(h));
        goto out;
    }
    uint8_t(*bufs)[CA_LEDGER_OP_MAX_BYTES] = malloc(batch * sizeof *bufs);
    rc_item *items = malloc(batch * sizeof *items);
    uint64_t *seqs = malloc(((count + batch - 1) / batch) * sizeof *seqs);
    uint32_t *ns = malloc(((count + batch - 1) / batch) * sizeof *ns);
    size_t nmsg = 0;
    double t0 = mono_s();
    for (uint64_t done = 0; bufs && items && seqs && ns && done < count;) {
        size_t n = 0;
        for (; n < batch && done < count; n++, done++) {
            ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
            op.type = type;
            op.signer = q.id;
            op.nonce = nonce + done + 1;
            op.counterparty = target;
            op.amount = amount;
            size_t len = 0;
            if (ca_ledger_op_sign(&lid, &op, me, NULL, bufs[n], CA_LEDGER_OP_MAX_BYTES, &len) !=
                CA_OK) {
                fprintf(stderr, "cyberagent-submit: signing: %s\n", ca_last_error());
                goto freeall;
            }
            items[n] = (rc_item){bufs[n], len, NULL, 0};
        }
        rsub_receipt r;
        ca_status refused = CA_OK;
        rjs_status st = rsub_submit(sub, items, n, &r, &refused);
        if (st != RJS_OK) {
            fprintf(stderr, "cyberagent-submit: %s (%s)\n", rjs_status_str(st),
                    st == RJS_ERR_ARG ? ca_status_str(refused) : rjs_error(h));
            goto freeall;
        }
        if (!quiet)
            printf("submitted %" PRIu64 " %zu%s\n", r.seq, n, r.duplicate ? " duplicate" : "");
        seqs[nmsg] = r.seq;
        ns[nmsg++] = (uint32_t)n;
    }
    uint64_t applied = 0, refused_n = 0;
    for (size_t m = 0; m < nmsg; m++)
        for (uint32_t i = 0; i < ns[m]; i++) {
            ca_status res = CA_OK;
            if (rfol_status(fol, seqs[m], i, 120000, &res) != RJS_OK) {
                fprintf(stderr, "cyberagent-submit: no status for %" PRIu64 "/%u: %s\n", seqs[m], i,
                        rfol_error(fol));
                goto freeall;
            }
            applied += res == CA_OK;
            refused_n += res != CA_OK;
            if (!quiet)
                printf("op %" PRIu64 " %u %s\n", seqs[m], i, ca_status_str(res));
        }
    double secs = mono_s() - t0;
    printf("ops %" PRIu64 " applied %" PRIu64 " refused %" PRIu64 " seconds %.3f ops_per_s %.0f\n",
           count, applied, refused_n, secs, (double)count / (secs > 0 ? secs : 1e-9));
    rc = refused_n == 0 && applied == count ? 0 : 1;
freeall:
    free(bufs);
    free(items);
    free(seqs);
    free(ns);
    rsub_free(sub);
out:
    rfol_stop(fol);
    rjs_close(h);
    ca_identity_free(me);
    return rc;
}
