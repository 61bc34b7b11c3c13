/*
 * libcyberagent — routing: a registry of agent cards indexed by capability,
 * ranked selection with an explainable utility and optional Thompson-sampling
 * exploration, and a Kademlia-style XOR-distance table for discovery.
 * See docs/ROUTING.md for the utility formula and the index design.
 *
 * OWNERSHIP: a ca_routing (and a ca_kad) owns copies of everything added to
 * it; input pointers are borrowed for the duration of a call. Query results
 * are written into an array the caller owns; text (names, endpoints) comes
 * out under the OWNERSHIP RULE of common.h.
 * THREAD SAFETY: a handle is not locked. Calls that take a const handle
 * (queries, lookups, closest) may run concurrently with each other; every
 * other call on the same handle needs exclusive access. Different handles
 * are independent. Functions without a handle are thread-safe.
 */
#ifndef CYBERAGENT_ROUTING_H
#define CYBERAGENT_ROUTING_H

#include "card.h"
#include "common.h"
#include "delegation.h"
#include "ledger.h"
#include "reputation.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits ----
 *
 * Routing stores what cards carry, so the card's limits (card.h) are its
 * ceilings: CA_CARD_CAPABILITIES_MAX capabilities of at most
 * CA_CAPABILITY_MAX bytes, a name of CA_CARD_NAME_MAX and an endpoint of
 * CA_CARD_ENDPOINT_MAX bytes. The options below may only lower them.
 * Features and reputation are fractions in parts per million of
 * CA_LEDGER_PPM (ledger.h).
 */

/* ---- Utility weights ----
 *
 * Each candidate's score is the sum of four named terms,
 *     term_x = weight_x * feature_x,      feature_x in [0, CA_LEDGER_PPM],
 *   price feature      = floor(PPM * price_ref / (price_ref + price))
 *   reputation feature = the reputation in ppm (ca_routing_set_reputation), or,
 *                        when exploring, a Beta sample (see ca_routing_query)
 *   stake feature      = floor(PPM * stake / (stake + stake_ref))
 *   latency feature    = floor(PPM * latency_ref_ms / (latency_ref_ms + latency_ms))
 *                        for a capability with a latency bound, 0 without one.
 * Cheaper, better rated, more staked and faster all score higher; each
 * feature saturates, so no single one can be bought without limit. Ties in
 * score break by agent id bytes (smaller first), then by capability name.
 * All arithmetic is integer and exact.
 *
 * The weights are a struct of their own, versioned (STRUCT RULE, common.h),
 * and referenced by pointer from the options and the query, so a new term
 * appends a field here (bumping CA_ROUTING_WEIGHTS_VERSION) without moving
 * any field of either. Every call that reads weights checks their version
 * (CA_ERR_UNSUPPORTED) and takes the fields of that version, the defaults
 * for fields added after it.
 */
#define CA_ROUTING_WEIGHTS_VERSION 1u

typedef struct ca_routing_weights {
    unsigned int version; /* CA_ROUTING_WEIGHTS_VERSION */
    uint32_t price;       /* default CA_ROUTING_WEIGHTS_PRICE_DEFAULT (3) */
    uint32_t reputation;  /* default CA_ROUTING_WEIGHTS_REPUTATION_DEFAULT (4) */
    uint32_t stake;       /* default CA_ROUTING_WEIGHTS_STAKE_DEFAULT (2) */
    uint32_t latency;     /* default CA_ROUTING_WEIGHTS_LATENCY_DEFAULT (1) */
    /* Price at which the price feature is one half; >= 1; default
     * CA_ROUTING_WEIGHTS_PRICE_REF_DEFAULT (1000). */
    uint64_t price_ref;
    /* Stake at which the stake feature is one half; >= 1; default
     * CA_ROUTING_WEIGHTS_STAKE_REF_DEFAULT (1000000). */
    uint64_t stake_ref;
    /* Latency at which the latency feature is one half; >= 1; default
     * CA_ROUTING_WEIGHTS_LATENCY_REF_MS_DEFAULT (1000). */
    uint32_t latency_ref_ms;
} ca_routing_weights;

/* Defaults of ca_routing_weights (what ca_routing_weights_init writes). */
#define CA_ROUTING_WEIGHTS_PRICE_DEFAULT          3u
#define CA_ROUTING_WEIGHTS_REPUTATION_DEFAULT     4u
#define CA_ROUTING_WEIGHTS_STAKE_DEFAULT          2u
#define CA_ROUTING_WEIGHTS_LATENCY_DEFAULT        1u
#define CA_ROUTING_WEIGHTS_PRICE_REF_DEFAULT      1000u
#define CA_ROUTING_WEIGHTS_STAKE_REF_DEFAULT      1000000u
#define CA_ROUTING_WEIGHTS_LATENCY_REF_MS_DEFAULT 1000u

