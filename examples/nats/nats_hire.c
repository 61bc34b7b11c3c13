/*
 * cyberagent-nats: the hire of examples/hire across processes over NATS.
 *
 *   cyberagent-nats market --url nats://127.0.0.1:4222 --workers 4 --tasks 8
 *   cyberagent-nats worker --url nats://127.0.0.1:4222 --index 0 [--cheat]
 *
 * The market process is the hirer and also hosts the shared state (ledger,
 * reputation, routing) that a deployment would replicate, e.g. on JetStream.
 * Each worker is its own process with its own identity. Every message is a
 * signed envelope or a signed ledger op, verified by the process that reads
 * it. Subjects:
 *
 *   ca.join            worker -> market (request): its signed card
 *   ca.ledger          worker -> market (request): a signed ledger op (BOND)
 *   ca.consent         worker -> market (request): signed consent to an award's escrow
 *   ca.deliver         worker -> market (request): u32le op length | signed ESCROW_DELIVER |
 *                      the RESULT envelope it names (the ledger checks both)
 *   ca.task.<cap>      market -> workers: REQUEST envelopes
 *   ca.agent.<id>      each agent's inbox (its card endpoint): BID, AWARD, RESULT, RECEIPT
 *   ca.done            market -> workers: the story is over
 *
 * The escrow needs the worker's consent to lock its collateral. Both sides
 * derive the same ESCROW_OPEN from the AWARD (ca_ledger_op_escrow_open); the
 * worker signs its consent to those terms (ca_ledger_op_cosign: it covers
 * hirer, worker, award, payment, collateral and deadline, not the hirer's
 * nonce, which the worker cannot know) and sends the 64 bytes on
 * ca.consent; the market adds its next nonce, signs with the consent
 * attached (ca_ledger_op_sign_cosigned) and submits the signed op, so the
 * journal holds both signatures and any replica can re-check them.
 *
 * Every signed op and consent names the ledger it is for (its id, the digest
 * of its options): the options are public here, derived from the seed like
 * the identities (ledger_options), so a worker computes the id itself
 * (ca_ledger_options_id) and its ops apply on this ledger only.
 */
#include <inttypes.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cyberagent.h>

#define NCAPS      3u
#define COLLATERAL 20u
#define MAX_PRICE  100u
#define BUF        4096u

static const char *const caps[NCAPS] = {"llm.translate.en-fr", "code.review.c", "llm.summarize"};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static ca_status identity(uint64_t seed, uint64_t index, ca_identity **out, ca_agent_id *pk)
{
    uint8_t sd[CA_SEED_BYTES];
    uint64_t x = seed ^ (0xA0761D6478BD642Full * (index + 1));
    for (size_t i = 0; i < CA_SEED_BYTES; i += 8) {
        uint64_t w = splitmix(&x);
        memcpy(sd + i, &w, 8);
    }
    ca_status st = ca_identity_from_seed(out, sd);
    ca_wipe(sd, sizeof sd);
    if (st == CA_OK)
        ca_identity_id(*out, pk);
    return st;
}

/* An agent's inbox subject: "ca.agent." + the first 8 bytes of its id in hex. */
static void inbox_of(const ca_agent_id *id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "ca.agent.");
    for (int i = 0; i < 8 && n > 0 && (size_t)n + 2 < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, "%02x", id->bytes[i]);
}

static int failed(const char *who, const char *what, ca_status st)
{
    fprintf(stderr, "cyberagent-nats %s: %s: %s: %s\n", who, what, ca_status_str(st),
            ca_last_error());
    return 1;
}

#define TRY(who, call, what)                                                                       \
    do {                                                                                           \
        ca_status st_ = (call);                                                                    \
        if (st_ != CA_OK)                                                                          \
            return failed(who, what, st_);                                                         \
    } while (0)

