/*
 * Snapshot: canonical little-endian bytes of the whole reputation state.
 *
 *   header  56 bytes  "CARP", version u32, half_life_ms u64, damping_ppm u32,
 *                     stake_share_ppm u32, unit_amount u64, last_update_ms u64,
 *                     flags u32 (bit 0: scored), agent_count u32, rating_count u32,
 *                     offense_count u32;
 *           version 1: no offenses, one task per rating; version 2: offenses,
 *           one task per rating; version 3 (pruned ratings left fingerprints):
 *           60 bytes, then task_count u32 > rating_count, any offense count
 *   agents  68 bytes each, ids strictly increasing:
 *                     id[32], stake u64, global (IEEE-754 binary64 bits) u64,
 *                     positive u64, negative u64, flags u32 (bit 0 pre-trusted,
 *                     bit 1 scored at the last update)
 *   ratings 16 bytes each, (ratee, rater, time, packed) non-decreasing:
 *                     rater u32, ratee u32 (agent positions above), time_s u32,
 *                     packed u32 (weight << 7 | rating)
 *   tasks   8 bytes each (one per rating in versions 1 and 2, task_count in 3),
 *                     strictly increasing fingerprints u64
 *   offenses 20 bytes each (versions 2 and 3), fingerprints strictly increasing and
 *                     none equal to a task's: fp u64, agent u32 (position
 *                     above), time_s u32, kind u32 (1 .. 3)
 *   check   32 bytes  BLAKE2b-256 of everything before
 *
 * The decoder checks structure first and the checksum last, then builds a new
 * state aside and swaps it in, so a failure never changes the handle.
 */
#include <stdlib.h>

#include <sodium.h>

#include "reputation_internal.h"

static const uint8_t snap_magic[4] = {'C', 'A', 'R', 'P'};
#define SNAP_HEADER       56u
#define SNAP_HEADER_V3    60u
#define SNAP_AGENT        68u
#define SNAP_RATING       16u
#define SNAP_TASK         8u
#define SNAP_OFFENSE      20u
#define SNAP_CHECK        32u
#define SNAP_FLAG_SCORED  1u
#define AGENT_FLAGS_KNOWN (CAI_AGENT_PRETRUSTED | CAI_AGENT_SCORED)
#define INF_BITS          0x7FF0000000000000ull /* +infinity */

/* The canonical version: 3 only when the task count differs from the rating count. */
static uint32_t snap_version(uint32_t ratings, uint32_t tasks, uint32_t offenses)
{
    if (tasks != ratings)
        return 3u;
    return offenses > 0 ? 2u : 1u;
}

static uint32_t snap_header(uint32_t version)
{
    return version >= 3u ? SNAP_HEADER_V3 : SNAP_HEADER;
}

