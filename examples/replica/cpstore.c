/* cpstore.c: see cpstore.h. */
#include "cpstore.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX 128
/* The longest key, "snap.NAME.SEQ.PART" with a valid name (rcp_name_ok), a 20-digit seq
 * and a 10-digit part, fits: the snprintf calls below never truncate. */
_Static_assert(KEY_MAX > sizeof "snap..." + RCP_NAME_MAX + 20 + 10, "KEY_MAX holds every key");

struct rcp {
    rjs *h;
    jsCtx *js;
    kvStore *kv;
    char err[320];
    uint64_t prev_seq[8]; /* per name slot: the previous snapshot, to purge */
    uint32_t prev_chunks[8];
    char prev_name[8][RCP_NAME_MAX + 1];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static rjs_status failf(rcp *s, rjs_status st, const char *fmt, ...)
{
    if (s != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, sizeof s->err, fmt, ap);
        va_end(ap);
    }
    return st;
}

rjs_status rcp_open(rcp **out, rjs *h, const char *bucket, int replicas)
{
    *out = NULL;
    rcp *s = calloc(1, sizeof *s);
    if (s == NULL)
        return RJS_ERR_NOMEM;
    s->h = h;
    s->js = rjs_jetstream(h);
    int64_t deadline = mono_ms() + 60000;
    natsStatus ns;
    for (;;) {
        ns = js_KeyValue(&s->kv, s->js, bucket);
        if (ns == NATS_NOT_FOUND) {
            kvConfig cfg;
            kvConfig_Init(&cfg);
            cfg.Bucket = bucket;
            cfg.History = 1;
            cfg.Replicas = replicas;
            cfg.StorageType = js_FileStorage;
            ns = js_CreateKeyValue(&s->kv, s->js, &cfg);
        }
        if (ns == NATS_OK || mono_ms() > deadline)
            break;
        pause_ms(200);
    }
    if (ns != NATS_OK) {
        fprintf(stderr, "cpstore: bucket %s: %s\n", bucket, natsStatus_GetText(ns));
        free(s);
        return RJS_ERR_NATS;
    }
    *out = s;
    return RJS_OK;
}

void rcp_close(rcp *s)
{
    if (s == NULL)
        return;
    kvStore_Destroy(s->kv);
    free(s);
}

const char *rcp_error(const rcp *s)
{
    return s->err;
}

static rjs_status put(rcp *s, const char *key, const void *data, size_t len)
{
    int64_t deadline = mono_ms() + RCP_WRITE_DEADLINE_MS;
    natsStatus ns;
    for (;;) {
        ns = kvStore_Put(NULL, s->kv, key, data, (int)len);
        if (ns == NATS_OK)
            return RJS_OK;
        if (mono_ms() > deadline)
            break;
        pause_ms(100);
    }
    return failf(s, RJS_ERR_TIMEOUT, "put %s: %s", key, natsStatus_GetText(ns));
}

/* The value of key into buf (NUL-terminated, at most cap - 1 bytes): 1 found, 0 not, -1 error. */
static int get(rcp *s, const char *key, char *buf, size_t cap, size_t *len)
{
    kvEntry *e = NULL;
    natsStatus ns = NATS_ERR;
    for (int attempt = 0; attempt < 20; attempt++) {
        ns = kvStore_Get(&e, s->kv, key);
        if (ns == NATS_OK || ns == NATS_NOT_FOUND)
            break;
        pause_ms(200);
    }
    if (ns == NATS_NOT_FOUND)
        return 0;
    if (ns != NATS_OK) {
        failf(s, RJS_ERR_NATS, "get %s: %s", key, natsStatus_GetText(ns));
        return -1;
    }
    size_t n = (size_t)kvEntry_ValueLen(e);
    if (buf != NULL) {
        if (n >= cap)
            n = cap - 1;
        memcpy(buf, kvEntry_Value(e), n);
        buf[n] = 0;
    }
    if (len != NULL)
        *len = (size_t)kvEntry_ValueLen(e);
    kvEntry_Destroy(e);
    return 1;
}

rjs_status rcp_put_checkpoint(rcp *s, const char *name, const rc_checkpoint *cp)
{
    char key[KEY_MAX], v[RCP_CP_VALUE_MAX];
    if (!rcp_name_ok(name))
        return failf(s, RJS_ERR_ARG, "bad replica name");
    snprintf(key, sizeof key, "cp.%s.%" PRIu64, name, cp->seq);
    rcp_format_cp_value(cp, v);
    return put(s, key, v, strlen(v));
}

