/* Reputation: weights, refusals, Beta math, decay, EigenTrust against a dense reference,
 * convergence, warm start, determinism, top N, snapshots, pruning. */
#include <stdlib.h>

#include <sodium.h>

#include "cyberagent.h"
#include "reputation/reputation_internal.h"
#include "routing/routing_internal.h"
#include "task_helpers.h"
#include "test_util.h"

#define HOUR_MS (3600ull * 1000)
#define T0_MS   (1700000000ull * 1000) /* a whole second */

/* Deterministic ids whose byte order differs from their creation order. */
static ca_agent_id agent(uint32_t n)
{
    ca_agent_id id;
    uint64_t x = (uint64_t)n * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    for (size_t i = 0; i < CA_AGENT_ID_BYTES; i++) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        id.bytes[i] = (uint8_t)(x >> 56);
    }
    return id;
}

static ca_hash task(uint64_t n)
{
    ca_hash h;
    memset(&h, 0xA5, sizeof h);
    uint64_t x = n * 0xD6E8FEB86659FD93ull + 7;
    for (int i = 0; i < 8; i++)
        h.bytes[i] = (uint8_t)(x >> (8 * i));
    return h;
}

/* test_golden_bits: measured on x86-64 (gcc 12 at -O0, -O2 and with ASan, clang 14 at -O2 and at
 * -O3 -march=native all agree). */
#define GOLDEN_COLD_ITERATIONS  25
#define GOLDEN_WARM_ITERATIONS  21
#define GOLDEN_SNAPSHOT_BLAKE2B "01490071778e378c05790fccb605759af9d8862a7a1134904e76ea95d774e311"

static uint64_t rng_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static ca_reputation *new_rep_tol(double tol)
{
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.tolerance = tol;
    o.max_iterations = 1000;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &o));
    return rep;
}

static ca_reputation *new_rep(void)
{
    return new_rep_tol(1e-13);
}

static void add(ca_reputation *rep, uint64_t t, uint32_t from, uint32_t to, uint32_t rating,
                uint64_t amount, uint64_t time_ms)
{
    ca_hash h = task(t);
    ca_agent_id a = agent(from), b = agent(to);
    assert_ok(ca_reputation_add_rating(rep, &h, &a, &b, rating, amount, time_ms));
}

static ca_reputation_score score_of(const ca_reputation *rep, uint32_t n)
{
    ca_agent_id id = agent(n);
    ca_reputation_score s;
    assert_ok(ca_reputation_get(rep, &id, &s, sizeof(ca_reputation_score)));
    return s;
}

static void test_options_and_lifecycle(void **state)
{
    (void)state;
    ca_reputation_free(NULL);
    ca_reputation_options o;
    assert_status(CA_ERR_UNSUPPORTED, ca_reputation_options_init(&o, 99));
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    ca_reputation *rep = NULL;
    o.damping_ppm = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_new(&rep, &o));
    assert_null(rep);
    o.damping_ppm = 150000;
    o.half_life_ms = 10;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_new(&rep, &o));
    o.half_life_ms = HOUR_MS;
    o.tolerance = 0.0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_new(&rep, &o));
    assert_ok(ca_reputation_new(&rep, NULL));
    assert_int_equal(ca_reputation_agent_count(rep), 0);
    ca_reputation_stats st = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, T0_MS, &st));
    assert_int_equal(st.agents, 0);
    assert_string_equal(ca_status_str(CA_ERR_DUPLICATE_RATING), "CA_ERR_DUPLICATE_RATING");
    ca_reputation_free(rep);
}

static void test_weight(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    assert_int_equal(cai_reputation_weight(rep, 0), 0);
    assert_int_equal(cai_reputation_weight(rep, 1), 1);
    assert_int_equal(cai_reputation_weight(rep, 3), 1);
    assert_int_equal(cai_reputation_weight(rep, 4), 2);
    assert_int_equal(cai_reputation_weight(rep, 99), 9);
    assert_int_equal(cai_reputation_weight(rep, 100), 10);
    assert_int_equal(cai_reputation_weight(rep, 0xFFFFFFFFull * 0xFFFFFFFFull), 0x1FFFFFF);
    assert_int_equal(cai_reputation_weight(rep, UINT64_MAX), CA_REPUTATION_WEIGHT_MAX);
    /* Monotone and exactly the integer square root. */
    for (uint64_t a = 0; a < 5000; a++) {
        uint64_t w = cai_reputation_weight(rep, a);
        assert_true(w * w <= a && (w + 1) * (w + 1) > a);
    }
    ca_reputation_free(rep);

    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.unit_amount = 10;
    assert_ok(ca_reputation_new(&rep, &o));
    assert_int_equal(cai_reputation_weight(rep, 9), 0);
    assert_int_equal(cai_reputation_weight(rep, 40), 2);
    ca_hash h = task(1);
    ca_agent_id a = agent(1), b = agent(2);
    assert_status(CA_ERR_UNPAID_RATING, ca_reputation_add_rating(rep, &h, &a, &b, 100, 9, T0_MS));
    assert_ok(ca_reputation_add_rating(rep, &h, &a, &b, 100, 10, T0_MS));
    ca_reputation_free(rep);
}

static void test_refusals_change_nothing(void **state)
{
    (void)state;
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.max_agents = 3;
    o.max_ratings = 3;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &o));
    ca_hash h1 = task(1), h2 = task(2), h3 = task(3), h4 = task(4), h5 = task(5);
    ca_agent_id a = agent(1), b = agent(2), c = agent(3), d = agent(4);
    assert_ok(ca_reputation_add_rating(rep, &h1, &a, &b, 90, 100, T0_MS));
    assert_status(CA_ERR_SELF_RATING, ca_reputation_add_rating(rep, &h2, &a, &a, 100, 100, T0_MS));
    /* One rating per task, whoever submits it. */
    assert_status(CA_ERR_DUPLICATE_RATING,
                  ca_reputation_add_rating(rep, &h1, &a, &b, 90, 100, T0_MS));
    assert_status(CA_ERR_DUPLICATE_RATING,
                  ca_reputation_add_rating(rep, &h1, &c, &b, 10, 100, T0_MS));
    assert_status(CA_ERR_UNPAID_RATING, ca_reputation_add_rating(rep, &h2, &a, &b, 90, 0, T0_MS));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_reputation_add_rating(rep, &h2, &a, &b, 101, 100, T0_MS));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_reputation_add_rating(rep, &h2, &a, &b, 50, 100, (UINT32_MAX + 1ull) * 1000));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_reputation_add_rating(rep, NULL, &a, &b, 50, 100, T0_MS));
    assert_int_equal(ca_reputation_agent_count(rep), 2);
    assert_int_equal(ca_reputation_rating_count(rep), 1);
    assert_ok(ca_reputation_add_rating(rep, &h2, &b, &c, 80, 100, T0_MS));
    /* A fourth agent is over max_agents: nothing changes, the task stays unrated. */
    assert_status(CA_ERR_LIMIT, ca_reputation_add_rating(rep, &h3, &a, &d, 80, 100, T0_MS));
    assert_status(CA_ERR_LIMIT, ca_reputation_set_stake(rep, &d, 5));
    assert_int_equal(ca_reputation_agent_count(rep), 3);
    assert_ok(ca_reputation_add_rating(rep, &h3, &c, &a, 80, 100, T0_MS));
    assert_status(CA_ERR_LIMIT, ca_reputation_add_rating(rep, &h4, &c, &b, 80, 100, T0_MS));
    assert_int_equal(ca_reputation_rating_count(rep), 3);
    ca_agent_id missing = agent(77);
    ca_reputation_score s;
    assert_status(CA_ERR_NOT_FOUND,
                  ca_reputation_get(rep, &missing, &s, sizeof(ca_reputation_score)));
    (void)h5;
    ca_reputation_free(rep);
}

/* ca_reputation_add_rating and _add_offense answer the first broken rule in
 * the order reputation.h gives: a call breaking several rules at once. */
static void test_refusal_order(void **state)
{
    (void)state;
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.max_agents = 2;
    o.max_ratings = 1;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &o));
    ca_hash h1 = task(1), h2 = task(2);
    ca_agent_id a = agent(1), b = agent(2), c = agent(3);
    assert_ok(ca_reputation_add_rating(rep, &h1, &a, &b, 90, 100, T0_MS));
    /* Arguments before the self-rating, which comes before the weight. */
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_reputation_add_rating(rep, &h1, &a, &a, CA_TASK_RATING_MAX + 1, 0, T0_MS));
    assert_status(CA_ERR_SELF_RATING, ca_reputation_add_rating(rep, &h1, &a, &a, 90, 0, T0_MS));
    /* The weight before the duplicate, the duplicate before the limits. */
    assert_status(CA_ERR_UNPAID_RATING, ca_reputation_add_rating(rep, &h1, &c, &b, 90, 0, T0_MS));
    assert_status(CA_ERR_DUPLICATE_RATING,
                  ca_reputation_add_rating(rep, &h1, &c, &b, 90, 100, T0_MS));
    /* max_ratings (one task taken) before max_agents (c would be a third agent). */
    assert_status(CA_ERR_LIMIT, ca_reputation_add_rating(rep, &h2, &c, &b, 90, 100, T0_MS));
    assert_string_equal(ca_last_error(), "reputation has taken max_ratings (1) tasks");

    /* Offenses: arguments, then the duplicate, then max_ratings before max_agents. */
    ca_hash ref = task(9), ref2 = task(10);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_offense(rep, 4, &ref, &c, T0_MS));
    assert_ok(ca_reputation_add_offense(rep, 1, &ref, &b, T0_MS)); /* max_ratings (1) reached */
    assert_status(CA_ERR_DUPLICATE_OFFENSE, ca_reputation_add_offense(rep, 1, &ref, &b, T0_MS));
    assert_status(CA_ERR_LIMIT, ca_reputation_add_offense(rep, 2, &ref2, &c, T0_MS));
    assert_string_equal(ca_last_error(), "reputation holds max_ratings (1) offenses");
    ca_reputation_free(rep);
}

static void test_decay(void **state)
{
    (void)state;
    const uint64_t h = 7 * 24 * HOUR_MS;
    assert_true(cai_reputation_decay_q32(0, h) == 1ull << 32);
    assert_true(cai_reputation_decay_q32(h, h) == 1ull << 31);
    assert_true(cai_reputation_decay_q32(3 * h, h) == 1ull << 29);
    assert_true(cai_reputation_decay_q32(h / 2, h) == 3037000500u); /* 2^-1/2, rounded */
    assert_true(cai_reputation_decay_q32(33 * h, h) == 0);
    assert_true(cai_reputation_decay_q32(UINT64_MAX, h) == 0);
    /* Monotone non-increasing, and within 1e-8 of 2^(-x) at quarter points. */
    uint64_t prev = 1ull << 32;
    for (uint64_t d = 0; d < 4 * h; d += h / 997) {
        uint64_t v = cai_reputation_decay_q32(d, h);
        assert_true(v <= prev);
        prev = v;
    }
    const double quarter[4] = {1.0, 0.8408964152537145, 0.7071067811865476, 0.5946035575013605};
    for (int q = 0; q < 4; q++) {
        double got = (double)cai_reputation_decay_q32((uint64_t)q * (h / 4), h) / 4294967296.0;
        assert_true(got - quarter[q] < 1e-8 && quarter[q] - got < 1e-8);
    }
}

/* The table path of an update gives exactly the bits of the step-by-step decay. */
static void test_decay_table(void **state)
{
    (void)state;
    uint32_t *table = malloc(CAI_DECAY_TABLE_SIZE * sizeof *table);
    assert_non_null(table);
    cai_reputation_decay_table_init(table);
    const uint64_t hs[] = {1000,       7 * 24 * HOUR_MS, 30 * 24 * HOUR_MS, 1000003,
                           1ull << 40, (1ull << 47) - 1, 1ull << 47};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        const uint64_t h = hs[i];
        const uint64_t edge[] = {0,          1,          h - 1,  h,          h + 1,
                                 32 * h,     33 * h - 1, 33 * h, 33 * h + 1, (1ull << 47) - 1,
                                 1ull << 47, UINT64_MAX};
        for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
            assert_true(cai_reputation_decay_lookup(table, edge[e], h) ==
                        cai_reputation_decay_q32(edge[e], h));
        for (int k = 0; k < 20000; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            const uint64_t d = (x >> 11) % (34 * h);
            assert_true(cai_reputation_decay_lookup(table, d, h) == cai_reputation_decay_q32(d, h));
        }
    }
    /* Every fraction of one half-life of 2^16 ms: each table entry once. */
    for (uint64_t d = 0; d < CAI_DECAY_TABLE_SIZE; d++)
        assert_true(cai_reputation_decay_lookup(table, d, CAI_DECAY_TABLE_SIZE) ==
                    cai_reputation_decay_q32(d, CAI_DECAY_TABLE_SIZE));
    free(table);
}

