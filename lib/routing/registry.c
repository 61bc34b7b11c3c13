/*
 * Routing registry: agents by id, capability names interned, one max-heap of
 * postings per capability ordered by the registry's utility, a min-heap on
 * validity for expiry. Every update is O(c log n) for c capabilities.
 */
#include <stddef.h>
#include <stdlib.h>

#include "core/array.h"
#include "ledger/ledger_internal.h"
#include "routing_internal.h"

ca_status ca_routing_weights_init(ca_routing_weights *w, unsigned int version)
{
    CAI_REQUIRE(w);
    CAI_REQUIRE_VERSION("ca_routing_weights", version, CA_ROUTING_WEIGHTS_VERSION);
    /* Version 1 is every field below; a later version writes only the caller's fields. */
    w->version = version;
    w->price = CA_ROUTING_WEIGHTS_PRICE_DEFAULT;
    w->reputation = CA_ROUTING_WEIGHTS_REPUTATION_DEFAULT;
    w->stake = CA_ROUTING_WEIGHTS_STAKE_DEFAULT;
    w->latency = CA_ROUTING_WEIGHTS_LATENCY_DEFAULT;
    w->price_ref = CA_ROUTING_WEIGHTS_PRICE_REF_DEFAULT;
    w->stake_ref = CA_ROUTING_WEIGHTS_STAKE_REF_DEFAULT;
    w->latency_ref_ms = CA_ROUTING_WEIGHTS_LATENCY_REF_MS_DEFAULT;
    return CA_OK;
}

/* Bytes of the options struct a caller compiled against version 1 or 2 has. */
#define ROUTING_OPTIONS_V1_BYTES offsetof(ca_routing_options, max_card_lifetime_ms)
#define ROUTING_OPTIONS_V2_BYTES offsetof(ca_routing_options, max_delegates)

static size_t options_bytes(unsigned int version)
{
    return version == 1   ? ROUTING_OPTIONS_V1_BYTES
           : version == 2 ? ROUTING_OPTIONS_V2_BYTES
                          : sizeof(ca_routing_options);
}

ca_status ca_routing_options_init(ca_routing_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("routing options", version, CA_ROUTING_OPTIONS_VERSION);
    /* Only the fields of the caller's layout: a version-1 struct ends earlier. */
    ca_routing_options o;
    memset(&o, 0, sizeof o);
    o.version = version;
    o.max_agents = CA_ROUTING_MAX_AGENTS_DEFAULT;
    o.max_capabilities_per_agent = CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT;
    o.max_capability_names = CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT;
    o.max_capability_chars = CA_ROUTING_MAX_CAPABILITY_CHARS_DEFAULT;
    o.max_name_chars = CA_ROUTING_MAX_NAME_CHARS_DEFAULT;
    o.max_endpoint_bytes = CA_ROUTING_MAX_ENDPOINT_BYTES_DEFAULT;
    o.default_reputation_ppm = CA_ROUTING_DEFAULT_REPUTATION_PPM_DEFAULT;
    o.weights = NULL;
    o.expected_agents = 0;
    o.max_card_lifetime_ms = CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT;
    o.max_delegates = CA_ROUTING_MAX_DELEGATES_DEFAULT;
    o.max_revocations = CA_ROUTING_MAX_REVOCATIONS_DEFAULT;
    memcpy(opts, &o, options_bytes(version));
    return CA_OK;
}

ca_status cai_routing_weights_read(const ca_routing_weights *in, ca_routing_weights *out)
{
    CAI_REQUIRE_VERSION("ca_routing_weights", in->version, CA_ROUTING_WEIGHTS_VERSION);
    *out = *in; /* version 1 is the whole struct; a later one copies the caller's fields */
    out->version = CA_ROUTING_WEIGHTS_VERSION;
    if (out->price_ref == 0 || out->stake_ref == 0 || out->latency_ref_ms == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "routing weights: price_ref, stake_ref and latency_ref_ms must be >= 1");
    return CA_OK;
}

/* ---- Features and terms (exact integer arithmetic) ---- */

/* floor(PPM * num / (num + other)) for num + other > 0, exact for all inputs. */
static uint32_t ratio_ppm(uint64_t num, uint64_t other)
{
    const uint64_t lim = (uint64_t)1 << 43;
    if (num < lim && other < lim)
        return (uint32_t)(CA_LEDGER_PPM * num / (num + other));
    /* 128-bit: N = PPM * num, D = num + other; quotient <= PPM < 2^20. */
    uint64_t p_lo = (uint64_t)CA_LEDGER_PPM * (num & 0xffffffffu);
    uint64_t p_hi = (uint64_t)CA_LEDGER_PPM * (num >> 32);
    uint64_t n_lo = p_lo + (p_hi << 32);
    uint64_t n_hi = (p_hi >> 32) + (n_lo < p_lo);
    uint64_t d_lo = num + other;
    uint64_t d_hi = d_lo < num;
    uint32_t q = 0;
    for (int bit = 20; bit >= 0; bit--) {
        /* s = D << bit (fits: D < 2^65, bit <= 20) */
        uint64_t s_lo = d_lo << bit;
        uint64_t s_hi = bit == 0 ? d_hi : (d_hi << bit) | (d_lo >> (64 - bit));
        if (s_hi < n_hi || (s_hi == n_hi && s_lo <= n_lo)) {
            uint64_t borrow = n_lo < s_lo;
            n_lo -= s_lo;
            n_hi -= s_hi + borrow;
            q |= (uint32_t)1 << bit;
        }
    }
    return q;
}

void cai_routing_terms(const ca_routing_weights *w, uint64_t price, uint32_t reputation_ppm,
                       uint64_t stake, uint32_t latency_ms, cai_terms *out)
{
    out->price_ppm = ratio_ppm(w->price_ref, price);
    out->reputation_ppm = reputation_ppm;
    out->stake_ppm = ratio_ppm(stake, w->stake_ref);
    out->latency_ppm = latency_ms == 0 ? 0
                                       : (uint32_t)((uint64_t)CA_LEDGER_PPM * w->latency_ref_ms /
                                                    ((uint64_t)w->latency_ref_ms + latency_ms));
    out->price = (int64_t)w->price * out->price_ppm;
    out->reputation = (int64_t)w->reputation * out->reputation_ppm;
    out->stake = (int64_t)w->stake * out->stake_ppm;
    out->latency = (int64_t)w->latency * out->latency_ppm;
    out->total = out->price + out->reputation + out->stake + out->latency;
}

/* ---- Lookups: the registry's two keyed id maps ---- */

static uint64_t id_prefix(const ca_agent_id *id)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | id->bytes[i];
    return v;
}

/* Agents are pointers, so the map's candidates are compared here. */
static int64_t find_agent_hashed(const ca_routing *rt, const ca_agent_id *id, uint64_t h)
{
    cai_idmap_cursor c = cai_idmap_cursor_start(&rt->ids, h);
    for (uint32_t i; (i = cai_idmap_cursor_next(&rt->ids, &c)) != CAI_IDMAP_NONE;)
        if (cai_eq32(rt->agents[i]->id.bytes, id->bytes))
            return (int64_t)i;
    return -1;
}

