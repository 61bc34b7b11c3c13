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
    ca_agent_id rater;
    ca_task_id(task, &task_id);
    ca_task_requester(task, &rater);
    return ca_reputation_add_rating(rep, &task_id, &rater, &receipt.worker, receipt.rating,
                                    receipt.paid, at);
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
    ca_agent_id rater;
    ca_task_id(task, &task_id);
    ca_task_requester(task, &rater);
    if (memcmp(esc.hirer.bytes, rater.bytes, CA_AGENT_ID_BYTES) != 0 ||
        memcmp(esc.worker.bytes, receipt.worker.bytes, CA_AGENT_ID_BYTES) != 0)
        return cai_fail(CA_ERR_ESCROW_MISMATCH,
                        "the award's escrow is between other parties than the requester and the "
                        "rated worker");
    if (esc.state == CA_LEDGER_ESCROW_OPEN)
        return cai_fail(CA_ERR_UNPAID_RATING,
                        "the task's escrow is still open: rate it once released or split");
    if (esc.state != CA_LEDGER_ESCROW_RELEASED && esc.state != CA_LEDGER_ESCROW_SPLIT)
        return cai_fail(CA_ERR_UNPAID_RATING, "the task's escrow was refunded: nothing was paid");
    /* The ledger, not the receipt's `paid`, says what the rating cost. */
    return ca_reputation_add_rating(rep, &task_id, &rater, &receipt.worker, receipt.rating,
                                    esc.paid, at);
}
