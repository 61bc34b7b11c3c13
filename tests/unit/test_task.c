/* Task protocol: bodies, every rule of the thread state machine, evidence, serialization. */
#include <stdlib.h>

#include "cyberagent.h"
#include "task/task_internal.h"
#include "task_helpers.h"
#include "test_util.h"
#include "wire/wire.h"

#define T0 TH_T0

static ca_identity *R, *W1, *W2, *X; /* requester, two bidders, an outsider */
static ca_agent_id RID, W1ID, W2ID, XID;

static int setup(void **state)
{
    (void)state;
    ca_identity **ids[4] = {&R, &W1, &W2, &X};
    ca_agent_id *pks[4] = {&RID, &W1ID, &W2ID, &XID};
    for (int i = 0; i < 4; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), 0x7a};
        if (ca_identity_from_seed(ids[i], seed) != CA_OK)
            return -1;
        ca_identity_id(*ids[i], pks[i]);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ca_identity_free(R);
    ca_identity_free(W1);
    ca_identity_free(W2);
    ca_identity_free(X);
    return 0;
}

/* Applies at the message's own time + 10 ms. */
static ca_status put(ca_task *t, const th_msg *m)
{
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, m->buf, m->len, NULL);
    if (st != CA_OK)
        return st;
    uint64_t now = ca_envelope_created_at(env) + 10;
    ca_envelope_free(env);
    return th_apply(t, m, now);
}

static ca_task *start(const th_hire *h)
{
    ca_task *t = NULL;
    assert_ok(th_new(&t, &h->request, T0 + 10));
    return t;
}

/* Applies a rejected message and checks the thread did not change. */
static void expect_reject(ca_task *t, const th_msg *m, uint64_t now, ca_status want)
{
    ca_hash before, after;
    assert_ok(ca_task_digest(t, &before));
    size_t n = ca_task_message_count(t);
    ca_task_state s = ca_task_get_state(t);
    ca_status got = th_apply(t, m, now);
    if (got != want)
        fail_msg("expected %s, got %s (%s)", ca_status_str(want), ca_status_str(got),
                 ca_last_error());
    assert_ok(ca_task_digest(t, &after));
    assert_memory_equal(before.bytes, after.bytes, 32);
    assert_int_equal(n, ca_task_message_count(t));
    assert_int_equal(s, ca_task_get_state(t));
}

static void test_happy_path(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = start(&h);
    assert_int_equal(ca_task_get_state(t), CA_TASK_SUBMITTED);
    assert_string_equal(ca_task_state_name(CA_TASK_SUBMITTED), "submitted");
    ca_hash id;
    ca_task_id(t, &id);
    assert_memory_equal(id.bytes, h.request.id.bytes, 32);
    ca_agent_id who;
    ca_task_requester(t, &who);
    assert_memory_equal(who.bytes, RID.bytes, 32);
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.bid2));
    assert_int_equal(ca_task_bid_count(t), 2);
    assert_null(ca_task_last(t, CA_KIND_TASK_AWARD));
    assert_ok(put(t, &h.award));
    assert_int_equal(ca_task_get_state(t), CA_TASK_WORKING);
    assert_string_equal(ca_task_state_name(ca_task_get_state(t)), "working");
    const ca_task_msg *aw = ca_task_last(t, CA_KIND_TASK_AWARD);
    assert_non_null(aw);
    ca_task_award a = {.version = CA_TASK_AWARD_VERSION};
    assert_ok(ca_task_msg_award(aw, &a));
    assert_memory_equal(a.worker.bytes, W1ID.bytes, 32);
    assert_true(a.price == 80 && a.collateral == 10 && a.deadline == T0 + 8000);
    assert_ok(put(t, &h.result));
    assert_int_equal(ca_task_get_state(t), CA_TASK_INPUT_REQUIRED);
    assert_string_equal(ca_task_state_name(ca_task_get_state(t)), "input-required");
    assert_ok(put(t, &h.receipt));
    assert_int_equal(ca_task_get_state(t), CA_TASK_COMPLETED);
    assert_int_equal(ca_task_message_count(t), 6);

    /* typed views of every message */
    const ca_task_msg *m = ca_task_message(t, 0);
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    assert_ok(ca_task_msg_request(m, &rq));
    assert_string_equal(rq.capability, "llm.translate.en-fr");
    assert_int_equal(rq.input->data_len, 7);
    assert_memory_equal(rq.input->data, "bonjour", 7);
    assert_null(rq.input->uri);
    assert_false(rq.has_recipient);
    assert_false(ca_task_msg_parent(m, NULL));
    ca_task_bid bid = {.version = CA_TASK_BID_VERSION};
    assert_status(CA_ERR_WRONG_KIND, ca_task_msg_bid(m, &bid));
    m = ca_task_find(t, &h.result.id);
    assert_non_null(m);
    ca_task_result res = {.version = CA_TASK_RESULT_VERSION};
    assert_ok(ca_task_msg_result(m, &res));
    assert_false(res.failed);
    assert_memory_equal(res.output->data, "bonjour -> hello", 16);
    ca_hash parent;
    assert_true(ca_task_msg_parent(m, &parent));
    assert_memory_equal(parent.bytes, h.award.id.bytes, 32);
    ca_task_msg_task_id(m, &parent);
    assert_memory_equal(parent.bytes, h.request.id.bytes, 32);
    m = ca_task_find(t, &h.receipt.id);
    ca_task_receipt rc = {.version = CA_TASK_RECEIPT_VERSION};
    assert_ok(ca_task_msg_receipt(m, &rc));
    assert_true(rc.accept && rc.rating == 90 && rc.paid == 80);
    assert_memory_equal(rc.worker.bytes, W1ID.bytes, 32);
    uint8_t enc[2048];
    size_t enc_len = 0;
    assert_ok(ca_task_msg_encoded(m, enc, sizeof enc, &enc_len));
    assert_int_equal(enc_len, h.receipt.len);
    assert_memory_equal(enc, h.receipt.buf, enc_len);
    assert_null(ca_task_message(t, 6));

    /* the digest does not depend on the order the two bids came in */
    ca_task *t2 = start(&h);
    assert_ok(put(t2, &h.bid2));
    assert_ok(put(t2, &h.bid1));
    assert_ok(put(t2, &h.award));
    assert_ok(put(t2, &h.result));
    assert_ok(put(t2, &h.receipt));
    ca_hash d1, d2;
    assert_ok(ca_task_digest(t, &d1));
    assert_ok(ca_task_digest(t2, &d2));
    assert_memory_equal(d1.bytes, d2.bytes, 32);
    ca_task_free(t2);
    ca_task_free(t);
    ca_task_free(NULL);
}

static void test_failed_and_rejected(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 1));
    ca_task *t = start(&h);
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.award));
    assert_ok(put(t, &h.result));
    ca_task_result res = {.version = CA_TASK_RESULT_VERSION};
    const ca_task_msg *m = ca_task_last(t, CA_KIND_TASK_RESULT);
    assert_non_null(m);
    assert_ok(ca_task_msg_result(m, &res));
    assert_true(res.failed && res.failure_code == 7);
    assert_string_equal(res.failure_message, "model overloaded");
    assert_ok(put(t, &h.receipt));
    assert_int_equal(ca_task_get_state(t), CA_TASK_FAILED);
    ca_task_free(t);

    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    th_msg reject;
    assert_ok(th_receipt(&reject, R, &h.request.id, &h.award.id, &h.result.id, &W1ID, 0, 5, 0,
                         T0 + 2000));
    t = start(&h);
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.award));
    assert_ok(put(t, &h.result));
    assert_ok(put(t, &reject));
    assert_int_equal(ca_task_get_state(t), CA_TASK_REJECTED);
    assert_string_equal(ca_task_state_name(CA_TASK_REJECTED), "rejected");
    /* terminal: a second receipt is out of order */
    expect_reject(t, &h.receipt, T0 + 2010, CA_ERR_TASK_ORDER);
    ca_task_free(t);
}

