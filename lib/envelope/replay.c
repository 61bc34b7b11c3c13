/*
 * Replay guard: remembers message ids until they expire, in memory fixed at
 * creation, with a per-sender quota (rules and bounds: envelope.h).
 *
 * Layout: one record per remembered id and one per sender holding ids, each
 * in a fixed array with a free list. A binary min-heap of record indices,
 * ordered by expiry, drops expired ids in O(log n) each and never scans. Two
 * keyed id maps (lib/core/idmap.h: SipHash-1-3 of the whole key under a
 * random key per map, at most half full, backward-shift deletion) find an
 * id's record and a sender's record, so neither ids nor made-up sender keys
 * can be ground to pile up in one probe run. Records never move, so the maps
 * change only when an id or a sender comes or goes.
 *
 * Memory per id of capacity, all reserved at creation: a 48-byte id record, a
 * 4-byte heap entry, a 40-byte sender record (distinct senders never
 * outnumber ids) and 2 slots of 8 bytes in each map: 124 bytes, within
 * CA_REPLAY_GUARD_BYTES_PER_ID.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "core/idmap.h"
#include "cyberagent/envelope.h"
#include "envelope/envelope_internal.h"
#include "internal.h"

#define RG_NONE UINT32_MAX

typedef struct rg_rec {
    ca_hash id;
    uint64_t until;     /* remembered while now <= until */
    uint32_t sender;    /* index of the sender record */
    uint32_t next_free; /* a free record: the next free one */
} rg_rec;

typedef struct rg_sender {
    ca_agent_id id;
    uint32_t count;     /* ids held; 0 = free record */
    uint32_t next_free; /* a free record: the next free one */
} rg_sender;

_Static_assert(sizeof(rg_rec) == 48, "replay record size documented as 48 bytes");
_Static_assert(sizeof(rg_sender) == 40, "sender record size documented as 40 bytes");
/* exactly 2 slots per id of capacity in each of the two maps (cai_idmap_reserve_exact) */
_Static_assert(sizeof(rg_rec) + sizeof(uint32_t) + sizeof(rg_sender) + 4 * sizeof(uint64_t) <=
                   CA_REPLAY_GUARD_BYTES_PER_ID,
               "documented bytes per id of capacity");

struct ca_replay_guard {
    size_t capacity;
    size_t count;
    size_t per_sender;
    size_t bytes;
    uint64_t max_skew_ms;
    uint64_t max_lifetime_ms;
    uint64_t probes;      /* map slots examined by lookups (test hook) */
    uint32_t free_rec;    /* first free id record, RG_NONE when none */
    uint32_t free_sender; /* first free sender record, RG_NONE when none */
    uint32_t *heap;       /* count record indices, min-heap on their until */
    rg_rec *recs;         /* capacity records */
    rg_sender *senders;   /* capacity records */
    cai_idmap ids;        /* message id -> id record */
    cai_idmap by_sender;  /* sender -> sender record */
};

ca_status ca_replay_guard_options_init(ca_replay_guard_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ca_replay_guard_options", version, CA_REPLAY_GUARD_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    opts->capacity = CA_REPLAY_GUARD_CAPACITY_DEFAULT;
    opts->max_per_sender = 0;
    opts->max_skew_ms = CA_REPLAY_GUARD_MAX_SKEW_MS_DEFAULT;
    opts->max_lifetime_ms = CA_REPLAY_GUARD_MAX_LIFETIME_MS_DEFAULT;
    return CA_OK;
}

