/*
 * Growth of a caller's dense record array (internal, lib/core): one rule for
 * every module. Capacity doubles (at least 16 records) and never passes `max`,
 * so appends cost O(1) amortized and a limit is never overshot in memory.
 */
#ifndef CYBERAGENT_CORE_ARRAY_H
#define CYBERAGENT_CORE_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/*
 * Makes *arr (capacity *cap records of `elem` bytes, may be NULL with
 * *cap == 0) hold at least `want` records. CA_OK when it already does;
 * CA_ERR_LIMIT when want > max; CA_ERR_NO_MEMORY on allocation failure.
 * On failure *arr and *cap are unchanged.
 */
ca_status cai_array_grow(void **arr, uint32_t *cap, uint64_t want, size_t elem, uint32_t max);

#endif /* CYBERAGENT_CORE_ARRAY_H */
