/*
 * js.c: the ledger's log on NATS JetStream (see js.h).
 */
#include "js.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_CHARS 48
#define MAX_URLS       16
#define NS_PER_MS      1000000

struct rjs {
    natsOptions *nopts;
    natsConnection *nc;
    jsCtx *js;
    rjs_options o;
    char stream[NAME_MAX_CHARS + 1];
    char prefix[NAME_MAX_CHARS + 1];
    char filter[NAME_MAX_CHARS + 3]; /* "<prefix>.*" */
    char err[320];
    atomic_uint_fast64_t published, duplicates, by_precheck, retries, timeouts, no_responders;
    atomic_uint_fast64_t js_errors, conflicts;
    atomic_int_fast64_t max_blocked_ms;
    atomic_uint_fast64_t disconnects, reconnects, consumer_restarts, consumer_stalls;
    atomic_uint_fast64_t repeats_dropped;
    atomic_uint_fast64_t async_errors;
    atomic_uintptr_t hb_missed_sub; /* the last subscription libnats reset (missed heartbeats) */
    atomic_int closed;              /* libnats delivered its last callback (on_closed) */
};

struct rjs_consumer {
    rjs *h;
    natsSubscription *sub;
    uint64_t next;
    int64_t progress_ms; /* when a message was last returned or the consumer made */
    char node[64];       /* rjs_consume_on: the server that must host the consumer */
    int on_leader;       /* rjs_consume: host it on the stream leader */
    natsMsg *cur;
    char msg_id[RJS_MSG_ID_CHARS + 1];
};

const char *rjs_status_str(rjs_status s)
{
    switch (s) {
    case RJS_OK:
        return "RJS_OK";
    case RJS_ERR_ARG:
        return "RJS_ERR_ARG";
    case RJS_ERR_NATS:
        return "RJS_ERR_NATS";
    case RJS_ERR_TIMEOUT:
        return "RJS_ERR_TIMEOUT";
    case RJS_ERR_CONFLICT:
        return "RJS_ERR_CONFLICT";
    case RJS_ERR_CONFIG:
        return "RJS_ERR_CONFIG";
    case RJS_ERR_GAP:
        return "RJS_ERR_GAP";
    case RJS_ERR_NOMEM:
        return "RJS_ERR_NOMEM";
    }
    return "RJS_ERR_?";
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / NS_PER_MS;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static rjs_status
fail(rjs *h, rjs_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (h != NULL) {
        vsnprintf(h->err, sizeof h->err, fmt, ap);
    } else {
        fputs("rjs: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
    return st;
}

/* The failure of a NATS call, with libnats' own last error text. */
static rjs_status fail_nats(rjs *h, rjs_status st, const char *what, natsStatus s, jsErrCode jerr)
{
    const char *txt = nats_GetLastError(NULL);
    return fail(h, st, "%s: %s (status %d, JetStream error %d)%s%s", what, natsStatus_GetText(s),
                (int)s, (int)jerr, txt != NULL && txt[0] != '\0' ? ": " : "",
                txt != NULL ? txt : "");
}

/* Failures a later attempt can get past: no answer (leader lost, election
 * in progress), no responder, the connection being re-established, the
 * cluster or stream leader not available yet, a leader's proposal failing
 * (a 503 that carries no JetStream error code). */
static int transient(natsStatus s, jsErrCode jerr)
{
    switch (s) {
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_NO_SERVER:
        return 1;
    case NATS_ERR:
        return jerr == 0 || jerr == JSClusterNotAvailErr || jerr == JSClusterNotLeaderErr ||
               jerr == JSClusterNoPeersErr || jerr == JSInsufficientResourcesErr ||
               jerr == JSStreamOfflineErr || jerr == JSClusterNotActiveErr ||
               jerr == JSNotEnabledErr;
    default:
        return 0;
    }
}

static void backoff(unsigned attempt)
{
    int64_t ms = 25;
    for (unsigned i = 1; i < attempt && ms < 400; i++) {
        ms *= 2;
    }
    nats_Sleep(ms);
}

void rjs_options_init(rjs_options *o)
{
    memset(o, 0, sizeof *o);
    o->stream = RJS_DEFAULT_STREAM;
    o->subject_prefix = RJS_DEFAULT_PREFIX;
    o->replicas = 3;
    o->create = 1;
    o->randomize = 1;
    o->duplicate_window_ms = 120000;
    o->attempt_timeout_ms = 2000;
    o->publish_deadline_ms = 60000;
    o->heartbeat_ms = 1000;
}

static int name_ok(const char *s, int dots)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_CHARS || s[0] == '.' || s[n - 1] == '.') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (dots && c == '.' && s[i + 1] != '.');
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    atomic_fetch_add(&((rjs *)closure)->disconnects, 1);
}

/* libnats runs callbacks on its own thread, after natsConnection_Close has returned; the
 * closed callback is the last one, so rjs_close frees the handle only after it. */
static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    atomic_store(&((rjs *)closure)->closed, 1);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    atomic_fetch_add(&((rjs *)closure)->reconnects, 1);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    atomic_fetch_add(&((rjs *)closure)->async_errors, 1);
    if (err == NATS_MISSED_HEARTBEAT && sub != NULL) {
        atomic_store(&((rjs *)closure)->hb_missed_sub, (uintptr_t)sub);
    }
    if (getenv("RJS_VERBOSE") != NULL) {
        fprintf(stderr, "rjs: async error: %s\n", natsStatus_GetText(err));
    }
}

