/*
 * Routing queries. Two paths, same answer as a brute-force ranking:
 * - index order (registry weights, no exploration): a best-first walk over
 *   the matching capabilities' max-heaps; it stops after k accepted
 *   candidates, so its cost is the number of postings ranked above the k-th
 *   accepted one (times log of the frontier);
 * - full scan (other weights or exploration): every posting of the matching
 *   capabilities is filtered, scored and sorted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/array.h"
#include "routing_internal.h"

ca_status ca_routing_query_init(ca_routing_query *q, unsigned int version)
{
    CAI_REQUIRE(q);
    CAI_REQUIRE_VERSION("routing query", version, CA_ROUTING_QUERY_VERSION);
    memset(q, 0, sizeof *q);
    q->version = version;
    q->max_price = CA_ROUTING_QUERY_MAX_PRICE_DEFAULT;
    return CA_OK;
}

static int passes(const ca_routing *rt, const ca_routing_query *q, const cai_posting *p)
{
    if (p->price > q->max_price || p->stake < q->min_stake ||
        p->reputation_ppm < q->min_reputation_ppm)
        return 0;
    if (q->max_latency_ms != 0 && (p->latency_ms == 0 || p->latency_ms > q->max_latency_ms))
        return 0;
    const cai_agent *a = rt->agents[p->agent];
    return a->valid_from <= q->now && q->now <= a->valid_until;
}

/* The caller's result array: element i at base + i * size (STRUCT RULE, element size). */
typedef struct results {
    uint8_t *base;
    size_t size;
} results;

static void fill_result(const ca_routing *rt, const ca_routing_weights *w, const cai_posting *p,
                        uint32_t cap, uint32_t reputation_ppm, ca_routing_result *r)
{
    cai_terms t;
    cai_routing_terms(w, p->price, reputation_ppm, p->stake, p->latency_ms, &t);
    memset(r, 0, sizeof *r);
    r->agent = rt->agents[p->agent]->id;
    r->score = t.total;
    r->price_term = t.price;
    r->reputation_term = t.reputation;
    r->stake_term = t.stake;
    r->latency_term = t.latency;
    r->price_ppm = t.price_ppm;
    r->reputation_ppm = t.reputation_ppm;
    r->stake_ppm = t.stake_ppm;
    r->latency_ppm = t.latency_ppm;
    r->price = p->price;
    r->stake = p->stake;
    r->latency_ms = p->latency_ms;
    const cai_cap *c = &rt->caps[cap];
    r->capability_len = c->name_len;
    memcpy(r->capability, c->name, c->name_len);
    r->capability[c->name_len] = '\0';
}

/* ---- Index-order walk ---- */

typedef struct frontier_item {
    uint32_t rank; /* position in the matching list = capability name order */
    uint32_t pos;  /* position in that capability's heap */
} frontier_item;

typedef struct walk {
    const ca_routing *rt;
    const uint32_t *list; /* matching capability indices, in name order */
    frontier_item *items;
    size_t n, cap;
    frontier_item stack_items[256];
} walk;

static const cai_posting *item_posting(const walk *w, frontier_item it)
{
    return &w->rt->caps[w->list[it.rank]].heap[it.pos];
}

static int item_before(const walk *w, frontier_item a, frontier_item b)
{
    const cai_posting *pa = item_posting(w, a), *pb = item_posting(w, b);
    if (cai_posting_before(w->rt, pa, pb))
        return 1;
    if (cai_posting_before(w->rt, pb, pa))
        return 0;
    return a.rank < b.rank; /* same agent, same score: capability name order */
}

static ca_status walk_push(walk *w, frontier_item it)
{
    if (w->n == w->cap) {
        /* Past the stack array: onto the heap, doubling. */
        const int on_stack = w->items == w->stack_items;
        frontier_item *ni = on_stack ? NULL : w->items;
        uint32_t nc = on_stack ? 0 : (uint32_t)w->cap;
        ca_status st =
            cai_array_grow((void **)&ni, &nc, (uint64_t)w->n + 1, sizeof *ni, UINT32_MAX);
        if (st != CA_OK)
            return st;
        if (on_stack)
            memcpy(ni, w->stack_items, w->n * sizeof *ni);
        w->items = ni;
        w->cap = nc;
    }
    size_t i = w->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!item_before(w, it, w->items[parent]))
            break;
        w->items[i] = w->items[parent];
        i = parent;
    }
    w->items[i] = it;
    return CA_OK;
}

