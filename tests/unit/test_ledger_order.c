/*
 * The check order of docs/LEDGER.md "Checks", row by row of the op table.
 *
 * The steps come from cai_ledger_op_steps, the list the docs' tables are
 * printed from (tests/contract/wire_tables.c). For every row (each op type,
 * SLASH per evidence kind) the test holds one way to fail each step (a
 * "break"; the test fails when a row has a step without one), starts from an
 * op that applies, and checks:
 *   - each break alone fails at its own step, with that step's status;
 *   - every two breaks together fail at the earlier step of the two.
 * The step that answered is read through cai_ledger_check_op; the status and
 * the failure's sentence are also checked through the apply path (which then
 * changes nothing).
 *
 * A break has two parts: `state`, ops applied to the ledger first (in a
 * fixed order, `prio`, so that the two of a pair can both be applied: a
 * slash before a delivery before a settlement), and `edit`, changes to the
 * op, `now`, the options or the horizon made after every op of the setup.
 * The nonce is set last: the signer's next one, unless a nonce break asks
 * for a used (= last) or a skipping (last + 2) one.
 *
 * Not covered: CAI_STEP_MEMORY (an allocation failure; it is asserted to be
 * every row's last step, so no pair has it as the earlier one).
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "ledger/ledger_ops.h"
#include "test_util.h"

enum { AUTH = 1, ARB, HIRER, WORKER, REPORTER, FRESH_S, FRESH_C, NEWCOMER, NEXT_KEY, OTHER_KEY };
enum { REF1 = 1, REF_NEW, REF_NONE, KEY, KEY2, REF_UNUSED };
enum { T0 = 1000, DL1 = T0 + 200, AGE = 1000, MAX_DURATION = 500 };

static ca_agent_id agent(unsigned k)
{
    ca_agent_id id;
    memset(&id, 0xC3, sizeof id);
    id.bytes[0] = (uint8_t)k;
    return id;
}

static ca_hash ref_of(unsigned k)
{
    ca_hash h;
    memset(&h, 0x3C, sizeof h);
    h.bytes[0] = (uint8_t)k;
    return h;
}

static uint64_t last_nonce(const ca_ledger *l, const ca_agent_id *id)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    return ca_ledger_account(l, id, &a) == CA_OK ? a.nonce : 0;
}

static ca_ledger_op op_of(uint32_t type, unsigned signer)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = agent(signer);
    return op;
}

/* Applies a setup op with the signer's next nonce; it must apply. */
static void must(ca_ledger *l, ca_ledger_op op, uint64_t now)
{
    op.nonce = last_nonce(l, &op.signer) + 1;
    assert_ok(cai_ledger_apply_op(l, &op, now));
}

typedef struct trial {
    const cai_ledger_op_spec *spec;
    ca_ledger *l;
    ca_ledger_op op;
    uint64_t now, result_at;
    int nonce;            /* 0: the next, 1: one used (the last), 2: one skipping ahead */
    ca_key_event_info ev; /* KEY_EVENT: the event attached (no signatures are checked here) */
    int no_event;         /* KEY_EVENT: none attached */
} trial;

/* Key events made up for the KEY_EVENT row: the reporter's inception at T0 (committing to
 * NEXT_KEY) and its first rotation (revealing it) at T0 + 5. */
static ca_key_event_info inception_of(unsigned who, unsigned digest)
{
    ca_key_event_info e = {.version = CA_KEY_EVENT_INFO_VERSION};
    e.type = CA_KEY_EVENT_INCEPTION;
    e.key = agent(who);
    ca_agent_id next = agent(NEXT_KEY);
    assert_ok(ca_key_commitment(&next, &e.next));
    e.time = T0;
    e.digest = ref_of(digest);
    e.identifier = e.digest;
    return e;
}

