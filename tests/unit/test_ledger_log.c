/*
 * The ledger fed by an external log (ledger.h, "LOG"; docs/LEDGER.md,
 * "Replication"): positions recorded with every entry applied or refused,
 * re-reading a range changes nothing, the now rule, snapshots to and from
 * bytes (in memory and durable), installing a snapshot into a directory.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cyberagent.h"
#include "ledger/ledger_internal.h"
#include "task_helpers.h"
#include "test_util.h"

#define AUTH  0u
#define NE(a) (sizeof(a) / sizeof((a)[0]))

static ca_agent_id agent(unsigned k)
{
    ca_agent_id id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = (uint8_t)k;
    id.bytes[31] = 0x4C;
    return id;
}

static ca_ledger_options opts(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = agent(AUTH);
    o.arbiter = agent(1);
    o.unbonding_delay = 100;
    return o;
}

static ca_identity *ident(uint8_t k)
{
    uint8_t seed[32];
    memset(seed, k, sizeof seed);
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

static ca_agent_id id_of(const ca_identity *i)
{
    ca_agent_id id;
    ca_identity_id(i, &id);
    return id;
}

static ca_ledger_op op_of(uint32_t type, ca_agent_id signer, uint64_t nonce)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = signer;
    op.nonce = nonce;
    return op;
}

static ca_ledger_op mint(ca_agent_id to, uint64_t nonce, uint64_t amount)
{
    ca_ledger_op op = op_of(CA_LEDGER_OP_MINT, agent(AUTH), nonce);
    op.counterparty = to;
    op.amount = amount;
    return op;
}

static ca_ledger_op transfer(ca_agent_id from, uint64_t nonce, ca_agent_id to, uint64_t amount)
{
    ca_ledger_op op = op_of(CA_LEDGER_OP_TRANSFER, from, nonce);
    op.counterparty = to;
    op.amount = amount;
    return op;
}

/* Signed bytes of `op` for `l`. */
typedef struct sop {
    uint8_t b[CA_LEDGER_OP_MAX_BYTES];
    size_t n;
} sop;

static sop sign(ca_ledger *l, const ca_ledger_op *op, const ca_identity *by,
                const ca_identity *cosigner)
{
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    sop s;
    assert_ok(ca_ledger_op_sign(&lid, op, by, cosigner, s.b, sizeof s.b, &s.n));
    return s;
}

static ca_ledger_log_entry trusted(uint64_t pos, uint64_t time, const ca_ledger_op *op)
{
    ca_ledger_log_entry e;
    memset(&e, 0, sizeof e);
    e.position = pos;
    e.time = time;
    e.op = op;
    return e;
}

static ca_ledger_log_entry signed_entry(uint64_t pos, uint64_t time, const sop *s)
{
    ca_ledger_log_entry e;
    memset(&e, 0, sizeof e);
    e.position = pos;
    e.time = time;
    e.msg = s->b;
    e.msg_len = s->n;
    return e;
}

/* Applies entries, requiring the call to succeed and each result to be want[i]. */
static void apply_log(ca_ledger *l, const ca_ledger_log_entry *e, size_t n, const ca_status *want)
{
    ca_status res[64];
    assert_true(n <= NE(res));
    size_t done = 99;
    assert_ok(ca_ledger_apply_log(l, e, sizeof *e, n, res, &done));
    assert_int_equal(done, n);
    for (size_t i = 0; i < n; i++)
        if (want != NULL && res[i] != want[i])
            fail_msg("entry %zu (position %llu): %s, expected %s (%s)", i,
                     (unsigned long long)e[i].position, ca_status_str(res[i]),
                     ca_status_str(want[i]), ca_last_error());
}

static ca_ledger_log_info log_info(const ca_ledger *l)
{
    ca_ledger_log_info li;
    memset(&li, 0, sizeof li);
    li.version = CA_LEDGER_LOG_INFO_VERSION;
    assert_ok(ca_ledger_log_position(l, &li));
    return li;
}

static ca_hash hash_of(ca_ledger *l)
{
    ca_hash h;
    assert_ok(ca_ledger_state_hash(l, &h));
    return h;
}

static uint64_t balance(const ca_ledger *l, ca_agent_id id)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return ca_ledger_account(l, &id, &a) == CA_OK ? a.balance : 0;
}

/* Snapshot bytes through the OWNERSHIP RULE (size query first). malloc'd. */
static uint8_t *export_snapshot(ca_ledger *l, size_t *len)
{
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(l, NULL, 0, &need));
    uint8_t *b = malloc(need);
    assert_non_null(b);
    size_t got = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(l, b, need - 1, &got));
    assert_int_equal(got, need);
    assert_ok(ca_ledger_snapshot_export(l, b, need, &got));
    assert_int_equal(got, need);
    *len = got;
    return b;
}

