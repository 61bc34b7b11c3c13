/*
 * Key rotation in the ledger (ledger.h "KEY ROTATION", docs/LEDGER.md "Key
 * rotation"): KEY_EVENT ops, the rule that only the current key signs for a
 * bound account from the event's place on, the key records in the replicated
 * state, and the recovery drill with the ledger and reputation.
 */
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "cyberagent.h"
#include "identity/identity_internal.h"
#include "keyhistory/keyhistory_internal.h"
#include "ledger/ledger_internal.h"
#include "task_helpers.h"
#include "test_util.h"

#define NOW TH_T0

static ca_identity *key_n(int n)
{
    uint8_t seed[32] = {0x4b, (uint8_t)n, (uint8_t)(n >> 8)};
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

static ca_agent_id id_of(const ca_identity *k)
{
    ca_agent_id a;
    ca_identity_id(k, &a);
    return a;
}

static ca_hash commit_of(const ca_identity *k)
{
    ca_agent_id pk = id_of(k);
    ca_hash c;
    assert_ok(ca_key_commitment(&pk, &c));
    return c;
}

static ca_agent_id fake(uint8_t b)
{
    ca_agent_id a;
    memset(a.bytes, b, sizeof a.bytes);
    return a;
}

/* An event signed outside the rules (what a forger can make). */
static size_t forge(const cai_key_event *in, const ca_identity *signer, uint8_t *out)
{
    cai_key_event ev = *in;
    uint8_t sb[64 + CA_KEY_EVENT_MAX_BYTES];
    static const char tag[] = "cyberagent/1/key-event";
    memcpy(sb, tag, sizeof tag - 1);
    cai_wire_writer w;
    cai_ww_init(&w, sb + sizeof tag - 1, CA_KEY_EVENT_MAX_BYTES);
    cai_wire_put_map(&w, &cai_key_event_table, &ev);
    size_t n = 0;
    assert_ok(cai_ww_finish(&w, &n));
    ca_signature sig;
    assert_ok(cai_identity_sign(signer, sb, sizeof tag - 1 + n, &sig));
    memcpy(ev.signature, sig.bytes, 64);
    size_t len = 0;
    assert_ok(cai_key_event_encode(&ev, out, CA_KEY_EVENT_MAX_BYTES, &len));
    return len;
}

/* A signed op: bytes and, for a KEY_EVENT, its event. */
typedef struct sop {
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t len;
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t ev_len;
} sop;

static uint64_t next_nonce(const ca_ledger *l, const ca_agent_id *a)
{
    ca_ledger_account_info i = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return ca_ledger_account(l, a, &i) == CA_OK ? i.nonce + 1 : 1;
}

/* Signs op (nonce: the account's next unless set) with `key` for the ledger. */
static sop sign_with(ca_ledger *l, ca_ledger_op op, const ca_identity *key,
                     const ca_identity *worker_key)
{
    sop s;
    memset(&s, 0, sizeof s);
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    if (op.nonce == 0)
        op.nonce = next_nonce(l, &op.signer);
    ca_signature cs, *cp = NULL;
    ca_agent_id wk;
    if (op.type == CA_LEDGER_OP_ESCROW_OPEN) {
        assert_ok(ca_ledger_op_cosign_with_key(&lid, &op, worker_key, &cs));
        cp = &cs;
        wk = id_of(worker_key);
    }
    assert_ok(ca_ledger_op_sign_with_key(&lid, &op, key, cp, cp ? &wk : NULL, s.msg, sizeof s.msg,
                                         &s.len));
    return s;
}

static ca_ledger_op mkop(uint32_t type, const ca_agent_id *signer)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = *signer;
    return op;
}

/* The KEY_EVENT carrying `ev` for `account`, signed by the event's key `key`. */
static sop key_event_op(ca_ledger *l, const ca_agent_id *account, const uint8_t *ev, size_t len,
                        const ca_identity *key)
{
    ca_key_event_info info = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(ev, len, &info));
    ca_ledger_op op = mkop(CA_LEDGER_OP_KEY_EVENT, account);
    op.ref = info.digest;
    op.amount = info.sequence;
    sop s = sign_with(l, op, key, NULL);
    memcpy(s.ev, ev, len);
    s.ev_len = len;
    return s;
}