int64_t cai_routing_find_agent(const ca_routing *rt, const ca_agent_id *id)
{
    return find_agent_hashed(rt, id, cai_idmap_hash(&rt->ids, id->bytes));
}

static uint64_t name_hash(const ca_routing *rt, const char *name, size_t len)
{
    return cai_idmap_hash_bytes(&rt->names, name, len);
}

/* `h` is name_hash(rt, name, len). */
static int64_t find_cap_hashed(const ca_routing *rt, const char *name, size_t len, uint64_t h)
{
    cai_idmap_cursor c = cai_idmap_cursor_start(&rt->names, h);
    for (uint32_t i; (i = cai_idmap_cursor_next(&rt->names, &c)) != CAI_IDMAP_NONE;)
        if (rt->caps[i].name_len == len && memcmp(rt->caps[i].name, name, len) == 0)
            return (int64_t)i;
    return -1;
}

int64_t cai_routing_find_cap(const ca_routing *rt, const char *name, size_t len)
{
    return find_cap_hashed(rt, name, len, name_hash(rt, name, len));
}

/* The treap priority of a name: the high half of its hash in the name map. */
uint32_t cai_routing_name_prio(const ca_routing *rt, const char *name, size_t len)
{
    return (uint32_t)(name_hash(rt, name, len) >> 32);
}

/* ---- Capability names ---- */

ca_status cai_routing_check_name(const ca_routing *rt, const char *name, size_t len,
                                 int allow_pattern)
{
    if (name == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: capability name is NULL");
    size_t base = len; /* the name part of a pattern ("p" of "p.*") */
    if (allow_pattern) {
        if (len == 1 && name[0] == '*')
            return CA_OK;
        if (len >= 2 && name[len - 1] == '*' && name[len - 2] == '.')
            base -= 2;
    }
    if (base > rt->opts.max_capability_chars)
        return cai_fail(CA_ERR_LIMIT, "routing: capability name of %zu bytes exceeds %zu", base,
                        rt->opts.max_capability_chars);
    return allow_pattern ? ca_capability_pattern_check(name, len) : ca_capability_check(name, len);
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return (alen > blen) - (alen < blen);
}

/* ---- Name tree: a treap in name order, max-heap on the keyed priority ---- */

uint32_t cai_routing_name_lower_bound(const ca_routing *rt, const char *name, size_t len)
{
    uint32_t best = CAI_NIL;
    for (uint32_t x = rt->name_root; x != CAI_NIL;) {
        const cai_cap *c = &rt->caps[x];
        if (name_cmp(c->name, c->name_len, name, len) >= 0) {
            best = x;
            x = c->left;
        } else {
            x = c->right;
        }
    }
    return best;
}

static uint32_t name_first(const ca_routing *rt)
{
    uint32_t x = rt->name_root;
    if (x != CAI_NIL)
        while (rt->caps[x].left != CAI_NIL)
            x = rt->caps[x].left;
    return x;
}

uint32_t cai_routing_name_next(const ca_routing *rt, uint32_t x)
{
    const cai_cap *c = rt->caps;
    if (c[x].right != CAI_NIL) {
        x = c[x].right;
        while (c[x].left != CAI_NIL)
            x = c[x].left;
        return x;
    }
    uint32_t p = c[x].parent;
    while (p != CAI_NIL && c[p].right == x) {
        x = p;
        p = c[p].parent;
    }
    return p;
}

/* The link that points at node x: its parent's child field, or the root. */
static uint32_t *name_link(ca_routing *rt, uint32_t x)
{
    uint32_t p = rt->caps[x].parent;
    if (p == CAI_NIL)
        return &rt->name_root;
    return rt->caps[p].left == x ? &rt->caps[p].left : &rt->caps[p].right;
}

/* Rotates node x above its parent; the in-order sequence stays the same. */
static void name_rotate_up(ca_routing *rt, uint32_t x)
{
    cai_cap *c = rt->caps;
    uint32_t p = c[x].parent;
    *name_link(rt, p) = x;
    c[x].parent = c[p].parent;
    if (c[p].left == x) {
        c[p].left = c[x].right;
        if (c[x].right != CAI_NIL)
            c[c[x].right].parent = p;
        c[x].right = p;
    } else {
        c[p].right = c[x].left;
        if (c[x].left != CAI_NIL)
            c[c[x].left].parent = p;
        c[x].left = p;
    }
    c[p].parent = x;
    rt->name_steps++;
}

/* Links node x (name and prio set, name not in the tree): descend, then rotate up. */
static void name_insert(ca_routing *rt, uint32_t x)
{
    cai_cap *c = rt->caps;
    c[x].left = c[x].right = CAI_NIL;
    uint32_t parent = CAI_NIL, *link = &rt->name_root;
    while (*link != CAI_NIL) {
        parent = *link;
        rt->name_steps++;
        link = name_cmp(c[x].name, c[x].name_len, c[parent].name, c[parent].name_len) < 0
                   ? &c[parent].left
                   : &c[parent].right;
    }
    *link = x;
    c[x].parent = parent;
    while (c[x].parent != CAI_NIL && c[c[x].parent].prio < c[x].prio)
        name_rotate_up(rt, x);
}

/* Unlinks node x: rotate it down below its higher-priority child until it is a leaf. */
static void name_delete(ca_routing *rt, uint32_t x)
{
    cai_cap *c = rt->caps;
    while (c[x].left != CAI_NIL || c[x].right != CAI_NIL) {
        uint32_t l = c[x].left, r = c[x].right;
        uint32_t up = l == CAI_NIL ? r : r == CAI_NIL ? l : c[l].prio >= c[r].prio ? l : r;
        name_rotate_up(rt, up);
    }
    *name_link(rt, x) = CAI_NIL;
    c[x].parent = CAI_NIL;
}

ca_status cai_routing_match(const ca_routing *rt, const char *pat, size_t len, uint32_t *buf,
                            size_t buf_cap, uint32_t **list, size_t *n)
{
    *list = buf;
    *n = 0;
    uint32_t x;
    size_t plen, cap = buf_cap;
    uint32_t *out = buf;
    if (len == 1 && pat[0] == '*') {
        plen = 0;
        x = name_first(rt);
        if (rt->live_caps > buf_cap) {
            out = malloc((size_t)rt->live_caps * sizeof *out);
            if (out == NULL)
                return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory in a query");
            cap = rt->live_caps;
        }
    } else if (len >= 2 && pat[len - 1] == '*') {
        plen = len - 1; /* keeps the '.' */
        x = cai_routing_name_lower_bound(rt, pat, plen);
    } else {
        int64_t ci = cai_routing_find_cap(rt, pat, len);
        if (ci >= 0 && buf_cap > 0) {
            buf[0] = (uint32_t)ci;
            *n = 1;
        }
        return CA_OK;
    }
    size_t cnt = 0;
    for (; x != CAI_NIL; x = cai_routing_name_next(rt, x)) {
        const cai_cap *c = &rt->caps[x];
        if (c->name_len < plen || memcmp(c->name, pat, plen) != 0)
            break;
        if (cnt == cap) {
            /* Out of the caller's buffer: onto the heap, doubling from 64 (at most every name). */
            uint32_t *grown = out == buf ? NULL : out;
            uint32_t gcap = out == buf ? 0 : (uint32_t)cap;
            ca_status st = cai_array_grow_from((void **)&grown, &gcap, cnt + 1, sizeof *grown,
                                               rt->live_caps, 64);
            if (st != CA_OK) {
                if (out != buf)
                    free(out);
                return st;
            }
            if (out == buf && cnt > 0)
                memcpy(grown, buf, cnt * sizeof *grown);
            out = grown;
            cap = gcap;
        }
        out[cnt++] = x;
    }
    *list = out;
    *n = cnt;
    return CA_OK;
}

/*
 * Creates capability `name` (not interned yet, admission already checked):
 * a slot, a copy of the name, its hash-table entry and its tree node.
 */
static ca_status cap_create(ca_routing *rt, const char *name, size_t len, uint64_t h, uint32_t *out)
{
    /* Reserve everything first, then link. */
    ca_status st = cai_idmap_reserve(&rt->names, 1);
    if (st == CA_OK && rt->free_cap == CAI_NIL)
        st = cai_array_grow((void **)&rt->caps, &rt->caps_cap, (uint64_t)rt->ncaps_slots + 1,
                            sizeof *rt->caps, rt->names.limit);
    if (st != CA_OK)
        return st;
    char *copy = malloc(len);
    if (copy == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory for a capability name");
    memcpy(copy, name, len);
    uint32_t ci;
    if (rt->free_cap != CAI_NIL) {
        ci = rt->free_cap;
        rt->free_cap = rt->caps[ci].next_free;
    } else {
        ci = rt->ncaps_slots++;
    }
    cai_cap *c = &rt->caps[ci];
    memset(c, 0, sizeof *c);
    c->name = copy;
    c->name_len = (uint32_t)len;
    c->prio = (uint32_t)(h >> 32);
    cai_idmap_insert_hashed(&rt->names, h, ci);
    name_insert(rt, ci);
    rt->live_caps++;
    *out = ci;
    return CA_OK;
}

/* Drops a capability that no agent offers any more. */
static void cap_release_if_empty(ca_routing *rt, uint32_t ci)
{
    cai_cap *c = &rt->caps[ci];
    if (c->name == NULL || c->count != 0)
        return;
    (void)cai_idmap_remove_hashed(&rt->names, name_hash(rt, c->name, c->name_len), ci);
    name_delete(rt, ci);
    rt->live_caps--;
    free(c->name);
    free(c->heap);
    memset(c, 0, sizeof *c);
    c->next_free = rt->free_cap;
    rt->free_cap = ci;
}

/* Room for one more posting (a capability has at most one per agent); doubling from 4. */
static ca_status cap_reserve(const ca_routing *rt, cai_cap *c)
{
    return cai_array_grow_from((void **)&c->heap, &c->capacity, (uint64_t)c->count + 1,
                               sizeof *c->heap, (uint32_t)rt->opts.max_agents, 4);
}

/* ---- Posting heaps (max-heap in ranking order) ---- */

int cai_posting_before(const ca_routing *rt, const cai_posting *a, const cai_posting *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->id_prefix != b->id_prefix)
        return a->id_prefix < b->id_prefix;
    return memcmp(rt->agents[a->agent]->id.bytes, rt->agents[b->agent]->id.bytes,
                  CA_AGENT_ID_BYTES) < 0;
}

static void heap_put(ca_routing *rt, cai_cap *c, uint32_t pos, const cai_posting *p)
{
    c->heap[pos] = *p;
    rt->agents[p->agent]->caps[p->slot].pos = pos;
}

/* Sift down only (also Floyd's heap construction in rebuild_postings). */
static void heap_down(ca_routing *rt, cai_cap *c, uint32_t pos)
{
    cai_posting p = c->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1, best = pos;
        const cai_posting *bp = &p;
        if (l < c->count && cai_posting_before(rt, &c->heap[l], bp)) {
            best = l;
            bp = &c->heap[l];
        }
        if (l + 1 < c->count && cai_posting_before(rt, &c->heap[l + 1], bp))
            best = l + 1;
        if (best == pos)
            break;
        heap_put(rt, c, pos, &c->heap[best]);
        pos = best;
    }
    heap_put(rt, c, pos, &p);
}