ca_status ca_replay_guard_new(ca_replay_guard **out, const ca_replay_guard_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_replay_guard_options o;
    if (opts == NULL)
        (void)ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION);
    else {
        CAI_REQUIRE_VERSION("ca_replay_guard_options", opts->version,
                            CA_REPLAY_GUARD_OPTIONS_VERSION);
        o = *opts;
    }
    if (o.capacity == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a replay guard needs a capacity of at least 1");
    if (o.capacity > CA_REPLAY_GUARD_MAX_CAPACITY)
        return cai_fail(CA_ERR_LIMIT, "replay guard capacity %zu exceeds the maximum of %zu",
                        o.capacity, (size_t)CA_REPLAY_GUARD_MAX_CAPACITY);
    if (o.max_per_sender > o.capacity)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "max_per_sender %zu exceeds the capacity %zu: one sender could fill "
                        "the guard",
                        o.max_per_sender, o.capacity);
    if (o.max_lifetime_ms == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_lifetime_ms 0 would accept no envelope");
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    ca_replay_guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory creating a replay guard");
    /* capacity <= 2^28: within the maps' limit. */
    (void)cai_idmap_init(&g->ids, (uint32_t)o.capacity);
    (void)cai_idmap_init(&g->by_sender, (uint32_t)o.capacity);
    g->heap = malloc(o.capacity * sizeof *g->heap);
    g->recs = malloc(o.capacity * sizeof *g->recs);
    g->senders = malloc(o.capacity * sizeof *g->senders);
    if (g->heap == NULL || g->recs == NULL || g->senders == NULL ||
        cai_idmap_reserve_exact(&g->ids, (uint32_t)o.capacity) != CA_OK ||
        cai_idmap_reserve_exact(&g->by_sender, (uint32_t)o.capacity) != CA_OK) {
        ca_replay_guard_free(g);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory for a replay guard of %zu ids",
                        o.capacity);
    }
    for (size_t i = 0; i < o.capacity; i++) {
        uint32_t next = i + 1 < o.capacity ? (uint32_t)(i + 1) : RG_NONE;
        g->recs[i].next_free = next;
        g->senders[i].count = 0;
        g->senders[i].next_free = next;
    }
    g->free_rec = g->free_sender = 0;
    g->capacity = o.capacity;
    g->per_sender =
        o.max_per_sender != 0 ? o.max_per_sender : o.capacity / CA_REPLAY_GUARD_SENDER_SHARE;
    if (g->per_sender == 0)
        g->per_sender = 1;
    g->max_skew_ms = o.max_skew_ms;
    g->max_lifetime_ms = o.max_lifetime_ms;
    g->bytes = sizeof *g + cai_idmap_memory_bytes(&g->ids) + cai_idmap_memory_bytes(&g->by_sender) +
               o.capacity * (sizeof *g->heap + sizeof *g->recs + sizeof *g->senders);
    *out = g;
    return CA_OK;
}

void ca_replay_guard_free(ca_replay_guard *guard)
{
    if (guard == NULL)
        return;
    cai_idmap_free(&guard->ids);
    cai_idmap_free(&guard->by_sender);
    free(guard->heap);
    free(guard->recs);
    free(guard->senders);
    free(guard);
}

size_t ca_replay_guard_count(const ca_replay_guard *guard)
{
    return guard != NULL ? guard->count : 0;
}

size_t cai_replay_guard_bytes(const ca_replay_guard *guard)
{
    return guard != NULL ? guard->bytes : 0;
}

uint64_t cai_replay_guard_probes(const ca_replay_guard *guard)
{
    return guard->probes;
}

/* Index of the sender's record, RG_NONE when it holds no id; `h` is its hash in by_sender. */
static uint32_t rg_find_sender(ca_replay_guard *g, const ca_agent_id *id, uint64_t h)
{
    return cai_idmap_find_hashed(&g->by_sender, g->senders, sizeof *g->senders, id->bytes, h,
                                 &g->probes);
}

size_t cai_replay_guard_sender_count(ca_replay_guard *g, const ca_agent_id *sender)
{
    uint32_t s = rg_find_sender(g, sender, cai_idmap_hash(&g->by_sender, sender->bytes));
    return s != RG_NONE ? g->senders[s].count : 0;
}

static uint64_t rg_until(const ca_replay_guard *g, size_t pos)
{
    return g->recs[g->heap[pos]].until;
}

static void rg_sift_up(ca_replay_guard *g, size_t pos)
{
    uint32_t x = g->heap[pos];
    const uint64_t until = g->recs[x].until;
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (rg_until(g, parent) <= until)
            break;
        g->heap[pos] = g->heap[parent];
        pos = parent;
    }
    g->heap[pos] = x;
}

static void rg_sift_down(ca_replay_guard *g, size_t pos)
{
    uint32_t x = g->heap[pos];
    const uint64_t until = g->recs[x].until;
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= g->count)
            break;
        if (c + 1 < g->count && rg_until(g, c + 1) < rg_until(g, c))
            c++;
        if (rg_until(g, c) >= until)
            break;
        g->heap[pos] = g->heap[c];
        pos = c;
    }
    g->heap[pos] = x;
}