#define NTRY(who, call, what)                                                                      \
    do {                                                                                           \
        natsStatus ns_ = (call);                                                                   \
        if (ns_ != NATS_OK) {                                                                      \
            fprintf(stderr, "cyberagent-nats %s: %s: %s\n", who, what, natsStatus_GetText(ns_));   \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* The market ledger's rules, which every process derives from the seed. */
static ca_status ledger_options(uint64_t seed, ca_ledger_options *lo)
{
    ca_identity *id = NULL;
    ca_status st = ca_ledger_options_init(lo, CA_LEDGER_OPTIONS_VERSION);
    if (st == CA_OK)
        st = identity(seed, 1000000001u, &id, &lo->authority);
    ca_identity_free(id);
    id = NULL;
    if (st == CA_OK)
        st = identity(seed, 1000000002u, &id, &lo->arbiter);
    ca_identity_free(id);
    lo->unbonding_delay = 7ull * 86400000u; /* ms: the clock here is Unix ms */
    lo->jail_equivocation = 3600000u;
    lo->slash_equivocation_ppm = 300000;
    return st;
}

static void env_params(ca_envelope_params *ep, uint64_t now)
{
    (void)ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION);
    ep->created_at = now;
    ep->expires_at = now + 600000u;
}

/* =================================================================== worker */

typedef struct worker {
    ca_identity *id;
    ca_agent_id pk;
    char name[16], inbox[48];
    int index, cheat;
    uint64_t nonce, price[2];
    uint32_t cap[2], wins;
    ca_hash ledger_id; /* the market ledger's id: every op and consent names it */
    natsConnection *nc;
} worker;

/* Request/reply; *reply gets the reply text ("CA_OK" or a status name). */
static int ask(natsConnection *nc, const char *subj, const uint8_t *data, size_t len, char *reply,
               size_t cap)
{
    natsMsg *m = NULL;
    natsStatus ns = natsConnection_Request(&m, nc, subj, data, (int)len, 5000);
    if (ns != NATS_OK) {
        (void)snprintf(reply, cap, "%s", natsStatus_GetText(ns));
        return 1;
    }
    (void)snprintf(reply, cap, "%.*s", natsMsg_GetDataLength(m), natsMsg_GetData(m));
    natsMsg_Destroy(m);
    return strcmp(reply, "CA_OK") != 0;
}

/* Signs `op` and sends it on ca.ledger, or on ca.deliver with the RESULT `att` after it. */
static int ledger_op(worker *w, ca_ledger_op *op, const uint8_t *att, size_t att_len)
{
    uint8_t msg[4 + CA_LEDGER_OP_MAX_BYTES + BUF];
    size_t len = 0;
    char reply[64];
    op->signer = w->pk;
    op->nonce = w->nonce + 1;
    uint8_t *at = att != NULL ? msg + 4 : msg;
    TRY(w->name,
        ca_ledger_op_sign(&w->ledger_id, op, w->id, NULL, at, CA_LEDGER_OP_MAX_BYTES, &len),
        "ledger op");
    if (att != NULL) {
        if (att_len > BUF)
            return failed(w->name, "result", CA_ERR_LIMIT);
        for (int i = 0; i < 4; i++)
            msg[i] = (uint8_t)(len >> (8 * i));
        memcpy(msg + 4 + len, att, att_len);
        len += 4 + att_len;
    }
    if (ask(w->nc, att != NULL ? "ca.deliver" : "ca.ledger", msg, len, reply, sizeof reply)) {
        fprintf(stderr, "cyberagent-nats %s: ledger refused op %u: %s\n", w->name, op->type, reply);
        return 1;
    }
    w->nonce++;
    return 0;
}

static int worker_join(worker *w)
{
    ca_card_capability cc[2];
    for (int k = 0; k < 2; k++)
        cc[k] = (ca_card_capability){caps[w->cap[k]], w->price[k], 500};
    ca_card_params cp;
    (void)ca_card_params_init(&cp, CA_CARD_PARAMS_VERSION);
    uint64_t now = now_ms();
    cp.name = w->name;
    cp.endpoint = w->inbox;
    cp.stake = 2000;
    cp.not_before = now - 60000;
    cp.not_after = now + 86400000u;
    cp.sequence = 1;
    cp.capabilities = cc;
    cp.capability_size = sizeof(ca_card_capability);
    cp.capability_count = 2;
    cp.created_at = now;
    uint8_t card[BUF];
    size_t len = 0;
    char reply[64];
    TRY(w->name, ca_card_sign(w->id, &cp, card, sizeof card, &len, NULL), "card");
    /* The market may not be up yet: ask again for up to 20 s. */
    int refused = 1;
    for (int tries = 0; tries < 200 && refused; tries++) {
        refused = ask(w->nc, "ca.join", card, len, reply, sizeof reply);
        if (refused && strncmp(reply, "CA_", 3) == 0)
            break; /* the market answered: a real refusal */
        if (refused) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
    }
    if (refused) {
        fprintf(stderr, "cyberagent-nats %s: join refused: %s\n", w->name, reply);
        return 1;
    }
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_BOND;
    op.amount = 2000;
    return ledger_op(w, &op, NULL, 0);
}

static int worker_bid(worker *w, const natsMsg *m)
{
    ca_envelope *env = NULL;
    uint64_t now = now_ms();
    ca_status st = ca_envelope_open(&env, (const uint8_t *)natsMsg_GetData(m),
                                    (size_t)natsMsg_GetDataLength(m), now, NULL);
    if (st != CA_OK)
        return failed(w->name, "request does not verify", st);
    ca_task_msg *msg = NULL;
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    st = ca_task_msg_parse(&msg, env, NULL);
    if (st == CA_OK)
        st = ca_task_msg_request(msg, &rq);
    int k = st == CA_OK && strcmp(rq.capability, caps[w->cap[1]]) == 0 ? 1 : 0;
    ca_task_bid bid = {.version = CA_TASK_BID_VERSION};
    ca_agent_id hirer;
    ca_envelope_sender(env, &hirer);
    if (st == CA_OK) {
        ca_task_msg_task_id(msg, &bid.task);
        bid.price = w->price[k];
        bid.completion = now + 3000 < rq.deadline ? now + 3000 : rq.deadline;
        bid.collateral = rq.collateral;
    }
    ca_task_msg_free(msg);
    ca_envelope_free(env);
    if (st != CA_OK)
        return failed(w->name, "request", st);
    ca_envelope_params ep;
    env_params(&ep, now);
    uint8_t out[BUF];
    size_t len = 0;
    TRY(w->name, ca_task_bid_sign(w->id, &ep, &bid, out, sizeof out, &len, NULL), "bid");
    char to[48];
    inbox_of(&hirer, to, sizeof to);
    NTRY(w->name, natsConnection_Publish(w->nc, to, out, (int)len), "publish bid");
    return 0;
}

static int worker_award(worker *w, ca_envelope *env)
{
    ca_task_msg *msg = NULL;
    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    TRY(w->name, ca_task_msg_parse(&msg, env, NULL), "award parse");
    ca_status st = ca_task_msg_award(msg, &aw);
    ca_hash award_id;
    ca_task_msg_id(msg, &award_id);
    ca_agent_id hirer;
    ca_task_msg_sender(msg, &hirer);
    ca_ledger_op escrow = {.version = CA_LEDGER_OP_VERSION};
    if (st == CA_OK)
        st = ca_ledger_op_escrow_open(&escrow, msg);
    ca_task_msg_free(msg);
    TRY(w->name, st, "award");
    if (memcmp(&aw.worker, &w->pk, sizeof w->pk) != 0)
        return 0;
    w->wins++;
    /* Consent to lock the collateral on the award's terms: 64 bytes of signature. */
    ca_envelope_params ep;
    uint8_t out[BUF];
    size_t len = 0;
    ca_signature consent;
    char reply[64];
    TRY(w->name, ca_ledger_op_cosign(&w->ledger_id, &escrow, w->id, &consent), "consent");
    if (ask(w->nc, "ca.consent", consent.bytes, sizeof consent.bytes, reply, sizeof reply)) {
        fprintf(stderr, "cyberagent-nats %s: escrow not opened (%s): no work\n", w->name, reply);
        return 0;
    }
    /* The work, then the delivery record on the ledger (the op names the RESULT, which
     * goes with it), then the result to the hirer. */
    char to[48];
    inbox_of(&hirer, to, sizeof to);
    for (int copy = 0; copy < (w->cheat && w->wins > 1 ? 2 : 1); copy++) {
        char output[96];
        (void)snprintf(output, sizeof output, "%s from %s", copy ? "another result" : "result",
                       w->name);
        ca_task_result rs = {.version = CA_TASK_RESULT_VERSION};
        rs.task = aw.task;
        rs.award = award_id;
        const ca_task_content res_out = {.version = CA_TASK_CONTENT_VERSION,
                                         .data = (const uint8_t *)output,
                                         .data_len = strlen(output)};
        rs.output = &res_out;
        env_params(&ep, now_ms());
        ca_hash res_id;
        TRY(w->name, ca_task_result_sign(w->id, &ep, &rs, out, sizeof out, &len, &res_id),
            "result");
        if (copy == 0) {
            ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
            op.type = CA_LEDGER_OP_ESCROW_DELIVER;
            op.ref = award_id;
            op.result = res_id;
            if (ledger_op(w, &op, out, len))
                return 1;
        }
        NTRY(w->name, natsConnection_Publish(w->nc, to, out, (int)len), "publish result");
    }
    return 0;
}

static int run_worker(const char *url, uint64_t seed, int index, int cheat)
{
    worker w;
    memset(&w, 0, sizeof w);
    w.index = index;
    w.cheat = cheat;
    TRY("worker", identity(seed, 100u + (uint64_t)index, &w.id, &w.pk), "identity");
    (void)snprintf(w.name, sizeof w.name, "%s%d", cheat ? "cheat" : "w", index);
    inbox_of(&w.pk, w.inbox, sizeof w.inbox);
    ca_ledger_options lo;
    TRY(w.name, ledger_options(seed, &lo), "ledger options");
    TRY(w.name, ca_ledger_options_id(&lo, &w.ledger_id), "ledger id");
    for (int k = 0; k < 2; k++) {
        w.cap[k] = (uint32_t)(index + k) % NCAPS;
        w.price[k] = cheat ? 25u + (uint64_t)k : 40u + 7u * (uint64_t)index + (uint64_t)k;
    }
    natsSubscription *s_inbox = NULL, *s_task[2] = {NULL, NULL}, *s_done = NULL;
    NTRY(w.name, natsConnection_ConnectTo(&w.nc, url), "connect");
    NTRY(w.name, natsConnection_SubscribeSync(&s_inbox, w.nc, w.inbox), "subscribe");
    NTRY(w.name, natsConnection_SubscribeSync(&s_done, w.nc, "ca.done"), "subscribe");
    for (int k = 0; k < 2; k++) {
        char subj[96];
        (void)snprintf(subj, sizeof subj, "ca.task.%s", caps[w.cap[k]]);
        NTRY(w.name, natsConnection_SubscribeSync(&s_task[k], w.nc, subj), "subscribe");
    }
    NTRY(w.name, natsConnection_Flush(w.nc), "flush");
    int rc = worker_join(&w);
    uint64_t idle_until = now_ms() + 120000u;
    while (rc == 0 && now_ms() < idle_until) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, s_done, 1) == NATS_OK) {
            natsMsg_Destroy(m);
            break;
        }
        for (int k = 0; k < 2 && rc == 0; k++)
            if (natsSubscription_NextMsg(&m, s_task[k], 1) == NATS_OK) {
                rc = worker_bid(&w, m);
                natsMsg_Destroy(m);
            }
        if (rc == 0 && natsSubscription_NextMsg(&m, s_inbox, 5) == NATS_OK) {
            ca_envelope *env = NULL;
            ca_status st = ca_envelope_open(&env, (const uint8_t *)natsMsg_GetData(m),
                                            (size_t)natsMsg_GetDataLength(m), now_ms(), NULL);
            if (st != CA_OK)
                rc = failed(w.name, "inbox message does not verify", st);
            else if (ca_envelope_kind(env) == CA_KIND_TASK_AWARD)
                rc = worker_award(&w, env);
            ca_envelope_free(env); /* receipts: verified above, nothing more to do */
            natsMsg_Destroy(m);
        }
    }
    natsSubscription_Destroy(s_inbox);
    natsSubscription_Destroy(s_done);
    for (int k = 0; k < 2; k++)
        natsSubscription_Destroy(s_task[k]);
    natsConnection_Destroy(w.nc);
    ca_identity_free(w.id);
    return rc;
}

