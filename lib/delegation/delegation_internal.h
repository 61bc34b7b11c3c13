/* Delegation internals shared by the module's files, the tests, the fuzz targets and the docs. */
#ifndef CYBERAGENT_DELEGATION_INTERNAL_H
#define CYBERAGENT_DELEGATION_INTERNAL_H

#include "cyberagent/delegation.h"

/* Body map keys (docs/IDENTITY.md). */
enum {
    CAI_DLG_CAPABILITIES = 0,
    CAI_DLG_TOTAL_CAP = 1,
    CAI_DLG_TASK_CAP = 2,
    CAI_DLG_NOT_BEFORE = 3,
    CAI_DLG_NONCE = 4,
};
enum { CAI_REV_DELEGATION = 0 };

/* The bodies' field tables (lib/wire): a delegation, a revocation. */
struct cai_wire_table;
extern const struct cai_wire_table cai_delegation_table;
extern const struct cai_wire_table cai_revocation_table;

/*
 * The signed delegation encoded afresh from the decoded handle's values
 * (issuer, audience, parent, times, body fields) and its signature, under the
 * OWNERSHIP RULE: the body ca_delegation_sign writes, in the envelope it
 * builds around it. For a handle ca_delegation_decode accepted, this is its
 * input byte for byte (the fuzz round trip).
 */
ca_status cai_delegation_reencode(const ca_delegation *d, uint8_t *out, size_t out_cap,
                                  size_t *out_len);

/* The same for a decoded revocation (its info) and the signature. */
ca_status cai_revocation_reencode(const ca_revocation_info *info, const ca_signature *sig,
                                  uint8_t *out, size_t out_cap, size_t *out_len);

#endif
