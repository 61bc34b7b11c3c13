/*
 * Delegates in the routing registry: an agent registered to act for a
 * delegator under a delegation chain, the index of the chains' links by
 * delegation id, and revocations (docs/ROUTING.md, "Delegates and
 * revocation"). A revocation costs O(delegates under the revoked link); a
 * query pays nothing (a revoked delegate is removed, not filtered).
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/array.h"
#include "routing_internal.h"

#define DEPTH CA_DELEGATION_MAX_DEPTH

static uint32_t find_link(const ca_routing *rt, const ca_hash *id)
{
    if (rt->nlinks == 0)
        return CAI_IDMAP_NONE;
    return cai_idmap_find(&rt->link_ids, rt->links, sizeof *rt->links, id->bytes);
}

static uint32_t find_revoked(const ca_routing *rt, const ca_hash *id)
{
    if (rt->nrevoked == 0)
        return CAI_IDMAP_NONE;
    return cai_idmap_find(&rt->revoked_ids, rt->revoked, sizeof *rt->revoked, id->bytes);
}

ca_status cai_routing_delegate_reserve(ca_routing *rt, const cai_delegate_in *in, int replacing)
{
    if (!replacing && rt->ndelegates >= rt->opts.max_delegates)
        return cai_fail(CA_ERR_LIMIT, "routing: registry holds the maximum of %zu delegates",
                        rt->opts.max_delegates);
    uint32_t fresh = 0;
    for (uint32_t i = 0; i < in->depth; i++)
        fresh += find_link(rt, &in->ids[i]) == CAI_IDMAP_NONE;
    const uint32_t max_links = (uint32_t)rt->opts.max_delegates * DEPTH;
    ca_status st = CA_OK;
    if (rt->free_del == CAI_NIL)
        st = cai_array_grow((void **)&rt->dels, &rt->dels_cap, (uint64_t)rt->ndel_slots + 1,
                            sizeof *rt->dels, (uint32_t)rt->opts.max_delegates);
    /* Free link slots are not counted: growth to the slots plus the fresh links is enough. */
    if (st == CA_OK && fresh > 0)
        st = cai_array_grow((void **)&rt->links, &rt->links_cap, (uint64_t)rt->nlink_slots + fresh,
                            sizeof *rt->links, max_links);
    if (st == CA_OK && fresh > 0)
        st = cai_idmap_reserve(&rt->link_ids, fresh);
    return st;
}

/* The member node (d, level) links. */
static uint32_t *node_next(ca_routing *rt, uint32_t node)
{
    return &rt->dels[node / DEPTH].next[node % DEPTH];
}

static uint32_t *node_prev(ca_routing *rt, uint32_t node)
{
    return &rt->dels[node / DEPTH].prev[node % DEPTH];
}

uint32_t cai_routing_delegate_attach(ca_routing *rt, const ca_agent_id *agent,
                                     const cai_delegate_in *in)
{
    uint32_t d;
    if (rt->free_del != CAI_NIL) {
        d = rt->free_del;
        rt->free_del = rt->dels[d].next_free;
    } else {
        d = rt->ndel_slots++;
    }
    cai_delegate *r = &rt->dels[d];
    memset(r, 0, sizeof *r);
    r->agent = *agent;
    r->principal = in->principal;
    r->depth = in->depth;
    for (uint32_t i = 0; i < in->depth; i++) {
        uint32_t li = find_link(rt, &in->ids[i]);
        if (li == CAI_IDMAP_NONE) {
            if (rt->free_link != CAI_NIL) {
                li = rt->free_link;
                rt->free_link = rt->links[li].next_free;
            } else {
                li = rt->nlink_slots++;
            }
            cai_rlink *l = &rt->links[li];
            memset(l, 0, sizeof *l);
            l->id = in->ids[i];
            l->issuer = in->issuers[i];
            l->level = i;
            l->expires_at = in->expires[i];
            l->head = CAI_NIL;
            cai_idmap_insert(&rt->link_ids, l->id.bytes, li);
            rt->nlinks++;
        }
        cai_rlink *l = &rt->links[li];
        const uint32_t node = d * DEPTH + i;
        r->link[i] = li;
        r->prev[i] = CAI_NIL;
        r->next[i] = l->head;
        if (l->head != CAI_NIL)
            *node_prev(rt, l->head) = node;
        l->head = node;
        l->members++;
    }
    rt->ndelegates++;
    return d;
}

void cai_routing_delegate_detach(ca_routing *rt, uint32_t d)
{
    cai_delegate *r = &rt->dels[d];
    for (uint32_t i = 0; i < r->depth; i++) {
        cai_rlink *l = &rt->links[r->link[i]];
        if (r->prev[i] != CAI_NIL)
            *node_next(rt, r->prev[i]) = r->next[i];
        else
            l->head = r->next[i];
        if (r->next[i] != CAI_NIL)
            *node_prev(rt, r->next[i]) = r->prev[i];
        if (--l->members == 0) {
            (void)cai_idmap_remove(&rt->link_ids, l->id.bytes, r->link[i]);
            memset(l, 0, sizeof *l);
            l->next_free = rt->free_link;
            rt->free_link = r->link[i];
            rt->nlinks--;
        }
    }
    memset(r, 0, sizeof *r);
    r->next_free = rt->free_del;
    rt->free_del = d;
    rt->ndelegates--;
}

