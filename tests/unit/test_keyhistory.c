/*
 * Key rotation with pre-rotation (include/cyberagent/keyhistory.h,
 * docs/IDENTITY.md "Key rotation"): events, the history's order rules, the
 * envelope window rule, and the recovery drill.
 */
#include <stdlib.h>

#include <sodium.h>

#include "cyberagent.h"
#include "identity/identity_internal.h"
#include "keyhistory/keyhistory_internal.h"
#include "test_util.h"

#define T0    1700000000000ull
#define MINUT 60000ull

static ca_identity *key_n(int n)
{
    uint8_t seed[32] = {0x6b, (uint8_t)n, (uint8_t)(n >> 8)};
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

static ca_hash commit_of(const ca_identity *id)
{
    ca_agent_id pk;
    ca_hash c;
    ca_identity_id(id, &pk);
    assert_ok(ca_key_commitment(&pk, &c));
    return c;
}

/* A history incepted by key 0 with next key 1, at T0. */
static ca_key_history *incept(ca_identity *k0, ca_identity *k1, uint8_t *ev, size_t *len)
{
    ca_hash c = commit_of(k1);
    assert_ok(ca_key_event_incept(k0, &c, T0, ev, CA_KEY_EVENT_MAX_BYTES, len));
    ca_key_history *h = NULL;
    assert_ok(ca_key_history_new(&h, ev, *len));
    return h;
}

/* Rotates `h` to `revealed`, committing to `next`, at `time`. */
static void rotate(ca_key_history *h, ca_identity *revealed, ca_identity *next, uint64_t time)
{
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t len = 0;
    ca_hash c = commit_of(next);
    assert_ok(ca_key_event_rotate(h, revealed, &c, time, ev, sizeof ev, &len));
    assert_ok(ca_key_history_append(h, ev, len));
}

/* An event built and signed outside the rules (what a forger can make). */
static size_t forge(const cai_key_event *in, const ca_identity *signer, uint8_t *out)
{
    cai_key_event ev = *in;
    size_t len = 0;
    assert_ok(cai_key_event_sign(&ev, signer, out, CA_KEY_EVENT_MAX_BYTES, &len));
    return len;
}

/* A signed application envelope by `signer`. */
static size_t envelope(const ca_identity *signer, uint64_t created, uint64_t expires, uint8_t *out,
                       size_t cap)
{
    ca_envelope_params p;
    assert_ok(ca_envelope_params_init(&p, CA_ENVELOPE_PARAMS_VERSION));
    p.kind = CA_KIND_APP_MIN;
    p.created_at = created;
    p.expires_at = expires;
    size_t len = 0;
    assert_ok(ca_envelope_sign(signer, &p, (const uint8_t *)"hi", 2, out, cap, &len, NULL));
    return len;
}

static ca_status verify_with(const ca_key_history *h, const ca_identity *signer, uint64_t created,
                             uint64_t expires, uint64_t now)
{
    uint8_t buf[512];
    size_t len = envelope(signer, created, expires, buf, sizeof buf);
    ca_envelope *e = NULL;
    assert_ok(ca_envelope_decode(&e, buf, len, NULL));
    ca_status st = ca_key_history_verify_envelope(h, e, now, NULL);
    ca_envelope_free(e);
    return st;
}

static void test_inception(void **state)
{
    (void)state;
    ca_identity *k0 = key_n(0), *k1 = key_n(1);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t len = 0;
    ca_key_history *h = incept(k0, k1, ev, &len);
    assert_true(len <= CA_KEY_EVENT_MAX_BYTES);
    assert_int_equal(ca_key_event_max_bytes(), CA_KEY_EVENT_MAX_BYTES);

    ca_key_event_info info = {.version = CA_KEY_EVENT_INFO_VERSION};
    assert_ok(ca_key_event_open(ev, len, &info));
    assert_int_equal(info.type, CA_KEY_EVENT_INCEPTION);
    assert_int_equal(info.sequence, 0);
    assert_int_equal(info.time, T0);
    ca_agent_id pk0;
    ca_identity_id(k0, &pk0);
    assert_memory_equal(info.key.bytes, pk0.bytes, 32);
    ca_hash c1 = commit_of(k1);
    assert_memory_equal(info.next.bytes, c1.bytes, 32);
    /* The stable id is the inception's digest: BLAKE2b-256 of tag || event without signature. */
    assert_memory_equal(info.identifier.bytes, info.digest.bytes, 32);
    uint8_t sb[128 + CA_KEY_EVENT_MAX_BYTES];
    static const char tag[] = "cyberagent/1/key-event";
    memcpy(sb, tag, sizeof tag - 1);
    sb[sizeof tag - 1] = (uint8_t)(ev[0] - 1); /* one entry fewer: no signature */
    memcpy(sb + sizeof tag, ev + 1, len - 1 - 67);
    size_t sn = sizeof tag - 1 + len - 67;
    uint8_t d[32];
    crypto_generichash(d, 32, sb, sn, NULL, 0);
    assert_memory_equal(d, info.digest.bytes, 32);
    assert_int_equal(crypto_sign_verify_detached(ev + len - 64, sb, sn, pk0.bytes), 0);
    /* The commitment is BLAKE2b-256("cyberagent/1/next-key" || key). */
    ca_agent_id pk1;
    ca_identity_id(k1, &pk1);
    uint8_t cb[21 + 32];
    memcpy(cb, "cyberagent/1/next-key", 21);
    memcpy(cb + 21, pk1.bytes, 32);
    crypto_generichash(d, 32, cb, sizeof cb, NULL, 0);
    assert_memory_equal(d, c1.bytes, 32);

    ca_hash hid, last;
    ca_key_history_id(h, &hid);
    ca_key_history_last_digest(h, &last);
    assert_memory_equal(hid.bytes, info.digest.bytes, 32);
    assert_memory_equal(last.bytes, info.digest.bytes, 32);
    assert_int_equal(ca_key_history_sequence(h), 0);
    ca_agent_id cur;
    ca_key_history_current(h, &cur);
    assert_memory_equal(cur.bytes, pk0.bytes, 32);

    /* Every byte flip is refused, by the decoder or the signature. */
    for (size_t i = 0; i < len; i++) {
        ev[i] ^= 0x01;
        ca_key_event_info x = {.version = CA_KEY_EVENT_INFO_VERSION};
        ca_status st = ca_key_event_open(ev, len, &x);
        assert_true(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_SIGNATURE);
        ev[i] ^= 0x01;
    }
    /* Versions and arguments. */
    ca_key_event_info bad = {.version = 0};
    assert_status(CA_ERR_UNSUPPORTED, ca_key_event_open(ev, len, &bad));
    bad.version = CA_KEY_EVENT_INFO_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, ca_key_event_open(ev, len, &bad));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_key_event_incept(NULL, &c1, T0, ev, len, &len));
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_key_event_incept(k0, &c1, T0, NULL, 0, &need));
    assert_int_equal(need, len);
    ca_key_history_free(h);
    ca_key_history_free(NULL);
    ca_identity_free(k0);
    ca_identity_free(k1);
}

