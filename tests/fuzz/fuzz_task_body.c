/*
 * Fuzz target: the strict decoders of the seven task bodies. The first input
 * byte selects the kind (16 + byte % 7), the rest is the body.
 * Invariants: never crashes; a failure is CA_ERR_MALFORMED or
 * CA_ERR_BAD_CAPABILITY; an accepted body whose delegation links (requests
 * and bids) are delegations re-encodes to exactly the input.
 */
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "fuzz_task_views.h"
#include "task/task_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t kind = CA_KIND_TASK_REQUEST + data[0] % 7u;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    cai_task_body b;
    ca_status st = FUZZ_CALL(cai_task_body_decode(kind, body, len, &b));
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_CAPABILITY);
        return 0;
    }
    char *text, *uri;
    ca_delegation *links[CA_DELEGATION_MAX_DEPTH];
    if (fuzz_task_body_views(kind, &b, &text, &uri, links)) {
        uint8_t *again = malloc(len > 0 ? len : 1);
        size_t again_len = 0;
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(cai_task_body_encode(kind, &b.u, again, len, &again_len) == CA_OK);
        FUZZ_CHECK(again_len == len && memcmp(again, body, len) == 0);
        free(again);
        fuzz_task_links_free(links, b.chain_count);
    }
    free(text);
    free(uri);
    return 0;
}