static ca_status submit(ca_ledger *l, const sop *s, uint64_t now)
{
    return s->ev_len > 0 ? ca_ledger_submit_evidence(l, s->msg, s->len, s->ev, s->ev_len, now, NULL)
                         : ca_ledger_submit(l, s->msg, s->len, now, NULL);
}

static void trusted(ca_ledger *l, ca_ledger_op op, uint64_t now)
{
    op.nonce = next_nonce(l, &op.signer);
    assert_ok(ca_ledger_apply(l, &op, now, NULL));
}

static ca_ledger_options opts(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = fake(0xA1);
    o.arbiter = fake(0xA2);
    o.unbonding_delay = 1000;
    return o;
}

static void mint(ca_ledger *l, const ca_agent_id *to, uint64_t amount)
{
    ca_agent_id auth = fake(0xA1);
    ca_ledger_op m = mkop(CA_LEDGER_OP_MINT, &auth);
    m.counterparty = *to;
    m.amount = amount;
    trusted(l, m, NOW);
}

static ca_ledger_account_info account(const ca_ledger *l, const ca_agent_id *a)
{
    ca_ledger_account_info i = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(l, a, &i));
    return i;
}

static ca_ledger_key_info key_state(const ca_ledger *l, const ca_agent_id *a)
{
    ca_ledger_key_info k = {.version = CA_LEDGER_KEY_INFO_VERSION};
    assert_ok(ca_ledger_key_state(l, a, &k));
    return k;
}

static void incept_event(const ca_identity *k0, const ca_identity *k1, uint64_t time, uint8_t *ev,
                         size_t *len)
{
    ca_hash c = commit_of(k1);
    assert_ok(ca_key_event_incept(k0, &c, time, ev, CA_KEY_EVENT_MAX_BYTES, len));
}

static void same_hash(ca_ledger *a, ca_ledger *b)
{
    ca_hash x, y;
    assert_ok(ca_ledger_state_hash(a, &x));
    assert_ok(ca_ledger_state_hash(b, &y));
    assert_memory_equal(x.bytes, y.bytes, 32);
}

