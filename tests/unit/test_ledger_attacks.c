/*
 * Ledger attacks from the list in docs/SECURITY.md ("Attacks on reputation and
 * staking"): double spending of escrowed funds, stake withdrawal before a slash
 * lands, self-dealing through a second identity, rounding that would leak value
 * a unit at a time, replayed signed ops, and the availability of the ledger's
 * tables against peers that would fill them for free (escrows, used evidence
 * keys, accounts). Public API only.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cyberagent.h"
#include "ledger/ledger_internal.h"
#include "test_util.h"

#define PPM 1000000u

static ca_agent_id agent(unsigned k)
{
    ca_agent_id id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = (uint8_t)k;
    id.bytes[1] = (uint8_t)(k >> 8);
    id.bytes[31] = 0x3C;
    return id;
}

static ca_hash award(unsigned k)
{
    ca_hash h;
    memset(&h, 0, sizeof h);
    h.bytes[0] = (uint8_t)k;
    h.bytes[1] = (uint8_t)(k >> 8);
    h.bytes[2] = (uint8_t)(k >> 16);
    h.bytes[31] = 0xAD;
    return h;
}

enum { AUTH = 0, ARB = 1, N_AGENTS = 1024 };

static uint64_t nonces[N_AGENTS];

static ca_ledger_options opts(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = agent(AUTH);
    o.arbiter = agent(ARB);
    o.unbonding_delay = 100;
    o.jail_equivocation = 1000;
    o.jail_missed_deadline = 0;
    o.jail_dispute = 0;
    return o;
}

static ca_ledger *fresh(const ca_ledger_options *o)
{
    memset(nonces, 0, sizeof nonces);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, o));
    return l;
}

static unsigned index_of(const ca_agent_id *id)
{
    return (unsigned)id->bytes[0] | (unsigned)id->bytes[1] << 8;
}

static ca_ledger_op mkop(uint32_t type, unsigned signer)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = agent(signer);
    op.nonce = nonces[signer] + 1;
    return op;
}

/*
 * Applies `op`; on success the test's nonce advances, on failure the state
 * hash and the totals must be exactly as before. The invariants are checked
 * from scratch after every op.
 */
static ca_status run(ca_ledger *l, const ca_ledger_op *op, uint64_t now)
{
    ca_hash before, after;
    ca_ledger_totals tb = {.version = CA_LEDGER_TOTALS_VERSION},
                     ta = {.version = CA_LEDGER_TOTALS_VERSION};
    assert_ok(ca_ledger_state_hash(l, &before));
    ca_ledger_totals_get(l, &tb);
    ca_status st = ca_ledger_apply(l, op, now, NULL);
    if (st == CA_OK) {
        nonces[index_of(&op->signer)] = op->nonce;
    } else {
        assert_ok(ca_ledger_state_hash(l, &after));
        assert_memory_equal(before.bytes, after.bytes, sizeof before.bytes);
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

static ca_status simple(ca_ledger *l, uint32_t type, unsigned who, uint64_t amount, uint64_t now)
{
    ca_ledger_op op = mkop(type, who);
    op.amount = amount;
    return run(l, &op, now);
}

static ca_status xfer(ca_ledger *l, unsigned from, unsigned to, uint64_t amount, uint64_t now)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_TRANSFER, from);
    op.counterparty = agent(to);
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

static ca_status esc_op(ca_ledger *l, uint32_t type, unsigned who, unsigned k, uint64_t amount,
                        uint64_t amount2, uint64_t now)
{
    ca_ledger_op op = mkop(type, who);
    op.ref = award(k);
    op.amount = amount;
    op.amount2 = amount2;
    if (type == CA_LEDGER_OP_ESCROW_DELIVER)
        memset(op.result.bytes, 0xD5, sizeof op.result.bytes); /* the RESULT's id (trusted path) */
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
    if (ca_ledger_account(l, &id, &a) != CA_OK)
        a = (ca_ledger_account_info){.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return a;
}

/* Everything an account holds: spendable, bonded and unbonding. */
static uint64_t holdings(ca_ledger *l, unsigned k)
{
    ca_ledger_account_info a = acct(l, k);
    return a.balance + a.bonded + a.unbonding;
}

static uint64_t burned(ca_ledger *l)
{
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    return t.burned;
}

/* ---------------------------------------------------------- double spending */

enum { SETTLE_RELEASE, SETTLE_REFUND_WORKER, SETTLE_REFUND_HIRER, SETTLE_SPLIT, SETTLE_N };

static ca_status settle(ca_ledger *l, int how, unsigned hirer, unsigned worker, unsigned k,
                        uint64_t now)
{
    switch (how) {
    case SETTLE_RELEASE:
        return esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, hirer, k, 0, 0, now);
    case SETTLE_REFUND_WORKER:
        return esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, worker, k, 0, 0, now);
    case SETTLE_REFUND_HIRER:
        return esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, hirer, k, 0, 0, now);
    default:
        return esc_op(l, CA_LEDGER_OP_ESCROW_SPLIT, ARB, k, 37, 4, now);
    }
}

