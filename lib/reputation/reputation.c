/* Reputation handle: options, agent table, rating store, one-rating-per-task index. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#endif
#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <sodium.h>

#include "core/array.h"
#include "ledger/ledger_internal.h"
#include "reputation_internal.h"

#define CAI_MAX_HALF_LIFE_MS (1ull << 47)

ca_status ca_reputation_options_init(ca_reputation_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("reputation options", version, CA_REPUTATION_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    opts->half_life_ms = CA_REPUTATION_HALF_LIFE_MS_DEFAULT;
    opts->damping_ppm = CA_REPUTATION_DAMPING_PPM_DEFAULT;
    opts->stake_share_ppm = CA_REPUTATION_STAKE_SHARE_PPM_DEFAULT;
    opts->tolerance = CA_REPUTATION_TOLERANCE_DEFAULT;
    opts->max_iterations = CA_REPUTATION_MAX_ITERATIONS_DEFAULT;
    opts->warm_start = CA_REPUTATION_WARM_START_DEFAULT;
    opts->unit_amount = CA_REPUTATION_UNIT_AMOUNT_DEFAULT;
    opts->max_agents = CA_REPUTATION_MAX_AGENTS_DEFAULT;
    opts->max_ratings = CA_REPUTATION_MAX_RATINGS_DEFAULT;
    return CA_OK;
}

static ca_status check_options(const ca_reputation_options *o)
{
    CAI_REQUIRE_VERSION("reputation options", o->version, CA_REPUTATION_OPTIONS_VERSION);
    if (o->half_life_ms < 1000 || o->half_life_ms > CAI_MAX_HALF_LIFE_MS)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "half_life_ms must be within 1000 .. 2^47");
    if (o->damping_ppm == 0 || o->damping_ppm > 1000000)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "damping_ppm must be within 1 .. 1000000");
    if (o->stake_share_ppm > 1000000)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "stake_share_ppm must be at most 1000000");
    if (!(o->tolerance > 0.0) || o->tolerance > 1.0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "tolerance must be within (0, 1]");
    if (o->max_iterations == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_iterations must be at least 1");
    if (o->unit_amount == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "unit_amount must be at least 1");
    if (o->max_agents == 0 || o->max_agents > CA_REPUTATION_MAX_AGENTS_LIMIT ||
        o->max_ratings > CA_REPUTATION_MAX_RATINGS_LIMIT)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_agents/max_ratings out of range");
    return CA_OK;
}

/*
 * The two keyed id maps (lib/core/idmap.h), each with its own random key:
 * agent id -> agent record, and the set of task and offense fingerprints.
 * Their limits only cap the maps: max_agents and max_ratings are enforced by
 * the callers, with their own statuses, before a map is asked to grow.
 */
static void init_indexes(ca_reputation *rep)
{
    uint32_t agents =
        rep->opts.max_agents < CAI_IDMAP_MAX_ENTRIES ? rep->opts.max_agents : CAI_IDMAP_MAX_ENTRIES;
    (void)cai_idmap_init(&rep->agent_index, agents);
    (void)cai_idmap_init_u64(&rep->fps, CAI_IDMAP_MAX_ENTRIES);
}

