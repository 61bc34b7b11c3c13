/*
 * Ed25519 rates through the identity API (application signatures: a 20-byte
 * tag, so 36 bytes of domain prefix on top of each 256-byte message), keys
 * and messages rotated.
 */
#include <sodium.h>

#include "bench.h"
#include "cyberagent.h"

#define KEYS    64
#define MSG_LEN 256
#define TAG     "bench.example/msg/v1"
#define TAG_LEN (sizeof TAG - 1)

void bench_identity(void)
{
    ca_identity *ids[KEYS];
    ca_agent_id pks[KEYS];
    static uint8_t msgs[KEYS][MSG_LEN];
    ca_signature sigs[KEYS];
    for (int i = 0; i < KEYS; i++) {
        uint8_t seed[32] = {(uint8_t)i, 1};
        if (ca_identity_from_seed(&ids[i], seed) != CA_OK)
            return;
        ca_identity_id(ids[i], &pks[i]);
        randombytes_buf(msgs[i], MSG_LEN);
    }
    int rounds = bench_rounds(), n = bench_quick() ? 256 : 4096;
    double sign_rates[16], verify_rates[16];
    if (rounds > 16)
        rounds = 16;
    for (int r = 0; r < rounds; r++) {
        int ok = 0;
        double t0 = bench_now();
        for (int i = 0; i < n; i++)
            ok += ca_identity_sign_tagged(ids[i % KEYS], TAG, TAG_LEN, msgs[i % KEYS], MSG_LEN,
                                          &sigs[i % KEYS]) == CA_OK;
        double t1 = bench_now();
        for (int i = 0; i < n; i++)
            ok += ca_identity_verify_tagged(&pks[i % KEYS], TAG, TAG_LEN, msgs[i % KEYS], MSG_LEN,
                                            &sigs[i % KEYS]) == CA_OK;
        double t2 = bench_now();
        bench_consume(&ok, sizeof ok);
        sign_rates[r] = n / (t1 - t0);
        verify_rates[r] = n / (t2 - t1);
    }
    bench_figure("identity_sign_per_s", bench_median(sign_rates, (size_t)rounds), "ops/s");
    bench_figure("identity_verify_per_s", bench_median(verify_rates, (size_t)rounds), "ops/s");
    for (int i = 0; i < KEYS; i++)
        ca_identity_free(ids[i]);
}