/*
 * Units locked in an escrow leave the spendable balance at once: neither side
 * can transfer, bond or lock them again. An escrow settles exactly once, by
 * whichever settlement comes first; every later settlement of any kind is
 * CA_ERR_LEDGER_ESCROW_CLOSED, and the award id never opens a second escrow.
 */
static void test_escrowed_funds_spent_once(void **state)
{
    (void)state;
    const unsigned H = 2, W = 3, X = 4;
    ca_ledger_options o = opts();
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, H, 100));
    assert_ok(mint(l, W, 10));
    assert_ok(mint(l, X, 50));
    assert_ok(esc_open(l, H, W, 1, 100, 10, 50, 0));
    /* The hirer's 100 and the worker's 10 are locked: nothing left to spend twice. */
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, xfer(l, H, X, 1, 1));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, simple(l, CA_LEDGER_OP_BOND, H, 1, 1));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, esc_open(l, H, X, 2, 1, 0, 50, 1));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, xfer(l, W, X, 1, 1));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, simple(l, CA_LEDGER_OP_BOND, W, 1, 1));
    assert_status(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, esc_open(l, X, W, 3, 1, 1, 50, 1));
    /* The same award id cannot lock the hirer's funds a second time either. */
    assert_status(CA_ERR_LEDGER_ESCROW_EXISTS, esc_open(l, X, W, 1, 1, 0, 50, 1));
    ca_ledger_free(l);

    /* Every ordered pair of settlements: the first one applies, the second never does. */
    for (int first = 0; first < SETTLE_N; first++) {
        for (int second = 0; second < SETTLE_N; second++) {
            l = fresh(&o);
            assert_ok(mint(l, H, 100));
            assert_ok(mint(l, W, 10));
            assert_ok(esc_open(l, H, W, 1, 100, 10, 50, 0));
            /* A hirer's refund needs a missed deadline; the rest may come at any time. */
            uint64_t now = first == SETTLE_REFUND_HIRER ? 51 : 10;
            assert_ok(settle(l, first, H, W, 1, now));
            assert_status(CA_ERR_LEDGER_ESCROW_CLOSED, settle(l, second, H, W, 1, 60));
            assert_status(CA_ERR_LEDGER_ESCROW_CLOSED,
                          esc_op(l, CA_LEDGER_OP_ESCROW_DELIVER, W, 1, 0, 0, 20));
            assert_status(CA_ERR_LEDGER_ESCROW_EXISTS, esc_open(l, H, W, 1, 1, 0, 500, 60));
            /* What the two parties hold together is what they started with; nothing burned. */
            assert_int_equal(holdings(l, H) + holdings(l, W), 110);
            ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
            ca_ledger_totals_get(l, &t);
            assert_int_equal(t.escrowed, 0);
            assert_int_equal(t.burned, 0);
            assert_int_equal(t.minted, 110);
            ca_ledger_free(l);
        }
    }
}

/* ------------------------------------------------------- exit before slash */

/*
 * What an equivocation slash at `when` takes from an offender that bonded 1000 at 0. Nothing
 * at stake: the slash is refused (CA_ERR_LEDGER_NO_STAKE) and the offender is not jailed.
 */
static uint64_t slashed_after(int unbond_entries, uint64_t unbond_at, uint64_t when, int withdraw)
{
    const unsigned OFF = 2, REP = 3;
    ca_ledger_options o = opts();
    o.max_unbonding_entries = 16;
    o.slash_equivocation_ppm = 50000; /* 5% */
    o.reporter_share_ppm = 100000;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, REP, 1)); /* a reporter needs an account */
    assert_ok(mint(l, OFF, 1000));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, OFF, 1000, 0));
    /* The offender tries to leave with its stake: `unbond_entries` entries of uneven size. */
    uint64_t left = 1000;
    for (int k = 0; k < unbond_entries; k++) {
        const uint64_t after =
            (uint64_t)(unbond_entries - k); /* entries still to come, this one too */
        uint64_t part = k == unbond_entries - 1 ? left : 1 + (left - after) / 2;
        assert_ok(simple(l, CA_LEDGER_OP_UNBOND, OFF, part, unbond_at));
        left -= part;
    }
    if (withdraw)
        assert_ok(simple(l, CA_LEDGER_OP_WITHDRAW, OFF, 0, when));
    uint64_t before = holdings(l, OFF);
    ca_hash ev = award(77);
    ca_status st = slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, when);
    if (st == CA_ERR_LEDGER_NO_STAKE) {
        assert_int_equal(holdings(l, OFF), before);
        assert_int_equal(acct(l, OFF).jailed_until, 0);
        ca_ledger_free(l);
        return 0;
    }
    assert_ok(st);
    uint64_t taken = before - holdings(l, OFF);
    /* Every unit taken went to the reporter or was burned. */
    assert_int_equal(taken, holdings(l, REP) - 1 + burned(l));
    assert_true(acct(l, OFF).jailed_until == when + o.jail_equivocation);
    ca_ledger_free(l);
    return taken;
}

