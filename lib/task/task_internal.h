/* Task protocol internals: body codec (shared with tests and fuzz targets), message handle. */
#ifndef CYBERAGENT_TASK_INTERNAL_H
#define CYBERAGENT_TASK_INTERNAL_H

#include <stdbool.h>

#include "cyberagent/task.h"

/* Bytes borrowed from elsewhere. */
typedef struct cai_span {
    const uint8_t *p;
    size_t n;
} cai_span;

/* Most bytes of one encoded delegation link in a task body (a delegation
 * envelope is at most ca_envelope_bound(1200) bytes, well below). */
#define CAI_TASK_DELEGATION_LINK_MAX 2048u

/*
 * A decoded body: the public struct of its kind, with zero-copy pointers
 * into the body bytes. Strings are NOT NUL-terminated here: their lengths
 * are in text_len / uri_len. Dispute refs are copied into `refs`.
 */
typedef struct cai_task_body {
    uint32_t kind;
    union {
        ca_task_request request;
        ca_task_bid bid;
        ca_task_award award;
        ca_task_result result;
        ca_task_receipt receipt;
        ca_task_cancel cancel;
        ca_task_dispute dispute;
    } u;
    const char *text; /* capability, failure message or reason */
    size_t text_len;
    const char *uri; /* input or output URI */
    size_t uri_len;
    int has_uri; /* the content is a hash and a URI (1) or inline bytes (0) */
    /* The request's input or the result's output (the public structs' content
     * pointers are NULL here; the typed views point them at this). */
    ca_task_content content;
    ca_hash refs[CA_TASK_REFS_MAX];
    /* A request's or bid's delegation chain: the encoded links, root first (0: none). */
    cai_span chain[CA_DELEGATION_MAX_DEPTH];
    size_t chain_count;
} cai_task_body;

/* The body table (lib/wire) of a task kind; NULL for another kind. */
struct cai_wire_table;
const struct cai_wire_table *cai_task_body_table(uint32_t kind);

/* 1 for the seven task kinds. */
bool cai_task_kind(uint32_t kind);

/* "request", "bid", ... for sentences; "message" for anything else. */
const char *cai_task_kind_word(uint32_t kind);

/* CA_ERR_UNSUPPORTED unless the version of `body` (the public struct for `kind`, not NULL)
 * is one this build knows (STRUCT RULE, common.h). */
ca_status cai_task_body_version(uint32_t kind, const void *body);

/* Validates `body` (the public struct for `kind`, its version first) and encodes it
 * (OWNERSHIP RULE). */
ca_status cai_task_body_encode(uint32_t kind, const void *body, uint8_t *out, size_t out_cap,
                               size_t *out_len);

/* Strict decoder of a body of `kind`. */
ca_status cai_task_body_decode(uint32_t kind, const uint8_t *data, size_t len, cai_task_body *out);

/* The task id named by a decoded body (for a request: none, returns false). */
bool cai_task_body_task(const cai_task_body *b, ca_hash *out);

/* The parse used by ca_task_msg_parse; `opts` for the body size cap (NULL: default). */
ca_status cai_task_msg_parse(ca_task_msg **out, const ca_envelope *env, const ca_identity *reader,
                             const ca_envelope_options *opts);

/* Zero-copy access to a message's fields for the state machine. */
typedef struct cai_task_msg_view {
    uint32_t kind;
    const ca_hash *id;
    const ca_agent_id *sender;
    uint64_t created_at;
    bool has_parent;
    const ca_hash *parent;
    const ca_hash *task;       /* the task id (own id for a request) */
    const cai_task_body *body; /* public struct views are NUL-terminated copies */
    const uint8_t *env;
    size_t env_len;
    const uint8_t *body_bytes; /* canonical body: equal bytes, equal statement */
    size_t body_len;
    ca_delegation *const *links; /* a request's or bid's decoded delegation chain, root first */
    size_t link_count;           /* 0: the message carries none */
} cai_task_msg_view;

void cai_task_msg_view_of(const ca_task_msg *msg, cai_task_msg_view *v);

/*
 * The counted cost of the thread's lookups (message ids, bidders), read from
 * the tables' layout: a lookup of a stored key visits hit_probes / keys
 * slots on average; a lookup of an absent key at most longest_run + 1.
 */
typedef struct cai_task_lookup_stats {
    uint64_t hit_probes;  /* sum over stored keys of the slots their lookup visits */
    uint32_t keys;        /* stored keys, both tables */
    uint32_t longest_run; /* longest run of occupied slots */
} cai_task_lookup_stats;

void cai_task_lookup_cost(const ca_task *t, cai_task_lookup_stats *st);

/*
 * Audit-mode thread building, as ca_task_deserialize does: every message
 * (the request included) is verified and judged at its own created_at, with
 * the default options. Equivocation evidence checks each side with these.
 */
ca_status cai_task_audit_new(ca_task **out, const ca_envelope *request);
ca_status cai_task_audit_apply(ca_task *t, const ca_envelope *env);

/* Messages after the request on a side of equivocation evidence: bid, award, result. */
#define CAI_EVIDENCE_CHAIN_MAX 3u

/*
 * Equivocation evidence from encoded envelopes: the request and, for each
 * side, the chain of messages from the one after the request to the
 * offending message (a bid: [bid]; an award: [bid, award]; a result:
 * [bid, award, result]). Sides in any order. Verified exactly as
 * ca_evidence_open verifies, then written (OWNERSHIP RULE).
 */
ca_status cai_evidence_write(cai_span request, const cai_span *a, size_t na, const cai_span *b,
                             size_t nb, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * The structure of equivocation evidence, without judging it: its kind, the
 * request and each side's chain as spans into `data` (each side 1 .. 3
 * envelopes of at most the default envelope size). The first half of
 * ca_evidence_open; the second judges the parts (verify). CA_ERR_MALFORMED
 * on anything but one canonical map {0: kind, 1: request, 2: [..], 3: [..]}.
 */
ca_status cai_evidence_parse(const uint8_t *data, size_t len, uint32_t *kind, cai_span *request,
                             cai_span a[CAI_EVIDENCE_CHAIN_MAX], size_t *na,
                             cai_span b[CAI_EVIDENCE_CHAIN_MAX], size_t *nb);

#endif
