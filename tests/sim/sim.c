/*
 * The reputation attack simulation (issue 5; results in docs/REPUTATION.md).
 *
 * A seeded task-hiring market on the library's own API: N agents, each task
 * posted by a random hirer, a few random bidders, the winner chosen by one of
 * three policies, the work good or bad according to the worker's type, the
 * hirer's rating according to the hirer's type. Threat models after Kamvar,
 * Schlosser and Garcia-Molina (EigenTrust, 2003):
 *   A  independent malicious agents: bad work, inverted ratings;
 *   B  a malicious collective: bad work, members hire and rate each other 100,
 *      everyone else 0;
 *   C  a camouflaged collective: as B, but good work camouflage_ppm of the time;
 *   D  a collective (bad work, as B) plus spies: half of the malicious agents
 *      do good work and rate honestly, but hire and rate the collective 100;
 *   E  on-off: malicious agents rate honestly and alternate phases of good
 *      and bad work, each a sixth of the run long, starting with a good one
 *      (build a record, then cash it in, then rebuild).
 * Policies, side by side on the same population and the same task stream:
 *   random  uniform choice among the bidders (no reputation);
 *   eigen   plain EigenTrust: every rating weight 1, teleport to the
 *           pre-trusted agents only, no stake, no slashing, no exploration;
 *           routing ranks the bids by global trust, ties chosen at random;
 *   full    the library's defaults (ca_reputation_options_init,
 *           ca_routing_options_init, ca_ledger_options_init with only the
 *           authority and the arbiter set): ratings weighted by the amount
 *           paid, stake from the ledger in routing and in the EigenTrust
 *           teleport, each slash recorded as an offense in reputation
 *           (ca_reputation_add_offense), Thompson exploration in routing.
 * Measured: the share of honest hirers' tasks that failed (bad work).
 *
 * What is modelled, and what is not (docs/REPUTATION.md says the same):
 * cards enter routing through the card-less internal add (no signatures:
 * this measures policy, not crypto). The full policy runs the real ledger
 * (ca_ledger_apply, the trusted path, unsigned ops): every agent is minted
 * funds and bonds the same stake, every task is escrowed, delivered and
 * released or, on a lost dispute, split back to the hirer and slashed by the
 * arbiter; the ledger's stake (bonded + unbonding) is pushed to routing and
 * reputation as the hire example does, and the slash to reputation as an
 * offense. Jailed agents (the ledger refuses them as workers) do not bid;
 * with the default rules a lost dispute jails no one. The only slashing
 * evidence modelled is a lost dispute (CA_LEDGER_EVIDENCE_DISPUTE): an
 * honest hirer disputes bad work and the arbiter, who can check the work,
 * rules against the worker. Malicious hirers never dispute. Honest workers
 * never fail, every bid has the same price, every task pays the same amount.
 *
 * Usage: ca-sim            short version, asserts the goal (a ctest)
 *        ca-sim --table    the full table (longer runs)
 *        ca-sim --seed N   another seed (either mode)
 *        ca-sim --models CD   only these threat models (A .. E)
 *        ca-sim --tune W S D P   full policy with other settings than the
 *                          defaults: routing stake weight W, teleport stake
 *                          share S ppm, damping D ppm, dispute slash P ppm
 *        CA_SIM_DEBUG=1    prints per-role mean trust and stake after each full run
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#include "routing/routing_internal.h"

enum { MODEL_A, MODEL_B, MODEL_C, MODEL_D, MODEL_E, MODELS };
enum { POL_RANDOM, POL_EIGEN, POL_FULL, POLICIES };
enum { HONEST, PRETRUSTED, INDEPENDENT, COLLECTIVE, SPY, ONOFF, ROLES };

#define PPM        1000000u
#define T0_MS      (1700000000ull * 1000)
#define TASK_MS    60000ull /* one task a minute */
#define PRICE      100u
#define STAKE0     1000000u /* everyone bonds the same at the start (= stake_ref) */
#define COLLATERAL 100u     /* the worker's collateral in each escrow */
#define MAXBID     16u
#define CAPNAME    "sim.task"
#define NSHARES    8u

static const uint32_t shares[NSHARES] = {0, 10, 20, 30, 40, 50, 60, 70};
static const char model_names[MODELS] = {'A', 'B', 'C', 'D', 'E'};

