/* Keyed id map (core/idmap.h): growth, insert, backward-shift delete, statistics. */
#include <stdlib.h>

#include <sodium.h>

#include "core/idmap.h"

static ca_status init(cai_idmap *m, uint32_t limit, uint8_t u64)
{
    if (limit < 1 || limit > CAI_IDMAP_MAX_ENTRIES)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "id map limit must be 1..%u, not %u",
                        CAI_IDMAP_MAX_ENTRIES, limit);
    memset(m, 0, sizeof *m);
    m->limit = limit;
    m->u64 = u64;
    randombytes_buf(m->key, sizeof m->key);
    return CA_OK;
}

ca_status cai_idmap_init(cai_idmap *m, uint32_t limit)
{
    return init(m, limit, 0);
}

ca_status cai_idmap_init_u64(cai_idmap *m, uint32_t limit)
{
    return init(m, limit, 1);
}

void cai_idmap_free(cai_idmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
    m->has_zero = 0;
}

/* Entries that sit in slots: a 64-bit map keeps key 0 aside. */
static uint32_t in_slots(const cai_idmap *m, uint64_t entries)
{
    return (uint32_t)(entries - (m->u64 && m->has_zero && entries > 0));
}

/* The fewest slots that hold n entries within the load bound (<= 1/2, 64-bit keys <= 17/20). */
static uint64_t slots_for(const cai_idmap *m, uint64_t n)
{
    return m->u64 ? n * 20 / 17 + 2 : n * 2;
}

/* Home slot of a stored entry in a table of `cap` slots. */
static uint32_t entry_home(const cai_idmap *m, uint64_t entry, uint32_t cap)
{
    uint64_t h = m->u64 ? cai_idmap_hash_u64(m, entry) : entry >> 32;
    return (uint32_t)(((h & 0xffffffffu) * (uint64_t)cap) >> 32);
}

/* Places an entry in its run (room guaranteed: the load bound leaves an empty slot). */
static void place(const cai_idmap *m, uint64_t *slots, uint32_t cap, uint64_t entry)
{
    uint32_t i = entry_home(m, entry, cap);
    while (slots[i] != 0)
        i = i + 1 == cap ? 0 : i + 1;
    slots[i] = entry;
}

static ca_status reserve(cai_idmap *m, uint32_t more, int exact)
{
    uint64_t want = (uint64_t)m->count + more;
    if (want > m->limit)
        return cai_fail(CA_ERR_LIMIT, "table holds the maximum of %u entries", m->limit);
    uint64_t n = in_slots(m, want);
    uint64_t need = slots_for(m, n);
    if (n == 0 || need <= m->cap)
        return CA_OK;
    uint64_t ncap = need;
    if (!exact) {
        /* Doubling from 16, never past what the limit needs. */
        ncap = m->cap != 0 ? (uint64_t)m->cap * 2 : 16;
        while (ncap < need)
            ncap *= 2;
        uint64_t most = slots_for(m, m->limit); /* >= need: want <= limit */
        if (ncap > most)
            ncap = most;
    }
    /* ncap <= 2^31 (32-byte keys) or 20/17 * 2^30 + 2 (64-bit keys): it fits 32 bits. */
    if (ncap > SIZE_MAX / sizeof(uint64_t))
        return cai_fail(CA_ERR_NO_MEMORY, "a table of %llu slots does not fit in memory",
                        (unsigned long long)ncap);
    uint64_t *slots = calloc((size_t)ncap, sizeof *slots);
    if (slots == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing a table to %llu slots",
                        (unsigned long long)ncap);
    /* 32-byte keys: the stored hash bits give each entry's new home, no key is read again. */
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i] != 0)
            place(m, slots, (uint32_t)ncap, m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->cap = (uint32_t)ncap;
    return CA_OK;
}

ca_status cai_idmap_reserve(cai_idmap *m, uint32_t more)
{
    return reserve(m, more, 0);
}

