/* Strict JSON reader, RFC 8785 canonical writer and base64url (rules: json.h). */
#include "wire/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "internal.h"
#include "wire/wire.h"

#define JSON_INPUT_MAX (1u << 30)

/* ---- text writer ---- */

void cai_text_raw(cai_text *w, const char *s, size_t n)
{
    if (w->buf != NULL && w->len + n <= w->cap && n > 0)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void cai_text_lit(cai_text *w, const char *s)
{
    cai_text_raw(w, s, strlen(s));
}

void cai_text_json_str(cai_text *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    cai_text_raw(w, "\"", 1);
    size_t run = 0; /* start of the bytes copied as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t el = 2;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            if (c < 0x20) {
                esc = u;
                el = 6;
            }
        }
        if (esc != NULL) {
            cai_text_raw(w, s + run, i - run);
            cai_text_raw(w, esc, el);
            run = i + 1;
        }
    }
    cai_text_raw(w, s + run, n - run);
    cai_text_raw(w, "\"", 1);
}

/* ---- reader ---- */

typedef struct {
    const unsigned char *start, *p, *end;
    cai_json *d;
} jp;

static ca_status bad(const jp *r, const char *what)
{
    return cai_fail(CA_ERR_JSON, "invalid JSON at byte %zu: %s", (size_t)(r->p - r->start), what);
}

static ca_status new_node(jp *r, uint32_t type, uint32_t *index)
{
    cai_json *d = r->d;
    ca_status st = cai_array_grow((void **)&d->nodes, &d->cap, (uint64_t)d->n + 1, sizeof *d->nodes,
                                  UINT32_MAX / 2);
    if (st != CA_OK)
        return st;
    cai_json_node *nd = &d->nodes[d->n];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->end = d->n + 1;
    *index = d->n++;
    return CA_OK;
}

static ca_status pool_put(jp *r, const void *bytes, size_t n)
{
    cai_json *d = r->d;
    ca_status st = cai_array_grow((void **)&d->pool, &d->pool_cap, (uint64_t)d->pool_len + n, 1,
                                  UINT32_MAX / 2);
    if (st != CA_OK)
        return st;
    memcpy(d->pool + d->pool_len, bytes, n);
    d->pool_len += (uint32_t)n;
    return CA_OK;
}

static void skip_ws(jp *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], x;
        if (c >= '0' && c <= '9')
            x = c - '0';
        else if (c >= 'a' && c <= 'f')
            x = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            x = c - 'A' + 10;
        else
            return 0;
        v = v << 4 | x;
    }
    *out = v;
    return 1;
}

static ca_status put_cp(jp *r, unsigned cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return pool_put(r, b, n);
}

/* A \u escape at r->p (after the backslash and 'u' were seen), pairing surrogates. */
static ca_status parse_u_escape(jp *r)
{
    unsigned hi;
    if (r->end - r->p < 4 || !hex4(r->p, &hi))
        return bad(r, "\\u needs four hex digits");
    r->p += 4;
    unsigned cp = hi;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return bad(r, "lone low surrogate escape");
    if (hi >= 0xd800 && hi <= 0xdbff) {
        unsigned lo;
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || !hex4(r->p + 2, &lo) ||
            lo < 0xdc00 || lo > 0xdfff)
            return bad(r, "lone high surrogate escape");
        r->p += 6;
        cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0)
        return cai_fail(CA_ERR_UNSUPPORTED, "JSON string contains U+0000, which this library "
                                            "does not carry in text");
    return put_cp(r, cp);
}

static ca_status parse_string(jp *r, uint32_t *index)
{
    ca_status st = new_node(r, CAI_JSON_STRING, index);
    if (st != CA_OK)
        return st;
    uint32_t off = r->d->pool_len;
    r->p++; /* opening quote */
    for (;;) {
        if (r->p >= r->end)
            return bad(r, "unterminated string");
        unsigned char c = *r->p;
        if (c == '"') {
            r->p++;
            break;
        }
        if (c < 0x20)
            return bad(r, "raw control character in a string");
        if (c == '\\') {
            if (r->end - r->p < 2)
                return bad(r, "unterminated escape");
            unsigned char e = r->p[1];
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *hit = e != 0 ? strchr(from, e) : NULL;
            r->p += 2;
            if (e == 'u')
                st = parse_u_escape(r);
            else if (hit != NULL)
                st = pool_put(r, &to[hit - from], 1);
            else
                return bad(r, "unknown escape");
            if (st != CA_OK)
                return st;
            continue;
        }
        size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if ((size_t)(r->end - r->p) < n || !cai_utf8_valid(r->p, n))
            return bad(r, "invalid UTF-8");
        st = pool_put(r, r->p, n);
        if (st != CA_OK)
            return st;
        r->p += n;
    }
    st = pool_put(r, "", 1);
    if (st != CA_OK)
        return st;
    cai_json_node *nd = &r->d->nodes[*index];
    nd->off = off;
    nd->len = r->d->pool_len - off - 1;
    return CA_OK;
}

