/*
 * Task thread throughput: verify + apply of complete six-message hires
 * (request, two bids, award, result, receipt), from encoded bytes, per
 * message. Messages are signed beforehand; the timed part is decoding each
 * envelope, checking its signature, parsing the body and applying the rules.
 */
#include <stdlib.h>

#include <sodium.h>

#include "../unit/task_helpers.h"
#include "bench.h"
#include "cyberagent.h"
#include "identity/identity_internal.h"

#define HIRES 64

void bench_task(void)
{
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
