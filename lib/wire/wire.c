/* Canonical MessagePack writer (over msgpack-c's packer) and strict reader. */
#include "wire/wire.h"

#include "internal.h"

/* ---- writer ---- */

static int ww_sink(void *data, const char *buf, size_t len)
{
    cai_wire_writer *w = data;
    if (!w->overflow && w->buf != NULL && w->cap - w->len >= len)
        memcpy(w->buf + w->len, buf, len);
    else
        w->overflow = true;
    w->len += len;
    return 0;
}

void cai_ww_init(cai_wire_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    w->len = 0;
    w->overflow = buf == NULL;
    msgpack_packer_init(&w->pk, w, ww_sink);
}

/*
 * The one-byte forms (positive fixint, fixmap, fixarray, fixstr header,
 * booleans) and the bin8 header are appended here directly: they are most of
 * what a message holds, and msgpack-c would pass each through its callback.
 * Every longer form is msgpack-c's. The bytes are the same either way: these
 * are the forms the packer itself picks for these values.
 */
static inline void ww_byte(cai_wire_writer *w, uint8_t b)
{
    if (!w->overflow && w->len < w->cap)
        w->buf[w->len] = b;
    else
        w->overflow = true;
    w->len++;
}

void cai_ww_map(cai_wire_writer *w, uint32_t n)
{
    if (n < 16)
        ww_byte(w, (uint8_t)(0x80u | n));
    else
        (void)msgpack_pack_map(&w->pk, n);
}

void cai_ww_array(cai_wire_writer *w, uint32_t n)
{
    if (n < 16)
        ww_byte(w, (uint8_t)(0x90u | n));
    else
        (void)msgpack_pack_array(&w->pk, n);
}

void cai_ww_uint(cai_wire_writer *w, uint64_t v)
{
    if (v < 0x80)
        ww_byte(w, (uint8_t)v);
    else
        (void)msgpack_pack_uint64(&w->pk, v);
}

void cai_ww_bool(cai_wire_writer *w, bool v)
{
    ww_byte(w, v ? 0xc3 : 0xc2);
}

void cai_ww_bin(cai_wire_writer *w, const void *p, size_t n)
{
    if (n < 256) {
        const char head[2] = {(char)0xc4, (char)n};
        (void)ww_sink(w, head, 2);
    } else {
        (void)msgpack_pack_bin(&w->pk, n);
    }
    if (n > 0)
        (void)ww_sink(w, p, n);
}

void cai_ww_str(cai_wire_writer *w, const char *p, size_t n)
{
    if (n < 32)
        ww_byte(w, (uint8_t)(0xa0u | n));
    else
        (void)msgpack_pack_str(&w->pk, n);
    if (n > 0)
        (void)ww_sink(w, p, n);
}

void cai_ww_raw(cai_wire_writer *w, const void *p, size_t n)
{
    if (n > 0)
        (void)ww_sink(w, p, n);
}

ca_status cai_ww_finish(const cai_wire_writer *w, size_t *out_len)
{
    *out_len = w->len;
    if (w->overflow)
        return cai_fail(CA_ERR_BUFFER_TOO_SMALL, "output buffer holds %zu bytes, %zu needed",
                        w->cap, w->len);
    return CA_OK;
}

/* ---- reader ---- */

#define WR_MAX_DEPTH 16

static ca_status wr_bad(const cai_wire_reader *r, const char *what)
{
    return cai_fail(CA_ERR_MALFORMED, "malformed message at byte %zu: %s",
                    (size_t)(r->p - r->start), what);
}

void cai_wr_init(cai_wire_reader *r, const uint8_t *data, size_t len)
{
    r->start = data;
    r->p = data;
    r->end = data + len;
}

static size_t wr_left(const cai_wire_reader *r)
{
    return (size_t)(r->end - r->p);
}

/* Reads a big-endian unsigned of `n` bytes (n <= 8) after the tag byte. */
static bool wr_be(cai_wire_reader *r, size_t n, uint64_t *v)
{
    if (wr_left(r) < n)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | r->p[i];
    r->p += n;
    *v = x;
    return true;
}

