/*
 * Ledger: every op and every failure status, all-or-nothing, rounding,
 * invariants, state hash, signed ops, durable mode, and a differential test
 * against a deliberately simple reference model (>= 1M random ops).
 */
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cyberagent.h"
#include "ledger/ledger_internal.h"
#include "task_helpers.h"
#include "wire/wire.h"
#include "test_util.h"

static ca_agent_id agent(unsigned k)
{
    ca_agent_id id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = (uint8_t)k;
    id.bytes[31] = 0xA5;
    return id;
}

static ca_hash award(unsigned k)
{
    ca_hash h;
    memset(&h, 0, sizeof h);
    cai_store_le32(h.bytes, k);
    return h;
}

/* The RESULT id a trusted DELIVER of award(k) records (any non-zero id). */
static ca_hash result_of(unsigned k)
{
    ca_hash h = award(k);
    h.bytes[31] = 0x5E;
    return h;
}

/* A settled escrow's info, version set (the caller's job). */
static ca_ledger_escrow_info esc_info(ca_ledger *l, const ca_hash *a)
{
    ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_ok(ca_ledger_escrow(l, a, &e));
    return e;
}

#define AUTH 0u
#define ARB  1u

static ca_ledger_options base_opts(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = agent(AUTH);
    o.arbiter = agent(ARB);
    o.unbonding_delay = 100;
    o.slash_equivocation_ppm = 50000;
    o.slash_missed_deadline_ppm = 10000;
    o.slash_dispute_ppm = 100000;
    o.reporter_share_ppm = 100000;
    o.victim_share_ppm = 400000;
    o.jail_equivocation = 1000;
    o.jail_missed_deadline = 0;
    o.jail_dispute = 50;
    return o;
}

/* Per-signer nonces kept by the test. */
static uint64_t nonces[256];

static ca_ledger_op mkop(uint32_t type, unsigned signer)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = agent(signer);
    op.nonce = nonces[signer] + 1;
    return op;
}

/* Applies; on success advances the test's nonce; checks invariants; failure => state unchanged. */
static ca_status run(ca_ledger *l, const ca_ledger_op *op, uint64_t now)
{
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    ca_ledger_totals tb = {.version = CA_LEDGER_TOTALS_VERSION},
                     ta = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &tb);
    ca_status st = ca_ledger_apply(l, op, now, NULL);
    if (st == CA_OK) {
        nonces[op->signer.bytes[0]] = op->nonce;
    } else {
        assert_true(ca_last_error()[0] != '\0');
        assert_ok(ca_ledger_state_hash(l, &after));
        assert_memory_equal(before.bytes, after.bytes, 32);
        ca_ledger_totals_get(l, &ta);
        assert_memory_equal(&ta, &tb, sizeof ta);
    }
    assert_ok(ca_ledger_check(l));
    return st;
}

static ca_status mint(ca_ledger *l, unsigned to, uint64_t amount)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_MINT, AUTH);
    op.counterparty = agent(to);
    op.amount = amount;
    return run(l, &op, 0);
}

static ca_status xfer(ca_ledger *l, unsigned from, unsigned to, uint64_t amount)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, from);
    op.counterparty = agent(to);
    op.amount = amount;
    return run(l, &op, 0);
}

static ca_status simple(ca_ledger *l, uint32_t type, unsigned who, uint64_t amount, uint64_t now)
{
    ca_ledger_op op = mkop(type, who);
    op.amount = amount;
    return run(l, &op, now);
}

static ca_status esc_open(ca_ledger *l, unsigned hirer, unsigned worker, unsigned k, uint64_t pay,
                          uint64_t col, uint64_t deadline, uint64_t now)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_ESCROW_OPEN, hirer);
    op.counterparty = agent(worker);
    op.ref = award(k);
    op.amount = pay;
    op.amount2 = col;
    op.deadline = deadline;
    return run(l, &op, now);
}

static ca_status esc_op(ca_ledger *l, uint32_t type, unsigned who, unsigned k, uint64_t now)
{
    ca_ledger_op op = mkop(type, who);
    op.ref = award(k);
    if (type == CA_LEDGER_OP_ESCROW_DELIVER)
        op.result = result_of(k);
    return run(l, &op, now);
}

static ca_status slash(ca_ledger *l, unsigned reporter, unsigned offender, uint32_t kind,
                       ca_hash ref, uint64_t now)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_SLASH, reporter);
    op.counterparty = agent(offender);
    op.evidence = kind;
    op.ref = ref;
    return run(l, &op, now);
}

static ca_ledger_account_info acct(ca_ledger *l, unsigned k)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    ca_agent_id id = agent(k);
    assert_ok(ca_ledger_account(l, &id, &a));
    return a;
}

static ca_ledger *fresh(const ca_ledger_options *o)
{
    memset(nonces, 0, sizeof nonces);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, o));
    return l;
}

/* ------------------------------------------------------------ unit tests */

static void test_options(void **state)
{
    (void)state;
    ca_ledger_options o;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION + 1));
    o = base_opts();
    ca_ledger *l = NULL;
    o.reporter_share_ppm = 700000;
    o.victim_share_ppm = 300001;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_new(&l, &o));
    assert_null(l);
    o = base_opts();
    o.slash_dispute_ppm = CA_LEDGER_PPM + 1;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_new(&l, &o));
    o = base_opts();
    o.max_unbonding_entries = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_new(&l, &o));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_new(NULL, &o));
    ca_ledger_free(NULL);
    assert_int_equal(ca_ledger_op_max_bytes(), CA_LEDGER_OP_MAX_BYTES);
}

static void test_mint_transfer(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    ca_ledger *l = fresh(&o);
    ca_agent_id nobody = agent(9);
    ca_ledger_account_info info = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, ca_ledger_account(l, &nobody, &info));

    /* Only the authority mints. */
    ca_ledger_op op = mkop(CA_LEDGER_OP_MINT, 2);
    op.counterparty = agent(2);
    op.amount = 5;
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, run(l, &op, 0));
    assert_ok(mint(l, 2, 1000));
    assert_int_equal(acct(l, 2).balance, 1000);
    assert_int_equal(acct(l, AUTH).nonce, 1);
    /* Supply overflow. */
    assert_status(CA_ERR_OVERFLOW, mint(l, 3, UINT64_MAX - 999));
    assert_ok(mint(l, 3, UINT64_MAX - 1000));
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_true(t.minted == UINT64_MAX);
    assert_int_equal(t.seq, 2);

    /* Nonces: duplicate (retry never applies twice) and gaps. */
    op = mkop(CA_LEDGER_OP_TRANSFER, 2);
    op.counterparty = agent(4);
    op.amount = 10;
    assert_ok(run(l, &op, 0));
    assert_status(CA_ERR_LEDGER_DUPLICATE, run(l, &op, 0));
    assert_int_equal(acct(l, 2).balance, 990);
    op.nonce += 2;
    assert_status(CA_ERR_LEDGER_BAD_NONCE, run(l, &op, 0));

    /* Transfer failures. */
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, xfer(l, 2, 4, 991));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, xfer(l, 7, 2, 1));
    assert_status(CA_ERR_LEDGER_SELF_DEALING, xfer(l, 2, 2, 1));
    assert_status(CA_ERR_INVALID_ARGUMENT, xfer(l, 2, 4, 0));
    op = mkop(CA_LEDGER_OP_TRANSFER, 2);
    op.counterparty = agent(4);
    op.amount = 1;
    op.deadline = 3; /* a field TRANSFER does not use */
    assert_status(CA_ERR_INVALID_ARGUMENT, run(l, &op, 0));
    op.deadline = 0;
    op.type = 99;
    assert_status(CA_ERR_INVALID_ARGUMENT, run(l, &op, 0));
    assert_ok(xfer(l, 2, 4, 990));
    assert_int_equal(acct(l, 2).balance, 0);
    assert_int_equal(acct(l, 4).balance, 1000);
    ca_ledger_free(l);
}

static void test_account_limit(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    o.max_accounts = 3;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, 2, 100)); /* authority + 2 */
    assert_ok(xfer(l, 2, 3, 1));
    assert_status(CA_ERR_LIMIT, xfer(l, 2, 4, 1));
    assert_status(CA_ERR_LIMIT, mint(l, 5, 1));
    assert_ok(mint(l, 3, 1));
    ca_ledger_free(l);
}

static void test_bond_unbond_withdraw(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    o.max_unbonding_entries = 2;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, 2, 1000));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, simple(l, CA_LEDGER_OP_BOND, 3, 1, 0));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, simple(l, CA_LEDGER_OP_BOND, 2, 1001, 0));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, 2, 600, 0));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, simple(l, CA_LEDGER_OP_UNBOND, 2, 601, 10));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, simple(l, CA_LEDGER_OP_UNBOND, 3, 1, 10));
    assert_ok(simple(l, CA_LEDGER_OP_UNBOND, 2, 100, 10)); /* matures at 110 */
    assert_ok(simple(l, CA_LEDGER_OP_UNBOND, 2, 50, 20));  /* matures at 120 */
    assert_status(CA_ERR_LIMIT, simple(l, CA_LEDGER_OP_UNBOND, 2, 1, 20));
    ca_ledger_account_info a = acct(l, 2);
    assert_int_equal(a.balance, 400);
    assert_int_equal(a.bonded, 450);
    assert_int_equal(a.unbonding, 150);
    assert_int_equal(a.unbonding_entries, 2);
    assert_status(CA_ERR_LEDGER_TOO_EARLY, simple(l, CA_LEDGER_OP_WITHDRAW, 2, 0, 109));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, simple(l, CA_LEDGER_OP_WITHDRAW, 3, 0, 200));
    assert_status(CA_ERR_INVALID_ARGUMENT, simple(l, CA_LEDGER_OP_WITHDRAW, 2, 5, 200));
    assert_ok(simple(l, CA_LEDGER_OP_WITHDRAW, 2, 0, 110));
    a = acct(l, 2);
    assert_int_equal(a.balance, 500);
    assert_int_equal(a.unbonding, 50);
    assert_int_equal(a.unbonding_entries, 1);
    assert_ok(simple(l, CA_LEDGER_OP_UNBOND, 2, 1, 110)); /* the freed slot is reused */
    assert_ok(simple(l, CA_LEDGER_OP_WITHDRAW, 2, 0, 500));
    a = acct(l, 2);
    assert_int_equal(a.balance, 551);
    assert_int_equal(a.bonded, 449);
    assert_int_equal(a.unbonding, 0);
    /* now + delay overflows. */
    assert_status(CA_ERR_OVERFLOW, simple(l, CA_LEDGER_OP_UNBOND, 2, 1, UINT64_MAX - 5));
    ca_ledger_free(l);
}

static void test_escrow(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    o.max_escrows = 4;
    ca_ledger *l = fresh(&o);
    const unsigned H = 2, W = 3, X = 4;
    assert_ok(mint(l, H, 1000));
    assert_ok(mint(l, W, 100));
    assert_status(CA_ERR_INVALID_ARGUMENT, esc_open(l, H, W, 1, 0, 10, 50, 0));
    assert_status(CA_ERR_LEDGER_SELF_DEALING, esc_open(l, H, H, 1, 10, 0, 50, 0));
    assert_status(CA_ERR_LEDGER_TOO_LATE, esc_open(l, H, W, 1, 10, 10, 50, 50));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, esc_open(l, X, W, 1, 10, 10, 50, 0));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, esc_open(l, H, X, 1, 10, 10, 50, 0));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, esc_open(l, H, W, 1, 1001, 10, 50, 0));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, esc_open(l, H, W, 1, 100, 101, 50, 0));
    assert_ok(esc_open(l, H, W, 1, 100, 20, 50, 0));
    assert_status(CA_ERR_LEDGER_ESCROW_EXISTS, esc_open(l, H, W, 1, 100, 20, 50, 0));
    assert_int_equal(acct(l, H).balance, 900);
    assert_int_equal(acct(l, W).balance, 80);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.escrowed, 120);
    ca_hash a1 = award(1);
    ca_ledger_escrow_info e = esc_info(l, &a1);
    assert_int_equal(e.state, CA_LEDGER_ESCROW_OPEN);
    assert_int_equal(e.payment, 100);
    assert_int_equal(e.collateral, 20);
    assert_memory_equal(e.worker.bytes, agent(W).bytes, 32);
    ca_hash a9 = award(9);
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, ca_ledger_escrow(l, &a9, &e));
    assert_int_equal(e.paid, 0); /* open: nothing paid yet */

    /* Deliver: worker only, in time, once. */
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 9, 10));
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, H, 1, 10));
    assert_status(CA_ERR_LEDGER_TOO_LATE, esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 1, 51));
    /* Hirer refund before the deadline is refused; after it, allowed unless delivered. */
    assert_status(CA_ERR_LEDGER_TOO_EARLY, esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, H, 1, 50));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 1, 50));
    assert_status(CA_ERR_LEDGER_DELIVERED, esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 1, 50));
    assert_status(CA_ERR_LEDGER_DELIVERED, esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, H, 1, 60));
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, W, 1, 60));
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, X, 1, 60));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, H, 1, 60));
    assert_int_equal(acct(l, W).balance, 200);
    assert_int_equal(esc_info(l, &a1).paid, 100); /* released: the payment, not the collateral */
    assert_status(CA_ERR_LEDGER_ESCROW_CLOSED, esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, H, 1, 60));
    assert_status(CA_ERR_LEDGER_ESCROW_CLOSED, esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, W, 1, 60));

    /* Worker refund any time; hirer refund after a missed deadline. */
    assert_ok(esc_open(l, H, W, 2, 100, 20, 200, 60));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, W, 2, 61));
    assert_int_equal(acct(l, H).balance, 900);
    assert_int_equal(acct(l, W).balance, 200);
    assert_ok(esc_open(l, H, W, 3, 100, 20, 200, 60));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, H, 3, 201));
    e = esc_info(l, &(ca_hash){{3}});
    assert_int_equal(e.state, CA_LEDGER_ESCROW_REFUNDED);
    assert_int_equal(e.paid, 0);

    /* Split by the arbiter. */
    assert_ok(esc_open(l, H, W, 4, 100, 20, 300, 60));
    assert_status(CA_ERR_LIMIT, esc_open(l, H, W, 5, 100, 20, 300, 60));
    ca_ledger_op op = mkop(CA_LEDGER_OP_ESCROW_SPLIT, H);
    op.ref = award(4);
    op.amount = 30;
    op.amount2 = 5;
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, run(l, &op, 70));
    op = mkop(CA_LEDGER_OP_ESCROW_SPLIT, ARB);
    op.ref = award(4);
    op.amount = 101;
    assert_status(CA_ERR_INVALID_ARGUMENT, run(l, &op, 70));
    op.amount = 30;
    op.amount2 = 21;
    assert_status(CA_ERR_INVALID_ARGUMENT, run(l, &op, 70));
    op.amount2 = 5;
    uint64_t hb = acct(l, H).balance, wb = acct(l, W).balance;
    assert_ok(run(l, &op, 70));
    assert_int_equal(acct(l, H).balance, hb + 70 + 5);
    assert_int_equal(acct(l, W).balance, wb + 30 + 15);
    ca_hash a4 = award(4);
    assert_int_equal(esc_info(l, &a4).paid, 30); /* split: the verdict's share of the payment */
    assert_status(CA_ERR_LEDGER_ESCROW_CLOSED, run(l,
                                                   &(ca_ledger_op){.version = CA_LEDGER_OP_VERSION,
                                                                   .type = op.type,
                                                                   .signer = op.signer,
                                                                   .nonce = nonces[ARB] + 1,
                                                                   .ref = op.ref},
                                                   70));
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.escrowed, 0);
    assert_int_equal(t.escrows, 4);
    ca_ledger_free(l);
}

