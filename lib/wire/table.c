/*
 * Message tables (wire.h): the canonical writer and the strict reader of a
 * message described as rows of cai_wire_field. Both walk the same rows, so a
 * field's key, type, bounds and presence are stated once.
 */
#include <stdio.h>

#include "internal.h"
#include "wire/wire.h"

/* The per-field reader is inlined into the field loop: it runs once per field of every message. */
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define COLD          __attribute__((cold, noinline))
#else
#define ALWAYS_INLINE inline
#define COLD
#endif

/* The view members of wire structs (a typedef, so that `const T` stays one qualifier). */
typedef const uint8_t *bytes_view;
typedef const char *text_view;

#define FIELD(obj, off, T)  ((T *)(void *)((uint8_t *)(obj) + (off)))
#define CFIELD(obj, off, T) ((const T *)(const void *)((const uint8_t *)(obj) + (off)))

/* The upper bound of a row: its max, or the type's own limit when max is 0. */
static uint64_t row_max(const cai_wire_field *f)
{
    if (f->max != 0)
        return f->max;
    return f->type == CAI_WT_U32 ? UINT32_MAX : UINT64_MAX;
}

/* Numbers: the value; bytes, text and arrays: the length; a reference: whether it is set. */
static uint64_t row_scalar(const cai_wire_field *f, const void *obj)
{
    switch (f->type) {
    case CAI_WT_UINT:
        return *CFIELD(obj, f->off, uint64_t);
    case CAI_WT_U32:
        return *CFIELD(obj, f->off, uint32_t);
    case CAI_WT_BOOL:
        return *CFIELD(obj, f->off, int) != 0;
    case CAI_WT_REF:
        return *CFIELD(obj, f->off, bytes_view) != NULL;
    case CAI_WT_BIN:
    case CAI_WT_STR:
    case CAI_WT_ARRAY:
        return *CFIELD(obj, f->aux_off, size_t);
    default:
        return 1;
    }
}

/* The WHEN bits of a struct: select() once per walk of a table. */
static uint32_t row_active(const cai_wire_table *t, const void *obj)
{
    return t->select != NULL ? t->select(obj) : 0;
}

static bool row_present(const cai_wire_field *f, const void *obj, uint32_t active)
{
    switch (f->presence) {
    case CAI_WP_NONZERO:
        return row_scalar(f, obj) != 0;
    case CAI_WP_WHEN:
        return (f->when & active) != 0;
    case CAI_WP_CHOICE:
        return *CFIELD(obj, f->sel_off, int) == (int)f->alt;
    default:
        return true;
    }
}

/* A value in a WHEN row the struct leaves out: not zero? */
static bool unused_set(const cai_wire_field *f, const void *obj)
{
    if (f->type != CAI_WT_FIXED)
        return row_scalar(f, obj) != 0;
    static const uint8_t zero[64];
    const uint8_t *p = CFIELD(obj, f->off, uint8_t);
    for (size_t k = 0; k < f->max; k += sizeof zero) {
        size_t n = f->max - k < sizeof zero ? (size_t)(f->max - k) : sizeof zero;
        if (memcmp(p + k, zero, n) != 0)
            return true;
    }
    return false;
}

/* ---- writer ---- */

