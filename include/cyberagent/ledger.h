/*
 * libcyberagent — staking, escrow and slashing ledger (docs/LEDGER.md).
 *
 * A deterministic state machine over integer base units (uint64). Operations
 * (ops) are signed messages; any replica that applies the same ops in the same
 * order, with the same `now` for each, reaches the same state and the same
 * state hash. Every op is validated completely before anything changes: it
 * applies entirely or not at all, and a failure names its precise cause.
 *
 * Invariant after every op:
 *     sum(balance + bonded + unbonding) + escrowed + burned == minted
 *
 * OWNERSHIP: a ca_ledger owns its memory and, in durable mode, its directory
 * (one handle at a time, see ca_ledger_open). Output follows the OWNERSHIP RULE
 * in common.h.
 * THREAD SAFETY: a ca_ledger is not thread-safe; serialize every call on one
 * handle (read-only queries included). Distinct handles are independent.
 * Functions without a handle are thread-safe.
 * COST: accounts, escrows and used evidence are found through a keyed hash
 * of the whole 32-byte key (SipHash, a random key per handle), so an op, a
 * snapshot record loaded and a record checked cost O(1) expected whatever
 * ids or award refs peers make up (docs/LEDGER.md, "Indexes").
 * TIME: the ledger never reads a clock. `now` is the caller's time in ms since
 * the Unix epoch, the unit of every other module (envelopes, tasks, cards);
 * delays, deadlines and jail durations use the same unit. A ledger fed by an
 * external log derives `now` from the log's timestamps by one rule (LOG below).
 */
#ifndef CYBERAGENT_LEDGER_H
#define CYBERAGENT_LEDGER_H

#include "common.h"
#include "delegation.h"
#include "identity.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parts per million: fractions are integers in [0, CA_LEDGER_PPM]. */
#define CA_LEDGER_PPM 1000000u

/* Op types. Append-only; values are part of the wire format. */
typedef enum ca_ledger_op_type {
    CA_LEDGER_OP_MINT = 1,           /* authority: create `amount` units on `counterparty` */
    CA_LEDGER_OP_TRANSFER = 2,       /* owner: move `amount` from signer to `counterparty` */
    CA_LEDGER_OP_BOND = 3,           /* owner: balance -> bonded stake */
    CA_LEDGER_OP_UNBOND = 4,         /* owner: bonded -> unbonding entry (matures after delay) */
    CA_LEDGER_OP_WITHDRAW = 5,       /* owner: every matured unbonding entry -> balance */
    CA_LEDGER_OP_ESCROW_OPEN = 6,    /* hirer (+ worker consent): lock payment and collateral */
    CA_LEDGER_OP_ESCROW_DELIVER = 7, /* worker: record its RESULT (by id) by the deadline */
    CA_LEDGER_OP_ESCROW_RELEASE = 8, /* hirer: payment and collateral to the worker */
    CA_LEDGER_OP_ESCROW_REFUND = 9,  /* worker any time; hirer after a missed deadline */
    CA_LEDGER_OP_ESCROW_SPLIT = 10,  /* arbiter: split by a dispute verdict */
    CA_LEDGER_OP_SLASH = 11,         /* reporter / arbiter: slash on evidence */
    CA_LEDGER_OP_REVOKE = 12,        /* revoker: records a revocation of a delegation (`ref`) */
    CA_LEDGER_OP_KEY_EVENT = 13 /* owner: bind the account to a key history, or rotate its key */
} ca_ledger_op_type;

/* Kinds of slashing evidence. Append-only. */
typedef enum ca_ledger_evidence {
    CA_LEDGER_EVIDENCE_EQUIVOCATION = 1,    /* two conflicting signed messages for one task */
    CA_LEDGER_EVIDENCE_MISSED_DEADLINE = 2, /* deadline passed with no RESULT recorded */
    CA_LEDGER_EVIDENCE_DISPUTE = 3          /* verdict signed by the arbiter */
} ca_ledger_evidence;

/*
 * One operation. It follows the STRUCT RULE of common.h: `version` is set by
 * the caller to CA_LEDGER_OP_VERSION, both for an op it passes and before a
 * call fills one (ca_ledger_op_decode, ca_ledger_op_escrow_open,
 * ca_ledger_op_escrow_deliver); every function taking an op checks it first
 * after the NULL arguments (CA_ERR_UNSUPPORTED for 0 or a newer version).
 * The version is not part of the op's encoding. Fields unused by a type must
 * be zero. Per type:
 *
 *   type           signer       counterparty ref        amount         amount2          deadline
 *   MINT           authority    recipient    -          units          -                -
 *   TRANSFER       owner        recipient    -          units          -                -
 *   BOND           owner        -            -          units          -                -
 *   UNBOND         owner        -            -          units          -                -
 *   WITHDRAW       owner        -            -          -              -                -
 *   ESCROW_OPEN    hirer        worker       award id   payment        collateral       deadline
 *   ESCROW_DELIVER worker       -            award id   -              -                -
 *   ESCROW_RELEASE hirer        -            award id   -              -                -
 *   ESCROW_REFUND  worker/hirer -            award id   -              -                -
 *   ESCROW_SPLIT   arbiter      -            award id   pay to worker  collat. to hirer -
 *   SLASH          reporter     offender     see below  -              -                see below
 *   REVOKE         revoker      -            deleg. id  -              -                -
 *   KEY_EVENT      account      -            digest     sequence       -                -
 *
 * `result` is used by ESCROW_DELIVER only (non-zero): the message id of the
 * worker's RESULT, which the escrow records. A signed DELIVER is submitted
 * with that RESULT (ca_ledger_submit_evidence), which the ledger checks.
 * SLASH `ref`: EQUIVOCATION: the offense key (ca_evidence_offense); MISSED_DEADLINE and
 * DISPUTE: the award id of the escrow. DISPUTE is signed by the arbiter.
 * SLASH `deadline`: EQUIVOCATION: the task's deadline (ca_evidence_deadline: the
 * request's deadline; no message of the offense can be created after it), the
 * offense time the evidence window counts from; 0 for MISSED_DEADLINE and
 * DISPUTE, whose offense time is the escrow's deadline (see AVAILABILITY).
 * KEY_EVENT: `ref` is the key event's digest, `amount` its sequence (0 for the
 * inception); the event's bytes travel with the signed op as its attachment
 * (ca_ledger_submit_evidence). See KEY ROTATION below.
 * `nonce` is the signer's next nonce: 1 for its first op, then +1 per applied
 * op (failed ops consume nothing). A nonce already used answers
 * CA_ERR_LEDGER_DUPLICATE, so a retried op is never applied twice.
 *
 * Escrow settlement and the missed deadline. The worker may REFUND at any
 * time, the hirer only once `now > deadline` with nothing delivered; RELEASE
 * (hirer) and SPLIT (arbiter) any time while open. An escrow settled (by any
 * of these) after its deadline with nothing delivered keeps a `missed` mark,
 * so a MISSED_DEADLINE slash of its worker is accepted before or after the
 * settlement, in any order, exactly once (the evidence key names the award).
 * An escrow settled by its deadline, or delivered, is not slashable for it.
 *
 * AVAILABILITY: what a peer can make every replica keep is bounded.
 * - The ledger's clock, its `horizon`, is the largest `now` of any op applied
 *   so far (part of the state and its hash). Let T = max(now, horizon).
 * - Evidence window: a SLASH whose offense time + max_evidence_age < T is
 *   refused (CA_ERR_LEDGER_EVIDENCE_EXPIRED). An EQUIVOCATION's offense time
 *   (op.deadline) must also be <= now + max_escrow_duration
 *   (CA_ERR_LEDGER_TOO_EARLY: report it later).
 * - Records kept only to make an offense slash-once are dropped when no slash
 *   can use them any more: a used evidence key at offense time +
 *   max_evidence_age, a settled escrow at deadline + max_evidence_age (sums
 *   saturate at UINT64_MAX, i.e. never). After every applied op no such
 *   record with a time < horizon is left; an open escrow is never dropped.
 *   So no used key outlives its SLASH, and no settled escrow its
 *   ESCROW_OPEN, by more than max_escrow_duration + max_evidence_age, unless
 *   the escrow stayed open (its funds locked) longer.
 *   Dropping costs O(log n) per record, once (a heap of those times).
 *   A dropped escrow is gone for every query (CA_ERR_LEDGER_UNKNOWN_ESCROW):
 *   rate a settled task (ca_reputation_add_settled) before then.
 * - ESCROW_OPEN: deadline - now <= max_escrow_duration (CA_ERR_LIMIT) and
 *   deadline + max_evidence_age >= T (CA_ERR_LEDGER_TOO_LATE), so an award
 *   id whose escrow was dropped never opens again under the consent that
 *   opened it (its deadline is too old by then). A hirer holds at most
 *   max_escrows_per_hirer escrows, open or kept (CA_ERR_LIMIT).
 * - A SLASH that would take nothing (the offender has no bonded stake and no
 *   unbonding entry that has not matured, or the kind's fraction is 0) is
 *   refused (CA_ERR_LEDGER_NO_STAKE) and records nothing, so each evidence
 *   key costs its offender at least one unit. The signer of a SLASH must
 *   already have an account (CA_ERR_LEDGER_UNKNOWN_ACCOUNT), the arbiter of a
 *   DISPUTE excepted (one identity fixed by the options, as for
 *   ESCROW_SPLIT): reports create no accounts.
 * - Order of checks, after shape, roles and nonce. ESCROW_OPEN: escrow
 *   exists (ESCROW_EXISTS), table full (LIMIT), deadline <= now (TOO_LATE),
 *   deadline + max_evidence_age < T (TOO_LATE), deadline - now >
 *   max_escrow_duration (LIMIT), hirer, worker (UNKNOWN_ACCOUNT), hirer's
 *   quota (LIMIT), worker jailed, funds. SLASH: reporter (UNKNOWN_ACCOUNT,
 *   not for DISPUTE), offender (UNKNOWN_ACCOUNT), the kind's escrow checks,
 *   offense time (TOO_EARLY for an EQUIVOCATION dated too far ahead, then
 *   EVIDENCE_EXPIRED), EVIDENCE_USED, NO_STAKE, then account and memory
 *   limits.
 */
