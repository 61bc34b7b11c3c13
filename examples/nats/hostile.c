/*
 * cyberagent-nats hostile: a peer that attacks the market while it runs.
 *
 * It listens to every subject (">") and keeps the last messages it saw; then
 * every --period ms, on every subject the market and the workers read (the
 * join and consent subjects, the hirer's inbox, every task subject, every
 * worker inbox seen, ca.done) and on the ledger stream's subjects, it
 * publishes:
 *   - garbage: random bytes, and the plain text "done";
 *   - a bad signature: a captured envelope with one signature byte flipped;
 *   - forgeries: validly signed by its own key (a DONE, a REQUEST, an AWARD,
 *     a card, a bid for a live task, a consent), which no reader may accept
 *     from it;
 *   - expired messages: signed by its own key an hour ago;
 *   - replays: 16 of the last KEEP messages seen, at random, published again
 *     unchanged (cards, bids, requests, awards, results, notices, consents,
 *     ledger ops), and as many with a signature byte flipped.
 * It stops at the hirer's signed DONE (it knows the hirer's public id, as
 * everyone does) or after --duration ms and prints what it sent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "nats_hire.h"

#define KEEP 256u

typedef struct seen {
    char subj[128];
    uint8_t *data;
    size_t len;
} seen;

typedef struct hostile {
    natsConnection *nc;
    mbox box;
    ca_identity *me;
    ca_agent_id me_pk, hirer;
    seen ring[KEEP];
    size_t nring, at;
    char inboxes[MAX_WORKER + 1][48];
    size_t ninbox;
    ca_hash last_task; /* the id of a REQUEST seen: forged bids name it */
    int have_task, done;
    uint64_t sent_garbage, sent_badsig, sent_forged, sent_expired, sent_replay, sent_stream;
    uint64_t rng;
} hostile;

static void pub(hostile *h, const char *subj, const uint8_t *data, size_t len, uint64_t *counter)
{
    if (natsConnection_Publish(h->nc, subj, data, (int)len) == NATS_OK)
        (*counter)++;
}