/*
 * Unbonding does not dodge a slash: an entry stays slashable until it matures
 * (unbonding_delay after the UNBOND), and each entry loses its own rounded-up
 * share, so spreading the stake over many entries never lowers the slash.
 * Once the delay has passed the units are out of reach: a slash that lands
 * later would take nothing from them and is refused (the limit
 * docs/SECURITY.md states).
 */
static void test_exit_before_slash(void **state)
{
    (void)state;
    const uint64_t bonded_only = slashed_after(0, 0, 50, 0);
    assert_int_equal(bonded_only, 50);
    /* Unbonded right after the offense, slashed before maturity: the same amount. */
    assert_int_equal(slashed_after(1, 10, 50, 0), bonded_only);
    assert_int_equal(slashed_after(1, 10, 109, 0), bonded_only);
    /* Spread over many entries: never less (each entry's share is rounded up). */
    for (int n = 2; n <= 16; n++)
        assert_true(slashed_after(n, 10, 50, 0) >= bonded_only);
    /* Matured (the delay of 100 passed at 110): no longer at risk, withdrawn or not. */
    assert_int_equal(slashed_after(1, 10, 110, 0), 0);
    assert_int_equal(slashed_after(1, 10, 110, 1), 0);
}

/* -------------------------------------------- self-dealing and self-reports */

static uint64_t splitmix(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/*
 * An offender that hires itself through a second identity S (the escrow's
 * victim) and reports its own missed deadline through a third identity R
 * (the reporter) gets back at most what was slashed: the three together
 * never gain, they lose what was burned, and they lose at least one unit
 * whenever reporter + victim shares are below 100% and anything was slashed.
 * Reporting itself directly is refused, as is hiring or paying itself.
 */
static void test_self_report_never_pays(void **state)
{
    (void)state;
    const unsigned W = 2, S = 3, R = 4;
    ca_ledger_options o = opts();
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, W, 100));
    assert_ok(mint(l, S, 100));
    assert_ok(mint(l, R, 1));
    assert_status(CA_ERR_LEDGER_SELF_DEALING, esc_open(l, W, W, 1, 10, 0, 50, 0));
    assert_status(CA_ERR_LEDGER_SELF_DEALING, xfer(l, W, W, 1, 0));
    assert_ok(esc_open(l, S, W, 1, 10, 0, 50, 0));
    assert_status(CA_ERR_LEDGER_SELF_DEALING,
                  slash(l, W, W, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, award(1), 51));
    ca_ledger_free(l);

    uint64_t seed = 0x5E1F;
    const uint32_t ppm_choices[] = {1, 999, 10000, 50000, 333333, 999999, PPM};
    for (int trial = 0; trial < 300; trial++) {
        o = opts();
        o.slash_missed_deadline_ppm = ppm_choices[splitmix(&seed) % 7];
        o.slash_equivocation_ppm = ppm_choices[splitmix(&seed) % 7];
        o.reporter_share_ppm = (uint32_t)(splitmix(&seed) % (PPM + 1));
        o.victim_share_ppm = (uint32_t)(splitmix(&seed) % (PPM + 1 - o.reporter_share_ppm));
        if (trial % 5 == 0) /* the shares add up to exactly 100% */
            o.victim_share_ppm = PPM - o.reporter_share_ppm;
        const uint64_t stake = 1 + splitmix(&seed) % 5000;
        const uint64_t unbond = splitmix(&seed) % (stake + 1);
        const int kind =
            trial % 2 ? CA_LEDGER_EVIDENCE_MISSED_DEADLINE : CA_LEDGER_EVIDENCE_EQUIVOCATION;
        l = fresh(&o);
        assert_ok(mint(l, W, stake + 100));
        assert_ok(mint(l, S, 100));
        assert_ok(mint(l, R, 1)); /* a reporter needs an account */
        assert_ok(simple(l, CA_LEDGER_OP_BOND, W, stake, 0));
        if (unbond > 0)
            assert_ok(simple(l, CA_LEDGER_OP_UNBOND, W, unbond, 0));
        assert_ok(esc_open(l, S, W, 1, 10, 5, 50, 0));
        const uint64_t group = holdings(l, W) + holdings(l, S) + holdings(l, R);
        const uint64_t burned0 = burned(l);
        assert_ok(slash(l, R, W, (uint32_t)kind, award(1), 51));
        const uint64_t after = holdings(l, W) + holdings(l, S) + holdings(l, R);
        const uint64_t burn = burned(l) - burned0;
        /* Nobody outside the group gained; the group lost exactly the burn. */
        assert_int_equal(after + burn, group);
        uint32_t share = o.reporter_share_ppm;
        if (kind == CA_LEDGER_EVIDENCE_MISSED_DEADLINE)
            share += o.victim_share_ppm; /* no victim for equivocation: that share burns */
        if (share < PPM && group - after == 0)
            fail_msg("trial %d: a slash of a stake of %llu cost the group nothing", trial,
                     (unsigned long long)stake);
        ca_ledger_free(l);
    }
}