/* =================================================================== market */

typedef struct party {
    ca_identity *id;
    ca_agent_id pk;
    uint64_t nonce;
} party;

typedef struct market {
    party hirer, authority, arbiter;
    char inbox[48];
    ca_ledger *ledger;
    ca_reputation *rep;
    ca_routing *rt;
    ca_ledger_options lo;
    ca_hash ledger_id;
    natsConnection *nc;
    natsSubscription *s_join, *s_ledger, *s_consent, *s_deliver, *s_inbox;
    /* the task in progress */
    ca_task *task;
    ca_hash award_id;
    ca_agent_id worker;
    uint64_t price, deadline;
    ca_ledger_op escrow; /* the ESCROW_OPEN the award calls for (nonce filled in at consent) */
    int escrow_open;
    uint32_t joined, bonded, completed, slashed, refunded;
} market;

static void reply_status(market *mk, natsMsg *m, ca_status st)
{
    const char *r = ca_status_str(st);
    if (natsMsg_GetReply(m) != NULL)
        (void)natsConnection_Publish(mk->nc, natsMsg_GetReply(m), r, (int)strlen(r));
}

/* Routing and reputation read stakes straight from the ledger: bonded +
 * unbonding, 0 while jailed (ca_routing_sync_stakes here; reputation's
 * ca_reputation_sync_stakes at each update). */