static void keep(hostile *h, natsMsg *m)
{
    const char *s = natsMsg_GetSubject(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    if (strncmp(s, "_INBOX", 6) == 0 || strncmp(s, "$JS", 3) == 0 || len == 0 || len > BUF)
        return;
    if (strncmp(s, "ca.agent.", 9) == 0) {
        int known = 0;
        for (size_t i = 0; i < h->ninbox; i++)
            known |= strcmp(h->inboxes[i], s) == 0;
        if (!known && h->ninbox < MAX_WORKER + 1)
            (void)snprintf(h->inboxes[h->ninbox++], sizeof h->inboxes[0], "%s", s);
    }
    ca_envelope *env = NULL;
    if (ca_envelope_decode(&env, (const uint8_t *)natsMsg_GetData(m), len, NULL) == CA_OK) {
        ca_agent_id from;
        ca_envelope_sender(env, &from);
        if (ca_envelope_kind(env) == CA_KIND_TASK_REQUEST) {
            ca_envelope_id(env, &h->last_task);
            h->have_task = 1;
        }
        if (ca_envelope_kind(env) == KIND_DONE && memcmp(&from, &h->hirer, sizeof from) == 0 &&
            ca_envelope_verify(env, now_ms(), NULL) == CA_OK)
            h->done = 1;
        ca_envelope_free(env);
    }
    seen *e = &h->ring[h->at];
    free(e->data);
    e->data = malloc(len);
    if (e->data == NULL)
        return;
    memcpy(e->data, natsMsg_GetData(m), len);
    e->len = len;
    (void)snprintf(e->subj, sizeof e->subj, "%s", s);
    h->at = (h->at + 1) % KEEP;
    if (h->nring < KEEP)
        h->nring++;
}

/* An envelope of `kind` signed by the hostile key, valid now or long expired. */
static size_t forge(hostile *h, uint32_t kind, int expired, uint8_t *out, size_t cap)
{
    uint64_t now = now_ms();
    ca_envelope_params ep;
    env_params(&ep, kind, expired ? now - 7200000u : now, expired ? 3600000u : ENV_LIFE_MS);
    size_t len = 0;
    if (kind == CA_KIND_CARD) {
        ca_card_capability cc = {caps[0], 1, 500};
        ca_card_params cp;
        (void)ca_card_params_init(&cp, CA_CARD_PARAMS_VERSION);
        cp.name = "mallory";
        cp.endpoint = "ca.agent.mallory";
        cp.stake = 1000000;
        cp.not_before = ep.created_at - 1000;
        cp.not_after = ep.expires_at;
        cp.sequence = now;
        cp.capabilities = &cc;
        cp.capability_size = sizeof(ca_card_capability);
        cp.capability_count = 1;
        cp.created_at = ep.created_at;
        return ca_card_sign(h->me, &cp, out, cap, &len, NULL) == CA_OK ? len : 0;
    }
    if (kind == CA_KIND_TASK_REQUEST) {
        ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
        rq.capability = caps[0];
        const ca_task_content rq_input = {
            .version = CA_TASK_CONTENT_VERSION, .data = (const uint8_t *)"x", .data_len = 1};
        rq.input = &rq_input;
        rq.max_price = 1000;
        rq.deadline = ep.created_at + 5000;
        rq.collateral = 1;
        return ca_task_request_sign(h->me, &ep, &rq, out, cap, &len, NULL) == CA_OK ? len : 0;
    }
    if (kind == CA_KIND_TASK_BID) {
        ca_task_bid b = {.version = CA_TASK_BID_VERSION};
        b.task = h->last_task;
        b.price = 1;
        b.completion = ep.created_at + 1000;
        b.collateral = COLLATERAL;
        return ca_task_bid_sign(h->me, &ep, &b, out, cap, &len, NULL) == CA_OK ? len : 0;
    }
    if (kind == CA_KIND_TASK_AWARD) {
        ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
        aw.task = h->last_task;
        aw.bid = h->last_task;
        aw.worker = h->me_pk;
        aw.price = 1;
        aw.collateral = 1;
        aw.deadline = ep.created_at + 1000;
        ep.parent = &h->last_task;
        return ca_task_award_sign(h->me, &ep, &aw, out, cap, &len, NULL) == CA_OK ? len : 0;
    }
    static const uint8_t body[] = "done";
    return ca_envelope_sign(h->me, &ep, body, 4, out, cap, &len, NULL) == CA_OK ? len : 0;
}

static void round_of_attacks(hostile *h, const char *prefix)
{
    char subjects[MAX_WORKER + 8][128];
    size_t ns = 0;
    char hirer_inbox[48];
    inbox_of(&h->hirer, hirer_inbox, sizeof hirer_inbox);
    (void)snprintf(subjects[ns++], 128, "%s", SUBJ_JOIN);
    (void)snprintf(subjects[ns++], 128, "%s", SUBJ_CONSENT);
    (void)snprintf(subjects[ns++], 128, "%s", SUBJ_DONE);
    (void)snprintf(subjects[ns++], 128, "%s", hirer_inbox);
    for (size_t i = 0; i < NCAPS; i++)
        (void)snprintf(subjects[ns++], 128, "ca.task.%s", caps[i]);
    for (size_t i = 0; i < h->ninbox && ns < MAX_WORKER + 8; i++)
        if (strcmp(h->inboxes[i], hirer_inbox) != 0)
            (void)snprintf(subjects[ns++], 128, "%s", h->inboxes[i]);
    uint8_t buf[BUF];
    static const uint32_t kinds[] = {KIND_DONE, CA_KIND_TASK_REQUEST, CA_KIND_TASK_AWARD,
                                     CA_KIND_CARD, CA_KIND_TASK_BID};
    for (size_t s = 0; s < ns; s++) {
        /* garbage: random bytes, and the unsigned text "done" */
        size_t gl = 1 + splitmix(&h->rng) % 300;
        for (size_t i = 0; i < gl; i++)
            buf[i] = (uint8_t)splitmix(&h->rng);
        pub(h, subjects[s], buf, gl, &h->sent_garbage);
        pub(h, subjects[s], (const uint8_t *)"done", 4, &h->sent_garbage);
        /* forged and expired envelopes of every kind a reader takes from the hirer */
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            if (kinds[k] == CA_KIND_TASK_BID && !h->have_task)
                continue;
            size_t len = forge(h, kinds[k], 0, buf, sizeof buf);
            if (len > 0)
                pub(h, subjects[s], buf, len, &h->sent_forged);
            len = forge(h, kinds[k], 1, buf, sizeof buf);
            if (len > 0)
                pub(h, subjects[s], buf, len, &h->sent_expired);
        }
    }
    /* a forged consent for a random award */
    for (size_t i = 0; i < 96; i++)
        buf[i] = (uint8_t)splitmix(&h->rng);
    pub(h, SUBJ_CONSENT, buf, 96, &h->sent_forged);
    /* replays and bad signatures of what was seen, on the subject it was seen on */
    for (size_t r = 0; h->nring > 0 && r < 16; r++) {
        seen *e = &h->ring[splitmix(&h->rng) % h->nring];
        int stream = strncmp(e->subj, "ledger.", 7) == 0;
        pub(h, e->subj, e->data, e->len, stream ? &h->sent_stream : &h->sent_replay);
        if (!stream && e->len > 70) {
            memcpy(buf, e->data, e->len);
            ca_envelope *env = NULL;
            if (ca_envelope_decode(&env, buf, e->len, NULL) == CA_OK) {
                /* the signature is the envelope's last field: flip a byte of it */
                buf[e->len - 10] ^= 0x5a;
                pub(h, e->subj, buf, e->len, &h->sent_badsig);
            }
            ca_envelope_free(env);
        }
    }
    /* the ledger stream: garbage under a made-up signer and under the hirer */
    char hex[65], subj[128];
    uint8_t rnd[32];
    for (size_t i = 0; i < 32; i++)
        rnd[i] = (uint8_t)splitmix(&h->rng);
    hex_of(rnd, 32, hex);
    (void)snprintf(subj, sizeof subj, "%s.%s", prefix, hex);
    pub(h, subj, rnd, sizeof rnd, &h->sent_stream);
    hex_of(h->hirer.bytes, 32, hex);
    (void)snprintf(subj, sizeof subj, "%s.%s", prefix, hex);
    pub(h, subj, rnd, sizeof rnd, &h->sent_stream);
    (void)natsConnection_Flush(h->nc);
}

