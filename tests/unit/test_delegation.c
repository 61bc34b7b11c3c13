/*
 * Delegations: capability patterns, sign/decode round trip and strictness,
 * chain verification (every widening refused, with its own status, in the
 * documented order), revocations and the revocation set, and a random test
 * against an independent model of the rules.
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "delegation/delegation_internal.h"
#include "test_util.h"
#include "wire/wire.h"

#define NOW   1700000000000ull
#define HOUR  3600000ull
#define NKEYS 12
#define BUF   2048

static ca_identity *keys[NKEYS];
static ca_agent_id ids[NKEYS];

static int setup(void **state)
{
    (void)state;
    return test_keys_new(keys, ids, NKEYS, 0xde, 0x1e);
}

static int teardown(void **state)
{
    (void)state;
    return test_keys_free(keys, NKEYS);
}

/* One link's terms. */
typedef struct terms {
    const char *caps[CA_DELEGATION_CAPABILITIES_MAX];
    size_t ncaps;
    uint64_t total, task, nb, exp, nonce;
} terms;

static void params_of(const terms *t, int audience, const ca_hash *parent, ca_delegation_params *p)
{
    assert_ok(ca_delegation_params_init(p, CA_DELEGATION_PARAMS_VERSION));
    p->audience = &ids[audience];
    p->capabilities = t->caps;
    p->capability_count = t->ncaps;
    p->total_cap = t->total;
    p->task_cap = t->task;
    p->not_before = t->nb;
    p->expires_at = t->exp;
    p->nonce = t->nonce;
    p->parent = parent;
    p->created_at = NOW - HOUR;
}

/* Signs issuer -> audience and decodes it (open when `open`), id in *id. */
static ca_delegation *link_make(int issuer, int audience, const terms *t, const ca_hash *parent,
                                int open, ca_hash *id)
{
    ca_delegation_params p;
    params_of(t, audience, parent, &p);
    uint8_t buf[BUF];
    size_t len = 0;
    assert_ok(ca_delegation_sign(keys[issuer], &p, buf, sizeof buf, &len, id));
    ca_delegation *d = NULL;
    if (open)
        assert_ok(ca_delegation_open(&d, buf, len));
    else
        assert_ok(ca_delegation_decode(&d, buf, len));
    return d;
}

static const terms base_terms = {{"llm.*", "img.resize"}, 2, 1000, 100, NOW - HOUR,
                                 NOW + 24 * HOUR,         7};

/* A chain keys[0] -> keys[1] -> ... -> keys[n] with the terms given per link. */
static void chain_make(ca_delegation **chain, size_t n, const terms *t, int open)
{
    ca_hash prev;
    for (size_t i = 0; i < n; i++) {
        ca_hash id;
        chain[i] = link_make((int)i, (int)i + 1, &t[i], i > 0 ? &prev : NULL, open, &id);
        prev = id;
    }
}

static void chain_free(ca_delegation **chain, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ca_delegation_free(chain[i]);
}

static ca_status verify(ca_delegation **chain, size_t n, uint64_t now,
                        const ca_delegation_verify_options *o)
{
    return ca_delegation_chain_verify((const ca_delegation *const *)chain, n, now, o, NULL);
}

/* ---- patterns ---- */