static rjs_status check_config(rjs *h, const jsStreamInfo *si)
{
    const jsStreamConfig *c = si->Config;
    if (c == NULL || c->SubjectsLen != 1 || strcmp(c->Subjects[0], h->filter) != 0 ||
        c->Storage != js_FileStorage || c->Replicas != h->o.replicas) {
        return fail(h, RJS_ERR_CONFIG,
                    "stream %s exists with another configuration (want subjects %s, file "
                    "storage, %d replicas)",
                    h->stream, h->filter, h->o.replicas);
    }
    return RJS_OK;
}

static rjs_status ensure_stream(rjs *h, int64_t deadline)
{
    for (unsigned attempt = 1;; attempt++) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetStreamInfo(&si, h->js, h->stream, NULL, &jerr);
        if (s == NATS_OK) {
            rjs_status st = check_config(h, si);
            jsStreamInfo_Destroy(si);
            return st;
        }
        if ((s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) && h->o.create) {
            const char *subjects[1] = {h->filter};
            jsStreamConfig cfg;
            jsStreamConfig_Init(&cfg);
            cfg.Name = h->stream;
            cfg.Description = "cyberagent ledger ops, one subject per signer";
            cfg.Subjects = subjects;
            cfg.SubjectsLen = 1;
            cfg.Storage = js_FileStorage;
            cfg.Replicas = h->o.replicas;
            cfg.Retention = js_LimitsPolicy;
            cfg.Duplicates = h->o.duplicate_window_ms * NS_PER_MS;
            cfg.DenyDelete = true;
            cfg.DenyPurge = true;
            s = js_AddStream(&si, h->js, &cfg, NULL, &jerr);
            if (s == NATS_OK) {
                jsStreamInfo_Destroy(si);
                return RJS_OK;
            }
            if (jerr == JSStreamNameExistErr) {
                continue; /* created meanwhile by another handle: look it up */
            }
        } else if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
            return fail(h, RJS_ERR_NATS, "stream %s does not exist", h->stream);
        }
        if (!transient(s, jerr)) {
            return fail_nats(h, RJS_ERR_NATS, "stream lookup", s, jerr);
        }
        if (mono_ms() >= deadline) {
            return fail_nats(h, RJS_ERR_TIMEOUT, "stream lookup (deadline passed)", s, jerr);
        }
        backoff(attempt);
    }
}