static frontier_item walk_pop(walk *w)
{
    frontier_item top = w->items[0];
    frontier_item last = w->items[--w->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        frontier_item bi = last;
        if (l < w->n && item_before(w, w->items[l], bi)) {
            best = l;
            bi = w->items[l];
        }
        if (l + 1 < w->n && item_before(w, w->items[l + 1], bi))
            best = l + 1;
        if (best == i)
            break;
        w->items[i] = w->items[best];
        i = best;
    }
    if (w->n > 0)
        w->items[i] = last;
    return top;
}

static void put_result(results out, size_t i, const ca_routing_result *r)
{
    cai_elem_put(out.base + i * out.size, out.size, r, sizeof *r);
}

static ca_status select_indexed(const ca_routing *rt, const ca_routing_query *q,
                                const uint32_t *list, size_t nlist, results out, size_t k,
                                size_t *count)
{
    walk w;
    w.rt = rt;
    w.list = list;
    w.items = w.stack_items;
    w.n = 0;
    w.cap = sizeof w.stack_items / sizeof w.stack_items[0];
    ca_status st = CA_OK;
    for (size_t r = 0; r < nlist && st == CA_OK; r++)
        if (rt->caps[list[r]].count > 0)
            st = walk_push(&w, (frontier_item){(uint32_t)r, 0});
    size_t n = 0;
    while (st == CA_OK && w.n > 0 && n < k) {
        frontier_item it = walk_pop(&w);
        const cai_cap *c = &rt->caps[list[it.rank]];
        const cai_posting *p = &c->heap[it.pos];
        if (passes(rt, q, p)) {
            int dup = 0;
            if (nlist > 1) {
                const uint8_t *id = rt->agents[p->agent]->id.bytes;
                for (size_t i = 0; i < n && !dup; i++)
                    dup = memcmp(out.base + i * out.size + offsetof(ca_routing_result, agent), id,
                                 CA_AGENT_ID_BYTES) == 0;
            }
            if (!dup) {
                ca_routing_result r;
                fill_result(rt, &rt->weights, p, list[it.rank], p->reputation_ppm, &r);
                put_result(out, n++, &r);
            }
        }
        uint32_t l = 2 * it.pos + 1;
        if (l < c->count)
            st = walk_push(&w, (frontier_item){it.rank, l});
        if (st == CA_OK && l + 1 < c->count)
            st = walk_push(&w, (frontier_item){it.rank, l + 1});
    }
    if (w.items != w.stack_items)
        free(w.items);
    *count = st == CA_OK ? n : 0;
    return st;
}

/* ---- Full scan ---- */

typedef struct cand {
    int64_t score;
    uint64_t id_prefix;
    const uint8_t *id;
    uint32_t agent;
    uint32_t rank;
    uint32_t pos;
    uint32_t reputation_ppm;
} cand;

static int cand_rank_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->id_prefix != b->id_prefix)
        return a->id_prefix < b->id_prefix ? -1 : 1;
    int c = memcmp(a->id, b->id, CA_AGENT_ID_BYTES);
    if (c != 0)
        return c;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

static int cand_agent_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->agent != b->agent)
        return a->agent < b->agent ? -1 : 1;
    return cand_rank_cmp(pa, pb);
}