/* 16 rotations: id stable, sequence, current key, each key's window. */
static void test_rotation_chain(void **state)
{
    (void)state;
    enum { N = 16 };
    ca_identity *k[N + 2];
    for (int i = 0; i < N + 2; i++)
        k[i] = key_n(i);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t len = 0;
    ca_key_history *h = incept(k[0], k[1], ev, &len);
    ca_hash id0;
    ca_key_history_id(h, &id0);
    for (int i = 1; i <= N; i++) {
        ca_hash prior;
        ca_key_history_last_digest(h, &prior);
        ca_hash c = commit_of(k[i + 1]);
        uint8_t rv[CA_KEY_EVENT_MAX_BYTES];
        size_t rl = 0;
        assert_ok(ca_key_event_rotate(h, k[i], &c, T0 + (uint64_t)i * MINUT, rv, sizeof rv, &rl));
        ca_key_event_info info = {.version = CA_KEY_EVENT_INFO_VERSION};
        assert_ok(ca_key_event_open(rv, rl, &info));
        assert_int_equal(info.type, CA_KEY_EVENT_ROTATION);
        assert_int_equal(info.sequence, (uint64_t)i);
        assert_memory_equal(info.identifier.bytes, id0.bytes, 32);
        assert_memory_equal(info.prior.bytes, prior.bytes, 32);
        assert_true(rl <= CA_KEY_EVENT_MAX_BYTES);
        assert_ok(ca_key_history_append(h, rv, rl));
        /* Appending the same event again is out of order. */
        assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, rv, rl));
    }
    ca_hash id;
    ca_key_history_id(h, &id);
    assert_memory_equal(id.bytes, id0.bytes, 32);
    assert_int_equal(ca_key_history_sequence(h), N);
    for (int i = 0; i <= N; i++) {
        ca_agent_id pk;
        ca_identity_id(k[i], &pk);
        ca_key_info ki = {.version = CA_KEY_INFO_VERSION};
        assert_ok(ca_key_history_key(h, &pk, &ki));
        assert_int_equal(ki.sequence, (uint64_t)i);
        assert_int_equal(ki.valid_from, T0 + (uint64_t)i * MINUT);
        assert_int_equal(ki.valid_until, i == N ? UINT64_MAX : T0 + (uint64_t)(i + 1) * MINUT);
        assert_int_equal(ki.current, i == N);
    }
    ca_agent_id pk;
    ca_identity_id(k[N + 1], &pk); /* committed, never revealed */
    ca_key_info ki = {.version = CA_KEY_INFO_VERSION};
    assert_status(CA_ERR_NOT_FOUND, ca_key_history_key(h, &pk, &ki));
    ki.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_key_history_key(h, &pk, &ki));
    ca_key_history_free(h);
    for (int i = 0; i < N + 2; i++)
        ca_identity_free(k[i]);
}

