/*
 * Fuzz target: journal recovery (record framing, header and payload
 * checksums, torn tail versus corruption, op decoding, replay) on an
 * in-memory ledger.
 * Invariants: never crashes; status is CA_OK, CA_ERR_LEDGER_CORRUPT,
 * CA_ERR_LEDGER_OPTIONS_MISMATCH or CA_ERR_UNSUPPORTED (formats 1 and 2); one
 * pass: no byte is checksummed twice; on CA_OK every replayed op applied,
 * every refused log entry counted (never more than the log position), the
 * ledger passes ca_ledger_check, and the input is the good prefix followed by
 * at most one torn record (shorter than a record header plus the largest
 * payload).
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
    cai_replay rep;
    ca_status st = FUZZ_CALL(cai_journal_replay(l, data, size, &rep));
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_LEDGER_CORRUPT || st == CA_ERR_LEDGER_OPTIONS_MISMATCH ||
               st == CA_ERR_UNSUPPORTED);
    FUZZ_CHECK(rep.good_end <= size);
    FUZZ_CHECK(rep.crc_bytes <= size);
    if (st == CA_OK) {
        ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
        ca_ledger_totals_get(l, &t);
        FUZZ_CHECK(t.seq == rep.replayed);
        ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
        FUZZ_CHECK(ca_ledger_log_position(l, &li) == CA_OK);
        FUZZ_CHECK(li.failed == rep.refused && li.failed <= li.position);
        FUZZ_CHECK(ca_ledger_check(l) == CA_OK);
        if (size < CAI_JOURNAL_HEADER_BYTES) {
            FUZZ_CHECK(rep.good_end == 0 && rep.torn_bytes == size);
        } else if (rep.good_end > 0) {
            FUZZ_CHECK(rep.good_end + rep.torn_bytes == size);
            FUZZ_CHECK(rep.torn_bytes < CAI_RECORD_HEADER_BYTES + CAI_RECORD_MAX);
        } else { /* a format 1 header without records */
            FUZZ_CHECK(size == CAI_JOURNAL_HEADER_BYTES && rep.torn_bytes == 0);
        }
    } else {
    }
    ca_ledger_free(l);
    return 0;
}
