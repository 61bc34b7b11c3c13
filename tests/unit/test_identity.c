/*
 * Identity: RFC 8032 and Wycheproof known answers, domain-separated
 * application signatures (and the attacks they close), did:key, key files
 * (cost caps, safe saving), X25519.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cyberagent.h"
#include "identity/identity_internal.h"
#include "test_util.h"

/* RFC 8032, section 7.1, TEST 1..3 (Ed25519). */
static const struct {
    const char *seed, *pk, *msg, *sig;
} rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "-",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6"
     "594a7c15e9716ed28dc027beceea1ec40a"},
};

static void test_rfc8032_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc8032 / sizeof rfc8032[0]; i++) {
        uint8_t seed[32], msg[8];
        ca_agent_id pk;
        ca_signature sig, expected;
        test_hex_exact(rfc8032[i].seed, seed, 32);
        test_hex_exact(rfc8032[i].pk, pk.bytes, 32);
        test_hex_exact(rfc8032[i].sig, expected.bytes, 64);
        size_t msg_len = test_hex_decode(rfc8032[i].msg, msg, sizeof msg);

        ca_identity *id = NULL;
        assert_ok(ca_identity_from_seed(&id, seed));
        ca_agent_id got;
        ca_identity_id(id, &got);
        assert_memory_equal(got.bytes, pk.bytes, 32);
        /* The key pair is RFC 8032's: its secret signs the test message to the RFC's bytes. */
        crypto_sign_detached(sig.bytes, NULL, msg, msg_len, cai_identity_secret(id));
        assert_memory_equal(sig.bytes, expected.bytes, 64);
        assert_ok(cai_identity_verify(&pk, msg, msg_len, &sig));
        sig.bytes[0] ^= 1;
        assert_status(CA_ERR_BAD_SIGNATURE, cai_identity_verify(&pk, msg, msg_len, &sig));

        uint8_t exported[32];
        assert_ok(ca_identity_export_seed(id, exported));
        assert_memory_equal(exported, seed, 32);
        ca_identity_free(id);
    }
}

/*
 * Every case of Project Wycheproof's ed25519_test.json (testvectors_v1,
 * commit 507bb99), converted by tests/vectors/wycheproof_to_txt.py. The file
 * has only "valid" and "invalid" verdicts (no "acceptable"), and libsodium's
 * strict verification (canonical S and encodings, no small-order points)
 * agrees with every one of them. The vectors sign raw messages, so they go
 * through the library's internal verifier, which every public verification
 * (envelopes, ledger ops, ca_identity_verify_tagged) ends in.
 */
static void test_wycheproof_ed25519(void **state)
{
    (void)state;
    FILE *f = fopen(CA_TEST_VECTORS_DIR "/wycheproof_ed25519.txt", "r");
    assert_non_null(f);
    static char line[8192];
    size_t cases = 0, valid = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#')
            continue;
        static char result[16], pk_hex[128], msg_hex[4200], sig_hex[400];
        unsigned tc = 0;
        assert_int_equal(
            sscanf(line, "%u %15s %127s %4199s %399s", &tc, result, pk_hex, msg_hex, sig_hex), 5);
        static uint8_t msg[2100];
        uint8_t sigbuf[200];
        ca_agent_id pk;
        test_hex_exact(pk_hex, pk.bytes, 32);
        size_t msg_len = test_hex_decode(msg_hex, msg, sizeof msg);
        size_t sig_len = test_hex_decode(sig_hex, sigbuf, sizeof sigbuf);
        assert_true(msg_len != (size_t)-1 && sig_len != (size_t)-1);
        int expect_valid = strcmp(result, "valid") == 0;
        assert_true(expect_valid || strcmp(result, "invalid") == 0);

        int verdict = 0;
        if (sig_len == CA_SIGNATURE_BYTES) {
            ca_signature sig;
            memcpy(sig.bytes, sigbuf, sizeof sig.bytes);
            verdict = cai_identity_verify(&pk, msg, msg_len, &sig) == CA_OK;
        }
        if (verdict != expect_valid)
            fail_msg("Wycheproof tcId %u: expected %s", tc, result);
        cases++;
        valid += (size_t)expect_valid;
    }
    fclose(f);
    assert_int_equal(cases, 150);
    assert_int_equal(valid, 88);
}

static void test_did_known_answers(void **state)
{
    (void)state;
    /* Seed and DID published in transmute-industries/did-key.js (did-key-ed25519 README). */
    uint8_t seed[32];
    test_hex_exact("4f66b355aa7b0980ff901f2295b9c562ac3061be4df86703eb28c612faae6578", seed, 32);
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    ca_agent_id pk;
    ca_identity_id(id, &pk);
    ca_identity_free(id);
    char did[CA_DID_MAX_CHARS + 1];
    size_t len = 0;
    assert_ok(ca_did_encode(&pk, did, sizeof did, &len));
    assert_int_equal(len, CA_DID_MAX_CHARS);
    assert_string_equal(did, "did:key:z6Mkk7yqnGF3YwTrLpqrW6PGsKci7dNqh1CjnvMbzrMerSeL");

    /* DID and key published in openwallet-foundation/acapy (test_dids.py), with its X25519 key. */
    const char *text = "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th";
    ca_agent_id parsed, expected;
    assert_ok(ca_did_parse(text, strlen(text), &parsed));
    test_hex_exact("6c2d48b1605684ef94363dc6158eeb6577466e1a36a740f2fc624617edb7712e",
                   expected.bytes, 32);
    assert_memory_equal(parsed.bytes, expected.bytes, 32);
    uint8_t x[32], x_expected[32];
    assert_ok(ca_agent_x25519_public(&parsed, x));
    test_hex_exact("5b3fce26fe570101539229f1608b20959d5032ac3e98367bdceba9143b253f0e", x_expected,
                   32);
    assert_memory_equal(x, x_expected, 32);
}