ca_status cai_wr_uint(cai_wire_reader *r, uint64_t *v)
{
    if (wr_left(r) < 1)
        return wr_bad(r, "unexpected end, integer expected");
    const uint8_t *at = r->p;
    uint8_t tag = *r->p;
    uint64_t x;
    if (tag <= 0x7f) {
        r->p++;
        *v = tag;
        return CA_OK;
    }
    static const uint64_t min_for[4] = {0x80u, 0x100u, 0x10000u, 0x100000000u};
    if (tag < 0xcc || tag > 0xcf)
        return wr_bad(r, "unsigned integer expected");
    unsigned idx = tag - 0xccu;
    r->p++;
    if (!wr_be(r, (size_t)1 << idx, &x)) {
        r->p = at;
        return wr_bad(r, "truncated integer");
    }
    if (x < min_for[idx]) {
        r->p = at;
        return wr_bad(r, "integer not in its shortest form");
    }
    *v = x;
    return CA_OK;
}

ca_status cai_wr_uint_max(cai_wire_reader *r, uint64_t max, uint64_t *v)
{
    const uint8_t *at = r->p;
    ca_status st = cai_wr_uint(r, v);
    if (st == CA_OK && *v > max) {
        r->p = at;
        return wr_bad(r, "integer out of range");
    }
    return st;
}

ca_status cai_wr_bool(cai_wire_reader *r, bool *v)
{
    if (wr_left(r) < 1 || (*r->p != 0xc2 && *r->p != 0xc3))
        return wr_bad(r, "boolean expected");
    *v = *r->p == 0xc3;
    r->p++;
    return CA_OK;
}

/* A length-prefixed family: an optional fix form, then sized forms of growing width. */
typedef struct wr_family {
    uint8_t fix_base, fix_count; /* fix form: tags fix_base .. fix_base + fix_count - 1 */
    uint8_t tag;                 /* first sized form; the next ones follow it */
    uint8_t first_width;         /* width in bytes of the first sized form (1 or 2) */
    uint8_t forms;               /* number of sized forms */
    const char *what;
} wr_family;

static const wr_family fam_str = {0xa0, 32, 0xd9, 1, 3, "string expected"};
static const wr_family fam_bin = {0, 0, 0xc4, 1, 3, "byte string expected"};
static const wr_family fam_array = {0x90, 16, 0xdc, 2, 2, "array expected"};
static const wr_family fam_map = {0x80, 16, 0xde, 2, 2, "map expected"};

/* Reads a canonical length header of family f; on failure consumes nothing. */
static ca_status wr_len(cai_wire_reader *r, const wr_family *f, size_t *n)
{
    if (wr_left(r) < 1)
        return wr_bad(r, f->what);
    const uint8_t *at = r->p;
    uint8_t tag = *r->p;
    if (f->fix_count != 0 && tag >= f->fix_base && tag < f->fix_base + f->fix_count) {
        r->p++;
        *n = (size_t)(tag - f->fix_base);
        return CA_OK;
    }
    if (tag < f->tag || tag >= f->tag + f->forms)
        return wr_bad(r, f->what);
    unsigned form = tag - f->tag;
    size_t width = (size_t)f->first_width << form;
    uint64_t min = form == 0 ? f->fix_count : (uint64_t)1 << (8 * (width / 2));
    uint64_t x;
    r->p++;
    if (!wr_be(r, width, &x)) {
        r->p = at;
        return wr_bad(r, "truncated length");
    }
    if (x < min) {
        r->p = at;
        return wr_bad(r, "length not in its shortest form");
    }
    *n = (size_t)x;
    return CA_OK;
}

/* Reads a length header whose payload is `n` raw bytes that must be present. */
static ca_status wr_bytes(cai_wire_reader *r, const wr_family *f, size_t max, const uint8_t **p,
                          size_t *n)
{
    const uint8_t *at = r->p;
    size_t len;
    ca_status st = wr_len(r, f, &len);
    if (st != CA_OK)
        return st;
    if (len > wr_left(r)) {
        r->p = at;
        return wr_bad(r, "length runs past the end of the input");
    }
    if (len > max) {
        r->p = at;
        return wr_bad(r, "field longer than its limit");
    }
    *p = r->p;
    *n = len;
    r->p += len;
    return CA_OK;
}

ca_status cai_wr_bin(cai_wire_reader *r, const uint8_t **p, size_t *n)
{
    return wr_bytes(r, &fam_bin, SIZE_MAX, p, n);
}

ca_status cai_wr_bin_max(cai_wire_reader *r, size_t max, const uint8_t **p, size_t *n)
{
    return wr_bytes(r, &fam_bin, max, p, n);
}

