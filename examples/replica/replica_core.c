/* replica_core.c: see replica_core.h. */
#include "replica_core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rc_core {
    ca_ledger *l;
    rc_options o;
    uint64_t next_seq;
    uint32_t since_commit;
    rc_item items[RC_FRAME_MAX_ITEMS];
    ca_ledger_log_entry entries[RC_FRAME_MAX_ITEMS];
    ca_status results[RC_FRAME_MAX_ITEMS];
    char err[256];
};

__attribute__((format(printf, 3, 4))) static ca_status fail(rc_core *c, ca_status st,
                                                            const char *fmt, ...)
{
    if (c != NULL) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->err, sizeof c->err, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof c->err)
            snprintf(c->err + n, sizeof c->err - (size_t)n, ": %s (%s)", ca_status_str(st),
                     ca_last_error());
    }
    return st;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

size_t rc_frame_size(const rc_item *items, size_t n)
{
    if (n == 0 || n > RC_FRAME_MAX_ITEMS)
        return 0;
    size_t sz = 3;
    for (size_t i = 0; i < n; i++)
        sz += 8 + items[i].op_len + items[i].att_len;
    return sz;
}

ca_status rc_frame_encode(const rc_item *items, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t sz = rc_frame_size(items, n);
    if (sz == 0)
        return CA_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (items[i].op_len > UINT32_MAX || items[i].att_len > UINT32_MAX)
            return CA_ERR_INVALID_ARGUMENT;
    if (out_len != NULL)
        *out_len = sz;
    if (out == NULL || cap < sz)
        return CA_ERR_BUFFER_TOO_SMALL;
    uint8_t *p = out;
    *p++ = RC_FRAME_MAGIC;
    *p++ = (uint8_t)(n >> 8);
    *p++ = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        put32(p, (uint32_t)items[i].op_len);
        p += 4;
        if (items[i].op_len)
            memcpy(p, items[i].op, items[i].op_len);
        p += items[i].op_len;
        put32(p, (uint32_t)items[i].att_len);
        p += 4;
        if (items[i].att_len)
            memcpy(p, items[i].att, items[i].att_len);
        p += items[i].att_len;
    }
    return CA_OK;
}

size_t rc_frame_split(const uint8_t *msg, size_t len, rc_item *items)
{
    if (len >= 3 && msg[0] == RC_FRAME_MAGIC) {
        size_t n = ((size_t)msg[1] << 8) | msg[2], off = 3, i = 0;
        if (n >= 1 && n <= RC_FRAME_MAX_ITEMS) {
            for (; i < n; i++) {
                if (len - off < 4)
                    break;
                size_t ol = get32(msg + off);
                off += 4;
                if (len - off < ol)
                    break;
                items[i].op = msg + off;
                items[i].op_len = ol;
                off += ol;
                if (len - off < 4)
                    break;
                size_t al = get32(msg + off);
                off += 4;
                if (len - off < al)
                    break;
                items[i].att = al ? msg + off : NULL;
                items[i].att_len = al;
                off += al;
            }
            if (i == n && off == len)
                return n;
        }
    }
    items[0].op = msg;
    items[0].op_len = len;
    items[0].att = NULL;
    items[0].att_len = 0;
    return 1;
}

static ca_status rc_start(rc_core *c)
{
    ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
    ca_status st = ca_ledger_log_position(c->l, &li);
    if (st != CA_OK)
        return fail(c, st, "reading the log position");
    c->next_seq = li.position == 0 ? 1 : RC_SEQ_OF(li.position);
    return CA_OK;
}

static ca_status rc_new(rc_core **out, const rc_options *o, rc_core **c)
{
    if (out == NULL)
        return CA_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (o == NULL || o->ledger == NULL)
        return CA_ERR_INVALID_ARGUMENT;
    *c = calloc(1, sizeof **c);
    if (*c == NULL)
        return CA_ERR_NO_MEMORY;
    (*c)->o = *o;
    if ((*c)->o.commit_every == 0)
        (*c)->o.commit_every = 64;
    return CA_OK;
}

