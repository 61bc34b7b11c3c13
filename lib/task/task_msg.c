/* Task messages: builders (body + envelope), strict parsing into a handle, typed views. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "task/task_internal.h"

struct ca_task_msg {
    uint32_t kind;
    ca_hash id;
    ca_agent_id sender;
    uint64_t created_at;
    bool has_parent;
    ca_hash parent;
    ca_hash task;
    cai_task_body body; /* public views point into this allocation */
    const uint8_t *env;
    size_t env_len;
    const uint8_t *body_bytes; /* the canonical body (opened and decompressed) */
    size_t body_len;
    ca_delegation *links[CA_DELEGATION_MAX_DEPTH]; /* a request's or bid's chain, decoded */
    size_t link_count;
    ca_agent_id delegator; /* the root's issuer when link_count > 0 */
    /* followed by: env bytes, body bytes, text copy + NUL, uri copy + NUL */
};

/* The parent a body implies (false for request and dispute). */
static bool implied_parent(const cai_task_body *b, ca_hash *out)
{
    switch (b->kind) {
    case CA_KIND_TASK_BID:
        *out = b->u.bid.task;
        return true;
    case CA_KIND_TASK_AWARD:
        *out = b->u.award.bid;
        return true;
    case CA_KIND_TASK_RESULT:
        *out = b->u.result.award;
        return true;
    case CA_KIND_TASK_RECEIPT:
        *out = b->u.receipt.result;
        return true;
    case CA_KIND_TASK_CANCEL:
        *out = b->u.cancel.task;
        return true;
    default:
        return false;
    }
}

/* ---- builders ---- */

/* The builder sets the kind: params may leave it 0 or name that kind. */
static ca_status check_env_kind(const ca_envelope_params *env, uint32_t kind)
{
    if (env->kind != 0 && env->kind != kind)
        return cai_fail(CA_ERR_WRONG_KIND,
                        "envelope params name kind %u, but a %s is kind %u: leave the kind 0",
                        env->kind, cai_task_kind_word(kind), kind);
    return CA_OK;
}

static ca_status sign_body(const ca_identity *signer, const ca_envelope_params *env, uint32_t kind,
                           const void *body, const ca_hash *implied, const ca_agent_id *recipient,
                           uint8_t *out, size_t out_cap, size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(signer);
    CAI_REQUIRE(env);
    CAI_REQUIRE(body);
    CAI_REQUIRE(out_len);
    ca_status st = cai_task_body_version(kind, body);
    if (st == CA_OK)
        st = check_env_kind(env, kind);
    if (st != CA_OK)
        return st;
    ca_envelope_params p = *env;
    p.kind = kind;
    if (kind == CA_KIND_TASK_REQUEST) {
        if (p.parent != NULL)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "a task request has no parent");
    } else if (p.parent == NULL) {
        if (implied == NULL)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "a dispute needs an explicit parent");
        p.parent = implied;
    } else if (implied != NULL && memcmp(p.parent->bytes, implied->bytes, CA_HASH_BYTES) != 0) {
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "envelope parent differs from the parent the body names");
    }
    if (recipient != NULL) {
        if (p.recipient != NULL &&
            memcmp(p.recipient->bytes, recipient->bytes, CA_AGENT_ID_BYTES) != 0)
            return cai_fail(CA_ERR_INVALID_ARGUMENT,
                            "request recipient and envelope recipient differ");
        p.recipient = recipient;
    }
    size_t body_len = 0;
    st = cai_task_body_encode(kind, body, NULL, 0, &body_len);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        return st;
    uint8_t *buf = malloc(body_len);
    if (buf == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory encoding a task body");
    st = cai_task_body_encode(kind, body, buf, body_len, &body_len);
    if (st == CA_OK)
        st = ca_envelope_sign(signer, &p, buf, body_len, out, out_cap, out_len, id_out);
    free(buf);
    return st;
}

ca_status ca_task_request_sign(const ca_identity *signer, const ca_envelope_params *env,
                               const ca_task_request *body, uint8_t *out, size_t out_cap,
                               size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(signer);
    CAI_REQUIRE(env);
    CAI_REQUIRE(body);
    CAI_REQUIRE(out_len);
    ca_status st = cai_task_body_version(CA_KIND_TASK_REQUEST, body);
    if (st != CA_OK)
        return st;
    if (body->deadline <= env->created_at)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "request deadline is not after created_at");
    return sign_body(signer, env, CA_KIND_TASK_REQUEST, body, NULL,
                     body->has_recipient ? &body->recipient : NULL, out, out_cap, out_len, id_out);
}

