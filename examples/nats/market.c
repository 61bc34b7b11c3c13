/*
 * cyberagent-nats market: the hirer, running many tasks at once over NATS,
 * with its ledger on the JetStream ledger stream.
 *
 * THE LEDGER IS THE STREAM. The market never applies an op it made itself:
 * every ledger op (its own as hirer, the mint authority's, the arbiter's,
 * and the workers', which they publish themselves) is a record in a message
 * on the stream (common.h: the record format and log positions), and the
 * market's ledger is a replica that applies the stream in order
 * (ca_ledger_apply_log, the stream timestamp as the entry time). An op
 * counts once the replica applied it; the outcome counts (completed,
 * refunded, slashed) are read off the applied stream too. So a market killed
 * with kill -9 and started again with the same arguments rebuilds the same
 * ledger from the stream, finds the escrows it left open and settles them
 * (delivered: released; deadline passed: slashed and refunded), and goes on
 * with the tasks not yet started; no acknowledged op is lost.
 *
 * Publishing: per signer (hirer, authority, arbiter) at most one message is
 * in flight (published, not yet applied); every op queued meanwhile goes in
 * the next message, signed with the nonces that follow the replica's account
 * nonce. An op refused for its nonce (an op before it in the same message
 * failed) is queued again; every other refusal goes to the op's purpose.
 *
 * Tasks: up to --window at once. Each: REQUEST on ca.task.<capability>;
 * bids until as many came as routing has candidates, or BID_MS; AWARD to the
 * best; the worker's consent on ca.m.consent (CONSENT_MS, else the task is
 * issued again); ESCROW_OPEN on the stream; the hirer's signed OPENED notice
 * to the worker; the RESULT on the hirer's inbox and the worker's DELIVER on
 * the stream; RELEASE (HOLD_MS after the first result, so a second,
 * different result is caught: SLASH for equivocation with the evidence and
 * SPLIT by the arbiter), or at deadline + GRACE_MS with nothing delivered a
 * MISSED_DEADLINE slash and REFUND.
 *
 * Admission: only the seed's worker identities (indexes 0 .. MAX_WORKER-1)
 * join; each is minted MINT_JOIN once, ever (the stream says whether it
 * was), however often it joins or restarts. Every message read is verified
 * and every refusal counted (drops); the final lines print the counts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "nats_hire.h"

#define BID_MS          300u
#define CONSENT_MS      2000u
#define HOLD_MS         50u
#define GRACE_MS        300u
#define REQ_DEADLINE_MS 10000u
#define WORK_MS         3000u /* the completion workers bid: now + WORK_MS */
#define MAXBIDS         16u
#define BATCH_BYTES     (512u * 1024u)

enum { P_HIRER, P_AUTH, P_ARB, NPARTY };
enum {
    PUR_MINT_HIRER,
    PUR_MINT,
    PUR_OPEN,
    PUR_RELEASE,
    PUR_SLASH_EQ,
    PUR_SPLIT,
    PUR_SLASH_MISS,
    PUR_REFUND
};
enum { T_FREE, T_BIDDING, T_AWARDED, T_OPENING, T_OPEN, T_SETTLING };

typedef struct pend {
    struct pend *next;
    ca_ledger_op op;
    int has_cosig;
    ca_signature cosig;
    uint8_t *att;
    size_t att_len;
    size_t slot;
    uint32_t gen;
    int purpose;
} pend;

typedef struct party {
    ca_identity *id;
    ca_agent_id pk;
    uint64_t subj_seq;
    pend *qhead, *qtail;
    pend *fly[REC_MAX];
    size_t nfly;
    uint64_t fly_seq;
} party;

typedef struct slot {
    int state;
    uint32_t gen;
    int orphan; /* an escrow a previous run of the market left open: no task thread */
    ca_task *task;
    ca_hash task_id, award_id;
    uint32_t cap;
    uint64_t bid_until, consent_until, deadline, first_result_at, retry_at;
    size_t expect, nbids;
    ca_routing_bid bids[MAXBIDS];
    ca_hash bid_ids[MAXBIDS];
    uint64_t bid_done[MAXBIDS];
    ca_agent_id worker;
    uint64_t price;
    ca_ledger_op escrow;
    ca_hash res_id;
    int results, delivered;
} slot;

/* One applied stream message, from the replica thread to the main thread. */
typedef struct rec_info {
    ca_status st;
    int decoded;
    ca_ledger_op op;
    uint8_t *att; /* DELIVER only: the RESULT envelope */
    size_t att_len;
} rec_info;
typedef struct applied {
    uint64_t seq;
    int fatal;
    size_t n;
    rec_info r[];
} applied;

typedef struct open_escrow {
    ca_hash award;
    ca_agent_id worker;
    uint64_t deadline;
    int delivered;
} open_escrow;

typedef struct market {
    const opts *o;
    party p[NPARTY];
    char inbox[48];
    rc_core *core;     /* the replica (examples/replica/replica_core.h), in memory */
    ca_ledger *ledger; /* rc_ledger(core) */
    applied_results results;
    pthread_mutex_t lmu; /* the ledger: written by the replica thread, read by the main one */
    ca_ledger_options lo;
    ca_hash ledger_id;
    ca_routing *rt;
    ca_replay_guard *guard;
    natsConnection *nc;
    rjs *js_pub, *js_read;
    mbox box;
    pthread_t rep;
    volatile int stop;
    ca_agent_id wpk[MAX_WORKER];
    uint8_t minted[MAX_WORKER]; /* 0 no, 1 MINT queued, 2 applied */
    int hirer_minted;
    slot *slots;
    size_t nslots;
    uint64_t applied_seq;
    int catching_up, stake_dirty, fatal;
    open_escrow *open; /* while catching up: the hirer's open escrows */
    size_t nopen, capopen;
    uint64_t opened, completed, refunded, slashed, reissued, ops_ours_refused, next_cap;
    uint64_t progress_at, notices, requests;
    drops d;
} market;

static uint8_t batch_buf[BATCH_BYTES + 2 * (CA_LEDGER_OP_MAX_BYTES + 16384u)];

static int worker_index(const market *mk, const ca_agent_id *id)
{
    for (size_t i = 0; i < MAX_WORKER; i++)
        if (memcmp(&mk->wpk[i], id, sizeof *id) == 0)
            return (int)i;
    return -1;
}

static void account(market *mk, const ca_agent_id *id, ca_ledger_account_info *a)
{
    pthread_mutex_lock(&mk->lmu);
    a->version = CA_LEDGER_ACCOUNT_INFO_VERSION; /* the layout this program was built with */
    if (ca_ledger_account(mk->ledger, id, a) != CA_OK)
        memset(a, 0, sizeof *a);
    pthread_mutex_unlock(&mk->lmu);
}

/* ---------------------------------------------------------------- replica */