/* ------------------------------------------------------------------ rounding */

/* The slash of a stake held as `parts[0]` bonded and parts[1..n) in unbonding entries. */
static uint64_t slash_of(const uint64_t *parts, int n, uint32_t ppm, uint64_t *burn_out,
                         uint64_t *reporter_out)
{
    const unsigned OFF = 2, REP = 3;
    ca_ledger_options o = opts();
    o.slash_equivocation_ppm = ppm;
    o.reporter_share_ppm = 333333;
    ca_ledger *l = fresh(&o);
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += parts[i];
    assert_ok(mint(l, REP, 1)); /* a reporter needs an account */
    assert_ok(mint(l, OFF, total + 1));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, OFF, 1, 0)); /* bond 1 + every part */
    for (int i = 0; i < n; i++)
        if (parts[i] > 0)
            assert_ok(simple(l, CA_LEDGER_OP_BOND, OFF, parts[i], 0));
    for (int i = 1; i < n; i++)
        if (parts[i] > 0)
            assert_ok(simple(l, CA_LEDGER_OP_UNBOND, OFF, parts[i], 0));
    uint64_t before = holdings(l, OFF);
    assert_ok(slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, award(9), 1));
    uint64_t taken = before - holdings(l, OFF);
    *burn_out = burned(l);
    *reporter_out = holdings(l, REP) - 1;
    ca_ledger_free(l);
    return taken;
}

/*
 * One rounding direction, in favour of the system: a slash never rounds a
 * non-zero stake down to nothing, splitting a stake over entries never lowers
 * it, the reporter's share is rounded down and the dust is burned. An escrow
 * settlement moves exactly the escrowed units between the two parties, so a
 * long run of one-unit escrows settled every possible way creates and loses
 * nothing.
 */
static void test_rounding_never_favours_the_actor(void **state)
{
    (void)state;
    const uint32_t ppms[] = {1, 7, 250000, 333333, 999999, PPM};
    uint64_t seed = 0xD05E;
    for (size_t p = 0; p < sizeof ppms / sizeof ppms[0]; p++) {
        for (int trial = 0; trial < 40; trial++) {
            /* bond 1 is always there, so the whole stake is >= 1. */
            uint64_t whole = splitmix(&seed) % 700;
            uint64_t parts[4] = {whole, 0, 0, 0};
            uint64_t burn = 0, rep = 0;
            const uint64_t one = slash_of(parts, 1, ppms[p], &burn, &rep);
            const uint64_t stake = whole + 1;
            assert_true(one >= 1);     /* a unit of stake at risk is never rounded away */
            assert_true(one <= stake); /* and never more than the stake */
            /* ceil(stake * ppm / 10^6), exactly. */
            assert_int_equal(one, (stake * ppms[p] + PPM - 1) / PPM);
            assert_int_equal(rep, one * 333333 / PPM); /* reporter: rounded down */
            assert_int_equal(burn, one - rep);         /* the dust burns */
            /* The same stake spread over the bond and up to three entries. */
            uint64_t rest = whole;
            for (int i = 1; i < 4; i++) {
                parts[i] = rest ? splitmix(&seed) % (rest + 1) : 0;
                rest -= parts[i];
            }
            parts[0] = rest;
            assert_true(slash_of(parts, 4, ppms[p], &burn, &rep) >= one);
        }
    }

    /* One-unit escrows settled every way, thousands of times: conservation holds exactly. */
    const unsigned A = 2, B = 3;
    ca_ledger_options o = opts();
    o.max_escrows = 4096;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, A, 5));
    assert_ok(mint(l, B, 5));
    uint64_t now = 0;
    for (unsigned k = 1; k <= 3000; k++) {
        unsigned hirer = k % 2 ? A : B, worker = k % 2 ? B : A;
        uint64_t pay = 1 + splitmix(&seed) % 3, col = splitmix(&seed) % 3;
        if (acct(l, hirer).balance < pay || acct(l, worker).balance < col)
            continue;
        assert_ok(esc_open(l, hirer, worker, k, pay, col, now + 10, now));
        switch (splitmix(&seed) % 4) {
        case 0:
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, hirer, k, 0, 0, now));
            break;
        case 1:
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, worker, k, 0, 0, now));
            break;
        case 2:
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_REFUND, hirer, k, 0, 0, now + 11));
            break;
        default:
            assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_SPLIT, ARB, k, splitmix(&seed) % (pay + 1),
                             splitmix(&seed) % (col + 1), now));
            break;
        }
        now += 20;
        assert_int_equal(holdings(l, A) + holdings(l, B), 10);
    }
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_true(t.escrows > 1000);
    assert_int_equal(t.burned, 0);
    assert_int_equal(t.escrowed, 0);
    ca_ledger_free(l);
}

/* ------------------------------------------------------------ replayed ops */

