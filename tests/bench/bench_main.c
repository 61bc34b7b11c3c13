/* ca-bench: runs every area, or only those named on the command line. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cyberagent.h"

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