/*
 * RFC 8259 number whose value is an integer of magnitude <= 2^53, written
 * as plain decimal (what ECMAScript's Number::toString gives for it).
 */
static ca_status parse_number(jp *r, uint32_t *index)
{
    const unsigned char *start = r->p;
    int neg = 0;
    char sig[24];                       /* significant digits without leading or trailing zeros */
    size_t ns = 0, zeros = 0, frac = 0; /* zeros: run of 0 digits after the last nonzero one */
    int too_many = 0;
    if (*r->p == '-') {
        neg = 1;
        r->p++;
    }
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return bad(r, "number without digits");
    if (*r->p == '0' && r->end - r->p > 1 && r->p[1] >= '0' && r->p[1] <= '9')
        return bad(r, "number with a leading zero");
    for (int part = 0; part < 2; part++) {
        if (part == 1) {
            if (r->p >= r->end || *r->p != '.')
                break;
            r->p++;
            if (r->p >= r->end || *r->p < '0' || *r->p > '9')
                return bad(r, "fraction without digits");
        }
        for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++) {
            frac += (size_t)part;
            if (*r->p == '0') {
                zeros += ns > 0;
                continue;
            }
            if (ns + zeros + 1 > sizeof sig) {
                too_many = 1; /* over 24 significant digits: never an integer <= 2^53 */
                continue;
            }
            memset(sig + ns, '0', zeros);
            ns += zeros;
            zeros = 0;
            sig[ns++] = (char)*r->p;
        }
    }
    long exp = 0;
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        int eneg = 0;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            eneg = *r->p++ == '-';
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return bad(r, "exponent without digits");
        for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++)
            if (exp < 100000)
                exp = exp * 10 + (*r->p - '0');
        if (eneg)
            exp = -exp;
    }
    /* value = sig * 10^scale */
    long scale = exp - (long)frac + (long)zeros;
    char text[24];
    size_t tl = 0;
    if (ns == 0 && !too_many) {
        text[tl++] = '0'; /* zero, and -0, is "0" */
    } else {
        if (too_many || scale < 0 || (long)ns + scale > 16)
            goto unsupported;
        if (neg)
            text[tl++] = '-';
        memcpy(text + tl, sig, ns);
        tl += ns;
        memset(text + tl, '0', (size_t)scale);
        tl += (size_t)scale;
        if (tl - (size_t)neg == 16 && memcmp(text + neg, "9007199254740992", 16) > 0)
            goto unsupported;
    }
    ca_status st = new_node(r, CAI_JSON_NUMBER, index);
    if (st == CA_OK) {
        r->d->nodes[*index].off = r->d->pool_len;
        r->d->nodes[*index].len = (uint32_t)tl;
        st = pool_put(r, text, tl);
    }
    if (st == CA_OK)
        st = pool_put(r, "", 1);
    return st;
unsupported:
    return cai_fail(CA_ERR_UNSUPPORTED,
                    "JSON number '%.*s' is not an integer of magnitude at most 2^53 (the only "
                    "numbers this library canonicalizes)",
                    (int)(r->p - start > 40 ? 40 : r->p - start), (const char *)start);
}

