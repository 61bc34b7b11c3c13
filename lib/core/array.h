/*
 * Growth of a caller's dense record array (internal, lib/core): one rule for
 * every module. Capacity doubles (from a first size, 16 records unless the
 * caller names another) and never passes `max`, so appends cost O(1)
 * amortized and a limit is never overshot in memory. A caller that knows the
 * count in advance (a bulk load) reserves exactly that instead.
 */
#ifndef CYBERAGENT_CORE_ARRAY_H
#define CYBERAGENT_CORE_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/*
 * Makes *arr (capacity *cap records of `elem` bytes, may be NULL with
 * *cap == 0) hold at least `want` records, doubling from `first` records
 * (>= 1). CA_OK when it already does; CA_ERR_LIMIT when want > max;
 * CA_ERR_NO_MEMORY on allocation failure. On failure *arr and *cap are
 * unchanged.
 */
ca_status cai_array_grow_from(void **arr, uint32_t *cap, uint64_t want, size_t elem, uint32_t max,
                              uint32_t first);

/* cai_array_grow_from with a first size of 16 records. */
static inline ca_status cai_array_grow(void **arr, uint32_t *cap, uint64_t want, size_t elem,
                                       uint32_t max)
{
    return cai_array_grow_from(arr, cap, want, elem, max, 16);
}

/* The same, but an array that must grow takes exactly `want` records. */
ca_status cai_array_reserve(void **arr, uint32_t *cap, uint64_t want, size_t elem, uint32_t max);

#endif /* CYBERAGENT_CORE_ARRAY_H */