static char dir[256], dir2[256];

static void rm_one(const char *d)
{
    char p[400];
    const char *names[] = {"journal", "snapshot", "snapshot.restore"};
    for (size_t i = 0; i < NE(names); i++) {
        snprintf(p, sizeof p, "%s/%s", d, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(d);
}

static void set_dirs(const char *name)
{
    snprintf(dir, sizeof dir, "%s/ledger_log_%s_%ld", CA_TEST_TMP_DIR, name, (long)getpid());
    snprintf(dir2, sizeof dir2, "%s/ledger_log_%s2_%ld", CA_TEST_TMP_DIR, name, (long)getpid());
    rm_one(dir);
    rm_one(dir2);
    cai_ledger_sync_disabled = 1;
}

static void done_dirs(void)
{
    rm_one(dir);
    rm_one(dir2);
    cai_ledger_sync_disabled = 0;
}

static ca_ledger *open_dir(const char *d, ca_ledger_open_info *info)
{
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    if (info != NULL) {
        memset(info, 0, sizeof *info);
        info->version = CA_LEDGER_OPEN_INFO_VERSION;
    }
    assert_ok(ca_ledger_open(&l, d, &o, info));
    return l;
}

/*
 * The range the replica re-reads after a restart: Bob's transfer at position
 * 3 is refused (no funds), Alice funds him at position 4, and 5 and 6 follow.
 * Read again from position 1, nothing changes: Bob's transfer stays refused.
 * Without positions it would now succeed (shown on a ledger that applies the
 * same ops without them).
 */
typedef struct range {
    ca_identity *alice, *bob;
    sop a1, b1, a2, junk;
    ca_ledger_op m1, m2;
    ca_ledger_log_entry e[7];
} range;

static void range_init(range *r, ca_ledger *l)
{
    r->alice = ident(11);
    r->bob = ident(12);
    ca_agent_id a = id_of(r->alice), b = id_of(r->bob), c = agent(7);
    r->m1 = mint(a, 1, 1000);
    r->m2 = mint(c, 2, 10);
    ca_ledger_op bob_pays = transfer(b, 1, c, 60);
    ca_ledger_op alice_funds = transfer(a, 1, b, 100);
    ca_ledger_op alice_again = transfer(a, 2, c, 1);
    r->b1 = sign(l, &bob_pays, r->bob, NULL);
    r->a1 = sign(l, &alice_funds, r->alice, NULL);
    r->a2 = sign(l, &alice_again, r->alice, NULL);
    memset(r->junk.b, 0xC1, 9); /* never a valid op */
    r->junk.n = 9;
    r->e[0] = trusted(1, 1000, &r->m1);
    r->e[1] = trusted(2, 1001, &r->m2);
    r->e[2] = signed_entry(3, 1002, &r->b1); /* Bob has no account yet: refused */
    r->e[3] = signed_entry(4, 1003, &r->a1);
    r->e[4] = signed_entry(5, 1004, &r->junk); /* refused: does not decode */
    r->e[5] = signed_entry(7, 1005, &r->a2);   /* a gap: 6 is not in this log */
    r->e[6] = signed_entry(8, 1006, &r->a1);   /* Alice's op again: refused, duplicate */
}

static void range_free(range *r)
{
    ca_identity_free(r->alice);
    ca_identity_free(r->bob);
}

static const ca_status range_want[7] = {CA_OK,
                                        CA_OK,
                                        CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                                        CA_OK,
                                        CA_ERR_MALFORMED,
                                        CA_OK,
                                        CA_ERR_LEDGER_DUPLICATE};

/* Re-reads the whole range: every entry is skipped, nothing changes. */
static void reread_range(ca_ledger *l, const range *r)
{
    ca_hash before = hash_of(l);
    ca_ledger_log_info li = log_info(l);
    ca_ledger_totals t0 = {.version = CA_LEDGER_TOTALS_VERSION},
                     t1 = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t0);
    const ca_status stale[7] = {CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                                CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                                CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                                CA_ERR_LEDGER_STALE_POSITION};
    apply_log(l, r->e, NE(r->e), stale);
    /* From the middle too (a replica that restarted from an older checkpoint). */
    apply_log(l, r->e + 2, 3, stale);
    ca_hash after = hash_of(l);
    assert_memory_equal(before.bytes, after.bytes, 32);
    ca_ledger_totals_get(l, &t1);
    assert_memory_equal(&t0, &t1, sizeof t0);
    ca_ledger_log_info li2 = log_info(l);
    assert_memory_equal(&li, &li2, sizeof li);
    assert_int_equal(balance(l, id_of(r->bob)), 100); /* the refused transfer stays refused */
    assert_ok(ca_ledger_check(l));
}

static void test_refused_stays_refused(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    range r;
    range_init(&r, l);
    apply_log(l, r.e, NE(r.e), range_want);
    ca_ledger_log_info li = log_info(l);
    assert_int_equal(li.position, 8);
    assert_int_equal(li.failed, 3);
    assert_int_equal(li.clock, 1006);
    assert_int_equal(li.durable_position, 8); /* in memory: nothing to wait for */
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.seq, 4); /* refused entries take a position, not a seq */
    reread_range(l, &r);

    /* The hazard the positions close: the same ops without them, after the funding, apply. */
    ca_ledger *plain = NULL;
    assert_ok(ca_ledger_new(&plain, &o));
    assert_ok(ca_ledger_apply(plain, &r.m1, 1000, NULL));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                  ca_ledger_submit(plain, r.b1.b, r.b1.n, 1002, NULL));
    assert_ok(ca_ledger_submit(plain, r.a1.b, r.a1.n, 1003, NULL));
    assert_ok(ca_ledger_submit(plain, r.b1.b, r.b1.n, 1004, NULL)); /* now it succeeds */
    ca_ledger_free(plain);

    /* The snapshot bytes carry the position: a ledger made from them re-reads nothing. */
    size_t n = 0;
    uint8_t *snap = export_snapshot(l, &n);
    ca_ledger *copy = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&copy, &o, snap, n));
    ca_hash h1 = hash_of(l), h2 = hash_of(copy);
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    reread_range(copy, &r);
    ca_ledger_free(copy);
    free(snap);
    range_free(&r);
    ca_ledger_free(l);
}