/* Writes each field's default named above (only the fields of `version`).
 * CA_ERR_INVALID_ARGUMENT for NULL, CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_routing_weights_init(ca_routing_weights *w, unsigned int version);

/* ---- The registry ---- */

/* Defaults of ca_routing_options (what ca_routing_options_init writes). */
#define CA_ROUTING_MAX_AGENTS_DEFAULT                 16777216u /* 2^24 */
#define CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT CA_CARD_CAPABILITIES_MAX
#define CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT       1048576u /* 2^20 */
#define CA_ROUTING_MAX_CAPABILITY_CHARS_DEFAULT       CA_CAPABILITY_MAX
#define CA_ROUTING_MAX_NAME_CHARS_DEFAULT             CA_CARD_NAME_MAX
#define CA_ROUTING_MAX_ENDPOINT_BYTES_DEFAULT         CA_CARD_ENDPOINT_MAX
#define CA_ROUTING_DEFAULT_REPUTATION_PPM_DEFAULT     500000u /* one half */
/* A card is kept at most one day after its last add. */
#define CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT 86400000ull
#define CA_ROUTING_MAX_DELEGATES_DEFAULT        65536u /* 2^16 */
#define CA_ROUTING_MAX_REVOCATIONS_DEFAULT      65536u /* 2^16 */

/* Version 2 appended max_card_lifetime_ms, version 3 max_delegates and
 * max_revocations. (Since 0.x's last layout change the weights are referenced
 * by pointer, so they grow on their own.) */
#define CA_ROUTING_OPTIONS_VERSION 3u

typedef struct ca_routing_options {
    unsigned int version; /* CA_ROUTING_OPTIONS_VERSION */
    /* Agents registered at most, 1 .. 2^30 - 1; default CA_ROUTING_MAX_AGENTS_DEFAULT
     * (16777216). */
    size_t max_agents;
    /* Capabilities one card may bring, 1 .. CA_CARD_CAPABILITIES_MAX; default
     * CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT (64, the card's limit). */
    size_t max_capabilities_per_agent;
    /* Distinct capability names in the registry, 1 .. 2^30 - 1; default
     * CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT (1048576). */
    size_t max_capability_names;
    /* Bytes of one capability name, 1 .. CA_CAPABILITY_MAX; default
     * CA_ROUTING_MAX_CAPABILITY_CHARS_DEFAULT (64, the card's limit). */
    size_t max_capability_chars;
    /* Bytes of a display name, 0 .. CA_CARD_NAME_MAX; default
     * CA_ROUTING_MAX_NAME_CHARS_DEFAULT (128, the card's limit). */
    size_t max_name_chars;
    /* Bytes of an endpoint, 0 .. CA_CARD_ENDPOINT_MAX; default
     * CA_ROUTING_MAX_ENDPOINT_BYTES_DEFAULT (256, the card's limit). */
    size_t max_endpoint_bytes;
    /* Score of an agent nobody rated yet, 0 .. CA_LEDGER_PPM; default
     * CA_ROUTING_DEFAULT_REPUTATION_PPM_DEFAULT (500000). */
    uint32_t default_reputation_ppm;
    /* The registry's ranking (see above), copied by ca_routing_new; default NULL:
     * the defaults of ca_routing_weights_init. */
    const ca_routing_weights *weights;
    /* Capacity to reserve up front, 0 .. max_agents; default 0 (grow on demand). */
    size_t expected_agents;
    /* Since version 2. How long after an add the registry keeps a card at
     * most, in the unit of `now` (ms for cards); >= 1, default
     * CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT (86400000). See the ADMISSION
     * RULE below. UINT64_MAX keeps every card until its own valid_until
     * (only for a registry that admits no untrusted cards). A version-1
     * caller gets the default. */
    uint64_t max_card_lifetime_ms;
    /* Since version 3. Delegates registered at most (ca_routing_add_delegate; each
     * also counts as an agent, so more than max_agents means max_agents); default
     * CA_ROUTING_MAX_DELEGATES_DEFAULT (65536). An older caller gets the default. */
    size_t max_delegates;
    /* Since version 3. Revoked delegations the registry remembers at most
     * (ca_routing_add_revocation), 1 .. 2^30; default CA_ROUTING_MAX_REVOCATIONS_DEFAULT
     * (65536). An older caller gets the default. */
    size_t max_revocations;
} ca_routing_options;

