/*
 * Routing internals: the registry's data layout, shared by registry.c,
 * select.c and thompson.c, and the card-less add used by tests and benches.
 */
#ifndef CYBERAGENT_ROUTING_INTERNAL_H
#define CYBERAGENT_ROUTING_INTERNAL_H

#include "core/idmap.h"
#include "cyberagent/delegation.h"
#include "cyberagent/routing.h"
#include "internal.h"

/* Same layout and meaning as the experimental public ca_routing_entry. */
typedef struct cai_routing_capability {
    const char *name;
    size_t name_len;
    uint64_t price;
    uint32_t latency_ms;
} cai_routing_capability;

/* A delegate's chain as the registry files it (verified by the caller of the add). */
typedef struct cai_delegate_in {
    ca_agent_id principal;                        /* the chain's delegator */
    uint32_t depth;                               /* 1 .. CA_DELEGATION_MAX_DEPTH */
    ca_hash ids[CA_DELEGATION_MAX_DEPTH];         /* link ids, root first */
    ca_agent_id issuers[CA_DELEGATION_MAX_DEPTH]; /* link issuers */
    uint64_t expires[CA_DELEGATION_MAX_DEPTH];    /* link expiries */
} cai_delegate_in;

typedef struct cai_routing_entry {
    ca_agent_id agent;
    uint64_t sequence;
    uint64_t valid_from;
    uint64_t valid_until;
    uint64_t stake;
    const char *name;
    size_t name_len;
    const uint8_t *endpoint;
    size_t endpoint_len;
    const cai_routing_capability *capabilities;
    size_t capability_count;
    const cai_delegate_in *delegate; /* NULL: the agent acts for itself */
} cai_routing_entry;

/* Add or replace (the one implementation behind every public add). */
ca_status cai_routing_add_entry(ca_routing *rt, const cai_routing_entry *entry, uint64_t now);

/*
 * One (agent, capability) pair in a capability's max-heap. Everything a
 * query filters and ranks on is here, so a query touches one cache line per
 * candidate; `score` is the utility under the registry's weights.
 */
typedef struct cai_posting {
    int64_t score;
    uint64_t id_prefix; /* first 8 id bytes, big-endian: tie-break without a pointer chase */
    uint64_t price;
    uint64_t stake;
    uint32_t agent; /* index into rt->agents */
    uint32_t reputation_ppm;
    uint32_t latency_ms;
    uint16_t slot; /* which of the agent's capabilities */
    uint16_t pad_;
} cai_posting;

/* "No node" in the name tree and "no free slot". */
#define CAI_NIL UINT32_MAX

/*
 * One interned capability name. Exact lookups go through the registry's name
 * map (the keyed id map, O(1) expected). Live names also form a treap (a
 * binary search tree in name order that is a max-heap on `prio`, the high
 * half of the name's keyed hash in that map), because prefix patterns ("p.*")
 * need the names in order, which no hash gives: a name goes in or out in
 * O(log n) expected steps and a prefix range comes out in order. The key is
 * random per registry, so nobody can pick names that unbalance the tree.
 */
typedef struct cai_cap {
    char *name; /* NULL when the slot is free */
    uint32_t name_len;
    uint32_t count;
    uint32_t capacity;
    uint32_t next_free;
    uint32_t left, right, parent; /* name tree links, CAI_NIL for none */
    uint32_t prio;
    cai_posting *heap;
} cai_cap;

typedef struct cai_agent_cap {
    uint32_t cap; /* index into rt->caps */
    uint32_t pos; /* position in that capability's heap */
} cai_agent_cap;

#define CAI_AGENT_STAKE_FROM_LEDGER 1u
/* `account` holds the account the ledger said the agent's principal signs for at the last
 * ca_routing_sync_stakes (ledger.h, ca_ledger_account_of_key); without it, the principal. */
#define CAI_AGENT_ACCOUNT_FROM_LEDGER 2u

