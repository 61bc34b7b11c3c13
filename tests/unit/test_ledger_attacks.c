/*
 * Ledger attacks from the list in docs/SECURITY.md ("Attacks on reputation and
 * staking"): double spending of escrowed funds, stake withdrawal before a slash
 * lands, self-dealing through a second identity, rounding that would leak value
 * a unit at a time, replayed signed ops, and two limits the ledger does not
 * defend (pinned here so that a change of behaviour is noticed and the page is
 * updated with it). Public API only.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cyberagent.h"
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
    ca_ledger_op op;
    memset(&op, 0, sizeof op);
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
    ca_ledger_totals tb, ta;
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
    ca_ledger_account_info a;
    ca_agent_id id = agent(k);
    if (ca_ledger_account(l, &id, &a) != CA_OK)
        memset(&a, 0, sizeof a);
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
    ca_ledger_totals t;
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
            ca_ledger_totals t;
            ca_ledger_totals_get(l, &t);
            assert_int_equal(t.escrowed, 0);
            assert_int_equal(t.burned, 0);
            assert_int_equal(t.minted, 110);
            ca_ledger_free(l);
        }
    }
}

/* ------------------------------------------------------- exit before slash */

/* What an equivocation slash at `when` takes from an offender that bonded 1000 at 0. */
static uint64_t slashed_after(int unbond_entries, uint64_t unbond_at, uint64_t when, int withdraw)
{
    const unsigned OFF = 2, REP = 3;
    ca_ledger_options o = opts();
    o.max_unbonding_entries = 16;
    o.slash_equivocation_ppm = 50000; /* 5% */
    o.reporter_share_ppm = 100000;
    ca_ledger *l = fresh(&o);
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
    assert_ok(slash(l, REP, OFF, CA_LEDGER_EVIDENCE_EQUIVOCATION, ev, when));
    uint64_t taken = before - holdings(l, OFF);
    /* Every unit taken went to the reporter or was burned. */
    assert_int_equal(taken, holdings(l, REP) + burned(l));
    assert_true(acct(l, OFF).jailed_until == when + o.jail_equivocation);
    ca_ledger_free(l);
    return taken;
}

/*
 * Unbonding does not dodge a slash: an entry stays slashable until it matures
 * (unbonding_delay after the UNBOND), and each entry loses its own rounded-up
 * share, so spreading the stake over many entries never lowers the slash.
 * Once the delay has passed the units are out of reach: a slash that lands
 * later takes nothing from them (the limit docs/SECURITY.md states).
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
    *reporter_out = holdings(l, REP);
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
    ca_ledger_totals t;
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
    ca_ledger_account_info a;
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
        ca_ledger_open_info info;
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
 * CA_LEDGER_OP_MAX_BYTES and evidence longer than CA_LEDGER_EVIDENCE_MAX_BYTES
 * are CA_ERR_LIMIT, whatever they contain, and change nothing.
 */
static void test_oversize_inputs_refused(void **state)
{
    (void)state;
    ca_identity *r = ident(5);
    ca_ledger_options o = opts();
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, 2, 10));
    ca_ledger_op op;
    memset(&op, 0, sizeof op);
    op.type = CA_LEDGER_OP_SLASH;
    ca_identity_id(r, &op.signer);
    op.nonce = 1;
    op.counterparty = agent(2);
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    op.ref = award(1);
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES + 1];
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

/* -------------------------------------------- limits the ledger does not defend */

/*
 * KNOWN LIMIT (docs/SECURITY.md, "Double spending"): settled escrows stay in
 * the table (an award id opens one escrow, ever) and max_escrows caps the
 * table. Two identities holding one unit between them fill it by hiring each
 * other and releasing, at no cost: the unit comes back every time. After that
 * nobody can open an escrow. This test pins the behaviour; a fix (a fee, a
 * per-hirer quota, forgetting settled escrows after a horizon) must change it
 * together with the page.
 */