static void test_did_roundtrip_random(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        ca_agent_id pk, back;
        randombytes_buf(pk.bytes, sizeof pk.bytes);
        if (i == 0)
            memset(pk.bytes, 0, sizeof pk.bytes);
        if (i == 1)
            memset(pk.bytes, 0xff, sizeof pk.bytes);
        char did[CA_DID_MAX_CHARS + 1];
        size_t len;
        assert_ok(ca_did_encode(&pk, did, sizeof did, &len));
        assert_int_equal(strlen(did), len);
        assert_ok(ca_did_parse(did, len, &back));
        assert_memory_equal(pk.bytes, back.bytes, 32);
    }
}

static void test_did_rejects(void **state)
{
    (void)state;
    ca_agent_id out;
    const char *good = "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th";
    const char *bad[] = {
        "",
        "did:key:",
        "did:web:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",      /* other method */
        "did:key:f6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",      /* other multibase */
        "DID:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",      /* case */
        "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7t",       /* short */
        "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7thh",     /* long */
        "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7t0",      /* '0' not base58 */
        "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7tl",      /* 'l' not base58 */
        "did:key:z6LShLeXRTzevtwcfehaGEzCMyL3bNsAeKCwcqwJxyCo63yE",      /* X25519 codec */
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",     /* secp256k1 */
        "did:key:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",       /* too large */
        "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th#frag", /* fragment */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ca_did_parse(bad[i], strlen(bad[i]), &out) != CA_ERR_BAD_DID)
            fail_msg("accepted bad did #%zu: %s", i, bad[i]);
        assert_true(strlen(ca_last_error()) > 0);
    }
    /* Embedded NUL and a length that cuts the text are rejected too. */
    char nul[64];
    memcpy(nul, good, strlen(good) + 1);
    nul[20] = '\0';
    assert_status(CA_ERR_BAD_DID, ca_did_parse(nul, strlen(good), &out));
    assert_status(CA_ERR_BAD_DID, ca_did_parse(good, strlen(good) - 1, &out));
    assert_status(CA_ERR_BAD_DID, ca_did_parse(NULL, 5, &out));
    /* Every single-character substitution of a valid did is either rejected or a different key. */
    ca_agent_id orig;
    assert_ok(ca_did_parse(good, strlen(good), &orig));
    char mutated[64];
    for (size_t pos = 0; pos < strlen(good); pos++) {
        for (int c = 1; c < 256; c++) {
            memcpy(mutated, good, strlen(good) + 1);
            if ((unsigned char)mutated[pos] == c)
                continue;
            mutated[pos] = (char)c;
            if (ca_did_parse(mutated, strlen(good), &out) == CA_OK)
                assert_memory_not_equal(out.bytes, orig.bytes, 32);
        }
    }
}

static void test_buffer_rule(void **state)
{
    (void)state;
    ca_agent_id pk = {{0}};
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_did_encode(&pk, NULL, 0, &need));
    assert_int_equal(need, CA_DID_MAX_CHARS);
    char small[10];
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_did_encode(&pk, small, sizeof small, &need));
    assert_int_equal(need, CA_DID_MAX_CHARS);
    assert_int_equal(ca_did_max_chars(), CA_DID_MAX_CHARS);
    assert_int_equal(ca_seed_bytes(), 32);
    assert_int_equal(ca_x25519_public_bytes(), CA_X25519_PUBLIC_BYTES);
}