static ca_key_event_info rotation_1(void)
{
    ca_key_event_info inc = inception_of(REPORTER, KEY), e = inc;
    e.type = CA_KEY_EVENT_ROTATION;
    e.sequence = 1;
    e.prior = inc.digest;
    e.key = agent(NEXT_KEY);
    ca_agent_id after = agent(OTHER_KEY);
    assert_ok(ca_key_commitment(&after, &e.next));
    e.time = T0 + 5;
    e.digest = ref_of(KEY2);
    return e;
}

/* Applies a KEY_EVENT with its event, as the signed path does. */
static void must_key(ca_ledger *l, ca_ledger_op op, const ca_key_event_info *ev, uint64_t now)
{
    op.nonce = last_nonce(l, &op.signer) + 1;
    assert_ok(cai_ledger_apply_key_event(l, &op, ev, now, 0));
}

/*
 * The world every row starts from (at T0): the authority minted 1000 to the
 * hirer, the worker and a reporter; the worker bonded 500; escrow REF1 is
 * open (hirer -> worker, payment 100, collateral 50, deadline DL1). The
 * arbiter has no account.
 */
static ca_ledger *world(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = agent(AUTH);
    o.arbiter = agent(ARB);
    o.unbonding_delay = 100;
    o.jail_equivocation = 100000;
    o.max_evidence_age = AGE;
    o.max_escrow_duration = MAX_DURATION;
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    for (unsigned who = HIRER; who <= REPORTER; who++) {
        ca_ledger_op m = op_of(CA_LEDGER_OP_MINT, AUTH);
        m.counterparty = agent(who);
        m.amount = 1000;
        must(l, m, T0);
    }
    ca_ledger_op b = op_of(CA_LEDGER_OP_BOND, WORKER);
    b.amount = 500;
    must(l, b, T0);
    ca_ledger_op e = op_of(CA_LEDGER_OP_ESCROW_OPEN, HIRER);
    e.counterparty = agent(WORKER);
    e.ref = ref_of(REF1);
    e.amount = 100;
    e.amount2 = 50;
    e.deadline = DL1;
    must(l, e, T0);
    return l;
}

/* The row's op that applies (and what it needs beyond the world). */
static void base(trial *t)
{
    const cai_ledger_op_spec *s = t->spec;
    ca_ledger_op *op = &t->op;
    t->now = T0 + 10;
    t->result_at = 0;
    switch (s->type) {
    case CA_LEDGER_OP_MINT:
        *op = op_of(s->type, AUTH);
        op->counterparty = agent(HIRER);
        op->amount = 10;
        break;
    case CA_LEDGER_OP_TRANSFER:
        *op = op_of(s->type, HIRER);
        op->counterparty = agent(WORKER);
        op->amount = 10;
        break;
    case CA_LEDGER_OP_BOND:
    case CA_LEDGER_OP_UNBOND:
        *op = op_of(s->type, WORKER);
        op->amount = 10;
        break;
    case CA_LEDGER_OP_WITHDRAW: {
        ca_ledger_op u = op_of(CA_LEDGER_OP_UNBOND, WORKER);
        u.amount = 10;
        must(t->l, u, T0); /* matures at T0 + 100 */
        *op = op_of(s->type, WORKER);
        t->now = T0 + 150;
        break;
    }
    case CA_LEDGER_OP_ESCROW_OPEN:
        *op = op_of(s->type, HIRER);
        op->counterparty = agent(WORKER);
        op->ref = ref_of(REF_NEW);
        op->amount = 10;
        op->amount2 = 5;
        op->deadline = t->now + 100;
        break;
    case CA_LEDGER_OP_ESCROW_DELIVER:
        *op = op_of(s->type, WORKER);
        op->ref = ref_of(REF1);
        op->result = ref_of(REF_UNUSED);
        t->result_at = T0 + 5;
        break;
    case CA_LEDGER_OP_ESCROW_RELEASE:
        *op = op_of(s->type, HIRER);
        op->ref = ref_of(REF1);
        break;
    case CA_LEDGER_OP_ESCROW_REFUND: /* the hirer's refund: the checks of both parties */
        *op = op_of(s->type, HIRER);
        op->ref = ref_of(REF1);
        t->now = DL1 + 100;
        break;
    case CA_LEDGER_OP_ESCROW_SPLIT:
        *op = op_of(s->type, ARB);
        op->ref = ref_of(REF1);
        op->amount = 50;
        op->amount2 = 10;
        break;
    case CA_LEDGER_OP_REVOKE:
        *op = op_of(s->type, HIRER);
        op->ref = ref_of(KEY);
        break;
    case CA_LEDGER_OP_KEY_EVENT: { /* the reporter's first rotation, after its inception */
        ca_key_event_info inc = inception_of(REPORTER, KEY);
        ca_ledger_op i = op_of(s->type, REPORTER);
        i.ref = inc.digest;
        must_key(t->l, i, &inc, T0);
        t->ev = rotation_1();
        *op = op_of(s->type, REPORTER);
        op->ref = t->ev.digest;
        op->amount = t->ev.sequence;
        break;
    }
    default: /* SLASH */
        *op = op_of(s->type, s->evidence == CA_LEDGER_EVIDENCE_DISPUTE ? ARB : REPORTER);
        op->counterparty = agent(WORKER);
        op->evidence = s->evidence;
        if (s->evidence == CA_LEDGER_EVIDENCE_EQUIVOCATION) {
            op->ref = ref_of(KEY);
            op->deadline = T0 + 20;
        } else {
            op->ref = ref_of(REF1);
        }
        if (s->evidence == CA_LEDGER_EVIDENCE_MISSED_DEADLINE)
            t->now = DL1 + 100;
        break;
    }
}

