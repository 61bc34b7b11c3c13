/*
 * Task replies (ca_task_<kind>_reply: the answered message gives the task, the
 * parent, the recipient and the kind), the thread's latest message of a kind
 * (ca_task_last), the dispute parties and the digest's status.
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "task_helpers.h"
#include "test_util.h"

#define T0 TH_T0

static ca_identity *R, *W1, *W2; /* requester, two bidders */
static ca_agent_id RID, W1ID, W2ID;

static int setup(void **state)
{
    (void)state;
    ca_identity **ids[3] = {&R, &W1, &W2};
    ca_agent_id *pks[3] = {&RID, &W1ID, &W2ID};
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32] = {(uint8_t)(i + 1), 0x5e};
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
    return 0;
}

/* What the reader of `m` holds: the parsed message (free with ca_task_msg_free). */
static ca_task_msg *parse(const th_msg *m)
{
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, m->buf, m->len, NULL));
    ca_task_msg *msg = NULL;
    assert_ok(ca_task_msg_parse(&msg, env, NULL));
    ca_envelope_free(env);
    return msg;
}

/* Checks the envelope of `m`: kind, parent and recipient. */
static void expect_envelope(const th_msg *m, uint32_t kind, const ca_hash *parent,
                            const ca_agent_id *recipient)
{
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_decode(&env, m->buf, m->len, NULL));
    assert_int_equal(ca_envelope_kind(env), kind);
    ca_hash p;
    ca_agent_id r;
    assert_true(ca_envelope_parent(env, &p));
    assert_memory_equal(p.bytes, parent->bytes, CA_HASH_BYTES);
    assert_true(ca_envelope_recipient(env, &r));
    assert_memory_equal(r.bytes, recipient->bytes, CA_AGENT_ID_BYTES);
    ca_envelope_free(env);
}

static void expect_id(const ca_task_msg *m, const ca_hash *id)
{
    assert_non_null(m);
    ca_hash got;
    ca_task_msg_id(m, &got);
    assert_memory_equal(got.bytes, id->bytes, CA_HASH_BYTES);
}

/* A whole hire signed with replies only: each one is accepted by the thread and
 * carries what the message it answers holds. */