static int snap_size(uint32_t version, uint64_t agents, uint64_t ratings, uint64_t tasks,
                     uint64_t offenses, size_t *out)
{
    uint64_t n = snap_header(version) + agents * SNAP_AGENT + ratings * SNAP_RATING +
                 tasks * SNAP_TASK + offenses * SNAP_OFFENSE + SNAP_CHECK;
    if (n > SIZE_MAX)
        return 0;
    *out = (size_t)n;
    return 1;
}

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static int cmp_rating(const void *a, const void *b)
{
    const cai_rating *x = a, *y = b;
    const uint32_t kx[4] = {x->ratee, x->rater, x->time_s, x->packed};
    const uint32_t ky[4] = {y->ratee, y->rater, y->time_s, y->packed};
    for (int i = 0; i < 4; i++)
        if (kx[i] != ky[i])
            return kx[i] < ky[i] ? -1 : 1;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_offense(const void *a, const void *b)
{
    const cai_offense *x = a, *y = b;
    return (x->fp > y->fp) - (x->fp < y->fp);
}

ca_status ca_reputation_snapshot_export(const ca_reputation *rep, uint8_t *out, size_t out_cap,
                                        size_t *out_len)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(out_len);
    uint32_t n = rep->n_agents, nr = rep->n_ratings, no = rep->n_offenses;
    uint32_t ntask = rep->fps.count - no; /* every fingerprint is a task's or an offense's */
    uint32_t version = snap_version(nr, ntask, no);
    size_t need;
    if (!snap_size(version, n, nr, ntask, no, &need))
        return cai_fail(CA_ERR_OVERFLOW, "snapshot larger than the address space");
    ca_status st = cai_check_out(out, out_cap, out_len, need);
    if (st != CA_OK)
        return st;
    uint32_t *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    uint32_t *rank = malloc((size_t)(n ? n : 1) * sizeof *rank);
    cai_rating *rs = malloc((size_t)(nr ? nr : 1) * sizeof *rs);
    uint64_t *fps = malloc(((size_t)rep->fps.count + 1) * sizeof *fps);
    cai_offense *os = malloc(((size_t)no + 1) * sizeof *os);
    if (!order || !rank || !rs || !fps || !os) {
        free(order);
        free(rank);
        free(rs);
        free(fps);
        free(os);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory writing a snapshot");
    }
    cai_reputation_sort_agents(rep, order);
    for (uint32_t r = 0; r < n; r++)
        rank[order[r]] = r;
    for (uint32_t k = 0; k < nr; k++) {
        rs[k] = rep->ratings[k];
        rs[k].rater = rank[rs[k].rater];
        rs[k].ratee = rank[rs[k].ratee];
    }
    qsort(rs, nr, sizeof *rs, cmp_rating);
    uint32_t nf = rep->fps.count;
    cai_idmap_u64_keys(&rep->fps, fps);
    qsort(fps, nf, sizeof *fps, cmp_u64);
    /* The table holds rating and offense fingerprints (never equal): tasks = the difference. */
    for (uint32_t k = 0; k < no; k++) {
        os[k] = rep->offenses[k];
        os[k].agent = rank[os[k].agent];
    }
    qsort(os, no, sizeof *os, cmp_offense);
    uint32_t nt = 0;
    for (uint32_t i = 0, k = 0; i < nf; i++) {
        while (k < no && os[k].fp < fps[i])
            k++;
        if (k < no && os[k].fp == fps[i])
            continue;
        fps[nt++] = fps[i];
    }

    uint8_t *p = out;
    memcpy(p, snap_magic, sizeof snap_magic);
    cai_store_le32(p + 4, version); /* older readers load what they can represent */
    cai_store_le64(p + 8, rep->opts.half_life_ms);
    cai_store_le32(p + 16, rep->opts.damping_ppm);
    cai_store_le32(p + 20, rep->opts.stake_share_ppm);
    cai_store_le64(p + 24, rep->opts.unit_amount);
    cai_store_le64(p + 32, rep->scored ? rep->last_update_ms : 0);
    cai_store_le32(p + 40, rep->scored ? SNAP_FLAG_SCORED : 0);
    cai_store_le32(p + 44, n);
    cai_store_le32(p + 48, nr);
    cai_store_le32(p + 52, no);
    if (version >= 3u)
        cai_store_le32(p + 56, ntask);
    p += snap_header(version);
    for (uint32_t r = 0; r < n; r++, p += SNAP_AGENT) {
        const cai_rep_agent *a = &rep->agents[order[r]];
        memcpy(p, a->id.bytes, CA_AGENT_ID_BYTES);
        cai_store_le64(p + 32, a->stake);
        cai_store_le64(p + 40, double_bits(a->global));
        cai_store_le64(p + 48, a->pos);
        cai_store_le64(p + 56, a->neg);
        cai_store_le32(p + 64, a->flags & AGENT_FLAGS_KNOWN);
    }
    for (uint32_t k = 0; k < nr; k++, p += SNAP_RATING) {
        cai_store_le32(p, rs[k].rater);
        cai_store_le32(p + 4, rs[k].ratee);
        cai_store_le32(p + 8, rs[k].time_s);
        cai_store_le32(p + 12, rs[k].packed);
    }
    for (uint32_t k = 0; k < ntask; k++, p += SNAP_TASK) /* nt == ntask (the count is exact) */
        cai_store_le64(p, k < nt ? fps[k] : 0);
    for (uint32_t k = 0; k < no; k++, p += SNAP_OFFENSE) {
        cai_store_le64(p, os[k].fp);
        cai_store_le32(p + 8, os[k].agent);
        cai_store_le32(p + 12, os[k].time_s);
        cai_store_le32(p + 16, os[k].kind);
    }
    crypto_generichash(p, SNAP_CHECK, out, (size_t)(p - out), NULL, 0);
    free(order);
    free(rank);
    free(rs);
    free(fps);
    free(os);
    return CA_OK;
}

