/*
 * Canonical MessagePack, the one wire encoding of the library (docs/WIRE.md).
 *
 * Canonical means: maps with unsigned integer keys in strictly ascending
 * order, every integer and length in its shortest form, `bin` for bytes,
 * `str` only for valid UTF-8, unsigned integers only, no nil, no floats, no
 * ext, no duplicate or unknown keys, no trailing bytes. Optional fields are
 * omitted, never nil. So every value has exactly one encoding, and the
 * strict reader below accepts exactly that one.
 *
 * The writer uses msgpack-c's packer (which always picks the shortest form)
 * over a caller buffer, and appends the one-byte forms and the bin8 header,
 * most of a message, itself (the same bytes, without the packer's callback);
 * with a NULL buffer it only counts, which gives the "required length" of the
 * OWNERSHIP RULE without a second code path.
 * The reader is hand-written, zero-copy and bounded by its input: it never
 * allocates, and a declared length can never exceed the bytes that remain.
 */
#ifndef CYBERAGENT_WIRE_H
#define CYBERAGENT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack/pack.h>

#include "cyberagent/common.h"

/* ---- writer ---- */

typedef struct cai_wire_writer {
    uint8_t *buf; /* NULL: count only */
    size_t cap;
    size_t len;    /* bytes produced (or that would have been) */
    bool overflow; /* buf too small: stop writing, keep counting */
    msgpack_packer pk;
} cai_wire_writer;

void cai_ww_init(cai_wire_writer *w, uint8_t *buf, size_t cap);
void cai_ww_map(cai_wire_writer *w, uint32_t n);
void cai_ww_array(cai_wire_writer *w, uint32_t n);
void cai_ww_uint(cai_wire_writer *w, uint64_t v);
void cai_ww_bool(cai_wire_writer *w, bool v);
void cai_ww_bin(cai_wire_writer *w, const void *p, size_t n);
void cai_ww_str(cai_wire_writer *w, const char *p, size_t n);
/* Copies already-canonical bytes (a nested encoded value) verbatim. */
void cai_ww_raw(cai_wire_writer *w, const void *p, size_t n);

/* Key + value shorthands for map fields. */
static inline void cai_ww_kuint(cai_wire_writer *w, uint32_t key, uint64_t v)
{
    cai_ww_uint(w, key);
    cai_ww_uint(w, v);
}

static inline void cai_ww_kbin(cai_wire_writer *w, uint32_t key, const void *p, size_t n)
{
    cai_ww_uint(w, key);
    cai_ww_bin(w, p, n);
}

static inline void cai_ww_kstr(cai_wire_writer *w, uint32_t key, const char *p, size_t n)
{
    cai_ww_uint(w, key);
    cai_ww_str(w, p, n);
}

/*
 * Ends writing under the OWNERSHIP RULE: *out_len = bytes needed; CA_OK when
 * everything fit, CA_ERR_BUFFER_TOO_SMALL otherwise.
 */
ca_status cai_ww_finish(const cai_wire_writer *w, size_t *out_len);

/* ---- strict reader ---- */

typedef struct cai_wire_reader {
    const uint8_t *start;
    const uint8_t *p;
    const uint8_t *end;
} cai_wire_reader;

/* A map being read field by field, in ascending key order. */
typedef struct cai_wire_map {
    cai_wire_reader *r;
    uint32_t remaining; /* entries not yet consumed */
    uint64_t next_min;  /* smallest key still allowed (strictly ascending) */
} cai_wire_map;

void cai_wr_init(cai_wire_reader *r, const uint8_t *data, size_t len);

/* Each reader call consumes one value of the named type or fails with
 * CA_ERR_MALFORMED (and a sentence naming the offset), consuming nothing
 * that the caller could act on. */
