/*
 * Delegates in the routing registry (routing.h, DELEGATES): registration
 * under a chain, the capabilities a chain grants, the delegator's weight,
 * chain expiry, and revocations: a stranger's has no force, an intermediate
 * link removes everything under it, made-up revocations change nothing and
 * keep nothing, the cost is counted per delegate under the revoked link.
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "routing/routing_internal.h"
#include "test_util.h"

#define NOW  1700000000000ull
#define HOUR 3600000ull
#define NK   64

enum { P, D, S, X, Q, E0 }; /* E0 .. NK - 1: delegates under D */
static ca_identity *keys[NK];
static ca_agent_id ids[NK];

static int setup(void **state)
{
    (void)state;
    return test_keys_new(keys, ids, NK, 0x40, 0x91);
}

static int teardown(void **state)
{
    (void)state;
    return test_keys_free(keys, NK);
}

static ca_delegation *dlg(int issuer, int audience, const char *cap, uint64_t expires,
                          const ca_hash *parent, ca_hash *id)
{
    ca_delegation_params p;
    assert_ok(ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION));
    const char *caps[1] = {cap};
    p.audience = &ids[audience];
    p.capabilities = caps;
    p.capability_count = 1;
    p.total_cap = 1000;
    p.task_cap = 100;
    p.not_before = NOW - HOUR;
    p.expires_at = expires;
    p.parent = parent;
    p.created_at = NOW - HOUR;
    uint8_t buf[2048];
    size_t len = 0;
    assert_ok(ca_delegation_sign(keys[issuer], &p, buf, sizeof buf, &len, id));
    ca_delegation *d = NULL;
    assert_ok(ca_delegation_open(&d, buf, len));
    return d;
}

/* `who`'s card offering llm.translate.en-fr and img.resize, valid for two hours. */
static ca_card *card_of(int who, uint64_t seq)
{
    const ca_card_capability caps[] = {{"llm.translate.en-fr", 100, 500}, {"img.resize", 50, 0}};
    ca_card_params p;
    assert_ok(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION));
    p.name = "delegate";
    p.endpoint = "nats://agents.delegate";
    p.stake = 7;
    p.not_before = NOW - 1000;
    p.not_after = NOW + 2 * HOUR;
    p.sequence = seq;
    p.capabilities = caps;
    p.capability_size = sizeof caps[0];
    p.capability_count = 2;
    p.created_at = NOW;
    uint8_t buf[1024];
    size_t len = 0;
    assert_ok(ca_card_sign(keys[who], &p, buf, sizeof buf, &len, NULL));
    ca_card *c = NULL;
    assert_ok(ca_card_open(&c, buf, len, NOW, NULL));
    return c;
}

static ca_status add(ca_routing *rt, int who, ca_delegation **chain, size_t n, uint64_t now)
{
    ca_card *c = card_of(who, 1);
    ca_status st =
        ca_routing_add_delegate(rt, c, (const ca_delegation *const *)chain, n, NULL, now);
    ca_card_free(c);
    return st;
}

static ca_status revoke(ca_routing *rt, int who, const ca_hash *what, size_t *removed)
{
    uint8_t buf[512];
    size_t len = 0;
    assert_ok(
        ca_revocation_sign(keys[who], what, NOW, NOW + 48 * HOUR, buf, sizeof buf, &len, NULL));
    return ca_routing_add_revocation(rt, buf, len, NOW, removed);
}

/* The agents a query for `cap` returns (plain and Thompson), as a count; 1 if `who` is one. */
static int listed(const ca_routing *rt, const char *cap, int who, size_t *count)
{
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = cap;
    q.capability_len = strlen(cap);
    q.now = NOW;
    ca_routing_result r[NK];
    size_t n = 0, nt = 0;
    assert_ok(ca_routing_select(rt, &q, r, sizeof r[0], NK, &n));
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found |= memcmp(r[i].agent.bytes, ids[who].bytes, 32) == 0;
    q.thompson = 1;
    q.seed = 42;
    assert_ok(ca_routing_select(rt, &q, r, sizeof r[0], NK, &nt));
    assert_int_equal(n, nt);
    int found_t = 0;
    for (size_t i = 0; i < nt; i++)
        found_t |= memcmp(r[i].agent.bytes, ids[who].bytes, 32) == 0;
    assert_int_equal(found, found_t);
    if (count != NULL)
        *count = n;
    return found;
}

