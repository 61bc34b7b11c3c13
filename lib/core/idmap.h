/*
 * Keyed id map (internal, lib/core): one mechanism for every table a peer can
 * fill. Two kinds of key, one implementation:
 * - 32-byte keys (ids, hashes; cai_idmap_init): key -> the dense uint32 index
 *   of a record the CALLER owns. Keys of other lengths (routing's capability
 *   names) use the same map through cai_idmap_hash_bytes and the cursor.
 * - 64-bit keys held in the map itself (cai_idmap_init_u64): a set, for
 *   tables whose records would be the keys alone (reputation's task
 *   fingerprints), so a key costs its slot and nothing else.
 *
 * Rules it keeps, whoever the keys come from:
 * - The WHOLE key is hashed with a keyed PRF (SipHash-1-3, key drawn from the
 *   system CSPRNG per map), so no choice of keys (shared prefixes, keys that
 *   differ in one byte) makes them collide more than random keys do: an
 *   operation costs O(1) expected probes under adversarial keys.
 * - Open addressing with linear probing, backward-shift deletion (no
 *   tombstones: probe lengths do not rot after deletes). Load: at most 1/2
 *   for 32-byte keys (records elsewhere; a slot is cheap next to its record),
 *   at most 17/20 for 64-bit keys (the slots are all the memory: 9.4 bytes a
 *   key).
 * - Any slot count (the home slot is the hash's low 32 bits scaled to the
 *   table by a multiply-shift, not masked), so an exact reserve allocates
 *   what a known count needs and no power of two more.
 * - Growth happens only in cai_idmap_reserve() / cai_idmap_reserve_exact(),
 *   so a caller that must not fail halfway (the ledger's all-or-nothing ops)
 *   reserves first and inserts later; inserts themselves cannot fail.
 * - A hard limit on entries, fixed at init: reserving past it is CA_ERR_LIMIT.
 *
 * Layout: a slot is 64 bits, 0 = empty. 32-byte keys: (hash low 32 bits) << 32
 * | (index + 1); the stored hash bits give the home slot, so growth and
 * deletion never read the caller's records or hash a key again, and a probe
 * compares a record's key only when 32 hash bits match (about one record read
 * per successful find). Records stay where the caller keeps them: only a
 * find reads them (record i's key at `records + i * stride`; callers whose
 * records are not at a fixed stride walk the candidates with a cursor).
 * 64-bit keys: the slot is the key (key 0 is kept aside in a flag); growth
 * and deletion hash the key again (one SipHash of 8 bytes).
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
/* Most entries any map holds: 2^30 (slots stay < 2^31, indices < 2^32 - 1). */
#define CAI_IDMAP_MAX_ENTRIES (1u << 30)

typedef struct cai_idmap {
    uint64_t *slots;  /* NULL until the first reserve */
    uint32_t cap;     /* slot count (any size), 0 without slots */
    uint32_t count;   /* entries (64-bit keys: key 0 included) */
    uint32_t limit;   /* most entries (CA_ERR_LIMIT beyond), <= CAI_IDMAP_MAX_ENTRIES */
    uint8_t u64;      /* 1: 64-bit keys held in the slots (cai_idmap_init_u64) */
    uint8_t has_zero; /* 64-bit keys: key 0 is in the set (0 marks an empty slot) */
    uint64_t key[2];  /* SipHash key, random per map; never leaves the map */
} cai_idmap;

/* Probe statistic, for tests: a stored entry found at displacement d from its home slot costs
 * d + 1 probes to find (key 0 of a 64-bit map is not in a slot and not counted). */
typedef struct cai_idmap_stats {
    uint32_t count, slots;
    uint32_t max_probe;   /* longest successful find, in slots */
    uint64_t total_probe; /* sum over entries in slots (mean = total_probe / entries) */
    uint32_t max_run;     /* longest run of occupied slots (bounds an unsuccessful find) */
} cai_idmap_stats;

/*
 * Empty map of 32-byte keys to record indices holding at most `limit` entries
 * (1..CAI_IDMAP_MAX_ENTRIES, else CA_ERR_INVALID_ARGUMENT); draws its hash key;
 * allocates nothing. Needs the crypto backend initialized (cai_ensure_init).
 */
ca_status cai_idmap_init(cai_idmap *m, uint32_t limit);

/* The same for a set of 64-bit keys held in the map (cai_idmap_u64_*). */
ca_status cai_idmap_init_u64(cai_idmap *m, uint32_t limit);

/* Frees the slots; the map is empty (and keeps its kind, key and limit) afterwards. */
void cai_idmap_free(cai_idmap *m);

/*
 * Makes room for `more` entries beyond the current count, so that that many
 * inserts need no allocation. The table doubles (16 slots first), but never
 * past what `limit` entries need. CA_ERR_LIMIT when count + more exceeds the
 * limit, CA_ERR_NO_MEMORY on allocation failure; either way the map is
 * unchanged.
 */