ca_status cai_wr_uint(cai_wire_reader *r, uint64_t *v);
ca_status cai_wr_uint_max(cai_wire_reader *r, uint64_t max, uint64_t *v);
ca_status cai_wr_bool(cai_wire_reader *r, bool *v);
ca_status cai_wr_bin(cai_wire_reader *r, const uint8_t **p, size_t *n);
/* bin of exactly `n` bytes, copied into out. */
ca_status cai_wr_bin_fixed(cai_wire_reader *r, void *out, size_t n);
/* bin of at most `max` bytes (zero-copy). */
ca_status cai_wr_bin_max(cai_wire_reader *r, size_t max, const uint8_t **p, size_t *n);
/* UTF-8 str of at most `max` bytes (zero-copy, not NUL-terminated). */
ca_status cai_wr_str_max(cai_wire_reader *r, size_t max, const char **p, size_t *n);
ca_status cai_wr_array(cai_wire_reader *r, uint32_t *n);

/* Skips one complete canonical value of any supported type (bounded depth). */
ca_status cai_wr_skip(cai_wire_reader *r);

/* Fails unless every input byte was consumed. */
ca_status cai_wr_end(const cai_wire_reader *r);

/* Map header; use the field calls below, then cai_wr_map_end. */
ca_status cai_wr_map(cai_wire_reader *r, cai_wire_map *m);

/*
 * If the next entry's key is `key`, consumes the key and sets *present = true
 * (the caller then reads the value). If the map has no more entries, or the
 * next key is larger, sets *present = false. A smaller next key means an
 * unknown, duplicate or out-of-order key: CA_ERR_MALFORMED. Keys must be
 * requested in ascending order.
 */
ca_status cai_wr_field(cai_wire_map *m, uint64_t key, bool *present);

/* Like cai_wr_field but the field is mandatory. */
ca_status cai_wr_require(cai_wire_map *m, uint64_t key);

/* Fails when the map has entries the caller did not ask for (unknown keys). */
ca_status cai_wr_map_end(const cai_wire_map *m);

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool cai_utf8_valid(const uint8_t *p, size_t n);

/* ---- sticky decoder: the one way a decoder reads ---- */

/*
 * A strict reader that keeps its first failure. Every cai_wd_* call is a
 * no-op once `st` is not CA_OK, so a decoder reads its message straight
 * through, in key order, with no check between the steps, and looks at the
 * status once at the end (cai_wd_finish). The first failure's status and
 * sentence are the ones reported: later steps never overwrite them. A step
 * that fails or does not run leaves its outputs zero (NULL, 0, false).
 */
typedef struct cai_wire_dec {
    cai_wire_reader r;
    ca_status st;
} cai_wire_dec;

void cai_wd_init(cai_wire_dec *d, const uint8_t *data, size_t len);

static inline bool cai_wd_ok(const cai_wire_dec *d)
{
    return d->st == CA_OK;
}

/* Records a failure unless one is recorded already (the sentence is not even formatted then). */
#define cai_wd_fail(d, status, ...)                                                                \
    do {                                                                                           \
        if ((d)->st == CA_OK)                                                                      \
            (d)->st = cai_fail((status), __VA_ARGS__);                                             \
    } while (0)

/* Runs a check that returns ca_status (it is not evaluated after a failure). */
#define cai_wd_check(d, expr)                                                                      \
    do {                                                                                           \
        if ((d)->st == CA_OK)                                                                      \
            (d)->st = (expr);                                                                      \
    } while (0)

void cai_wd_map(cai_wire_dec *d, cai_wire_map *m);
/* A required key (cai_wr_require). */
void cai_wd_key(cai_wire_dec *d, cai_wire_map *m, uint64_t key);
/* An optional key (cai_wr_field): true when present and nothing has failed. */
bool cai_wd_opt(cai_wire_dec *d, cai_wire_map *m, uint64_t key);
void cai_wd_map_end(cai_wire_dec *d, const cai_wire_map *m);
void cai_wd_uint(cai_wire_dec *d, uint64_t max, uint64_t *v);
void cai_wd_bool(cai_wire_dec *d, bool *v);
void cai_wd_fixed(cai_wire_dec *d, void *out, size_t n);
void cai_wd_bin(cai_wire_dec *d, size_t max, const uint8_t **p, size_t *n);
/* An array header of min .. max elements; `what` names them in the sentence. */
void cai_wd_array(cai_wire_dec *d, const char *what, uint32_t min, uint32_t max, uint32_t *n);
/* Bytes consumed so far. */
static inline size_t cai_wd_offset(const cai_wire_dec *d)
{
    return (size_t)(d->r.p - d->r.start);
}
/* Requires the end of the input (no trailing bytes); returns the status. */
ca_status cai_wd_finish(cai_wire_dec *d);

