/*
 * libcyberagent — key rotation with pre-rotation: key events (inception,
 * rotation), an identity's key history, and the verifier that checks an
 * envelope against that history. Rules, formats and the recovery story:
 * docs/IDENTITY.md, "Key rotation".
 *
 * An identity commits at inception to the digest of its next public key
 * (ca_key_commitment). A rotation reveals exactly that key, is signed by it
 * (by it alone: the key being replaced signs nothing), and commits to the
 * following one. So a thief holding only the current key cannot rotate the
 * identity away, and the owner, who keeps the next key's seed apart, can.
 * The stable identifier of the identity is the digest of its inception
 * event; it never changes, whichever key is current.
 *
 * OWNERSHIP: event encoders write into caller buffers (OWNERSHIP RULE in
 * common.h). A ca_key_history is an opaque handle made by
 * ca_key_history_new and freed by ca_key_history_free; it keeps what it
 * needs of each event (key, time, digest), not the caller's bytes.
 * THREAD SAFETY: functions without a handle are thread-safe. A
 * ca_key_history may be read (accessors, ca_key_history_verify_envelope) by
 * any number of threads at once while no thread appends; appending needs
 * one owner, or a lock.
 */
#ifndef CYBERAGENT_KEYHISTORY_H
#define CYBERAGENT_KEYHISTORY_H

#include "common.h"
#include "envelope.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ca_key_history ca_key_history;

/* Event types (the wire's `type` field). Stable numbers. */
#define CA_KEY_EVENT_INCEPTION 1u
#define CA_KEY_EVENT_ROTATION  2u

/* Most bytes of an encoded key event (an inception is 150 bytes, a rotation 222). */
#define CA_KEY_EVENT_MAX_BYTES 256u
/* Most events a history holds (an inception and 2^20 - 1 rotations). */
#define CA_KEY_HISTORY_MAX_EVENTS 1048576u

CA_API size_t ca_key_event_max_bytes(void);
CA_API size_t ca_key_history_max_events(void);

/*
 * The commitment to a next key: BLAKE2b-256 of "cyberagent/1/next-key" ||
 * the 32-byte public key. Pass it to ca_key_event_incept / _rotate; the key
 * itself stays secret until the rotation that reveals it. CA_ERR_INVALID_ARGUMENT
 * for NULL arguments.
 */
CA_API CA_NODISCARD ca_status ca_key_commitment(const ca_agent_id *next_key, ca_hash *out);

/*
 * Inception event of a new identity: `first` is its first signing key (it
 * signs the event), `next` the commitment to the key of the first rotation,
 * `time` ms since the Unix epoch (the caller's clock). Output under the
 * OWNERSHIP RULE (CA_KEY_EVENT_MAX_BYTES suffice). Errors, in order:
 * CA_ERR_INVALID_ARGUMENT (NULL first, next or out_len),
 * CA_ERR_BUFFER_TOO_SMALL. The identity's stable identifier is the event's
 * digest (ca_key_event_info.digest; ca_key_history_id once a history is
 * made from it).
 */
CA_API CA_NODISCARD ca_status ca_key_event_incept(const ca_identity *first, const ca_hash *next,
                                                  uint64_t time, uint8_t *out, size_t out_cap,
                                                  size_t *out_len);

/*
 * Rotation event that follows `history`'s last event: sequence one more,
 * prior = the last event's digest, identifier = the history's; `revealed` is
 * the key the last event committed to (it signs), `next` the commitment to
 * the following key, `time` the rotation time R (ms; at least the last
 * event's time). Errors, in order: CA_ERR_INVALID_ARGUMENT (NULL arguments),
 * CA_ERR_KEY_NOT_COMMITTED (`revealed` is not the committed key: the
 * current key, or any other, cannot rotate), CA_ERR_KEY_EVENT_ORDER (time
 * before the last event's, a key the history already holds, or
 * CA_KEY_HISTORY_MAX_EVENTS reached), CA_ERR_BUFFER_TOO_SMALL. Does not change the history: append
 * the bytes with ca_key_history_append.
 */
CA_API CA_NODISCARD ca_status ca_key_event_rotate(const ca_key_history *history,
                                                  const ca_identity *revealed, const ca_hash *next,
                                                  uint64_t time, uint8_t *out, size_t out_cap,
                                                  size_t *out_len);

#define CA_KEY_EVENT_INFO_VERSION 1u

/* Filled by ca_key_event_open; the caller sets `version` first. */
typedef struct ca_key_event_info {
    unsigned int version; /* set by the caller: CA_KEY_EVENT_INFO_VERSION */
    uint32_t type;        /* CA_KEY_EVENT_INCEPTION or CA_KEY_EVENT_ROTATION */
    uint64_t sequence;    /* 0 for the inception, n for the n-th rotation */
    ca_hash identifier;   /* the identity's stable id (an inception: its own digest) */
    ca_hash prior;        /* digest of the event before (zero for an inception) */
    ca_agent_id key;      /* the key this event establishes; it signed the event */
    ca_hash next;         /* commitment to the key of the next rotation */
    uint64_t time;        /* ms since the Unix epoch */
    ca_hash digest;       /* BLAKE2b-256 of the signed bytes (docs/IDENTITY.md) */
} ca_key_event_info;

