/*
 * Replay guard: remembers message ids until they expire, in memory fixed at
 * creation.
 *
 * Layout: the records form a binary min-heap ordered by expiry, so dropping
 * expired ids costs O(log n) each and never scans; an open-addressing table
 * (linear probing, at most half full, backward-shift deletion so there are no
 * tombstones) maps an id to its record. Each record knows its table slot and
 * each slot its record, so both move together. Slots are placed by a keyed
 * SipHash of the id (random key per guard), so senders cannot grind ids that
 * pile up in one probe run. Cost: a 48-byte record plus 2..4 table slots of
 * 4 bytes, i.e. at most 64 bytes per id of capacity.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>

#include "cyberagent/envelope.h"
#include "envelope/envelope_internal.h"
#include "internal.h"

#define RG_EMPTY        UINT32_MAX
#define RG_MAX_CAPACITY ((size_t)1 << 28)

typedef struct rg_rec {
    ca_hash id;
    uint64_t until;  /* remembered while now <= until */
    uint32_t slot;   /* table slot pointing at this record */
    uint32_t hash32; /* keyed hash of the id; its low bits give the home slot */
} rg_rec;

_Static_assert(sizeof(rg_rec) == 48, "replay record size documented as 48 bytes");

struct ca_replay_guard {
    size_t capacity;
    size_t count;
    uint64_t max_skew_ms;
    uint32_t mask;   /* table size - 1 (a power of two >= 2 * capacity) */
    uint32_t *table; /* record index or RG_EMPTY */
    rg_rec *heap;    /* count records, min-heap on until */
    uint8_t key[crypto_shorthash_KEYBYTES];
};

ca_status ca_replay_guard_new(ca_replay_guard **out, size_t capacity, uint64_t max_skew_ms)
{
    CAI_REQUIRE(out);
    *out = NULL;
    if (capacity == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a replay guard needs a capacity of at least 1");
    if (capacity > RG_MAX_CAPACITY)
        return cai_fail(CA_ERR_LIMIT, "replay guard capacity %zu exceeds the maximum of %zu",
                        capacity, RG_MAX_CAPACITY);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    size_t size = 2;
    while (size < 2 * capacity)
        size *= 2;
    ca_replay_guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory creating a replay guard");
    g->table = malloc(size * sizeof *g->table);
    g->heap = malloc(capacity * sizeof *g->heap);
    if (g->table == NULL || g->heap == NULL) {
        ca_replay_guard_free(g);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory for a replay guard of %zu ids", capacity);
    }
    memset(g->table, 0xff, size * sizeof *g->table);
    g->capacity = capacity;
    g->max_skew_ms = max_skew_ms;
    g->mask = (uint32_t)(size - 1);
    randombytes_buf(g->key, sizeof g->key);
    *out = g;
    return CA_OK;
}

void ca_replay_guard_free(ca_replay_guard *guard)
{
    if (guard == NULL)
        return;
    free(guard->table);
    free(guard->heap);
    free(guard);
}

size_t ca_replay_guard_count(const ca_replay_guard *guard)
{
    return guard != NULL ? guard->count : 0;
}

static uint32_t rg_hash(const ca_replay_guard *g, const ca_hash *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id->bytes, CA_HASH_BYTES, g->key);
    return cai_load_le32(h);
}

/* Puts record r at heap position pos and points its table slot at it. */
static void rg_place(ca_replay_guard *g, size_t pos, const rg_rec *r)
{
    g->heap[pos] = *r;
    g->table[r->slot] = (uint32_t)pos;
}

static void rg_sift_up(ca_replay_guard *g, size_t pos)
{
    rg_rec x = g->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (g->heap[parent].until <= x.until)
            break;
        rg_place(g, pos, &g->heap[parent]);
        pos = parent;
    }
    rg_place(g, pos, &x);
}

static void rg_sift_down(ca_replay_guard *g, size_t pos)
{
    rg_rec x = g->heap[pos];
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= g->count)
            break;
        if (c + 1 < g->count && g->heap[c + 1].until < g->heap[c].until)
            c++;
        if (g->heap[c].until >= x.until)
            break;
        rg_place(g, pos, &g->heap[c]);
        pos = c;
    }
    rg_place(g, pos, &x);
}

/* Empties table slot i, shifting later members of its probe run back (no tombstones). */
static void rg_table_delete(ca_replay_guard *g, uint32_t i)
{
    uint32_t j = i;
    g->table[i] = RG_EMPTY;
    for (;;) {
        j = (j + 1) & g->mask;
        uint32_t e = g->table[j];
        if (e == RG_EMPTY)
            return;
        uint32_t home = g->heap[e].hash32 & g->mask;
        /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        g->table[i] = e;
        g->heap[e].slot = i;
        g->table[j] = RG_EMPTY;
        i = j;
    }
}

/* Drops the record with the earliest expiry. */
static void rg_pop(ca_replay_guard *g)
{
    rg_table_delete(g, g->heap[0].slot);
    g->count--;
    if (g->count > 0) {
        rg_rec last = g->heap[g->count];
        rg_place(g, 0, &last);
        rg_sift_down(g, 0);
    }
}

ca_status ca_replay_guard_check(ca_replay_guard *guard, const ca_envelope *env, uint64_t now)
{
    CAI_REQUIRE(guard);
    CAI_REQUIRE(env);
    ca_replay_guard *g = guard;
    while (g->count > 0 && g->heap[0].until < now)
        rg_pop(g);

    uint64_t expires = ca_envelope_expires_at(env);
    uint64_t until = expires > UINT64_MAX - g->max_skew_ms ? UINT64_MAX : expires + g->max_skew_ms;
    const ca_hash *id = cai_envelope_id_ref(env);
    uint32_t h = rg_hash(g, id);
    uint32_t i = h & g->mask;
    for (;; i = (i + 1) & g->mask) {
        uint32_t e = g->table[i];
        if (e == RG_EMPTY)
            break;
        if (g->heap[e].hash32 == h && memcmp(g->heap[e].id.bytes, id->bytes, CA_HASH_BYTES) == 0)
            return cai_fail(CA_ERR_REPLAY, "message id already seen (replay)");
    }
    if (until < now)
        return cai_fail(CA_ERR_EXPIRED,
                        "envelope expired at %llu (now %llu); too old to be remembered",
                        (unsigned long long)expires, (unsigned long long)now);
    if (g->count == g->capacity)
        return cai_fail(CA_ERR_REPLAY_FULL,
                        "replay guard holds %zu unexpired ids; refusing rather than forgetting",
                        g->capacity);
    rg_rec r = {*id, until, i, h};
    size_t pos = g->count++;
    rg_place(g, pos, &r);
    rg_sift_up(g, pos);
    return CA_OK;
}
