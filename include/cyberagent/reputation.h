/*
 * libcyberagent — reputation: ratings from settled, paid tasks; local Beta
 * scores with time decay; global EigenTrust scores with a pre-trusted and/or
 * stake-weighted teleport vector. See docs/REPUTATION.md for the formulas.
 *
 * Model in one paragraph: the handle stores a set of settled ratings (one per
 * task), per-agent stakes and pre-trust flags. ca_reputation_update(now)
 * recomputes every score from that set: the results are a pure function of
 * (ratings, stakes, pre-trust flags, options, now) and, with warm start, the
 * previous scores. Insertion order never matters: agents are ordered by id
 * and ratings by (ratee, rater) before any floating-point sum. Evidence is
 * integer fixed point; scores are IEEE-754 doubles computed with +, -, *, /
 * only, in a fixed order, without FMA contraction, so every conforming
 * platform (FLT_EVAL_METHOD == 0) gets the same bits. Scores are local
 * derived data, never signed or replicated state.
 *
 * OWNERSHIP: a ca_reputation owns all its memory; inputs are copied. Query
 * output goes into caller buffers (OWNERSHIP RULE in common.h; counts of
 * ca_reputation_score entries where stated).
 * THREAD SAFETY: a handle is not thread-safe: one thread at a time may call
 * any function on it (const queries may run concurrently with each other
 * but not with a mutating call). Distinct handles are independent.
 */
#ifndef CYBERAGENT_REPUTATION_H
#define CYBERAGENT_REPUTATION_H

#include "common.h"
#include "ledger.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ca_reputation ca_reputation;

/* Hard ceilings (indices are 32-bit). Options may set lower limits. */
#define CA_REPUTATION_MAX_AGENTS_LIMIT  0xFFFFFFF0u
#define CA_REPUTATION_MAX_RATINGS_LIMIT 0xFFFFFFF0u
/* A rating is an integer 0 (worst) .. CA_TASK_RATING_MAX (100, best): the receipt's (task.h). */
/* Weights are capped here (isqrt of 2^50 units). */
#define CA_REPUTATION_WEIGHT_MAX 0x1FFFFFFu
/* Newest snapshot format version this build reads and writes (it writes 1 when there are no
 * offenses, 2 with offenses, 3 only when pruned ratings left more task fingerprints than
 * ratings). */
#define CA_REPUTATION_SNAPSHOT_VERSION 3u

#define CA_REPUTATION_OPTIONS_VERSION 1u

/* Defaults of ca_reputation_options (what ca_reputation_options_init writes). */
#define CA_REPUTATION_HALF_LIFE_MS_DEFAULT    2592000000u /* 30 days */
#define CA_REPUTATION_DAMPING_PPM_DEFAULT     150000u     /* 0.15 */
#define CA_REPUTATION_STAKE_SHARE_PPM_DEFAULT 500000u     /* one half */
#define CA_REPUTATION_TOLERANCE_DEFAULT       1e-9
#define CA_REPUTATION_MAX_ITERATIONS_DEFAULT  200u
#define CA_REPUTATION_WARM_START_DEFAULT      1
#define CA_REPUTATION_UNIT_AMOUNT_DEFAULT     1u
#define CA_REPUTATION_MAX_AGENTS_DEFAULT      16777216u  /* 2^24 */
#define CA_REPUTATION_MAX_RATINGS_DEFAULT     134217728u /* 2^27 */