/* Every event that does not follow the history is refused, and changes nothing. */
static void test_order_rules(void **state)
{
    (void)state;
    ca_identity *k0 = key_n(0), *k1 = key_n(1), *k2 = key_n(2), *k3 = key_n(3);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES], inc[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len = 0;
    ca_key_history *h = incept(k0, k1, inc, &inc_len);
    ca_hash id, last;
    ca_key_history_id(h, &id);
    ca_key_history_last_digest(h, &last);
    ca_hash c2 = commit_of(k2);

    cai_key_event good = {.type = CA_KEY_EVENT_ROTATION, .sequence = 1, .time = T0 + MINUT};
    memcpy(good.identifier, id.bytes, 32);
    memcpy(good.prior, last.bytes, 32);
    ca_identity_id(k1, (ca_agent_id *)good.key);
    memcpy(good.next, c2.bytes, 32);

    cai_key_event x = good;
    x.sequence = 2;
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, ev, forge(&x, k1, ev)));
    x = good;
    x.prior[0] ^= 1;
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, ev, forge(&x, k1, ev)));
    x = good;
    x.identifier[0] ^= 1;
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, ev, forge(&x, k1, ev)));
    x = good;
    x.time = T0 - 1;
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, ev, forge(&x, k1, ev)));
    assert_status(CA_ERR_KEY_EVENT_ORDER,
                  ca_key_event_rotate(h, k1, &c2, T0 - 1, ev, sizeof ev, &inc_len));
    /* An inception does not follow an inception. */
    size_t n = 0;
    assert_ok(ca_key_event_incept(k1, &c2, T0 + MINUT, ev, sizeof ev, &n));
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, ev, n));
    /* A history does not begin with a rotation. */
    ca_key_history *h2 = NULL;
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_new(&h2, ev, forge(&good, k1, ev)));
    assert_null(h2);
    /* Key 2 signs a well-formed rotation: not the committed key. */
    x = good;
    ca_identity_id(k2, (ca_agent_id *)x.key);
    assert_status(CA_ERR_KEY_NOT_COMMITTED, ca_key_history_append(h, ev, forge(&x, k2, ev)));
    /* Signed by another key than the one it names. */
    x = good;
    assert_status(CA_ERR_BAD_SIGNATURE, ca_key_history_append(h, ev, forge(&x, k2, ev)));

    /* Nothing changed: the genuine rotation still applies. */
    assert_int_equal(ca_key_history_sequence(h), 0);
    assert_ok(ca_key_history_append(h, ev, forge(&good, k1, ev)));
    assert_int_equal(ca_key_history_sequence(h), 1);

    /* A key the history used before cannot come back (committed by the owner or not). */
    ca_hash c0 = commit_of(k0);
    rotate(h, k2, k0, T0 + 2 * MINUT);
    assert_status(CA_ERR_KEY_EVENT_ORDER,
                  ca_key_event_rotate(h, k0, &c0, T0 + 3 * MINUT, ev, sizeof ev, &n));
    cai_key_event back = {.type = CA_KEY_EVENT_ROTATION, .sequence = 3, .time = T0 + 3 * MINUT};
    ca_key_history_last_digest(h, &last);
    memcpy(back.identifier, id.bytes, 32);
    memcpy(back.prior, last.bytes, 32);
    ca_identity_id(k0, (ca_agent_id *)back.key);
    memcpy(back.next, c2.bytes, 32);
    assert_status(CA_ERR_KEY_EVENT_ORDER, ca_key_history_append(h, ev, forge(&back, k0, ev)));
    assert_int_equal(ca_key_history_sequence(h), 2);
    ca_key_history_free(h);
    ca_identity_free(k0);
    ca_identity_free(k1);
    ca_identity_free(k2);
    ca_identity_free(k3);
}

