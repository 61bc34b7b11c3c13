/* Agent cards: capability grammar, sign/parse round trip, strictness, A2A JSON export. */
#include <stdlib.h>

#include "card/card_internal.h"
#include "cyberagent.h"
#include "test_util.h"
#include "wire/wire.h"

#define NOW 1700000000000ull

static ca_identity *make_id(uint8_t tag)
{
    uint8_t seed[32] = {tag, 0xca};
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

static const ca_card_capability caps3[] = {
    {"llm.translate.en-fr", 120, 500},
    {"img.resize", 7, 0},
    {"llm.summarize", 50, 2000},
};

static void fill_params(ca_card_params *p)
{
    assert_ok(ca_card_params_init(p, CA_CARD_PARAMS_VERSION));
    p->name = "Translator \"7\"";
    p->description = "Fast EN\xe2\x86\x92"
                     "FR translation\nand more";
    p->endpoint = "nats://agents.translate.7";
    p->stake = 5000000;
    p->not_before = NOW - 1000;
    p->not_after = NOW + 3600000;
    p->sequence = 42;
    p->capabilities = caps3;
    p->capability_size = sizeof(ca_card_capability);
    p->capability_count = 3;
    p->created_at = NOW;
}

static size_t sign_card(const ca_identity *id, const ca_card_params *p, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    assert_ok(ca_card_sign(id, p, buf, cap, &len, NULL));
    return len;
}

static void test_capability_grammar(void **state)
{
    (void)state;
    static const char *good[] = {"a",  "llm.translate.en-fr", "0.1.2.3.4.5.6.7", "x-y-z", "-",
                                 "a.-"};
    static const char *bad[] = {
        "", ".", "a.", ".a", "a..b", "A", "a b", "a_b", "a.b.c.d.e.f.g.h.i", "é", "a/b", "a\tb"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_ok(ca_capability_check(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_status(CA_ERR_BAD_CAPABILITY, ca_capability_check(bad[i], strlen(bad[i])));
    char longname[CA_CAPABILITY_MAX + 2];
    memset(longname, 'a', sizeof longname);
    assert_ok(ca_capability_check(longname, CA_CAPABILITY_MAX));
    assert_status(CA_ERR_BAD_CAPABILITY, ca_capability_check(longname, CA_CAPABILITY_MAX + 1));
    assert_status(CA_ERR_BAD_CAPABILITY, ca_capability_check(NULL, 0));
    assert_int_equal(ca_capability_max(), CA_CAPABILITY_MAX);
    assert_int_equal(ca_card_capabilities_max(), CA_CARD_CAPABILITIES_MAX);
}

static void test_roundtrip(void **state)
{
    (void)state;
    ca_identity *id = make_id(1);
    ca_card_params p;
    fill_params(&p);
    uint8_t buf[2048];
    size_t len = 0;
    ca_hash mid;
    /* size query first (OWNERSHIP RULE) */
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_card_sign(id, &p, NULL, 0, &len, NULL));
    size_t need = len;
    assert_ok(ca_card_sign(id, &p, buf, sizeof buf, &len, &mid));
    assert_true(len <= need);

    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, len, NOW, NULL));
    ca_agent_id agent, expect;
    ca_identity_id(id, &expect);
    ca_card_agent(card, &agent);
    assert_memory_equal(agent.bytes, expect.bytes, 32);
    ca_hash got;
    ca_card_message_id(card, &got);
    assert_memory_equal(got.bytes, mid.bytes, 32);
    assert_string_equal(ca_card_name(card), p.name);
    assert_string_equal(ca_card_description(card), p.description);
    assert_string_equal(ca_card_endpoint(card), p.endpoint);
    assert_true(ca_card_stake(card) == 5000000);
    assert_true(ca_card_not_before(card) == NOW - 1000);
    assert_true(ca_card_not_after(card) == NOW + 3600000);
    assert_true(ca_card_sequence(card) == 42);
    assert_true(ca_card_created_at(card) == NOW);
    assert_true(ca_card_valid_at(card, NOW));
    assert_false(ca_card_valid_at(card, NOW + 3600001));
    assert_false(ca_card_valid_at(card, NOW - 1001));

    /* capabilities come back sorted by name */
    assert_int_equal(ca_card_capability_count(card), 3);
    ca_card_capability c;
    assert_ok(ca_card_capability_at(card, 0, &c, sizeof(ca_card_capability)));
    assert_string_equal(c.name, "img.resize");
    assert_true(c.price == 7 && c.latency_ms == 0);
    assert_ok(ca_card_capability_at(card, 1, &c, sizeof(ca_card_capability)));
    assert_string_equal(c.name, "llm.summarize");
    assert_ok(ca_card_capability_at(card, 2, &c, sizeof(ca_card_capability)));
    assert_string_equal(c.name, "llm.translate.en-fr");
    assert_true(c.price == 120 && c.latency_ms == 500);
    assert_status(CA_ERR_NOT_FOUND, ca_card_capability_at(card, 3, &c, sizeof(ca_card_capability)));
    assert_ok(ca_card_find_capability(card, "llm.summarize", 13, &c, sizeof(ca_card_capability)));
    assert_true(c.price == 50 && c.latency_ms == 2000);
    assert_status(CA_ERR_NOT_FOUND,
                  ca_card_find_capability(card, "llm", 3, &c, sizeof(ca_card_capability)));
    assert_status(CA_ERR_NOT_FOUND,
                  ca_card_find_capability(card, "zzz", 3, &c, sizeof(ca_card_capability)));
    ca_card_free(card);

    /* the order of the caller's array does not change the bytes */
    ca_card_capability rev[3] = {caps3[2], caps3[0], caps3[1]};
    p.capabilities = rev;
    p.capability_size = sizeof(ca_card_capability);
    uint8_t buf2[2048];
    size_t len2 = sign_card(id, &p, buf2, sizeof buf2);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);

    /* time window */
    assert_status(CA_ERR_NOT_YET_VALID, ca_card_open(&card, buf, len, NOW - 1001, NULL));
    assert_null(card);
    ca_card_free(NULL);
    ca_identity_free(id);
}