static rjs_status connect_all(rjs *h, const char *url_list, int64_t deadline)
{
    char buf[1024];
    const char *urls[MAX_URLS];
    int n = 0;
    if (strlen(url_list) >= sizeof buf) {
        return fail(h, RJS_ERR_ARG, "urls longer than %zu characters", sizeof buf - 1);
    }
    strcpy(buf, url_list);
    for (char *p = buf; *p != '\0';) {
        char *end = strchr(p, ',');
        if (end != NULL) {
            *end = '\0';
        }
        if (*p != '\0') {
            if (n == MAX_URLS) {
                return fail(h, RJS_ERR_ARG, "more than %d urls", MAX_URLS);
            }
            urls[n++] = p;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (n == 0) {
        return fail(h, RJS_ERR_ARG, "no url in '%s'", url_list);
    }
    natsStatus s = natsOptions_Create(&h->nopts);
    if (s == NATS_OK) {
        s = natsOptions_SetServers(h->nopts, urls, n);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetNoRandomize(h->nopts, h->o.randomize == 0);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(h->nopts, -1);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(h->nopts, 100);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(h->nopts, h->o.attempt_timeout_ms);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetPingInterval(h->nopts, 2000);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetDisconnectedCB(h->nopts, on_disconnected, h);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectedCB(h->nopts, on_reconnected, h);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetClosedCB(h->nopts, on_closed, h);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetErrorHandler(h->nopts, on_async_error, h);
    }
    if (s != NATS_OK) {
        return fail_nats(h, RJS_ERR_NATS, "connection options", s, 0);
    }
    for (unsigned attempt = 1;; attempt++) {
        s = natsConnection_Connect(&h->nc, h->nopts);
        if (s == NATS_OK) {
            break;
        }
        if (!transient(s, 0) || mono_ms() >= deadline) {
            return fail_nats(h, RJS_ERR_NATS, "connect", s, 0);
        }
        backoff(attempt);
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = h->o.attempt_timeout_ms;
    s = natsConnection_JetStream(&h->js, h->nc, &jo);
    if (s != NATS_OK) {
        return fail_nats(h, RJS_ERR_NATS, "JetStream context", s, 0);
    }
    return RJS_OK;
}

rjs_status rjs_open(rjs **out, const rjs_options *o)
{
    if (out == NULL) {
        return fail(NULL, RJS_ERR_ARG, "out is NULL");
    }
    *out = NULL;
    if (o == NULL || o->urls == NULL || o->stream == NULL || o->subject_prefix == NULL) {
        return fail(NULL, RJS_ERR_ARG, "options, urls, stream and subject_prefix are required");
    }
    if (!name_ok(o->stream, 0) || !name_ok(o->subject_prefix, 1)) {
        return fail(NULL, RJS_ERR_ARG,
                    "stream and subject prefix: 1-%d characters of [A-Za-z0-9_-] (the prefix "
                    "may have single inner dots)",
                    NAME_MAX_CHARS);
    }
    if (o->replicas < 1 || o->replicas > 5 || o->attempt_timeout_ms <= 0 ||
        o->publish_deadline_ms < o->attempt_timeout_ms ||
        o->duplicate_window_ms <= o->publish_deadline_ms || o->heartbeat_ms < 100 ||
        o->pending_msgs < 0) {
        return fail(NULL, RJS_ERR_ARG,
                    "need 1 <= replicas <= 5, 0 < attempt_timeout_ms <= publish_deadline_ms < "
                    "duplicate_window_ms, heartbeat_ms >= 100, pending_msgs >= 0");
    }
    if (sodium_init() < 0) {
        return fail(NULL, RJS_ERR_NATS, "sodium_init failed");
    }
    rjs *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return fail(NULL, RJS_ERR_NOMEM, "out of memory");
    }
    h->o = *o;
    strcpy(h->stream, o->stream);
    strcpy(h->prefix, o->subject_prefix);
    snprintf(h->filter, sizeof h->filter, "%s.*", h->prefix);
    h->o.stream = h->stream;
    h->o.subject_prefix = h->prefix;
    h->o.urls = NULL; /* not kept: copied into the connection options */
    int64_t deadline = mono_ms() + o->publish_deadline_ms;
    rjs_status st = connect_all(h, o->urls, deadline);
    if (st == RJS_OK) {
        st = ensure_stream(h, deadline);
    }
    if (st != RJS_OK) {
        fprintf(stderr, "rjs: %s\n", h->err);
        rjs_close(h);
        return st;
    }
    *out = h;
    return RJS_OK;
}

void rjs_close(rjs *h)
{
    if (h == NULL) {
        return;
    }
    jsCtx_Destroy(h->js);
    if (h->nc != NULL) {
        natsConnection_Close(h->nc);
        /* A disconnected or error callback may still be queued for this handle. */
        for (int i = 0; i < 500 && !atomic_load(&h->closed); i++) {
            nats_Sleep(10);
        }
        natsConnection_Destroy(h->nc);
    }
    natsOptions_Destroy(h->nopts);
    free(h);
}

void *rjs_jetstream(rjs *h)
{
    return h->js;
}

const char *rjs_error(const rjs *h)
{
    return h != NULL ? h->err : "";
}

void rjs_msg_id(const void *op, size_t op_len, char out[RJS_MSG_ID_CHARS + 1])
{
    unsigned char d[32];
    crypto_generichash(d, sizeof d, op, op_len, NULL, 0);
    sodium_bin2hex(out, RJS_MSG_ID_CHARS + 1, d, sizeof d);
}

rjs_status rjs_subject(const rjs *h, const uint8_t signer[32], char out[RJS_SUBJECT_MAX])
{
    if (h == NULL || signer == NULL || out == NULL) {
        return RJS_ERR_ARG;
    }
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, signer, 32);
    snprintf(out, RJS_SUBJECT_MAX, "%s.%s", h->prefix, hex);
    return RJS_OK;
}

/* One request for the subject's last message: its sequence (0 if none) and
 * message id ("" if none). */
static natsStatus last_on_subject(rjs *h, const char *subject, uint64_t *seq,
                                  char id[RJS_MSG_ID_CHARS + 1], jsErrCode *jerr)
{
    natsMsg *m = NULL;
    *seq = 0;
    id[0] = '\0';
    natsStatus s = js_GetLastMsg(&m, h->js, h->stream, subject, NULL, jerr);
    if (s == NATS_NOT_FOUND || *jerr == JSNoMessageFoundErr) {
        return NATS_OK;
    }
    if (s != NATS_OK) {
        return s;
    }
    const char *v = NULL;
    *seq = natsMsg_GetSequence(m);
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) == NATS_OK && v != NULL &&
        strlen(v) <= RJS_MSG_ID_CHARS) {
        strcpy(id, v);
    }
    natsMsg_Destroy(m);
    return NATS_OK;
}

