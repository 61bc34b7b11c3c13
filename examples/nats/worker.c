/*
 * cyberagent-nats worker: one agent in its own process.
 *
 * It announces itself with a short-lived signed card (CARD_TTL_MS) on
 * ca.m.join and renews it every CARD_RENEW_MS with a higher sequence (the
 * card's sequence is the time it was signed, so a restarted worker's card
 * replaces the one before it); a worker that stops renewing leaves routing
 * when its card expires. It bids on the hirer's REQUESTs for its two
 * capabilities, consents to the escrow of an AWARD it won, and once the
 * hirer's signed notice says the escrow is open, does the work: it publishes
 * its signed ESCROW_DELIVER with the RESULT to the ledger stream itself and
 * sends the RESULT to the hirer. It runs until the hirer's signed DONE.
 *
 * Every message it reads is verified: it must decode, its signature and
 * time must verify, its id must be new (a replay guard), and its sender
 * must be the hirer for requests, awards, notices and DONE. Anything else
 * is dropped and counted (common.h, drops); nothing a peer sends ends the
 * process.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "nats_hire.h"

#define CARD_TTL_MS   4000u
#define CARD_RENEW_MS 1000u
#define MAX_JOBS      64u

typedef struct job {
    int used, open;
    ca_hash award_id, task_id;
    uint64_t deadline, work_at;
} job;

typedef struct worker {
    ca_identity *id;
    ca_agent_id pk, hirer;
    char name[16], inbox[48], hirer_inbox[48], task_subj[2][96];
    int index, cheat;
    uint64_t price[2], start;
    uint32_t cap[2];
    ca_hash ledger_id; /* the market ledger's id: every op and consent names it */
    natsConnection *nc;
    rjs *js;
    mbox box;
    ca_replay_guard *guard;
    uint64_t nonce, subj_seq, balance, bonded, bond_sent_at, card_seq, next_card;
    int joined, done;
    job jobs[MAX_JOBS];
    uint64_t bids, awards, delivered, refused_ops, wins, work_ms;
    drops d;
} worker;

static void drop(worker *w, int kind)
{
    w->d.n[kind]++;
}

/* Opens an envelope read off the wire: decode, verify at now, replay guard.
 * The sender must be the hirer unless any_sender. NULL when dropped. */
static ca_envelope *open_env(worker *w, natsMsg *m, uint32_t want_kind)
{
    ca_envelope *env = NULL;
    uint64_t now = now_ms();
    ca_status st = ca_envelope_open(&env, (const uint8_t *)natsMsg_GetData(m),
                                    (size_t)natsMsg_GetDataLength(m), now, NULL);
    if (st != CA_OK) {
        drop(w, drop_kind_of(st));
        return NULL;
    }
    ca_agent_id from;
    ca_envelope_sender(env, &from);
    if (memcmp(&from, &w->hirer, sizeof from) != 0 ||
        (want_kind != 0 && ca_envelope_kind(env) != want_kind)) {
        drop(w, DROP_FORGED);
        ca_envelope_free(env);
        return NULL;
    }
    st = ca_replay_guard_check(w->guard, env, now);
    if (st != CA_OK) {
        drop(w, drop_kind_of(st));
        ca_envelope_free(env);
        return NULL;
    }
    return env;
}

/* Signs `op` with the next nonce and publishes it (with `att`) on the
 * worker's own subject of the ledger stream. */
