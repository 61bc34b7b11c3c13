/* Task message bodies: validation, canonical encoding, strict decoding. */
#include <stdlib.h>

#include "card/card_internal.h"
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

static ca_status check_content(const char *what, const ca_task_content *c)
{
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

/* ---- encoding ---- */

enum { K0 = 0, K1, K2, K3, K4, K5, K6 };
enum { CONTENT_INLINE = 0, CONTENT_HASH = 1, CONTENT_URI = 2 };
enum { FAILURE_CODE = 0, FAILURE_MESSAGE = 1 };

static void put_content(cai_wire_writer *w, const ca_task_content *c)
{
    if (c->uri == NULL) {
        cai_ww_map(w, 1);
        cai_ww_kbin(w, CONTENT_INLINE, c->data, c->data_len);
    } else {
        cai_ww_map(w, 2);
        cai_ww_kbin(w, CONTENT_HASH, c->hash.bytes, CA_HASH_BYTES);
        cai_ww_kstr(w, CONTENT_URI, c->uri, strlen(c->uri));
    }
}

static void put_hash(cai_wire_writer *w, uint32_t key, const ca_hash *h)
{
    cai_ww_kbin(w, key, h->bytes, CA_HASH_BYTES);
}

ca_status cai_task_body_encode(uint32_t kind, const void *body, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    if (body == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "task body is NULL");
    cai_wire_writer w;
    cai_ww_init(&w, out, out_cap);
    ca_status st = CA_OK;
    size_t n = 0;
    switch (kind) {
    case CA_KIND_TASK_REQUEST: {
        const ca_task_request *b = body;
        if (b->capability == NULL)
            return cai_fail(CA_ERR_BAD_CAPABILITY, "request has no capability");
        size_t cl = strnlen(b->capability, CA_CAPABILITY_MAX + 1);
        if ((st = ca_capability_check(b->capability, cl)) != CA_OK ||
            (st = check_content("request input", &b->input)) != CA_OK)
            return st;
        cai_ww_map(&w, 5);
        cai_ww_kstr(&w, K0, b->capability, cl);
        cai_ww_uint(&w, K1);
        put_content(&w, &b->input);
        cai_ww_kuint(&w, K2, b->max_price);
        cai_ww_kuint(&w, K3, b->deadline);
        cai_ww_kuint(&w, K4, b->collateral);
        break;
    }
    case CA_KIND_TASK_BID: {
        const ca_task_bid *b = body;
        cai_ww_map(&w, 4);
        put_hash(&w, K0, &b->task);
        cai_ww_kuint(&w, K1, b->price);
        cai_ww_kuint(&w, K2, b->completion);
        cai_ww_kuint(&w, K3, b->collateral);
        break;
    }
    case CA_KIND_TASK_AWARD: {
        const ca_task_award *b = body;
        cai_ww_map(&w, 6);
        put_hash(&w, K0, &b->task);
        put_hash(&w, K1, &b->bid);
        cai_ww_kbin(&w, K2, b->worker.bytes, CA_AGENT_ID_BYTES);
        cai_ww_kuint(&w, K3, b->price);
        cai_ww_kuint(&w, K4, b->collateral);
        cai_ww_kuint(&w, K5, b->deadline);
        break;
    }
    case CA_KIND_TASK_RESULT: {
        const ca_task_result *b = body;
        if (b->failed) {
            if ((st = check_text("failure message", b->failure_message, 0, &n)) != CA_OK)
                return st;
        } else if ((st = check_content("result output", &b->output)) != CA_OK) {
            return st;
        }
        cai_ww_map(&w, 3);
        put_hash(&w, K0, &b->task);
        put_hash(&w, K1, &b->award);
        if (!b->failed) {
            cai_ww_uint(&w, K2);
            put_content(&w, &b->output);
        } else {
            cai_ww_uint(&w, K3);
            cai_ww_map(&w, 1u + (n > 0));
            cai_ww_kuint(&w, FAILURE_CODE, b->failure_code);
            if (n > 0)
                cai_ww_kstr(&w, FAILURE_MESSAGE, b->failure_message, n);
        }
        break;
    }
    case CA_KIND_TASK_RECEIPT: {
        const ca_task_receipt *b = body;
        if (b->rating > CA_TASK_RATING_MAX)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "rating %u above %u", b->rating,
                            CA_TASK_RATING_MAX);
        cai_ww_map(&w, 7);
        put_hash(&w, K0, &b->task);
        put_hash(&w, K1, &b->award);
        put_hash(&w, K2, &b->result);
        cai_ww_kbin(&w, K3, b->worker.bytes, CA_AGENT_ID_BYTES);
        cai_ww_uint(&w, K4);
        cai_ww_bool(&w, b->accept != 0);
        cai_ww_kuint(&w, K5, b->rating);
        cai_ww_kuint(&w, K6, b->paid);
        break;
    }
    case CA_KIND_TASK_CANCEL: {
        const ca_task_cancel *b = body;
        if ((st = check_text("cancel reason", b->reason, 0, &n)) != CA_OK)
            return st;
        cai_ww_map(&w, 1u + (n > 0));
        put_hash(&w, K0, &b->task);
        if (n > 0)
            cai_ww_kstr(&w, K1, b->reason, n);
        break;
    }
    case CA_KIND_TASK_DISPUTE: {
        const ca_task_dispute *b = body;
        if ((st = check_text("dispute reason", b->reason, 1, &n)) != CA_OK)
            return st;
        if (b->ref_count == 0 || b->ref_count > CA_TASK_REFS_MAX || b->refs == NULL)
            return cai_fail(CA_ERR_LIMIT, "dispute names %zu messages (1 .. %u)", b->ref_count,
                            CA_TASK_REFS_MAX);
        for (size_t i = 0; i < b->ref_count; i++)
            for (size_t j = 0; j < i; j++)
                if (memcmp(b->refs[i].bytes, b->refs[j].bytes, CA_HASH_BYTES) == 0)
                    return cai_fail(CA_ERR_INVALID_ARGUMENT, "dispute names a message twice");
        cai_ww_map(&w, 3);
        put_hash(&w, K0, &b->task);
        cai_ww_kstr(&w, K1, b->reason, n);
        cai_ww_uint(&w, K2);
        cai_ww_array(&w, (uint32_t)b->ref_count);
        for (size_t i = 0; i < b->ref_count; i++)
            cai_ww_bin(&w, b->refs[i].bytes, CA_HASH_BYTES);
        break;
    }
    default:
        return cai_fail(CA_ERR_WRONG_KIND, "kind %u is not a task message", kind);
    }
    return cai_ww_finish(&w, out_len);
}