static void put_value(cai_wire_writer *w, const cai_wire_field *f, const void *obj)
{
    switch (f->type) {
    case CAI_WT_UINT:
    case CAI_WT_U32:
        cai_ww_uint(w, row_scalar(f, obj));
        break;
    case CAI_WT_BOOL:
        cai_ww_bool(w, *CFIELD(obj, f->off, int) != 0);
        break;
    case CAI_WT_CONST:
        cai_ww_uint(w, f->min);
        break;
    case CAI_WT_FIXED:
        cai_ww_bin(w, CFIELD(obj, f->off, uint8_t), (size_t)f->max);
        break;
    case CAI_WT_REF:
        cai_ww_bin(w, *CFIELD(obj, f->off, bytes_view), (size_t)f->max);
        break;
    case CAI_WT_BIN:
        cai_ww_bin(w, *CFIELD(obj, f->off, bytes_view), *CFIELD(obj, f->aux_off, size_t));
        break;
    case CAI_WT_STR:
        cai_ww_str(w, *CFIELD(obj, f->off, text_view), *CFIELD(obj, f->aux_off, size_t));
        break;
    case CAI_WT_MAP:
        cai_wire_put_map(w, f->sub, obj);
        break;
    case CAI_WT_ARRAY: {
        size_t n = *CFIELD(obj, f->aux_off, size_t);
        cai_ww_array(w, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            put_value(w, f->elem, CFIELD(obj, f->off + i * f->stride, uint8_t));
        break;
    }
    default:
        break;
    }
}

uint32_t cai_wire_count_checked(const cai_wire_table *t, const void *obj,
                                const cai_wire_field **unused)
{
    uint32_t n = 0, active = row_active(t, obj);
    *unused = NULL;
    for (size_t i = 0; i < t->count; i++) {
        const cai_wire_field *f = &t->fields[i];
        if (row_present(f, obj, active))
            n++;
        else if (f->presence == CAI_WP_WHEN && *unused == NULL && unused_set(f, obj))
            *unused = f;
    }
    return n;
}

uint32_t cai_wire_count(const cai_wire_table *t, const void *obj)
{
    uint32_t n = 0, active = row_active(t, obj);
    for (size_t i = 0; i < t->count; i++)
        n += row_present(&t->fields[i], obj, active);
    return n;
}

void cai_wire_put(cai_wire_writer *w, const cai_wire_table *t, const void *obj)
{
    uint32_t active = row_active(t, obj);
    for (size_t i = 0; i < t->count; i++) {
        const cai_wire_field *f = &t->fields[i];
        if (row_present(f, obj, active)) {
            cai_ww_uint(w, f->key);
            put_value(w, f, obj);
        }
    }
}

void cai_wire_put_map(cai_wire_writer *w, const cai_wire_table *t, const void *obj)
{
    cai_ww_map(w, cai_wire_count(t, obj));
    cai_wire_put(w, t, obj);
}

/* ---- reader ---- */

/* Adds the field to the reader's sentence ("... at byte N: what"), keeping its status. */
static COLD void name_field(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f)
{
    char why[192];
    (void)snprintf(why, sizeof why, "%s", ca_last_error());
    d->st = cai_fail(d->st, "%s (field %u '%s' of the %s)", why, f->key, f->name, t->name);
}

/*
 * A canonical unsigned integer, read in line: positive fixint, or uint8 ..
 * uint64 at least as large as the next smaller form holds. False (consuming
 * nothing) for anything else, which cai_wr_uint then refuses with its
 * sentence.
 */
static ALWAYS_INLINE bool uint_fast(cai_wire_reader *r, uint64_t *v)
{
    static const uint64_t min_for[4] = {0x80u, 0x100u, 0x10000u, 0x100000000u};
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p);
    if (left == 0)
        return false;
    if (p[0] <= 0x7f) {
        *v = p[0];
        r->p = p + 1;
        return true;
    }
    if (p[0] < 0xcc || p[0] > 0xcf)
        return false;
    unsigned form = p[0] - 0xccu;
    size_t width = (size_t)1 << form;
    if (left < 1 + width)
        return false;
    uint64_t x = 0;
    for (size_t k = 1; k <= width; k++)
        x = (x << 8) | p[k];
    if (x < min_for[form])
        return false;
    *v = x;
    r->p = p + 1 + width;
    return true;
}

/* The sentence of a number a row refuses (out of line: the rare path). */
static COLD void uint_refused(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f,
                              uint64_t v)
{
    ca_status bad = f->bad != CA_OK ? f->bad : CA_ERR_MALFORMED;
    uint64_t max = row_max(f);
    if (f->type == CAI_WT_CONST)
        d->st = cai_fail(bad, "%s %s %llu is not supported (this build: %llu)", t->name, f->name,
                         (unsigned long long)v, (unsigned long long)f->min);
    else if ((f->flags & CAI_WF_BITS) != 0 && (v & ~max) != 0)
        d->st = cai_fail(bad, "malformed %s: field %u '%s' 0x%llx has bits outside 0x%llx", t->name,
                         f->key, f->name, (unsigned long long)v, (unsigned long long)max);
    else if ((f->flags & CAI_WF_BITS) == 0 && (v < f->min || v > max))
        d->st = cai_fail(bad, "malformed %s: field %u '%s' is %llu, outside %llu .. %llu", t->name,
                         f->key, f->name, (unsigned long long)v, (unsigned long long)f->min,
                         (unsigned long long)max);
    else /* 0 in a row that omits 0 */
        d->st = cai_fail(CA_ERR_MALFORMED, "malformed %s: field %u '%s' is 0, which is omitted",
                         t->name, f->key, f->name);
}