static void test_slash_rounding_and_shares(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    ca_ledger *l = fresh(&o);
    const unsigned OFF = 2, REP = 3;
    assert_ok(mint(l, OFF, 10000));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, OFF, 999, 0));
    assert_ok(simple(l, CA_LEDGER_OP_UNBOND, OFF, 21, 0)); /* matures at 100 */
    assert_ok(simple(l, CA_LEDGER_OP_UNBOND, OFF, 1, 50)); /* matures at 150 */
    /* Equivocation 5%: bond 977 -> ceil(48.85)=49; entry 21 -> ceil(1.05)=2; entry 1 -> 1. */
    ca_hash ev = {{0xEE}};
    assert_status(CA_ERR_LEDGER_SELF_DEALING,
                  slash(l, OFF, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, 60));
    /* Reports create no accounts: the reporter needs one. */
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                  slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, 60));
    assert_ok(xfer(l, OFF, REP, 1));
    assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                  slash(l, REP, 7, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, 60));
    assert_ok(slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, 60));
    ca_ledger_account_info a = acct(l, OFF);
    assert_int_equal(a.bonded, 977 - 49);
    assert_int_equal(a.unbonding, 19);        /* 21-2, and the entry of 1 is gone */
    assert_int_equal(a.unbonding_entries, 1); /* emptied entries are removed */
    assert_int_equal(a.jailed_until, 1060);
    /* total 52: reporter floor(5.2)=5, no victim for equivocation, burn 47 */
    assert_int_equal(acct(l, REP).balance, 1 + 5);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.burned, 47);
    assert_status(CA_ERR_LEDGER_EVIDENCE_USED,
                  slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, 61));
    /* Jailed: no bonding, no escrow work; transfers still allowed. */
    assert_status(CA_ERR_LEDGER_JAILED, simple(l, CA_LEDGER_OP_BOND, OFF, 1, 1059));
    assert_ok(mint(l, 4, 500));
    assert_status(CA_ERR_LEDGER_JAILED, esc_open(l, 4, OFF, 1, 10, 0, 2000, 1059));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, OFF, 1, 1060));
    /* A matured entry is no longer slashable. */
    ca_hash ev2 = {{0xEF}};
    assert_ok(slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev2, 1061));
    a = acct(l, OFF);
    assert_int_equal(a.unbonding, 19);
    assert_int_equal(a.bonded, 929 - 47); /* ceil(46.45) = 47 */
    ca_ledger_free(l);
}

static void test_slash_missed_deadline_and_dispute(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    ca_ledger *l = fresh(&o);
    const unsigned H = 2, W = 3, R = 5;
    assert_ok(mint(l, H, 1000));
    assert_ok(mint(l, W, 1000));
    assert_ok(mint(l, R, 1)); /* a reporter needs an account (reports create none) */
    assert_ok(simple(l, CA_LEDGER_OP_BOND, W, 1000, 0));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, H, 500, 0));
    assert_ok(esc_open(l, H, W, 1, 100, 0, 50, 0));
    ca_hash a1 = award(1), a2 = award(2);
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a2, 51));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  slash(l, R, H, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a1, 51));
    assert_status(CA_ERR_LEDGER_TOO_EARLY,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a1, 50));
    /* 1% of 1000 = 10: reporter 1, victim (hirer) 4, burn 5. */
    assert_ok(slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a1, 51));
    assert_int_equal(acct(l, W).bonded, 990);
    assert_int_equal(acct(l, R).balance, 1 + 1);
    assert_int_equal(acct(l, H).balance, 900 - 500 + 4);
    assert_status(CA_ERR_LEDGER_EVIDENCE_USED,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a1, 52));
    /* Delivered in time: no missed-deadline slash; settled escrow: none either. */
    assert_ok(esc_open(l, H, W, 2, 100, 0, 60, 55));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 2, 56));
    assert_status(CA_ERR_LEDGER_DELIVERED,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a2, 61));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, H, 1, 61));
    ca_hash a3 = award(3);
    assert_ok(esc_open(l, H, W, 3, 10, 0, 70, 61));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, W, 3, 62));
    assert_status(CA_ERR_LEDGER_ESCROW_CLOSED,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a3, 71));

    /* Dispute: arbiter only, offender must be a party, victim = other party, no reporter pay. */
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, slash(l, R, H, CA_LEDGER_EVIDENCE_DISPUTE, a2, 70));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, slash(l, ARB, R, CA_LEDGER_EVIDENCE_DISPUTE, a2, 70));
    uint64_t wb = acct(l, W).balance;
    assert_ok(slash(l, ARB, H, CA_LEDGER_EVIDENCE_DISPUTE, a2, 70));
    /* 10% of 500 = 50: victim 20, burn 30; hirer jailed 50. */
    assert_int_equal(acct(l, H).bonded, 450);
    assert_int_equal(acct(l, W).balance, wb + 20);
    assert_int_equal(acct(l, H).jailed_until, 120);
    assert_int_equal(acct(l, ARB).balance, 0); /* the arbiter's account: no share for it */
    assert_status(CA_ERR_LEDGER_EVIDENCE_USED,
                  slash(l, ARB, H, CA_LEDGER_EVIDENCE_DISPUTE, a2, 70));
    assert_ok(slash(l, ARB, W, CA_LEDGER_EVIDENCE_DISPUTE, a2, 70)); /* other party: own key */
    ca_ledger_op op = mkop(CA_LEDGER_OP_SLASH, R);
    op.counterparty = agent(W);
    op.evidence = 4;
    assert_status(CA_ERR_INVALID_ARGUMENT, run(l, &op, 70));
    ca_ledger_free(l);
}

/*
 * Issue 13, finding 6: settling an escrow never erases a missed deadline.
 * For every way an escrow can close after its deadline with nothing
 * delivered (the worker's own refund, the hirer's refund, a release, a
 * split), the MISSED_DEADLINE slash is still accepted afterwards, exactly
 * once; slashing first and settling after works too. An escrow settled by
 * its deadline, or delivered, is not slashable for it. The mark survives a
 * snapshot.
 */
static void test_missed_deadline_after_settlement(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts(); /* missed deadline: 1%, reporter 10%, victim 40% */
    ca_ledger *l = fresh(&o);
    const unsigned H = 2, W = 3, R = 5;
    assert_ok(mint(l, H, 10000));
    assert_ok(mint(l, W, 10000));
    assert_ok(mint(l, R, 1));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, W, 5000, 0));
    enum { WORKER_REFUND = 1, HIRER_REFUND, RELEASE, SPLIT, SLASH_FIRST };
    for (unsigned k = WORKER_REFUND; k <= SLASH_FIRST; k++) {
        uint64_t t0 = 1000 * k, dl = t0 + 50;
        ca_hash a = award(k);
        assert_ok(esc_open(l, H, W, k, 100, 10, dl, t0));
        if (k == SLASH_FIRST)
            assert_ok(slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a, dl + 1));
        uint64_t bonded = acct(l, W).bonded, hirer_bal = acct(l, H).balance;
        if (k == WORKER_REFUND || k == SLASH_FIRST) {
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, W, k, dl + 1));
        } else if (k == HIRER_REFUND) {
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, H, k, dl + 1));
        } else if (k == RELEASE) {
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, H, k, dl + 1));
        } else {
            ca_ledger_op op = mkop(CA_LEDGER_OP_ESCROW_SPLIT, ARB);
            op.ref = a;
            op.amount = 40;
            assert_ok(run(l, &op, dl + 1));
        }
        ca_ledger_escrow_info e = esc_info(l, &a);
        assert_int_equal(e.missed, 1);
        assert_int_equal(e.delivered, 0);
        assert_true(e.state != CA_LEDGER_ESCROW_OPEN);
        if (k == SLASH_FIRST) {
            /* Slashed while open: the settlement does not open a second slash. */
            assert_status(CA_ERR_LEDGER_EVIDENCE_USED,
                          slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a, dl + 2));
            continue;
        }
        hirer_bal = acct(l, H).balance;
        assert_ok(slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a, dl + 2));
        uint64_t cut = (bonded + 99) / 100; /* ceil(1%) */
        assert_int_equal(acct(l, W).bonded, bonded - cut);
        assert_int_equal(acct(l, H).balance, hirer_bal + cut * 4 / 10); /* the victim's share */
        assert_status(CA_ERR_LEDGER_EVIDENCE_USED,
                      slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a, dl + 3));
    }

    /* Settled by the deadline (now == deadline is in time): not a missed deadline. */
    ca_hash a10 = award(10), a11 = award(11), a12 = award(12);
    assert_ok(esc_open(l, H, W, 10, 100, 10, 20050, 20000));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, W, 10, 20050));
    assert_int_equal(esc_info(l, &a10).missed, 0);
    assert_status(CA_ERR_LEDGER_ESCROW_CLOSED,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a10, 20051));
    assert_ok(esc_open(l, H, W, 11, 100, 10, 20150, 20100));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, H, 11, 20120));
    assert_status(CA_ERR_LEDGER_ESCROW_CLOSED,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a11, 20200));
    /* Delivered in time, released late: never a missed deadline. */
    assert_ok(esc_open(l, H, W, 12, 100, 10, 20250, 20200));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 12, 20250));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, H, 12, 20300));
    assert_int_equal(esc_info(l, &a12).missed, 0);
    assert_status(CA_ERR_LEDGER_DELIVERED,
                  slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a12, 20301));

    /* The mark is state: in the hash, and kept by a snapshot. */
    assert_ok(esc_open(l, H, W, 13, 100, 10, 30050, 30000));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, W, 13, 30051));
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_ok(cai_snapshot_encode(l, &buf, &len));
    ca_ledger *back = NULL;
    assert_ok(cai_snapshot_decode(buf, len, &o, 0, &back));
    free(buf);
    ca_hash a13 = award(13), h1, h2;
    assert_int_equal(esc_info(back, &a13).missed, 1);
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_ok(ca_ledger_state_hash(back, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    uint64_t saved[256];
    memcpy(saved, nonces, sizeof saved);
    assert_ok(slash(back, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a13, 30052));
    memcpy(nonces, saved, sizeof saved);
    assert_ok(slash(l, R, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, a13, 30052));
    ca_ledger_free(back);
    ca_ledger_free(l);
}

/*
 * Full slash with all-burn shares; then the offender has nothing at stake and
 * a slash that would take nothing is refused (CA_ERR_LEDGER_NO_STAKE): no
 * jail, no evidence key. The matured entry is no longer at risk either.
 */
static void test_slash_edges(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    o.slash_equivocation_ppm = CA_LEDGER_PPM;
    o.reporter_share_ppm = 0;
    o.victim_share_ppm = 0;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, 2, 77));
    assert_ok(mint(l, 3, 1));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, 2, 70, 0));
    assert_ok(simple(l, CA_LEDGER_OP_UNBOND, 2, 7, 0));
    assert_ok(slash(l, 3, 2, CA_LEDGER_EVIDENCE_EQUIVOCATION, (ca_hash){{1}}, 1));
    ca_ledger_account_info a = acct(l, 2);
    assert_int_equal(a.bonded + a.unbonding + a.unbonding_entries, 0);
    assert_int_equal(a.balance, 7);
    assert_int_equal(a.jailed_until, 1001);
    assert_status(CA_ERR_LEDGER_NO_STAKE,
                  slash(l, 3, 2, CA_LEDGER_EVIDENCE_EQUIVOCATION, (ca_hash){{2}}, 5000));
    assert_int_equal(acct(l, 2).jailed_until, 1001);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.burned, 70);
    ca_ledger_free(l);
}

/* Same ops => same hash, whatever each handle's private index layout; any change => other hash. */
static void test_state_hash(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    ca_ledger *a = fresh(&o);
    for (unsigned k = 2; k < 40; k++)
        assert_ok(mint(a, k, k * 10));
    ca_ledger *b = fresh(&o);
    for (unsigned k = 2; k < 40; k++)
        assert_ok(mint(b, k, k * 10));
    ca_hash ha, hb;
    assert_ok(ca_ledger_state_hash(a, &ha));
    assert_ok(ca_ledger_state_hash(b, &hb));
    assert_memory_equal(ha.bytes, hb.bytes, 32);
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, 5);
    op.counterparty = agent(6);
    op.amount = 1;
    assert_ok(ca_ledger_apply(a, &op, 0, NULL));
    assert_ok(ca_ledger_state_hash(a, &ha));
    assert_memory_not_equal(ha.bytes, hb.bytes, 32);
    assert_ok(ca_ledger_apply(b, &op, 0, NULL));
    assert_ok(ca_ledger_state_hash(b, &hb));
    assert_memory_equal(ha.bytes, hb.bytes, 32);
    assert_true(cai_ledger_memory_bytes(a) > 0);
    ca_ledger_free(a);
    ca_ledger_free(b);
}

/* ------------------------------------------------------------ signed ops */

static ca_identity *ident(unsigned k)
{
    uint8_t seed[32] = {(uint8_t)k, 0x77};
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

/*
 * The writers the round-trip fuzz target re-encodes with are the inverses of
 * the decoders: a signed op from its values and signatures is the signer's
 * bytes (a cosignature only with ESCROW_OPEN), and a journal record read back
 * writes the same bytes.
 */
static void test_op_and_record_writers(void **state)
{
    (void)state;
    ca_identity *h = ident(2), *w = ident(3);
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_ESCROW_OPEN;
    ca_identity_id(h, &op.signer);
    ca_identity_id(w, &op.counterparty);
    op.nonce = 4;
    op.ref = award(9);
    op.amount = 50;
    op.amount2 = 10;
    op.deadline = 100;
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES], again[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0, m = 0;
    const ca_hash lid = {{0x1d}}; /* any ledger id: the signatures are not checked here */
    assert_ok(ca_ledger_op_sign(&lid, &op, h, w, msg, sizeof msg, &n));
    ca_ledger_op back = {.version = CA_LEDGER_OP_VERSION};
    const uint8_t *sig = NULL, *cosig = NULL;
    assert_ok(cai_ledger_op_decode_signed(msg, n, &back, &sig, &cosig, NULL));
    assert_non_null(cosig);
    assert_ok(cai_ledger_op_encode_signed(&back, sig, cosig, again, sizeof again, &m));
    assert_int_equal(m, n);
    assert_memory_equal(again, msg, n);
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  cai_ledger_op_encode_signed(&back, sig, NULL, again, sizeof again, &m));
    back.type = CA_LEDGER_OP_TRANSFER;
    back.ref = (ca_hash){{0}};
    back.amount2 = back.deadline = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  cai_ledger_op_encode_signed(&back, sig, cosig, again, sizeof again, &m));

    /* A journal record of each type: written, read, written again. */
    static const uint8_t types[] = {CAI_REC_SIGNED, CAI_REC_TRUSTED, CAI_REC_EVIDENCE};
    static const uint8_t ev[] = {0x81, 0x00, 0x01};
    uint8_t rec1[CAI_RECORD_HEADER_BYTES + 4 + CA_LEDGER_OP_MAX_BYTES + sizeof ev];
    uint8_t rec2[sizeof rec1];
    for (size_t i = 0; i < sizeof types; i++) {
        cai_journal_record r = {7, 1234, 99 + i, types[i], msg, n, ev, sizeof ev}, r2;
        size_t len = cai_journal_record_write(&r, rec1);
        assert_int_equal(len, CAI_RECORD_HEADER_BYTES + n +
                                  (types[i] == CAI_REC_EVIDENCE ? 4 + sizeof ev : 0));
        assert_int_equal(cai_journal_record_read(rec1, len, &r2), len);
        assert_int_equal(cai_journal_record_read(rec1, len - 1, &r2), 0); /* short */
        assert_int_equal(cai_journal_record_read(rec1, len, &r2), len);
        assert_true(r2.seq == 7 && r2.now == 1234 && r2.pos == 99 + i && r2.type == types[i] &&
                    r2.op_len == n);
        assert_memory_equal(r2.op, msg, n);
        assert_int_equal(cai_journal_record_write(&r2, rec2), len);
        assert_memory_equal(rec2, rec1, len);
    }
    ca_identity_free(h);
    ca_identity_free(w);
}