/* One registered agent: one allocation, fixed part + caps + name + endpoint. */
typedef struct cai_agent {
    ca_agent_id id;
    uint64_t sequence;
    uint64_t valid_from;
    uint64_t valid_until; /* kept until: min(card's valid_until, add time + max_card_lifetime) */
    uint64_t card_until;  /* the card's own valid_until */
    uint64_t stake;
    uint64_t claimed_stake;
    uint64_t positive_milli;
    uint64_t negative_milli;
    uint32_t reputation_ppm;
    uint32_t expiry_pos; /* position in rt->expiry */
    uint16_t endpoint_len;
    uint8_t name_len;
    uint8_t ncaps;
    uint8_t flags;
    uint32_t delegate;    /* index into rt->dels, CAI_NIL for an agent that acts for itself */
    ca_agent_id account;  /* whose stake and score it gets (CAI_AGENT_ACCOUNT_FROM_LEDGER) */
    cai_agent_cap caps[]; /* then name bytes, then endpoint bytes */
} cai_agent;

static inline const char *cai_agent_name(const cai_agent *a)
{
    return (const char *)(a->caps + a->ncaps);
}

static inline const uint8_t *cai_agent_endpoint(const cai_agent *a)
{
    return (const uint8_t *)(a->caps + a->ncaps) + a->name_len;
}

/*
 * The delegation index (docs/ROUTING.md, "Delegates and revocation"). Every
 * link of a registered delegate's chain is filed once by its id (link_ids),
 * with the list of delegates whose chain holds it. A link names its parent,
 * so it sits at one level, under the same links, in every chain that holds
 * it: whether a revoker issued it or a link above it is one answer per link.
 * A member node is (delegate index * CA_DELEGATION_MAX_DEPTH + level).
 */
typedef struct cai_rlink {
    ca_hash id; /* first: the id map reads keys at the record's start */
    ca_agent_id issuer;
    uint32_t head;    /* first member node, CAI_NIL when none */
    uint32_t members; /* delegates whose chain holds the link; 0: the slot is free */
    uint32_t next_free;
    uint32_t level;      /* 0 for a root */
    uint64_t expires_at; /* the link's expiry */
} cai_rlink;

typedef struct cai_delegate {
    ca_agent_id agent;
    ca_agent_id principal;
    uint32_t depth;                         /* 0: the slot is free */
    uint32_t link[CA_DELEGATION_MAX_DEPTH]; /* rt->links, root first */
    uint32_t next[CA_DELEGATION_MAX_DEPTH]; /* member list of link[level] */
    uint32_t prev[CA_DELEGATION_MAX_DEPTH];
    uint32_t next_free;
} cai_delegate;

/* A link revoked with force: refused in every chain from then on, until it expires. */
typedef struct cai_revoked {
    ca_hash id; /* first: the id map reads keys at the record's start */
    uint64_t until;
} cai_revoked;

typedef struct cai_expiry {
    uint64_t valid_until;
    uint32_t agent;
} cai_expiry;

struct ca_routing {
    ca_routing_options opts;    /* opts.weights is NULL: the registry's own are below */
    ca_routing_weights weights; /* this build's layout, defaults for fields the caller lacked */

    cai_agent **agents; /* dense; removal moves the last one into the hole */
    uint32_t nagents, agents_cap;

    cai_idmap ids; /* agent id -> index in agents (keyed id map) */

    cai_expiry *expiry; /* min-heap on valid_until, nagents long */
    uint32_t expiry_cap;

    cai_cap *caps; /* capability slots, some free */
    uint32_t ncaps_slots, caps_cap, free_cap, live_caps;
    cai_idmap names;    /* capability name -> slot in caps (hashed with cai_idmap_hash_bytes) */
    uint32_t name_root; /* root of the name tree (CAI_NIL when empty) */

    /* Delegates (cai_delegate), their links and the links revoked with force. */
    cai_delegate *dels;
    uint32_t ndel_slots, dels_cap, free_del, ndelegates;
    cai_rlink *links;
    uint32_t nlink_slots, links_cap, free_link, nlinks;
    cai_idmap link_ids; /* link id -> index in links */
    cai_revoked *revoked;
    uint32_t nrevoked, revoked_cap;
    cai_idmap revoked_ids; /* link id -> index in revoked */

