/* cyberagent-nats: shared pieces (common.h). */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const caps[NCAPS] = {"llm.translate.en-fr", "code.review.c", "llm.summarize"};

const char *const drop_names[DROP_KINDS] = {"garbage", "bad_sig", "expired", "replay",
                                            "forged",  "late",    "overflow"};

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

ca_status identity(uint64_t seed, uint64_t index, ca_identity **out, ca_agent_id *pk)
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

ca_status ledger_options(uint64_t seed, ca_ledger_options *lo)
{
    ca_identity *id = NULL;
    ca_status st = ca_ledger_options_init(lo, CA_LEDGER_OPTIONS_VERSION);
    if (st == CA_OK)
        st = identity(seed, ID_AUTHORITY, &id, &lo->authority);
    ca_identity_free(id);
    id = NULL;
    if (st == CA_OK)
        st = identity(seed, ID_ARBITER, &id, &lo->arbiter);
    ca_identity_free(id);
    lo->unbonding_delay = 7ull * 86400000u; /* ms: the clock here is Unix ms */
    lo->jail_equivocation = 3600000u;
    /* every other rule at its default, so cyberagent-replica (examples/replica) follows
     * the stream with --authority, --arbiter, --unbonding-delay and --jail-equivocation */
    return st;
}

void hex_of(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(s[2 * i]), lo = hi < 0 ? -1 : nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return s[2 * n] == '\0' ? 0 : -1;
}

void inbox_of(const ca_agent_id *id, char *out, size_t cap)
{
    char hex[17];
    hex_of(id->bytes, 8, hex);
    (void)snprintf(out, cap, "ca.agent.%s", hex);
}

void env_params(ca_envelope_params *ep, uint32_t kind, uint64_t now, uint64_t life_ms)
{
    (void)ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION);
    ep->kind = kind;
    ep->created_at = now;
    ep->expires_at = now + life_ms;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void notice_encode(const notice *n, uint8_t out[NOTICE_BYTES])
{
    out[0] = n->what;
    memcpy(out + 1, n->ref.bytes, 32);
    uint32_t s = (uint32_t)n->status;
    for (int i = 0; i < 4; i++)
        out[33 + i] = (uint8_t)(s >> (8 * i));
    put64(out + 37, n->seq);
    put64(out + 45, n->nonce);
    put64(out + 53, n->balance);
    put64(out + 61, n->bonded);
    put64(out + 69, n->serial);
}

int notice_decode(const uint8_t *in, size_t len, notice *n)
{
    if (len != NOTICE_BYTES || in[0] < NOTICE_JOINED || in[0] > NOTICE_OP)
        return -1;
    n->what = in[0];
    memcpy(n->ref.bytes, in + 1, 32);
    n->status = (int32_t)get32(in + 33);
    n->seq = get64(in + 37);
    n->nonce = get64(in + 45);
    n->balance = get64(in + 53);
    n->bonded = get64(in + 61);
    n->serial = get64(in + 69);
    return 0;
}

int drop_kind_of(ca_status st)
{
    switch (st) {
    case CA_ERR_BAD_SIGNATURE:
        return DROP_BAD_SIG;
    case CA_ERR_EXPIRED:
    case CA_ERR_NOT_YET_VALID:
    case CA_ERR_LIFETIME:
    case CA_ERR_ROUTING_STALE:
        return DROP_EXPIRED;
    case CA_ERR_REPLAY:
    case CA_ERR_REPLAY_FULL:
    case CA_ERR_REPLAY_QUOTA:
    case CA_ERR_TASK_DUPLICATE:
        return DROP_REPLAY;
    case CA_ERR_TASK_FORBIDDEN:
    case CA_ERR_TASK_MISMATCH:
    case CA_ERR_TASK_UNKNOWN_PARENT:
    case CA_ERR_ROUTING_CONFLICT:
        return DROP_FORGED;
    case CA_ERR_TASK_ORDER:
    case CA_ERR_TASK_DEADLINE:
        return DROP_LATE;
    default:
        return DROP_GARBAGE;
    }
}

void drops_print(const char *who, const drops *d)
{
    printf("dropped %s", who);
    uint64_t total = 0;
    for (int k = 0; k < DROP_KINDS; k++) {
        printf(" %s=%" PRIu64, drop_names[k], d->n[k]);
        total += d->n[k];
    }
    printf(" total=%" PRIu64 "\n", total);
    fflush(stdout);
}

/* ---- mbox ---- */

void mbox_init(mbox *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->cap = cap;
}

void mbox_close(mbox *b)
{
    pthread_mutex_lock(&b->mu);
    b->closed = 1;
    for (mail *m = b->head, *next; m != NULL; m = next) {
        next = m->next;
        natsMsg_Destroy(m->msg);
        free(m->data);
        free(m);
    }
    b->head = b->tail = NULL;
    b->len = 0;
    pthread_mutex_unlock(&b->mu);
}

int mbox_post(mbox *b, int kind, natsMsg *msg, void *data)
{
    mail *m = malloc(sizeof *m);
    pthread_mutex_lock(&b->mu);
    if (m == NULL || b->len >= b->cap || b->closed) {
        b->overflow += !b->closed;
        pthread_mutex_unlock(&b->mu);
        free(m);
        natsMsg_Destroy(msg);
        free(data);
        return 0;
    }
    m->next = NULL;
    m->kind = kind;
    m->msg = msg;
    m->data = data;
    if (b->tail != NULL)
        b->tail->next = m;
    else
        b->head = m;
    b->tail = m;
    b->len++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return 1;
}

mail *mbox_take(mbox *b, uint64_t until_ms)
{
    pthread_mutex_lock(&b->mu);
    while (b->head == NULL) {
        uint64_t now = now_ms();
        if (now >= until_ms)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait = until_ms - now;
        ts.tv_sec += (time_t)(wait / 1000u);
        ts.tv_nsec += (long)(wait % 1000u) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&b->cv, &b->mu, &ts);
    }
    mail *m = b->head;
    if (m != NULL) {
        b->head = m->next;
        if (b->head == NULL)
            b->tail = NULL;
        b->len--;
    }
    pthread_mutex_unlock(&b->mu);
    return m;
}

void mbox_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    (void)mbox_post((mbox *)closure, 0, msg, NULL);
}

/* ---- the ledger stream ---- */

void collect_result(void *ctx, uint64_t seq, uint32_t index, const rc_item *item, ca_status result)
{
    applied_results *r = ctx;
    (void)seq;
    (void)item;
    if (index < RC_FRAME_MAX_ITEMS) {
        r->st[index] = result;
        if (index + 1 > r->n)
            r->n = index + 1;
    }
}

int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -1;
    *out = (uint64_t)v;
    return 0;
}
