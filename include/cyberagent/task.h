/*
 * libcyberagent — the task hiring protocol: typed message bodies (request,
 * bid, award, result, receipt, cancel, dispute) carried in signed envelopes,
 * the task thread state machine, equivocation evidence and whole-thread
 * serialization. Field-level specification: docs/PROTOCOL.md.
 *
 * A task is a hash-linked thread: the REQUEST's message id is the task id;
 * every later message names the task id in its body and its parent (the
 * message it answers) in the envelope's parent field.
 *
 * OWNERSHIP: builders (ca_task_*_sign, ca_task_*_reply), ca_task_evidence,
 * ca_evidence_encode and ca_task_serialize write into caller buffers
 * (OWNERSHIP RULE in common.h). ca_task_msg, ca_task and ca_evidence are
 * handles freed with their _free function. Views filled by
 * ca_task_msg_<kind>() borrow pointers from the ca_task_msg and are valid
 * while it lives; a ca_task_msg returned by ca_task_message(), ca_task_find()
 * or ca_task_last() is owned by the task and valid while the task lives.
 * THREAD SAFETY: ca_task_msg and ca_evidence are immutable (shareable). A
 * ca_task is not thread-safe: one owner, or a lock; const accessors may run
 * concurrently with each other. Functions without a handle are thread-safe.
 */
#ifndef CYBERAGENT_TASK_H
#define CYBERAGENT_TASK_H

#include "common.h"
#include "delegation.h"
#include "envelope.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (bytes). */
#define CA_TASK_INLINE_MAX 524288u /* inline input/output bytes */
#define CA_TASK_URI_MAX    1024u   /* content URI */
#define CA_TASK_TEXT_MAX   1024u   /* failure message, cancel/dispute reason */
#define CA_TASK_REFS_MAX   16u     /* message ids a dispute relies on: 1 .. 16 */
#define CA_TASK_RATING_MAX 100u    /* receipt rating: 0 .. 100 */
/* Most non-bid messages a valid thread holds: the request, the award, the
 * result or a cancel, the receipt and one dispute per party. */
#define CA_TASK_NONBID_MAX 6u

CA_API size_t ca_task_inline_max(void);
CA_API size_t ca_task_uri_max(void);
CA_API size_t ca_task_text_max(void);
CA_API size_t ca_task_refs_max(void);

/*
 * The structs below follow the STRUCT RULE of common.h: the caller sets
 * `version` to the struct's *_VERSION macro, both when it passes one to a
 * builder and before a typed view (ca_task_msg_<kind>) fills one. A builder
 * checks the body's version (and its content's) before anything else of the
 * body: 0 or a version newer than this build is CA_ERR_UNSUPPORTED.
 */
#define CA_TASK_CONTENT_VERSION 1u
#define CA_TASK_REQUEST_VERSION 2u /* 2 appended the delegation chain */
#define CA_TASK_BID_VERSION     2u /* 2 appended the delegation chain */
#define CA_TASK_AWARD_VERSION   1u
#define CA_TASK_RESULT_VERSION  1u
#define CA_TASK_RECEIPT_VERSION 1u
#define CA_TASK_CANCEL_VERSION  1u
#define CA_TASK_DISPUTE_VERSION 1u

/*
 * Content: inline bytes, or a BLAKE2b-256 content hash plus a URI where the
 * bytes can be fetched. `uri` NULL selects inline (data may be empty). A
 * body refers to its content by pointer, so that either can grow alone.
 */
typedef struct ca_task_content {
    unsigned int version; /* CA_TASK_CONTENT_VERSION */
    const uint8_t *data;  /* inline bytes (uri == NULL) */
    size_t data_len;      /* 0 .. CA_TASK_INLINE_MAX */
    const char *uri;      /* NUL-terminated UTF-8, 1 .. CA_TASK_URI_MAX bytes, or NULL */
    ca_hash hash;         /* hash of the content behind `uri` */
} ca_task_content;

/*
 * Typed bodies. As builder input, pointers are borrowed for the call; as
 * parser output (ca_task_msg_<kind>), they point into the ca_task_msg (a
 * content pointer too: the ca_task_content it points to is the message's,
 * of this build's CA_TASK_CONTENT_VERSION, which only ever appends fields).
 * Times are ms since the Unix epoch; amounts are integer base units.
 */

