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
 * Invariants: only the documented statuses; on success the identity exports
 * and re-imports to the same agent id.
 */
#include <string.h>

#include <sodium.h>

#include "cyberagent.h"
#include "fuzz.h"

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
    ca_status st = ca_identity_import_encrypted(&id, input, size, pass, pass_len, &o);
    if (st != CA_OK) {
        FUZZ_CHECK(id == NULL);
        FUZZ_CHECK(st == CA_ERR_KEYFILE_CORRUPT || st == CA_ERR_WRONG_PASSPHRASE ||
                   st == CA_ERR_KEYFILE_TOO_COSTLY);
        FUZZ_CHECK(ca_last_error()[0] != '\0');
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