#define CA_LEDGER_OP_VERSION 2u

typedef struct ca_ledger_op {
    unsigned int version; /* CA_LEDGER_OP_VERSION */
    uint32_t type;        /* ca_ledger_op_type */
    uint32_t evidence;    /* ca_ledger_evidence, SLASH only */
    ca_agent_id signer;
    uint64_t nonce;
    ca_agent_id counterparty;
    ca_hash ref;
    uint64_t amount;
    uint64_t amount2;
    uint64_t deadline;
    ca_hash result; /* ESCROW_DELIVER only: message id of the RESULT delivered */
    /* Version 2. The leaf id of the delegation chain a delegated op carries (DELEGATION
     * below): filled by ca_ledger_op_decode, all-zero for a direct op. It is not encoded (the
     * chain is): a trusted op (ca_ledger_apply, a log entry's `op`) with a non-zero value is
     * refused (CA_ERR_INVALID_ARGUMENT: only signed bytes carry a chain). Version 1 callers
     * have no such field: they read and pass direct ops only. */
    ca_hash delegation;
} ca_ledger_op;

#define CA_LEDGER_OPTIONS_VERSION 4u

/* Defaults of ca_ledger_options (what ca_ledger_options_init writes; times in ms). */
#define CA_LEDGER_UNBONDING_DELAY_DEFAULT           1814400000u /* 21 days */
#define CA_LEDGER_SLASH_EQUIVOCATION_PPM_DEFAULT    50000u      /* 5% */
#define CA_LEDGER_SLASH_MISSED_DEADLINE_PPM_DEFAULT 10000u      /* 1% */
#define CA_LEDGER_SLASH_DISPUTE_PPM_DEFAULT         100000u     /* 10% */
#define CA_LEDGER_REPORTER_SHARE_PPM_DEFAULT        100000u     /* 10% */
#define CA_LEDGER_VICTIM_SHARE_PPM_DEFAULT          400000u     /* 40% */
#define CA_LEDGER_JAIL_EQUIVOCATION_DEFAULT         604800000u  /* 7 days */
#define CA_LEDGER_MAX_UNBONDING_ENTRIES_DEFAULT     16u
#define CA_LEDGER_MAX_ACCOUNTS_DEFAULT              16777216u /* 2^24 */
#define CA_LEDGER_MAX_ESCROWS_DEFAULT               16777216u /* 2^24 */
#define CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT          CA_LEDGER_UNBONDING_DELAY_DEFAULT
#define CA_LEDGER_MAX_ESCROW_DURATION_DEFAULT       2592000000u    /* 30 days */
#define CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT     65536u         /* 2^16 */
#define CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT    1048576u       /* 2^20 */
#define CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT   31536000000ull /* 365 days */

/*
 * Ledger parameters. Every field except the capacity hint is part of the
 * replicated rules: replicas must agree on them, and a durable ledger refuses
 * to open with different ones (CA_ERR_LEDGER_OPTIONS_MISMATCH). Together
 * they are the ledger's identity (ca_ledger_options_id), which every signed
 * op and every escrow consent covers. Each field's default is named below.
 */
typedef struct ca_ledger_options {
    unsigned int version;  /* CA_LEDGER_OPTIONS_VERSION */
    ca_agent_id authority; /* the only signer of MINT; default all-zero (set it) */
    ca_agent_id arbiter;   /* signer of ESCROW_SPLIT and DISPUTE slashes; default all-zero */
    /* An UNBOND's entry matures at now + unbonding_delay (withdrawable from then on,
     * slashable until then); default CA_LEDGER_UNBONDING_DELAY_DEFAULT (1814400000 = 21 days). */
    uint64_t unbonding_delay;
    /* Fraction of bonded + unbonding stake slashed, per evidence kind, each <= CA_LEDGER_PPM;
     * defaults CA_LEDGER_SLASH_EQUIVOCATION_PPM_DEFAULT (50000),
     * CA_LEDGER_SLASH_MISSED_DEADLINE_PPM_DEFAULT (10000) and
     * CA_LEDGER_SLASH_DISPUTE_PPM_DEFAULT (100000). */
    uint32_t slash_equivocation_ppm;
    uint32_t slash_missed_deadline_ppm;
    uint32_t slash_dispute_ppm;
    /* Shares of each slashed amount; burn gets the rest. Sum <= CA_LEDGER_PPM; defaults
     * CA_LEDGER_REPORTER_SHARE_PPM_DEFAULT (100000) and CA_LEDGER_VICTIM_SHARE_PPM_DEFAULT
     * (400000). */
    uint32_t reporter_share_ppm;
    uint32_t victim_share_ppm;
    /* Jail durations per evidence kind (0 = no jail). */
    uint64_t jail_equivocation;    /* default CA_LEDGER_JAIL_EQUIVOCATION_DEFAULT (604800000) */
    uint64_t jail_missed_deadline; /* default 0 */
    uint64_t jail_dispute;         /* default 0 */
    /* Limits. */
    /* Per account, 1..255; default CA_LEDGER_MAX_UNBONDING_ENTRIES_DEFAULT (16). */
    uint32_t max_unbonding_entries;
    /* 2..2^30; an op that would pass it: CA_ERR_LIMIT; default CA_LEDGER_MAX_ACCOUNTS_DEFAULT
     * (16777216). */
    uint32_t max_accounts;
    /* 1..2^30; likewise; default CA_LEDGER_MAX_ESCROWS_DEFAULT (16777216). */
    uint32_t max_escrows;
    /* Capacity hint (accounts to preallocate); not a replicated rule. Default 0. */
    uint32_t initial_accounts;
    /* Version 2. Any 32 bytes naming this ledger instance (a network name's
     * hash, a genesis document's hash), so that two ledgers with the same
     * rules and accounts still have different ids and an op signed for one
     * never applies on the other. Default all-zero; version 1 callers get zero. */
    ca_hash network;
    /* Version 3 (see AVAILABILITY above; callers of versions 1 and 2 get the defaults). */
    /* Evidence window, any value (UINT64_MAX: never expires); default
     * CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT (1814400000, the default unbonding delay). */
    uint64_t max_evidence_age;
    /* Most deadline - now at ESCROW_OPEN, >= 1; default CA_LEDGER_MAX_ESCROW_DURATION_DEFAULT
     * (2592000000 = 30 days). */
    uint64_t max_escrow_duration;
    /* Escrows a hirer holds, open or kept, 1..2^30; default
     * CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT (65536 = 2^16). */
    uint32_t max_escrows_per_hirer;
    /* Version 4 (DELEGATION below; callers of versions 1 to 3 get the defaults). */
    /* Delegation records kept (spent, nonce, expiry per delegation id used), and revocation
     * records kept, each at most this many, 1..2^30; default
     * CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT (1048576 = 2^20). */
    uint32_t max_delegation_records;
    /* Most expires_at - created_at of a delegation used, and most expires_at - T; how long a
     * REVOKE is kept; >= 1; default CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT
     * (31536000000 = 365 days). */
    uint64_t max_delegation_lifetime;
} ca_ledger_options;