static ca_identity *ident(unsigned k)
{
    uint8_t seed[32] = {(uint8_t)k, 0x3C, 0xA7};
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

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

/* Every signed op already applied answers CA_ERR_LEDGER_DUPLICATE and changes nothing. */
static void replays_refused(ca_ledger *l, uint8_t msgs[][CA_LEDGER_OP_MAX_BYTES],
                            const size_t *lens, size_t n, uint64_t now)
{
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    for (size_t i = 0; i < n; i++)
        assert_status(CA_ERR_LEDGER_DUPLICATE, ca_ledger_submit(l, msgs[i], lens[i], now, NULL));
    assert_ok(ca_ledger_state_hash(l, &after));
    assert_memory_equal(before.bytes, after.bytes, sizeof before.bytes);
}

/*
 * A signed op applies once: resubmitting any op already applied (the last
 * one, an older one, an escrow release) is CA_ERR_LEDGER_DUPLICATE, in
 * memory, after the journal is replayed on reopen, and after a snapshot.
 */
static void test_replayed_ops_apply_once(void **state)
{
    (void)state;
    const char *dir = CA_TEST_TMP_DIR "/ledger_attacks_replay";
    rmtree(dir);
    ca_identity *auth = ident(1), *h = ident(2), *w = ident(3);
    ca_agent_id hid, wid;
    ca_identity_id(h, &hid);
    ca_identity_id(w, &wid);
    ca_ledger_options o = opts();
    ca_identity_id(auth, &o.authority);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));

    static uint8_t msgs[6][CA_LEDGER_OP_MAX_BYTES];
    size_t lens[6];
    ca_ledger_op ops[6];
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < 6; i++)
        ops[i].version = CA_LEDGER_OP_VERSION;
    ops[0].type = CA_LEDGER_OP_MINT;
    ops[0].signer = o.authority;
    ops[0].nonce = 1;
    ops[0].counterparty = hid;
    ops[0].amount = 1000;
    ops[1] = ops[0];
    ops[1].nonce = 2;
    ops[1].counterparty = wid;
    ops[2].type = CA_LEDGER_OP_TRANSFER;
    ops[2].signer = hid;
    ops[2].nonce = 1;
    ops[2].counterparty = wid;
    ops[2].amount = 7;
    ops[3].type = CA_LEDGER_OP_ESCROW_OPEN;
    ops[3].signer = hid;
    ops[3].nonce = 2;
    ops[3].counterparty = wid;
    ops[3].ref = award(1);
    ops[3].amount = 100;
    ops[3].amount2 = 10;
    ops[3].deadline = 500;
    ops[4].type = CA_LEDGER_OP_TRANSFER; /* a worker op between open and release */
    ops[4].signer = wid;
    ops[4].nonce = 1;
    ops[4].counterparty = hid;
    ops[4].amount = 3;
    ops[5].type = CA_LEDGER_OP_ESCROW_RELEASE;
    ops[5].signer = hid;
    ops[5].nonce = 3;
    ops[5].ref = award(1);
    for (int i = 0; i < 6; i++) {
        const ca_identity *signer = i < 2 ? auth : i == 4 ? w : h;
        assert_ok(ca_ledger_op_sign(&lid, &ops[i], signer, i == 3 ? w : NULL, msgs[i],
                                    sizeof msgs[i], &lens[i]));
        assert_ok(ca_ledger_submit(l, msgs[i], lens[i], 10, NULL));
        replays_refused(l, msgs, lens, (size_t)i + 1, 10);
    }
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(l, &wid, &a));
    assert_int_equal(a.balance, 1000 + 7 - 3 + 100);
    /* Another op under a used nonce is refused as well, whatever it says. */
    ca_ledger_op again = ops[2];
    again.amount = 1;
    uint8_t other[CA_LEDGER_OP_MAX_BYTES];
    size_t other_len = 0;
    assert_ok(ca_ledger_op_sign(&lid, &again, h, NULL, other, sizeof other, &other_len));
    assert_status(CA_ERR_LEDGER_DUPLICATE, ca_ledger_submit(l, other, other_len, 10, NULL));

    /* After a restart (journal replay), and after a snapshot: still applied once. */
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            assert_ok(ca_ledger_commit(l, NULL));
        else
            assert_ok(ca_ledger_snapshot(l));
        ca_ledger_free(l);
        l = NULL;
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        assert_ok(ca_ledger_open(&l, dir, &o, &info));
        assert_int_equal(round == 0 ? info.replayed : info.snapshot_seq, 6);
        replays_refused(l, msgs, lens, 6, 20);
        assert_ok(ca_ledger_account(l, &wid, &a));
        assert_int_equal(a.balance, 1000 + 7 - 3 + 100);
    }
    ca_ledger_free(l);
    ca_identity_free(auth);
    ca_identity_free(h);
    ca_identity_free(w);
    rmtree(dir);
}

/*
 * Sizes a peer controls are bounded before any work: a signed op longer than
 * CA_LEDGER_DELEGATED_OP_MAX_BYTES (the largest, with a chain) and evidence longer than
 * CA_LEDGER_EVIDENCE_MAX_BYTES are CA_ERR_LIMIT, whatever they contain, and change nothing.
 */
