/*
 * Fuzz target: the JSON reader / RFC 8785 writer and the signed A2A card
 * decoder (ca_jcs_canonicalize, ca_a2a_card_verify, ca_a2a_card_native).
 * The first byte picks the mode, the rest is JSON text:
 *   'v'  verify the text as it is (signatures and all);
 *   's'  sign the text first as a card payload with a fixed key (kid: its
 *        did:key URL), so mutations reach the shape checks and the native
 *        card rebuild behind the signature check.
 * Invariants: never crashes; every failure is one of the documented
 * statuses with a sentence (FUZZ_CALL); canonical output is a fixed point
 * (canonicalizing it again gives the same bytes); a verified card's payload
 * is the canonical form of the input without `signatures`; in mode 's' the
 * signature never fails (only the shape can); a native card from
 * ca_a2a_card_native decodes and parses as a card of the same agent.
 */
#include <string.h>

#include <sodium.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "wire/json.h"

static int one_of(ca_status st, const ca_status *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (st == set[i])
            return 1;
    return 0;
}

static const ca_status json_fail[] = {CA_ERR_JSON, CA_ERR_UNSUPPORTED, CA_ERR_LIMIT};

/* Canonical form into a fresh buffer, or NULL (status in *st). */
static char *canonical(const char *text, size_t len, size_t *out_len, ca_status *st)
{
    *st = FUZZ_CALL(ca_jcs_canonicalize(text, len, NULL, 0, out_len));
    if (*st != CA_ERR_BUFFER_TOO_SMALL)
        return NULL;
    char *out = malloc(*out_len + 1);
    FUZZ_CHECK(out != NULL);
    *st = ca_jcs_canonicalize(text, len, out, *out_len + 1, out_len);
    FUZZ_CHECK(*st == CA_OK && strlen(out) == *out_len);
    return out;
}

/* Signs canonical object text `p` (plen bytes) and returns the signed card text. */
static char *sign_payload(const char *p, size_t plen, size_t *out_len)
{
    uint8_t seed[32] = {0xf0, 0x22}, pk[32], sk[64], sig[64];
    crypto_sign_seed_keypair(pk, sk, seed);
    ca_agent_id id;
    memcpy(id.bytes, pk, 32);
    char did[CA_DID_MAX_CHARS + 1], head[256];
    size_t dl = 0;
    FUZZ_CHECK(ca_did_encode(&id, did, sizeof did, &dl) == CA_OK);
    int hl = snprintf(head, sizeof head, "{\"alg\":\"EdDSA\",\"kid\":\"%s#%s\",\"typ\":\"JOSE\"}",
                      did, did + 8);
    size_t ph = cai_b64url_len((size_t)hl), pp = cai_b64url_len(plen);
    char *input = malloc(ph + 1 + pp);
    FUZZ_CHECK(input != NULL);
    cai_b64url_encode((const uint8_t *)head, (size_t)hl, input);
    input[ph] = '.';
    cai_b64url_encode((const uint8_t *)p, plen, input + ph + 1);
    crypto_sign_detached(sig, NULL, (const uint8_t *)input, ph + 1 + pp, sk);
    char s64[90] = {0};
    cai_b64url_encode(sig, 64, s64);
    size_t cap = plen + ph + 200;
    char *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    /* p is a canonical object: "{}" or "{...}"; append the signatures member */
    int n =
        snprintf(out, cap, "%.*s%s\"signatures\":[{\"protected\":\"%.*s\",\"signature\":\"%s\"}]}",
                 (int)plen - 1, p, plen > 2 ? "," : "", (int)ph, input, s64);
    free(input);
    *out_len = (size_t)n;
    return out;
}