#define CORRUPT(...) cai_fail(CA_ERR_REPUTATION_CORRUPT, "reputation snapshot: " __VA_ARGS__)

/* Structure checks that need no allocation. */
static ca_status check_structure(const ca_reputation *rep, const uint8_t *in, size_t in_len,
                                 uint32_t *agents_out, uint32_t *ratings_out, uint32_t *tasks_out,
                                 uint32_t *offenses_out)
{
    if (in_len < SNAP_HEADER + SNAP_CHECK)
        return CORRUPT("%zu bytes is shorter than a header", in_len);
    if (memcmp(in, snap_magic, sizeof snap_magic) != 0)
        return CORRUPT("bad magic");
    uint32_t version = cai_load_le32(in + 4);
    if (version == 0)
        return CORRUPT("version 0");
    if (version > CA_REPUTATION_SNAPSHOT_VERSION)
        return cai_fail(CA_ERR_UNSUPPORTED, "reputation snapshot version %u is newer than %u",
                        version, CA_REPUTATION_SNAPSHOT_VERSION);
    uint32_t flags = cai_load_le32(in + 40);
    uint32_t no = cai_load_le32(in + 52);
    if ((flags & ~SNAP_FLAG_SCORED) != 0)
        return CORRUPT("unknown flags");
    if (!(flags & SNAP_FLAG_SCORED) && cai_load_le64(in + 32) != 0)
        return CORRUPT("update time without scores");
    uint32_t n = cai_load_le32(in + 44), nr = cai_load_le32(in + 48), nt = nr;
    if (version >= 3u) {
        if (in_len < SNAP_HEADER_V3 + SNAP_CHECK)
            return CORRUPT("%zu bytes is shorter than a version 3 header", in_len);
        nt = cai_load_le32(in + 56);
    }
    /* One encoding per state: the version follows from the counts. */
    if (snap_version(nr, nt, no) != version)
        return CORRUPT("version %u with %u ratings, %u tasks and %u offenses", version, nr, nt, no);
    if (nt < nr)
        return CORRUPT("%u tasks for %u ratings", nt, nr);
    int beyond =
        n > rep->opts.max_agents || nt > rep->opts.max_ratings || no > rep->opts.max_ratings;
    size_t need;
    if (!snap_size(version, n, nr, nt, no, &need) || need != in_len) {
        if (beyond)
            return cai_fail(CA_ERR_LIMIT,
                            "snapshot holds %u agents, %u tasks and %u offenses, beyond limits", n,
                            nt, no);
        return CORRUPT("length %zu does not match %u agents, %u ratings, %u tasks and %u offenses",
                       in_len, n, nr, nt, no);
    }
    if (beyond)
        return cai_fail(CA_ERR_LIMIT,
                        "snapshot holds %u agents, %u tasks and %u offenses, beyond limits", n, nt,
                        no);
    if (nr > 0 && n < 2)
        return CORRUPT("ratings without two agents");
    int scored = (flags & SNAP_FLAG_SCORED) != 0;
    const uint8_t *p = in + snap_header(version);
    for (uint32_t r = 0; r < n; r++, p += SNAP_AGENT) {
        if (r > 0 && memcmp(p - SNAP_AGENT, p, CA_AGENT_ID_BYTES) >= 0)
            return CORRUPT("agents not in strictly increasing id order");
        uint64_t g = cai_load_le64(p + 40);
        uint32_t af = cai_load_le32(p + 64);
        if ((af & ~AGENT_FLAGS_KNOWN) != 0)
            return CORRUPT("unknown agent flags");
        if (!scored && (af & CAI_AGENT_SCORED))
            return CORRUPT("agent scored in an unscored state");
        if (!(af & CAI_AGENT_SCORED)) {
            if (g != 0 || cai_load_le64(p + 48) != 0 || cai_load_le64(p + 56) != 0)
                return CORRUPT("scores on an agent without an update");
        } else if (g >= INF_BITS) { /* sign bit clear and finite */
            return CORRUPT("global score negative or not finite");
        }
    }
    const uint8_t *prev = NULL;
    for (uint32_t k = 0; k < nr; k++, p += SNAP_RATING) {
        uint32_t rater = cai_load_le32(p), ratee = cai_load_le32(p + 4);
        uint32_t packed = cai_load_le32(p + 12);
        if (rater >= n || ratee >= n || rater == ratee)
            return CORRUPT("rating %u names bad agents", k);
        if ((packed & CAI_RATING_MASK) > CA_TASK_RATING_MAX || (packed >> CAI_RATING_BITS) == 0 ||
            (packed >> CAI_RATING_BITS) > CA_REPUTATION_WEIGHT_MAX)
            return CORRUPT("rating %u has a bad value or weight", k);
        if (prev != NULL) {
            cai_rating a = {cai_load_le32(prev), cai_load_le32(prev + 4), cai_load_le32(prev + 8),
                            cai_load_le32(prev + 12)};
            cai_rating b = {rater, ratee, cai_load_le32(p + 8), packed};
            if (cmp_rating(&a, &b) > 0)
                return CORRUPT("ratings not in canonical order");
        }
        prev = p;
    }
    const uint8_t *tasks = p;
    for (uint32_t k = 0; k < nt; k++, p += SNAP_TASK)
        if (k > 0 && cai_load_le64(p - SNAP_TASK) >= cai_load_le64(p))
            return CORRUPT("task fingerprints not strictly increasing");
    for (uint32_t k = 0, t = 0; k < no; k++, p += SNAP_OFFENSE) {
        uint64_t fp = cai_load_le64(p);
        uint32_t kind = cai_load_le32(p + 16);
        if (k > 0 && cai_load_le64(p - SNAP_OFFENSE) >= fp)
            return CORRUPT("offense fingerprints not strictly increasing");
        while (t < nt && cai_load_le64(tasks + (size_t)t * SNAP_TASK) < fp)
            t++;
        if (t < nt && cai_load_le64(tasks + (size_t)t * SNAP_TASK) == fp)
            return CORRUPT("offense %u has a task's fingerprint", k);
        if (cai_load_le32(p + 8) >= n || kind < CA_LEDGER_EVIDENCE_EQUIVOCATION ||
            kind > CA_LEDGER_EVIDENCE_DISPUTE)
            return CORRUPT("offense %u names a bad agent or kind", k);
    }
    uint8_t check[SNAP_CHECK];
    crypto_generichash(check, sizeof check, in, (size_t)(p - in), NULL, 0);
    if (memcmp(check, p, SNAP_CHECK) != 0)
        return CORRUPT("checksum mismatch");
    *agents_out = n;
    *ratings_out = nr;
    *tasks_out = nt;
    *offenses_out = no;
    return CA_OK;
}

