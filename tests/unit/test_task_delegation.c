/*
 * Task threads with delegated sides (task.h, DELEGATED SIDES): a sub-agent
 * posts a task for its delegator, a delegate bids for its delegator; every
 * refusal with its status; revocations and expiry of the chain for the
 * side's later messages; the builders' and the parser's checks.
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "test_util.h"
#include "wire/wire.h"

#define T0   1700000000000ull
#define HOUR 3600000ull
#define BUF  16384

enum { P, D, W, B, S, E, NK };
static ca_identity *keys[NK];
static ca_agent_id ids[NK];

static int setup(void **state)
{
    (void)state;
    return test_keys_new(keys, ids, NK, 0x7a, 0x5c);
}

static int teardown(void **state)
{
    (void)state;
    return test_keys_free(keys, NK);
}

/* One delegation issuer -> audience, decoded (not opened); its id in *id. */
static ca_delegation *dlg(int issuer, int audience, const char *cap, uint64_t task_cap,
                          uint64_t expires, const ca_hash *parent, ca_hash *id)
{
    ca_delegation_params p;
    assert_ok(ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION));
    const char *caps[1] = {cap};
    p.audience = &ids[audience];
    p.capabilities = caps;
    p.capability_count = 1;
    p.total_cap = 1000;
    p.task_cap = task_cap;
    p.not_before = T0 - HOUR;
    p.expires_at = expires;
    p.parent = parent;
    p.created_at = T0 - HOUR;
    uint8_t buf[2048];
    size_t len = 0;
    assert_ok(ca_delegation_sign(keys[issuer], &p, buf, sizeof buf, &len, id));
    ca_delegation *d = NULL;
    assert_ok(ca_delegation_decode(&d, buf, len));
    return d;
}

typedef struct msg {
    uint8_t buf[BUF];
    size_t len;
    ca_hash id;
} msg;

static void env_at(ca_envelope_params *ep, uint64_t created)
{
    assert_ok(ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION));
    ep->created_at = created;
    ep->expires_at = created + HOUR;
}

static ca_status request(msg *m, int who, uint64_t max_price, const ca_delegation *const *chain,
                         size_t n)
{
    ca_envelope_params ep;
    env_at(&ep, T0);
    ca_task_request r = {.version = CA_TASK_REQUEST_VERSION};
    r.capability = "llm.translate.en-fr";
    r.max_price = max_price;
    r.deadline = T0 + 10000;
    r.collateral = 10;
    r.delegation = chain;
    r.delegation_count = n;
    return ca_task_request_sign(keys[who], &ep, &r, m->buf, sizeof m->buf, &m->len, &m->id);
}

static ca_status bid(msg *m, int who, const ca_hash *task, uint64_t collateral,
                     const ca_delegation *const *chain, size_t n)
{
    ca_envelope_params ep;
    env_at(&ep, T0 + 100);
    ca_task_bid b = {.version = CA_TASK_BID_VERSION, .task = *task, .price = 80};
    b.completion = T0 + 5000;
    b.collateral = collateral;
    b.delegation = chain;
    b.delegation_count = n;
    return ca_task_bid_sign(keys[who], &ep, &b, m->buf, sizeof m->buf, &m->len, &m->id);
}

static ca_task *thread(const msg *rq, const ca_revocation_set *revs)
{
    ca_task_options o;
    assert_ok(ca_task_options_init(&o, CA_TASK_OPTIONS_VERSION));
    o.revocations = revs;
    ca_task *t = NULL;
    assert_ok(ca_task_new_bytes(&t, rq->buf, rq->len, T0, &o));
    return t;
}

static ca_status apply(ca_task *t, const msg *m, uint64_t now)
{
    return ca_task_apply_bytes(t, m->buf, m->len, now);
}

/* The answer to the last message of `kind` in the thread, signed by `who` at `at`. */
static void award_of(msg *m, const ca_task *t, int who, uint64_t at)
{
    ca_envelope_params ep;
    env_at(&ep, at);
    assert_ok(ca_task_award_reply(keys[who], &ep, ca_task_last(t, CA_KIND_TASK_BID), 0, m->buf,
                                  sizeof m->buf, &m->len, &m->id));
}