static ca_status sync_stakes(market *mk)
{
    return ca_routing_sync_stakes(mk->rt, mk->ledger, now_ms());
}

/* `ev`: equivocation evidence the ledger checks with a SLASH (NULL otherwise). */
static ca_status local_op_ev(market *mk, party *p, ca_ledger_op *op, const uint8_t *ev,
                             size_t ev_len)
{
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t len = 0;
    op->signer = p->pk;
    op->nonce = p->nonce + 1;
    ca_status st = ca_ledger_op_sign(&mk->ledger_id, op, p->id, NULL, msg, sizeof msg, &len);
    if (st == CA_OK)
        st = ev != NULL
                 ? ca_ledger_submit_evidence(mk->ledger, msg, len, ev, ev_len, now_ms(), NULL)
                 : ca_ledger_submit(mk->ledger, msg, len, now_ms(), NULL);
    if (st == CA_OK)
        p->nonce++;
    return st;
}

static ca_status local_op(market *mk, party *p, ca_ledger_op *op)
{
    return local_op_ev(mk, p, op, NULL, 0);
}

/* ca.join: a verified card joins routing and gets its starting funds. */
static void serve_join(market *mk, natsMsg *m)
{
    ca_card *card = NULL;
    uint64_t now = now_ms();
    ca_status st = ca_card_open(&card, (const uint8_t *)natsMsg_GetData(m),
                                (size_t)natsMsg_GetDataLength(m), now, NULL);
    if (st == CA_OK)
        st = ca_routing_add_card(mk->rt, card, now);
    if (st == CA_OK) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        ca_card_agent(card, &op.counterparty);
        op.amount = 5000;
        st = local_op(mk, &mk->authority, &op);
        if (st == CA_OK) {
            mk->joined++;
            printf("  join     %-8s card verified, 5000 cr minted\n", ca_card_name(card));
        }
    }
    if (st != CA_OK)
        (void)failed("market", "join", st);
    ca_card_free(card);
    reply_status(mk, m, st);
}

/* ca.ledger: a worker's signed op; the ledger verifies it. */
static void serve_ledger(market *mk, natsMsg *m)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    ca_status st = ca_ledger_op_decode(data, len, &op);
    if (st == CA_OK)
        st = ca_ledger_submit(mk->ledger, data, len, now_ms(), NULL);
    if (st == CA_OK && op.type == CA_LEDGER_OP_BOND) {
        mk->bonded++;
        st = sync_stakes(mk);
        /* Registers the worker with reputation; its stake is read from the ledger. */
        if (st == CA_OK)
            st = ca_reputation_set_stake(mk->rep, &op.signer, 0);
    }
    reply_status(mk, m, st);
}