/* ---- breaks ---- */

typedef struct brk {
    void (*state)(trial *t); /* ops on the ledger (NULL: none) */
    int prio;                /* order of the state parts of a pair: lower first */
    void (*edit)(trial *t);  /* the op, now, options, horizon (NULL: none) */
    int excl;                /* the check (k) of the row this one cannot hold with; -1: none */
} brk;

#define EDIT(name, body)                                                                           \
    static void name(trial *t)                                                                     \
    {                                                                                              \
        body;                                                                                      \
    }

/* State parts. */
static void jail_worker(trial *t)
{
    ca_ledger_op s = op_of(CA_LEDGER_OP_SLASH, REPORTER);
    s.counterparty = agent(WORKER);
    s.ref = ref_of(KEY2);
    s.deadline = T0 + 20;
    s.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    must(t->l, s, T0);
}
static void deliver1(trial *t)
{
    ca_ledger_op d = op_of(CA_LEDGER_OP_ESCROW_DELIVER, WORKER);
    d.ref = ref_of(REF1);
    d.result = ref_of(REF_UNUSED);
    must(t->l, d, T0);
}
static void release1(trial *t) /* settled by its deadline */
{
    ca_ledger_op r = op_of(CA_LEDGER_OP_ESCROW_RELEASE, HIRER);
    r.ref = ref_of(REF1);
    must(t->l, r, T0);
}
static void worker_refunds1(trial *t)
{
    ca_ledger_op r = op_of(CA_LEDGER_OP_ESCROW_REFUND, WORKER);
    r.ref = ref_of(REF1);
    must(t->l, r, T0);
}
static void same_op_first(trial *t) /* the row's op itself, applied once before */
{
    must(t->l, t->op, t->now);
}