static void result_of(msg *m, const ca_task *t, int who, uint64_t at)
{
    ca_envelope_params ep;
    env_at(&ep, at);
    const ca_task_content out = {
        .version = CA_TASK_CONTENT_VERSION, .data = (const uint8_t *)"hello", .data_len = 5};
    assert_ok(ca_task_result_reply(keys[who], &ep, ca_task_last(t, CA_KIND_TASK_AWARD), &out,
                                   m->buf, sizeof m->buf, &m->len, &m->id));
}

static void receipt_of(msg *m, const ca_task *t, int who, uint64_t at)
{
    ca_envelope_params ep;
    env_at(&ep, at);
    assert_ok(ca_task_receipt_reply(keys[who], &ep, ca_task_last(t, CA_KIND_TASK_RESULT), 1, 90, 80,
                                    m->buf, sizeof m->buf, &m->len, &m->id));
}

static ca_revocation_set *revoke(ca_revocation_set *set, int who, const ca_hash *what)
{
    uint8_t buf[512];
    size_t len = 0;
    assert_ok(ca_revocation_sign(keys[who], what, T0, T0 + 48 * HOUR, buf, sizeof buf, &len, NULL));
    assert_ok(ca_revocation_set_add(set, buf, len));
    return set;
}

/* A sub-agent hires for its delegator, and a delegate works for its own: the whole thread. */
static void test_delegated_hire(void **state)
{
    (void)state;
    ca_hash pd, wb;
    ca_delegation *rc = dlg(P, D, "llm.*", 100, T0 + 24 * HOUR, NULL, &pd);
    ca_delegation *bc = dlg(W, B, "llm.translate.*", 50, T0 + 24 * HOUR, NULL, &wb);
    msg rq, bd, aw, rs, rc_;
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&rc, 1));
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&bc, 1));
    ca_task *t = thread(&rq, NULL);
    assert_ok(apply(t, &bd, T0 + 100));

    /* Whom each message and side acts for. */
    ca_agent_id who;
    assert_int_equal(ca_task_msg_delegator(ca_task_last(t, CA_KIND_TASK_BID), &who), 1);
    assert_memory_equal(who.bytes, ids[W].bytes, 32);
    assert_int_equal(ca_task_msg_delegator(ca_task_last(t, CA_KIND_TASK_REQUEST), &who), 1);
    assert_memory_equal(who.bytes, ids[P].bytes, 32);
    ca_task_side_info si = {.version = CA_TASK_SIDE_INFO_VERSION};
    assert_ok(ca_task_side(t, CA_TASK_PARTY_REQUESTER, &si));
    assert_memory_equal(si.agent.bytes, ids[D].bytes, 32);
    assert_memory_equal(si.principal.bytes, ids[P].bytes, 32);
    assert_int_equal(si.delegated, 1);
    assert_int_equal(si.revoked, 0);
    assert_int_equal(si.depth, 1);
    assert_memory_equal(si.root.bytes, pd.bytes, 32);
    assert_memory_equal(si.leaf.bytes, pd.bytes, 32);
    assert_int_equal(si.task_cap, 100);
    assert_status(CA_ERR_NOT_FOUND, ca_task_side(t, CA_TASK_PARTY_WORKER, &si));

    award_of(&aw, t, D, T0 + 300);
    assert_ok(apply(t, &aw, T0 + 300));
    assert_ok(ca_task_side(t, CA_TASK_PARTY_WORKER, &si));
    assert_memory_equal(si.agent.bytes, ids[B].bytes, 32);
    assert_memory_equal(si.principal.bytes, ids[W].bytes, 32);
    assert_int_equal(si.delegated, 1);
    assert_memory_equal(si.leaf.bytes, wb.bytes, 32);
    result_of(&rs, t, B, T0 + 1000);
    assert_ok(apply(t, &rs, T0 + 1000));
    receipt_of(&rc_, t, D, T0 + 2000);
    assert_ok(apply(t, &rc_, T0 + 2000));
    assert_int_equal(ca_task_get_state(t), CA_TASK_COMPLETED);

    /* The typed views: version 2 gives the chain, version 1 leaves the caller's tail alone. */
    ca_task_request v2 = {.version = CA_TASK_REQUEST_VERSION};
    assert_ok(ca_task_msg_request(ca_task_message(t, 0), &v2));
    assert_int_equal(v2.delegation_count, 1);
    ca_delegation_info li = {.version = CA_DELEGATION_INFO_VERSION};
    assert_ok(ca_delegation_get(v2.delegation[0], &li));
    assert_memory_equal(li.id.bytes, pd.bytes, 32);
    ca_task_request v1;
    memset(&v1, 0xab, sizeof v1);
    v1.version = 1;
    assert_ok(ca_task_msg_request(ca_task_message(t, 0), &v1));
    assert_int_equal(v1.version, 1);
    assert_int_equal(v1.max_price, 100);
    assert_int_equal(v1.delegation_count, (size_t)0xababababababababull);

    /* A plain side: the thread acts for the sender. */
    ca_task_bid bv = {.version = CA_TASK_BID_VERSION};
    assert_ok(ca_task_msg_bid(ca_task_last(t, CA_KIND_TASK_BID), &bv));
    assert_int_equal(bv.delegation_count, 1);

    /* The whole thread round-trips (audit mode re-verifies the chains). */
    size_t len = 0;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, ca_task_serialize(t, NULL, 0, &len));
    uint8_t *ser = malloc(len);
    assert_non_null(ser);
    assert_ok(ca_task_serialize(t, ser, len, &len));
    ca_task *back = NULL;
    assert_ok(ca_task_deserialize(&back, ser, len, NULL));
    ca_hash d1, d2;
    assert_ok(ca_task_digest(t, &d1));
    assert_ok(ca_task_digest(back, &d2));
    assert_memory_equal(d1.bytes, d2.bytes, 32);
    ca_task_free(back);
    free(ser);
    ca_task_free(t);
    ca_delegation_free(rc);
    ca_delegation_free(bc);
}