/*
 * ca.consent: the awarded worker's cosignature on the award's escrow terms;
 * the market signs the op with it and submits it like any signed op.
 */
static void serve_consent(market *mk, natsMsg *m)
{
    ca_status st = CA_ERR_TASK_MISMATCH;
    if (mk->task != NULL && !mk->escrow_open &&
        natsMsg_GetDataLength(m) == (int)sizeof(ca_signature)) {
        ca_signature consent;
        memcpy(consent.bytes, natsMsg_GetData(m), sizeof consent.bytes);
        ca_ledger_op op = mk->escrow;
        op.nonce = mk->hirer.nonce + 1;
        uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
        size_t len = 0;
        /* A consent from anyone but the awarded worker, or to other terms, fails here. */
        st = ca_ledger_op_sign_cosigned(&mk->ledger_id, &op, mk->hirer.id, &consent, msg,
                                        sizeof msg, &len);
        if (st == CA_OK)
            st = ca_ledger_submit(mk->ledger, msg, len, now_ms(), NULL);
        if (st == CA_OK) {
            mk->hirer.nonce++;
            mk->escrow_open = 1;
        }
    }
    reply_status(mk, m, st);
}

/*
 * ca.deliver: the worker's signed ESCROW_DELIVER and the RESULT it names;
 * the ledger checks that the RESULT is the worker's, for this award, with
 * that id, before it records the delivery.
 */
static void serve_deliver(market *mk, natsMsg *m)
{
    const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
    size_t len = (size_t)natsMsg_GetDataLength(m), n = 0;
    ca_status st = CA_ERR_MALFORMED;
    if (len >= 4)
        n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    if (len >= 4 && n < len - 4)
        st = ca_ledger_submit_evidence(mk->ledger, data + 4, n, data + 4 + n, len - 4 - n, now_ms(),
                                       NULL);
    reply_status(mk, m, st);
}

/* Serves requests until an inbox message arrives (returned) or `until` passes (NULL). */
static natsMsg *pump(market *mk, uint64_t until)
{
    while (now_ms() < until) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, mk->s_join, 1) == NATS_OK) {
            serve_join(mk, m);
            natsMsg_Destroy(m);
        }
        if (natsSubscription_NextMsg(&m, mk->s_ledger, 1) == NATS_OK) {
            serve_ledger(mk, m);
            natsMsg_Destroy(m);
        }
        if (natsSubscription_NextMsg(&m, mk->s_consent, 1) == NATS_OK) {
            serve_consent(mk, m);
            natsMsg_Destroy(m);
        }
        if (natsSubscription_NextMsg(&m, mk->s_deliver, 1) == NATS_OK) {
            serve_deliver(mk, m);
            natsMsg_Destroy(m);
        }
        if (natsSubscription_NextMsg(&m, mk->s_inbox, 2) == NATS_OK)
            return m;
    }
    return NULL;
}

static ca_status apply_msg(market *mk, natsMsg *m, ca_envelope **keep)
{
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, (const uint8_t *)natsMsg_GetData(m),
                                      (size_t)natsMsg_GetDataLength(m), NULL);
    if (st == CA_OK)
        st = ca_task_apply(mk->task, env, now_ms());
    if (keep != NULL)
        *keep = env;
    else
        ca_envelope_free(env);
    return st;
}

static int publish_env(market *mk, const ca_agent_id *to, const uint8_t *data, size_t len)
{
    char subj[48];
    inbox_of(to, subj, sizeof subj);
    NTRY("market", natsConnection_Publish(mk->nc, subj, data, (int)len), "publish");
    return 0;
}

static int receipt(market *mk, ca_hash *task_id, int accept, uint32_t rating, ca_hash *res_id)
{
    ca_task_receipt rc = {.version = CA_TASK_RECEIPT_VERSION};
    rc.task = *task_id;
    rc.award = mk->award_id;
    rc.result = *res_id;
    rc.worker = mk->worker;
    rc.accept = accept;
    rc.rating = rating;
    rc.paid = accept ? mk->price : 0;
    ca_envelope_params ep;
    env_params(&ep, now_ms());
    uint8_t out[BUF];
    size_t len = 0;
    TRY("market", ca_task_receipt_sign(mk->hirer.id, &ep, &rc, out, sizeof out, &len, NULL),
        "receipt");
    ca_envelope *env = NULL;
    TRY("market", ca_envelope_decode(&env, out, len, NULL), "receipt decode");
    ca_status st = ca_task_apply(mk->task, env, now_ms());
    ca_envelope_free(env);
    TRY("market", st, "receipt apply");
    return publish_env(mk, &mk->worker, out, len);
}

