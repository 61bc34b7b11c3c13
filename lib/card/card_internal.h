/* Agent cards: body codec shared by card.c, the tests and the fuzz target. */
#ifndef CYBERAGENT_CARD_INTERNAL_H
#define CYBERAGENT_CARD_INTERNAL_H

#include "cyberagent/card.h"

/* The 1.0 layout of ca_card_capability, the smallest element size accepted (STRUCT RULE,
 * common.h). When the struct grows this stays the old layout's end, not sizeof. */
#define CAI_CARD_CAPABILITY_SIZE_1 sizeof(ca_card_capability)

/* Body map keys (docs/PROTOCOL.md). */
enum {
    CAI_CARD_NAME = 0,
    CAI_CARD_DESCRIPTION = 1,
    CAI_CARD_ENDPOINT = 2,
    CAI_CARD_STAKE = 3,
    CAI_CARD_NOT_BEFORE = 4,
    CAI_CARD_NOT_AFTER = 5,
    CAI_CARD_SEQUENCE = 6,
    CAI_CARD_CAPABILITIES = 7,
};
enum { CAI_CAP_NAME = 0, CAI_CAP_PRICE = 1, CAI_CAP_LATENCY = 2 };

/* The card body's field tables (lib/wire): the card, and one capability. */
struct cai_wire_table;
extern const struct cai_wire_table cai_card_table;
extern const struct cai_wire_table cai_card_capability_table;

/* Validates params and writes the canonical body (OWNERSHIP RULE). */
ca_status cai_card_body_encode(const ca_card_params *params, uint8_t *out, size_t out_cap,
                               size_t *out_len);

/* Strict body decoder: a card whose envelope fields (agent, id, time) are zero. */
ca_status cai_card_body_decode(ca_card **out, const uint8_t *body, size_t len);

/*
 * The signed card encoded afresh from the parsed card's values and the
 * envelope's signature (OWNERSHIP RULE): the body from the fields
 * (cai_card_body_encode), the envelope ca_card_sign builds around it. For a
 * card ca_card_parse accepted, this is the envelope it parsed, byte for byte.
 */
ca_status cai_card_reencode(const ca_card *card, const ca_signature *sig, uint8_t *out,
                            size_t out_cap, size_t *out_len);

/*
 * The signed card envelope of `p` (validated and encoded as ca_card_sign
 * does) from `agent` with the signature `sig`, which is not checked
 * (OWNERSHIP RULE). cai_card_reencode and the A2A import build it here.
 */
ca_status cai_card_encode_signed(const ca_card_params *p, const ca_agent_id *agent,
                                 const ca_signature *sig, uint8_t *out, size_t out_cap,
                                 size_t *out_len);

/* The signature of the envelope the card was parsed from. */
const ca_signature *cai_card_signature(const ca_card *card);

/* Shared string check: valid UTF-8, no NUL, length within [min, max]. */
ca_status cai_text_check(const char *what, const char *s, size_t len, size_t min, size_t max);

#endif
