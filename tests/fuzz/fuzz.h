/*
 * Shared declarations for the libFuzzer targets in tests/fuzz/fuzz_<name>.c.
 *
 * Each target defines LLVMFuzzerTestOneInput and never calls abort() except
 * to report a broken invariant. The same source is linked two ways:
 *   - with -fsanitize=fuzzer (preset `fuzz`, clang) for real fuzzing;
 *   - with replay_main.c in every build, as the ctest fuzz_replay_<name>,
 *     which feeds each file of tests/fuzz/corpus/<name>/ to the target.
 */
#ifndef CA_FUZZ_H
#define CA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken invariant and aborts, so both drivers flag the input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * LAST ERROR RULE (common.h): FUZZ_CALL(call) evaluates to the call's status
 * and aborts when the call failed without recording a sentence of its own
 * (the thread's sentence count did not move, or the sentence is empty), so
 * every input of every corpus also checks that rule. Not nested.
 */
static inline unsigned long *fuzz_serial_slot(void)
{
    static _Thread_local unsigned long serial;
    return &serial;
}

static inline void fuzz_mark(void)
{
    *fuzz_serial_slot() = cai_error_serial();
}

static inline ca_status fuzz_fresh(ca_status st, const char *call, const char *file, int line)
{
    if (st != CA_OK && (cai_error_serial() == *fuzz_serial_slot() || ca_last_error()[0] == '\0')) {
        fprintf(stderr, "%s:%d: %s returned %s without a sentence of its own\n", file, line, call,
                ca_status_str(st));
        abort();
    }
    return st;
}

#define FUZZ_CALL(call) (fuzz_mark(), fuzz_fresh((call), #call, __FILE__, __LINE__))

#endif /* CA_FUZZ_H */
