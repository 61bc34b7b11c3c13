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
    size_t len = 0;
    assert_ok(cai_key_event_sign(&ev, signer, out, CA_KEY_EVENT_MAX_BYTES, &len));
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

/* An escrow of 80 (collateral 10) from `hirer` to `worker` for `award`, opened and released by
 * trusted ops at `now`: the task was paid through the ledger. */
static void paid_escrow(ca_ledger *l, const ca_agent_id *hirer, const ca_agent_id *worker,
                        const ca_hash *award, uint64_t now)
{
    ca_ledger_op eo = mkop(CA_LEDGER_OP_ESCROW_OPEN, hirer);
    eo.counterparty = *worker;
    eo.ref = *award;
    eo.amount = 80;
    eo.amount2 = 10;
    eo.deadline = now + 100000;
    trusted(l, eo, now);
    ca_ledger_op rel = mkop(CA_LEDGER_OP_ESCROW_RELEASE, hirer);
    rel.ref = *award;
    trusted(l, rel, now);
}

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
    assert_ok(th_hire_thread(&task, &h));
    paid_escrow(l, &H, &A, &h.award.id, NOW);
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

    /* A works again, now with k1: W hires it, the thread knows the worker as k1, the escrow
     * names A's account. The rating follows the account (not the key that signed). */
    th_hire h2;
    assert_ok(th_build_hire(&h2, w, k1, w2, 0));
    ca_task *task2 = NULL;
    assert_ok(th_hire_thread(&task2, &h2));
    paid_escrow(l, &W, &A, &h2.award.id, NOW + 100);
    assert_ok(ca_reputation_add_settled(rep, task2, l));
    ca_reputation_score by_key;
    const ca_agent_id K1 = id_of(k1);
    assert_int_not_equal(ca_reputation_get(rep, &K1, &by_key, sizeof by_key), CA_OK);
    ca_task_free(task2);

    /* Balance, stake, escrow and reputation intact: the owner lost only the thief's two
     * transfers before the rotation, then moved 7, collateral 5, unbonded 100 itself. */
    ca_ledger_account_info after = account(l, &A);
    assert_int_equal(after.balance, before.balance - 10 - 7 - 5 + 80);
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
    assert_int_equal(score1.ratings_received, 2); /* the task before and the one with k1 */
    assert_true(score1.positive >= score0.positive && score1.negative >= score0.negative);
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

/* --------------------------------------------------------------- the rules */

typedef struct fx {
    ca_identity *k0, *k1, *k2, *other;
    ca_agent_id A;
    ca_ledger_options o;
    ca_ledger *l;
    uint8_t inc[CA_KEY_EVENT_MAX_BYTES], rot[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len, rot_len;
    ca_key_history *hist;
} fx;

/* A ledger where A (k0) has 1000 units; its inception (next k1) and first rotation (to k1,
 * next k2) made, not applied. */
static void fx_new(fx *f)
{
    memset(f, 0, sizeof *f);
    f->k0 = key_n(31);
    f->k1 = key_n(32);
    f->k2 = key_n(33);
    f->other = key_n(34);
    f->A = id_of(f->k0);
    f->o = opts();
    assert_ok(ca_ledger_new(&f->l, &f->o));
    mint(f->l, &f->A, 1000);
    incept_event(f->k0, f->k1, NOW, f->inc, &f->inc_len);
    assert_ok(ca_key_history_new(&f->hist, f->inc, f->inc_len));
    ca_hash c2 = commit_of(f->k2);
    assert_ok(
        ca_key_event_rotate(f->hist, f->k1, &c2, NOW + 5, f->rot, sizeof f->rot, &f->rot_len));
}

static void fx_free(fx *f)
{
    ca_ledger_free(f->l);
    ca_key_history_free(f->hist);
    ca_identity_free(f->k0);
    ca_identity_free(f->k1);
    ca_identity_free(f->k2);
    ca_identity_free(f->other);
}

/* Submits s and checks that a refusal changed nothing. */
static void refused(ca_ledger *l, ca_status want, const sop *s)
{
    ca_hash a, b;
    assert_ok(ca_ledger_state_hash(l, &a));
    assert_status(want, submit(l, s, NOW + 10));
    assert_ok(ca_ledger_state_hash(l, &b));
    assert_memory_equal(a.bytes, b.bytes, 32);
}

static void test_inception_rules(void **state)
{
    (void)state;
    fx f;
    fx_new(&f);
    /* An account-less key cannot bind: events create no accounts. */
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t n = 0;
    incept_event(f.other, f.k1, NOW, ev, &n);
    ca_agent_id O = id_of(f.other);
    sop s = key_event_op(f.l, &O, ev, n, f.other);
    refused(f.l, CA_ERR_LEDGER_UNKNOWN_ACCOUNT, &s);
    /* An inception by a key that is not the account. */
    s = key_event_op(f.l, &f.A, ev, n, f.other);
    refused(f.l, CA_ERR_LEDGER_UNAUTHORIZED, &s);
    /* The op signed by another key than the event's. */
    s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.other);
    refused(f.l, CA_ERR_BAD_SIGNATURE, &s);
    /* Without its event, with a damaged one, with another one's digest, or trusted. */
    s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.k0);
    sop bare = s;
    bare.ev_len = 0;
    refused(f.l, CA_ERR_LEDGER_BAD_EVIDENCE, &bare);
    sop bad = s;
    bad.ev[bad.ev_len - 1] ^= 1;
    refused(f.l, CA_ERR_LEDGER_BAD_EVIDENCE, &bad);
    sop big = s;
    big.ev_len = CA_KEY_EVENT_MAX_BYTES + 1;
    assert_status(CA_ERR_LIMIT, ca_ledger_submit_evidence(f.l, s.msg, s.len, big.ev,
                                                          CA_KEY_EVENT_MAX_BYTES + 1, NOW, NULL));
    sop swapped = s;
    incept_event(f.k0, f.k2, NOW, swapped.ev, &swapped.ev_len); /* another event of k0 */
    refused(f.l, CA_ERR_LEDGER_BAD_EVIDENCE, &swapped);
    ca_ledger_op op;
    op.version = CA_LEDGER_OP_VERSION;
    assert_ok(ca_ledger_op_decode(s.msg, s.len, &op));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, ca_ledger_apply(f.l, &op, NOW, NULL));
    ca_ledger_key_info ki = {.version = CA_LEDGER_KEY_INFO_VERSION};
    assert_status(CA_ERR_NOT_FOUND, ca_ledger_key_state(f.l, &f.A, &ki));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, ca_ledger_key_state(f.l, &O, &ki));
    /* Bound; a second inception for the account (even its own, replayed with a new nonce) is
     * refused. */
    assert_ok(submit(f.l, &s, NOW + 10));
    ki = key_state(f.l, &f.A);
    assert_int_equal(ki.seq, 2);
    assert_int_equal(ki.position, 0);
    refused(f.l, CA_ERR_LEDGER_DUPLICATE, &s);
    s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.k0);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &s);
    incept_event(f.k0, f.k2, NOW + 1, ev, &n);
    s = key_event_op(f.l, &f.A, ev, n, f.k0);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &s);
    /* Bound, never rotated: the account's key is still its id. */
    ca_ledger_op t = mkop(CA_LEDGER_OP_TRANSFER, &f.A);
    t.counterparty = O;
    t.amount = 1;
    s = sign_with(f.l, t, f.other, NULL);
    refused(f.l, CA_ERR_BAD_SIGNATURE, &s);
    s = sign_with(f.l, t, f.k0, NULL);
    assert_ok(submit(f.l, &s, NOW + 10));
    ki.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_key_state(f.l, &f.A, &ki));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_key_state(NULL, &f.A, &ki));
    assert_ok(ca_ledger_check(f.l));
    fx_free(&f);
}