/*
 * A durable replica killed mid-range and restarted: its journal records every
 * entry with its position (refused ones included), so reopening reports the
 * position, and reading the log again from any earlier point changes nothing.
 * Also through the durable snapshot, and a journal that holds refused entries
 * only after the snapshot.
 */
static void test_restart_mid_range(void **state)
{
    (void)state;
    set_dirs("restart");
    range r;
    ca_ledger_open_info info;
    ca_ledger *l = open_dir(dir, &info);
    assert_int_equal(info.position, 0);
    range_init(&r, l);
    /* The first five entries, committed: the replica then dies. */
    apply_log(l, r.e, 5, range_want);
    assert_ok(ca_ledger_commit(l, NULL));
    ca_hash h5 = hash_of(l);
    ca_ledger_free(l);
    l = open_dir(dir, &info);
    assert_int_equal(info.position, 5);
    assert_int_equal(info.failed, 2);
    assert_int_equal(info.replayed, 3);
    ca_hash h = hash_of(l);
    assert_memory_equal(h.bytes, h5.bytes, 32);
    ca_ledger_log_info li = log_info(l);
    assert_int_equal(li.clock, 1004);
    /* What was found in the journal counts as durable once a commit has synced it. */
    assert_int_equal(li.durable_position, 0);
    assert_ok(ca_ledger_commit(l, NULL));
    assert_int_equal(log_info(l).durable_position, 5);
    /* It reads the log again from the start: the first five are skipped, the rest apply. */
    const ca_status want[7] = {CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                               CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                               CA_ERR_LEDGER_STALE_POSITION, CA_OK,
                               CA_ERR_LEDGER_DUPLICATE};
    apply_log(l, r.e, NE(r.e), want);
    reread_range(l, &r);
    /* The same state as a replica that ran straight through, in memory. */
    ca_ledger_options o = opts();
    ca_ledger *ref = NULL;
    assert_ok(ca_ledger_new(&ref, &o));
    apply_log(ref, r.e, NE(r.e), range_want);
    ca_hash hr = hash_of(ref);
    h = hash_of(l);
    assert_memory_equal(h.bytes, hr.bytes, 32);
    ca_ledger_log_info a = log_info(l), b = log_info(ref);
    assert_true(a.position == b.position && a.clock == b.clock && a.failed == b.failed);
    /* Snapshot, then refused entries only: reopening finds them in the journal. */
    assert_ok(ca_ledger_snapshot(l));
    ca_ledger_log_entry more[2] = {signed_entry(20, 900, &r.junk), signed_entry(21, 2000, &r.a1)};
    const ca_status refused[2] = {CA_ERR_MALFORMED, CA_ERR_LEDGER_DUPLICATE};
    apply_log(l, more, 2, refused);
    li = log_info(l);
    assert_int_equal(li.durable_position, 8); /* the snapshot's; the refusals wait for commit */
    assert_ok(ca_ledger_commit(l, NULL));
    li = log_info(l);
    assert_int_equal(li.durable_position, 21);
    assert_int_equal(li.clock, 2000);
    h = hash_of(l);
    ca_ledger_free(l);
    l = open_dir(dir, &info);
    assert_int_equal(info.position, 21);
    assert_int_equal(info.failed, 5);
    assert_int_equal(info.replayed, 0);
    assert_int_equal(info.snapshot_seq, 4);
    li = log_info(l);
    assert_int_equal(li.clock, 2000);
    ca_hash h2 = hash_of(l);
    assert_memory_equal(h.bytes, h2.bytes, 32);
    apply_log(l, more, 2,
              (const ca_status[]){CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION});
    reread_range(l, &r);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
    ca_ledger_free(ref);
    range_free(&r);
    done_dirs();
}