static int one_task(market *mk, uint32_t t, uint32_t workers)
{
    uint64_t now = now_ms();
    const char *cap = caps[t % NCAPS];
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    rq.capability = cap;
    const ca_task_content in = {.version = CA_TASK_CONTENT_VERSION,
                                .data = (const uint8_t *)"please do this",
                                .data_len = 14};
    rq.input = &in;
    rq.max_price = MAX_PRICE;
    rq.deadline = now + 8000;
    rq.collateral = COLLATERAL;
    ca_envelope_params ep;
    env_params(&ep, now);
    uint8_t req[BUF], out[BUF];
    size_t req_len = 0, len = 0;
    ca_hash task_id;
    TRY("market", ca_task_request_sign(mk->hirer.id, &ep, &rq, req, sizeof req, &req_len, &task_id),
        "request");
    ca_envelope *env = NULL;
    TRY("market", ca_envelope_decode(&env, req, req_len, NULL), "request decode");
    ca_status st = ca_task_new(&mk->task, env, now, NULL);
    ca_envelope_free(env);
    TRY("market", st, "task");
    char subj[96];
    (void)snprintf(subj, sizeof subj, "ca.task.%s", cap);
    NTRY("market", natsConnection_Publish(mk->nc, subj, req, (int)req_len), "publish request");

    /* Bids: until every worker with the capability answered, or 1.5 s. */
    ca_routing_bid bids[64];
    ca_hash bid_ids[64];
    uint64_t bid_done[64];
    size_t nb = 0, expect = 0;
    ca_routing_query q;
    (void)ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION);
    q.capability = cap;
    q.capability_len = strlen(cap);
    q.now = now;
    q.thompson = 0; /* deterministic ranking: the test expects the cheapest worker first */
    ca_routing_result top[64];
    TRY("market",
        ca_routing_select(mk->rt, &q, top, sizeof(ca_routing_result), workers < 64 ? workers : 64,
                          &expect),
        "capable workers");
    uint64_t until = now + 1500;
    while (nb < expect && nb < 64) {
        natsMsg *m = pump(mk, until);
        if (m == NULL)
            break;
        st = apply_msg(mk, m, &env);
        ca_ledger_account_info acc = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
        ca_agent_id bidder;
        if (env != NULL)
            ca_envelope_sender(env, &bidder);
        if (st == CA_OK && ca_envelope_kind(env) == CA_KIND_TASK_BID &&
            ca_ledger_account(mk->ledger, &bidder, &acc) == CA_OK && acc.jailed_until <= now_ms()) {
            ca_task_msg *bm = NULL;
            ca_task_bid b = {.version = CA_TASK_BID_VERSION};
            if (ca_task_msg_parse(&bm, env, NULL) == CA_OK && ca_task_msg_bid(bm, &b) == CA_OK) {
                bids[nb].agent = bidder;
                bids[nb].price = b.price;
                bids[nb].latency_ms = 0;
                ca_envelope_id(env, &bid_ids[nb]);
                bid_done[nb] = b.completion;
                nb++;
            }
            ca_task_msg_free(bm);
        }
        ca_envelope_free(env);
        natsMsg_Destroy(m);
    }
    ca_routing_result best[2];
    size_t got = 0;
    q.now = now_ms();
    TRY("market",
        ca_routing_rank_bids(mk->rt, &q, bids, sizeof(ca_routing_bid), nb, best,
                             sizeof(ca_routing_result), 2, &got),
        "rank bids");
    printf("  #%-3u %-20s %zu bid%s", t + 1, cap, nb, nb == 1 ? "" : "s");
    if (got == 0) {
        printf(", none eligible: task dropped\n");
        ca_task_free(mk->task);
        mk->task = NULL;
        mk->refunded++;
        return 0;
    }
    size_t w = 0;
    while (memcmp(&bids[w].agent, &best[0].agent, sizeof best[0].agent) != 0)
        w++;
    char name[CA_CARD_NAME_MAX + 1];
    size_t nl = 0;
    if (ca_routing_name(mk->rt, &best[0].agent, name, sizeof name, &nl) != CA_OK)
        (void)snprintf(name, sizeof name, "?");
    printf(", award -> %-6s (score %.2f, %" PRIu64 " cr)", name, (double)best[0].score / 1e6,
           bids[w].price);

    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    aw.task = task_id;
    aw.bid = bid_ids[w];
    aw.worker = bids[w].agent;
    aw.price = bids[w].price;
    aw.collateral = COLLATERAL;
    aw.deadline = bid_done[w];
    env_params(&ep, now_ms());
    TRY("market", ca_task_award_sign(mk->hirer.id, &ep, &aw, out, sizeof out, &len, &mk->award_id),
        "award");
    TRY("market", ca_envelope_decode(&env, out, len, NULL), "award decode");
    st = ca_task_apply(mk->task, env, now_ms());
    ca_task_msg *award_msg = NULL;
    if (st == CA_OK)
        st = ca_task_msg_parse(&award_msg, env, NULL);
    mk->escrow.version = CA_LEDGER_OP_VERSION; /* the layout this program was built with */
    if (st == CA_OK) /* the escrow the worker will consent to: derived from the award alike */
        st = ca_ledger_op_escrow_open(&mk->escrow, award_msg);
    ca_task_msg_free(award_msg);
    ca_envelope_free(env);
    TRY("market", st, "award apply");
    mk->worker = aw.worker;
    mk->price = aw.price;
    mk->deadline = aw.deadline;
    mk->escrow_open = 0;
    if (publish_env(mk, &aw.worker, out, len))
        return 1;

    /* Results until the deadline; after the first, a short window shows equivocation. */
    int results = 0;
    uint64_t slashed = 0;
    ca_hash res_id;
    uint64_t stop = aw.deadline + 500;
    for (;;) {
        natsMsg *m = pump(mk, stop);
        if (m == NULL)
            break;
        st = apply_msg(mk, m, &env);
        if (st == CA_OK && ca_envelope_kind(env) == CA_KIND_TASK_RESULT) {
            results++;
            ca_envelope_id(env, &res_id);
            stop = now_ms() + 300;
        } else if (st == CA_ERR_TASK_EQUIVOCATION) {
            uint8_t ev[8192];
            size_t ev_len = 0;
            ca_agent_id offender;
            ca_hash offense;
            ca_evidence *evo = NULL;
            TRY("market", ca_task_evidence(mk->task, env, ev, sizeof ev, &ev_len), "evidence");
            TRY("market", ca_evidence_open(&evo, ev, ev_len), "evidence verify");
            ca_evidence_offender(evo, &offender);
            ca_evidence_offense(evo, &offense); /* one slash per offense, whatever the pair */
            ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
            op.deadline = ca_evidence_deadline(evo); /* the offense time of the evidence window */
            ca_evidence_free(evo);
            op.type = CA_LEDGER_OP_SLASH;
            op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
            op.counterparty = offender;
            op.ref = offense;
            ca_ledger_account_info before = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION},
                                   after = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
            TRY("market", ca_ledger_account(mk->ledger, &offender, &before), "account");
            TRY("market", local_op_ev(mk, &mk->hirer, &op, ev, ev_len), "slash");
            /* The ledger applied the slash on verified evidence: reputation records
             * the offense under the same kind and ref. */
            TRY("market",
                ca_reputation_add_offense(mk->rep, op.evidence, &op.ref, &offender, now_ms()),
                "offense");
            TRY("market", ca_ledger_account(mk->ledger, &offender, &after), "account");
            TRY("market", sync_stakes(mk), "stake");
            slashed = before.bonded - after.bonded;
            results = -1;
        }
        ca_envelope_free(env);
        natsMsg_Destroy(m);
        if (results < 0)
            break;
    }
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.ref = mk->award_id;
    if (results > 0) {
        if (receipt(mk, &task_id, 1, 90, &res_id))
            return 1;
        op.type = CA_LEDGER_OP_ESCROW_RELEASE;
        TRY("market", local_op(mk, &mk->hirer, &op), "release");
        TRY("market", ca_reputation_add_settled(mk->rep, mk->task, mk->ledger), "rating");
        mk->completed++;
        printf(", delivered, paid\n");
    } else if (results < 0) {
        if (receipt(mk, &task_id, 0, 0, &res_id))
            return 1;
        op.type = CA_LEDGER_OP_ESCROW_SPLIT;
        op.amount2 = COLLATERAL;
        TRY("market", local_op(mk, &mk->arbiter, &op), "split");
        /* As in examples/hire: the slashed stake buys the zero rating its weight. */
        TRY("market",
            ca_reputation_add_rating(mk->rep, &task_id, &mk->hirer.pk, &mk->worker, 0, slashed,
                                     now_ms()),
            "rating");
        mk->slashed++;
        printf(", two different results: EQUIVOCATION, %" PRIu64 " cr slashed, escrow split\n",
               slashed);
    } else {
        printf(", no result by the deadline\n");
        mk->refunded++;
        if (mk->escrow_open) {
            op.type = CA_LEDGER_OP_SLASH;
            op.evidence = CA_LEDGER_EVIDENCE_MISSED_DEADLINE;
            op.counterparty = mk->worker;
            TRY("market", local_op(mk, &mk->hirer, &op), "slash");
            TRY("market",
                ca_reputation_add_offense(mk->rep, op.evidence, &op.ref, &mk->worker, now_ms()),
                "offense");
            TRY("market", sync_stakes(mk), "stake");
            memset(&op, 0, sizeof op);
            op.version = CA_LEDGER_OP_VERSION;
            op.ref = mk->award_id;
            op.type = CA_LEDGER_OP_ESCROW_REFUND;
            TRY("market", local_op(mk, &mk->hirer, &op), "refund");
        }
    }
    ca_task_free(mk->task);
    mk->task = NULL;
    /* Scores move; routing sees them at the next award. Stakes as of now come from
     * the ledger (0 while jailed). */
    uint64_t done = now_ms();
    TRY("market", ca_reputation_sync_stakes(mk->rep, mk->ledger, done), "reputation stakes");
    TRY("market", ca_reputation_update(mk->rep, done, NULL), "reputation");
    TRY("market", ca_routing_sync_reputation(mk->rt, mk->rep), "routing reputation");
    return 0;
}