static ca_routing *new_rt(size_t max_revocations)
{
    ca_routing_options o;
    assert_ok(ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION));
    o.max_revocations = max_revocations;
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, &o));
    return rt;
}

/* A delegate is listed for what the chain grants, weighs what its delegator weighs. */
static void test_register(void **state)
{
    (void)state;
    ca_routing *rt = new_rt(16);
    /* The delegator is registered with its own card and reputation. */
    ca_card *pc = card_of(P, 1);
    assert_ok(ca_routing_add_card(rt, pc, NOW));
    ca_card_free(pc);
    assert_ok(ca_routing_set_stake(rt, &ids[P], 123456));
    assert_ok(ca_routing_set_reputation(rt, &ids[P], 900000));
    ca_hash l0;
    ca_delegation *c = dlg(P, D, "llm.*", NOW + 24 * HOUR, NULL, &l0);
    assert_ok(add(rt, D, &c, 1, NOW));
    assert_int_equal(ca_routing_delegate_count(rt), 1);
    assert_int_equal(ca_routing_count(rt), 2);
    assert_true(listed(rt, "llm.translate.en-fr", D, NULL));
    assert_false(listed(rt, "img.resize", D, NULL)); /* on its card, not granted */
    assert_true(listed(rt, "img.resize", P, NULL));
    ca_routing_agent_info ai = {.version = CA_ROUTING_AGENT_INFO_VERSION};
    assert_ok(ca_routing_get(rt, &ids[D], &ai));
    assert_int_equal(ai.delegated, 1);
    assert_memory_equal(ai.principal.bytes, ids[P].bytes, 32);
    assert_memory_equal(ai.leaf.bytes, l0.bytes, 32);
    assert_int_equal(ai.capability_count, 1);
    assert_int_equal(ai.stake, 123456);
    assert_int_equal(ai.stake_from_ledger, 1);
    assert_int_equal(ai.reputation_ppm, 900000);
    assert_int_equal(ai.valid_until, NOW + 2 * HOUR); /* the card ends before the chain */
    /* A plain agent reports itself; a version-1 struct is filled up to its end. */
    assert_ok(ca_routing_get(rt, &ids[P], &ai));
    assert_int_equal(ai.delegated, 0);
    assert_memory_equal(ai.principal.bytes, ids[P].bytes, 32);
    ca_routing_agent_info v1;
    memset(&v1, 0xcd, sizeof v1);
    v1.version = 1;
    assert_ok(ca_routing_get(rt, &ids[D], &v1));
    assert_int_equal(v1.delegated, (int)0xcdcdcdcd);
    /* The same card and chain again: renewed; the same card with another chain: a conflict. */
    assert_ok(add(rt, D, &c, 1, NOW));
    ca_hash l0b;
    ca_delegation *c2 = dlg(P, D, "llm.*", NOW + 25 * HOUR, NULL, &l0b);
    assert_status(CA_ERR_ROUTING_CONFLICT, add(rt, D, &c2, 1, NOW));
    ca_card *dc = card_of(D, 1);
    assert_status(CA_ERR_ROUTING_CONFLICT, ca_routing_add_card(rt, dc, NOW));
    ca_card_free(dc);
    /* A higher sequence moves it to the new chain; a plain card makes it plain. */
    dc = card_of(D, 2);
    assert_ok(ca_routing_add_delegate(rt, dc, (const ca_delegation *const *)&c2, 1, NULL, NOW));
    ca_card_free(dc);
    assert_ok(ca_routing_get(rt, &ids[D], &ai));
    assert_memory_equal(ai.leaf.bytes, l0b.bytes, 32);
    assert_int_equal(rt->nlinks, 1); /* the old link left the index with its last delegate */
    dc = card_of(D, 3);
    assert_ok(ca_routing_add_card(rt, dc, NOW));
    ca_card_free(dc);
    assert_int_equal(ca_routing_delegate_count(rt), 0);
    assert_int_equal(rt->nlinks, 0);
    assert_ok(cai_routing_check(rt));
    ca_delegation_free(c);
    ca_delegation_free(c2);
    ca_routing_free(rt);
}

