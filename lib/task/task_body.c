/* Task message bodies: validation, canonical encoding, strict decoding. */
#include <stdlib.h>

#include "card/card_internal.h"
#include "delegation/delegation_internal.h"
#include "internal.h"
#include "task/task_internal.h"
#include "wire/wire.h"

size_t ca_task_inline_max(void)
{
    return CA_TASK_INLINE_MAX;
}

size_t ca_task_uri_max(void)
{
    return CA_TASK_URI_MAX;
}

size_t ca_task_text_max(void)
{
    return CA_TASK_TEXT_MAX;
}

size_t ca_task_refs_max(void)
{
    return CA_TASK_REFS_MAX;
}

bool cai_task_kind(uint32_t kind)
{
    return kind >= CA_KIND_TASK_REQUEST && kind <= CA_KIND_TASK_DISPUTE;
}

const char *cai_task_kind_word(uint32_t kind)
{
    static const char *const words[] = {"request", "bid",    "award",  "result",
                                        "receipt", "cancel", "dispute"};
    return cai_task_kind(kind) ? words[kind - CA_KIND_TASK_REQUEST] : "message";
}

/* ---- validation (builder side) ---- */

/* The content a NULL pointer stands for: no bytes, inline. */
static const ca_task_content no_content = {CA_TASK_CONTENT_VERSION, NULL, 0, NULL, {{0}}};

