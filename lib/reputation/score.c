/*
 * Scoring: integer time decay, Beta evidence, the EigenTrust graph in
 * canonical (id) order, and the power iteration. Every floating-point sum
 * runs in a fixed order over ranks, so results do not depend on insertion
 * order, and only +, -, *, / are used (no libm), so they do not depend on
 * the platform's math library.
 */
#include <stdlib.h>

#include "reputation_internal.h"

/* Zeroed array for the large, randomly accessed tables of the iteration. */
static void *big_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p != NULL)
        cai_reputation_advise_huge(p, count * size);
    return p;
}

/* round(2^32 * 2^(-2^-(i+1))) for i = 0..15, i.e. 2^-1/2, 2^-1/4, ... 2^-1/65536 in Q32. */
static const uint32_t decay_steps[16] = {
    3037000500u, 3611622603u, 3938502376u, 4112874773u, 4202935003u, 4248701965u,
    4271771996u, 4283353945u, 4289156690u, 4292061010u, 4293513907u, 4294240540u,
    4294603903u, 4294785595u, 4294876445u, 4294921870u,
};

/* 2^(-frac / 2^16) in Q32 for frac < 2^16: the steps of its set bits, largest first. */
static uint64_t decay_frac_q32(uint64_t frac)
{
    uint64_t x = 1ull << 32;
    for (unsigned i = 0; i < 16; i++)
        if (frac & (0x8000u >> i))
            x = (x * decay_steps[i]) >> 32;
    return x;
}

uint64_t cai_reputation_decay_q32(uint64_t delta_ms, uint64_t half_life_ms)
{
    if (delta_ms == 0)
        return 1ull << 32;
    uint64_t k = delta_ms / half_life_ms;
    if (k >= 33)
        return 0;
    uint64_t rem = delta_ms - k * half_life_ms;
    uint64_t frac = (rem << 16) / half_life_ms; /* rem < half_life <= 2^47 */
    return decay_frac_q32(frac) >> k;
}

void cai_reputation_decay_table_init(uint32_t table[CAI_DECAY_TABLE_SIZE])
{
    /*
     * decay_frac_q32(f) applies f's lowest set bit last, so each entry is one
     * step from the entry without that bit: the same products, the same bits.
     * Entry 0 would be 2^32, which does not fit: lookups add it back.
     */
    table[0] = 0;
    for (uint32_t f = 1; f < CAI_DECAY_TABLE_SIZE; f++) {
        uint32_t low = f & (0u - f), bit = 0;
        while ((0x8000u >> bit) != low)
            bit++;
        uint32_t rest = f & (f - 1);
        uint64_t x = rest == 0 ? 1ull << 32 : table[rest];
        table[f] = (uint32_t)((x * decay_steps[bit]) >> 32);
    }
}