/* The strict decoder: one encoding per event. */
static void test_decoder_strict(void **state)
{
    (void)state;
    ca_identity *k0 = key_n(0), *k1 = key_n(1);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES + 8];
    size_t len = 0;
    ca_key_history *h = incept(k0, k1, ev, &len);
    cai_key_event d;
    assert_ok(cai_key_event_decode(ev, len, &d));
    /* Re-encodes to the input. */
    uint8_t re[CA_KEY_EVENT_MAX_BYTES];
    size_t rl = 0;
    assert_ok(cai_key_event_encode(&d, re, sizeof re, &rl));
    assert_int_equal(rl, len);
    assert_memory_equal(re, ev, len);
    /* Trailing byte, truncation, oversize. */
    ev[len] = 0;
    assert_status(CA_ERR_MALFORMED, cai_key_event_decode(ev, len + 1, &d));
    assert_status(CA_ERR_MALFORMED, cai_key_event_decode(ev, len - 1, &d));
    assert_status(CA_ERR_LIMIT, cai_key_event_decode(ev, CA_KEY_EVENT_MAX_BYTES + 1, &d));
    /* An inception with rotation fields (sequence 1, identifier, prior) has no encoding. */
    cai_key_event x = {.type = CA_KEY_EVENT_ROTATION, .sequence = 1, .time = T0};
    uint8_t fx[CA_KEY_EVENT_MAX_BYTES];
    size_t fl = forge(&x, k0, fx);
    /* Flip the type to inception: the rotation rows are then unknown keys. */
    assert_int_equal(fx[1], 0x00);
    fx[2] = CA_KEY_EVENT_INCEPTION;
    assert_status(CA_ERR_MALFORMED, cai_key_event_decode(fx, fl, &d));
    /* Unknown type. */
    fx[2] = 3;
    assert_status(CA_ERR_MALFORMED, cai_key_event_decode(fx, fl, &d));
    ca_key_history_free(h);
    ca_identity_free(k0);
    ca_identity_free(k1);
}

