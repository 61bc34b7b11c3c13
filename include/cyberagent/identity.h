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

/*
 * ---- Application signatures (domain-separated) ----
 *
 * The library signs its own messages (envelopes, task messages, cards, ledger
 * ops, escrow consents) with the same key under its own domain tags, which
 * all begin "cyberagent/<decimal version>/". An application signs under a tag
 * of its own, and what is signed is never the raw message but
 *
 *     "cyberagent/app/" || uint8 tag_len || tag || msg
 *
 * (CA_SIGN_APP_PREFIX, then one byte holding the tag's length, the tag, the
 * message). These bytes differ from every library-signed byte string at byte
 * 11 ('a' against a digit), so a signature made here never verifies as an
 * envelope, task message, card, ledger op or escrow consent, whatever `msg`
 * holds, even bytes a peer chose; the length byte makes the encoding
 * prefix-free, so a signature under one (tag, msg) never verifies under
 * another (tag, msg) pair. The library's own signer is internal.
 *
 * A tag is 1..CA_SIGN_TAG_MAX_BYTES arbitrary bytes (need not be
 * NUL-terminated) that do not begin with "cyberagent/" (reserved for the
 * library); anything else is CA_ERR_BAD_SIGN_TAG. Pick one tag per meaning,
 * e.g. "example.com/chat/v1".
 */
#define CA_SIGN_APP_PREFIX      "cyberagent/app/"
#define CA_SIGN_TAG_MAX_BYTES   64u
#define CA_SIGN_RESERVED_PREFIX "cyberagent/"

CA_API size_t ca_sign_tag_max_bytes(void);

/*
 * Detached Ed25519 signature of msg under the application tag (see above).
 * Errors, in order: CA_ERR_INVALID_ARGUMENT (NULL identity, tag or sig_out, or
 * msg NULL with msg_len > 0), CA_ERR_BAD_SIGN_TAG (empty, longer than
 * CA_SIGN_TAG_MAX_BYTES, or reserved tag), CA_ERR_LIMIT / CA_ERR_NO_MEMORY
 * (the signed bytes are assembled in one buffer: on the stack up to 1 KiB,
 * else on the heap). *sig_out is written only on success. Deterministic
 * (RFC 8032).
 */
CA_API CA_NODISCARD ca_status ca_identity_sign_tagged(const ca_identity *identity, const char *tag,
                                                      size_t tag_len, const uint8_t *msg,
                                                      size_t msg_len, ca_signature *sig_out);

/*
 * Verifies a signature made by ca_identity_sign_tagged with the same tag and
 * message. CA_OK when valid; CA_ERR_BAD_SIGNATURE when not (also for any
 * library signature, whatever the bytes); CA_ERR_INVALID_ARGUMENT,
 * CA_ERR_BAD_SIGN_TAG, CA_ERR_INIT (crypto backend), CA_ERR_LIMIT and
 * CA_ERR_NO_MEMORY, in that order, before the signature is looked at. Rejects non-canonical S,
 * small-order and non-canonical public keys and R (libsodium's strict rules).
 */
