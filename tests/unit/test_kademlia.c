/* Kademlia table: bucket index, the classic insert/evict policy with a
 * replacement cache, and closest-k against a brute-force scan. */
#include <stdlib.h>

#include "cyberagent.h"
#include "routing/routing_internal.h"
#include "test_util.h"

static uint64_t rs = 88172645463325252u;
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

static int xor_cmp(const ca_agent_id *t, const ca_agent_id *a, const ca_agent_id *b)
{
    for (int i = 0; i < 32; i++) {
        int da = t->bytes[i] ^ a->bytes[i], db = t->bytes[i] ^ b->bytes[i];
        if (da != db)
            return da < db ? -1 : 1;
    }
    return 0;
}

static const ca_agent_id *sort_target;
static int by_distance(const void *a, const void *b)
{
    return xor_cmp(sort_target, a, b);
}

/* Brute force: sort a copy of the set by distance to target. */
static void check_closest(const ca_kad *kad, const ca_agent_id *set, size_t n,
                          const ca_agent_id *target, size_t k)
{
    ca_agent_id *copy = malloc((n ? n : 1) * sizeof *copy);
    ca_agent_id *got = malloc((k ? k : 1) * sizeof *got);
    assert_non_null(copy);
    assert_non_null(got);
    memcpy(copy, set, n * sizeof *copy);
    sort_target = target;
    qsort(copy, n, sizeof *copy, by_distance);
    size_t cnt = 0;
    assert_ok(ca_kad_closest(kad, target, got, k, &cnt));
    assert_int_equal(cnt, n < k ? n : k);
    for (size_t i = 0; i < cnt; i++)
        assert_memory_equal(got[i].bytes, copy[i].bytes, 32);
    free(copy);
    free(got);
}

static void test_bucket_index(void **state)
{
    (void)state;
    ca_agent_id self, id;
    memset(self.bytes, 0, 32);
    id = self;
    assert_int_equal(cai_kad_bucket_index(&self, &id), 256);
    id.bytes[0] = 0x80;
    assert_int_equal(cai_kad_bucket_index(&self, &id), 0);
    id.bytes[0] = 0x01;
    assert_int_equal(cai_kad_bucket_index(&self, &id), 7);
    id.bytes[0] = 0;
    id.bytes[31] = 1;
    assert_int_equal(cai_kad_bucket_index(&self, &id), 255);
    ca_kad_options o;
    assert_ok(ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION));
    assert_int_equal(o.bucket_size, 20);
    assert_status(CA_ERR_UNSUPPORTED, ca_kad_options_init(&o, 2));
    o.bucket_size = 0;
    ca_kad *kad = NULL;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_kad_new(&kad, &self, &o));
    assert_null(kad);
    ca_kad_free(NULL);
}

/* An id in bucket 0 relative to an all-zero self: first bit set, then n. */
static ca_agent_id far_id(uint8_t n)
{
    ca_agent_id id;
    memset(id.bytes, 0, 32);
    id.bytes[0] = 0x80;
    id.bytes[31] = n;
    return id;
}