/* Edit parts: the steps every row has. */
EDIT(bad_type, t->op.type = 200)
static void unused_field(trial *t)
{
    const unsigned f = ~(unsigned)t->spec->fields;
    ca_ledger_op *op = &t->op;
    if (f & F_CP)
        op->counterparty = agent(NEWCOMER);
    else if (f & F_REF)
        op->ref = ref_of(REF_UNUSED);
    else if (f & F_AMT)
        op->amount = 1;
    else if (f & F_AMT2)
        op->amount2 = 1;
    else if (f & F_DL)
        op->deadline = 1;
    else if (f & F_EV)
        op->evidence = 1;
    else
        op->result = ref_of(REF_UNUSED);
}
EDIT(bad_evidence, t->op.evidence = 9)
static void need_zero(trial *t)
{
    if (t->spec->need & F_REF)
        memset(&t->op.ref, 0, sizeof t->op.ref);
    if (t->spec->need & F_AMT)
        t->op.amount = 0;
    if (t->spec->need & F_RES)
        memset(&t->op.result, 0, sizeof t->op.result);
    if (t->spec->need & F_REF)
        memset(&t->op.ref, 0, sizeof t->op.ref);
}
EDIT(zero_set, t->op.deadline = 5)
EDIT(not_the_role, t->op.signer = agent(REPORTER))
EDIT(self_dealing, t->op.counterparty = t->op.signer)
EDIT(nonce_used, t->nonce = 1)
EDIT(nonce_skips, t->nonce = 2)
static void accounts_full(trial *t)
{
    if (t->spec->new_cp)
        t->op.counterparty = agent(NEWCOMER);
    t->l->opts.max_accounts = t->l->n_accounts;
}

/* Edit parts: the rows' own checks. */
EDIT(signer_fresh, t->op.signer = agent(FRESH_S))
EDIT(cp_fresh, t->op.counterparty = agent(FRESH_C))
EDIT(cp_hirer, t->op.counterparty = agent(HIRER))
EDIT(cp_reporter, t->op.counterparty = agent(REPORTER))
EDIT(signer_hirer, t->op.signer = agent(HIRER))
EDIT(signer_worker, t->op.signer = agent(WORKER))
EDIT(signer_reporter, t->op.signer = agent(REPORTER))
EDIT(amount_huge, t->op.amount = 1000000000)
EDIT(amount2_huge, t->op.amount2 = 1000000000)
EDIT(amount_max, t->op.amount = UINT64_MAX)
EDIT(ref_none, t->op.ref = ref_of(REF_NONE))
EDIT(ref_taken, t->op.ref = ref_of(REF1))
EDIT(no_unbond_room, t->l->opts.max_unbonding_entries = 0)
EDIT(delay_max, t->l->opts.unbonding_delay = UINT64_MAX)
EDIT(early, t->now = T0 + 50)
EDIT(escrows_full, t->l->opts.max_escrows = t->l->n_escrows)
EDIT(deadline_now, t->op.deadline = t->now)
EDIT(deadline_far, t->op.deadline = t->now + 10 * MAX_DURATION)
EDIT(quota_full, t->l->opts.max_escrows_per_hirer = 1)
EDIT(after_deadline, t->now = DL1 + 1)
EDIT(result_late, t->result_at = DL1 + 1)
EDIT(by_deadline, t->now = DL1)
EDIT(ppm_equivocation_zero, t->l->opts.slash_equivocation_ppm = 0)
EDIT(ppm_missed_zero, t->l->opts.slash_missed_deadline_ppm = 0)
EDIT(ppm_dispute_zero, t->l->opts.slash_dispute_ppm = 0)
EDIT(no_event, t->no_event = 1)
EDIT(ref_other, t->op.ref = ref_of(REF_UNUSED))
static void set_event(trial *t, ca_key_event_info e)
{
    t->ev = e;
    t->op.ref = e.digest;
    t->op.amount = e.sequence;
}
static void incept_other(trial *t) /* an inception by a key that is not the account */
{
    t->op.signer = agent(REPORTER);
    set_event(t, inception_of(OTHER_KEY, REF_NEW));
}
static void incept_again(trial *t) /* a second inception for one account */
{
    t->op.signer = agent(REPORTER);
    set_event(t, inception_of(REPORTER, REF_NEW));
}
static void seq_skips(trial *t)
{
    t->ev.sequence = 5;
    t->op.amount = 5;
}
EDIT(key_uncommitted, t->ev.key = agent(OTHER_KEY))
EDIT(time_back, t->ev.time = T0 - 1)
EDIT(revocations_full, t->l->opts.max_delegation_records = t->l->n_rev)
static void clock_far(trial *t) /* every offense or deadline is out of the window */
{
    t->l->opts.max_evidence_age = 0;
    t->l->horizon = UINT64_MAX - 1;
}