/* REQUEST (CA_KIND_TASK_REQUEST): no parent; its message id is the task id. */
typedef struct ca_task_request {
    unsigned int version;         /* CA_TASK_REQUEST_VERSION */
    const char *capability;       /* capability name (card.h grammar) */
    const ca_task_content *input; /* NULL: no bytes (empty inline input) */
    uint64_t max_price;           /* the most the requester pays */
    uint64_t deadline;            /* the result is due by then; > created_at */
    uint64_t collateral;          /* collateral the worker must lock */
    /* Direct hire: only `recipient` may bid. Carried as the envelope's
     * recipient. Builder: set in ca_envelope_params.recipient. Parser: filled. */
    int has_recipient;
    ca_agent_id recipient;
    /* Version 2. The delegation chain under which the sender posts the task for
     * another agent (DELEGATED SIDES below); NULL / 0: the sender posts for
     * itself. */
    const ca_delegation *const *delegation;
    size_t delegation_count;
} ca_task_request;

/* BID (CA_KIND_TASK_BID): parent = the task id. */
typedef struct ca_task_bid {
    unsigned int version; /* CA_TASK_BID_VERSION */
    ca_hash task;
    uint64_t price;      /* <= request max_price */
    uint64_t completion; /* promised completion time; <= request deadline */
    uint64_t collateral; /* >= request collateral */
    /* Version 2. The delegation chain under which the sender bids for another
     * agent (DELEGATED SIDES below); NULL / 0: the sender bids for itself. */
    const ca_delegation *const *delegation;
    size_t delegation_count;
} ca_task_bid;

/*
 * DELEGATED SIDES. A REQUEST or a BID may carry a delegation chain
 * (delegation.h): its links, root first, 1 .. CA_DELEGATION_MAX_DEPTH of
 * them, whose leaf's audience is the message's sender (the delegate), who
 * then acts for the chain's delegator (the root's issuer): the delegator's
 * account pays a delegated request's escrow, and its stake and reputation
 * stand behind a delegated bid. As builder input, `delegation` points to
 * `delegation_count` handles (ca_delegation_decode / _open; borrowed for the
 * call) whose encoded bytes go into the body; a builder checks only that each
 * pointer is set and the count is 0 .. CA_DELEGATION_MAX_DEPTH
 * (CA_ERR_INVALID_ARGUMENT / CA_ERR_LIMIT). A parser fills them with the
 * message's own decoded links (valid while the ca_task_msg lives); each link
 * is decoded strictly (ca_delegation_decode: its statuses) but its signature
 * is the thread's to check. A version-1 struct has no chain.
 *
 * A thread (ca_task_apply) accepts a delegated REQUEST or BID only when, in
 * this order, after the message's other rules:
 *   the chain verifies at the message's created_at with the thread's
 *     revocations (ca_delegation_chain_verify: its statuses, in its order);
 *   the leaf's audience is the sender             -> CA_ERR_DELEGATION_AUDIENCE
 *   the leaf grants the request's capability      -> CA_ERR_DELEGATION_CAPABILITY
 *   the money fits the leaf's task_cap: a request's max_price, a bid's
 *     collateral (what the delegate locks)        -> CA_ERR_DELEGATION_TASK_CAP
 *   a bid acts for another agent than the request does (the requester's
 *     delegator may not bid through a delegate)   -> CA_ERR_TASK_FORBIDDEN
 * The side's later messages (the requester's AWARD, RECEIPT, CANCEL and
 * DISPUTE; the awarded worker's RESULT and DISPUTE) come from the same
 * delegate (the thread's sender rules) and stay under the same chain: each is
 * refused with the status of ca_delegation_chain_verify of that chain at its
 * created_at (CA_ERR_EXPIRED, CA_ERR_DELEGATION_REVOKED, ...). So is an
 * AWARD of a delegated bid whose chain no longer holds at the award's time.
 * The spending caps over many tasks (total_cap) are the ledger's to count.
 */

/* AWARD (CA_KIND_TASK_AWARD): parent = the chosen bid; sets the escrow terms. */
typedef struct ca_task_award {
    unsigned int version; /* CA_TASK_AWARD_VERSION */
    ca_hash task;
    ca_hash bid;         /* message id of the chosen bid (= envelope parent) */
    ca_agent_id worker;  /* the bid's sender */
    uint64_t price;      /* = bid price: payment the requester locks */
    uint64_t collateral; /* = bid collateral: what the worker locks */
    uint64_t deadline;   /* result due; bid completion <= deadline <= request deadline */
} ca_task_award;

/* RESULT (CA_KIND_TASK_RESULT): parent = the award. Output or failure report. */
typedef struct ca_task_result {
    unsigned int version; /* CA_TASK_RESULT_VERSION */
    ca_hash task;
    ca_hash award; /* = envelope parent */
    int failed;    /* 0: `output` holds the output; 1: a failure report */
    /* When !failed (NULL: no bytes, an empty inline output); NULL in a parsed
     * failure report. */
    const ca_task_content *output;
    uint64_t failure_code; /* application-defined, when failed */
    /* NUL-terminated UTF-8, 0 .. CA_TASK_TEXT_MAX bytes (NULL as input = "") */
    const char *failure_message;
} ca_task_result;