static void test_reply_hire(void **state)
{
    (void)state;
    th_msg req, bid, award, award2, result, receipt, plain;
    ca_envelope_params ep;
    assert_ok(th_request(&req, R, T0, T0 + 10000, 100, 10, NULL));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &req, T0 + 10));

    /* BID: the bidder reads the request and decides price and completion only. */
    ca_task_msg *rq = parse(&req);
    th_env(&ep, T0 + 100, NULL);
    assert_ok(
        ca_task_bid_reply(W1, &ep, rq, 80, T0 + 5000, bid.buf, sizeof bid.buf, &bid.len, &bid.id));
    ca_task_msg_free(rq);
    assert_ok(th_apply(t, &bid, T0 + 110));
    expect_envelope(&bid, CA_KIND_TASK_BID, &req.id, &RID);
    ca_task_bid b = {.version = CA_TASK_BID_VERSION};
    assert_ok(ca_task_msg_bid(ca_task_last(t, CA_KIND_TASK_BID), &b));
    assert_memory_equal(b.task.bytes, req.id.bytes, CA_HASH_BYTES);
    assert_true(b.price == 80 && b.completion == T0 + 5000 && b.collateral == 10);
    /* The same bytes as the general builder given every field and the recipient. */
    ep.recipient = &RID;
    const ca_task_bid full = {.version = CA_TASK_BID_VERSION,
                              .task = req.id,
                              .price = 80,
                              .completion = T0 + 5000,
                              .collateral = 10};
    assert_ok(ca_task_bid_sign(W1, &ep, &full, plain.buf, sizeof plain.buf, &plain.len, NULL));
    assert_int_equal(plain.len, bid.len);
    assert_memory_equal(plain.buf, bid.buf, bid.len);

    /* AWARD: the bid's worker, price and collateral; deadline 0 = the bid's completion. */
    th_env(&ep, T0 + 300, NULL);
    const ca_task_msg *bm = ca_task_last(t, CA_KIND_TASK_BID);
    assert_ok(ca_task_award_reply(R, &ep, bm, T0 + 8000, award2.buf, sizeof award2.buf, &award2.len,
                                  NULL));
    assert_ok(
        ca_task_award_reply(R, &ep, bm, 0, award.buf, sizeof award.buf, &award.len, &award.id));
    assert_ok(th_apply(t, &award, T0 + 310));
    expect_envelope(&award, CA_KIND_TASK_AWARD, &bid.id, &W1ID);
    ca_task_award a = {.version = CA_TASK_AWARD_VERSION};
    assert_ok(ca_task_msg_award(ca_task_last(t, CA_KIND_TASK_AWARD), &a));
    assert_memory_equal(a.task.bytes, req.id.bytes, CA_HASH_BYTES);
    assert_memory_equal(a.bid.bytes, bid.id.bytes, CA_HASH_BYTES);
    assert_memory_equal(a.worker.bytes, W1ID.bytes, CA_AGENT_ID_BYTES);
    assert_true(a.price == 80 && a.collateral == 10 && a.deadline == T0 + 5000);
    ca_task_msg *a2 = parse(&award2);
    assert_ok(ca_task_msg_award(a2, &a));
    assert_int_equal(a.deadline, T0 + 8000); /* a deadline given is kept */
    ca_task_msg_free(a2);

    /* RESULT: the worker reads the award it got and decides the output. */
    ca_task_msg *am = parse(&award);
    const ca_task_content out = {
        CA_TASK_CONTENT_VERSION, (const uint8_t *)"bonjour -> hello", 16, NULL, {{0}}};
    th_env(&ep, T0 + 1000, NULL);
    assert_ok(ca_task_result_reply(W1, &ep, am, &out, result.buf, sizeof result.buf, &result.len,
                                   &result.id));
    ca_task_msg_free(am);
    assert_ok(th_apply(t, &result, T0 + 1010));
    expect_envelope(&result, CA_KIND_TASK_RESULT, &award.id, &RID);
    ca_task_result rs = {.version = CA_TASK_RESULT_VERSION};
    assert_ok(ca_task_msg_result(ca_task_last(t, CA_KIND_TASK_RESULT), &rs));
    assert_memory_equal(rs.task.bytes, req.id.bytes, CA_HASH_BYTES);
    assert_memory_equal(rs.award.bytes, award.id.bytes, CA_HASH_BYTES);
    assert_false(rs.failed);
    assert_int_equal(rs.output->data_len, 16);
    assert_memory_equal(rs.output->data, "bonjour -> hello", 16);

    /* RECEIPT: the requester decides accept, rating and payment. */
    th_env(&ep, T0 + 2000, NULL);
    assert_ok(ca_task_receipt_reply(R, &ep, ca_task_last(t, CA_KIND_TASK_RESULT), 1, 90, 80,
                                    receipt.buf, sizeof receipt.buf, &receipt.len, &receipt.id));
    assert_ok(th_apply(t, &receipt, T0 + 2010));
    assert_int_equal(ca_task_get_state(t), CA_TASK_COMPLETED);
    expect_envelope(&receipt, CA_KIND_TASK_RECEIPT, &result.id, &W1ID);
    ca_task_receipt rc = {.version = CA_TASK_RECEIPT_VERSION};
    assert_ok(ca_task_msg_receipt(ca_task_last(t, CA_KIND_TASK_RECEIPT), &rc));
    assert_memory_equal(rc.task.bytes, req.id.bytes, CA_HASH_BYTES);
    assert_memory_equal(rc.award.bytes, award.id.bytes, CA_HASH_BYTES);
    assert_memory_equal(rc.result.bytes, result.id.bytes, CA_HASH_BYTES);
    assert_memory_equal(rc.worker.bytes, W1ID.bytes, CA_AGENT_ID_BYTES);
    assert_true(rc.accept && rc.rating == 90 && rc.paid == 80);
    ca_task_free(t);
}