/* Restores the heap order around a posting whose key changed: up, or else down. */
static void heap_sift(ca_routing *rt, cai_cap *c, uint32_t pos)
{
    cai_posting p = c->heap[pos];
    const uint32_t start = pos;
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!cai_posting_before(rt, &p, &c->heap[parent]))
            break;
        heap_put(rt, c, pos, &c->heap[parent]);
        pos = parent;
    }
    if (pos != start)
        heap_put(rt, c, pos, &p);
    else
        heap_down(rt, c, pos);
}

/*
 * Halves a heap that is less than half full (never below 4 slots), so a
 * capability's heap holds at most 2 * count + 1 slots however many postings
 * it once had: postings moved from name to name leave no memory behind.
 * Keeps room for one more posting (count < capacity / 2 = the new capacity):
 * replacing a card removes its postings after the commit's reservation and
 * adds the new ones without a second one. A failed shrink keeps the larger
 * block.
 */
static void cap_shrink(cai_cap *c)
{
    if (c->capacity <= 4 || c->count >= c->capacity / 2)
        return;
    uint32_t nc = c->capacity / 2 < 4 ? 4 : c->capacity / 2;
    cai_posting *h = realloc(c->heap, (size_t)nc * sizeof *h);
    if (h != NULL) {
        c->heap = h;
        c->capacity = nc;
    }
}

static void heap_remove_at(ca_routing *rt, cai_cap *c, uint32_t pos)
{
    c->count--;
    if (pos != c->count) {
        heap_put(rt, c, pos, &c->heap[c->count]);
        heap_sift(rt, c, pos);
    }
    cap_shrink(c);
}

/* ---- Expiry heap (min-heap on valid_until) ---- */

static void expiry_put(ca_routing *rt, uint32_t pos, cai_expiry e)
{
    rt->expiry[pos] = e;
    rt->agents[e.agent]->expiry_pos = pos;
}