/* ---- message tables: one description for the encoder, the decoder and the docs ---- */

/*
 * A message that is a fixed set of map fields is described once, as a table
 * of cai_wire_field rows over a C struct (the message's "wire struct": value
 * fields and zero-copy views). cai_wire_put writes it canonically,
 * cai_wd_fields reads it strictly, and tests/contract/wire_tables.c prints
 * the field tables of docs/WIRE.md, docs/PROTOCOL.md and docs/LEDGER.md from
 * the same rows (contract_wire_tables fails when a page differs).
 *
 * Rows are in ascending key order. Offsets (`off`, `aux_off`, `sel_off`) are
 * byte offsets into the wire struct; a nested map (CAI_WT_MAP) uses offsets
 * into the same struct, an array element (CAI_WT_ARRAY) offsets into its
 * element.
 */
typedef enum cai_wire_type {
    CAI_WT_UINT,  /* uint64_t at off, min .. max (max 0: no bound) */
    CAI_WT_U32,   /* uint32_t at off, min .. max (max 0: UINT32_MAX) */
    CAI_WT_BOOL,  /* int at off, 0 or 1 */
    CAI_WT_CONST, /* nothing stored: the value is `min`; another value fails with `bad` */
    CAI_WT_FIXED, /* bin of exactly `max` bytes, copied to off */
    CAI_WT_REF,   /* bin of exactly `max` bytes: const uint8_t * at off (NULL: absent) */
    CAI_WT_BIN,   /* bin of min .. max bytes (max 0: no bound): const uint8_t * at off,
                     size_t length at aux_off */
    CAI_WT_STR,   /* UTF-8 str of min .. max bytes without NUL: const char * at off, size_t
                     length at aux_off (CAI_WF_RAW: UTF-8 and max only, `check` judges) */
    CAI_WT_MAP,   /* a nested map: the fields of `sub` */
    CAI_WT_ARRAY, /* min .. max elements `elem`, `stride` bytes apart from off; size_t count
                     at aux_off */
} cai_wire_type;

typedef enum cai_wire_presence {
    CAI_WP_REQUIRED, /* always present */
    CAI_WP_NONZERO,  /* present exactly when not 0 / empty / NULL; a present zero is malformed */
    CAI_WP_WHEN,     /* present exactly when `when` meets the table's select(struct) */
    CAI_WP_CHOICE,   /* alternatives: the int at sel_off says which `alt` is present; all
                        fields of that alternative are present, no field of another one */
} cai_wire_presence;

/* Row flags. */
#define CAI_WF_BITS 0x1u /* U32/UINT: max is a mask of the allowed bits, not a bound */
#define CAI_WF_RAW  0x2u /* STR: no length minimum and no NUL check (the check hook judges) */

struct cai_wire_table;

/*
 * A check run right after the field's value is stored: the struct so far
 * and, inside an array element, the element's index (0 elsewhere). Returns a
 * status with its own sentence (cai_fail).
 */
typedef ca_status (*cai_wire_check)(const void *obj, size_t index);

typedef struct cai_wire_field {
    /* What every read touches first (one cache line). */
    uint32_t key;     /* 0 .. 127: one byte on the wire */
    uint8_t type;     /* cai_wire_type */
    uint8_t presence; /* cai_wire_presence */
    uint8_t flags;    /* CAI_WF_* */
    uint8_t alt;      /* CHOICE: the alternative this field belongs to */
    uint32_t off, aux_off;
    uint32_t when; /* WHEN: bits of the table's select() */
    ca_status bad; /* status of a value out of range (0: CA_ERR_MALFORMED) */
    uint64_t min, max;
    cai_wire_check check; /* NULL: none */
    uint32_t sel_off, stride;
    /* The rest. */
    const struct cai_wire_table *sub;  /* MAP */
    const struct cai_wire_field *elem; /* ARRAY: one element (offsets into the element) */
    const char *name;                  /* field name: docs and sentences */
    const char *doc_type;              /* docs' type column (NULL: derived from type and bounds) */
    const char *rule;                  /* docs' rule column (may be NULL) */
} cai_wire_field;

