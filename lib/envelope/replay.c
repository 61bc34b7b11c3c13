/*
 * Replay guard: remembers message ids until they expire, in memory fixed at
 * creation, with a per-sender quota (rules and bounds: envelope.h).
 *
 * Layout: the id records form a binary min-heap ordered by expiry, so
 * dropping expired ids costs O(log n) each and never scans. Two
 * open-addressing tables (linear probing, at most half full, backward-shift
 * deletion so there are no tombstones) map an id to its record and a sender
 * to its sender record (how many ids it holds). Each id record knows its
 * table slot and each slot its record, so both move together. Slots are
 * placed by a keyed SipHash (two random keys per guard), so neither ids nor
 * made-up sender keys can be ground to pile up in one probe run.
 *
 * Memory per id of capacity: a 56-byte id record, a 40-byte sender record
 * (distinct senders never outnumber ids) and 2..4 slots of 4 bytes in each
 * table: at most 128 bytes (CA_REPLAY_GUARD_BYTES_PER_ID).
 */
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>

#include "cyberagent/envelope.h"
#include "envelope/envelope_internal.h"
#include "internal.h"

#define RG_EMPTY UINT32_MAX

typedef struct rg_rec {
    ca_hash id;
    uint64_t until;  /* remembered while now <= until */
    uint32_t slot;   /* id-table slot pointing at this record */
    uint32_t hash32; /* keyed hash of the id; its low bits give the home slot */
    uint32_t sender; /* index of the sender record */
    uint32_t unused_;
} rg_rec;

typedef struct rg_sender {
    ca_agent_id id;
    uint32_t count;  /* ids held; 0 = free record */
    uint32_t hash32; /* keyed hash of the id (home slot); a free record: next free index */
} rg_sender;

_Static_assert(sizeof(rg_rec) == 56, "replay record size documented as 56 bytes");
_Static_assert(sizeof(rg_sender) == 40, "sender record size documented as 40 bytes");
/* at most 4 slots per id of capacity in each of the two tables */
_Static_assert(sizeof(rg_rec) + sizeof(rg_sender) + sizeof(uint32_t) * 4 * 2 ==
                   CA_REPLAY_GUARD_BYTES_PER_ID,
               "documented bytes per id of capacity");

enum { RG_IDS, RG_SENDERS };

struct ca_replay_guard {
    size_t capacity;
    size_t count;
    size_t per_sender;
    size_t bytes;
    uint64_t max_skew_ms;
    uint64_t max_lifetime_ms;
    uint64_t probes;      /* table slots examined (test hook) */
    uint32_t mask;        /* table size - 1 (a power of two >= 2 * capacity), both tables */
    uint32_t free_sender; /* first free sender record, RG_EMPTY when none */
    uint32_t *ids;        /* id table: heap position or RG_EMPTY */
    uint32_t *snd;        /* sender table: sender record index or RG_EMPTY */
    rg_rec *heap;         /* count records, min-heap on until */
    rg_sender *senders;   /* capacity records */
    uint8_t id_key[crypto_shorthash_KEYBYTES];
    uint8_t sender_key[crypto_shorthash_KEYBYTES];
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

ca_status ca_replay_guard_new2(ca_replay_guard **out, const ca_replay_guard_options *opts)
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
    size_t size = 2;
    while (size < 2 * o.capacity)
        size *= 2;
    ca_replay_guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory creating a replay guard");
    g->ids = malloc(size * sizeof *g->ids);
    g->snd = malloc(size * sizeof *g->snd);
    g->heap = malloc(o.capacity * sizeof *g->heap);
    g->senders = malloc(o.capacity * sizeof *g->senders);
    if (g->ids == NULL || g->snd == NULL || g->heap == NULL || g->senders == NULL) {
        ca_replay_guard_free(g);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory for a replay guard of %zu ids",
                        o.capacity);
    }
    memset(g->ids, 0xff, size * sizeof *g->ids);
    memset(g->snd, 0xff, size * sizeof *g->snd);
    for (size_t i = 0; i < o.capacity; i++) {
        g->senders[i].count = 0;
        g->senders[i].hash32 = i + 1 < o.capacity ? (uint32_t)(i + 1) : RG_EMPTY;
    }
    g->free_sender = 0;
    g->capacity = o.capacity;
    g->per_sender =
        o.max_per_sender != 0 ? o.max_per_sender : o.capacity / CA_REPLAY_GUARD_SENDER_SHARE;
    if (g->per_sender == 0)
        g->per_sender = 1;
    g->max_skew_ms = o.max_skew_ms;
    g->max_lifetime_ms = o.max_lifetime_ms;
    g->mask = (uint32_t)(size - 1);
    g->bytes =
        sizeof *g + 2 * size * sizeof *g->ids + o.capacity * (sizeof *g->heap + sizeof *g->senders);
    randombytes_buf(g->id_key, sizeof g->id_key);
    randombytes_buf(g->sender_key, sizeof g->sender_key);
    *out = g;
    return CA_OK;
}

