/* Signed envelopes: round trips, strictness, compression, sealing, replay guard, vectors. */
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>
#include <zstd.h>

#include "cyberagent.h"
#include "envelope/envelope_internal.h"
#include "identity/identity_internal.h"
#include "test_util.h"
#include "wire/wire.h"

#define T0  1700000000000ull /* fixed "now" in ms */
#define TTL 60000ull

static ca_identity *ident(uint8_t n)
{
    uint8_t seed[32];
    memset(seed, n, sizeof seed);
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

static ca_envelope_params params(uint32_t kind, uint32_t flags)
{
    ca_envelope_params p;
    assert_ok(ca_envelope_params_init(&p, CA_ENVELOPE_PARAMS_VERSION));
    p.kind = kind;
    p.created_at = T0;
    p.expires_at = T0 + TTL;
    p.flags = flags;
    return p;
}

/* Signs into a fresh heap buffer; returns its length. */
static uint8_t *sign_alloc(const ca_identity *signer, const ca_envelope_params *p,
                           const uint8_t *body, size_t body_len, size_t *len, ca_hash *id)
{
    size_t cap = ca_envelope_bound(body_len);
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    assert_ok(ca_envelope_sign(signer, p, body, body_len, buf, cap, len, id));
    assert_true(*len <= cap);
    return buf;
}

/*
 * Test-side encoder for envelopes the library would never write (bad
 * versions, kind 0, explicit zero flags, hand-made bodies), signed properly
 * so that only the decoder's own rules can reject them.
 */
typedef struct craft {
    uint64_t version, kind, created, expires, flags;
    bool recipient, parent, write_flags;
    ca_agent_id recipient_id;
    ca_hash parent_id;
    const uint8_t *body;
    size_t body_len;
} craft;

static craft craft_default(const uint8_t *body, size_t body_len)
{
    craft c = {
        1,       CA_KIND_TASK_REQUEST, T0, T0 + TTL, 0, false, false, false, {{0}}, {{0}}, body,
        body_len};
    return c;
}

static void craft_fields(cai_wire_writer *w, const ca_identity *signer, const craft *c)
{
    ca_agent_id sender;
    ca_identity_id(signer, &sender);
    cai_ww_kuint(w, 0, c->version);
    cai_ww_kuint(w, 1, c->kind);
    cai_ww_kbin(w, 2, sender.bytes, 32);
    if (c->recipient)
        cai_ww_kbin(w, 3, c->recipient_id.bytes, 32);
    cai_ww_kuint(w, 4, c->created);
    cai_ww_kuint(w, 5, c->expires);
    if (c->parent)
        cai_ww_kbin(w, 6, c->parent_id.bytes, 32);
    if (c->write_flags)
        cai_ww_kuint(w, 7, c->flags);
    cai_ww_kbin(w, 8, c->body, c->body_len);
}

static size_t craft_sign(const ca_identity *signer, const craft *c, uint8_t *out, size_t cap)
{
    uint32_t n = 6u + c->recipient + c->parent + c->write_flags;
    size_t sig_cap = c->body_len + 512;
    uint8_t *sbuf = malloc(sig_cap);
    assert_non_null(sbuf);
    char tag[32];
    int tag_len = snprintf(tag, sizeof tag, "cyberagent/1/%llu", (unsigned long long)c->kind);
    cai_wire_writer w;
    cai_ww_init(&w, sbuf, sig_cap);
    cai_ww_raw(&w, tag, (size_t)tag_len);
    cai_ww_map(&w, n);
    craft_fields(&w, signer, c);
    size_t slen;
    assert_ok(cai_ww_finish(&w, &slen));
    uint8_t sig[64];
    crypto_sign_detached(sig, NULL, sbuf, slen, cai_identity_secret(signer));
    free(sbuf);
    cai_ww_init(&w, out, cap);
    cai_ww_map(&w, n + 1);
    craft_fields(&w, signer, c);
    cai_ww_kbin(&w, 9, sig, 64);
    size_t len;
    assert_ok(cai_ww_finish(&w, &len));
    return len;
}

static void test_sizes_kinds_options(void **state)
{
    (void)state;
    assert_string_equal(ca_kind_name(CA_KIND_CARD), "card");
    assert_string_equal(ca_kind_name(CA_KIND_TASK_REQUEST), "task.request");
    assert_string_equal(ca_kind_name(CA_KIND_TASK_DISPUTE), "task.dispute");
    /* Ledger ops are not envelopes (the ledger signs its own format): no
     * library kind is named for them. */
    for (uint32_t k = 32; k <= 63; k++)
        assert_null(ca_kind_name(k));
    assert_null(ca_kind_name(0));
    assert_null(ca_kind_name(2));
    assert_null(ca_kind_name(CA_KIND_APP_MIN));
    assert_int_equal(ca_envelope_bound(0), CA_ENVELOPE_MAX_OVERHEAD);
    assert_int_equal(ca_envelope_bound(100), 100 + CA_ENVELOPE_MAX_OVERHEAD);
    assert_true(ca_envelope_bound(SIZE_MAX) == SIZE_MAX);

    ca_envelope_options o;
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_options_init(&o, 0));
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION + 1));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_options_init(NULL, 1));
    assert_ok(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION));
    assert_int_equal(o.version, CA_ENVELOPE_OPTIONS_VERSION);
    assert_int_equal(o.max_body_bytes, 1u << 20);
    assert_int_equal(o.max_envelope_bytes, (1u << 20) + 4096);
    assert_int_equal(o.max_skew_ms, 30000);
    assert_int_equal(o.max_lifetime_ms, CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT);
    assert_int_equal(CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT, 24u * 3600u * 1000u);
    ca_envelope_params p;
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_params_init(&p, 0));
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_params_init(&p, CA_ENVELOPE_PARAMS_VERSION + 1));

    /* Options and params from a newer caller are refused, not misread. */
    ca_identity *a = ident(1);
    p = params(CA_KIND_TASK_BID, 0);
    uint8_t buf[512];
    size_t len;
    p.version = 2;
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    p.version = 1;
    assert_ok(ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    ca_envelope *e = NULL;
    o.version = CA_ENVELOPE_OPTIONS_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_decode(&e, buf, len, &o));
    assert_null(e);
    o.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_open(&e, buf, len, T0, &o));
    assert_ok(ca_envelope_open(&e, buf, len, T0, NULL));
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_verify(e, T0, &o));
    uint8_t body[8];
    size_t blen;
    assert_status(CA_ERR_UNSUPPORTED, ca_envelope_body(e, NULL, &o, body, sizeof body, &blen));
    ca_envelope_free(e);
    ca_identity_free(a);
}

static void test_roundtrip_fields(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2);
    ca_agent_id aid, bid;
    ca_identity_id(a, &aid);
    ca_identity_id(b, &bid);
    ca_hash parent;
    memset(parent.bytes, 0xab, sizeof parent.bytes);
    const uint32_t kinds[] = {1, 16, 127, 128, 255, 256, 65535, 65536, 0xffffffffu};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int variant = 0; variant < 4; variant++) {
            ca_envelope_params p = params(kinds[k], 0);
            if (variant & 1)
                p.recipient = &bid;
            if (variant & 2)
                p.parent = &parent;
            p.created_at = variant == 3 ? 0 : T0;
            p.expires_at = variant == 3 ? UINT64_MAX : T0 + TTL;
            uint8_t body[300];
            size_t body_len = (size_t)(k * 37 + (size_t)variant) % sizeof body;
            randombytes_buf(body, sizeof body);
            size_t len;
            ca_hash id;
            uint8_t *enc = sign_alloc(a, &p, body, body_len, &len, &id);

            ca_envelope *e = NULL;
            ca_envelope_options forever;
            assert_ok(ca_envelope_options_init(&forever, CA_ENVELOPE_OPTIONS_VERSION));
            forever.max_lifetime_ms = UINT64_MAX;
            if (variant == 3) /* lives 2^64 - 1 ms: only without a lifetime cap */
                assert_status(CA_ERR_LIFETIME, ca_envelope_open(&e, enc, len, 5, NULL));
            assert_ok(ca_envelope_open(&e, enc, len, variant == 3 ? 5 : T0, &forever));
            assert_int_equal(ca_envelope_kind(e), kinds[k]);
            ca_agent_id who;
            ca_envelope_sender(e, &who);
            assert_memory_equal(who.bytes, aid.bytes, 32);
            assert_int_equal(ca_envelope_recipient(e, &who), variant & 1 ? 1 : 0);
            if (variant & 1)
                assert_memory_equal(who.bytes, bid.bytes, 32);
            ca_hash h;
            assert_int_equal(ca_envelope_parent(e, &h), variant & 2 ? 1 : 0);
            if (variant & 2)
                assert_memory_equal(h.bytes, parent.bytes, 32);
            assert_true(ca_envelope_created_at(e) == p.created_at);
            assert_true(ca_envelope_expires_at(e) == p.expires_at);
            assert_int_equal(ca_envelope_flags(e), 0);
            ca_envelope_id(e, &h);
            assert_memory_equal(h.bytes, id.bytes, 32);
            ca_signature sig;
            ca_envelope_signature(e, &sig);
            assert_memory_equal(sig.bytes, enc + len - 64, 64);

            uint8_t out[400];
            size_t out_len;
            assert_ok(ca_envelope_body(e, NULL, NULL, out, sizeof out, &out_len));
            assert_int_equal(out_len, body_len);
            assert_memory_equal(out, body, body_len);
            uint8_t *again = malloc(len);
            size_t again_len;
            assert_ok(ca_envelope_encoded(e, again, len, &again_len));
            assert_int_equal(again_len, len);
            assert_memory_equal(again, enc, len);
            /* Encoded afresh from the decoded fields: the same bytes (the fuzz target's check). */
            memset(again, 0, len);
            assert_status(CA_ERR_BUFFER_TOO_SMALL, cai_envelope_reencode(e, NULL, 0, &again_len));
            assert_int_equal(again_len, len);
            assert_status(CA_ERR_BUFFER_TOO_SMALL,
                          cai_envelope_reencode(e, again, len - 1, &again_len));
            assert_ok(cai_envelope_reencode(e, again, len, &again_len));
            assert_int_equal(again_len, len);
            assert_memory_equal(again, enc, len);

            /* Internal zero-copy views. */
            size_t vlen;
            assert_ptr_equal(cai_envelope_raw(e, &vlen) + vlen - 64,
                             cai_envelope_raw(e, &vlen) + len - 64);
            assert_memory_equal(cai_envelope_raw(e, &vlen), enc, len);
            const uint8_t *view;
            uint8_t *owned;
            assert_ok(cai_envelope_body_view(e, NULL, NULL, &view, &vlen, &owned));
            assert_null(owned);
            assert_int_equal(vlen, body_len);
            assert_memory_equal(view, body, body_len);
            size_t wlen;
            assert_ptr_equal(cai_envelope_wire_body(e, &wlen), view);
            assert_memory_equal(cai_envelope_id_ref(e)->bytes, id.bytes, 32);
            assert_memory_equal(cai_envelope_sender_ref(e)->bytes, aid.bytes, 32);
            free(again);
            ca_envelope_free(e);
            free(enc);
        }
    }
    ca_identity_free(a);
    ca_identity_free(b);
}