static void test_signed_ops(void **state)
{
    (void)state;
    ca_identity *auth = ident(1), *h = ident(2), *w = ident(3);
    ca_ledger_options o = base_opts();
    ca_identity_id(auth, &o.authority);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    ca_agent_id hid, wid;
    ca_identity_id(h, &hid);
    ca_identity_id(w, &wid);

    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    op.signer = o.authority;
    op.nonce = 1;
    op.counterparty = hid;
    op.amount = 1000;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_ledger_op_sign(&lid, &op, auth, NULL, NULL, 0, &n));
    assert_true(n > 0 && n <= CA_LEDGER_OP_MAX_BYTES);
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_op_sign(&lid, &op, h, NULL, msg, sizeof msg, &n));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_op_sign(&lid, &op, auth, w, msg, sizeof msg, &n));
    assert_ok(ca_ledger_op_sign(&lid, &op, auth, NULL, msg, sizeof msg, &n));
    ca_ledger_op back = {.version = CA_LEDGER_OP_VERSION};
    assert_ok(ca_ledger_op_decode(msg, n, &back));
    assert_memory_equal(&back, &op, sizeof op);
    assert_ok(ca_ledger_op_verify(&lid, msg, n));
    /* Any flipped bit: malformed or bad signature, never accepted. */
    for (size_t i = 0; i < n * 8; i += 5) {
        msg[i / 8] ^= (uint8_t)(1u << (i % 8));
        ca_status st = ca_ledger_submit(l, msg, n, 0, NULL);
        assert_true(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_SIGNATURE || st == CA_ERR_LIMIT);
        msg[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    msg[n] = 0;
    assert_status(CA_ERR_MALFORMED, ca_ledger_submit(l, msg, n + 1, 0, NULL)); /* trailing */
    uint64_t seq = 0;
    assert_ok(ca_ledger_submit(l, msg, n, 0, &seq));
    assert_int_equal(seq, 1);
    assert_status(CA_ERR_LEDGER_DUPLICATE, ca_ledger_submit(l, msg, n, 0, NULL));

    /* Escrow open needs the worker's cosignature. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_TRANSFER;
    op.signer = hid;
    op.nonce = 1;
    op.counterparty = wid;
    op.amount = 100;
    assert_ok(ca_ledger_op_sign(&lid, &op, h, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 0, NULL));
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_ESCROW_OPEN;
    op.signer = hid;
    op.nonce = 2;
    op.counterparty = wid;
    op.ref = award(1);
    op.amount = 50;
    op.amount2 = 10;
    op.deadline = 100;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_op_sign(&lid, &op, h, NULL, msg, sizeof msg, &n));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_op_sign(&lid, &op, h, auth, msg, sizeof msg, &n));
    assert_ok(ca_ledger_op_sign(&lid, &op, h, w, msg, sizeof msg, &n));
    assert_ok(ca_ledger_op_decode(msg, n, &back));
    assert_memory_equal(&back, &op, sizeof op);
    /* The same op in two steps (worker's detached consent, then the hirer) is byte-identical. */
    ca_signature consent;
    uint8_t two_step[CA_LEDGER_OP_MAX_BYTES];
    size_t two_n = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_op_cosign(&lid, &op, h, &consent));
    assert_ok(ca_ledger_op_cosign(&lid, &op, w, &consent));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_op_sign_cosigned(&lid, &op, h, NULL, two_step,
                                                                      sizeof two_step, &two_n));
    assert_ok(
        ca_ledger_op_sign_cosigned(&lid, &op, h, &consent, two_step, sizeof two_step, &two_n));
    assert_int_equal(two_n, n);
    assert_memory_equal(two_step, msg, n);
    /* A consent for other terms is refused before anything is signed. */
    ca_ledger_op other = op;
    other.amount2 = 9;
    assert_status(
        CA_ERR_BAD_SIGNATURE,
        ca_ledger_op_sign_cosigned(&lid, &other, h, &consent, two_step, sizeof two_step, &two_n));
    ca_ledger_op transfer = op;
    transfer.type = CA_LEDGER_OP_TRANSFER;
    transfer.ref = (ca_hash){{0}};
    transfer.amount2 = 0;
    transfer.deadline = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_op_cosign(&lid, &transfer, w, &consent));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_op_sign_cosigned(&lid, &transfer, h, &consent, two_step,
                                             sizeof two_step, &two_n));
    /* Swap the cosignature for the hirer's own signature: refused. */
    uint8_t bad[CA_LEDGER_OP_MAX_BYTES + 1];
    size_t un = 0;
    memcpy(bad, msg, n);
    memcpy(bad + n - 64 - 3 - 64, msg + n - 64, 64);
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_submit(l, bad, n, 0, NULL));
    assert_ok(ca_ledger_submit(l, msg, n, 0, NULL));
    ca_hash a1 = award(1);
    ca_ledger_escrow_info e = esc_info(l, &a1);
    assert_int_equal(e.collateral, 10);

    /* Every op type round-trips through sign / decode / verify. */
    for (uint32_t t = CA_LEDGER_OP_MINT; t <= CA_LEDGER_OP_SLASH; t++) {
        unsigned f = cai_ledger_type_fields(t);
        ca_ledger_op x = {.version = CA_LEDGER_OP_VERSION};
        x.type = t;
        x.signer = hid;
        x.nonce = 1000 + t;
        if (f & F_CP)
            x.counterparty = wid;
        if (f & F_REF)
            x.ref = award(t);
        if (f & F_AMT)
            x.amount = 1ull << (3 * t);
        if (f & F_AMT2)
            x.amount2 = 300 + t;
        if (f & F_DL)
            x.deadline = UINT64_MAX;
        if (f & F_EV)
            x.evidence = CA_LEDGER_EVIDENCE_DISPUTE;
        if (f & F_RES)
            x.result = result_of(t);
        assert_ok(ca_ledger_op_sign(&lid, &x, h, t == CA_LEDGER_OP_ESCROW_OPEN ? w : NULL, bad,
                                    sizeof bad, &un));
        assert_ok(ca_ledger_op_verify(&lid, bad, un));
        assert_ok(ca_ledger_op_decode(bad, un, &back));
        assert_memory_equal(&back, &x, sizeof x);
        bad[un] = 0;
        assert_status(CA_ERR_MALFORMED, ca_ledger_op_decode(bad, un + 1, &back));
        assert_status(CA_ERR_MALFORMED, ca_ledger_op_decode(bad, un - 1, &back));
        /* A failed decode writes nothing: the op read before is still there. */
        assert_memory_equal(&back, &x, sizeof x);
        ca_ledger_op before;
        memset(&before, 0xa5, sizeof before);
        before.version = CA_LEDGER_OP_VERSION; /* a layout this build fills */
        back = before;
        assert_status(CA_ERR_MALFORMED, ca_ledger_op_decode(bad, 40, &back));
        assert_memory_equal(&back, &before, sizeof before);
    }

    /* Unsigned encoding: deterministic and shorter than the signed form. */
    assert_ok(cai_ledger_op_encode(&op, bad, sizeof bad, &un));
    assert_int_equal(un, n - 2 - 66 - 66);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
    ca_identity_free(auth);
    ca_identity_free(h);
    ca_identity_free(w);
}

/*
 * Cross-process escrow: the worker consents to the AWARD's terms before the
 * hirer knows its nonce; the hirer's other ops come first; the consent still
 * opens exactly one escrow, with exactly those terms.
 */
static void test_consent_to_award_terms(void **state)
{
    (void)state;
    ca_identity *auth = ident(1), *h = ident(2), *w = ident(3), *w2 = ident(4);
    th_hire hh;
    assert_ok(th_build_hire(&hh, h, w, w2, 0));
    ca_envelope *env = NULL, *req_env = NULL;
    ca_task_msg *aw_msg = NULL, *req_msg = NULL;
    assert_ok(ca_envelope_open(&env, hh.award.buf, hh.award.len, TH_T0 + 400, NULL));
    assert_ok(ca_task_msg_parse(&aw_msg, env, NULL));
    assert_ok(ca_envelope_open(&req_env, hh.request.buf, hh.request.len, TH_T0 + 400, NULL));
    assert_ok(ca_task_msg_parse(&req_msg, req_env, NULL));
    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    assert_ok(ca_task_msg_award(aw_msg, &aw));

    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_op_escrow_open(NULL, aw_msg));
    assert_true(ca_ledger_op_escrow_open(&op, req_msg) != CA_OK); /* not an AWARD */
    assert_ok(ca_ledger_op_escrow_open(&op, aw_msg));
    ca_agent_id hid, wid;
    ca_identity_id(h, &hid);
    ca_identity_id(w, &wid);
    assert_int_equal(op.type, CA_LEDGER_OP_ESCROW_OPEN);
    assert_memory_equal(&op.signer, &hid, sizeof hid);
    assert_memory_equal(&op.counterparty, &wid, sizeof wid);
    assert_memory_equal(&op.ref, &hh.award.id, sizeof op.ref);
    assert_true(op.nonce == 0 && op.amount == aw.price && op.amount2 == aw.collateral &&
                op.deadline == aw.deadline && op.evidence == 0);

    /* The worker consents to the terms for the ledger (its id follows from the options),
     * knowing nothing of the hirer's nonce. */
    ca_ledger_options o = base_opts();
    ca_identity_id(auth, &o.authority);
    ca_hash lid;
    assert_ok(ca_ledger_options_id(&o, &lid));
    ca_signature consent;
    assert_ok(ca_ledger_op_cosign(&lid, &op, w, &consent));

    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    const uint64_t now = TH_T0 + 500;
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    uint64_t auth_nonce = 0;
    const ca_agent_id *to[2] = {&hid, &wid};
    for (int i = 0; i < 2; i++) {
        ca_ledger_op m = {.version = CA_LEDGER_OP_VERSION};
        m.type = CA_LEDGER_OP_MINT;
        m.signer = o.authority;
        m.nonce = ++auth_nonce;
        m.counterparty = *to[i];
        m.amount = 1000;
        assert_ok(ca_ledger_op_sign(&lid, &m, auth, NULL, msg, sizeof msg, &n));
        assert_ok(ca_ledger_submit(l, msg, n, now, NULL));
    }
    /* Meanwhile the hirer spends its nonce 1 on something else. */
    ca_ledger_op t = {.version = CA_LEDGER_OP_VERSION};
    t.type = CA_LEDGER_OP_TRANSFER;
    t.signer = hid;
    t.nonce = 1;
    t.counterparty = wid;
    t.amount = 5;
    assert_ok(ca_ledger_op_sign(&lid, &t, h, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, now, NULL));

    op.nonce = 2;
    assert_ok(ca_ledger_op_sign_cosigned(&lid, &op, h, &consent, msg, sizeof msg, &n));
    assert_ok(ca_ledger_op_verify(&lid, msg, n)); /* what any replica checks */
    assert_ok(ca_ledger_submit(l, msg, n, now, NULL));
    ca_ledger_escrow_info e = esc_info(l, &hh.award.id);
    assert_true(e.payment == aw.price && e.collateral == aw.collateral &&
                e.deadline == aw.deadline && e.state == CA_LEDGER_ESCROW_OPEN);
    /* One consent, one escrow: the same terms under the next nonce are refused by the ledger. */
    op.nonce = 3;
    assert_ok(ca_ledger_op_sign_cosigned(&lid, &op, h, &consent, msg, sizeof msg, &n));
    assert_status(CA_ERR_LEDGER_ESCROW_EXISTS, ca_ledger_submit(l, msg, n, now, NULL));
    /* Other terms (a larger collateral) do not carry the consent. */
    op.amount2 = aw.collateral + 1;
    assert_status(CA_ERR_BAD_SIGNATURE,
                  ca_ledger_op_sign_cosigned(&lid, &op, h, &consent, msg, sizeof msg, &n));
    assert_ok(ca_ledger_check(l));

    ca_ledger_free(l);
    ca_task_msg_free(aw_msg);
    ca_task_msg_free(req_msg);
    ca_envelope_free(env);
    ca_envelope_free(req_env);
    ca_identity_free(auth);
    ca_identity_free(h);
    ca_identity_free(w);
    ca_identity_free(w2);
}

/* ------------------------------------------------------------ durable mode */

static void rmtree(const char *dir)
{
    char p[512];
    const char *names[] = {"journal", "snapshot", "snapshot.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

static void file_patch(const char *dir, const char *name, long off, int xor_mask, long truncate_to)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    if (xor_mask) {
        if (off < 0) {
            fseek(f, 0, SEEK_END);
            off += ftell(f);
        }
        fseek(f, off, SEEK_SET);
        int c = fgetc(f);
        fseek(f, off, SEEK_SET);
        fputc(c ^ xor_mask, f);
    }
    fclose(f);
    if (truncate_to >= 0)
        assert_int_equal(truncate(p, truncate_to), 0);
}

static long file_size(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void populate(ca_ledger *l, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        ca_ledger_op op = mkop(CA_LEDGER_OP_MINT, AUTH);
        op.counterparty = agent(2 + i % 5);
        op.amount = 100 + i;
        assert_ok(ca_ledger_apply(l, &op, i, NULL));
        nonces[AUTH]++;
    }
}

static void test_durable(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_durable";
    rmtree(dir);
    ca_ledger_options o = base_opts();
    memset(nonces, 0, sizeof nonces);
    ca_ledger *l = NULL;
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.replayed, 0);
    populate(l, 10);
    uint64_t d = 0;
    assert_ok(ca_ledger_commit(l, &d));
    assert_int_equal(d, 10);
    populate(l,
             5); /* not committed: lost by a crash, kept by a clean free? no: free does not sync */
    assert_ok(ca_ledger_commit(l, &d));
    assert_int_equal(d, 15);
    ca_hash h1, h2;
    assert_ok(ca_ledger_state_hash(l, &h1));
    ca_ledger_free(l);

    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.replayed, 15);
    assert_int_equal(info.torn_bytes, 0);
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    assert_ok(ca_ledger_snapshot(l));
    populate(l, 3);
    assert_ok(ca_ledger_commit(l, &d));
    assert_int_equal(d, 18);
    assert_ok(ca_ledger_state_hash(l, &h1));
    ca_ledger_free(l);

    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.snapshot_seq, 15);
    assert_int_equal(info.replayed, 3);
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);

    /* Other options: refused. */
    ca_ledger_options o2 = o;
    o2.unbonding_delay++;
    assert_status(CA_ERR_LEDGER_OPTIONS_MISMATCH, ca_ledger_open(&l, dir, &o2, NULL));

    /* Torn tail: the last record is cut, the rest replays. */
    long js = file_size(dir, "journal");
    file_patch(dir, "journal", 0, 0, js - 7);
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.replayed, 2);
    assert_true(info.torn_bytes > 0);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.seq, 17);
    ca_ledger_free(l);
    assert_true(file_size(dir, "journal") < js - 7); /* the tail was cut on disk */

    /* A flipped bit in the first record, with a valid one after it: corrupt. */
    file_patch(dir, "journal", CAI_JOURNAL_HEADER_BYTES + 30, 0x10, -1);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
    file_patch(dir, "journal", CAI_JOURNAL_HEADER_BYTES + 30, 0x10, -1);
    /* ... in the length field too. */
    file_patch(dir, "journal", CAI_JOURNAL_HEADER_BYTES + 1, 0x40, -1);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
    file_patch(dir, "journal", CAI_JOURNAL_HEADER_BYTES + 1, 0x40, -1);
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_ledger_free(l);

    /* Damaged snapshot: corrupt, never silently dropped. */
    file_patch(dir, "snapshot", 100, 0x01, -1);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
    file_patch(dir, "snapshot", 100, 0x01, -1);
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_snapshot(NULL));
    ca_ledger_free(l);
    ca_ledger *m = fresh(&o);
    assert_status(CA_ERR_STATE, ca_ledger_snapshot(m));
    assert_ok(ca_ledger_commit(m, &d));
    ca_ledger_free(m);
    rmtree(dir);
}