static void test_rotation_rules(void **state)
{
    (void)state;
    fx f;
    fx_new(&f);
    /* A rotation before the inception: nothing to rotate. */
    sop r = key_event_op(f.l, &f.A, f.rot, f.rot_len, f.k1);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &r);
    sop s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.k0);
    assert_ok(submit(f.l, &s, NOW + 10));
    /* An event for another identity: B's inception commits to k1 as well; its rotation to k1
     * names B's identifier. */
    ca_identity *kb = key_n(40);
    ca_agent_id B = id_of(kb);
    mint(f.l, &B, 10);
    uint8_t ib[CA_KEY_EVENT_MAX_BYTES], rb[CA_KEY_EVENT_MAX_BYTES];
    size_t ibn = 0, rbn = 0;
    incept_event(kb, f.k1, NOW, ib, &ibn);
    ca_key_history *hb = NULL;
    assert_ok(ca_key_history_new(&hb, ib, ibn));
    ca_hash c2 = commit_of(f.k2);
    assert_ok(ca_key_event_rotate(hb, f.k1, &c2, NOW + 5, rb, sizeof rb, &rbn));
    sop other = key_event_op(f.l, &f.A, rb, rbn, f.k1);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &other);
    /* Signed by the key being replaced instead of the revealed one. */
    ca_key_event_info ri = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(f.rot, f.rot_len, &ri));
    ca_ledger_op op = mkop(CA_LEDGER_OP_KEY_EVENT, &f.A);
    op.ref = ri.digest;
    op.amount = 1;
    sop by_old = sign_with(f.l, op, f.k0, NULL);
    memcpy(by_old.ev, f.rot, f.rot_len);
    by_old.ev_len = f.rot_len;
    refused(f.l, CA_ERR_BAD_SIGNATURE, &by_old);
    /* Dated before the inception (forged by the committed key itself). */
    cai_key_event fe = {.type = CA_KEY_EVENT_ROTATION, .sequence = 1, .time = NOW - 1};
    memcpy(fe.identifier, ri.identifier.bytes, 32);
    memcpy(fe.prior, ri.prior.bytes, 32);
    memcpy(fe.key, ri.key.bytes, 32);
    memcpy(fe.next, ri.next.bytes, 32);
    uint8_t fb[CA_KEY_EVENT_MAX_BYTES];
    size_t fn = forge(&fe, f.k1, fb);
    sop early = key_event_op(f.l, &f.A, fb, fn, f.k1);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &early);
    /* The rotation applies; replayed, it is refused (the same bytes: its nonce; re-signed with
     * a new nonce: its sequence). */
    r = key_event_op(f.l, &f.A, f.rot, f.rot_len, f.k1);
    assert_ok(submit(f.l, &r, NOW + 20));
    refused(f.l, CA_ERR_LEDGER_DUPLICATE, &r);
    r = key_event_op(f.l, &f.A, f.rot, f.rot_len, f.k1);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &r);
    /* Bringing the account's id key back as the next key (committed by the owner) is refused. */
    assert_ok(ca_key_history_append(f.hist, f.rot, f.rot_len));
    ca_key_event_info cur = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(f.rot, f.rot_len, &cur));
    cai_key_event back = {.type = CA_KEY_EVENT_ROTATION, .sequence = 2, .time = NOW + 30};
    memcpy(back.identifier, cur.identifier.bytes, 32);
    memcpy(back.prior, cur.digest.bytes, 32);
    ca_agent_id k2id = id_of(f.k2);
    memcpy(back.key, k2id.bytes, 32);
    memcpy(back.next, cur.next.bytes, 32);
    fn = forge(&back, f.k2, fb);
    s = key_event_op(f.l, &f.A, fb, fn, f.k2);
    assert_ok(submit(f.l, &s, NOW + 30)); /* k2 follows; it commits to k2 again */
    ca_key_event_info k2e = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(fb, fn, &k2e));
    memcpy(back.prior, k2e.digest.bytes, 32);
    back.sequence = 3;
    fn = forge(&back, f.k2, fb); /* reveals k2, the current key: a key of the history */
    s = key_event_op(f.l, &f.A, fb, fn, f.k2);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &s);
    assert_int_equal(key_state(f.l, &f.A).sequence, 2);
    assert_ok(ca_ledger_check(f.l));
    ca_key_history_free(hb);
    ca_identity_free(kb);
    fx_free(&f);
}