static void test_patterns(void **state)
{
    (void)state;
    static const char *good[] = {"*", "a", "a.*", "llm.translate.*", "a.b.c.d.e.f.g.h"};
    static const char *bad[] = {"", "**", ".*", "a.", "a*", "a.**", "*.a", "A.*", "a.*.b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_ok(ca_capability_pattern_check(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_status(CA_ERR_BAD_CAPABILITY, ca_capability_pattern_check(bad[i], strlen(bad[i])));
    assert_status(CA_ERR_BAD_CAPABILITY, ca_capability_pattern_check(NULL, 0));
    assert_int_equal(ca_capability_pattern_max(), CA_CAPABILITY_MAX + 2);

    static const struct {
        const char *outer, *inner;
        int covers;
    } cases[] = {
        {"*", "*", 1},       {"*", "a.*", 1},
        {"*", "a", 1},       {"a.*", "*", 0},
        {"a.*", "a.*", 1},   {"a.*", "a.b", 1},
        {"a.*", "a.b.*", 1}, {"a.*", "a", 0},
        {"a.*", "ab", 0},    {"a.*", "ab.c", 0},
        {"a.*", "ab.*", 0},  {"a.b.*", "a.*", 0},
        {"a", "a", 1},       {"a", "a.*", 0},
        {"a", "a.b", 0},     {"a", "*", 0},
        {"a.b", "a.b", 1},   {"a.b", "a.bc", 0},
        {"a.b", "a", 0},     {"llm.*", "llm.translate.en-fr", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = ca_capability_pattern_covers(cases[i].outer, strlen(cases[i].outer),
                                               cases[i].inner, strlen(cases[i].inner));
        if (got != cases[i].covers)
            fail_msg("covers(%s, %s) = %d", cases[i].outer, cases[i].inner, got);
    }
    assert_int_equal(ca_capability_pattern_covers(NULL, 0, "a", 1), 0);
    assert_int_equal(ca_capability_pattern_covers("*", 1, NULL, 0), 0);
}

/* ---- signing and decoding ---- */

static void test_round_trip(void **state)
{
    (void)state;
    terms t = {{"llm.*", "img.resize", "*"}, 3, 5000, 250, NOW, NOW + HOUR, 99};
    ca_delegation_params p;
    ca_hash parent;
    memset(parent.bytes, 0x5a, sizeof parent.bytes);
    params_of(&t, 3, &parent, &p);
    uint8_t buf[BUF];
    size_t len = 0;
    ca_hash id;
    assert_ok(ca_delegation_sign(keys[2], &p, buf, sizeof buf, &len, &id));
    assert_true(len <= ca_envelope_bound(1200));

    ca_delegation *d = NULL;
    assert_ok(ca_delegation_decode(&d, buf, len));
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    assert_ok(ca_delegation_get(d, &info));
    assert_memory_equal(info.issuer.bytes, ids[2].bytes, 32);
    assert_memory_equal(info.audience.bytes, ids[3].bytes, 32);
    assert_memory_equal(info.id.bytes, id.bytes, 32);
    assert_memory_equal(info.parent.bytes, parent.bytes, 32);
    assert_int_equal(info.has_parent, 1);
    assert_int_equal(info.signature_checked, 0);
    assert_int_equal(info.created_at, NOW - HOUR);
    assert_int_equal(info.not_before, NOW);
    assert_int_equal(info.expires_at, NOW + HOUR);
    assert_int_equal(info.total_cap, 5000);
    assert_int_equal(info.task_cap, 250);
    assert_int_equal(info.nonce, 99);
    assert_int_equal(info.capability_count, 3);
    /* Byte order: "*" (0x2a) < "img.resize" < "llm.*". */
    assert_string_equal(ca_delegation_capability(d, 0), "*");
    assert_string_equal(ca_delegation_capability(d, 1), "img.resize");
    assert_string_equal(ca_delegation_capability(d, 2), "llm.*");
    assert_null(ca_delegation_capability(d, 3));
    assert_null(ca_delegation_capability(NULL, 0));

    uint8_t again[BUF];
    size_t alen = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_delegation_encoded(d, NULL, 0, &alen));
    assert_int_equal(alen, len);
    assert_ok(ca_delegation_encoded(d, again, sizeof again, &alen));
    assert_memory_equal(again, buf, len);
    /* Encoded afresh from the public values and the signature: the same bytes. */
    ca_delegation_params q;
    const char *caps[CA_DELEGATION_CAPABILITIES_MAX];
    assert_ok(ca_delegation_params_init(&q, CA_DELEGATION_PARAMS_VERSION));
    for (size_t i = 0; i < info.capability_count; i++)
        caps[i] = ca_delegation_capability(d, i);
    q.audience = &info.audience;
    q.capabilities = caps;
    q.capability_count = info.capability_count;
    q.total_cap = info.total_cap;
    q.task_cap = info.task_cap;
    q.not_before = info.not_before;
    q.expires_at = info.expires_at;
    q.nonce = info.nonce;
    q.parent = info.has_parent ? &info.parent : NULL;
    q.created_at = info.created_at;
    ca_envelope *sig_env = NULL;
    assert_ok(ca_envelope_decode(&sig_env, buf, len, NULL));
    ca_signature sig;
    ca_envelope_signature(sig_env, &sig);
    ca_envelope_free(sig_env);
    assert_ok(cai_delegation_encode_signed(&q, &info.issuer, &sig, again, sizeof again, &alen));
    assert_int_equal(alen, len);
    assert_memory_equal(again, buf, len);

    /* The envelope: kind, sender, recipient, parent, expiry. */
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, buf, len, NULL));
    assert_int_equal(ca_envelope_kind(env), CA_KIND_DELEGATION);
    assert_string_equal(ca_kind_name(CA_KIND_DELEGATION), "delegation");
    assert_string_equal(ca_kind_name(CA_KIND_REVOCATION), "revocation");
    assert_int_equal(ca_envelope_expires_at(env), NOW + HOUR);
    ca_envelope_free(env);

    ca_delegation_free(d);
    assert_ok(ca_delegation_open(&d, buf, len));
    assert_ok(ca_delegation_get(d, &info));
    assert_int_equal(info.signature_checked, 1);

    /* grants: a name or a narrower pattern under one of the patterns. */
    assert_ok(ca_delegation_grants(d, "llm.x.y", 7));
    assert_ok(ca_delegation_grants(d, "*", 1));
    ca_delegation_free(d);

    t.caps[0] = "llm.*";
    t.ncaps = 1;
    d = link_make(0, 1, &t, NULL, 1, NULL);
    assert_ok(ca_delegation_grants(d, "llm.translate.*", 15));
    assert_status(CA_ERR_DELEGATION_CAPABILITY, ca_delegation_grants(d, "llm", 3));
    assert_status(CA_ERR_DELEGATION_CAPABILITY, ca_delegation_grants(d, "*", 1));
    assert_status(CA_ERR_BAD_CAPABILITY, ca_delegation_grants(d, "LLM.x", 5));
    assert_status(CA_ERR_BAD_CAPABILITY, ca_delegation_grants(d, NULL, 0));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_delegation_grants(NULL, "llm.x", 5));
    /* A version-0 or future info struct is refused. */
    info.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_delegation_get(d, &info));
    info.version = CA_DELEGATION_INFO_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_delegation_get(d, &info));
    ca_delegation_free(d);
    ca_delegation_free(NULL);
    assert_int_equal(ca_delegation_max_depth(), CA_DELEGATION_MAX_DEPTH);
    assert_int_equal(ca_delegation_capabilities_max(), CA_DELEGATION_CAPABILITIES_MAX);
}

