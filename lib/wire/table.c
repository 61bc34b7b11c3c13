/*
 * Message tables (wire.h): the canonical writer and the strict reader of a
 * message described as rows of cai_wire_field. Both walk the same rows, so a
 * field's key, type, bounds and presence are stated once.
 */
#include <stdio.h>

#include "internal.h"
#include "wire/wire.h"

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
        return *CFIELD(obj, f->off, const uint8_t *) != NULL;
    case CAI_WT_BIN:
    case CAI_WT_STR:
    case CAI_WT_ARRAY:
        return *CFIELD(obj, f->aux_off, size_t);
    default:
        return 1;
    }
}

static bool row_present(const cai_wire_table *t, const cai_wire_field *f, const void *obj)
{
    switch (f->presence) {
    case CAI_WP_NONZERO:
        return row_scalar(f, obj) != 0;
    case CAI_WP_WHEN:
        return (f->when & t->select(obj)) != 0;
    case CAI_WP_CHOICE:
        return *CFIELD(obj, f->sel_off, int) == (int)f->alt;
    default:
        return true;
    }
}

const cai_wire_field *cai_wire_unused_set(const cai_wire_table *t, const void *obj)
{
    for (size_t i = 0; i < t->count; i++) {
        const cai_wire_field *f = &t->fields[i];
        if (f->presence != CAI_WP_WHEN || (f->when & t->select(obj)) != 0)
            continue;
        if (f->type == CAI_WT_FIXED) {
            const uint8_t *p = CFIELD(obj, f->off, uint8_t);
            for (size_t k = 0; k < f->max; k++)
                if (p[k] != 0)
                    return f;
        } else if (row_scalar(f, obj) != 0) {
            return f;
        }
    }
    return NULL;
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
        cai_ww_bin(w, *CFIELD(obj, f->off, const uint8_t *), (size_t)f->max);
        break;
    case CAI_WT_BIN:
        cai_ww_bin(w, *CFIELD(obj, f->off, const uint8_t *), *CFIELD(obj, f->aux_off, size_t));
        break;
    case CAI_WT_STR:
        cai_ww_str(w, *CFIELD(obj, f->off, const char *), *CFIELD(obj, f->aux_off, size_t));
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

uint32_t cai_wire_count(const cai_wire_table *t, const void *obj)
{
    uint32_t n = 0;
    for (size_t i = 0; i < t->count; i++)
        n += row_present(t, &t->fields[i], obj);
    return n;
}

void cai_wire_put(cai_wire_writer *w, const cai_wire_table *t, const void *obj)
{
    for (size_t i = 0; i < t->count; i++) {
        const cai_wire_field *f = &t->fields[i];
        if (row_present(t, f, obj)) {
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
static void name_field(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f)
{
    char why[192];
    (void)snprintf(why, sizeof why, "%s", ca_last_error());
    d->st = cai_fail(d->st, "%s (field %u '%s' of the %s)", why, f->key, f->name, t->name);
}

static void get_uint(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f, void *obj)
{
    uint64_t v = 0;
    if ((d->st = cai_wr_uint(&d->r, &v)) != CA_OK) {
        name_field(d, t, f);
        return;
    }
    ca_status bad = f->bad != CA_OK ? f->bad : CA_ERR_MALFORMED;
    uint64_t max = row_max(f);
    if (f->type == CAI_WT_CONST) {
        if (v != f->min)
            d->st = cai_fail(bad, "%s %s %llu is not supported (this build: %llu)", t->name,
                             f->name, (unsigned long long)v, (unsigned long long)f->min);
        return;
    }
    if ((f->flags & CAI_WF_BITS) != 0 ? (v & ~max) != 0 : v < f->min || v > max) {
        if ((f->flags & CAI_WF_BITS) != 0)
            d->st =
                cai_fail(bad, "malformed %s: field %u '%s' 0x%llx has bits outside 0x%llx", t->name,
                         f->key, f->name, (unsigned long long)v, (unsigned long long)max);
        else
            d->st = cai_fail(bad, "malformed %s: field %u '%s' is %llu, outside %llu .. %llu",
                             t->name, f->key, f->name, (unsigned long long)v,
                             (unsigned long long)f->min, (unsigned long long)max);
        return;
    }
    if (v == 0 && f->presence == CAI_WP_NONZERO) {
        d->st = cai_fail(CA_ERR_MALFORMED, "malformed %s: field %u '%s' is 0, which is omitted",
                         t->name, f->key, f->name);
        return;
    }
    if (f->type == CAI_WT_U32)
        *FIELD(obj, f->off, uint32_t) = (uint32_t)v;
    else
        *FIELD(obj, f->off, uint64_t) = v;
}

static void get_bytes(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f, void *obj)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    size_t max = (size_t)(f->max != 0 && f->max < SIZE_MAX ? f->max : SIZE_MAX);
    if (f->type == CAI_WT_STR)
        d->st = cai_wr_str_max(&d->r, max, (const char **)&p, &n);
    else
        d->st = cai_wr_bin_max(&d->r, max, &p, &n);
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
    *FIELD(obj, f->off, const uint8_t *) = p;
    if (f->type != CAI_WT_REF)
        *FIELD(obj, f->aux_off, size_t) = n;
}

static void get_fields(cai_wire_dec *d, cai_wire_map *m, const cai_wire_table *t, void *obj,
                       size_t index);

/* One value of row f (of table t) into obj; `index`: the array element obj is, or 0. */
static void get_value(cai_wire_dec *d, const cai_wire_table *t, const cai_wire_field *f, void *obj,
                      size_t index)
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
    case CAI_WT_FIXED:
        if ((d->st = cai_wr_bin_fixed(&d->r, FIELD(obj, f->off, uint8_t), (size_t)f->max)) != CA_OK)
            name_field(d, t, f);
        break;
    case CAI_WT_REF:
    case CAI_WT_BIN:
    case CAI_WT_STR:
        get_bytes(d, t, f, obj);
        break;
    case CAI_WT_MAP: {
        cai_wire_map sm;
        cai_wd_map(d, &sm);
        get_fields(d, &sm, f->sub, obj, index);
        cai_wd_map_end(d, &sm);
        break;
    }
    case CAI_WT_ARRAY: {
        uint32_t n = 0;
        if ((d->st = cai_wr_array(&d->r, &n)) != CA_OK) {
            name_field(d, t, f);
            break;
        }
        if (n < f->min || n > row_max(f)) {
            d->st = cai_fail(CA_ERR_MALFORMED,
                             "malformed %s: field %u '%s' has %u elements (%llu .. %llu)", t->name,
                             f->key, f->name, n, (unsigned long long)f->min,
                             (unsigned long long)row_max(f));
            break;
        }
        for (uint32_t i = 0; i < n && d->st == CA_OK; i++) {
            uint8_t *elem = FIELD(obj, f->off + i * f->stride, uint8_t);
            memset(elem, 0, f->stride); /* absent optional fields read as 0 */
            get_value(d, t, f->elem, elem, i);
        }
        *FIELD(obj, f->aux_off, size_t) = n;
        break;
    }
    default:
        break;
    }
    if (d->st == CA_OK && f->check != NULL)
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

static void get_fields(cai_wire_dec *d, cai_wire_map *m, const cai_wire_table *t, void *obj,
                       size_t index)
{
    int chosen = -1;
    const cai_wire_field *choice = NULL; /* first CHOICE row */
    for (size_t i = 0; i < t->count && d->st == CA_OK; i++) {
        const cai_wire_field *f = &t->fields[i];
        switch (f->presence) {
        case CAI_WP_NONZERO:
            if (cai_wd_opt(d, m, f->key))
                get_value(d, t, f, obj, index);
            break;
        case CAI_WP_WHEN:
            if ((f->when & t->select(obj)) != 0) {
                cai_wd_key(d, m, f->key);
                if (d->st == CA_OK)
                    get_value(d, t, f, obj, index);
            }
            break;
        case CAI_WP_CHOICE:
            if (choice == NULL)
                choice = f;
            if (chosen == (int)f->alt) {
                cai_wd_key(d, m, f->key);
            } else if (!cai_wd_opt(d, m, f->key)) {
                break;
            } else if (chosen >= 0) {
                const cai_wire_field *g = first_of(t, (unsigned)chosen);
                d->st = cai_fail(CA_ERR_MALFORMED,
                                 "malformed %s: field %u '%s' and field %u '%s' exclude each other",
                                 t->name, g->key, g->name, f->key, f->name);
            } else if (first_of(t, f->alt) != f) {
                const cai_wire_field *g = first_of(t, f->alt);
                d->st = cai_fail(CA_ERR_MALFORMED,
                                 "malformed %s: field %u '%s' is missing (field %u '%s' needs it)",
                                 t->name, g->key, g->name, f->key, f->name);
            } else {
                chosen = (int)f->alt;
                *FIELD(obj, f->sel_off, int) = chosen;
            }
            if (d->st == CA_OK)
                get_value(d, t, f, obj, index);
            break;
        default:
            cai_wd_key(d, m, f->key);
            if (d->st == CA_OK)
                get_value(d, t, f, obj, index);
            break;
        }
    }
    if (d->st == CA_OK && choice != NULL && chosen < 0)
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
    cai_wd_map(d, &m);
    cai_wd_fields(d, &m, t, obj);
    cai_wd_map_end(d, &m);
}
