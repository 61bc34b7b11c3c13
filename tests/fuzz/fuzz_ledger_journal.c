/*
 * Fuzz target: journal recovery (record framing, checksums, torn-tail versus
 * corruption, op decoding, replay) on an in-memory ledger.
 * Invariants: never crashes; status is CA_OK, CA_ERR_LEDGER_CORRUPT or
 * CA_ERR_LEDGER_OPTIONS_MISMATCH; on CA_OK every replayed op applied and the
 * ledger passes ca_ledger_check; the good prefix never exceeds the input.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_ledger_common.h"
#include "ledger/ledger_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    FUZZ_CHECK(ca_ledger_new(&l, &o) == CA_OK);
    size_t good_end = 0;
    int torn = 0;
    uint64_t replayed = 0;
    ca_status st = cai_journal_replay(l, data, size, &good_end, &torn, &replayed);
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_LEDGER_CORRUPT || st == CA_ERR_LEDGER_OPTIONS_MISMATCH);
    FUZZ_CHECK(good_end <= size);
    if (st == CA_OK) {
        ca_ledger_totals t;
        ca_ledger_totals_get(l, &t);
        FUZZ_CHECK(t.seq == replayed);
        FUZZ_CHECK(ca_ledger_check(l) == CA_OK);
        FUZZ_CHECK(torn || good_end == size || size < CAI_JOURNAL_HEADER_BYTES);
    } else {
        FUZZ_CHECK(ca_last_error()[0] != '\0');
    }
    ca_ledger_free(l);
    return 0;
}