/* What an escrow paid the worker survives a snapshot and a journal replay. */
static void test_escrow_paid_durable(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_escrow_paid";
    rmtree(dir);
    ca_ledger_options o = base_opts();
    memset(nonces, 0, sizeof nonces);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_ok(mint(l, 2, 1000));
    assert_ok(mint(l, 3, 1000));
    for (unsigned k = 1; k <= 4; k++)
        assert_ok(esc_open(l, 2, 3, k, 100, 20, 50, 0));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, 2, 1, 10));
    assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, 3, 2, 10));
    ca_ledger_op op = mkop(CA_LEDGER_OP_ESCROW_SPLIT, ARB);
    op.ref = award(3);
    op.amount = 37;
    op.amount2 = 5;
    assert_ok(run(l, &op, 10));
    const uint64_t want[5] = {0, 100, 0, 37, 0};
    for (int round = 0; round < 3; round++) {
        for (unsigned k = 1; k <= 4; k++) {
            ca_hash a = award(k);
            assert_int_equal(esc_info(l, &a).paid, want[k]);
        }
        assert_ok(ca_ledger_check(l));
        if (round == 0) /* next round: from the journal */
            assert_ok(ca_ledger_commit(l, NULL));
        else if (round == 1) /* last round: from the snapshot */
            assert_ok(ca_ledger_snapshot(l));
        ca_ledger_free(l);
        l = NULL;
        assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    }
    ca_ledger_free(l);
    rmtree(dir);
}

/* A snapshot's escrow payout must agree with the escrow's state. */
static void test_snapshot_rejects_bad_payout(void **state)
{
    (void)state;
    ca_ledger_options o = base_opts();
    for (int split = 0; split < 2; split++) {
        ca_ledger *l = fresh(&o);
        assert_ok(mint(l, 2, 1000));
        assert_ok(mint(l, 3, 1000));
        assert_ok(esc_open(l, 2, 3, 1, 100, 20, 50, 0));
        if (split) {
            ca_ledger_op op = mkop(CA_LEDGER_OP_ESCROW_SPLIT, ARB);
            op.ref = award(1);
            op.amount = 40;
            assert_ok(run(l, &op, 10));
        } else {
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, 2, 1, 10));
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_ok(cai_snapshot_encode(l, &buf, &len));
        ca_ledger *back = NULL;
        assert_ok(cai_snapshot_decode(buf, len, &o, 0, &back));
        ca_ledger_free(back);
        /* The one escrow is the last record: its payout is followed by `missed` and the result
         * id (33 bytes), then the count of key records (4, none), the two record counts of
         * delegations and revocations (8, both 0), the state hash and the checksum (64). */
        uint8_t *paid = buf + len - 64 - 8 - 4 - 33 - 8;
        assert_int_equal(cai_load_le64(paid), split ? 40 : 100);
        const uint64_t bad[2][2] = {{99, 0}, {101, UINT64_MAX}};
        for (int k = 0; k < 2; k++) {
            cai_store_le64(paid, bad[split][k]);
            back = NULL;
            assert_status(CA_ERR_LEDGER_CORRUPT,
                          cai_snapshot_decode(buf, len, &o, CAI_SNAP_SKIP_CHECKSUM, &back));
            assert_null(back);
        }
        free(buf);
        ca_ledger_free(l);
    }
}

/* Signed ops are journaled as signed bytes and replay. */
static void test_durable_signed(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_durable_signed";
    rmtree(dir);
    ca_identity *auth = ident(1);
    ca_ledger_options o = base_opts();
    ca_identity_id(auth, &o.authority);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    for (unsigned i = 1; i <= 4; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        op.signer = o.authority;
        op.nonce = i;
        op.counterparty = agent(10 + i);
        op.amount = i;
        assert_ok(ca_ledger_op_sign(&lid, &op, auth, NULL, msg, sizeof msg, &n));
        assert_ok(ca_ledger_submit(l, msg, n, 7, NULL));
    }
    ca_hash h1, h2;
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_ok(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.replayed, 4);
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    ca_ledger_free(l);
    ca_identity_free(auth);
    rmtree(dir);
}

/* Equivocation evidence from task.h travels with the signed slash and is journaled with it. */
static void test_equivocation_evidence(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_evidence";
    rmtree(dir);
    ca_identity *auth = ident(1), *w = ident(3), *rep = ident(4);
    ca_ledger_options o = base_opts();
    ca_identity_id(auth, &o.authority);
    ca_agent_id wid, rid;
    ca_identity_id(w, &wid);
    ca_identity_id(rep, &rid);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    op.signer = o.authority;
    op.nonce = 1;
    op.counterparty = wid;
    op.amount = 1000;
    assert_ok(ca_ledger_op_sign(&lid, &op, auth, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 1, NULL));
    op.nonce = 2; /* the reporter needs an account */
    op.counterparty = rid;
    op.amount = 1;
    assert_ok(ca_ledger_op_sign(&lid, &op, auth, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 1, NULL));
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_BOND;
    op.signer = wid;
    op.nonce = 1;
    op.amount = 1000;
    assert_ok(ca_ledger_op_sign(&lid, &op, w, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 1, NULL));

    /* Two different bids by the worker for one task, both within the request's
     * terms: equivocation. The evidence carries the request they answer. */
    ca_identity *hirer = ident(5);
    th_msg rq, b1, b2, bad;
    assert_ok(th_request(&rq, hirer, 500, 10000, 100, 0, NULL));
    assert_ok(th_bid(&b1, w, &rq.id, 1000, 50, 5000, 0));
    assert_ok(th_bid(&b2, w, &rq.id, 1000, 60, 5000, 0));
    assert_ok(th_bid(&bad, w, &rq.id, 1000, 101, 5000, 0)); /* above max_price: refused */
    ca_envelope *er = NULL, *e1 = NULL, *e2 = NULL, *eb = NULL;
    assert_ok(ca_envelope_decode(&er, rq.buf, rq.len, NULL));
    assert_ok(ca_envelope_decode(&e1, b1.buf, b1.len, NULL));
    assert_ok(ca_envelope_decode(&e2, b2.buf, b2.len, NULL));
    assert_ok(ca_envelope_decode(&eb, bad.buf, bad.len, NULL));
    static uint8_t ev[8192];
    size_t ev_len = 0;
    /* A refused bid and its correction prove nothing: no evidence, no slash. */
    assert_status(CA_ERR_BAD_EVIDENCE,
                  ca_evidence_encode(er, NULL, 0, eb, e1, ev, sizeof ev, &ev_len));
    assert_ok(ca_evidence_encode(er, NULL, 0, e1, e2, ev, sizeof ev, &ev_len));
    /* The same refused pair written by hand in the evidence format (what a
     * dishonest reporter would file): the ledger's check refuses it too. */
    static uint8_t forged[8192];
    size_t forged_len = 0;
    {
        int lo = memcmp(bad.id.bytes, b1.id.bytes, 32) < 0;
        cai_wire_writer fw;
        cai_ww_init(&fw, forged, sizeof forged);
        cai_ww_map(&fw, 4);
        cai_ww_kuint(&fw, 0, CA_KIND_TASK_BID);
        cai_ww_kbin(&fw, 1, rq.buf, rq.len);
        cai_ww_uint(&fw, 2);
        cai_ww_array(&fw, 1);
        cai_ww_bin(&fw, lo ? bad.buf : b1.buf, lo ? bad.len : b1.len);
        cai_ww_uint(&fw, 3);
        cai_ww_array(&fw, 1);
        cai_ww_bin(&fw, lo ? b1.buf : bad.buf, lo ? b1.len : bad.len);
        assert_ok(cai_ww_finish(&fw, &forged_len));
        assert_status(CA_ERR_BAD_EVIDENCE,
                      ca_evidence_verify(forged, forged_len, NULL, NULL, NULL, NULL));
    }
    ca_envelope_free(er);
    ca_envelope_free(e1);
    ca_envelope_free(e2);
    ca_envelope_free(eb);
    ca_identity_free(hirer);
    ca_hash evh, pair_hash;
    ca_agent_id offender;
    ca_evidence *evo = NULL;
    assert_ok(ca_evidence_open(&evo, ev, ev_len));
    ca_evidence_offender(evo, &offender);
    ca_evidence_offense(evo, &evh);
    ca_evidence_hash(evo, &pair_hash);
    const uint64_t task_deadline = ca_evidence_deadline(evo);
    ca_evidence_free(evo);
    assert_memory_equal(offender.bytes, wid.bytes, 32);
    assert_int_equal(task_deadline, 10000); /* the request's deadline */
    assert_int_equal(ca_evidence_deadline(NULL), 0);

    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_SLASH;
    op.signer = rid;
    op.nonce = 1;
    op.counterparty = wid;
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    op.ref = evh;
    op.deadline = task_deadline;
    assert_ok(ca_ledger_op_sign(&lid, &op, rep, NULL, msg, sizeof msg, &n));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, ca_ledger_submit(l, msg, n, 2, NULL));
    ev[ev_len - 1] ^= 1;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  ca_ledger_submit_evidence(l, msg, n, ev, ev_len, 2, NULL));
    ev[ev_len - 1] ^= 1;
    /* The op must name the evidence's offense key (not the pair's hash) and offender. */
    ca_ledger_op wrong = op;
    wrong.ref = pair_hash;
    size_t wn = 0;
    uint8_t wmsg[CA_LEDGER_OP_MAX_BYTES];
    assert_ok(ca_ledger_op_sign(&lid, &wrong, rep, NULL, wmsg, sizeof wmsg, &wn));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  ca_ledger_submit_evidence(l, wmsg, wn, ev, ev_len, 2, NULL));
    wrong = op;
    wrong.counterparty = rid;
    assert_ok(ca_ledger_op_sign(&lid, &wrong, rep, NULL, wmsg, sizeof wmsg, &wn));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  ca_ledger_submit_evidence(l, wmsg, wn, ev, ev_len, 2, NULL));
    /* ... and the task deadline the evidence proves: the window's start is not the reporter's
     * to choose (an earlier one would let the key expire early and the offense be slashed
     * again). */
    wrong = op;
    wrong.deadline = task_deadline - 1;
    assert_ok(ca_ledger_op_sign(&lid, &wrong, rep, NULL, wmsg, sizeof wmsg, &wn));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  ca_ledger_submit_evidence(l, wmsg, wn, ev, ev_len, 2, NULL));
    /* Same offender, same offense key: still no slash on the refused pair. */
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  ca_ledger_submit_evidence(l, msg, n, forged, forged_len, 2, NULL));
    assert_ok(ca_ledger_submit_evidence(l, msg, n, ev, ev_len, 2, NULL));
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(l, &wid, &a));
    assert_int_equal(a.bonded, 950);
    assert_int_equal(a.jailed_until, 2 + o.jail_equivocation);
    /* The same offense works once (a fresh op; a third bid would give another pair, same key). */
    op.nonce = 2;
    assert_ok(ca_ledger_op_sign(&lid, &op, rep, NULL, msg, sizeof msg, &n));
    assert_status(CA_ERR_LEDGER_EVIDENCE_USED,
                  ca_ledger_submit_evidence(l, msg, n, ev, ev_len, 3, NULL));
    /* Evidence only rides on equivocation slashes. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_WITHDRAW;
    op.signer = wid;
    op.nonce = 2;
    assert_ok(ca_ledger_op_sign(&lid, &op, w, NULL, msg, sizeof msg, &n));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_ledger_submit_evidence(l, msg, n, ev, ev_len, 3, NULL));
    assert_int_equal(ca_ledger_evidence_max_bytes(), CA_LEDGER_EVIDENCE_MAX_BYTES);

    /* Journaled with its evidence: a reopen replays it. */
    ca_hash h1, h2;
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_ok(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.replayed, 4);
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
    ca_identity_free(auth);
    ca_identity_free(w);
    ca_identity_free(rep);
    rmtree(dir);
}

/* ------------------------------------------------------------ hostile keys */

/*
 * Keys a peer makes up for free: TRANSFER recipients and escrow refs sharing a
 * 16-byte prefix (the old index hashed only those 16 bytes, so each set fell
 * into one run of the table and every op scanned all of it), and 256
 * recipients sharing 31 bytes. The indexes must stay as short as for random
 * keys, after the ops, after a snapshot is loaded, and through
 * ca_ledger_check. Counts, not time. Bounds (argued in test_core.c): at load
 * <= 1/2, a mean successful probe <= 1.5 slots (assert 2) and no probe or run
 * of occupied slots of 128 slots (probability < 1e-5 per table); the old
 * index reached 100k.
 */
#define FLOOD_N 100000u

static void flood_key(uint8_t out[32], uint32_t i, unsigned shared)
{
    memset(out, 0xC5, 32);
    if (shared == 31)
        out[31] = (uint8_t)i; /* differs in its last byte only */
    else
        cai_store_le32(out + 16, i); /* first 16 bytes shared */
}

static void assert_index_small(const ca_ledger *l, int which, uint32_t count)
{
    cai_idmap_stats st;
    cai_ledger_index_stats(l, which, &st);
    assert_int_equal(st.count, count);
    assert_true(st.max_probe <= 128);
    assert_true(st.max_run <= 128);
    assert_true(st.total_probe <= 2 * (uint64_t)st.count);
}