static void *replica_main(void *arg)
{
    market *mk = arg;
    rjs_consumer *c = NULL;
    static rc_item items[RC_FRAME_MAX_ITEMS];
    if (rjs_consume(mk->js_read, rc_next_seq(mk->core), &c) != RJS_OK) {
        fprintf(stderr, "cyberagent-nats market: consume: %s\n", rjs_error(mk->js_read));
        applied *ev = calloc(1, sizeof *ev);
        if (ev != NULL)
            ev->fatal = 1;
        (void)mbox_post(&mk->box, 1, NULL, ev);
        return NULL;
    }
    while (!mk->stop) {
        rjs_msg m;
        rjs_status rs = rjs_next(c, 200, &m);
        if (rs == RJS_ERR_TIMEOUT)
            continue;
        ca_status st = CA_ERR_IO;
        rc_checkpoint cp;
        int is_cp = 0;
        mk->results.n = 0;
        if (rs == RJS_OK) {
            pthread_mutex_lock(&mk->lmu);
            st = rc_apply(mk->core, m.seq, m.time_ns, m.data, m.len, &cp, &is_cp);
            pthread_mutex_unlock(&mk->lmu);
        }
        size_t n = rs == RJS_OK ? rc_frame_split(m.data, m.len, items) : 0;
        applied *ev = calloc(1, sizeof *ev + n * sizeof ev->r[0]);
        if (ev == NULL)
            st = CA_ERR_NO_MEMORY;
        if (rs != RJS_OK || st != CA_OK || n != mk->results.n) {
            fprintf(stderr, "cyberagent-nats market: replica stops: %s %s %s\n",
                    rs != RJS_OK ? rjs_error(mk->js_read) : "", ca_status_str(st),
                    rc_error(mk->core));
            if (ev != NULL)
                ev->fatal = 1;
            (void)mbox_post(&mk->box, 1, NULL, ev);
            break;
        }
        ev->seq = m.seq;
        ev->n = n;
        for (size_t i = 0; i < n; i++) {
            ev->r[i].st = mk->results.st[i];
            ev->r[i].op.version = CA_LEDGER_OP_VERSION;
            ev->r[i].decoded =
                ca_ledger_op_decode(items[i].op, items[i].op_len, &ev->r[i].op) == CA_OK;
            if (ev->r[i].decoded && ev->r[i].st == CA_OK &&
                ev->r[i].op.type == CA_LEDGER_OP_ESCROW_DELIVER && items[i].att_len > 0) {
                ev->r[i].att = malloc(items[i].att_len);
                if (ev->r[i].att != NULL) {
                    memcpy(ev->r[i].att, items[i].att, items[i].att_len);
                    ev->r[i].att_len = items[i].att_len;
                }
            }
        }
        (void)mbox_post(&mk->box, 1, NULL, ev);
    }
    rjs_consumer_free(c);
    return NULL;
}

/* ---------------------------------------------------------------- ops */

static void queue_op(market *mk, int party_ix, const ca_ledger_op *op, int purpose, size_t slot_ix,
                     const ca_signature *cosig, const uint8_t *att, size_t att_len)
{
    pend *p = calloc(1, sizeof *p);
    if (p == NULL || (att_len > 0 && (p->att = malloc(att_len)) == NULL)) {
        free(p);
        mk->fatal = 1;
        return;
    }
    p->op = *op;
    p->purpose = purpose;
    p->slot = slot_ix;
    p->gen = slot_ix < mk->nslots ? mk->slots[slot_ix].gen : 0;
    if (cosig != NULL) {
        p->has_cosig = 1;
        p->cosig = *cosig;
    }
    if (att_len > 0)
        memcpy(p->att, att, att_len);
    p->att_len = att_len;
    party *pt = &mk->p[party_ix];
    if (pt->qtail != NULL)
        pt->qtail->next = p;
    else
        pt->qhead = p;
    pt->qtail = p;
}

static void pend_free(pend *p)
{
    if (p != NULL)
        free(p->att);
    free(p);
}

static void op_done(market *mk, pend *p, ca_status st, uint64_t seq);

/* Publishes the next message of one party when none is in flight. 0, or -1 when
 * the stream cannot be reached (the market stops; a restart goes on). */
static int flush_party(market *mk, int k)
{
    party *pt = &mk->p[k];
    if (pt->nfly > 0 || pt->qhead == NULL)
        return 0;
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    account(mk, &pt->pk, &a);
    size_t len = 0, n = 0, bytes = 0;
    static uint8_t sigs[REC_MAX][CA_LEDGER_OP_MAX_BYTES];
    static rc_item items[REC_MAX];
    while (pt->qhead != NULL && n < REC_MAX && bytes < BATCH_BYTES) {
        pend *p = pt->qhead;
        pt->qhead = p->next;
        if (pt->qhead == NULL)
            pt->qtail = NULL;
        p->next = NULL;
        p->op.signer = pt->pk;
        p->op.nonce = a.nonce + 1 + n;
        uint8_t *sig = sigs[n];
        size_t sl = 0;
        ca_status st = p->has_cosig
                           ? ca_ledger_op_sign_cosigned(&mk->ledger_id, &p->op, pt->id, &p->cosig,
                                                        sig, CA_LEDGER_OP_MAX_BYTES, &sl)
                           : ca_ledger_op_sign(&mk->ledger_id, &p->op, pt->id, NULL, sig,
                                               CA_LEDGER_OP_MAX_BYTES, &sl);
        if (st != CA_OK) {
            op_done(mk, p, st, 0);
            continue;
        }
        items[n] = (rc_item){sig, sl, p->att, p->att_len};
        bytes += sl + p->att_len;
        pt->fly[n++] = p;
    }
    if (n == 0)
        return 0;
    if (rc_frame_encode(items, n, batch_buf, sizeof batch_buf, &len) != CA_OK)
        return -1;
    for (int attempt = 0; attempt < 20; attempt++) {
        rjs_ack ack;
        rjs_status rs = rjs_publish(mk->js_pub, pt->pk.bytes, batch_buf, len, pt->subj_seq, &ack);
        if (rs == RJS_ERR_CONFLICT) { /* another writer on our subject: go on after it */
            pt->subj_seq = ack.last_subject_seq;
            continue;
        }
        if (rs != RJS_OK) {
            fprintf(stderr, "cyberagent-nats market: publish: %s: %s\n", rjs_status_str(rs),
                    rjs_error(mk->js_pub));
            return -1;
        }
        pt->subj_seq = ack.seq;
        pt->fly_seq = ack.seq;
        pt->nfly = n;
        return 0;
    }
    return -1;
}

/* ---------------------------------------------------------------- messages out */

static void publish_to(market *mk, const ca_agent_id *to, const uint8_t *data, size_t len)
{
    char subj[48];
    inbox_of(to, subj, sizeof subj);
    (void)natsConnection_Publish(mk->nc, subj, data, (int)len);
}

