/*
 * Fuzz target: the strict decoder of signed ledger ops.
 * Invariants: never crashes; failures are CA_ERR_MALFORMED or CA_ERR_LIMIT;
 * on success the op re-encodes (cai_ledger_op_encode) to exactly the input
 * without its signature fields, so every op has one encoding, and
 * verification (for the ledger of fuzz_ledger_options(), whose id the seeds
 * are signed for) answers CA_OK or CA_ERR_BAD_SIGNATURE.
 */
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "fuzz_ledger_common.h"
#include "ledger/ledger_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    ca_status st = FUZZ_CALL(ca_ledger_op_decode(data, size, &op));
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_LIMIT);
        return 0;
    }
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    FUZZ_CHECK(cai_ledger_op_encode(&op, enc, sizeof enc, &n) == CA_OK);
    size_t sigs = op.type == CA_LEDGER_OP_ESCROW_OPEN ? 2 : 1;
    FUZZ_CHECK(size == n + sigs * 67);
    FUZZ_CHECK(data[0] == enc[0] + sigs); /* fixmap count */
    FUZZ_CHECK(memcmp(data + 1, enc + 1, n - 1) == 0);
    ca_ledger_options o = fuzz_ledger_options();
    ca_hash id;
    FUZZ_CHECK(ca_ledger_options_id(&o, &id) == CA_OK);
    st = FUZZ_CALL(ca_ledger_op_verify(&id, data, size));
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_BAD_SIGNATURE);
    return 0;
}