/* After a rotation the old key signs nothing for the account, in each place the ledger checks a
 * key: the op's signer, a worker's consent, a RESULT's sender, an equivocation's offender. */
static void test_old_keys_sign_nothing(void **state)
{
    (void)state;
    ca_identity *k0 = key_n(51), *k1 = key_n(52), *k2 = key_n(53), *hirer = key_n(54),
                *w2 = key_n(55);
    const ca_agent_id A = id_of(k0), H = id_of(hirer);
    ca_ledger_options o = opts();
    o.jail_equivocation = 0; /* the worker is hired again after its slash */
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    mint(l, &A, 1000);
    mint(l, &H, 1000);
    ca_ledger_op b = mkop(CA_LEDGER_OP_BOND, &A);
    b.amount = 500;
    trusted(l, b, NOW);
    /* H hires A (the award's worker is A's id): an open escrow, A's RESULT comes later. */
    th_hire h;
    assert_ok(th_build_hire(&h, hirer, k0, w2, 0));
    ca_ledger_op eo = mkop(CA_LEDGER_OP_ESCROW_OPEN, &H);
    eo.counterparty = A;
    eo.ref = h.award.id;
    eo.amount = 80;
    eo.amount2 = 10;
    eo.deadline = TH_T0 + 8000;
    trusted(l, eo, NOW);
    /* Bind and rotate to k1. */
    uint8_t inc[CA_KEY_EVENT_MAX_BYTES], rot[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len = 0, rot_len = 0;
    incept_event(k0, k1, NOW, inc, &inc_len);
    ca_key_history *hist = NULL;
    assert_ok(ca_key_history_new(&hist, inc, inc_len));
    sop s = key_event_op(l, &A, inc, inc_len, k0);
    assert_ok(submit(l, &s, NOW + 1));
    /* Before the rotation: the RESULT by k0 would be accepted (checked on a copy). */
    ca_ledger_op d = mkop(CA_LEDGER_OP_ESCROW_DELIVER, &A);
    d.ref = h.award.id;
    d.result = h.result.id;
    ca_hash c2 = commit_of(k2);
    assert_ok(ca_key_event_rotate(hist, k1, &c2, NOW + 2, rot, sizeof rot, &rot_len));
    s = key_event_op(l, &A, rot, rot_len, k1);
    assert_ok(submit(l, &s, NOW + 2));

    /* The op's signer. */
    sop dk0 = sign_with(l, d, k0, NULL);
    assert_status(CA_ERR_KEY_ROTATED, ca_ledger_submit_evidence(l, dk0.msg, dk0.len, h.result.buf,
                                                                h.result.len, TH_T0 + 1500, NULL));
    /* The RESULT's sender: the op by k1, the RESULT by k0. */
    sop dk1 = sign_with(l, d, k1, NULL);
    assert_status(CA_ERR_KEY_ROTATED, ca_ledger_submit_evidence(l, dk1.msg, dk1.len, h.result.buf,
                                                                h.result.len, TH_T0 + 1500, NULL));
    /* A RESULT by k1 is what counts now. */
    th_msg res1;
    assert_ok(th_result(&res1, k1, &h.request.id, &h.award.id, TH_T0 + 1000, 0, "hello"));
    d.result = res1.id;
    dk1 = sign_with(l, d, k1, NULL);
    assert_ok(
        ca_ledger_submit_evidence(l, dk1.msg, dk1.len, res1.buf, res1.len, TH_T0 + 1500, NULL));

    /* The equivocation's offender: two bids by k0 name A's old key. */
    th_msg rq, b1, b2;
    assert_ok(th_request(&rq, hirer, TH_T0 + 500, TH_T0 + 10000, 100, 0, NULL));
    ca_envelope *er = NULL, *e1 = NULL, *e2 = NULL;
    static uint8_t ev[8192];
    size_t ev_len = 0;
    for (int k = 0; k < 2; k++) {
        const ca_identity *who = k == 0 ? k0 : k1;
        assert_ok(th_bid(&b1, who, &rq.id, TH_T0 + 1000, 50, TH_T0 + 5000, 0));
        assert_ok(th_bid(&b2, who, &rq.id, TH_T0 + 1000, 60, TH_T0 + 5000, 0));
        assert_ok(ca_envelope_decode(&er, rq.buf, rq.len, NULL));
        assert_ok(ca_envelope_decode(&e1, b1.buf, b1.len, NULL));
        assert_ok(ca_envelope_decode(&e2, b2.buf, b2.len, NULL));
        assert_ok(ca_evidence_encode(er, NULL, 0, e1, e2, ev, sizeof ev, &ev_len));
        ca_evidence *evo = NULL;
        assert_ok(ca_evidence_open(&evo, ev, ev_len));
        ca_ledger_op sl = mkop(CA_LEDGER_OP_SLASH, &H);
        sl.counterparty = A;
        sl.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
        ca_evidence_offense(evo, &sl.ref);
        sl.deadline = ca_evidence_deadline(evo);
        ca_evidence_free(evo);
        s = sign_with(l, sl, hirer, NULL);
        ca_status want = k == 0 ? CA_ERR_KEY_ROTATED : CA_OK;
        assert_status(want,
                      ca_ledger_submit_evidence(l, s.msg, s.len, ev, ev_len, TH_T0 + 1600, NULL));
        ca_envelope_free(er);
        ca_envelope_free(e1);
        ca_envelope_free(e2);
    }
    assert_true(account(l, &A).bonded < 500); /* slashed once, on the current key's evidence */

    /* A worker's consent (the worker account rotated): by k0 refused, by k1 accepted. */
    ca_ledger_op hire = mkop(CA_LEDGER_OP_ESCROW_OPEN, &H);
    hire.counterparty = A;
    memset(hire.ref.bytes, 0x5A, 32);
    hire.amount = 5;
    hire.deadline = NOW + 100000;
    s = sign_with(l, hire, hirer, k0);
    assert_status(CA_ERR_KEY_ROTATED, submit(l, &s, NOW + 10));
    s = sign_with(l, hire, hirer, k1);
    assert_ok(submit(l, &s, NOW + 10));
    /* ca_ledger_op_verify knows no key records: it checks the ids the op names. */
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    ca_ledger_op t = mkop(CA_LEDGER_OP_TRANSFER, &A);
    t.counterparty = H;
    t.amount = 1;
    s = sign_with(l, t, k1, NULL);
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_op_verify(&lid, s.msg, s.len));
    assert_ok(submit(l, &s, NOW + 10));
    assert_ok(ca_ledger_check(l));
    ca_key_history_free(hist);
    ca_ledger_free(l);
    ca_identity_free(k0);
    ca_identity_free(k1);
    ca_identity_free(k2);
    ca_identity_free(hirer);
    ca_identity_free(w2);
}