static void send_notice(market *mk, const ca_agent_id *to, int what, const ca_hash *ref,
                        ca_status st, uint64_t seq)
{
    notice n;
    memset(&n, 0, sizeof n);
    n.what = (uint8_t)what;
    if (ref != NULL)
        n.ref = *ref;
    n.status = (int32_t)st;
    n.seq = seq;
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    account(mk, to, &a);
    n.nonce = a.nonce;
    n.balance = a.balance;
    n.bonded = a.bonded;
    n.serial = ++mk->notices;
    uint8_t body[NOTICE_BYTES], out[NOTICE_BYTES + CA_ENVELOPE_MAX_OVERHEAD];
    notice_encode(&n, body);
    ca_envelope_params ep;
    env_params(&ep, KIND_NOTICE, now_ms(), ENV_LIFE_MS);
    ep.recipient = to;
    size_t len = 0;
    if (ca_envelope_sign(mk->p[P_HIRER].id, &ep, body, sizeof body, out, sizeof out, &len, NULL) ==
        CA_OK)
        publish_to(mk, to, out, len);
}

static void send_done(market *mk)
{
    static const uint8_t body[] = "done";
    uint8_t out[64 + CA_ENVELOPE_MAX_OVERHEAD];
    size_t len = 0;
    ca_envelope_params ep;
    env_params(&ep, KIND_DONE, now_ms(), 10000);
    if (ca_envelope_sign(mk->p[P_HIRER].id, &ep, body, 4, out, sizeof out, &len, NULL) == CA_OK)
        (void)natsConnection_Publish(mk->nc, SUBJ_DONE, out, (int)len);
    (void)natsConnection_Flush(mk->nc);
}

/* ---------------------------------------------------------------- tasks */

static void slot_free(market *mk, slot *s)
{
    ca_task_free(s->task);
    uint32_t gen = s->gen + 1;
    memset(s, 0, sizeof *s);
    s->gen = gen;
    s->state = T_FREE;
    (void)mk;
}

static void reissue(market *mk, slot *s)
{
    mk->reissued++;
    slot_free(mk, s);
}

static size_t slot_by_award(const market *mk, const ca_hash *award)
{
    for (size_t i = 0; i < mk->nslots; i++)
        if (mk->slots[i].state >= T_AWARDED &&
            memcmp(&mk->slots[i].award_id, award, sizeof *award) == 0)
            return i;
    return SIZE_MAX;
}

static size_t slot_by_task(const market *mk, const ca_hash *task)
{
    for (size_t i = 0; i < mk->nslots; i++)
        if (mk->slots[i].state != T_FREE && !mk->slots[i].orphan &&
            memcmp(&mk->slots[i].task_id, task, sizeof *task) == 0)
            return i;
    return SIZE_MAX;
}

static void sync_stakes(market *mk)
{
    pthread_mutex_lock(&mk->lmu);
    if (ca_routing_sync_stakes(mk->rt, mk->ledger, now_ms()) != CA_OK)
        mk->fatal = 1;
    pthread_mutex_unlock(&mk->lmu);
    mk->stake_dirty = 0;
}

static void query_init(ca_routing_query *q, const char *cap, uint64_t now)
{
    (void)ca_routing_query_init(q, CA_ROUTING_QUERY_VERSION);
    q->capability = cap;
    q->capability_len = strlen(cap);
    q->now = now;
    q->min_stake = 1; /* bonded and not jailed (routing reads stakes from the ledger) */
}

/* Starts a task in a free slot; 0 when no capability has a candidate now. */
static int start_task(market *mk, size_t ix)
{
    slot *s = &mk->slots[ix];
    uint64_t now = now_ms();
    if (mk->stake_dirty)
        sync_stakes(mk);
    ca_routing_result top[MAXBIDS];
    size_t expect = 0;
    uint32_t cap = 0;
    for (uint32_t tries = 0; tries < NCAPS && expect == 0; tries++) {
        cap = (uint32_t)(mk->next_cap++ % NCAPS);
        ca_routing_query q;
        query_init(&q, caps[cap], now);
        if (ca_routing_select(mk->rt, &q, top, sizeof(ca_routing_result), MAXBIDS, &expect) !=
            CA_OK)
            expect = 0;
    }
    if (expect == 0)
        return 0;
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    rq.capability = caps[cap];
    char input[64]; /* distinct per request: two requests alike would be one message id */
    int il = snprintf(input, sizeof input, "please do this (request %" PRIu64 ")", ++mk->requests);
    const ca_task_content rq_input = {
        .version = CA_TASK_CONTENT_VERSION, .data = (const uint8_t *)input, .data_len = (size_t)il};
    rq.input = &rq_input;
    rq.max_price = MAX_PRICE;
    rq.deadline = now + REQ_DEADLINE_MS;
    rq.collateral = COLLATERAL;
    ca_envelope_params ep;
    env_params(&ep, 0, now, ENV_LIFE_MS);
    uint8_t req[BUF];
    size_t len = 0;
    ca_envelope *env = NULL;
    ca_status st =
        ca_task_request_sign(mk->p[P_HIRER].id, &ep, &rq, req, sizeof req, &len, &s->task_id);
    if (st == CA_OK)
        st = ca_envelope_decode(&env, req, len, NULL);
    if (st == CA_OK)
        st = ca_task_new(&s->task, env, now, NULL);
    ca_envelope_free(env);
    if (st != CA_OK) {
        fprintf(stderr, "cyberagent-nats market: request: %s\n", ca_status_str(st));
        mk->fatal = 1;
        return 0;
    }
    char subj[96];
    (void)snprintf(subj, sizeof subj, "ca.task.%s", caps[cap]);
    (void)natsConnection_Publish(mk->nc, subj, req, (int)len);
    s->state = T_BIDDING;
    s->cap = cap;
    s->expect = expect;
    s->nbids = 0;
    s->bid_until = now + BID_MS;
    return 1;
}

