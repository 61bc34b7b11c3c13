/* Dense record arrays (core/array.h). */
#include <stdlib.h>

#include "core/array.h"

/* Reallocates *arr to ncap records (ncap >= want, checked against max by the caller). */
static ca_status resize(void **arr, uint32_t *cap, uint64_t ncap, size_t elem)
{
    if (elem == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "records of 0 bytes");
    if (ncap > SIZE_MAX / elem)
        return cai_fail(CA_ERR_NO_MEMORY, "%llu records of %zu bytes do not fit in memory",
                        (unsigned long long)ncap, elem);
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing a table to %llu records",
                        (unsigned long long)ncap);
    *arr = p;
    *cap = (uint32_t)ncap;
    return CA_OK;
}

ca_status cai_array_grow_from(void **arr, uint32_t *cap, uint64_t want, size_t elem, uint32_t max,
                              uint32_t first)
{
    if (want <= *cap)
        return CA_OK;
    if (want > max)
        return cai_fail(CA_ERR_LIMIT, "table holds the maximum of %u records", max);
    uint64_t ncap = *cap != 0 ? (uint64_t)*cap * 2 : (first != 0 ? first : 1);
    while (ncap < want)
        ncap *= 2;
    if (ncap > max)
        ncap = max;
    return resize(arr, cap, ncap, elem);
}

ca_status cai_array_reserve(void **arr, uint32_t *cap, uint64_t want, size_t elem, uint32_t max)
{
    if (want <= *cap)
        return CA_OK;
    if (want > max)
        return cai_fail(CA_ERR_LIMIT, "table holds the maximum of %u records", max);
    return resize(arr, cap, want, elem);
}
