/*
 * STRUCT RULE (common.h), struct by struct: a versioned struct with version 0
 * or a version newer than this build, and a struct of an array type passed
 * with an element size outside [1.0 layout, this build's sizeof], are refused
 * with CA_ERR_UNSUPPORTED before anything else happens: the call writes
 * nothing the caller owns and changes no state. contract_structs checks that
 * every public struct has one of the two conventions; this checks that each
 * function taking one honours it.
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "task_helpers.h"
#include "test_util.h"

#define T0 TH_T0

/* A version this build does not know yet. */
#define NEWER(v) ((v) + 1u)

static ca_identity *A, *B; /* authority / hirer, worker */
static ca_agent_id AID, BID;

static int setup(void **state)
{
    (void)state;
    if (ca_identity_generate(&A) != CA_OK || ca_identity_generate(&B) != CA_OK)
        return -1;
    ca_identity_id(A, &AID);
    ca_identity_id(B, &BID);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ca_identity_free(A);
    ca_identity_free(B);
    return 0;
}

/* Bytes of `p` all equal to `b`: the call wrote nothing. */
static int all_bytes(const void *p, size_t n, uint8_t b)
{
    for (size_t i = 0; i < n; i++)
        if (((const uint8_t *)p)[i] != b)
            return 0;
    return 1;
}

/* A ledger where A is the authority and holds 1000. */
static ca_ledger *funded_ledger(void)
{
    ca_ledger_options o;
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = AID;
    assert_ok(ca_ledger_new(&l, &o));
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_MINT};
    op.signer = AID;
    op.nonce = 1;
    op.counterparty = AID;
    op.amount = 1000;
    assert_ok(ca_ledger_apply(l, &op, T0, NULL));
    return l;
}

static uint64_t ledger_seq(const ca_ledger *l)
{
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    assert_ok(ca_ledger_totals_get(l, &t));
    return t.seq;
}

/* The ledger's query structs: version 0 and a newer one are refused, nothing is written. */
static void test_ledger_info_versions(void **state)
{
    (void)state;
    ca_ledger *l = funded_ledger();
    unsigned int acct_bad[2] = {0, NEWER(CA_LEDGER_ACCOUNT_INFO_VERSION)};
    unsigned int tot_bad[2] = {0, NEWER(CA_LEDGER_TOTALS_VERSION)};
    unsigned int esc_bad[2] = {0, NEWER(CA_LEDGER_ESCROW_INFO_VERSION)};
    for (int i = 0; i < 2; i++) {
        ca_ledger_account_info a;
        memset(&a, 0xA5, sizeof a);
        a.version = acct_bad[i];
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_account(l, &AID, &a));
        assert_true(strstr(ca_last_error(), "ca_ledger_account_info") != NULL);
        assert_true(all_bytes(&a.balance, sizeof a.balance, 0xA5));
        ca_ledger_totals t;
        memset(&t, 0xA5, sizeof t);
        t.version = tot_bad[i];
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_totals_get(l, &t));
        assert_true(all_bytes(&t.minted, sizeof t.minted, 0xA5));
        /* The version is checked before the escrow is looked up. */
        ca_ledger_escrow_info e;
        memset(&e, 0xA5, sizeof e);
        e.version = esc_bad[i];
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_escrow(l, &(ca_hash){{9}}, &e));
        assert_true(all_bytes(&e.payment, sizeof e.payment, 0xA5));
    }
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    assert_ok(ca_ledger_account(l, &AID, &a));
    assert_int_equal(a.balance, 1000);
    assert_int_equal(a.version, CA_LEDGER_ACCOUNT_INFO_VERSION);
    ca_ledger_free(l);
}