typedef struct sim_config {
    uint32_t agents;
    uint32_t pretrusted;
    uint32_t tasks;
    uint32_t bidders;
    uint32_t update_every;   /* tasks between reputation updates */
    uint32_t camouflage_ppm; /* model C: share of good work */
    uint32_t onoff_tasks;    /* model E: tasks per on or off phase */
    /* --tune: overrides of the library defaults for the full policy (0 = defaults). */
    int tuned;
    uint32_t slash_ppm;       /* ledger: stake slashed on a lost dispute */
    uint32_t stake_weight;    /* routing weight of the stake feature */
    uint32_t stake_share_ppm; /* stake's share of the EigenTrust teleport vector */
    uint32_t damping_ppm;     /* EigenTrust teleport weight */
    uint64_t seed;
} sim_config;

typedef struct agent {
    ca_agent_id id;
    int role;
    uint64_t stake;
    uint64_t nonce; /* last ledger nonce used as signer */
    double global;
} agent;

typedef struct sim {
    const sim_config *cfg;
    int model;
    int policy;
    agent *ag;
    ca_reputation *rep;
    ca_routing *rt;
    ca_ledger *led; /* full policy only */
    ca_agent_id authority, arbiter;
    uint64_t authority_nonce, arbiter_nonce;
    uint64_t gen;  /* task stream: hirer, bidders, camouflage draws */
    uint64_t pick; /* policy choices and Thompson seeds */
    uint64_t now;
} sim;

typedef struct cell {
    uint64_t honest_tasks;
    uint64_t failed[POLICIES];
} cell;

static uint64_t splitmix(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(splitmix(s) % n);
}

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        ca_status st_ = (expr);                                                                    \
        if (st_ != CA_OK) {                                                                        \
            fprintf(stderr, "ca-sim: %s failed: %s (%s)\n", #expr, ca_status_str(st_),             \
                    ca_last_error());                                                              \
            return st_;                                                                            \
        }                                                                                          \
    } while (0)

static int malicious_hirer(int role)
{
    return role == INDEPENDENT || role == COLLECTIVE || role == SPY || role == ONOFF;
}

/*
 * One ledger op through the trusted path (ca_ledger_apply: the simulation
 * is its own trusted source, so ops are not signed). The signer's nonce
 * advances only when the op applies, as the ledger's does.
 */
static ca_status ledger_op(sim *s, uint32_t type, const ca_agent_id *signer, uint64_t *nonce,
                           const ca_agent_id *counterparty, const ca_hash *ref, uint64_t amount,
                           uint64_t amount2)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = *signer;
    op.nonce = *nonce + 1;
    if (counterparty != NULL)
        op.counterparty = *counterparty;
    if (ref != NULL)
        op.ref = *ref;
    op.amount = amount;
    op.amount2 = amount2;
    if (type == CA_LEDGER_OP_ESCROW_OPEN)
        op.deadline = s->now + TASK_MS;
    if (type == CA_LEDGER_OP_SLASH)
        op.evidence = CA_LEDGER_EVIDENCE_DISPUTE;
    if (type == CA_LEDGER_OP_ESCROW_DELIVER) {
        /* A delivery names its RESULT; the simulation's tasks have no RESULT message, so a
         * stand-in id (non-zero) derived from the task takes its place. */
        op.result = *ref;
        op.result.bytes[0] |= 1;
    }
    TRY(ca_ledger_apply(s->led, &op, s->now, NULL));
    *nonce = op.nonce;
    return CA_OK;
}

/* Pushes the ledger's stake (bonded + unbonding) to routing and reputation (full policy). */
static ca_status push_stake(sim *s, uint32_t i)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    TRY(ca_ledger_account(s->led, &s->ag[i].id, &a));
    s->ag[i].stake = a.bonded + a.unbonding;
    TRY(ca_reputation_set_stake(s->rep, &s->ag[i].id, s->ag[i].stake));
    TRY(ca_routing_set_stake(s->rt, &s->ag[i].id, s->ag[i].stake));
    return CA_OK;
}

/*
 * One task on the ledger (full policy): the hirer escrows the price and the
 * worker its collateral, the worker delivers; the hirer releases, or, for
 * bad work an honest hirer disputes, the arbiter splits the escrow back to
 * the hirer (payment and collateral) and slashes the worker for the lost
 * dispute (the ledger's DISPUTE fraction and jail term).
 */
