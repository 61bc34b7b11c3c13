/*
 * Keyed id map (internal, lib/core): a fixed 32-byte key -> the dense uint32
 * index of a record the CALLER owns. One mechanism for every table a peer can
 * fill (ledger accounts, escrows and evidence today).
 *
 * Rules it keeps, whoever the keys come from:
 * - The WHOLE key is hashed with a keyed PRF (SipHash-1-3, key drawn from the
 *   system CSPRNG per map), so no choice of keys (shared prefixes, keys that
 *   differ in one byte) makes them collide more than random keys do: an
 *   operation costs O(1) expected probes under adversarial keys.
 * - Open addressing with linear probing, load factor <= 1/2, backward-shift
 *   deletion (no tombstones: probe lengths do not rot after deletes).
 * - Growth happens only in cai_idmap_reserve(), so a caller that must not fail
 *   halfway (the ledger's all-or-nothing ops) reserves first and inserts later;
 *   cai_idmap_insert() itself cannot fail.
 * - A hard limit on entries, fixed at init: reserving past it is CA_ERR_LIMIT.
 *
 * Layout: a slot is 64 bits, 0 = empty, else (hash low 32 bits) << 32 |
 * (index + 1). The stored hash bits give the home slot (hash & mask), so growth
 * and deletion never read the caller's records or hash a key again, and a probe
 * compares a record's key only when 32 hash bits match (about one record read
 * per successful find). Records stay where the caller keeps them: only a
 * find reads them (record i's key at `records + i * stride`; callers whose
 * records are not at a fixed stride walk the candidates with a cursor).
 * Insert, remove, renumber and growth work on hashes and indices alone.
 *
 * Ownership: the cai_idmap struct is the caller's (embedded in its handle);
 * the slot array is the map's (cai_idmap_free). Thread safety: like the handle
 * it is embedded in: finds may run concurrently, anything else needs the
 * owner's serialization.
 */
#ifndef CYBERAGENT_CORE_IDMAP_H
#define CYBERAGENT_CORE_IDMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define CAI_IDMAP_KEY_BYTES 32u
#define CAI_IDMAP_NONE      UINT32_MAX
/* Most entries any map holds: 2^30 (slots stay <= 2^31, indices < 2^32 - 1). */
#define CAI_IDMAP_MAX_ENTRIES (1u << 30)

typedef struct cai_idmap {
    uint64_t *slots; /* NULL until the first reserve */
    uint32_t mask;   /* slot count - 1 (a power of two), 0 without slots */
    uint32_t count;  /* entries */
    uint32_t limit;  /* most entries (CA_ERR_LIMIT beyond), <= CAI_IDMAP_MAX_ENTRIES */
    uint64_t key[2]; /* SipHash key, random per map; never leaves the map */
} cai_idmap;

/* Probe statistic, for tests: a stored entry found at displacement d from its home slot costs
 * d + 1 probes to find. */
typedef struct cai_idmap_stats {
    uint32_t count, slots;
    uint32_t max_probe;   /* longest successful find, in slots */
    uint64_t total_probe; /* sum over entries (mean = total_probe / count) */
    uint32_t max_run;     /* longest run of occupied slots (bounds an unsuccessful find) */
} cai_idmap_stats;

/*
 * Empty map holding at most `limit` entries (1..CAI_IDMAP_MAX_ENTRIES, else
 * CA_ERR_INVALID_ARGUMENT); draws its hash key; allocates nothing. Needs the
 * crypto backend initialized (cai_ensure_init).
 */
ca_status cai_idmap_init(cai_idmap *m, uint32_t limit);

/* Frees the slots; the map is empty (and keeps its key and limit) afterwards. */
void cai_idmap_free(cai_idmap *m);

/*
 * Makes room for `more` entries beyond the current count, so that that many
 * inserts need no allocation. CA_ERR_LIMIT when count + more exceeds the
 * limit, CA_ERR_NO_MEMORY on allocation failure; either way the map is
 * unchanged.
 */
ca_status cai_idmap_reserve(cai_idmap *m, uint32_t more);

/* Bytes held by the slot array. */
size_t cai_idmap_memory_bytes(const cai_idmap *m);

/* Counts probes over the whole table (O(slots)). */
void cai_idmap_stats_get(const cai_idmap *m, cai_idmap_stats *out);

/* ---- hashing (SipHash-1-3 of exactly 32 bytes) ---- */

static inline uint64_t cai_idmap_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return cai_load_le64(p);
#endif
}

