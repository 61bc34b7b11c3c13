/*
 * Verifying against a key history (keyhistory.h): a message from an identity
 * rotated 16 times, checked with ca_key_history_verify_envelope (decoded
 * envelope, history lookup, envelope signature and time checks, the window
 * rule), divided by crypto_sign_verify_detached of the same signed bytes with
 * the same key. 16 identities, each rotated 16 times, 4 messages each, all
 * rotating; raw and history verifies alternate one by one (see ratio(), as
 * bench_envelope times them), and the figure is the median of the per-round
 * ratios. Goal: rotated_identity_verify_ratio <= 1.05 (the history
 * is not walked per message: the current key is compared, not looked up).
 * rotated_identity_verify_old_key_ratio is the same for messages signed by
 * key 8 of 16 inside its window (one hash-table lookup); shown, no goal.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "cyberagent.h"

#define IDS       16
#define ROTATIONS 16
#define MSGS      4
#define BODY_LEN  256
#define ENV_CAP   1024
#define T0        1700000000000ull
#define STEP      600000ull

typedef struct kh_msg {
    const ca_key_history *h;
    ca_envelope *env;
    ca_agent_id pk;
    uint8_t sig[64];
    uint8_t signed_bytes[ENV_CAP];
    size_t signed_len;
    uint64_t now;
} kh_msg;

typedef struct kh_bench {
    kh_msg msgs[IDS * MSGS];
    size_t n;
} kh_bench;

/* docs/WIRE.md: the signed bytes are tag || map header with one entry fewer || fields. */
static void build_signed(kh_msg *m, const uint8_t *env, size_t env_len)
{
    static const char tag[] = "cyberagent/1/65536";
    size_t tl = sizeof tag - 1, fields = env_len - 1 - 67;
    memcpy(m->signed_bytes, tag, tl);
    m->signed_bytes[tl] = (uint8_t)(env[0] - 1);
    memcpy(m->signed_bytes + tl + 1, env + 1, fields);
    m->signed_len = tl + 1 + fields;
    memcpy(m->sig, env + env_len - 64, 64);
}

static int op_raw(const kh_msg *m)
{
    return crypto_sign_verify_detached(m->sig, m->signed_bytes, m->signed_len, m->pk.bytes);
}

static int op_history(const kh_msg *m)
{
    return ca_key_history_verify_envelope(m->h, m->env, m->now, NULL) != CA_OK;
}

static double timed(int (*op)(const kh_msg *), const kh_msg *m, int *bad)
{
    double t0 = bench_now();
    *bad |= op(m);
    return bench_now() - t0;
}

/*
 * As bench_envelope's ratio(): each round times `ops` raw/history pairs one
 * operation at a time (which goes first alternates), so a preempted
 * operation is an outlier the median ignores; a round's ratio is the median
 * history time over the median raw time; the figure is the median over
 * rounds. *rate = 1 / median history time.
 */
static double ratio(const kh_bench *b, int rounds, int ops, double *rate)
{
    double ratios[BENCH_MAX_ROUNDS], rates[BENCH_MAX_ROUNDS];
    double *tb = malloc((size_t)ops * sizeof *tb), *th = malloc((size_t)ops * sizeof *th);
    int bad = tb == NULL || th == NULL;
    for (int r = 0; r < rounds && !bad; r++) {
        for (int k = 0; k < ops; k++) {
            const kh_msg *m = &b->msgs[(size_t)k % b->n];
            if ((k + r) % 2 == 0) {
                tb[k] = timed(op_raw, m, &bad);
                th[k] = timed(op_history, m, &bad);
            } else {
                th[k] = timed(op_history, m, &bad);
                tb[k] = timed(op_raw, m, &bad);
            }
        }
        double mb = bench_median(tb, (size_t)ops), mh = bench_median(th, (size_t)ops);
        ratios[r] = mh / mb;
        rates[r] = 1 / mh;
    }
    free(tb);
    free(th);
    if (bad)
        return -1;
    *rate = bench_median(rates, (size_t)rounds);
    return bench_median(ratios, (size_t)rounds);
}

static ca_identity *key_of(int id, int k)
{
    uint8_t seed[32] = {0xb7, (uint8_t)id, (uint8_t)k};
    ca_identity *out = NULL;
    return ca_identity_from_seed(&out, seed) == CA_OK ? out : NULL;
}