static void test_request_rules(void **state)
{
    (void)state;
    th_msg m;
    ca_task *t = NULL;
    /* deadline not after creation: the builder refuses; a hand-made one is refused by the task */
    assert_status(CA_ERR_INVALID_ARGUMENT, th_request(&m, R, T0, T0, 100, 10, NULL));
    /* a non-request cannot start a task */
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    assert_status(CA_ERR_WRONG_KIND, th_new(&t, &h.bid1, T0 + 110));
    assert_null(t);
    /* the request is verified: expired, not yet valid, forged */
    assert_status(CA_ERR_EXPIRED, th_new(&t, &h.request, T0 + 2 * TH_DAY));
    assert_status(CA_ERR_NOT_YET_VALID, th_new(&t, &h.request, T0 - TH_DAY));
    m = h.request;
    m.buf[m.len - 3] ^= 0x40;
    assert_status(CA_ERR_BAD_SIGNATURE, th_new(&t, &m, T0 + 10));
    /* another request is another task */
    t = start(&h);
    th_msg other;
    assert_ok(th_request(&other, R, T0 + 1, T0 + 10000, 100, 10, NULL));
    expect_reject(t, &other, T0 + 20, CA_ERR_TASK_MISMATCH);
    expect_reject(t, &h.request, T0 + 20, CA_ERR_TASK_DUPLICATE);
    ca_task_free(t);
}

static void test_bid_rules(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = start(&h);
    const ca_hash *task = &h.request.id;
    th_msg m;
    uint64_t now = T0 + 500;
    assert_ok(th_bid(&m, R, task, T0 + 100, 80, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_FORBIDDEN); /* requester bids */
    assert_ok(th_bid(&m, W1, task, T0 + 100, 101, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* above max price */
    assert_ok(th_bid(&m, W1, task, T0 + 100, 80, T0 + 5000, 9));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* collateral below required */
    assert_ok(th_bid(&m, W1, task, T0 + 100, 80, T0 + 10001, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* completion after deadline */
    assert_ok(th_bid(&m, W1, task, T0 + 100, 80, T0 + 100, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* completion not after creation */
    assert_ok(th_bid(&m, W1, task, T0 + 10001, 80, T0 + 10000, 10));
    expect_reject(t, &m, T0 + 10001, CA_ERR_TASK_DEADLINE); /* created after deadline */
    expect_reject(t, &h.bid1, T0 + 10000 + 30001, CA_ERR_TASK_DEADLINE); /* arrives too late */
    assert_ok(th_bid(&m, W1, task, T0 - 1, 80, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_TIMESTAMP); /* before the request */
    ca_hash other_task = {{9}};
    assert_ok(th_bid(&m, W1, &other_task, T0 + 100, 80, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_MISMATCH);
    /* a forged bid: any flipped signature bit */
    m = h.bid1;
    m.buf[m.len - 1] ^= 1;
    expect_reject(t, &m, now, CA_ERR_BAD_SIGNATURE);
    /* the first real bid goes in; a repeat is a duplicate; a second one is equivocation */
    assert_ok(th_apply(t, &h.bid1, now));
    expect_reject(t, &h.bid1, now, CA_ERR_TASK_DUPLICATE);
    /* a second bid the rules refuse is refused for that rule: it proves nothing */
    assert_ok(th_bid(&m, W1, task, T0 + 150, 101, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS);
    /* the same terms in a new envelope are the same statement: a duplicate */
    assert_ok(th_bid(&m, W1, task, T0 + 150, 80, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_DUPLICATE);
    assert_ok(th_bid(&m, W1, task, T0 + 150, 70, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_EQUIVOCATION);
    /* evidence from the thread verifies offline */
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, m.buf, m.len, NULL));
    uint8_t ev[8192];
    size_t ev_len = 0;
    assert_ok(ca_task_evidence(t, env, ev, sizeof ev, &ev_len));
    ca_agent_id offender;
    ca_hash ev_task, ev_hash;
    uint32_t kind = 0;
    assert_ok(ca_evidence_verify(ev, ev_len, &offender, &ev_task, &kind, &ev_hash));
    assert_memory_equal(offender.bytes, W1ID.bytes, 32);
    assert_memory_equal(ev_task.bytes, task->bytes, 32);
    assert_int_equal(kind, CA_KIND_TASK_BID);
    ca_envelope_free(env);
    /* no evidence for a message that conflicts with nothing */
    assert_ok(ca_envelope_decode(&env, h.bid2.buf, h.bid2.len, NULL));
    assert_status(CA_ERR_NOT_FOUND, ca_task_evidence(t, env, ev, sizeof ev, &ev_len));
    ca_envelope_free(env);
    /* after the award, bids are out of order; a bidder's second bid is still
     * judged as it would have been before the award, and still equivocation */
    assert_ok(put(t, &h.award));
    expect_reject(t, &h.bid2, T0 + 400, CA_ERR_TASK_ORDER);
    expect_reject(t, &m, T0 + 400, CA_ERR_TASK_EQUIVOCATION);
    assert_ok(ca_envelope_decode(&env, m.buf, m.len, NULL));
    assert_ok(ca_task_evidence(t, env, ev, sizeof ev, &ev_len));
    ca_envelope_free(env);
    ca_task_free(t);

    /* direct hire: only the recipient bids */
    th_msg req;
    assert_ok(th_request(&req, R, T0, T0 + 10000, 100, 10, &W2ID));
    assert_ok(th_new(&t, &req, T0 + 10));
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    assert_ok(ca_task_msg_request(ca_task_message(t, 0), &rq));
    assert_true(rq.has_recipient);
    assert_memory_equal(rq.recipient.bytes, W2ID.bytes, 32);
    assert_ok(th_bid(&m, W1, &req.id, T0 + 100, 80, T0 + 5000, 10));
    expect_reject(t, &m, now, CA_ERR_TASK_FORBIDDEN);
    assert_ok(th_bid(&m, W2, &req.id, T0 + 100, 80, T0 + 5000, 10));
    assert_ok(th_apply(t, &m, now));
    ca_task_free(t);
}

static void test_award_rules(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = start(&h);
    const ca_hash *task = &h.request.id;
    th_msg m;
    uint64_t now = T0 + 400;
    /* the bid is not in yet: unknown parent */
    expect_reject(t, &h.award, now, CA_ERR_TASK_UNKNOWN_PARENT);
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.bid2));
    assert_ok(th_award(&m, W2, task, &h.bid1.id, &W1ID, 80, 10, T0 + 8000, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_FORBIDDEN); /* not the requester */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W2ID, 80, 10, T0 + 8000, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* worker is not the bidder */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W1ID, 79, 10, T0 + 8000, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* price differs */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W1ID, 80, 11, T0 + 8000, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* collateral differs */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W1ID, 80, 10, T0 + 4999, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* deadline before promised completion */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W1ID, 80, 10, T0 + 10001, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* deadline after the request's */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W1ID, 80, 10, T0 + 8000, T0 + 50));
    expect_reject(t, &m, now, CA_ERR_TASK_TIMESTAMP); /* before its bid */
    assert_ok(th_award(&m, R, task, &h.bid1.id, &W1ID, 80, 10, T0 + 10000, T0 + 10001));
    expect_reject(t, &m, T0 + 10001, CA_ERR_TASK_DEADLINE); /* after the request deadline */
    assert_ok(th_award(&m, R, task, &h.request.id, &W1ID, 80, 10, T0 + 8000, T0 + 300));
    expect_reject(t, &m, now, CA_ERR_TASK_UNKNOWN_PARENT); /* parent is not a bid */
    assert_ok(put(t, &h.award));
    /* a second, different award is equivocation, with verifiable evidence */
    th_msg m2;
    assert_ok(th_award(&m2, R, task, &h.bid2.id, &W2ID, 91, 20, T0 + 8000, T0 + 310));
    expect_reject(t, &m2, now, CA_ERR_TASK_TERMS); /* a broken second award proves nothing */
    assert_ok(th_award(&m2, R, task, &h.bid1.id, &W1ID, 80, 10, T0 + 8000, T0 + 320));
    expect_reject(t, &m2, now, CA_ERR_TASK_DUPLICATE); /* same award, new envelope */
    assert_ok(th_award(&m, R, task, &h.bid2.id, &W2ID, 90, 20, T0 + 8000, T0 + 310));
    expect_reject(t, &m, now, CA_ERR_TASK_EQUIVOCATION);
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, m.buf, m.len, NULL));
    uint8_t ev[8192];
    size_t ev_len = 0;
    assert_ok(ca_task_evidence(t, env, ev, sizeof ev, &ev_len));
    ca_agent_id off;
    uint32_t kind;
    assert_ok(ca_evidence_verify(ev, ev_len, &off, NULL, &kind, NULL));
    assert_memory_equal(off.bytes, RID.bytes, 32);
    assert_int_equal(kind, CA_KIND_TASK_AWARD);
    ca_envelope_free(env);
    ca_task_free(t);

    /* no award after a cancel */
    t = start(&h);
    assert_ok(put(t, &h.bid1));
    assert_ok(th_cancel(&m, R, task, task, T0 + 200));
    assert_ok(put(t, &m));
    assert_int_equal(ca_task_get_state(t), CA_TASK_CANCELED);
    expect_reject(t, &h.award, now, CA_ERR_TASK_ORDER);
    ca_task_free(t);
}

static void test_result_rules(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = start(&h);
    const ca_hash *task = &h.request.id;
    th_msg m;
    uint64_t now = T0 + 1010;
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.bid2));
    expect_reject(t, &h.result, now, CA_ERR_TASK_UNKNOWN_PARENT); /* before the award */
    assert_ok(put(t, &h.award));
    assert_ok(th_result(&m, W2, task, &h.award.id, T0 + 1000, 0, "x"));
    expect_reject(t, &m, now, CA_ERR_TASK_FORBIDDEN); /* a losing bidder */
    assert_ok(th_result(&m, R, task, &h.award.id, T0 + 1000, 0, "x"));
    expect_reject(t, &m, now, CA_ERR_TASK_FORBIDDEN); /* the requester */
    assert_ok(th_result(&m, W1, task, &h.award.id, T0 + 8001, 0, "x"));
    expect_reject(t, &m, T0 + 8001, CA_ERR_TASK_DEADLINE); /* created after the deadline */
    expect_reject(t, &h.result, T0 + 8000 + 30001, CA_ERR_TASK_DEADLINE); /* arrives too late */
    assert_ok(th_result(&m, W1, task, &h.award.id, T0 + 299, 0, "x"));
    expect_reject(t, &m, now, CA_ERR_TASK_TIMESTAMP); /* before the award */
    assert_ok(th_result(&m, W1, task, &h.bid1.id, T0 + 1000, 0, "x"));
    expect_reject(t, &m, now, CA_ERR_TASK_UNKNOWN_PARENT); /* names a bid, not the award */
    assert_ok(put(t, &h.result));
    th_msg m2;
    assert_ok(th_result(&m2, W1, task, &h.award.id, T0 + 8001, 0, "too late"));
    expect_reject(t, &m2, T0 + 8001, CA_ERR_TASK_DEADLINE); /* a late second result: no offense */
    assert_ok(th_result(&m2, W1, task, &h.award.id, T0 + 1002, 0, "bonjour -> hello"));
    expect_reject(t, &m2, now, CA_ERR_TASK_DUPLICATE); /* same output, new envelope */
    assert_ok(th_result(&m, W1, task, &h.award.id, T0 + 1001, 0, "something else"));
    expect_reject(t, &m, now, CA_ERR_TASK_EQUIVOCATION);
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, m.buf, m.len, NULL));
    uint8_t ev[8192];
    size_t ev_len = 0;
    assert_ok(ca_task_evidence(t, env, ev, sizeof ev, &ev_len));
    ca_agent_id off;
    uint32_t kind;
    assert_ok(ca_evidence_verify(ev, ev_len, &off, NULL, &kind, NULL));
    assert_memory_equal(off.bytes, W1ID.bytes, 32);
    assert_int_equal(kind, CA_KIND_TASK_RESULT);
    ca_envelope_free(env);
    /* even after the receipt, a second result is still equivocation */
    assert_ok(put(t, &h.receipt));
    expect_reject(t, &m, now, CA_ERR_TASK_EQUIVOCATION);
    ca_task_free(t);
}

static void test_receipt_rules(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = start(&h);
    const ca_hash *task = &h.request.id;
    th_msg m;
    uint64_t now = T0 + 2010;
    assert_ok(put(t, &h.bid1));
    expect_reject(t, &h.receipt, now, CA_ERR_TASK_UNKNOWN_PARENT); /* before award */
    assert_ok(put(t, &h.award));
    expect_reject(t, &h.receipt, now, CA_ERR_TASK_UNKNOWN_PARENT); /* before result */
    assert_ok(put(t, &h.result));
    assert_ok(th_receipt(&m, W1, task, &h.award.id, &h.result.id, &W1ID, 1, 100, 80, T0 + 2000));
    expect_reject(t, &m, now, CA_ERR_TASK_FORBIDDEN); /* the worker rates itself */
    assert_ok(th_receipt(&m, R, task, &h.award.id, &h.result.id, &W1ID, 1, 90, 81, T0 + 2000));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* pays more than the award price */
    assert_ok(th_receipt(&m, R, task, &h.award.id, &h.result.id, &W2ID, 1, 90, 80, T0 + 2000));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* names another worker */
    assert_ok(th_receipt(&m, R, task, &h.bid1.id, &h.result.id, &W1ID, 1, 90, 80, T0 + 2000));
    expect_reject(t, &m, now, CA_ERR_TASK_TERMS); /* names another award */
    assert_ok(th_receipt(&m, R, task, &h.award.id, &h.award.id, &W1ID, 1, 90, 80, T0 + 2000));
    expect_reject(t, &m, now, CA_ERR_TASK_UNKNOWN_PARENT); /* parent is not the result */
    assert_ok(th_receipt(&m, R, task, &h.award.id, &h.result.id, &W1ID, 1, 90, 80, T0 + 999));
    expect_reject(t, &m, now, CA_ERR_TASK_TIMESTAMP); /* before the result */
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  th_receipt(&m, R, task, &h.award.id, &h.result.id, &W1ID, 1, 101, 80, T0 + 2000));
    assert_ok(put(t, &h.receipt));
    assert_int_equal(ca_task_get_state(t), CA_TASK_COMPLETED);
    ca_task_free(t);
}

static void test_cancel_rules(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    const ca_hash *task = &h.request.id;
    th_msg m;
    ca_task *t = start(&h);
    assert_ok(put(t, &h.bid1));
    assert_ok(th_cancel(&m, W1, task, task, T0 + 200));
    expect_reject(t, &m, T0 + 210, CA_ERR_TASK_FORBIDDEN); /* only the requester cancels */
    assert_ok(th_cancel(&m, R, task, &h.bid1.id, T0 + 200));
    expect_reject(t, &m, T0 + 210, CA_ERR_TASK_ORDER); /* must name the request */
    ca_hash nowhere = {{3}};
    assert_ok(th_cancel(&m, R, task, &nowhere, T0 + 200));
    expect_reject(t, &m, T0 + 210, CA_ERR_TASK_UNKNOWN_PARENT);
    assert_ok(put(t, &h.award));
    /* after the award: only once its deadline has passed, naming the award */
    assert_ok(th_cancel(&m, R, task, task, T0 + 9000));
    expect_reject(t, &m, T0 + 9010, CA_ERR_TASK_ORDER);
    assert_ok(th_cancel(&m, R, task, &h.award.id, T0 + 8000));
    expect_reject(t, &m, T0 + 8010, CA_ERR_TASK_DEADLINE); /* created at the deadline */
    assert_ok(th_cancel(&m, R, task, &h.award.id, T0 + 8001));
    expect_reject(t, &m, T0 + 7000, CA_ERR_TASK_DEADLINE); /* our clock: not yet passed */
    assert_ok(th_apply(t, &m, T0 + 8010));
    assert_int_equal(ca_task_get_state(t), CA_TASK_CANCELED);
    assert_string_equal(ca_task_state_name(CA_TASK_CANCELED), "canceled");
    /* a late result after that cancel: deadline (and state) forbid it */
    expect_reject(t, &h.result, T0 + 8020, CA_ERR_TASK_ORDER);
    ca_task_free(t);

    /* no cancel once a result is in */
    t = start(&h);
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.award));
    assert_ok(put(t, &h.result));
    assert_ok(th_cancel(&m, R, task, &h.award.id, T0 + 9000));
    expect_reject(t, &m, T0 + 9010, CA_ERR_TASK_ORDER);
    ca_task_free(t);
}