/* The signed bytes, recomputed from the encoding per docs/WIRE.md, give the id and verify. */
static void test_signed_bytes_rule(void **state)
{
    (void)state;
    ca_identity *a = ident(3);
    ca_envelope_params p = params(CA_KIND_TASK_RESULT, 0);
    const uint8_t body[] = "result";
    size_t len;
    ca_hash id;
    uint8_t *enc = sign_alloc(a, &p, body, sizeof body, &len, &id);
    uint8_t sbuf[512];
    const char *tag = "cyberagent/1/19";
    size_t tl = strlen(tag);
    memcpy(sbuf, tag, tl);
    sbuf[tl] = (uint8_t)(enc[0] - 1); /* one entry fewer */
    size_t fields = len - 1 - 67;     /* minus map header, key 9 + bin8 header + 64 */
    memcpy(sbuf + tl + 1, enc + 1, fields);
    size_t slen = tl + 1 + fields;
    assert_int_equal(enc[len - 67], 0x09);
    assert_int_equal(enc[len - 66], 0xc4);
    assert_int_equal(enc[len - 65], 64);
    uint8_t h[32];
    crypto_generichash(h, 32, sbuf, slen, NULL, 0);
    assert_memory_equal(h, id.bytes, 32);
    ca_agent_id aid;
    ca_identity_id(a, &aid);
    assert_int_equal(crypto_sign_verify_detached(enc + len - 64, sbuf, slen, aid.bytes), 0);
    /* The same content under another kind's tag does not verify. */
    sbuf[tl - 1] = '8';
    assert_int_not_equal(crypto_sign_verify_detached(enc + len - 64, sbuf, slen, aid.bytes), 0);
    free(enc);
    ca_identity_free(a);
}

static void test_ownership_rule(void **state)
{
    (void)state;
    ca_identity *a = ident(1);
    ca_envelope_params p = params(CA_KIND_TASK_REQUEST, 0);
    uint8_t body[256];
    memset(body, 7, sizeof body);
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ca_envelope_sign(a, &p, body, sizeof body, NULL, 0, &need, NULL));
    assert_true(need > sizeof body && need <= ca_envelope_bound(sizeof body));
    uint8_t *buf = malloc(need);
    size_t got = 0;
    memset(buf, 0x5a, need);
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ca_envelope_sign(a, &p, body, sizeof body, buf, need - 1, &got, NULL));
    assert_int_equal(got, need);
    for (size_t i = 0; i < need; i++)
        assert_int_equal(buf[i], 0x5a); /* nothing written */
    assert_ok(ca_envelope_sign(a, &p, body, sizeof body, buf, need, &got, NULL));
    assert_int_equal(got, need);

    ca_envelope *e;
    assert_ok(ca_envelope_decode(&e, buf, need, NULL));
    size_t n = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_envelope_encoded(e, NULL, 0, &n));
    assert_int_equal(n, need);
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_envelope_body(e, NULL, NULL, NULL, 0, &n));
    assert_int_equal(n, sizeof body);
    uint8_t out[256];
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_envelope_body(e, NULL, NULL, out, 255, &n));
    assert_int_equal(n, sizeof body);
    assert_ok(ca_envelope_body(e, NULL, NULL, out, sizeof out, &n));
    ca_envelope_free(e);

    /* Compressed: the size is the frame's declared content size. */
    p.flags = CA_ENVELOPE_COMPRESS;
    assert_ok(ca_envelope_sign(a, &p, body, sizeof body, buf, need, &got, NULL));
    assert_true(got < need);
    assert_ok(ca_envelope_decode(&e, buf, got, NULL));
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_envelope_body(e, NULL, NULL, NULL, 0, &n));
    assert_int_equal(n, sizeof body);
    assert_ok(ca_envelope_body(e, NULL, NULL, out, sizeof out, &n));
    assert_memory_equal(out, body, sizeof body);
    ca_envelope_free(e);
    free(buf);
    ca_identity_free(a);
}

/* The bound is exact for the largest envelope: every field at its widest, sealed, bin32 body. */
static void test_bound_is_tight(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2);
    ca_agent_id bid;
    ca_identity_id(b, &bid);
    ca_hash parent;
    memset(parent.bytes, 3, sizeof parent.bytes);
    ca_envelope_params p = params(0xffffffffu, CA_ENVELOPE_SEAL | CA_ENVELOPE_COMPRESS);
    p.recipient = &bid;
    p.parent = &parent;
    p.created_at = (uint64_t)1 << 40;
    p.expires_at = UINT64_MAX;
    size_t n = 70000, len;
    uint8_t *body = malloc(n);
    randombytes_buf(body, n); /* incompressible */
    uint8_t *enc = sign_alloc(a, &p, body, n, &len, NULL);
    assert_int_equal(len, ca_envelope_bound(n));
    free(enc);
    free(body);
    ca_identity_free(a);
    ca_identity_free(b);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ca_identity *a = ident(1);
    ca_envelope_params p = params(CA_KIND_TASK_REQUEST, 0);
    uint8_t buf[512];
    size_t len;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(NULL, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, NULL, NULL, 0, buf, sizeof buf, &len, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, NULL, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, &p, NULL, 3, buf, sizeof buf, &len, NULL));
    p.kind = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    p = params(CA_KIND_TASK_REQUEST, 0);
    p.expires_at = p.created_at;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    p = params(CA_KIND_TASK_REQUEST, 0x4);
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    p = params(CA_KIND_TASK_REQUEST, CA_ENVELOPE_SEAL); /* no recipient */
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_envelope_sign(a, &p, NULL, 0, buf, sizeof buf, &len, NULL));
    ca_envelope *e = (ca_envelope *)buf;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_decode(&e, NULL, 0, NULL));
    assert_null(e);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_decode(NULL, buf, 1, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_verify(NULL, 0, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_body(NULL, NULL, NULL, buf, 1, &len));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_encoded(NULL, buf, 1, &len));
    ca_envelope_free(NULL);
    assert_int_equal(ca_envelope_kind(NULL), 0);
    assert_int_equal(ca_envelope_recipient(NULL, NULL), 0);
    assert_int_equal(ca_envelope_parent(NULL, NULL), 0);
    ca_identity_free(a);
}