CA_API CA_NODISCARD ca_status ca_identity_verify_tagged(const ca_agent_id *signer, const char *tag,
                                                        size_t tag_len, const uint8_t *msg,
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

/*
 * Argon2id costs (crypto_pwhash units: passes, bytes). A key file is written
 * at CA_KEYFILE_OPSLIMIT_DEFAULT / CA_KEYFILE_MEMLIMIT_DEFAULT (libsodium's
 * "moderate": 3 passes over 256 MiB, about 0.5-1 s). A reader refuses, by
 * default, any file that asks for more than CA_KEYFILE_MAX_*_DEFAULT, which
 * is exactly that write cost: every file the library writes by default
 * opens, and a hostile or damaged file cannot make a loader spend more
 * memory or time than opening a genuine default file does (earlier builds
 * accepted up to "sensitive": 4 passes over 1 GiB). The check runs before
 * any key derivation. Files written at a higher cost open only for a reader
 * that raises max_opslimit / max_memlimit.
 */
#define CA_KEYFILE_OPSLIMIT_DEFAULT     3u
#define CA_KEYFILE_MEMLIMIT_DEFAULT     268435456u
#define CA_KEYFILE_MAX_OPSLIMIT_DEFAULT 3u
#define CA_KEYFILE_MAX_MEMLIMIT_DEFAULT 268435456u

typedef struct ca_keyfile_options {
    unsigned int version; /* CA_KEYFILE_OPTIONS_VERSION */
    /* Argon2id cost used when writing a file: passes, default CA_KEYFILE_OPSLIMIT_DEFAULT (3),
     * and bytes, default CA_KEYFILE_MEMLIMIT_DEFAULT (268435456 = 256 MiB). */
    uint64_t opslimit;
    size_t memlimit;
    /*
     * Most work a file being read may demand: passes, default
     * CA_KEYFILE_MAX_OPSLIMIT_DEFAULT (3), and bytes, default
     * CA_KEYFILE_MAX_MEMLIMIT_DEFAULT (268435456); protects against hostile
     * files. Writing refuses a cost above these too, since the file could
     * not be read back with the same options.
     */
    uint64_t max_opslimit;
    size_t max_memlimit;
} ca_keyfile_options;

/*
 * Fills the defaults above. Returns CA_ERR_UNSUPPORTED when `version` is
 * newer than this build.
 */
CA_API ca_status ca_keyfile_options_init(ca_keyfile_options *opts, unsigned int version);

/* Size in bytes of an encrypted key file. */
#define CA_KEYFILE_BYTES 128u
CA_API size_t ca_keyfile_bytes(void);

/*
 * Encrypts the identity's seed under `passphrase` into `out` (OWNERSHIP RULE;
 * CA_KEYFILE_BYTES suffice). `opts` may be NULL for defaults. Errors, in
 * order: CA_ERR_INVALID_ARGUMENT (NULL arguments), CA_ERR_UNSUPPORTED (options
 * version), CA_ERR_INVALID_ARGUMENT (a cost outside libsodium's range),
 * CA_ERR_KEYFILE_TOO_COSTLY (write cost above the options' own max_opslimit /
 * max_memlimit), CA_ERR_BUFFER_TOO_SMALL, CA_ERR_NO_MEMORY (Argon2id).
 */
CA_API CA_NODISCARD ca_status ca_identity_export_encrypted(
    const ca_identity *identity, const char *passphrase, size_t passphrase_len,
    const ca_keyfile_options *opts, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Opens bytes made by ca_identity_export_encrypted. After the arguments
 * (CA_ERR_INVALID_ARGUMENT) and the options version (CA_ERR_UNSUPPORTED) it
 * checks, in order, each before any key derivation: CA_ERR_KEYFILE_CORRUPT (wrong length or magic,
 * checksum mismatch: damaged or not a key file; or a cost outside libsodium's
 * range), CA_ERR_KEYFILE_TOO_COSTLY (asks for more than opts->max_opslimit /
 * max_memlimit, by default CA_KEYFILE_MAX_OPSLIMIT_DEFAULT /
 * CA_KEYFILE_MAX_MEMLIMIT_DEFAULT). Only then is the key derived:
 * CA_ERR_NO_MEMORY when Argon2id cannot allocate, CA_ERR_WRONG_PASSPHRASE
 * when the key does not open the file.
 */
CA_API CA_NODISCARD ca_status ca_identity_import_encrypted(ca_identity **out, const uint8_t *data,
                                                           size_t data_len, const char *passphrase,
                                                           size_t passphrase_len,
                                                           const ca_keyfile_options *opts);

/*
 * File wrappers. Saving never writes through an existing name: it creates a
 * fresh temporary file next to `path` (random name, O_CREAT|O_EXCL|O_NOFOLLOW,
 * so a symlink or file planted there is never opened), sets mode 0600
 * whatever the umask or the old file's mode, writes, fsyncs, renames it over
 * `path` (a symlink at `path` is replaced, not followed) and fsyncs the
 * directory; a crash leaves the old file or the new one, never a torn one.
 * On a failure before the rename the temporary file is removed and `path` is
 * untouched (CA_ERR_IO); if only the final directory fsync fails, `path`
 * already holds the new file and CA_ERR_IO says it may not survive a crash.
 * Loading reads at most CA_KEYFILE_BYTES + 1 bytes; CA_ERR_NOT_FOUND when
 * `path` does not exist.
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