static void test_dispute_rules(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    const ca_hash *task = &h.request.id;
    th_msg m, m2;
    ca_task *t = start(&h);
    assert_ok(put(t, &h.bid1));
    assert_ok(th_dispute(&m, R, task, &h.bid1.id, &h.bid1.id, 1, T0 + 200));
    expect_reject(t, &m, T0 + 210, CA_ERR_TASK_ORDER); /* nothing awarded yet */
    assert_ok(put(t, &h.award));
    assert_ok(put(t, &h.result));
    ca_hash refs[2] = {h.award.id, h.result.id};
    assert_ok(th_dispute(&m, X, task, &h.result.id, refs, 2, T0 + 1500));
    expect_reject(t, &m, T0 + 1510, CA_ERR_TASK_FORBIDDEN); /* an outsider */
    assert_ok(th_dispute(&m, W2, task, &h.result.id, refs, 2, T0 + 1500));
    expect_reject(t, &m, T0 + 1510, CA_ERR_TASK_FORBIDDEN); /* a losing bidder */
    ca_hash bad_refs[2] = {h.award.id, {{5}}};
    assert_ok(th_dispute(&m, R, task, &h.result.id, bad_refs, 2, T0 + 1500));
    expect_reject(t, &m, T0 + 1510, CA_ERR_TASK_UNKNOWN_PARENT); /* relies on an unknown id */
    assert_ok(th_dispute(&m, R, task, &h.result.id, refs, 2, T0 + 500));
    expect_reject(t, &m, T0 + 1510, CA_ERR_TASK_TIMESTAMP); /* before its parent */
    assert_ok(th_dispute(&m, R, task, &h.result.id, refs, 2, T0 + 1500));
    assert_ok(th_apply(t, &m, T0 + 1510));
    assert_true(ca_task_disputed(t, CA_TASK_PARTY_REQUESTER));
    assert_false(ca_task_disputed(t, CA_TASK_PARTY_WORKER));
    assert_int_equal(ca_task_get_state(t), CA_TASK_INPUT_REQUIRED); /* state unchanged */
    ca_task_dispute d = {.version = CA_TASK_DISPUTE_VERSION};
    assert_ok(ca_task_msg_dispute(ca_task_find(t, &m.id), &d));
    assert_int_equal(d.ref_count, 2);
    assert_memory_equal(d.refs[1].bytes, h.result.id.bytes, 32);
    assert_string_equal(d.reason, "output is not French");
    assert_ok(th_dispute(&m2, R, task, &h.award.id, refs, 1, T0 + 1600));
    expect_reject(t, &m2, T0 + 1610, CA_ERR_TASK_ORDER); /* one dispute per party */
    /* the worker may dispute too, even after the receipt */
    assert_ok(put(t, &h.receipt));
    assert_ok(th_dispute(&m2, W1, task, &h.receipt.id, &h.receipt.id, 1, T0 + 2500));
    assert_ok(put(t, &m2));
    assert_true(ca_task_disputed(t, CA_TASK_PARTY_WORKER));
    ca_task_free(t);
    /* the builder needs an explicit parent and distinct refs */
    ca_envelope_params ep;
    th_env(&ep, T0, NULL);
    ca_task_dispute body = {CA_TASK_DISPUTE_VERSION, *task, "x", refs, 1};
    size_t len;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_dispute_sign(R, &ep, &body, m.buf, sizeof m.buf, &len, NULL));
    ca_hash twice[2] = {h.award.id, h.award.id};
    body.refs = twice;
    body.ref_count = 2;
    ep.parent = &h.award.id;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_dispute_sign(R, &ep, &body, m.buf, sizeof m.buf, &len, NULL));
    body.ref_count = 0;
    assert_status(CA_ERR_LIMIT,
                  ca_task_dispute_sign(R, &ep, &body, m.buf, sizeof m.buf, &len, NULL));
}