static void expiry_sift(ca_routing *rt, uint32_t pos)
{
    cai_expiry e = rt->expiry[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (rt->expiry[parent].valid_until <= e.valid_until)
            break;
        expiry_put(rt, pos, rt->expiry[parent]);
        pos = parent;
    }
    for (;;) {
        uint32_t l = 2 * pos + 1, best = pos;
        uint64_t bv = e.valid_until;
        if (l < rt->nagents && rt->expiry[l].valid_until < bv) {
            best = l;
            bv = rt->expiry[l].valid_until;
        }
        if (l + 1 < rt->nagents && rt->expiry[l + 1].valid_until < bv)
            best = l + 1;
        if (best == pos)
            break;
        expiry_put(rt, pos, rt->expiry[best]);
        pos = best;
    }
    expiry_put(rt, pos, e);
}

/* ---- Handle ---- */

/* Room for n agents in the agent array, the expiry heap and the id map. */
static ca_status reserve_agents(ca_routing *rt, size_t n)
{
    const uint32_t max = (uint32_t)rt->opts.max_agents;
    ca_status st =
        cai_array_grow((void **)&rt->agents, &rt->agents_cap, n, sizeof(cai_agent *), max);
    if (st == CA_OK)
        st = cai_array_grow((void **)&rt->expiry, &rt->expiry_cap, n, sizeof *rt->expiry, max);
    if (st == CA_OK && n > rt->ids.count)
        st = cai_idmap_reserve(&rt->ids, (uint32_t)(n - rt->ids.count));
    return st;
}

ca_status ca_routing_new(ca_routing **out, const ca_routing_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    ca_routing_options o;
    if (opts == NULL) {
        (void)ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION);
    } else {
        CAI_REQUIRE_VERSION("routing options", opts->version, CA_ROUTING_OPTIONS_VERSION);
        /* A version-1 caller's struct ends before the fields added since. */
        (void)ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION);
        memcpy(&o, opts, options_bytes(opts->version));
    }
    if (o.max_agents == 0 || o.max_agents > UINT32_MAX / 4 || o.max_capabilities_per_agent == 0 ||
        o.max_capabilities_per_agent > CA_CARD_CAPABILITIES_MAX || o.max_capability_names == 0 ||
        o.max_capability_names > UINT32_MAX / 4 || o.max_capability_chars == 0 ||
        o.max_capability_chars > CA_CAPABILITY_MAX || o.max_name_chars > CA_CARD_NAME_MAX ||
        o.max_endpoint_bytes > CA_CARD_ENDPOINT_MAX || o.default_reputation_ppm > CA_LEDGER_PPM ||
        o.expected_agents > o.max_agents || o.max_card_lifetime_ms == 0 || o.max_revocations == 0 ||
        o.max_revocations > CAI_IDMAP_MAX_ENTRIES)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "routing options: a limit is zero or above the card's limit (card.h)");
    ca_routing_weights w;
    (void)ca_routing_weights_init(&w, CA_ROUTING_WEIGHTS_VERSION);
    if (o.weights != NULL && (st = cai_routing_weights_read(o.weights, &w)) != CA_OK)
        return st;
    ca_routing *rt = calloc(1, sizeof *rt);
    if (rt == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory");
    if (o.max_delegates > o.max_agents) /* a delegate is an agent too */
        o.max_delegates = o.max_agents;
    rt->opts = o;
    rt->opts.weights = NULL; /* the caller's pointer was borrowed for this call */
    rt->weights = w;
    rt->free_cap = CAI_NIL;
    rt->name_root = CAI_NIL;
    rt->free_del = CAI_NIL;
    rt->free_link = CAI_NIL;
    const size_t links = o.max_delegates * CA_DELEGATION_MAX_DEPTH;
    (void)cai_idmap_init(&rt->link_ids, links == 0                      ? 1
                                        : links < CAI_IDMAP_MAX_ENTRIES ? (uint32_t)links
                                                                        : CAI_IDMAP_MAX_ENTRIES);
    (void)cai_idmap_init(&rt->revoked_ids, (uint32_t)o.max_revocations);
    /* Names: a card's new names are made before the names only its old card held go. */
    size_t names = o.max_capability_names + o.max_capabilities_per_agent;
    (void)cai_idmap_init(&rt->ids, (uint32_t)o.max_agents); /* <= 2^30 - 1, checked above */
    (void)cai_idmap_init(&rt->names,
                         names < CAI_IDMAP_MAX_ENTRIES ? (uint32_t)names : CAI_IDMAP_MAX_ENTRIES);
    if ((st = cai_idmap_reserve(&rt->ids, 1)) != CA_OK ||
        (st = cai_idmap_reserve(&rt->names, 1)) != CA_OK ||
        (o.expected_agents && (st = reserve_agents(rt, o.expected_agents)) != CA_OK)) {
        ca_routing_free(rt);
        return st;
    }
    *out = rt;
    return CA_OK;
}

void ca_routing_free(ca_routing *rt)
{
    if (rt == NULL)
        return;
    for (uint32_t i = 0; i < rt->nagents; i++)
        free(rt->agents[i]);
    for (uint32_t c = 0; c < rt->ncaps_slots; c++) {
        free(rt->caps[c].name);
        free(rt->caps[c].heap);
    }
    free(rt->agents);
    free(rt->expiry);
    cai_idmap_free(&rt->ids);
    free(rt->caps);
    cai_idmap_free(&rt->names);
    cai_routing_delegates_free(rt);
    free(rt);
}

size_t ca_routing_count(const ca_routing *rt)
{
    return rt == NULL ? 0 : rt->nagents;
}

/* ---- Add, replace, remove ---- */

static void fill_posting(const ca_routing *rt, const cai_agent *a, uint32_t ai, uint16_t slot,
                         uint64_t price, uint32_t latency_ms, cai_posting *p)
{
    cai_terms t;
    cai_routing_terms(&rt->weights, price, a->reputation_ppm, a->stake, latency_ms, &t);
    p->score = t.total;
    p->id_prefix = id_prefix(&a->id);
    p->price = price;
    p->stake = a->stake;
    p->agent = ai;
    p->reputation_ppm = a->reputation_ppm;
    p->latency_ms = latency_ms;
    p->slot = slot;
    p->pad_ = 0;
}

/* Removes every posting of agent ai from the capability heaps. */
static void unlink_postings(ca_routing *rt, uint32_t ai)
{
    cai_agent *a = rt->agents[ai];
    for (uint32_t s = 0; s < a->ncaps; s++) {
        cai_cap *c = &rt->caps[a->caps[s].cap];
        heap_remove_at(rt, c, a->caps[s].pos);
    }
}

static void release_caps_of(ca_routing *rt, const cai_agent *a)
{
    for (uint32_t s = 0; s < a->ncaps; s++)
        cap_release_if_empty(rt, a->caps[s].cap);
}