/* RECEIPT (CA_KIND_TASK_RECEIPT): parent = the result. Settles and rates. */
typedef struct ca_task_receipt {
    unsigned int version; /* CA_TASK_RECEIPT_VERSION */
    ca_hash task;
    ca_hash award;      /* the award this receipt settles */
    ca_hash result;     /* = envelope parent */
    ca_agent_id worker; /* the awarded worker (who is rated) */
    int accept;         /* 1 accept, 0 reject */
    uint32_t rating;    /* 0 .. 100 */
    uint64_t paid;      /* amount paid; <= award price */
} ca_task_receipt;

/* CANCEL (CA_KIND_TASK_CANCEL): parent = the task id (before an award) or the
 * award (after its deadline passed without a result). */
typedef struct ca_task_cancel {
    unsigned int version; /* CA_TASK_CANCEL_VERSION */
    ca_hash task;
    const char *reason; /* NUL-terminated UTF-8, 0 .. CA_TASK_TEXT_MAX bytes (NULL as input = "") */
} ca_task_cancel;

/* DISPUTE (CA_KIND_TASK_DISPUTE): parent = any message of the thread. */
typedef struct ca_task_dispute {
    unsigned int version; /* CA_TASK_DISPUTE_VERSION */
    ca_hash task;
    const char *reason;  /* NUL-terminated UTF-8, 1 .. CA_TASK_TEXT_MAX bytes */
    const ca_hash *refs; /* message ids the dispute relies on, distinct */
    size_t ref_count;    /* 1 .. CA_TASK_REFS_MAX (else CA_ERR_LIMIT) */
} ca_task_dispute;

/*
 * Builders: validate the body, encode it canonically and sign it in an
 * envelope. After the NULL arguments, the body's version (then its
 * content's, when it has one) is checked first: CA_ERR_UNSUPPORTED. `env` gives created_at,
 * expires_at, flags, recipient and parent; its `kind` must be 0 or the builder's kind (else
 * CA_ERR_WRONG_KIND: the builder sets the kind). When env->parent is NULL the builder uses the
 * parent the body implies (bid: task; award: bid; result: award; receipt:
 * result; cancel: task); when given it must match that
 * (CA_ERR_INVALID_ARGUMENT). Dispute needs an explicit parent. Output under
 * the OWNERSHIP RULE; `id_out` (optional) receives the message id.
 * Task messages should not be sealed: a sealed thread cannot be audited.
 * To answer a message of the thread, the replies below fill in what it
 * already holds.
 */
CA_API CA_NODISCARD ca_status ca_task_request_sign(const ca_identity *signer,
                                                   const ca_envelope_params *env,
                                                   const ca_task_request *body, uint8_t *out,
                                                   size_t out_cap, size_t *out_len,
                                                   ca_hash *id_out);
CA_API CA_NODISCARD ca_status ca_task_bid_sign(const ca_identity *signer,
                                               const ca_envelope_params *env,
                                               const ca_task_bid *body, uint8_t *out,
                                               size_t out_cap, size_t *out_len, ca_hash *id_out);
CA_API CA_NODISCARD ca_status ca_task_award_sign(const ca_identity *signer,
                                                 const ca_envelope_params *env,
                                                 const ca_task_award *body, uint8_t *out,
                                                 size_t out_cap, size_t *out_len, ca_hash *id_out);
CA_API CA_NODISCARD ca_status ca_task_result_sign(const ca_identity *signer,
                                                  const ca_envelope_params *env,
                                                  const ca_task_result *body, uint8_t *out,
                                                  size_t out_cap, size_t *out_len, ca_hash *id_out);
CA_API CA_NODISCARD ca_status ca_task_receipt_sign(const ca_identity *signer,
                                                   const ca_envelope_params *env,
                                                   const ca_task_receipt *body, uint8_t *out,
                                                   size_t out_cap, size_t *out_len,
                                                   ca_hash *id_out);
CA_API CA_NODISCARD ca_status ca_task_cancel_sign(const ca_identity *signer,
                                                  const ca_envelope_params *env,
                                                  const ca_task_cancel *body, uint8_t *out,
                                                  size_t out_cap, size_t *out_len, ca_hash *id_out);
CA_API CA_NODISCARD ca_status ca_task_dispute_sign(const ca_identity *signer,
                                                   const ca_envelope_params *env,
                                                   const ca_task_dispute *body, uint8_t *out,
                                                   size_t out_cap, size_t *out_len,
                                                   ca_hash *id_out);

/* ---- parsed messages ---- */

typedef struct ca_task_msg ca_task_msg;