static ca_status select_scan(const ca_routing *rt, const ca_routing_query *q,
                             const ca_routing_weights *wt, const uint32_t *list, size_t nlist,
                             results out, size_t k, size_t *count)
{
    size_t total = 0;
    for (size_t r = 0; r < nlist; r++)
        total += rt->caps[list[r]].count;
    *count = 0;
    if (total == 0)
        return CA_OK;
    cand *cs = malloc(total * sizeof *cs);
    if (cs == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory in a query");
    size_t n = 0;
    for (size_t r = 0; r < nlist; r++) {
        const cai_cap *c = &rt->caps[list[r]];
        for (uint32_t i = 0; i < c->count; i++) {
            const cai_posting *p = &c->heap[i];
            if (!passes(rt, q, p))
                continue;
            const cai_agent *a = rt->agents[p->agent];
            uint32_t rep = p->reputation_ppm;
            if (q->thompson)
                rep = cai_thompson_ppm(q->seed, &a->id, a->positive_milli, a->negative_milli);
            cai_terms t;
            cai_routing_terms(wt, p->price, rep, p->stake, p->latency_ms, &t);
            cs[n++] = (cand){t.total, p->id_prefix, a->id.bytes, p->agent, (uint32_t)r, i, rep};
        }
    }
    if (nlist > 1 && n > 1) {
        /* One entry per agent: its best capability. */
        qsort(cs, n, sizeof *cs, cand_agent_cmp);
        size_t m = 1;
        for (size_t i = 1; i < n; i++)
            if (cs[i].agent != cs[m - 1].agent)
                cs[m++] = cs[i];
        n = m;
    }
    qsort(cs, n, sizeof *cs, cand_rank_cmp);
    if (n > k)
        n = k;
    for (size_t i = 0; i < n; i++) {
        const cai_posting *p = &rt->caps[list[cs[i].rank]].heap[cs[i].pos];
        ca_routing_result r;
        fill_result(rt, wt, p, list[cs[i].rank], cs[i].reputation_ppm, &r);
        put_result(out, i, &r);
    }
    free(cs);
    *count = n;
    return CA_OK;
}

static int same_weights(const ca_routing_weights *a, const ca_routing_weights *b)
{
    return a->price == b->price && a->reputation == b->reputation && a->stake == b->stake &&
           a->latency == b->latency && a->price_ref == b->price_ref &&
           a->stake_ref == b->stake_ref && a->latency_ref_ms == b->latency_ref_ms;
}

/* Checks a query; *wt receives the weights it ranks by (this build's layout). */
static ca_status check_query(const ca_routing *rt, const ca_routing_query *q,
                             ca_routing_weights *wt)
{
    CAI_REQUIRE_VERSION("routing query", q->version, CA_ROUTING_QUERY_VERSION);
    if (q->weights != NULL)
        CAI_REQUIRE_VERSION("ca_routing_weights", q->weights->version, CA_ROUTING_WEIGHTS_VERSION);
    if (q->thompson != 0 && q->thompson != 1)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: thompson must be 0 or 1");
    ca_status st = cai_routing_check_name(rt, q->capability, q->capability_len, 1);
    if (st != CA_OK)
        return st;
    if (q->weights == NULL) {
        *wt = rt->weights;
        return CA_OK;
    }
    return cai_routing_weights_read(q->weights, wt);
}

ca_status ca_routing_select(const ca_routing *rt, const ca_routing_query *q, ca_routing_result *out,
                            size_t result_size, size_t k, size_t *out_count)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(q);
    CAI_REQUIRE(out_count);
    *out_count = 0;
    if (k > 0 && out == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: out is NULL with k = %zu", k);
    CAI_REQUIRE_ELEM_SIZE("ca_routing_result", result_size, CAI_ROUTING_RESULT_SIZE_1,
                          sizeof(ca_routing_result));
    ca_routing_weights wt;
    ca_status st = check_query(rt, q, &wt);
    if (st != CA_OK)
        return st;
    if (k == 0)
        return CA_OK;
    uint32_t buf[64];
    uint32_t *list;
    size_t nlist;
    st = cai_routing_match(rt, q->capability, q->capability_len, buf, sizeof buf / sizeof buf[0],
                           &list, &nlist);
    if (st != CA_OK)
        return st;
    if (nlist > 0) {
        results res = {(uint8_t *)out, result_size};
        int indexed = !q->thompson && same_weights(&wt, &rt->weights);
        st = indexed ? select_indexed(rt, q, list, nlist, res, k, out_count)
                     : select_scan(rt, q, &wt, list, nlist, res, k, out_count);
    }
    if (list != buf)
        free(list);
    return st;
}

/* ---- Bids ---- */

static int cap_matches(const cai_cap *c, const char *pat, size_t len)
{
    if (len == 1 && pat[0] == '*')
        return 1;
    if (len >= 2 && pat[len - 1] == '*')
        return c->name_len > len - 1 && memcmp(c->name, pat, len - 1) == 0;
    return c->name_len == len && memcmp(c->name, pat, len) == 0;
}

/* score_bid on checked arguments: this build's bid and result layouts. */
static ca_status score_bid(const ca_routing *rt, const ca_routing_query *q,
                           const ca_routing_weights *wt, const ca_routing_bid *bid,
                           ca_routing_result *out)
{
    int64_t ai = cai_routing_find_agent(rt, &bid->agent);
    if (ai < 0)
        return cai_fail(CA_ERR_NOT_FOUND, "routing: bidder is not registered");
    const cai_agent *a = rt->agents[ai];
    uint32_t rep = q->thompson
                       ? cai_thompson_ppm(q->seed, &a->id, a->positive_milli, a->negative_milli)
                       : a->reputation_ppm;
    int found = 0, best_ok = 0;
    ca_routing_result best;
    memset(&best, 0, sizeof best);
    for (uint32_t s = 0; s < a->ncaps; s++) {
        const cai_cap *c = &rt->caps[a->caps[s].cap];
        if (!cap_matches(c, q->capability, q->capability_len))
            continue;
        cai_posting p = c->heap[a->caps[s].pos];
        p.price = bid->price;
        if (bid->latency_ms != 0)
            p.latency_ms = bid->latency_ms;
        int ok = passes(rt, q, &p);
        ca_routing_result r;
        fill_result(rt, wt, &p, a->caps[s].cap, rep, &r);
        if (!found || ok > best_ok ||
            (ok == best_ok &&
             (r.score > best.score ||
              (r.score == best.score && strcmp(r.capability, best.capability) < 0)))) {
            found = 1;
            best_ok = ok;
            best = r;
        }
    }
    if (!found)
        return cai_fail(CA_ERR_NOT_FOUND, "routing: bidder offers no capability matching '%.*s'",
                        (int)(q->capability_len > 64 ? 64 : q->capability_len), q->capability);
    *out = best;
    if (!best_ok)
        return cai_fail(
            CA_ERR_ROUTING_INELIGIBLE,
            "routing: bid fails a filter (price, stake, reputation, latency or validity)");
    return CA_OK;
}

ca_status ca_routing_score_bid(const ca_routing *rt, const ca_routing_query *q,
                               const ca_routing_bid *bid, size_t bid_size, ca_routing_result *out,
                               size_t result_size)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(q);
    CAI_REQUIRE(bid);
    CAI_REQUIRE(out);
    CAI_REQUIRE_ELEM_SIZE("ca_routing_bid", bid_size, CAI_ROUTING_BID_SIZE_1,
                          sizeof(ca_routing_bid));
    CAI_REQUIRE_ELEM_SIZE("ca_routing_result", result_size, CAI_ROUTING_RESULT_SIZE_1,
                          sizeof(ca_routing_result));
    ca_routing_weights wt;
    ca_status st = check_query(rt, q, &wt);
    if (st != CA_OK)
        return st;
    ca_routing_bid b;
    cai_elem_get(&b, sizeof b, bid, bid_size);
    ca_routing_result r;
    st = score_bid(rt, q, &wt, &b, &r);
    if (st == CA_OK || st == CA_ERR_ROUTING_INELIGIBLE)
        cai_elem_put(out, result_size, &r, sizeof r);
    return st;
}

