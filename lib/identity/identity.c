/* Ed25519 identities: key pairs in guarded memory, detached signatures. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the library's own signatures (internal) ---- */

/* "cyberagent/" followed by a decimal digit: how every library domain tag begins. */
static int is_library_domain(const uint8_t *msg, size_t msg_len)
{
    const size_t n = sizeof CA_SIGN_RESERVED_PREFIX - 1;
    return msg_len > n && memcmp(msg, CA_SIGN_RESERVED_PREFIX, n) == 0 && msg[n] >= '0' &&
           msg[n] <= '9';
}

ca_status cai_identity_sign(const ca_identity *identity, const uint8_t *msg, size_t msg_len,
                            ca_signature *sig_out)
{
    if (!is_library_domain(msg, msg_len))
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "internal signer: bytes do not begin with a library domain tag");
    crypto_sign_detached(sig_out->bytes, NULL, msg, msg_len, identity->secret);
    return CA_OK;
}

/*
 * A JWS signing input (RFC 7515 section 5.1): BASE64URL(header) '.'
 * BASE64URL(payload), so only [A-Za-z0-9_-] and exactly one '.'. It holds no
 * '/', so it never begins "cyberagent/": disjoint from every library domain
 * and from application signatures (docs/IDENTITY.md).
 */
static int is_jws_signing_input(const uint8_t *msg, size_t msg_len)
{
    size_t dots = 0;
    for (size_t i = 0; i < msg_len; i++) {
        uint8_t c = msg[i];
        if (c == '.')
            dots++;
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_'))
            return 0;
    }
    return dots == 1 && msg_len > 1 && msg[0] != '.' && msg[msg_len - 1] != '.';
}

ca_status cai_identity_sign_jws(const ca_identity *identity, const uint8_t *msg, size_t msg_len,
                                ca_signature *sig_out)
{
    if (!is_jws_signing_input(msg, msg_len))
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "JWS signer: bytes are not a JWS signing input (base64url '.' base64url)");
    crypto_sign_detached(sig_out->bytes, NULL, msg, msg_len, identity->secret);
    return CA_OK;
}

ca_status cai_identity_verify(const ca_agent_id *signer, const uint8_t *msg, size_t msg_len,
                              const ca_signature *sig)
{
    if (crypto_sign_verify_detached(sig->bytes, msg, msg_len, signer->bytes) != 0)
        return cai_fail(CA_ERR_BAD_SIGNATURE, "Ed25519 signature does not verify");
    return CA_OK;
}

/* ---- application signatures ---- */

#define APP_PREFIX_LEN (sizeof CA_SIGN_APP_PREFIX - 1)
#define APP_HEAD_MAX   (APP_PREFIX_LEN + 1 + CA_SIGN_TAG_MAX_BYTES)

_Static_assert(CA_SIGN_TAG_MAX_BYTES <= 255, "the tag length is one byte");
_Static_assert(sizeof CA_SIGN_APP_PREFIX - 1 == 15, "documented prefix");

size_t ca_sign_tag_max_bytes(void)
{
    return CA_SIGN_TAG_MAX_BYTES;
}

/* Checks the arguments shared by signing and verifying. */
static ca_status check_app_args(const char *fn, const char *tag, size_t tag_len, const uint8_t *msg,
                                size_t msg_len)
{
    if (msg == NULL && msg_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s: msg is NULL but msg_len > 0", fn);
    if (tag_len == 0)
        return cai_fail(CA_ERR_BAD_SIGN_TAG, "%s: the tag is empty", fn);
    if (tag_len > CA_SIGN_TAG_MAX_BYTES)
        return cai_fail(CA_ERR_BAD_SIGN_TAG, "%s: the tag has %zu bytes, more than %u", fn, tag_len,
                        CA_SIGN_TAG_MAX_BYTES);
    const size_t reserved = sizeof CA_SIGN_RESERVED_PREFIX - 1;
    if (tag_len >= reserved && memcmp(tag, CA_SIGN_RESERVED_PREFIX, reserved) == 0)
        return cai_fail(
            CA_ERR_BAD_SIGN_TAG,
            "%s: tags beginning \"" CA_SIGN_RESERVED_PREFIX "\" are reserved for the library", fn);
    return CA_OK;
}

/*
 * Ed25519 signs its whole input in one piece, so the signed bytes
 * (prefix, length, tag, message) are assembled in one buffer: on the stack up
 * to APP_STACK_BYTES, on the heap beyond.
 */
#define APP_STACK_BYTES 1024u

static ca_status app_signed_bytes(const char *tag, size_t tag_len, const uint8_t *msg,
                                  size_t msg_len, uint8_t *stack, uint8_t **heap, uint8_t **out,
                                  size_t *out_len)
{
    const size_t head = APP_PREFIX_LEN + 1 + tag_len;
    if (msg_len > SIZE_MAX - head)
        return cai_fail(CA_ERR_LIMIT, "message of %zu bytes is too long to sign", msg_len);
    const size_t total = head + msg_len;
    uint8_t *buf = stack;
    *heap = NULL;
    if (total > APP_STACK_BYTES) {
        buf = *heap = malloc(total);
        if (buf == NULL)
            return cai_fail(CA_ERR_NO_MEMORY, "out of memory building %zu signed bytes", total);
    }
    memcpy(buf, CA_SIGN_APP_PREFIX, APP_PREFIX_LEN);
    buf[APP_PREFIX_LEN] = (uint8_t)tag_len;
    memcpy(buf + APP_PREFIX_LEN + 1, tag, tag_len);
    if (msg_len != 0)
        memcpy(buf + head, msg, msg_len);
    *out = buf;
    *out_len = total;
    return CA_OK;
}

_Static_assert(APP_STACK_BYTES >= APP_HEAD_MAX, "the head always fits on the stack");

ca_status ca_identity_sign_tagged(const ca_identity *identity, const char *tag, size_t tag_len,
                                  const uint8_t *msg, size_t msg_len, ca_signature *sig_out)
{
    CAI_REQUIRE(identity);
    CAI_REQUIRE(tag);
    CAI_REQUIRE(sig_out);
    ca_status st = check_app_args("ca_identity_sign_tagged", tag, tag_len, msg, msg_len);
    if (st != CA_OK)
        return st;
    uint8_t stack[APP_STACK_BYTES], *heap = NULL, *buf = NULL;
    size_t len = 0;
    st = app_signed_bytes(tag, tag_len, msg, msg_len, stack, &heap, &buf, &len);
    if (st != CA_OK)
        return st;
    crypto_sign_detached(sig_out->bytes, NULL, buf, len, identity->secret);
    free(heap);
    return CA_OK;
}

ca_status ca_identity_verify_tagged(const ca_agent_id *signer, const char *tag, size_t tag_len,
                                    const uint8_t *msg, size_t msg_len, const ca_signature *sig)
{
    CAI_REQUIRE(signer);
    CAI_REQUIRE(tag);
    CAI_REQUIRE(sig);
    ca_status st = check_app_args("ca_identity_verify_tagged", tag, tag_len, msg, msg_len);
    if (st == CA_OK)
        st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    uint8_t stack[APP_STACK_BYTES], *heap = NULL, *buf = NULL;
    size_t len = 0;
    st = app_signed_bytes(tag, tag_len, msg, msg_len, stack, &heap, &buf, &len);
    if (st != CA_OK)
        return st;
    st = cai_identity_verify(signer, buf, len, sig);
    free(heap);
    return st;
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
