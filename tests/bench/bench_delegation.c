/*
 * Delegation chains against the bare signatures they carry.
 *
 * delegation_chain4_verify_ratio: a depth-4 chain from its encoded bytes to a
 * verdict (ca_delegation_decode of each link, ca_delegation_chain_verify at
 * `now` with an empty revocation set, every check of the header, the four
 * signatures included; then the handles freed) divided by four
 * crypto_sign_verify_detached of the same four links' signed bytes with
 * their issuers' keys. 32 chains of distinct keys (4 issuers each) and
 * distinct terms rotate. Each round times every chain once on each side, one
 * chain at a time, the side that goes first alternating; a round's ratio is
 * median chain time / median baseline time, and the figure is the median
 * over rounds, as envelope_verify_ratio. Goal: <= 1.05.
 *
 * delegation_chain4_opened_ratio: the same chain verify on handles opened
 * earlier (ca_delegation_open: signature checked once), what a verifier that
 * keeps delegations by id pays per use, divided by the same baseline.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "cyberagent.h"

#define CHAINS 32
#define DEPTH  4
#define CAP    1024
#define NOW    1700000000000ull
#define HOUR   3600000ull

typedef struct bench_link {
    uint8_t enc[CAP];
    size_t len;
    uint8_t signed_bytes[CAP];
    size_t signed_len;
    uint8_t sig[64];
    ca_agent_id issuer;
} bench_link;

typedef struct bench_chain {
    bench_link links[DEPTH];
    ca_delegation *opened[DEPTH];
} bench_chain;

typedef struct bench_ctx {
    bench_chain *chains;
    ca_revocation_set *revoked; /* empty: the lookups are made, none hits */
    int bad;
} bench_ctx;

/* docs/WIRE.md: the tag, the map header without the signature, fields 0..8. */
static void link_signed(bench_link *l)
{
    static const char tag[] = "cyberagent/1/64";
    size_t tl = sizeof tag - 1, fields = l->len - 1 - 67;
    memcpy(l->signed_bytes, tag, tl);
    l->signed_bytes[tl] = (uint8_t)(l->enc[0] - 1);
    memcpy(l->signed_bytes + tl + 1, l->enc + 1, fields);
    l->signed_len = tl + 1 + fields;
    memcpy(l->sig, l->enc + l->len - 64, 64);
}

static int setup(bench_ctx *c)
{
    static const char *caps[DEPTH][2] = {{"llm.*", "img.*"},
                                         {"llm.translate.*", "img.resize"},
                                         {"llm.translate.en-fr", "img.resize"},
                                         {"llm.translate.en-fr", "img.resize"}};
    for (int k = 0; k < CHAINS; k++) {
        ca_identity *id[DEPTH + 1];
        for (int i = 0; i <= DEPTH; i++) {
            uint8_t seed[32] = {(uint8_t)k, (uint8_t)i, 0xd1};
            if (ca_identity_from_seed(&id[i], seed) != CA_OK)
                return -1;
        }
        ca_hash prev = {{0}};
        int bad = 0;
        for (int i = 0; i < DEPTH && !bad; i++) {
            bench_link *l = &c->chains[k].links[i];
            ca_agent_id audience;
            ca_identity_id(id[i + 1], &audience);
            ca_identity_id(id[i], &l->issuer);
            ca_delegation_params p;
            bad |= ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION) != CA_OK;
            p.audience = &audience;
            p.capabilities = caps[i];
            p.capability_count = 2;
            p.total_cap = 1000000 - 1000 * (uint64_t)i - (uint64_t)k;
            p.task_cap = 10000 - 100 * (uint64_t)i;
            p.not_before = NOW - HOUR + (uint64_t)i;
            p.expires_at = NOW + 30 * 24 * HOUR - (uint64_t)i;
            p.nonce = (uint64_t)k << 8 | (uint64_t)i;
            p.parent = i > 0 ? &prev : NULL;
            p.created_at = NOW - HOUR;
            bad |= ca_delegation_sign(id[i], &p, l->enc, CAP, &l->len, &prev) != CA_OK;
            if (!bad) {
                link_signed(l);
                bad |= crypto_sign_verify_detached(l->sig, l->signed_bytes, l->signed_len,
                                                   l->issuer.bytes) != 0;
                bad |= ca_delegation_open(&c->chains[k].opened[i], l->enc, l->len) != CA_OK;
            }
        }
        for (int i = 0; i <= DEPTH; i++)
            ca_identity_free(id[i]);
        if (bad)
            return -1;
    }
    return 0;
}