/* A plain thread reports both sides as themselves. */
static void test_plain_sides(void **state)
{
    (void)state;
    msg rq, bd, aw;
    assert_ok(request(&rq, P, 100, NULL, 0));
    assert_ok(bid(&bd, W, &rq.id, 10, NULL, 0));
    ca_task *t = thread(&rq, NULL);
    assert_ok(apply(t, &bd, T0 + 100));
    ca_agent_id who;
    assert_int_equal(ca_task_msg_delegator(ca_task_last(t, CA_KIND_TASK_BID), &who), 0);
    assert_memory_equal(who.bytes, ids[W].bytes, 32);
    award_of(&aw, t, P, T0 + 300);
    assert_ok(apply(t, &aw, T0 + 300));
    ca_task_side_info si = {.version = CA_TASK_SIDE_INFO_VERSION};
    assert_ok(ca_task_side(t, CA_TASK_PARTY_WORKER, &si));
    assert_int_equal(si.delegated, 0);
    assert_memory_equal(si.principal.bytes, ids[W].bytes, 32);
    assert_status(CA_ERR_INVALID_ARGUMENT, ca_task_side(t, (ca_task_party)2, &si));
    si.version = 0;
    assert_status(CA_ERR_UNSUPPORTED, ca_task_side(t, CA_TASK_PARTY_WORKER, &si));
    ca_task_free(t);
}

static ca_status new_status(const msg *rq)
{
    ca_task *t = NULL;
    ca_status st = ca_task_new_bytes(&t, rq->buf, rq->len, T0, NULL);
    ca_task_free(t);
    return st;
}

