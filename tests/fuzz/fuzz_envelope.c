/*
 * Fuzz target: the strict envelope decoder (ca_envelope_decode) and what a
 * receiver does next with a decoded envelope.
 *
 * Invariants on every input that decodes:
 *   - canonical: the envelope encoded afresh from its decoded field values
 *     (cai_envelope_reencode, the signer's own encoder) is the input byte for
 *     byte, so the decoder accepts one encoding per message and loses no
 *     field; and the id is the hash of those re-encoded signed bytes;
 *   - decoding is deterministic (same id twice);
 *   - verify returns a documented status and never crashes; past the
 *     default maximum lifetime it is CA_ERR_LIFETIME;
 *   - the body, extracted with a small cap (4 KiB) by the recipient of the
 *     seed corpus's sealed envelopes (RFC 8032 test 2 seed), comes back
 *     within the cap or with a documented status, through both the public
 *     call and the internal zero-copy view;
 *   - a replay guard accepts the id once, then reports a replay; an
 *     envelope past the maximum lifetime is never recorded.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cyberagent.h"
#include "envelope/envelope_internal.h"
#include "fuzz.h"

#define BODY_CAP 4096u

static ca_identity *reader(void)
{
    static ca_identity *id;
    if (id == NULL) {
        static const uint8_t seed[32] = {0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda,
                                         0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f,
                                         0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24,
                                         0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb};
        FUZZ_CHECK(ca_identity_from_seed(&id, seed) == CA_OK);
    }
    return id;
}

static int body_status_ok(ca_status st)
{
    return st == CA_OK || st == CA_ERR_DECOMPRESS || st == CA_ERR_SEALED ||
           st == CA_ERR_SEAL_MISMATCH || st == CA_ERR_LIMIT || st == CA_ERR_BUFFER_TOO_SMALL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_envelope_options o;
    FUZZ_CHECK(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION) == CA_OK);
    o.max_body_bytes = BODY_CAP;
    ca_envelope *e = NULL;
    ca_status st = FUZZ_CALL(ca_envelope_decode(&e, data, size, &o));
    if (st != CA_OK) {
        FUZZ_CHECK(e == NULL);
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_VERSION || st == CA_ERR_LIMIT ||
                   st == CA_ERR_INVALID_ARGUMENT);
        return 0;
    }

    /* Canonical: encoded afresh from the decoded fields, it is exactly the input. */
    size_t len = 0;
    FUZZ_CHECK(FUZZ_CALL(cai_envelope_reencode(e, NULL, 0, &len)) == CA_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(len == size);
    uint8_t *again = malloc(size + 32);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(cai_envelope_reencode(e, again, size + 32, &len) == CA_OK);
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
    /* The id: BLAKE2b-256 of tag || map header - 1 || the re-encoded fields 0..8. */
    char tag[32];
    int tag_len = snprintf(tag, sizeof tag, "cyberagent/1/%lu", (unsigned long)ca_envelope_kind(e));
    FUZZ_CHECK(tag_len > 0 && size > 67 && (again[0] & 0xf0) == 0x80);
    uint8_t head = (uint8_t)(again[0] - 1);
    crypto_generichash_state hs;
    ca_hash want;
    crypto_generichash_init(&hs, NULL, 0, sizeof want.bytes);
    crypto_generichash_update(&hs, (const uint8_t *)tag, (size_t)tag_len);
    crypto_generichash_update(&hs, &head, 1);
    crypto_generichash_update(&hs, again + 1, size - 1 - 67); /* without 09 c4 40 + signature */
    crypto_generichash_final(&hs, want.bytes, sizeof want.bytes);
    free(again);
    ca_envelope *e2 = NULL;
    FUZZ_CHECK(ca_envelope_decode(&e2, data, size, &o) == CA_OK);
    ca_hash id1, id2;
    ca_envelope_id(e, &id1);
    ca_envelope_id(e2, &id2);
    FUZZ_CHECK(memcmp(id1.bytes, id2.bytes, sizeof id1.bytes) == 0);
    FUZZ_CHECK(memcmp(id1.bytes, want.bytes, sizeof want.bytes) == 0);
    ca_envelope_free(e2);
    FUZZ_CHECK(ca_envelope_kind(e) != 0);
    FUZZ_CHECK(ca_envelope_expires_at(e) > ca_envelope_created_at(e));

    int too_long =
        ca_envelope_expires_at(e) - ca_envelope_created_at(e) > CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT;
    st = FUZZ_CALL(ca_envelope_verify(e, ca_envelope_created_at(e), &o));
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_BAD_SIGNATURE || st == CA_ERR_LIMIT ||
               st == CA_ERR_LIFETIME);
    FUZZ_CHECK(st != CA_OK || !too_long);
    FUZZ_CHECK(st != CA_ERR_LIFETIME || too_long);

    uint8_t out[BODY_CAP];
    size_t n = 0;
    st = FUZZ_CALL(ca_envelope_body(e, reader(), &o, out, sizeof out, &n));
    FUZZ_CHECK(body_status_ok(st));
    FUZZ_CHECK(st != CA_OK || n <= BODY_CAP);
    const uint8_t *view = NULL;
    uint8_t *owned = NULL;
    ca_status st2 = FUZZ_CALL(cai_envelope_body_view(e, reader(), &o, &view, &n, &owned));
    FUZZ_CHECK(body_status_ok(st2));
    FUZZ_CHECK(st2 != CA_OK || n <= BODY_CAP);
    if (st == CA_OK)
        FUZZ_CHECK(st2 == CA_OK && memcmp(view, out, n) == 0);
    free(owned);

    ca_replay_guard *g = NULL;
    ca_replay_guard_options go;
    FUZZ_CHECK(ca_replay_guard_options_init(&go, CA_REPLAY_GUARD_OPTIONS_VERSION) == CA_OK);
    go.capacity = 2;
    go.max_skew_ms = 0;
    FUZZ_CHECK(ca_replay_guard_new(&g, &go) == CA_OK);
    uint64_t now = ca_envelope_created_at(e);
    ca_status want_first = too_long ? CA_ERR_LIFETIME : CA_OK;
    FUZZ_CHECK(FUZZ_CALL(ca_replay_guard_check(g, e, now)) == want_first);
    FUZZ_CHECK(FUZZ_CALL(ca_replay_guard_check(g, e, now)) ==
               (too_long ? CA_ERR_LIFETIME : CA_ERR_REPLAY));
    FUZZ_CHECK(ca_replay_guard_count(g) == (too_long ? 0u : 1u));
    ca_replay_guard_free(g);
    ca_envelope_free(e);
    return 0;
}