ca_status ca_replay_guard_new(ca_replay_guard **out, size_t capacity, uint64_t max_skew_ms)
{
    CAI_REQUIRE(out);
    ca_replay_guard_options o;
    (void)ca_replay_guard_options_init(&o, CA_REPLAY_GUARD_OPTIONS_VERSION);
    o.capacity = capacity;
    o.max_skew_ms = max_skew_ms;
    return ca_replay_guard_new2(out, &o);
}

void ca_replay_guard_free(ca_replay_guard *guard)
{
    if (guard == NULL)
        return;
    free(guard->ids);
    free(guard->snd);
    free(guard->heap);
    free(guard->senders);
    free(guard);
}

size_t ca_replay_guard_count(const ca_replay_guard *guard)
{
    return guard != NULL ? guard->count : 0;
}

size_t ca_replay_guard_bytes(const ca_replay_guard *guard)
{
    return guard != NULL ? guard->bytes : 0;
}

uint64_t cai_replay_guard_probes(const ca_replay_guard *guard)
{
    return guard->probes;
}

static uint32_t rg_hash(const uint8_t key[crypto_shorthash_KEYBYTES], const uint8_t bytes[32])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, bytes, 32, key);
    return cai_load_le32(h);
}

/* Slot holding the id, or (*found false) the empty slot that ends its probe run. */
static uint32_t rg_find_id(ca_replay_guard *g, const ca_hash *id, uint32_t h, bool *found)
{
    for (uint32_t i = h & g->mask;; i = (i + 1) & g->mask) {
        g->probes++;
        uint32_t e = g->ids[i];
        *found = e != RG_EMPTY;
        if (e == RG_EMPTY ||
            (g->heap[e].hash32 == h && memcmp(g->heap[e].id.bytes, id->bytes, CA_HASH_BYTES) == 0))
            return i;
    }
}

/* Same for a sender. */
static uint32_t rg_find_sender(ca_replay_guard *g, const ca_agent_id *id, uint32_t h, bool *found)
{
    for (uint32_t i = h & g->mask;; i = (i + 1) & g->mask) {
        g->probes++;
        uint32_t e = g->snd[i];
        *found = e != RG_EMPTY;
        if (e == RG_EMPTY || (g->senders[e].hash32 == h &&
                              memcmp(g->senders[e].id.bytes, id->bytes, CA_AGENT_ID_BYTES) == 0))
            return i;
    }
}

size_t cai_replay_guard_sender_count(ca_replay_guard *g, const ca_agent_id *sender)
{
    bool found;
    uint32_t i = rg_find_sender(g, sender, rg_hash(g->sender_key, sender->bytes), &found);
    return found ? g->senders[g->snd[i]].count : 0;
}