static void test_colliding_keys(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_colliding";
    rmtree(dir);
    ca_ledger_options o = base_opts();
    o.max_escrows_per_hirer = 1u << 20; /* one hirer makes up every ref here */
    memset(nonces, 0, sizeof nonces);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_ok(mint(l, 2, 10ull * FLOOD_N)); /* the flooder */
    assert_ok(mint(l, 3, 1));               /* its worker */
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, 2);
    op.amount = 1;
    for (uint32_t i = 0; i < FLOOD_N + 256; i++) {
        flood_key(op.counterparty.bytes, i < FLOOD_N ? i : i - FLOOD_N, i < FLOOD_N ? 16 : 31);
        assert_ok(ca_ledger_apply(l, &op, 1, NULL));
        op.nonce++;
    }
    op.type = CA_LEDGER_OP_ESCROW_OPEN;
    op.counterparty = agent(3);
    op.deadline = 1000;
    for (uint32_t i = 0; i < FLOOD_N; i++) {
        flood_key(op.ref.bytes, i, 16);
        assert_ok(ca_ledger_apply(l, &op, 1, NULL));
        op.nonce++;
    }
    const uint32_t accounts = 3 + FLOOD_N + 256;
    assert_index_small(l, 0, accounts);
    assert_index_small(l, 1, FLOOD_N);
    /* Every account and escrow is found where it is. */
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    ca_agent_id id;
    flood_key(id.bytes, FLOOD_N - 1, 16);
    assert_ok(ca_ledger_account(l, &id, &a));
    assert_int_equal(a.balance, 1);
    flood_key(id.bytes, 255, 31);
    assert_ok(ca_ledger_account(l, &id, &a));
    assert_int_equal(a.balance, 1);
    ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    flood_key(op.ref.bytes, 7, 16);
    assert_ok(ca_ledger_escrow(l, &op.ref, &e));
    assert_int_equal(e.payment, 1);
    assert_ok(ca_ledger_check(l));
    ca_hash h1, h2;
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_ok(ca_ledger_snapshot(l));
    ca_ledger_free(l);

    /* Reopened: snapshot decode (a find and an insert per record) and check stay linear. */
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.snapshot_seq, 2 + FLOOD_N + 256 + FLOOD_N);
    assert_index_small(l, 0, accounts);
    assert_index_small(l, 1, FLOOD_N);
    assert_ok(ca_ledger_check(l));
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.accounts, accounts);
    assert_int_equal(t.escrows, FLOOD_N);
    ca_ledger_free(l);
    rmtree(dir);
}

/* Parses signed task-message bytes (verified at their own time). */
static ca_task_msg *parse_msg(const th_msg *m)
{
    ca_envelope *env = NULL;
    ca_task_msg *msg = NULL;
    assert_ok(ca_envelope_decode(&env, m->buf, m->len, NULL));
    assert_ok(ca_task_msg_parse(&msg, env, NULL));
    ca_envelope_free(env);
    return msg;
}

/* Signs op (signer's next nonce) for ledger l and submits it with `att` (NULL: plain submit). */
static ca_status submit_signed(ca_ledger *l, ca_ledger_op *op, const ca_identity *signer,
                               const uint8_t *att, size_t att_len, uint64_t now)
{
    ca_hash lid, before, after;
    assert_ok(ca_ledger_id(l, &lid));
    ca_agent_id id;
    ca_identity_id(signer, &id);
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    op->signer = id;
    op->nonce = ca_ledger_account(l, &id, &a) == CA_OK ? a.nonce + 1 : 1;
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    assert_ok(ca_ledger_op_sign(&lid, op, signer, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_state_hash(l, &before));
    ca_status st = att != NULL ? ca_ledger_submit_evidence(l, msg, n, att, att_len, now, NULL)
                               : ca_ledger_submit(l, msg, n, now, NULL);
    if (st != CA_OK) { /* a failed submit changes nothing */
        assert_ok(ca_ledger_state_hash(l, &after));
        assert_memory_equal(before.bytes, after.bytes, 32);
    }
    return st;
}

/*
 * Issue 13, finding 7: ESCROW_DELIVER is bound to the worker's RESULT. The
 * op names the RESULT's message id; a signed DELIVER is accepted only with
 * that RESULT attached, and only if it is a RESULT with an output, signed by
 * the worker, answering this award, with that id, created by the deadline.
 * The escrow records the id (query, state hash, journal, snapshot).
 */
static void test_deliver_binds_result(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_deliver";
    rmtree(dir);
    ca_identity *auth = ident(1), *h = ident(2), *w = ident(3), *w2 = ident(4);
    ca_agent_id hid, wid;
    ca_identity_id(h, &hid);
    ca_identity_id(w, &wid);
    th_hire hh; /* award deadline TH_T0 + 8000, result created at TH_T0 + 1000 */
    assert_ok(th_build_hire(&hh, h, w, w2, 0));
    ca_ledger_options o = base_opts();
    ca_identity_id(auth, &o.authority);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    const uint64_t now = TH_T0 + 2000, deadline = TH_T0 + 8000;

    /* Accounts and the escrow of the award. */
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    for (int i = 0; i < 2; i++) {
        memset(&op, 0, sizeof op);
        op.version = CA_LEDGER_OP_VERSION;
        op.type = CA_LEDGER_OP_MINT;
        op.counterparty = i ? wid : hid;
        op.amount = 1000;
        assert_ok(submit_signed(l, &op, auth, NULL, 0, now));
    }
    ca_task_msg *aw = parse_msg(&hh.award), *res = parse_msg(&hh.result);
    assert_ok(ca_ledger_op_escrow_open(&op, aw));
    op.nonce = 1;
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    assert_ok(ca_ledger_op_sign(&lid, &op, h, w, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, now, NULL));

    /* The builder: the DELIVER a RESULT calls for. */
    ca_ledger_op dv = {.version = CA_LEDGER_OP_VERSION};
    assert_true(ca_ledger_op_escrow_deliver(&dv, aw) == CA_ERR_WRONG_KIND);
    assert_ok(ca_ledger_op_escrow_deliver(&dv, res));
    assert_int_equal(dv.type, CA_LEDGER_OP_ESCROW_DELIVER);
    assert_memory_equal(dv.signer.bytes, wid.bytes, 32);
    assert_memory_equal(dv.ref.bytes, hh.award.id.bytes, 32);
    assert_memory_equal(dv.result.bytes, hh.result.id.bytes, 32);
    assert_true(dv.nonce == 0 && dv.amount == 0 && dv.deadline == 0);
    th_msg failed;
    assert_ok(th_result(&failed, w, &hh.request.id, &hh.award.id, TH_T0 + 1000, 1, "no"));
    ca_task_msg *fail_msg = parse_msg(&failed);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_op_escrow_deliver(&op, fail_msg));
    ca_task_msg_free(fail_msg);

    /* A bare claim is refused: the RESULT must come with the op. */
    op = dv;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, submit_signed(l, &op, w, NULL, 0, now));
    /* Not a RESULT (the AWARD), damaged bytes, a failure report: refused. */
    op = dv;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  submit_signed(l, &op, w, hh.award.buf, hh.award.len, now));
    th_msg bad = hh.result;
    bad.buf[bad.len - 1] ^= 1; /* signature */
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, submit_signed(l, &op, w, bad.buf, bad.len, now));
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, submit_signed(l, &op, w, bad.buf, 5, now));
    op.result = failed.id;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  submit_signed(l, &op, w, failed.buf, failed.len, now));
    /* Someone else's RESULT for this award, claimed by the worker. */
    th_msg other;
    assert_ok(th_result(&other, w2, &hh.request.id, &hh.award.id, TH_T0 + 1000, 0, "mine"));
    op = dv;
    op.result = other.id;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, submit_signed(l, &op, w, other.buf, other.len, now));
    /* The worker's RESULT for another award. */
    ca_hash elsewhere = award(77);
    assert_ok(th_result(&other, w, &hh.request.id, &elsewhere, TH_T0 + 1000, 0, "bonjour"));
    op.result = other.id;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE, submit_signed(l, &op, w, other.buf, other.len, now));
    /* The right RESULT, but the op names another id. */
    op = dv;
    op.result = other.id;
    assert_status(CA_ERR_LEDGER_BAD_EVIDENCE,
                  submit_signed(l, &op, w, hh.result.buf, hh.result.len, now));
    /* A RESULT created after the deadline, even if the DELIVER comes in time. */
    assert_ok(th_result(&other, w, &hh.request.id, &hh.award.id, deadline + 1, 0, "late"));
    op.result = other.id;
    assert_status(CA_ERR_LEDGER_TOO_LATE, submit_signed(l, &op, w, other.buf, other.len, deadline));
    /* Oversized attachment. */
    uint8_t *huge = calloc(1, (size_t)CA_LEDGER_EVIDENCE_MAX_BYTES + 1);
    assert_non_null(huge);
    op = dv;
    assert_status(CA_ERR_LIMIT,
                  submit_signed(l, &op, w, huge, CA_LEDGER_EVIDENCE_MAX_BYTES + 1, now));
    free(huge);
    /* Only the escrow's worker delivers (a RESULT of its own does not help a stranger). */
    assert_ok(th_result(&other, w2, &hh.request.id, &hh.award.id, TH_T0 + 1000, 0, "mine"));
    op = dv;
    op.result = other.id;
    assert_status(CA_ERR_LEDGER_UNAUTHORIZED, submit_signed(l, &op, w2, other.buf, other.len, now));
    ca_ledger_escrow_info e = esc_info(l, &hh.award.id);
    assert_int_equal(e.delivered, 0);
    assert_true(cai_load_le64(e.result.bytes) == 0 && e.result.bytes[31] == 0);

    /* The worker's own RESULT for this award: recorded. */
    op = dv;
    assert_ok(submit_signed(l, &op, w, hh.result.buf, hh.result.len, now));
    e = esc_info(l, &hh.award.id);
    assert_int_equal(e.delivered, 1);
    assert_memory_equal(e.result.bytes, hh.result.id.bytes, 32);
    op = dv;
    assert_status(CA_ERR_LEDGER_DELIVERED,
                  submit_signed(l, &op, w, hh.result.buf, hh.result.len, now));
    /* Delivered: the hirer can neither refund nor slash for a missed deadline. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_ESCROW_REFUND;
    op.ref = hh.award.id;
    assert_status(CA_ERR_LEDGER_DELIVERED, submit_signed(l, &op, h, NULL, 0, deadline + 1));
    /* Attachments ride on DELIVER and equivocation slashes only. */
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  submit_signed(l, &op, h, hh.result.buf, hh.result.len, deadline + 1));
    /* Trusted path: the op still names a RESULT id, and only DELIVER names one. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_ESCROW_DELIVER;
    op.signer = wid;
    op.nonce = 2;
    op.ref = hh.award.id;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_apply(l, &op, now, NULL));
    op.type = CA_LEDGER_OP_ESCROW_RELEASE;
    op.signer = hid;
    op.result = hh.result.id;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_apply(l, &op, now, NULL));
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_ledger_op_encode(&op, enc, sizeof enc, &n));

    /* Journaled with the RESULT (one record mechanism with evidence); kept by snapshots. */
    ca_hash h1, h2;
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_ok(ca_ledger_commit(l, NULL));
    ca_ledger_free(l);
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.replayed, 4);
    assert_ok(ca_ledger_state_hash(l, &h2));
    assert_memory_equal(h1.bytes, h2.bytes, 32);
    assert_memory_equal(esc_info(l, &hh.award.id).result.bytes, hh.result.id.bytes, 32);
    assert_ok(ca_ledger_snapshot(l));
    ca_ledger_free(l);
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.snapshot_seq, 4);
    assert_memory_equal(esc_info(l, &hh.award.id).result.bytes, hh.result.id.bytes, 32);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);

    /* The recorded id is state: another RESULT id, another state hash. */
    ca_ledger_options plain = base_opts();
    ca_ledger *x = fresh(&plain), *y = fresh(&plain);
    ca_ledger *xy[2] = {x, y};
    for (int i = 0; i < 2; i++) {
        memset(nonces, 0, sizeof nonces);
        assert_ok(mint(xy[i], 2, 100));
        assert_ok(mint(xy[i], 3, 100));
        assert_ok(esc_open(xy[i], 2, 3, 1, 10, 0, 50, 0));
        ca_ledger_op d = mkop(CA_LEDGER_OP_ESCROW_DELIVER, 3);
        d.ref = award(1);
        d.result = result_of(1 + (unsigned)i);
        assert_ok(run(xy[i], &d, 1));
    }
    assert_ok(ca_ledger_state_hash(x, &h1));
    assert_ok(ca_ledger_state_hash(y, &h2));
    assert_memory_not_equal(h1.bytes, h2.bytes, 32);
    ca_ledger_free(x);
    ca_ledger_free(y);

    ca_task_msg_free(aw);
    ca_task_msg_free(res);
    ca_identity_free(auth);
    ca_identity_free(h);
    ca_identity_free(w);
    ca_identity_free(w2);
    rmtree(dir);
}

/*
 * Signed ops name their ledger: the signature and the worker's consent cover
 * the ledger id (the digest of the replicated options, `network` included),
 * so two ledgers with the same accounts cannot replay each other's ops.
 */