/* The window rule: expires_at <= R, created_at + skew >= valid_from; O(1) lookups. */
static void test_verify_window(void **state)
{
    (void)state;
    enum { N = 16 };
    ca_identity *k[N + 2];
    for (int i = 0; i < N + 2; i++)
        k[i] = key_n(100 + i);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t len = 0;
    ca_key_history *h = incept(k[0], k[1], ev, &len);
    for (int i = 1; i <= N; i++)
        rotate(h, k[i], k[i + 1], T0 + (uint64_t)i * 10 * MINUT);
    const uint64_t skew = CA_ENVELOPE_MAX_SKEW_MS_DEFAULT;
    /* Key 3 was current in [T0 + 30 min, T0 + 40 min). */
    const uint64_t from = T0 + 30 * MINUT, until = T0 + 40 * MINUT;
    assert_ok(verify_with(h, k[3], from, until, from));
    assert_status(CA_ERR_KEY_ROTATED, verify_with(h, k[3], from, until + 1, from));
    assert_ok(verify_with(h, k[3], from - skew, until, from));
    assert_status(CA_ERR_KEY_ROTATED, verify_with(h, k[3], from - skew - 1, until, from));
    /* Its envelopes are accepted until R + skew on the verifier's clock, and never after. */
    assert_ok(verify_with(h, k[3], until - MINUT, until, until + skew));
    assert_status(CA_ERR_EXPIRED, verify_with(h, k[3], until - MINUT, until, until + skew + 1));
    /* The current key: any time from its rotation on. */
    const uint64_t cur = T0 + N * 10 * MINUT;
    assert_ok(verify_with(h, k[N], cur, cur + 24 * 60 * MINUT, cur));
    /* A committed key not yet revealed, and a stranger, are no keys of the identity. */
    assert_status(CA_ERR_KEY_UNKNOWN, verify_with(h, k[N + 1], cur, cur + MINUT, cur));
    ca_identity *stranger = key_n(999);
    assert_status(CA_ERR_KEY_UNKNOWN, verify_with(h, stranger, cur, cur + MINUT, cur));
    ca_identity_free(stranger);
    /* Envelope checks still apply (a bad signature, time). */
    assert_status(CA_ERR_NOT_YET_VALID, verify_with(h, k[N], cur + skew + 1, cur + MINUT, cur));

    /* Counted: the current key makes no table lookup, an older key exactly one. */
    uint8_t buf[512];
    size_t bl = envelope(k[N], cur, cur + MINUT, buf, sizeof buf);
    ca_envelope *e = NULL;
    assert_ok(ca_envelope_decode(&e, buf, bl, NULL));
    uint64_t before = cai_key_history_lookups(h);
    for (int i = 0; i < 100; i++)
        assert_ok(ca_key_history_verify_envelope(h, e, cur, NULL));
    assert_int_equal(cai_key_history_lookups(h), before);
    ca_envelope_free(e);
    bl = envelope(k[0], T0, T0 + MINUT, buf, sizeof buf);
    assert_ok(ca_envelope_decode(&e, buf, bl, NULL));
    before = cai_key_history_lookups(h);
    assert_ok(ca_key_history_verify_envelope(h, e, T0, NULL));
    assert_int_equal(cai_key_history_lookups(h), before + 1);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_key_history_verify_envelope(NULL, e, T0, NULL));
    ca_envelope_free(e);
    ca_key_history_free(h);
    for (int i = 0; i < N + 2; i++)
        ca_identity_free(k[i]);
}

/*
 * Recovery drill: the current key is stolen. The thief signs messages and
 * tries to rotate (refused: it does not know the pre-committed key); the
 * owner rotates with it; the thief's later messages are refused by a
 * verifier that holds the history, the owner's accepted, the id unchanged.
 */
