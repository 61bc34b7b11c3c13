/*
 * The hiring story over the public API (see story.h). One function per step of
 * a hire; every message is signed by its author and verified by its reader:
 * envelopes through ca_envelope_open / ca_task_new / ca_task_apply, ledger
 * ops through ca_ledger_submit.
 */
#include "story.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH_MS         1767225600000ull /* 2026-01-01T00:00:00Z: the story's t = 0 */
#define MAX_PRICE        100u             /* every request's price ceiling, cr */
#define COLLATERAL       20u              /* collateral every request asks the worker to lock */
#define REQ_WINDOW       60000u           /* ms from request to its deadline */
#define BID_SLACK        5000u            /* ms a worker adds to its latency bound when promising */
#define TASK_GAP         4000u            /* ms between two requests */
#define TTL              3600000u         /* envelope lifetime, ms */
#define CARD_LIFETIME_MS (365ull * 86400000ull) /* agent cards: valid for a year */
#define JAIL_EQUIV       3600000u /* ms an equivocator may not bond or take escrow work */
#define CAP_POOL         6u
#define NO_AGENT         (-1)
#define ENV_BUF          4096u
#define EVIDENCE_BUF     8192u

static const char *const cap_pool[CAP_POOL] = {"llm.translate.en-fr", "code.review.c",
                                               "llm.summarize",       "image.caption",
                                               "speech.transcribe",   "data.clean.csv"};
static const char *const names[] = {"alice", "bob",   "carol", "dave",  "erin",  "frank",
                                    "grace", "heidi", "ivan",  "judy",  "ken",   "liam",
                                    "mia",   "nina",  "oscar", "peggy", "quinn", "rupert"};
#define NAMES_N (sizeof names / sizeof names[0])

typedef struct party {
    ca_identity *id;
    ca_agent_id pk;
    uint64_t nonce; /* last ledger nonce used */
} party;

typedef struct agent {
    party p;
    char name[16];
    int role;
    uint32_t caps[3], ncaps;
    uint64_t price[3];
    uint32_t latency[3];
    uint64_t stake;
    uint32_t quality;
    uint32_t won, completed, offences, won_after_offence;
    uint64_t slashed;
    uint32_t rep_ppm; /* what routing holds */
} agent;

enum { OUT_NONE = 0, OUT_COMPLETED, OUT_REFUNDED, OUT_SLASHED };

typedef struct task_record {
    uint8_t outcome;
    uint8_t state; /* final ca_task_state */
    uint8_t has_escrow;
    ca_hash award;
    ca_hash digest;
} task_record;

struct hire_story {
    hire_config cfg;
    uint32_t n, hirers, workers, ncaps;
    agent *ag;
    party authority, arbiter;
    ca_ledger *ledger;
    ca_reputation *rep;
    ca_routing *rt;
    uint32_t **cap_workers; /* per capability: worker agent indices */
    uint32_t *cap_count;
    char cap_names[64][CA_CAPABILITY_MAX + 1];
    task_record *rec;
    uint32_t done, settled_since_update;
    int stakes_stale;    /* a slash since routing last read the ledger's stakes */
    uint64_t release_at; /* earliest end of a jail that routing still reads as 0 */
    uint64_t now;        /* absolute ms */
    uint64_t rng;
    uint64_t last_slash; /* stake taken by the latest slash */
    /* Submitted with the next op, or NULL: equivocation evidence, or a DELIVER's RESULT. */
    const uint8_t *attach;
    size_t attach_len;
    unsigned attach_sigs;      /* signatures the ledger checks in it */
    uint64_t attach_sig_bytes; /* and the bytes they cover */
    unsigned ev_sigs;          /* signatures one check of equivocation evidence verifies */
    uint64_t ev_sig_bytes;     /* and the bytes they cover */
    uint64_t signs, verifies, sign_bytes, verify_bytes, messages;
    ca_ledger_options lopts;
    ca_hash ledger_id; /* what every signed ledger op names */
    uint8_t buf[8][ENV_BUF];
};

/* ------------------------------------------------------------------ helpers */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rnd(hire_story *s, uint32_t below)
{
    return below ? (uint32_t)(splitmix(&s->rng) % below) : 0;
}

static ca_status fail(ca_status st, const char *what)
{
    fprintf(stderr, "cyberagent-hire: %s: %s: %s\n", what, ca_status_str(st), ca_last_error());
    return st;
}

#define TRY(call, what)                                                                            \
    do {                                                                                           \
        ca_status st_ = (call);                                                                    \
        if (st_ != CA_OK)                                                                          \
            return fail(st_, what);                                                                \
    } while (0)

static void emit(hire_story *s, hire_event *ev)
{
    ev->time_ms = s->now - EPOCH_MS;
    if (ev->agent >= 0)
        memcpy(ev->agent_name, s->ag[ev->agent].name, sizeof ev->agent_name);
    if (ev->other >= 0)
        memcpy(ev->other_name, s->ag[ev->other].name, sizeof ev->other_name);
    if (s->cfg.on_event != NULL)
        s->cfg.on_event(ev, s->cfg.ctx);
}

static void ev_init(hire_event *ev, hire_event_kind kind, int32_t task, int32_t who, int32_t other)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->task = task;
    ev->agent = who;
    ev->other = other;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int same_id(const ca_agent_id *a, const ca_agent_id *b)
{
    return memcmp(a->bytes, b->bytes, CA_AGENT_ID_BYTES) == 0;
}

static ca_status party_init(party *p, uint64_t seed, uint64_t index)
{
    uint8_t sd[CA_SEED_BYTES];
    uint64_t x = seed ^ (0xA0761D6478BD642Full * (index + 1));
    for (size_t i = 0; i < CA_SEED_BYTES; i += 8) {
        uint64_t w = splitmix(&x);
        memcpy(sd + i, &w, 8);
    }
    ca_status st = ca_identity_from_seed(&p->id, sd);
    ca_wipe(sd, sizeof sd);
    if (st == CA_OK)
        ca_identity_id(p->id, &p->pk);
    p->nonce = 0;
    return st;
}

/* Envelope params for a task message created now. */
static void env_params(const hire_story *s, ca_envelope_params *ep)
{
    (void)ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION);
    ep->created_at = s->now;
    ep->expires_at = s->now + TTL;
}

static void count_sign(hire_story *s, size_t signed_len)
{
    s->signs++;
    s->sign_bytes += signed_len;
    s->messages++;
}

static void count_verify(hire_story *s, size_t signed_len, unsigned times)
{
    s->verifies += times;
    s->verify_bytes += (uint64_t)signed_len * times;
}

/* Bytes an envelope signature covers: the encoding without the signature. */
static size_t env_signed_len(size_t env_len)
{
    return env_len > CA_SIGNATURE_BYTES ? env_len - CA_SIGNATURE_BYTES : env_len;
}

/* Signs a ledger op for this ledger as `signer` (cosigned by `cosigner` for
 * ESCROW_OPEN) and submits it, with s->attach when set: the ledger checks the
 * signatures (and the attachment's) before applying. */