/* One id of sender record s is gone; the record is freed with its last id. */
static void rg_sender_release(ca_replay_guard *g, uint32_t s)
{
    rg_sender *r = &g->senders[s];
    if (--r->count > 0)
        return;
    (void)cai_idmap_remove(&g->by_sender, r->id.bytes, s);
    r->next_free = g->free_sender;
    g->free_sender = s;
}

/* Drops the record with the earliest expiry. */
static void rg_pop(ca_replay_guard *g)
{
    uint32_t r = g->heap[0];
    rg_sender_release(g, g->recs[r].sender);
    (void)cai_idmap_remove(&g->ids, g->recs[r].id.bytes, r);
    g->recs[r].next_free = g->free_rec;
    g->free_rec = r;
    g->count--;
    if (g->count > 0) {
        g->heap[0] = g->heap[g->count];
        rg_sift_down(g, 0);
    }
}

ca_status ca_replay_guard_check(ca_replay_guard *guard, const ca_envelope *env, uint64_t now)
{
    CAI_REQUIRE(guard);
    CAI_REQUIRE(env);
    ca_replay_guard *g = guard;
    while (g->count > 0 && rg_until(g, 0) < now)
        rg_pop(g);

    uint64_t created = ca_envelope_created_at(env), expires = ca_envelope_expires_at(env);
    if (expires - created > g->max_lifetime_ms)
        return cai_fail(
            CA_ERR_LIFETIME, "envelope lives %llu ms, more than the guard's maximum of %llu ms",
            (unsigned long long)(expires - created), (unsigned long long)g->max_lifetime_ms);
    if (created > cai_sat_add(now, g->max_skew_ms))
        return cai_fail(CA_ERR_NOT_YET_VALID,
                        "envelope created at %llu, beyond now %llu + skew %llu ms",
                        (unsigned long long)created, (unsigned long long)now,
                        (unsigned long long)g->max_skew_ms);
    uint64_t until = cai_sat_add(expires, g->max_skew_ms);
    const ca_hash *id = cai_envelope_id_ref(env);
    uint64_t h = cai_idmap_hash(&g->ids, id->bytes);
    if (cai_idmap_find_hashed(&g->ids, g->recs, sizeof *g->recs, id->bytes, h, &g->probes) !=
        RG_NONE)
        return cai_fail(CA_ERR_REPLAY, "message id already seen (replay)");
    if (until < now)
        return cai_fail(CA_ERR_EXPIRED,
                        "envelope expired at %llu (now %llu); too old to be remembered",
                        (unsigned long long)expires, (unsigned long long)now);
    const ca_agent_id *sender = cai_envelope_sender_ref(env);
    uint64_t sh = cai_idmap_hash(&g->by_sender, sender->bytes);
    uint32_t s = rg_find_sender(g, sender, sh);
    if (s != RG_NONE && g->senders[s].count >= g->per_sender)
        return cai_fail(CA_ERR_REPLAY_QUOTA,
                        "replay guard holds this sender's quota of %zu unexpired ids; refusing "
                        "rather than forgetting",
                        g->per_sender);
    if (g->count == g->capacity)
        return cai_fail(CA_ERR_REPLAY_FULL,
                        "replay guard holds %zu unexpired ids; refusing rather than forgetting",
                        g->capacity);
    /* Room reserved at creation: distinct senders <= count < capacity, so records and map
     * slots are free for both. */
    if (s == RG_NONE) {
        s = g->free_sender;
        g->free_sender = g->senders[s].next_free;
        g->senders[s].id = *sender;
        g->senders[s].count = 0;
        cai_idmap_insert_hashed(&g->by_sender, sh, s);
    }
    g->senders[s].count++;
    uint32_t r = g->free_rec;
    g->free_rec = g->recs[r].next_free;
    g->recs[r] = (rg_rec){*id, until, s, RG_NONE};
    cai_idmap_insert_hashed(&g->ids, h, r);
    size_t pos = g->count++;
    g->heap[pos] = r;
    rg_sift_up(g, pos);
    return CA_OK;
}