static void test_recovery_drill(void **state)
{
    (void)state;
    ca_identity *owner0 = key_n(200), *owner1 = key_n(201), *owner2 = key_n(202);
    uint8_t inc[CA_KEY_EVENT_MAX_BYTES];
    size_t inc_len = 0;
    ca_key_history *owner = incept(owner0, owner1, inc, &inc_len);
    /* A verifier (another agent) holds its own copy of the history. */
    ca_key_history *verifier = NULL;
    assert_ok(ca_key_history_new(&verifier, inc, inc_len));
    ca_hash id_before;
    ca_key_history_id(verifier, &id_before);

    /* The thief copies the current key's seed. */
    uint8_t seed[32];
    assert_ok(ca_identity_export_seed(owner0, seed));
    ca_identity *thief = NULL;
    assert_ok(ca_identity_from_seed(&thief, seed));
    sodium_memzero(seed, sizeof seed);
    const uint64_t theft = T0 + 5 * MINUT;
    /* Before the owner notices, the thief's messages pass: it holds the current key. */
    assert_ok(verify_with(verifier, thief, theft, theft + 10 * MINUT, theft));

    /* The thief tries to rotate the identity to a key of its own: with the stolen key ... */
    ca_identity *thief_next = key_n(666);
    ca_hash tc = commit_of(thief_next);
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t n = 0;
    assert_status(CA_ERR_KEY_NOT_COMMITTED,
                  ca_key_event_rotate(verifier, thief, &tc, theft, ev, sizeof ev, &n));
    /* ... or with a fresh key, forging the event by hand: refused by the verifier. */
    ca_hash last;
    ca_key_history_last_digest(verifier, &last);
    cai_key_event f = {.type = CA_KEY_EVENT_ROTATION, .sequence = 1, .time = theft};
    memcpy(f.identifier, id_before.bytes, 32);
    memcpy(f.prior, last.bytes, 32);
    memcpy(f.next, tc.bytes, 32);
    ca_identity_id(thief, (ca_agent_id *)f.key);
    assert_status(CA_ERR_KEY_NOT_COMMITTED,
                  ca_key_history_append(verifier, ev, forge(&f, thief, ev)));
    ca_identity *thief_fresh = key_n(667);
    ca_identity_id(thief_fresh, (ca_agent_id *)f.key);
    assert_status(CA_ERR_KEY_NOT_COMMITTED,
                  ca_key_history_append(verifier, ev, forge(&f, thief_fresh, ev)));
    assert_int_equal(ca_key_history_sequence(verifier), 0);

    /* The owner rotates with the pre-committed key at R and commits to the next one. */
    const uint64_t R = T0 + 20 * MINUT;
    ca_hash c2 = commit_of(owner2);
    assert_ok(ca_key_event_rotate(owner, owner1, &c2, R, ev, sizeof ev, &n));
    assert_ok(ca_key_history_append(owner, ev, n));
    assert_ok(ca_key_history_append(verifier, ev, n)); /* the rotation reaches the verifier */

    /* The thief's later messages are refused, backdated or not. */
    assert_status(CA_ERR_KEY_ROTATED,
                  verify_with(verifier, thief, R + MINUT, R + 2 * MINUT, R + MINUT));
    assert_status(CA_ERR_KEY_ROTATED,
                  verify_with(verifier, thief, R - MINUT, R + MINUT, R + MINUT));
    assert_status(CA_ERR_KEY_ROTATED, verify_with(verifier, thief, R - 60 * MINUT, R + 1, R));
    /* Backdated to end by R: refused once the verifier's clock is past R + skew. */
    const uint64_t skew = CA_ENVELOPE_MAX_SKEW_MS_DEFAULT;
    assert_status(CA_ERR_EXPIRED, verify_with(verifier, thief, R - 10 * MINUT, R, R + skew + 1));
    /* The thief cannot rotate now either: the next commitment is to owner2. */
    assert_status(CA_ERR_KEY_NOT_COMMITTED,
                  ca_key_event_rotate(verifier, thief, &tc, R + MINUT, ev, sizeof ev, &n));
    /* The owner's messages with the new key are accepted. */
    assert_ok(verify_with(verifier, owner1, R + MINUT, R + 60 * MINUT, R + MINUT));
    /* The identity's stable id is unchanged; the current key is the owner's new one. */
    ca_hash id_after;
    ca_key_history_id(verifier, &id_after);
    assert_memory_equal(id_after.bytes, id_before.bytes, 32);
    ca_agent_id cur, pk1;
    ca_key_history_current(verifier, &cur);
    ca_identity_id(owner1, &pk1);
    assert_memory_equal(cur.bytes, pk1.bytes, 32);

    ca_key_history_free(owner);
    ca_key_history_free(verifier);
    ca_identity_free(owner0);
    ca_identity_free(owner1);
    ca_identity_free(owner2);
    ca_identity_free(thief);
    ca_identity_free(thief_next);
    ca_identity_free(thief_fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inception),     cmocka_unit_test(test_rotation_chain),
        cmocka_unit_test(test_order_rules),   cmocka_unit_test(test_decoder_strict),
        cmocka_unit_test(test_verify_window), cmocka_unit_test(test_recovery_drill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