static void note_blocked(rjs *h, rjs_ack *ack, int64_t start)
{
    ack->blocked_ms = mono_ms() - start;
    int_fast64_t prev = atomic_load(&h->max_blocked_ms);
    while (ack->blocked_ms > prev &&
           !atomic_compare_exchange_weak(&h->max_blocked_ms, &prev, ack->blocked_ms)) {
    }
}

rjs_status rjs_publish(rjs *h, const uint8_t signer[32], const void *op, size_t op_len,
                       uint64_t expect, rjs_ack *ack)
{
    rjs_ack local;
    if (ack == NULL) {
        ack = &local;
    }
    memset(ack, 0, sizeof *ack);
    if (h == NULL || signer == NULL || (op == NULL && op_len > 0) || op_len > INT32_MAX) {
        return fail(h, RJS_ERR_ARG, "invalid argument");
    }
    int64_t start = mono_ms();
    int64_t deadline = start + h->o.publish_deadline_ms;
    char subject[RJS_SUBJECT_MAX], id[RJS_MSG_ID_CHARS + 1];
    rjs_subject(h, signer, subject);
    rjs_msg_id(op, op_len, id);

    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)op, (int)op_len);
    if (s != NATS_OK) {
        return fail_nats(h, RJS_ERR_NOMEM, "message", s, 0);
    }
    rjs_status st = RJS_ERR_TIMEOUT;
    for (;;) {
        jsPubOptions po;
        jsPubAck *pa = NULL;
        jsErrCode jerr = 0;
        ack->attempts++;
        if (ack->attempts > 1) {
            atomic_fetch_add(&h->retries, 1);
        }
        jsPubOptions_Init(&po);
        po.MsgId = id;
        po.ExpectStream = h->stream;
        int64_t left = deadline - mono_ms();
        po.MaxWait =
            left < h->o.attempt_timeout_ms ? (left > 10 ? left : 10) : h->o.attempt_timeout_ms;
        if (expect == 0) {
            po.ExpectNoMessage = true;
        } else if (expect != RJS_EXPECT_ANY) {
            po.ExpectLastSubjectSeq = expect;
        }
        s = js_PublishMsg(&pa, h->js, m, &po, &jerr);
        if (s == NATS_OK && pa->Sequence > 0) {
            ack->seq = pa->Sequence;
            ack->duplicate = pa->Duplicate;
            jsPubAck_Destroy(pa);
            st = RJS_OK;
            break;
        }
        jsPubAck_Destroy(pa);
        if (getenv("RJS_VERBOSE") != NULL) {
            fprintf(stderr, "rjs: %" PRId64 " ms: publish attempt %u: %s (JetStream error %d)\n",
                    mono_ms() - start, ack->attempts, natsStatus_GetText(s), (int)jerr);
        }
        if (s == NATS_TIMEOUT) {
            atomic_fetch_add(&h->timeouts, 1);
        } else if (s == NATS_NO_RESPONDERS) {
            atomic_fetch_add(&h->no_responders, 1);
        } else if (s == NATS_ERR && jerr != JSStreamWrongLastSequenceErr) {
            atomic_fetch_add(&h->js_errors, 1);
        }
        if (s == NATS_ERR && jerr == JSStreamWrongLastSequenceErr) {
            /* The pre-check refused the op. Either another op of this signer
             * is the subject's last (a conflict), or this very op is: an
             * earlier attempt stored it and the ack was lost. */
            uint64_t last = 0;
            char last_id[RJS_MSG_ID_CHARS + 1];
            jsErrCode lerr = 0;
            natsStatus ls = last_on_subject(h, subject, &last, last_id, &lerr);
            if (ls == NATS_OK && strcmp(last_id, id) == 0) {
                ack->seq = last;
                ack->duplicate = 1;
                atomic_fetch_add(&h->by_precheck, 1);
                st = RJS_OK;
                break;
            }
            if (ls == NATS_OK) {
                ack->last_subject_seq = last;
                atomic_fetch_add(&h->conflicts, 1);
                st = fail(h, RJS_ERR_CONFLICT,
                          "%s: expected last subject sequence %" PRIu64 ", the subject's last is "
                          "%" PRIu64,
                          subject, expect, last);
                break;
            }
            s = ls;
            jerr = lerr;
        }
        if (s == NATS_OK) {
            s = NATS_ERR; /* an ack without a sequence: ask again */
        }
        if (!transient(s, jerr)) {
            st = fail_nats(h, RJS_ERR_NATS, "publish", s, jerr);
            break;
        }
        if (mono_ms() >= deadline) {
            st = fail_nats(h, RJS_ERR_TIMEOUT, "publish (deadline passed)", s, jerr);
            break;
        }
        if (s != NATS_TIMEOUT) {
            backoff(ack->attempts);
        }
    }
    natsMsg_Destroy(m);
    note_blocked(h, ack, start);
    if (st == RJS_OK) {
        atomic_fetch_add(&h->published, 1);
        if (ack->duplicate) {
            atomic_fetch_add(&h->duplicates, 1);
        }
    }
    return st;
}

