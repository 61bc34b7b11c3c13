/*
 * Spending through a delegation in the ledger (ledger.h, DELEGATION;
 * docs/LEDGER.md, "Delegation"): delegated ops, their checks D1..D8 and
 * their order, the cap records, the leaf nonce, REVOKE and its position in
 * the log (also after a reopen from the journal and from a snapshot), the
 * records' bounds, adversarial chains, and a differential test against a
 * plain model of the caps.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cyberagent.h"
#include "identity/identity_internal.h"
#include "ledger/ledger_internal.h"
#include "test_util.h"

enum { AUTH, DLG, B, C, E, F, W, R, X, N_IDS };
enum { T0 = 1000000, LIFE = 100000, BIG = 20000 };

static ca_identity *ids[N_IDS];
static ca_agent_id aid[N_IDS];

static int setup(void **state)
{
    (void)state;
    return test_keys_new(ids, aid, N_IDS, 0xD1, 0x6A);
}

static int teardown(void **state)
{
    (void)state;
    return test_keys_free(ids, N_IDS);
}

static ca_ledger_options opts(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = aid[AUTH];
    o.max_delegation_lifetime = LIFE;
    return o;
}

/* ---- links and chains ---- */

typedef struct dlink {
    uint8_t bytes[1600];
    size_t len;
    ca_hash id;
} dlink;

typedef struct terms {
    const char *caps[4];
    uint64_t total, task, created, expires, nonce;
} terms;

static dlink mklink(int issuer, int audience, terms t, const dlink *parent)
{
    dlink k;
    ca_delegation_params p;
    assert_ok(ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION));
    p.audience = &aid[audience];
    size_t n = 0;
    while (n < 4 && t.caps[n] != NULL)
        n++;
    p.capabilities = t.caps;
    p.capability_count = n;
    p.total_cap = t.total;
    p.task_cap = t.task;
    p.created_at = t.created;
    p.not_before = t.created;
    p.expires_at = t.expires;
    p.nonce = t.nonce;
    p.parent = parent != NULL ? &parent->id : NULL;
    assert_ok(ca_delegation_sign(ids[issuer], &p, k.bytes, sizeof k.bytes, &k.len, &k.id));
    return k;
}

/* Transfer rights: total, task, valid from T0 - 10 to `expires`. */
static terms xfer_terms(uint64_t total, uint64_t task, uint64_t expires)
{
    terms t = {{CA_LEDGER_CAPABILITY_TRANSFER, CA_LEDGER_CAPABILITY_ESCROW, NULL},
               total,
               task,
               T0 - 10,
               expires,
               0};
    return t;
}

typedef struct chain {
    const uint8_t *p[12];
    size_t n[12];
    size_t count;
} chain;

static chain chain_of(const dlink *a, const dlink *b, const dlink *c)
{
    chain ch = {.count = 0};
    const dlink *all[3] = {a, b, c};
    for (int i = 0; i < 3 && all[i] != NULL; i++) {
        ch.p[ch.count] = all[i]->bytes;
        ch.n[ch.count++] = all[i]->len;
    }
    return ch;
}

/* ---- ops ---- */

static ca_ledger_op mkop(uint32_t type, int signer, uint64_t nonce)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = aid[signer];
    op.nonce = nonce;
    return op;
}

static ca_ledger_op transfer(int from, int to, uint64_t amount, uint64_t nonce)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, from, nonce);
    op.counterparty = aid[to];
    op.amount = amount;
    return op;
}

static uint64_t account_nonce(const ca_ledger *l, int who)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return ca_ledger_account(l, &aid[who], &a) == CA_OK ? a.nonce : 0;
}

static uint64_t balance(const ca_ledger *l, int who)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return ca_ledger_account(l, &aid[who], &a) == CA_OK ? a.balance : 0;
}

/* A direct op signed by its signer (next nonce), submitted at now. */
static ca_status direct(ca_ledger *l, ca_ledger_op op, uint64_t now)
{
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    int who = 0;
    while (who + 1 < N_IDS && memcmp(aid[who].bytes, op.signer.bytes, 32) != 0)
        who++;
    assert_memory_equal(aid[who].bytes, op.signer.bytes, 32);
    op.nonce = account_nonce(l, who) + 1;
    uint8_t buf[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    assert_ok(ca_ledger_op_sign(&lid, &op, ids[who], NULL, buf, sizeof buf, &n));
    return ca_ledger_submit(l, buf, n, now, NULL);
}

static void mint(ca_ledger *l, int to, uint64_t amount)
{
    ca_ledger_op op = transfer(AUTH, to, amount, 0);
    op.type = CA_LEDGER_OP_MINT;
    assert_ok(direct(l, op, T0));
}

static ca_ledger *world(const ca_ledger_options *o)
{
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, o));
    mint(l, DLG, 1000);
    mint(l, X, 10);
    mint(l, B, 10);
    return l;
}

static size_t sign_del(const ca_ledger *l, int delegate, const chain *ch, const ca_ledger_op *op,
                       uint8_t *out, size_t cap)
{
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    size_t n = 0;
    assert_ok(ca_ledger_op_sign_delegated(&lid, op, ids[delegate], NULL, ch->p, ch->n, ch->count,
                                          out, cap, &n));
    return n;
}

/* Signs with the delegate and submits; the state is unchanged when refused. */
static ca_status dsubmit(ca_ledger *l, int delegate, const chain *ch, const ca_ledger_op *op,
                         uint64_t now)
{
    uint8_t buf[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    size_t n = sign_del(l, delegate, ch, op, buf, sizeof buf);
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    ca_status st = ca_ledger_submit(l, buf, n, now, NULL);
    if (st != CA_OK) {
        assert_ok(ca_ledger_state_hash(l, &after));
        assert_memory_equal(before.bytes, after.bytes, 32);
    }
    assert_ok(ca_ledger_check(l));
    return st;
}

/* Delegated bytes of any op, signed by key `k` over the delegated tag and `leaf`, without the
 * checks of ca_ledger_op_sign_delegated (what a hostile peer can send). */
static size_t raw_del(const ca_ledger *l, const ca_ledger_op *op, int k, const chain *ch,
                      const ca_hash *leaf, uint8_t *out, size_t cap)
{
    static const char tag[] = "cyberagent/1/ledger-op-delegated";
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES], buf[CA_LEDGER_OP_MAX_BYTES + 128];
    size_t n = 0;
    assert_ok(cai_ledger_op_encode(op, enc, sizeof enc, &n));
    memcpy(buf, tag, sizeof tag - 1);
    memcpy(buf + sizeof tag - 1, lid.bytes, 32);
    memcpy(buf + sizeof tag - 1 + 32, enc, n);
    memcpy(buf + sizeof tag - 1 + 32 + n, leaf->bytes, 32);
    ca_signature sig;
    assert_ok(cai_identity_sign(ids[k], buf, sizeof tag - 1 + 64 + n, &sig));
    size_t len = 0;
    assert_ok(cai_ledger_op_encode_signed_chain(op, sig.bytes, NULL, ch->p, ch->n, ch->count, out,
                                                cap, &len));
    return len;
}

