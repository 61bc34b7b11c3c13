/*
 * Fuzz target: routing has no decoder, so this one reads its input as a
 * stream of operations on a small registry and a small Kademlia table
 * (adds, replacements, removals, stake/reputation/evidence updates, expiry,
 * queries, bids, delegates and revocations; seen/failed/remove/closest).
 * Invariants: never crashes; every status is one the API documents; every
 * state the structures reach passes their full self-check; every query
 * answer is sorted, duplicate-free, within k, satisfies the filters, and its
 * terms add up to its score; closest answers are in XOR order.
 *
 * Speed (the campaign runs 10 million inputs; this target once did ~1,600 a
 * second) without checking any reachable state less:
 * - The full self-check runs after every operation that changed a structure
 *   (a call that returned CA_OK and can mutate, or an add whose prune removed
 *   cards) and once at the end. Queries take a const handle and failed calls
 *   change nothing, so the state after them is the one the last check saw.
 *   The checks are oracles and are not instrumented for coverage (CAI_ORACLE).
 * - Each structure is created at its first operation, so an input that only
 *   drives one of them does not pay for the other.
 * - At most MAX_OPS operations an input. The registry holds at most 12
 *   agents and 6 names, and every pool id falls in one bucket of the table
 *   (3 live + 2 cached contacts): 12 adds fill the registry and leave 20
 *   operations for what follows, while longer inputs (libFuzzer grows them
 *   towards -max_len over a campaign) would only make each execution slower.
 *   Longer seeds were cut to their first MAX_OPS operations.
 */
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "routing/routing_internal.h"

#define MAX_OPS 32

/*
 * ASan keeps freed blocks out of reuse until 256 MB more were freed; every
 * new block then comes from fresh pages, and the page faults were a quarter
 * of a replay. One input frees ~20 KB, so 16 MB still holds every freed block
 * back for hundreds of inputs: a use after free within an input (all this
 * target's state lives within one) is caught as before. ASAN_OPTIONS can
 * still override it.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

/* Plumbing, not code under test: no coverage feedback (CAI_ORACLE). */
CAI_ORACLE static uint8_t next(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static ca_agent_id pool_id(uint8_t i)
{
    ca_agent_id id;
    memset(id.bytes, 0, sizeof id.bytes);
    id.bytes[0] = (uint8_t)(i & 0xf0u); /* ids share prefixes in groups */
    id.bytes[7] = (uint8_t)(i & 0x0fu);
    id.bytes[31] = (uint8_t)(i * 37u);
    return id;
}

static const char *const caps[] = {"a", "a.b", "a.b.c", "a.c", "b", "b.a", "c.d.e", "x"};
static const char *const pats[] = {"*",   "a.*", "a",  "a.b", "a.b.*",
                                   "b.*", "c.*", "zz", "A.b", "a."};

CAI_ORACLE static int xor_le(const ca_agent_id *t, const ca_agent_id *a, const ca_agent_id *b)
{
    for (int i = 0; i < 32; i++) {
        int da = t->bytes[i] ^ a->bytes[i], db = t->bytes[i] ^ b->bytes[i];
        if (da != db)
            return da < db;
    }
    return 1;
}

CAI_ORACLE static void check_results(const ca_routing_query *q, const ca_routing_result *r,
                                     size_t n, size_t k)
{
    FUZZ_CHECK(n <= k);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(r[i].price_term + r[i].reputation_term + r[i].stake_term + r[i].latency_term ==
                   r[i].score);
        FUZZ_CHECK(r[i].price <= q->max_price && r[i].stake >= q->min_stake);
        if (q->max_latency_ms)
            FUZZ_CHECK(r[i].latency_ms != 0 && r[i].latency_ms <= q->max_latency_ms);
        FUZZ_CHECK(r[i].capability_len == strlen(r[i].capability));
        if (i > 0) {
            FUZZ_CHECK(r[i - 1].score >= r[i].score);
            if (r[i - 1].score == r[i].score)
                FUZZ_CHECK(memcmp(r[i - 1].agent.bytes, r[i].agent.bytes, 32) < 0);
        }
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(memcmp(r[j].agent.bytes, r[i].agent.bytes, 32) != 0);
    }
}