/*
 * Positions increase strictly: an entry at or before the recorded position is
 * skipped, gaps are fine, position 0 and malformed entries stop the call
 * before they are processed (nothing consumed), a wrong entry size is refused.
 */
static void test_positions_strict(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    ca_ledger_op m1 = mint(agent(5), 1, 100), m2 = mint(agent(6), 2, 100),
                 m3 = mint(agent(6), 3, 100);
    ca_ledger_log_entry e[4] = {trusted(10, 1, &m1), trusted(10, 2, &m2), trusted(9, 3, &m2),
                                trusted(1000, 4, &m2)};
    const ca_status want[4] = {CA_OK, CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                               CA_OK};
    apply_log(l, e, 4, want);
    assert_int_equal(log_info(l).position, 1000);
    assert_int_equal(log_info(l).failed, 0);
    /* Position 0 in the middle: the call stops there; the entries before it are processed. */
    ca_ledger_log_entry bad[3] = {trusted(1001, 5, &m3), trusted(0, 6, &m3), trusted(1002, 7, &m3)};
    ca_status res[3] = {1, 1, 1};
    size_t done = 99;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_apply_log(l, bad, sizeof bad[0], 3, res, &done));
    assert_int_equal(done, 1);
    assert_int_equal(res[0], CA_OK);
    assert_int_equal(res[1], CA_ERR_INVALID_ARGUMENT);
    assert_int_equal(res[2], CA_ERR_INVALID_ARGUMENT);
    assert_int_equal(log_info(l).position, 1001);
    /* Both an op and bytes; a length without bytes: not processed, nothing consumed. */
    static const uint8_t x[4] = {1, 2, 3, 4};
    ca_ledger_log_entry both = trusted(1003, 8, &m3);
    both.msg = x;
    both.msg_len = sizeof x;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_apply_log(l, &both, sizeof both, 1, res, &done));
    assert_int_equal(done, 0);
    ca_ledger_log_entry nobytes = trusted(1003, 8, NULL);
    nobytes.msg_len = 5;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_apply_log(l, &nobytes, sizeof nobytes, 1, res, &done));
    nobytes.msg_len = 0;
    nobytes.attachment_len = 5;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_apply_log(l, &nobytes, sizeof nobytes, 1, res, &done));
    assert_int_equal(log_info(l).position, 1001);
    /* An empty entry (no op, no bytes) is a message that does not decode: refused, consumed. */
    nobytes.attachment_len = 0;
    apply_log(l, &nobytes, 1, (const ca_status[]){CA_ERR_MALFORMED});
    assert_int_equal(log_info(l).position, 1003);
    assert_int_equal(log_info(l).failed, 1);
    /* The caller's entry size must be this build's. */
    ca_ledger_log_entry next = trusted(1004, 9, &m3);
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_ledger_apply_log(l, &next, sizeof next - 8, 1, res, &done));
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_ledger_apply_log(l, &next, sizeof next + 8, 1, res, &done));
    assert_int_equal(done, 0);
    /* Info versions. */
    ca_ledger_log_info li;
    memset(&li, 0, sizeof li);
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_log_position(l, &li));
    li.version = CA_LEDGER_LOG_INFO_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_log_position(l, &li));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_apply_log(l, NULL, sizeof next, 1, res, &done));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_apply_log(l, &next, sizeof next, 1, NULL, &done));
    apply_log(l, NULL, 0, NULL);
    /* Ops without a position leave the position alone. */
    ca_ledger_op m4 = mint(agent(6), 4, 100);
    assert_ok(ca_ledger_apply(l, &m4, 50, NULL));
    assert_int_equal(log_info(l).position, 1003);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
}

