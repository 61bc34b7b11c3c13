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
 * A signed delegation encoded from its values (the params ca_delegation_sign
 * takes, the issuer) and a signature, under the OWNERSHIP RULE: the body
 * ca_delegation_sign writes, in the envelope it builds around it. For the
 * values and signature of a delegation ca_delegation_decode accepted (its
 * public accessors), this is the decoder's input byte for byte (the fuzz
 * round trip). Params are checked as sign checks them.
 */
ca_status cai_delegation_encode_signed(const ca_delegation_params *params,
                                       const ca_agent_id *issuer, const ca_signature *sig,
                                       uint8_t *out, size_t out_cap, size_t *out_len);

/* The same for a decoded revocation (its info) and the signature. */
ca_status cai_revocation_reencode(const ca_revocation_info *info, const ca_signature *sig,
                                  uint8_t *out, size_t out_cap, size_t *out_len);

/* The delegation's encoded bytes (its envelope's), without a copy: valid while `d` lives. */
const uint8_t *cai_delegation_raw(const ca_delegation *d, size_t *len);

/* Marks the signature of `d` checked, as ca_delegation_open does: for a verifier that
 * just had ca_delegation_chain_verify check it, so later verifies of the same handle
 * cost no signature check. */
void cai_delegation_mark_checked(ca_delegation *d);

#endif
