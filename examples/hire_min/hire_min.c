/* Hiring in a page of C: alice hires bob once, end to end, on the public API. One
 * process plays everyone; across processes the same bytes travel (examples/nats). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <cyberagent.h>

#define TTL 600000 /* every message is valid for 10 minutes (ms) */

static uint64_t now = 1767225600000; /* the caller's clock (ms): the library reads none */
static ca_envelope_params ep = {.version = CA_ENVELOPE_PARAMS_VERSION}; /* next message's */
static ca_hash ledger_id; /* every signed op names the ledger it is for */
static uint8_t msg[4096]; /* the last message on the wire */
static size_t len;

/* Stops at the first failure, with the library's sentence for it. */
static void check(ca_status st)
{
    if (st != CA_OK) {
        fprintf(stderr, "hire_min: %s: %s\n", ca_status_str(st), ca_last_error());
        exit(1);
    }
}

static void tick(uint64_t ms)
{
    ep.created_at = now += ms;
    ep.expires_at = now + TTL;
}

/* Signs `op` as `who` with its next nonce (with the worker's `consent` for an escrow)
 * and submits it, with `attach` when it claims a message (a DELIVER's RESULT). */
static void submit(ca_ledger *l, ca_ledger_op *op, const ca_identity *who,
                   const ca_signature *consent, const uint8_t *attach, size_t attach_len)
{
    uint8_t so[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_ledger_account_info acct = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    ca_identity_id(who, &op->signer);
    op->nonce = (ca_ledger_account(l, &op->signer, &acct) == CA_OK ? acct.nonce : 0) + 1;
    check(ca_ledger_op_sign_cosigned(&ledger_id, op, who, consent, so, sizeof so, &n));
    check(attach ? ca_ledger_submit_evidence(l, so, n, attach, attach_len, now, NULL)
                 : ca_ledger_submit(l, so, n, now, NULL));
}

int main(void)
{
    ca_identity *bank = NULL, *alice = NULL, *bob = NULL; /* each agent's key pair */
    ca_agent_id bob_id;
    check(ca_identity_generate(&bank));
    check(ca_identity_generate(&alice));
    check(ca_identity_generate(&bob));
    ca_identity_id(bob, &bob_id);

    /* The ledger; the bank mints credits to both. */
    ca_ledger_options lo;
    ca_ledger *ledger = NULL;
    check(ca_ledger_options_init(&lo, CA_LEDGER_OPTIONS_VERSION));
    ca_identity_id(bank, &lo.authority);
    check(ca_ledger_new(&ledger, &lo));
    check(ca_ledger_id(ledger, &ledger_id));
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_MINT, .amount = 1000};
    ca_identity_id(alice, &op.counterparty);
    submit(ledger, &op, bank, NULL, NULL, 0);
    op.counterparty = bob_id, op.amount = 100; /* the same op again, to bob */
    submit(ledger, &op, bank, NULL, NULL, 0);

    /* Bob's signed card; alice verifies it before she trusts the price on it. */
    const ca_card_capability offer = {"llm.summarize", 45, 2000};
    ca_card_params cp = {.version = CA_CARD_PARAMS_VERSION, .name = "bob", .capabilities = &offer};
    cp.capability_size = sizeof offer, cp.capability_count = 1, cp.endpoint = "agents.bob.inbox";
    cp.created_at = cp.not_before = now, cp.not_after = now + TTL;
    ca_card *card = NULL;
    ca_card_capability cap;
    check(ca_card_sign(bob, &cp, msg, sizeof msg, &len, NULL));
    check(ca_card_open(&card, msg, len, now, NULL));
    check(ca_card_find_capability(card, "llm.summarize", 13, &cap, sizeof cap));
    printf("card: %s does %s for %" PRIu64 " cr\n", ca_card_name(card), cap.name, cap.price);
    ca_card_free(card);

    /* REQUEST: alice posts the task; her thread checks every later message. */
    tick(100);
    ca_task_content c = {CA_TASK_CONTENT_VERSION, (const void *)"a long report", 13, NULL, {{0}}};
    ca_task_request rq = {CA_TASK_REQUEST_VERSION, "llm.summarize", &c, .max_price = 50};
    rq.deadline = now + 60000, rq.collateral = 20;
    ca_task *task = NULL;
    check(ca_task_request_sign(alice, &ep, &rq, msg, sizeof msg, &len, NULL));
    check(ca_task_new_bytes(&task, msg, len, now, NULL));

    /* BID: bob reads the request (verified) and answers at his card's price. */
    ca_task_msg *got = NULL;
    check(ca_task_msg_open(&got, msg, len, now, NULL));
    tick(100);
    check(ca_task_bid_reply(bob, &ep, got, cap.price, now + 30000, msg, sizeof msg, &len, NULL));
    ca_task_msg_free(got);
    check(ca_task_apply_bytes(task, msg, len, now));

    /* AWARD, then ESCROW: bob consents to the award's terms on this ledger; alice submits. */
    tick(100);
    const ca_task_msg *bid = ca_task_last(task, CA_KIND_TASK_BID);
    check(ca_task_award_reply(alice, &ep, bid, 0, msg, sizeof msg, &len, NULL));
    check(ca_task_apply_bytes(task, msg, len, now));
    ca_signature consent;
    check(ca_task_msg_open(&got, msg, len, now, NULL));
    check(ca_ledger_op_escrow_open(&op, got));
    check(ca_ledger_op_cosign(&ledger_id, &op, bob, &consent));
    check(ca_ledger_op_escrow_open(&op, ca_task_last(task, CA_KIND_TASK_AWARD)));
    submit(ledger, &op, alice, &consent, NULL, 0);
    printf("escrow: %" PRIu64 " cr from alice, %" PRIu64 " from bob\n", op.amount, op.amount2);

    /* RESULT, then DELIVER: bob's op names his RESULT and carries it to the ledger. */
    tick(1500);
    c.data = (const void *)"a short summary", c.data_len = 15; /* now the output */
    check(ca_task_result_reply(bob, &ep, got, &c, msg, sizeof msg, &len, NULL));
    ca_task_msg_free(got);
    check(ca_task_apply_bytes(task, msg, len, now));
    check(ca_ledger_op_escrow_deliver(&op, ca_task_last(task, CA_KIND_TASK_RESULT)));
    submit(ledger, &op, bob, NULL, msg, len);
    printf("delivered: %.15s\n", (const char *)c.data);

    /* RECEIPT with payment and rating, then RELEASE: bob is paid, his collateral back. */
    tick(100);
    const ca_task_msg *result = ca_task_last(task, CA_KIND_TASK_RESULT);
    check(ca_task_receipt_reply(alice, &ep, result, 1, 95, cap.price, msg, sizeof msg, &len, NULL));
    check(ca_task_apply_bytes(task, msg, len, now));
    op = (ca_ledger_op){.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_ESCROW_RELEASE};
    ca_task_msg_id(ca_task_last(task, CA_KIND_TASK_AWARD), &op.ref);
    submit(ledger, &op, alice, NULL, NULL, 0);

    /* REPUTATION: the settled thread is the rating, weighted by what the ledger paid. */
    ca_reputation *rep = NULL;
    ca_reputation_score score;
    ca_ledger_account_info acct = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    check(ca_reputation_new(&rep, NULL));
    check(ca_reputation_add_settled(rep, task, ledger));
    check(ca_reputation_update(rep, now, NULL));
    check(ca_reputation_get(rep, &bob_id, &score, sizeof score));
    check(ca_ledger_account(ledger, &bob_id, &acct));
    check(ca_ledger_check(ledger));
    printf("paid: bob has %" PRIu64 " cr, rated 95, reputation %.2f; task %s\n", acct.balance,
           score.expected, ca_task_state_name(ca_task_get_state(task)));
    ca_reputation_free(rep);
    ca_task_free(task);
    ca_ledger_free(ledger);
    ca_identity_free(bank);
    ca_identity_free(alice);
    ca_identity_free(bob);
    return 0;
}