/* Fills the defaults of the layout `version` names (a version-1 or 2 struct is
 * shorter: only its fields are written). CA_ERR_UNSUPPORTED when `version`
 * is newer than this build. */
CA_API ca_status ca_routing_options_init(ca_routing_options *opts, unsigned int version);

typedef struct ca_routing ca_routing;

/* New empty registry; `opts` may be NULL for defaults. */
CA_API CA_NODISCARD ca_status ca_routing_new(ca_routing **out, const ca_routing_options *opts);

/* Releases everything. NULL is a no-op. */
CA_API void ca_routing_free(ca_routing *rt);

/* Number of registered agents. */
CA_API size_t ca_routing_count(const ca_routing *rt);

/*
 * Capability names follow the card grammar (ca_capability_check in card.h):
 * 1..8 segments of [a-z0-9-] joined by '.', at most max_capability_chars
 * bytes: "llm.translate.en-fr". A pattern is a name (exact match), a name
 * followed by ".*" (every capability with at least one more segment under
 * that prefix: "llm.translate.*" matches "llm.translate.en-fr" but not
 * "llm.translate"), or "*" (everything): card.h's ca_capability_pattern_check.
 */

/*
 * Adds or replaces the agent's card. `card` comes from ca_card_open or
 * ca_card_parse, so its signature is already verified; the agent is the
 * card's signer. Checks, in this order, each refusal leaving the registry
 * unchanged:
 *   now > not_after                    -> CA_ERR_EXPIRED
 *   not_before > now + max_card_lifetime_ms -> CA_ERR_NOT_YET_VALID
 *   a field over a limit of the options -> CA_ERR_LIMIT (CA_ERR_BAD_CAPABILITY for a name)
 * Then the add forgets every card the registry keeps no longer (kept-until
 * < now, exactly as ca_routing_expire(now)); this is the one change an add
 * refused by a later rule still makes, and no query answer changes by it.
 * Then, against the agent's card as it is now:
 *   no card for the agent yet          -> added (CA_ERR_LIMIT at max_agents)
 *   a lower sequence registered        -> replaced
 *   same sequence, same content        -> CA_OK; only the keep window is renewed
 *   same sequence, other content       -> CA_ERR_ROUTING_CONFLICT
 *   a higher sequence registered       -> CA_ERR_ROUTING_STALE
 *   names it brings would exceed max_capability_names -> CA_ERR_LIMIT
 *
 * ADMISSION RULE (what bounds a flood of made-up agents):
 * - The registry keeps a card until min(not_after, now + max_card_lifetime_ms)
 *   of its last add ("kept until", reported as valid_until by
 *   ca_routing_get); re-adding the same card renews that, never shortens it.
 *   After it, the card is no candidate and the next add or expire forgets it.
 *   So a card valid until 2^64-1 holds its place one lifetime (default one
 *   day) unless its agent keeps sending it.
 * - A capability name lives while a kept card offers it; the last card going
 *   (removal, replacement, expiry, the prune above) frees it at once.
 * - At max_capability_names, a card bringing a name not in the registry is
 *   refused with CA_ERR_LIMIT (names only the agent's replaced card offers
 *   count as free); cards whose names all exist are still accepted. At
 *   max_agents, a new agent is refused; registered agents may still replace.
 * Nothing is evicted to make room, so a flood cannot push out a kept card.
 * Memory (64-bit): at most max_agents * (168 + 104 c + N + E) +
 * (max_capability_names + c) * (L + 320) + 2 KB bytes plus malloc's overhead,
 * for c, N, E, L the options' max_capabilities_per_agent, max_name_chars,
 * max_endpoint_bytes and max_capability_chars: 7208 B an agent and 384 B a
 * name with the defaults, so a host that admits cards from strangers sets
 * max_agents to its budget (docs/ROUTING.md, "Floods").
 *
 * A card not valid yet (now < not_before) is stored and becomes a candidate
 * at not_before. Latency bounds above UINT32_MAX ms are stored as UINT32_MAX.
 * The card's claimed stake counts until ca_routing_set_stake is called;
 * reputation starts at default_reputation_ppm. Cost: O(c log n) for c
 * capabilities (names: a tree on keyed hashes, O(log n) expected whatever
 * names a peer picks), plus the forgotten cards', each of which is charged
 * once to the add that brought it.
 */
CA_API CA_NODISCARD ca_status ca_routing_add_card(ca_routing *rt, const ca_card *card,
                                                  uint64_t now);

