/*
 * The hiring story: agents with identities and signed cards, an in-memory
 * ledger, reputation and routing, and a loop of full hires (request, bids,
 * award, escrow, result, receipt) over the public API only. Shared by the
 * `cyberagent-hire` demo (examples/hire/main.c) and ca-bench
 * (tests/bench/bench_hire.c).
 *
 * Everything is deterministic: identities come from seeds derived from
 * `seed`, time is a simulated clock, and Ed25519 signatures are
 * deterministic, so two runs with one seed end in the same ledger state hash.
 */
#ifndef CA_HIRE_STORY_H
#define CA_HIRE_STORY_H

#include <stddef.h>
#include <stdint.h>

#include <cyberagent.h>

/* Roles. */
enum { HIRE_HIRER = 0, HIRE_WORKER = 1, HIRE_EQUIVOCATOR = 2, HIRE_LATECOMER = 3 };

/* Timeline events (one line each in the demo). */
typedef enum hire_event_kind {
    HIRE_EV_AGENT = 1,    /* agent: joined (card registered, funds minted, stake bonded) */
    HIRE_EV_REQUEST,      /* agent posts task: text = capability, amount = max price,
                             amount2 = collateral, amount3 = deadline in ms from now */
    HIRE_EV_BIDS,         /* text = "bob 45, carol 52"; amount = number of bids */
    HIRE_EV_NO_BIDS,      /* nobody could bid: request canceled */
    HIRE_EV_AWARD,        /* agent wins; text = score explanation; other = runner-up (-1) */
    HIRE_EV_ESCROW,       /* amount = payment locked by other (hirer), amount2 = collateral */
    HIRE_EV_DELIVERED,    /* agent's result accepted, amount = ms after award; then: */
    HIRE_EV_PAID,         /* other (hirer) accepts, rates `rating`, pays amount (release) */
    HIRE_EV_EQUIVOCATION, /* agent signed a second result; text = evidence hash (hex) */
    HIRE_EV_SLASH,        /* agent slashed amount (ppm in rating); amount2 = reporter reward
                             to other, amount3 = victim share to other, amount4 = burned;
                             text = evidence kind */
    HIRE_EV_REJECTED,     /* other (hirer) rejects agent's result, rating 0, disputes */
    HIRE_EV_SPLIT,        /* arbiter: amount = collateral to hirer, amount2 = payment back */
    HIRE_EV_MISSED,       /* agent missed its deadline; other (hirer) cancels */
    HIRE_EV_REFUND,       /* payment amount back to other (hirer), collateral amount2 back */
    HIRE_EV_REPUTATION    /* agent's reputation now rating (ppm); text = note */
} hire_event_kind;

typedef struct hire_event {
    hire_event_kind kind;
    uint64_t time_ms; /* simulated ms since the story began */
    int32_t task;     /* 1-based task number, 0 outside tasks */
    int32_t agent;    /* agent index, -1 when none */
    int32_t other;    /* agent index, -1 when none */
    uint64_t amount, amount2, amount3, amount4;
    uint32_t rating;
    char agent_name[16]; /* names of agent and other ("" when none) */
    char other_name[16];
    char text[256];
} hire_event;

typedef struct hire_config {
    uint32_t agents;       /* total agents, hirers included (>= 4) */
    uint32_t tasks;        /* tasks to run */
    uint64_t seed;         /* identities, prices, qualities, choices */
    uint32_t cheaters;     /* 1: one equivocator and one latecomer (needs agents >= 6) */
    uint32_t max_bidders;  /* bids per task at most (cheaters always bid) */
    uint32_t rep_every;    /* recompute reputation every this many settled tasks (>= 1) */
    int explore;           /* 1: Thompson-sampling exploration in routing (seeded) */
    uint32_t first_hirers; /* hirers: 0 = automatic (1 up to 20 agents, else agents / 20) */
    void (*on_event)(const hire_event *ev, void *ctx); /* may be NULL */
    void (*on_progress)(uint32_t done, uint32_t total, void *ctx);
    void *ctx;
} hire_config;

void hire_config_default(hire_config *cfg);

typedef struct hire_story hire_story;

/* Builds the agents, cards, ledger, reputation and routing (not timed by the bench). */
ca_status hire_story_new(hire_story **out, const hire_config *cfg);
void hire_story_free(hire_story *s);

/* Runs tasks [done, done + n). Returns the first unexpected failure. */
ca_status hire_story_run(hire_story *s, uint32_t n);

/* Per-agent summary after a run. */
typedef struct hire_agent_summary {
    char name[16];
    char did[CA_DID_MAX_CHARS + 1];
    int role;
    uint64_t balance, bonded, slashed, jailed_until;
    uint32_t won, completed, offences;
    uint32_t won_after_offence; /* awards after the first offence */
    uint32_t reputation_ppm;    /* Beta expected value, ppm */
    double global;              /* EigenTrust */
    uint64_t ratings;
} hire_agent_summary;

uint32_t hire_story_agent_count(const hire_story *s);
void hire_story_agent(const hire_story *s, uint32_t i, hire_agent_summary *out);

typedef struct hire_totals {
    uint32_t tasks, completed, refunded, slashed, open; /* open must be 0 at the end */
    uint64_t minted, burned, escrowed;
    uint64_t signs, verifies;          /* Ed25519 operations the story made */
    uint64_t sign_bytes, verify_bytes; /* bytes those signatures covered (about) */
    uint64_t messages;                 /* envelopes and signed ledger ops */
    ca_hash state_hash;                /* ledger state hash */
    int ledger_ok;                     /* ca_ledger_check passed */
    int settled_ok;                    /* every task's thread and escrow agree */
} hire_totals;

/* Runs ca_ledger_check and the story's own settlement checks. */
ca_status hire_story_totals(hire_story *s, hire_totals *out);

/* Ed25519 work so far (cheap; no checks): signatures made and checked, bytes covered. */
typedef struct hire_counters {
    uint64_t signs, verifies, sign_bytes, verify_bytes, tasks;
} hire_counters;
void hire_story_counters(const hire_story *s, hire_counters *out);

/* Reputation snapshot and task digests, to compare two runs byte for byte. */
ca_status hire_story_fingerprint(hire_story *s, uint8_t **out, size_t *out_len);

/* Shortened did:key for printing ("did:key:z6Mk…AbCd"). */
void hire_short_did(const char *did, char *out, size_t out_cap);

#endif
