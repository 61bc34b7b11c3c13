/*
 * Envelope internals shared with the modules that carry their messages in
 * envelopes (task, ledger, card): zero-copy views into a decoded envelope.
 * Every pointer returned here points into the envelope's own copy of the
 * input and stays valid until ca_envelope_free(env).
 */
#ifndef CYBERAGENT_ENVELOPE_INTERNAL_H
#define CYBERAGENT_ENVELOPE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cyberagent/envelope.h"

/* Wire flag bits (docs/WIRE.md, key 7). */
#define CAI_ENV_FLAG_COMPRESSED 0x1u
#define CAI_ENV_FLAG_SEALED     0x2u
#define CAI_ENV_FLAGS_KNOWN     0x3u

/* The complete canonical encoding (what ca_envelope_encoded copies out). */
const uint8_t *cai_envelope_raw(const ca_envelope *env, size_t *len);

/* The body exactly as on the wire (compressed and/or sealed when the flags say so). */
const uint8_t *cai_envelope_wire_body(const ca_envelope *env, size_t *len);

/*
 * The body as the sender wrote it, without a copy when it is neither
 * compressed nor sealed. Otherwise it is decompressed / opened (same rules
 * and statuses as ca_envelope_body) into a heap buffer returned in *owned,
 * which the caller releases with free(); *owned is NULL when nothing was
 * allocated. On failure *body and *owned are NULL.
 */
ca_status cai_envelope_body_view(const ca_envelope *env, const ca_identity *reader,
                                 const ca_envelope_options *opts, const uint8_t **body, size_t *len,
                                 uint8_t **owned);

/*
 * The signature check alone (no size, lifetime or time rule): CA_OK or
 * CA_ERR_BAD_SIGNATURE (CA_ERR_NO_MEMORY for signed bytes past the stack
 * buffer). ca_envelope_verify's first check; messages with their own
 * validity rules (delegations) call it directly. The crypto backend must be
 * initialized (a decoded envelope implies it).
 */
ca_status cai_envelope_check_signature(const ca_envelope *env);

/* The message id without a copy (BLAKE2b-256 of the signed bytes). */
const ca_hash *cai_envelope_id_ref(const ca_envelope *env);

/* The sender without a copy. */
const ca_agent_id *cai_envelope_sender_ref(const ca_envelope *env);

/*
 * An envelope's fields as values: what the signer encodes and the decoder
 * reads back. recipient / parent NULL: absent; flags 0: absent; body exactly
 * as on the wire (compressed and/or sealed when the flags say so).
 */
typedef struct cai_envelope_fields {
    uint32_t kind;
    const ca_agent_id *sender;
    const ca_agent_id *recipient;
    uint64_t created_at;
    uint64_t expires_at;
    const ca_hash *parent;
    uint32_t flags;
    const uint8_t *body;
    size_t body_len;
} cai_envelope_fields;

/* The decoded field values of `env` (pointers into env, valid until it is freed). */
void cai_envelope_fields_of(const ca_envelope *env, cai_envelope_fields *f);

/*
 * The one writer of a signed envelope: fields 0..8 and the signature as a
 * canonical map, under the OWNERSHIP RULE. ca_envelope_sign writes its
 * output with it; fields are not validated here (the signer checked them).
 */
ca_status cai_envelope_encode_signed(const cai_envelope_fields *f, const ca_signature *sig,
                                     uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Encodes the envelope afresh from its decoded field values
 * (cai_envelope_fields_of + cai_envelope_encode_signed), under the OWNERSHIP
 * RULE. For a decoded envelope this must give back the decoder's input byte
 * for byte: the fuzz targets' canonicality check.
 */
ca_status cai_envelope_reencode(const ca_envelope *env, uint8_t *out, size_t out_cap,
                                size_t *out_len);

/* The envelope's field table (lib/wire): what the signer writes and the decoder reads. */
struct cai_wire_table;
extern const struct cai_wire_table cai_envelope_table;

/* Bytes the guard allocated (all at creation; it never allocates again). 0 for NULL. Tests
 * check the memory bound of envelope.h with it. */
size_t cai_replay_guard_bytes(const ca_replay_guard *guard);

/* Test hook: map slots the replay guard's lookups (ids and senders) examined since creation. */
uint64_t cai_replay_guard_probes(const ca_replay_guard *guard);

/* Test hook: ids the guard currently holds for `sender` (0 when none; counts its probes). */
size_t cai_replay_guard_sender_count(ca_replay_guard *guard, const ca_agent_id *sender);

#endif /* CYBERAGENT_ENVELOPE_INTERNAL_H */