static ca_status raw_submit(ca_ledger *l, const ca_ledger_op *op, int k, const chain *ch,
                            const ca_hash *leaf, uint64_t now)
{
    uint8_t buf[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    size_t n = raw_del(l, op, k, ch, leaf, buf, sizeof buf);
    return ca_ledger_submit(l, buf, n, now, NULL);
}

static ca_ledger_delegation_info record(const ca_ledger *l, const ca_hash *id)
{
    ca_ledger_delegation_info d = {.version = CA_LEDGER_DELEGATION_INFO_VERSION};
    assert_ok(ca_ledger_delegation(l, id, &d));
    return d;
}

/* Signs `op` for its signer's account with key `k` (a rotated account's current key) and submits
 * it with `att` attached when given (a KEY_EVENT's event). */
static ca_status with_key(ca_ledger *l, ca_ledger_op op, int k, const uint8_t *att, size_t att_len,
                          uint64_t now)
{
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(l, &op.signer, &a));
    op.nonce = a.nonce + 1;
    uint8_t buf[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    assert_ok(ca_ledger_op_sign_with_key(&lid, &op, ids[k], NULL, NULL, buf, sizeof buf, &n));
    return att != NULL ? ca_ledger_submit_evidence(l, buf, n, att, att_len, now, NULL)
                       : ca_ledger_submit(l, buf, n, now, NULL);
}

/* A KEY_EVENT for DLG's account carrying `ev`, signed by key `k`. */
static ca_status key_event(ca_ledger *l, const uint8_t *ev, size_t len, int k, uint64_t now)
{
    ca_key_event_info info = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(ev, len, &info));
    ca_ledger_op op = mkop(CA_LEDGER_OP_KEY_EVENT, DLG, 0);
    op.ref = info.digest;
    op.amount = info.sequence;
    return with_key(l, op, k, ev, len, now);
}

/*
 * A delegator that rotates its key: chains its replaced key issued spend nothing from the
 * rotation on (CA_ERR_KEY_ROTATED), chains its current key issues spend for the same account,
 * and its REVOKE (signed with the current key, filed under the account) has force over them.
 */