static ca_status ledger_do(hire_story *s, party *signer, const party *cosigner, ca_ledger_op *op)
{
    uint8_t msg[CA_LEDGER_OP_MAX_BYTES];
    size_t len = 0;
    op->signer = signer->pk;
    op->nonce = signer->nonce + 1;
    ca_status st = ca_ledger_op_sign(&s->ledger_id, op, signer->id, cosigner ? cosigner->id : NULL,
                                     msg, sizeof msg, &len);
    if (st == CA_OK)
        st = s->attach != NULL ? ca_ledger_submit_evidence(s->ledger, msg, len, s->attach,
                                                           s->attach_len, s->now, NULL)
                               : ca_ledger_submit(s->ledger, msg, len, s->now, NULL);
    if (st != CA_OK)
        return st;
    signer->nonce++;
    if (s->attach != NULL) { /* the ledger checks the attachment's signatures too */
        s->verifies += s->attach_sigs;
        s->verify_bytes += s->attach_sig_bytes;
    }
    unsigned sigs = cosigner ? 2u : 1u;
    /* The signatures cover the op without its signature fields (key, bin8 header and 64
     * bytes each: docs/LEDGER.md) after the domain tag and the ledger id. */
    size_t enc = len - sigs * (3 + CA_SIGNATURE_BYTES) + 22 + CA_HASH_BYTES;
    count_sign(s, enc);
    if (cosigner) {
        s->signs++;
        s->sign_bytes += enc;
    }
    count_verify(s, enc, sigs);
    return CA_OK;
}

static ca_status account(const hire_story *s, const ca_agent_id *id, ca_ledger_account_info *out)
{
    return ca_ledger_account(s->ledger, id, out);
}

/* Routing reads every worker's stake from the ledger as of now (bonded +
 * unbonding, 0 while jailed) whenever one can have changed since it last did:
 * after a slash, and once a jail ends. (Reading them before every ranking is
 * just as right; this saves the O(agents) pass on most hires.) */
static ca_status sync_stakes(hire_story *s)
{
    if (!s->stakes_stale && s->now < s->release_at)
        return CA_OK;
    TRY(ca_routing_sync_stakes(s->rt, s->ledger, s->now), "routing stakes");
    s->stakes_stale = 0;
    s->release_at = UINT64_MAX;
    for (uint32_t i = 0; i < s->n; i++) {
        ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
        if (account(s, &s->ag[i].p.pk, &a) == CA_OK && a.jailed_until > s->now &&
            a.jailed_until < s->release_at)
            s->release_at = a.jailed_until;
    }
    return CA_OK;
}

/* Recomputes scores; routing reads every worker's reputation from them (the Beta
 * expected value in ppm, the evidence for exploration). Every agent's stake for
 * the teleport comes from the ledger as of now: bonded + unbonding, 0 while
 * jailed (a slashed agent teleports no trust until released). */
static ca_status sync_reputation(hire_story *s)
{
    TRY(ca_reputation_sync_stakes(s->rep, s->ledger, s->now), "reputation stakes");
    TRY(ca_reputation_update(s->rep, s->now, NULL), "reputation update");
    TRY(ca_routing_sync_reputation(s->rt, s->rep), "routing reputation");
    for (uint32_t i = 0; i < s->n; i++) {
        ca_routing_agent_info info = {.version = CA_ROUTING_AGENT_INFO_VERSION};
        if (s->ag[i].role != HIRE_HIRER) {
            TRY(ca_routing_get(s->rt, &s->ag[i].p.pk, &info), "routing agent");
            s->ag[i].rep_ppm = info.reputation_ppm;
        }
    }
    s->settled_since_update = 0;
    return CA_OK;
}

static ca_status settled(hire_story *s)
{
    if (++s->settled_since_update >= s->cfg.rep_every)
        return sync_reputation(s);
    return CA_OK;
}

/* ------------------------------------------------------------------- setup */

void hire_config_default(hire_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->agents = 12;
    cfg->tasks = 30;
    cfg->seed = 1;
    cfg->cheaters = 1;
    cfg->max_bidders = 6;
    cfg->rep_every = 1;
    cfg->explore = 1;
}

static ca_status make_card(hire_story *s, uint32_t i)
{
    agent *a = &s->ag[i];
    ca_card_capability caps[3];
    for (uint32_t c = 0; c < a->ncaps; c++)
        caps[c] = (ca_card_capability){s->cap_names[a->caps[c]], a->price[c], a->latency[c]};
    char endpoint[64];
    (void)snprintf(endpoint, sizeof endpoint, "agents.%s.inbox", a->name);
    ca_card_params cp;
    (void)ca_card_params_init(&cp, CA_CARD_PARAMS_VERSION);
    cp.name = a->name;
    cp.description = a->role == HIRE_HIRER ? "hires other agents" : "works for hire";
    cp.endpoint = endpoint;
    cp.stake = a->stake;
    cp.not_before = EPOCH_MS;
    cp.not_after = EPOCH_MS + CARD_LIFETIME_MS;
    cp.sequence = 1;
    cp.capabilities = caps;
    cp.capability_size = sizeof(ca_card_capability);
    cp.capability_count = a->ncaps;
    cp.created_at = s->now;
    size_t len = 0;
    TRY(ca_card_sign(a->p.id, &cp, s->buf[0], ENV_BUF, &len, NULL), "card sign");
    count_sign(s, env_signed_len(len));
    /* The registry takes only a verified card; this host accepts cards valid for a year
     * (an envelope's default maximum lifetime is a day). */
    ca_envelope_options eo;
    TRY(ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION), "card options");
    eo.max_lifetime_ms = CARD_LIFETIME_MS;
    ca_card *card = NULL;
    TRY(ca_card_open(&card, s->buf[0], len, s->now, &eo), "card open");
    count_verify(s, env_signed_len(len), 1);
    ca_status st = ca_routing_add_card(s->rt, card, s->now);
    ca_card_free(card);
    TRY(st, "routing add card");
    return CA_OK;
}