#define E(fn)                                                                                      \
    {                                                                                              \
        NULL, 0, (fn), -1                                                                          \
    }
#define S(fn, prio_)                                                                               \
    {                                                                                              \
        (fn), (prio_), NULL, -1                                                                    \
    }

static const brk mint_b[] = {E(amount_max)};
static const brk transfer_b[] = {E(signer_fresh), E(amount_huge)};
static const brk bond_b[] = {E(signer_fresh), S(jail_worker, 0), E(amount_huge)};
static const brk unbond_b[] = {E(signer_fresh), E(amount_huge), E(no_unbond_room), E(delay_max)};
static const brk withdraw_b[] = {E(signer_fresh), E(early)};
static const brk escrow_open_b[] = {E(ref_taken),   E(escrows_full), E(deadline_now),
                                    E(clock_far),   E(deadline_far), E(signer_fresh),
                                    E(cp_fresh),    E(quota_full),   S(jail_worker, 0),
                                    E(amount_huge), E(amount2_huge)};
static const brk deliver_b[] = {E(ref_none),    E(signer_hirer),   S(release1, 3),
                                S(deliver1, 2), E(after_deadline), E(result_late)};
static const brk release_b[] = {E(ref_none), E(signer_worker), S(worker_refunds1, 3)};
static const brk refund_b[] = {E(ref_none), E(signer_reporter), S(release1, 3), S(deliver1, 2),
                               E(by_deadline)};
static const brk split_b[] = {E(ref_none), S(release1, 3), E(amount_huge)};
static const brk equivocation_b[] = {E(signer_fresh),     E(cp_fresh),
                                     E(deadline_far),     E(clock_far),
                                     S(same_op_first, 1), E(ppm_equivocation_zero)};
static const brk missed_b[] = {E(signer_fresh),
                               E(cp_fresh),
                               E(ref_none),
                               E(cp_hirer),
                               S(deliver1, 2),
                               E(by_deadline),
                               /* settled by its deadline: the escrow is not open, so "open and past
                                * the deadline" (5) cannot fail with it */
                               {release1, 3, NULL, 5},
                               E(clock_far),
                               S(same_op_first, 1),
                               E(ppm_missed_zero)};
static const brk key_event_b[] = {E(no_event),     E(ref_other),       E(signer_fresh),
                                  E(incept_other), E(incept_again),    E(signer_hirer),
                                  E(seq_skips),    E(key_uncommitted), E(time_back)};
static const brk dispute_b[] = {E(cp_fresh),  E(ref_none),         E(cp_reporter),
                                E(clock_far), S(same_op_first, 1), E(ppm_dispute_zero)};

static const brk revoke_b[] = {E(signer_fresh), E(revocations_full)};