static void test_sign_refusals(void **state)
{
    (void)state;
    ca_delegation_params p;
    uint8_t buf[BUF];
    size_t len = 0;
    terms t = base_terms;
    params_of(&t, 1, NULL, &p);
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(NULL, &p, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], NULL, buf, sizeof buf, &len, NULL));
    p.audience = NULL;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    p.audience = &ids[0];
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    params_of(&t, 1, NULL, &p);
    p.version = CA_DELEGATION_PARAMS_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_UNSUPPORTED, ca_delegation_params_init(&p, 0));

    params_of(&t, 1, NULL, &p);
    p.capability_count = 0;
    assert_status(CA_ERR_LIMIT, ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    p.capability_count = CA_DELEGATION_CAPABILITIES_MAX + 1;
    assert_status(CA_ERR_LIMIT, ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    terms bad = base_terms;
    bad.caps[1] = "Img";
    params_of(&bad, 1, NULL, &p);
    assert_status(CA_ERR_BAD_CAPABILITY,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    bad.caps[1] = NULL;
    params_of(&bad, 1, NULL, &p);
    assert_status(CA_ERR_BAD_CAPABILITY,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    bad.caps[1] = "llm.*";
    params_of(&bad, 1, NULL, &p);
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));

    params_of(&t, 1, NULL, &p);
    p.task_cap = p.total_cap + 1;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    params_of(&t, 1, NULL, &p);
    p.expires_at = p.not_before;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    params_of(&t, 1, NULL, &p);
    p.not_before = 0;
    p.expires_at = p.created_at;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));

    /* Size query, then the exact buffer. */
    params_of(&t, 1, NULL, &p);
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_delegation_sign(keys[0], &p, NULL, 0, &len, NULL));
    size_t need = len;
    assert_ok(ca_delegation_sign(keys[0], &p, buf, need, &len, NULL));
    assert_int_equal(len, need);

    /* The most a body holds still fits the documented bound. */
    static char names[CA_DELEGATION_CAPABILITIES_MAX][CA_CAPABILITY_PATTERN_MAX + 1];
    terms big = base_terms;
    for (size_t i = 0; i < CA_DELEGATION_CAPABILITIES_MAX; i++) {
        memset(names[i], 'a', CA_CAPABILITY_MAX);
        names[i][0] = (char)('a' + i);
        memcpy(names[i] + CA_CAPABILITY_MAX, ".*", 3);
        big.caps[i] = names[i];
    }
    big.ncaps = CA_DELEGATION_CAPABILITIES_MAX;
    big.total = big.task = UINT64_MAX;
    big.nonce = UINT64_MAX;
    params_of(&big, 1, NULL, &p);
    assert_ok(ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    assert_true(len <= ca_envelope_bound(1200));
}

/* An envelope of kind `kind` around `body` (for bodies and headers sign would refuse). */
static size_t raw_envelope(uint32_t kind, const ca_agent_id *recipient, uint32_t flags,
                           const uint8_t *body, size_t body_len, uint64_t expires_at, uint8_t *out)
{
    ca_envelope_params ep;
    assert_ok(ca_envelope_params_init(&ep, CA_ENVELOPE_PARAMS_VERSION));
    ep.kind = kind;
    ep.recipient = recipient;
    ep.created_at = NOW - HOUR;
    ep.expires_at = expires_at;
    ep.flags = flags;
    size_t len = 0;
    assert_ok(ca_envelope_sign(keys[0], &ep, body, body_len, out, BUF, &len, NULL));
    return len;
}

/* A body written field by field. */
static size_t raw_body(const char *const *caps, size_t n, uint64_t total, uint64_t task,
                       uint64_t nb, uint8_t *out)
{
    cai_wire_writer w;
    cai_ww_init(&w, out, 1024);
    cai_ww_map(&w, 5);
    cai_ww_uint(&w, 0);
    cai_ww_array(&w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        cai_ww_str(&w, caps[i], strlen(caps[i]));
    cai_ww_kuint(&w, 1, total);
    cai_ww_kuint(&w, 2, task);
    cai_ww_kuint(&w, 3, nb);
    cai_ww_kuint(&w, 4, 1);
    size_t len = 0;
    assert_ok(cai_ww_finish(&w, &len));
    return len;
}

static void test_decode_strict(void **state)
{
    (void)state;
    uint8_t body[1024], env[BUF];
    const char *ok_caps[] = {"a", "b.*"};
    size_t bl = raw_body(ok_caps, 2, 10, 5, NOW, body);
    size_t el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    ca_delegation *d = NULL;
    assert_ok(ca_delegation_open(&d, env, el));
    ca_delegation_free(d);

    /* Envelope shape. */
    el = raw_envelope(CA_KIND_CARD, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_WRONG_KIND, ca_delegation_decode(&d, env, el));
    assert_null(d);
    el = raw_envelope(CA_KIND_DELEGATION, NULL, 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    el = raw_envelope(CA_KIND_DELEGATION, &ids[0], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], CA_ENVELOPE_COMPRESS, body, bl, NOW + HOUR, env);
    ca_envelope *e = NULL;
    assert_ok(ca_envelope_decode(&e, env, el, NULL));
    int compressed = ca_envelope_flags(e) != 0;
    ca_envelope_free(e);
    if (compressed)
        assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));

    /* Body rules. */
    const char *unsorted[] = {"b.*", "a"};
    bl = raw_body(unsorted, 2, 10, 5, NOW, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    const char *dup[] = {"a", "a"};
    bl = raw_body(dup, 2, 10, 5, NOW, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    const char *badpat[] = {"a*"};
    bl = raw_body(badpat, 1, 10, 5, NOW, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_BAD_CAPABILITY, ca_delegation_decode(&d, env, el));
    bl = raw_body(ok_caps, 0, 10, 5, NOW, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    bl = raw_body(ok_caps, 2, 10, 11, NOW, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    bl = raw_body(ok_caps, 2, 10, 5, NOW + HOUR, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    /* A trailing byte in the body, an unknown key. */
    bl = raw_body(ok_caps, 2, 10, 5, NOW, body);
    body[bl] = 0;
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl + 1, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    body[0] = 0x86; /* six entries */
    body[bl] = 5;
    body[bl + 1] = 0;
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl + 2, NOW + HOUR, env);
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, env, el));
    /* Not an envelope at all; NULL arguments. */
    assert_status(CA_ERR_MALFORMED, ca_delegation_decode(&d, body, 3));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_delegation_decode(NULL, body, 3));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_delegation_decode(&d, NULL, 3));

    /* A damaged signature decodes, but does not open. */
    bl = raw_body(ok_caps, 2, 10, 5, NOW, body);
    el = raw_envelope(CA_KIND_DELEGATION, &ids[1], 0, body, bl, NOW + HOUR, env);
    env[el - 1] ^= 1;
    assert_ok(ca_delegation_decode(&d, env, el));
    ca_delegation_free(d);
    assert_status(CA_ERR_BAD_SIGNATURE, ca_delegation_open(&d, env, el));
    assert_null(d);
}

/* A chain signed link by link may hand the parent's id as the new id's output (regression:
 * ca_envelope_sign wrote id_out before encoding, so the parent field took the new id). */
