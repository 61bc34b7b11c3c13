/*
 * Randomized task threads: many tasks, each delivered several times in random
 * interleavings of valid, invalid, duplicated, early (reordered), forged and
 * equivocating messages. Checks: no forbidden message is ever accepted, no
 * crash, equivocations yield evidence that verifies, and the final thread
 * (digest) is the same whatever order the commuting messages came in, equal
 * to the reference thread, and survives serialization.
 * Seeded (CA_TEST_SEED overrides) and reproducible.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "cyberagent.h"
#include "task_helpers.h"
#include "test_util.h"

#define POOL   8
#define TASKS  60
#define ORDERS 3
#define MAXMSG 64

static ca_identity *pool[POOL];
static ca_agent_id pool_id[POOL];
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < POOL; i++) {
        uint8_t seed[32] = {(uint8_t)i, 0x51, 0x9d};
        if (ca_identity_from_seed(&pool[i], seed) != CA_OK)
            return -1;
        ca_identity_id(pool[i], &pool_id[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < POOL; i++)
        ca_identity_free(pool[i]);
    return 0;
}

/* A message to deliver: which layer, and what it must (not) do. */
enum expect { MUST_ACCEPT, MUST_REJECT, MUST_EQUIVOCATE, ANY_REJECT_OR_DUP };

typedef struct item {
    th_msg m;
    int layer;
    enum expect expect;
    uint64_t now;
} item;

typedef struct scenario {
    item items[MAXMSG];
    size_t n;
    size_t valid; /* items[0 .. valid) are the reference thread, in causal order */
    ca_task_state final;
} scenario;

static item *add(scenario *s, int layer, enum expect e)
{
    assert_true(s->n < MAXMSG);
    item *it = &s->items[s->n++];
    it->layer = layer;
    it->expect = e;
    return it;
}

static uint64_t created_of(const th_msg *m)
{
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, m->buf, m->len, NULL));
    uint64_t t = ca_envelope_created_at(env);
    ca_envelope_free(env);
    return t;
}