    /* Work counters for tests (counted, never timed). */
    uint64_t name_steps;       /* name tree nodes visited + rotations, by adds and removals */
    uint64_t pruned;           /* cards forgotten by the prune at the start of an add */
    uint64_t revocation_steps; /* index records a revocation visited (links, members) */
};

/* ---- delegates (delegates.c) ---- */

/* Room for `in`'s delegate record and its links not filed yet: CA_ERR_LIMIT at
 * max_delegates (unless `replacing` a delegate's record); nothing changes on failure. */
ca_status cai_routing_delegate_reserve(ca_routing *rt, const cai_delegate_in *in, int replacing);
/* Files agent `agent` as a delegate under `in` (room reserved): its record's index. */
uint32_t cai_routing_delegate_attach(ca_routing *rt, const ca_agent_id *agent,
                                     const cai_delegate_in *in);
/* Unfiles delegate record `d` (its links without members go). */
void cai_routing_delegate_detach(ca_routing *rt, uint32_t d);
/* 1 when the delegate record `d` holds exactly the chain `in` (same leaf). */
int cai_routing_delegate_same(const ca_routing *rt, uint32_t d, const cai_delegate_in *in);
void cai_routing_delegates_free(ca_routing *rt);
/* Bytes the delegate index and the revoked links hold (their blocks). */
size_t cai_routing_delegate_bytes(const ca_routing *rt);
/* The revocation of `delegation` by `revoker` (already verified): ca_routing_add_revocation
 * after the signature check. */
ca_status cai_routing_revoke(ca_routing *rt, const ca_hash *delegation, const ca_agent_id *revoker,
                             uint64_t now, size_t *removed);
/* Forgets the revoked links whose expiry is before `now`. */
void cai_routing_revocations_expire(ca_routing *rt, uint64_t now);
/*
 * What the delegate index and the revoked links hold at most
 * (cai_routing_delegate_bytes), for D = max_delegates and R = max_revocations:
 * a record and up to 8 links (each with <= 4 id-map slots) a delegate, a
 * record and <= 4 id-map slots a revoked link: 1128 B a delegate and 72 B a
 * revoked link on 64-bit builds (docs/ROUTING.md).
 */
#define CAI_ROUTING_DELEGATES_BYTES(D, R)                                                          \
    ((D) * (sizeof(cai_delegate) + CA_DELEGATION_MAX_DEPTH * (sizeof(cai_rlink) + 4 * 8)) +        \
     (R) * (sizeof(cai_revoked) + 4 * 8))
/* A removal used by the revocation: the agent's whole record goes. */
ca_status cai_routing_remove_id(ca_routing *rt, const ca_agent_id *agent);

/* Features (ppm) and terms of one candidate. */
typedef struct cai_terms {
    uint32_t price_ppm, reputation_ppm, stake_ppm, latency_ppm;
    int64_t price, reputation, stake, latency, total;
} cai_terms;

void cai_routing_terms(const ca_routing_weights *w, uint64_t price, uint32_t reputation_ppm,
                       uint64_t stake, uint32_t latency_ms, cai_terms *out);

/* Caller's weights (any known version, checked: CA_ERR_UNSUPPORTED, and every ref >= 1:
 * CA_ERR_INVALID_ARGUMENT) into this build's layout, defaults for the fields it lacks. */
ca_status cai_routing_weights_read(const ca_routing_weights *in, ca_routing_weights *out);

/* The 1.0 layouts of the structs that travel in arrays (STRUCT RULE, common.h): the
 * smallest element sizes the library accepts. When a struct grows, its constant stays
 * what it was (write the number of the old layout's end, not sizeof). */
#define CAI_ROUTING_RESULT_SIZE_1 sizeof(ca_routing_result)
#define CAI_ROUTING_BID_SIZE_1    sizeof(ca_routing_bid)