#ifdef CA_EXPERIMENTAL
/*
 * EXPERIMENTAL: adds the fields of an agent card directly, without a signed
 * card. The stable entry point is the card add (card.h); this one exists for
 * tests and simulations and may change.
 */
typedef struct ca_routing_capability {
    const char *name;
    size_t name_len;
    uint64_t price;      /* base units per task */
    uint32_t latency_ms; /* promised bound; 0 = no bound */
} ca_routing_capability;

typedef struct ca_routing_entry {
    ca_agent_id agent;
    uint64_t sequence;
    uint64_t valid_from; /* valid while valid_from <= now <= valid_until */
    uint64_t valid_until;
    uint64_t stake; /* claimed stake; see ca_routing_set_stake */
    const char *name;
    size_t name_len;
    const uint8_t *endpoint;
    size_t endpoint_len;
    const ca_routing_capability *capabilities;
    size_t capability_count;
} ca_routing_entry;

/* Add or replace; same rules and statuses as the card add (docs/ROUTING.md). */
CA_API CA_NODISCARD ca_status ca_routing_add_entry(ca_routing *rt, const ca_routing_entry *entry,
                                                   uint64_t now);
#endif

/*
 * DELEGATES. Adds or replaces the card of a delegate: an agent that acts for
 * another (the delegator) under a delegation chain (delegation.h). `card` is
 * the delegate's own signed card (ca_card_open / _parse); `chain` holds
 * `count` links, root first, whose leaf's audience is the card's agent.
 * Checks, in this order, each refusal leaving the registry unchanged:
 *   NULL rt, card or chain -> CA_ERR_INVALID_ARGUMENT; opts->version -> CA_ERR_UNSUPPORTED;
 *   ca_delegation_chain_verify at `now` with the caller's revocations (`opts`,
 *     may be NULL) and the links this registry holds revoked
 *     (ca_routing_add_revocation): its statuses, in its order;
 *   the leaf's audience is not the card's agent -> CA_ERR_DELEGATION_AUDIENCE;
 *   the leaf grants none of the card's capabilities -> CA_ERR_DELEGATION_CAPABILITY;
 *   then everything ca_routing_add_card checks, in its order, for the card with only the
 *   capabilities the leaf grants (ca_delegation_grants) and kept while both
 *   the card and the chain are valid: valid from max(card not_before, chain
 *   not_before) to min(card not_after, chain expiry), so the chain's expiry
 *   ends the registration. The chain is part of the card's content for the
 *   sequence rule (the same sequence with another leaf, or without a chain,
 *   is CA_ERR_ROUTING_CONFLICT: a delegate moving to a new chain signs its
 *   card again with a higher sequence); with the names' limit, a new
 *   delegate beyond max_delegates is CA_ERR_LIMIT.
 * The delegate stands for its delegator's account: ca_routing_sync_stakes
 * and ca_routing_sync_reputation give it the delegator's stake and
 * reputation (and evidence), and a new delegate starts with those of its
 * delegator when the delegator is registered here (else as any agent: its
 * card's claimed stake and the default reputation). ca_routing_get reports
 * the delegator (version 2). Cost: the chain verify (one Ed25519 verify per
 * link not opened) plus the card add, plus O(depth) expected for the index.
 * Memory (64-bit): on top of the agents' bound (ADMISSION RULE), at most
 * 1128 B a delegate (max_delegates) and 72 B a revoked link
 * (max_revocations), plus malloc's overhead.
 */
CA_API CA_NODISCARD ca_status ca_routing_add_delegate(ca_routing *rt, const ca_card *card,
                                                      const ca_delegation *const *chain,
                                                      size_t count,
                                                      const ca_delegation_verify_options *opts,
                                                      uint64_t now);

/*
 * Applies a revocation (delegation.h, the encoded CA_KIND_REVOCATION
 * envelope): opened (ca_revocation_open: its statuses, nothing changes on
 * failure). When a registered delegate's chain holds the revoked delegation
 * and the revoker issued it or a link above it (ca_delegation_chain_verify's
 * rule), every delegate whose chain holds it is removed (a link revoked in
 * the middle removes everything under it) and the registry remembers the
 * link until its expiry, so no chain holding it is added again
 * (CA_ERR_DELEGATION_REVOKED); `removed` (may be NULL) receives how many. A
 * revocation with no force (a stranger's, or of a delegation no registered
 * chain holds) is CA_OK and changes nothing, and nothing of it is kept: a
 * flood of made-up revocations costs a signature check and one lookup each
 * and no memory. (A revocation that arrives before the chain: pass it with
 * the chain, in ca_routing_add_delegate's opts.) CA_ERR_LIMIT when the
 * registry already remembers max_revocations revoked links whose expiry is
 * not before `now` (those before it are forgotten first). Cost: O(d) for the
 * revoker's force, O(delegates under the link) for the removals, no
 * per-query cost (a revoked delegate is gone, from every query, Thompson
 * exploration, bid ranking and lookup alike).
 */