/* Deadlines at the end of time: the skew allowance saturates instead of wrapping. */
static void test_far_deadline(void **state)
{
    (void)state;
    const uint64_t end = UINT64_MAX - 5;
    th_msg rq, bid;
    ca_task *t = NULL;
    assert_ok(th_request(&rq, R, T0, end, 100, 10, NULL));
    assert_ok(th_new(&t, &rq, T0 + 10));
    assert_ok(th_bid(&bid, W1, &rq.id, T0 + 100, 80, end, 10));
    assert_ok(th_apply(t, &bid, T0 + 110));
    ca_task_free(t);
}

static void test_limit(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task_options o;
    assert_ok(ca_task_options_init(&o, CA_TASK_OPTIONS_VERSION));
    assert_int_equal(o.max_messages, CA_TASK_MAX_MESSAGES_DEFAULT);
    assert_int_equal(o.max_bids, CA_TASK_MAX_BIDS_DEFAULT);
    o.max_bids = 1;
    ca_envelope *env = NULL;
    ca_task *t = NULL;
    assert_ok(ca_envelope_decode(&env, h.request.buf, h.request.len, NULL));
    assert_ok(ca_task_new(&t, env, T0 + 10, &o));
    assert_ok(put(t, &h.bid1));
    expect_reject(t, &h.bid2, T0 + 210, CA_ERR_LIMIT); /* the bid only */
    assert_ok(put(t, &h.award));                       /* the rest of the hire still fits */
    assert_ok(put(t, &h.result));
    assert_ok(put(t, &h.receipt));
    ca_task_free(t);
    /* max_messages keeps room for the non-bid messages and one bid; max_bids >= 1 */
    o.max_bids = 1;
    o.max_messages = CA_TASK_NONBID_MAX;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_new(&t, env, T0 + 10, &o));
    o.max_messages = CA_TASK_NONBID_MAX + 1;
    o.max_bids = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_new(&t, env, T0 + 10, &o));
    assert_null(t);
    /* the bid bound is the smaller of max_bids and max_messages - CA_TASK_NONBID_MAX */
    o.max_bids = 5;
    assert_ok(ca_task_new(&t, env, T0 + 10, &o));
    assert_ok(put(t, &h.bid1));
    expect_reject(t, &h.bid2, T0 + 210, CA_ERR_LIMIT);
    ca_task_free(t);
    assert_status(CA_ERR_UNSUPPORTED, ca_task_options_init(&o, 77));

    /* A version-1 caller's struct ends before max_bids: init writes only its
     * fields, and a thread made with it gets the default bid bound. */
    union {
        ca_task_options o;
        uint8_t b[sizeof(ca_task_options)];
    } v1;
    memset(v1.b, 0xa5, sizeof v1.b);
    assert_ok(ca_task_options_init(&v1.o, 1));
    assert_int_equal(v1.o.version, 1);
    assert_int_equal(v1.o.max_messages, CA_TASK_MAX_MESSAGES_DEFAULT);
    for (size_t i = offsetof(ca_task_options, max_bids); i < sizeof v1.b; i++)
        assert_int_equal(v1.b[i], 0xa5);
    v1.o.max_messages = 10; /* 4 bids, whatever lies past the v1 layout */
    assert_ok(ca_task_new(&t, env, T0 + 10, &v1.o));
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.bid2));
    ca_task_free(t);
    ca_envelope_free(env);
}

/*
 * Finding 4 (bid flood): 2000 bids from made-up bidders. The thread takes
 * max_bids of them and refuses the rest (the bid only); the requester's and
 * the awarded worker's messages still fit on every path (award, result,
 * receipt, disputes; cancel before and after the award). The lookups that
 * find duplicates, parents and a bidder's earlier bid visit O(1) slots per
 * message (counted), not O(thread length).
 */
#define FLOOD 2000

typedef struct flood {
    th_msg request;
    ca_envelope *bids[FLOOD];
    ca_hash bid_ids[FLOOD];
    ca_identity *winner; /* bidder 0 */
    ca_agent_id winner_id;
} flood;

static void flood_build(flood *f)
{
    assert_ok(th_request(&f->request, R, T0, T0 + 10000, 100, 10, NULL));
    for (int i = 0; i < FLOOD; i++) {
        uint8_t seed[32] = {0xf1, (uint8_t)i, (uint8_t)(i >> 8)};
        ca_identity *who = NULL;
        assert_ok(ca_identity_from_seed(&who, seed));
        th_msg b;
        assert_ok(th_bid(&b, who, &f->request.id, T0 + 100 + (uint64_t)i, 80, T0 + 5000, 10));
        assert_ok(ca_envelope_decode(&f->bids[i], b.buf, b.len, NULL));
        f->bid_ids[i] = b.id;
        if (i == 0) {
            f->winner = who;
            ca_identity_id(who, &f->winner_id);
        } else {
            ca_identity_free(who);
        }
    }
}

static void flood_free(flood *f)
{
    for (int i = 0; i < FLOOD; i++)
        ca_envelope_free(f->bids[i]);
    ca_identity_free(f->winner);
}

