/* Ratings from settled task threads (task module RECEIPTs), checked against the ledger or not. */
#include "reputation_internal.h"

/* The accepted RECEIPT of a settled thread and when it was made. A thread holds
 * its receipt exactly when it is settled (completed, rejected or failed). */
static ca_status settled_receipt(const ca_task *task, ca_task_receipt *receipt,
                                 uint64_t *created_at)
{
    const ca_task_msg *msg = ca_task_last(task, CA_KIND_TASK_RECEIPT);
    if (msg == NULL)
        return cai_fail(CA_ERR_STATE, "task is %s: no accepted receipt to rate",
                        ca_task_state_name(ca_task_get_state(task)));
    receipt->version = CA_TASK_RECEIPT_VERSION;
    ca_status st = ca_task_msg_receipt(msg, receipt);
    if (st != CA_OK)
        return st;
    *created_at = ca_task_msg_created_at(msg);
    return CA_OK;
}

/* Whom a side of the thread stands for: the delegator of a side acting under a delegation
 * chain (task.h, ca_task_side), else the agent that signs it. */
static void side_principal(const ca_task *task, ca_task_party party, ca_agent_id *out)
{
    ca_task_side_info side = {.version = CA_TASK_SIDE_INFO_VERSION};
    if (ca_task_side(task, party, &side) == CA_OK)
        *out = side.principal;
}

ca_status ca_reputation_add_receipt(ca_reputation *rep, const ca_task *task)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(task);
    ca_task_receipt receipt;
    uint64_t at = 0;
    ca_status st = settled_receipt(task, &receipt, &at);
    if (st != CA_OK)
        return st;
    ca_hash task_id;
    ca_agent_id rater, worker = receipt.worker;
    ca_task_id(task, &task_id);
    ca_task_requester(task, &rater);
    side_principal(task, CA_TASK_PARTY_REQUESTER, &rater);
    side_principal(task, CA_TASK_PARTY_WORKER, &worker);
    return ca_reputation_add_rating(rep, &task_id, &rater, &worker, receipt.rating, receipt.paid,
                                    at);
}

/*
 * 1 when the escrow's party `account` is the thread side whose agent is `agent` and whose
 * principal is `principal`: the account is either of them (a delegated side's account is
 * its delegator's), or the agent is the account's current key after a rotation (ledger.h,
 * KEY ROTATION).
 */
static int is_party(const ca_ledger *ledger, const ca_agent_id *account, const ca_agent_id *agent,
                    const ca_agent_id *principal)
{
    if (memcmp(account->bytes, principal->bytes, CA_AGENT_ID_BYTES) == 0 ||
        memcmp(account->bytes, agent->bytes, CA_AGENT_ID_BYTES) == 0)
        return 1;
    ca_ledger_key_info key = {.version = CA_LEDGER_KEY_INFO_VERSION};
    return ca_ledger_key_state(ledger, account, &key) == CA_OK &&
           (memcmp(key.key.bytes, agent->bytes, CA_AGENT_ID_BYTES) == 0 ||
            memcmp(key.key.bytes, principal->bytes, CA_AGENT_ID_BYTES) == 0);
}

ca_status ca_reputation_add_settled(ca_reputation *rep, const ca_task *task,
                                    const ca_ledger *ledger)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(task);
    CAI_REQUIRE(ledger);
    ca_task_receipt receipt;
    uint64_t at = 0;
    ca_status st = settled_receipt(task, &receipt, &at);
    if (st != CA_OK)
        return st;
    ca_ledger_escrow_info esc = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
    if (ca_ledger_escrow(ledger, &receipt.award, &esc) != CA_OK)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_ESCROW,
                        "the ledger holds no escrow for the task's award: not paid through it");
    ca_hash task_id;
    ca_agent_id requester, rater, worker = receipt.worker;
    ca_task_id(task, &task_id);
    ca_task_requester(task, &requester);
    rater = requester;
    side_principal(task, CA_TASK_PARTY_REQUESTER, &rater);
    side_principal(task, CA_TASK_PARTY_WORKER, &worker);
    if (!is_party(ledger, &esc.hirer, &requester, &rater) ||
        !is_party(ledger, &esc.worker, &receipt.worker, &worker))
        return cai_fail(CA_ERR_ESCROW_MISMATCH,
                        "the award's escrow is between other parties than the requester and the "
                        "rated worker");
    if (esc.state == CA_LEDGER_ESCROW_OPEN)
        return cai_fail(CA_ERR_UNPAID_RATING,
                        "the task's escrow is still open: rate it once released or split");
    if (esc.state != CA_LEDGER_ESCROW_RELEASED && esc.state != CA_LEDGER_ESCROW_SPLIT)
        return cai_fail(CA_ERR_UNPAID_RATING, "the task's escrow was refunded: nothing was paid");
    /* The ledger, not the receipt's `paid`, says what the rating cost; the ratings go to the
     * accounts the escrow names, which stay when keys rotate. */
    return ca_reputation_add_rating(rep, &task_id, &esc.hirer, &esc.worker, receipt.rating,
                                    esc.paid, at);
}