static ALWAYS_INLINE void get_uint(cai_wire_dec *d, const cai_wire_table *t,
                                   const cai_wire_field *f, void *obj)
{
    uint64_t v = 0;
    if (!uint_fast(&d->r, &v) && (d->st = cai_wr_uint(&d->r, &v)) != CA_OK) {
        name_field(d, t, f);
        return;
    }
    uint64_t max = row_max(f);
    bool refused;
    if (f->type == CAI_WT_CONST)
        refused = v != f->min;
    else if ((f->flags & CAI_WF_BITS) != 0)
        refused = (v & ~max) != 0 || (v == 0 && f->presence == CAI_WP_NONZERO);
    else
        refused = v < f->min || v > max || (v == 0 && f->presence == CAI_WP_NONZERO);
    if (refused) {
        uint_refused(d, t, f, v);
        return;
    }
    if (f->type == CAI_WT_U32)
        *FIELD(obj, f->off, uint32_t) = (uint32_t)v;
    else if (f->type == CAI_WT_UINT)
        *FIELD(obj, f->off, uint64_t) = v;
}

/*
 * A bin8 of exactly n (< 256) bytes, the form of every fixed-size field: its
 * header is canonical (no shorter form exists), so it is taken without the
 * general reader. Returns NULL (consuming nothing) for anything else.
 */
static const uint8_t *fixed_fast(cai_wire_reader *r, size_t n)
{
    const uint8_t *p = r->p;
    if (n > 0xff || (size_t)(r->end - p) < 2 + n || p[0] != 0xc4 || p[1] != n)
        return NULL;
    r->p = p + 2 + n;
    return p + 2;
}

/*
 * A bin of at most max bytes in its canonical form (bin8 below 256 bytes,
 * bin16 below 65536, else bin32), the bytes present. NULL, consuming
 * nothing, for anything else: cai_wr_bin_max then gives the sentence.
 */
static ALWAYS_INLINE const uint8_t *bin_fast(cai_wire_reader *r, size_t max, size_t *n)
{
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p), len, head;
    if (left >= 2 && p[0] == 0xc4) {
        len = p[1];
        head = 2;
    } else if (left >= 3 && p[0] == 0xc5 && (len = (size_t)p[1] << 8 | p[2]) >= 0x100) {
        head = 3;
    } else {
        return NULL; /* bin32 (64 KiB and more) is rare: the general reader */
    }
    if (len > left - head || len > max)
        return NULL;
    r->p = p + head + len;
    *n = len;
    return p + head;
}

static ALWAYS_INLINE void get_bytes(cai_wire_dec *d, const cai_wire_table *t,
                                    const cai_wire_field *f, void *obj)
{
    const uint8_t *p = NULL;
    if (f->type == CAI_WT_REF && (p = fixed_fast(&d->r, (size_t)f->max)) != NULL) {
        *FIELD(obj, f->off, bytes_view) = p;
        return;
    }
    size_t n = 0;
    size_t max = (size_t)(f->max != 0 && f->max < SIZE_MAX ? f->max : SIZE_MAX);
    const uint8_t *at = d->r.p;
    if (f->type == CAI_WT_STR && at < d->r.end && (*at & 0xe0u) == 0xa0u &&
        (n = *at & 0x1fu) <= (size_t)(d->r.end - at - 1) && n <= max &&
        cai_utf8_valid(at + 1, n)) { /* fixstr: the canonical form below 32 bytes */
        p = at + 1;
        d->r.p = p + n;
    } else if (f->type == CAI_WT_STR) {
        d->st = cai_wr_str_max(&d->r, max, (const char **)&p, &n);
    } else if ((p = bin_fast(&d->r, max, &n)) != NULL) {
        /* taken */
    } else {
        d->st = cai_wr_bin_max(&d->r, max, &p, &n);
    }
    if (d->st != CA_OK) {
        name_field(d, t, f);
        return;
    }
    if (f->type == CAI_WT_REF && n != max) {
        d->st = cai_fail(CA_ERR_MALFORMED, "malformed %s: field %u '%s' has %zu bytes, not %zu",
                         t->name, f->key, f->name, n, max);
        return;
    }
    bool raw = (f->flags & CAI_WF_RAW) != 0;
    if (!raw && (n < f->min || (n == 0 && f->presence == CAI_WP_NONZERO))) {
        d->st = cai_fail(
            CA_ERR_MALFORMED, "malformed %s: field %u '%s' has %zu bytes (%llu .. %zu)", t->name,
            f->key, f->name, n,
            (unsigned long long)(f->min > 0 || f->presence != CAI_WP_NONZERO ? f->min : 1), max);
        return;
    }
    if (f->type == CAI_WT_STR && !raw && n > 0 && memchr(p, '\0', n) != NULL) {
        d->st = cai_fail(CA_ERR_MALFORMED, "malformed %s: field %u '%s' contains a NUL byte",
                         t->name, f->key, f->name);
        return;
    }
    *FIELD(obj, f->off, bytes_view) = p;
    if (f->type != CAI_WT_REF)
        *FIELD(obj, f->aux_off, size_t) = n;
}