static int result_rank_cmp(const void *pa, const void *pb)
{
    const ca_routing_result *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    int c = memcmp(a->agent.bytes, b->agent.bytes, CA_AGENT_ID_BYTES);
    if (c != 0)
        return c;
    return strcmp(a->capability, b->capability);
}

static int result_agent_cmp(const void *pa, const void *pb)
{
    const ca_routing_result *a = pa, *b = pb;
    int c = memcmp(a->agent.bytes, b->agent.bytes, CA_AGENT_ID_BYTES);
    return c != 0 ? c : result_rank_cmp(pa, pb);
}

ca_status ca_routing_rank_bids(const ca_routing *rt, const ca_routing_query *q,
                               const ca_routing_bid *bids, size_t bid_size, size_t bid_count,
                               ca_routing_result *out, size_t result_size, size_t k,
                               size_t *out_count)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(q);
    CAI_REQUIRE(out_count);
    *out_count = 0;
    if ((bid_count > 0 && bids == NULL) || (k > 0 && out == NULL))
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: bids or out is NULL");
    CAI_REQUIRE_ELEM_SIZE("ca_routing_bid", bid_size, CAI_ROUTING_BID_SIZE_1,
                          sizeof(ca_routing_bid));
    CAI_REQUIRE_ELEM_SIZE("ca_routing_result", result_size, CAI_ROUTING_RESULT_SIZE_1,
                          sizeof(ca_routing_result));
    ca_routing_weights wt;
    ca_status st = check_query(rt, q, &wt);
    if (st != CA_OK)
        return st;
    if (bid_count == 0 || k == 0)
        return CA_OK;
    ca_routing_result *tmp = malloc(bid_count * sizeof *tmp);
    if (tmp == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory ranking bids");
    size_t n = 0;
    for (size_t i = 0; i < bid_count; i++) {
        ca_routing_bid b;
        cai_elem_get(&b, sizeof b, (const uint8_t *)bids + i * bid_size, bid_size);
        st = score_bid(rt, q, &wt, &b, &tmp[n]);
        if (st == CA_OK)
            n++;
        else if (st != CA_ERR_NOT_FOUND && st != CA_ERR_ROUTING_INELIGIBLE) {
            free(tmp);
            return st;
        }
    }
    if (n > 1) {
        /* One entry per agent: its best bid. */
        qsort(tmp, n, sizeof *tmp, result_agent_cmp);
        size_t m = 1;
        for (size_t i = 1; i < n; i++)
            if (memcmp(tmp[i].agent.bytes, tmp[m - 1].agent.bytes, CA_AGENT_ID_BYTES) != 0)
                tmp[m++] = tmp[i];
        n = m;
    }
    qsort(tmp, n, sizeof *tmp, result_rank_cmp);
    if (n > k)
        n = k;
    for (size_t i = 0; i < n; i++)
        cai_elem_put((uint8_t *)out + i * result_size, result_size, &tmp[i], sizeof tmp[i]);
    free(tmp);
    *out_count = n;
    return CA_OK;
}

