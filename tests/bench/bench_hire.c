/*
 * Full hires per second, and how close that comes to what the signatures
 * alone allow. The hire loop is the demo's own (examples/hire/story.c):
 * 1,000 agents with verified cards in routing, an in-memory ledger and
 * reputation; each hire is request -> bids -> routing choice -> award ->
 * escrow (cosigned ledger op) -> result -> delivery -> receipt -> release ->
 * rating, every envelope and ledger op signed by its author and verified by
 * its reader. Setup (identities, cards, minting, bonding) is not timed.
 *
 * The crypto floor: the story counts each Ed25519 sign and verify it causes
 * and the bytes each covers; the same numbers of raw crypto_sign_detached /
 * crypto_sign_verify_detached calls on messages of the same mean sizes are
 * timed in the same run. hire_vs_crypto_floor = hire rate / floor rate.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "cyberagent.h"
#include "story.h"

#define KEYS 64
/*
 * Each receipt's rating is ingested at once; scores are recomputed (and
 * pushed to routing) every REP_EVERY settled hires: one
 * ca_reputation_update over 1,000 agents costs about a millisecond, as much
 * as a third of a hire's own work (see the demo's report).
 */
#define REP_EVERY 50u
#define WARMUP    10u

/* Seconds per raw sign and per raw verify of `sign_len` / `verify_len` bytes. */
static void raw_crypto(size_t sign_len, size_t verify_len, int n, double *t_sign, double *t_verify)
{
    static unsigned char pk[KEYS][crypto_sign_PUBLICKEYBYTES], sk[KEYS][crypto_sign_SECRETKEYBYTES];
    static unsigned char sig[KEYS][crypto_sign_BYTES];
    static unsigned char msg[KEYS][1024];
    if (sign_len > sizeof msg[0])
        sign_len = sizeof msg[0];
    if (verify_len > sizeof msg[0])
        verify_len = sizeof msg[0];
    for (int k = 0; k < KEYS; k++) {
        unsigned char seed[crypto_sign_SEEDBYTES] = {(unsigned char)k, 0x4b};
        crypto_sign_seed_keypair(pk[k], sk[k], seed);
        randombytes_buf(msg[k], sizeof msg[k]);
    }
    double t0 = bench_now();
    for (int i = 0; i < n; i++)
        crypto_sign_detached(sig[i % KEYS], NULL, msg[i % KEYS], sign_len, sk[i % KEYS]);
    double t1 = bench_now();
    for (int k = 0; k < KEYS; k++)
        crypto_sign_detached(sig[k], NULL, msg[k], verify_len, sk[k]);
    double t2 = bench_now();
    int ok = 0;
    for (int i = 0; i < n; i++)
        ok += crypto_sign_verify_detached(sig[i % KEYS], msg[i % KEYS], verify_len, pk[i % KEYS]) ==
              0;
    double t3 = bench_now();
    bench_consume(&ok, sizeof ok);
    *t_sign = (t1 - t0) / n;
    *t_verify = (t3 - t2) / n;
}

void bench_hire(void)
{
    int quick = bench_quick(), rounds = bench_rounds();
    if (rounds > 5)
        rounds = 5;
    uint32_t hires = quick ? 100u : 1000u;
    double rates[5], ratios[5], per_sign = 0, per_verify = 0;
    for (int r = 0; r < rounds; r++) {
        hire_config cfg;
        hire_config_default(&cfg);
        cfg.agents = 1000;
        cfg.tasks = hires + WARMUP;
        cfg.seed = (uint64_t)r + 1;
        cfg.cheaters = 0;
        cfg.max_bidders = 4;
        cfg.rep_every = REP_EVERY;
        hire_story *s = NULL;
        if (hire_story_new(&s, &cfg) != CA_OK) {
            fprintf(stderr, "bench_hire: setup failed\n");
            return;
        }
        /* A few untimed hires give the signed-message sizes; raw crypto on those sizes is
         * timed just before and just after the timed hires, and the two averaged, so load
         * changes on a shared machine weigh on both sides of the ratio alike. */
        hire_counters c0, c1;
        hire_story_counters(s, &c0);
        ca_status st = hire_story_run(s, WARMUP);
        hire_story_counters(s, &c1);
        double signs = (double)(c1.signs - c0.signs),
               verifies = (double)(c1.verifies - c0.verifies);
        size_t sign_len = (size_t)((double)(c1.sign_bytes - c0.sign_bytes) / signs + 0.5);
        size_t verify_len = (size_t)((double)(c1.verify_bytes - c0.verify_bytes) / verifies + 0.5);
        double ts = 0, tv = 0, ts2 = 0, tv2 = 0;
        int raw_n = quick ? 256 : 1024;
        raw_crypto(sign_len, verify_len, raw_n, &ts, &tv);
        hire_story_counters(s, &c0);
        double t0 = bench_now();
        if (st == CA_OK)
            st = hire_story_run(s, hires);
        double t1 = bench_now();
        hire_story_counters(s, &c1);
        raw_crypto(sign_len, verify_len, raw_n, &ts2, &tv2);
        hire_story_free(s);
        if (st != CA_OK) {
            fprintf(stderr, "bench_hire: story failed\n");
            return;
        }
        ts = (ts + ts2) / 2;
        tv = (tv + tv2) / 2;
        per_sign = (double)(c1.signs - c0.signs) / hires;
        per_verify = (double)(c1.verifies - c0.verifies) / hires;
        rates[r] = hires / (t1 - t0);
        double floor_rate = 1.0 / (per_sign * ts + per_verify * tv);
        ratios[r] = rates[r] / floor_rate;
    }
    bench_figure("hire_tasks_per_s", bench_median(rates, (size_t)rounds), "hires/s");
    bench_figure("hire_vs_crypto_floor", bench_median(ratios, (size_t)rounds), "ratio");
    bench_figure("hire_signs_per_task", per_sign, "signs");
    bench_figure("hire_verifies_per_task", per_verify, "verifies");
}