/* Puts record r at heap position pos and points its table slot at it. */
static void rg_place(ca_replay_guard *g, size_t pos, const rg_rec *r)
{
    g->heap[pos] = *r;
    g->ids[r->slot] = (uint32_t)pos;
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

/*
 * Empties slot i of one table, shifting later members of its probe run back
 * (no tombstones); a moved id record learns its new slot.
 */
static void rg_table_delete(ca_replay_guard *g, int which, uint32_t i)
{
    uint32_t *t = which == RG_IDS ? g->ids : g->snd;
    uint32_t j = i;
    t[i] = RG_EMPTY;
    for (;;) {
        j = (j + 1) & g->mask;
        g->probes++;
        uint32_t e = t[j];
        if (e == RG_EMPTY)
            return;
        uint32_t home = (which == RG_IDS ? g->heap[e].hash32 : g->senders[e].hash32) & g->mask;
        /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t[i] = e;
        if (which == RG_IDS)
            g->heap[e].slot = i;
        t[j] = RG_EMPTY;
        i = j;
    }
}

/* One id of sender record s is gone; the record is freed with its last id. */
static void rg_sender_release(ca_replay_guard *g, uint32_t s)
{
    rg_sender *r = &g->senders[s];
    if (--r->count > 0)
        return;
    uint32_t i = r->hash32 & g->mask;
    while (g->snd[i] != s) {
        g->probes++;
        i = (i + 1) & g->mask;
    }
    rg_table_delete(g, RG_SENDERS, i);
    r->hash32 = g->free_sender;
    g->free_sender = s;
}

/* Drops the record with the earliest expiry. */
static void rg_pop(ca_replay_guard *g)
{
    rg_sender_release(g, g->heap[0].sender);
    rg_table_delete(g, RG_IDS, g->heap[0].slot);
    g->count--;
    if (g->count > 0) {
        rg_rec last = g->heap[g->count];
        rg_place(g, 0, &last);
        rg_sift_down(g, 0);
    }
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

ca_status ca_replay_guard_check(ca_replay_guard *guard, const ca_envelope *env, uint64_t now)
{
    CAI_REQUIRE(guard);
    CAI_REQUIRE(env);
    ca_replay_guard *g = guard;
    while (g->count > 0 && g->heap[0].until < now)
        rg_pop(g);

    uint64_t created = ca_envelope_created_at(env), expires = ca_envelope_expires_at(env);
    if (expires - created > g->max_lifetime_ms)
        return cai_fail(
            CA_ERR_LIFETIME, "envelope lives %llu ms, more than the guard's maximum of %llu ms",
            (unsigned long long)(expires - created), (unsigned long long)g->max_lifetime_ms);
    if (created > sat_add(now, g->max_skew_ms))
        return cai_fail(CA_ERR_NOT_YET_VALID,
                        "envelope created at %llu, beyond now %llu + skew %llu ms",
                        (unsigned long long)created, (unsigned long long)now,
                        (unsigned long long)g->max_skew_ms);
    uint64_t until = sat_add(expires, g->max_skew_ms);
    const ca_hash *id = cai_envelope_id_ref(env);
    uint32_t h = rg_hash(g->id_key, id->bytes);
    bool found;
    uint32_t i = rg_find_id(g, id, h, &found);
    if (found)
        return cai_fail(CA_ERR_REPLAY, "message id already seen (replay)");
    if (until < now)
        return cai_fail(CA_ERR_EXPIRED,
                        "envelope expired at %llu (now %llu); too old to be remembered",
                        (unsigned long long)expires, (unsigned long long)now);
    const ca_agent_id *sender = cai_envelope_sender_ref(env);
    uint32_t sh = rg_hash(g->sender_key, sender->bytes);
    uint32_t si = rg_find_sender(g, sender, sh, &found);
    uint32_t s = found ? g->snd[si] : RG_EMPTY;
    if (found && g->senders[s].count >= g->per_sender)
        return cai_fail(CA_ERR_REPLAY_QUOTA,
                        "replay guard holds this sender's quota of %zu unexpired ids; refusing "
                        "rather than forgetting",
                        g->per_sender);
    if (g->count == g->capacity)
        return cai_fail(CA_ERR_REPLAY_FULL,
                        "replay guard holds %zu unexpired ids; refusing rather than forgetting",
                        g->capacity);
    if (!found) { /* distinct senders <= count < capacity: a free record exists */
        s = g->free_sender;
        g->free_sender = g->senders[s].hash32;
        g->senders[s].id = *sender;
        g->senders[s].count = 0;
        g->senders[s].hash32 = sh;
        g->snd[si] = s;
    }
    g->senders[s].count++;
    rg_rec r = {*id, until, i, h, s, 0};
    size_t pos = g->count++;
    rg_place(g, pos, &r);
    rg_sift_up(g, pos);
    return CA_OK;
}
