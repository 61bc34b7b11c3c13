/*
 * Task thread throughput: verify + apply of complete six-message hires
 * (request, two bids, award, result, receipt), from encoded bytes, per
 * message. Messages are signed beforehand; the timed part is decoding each
 * envelope, checking its signature, parsing the body and applying the rules.
 *
 * Bid flood: CA_TASK_MAX_BIDS_DEFAULT bids from as many made-up bidders applied
 * to one thread, against the same bids each applied to a thread of its own
 * (baseline in the same run). Per-bid cost does not grow with the thread,
 * so the ratio stays near 1.
 */
#include <stdlib.h>

#include <sodium.h>

#include "../unit/task_helpers.h"
#include "bench.h"
#include "cyberagent.h"
#include "identity/identity_internal.h"

#define HIRES 64

static void bench_bid_flood(void)
{
    enum { N = CA_TASK_MAX_BIDS_DEFAULT };
    ca_identity *req = NULL;
    uint8_t seed[32] = {0xb1, 0xd5};
    th_msg rq;
    th_msg *bids = calloc(N, sizeof *bids);
    ca_task **singles = calloc(N, sizeof *singles);
    if (bids == NULL || singles == NULL || ca_identity_from_seed(&req, seed) != CA_OK ||
        th_request(&rq, req, TH_T0, TH_T0 + 10000, 100, 10, NULL) != CA_OK)
        goto done;
    for (int i = 0; i < N; i++) {
        ca_identity *w = NULL;
        uint8_t ws[32] = {0xb2, (uint8_t)i, (uint8_t)(i >> 8)};
        ca_status st = ca_identity_from_seed(&w, ws);
        if (st == CA_OK)
            st = th_bid(&bids[i], w, &rq.id, TH_T0 + 100, 80, TH_T0 + 5000, 10);
        ca_identity_free(w);
        if (st != CA_OK)
            goto done;
    }
    int rounds = bench_rounds();
    double ratios[16];
    if (rounds > 16)
        rounds = 16;
    for (int r = 0; r < rounds; r++) {
        ca_task *flood = NULL;
        int ok = th_new(&flood, &rq, TH_T0 + 10) == CA_OK;
        for (int i = 0; i < N; i++)
            ok += th_new(&singles[i], &rq, TH_T0 + 10) == CA_OK;
        double t0 = bench_now();
        for (int i = 0; i < N; i++)
            ok += th_apply(flood, &bids[i], TH_T0 + 200) == CA_OK;
        double t1 = bench_now();
        for (int i = 0; i < N; i++)
            ok += th_apply(singles[i], &bids[i], TH_T0 + 200) == CA_OK;
        double t2 = bench_now();
        ca_task_free(flood);
        for (int i = 0; i < N; i++)
            ca_task_free(singles[i]);
        if (ok != 1 + 3 * N) {
            bench_figure("task_bid_flood_errors", (double)(1 + 3 * N - ok), "msgs");
            rounds = r;
            break;
        }
        ratios[r] = (t2 - t1) / (t1 - t0); /* flood rate / fresh-thread rate */
    }
    if (rounds > 0)
        bench_figure("task_bid_flood_vs_fresh_ratio", bench_median(ratios, (size_t)rounds), "x");
done:
    ca_identity_free(req);
    free(singles);
    free(bids);
}

void bench_task(void)
{
    bench_bid_flood();
    ca_identity *ids[3];
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), 0xbe};
        if (ca_identity_from_seed(&ids[i], seed) != CA_OK)
            return;
    }
    th_hire *hires = calloc(HIRES, sizeof *hires);
    if (hires == NULL)
        return;
    for (int i = 0; i < HIRES; i++) {
        /* distinct hires: the requester rotates, so every thread has new ids */
        if (th_build_hire(&hires[i], ids[i % 3], ids[(i + 1) % 3], ids[(i + 2) % 3], 0) != CA_OK) {
            free(hires);
            return;
        }
    }
    /* Baseline in the same run: bare Ed25519 verifications of a 256-byte message. */
    ca_agent_id pk;
    ca_signature sig;
    static uint8_t msg[256];
    ca_identity_id(ids[0], &pk);
    crypto_sign_detached(sig.bytes, NULL, msg, sizeof msg, cai_identity_secret(ids[0]));
    int rounds = bench_rounds(), reps = bench_quick() ? 2 : 16;
    double rates[16], ratios[16];
    if (rounds > 16)
        rounds = 16;
    for (int r = 0; r < rounds; r++) {
        int ok = 0;
        double t0 = bench_now();
        for (int rep = 0; rep < reps; rep++) {
            for (int i = 0; i < HIRES; i++) {
                const th_hire *h = &hires[i];
                ca_task *t = NULL;
                ok += th_new(&t, &h->request, TH_T0 + 10) == CA_OK;
                ok += th_apply(t, &h->bid1, TH_T0 + 110) == CA_OK;
                ok += th_apply(t, &h->bid2, TH_T0 + 210) == CA_OK;
                ok += th_apply(t, &h->award, TH_T0 + 310) == CA_OK;
                ok += th_apply(t, &h->result, TH_T0 + 1010) == CA_OK;
                ok += th_apply(t, &h->receipt, TH_T0 + 2010) == CA_OK;
                ca_task_free(t);
            }
        }
        double t1 = bench_now();
        if (ok != 6 * HIRES * reps) {
            bench_figure("task_thread_errors", (double)(6 * HIRES * reps - ok), "msgs");
            rounds = r;
            break;
        }
        rates[r] = 6.0 * HIRES * reps / (t1 - t0);
        int vok = 0;
        double v0 = bench_now();
        for (int i = 0; i < 6 * HIRES * reps; i++)
            vok += crypto_sign_verify_detached(sig.bytes, msg, sizeof msg, pk.bytes) == 0;
        double v1 = bench_now();
        bench_consume(&vok, sizeof vok);
        ratios[r] = rates[r] / (6.0 * HIRES * reps / (v1 - v0));
    }
    if (rounds > 0) {
        bench_figure("task_thread_msgs_per_s", bench_median(rates, (size_t)rounds), "msgs/s");
        /* share of a bare signature check's rate that a full verify + apply keeps */
        bench_figure("task_thread_vs_verify_ratio", bench_median(ratios, (size_t)rounds), "x");
    }
    free(hires);
    for (int i = 0; i < 3; i++)
        ca_identity_free(ids[i]);
}
