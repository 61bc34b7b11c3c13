/*
 * ca-bench plumbing. Figures are printed as "name value unit", one per line.
 * Shared machines drift, so figures that have a goal are ratios against a
 * baseline timed in the same run, as medians of several rounds.
 */
#ifndef CA_BENCH_H
#define CA_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in seconds. */
double bench_now(void);

/* Median of n values (sorts the array in place). */
double bench_median(double *values, size_t n);

/* Prints one figure line. */
void bench_figure(const char *name, double value, const char *unit);

/* Rounds to use per measurement (CA_BENCH_ROUNDS, default 5) and a size scale (CA_BENCH_QUICK). */
int bench_rounds(void);
int bench_quick(void);

/* Keeps the optimizer from deleting benchmarked work. */
void bench_consume(const void *p, size_t len);

/* One entry per area; each prints its own figures. */
typedef struct bench_area {
    const char *name;
    void (*run)(void);
} bench_area;

#define BENCH_AREAS(X)                                                                             \
    X(identity) X(envelope) X(routing) X(task) X(hire) X(reputation) X(ledger) X(codec)

#define BENCH_DECLARE(area) void bench_##area(void);
BENCH_AREAS(BENCH_DECLARE)
#undef BENCH_DECLARE

#endif