#define CAI_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
/* One SipRound on the state variables v0..v3 of the function using it. */
#define CAI_SIP_ROUND()                                                                            \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = CAI_SIP_ROTL(v1, 13);                                                                 \
        v1 ^= v0;                                                                                  \
        v0 = CAI_SIP_ROTL(v0, 32);                                                                 \
        v2 += v3;                                                                                  \
        v3 = CAI_SIP_ROTL(v3, 16);                                                                 \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = CAI_SIP_ROTL(v3, 21);                                                                 \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = CAI_SIP_ROTL(v1, 17);                                                                 \
        v1 ^= v2;                                                                                  \
        v2 = CAI_SIP_ROTL(v2, 32);                                                                 \
    } while (0)

/*
 * SipHash-c-d (Aumasson and Bernstein) of a 32-byte message: four message
 * words, then the length block (32 << 56), then d finalization rounds. The
 * round counts are parameters so a unit test can check c = 2, d = 4 against
 * libsodium's crypto_shorthash (SipHash-2-4) bit for bit, and the map's
 * unrolled SipHash-1-3 below against c = 1, d = 3.
 */
static inline uint64_t cai_siphash32(const uint64_t key[2], const uint8_t in[32], int c, int d)
{
    uint64_t v0 = key[0] ^ 0x736f6d6570736575ull, v1 = key[1] ^ 0x646f72616e646f6dull;
    uint64_t v2 = key[0] ^ 0x6c7967656e657261ull, v3 = key[1] ^ 0x7465646279746573ull;
    for (int w = 0; w < 5; w++) {
        uint64_t m = w < 4 ? cai_idmap_le64(in + (size_t)8 * (size_t)w) : (uint64_t)32 << 56;
        v3 ^= m;
        for (int r = 0; r < c; r++)
            CAI_SIP_ROUND();
        v0 ^= m;
    }
    v2 ^= 0xff;
    for (int r = 0; r < d; r++)
        CAI_SIP_ROUND();
    return v0 ^ v1 ^ v2 ^ v3;
}

/* One message word through SipHash-1-3's compression (state v0..v3 as above). */
#define CAI_SIP13_WORD(word)                                                                       \
    do {                                                                                           \
        uint64_t m_ = (word);                                                                      \
        v3 ^= m_;                                                                                  \
        CAI_SIP_ROUND();                                                                           \
        v0 ^= m_;                                                                                  \
    } while (0)

/*
 * The map's hash of a key: SipHash-1-3, unrolled for exactly 32 bytes (pass
 * the result to the *_hashed calls to hash a key once).
 *
 * Why 1-3 inline and not crypto_shorthash (2-4): the ledger hashes two account
 * ids per transfer on its headline path, and measured on the development VM
 * (gcc -O2, 32-byte inputs) crypto_shorthash takes ~20 ns, cai_siphash32 with
 * 2-4 ~19 ns and this code ~11 ns a hash; 2-4 would cost the in-memory
 * transfer rate about twice what 1-3 does. SipHash-1-3 is the variant Rust's
 * standard HashMap and CPython (3.11+) use against hash flooding, the threat
 * here: a peer never sees hash values, at most the timing of its own ops.
 */
static inline uint64_t cai_idmap_hash(const cai_idmap *m, const uint8_t key[32])
{
    uint64_t v0 = m->key[0] ^ 0x736f6d6570736575ull, v1 = m->key[1] ^ 0x646f72616e646f6dull;
    uint64_t v2 = m->key[0] ^ 0x6c7967656e657261ull, v3 = m->key[1] ^ 0x7465646279746573ull;
    CAI_SIP13_WORD(cai_idmap_le64(key));
    CAI_SIP13_WORD(cai_idmap_le64(key + 8));
    CAI_SIP13_WORD(cai_idmap_le64(key + 16));
    CAI_SIP13_WORD(cai_idmap_le64(key + 24));
    CAI_SIP13_WORD((uint64_t)32 << 56);
    v2 ^= 0xff;
    CAI_SIP_ROUND();
    CAI_SIP_ROUND();
    CAI_SIP_ROUND();
    return v0 ^ v1 ^ v2 ^ v3;
}

/* 32-byte equality without a library call (hot path; keys are public, no constant time). */
static inline int cai_eq32(const uint8_t *a, const uint8_t *b)
{
    uint64_t x = 0;
    for (int i = 0; i < 32; i += 8) {
        uint64_t u, v;
        memcpy(&u, a + i, 8);
        memcpy(&v, b + i, 8);
        x |= u ^ v;
    }
    return x == 0;
}

/*
 * Index of the record whose key equals `key`, or CAI_IDMAP_NONE. Record i's
 * key is the 32 bytes at (const uint8_t *)records + i * stride. `h` is
 * cai_idmap_hash(m, key). If `probes` is not NULL, the slots visited are
 * added to it (tests count them).
 */
