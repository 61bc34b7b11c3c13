/*
 * Fuzz target: the strict envelope decoder (ca_envelope_decode) and what a
 * receiver does next with a decoded envelope.
 *
 * Invariants on every input that decodes:
 *   - canonical: ca_envelope_encoded gives back exactly the input bytes;
 *   - decoding is deterministic (same id twice);
 *   - verify returns a documented status and never crashes;
 *   - the body, extracted with a small cap (4 KiB) by the recipient of the
 *     seed corpus's sealed envelopes (RFC 8032 test 2 seed), comes back
 *     within the cap or with a documented status, through both the public
 *     call and the internal zero-copy view;
 *   - a replay guard accepts the id once, then reports a replay.
 */
#include <stdlib.h>
#include <string.h>

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
    return st == CA_OK || st == CA_ERR_DECOMPRESS || st == CA_ERR_SEALED || st == CA_ERR_LIMIT ||
           st == CA_ERR_BUFFER_TOO_SMALL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_envelope_options o;
    FUZZ_CHECK(ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION) == CA_OK);
    o.max_body_bytes = BODY_CAP;
    ca_envelope *e = NULL;
    ca_status st = ca_envelope_decode(&e, data, size, &o);
    if (st != CA_OK) {
        FUZZ_CHECK(e == NULL);
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_VERSION || st == CA_ERR_LIMIT ||
                   st == CA_ERR_INVALID_ARGUMENT);
        return 0;
    }

    /* Canonical: exactly one encoding, and it is the input. */
    size_t len = 0;
    FUZZ_CHECK(ca_envelope_encoded(e, NULL, 0, &len) == CA_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(len == size);
    uint8_t *again = malloc(size);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(ca_envelope_encoded(e, again, size, &len) == CA_OK);
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
    free(again);
    ca_envelope *e2 = NULL;
    FUZZ_CHECK(ca_envelope_decode(&e2, data, size, &o) == CA_OK);
    ca_hash id1, id2;
    ca_envelope_id(e, &id1);
    ca_envelope_id(e2, &id2);
    FUZZ_CHECK(memcmp(id1.bytes, id2.bytes, sizeof id1.bytes) == 0);
    ca_envelope_free(e2);
    FUZZ_CHECK(ca_envelope_kind(e) != 0);
    FUZZ_CHECK(ca_envelope_expires_at(e) > ca_envelope_created_at(e));

    st = ca_envelope_verify(e, ca_envelope_created_at(e), &o);
    FUZZ_CHECK(st == CA_OK || st == CA_ERR_BAD_SIGNATURE || st == CA_ERR_LIMIT);

    uint8_t out[BODY_CAP];
    size_t n = 0;
    st = ca_envelope_body(e, reader(), &o, out, sizeof out, &n);
    FUZZ_CHECK(body_status_ok(st));
    FUZZ_CHECK(st != CA_OK || n <= BODY_CAP);
    const uint8_t *view = NULL;
    uint8_t *owned = NULL;
    ca_status st2 = cai_envelope_body_view(e, reader(), &o, &view, &n, &owned);
    FUZZ_CHECK(body_status_ok(st2));
    FUZZ_CHECK(st2 != CA_OK || n <= BODY_CAP);
    if (st == CA_OK)
        FUZZ_CHECK(st2 == CA_OK && memcmp(view, out, n) == 0);
    free(owned);

    ca_replay_guard *g = NULL;
    FUZZ_CHECK(ca_replay_guard_new(&g, 2, 0) == CA_OK);
    uint64_t now = ca_envelope_created_at(e);
    FUZZ_CHECK(ca_replay_guard_check(g, e, now) == CA_OK);
    FUZZ_CHECK(ca_replay_guard_check(g, e, now) == CA_ERR_REPLAY);
    ca_replay_guard_free(g);
    ca_envelope_free(e);
    return 0;
}