ca_status rc_open(rc_core **out, const rc_options *o)
{
    rc_core *c = NULL;
    ca_status st = rc_new(out, o, &c);
    if (st != CA_OK)
        return st;
    if (o->dir != NULL) {
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        st = ca_ledger_open(&c->l, o->dir, o->ledger, &info);
    } else {
        st = ca_ledger_new(&c->l, o->ledger);
    }
    if (st == CA_OK)
        st = rc_start(c);
    if (st != CA_OK) {
        rc_close(c);
        return st;
    }
    *out = c;
    return CA_OK;
}

ca_status rc_open_snapshot(rc_core **out, const rc_options *o, const uint8_t *snap, size_t len)
{
    rc_core *c = NULL;
    ca_status st = rc_new(out, o, &c);
    if (st != CA_OK)
        return st;
    if (o->dir != NULL) {
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        st = ca_ledger_open_from_snapshot(&c->l, o->dir, o->ledger, snap, len, &info);
    } else {
        st = ca_ledger_new_from_snapshot(&c->l, o->ledger, snap, len);
    }
    if (st == CA_OK)
        st = rc_start(c);
    if (st != CA_OK) {
        rc_close(c);
        return st;
    }
    *out = c;
    return CA_OK;
}

uint64_t rc_next_seq(const rc_core *c)
{
    return c->next_seq;
}

ca_status rc_commit(rc_core *c)
{
    c->since_commit = 0;
    ca_status st = ca_ledger_commit(c->l, NULL);
    return st == CA_OK ? CA_OK : fail(c, st, "commit");
}

ca_status rc_state(rc_core *c, rc_checkpoint *out)
{
    ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
    ca_status st = ca_ledger_log_position(c->l, &li);
    if (st == CA_OK)
        st = ca_ledger_state_hash(c->l, &out->hash);
    if (st != CA_OK)
        return fail(c, st, "reading the state");
    out->seq = RC_SEQ_OF(li.position);
    out->failed = li.failed;
    return CA_OK;
}

ca_status rc_check(rc_core *c)
{
    ca_status st = ca_ledger_check(c->l);
    return st == CA_OK ? CA_OK : fail(c, st, "ca_ledger_check");
}

ca_status rc_apply(rc_core *c, uint64_t seq, int64_t time_ns, const uint8_t *msg, size_t len,
                   rc_checkpoint *cp, int *is_cp)
{
    if (is_cp != NULL)
        *is_cp = 0;
    if (seq == 0 || seq > c->next_seq || seq > RC_SEQ_OF(UINT64_MAX))
        return fail(c, CA_ERR_INVALID_ARGUMENT, "stream sequence %llu is not the next one (%llu)",
                    (unsigned long long)seq, (unsigned long long)c->next_seq);
    if (seq + 1 < c->next_seq)
        return CA_OK; /* before what was read already: nothing to do */
    size_t n = rc_frame_split(msg, len, c->items);
    uint64_t ms = time_ns > 0 ? (uint64_t)time_ns / 1000000u : 0;
    for (size_t i = 0; i < n; i++) {
        ca_ledger_log_entry *e = &c->entries[i];
        memset(e, 0, sizeof *e);
        e->position = RC_POSITION(seq, i);
        e->time = ms;
        e->msg = c->items[i].op;
        e->msg_len = c->items[i].op_len;
        e->attachment = c->items[i].att;
        e->attachment_len = c->items[i].att_len;
    }
    size_t done = 0;
    ca_status st =
        ca_ledger_apply_log(c->l, c->entries, sizeof c->entries[0], n, c->results, &done);
    if (c->o.on_entry != NULL)
        for (size_t i = 0; i < done; i++)
            c->o.on_entry(c->o.ctx, seq, (uint32_t)i, &c->items[i], c->results[i]);
    if (st != CA_OK)
        return fail(c, st, "applying stream sequence %llu item %zu", (unsigned long long)seq, done);
    c->next_seq = seq + 1;
    int due = c->o.checkpoint_every != 0 && seq % c->o.checkpoint_every == 0;
    if (due || (c->o.dir != NULL && ++c->since_commit >= c->o.commit_every))
        if ((st = rc_commit(c)) != CA_OK)
            return st;
    if (!due)
        return CA_OK;
    if (c->o.check && (st = rc_check(c)) != CA_OK)
        return st;
    rc_checkpoint tmp;
    if ((st = rc_state(c, cp != NULL ? cp : &tmp)) != CA_OK)
        return st;
    if (is_cp != NULL)
        *is_cp = 1;
    return CA_OK;
}