/* Refusals: another delegate's chain, nothing granted, an expired or forged chain. */
static void test_refusals(void **state)
{
    (void)state;
    ca_routing *rt = new_rt(16);
    ca_hash id;
    ca_delegation *c = dlg(P, X, "llm.*", NOW + HOUR, NULL, &id);
    assert_status(CA_ERR_DELEGATION_AUDIENCE, add(rt, D, &c, 1, NOW));
    ca_delegation_free(c);
    c = dlg(P, D, "audio.*", NOW + HOUR, NULL, &id);
    assert_status(CA_ERR_DELEGATION_CAPABILITY, add(rt, D, &c, 1, NOW));
    ca_delegation_free(c);
    c = dlg(P, D, "llm.*", NOW - 1, NULL, &id);
    assert_status(CA_ERR_EXPIRED, add(rt, D, &c, 1, NOW));
    ca_delegation_free(c);
    ca_delegation *ch[2];
    ca_hash l0, l1;
    ch[0] = dlg(P, X, "llm.*", NOW + HOUR, NULL, &l0);
    ch[1] = dlg(X, D, "*", NOW + HOUR, &l0, &l1); /* widens llm.* to * */
    assert_status(CA_ERR_DELEGATION_CAPABILITY, add(rt, D, ch, 2, NOW));
    ca_delegation_free(ch[0]);
    ca_delegation_free(ch[1]);
    assert_int_equal(ca_routing_count(rt), 0);
    assert_int_equal(ca_routing_delegate_count(rt), 0);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_routing_add_delegate(rt, NULL, NULL, 0, NULL, NOW));
    ca_routing_free(rt);
}

/* The chain's expiry ends the registration, before the card's. */
static void test_chain_expires(void **state)
{
    (void)state;
    ca_routing *rt = new_rt(16);
    ca_hash id;
    ca_delegation *c = dlg(P, D, "llm.*", NOW + 1000, NULL, &id);
    assert_ok(add(rt, D, &c, 1, NOW));
    ca_routing_agent_info ai = {.version = CA_ROUTING_AGENT_INFO_VERSION};
    assert_ok(ca_routing_get(rt, &ids[D], &ai));
    assert_int_equal(ai.valid_until, NOW + 1000);
    size_t removed = 0;
    assert_ok(ca_routing_expire(rt, NOW + 1000, &removed));
    assert_int_equal(removed, 0);
    assert_ok(ca_routing_expire(rt, NOW + 1001, &removed));
    assert_int_equal(removed, 1);
    assert_int_equal(ca_routing_delegate_count(rt), 0);
    assert_int_equal(rt->nlinks, 0);
    ca_delegation_free(c);
    ca_routing_free(rt);
}

/*
 * P -> D, then D -> E0 .. E0 + k - 1 (delegates under D's link) and Q -> X
 * elsewhere. A stranger's and a delegate's own revocations of links above
 * them have no force; P's revocation of P -> D removes every Ei, not X; the
 * counted work is the members of the link, whatever else is registered.
 */