/* ---- strict decoding ---- */

typedef struct {
    cai_wire_reader r;
    cai_wire_map m;
    ca_status st;
} dec;

/* Each helper is a no-op once st != CA_OK, so decoders read straight through. */
static void d_key(dec *d, uint64_t key)
{
    if (d->st == CA_OK)
        d->st = cai_wr_require(&d->m, key);
}

static bool d_opt(dec *d, uint64_t key)
{
    bool present = false;
    if (d->st == CA_OK)
        d->st = cai_wr_field(&d->m, key, &present);
    return d->st == CA_OK && present;
}

static void d_uint(dec *d, uint64_t key, uint64_t *v)
{
    d_key(d, key);
    if (d->st == CA_OK)
        d->st = cai_wr_uint(&d->r, v);
}

static void d_fixed(dec *d, uint64_t key, void *out, size_t n)
{
    d_key(d, key);
    if (d->st == CA_OK)
        d->st = cai_wr_bin_fixed(&d->r, out, n);
}

static void d_text(dec *d, size_t min, size_t max, const char **p, size_t *n)
{
    if (d->st == CA_OK)
        d->st = cai_wr_str_max(&d->r, max, p, n);
    if (d->st == CA_OK && (*n < min || memchr(*p, '\0', *n) != NULL))
        d->st = cai_fail(CA_ERR_MALFORMED, "malformed task body: text empty or contains NUL");
}

static void d_content(dec *d, ca_task_content *c, const char **uri, size_t *uri_len)
{
    cai_wire_map cm;
    memset(c, 0, sizeof *c);
    *uri = NULL;
    *uri_len = 0;
    if (d->st == CA_OK)
        d->st = cai_wr_map(&d->r, &cm);
    bool present = false;
    if (d->st == CA_OK)
        d->st = cai_wr_field(&cm, CONTENT_INLINE, &present);
    if (d->st == CA_OK && present) {
        d->st = cai_wr_bin_max(&d->r, CA_TASK_INLINE_MAX, &c->data, &c->data_len);
    } else if (d->st == CA_OK) {
        d->st = cai_wr_require(&cm, CONTENT_HASH);
        if (d->st == CA_OK)
            d->st = cai_wr_bin_fixed(&d->r, c->hash.bytes, CA_HASH_BYTES);
        if (d->st == CA_OK)
            d->st = cai_wr_require(&cm, CONTENT_URI);
        d_text(d, 1, CA_TASK_URI_MAX, uri, uri_len);
    }
    if (d->st == CA_OK)
        d->st = cai_wr_map_end(&cm);
}