static void test_oversize_inputs_refused(void **state)
{
    (void)state;
    ca_identity *r = ident(5);
    ca_ledger_options o = opts();
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, 2, 10));
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_SLASH;
    ca_identity_id(r, &op.signer);
    op.nonce = 1;
    op.counterparty = agent(2);
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    op.ref = award(1);
    uint8_t msg[CA_LEDGER_DELEGATED_OP_MAX_BYTES + 1];
    size_t n = 0;
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    assert_ok(ca_ledger_op_sign(&lid, &op, r, NULL, msg, sizeof msg, &n));
    uint8_t *big = calloc(1, CA_LEDGER_EVIDENCE_MAX_BYTES + 1);
    assert_non_null(big);
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    memset(msg + n, 0, sizeof msg - n);
    assert_status(CA_ERR_LIMIT, ca_ledger_submit(l, msg, sizeof msg, 5, NULL));
    assert_status(CA_ERR_LIMIT, ca_ledger_op_decode(msg, sizeof msg, &op));
    assert_status(CA_ERR_LIMIT, ca_ledger_submit_evidence(
                                    l, msg, n, big, CA_LEDGER_EVIDENCE_MAX_BYTES + 1, 5, NULL));
    assert_ok(ca_ledger_state_hash(l, &after));
    assert_memory_equal(before.bytes, after.bytes, sizeof before.bytes);
    free(big);
    ca_ledger_free(l);
    ca_identity_free(r);
}

/* ------------------------------------------- availability (ledger.h, AVAILABILITY) */

/*
 * Issue 13, ledger availability, first weakness (docs/SECURITY.md, "Double
 * spending"): settled escrows used to stay for ever under one table cap, so
 * two identities holding one unit between them filled the table by hiring
 * each other and releasing, and then nobody could open an escrow. Now a hirer
 * holds at most max_escrows_per_hirer escrows, open or kept, and a settled
 * escrow is kept only until its deadline + max_evidence_age, the deadline at
 * most max_escrow_duration ahead: the pair fills its two quotas and no more,
 * an honest hirer still opens, and once the window has passed any applied op
 * drops the pair's records and frees the quotas. An award id whose record was
 * dropped does not open again with the deadline it had: that deadline is
 * past, and with a host clock that steps back it is older than the window
 * (the ledger's horizon).
 */
static void test_escrow_table_stays_available(void **state)
{
    (void)state;
    const unsigned A = 2, B = 3, H = 4, W = 5;
    ca_ledger_options o = opts();
    o.max_escrows = 64;
    o.max_escrows_per_hirer = 8;
    o.max_evidence_age = 1000;
    o.max_escrow_duration = 500;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, A, 1));
    assert_ok(mint(l, B, 1));
    assert_ok(mint(l, H, 1000));
    assert_ok(mint(l, W, 1000));
    for (unsigned k = 1; k <= 16; k++) {
        unsigned hirer = k % 2 ? A : B, worker = k % 2 ? B : A;
        assert_ok(esc_open(l, hirer, worker, k, 1, 0, 100 + k, k));
        assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, hirer, k, 0, 0, k));
    }
    /* Eight kept escrows each: the quota is full, the table is not. */
    assert_status(CA_ERR_LIMIT, esc_open(l, A, B, 17, 1, 0, 117, 17));
    assert_status(CA_ERR_LIMIT, esc_open(l, B, A, 18, 1, 0, 118, 18));
    assert_int_equal(holdings(l, A) + holdings(l, B), 2);
    assert_ok(esc_open(l, H, W, 1000, 100, 10, 500, 100));
    /* A deadline further ahead than max_escrow_duration would keep a record longer. */
    assert_status(CA_ERR_LIMIT, esc_open(l, H, W, 1001, 1, 0, 100 + 501, 100));
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.escrows, 17);

    /* The window of the pair's last escrow (deadline 116) ends at 1116: any op after it drops
     * all sixteen; the open one stays, whatever its age. */
    assert_ok(xfer(l, H, W, 1, 1116));
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.escrows, 2); /* deadline 116 + 1000 is not before 1116 yet */
    assert_ok(xfer(l, H, W, 1, 1117));
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.escrows, 1);
    ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    ca_hash a1 = award(1), a1000 = award(1000);
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, ca_ledger_escrow(l, &a1, &e));
    assert_ok(ca_ledger_escrow(l, &a1000, &e));
    assert_int_equal(e.state, CA_LEDGER_ESCROW_OPEN);
    /* The dropped award with its old terms: its deadline is past, or (clock stepped back) older
     * than the window. */
    assert_status(CA_ERR_LEDGER_TOO_LATE, esc_open(l, A, B, 1, 1, 0, 101, 1118));
    assert_status(CA_ERR_LEDGER_TOO_LATE, esc_open(l, A, B, 1, 1, 0, 101, 50));
    /* The quotas are free again. */
    assert_ok(esc_open(l, A, B, 19, 1, 0, 1200, 1118));
    ca_ledger_free(l);
}