/* Builds the valid thread of one task and the noise around it. */
static void build(scenario *s, uint64_t T)
{
    memset(s, 0, sizeof *s);
    int perm[POOL];
    for (int i = 0; i < POOL; i++)
        perm[i] = i;
    for (int i = POOL - 1; i > 0; i--) {
        int j = (int)below((uint64_t)i + 1), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    const ca_identity *req = pool[perm[0]];
    int direct = below(10) == 0;
    int k = direct ? 1 : 1 + (int)below(4); /* bidders: perm[1 .. k] */
    int outsider = perm[POOL - 1];
    int scen = (int)below(5); /* 0 hire, 1 cancel, 2 missed deadline, 3 working, 4 input-req */
    const uint64_t max_price = 100, coll = 10, deadline = T + 10000;

    item *rq = add(s, 0, MUST_ACCEPT);
    assert_ok(
        th_request(&rq->m, req, T, deadline, max_price, coll, direct ? &pool_id[perm[1]] : NULL));
    const ca_hash task = rq->m.id;
    size_t bid_at[4] = {0};
    uint64_t price[4] = {0}, completion[4] = {0}, bcoll[4] = {0};
    for (int j = 0; j < k; j++) {
        price[j] = 50 + below(51);
        completion[j] = T + 3000 + below(5001);
        bcoll[j] = coll + below(5);
        bid_at[j] = s->n;
        item *b = add(s, 1, MUST_ACCEPT);
        assert_ok(th_bid(&b->m, pool[perm[1 + j]], &task, T + 100 + 10 * (uint64_t)j, price[j],
                         completion[j], bcoll[j]));
    }
    int w = (int)below((uint64_t)k);
    const ca_identity *worker = pool[perm[1 + w]];
    const ca_agent_id *worker_id = &pool_id[perm[1 + w]];
    const ca_hash bid_id = s->items[bid_at[w]].m.id;
    uint64_t adl = (completion[w] > T + 5000 ? completion[w] : T + 5000) + below(1000);
    ca_hash award_id = {{0}}, result_id = {{0}};
    int failed = below(3) == 0, accept = (int)below(2);
    uint64_t paid = below(price[w] + 1);
    if (scen == 1) {
        item *c = add(s, 2, MUST_ACCEPT);
        assert_ok(th_cancel(&c->m, req, &task, &task, T + 1000));
        s->final = CA_TASK_CANCELED;
    } else {
        item *a = add(s, 2, MUST_ACCEPT);
        assert_ok(
            th_award(&a->m, req, &task, &bid_id, worker_id, price[w], bcoll[w], adl, T + 4000));
        award_id = a->m.id;
        s->final = CA_TASK_WORKING;
        if (scen == 2) {
            item *c = add(s, 3, MUST_ACCEPT);
            assert_ok(th_cancel(&c->m, req, &task, &award_id, adl + 1));
            s->final = CA_TASK_CANCELED;
        } else if (scen == 0 || scen == 4) {
            item *r = add(s, 3, MUST_ACCEPT);
            assert_ok(th_result(&r->m, worker, &task, &award_id, T + 4500, failed,
                                failed ? "no capacity" : "done"));
            result_id = r->m.id;
            s->final = CA_TASK_INPUT_REQUIRED;
            if (scen == 0) {
                item *rc = add(s, 4, MUST_ACCEPT);
                assert_ok(th_receipt(&rc->m, req, &task, &award_id, &result_id, worker_id, accept,
                                     (uint32_t)below(101), paid, T + 6000));
                s->final = failed ? CA_TASK_FAILED : accept ? CA_TASK_COMPLETED : CA_TASK_REJECTED;
                /* disputes from either side commute with each other */
                if (below(2)) {
                    item *d = add(s, 5, MUST_ACCEPT);
                    assert_ok(th_dispute(&d->m, req, &task, &rc->m.id, &result_id, 1, T + 7000));
                }
                if (below(2)) {
                    item *d = add(s, 5, MUST_ACCEPT);
                    ca_hash refs[2] = {award_id, rc->m.id};
                    assert_ok(th_dispute(&d->m, worker, &task, &award_id, refs, 2, T + 7100));
                }
            }
        }
    }
    s->valid = s->n;

    /* ---- noise ---- */
    item *x;
    x = add(s, 1 + (int)below(5), MUST_REJECT); /* the requester bids */
    assert_ok(th_bid(&x->m, req, &task, T + 150, 60, T + 4000, coll));
    x = add(s, 1 + (int)below(5), MUST_REJECT); /* above the max price */
    assert_ok(th_bid(&x->m, pool[outsider], &task, T + 150, max_price + 1, T + 4000, coll));
    x = add(s, 1 + (int)below(5), MUST_REJECT); /* another task */
    ca_hash other = task;
    other.bytes[0] ^= 0xff;
    assert_ok(th_bid(&x->m, pool[outsider], &other, T + 150, 60, T + 4000, coll));
    x = add(s, 1 + (int)below(5), MUST_REJECT); /* a bidder awards */
    assert_ok(th_award(&x->m, pool[perm[1]], &task, &bid_id, worker_id, price[w], bcoll[w], adl,
                       T + 4000));
    x = add(s, 1 + (int)below(5), MUST_REJECT); /* a bidder cancels */
    assert_ok(th_cancel(&x->m, pool[perm[1]], &task, &task, T + 1000));
    x = add(s, 1 + (int)below(5), MUST_REJECT); /* an outsider disputes */
    assert_ok(th_dispute(&x->m, pool[outsider], &task, &task, &task, 1, T + 7000));
    if (scen != 1) {
        x = add(s, 1 + (int)below(5), MUST_REJECT); /* the outsider delivers a result */
        assert_ok(th_result(&x->m, pool[outsider], &task, &award_id, T + 4500, 0, "junk"));
        x = add(s, 1 + (int)below(5), MUST_REJECT); /* award terms differ from the bid */
        assert_ok(
            th_award(&x->m, req, &task, &bid_id, worker_id, price[w] + 1, bcoll[w], adl, T + 4000));
        /* careful: that award is also "a second award" once the real one is in */
        x->expect = ANY_REJECT_OR_DUP;
    }
    if (scen == 0 || scen == 4) {
        x = add(s, 4 + (int)below(2), MUST_REJECT); /* pays above the award price */
        assert_ok(th_receipt(&x->m, req, &task, &award_id, &result_id, worker_id, 1, 50,
                             price[w] + 1, T + 6000));
        x->expect = ANY_REJECT_OR_DUP;
        /* the worker equivocates: a second result, after the first */
        x = add(s, 4 + (int)below(2), MUST_EQUIVOCATE);
        assert_ok(th_result(&x->m, worker, &task, &award_id, T + 4600, 0, "other output"));
    }
    /* a bidder equivocates: a second bid, delivered after the first (from layer 2 on) */
    x = add(s, 2 + (int)below(4), MUST_EQUIVOCATE);
    assert_ok(th_bid(&x->m, pool[perm[1]], &task, T + 160, 55, T + 4000, coll + 1));
    /* forged copies (one flipped bit) and duplicates of valid messages */
    for (int i = 0; i < 4; i++) {
        size_t src = 1 + below(s->valid - 1 > 0 ? s->valid - 1 : 1);
        if (src >= s->valid)
            src = 0;
        x = add(s, (int)below(6), MUST_REJECT);
        x->m = s->items[src].m;
        x->now = created_of(&x->m) + 10;
        x->m.buf[below(x->m.len)] ^= (uint8_t)(1u << below(8));
        x = add(s, s->items[src].layer + (int)below(6 - (uint64_t)s->items[src].layer),
                ANY_REJECT_OR_DUP);
        x->m = s->items[src].m; /* duplicate, in its layer or later */
    }
    /* early copies: delivered first thing in layer 1, before any of their parents */
    for (size_t i = 0; i < s->valid; i++) {
        const item *v = &s->items[i];
        bool early_ok = v->layer >= 2 && !(scen == 1 && v->layer == 2);
        if (early_ok && below(3) == 0) {
            x = add(s, -1, MUST_REJECT);
            x->m = v->m;
        }
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].now == 0)
            s->items[i].now = created_of(&s->items[i].m) + 10;
}