ca_status ca_reputation_snapshot_import(ca_reputation *rep, const uint8_t *in, size_t in_len)
{
    CAI_REQUIRE(rep);
    if (in == NULL && in_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "snapshot bytes are NULL");
    if (rep->n_agents != 0 || rep->n_ratings != 0 || rep->n_offenses != 0 || rep->fps.count != 0)
        return cai_fail(CA_ERR_STATE, "snapshots load only into an empty handle");
    uint32_t n = 0, nr = 0, nt = 0, no = 0;
    ca_status st = check_structure(rep, in, in_len, &n, &nr, &nt, &no);
    if (st != CA_OK)
        return st;
    if (cai_load_le64(in + 8) != rep->opts.half_life_ms ||
        cai_load_le32(in + 16) != rep->opts.damping_ppm ||
        cai_load_le32(in + 20) != rep->opts.stake_share_ppm ||
        cai_load_le64(in + 24) != rep->opts.unit_amount)
        return cai_fail(CA_ERR_STATE, "snapshot was made with other scoring options");

    ca_reputation *fresh = NULL;
    if ((st = cai_reputation_clone_empty(rep, &fresh)) != CA_OK)
        return st;
    if ((st = ca_reputation_reserve(fresh, n, (size_t)nr + no)) != CA_OK ||
        (st = cai_reputation_reserve_fps(fresh, (uint64_t)nt + no)) != CA_OK ||
        (st = cai_reputation_grow_offenses(fresh, no, 1)) != CA_OK) {
        ca_reputation_free(fresh);
        return st;
    }
    fresh->order = malloc((size_t)(n ? n : 1) * sizeof *fresh->order);
    if (fresh->order == NULL) {
        ca_reputation_free(fresh);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory loading a snapshot");
    }
    fresh->order_agents = n;
    const uint8_t *p = in + snap_header(cai_load_le32(in + 4));
    for (uint32_t r = 0; r < n; r++, p += SNAP_AGENT) {
        ca_agent_id id;
        uint32_t idx;
        memcpy(id.bytes, p, CA_AGENT_ID_BYTES);
        (void)cai_reputation_insert_agent(fresh, &id, &idx);
        cai_rep_agent *a = &fresh->agents[idx];
        a->stake = cai_load_le64(p + 32);
        a->global = bits_double(cai_load_le64(p + 40));
        a->pos = cai_load_le64(p + 48);
        a->neg = cai_load_le64(p + 56);
        a->flags = cai_load_le32(p + 64);
        fresh->order[r] = idx; /* indices are assigned in id order */
    }
    for (uint32_t k = 0; k < nr; k++, p += SNAP_RATING) {
        cai_rating *x = &fresh->ratings[k];
        x->rater = cai_load_le32(p);
        x->ratee = cai_load_le32(p + 4);
        x->time_s = cai_load_le32(p + 8);
        x->packed = cai_load_le32(p + 12);
        fresh->agents[x->rater].given++;
        fresh->agents[x->ratee].received++;
    }
    fresh->n_ratings = nr;
    for (uint32_t k = 0; k < nt; k++, p += SNAP_TASK)
        (void)cai_reputation_insert_fp(fresh, cai_load_le64(p));
    for (uint32_t k = 0; k < no; k++, p += SNAP_OFFENSE) {
        cai_offense *o = &fresh->offenses[k];
        memset(o, 0, sizeof *o);
        o->fp = cai_load_le64(p);
        o->agent = cai_load_le32(p + 8);
        o->time_s = cai_load_le32(p + 12);
        o->kind = cai_load_le32(p + 16);
        fresh->agents[o->agent].offenses++;
        (void)cai_reputation_insert_fp(fresh, o->fp);
    }
    fresh->n_offenses = no;
    fresh->scored = (cai_load_le32(in + 40) & SNAP_FLAG_SCORED) != 0;
    fresh->last_update_ms = cai_load_le64(in + 32);

    /* Swap the new state in; the old (empty) one leaves with `fresh`. */
    ca_reputation tmp = *rep;
    *rep = *fresh;
    *fresh = tmp;
    ca_reputation_free(fresh);
    return CA_OK;
}