ca_status cai_idmap_reserve(cai_idmap *m, uint32_t more);

/*
 * The same, but a table that must grow takes exactly the slots count + more
 * entries need (2 a key; 64-bit keys: 20/17 a key + 2): for a count known in
 * advance (a bulk load, a fixed-size table).
 */
ca_status cai_idmap_reserve_exact(cai_idmap *m, uint32_t more);

/* Bytes held by the slot array. */
size_t cai_idmap_memory_bytes(const cai_idmap *m);

/* Counts probes over the whole table (O(slots)). */
void cai_idmap_stats_get(const cai_idmap *m, cai_idmap_stats *out);

/* ---- hashing (SipHash, keyed per map) ---- */

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

/* Declares SipHash's state v0..v3 under the 128-bit key k. */
#define CAI_SIP_STATE(k)                                                                           \
    uint64_t v0 = (k)[0] ^ 0x736f6d6570736575ull, v1 = (k)[1] ^ 0x646f72616e646f6dull;             \
    uint64_t v2 = (k)[0] ^ 0x6c7967656e657261ull, v3 = (k)[1] ^ 0x7465646279746573ull

/*
 * SipHash-c-d (Aumasson and Bernstein) of `len` bytes: the message in 64-bit
 * little-endian words, the last one padded with zeros and the length in its
 * top byte, then d finalization rounds. The round counts are parameters so a
 * unit test can check c = 2, d = 4 against libsodium's crypto_shorthash
 * (SipHash-2-4) bit for bit; the map hashes with c = 1, d = 3.
 */
