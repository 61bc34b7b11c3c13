/*
 * Fuzz target: equivocation evidence decoding and verification.
 * Invariants: never crashes; a failure is CA_ERR_MALFORMED or
 * CA_ERR_BAD_EVIDENCE; accepted evidence names a kind that can equivocate,
 * two distinct message ids in ascending order, a stable hash, and rebuilds
 * (ca_evidence_encode from its request, its two offending envelopes and the
 * rest as context) to exactly the input.
 */
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "wire/wire.h"

#define SIDE_MAX 3

/* The envelopes of accepted evidence: [0] request, then side 0, then side 1. */
typedef struct parts {
    ca_envelope *env[1 + 2 * SIDE_MAX];
    size_t n, side[2];
} parts;

static void parts_free(parts *p)
{
    for (size_t i = 0; i < p->n; i++)
        ca_envelope_free(p->env[i]);
}

static int decode_bin(cai_wire_reader *r, parts *p)
{
    const uint8_t *b;
    size_t n;
    if (cai_wr_bin(r, &b, &n) != CA_OK || ca_envelope_decode(&p->env[p->n], b, n, NULL) != CA_OK)
        return 0;
    p->n++;
    return 1;
}

/* Splits evidence that ca_evidence_open accepted; 0 if that is impossible. */
static int split(const uint8_t *data, size_t size, parts *p)
{
    cai_wire_reader r;
    cai_wire_map m;
    uint64_t v;
    memset(p, 0, sizeof *p);
    cai_wr_init(&r, data, size);
    if (cai_wr_map(&r, &m) != CA_OK || cai_wr_require(&m, 0) != CA_OK ||
        cai_wr_uint(&r, &v) != CA_OK || cai_wr_require(&m, 1) != CA_OK || !decode_bin(&r, p))
        return 0;
    for (int s = 0; s < 2; s++) {
        uint32_t k = 0;
        if (cai_wr_require(&m, 2 + (uint64_t)s) != CA_OK || cai_wr_array(&r, &k) != CA_OK ||
            k == 0 || k > SIDE_MAX)
            return 0;
        for (uint32_t i = 0; i < k; i++)
            if (!decode_bin(&r, p))
                return 0;
        p->side[s] = k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_evidence *ev = NULL;
    ca_status st = FUZZ_CALL(ca_evidence_open(&ev, data, size));
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_EVIDENCE);
        FUZZ_CHECK(ev == NULL);
        return 0;
    }
    uint32_t kind = ca_evidence_kind(ev);
    FUZZ_CHECK(kind == CA_KIND_TASK_BID || kind == CA_KIND_TASK_AWARD ||
               kind == CA_KIND_TASK_RESULT);
    ca_hash h1, h2, m0, m1, o1, o2;
    ca_evidence_hash(ev, &h1);
    ca_evidence_message(ev, 0, &m0);
    ca_evidence_message(ev, 1, &m1);
    ca_evidence_offense(ev, &o1);
    ca_evidence_offense(ev, &o2);
    FUZZ_CHECK(memcmp(m0.bytes, m1.bytes, CA_HASH_BYTES) < 0);
    FUZZ_CHECK(memcmp(o1.bytes, o2.bytes, CA_HASH_BYTES) == 0);
    FUZZ_CHECK(ca_evidence_verify(data, size, NULL, NULL, NULL, &h2) == CA_OK);
    FUZZ_CHECK(memcmp(h1.bytes, h2.bytes, CA_HASH_BYTES) == 0);

    /* Rebuild from the parts: the offending envelopes are the last of each side. */
    parts p;
    FUZZ_CHECK(split(data, size, &p));
    const ca_envelope *a = p.env[p.side[0]], *b = p.env[p.side[0] + p.side[1]];
    ca_hash ia, ib;
    ca_envelope_id(a, &ia);
    ca_envelope_id(b, &ib);
    FUZZ_CHECK(memcmp(ia.bytes, m0.bytes, CA_HASH_BYTES) == 0);
    FUZZ_CHECK(memcmp(ib.bytes, m1.bytes, CA_HASH_BYTES) == 0);
    uint8_t *again = malloc(size);
    size_t len = 0;
    FUZZ_CHECK(again != NULL);
    st = FUZZ_CALL(ca_evidence_encode(p.env[0], (const ca_envelope *const *)p.env + 1, p.n - 1, b,
                                      a, again, size, &len));
    FUZZ_CHECK(st == CA_OK && len == size && memcmp(again, data, size) == 0);
    free(again);
    parts_free(&p);
    ca_evidence_free(ev);
    return 0;
}