static const struct {
    const brk *b;
    size_t n;
} row_breaks[CAI_LEDGER_N_SPECS] = {
#define ROW(i, arr) [i] = {(arr), sizeof(arr) / sizeof((arr)[0])}
    ROW(CA_LEDGER_OP_MINT, mint_b),
    ROW(CA_LEDGER_OP_TRANSFER, transfer_b),
    ROW(CA_LEDGER_OP_BOND, bond_b),
    ROW(CA_LEDGER_OP_UNBOND, unbond_b),
    ROW(CA_LEDGER_OP_WITHDRAW, withdraw_b),
    ROW(CA_LEDGER_OP_ESCROW_OPEN, escrow_open_b),
    ROW(CA_LEDGER_OP_ESCROW_DELIVER, deliver_b),
    ROW(CA_LEDGER_OP_ESCROW_RELEASE, release_b),
    ROW(CA_LEDGER_OP_ESCROW_REFUND, refund_b),
    ROW(CA_LEDGER_OP_ESCROW_SPLIT, split_b),
    ROW(CA_LEDGER_OP_REVOKE, revoke_b),
    ROW(CA_LEDGER_OP_KEY_EVENT, key_event_b),
    ROW(CAI_LEDGER_SLASH_ROW(CA_LEDGER_EVIDENCE_EQUIVOCATION), equivocation_b),
    ROW(CAI_LEDGER_SLASH_ROW(CA_LEDGER_EVIDENCE_MISSED_DEADLINE), missed_b),
    ROW(CAI_LEDGER_SLASH_ROW(CA_LEDGER_EVIDENCE_DISPUTE), dispute_b),
#undef ROW
};

/* The break of step `st` of row `row`. */
static brk break_of(unsigned row, const cai_ledger_step *st)
{
    static void (*const generic[])(trial *) = {
        [CAI_STEP_TYPE] = bad_type,          [CAI_STEP_UNUSED] = unused_field,
        [CAI_STEP_EVIDENCE] = bad_evidence,  [CAI_STEP_NEED] = need_zero,
        [CAI_STEP_ZERO] = zero_set,          [CAI_STEP_SIGNER] = not_the_role,
        [CAI_STEP_DISTINCT] = self_dealing,  [CAI_STEP_NONCE_USED] = nonce_used,
        [CAI_STEP_NONCE_NEXT] = nonce_skips, [CAI_STEP_ACCOUNTS] = accounts_full,
    };
    if (st->kind == CAI_STEP_CHECK) {
        if (st->k >= row_breaks[row].n)
            fail_msg("%s: check %u has no break in this test", cai_ledger_ops[row].name, st->k);
        return row_breaks[row].b[st->k];
    }
    if (st->kind >= sizeof generic / sizeof generic[0] || generic[st->kind] == NULL)
        fail_msg("%s: step kind %u has no break in this test", cai_ledger_ops[row].name, st->kind);
    return (brk)E(generic[st->kind]);
}

/*
 * Runs row `row` with the breaks of steps a and b (b < 0: a alone; a < 0: none) and returns the
 * step that answered (kind CAI_STEP_CHECK + 1 stands for "none": the op applies).
 */
static cai_ledger_step run_trial(unsigned row, const cai_ledger_step *steps, int a, int b)
{
    trial t;
    memset(&t, 0, sizeof t);
    t.spec = &cai_ledger_ops[row];
    t.l = world();
    base(&t);
    brk x[2];
    int n = 0;
    if (a >= 0)
        x[n++] = break_of(row, &steps[a]);
    if (b >= 0)
        x[n++] = break_of(row, &steps[b]);
    if (n == 2 && x[1].prio < x[0].prio) {
        brk tmp = x[0];
        x[0] = x[1];
        x[1] = tmp;
    }
    for (int i = 0; i < n; i++)
        if (x[i].state)
            x[i].state(&t);
    /* Edits: the later step's first, so the earlier one's holds whatever the two touch. */
    if (b >= 0) {
        const brk eb = break_of(row, &steps[b]);
        if (eb.edit)
            eb.edit(&t);
    }
    if (a >= 0) {
        const brk ea = break_of(row, &steps[a]);
        if (ea.edit)
            ea.edit(&t);
    }
    const uint64_t last = last_nonce(t.l, &t.op.signer);
    t.op.nonce = t.nonce == 1 ? last : t.nonce == 2 ? last + 2 : last + 1;

    const int delivery = t.spec->type == CA_LEDGER_OP_ESCROW_DELIVER;
    if (t.spec->type == CA_LEDGER_OP_KEY_EVENT && !t.no_event)
        t.l->keys.pending = &t.ev; /* what the signed path sets around the apply */
    cai_ledger_step failed = {0, 0, CA_OK};
    ca_status st = cai_ledger_check_op(t.l, &t.op, t.now, delivery ? &t.result_at : NULL, &failed);
    char sentence[256] = "";
    if (st != CA_OK)
        snprintf(sentence, sizeof sentence, "%s", ca_last_error());
    /* The apply path (a case per type, ledger.c's apply_op) answers the same, with the same
     * sentence, and, failing, changes nothing. */
    ca_hash before, after;
    assert_ok(ca_ledger_state_hash(t.l, &before));
    ca_status applied = delivery ? cai_ledger_apply_delivery(t.l, &t.op, t.now, t.result_at)
                                 : cai_ledger_apply_op(t.l, &t.op, t.now);
    t.l->keys.pending = NULL;
    assert_status_value(st, applied);
    if (applied != CA_OK) {
        assert_true(ca_last_error()[0] != '\0');
        assert_string_equal(sentence, ca_last_error());
        assert_ok(ca_ledger_state_hash(t.l, &after));
        assert_memory_equal(before.bytes, after.bytes, sizeof before.bytes);
    }
    ca_ledger_free(t.l);
    if (st == CA_OK)
        return (cai_ledger_step){CAI_STEP_CHECK + 1, 0, CA_OK};
    assert_int_equal(failed.status, st);
    return failed;
}