static void test_beta(void **state)
{
    (void)state;
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.half_life_ms = 10 * HOUR_MS;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &o));
    /* Before any update: no evidence. */
    add(rep, 1, 1, 2, 100, 1, T0_MS);
    ca_reputation_score s = score_of(rep, 2);
    assert_true(s.expected == 0.5 && s.uncertainty == 1.0 && s.global == 0.0);

    assert_ok(ca_reputation_update(rep, T0_MS, NULL));
    s = score_of(rep, 2);
    assert_true(s.positive == 1.0 && s.negative == 0.0);
    assert_true(s.expected == 2.0 / 3.0);
    assert_true(s.uncertainty == 2.0 / 3.0);
    assert_int_equal(s.ratings_received, 1);
    assert_int_equal(score_of(rep, 1).ratings_given, 1);

    /* weight 4 (amount 16), rating 75: r += 3, s += 1. */
    add(rep, 2, 3, 2, 75, 16, T0_MS);
    /* rating 0 from another hirer: all negative. */
    add(rep, 3, 1, 4, 0, 1, T0_MS);
    assert_ok(ca_reputation_update(rep, T0_MS, NULL));
    s = score_of(rep, 2);
    assert_true(s.positive == 4.0 && s.negative == 1.0);
    assert_true(s.expected == 5.0 / 7.0);
    assert_true(score_of(rep, 4).expected == 1.0 / 3.0);

    /* One half-life later every piece of evidence has halved. */
    assert_ok(ca_reputation_update(rep, T0_MS + 10 * HOUR_MS, NULL));
    s = score_of(rep, 2);
    assert_true(s.positive == 2.0 && s.negative == 0.5);
    assert_true(s.expected == 3.0 / 4.5);
    /* Ratings time-stamped after `now` count in full, never more. */
    add(rep, 4, 5, 6, 100, 1, T0_MS + 100 * HOUR_MS);
    assert_ok(ca_reputation_update(rep, T0_MS, NULL));
    assert_true(score_of(rep, 6).positive == 1.0);
    /* Long after, the evidence is gone and the agent is back to no evidence. */
    assert_ok(ca_reputation_update(rep, T0_MS + 400 * HOUR_MS, NULL));
    s = score_of(rep, 2);
    assert_true(s.positive == 0.0 && s.negative == 0.0 && s.expected == 0.5);
    ca_reputation_free(rep);
}

/* ---- EigenTrust against a dense reference ---- */

#define DN 7

static void dense_reference(double s[DN][DN], const double p[DN], double a, double out[DN])
{
    double c[DN][DN];
    for (int i = 0; i < DN; i++) {
        double sum = 0;
        for (int j = 0; j < DN; j++)
            sum += s[i][j] > 0 ? s[i][j] : 0;
        for (int j = 0; j < DN; j++)
            c[i][j] = sum > 0 ? (s[i][j] > 0 ? s[i][j] : 0) / sum : p[j]; /* dangling -> p */
    }
    double t[DN];
    memcpy(t, p, sizeof t);
    for (int it = 0; it < 10000; it++) {
        double tn[DN];
        for (int j = 0; j < DN; j++) {
            double acc = 0;
            for (int i = 0; i < DN; i++)
                acc += c[i][j] * t[i];
            tn[j] = (1 - a) * acc + a * p[j];
        }
        memcpy(t, tn, sizeof t);
    }
    memcpy(out, t, sizeof t);
}

/* One update of agents 0..DN-1; their scores must match a dense reference and sum to 1. */
static void update_matches_dense(ca_reputation *rep, const double *ref)
{
    ca_reputation_stats st = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, T0_MS, &st));
    assert_true(st.converged);
    double sum = 0;
    for (int i = 0; i < DN; i++) {
        double g = score_of(rep, (uint32_t)i).global;
        sum += g;
        if (!(g - ref[i] < 1e-10 && ref[i] - g < 1e-10))
            fail_msg("agent %d: got %.17g, dense reference %.17g", i, g, ref[i]);
    }
    assert_true(sum > 1 - 1e-12 && sum < 1 + 1e-12);
}

static void check_against_dense(int pre_mask, const uint64_t stake[DN])
{
    ca_reputation *rep = new_rep();
    double s[DN][DN] = {{0}};
    uint64_t seed = 42, tn = 1;
    for (int k = 0; k < 30; k++) {
        uint32_t i = (uint32_t)(rng_next(&seed) % DN), j = (uint32_t)(rng_next(&seed) % DN);
        if (i == j || i == DN - 1) /* agent DN-1 never rates: a dangling row */
            continue;
        uint32_t v = (uint32_t)(rng_next(&seed) % 101);
        uint64_t amount = 1 + rng_next(&seed) % 400;
        add(rep, tn++, i, j, v, amount, T0_MS);
        double w = (double)cai_reputation_weight(rep, amount);
        s[i][j] += w * (2.0 * v - 100.0);
    }
    double p[DN], total_stake = 0;
    int pre = 0;
    for (int i = 0; i < DN; i++) {
        ca_agent_id id = agent((uint32_t)i);
        assert_ok(ca_reputation_set_stake(rep, &id, stake[i]));
        assert_ok(ca_reputation_set_pretrusted(rep, &id, (pre_mask >> i) & 1));
        total_stake += (double)stake[i];
        pre += (pre_mask >> i) & 1;
    }
    for (int i = 0; i < DN; i++) {
        double vp = pre ? (((pre_mask >> i) & 1) ? 1.0 / pre : 0) : 0;
        double vs = total_stake > 0 ? (double)stake[i] / total_stake : 0;
        if (pre && total_stake > 0)
            p[i] = 0.5 * vp + 0.5 * vs;
        else if (pre)
            p[i] = vp;
        else if (total_stake > 0)
            p[i] = vs;
        else
            p[i] = 1.0 / DN;
    }
    double ref[DN];
    dense_reference(s, p, 0.15, ref);
    update_matches_dense(rep, ref);
    ca_reputation_free(rep);
}

static void test_eigentrust_dense(void **state)
{
    (void)state;
    const uint64_t none[DN] = {0}, some[DN] = {0, 500, 0, 1500, 0, 0, 1000};
    check_against_dense(0, none);    /* uniform teleport */
    check_against_dense(0x5, none);  /* pre-trusted only */
    check_against_dense(0, some);    /* stake only */
    check_against_dense(0x42, some); /* both, half and half */
}

/* Random market: n agents, m ratings, mostly positive. */
static void fill_random(ca_reputation *rep, uint32_t n, uint32_t m, uint64_t seed, uint64_t first)
{
    for (uint32_t k = 0; k < m; k++) {
        uint32_t i = (uint32_t)(rng_next(&seed) % n), j = (uint32_t)(rng_next(&seed) % n);
        if (i == j)
            j = (j + 1) % n;
        uint32_t v =
            (uint32_t)(rng_next(&seed) % 4 == 0 ? rng_next(&seed) % 50 : 60 + rng_next(&seed) % 41);
        /* Separate statements: the order in which arguments are evaluated is unspecified. */
        uint64_t amount = 1 + rng_next(&seed) % 10000;
        uint64_t time_ms = T0_MS + (rng_next(&seed) % 1000) * 60000;
        add(rep, first + k, i, j, v, amount, time_ms);
    }
}

static void test_convergence_and_warm_start(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep_tol(1e-8);
    fill_random(rep, 300, 3000, 7, 1);
    for (uint32_t i = 0; i < 5; i++) {
        ca_agent_id id = agent(i);
        assert_ok(ca_reputation_set_pretrusted(rep, &id, 1));
    }
    ca_reputation_stats cold = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, T0_MS + 1000 * 60000, &cold));
    assert_true(cold.converged);
    assert_true(cold.l1_change < 1e-8);
    assert_true(cold.iterations > 5);
    assert_int_equal(cold.ratings, 3000);
    double sum = 0;
    for (uint32_t i = 0; i < 300; i++)
        sum += score_of(rep, i).global;
    assert_true(sum > 1 - 1e-12 && sum < 1 + 1e-12);

    /* A few new receipts: the warm update needs fewer iterations than a cold one. */
    fill_random(rep, 300, 10, 99, 100000);
    ca_reputation_stats warm = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, T0_MS + 1000 * 60000, &warm));
    assert_true(warm.converged);
    ca_reputation *cold_rep = new_rep_tol(1e-8);
    fill_random(cold_rep, 300, 3000, 7, 1);
    fill_random(cold_rep, 300, 10, 99, 100000);
    for (uint32_t i = 0; i < 5; i++) {
        ca_agent_id id = agent(i);
        assert_ok(ca_reputation_set_pretrusted(cold_rep, &id, 1));
    }
    ca_reputation_stats cold2 = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(cold_rep, T0_MS + 1000 * 60000, &cold2));
    print_message("cold %u iterations, warm after 10 new ratings %u\n", cold2.iterations,
                  warm.iterations);
    assert_true(warm.iterations < cold2.iterations);
    for (uint32_t i = 0; i < 300; i++) {
        double a = score_of(rep, i).global, b = score_of(cold_rep, i).global;
        assert_true(a - b < 1e-8 && b - a < 1e-8);
    }
    /* The iteration cap is honoured and reported. */
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.max_iterations = 2;
    o.tolerance = 1e-15;
    ca_reputation *capped = NULL;
    assert_ok(ca_reputation_new(&capped, &o));
    fill_random(capped, 300, 3000, 7, 1);
    ca_reputation_stats cs = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(capped, T0_MS, &cs));
    assert_int_equal(cs.iterations, 2);
    assert_false(cs.converged);
    ca_reputation_free(capped);
    ca_reputation_free(cold_rep);
    ca_reputation_free(rep);
}

/*
 * Golden bits: a fixed market, a cold and a warm update, and the BLAKE2b-256
 * of the exported snapshot (every score's binary64 bits, the Beta evidence,
 * the canonical rating order). The promise is the same bits on every
 * platform and build; this pins them, so a build (compiler, flags, CPU) or a
 * change to the arithmetic that moves a single bit fails here. Only a
 * deliberate, documented change of the scoring formulas may update it.
 */
static void test_golden_bits(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep_tol(1e-12);
    fill_random(rep, 500, 8000, 11, 1);
    for (uint32_t i = 0; i < 500; i++) {
        ca_agent_id id = agent(i);
        if (i < 5)
            assert_ok(ca_reputation_set_pretrusted(rep, &id, 1));
        if (i % 9 == 0)
            assert_ok(ca_reputation_set_stake(rep, &id, 1000 + 37ull * i));
    }
    ca_reputation_stats cold = {.version = CA_REPUTATION_STATS_VERSION},
                        warm = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, T0_MS + 800 * 60000, &cold));
    fill_random(rep, 500, 50, 12, 100000);
    assert_ok(ca_reputation_update(rep, T0_MS + 2000 * 60000, &warm));
    size_t len = 0;
    assert_int_equal(ca_reputation_snapshot_export(rep, NULL, 0, &len), CA_ERR_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_ok(ca_reputation_snapshot_export(rep, buf, len, &len));
    uint8_t h[32];
    crypto_generichash(h, sizeof h, buf, len, NULL, 0);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    print_message("golden: %u + %u iterations, snapshot %zu bytes, BLAKE2b %s\n", cold.iterations,
                  warm.iterations, len, hex);
    assert_int_equal(cold.iterations, GOLDEN_COLD_ITERATIONS);
    assert_int_equal(warm.iterations, GOLDEN_WARM_ITERATIONS);
    assert_string_equal(hex, GOLDEN_SNAPSHOT_BLAKE2B);
    free(buf);
    ca_reputation_free(rep);
}

/*
 * The spec: scores are a function of the set of ratings, stakes and flags, not
 * of the order they arrived in. Two handles fed the same data in different
 * orders give bit-identical doubles.
 */
static void test_order_independent_bits(void **state)
{
    (void)state;
    enum { N = 120, M = 1500 };
    struct r {
        uint32_t i, j, v;
        uint64_t amount, time;
    } *rs = malloc(M * sizeof *rs);
    assert_non_null(rs);
    uint64_t seed = 5;
    for (uint32_t k = 0; k < M; k++) {
        rs[k].i = (uint32_t)(rng_next(&seed) % N);
        rs[k].j = (uint32_t)(rng_next(&seed) % N);
        if (rs[k].i == rs[k].j)
            rs[k].j = (rs[k].j + 1) % N;
        rs[k].v = (uint32_t)(rng_next(&seed) % 101);
        rs[k].amount = 1 + rng_next(&seed) % 100000;
        rs[k].time = T0_MS + (rng_next(&seed) % 5000) * 1000;
    }
    ca_reputation *a = new_rep(), *b = new_rep();
    for (uint32_t k = 0; k < M; k++)
        add(a, k, rs[k].i, rs[k].j, rs[k].v, rs[k].amount, rs[k].time);
    for (uint32_t n = 0; n < N; n += 7) {
        ca_agent_id id = agent(n);
        assert_ok(ca_reputation_set_stake(a, &id, 1000 + n));
    }
    /* b: stakes first, ratings in reverse. */
    for (uint32_t n = 0; n < N; n += 7) {
        ca_agent_id id = agent(n);
        assert_ok(ca_reputation_set_stake(b, &id, 1000 + n));
    }
    for (uint32_t k = M; k-- > 0;)
        add(b, k, rs[k].i, rs[k].j, rs[k].v, rs[k].amount, rs[k].time);
    for (int round = 0; round < 2; round++) {
        uint64_t now = T0_MS + 6000 * 1000 + (uint64_t)round * 24 * HOUR_MS;
        ca_reputation_stats sa = {.version = CA_REPUTATION_STATS_VERSION},
                            sb = {.version = CA_REPUTATION_STATS_VERSION};
        assert_ok(ca_reputation_update(a, now, &sa));
        assert_ok(ca_reputation_update(b, now, &sb));
        assert_int_equal(sa.iterations, sb.iterations);
        for (uint32_t n = 0; n < N; n++) {
            ca_reputation_score x = score_of(a, n), y = score_of(b, n);
            assert_memory_equal(&x.global, &y.global, sizeof x.global);
            assert_memory_equal(&x.positive, &y.positive, sizeof x.positive);
            assert_memory_equal(&x.negative, &y.negative, sizeof x.negative);
            assert_memory_equal(&x.expected, &y.expected, sizeof x.expected);
        }
    }
    free(rs);
    ca_reputation_free(a);
    ca_reputation_free(b);
}