static void get_fields(cai_wire_dec *d, cai_wire_map *m, const cai_wire_table *t, void *obj,
                       size_t index);
static void get_value(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f, void *obj,
                      size_t index);

/* A map header; a fixmap whose entries the input could hold is taken in line (as cai_wd_map). */
static ALWAYS_INLINE void get_map(cai_wire_dec *d, cai_wire_map *m)
{
    const cai_wire_reader *r = &d->r;
    if (r->p < r->end && (*r->p & 0xf0u) == 0x80u &&
        (size_t)(*r->p & 0x0fu) <= (size_t)(r->end - r->p - 1) / 2) {
        m->r = &d->r;
        m->remaining = *d->r.p++ & 0x0fu;
        m->next_min = 0;
        return;
    }
    cai_wd_map(d, m);
}

/* A nested map or an array: out of line, they recurse. */
static void get_nested(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f, void *obj,
                       size_t index)
{
    if (f->type == CAI_WT_MAP) {
        cai_wire_map sm;
        get_map(d, &sm);
        if (d->st == CA_OK)
            get_fields(d, &sm, f->sub, obj, index);
        cai_wd_map_end(d, &sm);
        return;
    }
    uint32_t n = 0;
    if ((d->st = cai_wr_array(&d->r, &n)) != CA_OK) {
        name_field(d, t, f);
        return;
    }
    if (n < f->min || n > row_max(f)) {
        d->st = cai_fail(
            CA_ERR_MALFORMED, "malformed %s: field %u '%s' has %u elements (%llu .. %llu)", t->name,
            f->key, f->name, n, (unsigned long long)f->min, (unsigned long long)row_max(f));
        return;
    }
    for (uint32_t i = 0; i < n && d->st == CA_OK; i++) {
        uint8_t *elem = FIELD(obj, f->off + i * f->stride, uint8_t);
        memset(elem, 0, f->stride); /* absent optional fields read as 0 */
        get_value(d, t, f->elem, elem, i);
    }
    *FIELD(obj, f->aux_off, size_t) = n;
}

/* One value of row f (of table t) into obj; `index`: the array element obj is, or 0. */
static ALWAYS_INLINE void get_value(cai_wire_dec *d, const cai_wire_table *t,
                                    const cai_wire_field *f, void *obj, size_t index)
{
    switch (f->type) {
    case CAI_WT_UINT:
    case CAI_WT_U32:
    case CAI_WT_CONST:
        get_uint(d, t, f, obj);
        break;
    case CAI_WT_BOOL: {
        bool b = false;
        if ((d->st = cai_wr_bool(&d->r, &b)) != CA_OK)
            name_field(d, t, f);
        else
            *FIELD(obj, f->off, int) = b;
        break;
    }
    case CAI_WT_FIXED: {
        const uint8_t *p = fixed_fast(&d->r, (size_t)f->max);
        if (p != NULL)
            memcpy(FIELD(obj, f->off, uint8_t), p, (size_t)f->max);
        else if ((d->st = cai_wr_bin_fixed(&d->r, FIELD(obj, f->off, uint8_t), (size_t)f->max)) !=
                 CA_OK)
            name_field(d, t, f);
        break;
    }
    case CAI_WT_REF:
    case CAI_WT_BIN:
    case CAI_WT_STR:
        get_bytes(d, t, f, obj);
        break;
    default:
        get_nested(d, t, f, obj, index);
        break;
    }
    if (f->check != NULL && d->st == CA_OK)
        d->st = f->check(obj, index);
}