static void test_rotated_delegator(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = world(&o);
    const terms t = xfer_terms(500, 100, T0 + 50000);
    dlink old = mklink(DLG, B, t, NULL);
    chain ch_old = chain_of(&old, NULL, NULL);
    ca_ledger_op op = transfer(DLG, X, 10, 1);
    assert_ok(dsubmit(l, B, &ch_old, &op, T0 + 1));

    /* DLG binds its account (next key: F's) and rotates to F (next: E's). */
    ca_hash next;
    uint8_t inc[CA_KEY_EVENT_MAX_BYTES], rot[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len = 0, rot_len = 0;
    assert_ok(ca_key_commitment(&aid[F], &next));
    assert_ok(ca_key_event_incept(ids[DLG], &next, T0 + 2, inc, sizeof inc, &inc_len));
    assert_ok(key_event(l, inc, inc_len, DLG, T0 + 2));
    ca_key_history *h = NULL;
    assert_ok(ca_key_history_new(&h, inc, inc_len));
    assert_ok(ca_key_commitment(&aid[E], &next));
    assert_ok(ca_key_event_rotate(h, ids[F], &next, T0 + 3, rot, sizeof rot, &rot_len));
    assert_ok(key_event(l, rot, rot_len, F, T0 + 3));

    /* The replaced key's chain spends nothing now. */
    op.nonce = 2;
    assert_status(CA_ERR_KEY_ROTATED, dsubmit(l, B, &ch_old, &op, T0 + 4));
    /* The current key's chain spends from the same account. */
    const uint64_t before = balance(l, DLG);
    dlink cur = mklink(F, B, t, NULL);
    chain ch_cur = chain_of(&cur, NULL, NULL);
    op.nonce = 1;
    assert_ok(dsubmit(l, B, &ch_cur, &op, T0 + 5));
    assert_int_equal(balance(l, DLG), before - 10);
    /* The account revokes it with its current key: the REVOKE is filed under the account, the
     * link's issuer is the key; it has force. */
    ca_ledger_op rv = mkop(CA_LEDGER_OP_REVOKE, DLG, 0);
    rv.ref = cur.id;
    assert_ok(with_key(l, rv, F, NULL, 0, T0 + 6));
    op.nonce = 2;
    assert_status(CA_ERR_DELEGATION_REVOKED, dsubmit(l, B, &ch_cur, &op, T0 + 7));
    assert_ok(ca_ledger_check(l));
    ca_key_history_free(h);
    ca_ledger_free(l);
}

/* ------------------------------------------------------------------ tests */

/* A delegate spends the delegator's balance; the delegator's own nonce is untouched; the
 * records hold spent and the leaf's nonce; decoding reports the leaf id. */
static void test_delegated_transfer(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = world(&o);
    dlink root = mklink(DLG, B, xfer_terms(100, 40, T0 + 5000), NULL);
    chain ch = chain_of(&root, NULL, NULL);
    const uint64_t dn = account_nonce(l, DLG);
    ca_ledger_op op = transfer(DLG, R, 30, 1);
    assert_ok(dsubmit(l, B, &ch, &op, T0));
    assert_int_equal(balance(l, DLG), 970);
    assert_int_equal(balance(l, R), 30);
    assert_int_equal(account_nonce(l, DLG), dn);
    ca_ledger_delegation_info d = record(l, &root.id);
    assert_int_equal(d.spent, 30);
    assert_int_equal(d.total_cap, 100);
    assert_int_equal(d.nonce, 1);
    assert_int_equal(d.expires_at, T0 + 5000);
    /* The delegator keeps its own nonce sequence: no race with its delegate. */
    assert_ok(direct(l, transfer(DLG, R, 1, 0), T0));
    assert_int_equal(account_nonce(l, DLG), dn + 1);
    op.nonce = 2;
    assert_ok(dsubmit(l, B, &ch, &op, T0 + 1));
    /* Replayed: a duplicate of the leaf's nonce; skipping ahead: bad nonce. */
    assert_status(CA_ERR_LEDGER_DUPLICATE, dsubmit(l, B, &ch, &op, T0 + 2));
    op.nonce = 4;
    assert_status(CA_ERR_LEDGER_BAD_NONCE, dsubmit(l, B, &ch, &op, T0 + 2));

    /* Decoding: version 2 gets the leaf's id, version 1 has no such field (not written). */
    uint8_t buf[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    op.nonce = 3;
    size_t n = sign_del(l, B, &ch, &op, buf, sizeof buf);
    ca_ledger_op back = {.version = CA_LEDGER_OP_VERSION};
    assert_ok(ca_ledger_op_decode(buf, n, &back));
    assert_memory_equal(back.delegation.bytes, root.id.bytes, 32);
    struct {
        ca_ledger_op op;
        uint8_t guard[8];
    } v1;
    memset(&v1, 0xEE, sizeof v1);
    v1.op.version = 1;
    assert_ok(ca_ledger_op_decode(buf, n, &v1.op));
    const uint8_t *tail = (const uint8_t *)&v1.op + offsetof(ca_ledger_op, delegation);
    for (size_t i = 0; i < sizeof(ca_hash); i++)
        assert_int_equal(tail[i], 0xEE);
    assert_int_equal(v1.op.amount, 30);
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    assert_ok(ca_ledger_op_verify(&lid, buf, n));
    /* A trusted op cannot name a delegation (only signed bytes carry a chain). */
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_apply(l, &back, T0 + 3, NULL));
    /* A version 1 op passed to apply is read up to its last field. */
    ca_ledger_op t1 = transfer(DLG, R, 1, account_nonce(l, DLG) + 1);
    t1.version = 1;
    assert_ok(ca_ledger_apply(l, &t1, T0 + 3, NULL));
    ca_ledger_free(l);
}

/* Caps: each link's task cap bounds one spend, its total the sum; all-or-nothing over the
 * links; a refund gives nothing back; RELEASE spends 0 but moves the leaf's nonce. */
static void test_caps(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = world(&o);
    mint(l, W, 100);
    dlink root = mklink(DLG, B, xfer_terms(100, 40, T0 + 5000), NULL);
    dlink sub = mklink(B, C, xfer_terms(60, 40, T0 + 4000), &root);
    chain rb = chain_of(&root, NULL, NULL), rc = chain_of(&root, &sub, NULL);
    ca_ledger_op op = transfer(DLG, R, 41, 1);
    assert_status(CA_ERR_LEDGER_CAP_EXCEEDED, dsubmit(l, B, &rb, &op, T0));
    op.amount = 40;
    assert_ok(dsubmit(l, C, &rc, &op, T0)); /* root 40, sub 40 */
    op.amount = 30;
    op.nonce = 2;
    assert_status(CA_ERR_LEDGER_CAP_EXCEEDED, dsubmit(l, C, &rc, &op, T0)); /* sub: 70 > 60 */
    op.amount = 20;
    assert_ok(dsubmit(l, C, &rc, &op, T0)); /* root 60, sub 60 */
    op.nonce = 1;
    op.amount = 40;
    assert_ok(dsubmit(l, B, &rb, &op, T0)); /* root 100 */
    op.nonce = 2;
    op.amount = 1;
    assert_status(CA_ERR_LEDGER_CAP_EXCEEDED, dsubmit(l, B, &rb, &op, T0));
    assert_int_equal(record(l, &root.id).spent, 100);
    assert_int_equal(record(l, &sub.id).spent, 60);
    assert_int_equal(record(l, &root.id).nonce, 1); /* as the leaf of B's op */
    assert_int_equal(record(l, &sub.id).nonce, 2);
    assert_int_equal(balance(l, DLG), 900);

    /* Escrow through a fresh root: ESCROW_OPEN spends the payment, REFUND gives no cap back. */
    dlink r2 = mklink(DLG, E, xfer_terms(50, 50, T0 + 5000), NULL);
    chain ce = chain_of(&r2, NULL, NULL);
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    ca_ledger_op eo = mkop(CA_LEDGER_OP_ESCROW_OPEN, DLG, 1);
    eo.counterparty = aid[W];
    memset(eo.ref.bytes, 0xA1, 32);
    eo.amount = 30;
    eo.amount2 = 5;
    eo.deadline = T0 + 100;
    ca_signature cosig;
    assert_ok(ca_ledger_op_cosign(&lid, &eo, ids[W], &cosig));
    uint8_t buf[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    size_t n = 0;
    assert_ok(
        ca_ledger_op_sign_delegated(&lid, &eo, ids[E], &cosig, ce.p, ce.n, 1, buf, sizeof buf, &n));
    assert_ok(ca_ledger_submit(l, buf, n, T0, NULL));
    ca_ledger_escrow_info ei = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_ok(ca_ledger_escrow(l, &eo.ref, &ei));
    assert_memory_equal(ei.hirer.bytes, aid[DLG].bytes, 32);
    ca_ledger_op rf = mkop(CA_LEDGER_OP_ESCROW_REFUND, DLG, 2);
    rf.ref = eo.ref;
    assert_ok(dsubmit(l, E, &ce, &rf, T0 + 101));
    assert_int_equal(record(l, &r2.id).spent, 30);
    assert_int_equal(record(l, &r2.id).nonce, 2);
    eo.nonce = 3;
    memset(eo.ref.bytes, 0xA2, 32);
    eo.deadline = T0 + 300;
    assert_ok(ca_ledger_op_cosign(&lid, &eo, ids[W], &cosig));
    assert_ok(
        ca_ledger_op_sign_delegated(&lid, &eo, ids[E], &cosig, ce.p, ce.n, 1, buf, sizeof buf, &n));
    assert_status(CA_ERR_LEDGER_CAP_EXCEEDED, ca_ledger_submit(l, buf, n, T0 + 102, NULL));
    /* The signer refuses what the ledger would: another type, another delegate. */
    ca_ledger_op bond = mkop(CA_LEDGER_OP_BOND, DLG, 3);
    bond.amount = 1;
    assert_status(
        CA_ERR_LEDGER_UNAUTHORIZED,
        ca_ledger_op_sign_delegated(&lid, &bond, ids[E], NULL, ce.p, ce.n, 1, buf, sizeof buf, &n));
    assert_status(
        CA_ERR_INVALID_ARGUMENT,
        ca_ledger_op_sign_delegated(&lid, &rf, ids[C], NULL, ce.p, ce.n, 1, buf, sizeof buf, &n));
    ca_ledger_free(l);
}

/*
 * The order D1..D8 then the row (ledger.h): each check alone answers its status, and each
 * adjacent pair answers the earlier one. Built with raw bytes, so the signer's own checks
 * do not stand in the way.
 */
typedef struct dcase {
    ca_ledger_op op;
    int key;
    dlink links[3];
    size_t count;
    uint64_t now;
    int revoke; /* a REVOKE of link 0 by DLG first */
    int drain;  /* the delegator's balance down to 5 first */
    uint32_t max_records;
} dcase;

static dcase base_case(void)
{
    dcase c;
    memset(&c, 0, sizeof c);
    c.op = transfer(DLG, R, 10, 1);
    c.key = B;
    c.links[0] = mklink(DLG, B, xfer_terms(100, 40, T0 + 5000), NULL);
    c.count = 1;
    c.now = T0;
    c.max_records = 100;
    return c;
}

static ca_status run_case(const dcase *c)
{
    ca_ledger_options o = opts();
    o.max_delegation_records = c->max_records;
    ca_ledger *l = world(&o);
    if (c->revoke) {
        ca_ledger_op rv = mkop(CA_LEDGER_OP_REVOKE, DLG, 0);
        rv.ref = c->links[0].id;
        assert_ok(direct(l, rv, T0));
    }
    if (c->drain)
        assert_ok(direct(l, transfer(DLG, X, balance(l, DLG) - 5, 0), T0));
    chain ch = {.count = c->count};
    for (size_t i = 0; i < c->count; i++) {
        ch.p[i] = c->links[i].bytes;
        ch.n[i] = c->links[i].len;
    }
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    ca_status st = raw_submit(l, &c->op, c->key, &ch, &c->links[c->count - 1].id, c->now);
    if (st != CA_OK) {
        assert_ok(ca_ledger_state_hash(l, &after));
        assert_memory_equal(before.bytes, after.bytes, 32);
    }
    ca_ledger_free(l);
    return st;
}

static void d1_type(dcase *c)
{
    c->op.type = CA_LEDGER_OP_BOND;
    memset(&c->op.counterparty, 0, 32);
}
static void d2_root(dcase *c)
{
    c->links[0] = mklink(X, B, xfer_terms(100, 40, T0 + 5000), NULL);
}
static void d3_life(dcase *c)
{
    c->links[0] = mklink(DLG, B, xfer_terms(100, 40, T0 - 10 + LIFE + 1), NULL);
}
static void d4_cap(dcase *c)
{
    terms t = xfer_terms(100, 40, T0 + 5000);
    t.caps[0] = "ledger.other";
    t.caps[1] = NULL;
    c->links[0] = mklink(DLG, B, t, NULL);
}
static void d5_expired(dcase *c)
{
    c->now = T0 + 5001;
}
static void d5_revoked(dcase *c)
{
    c->revoke = 1;
}
static void d6_nonce(dcase *c)
{
    c->op.nonce = 2;
}
static void d7_caps(dcase *c)
{
    c->op.amount = 41;
}
static void d8_records(dcase *c)
{
    c->max_records = 0 + 1;
    c->links[1] = mklink(B, C, xfer_terms(100, 40, T0 + 4000), &c->links[0]);
    c->count = 2;
    c->key = C;
}
static void row_funds(dcase *c)
{
    c->drain = 1;
}

static void test_check_order(void **state)
{
    (void)state;
    typedef struct step {
        void (*edit)(dcase *);
        ca_status status;
    } step;
    /* In the order the ledger runs them (docs/LEDGER.md, "Delegation"). */
    const step steps[] = {
        {d1_type, CA_ERR_LEDGER_UNAUTHORIZED},
        {d2_root, CA_ERR_LEDGER_UNAUTHORIZED},
        {d3_life, CA_ERR_LIMIT},
        {d4_cap, CA_ERR_DELEGATION_CAPABILITY},
        {d5_expired, CA_ERR_EXPIRED},
        {d5_revoked, CA_ERR_DELEGATION_REVOKED},
        {d6_nonce, CA_ERR_LEDGER_BAD_NONCE},
        {d7_caps, CA_ERR_LEDGER_CAP_EXCEEDED},
        {d8_records, CA_ERR_LIMIT},
        {row_funds, CA_ERR_LEDGER_INSUFFICIENT_FUNDS},
    };
    const size_t n = sizeof steps / sizeof steps[0];
    dcase ok = base_case();
    assert_status_value(CA_OK, run_case(&ok));
    for (size_t i = 0; i < n; i++) {
        dcase c = base_case();
        steps[i].edit(&c);
        assert_status_value(steps[i].status, run_case(&c));
    }
    /* Pairs where the later step's edit leaves the earlier one's failing (i < j, the edit of
     * j first): the earlier one answers. */
    size_t pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            /* Edits that rewrite the same link cannot be combined. */
            const int links_i = steps[i].edit == d2_root || steps[i].edit == d3_life ||
                                steps[i].edit == d4_cap || steps[i].edit == d8_records;
            const int links_j = steps[j].edit == d2_root || steps[j].edit == d3_life ||
                                steps[j].edit == d4_cap || steps[j].edit == d8_records;
            if (links_i && links_j)
                continue;
            dcase c = base_case();
            steps[j].edit(&c);
            steps[i].edit(&c);
            ca_status got = run_case(&c);
            if (got != steps[i].status)
                fail_msg("steps %zu and %zu: %s, expected %s", i + 1, j + 1, ca_status_str(got),
                         ca_status_str(steps[i].status));
            pairs++;
        }
    print_message("delegated op check order: %zu pairs\n", pairs);
    assert_true(pairs >= 25);
}

/* Hostile chains: depth 9, a root not issued by op.signer, a chain for another delegate, a
 * widened link, an op signed by the delegator over the plain tag with a chain. */
static void test_adversarial_chains(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = world(&o);
    ca_ledger_op op = transfer(DLG, R, 5, 1);
    /* Depth 9: DLG -> B -> C -> B -> ... */
    dlink ls[9];
    const int who[10] = {DLG, B, C, B, C, B, C, B, C, B};
    for (int i = 0; i < 9; i++)
        ls[i] = mklink(who[i], who[i + 1], xfer_terms(100, 40, T0 + 5000 - (uint64_t)i),
                       i > 0 ? &ls[i - 1] : NULL);
    chain deep = {.count = 9};
    for (int i = 0; i < 9; i++) {
        deep.p[i] = ls[i].bytes;
        deep.n[i] = ls[i].len;
    }
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    uint8_t buf[CA_LEDGER_DELEGATED_OP_MAX_BYTES + 2048];
    size_t n = 0;
    assert_status(CA_ERR_LIMIT, ca_ledger_op_sign_delegated(&lid, &op, ids[B], NULL, deep.p, deep.n,
                                                            9, buf, sizeof buf, &n));
    assert_status(CA_ERR_LIMIT, cai_ledger_op_encode_signed_chain(&op, buf, NULL, deep.p, deep.n, 9,
                                                                  buf + 8192, 8192, &n));
    /* Depth 8 applies; the same bytes with a ninth element spliced into the array are
     * malformed (the array holds at most 8). */
    deep.count = 8;
    n = raw_del(l, &op, C, &deep, &ls[7].id, buf, sizeof buf);
    uint8_t *arr = NULL;
    for (size_t i = 0; i + 2 < n; i++)
        if (buf[i] == 0x0c && buf[i + 1] == 0x98 && (buf[i + 2] == 0xc4 || buf[i + 2] == 0xc5)) {
            arr = buf + i + 1;
            break;
        }
    assert_non_null(arr);
    uint8_t spliced[sizeof buf];
    const size_t sig_tail = 67; /* key 15, bin8 header, 64 bytes */
    size_t m = 0;
    memcpy(spliced, buf, n - sig_tail);
    m = n - sig_tail;
    spliced[arr - buf] = 0x99;
    if (ls[8].len > 255) {
        spliced[m++] = 0xc5;
        spliced[m++] = (uint8_t)(ls[8].len >> 8);
    } else {
        spliced[m++] = 0xc4;
    }
    spliced[m++] = (uint8_t)ls[8].len;
    memcpy(spliced + m, ls[8].bytes, ls[8].len);
    m += ls[8].len;
    memcpy(spliced + m, buf + n - sig_tail, sig_tail);
    m += sig_tail;
    ca_ledger_op back = {.version = CA_LEDGER_OP_VERSION};
    assert_status(CA_ERR_MALFORMED, ca_ledger_op_decode(spliced, m, &back));
    assert_status(CA_ERR_MALFORMED, ca_ledger_submit(l, spliced, m, T0, NULL));
    assert_ok(ca_ledger_submit(l, buf, n, T0, NULL));
    assert_int_equal(l->n_dlg, 8);

    /* A root issued by someone else than op.signer: X hands B a right over DLG's balance. */
    dlink xr = mklink(X, B, xfer_terms(100, 40, T0 + 5000), NULL);
    chain cx = chain_of(&xr, NULL, NULL);
    ca_ledger_op o2 = transfer(DLG, R, 5, 1);
    /* The signer cannot know the account's current key, so signing works; the ledger refuses
     * (D2). */
    assert_ok(
        ca_ledger_op_sign_delegated(&lid, &o2, ids[B], NULL, cx.p, cx.n, 1, buf, sizeof buf, &n));
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, ca_ledger_submit(l, buf, n, T0, NULL));
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, raw_submit(l, &o2, B, &cx, &xr.id, T0));
    /* A chain for another delegate: C signs with B's chain. */
    terms tb = xfer_terms(100, 40, T0 + 5000);
    tb.nonce = 1; /* not the root of the deep chain above */
    dlink rb = mklink(DLG, B, tb, NULL);
    chain cb = chain_of(&rb, NULL, NULL);
    assert_status(CA_ERR_BAD_SIGNATURE, raw_submit(l, &o2, C, &cb, &rb.id, T0));
    /* The right leaf id is part of what is signed: another leaf's id fails. */
    assert_status(CA_ERR_BAD_SIGNATURE, raw_submit(l, &o2, B, &cb, &xr.id, T0));
    /* A widened link: B passes on more than it got. */
    dlink wide = mklink(B, C, xfer_terms(200, 40, T0 + 4000), &rb);
    chain cw = chain_of(&rb, &wide, NULL);
    assert_status(CA_ERR_DELEGATION_TOTAL_CAP, raw_submit(l, &o2, C, &cw, &wide.id, T0));
    terms longer = xfer_terms(100, 40, T0 + 6000);
    dlink late = mklink(B, C, longer, &rb);
    chain cl = chain_of(&rb, &late, NULL);
    assert_status(CA_ERR_DELEGATION_WINDOW, raw_submit(l, &o2, C, &cl, &late.id, T0));
    /* A link whose signature is broken (one byte of it flipped). */
    dlink bad = rb;
    bad.bytes[bad.len - 1] ^= 1;
    chain cbad = chain_of(&bad, NULL, NULL);
    assert_status(CA_ERR_BAD_SIGNATURE, raw_submit(l, &o2, B, &cbad, &rb.id, T0));
    /* None of them left a record. */
    assert_int_equal(l->n_dlg, 8);
    assert_status(
        CA_ERR_LEDGER_UNKNOWN_DELEGATION,
        ca_ledger_delegation(
            l, &rb.id, &(ca_ledger_delegation_info){.version = CA_LEDGER_DELEGATION_INFO_VERSION}));
    ca_ledger_free(l);
}