static ca_routing *new_registry(void)
{
    ca_routing_options o;
    FUZZ_CHECK(ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION) == CA_OK);
    o.max_agents = 12;
    o.max_capabilities_per_agent = 4;
    o.max_capability_names = 6;
    o.max_card_lifetime_ms = 100; /* cards live up to 765: many are kept shorter */
    ca_routing *rt = NULL;
    FUZZ_CHECK(ca_routing_new(&rt, &o) == CA_OK);
    return rt;
}

static ca_kad *new_table(void)
{
    ca_kad_options ko;
    FUZZ_CHECK(ca_kad_options_init(&ko, CA_KAD_OPTIONS_VERSION) == CA_OK);
    ko.bucket_size = 3;
    ko.cache_size = 2;
    ko.max_contacts = 20;
    ca_agent_id self = pool_id(0x55);
    ca_kad *kad = NULL;
    FUZZ_CHECK(ca_kad_new(&kad, &self, &ko) == CA_OK);
    return kad;
}

/*
 * A chain of `depth` links down a small tree: link i is named by the choices
 * (one byte each, % 3) on the path to it, its issuer is the pool agent of its
 * path (so one link always has one issuer, as a signature makes it), expiries
 * narrow down the chain.
 */
static void fuzz_chain(reader *rd, cai_delegate_in *in, uint32_t depth, uint64_t now)
{
    uint8_t path[CA_DELEGATION_MAX_DEPTH] = {0};
    in->depth = depth;
    for (uint32_t i = 0; i < depth; i++) {
        path[i] = (uint8_t)(next(rd) % 3);
        memset(in->ids[i].bytes, 0, 32);
        in->ids[i].bytes[0] = (uint8_t)i;
        memcpy(in->ids[i].bytes + 1, path, i + 1);
        unsigned who = 0;
        for (uint32_t j = 0; j <= i; j++)
            who = who * 3 + path[j];
        in->issuers[i] = pool_id((uint8_t)(who % 24));
        in->expires[i] = now + 400 - 50 * i;
    }
    in->principal = in->issuers[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader rd = {data, size};
    ca_routing *rt = NULL;
    ca_kad *kad = NULL;
    uint64_t now = 100;

    for (int ops = 0; rd.n > 0 && ops < MAX_OPS; ops++) {
        uint8_t op = next(&rd) % 14;
        ca_agent_id id = pool_id(next(&rd) % 24);
        ca_status st;
        int changed = 0; /* 1: routing may have changed, 2: the table may have */
        const int on_rt = op <= 8 || op >= 12;
        if (on_rt && rt == NULL)
            rt = new_registry();
        else if (!on_rt && kad == NULL)
            kad = new_table();
        switch (op) {
        case 0:
        case 1: {
            cai_routing_capability cs[5];
            size_t nc = next(&rd) % 6;
            for (size_t i = 0; i < nc; i++) {
                uint8_t b = next(&rd);
                cs[i].name = caps[b % 8];
                cs[i].name_len = strlen(cs[i].name);
                cs[i].price = b == 255 ? UINT64_MAX : (uint64_t)next(&rd) * 100;
                cs[i].latency_ms = (uint32_t)next(&rd) * 10;
            }
            uint64_t from = now - 50 + next(&rd);
            cai_routing_entry e = {id,
                                   next(&rd) % 6,
                                   from,
                                   from + next(&rd) * 3,
                                   (uint64_t)next(&rd) * 50000,
                                   "w",
                                   1,
                                   NULL,
                                   0,
                                   cs,
                                   nc,
                                   NULL};
            size_t before = ca_routing_count(rt);
            st = FUZZ_CALL(cai_routing_add_entry(rt, &e, now));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_ROUTING_STALE || st == CA_ERR_ROUTING_CONFLICT ||
                       st == CA_ERR_EXPIRED || st == CA_ERR_NOT_YET_VALID ||
                       st == CA_ERR_INVALID_ARGUMENT || st == CA_ERR_LIMIT);
            /* A refused add may only have forgotten cards that ended (the prune). */
            FUZZ_CHECK(st == CA_OK || ca_routing_count(rt) <= before);
            if (st == CA_OK) {
                ca_routing_agent_info info = {.version = CA_ROUTING_AGENT_INFO_VERSION};
                FUZZ_CHECK(ca_routing_get(rt, &id, &info) == CA_OK);
                FUZZ_CHECK(info.valid_until <= e.valid_until && info.valid_until <= now + 100);
            }
            changed = st == CA_OK || ca_routing_count(rt) != before;
            break;
        }
        case 2:
            st = FUZZ_CALL(ca_routing_remove(rt, &id));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_NOT_FOUND);
            changed = st == CA_OK;
            break;
        case 3:
            st = FUZZ_CALL(ca_routing_set_reputation(rt, &id, (uint32_t)next(&rd) * 4000u));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_NOT_FOUND || st == CA_ERR_INVALID_ARGUMENT);
            changed = st == CA_OK;
            break;
        case 4:
            st = FUZZ_CALL(ca_routing_set_stake(
                rt, &id, next(&rd) == 255 ? UINT64_MAX : (uint64_t)next(&rd) * 70000));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_NOT_FOUND);
            changed = st == CA_OK;
            break;
        case 5:
            st = FUZZ_CALL(ca_routing_set_evidence(rt, &id, (uint64_t)next(&rd) * 1000,
                                                   (uint64_t)next(&rd) * 1000));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_NOT_FOUND);
            changed = st == CA_OK;
            break;
        case 6: {
            now += next(&rd);
            size_t removed = 0, before = ca_routing_count(rt);
            FUZZ_CHECK(ca_routing_expire(rt, now, &removed) == CA_OK);
            FUZZ_CHECK(ca_routing_count(rt) + removed == before);
            changed = removed > 0;
            break;
        }
        case 7:
        case 8: {
            ca_routing_query q;
            FUZZ_CHECK(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION) == CA_OK);
            const char *pat = pats[next(&rd) % 10];
            q.capability = pat;
            q.capability_len = strlen(pat);
            q.now = now - 20 + next(&rd) % 40;
            uint8_t f = next(&rd);
            if (f & 1)
                q.max_price = (uint64_t)next(&rd) * 100;
            if (f & 2)
                q.min_stake = (uint64_t)next(&rd) * 50000;
            if (f & 4)
                q.min_reputation_ppm = (uint32_t)next(&rd) * 4000u;
            if (f & 8)
                q.max_latency_ms = (uint32_t)next(&rd) * 10;
            ca_routing_weights w = {.version = CA_ROUTING_WEIGHTS_VERSION};
            (void)ca_routing_weights_init(&w, CA_ROUTING_WEIGHTS_VERSION);
            if (f & 16) {
                w.price = next(&rd);
                w.stake = next(&rd);
                q.weights = &w;
            }
            q.thompson = (f & 32) != 0;
            q.seed = next(&rd);
            size_t k = next(&rd) % 8, n = 99;
            ca_routing_result r[8];
            if (op == 7) {
                st = FUZZ_CALL(ca_routing_select(rt, &q, r, sizeof(ca_routing_result), k, &n));
            } else {
                ca_routing_bid bids[4];
                for (int i = 0; i < 4; i++) {
                    bids[i].agent = pool_id(next(&rd) % 24);
                    bids[i].price = (uint64_t)next(&rd) * 100;
                    bids[i].latency_ms = (uint32_t)next(&rd) * 10;
                }
                st = FUZZ_CALL(ca_routing_rank_bids(rt, &q, bids, sizeof(ca_routing_bid), 4, r,
                                                    sizeof(ca_routing_result), k, &n));
            }
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_BAD_CAPABILITY);
            if (st == CA_OK)
                check_results(&q, r, n, k);
            else
                FUZZ_CHECK(n == 0);
            break;
        }
        case 9: {
            ca_kad_outcome out;
            FUZZ_CHECK(ca_kad_seen(kad, &id, &out) == CA_OK);
            FUZZ_CHECK(out <= CA_KAD_IGNORED);
            changed = out != CA_KAD_IGNORED ? 2 : 0;
            break;
        }
        case 10:
            st = FUZZ_CALL(next(&rd) & 1 ? ca_kad_mark_failed(kad, &id) : ca_kad_remove(kad, &id));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_NOT_FOUND);
            changed = st == CA_OK ? 2 : 0;
            break;
        case 12: {
            /* A delegate under a chain of links from a small tree: the link at level i
             * is named by the path of choices to it, so chains share links above. */
            cai_delegate_in in;
            memset(&in, 0, sizeof in);
            fuzz_chain(&rd, &in, 1 + next(&rd) % 3, now);
            cai_routing_capability c = {caps[next(&rd) % 8], 0, (uint64_t)next(&rd) * 100, 0};
            c.name_len = strlen(c.name);
            cai_routing_entry e = {
                id, next(&rd) % 4, now - 10, in.expires[in.depth - 1], 0, "d", 1, NULL, 0, &c, 1,
                &in};
            size_t before = ca_routing_count(rt);
            st = FUZZ_CALL(cai_routing_add_entry(rt, &e, now));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_ROUTING_STALE || st == CA_ERR_ROUTING_CONFLICT ||
                       st == CA_ERR_EXPIRED || st == CA_ERR_LIMIT);
            changed = st == CA_OK || ca_routing_count(rt) != before;
            if (st == CA_OK) {
                ca_routing_agent_info info = {.version = CA_ROUTING_AGENT_INFO_VERSION};
                FUZZ_CHECK(ca_routing_get(rt, &id, &info) == CA_OK && info.delegated == 1);
                FUZZ_CHECK(memcmp(info.principal.bytes, in.principal.bytes, 32) == 0);
            }
            break;
        }
        case 13: {
            /* A revocation of a link of the tree by a pool agent. */
            cai_delegate_in in;
            memset(&in, 0, sizeof in);
            fuzz_chain(&rd, &in, 1 + next(&rd) % 3, now);
            const ca_hash *link = &in.ids[in.depth - 1];
            size_t removed = 99, before = ca_routing_count(rt);
            st = FUZZ_CALL(cai_routing_revoke(rt, link, &id, now, &removed));
            FUZZ_CHECK(st == CA_OK || st == CA_ERR_LIMIT);
            FUZZ_CHECK(ca_routing_count(rt) + removed == before);
            if (removed > 0) /* no delegate under the link is left */
                FUZZ_CHECK(cai_idmap_find(&rt->link_ids, rt->links, sizeof *rt->links,
                                          link->bytes) == CAI_IDMAP_NONE ||
                           rt->nlinks == 0);
            changed = removed > 0;
            break;
        }
        default: {
            ca_agent_id out[8];
            size_t k = next(&rd) % 9, n = 99;
            FUZZ_CHECK(ca_kad_closest(kad, &id, out, k, &n) == CA_OK);
            FUZZ_CHECK(n <= k && n <= ca_kad_count(kad));
            FUZZ_CHECK(n == k || n == ca_kad_count(kad));
            for (size_t i = 1; i < n; i++)
                FUZZ_CHECK(xor_le(&id, &out[i - 1], &out[i]));
            break;
        }
        }
        /* The full self-check of the structure an operation changed. */
        if (changed == 1)
            FUZZ_CHECK(cai_routing_check(rt) == CA_OK);
        else if (changed == 2)
            FUZZ_CHECK(cai_kad_check(kad) == CA_OK);
    }
    FUZZ_CHECK(rt == NULL || cai_routing_check(rt) == CA_OK);
    FUZZ_CHECK(kad == NULL || cai_kad_check(kad) == CA_OK);
    ca_routing_free(rt);
    ca_kad_free(kad);
    return 0;
}
