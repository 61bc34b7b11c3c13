/*
 * Strict JSON reader and RFC 8785 (JCS) canonical writer (internal, lib/wire):
 * the one JSON mechanism of the library, used by the A2A agent cards
 * (lib/card/card_a2a.c) and ca_jcs_canonicalize. Rules (docs/PROTOCOL.md,
 * "JSON and JCS"):
 *
 * - RFC 8259 grammar; whitespace is space, tab, LF, CR; no BOM; nothing but
 *   whitespace after the value (else CA_ERR_JSON).
 * - Input is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF);
 *   \u escapes that leave a lone surrogate are refused; raw control
 *   characters in strings are refused (CA_ERR_JSON).
 * - No object has two members with the same name after unescaping
 *   (CA_ERR_JSON): RFC 8785 section 3.1 (I-JSON, RFC 7493).
 * - Strings containing U+0000 are refused (CA_ERR_UNSUPPORTED): the library
 *   hands strings to C as NUL-terminated text.
 * - Numbers: only integers of magnitude at most 2^53 (after the exponent is
 *   applied: 1.5e1 is 15, -0 is 0), whose JCS form (ECMAScript
 *   Number.prototype.toString) is their plain decimal; any other number is
 *   CA_ERR_UNSUPPORTED, since this build has no ECMAScript double formatter.
 * - Nesting deeper than CAI_JSON_DEPTH_MAX arrays / objects is CA_ERR_LIMIT.
 *
 * The document is a flat array of nodes in document order; a value's
 * subtree ends at node `end`. An object's members are (name, value) node
 * pairs. Strings and numbers live in a pool, each NUL-terminated.
 */
#ifndef CYBERAGENT_WIRE_JSON_H
#define CYBERAGENT_WIRE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "cyberagent/common.h"

#define CAI_JSON_DEPTH_MAX 32u

enum {
    CAI_JSON_NULL = 0,
    CAI_JSON_FALSE,
    CAI_JSON_TRUE,
    CAI_JSON_NUMBER, /* pool text: canonical decimal */
    CAI_JSON_STRING, /* pool text: the decoded UTF-8 */
    CAI_JSON_ARRAY,
    CAI_JSON_OBJECT,
};

typedef struct cai_json_node {
    uint32_t type;
    uint32_t count; /* array: elements; object: members */
    uint32_t end;   /* index one past the last node of this value */
    uint32_t off;   /* string / number: offset of its text in the pool */
    uint32_t len;   /* its length in bytes (without the NUL) */
} cai_json_node;

typedef struct cai_json {
    cai_json_node *nodes;
    uint32_t n, cap;
    char *pool;
    uint32_t pool_len, pool_cap;
} cai_json;

/* Parses `text` into *doc (zeroed first; nothing to free on failure). */
ca_status cai_json_parse(cai_json *doc, const char *text, size_t len);
void cai_json_free(cai_json *doc);

/* The value of member `name` of object node `obj`, or 0 when absent (node 0 is never a member). */
uint32_t cai_json_get(const cai_json *doc, uint32_t obj, const char *name);

/* Text of a string or number node (NUL-terminated). */
const char *cai_json_text(const cai_json *doc, uint32_t node);

/* Counting text writer: writes while it fits, always counts (buf NULL: count only). */
typedef struct cai_text {
    char *buf;
    size_t cap, len;
} cai_text;

void cai_text_raw(cai_text *w, const char *s, size_t n);
void cai_text_lit(cai_text *w, const char *s);
/* A JSON string literal of valid UTF-8 `s` (n bytes), escaped as RFC 8785 section 3.2.2.2 says. */
void cai_text_json_str(cai_text *w, const char *s, size_t n);

/*
 * Writes node `v` in RFC 8785 canonical form: no whitespace, object members
 * sorted by the UTF-16 code units of their names, strings escaped as JCS
 * says, integers in decimal. When `v` is an object, a member named `skip`
 * (may be NULL) is left out. CA_OK or CA_ERR_NO_MEMORY.
 */
ca_status cai_json_canonical(const cai_json *doc, uint32_t v, const char *skip, cai_text *w);

/* ---- base64url (RFC 4648 section 5), never padded ---- */

size_t cai_b64url_len(size_t n);
/* Writes cai_b64url_len(n) characters and no NUL. */
void cai_b64url_encode(const uint8_t *in, size_t n, char *out);
/*
 * Strict decoder: alphabet [A-Za-z0-9_-] only, no padding, length not 1
 * mod 4, unused low bits zero (one text per byte string). On success *out_len
 * holds the decoded length (at most out_cap, else false). False otherwise.
 */
int cai_b64url_decode(const char *in, size_t n, uint8_t *out, size_t out_cap, size_t *out_len);

#endif /* CYBERAGENT_WIRE_JSON_H */
