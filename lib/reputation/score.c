/*
 * Scoring: integer time decay, Beta evidence, the EigenTrust graph in
 * canonical (id) order, and the power iteration. Every floating-point sum
 * runs in a fixed order over ranks, so results do not depend on insertion
 * order, and only +, -, *, / are used (no libm), so they do not depend on
 * the platform's math library.
 */
#include <stdlib.h>

#include "reputation_internal.h"

/* round(2^32 * 2^(-2^-(i+1))) for i = 0..15, i.e. 2^-1/2, 2^-1/4, ... 2^-1/65536 in Q32. */
static const uint32_t decay_steps[16] = {
    3037000500u, 3611622603u, 3938502376u, 4112874773u, 4202935003u, 4248701965u,
    4271771996u, 4283353945u, 4289156690u, 4292061010u, 4293513907u, 4294240540u,
    4294603903u, 4294785595u, 4294876445u, 4294921870u,
};

uint64_t cai_reputation_decay_q32(uint64_t delta_ms, uint64_t half_life_ms)
{
    if (delta_ms == 0)
        return 1ull << 32;
    uint64_t k = delta_ms / half_life_ms;
    if (k >= 33)
        return 0;
    uint64_t rem = delta_ms - k * half_life_ms;
    uint64_t frac = (rem << 16) / half_life_ms; /* rem < half_life <= 2^47 */
    uint64_t x = 1ull << 32;
    for (unsigned i = 0; i < 16; i++)
        if (frac & (0x8000u >> i))
            x = (x * decay_steps[i]) >> 32;
    return x >> k;
}

uint64_t cai_reputation_evidence(const cai_rating *r, uint64_t now_ms, uint64_t half_life_ms)
{
    uint64_t t_ms = (uint64_t)r->time_s * 1000u;
    uint64_t delta = now_ms > t_ms ? now_ms - t_ms : 0;
    /* weight < 2^25, decay <= 2^32: the product fits; the result is Q12 weight units. */
    return ((uint64_t)cai_rating_weight(r) * cai_reputation_decay_q32(delta, half_life_ms)) >>
           (32u - CAI_EVIDENCE_SHIFT);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    return s < a ? UINT64_MAX : s;
}

/* ---- agents in id order ---- */

typedef struct sort_pair {
    uint64_t key; /* first 8 id bytes, big-endian: same order as memcmp */
    uint32_t idx;
} sort_pair;

static _Thread_local const cai_rep_agent *sort_agents;

static int cmp_pair(const void *a, const void *b)
{
    const sort_pair *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return memcmp(sort_agents[x->idx].id.bytes, sort_agents[y->idx].id.bytes, CA_AGENT_ID_BYTES);
}