/* One log entry of signed bytes (with the KEY_EVENT's event). */
static ca_ledger_log_entry entry(uint64_t pos, const sop *s)
{
    ca_ledger_log_entry e;
    memset(&e, 0, sizeof e);
    e.position = pos;
    e.time = NOW + pos;
    e.msg = s->msg;
    e.msg_len = s->len;
    e.attachment = s->ev_len ? s->ev : NULL;
    e.attachment_len = s->ev_len;
    return e;
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/ca_ledger_keys_XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmdir_all(char *d)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

/* ------------------------------------------------------------ recovery drill */

static void test_recovery_drill(void **state)
{
    (void)state;
    ca_identity *k0 = key_n(1), *k1 = key_n(2), *k2 = key_n(3); /* owner: now, next, after */
    ca_identity *hirer = key_n(10), *w = key_n(11), *w2 = key_n(12);
    const ca_agent_id A = id_of(k0), H = id_of(hirer), W = id_of(w), LOOT = fake(0x77);
    char *dir = tmpdir();
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    mint(l, &A, 1000);
    mint(l, &H, 1000);
    mint(l, &W, 1000);

    /* Reputation: H hired A for a task, paid through the ledger, and rated it. */
    th_hire h;
    assert_ok(th_build_hire(&h, hirer, k0, w2, 0));
    ca_task *task = NULL;
    assert_ok(th_new(&task, &h.request, TH_T0 + 10));
    assert_ok(th_apply(task, &h.bid1, TH_T0 + 110));
    assert_ok(th_apply(task, &h.bid2, TH_T0 + 210));
    assert_ok(th_apply(task, &h.award, TH_T0 + 310));
    assert_ok(th_apply(task, &h.result, TH_T0 + 1010));
    assert_ok(th_apply(task, &h.receipt, TH_T0 + 2010));
    ca_ledger_op eo = mkop(CA_LEDGER_OP_ESCROW_OPEN, &H);
    eo.counterparty = A;
    eo.ref = h.award.id;
    eo.amount = 80;
    eo.amount2 = 10;
    eo.deadline = TH_T0 + 100000;
    trusted(l, eo, NOW);
    ca_ledger_op rel = mkop(CA_LEDGER_OP_ESCROW_RELEASE, &H);
    rel.ref = h.award.id;
    trusted(l, rel, NOW);
    ca_reputation_options ro;
    assert_ok(ca_reputation_options_init(&ro, CA_REPUTATION_OPTIONS_VERSION));
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &ro));
    assert_ok(ca_reputation_add_settled(rep, task, l));
    assert_ok(ca_reputation_update(rep, NOW + 3000, NULL));
    ca_reputation_score score0;
    assert_ok(ca_reputation_get(rep, &A, &score0, sizeof score0));
    assert_int_equal(score0.ratings_received, 1);

    /* The owner, with its inception key: bonds stake and hires W (an open escrow, signed). */
    ca_ledger_op b = mkop(CA_LEDGER_OP_BOND, &A);
    b.amount = 300;
    sop s = sign_with(l, b, k0, NULL);
    assert_ok(submit(l, &s, NOW + 10));
    ca_hash award2;
    memset(award2.bytes, 0xE2, 32);
    ca_ledger_op open = mkop(CA_LEDGER_OP_ESCROW_OPEN, &A);
    open.counterparty = W;
    open.ref = award2;
    open.amount = 50;
    open.amount2 = 5;
    open.deadline = NOW + 1000000;
    s = sign_with(l, open, k0, w);
    assert_ok(submit(l, &s, NOW + 10));
    /* ... and binds its account to its key history (inception: k0 now, k1 committed). */
    uint8_t inc[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len = 0;
    incept_event(k0, k1, NOW + 20, inc, &inc_len);
    ca_key_history *hist = NULL;
    assert_ok(ca_key_history_new(&hist, inc, inc_len));
    s = key_event_op(l, &A, inc, inc_len, k0);
    ca_ledger_log_entry e1 = entry(1, &s);
    ca_status r1[8];
    assert_ok(ca_ledger_apply_log(l, &e1, sizeof e1, 1, r1, NULL));
    assert_ok(r1[0]);
    ca_ledger_key_info ki = key_state(l, &A);
    assert_int_equal(ki.sequence, 0);
    assert_memory_equal(ki.key.bytes, A.bytes, 32);
    assert_int_equal(ki.position, 1);

    /* The thief steals k0: its ops pass while no rotation is known. */
    ca_ledger_op t = mkop(CA_LEDGER_OP_TRANSFER, &A);
    t.counterparty = LOOT;
    t.amount = 10;
    s = sign_with(l, t, k0, NULL);
    assert_ok(submit(l, &s, NOW + 30));
    const ca_ledger_account_info before = account(l, &A); /* what the owner has after the theft */

    /* The thief tries to rotate with the stolen key: it reveals k0 (not committed) ... */
    ca_hash last;
    ca_key_history_last_digest(hist, &last);
    ca_hash id0;
    ca_key_history_id(hist, &id0);
    cai_key_event f = {.type = CA_KEY_EVENT_ROTATION, .sequence = 1, .time = NOW + 40};
    memcpy(f.identifier, id0.bytes, 32);
    memcpy(f.prior, last.bytes, 32);
    ca_hash tc = commit_of(w2);
    memcpy(f.next, tc.bytes, 32);
    memcpy(f.key, A.bytes, 32);
    uint8_t forged[CA_KEY_EVENT_MAX_BYTES];
    size_t flen = forge(&f, k0, forged);
    ca_hash hb, ha;
    assert_ok(ca_ledger_state_hash(l, &hb));
    s = key_event_op(l, &A, forged, flen, k0);
    assert_status(CA_ERR_KEY_NOT_COMMITTED, submit(l, &s, NOW + 40));
    /* ... or a key of its own, signing event and op with it. */
    ca_agent_id tk = id_of(w2);
    memcpy(f.key, tk.bytes, 32);
    flen = forge(&f, w2, forged);
    s = key_event_op(l, &A, forged, flen, w2);
    assert_status(CA_ERR_KEY_NOT_COMMITTED, submit(l, &s, NOW + 40));
    assert_ok(ca_ledger_state_hash(l, &ha));
    assert_memory_equal(hb.bytes, ha.bytes, 32); /* nothing changed */
    assert_int_equal(key_state(l, &A).sequence, 0);

    /* The owner rotates with the pre-committed k1 (committing to k2), in one log batch with
     * the thief's ops: one before the rotation's position, the rest after it. */
    uint8_t rot[CA_KEY_EVENT_MAX_BYTES];
    size_t rot_len = 0;
    ca_hash c2 = commit_of(k2);
    assert_ok(ca_key_event_rotate(hist, k1, &c2, NOW + 50, rot, sizeof rot, &rot_len));
    const uint64_t n0 = next_nonce(l, &A);
    sop batch[8];
    t.nonce = n0; /* position 10: before the rotation, with the stolen key */
    batch[0] = sign_with(l, t, k0, NULL);
    ca_ledger_op kop = mkop(CA_LEDGER_OP_KEY_EVENT, &A); /* position 11: the rotation */
    {
        ca_key_event_info ri = {.version = CA_KEY_EVENT_INFO_VERSION};
        assert_ok(ca_key_event_open(rot, rot_len, &ri));
        kop.ref = ri.digest;
        kop.amount = ri.sequence;
        kop.nonce = n0 + 1;
        batch[1] = sign_with(l, kop, k1, NULL);
        memcpy(batch[1].ev, rot, rot_len);
        batch[1].ev_len = rot_len;
    }
    /* After it, with k0 and the next nonces: transfer, unbond, withdraw, a consent, a forged
     * rotation. */
    t.nonce = n0 + 2;
    batch[2] = sign_with(l, t, k0, NULL);
    ca_ledger_op u = mkop(CA_LEDGER_OP_UNBOND, &A);
    u.amount = 100;
    u.nonce = n0 + 2;
    batch[3] = sign_with(l, u, k0, NULL);
    ca_ledger_op wd = mkop(CA_LEDGER_OP_WITHDRAW, &A);
    wd.nonce = n0 + 2;
    batch[4] = sign_with(l, wd, k0, NULL);
    ca_ledger_op hire_a = mkop(CA_LEDGER_OP_ESCROW_OPEN, &W); /* W hires A: A's consent by k0 */
    hire_a.counterparty = A;
    memset(hire_a.ref.bytes, 0xE3, 32);
    hire_a.amount = 20;
    hire_a.amount2 = 500; /* the thief would lock A's balance as collateral */
    hire_a.deadline = NOW + 1000000;
    batch[5] = sign_with(l, hire_a, w, k0);
    memcpy(f.key, A.bytes, 32);
    f.sequence = 2;
    ca_key_event_info ri2 = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(rot, rot_len, &ri2));
    memcpy(f.prior, ri2.digest.bytes, 32);
    flen = forge(&f, k0, forged);
    ca_ledger_op fk = mkop(CA_LEDGER_OP_KEY_EVENT, &A);
    {
        ca_key_event_info fi = {.version = CA_KEY_EVENT_INFO_VERSION};
        assert_ok(ca_key_event_open(forged, flen, &fi));
        fk.ref = fi.digest;
        fk.amount = fi.sequence;
        fk.nonce = n0 + 2;
        batch[6] = sign_with(l, fk, k0, NULL);
        memcpy(batch[6].ev, forged, flen);
        batch[6].ev_len = flen;
    }
    /* The owner with the new key. */
    ca_ledger_op own = mkop(CA_LEDGER_OP_TRANSFER, &A);
    own.counterparty = H;
    own.amount = 7;
    own.nonce = n0 + 2;
    batch[7] = sign_with(l, own, k1, NULL);
    ca_ledger_log_entry es[8];
    for (int i = 0; i < 8; i++)
        es[i] = entry(10 + (uint64_t)i, &batch[i]);
    ca_status rs[8];
    size_t done = 0;
    assert_ok(ca_ledger_apply_log(l, es, sizeof es[0], 8, rs, &done));
    assert_int_equal(done, 8);
    assert_ok(rs[0]); /* before the rotation's position: the thief's op applied */
    assert_ok(rs[1]); /* the rotation */
    assert_status_value(CA_ERR_KEY_ROTATED, rs[2]);
    assert_status_value(CA_ERR_KEY_ROTATED, rs[3]);
    assert_status_value(CA_ERR_KEY_ROTATED, rs[4]);
    assert_status_value(CA_ERR_KEY_ROTATED, rs[5]); /* A's consent by k0 */
    assert_status_value(CA_ERR_KEY_NOT_COMMITTED, rs[6]);
    assert_ok(rs[7]); /* the owner's transfer with k1 */
    ki = key_state(l, &A);
    assert_int_equal(ki.sequence, 1);
    assert_memory_equal(ki.key.bytes, id_of(k1).bytes, 32);
    assert_memory_equal(ki.identifier.bytes, id0.bytes, 32);
    assert_int_equal(ki.position, 11);
    assert_int_equal(ki.time, NOW + 50);

    /* The owner's other ops with k1 are accepted: unbond, and a consent to W's escrow. */
    u.nonce = 0;
    s = sign_with(l, u, k1, NULL);
    assert_ok(submit(l, &s, NOW + 100));
    hire_a.amount2 = 5;
    hire_a.nonce = 0;
    s = sign_with(l, hire_a, w, k1);
    assert_ok(submit(l, &s, NOW + 100));

    /* Balance, stake, escrow and reputation intact: the owner lost only the thief's two
     * transfers before the rotation, then moved 7, collateral 5, unbonded 100 itself. */
    ca_ledger_account_info after = account(l, &A);
    assert_int_equal(after.balance, before.balance - 10 - 7 - 5);
    assert_int_equal(after.bonded, 300 - 100);
    assert_int_equal(after.unbonding, 100);
    assert_int_equal(account(l, &LOOT).balance, 20);
    ca_ledger_escrow_info ei = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_ok(ca_ledger_escrow(l, &award2, &ei));
    assert_int_equal(ei.state, CA_LEDGER_ESCROW_OPEN);
    assert_memory_equal(ei.hirer.bytes, A.bytes, 32);
    assert_ok(ca_reputation_sync_stakes(rep, l, NOW + 200));
    assert_ok(ca_reputation_update(rep, NOW + 3000, NULL));
    ca_reputation_score score1;
    assert_ok(ca_reputation_get(rep, &A, &score1, sizeof score1));
    assert_int_equal(score1.ratings_received, 1);
    assert_true(score1.positive == score0.positive && score1.negative == score0.negative);
    assert_true(score1.stake == 300 - 100 + 100);
    assert_ok(ca_ledger_check(l));

    /* The same after reopening from the journal ... */
    ca_hash h1;
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_ok(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_ok(ca_ledger_state_hash(l, &ha));
    assert_memory_equal(h1.bytes, ha.bytes, 32);
    ca_ledger_key_info k2i = key_state(l, &A);
    assert_memory_equal(&k2i, &ki, sizeof ki);
    t.nonce = 0;
    s = sign_with(l, t, k0, NULL);
    assert_status(CA_ERR_KEY_ROTATED, submit(l, &s, NOW + 300));
    /* ... and from a snapshot (file and bytes). */
    assert_ok(ca_ledger_snapshot(l));
    ca_ledger_free(l);
    l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_ok(ca_ledger_state_hash(l, &ha));
    assert_memory_equal(h1.bytes, ha.bytes, 32);
    k2i = key_state(l, &A);
    assert_memory_equal(&k2i, &ki, sizeof ki);
    assert_status(CA_ERR_KEY_ROTATED, submit(l, &s, NOW + 300));
    size_t sn = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(l, NULL, 0, &sn));
    uint8_t *snap = malloc(sn);
    assert_ok(ca_ledger_snapshot_export(l, snap, sn, &sn));
    ca_ledger *copy = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&copy, &o, snap, sn));
    same_hash(l, copy);
    assert_status(CA_ERR_KEY_ROTATED, submit(copy, &s, NOW + 300));
    t.nonce = 0;
    s = sign_with(copy, t, k1, NULL);
    assert_ok(submit(copy, &s, NOW + 300));
    assert_ok(ca_ledger_check(copy));
    free(snap);
    ca_ledger_free(copy);

    ca_reputation_free(rep);
    ca_task_free(task);
    ca_key_history_free(hist);
    ca_ledger_free(l);
    rmdir_all(dir);
    ca_identity_free(k0);
    ca_identity_free(k1);
    ca_identity_free(k2);
    ca_identity_free(hirer);
    ca_identity_free(w);
    ca_identity_free(w2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_drill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
