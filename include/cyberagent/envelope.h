/*
 * libcyberagent — signed envelopes: one canonical, signed format for every
 * message (task messages, agent cards, ledger operations, application data).
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
#define CA_KIND_LEDGER_MIN   32u /* ledger operations (ledger.h): 32 .. 63 */
#define CA_KIND_LEDGER_MAX   63u
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
 * receives the message id.
 */
CA_API CA_NODISCARD ca_status ca_envelope_sign(const ca_identity *signer,
                                               const ca_envelope_params *params,
                                               const uint8_t *body, size_t body_len, uint8_t *out,
                                               size_t out_cap, size_t *out_len, ca_hash *id_out);

/* ---- decoding and verification ---- */

#define CA_ENVELOPE_OPTIONS_VERSION 1u

typedef struct ca_envelope_options {
    unsigned int version;      /* CA_ENVELOPE_OPTIONS_VERSION */
    size_t max_envelope_bytes; /* encoded size limit; default 1 MiB + 4 KiB */
    size_t max_body_bytes;     /* body size after decompression/unsealing; default 1 MiB */
    uint64_t max_skew_ms;      /* allowed clock difference; default 30 000 */
} ca_envelope_options;

/* Fills the defaults above. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_envelope_options_init(ca_envelope_options *opts, unsigned int version);

typedef struct ca_envelope ca_envelope;

/*
 * Strict decode only (no signature check): canonical encoding, known
 * version, size limits. `opts` may be NULL for defaults.
 */
CA_API CA_NODISCARD ca_status ca_envelope_decode(ca_envelope **out, const uint8_t *data, size_t len,
                                                 const ca_envelope_options *opts);

/*
 * Checks the signature, then time: CA_ERR_NOT_YET_VALID when created_at >
 * now + skew, CA_ERR_EXPIRED when now > expires_at + skew.
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
 * else CA_ERR_SEALED; may be NULL otherwise). OWNERSHIP RULE for `out`.
 */
CA_API CA_NODISCARD ca_status ca_envelope_body(const ca_envelope *env, const ca_identity *reader,
                                               const ca_envelope_options *opts, uint8_t *out,
                                               size_t out_cap, size_t *out_len);

/* The canonical encoded bytes of the envelope (OWNERSHIP RULE). */
CA_API CA_NODISCARD ca_status ca_envelope_encoded(const ca_envelope *env, uint8_t *out,
                                                  size_t out_cap, size_t *out_len);

/* ---- replay guard ---- */

typedef struct ca_replay_guard ca_replay_guard;

/*
 * A guard remembering up to `capacity` message ids, each until its
 * expires_at + max_skew_ms (use the skew given to ca_envelope_verify, so a
 * message the verifier still accepts is never forgotten). Memory is fixed at
 * creation: at most 64 bytes per id of capacity (a 48-byte record plus its
 * hash-table slots). CA_ERR_INVALID_ARGUMENT for capacity 0, CA_ERR_LIMIT
 * above 2^28.
 */
CA_API CA_NODISCARD ca_status ca_replay_guard_new(ca_replay_guard **out, size_t capacity,
                                                  uint64_t max_skew_ms);
CA_API void ca_replay_guard_free(ca_replay_guard *guard);

/*
 * Records the envelope's id until its expires_at + max_skew_ms, after dropping
 * entries that have expired at `now`. CA_ERR_REPLAY when the id is already
 * recorded; CA_ERR_REPLAY_FULL when every slot holds an unexpired id (it
 * refuses rather than forgets); CA_ERR_EXPIRED (nothing recorded) when now is
 * already past expires_at + max_skew_ms, since the verifier rejects it anyway.
 */
CA_API CA_NODISCARD ca_status ca_replay_guard_check(ca_replay_guard *guard, const ca_envelope *env,
                                                    uint64_t now);

/* Number of ids currently remembered. */
CA_API size_t ca_replay_guard_count(const ca_replay_guard *guard);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_ENVELOPE_H */
