/* ca-bench: runs every area, or only those named on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cyberagent.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t n)
{
    qsort(values, n, sizeof *values, cmp_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void bench_figure(const char *name, double value, const char *unit)
{
    printf("%s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

int bench_rounds(void)
{
    const char *s = getenv("CA_BENCH_ROUNDS");
    int r = s ? atoi(s) : 5;
    return r > 0 ? r : 5;
}

int bench_quick(void)
{
    const char *s = getenv("CA_BENCH_QUICK");
    return s != NULL && s[0] != '\0' && s[0] != '0';
}

static volatile uint8_t sink;

void bench_consume(const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        sink ^= b[i];
}

static const bench_area areas[] = {
#define BENCH_ENTRY(area) {#area, bench_##area},
    BENCH_AREAS(BENCH_ENTRY)
#undef BENCH_ENTRY
};

int main(int argc, char **argv)
{
    if (ca_init() != CA_OK) {
        fprintf(stderr, "ca-bench: %s\n", ca_last_error());
        return 1;
    }
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            selected |= strcmp(argv[a], areas[i].name) == 0;
        if (selected)
            areas[i].run();
    }
    return 0;
}