/* Does the stored agent carry exactly the entry's content? */
static int same_content(const ca_routing *rt, const cai_agent *a, const cai_routing_entry *e)
{
    if ((a->delegate == CAI_NIL) != (e->delegate == NULL) ||
        (e->delegate != NULL && !cai_routing_delegate_same(rt, a->delegate, e->delegate)))
        return 0;
    if (a->valid_from != e->valid_from || a->card_until != e->valid_until ||
        a->claimed_stake != e->stake || a->name_len != e->name_len ||
        a->endpoint_len != e->endpoint_len || a->ncaps != e->capability_count)
        return 0;
    if (e->name_len && memcmp(cai_agent_name(a), e->name, e->name_len) != 0)
        return 0;
    if (e->endpoint_len && memcmp(cai_agent_endpoint(a), e->endpoint, e->endpoint_len) != 0)
        return 0;
    for (uint32_t s = 0; s < a->ncaps; s++) {
        const cai_cap *c = &rt->caps[a->caps[s].cap];
        const cai_posting *p = &c->heap[a->caps[s].pos];
        const cai_routing_capability *ec = &e->capabilities[s];
        if (c->name_len != ec->name_len || memcmp(c->name, ec->name, ec->name_len) != 0 ||
            p->price != ec->price || p->latency_ms != ec->latency_ms)
            return 0;
    }
    return 1;
}

/* How long the registry keeps a card added at `now`: min(valid_until, now + max lifetime). */
static uint64_t keep_until(const ca_routing *rt, uint64_t valid_until, uint64_t now)
{
    const uint64_t cap = cai_sat_add(now, rt->opts.max_card_lifetime_ms);
    return valid_until < cap ? valid_until : cap;
}

static ca_status check_entry(const ca_routing *rt, const cai_routing_entry *e, uint64_t now)
{
    const ca_routing_options *o = &rt->opts;
    if (e->valid_from > e->valid_until)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "routing: valid_from %llu is after valid_until %llu",
                        (unsigned long long)e->valid_from, (unsigned long long)e->valid_until);
    if (now > e->valid_until)
        return cai_fail(CA_ERR_EXPIRED, "routing: card expired at %llu, now is %llu",
                        (unsigned long long)e->valid_until, (unsigned long long)now);
    if (e->valid_from > keep_until(rt, e->valid_until, now))
        return cai_fail(
            CA_ERR_NOT_YET_VALID,
            "routing: card becomes valid at %llu, later than now + max_card_lifetime_ms "
            "(%llu + %llu)",
            (unsigned long long)e->valid_from, (unsigned long long)now,
            (unsigned long long)rt->opts.max_card_lifetime_ms);
    if (e->name_len > o->max_name_chars)
        return cai_fail(CA_ERR_LIMIT, "routing: name of %zu bytes exceeds %zu", e->name_len,
                        o->max_name_chars);
    if (e->endpoint_len > o->max_endpoint_bytes)
        return cai_fail(CA_ERR_LIMIT, "routing: endpoint of %zu bytes exceeds %zu", e->endpoint_len,
                        o->max_endpoint_bytes);
    if ((e->name_len && e->name == NULL) || (e->endpoint_len && e->endpoint == NULL) ||
        (e->capability_count && e->capabilities == NULL))
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: NULL pointer with a nonzero length");
    if (e->capability_count > o->max_capabilities_per_agent)
        return cai_fail(CA_ERR_LIMIT, "routing: %zu capabilities exceed %zu per agent",
                        e->capability_count, o->max_capabilities_per_agent);
    for (size_t i = 0; i < e->capability_count; i++) {
        const cai_routing_capability *c = &e->capabilities[i];
        ca_status st = cai_routing_check_name(rt, c->name, c->name_len, 0);
        if (st != CA_OK)
            return st;
        for (size_t j = 0; j < i; j++)
            if (e->capabilities[j].name_len == c->name_len &&
                memcmp(e->capabilities[j].name, c->name, c->name_len) == 0)
                return cai_fail(CA_ERR_INVALID_ARGUMENT,
                                "routing: capability %zu repeats capability %zu", i, j);
    }
    return CA_OK;
}

static void remove_agent(ca_routing *rt, uint32_t ai);

/* Forgets every card kept no longer at `now` (valid_until < now); how many. */
static size_t prune_ended(ca_routing *rt, uint64_t now)
{
    size_t n = 0;
    while (rt->nagents > 0 && rt->expiry[0].valid_until < now) {
        remove_agent(rt, rt->expiry[0].agent);
        n++;
    }
    return n;
}

/*
 * Name admission: CA_ERR_LIMIT when the entry's names that are not interned
 * yet would take the registry past max_capability_names, counting the names
 * only the replaced card (`old`) holds as free. cap_ids[i] receives the index
 * of each interned name, CAI_NIL for a new one; hashes[i] the name's hash in
 * the name map (a new name is inserted under it).
 */
static ca_status admit_names(const ca_routing *rt, const cai_routing_entry *e, const cai_agent *old,
                             uint32_t *cap_ids, uint64_t *hashes)
{
    size_t fresh = 0;
    for (size_t i = 0; i < e->capability_count; i++) {
        const cai_routing_capability *c = &e->capabilities[i];
        hashes[i] = name_hash(rt, c->name, c->name_len);
        int64_t f = find_cap_hashed(rt, c->name, c->name_len, hashes[i]);
        cap_ids[i] = f < 0 ? CAI_NIL : (uint32_t)f;
        fresh += f < 0;
    }
    if (fresh == 0)
        return CA_OK;
    size_t freed = 0;
    for (uint32_t s = 0; old != NULL && s < old->ncaps; s++) {
        uint32_t ci = old->caps[s].cap;
        int kept = 0;
        for (size_t i = 0; i < e->capability_count; i++)
            kept |= cap_ids[i] == ci;
        freed += !kept && rt->caps[ci].count == 1;
    }
    if ((size_t)rt->live_caps - freed + fresh > rt->opts.max_capability_names)
        return cai_fail(CA_ERR_LIMIT,
                        "routing: %zu new capability names do not fit: the registry holds %u "
                        "of at most %zu",
                        fresh, rt->live_caps, rt->opts.max_capability_names);
    return CA_OK;
}