/*
 * The same with signatures: the worker's consent names the deadline, so a
 * consent replayed (under the hirer's next nonce) after its escrow was
 * dropped is refused, whatever `now` the host passes.
 */
static void test_replayed_consent_after_drop(void **state)
{
    (void)state;
    ca_identity *auth = ident(1), *h = ident(2), *w = ident(3);
    ca_ledger_options o = opts();
    ca_identity_id(auth, &o.authority);
    o.max_evidence_age = 1000;
    o.max_escrow_duration = 500;
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
    for (unsigned i = 0; i < 2; i++) {
        memset(&op, 0, sizeof op);
        op.version = CA_LEDGER_OP_VERSION;
        op.type = CA_LEDGER_OP_MINT;
        op.signer = o.authority;
        op.nonce = i + 1;
        op.counterparty = i ? wid : hid;
        op.amount = 100;
        assert_ok(ca_ledger_op_sign(&lid, &op, auth, NULL, msg, sizeof msg, &n));
        assert_ok(ca_ledger_submit(l, msg, n, 100, NULL));
    }
    ca_ledger_op open = {.version = CA_LEDGER_OP_VERSION};
    open.type = CA_LEDGER_OP_ESCROW_OPEN;
    open.signer = hid;
    open.nonce = 1;
    open.counterparty = wid;
    open.ref = award(1);
    open.amount = 10;
    open.deadline = 300;
    ca_signature consent;
    assert_ok(ca_ledger_op_cosign(&lid, &open, w, &consent));
    assert_ok(ca_ledger_op_sign_cosigned(&lid, &open, h, &consent, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 100, NULL));
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_ESCROW_RELEASE;
    op.signer = hid;
    op.nonce = 2;
    op.ref = award(1);
    assert_ok(ca_ledger_op_sign(&lid, &op, h, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 150, NULL));
    op = (ca_ledger_op){.version =
                            CA_LEDGER_OP_VERSION}; /* any op after 300 + 1000 drops the escrow */
    op.type = CA_LEDGER_OP_TRANSFER;
    op.signer = wid;
    op.nonce = 1;
    op.counterparty = hid;
    op.amount = 1;
    assert_ok(ca_ledger_op_sign(&lid, &op, w, NULL, msg, sizeof msg, &n));
    assert_ok(ca_ledger_submit(l, msg, n, 1301, NULL));
    ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, ca_ledger_escrow(l, &open.ref, &e));
    /* The hirer replays the consent under its next nonce. */
    open.nonce = 3;
    assert_ok(ca_ledger_op_sign_cosigned(&lid, &open, h, &consent, msg, sizeof msg, &n));
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(l, &before));
    assert_status(CA_ERR_LEDGER_TOO_LATE, ca_ledger_submit(l, msg, n, 1302, NULL));
    assert_status(CA_ERR_LEDGER_TOO_LATE, ca_ledger_submit(l, msg, n, 250, NULL));
    assert_ok(ca_ledger_state_hash(l, &after));
    assert_memory_equal(before.bytes, after.bytes, sizeof before.bytes);
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, ca_ledger_escrow(l, &open.ref, &e));
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);
    ca_identity_free(auth);
    ca_identity_free(h);
    ca_identity_free(w);
}

/* An equivocation slash by R of X for a made-up offense k, dated `at` (its task's deadline). */
static ca_status made_up_slash(ca_ledger *l, unsigned R, unsigned X, unsigned k, uint64_t at,
                               uint64_t now)
{
    ca_ledger_op op = mkop(CA_LEDGER_OP_SLASH, R);
    op.counterparty = agent(X);
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    op.ref = award(k);
    op.deadline = at;
    ca_status st = ca_ledger_apply(l, &op, now, NULL);
    if (st == CA_OK)
        nonces[R] = op.nonce;
    return st;
}

/*
 * Issue 13, ledger availability, second weakness (docs/SECURITY.md,
 * "Ledger"): used evidence keys were kept for ever, and equivocation evidence
 * about a made-up task by an account with no stake still slashed (taking 0)
 * and added a key on every replica. Now a slash that would take nothing is
 * refused (CA_ERR_LEDGER_NO_STAKE) and records nothing, so each key costs its
 * offender at least one unit of stake; and a key is kept only until its
 * offense time + max_evidence_age, after which the offense is refused
 * (CA_ERR_LEDGER_EVIDENCE_EXPIRED), never slashed twice. A flood at a steady
 * rate keeps the used-evidence set at what one window holds: memory stops
 * growing.
 */