/* ---- revocation from its position in the log on ---- */

static char dir[256];

static void rm_dir(void)
{
    char p[400];
    const char *names[] = {"journal", "snapshot", "snapshot.restore"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

static ca_ledger *open_dir(const ca_ledger_options *o)
{
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, o, NULL));
    return l;
}

static size_t sign_direct(const ca_ledger *l, ca_ledger_op op, int who, uint8_t *out, size_t cap)
{
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    size_t n = 0;
    assert_ok(ca_ledger_op_sign(&lid, &op, ids[who], NULL, out, cap, &n));
    return n;
}

static void test_revocation_position(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_dlg_%ld", CA_TEST_TMP_DIR, (long)getpid());
    rm_dir();
    cai_ledger_sync_disabled = 1;
    ca_ledger_options o = opts();
    ca_ledger *l = open_dir(&o);
    mint(l, DLG, 1000);
    mint(l, X, 10);
    mint(l, B, 10);
    dlink root = mklink(DLG, B, xfer_terms(500, 100, T0 + 50000), NULL);
    dlink sub = mklink(B, C, xfer_terms(300, 100, T0 + 40000), &root);
    chain rb = chain_of(&root, NULL, NULL), rc = chain_of(&root, &sub, NULL);
    static uint8_t bufs[8][CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    size_t lens[8];
    ca_ledger_op t = transfer(DLG, R, 10, 1);
    lens[0] = sign_del(l, C, &rc, &t, bufs[0], sizeof bufs[0]); /* C, nonce 1: before */
    ca_ledger_op rv = mkop(CA_LEDGER_OP_REVOKE, X, account_nonce(l, X) + 1);
    rv.ref = sub.id;
    lens[1] = sign_direct(l, rv, X, bufs[1], sizeof bufs[1]); /* a stranger: no force */
    t.nonce = 2;
    lens[2] = sign_del(l, C, &rc, &t, bufs[2], sizeof bufs[2]); /* applies */
    rv = mkop(CA_LEDGER_OP_REVOKE, B, account_nonce(l, B) + 1);
    rv.ref = sub.id;
    lens[3] = sign_direct(l, rv, B, bufs[3], sizeof bufs[3]); /* B cuts what it passed on */
    t.nonce = 3;
    lens[4] = sign_del(l, C, &rc, &t, bufs[4], sizeof bufs[4]); /* refused: revoked */
    t.nonce = 1;
    lens[5] = sign_del(l, B, &rb, &t, bufs[5], sizeof bufs[5]); /* B's own right stands */
    ca_ledger_log_entry e[6];
    ca_status res[6];
    for (int i = 0; i < 6; i++)
        e[i] = (ca_ledger_log_entry){.position = 10 + (uint64_t)i,
                                     .time = T0 + (uint64_t)i,
                                     .msg = bufs[i],
                                     .msg_len = lens[i]};
    assert_ok(ca_ledger_apply_log(l, e, sizeof e[0], 6, res, NULL));
    const ca_status want[6] = {CA_OK, CA_OK, CA_OK, CA_OK, CA_ERR_DELEGATION_REVOKED, CA_OK};
    for (int i = 0; i < 6; i++)
        assert_status_value(want[i], res[i]);
    assert_int_equal(record(l, &sub.id).spent, 20);
    assert_int_equal(record(l, &root.id).spent, 30);
    uint64_t until = 0;
    assert_ok(ca_ledger_revocation(l, &sub.id, &aid[B], &until));
    assert_int_equal(until, T0 + 3 + LIFE);
    assert_ok(ca_ledger_revocation(l, &sub.id, &aid[X], NULL));
    assert_status(CA_ERR_LEDGER_UNKNOWN_DELEGATION,
                  ca_ledger_revocation(l, &sub.id, &aid[DLG], NULL));
    /* A second REVOKE of the same (id, revoker) applies and renews the record. */
    rv = mkop(CA_LEDGER_OP_REVOKE, B, 0);
    rv.ref = sub.id;
    assert_ok(direct(l, rv, T0 + 100));
    assert_ok(ca_ledger_revocation(l, &sub.id, &aid[B], &until));
    assert_int_equal(until, T0 + 100 + LIFE);
    assert_int_equal(l->n_rev, 2);
    /* Reports create no accounts: a REVOKE by a signer without one. */
    rv = mkop(CA_LEDGER_OP_REVOKE, E, 0);
    rv.ref = sub.id;
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, direct(l, rv, T0 + 100));
    assert_ok(ca_ledger_commit(l, NULL));
    ca_hash h1, h2;
    assert_ok(ca_ledger_state_hash(l, &h1));
    size_t sn = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(l, NULL, 0, &sn));
    uint8_t *snap = malloc(sn);
    assert_non_null(snap);
    assert_ok(ca_ledger_snapshot_export(l, snap, sn, &sn));
    ca_ledger_free(l);

    /* Reopened from the journal (each delegated op verified again at its time, against the
     * revocations replayed before it), and from the snapshot: the same state, and C is still
     * refused, B still served. */
    for (int from = 0; from < 2; from++) {
        ca_ledger *r = NULL;
        if (from == 0)
            r = open_dir(&o);
        else
            assert_ok(ca_ledger_new_from_snapshot(&r, &o, snap, sn));
        assert_ok(ca_ledger_state_hash(r, &h2));
        assert_memory_equal(h1.bytes, h2.bytes, 32);
        assert_ok(ca_ledger_check(r));
        assert_int_equal(r->n_dlg, 2);
        assert_int_equal(r->n_rev, 2);
        t.nonce = 3;
        assert_status(CA_ERR_DELEGATION_REVOKED, dsubmit(r, C, &rc, &t, T0 + 200));
        t.nonce = 2;
        assert_ok(dsubmit(r, B, &rb, &t, T0 + 200));
        ca_ledger_free(r);
    }
    free(snap);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/* Records are bounded and dropped: delegation records at their expiry, revocations at
 * T + max_delegation_lifetime; a flood of made-up ids fills at most max_delegation_records
 * and costs O(log n) heap moves per record. Counted, not timed. */
