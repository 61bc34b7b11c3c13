/* Identity: RFC 8032 and Wycheproof known answers, did:key, key files, X25519. */
#include <stdlib.h>
#include <unistd.h>

#include <sodium.h>

#include "cyberagent.h"
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
        assert_ok(ca_identity_sign(id, msg, msg_len, &sig));
        assert_memory_equal(sig.bytes, expected.bytes, 64);
        assert_ok(ca_identity_verify(&pk, msg, msg_len, &sig));
        sig.bytes[0] ^= 1;
        assert_status(CA_ERR_BAD_SIGNATURE, ca_identity_verify(&pk, msg, msg_len, &sig));

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
 * agrees with every one of them.
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
            verdict = ca_identity_verify(&pk, msg, msg_len, &sig) == CA_OK;
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
    assert_ok(ca_identity_sign(a, msg, sizeof msg, &sig));
    assert_ok(ca_identity_verify(&ida, msg, sizeof msg, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_identity_verify(&idb, msg, sizeof msg, &sig));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_identity_verify(&ida, msg, sizeof msg - 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_sign(NULL, msg, 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_sign(a, NULL, 1, &sig));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_identity_generate(NULL));
    ca_identity_free(a);
    ca_identity_free(b);
    ca_identity_free(NULL);
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
        cmocka_unit_test(test_keyfile_roundtrip_and_errors),
        cmocka_unit_test(test_keyfile_on_disk),
    };
    return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