static void close_bidding(market *mk, size_t ix)
{
    slot *s = &mk->slots[ix];
    uint64_t now = now_ms();
    if (mk->stake_dirty)
        sync_stakes(mk);
    ca_routing_query q;
    query_init(&q, caps[s->cap], now);
    ca_routing_result best[1];
    size_t got = 0;
    if (s->nbids == 0 ||
        ca_routing_rank_bids(mk->rt, &q, s->bids, sizeof(ca_routing_bid), s->nbids, best,
                             sizeof(ca_routing_result), 1, &got) != CA_OK ||
        got == 0) {
        reissue(mk, s);
        return;
    }
    size_t w = 0;
    while (w + 1 < s->nbids && memcmp(&s->bids[w].agent, &best[0].agent, sizeof best[0].agent))
        w++;
    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    aw.task = s->task_id;
    aw.bid = s->bid_ids[w];
    aw.worker = s->bids[w].agent;
    aw.price = s->bids[w].price;
    aw.collateral = COLLATERAL;
    aw.deadline = s->bid_done[w];
    ca_envelope_params ep;
    env_params(&ep, 0, now, ENV_LIFE_MS);
    uint8_t out[BUF];
    size_t len = 0;
    ca_envelope *env = NULL;
    ca_task_msg *msg = NULL;
    ca_status st =
        ca_task_award_sign(mk->p[P_HIRER].id, &ep, &aw, out, sizeof out, &len, &s->award_id);
    if (st == CA_OK)
        st = ca_envelope_decode(&env, out, len, NULL);
    if (st == CA_OK)
        st = ca_task_apply(s->task, env, now);
    if (st == CA_OK)
        st = ca_task_msg_parse(&msg, env, NULL);
    s->escrow.version = CA_LEDGER_OP_VERSION;
    if (st == CA_OK) /* the escrow the worker will consent to: derived from the award alike */
        st = ca_ledger_op_escrow_open(&s->escrow, msg);
    ca_task_msg_free(msg);
    ca_envelope_free(env);
    if (st != CA_OK) {
        reissue(mk, s);
        return;
    }
    s->worker = aw.worker;
    s->price = aw.price;
    s->deadline = aw.deadline;
    s->state = T_AWARDED;
    s->consent_until = now + CONSENT_MS;
    publish_to(mk, &aw.worker, out, len);
}

static void receipt(market *mk, slot *s, int accept)
{
    ca_task_receipt rc = {.version = CA_TASK_RECEIPT_VERSION};
    rc.task = s->task_id;
    rc.award = s->award_id;
    rc.result = s->res_id;
    rc.worker = s->worker;
    rc.accept = accept;
    rc.rating = accept ? 90 : 0;
    rc.paid = accept ? s->price : 0;
    ca_envelope_params ep;
    uint64_t now = now_ms();
    env_params(&ep, 0, now, ENV_LIFE_MS);
    uint8_t out[BUF];
    size_t len = 0;
    ca_envelope *env = NULL;
    if (ca_task_receipt_sign(mk->p[P_HIRER].id, &ep, &rc, out, sizeof out, &len, NULL) != CA_OK ||
        ca_envelope_decode(&env, out, len, NULL) != CA_OK)
        return;
    if (ca_task_apply(s->task, env, now) == CA_OK)
        publish_to(mk, &s->worker, out, len);
    ca_envelope_free(env);
}

/* Settles an open escrow when its time has come. */
static void try_settle(market *mk, size_t ix, uint64_t now)
{
    slot *s = &mk->slots[ix];
    if (s->state != T_OPEN || now < s->retry_at)
        return;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.ref = s->award_id;
    if (s->delivered && (s->orphan || (s->results > 0 && now >= s->first_result_at + HOLD_MS))) {
        if (!s->orphan && s->results > 0)
            receipt(mk, s, 1);
        op.type = CA_LEDGER_OP_ESCROW_RELEASE;
        queue_op(mk, P_HIRER, &op, PUR_RELEASE, ix, NULL, NULL, 0);
        s->state = T_SETTLING;
    } else if (!s->delivered && now > s->deadline + GRACE_MS) {
        op.type = CA_LEDGER_OP_SLASH;
        op.evidence = CA_LEDGER_EVIDENCE_MISSED_DEADLINE;
        op.counterparty = s->worker;
        queue_op(mk, P_HIRER, &op, PUR_SLASH_MISS, ix, NULL, NULL, 0);
        memset(&op, 0, sizeof op);
        op.version = CA_LEDGER_OP_VERSION;
        op.ref = s->award_id;
        op.type = CA_LEDGER_OP_ESCROW_REFUND;
        queue_op(mk, P_HIRER, &op, PUR_REFUND, ix, NULL, NULL, 0);
        s->state = T_SETTLING;
    }
}

/* A second, different RESULT: slash with the evidence, the arbiter splits the escrow. */
static void equivocation(market *mk, size_t ix, const ca_envelope *env)
{
    slot *s = &mk->slots[ix];
    uint8_t ev[16384];
    size_t ev_len = 0;
    ca_evidence *evo = NULL;
    if (ca_task_evidence(s->task, env, ev, sizeof ev, &ev_len) != CA_OK ||
        ca_evidence_open(&evo, ev, ev_len) != CA_OK)
        return;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_SLASH;
    op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
    ca_evidence_offender(evo, &op.counterparty);
    ca_evidence_offense(evo, &op.ref); /* one slash per offense, whatever the pair */
    op.deadline = ca_evidence_deadline(evo);
    ca_evidence_free(evo);
    queue_op(mk, P_HIRER, &op, PUR_SLASH_EQ, ix, NULL, ev, ev_len);
    if (s->state == T_OPEN) {
        receipt(mk, s, 0);
        memset(&op, 0, sizeof op);
        op.version = CA_LEDGER_OP_VERSION;
        op.type = CA_LEDGER_OP_ESCROW_SPLIT;
        op.ref = s->award_id;
        op.amount2 = COLLATERAL;
        queue_op(mk, P_ARB, &op, PUR_SPLIT, ix, NULL, NULL, 0);
        s->state = T_SETTLING;
    }
}

/* ---------------------------------------------------------------- ledger results */

static void op_done(market *mk, pend *p, ca_status st, uint64_t seq)
{
    slot *s = p->slot < mk->nslots && mk->slots[p->slot].gen == p->gen ? &mk->slots[p->slot] : NULL;
    if (st != CA_OK) {
        mk->ops_ours_refused++;
        if (mk->o->verbose)
            fprintf(stderr, "cyberagent-nats market: op %u refused: %s\n", p->op.type,
                    ca_status_str(st));
    }
    switch (p->purpose) {
    case PUR_MINT_HIRER:
        if (st != CA_OK)
            mk->hirer_minted = 0;
        break;
    case PUR_MINT: {
        int wi = worker_index(mk, &p->op.counterparty);
        if (st != CA_OK && wi >= 0 && mk->minted[wi] == 1)
            mk->minted[wi] = 0;
        break;
    }
    case PUR_OPEN:
        if (s != NULL && s->state == T_OPENING) {
            send_notice(mk, &s->worker, NOTICE_OPENED, &s->award_id, st, seq);
            if (st == CA_OK)
                s->state = T_OPEN;
            else
                reissue(mk, s);
        }
        break;
    case PUR_RELEASE:
    case PUR_REFUND:
    case PUR_SPLIT:
        if (s != NULL && s->state == T_SETTLING) {
            ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
            pthread_mutex_lock(&mk->lmu);
            ca_status est = ca_ledger_escrow(mk->ledger, &s->award_id, &e);
            pthread_mutex_unlock(&mk->lmu);
            if (est != CA_OK || e.state != CA_LEDGER_ESCROW_OPEN) {
                slot_free(mk, s);
            } else if (st != CA_OK) { /* still open: settle again in a moment */
                s->state = T_OPEN;
                s->delivered = e.delivered != 0;
                s->retry_at = now_ms() + 500;
            }
        }
        break;
    default:
        break;
    }
    pend_free(p);
}