static void test_sign_parent_is_id_out(void **state)
{
    (void)state;
    ca_hash h;
    ca_delegation *root = link_make(0, 1, &base_terms, NULL, 1, &h);
    ca_hash root_id = h;
    ca_delegation_params p;
    params_of(&base_terms, 2, &h, &p);
    uint8_t buf[BUF];
    size_t len = 0;
    assert_ok(ca_delegation_sign(keys[1], &p, buf, sizeof buf, &len, &h));
    ca_delegation *d = NULL;
    assert_ok(ca_delegation_open(&d, buf, len));
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    assert_ok(ca_delegation_get(d, &info));
    assert_memory_equal(info.parent.bytes, root_id.bytes, 32);
    assert_memory_equal(info.id.bytes, h.bytes, 32);
    const ca_delegation *chain[2] = {root, d};
    assert_ok(ca_delegation_chain_verify(chain, 2, NOW, NULL, NULL));
    ca_delegation_free(d);
    ca_delegation_free(root);
}

/* ---- chains ---- */

static void narrowing_terms(terms *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        t[i] = base_terms;
        t[i].total = 1000 - 100 * i;
        t[i].task = 100 - 10 * i;
        t[i].nb = NOW - HOUR + i;
        t[i].exp = NOW + 24 * HOUR - i;
    }
}

static void test_chain_ok(void **state)
{
    (void)state;
    terms t[CA_DELEGATION_MAX_DEPTH];
    narrowing_terms(t, CA_DELEGATION_MAX_DEPTH);
    t[1].caps[0] = "llm.translate.*";
    t[2].caps[0] = "llm.translate.en-fr";
    t[2].ncaps = 1;
    for (size_t i = 3; i < CA_DELEGATION_MAX_DEPTH; i++)
        t[i] = t[2], t[i].total = t[2].total, t[i].nb = t[2].nb, t[i].exp = t[2].exp;
    ca_delegation *chain[CA_DELEGATION_MAX_DEPTH];
    chain_make(chain, 4, t, 0);
    ca_delegation_chain_info info = {.version = CA_DELEGATION_CHAIN_INFO_VERSION};
    assert_ok(ca_delegation_chain_verify((const ca_delegation *const *)chain, 4, NOW, NULL, &info));
    assert_memory_equal(info.delegator.bytes, ids[0].bytes, 32);
    assert_memory_equal(info.delegate.bytes, ids[4].bytes, 32);
    ca_delegation_info li = {.version = CA_DELEGATION_INFO_VERSION};
    assert_ok(ca_delegation_get(chain[0], &li));
    assert_memory_equal(info.root.bytes, li.id.bytes, 32);
    assert_ok(ca_delegation_get(chain[3], &li));
    assert_memory_equal(info.leaf.bytes, li.id.bytes, 32);
    assert_int_equal(info.depth, 4);
    assert_int_equal(info.total_cap, t[3].total);
    assert_int_equal(info.task_cap, t[3].task);
    assert_int_equal(info.not_before, t[3].nb);
    assert_int_equal(info.expires_at, t[3].exp);
    /* The window's ends are inside. */
    assert_ok(verify(chain, 4, t[3].nb, NULL));
    assert_ok(verify(chain, 4, t[3].exp, NULL));
    assert_status(CA_ERR_NOT_YET_VALID, verify(chain, 4, t[3].nb - 1, NULL));
    assert_status(CA_ERR_EXPIRED, verify(chain, 4, t[3].exp + 1, NULL));
    /* Equal terms are allowed (narrowing is <=). */
    assert_ok(verify(chain, 1, NOW, NULL));
    chain_free(chain, 4);

    /* The deepest chain passes; one link more is CA_ERR_LIMIT. */
    ca_delegation *deep[CA_DELEGATION_MAX_DEPTH + 1];
    terms dt[CA_DELEGATION_MAX_DEPTH + 1];
    for (size_t i = 0; i <= CA_DELEGATION_MAX_DEPTH; i++)
        dt[i] = base_terms;
    chain_make(deep, CA_DELEGATION_MAX_DEPTH + 1, dt, 1);
    assert_ok(verify(deep, CA_DELEGATION_MAX_DEPTH, NOW, NULL));
    assert_status(CA_ERR_LIMIT, verify(deep, CA_DELEGATION_MAX_DEPTH + 1, NOW, NULL));
    /* A tail is not a chain: its first link names a parent. */
    assert_status(CA_ERR_DELEGATION_PARENT, verify(deep + 1, 2, NOW, NULL));
    chain_free(deep, CA_DELEGATION_MAX_DEPTH + 1);

    /* Arguments. */
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_delegation_chain_verify(NULL, 1, NOW, NULL, NULL));
    const ca_delegation *none[2] = {NULL, NULL};
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_delegation_chain_verify(none, 0, NOW, NULL, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_delegation_chain_verify(none, 1, NOW, NULL, NULL));
}

/* Each widening in turn on link 2 of a depth-3 chain: its own status. */
static void test_chain_widening(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        ca_status want;
    } cases[] = {
        {"capability: a pattern wider than the parent's", CA_ERR_DELEGATION_CAPABILITY},
        {"capability: a name the parent lacks", CA_ERR_DELEGATION_CAPABILITY},
        {"total cap", CA_ERR_DELEGATION_TOTAL_CAP},
        {"per-task cap", CA_ERR_DELEGATION_TASK_CAP},
        {"not_before earlier", CA_ERR_DELEGATION_WINDOW},
        {"expiry later", CA_ERR_DELEGATION_WINDOW},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        terms t[3];
        narrowing_terms(t, 3);
        t[1].caps[0] = "llm.translate.*";
        t[1].ncaps = 1;
        t[2].caps[0] = "llm.translate.en-fr";
        t[2].ncaps = 1;
        switch (c) {
        case 0:
            t[2].caps[0] = "llm.*";
            break;
        case 1:
            t[2].caps[0] = "img.resize"; /* granted by the root, not by link 1 */
            break;
        case 2:
            t[2].total = t[1].total + 1;
            break;
        case 3:
            t[2].task = t[1].task + 1;
            break;
        case 4:
            t[2].nb = t[1].nb - 1;
            break;
        default:
            t[2].exp = t[1].exp + 1;
            break;
        }
        ca_delegation *chain[3];
        chain_make(chain, 3, t, 1);
        ca_status st = verify(chain, 3, NOW, NULL);
        if (st != cases[c].want)
            fail_msg("%s: %s, expected %s", cases[c].what, ca_status_str(st),
                     ca_status_str(cases[c].want));
        assert_status(cases[c].want, verify(chain, 3, NOW, NULL));
        /* The chain above the widening link is still good. */
        assert_ok(verify(chain, 2, NOW, NULL));
        chain_free(chain, 3);
    }
}