/* Every envelope status, each from an input that is wrong in exactly one way. */
static void test_statuses(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2);
    ca_agent_id bid;
    ca_identity_id(b, &bid);
    uint8_t body[64];
    memset(body, 'x', sizeof body);
    uint8_t buf[1024];
    ca_envelope *e = NULL;

    /* The crafting helper itself agrees with the library on a valid envelope. */
    craft c = craft_default(body, sizeof body);
    size_t len = craft_sign(a, &c, buf, sizeof buf);
    ca_envelope_params p = params(CA_KIND_TASK_REQUEST, 0);
    uint8_t lib[1024];
    size_t lib_len;
    assert_ok(ca_envelope_sign(a, &p, body, sizeof body, lib, sizeof lib, &lib_len, NULL));
    assert_int_equal(len, lib_len);
    assert_memory_equal(buf, lib, len);

    /* Malformed shapes and values. */
    assert_status(CA_ERR_MALFORMED, ca_envelope_decode(&e, buf, 0, NULL));
    assert_status(CA_ERR_MALFORMED, ca_envelope_decode(&e, buf, len - 1, NULL));
    buf[len] = 0;
    assert_status(CA_ERR_MALFORMED, ca_envelope_decode(&e, buf, len + 1, NULL)); /* trailing */
    const uint8_t garbage[] = {0xc0};
    assert_status(CA_ERR_MALFORMED, ca_envelope_decode(&e, garbage, 1, NULL));
    struct {
        const char *what;
        craft c;
        ca_status want;
    } cases[] = {
        {"version 2", c, CA_ERR_BAD_VERSION},
        {"version 0", c, CA_ERR_BAD_VERSION},
        {"kind 0", c, CA_ERR_MALFORMED},
        {"kind > u32", c, CA_ERR_MALFORMED},
        {"expires == created", c, CA_ERR_MALFORMED},
        {"expires < created", c, CA_ERR_MALFORMED},
        {"flags 0 written", c, CA_ERR_MALFORMED},
        {"unknown flag", c, CA_ERR_MALFORMED},
        {"sealed, no recipient", c, CA_ERR_MALFORMED},
        {"sealed, short body", c, CA_ERR_MALFORMED},
        {"valid sealed shape", c, CA_OK},
    };
    cases[0].c.version = 2;
    cases[1].c.version = 0;
    cases[2].c.kind = 0;
    cases[3].c.kind = 0x100000000ull;
    cases[4].c.expires = cases[4].c.created;
    cases[5].c.expires = cases[5].c.created - 1;
    cases[6].c.write_flags = true;
    cases[7].c.write_flags = true;
    cases[7].c.flags = 4;
    cases[8].c.write_flags = true;
    cases[8].c.flags = CA_ENVELOPE_SEAL;
    cases[9].c.write_flags = true;
    cases[9].c.flags = CA_ENVELOPE_SEAL;
    cases[9].c.recipient = true;
    cases[9].c.body_len = 47;
    cases[10].c = cases[9].c;
    cases[10].c.body_len = 48;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = craft_sign(a, &cases[i].c, buf, sizeof buf);
        ca_status st = ca_envelope_decode(&e, buf, n, NULL);
        if (st != cases[i].want)
            fail_msg("%s: expected %s, got %s (%s)", cases[i].what, ca_status_str(cases[i].want),
                     ca_status_str(st), ca_last_error());
        if (st == CA_OK)
            ca_envelope_free(e);
        else
            assert_null(e);
    }

    /* Size limits. */
    len = craft_sign(a, &c, buf, sizeof buf);
    ca_envelope_options o;
    assert_ok(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION));
    o.max_envelope_bytes = len - 1;
    assert_status(CA_ERR_LIMIT, ca_envelope_decode(&e, buf, len, &o));
    o.max_envelope_bytes = len;
    o.max_body_bytes = sizeof body - 1;
    assert_status(CA_ERR_LIMIT, ca_envelope_decode(&e, buf, len, &o));
    o.max_body_bytes = sizeof body;
    assert_ok(ca_envelope_decode(&e, buf, len, &o));
    o.max_body_bytes = 1;
    assert_status(CA_ERR_LIMIT, ca_envelope_verify(e, T0, &o));
    size_t n;
    uint8_t out[64];
    assert_status(CA_ERR_LIMIT, ca_envelope_body(e, NULL, &o, out, sizeof out, &n));

    /* Time window, at and just past each edge of the skew. */
    assert_ok(ca_envelope_verify(e, T0, NULL));
    assert_ok(ca_envelope_verify(e, T0 - 30000, NULL));
    assert_status(CA_ERR_NOT_YET_VALID, ca_envelope_verify(e, T0 - 30001, NULL));
    assert_ok(ca_envelope_verify(e, T0 + TTL + 30000, NULL));
    assert_status(CA_ERR_EXPIRED, ca_envelope_verify(e, T0 + TTL + 30001, NULL));
    o.max_body_bytes = 1 << 20;
    o.max_skew_ms = 0;
    assert_status(CA_ERR_EXPIRED, ca_envelope_verify(e, T0 + TTL + 1, &o));
    assert_status(CA_ERR_NOT_YET_VALID, ca_envelope_verify(e, T0 - 1, &o));
    o.max_skew_ms = UINT64_MAX; /* saturates, no wrap-around */
    assert_ok(ca_envelope_verify(e, 0, &o));
    assert_ok(ca_envelope_verify(e, UINT64_MAX, &o));
    ca_envelope_free(e);
    ca_envelope *keep = (ca_envelope *)buf;
    assert_status(CA_ERR_EXPIRED, ca_envelope_open(&keep, buf, len, T0 + TTL + 30001, NULL));
    assert_null(keep);

    /* Bad signature: flipped signature bit, and a body changed after signing. */
    buf[len - 1] ^= 1;
    assert_ok(ca_envelope_decode(&e, buf, len, NULL));
    assert_status(CA_ERR_BAD_SIGNATURE, ca_envelope_verify(e, T0, NULL));
    ca_envelope_free(e);
    assert_status(CA_ERR_BAD_SIGNATURE, ca_envelope_open(&e, buf, len, T0, NULL));
    buf[len - 1] ^= 1;
    buf[len - 70] ^= 1; /* last body byte */
    assert_status(CA_ERR_BAD_SIGNATURE, ca_envelope_open(&e, buf, len, T0, NULL));
    buf[len - 70] ^= 1;
    assert_ok(ca_envelope_open(&e, buf, len, T0, NULL));
    ca_envelope_free(e);

    /* Decompress and sealed statuses have their own tests; WRONG_KIND belongs to callers. */
    assert_string_equal(ca_status_str(CA_ERR_WRONG_KIND), "CA_ERR_WRONG_KIND");
    assert_string_equal(ca_status_str(CA_ERR_REPLAY_FULL), "CA_ERR_REPLAY_FULL");
    ca_identity_free(a);
    ca_identity_free(b);
}

/* Every single-bit flip, byte deletion and byte insertion of valid envelopes. */
static void check_mutations(const uint8_t *enc, size_t len)
{
    ca_envelope *orig;
    assert_ok(ca_envelope_decode(&orig, enc, len, NULL));
    ca_hash id;
    ca_envelope_id(orig, &id);
    size_t sig_start = len - 64;
    uint8_t *m = malloc(len + 1), *re = malloc(len + 1);
    size_t decoded = 0;
    for (size_t kind = 0; kind < 3; kind++) {
        size_t count = kind == 0 ? len * 8 : kind == 1 ? len : len + 1;
        for (size_t i = 0; i < count; i++) {
            size_t mlen = len, pos = kind == 0 ? i / 8 : i;
            if (kind == 0) {
                memcpy(m, enc, len);
                m[pos] ^= (uint8_t)(1u << (i % 8));
            } else if (kind == 1) {
                memcpy(m, enc, pos);
                memcpy(m + pos, enc + pos + 1, len - pos - 1);
                mlen = len - 1;
            } else {
                memcpy(m, enc, pos);
                m[pos] = (uint8_t)(i * 37);
                memcpy(m + pos + 1, enc + pos, len - pos);
                mlen = len + 1;
            }
            ca_envelope *e = NULL;
            ca_status st = ca_envelope_decode(&e, m, mlen, NULL);
            if (st != CA_OK) {
                assert_null(e);
                continue;
            }
            decoded++;
            /* Canonical: it re-encodes to exactly the mutated bytes. */
            size_t rlen;
            assert_ok(ca_envelope_encoded(e, re, len + 1, &rlen));
            assert_int_equal(rlen, mlen);
            assert_memory_equal(re, m, mlen);
            /* A different message, or the same message with a broken signature. */
            ca_hash id2;
            ca_envelope_id(e, &id2);
            bool same_id = memcmp(id2.bytes, id.bytes, 32) == 0;
            if (same_id && !(kind == 0 && pos >= sig_start))
                fail_msg("mutation %zu/%zu kept the id outside the signature", kind, i);
            assert_status(CA_ERR_BAD_SIGNATURE, ca_envelope_verify(e, T0, NULL));
            ca_envelope_free(e);
        }
    }
    assert_true(decoded > 0);
    free(m);
    free(re);
    ca_envelope_free(orig);
}

static void test_mutations(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2);
    ca_agent_id bid;
    ca_identity_id(b, &bid);
    ca_hash parent;
    memset(parent.bytes, 0x11, 32);
    uint8_t text[200];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)("abcab"[i % 5]);
    for (int variant = 0; variant < 4; variant++) {
        ca_envelope_params p = params(variant == 0 ? 1 : 70000, 0);
        size_t body_len = 40;
        if (variant >= 1) {
            p.recipient = &bid;
            p.parent = &parent;
        }
        if (variant == 2) {
            p.flags = CA_ENVELOPE_COMPRESS;
            body_len = sizeof text;
        }
        if (variant == 3)
            p.flags = CA_ENVELOPE_SEAL | CA_ENVELOPE_COMPRESS;
        size_t len;
        uint8_t *enc = sign_alloc(a, &p, text, body_len, &len, NULL);
        check_mutations(enc, len);
        free(enc);
    }
    ca_identity_free(a);
    ca_identity_free(b);
}

static void test_compression(void **state)
{
    (void)state;
    ca_identity *a = ident(1);
    uint8_t body[4096];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)("the quick brown fox "[i % 20]);
    const size_t sizes[] = {0, 1, 10, 200, 4096};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        ca_envelope_params p = params(CA_KIND_TASK_RESULT, 0), pc = p;
        pc.flags = CA_ENVELOPE_COMPRESS;
        size_t len, clen;
        ca_hash id, cid;
        uint8_t *plain = sign_alloc(a, &p, body, sizes[s], &len, &id);
        uint8_t *comp = sign_alloc(a, &pc, body, sizes[s], &clen, &cid);
        ca_envelope *e;
        assert_ok(ca_envelope_open(&e, comp, clen, T0, NULL));
        if (sizes[s] >= 200) {
            assert_int_equal(ca_envelope_flags(e), CA_ENVELOPE_COMPRESS);
            assert_true(clen < len);
        } else { /* compression would not save bytes: flag unset, identical envelope */
            assert_int_equal(ca_envelope_flags(e), 0);
            assert_int_equal(clen, len);
            assert_memory_equal(comp, plain, len);
            assert_memory_equal(cid.bytes, id.bytes, 32);
        }
        uint8_t out[4096];
        size_t n;
        assert_ok(ca_envelope_body(e, NULL, NULL, out, sizeof out, &n));
        assert_int_equal(n, sizes[s]);
        assert_memory_equal(out, body, n);
        const uint8_t *view;
        uint8_t *owned;
        assert_ok(cai_envelope_body_view(e, NULL, NULL, &view, &n, &owned));
        assert_int_equal(n, sizes[s]);
        assert_memory_equal(view, body, n);
        assert_true(sizes[s] < 200 || owned != NULL);
        free(owned);
        ca_envelope_free(e);
        free(plain);
        free(comp);
    }
    /* Incompressible: no flag. */
    randombytes_buf(body, 256);
    ca_envelope_params pc = params(CA_KIND_TASK_RESULT, CA_ENVELOPE_COMPRESS);
    size_t len;
    uint8_t *enc = sign_alloc(a, &pc, body, 256, &len, NULL);
    ca_envelope *e;
    assert_ok(ca_envelope_decode(&e, enc, len, NULL));
    assert_int_equal(ca_envelope_flags(e), 0);
    ca_envelope_free(e);
    free(enc);
    ca_identity_free(a);
}