/*
 * Writes each field's default named above (the CA_LEDGER_*_DEFAULT macros;
 * authority, arbiter, network and the jails other than equivocation zero:
 * set authority and arbiter). Writes only the fields of `version` (1: up to
 * initial_accounts, 2: up to network, 3: up to max_escrows_per_hirer).
 * CA_ERR_UNSUPPORTED when `version` is 0 or newer than this build. Every
 * function that takes options reads a caller's struct only up to its
 * version's last field and uses these defaults for the fields after it.
 */
CA_API ca_status ca_ledger_options_init(ca_ledger_options *opts, unsigned int version);

/*
 * The ledger id: BLAKE2b-256 of "cyberagent/1/ledger-options" followed by
 * every replicated option in a fixed little-endian layout (the version 3
 * fields included, defaults too, so ids differ from those of builds before
 * version 3), then `network` when it is not all-zero, then the two version 4
 * fields when either differs from its default (so a ledger under default
 * options keeps the id, journal and snapshots of the builds before version
 * 4; docs/LEDGER.md).
 * Replicas of one ledger share
 * it; the journal and snapshot headers carry it; signed ops and escrow
 * consents are bound to it, so an op signed for one ledger answers
 * CA_ERR_BAD_SIGNATURE on any other.
 * CA_ERR_UNSUPPORTED / CA_ERR_INVALID_ARGUMENT for options ca_ledger_new
 * would refuse.
 */
CA_API CA_NODISCARD ca_status ca_ledger_options_id(const ca_ledger_options *opts, ca_hash *id_out);

typedef struct ca_ledger ca_ledger;

/* In-memory ledger. */
CA_API CA_NODISCARD ca_status ca_ledger_new(ca_ledger **out, const ca_ledger_options *opts);

#define CA_LEDGER_OPEN_INFO_VERSION 1u

/* What recovery found when opening a durable ledger; the caller sets `version` first. */
typedef struct ca_ledger_open_info {
    unsigned int version;  /* set by the caller: CA_LEDGER_OPEN_INFO_VERSION */
    uint64_t snapshot_seq; /* seq covered by the snapshot loaded (0: none) */
    uint64_t replayed;     /* journal records of applied ops replayed after the snapshot */
    uint64_t torn_bytes;   /* bytes of a torn write cut off the journal's end (0: none) */
    uint64_t position;     /* log position of the last entry applied or refused (LOG; 0: none) */
    uint64_t failed;       /* log entries refused so far (LOG) */
} ca_ledger_open_info;

/*
 * Durable ledger in directory `dir` (created if missing). `info` may be NULL;
 * otherwise info->version must be set (CA_LEDGER_OPEN_INFO_VERSION;
 * CA_ERR_UNSUPPORTED when 0 or newer than this build, before anything else).
 * A replica restarts reading its log at info->position + 1 (see LOG).
 *
 * One handle at a time: the handle holds an exclusive lock on the journal
 * (an open file description lock) from this call until ca_ledger_free; a
 * second ca_ledger_open of the directory, from this process or another,
 * answers CA_ERR_STATE ("... is already open ...") and touches nothing.
 *
 * Recovery loads the snapshot, replays the journal in one linear pass and cuts
 * a torn tail: what a crash during a write leaves, the start of ONE record
 * (a partial record header, or an intact header whose length runs past the
 * end of the file), so at most the record header plus the largest record
 * (about 2 MiB, docs/LEDGER.md). Any other damage (a record that fails its
 * header or payload checksum, garbage, a seq out of order, a record that no
 * longer applies, a damaged snapshot) answers CA_ERR_LEDGER_CORRUPT with the
 * record's seq and offset in ca_last_error(), and changes nothing on disk:
 * nothing is ever skipped. A journal of format 1 (records without a header
 * checksum, older builds) holding records answers CA_ERR_UNSUPPORTED. Other
 * errors: CA_ERR_LEDGER_OPTIONS_MISMATCH, CA_ERR_IO, CA_ERR_NO_MEMORY
 * (recovery holds the journal and the snapshot file in memory).
 */
CA_API CA_NODISCARD ca_status ca_ledger_open(ca_ledger **out, const char *dir,
                                             const ca_ledger_options *opts,
                                             ca_ledger_open_info *info);

/*
 * SNAPSHOT BYTES. A snapshot is the whole state in one checksummed byte
 * string (the layout of the durable `snapshot` file, docs/LEDGER.md): every
 * account, escrow, evidence key, delegation and revocation record, the
 * totals, the horizon, and the log position, clock and refused count (LOG).
 * Replicas that processed the same log up to the same position export
 * identical bytes; a ledger made from them has the exporter's state hash and
 * log position.
 *
 * ca_ledger_snapshot_export writes the current state, in memory or durable
 * (ops not yet committed included; commit first to export only what is
 * durable). OWNERSHIP RULE: with out NULL or out_cap too small,
 * CA_ERR_BUFFER_TOO_SMALL and *out_len the exact size (about 65 bytes an
 * account + 16 an unbonding entry, 107 an escrow, 40 an evidence key, 64 a
 * delegation record, 72 a revocation, 200 a key record (KEY ROTATION), 196
 * fixed). Reads only (the handle is not const because the
 * incremental state hash is brought up to date).
 */
CA_API CA_NODISCARD ca_status ca_ledger_snapshot_export(ca_ledger *ledger, uint8_t *out,
                                                        size_t out_cap, size_t *out_len);

/*
 * An in-memory ledger holding the state of snapshot bytes (export, or a
 * durable ledger's `snapshot` file) under `opts`. The decoder is strict:
 * exact size, checksum, no duplicate keys, counts within the limits and the
 * bytes, conservation and every invariant, the stored state hash
 * (CA_ERR_LEDGER_CORRUPT; an older snapshot version too);
 * CA_ERR_LEDGER_OPTIONS_MISMATCH when it was written under other options;
 * CA_ERR_NO_MEMORY. On failure *out is NULL.
 */