/* A fresh thread with every bid of the flood offered; checks the bound and the probe count. */
static ca_task *flood_thread(const flood *f)
{
    ca_task *t = NULL;
    assert_ok(th_new(&t, &f->request, T0 + 10));
    for (int i = 0; i < FLOOD; i++) {
        assert_status(i < (int)CA_TASK_MAX_BIDS_DEFAULT ? CA_OK : CA_ERR_LIMIT,
                      ca_task_apply(t, f->bids[i], T0 + 2100));
    }
    assert_int_equal(ca_task_bid_count(t), CA_TASK_MAX_BIDS_DEFAULT);
    assert_int_equal(ca_task_message_count(t), 1 + CA_TASK_MAX_BIDS_DEFAULT);
    /* Every apply looks up its id (duplicate) and its sender (one bid per
     * bidder). Counted: a stored key is found in < 2 slots on average and an
     * absent one in at most longest_run + 1 slots, where a linear scan of this
     * thread visits ~500 messages per lookup. */
    cai_task_lookup_stats cost;
    cai_task_lookup_cost(t, &cost);
    assert_int_equal(cost.keys, 2 * CA_TASK_MAX_BIDS_DEFAULT + 1);
    if (cost.hit_probes > 2 * (uint64_t)cost.keys || cost.longest_run > 64)
        fail_msg("%llu slots for %u keys, longest run %u", (unsigned long long)cost.hit_probes,
                 cost.keys, cost.longest_run);
    assert_non_null(ca_task_find(t, &f->bid_ids[CA_TASK_MAX_BIDS_DEFAULT - 1]));
    assert_null(ca_task_find(t, &f->bid_ids[FLOOD - 1]));
    return t;
}

static void test_bid_flood(void **state)
{
    (void)state;
    static flood f;
    flood_build(&f);
    const ca_hash *task = &f.request.id;
    th_msg award, result, receipt, cancel, d1, d2;
    assert_ok(th_award(&award, R, task, &f.bid_ids[0], &f.winner_id, 80, 10, T0 + 8000, T0 + 3000));
    assert_ok(th_result(&result, f.winner, task, &award.id, T0 + 4000, 0, "done"));
    assert_ok(
        th_receipt(&receipt, R, task, &award.id, &result.id, &f.winner_id, 1, 90, 80, T0 + 4500));
    assert_ok(th_dispute(&d1, R, task, &result.id, &result.id, 1, T0 + 4600));
    assert_ok(th_dispute(&d2, f.winner, task, &receipt.id, &receipt.id, 1, T0 + 4700));

    /* award, result, receipt and both disputes after the flood */
    ca_task *t = flood_thread(&f);
    assert_ok(th_apply(t, &award, T0 + 3010));
    assert_ok(th_apply(t, &result, T0 + 4010));
    assert_ok(th_apply(t, &receipt, T0 + 4510));
    assert_ok(th_apply(t, &d1, T0 + 4610));
    assert_ok(th_apply(t, &d2, T0 + 4710));
    assert_int_equal(ca_task_get_state(t), CA_TASK_COMPLETED);
    assert_int_equal(ca_task_message_count(t), 1 + CA_TASK_MAX_BIDS_DEFAULT + 5);
    /* the flooded thread round-trips through serialization with the default options */
    size_t len = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_task_serialize(t, NULL, 0, &len));
    uint8_t *ser = malloc(len);
    assert_non_null(ser);
    assert_ok(ca_task_serialize(t, ser, len, &len));
    ca_task *back = NULL;
    assert_ok(ca_task_deserialize(&back, ser, len, NULL));
    ca_hash da, db;
    assert_ok(ca_task_digest(t, &da));
    assert_ok(ca_task_digest(back, &db));
    assert_memory_equal(da.bytes, db.bytes, 32);
    ca_task_free(back);
    free(ser);
    ca_task_free(t);

    /* cancel before any award */
    t = flood_thread(&f);
    assert_ok(th_cancel(&cancel, R, task, task, T0 + 3000));
    assert_ok(th_apply(t, &cancel, T0 + 3010));
    assert_int_equal(ca_task_get_state(t), CA_TASK_CANCELED);
    ca_task_free(t);

    /* cancel once the award's deadline passed without a result */
    t = flood_thread(&f);
    assert_ok(th_apply(t, &award, T0 + 3010));
    assert_ok(th_cancel(&cancel, R, task, &award.id, T0 + 8001));
    assert_ok(th_apply(t, &cancel, T0 + 8010));
    assert_int_equal(ca_task_get_state(t), CA_TASK_CANCELED);
    ca_task_free(t);
    flood_free(&f);
}

/* Body codec: builder parent rules, sealed bodies, content forms, strict decoding. */
static void test_bodies(void **state)
{
    (void)state;
    th_msg m;
    ca_envelope_params ep;
    ca_hash task = {{1}}, other = {{2}};
    /* a bid whose explicit parent differs from the task it names */
    th_env(&ep, T0, &other);
    ca_task_bid bid = {
        .version = CA_TASK_BID_VERSION, .task = task, .price = 1, .completion = 2, .collateral = 3};
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_bid_sign(W1, &ep, &bid, m.buf, sizeof m.buf, &m.len, NULL));
    /* a request with a parent */
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    ca_task_content rq_in = {.version = CA_TASK_CONTENT_VERSION};
    rq.input = &rq_in;
    rq.capability = "a.b";
    rq.deadline = T0 + 1;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_request_sign(R, &ep, &rq, m.buf, sizeof m.buf, &m.len, NULL));
    th_env(&ep, T0, NULL);
    rq.capability = "A.B";
    assert_status(CA_ERR_BAD_CAPABILITY,
                  ca_task_request_sign(R, &ep, &rq, m.buf, sizeof m.buf, &m.len, NULL));
    rq.capability = "a.b";
    rq_in.uri = "https://example.org/in.txt";
    rq_in.data_len = 1;
    rq_in.data = (const uint8_t *)"x";
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_request_sign(R, &ep, &rq, m.buf, sizeof m.buf, &m.len, NULL));
    rq_in.data_len = 0;
    memset(rq_in.hash.bytes, 0xab, 32);
    assert_ok(ca_task_request_sign(R, &ep, &rq, m.buf, sizeof m.buf, &m.len, &m.id));
    ca_envelope *env = NULL;
    ca_task_msg *msg = NULL;
    assert_ok(ca_envelope_open(&env, m.buf, m.len, T0, NULL));
    assert_ok(ca_task_msg_parse(&msg, env, NULL));
    ca_task_request got = {.version = CA_TASK_REQUEST_VERSION};
    assert_ok(ca_task_msg_request(msg, &got));
    assert_string_equal(got.input->uri, "https://example.org/in.txt");
    assert_memory_equal(got.input->hash.bytes, rq.input->hash.bytes, 32);
    assert_int_equal(ca_task_msg_kind(msg), CA_KIND_TASK_REQUEST);
    assert_true(ca_task_msg_created_at(msg) == T0);
    ca_task_msg_free(msg);
    ca_envelope_free(env);

    /* sealed + compressed result: the recipient reads it, nobody else */
    ca_task_result res = {.version = CA_TASK_RESULT_VERSION};
    res.task = task;
    res.award = other;
    static uint8_t big[4000];
    memset(big, 'z', sizeof big);
    const ca_task_content big_out = {
        .version = CA_TASK_CONTENT_VERSION, .data = big, .data_len = sizeof big};
    res.output = &big_out;
    th_env(&ep, T0, NULL);
    ep.recipient = &RID;
    ep.flags = CA_ENVELOPE_SEAL | CA_ENVELOPE_COMPRESS;
    uint8_t sealed[8192];
    size_t sealed_len;
    assert_ok(ca_task_result_sign(W1, &ep, &res, sealed, sizeof sealed, &sealed_len, NULL));
    assert_ok(ca_envelope_open(&env, sealed, sealed_len, T0, NULL));
    assert_status(CA_ERR_SEALED, ca_task_msg_parse(&msg, env, NULL));
    assert_status(CA_ERR_SEALED, ca_task_msg_parse(&msg, env, X));
    assert_ok(ca_task_msg_parse(&msg, env, R));
    assert_ok(ca_task_msg_result(msg, &res));
    assert_int_equal(res.output->data_len, sizeof big);
    assert_memory_equal(res.output->data, big, sizeof big);
    ca_task_msg_free(msg);
    ca_envelope_free(env);

    /* every body round-trips and rejects every strict prefix */
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 1));
    const th_msg *all[] = {&h.request, &h.bid1, &h.award, &h.result, &h.receipt};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        assert_ok(ca_envelope_decode(&env, all[i]->buf, all[i]->len, NULL));
        uint8_t body[2048];
        size_t blen = 0;
        assert_ok(ca_envelope_body(env, NULL, NULL, body, sizeof body, &blen));
        cai_task_body b;
        uint32_t kind = ca_envelope_kind(env);
        assert_ok(cai_task_body_decode(kind, body, blen, &b));
        for (size_t cut = 0; cut < blen; cut++)
            assert_status(CA_ERR_MALFORMED, cai_task_body_decode(kind, body, cut, &b));
        body[blen] = 0;
        assert_status(CA_ERR_MALFORMED, cai_task_body_decode(kind, body, blen + 1, &b));
        assert_status(CA_ERR_WRONG_KIND, cai_task_body_decode(99, body, blen, &b));
        ca_envelope_free(env);
    }
    /* hand-made: rating above 100, empty failure message present, both content forms */
    uint8_t buf[256];
    cai_wire_writer w;
    size_t len;
    cai_task_body b;
    cai_ww_init(&w, buf, sizeof buf);
    cai_ww_map(&w, 7);
    cai_ww_kbin(&w, 0, task.bytes, 32);
    cai_ww_kbin(&w, 1, task.bytes, 32);
    cai_ww_kbin(&w, 2, task.bytes, 32);
    cai_ww_kbin(&w, 3, task.bytes, 32);
    cai_ww_uint(&w, 4);
    cai_ww_bool(&w, true);
    cai_ww_kuint(&w, 5, 101);
    cai_ww_kuint(&w, 6, 0);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_MALFORMED, cai_task_body_decode(CA_KIND_TASK_RECEIPT, buf, len, &b));
    cai_ww_init(&w, buf, sizeof buf);
    cai_ww_map(&w, 3);
    cai_ww_kbin(&w, 0, task.bytes, 32);
    cai_ww_kbin(&w, 1, task.bytes, 32);
    cai_ww_uint(&w, 3);
    cai_ww_map(&w, 2);
    cai_ww_kuint(&w, 0, 1);
    cai_ww_kstr(&w, 1, "", 0);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_MALFORMED, cai_task_body_decode(CA_KIND_TASK_RESULT, buf, len, &b));
    cai_ww_init(&w, buf, sizeof buf);
    cai_ww_map(&w, 4);
    cai_ww_kbin(&w, 0, task.bytes, 32);
    cai_ww_kbin(&w, 1, task.bytes, 32);
    cai_ww_uint(&w, 2);
    cai_ww_map(&w, 1);
    cai_ww_kbin(&w, 0, "x", 1);
    cai_ww_uint(&w, 3);
    cai_ww_map(&w, 1);
    cai_ww_kuint(&w, 0, 1);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_MALFORMED, cai_task_body_decode(CA_KIND_TASK_RESULT, buf, len, &b));
}