ca_status ca_reputation_new(ca_reputation **out, const ca_reputation_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_reputation_options defaults;
    if (opts == NULL) {
        (void)ca_reputation_options_init(&defaults, CA_REPUTATION_OPTIONS_VERSION);
        opts = &defaults;
    }
    ca_status st = check_options(opts);
    if (st != CA_OK)
        return st;
    if ((st = cai_ensure_init()) != CA_OK)
        return st;
    ca_reputation *rep = calloc(1, sizeof *rep);
    if (rep == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating a reputation handle");
    rep->opts = *opts;
    rep->opts.version = CA_REPUTATION_OPTIONS_VERSION;
    rep->dst_shift = CAI_DST_SHIFT;
    rep->src_shift = CAI_SRC_SHIFT;
    init_indexes(rep);
    *out = rep;
    return CA_OK;
}

ca_status cai_reputation_clone_empty(const ca_reputation *rep, ca_reputation **out)
{
    ca_reputation *c = calloc(1, sizeof *c);
    if (c == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating a reputation handle");
    c->opts = rep->opts;
    c->dst_shift = rep->dst_shift;
    c->src_shift = rep->src_shift;
    init_indexes(c);
    *out = c;
    return CA_OK;
}

void ca_reputation_free(ca_reputation *rep)
{
    if (rep == NULL)
        return;
    free(rep->agents);
    cai_idmap_free(&rep->agent_index);
    free(rep->ratings);
    free(rep->offenses);
    cai_idmap_free(&rep->fps);
    free(rep->order);
    free(rep);
}

size_t ca_reputation_agent_count(const ca_reputation *rep)
{
    return rep == NULL ? 0 : rep->n_agents;
}

size_t ca_reputation_rating_count(const ca_reputation *rep)
{
    return rep == NULL ? 0 : rep->n_ratings;
}

size_t cai_reputation_memory_bytes(const ca_reputation *rep)
{
    if (rep == NULL)
        return 0;
    size_t order = rep->order != NULL ? (size_t)rep->order_agents * sizeof(uint32_t) : 0;
    return sizeof *rep + (size_t)rep->cap_agents * sizeof(cai_rep_agent) +
           cai_idmap_memory_bytes(&rep->agent_index) +
           (size_t)rep->cap_ratings * sizeof(cai_rating) + cai_idmap_memory_bytes(&rep->fps) +
           (size_t)rep->cap_offenses * sizeof(cai_offense) + order;
}

void cai_reputation_advise_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    /* Only worth it for tables of several huge pages; advice, never an error. */
    const uintptr_t page = 4096, huge = (uintptr_t)2 << 20;
    if (p == NULL || bytes < 2 * huge)
        return;
    size_t skip = (size_t)((page - (uintptr_t)p % page) % page);
    size_t len = (bytes - skip) & ~(size_t)(page - 1);
    if (len > 0)
        (void)madvise((uint8_t *)p + skip, len, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* ---- lookups: keyed id maps, so crafted ids or task hashes cannot flood one slot ---- */

uint32_t cai_reputation_find(const ca_reputation *rep, const ca_agent_id *id)
{
    uint32_t i = cai_idmap_find(&rep->agent_index, rep->agents, sizeof *rep->agents, id->bytes);
    return i == CAI_IDMAP_NONE ? UINT32_MAX : i;
}

/* ---- capacity: growing never changes what the handle answers ---- */

/* Grows (or, exact, reserves) a table; a table that moved gets the huge-page advice. */
static ca_status grow_array(void **arr, uint32_t *cap, uint64_t want, size_t elem, uint32_t max,
                            int exact)
{
    const uint32_t before = *cap;
    ca_status st = exact ? cai_array_reserve(arr, cap, want, elem, max)
                         : cai_array_grow(arr, cap, want, elem, max);
    if (st == CA_OK && *cap != before)
        cai_reputation_advise_huge(*arr, (size_t)*cap * elem);
    return st;
}

/* Room for `total` entries in a map (exact: no more slots than that needs). */
static ca_status grow_map(cai_idmap *m, uint64_t total, int exact)
{
    if (total <= m->count)
        return CA_OK;
    if (total > UINT32_MAX)
        return cai_fail(CA_ERR_LIMIT, "table cannot grow further");
    const uint32_t before = m->cap, more = (uint32_t)(total - m->count);
    ca_status st = exact ? cai_idmap_reserve_exact(m, more) : cai_idmap_reserve(m, more);
    if (st == CA_OK && m->cap != before)
        cai_reputation_advise_huge(m->slots, cai_idmap_memory_bytes(m));
    return st;
}

static ca_status grow_agents(ca_reputation *rep, uint32_t agents, int exact)
{
    ca_status st = grow_array((void **)&rep->agents, &rep->cap_agents, agents, sizeof *rep->agents,
                              rep->opts.max_agents, exact);
    return st != CA_OK ? st : grow_map(&rep->agent_index, agents, exact);
}

/* Room for `count` task and offense fingerprints in all. */
static ca_status grow_fps(ca_reputation *rep, uint64_t count, int exact)
{
    return grow_map(&rep->fps, count, exact);
}

static ca_status grow_ratings(ca_reputation *rep, uint32_t ratings, int exact)
{
    return grow_array((void **)&rep->ratings, &rep->cap_ratings, ratings, sizeof *rep->ratings,
                      rep->opts.max_ratings, exact);
}

ca_status cai_reputation_reserve_fps(ca_reputation *rep, uint64_t count)
{
    return grow_fps(rep, count, 1);
}

ca_status ca_reputation_reserve(ca_reputation *rep, size_t agents, size_t ratings)
{
    CAI_REQUIRE(rep);
    if (agents > rep->opts.max_agents || ratings > rep->opts.max_ratings)
        return cai_fail(CA_ERR_LIMIT, "reserve beyond max_agents/max_ratings");
    ca_status st;
    if ((st = grow_agents(rep, (uint32_t)agents, 1)) != CA_OK ||
        (st = grow_ratings(rep, (uint32_t)ratings, 1)) != CA_OK ||
        (st = grow_fps(rep, ratings, 1)) != CA_OK)
        return st;
    return CA_OK;
}

/* Capacity is ensured by the caller. */
ca_status cai_reputation_insert_agent(ca_reputation *rep, const ca_agent_id *id, uint32_t *idx)
{
    uint32_t i = rep->n_agents;
    cai_idmap_insert(&rep->agent_index, id->bytes, i);
    cai_rep_agent *a = &rep->agents[i];
    memset(a, 0, sizeof *a);
    a->id = *id;
    rep->n_agents = i + 1;
    *idx = i;
    return CA_OK;
}

ca_status cai_reputation_insert_fp(ca_reputation *rep, uint64_t fp)
{
    cai_idmap_u64_insert(&rep->fps, fp);
    return CA_OK;
}

/* Finds or registers one agent (capacity for one more is ensured first). */
static ca_status find_or_add(ca_reputation *rep, const ca_agent_id *id, uint32_t *idx)
{
    uint32_t i = cai_reputation_find(rep, id);
    if (i != UINT32_MAX) {
        *idx = i;
        return CA_OK;
    }
    if (rep->n_agents >= rep->opts.max_agents)
        return cai_fail(CA_ERR_LIMIT, "reputation holds max_agents (%u) agents",
                        rep->opts.max_agents);
    ca_status st = grow_agents(rep, rep->n_agents + 1, 0);
    if (st != CA_OK)
        return st;
    return cai_reputation_insert_agent(rep, id, idx);
}

/* ---- weight ---- */

static uint32_t isqrt64(uint64_t v)
{
    /* Bit-by-bit integer square root: exact floor(sqrt(v)). */
    uint64_t res = 0, bit = 1ull << 62;
    while (bit > v)
        bit >>= 2;
    while (bit != 0) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)res;
}

static uint32_t weight_of(const ca_reputation_options *o, uint64_t amount)
{
    uint32_t w = isqrt64(amount / o->unit_amount);
    return w > CA_REPUTATION_WEIGHT_MAX ? CA_REPUTATION_WEIGHT_MAX : w;
}

uint32_t cai_reputation_weight(const ca_reputation *rep, uint64_t amount)
{
    if (rep == NULL)
        return 0;
    return weight_of(&rep->opts, amount);
}

/* ---- ingest ---- */

ca_status ca_reputation_add_rating(ca_reputation *rep, const ca_hash *task,
                                   const ca_agent_id *rater, const ca_agent_id *ratee,
                                   uint32_t rating, uint64_t amount, uint64_t time_ms)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(task);
    CAI_REQUIRE(rater);
    CAI_REQUIRE(ratee);
    if (rating > CA_TASK_RATING_MAX)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "rating %u is above %u", rating,
                        CA_TASK_RATING_MAX);
    if (time_ms / 1000 > UINT32_MAX)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "rating time beyond 2^32 seconds");
    if (memcmp(rater->bytes, ratee->bytes, CA_AGENT_ID_BYTES) == 0)
        return cai_fail(CA_ERR_SELF_RATING, "an agent cannot rate its own task");
    uint32_t w = weight_of(&rep->opts, amount);
    if (w == 0)
        return cai_fail(CA_ERR_UNPAID_RATING,
                        "payment of %llu buys no weight (unit_amount is %llu)",
                        (unsigned long long)amount, (unsigned long long)rep->opts.unit_amount);
    /* Room for one more task first (growing changes nothing observable), then one probe. */
    ca_status st = grow_fps(rep, (uint64_t)rep->fps.count + 1, 0);
    if (st != CA_OK)
        return st;
    uint64_t fp = cai_load_le64(task->bytes);
    if (cai_idmap_u64_find(&rep->fps, fp, NULL))
        return cai_fail(CA_ERR_DUPLICATE_RATING, "this task has already been rated");
    /* Tasks, pruned or not, count against max_ratings: that bounds the fingerprint table too. */
    if (rep->fps.count - rep->n_offenses >= rep->opts.max_ratings)
        return cai_fail(CA_ERR_LIMIT, "reputation has taken max_ratings (%u) tasks",
                        rep->opts.max_ratings);
    uint32_t a = cai_reputation_find(rep, rater), b = cai_reputation_find(rep, ratee);
    uint32_t new_agents = (a == UINT32_MAX) + (b == UINT32_MAX);
    if ((uint64_t)rep->n_agents + new_agents > rep->opts.max_agents)
        return cai_fail(CA_ERR_LIMIT, "reputation holds max_agents (%u) agents",
                        rep->opts.max_agents);
    /* Every allocation before the first change, so a failure leaves the state unchanged. */
    if ((st = grow_agents(rep, rep->n_agents + new_agents, 0)) != CA_OK ||
        (st = grow_ratings(rep, rep->n_ratings + 1, 0)) != CA_OK)
        return st;
    if (a == UINT32_MAX)
        (void)cai_reputation_insert_agent(rep, rater, &a);
    if (b == UINT32_MAX)
        (void)cai_reputation_insert_agent(rep, ratee, &b);
    cai_idmap_u64_insert(&rep->fps, fp);
    cai_rating *r = &rep->ratings[rep->n_ratings++];
    r->rater = a;
    r->ratee = b;
    r->time_s = (uint32_t)(time_ms / 1000);
    r->packed = w << CAI_RATING_BITS | rating;
    rep->agents[a].given++;
    rep->agents[b].received++;
    return CA_OK;
}