ca_status ca_routing_result_explain(const ca_routing_result *result, size_t result_size, char *out,
                                    size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(result);
    CAI_REQUIRE(out_len);
    CAI_REQUIRE_ELEM_SIZE("ca_routing_result", result_size, CAI_ROUTING_RESULT_SIZE_1,
                          sizeof(ca_routing_result));
    ca_routing_result copy;
    cai_elem_get(&copy, sizeof copy, result, result_size);
    const ca_routing_result *r = &copy;
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "score %" PRId64 " = price %" PRId64 " (%" PRIu32 " ppm) + reputation %" PRId64
                     " (%" PRIu32 " ppm) + stake %" PRId64 " (%" PRIu32 " ppm) + latency %" PRId64
                     " (%" PRIu32 " ppm)",
                     r->score, r->price_term, r->price_ppm, r->reputation_term, r->reputation_ppm,
                     r->stake_term, r->stake_ppm, r->latency_term, r->latency_ppm);
    if (n < 0 || (size_t)n >= sizeof buf)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: result does not format");
    ca_status st = cai_check_out(out, out_cap, out_len, (size_t)n + 1);
    *out_len = (size_t)n;
    if (st != CA_OK)
        return st;
    memcpy(out, buf, (size_t)n + 1);
    return CA_OK;
}