static void test_ops_bound_to_ledger(void **state)
{
    (void)state;
    ca_identity *auth = ident(1), *h = ident(2), *w = ident(3);
    ca_agent_id hid, wid;
    ca_identity_id(h, &hid);
    ca_identity_id(w, &wid);
    ca_ledger_options oa = base_opts(), ob;
    ca_identity_id(auth, &oa.authority);
    ob = oa;
    ob.network.bytes[0] = 1; /* same rules, another instance */
    ca_hash ida, idb, id;
    assert_ok(ca_ledger_options_id(&oa, &ida));
    assert_ok(ca_ledger_options_id(&ob, &idb));
    assert_memory_not_equal(ida.bytes, idb.bytes, 32);
    ca_ledger_options oc = oa;
    oc.unbonding_delay++; /* other rules: another id too */
    assert_ok(ca_ledger_options_id(&oc, &id));
    assert_memory_not_equal(ida.bytes, id.bytes, 32);
    oc = oa;
    oc.initial_accounts = 1000; /* a capacity hint is not a rule */
    assert_ok(ca_ledger_options_id(&oc, &id));
    assert_memory_equal(ida.bytes, id.bytes, 32);
    /* The version 3 fields are rules: each enters the id, each is validated. */
    uint64_t *v3_u64[] = {&oc.max_evidence_age, &oc.max_escrow_duration};
    for (int f = 0; f < 2; f++) {
        oc = oa;
        (*v3_u64[f])++;
        assert_ok(ca_ledger_options_id(&oc, &id));
        assert_memory_not_equal(ida.bytes, id.bytes, 32);
    }
    oc = oa;
    oc.max_escrows_per_hirer--;
    assert_ok(ca_ledger_options_id(&oc, &id));
    assert_memory_not_equal(ida.bytes, id.bytes, 32);
    oc.max_escrows_per_hirer = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_options_id(&oc, &id));
    oc.max_escrows_per_hirer = (1u << 30) + 1;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_options_id(&oc, &id));
    oc = oa;
    oc.max_escrow_duration = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_options_id(&oc, &id));
    oc.max_escrow_duration = 1;
    oc.max_evidence_age = 0; /* any window is a valid rule, none included */
    assert_ok(ca_ledger_options_id(&oc, &id));
    oc = oa;
    oc.max_accounts = 1;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_ledger_options_id(&oc, &id));
    oc.version = CA_LEDGER_OPTIONS_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_options_id(&oc, &id));

    /* A version 1 caller's struct ends before `network` (exactly that much memory here, so
     * ASan sees any access past it): its ledger has the id of a zero network. */
    const size_t v1 = offsetof(ca_ledger_options, network);
    uint8_t *raw = malloc(v1);
    assert_non_null(raw);
    /* Only through a pointer: the struct is larger than this memory, as for a v1 caller. */
    ca_ledger_options *o1 = (ca_ledger_options *)(void *)raw;
    assert_ok(ca_ledger_options_init(o1, 1));
    const unsigned int one = 1;
    memcpy(raw, &oa, v1);
    memcpy(raw + offsetof(ca_ledger_options, version), &one, sizeof one);
    ca_ledger *l1 = NULL;
    assert_ok(ca_ledger_new(&l1, o1));
    assert_ok(ca_ledger_id(l1, &id));
    assert_memory_equal(ida.bytes, id.bytes, 32);
    assert_ok(ca_ledger_options_id(o1, &id));
    assert_memory_equal(ida.bytes, id.bytes, 32);
    ca_ledger_free(l1);
    free(raw);
    /* A version 2 caller's struct ends after `network`: the version 3 fields are read as their
     * defaults (base_opts keeps them), whatever lies after its struct. */
    const size_t v2 = offsetof(ca_ledger_options, max_evidence_age);
    raw = malloc(v2);
    assert_non_null(raw);
    ca_ledger_options *o2 = (ca_ledger_options *)(void *)raw;
    assert_ok(ca_ledger_options_init(o2, 2));
    unsigned int version_read = 0; /* through bytes: the struct is larger than this memory */
    memcpy(&version_read, raw + offsetof(ca_ledger_options, version), sizeof version_read);
    assert_int_equal(version_read, 2);
    const unsigned int two = 2;
    memcpy(raw, &ob, v2);
    memcpy(raw + offsetof(ca_ledger_options, version), &two, sizeof two);
    assert_ok(ca_ledger_new(&l1, o2));
    assert_ok(ca_ledger_id(l1, &id));
    assert_memory_equal(idb.bytes, id.bytes, 32);
    assert_ok(ca_ledger_options_id(o2, &id));
    assert_memory_equal(idb.bytes, id.bytes, 32);
    ca_ledger_free(l1);
    free(raw);
    ca_ledger_options d;
    assert_ok(ca_ledger_options_init(&d, CA_LEDGER_OPTIONS_VERSION));
    assert_int_equal(d.max_evidence_age, CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT);
    assert_int_equal(d.max_evidence_age, d.unbonding_delay); /* the window: the delay */
    assert_int_equal(d.max_escrow_duration, (uint64_t)30 * 24 * 3600 * 1000);
    assert_int_equal(d.max_escrows_per_hirer, CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT);

    ca_ledger *a = NULL, *b = NULL;
    assert_ok(ca_ledger_new(&a, &oa));
    assert_ok(ca_ledger_new(&b, &ob));
    assert_ok(ca_ledger_id(a, &id));
    assert_memory_equal(ida.bytes, id.bytes, 32);
    assert_ok(ca_ledger_id(b, &id));
    assert_memory_equal(idb.bytes, id.bytes, 32);

    /* The same accounts on both (each MINT signed for its own ledger). */
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    for (int i = 0; i < 4; i++) {
        memset(&op, 0, sizeof op);
        op.version = CA_LEDGER_OP_VERSION;
        op.type = CA_LEDGER_OP_MINT;
        op.signer = oa.authority;
        op.nonce = (uint64_t)(i / 2) + 1;
        op.counterparty = i / 2 ? wid : hid;
        op.amount = 1000;
        assert_ok(ca_ledger_op_sign(i % 2 ? &idb : &ida, &op, auth, NULL, msg, sizeof msg, &n));
        assert_ok(ca_ledger_submit(i % 2 ? b : a, msg, n, 0, NULL));
    }
    /* A transfer signed for A: verifies for A only, applies on A only. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_TRANSFER;
    op.signer = hid;
    op.nonce = 1;
    op.counterparty = wid;
    op.amount = 10;
    assert_ok(ca_ledger_op_sign(&ida, &op, h, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_op_verify(&ida, msg, n));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_op_verify(&idb, msg, n));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_submit(b, msg, n, 0, NULL));
    assert_ok(ca_ledger_submit(a, msg, n, 0, NULL));
    ca_ledger_account_info ai = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(b, &hid, &ai));
    assert_true(ai.balance == 1000 && ai.nonce == 0);

    /* The worker's consent names the ledger too: a consent for A opens nothing on B. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_ESCROW_OPEN;
    op.signer = hid;
    op.nonce = 1;
    op.counterparty = wid;
    op.ref = award(1);
    op.amount = 50;
    op.amount2 = 5;
    op.deadline = 100;
    ca_signature consent;
    assert_ok(ca_ledger_op_cosign(&ida, &op, w, &consent));
    assert_status(CA_ERR_BAD_SIGNATURE,
                  ca_ledger_op_sign_cosigned(&idb, &op, h, &consent, msg, sizeof msg, &n));
    /* Splice A's consent into an op the hirer signs for B: B refuses it. */
    uint8_t for_b[CA_LEDGER_OP_MAX_BYTES];
    size_t nb = 0;
    assert_ok(ca_ledger_op_sign(&idb, &op, h, w, for_b, sizeof for_b, &nb));
    memcpy(for_b + nb - 64 - 3 - 64, consent.bytes, 64); /* key 14 holds the consent */
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_submit(b, for_b, nb, 0, NULL));
    op.nonce = 2; /* on A the hirer's nonce 1 went to the transfer; the consent still holds */
    assert_ok(ca_ledger_op_sign_cosigned(&ida, &op, h, &consent, msg, sizeof msg, &n));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_submit(b, msg, n, 0, NULL));
    assert_ok(ca_ledger_submit(a, msg, n, 0, NULL));
    ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, ca_ledger_escrow(b, &op.ref, &e));
    /* The info struct's version is the caller's: unknown ones are refused. */
    e.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_escrow(a, &op.ref, &e));
    e.version = CA_LEDGER_ESCROW_INFO_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_ledger_escrow(a, &op.ref, &e));
    e.version = CA_LEDGER_ESCROW_INFO_VERSION;
    assert_ok(ca_ledger_escrow(a, &op.ref, &e));
    assert_true(e.payment == 50 && e.collateral == 5 && e.paid == 0 && e.missed == 0);

    ca_ledger_free(a);
    ca_ledger_free(b);
    ca_identity_free(auth);
    ca_identity_free(h);
    ca_identity_free(w);
}

/* ------------------------------------------------------------ retention */

/* One step of the retention stream: escrows opened and settled, slashes, a clock that advances
 * (and sometimes steps back). Statuses are not checked: both replicas get the same ops. */
static void retention_step(ca_ledger *l, unsigned i, uint64_t *now)
{
    *now += i % 97 == 0 && *now > 50 ? (uint64_t)-40 : 7; /* now and then the host steps back */
    unsigned k = i / 3;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    switch (i % 3) {
    case 0: /* H hires W; the deadlines repeat, so drops tie on time and go by key */
        op = mkop(CA_LEDGER_OP_ESCROW_OPEN, 2);
        op.counterparty = agent(3);
        op.ref = award(k);
        op.amount = 1;
        op.deadline = *now + 50 - (k % 5) * 10;
        break;
    case 1: /* settle it, or slash its worker for a made-up equivocation */
        if (k % 4 == 3) {
            op = mkop(CA_LEDGER_OP_SLASH, 4);
            op.counterparty = agent(3);
            op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
            op.ref = award(100000 + k);
            op.deadline = *now - (*now > 30 ? 30 : *now);
        } else {
            op = mkop(k % 2 ? CA_LEDGER_OP_ESCROW_RELEASE : CA_LEDGER_OP_ESCROW_REFUND, 2);
            op.ref = award(k);
        }
        break;
    default:
        op = mkop(CA_LEDGER_OP_TRANSFER, 3);
        op.counterparty = agent(2);
        op.amount = 1;
        break;
    }
    if (ca_ledger_apply(l, &op, *now, NULL) == CA_OK)
        nonces[op.signer.bytes[0]] = op.nonce;
}

static ca_ledger_options retention_opts(void)
{
    ca_ledger_options o = base_opts();
    o.max_evidence_age = 300;
    o.max_escrow_duration = 100;
    o.slash_equivocation_ppm = 1; /* a unit a key */
    return o;
}

static void retention_setup(ca_ledger *l)
{
    assert_ok(mint(l, 2, 100000));
    assert_ok(mint(l, 3, 100000));
    assert_ok(mint(l, 4, 1));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, 3, 50000, 0));
}

static void assert_same_snapshot(ca_ledger *a, ca_ledger *b)
{
    uint8_t *ea = NULL, *eb = NULL;
    size_t na = 0, nb = 0;
    assert_ok(cai_snapshot_encode(a, &ea, &na));
    assert_ok(cai_snapshot_encode(b, &eb, &nb));
    assert_int_equal(na, nb);
    assert_memory_equal(ea, eb, na);
    free(ea);
    free(eb);
}

/*
 * Records kept for slash-once are dropped deterministically: a replica that
 * applies the same ops with the same nows reaches the same state hash and
 * even the same snapshot bytes, whether it ran straight through, restarted
 * from a snapshot halfway (its expiry heap rebuilt in another layout) or
 * replayed its journal; ca_ledger_check holds throughout and catches a
 * record kept past its time or a wrong per-hirer count.
 */
static void test_retention_deterministic(void **state)
{
    (void)state;
    ca_ledger_options o = retention_opts();
    enum { STEPS = 3000 };
    ca_ledger *a = fresh(&o);
    retention_setup(a);
    uint64_t now = 0;
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    uint64_t most = 0;
    for (unsigned i = 0; i < STEPS; i++) {
        retention_step(a, i, &now);
        ca_ledger_totals_get(a, &t);
        most = t.escrows > most ? t.escrows : most;
        if (i % 500 == 0)
            assert_ok(ca_ledger_check(a));
    }
    assert_ok(ca_ledger_check(a));
    /* A thousand escrows were opened; the table held one window's worth at most. */
    assert_true(most < 100);
    assert_true(a->n_evidence > 0 && a->n_evidence < 100);

    /* Restarted from a snapshot halfway. */
    const char *dir = CA_TEST_TMP_DIR "/ledger_retention";
    rmtree(dir);
    memset(nonces, 0, sizeof nonces);
    ca_ledger *b = NULL;
    assert_ok(ca_ledger_open(&b, dir, &o, NULL));
    retention_setup(b);
    now = 0;
    for (unsigned i = 0; i < STEPS; i++) {
        retention_step(b, i, &now);
        if (i == STEPS / 2) {
            assert_ok(ca_ledger_snapshot(b));
            ca_ledger_free(b);
            b = NULL;
            assert_ok(ca_ledger_open(&b, dir, &o, NULL));
        }
    }
    ca_hash ha, hb;
    assert_ok(ca_ledger_state_hash(a, &ha));
    assert_ok(ca_ledger_state_hash(b, &hb));
    assert_memory_equal(ha.bytes, hb.bytes, 32);
    assert_same_snapshot(a, b);
    /* And from its journal (every op after the halfway snapshot replayed, drops included). */
    assert_ok(ca_ledger_commit(b, NULL));
    ca_ledger_free(b);
    b = NULL;
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&b, dir, &o, &info));
    print_message("retention: %llu ops replayed after the snapshot\n",
                  (unsigned long long)info.replayed);
    assert_true(info.replayed > 500);
    assert_ok(ca_ledger_state_hash(b, &hb));
    assert_memory_equal(ha.bytes, hb.bytes, 32);
    assert_same_snapshot(a, b);
    ca_ledger_free(b);
    rmtree(dir);

    /* The check sees a kept record past its time, and a wrong per-hirer count. */
    assert_true(a->n_heap > 0);
    uint64_t horizon = a->horizon;
    a->horizon = a->heap[0].at + 1;
    assert_status(CA_ERR_LEDGER_INVARIANT, ca_ledger_check(a));
    a->horizon = horizon;
    uint32_t k = 0;
    while (k < a->n_hirers && a->hirers[k].account != a->escrows[0].hirer)
        k++;
    assert_true(k < a->n_hirers);
    a->hirers[k].escrows++;
    assert_status(CA_ERR_LEDGER_INVARIANT, ca_ledger_check(a));
    a->hirers[k].escrows--;
    assert_ok(ca_ledger_check(a));
    /* A record at zero escrows is wrong too: a hirer with none keeps no record. */
    uint32_t saved = a->hirers[k].escrows;
    a->hirers[k].escrows = 0;
    assert_status(CA_ERR_LEDGER_INVARIANT, ca_ledger_check(a));
    a->hirers[k].escrows = saved;
    assert_ok(ca_ledger_check(a));
    ca_ledger_free(a);
}

/*
 * The per-hirer escrow counts are sparse: accounts that never hire hold no
 * record (1000 funded accounts: no memory for counts at all), a hirer holds
 * one record while it has an escrow open or kept, and loses it when its last
 * one is dropped; the quota counts across that.
 */
static void test_hirer_counts_sparse(void **state)
{
    (void)state;
    ca_ledger_options o = retention_opts();
    o.max_escrows_per_hirer = 2;
    ca_ledger *l = fresh(&o);
    for (unsigned k = 10; k < 60; k++)
        assert_ok(mint(l, k, 1000));
    assert_int_equal(l->n_hirers, 0);
    assert_int_equal(l->cap_hirers, 0);
    assert_int_equal(cai_idmap_memory_bytes(&l->hirer_index), 0);
    /* Three hirers, one with two escrows (its quota), one worker. */
    assert_ok(esc_open(l, 10, 50, 1, 5, 0, 90, 1));
    assert_ok(esc_open(l, 11, 50, 2, 5, 0, 90, 1));
    assert_ok(esc_open(l, 11, 50, 3, 5, 0, 90, 1));
    assert_ok(esc_open(l, 12, 50, 4, 5, 0, 90, 1));
    assert_int_equal(l->n_hirers, 3);
    assert_status(CA_ERR_LIMIT, esc_open(l, 11, 50, 5, 5, 0, 90, 1));
    assert_ok(ca_ledger_check(l));
    /* Settled escrows are kept (and counted) until the window passes... */
    for (unsigned k = 1; k <= 4; k++)
        assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, k == 1 ? 10 : k < 4 ? 11 : 12, k, 2));
    assert_int_equal(l->n_hirers, 3);
    assert_status(CA_ERR_LIMIT, esc_open(l, 11, 50, 5, 5, 0, 90, 2));
    /* ...then dropped by a later op, and with the last one the hirer's record goes. */
    assert_ok(xfer(l, 13, 14, 1));
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, 13);
    op.counterparty = agent(14);
    op.amount = 1;
    assert_ok(run(l, &op, 1000));
    assert_int_equal(l->n_escrows, 0);
    assert_int_equal(l->n_hirers, 0);
    assert_int_equal(l->hirer_index.count, 0);
    assert_ok(esc_open(l, 11, 50, 6, 5, 0, 1050, 1000));
    assert_ok(esc_open(l, 11, 50, 7, 5, 0, 1050, 1000));
    assert_int_equal(l->n_hirers, 1);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
}

/*
 * Dropping is O(log n) per record, counted: 4096 escrows settled with
 * deadlines in decreasing order (each insert climbs past every later one),
 * every fourth on one earlier deadline (ties go by key), then all dropped by
 * one op. The heap moves entries at most log2(n) times per insert and per
 * drop.
 */