/* Streams `total` zero bytes into one zstd frame (optionally declaring its size). */
static size_t zstd_zeros(uint8_t *out, size_t cap, unsigned long long total, bool pledge)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    assert_non_null(cc);
    if (pledge)
        assert_false(ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, total)));
    static uint8_t zeros[1 << 16];
    ZSTD_outBuffer ob = {out, cap, 0};
    unsigned long long fed = 0;
    for (;;) {
        size_t chunk = total - fed < sizeof zeros ? (size_t)(total - fed) : sizeof zeros;
        fed += chunk;
        ZSTD_EndDirective end = fed == total ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer ib = {zeros, chunk, 0};
        size_t left;
        do {
            left = ZSTD_compressStream2(cc, &ob, &ib, end);
            assert_false(ZSTD_isError(left));
        } while (ib.pos < ib.size || (end == ZSTD_e_end && left != 0));
        if (end == ZSTD_e_end)
            break;
    }
    ZSTD_freeCCtx(cc);
    return ob.pos;
}

static ca_status body_of(const ca_identity *signer, const uint8_t *zbody, size_t zlen,
                         const ca_envelope_options *o, size_t *n)
{
    craft c = craft_default(zbody, zlen);
    c.write_flags = true;
    c.flags = CA_ENVELOPE_COMPRESS;
    size_t cap = zlen + 512;
    uint8_t *buf = malloc(cap);
    size_t len = craft_sign(signer, &c, buf, cap);
    ca_envelope *e;
    assert_ok(ca_envelope_open(&e, buf, len, T0, o));
    free(buf);
    uint8_t small[64];
    ca_status st = ca_envelope_body(e, NULL, o, small, sizeof small, n);
    const uint8_t *view;
    uint8_t *owned;
    size_t vlen;
    ca_status st2 = cai_envelope_body_view(e, NULL, o, &view, &vlen, &owned);
    if (st2 == CA_OK)
        free(owned);
    else
        assert_null(owned);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        assert_int_equal(st2, st);
    ca_envelope_free(e);
    return st;
}

static void test_zstd_bomb_and_bad_frames(void **state)
{
    (void)state;
    ca_identity *a = ident(1);
    static uint8_t z[1 << 16];
    size_t n;
    /* 100 MiB of zeros in a few KiB: refused from the declared size, before any allocation. */
    size_t zlen = zstd_zeros(z, sizeof z, 100ull << 20, true);
    assert_true(zlen < 8192);
    assert_int_equal(ZSTD_getFrameContentSize(z, zlen), 100ull << 20);
    assert_status(CA_ERR_DECOMPRESS, body_of(a, z, zlen, NULL, &n));
    ca_envelope_options o;
    assert_ok(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION));
    o.max_body_bytes = 200u << 20; /* a caller who allows it is told the size it needs */
    assert_status(CA_ERR_BUFFER_TOO_SMALL, body_of(a, z, zlen, &o, &n));
    assert_int_equal(n, 100u << 20);

    /* Unknown content size: refused. */
    zlen = zstd_zeros(z, sizeof z, 200000, false);
    assert_int_equal(ZSTD_getFrameContentSize(z, zlen), ZSTD_CONTENTSIZE_UNKNOWN);
    assert_status(CA_ERR_DECOMPRESS, body_of(a, z, zlen, NULL, &n));

    /* A frame that declares less than it holds: decompression stops at the declared size. */
    uint8_t small[64], big[64];
    size_t slen = zstd_zeros(small, sizeof small, 40, true);
    size_t blen = zstd_zeros(big, sizeof big, 60, true);
    assert_int_equal(small[4], big[4]); /* same frame header layout */
    memcpy(z, big, blen);
    memcpy(z + 5, small + 5, 1); /* single-segment, 1-byte content size field */
    assert_int_equal(ZSTD_getFrameContentSize(z, blen), 40);
    (void)slen;
    assert_status(CA_ERR_DECOMPRESS, body_of(a, z, blen, NULL, &n));
    /* ... a correct frame passes ... */
    assert_ok(body_of(a, big, blen, NULL, &n));
    assert_int_equal(n, 60);
    /* ... trailing bytes after the frame, a second frame, garbage: refused. */
    memcpy(z, big, blen);
    z[blen] = 0;
    assert_status(CA_ERR_DECOMPRESS, body_of(a, z, blen + 1, NULL, &n));
    memcpy(z + blen, big, blen);
    assert_status(CA_ERR_DECOMPRESS, body_of(a, z, 2 * blen, NULL, &n));
    const uint8_t junk[] = {0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff};
    assert_status(CA_ERR_DECOMPRESS, body_of(a, junk, sizeof junk, NULL, &n));
    assert_status(CA_ERR_DECOMPRESS, body_of(a, junk + 1, sizeof junk - 1, NULL, &n));
    assert_status(CA_ERR_DECOMPRESS, body_of(a, junk, 0, NULL, &n));
    /* Skippable frame (magic 0x184D2A50): not a zstd data frame. */
    const uint8_t skip[] = {0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0};
    assert_status(CA_ERR_DECOMPRESS, body_of(a, skip, sizeof skip, NULL, &n));
    ca_identity_free(a);
}

static void test_sealed(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2), *c = ident(3);
    ca_agent_id bid;
    ca_identity_id(b, &bid);
    uint8_t body[600];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)("secret "[i % 7]);
    for (int compress = 0; compress < 2; compress++) {
        ca_envelope_params p = params(CA_KIND_TASK_AWARD, CA_ENVELOPE_SEAL);
        if (compress)
            p.flags |= CA_ENVELOPE_COMPRESS;
        p.recipient = &bid;
        size_t len;
        uint8_t *enc = sign_alloc(a, &p, body, sizeof body, &len, NULL);
        /* Sealing is randomized: a second signing gives another envelope. */
        size_t len2;
        uint8_t *enc2 = sign_alloc(a, &p, body, sizeof body, &len2, NULL);
        assert_int_equal(len, len2);
        assert_memory_not_equal(enc, enc2, len);
        free(enc2);

        ca_envelope *e;
        assert_ok(ca_envelope_open(&e, enc, len, T0, NULL)); /* anyone verifies */
        assert_int_equal(ca_envelope_flags(e),
                         CA_ENVELOPE_SEAL | (compress ? CA_ENVELOPE_COMPRESS : 0));
        size_t wlen;
        const uint8_t *wire = cai_envelope_wire_body(e, &wlen);
        if (compress)
            assert_true(wlen < sizeof body);
        else
            assert_int_equal(wlen, sizeof body + 48);
        for (size_t i = 0; i + 13 <= len; i++) /* plaintext not on the wire */
            assert_false(memcmp(enc + i, "secret secret", 13) == 0);
        (void)wire;
        uint8_t out[600];
        size_t n;
        assert_status(CA_ERR_SEALED, ca_envelope_body(e, NULL, NULL, out, sizeof out, &n));
        assert_status(CA_ERR_SEALED, ca_envelope_body(e, a, NULL, out, sizeof out, &n));
        assert_status(CA_ERR_SEALED, ca_envelope_body(e, c, NULL, out, sizeof out, &n));
        assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_envelope_body(e, b, NULL, NULL, 0, &n));
        assert_int_equal(n, sizeof body);
        memset(out, 0, sizeof out);
        assert_ok(ca_envelope_body(e, b, NULL, out, sizeof out, &n));
        assert_int_equal(n, sizeof body);
        assert_memory_equal(out, body, sizeof body);
        const uint8_t *view;
        uint8_t *owned;
        assert_status(CA_ERR_SEALED, cai_envelope_body_view(e, c, NULL, &view, &n, &owned));
        assert_null(owned);
        assert_ok(cai_envelope_body_view(e, b, NULL, &view, &n, &owned));
        assert_non_null(owned);
        assert_int_equal(n, sizeof body);
        assert_memory_equal(view, body, n);
        free(owned);

        /* Tampered sealed body, re-signed by the sender: verifies, but does not open. */
        uint8_t *mod = malloc(wlen);
        memcpy(mod, cai_envelope_wire_body(e, &wlen), wlen);
        mod[wlen / 2] ^= 0x20;
        craft cr = craft_default(mod, wlen);
        cr.kind = CA_KIND_TASK_AWARD;
        cr.recipient = true;
        cr.recipient_id = bid;
        cr.write_flags = true;
        cr.flags = ca_envelope_flags(e);
        uint8_t *buf = malloc(wlen + 512);
        size_t blen = craft_sign(a, &cr, buf, wlen + 512);
        ca_envelope *t;
        assert_ok(ca_envelope_open(&t, buf, blen, T0, NULL));
        assert_status(CA_ERR_SEAL_MISMATCH, ca_envelope_body(t, b, NULL, out, sizeof out, &n));
        assert_status(CA_ERR_SEAL_MISMATCH, cai_envelope_body_view(t, b, NULL, &view, &n, &owned));
        assert_null(owned);
        ca_envelope_free(t);
        free(buf);
        free(mod);
        ca_envelope_free(e);
        free(enc);
    }
    /* Recipient whose key is not a curve point: cannot be sealed to. */
    ca_agent_id bogus;
    memset(bogus.bytes, 0xff, sizeof bogus.bytes);
    ca_envelope_params p = params(CA_KIND_TASK_AWARD, CA_ENVELOPE_SEAL);
    p.recipient = &bogus;
    uint8_t buf[1024];
    size_t len;
    assert_status(CA_ERR_BAD_KEY, ca_envelope_sign(a, &p, body, 10, buf, sizeof buf, &len, NULL));
    ca_identity_free(a);
    ca_identity_free(b);
    ca_identity_free(c);
}

