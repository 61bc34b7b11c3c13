/* Identity internals shared with the envelope, ledger and key-file code. */
#ifndef CYBERAGENT_IDENTITY_INTERNAL_H
#define CYBERAGENT_IDENTITY_INTERNAL_H

#include <sodium.h>

#include "cyberagent/identity.h"

/* libsodium-layout secret key (seed || public key), 64 bytes, read-only. */
const uint8_t *cai_identity_secret(const ca_identity *identity);

/*
 * The library's own signer: Ed25519 over `msg`, which must begin with a
 * library domain tag ("cyberagent/" and a decimal digit, e.g. "cyberagent/1/16"
 * or "cyberagent/1/ledger-op"); anything else is refused with
 * CA_ERR_INVALID_ARGUMENT, so this signer and the public
 * ca_identity_sign_tagged ("cyberagent/app/...") sign disjoint sets of byte
 * strings. Arguments are not NULL-checked (internal callers only).
 */
ca_status cai_identity_sign(const ca_identity *identity, const uint8_t *msg, size_t msg_len,
                            ca_signature *sig_out);

/*
 * The JWS signer (A2A agent cards, card.h): Ed25519 over a JWS signing input
 * (RFC 7515 section 5.1: base64url, one '.', base64url), which never begins
 * with "cyberagent/", so its signatures and those of cai_identity_sign and
 * ca_identity_sign_tagged cover disjoint byte strings. Anything else is
 * CA_ERR_INVALID_ARGUMENT. Arguments are not NULL-checked.
 */
ca_status cai_identity_sign_jws(const ca_identity *identity, const uint8_t *msg, size_t msg_len,
                                ca_signature *sig_out);

/* Raw strict Ed25519 verification; CA_OK or CA_ERR_BAD_SIGNATURE. */
ca_status cai_identity_verify(const ca_agent_id *signer, const uint8_t *msg, size_t msg_len,
                              const ca_signature *sig);

/* X25519 secret scalar of the identity; the caller wipes `out`. */
ca_status cai_identity_x25519_secret(const ca_identity *identity,
                                     uint8_t out[crypto_scalarmult_curve25519_BYTES]);

/*
 * Number of Argon2id key derivations this thread has run (key files). Tests
 * read it to show that a refused file cost no derivation.
 */
uint64_t cai_keyfile_derivations(void);

/*
 * Key files (keyfile.c, layout there). The header fields are values; the
 * rest of a file follows from them, the seed and the passphrase:
 * cai_keyfile_seal writes the whole file from those (what
 * ca_identity_export_encrypted does with a fresh salt and nonce), so a file
 * the importer accepts is re-made byte for byte from what it decoded. Without
 * the passphrase only the header can be re-made (cai_keyfile_header_write).
 */
#define CAI_KEYFILE_HEADER_BYTES 64u /* magic, costs, salt, nonce: the AEAD's additional data */
typedef struct cai_keyfile_header {
    uint64_t opslimit;
    uint64_t memlimit;
    uint8_t salt[16];
    uint8_t nonce[24];
} cai_keyfile_header;

/* Length, magic, checksum and a cost within libsodium's range, else CA_ERR_KEYFILE_CORRUPT. */
ca_status cai_keyfile_header_read(const uint8_t *data, size_t len, cai_keyfile_header *h);
void cai_keyfile_header_write(const cai_keyfile_header *h, uint8_t out[CAI_KEYFILE_HEADER_BYTES]);
/* Runs Argon2id at the header's cost (counted); CA_ERR_NO_MEMORY if it cannot. */
ca_status cai_keyfile_seal(const cai_keyfile_header *h, const uint8_t seed[CA_SEED_BYTES],
                           const char *pass, size_t pass_len, uint8_t out[CA_KEYFILE_BYTES]);

#endif