ca_status cai_task_body_decode(uint32_t kind, const uint8_t *data, size_t len, cai_task_body *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    if (!cai_task_kind(kind))
        return cai_fail(CA_ERR_WRONG_KIND, "kind %u is not a task message", kind);
    dec d;
    cai_wr_init(&d.r, data, len);
    d.st = cai_wr_map(&d.r, &d.m);
    switch (kind) {
    case CA_KIND_TASK_REQUEST: {
        ca_task_request *b = &out->u.request;
        d_key(&d, K0);
        d_text(&d, 1, CA_CAPABILITY_MAX, &out->text, &out->text_len);
        if (d.st == CA_OK)
            d.st = ca_capability_check(out->text, out->text_len);
        d_key(&d, K1);
        d_content(&d, &b->input, &out->uri, &out->uri_len);
        d_uint(&d, K2, &b->max_price);
        d_uint(&d, K3, &b->deadline);
        d_uint(&d, K4, &b->collateral);
        break;
    }
    case CA_KIND_TASK_BID: {
        ca_task_bid *b = &out->u.bid;
        d_fixed(&d, K0, b->task.bytes, CA_HASH_BYTES);
        d_uint(&d, K1, &b->price);
        d_uint(&d, K2, &b->completion);
        d_uint(&d, K3, &b->collateral);
        break;
    }
    case CA_KIND_TASK_AWARD: {
        ca_task_award *b = &out->u.award;
        d_fixed(&d, K0, b->task.bytes, CA_HASH_BYTES);
        d_fixed(&d, K1, b->bid.bytes, CA_HASH_BYTES);
        d_fixed(&d, K2, b->worker.bytes, CA_AGENT_ID_BYTES);
        d_uint(&d, K3, &b->price);
        d_uint(&d, K4, &b->collateral);
        d_uint(&d, K5, &b->deadline);
        break;
    }
    case CA_KIND_TASK_RESULT: {
        ca_task_result *b = &out->u.result;
        d_fixed(&d, K0, b->task.bytes, CA_HASH_BYTES);
        d_fixed(&d, K1, b->award.bytes, CA_HASH_BYTES);
        if (d_opt(&d, K2)) {
            d_content(&d, &b->output, &out->uri, &out->uri_len);
        } else if (d.st == CA_OK) {
            b->failed = 1;
            cai_wire_map fm;
            d_key(&d, K3);
            if (d.st == CA_OK)
                d.st = cai_wr_map(&d.r, &fm);
            if (d.st == CA_OK)
                d.st = cai_wr_require(&fm, FAILURE_CODE);
            if (d.st == CA_OK)
                d.st = cai_wr_uint(&d.r, &b->failure_code);
            bool present = false;
            if (d.st == CA_OK)
                d.st = cai_wr_field(&fm, FAILURE_MESSAGE, &present);
            if (present)
                d_text(&d, 1, CA_TASK_TEXT_MAX, &out->text, &out->text_len);
            if (d.st == CA_OK)
                d.st = cai_wr_map_end(&fm);
        }
        break;
    }
    case CA_KIND_TASK_RECEIPT: {
        ca_task_receipt *b = &out->u.receipt;
        uint64_t rating = 0;
        bool accept = false;
        d_fixed(&d, K0, b->task.bytes, CA_HASH_BYTES);
        d_fixed(&d, K1, b->award.bytes, CA_HASH_BYTES);
        d_fixed(&d, K2, b->result.bytes, CA_HASH_BYTES);
        d_fixed(&d, K3, b->worker.bytes, CA_AGENT_ID_BYTES);
        d_key(&d, K4);
        if (d.st == CA_OK)
            d.st = cai_wr_bool(&d.r, &accept);
        d_key(&d, K5);
        if (d.st == CA_OK)
            d.st = cai_wr_uint_max(&d.r, CA_TASK_RATING_MAX, &rating);
        d_uint(&d, K6, &b->paid);
        b->accept = accept;
        b->rating = (uint32_t)rating;
        break;
    }
    case CA_KIND_TASK_CANCEL: {
        ca_task_cancel *b = &out->u.cancel;
        d_fixed(&d, K0, b->task.bytes, CA_HASH_BYTES);
        if (d_opt(&d, K1))
            d_text(&d, 1, CA_TASK_TEXT_MAX, &out->text, &out->text_len);
        break;
    }
    case CA_KIND_TASK_DISPUTE: {
        ca_task_dispute *b = &out->u.dispute;
        uint32_t n = 0;
        d_fixed(&d, K0, b->task.bytes, CA_HASH_BYTES);
        d_key(&d, K1);
        d_text(&d, 1, CA_TASK_TEXT_MAX, &out->text, &out->text_len);
        d_key(&d, K2);
        if (d.st == CA_OK)
            d.st = cai_wr_array(&d.r, &n);
        if (d.st == CA_OK && (n == 0 || n > CA_TASK_REFS_MAX))
            d.st = cai_fail(CA_ERR_MALFORMED, "malformed dispute: %u message ids (1 .. %u)", n,
                            CA_TASK_REFS_MAX);
        for (uint32_t i = 0; d.st == CA_OK && i < n; i++) {
            d.st = cai_wr_bin_fixed(&d.r, out->refs[i].bytes, CA_HASH_BYTES);
            for (uint32_t j = 0; d.st == CA_OK && j < i; j++)
                if (memcmp(out->refs[i].bytes, out->refs[j].bytes, CA_HASH_BYTES) == 0)
                    d.st = cai_fail(CA_ERR_MALFORMED, "malformed dispute: a message id twice");
        }
        b->ref_count = n;
        break;
    }
    default:
        break;
    }
    if (d.st == CA_OK)
        d.st = cai_wr_map_end(&d.m);
    if (d.st == CA_OK)
        d.st = cai_wr_end(&d.r);
    if (d.st != CA_OK) {
        ca_status st = d.st;
        memset(out, 0, sizeof *out);
        return st;
    }
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