static void test_known_limit_escrow_table_fills_at_no_cost(void **state)
{
    (void)state;
    const unsigned A = 2, B = 3, H = 4, W = 5;
    ca_ledger_options o = opts();
    o.max_escrows = 64;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, A, 1));
    assert_ok(mint(l, B, 1));
    assert_ok(mint(l, H, 1000));
    assert_ok(mint(l, W, 1000));
    for (unsigned k = 1; k <= 64; k++) {
        unsigned hirer = k % 2 ? A : B, worker = k % 2 ? B : A;
        assert_ok(esc_open(l, hirer, worker, k, 1, 0, 100 + k, k));
        assert_ok(esc_op(l, CA_LEDGER_OP_ESCROW_RELEASE, hirer, k, 0, 0, k));
    }
    assert_int_equal(holdings(l, A) + holdings(l, B), 2); /* it cost them nothing */
    assert_status(CA_ERR_LIMIT, esc_open(l, H, W, 1000, 100, 10, 500, 100));
    ca_ledger_free(l);
}

/*
 * KNOWN LIMIT (docs/SECURITY.md, "Ledger"): the set of used evidence keys has
 * no cap of its own. Equivocation evidence needs only two messages signed by
 * the offender for one task id, which the offender can make up, so a peer
 * with one account (and no stake: the slash then only jails it) can add one
 * 32-byte key per SLASH op for ever, and every replica keeps it. Shown here
 * on the trusted path (ca_ledger_apply); ca_ledger_submit_evidence accepts
 * the same ops with self-signed evidence.
 */
static void test_known_limit_evidence_keys_have_no_cap(void **state)
{
    (void)state;
    const unsigned X = 2, R = 3;
    ca_ledger_options o = opts();
    o.max_accounts = 4;
    o.max_escrows = 1;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, X, 1));
    const size_t before = ca_ledger_memory_bytes(l);
    for (unsigned k = 0; k < 4000; k++) {
        ca_ledger_op op = mkop(CA_LEDGER_OP_SLASH, R);
        op.counterparty = agent(X);
        op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
        op.ref = award(k);
        assert_ok(ca_ledger_apply(l, &op, k, NULL));
        nonces[R] = op.nonce;
    }
    assert_ok(ca_ledger_check(l));
    assert_true(ca_ledger_memory_bytes(l) >= before + 4000 * sizeof(ca_hash));
    assert_int_equal(holdings(l, X), 1); /* nothing at stake, nothing lost */
    ca_ledger_free(l);
}

/*
 * KNOWN LIMIT (docs/SECURITY.md, "Sybil flood"): a reporter gets an account
 * when its first SLASH applies, even when its share is 0. With equivocation
 * evidence it can make up (previous test), one offender account with one
 * unit lets any number of fresh identities report, each creating an account
 * for nothing, until max_accounts is reached; then nobody new can receive
 * units.
 */
static void test_known_limit_reports_create_accounts_for_free(void **state)
{
    (void)state;
    const unsigned X = 2;
    ca_ledger_options o = opts();
    o.max_accounts = 8;
    o.reporter_share_ppm = 0;
    ca_ledger *l = fresh(&o);
    assert_ok(mint(l, X, 1)); /* accounts: the authority and X */
    for (unsigned r = 10; r < 16; r++)
        assert_ok(slash(l, r, X, CA_LEDGER_EVIDENCE_EQUIVOCATION, award(r), r));
    ca_ledger_totals t;
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.accounts, 8);
    assert_int_equal(t.minted, 1); /* eight accounts for one unit */
    assert_status(CA_ERR_LIMIT, mint(l, 20, 1000));
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
        cmocka_unit_test(test_known_limit_escrow_table_fills_at_no_cost),
        cmocka_unit_test(test_known_limit_evidence_keys_have_no_cap),
        cmocka_unit_test(test_known_limit_reports_create_accounts_for_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
