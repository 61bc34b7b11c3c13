/* Reputation handle: options, agent table, rating store, one-rating-per-task index. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#endif
#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <sodium.h>

#include "reputation_internal.h"

#define CAI_MAX_HALF_LIFE_MS (1ull << 47)

size_t ca_reputation_rating_max(void)
{
    return CA_REPUTATION_RATING_MAX;
}

size_t ca_reputation_weight_max(void)
{
    return CA_REPUTATION_WEIGHT_MAX;
}

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
    cai_clear_error();
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
    randombytes_buf(rep->hash_key, sizeof rep->hash_key);
    *out = rep;
    cai_clear_error();
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
    memcpy(c->hash_key, rep->hash_key, sizeof c->hash_key);
    *out = c;
    return CA_OK;
}

void ca_reputation_free(ca_reputation *rep)
{
    if (rep == NULL)
        return;
    free(rep->agents);
    free(rep->agent_slots);
    free(rep->ratings);
    free(rep->offenses);
    free(rep->fps);
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

size_t ca_reputation_memory_bytes(const ca_reputation *rep)
{
    if (rep == NULL)
        return 0;
    size_t order = rep->order != NULL ? (size_t)rep->order_agents * sizeof(uint32_t) : 0;
    return sizeof *rep + (size_t)rep->cap_agents * sizeof(cai_rep_agent) +
           (size_t)rep->agent_slot_cap * sizeof(uint32_t) +
           (size_t)rep->cap_ratings * sizeof(cai_rating) + (size_t)rep->fp_cap * sizeof(uint64_t) +
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

/* ---- hashing: keyed SipHash so crafted ids or task hashes cannot flood one slot ---- */

static uint64_t agent_hash(const ca_reputation *rep, const ca_agent_id *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id->bytes, CA_AGENT_ID_BYTES, rep->hash_key);
    return cai_load_le64(h);
}

static uint64_t fp_hash(const ca_reputation *rep, uint64_t fp)
{
    uint8_t b[8], h[crypto_shorthash_BYTES];
    cai_store_le64(b, fp);
    crypto_shorthash(h, b, sizeof b, rep->hash_key);
    return cai_load_le64(h);
}