static ca_delegation_verify_options options(const bench_ctx *c)
{
    ca_delegation_verify_options o;
    (void)ca_delegation_verify_options_init(&o, CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    o.revocations = c->revoked;
    return o;
}

/* One chain, bytes to verdict. */
static int op_chain(bench_ctx *c, const bench_chain *ch)
{
    ca_delegation *d[DEPTH] = {0};
    int bad = 0;
    for (int i = 0; i < DEPTH; i++)
        bad |= ca_delegation_decode(&d[i], ch->links[i].enc, ch->links[i].len) != CA_OK;
    ca_delegation_verify_options o = options(c);
    ca_delegation_chain_info info = {.version = CA_DELEGATION_CHAIN_INFO_VERSION};
    if (!bad)
        bad |= ca_delegation_chain_verify((const ca_delegation *const *)d, DEPTH, NOW, &o, &info) !=
               CA_OK;
    bench_consume(&info.total_cap, sizeof info.total_cap);
    for (int i = 0; i < DEPTH; i++)
        ca_delegation_free(d[i]);
    return bad;
}

static int op_opened(bench_ctx *c, const bench_chain *ch)
{
    ca_delegation_verify_options o = options(c);
    ca_delegation_chain_info info = {.version = CA_DELEGATION_CHAIN_INFO_VERSION};
    int bad = ca_delegation_chain_verify((const ca_delegation *const *)ch->opened, DEPTH, NOW, &o,
                                         &info) != CA_OK;
    bench_consume(&info.total_cap, sizeof info.total_cap);
    return bad;
}

static int op_raw(bench_ctx *c, const bench_chain *ch)
{
    (void)c;
    int bad = 0;
    for (int i = 0; i < DEPTH; i++) {
        const bench_link *l = &ch->links[i];
        bad |= crypto_sign_verify_detached(l->sig, l->signed_bytes, l->signed_len,
                                           l->issuer.bytes) != 0;
    }
    return bad;
}

typedef int (*chain_op)(bench_ctx *, const bench_chain *);

static double timed(chain_op op, bench_ctx *c, const bench_chain *ch)
{
    double t0 = bench_now();
    c->bad |= op(c, ch);
    return bench_now() - t0;
}

/* Median over rounds of (median op time / median baseline time); see the file comment. */
static double ratio(bench_ctx *c, chain_op op, int rounds, int per_round, double *rate)
{
    double ratios[64], rates[64];
    double *ta = malloc((size_t)per_round * sizeof *ta),
           *tb = malloc((size_t)per_round * sizeof *tb);
    if (ta == NULL || tb == NULL)
        c->bad = 1;
    if (rounds > 63)
        rounds = 63;
    for (int r = 0; r < rounds && !c->bad; r++) {
        for (int k = 0; k < per_round; k++) {
            const bench_chain *ch = &c->chains[k % CHAINS];
            if ((k + r) % 2 == 0) {
                ta[k] = timed(op, c, ch);
                tb[k] = timed(op_raw, c, ch);
            } else {
                tb[k] = timed(op_raw, c, ch);
                ta[k] = timed(op, c, ch);
            }
        }
        double ma = bench_median(ta, (size_t)per_round), mb = bench_median(tb, (size_t)per_round);
        ratios[r] = ma / mb;
        rates[r] = 1 / ma;
    }
    free(ta);
    free(tb);
    if (c->bad)
        return -1;
    *rate = bench_median(rates, (size_t)rounds);
    return bench_median(ratios, (size_t)rounds);
}

void bench_delegation(void)
{
    bench_ctx c = {calloc(CHAINS, sizeof(bench_chain)), NULL, 0};
    if (c.chains == NULL || ca_revocation_set_new(&c.revoked, 1024) != CA_OK || setup(&c) != 0) {
        bench_figure("delegation_setup_failed", 1, "");
    } else {
        int rounds = 2 * bench_rounds() + 1;
        int per_round = bench_quick() ? 4 * CHAINS : 16 * CHAINS;
        double rate = 0, orate = 0;
        (void)ratio(&c, op_chain, 1, CHAINS, &rate); /* warm-up */
        double r4 = ratio(&c, op_chain, rounds, per_round, &rate);
        double ro = ratio(&c, op_opened, rounds, per_round, &orate);
        if (c.bad) {
            bench_figure("delegation_failed", 1, "");
        } else {
            bench_figure("delegation_chain4_verify_ratio", r4, "x");
            bench_figure("delegation_chain4_verify_per_s", rate, "chains/s");
            bench_figure("delegation_chain4_opened_ratio", ro, "x");
            bench_figure("delegation_chain4_opened_per_s", orate, "chains/s");
        }
    }
    if (c.chains != NULL)
        for (int k = 0; k < CHAINS; k++)
            for (int i = 0; i < DEPTH; i++)
                ca_delegation_free(c.chains[k].opened[i]);
    ca_revocation_set_free(c.revoked);
    free(c.chains);
}
