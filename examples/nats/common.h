/*
 * cyberagent-nats: pieces shared by the market, the workers, the auditor and
 * the hostile peer (examples/nats). Public libcyberagent API only, plus the
 * JetStream module of examples/replica (js.h).
 */
#ifndef CA_EXAMPLES_NATS_COMMON_H
#define CA_EXAMPLES_NATS_COMMON_H

#include <nats/nats.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cyberagent.h>

#include "js.h"
#include "replica_core.h"

#define NCAPS      3u
#define COLLATERAL 20u
#define MAX_PRICE  100u
#define MINT_JOIN  5000u /* minted once per admitted worker identity */
#define BOND       2000u
#define BUF        8192u
#define MAX_WORKER 64u /* worker identities the market admits: indexes 0 .. 63 */

/* Application envelope kinds (CA_KIND_APP_MIN and up). */
#define KIND_DONE   (CA_KIND_APP_MIN + 1u) /* hirer -> every worker: stop */
#define KIND_NOTICE (CA_KIND_APP_MIN + 2u) /* hirer -> one worker: ledger news */

/* Notice bodies (fixed layout, little endian, NOTICE_BYTES long). */
enum { NOTICE_JOINED = 1, NOTICE_OPENED = 2, NOTICE_OP = 3 };
#define NOTICE_BYTES 77u
typedef struct notice {
    uint8_t what;   /* NOTICE_* */
    ca_hash ref;    /* OPENED: the award id; OP: the op's nonce in the first 8 bytes */
    int32_t status; /* OPENED / OP: the ledger's status for the op */
    uint64_t seq;   /* stream sequence of the op (0: none) */
    uint64_t nonce; /* the worker's account nonce now */
    uint64_t balance, bonded;
    uint64_t serial; /* makes every notice distinct (two equal ones would be one id) */
} notice;
void notice_encode(const notice *n, uint8_t out[NOTICE_BYTES]);
int notice_decode(const uint8_t *in, size_t len, notice *n);

extern const char *const caps[NCAPS];

uint64_t now_ms(void);
void sleep_ms(unsigned ms);
uint64_t splitmix(uint64_t *x);

/* The demo's identities, derived from the seed: 0 the hirer, 100 + i worker i,
 * 1000000001 the mint authority, 1000000002 the arbiter. */
ca_status identity(uint64_t seed, uint64_t index, ca_identity **out, ca_agent_id *pk);
#define ID_HIRER     0u
#define ID_WORKER0   100u
#define ID_AUTHORITY 1000000001u
#define ID_ARBITER   1000000002u

/* The market ledger's rules, which every process derives from the seed. */
ca_status ledger_options(uint64_t seed, ca_ledger_options *lo);

/* "ca.agent." + the first 8 bytes of the id in hex. */
void inbox_of(const ca_agent_id *id, char *out, size_t cap);
void hex_of(const uint8_t *b, size_t n, char *out);
int unhex(const char *s, uint8_t *out, size_t n);

void env_params(ca_envelope_params *ep, uint32_t kind, uint64_t now, uint64_t life_ms);

/* ---- drop counters: every message a process refuses is counted once ---- */
enum {
    DROP_GARBAGE,  /* does not decode */
    DROP_BAD_SIG,  /* signature does not verify */
    DROP_EXPIRED,  /* outside its time window (expired, not yet valid, a stale card) */
    DROP_REPLAY,   /* its id was seen before */
    DROP_FORGED,   /* validly signed by someone who may not send it here */
    DROP_LATE,     /* a real message that came too late to matter (a bid after the award) */
    DROP_OVERFLOW, /* the process's queue was full */
    DROP_KINDS
};
extern const char *const drop_names[DROP_KINDS];
typedef struct drops {
    uint64_t n[DROP_KINDS];
} drops;
/* Maps a verification status to its drop kind. */
int drop_kind_of(ca_status st);
void drops_print(const char *who, const drops *d);

/* ---- a mailbox: every subscription and thread posts here, one thread reads ---- */
typedef struct mail {
    struct mail *next;
    int kind; /* 0: a NATS message (msg); else a user event (data) */
    natsMsg *msg;
    void *data;
} mail;
typedef struct mbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    mail *head, *tail;
    size_t len, cap;
    uint64_t overflow;
    int closed;
} mbox;
void mbox_init(mbox *b, size_t cap);
/* Drops every mail and every later post. The box itself stays valid (keep it in
 * static storage): a NATS delivery thread may still post after the
 * subscriptions are destroyed, until nats_Close(). */
void mbox_close(mbox *b);
/* Posts; when the box holds `cap` mails the mail is dropped (0 returned). */
int mbox_post(mbox *b, int kind, natsMsg *msg, void *data);
/* Waits until a mail is there or `until_ms` (wall clock) passes: NULL then. */
mail *mbox_take(mbox *b, uint64_t until_ms);
/* A NATS message handler that posts to the mbox given as closure. */
void mbox_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);

/* ---- the ledger stream ----
 *
 * Messages are those of examples/replica/replica_core.h: one signed op, or a
 * frame of ops each with its attachment (rc_frame_encode); item i of stream
 * sequence s is applied at log position s * 65536 + i, at the stream's
 * timestamp (rc_apply, ca_ledger_apply_log). A message that is neither is
 * one refused entry. The market, the auditor and cyberagent-replica apply
 * the stream with the same core, so they agree on every state hash. */
#define REC_MAX 256u /* ops the market puts in one message at most */

/* Collects the per-item results of one rc_apply (rc_options.on_entry, ctx = this). */
typedef struct applied_results {
    size_t n;
    ca_status st[RC_FRAME_MAX_ITEMS];
} applied_results;
void collect_result(void *ctx, uint64_t seq, uint32_t index, const rc_item *item, ca_status result);

int parse_u64(const char *s, uint64_t *out);

#endif