static ca_status setup(hire_story *s)
{
    const hire_config *c = &s->cfg;
    s->n = c->agents;
    s->hirers = c->first_hirers ? c->first_hirers : (s->n <= 20 ? 1u : s->n / 20u);
    s->workers = s->n - s->hirers;
    s->ncaps = s->workers < 60 ? s->workers / 2 : s->workers / 15;
    if (s->ncaps < 2)
        s->ncaps = 2;
    if (s->ncaps > 64)
        s->ncaps = 64;
    for (uint32_t k = 0; k < s->ncaps; k++) {
        if (k < CAP_POOL)
            (void)snprintf(s->cap_names[k], sizeof s->cap_names[k], "%s", cap_pool[k]);
        else
            (void)snprintf(s->cap_names[k], sizeof s->cap_names[k], "svc.kind-%u", k);
    }
    s->rng = c->seed ^ 0x5DEECE66Dull;
    s->now = EPOCH_MS;

    s->ag = calloc(s->n, sizeof *s->ag);
    s->rec = calloc(c->tasks ? c->tasks : 1, sizeof *s->rec);
    s->cap_workers = calloc(s->ncaps, sizeof *s->cap_workers);
    s->cap_count = calloc(s->ncaps, sizeof *s->cap_count);
    if (!s->ag || !s->rec || !s->cap_workers || !s->cap_count)
        return fail(CA_ERR_NO_MEMORY, "story allocation");
    for (uint32_t k = 0; k < s->ncaps; k++)
        if ((s->cap_workers[k] = malloc(s->workers * sizeof(uint32_t))) == NULL)
            return fail(CA_ERR_NO_MEMORY, "story allocation");

    TRY(party_init(&s->authority, c->seed, 1000000001u), "authority identity");
    TRY(party_init(&s->arbiter, c->seed, 1000000002u), "arbiter identity");

    /* Agents: hirers first, then workers; the first two workers cheat. */
    int cheat = c->cheaters && s->workers >= 5;
    for (uint32_t i = 0; i < s->n; i++) {
        agent *a = &s->ag[i];
        TRY(party_init(&a->p, c->seed, i), "agent identity");
        uint32_t j = i - s->hirers; /* worker number when i >= hirers */
        a->role = i < s->hirers       ? HIRE_HIRER
                  : (cheat && j == 0) ? HIRE_EQUIVOCATOR
                  : (cheat && j == 1) ? HIRE_LATECOMER
                                      : HIRE_WORKER;
        if (a->role == HIRE_EQUIVOCATOR)
            (void)snprintf(a->name, sizeof a->name, "eve");
        else if (a->role == HIRE_LATECOMER)
            (void)snprintf(a->name, sizeof a->name, "mallory");
        else if (i < NAMES_N)
            (void)snprintf(a->name, sizeof a->name, "%s", names[i]);
        else
            (void)snprintf(a->name, sizeof a->name, "%s%u", a->role == HIRE_HIRER ? "h" : "w", i);
        if (a->role == HIRE_HIRER) {
            a->caps[0] = 0;
            a->ncaps = 1;
            a->price[0] = MAX_PRICE;
            a->latency[0] = 0;
            continue;
        }
        int cheater = a->role != HIRE_WORKER;
        a->caps[0] = j % s->ncaps;
        a->caps[1] = (j + 1) % s->ncaps;
        a->ncaps = 2;
        if (j % 2 == 0 && s->ncaps > 3)
            a->caps[a->ncaps++] = (j + 3) % s->ncaps;
        for (uint32_t k = 0; k < a->ncaps; k++) {
            a->price[k] = cheater ? 24u + rnd(s, 6) : 40u + rnd(s, 40);
            a->latency[k] = 400u + rnd(s, 2600);
            s->cap_workers[a->caps[k]][s->cap_count[a->caps[k]]++] = i;
        }
        a->stake = cheater ? 3000u : 1000u + 100u * rnd(s, 31);
        a->quality = cheater ? 92u : 75u + rnd(s, 24);
    }

    (void)ca_ledger_options_init(&s->lopts, CA_LEDGER_OPTIONS_VERSION);
    s->lopts.authority = s->authority.pk;
    s->lopts.arbiter = s->arbiter.pk;
    s->lopts.unbonding_delay = 7ull * 86400000ull; /* ms, like every time in the story */
    s->lopts.slash_equivocation_ppm = 300000;
    s->lopts.slash_missed_deadline_ppm = 100000;
    s->lopts.slash_dispute_ppm = 100000;
    s->lopts.reporter_share_ppm = 100000;
    s->lopts.victim_share_ppm = 400000;
    s->lopts.jail_equivocation = JAIL_EQUIV;
    s->lopts.jail_missed_deadline = 0;
    s->lopts.jail_dispute = 0;
    s->lopts.initial_accounts = s->n + 2;
    TRY(ca_ledger_new(&s->ledger, &s->lopts), "ledger");
    TRY(ca_ledger_id(s->ledger, &s->ledger_id), "ledger id");

    ca_reputation_options ro;
    (void)ca_reputation_options_init(&ro, CA_REPUTATION_OPTIONS_VERSION);
    TRY(ca_reputation_new(&s->rep, &ro), "reputation");
    TRY(ca_reputation_reserve(s->rep, s->n, c->tasks), "reputation reserve");

    ca_routing_options rto;
    (void)ca_routing_options_init(&rto, CA_ROUTING_OPTIONS_VERSION);
    rto.expected_agents = s->n;
    ca_routing_weights rtw;
    (void)ca_routing_weights_init(&rtw, CA_ROUTING_WEIGHTS_VERSION);
    rtw.price_ref = 50;
    rtw.stake_ref = 2000;
    rto.weights = &rtw;
    TRY(ca_routing_new(&s->rt, &rto), "routing");

    uint64_t hirer_funds = 1000u + (uint64_t)MAX_PRICE * (c->tasks / s->hirers + 1);
    for (uint32_t i = 0; i < s->n; i++) {
        agent *a = &s->ag[i];
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        op.counterparty = a->p.pk;
        op.amount = a->role == HIRE_HIRER ? hirer_funds : 5000u;
        TRY(ledger_do(s, &s->authority, NULL, &op), "mint");
        if (a->role != HIRE_HIRER) {
            memset(&op, 0, sizeof op);
            op.version = CA_LEDGER_OP_VERSION;
            op.type = CA_LEDGER_OP_BOND;
            op.amount = a->stake;
            TRY(ledger_do(s, &a->p, NULL, &op), "bond");
            TRY(make_card(s, i), "card");
            a->rep_ppm = 500000;
        }
        /* Registers the agent with reputation; its stake is read from the ledger. */
        TRY(ca_reputation_set_stake(s->rep, &a->p.pk, 0), "reputation agent");
        hire_event ev;
        ev_init(&ev, HIRE_EV_AGENT, 0, (int32_t)i, NO_AGENT);
        ev.amount = op.amount;
        ev.amount2 = a->role == HIRE_HIRER ? 0 : a->stake;
        size_t off = 0;
        for (uint32_t k = 0; a->role != HIRE_HIRER && k < a->ncaps; k++) {
            int w = snprintf(ev.text + off, sizeof ev.text - off, "%s%s %" PRIu64 " cr",
                             k ? ", " : "", s->cap_names[a->caps[k]], a->price[k]);
            if (w < 0 || (size_t)w >= sizeof ev.text - off)
                break;
            off += (size_t)w;
        }
        emit(s, &ev);
    }
    s->stakes_stale = 1;
    TRY(sync_stakes(s), "routing stakes");
    TRY(sync_reputation(s), "reputation");
    return CA_OK;
}

ca_status hire_story_new(hire_story **out, const hire_config *cfg)
{
    *out = NULL;
    if (cfg->agents < 4 || cfg->agents > 1000000 || cfg->rep_every == 0 || cfg->max_bidders == 0)
        return CA_ERR_INVALID_ARGUMENT;
    hire_story *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CA_ERR_NO_MEMORY;
    s->cfg = *cfg;
    ca_status st = setup(s);
    if (st != CA_OK) {
        hire_story_free(s);
        return st;
    }
    *out = s;
    return CA_OK;
}

void hire_story_free(hire_story *s)
{
    if (s == NULL)
        return;
    for (uint32_t i = 0; s->ag && i < s->n; i++)
        ca_identity_free(s->ag[i].p.id);
    for (uint32_t k = 0; s->cap_workers && k < s->ncaps; k++)
        free(s->cap_workers[k]);
    ca_identity_free(s->authority.id);
    ca_identity_free(s->arbiter.id);
    ca_ledger_free(s->ledger);
    ca_reputation_free(s->rep);
    ca_routing_free(s->rt);
    free(s->ag);
    free(s->rec);
    free(s->cap_workers);
    free(s->cap_count);
    free(s);
}