ca_status ca_reputation_set_stake(ca_reputation *rep, const ca_agent_id *agent, uint64_t amount)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(agent);
    uint32_t i;
    ca_status st = find_or_add(rep, agent, &i);
    if (st != CA_OK)
        return st;
    rep->agents[i].stake = amount;
    return CA_OK;
}

ca_status ca_reputation_set_pretrusted(ca_reputation *rep, const ca_agent_id *agent, int pretrusted)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(agent);
    uint32_t i;
    ca_status st = find_or_add(rep, agent, &i);
    if (st != CA_OK)
        return st;
    if (pretrusted)
        rep->agents[i].flags |= CAI_AGENT_PRETRUSTED;
    else
        rep->agents[i].flags &= ~CAI_AGENT_PRETRUSTED;
    return CA_OK;
}

/* The first 8 bytes of the ledger's evidence key (docs/LEDGER.md, "State"). */
uint64_t cai_reputation_offense_fp(uint32_t kind, const ca_hash *ref, const ca_agent_id *offender)
{
    ca_hash key;
    cai_ledger_evidence_key(kind, ref, offender, &key);
    return cai_load_le64(key.bytes);
}

ca_status cai_reputation_grow_offenses(ca_reputation *rep, uint32_t count, int exact)
{
    return grow_array((void **)&rep->offenses, &rep->cap_offenses, count, sizeof *rep->offenses,
                      rep->opts.max_ratings, exact);
}