static ca_status check_content(const char *what, const ca_task_content *c)
{
    CAI_REQUIRE_VERSION("ca_task_content", c->version, CA_TASK_CONTENT_VERSION);
    if (c->uri == NULL) {
        if (c->data_len > CA_TASK_INLINE_MAX)
            return cai_fail(CA_ERR_LIMIT, "%s: %zu inline bytes (at most %u)", what, c->data_len,
                            CA_TASK_INLINE_MAX);
        if (c->data == NULL && c->data_len > 0)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s: data is NULL but data_len > 0", what);
        return CA_OK;
    }
    if (c->data_len > 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s: inline bytes and a URI are exclusive", what);
    return cai_text_check("content URI", c->uri, strnlen(c->uri, CA_TASK_URI_MAX + 1), 1,
                          CA_TASK_URI_MAX);
}

static ca_status check_text(const char *what, const char *s, size_t min, size_t *len)
{
    *len = s != NULL ? strnlen(s, CA_TASK_TEXT_MAX + 1) : 0;
    if (s == NULL && min > 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s is required", what);
    return *len == 0 && min == 0 ? CA_OK : cai_text_check(what, s, *len, min, CA_TASK_TEXT_MAX);
}

/* ---- the body tables ---- */

/*
 * Each kind's body is one table of rows over cai_task_body (lib/wire): the
 * encoder writes it, the strict decoder reads it, docs/PROTOCOL.md prints it.
 */
typedef cai_task_body tb;
#define TB(m) offsetof(cai_task_body, m)

static ca_status check_capability(const void *obj, size_t index)
{
    const cai_task_body *b = obj;
    (void)index;
    return ca_capability_check(b->text, b->text_len);
}

/* Dispute refs: each one differs from those before it. */
static ca_status check_ref(const void *obj, size_t index)
{
    const ca_hash *h = obj;
    for (size_t j = 1; j <= index; j++)
        if (memcmp((h - j)->bytes, h->bytes, CA_HASH_BYTES) == 0)
            return cai_fail(CA_ERR_MALFORMED, "malformed task.dispute: a message id twice");
    return CA_OK;
}

/* Content: {0: inline bytes} or {1: hash, 2: URI}, one table for a request's
 * input and a result's output. */
#define CONTENT_CHOICE .presence = CAI_WP_CHOICE, .sel_off = TB(has_uri)
static const cai_wire_field content_rows[] = {
    {CAI_WF_BIN(0, "data", tb, content.data, content.data_len), CONTENT_CHOICE, .alt = 0,
     .max = CA_TASK_INLINE_MAX, .rule = "inline bytes"},
    {CAI_WF_FIXED(1, "hash", tb, content.hash), CONTENT_CHOICE, .alt = 1,
     .rule = "BLAKE2b-256 of the content behind the URI"},
    {CAI_WF_STR(2, "uri", tb, uri, uri_len), CONTENT_CHOICE, .alt = 1, .min = 1,
     .max = CA_TASK_URI_MAX, .rule = "where to fetch it"},
};
static const cai_wire_table content_table = CAI_WF_TABLE("task content", content_rows, NULL);

/* A delegation chain (requests and bids): the encoded links, root first; absent when none. */
static const cai_wire_field link_elem = {CAI_WF_BIN(0, "link", cai_span, p, n), .min = 1,
                                         .max = CAI_TASK_DELEGATION_LINK_MAX};
#define CHAIN_ROW(k)                                                                               \
    {                                                                                              \
        .key = (k), .name = "delegation", .type = CAI_WT_ARRAY, .presence = CAI_WP_NONZERO,        \
        .off = TB(chain), .aux_off = TB(chain_count), .stride = sizeof(cai_span), .min = 1,        \
        .max = CA_DELEGATION_MAX_DEPTH, .elem = &link_elem,                                        \
        .doc_type = "array (1 .. 8) of bin, ≤ 2048 bytes",                                         \
        .rule = "the sender's delegation chain, root first, each link an encoded delegation "      \
                "(IDENTITY.md)"                                                                    \
    }

static const cai_wire_field request_rows[] = {
    {CAI_WF_STR(0, "capability", tb, text, text_len), .min = 1, .max = CA_CAPABILITY_MAX,
     .check = check_capability, .rule = "capability grammar (see cards)"},
    {.key = 1, .name = "input", .type = CAI_WT_MAP, .sub = &content_table},
    {CAI_WF_UINT(2, "max_price", tb, u.request.max_price), .rule = "the most the requester pays"},
    {CAI_WF_UINT(3, "deadline", tb, u.request.deadline),
     .rule = "result due by then; `deadline > created_at`"},
    {CAI_WF_UINT(4, "collateral", tb, u.request.collateral),
     .rule = "collateral the worker must lock"},
    CHAIN_ROW(5),
};

static const cai_wire_field bid_rows[] = {
    {CAI_WF_FIXED(0, "task", tb, u.bid.task), .rule = "= parent"},
    {CAI_WF_UINT(1, "price", tb, u.bid.price), .rule = "`<= max_price`"},
    {CAI_WF_UINT(2, "completion", tb, u.bid.completion),
     .rule = "promised completion; `created_at < completion <= deadline`"},
    {CAI_WF_UINT(3, "collateral", tb, u.bid.collateral), .rule = "`>= request collateral`"},
    CHAIN_ROW(4),
};

static const cai_wire_field award_rows[] = {
    {CAI_WF_FIXED(0, "task", tb, u.award.task)},
    {CAI_WF_FIXED(1, "bid", tb, u.award.bid), .rule = "the chosen bid's id; = parent"},
    {CAI_WF_FIXED(2, "worker", tb, u.award.worker), .rule = "the bid's sender"},
    {CAI_WF_UINT(3, "price", tb, u.award.price),
     .rule = "= bid price (payment the requester locks in escrow)"},
    {CAI_WF_UINT(4, "collateral", tb, u.award.collateral),
     .rule = "= bid collateral (what the worker locks)"},
    {CAI_WF_UINT(5, "deadline", tb, u.award.deadline),
     .rule = "result due; `bid completion <= deadline <= request deadline`, `> created_at`"},
};

static const cai_wire_field failure_rows[] = {
    {CAI_WF_UINT(0, "code", tb, u.result.failure_code), .rule = "application-defined"},
    {CAI_WF_STR(1, "message", tb, text, text_len), .presence = CAI_WP_NONZERO, .min = 1,
     .max = CA_TASK_TEXT_MAX},
};
static const cai_wire_table failure_table = CAI_WF_TABLE("task failure", failure_rows, NULL);

static const cai_wire_field result_rows[] = {
    {CAI_WF_FIXED(0, "task", tb, u.result.task)},
    {CAI_WF_FIXED(1, "award", tb, u.result.award), .rule = "= parent"},
    {.key = 2,
     .name = "output",
     .type = CAI_WT_MAP,
     .sub = &content_table,
     .presence = CAI_WP_CHOICE,
     .alt = 0,
     .sel_off = TB(u.result.failed)},
    {.key = 3,
     .name = "failure",
     .type = CAI_WT_MAP,
     .sub = &failure_table,
     .presence = CAI_WP_CHOICE,
     .alt = 1,
     .sel_off = TB(u.result.failed),
     .rule = "a failure report instead of an output"},
};

static const cai_wire_field receipt_rows[] = {
    {CAI_WF_FIXED(0, "task", tb, u.receipt.task)},
    {CAI_WF_FIXED(1, "award", tb, u.receipt.award), .rule = "the award it settles"},
    {CAI_WF_FIXED(2, "result", tb, u.receipt.result), .rule = "= parent"},
    {CAI_WF_FIXED(3, "worker", tb, u.receipt.worker), .rule = "the awarded worker (who is rated)"},
    {CAI_WF_BOOL(4, "accept", tb, u.receipt.accept), .rule = "accept or reject the output"},
    {CAI_WF_U32(5, "rating", tb, u.receipt.rating), .max = CA_TASK_RATING_MAX},
    {CAI_WF_UINT(6, "paid", tb, u.receipt.paid), .rule = "`<= award price`"},
};

static const cai_wire_field cancel_rows[] = {
    {CAI_WF_FIXED(0, "task", tb, u.cancel.task)},
    {CAI_WF_STR(1, "reason", tb, text, text_len), .presence = CAI_WP_NONZERO, .min = 1,
     .max = CA_TASK_TEXT_MAX},
};

static const cai_wire_field ref_elem = {CAI_WF_FIXED(2, "ref", ca_hash, bytes), .check = check_ref};
static const cai_wire_field dispute_rows[] = {
    {CAI_WF_FIXED(0, "task", tb, u.dispute.task)},
    {CAI_WF_STR(1, "reason", tb, text, text_len), .min = 1, .max = CA_TASK_TEXT_MAX},
    {.key = 2,
     .name = "refs",
     .type = CAI_WT_ARRAY,
     .off = TB(refs),
     .aux_off = TB(u.dispute.ref_count),
     .stride = sizeof(ca_hash),
     .min = 1,
     .max = CA_TASK_REFS_MAX,
     .elem = &ref_elem,
     .rule = "the message ids the dispute relies on, distinct"},
};

static const cai_wire_table body_tables[7] = {
    CAI_WF_TABLE("task.request", request_rows, NULL),
    CAI_WF_TABLE("task.bid", bid_rows, NULL),
    CAI_WF_TABLE("task.award", award_rows, NULL),
    CAI_WF_TABLE("task.result", result_rows, NULL),
    CAI_WF_TABLE("task.receipt", receipt_rows, NULL),
    CAI_WF_TABLE("task.cancel", cancel_rows, NULL),
    CAI_WF_TABLE("task.dispute", dispute_rows, NULL),
};

const cai_wire_table *cai_task_body_table(uint32_t kind)
{
    return cai_task_kind(kind) ? &body_tables[kind - CA_KIND_TASK_REQUEST] : NULL;
}

/* ---- encoding ---- */

/* This build's version of each body struct, by kind. */
static const unsigned int body_versions[7] = {
    CA_TASK_REQUEST_VERSION, CA_TASK_BID_VERSION,    CA_TASK_AWARD_VERSION,  CA_TASK_RESULT_VERSION,
    CA_TASK_RECEIPT_VERSION, CA_TASK_CANCEL_VERSION, CA_TASK_DISPUTE_VERSION};

ca_status cai_task_body_version(uint32_t kind, const void *body)
{
    static const char *const names[] = {"ca_task_request", "ca_task_bid",     "ca_task_award",
                                        "ca_task_result",  "ca_task_receipt", "ca_task_cancel",
                                        "ca_task_dispute"};
    if (!cai_task_kind(kind))
        return cai_fail(CA_ERR_WRONG_KIND, "kind %u is not a task message", kind);
    unsigned int version;
    memcpy(&version, body, sizeof version); /* every body's first member */
    CAI_REQUIRE_VERSION(names[kind - CA_KIND_TASK_REQUEST], version,
                        body_versions[kind - CA_KIND_TASK_REQUEST]);
    return CA_OK;
}

/* The content (checked) and its URI (or none) into the body's views. */
static void content_view(cai_task_body *b, const ca_task_content *c)
{
    b->content = *c; /* version 1 is the whole struct */
    b->has_uri = c->uri != NULL;
    b->uri = c->uri;
    b->uri_len = c->uri != NULL ? strlen(c->uri) : 0;
}

/* Bytes of the request and bid structs of version 1 (before the chain). */
#define REQUEST_V1_BYTES offsetof(ca_task_request, delegation)
#define BID_V1_BYTES     offsetof(ca_task_bid, delegation)

/* A builder's chain (handles) into the body's spans. */
static ca_status chain_view(cai_task_body *b, const ca_delegation *const *links, size_t n)
{
    if (n > CA_DELEGATION_MAX_DEPTH)
        return cai_fail(CA_ERR_LIMIT, "delegation chain of %zu links (at most %u)", n,
                        CA_DELEGATION_MAX_DEPTH);
    if (n > 0 && links == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "delegation is NULL but delegation_count is %zu",
                        n);
    for (size_t i = 0; i < n; i++) {
        if (links[i] == NULL)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "delegation link %zu is NULL", i);
        b->chain[i].p = cai_delegation_raw(links[i], &b->chain[i].n);
    }
    b->chain_count = n;
    return CA_OK;
}

ca_status cai_task_body_encode(uint32_t kind, const void *body, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    if (body == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "task body is NULL");
    ca_status st = cai_task_body_version(kind, body);
    if (st != CA_OK)
        return st;
    cai_task_body b; /* only what the kind's rows read is set */
    size_t n = 0;
    b.chain_count = 0;
    switch (kind) {
    case CA_KIND_TASK_REQUEST: {
        const ca_task_request *r = body;
        if (r->capability == NULL)
            return cai_fail(CA_ERR_BAD_CAPABILITY, "request has no capability");
        size_t cl = strnlen(r->capability, CA_CAPABILITY_MAX + 1);
        if ((st = ca_capability_check(r->capability, cl)) != CA_OK ||
            (st = check_content("request input", r->input ? r->input : &no_content)) != CA_OK)
            return st;
        memset(&b.u.request, 0, sizeof b.u.request);
        memcpy(&b.u.request, r, r->version == 1 ? REQUEST_V1_BYTES : sizeof *r);
        if ((st = chain_view(&b, b.u.request.delegation, b.u.request.delegation_count)) != CA_OK)
            return st;
        b.text = r->capability;
        b.text_len = cl;
        content_view(&b, r->input ? r->input : &no_content);
        break;
    }
    case CA_KIND_TASK_BID: {
        const ca_task_bid *bd = body;
        memset(&b.u.bid, 0, sizeof b.u.bid);
        memcpy(&b.u.bid, bd, bd->version == 1 ? BID_V1_BYTES : sizeof *bd);
        if ((st = chain_view(&b, b.u.bid.delegation, b.u.bid.delegation_count)) != CA_OK)
            return st;
        break;
    }
    case CA_KIND_TASK_AWARD:
        b.u.award = *(const ca_task_award *)body;
        break;
    case CA_KIND_TASK_RESULT: {
        const ca_task_result *r = body;
        if (r->failed) {
            if ((st = check_text("failure message", r->failure_message, 0, &n)) != CA_OK)
                return st;
        } else if ((st = check_content("result output", r->output ? r->output : &no_content)) !=
                   CA_OK) {
            return st;
        }
        b.u.result = *r;
        b.u.result.failed = r->failed != 0;
        b.text = r->failure_message;
        b.text_len = n;
        if (!r->failed)
            content_view(&b, r->output ? r->output : &no_content);
        break;
    }
    case CA_KIND_TASK_RECEIPT: {
        const ca_task_receipt *r = body;
        if (r->rating > CA_TASK_RATING_MAX)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "rating %u above %u", r->rating,
                            CA_TASK_RATING_MAX);
        b.u.receipt = *r;
        break;
    }
    case CA_KIND_TASK_CANCEL: {
        const ca_task_cancel *c = body;
        if ((st = check_text("cancel reason", c->reason, 0, &n)) != CA_OK)
            return st;
        b.u.cancel = *c;
        b.text = c->reason;
        b.text_len = n;
        break;
    }
    case CA_KIND_TASK_DISPUTE: {
        const ca_task_dispute *dp = body;
        if ((st = check_text("dispute reason", dp->reason, 1, &n)) != CA_OK)
            return st;
        if (dp->ref_count == 0 || dp->ref_count > CA_TASK_REFS_MAX || dp->refs == NULL)
            return cai_fail(CA_ERR_LIMIT, "dispute names %zu messages (1 .. %u)", dp->ref_count,
                            CA_TASK_REFS_MAX);
        for (size_t i = 0; i < dp->ref_count; i++)
            for (size_t j = 0; j < i; j++)
                if (memcmp(dp->refs[i].bytes, dp->refs[j].bytes, CA_HASH_BYTES) == 0)
                    return cai_fail(CA_ERR_INVALID_ARGUMENT, "dispute names a message twice");
        b.u.dispute = *dp;
        b.text = dp->reason;
        b.text_len = n;
        memcpy(b.refs, dp->refs, dp->ref_count * sizeof(ca_hash));
        break;
    }
    default:
        return cai_fail(CA_ERR_WRONG_KIND, "kind %u is not a task message", kind);
    }
    cai_wire_writer w;
    cai_ww_init(&w, out, out_cap);
    cai_wire_put_map(&w, &body_tables[kind - CA_KIND_TASK_REQUEST], &b);
    return cai_ww_finish(&w, out_len);
}

