/* Keyed id map (core/idmap.h): growth, insert, backward-shift delete, statistics. */
#include <stdlib.h>

#include <sodium.h>

#include "core/idmap.h"

ca_status cai_idmap_init(cai_idmap *m, uint32_t limit)
{
    if (limit < 1 || limit > CAI_IDMAP_MAX_ENTRIES)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "id map limit must be 1..%u, not %u",
                        CAI_IDMAP_MAX_ENTRIES, limit);
    memset(m, 0, sizeof *m);
    m->limit = limit;
    randombytes_buf(m->key, sizeof m->key);
    return CA_OK;
}

void cai_idmap_free(cai_idmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

/* Places an entry in its run (room guaranteed: load <= 1/2 leaves an empty slot). */
static void place(uint64_t *slots, uint32_t mask, uint64_t entry)
{
    uint32_t i = (uint32_t)(entry >> 32) & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = entry;
}

ca_status cai_idmap_reserve(cai_idmap *m, uint32_t more)
{
    uint64_t want = (uint64_t)m->count + more;
    if (want > m->limit)
        return cai_fail(CA_ERR_LIMIT, "table holds the maximum of %u entries", m->limit);
    uint64_t cap = m->slots != NULL ? (uint64_t)m->mask + 1 : 0;
    if (want * 2 <= cap)
        return CA_OK;
    uint64_t ncap = cap != 0 ? cap * 2 : 16;
    while (want * 2 > ncap)
        ncap *= 2; /* want <= 2^30, so ncap <= 2^31 */
    if (ncap > SIZE_MAX / sizeof(uint64_t))
        return cai_fail(CA_ERR_NO_MEMORY, "a table of %llu slots does not fit in memory",
                        (unsigned long long)ncap);
    uint64_t *slots = calloc((size_t)ncap, sizeof *slots);
    if (slots == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing a table to %llu slots",
                        (unsigned long long)ncap);
    /* The stored hash bits give each entry's new home: no key is read or hashed again. */
    for (uint64_t i = 0; i < cap; i++)
        if (m->slots[i] != 0)
            place(slots, (uint32_t)(ncap - 1), m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->mask = (uint32_t)(ncap - 1);
    return CA_OK;
}

void cai_idmap_insert_hashed(cai_idmap *m, uint64_t h, uint32_t index)
{
    place(m->slots, m->mask, (uint64_t)(uint32_t)h << 32 | ((uint64_t)index + 1));
    m->count++;
}

/* Empties slot `hole` and shifts back every later entry of its run that may move there. */
static void delete_at(cai_idmap *m, uint32_t hole)
{
    for (uint32_t j = (hole + 1) & m->mask; m->slots[j] != 0; j = (j + 1) & m->mask) {
        uint32_t home = (uint32_t)(m->slots[j] >> 32) & m->mask;
        /* The entry at j may fill the hole unless its home lies cyclically in (hole, j]. */
        if (((j - home) & m->mask) >= ((j - hole) & m->mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole] = 0;
    m->count--;
}

int cai_idmap_remove_hashed(cai_idmap *m, uint64_t h, uint32_t index)
{
    if (m->count == 0)
        return 0;
    uint64_t tag = (uint32_t)h, entry = tag << 32 | ((uint64_t)index + 1);
    for (uint32_t i = (uint32_t)tag & m->mask; m->slots[i] != 0; i = (i + 1) & m->mask)
        if (m->slots[i] == entry) {
            delete_at(m, i);
            return 1;
        }
    return 0;
}

int cai_idmap_renumber(cai_idmap *m, const uint8_t key[32], uint32_t from, uint32_t to)
{
    if (m->count == 0)
        return 0;
    uint64_t tag = (uint32_t)cai_idmap_hash(m, key);
    uint64_t old = tag << 32 | ((uint64_t)from + 1);
    for (uint32_t i = (uint32_t)tag & m->mask; m->slots[i] != 0; i = (i + 1) & m->mask)
        if (m->slots[i] == old) {
            m->slots[i] = tag << 32 | ((uint64_t)to + 1);
            return 1;
        }
    return 0;
}

size_t cai_idmap_memory_bytes(const cai_idmap *m)
{
    return m->slots != NULL ? ((size_t)m->mask + 1) * sizeof(uint64_t) : 0;
}

void cai_idmap_stats_get(const cai_idmap *m, cai_idmap_stats *out)
{
    memset(out, 0, sizeof *out);
    out->count = m->count;
    if (m->slots == NULL)
        return;
    out->slots = m->mask + 1;
    uint32_t run = 0;
    /* Runs may wrap: start counting after an empty slot (load <= 1/2 guarantees one). */
    uint32_t start = 0;
    while (m->slots[start] != 0)
        start++;
    for (uint32_t k = 1; k <= m->mask + 1; k++) {
        uint32_t i = (start + k) & m->mask;
        uint64_t s = m->slots[i];
        if (s == 0) {
            run = 0;
            continue;
        }
        if (++run > out->max_run)
            out->max_run = run;
        uint32_t probe = ((i - ((uint32_t)(s >> 32) & m->mask)) & m->mask) + 1;
        out->total_probe += probe;
        if (probe > out->max_probe)
            out->max_probe = probe;
    }
}
