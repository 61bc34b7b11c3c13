/* Registry self-check: every internal invariant, O(n). For tests and fuzzing. */
#include "routing_internal.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return cai_fail(CA_ERR_STATE, "routing invariant broken: %s (line %d)", #cond,         \
                            __LINE__);                                                             \
    } while (0)

CAI_ORACLE ca_status cai_routing_check(const ca_routing *rt)
{
    size_t postings = 0, delegates = 0;
    CHECK(rt->nagents <= rt->agents_cap && rt->nagents <= rt->opts.max_agents);
    CHECK(rt->nagents <= rt->expiry_cap);
    CHECK(rt->ids.count == rt->nagents && (size_t)rt->nagents * 2 <= rt->ids.cap);
    for (uint32_t i = 0; i < rt->nagents; i++) {
        const cai_agent *a = rt->agents[i];
        CHECK(cai_routing_find_agent(rt, &a->id) == (int64_t)i);
        CHECK(a->expiry_pos < rt->nagents);
        CHECK(rt->expiry[a->expiry_pos].agent == i);
        CHECK(rt->expiry[a->expiry_pos].valid_until == a->valid_until);
        CHECK(a->valid_from <= a->valid_until && a->valid_until <= a->card_until);
        CHECK(a->reputation_ppm <= CA_LEDGER_PPM);
        CHECK(a->ncaps <= rt->opts.max_capabilities_per_agent);
        for (uint32_t s = 0; s < a->ncaps; s++) {
            CHECK(a->caps[s].cap < rt->ncaps_slots);
            const cai_cap *c = &rt->caps[a->caps[s].cap];
            CHECK(c->name != NULL);
            CHECK(a->caps[s].pos < c->count);
            const cai_posting *p = &c->heap[a->caps[s].pos];
            CHECK(p->agent == i && p->slot == s);
            CHECK(p->stake == a->stake && p->reputation_ppm == a->reputation_ppm);
            uint64_t prefix = 0;
            for (int b = 0; b < 8; b++)
                prefix = (prefix << 8) | a->id.bytes[b];
            CHECK(p->id_prefix == prefix);
            cai_terms t;
            cai_routing_terms(&rt->weights, p->price, p->reputation_ppm, p->stake, p->latency_ms,
                              &t);
            CHECK(p->score == t.total);
            for (uint32_t s2 = 0; s2 < s; s2++)
                CHECK(a->caps[s2].cap != a->caps[s].cap);
        }
        postings += a->ncaps;
        if (a->delegate != CAI_NIL) {
            CHECK(a->delegate < rt->ndel_slots);
            const cai_delegate *d = &rt->dels[a->delegate];
            CHECK(d->depth >= 1 && d->depth <= CA_DELEGATION_MAX_DEPTH);
            CHECK(cai_eq32(d->agent.bytes, a->id.bytes));
            for (uint32_t l = 0; l < d->depth; l++) {
                CHECK(d->link[l] < rt->nlink_slots);
                const cai_rlink *rl = &rt->links[d->link[l]];
                CHECK(rl->members >= 1 && rl->level == l);
                CHECK(cai_idmap_find(&rt->link_ids, rt->links, sizeof *rt->links, rl->id.bytes) ==
                      d->link[l]);
            }
            delegates++;
        }
    }
    CHECK(delegates == rt->ndelegates && rt->ndelegates <= rt->opts.max_delegates);
    CHECK(rt->link_ids.count == rt->nlinks && rt->nrevoked <= rt->opts.max_revocations);
    for (uint32_t j = 1; j < rt->nagents; j++)
        CHECK(rt->expiry[(j - 1) / 2].valid_until <= rt->expiry[j].valid_until);
    size_t live = 0, heap_total = 0;
    for (uint32_t ci = 0; ci < rt->ncaps_slots; ci++) {
        const cai_cap *c = &rt->caps[ci];
        if (c->name == NULL)
            continue;
        live++;
        CHECK(c->count > 0 && c->count <= c->capacity); /* names nobody offers are dropped */
        CHECK(c->capacity <= 4 || c->capacity <= 2 * (size_t)c->count + 2); /* heaps shrink */
        CHECK(cai_routing_find_cap(rt, c->name, c->name_len) == (int64_t)ci);
        for (uint32_t j = 1; j < c->count; j++)
            CHECK(!cai_posting_before(rt, &c->heap[j], &c->heap[(j - 1) / 2]));
        heap_total += c->count;
    }
    CHECK(live == rt->live_caps && live <= rt->opts.max_capability_names);
    CHECK(rt->names.count == live && (size_t)live * 2 <= rt->names.cap);
    CHECK(heap_total == postings);
    /* Name tree: links agree, heap order on prio, strictly increasing names in
     * order, and as many nodes as live names (so every live name is in it). */
    size_t in_order = 0;
    CHECK(rt->name_root == CAI_NIL || rt->caps[rt->name_root].parent == CAI_NIL);
    uint32_t x = rt->name_root;
    for (size_t depth = 0; x != CAI_NIL && rt->caps[x].left != CAI_NIL; depth++) {
        CHECK(depth < live); /* no cycle */
        x = rt->caps[x].left;
    }
    const cai_cap *prev = NULL;
    for (; x != CAI_NIL; x = cai_routing_name_next(rt, x)) {
        CHECK(x < rt->ncaps_slots && in_order < live);
        const cai_cap *c = &rt->caps[x];
        CHECK(c->name != NULL);
        CHECK(c->prio == cai_routing_name_prio(rt, c->name, c->name_len));
        const uint32_t kids[2] = {c->left, c->right};
        for (int k = 0; k < 2; k++) {
            if (kids[k] == CAI_NIL)
                continue;
            CHECK(kids[k] < rt->ncaps_slots && rt->caps[kids[k]].parent == x);
            CHECK(rt->caps[kids[k]].prio <= c->prio);
        }
        if (prev != NULL) {
            size_t m = prev->name_len < c->name_len ? prev->name_len : c->name_len;
            int cmp = memcmp(prev->name, c->name, m);
            CHECK(cmp < 0 || (cmp == 0 && prev->name_len < c->name_len));
        }
        prev = c;
        in_order++;
    }
    CHECK(in_order == live);
    return CA_OK;
}

CAI_ORACLE size_t cai_routing_bytes(const ca_routing *rt)
{
    size_t n = sizeof *rt;
    n += (size_t)rt->agents_cap * sizeof(cai_agent *) + (size_t)rt->expiry_cap * sizeof(cai_expiry);
    n += cai_idmap_memory_bytes(&rt->ids) + cai_idmap_memory_bytes(&rt->names);
    n += (size_t)rt->caps_cap * sizeof *rt->caps;
    for (uint32_t i = 0; i < rt->nagents; i++) {
        const cai_agent *a = rt->agents[i];
        n += sizeof *a + a->ncaps * sizeof a->caps[0] + a->name_len + a->endpoint_len;
    }
    for (uint32_t ci = 0; ci < rt->ncaps_slots; ci++)
        if (rt->caps[ci].name != NULL)
            n += rt->caps[ci].name_len + (size_t)rt->caps[ci].capacity * sizeof(cai_posting);
    return n;
}
