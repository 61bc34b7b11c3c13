/*
 * Fuzz target: the strict snapshot decoder. The checksum and stored state
 * hash are not required here (CAI_SNAP_SKIP_CHECKSUM) so the fuzzer reaches
 * the structure behind them.
 * This is also the decoder of ca_ledger_new_from_snapshot and
 * ca_ledger_open_from_snapshot (snapshot bytes from another replica).
 * Invariants: never crashes; status is CA_OK, CA_ERR_LEDGER_CORRUPT or
 * CA_ERR_LEDGER_OPTIONS_MISMATCH; on CA_OK the ledger passes ca_ledger_check
 * and re-encodes to the same bytes (up to the 64 trailing hash bytes), the
 * public export writes the re-encoding, and the re-encoding makes a ledger
 * through ca_ledger_new_from_snapshot with the same state hash and log
 * position.
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
    size_t m = 0;
    FUZZ_CHECK(ca_ledger_snapshot_export(l, NULL, 0, &m) == CA_ERR_BUFFER_TOO_SMALL && m == n);
    uint8_t *pub = malloc(n);
    FUZZ_CHECK(pub != NULL);
    FUZZ_CHECK(ca_ledger_snapshot_export(l, pub, n, &m) == CA_OK && m == n);
    FUZZ_CHECK(memcmp(pub, enc, n) == 0);
    free(pub);
    ca_ledger *again = NULL;
    FUZZ_CHECK(ca_ledger_new_from_snapshot(&again, &o, enc, n) == CA_OK);
    ca_hash h1, h2;
    FUZZ_CHECK(ca_ledger_state_hash(l, &h1) == CA_OK);
    FUZZ_CHECK(ca_ledger_state_hash(again, &h2) == CA_OK);
    FUZZ_CHECK(memcmp(h1.bytes, h2.bytes, 32) == 0);
    ca_ledger_log_info a = {.version = CA_LEDGER_LOG_INFO_VERSION}, b = a;
    FUZZ_CHECK(ca_ledger_log_position(l, &a) == CA_OK);
    FUZZ_CHECK(ca_ledger_log_position(again, &b) == CA_OK);
    FUZZ_CHECK(a.position == b.position && a.clock == b.clock && a.failed == b.failed);
    free(enc);
    ca_ledger_free(again);
    ca_ledger_free(l);
    return 0;
}