static ca_envelope *dec(const th_msg *m)
{
    ca_envelope *e = NULL;
    assert_ok(ca_envelope_decode(&e, m->buf, m->len, NULL));
    return e;
}

/* ca_evidence_encode from th_msgs; `ctx` may be NULL. */
static ca_status ev_build(const th_msg *rq, const th_msg *const *ctx, size_t nctx, const th_msg *a,
                          const th_msg *b, uint8_t *out, size_t cap, size_t *len)
{
    ca_envelope *er = dec(rq), *ea = dec(a), *eb = dec(b), *ec[4] = {NULL};
    for (size_t i = 0; i < nctx; i++)
        ec[i] = dec(ctx[i]);
    ca_status st =
        ca_evidence_encode(er, (const ca_envelope *const *)ec, nctx, ea, eb, out, cap, len);
    for (size_t i = 0; i < nctx; i++)
        ca_envelope_free(ec[i]);
    ca_envelope_free(er);
    ca_envelope_free(ea);
    ca_envelope_free(eb);
    return st;
}

/* Expects CA_ERR_BAD_EVIDENCE whose sentence names `why` (a thread status or a phrase). */
#define expect_bad(expr, why)                                                                      \
    do {                                                                                           \
        assert_status(CA_ERR_BAD_EVIDENCE, expr);                                                  \
        if (strstr(ca_last_error(), (why)) == NULL)                                                \
            fail_msg("expected \"%s\" in: %s", (why), ca_last_error());                            \
    } while (0)

/* Hand-written evidence bytes: {0: kind, 1: request, 2: [side a], 3: [side b]} (no checks). */
static size_t ev_write(uint8_t *out, size_t cap, uint32_t kind, const th_msg *rq,
                       const th_msg *const *a, size_t na, const th_msg *const *b, size_t nb)
{
    cai_wire_writer w;
    size_t len = 0;
    cai_ww_init(&w, out, cap);
    cai_ww_map(&w, 4);
    cai_ww_kuint(&w, 0, kind);
    cai_ww_kbin(&w, 1, rq->buf, rq->len);
    cai_ww_uint(&w, 2);
    cai_ww_array(&w, (uint32_t)na);
    for (size_t i = 0; i < na; i++)
        cai_ww_bin(&w, a[i]->buf, a[i]->len);
    cai_ww_uint(&w, 3);
    cai_ww_array(&w, (uint32_t)nb);
    for (size_t i = 0; i < nb; i++)
        cai_ww_bin(&w, b[i]->buf, b[i]->len);
    assert_ok(cai_ww_finish(&w, &len));
    return len;
}

/* Lower message id first. */
static void id_order(const th_msg **x, const th_msg **y)
{
    if (memcmp((*x)->id.bytes, (*y)->id.bytes, 32) > 0) {
        const th_msg *t = *x;
        *x = *y;
        *y = t;
    }
}