typedef struct ca_reputation_options {
    unsigned int version; /* CA_REPUTATION_OPTIONS_VERSION */
    /* Evidence halves every half_life_ms, 1000 .. 2^47; default
     * CA_REPUTATION_HALF_LIFE_MS_DEFAULT (2592000000 = 30 days). */
    uint64_t half_life_ms;
    /* EigenTrust teleport weight a in parts per million, 1 .. 1000000; default
     * CA_REPUTATION_DAMPING_PPM_DEFAULT (150000 = 0.15). */
    uint32_t damping_ppm;
    /*
     * Share of the teleport vector given to stake when both pre-trusted
     * agents and stakes exist, in ppm, 0 .. 1000000 (default
     * CA_REPUTATION_STAKE_SHARE_PPM_DEFAULT, 500000); the rest is spread
     * evenly over the pre-trusted agents.
     */
    uint32_t stake_share_ppm;
    /* Stop when the L1 change of one iteration is below this, in (0, 1]; default
     * CA_REPUTATION_TOLERANCE_DEFAULT (1e-9). */
    double tolerance;
    /* Iteration cap per update, >= 1; default CA_REPUTATION_MAX_ITERATIONS_DEFAULT (200). */
    uint32_t max_iterations;
    /* Start from the previous scores when there are any; default
     * CA_REPUTATION_WARM_START_DEFAULT (1). */
    int warm_start;
    /*
     * Payment unit for weights: weight = floor(sqrt(amount / unit_amount)),
     * capped at CA_REPUTATION_WEIGHT_MAX. A rating whose weight would be 0
     * (amount < unit_amount) is refused as unpaid. At least 1; default
     * CA_REPUTATION_UNIT_AMOUNT_DEFAULT (1).
     */
    uint64_t unit_amount;
    /*
     * Capacity limits the handle enforces (CA_ERR_LIMIT beyond them).
     * max_ratings bounds the tasks a handle ever takes (each keeps its
     * fingerprint after ca_reputation_prune, so that it cannot be rated
     * again), hence the stored ratings too; and, apart, the offenses.
     */
    /* 1 .. CA_REPUTATION_MAX_AGENTS_LIMIT; default CA_REPUTATION_MAX_AGENTS_DEFAULT (16777216). */
    uint32_t max_agents;
    /* 0 .. CA_REPUTATION_MAX_RATINGS_LIMIT; default CA_REPUTATION_MAX_RATINGS_DEFAULT
     * (134217728). */
    uint32_t max_ratings;
} ca_reputation_options;

/* Writes each field's default named above. CA_ERR_UNSUPPORTED when `version` is newer than
 * this build. */
CA_API ca_status ca_reputation_options_init(ca_reputation_options *opts, unsigned int version);

/* New empty handle. `opts` may be NULL for defaults; invalid values give CA_ERR_INVALID_ARGUMENT.
 */
CA_API CA_NODISCARD ca_status ca_reputation_new(ca_reputation **out,
                                                const ca_reputation_options *opts);

/* Releases the handle. NULL is a no-op. */
CA_API void ca_reputation_free(ca_reputation *rep);

/*
 * Pre-sizes storage for `agents` agents and `ratings` ratings (bulk loading:
 * no regrowth, no slack). Never shrinks; CA_ERR_LIMIT beyond the options' limits.
 */
CA_API CA_NODISCARD ca_status ca_reputation_reserve(ca_reputation *rep, size_t agents,
                                                    size_t ratings);

/*
 * Ingests one settled rating given as plain fields. The caller vouches that
 * the task was paid `amount` (ca_reputation_add_receipt does this from a
 * verified task thread). `task` identifies the task (the task id);
 * only its first 8 bytes (a 64-bit fingerprint) are kept for
 * one-rating-per-task deduplication. `time_ms` is when the task settled
 * (Unix ms, stored with one-second resolution, must be < 2^32 s).
 * Checks, in this order: CA_ERR_INVALID_ARGUMENT (a NULL argument, rating >
 * CA_TASK_RATING_MAX, time out of range), CA_ERR_SELF_RATING (rater ==
 * ratee), CA_ERR_UNPAID_RATING (weight 0), CA_ERR_DUPLICATE_RATING (task
 * already rated), CA_ERR_LIMIT (max_ratings tasks taken, pruned ones
 * included; then max_agents); CA_ERR_NO_MEMORY may come at any point after
 * the weight. On failure nothing changes. Scores move at the next
 * ca_reputation_update().
 */
CA_API CA_NODISCARD ca_status ca_reputation_add_rating(ca_reputation *rep, const ca_hash *task,
                                                       const ca_agent_id *rater,
                                                       const ca_agent_id *ratee, uint32_t rating,
                                                       uint64_t amount, uint64_t time_ms);