/* Signs the reply `which` (0 bid, 1 award, 2 result, 3 receipt) to `to`. */
static ca_status reply(int which, const ca_envelope_params *ep, const ca_task_msg *to, th_msg *m)
{
    static const ca_task_content out = {
        CA_TASK_CONTENT_VERSION, (const uint8_t *)"done", 4, NULL, {{0}}};
    switch (which) {
    case 0:
        return ca_task_bid_reply(W1, ep, to, 80, T0 + 5000, m->buf, sizeof m->buf, &m->len, NULL);
    case 1:
        return ca_task_award_reply(R, ep, to, 0, m->buf, sizeof m->buf, &m->len, NULL);
    case 2:
        return ca_task_result_reply(W1, ep, to, &out, m->buf, sizeof m->buf, &m->len, NULL);
    default:
        return ca_task_receipt_reply(R, ep, to, 1, 90, 80, m->buf, sizeof m->buf, &m->len, NULL);
    }
}

/* Every reply refuses what it cannot answer, with a precise status, and writes nothing. */
static void test_reply_refusals(void **state)
{
    (void)state;
    static const uint32_t answers[4] = {CA_KIND_TASK_REQUEST, CA_KIND_TASK_BID, CA_KIND_TASK_AWARD,
                                        CA_KIND_TASK_RESULT};
    static const uint32_t kinds[4] = {CA_KIND_TASK_BID, CA_KIND_TASK_AWARD, CA_KIND_TASK_RESULT,
                                      CA_KIND_TASK_RECEIPT};
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    const th_msg *signed_msgs[5] = {&h.request, &h.bid1, &h.award, &h.result, &h.receipt};
    ca_task_msg *msgs[5];
    for (int i = 0; i < 5; i++)
        msgs[i] = parse(signed_msgs[i]);
    ca_envelope_params ep;
    th_msg m;
    for (int which = 0; which < 4; which++) {
        const ca_task_msg *to = msgs[which]; /* the kind this reply answers */
        assert_int_equal(ca_task_msg_kind(to), answers[which]);
        th_env(&ep, T0 + 3000, NULL);
        /* another kind of message to answer: CA_ERR_WRONG_KIND, nothing written */
        for (int i = 0; i < 5; i++) {
            if (i == which)
                continue;
            m.len = 12345;
            m.buf[0] = 0xee;
            assert_status(CA_ERR_WRONG_KIND, reply(which, &ep, msgs[i], &m));
            assert_int_equal(m.len, 12345);
            assert_int_equal(m.buf[0], 0xee);
        }
        assert_ok(reply(which, &ep, to, &m));
        /* params.kind: 0 or the reply's own kind, nothing else */
        ep.kind = kinds[which];
        assert_ok(reply(which, &ep, to, &m));
        ep.kind = kinds[(which + 1) % 4];
        assert_status(CA_ERR_WRONG_KIND, reply(which, &ep, to, &m));
        ep.kind = CA_KIND_APP_MIN;
        assert_status(CA_ERR_WRONG_KIND, reply(which, &ep, to, &m));
        ep.kind = 0;
        /* parent and recipient come from `to`, never from the params */
        ep.parent = &h.request.id;
        assert_status(CA_ERR_INVALID_ARGUMENT, reply(which, &ep, to, &m));
        assert_status(CA_ERR_WRONG_KIND, reply(which, &ep, msgs[(which + 1) % 5], &m)); /* first */
        ep.parent = NULL;
        ep.recipient = &RID;
        assert_status(CA_ERR_INVALID_ARGUMENT, reply(which, &ep, to, &m));
        ep.recipient = NULL;
        assert_status(CA_ERR_INVALID_ARGUMENT, reply(which, &ep, NULL, &m));
        assert_status(CA_ERR_INVALID_ARGUMENT, reply(which, NULL, to, &m));
    }
    /* NULL signer and out_len */
    size_t len = 0;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_bid_reply(NULL, &ep, msgs[0], 1, T0 + 5000,
                                                             m.buf, sizeof m.buf, &len, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_award_reply(R, &ep, msgs[1], 0, m.buf, sizeof m.buf, NULL, NULL));
    /* the body checks of the kind's builder */
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_result_reply(W1, &ep, msgs[2], NULL, m.buf, sizeof m.buf, &len, NULL));
    const ca_task_content bad = {CA_TASK_CONTENT_VERSION, NULL, 5, NULL, {{0}}};
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_result_reply(W1, &ep, msgs[2], &bad, m.buf, sizeof m.buf, &len, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_receipt_reply(R, &ep, msgs[3], 1, CA_TASK_RATING_MAX + 1, 80, m.buf,
                                        sizeof m.buf, &len, NULL));
    assert_ok(ca_task_receipt_reply(R, &ep, msgs[3], 1, CA_TASK_RATING_MAX, 80, m.buf, sizeof m.buf,
                                    &len, NULL));
    /* the OWNERSHIP RULE: size query, then the exact size */
    size_t need = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL,
                  ca_task_bid_reply(W1, &ep, msgs[0], 80, T0 + 5000, NULL, 0, &need, NULL));
    assert_ok(ca_task_bid_reply(W1, &ep, msgs[0], 80, T0 + 5000, m.buf, need, &len, NULL));
    assert_int_equal(len, need);
    for (int i = 0; i < 5; i++)
        ca_task_msg_free(msgs[i]);
}