static ca_status ledger_task(sim *s, uint32_t h, uint32_t w, const ca_hash *task, int disputed)
{
    agent *hr = &s->ag[h], *wk = &s->ag[w];
    TRY(ledger_op(s, CA_LEDGER_OP_ESCROW_OPEN, &hr->id, &hr->nonce, &wk->id, task, PRICE,
                  COLLATERAL));
    TRY(ledger_op(s, CA_LEDGER_OP_ESCROW_DELIVER, &wk->id, &wk->nonce, NULL, task, 0, 0));
    if (!disputed) {
        TRY(ledger_op(s, CA_LEDGER_OP_ESCROW_RELEASE, &hr->id, &hr->nonce, NULL, task, 0, 0));
        return CA_OK;
    }
    TRY(ledger_op(s, CA_LEDGER_OP_ESCROW_SPLIT, &s->arbiter, &s->arbiter_nonce, NULL, task, 0,
                  COLLATERAL));
    TRY(ledger_op(s, CA_LEDGER_OP_SLASH, &s->arbiter, &s->arbiter_nonce, &wk->id, task, 0, 0));
    /* The slash is verified evidence for reputation too. */
    TRY(ca_reputation_add_offense(s->rep, CA_LEDGER_EVIDENCE_DISPUTE, task, &wk->id, s->now));
    return push_stake(s, w);
}

/* Recomputes scores and pushes them to routing. */
static ca_status sync(sim *s)
{
    uint32_t n = s->cfg->agents;
    TRY(ca_reputation_update(s->rep, s->now, NULL));
    double gmax = 0.0;
    ca_reputation_score sc;
    for (uint32_t i = 0; i < n; i++) {
        ca_status st = ca_reputation_get(s->rep, &s->ag[i].id, &sc, sizeof(ca_reputation_score));
        if (st == CA_ERR_NOT_FOUND) {
            s->ag[i].global = 0.0;
            continue;
        }
        TRY(st);
        s->ag[i].global = sc.global;
        if (sc.global > gmax)
            gmax = sc.global;
    }
    for (uint32_t i = 0; i < n; i++) {
        ca_status st = ca_reputation_get(s->rep, &s->ag[i].id, &sc, sizeof(ca_reputation_score));
        if (st == CA_ERR_NOT_FOUND)
            continue;
        TRY(st);
        if (s->policy == POL_EIGEN) {
            double r = gmax > 0.0 ? sc.global / gmax * (double)PPM + 0.5 : 0.0;
            uint32_t ppm = r >= (double)PPM ? PPM : (uint32_t)r;
            TRY(ca_routing_set_reputation(s->rt, &sc.agent, ppm));
        } else {
            /* Full policy: Thompson samples Beta(positive + 1, negative + 1).
             * The mean comes from EigenTrust (the global score relative to
             * the uniform share 1/n, capped at 1: trust weighted by who
             * rated, and by stake through the teleport), the concentration
             * from the evidence the agent has received (decayed, weighted by
             * payment): an agent nobody rated is explored at Beta(1, 1),
             * an agent with much evidence is ranked by its trust. */
            double trust = sc.global * (double)n;
            if (trust > 1.0)
                trust = 1.0;
            double k = (sc.positive + sc.negative) * 1000.0;
            double pm = k * trust, nm = k - pm;
            TRY(ca_routing_set_evidence(s->rt, &sc.agent, (uint64_t)pm, (uint64_t)nm));
            double e = sc.expected * (double)PPM + 0.5;
            TRY(ca_routing_set_reputation(s->rt, &sc.agent, e >= (double)PPM ? PPM : (uint32_t)e));
        }
    }
    return CA_OK;
}