/*
 * Ingests the rating of a settled task thread: the thread (ca_task, which
 * verified every signature and protocol rule) must hold an accepted RECEIPT
 * (state completed, rejected or failed), else CA_ERR_STATE. Then, as
 * docs/PROTOCOL.md says: rater = the requester (the receipt's signer),
 * ratee = the awarded worker, rating and weight from the receipt's `rating`
 * and `paid`, time = the receipt's created_at, one rating per task id. A
 * side acting under a delegation chain (task.h, ca_task_side) counts as its
 * principal, the chain's delegator: the rating is the delegator's and goes to
 * the worker's delegator, whose stake and account stand behind the work.
 * The receipt's `paid` is the requester's own claim: where a ledger is kept,
 * use ca_reputation_add_settled, which checks the money. Same errors as
 * ca_reputation_add_rating.
 */
CA_API CA_NODISCARD ca_status ca_reputation_add_receipt(ca_reputation *rep, const ca_task *task);

/*
 * Ingests the rating of a settled task thread whose money went through
 * `ledger`: the rating counts only when the ledger paid the worker. Checks,
 * in this order, each failure changing nothing:
 *   - the thread holds an accepted RECEIPT (as ca_reputation_add_receipt),
 *     else CA_ERR_STATE;
 *   - the ledger has an escrow for the receipt's award id, else
 *     CA_ERR_LEDGER_UNKNOWN_ESCROW (also once the ledger dropped it, after
 *     its deadline + max_evidence_age: ledger.h, AVAILABILITY);
 *   - the escrow's hirer is the requester side and its worker the awarded
 *     worker's side, else CA_ERR_ESCROW_MISMATCH. An escrow party is a side
 *     when it is the side's agent, its principal (a delegated side: ledger.h,
 *     DELEGATION), or an account whose current key (ledger.h, KEY ROTATION)
 *     is one of them: a requester or worker whose account rotated signs with
 *     its current key;
 *   - the escrow was released or split, else CA_ERR_UNPAID_RATING (open: not
 *     paid yet, add it again once settled; refunded: never paid).
 * The weight comes from what the ledger paid the worker
 * (`paid` of ca_ledger_escrow: the payment when released, the verdict's share of
 * it when split; collateral does not count), NOT from the receipt's `paid`:
 * where the two disagree the ledger wins. A split that paid the worker less
 * than unit_amount is CA_ERR_UNPAID_RATING. The rater and the ratee are the
 * escrow's hirer and worker accounts (which stay when keys rotate); rating,
 * time and one rating per task id as ca_reputation_add_receipt, with the same
 * errors as ca_reputation_add_rating.
 * THREAD SAFETY: reads `ledger`; no other call may use that ledger meanwhile.
 */
CA_API CA_NODISCARD ca_status ca_reputation_add_settled(ca_reputation *rep, const ca_task *task,
                                                        const ca_ledger *ledger);

/*
 * Stake of an agent in base units, as the ledger reports it (0 removes the
 * stake weight). Registers the agent if unknown. Used by the teleport vector
 * at the next update.
 */
CA_API CA_NODISCARD ca_status ca_reputation_set_stake(ca_reputation *rep, const ca_agent_id *agent,
                                                      uint64_t amount);

/*
 * Sets the stake of every agent the handle knows from `ledger`, as of now_ms:
 * bonded + unbonding (all the ledger can still slash), 0 for an agent
 * without a ledger account, and 0 while the ledger jails the agent
 * (jailed_until > now_ms: slashed on evidence, it gets no teleport weight
 * until released). The ledger becomes the only source of stakes: values set
 * with ca_reputation_set_stake are overwritten. Agents the ledger knows but
 * the handle does not are not added (register them with set_stake first).
 * After a key rotation (ledger.h, ca_ledger_account_of_key): an agent that
 * is an account gets that account's stake, the account of a rotated identity
 * included (ca_reputation_add_settled files ratings under it); an agent that
 * is the current key of a rotated identity gets its account's stake when the
 * handle does not know the account, else 0 (an identity's stake is counted
 * once, under its account); the ledger's precedence holds (a key that is
 * both its own account and a rotated identity's current key is the
 * identity's).
 * O(agents) lookups. Used by the teleport vector at the next update.
 * THREAD SAFETY: reads `ledger`; no other call may use that ledger meanwhile.
 */
