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
 * over a caller buffer; with a NULL buffer it only counts, which gives the
 * "required length" of the OWNERSHIP RULE without a second code path.
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

#endif /* CYBERAGENT_WIRE_H */