void cai_reputation_sort_agents(const ca_reputation *rep, uint32_t *order)
{
    uint32_t n = rep->n_agents;
    sort_pair *pairs = malloc((size_t)(n ? n : 1) * sizeof *pairs);
    if (pairs != NULL) {
        for (uint32_t i = 0; i < n; i++) {
            uint64_t k = 0;
            for (int b = 0; b < 8; b++)
                k = k << 8 | rep->agents[i].id.bytes[b];
            pairs[i].key = k;
            pairs[i].idx = i;
        }
        sort_agents = rep->agents;
        qsort(pairs, n, sizeof *pairs, cmp_pair);
        for (uint32_t i = 0; i < n; i++)
            order[i] = pairs[i].idx;
        free(pairs);
        return;
    }
    /* Low memory: insertion sort on the indices (slow, but needs no extra space). */
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = order[i], j = i;
        while (j > 0 && memcmp(rep->agents[order[j - 1]].id.bytes, rep->agents[v].id.bytes,
                               CA_AGENT_ID_BYTES) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
}

ca_status cai_reputation_ensure_order(ca_reputation *rep)
{
    if (rep->order != NULL && rep->order_agents == rep->n_agents)
        return CA_OK;
    uint32_t *order = calloc((size_t)(rep->n_agents ? rep->n_agents : 1), sizeof *order);
    if (order == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory ordering agents");
    cai_reputation_sort_agents(rep, order);
    free(rep->order);
    rep->order = order;
    rep->order_agents = rep->n_agents;
    return CA_OK;
}

/* ---- graph ---- */

void cai_reputation_graph_free(cai_rep_graph *g)
{
    free(g->colptr);
    free(g->src);
    free(g->val);
    free(g->out_sum);
    free(g->p);
    free(g->t);
    free(g->tn);
    free(g->u);
    memset(g, 0, sizeof *g);
}

/* Teleport vector p in rank order (see docs/REPUTATION.md). */
static void teleport(const ca_reputation *rep, cai_rep_graph *g)
{
    uint32_t n = g->n, pre = 0;
    double stake_total = 0.0;
    for (uint32_t r = 0; r < n; r++) {
        const cai_rep_agent *a = &rep->agents[rep->order[r]];
        pre += (a->flags & CAI_AGENT_PRETRUSTED) != 0;
        stake_total += (double)a->stake;
    }
    double beta = pre == 0 ? 1.0 : stake_total > 0.0 ? rep->opts.stake_share_ppm / 1e6 : 0.0;
    for (uint32_t r = 0; r < n; r++) {
        const cai_rep_agent *a = &rep->agents[rep->order[r]];
        double v;
        if (pre == 0 && stake_total == 0.0) {
            v = 1.0 / (double)n;
        } else {
            double vp = (a->flags & CAI_AGENT_PRETRUSTED) ? 1.0 / (double)pre : 0.0;
            double vs = stake_total > 0.0 ? (double)a->stake / stake_total : 0.0;
            v = (1.0 - beta) * vp + beta * vs;
        }
        g->p[r] = v;
    }
}

ca_status cai_reputation_build(ca_reputation *rep, uint64_t now_ms, cai_rep_graph *g)
{
    memset(g, 0, sizeof *g);
    ca_status st = cai_reputation_ensure_order(rep);
    if (st != CA_OK)
        return st;
    uint32_t n = rep->n_agents, nr = rep->n_ratings;
    size_t n1 = (size_t)n + 1, rr = nr ? nr : 1;
    uint32_t *rank = malloc(n1 * sizeof *rank), *cnt = malloc(n1 * sizeof *cnt);
    /* calloc: large zeroed blocks come straight from the OS, and analyzers see them defined. */
    uint32_t *perm = calloc(rr, sizeof *perm);
    g->n = n;
    g->colptr = malloc(n1 * sizeof *g->colptr);
    g->src = calloc(rr, sizeof *g->src);
    g->val = malloc(rr * sizeof *g->val);
    g->out_sum = calloc(n1, sizeof *g->out_sum);
    g->p = malloc(n1 * sizeof *g->p);
    g->t = malloc(n1 * sizeof *g->t);
    g->tn = malloc(n1 * sizeof *g->tn);
    g->u = malloc(n1 * sizeof *g->u);
    if (!rank || !cnt || !perm || !g->colptr || !g->src || !g->val || !g->out_sum || !g->p ||
        !g->t || !g->tn || !g->u) {
        free(rank);
        free(cnt);
        free(perm);
        cai_reputation_graph_free(g);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory building the rating graph");
    }
    for (uint32_t r = 0; r < n; r++)
        rank[rep->order[r]] = r;

    /* Two stable counting sorts: by rater rank, then by ratee rank. g->src is scratch. */
    const cai_rating *rt = rep->ratings;
    memset(cnt, 0, n1 * sizeof *cnt);
    for (uint32_t k = 0; k < nr; k++)
        cnt[rank[rt[k].rater] + 1]++;
    for (uint32_t r = 0; r < n; r++)
        cnt[r + 1] += cnt[r];
    for (uint32_t k = 0; k < nr; k++)
        g->src[cnt[rank[rt[k].rater]]++] = k;
    memset(cnt, 0, n1 * sizeof *cnt);
    for (uint32_t k = 0; k < nr; k++)
        cnt[rank[rt[k].ratee] + 1]++;
    for (uint32_t r = 0; r < n; r++)
        cnt[r + 1] += cnt[r];
    for (uint32_t i = 0; i < nr; i++) {
        uint32_t k = g->src[i];
        perm[cnt[rank[rt[k].ratee]]++] = k;
    }
    free(cnt);

    /*
     * One sweep in (ratee, rater) order: Beta evidence per ratee and
     * s_ij = positive - negative evidence per pair. Integer sums (saturating,
     * all terms non-negative) do not depend on the order of equal pairs.
     */
    const uint64_t hl = rep->opts.half_life_ms;
    const uint64_t s_cap = (1ull << 53) - 1;
    uint32_t e = 0, i = 0;
    for (uint32_t j = 0; j < n; j++) {
        g->colptr[j] = e;
        uint64_t bpos = 0, bneg = 0;
        while (i < nr && rank[rt[perm[i]].ratee] == j) {
            uint32_t src = rank[rt[perm[i]].rater];
            uint64_t ps = 0, ns = 0;
            do {
                const cai_rating *x = &rt[perm[i]];
                uint64_t ev = cai_reputation_evidence(x, now_ms, hl);
                uint32_t v = cai_rating_value(x);
                ps = sat_add(ps, ev * v);
                ns = sat_add(ns, ev * (CA_REPUTATION_RATING_MAX - v));
                i++;
            } while (i < nr && rank[rt[perm[i]].ratee] == j && rank[rt[perm[i]].rater] == src);
            bpos = sat_add(bpos, ps);
            bneg = sat_add(bneg, ns);
            if (ps > ns) {
                uint64_t s = ps - ns;
                if (s > s_cap)
                    s = s_cap;
                /* i > e always, so the slot being written was already read. */
                g->src[e] = src;
                g->val[e] = (float)(double)s; /* exact to double, one IEEE rounding to float */
                e++;
            }
        }
        cai_rep_agent *a = &rep->agents[rep->order[j]];
        a->pos = bpos;
        a->neg = bneg;
    }
    g->colptr[n] = e;
    g->edges = e;
    free(perm);
    free(rank);

    /* Out-sums W_i, accumulated in column order (fixed). */
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t k = g->colptr[j]; k < g->colptr[j + 1]; k++)
            g->out_sum[g->src[k]] += (double)g->val[k];
    teleport(rep, g);
    return CA_OK;
}

void cai_reputation_start(const ca_reputation *rep, cai_rep_graph *g, int warm)
{
    uint32_t n = g->n;
    if (!warm || !rep->scored) {
        memcpy(g->t, g->p, (size_t)n * sizeof *g->t);
        return;
    }
    /* Previous scores; agents new since the last update start at their teleport share. */
    double sum = 0.0;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t idx = rep->order[r];
        g->t[r] = (rep->agents[idx].flags & CAI_AGENT_SCORED) ? rep->agents[idx].global : g->p[r];
        sum += g->t[r];
    }
    if (!(sum > 0.0)) {
        memcpy(g->t, g->p, (size_t)n * sizeof *g->t);
        return;
    }
    for (uint32_t r = 0; r < n; r++)
        g->t[r] = g->t[r] / sum;
}

