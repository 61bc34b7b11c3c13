/*
 * did:key for Ed25519: "did:key:z" + base58btc(0xed 0x01 || 32-byte key).
 * Spec: W3C CCG did:key method; multicodec table entry ed25519-pub = 0xed
 * (varint 0xed 0x01); multibase prefix 'z' = base58btc (Bitcoin alphabet).
 */
#include <string.h>

#include "cyberagent/identity.h"
#include "internal.h"

#define DID_PREFIX     "did:key:z"
#define DID_PREFIX_LEN (sizeof DID_PREFIX - 1)
#define MULTICODEC_LEN 2u
#define RAW_LEN        (MULTICODEC_LEN + CA_AGENT_ID_BYTES)
/* 0xed01 followed by 32 bytes always needs exactly 47 base58 digits. */
#define B58_LEN (CA_DID_MAX_CHARS - DID_PREFIX_LEN)

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

size_t ca_did_max_chars(void)
{
    return CA_DID_MAX_CHARS;
}

/* Value of a base58 digit, or -1. */
static int b58_value(unsigned char c)
{
    const char *p = (c != 0) ? strchr(b58_alphabet, c) : NULL;
    return p ? (int)(p - b58_alphabet) : -1;
}

/* Base58 of exactly RAW_LEN bytes whose first byte is non-zero, into B58_LEN digits. */
static void b58_encode_raw(const uint8_t raw[RAW_LEN], char out[B58_LEN])
{
    uint8_t digits[B58_LEN + 1] = {0}; /* little-endian base-58 digits */
    size_t used = 0;
    for (size_t i = 0; i < RAW_LEN; i++) {
        unsigned carry = raw[i];
        for (size_t j = 0; j < used; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry != 0) {
            digits[used++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    /* used == B58_LEN for every key (see B58_LEN); pad defensively. */
    for (size_t i = 0; i < B58_LEN; i++)
        out[i] = b58_alphabet[i < used ? digits[used - 1 - i] : 0];
}

ca_status ca_did_encode(const ca_agent_id *id, char *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(id);
    CAI_REQUIRE(out_len);
    ca_status st = cai_check_out(out, out_cap, out_len, CA_DID_MAX_CHARS + 1);
    *out_len = CA_DID_MAX_CHARS;
    if (st != CA_OK)
        return st;
    uint8_t raw[RAW_LEN] = {0xed, 0x01};
    memcpy(raw + MULTICODEC_LEN, id->bytes, CA_AGENT_ID_BYTES);
    memcpy(out, DID_PREFIX, DID_PREFIX_LEN);
    b58_encode_raw(raw, out + DID_PREFIX_LEN);
    out[CA_DID_MAX_CHARS] = '\0';
    return CA_OK;
}

ca_status ca_did_parse(const char *text, size_t text_len, ca_agent_id *out)
{
    CAI_REQUIRE(out);
    if (text == NULL)
        return cai_fail(CA_ERR_BAD_DID, "did is NULL");
    if (text_len < DID_PREFIX_LEN || memcmp(text, DID_PREFIX, DID_PREFIX_LEN) != 0)
        return cai_fail(CA_ERR_BAD_DID, "not a did:key with a base58btc ('z') multibase value");
    if (text_len != CA_DID_MAX_CHARS)
        return cai_fail(CA_ERR_BAD_DID, "did:key has %zu characters, an Ed25519 one has %u",
                        text_len, (unsigned)CA_DID_MAX_CHARS);
    /* Base58 digits -> big-endian bytes (at most RAW_LEN + 1 to detect overflow). */
    uint8_t raw[RAW_LEN + 1] = {0};
    const char *digits = text + DID_PREFIX_LEN;
    for (size_t i = 0; i < B58_LEN; i++) {
        int v = b58_value((unsigned char)digits[i]);
        if (v < 0)
            return cai_fail(CA_ERR_BAD_DID, "character %zu of the did is not base58btc",
                            DID_PREFIX_LEN + i);
        unsigned carry = (unsigned)v;
        for (size_t j = sizeof raw; j-- > 0;) {
            carry += (unsigned)raw[j] * 58u;
            raw[j] = (uint8_t)carry;
            carry >>= 8;
        }
        if (carry != 0 || raw[0] != 0)
            return cai_fail(CA_ERR_BAD_DID, "did:key value is longer than an Ed25519 key");
    }
    if (raw[1] != 0xed || raw[2] != 0x01)
        return cai_fail(CA_ERR_BAD_DID, "did:key multicodec is not ed25519-pub (0xed01)");
    /* Canonical form: re-encoding must give back the same digits (no leading zeros). */
    char check[B58_LEN];
    b58_encode_raw(raw + 1, check);
    if (memcmp(check, digits, B58_LEN) != 0)
        return cai_fail(CA_ERR_BAD_DID, "did:key is not in canonical base58btc form");
    memcpy(out->bytes, raw + 1 + MULTICODEC_LEN, CA_AGENT_ID_BYTES);
    return CA_OK;
}
