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

#endif