static void test_top(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    fill_random(rep, 50, 600, 11, 1);
    assert_ok(ca_reputation_update(rep, T0_MS, NULL));
    size_t len = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ca_reputation_top(rep, 10, NULL, sizeof(ca_reputation_score), 0, &len));
    assert_int_equal(len, 10);
    ca_reputation_score top[60];
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ca_reputation_top(rep, 10, top, sizeof(ca_reputation_score), 9, &len));
    assert_ok(ca_reputation_top(rep, 10, top, sizeof(ca_reputation_score), 60, &len));
    assert_int_equal(len, 10);
    ca_reputation_score all[60];
    assert_ok(ca_reputation_top(rep, 1000, all, sizeof(ca_reputation_score), 60, &len));
    assert_int_equal(len, 50);
    for (size_t i = 1; i < len; i++)
        assert_true(all[i - 1].global > all[i].global ||
                    (all[i - 1].global == all[i].global &&
                     memcmp(all[i - 1].agent.bytes, all[i].agent.bytes, 32) < 0));
    for (size_t i = 0; i < 10; i++)
        assert_memory_equal(&top[i], &all[i], sizeof top[i]);
    /* Fewer than 10 agents beat the 10th. */
    int above = 0;
    for (uint32_t n = 0; n < 50; n++)
        above += score_of(rep, n).global > top[9].global;
    assert_true(above < 10);
    assert_ok(ca_reputation_top(rep, 0, NULL, sizeof(ca_reputation_score), 0, &len));
    assert_int_equal(len, 0);
    ca_reputation_free(rep);
}

/* Sybils with no trusted path get nothing from a pre-trusted teleport. */
static void test_sybil_ring_isolated(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    uint64_t tn = 1;
    /* Honest cluster 0..9, pre-trusted 0 and 1. */
    for (uint32_t i = 0; i < 10; i++)
        for (uint32_t j = 0; j < 10; j++)
            if (i != j)
                add(rep, tn++, i, j, 90, 100, T0_MS);
    /* A ring of 20 sybils 100..119 rating each other perfectly with big payments. */
    for (uint32_t i = 100; i < 120; i++)
        for (uint32_t j = 100; j < 120; j++)
            if (i != j)
                add(rep, tn++, i, j, 100, 1000000, T0_MS);
    for (uint32_t i = 0; i < 2; i++) {
        ca_agent_id id = agent(i);
        assert_ok(ca_reputation_set_pretrusted(rep, &id, 1));
    }
    assert_ok(ca_reputation_update(rep, T0_MS, NULL));
    for (uint32_t i = 100; i < 120; i++)
        assert_true(score_of(rep, i).global == 0.0);
    assert_true(score_of(rep, 5).global > 0.05);
    ca_reputation_free(rep);
}

/*
 * The iteration tiles are a storage layout only: any block size gives
 * the same bits as one block (a plain column-by-column loop). The default
 * block puts all edges in one tile (the eight-edge path of the inner loop);
 * the tiny blocks give tiles of a few edges (the one-edge tail).
 */
static void test_blocks_do_not_change_bits(void **state)
{
    (void)state;
    uint32_t dshift[3] = {CAI_DST_SHIFT, 3, 1}, sshift[3] = {CAI_SRC_SHIFT, 2, 0};
    ca_reputation *reps[3];
    for (int r = 0; r < 3; r++) {
        reps[r] = new_rep();
        reps[r]->dst_shift = dshift[r];
        reps[r]->src_shift = sshift[r];
        fill_random(reps[r], 200, 4000, 21, 1);
        ca_agent_id id = agent(7);
        assert_ok(ca_reputation_set_pretrusted(reps[r], &id, 1));
        ca_reputation_stats st = {.version = CA_REPUTATION_STATS_VERSION};
        assert_ok(ca_reputation_update(reps[r], T0_MS + 3600000, &st));
        assert_true(st.converged);
    }
    for (uint32_t n = 0; n < 200; n++) {
        ca_reputation_score a = score_of(reps[0], n);
        for (int r = 1; r < 3; r++) {
            ca_reputation_score b = score_of(reps[r], n);
            assert_memory_equal(&a.global, &b.global, sizeof a.global);
        }
    }
    for (int r = 0; r < 3; r++)
        ca_reputation_free(reps[r]);
}

/* A settled task thread rates its worker once: rater = requester, weight from `paid`. */
static void test_receipt_from_task_thread(void **state)
{
    (void)state;
    ca_identity *req = NULL, *w1 = NULL, *w2 = NULL;
    uint8_t s1[32] = {11}, s2[32] = {12}, s3[32] = {13};
    assert_ok(ca_identity_from_seed(&req, s1));
    assert_ok(ca_identity_from_seed(&w1, s2));
    assert_ok(ca_identity_from_seed(&w2, s3));
    ca_agent_id rid, wid;
    ca_identity_id(req, &rid);
    ca_identity_id(w1, &wid);
    th_hire h;
    assert_ok(th_build_hire(&h, req, w1, w2, 0));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &h.request, TH_T0 + 10));
    assert_ok(th_apply(t, &h.bid1, TH_T0 + 110));
    assert_ok(th_apply(t, &h.bid2, TH_T0 + 210));
    assert_ok(th_apply(t, &h.award, TH_T0 + 310));
    assert_ok(th_apply(t, &h.result, TH_T0 + 1010));

    ca_reputation *rep = new_rep();
    /* Not settled yet: nothing to rate. */
    assert_status(CA_ERR_STATE, ca_reputation_add_receipt(rep, t));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_receipt(rep, NULL));
    assert_ok(th_apply(t, &h.receipt, TH_T0 + 2010));
    assert_ok(ca_reputation_add_receipt(rep, t));
    assert_status(CA_ERR_DUPLICATE_RATING, ca_reputation_add_receipt(rep, t));
    assert_int_equal(ca_reputation_rating_count(rep), 1);
    assert_ok(ca_reputation_update(rep, TH_T0 + 2000, NULL));
    ca_reputation_score s;
    assert_ok(ca_reputation_get(rep, &wid, &s, sizeof(ca_reputation_score)));
    /* rating 90, paid 80: weight isqrt(80) = 8, so r = 7.2 and s = 0.8. */
    assert_int_equal(s.ratings_received, 1);
    assert_true(s.positive > 7.2 - 1e-9 && s.positive < 7.2 + 1e-9);
    assert_true(s.negative > 0.8 - 1e-9 && s.negative < 0.8 + 1e-9);
    assert_ok(ca_reputation_get(rep, &rid, &s, sizeof(ca_reputation_score)));
    assert_int_equal(s.ratings_given, 1);
    /* The same task offered as plain fields is a duplicate too. */
    ca_hash task_id;
    ca_task_id(t, &task_id);
    assert_status(CA_ERR_DUPLICATE_RATING,
                  ca_reputation_add_rating(rep, &task_id, &rid, &wid, 100, 80, TH_T0));
    ca_reputation_free(rep);
    ca_task_free(t);
    ca_identity_free(req);
    ca_identity_free(w1);
    ca_identity_free(w2);
}

/* Extremes: maximal weights piled on one pair, evidence decayed to nothing, huge times. */
static void test_extremes(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    for (uint64_t k = 0; k < 3000; k++)
        add(rep, k, 1, 2, 100, UINT64_MAX, T0_MS);
    add(rep, 5000, 2, 3, 0, UINT64_MAX, 0);
    add(rep, 5001, 3, 1, 55, 1, (uint64_t)UINT32_MAX * 1000);
    ca_reputation_stats st = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, T0_MS, &st));
    assert_true(st.converged);
    double sum = 0;
    for (uint32_t n = 1; n <= 3; n++) {
        ca_reputation_score s = score_of(rep, n);
        assert_true(s.global >= 0 && s.global <= 1);
        assert_true(s.expected > 0 && s.expected < 1);
        sum += s.global;
    }
    assert_true(sum > 1 - 1e-12 && sum < 1 + 1e-12);
    /* Saturated evidence still reads as overwhelming. */
    assert_true(score_of(rep, 2).expected > 0.999999);
    /* Far in the future everything has decayed: no edges, t = p (uniform). */
    assert_ok(ca_reputation_update(rep, UINT64_MAX, &st));
    assert_int_equal(st.edges, 0);
    for (uint32_t n = 1; n <= 3; n++) {
        ca_reputation_score s = score_of(rep, n);
        assert_true(s.positive == 0 && s.negative == 0 && s.expected == 0.5);
        assert_true(s.global > 1.0 / 3 - 1e-12 && s.global < 1.0 / 3 + 1e-12);
    }
    ca_reputation_free(rep);
}

/* ---- snapshots ---- */

static uint8_t *export_all(const ca_reputation *rep, size_t *len)
{
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_reputation_snapshot_export(rep, NULL, 0, len));
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    size_t got = 0;
    assert_ok(ca_reputation_snapshot_export(rep, buf, *len, &got));
    assert_int_equal(got, *len);
    return buf;
}