CA_API CA_NODISCARD ca_status ca_ledger_new_from_snapshot(ca_ledger **out,
                                                          const ca_ledger_options *opts,
                                                          const uint8_t *snapshot,
                                                          size_t snapshot_len);

/*
 * Replaces the durable ledger in `dir` (created if missing) with the state of
 * snapshot bytes and opens it, for a replica restoring from a checkpoint
 * another replica confirmed. The bytes are decoded as ca_ledger_new_from_snapshot
 * does before anything on disk changes (its errors, nothing touched); then
 * the directory's lock is taken (CA_ERR_STATE while another handle holds
 * it), the bytes are written durably to `snapshot.restore`, the journal is
 * emptied and `snapshot.restore` renamed over `snapshot`. Crash-safe: once
 * `snapshot.restore` exists, every ca_ledger_open of the directory finishes
 * the installation first, so the directory holds either its old state or
 * the new one, never journal records of the old state on top of the new.
 * The old state need not open (a damaged journal is replaced too).
 * `info` as for ca_ledger_open (snapshot_seq = the snapshot's seq, position
 * and failed from the snapshot). CA_ERR_IO on a file system failure.
 */
CA_API CA_NODISCARD ca_status ca_ledger_open_from_snapshot(ca_ledger **out, const char *dir,
                                                           const ca_ledger_options *opts,
                                                           const uint8_t *snapshot,
                                                           size_t snapshot_len,
                                                           ca_ledger_open_info *info);

/* Releases memory and closes files without syncing. NULL is a no-op. */
CA_API void ca_ledger_free(ca_ledger *ledger);

/* The ledger's id (ca_ledger_options_id of the options it was made with). */
CA_API ca_status ca_ledger_id(const ca_ledger *ledger, ca_hash *id_out);

/*
 * Applies an op the caller has authenticated by other means (the signature
 * layer, or a trusted local source). On success *seq_out (may be NULL) is the
 * op's sequence number (1, 2, ...). The result is provisional in durable mode
 * until ca_ledger_commit() reports a durable seq >= it.
 */
CA_API CA_NODISCARD ca_status ca_ledger_apply(ca_ledger *ledger, const ca_ledger_op *op,
                                              uint64_t now, uint64_t *seq_out);

/*
 * Applies ops[0..n) in order, each independently (like n ca_ledger_apply
 * calls, one result per op in results[i]); faster for large batches because
 * it prefetches the accounts of ops ahead. *applied (may be NULL) counts the
 * ops that succeeded. Returns CA_OK when the call itself was valid; per-op
 * failures (and a failing journal, CA_ERR_IO) are in results. The array is
 * of one layout: ops[0].version names it (CA_ERR_UNSUPPORTED for the call
 * when unknown; version 1 ops are the struct without `delegation`, and the
 * array is walked with that stride), and an op of another version gets
 * CA_ERR_UNSUPPORTED in its results[i].
 */
CA_API CA_NODISCARD ca_status ca_ledger_apply_batch(ca_ledger *ledger, const ca_ledger_op *ops,
                                                    size_t n, uint64_t now, ca_status *results,
                                                    size_t *applied);

/*
 * Decodes a signed op (ca_ledger_op_sign), checks its signatures against
 * this ledger's id (ca_ledger_id) and applies it; the signed bytes are what
 * the journal keeps. CA_ERR_MALFORMED, CA_ERR_LIMIT, CA_ERR_BAD_SIGNATURE
 * (also for an op signed for another ledger), CA_ERR_LEDGER_BAD_EVIDENCE for
 * an EQUIVOCATION slash or an ESCROW_DELIVER, which need what they claim
 * attached (ca_ledger_submit_evidence), or any status of ca_ledger_apply.
 */
CA_API CA_NODISCARD ca_status ca_ledger_submit(ca_ledger *ledger, const uint8_t *msg,
                                               size_t msg_len, uint64_t now, uint64_t *seq_out);

/*
 * Group commit: writes every pending journal record and fsyncs once.
 * *durable_seq (may be NULL) receives the highest seq now durable: every op
 * with seq <= it survives a crash. In-memory mode: returns the applied seq.
 */
CA_API CA_NODISCARD ca_status ca_ledger_commit(ca_ledger *ledger, uint64_t *durable_seq);

/*
 * Commits, writes a checksummed snapshot (temporary file, fsync, atomic
 * rename) and truncates the journal. CA_ERR_STATE in in-memory mode (an
 * in-memory ledger exports its snapshot as bytes: ca_ledger_snapshot_export).
 */
CA_API CA_NODISCARD ca_status ca_ledger_snapshot(ca_ledger *ledger);

/*
 * ---- LOG: a ledger fed by an external ordered log ----
 *
 * Replicas of one ledger agree when they apply the same ops in the same order
 * with the same `now`. A deployment that puts the ops in an ordered, durable
 * log (NATS JetStream: examples/replica) feeds every replica the log's
 * entries through ca_ledger_apply_log, and the ledger keeps, next to its
 * state, where in the log it stands:
 *
 * - POSITION: each entry carries its position in the log (the stream
 *   sequence; any uint64 >= 1, strictly increasing, gaps allowed). The ledger
 *   records the position of every entry it processes, applied or refused. An
 *   entry whose position is <= the recorded one is skipped: its result is
 *   CA_ERR_LEDGER_STALE_POSITION and nothing changes. So a replica that
 *   restarts and reads the log again from an earlier point stays exactly
 *   where it was, and an op refused once is never applied later by being
 *   read again (after a transfer that funds it, say). A host that packs
 *   several ops in one log message gives each its own position (e.g.
 *   sequence * 2^16 + index).
 * - REFUSED ENTRIES take their position too: an entry whose op fails for a
 *   reason in the entry and the state (bad bytes, bad signature, any ledger
 *   status) is recorded as refused (the journal keeps a record of it: its
 *   status and op id) and counted (`failed`). A failure of the host instead
 *   (CA_ERR_NO_MEMORY, CA_ERR_IO, CA_ERR_INIT) consumes nothing: the call
 *   stops there and the entry can be given again.
 * - THE NOW RULE: the ledger derives `now` itself, identically on every
 *   replica: an entry is applied at
 *       now = max(entry time, clock)
 *   where the entry's time is the log's timestamp for it in ms (JetStream:
 *   the stream timestamp, time_ns / 1000000 rounded down) and `clock` is the
 *   larger of the `now` of the last entry processed (applied or refused) and
 *   the horizon (AVAILABILITY). A log timestamp that goes backwards (a new
 *   stream leader with a slower clock) therefore never moves the ledger's
 *   time back; every replica sees the same timestamps, so every replica
 *   derives the same `now`.
 *
 * Position, clock and refused count are in the journal (every record carries
 * its position), in snapshots (ca_ledger_snapshot_export and the durable
 * snapshot) and reported on open (ca_ledger_open_info) and by
 * ca_ledger_log_position; they are not part of the state hash (replicas at
 * one position of one log agree on them anyway). Ops applied without a
 * position (ca_ledger_apply, ca_ledger_submit) leave them alone, but move the
 * horizon and so the clock.
 *
 * One entry: a signed op (`msg`, ca_ledger_op_sign; with an `attachment`,
 * its equivocation evidence or RESULT, as for ca_ledger_submit_evidence;
 * attachment_len 0 means none), or a trusted op (`op`, as for
 * ca_ledger_apply; msg, msg_len, attachment and attachment_len then NULL and
 * 0). msg NULL with msg_len 0 and op NULL is an empty message (refused:
 * CA_ERR_MALFORMED). The pointers are borrowed for the call.
 */