/*
 * Replies: sign the message that answers `to` from what `to` already holds,
 * so the caller passes only what it decides. A reply takes the task id from
 * `to`, its parent is to's message id and its envelope recipient is to's
 * sender (who the reply is for); the kind is the reply's. `to` is a parsed
 * message (ca_task_msg_parse) or one of a thread's (ca_task_last,
 * ca_task_find). `env` gives created_at, expires_at and flags only.
 * Checks, in this order: NULL signer, env, to or out_len
 * (CA_ERR_INVALID_ARGUMENT); `to` of another kind than the one the reply
 * answers (CA_ERR_WRONG_KIND); env->kind neither 0 nor the reply's kind
 * (CA_ERR_WRONG_KIND); env->parent or env->recipient set
 * (CA_ERR_INVALID_ARGUMENT: a reply takes both from `to`); then the body
 * checks and statuses of the kind's ca_task_<kind>_sign. Output under the
 * OWNERSHIP RULE; `id_out` (optional) receives the message id. A reply
 * checks the message, not the protocol: who may send it, prices and
 * deadlines are judged by the thread that applies it (ca_task_apply).
 */

/* BID on a REQUEST: `price` and `completion` are the bidder's; the collateral
 * offered is the one the request asks for. */
CA_API CA_NODISCARD ca_status ca_task_bid_reply(const ca_identity *signer,
                                                const ca_envelope_params *env,
                                                const ca_task_msg *request, uint64_t price,
                                                uint64_t completion, uint8_t *out, size_t out_cap,
                                                size_t *out_len, ca_hash *id_out);
/* AWARD of a BID: worker = the bid's sender, price and collateral = the
 * bid's; `deadline` is when the result is due, 0 for the bid's completion
 * time. */
CA_API CA_NODISCARD ca_status ca_task_award_reply(const ca_identity *signer,
                                                  const ca_envelope_params *env,
                                                  const ca_task_msg *bid, uint64_t deadline,
                                                  uint8_t *out, size_t out_cap, size_t *out_len,
                                                  ca_hash *id_out);
/* RESULT answering an AWARD with `output` (inline bytes or hash + URI, the
 * rules of ca_task_result.output, its version set; NULL is
 * CA_ERR_INVALID_ARGUMENT). A failure
 * report is signed with ca_task_result_sign. */
CA_API CA_NODISCARD ca_status ca_task_result_reply(
    const ca_identity *signer, const ca_envelope_params *env, const ca_task_msg *award,
    const ca_task_content *output, uint8_t *out, size_t out_cap, size_t *out_len, ca_hash *id_out);
/* RECEIPT settling a RESULT: award = the one the result answers, worker = the
 * result's sender; `accept` (non-zero accepts), `rating` (0 ..
 * CA_TASK_RATING_MAX, else CA_ERR_INVALID_ARGUMENT) and `paid` (at most the
 * award price, which the thread checks) are the requester's. */
CA_API CA_NODISCARD ca_status ca_task_receipt_reply(
    const ca_identity *signer, const ca_envelope_params *env, const ca_task_msg *result, int accept,
    uint32_t rating, uint64_t paid, uint8_t *out, size_t out_cap, size_t *out_len, ca_hash *id_out);

/*
 * Strict parser of a task message from an envelope the caller has verified:
 * a task kind (else CA_ERR_WRONG_KIND), canonical body within the limits
 * (else CA_ERR_MALFORMED / CA_ERR_BAD_CAPABILITY), envelope parent as the
 * kind requires (absent for a request, present otherwise, and equal to the
 * body's bid / award / result link). `reader` opens sealed bodies (may be
 * NULL). The handle keeps a copy of the encoded envelope.
 */
CA_API CA_NODISCARD ca_status ca_task_msg_parse(ca_task_msg **out, const ca_envelope *env,
                                                const ca_identity *reader);
/*
 * What the reader of a task message's bytes does, in one call: strict decode
 * and verification at `now` (ca_envelope_open: its statuses, in its order),
 * then ca_task_msg_parse without a reader (a sealed body is CA_ERR_SEALED:
 * open it with ca_envelope_open + ca_task_msg_parse). `opts` (NULL for the
 * defaults) gives the envelope limits, the body cap and the clock skew. *out
 * is NULL on failure.
 */
CA_API CA_NODISCARD ca_status ca_task_msg_open(ca_task_msg **out, const uint8_t *data, size_t len,
                                               uint64_t now, const ca_envelope_options *opts);
CA_API void ca_task_msg_free(ca_task_msg *msg);

