/* Identity internals shared with the envelope module (sealing) and key files. */
#ifndef CYBERAGENT_IDENTITY_INTERNAL_H
#define CYBERAGENT_IDENTITY_INTERNAL_H

#include <sodium.h>

#include "cyberagent/identity.h"

/* libsodium-layout secret key (seed || public key), 64 bytes, read-only. */
const uint8_t *cai_identity_secret(const ca_identity *identity);

/* X25519 secret scalar of the identity; the caller wipes `out`. */
ca_status cai_identity_x25519_secret(const ca_identity *identity,
                                     uint8_t out[crypto_scalarmult_curve25519_BYTES]);

#endif
