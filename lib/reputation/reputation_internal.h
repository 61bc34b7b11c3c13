/* Reputation internals: storage layout shared by the reputation sources. */
#ifndef CYBERAGENT_REPUTATION_INTERNAL_H
#define CYBERAGENT_REPUTATION_INTERNAL_H

#include <float.h>

#include "core/idmap.h"
#include "cyberagent/reputation.h"
#include "internal.h"

/*
 * Scores must be bit-identical on every platform: IEEE-754 doubles evaluated
 * in their own precision (no x87 extended precision), no fast-math, no FMA
 * contraction (lib/CMakeLists.txt adds -ffp-contract=off for these sources;
 * the pragma covers clang when built another way).
 */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "lib/reputation needs FLT_EVAL_METHOD == 0 (SSE2 or a non-x87 FPU) for reproducible scores"
#endif
#if defined(__FAST_MATH__)
#error "lib/reputation must not be built with -ffast-math"
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* One stored rating: 16 bytes, no pointers. Agents are indices into the agent table. */
typedef struct cai_rating {
    uint32_t rater;
    uint32_t ratee;
    uint32_t time_s; /* settlement time, Unix seconds */
    uint32_t packed; /* weight << 7 | rating (0..100) */
} cai_rating;

#define CAI_RATING_BITS 7u
#define CAI_RATING_MASK 0x7Fu

static inline uint32_t cai_rating_weight(const cai_rating *r)
{
    return r->packed >> CAI_RATING_BITS;
}

static inline uint32_t cai_rating_value(const cai_rating *r)
{
    return r->packed & CAI_RATING_MASK;
}

/* One recorded offense (verified slashing evidence): 24 bytes. */
typedef struct cai_offense {
    uint64_t fp;     /* dedup fingerprint of (kind, ref, offender) */
    uint32_t agent;  /* index into the agent table */
    uint32_t time_s; /* when the slash landed, Unix seconds */
    uint32_t kind;   /* ca_ledger_evidence */
    uint32_t pad_;
} cai_offense;

#define CAI_AGENT_PRETRUSTED 1u
#define CAI_AGENT_SCORED     2u /* had a score at the last update (warm start) */

typedef struct cai_rep_agent {
    ca_agent_id id;
    uint64_t stake;
    uint64_t pos;  /* decayed positive evidence at the last update, Q12 weight x percent */
    uint64_t neg;  /* decayed negative evidence, same units */
    double global; /* EigenTrust score at the last update */
    uint32_t received;
    uint32_t given;
    uint32_t flags;
    uint32_t offenses; /* offenses recorded against it */
} cai_rep_agent;

/* Evidence fixed point: weight units times 2^12, times the rating percent. */
#define CAI_EVIDENCE_SHIFT 12u
#define CAI_EVIDENCE_SCALE (100.0 * 4096.0)

struct ca_reputation {
    ca_reputation_options opts;

    cai_rep_agent *agents;
    uint32_t n_agents, cap_agents;
    cai_idmap agent_index; /* agent id -> index in agents; its layout never affects results */

    cai_rating *ratings;
    uint32_t n_ratings, cap_ratings;

    cai_offense *offenses;
    uint32_t n_offenses, cap_offenses;

    /* Task and offense fingerprints (a set of 64-bit keys, at most 85% full): count is
     * >= n_ratings + n_offenses, more once ratings are pruned (their fingerprints stay). */
    cai_idmap fps;

    uint32_t *order;       /* rank -> agent index (agents sorted by id) */
    uint32_t order_agents; /* agent count when order was computed */

    uint32_t dst_shift, src_shift; /* iteration tile (tests shrink it) */

    int scored;              /* at least one update has run */
    uint64_t last_update_ms; /* now_ms of the last update */
};

/* Asks Linux for transparent huge pages on a large table (TLB misses); no-op elsewhere. */
void cai_reputation_advise_huge(void *p, size_t bytes);

/* 2^(-delta/half_life) in Q32 (2^32 = 1), integer only, rounding down. */
uint64_t cai_reputation_decay_q32(uint64_t delta_ms, uint64_t half_life_ms);

/*
 * The fractional steps of cai_reputation_decay_q32 for every 16-bit fraction
 * (entry 0 stands for 2^32), so that an update over many ratings does one
 * lookup per rating instead of sixteen multiplications. Same bits.
 */
#define CAI_DECAY_TABLE_SIZE 65536u
void cai_reputation_decay_table_init(uint32_t table[CAI_DECAY_TABLE_SIZE]);
uint64_t cai_reputation_decay_lookup(const uint32_t table[CAI_DECAY_TABLE_SIZE], uint64_t delta_ms,
                                     uint64_t half_life_ms);

/* Dedup fingerprint of an offense: the first 8 bytes of the ledger's evidence key. */
uint64_t cai_reputation_offense_fp(uint32_t kind, const ca_hash *ref, const ca_agent_id *offender);

/* Room for `count` offenses (exact: no more than that). */
ca_status cai_reputation_grow_offenses(ca_reputation *rep, uint32_t count, int exact);

/*
 * The weight a payment buys: floor(sqrt(amount / unit_amount)) capped at
 * CA_REPUTATION_WEIGHT_MAX (integer square root, exact); 0 for NULL. Concave,
 * so one large payment cannot drown many independent hirers, and every unit
 * of weight costs at least unit_amount, so floods of ratings cost real money.
 */