CA_API CA_NODISCARD ca_status ca_routing_add_revocation(ca_routing *rt, const uint8_t *data,
                                                        size_t len, uint64_t now, size_t *removed);

/* Number of registered delegates (0 for NULL). */
CA_API size_t ca_routing_delegate_count(const ca_routing *rt);

/* Removes an agent. CA_ERR_NOT_FOUND when it is not registered. */
CA_API ca_status ca_routing_remove(ca_routing *rt, const ca_agent_id *agent);

/*
 * Removes every agent whose kept-until time ended (now > valid_until as
 * ca_routing_get reports it; every add does the same first). `removed` (may
 * be NULL) receives how many. O(removed * c log n). Also forgets the revoked
 * delegations whose expiry is before `now` (O(revoked links held)).
 */
CA_API ca_status ca_routing_expire(ca_routing *rt, uint64_t now, size_t *removed);

/*
 * Reputation in parts per million (0..CA_LEDGER_PPM), e.g. a Beta expected
 * value or an EigenTrust score rescaled by the caller. O(c log n) for an agent
 * with c capabilities. Kept when the agent's card is replaced.
 */
CA_API ca_status ca_routing_set_reputation(ca_routing *rt, const ca_agent_id *agent,
                                           uint32_t reputation_ppm);

/*
 * Beta evidence for exploration, in thousandths of a rating (so decayed,
 * fractional evidence fits): exploration samples Beta(positive + 1,
 * negative + 1). O(1) after the lookup. Kept when the card is replaced.
 */
CA_API ca_status ca_routing_set_evidence(ca_routing *rt, const ca_agent_id *agent,
                                         uint64_t positive_milli, uint64_t negative_milli);

/*
 * Stake as the ledger sees it. From the first call on, this value replaces
 * the stake the card claims and survives card replacement (a card cannot
 * raise its own stake). O(c log n).
 */
CA_API ca_status ca_routing_set_stake(ca_routing *rt, const ca_agent_id *agent, uint64_t stake);

/*
 * Stakes of every registered agent from `ledger`, as of now_ms, as
 * ca_reputation_sync_stakes reads them: bonded + unbonding (saturating), 0
 * for an agent without a ledger account, and 0 while the ledger jails the
 * agent (jailed_until > now_ms). Each value counts as set with
 * ca_routing_set_stake (stake_from_ledger, survives card replacement), so a
 * query with min_stake >= 1 excludes jailed and unbonded agents until the
 * next sync after their release. Cannot fail once the arguments are checked.
 * O(postings), no allocation.
 * Keys, not accounts, sign cards: each agent's principal (the agent, or a
 * delegate's delegator) is resolved with ca_ledger_account_of_key first
 * (docs/ROUTING.md "Cards after a key rotation"):
 * - the current key of an identity that has rotated gets its ACCOUNT's stake
 *   (and, at the next ca_routing_sync_reputation, its account's score);
 * - an account's own key gets its account's stake, as before;
 * - a key the ledger answers CA_ERR_KEY_ROTATED for (the id of an account
 *   whose key has rotated away: it speaks for nothing) is REMOVED from the
 *   registry, as ca_routing_remove would (ca_routing_count drops; adding its
 *   card again registers it until the next sync);
 * - any other key gets 0.
 * The account resolved here is kept with the agent (across a replacement of
 * its card that acts for the same principal) until the next sync.
 * THREAD SAFETY: needs exclusive access to `rt`; reads `ledger`, which no
 * other call may use meanwhile.
 */
CA_API CA_NODISCARD ca_status ca_routing_sync_stakes(ca_routing *rt, const ca_ledger *ledger,
                                                     uint64_t now_ms);

/*
 * Reputation and Beta evidence of every registered agent that `rep` knows,
 * from its scores as of its last update (ca_reputation_get). The id looked
 * up is the account the last ca_routing_sync_stakes resolved for the agent
 * (a rotated identity's current key: its account, under which reputation
 * files ratings), before any such sync the agent's principal:
 *     reputation_ppm = round(expected * CA_LEDGER_PPM), at most CA_LEDGER_PPM
 *     positive_milli = floor(positive * 1000), negative_milli = floor(negative * 1000)
 * (what ca_routing_set_reputation and ca_routing_set_evidence would set).
 * Agents `rep` does not know keep their values; agents only `rep` knows are
 * not added. Cannot fail once the arguments are checked. O(postings), no
 * allocation.
 * THREAD SAFETY: needs exclusive access to `rt`; reads `rep`, which no
 * mutating call may use meanwhile.
 */