/* O(1): one key record lookup per party checked, whatever the number of rotations; none while
 * no account is bound. Counted, not timed. */
static void test_rotation_cost(void **state)
{
    (void)state;
    enum { ROT = 16 };
    ca_identity *k[ROT + 2];
    for (int i = 0; i < ROT + 2; i++)
        k[i] = key_n(100 + i);
    const ca_agent_id A = id_of(k[0]), D = fake(0x33);
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    mint(l, &A, 1000);
    ca_ledger_op t = mkop(CA_LEDGER_OP_TRANSFER, &A);
    t.counterparty = D;
    t.amount = 1;
    sop s = sign_with(l, t, k[0], NULL);
    assert_ok(submit(l, &s, NOW));
    assert_int_equal(l->keys.lookups, 0); /* nobody bound: no lookup at all */
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t n = 0;
    incept_event(k[0], k[1], NOW, ev, &n);
    ca_key_history *hist = NULL;
    assert_ok(ca_key_history_new(&hist, ev, n));
    s = key_event_op(l, &A, ev, n, k[0]);
    assert_ok(submit(l, &s, NOW));
    for (int i = 1; i <= ROT; i++) {
        ca_hash c = commit_of(k[i + 1]);
        assert_ok(ca_key_event_rotate(hist, k[i], &c, NOW + (uint64_t)i, ev, sizeof ev, &n));
        assert_ok(ca_key_history_append(hist, ev, n));
        s = key_event_op(l, &A, ev, n, k[i]);
        assert_ok(submit(l, &s, NOW + (uint64_t)i));
    }
    assert_int_equal(key_state(l, &A).sequence, ROT);
    const uint64_t before = l->keys.lookups;
    for (int i = 0; i < 100; i++) {
        s = sign_with(l, t, k[ROT], NULL);
        assert_ok(submit(l, &s, NOW + 100));
    }
    assert_int_equal(l->keys.lookups - before, 100); /* one per op: the signer's record */
    assert_int_equal(l->keys.n, 1);                  /* one record for 17 events */
    for (int i = 0; i < ROT + 2; i++)
        ca_identity_free(k[i]);
    ca_key_history_free(hist);
    ca_ledger_free(l);
}

/* Events at their largest: the biggest fields a rotation can hold still open and are judged by
 * the rules; a snapshot of format 5 still opens. */