static void test_revocation(void **state)
{
    (void)state;
    ca_routing *rt = new_rt(16);
    ca_hash l0, lx, li[NK];
    ca_delegation *root = dlg(P, D, "llm.*", NOW + 24 * HOUR, NULL, &l0);
    const int k = 20;
    ca_delegation *sub[NK];
    for (int i = 0; i < k; i++) {
        sub[i] = dlg(D, E0 + i, "llm.translate.*", NOW + 24 * HOUR, &l0, &li[i]);
        ca_delegation *ch[2] = {root, sub[i]};
        assert_ok(add(rt, E0 + i, ch, 2, NOW));
    }
    ca_delegation *xc = dlg(Q, X, "llm.*", NOW + 24 * HOUR, NULL, &lx);
    assert_ok(add(rt, X, &xc, 1, NOW));
    /* Others too: plain agents, which a revocation never visits. */
    for (int i = E0 + k; i < NK; i++) {
        ca_card *c = card_of(i, 1);
        assert_ok(ca_routing_add_card(rt, c, NOW));
        ca_card_free(c);
    }
    assert_int_equal(ca_routing_delegate_count(rt), (size_t)k + 1);
    assert_int_equal(rt->nlinks, (size_t)k + 2);

    size_t removed = 99;
    /* A stranger revokes the root, the middle links, X's chain: no force, nothing kept. */
    assert_ok(revoke(rt, S, &l0, &removed));
    assert_int_equal(removed, 0);
    assert_ok(revoke(rt, S, &li[0], &removed));
    assert_ok(revoke(rt, S, &lx, &removed));
    /* E0 revokes the link above the one it holds; D the root it received: no force. */
    assert_ok(revoke(rt, E0, &l0, &removed));
    assert_ok(revoke(rt, D, &l0, &removed));
    assert_int_equal(removed, 0);
    assert_int_equal(rt->nrevoked, 0);
    assert_int_equal(ca_routing_delegate_count(rt), (size_t)k + 1);
    assert_true(listed(rt, "llm.translate.en-fr", E0, NULL));

    /* D revokes one link it issued: that delegate only. */
    assert_ok(revoke(rt, D, &li[0], &removed));
    assert_int_equal(removed, 1);
    assert_false(listed(rt, "llm.translate.en-fr", E0, NULL));
    assert_true(listed(rt, "llm.translate.en-fr", E0 + 1, NULL));
    /* P revokes the root: everything under it goes, X stays; counted work = members. */
    uint64_t before = rt->revocation_steps;
    assert_ok(revoke(rt, P, &l0, &removed));
    assert_int_equal(removed, (size_t)k - 1);
    assert_true(rt->revocation_steps - before <= 2 + (uint64_t)(k - 1));
    size_t n = 0;
    for (int i = 0; i < k; i++)
        assert_false(listed(rt, "llm.translate.en-fr", E0 + i, &n));
    assert_true(listed(rt, "llm.translate.en-fr", X, NULL));
    assert_int_equal(ca_routing_delegate_count(rt), 1);
    assert_int_equal(rt->nlinks, 1);
    /* The bids of revoked delegates rank as unknown. */
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = "llm.translate.en-fr";
    q.capability_len = strlen(q.capability);
    q.now = NOW;
    ca_routing_bid b = {ids[E0 + 1], 10, 0};
    ca_routing_result r;
    assert_status(CA_ERR_NOT_FOUND, ca_routing_score_bid(rt, &q, &b, sizeof b, &r, sizeof r));
    /* From then on no chain holding a revoked link is added, however it comes. */
    ca_delegation *ch[2] = {root, sub[1]};
    assert_status(CA_ERR_DELEGATION_REVOKED, add(rt, E0 + 1, ch, 2, NOW));
    ch[1] = sub[0];
    assert_status(CA_ERR_DELEGATION_REVOKED, add(rt, E0, ch, 2, NOW));
    assert_status(CA_ERR_DELEGATION_REVOKED, add(rt, D, &root, 1, NOW));
    assert_int_equal(rt->nrevoked, 2);
    /* The same revocation again changes nothing. */
    assert_ok(revoke(rt, P, &l0, &removed));
    assert_int_equal(removed, 0);
    assert_int_equal(rt->nrevoked, 2);
    assert_ok(cai_routing_check(rt));
    /* The revoked links are forgotten after their own expiry. */
    assert_ok(ca_routing_expire(rt, NOW + 24 * HOUR + 1, NULL));
    assert_int_equal(rt->nrevoked, 0);
    for (int i = 0; i < k; i++)
        ca_delegation_free(sub[i]);
    ca_delegation_free(root);
    ca_delegation_free(xc);
    ca_routing_free(rt);
}