static void shuffle(size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)below(i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* Delivers everything in a random interleaving; returns the final thread. */
static ca_task *deliver(const scenario *s)
{
    ca_task *t = NULL;
    assert_ok(th_new(&t, &s->items[0].m, s->items[0].now));
    bool accepted[MAXMSG] = {false}; /* by index of the reference thread */
    accepted[0] = true;
    ca_hash valid_ids[MAXMSG];
    for (size_t i = 0; i < s->valid; i++)
        valid_ids[i] = s->items[i].m.id;
    for (int layer = -1; layer <= 5; layer++) {
        size_t order[MAXMSG], n = 0;
        for (size_t i = 1; i < s->n; i++)
            if (s->items[i].layer == layer)
                order[n++] = i;
        shuffle(order, n);
        for (size_t o = 0; o < n; o++) {
            const item *it = &s->items[order[o]];
            ca_hash d0, d1;
            assert_ok(ca_task_digest(t, &d0));
            unsigned long serial = cai_error_serial();
            ca_status st = th_apply(t, &it->m, it->now);
            assert_ok(ca_task_digest(t, &d1));
            if (st != CA_OK) {
                assert_true(cai_error_serial() != serial);   /* LAST ERROR RULE */
                assert_memory_equal(d0.bytes, d1.bytes, 32); /* state untouched */
                assert_true(st < 0);
            }
            /* whatever was accepted belongs to the reference thread, once */
            size_t ref = SIZE_MAX;
            for (size_t v = 0; v < s->valid && ref == SIZE_MAX; v++)
                if (memcmp(valid_ids[v].bytes, it->m.id.bytes, 32) == 0)
                    ref = v;
            if (st == CA_OK) {
                if (ref == SIZE_MAX || accepted[ref])
                    fail_msg("message %zu (kind of expectation %d) accepted wrongly", order[o],
                             (int)it->expect);
                accepted[ref] = true;
            }
            switch (it->expect) {
            case MUST_ACCEPT:
                if (st != CA_OK && !(st == CA_ERR_TASK_DUPLICATE && accepted[ref]))
                    fail_msg("valid message %zu refused: %s (%s)", order[o], ca_status_str(st),
                             ca_last_error());
                break;
            case MUST_REJECT:
                if (st == CA_OK)
                    fail_msg("forbidden message %zu accepted", order[o]);
                break;
            case ANY_REJECT_OR_DUP:
                break;
            case MUST_EQUIVOCATE: {
                if (st != CA_ERR_TASK_EQUIVOCATION)
                    fail_msg("equivocation %zu gave %s (%s)", order[o], ca_status_str(st),
                             ca_last_error());
                ca_envelope *env = NULL;
                uint8_t ev[8192];
                size_t ev_len = 0;
                ca_agent_id off, sender;
                assert_ok(ca_envelope_decode(&env, it->m.buf, it->m.len, NULL));
                assert_ok(ca_task_evidence(t, env, ev, sizeof ev, &ev_len));
                assert_ok(ca_evidence_verify(ev, ev_len, &off, NULL, NULL, NULL));
                ca_envelope_sender(env, &sender);
                assert_memory_equal(off.bytes, sender.bytes, 32);
                ca_envelope_free(env);
                break;
            }
            }
            /* structural invariants */
            ca_task_state cur = ca_task_get_state(t);
            assert_true(cur >= CA_TASK_SUBMITTED && cur <= CA_TASK_REJECTED);
            if (cur == CA_TASK_SUBMITTED)
                assert_null(ca_task_last(t, CA_KIND_TASK_AWARD));
            else if (cur != CA_TASK_CANCELED)
                assert_non_null(ca_task_last(t, CA_KIND_TASK_AWARD));
            if (cur == CA_TASK_INPUT_REQUIRED || cur == CA_TASK_COMPLETED ||
                cur == CA_TASK_FAILED || cur == CA_TASK_REJECTED)
                assert_non_null(ca_task_last(t, CA_KIND_TASK_RESULT));
        }
    }
    return t;
}

static void test_random_interleavings(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed7a5cull;
    const char *env_seed = getenv("CA_TEST_SEED");
    if (env_seed != NULL)
        seed = strtoull(env_seed, NULL, 0);
    rng_state = seed;
    static scenario s;
    size_t states[8] = {0};
    for (int i = 0; i < TASKS; i++) {
        build(&s, TH_T0 + (uint64_t)i * 100000);
        /* the reference: the valid messages in causal order */
        ca_task *ref = NULL;
        assert_ok(th_new(&ref, &s.items[0].m, s.items[0].now));
        for (size_t v = 1; v < s.valid; v++) {
            ca_status st = th_apply(ref, &s.items[v].m, s.items[v].now);
            if (st != CA_OK)
                fail_msg("seed %#llx task %d: reference message %zu: %s (%s)",
                         (unsigned long long)seed, i, v, ca_status_str(st), ca_last_error());
        }
        assert_int_equal(ca_task_get_state(ref), s.final);
        states[s.final]++;
        ca_hash want;
        assert_ok(ca_task_digest(ref, &want));
        for (int o = 0; o < ORDERS; o++) {
            ca_task *t = deliver(&s);
            ca_hash got;
            assert_ok(ca_task_digest(t, &got));
            if (memcmp(got.bytes, want.bytes, 32) != 0)
                fail_msg("seed %#llx task %d order %d: final thread differs (state %s vs %s)",
                         (unsigned long long)seed, i, o, ca_task_state_name(ca_task_get_state(t)),
                         ca_task_state_name(s.final));
            /* the thread survives serialization and a full re-audit */
            uint8_t buf[16384];
            size_t len = 0;
            assert_ok(ca_task_serialize(t, buf, sizeof buf, &len));
            ca_task *back = NULL;
            assert_ok(ca_task_deserialize(&back, buf, len, NULL));
            assert_ok(ca_task_digest(back, &got));
            assert_memory_equal(got.bytes, want.bytes, 32);
            ca_task_free(back);
            ca_task_free(t);
        }
        ca_task_free(ref);
    }
    /* every ending was exercised (checked for the default seed) */
    for (int st = CA_TASK_SUBMITTED + 1; env_seed == NULL && st <= CA_TASK_REJECTED; st++)
        if (states[st] == 0)
            fail_msg("no task ended %s", ca_task_state_name((ca_task_state)st));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_interleavings),
    };
    return cmocka_run_group_tests_name("task_random", tests, setup, teardown);
}