CA_API CA_NODISCARD ca_status ca_reputation_sync_stakes(ca_reputation *rep, const ca_ledger *ledger,
                                                        uint64_t now_ms);

/* Halvings of an agent's credibility per fresh offense (a factor of 16). */
#define CA_REPUTATION_OFFENSE_HALVINGS 4u

/*
 * Records verified slashing evidence against `offender`: a slash the ledger
 * applied (kind = the SLASH op's evidence kind, a ca_ledger_evidence value
 * CA_LEDGER_EVIDENCE_*, ref = its ref, time_ms =
 * when it was applied, Unix ms < 2^32 s). Add an offense only once the
 * ledger accepted the slash: the ledger is the authority on evidence.
 * One record per (kind, ref, offender), as in the ledger; a repeat gives
 * CA_ERR_DUPLICATE_OFFENSE. Registers the offender if unknown.
 *
 * Effect at the next update (docs/REPUTATION.md, "Offenses"): the agent's
 * credibility c = 2^-(CA_REPUTATION_OFFENSE_HALVINGS * O), O = sum over its
 * offenses of 2^-(age / half_life): a fresh offense divides c by 16, and
 * offenses fade like ratings. In EigenTrust
 * an edge into the agent carries c of its weight and the agent passes on c
 * of its own trust; the rest goes to the teleport vector, as a dangling
 * agent's does. So a proven cheater neither collects the trust its raters
 * (or its ring) give it nor passes trust on to its ring. Local (Beta)
 * scores are not changed. Checks, in this order: CA_ERR_INVALID_ARGUMENT (a
 * NULL argument, kind not 1..3, time out of range), CA_ERR_DUPLICATE_OFFENSE,
 * CA_ERR_LIMIT (max_ratings offenses, then max_agents); CA_ERR_NO_MEMORY may
 * come at any point after the arguments. On failure nothing changes.
 */
CA_API CA_NODISCARD ca_status ca_reputation_add_offense(ca_reputation *rep, uint32_t kind,
                                                        const ca_hash *ref,
                                                        const ca_agent_id *offender,
                                                        uint64_t time_ms);

/* Marks (1) or unmarks (0) an agent as pre-trusted. Registers the agent if unknown. */
CA_API CA_NODISCARD ca_status ca_reputation_set_pretrusted(ca_reputation *rep,
                                                           const ca_agent_id *agent,
                                                           int pretrusted);

#define CA_REPUTATION_STATS_VERSION 1u

/* What the last update did; filled by ca_reputation_update, the caller sets
 * `version` first (STRUCT RULE, common.h). */
typedef struct ca_reputation_stats {
    unsigned int version; /* set by the caller: CA_REPUTATION_STATS_VERSION */
    uint32_t iterations;  /* power iterations run */
    int converged;        /* 1 when the L1 change fell below the tolerance */
    double l1_change;     /* L1 change of the last iteration */
    uint64_t agents;      /* agents scored */
    uint64_t ratings;     /* ratings stored */
    uint64_t edges;       /* distinct rater->ratee pairs with positive trust */
} ca_reputation_stats;

/*
 * Recomputes local (Beta) and global (EigenTrust) scores as of `now_ms`.
 * Cost: O(ratings + agents log agents) to rebuild, then the iterations.
 * Returns CA_OK also when the iteration cap was hit (stats->converged == 0);
 * `stats` may be NULL; otherwise stats->version is checked first
 * (CA_ERR_UNSUPPORTED, nothing changes) and *stats is written on success only.
 */
CA_API CA_NODISCARD ca_status ca_reputation_update(ca_reputation *rep, uint64_t now_ms,
                                                   ca_reputation_stats *stats);