rjs_status rjs_last_subject_seq(rjs *h, const uint8_t signer[32], uint64_t *seq)
{
    if (h == NULL || signer == NULL || seq == NULL) {
        return fail(h, RJS_ERR_ARG, "invalid argument");
    }
    char subject[RJS_SUBJECT_MAX], id[RJS_MSG_ID_CHARS + 1];
    rjs_subject(h, signer, subject);
    int64_t deadline = mono_ms() + h->o.publish_deadline_ms;
    for (unsigned attempt = 1;; attempt++) {
        jsErrCode jerr = 0;
        natsStatus s = last_on_subject(h, subject, seq, id, &jerr);
        if (s == NATS_OK) {
            return RJS_OK;
        }
        if (!transient(s, jerr)) {
            return fail_nats(h, RJS_ERR_NATS, "last message of a subject", s, jerr);
        }
        if (mono_ms() >= deadline) {
            return fail_nats(h, RJS_ERR_TIMEOUT, "last message of a subject", s, jerr);
        }
        backoff(attempt);
    }
}

rjs_status rjs_stream_info(rjs *h, rjs_stream_state *st)
{
    if (h == NULL || st == NULL) {
        return fail(h, RJS_ERR_ARG, "invalid argument");
    }
    memset(st, 0, sizeof *st);
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, h->js, h->stream, NULL, &jerr);
    if (s != NATS_OK) {
        return fail_nats(h, transient(s, jerr) ? RJS_ERR_TIMEOUT : RJS_ERR_NATS, "stream info", s,
                         jerr);
    }
    st->msgs = si->State.Msgs;
    st->first_seq = si->State.FirstSeq;
    st->last_seq = si->State.LastSeq;
    if (si->Cluster != NULL) {
        if (si->Cluster->Leader != NULL) {
            snprintf(st->leader, sizeof st->leader, "%s", si->Cluster->Leader);
        }
        st->replicas = si->Cluster->ReplicasLen;
        for (int i = 0; i < si->Cluster->ReplicasLen; i++) {
            st->current += si->Cluster->Replicas[i]->Current ? 1 : 0;
        }
    }
    jsStreamInfo_Destroy(si);
    return RJS_OK;
}