static void test_snapshot_round_trip(void **state)
{
    (void)state;
    ca_reputation *a = new_rep();
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.tolerance = 1e-13;
    o.max_iterations = 1000;

    /* Empty state round-trips too. */
    size_t len0 = 0;
    uint8_t *snap0 = export_all(a, &len0);
    assert_int_equal(len0, 56 + 32);
    ca_reputation *e = NULL;
    assert_ok(ca_reputation_new(&e, &o));
    assert_ok(ca_reputation_snapshot_import(e, snap0, len0));
    ca_reputation_free(e);
    free(snap0);

    fill_random(a, 40, 300, 3, 1);
    add(a, 0, 1, 2, 100, 5, T0_MS); /* task 0 has fingerprint 7: exercise small values */
    ca_agent_id s1 = agent(3), s2 = agent(41);
    assert_ok(ca_reputation_set_stake(a, &s1, 1000));
    assert_ok(ca_reputation_set_pretrusted(a, &s1, 1));
    assert_ok(ca_reputation_update(a, T0_MS + 3600000, NULL));
    assert_ok(ca_reputation_set_stake(a, &s2, 77)); /* an agent added after the update */
    fill_random(a, 40, 20, 4, 5000);                /* ratings after the update */

    size_t len = 0;
    uint8_t *snap = export_all(a, &len);
    assert_int_equal(len, 56 + 68 * ca_reputation_agent_count(a) +
                              24 * ca_reputation_rating_count(a) + 32);
    ca_reputation *b = NULL;
    assert_ok(ca_reputation_new(&b, &o));
    assert_ok(ca_reputation_snapshot_import(b, snap, len));
    assert_int_equal(ca_reputation_agent_count(b), ca_reputation_agent_count(a));
    assert_int_equal(ca_reputation_rating_count(b), ca_reputation_rating_count(a));
    /* Same answers right after loading, and the same bytes when exported again. */
    for (uint32_t n = 0; n < 42; n++) {
        ca_agent_id id = agent(n);
        ca_reputation_score x, y;
        ca_status st = ca_reputation_get(a, &id, &x, sizeof(ca_reputation_score));
        assert_status(st, ca_reputation_get(b, &id, &y, sizeof(ca_reputation_score)));
        if (st == CA_OK)
            assert_memory_equal(&x, &y, sizeof x);
    }
    size_t len2 = 0;
    uint8_t *snap2 = export_all(b, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(snap, snap2, len);
    /* Duplicates are still refused after a restart. */
    ca_hash h = task(7);
    ca_agent_id x = agent(1), y = agent(2);
    assert_status(CA_ERR_DUPLICATE_RATING, ca_reputation_add_rating(b, &h, &x, &y, 50, 10, T0_MS));
    /* The next update gives bit-identical scores on both. */
    assert_ok(ca_reputation_update(a, T0_MS + 7200000, NULL));
    assert_ok(ca_reputation_update(b, T0_MS + 7200000, NULL));
    for (uint32_t n = 0; n < 42; n++) {
        ca_agent_id id = agent(n);
        ca_reputation_score p, q;
        if (ca_reputation_get(a, &id, &p, sizeof(ca_reputation_score)) != CA_OK)
            continue;
        assert_ok(ca_reputation_get(b, &id, &q, sizeof(ca_reputation_score)));
        assert_memory_equal(&p, &q, sizeof p);
    }
    /* Only into an empty handle with the same scoring options. */
    assert_status(CA_ERR_STATE, ca_reputation_snapshot_import(b, snap, len));
    ca_reputation *c = NULL;
    o.half_life_ms += 1000;
    assert_ok(ca_reputation_new(&c, &o));
    assert_status(CA_ERR_STATE, ca_reputation_snapshot_import(c, snap, len));
    ca_reputation_free(c);
    o.half_life_ms -= 1000;
    o.max_ratings = 10;
    assert_ok(ca_reputation_new(&c, &o));
    assert_status(CA_ERR_LIMIT, ca_reputation_snapshot_import(c, snap, len));
    assert_int_equal(ca_reputation_agent_count(c), 0);
    ca_reputation_free(c);
    free(snap);
    free(snap2);
    ca_reputation_free(a);
    ca_reputation_free(b);
}

/* The same state reached in another order exports the same bytes. */
static void test_snapshot_canonical(void **state)
{
    (void)state;
    ca_reputation *a = new_rep(), *b = new_rep();
    for (uint32_t k = 0; k < 200; k++)
        add(a, k, k % 17, 17 + (k * 5 + 1) % 23, k % 101, 1 + k * 13, T0_MS + k * 1000);
    for (uint32_t k = 200; k-- > 0;)
        add(b, k, k % 17, 17 + (k * 5 + 1) % 23, k % 101, 1 + k * 13, T0_MS + k * 1000);
    assert_ok(ca_reputation_update(a, T0_MS + 500000, NULL));
    assert_ok(ca_reputation_update(b, T0_MS + 500000, NULL));
    size_t la = 0, lb = 0;
    uint8_t *sa = export_all(a, &la), *sb = export_all(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    free(sa);
    free(sb);
    ca_reputation_free(a);
    ca_reputation_free(b);
}

static ca_status try_import(const uint8_t *buf, size_t len)
{
    ca_reputation *r = new_rep();
    ca_status st = ca_reputation_snapshot_import(r, buf, len);
    if (st != CA_OK)
        assert_int_equal(ca_reputation_agent_count(r), 0);
    ca_reputation_free(r);
    return st;
}

static void test_snapshot_rejects_corruption(void **state)
{
    (void)state;
    ca_reputation *a = new_rep();
    fill_random(a, 6, 12, 9, 1);
    assert_ok(ca_reputation_update(a, T0_MS, NULL));
    size_t len = 0;
    uint8_t *snap = export_all(a, &len);
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    assert_ok(try_import(snap, len));
    /* Every single-bit flip anywhere is refused. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, snap, len);
            buf[i] ^= (uint8_t)(1u << bit);
            ca_status st = try_import(buf, len);
            if (st != CA_ERR_REPUTATION_CORRUPT && st != CA_ERR_UNSUPPORTED && st != CA_ERR_LIMIT &&
                st != CA_ERR_STATE)
                fail_msg("flip at %zu bit %d: %s", i, bit, ca_status_str(st));
        }
    }
    /* Every truncation, and one trailing byte. */
    for (size_t l = 0; l < len; l++)
        assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(snap, l));
    memcpy(buf, snap, len);
    buf[len] = 0;
    assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, len + 1));
    /* A newer version is reported as such. */
    memcpy(buf, snap, len);
    buf[4] = CA_REPUTATION_SNAPSHOT_VERSION + 1;
    assert_status(CA_ERR_UNSUPPORTED, try_import(buf, len));
    /* Version 2 without offenses (or 1 with some) is not canonical. */
    buf[4] = 2;
    crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
    assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, len));
    /* Structural errors are found even under a valid checksum. */
    memcpy(buf, snap, len);
    memcpy(buf + 56, snap + 56 + 68, 32); /* first agent id = second: not increasing */
    crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
    assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, len));
    free(buf);
    free(snap);
    ca_reputation_free(a);
}

/* ---- ratings checked against the ledger (ca_reputation_add_settled) ---- */

enum { SX_REQ, SX_W1, SX_W2, SX_AUTH, SX_ARB, SX_N };

/* A settled thread (requester, worker w1, rating 90) and a ledger where every party has funds. */
typedef struct settled_fx {
    ca_identity *who[3];
    ca_agent_id id[SX_N];
    uint64_t nonce[SX_N];
    th_hire h;
    ca_task *t;
    ca_ledger *l;
} settled_fx;

static void sx_op(settled_fx *f, uint32_t type, int signer, int counterparty, uint64_t amount,
                  uint64_t amount2)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = f->id[signer];
    op.nonce = f->nonce[signer] + 1;
    if (counterparty >= 0)
        op.counterparty = f->id[counterparty];
    if (type >= CA_LEDGER_OP_ESCROW_OPEN) /* escrow ops name the award */
        op.ref = f->h.award.id;
    if (type == CA_LEDGER_OP_ESCROW_OPEN)
        op.deadline = TH_T0 + 100000;
    op.amount = amount;
    op.amount2 = amount2;
    assert_ok(ca_ledger_apply(f->l, &op, TH_T0 + 3000, NULL));
    f->nonce[signer]++;
}

/* The receipt says `receipt_paid`; the award's price is 80; a lost dispute jails for jail_ms. */
static void sx_setup_jail(settled_fx *f, uint64_t receipt_paid, uint64_t jail_ms)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32] = {(uint8_t)(21 + i), 0x5e};
        assert_ok(ca_identity_from_seed(&f->who[i], seed));
        ca_identity_id(f->who[i], &f->id[i]);
    }
    memset(f->id[SX_AUTH].bytes, 0xA1, CA_AGENT_ID_BYTES);
    memset(f->id[SX_ARB].bytes, 0xA2, CA_AGENT_ID_BYTES);
    assert_ok(th_build_hire(&f->h, f->who[SX_REQ], f->who[SX_W1], f->who[SX_W2], 0));
    if (receipt_paid != 80)
        assert_ok(th_receipt(&f->h.receipt, f->who[SX_REQ], &f->h.request.id, &f->h.award.id,
                             &f->h.result.id, &f->id[SX_W1], 1, 90, receipt_paid, TH_T0 + 2000));
    assert_ok(th_hire_thread(&f->t, &f->h));
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = f->id[SX_AUTH];
    o.arbiter = f->id[SX_ARB];
    o.jail_dispute = jail_ms;
    assert_ok(ca_ledger_new(&f->l, &o));
    for (int i = SX_REQ; i <= SX_W2; i++)
        sx_op(f, CA_LEDGER_OP_MINT, SX_AUTH, i, 1000, 0);
}

static void sx_setup(settled_fx *f, uint64_t receipt_paid)
{
    sx_setup_jail(f, receipt_paid, 0);
}

static void sx_free(settled_fx *f)
{
    ca_ledger_free(f->l);
    ca_task_free(f->t);
    for (int i = 0; i < 3; i++)
        ca_identity_free(f->who[i]);
}

/* Positive and negative evidence of the worker right after its rating. */
static void sx_expect(const settled_fx *f, ca_reputation *rep, double positive, double negative)
{
    assert_ok(ca_reputation_update(rep, TH_T0 + 2000, NULL));
    ca_reputation_score s;
    assert_ok(ca_reputation_get(rep, &f->id[SX_W1], &s, sizeof(ca_reputation_score)));
    assert_int_equal(s.ratings_received, 1);
    if (!(s.positive > positive - 1e-9 && s.positive < positive + 1e-9 &&
          s.negative > negative - 1e-9 && s.negative < negative + 1e-9))
        fail_msg("evidence %.9f / %.9f, expected %.9f / %.9f", s.positive, s.negative, positive,
                 negative);
}

/* Released: the weight is what the ledger paid; one rating per task, whichever call. */
static void test_settled_released(void **state)
{
    (void)state;
    settled_fx f;
    sx_setup(&f, 80);
    ca_reputation *rep = new_rep();
    assert_status(CA_ERR_LEDGER_UNKNOWN_ESCROW, ca_reputation_add_settled(rep, f.t, f.l));
    sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
    assert_status(CA_ERR_UNPAID_RATING, ca_reputation_add_settled(rep, f.t, f.l)); /* open */
    assert_int_equal(ca_reputation_rating_count(rep), 0);
    sx_op(&f, CA_LEDGER_OP_ESCROW_RELEASE, SX_REQ, -1, 0, 0);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_settled(NULL, f.t, f.l));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_settled(rep, NULL, f.l));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_settled(rep, f.t, NULL));
    assert_ok(ca_reputation_add_settled(rep, f.t, f.l));
    /* rating 90, paid 80 (collateral not counted): weight isqrt(80) = 8. */
    sx_expect(&f, rep, 7.2, 0.8);
    assert_status(CA_ERR_DUPLICATE_RATING, ca_reputation_add_settled(rep, f.t, f.l));
    assert_status(CA_ERR_DUPLICATE_RATING, ca_reputation_add_receipt(rep, f.t));
    assert_int_equal(ca_reputation_rating_count(rep), 1);
    ca_reputation_score s;
    assert_ok(ca_reputation_get(rep, &f.id[SX_REQ], &s, sizeof(ca_reputation_score)));
    assert_int_equal(s.ratings_given, 1);

    /* A thread that is not settled yet has nothing to rate. */
    ca_task *open = NULL;
    assert_ok(th_new(&open, &f.h.request, TH_T0 + 10));
    assert_status(CA_ERR_STATE, ca_reputation_add_settled(rep, open, f.l));
    ca_task_free(open);
    ca_reputation_free(rep);
    sx_free(&f);
}

/* Split: the worker's share of the payment buys the weight; a zero share buys none. */
static void test_settled_split(void **state)
{
    (void)state;
    settled_fx f;
    sx_setup(&f, 80);
    ca_reputation *rep = new_rep();
    sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
    sx_op(&f, CA_LEDGER_OP_ESCROW_SPLIT, SX_ARB, -1, 25, 10);
    assert_ok(ca_reputation_add_settled(rep, f.t, f.l));
    sx_expect(&f, rep, 4.5, 0.5); /* weight isqrt(25) = 5 */
    ca_reputation_free(rep);
    sx_free(&f);

    sx_setup(&f, 80);
    rep = new_rep();
    sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
    sx_op(&f, CA_LEDGER_OP_ESCROW_SPLIT, SX_ARB, -1, 0, 0);
    assert_status(CA_ERR_UNPAID_RATING, ca_reputation_add_settled(rep, f.t, f.l));
    assert_int_equal(ca_reputation_rating_count(rep), 0);
    ca_reputation_free(rep);
    sx_free(&f);
}

/* The receipt's `paid` is a claim; the ledger's payout wins, up or down. */
/* Stake from the ledger: bonded + unbonding, 0 without an account, 0 while jailed. */
static void test_sync_stakes(void **state)
{
    (void)state;
    settled_fx f;
    sx_setup_jail(&f, 80, 5000);
    sx_op(&f, CA_LEDGER_OP_BOND, SX_W1, -1, 300, 0);
    sx_op(&f, CA_LEDGER_OP_BOND, SX_W2, -1, 200, 0);
    sx_op(&f, CA_LEDGER_OP_UNBOND, SX_W2, -1, 50, 0);
    ca_reputation *rep = new_rep();
    ca_agent_id stranger;
    memset(stranger.bytes, 0x77, sizeof stranger.bytes);
    assert_ok(ca_reputation_set_stake(rep, &f.id[SX_W1], 5));
    assert_ok(ca_reputation_set_stake(rep, &f.id[SX_W2], 1));
    assert_ok(ca_reputation_set_stake(rep, &f.id[SX_REQ], 9));
    assert_ok(ca_reputation_set_stake(rep, &stranger, 999));
    assert_int_equal(ca_reputation_sync_stakes(NULL, f.l, 0), CA_ERR_INVALID_ARGUMENT);
    assert_int_equal(ca_reputation_sync_stakes(rep, NULL, 0), CA_ERR_INVALID_ARGUMENT);
    const uint64_t now = TH_T0 + 3000;
    assert_ok(ca_reputation_sync_stakes(rep, f.l, now));
    ca_reputation_score sc;
    assert_ok(ca_reputation_get(rep, &f.id[SX_W1], &sc, sizeof(ca_reputation_score)));
    assert_int_equal(sc.stake, 300);
    assert_ok(ca_reputation_get(rep, &f.id[SX_W2], &sc, sizeof(ca_reputation_score)));
    assert_int_equal(sc.stake, 200); /* 150 bonded + 50 unbonding */
    assert_ok(ca_reputation_get(rep, &f.id[SX_REQ], &sc, sizeof(ca_reputation_score)));
    assert_int_equal(sc.stake, 0); /* an account, nothing bonded */
    assert_ok(ca_reputation_get(rep, &stranger, &sc, sizeof(ca_reputation_score)));
    assert_int_equal(sc.stake, 0);                       /* no account */
    assert_int_equal(ca_reputation_agent_count(rep), 4); /* the ledger's other accounts not added */

    /* The arbiter rules against W1 (10% slashed, jailed 5 s): no stake weight while jailed. */
    sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 20);
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_SLASH;
    op.evidence = CA_LEDGER_EVIDENCE_DISPUTE;
    op.signer = f.id[SX_ARB];
    op.nonce = 1;
    op.counterparty = f.id[SX_W1];
    op.ref = f.h.award.id;
    assert_ok(ca_ledger_apply(f.l, &op, now, NULL));
    ca_ledger_account_info acc = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(f.l, &f.id[SX_W1], &acc));
    assert_true(acc.jailed_until > now);
    assert_ok(ca_reputation_sync_stakes(rep, f.l, now));
    assert_ok(ca_reputation_get(rep, &f.id[SX_W1], &sc, sizeof(ca_reputation_score)));
    assert_int_equal(sc.stake, 0);
    assert_ok(ca_reputation_sync_stakes(rep, f.l, acc.jailed_until));
    assert_ok(ca_reputation_get(rep, &f.id[SX_W1], &sc, sizeof(ca_reputation_score)));
    assert_int_equal(sc.stake, acc.bonded + acc.unbonding);
    assert_true(sc.stake < 300); /* what the slash left */
    ca_reputation_free(rep);
    sx_free(&f);
}