static ca_status setup(sim *s)
{
    const sim_config *c = s->cfg;
    ca_reputation_options ro;
    TRY(ca_reputation_options_init(&ro, CA_REPUTATION_OPTIONS_VERSION));
    ro.warm_start = 1;
    if (s->policy == POL_FULL) {
        if (c->tuned) {
            ro.stake_share_ppm = c->stake_share_ppm;
            ro.damping_ppm = c->damping_ppm;
        }
    }
    TRY(ca_reputation_new(&s->rep, &ro));
    TRY(ca_reputation_reserve(s->rep, c->agents, c->tasks));

    ca_routing_options o;
    TRY(ca_routing_options_init(&o, CA_ROUTING_OPTIONS_VERSION));
    o.expected_agents = c->agents;
    /* Every card is added once, at T0, and must last the whole run (days of
     * simulated time): this registry admits no card from outside the run. */
    o.max_card_lifetime_ms = UINT64_MAX;
    ca_routing_weights w;
    TRY(ca_routing_weights_init(&w, CA_ROUTING_WEIGHTS_VERSION));
    o.weights = &w;
    if (s->policy == POL_EIGEN) {
        w.price = 0;
        w.stake = 0;
        w.latency = 0;
        w.reputation = 1;
        o.default_reputation_ppm = 0; /* no trust until EigenTrust gives some */
    } else {
        if (c->tuned)
            w.stake = c->stake_weight;
    }
    TRY(ca_routing_new(&s->rt, &o));

    if (s->policy == POL_FULL) {
        /* The ledger with its default rules; only the two identities are ours. */
        memset(&s->authority, 0xA0, sizeof s->authority);
        memset(&s->arbiter, 0xA1, sizeof s->arbiter);
        ca_ledger_options lo;
        TRY(ca_ledger_options_init(&lo, CA_LEDGER_OPTIONS_VERSION));
        lo.authority = s->authority;
        lo.arbiter = s->arbiter;
        if (c->tuned)
            lo.slash_dispute_ppm = c->slash_ppm;
        lo.initial_accounts = c->agents + 2;
        TRY(ca_ledger_new(&s->led, &lo));
    }

    cai_routing_capability cap = {CAPNAME, sizeof CAPNAME - 1, PRICE, 0};
    for (uint32_t i = 0; i < c->agents; i++) {
        cai_routing_entry e;
        memset(&e, 0, sizeof e);
        e.agent = s->ag[i].id;
        e.sequence = 1;
        e.valid_from = 0;
        e.valid_until = UINT64_MAX;
        e.stake = 0;
        e.capabilities = &cap;
        e.capability_count = 1;
        TRY(cai_routing_add_entry(s->rt, &e, T0_MS));
        if (s->ag[i].role == PRETRUSTED)
            TRY(ca_reputation_set_pretrusted(s->rep, &s->ag[i].id, 1));
        if (s->policy == POL_FULL) {
            /* Funds for every task it could hire or take, and the same bond for all. */
            uint64_t funds = STAKE0 + (uint64_t)c->tasks * (PRICE + COLLATERAL);
            TRY(ledger_op(s, CA_LEDGER_OP_MINT, &s->authority, &s->authority_nonce, &s->ag[i].id,
                          NULL, funds, 0));
            TRY(ledger_op(s, CA_LEDGER_OP_BOND, &s->ag[i].id, &s->ag[i].nonce, NULL, NULL, STAKE0,
                          0));
            TRY(push_stake(s, i));
        } else {
            TRY(ca_routing_set_stake(s->rt, &s->ag[i].id, 0));
        }
    }
    return CA_OK;
}