static inline uint32_t cai_idmap_find_hashed(const cai_idmap *m, const void *records, size_t stride,
                                             const uint8_t key[32], uint64_t h, uint64_t *probes)
{
    if (m->count == 0)
        return CAI_IDMAP_NONE;
    uint32_t tag = (uint32_t)h, n = 0;
    for (uint32_t i = tag & m->mask;; i = (i + 1) & m->mask) {
        uint64_t s = m->slots[i];
        n++;
        if (s == 0 ||
            ((uint32_t)(s >> 32) == tag &&
             cai_eq32((const uint8_t *)records + (size_t)((uint32_t)s - 1) * stride, key))) {
            if (probes != NULL)
                *probes += n;
            return s == 0 ? CAI_IDMAP_NONE : (uint32_t)s - 1;
        }
    }
}

static inline uint32_t cai_idmap_find(const cai_idmap *m, const void *records, size_t stride,
                                      const uint8_t key[32])
{
    return cai_idmap_find_hashed(m, records, stride, key, cai_idmap_hash(m, key), NULL);
}

/*
 * Adds key -> index (index < UINT32_MAX). The key must be absent (find first)
 * and room reserved (cai_idmap_reserve): then it cannot fail.
 */
void cai_idmap_insert_hashed(cai_idmap *m, uint64_t h, uint32_t index);

static inline void cai_idmap_insert(cai_idmap *m, const uint8_t key[32], uint32_t index)
{
    cai_idmap_insert_hashed(m, cai_idmap_hash(m, key), index);
}

/*
 * Removes the entry key -> index (backward shift: the later entries of its
 * run move up, so no tombstone is left). Returns 1, or 0 when the map has no
 * such entry. Reads no record and never allocates: a caller finds the record
 * first, then drops it and its entry.
 */
int cai_idmap_remove_hashed(cai_idmap *m, uint64_t h, uint32_t index);

static inline int cai_idmap_remove(cai_idmap *m, const uint8_t key[32], uint32_t index)
{
    return cai_idmap_remove_hashed(m, cai_idmap_hash(m, key), index);
}

/*
 * The record with this key moved from index `from` to `to` (a caller that
 * deletes by moving its last record into the hole). Returns 1 if an entry
 * was renumbered, 0 if key -> from was not in the map. Reads no record.
 */
int cai_idmap_renumber(cai_idmap *m, const uint8_t key[32], uint32_t from, uint32_t to);

/*
 * Candidates for records not at a fixed stride (an array of pointers, keys
 * held elsewhere): the indices whose stored hash bits equal h's, in probe
 * order, until CAI_IDMAP_NONE. The caller compares each candidate's key
 * itself; the first equal one is the match (keys are unique).
 *     cai_idmap_cursor c = cai_idmap_cursor_start(m, h);
 *     for (uint32_t i; (i = cai_idmap_cursor_next(m, &c)) != CAI_IDMAP_NONE;)
 *         if (key_equal(i)) return i;
 */
typedef struct cai_idmap_cursor {
    uint32_t pos, tag;
} cai_idmap_cursor;

static inline cai_idmap_cursor cai_idmap_cursor_start(const cai_idmap *m, uint64_t h)
{
    cai_idmap_cursor c = {(uint32_t)h & m->mask, (uint32_t)h};
    return c;
}

static inline uint32_t cai_idmap_cursor_next(const cai_idmap *m, cai_idmap_cursor *c)
{
    if (m->count == 0)
        return CAI_IDMAP_NONE;
    for (;;) {
        uint64_t s = m->slots[c->pos];
        if (s == 0)
            return CAI_IDMAP_NONE;
        c->pos = (c->pos + 1) & m->mask;
        if ((uint32_t)(s >> 32) == c->tag)
            return (uint32_t)s - 1;
    }
}

/* Cache hint: pulls the home slot of hash h in; returns its position for cai_idmap_peek. */
static inline uint32_t cai_idmap_prefetch(const cai_idmap *m, uint64_t h)
{
    if (m->slots == NULL)
        return CAI_IDMAP_NONE;
    uint32_t pos = (uint32_t)h & m->mask;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&m->slots[pos]);
#endif
    return pos;
}

/* Index stored in slot `pos` (from cai_idmap_prefetch, possibly stale), or CAI_IDMAP_NONE. */
static inline uint32_t cai_idmap_peek(const cai_idmap *m, uint32_t pos)
{
    if (m->slots == NULL || pos > m->mask || m->slots[pos] == 0)
        return CAI_IDMAP_NONE;
    return (uint32_t)m->slots[pos] - 1;
}

#endif /* CYBERAGENT_CORE_IDMAP_H */