static void test_policy(void **state)
{
    (void)state;
    ca_agent_id self;
    memset(self.bytes, 0, 32);
    ca_kad_options o;
    assert_ok(ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION));
    o.bucket_size = 2;
    o.cache_size = 2;
    ca_kad *kad = NULL;
    assert_ok(ca_kad_new(&kad, &self, &o));
    ca_kad_outcome out;
    ca_agent_id a = far_id(1), b = far_id(2), c = far_id(3), d = far_id(4), e = far_id(5);
    assert_ok(ca_kad_seen(kad, &self, &out));
    assert_int_equal(out, CA_KAD_IGNORED);
    assert_ok(ca_kad_seen(kad, &a, &out));
    assert_int_equal(out, CA_KAD_ADDED);
    assert_ok(ca_kad_seen(kad, &b, &out));
    assert_int_equal(out, CA_KAD_ADDED);
    assert_ok(ca_kad_seen(kad, &a, &out));
    assert_int_equal(out, CA_KAD_REFRESHED);
    /* Full bucket keeps its long-lived contacts. */
    assert_ok(ca_kad_seen(kad, &c, &out));
    assert_int_equal(out, CA_KAD_CACHED);
    assert_ok(ca_kad_seen(kad, &d, &out));
    assert_int_equal(out, CA_KAD_CACHED);
    assert_ok(ca_kad_seen(kad, &e, &out)); /* cache bound 2: c, the oldest, goes */
    assert_int_equal(out, CA_KAD_CACHED);
    assert_int_equal(ca_kad_count(kad), 2);
    ca_agent_id got[8];
    size_t n;
    assert_ok(ca_kad_closest(kad, &self, got, 8, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(got[0].bytes, a.bytes, 32);
    assert_memory_equal(got[1].bytes, b.bytes, 32);
    /* A failure promotes the most recent cached id (e). */
    assert_ok(ca_kad_mark_failed(kad, &a));
    assert_ok(ca_kad_closest(kad, &self, got, 8, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(got[0].bytes, b.bytes, 32);
    assert_memory_equal(got[1].bytes, e.bytes, 32);
    assert_status(CA_ERR_NOT_FOUND, ca_kad_mark_failed(kad, &a)); /* gone */
    assert_status(CA_ERR_NOT_FOUND, ca_kad_mark_failed(kad, &d)); /* cached, not a contact */
    /* Next failure promotes d; then the cache is empty. */
    assert_ok(ca_kad_mark_failed(kad, &b));
    assert_ok(ca_kad_closest(kad, &self, got, 8, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(got[0].bytes, d.bytes, 32);
    assert_memory_equal(got[1].bytes, e.bytes, 32);
    /* With no cache, a failed contact stays but is skipped, and gives way to a newcomer. */
    assert_ok(ca_kad_mark_failed(kad, &d));
    assert_int_equal(ca_kad_count(kad), 1);
    assert_ok(ca_kad_closest(kad, &self, got, 8, &n));
    assert_int_equal(n, 1);
    assert_memory_equal(got[0].bytes, e.bytes, 32);
    assert_ok(ca_kad_seen(kad, &d, &out)); /* it answers again */
    assert_int_equal(out, CA_KAD_REFRESHED);
    assert_int_equal(ca_kad_count(kad), 2);
    assert_ok(ca_kad_mark_failed(kad, &d));
    assert_ok(ca_kad_seen(kad, &c, &out));
    assert_int_equal(out, CA_KAD_REPLACED);
    assert_ok(ca_kad_closest(kad, &self, got, 8, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(got[0].bytes, c.bytes, 32);
    assert_memory_equal(got[1].bytes, e.bytes, 32);
    /* Other buckets are independent. */
    ca_agent_id near = self;
    near.bytes[31] = 1;
    assert_ok(ca_kad_seen(kad, &near, &out));
    assert_int_equal(out, CA_KAD_ADDED);
    assert_ok(ca_kad_remove(kad, &near));
    assert_status(CA_ERR_NOT_FOUND, ca_kad_remove(kad, &near));
    assert_ok(ca_kad_remove(kad, &c));
    assert_ok(ca_kad_remove(kad, &e));
    assert_int_equal(ca_kad_count(kad), 0);
    assert_ok(ca_kad_closest(kad, &self, got, 8, &n));
    assert_int_equal(n, 0);
    assert_ok(cai_kad_check(kad));
    ca_kad_free(kad);
}

static void test_closest_vs_brute_force(void **state)
{
    (void)state;
    ca_agent_id self;
    rand_id(&self);
    ca_kad_options o;
    assert_ok(ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION));
    o.bucket_size = 1u << 20; /* keep everything */
    ca_kad *kad = NULL;
    assert_ok(ca_kad_new(&kad, &self, &o));
    enum { N = 3000 };
    static ca_agent_id set[N];
    size_t n = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 500; i++) {
            rand_id(&set[n]);
            if (rnd() % 4 == 0 && n > 0) { /* share a long prefix with an existing id */
                ca_agent_id base = set[rnd() % n];
                size_t keep = rnd() % 32;
                memcpy(set[n].bytes, base.bytes, keep);
            }
            ca_kad_outcome out;
            assert_ok(ca_kad_seen(kad, &set[n], &out));
            assert_int_equal(out, CA_KAD_ADDED);
            n++;
        }
        /* remove or fail a few (failed contacts are skipped by closest) */
        for (int i = 0; i < 100; i++) {
            size_t j = rnd() % n;
            if (rnd() % 2)
                assert_ok(ca_kad_remove(kad, &set[j]));
            else
                assert_ok(ca_kad_mark_failed(kad, &set[j]));
            set[j] = set[--n];
        }
        assert_int_equal(ca_kad_count(kad), n);
        assert_ok(cai_kad_check(kad));
        for (int t = 0; t < 60; t++) {
            ca_agent_id target;
            if (t % 3 == 0)
                target = set[rnd() % n];
            else
                rand_id(&target);
            if (t % 5 == 0)
                target.bytes[31] ^= 1;
            check_closest(kad, set, n, &target, t % 7 == 0 ? n + 5 : 1 + rnd() % 40);
        }
    }
    ca_kad_free(kad);
}

/* Random operations against a model of the policy, with small buckets. */
typedef struct mbucket {
    ca_agent_id live[4];
    int failed[4];
    int nlive;
    ca_agent_id cache[3];
    int ncache;
} mbucket;

static void test_policy_randomized(void **state)
{
    (void)state;
    ca_agent_id self;
    memset(self.bytes, 0, 32);
    ca_kad_options o;
    assert_ok(ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION));
    o.bucket_size = 4;
    o.cache_size = 3;
    ca_kad *kad = NULL;
    assert_ok(ca_kad_new(&kad, &self, &o));
    /* 3 buckets (0, 1, 2), 12 possible ids each */
    static mbucket mb[3];
    memset(mb, 0, sizeof mb);
    for (int step = 0; step < 20000; step++) {
        int bk = (int)(rnd() % 3);
        ca_agent_id id;
        memset(id.bytes, 0, 32);
        id.bytes[0] = (uint8_t)(0x80 >> bk);
        id.bytes[31] = (uint8_t)(rnd() % 12);
        mbucket *m = &mb[bk];
        int li = -1, ci = -1;
        for (int i = 0; i < m->nlive; i++)
            if (memcmp(m->live[i].bytes, id.bytes, 32) == 0)
                li = i;
        for (int i = 0; i < m->ncache; i++)
            if (memcmp(m->cache[i].bytes, id.bytes, 32) == 0)
                ci = i;
        uint64_t op = rnd() % 10;
        if (op < 6) {
            ca_kad_outcome out, want;
            if (li >= 0) {
                m->failed[li] = 0;
                ca_agent_id x = m->live[li];
                memmove(&m->live[li], &m->live[li + 1], (size_t)(m->nlive - li - 1) * sizeof x);
                memmove(&m->failed[li], &m->failed[li + 1],
                        (size_t)(m->nlive - li - 1) * sizeof(int));
                m->live[m->nlive - 1] = x;
                m->failed[m->nlive - 1] = 0;
                want = CA_KAD_REFRESHED;
            } else {
                if (ci >= 0) {
                    memmove(&m->cache[ci], &m->cache[ci + 1],
                            (size_t)(m->ncache - ci - 1) * sizeof id);
                    m->ncache--;
                }
                int fi = -1;
                for (int i = 0; i < m->nlive && fi < 0; i++)
                    if (m->failed[i])
                        fi = i;
                if (m->nlive < 4) {
                    m->live[m->nlive] = id;
                    m->failed[m->nlive++] = 0;
                    want = CA_KAD_ADDED;
                } else if (ci < 0 && fi >= 0) {
                    memmove(&m->live[fi], &m->live[fi + 1],
                            (size_t)(m->nlive - fi - 1) * sizeof id);
                    memmove(&m->failed[fi], &m->failed[fi + 1],
                            (size_t)(m->nlive - fi - 1) * sizeof(int));
                    m->live[3] = id;
                    m->failed[3] = 0;
                    want = CA_KAD_REPLACED;
                } else {
                    if (m->ncache == 3) {
                        memmove(&m->cache[0], &m->cache[1], 2 * sizeof id);
                        m->ncache--;
                    }
                    m->cache[m->ncache++] = id;
                    want = CA_KAD_CACHED;
                }
            }
            assert_ok(ca_kad_seen(kad, &id, &out));
            assert_int_equal(out, want);
        } else if (op < 9) {
            if (li < 0) {
                assert_status(CA_ERR_NOT_FOUND, ca_kad_mark_failed(kad, &id));
            } else {
                assert_ok(ca_kad_mark_failed(kad, &id));
                if (m->ncache > 0) {
                    memmove(&m->live[li], &m->live[li + 1],
                            (size_t)(m->nlive - li - 1) * sizeof id);
                    memmove(&m->failed[li], &m->failed[li + 1],
                            (size_t)(m->nlive - li - 1) * sizeof(int));
                    m->live[m->nlive - 1] = m->cache[--m->ncache];
                    m->failed[m->nlive - 1] = 0;
                } else {
                    m->failed[li] = 1;
                }
            }
        } else {
            if (li < 0 && ci < 0) {
                assert_status(CA_ERR_NOT_FOUND, ca_kad_remove(kad, &id));
            } else {
                assert_ok(ca_kad_remove(kad, &id));
                if (li >= 0) {
                    memmove(&m->live[li], &m->live[li + 1],
                            (size_t)(m->nlive - li - 1) * sizeof id);
                    memmove(&m->failed[li], &m->failed[li + 1],
                            (size_t)(m->nlive - li - 1) * sizeof(int));
                    m->nlive--;
                } else {
                    memmove(&m->cache[ci], &m->cache[ci + 1],
                            (size_t)(m->ncache - ci - 1) * sizeof id);
                    m->ncache--;
                }
            }
        }
        /* The live set agrees with the model. */
        ca_agent_id set[12];
        size_t n = 0;
        for (int b = 0; b < 3; b++)
            for (int i = 0; i < mb[b].nlive; i++)
                if (!mb[b].failed[i])
                    set[n++] = mb[b].live[i];
        assert_int_equal(ca_kad_count(kad), n);
        if (step % 7 == 0) {
            assert_ok(cai_kad_check(kad));
            ca_agent_id target;
            rand_id(&target);
            check_closest(kad, set, n, &target, 1 + rnd() % 14);
        }
    }
    ca_kad_free(kad);
}

static void test_max_contacts(void **state)
{
    (void)state;
    ca_agent_id self;
    memset(self.bytes, 0, 32);
    ca_kad_options o;
    assert_ok(ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION));
    o.max_contacts = 2;
    ca_kad *kad = NULL;
    assert_ok(ca_kad_new(&kad, &self, &o));
    ca_agent_id ids[3];
    for (int i = 0; i < 3; i++) {
        memset(ids[i].bytes, 0, 32);
        ids[i].bytes[0] = (uint8_t)(0x80 >> i); /* buckets 0, 1, 2 */
    }
    ca_kad_outcome out;
    assert_ok(ca_kad_seen(kad, &ids[0], &out));
    assert_int_equal(out, CA_KAD_ADDED);
    assert_ok(ca_kad_seen(kad, &ids[1], &out));
    assert_int_equal(out, CA_KAD_ADDED);
    assert_ok(ca_kad_seen(kad, &ids[2], &out)); /* its bucket has room, the table does not */
    assert_int_equal(out, CA_KAD_CACHED);
    assert_int_equal(ca_kad_count(kad), 2);
    assert_ok(ca_kad_remove(kad, &ids[0]));
    assert_ok(ca_kad_seen(kad, &ids[2], &out)); /* heard again, now there is room */
    assert_int_equal(out, CA_KAD_ADDED);
    assert_int_equal(ca_kad_count(kad), 2);
    assert_ok(cai_kad_check(kad));
    ca_kad_free(kad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_index),           cmocka_unit_test(test_policy),
        cmocka_unit_test(test_closest_vs_brute_force), cmocka_unit_test(test_policy_randomized),
        cmocka_unit_test(test_max_contacts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