ca_status ca_reputation_add_offense(ca_reputation *rep, uint32_t kind, const ca_hash *ref,
                                    const ca_agent_id *offender, uint64_t time_ms)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(ref);
    CAI_REQUIRE(offender);
    if (kind < CA_LEDGER_EVIDENCE_EQUIVOCATION || kind > CA_LEDGER_EVIDENCE_DISPUTE)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "offense kind %u is not 1 .. 3", kind);
    if (time_ms / 1000 > UINT32_MAX)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "offense time beyond 2^32 seconds");
    ca_status st = grow_fps(rep, (uint64_t)rep->fps.count + 1, 0);
    if (st != CA_OK)
        return st;
    uint64_t fp = cai_reputation_offense_fp(kind, ref, offender);
    if (cai_idmap_u64_find(&rep->fps, fp, NULL))
        return cai_fail(CA_ERR_DUPLICATE_OFFENSE, "this offense has already been recorded");
    if (rep->n_offenses >= rep->opts.max_ratings)
        return cai_fail(CA_ERR_LIMIT, "reputation holds max_ratings (%u) offenses",
                        rep->opts.max_ratings);
    uint32_t a = cai_reputation_find(rep, offender);
    if (a == UINT32_MAX && rep->n_agents >= rep->opts.max_agents)
        return cai_fail(CA_ERR_LIMIT, "reputation holds max_agents (%u) agents",
                        rep->opts.max_agents);
    if ((a == UINT32_MAX && (st = grow_agents(rep, rep->n_agents + 1, 0)) != CA_OK) ||
        (st = cai_reputation_grow_offenses(rep, rep->n_offenses + 1, 0)) != CA_OK)
        return st;
    if (a == UINT32_MAX)
        (void)cai_reputation_insert_agent(rep, offender, &a);
    cai_idmap_u64_insert(&rep->fps, fp);
    cai_offense *o = &rep->offenses[rep->n_offenses++];
    memset(o, 0, sizeof *o);
    o->fp = fp;
    o->agent = a;
    o->time_s = (uint32_t)(time_ms / 1000);
    o->kind = kind;
    rep->agents[a].offenses++;
    return CA_OK;
}