CA_API CA_NODISCARD ca_status ca_routing_sync_reputation(ca_routing *rt, const ca_reputation *rep);

#define CA_ROUTING_AGENT_INFO_VERSION 2u /* 2 appended delegated, principal, leaf */

/* What the registry holds about one agent; filled by ca_routing_get, the
 * caller sets `version` first (STRUCT RULE, common.h). */
typedef struct ca_routing_agent_info {
    unsigned int version; /* set by the caller: CA_ROUTING_AGENT_INFO_VERSION */
    uint64_t sequence;
    uint64_t valid_from;
    uint64_t valid_until;   /* kept until: min(not_after, last add + max_card_lifetime_ms) */
    uint64_t stake;         /* effective stake (ledger's once set, else claimed) */
    uint64_t claimed_stake; /* what the card says */
    uint64_t positive_milli;
    uint64_t negative_milli;
    uint32_t reputation_ppm;
    uint32_t capability_count;
    int stake_from_ledger; /* 1 once ca_routing_set_stake was called */
    /* Version 2. */
    int delegated;         /* 1 for a delegate (ca_routing_add_delegate), else 0 */
    ca_agent_id principal; /* whom it acts for: its chain's delegator, else the agent itself */
    ca_hash leaf;          /* its chain's leaf id; all zero when not delegated */
} ca_routing_agent_info;

/* Checks, in this order: a NULL argument (CA_ERR_INVALID_ARGUMENT),
 * out->version (CA_ERR_UNSUPPORTED), CA_ERR_NOT_FOUND for an agent not registered. */
CA_API ca_status ca_routing_get(const ca_routing *rt, const ca_agent_id *agent,
                                ca_routing_agent_info *out);

/* Endpoint bytes / display name of an agent (OWNERSHIP RULE; the name is text). */
CA_API ca_status ca_routing_endpoint(const ca_routing *rt, const ca_agent_id *agent, uint8_t *out,
                                     size_t out_cap, size_t *out_len);
CA_API ca_status ca_routing_name(const ca_routing *rt, const ca_agent_id *agent, char *out,
                                 size_t out_cap, size_t *out_len);

/* ---- Queries ---- */

#define CA_ROUTING_QUERY_VERSION 1u

/* Default of ca_routing_query.max_price: no price filter. */
#define CA_ROUTING_QUERY_MAX_PRICE_DEFAULT 0xFFFFFFFFFFFFFFFFull /* UINT64_MAX */

typedef struct ca_routing_query {
    unsigned int version;   /* CA_ROUTING_QUERY_VERSION */
    const char *capability; /* a pattern, see above; default NULL (set it) */
    size_t capability_len;  /* default 0 */
    uint64_t now;           /* only cards valid at `now` are candidates; default 0 (set it) */
    /* Default CA_ROUTING_QUERY_MAX_PRICE_DEFAULT (18446744073709551615): no filter. */
    uint64_t max_price;
    uint64_t min_stake;          /* default 0 */
    uint32_t min_reputation_ppm; /* default 0; compared with the set reputation */
    uint32_t max_latency_ms;     /* default 0 = any; else the capability must promise <= this */
    /* Default NULL = the registry's weights. Other weights rank by a full
     * scan of the matching capabilities instead of the index order. */
    const ca_routing_weights *weights;
    /* Exploration, 0 or 1, default 0 (off): 1 = the reputation feature is a sample of
     * Beta(positive + 1, negative + 1) (evidence from ca_routing_set_evidence)
     * drawn from a generator seeded by (seed, agent id): the same seed and
     * registry contents give the same ranking. Full scan. */
    int thompson;
    uint64_t seed; /* default 0 */
} ca_routing_query;

/* Writes each field's default named above: no filters, the registry's
 * weights, no exploration; the caller sets capability and now. */
CA_API ca_status ca_routing_query_init(ca_routing_query *q, unsigned int version);

/*
 * One ranked candidate with the score broken into its named terms. Results
 * travel in arrays, so they follow the ELEMENT SIZE convention of the
 * STRUCT RULE (common.h): every function taking one takes `result_size` =
 * sizeof(ca_routing_result) right after it, walks an array with that stride
 * and writes only the fields that fit; a size below the 1.0 layout's or
 * above this build's is CA_ERR_UNSUPPORTED.
 */
