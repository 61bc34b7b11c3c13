/*
 * Fuzz target: the strict reputation snapshot decoder.
 * Invariants: never crashes; a refusal leaves the handle empty and names a
 * reason; an accepted snapshot exports back to exactly the same bytes (one
 * encoding per state) and survives an update; pruning it then gives a state
 * whose snapshot loads and exports to the same bytes again.
 */
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_reputation_options o;
    FUZZ_CHECK(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION) == CA_OK);
    o.max_agents = 4096;
    o.max_ratings = 16384;
    o.max_iterations = 50;
    ca_reputation *rep = NULL;
    FUZZ_CHECK(ca_reputation_new(&rep, &o) == CA_OK);
    ca_status st = FUZZ_CALL(ca_reputation_snapshot_import(rep, data, size));
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_REPUTATION_CORRUPT || st == CA_ERR_UNSUPPORTED ||
                   st == CA_ERR_LIMIT || st == CA_ERR_STATE);
        FUZZ_CHECK(ca_reputation_agent_count(rep) == 0);
        ca_reputation_free(rep);
        return 0;
    }
    size_t len = 0;
    FUZZ_CHECK(FUZZ_CALL(ca_reputation_snapshot_export(rep, NULL, 0, &len)) ==
               CA_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(len == size);
    uint8_t *out = malloc(len);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(ca_reputation_snapshot_export(rep, out, len, &len) == CA_OK);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    free(out);
    FUZZ_CHECK(ca_reputation_update(rep, 1700000000000ull, NULL) == CA_OK);
    /* Prune as of a time in [0, 2^43) ms taken from the checksum (rating times are < 2^42 ms). */
    uint64_t now = 0;
    for (int k = 0; k < 8; k++)
        now |= (uint64_t)data[size - 32 + (size_t)k] << (8 * k);
    now &= (1ull << 43) - 1;
    size_t before = ca_reputation_rating_count(rep), pruned = 0;
    FUZZ_CHECK(ca_reputation_prune(rep, now, &pruned) == CA_OK);
    FUZZ_CHECK(ca_reputation_rating_count(rep) + pruned == before);
    FUZZ_CHECK(FUZZ_CALL(ca_reputation_snapshot_export(rep, NULL, 0, &len)) ==
               CA_ERR_BUFFER_TOO_SMALL);
    out = malloc(len);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(ca_reputation_snapshot_export(rep, out, len, &len) == CA_OK);
    ca_reputation *again = NULL;
    FUZZ_CHECK(ca_reputation_new(&again, &o) == CA_OK);
    FUZZ_CHECK(ca_reputation_snapshot_import(again, out, len) == CA_OK);
    size_t len2 = 0;
    FUZZ_CHECK(FUZZ_CALL(ca_reputation_snapshot_export(again, NULL, 0, &len2)) ==
               CA_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(len2 == len);
    uint8_t *out2 = malloc(len2);
    FUZZ_CHECK(out2 != NULL);
    FUZZ_CHECK(ca_reputation_snapshot_export(again, out2, len2, &len2) == CA_OK);
    FUZZ_CHECK(memcmp(out, out2, len) == 0);
    free(out);
    free(out2);
    ca_reputation_free(again);
    ca_reputation_free(rep);
    return 0;
}