/* An op of an unknown version is never applied, signed, encoded or filled. */
static void test_ledger_op_versions(void **state)
{
    (void)state;
    ca_ledger *l = funded_ledger();
    ca_hash lid;
    assert_ok(ca_ledger_id(l, &lid));
    const unsigned int bad[2] = {0, NEWER(CA_LEDGER_OP_VERSION)};
    uint8_t buf[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    /* A good signed op to decode. */
    ca_ledger_op good = {.version = CA_LEDGER_OP_VERSION, .type = CA_LEDGER_OP_TRANSFER};
    good.signer = AID;
    good.nonce = 2;
    good.counterparty = BID;
    good.amount = 5;
    assert_ok(ca_ledger_op_sign(&lid, &good, A, NULL, buf, sizeof buf, &n));
    for (int i = 0; i < 2; i++) {
        ca_ledger_op op = good;
        op.version = bad[i];
        uint64_t seq = ledger_seq(l);
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_apply(l, &op, T0, NULL));
        assert_true(strstr(ca_last_error(), "ca_ledger_op") != NULL);
        assert_int_equal(ledger_seq(l), seq);
        uint8_t out[CA_LEDGER_OP_MAX_BYTES];
        size_t out_len = 0;
        /* A log entry carrying such an op stops the log there: no position is consumed. */
        ca_ledger_log_entry e = {.position = 1, .time = T0, .op = &op};
        ca_status lres = CA_OK;
        size_t done = 9;
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_apply_log(l, &e, sizeof e, 1, &lres, &done));
        assert_int_equal(done, 0);
        ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
        assert_ok(ca_ledger_log_position(l, &li));
        assert_int_equal(li.position, 0);
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_ledger_op_sign(&lid, &op, A, NULL, out, sizeof out, &out_len));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_ledger_op_sign_cosigned(&lid, &op, A, NULL, out, sizeof out, &out_len));
        ca_signature cosig;
        op.type = CA_LEDGER_OP_ESCROW_OPEN;
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_op_cosign(&lid, &op, B, &cosig));
        /* Filled ops: the caller's version is checked, the op is left as it was. */
        ca_ledger_op back;
        memset(&back, 0xA5, sizeof back);
        back.version = bad[i];
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_op_decode(buf, n, &back));
        assert_true(all_bytes(&back.amount, sizeof back.amount, 0xA5));
        /* Batch: an unknown version in ops[0] fails the call, elsewhere that op only. */
        ca_ledger_op ops[2] = {good, good};
        ca_status res[2] = {CA_OK, CA_OK};
        size_t applied = 99;
        ops[0].version = bad[i];
        assert_status(CA_ERR_UNSUPPORTED, ca_ledger_apply_batch(l, ops, 2, T0, res, &applied));
        assert_int_equal(ledger_seq(l), seq);
        ops[0] = good;
        ops[1] = good;
        ops[1].version = bad[i];
        ops[1].nonce = 3;
        assert_ok(ca_ledger_apply_batch(l, ops, 2, T0, res, &applied));
        assert_int_equal(res[0], CA_OK);
        assert_int_equal(res[1], CA_ERR_UNSUPPORTED);
        assert_int_equal(applied, 1);
        good.nonce++;
        assert_ok(ca_ledger_op_sign(&lid, &good, A, NULL, buf, sizeof buf, &n));
    }
    ca_ledger_op back = {.version = CA_LEDGER_OP_VERSION};
    assert_ok(ca_ledger_op_decode(buf, n, &back));
    assert_int_equal(back.version, CA_LEDGER_OP_VERSION);
    assert_int_equal(back.nonce, good.nonce);
    ca_ledger_free(l);
}