static void test_chain_links(void **state)
{
    (void)state;
    terms t[3];
    narrowing_terms(t, 3);
    ca_hash id0, id1, other;
    ca_delegation *chain[3];
    chain[0] = link_make(0, 1, &t[0], NULL, 1, &id0);
    /* Issued by keys[2], who is not link 0's audience (keys[1]). */
    chain[1] = link_make(2, 3, &t[1], &id0, 1, &id1);
    assert_status(CA_ERR_DELEGATION_AUDIENCE, verify(chain, 2, NOW, NULL));
    ca_delegation_free(chain[1]);
    /* Naming another parent, or none. */
    memset(other.bytes, 1, sizeof other.bytes);
    chain[1] = link_make(1, 2, &t[1], &other, 1, &id1);
    assert_status(CA_ERR_DELEGATION_PARENT, verify(chain, 2, NOW, NULL));
    ca_delegation_free(chain[1]);
    chain[1] = link_make(1, 2, &t[1], NULL, 1, &id1);
    assert_status(CA_ERR_DELEGATION_PARENT, verify(chain, 2, NOW, NULL));
    ca_delegation_free(chain[1]);
    /* A root that names a parent. */
    chain[1] = link_make(1, 2, &t[1], &id0, 1, &id1);
    ca_delegation *fake_root = link_make(0, 1, &t[0], &other, 1, NULL);
    const ca_delegation *c2[2] = {fake_root, chain[1]};
    assert_status(CA_ERR_DELEGATION_PARENT, ca_delegation_chain_verify(c2, 2, NOW, NULL, NULL));
    ca_delegation_free(fake_root);
    /* Order matters: the links reversed. */
    const ca_delegation *rev[2] = {chain[1], chain[0]};
    assert_status(CA_ERR_DELEGATION_PARENT, ca_delegation_chain_verify(rev, 2, NOW, NULL, NULL));
    assert_ok(verify(chain, 2, NOW, NULL));
    ca_delegation_free(chain[0]);
    ca_delegation_free(chain[1]);
}

/* Replaces the last byte of the signature of a signed delegation, re-decodes it (not opened). */
static ca_delegation *tampered(const ca_delegation *d)
{
    uint8_t buf[BUF];
    size_t len = 0;
    assert_ok(ca_delegation_encoded(d, buf, sizeof buf, &len));
    buf[len - 1] ^= 0x40;
    ca_delegation *t = NULL;
    assert_ok(ca_delegation_decode(&t, buf, len));
    return t;
}

static void test_chain_signature(void **state)
{
    (void)state;
    terms t[3];
    narrowing_terms(t, 3);
    ca_delegation *chain[3];
    chain_make(chain, 3, t, 0);
    assert_ok(verify(chain, 3, NOW, NULL));
    for (size_t i = 0; i < 3; i++) {
        ca_delegation *keep = chain[i];
        chain[i] = tampered(keep);
        assert_status(CA_ERR_BAD_SIGNATURE, verify(chain, 3, NOW, NULL));
        ca_delegation_free(chain[i]);
        chain[i] = keep;
    }
    /* Cheap checks first: a widening below a forged link is what is reported. */
    ca_delegation *keep = chain[0];
    chain[0] = tampered(keep);
    ca_delegation_free(chain[2]);
    t[2].total = t[1].total + 1;
    ca_delegation_info li = {.version = CA_DELEGATION_INFO_VERSION};
    assert_ok(ca_delegation_get(chain[1], &li));
    chain[2] = link_make(2, 3, &t[2], &li.id, 0, NULL);
    assert_status(CA_ERR_DELEGATION_TOTAL_CAP, verify(chain, 3, NOW, NULL));
    ca_delegation_free(chain[0]);
    chain[0] = keep;
    chain_free(chain, 3);
}

/* ---- revocation ---- */

static size_t revoke(int revoker, const ca_hash *what, uint8_t *buf)
{
    size_t len = 0;
    assert_ok(ca_revocation_sign(keys[revoker], what, NOW, NOW + 48 * HOUR, buf, BUF, &len, NULL));
    return len;
}

/* A lookup callback over a list of (delegation, revoker) pairs; counts its calls. */
typedef struct pairs {
    const ca_hash *d[4];
    const ca_agent_id *r[4];
    size_t n, calls;
} pairs;

static int pairs_lookup(void *ctx, const ca_hash *delegation, const ca_agent_id *revoker)
{
    pairs *p = ctx;
    p->calls++;
    for (size_t i = 0; i < p->n; i++)
        if (memcmp(p->d[i], delegation, 32) == 0 && memcmp(p->r[i], revoker, 32) == 0)
            return 1;
    return 0;
}