static int submit(worker *w, ca_ledger_op *op, const uint8_t *att, size_t att_len)
{
    uint8_t sig[CA_LEDGER_OP_MAX_BYTES], rec_buf[CA_LEDGER_OP_MAX_BYTES + BUF + 16];
    size_t len = 0, rl = 0;
    op->signer = w->pk;
    op->nonce = w->nonce + 1;
    ca_status st = ca_ledger_op_sign(&w->ledger_id, op, w->id, NULL, sig, sizeof sig, &len);
    rc_item item = {sig, len, att, att_len}; /* a frame of one: the op and its RESULT */
    if (st == CA_OK)
        st = rc_frame_encode(&item, 1, rec_buf, sizeof rec_buf, &rl);
    if (st != CA_OK) {
        fprintf(stderr, "cyberagent-nats %s: op: %s\n", w->name, ca_status_str(st));
        return -1;
    }
    for (int attempt = 0; attempt < 20; attempt++) {
        rjs_ack ack;
        rjs_status rs = rjs_publish(w->js, w->pk.bytes, rec_buf, rl, w->subj_seq, &ack);
        if (rs == RJS_ERR_CONFLICT) { /* someone wrote on our subject: go on after it */
            w->subj_seq = ack.last_subject_seq;
            continue;
        }
        if (rs != RJS_OK) {
            fprintf(stderr, "cyberagent-nats %s: publish: %s: %s\n", w->name, rjs_status_str(rs),
                    rjs_error(w->js));
            return -1;
        }
        w->subj_seq = ack.seq;
        w->nonce++;
        return 0;
    }
    return -1;
}

static void send_card(worker *w)
{
    ca_card_capability cc[2];
    for (int k = 0; k < 2; k++)
        cc[k] = (ca_card_capability){caps[w->cap[k]], w->price[k], 500};
    ca_card_params cp;
    (void)ca_card_params_init(&cp, CA_CARD_PARAMS_VERSION);
    uint64_t now = now_ms();
    w->card_seq = now > w->card_seq ? now : w->card_seq + 1;
    cp.name = w->name;
    cp.endpoint = w->inbox;
    cp.stake = BOND;
    cp.not_before = now - 1000;
    cp.not_after = now + CARD_TTL_MS;
    cp.sequence = w->card_seq;
    cp.capabilities = cc;
    cp.capability_size = sizeof(ca_card_capability);
    cp.capability_count = 2;
    cp.created_at = now;
    uint8_t card[BUF];
    size_t len = 0;
    if (ca_card_sign(w->id, &cp, card, sizeof card, &len, NULL) == CA_OK)
        (void)natsConnection_Publish(w->nc, SUBJ_JOIN, card, (int)len);
}

static void on_request(worker *w, natsMsg *m)
{
    ca_envelope *env = open_env(w, m, CA_KIND_TASK_REQUEST);
    if (env == NULL)
        return;
    ca_task_msg *msg = NULL;
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    ca_status st = ca_task_msg_parse(&msg, env, NULL);
    if (st == CA_OK)
        st = ca_task_msg_request(msg, &rq);
    int k = -1;
    for (int i = 0; st == CA_OK && i < 2; i++)
        if (strcmp(rq.capability, caps[w->cap[i]]) == 0)
            k = i;
    uint64_t now = now_ms();
    if (st != CA_OK || k < 0 || w->bonded == 0 || rq.deadline <= now + 500) {
        if (st != CA_OK || k < 0)
            drop(w, st != CA_OK ? DROP_GARBAGE : DROP_FORGED);
        ca_task_msg_free(msg);
        ca_envelope_free(env);
        return;
    }
    ca_task_bid bid = {.version = CA_TASK_BID_VERSION};
    ca_task_msg_task_id(msg, &bid.task);
    bid.price = w->price[k];
    bid.completion = now + 3000 < rq.deadline ? now + 3000 : rq.deadline;
    bid.collateral = rq.collateral;
    ca_task_msg_free(msg);
    ca_envelope_free(env);
    ca_envelope_params ep;
    env_params(&ep, 0, now, ENV_LIFE_MS);
    uint8_t out[BUF];
    size_t len = 0;
    if (ca_task_bid_sign(w->id, &ep, &bid, out, sizeof out, &len, NULL) == CA_OK &&
        natsConnection_Publish(w->nc, w->hirer_inbox, out, (int)len) == NATS_OK)
        w->bids++;
}