static void expect_step(unsigned row, const cai_ledger_step *want, cai_ledger_step got, int a,
                        int b)
{
    if (got.kind != want->kind || got.k != want->k || got.status != want->status)
        fail_msg("%s, breaks of steps %d and %d: answered step kind %u (check %u, %s), expected "
                 "step %d: kind %u (check %u, %s)",
                 cai_ledger_ops[row].name, a + 1, b + 1, got.kind, got.k, ca_status_str(got.status),
                 a + 1, want->kind, want->k, ca_status_str(want->status));
}

static void test_check_order(void **state)
{
    (void)state;
    size_t singles = 0, pairs = 0;
    for (unsigned row = 1; row < CAI_LEDGER_N_SPECS; row++) {
        if (cai_ledger_ops[row].name == NULL) /* a type number another branch adds */
            continue;
        cai_ledger_step steps[64];
        size_t n = cai_ledger_op_steps(&cai_ledger_ops[row], steps, 64);
        assert_true(n <= 64);
        /* MEMORY, which no break reaches, is the last step when a row has it. */
        size_t m = n;
        if (steps[n - 1].kind == CAI_STEP_MEMORY)
            m--;
        for (size_t i = 0; i < m; i++)
            assert_int_not_equal(steps[i].kind, CAI_STEP_MEMORY);
        /* Every check of the row has its break, and no break is left over. */
        assert_int_equal(row_breaks[row].n, cai_ledger_ops[row].n_checks);

        cai_ledger_step none = run_trial(row, steps, -1, -1);
        if (none.kind != CAI_STEP_CHECK + 1)
            fail_msg("%s: the base op does not apply (step kind %u, check %u, %s)",
                     cai_ledger_ops[row].name, none.kind, none.k, ca_status_str(none.status));
        for (size_t a = 0; a < m; a++, singles++)
            expect_step(row, &steps[a], run_trial(row, steps, (int)a, -1), (int)a, -1);
        for (size_t a = 0; a < m; a++)
            for (size_t b = a + 1; b < m; b++) {
                const brk ba = break_of(row, &steps[a]), bb = break_of(row, &steps[b]);
                if ((steps[a].kind == CAI_STEP_CHECK && bb.excl == (int)steps[a].k) ||
                    (steps[b].kind == CAI_STEP_CHECK && ba.excl == (int)steps[b].k))
                    continue;
                expect_step(row, &steps[a], run_trial(row, steps, (int)a, (int)b), (int)a, (int)b);
                pairs++;
            }
    }
    print_message("check order: %zu single breaks, %zu pairs\n", singles, pairs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