static void test_records_bounded(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    o.max_delegation_records = 64;
    ca_ledger *l = world(&o);
    /* 100 REVOKEs of made-up ids by X: 64 held, the rest CA_ERR_LIMIT. */
    unsigned ok = 0, limit = 0;
    const uint64_t moves0 = l->heap_moves;
    for (unsigned i = 0; i < 100; i++) {
        ca_ledger_op rv = mkop(CA_LEDGER_OP_REVOKE, X, 0);
        memset(rv.ref.bytes, 0x5A, 32);
        rv.ref.bytes[0] = (uint8_t)i;
        ca_status st = direct(l, rv, T0 + i);
        ok += st == CA_OK;
        limit += st == CA_ERR_LIMIT;
    }
    assert_int_equal(ok, 64);
    assert_int_equal(limit, 36);
    assert_int_equal(l->n_rev, 64);
    assert_true(l->heap_moves - moves0 <= 64 * 7);
    cai_idmap_stats st;
    cai_idmap_stats_get(&l->rev_index, &st);
    assert_true(st.max_probe <= 16);
    /* Made-up delegations: every fresh root of B's, used once, makes one record. */
    unsigned made = 0;
    for (unsigned i = 0; i < 70; i++) {
        terms t = xfer_terms(10, 10, T0 + 1000 + i);
        t.nonce = i;
        dlink k = mklink(DLG, B, t, NULL);
        chain ch = chain_of(&k, NULL, NULL);
        ca_ledger_op op = transfer(DLG, R, 1, 1);
        ca_status s = dsubmit(l, B, &ch, &op, T0 + 100);
        made += s == CA_OK;
        if (s != CA_OK)
            assert_status_value(CA_ERR_LIMIT, s);
    }
    assert_int_equal(made, 64);
    assert_int_equal(l->n_dlg, 64);
    /* Past every expiry (T0 + 1069) the delegation records go; the revocations stay until
     * their T + LIFE. */
    assert_ok(direct(l, transfer(X, R, 1, 0), T0 + 1070));
    assert_int_equal(l->n_dlg, 0);
    assert_int_equal(l->n_rev, 64);
    assert_ok(direct(l, transfer(X, R, 1, 0), T0 + 99 + LIFE + 1));
    assert_int_equal(l->n_rev, 0);
    assert_ok(ca_ledger_check(l));
    /* Room again. */
    ca_ledger_op rv = mkop(CA_LEDGER_OP_REVOKE, X, 0);
    memset(rv.ref.bytes, 0x77, 32);
    assert_ok(direct(l, rv, T0 + LIFE + 200));
    ca_ledger_free(l);
}

