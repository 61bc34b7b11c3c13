/*
 * The experimental API (docs/ABI.md, "Public surface at 1.0"), compiled with
 * CA_EXPERIMENTAL against the library sources that hold it (built again with
 * the macro: tests/cmake/experimental.cmake). Only public declarations are
 * used here; test_util.h brings the status assertions.
 */
#ifndef CA_EXPERIMENTAL
#error "test_experimental is compiled with CA_EXPERIMENTAL"
#endif

#include <stdlib.h>

#include "cyberagent.h"
#include "test_util.h"

static ca_agent_id make_id(uint32_t n)
{
    ca_agent_id id;
    uint64_t x = n * 0x9e3779b97f4a7c15u + 7;
    for (int i = 0; i < 32; i++) {
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9u;
        id.bytes[i] = (uint8_t)(x >> 56);
    }
    return id;
}

/* One agent offering "ml.ocr" at `price`, valid over [0, 1000]. */
static ca_routing_entry entry(const ca_agent_id *agent, uint64_t seq,
                              const ca_routing_capability *cap)
{
    ca_routing_entry e;
    memset(&e, 0, sizeof e);
    e.agent = *agent;
    e.sequence = seq;
    e.valid_until = 1000;
    e.name = "ocr";
    e.name_len = 3;
    e.endpoint = (const uint8_t *)"nats.ocr";
    e.endpoint_len = 8;
    e.capabilities = cap;
    e.capability_count = 1;
    return e;
}

static void test_add_entry(void **state)
{
    (void)state;
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, NULL));
    ca_agent_id a = make_id(1);
    ca_routing_capability cap = {"ml.ocr", 6, 40, 0};
    ca_routing_entry e = entry(&a, 2, &cap);
    assert_ok(ca_routing_add_entry(rt, &e, 10));
    assert_int_equal(ca_routing_count(rt), 1);
    ca_routing_agent_info info = {.version = CA_ROUTING_AGENT_INFO_VERSION};
    assert_ok(ca_routing_get(rt, &a, &info));
    assert_int_equal(info.sequence, 2);
    assert_int_equal(info.capability_count, 1);
    char name[8];
    size_t n = 0;
    assert_ok(ca_routing_name(rt, &a, name, sizeof name, &n));
    assert_string_equal(name, "ocr");

    /* The card add's rules: same sequence, other content; a lower sequence. */
    cap.price = 41;
    assert_status(CA_ERR_ROUTING_CONFLICT, ca_routing_add_entry(rt, &e, 10));
    e.sequence = 1;
    assert_status(CA_ERR_ROUTING_STALE, ca_routing_add_entry(rt, &e, 10));
    /* The card's limits: more capabilities than a card carries, or none given. */
    e.sequence = 3;
    e.capability_count = CA_CARD_CAPABILITIES_MAX + 1;
    assert_status(CA_ERR_LIMIT, ca_routing_add_entry(rt, &e, 10));
    e.capability_count = 1;
    e.capabilities = NULL;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_routing_add_entry(rt, &e, 10));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_routing_add_entry(rt, NULL, 10));
    assert_ok(ca_routing_get(rt, &a, &info));
    assert_int_equal(info.sequence, 2); /* every refusal left the registry as it was */
    ca_routing_free(rt);
}

static void test_thompson_sample(void **state)
{
    (void)state;
    /* The sampler's known answers (the ones test_routing pins for the internal sampler). */
    ca_agent_id id = make_id(1);
    uint32_t v = 0;
    assert_ok(ca_routing_thompson_sample(1, &id, 0, 0, &v));
    assert_int_equal(v, 315844);
    assert_ok(ca_routing_thompson_sample(2, &id, 10000, 0, &v));
    assert_int_equal(v, 908982);
    assert_ok(ca_routing_thompson_sample(3, &id, 1000000, 3000000, &v));
    assert_int_equal(v, 255268);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_routing_thompson_sample(1, NULL, 0, 0, &v));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_routing_thompson_sample(1, &id, 0, 0, NULL));

    /* Exactly what ca_routing_select draws under exploration, for every seed tried. */
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, NULL));
    ca_agent_id a = make_id(7);
    ca_routing_capability cap = {"ml.ocr", 6, 40, 0};
    ca_routing_entry e = entry(&a, 1, &cap);
    assert_ok(ca_routing_add_entry(rt, &e, 10));
    assert_ok(ca_routing_set_evidence(rt, &a, 9000, 1000));
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = "ml.ocr";
    q.capability_len = 6;
    q.now = 10;
    q.thompson = 1;
    uint32_t distinct = 0, first = 0;
    for (uint64_t seed = 0; seed < 32; seed++) {
        q.seed = seed;
        ca_routing_result r;
        size_t got = 0;
        assert_ok(ca_routing_select(rt, &q, &r, sizeof(ca_routing_result), 1, &got));
        assert_int_equal(got, 1);
        assert_ok(ca_routing_thompson_sample(seed, &a, 9000, 1000, &v));
        assert_int_equal(r.reputation_ppm, v);
        if (seed == 0)
            first = v;
        distinct += v != first;
    }
    assert_true(distinct > 0); /* the seed matters */
    ca_routing_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_entry),
        cmocka_unit_test(test_thompson_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
