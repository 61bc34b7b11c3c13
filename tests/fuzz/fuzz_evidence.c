/*
 * Fuzz target: equivocation evidence decoding and verification.
 * Invariants: never crashes; a failure is CA_ERR_MALFORMED or
 * CA_ERR_BAD_EVIDENCE; accepted evidence re-encodes (from its two envelopes)
 * to exactly the input, names a kind that can equivocate, and its hash is
 * stable.
 */
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_evidence *ev = NULL;
    ca_status st = ca_evidence_open(&ev, data, size);
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_EVIDENCE);
        FUZZ_CHECK(ev == NULL);
        return 0;
    }
    uint32_t kind = ca_evidence_kind(ev);
    FUZZ_CHECK(kind == CA_KIND_TASK_BID || kind == CA_KIND_TASK_AWARD ||
               kind == CA_KIND_TASK_RESULT);
    ca_hash h1, h2, m0, m1;
    ca_evidence_hash(ev, &h1);
    ca_evidence_message(ev, 0, &m0);
    ca_evidence_message(ev, 1, &m1);
    FUZZ_CHECK(memcmp(m0.bytes, m1.bytes, CA_HASH_BYTES) < 0);
    FUZZ_CHECK(ca_evidence_verify(data, size, NULL, NULL, NULL, &h2) == CA_OK);
    FUZZ_CHECK(memcmp(h1.bytes, h2.bytes, CA_HASH_BYTES) == 0);
    ca_evidence_free(ev);
    return 0;
}
