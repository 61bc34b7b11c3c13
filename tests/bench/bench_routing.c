/*
 * Routing figures:
 *   route_insert_ns        add of one agent (one capability, 16-byte name, 32-byte endpoint),
 *                          averaged over building the whole registry
 *   route_bytes_per_agent  heap bytes the registry holds (malloc's own count, overhead
 *                          included) divided by the agents; goal <= 300
 *   route_update_ns        ca_routing_set_reputation on a random agent
 *   route_query_p99_us     filtered top-10 query on one capability (goal <= 20),
 *                          with route_query_p50_us, and route_query_prefix10_p99_us
 *                          for a prefix matching ten capabilities
 *   route_thompson_query_us median exploring top-10 query (full scan of one capability)
 *   kad_insert_ns, kad_closest_ns (k = 20 over all contacts)
 *   route_names_fresh_ms   8,000 cards of 16 fresh capability names each (a Sybil flood;
 *                          names in descending order, each sorting before all others)
 *   route_names_shared_ms  8,000 cards of the same 16 names (the baseline, same postings)
 *   route_names_fresh_vs_shared  their ratio: what fresh names cost beyond the postings
 *                          (median of the per-round ratios, the two in turns, bench_interleave;
 *                          the two _ms figures are each side's median; sizes not scaled by QUICK)
 * Sizes: 1,000,000 agents, 1,000 capabilities, 1,000,000 contacts; CA_BENCH_QUICK
 * divides them by 50. Cards enter through the internal entry add, so signing
 * and parsing (measured by the card module) are not part of these figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "bench.h"
#include "cyberagent.h"
#include "routing/routing_internal.h"

static uint64_t rs = 0x853c49e6748fea9bu;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void rand_id(ca_agent_id *id)
{
    for (int i = 0; i < 32; i += 8) {
        uint64_t x = rnd();
        memcpy(id->bytes + i, &x, 8);
    }
}

static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

static void bench_registry(size_t nagents, size_t ncaps)
{
    char(*names)[32] = malloc(ncaps * sizeof *names);
    ca_agent_id *ids = malloc(nagents * sizeof *ids);
    if (names == NULL || ids == NULL)
        return;
    for (size_t c = 0; c < ncaps; c++)
        snprintf(names[c], sizeof names[c], "svc.g%zu.t%zu", c / 10, c % 10);
    for (size_t i = 0; i < nagents; i++)
        rand_id(&ids[i]);

    size_t heap0 = heap_in_use();
    ca_routing *rt = NULL;
    if (ca_routing_new(&rt, NULL) != CA_OK)
        return;
    const char *endpoint = "nats://agents.example.org/w-0001"; /* 32 bytes */
    double t0 = bench_now();
    for (size_t i = 0; i < nagents; i++) {
        cai_routing_capability cap = {names[i % ncaps], strlen(names[i % ncaps]),
                                      100 + rnd() % 1900,
                                      (uint32_t)(rnd() % 4 ? 50 + rnd() % 2000 : 0)};
        cai_routing_entry e = {ids[i],
                               1,
                               0,
                               UINT64_MAX / 2,
                               rnd() % 4000000,
                               "agent-0123456789",
                               16,
                               (const uint8_t *)endpoint,
                               32,
                               &cap,
                               1,
                               NULL};
        if (cai_routing_add_entry(rt, &e, 1) != CA_OK) {
            fprintf(stderr, "bench_routing: add failed: %s\n", ca_last_error());
            return;
        }
    }
    double t1 = bench_now();
    size_t heap1 = heap_in_use();
    bench_figure("route_insert_ns", (t1 - t0) * 1e9 / (double)nagents, "ns");
    if (heap1 > heap0)
        bench_figure("route_bytes_per_agent", (double)(heap1 - heap0) / (double)nagents, "bytes");

    /* Reputation for everyone (spread 0.3 .. 1.0), timed as the update figure. */
    t0 = bench_now();
    for (size_t i = 0; i < nagents; i++)
        (void)ca_routing_set_reputation(rt, &ids[i], (uint32_t)(300000 + rnd() % 700001));
    t1 = bench_now();
    bench_figure("route_update_ns", (t1 - t0) * 1e9 / (double)nagents, "ns");

    /* Filtered top-10 queries on random capabilities: price <= 1500 (~3/4 pass),
     * stake >= 500000 (~7/8), reputation >= 0.5 (~5/7), latency <= 1500 ms (~1/2). */
    size_t nq = bench_quick() ? 2000 : 20000;
    double *lat = malloc(nq * sizeof *lat);
    ca_routing_result res[10];
    ca_routing_query q;
    (void)ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION);
    q.now = 2;
    q.max_price = 1500;
    q.min_stake = 500000;
    q.min_reputation_ppm = 500000;
    q.max_latency_ms = 1500;
    size_t found = 0;
    for (int variant = 0; variant < 2 && lat != NULL; variant++) {
        char pat[32];
        for (size_t i = 0; i < nq; i++) {
            size_t c = rnd() % ncaps;
            if (variant == 0) {
                q.capability = names[c];
                q.capability_len = strlen(names[c]);
            } else { /* "svc.g<group>.*": ten capabilities */
                snprintf(pat, sizeof pat, "svc.g%zu.*", c / 10);
                q.capability = pat;
                q.capability_len = strlen(pat);
            }
            size_t n = 0;
            double a = bench_now();
            (void)ca_routing_select(rt, &q, res, sizeof(ca_routing_result), 10, &n);
            double b = bench_now();
            found += n;
            lat[i] = (b - a) * 1e6;
        }
        if (variant == 0) {
            bench_figure("route_query_p99_us", percentile(lat, nq, 0.99), "us");
            bench_figure("route_query_p50_us", percentile(lat, nq, 0.50), "us");
        } else {
            bench_figure("route_query_prefix10_p99_us", percentile(lat, nq, 0.99), "us");
        }
    }
    bench_consume(&found, sizeof found);

    /* Exploration: full scan + Beta draws over one capability's agents. */
    q.thompson = 1;
    size_t nt = bench_quick() ? 50 : 300;
    for (size_t i = 0; i < nt && lat != NULL; i++) {
        size_t c = rnd() % ncaps;
        q.capability = names[c];
        q.capability_len = strlen(names[c]);
        q.seed = i;
        size_t n = 0;
        double a = bench_now();
        (void)ca_routing_select(rt, &q, res, sizeof(ca_routing_result), 10, &n);
        lat[i] = (bench_now() - a) * 1e6;
    }
    if (lat != NULL)
        bench_figure("route_thompson_query_us", percentile(lat, nt, 0.5), "us");
    free(lat);
    ca_routing_free(rt);
    free(ids);
    free(names);
}