CA_API uint32_t ca_task_msg_kind(const ca_task_msg *msg);
CA_API void ca_task_msg_id(const ca_task_msg *msg, ca_hash *out);
CA_API void ca_task_msg_sender(const ca_task_msg *msg, ca_agent_id *out);
CA_API uint64_t ca_task_msg_created_at(const ca_task_msg *msg);
/* The task id: the body's task field, or the message's own id for a request. */
CA_API void ca_task_msg_task_id(const ca_task_msg *msg, ca_hash *out);
/* 1 and *out filled when the message has a parent (every kind but request). */
CA_API int ca_task_msg_parent(const ca_task_msg *msg, ca_hash *out);
/*
 * Whom the message acts for: 1 and *out = the delegator (the root's issuer)
 * of the delegation chain a REQUEST or BID carries; else 0 and *out = the
 * sender (also for every other kind). The chain as carried: a thread
 * verified it when it accepted the message (DELEGATED SIDES). `out` may be
 * NULL; 0 for a NULL msg (out untouched).
 */
CA_API int ca_task_msg_delegator(const ca_task_msg *msg, ca_agent_id *out);
/* The encoded, signed envelope (OWNERSHIP RULE). */
CA_API CA_NODISCARD ca_status ca_task_msg_encoded(const ca_task_msg *msg, uint8_t *out,
                                                  size_t out_cap, size_t *out_len);

/* Typed views. The caller sets out->version first (STRUCT RULE); checks, in
 * this order: a NULL argument (CA_ERR_INVALID_ARGUMENT), the version
 * (CA_ERR_UNSUPPORTED), CA_ERR_WRONG_KIND when the message is of another
 * kind. The fields of that version are filled. */
CA_API ca_status ca_task_msg_request(const ca_task_msg *msg, ca_task_request *out);
CA_API ca_status ca_task_msg_bid(const ca_task_msg *msg, ca_task_bid *out);
CA_API ca_status ca_task_msg_award(const ca_task_msg *msg, ca_task_award *out);
CA_API ca_status ca_task_msg_result(const ca_task_msg *msg, ca_task_result *out);
CA_API ca_status ca_task_msg_receipt(const ca_task_msg *msg, ca_task_receipt *out);
CA_API ca_status ca_task_msg_cancel(const ca_task_msg *msg, ca_task_cancel *out);
CA_API ca_status ca_task_msg_dispute(const ca_task_msg *msg, ca_task_dispute *out);

/* ---- the task thread state machine ---- */

/* States, one to one with A2A task states. Values are stable. */
typedef enum ca_task_state {
    CA_TASK_SUBMITTED = 1,      /* request accepted, collecting bids */
    CA_TASK_WORKING = 2,        /* awarded, result pending */
    CA_TASK_INPUT_REQUIRED = 3, /* result delivered, the requester's receipt pending */
    CA_TASK_COMPLETED = 4,      /* receipt accepted an output */
    CA_TASK_FAILED = 5,         /* receipt closed a failure report */
    CA_TASK_CANCELED = 6,       /* canceled by the requester */
    CA_TASK_REJECTED = 7        /* receipt rejected the output */
} ca_task_state;

/* A2A name of a state ("submitted", "working", "input-required", ...), or "unknown". */
CA_API const char *ca_task_state_name(ca_task_state state);

/*
 * Version 2 appended max_bids, version 3 revocations. An older struct
 * (without them) is still accepted and gets their defaults.
 */
#define CA_TASK_OPTIONS_VERSION 3u

/* Defaults of ca_task_options (what ca_task_options_init writes); the
 * envelope limits are the envelope's defaults. */
#define CA_TASK_MAX_MESSAGES_DEFAULT       1024u
#define CA_TASK_MAX_ENVELOPE_BYTES_DEFAULT CA_ENVELOPE_MAX_ENVELOPE_BYTES_DEFAULT
#define CA_TASK_MAX_BODY_BYTES_DEFAULT     CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT
#define CA_TASK_MAX_SKEW_MS_DEFAULT        CA_ENVELOPE_MAX_SKEW_MS_DEFAULT
#define CA_TASK_MAX_BIDS_DEFAULT           1000u

/*
 * Bounds. Bids are the only messages anyone can send in any number (each
 * from its own made-up bidder), so only bids are bounded by a count: a bid
 * from a new bidder that passes every rule is refused with CA_ERR_LIMIT (that
 * bid only; the thread is unchanged) once the thread holds max_bids bids, or
 * max_messages - CA_TASK_NONBID_MAX bids.
 * Every other message is bounded by the protocol itself (at most
 * CA_TASK_NONBID_MAX of them in a thread) and is never refused for a limit:
 * the requester's and the awarded worker's messages always fit, whatever the
 * bidders sent. So a thread holds at most min(max_messages, max_bids +
 * CA_TASK_NONBID_MAX) messages.
 */