ca_status ca_task_bid_sign(const ca_identity *signer, const ca_envelope_params *env,
                           const ca_task_bid *body, uint8_t *out, size_t out_cap, size_t *out_len,
                           ca_hash *id_out)
{
    CAI_REQUIRE(body);
    return sign_body(signer, env, CA_KIND_TASK_BID, body, &body->task, NULL, out, out_cap, out_len,
                     id_out);
}

ca_status ca_task_award_sign(const ca_identity *signer, const ca_envelope_params *env,
                             const ca_task_award *body, uint8_t *out, size_t out_cap,
                             size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(body);
    return sign_body(signer, env, CA_KIND_TASK_AWARD, body, &body->bid, NULL, out, out_cap, out_len,
                     id_out);
}

ca_status ca_task_result_sign(const ca_identity *signer, const ca_envelope_params *env,
                              const ca_task_result *body, uint8_t *out, size_t out_cap,
                              size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(body);
    return sign_body(signer, env, CA_KIND_TASK_RESULT, body, &body->award, NULL, out, out_cap,
                     out_len, id_out);
}

ca_status ca_task_receipt_sign(const ca_identity *signer, const ca_envelope_params *env,
                               const ca_task_receipt *body, uint8_t *out, size_t out_cap,
                               size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(body);
    return sign_body(signer, env, CA_KIND_TASK_RECEIPT, body, &body->result, NULL, out, out_cap,
                     out_len, id_out);
}

ca_status ca_task_cancel_sign(const ca_identity *signer, const ca_envelope_params *env,
                              const ca_task_cancel *body, uint8_t *out, size_t out_cap,
                              size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(body);
    /* A cancel after an award names the award as parent: no implied check then. */
    return sign_body(signer, env, CA_KIND_TASK_CANCEL, body,
                     env != NULL && env->parent != NULL ? NULL : &body->task, NULL, out, out_cap,
                     out_len, id_out);
}

ca_status ca_task_dispute_sign(const ca_identity *signer, const ca_envelope_params *env,
                               const ca_task_dispute *body, uint8_t *out, size_t out_cap,
                               size_t *out_len, ca_hash *id_out)
{
    return sign_body(signer, env, CA_KIND_TASK_DISPUTE, body, NULL, NULL, out, out_cap, out_len,
                     id_out);
}

/* ---- replies: the answered message gives the task, parent and recipient ---- */

/*
 * The envelope params of a `kind` reply to `to`, which must be a `to_kind`:
 * env's times and flags, to's id as parent and to's sender as recipient.
 */
static ca_status reply_params(const ca_identity *signer, const ca_envelope_params *env,
                              const ca_task_msg *to, const size_t *out_len, uint32_t to_kind,
                              uint32_t kind, ca_envelope_params *p)
{
    CAI_REQUIRE(signer);
    CAI_REQUIRE(env);
    CAI_REQUIRE(to);
    CAI_REQUIRE(out_len);
    if (to->kind != to_kind)
        return cai_fail(CA_ERR_WRONG_KIND, "a %s answers a %s, not a %s", cai_task_kind_word(kind),
                        cai_task_kind_word(to_kind), cai_task_kind_word(to->kind));
    ca_status st = check_env_kind(env, kind);
    if (st != CA_OK)
        return st;
    if (env->parent != NULL || env->recipient != NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "a %s reply takes its parent and recipient from the %s it answers: leave "
                        "them NULL in the envelope params",
                        cai_task_kind_word(kind), cai_task_kind_word(to_kind));
    *p = *env;
    p->parent = &to->id;
    p->recipient = &to->sender;
    return CA_OK;
}

ca_status ca_task_bid_reply(const ca_identity *signer, const ca_envelope_params *env,
                            const ca_task_msg *request, uint64_t price, uint64_t completion,
                            uint8_t *out, size_t out_cap, size_t *out_len, ca_hash *id_out)
{
    ca_envelope_params p;
    ca_status st =
        reply_params(signer, env, request, out_len, CA_KIND_TASK_REQUEST, CA_KIND_TASK_BID, &p);
    if (st != CA_OK)
        return st;
    const ca_task_bid b = {.version = CA_TASK_BID_VERSION,
                           .task = request->id,
                           .price = price,
                           .completion = completion,
                           .collateral = request->body.u.request.collateral};
    return sign_body(signer, &p, CA_KIND_TASK_BID, &b, &b.task, NULL, out, out_cap, out_len,
                     id_out);
}