static void open_escrow_track(market *mk, const ca_ledger_op *op)
{
    if (mk->nopen == mk->capopen) {
        size_t cap = mk->capopen ? 2 * mk->capopen : 64;
        open_escrow *n = realloc(mk->open, cap * sizeof *n);
        if (n == NULL) {
            mk->fatal = 1;
            return;
        }
        mk->open = n;
        mk->capopen = cap;
    }
    open_escrow *e = &mk->open[mk->nopen++];
    e->award = op->ref;
    e->worker = op->counterparty;
    e->deadline = op->deadline;
    e->delivered = 0;
}

static void open_escrow_event(market *mk, const ca_hash *award, int settled)
{
    for (size_t i = 0; i < mk->nopen; i++)
        if (memcmp(&mk->open[i].award, award, sizeof *award) == 0) {
            if (settled)
                mk->open[i] = mk->open[--mk->nopen];
            else
                mk->open[i].delivered = 1;
            return;
        }
}

static void on_delivered(market *mk, const rec_info *r)
{
    size_t ix = slot_by_award(mk, &r->op.ref);
    if (ix == SIZE_MAX)
        return;
    slot *s = &mk->slots[ix];
    s->delivered = 1;
    if (s->task != NULL && s->results == 0 && r->att != NULL) {
        /* The RESULT travels with the DELIVER: the thread takes it from the stream
         * when it did not come on the inbox. */
        ca_envelope *env = NULL;
        if (ca_envelope_decode(&env, r->att, r->att_len, NULL) == CA_OK &&
            ca_task_apply(s->task, env, now_ms()) == CA_OK) {
            s->results = 1;
            ca_envelope_id(env, &s->res_id);
            s->first_result_at = now_ms();
        }
        ca_envelope_free(env);
    }
}

static void on_applied(market *mk, applied *ev)
{
    if (ev->fatal) {
        mk->fatal = 1;
        return;
    }
    mk->applied_seq = ev->seq;
    const ca_agent_id *hirer = &mk->p[P_HIRER].pk;
    for (size_t i = 0; i < ev->n; i++) {
        rec_info *r = &ev->r[i];
        if (!r->decoded)
            continue;
        const ca_ledger_op *op = &r->op;
        int ok = r->st == CA_OK, by_hirer = memcmp(&op->signer, hirer, sizeof *hirer) == 0;
        int wi = worker_index(mk, &op->signer);
        if (ok) {
            switch (op->type) {
            case CA_LEDGER_OP_MINT: {
                int ci = worker_index(mk, &op->counterparty);
                if (ci >= 0)
                    mk->minted[ci] = 2;
                else if (memcmp(&op->counterparty, hirer, sizeof *hirer) == 0)
                    mk->hirer_minted = 2;
                break;
            }
            case CA_LEDGER_OP_ESCROW_OPEN:
                if (by_hirer) {
                    mk->opened++;
                    if (mk->catching_up)
                        open_escrow_track(mk, op);
                }
                break;
            case CA_LEDGER_OP_ESCROW_RELEASE:
                if (by_hirer) {
                    mk->completed++;
                    open_escrow_event(mk, &op->ref, 1);
                }
                break;
            case CA_LEDGER_OP_ESCROW_REFUND:
                if (by_hirer || wi >= 0) {
                    mk->refunded++;
                    open_escrow_event(mk, &op->ref, 1);
                }
                break;
            case CA_LEDGER_OP_ESCROW_SPLIT:
                mk->slashed++;
                open_escrow_event(mk, &op->ref, 1);
                break;
            case CA_LEDGER_OP_ESCROW_DELIVER:
                open_escrow_event(mk, &op->ref, 0);
                if (!mk->catching_up)
                    on_delivered(mk, r);
                break;
            case CA_LEDGER_OP_BOND:
            case CA_LEDGER_OP_UNBOND:
            case CA_LEDGER_OP_SLASH:
                mk->stake_dirty = 1;
                break;
            default:
                break;
            }
        }
        if (wi >= 0 && !mk->catching_up) {
            ca_hash ref; /* the op's nonce, so the worker knows which of its ops it was */
            memset(&ref, 0, sizeof ref);
            for (int b = 0; b < 8; b++)
                ref.bytes[b] = (uint8_t)(op->nonce >> (8 * b));
            send_notice(mk, &op->signer, NOTICE_OP, &ref, r->st, ev->seq);
        }
    }
    for (int k = 0; k < NPARTY; k++) {
        party *pt = &mk->p[k];
        if (pt->nfly == 0 || pt->fly_seq != ev->seq)
            continue;
        /* Ops refused for their nonce (one before them failed) go back to the queue front,
         * in order. */
        pend *head = NULL, *tail = NULL;
        for (size_t i = 0; i < pt->nfly; i++) {
            pend *p = pt->fly[i];
            ca_status st = i < ev->n ? ev->r[i].st : CA_ERR_MALFORMED;
            if (st == CA_ERR_LEDGER_BAD_NONCE) {
                if (tail != NULL)
                    tail->next = p;
                else
                    head = p;
                tail = p;
            } else {
                op_done(mk, p, st, ev->seq);
            }
        }
        if (tail != NULL) {
            tail->next = pt->qhead;
            pt->qhead = head;
            if (pt->qtail == NULL)
                pt->qtail = tail;
        }
        pt->nfly = 0;
        pt->fly_seq = 0;
    }
}

/* ---------------------------------------------------------------- messages in */

static ca_envelope *open_checked(market *mk, natsMsg *m, uint64_t now)
{
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_open(&env, (const uint8_t *)natsMsg_GetData(m),
                                    (size_t)natsMsg_GetDataLength(m), now, NULL);
    if (st != CA_OK) {
        mk->d.n[drop_kind_of(st)]++;
        return NULL;
    }
    return env;
}

static int guard(market *mk, const ca_envelope *env, uint64_t now)
{
    ca_status st = ca_replay_guard_check(mk->guard, env, now);
    if (st != CA_OK)
        mk->d.n[drop_kind_of(st)]++;
    if (st != CA_OK && mk->o->verbose)
        fprintf(stderr, "cyberagent-nats market: kind %u dropped: %s\n", ca_envelope_kind(env),
                ca_status_str(st));
    return st == CA_OK;
}