int cai_routing_delegate_same(const ca_routing *rt, uint32_t d, const cai_delegate_in *in)
{
    const cai_delegate *r = &rt->dels[d];
    return r->depth == in->depth &&
           cai_eq32(rt->links[r->link[r->depth - 1]].id.bytes, in->ids[in->depth - 1].bytes);
}

void cai_routing_delegates_free(ca_routing *rt)
{
    free(rt->dels);
    free(rt->links);
    free(rt->revoked);
    cai_idmap_free(&rt->link_ids);
    cai_idmap_free(&rt->revoked_ids);
}

CAI_ORACLE size_t cai_routing_delegate_bytes(const ca_routing *rt)
{
    return (size_t)rt->dels_cap * sizeof *rt->dels + (size_t)rt->links_cap * sizeof *rt->links +
           (size_t)rt->revoked_cap * sizeof *rt->revoked + cai_idmap_memory_bytes(&rt->link_ids) +
           cai_idmap_memory_bytes(&rt->revoked_ids);
}

size_t ca_routing_delegate_count(const ca_routing *rt)
{
    return rt == NULL ? 0 : rt->ndelegates;
}

/* ---- adding a delegate ---- */

/* The registry's revoked links, asked by the chain verify along with the caller's lookup. */
typedef struct lookup_ctx {
    const ca_routing *rt;
    const ca_delegation_verify_options *caller;
} lookup_ctx;

static int revoked_lookup(void *ctx, const ca_hash *delegation, const ca_agent_id *revoker)
{
    const lookup_ctx *c = ctx;
    /* A link revoked with force is revoked in every chain (its issuers above are fixed). */
    if (find_revoked(c->rt, delegation) != CAI_IDMAP_NONE)
        return 1;
    return c->caller != NULL && c->caller->lookup != NULL &&
           c->caller->lookup(c->caller->lookup_ctx, delegation, revoker);
}

ca_status ca_routing_add_delegate(ca_routing *rt, const ca_card *card,
                                  const ca_delegation *const *chain, size_t count,
                                  const ca_delegation_verify_options *opts, uint64_t now)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(card);
    CAI_REQUIRE(chain);
    if (opts != NULL)
        CAI_REQUIRE_VERSION("ca_delegation_verify_options", opts->version,
                            CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    lookup_ctx lc = {rt, opts};
    ca_delegation_verify_options vo;
    ca_status st = ca_delegation_verify_options_init(&vo, CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    if (st != CA_OK)
        return st;
    vo.revocations = opts != NULL ? opts->revocations : NULL;
    vo.lookup = revoked_lookup;
    vo.lookup_ctx = &lc;
    ca_delegation_chain_info info = {.version = CA_DELEGATION_CHAIN_INFO_VERSION};
    if ((st = ca_delegation_chain_verify(chain, count, now, &vo, &info)) != CA_OK)
        return st;
    ca_agent_id agent;
    ca_card_agent(card, &agent);
    if (!cai_eq32(info.delegate.bytes, agent.bytes))
        return cai_fail(CA_ERR_DELEGATION_AUDIENCE,
                        "routing: the delegation chain is for another agent than the card's");
    const ca_delegation *leaf = chain[count - 1];
    size_t n = ca_card_capability_count(card), kept = 0;
    if (n > CA_CARD_CAPABILITIES_MAX)
        return cai_fail(CA_ERR_STATE, "routing: a card with %zu capabilities", n);
    cai_routing_capability caps[CA_CARD_CAPABILITIES_MAX];
    for (size_t i = 0; i < n; i++) {
        ca_card_capability c;
        if ((st = ca_card_capability_at(card, i, &c, sizeof c)) != CA_OK)
            return st;
        size_t len = strlen(c.name);
        if (ca_delegation_grants(leaf, c.name, len) != CA_OK)
            continue; /* listed only for what the delegator granted */
        caps[kept].name = c.name;
        caps[kept].name_len = len;
        caps[kept].price = c.price;
        caps[kept].latency_ms = c.latency_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)c.latency_ms;
        kept++;
    }
    if (kept == 0)
        return cai_fail(CA_ERR_DELEGATION_CAPABILITY,
                        "routing: the delegation chain grants none of the card's capabilities");
    cai_delegate_in in;
    memset(&in, 0, sizeof in);
    in.principal = info.delegator;
    in.depth = (uint32_t)count;
    for (size_t i = 0; i < count; i++) {
        ca_delegation_info li = {.version = CA_DELEGATION_INFO_VERSION};
        if ((st = ca_delegation_get(chain[i], &li)) != CA_OK)
            return st;
        in.ids[i] = li.id;
        in.issuers[i] = li.issuer;
        in.expires[i] = li.expires_at;
    }
    cai_routing_entry e;
    e.agent = agent;
    e.sequence = ca_card_sequence(card);
    /* Kept while both the card and the chain are valid: the chain's window bounds it. */
    e.valid_from = ca_card_not_before(card);
    if (info.not_before > e.valid_from)
        e.valid_from = info.not_before;
    e.valid_until = ca_card_not_after(card);
    if (info.expires_at < e.valid_until)
        e.valid_until = info.expires_at;
    e.stake = ca_card_stake(card);
    e.name = ca_card_name(card);
    e.name_len = strlen(e.name);
    e.endpoint = (const uint8_t *)ca_card_endpoint(card);
    e.endpoint_len = strlen(ca_card_endpoint(card));
    e.capabilities = caps;
    e.capability_count = kept;
    e.delegate = &in;
    return cai_routing_add_entry(rt, &e, now);
}