/*
 * Finding 8: a sealed body is bound to its sender and header. Mallory copies
 * the box of Alice's sealed AWARD to Bob into an envelope she signs herself
 * (every other field the same): it verifies as Mallory's, but Bob's
 * ca_envelope_body refuses it instead of handing him Alice's words as
 * Mallory's. Alice cannot move her own box into another envelope either.
 */
static void test_sealed_bound_to_sender(void **state)
{
    (void)state;
    ca_identity *alice = ident(1), *bob = ident(2), *mallory = ident(3);
    ca_agent_id bid;
    ca_identity_id(bob, &bid);
    ca_hash parent;
    memset(parent.bytes, 0x42, sizeof parent.bytes);
    const uint8_t secret[] = "award: 1500 units, deliver by Friday";
    for (int compress = 0; compress < 2; compress++) {
        uint8_t text[400];
        for (size_t i = 0; i < sizeof text; i++)
            text[i] = secret[i % (sizeof secret - 1)];
        const uint8_t *body = compress ? text : secret;
        size_t body_len = compress ? sizeof text : sizeof secret - 1;
        ca_envelope_params p = params(CA_KIND_TASK_AWARD, CA_ENVELOPE_SEAL);
        if (compress)
            p.flags |= CA_ENVELOPE_COMPRESS;
        p.recipient = &bid;
        p.parent = &parent;
        size_t len;
        uint8_t *enc = sign_alloc(alice, &p, body, body_len, &len, NULL);
        ca_envelope *orig;
        assert_ok(ca_envelope_open(&orig, enc, len, T0, NULL));
        uint8_t out[512];
        size_t n;
        assert_ok(ca_envelope_body(orig, bob, NULL, out, sizeof out, &n));
        assert_int_equal(n, body_len);
        assert_memory_equal(out, body, n);
        size_t wlen;
        const uint8_t *box = cai_envelope_wire_body(orig, &wlen);

        /* The same box in envelopes that differ from Alice's in one header field each. */
        enum { MALLORY, KIND, CREATED, EXPIRES, PARENT, NO_PARENT, FLAGS, CASES };
        for (int which = 0; which < CASES; which++) {
            craft c = craft_default(box, wlen);
            c.kind = CA_KIND_TASK_AWARD;
            c.recipient = true;
            c.recipient_id = bid;
            c.parent = true;
            c.parent_id = parent;
            c.write_flags = true;
            c.flags = ca_envelope_flags(orig);
            const ca_identity *signer = which == MALLORY ? mallory : alice;
            if (which == KIND)
                c.kind = CA_KIND_TASK_RESULT;
            if (which == CREATED)
                c.created = T0 + 1;
            if (which == EXPIRES)
                c.expires = T0 + TTL + 1;
            if (which == PARENT)
                c.parent_id.bytes[31] ^= 1;
            if (which == NO_PARENT)
                c.parent = false;
            if (which == FLAGS)
                c.flags ^= CA_ENVELOPE_COMPRESS;
            uint8_t buf[1024];
            size_t blen = craft_sign(signer, &c, buf, sizeof buf);
            ca_envelope *t;
            assert_ok(ca_envelope_open(&t, buf, blen, T0, NULL)); /* a valid signed envelope */
            ca_status st = ca_envelope_body(t, bob, NULL, out, sizeof out, &n);
            if (st != CA_ERR_SEAL_MISMATCH)
                fail_msg("case %d (compress %d): expected CA_ERR_SEAL_MISMATCH, got %s", which,
                         compress, ca_status_str(st));
            const uint8_t *view;
            uint8_t *owned;
            assert_status(CA_ERR_SEAL_MISMATCH,
                          cai_envelope_body_view(t, bob, NULL, &view, &n, &owned));
            assert_null(owned);
            ca_envelope_free(t);
        }
        ca_envelope_free(orig);
        free(enc);
    }
    ca_identity_free(alice);
    ca_identity_free(bob);
    ca_identity_free(mallory);
}

/* The sealed box, opened by hand exactly as docs/WIRE.md specifies it. */
static void test_seal_construction(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2);
    ca_agent_id bid;
    ca_identity_id(b, &bid);
    const uint8_t body[] = "sealed to b, bound to this header";
    ca_envelope_params p = params(CA_KIND_TASK_AWARD, CA_ENVELOPE_SEAL);
    p.recipient = &bid;
    size_t len;
    uint8_t *enc = sign_alloc(a, &p, body, sizeof body, &len, NULL);
    ca_envelope *e;
    assert_ok(ca_envelope_open(&e, enc, len, T0, NULL));
    size_t wlen, raw_len;
    const uint8_t *box = cai_envelope_wire_body(e, &wlen);
    const uint8_t *raw = cai_envelope_raw(e, &raw_len);
    assert_int_equal(wlen, 32 + 16 + sizeof body);
    /* header = the envelope's bytes after the map byte, up to key 8 (fields 0..7) */
    size_t header_len = (size_t)(box - raw) - 3 /* 08 c4 <len> */ - 1 /* map byte */;
    assert_int_equal(raw[1 + header_len], 0x08);
    uint8_t rpk[32], rsk[32], nonce[24];
    assert_ok(ca_agent_x25519_public(&bid, rpk));
    assert_ok(cai_identity_x25519_secret(b, rsk));
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, sizeof nonce);
    crypto_generichash_update(&hs, (const uint8_t *)"cyberagent/1/seal", 17);
    crypto_generichash_update(&hs, box, 32);
    crypto_generichash_update(&hs, rpk, 32);
    crypto_generichash_update(&hs, raw + 1, header_len);
    crypto_generichash_final(&hs, nonce, sizeof nonce);
    uint8_t plain[sizeof body];
    assert_int_equal(crypto_box_open_easy(plain, box + 32, wlen - 32, nonce, box, rsk), 0);
    assert_memory_equal(plain, body, sizeof body);
    /* Not libsodium's anonymous sealed box (whose nonce omits the header). */
    assert_int_not_equal(crypto_box_seal_open(plain, box, wlen, rpk, rsk), 0);
    ca_wipe(rsk, sizeof rsk);
    ca_envelope_free(e);
    free(enc);
    ca_identity_free(a);
    ca_identity_free(b);
}

/* ---- replay guard ---- */

static ca_envelope *env_expiring(const ca_identity *a, uint64_t created, uint64_t expires,
                                 uint32_t salt)
{
    ca_envelope_params p = params(CA_KIND_TASK_BID, 0);
    p.created_at = created;
    p.expires_at = expires;
    uint8_t body[4];
    memcpy(body, &salt, 4);
    uint8_t buf[512];
    size_t len;
    assert_ok(ca_envelope_sign(a, &p, body, sizeof body, buf, sizeof buf, &len, NULL));
    ca_envelope *e;
    assert_ok(ca_envelope_decode(&e, buf, len, NULL));
    return e;
}

/* A guard of `capacity` ids and this skew, the other options at their defaults. */
static ca_status guard_new(ca_replay_guard **g, size_t capacity, uint64_t skew)
{
    ca_replay_guard_options o;
    assert_ok(ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION));
    o.capacity = capacity;
    o.max_skew_ms = skew;
    return ca_replay_guard_new(g, &o);
}

/* A guard whose quota is its whole capacity (one sender may fill it). */
static ca_replay_guard *guard_whole(size_t capacity, uint64_t skew)
{
    ca_replay_guard_options o;
    assert_ok(ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION));
    o.capacity = capacity;
    o.max_per_sender = capacity;
    o.max_skew_ms = skew;
    ca_replay_guard *g = NULL;
    assert_ok(ca_replay_guard_new(&g, &o));
    return g;
}

static void test_replay_basic(void **state)
{
    (void)state;
    ca_identity *a = ident(1), *b = ident(2);
    ca_replay_guard *g = NULL;
    assert_status(CA_ERR_INVALID_ARGUMENT, guard_new(&g, 0, 0));
    assert_status(CA_ERR_LIMIT, guard_new(&g, (size_t)1 << 40, 0));
    assert_status(CA_ERR_INVALID_ARGUMENT, guard_new(NULL, 1, 0));
    assert_null(g);
    g = guard_whole(3, 1000);
    ca_envelope *e[5];
    for (uint32_t i = 0; i < 5; i++) /* e[3] from another sender: the guard, not a quota, is full */
        e[i] = env_expiring(i == 3 ? b : a, T0, T0 + 10000 * (i + 1), i);
    assert_ok(ca_replay_guard_check(g, e[0], T0));
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, e[0], T0));
    assert_ok(ca_replay_guard_check(g, e[1], T0));
    assert_ok(ca_replay_guard_check(g, e[2], T0));
    assert_int_equal(ca_replay_guard_count(g), 3);
    /* Full of unexpired ids: refuses, and still remembers every one of them. */
    assert_status(CA_ERR_REPLAY_FULL, ca_replay_guard_check(g, e[3], T0));
    for (int i = 0; i < 3; i++)
        assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, e[i], T0 + 5000));
    /* e[0] is remembered up to expires_at + skew inclusive, then dropped. */
    assert_status(CA_ERR_REPLAY_FULL, ca_replay_guard_check(g, e[3], T0 + 11000));
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, e[0], T0 + 11000));
    assert_ok(ca_replay_guard_check(g, e[3], T0 + 11001));
    assert_int_equal(ca_replay_guard_count(g), 3);
    /* Too old to remember: the verifier rejects it too. */
    assert_status(CA_ERR_EXPIRED, ca_replay_guard_check(g, e[0], T0 + 11001));
    /* Far future: everything expires. */
    assert_ok(ca_replay_guard_check(g, e[4], T0 + 45000));
    assert_int_equal(ca_replay_guard_count(g), 1);
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, e[4], T0 + 51000));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_check(NULL, e[4], T0));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_check(g, NULL, T0));
    assert_int_equal(ca_replay_guard_count(NULL), 0);
    assert_int_equal(cai_replay_guard_bytes(NULL), 0);
    for (int i = 0; i < 5; i++)
        ca_envelope_free(e[i]);
    ca_replay_guard_free(g);
    ca_replay_guard_free(NULL);
    /* Saturation: an envelope expiring at UINT64_MAX with a large skew. */
    assert_ok(guard_new(&g, 1, UINT64_MAX));
    ca_envelope *late = env_expiring(a, UINT64_MAX - 1000, UINT64_MAX, 9);
    assert_ok(ca_replay_guard_check(g, late, UINT64_MAX));
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, late, UINT64_MAX));
    ca_envelope_free(late);
    ca_replay_guard_free(g);
    ca_identity_free(a);
    ca_identity_free(b);
}