typedef struct ca_task_options {
    unsigned int version; /* CA_TASK_OPTIONS_VERSION */
    /* Messages a thread may hold, all kinds; default CA_TASK_MAX_MESSAGES_DEFAULT (1024);
     * at least CA_TASK_NONBID_MAX + 1 (else CA_ERR_INVALID_ARGUMENT). Also the
     * most messages ca_task_deserialize reads. */
    size_t max_messages;
    /* Envelope limits and clock skew used to verify each message; defaults
     * CA_TASK_MAX_ENVELOPE_BYTES_DEFAULT (1052672), CA_TASK_MAX_BODY_BYTES_DEFAULT
     * (1048576) and CA_TASK_MAX_SKEW_MS_DEFAULT (30000), those of ca_envelope_options.
     * The lifetime cap is not an option here: every message is verified with
     * max_lifetime_ms CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT. */
    size_t max_envelope_bytes;
    size_t max_body_bytes;
    uint64_t max_skew_ms;
    /* Version 2. Bids a thread accepts; default CA_TASK_MAX_BIDS_DEFAULT (1000); at least 1. */
    size_t max_bids;
    /* Version 3. Revocations the thread honours (delegation.h), borrowed: the set must
     * outlive the thread, and the caller may add to it at any time (not during a call
     * on the thread). A message of a delegated side is refused with
     * CA_ERR_DELEGATION_REVOKED from the first apply after the set holds a revocation
     * of a link of its chain by the issuer of that link or of one above it
     * (DELEGATED SIDES); messages accepted before stay, and ca_task_side reports the
     * side revoked. Audit mode (ca_task_deserialize, evidence) judges without
     * revocations; the deserialized thread honours them from then on. Default NULL:
     * none. */
    const ca_revocation_set *revocations;
} ca_task_options;

/* Fills the defaults of the fields `version` has (1, 2 or 3). CA_ERR_UNSUPPORTED
 * for an unknown version. */
CA_API ca_status ca_task_options_init(ca_task_options *opts, unsigned int version);

typedef struct ca_task ca_task;

/*
 * New thread from its REQUEST. Checks, in this order: the arguments and
 * options (CA_ERR_INVALID_ARGUMENT, CA_ERR_UNSUPPORTED), the kind
 * (CA_ERR_WRONG_KIND unless a request), the envelope (ca_envelope_verify at
 * `now`: its statuses), the body (ca_task_msg_parse), then deadline >
 * created_at (else CA_ERR_TASK_DEADLINE). `opts` may be NULL. The handle
 * keeps its own copies.
 */
CA_API CA_NODISCARD ca_status ca_task_new(ca_task **out, const ca_envelope *request, uint64_t now,
                                          const ca_task_options *opts);
/* Decode (with the envelope limits of `opts`) + ca_task_new. */
CA_API CA_NODISCARD ca_status ca_task_new_bytes(ca_task **out, const uint8_t *data, size_t len,
                                                uint64_t now, const ca_task_options *opts);
CA_API void ca_task_free(ca_task *task);

/*
 * Verifies `env` (signature and time at `now`), parses it and applies the
 * protocol rules (docs/PROTOCOL.md). On success the message joins the thread
 * and the state may change; on failure nothing changes and the status says
 * why: CA_ERR_TASK_DUPLICATE, _MISMATCH, _FORBIDDEN, _EQUIVOCATION,
 * _UNKNOWN_PARENT, _ORDER, _TIMESTAMP, _DEADLINE, _TERMS, CA_ERR_LIMIT (a bid
 * beyond the bid bound, see ca_task_options; never another kind), or an
 * envelope / parse status. Cost per message: one signature check, one parse,
 * and O(1) expected lookups (keyed hash tables over message ids and bidders),
 * whatever the thread holds.
 */
CA_API CA_NODISCARD ca_status ca_task_apply(ca_task *task, const ca_envelope *env, uint64_t now);
/* Decode + ca_task_apply. */
CA_API CA_NODISCARD ca_status ca_task_apply_bytes(ca_task *task, const uint8_t *data, size_t len,
                                                  uint64_t now);

CA_API ca_task_state ca_task_get_state(const ca_task *task);
CA_API void ca_task_id(const ca_task *task, ca_hash *out); /* = the request's message id */
CA_API void ca_task_requester(const ca_task *task, ca_agent_id *out);
/*
 * The latest accepted message of `kind` (CA_KIND_TASK_REQUEST ..
 * CA_KIND_TASK_DISPUTE), or NULL when the thread holds none, `kind` is not a
 * task kind or `task` is NULL. A thread accepts one request, at most one
 * award, result, receipt and cancel, one bid per bidder and one dispute per
 * party: for every kind but BID and DISPUTE this is the message of that kind,
 * for those two the one accepted last. O(1).
 */
CA_API const ca_task_msg *ca_task_last(const ca_task *task, uint32_t kind);
/* Number of accepted bids. */
CA_API size_t ca_task_bid_count(const ca_task *task);

