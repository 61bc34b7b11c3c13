/* Hiring through a delegate, on the public API: alice hands her sub-agent scout a capped
 * budget (a signed delegation); scout hires bob for her and pays from her account; then
 * the cap, and alice's revocation, stop scout. One process plays everyone. hire_min.c
 * explains the plain hire; this file what delegation adds (docs/IDENTITY.md, "Delegation"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyberagent.h>

#define TTL 600000 /* every message is valid for 10 minutes (ms) */

static uint64_t now = 1767225600000; /* the caller's clock (ms): the library reads none */
static ca_envelope_params ep = {.version = CA_ENVELOPE_PARAMS_VERSION}; /* next message's */
static ca_hash ledger_id;
static ca_ledger *ledger;
static uint8_t msg[8192]; /* the last message on the wire */
static size_t len;
static ca_identity *bank, *alice, *scout, *bob;
static ca_agent_id alice_id, scout_id, bob_id;
static uint8_t grant[1400]; /* the delegation alice signed, as bytes (the ledger's chain) */
static size_t grant_len;
static const ca_delegation *chain[1]; /* ... and opened (the task thread's chain) */
static ca_hash grant_id;              /* its id: what the ledger counts and a revocation names */
static ca_task_options to;            /* every thread honours the revocations alice hands out */

/* Stops when an outcome the story needs did not happen, with the library's last sentence. */
static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "hire_delegated: not as expected: %s (%s)\n", what, ca_last_error());
        exit(1);
    }
}

/* Stops at the first failure. */
static void check(ca_status st)
{
    need(st == CA_OK, ca_status_str(st));
}

/* An expected refusal: prints it with the library's sentence; any other answer stops. */
static void refused(const char *what, ca_status want, ca_status st)
{
    need(st == want, what);
    printf("%s refused: %s (%s)\n", what, ca_status_str(st), ca_last_error());
}

static void tick(uint64_t ms)
{
    ep.created_at = now += ms;
    ep.expires_at = now + TTL;
}

static uint64_t balance(const ca_agent_id *who)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    check(ca_ledger_account(ledger, who, &a));
    return a.balance;
}

static uint64_t spent(void) /* what the ledger counts against the delegation */
{
    ca_ledger_delegation_info d = {.version = CA_LEDGER_DELEGATION_INFO_VERSION};
    return ca_ledger_delegation(ledger, &grant_id, &d) == CA_OK ? d.spent : 0;
}