static void test_revocation(void **state)
{
    (void)state;
    terms t[4];
    narrowing_terms(t, 4);
    ca_delegation *chain[4];
    chain_make(chain, 4, t, 1);
    ca_hash link_id[4];
    for (size_t i = 0; i < 4; i++) {
        ca_delegation_info li = {.version = CA_DELEGATION_INFO_VERSION};
        assert_ok(ca_delegation_get(chain[i], &li));
        link_id[i] = li.id;
    }

    uint8_t buf[BUF];
    size_t len = revoke(1, &link_id[2], buf);
    ca_revocation_info ri = {.version = CA_REVOCATION_INFO_VERSION};
    assert_ok(ca_revocation_open(buf, len, &ri));
    assert_memory_equal(ri.revoker.bytes, ids[1].bytes, 32);
    assert_memory_equal(ri.delegation.bytes, link_id[2].bytes, 32);
    assert_int_equal(ri.created_at, NOW);
    assert_int_equal(ri.expires_at, NOW + 48 * HOUR);
    uint8_t again[BUF];
    size_t alen = 0;
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, buf, len, NULL));
    ca_signature sig;
    ca_envelope_signature(env, &sig);
    ca_envelope_free(env);
    assert_ok(cai_revocation_reencode(&ri, &sig, again, sizeof again, &alen));
    assert_int_equal(alen, len);
    assert_memory_equal(again, buf, len);

    ca_revocation_set *set = NULL;
    assert_ok(ca_revocation_set_new(&set, 4));
    ca_delegation_verify_options o;
    assert_ok(ca_delegation_verify_options_init(&o, CA_DELEGATION_VERIFY_OPTIONS_VERSION));
    assert_null(o.revocations);
    assert_null(o.lookup);
    o.revocations = set;
    assert_ok(verify(chain, 4, NOW, &o));

    /* keys[1] issued link 1, above link 2: its revocation of link 2 has force on chains through
     * link 2, not on the chain above it. */
    assert_ok(ca_revocation_set_add(set, buf, len));
    assert_ok(ca_revocation_set_add(set, buf, len)); /* held already: no change */
    assert_int_equal(ca_revocation_set_count(set), 1);
    assert_true(ca_revocation_set_contains(set, &link_id[2], &ids[1]));
    assert_false(ca_revocation_set_contains(set, &link_id[2], &ids[2]));
    assert_status(CA_ERR_DELEGATION_REVOKED, verify(chain, 4, NOW, &o));
    assert_status(CA_ERR_DELEGATION_REVOKED, verify(chain, 3, NOW, &o));
    assert_ok(verify(chain, 2, NOW, &o));
    assert_ok(verify(chain, 4, NOW, NULL));

    /* A revocation by a stranger or by an issuer below the link has no force. */
    ca_revocation_set *set2 = NULL;
    assert_ok(ca_revocation_set_new(&set2, 4));
    len = revoke(9, &link_id[1], buf);
    assert_ok(ca_revocation_set_add(set2, buf, len));
    len = revoke(3, &link_id[1], buf); /* keys[3] issued link 3, below link 1 */
    assert_ok(ca_revocation_set_add(set2, buf, len));
    o.revocations = set2;
    assert_ok(verify(chain, 4, NOW, &o));
    /* The root's issuer revokes the root: every chain through it. */
    len = revoke(0, &link_id[0], buf);
    assert_ok(ca_revocation_set_add(set2, buf, len));
    assert_status(CA_ERR_DELEGATION_REVOKED, verify(chain, 1, NOW, &o));
    assert_status(CA_ERR_DELEGATION_REVOKED, verify(chain, 4, NOW, &o));
    /* The issuer of the leaf revokes its own link. */
    len = revoke(3, &link_id[3], buf);
    ca_revocation_set *set3 = NULL;
    assert_ok(ca_revocation_set_new(&set3, 1));
    assert_ok(ca_revocation_set_add(set3, buf, len));
    o.revocations = set3;
    assert_status(CA_ERR_DELEGATION_REVOKED, verify(chain, 4, NOW, &o));
    assert_ok(verify(chain, 3, NOW, &o));
    /* The set is full; a failed add changes nothing. */
    len = revoke(2, &link_id[3], buf);
    assert_status(CA_ERR_LIMIT, ca_revocation_set_add(set3, buf, len));
    assert_int_equal(ca_revocation_set_count(set3), 1);
    /* A damaged revocation is refused by the set. */
    len = revoke(2, &link_id[2], buf);
    buf[len - 1] ^= 1;
    assert_status(CA_ERR_BAD_SIGNATURE, ca_revocation_set_add(set, buf, len));
    assert_int_equal(ca_revocation_set_count(set), 1);

    /* The lookup callback: asked (count * (count + 1)) / 2 times for a good chain. */
    pairs p = {{0}, {0}, 0, 0};
    o.revocations = NULL;
    o.lookup = pairs_lookup;
    o.lookup_ctx = &p;
    assert_ok(verify(chain, 4, NOW, &o));
    assert_int_equal(p.calls, 10);
    p.d[0] = &link_id[3];
    p.r[0] = &ids[2];
    p.n = 1;
    assert_status(CA_ERR_DELEGATION_REVOKED, verify(chain, 4, NOW, &o));
    /* Time comes before revocation; an expired, revoked chain is CA_ERR_EXPIRED. */
    assert_status(CA_ERR_EXPIRED, verify(chain, 4, NOW + 48 * HOUR, &o));

    /* Options version. */
    o.version = CA_DELEGATION_VERIFY_OPTIONS_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, verify(chain, 4, NOW, &o));
    ca_delegation_chain_info ci = {.version = 0};
    assert_status(CA_ERR_UNSUPPORTED, ca_delegation_chain_verify(
                                          (const ca_delegation *const *)chain, 4, NOW, NULL, &ci));

    /* Set arguments. */
    ca_revocation_set *bad = NULL;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_revocation_set_new(&bad, 0));
    assert_status(CA_ERR_LIMIT, ca_revocation_set_new(&bad, CA_REVOCATION_SET_MAX_ENTRIES + 1));
    assert_null(bad);
    assert_int_equal(ca_revocation_set_contains(NULL, &link_id[0], &ids[0]), 0);
    assert_int_equal(ca_revocation_set_count(NULL), 0);
    ca_revocation_set_free(NULL);
    ca_revocation_set_free(set);
    ca_revocation_set_free(set2);
    ca_revocation_set_free(set3);
    chain_free(chain, 4);
}