ca_status cai_routing_add_entry(ca_routing *rt, const cai_routing_entry *e, uint64_t now)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(e);
    ca_status st = check_entry(rt, e, now);
    if (st != CA_OK)
        return st;
    /* Admission rule, part 1: cards that ended are forgotten before anything is compared. */
    rt->pruned += prune_ended(rt, now);
    int64_t found = cai_routing_find_agent(rt, &e->agent);
    cai_agent *old = found >= 0 ? rt->agents[found] : NULL;
    const uint64_t until = keep_until(rt, e->valid_until, now);
    if (old != NULL) {
        if (e->sequence < old->sequence)
            return cai_fail(CA_ERR_ROUTING_STALE,
                            "routing: card sequence %llu is older than the registered %llu",
                            (unsigned long long)e->sequence, (unsigned long long)old->sequence);
        if (e->sequence == old->sequence) {
            if (!same_content(rt, old, e))
                return cai_fail(CA_ERR_ROUTING_CONFLICT,
                                "routing: a different card with sequence %llu is registered",
                                (unsigned long long)e->sequence);
            /* The same card again: it is kept max_card_lifetime_ms from now. */
            if (until > old->valid_until) {
                old->valid_until = until;
                rt->expiry[old->expiry_pos].valid_until = until;
                expiry_sift(rt, old->expiry_pos);
            }
            return CA_OK;
        }
    } else if (rt->nagents >= rt->opts.max_agents) {
        return cai_fail(CA_ERR_LIMIT, "routing: registry holds the maximum of %zu agents",
                        rt->opts.max_agents);
    }
    uint32_t cap_ids[CA_CARD_CAPABILITIES_MAX];
    uint64_t hashes[CA_CARD_CAPABILITIES_MAX];
    st = admit_names(rt, e, old, cap_ids, hashes);
    if (st == CA_OK && e->delegate != NULL)
        st = cai_routing_delegate_reserve(rt, e->delegate, old != NULL && old->delegate != CAI_NIL);
    if (st != CA_OK)
        return st;

    /* Reserve: record, agent slots, capability names and heap room. */
    size_t ncaps = e->capability_count;
    cai_agent *a =
        malloc(sizeof *a + ncaps * sizeof(cai_agent_cap) + e->name_len + e->endpoint_len);
    if (a == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "routing: out of memory for an agent");
    if (old == NULL && (st = reserve_agents(rt, (size_t)rt->nagents + 1)) != CA_OK) {
        free(a);
        return st;
    }
    int created[CA_CARD_CAPABILITIES_MAX];
    for (size_t done = 0; done < ncaps; done++) {
        const cai_routing_capability *c = &e->capabilities[done];
        created[done] = cap_ids[done] == CAI_NIL;
        st = created[done] ? cap_create(rt, c->name, c->name_len, hashes[done], &cap_ids[done])
                           : CA_OK;
        if (st == CA_OK)
            st = cap_reserve(rt, &rt->caps[cap_ids[done]]);
        else
            created[done] = 0; /* nothing was made */
        if (st != CA_OK) {
            /* Undo: drop the names this call created (they have no postings). */
            for (size_t j = 0; j <= done; j++)
                if (created[j])
                    cap_release_if_empty(rt, cap_ids[j]);
            free(a);
            return st;
        }
    }

    /* Commit. */
    memset(a, 0, sizeof *a);
    a->id = e->agent;
    a->sequence = e->sequence;
    a->valid_from = e->valid_from;
    a->valid_until = until;
    a->card_until = e->valid_until;
    a->claimed_stake = e->stake;
    a->ncaps = (uint8_t)ncaps;
    a->name_len = (uint8_t)e->name_len;
    a->endpoint_len = (uint16_t)e->endpoint_len;
    a->delegate = CAI_NIL;
    if (e->name_len)
        memcpy((char *)cai_agent_name(a), e->name, e->name_len);
    if (e->endpoint_len)
        memcpy((uint8_t *)cai_agent_endpoint(a), e->endpoint, e->endpoint_len);
    uint32_t ai;
    if (old != NULL) {
        ai = (uint32_t)found;
        a->flags = old->flags;
        /* The account resolved for the old card holds for the new one if it acts for the same
         * principal; otherwise the next sync resolves it. */
        const ca_agent_id *was =
            old->delegate != CAI_NIL ? &rt->dels[old->delegate].principal : &old->id;
        const ca_agent_id *now_for = e->delegate != NULL ? &e->delegate->principal : &e->agent;
        if (cai_eq32(was->bytes, now_for->bytes))
            a->account = old->account;
        else
            a->flags &= (uint8_t)~CAI_AGENT_ACCOUNT_FROM_LEDGER;
        a->stake = (old->flags & CAI_AGENT_STAKE_FROM_LEDGER) ? old->stake : e->stake;
        a->reputation_ppm = old->reputation_ppm;
        a->positive_milli = old->positive_milli;
        a->negative_milli = old->negative_milli;
        a->expiry_pos = old->expiry_pos;
        if (old->delegate != CAI_NIL)
            cai_routing_delegate_detach(rt, old->delegate);
        unlink_postings(rt, ai);
        rt->agents[ai] = a;
        /* Old capabilities nobody offers any more go away. */
        for (uint32_t s = 0; s < old->ncaps; s++) {
            int still = 0;
            for (size_t j = 0; j < ncaps; j++)
                still |= cap_ids[j] == old->caps[s].cap;
            if (!still)
                cap_release_if_empty(rt, old->caps[s].cap);
        }
        free(old);
        rt->expiry[a->expiry_pos].valid_until = a->valid_until;
        expiry_sift(rt, a->expiry_pos);
    } else {
        ai = rt->nagents++;
        a->stake = e->stake;
        a->reputation_ppm = rt->opts.default_reputation_ppm;
        /* A new delegate weighs what its delegator weighs here, when it is registered. */
        int64_t pi = e->delegate != NULL ? cai_routing_find_agent(rt, &e->delegate->principal) : -1;
        if (pi >= 0) {
            const cai_agent *pa = rt->agents[pi];
            a->flags = pa->flags & CAI_AGENT_STAKE_FROM_LEDGER;
            if (pa->delegate == CAI_NIL && (pa->flags & CAI_AGENT_ACCOUNT_FROM_LEDGER)) {
                a->flags |= CAI_AGENT_ACCOUNT_FROM_LEDGER; /* the same principal, resolved */
                a->account = pa->account;
            }
            if (a->flags)
                a->stake = pa->stake;
            a->reputation_ppm = pa->reputation_ppm;
            a->positive_milli = pa->positive_milli;
            a->negative_milli = pa->negative_milli;
        }
        rt->agents[ai] = a;
        cai_idmap_insert(&rt->ids, a->id.bytes, ai);
        a->expiry_pos = ai;
        expiry_put(rt, ai, (cai_expiry){a->valid_until, ai});
        expiry_sift(rt, ai);
    }
    if (e->delegate != NULL)
        a->delegate = cai_routing_delegate_attach(rt, &a->id, e->delegate);
    for (uint32_t s = 0; s < ncaps; s++) {
        cai_cap *c = &rt->caps[cap_ids[s]];
        a->caps[s].cap = cap_ids[s];
        cai_posting p;
        fill_posting(rt, a, ai, (uint16_t)s, e->capabilities[s].price,
                     e->capabilities[s].latency_ms, &p);
        uint32_t pos = c->count++;
        heap_put(rt, c, pos, &p);
        heap_sift(rt, c, pos);
    }
    return CA_OK;
}

