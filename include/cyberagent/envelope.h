/*
 * libcyberagent — signed envelopes: one canonical, signed format for the
 * messages agents send each other (agent cards, task messages, application
 * data). Ledger operations are not envelopes: the ledger signs its own
 * fixed-layout op under the domain "cyberagent/1/ledger-op" (ledger.h).
 * Byte-level specification and test vectors: docs/WIRE.md.
 *
 * OWNERSHIP: ca_envelope_sign writes into a caller buffer (OWNERSHIP RULE in
 * common.h). ca_envelope_decode / ca_envelope_open return a handle that owns a
 * private copy of the input; free it with ca_envelope_free.
 * THREAD SAFETY: a ca_envelope is immutable; any number of threads may read
 * one at once. A ca_replay_guard is not thread-safe: one owner, or a lock.
 * Free functions without a handle are thread-safe.
 */
#ifndef CYBERAGENT_ENVELOPE_H
#define CYBERAGENT_ENVELOPE_H

#include "common.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Wire format version this build writes and reads. */
#define CA_ENVELOPE_VERSION 1u

/*
 * Kinds. The signature's domain tag is "cyberagent/1/<kind in decimal>", so a
 * signature made for one kind never verifies as another. Numbers are stable.
 */
#define CA_KIND_CARD         1u  /* agent card (card.h) */
#define CA_KIND_TASK_REQUEST 16u /* task messages (task.h) */
#define CA_KIND_TASK_BID     17u
#define CA_KIND_TASK_AWARD   18u
#define CA_KIND_TASK_RESULT  19u
#define CA_KIND_TASK_RECEIPT 20u
#define CA_KIND_TASK_CANCEL  21u
#define CA_KIND_TASK_DISPUTE 22u
#define CA_KIND_DELEGATION   64u      /* delegation.h */
#define CA_KIND_REVOCATION   65u      /* revocation of a delegation (delegation.h) */
#define CA_KIND_LIBRARY_MAX  0xffffu  /* 1 .. 0xffff: reserved for the library */
#define CA_KIND_APP_MIN      0x10000u /* 0x10000 .. 0xffffffff: free for applications */

/* Name of a library kind ("task.request", ...), or NULL for unknown and application kinds. */
CA_API const char *ca_kind_name(uint32_t kind);

/* Envelope flags (set by the signer through params->flags). */
#define CA_ENVELOPE_COMPRESS 0x1u /* zstd-compress the body when that saves bytes */
#define CA_ENVELOPE_SEAL     0x2u /* seal the body to the recipient (needs a recipient) */

/* ---- signing ---- */

#define CA_ENVELOPE_PARAMS_VERSION 1u

typedef struct ca_envelope_params {
    unsigned int version;         /* CA_ENVELOPE_PARAMS_VERSION */
    uint32_t kind;                /* non-zero */
    const ca_agent_id *recipient; /* optional (NULL) */
    uint64_t created_at;          /* ms since the Unix epoch, from the caller's clock */
    uint64_t expires_at;          /* ms since the Unix epoch; > created_at */
    const ca_hash *parent;        /* optional (NULL): id of the message this one follows */
    uint32_t flags;               /* CA_ENVELOPE_COMPRESS | CA_ENVELOPE_SEAL */
} ca_envelope_params;

/* Zeroes the params and sets `version`. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_envelope_params_init(ca_envelope_params *params, unsigned int version);

/* Most bytes an envelope adds to its body (fields, signature, sealed box). */
#define CA_ENVELOPE_MAX_OVERHEAD 257u

/* Upper bound of the encoded size of an envelope carrying `body_len` body
 * bytes: body_len + CA_ENVELOPE_MAX_OVERHEAD (SIZE_MAX if that overflows). */
CA_API size_t ca_envelope_bound(size_t body_len);

/*
 * Builds, signs and encodes an envelope into `out` (OWNERSHIP RULE;
 * ca_envelope_bound(body_len) always suffices). `id_out` (optional)
 * receives the message id, written only on success and after the encoding,
 * so it may point at params->parent (a chain signed link by link).
 */
CA_API CA_NODISCARD ca_status ca_envelope_sign(const ca_identity *signer,
                                               const ca_envelope_params *params,
                                               const uint8_t *body, size_t body_len, uint8_t *out,
                                               size_t out_cap, size_t *out_len, ca_hash *id_out);

/* ---- decoding and verification ---- */

/*
 * Defaults of ca_envelope_options (what ca_envelope_options_init writes).
 *
 * CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT, 24 hours, is also the replay guard's:
 * an envelope's lifetime is its delivery window, not the task's deadline
 * (deadlines travel in task bodies, and a RESULT for a week-long job is
 * signed when it is delivered); the examples sign for 10 minutes to one
 * hour, and a day still covers a recipient that is offline or a queue that
 * redelivers late. Long-lived facts are re-signed: agent cards, like
 * Kademlia records, are republished rather than signed for ever. The cap is
 * what bounds how long a replay guard must remember an id.
 */