/* The seven builders and views refuse a body of an unknown version; so do content pointers. */
static void test_task_body_versions(void **state)
{
    (void)state;
    th_hire h;
    assert_ok(th_build_hire(&h, A, B, B, 0));
    ca_envelope_params ep;
    th_env(&ep, T0, NULL);
    uint8_t out[2048];
    size_t n = 0;
    ca_hash task = h.request.id;
    ca_task_content in = {.version = CA_TASK_CONTENT_VERSION};
    ca_task_request rq = {.version = 0, .capability = "a.b", .input = &in, .deadline = T0 + 1};
    ca_task_bid bd = {.version = 0, .task = task, .price = 1, .completion = T0 + 1};
    ca_task_award aw = {.version = 0, .task = task, .bid = task, .deadline = T0 + 1};
    ca_task_result rs = {.version = 0, .task = task, .award = task, .output = &in};
    ca_task_receipt rc = {.version = 0, .task = task, .award = task, .result = task};
    ca_task_cancel cn = {.version = 0, .task = task};
    ca_task_dispute dp = {.version = 0, .task = task, .reason = "x", .refs = &task, .ref_count = 1};
    const unsigned int newer[7] = {NEWER(CA_TASK_REQUEST_VERSION), NEWER(CA_TASK_BID_VERSION),
                                   NEWER(CA_TASK_AWARD_VERSION),   NEWER(CA_TASK_RESULT_VERSION),
                                   NEWER(CA_TASK_RECEIPT_VERSION), NEWER(CA_TASK_CANCEL_VERSION),
                                   NEWER(CA_TASK_DISPUTE_VERSION)};
    for (int i = 0; i < 2; i++) {
        if (i == 1) {
            rq.version = newer[0], bd.version = newer[1], aw.version = newer[2];
            rs.version = newer[3], rc.version = newer[4], cn.version = newer[5];
            dp.version = newer[6];
        }
        ep.parent = NULL;
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_task_request_sign(A, &ep, &rq, out, sizeof out, &n, NULL));
        assert_true(strstr(ca_last_error(), "ca_task_request") != NULL);
        assert_status(CA_ERR_UNSUPPORTED, ca_task_bid_sign(B, &ep, &bd, out, sizeof out, &n, NULL));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_task_award_sign(A, &ep, &aw, out, sizeof out, &n, NULL));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_task_result_sign(B, &ep, &rs, out, sizeof out, &n, NULL));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_task_receipt_sign(A, &ep, &rc, out, sizeof out, &n, NULL));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_task_cancel_sign(A, &ep, &cn, out, sizeof out, &n, NULL));
        ep.parent = &task;
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_task_dispute_sign(A, &ep, &dp, out, sizeof out, &n, NULL));
    }
    /* A content of an unknown version, in a body and in a reply. */
    ep.parent = NULL;
    rq.version = CA_TASK_REQUEST_VERSION;
    in.version = NEWER(CA_TASK_CONTENT_VERSION);
    assert_status(CA_ERR_UNSUPPORTED, ca_task_request_sign(A, &ep, &rq, out, sizeof out, &n, NULL));
    assert_true(strstr(ca_last_error(), "ca_task_content") != NULL);
    ca_task_msg *award = NULL;
    assert_ok(ca_task_msg_open(&award, h.award.buf, h.award.len, T0 + 300, NULL));
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_task_result_reply(B, &ep, award, &in, out, sizeof out, &n, NULL));
    in.version = CA_TASK_CONTENT_VERSION;
    /* NULL content: no bytes, inline; the view points at the message's own content. */
    rq.input = NULL;
    assert_ok(ca_task_request_sign(A, &ep, &rq, out, sizeof out, &n, NULL));
    ca_task_msg *req = NULL;
    assert_ok(ca_task_msg_open(&req, out, n, T0, NULL));
    ca_task_request got = {.version = CA_TASK_REQUEST_VERSION};
    assert_ok(ca_task_msg_request(req, &got));
    assert_non_null(got.input);
    assert_int_equal(got.input->version, CA_TASK_CONTENT_VERSION);
    assert_int_equal(got.input->data_len, 0);
    assert_null(got.input->uri);
    /* Views: the caller's version is checked before the kind, nothing is written. */
    ca_task_request vr;
    memset(&vr, 0xA5, sizeof vr);
    vr.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_task_msg_request(req, &vr));
    assert_true(all_bytes(&vr.max_price, sizeof vr.max_price, 0xA5));
    ca_task_award va = {.version = NEWER(CA_TASK_AWARD_VERSION)};
    assert_status(CA_ERR_UNSUPPORTED, ca_task_msg_award(req, &va)); /* not WRONG_KIND */
    ca_task_award ok = {.version = CA_TASK_AWARD_VERSION};
    assert_ok(ca_task_msg_award(award, &ok));
    assert_int_equal(ok.version, CA_TASK_AWARD_VERSION);
    ca_task_msg_free(req);
    ca_task_msg_free(award);
}