/* Lookups and checks shared by the query code. */
int64_t cai_routing_find_agent(const ca_routing *rt, const ca_agent_id *id);
int64_t cai_routing_find_cap(const ca_routing *rt, const char *name, size_t len);
ca_status cai_routing_check_name(const ca_routing *rt, const char *name, size_t len,
                                 int allow_pattern);
/* The name tree's priority of a name: the high half of its hash in the name map. */
uint32_t cai_routing_name_prio(const ca_routing *rt, const char *name, size_t len);
/* The first live name >= (name, len) in byte order, CAI_NIL if none; O(log n) expected. */
uint32_t cai_routing_name_lower_bound(const ca_routing *rt, const char *name, size_t len);
/* The next live name in byte order, CAI_NIL after the last; O(1) amortized. */
uint32_t cai_routing_name_next(const ca_routing *rt, uint32_t ci);
/*
 * The capabilities a pattern matches, in name order ("*": all; "p.*": the
 * names starting with "p."; else the exact name). *list is `buf` when `buf_cap`
 * entries suffice, else a malloc'd array the caller frees. CA_OK or
 * CA_ERR_NO_MEMORY. The pattern must be checked already.
 */
ca_status cai_routing_match(const ca_routing *rt, const char *pat, size_t len, uint32_t *buf,
                            size_t buf_cap, uint32_t **list, size_t *n);
/* Heap order: 1 when a ranks strictly before b. */
int cai_posting_before(const ca_routing *rt, const cai_posting *a, const cai_posting *b);

/*
 * Self-checks are oracles, not code under test: under libFuzzer they are not
 * instrumented for coverage, whose comparison hooks made up most of a fuzz
 * run's time and fed the fuzzer features of the check's own loops.
 */
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(no_sanitize) && __clang_major__ >= 13
#define CAI_ORACLE __attribute__((no_sanitize("coverage")))
#endif
#endif
#ifndef CAI_ORACLE
#define CAI_ORACLE
#endif

/* Every internal invariant (O(n)); CA_OK or CA_ERR_STATE naming the broken one. */
ca_status cai_routing_check(const ca_routing *rt);
ca_status cai_kad_check(const ca_kad *kad);

/* Index of the bucket `id` falls in: the number of leading bits it shares
 * with self (0..255); 256 for self itself, 0 when either is NULL. */
unsigned cai_kad_bucket_index(const ca_agent_id *self, const ca_agent_id *id);

/*
 * Bytes the registry holds, as the sum of its blocks (malloc's own overhead,
 * about 16 bytes a block, not counted). Never more than
 *   sizeof(ca_routing) + max_agents * CAI_ROUTING_AGENT_BYTES(c, N, E)
 *   + (max_capability_names + c) * CAI_ROUTING_NAME_BYTES(L)
 * with c, N, E, L the options' max_capabilities_per_agent, max_name_chars,
 * max_endpoint_bytes and max_capability_chars (docs/ROUTING.md, "Floods").
 */
size_t cai_routing_bytes(const ca_routing *rt);
/* agent pointer + expiry entry + <= 4 id-map slots + record + <= 2 heap slots a posting */
#define CAI_ROUTING_AGENT_BYTES(c, N, E)                                                           \
    (sizeof(cai_agent *) + sizeof(cai_expiry) + 4 * sizeof(uint64_t) + sizeof(cai_agent) +         \
     (c) * sizeof(cai_agent_cap) + (N) + (E) + 2 * (c) * sizeof(cai_posting))
/* name copy + <= 2 capability slots + <= 4 name-map slots + <= 4 heap slots */
#define CAI_ROUTING_NAME_BYTES(L)                                                                  \
    ((L) + 2 * sizeof(cai_cap) + 4 * sizeof(uint64_t) + 4 * sizeof(cai_posting))

/* Thompson sampler: Beta(pos/1000 + 1, neg/1000 + 1) in ppm, seeded by (seed, id). */
uint32_t cai_thompson_ppm(uint64_t seed, const ca_agent_id *id, uint64_t positive_milli,
                          uint64_t negative_milli);

#endif