/* -------------------------------------------------------------- one hire */

typedef struct hire {
    uint32_t num; /* 1-based */
    uint32_t cap, hirer;
    ca_task *task;
    ca_hash task_id;
    uint8_t *req;
    size_t req_len;
    uint32_t bidders[64], nbids;
    ca_hash bid_ids[64];
    uint64_t bid_price[64];
    int32_t worker, runner;
    ca_hash award_id;
    uint64_t price, deadline, awarded_at;
} hire;

/* Decodes `data` and applies it to the hirer's thread (which verifies it). */
static ca_status thread_apply(hire_story *s, hire *h, const uint8_t *data, size_t len,
                              ca_envelope **keep)
{
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, data, len, NULL);
    if (st == CA_OK) {
        st = ca_task_apply(h->task, env, s->now);
        count_verify(s, env_signed_len(len), 1);
    }
    if (keep != NULL && env != NULL)
        *keep = env;
    else
        ca_envelope_free(env);
    return st;
}

static ca_status post_request(hire_story *s, hire *h)
{
    agent *hr = &s->ag[h->hirer];
    char input[96];
    int w = snprintf(input, sizeof input, "task %u for %s: please do your best", h->num,
                     s->cap_names[h->cap]);
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    rq.capability = s->cap_names[h->cap];
    const ca_task_content in = {.version = CA_TASK_CONTENT_VERSION,
                                .data = (const uint8_t *)input,
                                .data_len = w > 0 ? (size_t)w : 0};
    rq.input = &in;
    rq.max_price = MAX_PRICE;
    rq.deadline = s->now + REQ_WINDOW;
    rq.collateral = COLLATERAL;
    ca_envelope_params ep;
    env_params(s, &ep);
    h->req = s->buf[0];
    TRY(ca_task_request_sign(hr->p.id, &ep, &rq, h->req, ENV_BUF, &h->req_len, &h->task_id),
        "request sign");
    count_sign(s, env_signed_len(h->req_len));
    /* The hirer's own thread starts from the verified request. */
    TRY(ca_task_new_bytes(&h->task, h->req, h->req_len, s->now, NULL), "task new");
    count_verify(s, env_signed_len(h->req_len), 1);
    hire_event ev;
    ev_init(&ev, HIRE_EV_REQUEST, (int32_t)h->num, (int32_t)h->hirer, NO_AGENT);
    (void)snprintf(ev.text, sizeof ev.text, "%s", rq.capability);
    ev.amount = rq.max_price;
    ev.amount2 = rq.collateral;
    ev.amount3 = REQ_WINDOW;
    emit(s, &ev);
    return CA_OK;
}

static int eligible(hire_story *s, uint32_t i)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    if (account(s, &s->ag[i].p.pk, &a) != CA_OK)
        return 0;
    return a.jailed_until <= s->now && a.balance >= COLLATERAL;
}

static int cap_slot(const agent *a, uint32_t cap)
{
    for (uint32_t k = 0; k < a->ncaps; k++)
        if (a->caps[k] == cap)
            return (int)k;
    return -1;
}

/* Each bidder verifies and reads the request, then signs a BID at its card price. */
static ca_status collect_bids(hire_story *s, hire *h)
{
    s->now += 100;
    uint32_t cnt = s->cap_count[h->cap], *list = s->cap_workers[h->cap];
    uint32_t max = s->cfg.max_bidders < 64 ? s->cfg.max_bidders : 64;
    uint32_t start = rnd(s, cnt);
    h->nbids = 0;
    /* Cheaters are eager: they bid whenever they can. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < cnt && h->nbids < max; k++) {
            uint32_t i = list[(start + k) % cnt];
            int eager = s->ag[i].role == HIRE_EQUIVOCATOR || s->ag[i].role == HIRE_LATECOMER;
            if ((pass == 0) != eager || !eligible(s, i))
                continue;
            h->bidders[h->nbids++] = i;
        }
    char *txt = NULL;
    hire_event ev;
    ev_init(&ev, HIRE_EV_BIDS, (int32_t)h->num, NO_AGENT, (int32_t)h->hirer);
    txt = ev.text;
    size_t off = 0;
    for (uint32_t b = 0; b < h->nbids; b++) {
        agent *a = &s->ag[h->bidders[b]];
        int k = cap_slot(a, h->cap);
        uint64_t price = a->price[k], completion = s->now + a->latency[k] + BID_SLACK;
        /* The bidder verifies the request, checks its terms and answers it. */
        ca_task_msg *msg = NULL;
        ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
        ca_envelope_params ep;
        env_params(s, &ep);
        size_t len = 0;
        ca_status st = ca_task_msg_open(&msg, h->req, h->req_len, s->now, NULL);
        if (st == CA_OK)
            st = ca_task_msg_request(msg, &rq);
        if (st == CA_OK && (price > rq.max_price || completion > rq.deadline))
            st = CA_ERR_TASK_TERMS;
        if (st == CA_OK)
            st = ca_task_bid_reply(a->p.id, &ep, msg, price, completion, s->buf[1], ENV_BUF, &len,
                                   &h->bid_ids[b]);
        ca_task_msg_free(msg);
        TRY(st, "bid");
        count_verify(s, env_signed_len(h->req_len), 1);
        count_sign(s, env_signed_len(len));
        h->bid_price[b] = price;
        TRY(thread_apply(s, h, s->buf[1], len, NULL), "hirer applies bid");
        if (s->cfg.on_event == NULL)
            continue; /* text only for a listener */
        int w = snprintf(txt + off, sizeof ev.text - off, "%s%s %" PRIu64, b ? ", " : "", a->name,
                         price);
        if (w > 0 && (size_t)w < sizeof ev.text - off)
            off += (size_t)w;
    }
    ev.amount = h->nbids;
    if (h->nbids > 0)
        emit(s, &ev);
    return CA_OK;
}

static void explain(const ca_routing_result *r, char *out, size_t cap)
{
    (void)snprintf(
        out, cap, "score %.2f = price %.2f + reputation %.2f + stake %.2f + latency %.2f",
        (double)r->score / 1e6, (double)r->price_term / 1e6, (double)r->reputation_term / 1e6,
        (double)r->stake_term / 1e6, (double)r->latency_term / 1e6);
}

/* Routing ranks the bids (bid price in place of the card's, the worker's
 * verified card, reputation and ledger stake); the best one wins. */
