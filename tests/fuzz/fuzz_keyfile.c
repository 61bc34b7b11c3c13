/*
 * Fuzz target: the encrypted key-file loader (ca_identity_import_encrypted).
 *
 * Input layout: byte 0 flags, byte 1 passphrase length P, then P bytes of
 * passphrase (fewer if the input ends), then the key file bytes.
 * Flag bit 0: recompute the file's BLAKE2b-128 checksum (bytes 112..127 over
 * 0..111, see lib/identity/keyfile.c) before loading, so mutations reach the
 * cost checks and the AEAD instead of stopping at the checksum.
 *
 * The read ceiling is libsodium's minimum Argon2id cost, so no input can make
 * an iteration slow: anything costlier is CA_ERR_KEYFILE_TOO_COSTLY.
 * Invariants: only the documented statuses; a file refused as corrupt or too
 * costly ran no key derivation (counted, cai_keyfile_derivations); a file
 * whose declared cost is above the library's default read caps
 * (CA_KEYFILE_MAX_*_DEFAULT) is refused by a loader with default options,
 * again without a derivation; on success the identity exports and re-imports
 * to the same agent id.
 */
#include <string.h>

#include <sodium.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "identity/identity_internal.h"
#include "internal.h"

#define OPS_OFF 8u
#define MEM_OFF 16u
#define SUM_OFF 112u
#define SUM_LEN 16u

static void options(ca_keyfile_options *o)
{
    FUZZ_CHECK(ca_keyfile_options_init(o, CA_KEYFILE_OPTIONS_VERSION) == CA_OK);
    o->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    o->memlimit = crypto_pwhash_MEMLIMIT_MIN;
    o->max_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    o->max_memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned flags = data[0];
    size_t pass_len = data[1];
    data += 2;
    size -= 2;
    if (pass_len > size)
        pass_len = size;
    const char *pass = (const char *)data;
    data += pass_len;
    size -= pass_len;

    uint8_t file[CA_KEYFILE_BYTES];
    const uint8_t *input = data;
    if ((flags & 1u) && size == CA_KEYFILE_BYTES) {
        memcpy(file, data, size);
        crypto_generichash(file + SUM_OFF, SUM_LEN, file, SUM_OFF, NULL, 0);
        input = file;
    }

    ca_keyfile_options o;
    options(&o);
    ca_identity *id = NULL;
    uint64_t runs = cai_keyfile_derivations();
    ca_status st = FUZZ_CALL(ca_identity_import_encrypted(&id, input, size, pass, pass_len, &o));
    if (st != CA_OK) {
        FUZZ_CHECK(id == NULL);
        FUZZ_CHECK(st == CA_ERR_KEYFILE_CORRUPT || st == CA_ERR_WRONG_PASSPHRASE ||
                   st == CA_ERR_KEYFILE_TOO_COSTLY);
        if (st != CA_ERR_WRONG_PASSPHRASE)
            FUZZ_CHECK(cai_keyfile_derivations() == runs);
        /* Above the default caps: a default loader refuses it before deriving anything. */
        if (st == CA_ERR_KEYFILE_TOO_COSTLY &&
            (cai_load_le64(input + OPS_OFF) > CA_KEYFILE_MAX_OPSLIMIT_DEFAULT ||
             cai_load_le64(input + MEM_OFF) > CA_KEYFILE_MAX_MEMLIMIT_DEFAULT)) {
            FUZZ_CHECK(FUZZ_CALL(ca_identity_import_encrypted(&id, input, size, pass, pass_len,
                                                              NULL)) == CA_ERR_KEYFILE_TOO_COSTLY);
            FUZZ_CHECK(id == NULL && cai_keyfile_derivations() == runs);
        }
        return 0;
    }

    /* Round trip: export under the same passphrase, import, same agent id. */
    ca_agent_id a, b;
    ca_identity_id(id, &a);
    uint8_t out[CA_KEYFILE_BYTES];
    size_t out_len = 0;
    FUZZ_CHECK(ca_identity_export_encrypted(id, pass, pass_len, &o, out, sizeof out, &out_len) ==
               CA_OK);
    ca_identity *again = NULL;
    FUZZ_CHECK(ca_identity_import_encrypted(&again, out, out_len, pass, pass_len, &o) == CA_OK);
    ca_identity_id(again, &b);
    FUZZ_CHECK(memcmp(a.bytes, b.bytes, sizeof a.bytes) == 0);
    ca_identity_free(again);
    ca_identity_free(id);
    return 0;
}