ca_status ca_task_award_reply(const ca_identity *signer, const ca_envelope_params *env,
                              const ca_task_msg *bid, uint64_t deadline, uint8_t *out,
                              size_t out_cap, size_t *out_len, ca_hash *id_out)
{
    ca_envelope_params p;
    ca_status st =
        reply_params(signer, env, bid, out_len, CA_KIND_TASK_BID, CA_KIND_TASK_AWARD, &p);
    if (st != CA_OK)
        return st;
    const ca_task_bid *terms = &bid->body.u.bid;
    const ca_task_award a = {CA_TASK_AWARD_VERSION,
                             bid->task,
                             bid->id,
                             bid->sender,
                             terms->price,
                             terms->collateral,
                             deadline != 0 ? deadline : terms->completion};
    return sign_body(signer, &p, CA_KIND_TASK_AWARD, &a, &a.bid, NULL, out, out_cap, out_len,
                     id_out);
}

ca_status ca_task_result_reply(const ca_identity *signer, const ca_envelope_params *env,
                               const ca_task_msg *award, const ca_task_content *output,
                               uint8_t *out, size_t out_cap, size_t *out_len, ca_hash *id_out)
{
    ca_envelope_params p;
    ca_status st =
        reply_params(signer, env, award, out_len, CA_KIND_TASK_AWARD, CA_KIND_TASK_RESULT, &p);
    if (st != CA_OK)
        return st;
    CAI_REQUIRE(output);
    ca_task_result r;
    memset(&r, 0, sizeof r);
    r.version = CA_TASK_RESULT_VERSION;
    r.task = award->task;
    r.award = award->id;
    r.output = output;
    return sign_body(signer, &p, CA_KIND_TASK_RESULT, &r, &r.award, NULL, out, out_cap, out_len,
                     id_out);
}

ca_status ca_task_receipt_reply(const ca_identity *signer, const ca_envelope_params *env,
                                const ca_task_msg *result, int accept, uint32_t rating,
                                uint64_t paid, uint8_t *out, size_t out_cap, size_t *out_len,
                                ca_hash *id_out)
{
    ca_envelope_params p;
    ca_status st =
        reply_params(signer, env, result, out_len, CA_KIND_TASK_RESULT, CA_KIND_TASK_RECEIPT, &p);
    if (st != CA_OK)
        return st;
    const ca_task_receipt r = {CA_TASK_RECEIPT_VERSION,
                               result->task,
                               result->body.u.result.award,
                               result->id,
                               result->sender,
                               accept,
                               rating,
                               paid};
    return sign_body(signer, &p, CA_KIND_TASK_RECEIPT, &r, &r.result, NULL, out, out_cap, out_len,
                     id_out);
}

/* ---- parsing ---- */

static const char *copy_text(char **dst, const char *src, size_t n)
{
    char *s = *dst;
    if (n > 0)
        memcpy(s, src, n);
    s[n] = '\0';
    *dst += n + 1;
    return s;
}