/* The winner among bidders[0..nb) under the policy. */
static ca_status choose(sim *s, const uint32_t *bidders, uint32_t nb, uint32_t *winner)
{
    if (s->policy == POL_RANDOM) {
        *winner = bidders[below(&s->pick, nb)];
        return CA_OK;
    }
    ca_routing_query q;
    TRY(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = CAPNAME;
    q.capability_len = sizeof CAPNAME - 1;
    q.now = s->now;
    q.thompson = s->policy == POL_FULL;
    q.seed = splitmix(&s->pick);
    ca_routing_bid bids[MAXBID];
    ca_routing_result res[MAXBID];
    for (uint32_t b = 0; b < nb; b++) {
        bids[b].agent = s->ag[bidders[b]].id;
        bids[b].price = PRICE;
        bids[b].latency_ms = 0;
    }
    size_t got = 0;
    TRY(ca_routing_rank_bids(s->rt, &q, bids, sizeof(ca_routing_bid), nb, res,
                             sizeof(ca_routing_result), nb, &got));
    if (got == 0) {
        fprintf(stderr, "ca-sim: no eligible bid\n");
        return CA_ERR_STATE;
    }
    /* Equal scores (plain EigenTrust: untrusted bidders all at 0) are chosen
     * at random, not by the id tie-break. */
    size_t ties = 1;
    while (ties < got && res[ties].score == res[0].score)
        ties++;
    size_t k = ties > 1 ? below(&s->pick, (uint32_t)ties) : 0;
    for (uint32_t b = 0; b < nb; b++) {
        if (memcmp(&res[k].agent, &s->ag[bidders[b]].id, sizeof(ca_agent_id)) == 0) {
            *winner = bidders[b];
            return CA_OK;
        }
    }
    return CA_ERR_STATE;
}

static int in_collective(int model, int role)
{
    return role == COLLECTIVE && model != MODEL_A;
}

/* One run: `failed` honest tasks out of `honest`. */
static ca_status run(const sim_config *c, int model, uint32_t share, int policy, uint64_t *honest,
                     uint64_t *failed)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.cfg = c;
    s.model = model;
    s.policy = policy;
    s.ag = calloc(c->agents, sizeof *s.ag);
    uint32_t *pool = calloc(c->agents, sizeof *pool);
    if (s.ag == NULL || pool == NULL) {
        free(s.ag);
        free(pool);
        return CA_ERR_NO_MEMORY;
    }
    /* Population: the same for every policy (seeded by seed, model, share). */
    uint64_t pop = c->seed ^ ((uint64_t)model << 40) ^ ((uint64_t)share << 32);
    uint32_t bad = (c->agents * share + 50) / 100;
    if (bad > c->agents - c->pretrusted)
        bad = c->agents - c->pretrusted;
    for (uint32_t i = 0; i < c->agents; i++) {
        for (size_t b = 0; b < sizeof(ca_agent_id); b += 8) {
            uint64_t v = splitmix(&pop);
            memcpy(&s.ag[i].id.bytes[b], &v, 8);
        }
        if (i < c->pretrusted)
            s.ag[i].role = PRETRUSTED;
        else if (i < c->pretrusted + bad) {
            uint32_t j = i - c->pretrusted;
            if (model == MODEL_A)
                s.ag[i].role = INDEPENDENT;
            else if (model == MODEL_E)
                s.ag[i].role = ONOFF;
            else if (model == MODEL_D && j % 2 == 1)
                s.ag[i].role = SPY;
            else
                s.ag[i].role = COLLECTIVE;
        } else
            s.ag[i].role = HONEST;
    }
    s.gen = c->seed * 0x2545F4914F6CDD1Dull ^ ((uint64_t)model << 8) ^ share;
    s.pick = splitmix(&s.gen) ^ (uint64_t)policy;
    ca_status st = policy == POL_RANDOM ? CA_OK : setup(&s);

    uint64_t h_tasks = 0, h_failed = 0;
    uint32_t bidders[MAXBID];
    for (uint32_t t = 0; st == CA_OK && t < c->tasks; t++) {
        s.now = T0_MS + (uint64_t)t * TASK_MS;
        uint32_t h = below(&s.gen, c->agents);
        /* Distinct bidders other than the hirer (partial Fisher-Yates). */
        uint32_t m = 0;
        for (uint32_t i = 0; i < c->agents; i++)
            if (i != h)
                pool[m++] = i;
        for (uint32_t b = 0; b < c->bidders; b++) {
            uint32_t k = b + below(&s.gen, m - b);
            uint32_t tmp = pool[b];
            pool[b] = pool[k];
            pool[k] = tmp;
            bidders[b] = pool[b];
        }
        uint32_t draw = below(&s.gen, PPM);
        int hr = s.ag[h].role;

        /* Malicious hirers do not care about quality: collective members
         * and spies hire a collective member when one bids (collusion),
         * everyone else of theirs picks at random. */
        uint32_t w = UINT32_MAX;
        uint32_t nbid = c->bidders;
        if (policy == POL_FULL) {
            /* Jailed agents cannot take escrowed work: they do not bid. */
            uint32_t kept = 0;
            for (uint32_t b = 0; b < nbid; b++) {
                ca_ledger_account_info ai = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
                st = ca_ledger_account(s.led, &s.ag[bidders[b]].id, &ai);
                if (st != CA_OK)
                    break;
                if (ai.jailed_until <= s.now)
                    bidders[kept++] = bidders[b];
            }
            if (st != CA_OK)
                break;
            nbid = kept;
            if (nbid == 0) {
                if (!malicious_hirer(hr)) {
                    h_tasks++;
                    h_failed++;
                }
                continue;
            }
        }
        if (malicious_hirer(hr)) {
            for (uint32_t b = 0; b < nbid && w == UINT32_MAX; b++)
                if (in_collective(model, s.ag[bidders[b]].role) && hr != INDEPENDENT)
                    w = bidders[b];
            if (w == UINT32_MAX)
                w = bidders[below(&s.pick, nbid)];
        } else {
            st = choose(&s, bidders, nbid, &w);
            if (st != CA_OK)
                break;
        }
        int wr = s.ag[w].role;
        /* Model E: good work in the "on" phases (the first one builds a record), bad work in
         * the "off" phases that follow, alternating every onoff_tasks tasks. */
        int on_phase = (t / c->onoff_tasks) % 2 == 0;
        int good = wr == HONEST || wr == PRETRUSTED || wr == SPY ||
                   (wr == COLLECTIVE && model == MODEL_C && draw < c->camouflage_ppm) ||
                   (wr == ONOFF && on_phase);
        if (!malicious_hirer(hr)) {
            h_tasks++;
            h_failed += good ? 0u : 1u;
        }
        if (policy == POL_RANDOM)
            continue;

        uint32_t rating;
        if (hr == INDEPENDENT)
            rating = good ? 0u : 100u;
        else if ((hr == COLLECTIVE || hr == SPY) && in_collective(model, wr))
            rating = 100u;
        else if (hr == COLLECTIVE)
            rating = 0u;
        else
            rating = good ? 100u : 0u;
        ca_hash task;
        memset(&task, 0, sizeof task);
        uint64_t key = ((uint64_t)t + 1) * 0x9E3779B97F4A7C15ull;
        memcpy(task.bytes, &key, sizeof key);
        /* Full policy: the task is settled on the ledger first (lost
         * dispute: an honest hirer disputes bad work, the arbiter rules
         * against the worker); the rating then counts with the escrowed
         * payment as its weight. */
        if (policy == POL_FULL) {
            st = ledger_task(&s, h, w, &task, !good && !malicious_hirer(hr));
            if (st != CA_OK)
                break;
        }
        uint64_t amount = policy == POL_FULL ? PRICE : 1u;
        st =
            ca_reputation_add_rating(s.rep, &task, &s.ag[h].id, &s.ag[w].id, rating, amount, s.now);
        if (st != CA_OK)
            break;
        if ((t + 1) % c->update_every == 0)
            st = sync(&s);
    }
    if (getenv("CA_SIM_DEBUG") != NULL && policy == POL_FULL && st == CA_OK) {
        double g[ROLES] = {0}, stk[ROLES] = {0};
        uint32_t cnt[ROLES] = {0};
        for (uint32_t i = 0; i < c->agents; i++) {
            int r = s.ag[i].role;
            g[r] += s.ag[i].global * c->agents;
            stk[r] += (double)s.ag[i].stake;
            cnt[r]++;
        }
        fprintf(stderr, "  %c %u%%:", model_names[model], share);
        for (int r = 0; r < ROLES; r++)
            if (cnt[r])
                fprintf(stderr, " role%d n=%u gn=%.3f stake=%.0f;", r, cnt[r], g[r] / cnt[r],
                        stk[r] / cnt[r]);
        fprintf(stderr, " failed %llu/%llu\n", (unsigned long long)h_failed,
                (unsigned long long)h_tasks);
    }
    /* The ledger's invariants (conservation, sums, state hash) still hold. */
    if (st == CA_OK && s.led != NULL)
        st = ca_ledger_check(s.led);
    *honest = h_tasks;
    *failed = h_failed;
    ca_ledger_free(s.led);
    ca_routing_free(s.rt);
    ca_reputation_free(s.rep);
    free(pool);
    free(s.ag);
    return st;
}