static void check_native(const ca_a2a_card *a)
{
    static const ca_status native_fail[] = {
        CA_ERR_NOT_FOUND, CA_ERR_A2A_CARD,       CA_ERR_INVALID_ARGUMENT,
        CA_ERR_LIMIT,     CA_ERR_BAD_CAPABILITY, CA_ERR_BAD_SIGNATURE,
        CA_ERR_MALFORMED, CA_ERR_KEY_MISMATCH,   CA_ERR_BAD_KEY};
    size_t n = 0;
    ca_status st = FUZZ_CALL(ca_a2a_card_native(a, NULL, 0, &n));
    if (st != CA_ERR_BUFFER_TOO_SMALL) {
        FUZZ_CHECK(one_of(st, native_fail, sizeof native_fail / sizeof native_fail[0]));
        return;
    }
    uint8_t *bytes = malloc(n);
    FUZZ_CHECK(bytes != NULL);
    FUZZ_CHECK(ca_a2a_card_native(a, bytes, n, &n) == CA_OK);
    ca_envelope *env = NULL;
    ca_card *card = NULL;
    ca_envelope_options eo;
    FUZZ_CHECK(ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION) == CA_OK);
    eo.max_lifetime_ms = UINT64_MAX;
    FUZZ_CHECK(ca_envelope_decode(&env, bytes, n, &eo) == CA_OK);
    FUZZ_CHECK(ca_card_parse(&card, env) == CA_OK);
    ca_agent_id agent, signer;
    ca_card_agent(card, &agent);
    ca_a2a_card_signer(a, &signer);
    FUZZ_CHECK(memcmp(agent.bytes, signer.bytes, 32) == 0);
    ca_card_free(card);
    ca_envelope_free(env);
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char mode = (char)data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    ca_status st;
    size_t clen = 0;
    char *canon = canonical(text, len, &clen, &st);
    if (canon == NULL) {
        FUZZ_CHECK(one_of(st, json_fail, 3));
    } else {
        size_t again_len = 0;
        char *again = canonical(canon, clen, &again_len, &st);
        FUZZ_CHECK(again != NULL && again_len == clen && memcmp(again, canon, clen) == 0);
        free(again);
    }
    char *signed_text = NULL;
    if (mode == 's') {
        if (canon == NULL || clen < 2 || canon[0] != '{') {
            free(canon);
            return 0;
        }
        /* a payload with its own signatures member would have two */
        char *probe = malloc(clen + 1);
        FUZZ_CHECK(probe != NULL);
        memcpy(probe, canon, clen + 1);
        cai_json doc;
        FUZZ_CHECK(cai_json_parse(&doc, probe, clen) == CA_OK);
        int has_sigs = cai_json_get(&doc, 0, "signatures") != 0;
        cai_json_free(&doc);
        free(probe);
        if (has_sigs) {
            free(canon);
            return 0;
        }
        signed_text = sign_payload(canon, clen, &len);
        text = signed_text;
    }
    static const ca_status verify_fail[] = {
        CA_ERR_JSON,    CA_ERR_UNSUPPORTED,  CA_ERR_LIMIT,         CA_ERR_A2A_CARD, CA_ERR_JWS,
        CA_ERR_BAD_DID, CA_ERR_KEY_MISMATCH, CA_ERR_BAD_SIGNATURE, CA_ERR_BAD_KEY};
    ca_a2a_card *a = NULL;
    st = FUZZ_CALL(ca_a2a_card_verify(&a, text, len, NULL));
    if (st != CA_OK) {
        FUZZ_CHECK(a == NULL);
        FUZZ_CHECK(one_of(st, verify_fail, sizeof verify_fail / sizeof verify_fail[0]));
        if (mode == 's')
            FUZZ_CHECK(st == CA_ERR_A2A_CARD || st == CA_ERR_UNSUPPORTED || st == CA_ERR_LIMIT);
    } else {
        size_t pl = 0;
        const char *payload = ca_a2a_card_payload(a, &pl);
        FUZZ_CHECK(payload != NULL && strlen(payload) == pl);
        FUZZ_CHECK(ca_a2a_card_name(a) != NULL && ca_a2a_card_version(a) != NULL);
        FUZZ_CHECK(ca_a2a_card_interface_count(a) >= 1);
        FUZZ_CHECK(ca_a2a_card_interface_url(a, 0) != NULL);
        FUZZ_CHECK(ca_a2a_card_interface_url(a, ca_a2a_card_interface_count(a)) == NULL);
        for (size_t i = 0; i < ca_a2a_card_skill_count(a); i++)
            FUZZ_CHECK(ca_a2a_card_skill_id(a, i) != NULL);
        if (mode == 's')
            FUZZ_CHECK(pl == clen && memcmp(payload, canon, clen) == 0);
        check_native(a);
        ca_a2a_card_free(a);
    }
    free(signed_text);
    free(canon);
    return 0;
}