static void bench_kad(size_t n)
{
    ca_agent_id self;
    rand_id(&self);
    ca_kad_options o;
    (void)ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION);
    o.bucket_size = n; /* hold every contact: the figure is about closest over n */
    ca_kad *kad = NULL;
    if (ca_kad_new(&kad, &self, &o) != CA_OK)
        return;
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        ca_agent_id id;
        rand_id(&id);
        (void)ca_kad_seen(kad, &id, NULL);
    }
    double t1 = bench_now();
    bench_figure("kad_insert_ns", (t1 - t0) * 1e9 / (double)n, "ns");
    int rounds = bench_rounds();
    double med[16];
    if (rounds > 16)
        rounds = 16;
    size_t nq = bench_quick() ? 2000 : 20000;
    ca_agent_id out[20];
    for (int r = 0; r < rounds; r++) {
        size_t got = 0;
        double a = bench_now();
        for (size_t i = 0; i < nq; i++) {
            ca_agent_id target;
            rand_id(&target);
            size_t cnt = 0;
            (void)ca_kad_closest(kad, &target, out, 20, &cnt);
            got += cnt;
        }
        med[r] = (bench_now() - a) * 1e9 / (double)nq;
        bench_consume(&got, sizeof got);
    }
    bench_figure("kad_closest_ns", bench_median(med, (size_t)rounds), "ns");
    ca_kad_free(kad);
}

/* Milliseconds to add `cards` entries of 16 names each; names[card * 16 + j]. */
static double time_name_adds(char (*names)[24], size_t cards, int shared)
{
    ca_routing *rt = NULL;
    if (ca_routing_new(&rt, NULL) != CA_OK)
        return -1;
    double t0 = bench_now();
    for (size_t i = 0; i < cards; i++) {
        cai_routing_capability caps[16];
        for (size_t j = 0; j < 16; j++) {
            const char *n = names[(shared ? 0 : i * 16) + j];
            caps[j] = (cai_routing_capability){n, strlen(n), 100 + j, 0};
        }
        ca_agent_id id;
        rand_id(&id);
        cai_routing_entry e = {id, 1,    0,  UINT64_MAX, 1000, "sybil", 5, (const uint8_t *)"e",
                               1,  caps, 16, NULL};
        if (cai_routing_add_entry(rt, &e, 1) != CA_OK) {
            fprintf(stderr, "bench_routing: name add failed: %s\n", ca_last_error());
            ca_routing_free(rt);
            return -1;
        }
    }
    double ms = (bench_now() - t0) * 1e3;
    ca_routing_free(rt);
    return ms;
}

typedef struct name_side {
    char (*names)[24];
    size_t cards;
    int shared;
} name_side;

static double name_adds(void *ctx)
{
    const name_side *s = ctx;
    return time_name_adds(s->names, s->cards, s->shared);
}

static void bench_name_flood(size_t cards)
{
    char(*names)[24] = malloc(cards * 16 * sizeof *names);
    if (names == NULL)
        return;
    for (size_t n = 0; n < cards * 16; n++) /* descending: each new name sorts first */
        snprintf(names[n], sizeof names[n], "flood.n%07zu", cards * 16 - 1 - n);
    name_side fresh = {names, cards, 0}, shared = {names, cards, 1};
    bench_pair pair;
    if (bench_interleave(bench_rounds(), name_adds, &fresh, name_adds, &shared, &pair) == 0) {
        bench_figure("route_names_fresh_ms", pair.num, "ms");
        bench_figure("route_names_shared_ms", pair.den, "ms");
        bench_figure("route_names_fresh_vs_shared", pair.ratio, "x");
    }
    free(names);
}

void bench_routing(void)
{
    bench_name_flood(8000);
    size_t div = bench_quick() ? 50 : 1;
    bench_registry(1000000 / div, 1000 / (div > 1 ? 10 : 1));
    bench_kad(1000000 / div);
}