uint64_t cai_reputation_decay_lookup(const uint32_t table[CAI_DECAY_TABLE_SIZE], uint64_t delta_ms,
                                     uint64_t half_life_ms)
{
    /* floor(delta * 2^16 / h) = k * 2^16 + frac: one division instead of two. */
    if (delta_ms >= 33 * half_life_ms) /* h <= 2^47: no overflow */
        return 0;
    if (delta_ms >> 47 != 0)
        return cai_reputation_decay_q32(delta_ms, half_life_ms);
    uint64_t kf = (delta_ms << 16) / half_life_ms;
    uint64_t frac = kf & (CAI_DECAY_TABLE_SIZE - 1);
    uint64_t x = table[frac] + ((uint64_t)(frac == 0) << 32);
    return x >> (kf >> 16);
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
    free(g->tile_ptr);
    free(g->e);
    free(g->out_sum);
    free(g->p);
    free(g->t);
    free(g->tn);
    free(g->u);
    free(g->u_next);
    free(g->leak);
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

/*
 * Where an edge (dst, src) goes in the iteration's order: by dst block, then
 * src, then dst inside the block. Sorting ratings by this key puts each
 * rater-ratee pair together, lays every tile out contiguously in (src, dst)
 * order, and keeps src ascending for every dst, so the build needs no
 * second sort to tile the graph.
 */
typedef struct edge_key {
    unsigned dst_shift, src_bits;
    uint32_t dmask;
} edge_key;

static uint64_t key_of(const edge_key *k, uint32_t dst, uint32_t src)
{
    return (uint64_t)(dst >> k->dst_shift) << (k->src_bits + k->dst_shift) |
           (uint64_t)src << k->dst_shift | (dst & k->dmask);
}

static uint32_t key_src(const edge_key *k, uint64_t key)
{
    return (uint32_t)((key >> k->dst_shift) & ((1ull << k->src_bits) - 1));
}

static uint32_t key_dst(const edge_key *k, uint64_t key)
{
    return (uint32_t)((key >> (k->src_bits + k->dst_shift)) << k->dst_shift) |
           ((uint32_t)key & k->dmask);
}

/* Bits needed to write v (0 for 0). */
static unsigned bit_width(uint64_t v)
{
    unsigned b = 0;
    while (v >> b != 0)
        b++;
    return b;
}

/* A rating reduced for sorting: its edge key and its evidence << 7 | rating. */
typedef struct sort_rec {
    uint64_t key;
    uint64_t ev;
} sort_rec;

#define RADIX_BITS 11u
#define RADIX_SIZE (1u << RADIX_BITS)

/* One stable counting pass on key bits [shift, shift + RADIX_BITS). */
static void radix_pass(const sort_rec *in, sort_rec *out, uint32_t m, unsigned shift,
                       uint32_t *count)
{
    const uint64_t mask = RADIX_SIZE - 1;
    memset(count, 0, RADIX_SIZE * sizeof *count);
    for (uint32_t k = 0; k < m; k++)
        count[(in[k].key >> shift) & mask]++;
    uint32_t sum = 0;
    for (uint32_t d = 0; d < RADIX_SIZE; d++) {
        uint32_t c = count[d];
        count[d] = sum;
        sum += c;
    }
    for (uint32_t k = 0; k < m; k++)
        out[count[(in[k].key >> shift) & mask]++] = in[k];
}

void cai_reputation_graph_triplets(const cai_rep_graph *g, cai_rep_triplet *out)
{
    const uint32_t ds = g->dst_shift, ss = g->src_shift, dmask = (1u << ds) - 1;
    for (uint32_t db = 0; db < g->dst_blocks; db++)
        for (uint32_t sb = 0; sb < g->src_blocks; sb++) {
            uint32_t t = db * g->src_blocks + sb;
            for (uint32_t k = g->tile_ptr[t]; k < g->tile_ptr[t + 1]; k++) {
                out[k].dst = (db << ds) + (g->e[k].idx & dmask);
                out[k].src = (sb << ss) + (g->e[k].idx >> ds);
                out[k].val = g->e[k].val;
            }
        }
}

/*
 * Offenses (docs/REPUTATION.md, "Offenses"): an agent's credibility is
 * c_i = 2^-(H * O_i), H = CA_REPUTATION_OFFENSE_HALVINGS, O_i = sum over its
 * offenses of 2^-(age / half_life) (a fresh offense divides it by 2^H;
 * offenses fade like ratings). Integer up to the last step: O_i is a
 * saturating Q32 sum, c_i = D(H * O_i) in Q32 with the decay function, then
 * one exact conversion to double. cred is in rank order.
 */
static void credibility(const ca_reputation *rep, uint64_t now_ms, const uint32_t *rank,
                        uint64_t *o, double *cred)
{
    const uint32_t n = rep->n_agents;
    const uint64_t hl = rep->opts.half_life_ms;
    for (uint32_t k = 0; k < rep->n_offenses; k++) {
        const cai_offense *x = &rep->offenses[k];
        uint64_t t_ms = (uint64_t)x->time_s * 1000u;
        uint64_t d = cai_reputation_decay_q32(now_ms > t_ms ? now_ms - t_ms : 0, hl);
        o[rank[x->agent]] = cai_sat_add(o[rank[x->agent]], d);
    }
    const uint64_t halvings = CA_REPUTATION_OFFENSE_HALVINGS;
    for (uint32_t r = 0; r < n; r++) {
        uint64_t x = o[r] > UINT64_MAX / halvings ? UINT64_MAX : o[r] * halvings;
        cred[r] = (double)cai_reputation_decay_q32(x, 1ull << 32) / 4294967296.0;
    }
}

/*
 * Credibility in the graph (only when some agent has an offense): an edge
 * i -> j carries c_j of its weight (trust into an offender is not passed
 * on), and i passes on c_i of its trust (an offender is not a credible
 * rater). What is lost goes to the teleport vector like a dangling agent's
 * trust: leak_i = 1 - c_i * K_i / W_i, K_i = the sum of i's scaled edges (in
 * the order of W_i), and out_sum becomes W_i / c_i so that
 * u_i = t_i / out_sum_i = c_i * t_i / W_i. A fully discredited agent
 * (c_i = 0) is dangling. The build drops edges scaled to 0.
 */
static void discredit(cai_rep_graph *g, const double *cred, const double *kept)
{
    for (uint32_t r = 0; r < g->n; r++) {
        double w = g->out_sum[r];
        if (w > 0.0 && cred[r] > 0.0) {
            g->leak[r] = 1.0 - cred[r] * kept[r] / w;
            g->out_sum[r] = w / cred[r];
        } else {
            g->out_sum[r] = 0.0; /* dangling: all of t_i goes to the teleport vector */
        }
    }
}

/* Allocations of one build, freed together. */
typedef struct build_tmp {
    uint32_t *rank, *count, *decay;
    sort_rec *a, *b;
    uint64_t *beta;      /* 2 per rank: positive, negative evidence */
    uint64_t *offense;   /* per rank: offense evidence (with offenses only) */
    double *cred, *kept; /* per rank: credibility, sum of scaled out-edges (idem) */
} build_tmp;

static void build_tmp_free(build_tmp *t)
{
    free(t->rank);
    free(t->count);
    free(t->decay);
    free(t->a);
    free(t->b);
    free(t->beta);
    free(t->offense);
    free(t->cred);
    free(t->kept);
    memset(t, 0, sizeof *t);
}

/*
 * Evidence of every rating as of now_ms (storage order, sequential), keyed by
 * its edge, then sorted by key (LSD radix, stable). Returns the sorted array.
 */
static sort_rec *sort_ratings(const ca_reputation *rep, uint64_t now_ms, const edge_key *ek,
                              unsigned key_bits, build_tmp *t)
{
    const uint32_t n = rep->n_agents, nr = rep->n_ratings;
    const uint64_t hl = rep->opts.half_life_ms;
    for (uint32_t r = 0; r < n; r++)
        t->rank[rep->order[r]] = r;
    /* The table costs 2^16 steps to fill: worth it for many ratings only (same bits either way). */
    const int table = nr >= CAI_DECAY_TABLE_SIZE / 8;
    if (table)
        cai_reputation_decay_table_init(t->decay);
    for (uint32_t k = 0; k < nr; k++) {
        const cai_rating *x = &rep->ratings[k];
        const uint64_t t_ms = (uint64_t)x->time_s * 1000u;
        const uint64_t delta = now_ms > t_ms ? now_ms - t_ms : 0;
        const uint64_t d = table ? cai_reputation_decay_lookup(t->decay, delta, hl)
                                 : cai_reputation_decay_q32(delta, hl);
        /* weight < 2^25, decay <= 2^32: the product fits; ev is in Q12 weight units. */
        const uint64_t ev = ((uint64_t)cai_rating_weight(x) * d) >> (32u - CAI_EVIDENCE_SHIFT);
        t->a[k].key = key_of(ek, t->rank[x->ratee], t->rank[x->rater]);
        t->a[k].ev = ev << CAI_RATING_BITS | cai_rating_value(x);
    }
    for (unsigned shift = 0; shift < key_bits; shift += RADIX_BITS) {
        radix_pass(t->a, t->b, nr, shift, t->count);
        sort_rec *sw = t->a;
        t->a = t->b;
        t->b = sw;
    }
    return t->a;
}

ca_status cai_reputation_build(ca_reputation *rep, uint64_t now_ms, cai_rep_graph *g)
{
    memset(g, 0, sizeof *g);
    ca_status st = cai_reputation_ensure_order(rep);
    if (st != CA_OK)
        return st;
    const uint32_t n = rep->n_agents, nr = rep->n_ratings;
    const size_t n1 = (size_t)n + 1, rr = nr ? nr : 1;
    g->n = n;
    g->dst_shift = rep->dst_shift;
    g->src_shift = rep->src_shift;
    g->dst_blocks = (uint32_t)(((uint64_t)n + (1u << g->dst_shift) - 1) >> g->dst_shift);
    g->src_blocks = (uint32_t)(((uint64_t)n + (1u << g->src_shift) - 1) >> g->src_shift);
    const uint64_t tiles = (uint64_t)g->dst_blocks * g->src_blocks;
    if (tiles >= UINT32_MAX)
        return cai_fail(CA_ERR_LIMIT, "too many iteration tiles");
    const edge_key ek = {g->dst_shift, bit_width(n > 0 ? n - 1 : 0), (1u << g->dst_shift) - 1};
    const unsigned key_bits =
        g->dst_shift + ek.src_bits + bit_width(g->dst_blocks > 0 ? g->dst_blocks - 1 : 0);

    build_tmp t = {0};
    t.rank = calloc(n1, sizeof *t.rank);
    t.count = calloc(RADIX_SIZE, sizeof *t.count);
    t.decay = malloc(CAI_DECAY_TABLE_SIZE * sizeof *t.decay);
    /* calloc: large zeroed blocks come straight from the OS, and analyzers see them defined. */
    t.a = calloc(rr, sizeof *t.a);
    t.b = calloc(rr, sizeof *t.b);
    t.beta = calloc(2 * n1, sizeof *t.beta);
    g->tile_ptr = calloc((size_t)tiles + 1, sizeof *g->tile_ptr);
    g->e = big_calloc(rr, sizeof *g->e);
    g->out_sum = big_calloc(n1, sizeof *g->out_sum);
    g->p = big_calloc(n1, sizeof *g->p);
    g->t = big_calloc(n1, sizeof *g->t);
    g->tn = big_calloc(n1, sizeof *g->tn);
    g->u = big_calloc(n1, sizeof *g->u);
    g->u_next = big_calloc(n1, sizeof *g->u_next);
    const int offenses = rep->n_offenses > 0;
    if (offenses) {
        t.offense = calloc(n1, sizeof *t.offense);
        t.cred = calloc(n1, sizeof *t.cred);
        t.kept = calloc(n1, sizeof *t.kept);
        g->leak = big_calloc(n1, sizeof *g->leak);
    }
    if (!t.rank || !t.count || !t.decay || !t.a || !t.b || !t.beta || !g->tile_ptr || !g->e ||
        !g->out_sum || !g->p || !g->t || !g->tn || !g->u || !g->u_next ||
        (offenses && (!t.offense || !t.cred || !t.kept || !g->leak))) {
        build_tmp_free(&t);
        cai_reputation_graph_free(g);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory building the rating graph");
    }
    const sort_rec *a = sort_ratings(rep, now_ms, &ek, key_bits, &t);
    if (offenses)
        credibility(rep, now_ms, t.rank, t.offense, t.cred);

    /*
     * One sweep in key order. Per rater-ratee pair, s_ij = positive - negative
     * evidence; per ratee, the Beta evidence. All are saturating integer sums
     * of non-negative terms, so they do not depend on the order of the terms.
     * Edges come out in tile order, each tile in (src, dst) order; each rater's
     * W_i receives its values in increasing dst (fixed order, same bits).
     */
    const uint64_t s_cap = (1ull << 53) - 1;
    const uint32_t ds = g->dst_shift, ss = g->src_shift, sb = g->src_blocks;
    const uint32_t dmask = (1u << ds) - 1, smask = (1u << ss) - 1;
    uint32_t e = 0;
    for (uint32_t i = 0; i < nr;) {
        const uint64_t key = a[i].key;
        uint64_t ps = 0, ns = 0;
        do {
            uint64_t ev = a[i].ev >> CAI_RATING_BITS;
            uint32_t v = (uint32_t)(a[i].ev & CAI_RATING_MASK);
            ps = cai_sat_add(ps, ev * v);
            ns = cai_sat_add(ns, ev * (CA_TASK_RATING_MAX - v));
            i++;
        } while (i < nr && a[i].key == key);
        const uint32_t dst = key_dst(&ek, key), src = key_src(&ek, key);
        t.beta[2 * (size_t)dst] = cai_sat_add(t.beta[2 * (size_t)dst], ps);
        t.beta[2 * (size_t)dst + 1] = cai_sat_add(t.beta[2 * (size_t)dst + 1], ns);
        if (ps > ns) {
            const uint64_t sv = ps - ns;
            float val = (float)(double)(sv > s_cap ? s_cap : sv); /* exact, then one rounding */
            g->out_sum[src] += (double)val;
            if (offenses) {
                val = (float)((double)val * t.cred[dst]); /* an offender's share */
                t.kept[src] += (double)val;
            }
            if (val > 0.0f) {
                g->e[e].idx = (src & smask) << ds | (dst & dmask);
                g->e[e].val = val;
                g->tile_ptr[(dst >> ds) * sb + (src >> ss) + 1]++;
                e++;
            }
        }
    }
    g->edges = e;
    for (uint64_t k = 0; k < tiles; k++)
        g->tile_ptr[k + 1] += g->tile_ptr[k];
    for (uint32_t r = 0; r < n; r++) {
        cai_rep_agent *ag = &rep->agents[rep->order[r]];
        ag->pos = t.beta[2 * (size_t)r];
        ag->neg = t.beta[2 * (size_t)r + 1]; /* agents nobody rated: no evidence */
    }
    if (offenses)
        discredit(g, t.cred, t.kept);
    build_tmp_free(&t);
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

/*
 * |d| by clearing the sign bit: the same value as d < 0 ? -d : d (for -0.0
 * it gives +0.0, which adds the same), without a data-dependent branch.
 */
static inline double abs_exact(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    b &= ~(1ull << 63);
    memcpy(&d, &b, sizeof d);
    return d;
}

/*
 * Asks for the edge CAI_EDGE_AHEAD places ahead of e if the edge array
 * (ending at last) has one: a hint that never faults or changes a result.
 */
static inline void edge_prefetch(const cai_rep_edge *e, const cai_rep_edge *last)
{
#if defined(__GNUC__) || defined(__clang__)
    if (last - e > (ptrdiff_t)CAI_EDGE_AHEAD)
        __builtin_prefetch(e + CAI_EDGE_AHEAD, 0, 3);
#else
    (void)e;
    (void)last;
#endif
}

/*
 * What agent j with trust t passes along its edges: u_j = t / W_j. What it
 * does not pass on goes to the teleport vector (*to_p, summed in j order):
 * all of t when it is dangling (W_j = 0), t * leak_j when offenses discredit
 * it or its ratees.
 */
static inline double pass_on(double t, double w_j, const double *leak, uint32_t j, double *to_p)
{
    if (w_j > 0.0) {
        if (leak != NULL)
            *to_p += t * leak[j];
        return t / w_j;
    }
    *to_p += t;
    return 0.0;
}

void cai_reputation_iterate(cai_rep_graph *g, double damping, double tol, uint32_t max_iter,
                            ca_reputation_stats *stats)
{
    const uint32_t n = g->n;
    const cai_rep_edge *restrict edge = g->e;
    const cai_rep_edge *const last = g->e + g->edges;
    const double *restrict w = g->out_sum, *restrict p = g->p;
    const double keep = 1.0 - damping;
    double l1 = 0.0;
    uint32_t it = 0;
    int converged = 0;
    const double *restrict leak = g->leak; /* NULL without offenses */
    double dangling = 0.0;
    for (uint32_t r = 0; r < n; r++)
        g->u[r] = pass_on(g->t[r], w[r], leak, r, &dangling);
    const uint32_t ds = g->dst_shift, ss = g->src_shift, dmask = (1u << ds) - 1;
    while (it < max_iter && !converged) {
        double *restrict t = g->t, *restrict tn = g->tn;
        const double *restrict u = g->u;
        double *restrict un = g->u_next;
        double next_dangling = 0.0;
        l1 = 0.0;
        for (uint32_t db = 0; db < g->dst_blocks; db++) {
            const uint32_t j0 = db << ds, j1 = n - j0 > dmask ? j0 + dmask + 1 : n;
            double *restrict sums = tn + j0;
            /*
             * tn_j = sum over the raters i of j, in increasing i, of
             * val_ij * u_i, starting from 0.0: the tiles of this dst block
             * run by src block and each tile by (src, dst), so every j sees
             * exactly that sequence of additions.
             */
            memset(sums, 0, (size_t)(j1 - j0) * sizeof *sums);
            for (uint32_t sb = 0; sb < g->src_blocks; sb++) {
                const double *restrict ub = u + ((size_t)sb << ss);
                const uint32_t tile = db * g->src_blocks + sb;
                const cai_rep_edge *restrict e = edge + g->tile_ptr[tile];
                const cai_rep_edge *restrict end = edge + g->tile_ptr[tile + 1];
                /*
                 * Eight edges at a time: all eight loads of u and products
                 * first, then the eight read-modify-writes of sums in edge
                 * order (the same additions in the same order; only the
                 * independent loads move earlier). The edge stream comes
                 * from memory and is prefetched 2 KiB ahead: measured, the
                 * hardware prefetcher alone leaves the loop waiting on it.
                 */
                for (; end - e >= 8; e += 8) {
                    edge_prefetch(e, last);
                    const uint32_t i0 = e[0].idx, i1 = e[1].idx, i2 = e[2].idx, i3 = e[3].idx;
                    const uint32_t i4 = e[4].idx, i5 = e[5].idx, i6 = e[6].idx, i7 = e[7].idx;
                    const double p0 = (double)e[0].val * ub[i0 >> ds];
                    const double p1 = (double)e[1].val * ub[i1 >> ds];
                    const double p2 = (double)e[2].val * ub[i2 >> ds];
                    const double p3 = (double)e[3].val * ub[i3 >> ds];
                    const double p4 = (double)e[4].val * ub[i4 >> ds];
                    const double p5 = (double)e[5].val * ub[i5 >> ds];
                    const double p6 = (double)e[6].val * ub[i6 >> ds];
                    const double p7 = (double)e[7].val * ub[i7 >> ds];
                    sums[i0 & dmask] += p0;
                    sums[i1 & dmask] += p1;
                    sums[i2 & dmask] += p2;
                    sums[i3 & dmask] += p3;
                    sums[i4 & dmask] += p4;
                    sums[i5 & dmask] += p5;
                    sums[i6 & dmask] += p6;
                    sums[i7 & dmask] += p7;
                }
                for (; e < end; e++)
                    sums[e->idx & dmask] += (double)e->val * ub[e->idx >> ds];
            }
            /* New scores while the block is in cache; L1 change, next u and dangling in j order. */
            for (uint32_t j = j0; j < j1; j++) {
                double v = keep * (tn[j] + dangling * p[j]) + damping * p[j];
                double d = v - t[j];
                l1 += abs_exact(d);
                tn[j] = v;
                un[j] = pass_on(v, w[j], leak, j, &next_dangling);
            }
        }
        dangling = next_dangling;
        g->t = tn;
        g->tn = t;
        g->u_next = g->u;
        g->u = un;
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
        CAI_REQUIRE_VERSION("ca_reputation_stats", stats->version, CA_REPUTATION_STATS_VERSION);
    cai_rep_graph g;
    ca_status st = cai_reputation_build(rep, now_ms, &g);
    if (st != CA_OK)
        return st;
    ca_reputation_stats all;
    memset(&all, 0, sizeof all);
    cai_reputation_start(rep, &g, rep->opts.warm_start);
    cai_reputation_iterate(&g, rep->opts.damping_ppm / 1e6, rep->opts.tolerance,
                           rep->opts.max_iterations, &all);
    all.ratings = rep->n_ratings;
    if (stats != NULL) {
        /* Version 1 is the whole struct; a later one copies only the caller's fields. */
        all.version = stats->version;
        *stats = all;
    }
    cai_reputation_commit(rep, &g, now_ms);
    cai_reputation_graph_free(&g);
    return CA_OK;
}
