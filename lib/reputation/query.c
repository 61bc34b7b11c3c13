/* Queries: one agent's scores, the top N. */
#include <stdlib.h>

#include "reputation_internal.h"

void cai_reputation_fill_score(const ca_reputation *rep, uint32_t idx, ca_reputation_score *out)
{
    const cai_rep_agent *a = &rep->agents[idx];
    memset(out, 0, sizeof *out);
    out->agent = a->id;
    double r = (double)a->pos / CAI_EVIDENCE_SCALE, s = (double)a->neg / CAI_EVIDENCE_SCALE;
    out->global = a->global;
    out->positive = r;
    out->negative = s;
    out->expected = (r + 1.0) / (r + s + 2.0);
    out->uncertainty = 2.0 / (r + s + 2.0);
    out->ratings_received = a->received;
    out->ratings_given = a->given;
    out->stake = a->stake;
    out->pretrusted = (a->flags & CAI_AGENT_PRETRUSTED) != 0;
}

ca_status ca_reputation_get(const ca_reputation *rep, const ca_agent_id *agent,
                            ca_reputation_score *out, size_t score_size)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(agent);
    CAI_REQUIRE(out);
    CAI_REQUIRE_ELEM_SIZE("ca_reputation_score", score_size, CAI_REPUTATION_SCORE_SIZE_1,
                          sizeof(ca_reputation_score));
    uint32_t idx = cai_reputation_find(rep, agent);
    if (idx == UINT32_MAX)
        return cai_fail(CA_ERR_NOT_FOUND, "agent has no reputation record");
    ca_reputation_score sc;
    cai_reputation_fill_score(rep, idx, &sc);
    cai_elem_put(out, score_size, &sc, sizeof sc);
    return CA_OK;
}

/* a ranks before b: higher score, then smaller id. */
static int better(const cai_rep_agent *a, const cai_rep_agent *b)
{
    if (a->global != b->global)
        return a->global > b->global;
    return memcmp(a->id.bytes, b->id.bytes, CA_AGENT_ID_BYTES) < 0;
}

/* Min-heap (worst at the root) of agent indices. */
static void sift_down(const cai_rep_agent *ag, uint32_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && better(&ag[h[m]], &ag[h[l]]))
            m = l;
        if (r < n && better(&ag[h[m]], &ag[h[r]]))
            m = r;
        if (m == i)
            return;
        uint32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

ca_status ca_reputation_top(const ca_reputation *rep, size_t n, ca_reputation_score *out,
                            size_t score_size, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(out_len);
    CAI_REQUIRE_ELEM_SIZE("ca_reputation_score", score_size, CAI_REPUTATION_SCORE_SIZE_1,
                          sizeof(ca_reputation_score));
    size_t k = n < rep->n_agents ? n : rep->n_agents;
    *out_len = k;
    if (k == 0)
        return CA_OK;
    if (out == NULL || out_cap < k)
        return cai_fail(CA_ERR_BUFFER_TOO_SMALL, "room for %zu scores, %zu needed",
                        out == NULL ? (size_t)0 : out_cap, k);
    uint32_t *heap = malloc(k * sizeof *heap);
    if (heap == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory selecting the top agents");
    const cai_rep_agent *ag = rep->agents;
    for (uint32_t i = 0; i < k; i++)
        heap[i] = i;
    for (size_t i = k / 2; i-- > 0;)
        sift_down(ag, heap, k, i);
    for (uint32_t i = (uint32_t)k; i < rep->n_agents; i++) {
        if (better(&ag[i], &ag[heap[0]])) {
            heap[0] = i;
            sift_down(ag, heap, k, 0);
        }
    }
    /* Pop worst-first into the back of out. */
    for (size_t m = k; m > 0; m--) {
        ca_reputation_score sc;
        cai_reputation_fill_score(rep, heap[0], &sc);
        cai_elem_put((uint8_t *)out + (m - 1) * score_size, score_size, &sc, sizeof sc);
        heap[0] = heap[m - 1];
        sift_down(ag, heap, m - 1, 0);
    }
    free(heap);
    return CA_OK;
}