/* Every refusal of a delegated request, with its status. */
static void test_request_refusals(void **state)
{
    (void)state;
    ca_hash id, id2;
    msg rq;
    /* A chain for another delegate (P -> E), sent by D. */
    ca_delegation *c = dlg(P, E, "llm.*", 100, T0 + HOUR, NULL, &id);
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_AUDIENCE, new_status(&rq));
    ca_delegation_free(c);
    /* The capability is not granted. */
    c = dlg(P, D, "img.*", 100, T0 + HOUR, NULL, &id);
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_CAPABILITY, new_status(&rq));
    ca_delegation_free(c);
    /* The money is above the per-task cap (99 < 100), and exactly at it is fine. */
    c = dlg(P, D, "llm.*", 99, T0 + HOUR, NULL, &id);
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_TASK_CAP, new_status(&rq));
    assert_ok(request(&rq, D, 99, (const ca_delegation *const *)&c, 1));
    assert_ok(new_status(&rq));
    ca_delegation_free(c);
    /* The chain expired before the request was made. */
    c = dlg(P, D, "llm.*", 100, T0 - 1, NULL, &id);
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_EXPIRED, new_status(&rq));
    ca_delegation_free(c);
    /* A widening re-delegation (task cap 100 -> 200): chain_verify's status. */
    ca_delegation *ch[2];
    ch[0] = dlg(P, E, "llm.*", 100, T0 + HOUR, NULL, &id);
    ch[1] = dlg(E, D, "llm.*", 200, T0 + HOUR, &id, &id2);
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)ch, 2));
    assert_status(CA_ERR_DELEGATION_TASK_CAP, new_status(&rq));
    ca_delegation_free(ch[1]);
    /* Links out of order. */
    ch[1] = dlg(E, D, "llm.*", 100, T0 + HOUR, &id, &id2);
    ca_delegation *rev[2] = {ch[1], ch[0]};
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)rev, 2));
    assert_status(CA_ERR_DELEGATION_PARENT, new_status(&rq));
    /* The right order is accepted: D acts for P through E. */
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)ch, 2));
    assert_ok(new_status(&rq));
    ca_delegation_free(ch[0]);
    ca_delegation_free(ch[1]);
}

/* A link whose signature does not verify: the body is intact, the thread refuses it. */
static void test_forged_link(void **state)
{
    (void)state;
    ca_hash id;
    ca_delegation *c = dlg(P, D, "llm.*", 100, T0 + HOUR, NULL, &id);
    uint8_t raw[2048];
    size_t len = 0;
    assert_ok(ca_delegation_encoded(c, raw, sizeof raw, &len));
    raw[len - 1] ^= 1; /* the signature is the envelope's last field */
    ca_delegation *f = NULL;
    assert_ok(ca_delegation_decode(&f, raw, len));
    msg rq;
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&f, 1));
    assert_status(CA_ERR_BAD_SIGNATURE, new_status(&rq));
    ca_delegation_free(f);
    ca_delegation_free(c);
}

/* Every refusal of a delegated bid. */
static void test_bid_refusals(void **state)
{
    (void)state;
    ca_hash id, pd;
    msg rq, bd;
    ca_delegation *rc = dlg(P, D, "llm.*", 100, T0 + HOUR, NULL, &pd);
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&rc, 1));
    ca_revocation_set *set = NULL;
    assert_ok(ca_revocation_set_new(&set, 16));
    ca_task *t = thread(&rq, set);
    /* Collateral above the bidder's per-task cap. */
    ca_delegation *c = dlg(W, B, "llm.*", 9, T0 + HOUR, NULL, &id);
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_TASK_CAP, apply(t, &bd, T0 + 100));
    ca_delegation_free(c);
    /* The request's capability is not granted to the bidder. */
    c = dlg(W, B, "llm.summarize", 50, T0 + HOUR, NULL, &id);
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_CAPABILITY, apply(t, &bd, T0 + 100));
    ca_delegation_free(c);
    /* A chain for another delegate. */
    c = dlg(W, E, "llm.*", 50, T0 + HOUR, NULL, &id);
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_AUDIENCE, apply(t, &bd, T0 + 100));
    ca_delegation_free(c);
    /* The requester's own delegator bidding through another delegate: self-dealing. */
    c = dlg(P, B, "llm.*", 50, T0 + HOUR, NULL, &id);
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_TASK_FORBIDDEN, apply(t, &bd, T0 + 100));
    ca_delegation_free(c);
    /* ... or bidding itself. */
    assert_ok(bid(&bd, P, &rq.id, 10, NULL, 0));
    assert_status(CA_ERR_TASK_FORBIDDEN, apply(t, &bd, T0 + 100));
    /* A chain its own issuer revoked before the bid. */
    c = dlg(W, B, "llm.*", 50, T0 + HOUR, NULL, &id);
    revoke(set, W, &id);
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&c, 1));
    assert_status(CA_ERR_DELEGATION_REVOKED, apply(t, &bd, T0 + 100));
    ca_delegation_free(c);
    assert_int_equal(ca_task_message_count(t), 1);
    ca_task_free(t);
    ca_revocation_set_free(set);
    ca_delegation_free(rc);
}