/* The general builders set the kind themselves: params.kind may only be 0 or that kind. */
static void test_builder_params_kind(void **state)
{
    (void)state;
    th_msg m;
    ca_envelope_params ep;
    th_env(&ep, T0, NULL);
    const ca_hash task = {{7}};
    const ca_task_bid bid = {.version = CA_TASK_BID_VERSION,
                             .task = task,
                             .price = 80,
                             .completion = T0 + 5000,
                             .collateral = 10};
    ep.kind = CA_KIND_TASK_AWARD;
    assert_status(CA_ERR_WRONG_KIND,
                  ca_task_bid_sign(W1, &ep, &bid, m.buf, sizeof m.buf, &m.len, NULL));
    ep.kind = CA_KIND_TASK_BID;
    assert_ok(ca_task_bid_sign(W1, &ep, &bid, m.buf, sizeof m.buf, &m.len, NULL));
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    rq.capability = "llm.summarize";
    rq.max_price = 100;
    rq.deadline = T0 + 10000;
    ep.kind = CA_KIND_CARD;
    assert_status(CA_ERR_WRONG_KIND,
                  ca_task_request_sign(R, &ep, &rq, m.buf, sizeof m.buf, &m.len, NULL));
    ep.kind = 0;
    assert_ok(ca_task_request_sign(R, &ep, &rq, m.buf, sizeof m.buf, &m.len, NULL));
}

/* ca_task_last: the message of each kind the thread holds, the latest bid and dispute. */
static void test_last(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &h.request, T0 + 10));
    assert_ptr_equal(ca_task_last(t, CA_KIND_TASK_REQUEST), ca_task_message(t, 0));
    for (uint32_t k = CA_KIND_TASK_BID; k <= CA_KIND_TASK_DISPUTE; k++)
        assert_null(ca_task_last(t, k));
    assert_null(ca_task_last(t, 0));
    assert_null(ca_task_last(t, CA_KIND_CARD));
    assert_null(ca_task_last(t, CA_KIND_TASK_DISPUTE + 1));
    assert_null(ca_task_last(NULL, CA_KIND_TASK_REQUEST));

    assert_ok(th_apply(t, &h.bid1, T0 + 110));
    expect_id(ca_task_last(t, CA_KIND_TASK_BID), &h.bid1.id);
    assert_ok(th_apply(t, &h.bid2, T0 + 210));
    expect_id(ca_task_last(t, CA_KIND_TASK_BID), &h.bid2.id); /* the latest */
    assert_ok(th_apply(t, &h.award, T0 + 310));
    expect_id(ca_task_last(t, CA_KIND_TASK_AWARD), &h.award.id);
    assert_ok(th_apply(t, &h.result, T0 + 1010));
    expect_id(ca_task_last(t, CA_KIND_TASK_RESULT), &h.result.id);
    assert_null(ca_task_last(t, CA_KIND_TASK_RECEIPT));
    assert_ok(th_apply(t, &h.receipt, T0 + 2010));
    expect_id(ca_task_last(t, CA_KIND_TASK_RECEIPT), &h.receipt.id);
    expect_id(ca_task_last(t, CA_KIND_TASK_REQUEST), &h.request.id);

    /* disputes: one per party; the later one is the latest */
    th_msg d1, d2;
    assert_ok(th_dispute(&d1, R, &h.request.id, &h.result.id, &h.result.id, 1, T0 + 2100));
    assert_ok(th_apply(t, &d1, T0 + 2110));
    expect_id(ca_task_last(t, CA_KIND_TASK_DISPUTE), &d1.id);
    assert_ok(th_dispute(&d2, W1, &h.request.id, &h.receipt.id, &h.receipt.id, 1, T0 + 2200));
    assert_ok(th_apply(t, &d2, T0 + 2210));
    expect_id(ca_task_last(t, CA_KIND_TASK_DISPUTE), &d2.id);
    assert_null(ca_task_last(t, CA_KIND_TASK_CANCEL));
    ca_task_free(t);

    /* a canceled request */
    th_msg cancel;
    assert_ok(th_new(&t, &h.request, T0 + 10));
    assert_ok(th_cancel(&cancel, R, &h.request.id, &h.request.id, T0 + 50));
    assert_ok(th_apply(t, &cancel, T0 + 60));
    assert_int_equal(ca_task_get_state(t), CA_TASK_CANCELED);
    expect_id(ca_task_last(t, CA_KIND_TASK_CANCEL), &cancel.id);
    assert_null(ca_task_last(t, CA_KIND_TASK_AWARD));
    ca_task_free(t);
}