static void test_max_sizes_and_v5(void **state)
{
    (void)state;
    fx f;
    fx_new(&f);
    sop s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.k0);
    assert_ok(submit(f.l, &s, NOW + 1));
    ca_key_event_info ii = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(f.inc, f.inc_len, &ii));
    cai_key_event big = {.type = CA_KEY_EVENT_ROTATION, .sequence = 0xfffff, .time = UINT64_MAX};
    memcpy(big.identifier, ii.digest.bytes, 32);
    memcpy(big.prior, ii.digest.bytes, 32);
    ca_agent_id k1 = id_of(f.k1);
    memcpy(big.key, k1.bytes, 32);
    memset(big.next, 0xFF, 32);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t n = forge(&big, f.k1, ev);
    assert_true(n > 222);
    s = key_event_op(f.l, &f.A, ev, n, f.k1);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &s); /* sequence 2^20 - 1 does not follow 0 */
    big.sequence = 1;
    n = forge(&big, f.k1, ev);
    s = key_event_op(f.l, &f.A, ev, n, f.k1);
    assert_ok(submit(f.l, &s, NOW + 2)); /* time UINT64_MAX is a time */
    assert_int_equal(key_state(f.l, &f.A).time, UINT64_MAX);
    assert_ok(ca_ledger_check(f.l));

    /* Format 5: a ledger without key records, written as before (no n_keys). */
    ca_ledger *plain = NULL;
    assert_ok(ca_ledger_new(&plain, &f.o));
    mint(plain, &f.A, 5);
    size_t len = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(plain, NULL, 0, &len));
    uint8_t *b6 = malloc(len);
    assert_ok(ca_ledger_snapshot_export(plain, b6, len, &len));
    uint8_t *b5 = malloc(len);
    /* Without n_keys and the delegation and revocation counts (12 bytes of zeros). */
    const size_t body = len - 64 - 12;
    memcpy(b5, b6, body);
    memcpy(b5 + body, b6 + body + 12, 32); /* the state hash: no records, the same */
    cai_store_le32(b5 + 8, 5);
    crypto_generichash(b5 + body + 32, 32, b5, body + 32, NULL, 0);
    ca_ledger *from5 = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&from5, &f.o, b5, len - 12));
    same_hash(plain, from5);
    ca_ledger_free(from5);
    cai_store_le32(b5 + 8, 4); /* older ones stay refused */
    crypto_generichash(b5 + body + 32, 32, b5, body + 32, NULL, 0);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_new_from_snapshot(&from5, &f.o, b5, len - 4));
    /* A format 6 snapshot with a key record whose account is missing is refused. */
    size_t kl = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(f.l, NULL, 0, &kl));
    uint8_t *bk = malloc(kl);
    assert_ok(ca_ledger_snapshot_export(f.l, bk, kl, &kl));
    ca_ledger *back = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&back, &f.o, bk, kl));
    same_hash(f.l, back);
    ca_ledger_free(back);
    bk[kl - 64 - 200] ^= 1; /* the record's account id */
    crypto_generichash(bk + kl - 32, 32, bk, kl - 32, NULL, 0);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_new_from_snapshot(&back, &f.o, bk, kl));
    free(bk);
    free(b5);
    free(b6);
    ca_ledger_free(from5);
    ca_ledger_free(plain);
    fx_free(&f);
}

/* ------------------------------------------------------- which account a key speaks for */

/* ca_ledger_account_of_key answers `want` for `key` (and the account on CA_OK). */
static void speaks_for(const ca_ledger *l, const ca_agent_id *key, ca_status want,
                       const ca_agent_id *account)
{
    ca_agent_id got = fake(0xEE);
    assert_status(want, ca_ledger_account_of_key(l, key, &got));
    if (want == CA_OK)
        assert_memory_equal(got.bytes, account->bytes, 32);
    else
        assert_memory_equal(got.bytes, fake(0xEE).bytes, 32); /* written on CA_OK only */
}

/* The answers of ledger.h's ca_ledger_account_of_key, in order, and the reverse index they
 * read: kept by rotations, a rotation to another identity's current key refused, rebuilt by
 * journal replay and by snapshot loads (file and bytes), checked by ca_ledger_check. */
