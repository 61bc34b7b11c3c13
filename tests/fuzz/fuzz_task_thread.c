/*
 * Fuzz target: whole-thread deserialization (every envelope re-verified,
 * every rule re-applied).
 * Invariants: never crashes, never leaks; an accepted thread re-serializes to
 * exactly the input, its state is one of the seven, it holds at most
 * CA_TASK_MAX_BIDS_DEFAULT bids and CA_TASK_NONBID_MAX other messages, every
 * message is found by its id and re-opens alone from its bytes
 * (ca_task_msg_open at its own created_at), ca_task_last(kind) is a message
 * of that kind in the thread (the request is message 0, a receipt is there
 * exactly when the thread is settled) and the digest succeeds.
 */
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_task *t = NULL;
    ca_status st = FUZZ_CALL(ca_task_deserialize(&t, data, size, NULL));
    if (st != CA_OK) {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(st < 0);
        return 0;
    }
    ca_task_state s = ca_task_get_state(t);
    FUZZ_CHECK(s >= CA_TASK_SUBMITTED && s <= CA_TASK_REJECTED);
    size_t count = ca_task_message_count(t), bids = ca_task_bid_count(t);
    FUZZ_CHECK(bids <= CA_TASK_MAX_BIDS_DEFAULT && count - bids <= CA_TASK_NONBID_MAX);
    for (size_t i = 0; i < count; i++) {
        const ca_task_msg *m = ca_task_message(t, i);
        ca_hash id, id2;
        ca_task_msg_id(m, &id);
        FUZZ_CHECK(ca_task_find(t, &id) == m);
        uint8_t env[8192];
        size_t env_len = 0;
        ca_task_msg *again = NULL;
        if (ca_task_msg_encoded(m, env, sizeof env, &env_len) == CA_OK) {
            FUZZ_CHECK(ca_task_msg_open(&again, env, env_len, ca_task_msg_created_at(m), NULL) ==
                       CA_OK);
            ca_task_msg_id(again, &id2);
            FUZZ_CHECK(memcmp(id.bytes, id2.bytes, CA_HASH_BYTES) == 0);
            ca_task_msg_free(again);
        }
    }
    FUZZ_CHECK(ca_task_last(t, CA_KIND_TASK_REQUEST) == ca_task_message(t, 0));
    for (uint32_t k = CA_KIND_TASK_REQUEST; k <= CA_KIND_TASK_DISPUTE; k++) {
        const ca_task_msg *m = ca_task_last(t, k);
        if (m == NULL)
            continue;
        ca_hash id;
        ca_task_msg_id(m, &id);
        FUZZ_CHECK(ca_task_msg_kind(m) == k && ca_task_find(t, &id) == m);
    }
    int settled = s == CA_TASK_COMPLETED || s == CA_TASK_FAILED || s == CA_TASK_REJECTED;
    FUZZ_CHECK((ca_task_last(t, CA_KIND_TASK_RECEIPT) != NULL) == settled);
    ca_hash digest;
    FUZZ_CHECK(ca_task_digest(t, &digest) == CA_OK);
    uint8_t *again = malloc(size);
    size_t len = 0;
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(ca_task_serialize(t, again, size, &len) == CA_OK);
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
    free(again);
    ca_task_free(t);
    return 0;
}