/* (Re)creates the ordered consumer at c->next. */
static rjs_status subscribe_at(rjs_consumer *c)
{
    rjs *h = c->h;
    if (c->sub != NULL) {
        natsSubscription_Unsubscribe(c->sub); /* deletes the old consumer */
        natsSubscription_Destroy(c->sub);
        c->sub = NULL;
    }
    int64_t deadline = mono_ms() + h->o.publish_deadline_ms;
    for (unsigned attempt = 1;; attempt++) {
        jsSubOptions so;
        jsErrCode jerr = 0;
        jsSubOptions_Init(&so);
        so.Stream = h->stream;
        so.Ordered = true;
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = c->next;
        so.Config.Heartbeat = h->o.heartbeat_ms * NS_PER_MS;
        c->progress_ms = mono_ms();
        if (c->on_leader) {
            /* Host the consumer on the stream leader: its copy has the
             * numbering publishers were acknowledged with (see js.h). */
            rjs_stream_state ss;
            if (rjs_stream_info(h, &ss) != RJS_OK || ss.leader[0] == '\0') {
                if (mono_ms() >= deadline) {
                    return fail(h, RJS_ERR_TIMEOUT, "no stream leader");
                }
                backoff(attempt);
                continue;
            }
            memcpy(c->node, ss.leader, sizeof c->node);
        }
        natsStatus s = js_SubscribeSync(&c->sub, h->js, h->filter, NULL, &so, &jerr);
        if (s == NATS_OK && h->o.pending_msgs > 0) {
            s = natsSubscription_SetPendingLimits(c->sub, h->o.pending_msgs, 64 * 1024 * 1024);
            if (s != NATS_OK) {
                natsSubscription_Unsubscribe(c->sub);
                natsSubscription_Destroy(c->sub);
                c->sub = NULL;
                return fail_nats(h, RJS_ERR_NATS, "pending limits", s, 0);
            }
        }
        if (s == NATS_OK && c->node[0] != '\0') {
            /* The server places a one-replica consumer on a random peer of
             * the stream: keep it only if it landed on c->node. */
            jsConsumerInfo *ci = NULL;
            s = natsSubscription_GetConsumerInfo(&ci, c->sub, NULL, &jerr);
            int here = s == NATS_OK && ci->Cluster != NULL && ci->Cluster->Leader != NULL &&
                       strcmp(ci->Cluster->Leader, c->node) == 0;
            jsConsumerInfo_Destroy(ci);
            if (!here) {
                natsSubscription_Unsubscribe(c->sub);
                natsSubscription_Destroy(c->sub);
                c->sub = NULL;
                if (mono_ms() >= deadline) {
                    return fail(h, RJS_ERR_TIMEOUT, "no consumer placed on %s", c->node);
                }
                continue;
            }
        }
        if (s == NATS_OK) {
            return RJS_OK;
        }
        c->sub = NULL;
        if (!transient(s, jerr)) {
            return fail_nats(h, RJS_ERR_NATS, "ordered consumer", s, jerr);
        }
        if (mono_ms() >= deadline) {
            return fail_nats(h, RJS_ERR_TIMEOUT, "ordered consumer", s, jerr);
        }
        backoff(attempt);
    }
}