/* A flood of revocations of made-up delegations: bounded work, nothing kept or changed. */
static void test_revocation_flood(void **state)
{
    (void)state;
    ca_routing *rt = new_rt(4);
    ca_hash l0;
    ca_delegation *c = dlg(P, D, "llm.*", NOW + 24 * HOUR, NULL, &l0);
    assert_ok(add(rt, D, &c, 1, NOW));
    const size_t bytes = cai_routing_delegate_bytes(rt);
    const uint64_t steps = rt->revocation_steps;
    const int flood = 2000;
    for (int i = 0; i < flood; i++) {
        ca_hash made_up;
        memset(made_up.bytes, 0, 32);
        memcpy(made_up.bytes, &i, sizeof i);
        size_t removed = 9;
        assert_ok(revoke(rt, i % 2 ? S : P, &made_up, &removed));
        assert_int_equal(removed, 0);
    }
    assert_int_equal(rt->revocation_steps - steps, (uint64_t)flood); /* one lookup each */
    assert_int_equal(rt->nrevoked, 0);
    assert_int_equal(cai_routing_delegate_bytes(rt), bytes);
    assert_true(listed(rt, "llm.translate.en-fr", D, NULL));
    /* A forged revocation is refused before anything. */
    uint8_t buf[512];
    size_t len = 0;
    assert_ok(ca_revocation_sign(keys[P], &l0, NOW, NOW + HOUR, buf, sizeof buf, &len, NULL));
    buf[len - 1] ^= 1;
    assert_status(CA_ERR_BAD_SIGNATURE, ca_routing_add_revocation(rt, buf, len, NOW, NULL));
    assert_int_equal(ca_routing_delegate_count(rt), 1);
    ca_delegation_free(c);
    ca_routing_free(rt);
}

/* The revoked links the registry remembers are bounded by max_revocations. */
static void test_revocation_limit(void **state)
{
    (void)state;
    ca_routing *rt = new_rt(2);
    ca_hash l[3];
    ca_delegation *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = dlg(P, E0 + i, "llm.*", NOW + 24 * HOUR, NULL, &l[i]);
        assert_ok(add(rt, E0 + i, &c[i], 1, NOW));
    }
    size_t removed = 0;
    assert_ok(revoke(rt, P, &l[0], &removed));
    assert_ok(revoke(rt, P, &l[1], &removed));
    assert_status(CA_ERR_LIMIT, revoke(rt, P, &l[2], &removed));
    assert_int_equal(removed, 0);
    assert_true(listed(rt, "llm.translate.en-fr", E0 + 2, NULL)); /* unchanged */
    assert_int_equal(rt->nrevoked, 2);
    /* The caller's own revocations apply at the add too. */
    ca_revocation_set *set = NULL;
    assert_ok(ca_revocation_set_new(&set, 4));
    uint8_t buf[512];
    size_t len = 0;
    ca_hash lq;
    ca_delegation *q = dlg(Q, X, "llm.*", NOW + HOUR, NULL, &lq);
    assert_ok(ca_revocation_sign(keys[Q], &lq, NOW, NOW + HOUR, buf, sizeof buf, &len, NULL));
    assert_ok(ca_revocation_set_add(set, buf, len));
    ca_delegation_verify_options vo;
    assert_ok(ca_delegation_verify_options_init(&vo, CA_DELEGATION_VERIFY_OPTIONS_VERSION));
    vo.revocations = set;
    ca_card *xc = card_of(X, 1);
    assert_status(CA_ERR_DELEGATION_REVOKED,
                  ca_routing_add_delegate(rt, xc, (const ca_delegation *const *)&q, 1, &vo, NOW));
    ca_card_free(xc);
    ca_revocation_set_free(set);
    ca_delegation_free(q);
    for (int i = 0; i < 3; i++)
        ca_delegation_free(c[i]);
    ca_routing_free(rt);
}