static void test_replay_options(void **state)
{
    (void)state;
    ca_replay_guard_options o;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_options_init(NULL, 1));
    assert_status(CA_ERR_UNSUPPORTED, ca_replay_guard_options_init(&o, 0));
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION + 1));
    assert_ok(ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION));
    assert_int_equal(o.version, CA_REPLAY_GUARD_OPTIONS_VERSION);
    assert_int_equal(o.capacity, CA_REPLAY_GUARD_CAPACITY_DEFAULT);
    assert_int_equal(o.max_per_sender, 0);
    assert_int_equal(o.max_skew_ms, 30000);
    assert_int_equal(o.max_lifetime_ms, CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT);
    ca_replay_guard *g = (ca_replay_guard *)&o;
    o.version = CA_REPLAY_GUARD_OPTIONS_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_replay_guard_new(&g, &o));
    assert_null(g);
    assert_ok(ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION));
    o.capacity = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_new(&g, &o));
    o.capacity = (size_t)CA_REPLAY_GUARD_MAX_CAPACITY + 1;
    assert_status(CA_ERR_LIMIT, ca_replay_guard_new(&g, &o));
    o.capacity = 10;
    o.max_per_sender = 11; /* one sender could fill it */
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_new(&g, &o));
    o.max_per_sender = 10;
    o.max_lifetime_ms = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_new(&g, &o));
    assert_null(g);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_replay_guard_new(NULL, NULL));

    /* Defaults: 65 536 ids, a sixteenth of them per sender, fixed memory. */
    assert_ok(ca_replay_guard_new(&g, NULL));
    size_t bytes = cai_replay_guard_bytes(g);
    assert_true(bytes > (size_t)CA_REPLAY_GUARD_CAPACITY_DEFAULT * 96);
    assert_true(bytes <=
                (size_t)CA_REPLAY_GUARD_CAPACITY_DEFAULT * CA_REPLAY_GUARD_BYTES_PER_ID + 256);
    ca_identity *a = ident(5);
    for (uint32_t i = 0; i < CA_REPLAY_GUARD_CAPACITY_DEFAULT / 16; i++) {
        ca_envelope *e = env_expiring(a, T0, T0 + TTL, i);
        assert_ok(ca_replay_guard_check(g, e, T0));
        ca_envelope_free(e);
    }
    ca_envelope *e = env_expiring(a, T0, T0 + TTL, UINT32_MAX);
    assert_status(CA_ERR_REPLAY_QUOTA, ca_replay_guard_check(g, e, T0));
    ca_envelope_free(e);
    assert_int_equal(cai_replay_guard_bytes(g), bytes);
    ca_replay_guard_free(g);
    /* Capacity below 16: the quota is one id. */
    assert_ok(guard_new(&g, 15, 0));
    ca_envelope *e1 = env_expiring(a, T0, T0 + TTL, 1), *e2 = env_expiring(a, T0, T0 + TTL, 2);
    assert_ok(ca_replay_guard_check(g, e1, T0));
    assert_status(CA_ERR_REPLAY_QUOTA, ca_replay_guard_check(g, e2, T0));
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, e1, T0));
    ca_envelope_free(e1);
    ca_envelope_free(e2);
    ca_replay_guard_free(g);
    ca_identity_free(a);
}

/*
 * Finding 3: nothing capped an envelope's lifetime. One that lives
 * 2^64 - 1 ms, or a day and a millisecond, is refused by verify with the
 * default options; the cap is an option with a documented default.
 */
static void test_lifetime_verify(void **state)
{
    (void)state;
    ca_identity *a = ident(1);
    const uint64_t max = CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT;
    ca_envelope *forever = env_expiring(a, T0, UINT64_MAX, 1);
    ca_envelope *over = env_expiring(a, T0, T0 + max + 1, 2);
    ca_envelope *at = env_expiring(a, T0, T0 + max, 3);
    assert_status(CA_ERR_LIFETIME, ca_envelope_verify(forever, T0, NULL));
    assert_status(CA_ERR_LIFETIME, ca_envelope_verify(over, T0, NULL));
    assert_ok(ca_envelope_verify(at, T0, NULL));
    assert_ok(ca_envelope_verify(at, T0 + max + 30000, NULL));
    uint8_t buf[512];
    size_t len;
    assert_ok(ca_envelope_encoded(forever, buf, sizeof buf, &len));
    ca_envelope *e = (ca_envelope *)buf;
    assert_status(CA_ERR_LIFETIME, ca_envelope_open(&e, buf, len, T0, NULL));
    assert_null(e);

    ca_envelope_options o;
    assert_ok(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION));
    o.max_lifetime_ms = TTL;
    ca_envelope *ttl = env_expiring(a, T0, T0 + TTL, 4),
                *ttl1 = env_expiring(a, T0, T0 + TTL + 1, 5);
    assert_ok(ca_envelope_verify(ttl, T0, &o));
    assert_status(CA_ERR_LIFETIME, ca_envelope_verify(ttl1, T0, &o));
    o.max_lifetime_ms = UINT64_MAX; /* no cap: the caller's explicit choice */
    assert_ok(ca_envelope_verify(forever, T0, &o));
    o.max_lifetime_ms = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_verify(ttl, T0, &o));
    /* A version-1 caller's struct ends before max_lifetime_ms: the default applies. */
    o.version = 1;
    o.max_lifetime_ms = 1; /* not part of a version-1 struct: never read */
    assert_ok(ca_envelope_verify(ttl1, T0, &o));
    assert_status(CA_ERR_LIFETIME, ca_envelope_verify(over, T0, &o));
    /* Order: the signature first, then the lifetime, then the time window. */
    assert_status(CA_ERR_LIFETIME, ca_envelope_verify(forever, 0, NULL));
    assert_ok(ca_envelope_encoded(over, buf, sizeof buf, &len));
    buf[len - 1] ^= 1;
    assert_ok(ca_envelope_decode(&e, buf, len, NULL)); /* decode alone does not judge lifetimes */
    assert_status(CA_ERR_BAD_SIGNATURE, ca_envelope_verify(e, T0, NULL));
    /* An option no envelope passes is refused before any work, whatever the
     * envelope (envelope.h: the arguments first). */
    assert_ok(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION));
    o.max_lifetime_ms = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_verify(e, T0, &o));
    o.max_envelope_bytes = 1;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_envelope_verify(e, T0, &o));
    ca_envelope_free(e);
    ca_envelope_free(forever);
    ca_envelope_free(over);
    ca_envelope_free(at);
    ca_envelope_free(ttl);
    ca_envelope_free(ttl1);
    ca_identity_free(a);
}

/*
 * Finding 3: a flood from one sender, every envelope at the longest lifetime
 * there is, cannot make the guard refuse another sender's honest message.
 */
static void test_replay_one_sender_flood(void **state)
{
    (void)state;
    ca_identity *mallory = ident(6), *alice = ident(7);
    ca_replay_guard *g = NULL;
    assert_ok(guard_new(&g, 64, 30000));
    size_t accepted = 0;
    for (uint32_t i = 0; i < 200; i++) {
        ca_envelope *m = env_expiring(mallory, T0, i % 2 ? UINT64_MAX : T0 + i + 1, i);
        if (ca_replay_guard_check(g, m, T0) == CA_OK)
            accepted++;
        ca_envelope_free(m);
    }
    assert_true(accepted <= 64 / 16);
    assert_true(ca_replay_guard_count(g) <= 64 / 16);
    ca_envelope *honest = env_expiring(alice, T0, T0 + TTL, 1);
    assert_ok(ca_replay_guard_check(g, honest, T0));
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, honest, T0));
    ca_envelope_free(honest);
    ca_replay_guard_free(g);
    ca_identity_free(mallory);
    ca_identity_free(alice);
}

