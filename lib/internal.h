/*
 * Internal helpers shared by all modules. Not installed, not exported.
 * Internal names use the prefix cai_ so they never collide with the public ca_.
 */
#ifndef CYBERAGENT_INTERNAL_H
#define CYBERAGENT_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "cyberagent/common.h"

#if defined(__GNUC__) || defined(__clang__)
#define CAI_PRINTF(fmt_idx, va_idx) __attribute__((format(printf, fmt_idx, va_idx)))
#define CAI_LIKELY(x)               __builtin_expect(!!(x), 1)
#define CAI_UNLIKELY(x)             __builtin_expect(!!(x), 0)
#else
#define CAI_PRINTF(fmt_idx, va_idx)
#define CAI_LIKELY(x)   (x)
#define CAI_UNLIKELY(x) (x)
#endif

/*
 * Records a human sentence (printf-style) for ca_last_error() on this thread.
 * LAST ERROR RULE (common.h): every path that returns a failure status
 * records a sentence on the way out, through cai_fail, so the caller never
 * reads an earlier failure's sentence; nothing ever clears it. A status that
 * comes from outside (libsodium, zstd, errno, a helper that only returns a
 * code) is turned into a cai_fail where it is first seen.
 */
void cai_record_error(const char *fmt, ...) CAI_PRINTF(1, 2);

/*
 * How many sentences this thread has recorded so far. Only the tests read it:
 * a call that returns a failure must have moved it (tests/unit/test_util.h).
 */
unsigned long cai_error_serial(void);

/*
 * Records a human sentence for ca_last_error() on this thread and yields
 * `status`, so failures read `return cai_fail(CA_ERR_X, "...", ...);`.
 * A macro so that static analyzers see the value: a failure stays a failure
 * on every path they follow. `status` is evaluated once, AFTER the sentence
 * is recorded: compute anything that reads errno into a variable first.
 */
#define cai_fail(status, ...) (cai_record_error(__VA_ARGS__), (ca_status)(status))

/* ca_init() without the public error bookkeeping; CA_OK or CA_ERR_INIT. */
ca_status cai_ensure_init(void);

/* Checks a required pointer argument. */
#define CAI_REQUIRE(ptr)                                                                           \
    do {                                                                                           \
        if (CAI_UNLIKELY((ptr) == NULL))                                                           \
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s: argument '%s' must not be NULL",         \
                            __func__, #ptr);                                                       \
    } while (0)

/*
 * Checks the version field of a versioned struct (STRUCT RULE, common.h): versions run from
 * 1 to `known` (the struct's *_VERSION macro in this build); anything else is
 * CA_ERR_UNSUPPORTED, so every module refuses a future struct the same way.
 */
#define CAI_REQUIRE_VERSION(what, version, known)                                                  \
    do {                                                                                           \
        unsigned int v_ = (version);                                                               \
        if (CAI_UNLIKELY(v_ == 0 || v_ > (known)))                                                 \
            return cai_fail(CA_ERR_UNSUPPORTED,                                                    \
                            "%s version %u is not supported (this build: 1..%u)", (what), v_,      \
                            (unsigned int)(known));                                                \
    } while (0)

/*
 * The ELEMENT SIZE convention of the STRUCT RULE (common.h): `size` is the
 * caller's sizeof of a struct that travels in arrays. The library reads and
 * writes layouts from `first` (the size of the struct's 1.0 layout, the
 * smallest it ever published) to `known` (this build's sizeof); anything else
 * is CA_ERR_UNSUPPORTED, so every module refuses a foreign layout the same way.
 */
#define CAI_REQUIRE_ELEM_SIZE(what, size, first, known)                                            \
    do {                                                                                           \
        size_t s_ = (size);                                                                        \
        if (CAI_UNLIKELY(s_ < (first) || s_ > (known)))                                            \
            return cai_fail(CA_ERR_UNSUPPORTED,                                                    \
                            "%s element size %zu is not supported (this build: %zu .. %zu)",       \
                            (what), s_, (size_t)(first), (size_t)(known));                         \
    } while (0)

/* Writes `src` (this build's layout, `known` bytes) into the caller's element of
 * `size` bytes: only the fields that fit in it (a checked size holds whole fields). */
static inline void cai_elem_put(void *dst, size_t size, const void *src, size_t known)
{
    memcpy(dst, src, size < known ? size : known);
}

/* Reads the caller's element of `size` bytes into `dst` (this build's layout,
 * `known` bytes): the fields beyond the caller's layout read as zero. */
static inline void cai_elem_get(void *dst, size_t known, const void *src, size_t size)
{
    memset(dst, 0, known);
    memcpy(dst, src, size < known ? size : known);
}

/*
 * Implements the OWNERSHIP RULE's size check: sets *out_len to `needed` and
 * fails with CA_ERR_BUFFER_TOO_SMALL when out is NULL or out_cap < needed.
 */
static inline ca_status cai_check_out(const void *out, size_t out_cap, size_t *out_len,
                                      size_t needed)
{
    *out_len = needed;
    if (out == NULL || out_cap < needed)
        return cai_fail(CA_ERR_BUFFER_TOO_SMALL, "output buffer holds %zu bytes, %zu needed",
                        out == NULL ? (size_t)0 : out_cap, needed);
    return CA_OK;
}

/* a + b, saturating at UINT64_MAX (a time or deadline near the end of time never wraps). */
static inline uint64_t cai_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Little-endian fixed-width helpers (wire and file formats are little-endian). */
static inline void cai_store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t cai_load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline void cai_store_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t cai_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif /* CYBERAGENT_INTERNAL_H */