static int cmp_bytes(const cai_json *d, uint32_t a, uint32_t b)
{
    const cai_json_node *x = &d->nodes[a], *y = &d->nodes[b];
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(d->pool + x->off, d->pool + y->off, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Next UTF-16 code unit of valid UTF-8 at *i (pending: a low surrogate still to give). */
static unsigned next_unit(const unsigned char *s, size_t *i, unsigned *pending)
{
    if (*pending != 0) {
        unsigned u = *pending;
        *pending = 0;
        return u;
    }
    unsigned c = s[*i], cp;
    if (c < 0x80) {
        cp = c;
        *i += 1;
    } else if (c < 0xe0) {
        cp = (c & 0x1fu) << 6 | (s[*i + 1] & 0x3fu);
        *i += 2;
    } else if (c < 0xf0) {
        cp = (c & 0x0fu) << 12 | (s[*i + 1] & 0x3fu) << 6 | (s[*i + 2] & 0x3fu);
        *i += 3;
    } else {
        cp = (c & 0x07u) << 18 | (s[*i + 1] & 0x3fu) << 12 | (s[*i + 2] & 0x3fu) << 6 |
             (s[*i + 3] & 0x3fu);
        *i += 4;
    }
    if (cp < 0x10000)
        return cp;
    cp -= 0x10000;
    *pending = 0xdc00 + (cp & 0x3ffu);
    return 0xd800 + (cp >> 10);
}

/* RFC 8785 section 3.2.3: member names compared as arrays of UTF-16 code units. */
static int cmp_utf16(const cai_json *d, uint32_t a, uint32_t b)
{
    const unsigned char *x = (const unsigned char *)d->pool + d->nodes[a].off;
    const unsigned char *y = (const unsigned char *)d->pool + d->nodes[b].off;
    size_t xn = d->nodes[a].len, yn = d->nodes[b].len, i = 0, j = 0;
    unsigned px = 0, py = 0;
    while ((i < xn || px != 0) && (j < yn || py != 0)) {
        unsigned u = next_unit(x, &i, &px), v = next_unit(y, &j, &py);
        if (u != v)
            return u < v ? -1 : 1;
    }
    int xl = i < xn || px != 0, yl = j < yn || py != 0;
    return xl - yl;
}

typedef int (*key_cmp)(const cai_json *d, uint32_t a, uint32_t b);

/* Stable merge sort of node indices (O(n log n) for any input). */
static void sort_keys(const cai_json *d, uint32_t *a, uint32_t *tmp, size_t n, key_cmp cmp)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_keys(d, a, tmp, h, cmp);
    sort_keys(d, a + h, tmp, n - h, cmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp(d, a[j], a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

/* Member-name node indices of object `obj` into keys[0 .. count). */
static void member_names(const cai_json *d, uint32_t obj, uint32_t *keys)
{
    uint32_t k = obj + 1;
    for (uint32_t m = 0; m < d->nodes[obj].count; m++) {
        keys[m] = k;
        k = d->nodes[k + 1].end;
    }
}

static ca_status check_duplicates(jp *r, uint32_t obj)
{
    const cai_json *d = r->d;
    uint32_t n = d->nodes[obj].count;
    if (n < 2)
        return CA_OK;
    uint32_t *keys = malloc((size_t)n * 2 * sizeof *keys);
    if (keys == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory checking JSON member names");
    member_names(d, obj, keys);
    sort_keys(d, keys, keys + n, n, cmp_bytes);
    ca_status st = CA_OK;
    for (uint32_t i = 1; i < n && st == CA_OK; i++)
        if (cmp_bytes(d, keys[i - 1], keys[i]) == 0)
            st = cai_fail(CA_ERR_JSON, "invalid JSON: duplicate member name \"%.64s\"",
                          d->pool + d->nodes[keys[i]].off);
    free(keys);
    return st;
}

static ca_status parse_value(jp *r, uint32_t depth);

static ca_status parse_container(jp *r, uint32_t depth, int is_object)
{
    if (depth >= CAI_JSON_DEPTH_MAX)
        return cai_fail(CA_ERR_LIMIT, "JSON nests deeper than %u arrays and objects",
                        (unsigned)CAI_JSON_DEPTH_MAX);
    uint32_t self;
    ca_status st = new_node(r, is_object ? CAI_JSON_OBJECT : CAI_JSON_ARRAY, &self);
    if (st != CA_OK)
        return st;
    const unsigned char close = is_object ? '}' : ']';
    uint32_t count = 0;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
    } else {
        for (;;) {
            skip_ws(r);
            if (is_object) {
                uint32_t name;
                if (r->p >= r->end || *r->p != '"')
                    return bad(r, "object member name expected");
                st = parse_string(r, &name);
                if (st != CA_OK)
                    return st;
                skip_ws(r);
                if (r->p >= r->end || *r->p != ':')
                    return bad(r, "':' expected");
                r->p++;
            }
            st = parse_value(r, depth + 1);
            if (st != CA_OK)
                return st;
            count++;
            skip_ws(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == close) {
                r->p++;
                break;
            }
            return bad(r, is_object ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
    r->d->nodes[self].count = count;
    r->d->nodes[self].end = r->d->n;
    return is_object ? check_duplicates(r, self) : CA_OK;
}

static ca_status parse_literal(jp *r, const char *word, uint32_t type)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return bad(r, "unexpected character");
    r->p += n;
    uint32_t index;
    return new_node(r, type, &index);
}

static ca_status parse_value(jp *r, uint32_t depth)
{
    skip_ws(r);
    if (r->p >= r->end)
        return bad(r, "value expected");
    uint32_t index;
    switch (*r->p) {
    case '{':
        return parse_container(r, depth, 1);
    case '[':
        return parse_container(r, depth, 0);
    case '"':
        return parse_string(r, &index);
    case 't':
        return parse_literal(r, "true", CAI_JSON_TRUE);
    case 'f':
        return parse_literal(r, "false", CAI_JSON_FALSE);
    case 'n':
        return parse_literal(r, "null", CAI_JSON_NULL);
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return parse_number(r, &index);
        return bad(r, "unexpected character");
    }
}

ca_status cai_json_parse(cai_json *doc, const char *text, size_t len)
{
    memset(doc, 0, sizeof *doc);
    if (len > JSON_INPUT_MAX)
        return cai_fail(CA_ERR_LIMIT, "JSON text of %zu bytes is over the reader's limit", len);
    jp r = {(const unsigned char *)text, (const unsigned char *)text,
            (const unsigned char *)text + len, doc};
    ca_status st = text == NULL ? bad(&r, "no text") : parse_value(&r, 0);
    if (st == CA_OK) {
        skip_ws(&r);
        if (r.p != r.end)
            st = bad(&r, "bytes after the value");
    }
    if (st != CA_OK)
        cai_json_free(doc);
    return st;
}

void cai_json_free(cai_json *doc)
{
    if (doc == NULL)
        return;
    free(doc->nodes);
    free(doc->pool);
    memset(doc, 0, sizeof *doc);
}

uint32_t cai_json_get(const cai_json *doc, uint32_t obj, const char *name)
{
    if (obj >= doc->n || doc->nodes[obj].type != CAI_JSON_OBJECT)
        return 0;
    size_t nl = strlen(name);
    uint32_t k = obj + 1;
    for (uint32_t m = 0; m < doc->nodes[obj].count; m++) {
        const cai_json_node *key = &doc->nodes[k];
        if (key->len == nl && memcmp(doc->pool + key->off, name, nl) == 0)
            return k + 1;
        k = doc->nodes[k + 1].end;
    }
    return 0;
}

const char *cai_json_text(const cai_json *doc, uint32_t node)
{
    return doc->pool + doc->nodes[node].off;
}

/* ---- canonical writer ---- */

static void canon(const cai_json *d, uint32_t v, const char *skip, cai_text *w, uint32_t *scratch)
{
    const cai_json_node *nd = &d->nodes[v];
    switch (nd->type) {
    case CAI_JSON_NULL:
        cai_text_lit(w, "null");
        return;
    case CAI_JSON_FALSE:
        cai_text_lit(w, "false");
        return;
    case CAI_JSON_TRUE:
        cai_text_lit(w, "true");
        return;
    case CAI_JSON_NUMBER:
        cai_text_raw(w, d->pool + nd->off, nd->len);
        return;
    case CAI_JSON_STRING:
        cai_text_json_str(w, d->pool + nd->off, nd->len);
        return;
    case CAI_JSON_ARRAY: {
        cai_text_raw(w, "[", 1);
        uint32_t e = v + 1;
        for (uint32_t i = 0; i < nd->count; i++) {
            if (i > 0)
                cai_text_raw(w, ",", 1);
            canon(d, e, NULL, w, scratch);
            e = d->nodes[e].end;
        }
        cai_text_raw(w, "]", 1);
        return;
    }
    default: {
        /* scratch holds 2 * count free slots for this object; nested ones use what follows */
        uint32_t n = nd->count, *keys = scratch;
        member_names(d, v, keys);
        sort_keys(d, keys, keys + n, n, cmp_utf16);
        cai_text_raw(w, "{", 1);
        int first = 1;
        for (uint32_t i = 0; i < n; i++) {
            const cai_json_node *k = &d->nodes[keys[i]];
            if (skip != NULL && strlen(skip) == k->len &&
                memcmp(d->pool + k->off, skip, k->len) == 0)
                continue;
            if (!first)
                cai_text_raw(w, ",", 1);
            first = 0;
            cai_text_json_str(w, d->pool + k->off, k->len);
            cai_text_raw(w, ":", 1);
            canon(d, keys[i] + 1, NULL, w, scratch + 2 * (size_t)n);
        }
        cai_text_raw(w, "}", 1);
    }
    }
}

ca_status cai_json_canonical(const cai_json *doc, uint32_t v, const char *skip, cai_text *w)
{
    /* every object along one path takes 2 * its member count; all members fit in n */
    uint32_t *scratch = malloc(((size_t)doc->n * 2 + 1) * sizeof *scratch);
    if (scratch == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory writing canonical JSON");
    canon(doc, v, skip, w, scratch);
    free(scratch);
    return CA_OK;
}

/* ---- base64url ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t cai_b64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void cai_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = b64[v >> 6 & 63];
        out[o++] = b64[v & 63];
    }
    if (n - i == 1) {
        out[o++] = b64[in[i] >> 2];
        out[o++] = b64[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
        out[o++] = b64[v >> 10];
        out[o++] = b64[v >> 4 & 63];
        out[o++] = b64[(v & 15) << 2];
    }
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int cai_b64url_decode(const char *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (n % 4 == 1)
        return 0;
    size_t need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (need > out_cap)
        return 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val(in[i]);
        if (v < 0)
            return 0;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* unused low bits must be zero: one text per byte string */
        return 0;
    *out_len = o;
    return 1;
}