static int run_market(const char *url, uint64_t seed, uint32_t workers, uint32_t tasks)
{
    market mk;
    memset(&mk, 0, sizeof mk);
    TRY("market", identity(seed, 0, &mk.hirer.id, &mk.hirer.pk), "identity");
    TRY("market", identity(seed, 1000000001u, &mk.authority.id, &mk.authority.pk), "identity");
    TRY("market", identity(seed, 1000000002u, &mk.arbiter.id, &mk.arbiter.pk), "identity");
    inbox_of(&mk.hirer.pk, mk.inbox, sizeof mk.inbox);
    TRY("market", ledger_options(seed, &mk.lo), "ledger options");
    TRY("market", ca_ledger_new(&mk.ledger, &mk.lo), "ledger");
    TRY("market", ca_ledger_id(mk.ledger, &mk.ledger_id), "ledger id");
    TRY("market", ca_reputation_new(&mk.rep, NULL), "reputation");
    ca_routing_options ro;
    (void)ca_routing_options_init(&ro, CA_ROUTING_OPTIONS_VERSION);
    ca_routing_weights rw;
    (void)ca_routing_weights_init(&rw, CA_ROUTING_WEIGHTS_VERSION);
    rw.price_ref = 50;
    rw.stake_ref = 2000;
    ro.weights = &rw;
    TRY("market", ca_routing_new(&mk.rt, &ro), "routing");
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    op.counterparty = mk.hirer.pk;
    op.amount = 1000u + (uint64_t)MAX_PRICE * tasks;
    TRY("market", local_op(&mk, &mk.authority, &op), "mint");

    NTRY("market", natsConnection_ConnectTo(&mk.nc, url), "connect");
    NTRY("market", natsConnection_SubscribeSync(&mk.s_join, mk.nc, "ca.join"), "subscribe");
    NTRY("market", natsConnection_SubscribeSync(&mk.s_ledger, mk.nc, "ca.ledger"), "subscribe");
    NTRY("market", natsConnection_SubscribeSync(&mk.s_consent, mk.nc, "ca.consent"), "subscribe");
    NTRY("market", natsConnection_SubscribeSync(&mk.s_deliver, mk.nc, "ca.deliver"), "subscribe");
    NTRY("market", natsConnection_SubscribeSync(&mk.s_inbox, mk.nc, mk.inbox), "subscribe");
    NTRY("market", natsConnection_Flush(mk.nc), "flush");
    printf("market %s: waiting for %u workers\n", mk.inbox, workers);
    fflush(stdout);
    uint64_t until = now_ms() + 20000;
    while ((mk.joined < workers || mk.bonded < workers) && now_ms() < until) {
        natsMsg *m = pump(&mk, now_ms() + 100);
        natsMsg_Destroy(m); /* nothing is due in the inbox yet */
    }
    int rc = mk.bonded < workers;
    if (rc)
        fprintf(stderr, "cyberagent-nats market: only %u of %u workers joined\n", mk.bonded,
                workers);
    for (uint32_t t = 0; rc == 0 && t < tasks; t++) {
        rc = one_task(&mk, t, workers);
        fflush(stdout);
    }
    (void)natsConnection_PublishString(mk.nc, "ca.done", "done");
    (void)natsConnection_Flush(mk.nc);
    ca_ledger_totals tot = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(mk.ledger, &tot);
    ca_status chk = ca_ledger_check(mk.ledger);
    printf("market: %u completed, %u slashed, %u unfinished; ledger check %s, %" PRIu64
           " cr in open escrows, %" PRIu64 " ledger ops\n",
           mk.completed, mk.slashed, mk.refunded, ca_status_str(chk), tot.escrowed, tot.seq);
    if (chk != CA_OK || tot.escrowed != 0 || mk.completed + mk.slashed + mk.refunded != tasks)
        rc = 1;
    natsSubscription_Destroy(mk.s_join);
    natsSubscription_Destroy(mk.s_ledger);
    natsSubscription_Destroy(mk.s_consent);
    natsSubscription_Destroy(mk.s_deliver);
    natsSubscription_Destroy(mk.s_inbox);
    natsConnection_Destroy(mk.nc);
    ca_ledger_free(mk.ledger);
    ca_reputation_free(mk.rep);
    ca_routing_free(mk.rt);
    ca_identity_free(mk.hirer.id);
    ca_identity_free(mk.authority.id);
    ca_identity_free(mk.arbiter.id);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: cyberagent-nats market --url URL [--workers N] [--tasks M] [--seed S]\n"
                    "       cyberagent-nats worker --url URL --index I [--seed S] [--cheat]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *url = NULL;
    uint64_t seed = 1;
    long workers = 3, tasks = 6, index = -1;
    int cheat = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--cheat") == 0) {
            cheat = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        i++;
        if (strcmp(a, "--url") == 0)
            url = v;
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--workers") == 0)
            workers = strtol(v, NULL, 10);
        else if (strcmp(a, "--tasks") == 0)
            tasks = strtol(v, NULL, 10);
        else if (strcmp(a, "--index") == 0)
            index = strtol(v, NULL, 10);
        else
            return usage();
    }
    if (url == NULL || ca_init() != CA_OK)
        return usage();
    int rc;
    if (strcmp(argv[1], "market") == 0 && workers > 0 && workers <= 64 && tasks >= 0 &&
        tasks <= 100000)
        rc = run_market(url, seed, (uint32_t)workers, (uint32_t)tasks);
    else if (strcmp(argv[1], "worker") == 0 && index >= 0 && index < 64)
        rc = run_worker(url, seed, (int)index, cheat);
    else
        rc = usage();
    nats_Close();
    return rc;
}