/*
 * THE NOW RULE: now = max(entry time, clock), clock = max(now of the last
 * entry processed, refused or not, horizon). The log's timestamp goes
 * backwards across a leader change; the ledger's time does not: a hirer's
 * refund after the escrow's deadline succeeds at the entry stamped before the
 * deadline, as it did on the replica that saw the later time first.
 */
static void test_now_rule(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    ca_agent_id a = agent(5), b = agent(6);
    ca_ledger_op m1 = mint(a, 1, 1000), m2 = mint(b, 2, 1000);
    ca_ledger_op open = op_of(CA_LEDGER_OP_ESCROW_OPEN, a, 1);
    open.counterparty = b;
    open.ref.bytes[0] = 0xE5;
    open.amount = 100;
    open.deadline = 1800;
    ca_ledger_op refund = op_of(CA_LEDGER_OP_ESCROW_REFUND, a, 2);
    refund.ref = open.ref;
    ca_ledger_op t = transfer(a, 3, b, 1);
    ca_ledger_op poor = transfer(b, 1, a, 1000000);
    ca_ledger_log_entry e[] = {
        trusted(1, 1000, &m1),     trusted(2, 1000, &m2),
        trusted(3, 1100, &open),   /* deadline 1800 */
        trusted(4, 2000, &poor),   /* refused at 2000: the clock moves all the same */
        trusted(5, 1500, &refund), /* the new leader stamps 1500: applied at 2000 > deadline */
        trusted(6, 1700, &t),
    };
    const ca_status want[NE(e)] = {CA_OK, CA_OK, CA_OK, CA_ERR_LEDGER_INSUFFICIENT_FUNDS,
                                   CA_OK, CA_OK};
    apply_log(l, e, NE(e), want);
    ca_ledger_log_info li = log_info(l);
    assert_int_equal(li.clock, 2000);
    ca_ledger_escrow_info ei = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_ok(ca_ledger_escrow(l, &open.ref, &ei));
    assert_int_equal(ei.state, CA_LEDGER_ESCROW_REFUNDED);
    assert_int_equal(ei.missed, 1); /* settled at 2000, after its deadline */
    /* Taken literally (now = the entry's time), the refund would come too early. */
    ca_ledger *lit = NULL;
    assert_ok(ca_ledger_new(&lit, &o));
    for (size_t i = 0; i < 3; i++)
        assert_ok(ca_ledger_apply(lit, e[i].op, e[i].time, NULL));
    assert_status(CA_ERR_LEDGER_TOO_EARLY, ca_ledger_apply(lit, &refund, 1500, NULL));
    ca_ledger_free(lit);
    /* An op applied without a position moves the horizon, hence the clock. */
    ca_ledger_op t2 = transfer(a, 4, b, 1);
    assert_ok(ca_ledger_apply(l, &t2, 5000, NULL));
    li = log_info(l);
    assert_int_equal(li.clock, 5000);
    assert_int_equal(li.position, 6);
    /* A later time moves it on. */
    ca_ledger_op t3 = transfer(a, 5, b, 1);
    ca_ledger_log_entry late = trusted(7, 6000, &t3);
    apply_log(l, &late, 1, NULL);
    assert_int_equal(log_info(l).clock, 6000);
    ca_ledger_free(l);
}