/* Scores: the element size is checked, single or array; stats: the version. */
static void test_reputation_struct_rule(void **state)
{
    (void)state;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, NULL));
    ca_hash t = {{1}};
    assert_ok(ca_reputation_add_rating(rep, &t, &AID, &BID, 90, 100, T0));
    ca_reputation_stats st;
    memset(&st, 0xA5, sizeof st);
    st.version = NEWER(CA_REPUTATION_STATS_VERSION);
    assert_status(CA_ERR_UNSUPPORTED, ca_reputation_update(rep, T0, &st));
    assert_true(strstr(ca_last_error(), "ca_reputation_stats") != NULL);
    assert_true(all_bytes(&st.iterations, sizeof st.iterations, 0xA5));
    ca_reputation_score sc[2];
    memset(sc, 0xA5, sizeof sc);
    assert_status(CA_ERR_UNSUPPORTED, ca_reputation_get(rep, &BID, sc, 0)); /* not updated */
    st.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_reputation_update(rep, T0, &st));
    st.version = CA_REPUTATION_STATS_VERSION;
    assert_ok(ca_reputation_update(rep, T0, &st));
    assert_int_equal(st.version, CA_REPUTATION_STATS_VERSION);
    assert_int_equal(st.ratings, 1);
    const size_t sizes[3] = {0, sizeof sc[0] - 1, sizeof sc[0] + 1};
    for (int i = 0; i < 3; i++) {
        size_t len = 0;
        assert_status(CA_ERR_UNSUPPORTED, ca_reputation_get(rep, &BID, sc, sizes[i]));
        assert_true(strstr(ca_last_error(), "ca_reputation_score") != NULL);
        assert_status(CA_ERR_UNSUPPORTED, ca_reputation_top(rep, 2, sc, sizes[i], 2, &len));
        assert_true(all_bytes(sc, sizeof sc, 0xA5));
    }
    size_t len = 0;
    assert_ok(ca_reputation_top(rep, 2, sc, sizeof sc[0], 2, &len));
    assert_int_equal(len, 2);
    assert_ok(ca_reputation_get(rep, &BID, &sc[1], sizeof sc[1]));
    assert_int_equal(sc[1].ratings_received, 1);
    ca_reputation_free(rep);
}

/* A registry holding B's signed card. */
static ca_routing *registry(void)
{
    ca_card_capability cap = {"llm.summarize", 100, 0};
    ca_card_params p;
    assert_ok(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION));
    p.name = "b";
    p.endpoint = "agents.b";
    p.not_before = T0;
    p.not_after = T0 + TH_DAY;
    p.created_at = T0;
    p.capabilities = &cap;
    p.capability_size = sizeof cap;
    p.capability_count = 1;
    uint8_t buf[1024];
    size_t n = 0;
    assert_ok(ca_card_sign(B, &p, buf, sizeof buf, &n, NULL));
    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, n, T0, NULL));
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, NULL));
    assert_ok(ca_routing_add_card(rt, card, T0));
    ca_card_free(card);
    return rt;
}

/* Weights and agent info: versions; results and bids: element sizes. */
static void test_routing_struct_rule(void **state)
{
    (void)state;
    ca_routing_weights w;
    memset(&w, 0xA5, sizeof w);
    assert_status(CA_ERR_UNSUPPORTED, ca_routing_weights_init(&w, 0));
    assert_status(CA_ERR_UNSUPPORTED,
                  ca_routing_weights_init(&w, NEWER(CA_ROUTING_WEIGHTS_VERSION)));
    assert_true(all_bytes(&w.price, sizeof w.price, 0xA5));
    assert_ok(ca_routing_weights_init(&w, CA_ROUTING_WEIGHTS_VERSION));
    assert_int_equal(w.version, CA_ROUTING_WEIGHTS_VERSION);
    /* Weights of an unknown version: in the options and in a query. */
    ca_routing_options o;
    assert_ok(ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION));
    assert_null(o.weights);
    w.version = NEWER(CA_ROUTING_WEIGHTS_VERSION);
    o.weights = &w;
    ca_routing *rt = NULL;
    assert_status(CA_ERR_UNSUPPORTED, ca_routing_new(&rt, &o));
    assert_null(rt);
    rt = registry();
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = "*";
    q.capability_len = 1;
    q.now = T0;
    q.weights = &w;
    ca_routing_result r[2];
    size_t count = 9;
    assert_status(CA_ERR_UNSUPPORTED, ca_routing_select(rt, &q, r, sizeof r[0], 2, &count));
    assert_true(strstr(ca_last_error(), "ca_routing_weights") != NULL);
    w.version = CA_ROUTING_WEIGHTS_VERSION;
    assert_ok(ca_routing_select(rt, &q, r, sizeof r[0], 2, &count));
    assert_int_equal(count, 1);
    q.weights = NULL;
    /* Agent info. */
    ca_routing_agent_info info;
    memset(&info, 0xA5, sizeof info);
    info.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_routing_get(rt, &BID, &info));
    info.version = NEWER(CA_ROUTING_AGENT_INFO_VERSION);
    assert_status(CA_ERR_UNSUPPORTED, ca_routing_get(rt, &BID, &info));
    assert_true(all_bytes(&info.sequence, sizeof info.sequence, 0xA5));
    info.version = CA_ROUTING_AGENT_INFO_VERSION;
    assert_ok(ca_routing_get(rt, &BID, &info));
    assert_int_equal(info.capability_count, 1);
    /* Element sizes below and above this build's. */
    ca_routing_bid bid = {BID, 90, 0};
    const size_t rs[2] = {sizeof r[0] - 1, sizeof r[0] + 1};
    const size_t bs[2] = {sizeof bid - 1, sizeof bid + 1};
    char text[256];
    size_t tl = 0;
    for (int i = 0; i < 2; i++) {
        memset(r, 0xA5, sizeof r);
        assert_status(CA_ERR_UNSUPPORTED, ca_routing_select(rt, &q, r, rs[i], 2, &count));
        assert_true(strstr(ca_last_error(), "ca_routing_result") != NULL);
        assert_int_equal(count, 0);
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_routing_rank_bids(rt, &q, &bid, sizeof bid, 1, r, rs[i], 2, &count));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_routing_rank_bids(rt, &q, &bid, bs[i], 1, r, sizeof r[0], 2, &count));
        assert_true(strstr(ca_last_error(), "ca_routing_bid") != NULL);
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_routing_score_bid(rt, &q, &bid, bs[i], r, sizeof r[0]));
        assert_status(CA_ERR_UNSUPPORTED, ca_routing_score_bid(rt, &q, &bid, sizeof bid, r, rs[i]));
        assert_true(all_bytes(r, sizeof r, 0xA5));
        assert_status(CA_ERR_UNSUPPORTED,
                      ca_routing_result_explain(r, rs[i], text, sizeof text, &tl));
    }
    /* The right sizes: results are written with that stride. */
    memset(r, 0xA5, sizeof r);
    assert_ok(ca_routing_rank_bids(rt, &q, &bid, sizeof bid, 1, r, sizeof r[0], 2, &count));
    assert_int_equal(count, 1);
    assert_int_equal(r[0].price, 90);
    assert_memory_equal(r[0].agent.bytes, BID.bytes, 32);
    assert_true(all_bytes(&r[1], sizeof r[1], 0xA5)); /* beyond count: untouched */
    assert_ok(ca_routing_result_explain(&r[0], sizeof r[0], text, sizeof text, &tl));
    ca_routing_free(rt);
}