static void test_generate_and_null_args(void **state)
{
    (void)state;
    ca_identity *a = NULL, *b = NULL;
    assert_ok(ca_identity_generate(&a));
    assert_ok(ca_identity_generate(&b));
    ca_agent_id ida, idb;
    ca_identity_id(a, &ida);
    ca_identity_id(b, &idb);
    assert_memory_not_equal(ida.bytes, idb.bytes, 32);
    ca_signature sig;
    const uint8_t msg[] = "hire me";
    assert_ok(ca_identity_sign_tagged(a, "t", 1, msg, sizeof msg, &sig));
    assert_ok(ca_identity_verify_tagged(&ida, "t", 1, msg, sizeof msg, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE,
                  ca_identity_verify_tagged(&idb, "t", 1, msg, sizeof msg, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE,
                  ca_identity_verify_tagged(&ida, "t", 1, msg, sizeof msg - 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_sign_tagged(NULL, "t", 1, msg, 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_sign_tagged(a, "t", 1, NULL, 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_sign_tagged(a, NULL, 1, msg, 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_sign_tagged(a, "t", 1, msg, 1, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_identity_verify_tagged(NULL, "t", 1, msg, sizeof msg, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_verify_tagged(&ida, "t", 1, NULL, 1, &sig));
    /* An empty message is a message like any other. */
    assert_ok(ca_identity_sign_tagged(a, "t", 1, NULL, 0, &sig));
    assert_ok(ca_identity_verify_tagged(&ida, "t", 1, NULL, 0, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_generate(NULL));
    ca_identity_free(a);
    ca_identity_free(b);
    ca_identity_free(NULL);
}

/* ---- application signatures: domain separation (issue 13, finding 11) ---- */

/* What ca_identity_sign_tagged signs, built here independently of the library. */
static size_t app_bytes(const char *tag, const uint8_t *msg, size_t msg_len, uint8_t *out)
{
    size_t t = strlen(tag);
    memcpy(out, "cyberagent/app/", 15);
    out[15] = (uint8_t)t;
    memcpy(out + 16, tag, t);
    memcpy(out + 16 + t, msg, msg_len);
    return 16 + t + msg_len;
}

/*
 * Known answers: RFC 8032 test 1 key; signatures computed with the
 * independent `cryptography` package (OpenSSL) over the documented bytes
 * "cyberagent/app/" || tag length || tag || message.
 */
static void test_app_sign_known_answers(void **state)
{
    (void)state;
    static const struct {
        const char *tag, *msg, *signed_hex, *sig_hex;
    } v[] = {
        {"example.com/chat/v1", "hello",
         "63796265726167656e742f6170702f136578616d706c652e636f6d2f636861742f763168656c6c6f",
         "22789cc47d32d6eea82b8619febb84bf32d01b1cfd7ffcfaa1ad0615f13b2baa2cb8e9cc20646ab6f891f708"
         "d8822028937a499eaa0f91b177e39ae9cf88540e"},
        {"t", "", "63796265726167656e742f6170702f0174",
         "1b7202b2d87dddfd4a59ad3fa7116e01b8e003775f17d0a4ab06f668dad94892a625b0b306ad64f9916871ae"
         "ad123b5ad29855674a68bedad5ed1ab1d2bd110b"},
    };
    uint8_t seed[32];
    test_hex_exact(rfc8032[0].seed, seed, 32);
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    ca_agent_id pk;
    ca_identity_id(id, &pk);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const uint8_t *msg = (const uint8_t *)v[i].msg;
        size_t msg_len = strlen(v[i].msg), tag_len = strlen(v[i].tag);
        uint8_t signed_bytes[128], expected_bytes[128];
        size_t n = app_bytes(v[i].tag, msg, msg_len, signed_bytes);
        assert_int_equal(test_hex_decode(v[i].signed_hex, expected_bytes, sizeof expected_bytes),
                         n);
        assert_memory_equal(signed_bytes, expected_bytes, n);
        ca_signature sig, expected;
        test_hex_exact(v[i].sig_hex, expected.bytes, 64);
        assert_ok(ca_identity_sign_tagged(id, v[i].tag, tag_len, msg, msg_len, &sig));
        assert_memory_equal(sig.bytes, expected.bytes, 64);
        assert_ok(ca_identity_verify_tagged(&pk, v[i].tag, tag_len, msg, msg_len, &expected));
        /* Another tag, or the bare bytes without the construction, do not verify. */
        assert_status(CA_ERR_BAD_SIGNATURE,
                      ca_identity_verify_tagged(&pk, "u", 1, msg, msg_len, &expected));
        assert_status(CA_ERR_BAD_SIGNATURE, cai_identity_verify(&pk, msg, msg_len, &expected));
        expected.bytes[63] ^= 0x40;
        assert_status(CA_ERR_BAD_SIGNATURE,
                      ca_identity_verify_tagged(&pk, v[i].tag, tag_len, msg, msg_len, &expected));
    }
    ca_identity_free(id);
}

static void test_app_sign_tags(void **state)
{
    (void)state;
    ca_identity *id = NULL;
    assert_ok(ca_identity_generate(&id));
    ca_agent_id pk;
    ca_identity_id(id, &pk);
    const uint8_t msg[] = "m";
    ca_signature sig, good;
    assert_ok(ca_identity_sign_tagged(id, "t", 1, msg, 1, &good));

    /* Empty, oversize and library-reserved tags: CA_ERR_BAD_SIGN_TAG, output untouched. */
    char long_tag[CA_SIGN_TAG_MAX_BYTES + 2];
    memset(long_tag, 'a', sizeof long_tag);
    const struct {
        const char *tag;
        size_t len;
    } bad[] = {
        {"", 0},
        {long_tag, CA_SIGN_TAG_MAX_BYTES + 1},
        {long_tag, SIZE_MAX},
        {"cyberagent/", 11},
        {"cyberagent/1/16", 15},
        {"cyberagent/1/65536", 18},
        {"cyberagent/1/ledger-op", 22},
        {"cyberagent/1/escrow-consent", 27},
        {"cyberagent/app/", 15},
        {"cyberagent/anything", 19},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(sig.bytes, 0xA5, sizeof sig.bytes);
        assert_status(CA_ERR_BAD_SIGN_TAG,
                      ca_identity_sign_tagged(id, bad[i].tag, bad[i].len, msg, 1, &sig));
        for (size_t b = 0; b < sizeof sig.bytes; b++)
            assert_int_equal(sig.bytes[b], 0xA5);
        assert_true(strlen(ca_last_error()) > 0);
        assert_status(CA_ERR_BAD_SIGN_TAG,
                      ca_identity_verify_tagged(&pk, bad[i].tag, bad[i].len, msg, 1, &good));
    }
    /* The limits themselves are fine: one byte, CA_SIGN_TAG_MAX_BYTES bytes, any bytes. */
    assert_ok(ca_identity_sign_tagged(id, long_tag, CA_SIGN_TAG_MAX_BYTES, msg, 1, &sig));
    assert_ok(ca_identity_verify_tagged(&pk, long_tag, CA_SIGN_TAG_MAX_BYTES, msg, 1, &sig));
    assert_ok(ca_identity_sign_tagged(id, "\0x", 2, msg, 1, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_identity_verify_tagged(&pk, "\0y", 2, msg, 1, &sig));
    assert_ok(ca_identity_sign_tagged(id, "cyberagent", 10, msg, 1, &sig)); /* no '/' */
    assert_int_equal(ca_sign_tag_max_bytes(), CA_SIGN_TAG_MAX_BYTES);
    assert_int_equal(strlen(CA_SIGN_APP_PREFIX), 15);

    /* Prefix-free: the same concatenation under another split never verifies. */
    const uint8_t c[] = "c", bc[] = "bc";
    assert_ok(ca_identity_sign_tagged(id, "ab", 2, c, 1, &sig));
    assert_ok(ca_identity_verify_tagged(&pk, "ab", 2, c, 1, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_identity_verify_tagged(&pk, "a", 1, bc, 2, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_identity_verify_tagged(&pk, "abc", 3, NULL, 0, &sig));

    /* Messages longer than the stack buffer take the heap path, same construction. */
    static uint8_t big[5000], bytes[5000 + 32];
    randombytes_buf(big, sizeof big);
    assert_ok(ca_identity_sign_tagged(id, "big", 3, big, sizeof big, &sig));
    assert_ok(ca_identity_verify_tagged(&pk, "big", 3, big, sizeof big, &sig));
    size_t n = app_bytes("big", big, sizeof big, bytes);
    assert_int_equal(crypto_sign_verify_detached(sig.bytes, bytes, n, pk.bytes), 0);
    big[4999] ^= 1;
    assert_status(CA_ERR_BAD_SIGNATURE,
                  ca_identity_verify_tagged(&pk, "big", 3, big, sizeof big, &sig));

    /* The internal signer signs library domains only, so the two sets never meet. */
    static const uint8_t lib_bytes[] = "cyberagent/1/ledger-op\x81\x00\x01";
    assert_ok(cai_identity_sign(id, lib_bytes, sizeof lib_bytes - 1, &sig));
    n = app_bytes("t", msg, 1, bytes);
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_identity_sign(id, bytes, n, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_identity_sign(id, msg, 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  cai_identity_sign(id, (const uint8_t *)"cyberagent/", 11, &sig));
    ca_identity_free(id);
}

/*
 * An application signs, through the public API, exactly the bytes the
 * library signs for an envelope (a peer chose them): with the tag the
 * application uses, and with every split of those bytes into a tag and a
 * message. Each signature is spliced into the envelope in place of the real
 * one; none may verify. Before domain separation, ca_identity_sign over these
 * bytes gave a valid envelope.
 */
#define ATTACK_TAG "example.com/notary/v1"

/* Library-signed bytes of an encoded envelope: "cyberagent/1/<kind>" || map without key 9. */
static size_t envelope_signed_bytes(const uint8_t *enc, size_t len, uint8_t *out)
{
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, enc, len, NULL));
    int n = sprintf((char *)out, "cyberagent/1/%u", ca_envelope_kind(env));
    ca_envelope_free(env);
    /* The signature is the last entry: 09 c4 40 + 64 bytes. */
    assert_true(len > 1 + 67 && enc[len - 67] == 0x09 && enc[len - 66] == 0xc4);
    out[n] = (uint8_t)(enc[0] - 1);
    memcpy(out + n + 1, enc + 1, len - 1 - 67);
    return (size_t)n + 1 + (len - 1 - 67);
}

/*
 * The unsigned encoding of a signed ledger op that carries `nsig` signatures
 * (docs/LEDGER.md: the signatures are the last keys, 14 then 15, each
 * 0x0e/0x0f c4 40 + 64 bytes, and the fixmap counts them): what the
 * signatures cover after the tag and the ledger id.
 */
static size_t op_unsigned(const uint8_t *signed_op, size_t len, size_t nsig, uint8_t *out)
{
    const size_t tail = 67 * nsig;
    assert_true(len > 1 + tail && signed_op[len - 67] == 0x0f && signed_op[len - 66] == 0xc4);
    assert_true(nsig == 1 || (signed_op[len - 134] == 0x0e && signed_op[len - 133] == 0xc4));
    out[0] = (uint8_t)(signed_op[0] - nsig);
    memcpy(out + 1, signed_op + 1, len - 1 - tail);
    return len - tail;
}

/*
 * Signs `sbytes` through the public API under ATTACK_TAG and under every
 * tag/message split, splices each signature into the last 64 bytes of
 * `enc` and asks `check` (the library's own verification of that message
 * type) whether it holds. Returns how many splices `check` accepted.
 */
static size_t public_sign_attack(const ca_identity *victim, const uint8_t *sbytes, size_t slen,
                                 uint8_t *enc, size_t len,
                                 ca_status (*check)(const uint8_t *, size_t))
{
    uint8_t real[64];
    memcpy(real, enc + len - 64, 64);
    /* The attack input is exact: the library's signature covers precisely `sbytes`. */
    ca_agent_id vid;
    ca_identity_id(victim, &vid);
    assert_int_equal(crypto_sign_verify_detached(real, sbytes, slen, vid.bytes), 0);
    size_t accepted = 0;
    ca_signature sig;
    assert_ok(ca_identity_sign_tagged(victim, ATTACK_TAG, strlen(ATTACK_TAG), sbytes, slen, &sig));
    memcpy(enc + len - 64, sig.bytes, 64);
    accepted += check(enc, len) == CA_OK;
    for (size_t k = 1; k <= CA_SIGN_TAG_MAX_BYTES && k < slen; k++) {
        /* Every tag of 11 bytes or more begins "cyberagent/": reserved, refused. */
        assert_status(
            k >= 11 ? CA_ERR_BAD_SIGN_TAG : CA_OK,
            ca_identity_sign_tagged(victim, (const char *)sbytes, k, sbytes + k, slen - k, &sig));
        if (k >= 11)
            continue;
        memcpy(enc + len - 64, sig.bytes, 64);
        accepted += check(enc, len) == CA_OK;
    }
    /* Sanity: the library's own signature over the same bytes does verify. */
    memcpy(enc + len - 64, real, 64);
    assert_ok(check(enc, len));
    return accepted;
}

static uint64_t attack_now;

static ca_status check_envelope(const uint8_t *enc, size_t len)
{
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_open(&env, enc, len, attack_now, NULL);
    ca_envelope_free(env);
    return st;
}

static ca_status check_card(const uint8_t *enc, size_t len)
{
    ca_card *card = NULL;
    ca_status st = ca_card_open(&card, enc, len, attack_now, NULL);
    ca_card_free(card);
    return st;
}

/* The ledger every op of the attack names (signatures cover its id). */
static const ca_hash attack_ledger = {{0x1e, 0xd6, 0xe5, 0x00}};

static ca_status check_ledger_op(const uint8_t *enc, size_t len)
{
    return ca_ledger_op_verify(&attack_ledger, enc, len);
}

static void test_app_sign_never_library_signature(void **state)
{
    (void)state;
    ca_identity *victim = NULL, *peer = NULL;
    assert_ok(ca_identity_generate(&victim));
    assert_ok(ca_identity_generate(&peer));
    ca_agent_id vid, pid;
    ca_identity_id(victim, &vid);
    ca_identity_id(peer, &pid);
    const uint64_t t0 = 1700000000000ull;
    attack_now = t0 + 1;
    static uint8_t enc[8192], sbytes[8192];
    size_t len = 0;

    /* Envelopes: a task request and an application kind. */
    const uint32_t kinds[] = {16, 65536};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        ca_envelope_params p;
        assert_ok(ca_envelope_params_init(&p, CA_ENVELOPE_PARAMS_VERSION));
        p.kind = kinds[i];
        p.created_at = t0;
        p.expires_at = t0 + 60000;
        p.recipient = &pid;
        const uint8_t body[] = "pay the bearer 1000000 units";
        assert_ok(ca_envelope_sign(victim, &p, body, sizeof body - 1, enc, sizeof enc, &len, NULL));
        size_t slen = envelope_signed_bytes(enc, len, sbytes);
        assert_int_equal(public_sign_attack(victim, sbytes, slen, enc, len, check_envelope), 0);
    }

    /* Agent cards. */
    ca_card_capability cap = {"translate.fr", 5, 0};
    ca_card_params cp;
    assert_ok(ca_card_params_init(&cp, CA_CARD_PARAMS_VERSION));
    cp.name = "victim";
    cp.endpoint = "agents.victim";
    cp.not_before = t0;
    cp.not_after = t0 + 3600000;
    cp.sequence = 1;
    cp.capabilities = &cap;
    cp.capability_size = sizeof(ca_card_capability);
    cp.capability_count = 1;
    cp.created_at = t0;
    assert_ok(ca_card_sign(victim, &cp, enc, sizeof enc, &len, NULL));
    size_t slen = envelope_signed_bytes(enc, len, sbytes);
    assert_int_equal(public_sign_attack(victim, sbytes, slen, enc, len, check_card), 0);

    /* Ledger ops: a TRANSFER of the victim's funds to the peer. */
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_TRANSFER;
    op.signer = vid;
    op.nonce = 1;
    op.counterparty = pid;
    op.amount = 1000000;
    assert_ok(ca_ledger_op_sign(&attack_ledger, &op, victim, NULL, enc, sizeof enc, &len));
    /* Signed bytes: tag || ledger id || unsigned encoding. */
    static const char op_tag[] = "cyberagent/1/ledger-op";
    const size_t op_pre = sizeof op_tag - 1 + CA_HASH_BYTES;
    memcpy(sbytes, op_tag, sizeof op_tag - 1);
    memcpy(sbytes + sizeof op_tag - 1, attack_ledger.bytes, CA_HASH_BYTES);
    size_t n = op_unsigned(enc, len, 1, sbytes + op_pre);
    assert_int_equal(public_sign_attack(victim, sbytes, op_pre + n, enc, len, check_ledger_op), 0);

    /* Escrow consent: the victim (worker) never agreed to lock collateral for the peer. */
    memset(&op, 0, sizeof op);
    op.version = CA_LEDGER_OP_VERSION;
    op.type = CA_LEDGER_OP_ESCROW_OPEN;
    op.signer = pid;
    op.nonce = 1;
    op.counterparty = vid;
    memset(op.ref.bytes, 7, sizeof op.ref.bytes);
    op.amount = 10;
    op.amount2 = 1000000;
    op.deadline = t0 + 1000;
    static const char consent_tag[] = "cyberagent/1/escrow-consent";
    ca_ledger_op terms = op;
    terms.nonce = 0;
    const size_t consent_pre = sizeof consent_tag - 1 + CA_HASH_BYTES;
    memcpy(sbytes, consent_tag, sizeof consent_tag - 1);
    memcpy(sbytes + sizeof consent_tag - 1, attack_ledger.bytes, CA_HASH_BYTES);
    assert_ok(ca_ledger_op_sign(&attack_ledger, &terms, peer, victim, enc, sizeof enc, &len));
    n = op_unsigned(enc, len, 2, sbytes + consent_pre);
    slen = consent_pre + n;
    ca_signature real, sig;
    assert_ok(ca_ledger_op_cosign(&attack_ledger, &op, victim, &real));
    assert_int_equal(crypto_sign_verify_detached(real.bytes, sbytes, slen, vid.bytes), 0);
    assert_ok(ca_ledger_op_sign_cosigned(&attack_ledger, &op, peer, &real, enc, sizeof enc, &len));
    assert_ok(ca_identity_sign_tagged(victim, ATTACK_TAG, strlen(ATTACK_TAG), sbytes, slen, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_ledger_op_sign_cosigned(&attack_ledger, &op, peer, &sig,
                                                                   enc, sizeof enc, &len));
    for (size_t k = 1; k < 11; k++) {
        assert_ok(
            ca_identity_sign_tagged(victim, (const char *)sbytes, k, sbytes + k, slen - k, &sig));
        assert_status(
            CA_ERR_BAD_SIGNATURE,
            ca_ledger_op_sign_cosigned(&attack_ledger, &op, peer, &sig, enc, sizeof enc, &len));
    }
    ca_identity_free(victim);
    ca_identity_free(peer);
}

static void fast_options(ca_keyfile_options *o)
{
    assert_ok(ca_keyfile_options_init(o, CA_KEYFILE_OPTIONS_VERSION));
    o->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    o->memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

static void test_keyfile_roundtrip_and_errors(void **state)
{
    (void)state;
    ca_keyfile_options o;
    fast_options(&o);
    ca_identity *id = NULL, *back = NULL;
    assert_ok(ca_identity_generate(&id));
    uint8_t file[CA_KEYFILE_BYTES];
    size_t len = 0;
    assert_ok(ca_identity_export_encrypted(id, "correct horse", 13, &o, file, sizeof file, &len));
    assert_int_equal(len, CA_KEYFILE_BYTES);
    assert_int_equal(ca_keyfile_bytes(), CA_KEYFILE_BYTES);

    assert_ok(ca_identity_import_encrypted(&back, file, len, "correct horse", 13, &o));
    ca_agent_id a, b;
    ca_identity_id(id, &a);
    ca_identity_id(back, &b);
    assert_memory_equal(a.bytes, b.bytes, 32);
    ca_identity_free(back);

    assert_status(CA_ERR_WRONG_PASSPHRASE,
                  ca_identity_import_encrypted(&back, file, len, "correct horsf", 13, &o));
    assert_null(back);
    assert_status(CA_ERR_WRONG_PASSPHRASE,
                  ca_identity_import_encrypted(&back, file, len, "", 0, &o));
    /* Every flipped bit and every truncation is reported as corruption, never a crash. */
    for (size_t bit = 0; bit < len * 8; bit++) {
        file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ca_status st = ca_identity_import_encrypted(&back, file, len, "correct horse", 13, &o);
        file[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (st != CA_ERR_KEYFILE_CORRUPT)
            fail_msg("bit %zu flipped gave %s", bit, ca_status_str(st));
    }
    for (size_t cut = 0; cut < len; cut++)
        assert_status(CA_ERR_KEYFILE_CORRUPT,
                      ca_identity_import_encrypted(&back, file, cut, "correct horse", 13, &o));
    /* A reader that allows less work than the file demands refuses it before any KDF. */
    ca_keyfile_options strict = o;
    strict.max_memlimit = crypto_pwhash_MEMLIMIT_MIN - 1;
    assert_status(CA_ERR_KEYFILE_TOO_COSTLY,
                  ca_identity_import_encrypted(&back, file, len, "correct horse", 13, &strict));
    /* Options from a future version are refused. */
    ca_keyfile_options future = o;
    future.version = CA_KEYFILE_OPTIONS_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_identity_import_encrypted(&back, file, len, "correct horse", 13, &future));
    ca_identity_free(id);
}

static void test_keyfile_on_disk(void **state)
{
    (void)state;
    ca_keyfile_options o;
    fast_options(&o);
    char path[512];
    snprintf(path, sizeof path, "%s/identity-%d.key", CA_TEST_TMP_DIR, (int)getpid());
    ca_identity *id = NULL, *back = NULL;
    assert_ok(ca_identity_generate(&id));
    assert_ok(ca_identity_save(id, path, "pw", 2, &o));
    assert_ok(ca_identity_load(&back, path, "pw", 2, &o));
    ca_agent_id a, b;
    ca_identity_id(id, &a);
    ca_identity_id(back, &b);
    assert_memory_equal(a.bytes, b.bytes, 32);
    ca_identity_free(back);
    assert_status(CA_ERR_WRONG_PASSPHRASE, ca_identity_load(&back, path, "px", 2, &o));
    /* A file with a trailing byte is not a key file. */
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputc('x', f);
    fclose(f);
    assert_status(CA_ERR_KEYFILE_CORRUPT, ca_identity_load(&back, path, "pw", 2, &o));
    unlink(path);
    assert_status(CA_ERR_NOT_FOUND, ca_identity_load(&back, path, "pw", 2, &o));
    ca_identity_free(id);
}

/* ---- key-file cost caps (issue 13, finding 12) ---- */

/* A key file from `id` at the minimum cost, then its declared cost rewritten (checksum fixed). */
static void file_declaring(const ca_identity *id, uint64_t ops, uint64_t mem,
                           uint8_t file[CA_KEYFILE_BYTES])
{
    ca_keyfile_options o;
    fast_options(&o);
    size_t len = 0;
    assert_ok(ca_identity_export_encrypted(id, "pw", 2, &o, file, CA_KEYFILE_BYTES, &len));
    for (int i = 0; i < 8; i++) {
        file[8 + i] = (uint8_t)(ops >> (8 * i));
        file[16 + i] = (uint8_t)(mem >> (8 * i));
    }
    crypto_generichash(file + 112, 16, file, 112, NULL, 0);
}

static void test_keyfile_default_caps(void **state)
{
    (void)state;
    /* The defaults are named, equal libsodium's "moderate", and a reader accepts the writer's. */
    ca_keyfile_options d;
    assert_ok(ca_keyfile_options_init(&d, CA_KEYFILE_OPTIONS_VERSION));
    assert_int_equal(d.opslimit, CA_KEYFILE_OPSLIMIT_DEFAULT);
    assert_int_equal(d.memlimit, CA_KEYFILE_MEMLIMIT_DEFAULT);
    assert_int_equal(d.max_opslimit, CA_KEYFILE_MAX_OPSLIMIT_DEFAULT);
    assert_int_equal(d.max_memlimit, CA_KEYFILE_MAX_MEMLIMIT_DEFAULT);
    assert_int_equal(CA_KEYFILE_OPSLIMIT_DEFAULT, crypto_pwhash_OPSLIMIT_MODERATE);
    assert_int_equal(CA_KEYFILE_MEMLIMIT_DEFAULT, crypto_pwhash_MEMLIMIT_MODERATE);
    assert_true(CA_KEYFILE_MAX_OPSLIMIT_DEFAULT >= CA_KEYFILE_OPSLIMIT_DEFAULT);
    assert_true(CA_KEYFILE_MAX_MEMLIMIT_DEFAULT >= CA_KEYFILE_MEMLIMIT_DEFAULT);
    assert_true(CA_KEYFILE_MAX_OPSLIMIT_DEFAULT < crypto_pwhash_OPSLIMIT_SENSITIVE);
    assert_true(CA_KEYFILE_MAX_MEMLIMIT_DEFAULT < crypto_pwhash_MEMLIMIT_SENSITIVE);

    ca_identity *id = NULL, *back = NULL;
    assert_ok(ca_identity_generate(&id));
    /* Files above a default cap (libsodium's "sensitive" level, one pass or 1 KiB over). */
    const struct {
        uint64_t ops, mem;
    } hostile[] = {
        {CA_KEYFILE_MAX_OPSLIMIT_DEFAULT + 1, crypto_pwhash_MEMLIMIT_MIN},
        {crypto_pwhash_OPSLIMIT_MIN, CA_KEYFILE_MAX_MEMLIMIT_DEFAULT + 1024},
        {crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE},
        {crypto_pwhash_OPSLIMIT_MAX, crypto_pwhash_MEMLIMIT_MAX},
    };
    uint8_t file[CA_KEYFILE_BYTES];
    char path[512];
    snprintf(path, sizeof path, "%s/hostile-%d.key", CA_TEST_TMP_DIR, (int)getpid());
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        file_declaring(id, hostile[i].ops, hostile[i].mem, file);
        uint64_t runs = cai_keyfile_derivations();
        assert_status(CA_ERR_KEYFILE_TOO_COSTLY,
                      ca_identity_import_encrypted(&back, file, sizeof file, "pw", 2, NULL));
        assert_null(back);
        assert_status(CA_ERR_KEYFILE_TOO_COSTLY,
                      ca_identity_import_encrypted(&back, file, sizeof file, "pw", 2, &d));
        /* The same through the file loader. */
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(file, 1, sizeof file, f), sizeof file);
        fclose(f);
        assert_status(CA_ERR_KEYFILE_TOO_COSTLY, ca_identity_load(&back, path, "pw", 2, NULL));
        assert_null(back);
        /* Refused before any key derivation. */
        assert_int_equal(cai_keyfile_derivations(), runs);
    }
    unlink(path);

    /* The caps are overridable: a reader that allows 4 passes derives (and the rewritten
     * header then fails the AEAD, since the header is its associated data). */
    file_declaring(id, CA_KEYFILE_MAX_OPSLIMIT_DEFAULT + 1, crypto_pwhash_MEMLIMIT_MIN, file);
    ca_keyfile_options generous = d;
    generous.max_opslimit = CA_KEYFILE_MAX_OPSLIMIT_DEFAULT + 1;
    uint64_t runs = cai_keyfile_derivations();
    assert_status(CA_ERR_WRONG_PASSPHRASE,
                  ca_identity_import_encrypted(&back, file, sizeof file, "pw", 2, &generous));
    assert_int_equal(cai_keyfile_derivations(), runs + 1);

    /* A writer refuses a cost its own options could not read back; raising the caps allows it. */
    ca_keyfile_options strong;
    fast_options(&strong);
    strong.opslimit = CA_KEYFILE_MAX_OPSLIMIT_DEFAULT + 1;
    size_t len = 0;
    runs = cai_keyfile_derivations();
    assert_status(CA_ERR_KEYFILE_TOO_COSTLY,
                  ca_identity_export_encrypted(id, "pw", 2, &strong, file, sizeof file, &len));
    assert_int_equal(cai_keyfile_derivations(), runs);
    strong.max_opslimit = strong.opslimit;
    assert_ok(ca_identity_export_encrypted(id, "pw", 2, &strong, file, sizeof file, &len));
    assert_ok(ca_identity_import_encrypted(&back, file, len, "pw", 2, &strong));
    ca_identity_free(back);
    ca_identity_free(id);
}

/* ---- saving key files (issue 13, finding 13) ---- */

/* A fresh empty directory for one test. */
static void fresh_dir(char *dir, size_t cap, const char *name)
{
    snprintf(dir, cap, "%s/%s-%d-XXXXXX", CA_TEST_TMP_DIR, name, (int)getpid());
    assert_non_null(mkdtemp(dir));
}

/* Number of names in `dir` other than "." and ".."; *tmp_files counts those with ".tmp-". */
static size_t dir_entries(const char *dir, size_t *tmp_files)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    *tmp_files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (strstr(e->d_name, ".tmp-") != NULL)
            (*tmp_files)++;
    }
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void assert_file_text(const char *path, const char *text, mode_t mode)
{
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_int_equal(n, (ssize_t)strlen(text));
    assert_string_equal(buf, text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
}

static void assert_key_file(const char *path, const ca_identity *id)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, CA_KEYFILE_BYTES);
    ca_keyfile_options o;
    fast_options(&o);
    ca_identity *back = NULL;
    assert_ok(ca_identity_load(&back, path, "pw", 2, &o));
    ca_agent_id a, b;
    ca_identity_id(id, &a);
    ca_identity_id(back, &b);
    assert_memory_equal(a.bytes, b.bytes, 32);
    ca_identity_free(back);
}

static void test_save_never_writes_through_links(void **state)
{
    (void)state;
    ca_keyfile_options o;
    fast_options(&o);
    ca_identity *id = NULL;
    assert_ok(ca_identity_generate(&id));
    char dir[512], path[600], tmp[640], victim[600];
    fresh_dir(dir, sizeof dir, "save-link");
    snprintf(path, sizeof path, "%s/agent.key", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    write_text(victim, "victim's data", 0644);

    /* A symlink planted at <path>.tmp pointing at the victim: the victim stays as it was. */
    assert_int_equal(symlink(victim, tmp), 0);
    assert_ok(ca_identity_save(id, path, "pw", 2, &o));
    assert_file_text(victim, "victim's data", 0644);
    assert_key_file(path, id);
    struct stat st;
    assert_int_equal(lstat(tmp, &st), 0); /* the planted link is not ours to touch */
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(unlink(tmp), 0);

    /* A symlink at <path> itself is replaced by the key file, not followed. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(victim, path), 0);
    assert_ok(ca_identity_save(id, path, "pw", 2, &o));
    assert_file_text(victim, "victim's data", 0644);
    assert_key_file(path, id);

    size_t tmps = 0;
    assert_int_equal(dir_entries(dir, &tmps), 2); /* agent.key, victim */
    assert_int_equal(tmps, 0);
    unlink(path);
    unlink(victim);
    rmdir(dir);
    ca_identity_free(id);
}

static void test_save_mode_and_leftovers(void **state)
{
    (void)state;
    ca_keyfile_options o;
    fast_options(&o);
    ca_identity *id = NULL;
    assert_ok(ca_identity_generate(&id));
    char dir[512], path[600], stale[640];
    fresh_dir(dir, sizeof dir, "save-mode");
    snprintf(path, sizeof path, "%s/agent.key", dir);
    snprintf(stale, sizeof stale, "%s.tmp", path);

    /* An old target with mode 0644 and a stale 0644 "<path>.tmp" (a crashed earlier save):
     * the saved file is 0600 all the same, and the stale file is left as it was. */
    write_text(path, "old key", 0644);
    write_text(stale, "stale", 0644);
    assert_ok(ca_identity_save(id, path, "pw", 2, &o));
    assert_key_file(path, id);
    assert_file_text(stale, "stale", 0644);
    assert_int_equal(unlink(stale), 0);

    /* Whatever the umask: 0600 exactly. */
    const mode_t masks[] = {0, 0277, 0777};
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        mode_t old = umask(masks[i]);
        ca_status st = ca_identity_save(id, path, "pw", 2, &o);
        umask(old);
        assert_ok(st);
        assert_key_file(path, id);
    }
    size_t tmps = 0;
    assert_int_equal(dir_entries(dir, &tmps), 1); /* success leaves only the key file */
    assert_int_equal(tmps, 0);

    /* Failures leave no temporary file and the target untouched. */
    char sub[640];
    snprintf(sub, sizeof sub, "%s/a-directory", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_status(CA_ERR_IO, ca_identity_save(id, sub, "pw", 2, &o)); /* rename over a directory */
    assert_true(strlen(ca_last_error()) > 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(dir_entries(dir, &tmps), 2);
    assert_int_equal(tmps, 0);
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no-such-dir/agent.key", dir);
    assert_status(CA_ERR_IO, ca_identity_save(id, missing, "pw", 2, &o));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_save(id, "", "pw", 2, &o));
    char slash[700];
    snprintf(slash, sizeof slash, "%s/", dir);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_save(id, slash, "pw", 2, &o));
    assert_int_equal(dir_entries(dir, &tmps), 2);
    assert_int_equal(tmps, 0);
    assert_key_file(path, id);

    rmdir(sub);
    unlink(path);
    rmdir(dir);
    ca_identity_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8032_vectors),
        cmocka_unit_test(test_wycheproof_ed25519),
        cmocka_unit_test(test_did_known_answers),
        cmocka_unit_test(test_did_roundtrip_random),
        cmocka_unit_test(test_did_rejects),
        cmocka_unit_test(test_buffer_rule),
        cmocka_unit_test(test_generate_and_null_args),
        cmocka_unit_test(test_app_sign_known_answers),
        cmocka_unit_test(test_app_sign_tags),
        cmocka_unit_test(test_app_sign_never_library_signature),
        cmocka_unit_test(test_keyfile_roundtrip_and_errors),
        cmocka_unit_test(test_keyfile_on_disk),
        cmocka_unit_test(test_keyfile_default_caps),
        cmocka_unit_test(test_save_never_writes_through_links),
        cmocka_unit_test(test_save_mode_and_leftovers),
    };
    return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