/*
 * Revocations reach a running thread: from the first apply after the set holds one,
 * the revoked side's messages are refused; what was accepted stays; a stranger's
 * revocation has no force; an intermediate link cuts everything under it.
 */
static void test_revocation_in_thread(void **state)
{
    (void)state;
    ca_hash l0, l1, wb;
    /* The requester E acts for P through D: P -> D -> E. */
    ca_delegation *ch[2];
    ch[0] = dlg(P, D, "llm.*", 100, T0 + 24 * HOUR, NULL, &l0);
    ch[1] = dlg(D, E, "llm.translate.*", 100, T0 + 24 * HOUR, &l0, &l1);
    ca_delegation *bc = dlg(W, B, "llm.*", 50, T0 + 24 * HOUR, NULL, &wb);
    msg rq, bd, aw, rs, rc;
    assert_ok(request(&rq, E, 100, (const ca_delegation *const *)ch, 2));
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&bc, 1));

    for (int round = 0; round < 3; round++) {
        /* round 0: P revokes the root; 1: P revokes the middle link (from above);
         * 2: D revokes the link it issued. */
        ca_revocation_set *set = NULL;
        assert_ok(ca_revocation_set_new(&set, 16));
        ca_task *t = thread(&rq, set);
        assert_ok(apply(t, &bd, T0 + 100));
        /* A stranger's revocations of both links have no force. */
        revoke(set, S, &l0);
        revoke(set, S, &l1);
        /* Nor does the delegate's own revocation of a link above it (E issued neither). */
        revoke(set, E, &l0);
        ca_task_side_info si = {.version = CA_TASK_SIDE_INFO_VERSION};
        assert_ok(ca_task_side(t, CA_TASK_PARTY_REQUESTER, &si));
        assert_int_equal(si.revoked, 0);
        assert_int_equal(si.depth, 2);
        assert_memory_equal(si.principal.bytes, ids[P].bytes, 32);
        if (round == 0)
            revoke(set, P, &l0);
        else if (round == 1)
            revoke(set, P, &l1);
        else
            revoke(set, D, &l1);
        assert_ok(ca_task_side(t, CA_TASK_PARTY_REQUESTER, &si));
        assert_int_equal(si.revoked, 1);
        award_of(&aw, t, E, T0 + 300);
        assert_status(CA_ERR_DELEGATION_REVOKED, apply(t, &aw, T0 + 300));
        assert_int_equal(ca_task_message_count(t), 2); /* the request and the bid stay */
        assert_int_equal(ca_task_get_state(t), CA_TASK_SUBMITTED);
        ca_task_free(t);
        ca_revocation_set_free(set);
    }

    /* The worker side: revoked after the award, its result is refused. */
    ca_revocation_set *set = NULL;
    assert_ok(ca_revocation_set_new(&set, 16));
    ca_task *t = thread(&rq, set);
    assert_ok(apply(t, &bd, T0 + 100));
    award_of(&aw, t, E, T0 + 300);
    assert_ok(apply(t, &aw, T0 + 300));
    revoke(set, W, &wb);
    result_of(&rs, t, B, T0 + 1000);
    assert_status(CA_ERR_DELEGATION_REVOKED, apply(t, &rs, T0 + 1000));
    ca_task_side_info si = {.version = CA_TASK_SIDE_INFO_VERSION};
    assert_ok(ca_task_side(t, CA_TASK_PARTY_WORKER, &si));
    assert_int_equal(si.revoked, 1);
    assert_int_equal(ca_task_get_state(t), CA_TASK_WORKING);
    ca_task_free(t);

    /* An award of a bid whose chain was revoked after the bid is refused too. */
    ca_revocation_set_free(set);
    assert_ok(ca_revocation_set_new(&set, 16));
    t = thread(&rq, set);
    assert_ok(apply(t, &bd, T0 + 100));
    revoke(set, W, &wb);
    award_of(&aw, t, E, T0 + 300);
    assert_status(CA_ERR_DELEGATION_REVOKED, apply(t, &aw, T0 + 300));
    ca_task_free(t);
    ca_revocation_set_free(set);

    /* Without the set (audit, or another thread) the same messages are fine. */
    t = thread(&rq, NULL);
    assert_ok(apply(t, &bd, T0 + 100));
    award_of(&aw, t, E, T0 + 300);
    assert_ok(apply(t, &aw, T0 + 300));
    result_of(&rs, t, B, T0 + 1000);
    assert_ok(apply(t, &rs, T0 + 1000));
    receipt_of(&rc, t, E, T0 + 2000);
    assert_ok(apply(t, &rc, T0 + 2000));
    ca_task_free(t);
    for (int i = 0; i < 2; i++)
        ca_delegation_free(ch[i]);
    ca_delegation_free(bc);
}

