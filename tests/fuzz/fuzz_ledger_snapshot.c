/*
 * Fuzz target: the strict snapshot decoder. The checksum and stored state
 * hash are not required here (CAI_SNAP_SKIP_CHECKSUM) so the fuzzer reaches
 * the structure behind them.
 * Invariants: never crashes; status is CA_OK, CA_ERR_LEDGER_CORRUPT or
 * CA_ERR_LEDGER_OPTIONS_MISMATCH; on CA_OK the ledger passes ca_ledger_check
 * and re-encodes to the same bytes (up to the 64 trailing hash bytes), and
 * the re-encoding decodes with full checking.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "fuzz_ledger_common.h"
#include "ledger/ledger_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    ca_status st = FUZZ_CALL(cai_snapshot_decode(data, size, &o, CAI_SNAP_SKIP_CHECKSUM, &l));
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_LEDGER_CORRUPT || st == CA_ERR_LEDGER_OPTIONS_MISMATCH);
    if (st != CA_OK) {
        FUZZ_CHECK(l == NULL);
        return 0;
    }
    FUZZ_CHECK(ca_ledger_check(l) == CA_OK);
    uint8_t *enc = NULL;
    size_t n = 0;
    FUZZ_CHECK(cai_snapshot_encode(l, &enc, &n) == CA_OK);
    FUZZ_CHECK(n == size && memcmp(enc, data, size - 64) == 0);
    ca_ledger *again = NULL;
    FUZZ_CHECK(cai_snapshot_decode(enc, n, &o, 0, &again) == CA_OK);
    ca_hash h1, h2;
    FUZZ_CHECK(ca_ledger_state_hash(l, &h1) == CA_OK);
    FUZZ_CHECK(ca_ledger_state_hash(again, &h2) == CA_OK);
    FUZZ_CHECK(memcmp(h1.bytes, h2.bytes, 32) == 0);
    free(enc);
    ca_ledger_free(again);
    ca_ledger_free(l);
    return 0;
}