uint32_t cai_reputation_weight(const ca_reputation *rep, uint64_t amount);

/* Bytes of memory the handle holds (all tables and stored scores); 0 for NULL. */
size_t cai_reputation_memory_bytes(const ca_reputation *rep);

/* Index of an agent or UINT32_MAX. */
uint32_t cai_reputation_find(const ca_reputation *rep, const ca_agent_id *id);

/*
 * Fills order[0..n) with agent indices sorted by id. Returns CA_ERR_NO_MEMORY
 * only through the caller's allocation; this sorts in place.
 */
void cai_reputation_sort_agents(const ca_reputation *rep, uint32_t *order);

/* Makes rep->order current (sorted by id). */
ca_status cai_reputation_ensure_order(ca_reputation *rep);

/* Fills a public score record from an agent. */
void cai_reputation_fill_score(const ca_reputation *rep, uint32_t idx, ca_reputation_score *out);

/* The 1.0 layout of ca_reputation_score, the smallest element size accepted (STRUCT RULE,
 * common.h). When the struct grows this stays the old layout's end, not sizeof. */
#define CAI_REPUTATION_SCORE_SIZE_1 sizeof(ca_reputation_score)

/* Allocates an empty handle with the same options (for imports). */
ca_status cai_reputation_clone_empty(const ca_reputation *rep, ca_reputation **out);

/* Room for `count` fingerprints in all (exact size, for imports). */
ca_status cai_reputation_reserve_fps(ca_reputation *rep, uint64_t count);

/* Inserts agents/fingerprints into tables sized by reserve (no growth checks). */
ca_status cai_reputation_insert_agent(ca_reputation *rep, const ca_agent_id *id, uint32_t *idx);
ca_status cai_reputation_insert_fp(ca_reputation *rep, uint64_t fp);

/*
 * One edge of the trust graph inside its tile: idx = (src - tile's first
 * src) << dst_shift | (dst - tile's first dst).
 */
typedef struct cai_rep_edge {
    uint32_t idx;
    float val; /* max(s_ij, 0) as (float)(double)s_ij with s_ij < 2^53 */
} cai_rep_edge;

/* Default tile: 2^16 ratees (512 KiB of sums) by 2^14 raters (128 KiB of u), both in L2. */
#define CAI_DST_SHIFT 16u
#define CAI_SRC_SHIFT 14u

/* The iteration prefetches the edge stream this many edges (2 KiB) ahead. */
#define CAI_EDGE_AHEAD 256u

/*
 * The rating graph of one update in rank space (agents ordered by id), cut
 * into tiles of 2^dst_shift ratees by 2^src_shift raters so that both the
 * sums being built and the values gathered stay in cache. Tiles run by dst
 * block, then by src block; inside a tile, edges run by (src, dst), so the
 * gathered u_i are read in increasing order (a stream, not random). Each
 * ratee j therefore receives its terms val_ij * u_i in increasing rater
 * rank i, starting from 0.0: the same additions, in the same order, as a
 * plain column-by-column loop, hence the same bits.
 */
typedef struct cai_rep_graph {
    uint32_t n;
    uint32_t edges;
    uint32_t dst_shift, src_shift;
    uint32_t dst_blocks, src_blocks;
    uint32_t *tile_ptr; /* dst_blocks * src_blocks + 1 */
    cai_rep_edge *e;    /* edges */
    double *out_sum;    /* n: W_i = sum of val over i's out-edges (0 = dangling) */
    double *p;          /* n: teleport distribution */
    double *t;          /* n: current scores */
    double *tn;         /* n: next scores */
    double *u;          /* n: t_i / W_i */
    double *u_next;     /* n: the same for the next iteration */
    /*
     * n, or NULL when no agent has an offense: the share of t_i that does
     * not flow along i's edges (its own lost credibility and the trust its
     * edges into offenders lose) and goes to the teleport vector instead.
     * out_sum then holds W_i / credibility_i.
     */
    double *leak;
} cai_rep_graph;

/* Edge k of column j in CSC form: for tools that want the plain graph (bench). */
typedef struct cai_rep_triplet {
    uint32_t dst, src;
    float val;
} cai_rep_triplet;

/* Writes the edges as (dst, src, val) in tile order (not sorted); out holds g->edges. */
void cai_reputation_graph_triplets(const cai_rep_graph *g, cai_rep_triplet *out);

/* Builds the graph and the Beta evidence as of now_ms; rep->order is made current. */
ca_status cai_reputation_build(ca_reputation *rep, uint64_t now_ms, cai_rep_graph *g);

/* Sets g->t to the start vector: previous scores (warm) or p (cold). */
void cai_reputation_start(const ca_reputation *rep, cai_rep_graph *g, int warm);

/* Power iteration until the L1 change is below tol or max_iter; scores in g->t. */
void cai_reputation_iterate(cai_rep_graph *g, double damping, double tol, uint32_t max_iter,
                            ca_reputation_stats *stats);

/* Stores g->t into the agents and marks the handle scored at now_ms. */
void cai_reputation_commit(ca_reputation *rep, const cai_rep_graph *g, uint64_t now_ms);

void cai_reputation_graph_free(cai_rep_graph *g);

#endif /* CYBERAGENT_REPUTATION_INTERNAL_H */