/* Slot in [0, cap) for a 64-bit hash (multiply-shift range reduction). */
static uint32_t fp_slot(uint64_t h, uint32_t cap)
{
    return (uint32_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

uint32_t cai_reputation_find(const ca_reputation *rep, const ca_agent_id *id)
{
    if (rep->agent_slot_cap == 0)
        return UINT32_MAX;
    uint32_t mask = rep->agent_slot_cap - 1;
    for (uint32_t s = (uint32_t)agent_hash(rep, id) & mask;; s = (s + 1) & mask) {
        uint32_t v = rep->agent_slots[s];
        if (v == 0)
            return UINT32_MAX;
        if (memcmp(rep->agents[v - 1].id.bytes, id->bytes, CA_AGENT_ID_BYTES) == 0)
            return v - 1;
    }
}

/*
 * 1 when fp is present; otherwise 0 and *slot is where it would go (valid
 * until the table changes). The table always has a free slot.
 */
static int fp_probe(const ca_reputation *rep, uint64_t fp, uint32_t *slot)
{
    if (fp == 0)
        return rep->has_zero_fp;
    for (uint32_t s = fp_slot(fp_hash(rep, fp), rep->fp_cap);;) {
        uint64_t v = rep->fps[s];
        if (v == 0) {
            *slot = s;
            return 0;
        }
        if (v == fp)
            return 1;
        if (++s == rep->fp_cap)
            s = 0;
    }
}

/* ---- capacity: growing never changes what the handle answers ---- */

static ca_status grow_agent_slots(ca_reputation *rep, uint32_t agents)
{
    uint64_t want = 16;
    while (want < 2ull * agents)
        want <<= 1;
    if (want <= rep->agent_slot_cap)
        return CA_OK;
    if (want > UINT32_MAX)
        return cai_fail(CA_ERR_LIMIT, "agent table cannot grow further");
    uint32_t cap = (uint32_t)want, mask = cap - 1;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing the agent table");
    cai_reputation_advise_huge(slots, (size_t)cap * sizeof *slots);
    for (uint32_t i = 0; i < rep->n_agents; i++) {
        uint32_t s = (uint32_t)agent_hash(rep, &rep->agents[i].id) & mask;
        while (slots[s] != 0)
            s = (s + 1) & mask;
        slots[s] = i + 1;
    }
    free(rep->agent_slots);
    rep->agent_slots = slots;
    rep->agent_slot_cap = cap;
    return CA_OK;
}

static ca_status grow_agents(ca_reputation *rep, uint32_t agents, int exact)
{
    if (agents > rep->cap_agents) {
        uint64_t cap = exact ? agents : (uint64_t)rep->cap_agents + rep->cap_agents / 2 + 16;
        if (cap < agents)
            cap = agents;
        if (cap > rep->opts.max_agents)
            cap = rep->opts.max_agents;
        cai_rep_agent *a = realloc(rep->agents, (size_t)cap * sizeof *a);
        if (a == NULL)
            return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing the agent list");
        cai_reputation_advise_huge(a, (size_t)cap * sizeof *a);
        rep->agents = a;
        rep->cap_agents = (uint32_t)cap;
    }
    return grow_agent_slots(rep, agents);
}

static ca_status rehash_fps(ca_reputation *rep, uint64_t cap64)
{
    if (cap64 > UINT32_MAX)
        return cai_fail(CA_ERR_LIMIT, "task index cannot grow further");
    uint32_t cap = (uint32_t)cap64;
    uint64_t *t = calloc(cap, sizeof *t);
    if (t == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing the task index");
    cai_reputation_advise_huge(t, (size_t)cap * sizeof *t);
    for (uint32_t i = 0; i < rep->fp_cap; i++) {
        uint64_t fp = rep->fps[i];
        if (fp == 0)
            continue;
        uint32_t s = fp_slot(fp_hash(rep, fp), cap);
        while (t[s] != 0)
            if (++s == cap)
                s = 0;
        t[s] = fp;
    }
    free(rep->fps);
    rep->fps = t;
    rep->fp_cap = cap;
    return CA_OK;
}

/* Keeps the task index at most 85% full. */
static ca_status grow_fps(ca_reputation *rep, uint32_t count, int exact)
{
    if ((uint64_t)count * 20 < (uint64_t)rep->fp_cap * 17)
        return CA_OK;
    uint64_t cap = (uint64_t)count * 20 / 17 + 2;
    if (!exact && cap < (uint64_t)rep->fp_cap * 2)
        cap = (uint64_t)rep->fp_cap * 2 < 64 ? 64 : (uint64_t)rep->fp_cap * 2;
    return rehash_fps(rep, cap);
}

static ca_status grow_ratings(ca_reputation *rep, uint32_t ratings, int exact)
{
    if (ratings <= rep->cap_ratings)
        return CA_OK;
    uint64_t cap = exact ? ratings : (uint64_t)rep->cap_ratings + rep->cap_ratings / 2 + 16;
    if (cap < ratings)
        cap = ratings;
    if (cap > rep->opts.max_ratings)
        cap = rep->opts.max_ratings;
    cai_rating *r = realloc(rep->ratings, (size_t)cap * sizeof *r);
    if (r == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing the rating store");
    cai_reputation_advise_huge(r, (size_t)cap * sizeof *r);
    rep->ratings = r;
    rep->cap_ratings = (uint32_t)cap;
    return CA_OK;
}

ca_status cai_reputation_reserve_fps(ca_reputation *rep, uint64_t count)
{
    if (count > UINT32_MAX)
        return cai_fail(CA_ERR_LIMIT, "task index cannot grow further");
    return grow_fps(rep, (uint32_t)count, 1);
}

ca_status ca_reputation_reserve(ca_reputation *rep, size_t agents, size_t ratings)
{
    CAI_REQUIRE(rep);
    if (agents > rep->opts.max_agents || ratings > rep->opts.max_ratings)
        return cai_fail(CA_ERR_LIMIT, "reserve beyond max_agents/max_ratings");
    ca_status st;
    if ((st = grow_agents(rep, (uint32_t)agents, 1)) != CA_OK ||
        (st = grow_ratings(rep, (uint32_t)ratings, 1)) != CA_OK ||
        (st = grow_fps(rep, (uint32_t)ratings, 1)) != CA_OK)
        return st;
    cai_clear_error();
    return CA_OK;
}

/* Capacity is ensured by the caller. */
ca_status cai_reputation_insert_agent(ca_reputation *rep, const ca_agent_id *id, uint32_t *idx)
{
    uint32_t i = rep->n_agents, mask = rep->agent_slot_cap - 1;
    uint32_t s = (uint32_t)agent_hash(rep, id) & mask;
    while (rep->agent_slots[s] != 0)
        s = (s + 1) & mask;
    rep->agent_slots[s] = i + 1;
    cai_rep_agent *a = &rep->agents[i];
    memset(a, 0, sizeof *a);
    a->id = *id;
    rep->n_agents = i + 1;
    *idx = i;
    return CA_OK;
}

ca_status cai_reputation_insert_fp(ca_reputation *rep, uint64_t fp)
{
    rep->n_fps++;
    if (fp == 0) {
        rep->has_zero_fp = 1;
        return CA_OK;
    }
    uint32_t s = fp_slot(fp_hash(rep, fp), rep->fp_cap);
    while (rep->fps[s] != 0)
        if (++s == rep->fp_cap)
            s = 0;
    rep->fps[s] = fp;
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

uint32_t ca_reputation_weight(const ca_reputation *rep, uint64_t amount)
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
    if (rating > CA_REPUTATION_RATING_MAX)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "rating %u is above %u", rating,
                        CA_REPUTATION_RATING_MAX);
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
    ca_status st = grow_fps(rep, rep->n_fps + 1, 0);
    if (st != CA_OK)
        return st;
    uint64_t fp = cai_load_le64(task->bytes);
    uint32_t slot = 0;
    if (fp_probe(rep, fp, &slot))
        return cai_fail(CA_ERR_DUPLICATE_RATING, "this task has already been rated");
    /* Tasks, pruned or not, count against max_ratings: that bounds the fingerprint table too. */
    if (rep->n_fps - rep->n_offenses >= rep->opts.max_ratings)
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
    if (fp == 0)
        rep->has_zero_fp = 1;
    else
        rep->fps[slot] = fp;
    rep->n_fps++;
    cai_rating *r = &rep->ratings[rep->n_ratings++];
    r->rater = a;
    r->ratee = b;
    r->time_s = (uint32_t)(time_ms / 1000);
    r->packed = w << CAI_RATING_BITS | rating;
    rep->agents[a].given++;
    rep->agents[b].received++;
    cai_clear_error();
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
    cai_clear_error();
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
    cai_clear_error();
    return CA_OK;
}

/* The first 8 bytes of the ledger's evidence key (docs/LEDGER.md, "State"). */
uint64_t cai_reputation_offense_fp(uint32_t kind, const ca_hash *ref, const ca_agent_id *offender)
{
    uint8_t buf[21 + 4 + 64], key[32];
    memcpy(buf, "cyberagent/1/evidence", 21);
    cai_store_le32(buf + 21, kind);
    memcpy(buf + 25, ref->bytes, 32);
    memcpy(buf + 57, offender->bytes, 32);
    crypto_generichash(key, sizeof key, buf, sizeof buf, NULL, 0);
    return cai_load_le64(key);
}

ca_status cai_reputation_grow_offenses(ca_reputation *rep, uint32_t count)
{
    if (count <= rep->cap_offenses)
        return CA_OK;
    uint64_t cap = (uint64_t)rep->cap_offenses + rep->cap_offenses / 2 + 16;
    if (cap < count)
        cap = count;
    if (cap > rep->opts.max_ratings)
        cap = rep->opts.max_ratings;
    cai_offense *o = realloc(rep->offenses, (size_t)cap * sizeof *o);
    if (o == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing the offense store");
    rep->offenses = o;
    rep->cap_offenses = (uint32_t)cap;
    return CA_OK;
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
    ca_status st = grow_fps(rep, rep->n_fps + 1, 0);
    if (st != CA_OK)
        return st;
    uint64_t fp = cai_reputation_offense_fp(kind, ref, offender);
    uint32_t slot = 0;
    if (fp_probe(rep, fp, &slot))
        return cai_fail(CA_ERR_DUPLICATE_OFFENSE, "this offense has already been recorded");
    if (rep->n_offenses >= rep->opts.max_ratings)
        return cai_fail(CA_ERR_LIMIT, "reputation holds max_ratings (%u) offenses",
                        rep->opts.max_ratings);
    uint32_t a = cai_reputation_find(rep, offender);
    if (a == UINT32_MAX && rep->n_agents >= rep->opts.max_agents)
        return cai_fail(CA_ERR_LIMIT, "reputation holds max_agents (%u) agents",
                        rep->opts.max_agents);
    if ((a == UINT32_MAX && (st = grow_agents(rep, rep->n_agents + 1, 0)) != CA_OK) ||
        (st = cai_reputation_grow_offenses(rep, rep->n_offenses + 1)) != CA_OK)
        return st;
    if (a == UINT32_MAX)
        (void)cai_reputation_insert_agent(rep, offender, &a);
    if (fp == 0)
        rep->has_zero_fp = 1;
    else
        rep->fps[slot] = fp;
    rep->n_fps++;
    cai_offense *o = &rep->offenses[rep->n_offenses++];
    memset(o, 0, sizeof *o);
    o->fp = fp;
    o->agent = a;
    o->time_s = (uint32_t)(time_ms / 1000);
    o->kind = kind;
    rep->agents[a].offenses++;
    cai_clear_error();
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
    cai_clear_error();
    return CA_OK;
}