/* max_delegates bounds the delegates, and the index's memory with them. */
static void test_delegate_limit(void **state)
{
    (void)state;
    ca_routing_options o;
    assert_ok(ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION));
    o.max_delegates = 3;
    o.max_revocations = 4;
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, &o));
    ca_hash l0, li;
    ca_delegation *root = dlg(P, D, "llm.*", NOW + HOUR, NULL, &l0);
    for (int i = 0; i < 4; i++) {
        ca_delegation *ch[2] = {root, dlg(D, E0 + i, "llm.*", NOW + HOUR, &l0, &li)};
        assert_status(i < 3 ? CA_OK : CA_ERR_LIMIT, add(rt, E0 + i, ch, 2, NOW));
        ca_delegation_free(ch[1]);
    }
    assert_int_equal(ca_routing_delegate_count(rt), 3);
    size_t removed = 0;
    assert_ok(revoke(rt, P, &l0, &removed));
    assert_int_equal(removed, 3);
    assert_int_equal(sizeof(cai_delegate) + 8 * (sizeof(cai_rlink) + 32), 1128);
    assert_int_equal(sizeof(cai_revoked) + 32, 72);
    assert_true(cai_routing_delegate_bytes(rt) <= CAI_ROUTING_DELEGATES_BYTES(3, 4));
    ca_delegation_free(root);
    ca_routing_free(rt);
}

/* The ledger sync gives a delegate its delegator's stake, not its own account's. */
static void test_sync_stakes(void **state)
{
    (void)state;
    ca_agent_id auth, arb;
    memset(auth.bytes, 0xA1, 32);
    memset(arb.bytes, 0xA2, 32);
    ca_ledger_options lo;
    assert_ok(ca_ledger_options_init(&lo, CA_LEDGER_OPTIONS_VERSION));
    lo.authority = auth;
    lo.arbiter = arb;
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &lo));
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    op.signer = auth;
    op.nonce = 1;
    op.counterparty = ids[P];
    op.amount = 100000;
    assert_ok(ca_ledger_apply(l, &op, 0, NULL));
    op.counterparty = ids[D];
    op.nonce = 2;
    assert_ok(ca_ledger_apply(l, &op, 0, NULL));
    ca_ledger_op bond = {.version = CA_LEDGER_OP_VERSION};
    bond.type = CA_LEDGER_OP_BOND;
    bond.signer = ids[P];
    bond.nonce = 1;
    bond.amount = 5000;
    assert_ok(ca_ledger_apply(l, &bond, 0, NULL));
    bond.signer = ids[D];
    bond.amount = 3;
    assert_ok(ca_ledger_apply(l, &bond, 0, NULL));

    ca_routing *rt = new_rt(4);
    ca_hash l0;
    ca_delegation *c = dlg(P, D, "llm.*", NOW + HOUR, NULL, &l0);
    assert_ok(add(rt, D, &c, 1, NOW));
    ca_routing_agent_info ai = {.version = CA_ROUTING_AGENT_INFO_VERSION};
    assert_ok(ca_routing_get(rt, &ids[D], &ai));
    assert_int_equal(ai.stake, 7); /* the card's claim, until a sync */
    assert_ok(ca_routing_sync_stakes(rt, l, NOW));
    assert_ok(ca_routing_get(rt, &ids[D], &ai));
    assert_int_equal(ai.stake, 5000); /* P's bond, not D's 3 */
    assert_int_equal(ai.stake_from_ledger, 1);
    assert_ok(cai_routing_check(rt));
    ca_delegation_free(c);
    ca_routing_free(rt);
    ca_ledger_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register),         cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_chain_expires),    cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_revocation_flood), cmocka_unit_test(test_revocation_limit),
        cmocka_unit_test(test_delegate_limit),   cmocka_unit_test(test_sync_stakes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