/* ---- pruning ---- */

ca_status ca_reputation_prune(ca_reputation *rep, uint64_t now_ms, size_t *pruned_out)
{
    if (pruned_out != NULL)
        *pruned_out = 0;
    CAI_REQUIRE(rep);
    const uint32_t nr = rep->n_ratings;
    const uint64_t hl = rep->opts.half_life_ms;
    /* The same evidence as an update at now_ms (sort_ratings in score.c), same bits. */
    uint32_t *table =
        nr >= CAI_DECAY_TABLE_SIZE / 8 ? malloc(CAI_DECAY_TABLE_SIZE * sizeof *table) : NULL;
    if (table != NULL)
        cai_reputation_decay_table_init(table);
    uint32_t kept = 0;
    for (uint32_t k = 0; k < nr; k++) {
        const cai_rating *x = &rep->ratings[k];
        const uint64_t t_ms = (uint64_t)x->time_s * 1000u;
        const uint64_t delta = now_ms > t_ms ? now_ms - t_ms : 0;
        const uint64_t d = table ? cai_reputation_decay_lookup(table, delta, hl)
                                 : cai_reputation_decay_q32(delta, hl);
        if ((((uint64_t)cai_rating_weight(x) * d) >> (32u - CAI_EVIDENCE_SHIFT)) == 0) {
            /* No evidence now, hence none at any later time (D never grows with age). */
            rep->agents[x->rater].given--;
            rep->agents[x->ratee].received--;
            continue;
        }
        rep->ratings[kept++] = *x;
    }
    free(table);
    rep->n_ratings = kept;
    if (kept < rep->cap_ratings / 2) {
        if (kept == 0) {
            free(rep->ratings);
            rep->ratings = NULL;
            rep->cap_ratings = 0;
        } else {
            cai_rating *r = realloc(rep->ratings, (size_t)kept * sizeof *r);
            if (r != NULL) { /* else keep the larger block: not an error */
                rep->ratings = r;
                rep->cap_ratings = kept;
            }
        }
    }
    if (pruned_out != NULL)
        *pruned_out = nr - kept;
    return CA_OK;
}