/* A small history with every kind of record, fed through the log to `l`. */
static void history(ca_ledger *l, const th_hire *h, ca_identity *hi, ca_identity *wi,
                    uint64_t first_pos)
{
    ca_agent_id hid = id_of(hi), wid = id_of(wi);
    ca_ledger_op m1 = mint(hid, 1, 1000), m2 = mint(wid, 2, 1000);
    ca_ledger_op bond = op_of(CA_LEDGER_OP_BOND, wid, 1);
    bond.amount = 500;
    ca_ledger_op unbond = op_of(CA_LEDGER_OP_UNBOND, wid, 2);
    unbond.amount = 50;
    sop sb = sign(l, &bond, wi, NULL), su = sign(l, &unbond, wi, NULL);
    /* The escrow from the AWARD with the worker's consent, delivered with its RESULT. */
    ca_envelope *env = NULL;
    ca_task_msg *award = NULL, *result = NULL;
    assert_ok(ca_envelope_decode(&env, h->award.buf, h->award.len, NULL));
    assert_ok(ca_task_msg_parse(&award, env, NULL));
    ca_envelope_free(env);
    ca_ledger_op open = {.version = CA_LEDGER_OP_VERSION};
    assert_ok(ca_ledger_op_escrow_open(&open, award));
    open.nonce = 1;
    ca_task_msg_free(award);
    sop so = sign(l, &open, hi, wi);
    assert_ok(ca_envelope_decode(&env, h->result.buf, h->result.len, NULL));
    assert_ok(ca_task_msg_parse(&result, env, NULL));
    ca_envelope_free(env);
    ca_ledger_op deliver = {.version = CA_LEDGER_OP_VERSION};
    assert_ok(ca_ledger_op_escrow_deliver(&deliver, result));
    deliver.nonce = 3;
    ca_task_msg_free(result);
    sop sd = sign(l, &deliver, wi, NULL);
    ca_ledger_op release = op_of(CA_LEDGER_OP_ESCROW_RELEASE, hid, 2);
    release.ref = h->award.id;
    sop sr = sign(l, &release, hi, NULL);
    ca_ledger_op stray = transfer(wid, 4, hid, 5);
    sop st = sign(l, &stray, wi, NULL);
    ca_ledger_log_entry e[] = {
        trusted(first_pos, TH_T0, &m1),
        trusted(first_pos + 1, TH_T0, &m2),
        signed_entry(first_pos + 2, TH_T0 + 10, &sb),
        signed_entry(first_pos + 3, TH_T0 + 20, &su),
        signed_entry(first_pos + 4, TH_T0 + 400, &so),
        signed_entry(first_pos + 5, TH_T0 + 1100, &sd), /* no RESULT attached: refused */
        signed_entry(first_pos + 6, TH_T0 + 1100, &sd),
        signed_entry(first_pos + 7, TH_T0 + 2100, &sr),
        signed_entry(first_pos + 8, TH_T0 + 2000, &st), /* an attachment it cannot carry */
        signed_entry(first_pos + 9, TH_T0 + 2200, &st),
    };
    e[6].attachment = h->result.buf;
    e[6].attachment_len = h->result.len;
    e[8].attachment = h->result.buf;
    e[8].attachment_len = h->result.len;
    const ca_status want[NE(e)] = {CA_OK, CA_OK, CA_OK,
                                   CA_OK, CA_OK, CA_ERR_LEDGER_BAD_EVIDENCE,
                                   CA_OK, CA_OK, CA_ERR_INVALID_ARGUMENT,
                                   CA_OK};
    apply_log(l, e, NE(e), want);
}

/*
 * Snapshot bytes round trip, in memory and durable: the same log gives the
 * same bytes on both; a ledger made from them has the exporter's state hash,
 * position, clock and refused count, exports the same bytes, and goes on
 * exactly like the exporter. The durable snapshot file holds those bytes too.
 */