typedef struct ca_routing_result {
    ca_agent_id agent;
    int64_t score; /* = price_term + reputation_term + stake_term + latency_term */
    int64_t price_term;
    int64_t reputation_term;
    int64_t stake_term;
    int64_t latency_term;
    uint32_t price_ppm; /* the features the terms were computed from */
    uint32_t reputation_ppm;
    uint32_t stake_ppm;
    uint32_t latency_ppm;
    uint64_t price; /* the matched capability's price, latency bound and the stake */
    uint64_t stake;
    uint32_t latency_ms;
    uint32_t capability_len;
    char capability[CA_CAPABILITY_MAX + 1]; /* matched capability, NUL-terminated */
} ca_routing_result;

/*
 * Writes the best min(k, matches) candidates, best first, into out[0..k) and
 * their number into *out_count. An agent appears at most once (with its best
 * matching capability). With the registry's weights and no exploration, the
 * index is walked in score order and stops after k accepted candidates.
 * Checks, in this order: CA_ERR_INVALID_ARGUMENT (a NULL argument, out NULL
 * with k > 0), CA_ERR_UNSUPPORTED (result_size, then the query's version,
 * then its weights' version), CA_ERR_INVALID_ARGUMENT (thompson not 0 or 1),
 * CA_ERR_BAD_CAPABILITY (a malformed pattern), CA_ERR_INVALID_ARGUMENT
 * (weights with a zero ref); no match is CA_OK with *out_count = 0.
 */
CA_API ca_status ca_routing_select(const ca_routing *rt, const ca_routing_query *q,
                                   ca_routing_result *out, size_t result_size, size_t k,
                                   size_t *out_count);

/*
 * One line explaining a result: the score, then each term with the feature
 * it was computed from, in decimal, one space around '=' and '+':
 *   score S = price T (F ppm) + reputation T (F ppm) + stake T (F ppm) + latency T (F ppm)
 * With the default weights and every feature at one half (price = price_ref,
 * stake = stake_ref, latency bound = latency_ref_ms, reputation 500000 ppm)
 * it writes this one line (broken here before "+ stake"):
 *     score 5000000 = price 1500000 (500000 ppm) + reputation 2000000 (500000 ppm)
 *     + stake 1000000 (500000 ppm) + latency 500000 (500000 ppm)
 * (test_routing.c compares it with the output). Any result takes at most
 * 217 bytes before the NUL. OWNERSHIP RULE for text; CA_ERR_UNSUPPORTED for
 * a result_size outside the STRUCT RULE's range.
 */
CA_API ca_status ca_routing_result_explain(const ca_routing_result *r, size_t result_size,
                                           char *out, size_t out_cap, size_t *out_len);

/* ---- Ranking bids ---- */

/* One bid for a task: who, at what price, optionally with its own latency
 * promise. Bids travel in arrays: ELEMENT SIZE convention (STRUCT RULE,
 * common.h), `bid_size` = sizeof(ca_routing_bid) right after the pointer; the
 * library reads only the fields within it (later ones count as zero). */
typedef struct ca_routing_bid {
    ca_agent_id agent;
    uint64_t price;      /* replaces the card's price */
    uint32_t latency_ms; /* 0 = the card's bound for the capability */
} ca_routing_bid;

/*
 * Scores one bid with the same utility, weights, exploration and filters as
 * ca_routing_select, the bid's price (and latency, if given) in place of the
 * card's, for the bidder's best capability matching q->capability.
 * CA_OK: *out holds the score and its terms. CA_ERR_NOT_FOUND: the bidder is
 * not registered or offers no matching capability. CA_ERR_ROUTING_INELIGIBLE:
 * the bid fails a filter (price, stake, reputation, latency, validity at
 * q->now); *out is still filled, so the caller can say why. Sizes and
 * versions are checked as by ca_routing_select (bid_size before result_size).
 */
CA_API ca_status ca_routing_score_bid(const ca_routing *rt, const ca_routing_query *q,
                                      const ca_routing_bid *bid, size_t bid_size,
                                      ca_routing_result *out, size_t result_size);

/*
 * Ranks bids: scores each (ca_routing_score_bid), drops unknown and
 * ineligible ones, keeps each agent's best bid only, and writes the best
 * min(k, eligible agents) into out[0..k), best first, ties by agent id then
 * capability. *out_count receives how many. bids[] is walked with stride
 * bid_size and out[] with stride result_size (STRUCT RULE).
 */