rjs_status rcp_get_checkpoint(rcp *s, const char *name, uint64_t seq, rc_checkpoint *cp, int *found)
{
    char key[KEY_MAX], v[RCP_CP_VALUE_MAX];
    size_t len = 0;
    *found = 0;
    snprintf(key, sizeof key, "cp.%s.%" PRIu64, name, seq);
    int r = get(s, key, v, sizeof v, &len);
    if (r < 0)
        return RJS_ERR_NATS;
    if (r == 0)
        return RJS_OK;
    /* get() cut a longer value at sizeof v - 1 bytes: not a checkpoint either */
    if (len >= sizeof v || rcp_parse_cp_value(v, len, seq, cp) != 0)
        return failf(s, RJS_ERR_NATS, "%s: not a checkpoint", key);
    *found = 1;
    return RJS_OK;
}

static int slot_of(rcp *s, const char *name)
{
    for (int i = 0; i < 8; i++)
        if (strcmp(s->prev_name[i], name) == 0)
            return i;
    for (int i = 0; i < 8; i++)
        if (s->prev_name[i][0] == 0) {
            snprintf(s->prev_name[i], sizeof s->prev_name[i], "%s", name);
            return i;
        }
    return 0;
}

rjs_status rcp_put_snapshot(rcp *s, const char *name, const rc_checkpoint *cp, const uint8_t *bytes,
                            size_t len)
{
    char key[KEY_MAX], idx[RCP_INDEX_MAX];
    if (!rcp_name_ok(name))
        return failf(s, RJS_ERR_ARG, "bad replica name");
    uint32_t chunks = (uint32_t)((len + RCP_CHUNK - 1) / RCP_CHUNK);
    for (uint32_t i = 0; i < chunks; i++) {
        size_t off = (size_t)i * RCP_CHUNK, n = len - off < RCP_CHUNK ? len - off : RCP_CHUNK;
        snprintf(key, sizeof key, "snap.%s.%" PRIu64 ".%" PRIu32, name, cp->seq, i);
        rjs_status st = put(s, key, bytes + off, n);
        if (st != RJS_OK)
            return st;
    }
    rcp_index ix = {.cp = *cp, .chunks = chunks, .bytes = len};
    rcp_format_index(&ix, idx);
    snprintf(key, sizeof key, "snapidx.%s", name);
    rjs_status st = put(s, key, idx, strlen(idx));
    if (st != RJS_OK)
        return st;
    int k = slot_of(s, name);
    if (s->prev_seq[k] != 0 && s->prev_seq[k] != cp->seq)
        for (uint32_t i = 0; i < s->prev_chunks[k]; i++) {
            snprintf(key, sizeof key, "snap.%s.%" PRIu64 ".%" PRIu32, name, s->prev_seq[k], i);
            (void)kvStore_Purge(s->kv, key, NULL); /* best effort: old bytes only take space */
        }
    s->prev_seq[k] = cp->seq;
    s->prev_chunks[k] = chunks;
    return RJS_OK;
}

typedef struct cand {
    char name[RCP_NAME_MAX + 1];
    rc_checkpoint cp;
    uint32_t chunks;
    size_t len;
} cand;

/* Every value under the key filter: calls fn(ctx, key, value) for each. */
static rjs_status watch_all(rcp *s, const char *filter,
                            void (*fn)(void *ctx, const char *key, const char *v, size_t len),
                            void *ctx)
{
    kvWatcher *w = NULL;
    kvWatchOptions wo;
    kvWatchOptions_Init(&wo);
    wo.IgnoreDeletes = true;
    natsStatus ns = kvStore_Watch(&w, s->kv, filter, &wo);
    while (ns == NATS_OK) {
        kvEntry *e = NULL;
        ns = kvWatcher_Next(&e, w, 5000);
        if (ns != NATS_OK || e == NULL)
            break;
        char v[RCP_INDEX_MAX];
        size_t n = (size_t)kvEntry_ValueLen(e);
        if (n < sizeof v) { /* a longer value is no value of this bucket */
            memcpy(v, kvEntry_Value(e), n);
            v[n] = 0;
            fn(ctx, kvEntry_Key(e), v, n);
        }
        kvEntry_Destroy(e);
    }
    kvWatcher_Destroy(w);
    return ns == NATS_OK ? RJS_OK
                         : failf(s, RJS_ERR_NATS, "watch %s: %s", filter, natsStatus_GetText(ns));
}