static ca_status choose(hire_story *s, hire *h, uint32_t *bid_index)
{
    ca_routing_query q;
    (void)ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION);
    q.capability = s->cap_names[h->cap];
    q.capability_len = strlen(q.capability);
    q.now = s->now;
    q.max_price = MAX_PRICE;
    q.thompson = s->cfg.explore;
    q.seed = splitmix(&s->rng);
    ca_routing_bid bids[64];
    for (uint32_t b = 0; b < h->nbids; b++) {
        bids[b].agent = s->ag[h->bidders[b]].p.pk;
        bids[b].price = h->bid_price[b];
        bids[b].latency_ms = 0; /* the card's bound */
    }
    TRY(sync_stakes(s), "routing stakes");
    ca_routing_result best[2];
    size_t got = 0;
    TRY(ca_routing_rank_bids(s->rt, &q, bids, sizeof(ca_routing_bid), h->nbids, best,
                             sizeof(ca_routing_result), 2, &got),
        "routing rank bids");
    if (got == 0)
        return fail(CA_ERR_NOT_FOUND, "no eligible bid");
    hire_event ev;
    ev_init(&ev, HIRE_EV_AWARD, (int32_t)h->num, NO_AGENT, NO_AGENT);
    h->runner = NO_AGENT;
    for (uint32_t b = 0; b < h->nbids; b++) {
        if (same_id(&best[0].agent, &bids[b].agent)) {
            *bid_index = b;
            h->worker = (int32_t)h->bidders[b];
        }
        if (got > 1 && same_id(&best[1].agent, &bids[b].agent))
            h->runner = (int32_t)h->bidders[b];
    }
    if (s->cfg.on_event != NULL)
        explain(&best[0], ev.text, sizeof ev.text);
    ev.amount = (uint64_t)best[0].score;
    ev.amount2 = got > 1 ? (uint64_t)best[1].score : 0;
    ev.agent = h->worker;
    ev.other = h->runner;
    emit(s, &ev);
    return CA_OK;
}