/* The two parties of an awarded task. Values are stable. */
typedef enum ca_task_party {
    CA_TASK_PARTY_REQUESTER = 0, /* the request's sender */
    CA_TASK_PARTY_WORKER = 1     /* the awarded worker */
} ca_task_party;

/* 1 when `party` has disputed, else 0 (also for a NULL task or a value
 * outside ca_task_party). */
CA_API int ca_task_disputed(const ca_task *task, ca_task_party party);

#define CA_TASK_SIDE_INFO_VERSION 1u

/* Who a side of the thread is and whom it acts for (DELEGATED SIDES); filled by
 * ca_task_side, the caller sets `version` first (STRUCT RULE). */
typedef struct ca_task_side_info {
    unsigned int version;  /* set by the caller: CA_TASK_SIDE_INFO_VERSION */
    ca_agent_id agent;     /* who signs the side's messages: the requester, the awarded worker */
    ca_agent_id principal; /* whom it acts for: the chain's delegator, else = agent. Its
                              account pays (requester) or locks the collateral (worker), its
                              stake and reputation stand behind the side */
    uint32_t delegated;    /* 1 when the side acts under a delegation chain, else 0 */
    uint32_t revoked;      /* 1 when the thread's revocations revoke a link of that chain */
    size_t depth;          /* links of the chain; 0 when not delegated */
    ca_hash root;          /* the chain's root id; all zero when not delegated */
    ca_hash leaf;          /* the chain's leaf id; all zero when not delegated */
    uint64_t task_cap;     /* the leaf's per-task cap; 0 when not delegated */
    uint64_t expires_at;   /* the chain's expiry (the leaf's); 0 when not delegated */
} ca_task_side_info;

/*
 * Fills `out` for `party`: the requester's side (its REQUEST's chain) or the
 * awarded worker's (the chain of the bid the AWARD chose). Checks, in this
 * order: a NULL argument (CA_ERR_INVALID_ARGUMENT), out->version
 * (CA_ERR_UNSUPPORTED), a party outside ca_task_party
 * (CA_ERR_INVALID_ARGUMENT), CA_ERR_NOT_FOUND for the worker before an award.
 * `revoked` is looked up now in the options' revocation set: (d(d + 1)) / 2
 * lookups for a chain of depth d. A bid's principal before an award:
 * ca_task_msg_delegator.
 */
CA_API ca_status ca_task_side(const ca_task *task, ca_task_party party, ca_task_side_info *out);

/* Accepted messages, in acceptance order (0 is the request). */
CA_API size_t ca_task_message_count(const ca_task *task);
CA_API const ca_task_msg *ca_task_message(const ca_task *task, size_t index);
/* Lookup by message id, O(1) expected; NULL when not in the thread. */
CA_API const ca_task_msg *ca_task_find(const ca_task *task, const ca_hash *id);

/*
 * Order-independent digest of the thread: BLAKE2b-256 over the state, the
 * dispute flags and the sorted ids of the accepted messages. Two nodes that
 * accepted the same messages (in any order) have the same digest.
 * CA_ERR_INVALID_ARGUMENT for a NULL argument; CA_ERR_NO_MEMORY when the
 * copy of the ids it sorts (32 bytes a message) cannot be allocated. *out is
 * written only on success.
 */
CA_API CA_NODISCARD ca_status ca_task_digest(const ca_task *task, ca_hash *out);

/*
 * After ca_task_apply returned CA_ERR_TASK_EQUIVOCATION for `env`: writes the
 * evidence (the request, the accepted message and `env`, each with the
 * messages it answers, taken from the thread) under the OWNERSHIP RULE.
 * CA_ERR_NOT_FOUND when the thread holds no other message of env's kind from
 * env's sender (or lacks a message env answers); CA_ERR_BAD_EVIDENCE when
 * the pair proves nothing (env breaks a rule, or has the same body).
 */