static void test_snapshot_bytes(void **state)
{
    (void)state;
    set_dirs("snap");
    ca_identity *hi = ident(21), *wi = ident(22), *w2 = ident(23);
    th_hire h;
    assert_ok(th_build_hire(&h, hi, wi, w2, 0));
    ca_ledger_options o = opts();
    ca_ledger *mem = NULL;
    assert_ok(ca_ledger_new(&mem, &o));
    history(mem, &h, hi, wi, 1);
    ca_ledger *dur = open_dir(dir, NULL);
    history(dur, &h, hi, wi, 1);
    size_t n1 = 0, n2 = 0;
    uint8_t *s1 = export_snapshot(mem, &n1), *s2 = export_snapshot(dur, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(s1, s2, n1); /* identical bytes: replicas can compare them */
    /* The durable snapshot file is the same bytes. */
    assert_ok(ca_ledger_snapshot(dur));
    char p[400];
    snprintf(p, sizeof p, "%s/snapshot", dir);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    uint8_t *file = malloc(n1 + 1);
    assert_non_null(file);
    assert_int_equal(fread(file, 1, n1 + 1, f), n1);
    fclose(f);
    assert_memory_equal(file, s1, n1);
    free(file);
    /* Import: same hash, same log info, same bytes out. */
    ca_ledger *copy = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&copy, &o, s1, n1));
    assert_ok(ca_ledger_check(copy));
    ca_hash ha = hash_of(mem), hb = hash_of(copy);
    assert_memory_equal(ha.bytes, hb.bytes, 32);
    ca_ledger_log_info la = log_info(mem), lb = log_info(copy);
    assert_int_equal(la.position, 10);
    assert_int_equal(la.failed, 2);
    assert_int_equal(la.clock, TH_T0 + 2200);
    assert_true(la.position == lb.position && la.clock == lb.clock && la.failed == lb.failed);
    size_t n3 = 0;
    uint8_t *s3 = export_snapshot(copy, &n3);
    assert_int_equal(n3, n1);
    assert_memory_equal(s3, s1, n1);
    ca_ledger_escrow_info ei = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_ok(ca_ledger_escrow(copy, &h.award.id, &ei));
    assert_true(ei.delivered == 1 && memcmp(ei.result.bytes, h.result.id.bytes, 32) == 0);
    /* Both go on identically, entries before the snapshot skipped. */
    ca_agent_id wid = id_of(wi);
    ca_ledger_op t = transfer(id_of(hi), 3, wid, 7);
    sop st = sign(mem, &t, hi, NULL);
    ca_ledger_log_entry next[2] = {signed_entry(9, TH_T0 + 3000, &st),
                                   signed_entry(11, TH_T0 + 3000, &st)};
    const ca_status want[2] = {CA_ERR_LEDGER_STALE_POSITION, CA_OK};
    apply_log(mem, next, 2, want);
    apply_log(copy, next, 2, want);
    ha = hash_of(mem);
    hb = hash_of(copy);
    assert_memory_equal(ha.bytes, hb.bytes, 32);
    /* Refusals: other options, a damaged byte, a truncated copy; nothing is made. */
    ca_ledger_options o2 = o;
    o2.unbonding_delay++;
    ca_ledger *bad = (ca_ledger *)&bad;
    assert_status(CA_ERR_LEDGER_OPTIONS_MISMATCH, ca_ledger_new_from_snapshot(&bad, &o2, s1, n1));
    assert_null(bad);
    s3[200] ^= 1;
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_new_from_snapshot(&bad, &o, s3, n3));
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_new_from_snapshot(&bad, &o, s1, n1 - 1));
    assert_null(bad);
    /* An empty ledger's snapshot is 196 bytes. */
    ca_ledger *empty = NULL;
    assert_ok(ca_ledger_new(&empty, &o));
    size_t ne = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(empty, NULL, 0, &ne));
    assert_int_equal(ne, 196);
    ca_ledger_free(empty);
    free(s1);
    free(s2);
    free(s3);
    ca_ledger_free(copy);
    ca_ledger_free(mem);
    ca_ledger_free(dur);
    ca_identity_free(hi);
    ca_identity_free(wi);
    ca_identity_free(w2);
    done_dirs();
}