/* ---- differential: a tree of delegations against a plain model ---- */

enum { N_LINKS = 6, EPOCH = 400 };

typedef struct mlink {
    dlink k;
    int issuer, audience, parent; /* parent: index, -1 for a root */
    uint64_t total, task, expires, spent, nonce;
    int used; /* an applied op made its record */
} mlink;

typedef struct mrev {
    ca_hash id;
    int revoker;
    uint64_t until;
} mrev;

typedef struct model {
    mlink links[N_LINKS];
    mrev revs[4096];
    size_t n_revs;
    uint64_t dlg_balance, horizon;
} model;

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return n ? *s % n : 0;
}

/* The tree of an epoch: DLG -> B (0), B -> C (1), B -> E (2), C -> F (3); DLG -> E (4),
 * E -> C (5). Expiries spread over the epoch, some links expire inside it. */
static void new_tree(model *m, uint64_t *s, uint64_t start, unsigned epoch)
{
    static const int shape[N_LINKS][3] = {{DLG, B, -1}, {B, C, 0},    {B, E, 0},
                                          {C, F, 1},    {DLG, E, -1}, {E, C, 4}};
    for (int i = 0; i < N_LINKS; i++) {
        mlink *x = &m->links[i];
        const int p = shape[i][2];
        x->issuer = shape[i][0];
        x->audience = shape[i][1];
        x->parent = p;
        x->total = p < 0 ? 300 + rnd(s, 300) : 1 + rnd(s, m->links[p].total);
        x->task = 1 + rnd(s, p < 0 ? 120 : m->links[p].task);
        if (x->task > x->total)
            x->task = x->total;
        const uint64_t pexp = p < 0 ? start + 3 * EPOCH : m->links[p].expires;
        x->expires = start + EPOCH / 2 + rnd(s, pexp - start - EPOCH / 2 + 1);
        terms t = {
            {CA_LEDGER_CAPABILITY_TRANSFER, NULL}, x->total, x->task, start - 5, x->expires, epoch};
        x->k = mklink(x->issuer, x->audience, t, p < 0 ? NULL : &m->links[p].k);
        x->spent = x->nonce = 0;
        x->used = 0;
    }
}