static uint32_t default_slash_ppm(void)
{
    ca_ledger_options lo;
    return ca_ledger_options_init(&lo, CA_LEDGER_OPTIONS_VERSION) == CA_OK ? lo.slash_dispute_ppm
                                                                           : 0;
}

static double pct(uint64_t a, uint64_t b)
{
    return b == 0 ? 0.0 : 100.0 * (double)a / (double)b;
}

int main(int argc, char **argv)
{
    sim_config c = {.agents = 60,
                    .pretrusted = 3,
                    .tasks = 3000,
                    .bidders = 10,
                    .update_every = 25,
                    .camouflage_ppm = 500000,
                    .seed = 1};
    int table = 0;
    const char *only = "ABCDE";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--table") == 0)
            table = 1;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            c.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--tune") == 0 && i + 4 < argc) {
            c.tuned = 1;
            c.stake_weight = (uint32_t)strtoul(argv[++i], NULL, 10);
            c.stake_share_ppm = (uint32_t)strtoul(argv[++i], NULL, 10);
            c.damping_ppm = (uint32_t)strtoul(argv[++i], NULL, 10);
            c.slash_ppm = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: ca-sim [--table] [--seed N] [--models ABCDE] [--tune W S D P]\n");
            return 2;
        }
    }
    if (table) {
        c.agents = 200;
        c.pretrusted = 10;
        c.tasks = 20000;
        c.update_every = 50;
    }
    c.onoff_tasks = c.tasks / 6; /* on, off, on, off, on, off */
    printf("ca-sim: %" PRIu32 " agents (%" PRIu32 " pre-trusted), %" PRIu32 " tasks, %" PRIu32
           " bidders, seed %" PRIu64 ", camouflage %.0f%%, slash %.0f%%\n",
           c.agents, c.pretrusted, c.tasks, c.bidders, c.seed, c.camouflage_ppm / 1e4,
           (c.tuned ? c.slash_ppm : default_slash_ppm()) / 1e4);
    printf("| model | malicious | random | EigenTrust | full | full/random | full/EigenTrust | "
           "goal |\n|---|---|---|---|---|---|---|---|\n");
    int misses = 0;
    cell last_c = {0, {0, 0, 0}};
    for (int m = 0; m < MODELS; m++) {
        if (strchr(only, model_names[m]) == NULL)
            continue;
        for (uint32_t k = 0; k < NSHARES; k++) {
            cell cl;
            memset(&cl, 0, sizeof cl);
            for (int p = 0; p < POLICIES; p++) {
                uint64_t honest = 0;
                if (run(&c, m, shares[k], p, &honest, &cl.failed[p]) != CA_OK)
                    return 1;
                cl.honest_tasks = honest; /* the same stream for every policy */
            }
            /* Goal: full <= random / 5 everywhere; full <= EigenTrust / 2 under C. */
            int ok = cl.failed[POL_FULL] * 5 <= cl.failed[POL_RANDOM];
            if (m == MODEL_C)
                ok = ok && cl.failed[POL_FULL] * 2 <= cl.failed[POL_EIGEN];
            misses += !ok;
            if (m == MODEL_C && shares[k] == 70)
                last_c = cl;
            double fr = cl.failed[POL_RANDOM]
                            ? (double)cl.failed[POL_FULL] / (double)cl.failed[POL_RANDOM]
                            : 0.0;
            double fe = cl.failed[POL_EIGEN]
                            ? (double)cl.failed[POL_FULL] / (double)cl.failed[POL_EIGEN]
                            : 0.0;
            printf("| %c | %" PRIu32 "%% | %.2f%% | %.2f%% | %.2f%% | %.3f | %.3f | %s |\n",
                   model_names[m], shares[k], pct(cl.failed[POL_RANDOM], cl.honest_tasks),
                   pct(cl.failed[POL_EIGEN], cl.honest_tasks),
                   pct(cl.failed[POL_FULL], cl.honest_tasks), fr, fe, ok ? "met" : "NOT MET");
            fflush(stdout);
        }
    }
    printf("ca-sim: %d cell(s) miss the goal\n", misses);
    if (!table && strchr(only, 'C') != NULL) {
        /* Determinism: the same seed gives the same counts again. */
        for (int p = 0; p < POLICIES; p++) {
            uint64_t honest = 0, failed = 0;
            if (run(&c, MODEL_C, 70, p, &honest, &failed) != CA_OK)
                return 1;
            if (honest != last_c.honest_tasks || failed != last_c.failed[p]) {
                printf("ca-sim: rerun of C 70%% differs (policy %d)\n", p);
                return 1;
            }
        }
        printf("ca-sim: rerun of C 70%% gives the same counts\n");
    }
    return misses ? 1 : 0;
}
