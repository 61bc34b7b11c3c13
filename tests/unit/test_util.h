/* Small helpers shared by the cmocka tests. */
#ifndef CA_TEST_UTIL_H
#define CA_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

/*
 * Asserts a ca_status, printing both names and the last error on mismatch.
 * LAST ERROR RULE (common.h) check, shared by every test: when `expr` fails,
 * it must have recorded a sentence of its own while it ran (the thread's
 * sentence count moved and the sentence is not empty), never left an earlier
 * one. So `expr` must contain the failing call itself, not a saved status:
 * use assert_status_value for those.
 */
#define assert_status(expected, expr)                                                              \
    do {                                                                                           \
        unsigned long serial_ = cai_error_serial();                                                \
        ca_status got_ = (expr);                                                                   \
        if (got_ != (expected))                                                                    \
            fail_msg("%s: expected %s, got %s (%s)", #expr, ca_status_str(expected),               \
                     ca_status_str(got_), ca_last_error());                                        \
        if (got_ != CA_OK && (cai_error_serial() == serial_ || ca_last_error()[0] == '\0'))        \
            fail_msg("%s: %s without a sentence of its own (ca_last_error: \"%s\")", #expr,        \
                     ca_status_str(got_), ca_last_error());                                        \
    } while (0)

/* Asserts a status held in a variable or a sticky decoder (no call, no sentinel). */
#define assert_status_value(expected, value)                                                       \
    do {                                                                                           \
        ca_status got_ = (value);                                                                  \
        if (got_ != (expected))                                                                    \
            fail_msg("%s: expected %s, got %s (%s)", #value, ca_status_str(expected),              \
                     ca_status_str(got_), ca_last_error());                                        \
    } while (0)

#define assert_ok(expr) assert_status(CA_OK, expr)

/* Decodes hex into out; returns the byte count or (size_t)-1 on bad input. */
static inline size_t test_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n == 1 && hex[0] == '-')
        return 0;
    if (n % 2 != 0 || n / 2 > cap)
        return (size_t)-1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return (size_t)-1;
        out[i] = (uint8_t)v;
    }
    return n / 2;
}

static inline void test_hex_exact(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(test_hex_decode(hex, out, len), len);
}

/* n deterministic identities (seed = {index, tag[0], tag[1]}, zeros after) and their ids; -1
 * on failure (a cmocka setup returns it). */
static inline int test_keys_new(ca_identity **keys, ca_agent_id *ids, int n, uint8_t tag0,
                                uint8_t tag1)
{
    for (int i = 0; i < n; i++) {
        uint8_t seed[32] = {(uint8_t)i, tag0, tag1};
        if (ca_identity_from_seed(&keys[i], seed) != CA_OK)
            return -1;
        ca_identity_id(keys[i], &ids[i]);
    }
    return 0;
}

static inline int test_keys_free(ca_identity **keys, int n)
{
    for (int i = 0; i < n; i++)
        ca_identity_free(keys[i]);
    return 0;
}

#endif