static int model_revoked(const model *m, int leaf)
{
    for (int i = leaf; i >= 0; i = m->links[i].parent)
        for (int j = i; j >= 0; j = m->links[j].parent) /* issuer of link i or above it */
            for (size_t r = 0; r < m->n_revs; r++)
                if (m->revs[r].until >= m->horizon && m->revs[r].revoker == m->links[j].issuer &&
                    memcmp(m->revs[r].id.bytes, m->links[i].k.id.bytes, 32) == 0)
                    return 1;
    return 0;
}

static ca_status model_spend(model *m, int leaf, uint64_t amount, uint64_t now)
{
    const uint64_t t = now > m->horizon ? now : m->horizon;
    if (t > m->links[leaf].expires)
        return CA_ERR_EXPIRED;
    if (model_revoked(m, leaf))
        return CA_ERR_DELEGATION_REVOKED;
    for (int i = leaf; i >= 0; i = m->links[i].parent)
        if (amount > m->links[i].task || amount > m->links[i].total - m->links[i].spent)
            return CA_ERR_LEDGER_CAP_EXCEEDED;
    if (amount > m->dlg_balance)
        return CA_ERR_LEDGER_INSUFFICIENT_FUNDS;
    for (int i = leaf; i >= 0; i = m->links[i].parent) {
        m->links[i].spent += amount;
        m->links[i].used = 1;
    }
    m->links[leaf].nonce++;
    m->dlg_balance -= amount;
    return CA_OK;
}

static void check_model(ca_ledger *l, const model *m)
{
    assert_int_equal(balance(l, DLG), m->dlg_balance);
    for (int i = 0; i < N_LINKS; i++) {
        const mlink *x = &m->links[i];
        ca_ledger_delegation_info d = {.version = CA_LEDGER_DELEGATION_INFO_VERSION};
        ca_status st = ca_ledger_delegation(l, &x->k.id, &d);
        if (x->used && x->expires >= m->horizon) {
            assert_int_equal(st, CA_OK);
            assert_int_equal(d.spent, x->spent);
            assert_int_equal(d.nonce, x->nonce);
            assert_true(d.spent <= x->total); /* the cap is never exceeded */
        } else {
            assert_int_equal(st, CA_ERR_LEDGER_UNKNOWN_DELEGATION);
        }
    }
}

