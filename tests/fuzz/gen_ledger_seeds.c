/*
 * Seed corpora of the ledger fuzz targets, generated from the current formats:
 *   tests/fuzz/corpus/ledger_op/        signed ops of every kind a seed covers
 *   tests/fuzz/corpus/ledger_journal/   journals (written by a real durable ledger, one of them
 *                                       fed through ca_ledger_apply_log: positions and refused
 *                                       entries) and damaged variants (torn, flipped, garbage,
 *                                       formats 1 and 2)
 *   tests/fuzz/corpus/ledger_snapshot/  snapshots and headers claiming 2^32 - 1 records
 * Every output is deterministic (identities from fixed seeds, Ed25519, fixed `now`s), so
 *   gen_ledger_seeds --check tests/fuzz/corpus    (the ctest fuzz_seeds_ledger_current)
 * fails as soon as a change of the op encoding, the journal or snapshot layout or the options
 * digest leaves a committed seed stale; then regenerate them with
 *   build/dev/tests/gen_ledger_seeds tests/fuzz/corpus
 * and commit the result. Before writing, each well-formed seed is checked to do what it is for
 * (a journal replays every record, a snapshot decodes, a damaged file is refused for its damage).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cyberagent.h"
#include "fuzz_ledger_common.h"
#include "ledger/ledger_internal.h"
#include "task_helpers.h"

static const char *root;
static int check_only, stale, written;

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "gen_ledger_seeds: " __VA_ARGS__);                                         \
        fprintf(stderr, "\n");                                                                     \
        exit(2);                                                                                   \
    } while (0)
#define OK(call)                                                                                   \
    do {                                                                                           \
        ca_status st_ = (call);                                                                    \
        if (st_ != CA_OK)                                                                          \
            DIE("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, ca_status_str(st_),               \
                ca_last_error());                                                                  \
    } while (0)

/* ---------------------------------------------------------------- output */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (q == NULL)
            DIE("out of memory");
        b->p = q;
        b->cap = nc;
    }
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static buf copy_of(const buf *b, size_t len)
{
    buf c = {0};
    put(&c, b->p, len);
    return c;
}

/* Writes corpus/<dir>/<name>, or with --check compares it with the committed file. */
static void emit(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    if (check_only) {
        FILE *f = fopen(path, "rb");
        uint8_t *old = malloc(len + 1);
        size_t got = f && old ? fread(old, 1, len + 1, f) : 0;
        if (f == NULL || got != len || memcmp(old, data, len) != 0) {
            fprintf(stderr, "stale or missing seed: %s\n", path);
            stale++;
        }
        if (f)
            fclose(f);
        free(old);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
        DIE("cannot write %s: %s", path, strerror(errno));
    written++;
}

static void emit_buf(const char *dir, const char *name, const buf *b)
{
    emit(dir, name, b->p, b->len);
}

/* ---------------------------------------------------------------- parties */

/* Agents of fuzz_ledger_options(): 0 the authority, 1 the arbiter (ids, no keys). */
static ca_ledger_op op_of(uint32_t type, const ca_agent_id *signer, uint64_t nonce)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = *signer;
    op.nonce = nonce;
    return op;
}

static ca_identity *ident(uint8_t k)
{
    uint8_t seed[32];
    memset(seed, 0, sizeof seed);
    seed[0] = k;
    seed[1] = 0x5E;
    ca_identity *id = NULL;
    OK(ca_identity_from_seed(&id, seed));
    return id;
}

static ca_hash ref_of(uint8_t k)
{
    ca_hash h;
    memset(&h, 0, sizeof h);
    h.bytes[0] = k;
    h.bytes[31] = 0xAD;
    return h;
}

/* ---------------------------------------------------------------- durable ledger */

static char tmpdir[256];