static void on_card(market *mk, natsMsg *m)
{
    uint64_t now = now_ms();
    ca_envelope *env = open_checked(mk, m, now);
    if (env == NULL)
        return;
    ca_card *card = NULL;
    ca_agent_id agent;
    ca_envelope_sender(env, &agent);
    int wi = worker_index(mk, &agent);
    ca_status st = ca_envelope_kind(env) == CA_KIND_CARD ? CA_OK : CA_ERR_WRONG_KIND;
    if (st != CA_OK || wi < 0) {
        mk->d.n[DROP_FORGED]++; /* not a card, or not an admitted worker */
    } else if (guard(mk, env, now)) {
        st = ca_card_parse(&card, env);
        if (st == CA_OK)
            st = ca_routing_add_card(mk->rt, card, now);
        if (st != CA_OK) {
            mk->d.n[drop_kind_of(st)]++;
        } else {
            if (mk->minted[wi] == 0) { /* once per identity, ever: the stream knows */
                ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
                op.type = CA_LEDGER_OP_MINT;
                op.counterparty = agent;
                op.amount = MINT_JOIN;
                queue_op(mk, P_AUTH, &op, PUR_MINT, SIZE_MAX, NULL, NULL, 0);
                mk->minted[wi] = 1;
            }
            mk->stake_dirty = 1;
            send_notice(mk, &agent, NOTICE_JOINED, NULL, CA_OK, 0);
        }
    }
    ca_card_free(card);
    ca_envelope_free(env);
}

static void on_consent(market *mk, natsMsg *m)
{
    const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
    if (natsMsg_GetDataLength(m) != 32 + (int)sizeof(ca_signature)) {
        mk->d.n[DROP_GARBAGE]++;
        return;
    }
    ca_hash award;
    ca_signature cosig;
    memcpy(award.bytes, data, 32);
    memcpy(cosig.bytes, data + 32, sizeof cosig.bytes);
    size_t ix = slot_by_award(mk, &award);
    if (ix == SIZE_MAX) {
        mk->d.n[DROP_FORGED]++;
        return;
    }
    slot *s = &mk->slots[ix];
    if (s->state != T_AWARDED) {
        mk->d.n[DROP_REPLAY]++;
        return;
    }
    /* Checks the consent now (the worker's signature on the award's terms). */
    ca_ledger_op op = s->escrow;
    op.nonce = 1;
    uint8_t sig[CA_LEDGER_OP_MAX_BYTES];
    size_t sl = 0;
    ca_status st = ca_ledger_op_sign_cosigned(&mk->ledger_id, &op, mk->p[P_HIRER].id, &cosig, sig,
                                              sizeof sig, &sl);
    if (st != CA_OK) {
        mk->d.n[drop_kind_of(st)]++;
        return;
    }
    queue_op(mk, P_HIRER, &s->escrow, PUR_OPEN, ix, &cosig, NULL, 0);
    s->state = T_OPENING;
}

static void on_inbox(market *mk, natsMsg *m)
{
    uint64_t now = now_ms();
    ca_envelope *env = open_checked(mk, m, now);
    if (env == NULL)
        return;
    uint32_t kind = ca_envelope_kind(env);
    ca_hash parent;
    int has_parent = ca_envelope_parent(env, &parent);
    ca_agent_id from;
    ca_envelope_sender(env, &from);
    size_t ix = SIZE_MAX;
    if (has_parent && kind == CA_KIND_TASK_BID)
        ix = slot_by_task(mk, &parent);
    else if (has_parent && kind == CA_KIND_TASK_RESULT)
        ix = slot_by_award(mk, &parent);
    if (ix == SIZE_MAX || worker_index(mk, &from) < 0) {
        mk->d.n[DROP_FORGED]++; /* no task of ours, or not an admitted worker */
        ca_envelope_free(env);
        return;
    }
    if (!guard(mk, env, now)) {
        ca_envelope_free(env);
        return;
    }
    slot *s = &mk->slots[ix];
    if (kind == CA_KIND_TASK_BID && s->state != T_BIDDING) {
        mk->d.n[DROP_LATE]++;
        ca_envelope_free(env);
        return;
    }
    ca_status st = s->task != NULL ? ca_task_apply(s->task, env, now) : CA_ERR_TASK_ORDER;
    if (st == CA_OK && kind == CA_KIND_TASK_BID) {
        ca_task_msg *bm = NULL;
        ca_task_bid b = {.version = CA_TASK_BID_VERSION};
        if (s->nbids < MAXBIDS && ca_task_msg_parse(&bm, env, NULL) == CA_OK &&
            ca_task_msg_bid(bm, &b) == CA_OK) {
            s->bids[s->nbids].agent = from;
            s->bids[s->nbids].price = b.price;
            s->bids[s->nbids].latency_ms = 0;
            ca_envelope_id(env, &s->bid_ids[s->nbids]);
            s->bid_done[s->nbids] = b.completion;
            s->nbids++;
        }
        ca_task_msg_free(bm);
        if (s->nbids >= s->expect)
            close_bidding(mk, ix);
    } else if (st == CA_OK) { /* RESULT */
        if (s->results++ == 0) {
            ca_envelope_id(env, &s->res_id);
            s->first_result_at = now;
        }
    } else if (st == CA_ERR_TASK_EQUIVOCATION) {
        equivocation(mk, ix, env);
    } else if (st == CA_ERR_TASK_DUPLICATE && kind == CA_KIND_TASK_RESULT) {
        /* the RESULT the thread already took from the worker's DELIVER on the stream */
    } else {
        mk->d.n[drop_kind_of(st)]++;
        if (mk->o->verbose)
            fprintf(stderr, "cyberagent-nats market: inbox kind %u dropped: %s\n", kind,
                    ca_status_str(st));
    }
    ca_envelope_free(env);
}

/* ---------------------------------------------------------------- main */

static int setup(market *mk, const opts *o)
{
    mk->o = o;
    static const uint64_t ids[NPARTY] = {ID_HIRER, ID_AUTHORITY, ID_ARBITER};
    for (int k = 0; k < NPARTY; k++)
        if (identity(o->seed, ids[k], &mk->p[k].id, &mk->p[k].pk) != CA_OK)
            return -1;
    for (size_t i = 0; i < MAX_WORKER; i++) {
        ca_identity *w = NULL;
        if (identity(o->seed, ID_WORKER0 + i, &w, &mk->wpk[i]) != CA_OK)
            return -1;
        ca_identity_free(w);
    }
    inbox_of(&mk->p[P_HIRER].pk, mk->inbox, sizeof mk->inbox);
    rc_options rco;
    memset(&rco, 0, sizeof rco);
    rco.ledger = &mk->lo;
    rco.on_entry = collect_result;
    rco.ctx = &mk->results;
    if (ledger_options(o->seed, &mk->lo) != CA_OK || rc_open(&mk->core, &rco) != CA_OK)
        return -1;
    mk->ledger = rc_ledger(mk->core);
    if (ca_ledger_id(mk->ledger, &mk->ledger_id) != CA_OK)
        return -1;
    pthread_mutex_init(&mk->lmu, NULL);
    ca_routing_options ro;
    (void)ca_routing_options_init(&ro, CA_ROUTING_OPTIONS_VERSION);
    ca_routing_weights rw;
    (void)ca_routing_weights_init(&rw, CA_ROUTING_WEIGHTS_VERSION);
    rw.price_ref = 50;
    rw.stake_ref = 2000;
    ro.weights = &rw;
    if (ca_routing_new(&mk->rt, &ro) != CA_OK)
        return -1;
    ca_replay_guard_options go;
    (void)ca_replay_guard_options_init(&go, CA_REPLAY_GUARD_OPTIONS_VERSION);
    go.capacity = 1u << 20;
    go.max_per_sender = 1u << 18;
    if (ca_replay_guard_new(&mk->guard, &go) != CA_OK)
        return -1;
    mk->nslots = (size_t)o->window;
    mk->slots = calloc(mk->nslots, sizeof *mk->slots);
    return mk->slots != NULL ? 0 : -1;
}