/* Finding 3: every entry leaves by created_at + max lifetime + skew; nothing stays for ever. */
static void test_replay_entries_expire(void **state)
{
    (void)state;
    ca_identity *a = ident(8);
    const uint64_t max = CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT, skew = 30000;
    ca_replay_guard *g = NULL;
    assert_ok(guard_new(&g, 16, skew));
    ca_envelope *forever = env_expiring(a, T0, UINT64_MAX, 1);
    ca_envelope *future = env_expiring(a, UINT64_MAX - 1, UINT64_MAX, 2);
    ca_envelope *longest = env_expiring(a, T0 + skew, T0 + skew + max, 3);
    /* Never recorded: a lifetime over the cap, a creation time beyond now + skew. */
    assert_status(CA_ERR_LIFETIME, ca_replay_guard_check(g, forever, T0));
    assert_status(CA_ERR_NOT_YET_VALID, ca_replay_guard_check(g, future, T0));
    assert_int_equal(ca_replay_guard_count(g), 0);
    /* The longest-lived acceptable id, created as far ahead as the skew allows. */
    assert_ok(ca_replay_guard_check(g, longest, T0));
    assert_int_equal(ca_replay_guard_count(g), 1);
    uint64_t last = T0 + max + 2 * skew; /* until = created_at + max + skew */
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, longest, last));
    assert_status(CA_ERR_EXPIRED, ca_replay_guard_check(g, longest, last + 1));
    assert_int_equal(ca_replay_guard_count(g), 0);
    /* The verifier agrees on both sides of that edge. */
    assert_ok(ca_envelope_verify(longest, last, NULL));
    assert_status(CA_ERR_EXPIRED, ca_envelope_verify(longest, last + 1, NULL));
    ca_envelope_free(forever);
    ca_envelope_free(future);
    ca_envelope_free(longest);
    ca_replay_guard_free(g);
    ca_identity_free(a);
}

/*
 * Finding 3, counted: a Sybil flood (made-up senders, each far past its
 * quota, every envelope at the maximal lifetime) against a guard of 1024 ids.
 * Entries kept, entries per sender, bytes and table probes stay under the
 * documented bounds; the guard may fill (k senders * quota >= capacity),
 * but recorded ids stay replays, and everything is gone one maximal
 * lifetime + 2 skews later.
 */
static void test_replay_sybil_bounds(void **state)
{
    (void)state;
    enum { CAP = 1024, QUOTA = CAP / 16, SENDERS = 24, EACH = 80 };
    const uint64_t max = CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT, skew = 30000;
    ca_replay_guard *g = NULL;
    assert_ok(guard_new(&g, CAP, skew));
    size_t bytes = cai_replay_guard_bytes(g);
    assert_true(bytes <= (size_t)CAP * CA_REPLAY_GUARD_BYTES_PER_ID + 256);
    ca_identity *sybil[SENDERS];
    ca_agent_id sid[SENDERS];
    size_t accepted = 0, quota_refused = 0, full_refused = 0, checks = 0;
    ca_envelope *first = NULL;
    for (int s = 0; s < SENDERS; s++) {
        sybil[s] = ident((uint8_t)(100 + s));
        ca_identity_id(sybil[s], &sid[s]);
    }
    uint64_t t = T0;
    for (int s = 0; s < SENDERS; s++) {
        for (uint32_t i = 0; i < EACH; i++, t++) {
            /* every id lives max ms: until = created + max + skew */
            ca_envelope *e = env_expiring(sybil[s], t, t + max, i);
            ca_status st = ca_replay_guard_check(g, e, t);
            checks++;
            if (st == CA_OK)
                accepted++;
            else if (st == CA_ERR_REPLAY_QUOTA)
                quota_refused++;
            else if (st == CA_ERR_REPLAY_FULL)
                full_refused++;
            else
                fail_msg("unexpected %s", ca_status_str(st));
            if (first == NULL)
                first = e;
            else
                ca_envelope_free(e);
            assert_true(ca_replay_guard_count(g) <= CAP);
        }
    }
    /* 24 senders x 64 quota > 1024: the flood fills the guard, each sender within its quota
     * (16 senders fill it, 16 ids each are over quota, the last 8 senders find it full). */
    assert_int_equal(accepted, CAP);
    assert_int_equal(ca_replay_guard_count(g), CAP);
    assert_true(quota_refused > 0 && full_refused > 0);
    for (int s = 0; s < SENDERS; s++)
        assert_true(cai_replay_guard_sender_count(g, &sid[s]) <= QUOTA);
    assert_int_equal(cai_replay_guard_bytes(g), bytes); /* nothing allocated after creation */
    /* O(1) per check: keyed tables at most half full keep probe runs short. */
    uint64_t probes = cai_replay_guard_probes(g);
    if (probes > 8 * checks)
        fail_msg("%llu probes for %zu checks", (unsigned long long)probes, checks);
    /* A recorded id stays a replay while the guard is full. */
    assert_status(CA_ERR_REPLAY, ca_replay_guard_check(g, first, T0 + max));
    /* One maximal lifetime + skew after the last flood id was created, all are gone. */
    uint64_t gone = (t - 1) + max + skew + 1;
    ca_identity *alice = ident(9);
    ca_envelope *honest = env_expiring(alice, gone, gone + TTL, 1);
    assert_ok(ca_replay_guard_check(g, honest, gone));
    assert_int_equal(ca_replay_guard_count(g), 1);
    for (int s = 0; s < SENDERS; s++) {
        assert_int_equal(cai_replay_guard_sender_count(g, &sid[s]), 0);
        ca_identity_free(sybil[s]);
    }
    ca_envelope_free(honest);
    ca_envelope_free(first);
    ca_identity_free(alice);
    ca_replay_guard_free(g);
}

/* Random operations against a plain-array model of the same rules (several senders). */
static void test_replay_model(void **state)
{
    (void)state;
    enum { POOL = 160, CAP = 40, QUOTA = 14, SENDERS = 4, OPS = 8000 };
    ca_identity *who[SENDERS];
    for (int s = 0; s < SENDERS; s++)
        who[s] = ident((uint8_t)(4 + s));
    ca_envelope *pool[POOL];
    uint64_t rng = 12345;
#define NEXT() (rng = rng * 6364136223846793005ull + 1442695040888963407ull, rng >> 33)
    for (uint32_t i = 0; i < POOL; i++) {
        uint64_t created = T0 + NEXT() % 5000;
        pool[i] = env_expiring(who[i % SENDERS], created, created + 1 + NEXT() % 20000, i);
    }
    const uint64_t skew = 500, max_life = 15000;
    ca_replay_guard_options o;
    assert_ok(ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION));
    o.capacity = CAP;
    o.max_per_sender = QUOTA;
    o.max_skew_ms = skew;
    o.max_lifetime_ms = max_life;
    ca_replay_guard *g;
    assert_ok(ca_replay_guard_new(&g, &o));
    struct {
        uint32_t idx;
        uint64_t until;
    } model[CAP];
    memset(model, 0, sizeof model);
    size_t mcount = 0, seen[16] = {0};
    uint64_t now = T0;
    for (int op = 0; op < OPS; op++) {
        now += NEXT() % 40;
        uint32_t idx = (uint32_t)(NEXT() % POOL);
        for (size_t k = 0; k < mcount;) {
            if (model[k].until < now)
                model[k] = model[--mcount];
            else
                k++;
        }
        uint64_t created = ca_envelope_created_at(pool[idx]);
        uint64_t expires = ca_envelope_expires_at(pool[idx]);
        uint64_t until = expires + skew;
        size_t mine = 0;
        ca_status want = CA_OK;
        for (size_t k = 0; k < mcount; k++) {
            if (model[k].idx == idx)
                want = CA_ERR_REPLAY;
            mine += model[k].idx % SENDERS == idx % SENDERS;
        }
        if (expires - created > max_life)
            want = CA_ERR_LIFETIME;
        else if (created > now + skew)
            want = CA_ERR_NOT_YET_VALID;
        else if (want == CA_OK && until < now)
            want = CA_ERR_EXPIRED;
        else if (want == CA_OK && mine == QUOTA)
            want = CA_ERR_REPLAY_QUOTA;
        else if (want == CA_OK && mcount == CAP)
            want = CA_ERR_REPLAY_FULL;
        if (want == CA_OK) {
            model[mcount].idx = idx;
            model[mcount].until = until;
            mcount++;
        }
        seen[-want % 16]++; /* the seven statuses below differ mod 16 */
        assert_status(want, ca_replay_guard_check(g, pool[idx], now));
        assert_int_equal(ca_replay_guard_count(g), mcount);
        if (now > T0 + 25000)
            now = T0; /* back in time: nothing wrong with a slow clock, entries stay */
    }
#undef NEXT
    /* Every rule was exercised: OK, REPLAY, EXPIRED, NOT_YET_VALID, LIFETIME, QUOTA, FULL. */
    const ca_status rules[] = {
        CA_OK,           CA_ERR_REPLAY,       CA_ERR_EXPIRED,    CA_ERR_NOT_YET_VALID,
        CA_ERR_LIFETIME, CA_ERR_REPLAY_QUOTA, CA_ERR_REPLAY_FULL};
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++)
        if (seen[-rules[r] % 16] == 0)
            fail_msg("the model never produced %s", ca_status_str(rules[r]));
    ca_replay_guard_free(g);
    for (int i = 0; i < POOL; i++)
        ca_envelope_free(pool[i]);
    for (int s = 0; s < SENDERS; s++)
        ca_identity_free(who[s]);
}

/* ---- test vectors (tests/vectors/envelope_vectors.txt, documented in docs/WIRE.md) ---- */

typedef struct vector {
    char name[64];
    char mode[16];
    uint8_t seed[32];
    uint8_t reader_seed[32];
    bool has_reader;
    uint32_t kind;
    uint8_t recipient[32];
    bool has_recipient;
    uint8_t parent[32];
    bool has_parent;
    uint64_t created_at, expires_at;
    uint32_t sign_flags, flags;
    uint8_t body[2048];
    size_t body_len;
    uint8_t signed_bytes[4096];
    size_t signed_len;
    uint8_t id[32];
    uint8_t envelope[4096];
    size_t envelope_len;
    char verify_default[32]; /* status name */
    char body_status[32];
} vector;