/* The first row of alternative `alt` (CHOICE rows). */
static const cai_wire_field *first_of(const cai_wire_table *t, unsigned alt)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->fields[i].presence == CAI_WP_CHOICE && t->fields[i].alt == alt)
            return &t->fields[i];
    return NULL;
}

/*
 * Whether the next entry has key `key` (then consumed); a missing required
 * key fails. The next key as one positive fixint byte equal to `key` is
 * taken directly (its canonical form, the common case): row keys are below
 * 128 and ascending (wire-tables checks every table), so that byte is the key
 * and it is above the last one read. Anything else goes through the
 * reader's checks (cai_wr_field).
 */
static ALWAYS_INLINE bool take_key(cai_wire_dec *d, cai_wire_map *m, uint32_t key, bool required)
{
    const cai_wire_reader *r = &d->r;
    if (m->remaining > 0 && r->p < r->end && *r->p == key) { /* keys < 128, ascending rows */
        d->r.p++;
        m->remaining--;
        m->next_min = (uint64_t)key + 1;
        return true;
    }
    if (!required && (m->remaining == 0 || (r->p < r->end && *r->p <= 0x7f && *r->p > key))) {
        /* absent: the map is done, or its next key (one byte) comes later, as cai_wr_field
         * would find */
        if (m->remaining > 0)
            m->next_min = (uint64_t)key + 1;
        return false;
    }
    if (required) {
        cai_wd_key(d, m, key);
        return d->st == CA_OK;
    }
    return cai_wd_opt(d, m, key);
}

static void get_fields(cai_wire_dec *d, cai_wire_map *m, const cai_wire_table *t, void *obj,
                       size_t index)
{
    int chosen = -1;
    const cai_wire_field *choice = NULL; /* first CHOICE row */
    uint32_t active = 0;
    bool have_active = false; /* select() reads rows before the first WHEN row */
    for (size_t i = 0; i < t->count; i++) {
        const cai_wire_field *f = &t->fields[i];
        bool read;
        switch (f->presence) {
        case CAI_WP_REQUIRED:
            read = take_key(d, m, f->key, true);
            break;
        case CAI_WP_NONZERO:
            read = take_key(d, m, f->key, false);
            break;
        case CAI_WP_WHEN:
            if (!have_active) {
                active = t->select(obj);
                have_active = true;
            }
            read = (f->when & active) != 0 && take_key(d, m, f->key, true);
            break;
        default: /* CAI_WP_CHOICE */
            if (choice == NULL)
                choice = f;
            if (chosen == (int)f->alt) {
                read = take_key(d, m, f->key, true);
            } else if (!take_key(d, m, f->key, false)) {
                read = false;
            } else if (chosen >= 0) {
                const cai_wire_field *g = first_of(t, (unsigned)chosen);
                d->st = cai_fail(CA_ERR_MALFORMED,
                                 "malformed %s: field %u '%s' and field %u '%s' exclude each other",
                                 t->name, g->key, g->name, f->key, f->name);
                read = false;
            } else if (first_of(t, f->alt) != f) {
                const cai_wire_field *g = first_of(t, f->alt);
                d->st = cai_fail(CA_ERR_MALFORMED,
                                 "malformed %s: field %u '%s' is missing (field %u '%s' needs it)",
                                 t->name, g->key, g->name, f->key, f->name);
                read = false;
            } else {
                chosen = (int)f->alt;
                *FIELD(obj, f->sel_off, int) = chosen;
                read = true;
            }
            break;
        }
        if (read)
            get_value(d, t, f, obj, index);
        if (d->st != CA_OK)
            return;
    }
    if (choice != NULL && chosen < 0)
        d->st = cai_fail(CA_ERR_MALFORMED,
                         "malformed %s: field %u '%s' or one of its alternatives is required",
                         t->name, choice->key, choice->name);
}

void cai_wd_fields(cai_wire_dec *d, cai_wire_map *m, const cai_wire_table *t, void *obj)
{
    if (d->st == CA_OK)
        get_fields(d, m, t, obj, 0);
}

void cai_wd_table(cai_wire_dec *d, const cai_wire_table *t, void *obj)
{
    cai_wire_map m;
    memset(&m, 0, sizeof m);
    if (d->st == CA_OK)
        get_map(d, &m);
    cai_wd_fields(d, &m, t, obj);
    cai_wd_map_end(d, &m);
}
