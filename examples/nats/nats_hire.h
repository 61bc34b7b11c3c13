/* cyberagent-nats: the modes and their options (main.c parses them). */
#ifndef CA_EXAMPLES_NATS_HIRE_H
#define CA_EXAMPLES_NATS_HIRE_H

#include <stdint.h>

#define SUBJ_JOIN    "ca.m.join"    /* worker -> market: its signed card (also its heartbeat) */
#define SUBJ_CONSENT "ca.m.consent" /* worker -> market: award id | consent to the escrow */
#define SUBJ_DONE    "ca.done"      /* market -> workers: signed DONE */
#define ENV_LIFE_MS  60000u         /* lifetime of the envelopes the demo signs */

typedef struct opts {
    const char *url;    /* NATS / JetStream client URLs, comma-separated */
    const char *stream; /* the ledger stream (js.h), default LEDGER */
    char prefix[96];    /* its subject prefix: "ledger.ops" for LEDGER, else "ledger.<stream>" */
    int replicas;       /* its replicas when created, default 3 */
    uint64_t seed;
    uint64_t workers; /* market: bonded workers to wait for before the first task */
    uint64_t tasks;
    uint64_t window;     /* market: tasks in flight at most */
    uint64_t timeout_ms; /* market: give up (exit 1) after this long */
    uint64_t index;      /* worker */
    int cheat;           /* worker: equivocates once it has won a task honestly */
    uint64_t work_ms;    /* worker: how long the work takes (default 0) */
    int verbose;
    uint64_t until_seq;   /* audit: stop at this stream sequence (0: the stream's last) */
    uint64_t duration_ms; /* hostile: stop after this long (or at the hirer's DONE) */
    uint64_t period_ms;   /* hostile: one round of every attack every period */
} opts;

int run_market(const opts *o);
int run_worker(const opts *o);
int run_audit(const opts *o);
int run_hostile(const opts *o);

#endif