CA_API CA_NODISCARD ca_status ca_task_evidence(const ca_task *task, const ca_envelope *env,
                                               uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Whole thread as bytes (canonical: version and the signed envelopes in
 * acceptance order), under the OWNERSHIP RULE.
 */
CA_API CA_NODISCARD ca_status ca_task_serialize(const ca_task *task, uint8_t *out, size_t out_cap,
                                                size_t *out_len);

/*
 * Rebuilds a thread from ca_task_serialize bytes, re-verifying every
 * envelope and re-applying every rule in audit mode: each message is
 * checked at its own created_at instead of a wall clock, so a thread can be
 * audited long after its deadlines. Any failure fails the whole call (the
 * sentence names the message index). `opts` may be NULL.
 */
CA_API CA_NODISCARD ca_status ca_task_deserialize(ca_task **out, const uint8_t *data, size_t len,
                                                  const ca_task_options *opts);

/* ---- equivocation evidence ---- */

/*
 * Evidence that one agent made two conflicting statements in one task: two
 * messages of one kind, signed by one agent, each of which a task thread
 * accepts, with different bodies. Per kind:
 *  - BID: two bids of one bidder for one task, each accepted by a thread
 *    holding only the request (terms, times, direct-hire recipient all
 *    within the rules), with different terms (price, completion, collateral).
 *  - AWARD: two awards of the requester, each accepted by a thread holding
 *    the request and the bid it chooses, with different bodies (another bid,
 *    or another deadline).
 *  - RESULT: two results of the awarded worker answering the same award,
 *    each accepted by a thread holding the request, the bid and that award,
 *    with different bodies (another output or failure report).
 * A message a thread refuses (bad terms, too late, wrong sender, unknown
 * parent, ...) proves nothing, so a refused bid followed by a corrected one
 * is not equivocation. Neither is the same body signed twice (a new envelope
 * for a message that expired on the way): equal bodies are one statement.
 * Each side is checked by a real ca_task in audit mode (every message at its
 * own created_at, as ca_task_deserialize does), so the evidence rules are
 * the thread's rules.
 *
 * Self-contained: the evidence carries the request and, per side, the
 * messages from the bid to the offending one; anyone verifies it offline.
 * Size: at most the request plus twice (bid + award + result) envelopes; with
 * task bodies bounded by CA_TASK_INLINE_MAX this stays under 1.6 MiB, inside
 * the ledger's CA_LEDGER_EVIDENCE_MAX_BYTES (2 MiB).
 */
typedef struct ca_evidence ca_evidence;

/*
 * Builds evidence from the request, the two offending envelopes `a` and `b`
 * (any order) and `context`: envelopes the sides answer (for an award its
 * bid; for a result the award and its bid). `context` may hold more (a whole
 * thread, say; extra entries are ignored) and may be NULL when
 * context_count is 0. Each side's messages are found by following envelope
 * parents from the side to the request. Verified as ca_evidence_open does;
 * any failure is CA_ERR_BAD_EVIDENCE (a sentence names the side, the message
 * and the thread's refusal status), CA_ERR_INVALID_ARGUMENT for NULL
 * arguments. Output under the OWNERSHIP RULE.
 */
CA_API CA_NODISCARD ca_status ca_evidence_encode(const ca_envelope *request,
                                                 const ca_envelope *const *context,
                                                 size_t context_count, const ca_envelope *a,
                                                 const ca_envelope *b, uint8_t *out, size_t out_cap,
                                                 size_t *out_len);

/*
 * Strict decode + full verification: canonical encoding, each side accepted
 * by a task thread (signatures, times, rules), one signer, a conflict as
 * defined above, sides in ascending order of the offending message ids.
 * Independent of the wall clock. CA_ERR_MALFORMED or CA_ERR_BAD_EVIDENCE on
 * failure.
 */
CA_API CA_NODISCARD ca_status ca_evidence_open(ca_evidence **out, const uint8_t *data, size_t len);
CA_API void ca_evidence_free(ca_evidence *ev);
CA_API void ca_evidence_offender(const ca_evidence *ev, ca_agent_id *out);
CA_API void ca_evidence_task(const ca_evidence *ev, ca_hash *out); /* the request's id */
CA_API uint32_t ca_evidence_kind(const ca_evidence *ev);
/* The two message ids, ascending (index 0 or 1). */
CA_API void ca_evidence_message(const ca_evidence *ev, int index, ca_hash *out);
/* Unique id of this evidence: BLAKE2b-256 of its canonical bytes ("evidence works once"). */
CA_API void ca_evidence_hash(const ca_evidence *ev, ca_hash *out);

/*
 * Offense key: BLAKE2b-256 of "cyberagent/1/offense" || offender || task id
 * || kind (LE32). Every pair of conflicting messages of one agent, task and
 * kind has the same key (while each pair has its own evidence hash), so a
 * ledger keyed on it punishes one offense once, however many pairs exist.
 */
CA_API void ca_evidence_offense(const ca_evidence *ev, ca_hash *out);

/*
 * The task's deadline: the deadline of the request the evidence carries. A
 * thread accepts no bid, award or result created after it, so every message
 * of the offense is dated at or before it, and every pair proving one offense
 * (one offense key, one request) gives the same value. The ledger counts its
 * evidence window from it (SLASH `deadline`, ledger.h). 0 for NULL.
 */
CA_API uint64_t ca_evidence_deadline(const ca_evidence *ev);

/* One call: open, copy out the fields (each out pointer optional), free. */
CA_API CA_NODISCARD ca_status ca_evidence_verify(const uint8_t *data, size_t len,
                                                 ca_agent_id *offender, ca_hash *task,
                                                 uint32_t *kind, ca_hash *evidence_hash);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_TASK_H */