static void test_settled_ledger_wins(void **state)
{
    (void)state;
    settled_fx f;
    sx_setup(&f, 1); /* the receipt claims 1, the ledger pays 80 */
    ca_reputation *plain = new_rep(), *rep = new_rep();
    assert_ok(ca_reputation_add_receipt(plain, f.t));
    sx_expect(&f, plain, 0.9, 0.1); /* weight 1 from the claim */
    sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
    sx_op(&f, CA_LEDGER_OP_ESCROW_RELEASE, SX_REQ, -1, 0, 0);
    assert_ok(ca_reputation_add_settled(rep, f.t, f.l));
    sx_expect(&f, rep, 7.2, 0.8); /* weight 8 from the ledger */
    ca_reputation_free(plain);
    ca_reputation_free(rep);
    sx_free(&f);

    sx_setup(&f, 80); /* the receipt claims 80, the arbiter gave the worker 4 */
    rep = new_rep();
    sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
    sx_op(&f, CA_LEDGER_OP_ESCROW_SPLIT, SX_ARB, -1, 4, 0);
    assert_ok(ca_reputation_add_settled(rep, f.t, f.l));
    sx_expect(&f, rep, 1.8, 0.2); /* weight 2 */
    ca_reputation_free(rep);
    sx_free(&f);
}

/* Every refusal names its cause and leaves the handle byte for byte as it was. */
static void test_settled_refusals_change_nothing(void **state)
{
    (void)state;
    enum { UNKNOWN, OPEN, REFUNDED, OTHER_WORKER, OTHER_HIRER, OTHER_WORKER_OPEN, N_CASES };
    const ca_status want[N_CASES] = {CA_ERR_LEDGER_UNKNOWN_ESCROW, CA_ERR_UNPAID_RATING,
                                     CA_ERR_UNPAID_RATING,         CA_ERR_ESCROW_MISMATCH,
                                     CA_ERR_ESCROW_MISMATCH,       CA_ERR_ESCROW_MISMATCH};
    ca_reputation *rep = new_rep();
    add(rep, 1, 1, 2, 70, 100, T0_MS); /* some prior state */
    size_t before_len = 0, after_len = 0;
    uint8_t *before = export_all(rep, &before_len);
    for (int c = 0; c < N_CASES; c++) {
        settled_fx f;
        sx_setup(&f, 80);
        switch (c) {
        case OPEN:
            sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
            break;
        case REFUNDED:
            sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W1, 80, 10);
            sx_op(&f, CA_LEDGER_OP_ESCROW_REFUND, SX_W1, -1, 0, 0);
            break;
        case OTHER_WORKER: /* paid, but to someone the receipt does not rate */
            sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W2, 80, 10);
            sx_op(&f, CA_LEDGER_OP_ESCROW_RELEASE, SX_REQ, -1, 0, 0);
            break;
        case OTHER_HIRER: /* the award id escrowed by someone other than the rater */
            sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_W2, SX_W1, 80, 10);
            sx_op(&f, CA_LEDGER_OP_ESCROW_RELEASE, SX_W2, -1, 0, 0);
            break;
        case OTHER_WORKER_OPEN: /* parties are checked before the state */
            sx_op(&f, CA_LEDGER_OP_ESCROW_OPEN, SX_REQ, SX_W2, 80, 10);
            break;
        default:
            break;
        }
        assert_status(want[c], ca_reputation_add_settled(rep, f.t, f.l));
        uint8_t *after = export_all(rep, &after_len);
        assert_int_equal(after_len, before_len);
        assert_memory_equal(after, before, before_len);
        free(after);
        sx_free(&f);
    }
    assert_int_equal(ca_reputation_rating_count(rep), 1);
    assert_int_equal(ca_reputation_agent_count(rep), 2);
    free(before);
    ca_reputation_free(rep);
}

static void offend(ca_reputation *rep, uint64_t ref, uint32_t who, uint64_t time_ms)
{
    ca_hash h = task(1000000 + ref);
    ca_agent_id id = agent(who);
    assert_ok(ca_reputation_add_offense(rep, CA_LEDGER_EVIDENCE_DISPUTE, &h, &id, time_ms));
}

static void test_offense_refusals(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    ca_hash h = task(1);
    ca_agent_id a = agent(1), b = agent(2);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_offense(rep, 0, &h, &a, T0_MS));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_offense(rep, 4, &h, &a, T0_MS));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_reputation_add_offense(rep, 3, &h, &a, (UINT32_MAX + 1ull) * 1000));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_add_offense(rep, 3, NULL, &a, T0_MS));
    assert_int_equal(ca_reputation_agent_count(rep), 0);
    assert_ok(ca_reputation_add_offense(rep, CA_LEDGER_EVIDENCE_DISPUTE, &h, &a, T0_MS));
    assert_int_equal(ca_reputation_agent_count(rep), 1); /* the offender is registered */
    /* One record per (kind, ref, offender), as in the ledger. */
    assert_status(CA_ERR_DUPLICATE_OFFENSE,
                  ca_reputation_add_offense(rep, CA_LEDGER_EVIDENCE_DISPUTE, &h, &a, T0_MS));
    assert_ok(ca_reputation_add_offense(rep, CA_LEDGER_EVIDENCE_DISPUTE, &h, &b, T0_MS));
    assert_ok(ca_reputation_add_offense(rep, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, &h, &a, T0_MS));
    assert_string_equal(ca_status_str(CA_ERR_DUPLICATE_OFFENSE), "CA_ERR_DUPLICATE_OFFENSE");
    /* A rating is still accepted for the task (its key is the task id, not the evidence key). */
    assert_ok(ca_reputation_add_rating(rep, &h, &b, &a, 0, 100, T0_MS));
    ca_reputation_free(rep);
}

/*
 * Offenses against the dense reference: c = 16^-k for k fresh offenses; an
 * edge i -> j carries c_i c_j of c_ij, the rest of t_i goes to p.
 */
static void test_offense_dense(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    double s[DN][DN] = {{0}};
    uint64_t seed = 7, tn = 1;
    for (int k = 0; k < 30; k++) {
        uint32_t i = (uint32_t)(rng_next(&seed) % DN), j = (uint32_t)(rng_next(&seed) % DN);
        if (i == j || i == DN - 1)
            continue;
        uint32_t v = (uint32_t)(rng_next(&seed) % 101);
        uint64_t amount = 1 + rng_next(&seed) % 400;
        add(rep, tn++, i, j, v, amount, T0_MS);
        s[i][j] += (double)cai_reputation_weight(rep, amount) * (2.0 * v - 100.0);
    }
    const int offenses[DN] = {0, 1, 0, 2, 0, 1, 0};
    double cred[DN], p[DN];
    uint64_t ref = 1;
    for (int i = 0; i < DN; i++) {
        for (int k = 0; k < offenses[i]; k++)
            offend(rep, ref++, (uint32_t)i, T0_MS);
        cred[i] = offenses[i] == 0 ? 1.0 : offenses[i] == 1 ? 1.0 / 16 : 1.0 / 256;
        p[i] = 1.0 / DN;
    }
    double c[DN][DN], leak[DN];
    for (int i = 0; i < DN; i++) {
        double sum = 0;
        for (int j = 0; j < DN; j++)
            sum += s[i][j] > 0 ? s[i][j] : 0;
        leak[i] = 1.0;
        for (int j = 0; j < DN; j++) {
            c[i][j] = sum > 0 ? (s[i][j] > 0 ? s[i][j] : 0) / sum * cred[i] * cred[j] : 0;
            leak[i] -= c[i][j];
        }
    }
    double t[DN];
    memcpy(t, p, sizeof t);
    for (int it = 0; it < 10000; it++) {
        double tn2[DN], lost = 0;
        for (int i = 0; i < DN; i++)
            lost += t[i] * leak[i];
        for (int j = 0; j < DN; j++) {
            double acc = 0;
            for (int i = 0; i < DN; i++)
                acc += c[i][j] * t[i];
            tn2[j] = 0.85 * (acc + lost * p[j]) + 0.15 * p[j];
        }
        memcpy(t, tn2, sizeof t);
    }
    update_matches_dense(rep, t);
    ca_reputation_free(rep);
}

/*
 * A camouflaged ring: honest raters rate its members well, the members rate
 * each other 100. Without offenses the ring pumps that trust up; one
 * lost dispute per member takes it away, and an offense fades with time.
 */
static void test_offense_breaks_ring(void **state)
{
    (void)state;
    ca_reputation *plain = new_rep(), *judged = new_rep();
    ca_reputation *both[2] = {plain, judged};
    for (int h = 0; h < 2; h++) {
        uint64_t tn = 1;
        for (uint32_t i = 0; i < 10; i++)
            for (uint32_t j = 0; j < 10; j++)
                if (i != j)
                    add(both[h], tn++, i, j, 90, 100, T0_MS);
        for (uint32_t i = 0; i < 10; i++) /* each honest agent had one good task from the ring */
            add(both[h], tn++, i, 20 + i % 5, 100, 100, T0_MS);
        for (uint32_t i = 20; i < 25; i++)
            for (uint32_t j = 20; j < 25; j++)
                if (i != j)
                    add(both[h], tn++, i, j, 100, 100, T0_MS);
        for (uint32_t i = 0; i < 2; i++) {
            ca_agent_id id = agent(i);
            assert_ok(ca_reputation_set_pretrusted(both[h], &id, 1));
        }
    }
    for (uint32_t i = 20; i < 25; i++)
        offend(judged, i, i, T0_MS);
    assert_ok(ca_reputation_update(plain, T0_MS, NULL));
    assert_ok(ca_reputation_update(judged, T0_MS, NULL));
    double ring_plain = 0, ring_judged = 0;
    for (uint32_t i = 20; i < 25; i++) {
        ring_plain += score_of(plain, i).global;
        ring_judged += score_of(judged, i).global;
    }
    assert_true(ring_plain > 0.3);              /* the ring keeps what it was given */
    assert_true(ring_judged < ring_plain / 50); /* not once its members are proven cheats */
    /* Local scores do not change. */
    assert_true(score_of(plain, 20).expected == score_of(judged, 20).expected);
    /* Offenses fade with the half-life (30 days by default): four half-lives later the
     * credibility is 2^-(4 / 16) = 0.84 again. */
    assert_ok(ca_reputation_update(judged, T0_MS + 4 * 30 * 24 * HOUR_MS, NULL));
    double later = 0;
    for (uint32_t i = 20; i < 25; i++)
        later += score_of(judged, i).global;
    assert_true(later > ring_judged * 10);
    ca_reputation_free(plain);
    ca_reputation_free(judged);
}