/* Removes agent ai completely; the last agent moves into its index. */
static void remove_agent(ca_routing *rt, uint32_t ai)
{
    cai_agent *a = rt->agents[ai];
    if (a->delegate != CAI_NIL)
        cai_routing_delegate_detach(rt, a->delegate);
    unlink_postings(rt, ai);
    (void)cai_idmap_remove(&rt->ids, a->id.bytes, ai);
    /* expiry: move the last heap element into a's place */
    uint32_t epos = a->expiry_pos;
    uint32_t last_e = rt->nagents - 1;
    cai_expiry moved_e = rt->expiry[last_e];
    release_caps_of(rt, a);
    uint32_t last = rt->nagents - 1;
    if (ai != last) {
        /* Re-point everything that refers to the last agent's index. */
        cai_agent *m = rt->agents[last];
        (void)cai_idmap_renumber(&rt->ids, m->id.bytes, last, ai);
        for (uint32_t s = 0; s < m->ncaps; s++)
            rt->caps[m->caps[s].cap].heap[m->caps[s].pos].agent = ai;
        rt->expiry[m->expiry_pos].agent = ai;
        if (moved_e.agent == last)
            moved_e.agent = ai;
        rt->agents[ai] = m;
    }
    rt->nagents--;
    if (epos != last_e) {
        expiry_put(rt, epos, moved_e);
        expiry_sift(rt, epos);
    }
    free(a);
}

ca_status cai_routing_remove_id(ca_routing *rt, const ca_agent_id *agent)
{
    int64_t ai = cai_routing_find_agent(rt, agent);
    if (ai < 0)
        return cai_fail(CA_ERR_NOT_FOUND, "routing: agent is not registered");
    remove_agent(rt, (uint32_t)ai);
    return CA_OK;
}

ca_status ca_routing_remove(ca_routing *rt, const ca_agent_id *agent)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    int64_t ai = cai_routing_find_agent(rt, agent);
    if (ai < 0)
        return cai_fail(CA_ERR_NOT_FOUND, "routing: agent is not registered");
    remove_agent(rt, (uint32_t)ai);
    return CA_OK;
}

ca_status ca_routing_expire(ca_routing *rt, uint64_t now, size_t *removed)
{
    CAI_REQUIRE(rt);
    size_t n = prune_ended(rt, now);
    cai_routing_revocations_expire(rt, now);
    if (removed != NULL)
        *removed = n;
    return CA_OK;
}

/* Recomputes every posting of agent ai after a stake or reputation change. */
static void refresh_postings(ca_routing *rt, uint32_t ai)
{
    cai_agent *a = rt->agents[ai];
    for (uint32_t s = 0; s < a->ncaps; s++) {
        cai_cap *c = &rt->caps[a->caps[s].cap];
        uint32_t pos = a->caps[s].pos;
        cai_posting *p = &c->heap[pos];
        fill_posting(rt, a, ai, (uint16_t)s, p->price, p->latency_ms, p);
        heap_sift(rt, c, pos);
    }
}

static ca_status lookup(const ca_routing *rt, const ca_agent_id *agent, uint32_t *ai)
{
    int64_t i = cai_routing_find_agent(rt, agent);
    if (i < 0)
        return cai_fail(CA_ERR_NOT_FOUND, "routing: agent is not registered");
    *ai = (uint32_t)i;
    return CA_OK;
}

ca_status ca_routing_set_reputation(ca_routing *rt, const ca_agent_id *agent,
                                    uint32_t reputation_ppm)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    if (reputation_ppm > CA_LEDGER_PPM)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: reputation %u ppm exceeds %u",
                        reputation_ppm, CA_LEDGER_PPM);
    uint32_t ai;
    ca_status st = lookup(rt, agent, &ai);
    if (st != CA_OK)
        return st;
    rt->agents[ai]->reputation_ppm = reputation_ppm;
    refresh_postings(rt, ai);
    return CA_OK;
}

ca_status ca_routing_set_evidence(ca_routing *rt, const ca_agent_id *agent, uint64_t positive_milli,
                                  uint64_t negative_milli)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    uint32_t ai;
    ca_status st = lookup(rt, agent, &ai);
    if (st != CA_OK)
        return st;
    rt->agents[ai]->positive_milli = positive_milli;
    rt->agents[ai]->negative_milli = negative_milli;
    return CA_OK;
}

ca_status ca_routing_set_stake(ca_routing *rt, const ca_agent_id *agent, uint64_t stake)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    uint32_t ai;
    ca_status st = lookup(rt, agent, &ai);
    if (st != CA_OK)
        return st;
    rt->agents[ai]->stake = stake;
    rt->agents[ai]->flags |= CAI_AGENT_STAKE_FROM_LEDGER;
    refresh_postings(rt, ai);
    return CA_OK;
}

/* ---- Bulk sync from the ledger and from reputation ---- */

/* Whose account and score stand behind an agent: a delegate's delegator, else itself. */
static const ca_agent_id *principal_of(const ca_routing *rt, const cai_agent *a)
{
    return a->delegate != CAI_NIL ? &rt->dels[a->delegate].principal : &a->id;
}

/* The id reputation files the agent's score under: the account its principal's key signs for
 * as of the last ca_routing_sync_stakes (a rotated identity's current key: the account), else
 * the principal itself. */
static const ca_agent_id *account_of(const ca_routing *rt, const cai_agent *a)
{
    return (a->flags & CAI_AGENT_ACCOUNT_FROM_LEDGER) ? &a->account : principal_of(rt, a);
}

/*
 * Recomputes every posting from its agent's stake and reputation and rebuilds
 * every capability heap bottom-up: O(postings), no allocation, cannot fail.
 */
static void rebuild_postings(ca_routing *rt)
{
    for (uint32_t ci = 0; ci < rt->ncaps_slots; ci++) {
        cai_cap *c = &rt->caps[ci];
        if (c->name == NULL)
            continue;
        for (uint32_t j = 0; j < c->count; j++) {
            cai_posting *p = &c->heap[j];
            fill_posting(rt, rt->agents[p->agent], p->agent, p->slot, p->price, p->latency_ms, p);
        }
        for (uint32_t j = c->count / 2; j > 0; j--)
            heap_down(rt, c, j - 1);
    }
}

ca_status ca_routing_sync_stakes(ca_routing *rt, const ca_ledger *ledger, uint64_t now_ms)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(ledger);
    int changed = 0;
    for (uint32_t i = 0; i < rt->nagents;) {
        cai_agent *a = rt->agents[i];
        ca_agent_id account;
        const int k = cai_ledger_account_of_key(ledger, principal_of(rt, a), &account, NULL);
        if (k == CAI_KEY_REPLACED) {
            /* The card's key was an identity's and has rotated away: it speaks for nothing.
             * The last agent moves into index i, which is looked at next. */
            remove_agent(rt, i);
            continue;
        }
        if (k == CAI_KEY_UNKNOWN)
            account = *principal_of(rt, a);
        const uint64_t stake =
            k == CAI_KEY_SIGNS ? cai_ledger_weighed_stake(ledger, &account, now_ms) : 0;
        if (a->stake != stake)
            changed = 1;
        a->stake = stake;
        a->account = account;
        a->flags |= CAI_AGENT_STAKE_FROM_LEDGER | CAI_AGENT_ACCOUNT_FROM_LEDGER;
        i++;
    }
    if (changed)
        rebuild_postings(rt);
    return CA_OK;
}