static void test_evidence(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    const ca_hash *task = &h.request.id;
    th_msg b2, b3, w2bid, other_rq, other_bid;
    assert_ok(th_bid(&b2, W1, task, T0 + 150, 70, T0 + 5000, 10));
    assert_ok(th_bid(&b3, W1, task, T0 + 170, 60, T0 + 5000, 10));
    assert_ok(th_bid(&w2bid, W2, task, T0 + 150, 70, T0 + 5000, 10));
    assert_ok(th_request(&other_rq, R, T0 + 1, T0 + 10000, 100, 10, NULL));
    assert_ok(th_bid(&other_bid, W1, &other_rq.id, T0 + 150, 70, T0 + 5000, 10));
    static uint8_t ev[8192], ev2[8192];
    size_t len = 0, len2 = 0;

    /* BID: two valid bids with different terms */
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ev_build(&h.request, NULL, 0, &h.bid1, &b2, NULL, 0, &len));
    assert_ok(ev_build(&h.request, NULL, 0, &h.bid1, &b2, ev, sizeof ev, &len));
    assert_ok(ev_build(&h.request, NULL, 0, &b2, &h.bid1, ev2, sizeof ev2, &len2));
    assert_int_equal(len, len2); /* canonical: the same bytes in either order */
    assert_memory_equal(ev, ev2, len);
    ca_evidence *e = NULL;
    assert_ok(ca_evidence_open(&e, ev, len));
    ca_agent_id off;
    ca_hash t, h0, h1, hash;
    ca_evidence_offender(e, &off);
    ca_evidence_task(e, &t);
    ca_evidence_message(e, 0, &h0);
    ca_evidence_message(e, 1, &h1);
    ca_evidence_hash(e, &hash);
    assert_memory_equal(off.bytes, W1ID.bytes, 32);
    assert_memory_equal(t.bytes, task->bytes, 32);
    assert_int_equal(ca_evidence_kind(e), CA_KIND_TASK_BID);
    assert_true(memcmp(h0.bytes, h1.bytes, 32) < 0);
    assert_true(memcmp(h0.bytes, h.bid1.id.bytes, 32) == 0 ||
                memcmp(h0.bytes, b2.id.bytes, 32) == 0);
    ca_evidence_free(e);
    ca_evidence_free(NULL);
    ca_hash hash2;
    assert_ok(ca_evidence_verify(ev, len, NULL, NULL, NULL, &hash2));
    assert_memory_equal(hash.bytes, hash2.bytes, 32);
    /* a third bid: another pair, another evidence hash, the same offense key */
    assert_ok(ev_build(&h.request, NULL, 0, &h.bid1, &b3, ev2, sizeof ev2, &len2));
    ca_evidence *ea = NULL, *eb = NULL;
    assert_ok(ca_evidence_open(&ea, ev, len));
    assert_ok(ca_evidence_open(&eb, ev2, len2));
    ca_hash ha, hb, oa, ob;
    ca_evidence_hash(ea, &ha);
    ca_evidence_hash(eb, &hb);
    ca_evidence_offense(ea, &oa);
    ca_evidence_offense(eb, &ob);
    assert_memory_not_equal(ha.bytes, hb.bytes, 32);
    assert_memory_equal(oa.bytes, ob.bytes, 32);
    ca_evidence_free(ea);
    ca_evidence_free(eb);

    /* Finding 5: a bid the thread refuses, then the corrected bid, proves nothing. */
    th_msg refused;
    assert_ok(th_bid(&refused, W1, task, T0 + 100, 101, T0 + 5000, 10)); /* above max price */
    expect_bad(ev_build(&h.request, NULL, 0, &refused, &h.bid1, ev2, sizeof ev2, &len2),
               "CA_ERR_TASK_TERMS");
    {
        const th_msg *x = &refused, *y = &h.bid1;
        id_order(&x, &y);
        len2 = ev_write(ev2, sizeof ev2, CA_KIND_TASK_BID, &h.request, &x, 1, &y, 1);
        expect_bad(ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL), "CA_ERR_TASK_TERMS");
    }
    /* every other refusal too: before the request, after its deadline, wrong bidder */
    assert_ok(th_bid(&refused, W1, task, T0 - 1, 80, T0 + 5000, 10));
    expect_bad(ev_build(&h.request, NULL, 0, &refused, &h.bid1, ev2, sizeof ev2, &len2),
               "CA_ERR_TASK_TIMESTAMP");
    assert_ok(th_bid(&refused, W1, task, T0 + 10001, 80, T0 + 10000, 10));
    expect_bad(ev_build(&h.request, NULL, 0, &refused, &h.bid1, ev2, sizeof ev2, &len2),
               "CA_ERR_TASK_DEADLINE");
    th_msg direct, d1, d2;
    assert_ok(th_request(&direct, R, T0, T0 + 10000, 100, 10, &W2ID));
    assert_ok(th_bid(&d1, W1, &direct.id, T0 + 100, 80, T0 + 5000, 10));
    assert_ok(th_bid(&d2, W1, &direct.id, T0 + 100, 70, T0 + 5000, 10));
    expect_bad(ev_build(&direct, NULL, 0, &d1, &d2, ev2, sizeof ev2, &len2),
               "CA_ERR_TASK_FORBIDDEN");
    /* the same terms signed again (a new envelope) are one statement */
    th_msg again;
    assert_ok(th_bid(&again, W1, task, T0 + 120, 80, T0 + 5000, 10));
    expect_bad(ev_build(&h.request, NULL, 0, &h.bid1, &again, ev2, sizeof ev2, &len2),
               "same statement");
    /* not evidence: same message, other task, other signer, other kind */
    expect_bad(ev_build(&h.request, NULL, 0, &h.bid1, &h.bid1, ev2, sizeof ev2, &len2),
               "same statement");
    expect_bad(ev_build(&h.request, NULL, 0, &h.bid1, &other_bid, ev2, sizeof ev2, &len2),
               "neither the request nor in the context");
    expect_bad(ev_build(&other_rq, NULL, 0, &h.bid1, &other_bid, ev2, sizeof ev2, &len2),
               "neither the request nor in the context");
    expect_bad(ev_build(&h.request, NULL, 0, &h.bid1, &w2bid, ev2, sizeof ev2, &len2),
               "different signers");
    const th_msg *cbid[1] = {&h.bid1};
    expect_bad(ev_build(&h.request, cbid, 1, &h.bid1, &h.award, ev2, sizeof ev2, &len2),
               "a bid comes with");
    /* a context count without a context, a missing side */
    {
        ca_envelope *x = dec(&h.bid1), *y = dec(&b2);
        assert_status(CA_ERR_INVALID_ARGUMENT,
                      ca_evidence_encode(x, NULL, 0, x, NULL, ev2, sizeof ev2, &len2));
        assert_status(CA_ERR_INVALID_ARGUMENT,
                      ca_evidence_encode(x, NULL, 1, x, y, ev2, sizeof ev2, &len2));
        ca_envelope_free(x);
        ca_envelope_free(y);
    }

    /* AWARD: two valid awards of the requester (different bids) */
    th_msg award2, bad_award, award3;
    assert_ok(th_award(&award2, R, task, &h.bid2.id, &W2ID, 90, 20, T0 + 8000, T0 + 310));
    const th_msg *bids[2] = {&h.bid1, &h.bid2};
    assert_ok(ev_build(&h.request, bids, 2, &h.award, &award2, ev, sizeof ev, &len));
    uint32_t kind = 0;
    assert_ok(ca_evidence_verify(ev, len, &off, NULL, &kind, NULL));
    assert_memory_equal(off.bytes, RID.bytes, 32);
    assert_int_equal(kind, CA_KIND_TASK_AWARD);
    expect_bad(ev_build(&h.request, NULL, 0, &h.award, &award2, ev2, sizeof ev2, &len2),
               "neither the request nor in the context");
    assert_ok(th_award(&bad_award, R, task, &h.bid2.id, &W2ID, 91, 20, T0 + 8000, T0 + 310));
    expect_bad(ev_build(&h.request, bids, 2, &h.award, &bad_award, ev2, sizeof ev2, &len2),
               "CA_ERR_TASK_TERMS"); /* price differs from the bid: never an award */

    /* RESULT: two valid results of the worker for the same award */
    th_msg r2, late, r_other;
    assert_ok(th_result(&r2, W1, task, &h.award.id, T0 + 1001, 0, "something else"));
    const th_msg *chain[2] = {&h.bid1, &h.award};
    assert_ok(ev_build(&h.request, chain, 2, &h.result, &r2, ev, sizeof ev, &len));
    assert_ok(ca_evidence_verify(ev, len, &off, NULL, &kind, NULL));
    assert_memory_equal(off.bytes, W1ID.bytes, 32);
    assert_int_equal(kind, CA_KIND_TASK_RESULT);
    assert_ok(th_result(&late, W1, task, &h.award.id, T0 + 8001, 0, "late"));
    expect_bad(ev_build(&h.request, chain, 2, &h.result, &late, ev2, sizeof ev2, &len2),
               "CA_ERR_TASK_DEADLINE");
    /* results answering two different awards: the requester's fault, not the worker's */
    assert_ok(th_award(&award3, R, task, &h.bid1.id, &W1ID, 80, 10, T0 + 9000, T0 + 300));
    assert_ok(th_result(&r_other, W1, task, &award3.id, T0 + 1001, 0, "for the other award"));
    const th_msg *both[3] = {&h.bid1, &h.award, &award3};
    expect_bad(ev_build(&h.request, both, 3, &h.result, &r_other, ev2, sizeof ev2, &len2),
               "different awards");

    /* strict decoding: id order, kind field, side lengths, flips, truncations */
    const th_msg *lo = &h.bid1, *hi = &b2;
    id_order(&lo, &hi);
    len2 = ev_write(ev2, sizeof ev2, CA_KIND_TASK_BID, &h.request, &hi, 1, &lo, 1);
    assert_status(CA_ERR_MALFORMED, ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL));
    len2 = ev_write(ev2, sizeof ev2, CA_KIND_TASK_BID, &h.request, &lo, 1, &hi, 1);
    assert_ok(ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL));
    len2 = ev_write(ev2, sizeof ev2, CA_KIND_TASK_RESULT, &h.request, &lo, 1, &hi, 1);
    expect_bad(ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL), "a result comes with");
    len2 = ev_write(ev2, sizeof ev2, CA_KIND_TASK_RECEIPT, &h.request, &lo, 1, &hi, 1);
    expect_bad(ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL), "cannot equivocate");
    const th_msg *four[4] = {&h.bid1, &h.award, &h.result, &h.receipt};
    len2 = ev_write(ev2, sizeof ev2, CA_KIND_TASK_RESULT, &h.request, four, 4, four, 4);
    assert_status(CA_ERR_MALFORMED, ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL));
    const th_msg *wrong_chain[3] = {&h.bid2, &h.award, &h.result}; /* award names bid1 */
    const th_msg *right_chain[3] = {&h.bid1, &h.award, &r2};
    len2 =
        ev_write(ev2, sizeof ev2, CA_KIND_TASK_RESULT, &h.request, wrong_chain, 3, right_chain, 3);
    expect_bad(ca_evidence_verify(ev2, len2, NULL, NULL, NULL, NULL), "CA_ERR_TASK_UNKNOWN_PARENT");
    for (size_t i = 0; i < len; i += 7) {
        memcpy(ev2, ev, len);
        ev2[i] ^= 0x01;
        ca_status st = ca_evidence_verify(ev2, len, NULL, NULL, NULL, NULL);
        if (st == CA_OK)
            fail_msg("flip at %zu accepted", i);
        assert_true(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_EVIDENCE);
    }
    for (size_t cut = 0; cut < len; cut += 13)
        assert_true(ca_evidence_verify(ev, cut, NULL, NULL, NULL, NULL) != CA_OK);
}