static void on_award(worker *w, ca_envelope *env)
{
    ca_task_msg *msg = NULL;
    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    ca_ledger_op escrow = {.version = CA_LEDGER_OP_VERSION};
    ca_status st = ca_task_msg_parse(&msg, env, NULL);
    if (st == CA_OK)
        st = ca_task_msg_award(msg, &aw);
    if (st == CA_OK)
        st = ca_ledger_op_escrow_open(&escrow, msg);
    ca_hash award_id;
    memset(&award_id, 0, sizeof award_id);
    if (msg != NULL)
        ca_task_msg_id(msg, &award_id);
    ca_task_msg_free(msg);
    if (st != CA_OK || memcmp(&aw.worker, &w->pk, sizeof w->pk) != 0) {
        drop(w, st != CA_OK ? DROP_GARBAGE : DROP_FORGED);
        return;
    }
    size_t free_slot = MAX_JOBS;
    for (size_t i = 0; i < MAX_JOBS; i++)
        if (!w->jobs[i].used) {
            free_slot = i;
            break;
        }
    if (free_slot == MAX_JOBS)
        return; /* too busy: no consent, the hirer awards again elsewhere */
    /* Consent to lock the collateral on the award's terms: award id | 64 bytes. */
    ca_signature consent;
    if (ca_ledger_op_cosign(&w->ledger_id, &escrow, w->id, &consent) != CA_OK)
        return;
    uint8_t body[32 + sizeof consent.bytes];
    memcpy(body, award_id.bytes, 32);
    memcpy(body + 32, consent.bytes, sizeof consent.bytes);
    if (natsConnection_Publish(w->nc, SUBJ_CONSENT, body, (int)sizeof body) != NATS_OK)
        return;
    job *j = &w->jobs[free_slot];
    memset(j, 0, sizeof *j);
    j->used = 1;
    j->award_id = award_id;
    j->task_id = aw.task;
    j->deadline = aw.deadline;
    w->awards++;
}

/* The escrow is open: the work, the delivery on the ledger stream, the result to the hirer. */
static void work(worker *w, job *j)
{
    w->wins++;
    uint8_t out[2][BUF];
    size_t len[2] = {0, 0};
    int copies = w->cheat && w->wins > 1 ? 2 : 1; /* a cheat equivocates once it has won */
    ca_hash res_id;
    memset(&res_id, 0, sizeof res_id);
    for (int c = 0; c < copies; c++) {
        char output[96];
        (void)snprintf(output, sizeof output, "%s from %s", c ? "another result" : "result",
                       w->name);
        ca_task_result rs = {.version = CA_TASK_RESULT_VERSION};
        rs.task = j->task_id;
        rs.award = j->award_id;
        const ca_task_content rs_output = {.version = CA_TASK_CONTENT_VERSION,
                                           .data = (const uint8_t *)output,
                                           .data_len = strlen(output)};
        rs.output = &rs_output;
        ca_envelope_params ep;
        env_params(&ep, 0, now_ms(), ENV_LIFE_MS);
        ca_hash id;
        if (ca_task_result_sign(w->id, &ep, &rs, out[c], sizeof out[c], &len[c], &id) != CA_OK)
            return;
        if (c == 0)
            res_id = id;
    }
    /* Both results go to the hirer first (an equivocation shows at once), then the
     * delivery of the first is recorded on the ledger. */
    for (int c = 0; c < copies; c++)
        (void)natsConnection_Publish(w->nc, w->hirer_inbox, out[c], (int)len[c]);
    (void)natsConnection_Flush(w->nc);
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_ESCROW_DELIVER;
    op.ref = j->award_id;
    op.result = res_id;
    if (submit(w, &op, out[0], len[0]) == 0)
        w->delivered++;
}