typedef struct cands {
    cand c[64];
    int n;
} cands;

static void add_cand(void *ctx, const char *key, const char *v, size_t len)
{
    cands *cs = ctx;
    rcp_index ix;
    if (cs->n == 64 || strncmp(key, "snapidx.", 8) != 0 || !rcp_name_ok(key + 8) ||
        rcp_parse_index(v, len, &ix) != 0)
        return;
#if SIZE_MAX < UINT64_MAX
    if (ix.bytes > SIZE_MAX)
        return;
#endif
    cand *c = &cs->c[cs->n];
    snprintf(c->name, sizeof c->name, "%s", key + 8);
    c->cp = ix.cp;
    c->chunks = ix.chunks;
    c->len = (size_t)ix.bytes;
    cs->n++;
}

typedef struct confirm {
    const cand *c;
    char by[RCP_NAME_MAX + 1];
} confirm;

static void check_cp(void *ctx, const char *key, const char *v, size_t len)
{
    confirm *cf = ctx;
    char who[RCP_NAME_MAX + 1];
    uint64_t seq = 0;
    rc_checkpoint cp;
    if (cf->by[0] != 0 || rcp_parse_cp_key(key, who, &seq) != 0 || seq != cf->c->cp.seq)
        return;
    if (strcmp(who, cf->c->name) == 0)
        return; /* the writer cannot confirm itself */
    if (rcp_parse_cp_value(v, len, seq, &cp) == 0 && cp.failed == cf->c->cp.failed &&
        memcmp(cp.hash.bytes, cf->c->cp.hash.bytes, sizeof cp.hash.bytes) == 0)
        snprintf(cf->by, sizeof cf->by, "%s", who);
}

rjs_status rcp_find_snapshot(rcp *s, uint64_t min_seq, int *found, rc_checkpoint *cp, char *writer,
                             char *confirmer, uint8_t **bytes, size_t *len)
{
    *found = 0;
    *bytes = NULL;
    *len = 0;
    cands cs = {.n = 0};
    rjs_status st = watch_all(s, "snapidx.*", add_cand, &cs);
    if (st != RJS_OK)
        return st;
    for (;;) {
        int best = -1;
        for (int i = 0; i < cs.n; i++)
            if (cs.c[i].cp.seq > min_seq && (best < 0 || cs.c[i].cp.seq > cs.c[best].cp.seq))
                best = i;
        if (best < 0)
            return RJS_OK;
        cand *c = &cs.c[best];
        char filter[KEY_MAX];
        snprintf(filter, sizeof filter, "cp.*.%" PRIu64, c->cp.seq);
        confirm cf = {.c = c, .by = ""};
        if ((st = watch_all(s, filter, check_cp, &cf)) != RJS_OK)
            return st;
        /* The buffer grows with the chunks that arrive, never to an index's claim up front:
         * an index is anyone's bytes and may claim far more than the bucket holds. */
        uint8_t *b = NULL;
        size_t off = 0;
        int ok = cf.by[0] != 0;
        for (uint32_t i = 0; ok && i < c->chunks; i++) {
            char key[KEY_MAX];
            snprintf(key, sizeof key, "snap.%s.%" PRIu64 ".%" PRIu32, c->name, c->cp.seq, i);
            kvEntry *e = NULL;
            size_t n = 0;
            uint8_t *grown = NULL;
            ok = kvStore_Get(&e, s->kv, key) == NATS_OK &&
                 (n = (size_t)kvEntry_ValueLen(e)) <= c->len - off && n <= RCP_CHUNK && n > 0 &&
                 (grown = realloc(b, off + n)) != NULL;
            if (ok) { /* else purged meanwhile (a newer snapshot), unreadable or too long */
                b = grown;
                memcpy(b + off, kvEntry_Value(e), n);
                off += n;
            }
            kvEntry_Destroy(e);
        }
        if (!ok) {
            free(b);
            b = NULL;
        }
        if (b != NULL && off == c->len) {
            *found = 1;
            *cp = c->cp;
            snprintf(writer, RCP_NAME_MAX + 1, "%s", c->name);
            snprintf(confirmer, RCP_NAME_MAX + 1, "%s", cf.by);
            *bytes = b;
            *len = off;
            return RJS_OK;
        }
        free(b);
        c->cp.seq = 0; /* not usable: try the next newest */
    }
}