static size_t busy_slots(const market *mk, int pre_escrow_only)
{
    size_t n = 0;
    for (size_t i = 0; i < mk->nslots; i++) {
        int st = mk->slots[i].state;
        if (pre_escrow_only ? st == T_BIDDING || st == T_AWARDED || st == T_OPENING : st != T_FREE)
            n++;
    }
    return n;
}

/* After catching up: every escrow of ours still open gets a slot of its own. */
static int adopt_orphans(market *mk)
{
    if (mk->nopen > mk->nslots) {
        slot *n = realloc(mk->slots, mk->nopen * sizeof *n);
        if (n == NULL)
            return -1;
        memset(n + mk->nslots, 0, (mk->nopen - mk->nslots) * sizeof *n);
        mk->slots = n;
        mk->nslots = mk->nopen;
    }
    for (size_t i = 0; i < mk->nopen; i++) {
        slot *s = &mk->slots[i];
        s->state = T_OPEN;
        s->orphan = 1;
        s->award_id = mk->open[i].award;
        s->worker = mk->open[i].worker;
        s->deadline = mk->open[i].deadline;
        s->delivered = mk->open[i].delivered;
        /* The run before may have died between opening the escrow and telling the
         * worker: tell it (again); a worker still holding the award does the work. */
        if (!s->delivered)
            send_notice(mk, &s->worker, NOTICE_OPENED, &s->award_id, CA_OK, 0);
    }
    if (mk->nopen > 0)
        printf("market: restarted; %zu open escrows taken over, %" PRIu64 " tasks settled before\n",
               mk->nopen, mk->completed + mk->refunded + mk->slashed);
    free(mk->open);
    mk->open = NULL;
    mk->nopen = mk->capopen = 0;
    return 0;
}

static void handle_mail(market *mk, mail *m)
{
    if (m->kind == 1 && m->data == NULL) {
        mk->fatal = 1;
    } else if (m->kind == 1) {
        on_applied(mk, (applied *)m->data);
        applied *ev = m->data;
        for (size_t i = 0; ev != NULL && i < ev->n; i++)
            free(ev->r[i].att);
    } else if (!mk->catching_up) {
        const char *s = natsMsg_GetSubject(m->msg);
        if (strcmp(s, SUBJ_JOIN) == 0)
            on_card(mk, m->msg);
        else if (strcmp(s, SUBJ_CONSENT) == 0)
            on_consent(mk, m->msg);
        else
            on_inbox(mk, m->msg);
    }
    natsMsg_Destroy(m->msg);
    free(m->data);
    free(m);
}

static void final_report(market *mk, uint64_t t0, uint64_t t_first, uint64_t settled_at_first)
{
    uint64_t settled = mk->completed + mk->refunded + mk->slashed, now = now_ms();
    uint64_t unfinished = settled >= mk->o->tasks ? 0 : mk->o->tasks - settled;
    double secs = (double)(now - (t_first ? t_first : t0)) / 1000.0;
    printf("result tasks=%" PRIu64 " completed=%" PRIu64 " refunded=%" PRIu64 " slashed=%" PRIu64
           " unfinished=%" PRIu64 " reissued=%" PRIu64 " ops_refused=%" PRIu64
           " elapsed_ms=%" PRIu64 " tasks_per_s=%.1f\n",
           mk->o->tasks, mk->completed, mk->refunded, mk->slashed, unfinished, mk->reissued,
           mk->ops_ours_refused, now - t0,
           secs > 0 ? (double)(settled - settled_at_first) / secs : 0.0);
    pthread_mutex_lock(&mk->lmu);
    ca_ledger_totals tot = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(mk->ledger, &tot);
    ca_status chk = ca_ledger_check(mk->ledger);
    ca_hash h;
    (void)ca_ledger_state_hash(mk->ledger, &h);
    ca_ledger_log_info li;
    memset(&li, 0, sizeof li);
    li.version = CA_LEDGER_LOG_INFO_VERSION;
    if (ca_ledger_log_position(mk->ledger, &li) != CA_OK)
        li.failed = UINT64_MAX;
    uint64_t known = 0, workers_minted = 0;
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    for (int k = 0; k < NPARTY; k++)
        known += ca_ledger_account(mk->ledger, &mk->p[k].pk, &a) == CA_OK;
    for (size_t i = 0; i < MAX_WORKER; i++)
        if (ca_ledger_account(mk->ledger, &mk->wpk[i], &a) == CA_OK) {
            known++;
            workers_minted++;
        }
    pthread_mutex_unlock(&mk->lmu);
    char hex[65];
    hex_of(h.bytes, 32, hex);
    printf("ledger seq=%" PRIu64 " hash=%s failed=%" PRIu64 " check=%s minted=%" PRIu64
           " burned=%" PRIu64 " escrowed=%" PRIu64 " accounts=%" PRIu64 " known_accounts=%" PRIu64
           " workers_minted=%" PRIu64 "\n",
           li.position >> 16, hex, li.failed, ca_status_str(chk), tot.minted, tot.burned,
           tot.escrowed, tot.accounts, known, workers_minted);
    mk->d.n[DROP_OVERFLOW] += mk->box.overflow;
    drops_print("market", &mk->d);
}