ca_status cai_wr_bin_fixed(cai_wire_reader *r, void *out, size_t n)
{
    const uint8_t *at = r->p, *p;
    size_t len;
    ca_status st = wr_bytes(r, &fam_bin, n, &p, &len);
    if (st != CA_OK)
        return st;
    if (len != n) {
        r->p = at;
        return wr_bad(r, "byte string has the wrong length");
    }
    memcpy(out, p, n);
    return CA_OK;
}

ca_status cai_wr_str_max(cai_wire_reader *r, size_t max, const char **p, size_t *n)
{
    const uint8_t *at = r->p, *bytes;
    ca_status st = wr_bytes(r, &fam_str, max, &bytes, n);
    if (st != CA_OK)
        return st;
    if (!cai_utf8_valid(bytes, *n)) {
        r->p = at;
        return wr_bad(r, "string is not valid UTF-8");
    }
    *p = (const char *)bytes;
    return CA_OK;
}

/* Each element or entry takes at least one byte, which bounds any declared count. */
static ca_status wr_count(cai_wire_reader *r, const wr_family *f, size_t per_item, uint32_t *n)
{
    const uint8_t *at = r->p;
    size_t len;
    ca_status st = wr_len(r, f, &len);
    if (st != CA_OK)
        return st;
    if (len > wr_left(r) / per_item) {
        r->p = at;
        return wr_bad(r, "count larger than the input could hold");
    }
    *n = (uint32_t)len;
    return CA_OK;
}

ca_status cai_wr_array(cai_wire_reader *r, uint32_t *n)
{
    return wr_count(r, &fam_array, 1, n);
}

ca_status cai_wr_map(cai_wire_reader *r, cai_wire_map *m)
{
    uint32_t n;
    ca_status st = wr_count(r, &fam_map, 2, &n);
    if (st != CA_OK)
        return st;
    m->r = r;
    m->remaining = n;
    m->next_min = 0;
    return CA_OK;
}

ca_status cai_wr_field(cai_wire_map *m, uint64_t key, bool *present)
{
    *present = false;
    if (key < m->next_min)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "internal: map keys requested out of order");
    if (m->remaining == 0)
        return CA_OK;
    cai_wire_reader probe = *m->r;
    uint64_t next;
    ca_status st = cai_wr_uint(&probe, &next);
    if (st != CA_OK)
        return wr_bad(m->r, "map key must be an unsigned integer");
    if (next < m->next_min)
        return wr_bad(m->r, "map keys not in strictly ascending order");
    if (next < key)
        return wr_bad(m->r, "unknown map key");
    m->next_min = key + 1;
    if (next == key) {
        *m->r = probe;
        m->remaining--;
        *present = true;
    }
    return CA_OK;
}

ca_status cai_wr_require(cai_wire_map *m, uint64_t key)
{
    bool present;
    ca_status st = cai_wr_field(m, key, &present);
    if (st == CA_OK && !present)
        return cai_fail(CA_ERR_MALFORMED, "malformed message at byte %zu: field %llu is missing",
                        (size_t)(m->r->p - m->r->start), (unsigned long long)key);
    return st;
}

ca_status cai_wr_map_end(const cai_wire_map *m)
{
    if (m->remaining != 0)
        return wr_bad(m->r, "unknown map key");
    return CA_OK;
}

static ca_status wr_skip_depth(cai_wire_reader *r, int depth)
{
    if (depth > WR_MAX_DEPTH)
        return wr_bad(r, "nesting too deep");
    if (wr_left(r) < 1)
        return wr_bad(r, "unexpected end of input");
    uint8_t tag = *r->p;
    const uint8_t *p;
    size_t n;
    uint64_t v = 0;
    bool b;
    if (tag <= 0x7f || (tag >= 0xcc && tag <= 0xcf))
        return cai_wr_uint(r, &v);
    if (tag == 0xc2 || tag == 0xc3)
        return cai_wr_bool(r, &b);
    if ((tag >= 0xa0 && tag <= 0xbf) || (tag >= 0xd9 && tag <= 0xdb))
        return cai_wr_str_max(r, SIZE_MAX, (const char **)&p, &n);
    if (tag >= 0xc4 && tag <= 0xc6)
        return cai_wr_bin(r, &p, &n);
    if ((tag >= 0x90 && tag <= 0x9f) || tag == 0xdc || tag == 0xdd) {
        uint32_t count;
        ca_status st = cai_wr_array(r, &count);
        for (uint32_t i = 0; st == CA_OK && i < count; i++)
            st = wr_skip_depth(r, depth + 1);
        return st;
    }
    if ((tag >= 0x80 && tag <= 0x8f) || tag == 0xde || tag == 0xdf) {
        cai_wire_map m;
        ca_status st = cai_wr_map(r, &m);
        uint64_t prev = 0;
        for (uint32_t i = 0; st == CA_OK && i < m.remaining; i++) {
            const uint8_t *at = r->p;
            st = cai_wr_uint(r, &v);
            if (st == CA_OK && i > 0 && v <= prev) {
                r->p = at;
                return wr_bad(r, "map keys not in strictly ascending order");
            }
            prev = v;
            if (st == CA_OK)
                st = wr_skip_depth(r, depth + 1);
        }
        return st;
    }
    return wr_bad(r, "type not allowed in canonical messages (nil, float, ext or signed)");
}