ca_status cai_task_msg_parse(ca_task_msg **out, const ca_envelope *env, const ca_identity *reader,
                             const ca_envelope_options *opts)
{
    *out = NULL;
    uint32_t kind = ca_envelope_kind(env);
    if (!cai_task_kind(kind))
        return cai_fail(CA_ERR_WRONG_KIND, "envelope of kind %u is not a task message", kind);
    size_t env_len = 0, body_len = 0;
    ca_status st = ca_envelope_encoded(env, NULL, 0, &env_len);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        return st;
    st = ca_envelope_body(env, reader, opts, NULL, 0, &body_len);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        return st;
    ca_task_msg *m = calloc(1, sizeof *m + env_len + 2 * body_len + 2);
    if (m == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory parsing a task message");
    uint8_t *envb = (uint8_t *)(m + 1);
    uint8_t *bodyb = envb + env_len;
    char *text = (char *)(bodyb + body_len);
    st = ca_envelope_encoded(env, envb, env_len, &env_len);
    if (st == CA_OK)
        st = ca_envelope_body(env, reader, opts, bodyb, body_len, &body_len);
    if (st == CA_OK)
        st = cai_task_body_decode(kind, bodyb, body_len, &m->body);
    if (st != CA_OK) {
        free(m);
        return st;
    }
    m->kind = kind;
    m->env = envb;
    m->env_len = env_len;
    m->body_bytes = bodyb;
    m->body_len = body_len;
    ca_envelope_id(env, &m->id);
    ca_envelope_sender(env, &m->sender);
    m->created_at = ca_envelope_created_at(env);
    m->has_parent = ca_envelope_parent(env, &m->parent) != 0;
    cai_task_body *b = &m->body;
    ca_hash implied;
    if (kind == CA_KIND_TASK_REQUEST) {
        m->task = m->id;
        if (m->has_parent)
            st = cai_fail(CA_ERR_MALFORMED, "malformed task request: it has a parent");
    } else {
        (void)cai_task_body_task(b, &m->task);
        if (!m->has_parent)
            st = cai_fail(CA_ERR_MALFORMED, "malformed task message: no parent");
        else if (kind != CA_KIND_TASK_CANCEL && implied_parent(b, &implied) &&
                 memcmp(implied.bytes, m->parent.bytes, CA_HASH_BYTES) != 0)
            st = cai_fail(CA_ERR_MALFORMED,
                          "malformed task message: envelope parent differs from the body's link");
    }
    for (size_t i = 0; st == CA_OK && i < b->chain_count; i++) {
        st = ca_delegation_decode(&m->links[i], b->chain[i].p, b->chain[i].n);
        if (st != CA_OK) {
            char why[200];
            (void)snprintf(why, sizeof why, "%s", ca_last_error());
            st = cai_fail(st, "task %s: delegation link %zu: %s", cai_task_kind_word(kind), i, why);
        } else {
            m->link_count = i + 1;
        }
    }
    if (st == CA_OK && m->link_count > 0) {
        ca_delegation_info root = {.version = CA_DELEGATION_INFO_VERSION};
        st = ca_delegation_get(m->links[0], &root);
        m->delegator = root.issuer;
    }
    if (st != CA_OK) {
        ca_task_msg_free(m);
        return st;
    }
    /* NUL-terminated copies; the views point at them. */
    const char *t = copy_text(&text, b->text != NULL ? b->text : "", b->text_len);
    const char *u = b->uri != NULL ? copy_text(&text, b->uri, b->uri_len) : NULL;
    switch (kind) {
    case CA_KIND_TASK_REQUEST:
        b->u.request.capability = t;
        b->content.uri = u;
        b->u.request.has_recipient = ca_envelope_recipient(env, &b->u.request.recipient) != 0;
        b->u.request.delegation = m->link_count ? (const ca_delegation *const *)m->links : NULL;
        b->u.request.delegation_count = m->link_count;
        break;
    case CA_KIND_TASK_BID:
        b->u.bid.delegation = m->link_count ? (const ca_delegation *const *)m->links : NULL;
        b->u.bid.delegation_count = m->link_count;
        break;
    case CA_KIND_TASK_RESULT:
        b->content.uri = u;
        b->u.result.failure_message = t;
        break;
    case CA_KIND_TASK_CANCEL:
        b->u.cancel.reason = t;
        break;
    case CA_KIND_TASK_DISPUTE:
        b->u.dispute.reason = t;
        b->u.dispute.refs = b->refs;
        break;
    default:
        break;
    }
    *out = m;
    return CA_OK;
}

ca_status ca_task_msg_parse(ca_task_msg **out, const ca_envelope *env, const ca_identity *reader)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(env);
    return cai_task_msg_parse(out, env, reader, NULL);
}

ca_status ca_task_msg_open(ca_task_msg **out, const uint8_t *data, size_t len, uint64_t now,
                           const ca_envelope_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_open(&env, data, len, now, opts);
    if (st == CA_OK)
        st = cai_task_msg_parse(out, env, NULL, opts);
    ca_envelope_free(env);
    return st;
}

void ca_task_msg_free(ca_task_msg *msg)
{
    if (msg == NULL)
        return;
    for (size_t i = 0; i < msg->link_count; i++)
        ca_delegation_free(msg->links[i]);
    free(msg);
}

void cai_task_msg_view_of(const ca_task_msg *m, cai_task_msg_view *v)
{
    v->kind = m->kind;
    v->id = &m->id;
    v->sender = &m->sender;
    v->created_at = m->created_at;
    v->has_parent = m->has_parent;
    v->parent = &m->parent;
    v->task = &m->task;
    v->body = &m->body;
    v->env = m->env;
    v->env_len = m->env_len;
    v->body_bytes = m->body_bytes;
    v->body_len = m->body_len;
    v->links = m->links;
    v->link_count = m->link_count;
}