/*
 * The largest evidence: a result equivocation where the request and both
 * results carry CA_TASK_INLINE_MAX inline bytes. It still fits the ledger's
 * CA_LEDGER_EVIDENCE_MAX_BYTES.
 */
static void test_evidence_max_size(void **state)
{
    (void)state;
    uint8_t *big = malloc(CA_TASK_INLINE_MAX);
    assert_non_null(big);
    uint64_t x = 0x9e3779b97f4a7c15ull; /* incompressible filler (xorshift) */
    for (size_t i = 0; i < CA_TASK_INLINE_MAX; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big[i] = (uint8_t)x;
    }
    const size_t cap = ca_envelope_bound(CA_TASK_INLINE_MAX + 1024);
    uint8_t *rq = malloc(cap), *r1 = malloc(cap), *r2 = malloc(cap);
    assert_true(rq != NULL && r1 != NULL && r2 != NULL);
    size_t rq_len = 0, r1_len = 0, r2_len = 0;
    ca_envelope_params ep;
    th_env(&ep, T0, NULL);
    ca_task_request rb = {.version = CA_TASK_REQUEST_VERSION};
    rb.capability = "a123456789012345678901234567890.b12345678901234567890123456789";
    const ca_task_content rb_in = {
        .version = CA_TASK_CONTENT_VERSION, .data = big, .data_len = CA_TASK_INLINE_MAX};
    rb.input = &rb_in;
    rb.max_price = UINT64_MAX;
    rb.deadline = UINT64_MAX;
    rb.collateral = UINT64_MAX;
    ca_hash task;
    assert_ok(ca_task_request_sign(R, &ep, &rb, rq, cap, &rq_len, &task));
    th_msg bid, award;
    assert_ok(th_bid(&bid, W1, &task, T0 + 1, UINT64_MAX, UINT64_MAX - 1, UINT64_MAX));
    assert_ok(
        th_award(&award, R, &task, &bid.id, &W1ID, UINT64_MAX, UINT64_MAX, UINT64_MAX, T0 + 2));
    ca_task_result res = {.version = CA_TASK_RESULT_VERSION};
    res.task = task;
    res.award = award.id;
    res.output = &rb_in;
    th_env(&ep, T0 + 3, NULL);
    assert_ok(ca_task_result_sign(W1, &ep, &res, r1, cap, &r1_len, NULL));
    big[0] ^= 1;
    assert_ok(ca_task_result_sign(W1, &ep, &res, r2, cap, &r2_len, NULL));
    ca_envelope *er = NULL, *e1 = NULL, *e2 = NULL, *ctx[2] = {NULL, NULL};
    assert_ok(ca_envelope_decode(&er, rq, rq_len, NULL));
    assert_ok(ca_envelope_decode(&e1, r1, r1_len, NULL));
    assert_ok(ca_envelope_decode(&e2, r2, r2_len, NULL));
    ctx[0] = dec(&bid);
    ctx[1] = dec(&award);
    size_t len = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_evidence_encode(er, (const ca_envelope *const *)ctx,
                                                              2, e1, e2, NULL, 0, &len));
    assert_true(len <= CA_LEDGER_EVIDENCE_MAX_BYTES);
    print_message("largest evidence: %zu bytes (ledger bound %u)\n", len,
                  CA_LEDGER_EVIDENCE_MAX_BYTES);
    uint8_t *ev = malloc(len);
    assert_non_null(ev);
    assert_ok(ca_evidence_encode(er, (const ca_envelope *const *)ctx, 2, e1, e2, ev, len, &len));
    assert_ok(ca_evidence_verify(ev, len, NULL, NULL, NULL, NULL));
    free(ev);
    ca_envelope_free(ctx[0]);
    ca_envelope_free(ctx[1]);
    ca_envelope_free(er);
    ca_envelope_free(e1);
    ca_envelope_free(e2);
    free(rq);
    free(r1);
    free(r2);
    free(big);
}

static void test_serialize(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = start(&h);
    assert_ok(put(t, &h.bid2));
    assert_ok(put(t, &h.bid1));
    assert_ok(put(t, &h.award));
    assert_ok(put(t, &h.result));
    assert_ok(put(t, &h.receipt));
    th_msg d;
    assert_ok(th_dispute(&d, W1, &h.request.id, &h.receipt.id, &h.receipt.id, 1, T0 + 3000));
    assert_ok(put(t, &d));
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_task_serialize(t, NULL, 0, &need));
    uint8_t *buf = malloc(need), *copy = malloc(need);
    assert_non_null(buf);
    assert_non_null(copy);
    size_t len = 0;
    assert_ok(ca_task_serialize(t, buf, need, &len));
    assert_int_equal(len, need);
    /* audited long after every deadline: still valid */
    ca_task *t2 = NULL;
    assert_ok(ca_task_deserialize(&t2, buf, len, NULL));
    ca_hash d1, d2;
    assert_ok(ca_task_digest(t, &d1));
    assert_ok(ca_task_digest(t2, &d2));
    assert_memory_equal(d1.bytes, d2.bytes, 32);
    assert_int_equal(ca_task_get_state(t2), CA_TASK_COMPLETED);
    assert_true(ca_task_disputed(t2, CA_TASK_PARTY_WORKER));
    ca_task_free(t2);
    /* truncation, trailing bytes, a flipped bit anywhere: refused */
    for (size_t cut = 0; cut < len; cut += 17)
        assert_true(ca_task_deserialize(&t2, buf, cut, NULL) != CA_OK);
    for (size_t i = 0; i < len; i += 11) {
        memcpy(copy, buf, len);
        copy[i] ^= 0x10;
        ca_status st = ca_task_deserialize(&t2, copy, len, NULL);
        if (st == CA_OK)
            fail_msg("flip at byte %zu accepted", i);
        assert_null(t2);
    }
    /* a message moved before its parent: the rules are re-applied, so it fails */
    cai_wire_writer w;
    cai_ww_init(&w, copy, need);
    cai_ww_map(&w, 2);
    cai_ww_kuint(&w, 0, 1);
    cai_ww_uint(&w, 1);
    cai_ww_array(&w, 3);
    cai_ww_bin(&w, h.request.buf, h.request.len);
    cai_ww_bin(&w, h.award.buf, h.award.len);
    cai_ww_bin(&w, h.bid1.buf, h.bid1.len);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_TASK_UNKNOWN_PARENT, ca_task_deserialize(&t2, copy, len, NULL));
    assert_non_null(strstr(ca_last_error(), "message 1"));
    /* a forbidden transition hidden in a thread: refused */
    th_msg selfbid;
    assert_ok(th_bid(&selfbid, R, &h.request.id, T0 + 100, 1, T0 + 500, 10));
    cai_ww_init(&w, copy, need);
    cai_ww_map(&w, 2);
    cai_ww_kuint(&w, 0, 1);
    cai_ww_uint(&w, 1);
    cai_ww_array(&w, 2);
    cai_ww_bin(&w, h.request.buf, h.request.len);
    cai_ww_bin(&w, selfbid.buf, selfbid.len);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_TASK_FORBIDDEN, ca_task_deserialize(&t2, copy, len, NULL));
    /* an empty thread and an unknown version */
    cai_ww_init(&w, copy, need);
    cai_ww_map(&w, 2);
    cai_ww_kuint(&w, 0, 1);
    cai_ww_uint(&w, 1);
    cai_ww_array(&w, 0);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_MALFORMED, ca_task_deserialize(&t2, copy, len, NULL));
    cai_ww_init(&w, copy, need);
    cai_ww_map(&w, 2);
    cai_ww_kuint(&w, 0, 2);
    cai_ww_uint(&w, 1);
    cai_ww_array(&w, 0);
    assert_ok(cai_ww_finish(&w, &len));
    assert_status(CA_ERR_UNSUPPORTED, ca_task_deserialize(&t2, copy, len, NULL));
    free(buf);
    free(copy);
    ca_task_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_path),
        cmocka_unit_test(test_failed_and_rejected),
        cmocka_unit_test(test_request_rules),
        cmocka_unit_test(test_bid_rules),
        cmocka_unit_test(test_award_rules),
        cmocka_unit_test(test_result_rules),
        cmocka_unit_test(test_receipt_rules),
        cmocka_unit_test(test_cancel_rules),
        cmocka_unit_test(test_dispute_rules),
        cmocka_unit_test(test_far_deadline),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_bid_flood),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_evidence_max_size),
        cmocka_unit_test(test_serialize),
    };
    return cmocka_run_group_tests_name("task", tests, setup, teardown);
}