static void hex_field(const char *val, uint8_t *out, size_t cap, size_t *len, bool *present)
{
    if (strcmp(val, "-") == 0) {
        *len = 0;
        if (present)
            *present = false;
        return;
    }
    size_t n = test_hex_decode(val, out, cap);
    assert_true(n != (size_t)-1);
    *len = n;
    if (present)
        *present = true;
}

static void check_vector(const vector *v)
{
    ca_identity *signer;
    assert_ok(ca_identity_from_seed(&signer, v->seed));
    ca_envelope *e;
    /* With the default options (the lifetime cap), then without a cap for the other checks. */
    ca_status st = ca_envelope_open(&e, v->envelope, v->envelope_len, v->created_at, NULL);
    if (strcmp(ca_status_str(st), v->verify_default) != 0)
        fail_msg("vector %s: verify gives %s, the vector says %s", v->name, ca_status_str(st),
                 v->verify_default);
    if (st == CA_OK)
        ca_envelope_free(e);
    ca_envelope_options uncapped;
    assert_ok(ca_envelope_options_init(&uncapped, CA_ENVELOPE_OPTIONS_VERSION));
    uncapped.max_lifetime_ms = UINT64_MAX;
    assert_ok(ca_envelope_open(&e, v->envelope, v->envelope_len, v->created_at, &uncapped));
    uint8_t again[4096];
    size_t again_len;
    assert_ok(cai_envelope_reencode(e, again, sizeof again, &again_len));
    assert_int_equal(again_len, v->envelope_len);
    assert_memory_equal(again, v->envelope, again_len);
    ca_hash id;
    ca_envelope_id(e, &id);
    assert_memory_equal(id.bytes, v->id, 32);
    uint8_t h[32];
    crypto_generichash(h, 32, v->signed_bytes, v->signed_len, NULL, 0);
    assert_memory_equal(h, v->id, 32);
    ca_agent_id sender;
    ca_identity_id(signer, &sender);
    assert_int_equal(crypto_sign_verify_detached(v->envelope + v->envelope_len - 64,
                                                 v->signed_bytes, v->signed_len, sender.bytes),
                     0);
    ca_agent_id who;
    ca_envelope_sender(e, &who);
    assert_memory_equal(who.bytes, sender.bytes, 32);
    assert_int_equal(ca_envelope_kind(e), v->kind);
    assert_int_equal(ca_envelope_flags(e), v->flags);
    assert_int_equal(ca_envelope_recipient(e, &who), v->has_recipient);
    if (v->has_recipient)
        assert_memory_equal(who.bytes, v->recipient, 32);
    ca_hash ph;
    assert_int_equal(ca_envelope_parent(e, &ph), v->has_parent);
    if (v->has_parent)
        assert_memory_equal(ph.bytes, v->parent, 32);
    ca_identity *reader = NULL;
    if (v->has_reader)
        assert_ok(ca_identity_from_seed(&reader, v->reader_seed));
    uint8_t out[2048];
    size_t n;
    st = ca_envelope_body(e, reader, NULL, out, sizeof out, &n);
    if (strcmp(ca_status_str(st), v->body_status) != 0)
        fail_msg("vector %s: body gives %s, the vector says %s", v->name, ca_status_str(st),
                 v->body_status);
    if (st == CA_OK) {
        assert_int_equal(n, v->body_len);
        assert_memory_equal(out, v->body, n);
    }
    ca_envelope_free(e);

    if (strcmp(v->mode, "sign") == 0) { /* deterministic: re-create byte for byte */
        ca_envelope_params p;
        assert_ok(ca_envelope_params_init(&p, CA_ENVELOPE_PARAMS_VERSION));
        ca_agent_id rid;
        ca_hash parent;
        memcpy(rid.bytes, v->recipient, 32);
        memcpy(parent.bytes, v->parent, 32);
        p.kind = v->kind;
        p.recipient = v->has_recipient ? &rid : NULL;
        p.parent = v->has_parent ? &parent : NULL;
        p.created_at = v->created_at;
        p.expires_at = v->expires_at;
        p.flags = v->sign_flags;
        uint8_t enc[4096];
        size_t len;
        ca_hash sid;
        assert_ok(ca_envelope_sign(signer, &p, v->body, v->body_len, enc, sizeof enc, &len, &sid));
        assert_int_equal(len, v->envelope_len);
        assert_memory_equal(enc, v->envelope, len);
        assert_memory_equal(sid.bytes, v->id, 32);
    }
    ca_identity_free(reader);
    ca_identity_free(signer);
}

/* docs/WIRE.md shows every vector's envelope (hex wrapped in code blocks). */
static char *wire_doc_hex(void)
{
    FILE *f = fopen(CA_TEST_VECTORS_DIR "/../../docs/WIRE.md", "r");
    assert_non_null(f);
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    int c;
    while ((c = fgetc(f)) != EOF && n + 1 < cap)
        if (c != ' ' && c != '\n' && c != '\r')
            text[n++] = (char)c;
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_vectors(void **state)
{
    char *doc = wire_doc_hex();
    (void)state;
    FILE *f = fopen(CA_TEST_VECTORS_DIR "/envelope_vectors.txt", "r");
    assert_non_null(f);
    static char line[16384];
    static vector v;
    memset(&v, 0, sizeof v);
    int checked = 0, fields = 0;
    bool seen_compressed = false, seen_sealed = false, seen_links = false, seen_lifetime = false,
         seen_resigned = false;
    for (;;) {
        char *got = fgets(line, sizeof line, f);
        size_t l = got ? strlen(line) : 0;
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        if (got == NULL || l == 0) {
            if (fields > 0) {
                check_vector(&v);
                char hex[2 * sizeof v.envelope + 1];
                for (size_t i = 0; i < v.envelope_len; i++)
                    snprintf(hex + 2 * i, 3, "%02x", v.envelope[i]);
                if (strstr(doc, hex) == NULL)
                    fail_msg("vector %s is not shown in docs/WIRE.md", v.name);
                checked++;
                seen_compressed |= (v.flags & CA_ENVELOPE_COMPRESS) != 0;
                seen_sealed |= (v.flags & CA_ENVELOPE_SEAL) != 0;
                seen_links |= v.has_recipient && v.has_parent;
                seen_lifetime |= strcmp(v.verify_default, "CA_ERR_LIFETIME") == 0;
                seen_resigned |= strcmp(v.body_status, "CA_ERR_SEAL_MISMATCH") == 0;
                memset(&v, 0, sizeof v);
                fields = 0;
            }
            if (got == NULL)
                break;
            continue;
        }
        if (line[0] == '#')
            continue;
        char *eq = strstr(line, " = ");
        assert_non_null(eq);
        *eq = '\0';
        const char *key = line, *val = eq + 3;
        size_t n;
        fields++;
        if (strcmp(key, "name") == 0)
            snprintf(v.name, sizeof v.name, "%s", val);
        else if (strcmp(key, "mode") == 0)
            snprintf(v.mode, sizeof v.mode, "%s", val);
        else if (strcmp(key, "seed") == 0)
            test_hex_exact(val, v.seed, 32);
        else if (strcmp(key, "reader_seed") == 0)
            hex_field(val, v.reader_seed, 32, &n, &v.has_reader);
        else if (strcmp(key, "kind") == 0)
            v.kind = (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(key, "recipient") == 0)
            hex_field(val, v.recipient, 32, &n, &v.has_recipient);
        else if (strcmp(key, "parent") == 0)
            hex_field(val, v.parent, 32, &n, &v.has_parent);
        else if (strcmp(key, "created_at") == 0)
            v.created_at = strtoull(val, NULL, 10);
        else if (strcmp(key, "expires_at") == 0)
            v.expires_at = strtoull(val, NULL, 10);
        else if (strcmp(key, "sign_flags") == 0)
            v.sign_flags = (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(key, "flags") == 0)
            v.flags = (uint32_t)strtoul(val, NULL, 10);
        else if (strcmp(key, "body") == 0)
            hex_field(val, v.body, sizeof v.body, &v.body_len, NULL);
        else if (strcmp(key, "signed") == 0)
            hex_field(val, v.signed_bytes, sizeof v.signed_bytes, &v.signed_len, NULL);
        else if (strcmp(key, "id") == 0)
            test_hex_exact(val, v.id, 32);
        else if (strcmp(key, "envelope") == 0)
            hex_field(val, v.envelope, sizeof v.envelope, &v.envelope_len, NULL);
        else if (strcmp(key, "verify_default") == 0)
            snprintf(v.verify_default, sizeof v.verify_default, "%s", val);
        else if (strcmp(key, "body_status") == 0)
            snprintf(v.body_status, sizeof v.body_status, "%s", val);
        else if (strcmp(key, "sender") != 0 && strcmp(key, "sender_did") != 0)
            fail_msg("unknown vector field '%s'", key);
    }
    fclose(f);
    free(doc);
    assert_true(checked >= 5);
    assert_true(seen_compressed && seen_sealed && seen_links && seen_lifetime && seen_resigned);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_kinds_options),
        cmocka_unit_test(test_roundtrip_fields),
        cmocka_unit_test(test_signed_bytes_rule),
        cmocka_unit_test(test_ownership_rule),
        cmocka_unit_test(test_bound_is_tight),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_zstd_bomb_and_bad_frames),
        cmocka_unit_test(test_sealed),
        cmocka_unit_test(test_sealed_bound_to_sender),
        cmocka_unit_test(test_seal_construction),
        cmocka_unit_test(test_replay_basic),
        cmocka_unit_test(test_replay_options),
        cmocka_unit_test(test_lifetime_verify),
        cmocka_unit_test(test_replay_one_sender_flood),
        cmocka_unit_test(test_replay_entries_expire),
        cmocka_unit_test(test_replay_sybil_bounds),
        cmocka_unit_test(test_replay_model),
        cmocka_unit_test(test_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
