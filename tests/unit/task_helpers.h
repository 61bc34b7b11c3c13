/* Builders of signed task messages shared by the task tests and the bench (no cmocka here). */
#ifndef CA_TASK_HELPERS_H
#define CA_TASK_HELPERS_H

#include <string.h>

#include "cyberagent.h"

#define TH_DAY 86400000ull

typedef struct th_msg {
    uint8_t buf[2048];
    size_t len;
    ca_hash id;
} th_msg;

static inline void th_env(ca_envelope_params *ep, uint64_t created, const ca_hash *parent)
{
    (void)ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION);
    ep->created_at = created;
    ep->expires_at = created + TH_DAY;
    ep->parent = parent;
}

static inline ca_status th_request(th_msg *m, const ca_identity *who, uint64_t created,
                                   uint64_t deadline, uint64_t max_price, uint64_t collateral,
                                   const ca_agent_id *recipient)
{
    ca_envelope_params ep;
    th_env(&ep, created, NULL);
    ca_task_request b = {.version = CA_TASK_REQUEST_VERSION};
    b.capability = "llm.translate.en-fr";
    const ca_task_content in = {
        .version = CA_TASK_CONTENT_VERSION, .data = (const uint8_t *)"bonjour", .data_len = 7};
    b.input = &in;
    b.max_price = max_price;
    b.deadline = deadline;
    b.collateral = collateral;
    if (recipient != NULL) {
        b.has_recipient = 1;
        b.recipient = *recipient;
    }
    return ca_task_request_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_bid(th_msg *m, const ca_identity *who, const ca_hash *task,
                               uint64_t created, uint64_t price, uint64_t completion,
                               uint64_t collateral)
{
    ca_envelope_params ep;
    th_env(&ep, created, NULL);
    ca_task_bid b = {.version = CA_TASK_BID_VERSION,
                     .task = *task,
                     .price = price,
                     .completion = completion,
                     .collateral = collateral};
    return ca_task_bid_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_award(th_msg *m, const ca_identity *who, const ca_hash *task,
                                 const ca_hash *bid, const ca_agent_id *worker, uint64_t price,
                                 uint64_t collateral, uint64_t deadline, uint64_t created)
{
    ca_envelope_params ep;
    th_env(&ep, created, NULL);
    ca_task_award b = {CA_TASK_AWARD_VERSION, *task, *bid, *worker, price, collateral, deadline};
    return ca_task_award_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_result(th_msg *m, const ca_identity *who, const ca_hash *task,
                                  const ca_hash *award, uint64_t created, int failed,
                                  const char *text)
{
    ca_envelope_params ep;
    th_env(&ep, created, NULL);
    ca_task_result b = {.version = CA_TASK_RESULT_VERSION};
    ca_task_content out = {.version = CA_TASK_CONTENT_VERSION};
    b.task = *task;
    b.award = *award;
    b.failed = failed;
    if (failed) {
        b.failure_code = 7;
        b.failure_message = text;
    } else {
        out.data = (const uint8_t *)text;
        out.data_len = strlen(text);
        b.output = &out;
    }
    return ca_task_result_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_receipt(th_msg *m, const ca_identity *who, const ca_hash *task,
                                   const ca_hash *award, const ca_hash *result,
                                   const ca_agent_id *worker, int accept, uint32_t rating,
                                   uint64_t paid, uint64_t created)
{
    ca_envelope_params ep;
    th_env(&ep, created, NULL);
    ca_task_receipt b = {
        CA_TASK_RECEIPT_VERSION, *task, *award, *result, *worker, accept, rating, paid};
    return ca_task_receipt_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_cancel(th_msg *m, const ca_identity *who, const ca_hash *task,
                                  const ca_hash *parent, uint64_t created)
{
    ca_envelope_params ep;
    th_env(&ep, created, parent);
    ca_task_cancel b = {CA_TASK_CANCEL_VERSION, *task, "changed my mind"};
    return ca_task_cancel_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_dispute(th_msg *m, const ca_identity *who, const ca_hash *task,
                                   const ca_hash *parent, const ca_hash *refs, size_t n,
                                   uint64_t created)
{
    ca_envelope_params ep;
    th_env(&ep, created, parent);
    ca_task_dispute b = {CA_TASK_DISPUTE_VERSION, *task, "output is not French", refs, n};
    return ca_task_dispute_sign(who, &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static inline ca_status th_new(ca_task **t, const th_msg *m, uint64_t now)
{
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, m->buf, m->len, NULL);
    if (st == CA_OK)
        st = ca_task_new(t, env, now, NULL);
    ca_envelope_free(env);
    return st;
}

static inline ca_status th_apply(ca_task *t, const th_msg *m, uint64_t now)
{
    return ca_task_apply_bytes(t, m->buf, m->len, now);
}

/* A standard six-message hire: request, bid (w1), bid (w2), award (w1), result, receipt. */
#define TH_T0 1700000000000ull

typedef struct th_hire {
    th_msg request, bid1, bid2, award, result, receipt;
} th_hire;

static inline ca_status th_build_hire(th_hire *h, const ca_identity *req, const ca_identity *w1,
                                      const ca_identity *w2, int failed)
{
    ca_agent_id w1id;
    ca_identity_id(w1, &w1id);
    ca_status st = th_request(&h->request, req, TH_T0, TH_T0 + 10000, 100, 10, NULL);
    if (st == CA_OK)
        st = th_bid(&h->bid1, w1, &h->request.id, TH_T0 + 100, 80, TH_T0 + 5000, 10);
    if (st == CA_OK)
        st = th_bid(&h->bid2, w2, &h->request.id, TH_T0 + 200, 90, TH_T0 + 6000, 20);
    if (st == CA_OK)
        st = th_award(&h->award, req, &h->request.id, &h->bid1.id, &w1id, 80, 10, TH_T0 + 8000,
                      TH_T0 + 300);
    if (st == CA_OK)
        st = th_result(&h->result, w1, &h->request.id, &h->award.id, TH_T0 + 1000, failed,
                       failed ? "model overloaded" : "bonjour -> hello");
    if (st == CA_OK)
        st = th_receipt(&h->receipt, req, &h->request.id, &h->award.id, &h->result.id, &w1id, 1, 90,
                        80, TH_T0 + 2000);
    return st;
}

/* A thread holding the whole of a th_build_hire hire, each message applied at its time + 10. */
static inline ca_status th_hire_thread(ca_task **t, const th_hire *h)
{
    *t = NULL;
    ca_status st = th_new(t, &h->request, TH_T0 + 10);
    const th_msg *rest[] = {&h->bid1, &h->bid2, &h->award, &h->result, &h->receipt};
    const uint64_t at[] = {110, 210, 310, 1010, 2010};
    for (size_t i = 0; st == CA_OK && i < sizeof rest / sizeof rest[0]; i++)
        st = th_apply(*t, rest[i], TH_T0 + at[i]);
    return st;
}

#endif