static int commit(const ca_identity *id, ca_hash *c)
{
    ca_agent_id pk;
    ca_identity_id(id, &pk);
    return ca_key_commitment(&pk, c) != CA_OK;
}

/* Histories, rotated ROTATIONS times; messages by key `signer_key` of each. */
static int setup(ca_key_history **hs, kh_bench *b, int signer_key)
{
    b->n = 0;
    for (int i = 0; i < IDS; i++) {
        ca_identity *keys[ROTATIONS + 2] = {0};
        int bad = 0;
        for (int k = 0; k < ROTATIONS + 2; k++)
            bad |= (keys[k] = key_of(i, k)) == NULL;
        uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
        size_t len = 0;
        ca_hash c;
        if (hs[i] == NULL) {
            bad = bad || commit(keys[1], &c) ||
                  ca_key_event_incept(keys[0], &c, T0, ev, sizeof ev, &len) != CA_OK ||
                  ca_key_history_new(&hs[i], ev, len) != CA_OK;
            for (int k = 1; k <= ROTATIONS && !bad; k++)
                bad = commit(keys[k + 1], &c) ||
                      ca_key_event_rotate(hs[i], keys[k], &c, T0 + (uint64_t)k * STEP, ev,
                                          sizeof ev, &len) != CA_OK ||
                      ca_key_history_append(hs[i], ev, len) != CA_OK;
        }
        const uint64_t from = T0 + (uint64_t)signer_key * STEP;
        for (int j = 0; j < MSGS && !bad; j++) {
            kh_msg *m = &b->msgs[b->n++];
            uint8_t body[BODY_LEN], env[ENV_CAP];
            randombytes_buf(body, sizeof body);
            ca_envelope_params p;
            bad = ca_envelope_params_init(&p, CA_ENVELOPE_PARAMS_VERSION) != CA_OK;
            p.kind = CA_KIND_APP_MIN;
            p.created_at = from + (uint64_t)j;
            p.expires_at = from + STEP / 2;
            size_t env_len = 0;
            bad = bad ||
                  ca_envelope_sign(keys[signer_key], &p, body, sizeof body, env, sizeof env,
                                   &env_len, NULL) != CA_OK ||
                  ca_envelope_decode(&m->env, env, env_len, NULL) != CA_OK;
            if (!bad) {
                m->h = hs[i];
                ca_identity_id(keys[signer_key], &m->pk);
                m->now = from + 1000;
                build_signed(m, env, env_len);
                bad = crypto_sign_verify_detached(m->sig, m->signed_bytes, m->signed_len,
                                                  m->pk.bytes) != 0 ||
                      ca_key_history_verify_envelope(m->h, m->env, m->now, NULL) != CA_OK;
            }
        }
        for (int k = 0; k < ROTATIONS + 2; k++)
            ca_identity_free(keys[k]);
        if (bad)
            return -1;
    }
    return 0;
}

static void release(kh_bench *b)
{
    for (size_t i = 0; i < b->n; i++)
        ca_envelope_free(b->msgs[i].env);
    b->n = 0;
}

void bench_keyhistory(void)
{
    ca_key_history *hs[IDS] = {0};
    kh_bench *b = calloc(1, sizeof *b);
    int rounds = 2 * bench_rounds() + 1;
    if (rounds > BENCH_MAX_ROUNDS - 1)
        rounds = BENCH_MAX_ROUNDS - 1;
    int ops = bench_quick() ? 4 * IDS * MSGS : 32 * IDS * MSGS;
    double rate = 0, old_rate = 0, cur = -1, old = -1;
    if (b != NULL && setup(hs, b, ROTATIONS) == 0) {
        (void)ratio(b, 1, IDS * MSGS, &rate); /* warm-up */
        cur = ratio(b, rounds, ops, &rate);
    }
    if (b != NULL)
        release(b);
    if (cur > 0 && setup(hs, b, ROTATIONS / 2) == 0)
        old = ratio(b, rounds, ops, &old_rate);
    if (cur <= 0 || old <= 0) {
        bench_figure("keyhistory_setup_failed", 1, "");
    } else {
        bench_figure("rotated_identity_verify_ratio", cur, "x");
        bench_figure("rotated_identity_verify_old_key_ratio", old, "x");
        bench_figure("rotated_identity_verify_per_s", rate, "ops/s");
    }
    if (b != NULL)
        release(b);
    free(b);
    for (int i = 0; i < IDS; i++)
        ca_key_history_free(hs[i]);
}
