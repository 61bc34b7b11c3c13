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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a broken invariant and aborts, so both drivers flag the input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* CA_FUZZ_H */