static void on_notice(worker *w, ca_envelope *env)
{
    ca_agent_id to;
    uint8_t body[NOTICE_BYTES + 1];
    size_t bl = 0;
    notice n;
    if (!ca_envelope_recipient(env, &to) || memcmp(&to, &w->pk, sizeof to) != 0 ||
        ca_envelope_body(env, NULL, NULL, body, sizeof body, &bl) != CA_OK ||
        notice_decode(body, bl, &n) != 0) {
        drop(w, DROP_FORGED);
        return;
    }
    if (n.what == NOTICE_JOINED) {
        w->joined = 1;
        w->balance = n.balance;
        w->bonded = n.bonded;
        if (n.nonce > w->nonce)
            w->nonce = n.nonce;
        uint64_t now = now_ms();
        if (n.bonded == 0 && n.balance >= BOND &&
            (w->bond_sent_at == 0 || now > w->bond_sent_at + 5000)) {
            ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
            op.type = CA_LEDGER_OP_BOND;
            op.amount = BOND;
            if (submit(w, &op, NULL, 0) == 0)
                w->bond_sent_at = now;
        }
    } else if (n.what == NOTICE_OP) {
        /* CA_ERR_LEDGER_DUPLICATE: a nonce already used, i.e. a copy of an op of ours
         * that someone published again; ours went through. Any other refusal of one of
         * our ops leaves a gap: the ops after it go on from the ledger's nonce. */
        if (n.status != CA_OK && n.status != CA_ERR_LEDGER_DUPLICATE) {
            w->refused_ops++;
            w->nonce = n.nonce; /* the ledger's count: later ops go on from there */
            fprintf(stderr, "cyberagent-nats %s: op at stream seq %" PRIu64 " refused: %s\n",
                    w->name, n.seq, ca_status_str((ca_status)n.status));
        }
        w->bonded = n.bonded;
        w->balance = n.balance;
    } else { /* NOTICE_OPENED */
        for (size_t i = 0; i < MAX_JOBS; i++) {
            job *j = &w->jobs[i];
            if (j->used && memcmp(&j->award_id, &n.ref, sizeof n.ref) == 0) {
                if (n.status == CA_OK && !j->open) { /* the work takes --work-ms */
                    j->open = 1;
                    j->work_at = now_ms() + w->work_ms;
                } else if (n.status != CA_OK) {
                    j->used = 0;
                }
                return;
            }
        }
        drop(w, DROP_LATE);
    }
}

static void on_inbox(worker *w, natsMsg *m)
{
    ca_envelope *env = open_env(w, m, 0);
    if (env == NULL)
        return;
    uint32_t kind = ca_envelope_kind(env);
    if (kind == CA_KIND_TASK_AWARD)
        on_award(w, env);
    else if (kind == KIND_NOTICE)
        on_notice(w, env);
    else if (kind != CA_KIND_TASK_RECEIPT)
        drop(w, DROP_FORGED);
    ca_envelope_free(env);
}

static void on_done(worker *w, natsMsg *m)
{
    ca_envelope *env = open_env(w, m, KIND_DONE);
    if (env == NULL)
        return;
    /* A DONE signed before this worker started is an old one (replayed). */
    if (ca_envelope_created_at(env) + 2000 < w->start)
        drop(w, DROP_EXPIRED);
    else
        w->done = 1;
    ca_envelope_free(env);
}