static rjs_status consume(rjs *h, uint64_t start_seq, const char *node, rjs_consumer **out)
{
    if (out != NULL) {
        *out = NULL;
    }
    if (h == NULL || out == NULL || start_seq == 0) {
        return fail(h, RJS_ERR_ARG, "invalid argument (start_seq is at least 1)");
    }
    rjs_consumer *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return fail(h, RJS_ERR_NOMEM, "out of memory");
    }
    c->h = h;
    c->next = start_seq;
    snprintf(c->node, sizeof c->node, "%s", node);
    c->on_leader = node[0] == '\0';
    rjs_status st = subscribe_at(c);
    if (st != RJS_OK) {
        free(c);
        return st;
    }
    *out = c;
    return RJS_OK;
}

rjs_status rjs_consume(rjs *h, uint64_t start_seq, rjs_consumer **out)
{
    return consume(h, start_seq, "", out);
}

rjs_status rjs_consume_on(rjs *h, uint64_t start_seq, const char *server, rjs_consumer **out)
{
    if (server == NULL || server[0] == '\0' || strlen(server) >= 64) {
        if (out != NULL) {
            *out = NULL;
        }
        return fail(h, RJS_ERR_ARG, "server name required (1-63 characters)");
    }
    return consume(h, start_seq, server, out);
}

uint64_t rjs_next_seq(const rjs_consumer *c)
{
    return c != NULL ? c->next : 0;
}

/* A gap before c->next's message (or messages dropped by libnats): past
 * the stream's first sequence, the consumer lost messages and is
 * re-created at c->next; otherwise they are gone. */
static rjs_status on_gap(rjs_consumer *c)
{
    rjs_stream_state ss;
    if (rjs_stream_info(c->h, &ss) == RJS_OK && ss.first_seq > c->next) {
        return fail(c->h, RJS_ERR_GAP,
                    "sequence %" PRIu64 " is no longer in the stream (first %" PRIu64 ")", c->next,
                    ss.first_seq);
    }
    atomic_fetch_add(&c->h->consumer_restarts, 1);
    return subscribe_at(c);
}

/* Nothing delivered for a while: if the stream has c->next, the consumer
 * is stuck (a flow-control request dropped with a slow consumer's
 * messages leaves the server waiting while heartbeats still arrive), so it
 * is re-created at c->next. Checked every STALL_HEARTBEATS heartbeats. */
#define STALL_HEARTBEATS 3

static rjs_status check_stall(rjs_consumer *c)
{
    int64_t now = mono_ms();
    if (now - c->progress_ms < STALL_HEARTBEATS * c->h->o.heartbeat_ms) {
        return RJS_OK;
    }
    c->progress_ms = now;
    rjs_stream_state ss;
    if (rjs_stream_info(c->h, &ss) != RJS_OK || ss.last_seq < c->next) {
        return RJS_OK; /* no answer (failover) or nothing new: wait */
    }
    atomic_fetch_add(&c->h->consumer_stalls, 1);
    return on_gap(c);
}