static int file_exists(const char *d, const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", d, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

/*
 * Installing snapshot bytes into a directory (a replica restoring from
 * another replica's confirmed checkpoint): the directory's own history (here
 * a longer, different one, with journal records after its snapshot) is
 * replaced, never replayed on top; bytes that do not decode and a directory
 * that is open elsewhere change nothing; a damaged directory is repaired; an
 * installation a crash interrupted (snapshot.restore left behind) is
 * finished by the next open.
 */
static void test_open_from_snapshot(void **state)
{
    (void)state;
    set_dirs("restore");
    ca_ledger_options o = opts();
    /* The snapshot to install: six entries of one log. */
    ca_ledger *src = NULL;
    assert_ok(ca_ledger_new(&src, &o));
    range r;
    range_init(&r, src);
    apply_log(src, r.e, 6, range_want);
    size_t n = 0;
    uint8_t *snap = export_snapshot(src, &n);
    ca_hash hs = hash_of(src);
    /* The directory holds another history: a snapshot and records after it. */
    ca_ledger *l = open_dir(dir, NULL);
    ca_ledger_op m[6];
    ca_ledger_log_entry e[6];
    for (unsigned i = 0; i < 6; i++) {
        m[i] = mint(agent(30 + i), i + 1, 5 + i);
        e[i] = trusted(100 + i, 50 + i, &m[i]);
    }
    apply_log(l, e, 3, NULL);
    assert_ok(ca_ledger_snapshot(l));
    apply_log(l, e + 3, 3, NULL);
    assert_ok(ca_ledger_commit(l, NULL));
    ca_hash hold = hash_of(l);
    /* Open elsewhere: refused, nothing written. */
    ca_ledger *x = NULL;
    ca_ledger_open_info info;
    memset(&info, 0, sizeof info);
    info.version = CA_LEDGER_OPEN_INFO_VERSION;
    assert_status(CA_ERR_STATE, ca_ledger_open_from_snapshot(&x, dir, &o, snap, n, &info));
    assert_false(file_exists(dir, "snapshot.restore"));
    ca_ledger_free(l);
    /* Bytes that do not decode: refused before the directory is touched. */
    snap[n / 2] ^= 4;
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open_from_snapshot(&x, dir, &o, snap, n, &info));
    snap[n / 2] ^= 4;
    assert_false(file_exists(dir, "snapshot.restore"));
    l = open_dir(dir, &info);
    ca_hash h = hash_of(l);
    assert_memory_equal(h.bytes, hold.bytes, 32);
    assert_int_equal(info.position, 105);
    ca_ledger_free(l);
    /* Info version checked first. */
    info.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_open_from_snapshot(&x, dir, &o, snap, n, &info));
    info.version = CA_LEDGER_OPEN_INFO_VERSION;
    /* Installed: the snapshot's state and position, the old records gone. */
    assert_ok(ca_ledger_open_from_snapshot(&l, dir, &o, snap, n, &info));
    assert_int_equal(info.position, 7);
    assert_int_equal(info.failed, 2);
    assert_int_equal(info.snapshot_seq, 4);
    assert_int_equal(info.replayed, 0);
    h = hash_of(l);
    assert_memory_equal(h.bytes, hs.bytes, 32);
    assert_int_equal(log_info(l).durable_position, 7);
    assert_false(file_exists(dir, "snapshot.restore"));
    /* It goes on from there, durably. */
    apply_log(l, r.e, NE(r.e),
              (const ca_status[]){CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                                  CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                                  CA_ERR_LEDGER_STALE_POSITION, CA_ERR_LEDGER_STALE_POSITION,
                                  CA_ERR_LEDGER_DUPLICATE});
    apply_log(src, r.e + 6, 1, NULL);
    assert_ok(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    l = open_dir(dir, &info);
    assert_int_equal(info.position, 8);
    assert_int_equal(info.replayed, 0);
    h = hash_of(l);
    hs = hash_of(src);
    assert_memory_equal(h.bytes, hs.bytes, 32);
    ca_ledger_free(l);
    /* A damaged journal (the directory does not open) is replaced too. */
    char p[400];
    snprintf(p, sizeof p, "%s/journal", dir);
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    static const uint8_t garbage[200] = {0x55};
    assert_int_equal(fwrite(garbage, 1, sizeof garbage, f), sizeof garbage);
    fclose(f);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&x, dir, &o, NULL));
    assert_ok(ca_ledger_open_from_snapshot(&l, dir, &o, snap, n, NULL));
    ca_ledger_free(l);
    /* An installation interrupted after snapshot.restore was written: the next open finishes
     * it, whatever the journal and snapshot hold. */
    l = open_dir(dir2, NULL);
    apply_log(l, e, 6, NULL);
    assert_ok(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    snprintf(p, sizeof p, "%s/snapshot.restore", dir2);
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(snap, 1, n, f), n);
    fclose(f);
    l = open_dir(dir2, &info);
    assert_int_equal(info.position, 7);
    assert_int_equal(info.replayed, 0);
    h = hash_of(l);
    ca_ledger *want = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&want, &o, snap, n));
    hs = hash_of(want);
    assert_memory_equal(h.bytes, hs.bytes, 32);
    assert_false(file_exists(dir2, "snapshot.restore"));
    ca_ledger_free(l);
    l = open_dir(dir2, &info); /* and it stays so */
    h = hash_of(l);
    assert_memory_equal(h.bytes, hs.bytes, 32);
    ca_ledger_free(l);
    /* A damaged snapshot.restore: the directory does not open (nothing guessed). */
    snap[10] ^= 1;
    f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(snap, 1, n, f), n);
    fclose(f);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&x, dir2, &o, NULL));
    (void)unlink(p);
    ca_ledger_free(want);
    ca_ledger_free(src);
    free(snap);
    range_free(&r);
    done_dirs();
}

/* The open info's version is the caller's to set, and checked before anything. */
static void test_open_info_version(void **state)
{
    (void)state;
    set_dirs("infov");
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    ca_ledger_open_info info;
    memset(&info, 0, sizeof info);
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_open(&l, dir, &o, &info));
    assert_null(l);
    assert_false(file_exists(dir, "journal"));
    info.version = CA_LEDGER_OPEN_INFO_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_open(&l, dir, &o, &info));
    info.version = CA_LEDGER_OPEN_INFO_VERSION;
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.version, CA_LEDGER_OPEN_INFO_VERSION);
    assert_int_equal(info.position, 0);
    ca_ledger_free(l);
    done_dirs();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_stays_refused), cmocka_unit_test(test_restart_mid_range),
        cmocka_unit_test(test_positions_strict),      cmocka_unit_test(test_now_rule),
        cmocka_unit_test(test_snapshot_bytes),        cmocka_unit_test(test_open_from_snapshot),
        cmocka_unit_test(test_open_info_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