static void test_account_of_key(void **state)
{
    (void)state;
    fx f;
    fx_new(&f);
    const ca_agent_id K1 = id_of(f.k1), K2 = id_of(f.k2), X = fake(0x77);
    ca_agent_id out;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_account_of_key(NULL, &f.A, &out));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_account_of_key(f.l, NULL, &out));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_account_of_key(f.l, &f.A, NULL));
    /* Not bound: an account speaks for itself, anything else for nothing. */
    speaks_for(f.l, &f.A, CA_OK, &f.A);
    speaks_for(f.l, &K1, CA_ERR_LEDGER_UNKNOWN_ACCOUNT, NULL);
    speaks_for(f.l, &X, CA_ERR_LEDGER_UNKNOWN_ACCOUNT, NULL);
    sop s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.k0);
    assert_ok(submit(f.l, &s, NOW + 1));
    speaks_for(f.l, &f.A, CA_OK, &f.A); /* bound, not rotated: its id is its key */
    speaks_for(f.l, &K1, CA_ERR_LEDGER_UNKNOWN_ACCOUNT, NULL);

    /* B commits to k1 too (the same owner, or a copied commitment). */
    ca_identity *kb = key_n(41);
    const ca_agent_id B = id_of(kb);
    mint(f.l, &B, 10);
    uint8_t ib[CA_KEY_EVENT_MAX_BYTES], rb[CA_KEY_EVENT_MAX_BYTES];
    size_t ibn = 0, rbn = 0;
    incept_event(kb, f.k1, NOW, ib, &ibn);
    ca_key_history *hb = NULL;
    assert_ok(ca_key_history_new(&hb, ib, ibn));
    s = key_event_op(f.l, &B, ib, ibn, kb);
    assert_ok(submit(f.l, &s, NOW + 2));
    ca_hash cx = commit_of(f.other);
    assert_ok(ca_key_event_rotate(hb, f.k1, &cx, NOW + 5, rb, sizeof rb, &rbn));

    /* A rotates to k1: k1 speaks for A, A's id for nothing. */
    s = key_event_op(f.l, &f.A, f.rot, f.rot_len, f.k1);
    assert_ok(submit(f.l, &s, NOW + 10));
    speaks_for(f.l, &K1, CA_OK, &f.A);
    speaks_for(f.l, &f.A, CA_ERR_KEY_ROTATED, NULL);
    speaks_for(f.l, &B, CA_OK, &B);
    assert_int_equal(f.l->keys.by_key.count, 1);
    /* B's rotation to k1 is refused: k1 signs for A already (a key speaks for one identity). */
    sop rot_b = key_event_op(f.l, &B, rb, rbn, f.k1);
    refused(f.l, CA_ERR_KEY_EVENT_ORDER, &rot_b);
    speaks_for(f.l, &K1, CA_OK, &f.A);
    /* An account made for k1 (anyone can send it units) does not take A's place. */
    mint(f.l, &K1, 3);
    speaks_for(f.l, &K1, CA_OK, &f.A);
    assert_ok(ca_ledger_check(f.l));

    /* A rotates on to k2: k1 leaves the index and speaks for its own account now. */
    assert_ok(ca_key_history_append(f.hist, f.rot, f.rot_len));
    uint8_t r2[CA_KEY_EVENT_MAX_BYTES];
    size_t r2n = 0;
    assert_ok(ca_key_event_rotate(f.hist, f.k2, &cx, NOW + 20, r2, sizeof r2, &r2n));
    s = key_event_op(f.l, &f.A, r2, r2n, f.k2);
    assert_ok(submit(f.l, &s, NOW + 20));
    speaks_for(f.l, &K2, CA_OK, &f.A);
    speaks_for(f.l, &K1, CA_OK, &K1);
    speaks_for(f.l, &f.A, CA_ERR_KEY_ROTATED, NULL);
    assert_int_equal(f.l->keys.by_key.count, 1);
    /* Now B may rotate to k1 (k1 is nobody's current key any more). */
    rot_b = key_event_op(f.l, &B, rb, rbn, f.k1);
    assert_ok(submit(f.l, &rot_b, NOW + 21));
    speaks_for(f.l, &K1, CA_OK, &B);
    speaks_for(f.l, &B, CA_ERR_KEY_ROTATED, NULL);
    assert_int_equal(f.l->keys.by_key.count, 2);
    assert_ok(ca_ledger_check(f.l));

    /* The index is derived state: the state hash of a ledger holding it equals the hash of
     * the same records without it (snapshot bytes carry no index: the copy rebuilds it). */
    size_t sn = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(f.l, NULL, 0, &sn));
    uint8_t *snap = malloc(sn);
    assert_ok(ca_ledger_snapshot_export(f.l, snap, sn, &sn));
    ca_ledger *copy = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&copy, &f.o, snap, sn));
    same_hash(f.l, copy);
    speaks_for(copy, &K2, CA_OK, &f.A);
    speaks_for(copy, &K1, CA_OK, &B);
    speaks_for(copy, &f.A, CA_ERR_KEY_ROTATED, NULL);
    assert_int_equal(copy->keys.by_key.count, 2);
    assert_ok(ca_ledger_check(copy));
    /* A damaged index is found by the check. */
    (void)cai_idmap_remove(&copy->keys.by_key, K1.bytes, 1);
    assert_status(CA_ERR_LEDGER_INVARIANT, ca_ledger_check(copy));
    ca_ledger_free(copy);
    free(snap);

    /* Durable: the same events through the journal, then through a snapshot file. */
    char *dir = tmpdir();
    ca_ledger *d = NULL;
    assert_ok(ca_ledger_open(&d, dir, &f.o, NULL));
    mint(d, &f.A, 1000);
    s = key_event_op(d, &f.A, f.inc, f.inc_len, f.k0);
    assert_ok(submit(d, &s, NOW + 1));
    s = key_event_op(d, &f.A, f.rot, f.rot_len, f.k1);
    assert_ok(submit(d, &s, NOW + 10));
    s = key_event_op(d, &f.A, r2, r2n, f.k2);
    assert_ok(submit(d, &s, NOW + 20));
    assert_ok(ca_ledger_commit(d, NULL));
    ca_ledger_free(d);
    d = NULL;
    assert_ok(ca_ledger_open(&d, dir, &f.o, NULL)); /* journal replay */
    speaks_for(d, &K2, CA_OK, &f.A);
    speaks_for(d, &K1, CA_ERR_LEDGER_UNKNOWN_ACCOUNT, NULL); /* replaced, and no account */
    speaks_for(d, &f.A, CA_ERR_KEY_ROTATED, NULL);
    assert_int_equal(d->keys.by_key.count, 1);
    assert_ok(ca_ledger_check(d));
    assert_ok(ca_ledger_snapshot(d));
    ca_ledger_free(d);
    d = NULL;
    assert_ok(ca_ledger_open(&d, dir, &f.o, NULL)); /* snapshot file */
    speaks_for(d, &K2, CA_OK, &f.A);
    speaks_for(d, &f.A, CA_ERR_KEY_ROTATED, NULL);
    assert_int_equal(d->keys.by_key.count, 1);
    assert_ok(ca_ledger_check(d));
    ca_ledger_free(d);
    rmdir_all(dir);

    ca_key_history_free(hb);
    ca_identity_free(kb);
    fx_free(&f);
}

/* The lookup is one probe sequence of the reverse index, not a walk of the records: with 2000
 * rotated accounts, 2000 lookups of current keys and 2000 of strangers visit a few slots each
 * (load <= 1/2: about 1.5 for a hit, 2.5 for a miss on average). */