/* A chain that expires while the task runs: the side's later messages are refused. */
static void test_chain_expires(void **state)
{
    (void)state;
    ca_hash id, wb;
    ca_delegation *c = dlg(P, D, "llm.*", 100, T0 + 1500, NULL, &id);
    ca_delegation *bc = dlg(W, B, "llm.*", 50, T0 + 800, NULL, &wb);
    msg rq, bd, aw, rs, rc;
    assert_ok(request(&rq, D, 100, (const ca_delegation *const *)&c, 1));
    assert_ok(bid(&bd, B, &rq.id, 10, (const ca_delegation *const *)&bc, 1));
    ca_task *t = thread(&rq, NULL);
    assert_ok(apply(t, &bd, T0 + 100));
    award_of(&aw, t, D, T0 + 300);
    assert_ok(apply(t, &aw, T0 + 300));
    /* The worker's chain ended at T0 + 800. */
    result_of(&rs, t, B, T0 + 1000);
    assert_status(CA_ERR_EXPIRED, apply(t, &rs, T0 + 1000));
    result_of(&rs, t, B, T0 + 800);
    assert_ok(apply(t, &rs, T0 + 1000));
    /* The requester's at T0 + 1500. */
    receipt_of(&rc, t, D, T0 + 2000);
    assert_status(CA_ERR_EXPIRED, apply(t, &rc, T0 + 2000));
    receipt_of(&rc, t, D, T0 + 1500);
    assert_ok(apply(t, &rc, T0 + 2000));
    ca_task_free(t);
    ca_delegation_free(c);
    ca_delegation_free(bc);
}

