/*
 * Fuzz target: the strict did:key parser.
 * Invariants: never crashes; on success the id re-encodes to exactly the
 * input (one text per key); on failure the status is CA_ERR_BAD_DID and a
 * reason is recorded.
 */
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_agent_id id;
    ca_status st = FUZZ_CALL(ca_did_parse((const char *)data, size, &id));
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_BAD_DID);
        return 0;
    }
    char text[CA_DID_MAX_CHARS + 1];
    size_t len = 0;
    FUZZ_CHECK(ca_did_encode(&id, text, sizeof text, &len) == CA_OK);
    FUZZ_CHECK(len == size);
    FUZZ_CHECK(memcmp(text, data, size) == 0);
    return 0;
}