typedef struct ca_ledger_log_entry {
    uint64_t position; /* >= 1; entries of one log in increasing order */
    uint64_t time;     /* the log's timestamp for the entry, ms since the epoch */
    const uint8_t *msg;
    size_t msg_len;
    const uint8_t *attachment;
    size_t attachment_len;
    const ca_ledger_op *op;
} ca_ledger_log_entry;

/*
 * Processes entries[0..n) in order, each independently; `entry_size` is
 * sizeof(ca_ledger_log_entry) of the caller (the ELEMENT SIZE convention of
 * the STRUCT RULE, common.h: CA_ERR_UNSUPPORTED when it is not a layout this
 * build reads). results[i] is entry i's result: CA_OK (applied; in
 * durable mode provisional until ca_ledger_commit, like ca_ledger_apply),
 * CA_ERR_LEDGER_STALE_POSITION (skipped), or the status of its refusal
 * (what ca_ledger_submit, ca_ledger_submit_evidence or ca_ledger_apply would
 * have answered). Returns CA_OK once every entry was processed, *done
 * (may be NULL) = n. Otherwise returns what stopped it at entry *done:
 * CA_ERR_INVALID_ARGUMENT for an entry that is not well formed (position 0,
 * both an op and bytes, a length without a pointer), CA_ERR_UNSUPPORTED for
 * an entry whose op has a version this build does not know, or a host failure
 * (CA_ERR_NO_MEMORY, CA_ERR_IO); that entry and the ones after it are not
 * processed (their results are set to the returned status) and consumed no
 * position. Checked before any entry, in this order: NULL ledger, NULL
 * results, NULL entries with n > 0 (CA_ERR_INVALID_ARGUMENT), entry_size
 * (CA_ERR_UNSUPPORTED); *done is then 0.
 */
CA_API CA_NODISCARD ca_status ca_ledger_apply_log(ca_ledger *ledger,
                                                  const ca_ledger_log_entry *entries,
                                                  size_t entry_size, size_t n, ca_status *results,
                                                  size_t *done);

#define CA_LEDGER_LOG_INFO_VERSION 1u

/* Filled by ca_ledger_log_position; the caller sets `version` first. */
typedef struct ca_ledger_log_info {
    unsigned int version;      /* set by the caller: CA_LEDGER_LOG_INFO_VERSION */
    uint64_t position;         /* last entry applied or refused (0: none): read on from + 1 */
    uint64_t clock;            /* the next entry is applied at max(its time, clock) */
    uint64_t failed;           /* entries refused so far */
    uint64_t durable_position; /* durable mode: the position a crash keeps (what the last
                                  ca_ledger_commit synced); in memory: `position` */
} ca_ledger_log_info;

/*
 * Where the ledger stands in its log. CA_ERR_UNSUPPORTED when out->version is
 * 0 or newer than this build.
 */
CA_API CA_NODISCARD ca_status ca_ledger_log_position(const ca_ledger *ledger,
                                                     ca_ledger_log_info *out);

/* ---- signed ops ---- */

/* Largest signed op without a delegation chain accepted (bytes); a delegated op:
 * CA_LEDGER_DELEGATED_OP_MAX_BYTES (DELEGATION below). */
#define CA_LEDGER_OP_MAX_BYTES 4096u
CA_API size_t ca_ledger_op_max_bytes(void);

/*
 * Signs `op` for the ledger `ledger_id` (ca_ledger_id / ca_ledger_options_id)
 * with `signer` (must match op->signer) and, for ESCROW_OPEN, `cosigner` =
 * the worker (its consent to lock the collateral; NULL for other types).
 * The signatures cover the ledger id, so the op applies on that ledger only.
 * Output: signed op bytes (OWNERSHIP RULE; CA_LEDGER_OP_MAX_BYTES suffice).
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_sign(const ca_hash *ledger_id, const ca_ledger_op *op,
                                                const ca_identity *signer,
                                                const ca_identity *cosigner, uint8_t *out,
                                                size_t out_cap, size_t *out_len);

/*
 * The same in two steps, for a hirer and a worker in different processes:
 * the worker computes its consent to an ESCROW_OPEN with ca_ledger_op_cosign
 * and sends the 64-byte signature; the hirer attaches it with
 * ca_ledger_op_sign_cosigned, which checks it (CA_ERR_BAD_SIGNATURE) before
 * signing. For other op types `cosig` must be NULL.
 * The consent covers the ledger id and the escrow's terms (hirer, worker,
 * award id, payment, collateral, deadline), not the hirer's nonce: the worker
 * may sign it with any nonce (0 is fine) and the hirer fills in its next
 * nonce when it signs, whatever other ops it applied in between. One consent
 * opens one escrow on one ledger: the ledger keeps one escrow per award id.
 * ca_ledger_op_escrow_open builds the op from the AWARD, so both sides sign
 * the same terms.
 */
/*
 * The ESCROW_OPEN an AWARD calls for, nonce 0: signer = the award's sender
 * (the requester), counterparty = the awarded worker, ref = the award's
 * message id, amount = its price, amount2 = its collateral, deadline = its
 * deadline. `award` must be an AWARD (else the error of ca_task_msg_award).
 * A requester acting under a delegation (task.h, ca_task_side: `delegated`)
 * pays from its delegator's account: set op_out->signer to the side's
 * `principal` before the worker consents, and sign with
 * ca_ledger_op_sign_delegated (examples/hire_delegated).
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_escrow_open(ca_ledger_op *op_out,
                                                       const ca_task_msg *award);

CA_API CA_NODISCARD ca_status ca_ledger_op_cosign(const ca_hash *ledger_id, const ca_ledger_op *op,
                                                  const ca_identity *worker,
                                                  ca_signature *cosig_out);
CA_API CA_NODISCARD ca_status ca_ledger_op_sign_cosigned(const ca_hash *ledger_id,
                                                         const ca_ledger_op *op,
                                                         const ca_identity *signer,
                                                         const ca_signature *cosig, uint8_t *out,
                                                         size_t out_cap, size_t *out_len);

/*
 * The ESCROW_DELIVER a RESULT calls for, nonce 0: signer = the result's
 * sender (the worker), ref = its award id, result = its message id. `result`
 * must be a RESULT carrying an output (CA_ERR_WRONG_KIND for another kind,
 * CA_ERR_INVALID_ARGUMENT for a failure report: a failure is not a delivery,
 * the worker refunds instead). Submit the signed op together with the
 * RESULT's envelope bytes (ca_task_msg_encoded) through
 * ca_ledger_submit_evidence.
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_escrow_deliver(ca_ledger_op *op_out,
                                                          const ca_task_msg *result);

/*
 * ---- DELEGATION: ops signed by a delegate (docs/LEDGER.md, "Delegation") ----
 *
 * A delegate may sign an op for the delegator (the root issuer of a
 * delegation chain, delegation.h) when the op carries the chain: op.signer
 * is the delegator, the account the op acts for (its balance pays, it is
 * the escrow's hirer), and the signature is the delegate's (the leaf's
 * audience): Ed25519 over "cyberagent/1/ledger-op-delegated" || ledger id ||
 * the op's unsigned encoding || the leaf's id (which commits to the whole
 * chain through the parent ids). Allowed types: TRANSFER, ESCROW_OPEN (the
 * worker's consent as for any ESCROW_OPEN: hirer = the delegator),
 * ESCROW_RELEASE and ESCROW_REFUND (the hirer's side); any other type
 * answers CA_ERR_LEDGER_UNAUTHORIZED.
 *
 * Checks of a delegated op when it is applied, after the steps shape and
 * signer (1 and 2 of "Checks"), in this order, T = max(now, horizon):
 *   D1 the type is allowed                           -> CA_ERR_LEDGER_UNAUTHORIZED
 *   D2 the root's issuer is the key that signs for op.signer's account (its
 *      id; its current key once it rotated)          -> CA_ERR_KEY_ROTATED (rotated),
 *                                                       CA_ERR_LEDGER_UNAUTHORIZED
 *   D3 every link: expires_at - created_at <= max_delegation_lifetime and
 *      expires_at <= T + max_delegation_lifetime     -> CA_ERR_LIMIT
 *   D4 the leaf grants CA_LEDGER_CAPABILITY_TRANSFER (TRANSFER) or
 *      CA_LEDGER_CAPABILITY_ESCROW (the escrow ops)  -> CA_ERR_DELEGATION_CAPABILITY
 *   D5 ca_delegation_chain_verify at T, its revocations the ledger's REVOKE
 *      records (those applied before this op; an issuer key finds the REVOKE
 *      filed under it or under the account it is the current key of)
 *                                                    -> its statuses
 *   D6 the nonce: the leaf record's last nonce + 1   -> CA_ERR_LEDGER_DUPLICATE,
 *                                                       CA_ERR_LEDGER_BAD_NONCE
 *   D7 the caps: with spend = TRANSFER's amount, ESCROW_OPEN's payment,
 *      0 for RELEASE and REFUND, every link has spend <= task_cap and
 *      spent + spend <= total_cap                    -> CA_ERR_LEDGER_CAP_EXCEEDED
 *   D8 the records the op adds fit max_delegation_records -> CA_ERR_LIMIT
 * then the row's own checks (step 4) and room (step 5). D6 takes the place
 * of the signer's nonce: a delegated op neither reads nor moves the
 * delegator's account nonce. The op's signature is checked before
 * (ca_ledger_submit) against the leaf's audience, so an op signed by anyone
 * else answers CA_ERR_BAD_SIGNATURE.
 *
 * Records (replicated: state hash, journal, snapshot): per delegation id of
 * any link of an applied delegated op, `spent` (units of every spend through
 * it, all-or-nothing over the links; a refund gives nothing back), `nonce`
 * (the last of the ops applied with it as the leaf; the first is 1) and its
 * expiry, dropped once expires_at < horizon; per REVOKE, (delegation id,
 * revoker), kept until T + max_delegation_lifetime of its op.
 */