#define CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT     1048576u /* 1 MiB */
#define CA_ENVELOPE_MAX_ENVELOPE_BYTES_DEFAULT (CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT + 4096u)
#define CA_ENVELOPE_MAX_SKEW_MS_DEFAULT        30000u
#define CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT    86400000u /* 24 hours */

#define CA_ENVELOPE_OPTIONS_VERSION 2u

typedef struct ca_envelope_options {
    unsigned int version; /* CA_ENVELOPE_OPTIONS_VERSION */
    /* Encoded size limit; default CA_ENVELOPE_MAX_ENVELOPE_BYTES_DEFAULT (1052672 = 1 MiB
     * + 4 KiB). */
    size_t max_envelope_bytes;
    /* Body size after decompression/unsealing; default CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT
     * (1048576 = 1 MiB). */
    size_t max_body_bytes;
    /* Allowed clock difference; default CA_ENVELOPE_MAX_SKEW_MS_DEFAULT (30000). */
    uint64_t max_skew_ms;
    /* Version 2. Most expires_at - created_at that verify accepts; at least 1; default
     * CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT (86400000; a version-1 struct gets it too). */
    uint64_t max_lifetime_ms;
} ca_envelope_options;

/* Writes each field's default named above. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_envelope_options_init(ca_envelope_options *opts, unsigned int version);

typedef struct ca_envelope ca_envelope;

/*
 * Strict decode only (no signature check): canonical encoding, known
 * version, size limits. `opts` may be NULL for defaults.
 */
CA_API CA_NODISCARD ca_status ca_envelope_decode(ca_envelope **out, const uint8_t *data, size_t len,
                                                 const ca_envelope_options *opts);

/*
 * Checks, in this order: the arguments (CA_ERR_INVALID_ARGUMENT for NULL env
 * or max_lifetime_ms 0, CA_ERR_UNSUPPORTED for an unknown options version),
 * the size limits (CA_ERR_LIMIT), the signature (CA_ERR_BAD_SIGNATURE), the
 * lifetime (CA_ERR_LIFETIME when expires_at - created_at > max_lifetime_ms),
 * then time: CA_ERR_NOT_YET_VALID when created_at > now + skew,
 * CA_ERR_EXPIRED when now > expires_at + skew (sums saturate).
 */
CA_API CA_NODISCARD ca_status ca_envelope_verify(const ca_envelope *env, uint64_t now,
                                                 const ca_envelope_options *opts);

/* Decode + verify in one call; *out is set only when both succeed. */
CA_API CA_NODISCARD ca_status ca_envelope_open(ca_envelope **out, const uint8_t *data, size_t len,
                                               uint64_t now, const ca_envelope_options *opts);

CA_API void ca_envelope_free(ca_envelope *env);

/* Field accessors. Optional fields return 1 when present (and fill *out), else 0. */
CA_API uint32_t ca_envelope_kind(const ca_envelope *env);
CA_API void ca_envelope_sender(const ca_envelope *env, ca_agent_id *out);
CA_API int ca_envelope_recipient(const ca_envelope *env, ca_agent_id *out);
CA_API uint64_t ca_envelope_created_at(const ca_envelope *env);
CA_API uint64_t ca_envelope_expires_at(const ca_envelope *env);
CA_API int ca_envelope_parent(const ca_envelope *env, ca_hash *out);
CA_API uint32_t ca_envelope_flags(const ca_envelope *env);
CA_API void ca_envelope_id(const ca_envelope *env, ca_hash *out);
CA_API void ca_envelope_signature(const ca_envelope *env, ca_signature *out);

/*
 * The body as the sender wrote it: decompressed when compressed (never past
 * opts->max_body_bytes — a zstd bomb is refused without allocating past the
 * cap), opened when sealed (`reader` must then be the recipient's identity,
 * else CA_ERR_SEALED; may be NULL otherwise). A sealed body opens only under
 * the exact header it was sealed for (version, kind, sender, recipient,
 * times, parent, flags; docs/WIRE.md): one re-signed by another sender, moved
 * into another envelope or damaged is CA_ERR_SEAL_MISMATCH. OWNERSHIP RULE
 * for `out`.
 */
CA_API CA_NODISCARD ca_status ca_envelope_body(const ca_envelope *env, const ca_identity *reader,
                                               const ca_envelope_options *opts, uint8_t *out,
                                               size_t out_cap, size_t *out_len);

/* The canonical encoded bytes of the envelope (OWNERSHIP RULE). */
CA_API CA_NODISCARD ca_status ca_envelope_encoded(const ca_envelope *env, uint8_t *out,
                                                  size_t out_cap, size_t *out_len);

/* ---- replay guard ---- */