/* ---- strict decoding ---- */

ca_status cai_task_body_decode(uint32_t kind, const uint8_t *data, size_t len, cai_task_body *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (!cai_task_kind(kind))
        return cai_fail(CA_ERR_WRONG_KIND, "kind %u is not a task message", kind);
    cai_wire_dec d;
    cai_wd_init(&d, data, len);
    cai_wd_table(&d, &body_tables[kind - CA_KIND_TASK_REQUEST], out);
    ca_status st = cai_wd_finish(&d);
    if (st != CA_OK) {
        memset(out, 0, sizeof *out);
        return st;
    }
    /* The decoded structs are of this build's versions (every body's first member). */
    memcpy(&out->u, &body_versions[kind - CA_KIND_TASK_REQUEST], sizeof(unsigned int));
    out->content.version = CA_TASK_CONTENT_VERSION;
    return CA_OK;
}

bool cai_task_body_task(const cai_task_body *b, ca_hash *out)
{
    switch (b->kind) {
    case CA_KIND_TASK_BID:
        *out = b->u.bid.task;
        return true;
    case CA_KIND_TASK_AWARD:
        *out = b->u.award.task;
        return true;
    case CA_KIND_TASK_RESULT:
        *out = b->u.result.task;
        return true;
    case CA_KIND_TASK_RECEIPT:
        *out = b->u.receipt.task;
        return true;
    case CA_KIND_TASK_CANCEL:
        *out = b->u.cancel.task;
        return true;
    case CA_KIND_TASK_DISPUTE:
        *out = b->u.dispute.task;
        return true;
    default:
        return false;
    }
}
