/*
 * Fuzz target: whole-thread deserialization (every envelope re-verified,
 * every rule re-applied).
 * Invariants: never crashes, never leaks; an accepted thread re-serializes to
 * exactly the input and its state is one of the seven.
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
    uint8_t *again = malloc(size);
    size_t len = 0;
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(ca_task_serialize(t, again, size, &len) == CA_OK);
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
    free(again);
    ca_task_free(t);
    return 0;
}