static void test_retention_cost(void **state)
{
    (void)state;
    enum { N = 4096, LOG2N = 12 };
    ca_ledger_options o = base_opts();
    o.max_evidence_age = 10;
    o.max_escrow_duration = 1u << 20;
    o.max_escrows_per_hirer = N;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, 2, N));
    assert_ok(mint(l, 3, 1));
    for (unsigned k = 0; k < N; k++) {
        ca_ledger_op op = mkop(CA_LEDGER_OP_ESCROW_OPEN, 2);
        op.counterparty = agent(3);
        op.ref = award(k);
        op.amount = 1;
        op.deadline = k % 4 == 0 ? 1000 : 1000 + N - k;
        assert_ok(ca_ledger_apply(l, &op, 1, NULL));
        nonces[2] = op.nonce;
        op = mkop(CA_LEDGER_OP_ESCROW_RELEASE, 2);
        op.ref = award(k);
        assert_ok(ca_ledger_apply(l, &op, 1, NULL));
        nonces[2] = op.nonce;
    }
    assert_int_equal(l->n_heap, N);
    const uint64_t pushes = l->heap_moves;
    assert_true(pushes <= (uint64_t)N * LOG2N);
    assert_ok(ca_ledger_check(l));
    assert_ok(xfer(l, 3, 2, 1)); /* at now 0: nothing expires */
    assert_int_equal(l->n_heap, N);
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, 3);
    op.counterparty = agent(2);
    op.amount = 1;
    assert_ok(ca_ledger_apply(l, &op, 1000 + N + 11, NULL));
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.escrows, 0);
    assert_int_equal(l->n_heap, 0);
    assert_true(l->heap_moves - pushes <= (uint64_t)N * LOG2N);
    print_message("expiry heap: %u records, %llu moves to insert, %llu to drop (bound %u each)\n",
                  N, (unsigned long long)pushes, (unsigned long long)(l->heap_moves - pushes),
                  N * LOG2N);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
}

/* ------------------------------------------------------------ differential */

/*
 * Reference model: the rules of docs/LEDGER.md written the plainest way
 * (linear search, arrays indexed by small numbers), sharing no code with the
 * ledger. Agents are agent(0..N_AGENTS-1), awards award(0..N_AWARDS-1),
 * equivocation refs {k} for k < N_EVREF.
 */
#define N_AGENTS 24
#define N_AWARDS 65536
#define N_EVREF  16
#define MAX_E    255

typedef struct {
    int exists;
    uint64_t bal, bonded, nonce, jail;
    int n;
    uint64_t amt[MAX_E], mat[MAX_E];
} ref_acc;

typedef struct {
    int exists, hirer, worker, state, delivered, missed;
    uint64_t pay, col, dl, paid;
    ca_hash result;
    int used_missed, used_dispute[2]; /* [0] hirer offender, [1] worker offender */
} ref_esc;

typedef struct {
    ca_ledger_options o;
    ref_acc a[N_AGENTS];
    int naccounts, nescrows, opened; /* escrows held; ESCROW_OPENs applied (picks awards) */
    int hired[N_AGENTS];             /* escrows held per hirer */
    ref_esc e[N_AWARDS];
    unsigned char used_eq[N_AGENTS][N_EVREF];
    uint64_t eq_expiry[N_AGENTS][N_EVREF];
    int kept[N_AWARDS], nkept; /* settled escrows still held */
    uint64_t minted, burned, horizon;
} ref_model;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* After an applied op: the horizon moves on and whatever expired before it is dropped. */
static void ref_prune(ref_model *m, uint64_t now)
{
    if (now > m->horizon)
        m->horizon = now;
    const uint64_t w = m->o.max_evidence_age;
    for (int c = 0; c < N_AGENTS; c++)
        for (int r = 0; r < N_EVREF; r++)
            if (m->used_eq[c][r] && m->eq_expiry[c][r] < m->horizon)
                m->used_eq[c][r] = 0;
    for (int i = 0; i < m->nkept;) {
        ref_esc *e = &m->e[m->kept[i]];
        if (sat_add(e->dl, w) < m->horizon) {
            e->exists = 0;
            m->nescrows--;
            m->hired[e->hirer]--;
            m->kept[i] = m->kept[--m->nkept];
        } else {
            i++;
        }
    }
}

static int who(const ca_agent_id *id)
{
    for (int k = 0; k < N_AGENTS; k++) {
        ca_agent_id x = agent((unsigned)k);
        if (memcmp(x.bytes, id->bytes, 32) == 0)
            return k;
    }
    return -1;
}

/* award(k) -> k; anything else -> -1. */
static int award_no(const ca_hash *h)
{
    static const uint8_t z[28];
    uint32_t k = cai_load_le32(h->bytes);
    return k < N_AWARDS && memcmp(h->bytes + 4, z, 28) == 0 ? (int)k : -1;
}

static uint64_t ceil_ppm(uint64_t x, uint32_t ppm)
{
    /* x*ppm/1e6 rounded up, with x split to stay in 64 bits: x = q*1e6 + r. */
    uint64_t q = x / 1000000, r = x % 1000000;
    return q * ppm + (r * ppm + 999999) / 1000000;
}

static uint64_t floor_ppm(uint64_t x, uint32_t ppm)
{
    uint64_t q = x / 1000000, r = x % 1000000;
    return q * ppm + (r * ppm) / 1000000;
}

static ca_status ref_apply(ref_model *m, const ca_ledger_op *op, uint64_t now)
{
    const ca_ledger_options *o = &m->o;
    int s = who(&op->signer), c = who(&op->counterparty);
    ref_acc *A = m->a;
    uint32_t t = op->type;
    static const ca_hash zh;
    static const ca_agent_id zid;
    int uses_cp = t == 1 || t == 2 || t == 6 || t == 11;
    int uses_ref = t >= 6;
    int uses_amt = (t >= 1 && t <= 4) || t == 6 || t == 10 || t == 13;
    int uses_amt2 = t == 6 || t == 10;
    int no_result = memcmp(&op->result, &zh, 32) == 0;
    /* 12 (REVOKE) is another branch's type; 13 is KEY_EVENT. */
    if (t < 1 || t > 13 || t == 12)
        return CA_ERR_INVALID_ARGUMENT;
    if ((!uses_cp && memcmp(&op->counterparty, &zid, 32)) ||
        (!uses_ref && memcmp(&op->ref, &zh, 32)) || (!uses_amt && op->amount) ||
        (!uses_amt2 && op->amount2) || (t != 6 && t != 11 && op->deadline) ||
        (t != 11 && op->evidence) || (t != 7 && !no_result))
        return CA_ERR_INVALID_ARGUMENT;
    if ((t <= 4 || t == 6) && op->amount == 0)
        return CA_ERR_INVALID_ARGUMENT;
    if (t == 7 && no_result)
        return CA_ERR_INVALID_ARGUMENT;
    if (t == 13 && memcmp(&op->ref, &zh, 32) == 0)
        return CA_ERR_INVALID_ARGUMENT;
    if (t == 11 && (op->evidence < 1 || op->evidence > 3))
        return CA_ERR_INVALID_ARGUMENT;
    if (t == 11 && op->evidence != 1 && op->deadline) /* only equivocation names a deadline */
        return CA_ERR_INVALID_ARGUMENT;
    if (t == 1 && s != AUTH)
        return CA_ERR_LEDGER_UNAUTHORIZED;
    if ((t == 10 || (t == 11 && op->evidence == 3)) && s != ARB)
        return CA_ERR_LEDGER_UNAUTHORIZED;
    if ((t == 2 || t == 6 || t == 11) && s == c)
        return CA_ERR_LEDGER_SELF_DEALING;
    uint64_t last = A[s].exists ? A[s].nonce : 0;
    if (op->nonce <= last)
        return CA_ERR_LEDGER_DUPLICATE;
    if (op->nonce != last + 1)
        return CA_ERR_LEDGER_BAD_NONCE;
    if (t == 13) /* a trusted KEY_EVENT has no event attached */
        return CA_ERR_LEDGER_BAD_EVIDENCE;
    int k = award_no(&op->ref);
    const uint64_t clock = now > m->horizon ? now : m->horizon;
#define NEWACC(cond)                                                                               \
    do {                                                                                           \
        if ((cond) && (uint64_t)m->naccounts + 1 > o->max_accounts)                                \
            return CA_ERR_LIMIT;                                                                   \
    } while (0)
    switch (t) {
    case 1: {
        if (op->amount > UINT64_MAX - m->minted)
            return CA_ERR_OVERFLOW;
        int need = !A[s].exists + (!A[c].exists && c != s);
        if (need && (uint64_t)m->naccounts + (uint64_t)need > o->max_accounts)
            return CA_ERR_LIMIT;
        if (!A[s].exists)
            A[s].exists = 1, m->naccounts++;
        if (!A[c].exists)
            A[c].exists = 1, m->naccounts++;
        A[c].bal += op->amount;
        m->minted += op->amount;
        break;
    }
    case 2:
        if (!A[s].exists)
            return CA_ERR_LEDGER_UNKNOWN_ACCOUNT;
        if (A[s].bal < op->amount)
            return CA_ERR_LEDGER_INSUFFICIENT_FUNDS;
        NEWACC(!A[c].exists);
        if (!A[c].exists)
            A[c].exists = 1, m->naccounts++;
        A[s].bal -= op->amount;
        A[c].bal += op->amount;
        break;
    case 3:
        if (!A[s].exists)
            return CA_ERR_LEDGER_UNKNOWN_ACCOUNT;
        if (now < A[s].jail)
            return CA_ERR_LEDGER_JAILED;
        if (A[s].bal < op->amount)
            return CA_ERR_LEDGER_INSUFFICIENT_FUNDS;
        A[s].bal -= op->amount;
        A[s].bonded += op->amount;
        break;
    case 4:
        if (!A[s].exists)
            return CA_ERR_LEDGER_UNKNOWN_ACCOUNT;
        if (A[s].bonded < op->amount)
            return CA_ERR_LEDGER_INSUFFICIENT_FUNDS;
        if ((uint32_t)A[s].n >= o->max_unbonding_entries)
            return CA_ERR_LIMIT;
        if (now > UINT64_MAX - o->unbonding_delay)
            return CA_ERR_OVERFLOW;
        A[s].bonded -= op->amount;
        A[s].amt[A[s].n] = op->amount;
        A[s].mat[A[s].n] = now + o->unbonding_delay;
        A[s].n++;
        break;
    case 5: {
        if (!A[s].exists)
            return CA_ERR_LEDGER_UNKNOWN_ACCOUNT;
        int any = 0;
        for (int i = 0; i < A[s].n; i++)
            any |= A[s].mat[i] <= now;
        if (!any)
            return CA_ERR_LEDGER_TOO_EARLY;
        int j = 0;
        for (int i = 0; i < A[s].n; i++) {
            if (A[s].mat[i] <= now) {
                A[s].bal += A[s].amt[i];
            } else {
                A[s].amt[j] = A[s].amt[i];
                A[s].mat[j] = A[s].mat[i];
                j++;
            }
        }
        A[s].n = j;
        break;
    }
    case 6: {
        if (k >= 0 && m->e[k].exists)
            return CA_ERR_LEDGER_ESCROW_EXISTS;
        if ((uint64_t)m->nescrows >= o->max_escrows)
            return CA_ERR_LIMIT;
        if (op->deadline <= now)
            return CA_ERR_LEDGER_TOO_LATE;
        if (sat_add(op->deadline, o->max_evidence_age) < clock)
            return CA_ERR_LEDGER_TOO_LATE;
        if (op->deadline - now > o->max_escrow_duration)
            return CA_ERR_LIMIT;
        if (!A[s].exists || !A[c].exists)
            return CA_ERR_LEDGER_UNKNOWN_ACCOUNT;
        if ((uint64_t)m->hired[s] >= o->max_escrows_per_hirer)
            return CA_ERR_LIMIT;
        if (now < A[c].jail)
            return CA_ERR_LEDGER_JAILED;
        if (A[s].bal < op->amount || A[c].bal < op->amount2)
            return CA_ERR_LEDGER_INSUFFICIENT_FUNDS;
        ref_esc *e = &m->e[k];
        memset(e, 0, sizeof *e);
        e->exists = 1;
        e->hirer = s;
        e->worker = c;
        e->state = 1;
        e->pay = op->amount;
        e->col = op->amount2;
        e->dl = op->deadline;
        m->nescrows++;
        m->opened++;
        m->hired[s]++;
        A[s].bal -= op->amount;
        A[c].bal -= op->amount2;
        break;
    }
    case 7:
    case 8:
    case 9:
    case 10: {
        if (k < 0 || !m->e[k].exists)
            return CA_ERR_LEDGER_UNKNOWN_ESCROW;
        ref_esc *e = &m->e[k];
        if ((t == 7 && s != e->worker) || (t == 8 && s != e->hirer) ||
            (t == 9 && s != e->hirer && s != e->worker))
            return CA_ERR_LEDGER_UNAUTHORIZED;
        if (e->state != 1)
            return CA_ERR_LEDGER_ESCROW_CLOSED;
        if (t == 7) {
            if (e->delivered)
                return CA_ERR_LEDGER_DELIVERED;
            if (now > e->dl)
                return CA_ERR_LEDGER_TOO_LATE;
            e->delivered = 1;
            e->result = op->result;
            break;
        }
        if (t == 9 && s == e->hirer) {
            if (e->delivered)
                return CA_ERR_LEDGER_DELIVERED;
            if (now <= e->dl)
                return CA_ERR_LEDGER_TOO_EARLY;
        }
        if (t == 10 && (op->amount > e->pay || op->amount2 > e->col))
            return CA_ERR_INVALID_ARGUMENT;
        if (t == 10)
            NEWACC(!A[s].exists);
        if (!A[s].exists)
            A[s].exists = 1, m->naccounts++;
        e->missed = !e->delivered && now > e->dl;
        m->kept[m->nkept++] = k;
        if (t == 8) {
            A[e->worker].bal += e->pay + e->col;
            e->paid = e->pay;
            e->state = 2;
        } else if (t == 9) {
            A[e->hirer].bal += e->pay;
            A[e->worker].bal += e->col;
            e->state = 3;
        } else {
            A[e->worker].bal += op->amount + (e->col - op->amount2);
            A[e->hirer].bal += (e->pay - op->amount) + op->amount2;
            e->paid = op->amount;
            e->state = 4;
        }
        break;
    }
    case 11: {
        if ((!A[s].exists && op->evidence != 3) || c < 0 || !A[c].exists)
            return CA_ERR_LEDGER_UNKNOWN_ACCOUNT; /* reports create no accounts (but the arbiter's)
                                                   */
        int victim = -1;
        unsigned char *used;
        uint64_t offense = op->deadline;
        if (op->evidence == 1) {
            used = &m->used_eq[c][op->ref.bytes[0] % N_EVREF];
        } else {
            int kk = award_no(&op->ref);
            if (kk < 0 || !m->e[kk].exists)
                return CA_ERR_LEDGER_UNKNOWN_ESCROW;
            ref_esc *e = &m->e[kk];
            if (op->evidence == 2) {
                /* Open and past due, or settled after the deadline: slashable once. */
                if (c != e->worker)
                    return CA_ERR_LEDGER_BAD_EVIDENCE;
                if (e->delivered)
                    return CA_ERR_LEDGER_DELIVERED;
                if (e->state == 1 && now <= e->dl)
                    return CA_ERR_LEDGER_TOO_EARLY;
                if (e->state != 1 && !e->missed)
                    return CA_ERR_LEDGER_ESCROW_CLOSED;
                victim = e->hirer;
                used = (unsigned char *)&e->used_missed;
            } else {
                if (c != e->worker && c != e->hirer)
                    return CA_ERR_LEDGER_BAD_EVIDENCE;
                victim = c == e->worker ? e->hirer : e->worker;
                used = (unsigned char *)&e->used_dispute[c == e->worker];
            }
            offense = e->dl;
        }
        if (op->evidence == 1 && offense > sat_add(now, o->max_escrow_duration))
            return CA_ERR_LEDGER_TOO_EARLY;
        if (sat_add(offense, o->max_evidence_age) < clock)
            return CA_ERR_LEDGER_EVIDENCE_EXPIRED;
        if (*used)
            return CA_ERR_LEDGER_EVIDENCE_USED;
        uint32_t ppm = op->evidence == 1   ? o->slash_equivocation_ppm
                       : op->evidence == 2 ? o->slash_missed_deadline_ppm
                                           : o->slash_dispute_ppm;
        uint64_t at_risk = ceil_ppm(A[c].bonded, ppm);
        for (int i = 0; i < A[c].n; i++)
            if (A[c].mat[i] > now)
                at_risk += ceil_ppm(A[c].amt[i], ppm);
        if (at_risk == 0)
            return CA_ERR_LEDGER_NO_STAKE;
        NEWACC(!A[s].exists);
        if (!A[s].exists)
            A[s].exists = 1, m->naccounts++;
        *used = 1;
        if (op->evidence == 1)
            m->eq_expiry[c][op->ref.bytes[0] % N_EVREF] = sat_add(offense, o->max_evidence_age);
        uint64_t total = ceil_ppm(A[c].bonded, ppm);
        A[c].bonded -= ceil_ppm(A[c].bonded, ppm);
        int j = 0;
        for (int i = 0; i < A[c].n; i++) {
            if (A[c].mat[i] > now) {
                uint64_t cut = ceil_ppm(A[c].amt[i], ppm);
                total += cut;
                A[c].amt[i] -= cut;
            }
            if (A[c].amt[i] > 0) {
                A[c].amt[j] = A[c].amt[i];
                A[c].mat[j] = A[c].mat[i];
                j++;
            }
        }
        A[c].n = j;
        uint64_t rep = op->evidence != 3 ? floor_ppm(total, o->reporter_share_ppm) : 0;
        uint64_t vic = victim >= 0 ? floor_ppm(total, o->victim_share_ppm) : 0;
        A[s].bal += rep;
        if (victim >= 0)
            A[victim].bal += vic;
        m->burned += total - rep - vic;
        uint64_t jail = op->evidence == 1   ? o->jail_equivocation
                        : op->evidence == 2 ? o->jail_missed_deadline
                                            : o->jail_dispute;
        if (jail) {
            uint64_t until = now > UINT64_MAX - jail ? UINT64_MAX : now + jail;
            if (until > A[c].jail)
                A[c].jail = until;
        }
        break;
    }
    }
    A[s].nonce = op->nonce;
    ref_prune(m, now);
    return CA_OK;
}

