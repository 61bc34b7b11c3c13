/* Ratings from settled task threads (task module RECEIPTs). */
#include "reputation_internal.h"

ca_status ca_reputation_add_receipt(ca_reputation *rep, const ca_task *task)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(task);
    ca_task_state state = ca_task_get_state(task);
    if (state != CA_TASK_COMPLETED && state != CA_TASK_REJECTED && state != CA_TASK_FAILED)
        return cai_fail(CA_ERR_STATE, "task is %s: no accepted receipt to rate",
                        ca_task_state_name(state));
    /* The thread accepts one receipt; it is the last RECEIPT among its messages. */
    const ca_task_msg *msg = NULL;
    for (size_t i = ca_task_message_count(task); i-- > 0;) {
        const ca_task_msg *m = ca_task_message(task, i);
        if (m != NULL && ca_task_msg_kind(m) == CA_KIND_TASK_RECEIPT) {
            msg = m;
            break;
        }
    }
    if (msg == NULL)
        return cai_fail(CA_ERR_STATE, "settled task holds no receipt");
    ca_task_receipt receipt;
    ca_status st = ca_task_msg_receipt(msg, &receipt);
    if (st != CA_OK)
        return st;
    ca_hash task_id;
    ca_agent_id rater;
    ca_task_id(task, &task_id);
    ca_task_requester(task, &rater);
    return ca_reputation_add_rating(rep, &task_id, &rater, &receipt.worker, receipt.rating,
                                    receipt.paid, ca_task_msg_created_at(msg));
}