static void test_builder_rejects(void **state)
{
    (void)state;
    ca_identity *id = make_id(2);
    ca_card_params p;
    uint8_t buf[4096];
    size_t len;
    fill_params(&p);
    p.name = "";
    assert_status(CA_ERR_LIMIT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    fill_params(&p);
    p.name = "bad \xff utf8";
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    fill_params(&p);
    p.endpoint = NULL;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    fill_params(&p);
    p.not_after = p.not_before;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    fill_params(&p);
    p.capability_count = 0;
    assert_status(CA_ERR_LIMIT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    fill_params(&p);
    ca_card_capability dup[2] = {{"a.b", 1, 0}, {"a.b", 2, 0}};
    p.capabilities = dup;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = 2;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    ca_card_capability badcap[1] = {{"LLM", 1, 0}};
    p.capabilities = badcap;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = 1;
    assert_status(CA_ERR_BAD_CAPABILITY, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    fill_params(&p);
    p.version = 99;
    assert_status(CA_ERR_UNSUPPORTED, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_UNSUPPORTED, ca_card_params_init(&p, 99));
    /* the maximum number of capabilities fits */
    fill_params(&p);
    static ca_card_capability many[CA_CARD_CAPABILITIES_MAX + 1];
    static char names[CA_CARD_CAPABILITIES_MAX + 1][8];
    for (size_t i = 0; i <= CA_CARD_CAPABILITIES_MAX; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        many[i] = (ca_card_capability){names[i], i, i};
    }
    p.capabilities = many;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = CA_CARD_CAPABILITIES_MAX;
    assert_ok(ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    p.capability_count = CA_CARD_CAPABILITIES_MAX + 1;
    assert_status(CA_ERR_LIMIT, ca_card_sign(id, &p, buf, sizeof buf, &len, NULL));
    ca_identity_free(id);
}

/* Hand-made bodies the strict decoder must refuse. */
static size_t body_with(uint8_t *buf, size_t cap, int variant)
{
    cai_wire_writer w;
    cai_ww_init(&w, buf, cap);
    cai_ww_map(&w, variant == 1 ? 8 : 7);
    cai_ww_kstr(&w, 0, "n", 1);
    if (variant == 1)
        cai_ww_kstr(&w, 1, "", 0); /* empty description must be omitted */
    cai_ww_kstr(&w, 2, "e", 1);
    cai_ww_kuint(&w, 3, 1);
    cai_ww_kuint(&w, 4, variant == 2 ? 9 : 1); /* 2: empty window */
    cai_ww_kuint(&w, 5, 9);
    cai_ww_kuint(&w, 6, 1);
    cai_ww_uint(&w, 7);
    cai_ww_array(&w, 2);
    const char *a = variant == 3 ? "b" : "a", *b = "b"; /* 3: not ascending */
    cai_ww_map(&w, variant == 4 ? 3 : 2);
    cai_ww_kstr(&w, 0, a, 1);
    cai_ww_kuint(&w, 1, 5);
    if (variant == 4)
        cai_ww_kuint(&w, 2, 0); /* 4: latency 0 must be omitted */
    cai_ww_map(&w, 2);
    cai_ww_kstr(&w, 0, variant == 5 ? "B" : b, 1); /* 5: bad grammar */
    cai_ww_kuint(&w, 1, 5);
    if (variant == 6)
        cai_ww_uint(&w, 0); /* 6: trailing byte */
    size_t len = 0;
    assert_ok(cai_ww_finish(&w, &len));
    return len;
}

static void test_decoder_strict(void **state)
{
    (void)state;
    uint8_t buf[256];
    ca_card *card = NULL;
    size_t len = body_with(buf, sizeof buf, 0);
    assert_ok(cai_card_body_decode(&card, buf, len));
    assert_string_equal(ca_card_description(card), "");
    ca_card_free(card);
    for (size_t cut = 0; cut < len; cut++)
        assert_status(CA_ERR_MALFORMED, cai_card_body_decode(&card, buf, cut));
    static const ca_status expect[] = {CA_OK,
                                       CA_ERR_MALFORMED,
                                       CA_ERR_MALFORMED,
                                       CA_ERR_MALFORMED,
                                       CA_ERR_MALFORMED,
                                       CA_ERR_BAD_CAPABILITY,
                                       CA_ERR_MALFORMED};
    for (int v = 1; v <= 6; v++) {
        len = body_with(buf, sizeof buf, v);
        ca_status st = cai_card_body_decode(&card, buf, len);
        if (st != expect[v])
            fail_msg("variant %d: %s (%s)", v, ca_status_str(st), ca_last_error());
        assert_null(card);
    }
}

static void test_parse_checks_envelope(void **state)
{
    (void)state;
    ca_identity *id = make_id(3);
    uint8_t body[256], env[1024];
    size_t blen = body_with(body, sizeof body, 0), elen = 0;
    ca_envelope_params ep;
    assert_ok(ca_envelope_params_init(&ep, CA_ENVELOPE_PARAMS_VERSION));
    ep.kind = CA_KIND_APP_MIN;
    ep.created_at = NOW;
    ep.expires_at = NOW + 1000;
    assert_ok(ca_envelope_sign(id, &ep, body, blen, env, sizeof env, &elen, NULL));
    ca_envelope *e = NULL;
    ca_card *card = NULL;
    assert_ok(ca_envelope_open(&e, env, elen, NOW, NULL));
    assert_status(CA_ERR_WRONG_KIND, ca_card_parse(&card, e));
    ca_envelope_free(e);
    /* a card with a parent is refused */
    ca_hash parent = {{1}};
    ep.kind = CA_KIND_CARD;
    ep.parent = &parent;
    assert_ok(ca_envelope_sign(id, &ep, body, blen, env, sizeof env, &elen, NULL));
    assert_ok(ca_envelope_open(&e, env, elen, NOW, NULL));
    assert_status(CA_ERR_MALFORMED, ca_card_parse(&card, e));
    ca_envelope_free(e);
    /* the card's own envelope (expiring at not_after, 9): window 1..9 */
    ep.parent = NULL;
    ep.created_at = 0;
    ep.expires_at = 9;
    assert_ok(ca_envelope_sign(id, &ep, body, blen, env, sizeof env, &elen, NULL));
    assert_status(CA_ERR_NOT_YET_VALID, ca_card_open(&card, env, elen, 0, NULL));
    assert_ok(ca_card_open(&card, env, elen, 5, NULL));
    ca_card_free(card);
    assert_status(CA_ERR_EXPIRED, ca_card_open(&card, env, elen, NOW, NULL));
    assert_ok(ca_envelope_decode(&e, env, elen, NULL));
    assert_ok(ca_card_parse(&card, e));
    assert_string_equal(ca_card_name(card), "n");
    ca_card_free(card);
    ca_envelope_free(e);
    /* a flipped signature byte fails in ca_card_open */
    env[elen - 1] ^= 1;
    assert_status(CA_ERR_BAD_SIGNATURE, ca_card_open(&card, env, elen, NOW, NULL));
    ca_identity_free(id);
}

/* Signs `body` as a card envelope with the given expiry and flags; decodes it. */
static ca_envelope *card_envelope(const ca_identity *id, const uint8_t *body, size_t blen,
                                  uint64_t expires_at, uint32_t flags)
{
    ca_envelope_params ep;
    assert_ok(ca_envelope_params_init(&ep, CA_ENVELOPE_PARAMS_VERSION));
    ep.kind = CA_KIND_CARD;
    ep.created_at = NOW;
    ep.expires_at = expires_at;
    ep.flags = flags;
    uint8_t env[4096];
    size_t elen = 0;
    assert_ok(ca_envelope_sign(id, &ep, body, blen, env, sizeof env, &elen, NULL));
    ca_envelope *e = NULL;
    assert_ok(ca_envelope_decode(&e, env, elen, NULL));
    assert_int_equal(ca_envelope_flags(e), flags);
    return e;
}

/*
 * A card has one signed encoding, the one ca_card_sign writes: the envelope
 * expires at not_after and carries the body as it is. An envelope expiring
 * elsewhere (its lifetime would not bound the card's window) or a compressed
 * body is refused, so the parsed card re-encodes to the very bytes it came from.
 */
static void test_parse_one_encoding_per_card(void **state)
{
    (void)state;
    ca_identity *id = make_id(5);
    ca_card_params p;
    fill_params(&p);
    char desc[CA_CARD_DESCRIPTION_MAX + 1];
    memset(desc, 'x', CA_CARD_DESCRIPTION_MAX); /* compresses well */
    desc[CA_CARD_DESCRIPTION_MAX] = '\0';
    p.description = desc;
    uint8_t body[2048], again[4096];
    size_t blen = 0, n = 0;
    assert_ok(cai_card_body_encode(&p, body, sizeof body, &blen));
    ca_card *card = NULL;

    /* the signer's envelope: parses, and re-encodes from the card's values to its bytes */
    ca_envelope *e = card_envelope(id, body, blen, p.not_after, 0);
    assert_ok(ca_card_parse(&card, e));
    ca_signature sig;
    ca_envelope_signature(e, &sig);
    assert_ok(cai_card_reencode(card, &sig, again, sizeof again, &n));
    uint8_t raw[4096];
    size_t rn = 0;
    assert_ok(ca_envelope_encoded(e, raw, sizeof raw, &rn));
    assert_int_equal(n, rn);
    assert_memory_equal(again, raw, n);
    ca_card_free(card);
    ca_envelope_free(e);

    /* an envelope expiring after (or before) not_after */
    static const int64_t shift[] = {1, -1, 365LL * 86400000};
    for (size_t i = 0; i < sizeof shift / sizeof shift[0]; i++) {
        e = card_envelope(id, body, blen, (uint64_t)((int64_t)p.not_after + shift[i]), 0);
        assert_status(CA_ERR_MALFORMED, ca_card_parse(&card, e));
        assert_null(card);
        assert_non_null(strstr(ca_last_error(), "not_after"));
        ca_envelope_free(e);
    }

    /* a compressed body */
    e = card_envelope(id, body, blen, p.not_after, CA_ENVELOPE_COMPRESS);
    assert_status(CA_ERR_MALFORMED, ca_card_parse(&card, e));
    assert_null(card);
    assert_non_null(strstr(ca_last_error(), "compressed"));
    ca_envelope_free(e);
    ca_identity_free(id);
}

static void test_a2a_json(void **state)
{
    (void)state;
    ca_identity *id = make_id(4);
    ca_card_params p;
    fill_params(&p);
    uint8_t buf[2048];
    size_t len = sign_card(id, &p, buf, sizeof buf);
    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, len, NOW, NULL));
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_card_to_a2a_json(card, NULL, 0, &need));
    char *json = malloc(need + 1);
    assert_non_null(json);
    size_t got = 0;
    char small[8] = "xxxxxxx";
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_card_to_a2a_json(card, small, need, &got));
    assert_string_equal(small, "xxxxxxx"); /* nothing written when too small */
    assert_ok(ca_card_to_a2a_json(card, json, need + 1, &got));
    assert_int_equal(got, need);
    assert_int_equal(strlen(json), need);
    assert_non_null(strstr(json, "\"name\":\"Translator \\\"7\\\"\""));
    assert_non_null(strstr(json, "\"description\":\"Fast EN\xe2\x86\x92"
                                 "FR translation\\nand more\""));
    assert_non_null(strstr(json, "\"url\":\"nats://agents.translate.7\""));
    assert_non_null(strstr(json, "\"version\":\"42\""));
    assert_non_null(
        strstr(json, "{\"id\":\"llm.translate.en-fr\",\"name\":\"llm.translate.en-fr\""));
    assert_non_null(strstr(json, "\"tags\":[\"llm\",\"translate\",\"en-fr\"]"));
    assert_non_null(strstr(json, "\"stake\":\"5000000\""));
    assert_non_null(strstr(json, "\"agent\":\"did:key:z6Mk"));
    assert_non_null(strstr(json, "{\"skill\":\"img.resize\",\"price\":\"7\"}"));
    /* no raw control characters leak into the JSON */
    for (size_t i = 0; i < got; i++)
        assert_true((unsigned char)json[i] >= 0x20);
    free(json);
    ca_card_free(card);
    ca_identity_free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capability_grammar),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_builder_rejects),
        cmocka_unit_test(test_decoder_strict),
        cmocka_unit_test(test_parse_checks_envelope),
        cmocka_unit_test(test_parse_one_encoding_per_card),
        cmocka_unit_test(test_a2a_json),
    };
    return cmocka_run_group_tests_name("card", tests, NULL, NULL);
}