/* Offenses are part of the state: order-independent, in snapshots, deduplicated after a restart. */
static void test_offense_snapshot(void **state)
{
    (void)state;
    ca_reputation *a = new_rep(), *b = new_rep();
    fill_random(a, 30, 200, 11, 1);
    fill_random(b, 30, 200, 11, 1);
    for (uint32_t k = 0; k < 12; k++)
        offend(a, k, k % 7, T0_MS + k * HOUR_MS);
    for (uint32_t k = 12; k-- > 0;)
        offend(b, k, k % 7, T0_MS + k * HOUR_MS);
    offend(a, 99, 77, T0_MS); /* an offender nobody rated */
    offend(b, 99, 77, T0_MS);
    assert_ok(ca_reputation_update(a, T0_MS + 24 * HOUR_MS, NULL));
    assert_ok(ca_reputation_update(b, T0_MS + 24 * HOUR_MS, NULL));
    size_t la = 0, lb = 0;
    uint8_t *sa = export_all(a, &la), *sb = export_all(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    assert_int_equal(cai_load_le32(sa + 4), 2);
    assert_int_equal(cai_load_le32(sa + 52), 13);
    assert_int_equal(la, 56 + 68 * ca_reputation_agent_count(a) +
                             24 * ca_reputation_rating_count(a) + 20 * 13 + 32);
    ca_reputation *c = new_rep();
    assert_ok(ca_reputation_snapshot_import(c, sa, la));
    size_t lc = 0;
    uint8_t *sc = export_all(c, &lc);
    assert_int_equal(la, lc);
    assert_memory_equal(sa, sc, la);
    ca_hash h = task(1000000 + 3);
    ca_agent_id id = agent(3);
    assert_status(CA_ERR_DUPLICATE_OFFENSE,
                  ca_reputation_add_offense(c, CA_LEDGER_EVIDENCE_DISPUTE, &h, &id, T0_MS));
    assert_ok(ca_reputation_update(a, T0_MS + 48 * HOUR_MS, NULL));
    assert_ok(ca_reputation_update(c, T0_MS + 48 * HOUR_MS, NULL));
    for (uint32_t n = 0; n < 80; n++) {
        ca_agent_id x = agent(n);
        ca_reputation_score p, q;
        if (ca_reputation_get(a, &x, &p, sizeof(ca_reputation_score)) != CA_OK)
            continue;
        assert_ok(ca_reputation_get(c, &x, &q, sizeof(ca_reputation_score)));
        assert_memory_equal(&p, &q, sizeof p);
    }
    /* An offense with a task's fingerprint is refused on import. */
    uint8_t *buf = malloc(la);
    assert_non_null(buf);
    memcpy(buf, sa, la);
    size_t tasks = 56 + 68 * ca_reputation_agent_count(a) + 16 * ca_reputation_rating_count(a);
    size_t offs = tasks + 8 * ca_reputation_rating_count(a);
    memcpy(buf + offs, buf + tasks, 8); /* first offense fp = first task fp (the smallest) */
    crypto_generichash(buf + la - 32, 32, buf, la - 32, NULL, 0);
    assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, la));
    free(buf);
    free(sa);
    free(sb);
    free(sc);
    ca_reputation_free(a);
    ca_reputation_free(b);
    ca_reputation_free(c);
}

/* ---- pruning ---- */

#define DAY_MS (24 * HOUR_MS)

/* Evidence of one rating at now_ms, as the update computes it. */
static uint64_t evidence_at(uint32_t weight, uint64_t time_ms, uint64_t now_ms)
{
    uint64_t t = time_ms / 1000 * 1000, hl = 30 * DAY_MS;
    return ((uint64_t)weight * cai_reputation_decay_q32(now_ms > t ? now_ms - t : 0, hl)) >> 20;
}

/* A market with old ratings (most of them without evidence by now) and new ones. */
typedef struct prune_market {
    uint32_t received[64], given[64]; /* expected after pruning at `now` */
    size_t dead;                      /* ratings without evidence at `now` */
} prune_market;

static void prune_add(ca_reputation *rep, prune_market *m, uint64_t t, uint32_t from, uint32_t to,
                      uint32_t rating, uint64_t amount, uint64_t time_ms, uint64_t now)
{
    add(rep, t, from, to, rating, amount, time_ms);
    if (evidence_at(cai_reputation_weight(rep, amount), time_ms, now) == 0) {
        m->dead++;
        return;
    }
    m->given[from]++;
    m->received[to]++;
}

static void prune_fill(ca_reputation *rep, prune_market *m, uint64_t now)
{
    memset(m, 0, sizeof *m);
    uint64_t seed = 42;
    for (uint32_t k = 0; k < 700; k++) {
        uint32_t i = (uint32_t)(rng_next(&seed) % 40), j = (uint32_t)(rng_next(&seed) % 40);
        if (i == j)
            j = (j + 1) % 40;
        uint32_t v = (uint32_t)(rng_next(&seed) % 101);
        uint64_t kind = rng_next(&seed) % 4;
        /* weight 1 or 2 a year ago (no evidence left), 10^6 a year ago (some), or recent */
        uint64_t amount = kind == 1 ? 1000000000000ull : 1 + kind;
        uint64_t time_ms = kind < 3 ? T0_MS - 365 * DAY_MS + k * 1000 : T0_MS + k * 60000;
        prune_add(rep, m, k, i, j, v, amount, time_ms, now);
    }
    /* Agents 50 and 51 only ever exchanged ratings that are gone by now. */
    prune_add(rep, m, 5000, 50, 51, 90, 1, T0_MS - 400 * DAY_MS, now);
    prune_add(rep, m, 5001, 51, 50, 10, 3, T0_MS - 400 * DAY_MS, now);
    ca_agent_id s = agent(3), p = agent(7);
    assert_ok(ca_reputation_set_stake(rep, &s, 5000));
    assert_ok(ca_reputation_set_pretrusted(rep, &p, 1));
}

/* Every score field but the rating counters is bit-identical. */
static void assert_same_scores(const ca_reputation *a, const ca_reputation *b)
{
    assert_int_equal(ca_reputation_agent_count(a), ca_reputation_agent_count(b));
    for (uint32_t n = 0; n < 64; n++) {
        ca_agent_id id = agent(n);
        ca_reputation_score x, y;
        ca_status st = ca_reputation_get(a, &id, &x, sizeof(ca_reputation_score));
        assert_status(st, ca_reputation_get(b, &id, &y, sizeof(ca_reputation_score)));
        if (st != CA_OK)
            continue;
        assert_memory_equal(&x.global, &y.global, sizeof x.global);
        assert_memory_equal(&x.expected, &y.expected, sizeof x.expected);
        assert_memory_equal(&x.uncertainty, &y.uncertainty, sizeof x.uncertainty);
        assert_memory_equal(&x.positive, &y.positive, sizeof x.positive);
        assert_memory_equal(&x.negative, &y.negative, sizeof x.negative);
        assert_int_equal(x.stake, y.stake);
        assert_int_equal(x.pretrusted, y.pretrusted);
    }
}

static void test_prune_score_neutral(void **state)
{
    (void)state;
    const uint64_t now = T0_MS + 800 * 60000, later = now + 3 * DAY_MS;
    ca_reputation *a = new_rep(), *b = new_rep();
    prune_market m;
    prune_fill(a, &m, now);
    prune_fill(b, &m, now);
    assert_true(m.dead > 300 && m.dead < 702); /* both kinds exist */
    size_t total = ca_reputation_rating_count(a);
    assert_ok(ca_reputation_update(a, T0_MS, NULL));
    assert_ok(ca_reputation_update(b, T0_MS, NULL));

    /* Nothing has evidence 0 yet at a time before every rating... */
    size_t pruned = 99, mem = cai_reputation_memory_bytes(b), len0 = 0, len1 = 0;
    uint8_t *s0 = export_all(b, &len0);
    assert_ok(ca_reputation_prune(b, T0_MS - 400 * DAY_MS, &pruned));
    assert_int_equal(pruned, 0);
    assert_int_equal(cai_reputation_memory_bytes(b), mem);
    uint8_t *s1 = export_all(b, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(s0, s1, len0);
    assert_int_equal(cai_load_le32(s1 + 4), 1);
    free(s0);
    free(s1);

    /* ...and at `now`, exactly the ratings without evidence go. */
    assert_ok(ca_reputation_prune(b, now, &pruned));
    assert_int_equal(pruned, m.dead);
    assert_int_equal(ca_reputation_rating_count(b), total - m.dead);
    assert_true(cai_reputation_memory_bytes(b) < mem);
    assert_ok(ca_reputation_prune(b, now, &pruned)); /* idempotent */
    assert_int_equal(pruned, 0);
    assert_ok(ca_reputation_prune(b, now, NULL));
    for (uint32_t n = 0; n < 64; n++) {
        ca_agent_id id = agent(n);
        ca_reputation_score x;
        if (ca_reputation_get(b, &id, &x, sizeof(ca_reputation_score)) != CA_OK)
            continue;
        assert_int_equal(x.ratings_received, m.received[n]);
        assert_int_equal(x.ratings_given, m.given[n]);
    }
    ca_reputation_score s50 = score_of(b, 50); /* still registered, nothing stored */
    assert_int_equal(s50.ratings_received + s50.ratings_given, 0);

    /* Updates at now and later give the same bits as on the unpruned copy. */
    ca_reputation_stats sa = {.version = CA_REPUTATION_STATS_VERSION},
                        sb = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(a, now, &sa));
    assert_ok(ca_reputation_update(b, now, &sb));
    assert_int_equal(sa.iterations, sb.iterations);
    assert_int_equal(sa.edges, sb.edges);
    assert_int_equal(sb.ratings, total - m.dead);
    assert_same_scores(a, b);

    /* A pruned task cannot be rated again, in the handle or after a restart. */
    ca_hash h = task(5000);
    ca_agent_id x = agent(50), y = agent(51);
    assert_status(CA_ERR_DUPLICATE_RATING, ca_reputation_add_rating(b, &h, &x, &y, 90, 1, now));
    size_t len = 0;
    uint8_t *snap = export_all(b, &len);
    assert_int_equal(cai_load_le32(snap + 4), 3);
    assert_int_equal(cai_load_le32(snap + 48), total - m.dead);
    assert_int_equal(cai_load_le32(snap + 56), total);
    assert_int_equal(len, 60 + 68 * ca_reputation_agent_count(b) + 16 * (total - m.dead) +
                              8 * total + 32);
    ca_reputation *c = new_rep();
    assert_ok(ca_reputation_snapshot_import(c, snap, len));
    size_t len2 = 0;
    uint8_t *snap2 = export_all(c, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(snap, snap2, len);
    assert_status(CA_ERR_DUPLICATE_RATING, ca_reputation_add_rating(c, &h, &x, &y, 90, 1, now));
    assert_same_scores(a, c);
    /* New ratings after the restart, then a later update: still the same bits. */
    for (uint32_t k = 0; k < 30; k++) {
        add(a, 10000 + k, k % 9, 9 + k % 31, 70, 100 + k, now + k * 1000);
        add(c, 10000 + k, k % 9, 9 + k % 31, 70, 100 + k, now + k * 1000);
    }
    assert_ok(ca_reputation_update(a, later, NULL));
    assert_ok(ca_reputation_update(c, later, NULL));
    assert_same_scores(a, c);

    /* Pruning everything empties the store; the handle goes on working. */
    assert_ok(ca_reputation_prune(c, now + 100ull * 365 * DAY_MS, &pruned));
    assert_int_equal(pruned, total - m.dead + 30);
    assert_int_equal(ca_reputation_rating_count(c), 0);
    add(c, 20000, 1, 2, 80, 10, later);
    assert_int_equal(ca_reputation_rating_count(c), 1);
    assert_ok(ca_reputation_update(c, later, NULL));

    assert_status(CA_ERR_INVALID_ARGUMENT, ca_reputation_prune(NULL, now, &pruned));
    assert_int_equal(pruned, 0);
    free(snap);
    free(snap2);
    ca_reputation_free(a);
    ca_reputation_free(b);
    ca_reputation_free(c);
}

/* Enough ratings for the decay table path (8192 or more): the same choice as the update. */
static void test_prune_many(void **state)
{
    (void)state;
    const uint64_t now = T0_MS + 20000 * 1000ull;
    ca_reputation *a = new_rep(), *b = new_rep();
    size_t dead = 0;
    for (uint32_t k = 0; k < 12000; k++) {
        uint32_t i = k % 64, j = (k * 7 + 1 + k / 64) % 64;
        if (i == j)
            j = (j + 1) % 64;
        /* Ages spread over 0 .. 30 half-lives, weights 1 .. 999. */
        uint64_t time_ms = now - (uint64_t)k * (30 * 30 * DAY_MS / 12000);
        uint64_t amount = 1 + (uint64_t)(k % 1000) * (k % 1000);
        dead += evidence_at(cai_reputation_weight(a, amount), time_ms, now) == 0;
        add(a, k, i, j, k % 101, amount, time_ms);
        add(b, k, i, j, k % 101, amount, time_ms);
    }
    assert_true(dead > 1000 && dead < 11000);
    size_t pruned = 0;
    assert_ok(ca_reputation_prune(b, now, &pruned));
    assert_int_equal(pruned, dead);
    assert_int_equal(ca_reputation_rating_count(b), 12000 - dead);
    assert_ok(ca_reputation_update(a, now, NULL));
    assert_ok(ca_reputation_update(b, now, NULL));
    assert_same_scores(a, b);
    ca_reputation_free(a);
    ca_reputation_free(b);
}

/* Pruned tasks still count against max_ratings: the fingerprint table stays bounded. */
static void test_prune_limit(void **state)
{
    (void)state;
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.max_ratings = 4;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &o));
    for (uint32_t k = 0; k < 4; k++)
        add(rep, k, k, k + 1, 50, 1, T0_MS);
    size_t pruned = 0;
    assert_ok(ca_reputation_prune(rep, T0_MS + 1000 * DAY_MS, &pruned));
    assert_int_equal(pruned, 4);
    ca_hash h = task(4);
    ca_agent_id x = agent(1), y = agent(2);
    assert_status(CA_ERR_LIMIT, ca_reputation_add_rating(rep, &h, &x, &y, 50, 1, T0_MS));
    /* A snapshot with more tasks than the limit is refused as such. */
    size_t len = 0;
    uint8_t *snap = export_all(rep, &len);
    o.max_ratings = 3;
    ca_reputation *small = NULL;
    assert_ok(ca_reputation_new(&small, &o));
    assert_status(CA_ERR_LIMIT, ca_reputation_snapshot_import(small, snap, len));
    free(snap);
    ca_reputation_free(small);
    ca_reputation_free(rep);
}

