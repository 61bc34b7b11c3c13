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

/* CA_BENCH_VERBOSE=1: helpers print their per-round values on stderr. */
int bench_verbose(void);

/* Keeps the optimizer from deleting benchmarked work. */
void bench_consume(const void *p, size_t len);

/*
 * A ratio against a baseline, measured one way everywhere: one timing of each
 * side per round, back to back, the side that goes first alternating (A B,
 * B A, A B, ...), so a change in the load of a shared machine falls on both
 * sides of a round; the ratio is taken per round, and the figure is the
 * median of the per-round ratios. A median of each side, divided, would pair
 * a quiet moment of one side with a busy one of the other.
 *
 * A timing does one unit of its side's work and returns how long that took
 * (any unit, the same for both sides: wall or CPU seconds, milliseconds), or
 * a value <= 0 on failure, which ends the measurement.
 */
typedef double (*bench_timing)(void *ctx);

typedef struct bench_pair {
    double ratio; /* median over the rounds of num / den */
    double num;   /* median timing of each side */
    double den;
    int rounds; /* rounds completed */
} bench_pair;

#define BENCH_MAX_ROUNDS 64

/* Runs up to `rounds` rounds (at most BENCH_MAX_ROUNDS); 0 when at least one completed. */
int bench_interleave(int rounds, bench_timing num, void *num_ctx, bench_timing den, void *den_ctx,
                     bench_pair *out);

/*
 * A baseline program run beside ca-bench (e.g. tests/bench/eigentrust_scipy.py),
 * so the two sides of a ratio can take turns: it reads one request line on its
 * standard input and answers with one line on its standard output. Its
 * standard error is ca-bench's.
 */
typedef struct bench_coproc {
    long pid;
    void *to;   /* FILE * of its standard input */
    void *from; /* FILE * of its standard output */
} bench_coproc;

/* Starts argv[0] (a path) with argv; 0 on success. SIGPIPE is ignored from then on. */
int bench_coproc_start(bench_coproc *c, char *const argv[]);

/* Reads one line (without its newline) into answer; 0 on success, -1 at end or error. */
int bench_coproc_read(bench_coproc *c, char *answer, size_t cap);

/* Sends `request` and a newline, then reads the answer line; 0 on success. */
int bench_coproc_ask(bench_coproc *c, const char *request, char *answer, size_t cap);

/* Closes its standard input (the end of requests) and waits; its exit status, -1 on error. */
int bench_coproc_stop(bench_coproc *c);

/* One entry per area; each prints its own figures. */
typedef struct bench_area {
    const char *name;
    void (*run)(void);
} bench_area;

#define BENCH_AREAS(X)                                                                             \
    X(identity)                                                                                    \
    X(envelope)                                                                                    \
    X(keyhistory)                                                                                  \
    X(delegation)                                                                                  \
    X(routing) X(task) X(hire) X(reputation) X(ledger) X(ledger_identity) X(codec) X(nats)

#define BENCH_DECLARE(area) void bench_##area(void);
BENCH_AREAS(BENCH_DECLARE)
#undef BENCH_DECLARE

#endif