/* Builders: the chain's count and pointers; a version-1 struct has no chain. */
static void test_builders(void **state)
{
    (void)state;
    ca_hash id;
    ca_delegation *c = dlg(P, D, "llm.*", 100, T0 + HOUR, NULL, &id);
    const ca_delegation *nine[9];
    for (int i = 0; i < 9; i++)
        nine[i] = c;
    msg rq;
    assert_status(CA_ERR_LIMIT, request(&rq, D, 100, nine, 9));
    assert_status(CA_ERR_INVALID_ARGUMENT, request(&rq, D, 100, NULL, 1));
    const ca_delegation *holes[2] = {c, NULL};
    assert_status(CA_ERR_INVALID_ARGUMENT, request(&rq, D, 100, holes, 2));
    ca_hash task = {{1}};
    msg bd;
    assert_status(CA_ERR_LIMIT, bid(&bd, B, &task, 10, nine, 9));
    /* Version 1: whatever lies past its end is not read. */
    ca_envelope_params ep;
    env_at(&ep, T0);
    ca_task_request r;
    memset(&r, 0xab, sizeof r);
    r.version = 1;
    r.capability = "llm.translate.en-fr";
    r.input = NULL;
    r.max_price = 100;
    r.deadline = T0 + 10000;
    r.collateral = 10;
    r.has_recipient = 0;
    assert_ok(ca_task_request_sign(keys[P], &ep, &r, rq.buf, sizeof rq.buf, &rq.len, &rq.id));
    ca_task_msg *m = NULL;
    assert_ok(ca_task_msg_open(&m, rq.buf, rq.len, T0, NULL));
    ca_task_request v = {.version = CA_TASK_REQUEST_VERSION};
    assert_ok(ca_task_msg_request(m, &v));
    assert_int_equal(v.delegation_count, 0);
    assert_null(v.delegation);
    ca_task_msg_free(m);
    ca_delegation_free(c);
}

/* The parser: a chain whose link is not a delegation makes the message malformed. */
static void test_parser(void **state)
{
    (void)state;
    uint8_t body[256];
    cai_wire_writer w;
    cai_ww_init(&w, body, sizeof body);
    cai_ww_map(&w, 6);
    cai_ww_kstr(&w, 0, "llm.a", 5);
    cai_ww_uint(&w, 1);
    cai_ww_map(&w, 1);
    cai_ww_kbin(&w, 0, "", 0);
    cai_ww_kuint(&w, 2, 100);
    cai_ww_kuint(&w, 3, T0 + 10000);
    cai_ww_kuint(&w, 4, 0);
    cai_ww_uint(&w, 5);
    cai_ww_array(&w, 1);
    cai_ww_bin(&w, "junk", 4);
    size_t blen = 0;
    assert_ok(cai_ww_finish(&w, &blen));
    ca_envelope_params ep;
    env_at(&ep, T0);
    ep.kind = CA_KIND_TASK_REQUEST;
    msg m;
    assert_ok(ca_envelope_sign(keys[P], &ep, body, blen, m.buf, sizeof m.buf, &m.len, &m.id));
    ca_task_msg *tm = NULL;
    assert_status(CA_ERR_MALFORMED, ca_task_msg_open(&tm, m.buf, m.len, T0, NULL));
    assert_null(tm);
    /* An empty chain array is not canonical (the field is absent then). */
    cai_ww_init(&w, body, sizeof body);
    cai_ww_map(&w, 6);
    cai_ww_kstr(&w, 0, "llm.a", 5);
    cai_ww_uint(&w, 1);
    cai_ww_map(&w, 1);
    cai_ww_kbin(&w, 0, "", 0);
    cai_ww_kuint(&w, 2, 100);
    cai_ww_kuint(&w, 3, T0 + 10000);
    cai_ww_kuint(&w, 4, 0);
    cai_ww_uint(&w, 5);
    cai_ww_array(&w, 0);
    assert_ok(cai_ww_finish(&w, &blen));
    assert_ok(ca_envelope_sign(keys[P], &ep, body, blen, m.buf, sizeof m.buf, &m.len, &m.id));
    assert_status(CA_ERR_MALFORMED, ca_task_msg_open(&tm, m.buf, m.len, T0, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delegated_hire),   cmocka_unit_test(test_plain_sides),
        cmocka_unit_test(test_request_refusals), cmocka_unit_test(test_forged_link),
        cmocka_unit_test(test_bid_refusals),     cmocka_unit_test(test_revocation_in_thread),
        cmocka_unit_test(test_chain_expires),    cmocka_unit_test(test_builders),
        cmocka_unit_test(test_parser),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