static inline uint64_t cai_siphash(const uint64_t key[2], const uint8_t *in, size_t len, int c,
                                   int d)
{
    CAI_SIP_STATE(key);
    size_t full = len / 8;
    for (size_t w = 0; w <= full; w++) {
        uint64_t m;
        if (w < full) {
            m = cai_idmap_le64(in + 8 * w);
        } else {
            m = (uint64_t)(len & 0xff) << 56;
            for (size_t b = 0; b < len % 8; b++)
                m |= (uint64_t)in[8 * w + b] << (8 * b);
        }
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

/* SipHash-1-3's finalization: three rounds, unrolled (the map's hashes are on hot paths). */
static inline uint64_t cai_sip13_final(uint64_t v0, uint64_t v1, uint64_t v2, uint64_t v3)
{
    v2 ^= 0xff;
    CAI_SIP_ROUND();
    CAI_SIP_ROUND();
    CAI_SIP_ROUND();
    return v0 ^ v1 ^ v2 ^ v3;
}

/*
 * The map's hash of a 32-byte key: SipHash-1-3, unrolled for exactly 32 bytes
 * (pass the result to the *_hashed calls to hash a key once).
 *
 * Why 1-3 inline and not crypto_shorthash (2-4): the ledger hashes two account
 * ids per transfer on its headline path, and measured on the development VM
 * (gcc -O2, 32-byte inputs) crypto_shorthash takes ~20 ns, cai_siphash with
 * 2-4 ~19 ns and this code ~11 ns a hash; 2-4 would cost the in-memory
 * transfer rate about twice what 1-3 does. SipHash-1-3 is the variant Rust's
 * standard HashMap and CPython (3.11+) use against hash flooding, the threat
 * here: a peer never sees hash values, at most the timing of its own ops.
 */
static inline uint64_t cai_idmap_hash(const cai_idmap *m, const uint8_t key[32])
{
    CAI_SIP_STATE(m->key);
    CAI_SIP13_WORD(cai_idmap_le64(key));
    CAI_SIP13_WORD(cai_idmap_le64(key + 8));
    CAI_SIP13_WORD(cai_idmap_le64(key + 16));
    CAI_SIP13_WORD(cai_idmap_le64(key + 24));
    CAI_SIP13_WORD((uint64_t)32 << 56);
    return cai_sip13_final(v0, v1, v2, v3);
}

/*
 * The map's hash of a key of any other length (SipHash-1-3 under the map's
 * key), for callers that file records under variable-length keys: they
 * insert with cai_idmap_insert_hashed and find with the cursor.
 */
static inline uint64_t cai_idmap_hash_bytes(const cai_idmap *m, const void *p, size_t len)
{
    return cai_siphash(m->key, (const uint8_t *)p, len, 1, 3);
}

/* The map's hash of a 64-bit key (SipHash-1-3 of its 8 little-endian bytes). */
static inline uint64_t cai_idmap_hash_u64(const cai_idmap *m, uint64_t key)
{
    CAI_SIP_STATE(m->key);
    CAI_SIP13_WORD(key);
    CAI_SIP13_WORD((uint64_t)8 << 56);
    return cai_sip13_final(v0, v1, v2, v3);
}

/*
 * The map's hash of a record index the OWNER assigned (dense 0, 1, 2, ...;
 * e.g. the ledger's account numbers), for a side table keyed by it: the
 * index xor the map's key through a 64-bit finalizer (two multiply-xorshift
 * rounds, every output bit depending on every input bit), a handful of
 * instructions instead of a SipHash. Not a multiply-shift: linear probing
 * over arithmetic progressions of keys (dense or strided indices) is that
 * family's known bad case (test_idmap_index_keys failed once with it). Not for
 * bytes a peer chooses: those go through cai_idmap_hash. Insert and find
 * through the cursor, comparing the index.
 */
static inline uint64_t cai_idmap_hash_index(const cai_idmap *m, uint32_t index)
{
    uint64_t x = (uint64_t)index ^ m->key[0];
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93u;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93u;
    x ^= x >> 32;
    return x ^ m->key[1];
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

/* ---- slots ---- */

/* Home slot of hash h: its low 32 bits scaled to the slot count (multiply-shift). */
static inline uint32_t cai_idmap_home(const cai_idmap *m, uint64_t h)
{
    return (uint32_t)(((h & 0xffffffffu) * (uint64_t)m->cap) >> 32);
}

/* The slot after i, wrapping around. */
static inline uint32_t cai_idmap_next(const cai_idmap *m, uint32_t i)
{
    return i + 1 == m->cap ? 0 : i + 1;
}

/* ---- 32-byte keys (and keys of any length through the cursor) ---- */

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
    for (uint32_t i = cai_idmap_home(m, h);; i = cai_idmap_next(m, i)) {
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
int cai_idmap_renumber_hashed(cai_idmap *m, uint64_t h, uint32_t from, uint32_t to);

static inline int cai_idmap_renumber(cai_idmap *m, const uint8_t key[32], uint32_t from,
                                     uint32_t to)
{
    return cai_idmap_renumber_hashed(m, cai_idmap_hash(m, key), from, to);
}

/*
 * Candidates for records not at a fixed stride (an array of pointers, keys
 * held elsewhere or of another length): the indices whose stored hash bits
 * equal h's, in probe order, until CAI_IDMAP_NONE. The caller compares each
 * candidate's key itself; the first equal one is the match (keys are unique).
 *     cai_idmap_cursor c = cai_idmap_cursor_start(m, h);
 *     for (uint32_t i; (i = cai_idmap_cursor_next(m, &c)) != CAI_IDMAP_NONE;)
 *         if (key_equal(i)) return i;
 */
typedef struct cai_idmap_cursor {
    uint32_t pos, tag;
} cai_idmap_cursor;

static inline cai_idmap_cursor cai_idmap_cursor_start(const cai_idmap *m, uint64_t h)
{
    cai_idmap_cursor c = {cai_idmap_home(m, h), (uint32_t)h};
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
        c->pos = cai_idmap_next(m, c->pos);
        if ((uint32_t)(s >> 32) == c->tag)
            return (uint32_t)s - 1;
    }
}

/* Cache hint: pulls the home slot of hash h in; returns its position for cai_idmap_peek. */
static inline uint32_t cai_idmap_prefetch(const cai_idmap *m, uint64_t h)
{
    if (m->slots == NULL)
        return CAI_IDMAP_NONE;
    uint32_t pos = cai_idmap_home(m, h);
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&m->slots[pos]);
#endif
    return pos;
}

/* Index stored in slot `pos` (from cai_idmap_prefetch, possibly stale), or CAI_IDMAP_NONE. */
static inline uint32_t cai_idmap_peek(const cai_idmap *m, uint32_t pos)
{
    if (m->slots == NULL || pos >= m->cap || m->slots[pos] == 0)
        return CAI_IDMAP_NONE;
    return (uint32_t)m->slots[pos] - 1;
}

/* ---- 64-bit keys held in the map (cai_idmap_init_u64) ---- */

/* 1 when `key` is in the set. If `probes` is not NULL, the slots visited are added to it. */
static inline int cai_idmap_u64_find(const cai_idmap *m, uint64_t key, uint64_t *probes)
{
    if (key == 0)
        return m->has_zero;
    if (m->count == 0 || m->slots == NULL)
        return 0;
    uint32_t n = 0;
    for (uint32_t i = cai_idmap_home(m, cai_idmap_hash_u64(m, key));; i = cai_idmap_next(m, i)) {
        uint64_t s = m->slots[i];
        n++;
        if (s == 0 || s == key) {
            if (probes != NULL)
                *probes += n;
            return s != 0;
        }
    }
}

/* Adds `key`, which must be absent, with room reserved: then it cannot fail. */
void cai_idmap_u64_insert(cai_idmap *m, uint64_t key);

/* Writes every key of the set into out[0 .. count) (in no particular order). */
void cai_idmap_u64_keys(const cai_idmap *m, uint64_t *out);

#endif /* CYBERAGENT_CORE_IDMAP_H */