static ca_status award(hire_story *s, hire *h)
{
    s->now += 100;
    uint32_t b = 0;
    TRY(choose(s, h, &b), "choose");
    agent *hr = &s->ag[h->hirer], *wk = &s->ag[h->worker];
    /* The award takes the bid's terms; the result is due at the bid's completion time. */
    ca_envelope_params ep;
    env_params(s, &ep);
    size_t len = 0;
    TRY(ca_task_award_reply(hr->p.id, &ep, ca_task_find(h->task, &h->bid_ids[b]), 0, s->buf[2],
                            ENV_BUF, &len, &h->award_id),
        "award sign");
    count_sign(s, env_signed_len(len));
    TRY(thread_apply(s, h, s->buf[2], len, NULL), "hirer applies award");
    h->awarded_at = s->now;
    wk->won++;
    if (wk->offences)
        wk->won_after_offence++;

    /* The worker checks the award before it consents to lock its collateral; the
     * escrow's terms are the award's. */
    ca_task_msg *got = NULL;
    TRY(ca_task_msg_open(&got, s->buf[2], len, s->now, NULL), "worker opens award");
    count_verify(s, env_signed_len(len), 1);
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    ca_status st = ca_ledger_op_escrow_open(&op, got);
    ca_task_msg_free(got);
    TRY(st, "escrow terms");
    h->price = op.amount;
    h->deadline = op.deadline;
    TRY(ledger_do(s, &hr->p, &wk->p, &op), "escrow open");
    s->rec[h->num - 1].has_escrow = 1;
    s->rec[h->num - 1].award = h->award_id;
    hire_event ev;
    ev_init(&ev, HIRE_EV_ESCROW, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = op.amount;
    ev.amount2 = op.amount2;
    emit(s, &ev);
    return CA_OK;
}

static ca_status sign_result(hire_story *s, hire *h, const char *output, uint8_t *out, size_t *len)
{
    const ca_task_content content = {
        CA_TASK_CONTENT_VERSION, (const uint8_t *)output, strlen(output), NULL, {{0}}};
    ca_envelope_params ep;
    env_params(s, &ep);
    TRY(ca_task_result_reply(s->ag[h->worker].p.id, &ep, ca_task_last(h->task, CA_KIND_TASK_AWARD),
                             &content, out, ENV_BUF, len, NULL),
        "result sign");
    count_sign(s, env_signed_len(*len));
    return CA_OK;
}

/* The worker records the RESULT the thread accepted (its signed bytes: `result`) on the
 * escrow; the ledger checks that it is the worker's RESULT for this award. */
static ca_status deliver(hire_story *s, hire *h, const uint8_t *result, size_t result_len)
{
    const ca_task_msg *rm = ca_task_last(h->task, CA_KIND_TASK_RESULT);
    if (rm == NULL)
        return fail(CA_ERR_STATE, "delivery without a result");
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    TRY(ca_ledger_op_escrow_deliver(&op, rm), "deliver op");
    s->attach = result;
    s->attach_len = result_len;
    s->attach_sigs = 1;
    s->attach_sig_bytes = env_signed_len(result_len);
    ca_status st = ledger_do(s, &s->ag[h->worker].p, NULL, &op);
    s->attach = NULL;
    TRY(st, "escrow deliver");
    return CA_OK;
}

static ca_status sign_receipt(hire_story *s, hire *h, int accept, uint32_t rating, uint64_t paid)
{
    ca_envelope_params ep;
    env_params(s, &ep);
    size_t len = 0;
    TRY(ca_task_receipt_reply(s->ag[h->hirer].p.id, &ep, ca_task_last(h->task, CA_KIND_TASK_RESULT),
                              accept, rating, paid, s->buf[4], ENV_BUF, &len, NULL),
        "receipt sign");
    count_sign(s, env_signed_len(len));
    TRY(thread_apply(s, h, s->buf[4], len, NULL), "hirer applies receipt");
    return CA_OK;
}

/*
 * A zero rating for a slashed task, which the story vouches for: such a task
 * pays nothing (or has no receipt at all), so the slashed stake buys the
 * rating its weight (the story's policy: proven cheating weighs as much as
 * the stake it cost).
 */
static ca_status rate(hire_story *s, hire *h, uint32_t rating, uint64_t amount)
{
    TRY(ca_reputation_add_rating(s->rep, &h->task_id, &s->ag[h->hirer].p.pk, &s->ag[h->worker].p.pk,
                                 rating, amount, s->now),
        "reputation rating");
    return CA_OK;
}

static ca_status honest_finish(hire_story *s, hire *h)
{
    agent *wk = &s->ag[h->worker];
    int k = cap_slot(wk, h->cap);
    s->now += wk->latency[k];
    char output[96];
    (void)snprintf(output, sizeof output, "result of task %u by %s", h->num, wk->name);
    size_t len = 0;
    TRY(sign_result(s, h, output, s->buf[3], &len), "result");
    TRY(thread_apply(s, h, s->buf[3], len, NULL), "hirer applies result");
    TRY(deliver(s, h, s->buf[3], len), "deliver");
    hire_event ev;
    ev_init(&ev, HIRE_EV_DELIVERED, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = s->now - h->awarded_at;
    emit(s, &ev);

    s->now += 100;
    uint32_t q = wk->quality, noise = rnd(s, 7);
    uint32_t rating = q + 3 > noise ? q + 3 - noise : 0;
    if (rating > CA_TASK_RATING_MAX)
        rating = CA_TASK_RATING_MAX;
    TRY(sign_receipt(s, h, 1, rating, h->price), "receipt");
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_ESCROW_RELEASE;
    op.ref = h->award_id;
    TRY(ledger_do(s, &s->ag[h->hirer].p, NULL, &op), "escrow release");
    /* The settled thread itself is the rating: rater, ratee and rating come from the verified
     * RECEIPT, the weight from what the ledger paid once the escrow was released
     * (ca_reputation_add_settled checks the escrow's parties and state). */
    TRY(ca_reputation_add_settled(s->rep, h->task, s->ledger), "reputation receipt");
    uint32_t before = wk->rep_ppm;
    TRY(settled(s), "settle");
    wk->completed++;
    s->rec[h->num - 1].outcome = OUT_COMPLETED;
    ev_init(&ev, HIRE_EV_PAID, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = h->price;
    ev.amount2 = COLLATERAL;
    ev.amount3 = before;
    ev.amount4 = wk->rep_ppm;
    ev.rating = rating;
    emit(s, &ev);
    return CA_OK;
}

/* Slashes `offender` on evidence `ref` and reports the split of the slashed stake. */
/* `proof`: the equivocation evidence the ledger checks (NULL for a missed deadline). */
/* `deadline`: an equivocation's task deadline (ca_evidence_deadline), 0 for other kinds. */
static ca_status slash(hire_story *s, hire *h, uint32_t kind, const ca_hash *ref, uint64_t deadline,
                       const uint8_t *proof, size_t proof_len)
{
    agent *hr = &s->ag[h->hirer], *wk = &s->ag[h->worker];
    ca_ledger_account_info ob = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION},
                           oa = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION},
                           hb = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION},
                           ha = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    ca_ledger_totals tb = {.version = CA_LEDGER_TOTALS_VERSION},
                     ta = {.version = CA_LEDGER_TOTALS_VERSION};
    TRY(account(s, &wk->p.pk, &ob), "account");
    TRY(account(s, &hr->p.pk, &hb), "account");
    ca_ledger_totals_get(s->ledger, &tb);
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_SLASH;
    op.evidence = kind;
    op.counterparty = wk->p.pk;
    op.ref = *ref;
    op.deadline = deadline;
    s->attach = proof;
    s->attach_len = proof_len;
    s->attach_sigs = s->ev_sigs; /* what evidence_cost counted */
    s->attach_sig_bytes = s->ev_sig_bytes;
    ca_status sst = ledger_do(s, &hr->p, NULL, &op);
    s->attach = NULL;
    TRY(sst, "slash");
    /* The ledger applied the slash on verified evidence: reputation records the
     * offense under the same kind and ref (the offender's credibility falls). */
    TRY(ca_reputation_add_offense(s->rep, kind, ref, &wk->p.pk, s->now), "reputation offense");
    TRY(account(s, &wk->p.pk, &oa), "account");
    TRY(account(s, &hr->p.pk, &ha), "account");
    ca_ledger_totals_get(s->ledger, &ta);
    uint64_t total = (ob.bonded + ob.unbonding) - (oa.bonded + oa.unbonding);
    uint64_t gain = ha.balance - hb.balance;
    uint64_t ppm = s->lopts.reporter_share_ppm; /* the ledger's rule: floor(total * ppm / 1e6) */
    uint64_t reporter =
        (total / CA_LEDGER_PPM) * ppm + (total % CA_LEDGER_PPM) * ppm / CA_LEDGER_PPM;
    wk->slashed += total;
    s->last_slash = total;
    wk->offences++;
    hire_event ev;
    ev_init(&ev, HIRE_EV_SLASH, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = total;
    ev.amount2 = reporter < gain ? reporter : gain;
    ev.amount3 = gain - ev.amount2;
    ev.amount4 = ta.burned - tb.burned;
    ev.rating = kind == CA_LEDGER_EVIDENCE_EQUIVOCATION ? s->lopts.slash_equivocation_ppm
                                                        : s->lopts.slash_missed_deadline_ppm;
    (void)snprintf(ev.text, sizeof ev.text, "%s",
                   kind == CA_LEDGER_EVIDENCE_EQUIVOCATION ? "equivocation" : "missed deadline");
    if (oa.jailed_until > s->now)
        ev.rating |= 0x80000000u; /* flag: jailed */
    s->stakes_stale = 1;
    emit(s, &ev);
    return CA_OK;
}

static ca_status rep_event(hire_story *s, hire *h, uint32_t before, const char *why)
{
    TRY(settled(s), "settle");
    hire_event ev;
    ev_init(&ev, HIRE_EV_REPUTATION, (int32_t)h->num, h->worker, NO_AGENT);
    ev.amount = before;
    ev.amount2 = s->ag[h->worker].rep_ppm;
    (void)snprintf(ev.text, sizeof ev.text, "%s", why);
    emit(s, &ev);
    return CA_OK;
}

/*
 * What checking result-equivocation evidence costs: each side is replayed on a
 * thread of its own (request, bid, award, result), so 8 signatures.
 */
static ca_status evidence_cost(hire_story *s, const hire *h, size_t la, size_t lb)
{
    const ca_task_msg *aw = ca_task_last(h->task, CA_KIND_TASK_AWARD);
    ca_hash bid_id;
    size_t bid_len = 0, aw_len = 0;
    if (aw == NULL || !ca_task_msg_parent(aw, &bid_id))
        return fail(CA_ERR_STATE, "no award in the thread");
    if (ca_task_msg_encoded(aw, NULL, 0, &aw_len) != CA_ERR_BUFFER_TOO_SMALL ||
        ca_task_msg_encoded(ca_task_find(h->task, &bid_id), NULL, 0, &bid_len) !=
            CA_ERR_BUFFER_TOO_SMALL)
        return fail(CA_ERR_STATE, "no bid in the thread");
    uint64_t shared = env_signed_len(h->req_len) + env_signed_len(bid_len) + env_signed_len(aw_len);
    s->ev_sigs = 8;
    s->ev_sig_bytes = 2 * shared + env_signed_len(la) + env_signed_len(lb);
    return CA_OK;
}

/* Two different signed RESULTs for one task: evidence, slash, reject, dispute, split. */
static ca_status equivocate(hire_story *s, hire *h)
{
    agent *wk = &s->ag[h->worker], *hr = &s->ag[h->hirer];
    int k = cap_slot(wk, h->cap);
    s->now += wk->latency[k];
    char out_a[96], out_b[96];
    (void)snprintf(out_a, sizeof out_a, "result of task %u by %s", h->num, wk->name);
    (void)snprintf(out_b, sizeof out_b, "a different result of task %u by %s", h->num, wk->name);
    size_t la = 0, lb = 0;
    TRY(sign_result(s, h, out_a, s->buf[3], &la), "result a");
    TRY(sign_result(s, h, out_b, s->buf[5], &lb), "result b");
    TRY(thread_apply(s, h, s->buf[3], la, NULL), "hirer applies result");
    TRY(deliver(s, h, s->buf[3], la), "deliver");
    hire_event ev;
    ev_init(&ev, HIRE_EV_DELIVERED, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = s->now - h->awarded_at;
    emit(s, &ev);

    /* The second result: the thread refuses it and names the conflict. */
    ca_envelope *second = NULL;
    ca_status st = thread_apply(s, h, s->buf[5], lb, &second);
    if (st != CA_ERR_TASK_EQUIVOCATION) {
        ca_envelope_free(second);
        return fail(st == CA_OK ? CA_ERR_STATE : st, "second result was not refused");
    }
    size_t elen = 0;
    static uint8_t evidence[EVIDENCE_BUF];
    st = ca_task_evidence(h->task, second, evidence, sizeof evidence, &elen);
    ca_envelope_free(second);
    TRY(st, "evidence");
    /* Anyone can check the evidence offline; the reporter does before it files it. */
    ca_agent_id offender;
    ca_hash ev_task, ev_hash, offense;
    ca_evidence *evo = NULL;
    TRY(ca_evidence_open(&evo, evidence, elen), "evidence verify");
    TRY(evidence_cost(s, h, la, lb), "evidence cost");
    s->verifies += s->ev_sigs;
    s->verify_bytes += s->ev_sig_bytes;
    ca_evidence_offender(evo, &offender);
    ca_evidence_task(evo, &ev_task);
    ca_evidence_hash(evo, &ev_hash);
    /* The ledger is keyed on the offense (agent, task, kind), not on the pair of
     * messages, so a third conflicting result cannot be slashed a second time. */
    ca_evidence_offense(evo, &offense);
    /* The offense time the ledger's evidence window counts from: the task's deadline. */
    uint64_t task_deadline = ca_evidence_deadline(evo);
    ca_evidence_free(evo);
    if (!same_id(&offender, &wk->p.pk) || memcmp(&ev_task, &h->task_id, sizeof ev_task) != 0)
        return fail(CA_ERR_BAD_EVIDENCE, "evidence names another agent or task");
    ev_init(&ev, HIRE_EV_EQUIVOCATION, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    hex(ev_hash.bytes, 4, ev.text);
    ev.amount = elen;
    emit(s, &ev);
    TRY(slash(s, h, CA_LEDGER_EVIDENCE_EQUIVOCATION, &offense, task_deadline, evidence, elen),
        "slash");

    /* The hirer rejects the result and disputes, citing the accepted result. */
    s->now += 100;
    TRY(sign_receipt(s, h, 0, 0, 0), "receipt");
    ca_hash res_id;
    ca_task_msg_id(ca_task_last(h->task, CA_KIND_TASK_RESULT), &res_id);
    char reason[128], evhex[2 * CA_HASH_BYTES + 1];
    hex(ev_hash.bytes, CA_HASH_BYTES, evhex);
    (void)snprintf(reason, sizeof reason, "equivocation, evidence %s", evhex);
    ca_task_dispute dp = {.version = CA_TASK_DISPUTE_VERSION};
    dp.task = h->task_id;
    dp.reason = reason;
    dp.refs = &res_id;
    dp.ref_count = 1;
    ca_envelope_params ep;
    env_params(s, &ep);
    ep.parent = &res_id;
    size_t len = 0;
    TRY(ca_task_dispute_sign(hr->p.id, &ep, &dp, s->buf[6], ENV_BUF, &len, NULL), "dispute sign");
    count_sign(s, env_signed_len(len));
    TRY(thread_apply(s, h, s->buf[6], len, NULL), "hirer applies dispute");
    ev_init(&ev, HIRE_EV_REJECTED, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    emit(s, &ev);

    /* The arbiter checks the evidence itself and splits the escrow: the hirer
     * gets its payment back and the collateral. */
    TRY(ca_evidence_verify(evidence, elen, &offender, NULL, NULL, NULL), "arbiter checks");
    s->verifies += s->ev_sigs;
    s->verify_bytes += s->ev_sig_bytes;
    if (!ca_task_disputed(h->task, CA_TASK_PARTY_REQUESTER))
        return fail(CA_ERR_STATE, "no dispute in the thread");
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_ESCROW_SPLIT;
    op.ref = h->award_id;
    op.amount = 0;
    op.amount2 = COLLATERAL;
    TRY(ledger_do(s, &s->arbiter, NULL, &op), "escrow split");
    ev_init(&ev, HIRE_EV_SPLIT, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = COLLATERAL;
    ev.amount2 = h->price;
    emit(s, &ev);

    uint32_t before = wk->rep_ppm;
    TRY(rate(s, h, 0, s->last_slash), "rate");
    TRY(rep_event(s, h, before, "rated 0 on the slashed task"), "reputation");
    s->rec[h->num - 1].outcome = OUT_SLASHED;
    return CA_OK;
}

/* No RESULT by the award deadline: cancel, slash on the escrow, refund. */
static ca_status miss_deadline(hire_story *s, hire *h)
{
    agent *hr = &s->ag[h->hirer], *wk = &s->ag[h->worker];
    s->now = h->deadline + 1000;
    ca_task_cancel cn = {.version = CA_TASK_CANCEL_VERSION};
    cn.task = h->task_id;
    cn.reason = "no result by the deadline";
    ca_envelope_params ep;
    env_params(s, &ep);
    ep.parent = &h->award_id;
    size_t len = 0;
    TRY(ca_task_cancel_sign(hr->p.id, &ep, &cn, s->buf[4], ENV_BUF, &len, NULL), "cancel sign");
    count_sign(s, env_signed_len(len));
    TRY(thread_apply(s, h, s->buf[4], len, NULL), "hirer applies cancel");
    hire_event ev;
    ev_init(&ev, HIRE_EV_MISSED, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = h->deadline - h->awarded_at;
    emit(s, &ev);

    /* The missed-deadline evidence is the escrow itself: open, no delivery, past due. */
    TRY(slash(s, h, CA_LEDGER_EVIDENCE_MISSED_DEADLINE, &h->award_id, 0, NULL, 0), "slash");
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_ESCROW_REFUND;
    op.ref = h->award_id;
    TRY(ledger_do(s, &hr->p, NULL, &op), "escrow refund");
    ev_init(&ev, HIRE_EV_REFUND, (int32_t)h->num, h->worker, (int32_t)h->hirer);
    ev.amount = h->price;
    ev.amount2 = COLLATERAL;
    emit(s, &ev);
    uint32_t before = wk->rep_ppm;
    TRY(rate(s, h, 0, s->last_slash), "rate");
    TRY(rep_event(s, h, before, "rated 0 on the missed task"), "reputation");
    s->rec[h->num - 1].outcome = OUT_SLASHED;
    return CA_OK;
}

static ca_status no_bids(hire_story *s, hire *h)
{
    ca_task_cancel cn = {.version = CA_TASK_CANCEL_VERSION};
    cn.task = h->task_id;
    cn.reason = "no bids";
    ca_envelope_params ep;
    env_params(s, &ep);
    size_t len = 0;
    TRY(ca_task_cancel_sign(s->ag[h->hirer].p.id, &ep, &cn, s->buf[4], ENV_BUF, &len, NULL),
        "cancel sign");
    count_sign(s, env_signed_len(len));
    TRY(thread_apply(s, h, s->buf[4], len, NULL), "hirer applies cancel");
    hire_event ev;
    ev_init(&ev, HIRE_EV_NO_BIDS, (int32_t)h->num, NO_AGENT, (int32_t)h->hirer);
    emit(s, &ev);
    s->rec[h->num - 1].outcome = OUT_REFUNDED;
    return CA_OK;
}

static ca_status one_task(hire_story *s, hire *h)
{
    TRY(post_request(s, h), "request");
    TRY(collect_bids(s, h), "bids");
    if (h->nbids == 0)
        return no_bids(s, h);
    TRY(award(s, h), "award");
    const agent *wk = &s->ag[h->worker];
    /* Cheaters do one task honestly, then cheat on every later one. */
    if (wk->role == HIRE_EQUIVOCATOR && wk->won > 1)
        return equivocate(s, h);
    if (wk->role == HIRE_LATECOMER && wk->won > 1)
        return miss_deadline(s, h);
    return honest_finish(s, h);
}

ca_status hire_story_run(hire_story *s, uint32_t n)
{
    for (uint32_t k = 0; k < n && s->done < s->cfg.tasks; k++) {
        hire h;
        memset(&h, 0, sizeof h);
        h.num = s->done + 1;
        h.hirer = s->done % s->hirers;
        /* Each capability comes up once first, then a seeded choice. */
        h.cap = s->done < s->ncaps ? s->done : rnd(s, s->ncaps);
        h.worker = NO_AGENT;
        s->now += TASK_GAP;
        ca_status st = one_task(s, &h);
        if (h.task != NULL) {
            task_record *r = &s->rec[h.num - 1];
            r->state = (uint8_t)ca_task_get_state(h.task);
            if (st == CA_OK)
                st = ca_task_digest(h.task, &r->digest);
        }
        ca_task_free(h.task);
        if (st != CA_OK)
            return st;
        s->done++;
        if (s->cfg.on_progress != NULL)
            s->cfg.on_progress(s->done, s->cfg.tasks, s->cfg.ctx);
    }
    if (s->settled_since_update > 0)
        TRY(sync_reputation(s), "reputation");
    return CA_OK;
}

/* ----------------------------------------------------------------- results */

uint32_t hire_story_agent_count(const hire_story *s)
{
    return s->n;
}

void hire_story_agent(const hire_story *s, uint32_t i, hire_agent_summary *out)
{
    memset(out, 0, sizeof *out);
    const agent *a = &s->ag[i];
    (void)snprintf(out->name, sizeof out->name, "%s", a->name);
    size_t len = 0;
    if (ca_did_encode(&a->p.pk, out->did, sizeof out->did, &len) != CA_OK)
        out->did[0] = '\0';
    out->role = a->role;
    ca_ledger_account_info info = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    if (ca_ledger_account(s->ledger, &a->p.pk, &info) == CA_OK) {
        out->balance = info.balance;
        out->bonded = info.bonded + info.unbonding;
        out->jailed_until = info.jailed_until > EPOCH_MS ? info.jailed_until - EPOCH_MS : 0;
    }
    out->slashed = a->slashed;
    out->won = a->won;
    out->completed = a->completed;
    out->offences = a->offences;
    out->won_after_offence = a->won_after_offence;
    ca_reputation_score sc;
    if (ca_reputation_get(s->rep, &a->p.pk, &sc, sizeof(ca_reputation_score)) == CA_OK) {
        double e = sc.expected * 1e6 + 0.5;
        out->reputation_ppm = e >= 1e6 ? 1000000u : (uint32_t)e;
        out->global = sc.global;
        out->ratings = sc.ratings_received;
    }
}

ca_status hire_story_totals(hire_story *s, hire_totals *out)
{
    memset(out, 0, sizeof *out);
    out->tasks = s->done;
    out->settled_ok = 1;
    for (uint32_t t = 0; t < s->done; t++) {
        const task_record *r = &s->rec[t];
        ca_ledger_escrow_info e = {.version = CA_LEDGER_ESCROW_INFO_VERSION};
        int has = r->has_escrow && ca_ledger_escrow(s->ledger, &r->award, &e) == CA_OK;
        int ok = 0;
        switch (r->outcome) {
        case OUT_COMPLETED:
            out->completed++;
            ok = r->state == CA_TASK_COMPLETED && has && e.state == CA_LEDGER_ESCROW_RELEASED;
            break;
        case OUT_REFUNDED:
            out->refunded++;
            ok = r->state == CA_TASK_CANCELED &&
                 (!r->has_escrow || (has && e.state == CA_LEDGER_ESCROW_REFUNDED));
            break;
        case OUT_SLASHED:
            out->slashed++;
            ok = has && ((r->state == CA_TASK_REJECTED && e.state == CA_LEDGER_ESCROW_SPLIT) ||
                         (r->state == CA_TASK_CANCELED && e.state == CA_LEDGER_ESCROW_REFUNDED));
            break;
        default:
            out->open++;
            break;
        }
        if (!ok) {
            if (out->settled_ok)
                fprintf(stderr, "cyberagent-hire: task %u did not settle (outcome %u, state %u)\n",
                        t + 1, r->outcome, r->state);
            out->settled_ok = 0;
        }
    }
    ca_ledger_totals lt = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(s->ledger, &lt);
    out->minted = lt.minted;
    out->burned = lt.burned;
    out->escrowed = lt.escrowed;
    if (lt.escrowed != 0)
        out->settled_ok = 0;
    out->signs = s->signs;
    out->verifies = s->verifies;
    out->sign_bytes = s->sign_bytes;
    out->verify_bytes = s->verify_bytes;
    out->messages = s->messages;
    ca_status st = ca_ledger_check(s->ledger);
    out->ledger_ok = st == CA_OK;
    if (st != CA_OK)
        (void)fail(st, "ledger check");
    TRY(ca_ledger_state_hash(s->ledger, &out->state_hash), "state hash");
    return CA_OK;
}

void hire_story_counters(const hire_story *s, hire_counters *out)
{
    out->signs = s->signs;
    out->verifies = s->verifies;
    out->sign_bytes = s->sign_bytes;
    out->verify_bytes = s->verify_bytes;
    out->tasks = s->done;
}

ca_status hire_story_fingerprint(hire_story *s, uint8_t **out, size_t *out_len)
{
    size_t snap = 0;
    ca_status st = ca_reputation_snapshot_export(s->rep, NULL, 0, &snap);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        return fail(st, "reputation snapshot size");
    size_t total = snap + (size_t)s->done * CA_HASH_BYTES + CA_HASH_BYTES;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        return fail(CA_ERR_NO_MEMORY, "fingerprint");
    st = ca_reputation_snapshot_export(s->rep, buf, snap, &snap);
    if (st == CA_OK)
        st = ca_ledger_state_hash(s->ledger, (ca_hash *)(void *)(buf + snap));
    if (st != CA_OK) {
        free(buf);
        return fail(st, "fingerprint");
    }
    for (uint32_t t = 0; t < s->done; t++)
        memcpy(buf + snap + CA_HASH_BYTES + (size_t)t * CA_HASH_BYTES, s->rec[t].digest.bytes,
               CA_HASH_BYTES);
    *out = buf;
    *out_len = total;
    return CA_OK;
}

void hire_short_did(const char *did, char *out, size_t out_cap)
{
    size_t n = strlen(did);
    if (n <= 20)
        (void)snprintf(out, out_cap, "%s", did);
    else
        (void)snprintf(out, out_cap, "%.12s…%s", did, did + n - 4);
}