ca_status cai_wr_skip(cai_wire_reader *r)
{
    return wr_skip_depth(r, 0);
}

ca_status cai_wr_end(const cai_wire_reader *r)
{
    if (r->p != r->end)
        return wr_bad(r, "trailing bytes after the message");
    return CA_OK;
}

bool cai_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            /* ASCII, most text: eight bytes at a time while no high bit is set */
            while (n - i >= sizeof(uint64_t)) {
                uint64_t word;
                memcpy(&word, p + i, sizeof word);
                if ((word & 0x8080808080808080ull) != 0)
                    break;
                i += sizeof word;
            }
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1fu;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0fu;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07u;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* ---- sticky decoder ---- */

void cai_wd_init(cai_wire_dec *d, const uint8_t *data, size_t len)
{
    cai_wr_init(&d->r, data, len);
    d->st = CA_OK;
}

void cai_wd_map(cai_wire_dec *d, cai_wire_map *m)
{
    memset(m, 0, sizeof *m);
    if (d->st != CA_OK)
        return;
    const cai_wire_reader *r = &d->r;
    if (r->p < r->end && (*r->p & 0xf0u) == 0x80u &&
        (size_t)(*r->p & 0x0fu) <= (size_t)(r->end - r->p - 1) / 2) {
        /* a fixmap whose entries the input could hold (what cai_wr_map checks) */
        m->r = &d->r;
        m->remaining = *d->r.p++ & 0x0fu;
        return;
    }
    d->st = cai_wr_map(&d->r, m);
}

void cai_wd_key(cai_wire_dec *d, cai_wire_map *m, uint64_t key)
{
    if (d->st == CA_OK)
        d->st = cai_wr_require(m, key);
}

bool cai_wd_opt(cai_wire_dec *d, cai_wire_map *m, uint64_t key)
{
    bool present = false;
    if (d->st == CA_OK)
        d->st = cai_wr_field(m, key, &present);
    return d->st == CA_OK && present;
}

void cai_wd_map_end(cai_wire_dec *d, const cai_wire_map *m)
{
    if (d->st == CA_OK)
        d->st = cai_wr_map_end(m);
}

void cai_wd_uint(cai_wire_dec *d, uint64_t max, uint64_t *v)
{
    *v = 0;
    if (d->st == CA_OK)
        d->st = cai_wr_uint_max(&d->r, max, v);
}

void cai_wd_bool(cai_wire_dec *d, bool *v)
{
    *v = false;
    if (d->st == CA_OK)
        d->st = cai_wr_bool(&d->r, v);
}

void cai_wd_fixed(cai_wire_dec *d, void *out, size_t n)
{
    if (d->st == CA_OK)
        d->st = cai_wr_bin_fixed(&d->r, out, n);
    if (d->st != CA_OK)
        memset(out, 0, n);
}

void cai_wd_bin(cai_wire_dec *d, size_t max, const uint8_t **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    if (d->st == CA_OK)
        d->st = cai_wr_bin_max(&d->r, max, p, n);
}

void cai_wd_array(cai_wire_dec *d, const char *what, uint32_t min, uint32_t max, uint32_t *n)
{
    size_t at = cai_wd_offset(d);
    *n = 0;
    if (d->st == CA_OK)
        d->st = cai_wr_array(&d->r, n);
    if (d->st == CA_OK && (*n < min || *n > max)) {
        d->st = cai_fail(CA_ERR_MALFORMED, "malformed message at byte %zu: %u %s (%u .. %u)", at,
                         *n, what, min, max);
        *n = 0;
    }
}

ca_status cai_wd_finish(cai_wire_dec *d)
{
    if (d->st == CA_OK)
        d->st = cai_wr_end(&d->r);
    return d->st;
}