/* ca_task_disputed answers 0 for a value outside ca_task_party, even with both disputes in. */
static void test_disputed_party(void **state)
{
    (void)state;
    th_hire h;
    th_msg d1, d2;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &h.request, T0 + 10));
    assert_ok(th_apply(t, &h.bid1, T0 + 110));
    assert_ok(th_apply(t, &h.award, T0 + 310));
    assert_ok(th_dispute(&d1, W1, &h.request.id, &h.award.id, &h.award.id, 1, T0 + 400));
    assert_ok(th_apply(t, &d1, T0 + 410));
    assert_false(ca_task_disputed(t, CA_TASK_PARTY_REQUESTER));
    assert_true(ca_task_disputed(t, CA_TASK_PARTY_WORKER));
    assert_ok(th_dispute(&d2, R, &h.request.id, &h.award.id, &h.award.id, 1, T0 + 500));
    assert_ok(th_apply(t, &d2, T0 + 510));
    assert_true(ca_task_disputed(t, CA_TASK_PARTY_REQUESTER));
    assert_false(ca_task_disputed(t, (ca_task_party)2));
    assert_false(ca_task_disputed(t, (ca_task_party)-1));
    assert_false(ca_task_disputed(NULL, CA_TASK_PARTY_WORKER));
    ca_task_free(t);
}

/* ca_task_digest answers a status; *out is written only on success. */
static void test_digest_status(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &h.request, T0 + 10));
    ca_hash d, before;
    memset(&d, 0xa5, sizeof d);
    before = d;
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_digest(NULL, &d));
    assert_memory_equal(d.bytes, before.bytes, CA_HASH_BYTES);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_digest(t, NULL));
    assert_ok(ca_task_digest(t, &d));
    assert_memory_not_equal(d.bytes, before.bytes, CA_HASH_BYTES);
    ca_task_free(t);
}