/* xorshift64* */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

static uint64_t rnd_amount(uint64_t *s)
{
    switch (rnd(s, 16)) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX - rnd(s, 3);
    case 2:
        return 1 + rnd(s, 5000);
    default:
        return 1 + rnd(s, 120);
    }
}

static ca_ledger_op random_op(ref_model *m, uint64_t *s, uint64_t now)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    uint32_t t = (uint32_t)(rnd(s, 60) == 0 ? rnd(s, 14) : 1 + rnd(s, 11));
    if (t > 11) /* types after SLASH (REVOKE, ...) have tests of their own: here, unknown ones */
        t += 100;
    if (rnd(s, 4) == 0)
        t = CA_LEDGER_OP_TRANSFER;
    op.type = t;
    unsigned sg = (unsigned)rnd(s, N_AGENTS);
    if (t == CA_LEDGER_OP_MINT && rnd(s, 8))
        sg = AUTH;
    if ((t == CA_LEDGER_OP_ESCROW_SPLIT || t == CA_LEDGER_OP_SLASH) && rnd(s, 3) == 0)
        sg = ARB;
    /* Awards near the newest one: some fresh, most recent (open or just settled). */
    unsigned k = (unsigned)(m->opened + rnd(s, 24));
    k = k >= 16 ? k - 16 : k;
    if (k >= N_AWARDS)
        k = (unsigned)rnd(s, N_AWARDS);
    if (t >= 7 && t <= 10 && rnd(s, 4) && m->e[k].exists) {
        /* Pick the party the op needs, most of the time. */
        sg = t == 7 ? (unsigned)m->e[k].worker : t == 8 ? (unsigned)m->e[k].hirer : sg;
        if (t == 9)
            sg = (unsigned)(rnd(s, 2) ? m->e[k].hirer : m->e[k].worker);
    }
    op.signer = agent(sg);
    uint64_t n = m->a[sg].exists ? m->a[sg].nonce : 0;
    switch (rnd(s, 40)) {
    case 0:
        op.nonce = n;
        break;
    case 1:
        op.nonce = n + 2;
        break;
    case 2:
        op.nonce = 0;
        break;
    default:
        op.nonce = n + 1;
    }
    unsigned cp = (unsigned)rnd(s, N_AGENTS);
    switch (t) {
    case CA_LEDGER_OP_MINT:
        op.counterparty = agent(cp);
        op.amount = rnd(s, 50) == 0 ? UINT64_MAX / 3 : rnd_amount(s) % 100000;
        break;
    case CA_LEDGER_OP_TRANSFER:
        op.counterparty = agent(cp);
        op.amount = rnd_amount(s);
        break;
    case CA_LEDGER_OP_BOND:
    case CA_LEDGER_OP_UNBOND:
        op.amount = rnd_amount(s);
        break;
    case CA_LEDGER_OP_ESCROW_OPEN:
        op.counterparty = agent(cp);
        op.ref = award(k);
        op.amount = rnd_amount(s);
        op.amount2 = rnd(s, 3) ? rnd(s, 60) : rnd_amount(s);
        op.deadline = now + rnd(s, 40) - 3;
        break;
    case CA_LEDGER_OP_ESCROW_DELIVER:
        op.ref = award(k);
        if (rnd(s, 50))
            op.result = result_of((unsigned)rnd(s, 1000) + 1); /* else none: refused */
        break;
    case CA_LEDGER_OP_ESCROW_RELEASE:
    case CA_LEDGER_OP_ESCROW_REFUND:
        op.ref = award(k);
        break;
    case CA_LEDGER_OP_ESCROW_SPLIT:
        op.ref = award(k);
        op.amount = m->e[k].exists && rnd(s, 4) ? rnd(s, m->e[k].pay + 2) : rnd_amount(s);
        op.amount2 = m->e[k].exists && rnd(s, 4) ? rnd(s, m->e[k].col + 2) : rnd(s, 10);
        break;
    case CA_LEDGER_OP_SLASH:
        op.evidence = (uint32_t)(rnd(s, 30) == 0 ? rnd(s, 5) : 1 + rnd(s, 3));
        if (op.evidence == 1) {
            memset(op.ref.bytes, 0, 32);
            op.ref.bytes[0] = (uint8_t)rnd(s, N_EVREF);
            op.ref.bytes[1] = 0xEE;
            op.counterparty = agent(cp);
            /* The task's deadline: recent, a little ahead, too far ahead, long ago. */
            uint64_t span = m->o.max_escrow_duration + m->o.max_evidence_age;
            switch (rnd(s, 8)) {
            case 0:
                op.deadline = now + m->o.max_escrow_duration + 1 + rnd(s, 5);
                break;
            case 1:
                op.deadline = now > span ? now - span - rnd(s, 5) : 0;
                break;
            case 2:
                op.deadline = 0;
                break;
            default:
                op.deadline = now + rnd(s, 2 * m->o.max_escrow_duration + 1);
                op.deadline = op.deadline > m->o.max_escrow_duration
                                  ? op.deadline - m->o.max_escrow_duration
                                  : 0;
            }
        } else {
            op.ref = award(k);
            if (m->e[k].exists && rnd(s, 3))
                cp = (unsigned)(rnd(s, 2) ? m->e[k].worker : m->e[k].hirer);
            op.counterparty = agent(cp);
        }
        break;
    default:
        break;
    }
    if (rnd(s, 200) == 0 && !(t == CA_LEDGER_OP_SLASH && op.evidence == 1))
        op.deadline = 1; /* stray field */
    if (rnd(s, 400) == 0 && t != CA_LEDGER_OP_ESCROW_DELIVER)
        op.result.bytes[3] = 1; /* stray result */
    if (rnd(s, 300) == 0 && t != CA_LEDGER_OP_ESCROW_OPEN && op.evidence != 1)
        op.ref.bytes[7] ^= 1; /* an award id the model does not know */
    return op;
}

static void compare(const ref_model *m, ca_ledger *l)
{
    for (unsigned k = 0; k < N_AGENTS; k++) {
        ca_agent_id id = agent(k);
        ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
        assert_status(m->a[k].exists ? CA_OK : CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                      ca_ledger_account(l, &id, &a));
        if (!m->a[k].exists)
            continue;
        uint64_t unb = 0;
        for (int i = 0; i < m->a[k].n; i++)
            unb += m->a[k].amt[i];
        assert_true(a.balance == m->a[k].bal && a.bonded == m->a[k].bonded && a.unbonding == unb &&
                    a.nonce == m->a[k].nonce && a.jailed_until == m->a[k].jail &&
                    a.unbonding_entries == (uint32_t)m->a[k].n);
    }
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_true(t.minted == m->minted && t.burned == m->burned);
    assert_int_equal(t.accounts, (uint64_t)m->naccounts);
    assert_int_equal(t.escrows, (uint64_t)m->nescrows);
}

static unsigned long diff_ops_total(void)
{
    const char *e = getenv("CA_LEDGER_DIFF_OPS");
    if (e && *e)
        return strtoul(e, NULL, 10);
#if defined(__SANITIZE_ADDRESS__)
    return 200000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 200000;
#endif
#endif
    return 1000000;
}

static void run_differential(ca_ledger_options o, uint64_t seed, unsigned long nops)
{
    ref_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->o = o;
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    uint64_t s = seed, now = 1000;
    unsigned long counts[2] = {0, 0}, hist[32] = {0};
    for (unsigned long i = 0; i < nops; i++) {
        now += rnd(&s, 4);
        if (rnd(&s, 64) == 0) /* the host's clock may step back: the horizon does not */
            now -= rnd(&s, 40);
        ca_ledger_op op = random_op(m, &s, now);
        ca_status want = ref_apply(m, &op, now);
        unsigned long serial = cai_error_serial();
        ca_status got = ca_ledger_apply(l, &op, now, NULL);
        if (got != want)
            fail_msg("op %lu (seed %llu, type %u): ledger %s (%s), model %s", i,
                     (unsigned long long)seed, op.type, ca_status_str(got), ca_last_error(),
                     ca_status_str(want));
        if (got != CA_OK && cai_error_serial() == serial) /* LAST ERROR RULE */
            fail_msg("op %lu (seed %llu, type %u): %s without a sentence of its own", i,
                     (unsigned long long)seed, op.type, ca_status_str(got));
        counts[got == CA_OK]++;
        hist[got == CA_OK ? 0 : got <= -400 ? -got - 399 : got >= -10 ? 20 - got : 31]++;
        if (op.type >= 6 && op.type <= 10 && cai_load_le32(op.ref.bytes) < N_AWARDS) {
            unsigned k = cai_load_le32(op.ref.bytes);
            ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
            ca_status st = ca_ledger_escrow(l, &op.ref, &e);
            if (m->e[k].exists && memcmp(op.ref.bytes + 4, (uint8_t[28]){0}, 28) == 0) {
                assert_ok(st);
                assert_true(e.state == (uint32_t)m->e[k].state &&
                            e.delivered == (uint32_t)m->e[k].delivered &&
                            e.missed == (uint32_t)m->e[k].missed && e.paid == m->e[k].paid &&
                            e.payment == m->e[k].pay && e.collateral == m->e[k].col);
                assert_memory_equal(e.result.bytes, m->e[k].result.bytes, 32);
            }
        }
        if (i % 4096 == 0) {
            compare(m, l);
            if (i % 65536 == 0)
                assert_ok(ca_ledger_check(l));
        }
    }
    compare(m, l);
    assert_ok(ca_ledger_check(l));
    /* Every outcome must be represented: each ledger status and the general ones. */
    print_message("differential seed %llu: %lu ops, %lu applied\n", (unsigned long long)seed, nops,
                  counts[1]);
    for (int i = 0; i < 32; i++)
        if (hist[i])
            print_message("  %s %lu\n",
                          ca_status_str(i == 0    ? 0
                                        : i <= 20 ? -399 - i
                                        : i < 31  ? 20 - i
                                                  : -9999),
                          hist[i]);
    /* Both outcomes must be well represented. */
    assert_true(counts[0] > nops / 10 && counts[1] > nops / 10);
    ca_ledger_free(l);
    free(m);
}

static void test_differential(void **state)
{
    (void)state;
    unsigned long total = diff_ops_total(), per = total / 4 + 1;
    ca_ledger_options o = base_opts();
    o.max_accounts = 20;
    o.max_escrows = 400;
    o.max_unbonding_entries = 4;
    o.unbonding_delay = 50;
    o.slash_equivocation_ppm = 333333;
    o.slash_missed_deadline_ppm = 7;
    o.slash_dispute_ppm = 999999;
    o.reporter_share_ppm = 123457;
    o.victim_share_ppm = 234567;
    o.jail_equivocation = 30;
    o.jail_missed_deadline = 5;
    o.jail_dispute = UINT64_MAX - 3;
    o.max_evidence_age = 60;
    o.max_escrow_duration = 30;
    o.max_escrows_per_hirer = 12;
    run_differential(o, 0x1234567, per);
    o.slash_equivocation_ppm = CA_LEDGER_PPM;
    o.reporter_share_ppm = 0;
    o.victim_share_ppm = CA_LEDGER_PPM;
    o.max_accounts = 1u << 20;
    o.max_escrows = 1u << 20;
    o.max_unbonding_entries = 255;
    o.jail_dispute = 0;
    o.max_evidence_age = 0; /* an offense is slashable at its time only */
    o.max_escrow_duration = 1;
    o.max_escrows_per_hirer = 1u << 20;
    run_differential(o, 0xBEEF, per);
    o = base_opts();
    o.max_evidence_age = 400;
    o.max_escrow_duration = 1000;
    o.max_escrows_per_hirer = 40;
    run_differential(o, 42, per);
    o.max_evidence_age = UINT64_MAX; /* nothing ever expires */
    o.max_escrow_duration = UINT64_MAX;
    o.unbonding_delay = 0;
    o.slash_missed_deadline_ppm = 1;
    o.reporter_share_ppm = CA_LEDGER_PPM;
    o.victim_share_ppm = 0;
    run_differential(o, 7, per);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_mint_transfer),
        cmocka_unit_test(test_account_limit),
        cmocka_unit_test(test_bond_unbond_withdraw),
        cmocka_unit_test(test_escrow),
        cmocka_unit_test(test_slash_rounding_and_shares),
        cmocka_unit_test(test_slash_missed_deadline_and_dispute),
        cmocka_unit_test(test_missed_deadline_after_settlement),
        cmocka_unit_test(test_slash_edges),
        cmocka_unit_test(test_state_hash),
        cmocka_unit_test(test_signed_ops),
        cmocka_unit_test(test_consent_to_award_terms),
        cmocka_unit_test(test_durable),
        cmocka_unit_test(test_escrow_paid_durable),
        cmocka_unit_test(test_snapshot_rejects_bad_payout),
        cmocka_unit_test(test_durable_signed),
        cmocka_unit_test(test_op_and_record_writers),
        cmocka_unit_test(test_equivocation_evidence),
        cmocka_unit_test(test_colliding_keys),
        cmocka_unit_test(test_deliver_binds_result),
        cmocka_unit_test(test_ops_bound_to_ledger),
        cmocka_unit_test(test_retention_deterministic),
        cmocka_unit_test(test_hirer_counts_sparse),
        cmocka_unit_test(test_retention_cost),
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