/* A non-negative double to an integer, rounded as `half` says, saturating at `max`. */
static uint64_t clamp_u64(double v, double half, uint64_t max)
{
    v += half;
    if (!(v >= 1.0)) /* also NaN */
        return 0;
    if (v >= (double)max)
        return max;
    return (uint64_t)v;
}

ca_status ca_routing_sync_reputation(ca_routing *rt, const ca_reputation *rep)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(rep);
    int changed = 0;
    for (uint32_t i = 0; i < rt->nagents; i++) {
        cai_agent *a = rt->agents[i];
        ca_reputation_score sc;
        /* The only failure left after the checks above: unknown to rep. */
        if (ca_reputation_get(rep, account_of(rt, a), &sc, sizeof sc) != CA_OK)
            continue;
        uint32_t ppm = (uint32_t)clamp_u64(sc.expected * (double)CA_LEDGER_PPM, 0.5, CA_LEDGER_PPM);
        if (a->reputation_ppm != ppm)
            changed = 1;
        a->reputation_ppm = ppm;
        a->positive_milli = clamp_u64(sc.positive * 1000.0, 0.0, UINT64_MAX);
        a->negative_milli = clamp_u64(sc.negative * 1000.0, 0.0, UINT64_MAX);
    }
    if (changed)
        rebuild_postings(rt);
    return CA_OK;
}

ca_status ca_routing_get(const ca_routing *rt, const ca_agent_id *agent, ca_routing_agent_info *out)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_routing_agent_info", out->version, CA_ROUTING_AGENT_INFO_VERSION);
    uint32_t ai;
    ca_status st = lookup(rt, agent, &ai);
    if (st != CA_OK)
        return st;
    const cai_agent *a = rt->agents[ai];
    /* Version 1 is every field below; a later version fills only the caller's fields. */
    out->sequence = a->sequence;
    out->valid_from = a->valid_from;
    out->valid_until = a->valid_until;
    out->stake = a->stake;
    out->claimed_stake = a->claimed_stake;
    out->positive_milli = a->positive_milli;
    out->negative_milli = a->negative_milli;
    out->reputation_ppm = a->reputation_ppm;
    out->capability_count = a->ncaps;
    out->stake_from_ledger = (a->flags & CAI_AGENT_STAKE_FROM_LEDGER) != 0;
    if (out->version >= 2) {
        out->delegated = a->delegate != CAI_NIL;
        out->principal = *principal_of(rt, a);
        memset(&out->leaf, 0, sizeof out->leaf);
        if (a->delegate != CAI_NIL) {
            const cai_delegate *d = &rt->dels[a->delegate];
            out->leaf = rt->links[d->link[d->depth - 1]].id;
        }
    }
    return CA_OK;
}

ca_status ca_routing_endpoint(const ca_routing *rt, const ca_agent_id *agent, uint8_t *out,
                              size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    CAI_REQUIRE(out_len);
    uint32_t ai;
    ca_status st = lookup(rt, agent, &ai);
    if (st != CA_OK)
        return st;
    const cai_agent *a = rt->agents[ai];
    st = cai_check_out(out, out_cap, out_len, a->endpoint_len);
    if (st != CA_OK)
        return st;
    if (a->endpoint_len)
        memcpy(out, cai_agent_endpoint(a), a->endpoint_len);
    return CA_OK;
}

ca_status ca_routing_name(const ca_routing *rt, const ca_agent_id *agent, char *out, size_t out_cap,
                          size_t *out_len)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(agent);
    CAI_REQUIRE(out_len);
    uint32_t ai;
    ca_status st = lookup(rt, agent, &ai);
    if (st != CA_OK)
        return st;
    const cai_agent *a = rt->agents[ai];
    st = cai_check_out(out, out_cap, out_len, (size_t)a->name_len + 1);
    *out_len = a->name_len;
    if (st != CA_OK)
        return st;
    memcpy(out, cai_agent_name(a), a->name_len);
    out[a->name_len] = '\0';
    return CA_OK;
}

ca_status ca_routing_add_card(ca_routing *rt, const ca_card *card, uint64_t now)
{
    CAI_REQUIRE(rt);
    CAI_REQUIRE(card);
    /* The card's own limits hold (ca_card_open and ca_card_parse check them); the
     * options may only be lower, which the add checks. */
    size_t n = ca_card_capability_count(card);
    if (n > CA_CARD_CAPABILITIES_MAX)
        return cai_fail(CA_ERR_STATE, "routing: a card with %zu capabilities", n);
    cai_routing_capability caps[CA_CARD_CAPABILITIES_MAX];
    for (size_t i = 0; i < n; i++) {
        ca_card_capability c;
        ca_status st = ca_card_capability_at(card, i, &c, sizeof c);
        if (st != CA_OK)
            return st;
        caps[i].name = c.name;
        caps[i].name_len = strlen(c.name);
        caps[i].price = c.price;
        caps[i].latency_ms = c.latency_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)c.latency_ms;
    }
    cai_routing_entry e;
    ca_card_agent(card, &e.agent);
    e.sequence = ca_card_sequence(card);
    e.valid_from = ca_card_not_before(card);
    e.valid_until = ca_card_not_after(card);
    e.stake = ca_card_stake(card);
    e.name = ca_card_name(card);
    e.name_len = strlen(e.name);
    e.endpoint = (const uint8_t *)ca_card_endpoint(card);
    e.endpoint_len = strlen(ca_card_endpoint(card));
    e.capabilities = caps;
    e.capability_count = n;
    e.delegate = NULL;
    return cai_routing_add_entry(rt, &e, now);
}

#ifdef CA_EXPERIMENTAL
ca_status ca_routing_add_entry(ca_routing *rt, const ca_routing_entry *entry, uint64_t now)
{
    CAI_REQUIRE(entry);
    /* No card checked these fields: the card's limits apply (check_entry, with the options). */
    cai_routing_capability caps[CA_CARD_CAPABILITIES_MAX];
    if (entry->capability_count > CA_CARD_CAPABILITIES_MAX)
        return cai_fail(CA_ERR_LIMIT, "routing: %zu capabilities exceed %u",
                        entry->capability_count, CA_CARD_CAPABILITIES_MAX);
    if (entry->capability_count && entry->capabilities == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "routing: capabilities is NULL");
    for (size_t i = 0; i < entry->capability_count; i++) {
        caps[i].name = entry->capabilities[i].name;
        caps[i].name_len = entry->capabilities[i].name_len;
        caps[i].price = entry->capabilities[i].price;
        caps[i].latency_ms = entry->capabilities[i].latency_ms;
    }
    cai_routing_entry e = {entry->agent,
                           entry->sequence,
                           entry->valid_from,
                           entry->valid_until,
                           entry->stake,
                           entry->name,
                           entry->name_len,
                           entry->endpoint,
                           entry->endpoint_len,
                           caps,
                           entry->capability_count,
                           NULL};
    return cai_routing_add_entry(rt, &e, now);
}
#endif