typedef struct cai_wire_table {
    const char *name; /* "envelope", "card", "task.request", ...: docs and sentences */
    const cai_wire_field *fields;
    size_t count;
    /* WHEN bits of a struct (NULL: no WHEN rows); it reads only rows before the first WHEN
     * row, so the decoder calls it once, when it reaches that row. */
    uint32_t (*select)(const void *obj);
} cai_wire_table;

/* Row shorthands: key, name, wire struct type, member. */
#define CAI_WF_OFF(T, member) offsetof(T, member)
#define CAI_WF_UINT(k, nm, T, m)                                                                   \
    .key = (k), .name = (nm), .type = CAI_WT_UINT, .off = offsetof(T, m)
#define CAI_WF_U32(k, nm, T, m) .key = (k), .name = (nm), .type = CAI_WT_U32, .off = offsetof(T, m)
#define CAI_WF_BOOL(k, nm, T, m)                                                                   \
    .key = (k), .name = (nm), .type = CAI_WT_BOOL, .off = offsetof(T, m)
#define CAI_WF_FIXED(k, nm, T, m)                                                                  \
    .key = (k), .name = (nm), .type = CAI_WT_FIXED, .off = offsetof(T, m),                         \
    .max = sizeof(((T *)0)->m)
#define CAI_WF_REF(k, nm, T, m, n)                                                                 \
    .key = (k), .name = (nm), .type = CAI_WT_REF, .off = offsetof(T, m), .max = (n)
#define CAI_WF_BIN(k, nm, T, m, len)                                                               \
    .key = (k), .name = (nm), .type = CAI_WT_BIN, .off = offsetof(T, m), .aux_off = offsetof(T, len)
#define CAI_WF_STR(k, nm, T, m, len)                                                               \
    .key = (k), .name = (nm), .type = CAI_WT_STR, .off = offsetof(T, m), .aux_off = offsetof(T, len)
#define CAI_WF_TABLE(nm, rows, sel)                                                                \
    {                                                                                              \
        (nm), (rows), sizeof(rows) / sizeof((rows)[0]), (sel)                                      \
    }

/* Map entries `t` writes for `obj`. */
uint32_t cai_wire_count(const cai_wire_table *t, const void *obj);

/*
 * The same count, and in *unused the first WHEN row that `obj` leaves out
 * (its select() bits miss the row) but whose value is not zero, or NULL: a
 * struct with such a value has no encoding of its own (it would encode like
 * the same struct with a zero), so an encoder refuses it.
 */
uint32_t cai_wire_count_checked(const cai_wire_table *t, const void *obj,
                                const cai_wire_field **unused);
/* Writes the fields of `t` present in `obj` (no map header). */
void cai_wire_put(cai_wire_writer *w, const cai_wire_table *t, const void *obj);
/* Map header, then the fields. */
void cai_wire_put_map(cai_wire_writer *w, const cai_wire_table *t, const void *obj);

/*
 * Reads the fields of `t` from the map being read into `obj`, in key order,
 * with every rule of the rows (presence, type, bounds, checks). Fields of the
 * map after the table's are left for a further call (a table may be read in
 * slices); unknown keys fail at the next field or at cai_wd_map_end.
 */
void cai_wd_fields(cai_wire_dec *d, cai_wire_map *m, const cai_wire_table *t, void *obj);
/* A whole map of the fields of `t`: header, fields, no other key. */
void cai_wd_table(cai_wire_dec *d, const cai_wire_table *t, void *obj);

#endif /* CYBERAGENT_WIRE_H */