static void test_differential(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_dlg_diff_%ld", CA_TEST_TMP_DIR, (long)getpid());
    rm_dir();
    cai_ledger_sync_disabled = 1;
    ca_ledger_options o = opts();
    o.max_delegation_lifetime = 3 * EPOCH;
    ca_ledger *l = open_dir(&o);
    model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    uint64_t s = 0x9E3779B97F4A7C15ull, now = T0;
    mint(l, DLG, 20000);
    mint(l, B, 10);
    mint(l, C, 10);
    mint(l, E, 10);
    mint(l, X, 10);
    m->dlg_balance = 20000;
    m->horizon = T0;
    const int n_ops = 4000;
    unsigned counts[4] = {0};
    unsigned epoch = 0;
    for (int i = 0; i < n_ops; i++) {
        if (i % EPOCH == 0)
            new_tree(m, &s, now, epoch++);
        now += rnd(&s, 3);
        const uint64_t kind = rnd(&s, 20);
        ca_status want, got;
        if (kind < 15) { /* a delegated transfer by the audience of a random link */
            const int leaf = (int)rnd(&s, N_LINKS);
            mlink *x = &m->links[leaf];
            uint64_t amount = 1 + rnd(&s, x->task + x->task / 4 + 1);
            chain ch = {.count = 0};
            int path[N_LINKS], d = 0;
            for (int k = leaf; k >= 0; k = m->links[k].parent)
                path[d++] = k;
            for (int k = d - 1; k >= 0; k--) {
                ch.p[ch.count] = m->links[path[k]].k.bytes;
                ch.n[ch.count++] = m->links[path[k]].k.len;
            }
            ca_ledger_op op = transfer(DLG, R, amount, x->nonce + 1);
            want = model_spend(m, leaf, amount, now);
            got = dsubmit(l, x->audience, &ch, &op, now);
        } else if (kind < 19) { /* the delegator spends directly */
            uint64_t amount = 1 + rnd(&s, 60);
            want = amount <= m->dlg_balance ? CA_OK : CA_ERR_LEDGER_INSUFFICIENT_FUNDS;
            if (want == CA_OK)
                m->dlg_balance -= amount;
            got = direct(l, transfer(DLG, R, amount, 0), now);
        } else { /* a revocation by an issuer of the tree, or by a stranger */
            const int target = (int)rnd(&s, N_LINKS);
            const int who[4] = {DLG, B, E, X};
            const int revoker = who[rnd(&s, 4)];
            ca_ledger_op rv = mkop(CA_LEDGER_OP_REVOKE, revoker, 0);
            rv.ref = m->links[target].k.id;
            want = CA_OK;
            size_t r = 0;
            while (r < m->n_revs && !(m->revs[r].revoker == revoker &&
                                      memcmp(m->revs[r].id.bytes, rv.ref.bytes, 32) == 0))
                r++;
            if (r == m->n_revs)
                m->revs[m->n_revs++] = (mrev){rv.ref, revoker, 0};
            m->revs[r].until = (now > m->horizon ? now : m->horizon) + o.max_delegation_lifetime;
            got = direct(l, rv, now);
        }
        if (got != want)
            fail_msg("op %d (kind %llu): ledger %s (%s), model %s", i, (unsigned long long)kind,
                     ca_status_str(got), ca_last_error(), ca_status_str(want));
        if (got == CA_OK && now > m->horizon)
            m->horizon = now;
        counts[got == CA_OK                        ? 0
               : got == CA_ERR_LEDGER_CAP_EXCEEDED ? 1
               : got == CA_ERR_DELEGATION_REVOKED  ? 2
                                                   : 3]++;
        if (i % 97 == 0)
            check_model(l, m);
    }
    check_model(l, m);
    print_message("delegation differential: %u applied, %u over a cap, %u revoked, %u other\n",
                  counts[0], counts[1], counts[2], counts[3]);
    assert_true(counts[0] > (unsigned)n_ops / 4 && counts[1] > 50 && counts[2] > 50);
    /* The records held are those the model says are alive, no more. */
    unsigned alive = 0;
    for (int i = 0; i < N_LINKS; i++)
        alive += m->links[i].used && m->links[i].expires >= m->horizon;
    assert_true(l->n_dlg >= alive && l->n_dlg <= alive + 3 * N_LINKS);
    ca_hash h1, h2;
    assert_ok(ca_ledger_commit(l, NULL));
    assert_ok(ca_ledger_state_hash(l, &h1));
    size_t sn = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_snapshot_export(l, NULL, 0, &sn));
    uint8_t *snap = malloc(sn);
    assert_non_null(snap);
    assert_ok(ca_ledger_snapshot_export(l, snap, sn, &sn));
    ca_ledger_free(l);
    /* Journal reopen and snapshot round trip: the same hash, the same snapshot bytes. */
    l = open_dir(&o);
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    check_model(l, m);
    ca_ledger *r = NULL;
    assert_ok(ca_ledger_new_from_snapshot(&r, &o, snap, sn));
    assert_ok(ca_ledger_state_hash(r, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    uint8_t *snap2 = malloc(sn);
    size_t sn2 = 0;
    assert_ok(ca_ledger_snapshot_export(r, snap2, sn, &sn2));
    assert_int_equal(sn2, sn);
    assert_memory_equal(snap, snap2, sn);
    check_model(r, m);
    /* A damaged record count or spent above its cap is refused. */
    ca_ledger_free(r);
    ca_ledger_free(l);
    free(snap);
    free(snap2);
    free(m);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/* Options version 4 and the ledger id: the defaults keep the id of earlier versions; other
 * values change it; out of range is refused. */
static void test_options_v4(void **state)
{
    (void)state;
    ca_ledger_options v3, v4;
    assert_ok(ca_ledger_options_init(&v3, 3));
    assert_ok(ca_ledger_options_init(&v4, 4));
    assert_int_equal(v4.max_delegation_records, CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT);
    assert_int_equal(v4.max_delegation_lifetime, CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT);
    ca_hash a, b;
    assert_ok(ca_ledger_options_id(&v3, &a));
    assert_ok(ca_ledger_options_id(&v4, &b));
    assert_memory_equal(a.bytes, b.bytes, 32);
    v4.max_delegation_lifetime = 5;
    assert_ok(ca_ledger_options_id(&v4, &b));
    assert_memory_not_equal(a.bytes, b.bytes, 32);
    v4.max_delegation_lifetime = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_options_id(&v4, &b));
    v4.max_delegation_lifetime = 5;
    v4.max_delegation_records = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_options_id(&v4, &b));
}

/* The check holds a chain to 1 .. CA_DELEGATION_MAX_DEPTH links itself (the decoder gives no
 * other length): 0 links and one too many answer CA_ERR_INVALID_ARGUMENT and change nothing.
 * Before, 0 links read an unwritten info[0] (gcc -O3 -Werror refused to build the release
 * preset over it) and MAX_DEPTH + 1 wrote past info[]. */
static void test_check_chain_length(void **state)
{
    (void)state;
    ca_ledger_options o = opts();
    ca_ledger *l = world(&o);
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    cai_dlg_ctx d;
    memset(&d, 0, sizeof d);
    const ca_ledger_op op = transfer(DLG, X, 1, 1);
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_ledger_dlg_check(l, &d, &op, T0));
    d.count = CA_DELEGATION_MAX_DEPTH + 1;
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_ledger_dlg_check(l, &d, &op, T0));
    assert_ok(ca_ledger_state_hash(l, &after));
    assert_memory_equal(before.bytes, after.bytes, sizeof before.bytes);
    ca_ledger_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delegated_transfer),
        cmocka_unit_test(test_rotated_delegator),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_adversarial_chains),
        cmocka_unit_test(test_revocation_position),
        cmocka_unit_test(test_records_bounded),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_options_v4),
        cmocka_unit_test(test_check_chain_length),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
