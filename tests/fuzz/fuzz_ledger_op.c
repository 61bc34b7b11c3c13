/*
 * Fuzz target: the strict decoder of signed ledger ops, delegated ones (with
 * a chain of delegations, ledger.h DELEGATION) included.
 * Invariants: never crashes; failures are CA_ERR_MALFORMED or CA_ERR_LIMIT;
 * on success the op re-encodes (cai_ledger_op_encode) to exactly the input
 * without its signature fields, so every op has one encoding; a delegated
 * op re-encodes with its signatures and its chain (each link's canonical
 * bytes, ca_delegation_encoded) to exactly the input, and reports its leaf's
 * id; verification (for the ledger of fuzz_ledger_options(), whose id the
 * seeds are signed for) answers CA_OK or CA_ERR_BAD_SIGNATURE.
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
    static const uint8_t zero[32];
    if (memcmp(op.delegation.bytes, zero, 32) != 0) {
        cai_dlg_ctx chain;
        ca_ledger_op again;
        const uint8_t *s = NULL, *c = NULL;
        FUZZ_CHECK(cai_ledger_op_decode_signed(data, size, &again, &s, &c, &chain) == CA_OK);
        FUZZ_CHECK(chain.count >= 1 && chain.count <= CA_DELEGATION_MAX_DEPTH);
        static uint8_t links[CA_DELEGATION_MAX_DEPTH][CA_LEDGER_DELEGATED_OP_MAX_BYTES];
        const uint8_t *ptrs[CA_DELEGATION_MAX_DEPTH];
        size_t lens[CA_DELEGATION_MAX_DEPTH];
        for (size_t i = 0; i < chain.count; i++) {
            FUZZ_CHECK(ca_delegation_encoded(chain.links[i], links[i], sizeof links[i], &lens[i]) ==
                       CA_OK);
            ptrs[i] = links[i];
        }
        ca_delegation_info leaf = {.version = CA_DELEGATION_INFO_VERSION};
        FUZZ_CHECK(ca_delegation_get(chain.links[chain.count - 1], &leaf) == CA_OK);
        FUZZ_CHECK(memcmp(leaf.id.bytes, op.delegation.bytes, 32) == 0);
        static uint8_t back[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
        size_t m = 0;
        FUZZ_CHECK(cai_ledger_op_encode_signed_chain(&again, s, c, ptrs, lens, chain.count, back,
                                                     sizeof back, &m) == CA_OK);
        FUZZ_CHECK(m == size && memcmp(back, data, size) == 0);
        cai_dlg_ctx_free(&chain);
    } else {
        size_t sigs = op.type == CA_LEDGER_OP_ESCROW_OPEN ? 2 : 1;
        FUZZ_CHECK(size == n + sigs * 67);
        FUZZ_CHECK(data[0] == enc[0] + sigs); /* fixmap count */
        FUZZ_CHECK(memcmp(data + 1, enc + 1, n - 1) == 0);
    }
    ca_ledger_options o = fuzz_ledger_options();
    ca_hash id;
    FUZZ_CHECK(ca_ledger_options_id(&o, &id) == CA_OK);
    st = FUZZ_CALL(ca_ledger_op_verify(&id, data, size));
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_BAD_SIGNATURE);
    return 0;
}
