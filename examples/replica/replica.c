/*
 * cyberagent-replica: one replica of the ledger on the JetStream stream
 * (README.md, "The replica"). Reads every message of the stream in order,
 * verifies and applies its ops to its own durable ledger (replica_core), and
 * every N stream sequences prints and publishes `checkpoint SEQ HASH FAILED`.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpstore.h"
#include "js.h"
#include "ledger_args.h"
#include "replica_core.h"

static volatile sig_atomic_t drain_requested;

static void on_signal(int sig)
{
    (void)sig;
    drain_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: cyberagent-replica --urls URLS --dir DIR --name NAME --authority HEX [options]\n"
           "\n"
           "Consumes the ledger stream from JetStream, verifies and applies every op to the\n"
           "durable ledger in DIR and every N stream sequences prints (and publishes in the\n"
           "key-value bucket) one line: checkpoint SEQ STATE_HASH FAILED_OPS.\n"
           "On start it resumes from DIR's journal (the stream position is recorded with\n"
           "every op), or restores the newest snapshot that another replica's checkpoint\n"
           "confirms when DIR holds nothing (or is more than --restore-gap sequences behind).\n"
           "SIGTERM or SIGINT: apply up to the stream's last sequence at that time, print\n"
           "`final SEQ STATE_HASH FAILED_OPS` (after ca_ledger_check) and exit 0.\n"
           "\n"
           "  --urls URLS               NATS client URLs, comma-separated (required)\n"
           "  --dir DIR                 the replica's durable ledger directory (required)\n"
           "  --name NAME               the replica's name in the bucket, [A-Za-z0-9_-]{1,32} "
           "(required)\n"
           "  --checkpoint-every N      stream sequences between checkpoints (default 1000)\n"
           "  --snapshot-every K        publish a snapshot every K checkpoints (default 1, 0: "
           "never)\n"
           "  --restore-gap G           restore from a snapshot when the journal is more than G\n"
           "                            sequences behind it (default 100000)\n"
           "  --no-check                skip ca_ledger_check at checkpoints\n"
           "  --stream NAME             stream (default LEDGER)\n"
           "  --prefix P                subject prefix (default ledger.ops)\n"
           "  --bucket NAME             key-value bucket of checkpoints (default LEDGER_CP)\n"
           "  --replicas R              stream and bucket replicas (default 3)\n" LA_USAGE "\n"
           "Output on stdout, one line each:\n"
           "  ledger LEDGER_ID\n"
           "  start SEQ STATE_HASH FAILED_OPS journal|empty|snapshot WRITER CONFIRMER\n"
           "  checkpoint SEQ STATE_HASH FAILED_OPS\n"
           "  final SEQ STATE_HASH FAILED_OPS\n"
           "Exit status: 0 after a drain, 1 on an error (a failed ca_ledger_check included),\n"
           "2 on bad arguments.\n");
}

static void print_line(const char *what, const rc_checkpoint *cp, const char *tail)
{
    char line[RC_LINE_MAX];
    rc_format(cp, line);
    printf("%s %s%s\n", what, line, tail != NULL ? tail : "");
    fflush(stdout);
}

typedef struct args {
    const char *urls, *dir, *name, *stream, *prefix, *bucket;
    uint64_t every, snap_every, gap;
    int check, replicas;
    ca_ledger_options lo;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->every = 1000;
    a->snap_every = 1;
    a->gap = 100000;
    a->check = 1;
    a->replicas = 3;
    a->stream = RJS_DEFAULT_STREAM;
    a->prefix = RJS_DEFAULT_PREFIX;
    a->bucket = RCP_DEFAULT_BUCKET;
    if (la_init(&a->lo) != 0)
        return -1;
    int have_auth = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(k, "--no-check") == 0) {
            a->check = 0;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "cyberagent-replica: %s needs a value\n", k);
            return -1;
        }
        i++;
        if (strcmp(k, "--urls") == 0) {
            a->urls = v;
        } else if (strcmp(k, "--dir") == 0) {
            a->dir = v;
        } else if (strcmp(k, "--name") == 0) {
            a->name = v;
        } else if (strcmp(k, "--stream") == 0) {
            a->stream = v;
        } else if (strcmp(k, "--prefix") == 0) {
            a->prefix = v;
        } else if (strcmp(k, "--bucket") == 0) {
            a->bucket = v;
        } else if (strcmp(k, "--checkpoint-every") == 0 && la_u64(v, &a->every) == 0 &&
                   a->every > 0) {
        } else if (strcmp(k, "--snapshot-every") == 0 && la_u64(v, &a->snap_every) == 0) {
        } else if (strcmp(k, "--restore-gap") == 0 && la_u64(v, &a->gap) == 0) {
        } else if (strcmp(k, "--replicas") == 0 && la_u64(v, &n) == 0 && n >= 1 && n <= 5) {
            a->replicas = (int)n;
        } else if (la_option(&a->lo, k, v, &have_auth) == 1) {
        } else {
            fprintf(stderr, "cyberagent-replica: bad option or value: %s %s\n", k, v);
            return -1;
        }
    }
    if (a->urls == NULL || a->dir == NULL || a->name == NULL || !have_auth) {
        fprintf(stderr, "cyberagent-replica: --urls, --dir, --name and --authority are required "
                        "(--help)\n");
        return -1;
    }
    if (!rcp_name_ok(a->name)) {
        fprintf(stderr, "cyberagent-replica: --name: 1-32 characters of [A-Za-z0-9_-]\n");
        return -1;
    }
    return 0;
}

/* Opens the replica's ledger: its journal, or a confirmed snapshot (see usage). */
static rc_core *open_ledger(const args *a, const rc_options *ro, rcp *store)
{
    rc_core *core = NULL;
    rc_checkpoint own = {0};
    ca_status st = rc_open(&core, ro);
    if (st == CA_OK)
        st = rc_state(core, &own);
    if (st != CA_OK) {
        fprintf(stderr, "cyberagent-replica: %s: %s\n", a->dir, core ? rc_error(core) : "");
        fprintf(stderr, "cyberagent-replica: opening %s: %s (%s); looking for a snapshot\n", a->dir,
                ca_status_str(st), ca_last_error());
        rc_close(core);
        core = NULL;
    }
    uint64_t min_seq = core == NULL || own.seq == 0 ? 0 : own.seq + a->gap;
    if (core == NULL || own.seq == 0 || a->gap < UINT64_MAX - own.seq) {
        int found = 0;
        rc_checkpoint cp;
        char writer[RCP_NAME_MAX + 1], by[RCP_NAME_MAX + 1];
        uint8_t *bytes = NULL;
        size_t len = 0;
        rjs_status js = rcp_find_snapshot(store, min_seq, &found, &cp, writer, by, &bytes, &len);
        if (js != RJS_OK)
            fprintf(stderr, "cyberagent-replica: finding a snapshot: %s\n", rcp_error(store));
        if (found) {
            rc_close(core);
            core = NULL;
            rc_checkpoint got = {0};
            st = rc_open_snapshot(&core, ro, bytes, len);
            if (st == CA_OK)
                st = rc_state(core, &got);
            free(bytes);
            if (st != CA_OK || got.seq != cp.seq || got.failed != cp.failed ||
                memcmp(got.hash.bytes, cp.hash.bytes, sizeof got.hash.bytes) != 0) {
                fprintf(stderr,
                        "cyberagent-replica: the snapshot of %s at %" PRIu64
                        " does not hold its confirmed state (%s)\n",
                        writer, cp.seq, st != CA_OK ? rc_error(core) : "hash differs");
                rc_close(core);
                return NULL;
            }
            char tail[2 * RCP_NAME_MAX + 16];
            snprintf(tail, sizeof tail, " snapshot %s %s", writer, by);
            print_line("start", &got, tail);
            return core;
        }
    }
    if (core != NULL)
        print_line("start", &own, own.seq == 0 ? " empty - -" : " journal - -");
    return core;
}

