/* submit.c: see submit.h. */
#include "submit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rsub {
    rjs *h;
    ca_hash ledger_id;
    ca_agent_id signer;
    uint64_t last;
    uint8_t *buf;
    size_t cap;
};

rjs_status rsub_new(rsub **out, rjs *h, const ca_hash *ledger_id, const ca_agent_id *signer)
{
    *out = NULL;
    rsub *s = calloc(1, sizeof *s);
    if (s == NULL)
        return RJS_ERR_NOMEM;
    s->h = h;
    s->ledger_id = *ledger_id;
    s->signer = *signer;
    rjs_status st = rjs_last_subject_seq(h, signer->bytes, &s->last);
    if (st != RJS_OK) {
        free(s);
        return st;
    }
    *out = s;
    return RJS_OK;
}

void rsub_free(rsub *s)
{
    if (s == NULL)
        return;
    free(s->buf);
    free(s);
}

uint64_t rsub_last_seq(const rsub *s)
{
    return s->last;
}

static rjs_status publish(rsub *s, const uint8_t *msg, size_t len, uint32_t count,
                          rsub_receipt *out)
{
    rjs_ack ack;
    rjs_status st = rjs_publish(s->h, s->signer.bytes, msg, len, s->last, &ack);
    if (st == RJS_ERR_CONFLICT)
        s->last = ack.last_subject_seq;
    if (st != RJS_OK)
        return st;
    if (ack.seq > s->last)
        s->last = ack.seq;
    if (out != NULL) {
        out->seq = ack.seq;
        out->count = count;
        out->duplicate = ack.duplicate;
        out->attempts = ack.attempts;
        rjs_msg_id(msg, len, out->msg_id);
    }
    return RJS_OK;
}

rjs_status rsub_submit(rsub *s, const rc_item *items, size_t n, rsub_receipt *out,
                       ca_status *refused)
{
    if (refused != NULL)
        *refused = CA_OK;
    if (n == 0 || n > RC_FRAME_MAX_ITEMS)
        return RJS_ERR_ARG;
    for (size_t i = 0; i < n; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        ca_status st = ca_ledger_op_decode(items[i].op, items[i].op_len, &op);
        if (st == CA_OK)
            st = ca_ledger_op_verify(&s->ledger_id, items[i].op, items[i].op_len);
        if (st == CA_OK && memcmp(op.signer.bytes, s->signer.bytes, sizeof op.signer.bytes) != 0)
            st = CA_ERR_INVALID_ARGUMENT;
        if (st != CA_OK) {
            if (refused != NULL)
                *refused = st;
            return RJS_ERR_ARG;
        }
    }
    if (n == 1 && items[0].att_len == 0)
        return publish(s, items[0].op, items[0].op_len, 1, out);
    size_t need = rc_frame_size(items, n);
    if (need > s->cap) {
        uint8_t *b = realloc(s->buf, need);
        if (b == NULL)
            return RJS_ERR_NOMEM;
        s->buf = b;
        s->cap = need;
    }
    if (rc_frame_encode(items, n, s->buf, s->cap, &need) != CA_OK)
        return RJS_ERR_ARG;
    return publish(s, s->buf, need, (uint32_t)n, out);
}

rjs_status rsub_submit_raw(rsub *s, const uint8_t *msg, size_t len, rsub_receipt *out)
{
    rc_item *items = malloc(RC_FRAME_MAX_ITEMS * sizeof *items);
    if (items == NULL)
        return RJS_ERR_NOMEM;
    uint32_t count = (uint32_t)rc_frame_split(msg, len, items);
    free(items);
    return publish(s, msg, len, count, out);
}

/* ---- follower ---- */

struct rfol {
    rjs *h;
    rc_core *core;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int stop;
    int failed, oom;
    char err[320];
    /* results: for the message at sequence s (from 1), its ops' results are
     * res[off[s - 1] .. off[s]) */
    uint64_t *off;
    ca_status *res;
    size_t nmsgs, cap_msgs, nres, cap_res;
};

static void on_entry(void *ctx, uint64_t seq, uint32_t index, const rc_item *item, ca_status r)
{
    (void)item;
    rfol *f = ctx;
    if (r == CA_ERR_LEDGER_STALE_POSITION || seq != f->nmsgs + 1)
        return;
    (void)index;
    if (f->nres == f->cap_res) {
        size_t cap = f->cap_res ? 2 * f->cap_res : 4096;
        ca_status *b = realloc(f->res, cap * sizeof *b);
        if (b == NULL) {
            f->oom = 1; /* reported when the message is closed */
            return;
        }
        f->res = b;
        f->cap_res = cap;
    }
    f->res[f->nres++] = r;
}