/* ---- revocations ---- */

/* Forgets revoked links whose expiry passed: no chain holding them verifies any more. */
static void forget_revoked(ca_routing *rt, uint64_t now)
{
    for (uint32_t i = 0; i < rt->nrevoked;) {
        if (rt->revoked[i].until >= now) {
            i++;
            continue;
        }
        (void)cai_idmap_remove(&rt->revoked_ids, rt->revoked[i].id.bytes, i);
        uint32_t last = --rt->nrevoked;
        if (i != last) {
            rt->revoked[i] = rt->revoked[last];
            (void)cai_idmap_renumber(&rt->revoked_ids, rt->revoked[i].id.bytes, last, i);
        }
    }
}

void cai_routing_revocations_expire(ca_routing *rt, uint64_t now)
{
    forget_revoked(rt, now);
}

ca_status ca_routing_add_revocation(ca_routing *rt, const uint8_t *data, size_t len, uint64_t now,
                                    size_t *removed)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(data);
    if (removed != NULL)
        *removed = 0;
    ca_revocation_info rv = {.version = CA_REVOCATION_INFO_VERSION};
    ca_status st = ca_revocation_open(data, len, &rv);
    if (st != CA_OK)
        return st;
    return cai_routing_revoke(rt, &rv.delegation, &rv.revoker, now, removed);
}

ca_status cai_routing_revoke(ca_routing *rt, const ca_hash *delegation, const ca_agent_id *revoker,
                             uint64_t now, size_t *removed)
{
    ca_status st;
    if (removed != NULL)
        *removed = 0;
    ca_revocation_info rv;
    rv.delegation = *delegation;
    rv.revoker = *revoker;
    /* A link no registered chain holds: nothing to judge, nothing kept. */
    const uint32_t li = find_link(rt, &rv.delegation);
    rt->revocation_steps++;
    if (li == CAI_IDMAP_NONE || find_revoked(rt, &rv.delegation) != CAI_IDMAP_NONE)
        return CA_OK;
    /* Force: the revoker issued this link or one above it, in any chain that holds it. */
    const cai_rlink *l = &rt->links[li];
    const cai_delegate *any = &rt->dels[l->head / DEPTH];
    int force = 0;
    for (uint32_t i = 0; i <= l->level && !force; i++) {
        rt->revocation_steps++;
        force = cai_eq32(rt->links[any->link[i]].issuer.bytes, rv.revoker.bytes);
    }
    if (!force)
        return CA_OK; /* a stranger's revocation has no force over this link */
    /* Remember it, so the chains that hold it are refused from now on (room first). */
    if (rt->nrevoked >= rt->opts.max_revocations)
        forget_revoked(rt, now);
    if (rt->nrevoked >= rt->opts.max_revocations)
        return cai_fail(CA_ERR_LIMIT, "routing: the registry remembers at most %zu revoked links",
                        rt->opts.max_revocations);
    if ((st = cai_array_grow((void **)&rt->revoked, &rt->revoked_cap, (uint64_t)rt->nrevoked + 1,
                             sizeof *rt->revoked, (uint32_t)rt->opts.max_revocations)) != CA_OK ||
        (st = cai_idmap_reserve(&rt->revoked_ids, 1)) != CA_OK)
        return st;
    /* The delegates under the link: its members (a chain holding it holds it at its level). */
    size_t n = l->members;
    ca_agent_id *gone = malloc(n * sizeof *gone);
    if (gone == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory revoking a delegation");
    size_t k = 0;
    for (uint32_t node = l->head; node != CAI_NIL;
         node = rt->dels[node / DEPTH].next[node % DEPTH]) {
        rt->revocation_steps++;
        gone[k++] = rt->dels[node / DEPTH].agent;
    }
    /* Kept until the link's own expiry: no chain holding it verifies after that. */
    const uint32_t ri = rt->nrevoked++;
    rt->revoked[ri].id = rv.delegation;
    rt->revoked[ri].until = l->expires_at;
    cai_idmap_insert(&rt->revoked_ids, rv.delegation.bytes, ri);
    for (size_t i = 0; i < k; i++)
        (void)cai_routing_remove_id(rt, &gone[i]);
    free(gone);
    if (removed != NULL)
        *removed = k;
    return CA_OK;
}