/* Card capabilities: the element size in the params and in both accessors. */
static void test_card_capability_size(void **state)
{
    (void)state;
    ca_card_capability caps[2] = {{"a.b", 1, 0}, {"c.d", 2, 0}};
    ca_card_params p;
    assert_ok(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION));
    p.name = "b";
    p.endpoint = "agents.b";
    p.not_before = T0;
    p.not_after = T0 + TH_DAY;
    p.created_at = T0;
    p.capabilities = caps;
    p.capability_count = 2;
    uint8_t buf[1024];
    size_t n = 0;
    const size_t bad[3] = {0, sizeof caps[0] - 1, sizeof caps[0] + 1};
    for (int i = 0; i < 3; i++) {
        p.capability_size = bad[i];
        n = 0;
        assert_status(CA_ERR_UNSUPPORTED, ca_card_sign(B, &p, buf, sizeof buf, &n, NULL));
        assert_true(strstr(ca_last_error(), "ca_card_capability") != NULL);
        assert_int_equal(n, 0);
    }
    p.capability_size = sizeof caps[0];
    assert_ok(ca_card_sign(B, &p, buf, sizeof buf, &n, NULL));
    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, n, T0, NULL));
    ca_card_capability c;
    for (int i = 0; i < 3; i++) {
        memset(&c, 0xA5, sizeof c);
        assert_status(CA_ERR_UNSUPPORTED, ca_card_capability_at(card, 1, &c, bad[i]));
        assert_status(CA_ERR_UNSUPPORTED, ca_card_find_capability(card, "c.d", 3, &c, bad[i]));
        assert_true(all_bytes(&c, sizeof c, 0xA5));
    }
    /* A lookup without output reads no size. */
    assert_ok(ca_card_find_capability(card, "c.d", 3, NULL, 0));
    assert_ok(ca_card_capability_at(card, 1, &c, sizeof c));
    assert_string_equal(c.name, "c.d");
    assert_int_equal(c.price, 2);
    ca_card_free(card);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_info_versions), cmocka_unit_test(test_ledger_op_versions),
        cmocka_unit_test(test_task_body_versions),   cmocka_unit_test(test_reputation_struct_rule),
        cmocka_unit_test(test_routing_struct_rule),  cmocka_unit_test(test_card_capability_size),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
