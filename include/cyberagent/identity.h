/*
 * libcyberagent — agent identity: Ed25519 keys, did:key text form,
 * encrypted key files, X25519 key for sealing.
 *
 * OWNERSHIP: a ca_identity owns its secret key in guarded memory
 * (sodium_malloc) and wipes it in ca_identity_free(). The seed leaves the
 * library only through ca_identity_export_seed().
 * THREAD SAFETY: a ca_identity is immutable after creation; any number of
 * threads may sign with one identity at once. Free it from one thread only,
 * after every other use has ended. Functions without a handle are
 * thread-safe.
 */
#ifndef CYBERAGENT_IDENTITY_H
#define CYBERAGENT_IDENTITY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CA_SEED_BYTES          32u
#define CA_X25519_PUBLIC_BYTES 32u
/* Length of the text "did:key:z6Mk..." for an Ed25519 key, without NUL. */
#define CA_DID_MAX_CHARS 56u

CA_API size_t ca_seed_bytes(void);
CA_API size_t ca_did_max_chars(void);
CA_API size_t ca_x25519_public_bytes(void);

typedef struct ca_identity ca_identity;

/* New identity from the operating system's CSPRNG. */
CA_API CA_NODISCARD ca_status ca_identity_generate(ca_identity **out);

/* Deterministic identity from a 32-byte seed (RFC 8032 secret key). */
CA_API CA_NODISCARD ca_status ca_identity_from_seed(ca_identity **out,
                                                    const uint8_t seed[CA_SEED_BYTES]);

/* Wipes and releases. NULL is a no-op. */
CA_API void ca_identity_free(ca_identity *identity);

/* The agent id (public key). Never fails for a valid handle. */
CA_API void ca_identity_id(const ca_identity *identity, ca_agent_id *out);

/* Copies the secret seed out. The caller must wipe it (ca_wipe) after use. */
CA_API CA_NODISCARD ca_status ca_identity_export_seed(const ca_identity *identity,
                                                      uint8_t seed_out[CA_SEED_BYTES]);

/* Detached Ed25519 signature of msg. */
CA_API ca_status ca_identity_sign(const ca_identity *identity, const uint8_t *msg, size_t msg_len,
                                  ca_signature *sig_out);

/*
 * Verifies a detached Ed25519 signature. CA_OK when valid, otherwise
 * CA_ERR_BAD_SIGNATURE. Rejects non-canonical S, small-order and
 * non-canonical public keys and R (libsodium's strict rules).
 */
CA_API CA_NODISCARD ca_status ca_identity_verify(const ca_agent_id *signer, const uint8_t *msg,
                                                 size_t msg_len, const ca_signature *sig);

/*
 * did:key text form: "did:key:z" + base58btc(0xed 0x01 || public key).
 * Output follows the OWNERSHIP RULE for text (NUL-terminated; CA_DID_MAX_CHARS
 * + 1 bytes always suffice).
 */
CA_API ca_status ca_did_encode(const ca_agent_id *id, char *out, size_t out_cap, size_t *out_len);

/*
 * Strict parser: exactly "did:key:z", base58btc alphabet, multicodec 0xed01,
 * 32-byte key, canonical (re-encodes to the same text), nothing else.
 * `text` need not be NUL-terminated. Returns CA_ERR_BAD_DID on any deviation.
 */
CA_API CA_NODISCARD ca_status ca_did_parse(const char *text, size_t text_len, ca_agent_id *out);

/*
 * X25519 public key of an agent, for sealing bodies to it. Returns
 * CA_ERR_BAD_KEY when the Ed25519 key is not a valid point.
 */
CA_API CA_NODISCARD ca_status ca_agent_x25519_public(const ca_agent_id *id,
                                                     uint8_t out[CA_X25519_PUBLIC_BYTES]);

/* ---- Encrypted key files: Argon2id + XChaCha20-Poly1305 ---- */

#define CA_KEYFILE_OPTIONS_VERSION 1u

typedef struct ca_keyfile_options {
    unsigned int version; /* CA_KEYFILE_OPTIONS_VERSION */
    /* Argon2id cost used when writing a file (crypto_pwhash units). */
    uint64_t opslimit;
    size_t memlimit;
    /* Most work a file being read may demand; protects against hostile files. */
    uint64_t max_opslimit;
    size_t max_memlimit;
} ca_keyfile_options;

/*
 * Fills defaults: libsodium's "moderate" write cost, "sensitive" read
 * ceiling. Returns CA_ERR_UNSUPPORTED when `version` is newer than this build.
 */
CA_API ca_status ca_keyfile_options_init(ca_keyfile_options *opts, unsigned int version);

/* Size in bytes of an encrypted key file. */
#define CA_KEYFILE_BYTES 128u
CA_API size_t ca_keyfile_bytes(void);

/*
 * Encrypts the identity's seed under `passphrase` into `out` (OWNERSHIP RULE;
 * CA_KEYFILE_BYTES suffice). `opts` may be NULL for defaults.
 */
CA_API CA_NODISCARD ca_status ca_identity_export_encrypted(
    const ca_identity *identity, const char *passphrase, size_t passphrase_len,
    const ca_keyfile_options *opts, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Opens bytes made by ca_identity_export_encrypted. Distinct statuses:
 * CA_ERR_KEYFILE_CORRUPT (damaged or not a key file), CA_ERR_WRONG_PASSPHRASE,
 * CA_ERR_KEYFILE_TOO_COSTLY (asks for more than opts->max_*).
 */
CA_API CA_NODISCARD ca_status ca_identity_import_encrypted(ca_identity **out, const uint8_t *data,
                                                           size_t data_len, const char *passphrase,
                                                           size_t passphrase_len,
                                                           const ca_keyfile_options *opts);

/*
 * File wrappers. Saving writes a temporary file with mode 0600, fsyncs it and
 * renames it over `path`, so a crash leaves either the old file or the new
 * one, never a torn one.
 */
CA_API CA_NODISCARD ca_status ca_identity_save(const ca_identity *identity, const char *path,
                                               const char *passphrase, size_t passphrase_len,
                                               const ca_keyfile_options *opts);
CA_API CA_NODISCARD ca_status ca_identity_load(ca_identity **out, const char *path,
                                               const char *passphrase, size_t passphrase_len,
                                               const ca_keyfile_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_IDENTITY_H */