ca_status rc_snapshot(rc_core *c, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    ca_status st = c->o.dir != NULL ? ca_ledger_snapshot(c->l) : CA_OK;
    if (st != CA_OK)
        return fail(c, st, "writing the snapshot");
    size_t need = 0;
    st = ca_ledger_snapshot_export(c->l, NULL, 0, &need);
    if (st != CA_ERR_BUFFER_TOO_SMALL)
        return fail(c, st, "sizing the snapshot");
    uint8_t *b = malloc(need);
    if (b == NULL)
        return fail(c, CA_ERR_NO_MEMORY, "snapshot of %zu bytes", need);
    if ((st = ca_ledger_snapshot_export(c->l, b, need, len)) != CA_OK) {
        free(b);
        return fail(c, st, "exporting the snapshot");
    }
    *out = b;
    return CA_OK;
}

ca_ledger *rc_ledger(rc_core *c)
{
    return c->l;
}

const char *rc_error(const rc_core *c)
{
    return c->err;
}

void rc_close(rc_core *c)
{
    if (c == NULL)
        return;
    ca_ledger_free(c->l);
    free(c);
}

void rc_format(const rc_checkpoint *cp, char out[RC_LINE_MAX])
{
    char hex[2 * CA_HASH_BYTES + 1];
    for (size_t i = 0; i < CA_HASH_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", cp->hash.bytes[i]);
    snprintf(out, RC_LINE_MAX, "%llu %s %llu", (unsigned long long)cp->seq, hex,
             (unsigned long long)cp->failed);
}

size_t rc_parse_u64(const char *s, size_t len, uint64_t *out)
{
    size_t n = 0;
    uint64_t v = 0;
    while (n < len && s[n] >= '0' && s[n] <= '9') {
        unsigned d = (unsigned)(s[n] - '0');
        if (n > 0 && v == 0)
            return 0; /* a leading zero */
        if (v > (UINT64_MAX - d) / 10)
            return 0; /* above UINT64_MAX */
        v = v * 10 + d;
        n++;
    }
    if (n > 0)
        *out = v;
    return n;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1; /* upper case is not the canonical form */
}

size_t rc_parse_prefix(const char *s, size_t len, rc_checkpoint *cp)
{
    rc_checkpoint tmp;
    size_t off = rc_parse_u64(s, len, &tmp.seq);
    if (off == 0 || len - off < 1 + 2 * CA_HASH_BYTES + 1 || s[off] != ' ')
        return 0;
    off++;
    for (size_t i = 0; i < CA_HASH_BYTES; i++, off += 2) {
        int hi = hex_digit(s[off]), lo = hex_digit(s[off + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        tmp.hash.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    if (s[off] != ' ')
        return 0;
    off++;
    size_t n = rc_parse_u64(s + off, len - off, &tmp.failed);
    if (n == 0)
        return 0;
    off += n;
    if (off < len && s[off] != ' ' && s[off] != '\n')
        return 0;
    *cp = tmp;
    return off;
}

int rc_parse(const char *s, rc_checkpoint *cp)
{
    size_t len = strlen(s);
    rc_checkpoint tmp;
    if (len == 0 || rc_parse_prefix(s, len, &tmp) != len)
        return -1;
    *cp = tmp;
    return 0;
}