void cai_reputation_iterate(cai_rep_graph *g, double damping, double tol, uint32_t max_iter,
                            ca_reputation_stats *stats)
{
    const uint32_t n = g->n;
    const uint32_t *restrict colptr = g->colptr;
    const uint32_t *restrict src = g->src;
    const float *restrict val = g->val;
    const double *restrict w = g->out_sum, *restrict p = g->p;
    const double keep = 1.0 - damping;
    double l1 = 0.0;
    uint32_t it = 0;
    int converged = 0;
    while (it < max_iter && !converged) {
        double *restrict t = g->t, *restrict tn = g->tn, *restrict u = g->u;
        /* u_i = t_i / W_i; dangling agents (W_i = 0) hand their trust to p. */
        double dangling = 0.0;
        for (uint32_t r = 0; r < n; r++) {
            if (w[r] > 0.0) {
                u[r] = t[r] / w[r];
            } else {
                u[r] = 0.0;
                dangling += t[r];
            }
        }
        l1 = 0.0;
        for (uint32_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (uint32_t k = colptr[j]; k < colptr[j + 1]; k++)
                acc += (double)val[k] * u[src[k]];
            double v = keep * (acc + dangling * p[j]) + damping * p[j];
            double d = v - t[j];
            l1 += d < 0.0 ? -d : d;
            tn[j] = v;
        }
        g->t = tn;
        g->tn = t;
        it++;
        converged = l1 < tol;
    }
    if (stats != NULL) {
        stats->iterations = it;
        stats->converged = converged;
        stats->l1_change = l1;
        stats->edges = g->edges;
        stats->agents = n;
    }
}

void cai_reputation_commit(ca_reputation *rep, const cai_rep_graph *g, uint64_t now_ms)
{
    for (uint32_t r = 0; r < g->n; r++) {
        cai_rep_agent *a = &rep->agents[rep->order[r]];
        a->global = g->t[r];
        a->flags |= CAI_AGENT_SCORED;
    }
    rep->scored = 1;
    rep->last_update_ms = now_ms;
}

ca_status ca_reputation_update(ca_reputation *rep, uint64_t now_ms, ca_reputation_stats *stats)
{
    CAI_REQUIRE(rep);
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    cai_rep_graph g;
    ca_status st = cai_reputation_build(rep, now_ms, &g);
    if (st != CA_OK)
        return st;
    cai_reputation_start(rep, &g, rep->opts.warm_start);
    cai_reputation_iterate(&g, rep->opts.damping_ppm / 1e6, rep->opts.tolerance,
                           rep->opts.max_iterations, stats);
    if (stats != NULL)
        stats->ratings = rep->n_ratings;
    cai_reputation_commit(rep, &g, now_ms);
    cai_reputation_graph_free(&g);
    cai_clear_error();
    return CA_OK;
}