/* Version 3 (pruned) snapshots: with and without offenses, strict like the others. */
static void test_prune_snapshot_strict(void **state)
{
    (void)state;
    ca_reputation *a = new_rep();
    add(a, 1, 1, 2, 90, 1, T0_MS - 500 * DAY_MS);
    add(a, 2, 2, 3, 80, 100, T0_MS);
    add(a, 3, 3, 1, 20, 1, T0_MS - 500 * DAY_MS);
    assert_ok(ca_reputation_update(a, T0_MS, NULL));
    size_t pruned = 0;
    assert_ok(ca_reputation_prune(a, T0_MS, &pruned));
    assert_int_equal(pruned, 2);
    for (int with_offense = 0; with_offense < 2; with_offense++) {
        if (with_offense)
            offend(a, 1, 3, T0_MS);
        size_t len = 0;
        uint8_t *snap = export_all(a, &len);
        assert_int_equal(cai_load_le32(snap + 4), 3);
        assert_int_equal(cai_load_le32(snap + 52), (uint32_t)with_offense);
        assert_int_equal(len, 60 + 68 * 3 + 16 + 8 * 3 + 20 * with_offense + 32);
        assert_ok(try_import(snap, len));
        uint8_t *buf = malloc(len + 1);
        assert_non_null(buf);
        for (size_t i = 0; i < len; i++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(buf, snap, len);
                buf[i] ^= (uint8_t)(1u << bit);
                ca_status st = try_import(buf, len);
                if (st != CA_ERR_REPUTATION_CORRUPT && st != CA_ERR_UNSUPPORTED &&
                    st != CA_ERR_LIMIT && st != CA_ERR_STATE)
                    fail_msg("flip at %zu bit %d: %s", i, bit, ca_status_str(st));
            }
        }
        for (size_t l = 0; l < len; l++)
            assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(snap, l));
        memcpy(buf, snap, len);
        buf[len] = 0;
        assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, len + 1));
        /* Counts that do not fit the version, under a valid checksum: not canonical. */
        memcpy(buf, snap, len);
        buf[4] = with_offense ? 2 : 1; /* as if the tasks were one per rating */
        crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
        assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, len));
        memcpy(buf, snap, len);
        cai_store_le32(buf + 48, 3); /* three ratings, three tasks: version 1 or 2 */
        crypto_generichash(buf + len - 32, 32, buf, len - 32, NULL, 0);
        assert_status(CA_ERR_REPUTATION_CORRUPT, try_import(buf, len));
        free(buf);
        free(snap);
    }
    ca_reputation_free(a);
}

/* ---- attacks (docs/SECURITY.md, "Attacks on reputation and staking") ---- */

static double global_sum(const ca_reputation *rep, uint32_t from, uint32_t to)
{
    double s = 0.0;
    for (uint32_t n = from; n < to; n++)
        s += score_of(rep, n).global;
    return s;
}

/*
 * Sybil flood: 200 identities rating each other with large payments. Trust
 * reaches them only through the teleport vector, so they get nothing when it
 * is made of pre-trusted agents or of stake they do not have, and exactly
 * their share when they buy stake. With neither (uniform teleport) a closed
 * Sybil group keeps its head count's share: the configuration docs/SECURITY.md
 * tells deployments not to use.
 */
static void test_sybil_flood_needs_trust_or_stake(void **state)
{
    (void)state;
    enum { HONEST = 10, SYB0 = 100, SYBILS = 200 };
    ca_reputation *rep[4];
    for (int c = 0; c < 4; c++) {
        rep[c] = new_rep();
        uint64_t tn = 1;
        for (uint32_t i = 0; i < HONEST; i++)
            for (uint32_t j = 0; j < HONEST; j++)
                if (i != j)
                    add(rep[c], tn++, i, j, 90, 100, T0_MS);
        for (uint32_t i = 0; i < SYBILS; i++)
            for (uint32_t d = 1; d <= 2; d++)
                add(rep[c], tn++, SYB0 + i, SYB0 + (i + d) % SYBILS, 100, 1000000, T0_MS);
        for (uint32_t i = 0; i < HONEST; i++) {
            ca_agent_id id = agent(i);
            if (c == 0 || c == 3) /* stake teleport: the honest agents bonded 1000 each */
                assert_ok(ca_reputation_set_stake(rep[c], &id, 1000));
            if (c == 1 && i < 2) /* pre-trusted teleport */
                assert_ok(ca_reputation_set_pretrusted(rep[c], &id, 1));
        }
        if (c == 3) /* the Sybils buy as much stake as all honest agents together */
            for (uint32_t i = 0; i < SYBILS; i++) {
                ca_agent_id id = agent(SYB0 + i);
                assert_ok(ca_reputation_set_stake(rep[c], &id, HONEST * 1000 / SYBILS));
            }
        ca_reputation_stats st = {.version = CA_REPUTATION_STATS_VERSION};
        assert_ok(ca_reputation_update(rep[c], T0_MS, &st));
        assert_true(st.converged);
    }
    /* Stake teleport, pre-trusted teleport: the flood gets exactly nothing. */
    assert_true(global_sum(rep[0], SYB0, SYB0 + SYBILS) == 0.0);
    assert_true(global_sum(rep[1], SYB0, SYB0 + SYBILS) == 0.0);
    assert_true(global_sum(rep[0], 0, HONEST) > 1.0 - 1e-9);
    /* Uniform teleport (neither set): a closed group of 200 among 210 keeps 200/210. */
    double uniform = global_sum(rep[2], SYB0, SYB0 + SYBILS);
    assert_true(uniform > 200.0 / 210 - 1e-6 && uniform < 200.0 / 210 + 1e-6);
    /* Bought stake buys trust in proportion to the stake, not to the number of identities. */
    double bought = global_sum(rep[3], SYB0, SYB0 + SYBILS);
    assert_true(bought > 0.5 - 1e-6 && bought < 0.5 + 1e-6);
    for (int c = 0; c < 4; c++)
        ca_reputation_free(rep[c]);
}

/* One complete hire of `w` by `s` settled on `l` (escrow released) and rated with add_settled. */
static ca_status self_hire(ca_identity *s, ca_identity *w, uint64_t t0, ca_ledger *l,
                           uint64_t nonce[2], ca_reputation *rep)
{
    ca_agent_id sid, wid;
    ca_identity_id(s, &sid);
    ca_identity_id(w, &wid);
    th_msg req, bid, aw, res, rc;
    assert_ok(th_request(&req, s, t0, t0 + 10000, 100, 10, NULL));
    assert_ok(th_bid(&bid, w, &req.id, t0 + 100, 80, t0 + 5000, 10));
    assert_ok(th_award(&aw, s, &req.id, &bid.id, &wid, 80, 10, t0 + 8000, t0 + 300));
    assert_ok(th_result(&res, w, &req.id, &aw.id, t0 + 1000, 0, "done"));
    assert_ok(th_receipt(&rc, s, &req.id, &aw.id, &res.id, &wid, 1, 100, 80, t0 + 2000));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &req, t0 + 10));
    assert_ok(th_apply(t, &bid, t0 + 110));
    assert_ok(th_apply(t, &aw, t0 + 310));
    assert_ok(th_apply(t, &res, t0 + 1010));
    assert_ok(th_apply(t, &rc, t0 + 2010));
    /* Escrow, delivery, release; then the worker sends the payment back to the hirer. */
    const uint32_t types[4] = {CA_LEDGER_OP_ESCROW_OPEN, CA_LEDGER_OP_ESCROW_DELIVER,
                               CA_LEDGER_OP_ESCROW_RELEASE, CA_LEDGER_OP_TRANSFER};
    for (int k = 0; k < 4; k++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = types[k];
        int by_worker =
            types[k] == CA_LEDGER_OP_ESCROW_DELIVER || types[k] == CA_LEDGER_OP_TRANSFER;
        op.signer = by_worker ? wid : sid;
        op.nonce = ++nonce[by_worker];
        if (types[k] == CA_LEDGER_OP_TRANSFER) {
            op.counterparty = sid;
            op.amount = 80;
        } else {
            op.ref = aw.id;
        }
        if (types[k] == CA_LEDGER_OP_ESCROW_OPEN) {
            op.counterparty = wid;
            op.amount = 80;
            op.amount2 = 10;
            op.deadline = t0 + 8000;
        }
        if (types[k] == CA_LEDGER_OP_ESCROW_DELIVER)
            memset(op.result.bytes, 0xD5, sizeof op.result.bytes); /* trusted path: any RESULT id */
        assert_ok(ca_ledger_apply(l, &op, t0 + 1100 + (uint64_t)k * 1000, NULL));
    }
    ca_status st = ca_reputation_add_settled(rep, t, l);
    ca_task_free(t);
    return st;
}

/*
 * Self-dealing through a second identity: S hires W (both the attacker's) 20
 * times on a real ledger. Every rating is a settled, paid task, so
 * add_settled takes it, yet the payment only moves between the attacker's
 * own accounts. W's local (Beta) score climbs above an honest worker's: the
 * payment rule does not defend the local score against this (docs/SECURITY.md,
 * "Self-dealing"), and routing fed with that score ranks W first. W's global
 * (EigenTrust) score stays exactly 0: S has no trust to pass on.
 */
static void test_sybil_self_hire_buys_beta_not_trust(void **state)
{
    (void)state;
    ca_identity *s = NULL, *w = NULL;
    uint8_t seed_s[32] = {61, 0x5b}, seed_w[32] = {62, 0x5b};
    assert_ok(ca_identity_from_seed(&s, seed_s));
    assert_ok(ca_identity_from_seed(&w, seed_w));
    ca_agent_id sid, wid, auth;
    ca_identity_id(s, &sid);
    ca_identity_id(w, &wid);
    memset(auth.bytes, 0xA7, sizeof auth.bytes);
    ca_ledger_options lo;
    assert_ok(ca_ledger_options_init(&lo, CA_LEDGER_OPTIONS_VERSION));
    lo.authority = auth;
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &lo));
    const ca_agent_id *fund[2] = {&sid, &wid};
    for (int i = 0; i < 2; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        op.signer = auth;
        op.nonce = (uint64_t)i + 1;
        op.counterparty = *fund[i];
        op.amount = 100;
        assert_ok(ca_ledger_apply(l, &op, TH_T0, NULL));
    }
    ca_reputation *rep = new_rep();
    /* An honest market: a pre-trusted hirer P rated the honest worker V three times well, once
     * badly, with the same payment. */
    ca_agent_id p = agent(1), v = agent(2);
    assert_ok(ca_reputation_set_pretrusted(rep, &p, 1));
    for (uint64_t k = 0; k < 4; k++) {
        ca_hash h = task(900 + k);
        assert_ok(ca_reputation_add_rating(rep, &h, &p, &v, k < 3 ? 100 : 0, 80, TH_T0));
    }
    uint64_t nonce[2] = {0, 0};
    for (uint64_t k = 0; k < 20; k++) /* 100 units each are enough: they come back every time */
        assert_ok(self_hire(s, w, TH_T0 + k * 20000, l, nonce, rep));
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION},
                           b = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(l, &sid, &a));
    assert_ok(ca_ledger_account(l, &wid, &b));
    /* Twenty paid ratings cost the pair nothing: each payment was sent back. */
    assert_int_equal(a.balance, 100);
    assert_int_equal(b.balance, 100);
    ca_reputation_stats st = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(rep, TH_T0 + 20 * 20000, &st));
    ca_reputation_score sw, sv;
    assert_ok(ca_reputation_get(rep, &wid, &sw, sizeof(ca_reputation_score)));
    assert_ok(ca_reputation_get(rep, &v, &sv, sizeof(ca_reputation_score)));
    assert_int_equal(sw.ratings_received, 20);
    assert_true(sw.expected > sv.expected); /* the local score is bought */
    assert_true(sw.global == 0.0);          /* the global score is not */
    assert_true(sv.global > 0.0);
    /* Routing fed with ca_routing_sync_reputation (the Beta value, as the hiring demo does)
     * ranks the self-hired worker first when price and stake are equal. */
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, NULL));
    const cai_routing_capability cap = {"llm.translate", 13, 80, 0};
    const ca_agent_id *who[2] = {&wid, &v};
    for (int i = 0; i < 2; i++) {
        cai_routing_entry e;
        memset(&e, 0, sizeof e);
        e.agent = *who[i];
        e.sequence = 1;
        e.valid_until = UINT64_MAX;
        e.capabilities = &cap;
        e.capability_count = 1;
        assert_ok(cai_routing_add_entry(rt, &e, TH_T0));
    }
    assert_ok(ca_routing_sync_reputation(rt, rep));
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = "llm.translate";
    q.capability_len = 13;
    q.now = TH_T0;
    ca_routing_result r[2];
    size_t got = 0;
    assert_ok(ca_routing_select(rt, &q, r, sizeof(ca_routing_result), 2, &got));
    assert_int_equal(got, 2);
    assert_memory_equal(r[0].agent.bytes, wid.bytes, sizeof wid.bytes);
    ca_routing_free(rt);
    ca_reputation_free(rep);
    ca_ledger_free(l);
    ca_identity_free(s);
    ca_identity_free(w);
}