static void test_evidence_keys_cost_stake_and_expire(void **state)
{
    (void)state;
    const unsigned X = 2, R = 3;
    ca_ledger_options o = opts();
    o.max_accounts = 4;
    o.max_escrows = 1;
    o.max_evidence_age = 1000;
    o.slash_equivocation_ppm = 1; /* the least a slash takes: one unit a key */
    o.reporter_share_ppm = 0;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, X, 1));
    assert_ok(mint(l, R, 1));
    /* No stake: 4000 made-up offenses change nothing at all. */
    const size_t mem0 = cai_ledger_memory_bytes(l);
    ca_hash h0, h1;
    assert_ok(ca_ledger_state_hash(l, &h0));
    for (unsigned k = 0; k < 4000; k++)
        assert_status(CA_ERR_LEDGER_NO_STAKE, made_up_slash(l, R, X, k, k, k));
    assert_ok(ca_ledger_state_hash(l, &h1));
    assert_memory_equal(h0.bytes, h1.bytes, sizeof h0.bytes);
    assert_int_equal(cai_ledger_memory_bytes(l), mem0);
    assert_int_equal(holdings(l, X), 1);

    /* Each key costs a unit: a stake of 600 buys 600 keys, then nothing more. */
    assert_ok(mint(l, X, 600));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, X, 600, 0));
    unsigned keys = 0;
    while (made_up_slash(l, R, X, 10000 + keys, 5, 5) == CA_OK)
        keys++;
    assert_int_equal(keys, 600);
    assert_status(CA_ERR_LEDGER_NO_STAKE, made_up_slash(l, R, X, 20000, 5, 5));
    assert_int_equal(burned(l), 600);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(l);

    /* A key a millisecond for 20 windows: the set holds one window's keys, memory plateaus. */
    l = fresh(&o);
    assert_ok(mint(l, X, 100000));
    assert_ok(mint(l, R, 1));
    assert_ok(simple(l, CA_LEDGER_OP_BOND, X, 100000, 0));
    size_t mem_warm = 0;
    for (unsigned t = 0; t < 20000; t++) {
        assert_ok(made_up_slash(l, R, X, t, t, t));
        if (t == 3000)
            mem_warm = cai_ledger_memory_bytes(l);
    }
    assert_int_equal(cai_ledger_memory_bytes(l), mem_warm);
    assert_int_equal(holdings(l, X), 100000 - 20000);
    assert_ok(ca_ledger_check(l));
    /* Within its window an offense is used; after it, expired: never slashed twice. */
    assert_status(CA_ERR_LEDGER_EVIDENCE_USED, made_up_slash(l, R, X, 19000, 19000, 19999));
    assert_status(CA_ERR_LEDGER_EVIDENCE_EXPIRED, made_up_slash(l, R, X, 18000, 18000, 19999));
    assert_status(CA_ERR_LEDGER_EVIDENCE_EXPIRED, made_up_slash(l, R, X, 5, 5, 19999));
    /* An offense dated more than max_escrow_duration ahead would be kept longer: later. */
    assert_status(CA_ERR_LEDGER_TOO_EARLY,
                  made_up_slash(l, R, X, 30000, 20000 + o.max_escrow_duration + 1, 20000));
    assert_int_equal(holdings(l, X), 100000 - 20000);
    ca_ledger_free(l);
}

/*
 * Issue 13, ledger availability, third weakness (docs/SECURITY.md, "Sybil
 * flood"): a reporter's account used to be created by its first SLASH, even
 * with a zero share, so fresh identities filled max_accounts for nothing.
 * Now the signer of a SLASH must already have an account (the arbiter of a
 * DISPUTE excepted): the reports are refused with CA_ERR_LEDGER_UNKNOWN_ACCOUNT
 * although the offender has stake at risk, no account appears, and new
 * accounts can still receive units.
 */
static void test_reports_create_no_accounts(void **state)
{
    (void)state;
    const unsigned X = 2, R = 3;
    ca_ledger_options o = opts();
    o.max_accounts = 8;
    o.reporter_share_ppm = 0;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, X, 1000)); /* accounts: the authority and X */
    assert_ok(simple(l, CA_LEDGER_OP_BOND, X, 1000, 0));
    for (unsigned r = 10; r < 16; r++)
        assert_status(CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                      slash(l, r, X, CA_LEDGER_EVIDENCE_EQUIVOCATION, award(r), r));
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.accounts, 2);
    assert_int_equal(holdings(l, X), 1000);
    /* A reporter that holds an account reports as before. */
    assert_ok(mint(l, R, 1));
    assert_ok(slash(l, R, X, CA_LEDGER_EVIDENCE_EQUIVOCATION, award(1), 20));
    assert_true(holdings(l, X) < 1000);
    for (unsigned k = 20; k < 25; k++)
        assert_ok(mint(l, k, 1000));
    assert_status(CA_ERR_LIMIT, mint(l, 25, 1000));
    ca_ledger_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escrowed_funds_spent_once),
        cmocka_unit_test(test_exit_before_slash),
        cmocka_unit_test(test_self_report_never_pays),
        cmocka_unit_test(test_rounding_never_favours_the_actor),
        cmocka_unit_test(test_replayed_ops_apply_once),
        cmocka_unit_test(test_oversize_inputs_refused),
        cmocka_unit_test(test_escrow_table_stays_available),
        cmocka_unit_test(test_replayed_consent_after_drop),
        cmocka_unit_test(test_evidence_keys_cost_stake_and_expire),
        cmocka_unit_test(test_reports_create_no_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