int main(int argc, char **argv)
{
    args a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    if (ca_init() != CA_OK)
        return 1;
    ca_hash lid;
    if (ca_ledger_options_id(&a.lo, &lid) != CA_OK) {
        fprintf(stderr, "cyberagent-replica: bad ledger options: %s\n", ca_last_error());
        return 2;
    }
    char lid_hex[2 * CA_HASH_BYTES + 1];
    la_hex(lid.bytes, sizeof lid.bytes, lid_hex);
    printf("ledger %s\n", lid_hex);
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    rjs_options jo;
    rjs_options_init(&jo);
    jo.urls = a.urls;
    jo.stream = a.stream;
    jo.subject_prefix = a.prefix;
    jo.replicas = a.replicas;
    rjs *h = NULL;
    if (rjs_open(&h, &jo) != RJS_OK)
        return 1;
    rcp *store = NULL;
    if (rcp_open(&store, h, a.bucket, a.replicas) != RJS_OK) {
        rjs_close(h);
        return 1;
    }
    rc_options ro = {.ledger = &a.lo, .dir = a.dir, .checkpoint_every = a.every, .check = a.check};
    rc_core *core = open_ledger(&a, &ro, store);
    if (core == NULL) {
        rcp_close(store);
        rjs_close(h);
        return 1;
    }

    int rc = 1;
    rjs_consumer *c = NULL;
    rjs_status js = rjs_consume(h, rc_next_seq(core), &c);
    uint64_t target = 0, dirty = 0, last = 0;
    int have_target = 0;
    rc_checkpoint at;
    if (rc_state(core, &at) == CA_OK)
        last = at.seq; /* the last message processed */
    while (js == RJS_OK) {
        if (drain_requested && !have_target) {
            rjs_stream_state ss;
            if (rjs_stream_info(h, &ss) == RJS_OK) {
                target = ss.last_seq;
                have_target = 1;
            }
        }
        if (have_target && last >= target)
            break;
        rjs_msg m;
        js = rjs_next(c, 500, &m);
        if (js == RJS_ERR_TIMEOUT) {
            js = RJS_OK;
            if (dirty && rc_commit(core) != CA_OK) {
                fprintf(stderr, "cyberagent-replica: %s\n", rc_error(core));
                js = RJS_ERR_NATS;
                break;
            }
            dirty = 0;
            continue;
        }
        if (js != RJS_OK)
            break;
        rc_checkpoint cp;
        int is_cp = 0;
        if (rc_apply(core, m.seq, m.time_ns, m.data, m.len, &cp, &is_cp) != CA_OK) {
            fprintf(stderr, "cyberagent-replica: %s\n", rc_error(core));
            js = RJS_ERR_NATS;
            break;
        }
        dirty = 1;
        last = m.seq;
        if (!is_cp)
            continue;
        dirty = 0;
        print_line("checkpoint", &cp, NULL);
        if (rcp_put_checkpoint(store, a.name, &cp) != RJS_OK)
            fprintf(stderr, "cyberagent-replica: checkpoint %" PRIu64 " not published: %s\n",
                    cp.seq, rcp_error(store));
        if (a.snap_every != 0 && (cp.seq / a.every) % a.snap_every == 0) {
            uint8_t *b = NULL;
            size_t len = 0;
            if (rc_snapshot(core, &b, &len) != CA_OK) {
                fprintf(stderr, "cyberagent-replica: %s\n", rc_error(core));
                js = RJS_ERR_NATS;
                break;
            }
            if (rcp_put_snapshot(store, a.name, &cp, b, len) != RJS_OK)
                fprintf(stderr, "cyberagent-replica: snapshot %" PRIu64 " not published: %s\n",
                        cp.seq, rcp_error(store));
            free(b);
        }
    }
    if (js != RJS_OK && js != RJS_ERR_NATS)
        fprintf(stderr, "cyberagent-replica: stream: %s\n", rjs_error(h));
    if (js == RJS_OK) {
        rc_checkpoint fin;
        if (rc_commit(core) == CA_OK && rc_check(core) == CA_OK && rc_state(core, &fin) == CA_OK) {
            print_line("final", &fin, NULL);
            rc = 0;
        } else {
            fprintf(stderr, "cyberagent-replica: %s\n", rc_error(core));
        }
    }
    rjs_consumer_free(c);
    rc_close(core);
    rcp_close(store);
    rjs_close(h);
    return rc;
}
