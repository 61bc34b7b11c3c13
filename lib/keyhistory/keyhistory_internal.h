/* Key events and key histories: internals shared with tests, fuzz targets and docs tables. */
#ifndef CYBERAGENT_KEYHISTORY_INTERNAL_H
#define CYBERAGENT_KEYHISTORY_INTERNAL_H

#include "cyberagent/keyhistory.h"
#include "wire/wire.h"

/*
 * A key event's wire struct: the fields, then the signature. The rows
 * (cai_key_event_table, then cai_key_event_sig_table in the same map) are
 * the event's one description: the signer writes them, the strict decoder
 * reads them, docs/IDENTITY.md prints them.
 */
typedef struct cai_key_event {
    uint32_t type;
    uint64_t sequence;
    uint8_t identifier[32];
    uint8_t prior[32];
    uint8_t key[32];
    uint8_t next[32];
    uint64_t time;
    uint8_t signature[64];
} cai_key_event;

extern const cai_wire_table cai_key_event_table;
extern const cai_wire_table cai_key_event_sig_table;

/* Strict decode, no signature check (CA_ERR_LIMIT, CA_ERR_MALFORMED). */
ca_status cai_key_event_decode(const uint8_t *data, size_t len, cai_key_event *ev);

/* Canonical encoding of a decoded (or built) event, signature included (OWNERSHIP RULE). */
ca_status cai_key_event_encode(const cai_key_event *ev, uint8_t *out, size_t cap, size_t *len);

/*
 * Signs `ev` with `signer` over the event's signed bytes, sets its signature and writes the
 * encoding (OWNERSHIP RULE). Checks no rule: the event makers check theirs first; tests and
 * fuzz targets use it to forge events the rules refuse.
 */
ca_status cai_key_event_sign(cai_key_event *ev, const ca_identity *signer, uint8_t *out,
                             size_t out_cap, size_t *out_len);

/* Lookups the history made (tests count them: an envelope from the current key makes none). */
uint64_t cai_key_history_lookups(const ca_key_history *history);

#endif