ca_status cai_idmap_reserve_exact(cai_idmap *m, uint32_t more)
{
    return reserve(m, more, 1);
}

void cai_idmap_insert_hashed(cai_idmap *m, uint64_t h, uint32_t index)
{
    place(m, m->slots, m->cap, (uint64_t)(uint32_t)h << 32 | ((uint64_t)index + 1));
    m->count++;
}

void cai_idmap_u64_insert(cai_idmap *m, uint64_t key)
{
    if (key == 0)
        m->has_zero = 1;
    else
        place(m, m->slots, m->cap, key);
    m->count++;
}

void cai_idmap_u64_keys(const cai_idmap *m, uint64_t *out)
{
    size_t n = 0;
    if (m->has_zero)
        out[n++] = 0;
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->slots[i] != 0)
            out[n++] = m->slots[i];
}

/* Cyclic distance from slot a forward to slot b. */
static uint32_t dist(const cai_idmap *m, uint32_t a, uint32_t b)
{
    return b >= a ? b - a : b + m->cap - a;
}

/* Empties slot `hole` and shifts back every later entry of its run that may move there. */
static void delete_at(cai_idmap *m, uint32_t hole)
{
    for (uint32_t j = cai_idmap_next(m, hole); m->slots[j] != 0; j = cai_idmap_next(m, j)) {
        uint32_t home = entry_home(m, m->slots[j], m->cap);
        /* The entry at j may fill the hole unless its home lies cyclically in (hole, j]. */
        if (dist(m, home, j) >= dist(m, hole, j)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = 0;
    m->count--;
}

/* Slot holding `entry` (searched from hash h's home), or CAI_IDMAP_NONE. */
static uint32_t slot_of(const cai_idmap *m, uint64_t h, uint64_t entry)
{
    if (m->count == 0 || m->slots == NULL)
        return CAI_IDMAP_NONE;
    for (uint32_t i = cai_idmap_home(m, h); m->slots[i] != 0; i = cai_idmap_next(m, i))
        if (m->slots[i] == entry)
            return i;
    return CAI_IDMAP_NONE;
}

int cai_idmap_remove_hashed(cai_idmap *m, uint64_t h, uint32_t index)
{
    uint32_t i = slot_of(m, h, (uint64_t)(uint32_t)h << 32 | ((uint64_t)index + 1));
    if (i == CAI_IDMAP_NONE)
        return 0;
    delete_at(m, i);
    return 1;
}

int cai_idmap_renumber_hashed(cai_idmap *m, uint64_t h, uint32_t from, uint32_t to)
{
    uint64_t tag = (uint32_t)h;
    uint32_t i = slot_of(m, h, tag << 32 | ((uint64_t)from + 1));
    if (i == CAI_IDMAP_NONE)
        return 0;
    m->slots[i] = tag << 32 | ((uint64_t)to + 1);
    return 1;
}

size_t cai_idmap_memory_bytes(const cai_idmap *m)
{
    return (size_t)m->cap * sizeof(uint64_t);
}

void cai_idmap_stats_get(const cai_idmap *m, cai_idmap_stats *out)
{
    memset(out, 0, sizeof *out);
    out->count = m->count;
    if (m->slots == NULL)
        return;
    out->slots = m->cap;
    uint32_t run = 0;
    /* Runs may wrap: start counting after an empty slot (the load bound guarantees one). */
    uint32_t start = 0;
    while (m->slots[start] != 0)
        start++;
    for (uint32_t k = 1; k <= m->cap; k++) {
        uint32_t i = (uint32_t)(((uint64_t)start + k) % m->cap);
        uint64_t s = m->slots[i];
        if (s == 0) {
            run = 0;
            continue;
        }
        if (++run > out->max_run)
            out->max_run = run;
        uint32_t probe = dist(m, entry_home(m, s, m->cap), i) + 1;
        out->total_probe += probe;
        if (probe > out->max_probe)
            out->max_probe = probe;
    }
}
