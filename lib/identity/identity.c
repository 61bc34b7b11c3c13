/* Ed25519 identities: key pairs in guarded memory, detached signatures. */
#include <stdlib.h>

#include <sodium.h>

#include "cyberagent/identity.h"
#include "identity/identity_internal.h"
#include "internal.h"

size_t ca_seed_bytes(void)
{
    return CA_SEED_BYTES;
}

size_t ca_x25519_public_bytes(void)
{
    return CA_X25519_PUBLIC_BYTES;
}

/* The secret key (seed || public key, libsodium layout) lives in sodium_malloc memory. */
struct ca_identity {
    uint8_t *secret; /* crypto_sign_SECRETKEYBYTES, guarded, read-only after creation */
    ca_agent_id id;
};

ca_status ca_identity_from_seed(ca_identity **out, const uint8_t seed[CA_SEED_BYTES])
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(seed);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    ca_identity *identity = calloc(1, sizeof *identity);
    if (identity == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating an identity");
    identity->secret = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (identity->secret == NULL) {
        free(identity);
        return cai_fail(CA_ERR_NO_MEMORY, "out of guarded memory for a secret key");
    }
    crypto_sign_seed_keypair(identity->id.bytes, identity->secret, seed);
    sodium_mprotect_readonly(identity->secret);
    *out = identity;
    return CA_OK;
}

ca_status ca_identity_generate(ca_identity **out)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    uint8_t seed[CA_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    st = ca_identity_from_seed(out, seed);
    sodium_memzero(seed, sizeof seed);
    return st;
}

void ca_identity_free(ca_identity *identity)
{
    if (identity == NULL)
        return;
    sodium_free(identity->secret); /* wipes before unmapping */
    sodium_memzero(identity, sizeof *identity);
    free(identity);
}

void ca_identity_id(const ca_identity *identity, ca_agent_id *out)
{
    if (identity != NULL && out != NULL)
        *out = identity->id;
}

ca_status ca_identity_export_seed(const ca_identity *identity, uint8_t seed_out[CA_SEED_BYTES])
{
    CAI_REQUIRE(identity);
    CAI_REQUIRE(seed_out);
    crypto_sign_ed25519_sk_to_seed(seed_out, identity->secret);
    return CA_OK;
}

const uint8_t *cai_identity_secret(const ca_identity *identity)
{
    return identity->secret;
}

ca_status ca_identity_sign(const ca_identity *identity, const uint8_t *msg, size_t msg_len,
                           ca_signature *sig_out)
{
    CAI_REQUIRE(identity);
    CAI_REQUIRE(sig_out);
    if (msg == NULL && msg_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "ca_identity_sign: msg is NULL but msg_len > 0");
    crypto_sign_detached(sig_out->bytes, NULL, msg, msg_len, identity->secret);
    return CA_OK;
}

ca_status ca_identity_verify(const ca_agent_id *signer, const uint8_t *msg, size_t msg_len,
                             const ca_signature *sig)
{
    CAI_REQUIRE(signer);
    CAI_REQUIRE(sig);
    if (msg == NULL && msg_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "ca_identity_verify: msg is NULL but msg_len > 0");
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    if (crypto_sign_verify_detached(sig->bytes, msg, msg_len, signer->bytes) != 0)
        return cai_fail(CA_ERR_BAD_SIGNATURE, "Ed25519 signature does not verify");
    return CA_OK;
}

ca_status ca_agent_x25519_public(const ca_agent_id *id, uint8_t out[CA_X25519_PUBLIC_BYTES])
{
    CAI_REQUIRE(id);
    CAI_REQUIRE(out);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    if (crypto_sign_ed25519_pk_to_curve25519(out, id->bytes) != 0)
        return cai_fail(CA_ERR_BAD_KEY, "agent id is not a valid Ed25519 public key");
    return CA_OK;
}

ca_status cai_identity_x25519_secret(const ca_identity *identity,
                                     uint8_t out[crypto_scalarmult_curve25519_BYTES])
{
    if (crypto_sign_ed25519_sk_to_curve25519(out, identity->secret) != 0)
        return cai_fail(CA_ERR_BAD_KEY, "identity has no X25519 counterpart");
    return CA_OK;
}