/* A direct op: signed by `who` with its next account nonce (hire_min.c). */
static void submit(ca_ledger_op *op, const ca_identity *who, const uint8_t *att, size_t att_len)
{
    uint8_t so[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    ca_identity_id(who, &op->signer);
    op->nonce = (ca_ledger_account(ledger, &op->signer, &a) == CA_OK ? a.nonce : 0) + 1;
    check(ca_ledger_op_sign(&ledger_id, op, who, NULL, so, sizeof so, &n));
    check(att ? ca_ledger_submit_evidence(ledger, so, n, att, att_len, now, NULL)
              : ca_ledger_submit(ledger, so, n, now, NULL));
}

/* A delegated op: for alice's account, signed by scout, carrying the chain. Its nonce
 * counts per leaf delegation, not on alice's account. Returns the ledger's answer. */
static ca_status spend(ca_ledger_op *op, const ca_signature *consent)
{
    uint8_t so[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    size_t n = 0;
    const uint8_t *links[1] = {grant};
    ca_ledger_delegation_info d = {.version = CA_LEDGER_DELEGATION_INFO_VERSION};
    op->signer = alice_id;
    op->nonce = (ca_ledger_delegation(ledger, &grant_id, &d) == CA_OK ? d.nonce : 0) + 1;
    check(ca_ledger_op_sign_delegated(&ledger_id, op, scout, consent, links, &grant_len, 1, so,
                                      sizeof so, &n));
    return ca_ledger_submit(ledger, so, n, now, NULL);
}

/* scout's REQUEST for alice: it carries the chain, so its max_price must fit task_cap. */
static void request(uint64_t max_price)
{
    tick(100);
    ca_task_content c = {CA_TASK_CONTENT_VERSION, (const void *)"a long report", 13, NULL, {{0}}};
    ca_task_request rq = {CA_TASK_REQUEST_VERSION, "llm.summarize", &c, .max_price = max_price};
    rq.deadline = now + 60000, rq.collateral = 20;
    rq.delegation = chain, rq.delegation_count = 1;
    check(ca_task_request_sign(scout, &ep, &rq, msg, sizeof msg, &len, NULL));
}

/* A task up to its AWARD: scout posts; bob sees whom it is for and bids; scout awards.
 * (Across processes each keeps a copy of the thread: the same bytes, the same checks.) */
static ca_task *post(uint64_t max_price, uint64_t price)
{
    ca_task *t = NULL;
    ca_task_side_info side = {.version = CA_TASK_SIDE_INFO_VERSION};
    request(max_price);
    check(ca_task_new_bytes(&t, msg, len, now, &to)); /* verifies the chain at created_at */
    check(ca_task_side(t, CA_TASK_PARTY_REQUESTER, &side));
    need(side.delegated && !memcmp(&side.principal, &alice_id, 32), "a request for alice");
    tick(100);
    check(ca_task_bid_reply(bob, &ep, ca_task_last(t, CA_KIND_TASK_REQUEST), price, now + 30000,
                            msg, sizeof msg, &len, NULL));
    check(ca_task_apply_bytes(t, msg, len, now));
    printf("task: scout asks for alice (chain of %zu, task cap %" PRIu64 "), max %" PRIu64
           " cr; bob bids %" PRIu64 "\n",
           side.depth, side.task_cap, max_price, price);
    tick(100);
    check(ca_task_award_reply(scout, &ep, ca_task_last(t, CA_KIND_TASK_BID), 0, msg, sizeof msg,
                              &len, NULL));
    check(ca_task_apply_bytes(t, msg, len, now));
    return t;
}

/* ESCROW_OPEN for the award: the hirer is alice (her account pays), bob consents to
 * that, scout signs it under the delegation. Returns the ledger's answer. */
static ca_status escrow(const ca_task *t, ca_ledger_op *op)
{
    ca_signature consent;
    check(ca_ledger_op_escrow_open(op, ca_task_last(t, CA_KIND_TASK_AWARD)));
    op->signer = alice_id;
    check(ca_ledger_op_cosign(&ledger_id, op, bob, &consent));
    return spend(op, &consent);
}

int main(void)
{
    ca_identity **who[] = {&bank, &alice, &scout, &bob};
    for (size_t i = 0; i < 4; i++)
        check(ca_identity_generate(who[i]));
    ca_identity_id(alice, &alice_id);
    ca_identity_id(scout, &scout_id);
    ca_identity_id(bob, &bob_id);

    /* 1. The ledger; the bank mints to alice (the hirer) and bob (the worker). */
    ca_ledger_options lo;
    check(ca_ledger_options_init(&lo, CA_LEDGER_OPTIONS_VERSION));
    ca_identity_id(bank, &lo.authority);
    check(ca_ledger_new(&ledger, &lo));
    check(ca_ledger_id(ledger, &ledger_id));
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_MINT, .amount = 1000};
    op.counterparty = alice_id;
    submit(&op, bank, NULL, 0);
    op.counterparty = bob_id, op.amount = 100; /* the same op again, to bob */
    submit(&op, bank, NULL, 0);
    ca_revocation_set *revocations = NULL;
    check(ca_revocation_set_new(&revocations, 16));
    check(ca_task_options_init(&to, CA_TASK_OPTIONS_VERSION));
    to.revocations = revocations;

    /* 2. alice delegates: summaries and escrows, 100 cr in all, 60 per task, one hour. */
    const char *const caps[] = {"llm.*", CA_LEDGER_CAPABILITY_ESCROW};
    ca_delegation_params dp = {.version = CA_DELEGATION_PARAMS_VERSION, .audience = &scout_id};
    ca_delegation *d = NULL;
    ca_delegation_info di = {.version = CA_DELEGATION_INFO_VERSION};
    dp.capabilities = caps, dp.capability_count = 2, dp.total_cap = 100, dp.task_cap = 60;
    dp.created_at = dp.not_before = now, dp.expires_at = now + 3600000; /* one hour */
    check(ca_delegation_sign(alice, &dp, grant, sizeof grant, &grant_len, &grant_id));
    check(ca_delegation_open(&d, grant, grant_len)); /* what scout and bob read */
    check(ca_delegation_get(d, &di));
    chain[0] = d;
    printf("delegation: alice -> scout: %s, %s; caps %" PRIu64 " in all, %" PRIu64 " per task\n",
           ca_delegation_capability(d, 0), ca_delegation_capability(d, 1), di.total_cap,
           di.task_cap);

    /* 3. scout hires bob for alice: the whole hire, every spend through the chain. */
    uint64_t before = balance(&alice_id);
    ca_task *task = post(50, 45);
    check(escrow(task, &op));
    printf("escrow: %" PRIu64 " cr from alice, %" PRIu64 " from bob\n", op.amount, op.amount2);
    tick(1500);
    ca_task_content c = {CA_TASK_CONTENT_VERSION, (const void *)"a short summary", 15, NULL, {{0}}};
    const ca_task_msg *award = ca_task_last(task, CA_KIND_TASK_AWARD);
    check(ca_task_result_reply(bob, &ep, award, &c, msg, sizeof msg, &len, NULL));
    check(ca_task_apply_bytes(task, msg, len, now));
    check(ca_ledger_op_escrow_deliver(&op, ca_task_last(task, CA_KIND_TASK_RESULT)));
    submit(&op, bob, msg, len);
    printf("delivered: a short summary\n");
    tick(100);
    check(ca_task_receipt_reply(scout, &ep, ca_task_last(task, CA_KIND_TASK_RESULT), 1, 95, 45, msg,
                                sizeof msg, &len, NULL));
    check(ca_task_apply_bytes(task, msg, len, now));
    op = (ca_ledger_op){.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_ESCROW_RELEASE};
    ca_task_msg_id(award, &op.ref);
    check(spend(&op, NULL));
    printf("paid: alice %" PRIu64 " -> %" PRIu64 " cr, bob %" PRIu64 " cr; spent %" PRIu64 "\n",
           before, balance(&alice_id), balance(&bob_id), spent());

    /* The rating is alice's: a delegated side counts as its principal. */
    ca_reputation *rep = NULL;
    ca_reputation_score sb, sa, ss;
    check(ca_reputation_new(&rep, NULL));
    check(ca_reputation_add_settled(rep, task, ledger));
    check(ca_reputation_update(rep, now, NULL));
    check(ca_reputation_get(rep, &bob_id, &sb, sizeof sb));
    check(ca_reputation_get(rep, &alice_id, &sa, sizeof sa));
    need(sa.ratings_given == 1 && sb.ratings_received == 1 &&
             ca_reputation_get(rep, &scout_id, &ss, sizeof ss) == CA_ERR_NOT_FOUND,
         "alice's rating of bob, none by scout");
    printf("rated: bob 95 by alice (scout rated nobody), bob's reputation %.2f; task %s\n",
           sb.expected, ca_task_state_name(ca_task_get_state(task)));

    /* 4. The cap: a 60 cr job fits the task cap, but 45 + 60 > 100 in all. */
    ca_task *task2 = post(60, 60);
    before = balance(&alice_id);
    refused("escrow of 60 cr", CA_ERR_LEDGER_CAP_EXCEEDED, escrow(task2, &op));
    printf("nothing moved: alice has %" PRIu64 " cr (was %" PRIu64 "), spent %" PRIu64 " of 100\n",
           balance(&alice_id), before, spent());

    /* 5. scout lines up a 40 cr job (it would fit: 45 + 40 <= 100); alice revokes first:
     * a REVOKE op in the ledger, a revocation message to the threads' revocation set. */
    ca_task *task3 = post(40, 40), *t4 = NULL;
    op = (ca_ledger_op){.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_REVOKE};
    op.ref = grant_id;
    submit(&op, alice, NULL, 0);
    check(ca_revocation_sign(alice, &grant_id, now, di.expires_at, msg, sizeof msg, &len, NULL));
    check(ca_revocation_set_add(revocations, msg, len));
    printf("revoked: alice revokes scout's delegation (ledger and threads)\n");
    refused("escrow of 40 cr", CA_ERR_DELEGATION_REVOKED, escrow(task3, &op));
    request(40);
    refused("new request", CA_ERR_DELEGATION_REVOKED, ca_task_new_bytes(&t4, msg, len, now, &to));

    /* 6. The ledger's invariants, checked from scratch. */
    check(ca_ledger_check(ledger));
    printf("ledger: consistent; alice %" PRIu64 " cr, bob %" PRIu64 " cr, spent %" PRIu64 "\n",
           balance(&alice_id), balance(&bob_id), spent());

    ca_reputation_free(rep);
    ca_task_free(task);
    ca_task_free(task2);
    ca_task_free(task3);
    ca_delegation_free(d);
    ca_revocation_set_free(revocations);
    ca_ledger_free(ledger);
    for (size_t i = 0; i < 4; i++)
        ca_identity_free(*who[i]);
    return 0;
}