/* Capabilities a delegation must grant (ca_delegation_grants) for a delegated op. */
#define CA_LEDGER_CAPABILITY_TRANSFER "ledger.transfer"
#define CA_LEDGER_CAPABILITY_ESCROW   "ledger.escrow"

/* Largest signed delegated op accepted (bytes): the op, its signatures and a chain of
 * CA_DELEGATION_MAX_DEPTH delegations of ca_envelope_bound(1200) bytes each fit. */
#define CA_LEDGER_DELEGATED_OP_MAX_BYTES 16384u
CA_API size_t ca_ledger_delegated_op_max_bytes(void);

/*
 * Signs `op` as `delegate` for the delegator op->signer, carrying the chain
 * chain[0] (the root, issued by the key that signs for op->signer: its id, or
 * its current key after a rotation) .. chain[count - 1] (the leaf,
 * whose audience is `delegate`), each the encoded bytes of a delegation
 * (ca_delegation_sign) of chain_lens[i] bytes. `cosig`: the worker's consent
 * for ESCROW_OPEN (ca_ledger_op_cosign; checked, CA_ERR_BAD_SIGNATURE), NULL
 * for the other types. Output: the signed bytes (OWNERSHIP RULE;
 * CA_LEDGER_DELEGATED_OP_MAX_BYTES suffice). Checks, in this order:
 * CA_ERR_INVALID_ARGUMENT (a NULL argument other than cosig; count 0),
 * CA_ERR_UNSUPPORTED (op version), CA_ERR_LIMIT (count >
 * CA_DELEGATION_MAX_DEPTH), CA_ERR_LEDGER_UNAUTHORIZED (a type not allowed
 * under a delegation), each link's decoding (ca_delegation_decode's
 * statuses), CA_ERR_INVALID_ARGUMENT (the leaf's audience is not
 * `delegate`, op->delegation neither zero nor the
 * leaf's id, a cosig missing for ESCROW_OPEN or given for another type),
 * then the op's shape (as ca_ledger_op_sign) and the consent. It does not
 * verify the chain (its validity is the ledger's, at the op's time).
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_sign_delegated(
    const ca_hash *ledger_id, const ca_ledger_op *op, const ca_identity *delegate,
    const ca_signature *cosig, const uint8_t *const *chain, const size_t *chain_lens, size_t count,
    uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Strict decoder of signed op bytes (signatures are NOT checked here; use
 * ca_ledger_submit, or ca_ledger_op_verify). CA_ERR_MALFORMED on any deviation
 * (CA_ERR_LIMIT above CA_LEDGER_DELEGATED_OP_MAX_BYTES, or above
 * CA_LEDGER_OP_MAX_BYTES without a chain). A delegated op's chain is decoded
 * too, each link strictly (a link ca_delegation_decode refuses makes the op
 * CA_ERR_MALFORMED, the link's status in ca_last_error()), and a version 2
 * op_out gets the leaf's id in `delegation` (zero for a direct op).
 * *op_out is written only on success.
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_decode(const uint8_t *msg, size_t msg_len,
                                                  ca_ledger_op *op_out);

/*
 * Checks the signatures of signed op bytes for the ledger `ledger_id`.
 * CA_OK, CA_ERR_BAD_SIGNATURE (also when signed for another ledger) or
 * CA_ERR_MALFORMED / CA_ERR_LIMIT. A delegated op's signature is checked
 * against its leaf's audience; its chain is only decoded (whether the chain
 * holds is decided when the op is applied, at its time).
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_verify(const ca_hash *ledger_id, const uint8_t *msg,
                                                  size_t msg_len);

/* Largest attachment (equivocation evidence, a DELIVER's RESULT) accepted (bytes). */
#define CA_LEDGER_EVIDENCE_MAX_BYTES 2097152u
CA_API size_t ca_ledger_evidence_max_bytes(void);

/*
 * Submits a signed op together with what it claims, for the op kinds
 * that need it; the journal keeps both. A KEY_EVENT carries its key event
 * and is checked as KEY ROTATION below says (the event opens before the
 * signature is checked, since its key signs the op). For the two other
 * kinds, checks in order: the op decodes
 * (CA_ERR_MALFORMED / CA_ERR_LIMIT) and its signatures verify for this
 * ledger (CA_ERR_BAD_SIGNATURE, or CA_ERR_KEY_ROTATED: KEY ROTATION); it is
 * one of the two kinds below (CA_ERR_INVALID_ARGUMENT); `evidence_len` <=
 * CA_LEDGER_EVIDENCE_MAX_BYTES (CA_ERR_LIMIT); the attachment proves the claim (else
 * CA_ERR_LEDGER_BAD_EVIDENCE); then every check of ca_ledger_apply.
 *
 * SLASH for EQUIVOCATION: `evidence` is the evidence object
 * (ca_evidence_encode, task.h). It must open (ca_evidence_open), its
 * offender must be op.counterparty, its offense key (ca_evidence_offense:
 * agent, task, kind) must be op.ref, so one offense is slashed once, and
 * its task deadline (ca_evidence_deadline) must be op.deadline: every pair
 * of messages proving one offense names the same request, hence the same
 * offense time, so the evidence window cannot be reopened by another pair.
 *
 * ESCROW_DELIVER: `evidence` is the RESULT's signed envelope. It must decode
 * strictly and its signature verify (at its own created_at, as evidence
 * does), be a RESULT (kind CA_KIND_TASK_RESULT) with an output, not a
 * failure report, signed by op.signer, answer the award op.ref (body and
 * parent), and have message id op.result. Then the ledger's DELIVER checks
 * (the escrow exists, op.signer is its worker, it is open and not delivered,
 * now <= deadline) and one more: the RESULT's created_at <= the escrow's
 * deadline (CA_ERR_LEDGER_TOO_LATE). The ledger does not hold the task id,
 * so the RESULT's task field is bound through its award only.
 */