/*
 * Whitewashing: a fresh identity starts with no evidence, Beta 0.5 with
 * uncertainty 1 and no global trust (pre-trusted teleport), below a proven
 * worker in both. A proven bad worker that starts over climbs back to 0.5,
 * "unknown", and no further; reaching global trust again needs ratings from
 * trusted hirers or stake.
 */
static void test_whitewash_starts_unknown(void **state)
{
    (void)state;
    ca_reputation *rep = new_rep();
    const uint32_t P0 = 0, P1 = 1, GOOD = 2, BAD = 3, FRESH = 4;
    uint64_t tn = 1;
    for (uint32_t k = 0; k < 3; k++)
        for (uint32_t p = P0; p <= P1; p++) {
            add(rep, tn++, p, GOOD, 100, 100, T0_MS);
            add(rep, tn++, p, BAD, 0, 100, T0_MS);
        }
    add(rep, tn++, P0, P1, 90, 100, T0_MS);
    add(rep, tn++, P1, P0, 90, 100, T0_MS);
    for (uint32_t p = P0; p <= P1; p++) {
        ca_agent_id id = agent(p);
        assert_ok(ca_reputation_set_pretrusted(rep, &id, 1));
    }
    ca_agent_id fresh = agent(FRESH);
    assert_ok(ca_reputation_set_stake(rep, &fresh, 0)); /* registered, nothing else */
    assert_ok(ca_reputation_update(rep, T0_MS, NULL));
    ca_reputation_score f = score_of(rep, FRESH), g = score_of(rep, GOOD), b = score_of(rep, BAD);
    assert_true(f.expected == 0.5 && f.uncertainty == 1.0 && f.global == 0.0);
    assert_true(g.expected > f.expected && g.global > f.global);
    assert_true(b.expected < f.expected); /* starting over resets to unknown, not to good */
    ca_reputation_free(rep);
}

/*
 * Slander: hirers that never rated a worker well rate it 0 on ten paid tasks
 * each, with large payments. EigenTrust keeps only max(s_ij, 0), so a
 * negative opinion withdraws the rater's own trust and takes nothing that
 * others gave: every global score has the same bits as without the slander.
 * The local (Beta) score does move, by exactly the weight paid for.
 */
static void test_slander_leaves_global_trust(void **state)
{
    (void)state;
    enum { VICTIM = 10, SL0 = 20, SLANDERERS = 5 };
    ca_reputation *clean = new_rep(), *slandered = new_rep();
    ca_reputation *both[2] = {clean, slandered};
    for (int h = 0; h < 2; h++) {
        uint64_t tn = 1;
        for (uint32_t i = 0; i < 10; i++) {
            for (uint32_t j = 0; j < 10; j++)
                if (i != j)
                    add(both[h], tn++, i, j, 90, 100, T0_MS);
            if (i < 5)
                add(both[h], tn++, i, VICTIM, 95, 400, T0_MS);
            add(both[h], tn++, i, SL0 + i % SLANDERERS, 80, 100, T0_MS);
            add(both[h], tn++, SL0 + i % SLANDERERS, 2 + i % 8, 80, 100, T0_MS);
        }
        ca_agent_id p = agent(0);
        assert_ok(ca_reputation_set_pretrusted(both[h], &p, 1));
    }
    for (uint32_t s = 0; s < SLANDERERS; s++)
        for (uint64_t k = 0; k < 10; k++)
            add(slandered, 5000 + s * 10 + k, SL0 + s, VICTIM, 0, 100000000, T0_MS);
    ca_reputation_stats sc = {.version = CA_REPUTATION_STATS_VERSION},
                        ss = {.version = CA_REPUTATION_STATS_VERSION};
    assert_ok(ca_reputation_update(clean, T0_MS, &sc));
    assert_ok(ca_reputation_update(slandered, T0_MS, &ss));
    assert_int_equal(sc.edges, ss.edges);
    assert_int_equal(sc.iterations, ss.iterations);
    for (uint32_t n = 0; n < SL0 + SLANDERERS; n++) {
        ca_agent_id id = agent(n);
        ca_reputation_score a, b;
        if (ca_reputation_get(clean, &id, &a, sizeof(ca_reputation_score)) != CA_OK)
            continue;
        assert_ok(ca_reputation_get(slandered, &id, &b, sizeof(ca_reputation_score)));
        assert_memory_equal(&a.global, &b.global, sizeof a.global);
    }
    ca_reputation_score a = score_of(clean, VICTIM), b = score_of(slandered, VICTIM);
    assert_true(b.expected < a.expected);
    /* 50 ratings of weight isqrt(10^8) = 10^4 each: exactly what was paid for, no more. */
    assert_true(b.negative - a.negative == 50.0 * 10000.0);
    assert_true(b.positive == a.positive);
    ca_reputation_free(clean);
    ca_reputation_free(slandered);
}

/*
 * On-off behaviour and decay: every rating's evidence fades by the same
 * factor (rounded down), positive and negative alike. A worker that cheated
 * after a good record (its bad evidence the more recent) climbs back towards
 * "unknown" by waiting and never past 0.5; one that cheated less than it
 * worked well (the camouflage case) never climbs above where it stood right
 * after cheating; an honest worker that keeps working stays above both. After
 * 40 half-lives both cheaters are exactly at 0.5. Offenses fade too, by
 * design (docs/REPUTATION.md, "Offenses").
 */
static void test_on_off_waiting_never_resets_above_unknown(void **state)
{
    (void)state;
    ca_reputation_options o;
    assert_ok(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION));
    o.half_life_ms = DAY_MS;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, &o));
    const uint32_t P = 0, OFF = 1, CAMO = 2, HONEST = 3;
    uint64_t tn = 1;
    for (uint32_t k = 0; k < 10; k++) {
        add(rep, tn++, P, OFF, 100, 100, T0_MS);          /* on ... */
        add(rep, tn++, P, OFF, 0, 100, T0_MS + HOUR_MS);  /* ... then off */
        add(rep, tn++, P, CAMO, 100, 100, T0_MS);         /* good twice ... */
        add(rep, tn++, P, CAMO, 100, 100, T0_MS + 1000);  /* */
        add(rep, tn++, P, CAMO, 0, 100, T0_MS + HOUR_MS); /* ... for every bad task */
        add(rep, tn++, P, HONEST, 100, 100, T0_MS);
    }
    double off_last = 0.0, camo_last = 0.0, camo_first = 1.0;
    for (uint32_t day = 0; day <= 40; day++) {
        const uint64_t now = T0_MS + HOUR_MS + day * DAY_MS;
        if (day > 0) /* the honest worker keeps working, one good task a day */
            add(rep, tn++, P, HONEST, 100, 100, now);
        assert_ok(ca_reputation_update(rep, now, NULL));
        ca_reputation_score off = score_of(rep, OFF), camo = score_of(rep, CAMO),
                            honest = score_of(rep, HONEST);
        assert_true(off.expected <= 0.5);
        assert_true(camo.expected <= camo_first);
        assert_true(honest.expected > camo.expected && honest.expected > off.expected);
        if (day == 0)
            camo_first = camo.expected;
        off_last = off.expected;
        camo_last = camo.expected;
    }
    /* 40 half-lives later the cheater's evidence is gone: exactly unknown, never better. */
    assert_true(off_last == 0.5 && camo_last == 0.5);
    ca_reputation_free(rep);
}

/* Sum over the runs of occupied slots of L(L+1)/2, divided by the keys: probes per lookup. */
static double probes_per_key(const void *slots, size_t elem, uint32_t cap, uint32_t keys)
{
    const uint8_t *base = slots;
    uint32_t start = 0;
    uint8_t zero[8] = {0};
    while (start < cap && memcmp(base + (size_t)start * elem, zero, elem) != 0)
        start++;
    assert_true(start < cap); /* the tables always keep an empty slot */
    double total = 0.0;
    uint64_t run = 0;
    for (uint32_t k = 1; k <= cap; k++) {
        uint32_t s = (start + k) % cap;
        if (memcmp(base + (size_t)s * elem, zero, elem) != 0) {
            run++;
        } else {
            total += (double)run * (double)(run + 1) / 2.0;
            run = 0;
        }
    }
    return total / keys;
}

/*
 * Flood with crafted keys: 2^15 agent ids that differ only in their last four
 * bytes, and 2^15 task ids whose fingerprints differ only in their top bits.
 * Both tables hash the whole key with keyed SipHash, so the crafted keys
 * cluster no more than random ones: the probes a lookup needs (counted from
 * the tables' occupied runs) stay within twice the random figure.
 */
static void test_crafted_keys_do_not_cluster(void **state)
{
    (void)state;
    enum { KEYS = 1 << 15 };
    double agent_probes[2], task_probes[2];
    for (int crafted = 0; crafted < 2; crafted++) {
        ca_reputation *rep = new_rep();
        uint64_t seed = 99;
        for (uint32_t k = 0; k < KEYS; k++) {
            ca_agent_id id;
            memset(&id, 0, sizeof id);
            if (crafted)
                cai_store_le32(id.bytes + 28, k);
            else
                for (int b = 0; b < 32; b += 8) {
                    uint64_t x = rng_next(&seed);
                    memcpy(id.bytes + b, &x, 8);
                }
            assert_ok(ca_reputation_set_stake(rep, &id, 1));
        }
        ca_agent_id a = agent(1), b = agent(2);
        for (uint32_t k = 0; k < KEYS; k++) {
            ca_hash h;
            memset(&h, 0x5a, sizeof h);
            uint64_t fp = crafted ? (uint64_t)(k + 1) << 40 : rng_next(&seed);
            cai_store_le64(h.bytes, fp);
            assert_ok(ca_reputation_add_rating(rep, &h, &a, &b, 50, 1, T0_MS));
        }
        agent_probes[crafted] = probes_per_key(rep->agent_index.slots, sizeof(uint64_t),
                                               rep->agent_index.cap, KEYS + 2);
        task_probes[crafted] = probes_per_key(rep->fps.slots, sizeof(uint64_t), rep->fps.cap, KEYS);
        ca_reputation_free(rep);
    }
    print_message("probes per key, random / crafted: agents %.2f / %.2f, tasks %.2f / %.2f\n",
                  agent_probes[0], agent_probes[1], task_probes[0], task_probes[1]);
    assert_true(agent_probes[1] < 2.0 * agent_probes[0]);
    assert_true(task_probes[1] < 2.0 * task_probes[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_and_lifecycle),
        cmocka_unit_test(test_weight),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_refusal_order),
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_decay_table),
        cmocka_unit_test(test_golden_bits),
        cmocka_unit_test(test_beta),
        cmocka_unit_test(test_eigentrust_dense),
        cmocka_unit_test(test_convergence_and_warm_start),
        cmocka_unit_test(test_order_independent_bits),
        cmocka_unit_test(test_blocks_do_not_change_bits),
        cmocka_unit_test(test_top),
        cmocka_unit_test(test_sybil_ring_isolated),
        cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_receipt_from_task_thread),
        cmocka_unit_test(test_settled_released),
        cmocka_unit_test(test_settled_split),
        cmocka_unit_test(test_settled_ledger_wins),
        cmocka_unit_test(test_sync_stakes),
        cmocka_unit_test(test_settled_refusals_change_nothing),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_canonical),
        cmocka_unit_test(test_snapshot_rejects_corruption),
        cmocka_unit_test(test_offense_refusals),
        cmocka_unit_test(test_offense_dense),
        cmocka_unit_test(test_offense_breaks_ring),
        cmocka_unit_test(test_offense_snapshot),
        cmocka_unit_test(test_prune_score_neutral),
        cmocka_unit_test(test_prune_many),
        cmocka_unit_test(test_prune_limit),
        cmocka_unit_test(test_prune_snapshot_strict),
        cmocka_unit_test(test_sybil_flood_needs_trust_or_stake),
        cmocka_unit_test(test_sybil_self_hire_buys_beta_not_trust),
        cmocka_unit_test(test_whitewash_starts_unknown),
        cmocka_unit_test(test_slander_leaves_global_trust),
        cmocka_unit_test(test_on_off_waiting_never_resets_above_unknown),
        cmocka_unit_test(test_crafted_keys_do_not_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