static void rm_tmp(void)
{
    char p[300];
    const char *names[] = {"journal", "snapshot", "snapshot.restore"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(tmpdir);
}

static ca_ledger *open_fresh(void)
{
    rm_tmp();
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    OK(ca_ledger_open(&l, tmpdir, &o, NULL));
    return l;
}

/* Commits, closes and returns the journal the ledger wrote. */
static buf close_journal(ca_ledger *l)
{
    OK(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    char p[300];
    snprintf(p, sizeof p, "%s/journal", tmpdir);
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        DIE("no journal in %s", tmpdir);
    buf b = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&b, chunk, n);
    fclose(f);
    rm_tmp();
    return b;
}

/* The journal must replay on a fresh ledger with `want` status, `records` records applied and
 * `refused` refused log entries recorded. */
static void expect_replay_log(const char *name, const buf *j, ca_status want, uint64_t records,
                              uint64_t refused)
{
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    OK(ca_ledger_new(&l, &o));
    cai_replay rep;
    ca_status st = cai_journal_replay(l, j->p, j->len, &rep);
    if (st != want || (want == CA_OK && (rep.replayed != records || rep.refused != refused)))
        DIE("journal seed %s: %s after %llu records and %llu refused (%s), expected %s, %llu and "
            "%llu",
            name, ca_status_str(st), (unsigned long long)rep.replayed,
            (unsigned long long)rep.refused, ca_last_error(), ca_status_str(want),
            (unsigned long long)records, (unsigned long long)refused);
    if (st == CA_OK)
        OK(ca_ledger_check(l));
    ca_ledger_free(l);
}

static void expect_replay(const char *name, const buf *j, ca_status want, uint64_t records)
{
    expect_replay_log(name, j, want, records, 0);
}

static void apply(ca_ledger *l, const ca_ledger_op *op, uint64_t now)
{
    OK(ca_ledger_apply(l, op, now, NULL));
}

static ca_ledger_op mint(const ca_agent_id *to, uint64_t nonce, uint64_t amount)
{
    ca_agent_id auth = fuzz_ledger_agent(0);
    ca_ledger_op op = op_of(CA_LEDGER_OP_MINT, &auth, nonce);
    op.counterparty = *to;
    op.amount = amount;
    return op;
}

/* ---------------------------------------------------------------- trusted journals */

/*
 * Every op type through ca_ledger_apply (journal record type 2): the seven
 * ops of `seven_ops` first, then deliveries, slashes of the three kinds,
 * every settlement, a withdrawal, and a last op after the evidence window
 * that drops the settled escrows and used keys during replay.
 */
static void all_op_types(buf *seven, buf *all)
{
    const ca_agent_id A = fuzz_ledger_agent(2), B = fuzz_ledger_agent(3), R = fuzz_ledger_agent(4),
                      ARB = fuzz_ledger_agent(1);
    ca_ledger *l = open_fresh();
    ca_ledger_op op = mint(&A, 1, 1000);
    apply(l, &op, 1);
    op = mint(&B, 2, 1000);
    apply(l, &op, 1);
    op = op_of(CA_LEDGER_OP_BOND, &B, 1);
    op.amount = 500;
    apply(l, &op, 2);
    op = op_of(CA_LEDGER_OP_UNBOND, &B, 2);
    op.amount = 50;
    apply(l, &op, 3);
    op = op_of(CA_LEDGER_OP_TRANSFER, &A, 1);
    op.counterparty = B;
    op.amount = 5;
    apply(l, &op, 4);
    op = op_of(CA_LEDGER_OP_ESCROW_OPEN, &A, 2);
    op.counterparty = B;
    op.ref = ref_of(1);
    op.amount = 100;
    op.amount2 = 10;
    op.deadline = 100;
    apply(l, &op, 5);
    op.nonce = 3;
    op.ref = ref_of(2);
    op.amount = 50;
    op.amount2 = 5;
    op.deadline = 8;
    apply(l, &op, 5);
    OK(ca_ledger_commit(l, NULL));
    {
        char p[300];
        snprintf(p, sizeof p, "%s/journal", tmpdir);
        FILE *f = fopen(p, "rb");
        uint8_t chunk[4096];
        size_t n = f ? fread(chunk, 1, sizeof chunk, f) : 0;
        if (f)
            fclose(f);
        put(seven, chunk, n);
    }
    op = mint(&R, 3, 10); /* a reporter needs an account */
    apply(l, &op, 6);
    op = op_of(CA_LEDGER_OP_ESCROW_DELIVER, &B, 3);
    op.ref = ref_of(1);
    memset(op.result.bytes, 0xD5, 32);
    apply(l, &op, 6);
    op = op_of(CA_LEDGER_OP_SLASH, &R, 1); /* open escrow 2, past its deadline */
    op.counterparty = B;
    op.evidence = CA_LEDGER_EVIDENCE_MISSED_DEADLINE;
    op.ref = ref_of(2);
    apply(l, &op, 9);
    op = op_of(CA_LEDGER_OP_ESCROW_REFUND, &A, 4);
    op.ref = ref_of(2);
    apply(l, &op, 9);
    op = op_of(CA_LEDGER_OP_ESCROW_OPEN, &A, 5);
    op.counterparty = B;
    op.ref = ref_of(3);
    op.amount = 7;
    op.deadline = 50;
    apply(l, &op, 9);
    op = op_of(CA_LEDGER_OP_ESCROW_RELEASE, &A, 6);
    op.ref = ref_of(3);
    apply(l, &op, 9);
    op = op_of(CA_LEDGER_OP_SLASH, &R, 2); /* jails B: no escrow work after this */
    op.counterparty = B;
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    op.ref = ref_of(0xE0);
    op.deadline = 10; /* the task's deadline */
    apply(l, &op, 10);
    op = op_of(CA_LEDGER_OP_ESCROW_SPLIT, &ARB, 1);
    op.ref = ref_of(1);
    op.amount = 60;
    op.amount2 = 4;
    apply(l, &op, 10);
    op = op_of(CA_LEDGER_OP_SLASH, &ARB, 2);
    op.counterparty = B;
    op.evidence = CA_LEDGER_EVIDENCE_DISPUTE;
    op.ref = ref_of(1);
    apply(l, &op, 11);
    op = op_of(CA_LEDGER_OP_WITHDRAW, &B, 4);
    apply(l, &op, 20);
    op = op_of(CA_LEDGER_OP_TRANSFER, &A, 7); /* after every window: drops what was kept */
    op.counterparty = R;
    op.amount = 1;
    apply(l, &op, 50000);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    if (t.escrows != 0 || l->n_evidence != 0)
        DIE("all_op_types: %llu escrows and %u keys kept after the windows",
            (unsigned long long)t.escrows, l->n_evidence);
    *all = close_journal(l);
    expect_replay("seven_ops", seven, CA_OK, 7);
    expect_replay("all_op_types", all, CA_OK, t.seq);
}

/* ---------------------------------------------------------------- signed journal */

static void sign_submit(ca_ledger *l, ca_ledger_op *op, const ca_identity *signer,
                        const ca_identity *cosigner, const uint8_t *att, size_t att_len,
                        uint64_t now, buf *signed_op)
{
    ca_hash lid;
    OK(ca_ledger_id(l, &lid));
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    OK(ca_ledger_op_sign(&lid, op, signer, cosigner, msg, sizeof msg, &n));
    if (att != NULL)
        OK(ca_ledger_submit_evidence(l, msg, n, att, att_len, now, NULL));
    else
        OK(ca_ledger_submit(l, msg, n, now, NULL));
    if (signed_op != NULL)
        put(signed_op, msg, n);
}

/* The same signed with `key` (ca_ledger_op_sign_with_key): a rotated account's current key, or
 * a KEY_EVENT's event key. */
static void key_submit(ca_ledger *l, ca_ledger_op *op, const ca_identity *key, const uint8_t *att,
                       size_t att_len, uint64_t now, buf *signed_op)
{
    ca_hash lid;
    OK(ca_ledger_id(l, &lid));
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    OK(ca_ledger_op_sign_with_key(&lid, op, key, NULL, NULL, msg, sizeof msg, &n));
    if (att != NULL)
        OK(ca_ledger_submit_evidence(l, msg, n, att, att_len, now, NULL));
    else
        OK(ca_ledger_submit(l, msg, n, now, NULL));
    if (signed_op != NULL)
        put(signed_op, msg, n);
}

static ca_envelope *env_of(const th_msg *m)
{
    ca_envelope *e = NULL;
    OK(ca_envelope_decode(&e, m->buf, m->len, NULL));
    return e;
}

static uint64_t nonce_of(ca_ledger *l, const ca_identity *who)
{
    ca_agent_id id;
    ca_identity_id(who, &id);
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return ca_ledger_account(l, &id, &a) == CA_OK ? a.nonce + 1 : 1;
}

/*
 * A hire through signed ops, as journal record types 1 (signed op) and 3
 * (signed op and attachment): the escrow opened from the AWARD with the
 * worker's consent, a DELIVER with its RESULT, a release; a second escrow
 * whose deadline passes, refunded, then slashed for the missed deadline; an
 * equivocation slash with its evidence (two RESULTs); the worker binds its
 * account to a key history and rotates (KEY_EVENTs with their events,
 * record type 3); its last ops, after the windows, signed with the new key.
 * The op seeds are taken from it.
 */
static void signed_hire(buf *journal, buf *ops[6])
{
    ca_identity *hi = ident(1), *wi = ident(2), *w2 = ident(3);
    ca_agent_id hid, wid;
    ca_identity_id(hi, &hid);
    ca_identity_id(wi, &wid);
    th_hire h;
    OK(th_build_hire(&h, hi, wi, w2, 0));
    ca_ledger *l = open_fresh();
    ca_ledger_op op = mint(&hid, 1, 1000);
    apply(l, &op, TH_T0);
    op = mint(&wid, 2, 1000);
    apply(l, &op, TH_T0);
    op = op_of(CA_LEDGER_OP_BOND, &wid, 1);
    op.amount = 600;
    sign_submit(l, &op, wi, NULL, NULL, 0, TH_T0, NULL);
    op = op_of(CA_LEDGER_OP_TRANSFER, &hid, 1);
    op.counterparty = wid;
    op.amount = 3;
    sign_submit(l, &op, hi, NULL, NULL, 0, TH_T0 + 10, ops[0]);
    /* Escrow from the award, consent from the worker. */
    ca_envelope *e = env_of(&h.award);
    ca_task_msg *award = NULL;
    OK(ca_task_msg_parse(&award, e, NULL));
    OK(ca_ledger_op_escrow_open(&op, award));
    op.nonce = nonce_of(l, hi);
    sign_submit(l, &op, hi, wi, NULL, 0, TH_T0 + 400, ops[1]);
    ca_task_msg_free(award);
    ca_envelope_free(e);
    /* Delivered with its RESULT. */
    e = env_of(&h.result);
    ca_task_msg *result = NULL;
    OK(ca_task_msg_parse(&result, e, NULL));
    OK(ca_ledger_op_escrow_deliver(&op, result));
    op.nonce = nonce_of(l, wi);
    sign_submit(l, &op, wi, NULL, h.result.buf, h.result.len, TH_T0 + 1100, ops[2]);
    ca_task_msg_free(result);
    ca_envelope_free(e);
    op = op_of(CA_LEDGER_OP_ESCROW_RELEASE, &hid, nonce_of(l, hi));
    op.ref = h.award.id;
    sign_submit(l, &op, hi, NULL, NULL, 0, TH_T0 + 2100, NULL);
    /* A second award to the same worker whose deadline passes without a delivery. */
    th_msg aw2;
    OK(th_award(&aw2, hi, &h.request.id, &h.bid1.id, &wid, 80, 10, TH_T0 + 3000, TH_T0 + 350));
    e = env_of(&aw2);
    OK(ca_task_msg_parse(&award, e, NULL));
    OK(ca_ledger_op_escrow_open(&op, award));
    op.nonce = nonce_of(l, hi);
    sign_submit(l, &op, hi, wi, NULL, 0, TH_T0 + 2200, NULL);
    ca_task_msg_free(award);
    ca_envelope_free(e);
    op = op_of(CA_LEDGER_OP_ESCROW_REFUND, &hid, nonce_of(l, hi));
    op.ref = aw2.id;
    sign_submit(l, &op, hi, NULL, NULL, 0, TH_T0 + 3001, NULL);
    op = op_of(CA_LEDGER_OP_SLASH, &hid, nonce_of(l, hi));
    op.counterparty = wid;
    op.evidence = CA_LEDGER_EVIDENCE_MISSED_DEADLINE;
    op.ref = aw2.id;
    sign_submit(l, &op, hi, NULL, NULL, 0, TH_T0 + 3002, NULL);
    /* Two RESULTs for the first award: equivocation, slashed with its evidence. */
    th_msg other;
    OK(th_result(&other, wi, &h.request.id, &h.award.id, TH_T0 + 1200, 0, "bonjour -> hi"));
    ca_envelope *rq = env_of(&h.request), *bid = env_of(&h.bid1), *aw = env_of(&h.award),
                *ra = env_of(&h.result), *rb = env_of(&other);
    const ca_envelope *ctx[2] = {bid, aw};
    static uint8_t ev[CA_LEDGER_EVIDENCE_MAX_BYTES];
    size_t ev_len = 0;
    OK(ca_evidence_encode(rq, ctx, 2, ra, rb, ev, sizeof ev, &ev_len));
    ca_evidence *evo = NULL;
    OK(ca_evidence_open(&evo, ev, ev_len));
    op = op_of(CA_LEDGER_OP_SLASH, &hid, nonce_of(l, hi));
    op.counterparty = wid;
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    ca_evidence_offense(evo, &op.ref);
    op.deadline = ca_evidence_deadline(evo);
    ca_evidence_free(evo);
    sign_submit(l, &op, hi, NULL, ev, ev_len, TH_T0 + 3100, ops[3]);
    ca_envelope_free(rq);
    ca_envelope_free(bid);
    ca_envelope_free(aw);
    ca_envelope_free(ra);
    ca_envelope_free(rb);
    /* The worker binds its account (inception, next key w1) and rotates to w1. */
    ca_identity *w1 = ident(4), *wn = ident(5);
    ca_agent_id w1id, wnid;
    ca_identity_id(w1, &w1id);
    ca_identity_id(wn, &wnid);
    ca_hash c1, cn;
    OK(ca_key_commitment(&w1id, &c1));
    OK(ca_key_commitment(&wnid, &cn));
    uint8_t inc[CA_KEY_EVENT_MAX_BYTES], rot[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len = 0, rot_len = 0;
    OK(ca_key_event_incept(wi, &c1, TH_T0 + 3150, inc, sizeof inc, &inc_len));
    ca_key_history *kh = NULL;
    OK(ca_key_history_new(&kh, inc, inc_len));
    OK(ca_key_event_rotate(kh, w1, &cn, TH_T0 + 3160, rot, sizeof rot, &rot_len));
    ca_key_history_free(kh);
    ca_key_event_info ki = {.version = CA_KEY_EVENT_INFO_VERSION};
    OK(ca_key_event_open(inc, inc_len, &ki));
    op = op_of(CA_LEDGER_OP_KEY_EVENT, &wid, nonce_of(l, wi));
    op.ref = ki.digest;
    key_submit(l, &op, wi, inc, inc_len, TH_T0 + 3150, NULL);
    OK(ca_key_event_open(rot, rot_len, &ki));
    op = op_of(CA_LEDGER_OP_KEY_EVENT, &wid, nonce_of(l, wi));
    op.ref = ki.digest;
    op.amount = ki.sequence;
    key_submit(l, &op, w1, rot, rot_len, TH_T0 + 3160, ops[5]);
    /* The worker leaves: unbond, and withdraw once matured, after every window. */
    op = op_of(CA_LEDGER_OP_UNBOND, &wid, nonce_of(l, wi));
    op.amount = 100;
    key_submit(l, &op, w1, NULL, 0, TH_T0 + 3200, NULL);
    op = op_of(CA_LEDGER_OP_WITHDRAW, &wid, nonce_of(l, wi));
    key_submit(l, &op, w1, NULL, 0, TH_T0 + 100000, ops[4]);
    ca_identity_free(w1);
    ca_identity_free(wn);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    if (t.escrows != 0 || l->n_evidence != 0)
        DIE("signed_hire: %llu escrows and %u keys kept after the windows",
            (unsigned long long)t.escrows, l->n_evidence);
    *journal = close_journal(l);
    expect_replay("delivery_and_missed", journal, CA_OK, t.seq);
    ca_identity_free(hi);
    ca_identity_free(wi);
    ca_identity_free(w2);
}

/* ---------------------------------------------------------------- a log's entries */

static buf snapshot_of(ca_ledger *l);

static ca_ledger_log_entry entry_of(uint64_t pos, uint64_t time, const uint8_t *msg, size_t len,
                                    const ca_ledger_op *op)
{
    ca_ledger_log_entry e;
    memset(&e, 0, sizeof e);
    e.position = pos;
    e.time = time;
    e.msg = msg;
    e.msg_len = len;
    e.op = op;
    return e;
}

/*
 * A ledger fed through ca_ledger_apply_log, as a replica is: trusted and
 * signed entries at positions with gaps, entries refused (a replayed op, bytes
 * that do not decode, a transfer without funds), a stale position (skipped,
 * not journaled), and a log time that goes backwards (the clock holds). The
 * journal holds positioned records of types 1 and 2 and refused-entry records
 * (type 4); `snap` gets the snapshot of the final state (position, clock and
 * refused count in it).
 */
static void log_entries(buf *journal, buf *snap)
{
    ca_identity *hi = ident(1), *wi = ident(2);
    ca_agent_id hid, wid;
    ca_identity_id(hi, &hid);
    ca_identity_id(wi, &wid);
    ca_ledger *l = open_fresh();
    ca_hash lid;
    OK(ca_ledger_id(l, &lid));
    ca_ledger_op m1 = mint(&hid, 1, 1000), m2 = mint(&wid, 2, 50);
    ca_ledger_op t = op_of(CA_LEDGER_OP_TRANSFER, &hid, 1);
    t.counterparty = wid;
    t.amount = 30;
    uint8_t s1[CA_LEDGER_OP_MAX_BYTES];
    size_t n1 = 0;
    OK(ca_ledger_op_sign(&lid, &t, hi, NULL, s1, sizeof s1, &n1));
    ca_ledger_op poor = op_of(CA_LEDGER_OP_TRANSFER, &wid, 1);
    poor.counterparty = hid;
    poor.amount = 5000;
    ca_ledger_op b = op_of(CA_LEDGER_OP_BOND, &wid, 1);
    b.amount = 40;
    uint8_t s2[CA_LEDGER_OP_MAX_BYTES];
    size_t n2 = 0;
    OK(ca_ledger_op_sign(&lid, &b, wi, NULL, s2, sizeof s2, &n2));
    static const uint8_t junk[] = {0x81, 0x00, 0x02, 0xC1};
    ca_ledger_log_entry e[] = {
        entry_of(1, 1000, NULL, 0, &m1),           entry_of(2, 1001, NULL, 0, &m2),
        entry_of(3, 1002, s1, n1, NULL),           entry_of(5, 1003, s1, n1, NULL), /* replayed */
        entry_of(6, 990, junk, sizeof junk, NULL),                                  /* garbage */
        entry_of(4, 1004, s2, n2, NULL),                                            /* stale */
        entry_of(9, 980, NULL, 0, &poor),                                           /* no funds */
        entry_of(12, 1010, s2, n2, NULL),
    };
    const ca_status want[] = {CA_OK,
                              CA_OK,
                              CA_OK,
                              CA_ERR_LEDGER_DUPLICATE,
                              CA_ERR_MALFORMED,
                              CA_ERR_LEDGER_STALE_POSITION,
                              CA_ERR_LEDGER_INSUFFICIENT_FUNDS,
                              CA_OK};
    ca_status res[sizeof e / sizeof e[0]];
    size_t done = 0;
    OK(ca_ledger_apply_log(l, e, sizeof e[0], sizeof e / sizeof e[0], res, &done));
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        if (res[i] != want[i])
            DIE("log_entries: entry %zu answered %s, expected %s", i, ca_status_str(res[i]),
                ca_status_str(want[i]));
    ca_ledger_log_info info = {.version = CA_LEDGER_LOG_INFO_VERSION};
    OK(ca_ledger_log_position(l, &info));
    if (info.position != 12 || info.failed != 3 || info.clock != 1010)
        DIE("log_entries: position %llu, %llu refused, clock %llu",
            (unsigned long long)info.position, (unsigned long long)info.failed,
            (unsigned long long)info.clock);
    *snap = snapshot_of(l);
    *journal = close_journal(l);
    expect_replay_log("log_positions", journal, CA_OK, 4, 3);
    ca_identity_free(hi);
    ca_identity_free(wi);
}

/* ---------------------------------------------------------------- delegated ops */

static void dlg_link(const ca_identity *issuer, const ca_agent_id *audience, uint64_t total,
                     uint64_t expires, const ca_hash *parent, uint8_t *out, size_t *len,
                     ca_hash *id)
{
    static const char *const caps[] = {CA_LEDGER_CAPABILITY_ESCROW, CA_LEDGER_CAPABILITY_TRANSFER};
    ca_delegation_params p;
    OK(ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION));
    p.audience = audience;
    p.capabilities = caps;
    p.capability_count = 2;
    p.total_cap = total;
    p.task_cap = total / 2;
    p.created_at = 900;
    p.expires_at = expires;
    p.parent = parent;
    OK(ca_delegation_sign(issuer, &p, out, 1600, len, id));
}

/*
 * Ops signed by delegates (ledger.h, DELEGATION) and a REVOKE: a delegator D
 * hands B a right, B passes part of it to C; C spends, D's REVOKE of B's link
 * to C cuts C off (refused, not journaled), B spends on. The journal holds the
 * delegated records (chains verified again on replay); `snap` the records of
 * spent caps and the revocation; op seeds: C's depth-2 transfer, B's depth-1
 * transfer, the REVOKE.
 */
static void delegated(buf *journal, buf *snap, buf *ops[3])
{
    ca_identity *di = ident(7), *bi = ident(8), *ci = ident(9);
    ca_agent_id did, bid, cid;
    ca_identity_id(di, &did);
    ca_identity_id(bi, &bid);
    ca_identity_id(ci, &cid);
    const ca_agent_id R = fuzz_ledger_agent(4);
    ca_ledger *l = open_fresh();
    ca_hash lid;
    OK(ca_ledger_id(l, &lid));
    ca_ledger_op m = mint(&did, 1, 1000);
    apply(l, &m, 1000);
    uint8_t rootl[1600], sub[1600];
    size_t rn = 0, sn = 0;
    ca_hash rid, sid;
    dlg_link(di, &bid, 300, 100000, NULL, rootl, &rn, &rid);
    dlg_link(bi, &cid, 100, 90000, &rid, sub, &sn, &sid);
    const uint8_t *chain[2] = {rootl, sub};
    const size_t lens[2] = {rn, sn};
    ca_ledger_op t = op_of(CA_LEDGER_OP_TRANSFER, &did, 1);
    t.counterparty = R;
    t.amount = 40;
    uint8_t c1[CA_LEDGER_DELEGATED_OP_MAX_BYTES], b1[CA_LEDGER_DELEGATED_OP_MAX_BYTES],
        c2[CA_LEDGER_DELEGATED_OP_MAX_BYTES], rv[CA_LEDGER_OP_MAX_BYTES];
    size_t n1 = 0, nb = 0, n2 = 0, nr = 0;
    OK(ca_ledger_op_sign_delegated(&lid, &t, ci, NULL, chain, lens, 2, c1, sizeof c1, &n1));
    OK(ca_ledger_op_sign_delegated(&lid, &t, bi, NULL, chain, lens, 1, b1, sizeof b1, &nb));
    t.nonce = 2;
    OK(ca_ledger_op_sign_delegated(&lid, &t, ci, NULL, chain, lens, 2, c2, sizeof c2, &n2));
    ca_ledger_op r = op_of(CA_LEDGER_OP_REVOKE, &did, 1);
    r.ref = sid;
    OK(ca_ledger_op_sign(&lid, &r, di, NULL, rv, sizeof rv, &nr));
    OK(ca_ledger_submit(l, c1, n1, 1001, NULL));
    OK(ca_ledger_submit(l, rv, nr, 1002, NULL));
    if (ca_ledger_submit(l, c2, n2, 1003, NULL) != CA_ERR_DELEGATION_REVOKED)
        DIE("delegated: a revoked link still spends");
    OK(ca_ledger_submit(l, b1, nb, 1004, NULL));
    if (l->n_dlg != 2 || l->n_rev != 1)
        DIE("delegated: %u delegation and %u revocation records", l->n_dlg, l->n_rev);
    *snap = snapshot_of(l);
    *journal = close_journal(l);
    expect_replay("delegated", journal, CA_OK, 4);
    put(ops[0], c1, n1);
    put(ops[1], b1, nb);
    put(ops[2], rv, nr);
    ca_identity_free(di);
    ca_identity_free(bi);
    ca_identity_free(ci);
}

/* ---------------------------------------------------------------- damaged journals */

/* A format 1 journal: its header (options digest of today's options) and seven records. */
static buf format1(const buf *seven, int with_records)
{
    buf b = {0};
    uint8_t hdr[CAI_JOURNAL_HEADER_BYTES];
    ca_ledger_options o = fuzz_ledger_options();
    cai_journal_header(hdr, &o, 1);
    memcpy(hdr, "CALJRNL1", 8);
    cai_store_le32(hdr + 28, cai_crc32c(0, hdr, 28));
    put(&b, hdr, sizeof hdr);
    /* Format 1 record: len u32 | crc32c u32 | seq u64 | now u64 | type u8 | payload; the crc
     * covers len, seq, now, type and payload. Rewritten from the format 3 records. */
    for (size_t off = CAI_JOURNAL_HEADER_BYTES; with_records && off < seven->len;) {
        const uint8_t *r = seven->p + off;
        uint32_t n = cai_load_le32(r);
        uint8_t h[25];
        cai_store_le32(h, n);
        memcpy(h + 8, r + CAI_REC_OFF_SEQ, 16); /* seq, now */
        h[24] = r[CAI_REC_OFF_TYPE];
        uint32_t crc = cai_crc32c(0, h, 4);
        crc = cai_crc32c(crc, h + 8, 17);
        crc = cai_crc32c(crc, r + CAI_RECORD_HEADER_BYTES, n);
        cai_store_le32(h + 4, crc);
        put(&b, h, sizeof h);
        put(&b, r + CAI_RECORD_HEADER_BYTES, n);
        off += CAI_RECORD_HEADER_BYTES + n;
    }
    return b;
}

/* A format 2 journal (records without positions): its header and the seven records. */
static buf format2(const buf *seven, int with_records)
{
    buf b = {0};
    uint8_t hdr[CAI_JOURNAL_HEADER_BYTES];
    ca_ledger_options o = fuzz_ledger_options();
    cai_journal_header(hdr, &o, 1);
    memcpy(hdr, "CALJRNL2", 8);
    cai_store_le32(hdr + 28, cai_crc32c(0, hdr, 28));
    put(&b, hdr, sizeof hdr);
    /* Format 2 record: len u32 | seq u64 | now u64 | type u8 | pcrc u32 | hcrc u32 | payload. */
    for (size_t off = CAI_JOURNAL_HEADER_BYTES; with_records && off < seven->len;) {
        const uint8_t *r = seven->p + off;
        uint32_t n = cai_load_le32(r);
        uint8_t h[29];
        memcpy(h, r, 20); /* len, seq, now */
        h[20] = r[CAI_REC_OFF_TYPE];
        memcpy(h + 21, r + CAI_REC_OFF_PCRC, 4);
        cai_store_le32(h + 25, cai_crc32c(0, h, 25));
        put(&b, h, sizeof h);
        put(&b, r + CAI_RECORD_HEADER_BYTES, n);
        off += CAI_RECORD_HEADER_BYTES + n;
    }
    return b;
}

static void journals(void)
{
    buf seven = {0}, all = {0}, signed_j = {0};
    buf *op_seeds[6];
    for (int i = 0; i < 6; i++)
        op_seeds[i] = calloc(1, sizeof(buf));
    all_op_types(&seven, &all);
    signed_hire(&signed_j, op_seeds);
    emit_buf("ledger_journal", "seven_ops", &seven);
    emit_buf("ledger_journal", "all_op_types", &all);
    emit_buf("ledger_journal", "delivery_and_missed", &signed_j);
    buf header = copy_of(&seven, CAI_JOURNAL_HEADER_BYTES);
    expect_replay("header_only", &header, CA_OK, 0);
    emit_buf("ledger_journal", "header_only", &header);
    buf cut = copy_of(&seven, 20);
    expect_replay("cut_header", &cut, CA_OK, 0);
    emit_buf("ledger_journal", "cut_header", &cut);
    /* The last record cut 9 bytes short: a torn write, cut; six records replay. */
    buf torn = copy_of(&seven, seven.len - 9);
    expect_replay("torn_tail", &torn, CA_OK, 6);
    emit_buf("ledger_journal", "torn_tail", &torn);
    /* A flipped payload byte in the first record: corrupt, not torn. */
    buf flip = copy_of(&seven, seven.len);
    flip.p[CAI_JOURNAL_HEADER_BYTES + CAI_RECORD_HEADER_BYTES + 3] ^= 0x10;
    expect_replay("damaged_first_record", &flip, CA_ERR_LEDGER_CORRUPT, 0);
    emit_buf("ledger_journal", "damaged_first_record", &flip);
    /* 200 bytes of garbage after the last record: corrupt (more than a torn header). */
    buf garbage = copy_of(&seven, seven.len);
    uint8_t junk[200];
    memset(junk, 0xA5, sizeof junk);
    put(&garbage, junk, sizeof junk);
    expect_replay("garbage_tail", &garbage, CA_ERR_LEDGER_CORRUPT, 0);
    emit_buf("ledger_journal", "garbage_tail", &garbage);
    /* An intact header of a record of the largest size, then 64 bytes: torn, cut. */
    buf large = copy_of(&seven, seven.len);
    uint8_t rec[CAI_RECORD_HEADER_BYTES + 64];
    memset(rec, 0x3C, sizeof rec);
    cai_store_le32(rec, CAI_RECORD_MAX);
    cai_store_le64(rec + CAI_REC_OFF_SEQ, 8);
    cai_store_le64(rec + CAI_REC_OFF_NOW, 30);
    cai_store_le64(rec + CAI_REC_OFF_POS, 0);
    rec[CAI_REC_OFF_TYPE] = CAI_REC_EVIDENCE;
    cai_store_le32(rec + CAI_REC_OFF_PCRC, 0);
    cai_store_le32(rec + CAI_REC_OFF_HCRC, cai_crc32c(0, rec, CAI_REC_OFF_HCRC));
    put(&large, rec, sizeof rec);
    expect_replay("torn_large_record", &large, CA_OK, 7);
    emit_buf("ledger_journal", "torn_large_record", &large);
    buf f1 = format1(&seven, 0), f1r = format1(&seven, 1);
    expect_replay("format1_header_only", &f1, CA_OK, 0);
    expect_replay("format1_seven_ops", &f1r, CA_ERR_UNSUPPORTED, 0);
    emit_buf("ledger_journal", "format1_header_only", &f1);
    emit_buf("ledger_journal", "format1_seven_ops", &f1r);
    buf f2 = format2(&seven, 0), f2r = format2(&seven, 1);
    expect_replay("format2_header_only", &f2, CA_OK, 0);
    expect_replay("format2_seven_ops", &f2r, CA_ERR_UNSUPPORTED, 0);
    emit_buf("ledger_journal", "format2_header_only", &f2);
    emit_buf("ledger_journal", "format2_seven_ops", &f2r);
    buf logj = {0}, logs = {0};
    log_entries(&logj, &logs);
    emit_buf("ledger_journal", "log_positions", &logj);
    emit_buf("ledger_snapshot", "log_positions", &logs);
    buf dj = {0}, ds = {0}, d0 = {0}, d1 = {0}, d2 = {0};
    buf *dops[3] = {&d0, &d1, &d2};
    delegated(&dj, &ds, dops);
    emit_buf("ledger_journal", "delegated", &dj);
    emit_buf("ledger_snapshot", "delegated", &ds);
    const char *dnames[3] = {"delegated_depth2", "delegated_depth1", "revoke"};
    for (int i = 0; i < 3; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        OK(ca_ledger_op_decode(dops[i]->p, dops[i]->len, &op));
        emit_buf("ledger_op", dnames[i], dops[i]);
        free(dops[i]->p);
    }
    free(dj.p);
    free(ds.p);
    const char *op_names[6] = {"transfer", "escrow_open", "deliver",
                               "slash",    "withdraw",    "key_event"};
    for (int i = 0; i < 6; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        OK(ca_ledger_op_decode(op_seeds[i]->p, op_seeds[i]->len, &op));
        emit_buf("ledger_op", op_names[i], op_seeds[i]);
        free(op_seeds[i]->p);
        free(op_seeds[i]);
    }
    buf *all_bufs[] = {&seven, &all, &signed_j, &header, &cut, &torn, &flip, &garbage,
                       &large, &f1,  &f1r,      &f2,     &f2r, &logj, &logs};
    for (size_t i = 0; i < sizeof all_bufs / sizeof all_bufs[0]; i++)
        free(all_bufs[i]->p);
}

/* ---------------------------------------------------------------- snapshots */

static buf snapshot_of(ca_ledger *l)
{
    uint8_t *p = NULL;
    size_t n = 0;
    OK(cai_snapshot_encode(l, &p, &n));
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *back = NULL;
    OK(cai_snapshot_decode(p, n, &o, 0, &back));
    ca_ledger_free(back);
    buf b = {0};
    put(&b, p, n);
    free(p);
    return b;
}

/* The snapshot with one count replaced by 2^32 - 1 and its checksum redone, so the decoder's
 * count check (records the file's bytes can hold) is what refuses it. */
static buf claims_max(const buf *snap, size_t count_at)
{
    buf b = copy_of(snap, snap->len);
    cai_store_le32(b.p + count_at, UINT32_MAX);
    crypto_generichash(b.p + b.len - 32, 32, b.p, b.len - 32, NULL, 0);
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    ca_status st = cai_snapshot_decode(b.p, b.len, &o, 0, &l);
    if (st != CA_ERR_LEDGER_CORRUPT || strstr(ca_last_error(), "bytes can hold") == NULL)
        DIE("claims_max at %zu: %s (%s)", count_at, ca_status_str(st), ca_last_error());
    return b;
}

static void snapshots(void)
{
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    OK(ca_ledger_new(&l, &o));
    buf empty = snapshot_of(l);
    const ca_agent_id A = fuzz_ledger_agent(2), B = fuzz_ledger_agent(3), R = fuzz_ledger_agent(4),
                      ARB = fuzz_ledger_agent(1);
    ca_ledger_op op = mint(&A, 1, 1000);
    apply(l, &op, 1);
    buf one = snapshot_of(l);
    /* Every kind of record: unbonding entries, an open, a delivered, a missed and a split
     * escrow, used keys of the three kinds (each with its expiry), a horizon. */
    op = mint(&B, 2, 1000);
    apply(l, &op, 1);
    op = mint(&R, 3, 5);
    apply(l, &op, 1);
    op = op_of(CA_LEDGER_OP_BOND, &B, 1);
    op.amount = 700;
    apply(l, &op, 2);
    for (uint64_t k = 0; k < 3; k++) {
        op = op_of(CA_LEDGER_OP_UNBOND, &B, 2 + k);
        op.amount = 10 + k;
        apply(l, &op, 3 + k);
    }
    uint64_t an = 1;
    for (uint8_t k = 1; k <= 4; k++) {
        op = op_of(CA_LEDGER_OP_ESCROW_OPEN, &A, an++);
        op.counterparty = B;
        op.ref = ref_of(k);
        op.amount = 20 * k;
        op.amount2 = k;
        op.deadline = 100 + k;
        apply(l, &op, 10);
    }
    op = op_of(CA_LEDGER_OP_ESCROW_DELIVER, &B, 5);
    op.ref = ref_of(2);
    memset(op.result.bytes, 0xD2, 32);
    apply(l, &op, 20);
    op = op_of(CA_LEDGER_OP_ESCROW_RELEASE, &A, an++);
    op.ref = ref_of(2);
    apply(l, &op, 30);
    op = op_of(CA_LEDGER_OP_ESCROW_REFUND, &A, an++); /* after its deadline: missed */
    op.ref = ref_of(3);
    apply(l, &op, 200);
    op = op_of(CA_LEDGER_OP_SLASH, &R, 1);
    op.counterparty = B;
    op.evidence = CA_LEDGER_EVIDENCE_MISSED_DEADLINE;
    op.ref = ref_of(3);
    apply(l, &op, 201);
    op = op_of(CA_LEDGER_OP_ESCROW_SPLIT, &ARB, 1);
    op.ref = ref_of(4);
    op.amount = 30;
    op.amount2 = 2;
    apply(l, &op, 202);
    op = op_of(CA_LEDGER_OP_SLASH, &ARB, 2);
    op.counterparty = B;
    op.evidence = CA_LEDGER_EVIDENCE_DISPUTE;
    op.ref = ref_of(4);
    apply(l, &op, 203);
    op = op_of(CA_LEDGER_OP_SLASH, &R, 2);
    op.counterparty = B;
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    op.ref = ref_of(0xE1);
    op.deadline = 250;
    apply(l, &op, 204);
    buf full = snapshot_of(l);
    ca_ledger_free(l);
    emit_buf("ledger_snapshot", "empty", &empty);
    emit_buf("ledger_snapshot", "one_account", &one);
    emit_buf("ledger_snapshot", "full", &full);
    /* Counts: 8 magic, 4 version, 4 reserved, 32 digest, 7 x 8 (seq, minted, burned, horizon,
     * log position, log clock, refused), then n_accounts, n_escrows, n_evidence. */
    buf ca = claims_max(&empty, 104), ce = claims_max(&one, 108), cv = claims_max(&full, 112);
    emit_buf("ledger_snapshot", "claims_max_accounts", &ca);
    emit_buf("ledger_snapshot", "claims_max_escrows", &ce);
    emit_buf("ledger_snapshot", "claims_max_evidence", &cv);
    buf *all_bufs[] = {&empty, &one, &full, &ca, &ce, &cv};
    for (size_t i = 0; i < sizeof all_bufs / sizeof all_bufs[0]; i++)
        free(all_bufs[i]->p);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        check_only = 1;
        root = argv[2];
    } else if (argc == 2 && argv[1][0] != '-') {
        root = argv[1];
    } else {
        fprintf(stderr, "usage: gen_ledger_seeds [--check] CORPUS_DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    OK(ca_init());
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/gen_ledger_seeds.%ld", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    journals();
    snapshots();
    if (check_only && stale > 0) {
        fprintf(stderr,
                "%d ledger fuzz seed(s) are stale: the formats changed. Regenerate them with\n"
                "  <build>/tests/gen_ledger_seeds tests/fuzz/corpus\n"
                "and commit the result.\n",
                stale);
        return 1;
    }
    if (!check_only)
        printf("gen_ledger_seeds: wrote %d seeds under %s\n", written, root);
    return 0;
}
