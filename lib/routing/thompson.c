/*
 * Exploration sampler: Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b)
 * (Marsaglia and Tsang, "A simple method for generating gamma variables",
 * 2000; a, b >= 1 here so no boost is needed), normals by Marsaglia's polar
 * method, uniforms from xoshiro256** (Blackman and Vigna) seeded through
 * splitmix64 by (seed, agent id).
 *
 * Reproducibility: only +, -, * and / (correctly rounded in IEEE 754) and a
 * logarithm and square root written here on top of them are used (no libm),
 * and contraction into fused multiply-add is disabled, so a seed gives the
 * same samples on every IEEE 754 platform. Samples are not replicated state;
 * they only order candidates for one hirer.
 */
#include "routing_internal.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void rng_seed(rng *r, uint64_t seed, const ca_agent_id *id)
{
    uint64_t x = seed;
    (void)splitmix64(&x);
    for (size_t w = 0; w < 4; w++)
        x ^= splitmix64(&x) ^ cai_load_le64(id->bytes + 8 * w);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* Uniform in the open interval (0, 1). */
static double uniform01(rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* x = m * 2^e with m in [0.5, 1), for finite x > 0 (exact, by the bits). */
static double split_exp(double x, int *e)
{
    uint64_t b;
    int adjust = 0;
    memcpy(&b, &x, sizeof b);
    if (((b >> 52) & 0x7ff) == 0) { /* subnormal: scale into the normal range */
        x *= 18014398509481984.0;   /* 2^54 */
        memcpy(&b, &x, sizeof b);
        adjust = 54;
    }
    *e = (int)((b >> 52) & 0x7ff) - 1022 - adjust;
    b = (b & ~((uint64_t)0x7ff << 52)) | ((uint64_t)1022 << 52);
    double m;
    memcpy(&m, &b, sizeof m);
    return m;
}

/* 2^e for -1022 <= e <= 1023 (exact). */
static double pow2(int e)
{
    uint64_t b = (uint64_t)(e + 1023) << 52;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* Square root of x > 0 (finite): Newton on the mantissa, fixed iteration count. */
static double cai_sqrt(double x)
{
    int e;
    double m = split_exp(x, &e);
    if (e & 1) {
        m *= 2.0;
        e -= 1;
    }
    /* m in [0.5, 2): from y = (1 + m) / 2, six steps reach full precision */
    double y = 0.5 * (1.0 + m);
    for (int i = 0; i < 6; i++)
        y = 0.5 * (y + m / y);
    return y * pow2(e / 2);
}

/* Natural logarithm of x > 0 (finite): x = m * 2^e, log m = 2 atanh(z). */
static double cai_log(double x)
{
    int e;
    double m = split_exp(x, &e);
    if (m < 0.70710678118654752) {
        m *= 2.0;
        e -= 1;
    }
    double z = (m - 1.0) / (m + 1.0), z2 = z * z;
    /* |z| <= 0.1716, z^2 <= 0.0295: terms to z^23 reach double precision */
    /* 1/k for k = 23, 21, ..., 3: the same correctly rounded values as dividing each time */
    static const double inv[] = {1.0 / 23, 1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13,
                                 1.0 / 11, 1.0 / 9,  1.0 / 7,  1.0 / 5,  1.0 / 3};
    double sum = 0.0;
    for (size_t i = 0; i < sizeof inv / sizeof inv[0]; i++)
        sum = (sum + inv[i]) * z2;
    double log_m = 2.0 * z * (1.0 + sum);
    return log_m + (double)e * 0.69314718055994530942;
}

static double normal(rng *r)
{
    for (;;) {
        double u = 2.0 * uniform01(r) - 1.0, v = 2.0 * uniform01(r) - 1.0;
        double s = u * u + v * v;
        if (s >= 1.0 || s == 0.0)
            continue;
        return u * cai_sqrt(-2.0 * cai_log(s) / s);
    }
}

/* Gamma(alpha, 1) for alpha >= 1. */
static double gamma_ge1(rng *r, double alpha)
{
    double d = alpha - 1.0 / 3.0, c = 1.0 / cai_sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = uniform01(r), x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2)
            return d * v;
        if (cai_log(u) < 0.5 * x2 + d * (1.0 - v + cai_log(v)))
            return d * v;
    }
}

uint32_t cai_thompson_ppm(uint64_t seed, const ca_agent_id *id, uint64_t positive_milli,
                          uint64_t negative_milli)
{
    rng r;
    rng_seed(&r, seed, id);
    double a = (double)positive_milli / 1000.0 + 1.0, b = (double)negative_milli / 1000.0 + 1.0;
    double x = gamma_ge1(&r, a), y = gamma_ge1(&r, b);
    double p = x / (x + y);
    double ppm = p * (double)CA_LEDGER_PPM;
    if (!(ppm >= 0.0))
        return 0;
    if (ppm >= (double)CA_LEDGER_PPM)
        return CA_LEDGER_PPM;
    return (uint32_t)ppm;
}

#ifdef CA_EXPERIMENTAL
ca_status ca_routing_thompson_sample(uint64_t seed, const ca_agent_id *agent,
                                     uint64_t positive_milli, uint64_t negative_milli,
                                     uint32_t *sample_ppm)
{
    CAI_REQUIRE(agent);
    CAI_REQUIRE(sample_ppm);
    *sample_ppm = cai_thompson_ppm(seed, agent, positive_milli, negative_milli);
    return CA_OK;
}
#endif