int ca_task_msg_delegator(const ca_task_msg *msg, ca_agent_id *out)
{
    if (msg == NULL)
        return 0;
    if (out != NULL)
        *out = msg->link_count > 0 ? msg->delegator : msg->sender;
    return msg->link_count > 0;
}

uint32_t ca_task_msg_kind(const ca_task_msg *msg)
{
    return msg != NULL ? msg->kind : 0;
}

void ca_task_msg_id(const ca_task_msg *msg, ca_hash *out)
{
    if (msg != NULL && out != NULL)
        *out = msg->id;
}

void ca_task_msg_sender(const ca_task_msg *msg, ca_agent_id *out)
{
    if (msg != NULL && out != NULL)
        *out = msg->sender;
}

uint64_t ca_task_msg_created_at(const ca_task_msg *msg)
{
    return msg != NULL ? msg->created_at : 0;
}

void ca_task_msg_task_id(const ca_task_msg *msg, ca_hash *out)
{
    if (msg != NULL && out != NULL)
        *out = msg->task;
}

int ca_task_msg_parent(const ca_task_msg *msg, ca_hash *out)
{
    if (msg == NULL || !msg->has_parent)
        return 0;
    if (out != NULL)
        *out = msg->parent;
    return 1;
}

ca_status ca_task_msg_encoded(const ca_task_msg *msg, uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(msg);
    CAI_REQUIRE(out_len);
    ca_status st = cai_check_out(out, out_cap, out_len, msg->env_len);
    if (st == CA_OK)
        memcpy(out, msg->env, msg->env_len);
    return st;
}

/* NOLINTBEGIN(bugprone-macro-parentheses): token pasting, not expressions */
#define VIEW(name, KIND, VERSION, V1_BYTES, FIX)                                                   \
    ca_status ca_task_msg_##name(const ca_task_msg *msg, ca_task_##name *out)                      \
    {                                                                                              \
        CAI_REQUIRE(msg);                                                                          \
        CAI_REQUIRE(out);                                                                          \
        CAI_REQUIRE_VERSION("ca_task_" #name, out->version, VERSION);                              \
        if (msg->kind != KIND)                                                                     \
            return cai_fail(CA_ERR_WRONG_KIND, "task message of kind %u is not a " #name,          \
                            msg->kind);                                                            \
        /* Only the fields of the caller's version; its version stays. */                          \
        const unsigned int version = out->version;                                                 \
        memcpy(out, &msg->body.u.name, version == 1 ? (V1_BYTES) : sizeof *out);                   \
        out->version = version;                                                                    \
        FIX(out, msg);                                                                             \
        return CA_OK;                                                                              \
    }
/* The content a request or result view points to is the message's own. */
#define NO_FIX(out, msg)     (void)0
#define FIX_INPUT(out, msg)  ((out)->input = &(msg)->body.content)
#define FIX_OUTPUT(out, msg) ((out)->output = (out)->failed ? NULL : &(msg)->body.content)
VIEW(request, CA_KIND_TASK_REQUEST, CA_TASK_REQUEST_VERSION, offsetof(ca_task_request, delegation),
     FIX_INPUT)
VIEW(bid, CA_KIND_TASK_BID, CA_TASK_BID_VERSION, offsetof(ca_task_bid, delegation), NO_FIX)
VIEW(award, CA_KIND_TASK_AWARD, CA_TASK_AWARD_VERSION, sizeof *out, NO_FIX)
VIEW(result, CA_KIND_TASK_RESULT, CA_TASK_RESULT_VERSION, sizeof *out, FIX_OUTPUT)
VIEW(receipt, CA_KIND_TASK_RECEIPT, CA_TASK_RECEIPT_VERSION, sizeof *out, NO_FIX)
VIEW(cancel, CA_KIND_TASK_CANCEL, CA_TASK_CANCEL_VERSION, sizeof *out, NO_FIX)
VIEW(dispute, CA_KIND_TASK_DISPUTE, CA_TASK_DISPUTE_VERSION, sizeof *out, NO_FIX)
#undef NO_FIX
#undef FIX_INPUT
#undef FIX_OUTPUT
#undef VIEW
/* NOLINTEND(bugprone-macro-parentheses) */