CA_API CA_NODISCARD ca_status ca_ledger_submit_evidence(ca_ledger *ledger, const uint8_t *msg,
                                                        size_t msg_len, const uint8_t *evidence,
                                                        size_t evidence_len, uint64_t now,
                                                        uint64_t *seq_out);

/*
 * ---- KEY ROTATION: accounts follow the identity, not one key ----
 * (docs/LEDGER.md "Key rotation", docs/IDENTITY.md "Key rotation with pre-rotation")
 *
 * An identity that rotates keeps ONE account: the account of its inception's
 * first key (its did:key account, made as any other: by receiving units).
 * KEY_EVENT ops bind that account to the identity's key history and follow
 * it; the ledger keeps per bound account one key record (the stable
 * identifier, the current key, the sequence, the last event's digest, the
 * commitment to the next key, and when the last KEY_EVENT applied), never
 * the history itself: O(1) per op and at most one record per account.
 *
 * - A KEY_EVENT is signed with the EVENT's key (the inception's first key, or
 *   the key a rotation reveals: ca_ledger_op_sign_with_key), never with the
 *   key it replaces, and is submitted with the event bytes as its attachment
 *   (ca_ledger_submit_evidence, or a log entry's attachment); the journal
 *   keeps them. A trusted KEY_EVENT (ca_ledger_apply, a log entry's `op`)
 *   has no event and is refused (CA_ERR_LEDGER_BAD_EVIDENCE).
 * - Inception (sequence 0): its key must be the signer, i.e. the account id
 *   (CA_ERR_LEDGER_UNAUTHORIZED); the account must exist
 *   (CA_ERR_LEDGER_UNKNOWN_ACCOUNT: events create no accounts) and have no
 *   history yet (CA_ERR_KEY_EVENT_ORDER: one history per account).
 * - Rotation: the account has a history, the event names its identifier,
 *   sequence = the record's + 1 and prior = its last digest
 *   (CA_ERR_KEY_EVENT_ORDER); its key is the committed one
 *   (CA_ERR_KEY_NOT_COMMITTED: a thief holding the current key cannot
 *   rotate); its time is not before the last event's and its key is neither
 *   the current key nor the account id nor the current key of another
 *   account that has rotated (CA_ERR_KEY_EVENT_ORDER: a key signs for one
 *   identity at most).
 * - THE RULE: from the KEY_EVENT's place in the ledger's order on (its log
 *   position under ca_ledger_apply_log; its place in apply order otherwise)
 *   every signed op for a bound account is verified with the record's
 *   current key only: the op's signature when the account is op.signer, the
 *   worker's consent of an ESCROW_OPEN when it is the worker, the sender of
 *   the RESULT a DELIVER carries, the offender of equivocation evidence.
 *   Every earlier key, the inception's included, signs nothing for it. A
 *   signature that does not verify with the current key of an account that
 *   has rotated answers CA_ERR_KEY_ROTATED (the ledger keeps no history, so
 *   it does not tell an older key from a tampered op: both are "not the
 *   current key"); for an account never rotated, CA_ERR_BAD_SIGNATURE as
 *   before. Nonces are the account's, unchanged by rotation. Ops applied
 *   trusted (ca_ledger_apply) carry no signature and are not key-checked.
 *   ca_ledger_op_verify (no ledger state) checks against the ids the op names.
 */

/*
 * Signs `op` for `ledger_id` with `key`, which need not be op->signer: the
 * signer account's current key after a rotation, or the key a KEY_EVENT
 * establishes (the revealed key of a rotation). The ledger decides whether
 * the key signs for the account (KEY ROTATION above). For an ESCROW_OPEN,
 * `cosig` is the worker's consent (NULL for other types) and `worker_key`
 * the key that made it (NULL: op->counterparty); the consent is checked
 * (CA_ERR_BAD_SIGNATURE) before signing. Otherwise as
 * ca_ledger_op_sign_cosigned: CA_ERR_INVALID_ARGUMENT (NULL ledger_id, op,
 * key, out_len; a cosig with another type, none with ESCROW_OPEN),
 * CA_ERR_UNSUPPORTED (op->version), the op's shape, CA_ERR_BUFFER_TOO_SMALL.
 */
CA_API CA_NODISCARD ca_status
ca_ledger_op_sign_with_key(const ca_hash *ledger_id, const ca_ledger_op *op, const ca_identity *key,
                           const ca_signature *cosig, const ca_agent_id *worker_key, uint8_t *out,
                           size_t out_cap, size_t *out_len);

/*
 * The worker's consent to an ESCROW_OPEN signed with `key`, which need not be
 * op->counterparty: the worker account's current key after a rotation.
 * Errors as ca_ledger_op_cosign, without its identity check.
 */
CA_API CA_NODISCARD ca_status ca_ledger_op_cosign_with_key(const ca_hash *ledger_id,
                                                           const ca_ledger_op *op,
                                                           const ca_identity *key,
                                                           ca_signature *cosig_out);

#define CA_LEDGER_KEY_INFO_VERSION 1u

/* Filled by ca_ledger_key_state; the caller sets `version` first. */
typedef struct ca_ledger_key_info {
    unsigned int version; /* set by the caller: CA_LEDGER_KEY_INFO_VERSION */
    ca_hash identifier;   /* the identity's stable id (its inception's digest) */
    ca_agent_id key;      /* the current key: the only one that signs for the account */
    uint64_t sequence;    /* last event's sequence (0: bound, never rotated) */
    ca_hash digest;       /* last event's digest (the next rotation's prior) */
    ca_hash next;         /* commitment to the next key (ca_key_commitment) */
    uint64_t time;        /* last event's time (ms) */
    uint64_t seq;         /* ledger seq the last KEY_EVENT took (its place in apply order) */
    uint64_t position;    /* its log position (ca_ledger_apply_log), 0 when applied without */
    uint64_t now;         /* the ledger's `now` when it applied */
} ca_ledger_key_info;

/*
 * The key record of `account` (KEY ROTATION above). Checks, in this order:
 * CA_ERR_INVALID_ARGUMENT (NULL), CA_ERR_UNSUPPORTED (out->version 0 or
 * newer than this build), CA_ERR_LEDGER_UNKNOWN_ACCOUNT (no such account),
 * CA_ERR_NOT_FOUND (the account is bound to no key history: its id is its key).
 * O(1): one lookup.
 */
CA_API CA_NODISCARD ca_status ca_ledger_key_state(const ca_ledger *ledger,
                                                  const ca_agent_id *account,
                                                  ca_ledger_key_info *out);

/*
 * The account `key` signs for now: what routing and reputation ask to give a
 * card signed by an identity's current key its account's stake and score
 * (docs/LEDGER.md "Key rotation", "Which account a key speaks for").
 * Answers, in this order:
 * - CA_ERR_INVALID_ARGUMENT: a NULL argument;
 * - CA_OK, *account_out = the account, when `key` is the current key of an
 *   account that has rotated (its record's sequence >= 1), whatever else the
 *   key is (an account of its own too: the identity's account wins);
 * - CA_ERR_KEY_ROTATED when `key` is the id of an account whose record has
 *   rotated to another key: the replaced key speaks for nothing;
 * - CA_OK, *account_out = key, when `key` is an account otherwise (never
 *   bound, or bound and not rotated: its id is its key);
 * - CA_ERR_LEDGER_UNKNOWN_ACCOUNT otherwise, including a key replaced by a
 *   later rotation that is no account (the ledger keeps no history).
 * A key is the current key of at most one rotated account (the KEY_EVENT row
 * refuses a rotation to a key that already is one). *account_out is written
 * on CA_OK only. O(1) expected: at most three id-map lookups (a reverse
 * index from current keys to accounts, kept with the key records; derived
 * state, not part of the state hash or the snapshot bytes), the history
 * never walked.
 */