int run_market(const opts *o)
{
    static market mk_storage;
    market *mk = &mk_storage;
    memset(mk, 0, sizeof *mk);
    if (o->window == 0 || setup(mk, o) != 0) {
        fprintf(stderr, "cyberagent-nats market: setup failed\n");
        return 1;
    }
    mbox_init(&mk->box, 1u << 21);
    rjs_options ro;
    rjs_options_init(&ro);
    ro.urls = o->url;
    ro.stream = o->stream;
    ro.subject_prefix = o->prefix;
    ro.replicas = o->replicas;
    int rc = 1, thread = 0;
    natsSubscription *subs[3] = {NULL, NULL, NULL};
    rjs_stream_state ss;
    memset(&ss, 0, sizeof ss);
    if (natsConnection_ConnectTo(&mk->nc, o->url) != NATS_OK) {
        fprintf(stderr, "cyberagent-nats market: cannot connect to %s\n", o->url);
        goto out;
    }
    if (rjs_open(&mk->js_pub, &ro) != RJS_OK || rjs_open(&mk->js_read, &ro) != RJS_OK ||
        rjs_stream_info(mk->js_pub, &ss) != RJS_OK) {
        fprintf(stderr, "cyberagent-nats market: ledger stream unavailable\n");
        goto out;
    }
    for (int k = 0; k < NPARTY; k++)
        if (rjs_last_subject_seq(mk->js_pub, mk->p[k].pk.bytes, &mk->p[k].subj_seq) != RJS_OK)
            goto out;
    const char *subj[3] = {SUBJ_JOIN, SUBJ_CONSENT, mk->inbox};
    for (int i = 0; i < 3; i++)
        if (natsConnection_Subscribe(&subs[i], mk->nc, subj[i], mbox_on_msg, &mk->box) != NATS_OK ||
            natsSubscription_SetPendingLimits(subs[i], -1, -1) != NATS_OK)
            goto out;
    (void)natsConnection_Flush(mk->nc);
    mk->catching_up = 1;
    if (pthread_create(&mk->rep, NULL, replica_main, mk) != 0)
        goto out;
    thread = 1;
    uint64_t t0 = now_ms();
    /* Catch up with the stream as it was at start: the ledger, who was minted, our
     * open escrows, the tasks settled. */
    while (mk->applied_seq < ss.last_seq && !mk->fatal) {
        mail *m = mbox_take(&mk->box, now_ms() + 100);
        if (m != NULL)
            handle_mail(mk, m);
    }
    mk->catching_up = 0;
    if (mk->fatal || adopt_orphans(mk) != 0)
        goto out;
    printf("market %s: stream at %" PRIu64 ", caught up in %" PRIu64 " ms; waiting for %" PRIu64
           " workers\n",
           mk->inbox, ss.last_seq, now_ms() - t0, o->workers);
    fflush(stdout);
    if (mk->hirer_minted == 0) {
        ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
        account(mk, &mk->p[P_HIRER].pk, &a);
        if (a.balance == 0 && a.nonce == 0) {
            ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
            op.type = CA_LEDGER_OP_MINT;
            op.counterparty = mk->p[P_HIRER].pk;
            op.amount = 1000u + (uint64_t)MAX_PRICE * o->tasks;
            queue_op(mk, P_AUTH, &op, PUR_MINT_HIRER, SIZE_MAX, NULL, NULL, 0);
        }
        mk->hirer_minted = 1;
    }
    uint64_t t_first = 0, settled_first = 0, next_expire = 0;
    for (;;) {
        uint64_t now = now_ms();
        uint64_t settled = mk->completed + mk->refunded + mk->slashed;
        if (mk->fatal)
            break;
        if (settled >= o->tasks && busy_slots(mk, 0) == 0)
            break;
        if (now > t0 + o->timeout_ms) {
            fprintf(stderr,
                    "cyberagent-nats market: timeout with %" PRIu64 " of %" PRIu64
                    " tasks settled\n",
                    settled, o->tasks);
            break;
        }
        if (settled >= mk->progress_at + 10 || (settled == o->tasks && settled > mk->progress_at)) {
            printf("progress settled=%" PRIu64 " completed=%" PRIu64 " refunded=%" PRIu64
                   " slashed=%" PRIu64 "\n",
                   settled, mk->completed, mk->refunded, mk->slashed);
            fflush(stdout);
            mk->progress_at = settled;
        }
        if (now >= next_expire) {
            (void)ca_routing_expire(mk->rt, now, NULL);
            next_expire = now + 200;
        }
        /* Start tasks once enough workers are in, keeping the window full. */
        uint64_t bonded = 0;
        if (t_first == 0) {
            for (size_t i = 0; i < MAX_WORKER; i++) {
                ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
                if (mk->minted[i] == 2) {
                    account(mk, &mk->wpk[i], &a);
                    bonded += a.bonded > 0;
                }
            }
        }
        if (t_first != 0 || bonded >= o->workers) {
            if (t_first == 0) {
                t_first = now;
                settled_first = settled;
                printf("market: %" PRIu64 " workers bonded, tasks start\n", bonded);
                fflush(stdout);
            }
            for (size_t i = 0; i < mk->nslots; i++) {
                if (mk->opened + busy_slots(mk, 1) >= o->tasks)
                    break;
                if (mk->slots[i].state == T_FREE && !start_task(mk, i))
                    break;
            }
        }
        for (size_t i = 0; i < mk->nslots; i++) {
            slot *s = &mk->slots[i];
            if (s->state == T_BIDDING && now >= s->bid_until)
                close_bidding(mk, i);
            else if (s->state == T_AWARDED && now >= s->consent_until)
                reissue(mk, s); /* no consent: the worker may be gone */
            else if (s->state == T_OPEN)
                try_settle(mk, i, now);
        }
        for (int k = 0; k < NPARTY; k++)
            if (flush_party(mk, k) != 0)
                mk->fatal = 1;
        mail *m = mbox_take(&mk->box, now + 20);
        for (int n = 0; m != NULL && n < 4096; n++) {
            handle_mail(mk, m);
            m = mbox_take(&mk->box, 0);
        }
        if (m != NULL)
            handle_mail(mk, m);
    }
    uint64_t settled = mk->completed + mk->refunded + mk->slashed;
    for (int i = 0; i < 3; i++) { /* at most once a worker is enough; three in case one is lost */
        send_done(mk);
        sleep_ms(100);
    }
    mk->stop = 1; /* the report is of one stream position: the replica's last */
    pthread_join(mk->rep, NULL);
    thread = 0;
    final_report(mk, t0, t_first, settled_first);
    rc = settled == o->tasks && !mk->fatal ? 0 : 1;
out:
    mk->stop = 1;
    if (thread)
        pthread_join(mk->rep, NULL);
    for (int i = 0; i < 3; i++)
        natsSubscription_Destroy(subs[i]);
    natsConnection_Destroy(mk->nc);
    rjs_close(mk->js_pub);
    rjs_close(mk->js_read);
    mbox_close(&mk->box);
    for (int k = 0; k < NPARTY; k++) {
        for (pend *p = mk->p[k].qhead, *n; p != NULL; p = n) {
            n = p->next;
            pend_free(p);
        }
        for (size_t i = 0; i < mk->p[k].nfly; i++)
            pend_free(mk->p[k].fly[i]);
        ca_identity_free(mk->p[k].id);
    }
    for (size_t i = 0; i < mk->nslots; i++)
        ca_task_free(mk->slots[i].task);
    free(mk->slots);
    free(mk->open);
    ca_replay_guard_free(mk->guard);
    ca_routing_free(mk->rt);
    rc_close(mk->core);
    return rc;
}