static void test_account_of_key_cost(void **state)
{
    (void)state;
    enum { N = 2000 };
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    /* Records made directly (signing 4000 events would only slow the test): the same fields a
     * rotation's commit writes, filed as the commit files them. */
    for (uint32_t i = 0; i < N; i++) {
        ca_agent_id acc = fake(0), key = fake(0);
        cai_store_le32(acc.bytes, i + 1);
        cai_store_le32(key.bytes + 4, i + 1);
        mint(l, &acc, 1);
        assert_ok(cai_ledger_keys_reserve(l));
        cai_keyrec *r = &l->keys.recs[l->keys.n];
        memset(r, 0, sizeof *r);
        r->account = acc;
        r->key = key;
        r->sequence = 1;
        cai_idmap_insert(&l->keys.index, acc.bytes, l->keys.n);
        cai_idmap_insert(&l->keys.by_key, key.bytes, l->keys.n);
        l->keys.n++;
    }
    uint64_t hit = 0, miss = 0;
    for (uint32_t i = 0; i < N; i++) {
        ca_agent_id key = fake(0), stranger = fake(0x99), acc;
        cai_store_le32(key.bytes + 4, i + 1);
        cai_store_le32(stranger.bytes, i);
        assert_int_equal(cai_ledger_account_of_key(l, &key, &acc, &hit), CAI_KEY_SIGNS);
        assert_int_equal(cai_load_le32(acc.bytes), i + 1);
        assert_int_equal(cai_ledger_account_of_key(l, &stranger, &acc, &miss), CAI_KEY_UNKNOWN);
    }
    assert_true(hit >= N && hit <= 3 * N);   /* mean <= 3 probes: no walk of 2000 records */
    assert_true(miss >= N && miss <= 6 * N); /* an unsuccessful find ends at an empty slot */
    ca_ledger_free(l);
}

/* ------------------------------------------------ routing and reputation follow the identity */

/* A card for `key`, offering "job.run" at price 100 and claiming `stake`. */
static ca_card *card_of(const ca_identity *key, uint64_t seq, uint64_t stake)
{
    const ca_card_capability caps[] = {{"job.run", 100, 0}};
    ca_card_params p;
    assert_ok(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION));
    p.name = "worker";
    p.endpoint = "nats://worker";
    p.stake = stake;
    p.not_before = NOW - 1000;
    p.not_after = NOW + 3600000;
    p.sequence = seq;
    p.capabilities = caps;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = 1;
    p.created_at = NOW;
    uint8_t buf[1024];
    size_t len = 0;
    assert_ok(ca_card_sign(key, &p, buf, sizeof buf, &len, NULL));
    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, len, NOW, NULL));
    return card;
}

static ca_routing_agent_info routed(const ca_routing *rt, const ca_agent_id *agent)
{
    ca_routing_agent_info i = {.version = CA_ROUTING_AGENT_INFO_VERSION};
    assert_ok(ca_routing_get(rt, agent, &i));
    return i;
}

/* "job.run" ranked with min_stake 1: the agents in order, their number. */
static size_t ranked(const ca_routing *rt, ca_agent_id *out)
{
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = "job.run";
    q.capability_len = 7;
    q.now = NOW;
    q.min_stake = 1;
    ca_routing_result r[4];
    size_t n = 0;
    assert_ok(ca_routing_select(rt, &q, r, sizeof r[0], 4, &n));
    for (size_t i = 0; i < n; i++)
        out[i] = r[i].agent;
    return n;
}

static uint32_t ppm_of(const ca_reputation *rep, const ca_agent_id *id)
{
    ca_reputation_score sc;
    assert_ok(ca_reputation_get(rep, id, &sc, sizeof sc));
    double e = sc.expected * (double)CA_LEDGER_PPM + 0.5;
    return e >= (double)CA_LEDGER_PPM ? CA_LEDGER_PPM : (uint32_t)e;
}

/* After A rotates from k0 to k1, its card signed by k1 ranks in routing with A's stake and
 * score (ca_routing_sync_stakes resolves the key to the account, ca_routing_sync_reputation
 * reads the account's score); its card signed by k0 is dropped at the sync, and again if it
 * comes back; reputation's stake sync gives a rating of k1 A's stake once. */
