/*
 * Fuzz target: whole-thread deserialization (every envelope re-verified,
 * every rule re-applied).
 * Invariants: never crashes, never leaks; an accepted thread re-serializes to
 * exactly the input, its state is one of the seven, it holds at most
 * CA_TASK_BIDS_DEFAULT bids and CA_TASK_NONBID_MAX other messages, and every
 * message is found by its id.
 */
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_task *t = NULL;
    ca_status st = ca_task_deserialize(&t, data, size, NULL);
    if (st != CA_OK) {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(st < 0);
        return 0;
    }
    ca_task_state s = ca_task_get_state(t);
    FUZZ_CHECK(s >= CA_TASK_SUBMITTED && s <= CA_TASK_REJECTED);
    size_t count = ca_task_message_count(t), bids = ca_task_bid_count(t);
    FUZZ_CHECK(bids <= CA_TASK_BIDS_DEFAULT && count - bids <= CA_TASK_NONBID_MAX);
    for (size_t i = 0; i < count; i++) {
        ca_hash id;
        ca_task_msg_id(ca_task_message(t, i), &id);
        FUZZ_CHECK(ca_task_find(t, &id) == ca_task_message(t, i));
    }
    uint8_t *again = malloc(size);
    size_t len = 0;
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(ca_task_serialize(t, again, size, &len) == CA_OK);
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
    free(again);
    ca_task_free(t);
    return 0;
}