int run_worker(const opts *o)
{
    static worker w; /* static: its mbox outlives the NATS delivery threads */
    memset(&w, 0, sizeof w);
    w.index = (int)o->index;
    w.cheat = o->cheat;
    w.start = now_ms();
    w.work_ms = o->work_ms;
    ca_identity *hid = NULL;
    if (identity(o->seed, ID_WORKER0 + o->index, &w.id, &w.pk) != CA_OK ||
        identity(o->seed, ID_HIRER, &hid, &w.hirer) != CA_OK)
        return 1;
    ca_identity_free(hid);
    (void)snprintf(w.name, sizeof w.name, "%s%d", w.cheat ? "cheat" : "w", w.index);
    inbox_of(&w.pk, w.inbox, sizeof w.inbox);
    inbox_of(&w.hirer, w.hirer_inbox, sizeof w.hirer_inbox);
    ca_ledger_options lo;
    if (ledger_options(o->seed, &lo) != CA_OK || ca_ledger_options_id(&lo, &w.ledger_id) != CA_OK)
        return 1;
    for (int k = 0; k < 2; k++) {
        w.cap[k] = (uint32_t)(w.index + k) % NCAPS;
        w.price[k] = w.cheat ? 25u + (uint64_t)k : 40u + 7u * (uint64_t)w.index + (uint64_t)k;
        (void)snprintf(w.task_subj[k], sizeof w.task_subj[k], "ca.task.%s", caps[w.cap[k]]);
    }
    ca_replay_guard_options go;
    (void)ca_replay_guard_options_init(&go, CA_REPLAY_GUARD_OPTIONS_VERSION);
    go.capacity = 1u << 18;
    go.max_per_sender = 1u << 17;
    if (ca_replay_guard_new(&w.guard, &go) != CA_OK)
        return 1;
    mbox_init(&w.box, 1u << 20);
    int rc = 1;
    natsSubscription *subs[4] = {NULL, NULL, NULL, NULL};
    rjs_options ro;
    rjs_options_init(&ro);
    ro.urls = o->url;
    ro.stream = o->stream;
    ro.subject_prefix = o->prefix;
    ro.replicas = o->replicas;
    if (natsConnection_ConnectTo(&w.nc, o->url) != NATS_OK) {
        fprintf(stderr, "cyberagent-nats %s: cannot connect to %s\n", w.name, o->url);
        goto out;
    }
    if (rjs_open(&w.js, &ro) != RJS_OK ||
        rjs_last_subject_seq(w.js, w.pk.bytes, &w.subj_seq) != RJS_OK) {
        fprintf(stderr, "cyberagent-nats %s: ledger stream unavailable\n", w.name);
        goto out;
    }
    const char *subj[4] = {w.inbox, SUBJ_DONE, w.task_subj[0], w.task_subj[1]};
    for (int i = 0; i < 4; i++)
        if (natsConnection_Subscribe(&subs[i], w.nc, subj[i], mbox_on_msg, &w.box) != NATS_OK ||
            natsSubscription_SetPendingLimits(subs[i], -1, -1) != NATS_OK)
            goto out;
    (void)natsConnection_Flush(w.nc);
    fprintf(stderr, "cyberagent-nats %s: up, inbox %s\n", w.name, w.inbox);
    while (!w.done) {
        uint64_t now = now_ms();
        if (now >= w.next_card) {
            send_card(&w);
            w.next_card = now + CARD_RENEW_MS;
        }
        uint64_t wake = w.next_card;
        for (size_t i = 0; i < MAX_JOBS; i++) {
            job *j = &w.jobs[i];
            if (j->used && j->open && now >= j->work_at) {
                work(&w, j);
                j->used = 0;
            } else if (j->used && now > j->deadline + 5000) {
                j->used = 0; /* the hirer never answered: forget it */
            } else if (j->used && j->open && j->work_at < wake) {
                wake = j->work_at;
            }
        }
        mail *m = mbox_take(&w.box, wake);
        if (m == NULL)
            continue;
        const char *s = natsMsg_GetSubject(m->msg);
        if (strcmp(s, w.inbox) == 0)
            on_inbox(&w, m->msg);
        else if (strcmp(s, SUBJ_DONE) == 0)
            on_done(&w, m->msg);
        else
            on_request(&w, m->msg);
        natsMsg_Destroy(m->msg);
        free(m);
    }
    rc = 0;
out:
    for (int i = 0; i < 4; i++)
        natsSubscription_Destroy(subs[i]);
    natsConnection_Destroy(w.nc);
    w.d.n[DROP_OVERFLOW] += w.box.overflow;
    printf("worker %s bids=%" PRIu64 " awards=%" PRIu64 " delivered=%" PRIu64
           " refused_ops=%" PRIu64 "\n",
           w.name, w.bids, w.awards, w.delivered, w.refused_ops);
    drops_print(w.name, &w.d);
    rjs_close(w.js);
    mbox_close(&w.box);
    ca_replay_guard_free(w.guard);
    ca_identity_free(w.id);
    return rc;
}