CA_API ca_status ca_routing_rank_bids(const ca_routing *rt, const ca_routing_query *q,
                                      const ca_routing_bid *bids, size_t bid_size, size_t bid_count,
                                      ca_routing_result *out, size_t result_size, size_t k,
                                      size_t *out_count);

#ifdef CA_EXPERIMENTAL
/*
 * EXPERIMENTAL: the exploration sampler on its own, so simulations can
 * reproduce a ranking: a Beta(positive/1000 + 1, negative/1000 + 1) sample
 * in ppm for (seed, agent), exactly as ca_routing_select draws it.
 * CA_ERR_INVALID_ARGUMENT for a NULL agent or sample_ppm, else CA_OK. The
 * sampler (docs/ROUTING.md) may change; nothing stable depends on it.
 */
CA_API ca_status ca_routing_thompson_sample(uint64_t seed, const ca_agent_id *agent,
                                            uint64_t positive_milli, uint64_t negative_milli,
                                            uint32_t *sample_ppm);
#endif

/* ---- Discovery: Kademlia-style table ---- */

#define CA_KAD_OPTIONS_VERSION 1u

/* Defaults of ca_kad_options (what ca_kad_options_init writes). */
#define CA_KAD_BUCKET_SIZE_DEFAULT  20u
#define CA_KAD_CACHE_SIZE_DEFAULT   8u
#define CA_KAD_MAX_CONTACTS_DEFAULT 16777216u /* 2^24 */

typedef struct ca_kad_options {
    unsigned int version; /* CA_KAD_OPTIONS_VERSION */
    /* Contacts per bucket (Kademlia's k), >= 1; default CA_KAD_BUCKET_SIZE_DEFAULT (20). */
    size_t bucket_size;
    /* Replacement cache per bucket, 0 .. 65536; default CA_KAD_CACHE_SIZE_DEFAULT (8). */
    size_t cache_size;
    /* Ceiling over all buckets, 1 .. 2^28; default CA_KAD_MAX_CONTACTS_DEFAULT (16777216). */
    size_t max_contacts;
} ca_kad_options;

/* Writes each field's default named above. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_kad_options_init(ca_kad_options *opts, unsigned int version);

typedef struct ca_kad ca_kad;

/* New table around `self` (never stored as a contact). `opts` may be NULL. */
CA_API CA_NODISCARD ca_status ca_kad_new(ca_kad **out, const ca_agent_id *self,
                                         const ca_kad_options *opts);
CA_API void ca_kad_free(ca_kad *kad);

/* What ca_kad_seen did with a contact. */
typedef enum ca_kad_outcome {
    CA_KAD_ADDED = 0,     /* the bucket had room */
    CA_KAD_REFRESHED = 1, /* already a contact: now the most recently seen */
    CA_KAD_REPLACED = 2,  /* took the place of a contact marked failed */
    CA_KAD_CACHED = 3,    /* bucket full of live contacts: kept in the replacement cache */
    CA_KAD_IGNORED = 4    /* it is the table's own id */
} ca_kad_outcome;

/*
 * Records that `id` was heard from. Classic policy: a full bucket keeps its
 * long-lived contacts; a newcomer replaces only a contact marked failed,
 * otherwise it waits in the bucket's bounded replacement cache (most recent
 * kept). `outcome` may be NULL.
 */
CA_API ca_status ca_kad_seen(ca_kad *kad, const ca_agent_id *id, ca_kad_outcome *outcome);

/*
 * Marks a contact as failed (it did not answer). When the bucket's
 * replacement cache holds someone, the most recent cached id takes its place
 * at once; otherwise the failed contact stays, is skipped by ca_kad_closest,
 * and gives way to the next newcomer. CA_ERR_NOT_FOUND if not a contact.
 */
CA_API ca_status ca_kad_mark_failed(ca_kad *kad, const ca_agent_id *id);

/* Removes a contact (or a cached id). CA_ERR_NOT_FOUND if neither. */
CA_API ca_status ca_kad_remove(ca_kad *kad, const ca_agent_id *id);

/* Live contacts (not counting cached or failed ones). */
CA_API size_t ca_kad_count(const ca_kad *kad);

/*
 * The min(k, live contacts) live contacts closest to `target` by XOR
 * distance, closest first, into out[0..k). `target` may be any id.
 */
CA_API ca_status ca_kad_closest(const ca_kad *kad, const ca_agent_id *target, ca_agent_id *out,
                                size_t k, size_t *out_count);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_ROUTING_H */