/*
 * Drops every rating whose evidence at now_ms is exactly 0 (docs/REPUTATION.md,
 * "Pruning"): weight * D(now_ms - time) / 2^20 rounds to 0, at the latest 33
 * half-lives after the rating (about 12 for weight 1). Such a rating adds
 * nothing to any sum of an update at now_ms or later, so pruning changes no
 * score bit of those updates. Ratings time-stamped after now_ms are never
 * dropped. The others keep their order; the agents' ratings_received/given
 * count stored ratings and go down; agents stay registered. The task
 * fingerprints stay: a pruned task is still refused as a duplicate and still
 * counts against max_ratings. The rating store shrinks when it is less than
 * half used (if that reallocation fails the old block is kept: not an error).
 * *pruned_out (may be NULL) receives the number of ratings dropped.
 * Cost: O(ratings), no allocation beyond a 256 KiB decay table for 8192
 * ratings or more (if that fails, the same bits come from the slower form).
 * Errors: CA_ERR_INVALID_ARGUMENT (rep NULL). THREAD SAFETY: mutating call.
 */
CA_API CA_NODISCARD ca_status ca_reputation_prune(ca_reputation *rep, uint64_t now_ms,
                                                  size_t *pruned_out);

/*
 * One agent's scores and evidence, as of the last update. Scores travel in
 * arrays (ca_reputation_top), so they follow the ELEMENT SIZE convention of
 * the STRUCT RULE (common.h): every function taking one takes `score_size` =
 * sizeof(ca_reputation_score) right after it and writes only the fields that
 * fit; a size below the 1.0 layout's or above this build's is
 * CA_ERR_UNSUPPORTED (checked right after the NULL arguments).
 */
typedef struct ca_reputation_score {
    ca_agent_id agent;
    double global;      /* EigenTrust trust; sums to 1 over all agents */
    double expected;    /* Beta expected value (r + 1) / (r + s + 2) */
    double uncertainty; /* 2 / (r + s + 2): 1 = no evidence, -> 0 with evidence */
    double positive;    /* r: decayed positive evidence, in weight units */
    double negative;    /* s: decayed negative evidence, in weight units */
    uint64_t ratings_received;
    uint64_t ratings_given;
    uint64_t stake;
    int pretrusted;
} ca_reputation_score;

/*
 * Scores of one agent. CA_ERR_NOT_FOUND when the agent is unknown. Before the
 * first update, global is 0 and the Beta values are those of no evidence.
 */
CA_API CA_NODISCARD ca_status ca_reputation_get(const ca_reputation *rep, const ca_agent_id *agent,
                                                ca_reputation_score *out, size_t score_size);

/*
 * The `n` agents with the highest global score (ties: smaller id first),
 * best first, into `out` (capacity `out_cap` entries of `score_size` bytes).
 * Follows the OWNERSHIP RULE counted in entries: *out_len = min(n, agents);
 * CA_ERR_BUFFER_TOO_SMALL when out is NULL or out_cap < *out_len.
 */
CA_API CA_NODISCARD ca_status ca_reputation_top(const ca_reputation *rep, size_t n,
                                                ca_reputation_score *out, size_t score_size,
                                                size_t out_cap, size_t *out_len);

/* Number of known agents and stored ratings. */
CA_API size_t ca_reputation_agent_count(const ca_reputation *rep);
CA_API size_t ca_reputation_rating_count(const ca_reputation *rep);

/*
 * Canonical snapshot of the whole state (agents sorted by id, ratings,
 * task fingerprints, stakes, pre-trust, last scores, scoring options) with a
 * BLAKE2b-256 checksum; identical state gives identical bytes regardless of
 * insertion order. OWNERSHIP RULE (bytes).
 */
CA_API CA_NODISCARD ca_status ca_reputation_snapshot_export(const ca_reputation *rep, uint8_t *out,
                                                            size_t out_cap, size_t *out_len);

/*
 * Loads a snapshot into an empty handle whose scoring options (half-life,
 * damping, stake share, unit amount) equal those recorded. Strict: wrong
 * magic, version, order, counts, flags, non-finite or out-of-range scores,
 * trailing bytes or a bad checksum give CA_ERR_REPUTATION_CORRUPT;
 * a newer version CA_ERR_UNSUPPORTED; counts beyond the handle's limits
 * CA_ERR_LIMIT; a non-empty handle or other options CA_ERR_STATE. On failure
 * the handle is unchanged. Queries answer immediately after a load.
 */
CA_API CA_NODISCARD ca_status ca_reputation_snapshot_import(ca_reputation *rep, const uint8_t *in,
                                                            size_t in_len);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_REPUTATION_H */