static void test_routing_follows_identity(void **state)
{
    (void)state;
    fx f;
    fx_new(&f);
    ca_identity *kc = key_n(60);
    const ca_agent_id C = id_of(kc), H = fake(0x48), K0 = f.A, K1 = id_of(f.k1);
    mint(f.l, &C, 1000);
    ca_ledger_op b = mkop(CA_LEDGER_OP_BOND, &f.A);
    b.amount = 300;
    trusted(f.l, b, NOW);
    b = mkop(CA_LEDGER_OP_BOND, &C);
    b.amount = 100;
    trusted(f.l, b, NOW);
    /* Reputation keeps ratings under accounts (ca_reputation_add_settled): A rated well, C
     * badly, by H. */
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, NULL));
    for (uint8_t i = 0; i < 6; i++) {
        ca_hash task;
        memset(task.bytes, i, sizeof task.bytes);
        assert_ok(ca_reputation_add_rating(rep, &task, &H, &f.A, 100, 100, NOW + i));
        task.bytes[0] = 0xC0;
        assert_ok(ca_reputation_add_rating(rep, &task, &H, &C, 0, 100, NOW + i));
    }
    assert_ok(ca_reputation_sync_stakes(rep, f.l, NOW));
    assert_ok(ca_reputation_update(rep, NOW + 10, NULL));
    const uint32_t a_ppm = ppm_of(rep, &f.A), c_ppm = ppm_of(rep, &C);
    assert_true(a_ppm > c_ppm);

    ca_routing_options ro;
    assert_ok(ca_routing_options_init(&ro, CA_ROUTING_OPTIONS_VERSION));
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, &ro));
    ca_card *old_card = card_of(f.k0, 1, 0), *new_card = card_of(f.k1, 1, 0);
    ca_card *c_card = card_of(kc, 1, 0);
    assert_ok(ca_routing_add_card(rt, old_card, NOW));
    assert_ok(ca_routing_add_card(rt, c_card, NOW));
    assert_ok(ca_routing_sync_stakes(rt, f.l, NOW));
    assert_ok(ca_routing_sync_reputation(rt, rep));
    assert_int_equal(routed(rt, &K0).stake, 300);
    assert_int_equal(routed(rt, &K0).reputation_ppm, a_ppm);

    /* Inception, then the rotation to k1; the owner publishes its card signed by k1. */
    sop s = key_event_op(f.l, &f.A, f.inc, f.inc_len, f.k0);
    assert_ok(submit(f.l, &s, NOW + 1));
    assert_ok(ca_routing_sync_stakes(rt, f.l, NOW)); /* bound, not rotated: nothing changes */
    assert_int_equal(routed(rt, &K0).stake, 300);
    s = key_event_op(f.l, &f.A, f.rot, f.rot_len, f.k1);
    assert_ok(submit(f.l, &s, NOW + 10));
    assert_ok(ca_routing_add_card(rt, new_card, NOW));
    /* Before the syncs: the new card has its claimed stake (0) and the default reputation. */
    ca_routing_agent_info i1 = routed(rt, &K1);
    assert_int_equal(i1.stake, 0);
    assert_int_equal(i1.reputation_ppm, ro.default_reputation_ppm);
    ca_agent_id order[4];
    size_t n = ranked(rt, order);
    assert_int_equal(n, 2); /* k0's card (stake 300) and C's; k1's has none */
    assert_memory_equal(order[0].bytes, K0.bytes, 32);

    /* The syncs: k1's card gets A's stake and score, k0's card is dropped. */
    assert_ok(ca_routing_sync_stakes(rt, f.l, NOW));
    assert_ok(ca_reputation_sync_stakes(rep, f.l, NOW));
    assert_ok(ca_reputation_update(rep, NOW + 20, NULL));
    assert_ok(ca_routing_sync_reputation(rt, rep));
    i1 = routed(rt, &K1);
    assert_int_equal(i1.stake, 300);
    assert_int_equal(i1.stake_from_ledger, 1);
    assert_int_equal(i1.reputation_ppm, ppm_of(rep, &f.A));
    assert_int_equal(i1.reputation_ppm, a_ppm);
    ca_routing_agent_info gone = {.version = CA_ROUTING_AGENT_INFO_VERSION};
    assert_status(CA_ERR_NOT_FOUND, ca_routing_get(rt, &K0, &gone));
    assert_int_equal(ca_routing_count(rt), 2);
    n = ranked(rt, order);
    assert_int_equal(n, 2);
    assert_memory_equal(order[0].bytes, K1.bytes, 32); /* A's stake and score rank it first */
    assert_memory_equal(order[1].bytes, C.bytes, 32);
    assert_int_equal(routed(rt, &C).stake, 100);
    assert_int_equal(routed(rt, &C).reputation_ppm, c_ppm);
    /* The old key's card, added again (adding reads no ledger), is dropped at the next sync. */
    assert_ok(ca_routing_add_card(rt, old_card, NOW));
    assert_int_equal(ca_routing_count(rt), 3);
    assert_ok(ca_routing_sync_stakes(rt, f.l, NOW));
    assert_status(CA_ERR_NOT_FOUND, ca_routing_get(rt, &K0, &gone));
    assert_int_equal(ca_routing_count(rt), 2);
    assert_int_equal(routed(rt, &K1).stake, 300);
    /* A replaced card of k1 keeps A's stake and score. */
    ca_card *new_card2 = card_of(f.k1, 2, 0);
    assert_ok(ca_routing_add_card(rt, new_card2, NOW));
    assert_ok(ca_routing_sync_reputation(rt, rep));
    assert_int_equal(routed(rt, &K1).stake, 300);
    assert_int_equal(routed(rt, &K1).reputation_ppm, a_ppm);

    /* Reputation: A keeps its stake (ratings are filed under it); k1 rated as well gets none
     * (the identity's stake is counted once, under its account) ... */
    ca_reputation_score sc;
    assert_ok(ca_reputation_get(rep, &f.A, &sc, sizeof sc));
    assert_int_equal(sc.stake, 300);
    ca_hash t9;
    memset(t9.bytes, 0x99, sizeof t9.bytes);
    assert_ok(ca_reputation_add_rating(rep, &t9, &H, &K1, 100, 100, NOW + 30));
    assert_ok(ca_reputation_sync_stakes(rep, f.l, NOW));
    assert_ok(ca_reputation_update(rep, NOW + 40, NULL));
    assert_ok(ca_reputation_get(rep, &K1, &sc, sizeof sc));
    assert_int_equal(sc.stake, 0);
    assert_ok(ca_reputation_get(rep, &f.A, &sc, sizeof sc));
    assert_int_equal(sc.stake, 300);
    /* ... and in a handle that knows k1 only, k1 gets A's stake. */
    ca_reputation *rep2 = NULL;
    assert_ok(ca_reputation_new(&rep2, NULL));
    assert_ok(ca_reputation_add_rating(rep2, &t9, &H, &K1, 100, 100, NOW + 30));
    assert_ok(ca_reputation_sync_stakes(rep2, f.l, NOW));
    assert_ok(ca_reputation_update(rep2, NOW + 40, NULL));
    assert_ok(ca_reputation_get(rep2, &K1, &sc, sizeof sc));
    assert_int_equal(sc.stake, 300);

    ca_reputation_free(rep2);
    ca_card_free(new_card2);
    ca_card_free(old_card);
    ca_card_free(new_card);
    ca_card_free(c_card);
    ca_routing_free(rt);
    ca_reputation_free(rep);
    ca_identity_free(kc);
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovery_drill),
        cmocka_unit_test(test_inception_rules),
        cmocka_unit_test(test_rotation_rules),
        cmocka_unit_test(test_old_keys_sign_nothing),
        cmocka_unit_test(test_rotation_cost),
        cmocka_unit_test(test_max_sizes_and_v5),
        cmocka_unit_test(test_account_of_key),
        cmocka_unit_test(test_account_of_key_cost),
        cmocka_unit_test(test_routing_follows_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