/* ca_task_msg_open and ca_task_new_bytes: the reader's and the thread's one-call entry points. */
static void test_open_bytes(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, R, W1, W2, 0));
    ca_task_msg *m = NULL;
    assert_ok(ca_task_msg_open(&m, h.bid1.buf, h.bid1.len, T0 + 110, NULL));
    assert_int_equal(ca_task_msg_kind(m), CA_KIND_TASK_BID);
    expect_id(m, &h.bid1.id);
    ca_task_msg_free(m);
    m = (ca_task_msg *)&m; /* *out is reset on failure */
    assert_status(CA_ERR_EXPIRED,
                  ca_task_msg_open(&m, h.bid1.buf, h.bid1.len, T0 + 2 * TH_DAY, NULL));
    assert_null(m);
    assert_status(CA_ERR_NOT_YET_VALID,
                  ca_task_msg_open(&m, h.bid1.buf, h.bid1.len, T0 - 60000, NULL));
    th_msg bad = h.bid1;
    bad.buf[bad.len - 1] ^= 1;
    assert_status(CA_ERR_BAD_SIGNATURE, ca_task_msg_open(&m, bad.buf, bad.len, T0 + 110, NULL));
    assert_status(CA_ERR_MALFORMED, ca_task_msg_open(&m, bad.buf, 3, T0 + 110, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_msg_open(NULL, h.bid1.buf, 3, T0, NULL));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_msg_open(&m, NULL, 3, T0, NULL));
    ca_envelope_options eo;
    assert_ok(ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION));
    eo.max_envelope_bytes = h.bid1.len - 1;
    assert_status(CA_ERR_LIMIT, ca_task_msg_open(&m, h.bid1.buf, h.bid1.len, T0 + 110, &eo));
    /* not a task message */
    th_msg app;
    ca_envelope_params ep;
    th_env(&ep, T0, NULL);
    ep.kind = CA_KIND_APP_MIN;
    assert_ok(ca_envelope_sign(R, &ep, (const uint8_t *)"hi", 2, app.buf, sizeof app.buf, &app.len,
                               NULL));
    assert_status(CA_ERR_WRONG_KIND, ca_task_msg_open(&m, app.buf, app.len, T0 + 10, NULL));
    /* a sealed body needs its reader: ca_envelope_open + ca_task_msg_parse */
    ca_task_msg *rq = parse(&h.request);
    th_msg sealed;
    th_env(&ep, T0 + 100, NULL);
    ep.flags = CA_ENVELOPE_SEAL; /* the reply's recipient (the requester) can open it */
    assert_ok(ca_task_bid_reply(W1, &ep, rq, 80, T0 + 5000, sealed.buf, sizeof sealed.buf,
                                &sealed.len, NULL));
    ca_task_msg_free(rq);
    assert_status(CA_ERR_SEALED, ca_task_msg_open(&m, sealed.buf, sealed.len, T0 + 110, NULL));
    ca_envelope *env = NULL;
    assert_ok(ca_envelope_open(&env, sealed.buf, sealed.len, T0 + 110, NULL));
    assert_ok(ca_task_msg_parse(&m, env, R));
    ca_task_msg_free(m);
    ca_envelope_free(env);

    ca_task *t = NULL;
    assert_ok(ca_task_new_bytes(&t, h.request.buf, h.request.len, T0 + 10, NULL));
    expect_id(ca_task_last(t, CA_KIND_TASK_REQUEST), &h.request.id);
    ca_task_free(t);
    t = (ca_task *)&t;
    assert_status(CA_ERR_WRONG_KIND, ca_task_new_bytes(&t, h.bid1.buf, h.bid1.len, T0 + 110, NULL));
    assert_null(t);
    assert_status(CA_ERR_MALFORMED, ca_task_new_bytes(&t, h.request.buf, 3, T0 + 10, NULL));
    assert_status(CA_ERR_EXPIRED,
                  ca_task_new_bytes(&t, h.request.buf, h.request.len, T0 + 2 * TH_DAY, NULL));
    ca_task_options to;
    assert_ok(ca_task_options_init(&to, CA_TASK_OPTIONS_VERSION));
    to.max_envelope_bytes = h.request.len - 1;
    assert_status(CA_ERR_LIMIT, ca_task_new_bytes(&t, h.request.buf, h.request.len, T0 + 10, &to));
    to.max_envelope_bytes = 1u << 20;
    to.max_messages = 1;
    assert_status(CA_ERR_INVALID_ARGUMENT,
                  ca_task_new_bytes(&t, h.request.buf, h.request.len, T0 + 10, &to));
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_new_bytes(&t, NULL, 3, T0, NULL));
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_hire),          cmocka_unit_test(test_reply_refusals),
        cmocka_unit_test(test_builder_params_kind), cmocka_unit_test(test_last),
        cmocka_unit_test(test_disputed_party),      cmocka_unit_test(test_digest_status),
        cmocka_unit_test(test_open_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