rjs_status rjs_next(rjs_consumer *c, int64_t timeout_ms, rjs_msg *msg)
{
    if (c == NULL || msg == NULL || timeout_ms < 0) {
        return fail(c != NULL ? c->h : NULL, RJS_ERR_ARG, "invalid argument");
    }
    memset(msg, 0, sizeof *msg);
    natsMsg_Destroy(c->cur);
    c->cur = NULL;
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - mono_ms();
        int64_t slice = left < c->h->o.heartbeat_ms ? left : c->h->o.heartbeat_ms;
        uintptr_t me = (uintptr_t)c->sub;
        if (atomic_load(&c->h->hb_missed_sub) == me &&
            atomic_compare_exchange_strong(&c->h->hb_missed_sub, &me, (uintptr_t)0)) {
            /* libnats re-created the consumer on a random node: put it back
             * on the stream leader (or the chosen node) at c->next */
            atomic_fetch_add(&c->h->consumer_restarts, 1);
            rjs_status st = subscribe_at(c);
            if (st != RJS_OK) {
                return st;
            }
        }
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, c->sub, slice > 0 ? slice : 1);
        if (s == NATS_TIMEOUT) {
            rjs_status st = check_stall(c);
            if (st != RJS_OK) {
                return st;
            }
            if (mono_ms() >= deadline) {
                return RJS_ERR_TIMEOUT;
            }
            continue;
        }
        if (s == NATS_SLOW_CONSUMER) {
            /* libnats dropped messages that did not fit its buffer */
            rjs_status st = on_gap(c);
            if (st != RJS_OK) {
                return st;
            }
            continue;
        }
        if (s == NATS_MISMATCH || s == NATS_MISSED_HEARTBEAT) {
            continue; /* libnats re-creates the ordered consumer; order is checked below */
        }
        if (s != NATS_OK) {
            return fail_nats(c->h, RJS_ERR_NATS, "next message", s, 0);
        }
        jsMsgMetaData *meta = NULL;
        s = natsMsg_GetMetaData(&meta, m);
        if (s != NATS_OK) {
            natsMsg_Destroy(m); /* not a stream message: ignore it */
            continue;
        }
        uint64_t seq = meta->Sequence.Stream;
        int64_t ts = meta->Timestamp;
        jsMsgMetaData_Destroy(meta);
        if (seq < c->next) {
            atomic_fetch_add(&c->h->repeats_dropped, 1);
            natsMsg_Destroy(m);
            continue;
        }
        if (seq > c->next) {
            natsMsg_Destroy(m);
            rjs_status st = on_gap(c);
            if (st != RJS_OK) {
                return st;
            }
            continue;
        }
        c->cur = m;
        c->next = seq + 1;
        c->progress_ms = mono_ms();
        const char *v = NULL;
        c->msg_id[0] = '\0';
        if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) == NATS_OK && v != NULL &&
            strlen(v) <= RJS_MSG_ID_CHARS) {
            strcpy(c->msg_id, v);
        }
        msg->seq = seq;
        msg->time_ns = ts;
        msg->subject = natsMsg_GetSubject(m);
        msg->data = (const uint8_t *)natsMsg_GetData(m);
        msg->len = (size_t)natsMsg_GetDataLength(m);
        msg->msg_id = c->msg_id;
        return RJS_OK;
    }
}

void rjs_consumer_free(rjs_consumer *c)
{
    if (c == NULL) {
        return;
    }
    natsMsg_Destroy(c->cur);
    if (c->sub != NULL) {
        natsSubscription_Unsubscribe(c->sub);
        natsSubscription_Destroy(c->sub);
    }
    free(c);
}

void rjs_get_stats(const rjs *h, rjs_stats *st)
{
    memset(st, 0, sizeof *st);
    if (h == NULL) {
        return;
    }
    rjs *m = (rjs *)h; /* atomics are read through a non-const pointer */
    st->published = atomic_load(&m->published);
    st->duplicates = atomic_load(&m->duplicates);
    st->by_precheck = atomic_load(&m->by_precheck);
    st->retries = atomic_load(&m->retries);
    st->timeouts = atomic_load(&m->timeouts);
    st->no_responders = atomic_load(&m->no_responders);
    st->js_errors = atomic_load(&m->js_errors);
    st->conflicts = atomic_load(&m->conflicts);
    st->max_blocked_ms = atomic_load(&m->max_blocked_ms);
    st->disconnects = atomic_load(&m->disconnects);
    st->reconnects = atomic_load(&m->reconnects);
    st->consumer_restarts = atomic_load(&m->consumer_restarts);
    st->consumer_stalls = atomic_load(&m->consumer_stalls);
    st->repeats_dropped = atomic_load(&m->repeats_dropped);
    st->async_errors = atomic_load(&m->async_errors);
}

void rjs_connected_url(rjs *h, char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    if (h == NULL || h->nc == NULL || cap > INT32_MAX) {
        return;
    }
    if (natsConnection_GetConnectedUrl(h->nc, out, cap) != NATS_OK) {
        out[0] = '\0';
    }
}