/*
 * Strict decode of one key event and check of its signature by its own
 * `key`: canonical MessagePack with exactly the fields of its type, nothing
 * trailing (CA_ERR_LIMIT for more than CA_KEY_EVENT_MAX_BYTES, else
 * CA_ERR_MALFORMED), then CA_ERR_BAD_SIGNATURE. `out->version` must be
 * set (CA_ERR_UNSUPPORTED when 0 or newer than this build). Whether the event
 * follows a history is ca_key_history_append's question. *out is written
 * only on success.
 */
CA_API CA_NODISCARD ca_status ca_key_event_open(const uint8_t *data, size_t len,
                                                ca_key_event_info *out);

/* ---- key history ---- */

/*
 * A history from an inception event (ca_key_event_open's checks, then
 * CA_ERR_KEY_EVENT_ORDER when it is not an inception). Also
 * CA_ERR_INVALID_ARGUMENT (NULL out or data), CA_ERR_INIT, CA_ERR_NO_MEMORY.
 */
CA_API CA_NODISCARD ca_status ca_key_history_new(ca_key_history **out, const uint8_t *inception,
                                                 size_t len);

/* Releases the history. NULL is a no-op. */
CA_API void ca_key_history_free(ca_key_history *history);

/*
 * Appends the next event, in order; O(1) (no earlier event is looked at but
 * the last). Checks, in order: CA_ERR_INVALID_ARGUMENT (NULL), the
 * ca_key_event_open checks (CA_ERR_LIMIT, CA_ERR_MALFORMED,
 * CA_ERR_BAD_SIGNATURE), then
 * CA_ERR_KEY_EVENT_ORDER (not a rotation, another identifier, sequence not
 * the last + 1, prior not the last event's digest), CA_ERR_KEY_NOT_COMMITTED
 * (the event's key is not the one the last event committed to),
 * CA_ERR_KEY_EVENT_ORDER (time before the last event's, a key the history
 * already holds, or CA_KEY_HISTORY_MAX_EVENTS reached), CA_ERR_NO_MEMORY. A failure leaves the
 * history unchanged.
 */
CA_API CA_NODISCARD ca_status ca_key_history_append(ca_key_history *history, const uint8_t *event,
                                                    size_t len);

/* The stable identifier (the inception's digest). Never fails for a valid handle. */
CA_API void ca_key_history_id(const ca_key_history *history, ca_hash *out);
/* Sequence of the last event (0: never rotated). */
CA_API uint64_t ca_key_history_sequence(const ca_key_history *history);
/* The current key (the last event's). */
CA_API void ca_key_history_current(const ca_key_history *history, ca_agent_id *out);
/* Digest of the last event (a rotation's `prior`). */
CA_API void ca_key_history_last_digest(const ca_key_history *history, ca_hash *out);

#define CA_KEY_INFO_VERSION 1u

/* Filled by ca_key_history_key; the caller sets `version` first. */
typedef struct ca_key_info {
    unsigned int version; /* set by the caller: CA_KEY_INFO_VERSION */
    uint64_t sequence;    /* the event that established the key */
    uint64_t valid_from;  /* that event's time (ms) */
    uint64_t valid_until; /* the next rotation's time R, or UINT64_MAX for the current key */
    uint32_t current;     /* 1 for the current key */
} ca_key_info;

/*
 * Whether and when `key` was the identity's key: the event that established
 * it and its window [valid_from, valid_until). O(1) expected (a keyed hash
 * table, no walk). CA_ERR_NOT_FOUND when the history never held the key;
 * CA_ERR_INVALID_ARGUMENT (NULL), CA_ERR_UNSUPPORTED (out->version 0 or
 * newer than this build) first.
 */
CA_API CA_NODISCARD ca_status ca_key_history_key(const ca_key_history *history,
                                                 const ca_agent_id *key, ca_key_info *out);

/*
 * Checks a signed envelope from the identity against its history. The rule
 * (docs/IDENTITY.md, "From when a rotated-away key signs nothing"): the
 * sender must be a key of the history, established at valid_from and
 * replaced at valid_until = R (UINT64_MAX while current); the envelope is
 * accepted only when
 *
 *     created_at + max_skew_ms >= valid_from   and   expires_at <= valid_until
 *
 * besides everything ca_envelope_verify checks. So after the owner rotates
 * at R, the old key's envelopes are accepted only if their whole lifetime
 * ends by R, and none at all once the verifier's clock passes R +
 * max_skew_ms, whatever created_at a thief writes. Errors, in order:
 * CA_ERR_INVALID_ARGUMENT (NULL history or env), CA_ERR_KEY_UNKNOWN (the
 * sender is no key of the history), then ca_envelope_verify's (options,
 * limits, signature, lifetime, time), then CA_ERR_KEY_ROTATED (outside the
 * key's window). O(1): the current key is compared directly; only an older
 * key is looked up, by one hash-table probe sequence.
 */
CA_API CA_NODISCARD ca_status ca_key_history_verify_envelope(const ca_key_history *history,
                                                             const ca_envelope *env, uint64_t now,
                                                             const ca_envelope_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_KEYHISTORY_H */