CA_API CA_NODISCARD ca_status ca_ledger_account_of_key(const ca_ledger *ledger,
                                                       const ca_agent_id *key,
                                                       ca_agent_id *account_out);

/* ---- queries ---- */

/* The query structs below follow the STRUCT RULE of common.h: the caller sets
 * `version` to the struct's *_VERSION macro before the call; the library
 * fills the fields of that version (CA_ERR_UNSUPPORTED for 0 or a version
 * newer than this build, checked right after the NULL arguments). */

#define CA_LEDGER_ACCOUNT_INFO_VERSION 1u

/* Filled by ca_ledger_account; the caller sets `version` first. */
typedef struct ca_ledger_account_info {
    unsigned int version; /* set by the caller: CA_LEDGER_ACCOUNT_INFO_VERSION */
    uint64_t balance;     /* spendable */
    uint64_t bonded;      /* staked, slashable */
    uint64_t unbonding;   /* leaving, still slashable until matured */
    uint64_t nonce;       /* last nonce used by this signer */
    uint64_t jailed_until;
    uint32_t unbonding_entries;
} ca_ledger_account_info;

/* Checks, in this order: a NULL argument (CA_ERR_INVALID_ARGUMENT),
 * out->version (CA_ERR_UNSUPPORTED), then CA_ERR_LEDGER_UNKNOWN_ACCOUNT when
 * the account does not exist. */
CA_API CA_NODISCARD ca_status ca_ledger_account(const ca_ledger *ledger, const ca_agent_id *id,
                                                ca_ledger_account_info *out);

typedef enum ca_ledger_escrow_state {
    CA_LEDGER_ESCROW_OPEN = 1,
    CA_LEDGER_ESCROW_RELEASED = 2,
    CA_LEDGER_ESCROW_REFUNDED = 3,
    CA_LEDGER_ESCROW_SPLIT = 4
} ca_ledger_escrow_state;

#define CA_LEDGER_ESCROW_INFO_VERSION 1u

/* Filled by ca_ledger_escrow; the caller sets `version` first. */
typedef struct ca_ledger_escrow_info {
    unsigned int version; /* set by the caller: CA_LEDGER_ESCROW_INFO_VERSION */
    ca_agent_id hirer;
    ca_agent_id worker;
    uint64_t payment;
    uint64_t collateral;
    uint64_t deadline;
    uint32_t state;     /* ca_ledger_escrow_state */
    uint32_t delivered; /* 1 when the worker recorded its RESULT (by the deadline) */
    uint32_t missed;    /* 1 when settled after its deadline with nothing delivered */
    uint64_t paid;      /* what the worker received of the payment (see ca_ledger_escrow) */
    ca_hash result;     /* message id of the RESULT recorded by DELIVER; zero when none */
} ca_ledger_escrow_info;

/*
 * The escrow of an award id. Checks, in this order: a NULL argument
 * (CA_ERR_INVALID_ARGUMENT), out->version (CA_ERR_UNSUPPORTED), then
 * CA_ERR_LEDGER_UNKNOWN_ESCROW when no escrow has this award id.
 * `paid` is what the worker received of the payment, collateral not
 * counted: 0 while open and after a refund, the payment once released, the
 * verdict's `amount` once split. The reputation module weighs ratings by it
 * (ca_reputation_add_settled).
 */
CA_API CA_NODISCARD ca_status ca_ledger_escrow(const ca_ledger *ledger, const ca_hash *award_id,
                                               ca_ledger_escrow_info *out);

#define CA_LEDGER_DELEGATION_INFO_VERSION 1u

/* Filled by ca_ledger_delegation; the caller sets `version` first. */
typedef struct ca_ledger_delegation_info {
    unsigned int version; /* set by the caller: CA_LEDGER_DELEGATION_INFO_VERSION */
    uint64_t spent;       /* units spent through it, as any link of a chain (never given back) */
    uint64_t total_cap;   /* its total_cap: spent <= total_cap */
    uint64_t nonce;       /* last nonce of an op applied with it as the leaf (0: none yet) */
    uint64_t expires_at;  /* its expiry: the record is dropped once the horizon passes it */
} ca_ledger_delegation_info;

/*
 * The ledger's record of a delegation id. Checks, in this order: a NULL
 * argument (CA_ERR_INVALID_ARGUMENT), out->version (CA_ERR_UNSUPPORTED),
 * then CA_ERR_LEDGER_UNKNOWN_DELEGATION when no applied op used it (as any
 * link) or its record was dropped.
 */
CA_API CA_NODISCARD ca_status ca_ledger_delegation(const ca_ledger *ledger, const ca_hash *id,
                                                   ca_ledger_delegation_info *out);

/*
 * Whether the ledger holds a REVOKE of `delegation` by `revoker`: CA_OK
 * (*kept_until, may be NULL, = when its record is dropped: it is dropped once
 * the horizon passes it), CA_ERR_LEDGER_UNKNOWN_DELEGATION when none is held,
 * CA_ERR_INVALID_ARGUMENT for a NULL ledger, delegation or revoker.
 */
CA_API CA_NODISCARD ca_status ca_ledger_revocation(const ca_ledger *ledger,
                                                   const ca_hash *delegation,
                                                   const ca_agent_id *revoker,
                                                   uint64_t *kept_until);

#define CA_LEDGER_TOTALS_VERSION 1u

/* Filled by ca_ledger_totals_get; the caller sets `version` first. */
typedef struct ca_ledger_totals {
    unsigned int version; /* set by the caller: CA_LEDGER_TOTALS_VERSION */
    uint64_t minted;
    uint64_t burned;
    uint64_t escrowed; /* locked in open escrows */
    uint64_t seq;      /* ops applied */
    uint64_t accounts;
    uint64_t escrows; /* escrows held: open, or settled and not yet dropped (AVAILABILITY) */
} ca_ledger_totals;

/* CA_ERR_INVALID_ARGUMENT for a NULL argument, CA_ERR_UNSUPPORTED for
 * out->version; cannot fail otherwise. */
CA_API ca_status ca_ledger_totals_get(const ca_ledger *ledger, ca_ledger_totals *out);

/*
 * Deterministic state hash (BLAKE2b-256 over a sum of per-record hashes, see
 * docs/LEDGER.md): equal on replicas that hold the same state.
 */
CA_API ca_status ca_ledger_state_hash(ca_ledger *ledger, ca_hash *out);

/*
 * Verifies every invariant from scratch: conservation, per-account unbonding
 * sums, escrow totals, index consistency, the incremental state hash, and
 * the retention rules: each kept record is in the expiry heap once, with its
 * time, none before the horizon, every escrow deadline and evidence time within
 * max_escrow_duration + max_evidence_age of the horizon, no hirer above
 * max_escrows_per_hirer, and the delegation and revocation records (each
 * indexed and in the heap, spent <= total_cap, at most max_delegation_records
 * of each, none kept past horizon + max_delegation_lifetime).
 * CA_OK or CA_ERR_LEDGER_INVARIANT with the first violation in ca_last_error().
 */
CA_API CA_NODISCARD ca_status ca_ledger_check(ca_ledger *ledger);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_LEDGER_H */