int run_hostile(const opts *o)
{
    static hostile hs;
    hostile *h = &hs;
    memset(h, 0, sizeof *h);
    h->rng = now_ms();
    ca_identity *hid = NULL;
    if (ca_identity_generate(&h->me) != CA_OK ||
        identity(o->seed, ID_HIRER, &hid, &h->hirer) != CA_OK)
        return 1;
    ca_identity_free(hid);
    ca_identity_id(h->me, &h->me_pk);
    mbox_init(&h->box, 1u << 16);
    natsSubscription *sub = NULL;
    int rc = 1;
    if (natsConnection_ConnectTo(&h->nc, o->url) != NATS_OK ||
        natsConnection_Subscribe(&sub, h->nc, ">", mbox_on_msg, &h->box) != NATS_OK) {
        fprintf(stderr, "cyberagent-nats hostile: cannot connect to %s\n", o->url);
        goto out;
    }
    uint64_t t0 = now_ms(), next = t0 + o->period_ms;
    while (!h->done && now_ms() < t0 + o->duration_ms) {
        mail *m = mbox_take(&h->box, next);
        if (m != NULL) {
            keep(h, m->msg);
            natsMsg_Destroy(m->msg);
            free(m);
            continue;
        }
        round_of_attacks(h, o->prefix);
        next = now_ms() + o->period_ms;
    }
    printf("hostile sent garbage=%" PRIu64 " bad_sig=%" PRIu64 " forged=%" PRIu64
           " expired=%" PRIu64 " replay=%" PRIu64 " stream=%" PRIu64 " done_seen=%d\n",
           h->sent_garbage, h->sent_badsig, h->sent_forged, h->sent_expired, h->sent_replay,
           h->sent_stream, h->done);
    rc = 0;
out:
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(h->nc);
    mbox_close(&h->box);
    for (size_t i = 0; i < KEEP; i++)
        free(h->ring[i].data);
    ca_identity_free(h->me);
    return rc;
}