static int close_msg(rfol *f, uint64_t seq)
{
    if (seq != f->nmsgs + 1)
        return 0;
    if (f->oom)
        return -1;
    if (f->nmsgs + 1 >= f->cap_msgs) {
        size_t cap = f->cap_msgs ? 2 * f->cap_msgs : 4096;
        uint64_t *b = realloc(f->off, cap * sizeof *b);
        if (b == NULL)
            return -1;
        if (f->off == NULL)
            b[0] = 0;
        f->off = b;
        f->cap_msgs = cap;
    }
    f->off[++f->nmsgs] = f->nres;
    return 0;
}

static void *follow(void *arg)
{
    rfol *f = arg;
    rjs_consumer *c = NULL;
    rjs_status st = rjs_consume(f->h, 1, &c);
    while (st == RJS_OK && !atomic_load(&f->stop)) {
        rjs_msg m;
        st = rjs_next(c, 200, &m);
        if (st == RJS_ERR_TIMEOUT) {
            st = RJS_OK;
            continue;
        }
        if (st != RJS_OK)
            break;
        pthread_mutex_lock(&f->mu);
        ca_status cs = rc_apply(f->core, m.seq, m.time_ns, m.data, m.len, NULL, NULL);
        if (cs != CA_OK || close_msg(f, m.seq) != 0) {
            snprintf(f->err, sizeof f->err, "follower: %s",
                     cs != CA_OK ? rc_error(f->core) : "out of memory");
            f->failed = 1;
            st = RJS_ERR_NATS;
        }
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    if (st != RJS_OK) {
        pthread_mutex_lock(&f->mu);
        if (!f->failed)
            snprintf(f->err, sizeof f->err, "follower: %s", rjs_error(f->h));
        f->failed = 1;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
    }
    rjs_consumer_free(c);
    return NULL;
}

rjs_status rfol_start(rfol **out, const rjs_options *jo, const ca_ledger_options *lo)
{
    *out = NULL;
    rfol *f = calloc(1, sizeof *f);
    if (f == NULL)
        return RJS_ERR_NOMEM;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    rc_options ro = {.ledger = lo, .on_entry = on_entry, .ctx = f};
    rjs_status st = rjs_open(&f->h, jo);
    if (st == RJS_OK && rc_open(&f->core, &ro) != CA_OK)
        st = RJS_ERR_NOMEM;
    if (st == RJS_OK && pthread_create(&f->thread, NULL, follow, f) != 0)
        st = RJS_ERR_NOMEM;
    if (st != RJS_OK) {
        rc_close(f->core);
        rjs_close(f->h);
        free(f);
        return st;
    }
    *out = f;
    return RJS_OK;
}

/* Waits (mu held) until message seq is processed; RJS_OK, TIMEOUT or NATS (stopped). */
static rjs_status wait_for(rfol *f, uint64_t seq, int64_t timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (f->nmsgs < seq) {
        if (f->failed)
            return RJS_ERR_NATS;
        if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0 && f->nmsgs < seq)
            return f->failed ? RJS_ERR_NATS : RJS_ERR_TIMEOUT;
    }
    return RJS_OK;
}

rjs_status rfol_status(rfol *f, uint64_t seq, uint32_t index, int64_t timeout_ms, ca_status *result)
{
    if (seq == 0)
        return RJS_ERR_ARG;
    pthread_mutex_lock(&f->mu);
    rjs_status st = wait_for(f, seq, timeout_ms);
    if (st == RJS_OK) {
        uint64_t a = f->off[seq - 1], b = f->off[seq];
        if (index >= b - a)
            st = RJS_ERR_ARG;
        else
            *result = f->res[a + index];
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

rjs_status rfol_state(rfol *f, uint64_t seq, int64_t timeout_ms, rc_checkpoint *out)
{
    pthread_mutex_lock(&f->mu);
    rjs_status st = wait_for(f, seq, timeout_ms);
    if (st == RJS_OK && rc_state(f->core, out) != CA_OK)
        st = RJS_ERR_NOMEM;
    pthread_mutex_unlock(&f->mu);
    return st;
}

void rfol_with_ledger(rfol *f, void (*fn)(void *ctx, ca_ledger *l), void *ctx)
{
    pthread_mutex_lock(&f->mu);
    fn(ctx, rc_ledger(f->core));
    pthread_mutex_unlock(&f->mu);
}

const char *rfol_error(rfol *f)
{
    return f->err;
}

void rfol_stop(rfol *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    rc_close(f->core);
    rjs_close(f->h);
    free(f->off);
    free(f->res);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