static void test_revocation_strict(void **state)
{
    (void)state;
    uint8_t buf[BUF];
    size_t len = 0;
    ca_hash h;
    memset(h.bytes, 7, sizeof h.bytes);
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_revocation_sign(keys[0], &h, NOW, NOW, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_revocation_sign(keys[0], NULL, NOW, NOW + 1, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ca_revocation_sign(keys[0], &h, NOW, NOW + 1, NULL, 0, &len, NULL));
    assert_true(len <= ca_envelope_bound(40));
    ca_revocation_info ri = {.version = CA_REVOCATION_INFO_VERSION};
    /* Wrong kind: a delegation is not a revocation. */
    ca_delegation_params p;
    params_of(&base_terms, 1, NULL, &p);
    assert_ok(ca_delegation_sign(keys[0], &p, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_WRONG_KIND, ca_revocation_decode(buf, len, &ri));
    /* A body of another shape, a recipient. */
    uint8_t body[40] = {0x81, 0x00, 0xc4, 0x20};
    memcpy(body + 4, h.bytes, 32);
    len = raw_envelope(CA_KIND_REVOCATION, NULL, 0, body, 36, NOW + 1, buf);
    assert_ok(ca_revocation_open(buf, len, &ri));
    assert_memory_equal(ri.delegation.bytes, h.bytes, 32);
    len = raw_envelope(CA_KIND_REVOCATION, &ids[1], 0, body, 36, NOW + 1, buf);
    assert_status(CA_ERR_MALFORMED, ca_revocation_decode(buf, len, &ri));
    len = raw_envelope(CA_KIND_REVOCATION, NULL, 0, body, 35, NOW + 1, buf);
    assert_status(CA_ERR_MALFORMED, ca_revocation_decode(buf, len, &ri));
    body[36] = 0;
    len = raw_envelope(CA_KIND_REVOCATION, NULL, 0, body, 37, NOW + 1, buf);
    assert_status(CA_ERR_MALFORMED, ca_revocation_decode(buf, len, &ri));
    ri.version = 0;
    len = raw_envelope(CA_KIND_REVOCATION, NULL, 0, body, 36, NOW + 1, buf);
    assert_status(CA_ERR_UNSUPPORTED, ca_revocation_decode(buf, len, &ri));
}

/* ---- random chains against a model ---- */

/*
 * The model judges capability coverage by sets of names over a finite
 * universe: every name of 1..4 segments from {a, b}. The patterns drawn have
 * at most 2 segments before ".*" and names at most 3, so each matches a
 * non-empty part of the universe, and "P covers Q" is "Q's set within P's".
 */
static const char *const pool[] = {"*",     "a",     "b",   "a.*",   "b.*",   "a.a",  "a.b",
                                   "a.a.*", "a.b.*", "b.a", "a.a.b", "b.a.*", "a.b.a"};
#define POOL     (sizeof pool / sizeof pool[0])
#define UNIVERSE 30 /* 2 + 4 + 8 + 16 names */

static void universe_name(int k, char *out)
{
    int len = k < 2 ? 1 : k < 6 ? 2 : k < 14 ? 3 : 4;
    int first = len == 1 ? 0 : len == 2 ? 2 : len == 3 ? 6 : 14;
    int bits = k - first;
    char *o = out;
    for (int s = 0; s < len; s++) {
        if (s > 0)
            *o++ = '.';
        *o++ = (bits >> (len - 1 - s)) & 1 ? 'b' : 'a';
    }
    *o = '\0';
}

/* The set of universe names a pattern matches, as a bit mask. */
static uint32_t model_set(const char *pat)
{
    uint32_t m = 0;
    size_t pl = strlen(pat);
    for (int k = 0; k < UNIVERSE; k++) {
        char name[16];
        universe_name(k, name);
        size_t nl = strlen(name);
        int match;
        if (strcmp(pat, "*") == 0)
            match = 1;
        else if (pl >= 2 && pat[pl - 1] == '*')
            match = nl > pl - 1 && strncmp(name, pat, pl - 1) == 0;
        else
            match = strcmp(name, pat) == 0;
        if (match)
            m |= 1u << k;
    }
    return m;
}

typedef struct xorshift {
    uint64_t s;
} xorshift;

static uint64_t rnd(xorshift *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static uint64_t below(xorshift *r, uint64_t n)
{
    return rnd(r) % n;
}

static void test_random_model(void **state)
{
    (void)state;
    xorshift r = {0x9e3779b97f4a7c15ull};
    size_t outcomes[8] = {0};
    for (int iter = 0; iter < 400; iter++) {
        size_t n = 1 + below(&r, CA_DELEGATION_MAX_DEPTH + 1); /* 9 links: too deep */
        terms t[CA_DELEGATION_MAX_DEPTH + 1];
        int issuer[CA_DELEGATION_MAX_DEPTH + 1];
        ca_delegation *chain[CA_DELEGATION_MAX_DEPTH + 1];
        ca_hash link_id[CA_DELEGATION_MAX_DEPTH + 1];
        int parent_ok[CA_DELEGATION_MAX_DEPTH + 1], root_parent = 0;
        for (size_t i = 0; i < n; i++) {
            terms *x = &t[i];
            memset(x, 0, sizeof *x);
            /* Mostly narrowing choices, sometimes wider ones. */
            size_t k = 1 + below(&r, 3);
            uint32_t used = 0, wide = i > 0 ? 0 : UINT32_MAX;
            for (size_t q = 0; i > 0 && q < t[i - 1].ncaps; q++)
                wide |= model_set(t[i - 1].caps[q]);
            for (size_t c = 0; c < k * 4 && x->ncaps < k; c++) {
                size_t j = below(&r, POOL);
                /* Mostly patterns within the parent's names (then most often covered). */
                if ((used & (1u << j)) || ((model_set(pool[j]) & ~wide) != 0 && below(&r, 6) != 0))
                    continue;
                used |= 1u << j;
                x->caps[x->ncaps++] = pool[j];
            }
            if (x->ncaps == 0)
                x->caps[x->ncaps++] = pool[below(&r, POOL)];
            uint64_t ptotal = i > 0 ? t[i - 1].total : 1000;
            uint64_t ptask = i > 0 ? t[i - 1].task : 100;
            uint64_t pnb = i > 0 ? t[i - 1].nb : NOW - 10 * HOUR;
            uint64_t pexp = i > 0 ? t[i - 1].exp : NOW + 10 * HOUR;
            x->total = below(&r, 8) == 0 ? ptotal + 1 : ptotal - below(&r, ptotal / 4 + 1);
            x->task = below(&r, 8) == 0 ? ptask + 1 : ptask - below(&r, ptask / 4 + 1);
            if (x->task > x->total)
                x->task = x->total;
            x->nb = below(&r, 10) == 0 ? pnb - 1 : pnb + below(&r, HOUR);
            x->exp = below(&r, 10) == 0 ? pexp + 1 : pexp - below(&r, HOUR);
            x->nonce = rnd(&r);
            issuer[i] = (int)i; /* link i goes to keys[i + 1], issued by keys[i] ... */
            if (i > 0 && below(&r, 20) == 0)
                issuer[i] = (int)(i + 2); /* ... or by one who is not the previous audience */
            parent_ok[i] = below(&r, 20) != 0;
        }
        if (below(&r, 30) == 0)
            root_parent = 1;
        for (size_t i = 0; i < n; i++) {
            ca_hash wrong;
            memset(wrong.bytes, 0xee, sizeof wrong.bytes);
            const ca_hash *parent = NULL;
            if (i == 0 && root_parent)
                parent = &wrong;
            else if (i > 0)
                parent = parent_ok[i] ? &link_id[i - 1] : below(&r, 2) ? &wrong : NULL;
            ca_delegation_params p;
            params_of(&t[i], (int)i + 1, parent, &p);
            uint8_t buf[BUF];
            size_t len = 0;
            assert_ok(ca_delegation_sign(keys[issuer[i]], &p, buf, sizeof buf, &len, &link_id[i]));
            assert_ok(ca_delegation_open(&chain[i], buf, len));
        }
        /* Revocations: sometimes one, by a random agent, of a random link. */
        pairs rev = {{0}, {0}, 0, 0};
        size_t rev_link = 0;
        int rev_by = -1;
        if (below(&r, 3) == 0) {
            rev_link = below(&r, n);
            /* An issuer of the chain (above or below the link) or anyone. */
            rev_by = below(&r, 2) ? issuer[below(&r, n)] : (int)below(&r, NKEYS);
            rev.d[0] = &link_id[rev_link];
            rev.r[0] = &ids[rev_by];
            rev.n = 1;
        }
        uint64_t now = NOW - 11 * HOUR + below(&r, 22 * HOUR);
        if (below(&r, 4) != 0 && t[n - 1].exp > t[n - 1].nb)
            now = t[n - 1].nb + below(&r, t[n - 1].exp - t[n - 1].nb + 1);

        /* The model, in the documented order. */
        ca_status want = CA_OK;
        if (n > CA_DELEGATION_MAX_DEPTH)
            want = CA_ERR_LIMIT;
        else if (root_parent)
            want = CA_ERR_DELEGATION_PARENT;
        for (size_t i = 1; i < n && want == CA_OK; i++) {
            uint32_t child = 0;
            for (size_t c = 0; c < t[i].ncaps; c++) {
                uint32_t s = model_set(t[i].caps[c]);
                int covered = 0;
                for (size_t q = 0; q < t[i - 1].ncaps; q++)
                    covered |= (s & ~model_set(t[i - 1].caps[q])) == 0;
                child |= covered ? 0 : 1;
            }
            if (!parent_ok[i])
                want = CA_ERR_DELEGATION_PARENT;
            else if (issuer[i] != (int)i) /* the audience of link i - 1 is keys[i] */
                want = CA_ERR_DELEGATION_AUDIENCE;
            else if (child)
                want = CA_ERR_DELEGATION_CAPABILITY;
            else if (t[i].total > t[i - 1].total)
                want = CA_ERR_DELEGATION_TOTAL_CAP;
            else if (t[i].task > t[i - 1].task)
                want = CA_ERR_DELEGATION_TASK_CAP;
            else if (t[i].nb < t[i - 1].nb || t[i].exp > t[i - 1].exp)
                want = CA_ERR_DELEGATION_WINDOW;
        }
        if (want == CA_OK && now < t[n - 1].nb)
            want = CA_ERR_NOT_YET_VALID;
        if (want == CA_OK && now > t[n - 1].exp)
            want = CA_ERR_EXPIRED;
        if (want == CA_OK && rev_by >= 0)
            for (size_t j = 0; j <= rev_link; j++)
                if (issuer[j] == rev_by)
                    want = CA_ERR_DELEGATION_REVOKED;

        ca_delegation_verify_options o;
        assert_ok(ca_delegation_verify_options_init(&o, CA_DELEGATION_VERIFY_OPTIONS_VERSION));
        o.lookup = pairs_lookup;
        o.lookup_ctx = &rev;
        ca_status got = verify(chain, n, now, &o);
        if (got != want)
            fail_msg("iteration %d (depth %zu): got %s, the model says %s (%s)", iter, n,
                     ca_status_str(got), ca_status_str(want), ca_last_error());
        switch (want) {
        case CA_OK:
            outcomes[0]++;
            break;
        case CA_ERR_DELEGATION_CAPABILITY:
            outcomes[1]++;
            break;
        case CA_ERR_DELEGATION_REVOKED:
            outcomes[2]++;
            break;
        case CA_ERR_DELEGATION_WINDOW:
            outcomes[3]++;
            break;
        default:
            outcomes[4]++;
            break;
        }
        chain_free(chain, n);
    }
    /* The generator reaches acceptance and the main refusals. */
    for (size_t i = 0; i < 5; i++)
        if (outcomes[i] == 0)
            fail_msg("outcome class %zu never reached (%zu %zu %zu %zu %zu)", i, outcomes[0],
                     outcomes[1], outcomes[2], outcomes[3], outcomes[4]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),      cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sign_refusals), cmocka_unit_test(test_decode_strict),
        cmocka_unit_test(test_chain_ok),      cmocka_unit_test(test_chain_widening),
        cmocka_unit_test(test_chain_links),   cmocka_unit_test(test_chain_signature),
        cmocka_unit_test(test_revocation),    cmocka_unit_test(test_revocation_strict),
        cmocka_unit_test(test_random_model),  cmocka_unit_test(test_sign_parent_is_id_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