/*
 * A replay guard remembers the ids of accepted envelopes so that a repeat is
 * refused. Rules, in the order ca_replay_guard_check applies them:
 *
 *   1. ids whose time has passed (until < now) are dropped first;
 *   2. expires_at - created_at > max_lifetime_ms  -> CA_ERR_LIFETIME;
 *      created_at > now + max_skew_ms             -> CA_ERR_NOT_YET_VALID;
 *   3. the id is remembered                       -> CA_ERR_REPLAY;
 *   4. now > expires_at + max_skew_ms             -> CA_ERR_EXPIRED;
 *   5. the sender holds max_per_sender ids        -> CA_ERR_REPLAY_QUOTA;
 *   6. the guard holds `capacity` ids             -> CA_ERR_REPLAY_FULL;
 *   7. else the id is recorded until = expires_at + max_skew_ms: CA_OK.
 *
 * Nothing is recorded on a failure, and the guard never forgets an id early
 * (it refuses rather than evicts), so every id the verifier (same skew and
 * lifetime) still accepts stays a replay. Rule 2 bounds every entry:
 * until <= created_at + max_lifetime_ms + max_skew_ms, i.e. at most
 * max_lifetime_ms + 2 * max_skew_ms after it was recorded.
 *
 * Floods. One sender (one key) holds at most max_per_sender ids, so it can
 * never make the guard refuse another sender's message: the others keep
 * capacity - max_per_sender ids. k made-up senders hold at most
 * k * max_per_sender ids; when they fill the guard, every new id is
 * CA_ERR_REPLAY_FULL until theirs expire, at most max_lifetime_ms +
 * 2 * max_skew_ms after the flood's last message. Ids already recorded stay
 * protected throughout, and the memory never grows. A guard cannot tell
 * made-up keys from real ones: admit senders first (a staked or known agent)
 * where that matters.
 *
 * Cost: O(1) expected table probes (two keyed-SipHash maps, random key per
 * map, at most half full) plus O(log capacity) heap moves per check and per
 * dropped id. Memory is allocated once, at creation: at most
 * CA_REPLAY_GUARD_BYTES_PER_ID bytes per id of capacity (today 124: a 48-byte
 * id record, a 4-byte heap entry, a 40-byte sender record and 2 slots of 8
 * bytes in each map) plus the handle.
 */
typedef struct ca_replay_guard ca_replay_guard;

#define CA_REPLAY_GUARD_OPTIONS_VERSION 1u
#define CA_REPLAY_GUARD_MAX_CAPACITY    268435456u /* 2^28 */
/* A sender's quota when max_per_sender is 0: capacity / CA_REPLAY_GUARD_SENDER_SHARE, at least 1.
 */
#define CA_REPLAY_GUARD_SENDER_SHARE 16u
#define CA_REPLAY_GUARD_BYTES_PER_ID 128u

/* Defaults of ca_replay_guard_options: the verifier's skew and lifetime are the envelope's. */
#define CA_REPLAY_GUARD_CAPACITY_DEFAULT        65536u
#define CA_REPLAY_GUARD_MAX_SKEW_MS_DEFAULT     CA_ENVELOPE_MAX_SKEW_MS_DEFAULT
#define CA_REPLAY_GUARD_MAX_LIFETIME_MS_DEFAULT CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT

typedef struct ca_replay_guard_options {
    unsigned int version; /* CA_REPLAY_GUARD_OPTIONS_VERSION */
    /* Ids remembered at most, 1 .. 2^28; default CA_REPLAY_GUARD_CAPACITY_DEFAULT (65536). */
    size_t capacity;
    /* Ids one sender may hold, 1 .. capacity, or default 0: capacity /
     * CA_REPLAY_GUARD_SENDER_SHARE, at least 1. */
    size_t max_per_sender;
    /* The verifier's skew; default CA_REPLAY_GUARD_MAX_SKEW_MS_DEFAULT (30000). */
    uint64_t max_skew_ms;
    /* The verifier's max lifetime, at least 1; default
     * CA_REPLAY_GUARD_MAX_LIFETIME_MS_DEFAULT (86400000). */
    uint64_t max_lifetime_ms;
} ca_replay_guard_options;

/* Writes each field's default named above. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_replay_guard_options_init(ca_replay_guard_options *opts, unsigned int version);

/*
 * A guard with the given options (NULL: defaults; give it the skew and
 * lifetime passed to ca_envelope_verify). Errors, in order:
 * CA_ERR_INVALID_ARGUMENT (out NULL), CA_ERR_UNSUPPORTED (options version 0
 * or newer than this build), CA_ERR_INVALID_ARGUMENT (capacity 0),
 * CA_ERR_LIMIT (capacity above CA_REPLAY_GUARD_MAX_CAPACITY),
 * CA_ERR_INVALID_ARGUMENT (max_per_sender > capacity, max_lifetime_ms 0),
 * CA_ERR_INIT, CA_ERR_NO_MEMORY.
 */
CA_API CA_NODISCARD ca_status ca_replay_guard_new(ca_replay_guard **out,
                                                  const ca_replay_guard_options *opts);
CA_API void ca_replay_guard_free(ca_replay_guard *guard);

/* Applies the rules above to the envelope's id (the caller verifies the envelope first). */
CA_API CA_NODISCARD ca_status ca_replay_guard_check(ca_replay_guard *guard, const ca_envelope *env,
                                                    uint64_t now);

/* Number of ids currently remembered (0 for NULL). */
CA_API size_t ca_replay_guard_count(const ca_replay_guard *guard);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_ENVELOPE_H */
