/*
 * libcyberagent — delegation: an agent (the issuer) hands another (the
 * audience) a signed, narrow, capped right to act for it: which
 * capabilities, how many ledger units in all and per task, and when. The
 * audience may pass on a narrower part of it (a re-delegation names its
 * parent), so a chain runs from the delegator (the root's issuer) to the
 * delegate (the leaf's audience). Chains verify offline and only narrow.
 * An issuer in a chain can revoke a link with a signed revocation.
 * Formats and rules: docs/IDENTITY.md, "Delegation".
 *
 * Both messages are envelopes (envelope.h): CA_KIND_DELEGATION, whose
 * sender is the issuer, recipient the audience, parent the parent
 * delegation's id (none for a root) and expires_at the delegation's
 * expiry; and CA_KIND_REVOCATION, whose sender is the revoker. Their
 * validity is their own (below), not the envelope lifetime rule of
 * ca_envelope_verify: a delegation may last longer than an envelope.
 *
 * OWNERSHIP: ca_delegation_sign and ca_revocation_sign write into a caller
 * buffer (OWNERSHIP RULE in common.h). ca_delegation_decode / _open return
 * a handle that owns a copy of the input; strings returned by accessors live
 * as long as it. Free it with ca_delegation_free. Info structs are the
 * caller's; it sets their `version` before the call.
 * THREAD SAFETY: a ca_delegation is immutable; any number of threads may read
 * one at once (ca_delegation_chain_verify included). A ca_revocation_set has
 * one owner at a time (adds need a lock if shared; lookups may run
 * concurrently with each other). Functions without a handle are
 * thread-safe; a revocation callback runs on the calling thread.
 */
#ifndef CYBERAGENT_DELEGATION_H
#define CYBERAGENT_DELEGATION_H

#include "card.h"
#include "common.h"
#include "envelope.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. */
#define CA_DELEGATION_MAX_DEPTH        8u  /* links in a chain: 1 (a root alone) .. 8 */
#define CA_DELEGATION_CAPABILITIES_MAX 16u /* capability patterns per delegation: 1 .. 16 */

CA_API size_t ca_delegation_max_depth(void);
CA_API size_t ca_delegation_capabilities_max(void);

/* ---- issuing ---- */

#define CA_DELEGATION_PARAMS_VERSION 1u

typedef struct ca_delegation_params {
    unsigned int version;        /* CA_DELEGATION_PARAMS_VERSION */
    const ca_agent_id *audience; /* who receives the right; not the issuer; default NULL (set it) */
    /* Capability patterns (card.h: a name, "name.*" or "*"), NUL-terminated, any order, distinct;
     * 1 .. CA_DELEGATION_CAPABILITIES_MAX of them. Default NULL / 0 (set them). */
    const char *const *capabilities;
    size_t capability_count;
    uint64_t total_cap;    /* most ledger units spent through it in all; default 0 */
    uint64_t task_cap;     /* most units for any one task; <= total_cap; default 0 */
    uint64_t not_before;   /* valid from (ms since the Unix epoch); default 0 */
    uint64_t expires_at;   /* valid until, inclusive; > not_before and > created_at */
    uint64_t nonce;        /* any value; tells apart otherwise equal delegations; default 0 */
    const ca_hash *parent; /* id of the delegation this one narrows; default NULL: a root */
    uint64_t created_at;   /* envelope time (ms); default 0 */
} ca_delegation_params;

/* Zeroes the params and sets `version`. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_delegation_params_init(ca_delegation_params *params, unsigned int version);

/*
 * Validates the params, encodes the body (capabilities sorted in byte
 * order) and signs it as a CA_KIND_DELEGATION envelope from `issuer` into
 * `out` (OWNERSHIP RULE; a few hundred bytes, at most
 * ca_envelope_bound(1200)). `id_out` (optional) receives its id, what a
 * re-delegation names as its parent and a revocation names. Checks, in this
 * order: CA_ERR_INVALID_ARGUMENT (a NULL issuer, params or out_len; no
 * audience; the audience is the issuer), CA_ERR_UNSUPPORTED (params
 * version), CA_ERR_LIMIT (0 or more than CA_DELEGATION_CAPABILITIES_MAX
 * capabilities), CA_ERR_BAD_CAPABILITY (a NULL or malformed pattern),
 * CA_ERR_INVALID_ARGUMENT (a pattern listed twice, task_cap > total_cap,
 * expires_at <= not_before, expires_at <= created_at), then the envelope's.
 * It does not check that the delegation narrows its parent: the chain
 * verification does, so an issuer cannot sign a wider right into force.
 */
CA_API CA_NODISCARD ca_status ca_delegation_sign(const ca_identity *issuer,
                                                 const ca_delegation_params *params, uint8_t *out,
                                                 size_t out_cap, size_t *out_len, ca_hash *id_out);

/* ---- decoding ---- */

typedef struct ca_delegation ca_delegation;

/*
 * Strict decoder, no signature check: a canonical envelope (envelope.h's
 * rules, default ca_envelope_options limits) of kind CA_KIND_DELEGATION
 * (else CA_ERR_WRONG_KIND) with a recipient other than the sender, no flags,
 * and a canonical body within the limits above: patterns valid
 * (CA_ERR_BAD_CAPABILITY) and strictly ascending, task_cap <= total_cap,
 * not_before < expires_at (else CA_ERR_MALFORMED). One delegation has one
 * encoding, the one ca_delegation_sign writes. The signature is checked by
 * ca_delegation_chain_verify (or use ca_delegation_open).
 */
CA_API CA_NODISCARD ca_status ca_delegation_decode(ca_delegation **out, const uint8_t *data,
                                                   size_t len);

/*
 * ca_delegation_decode, then the issuer's signature (CA_ERR_BAD_SIGNATURE).
 * A handle from here is marked checked, so ca_delegation_chain_verify does
 * not verify its signature again: a verifier that keeps opened delegations
 * (by id) pays for each signature once. No time rule here: validity at a
 * time is the chain's.
 */
CA_API CA_NODISCARD ca_status ca_delegation_open(ca_delegation **out, const uint8_t *data,
                                                 size_t len);

CA_API void ca_delegation_free(ca_delegation *d);

#define CA_DELEGATION_INFO_VERSION 1u

/* A delegation's fields, filled by ca_delegation_get; the caller sets `version` first. */
typedef struct ca_delegation_info {
    unsigned int version;       /* set by the caller: CA_DELEGATION_INFO_VERSION */
    ca_agent_id issuer;         /* the envelope's sender */
    ca_agent_id audience;       /* the envelope's recipient */
    ca_hash id;                 /* message id */
    ca_hash parent;             /* the parent's id; all zero for a root */
    uint32_t has_parent;        /* 1 for a re-delegation, 0 for a root */
    uint32_t signature_checked; /* 1 when opened with ca_delegation_open */
    uint64_t created_at;
    uint64_t not_before;
    uint64_t expires_at;
    uint64_t total_cap;
    uint64_t task_cap;
    uint64_t nonce;
    size_t capability_count; /* 1 .. CA_DELEGATION_CAPABILITIES_MAX */
} ca_delegation_info;

/* Fills `out` (CA_ERR_UNSUPPORTED when out->version is 0 or newer than this build). */
CA_API CA_NODISCARD ca_status ca_delegation_get(const ca_delegation *d, ca_delegation_info *out);

/* Capability pattern `index` (ascending byte order), NUL-terminated; NULL when out of range. */
CA_API const char *ca_delegation_capability(const ca_delegation *d, size_t index);

/*
 * CA_OK when one of the delegation's patterns covers `capability` (a name or
 * a pattern, need not be NUL-terminated; ca_capability_pattern_covers), else
 * CA_ERR_DELEGATION_CAPABILITY; CA_ERR_INVALID_ARGUMENT for a NULL `d`,
 * CA_ERR_BAD_CAPABILITY for a malformed or NULL `capability`. For a verified
 * chain, ask the leaf: its patterns are the chain's effective capabilities.
 */
CA_API CA_NODISCARD ca_status ca_delegation_grants(const ca_delegation *d, const char *capability,
                                                   size_t capability_len);

/* The canonical encoded bytes (OWNERSHIP RULE). */
CA_API CA_NODISCARD ca_status ca_delegation_encoded(const ca_delegation *d, uint8_t *out,
                                                    size_t out_cap, size_t *out_len);

/* ---- chains ---- */

/*
 * Revocation lookup: 1 when the verifier holds a valid revocation of the
 * delegation `delegation` signed by `revoker`, else 0. A ledger answers from
 * its replicated state (revocations applied before the op it judges); a
 * simple verifier passes a ca_revocation_set instead (options below).
 */
typedef int (*ca_revocation_lookup)(void *ctx, const ca_hash *delegation,
                                    const ca_agent_id *revoker);

typedef struct ca_revocation_set ca_revocation_set;

#define CA_DELEGATION_VERIFY_OPTIONS_VERSION 1u

typedef struct ca_delegation_verify_options {
    unsigned int version; /* CA_DELEGATION_VERIFY_OPTIONS_VERSION */
    /* Revocations held by the caller; default NULL: none. */
    const ca_revocation_set *revocations;
    /* Another source of revocations, asked too; default NULL: none. */
    ca_revocation_lookup lookup;
    void *lookup_ctx; /* passed to `lookup`; default NULL */
} ca_delegation_verify_options;

/* Writes each field's default named above. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_delegation_verify_options_init(ca_delegation_verify_options *opts,
                                                   unsigned int version);

#define CA_DELEGATION_CHAIN_INFO_VERSION 1u

/* What a verified chain grants, filled by ca_delegation_chain_verify; the caller sets `version`. */
typedef struct ca_delegation_chain_info {
    unsigned int version;  /* set by the caller: CA_DELEGATION_CHAIN_INFO_VERSION */
    ca_agent_id delegator; /* the root's issuer: whose right it is (and whose balance) */
    ca_agent_id delegate;  /* the leaf's audience: who may use it */
    ca_hash root;          /* the root's id */
    ca_hash leaf;          /* the leaf's id */
    size_t depth;          /* links, 1 .. CA_DELEGATION_MAX_DEPTH */
    /* The effective right: the leaf's values, which lie within every link's. The effective
     * capabilities are the leaf's patterns (ca_delegation_capability, ca_delegation_grants). */
    uint64_t total_cap;
    uint64_t task_cap;
    uint64_t not_before;
    uint64_t expires_at;
} ca_delegation_chain_info;

/*
 * Verifies an ordered chain chain[0] (the root, issued by the delegator) ..
 * chain[count - 1] (the leaf, whose audience is the delegate) at `now` (ms).
 * `opts` may be NULL (no revocations); `out` may be NULL, else it is filled
 * on success (and left alone on failure). Checks, in this order, the first
 * failure being the status:
 *   arguments: NULL chain or link, count 0 -> CA_ERR_INVALID_ARGUMENT;
 *     opts or out version unknown -> CA_ERR_UNSUPPORTED;
 *     count > CA_DELEGATION_MAX_DEPTH -> CA_ERR_LIMIT;
 *   then each link i, from the root down:
 *     the root names a parent, or link i > 0 names none or another than
 *       the id of link i - 1                       -> CA_ERR_DELEGATION_PARENT
 *     issuer(i) != audience(i - 1)                 -> CA_ERR_DELEGATION_AUDIENCE
 *     a pattern of link i not covered by a pattern of link i - 1
 *       (ca_capability_pattern_covers)             -> CA_ERR_DELEGATION_CAPABILITY
 *     total_cap(i) > total_cap(i - 1)              -> CA_ERR_DELEGATION_TOTAL_CAP
 *     task_cap(i) > task_cap(i - 1)                -> CA_ERR_DELEGATION_TASK_CAP
 *     not_before(i) < not_before(i - 1) or
 *       expires_at(i) > expires_at(i - 1)          -> CA_ERR_DELEGATION_WINDOW
 *   then time, on the leaf's window (within every link's):
 *     now < not_before -> CA_ERR_NOT_YET_VALID; now > expires_at -> CA_ERR_EXPIRED
 *   then revocation: link i is revoked when the set or the lookup holds a
 *     revocation of it signed by the issuer of link i or of a link above it
 *     (a revocation by anyone else has no force) -> CA_ERR_DELEGATION_REVOKED
 *   then the signature of each link not opened with ca_delegation_open,
 *     root first -> CA_ERR_BAD_SIGNATURE.
 * Cheap checks come first, so a forged chain costs no signature check; an
 * unchecked link costs one Ed25519 verify of its signed bytes and nothing is
 * decoded or encoded again. Revocation costs (count * (count + 1)) / 2
 * lookups. No clock is read and nothing is kept: the same arguments give the
 * same answer everywhere.
 */
CA_API CA_NODISCARD ca_status ca_delegation_chain_verify(const ca_delegation *const *chain,
                                                         size_t count, uint64_t now,
                                                         const ca_delegation_verify_options *opts,
                                                         ca_delegation_chain_info *out);

/* ---- revocation ---- */

/*
 * Signs a CA_KIND_REVOCATION envelope from `revoker` naming the delegation
 * `delegation` (its id) into `out` (OWNERSHIP RULE; ca_envelope_bound(40)
 * suffices). It has force only over chains in which the revoker issued that
 * delegation or one above it. `expires_at` (> created_at) is when a keeper
 * may forget it: set it no earlier than the delegation's expiry. `id_out`
 * optional. CA_ERR_INVALID_ARGUMENT for NULL arguments or expires_at <=
 * created_at, then the envelope's statuses.
 */
CA_API CA_NODISCARD ca_status ca_revocation_sign(const ca_identity *revoker,
                                                 const ca_hash *delegation, uint64_t created_at,
                                                 uint64_t expires_at, uint8_t *out, size_t out_cap,
                                                 size_t *out_len, ca_hash *id_out);

#define CA_REVOCATION_INFO_VERSION 1u

/* A revocation's fields, filled by ca_revocation_decode / _open; the caller sets `version`. */
typedef struct ca_revocation_info {
    unsigned int version; /* set by the caller: CA_REVOCATION_INFO_VERSION */
    ca_agent_id revoker;  /* the envelope's sender */
    ca_hash delegation;   /* id of the revoked delegation */
    ca_hash id;           /* the revocation's own message id */
    uint64_t created_at;
    uint64_t expires_at;
} ca_revocation_info;

/*
 * Strict decoder, no signature check: a canonical envelope of kind
 * CA_KIND_REVOCATION (else CA_ERR_WRONG_KIND) without recipient, parent or
 * flags, whose body is exactly {0: the 32-byte delegation id}
 * (CA_ERR_MALFORMED otherwise). Fills `out` on success only.
 */
CA_API CA_NODISCARD ca_status ca_revocation_decode(const uint8_t *data, size_t len,
                                                   ca_revocation_info *out);

/* ca_revocation_decode, then the revoker's signature (CA_ERR_BAD_SIGNATURE). */
CA_API CA_NODISCARD ca_status ca_revocation_open(const uint8_t *data, size_t len,
                                                 ca_revocation_info *out);

/*
 * A caller-owned set of verified revocations, keyed by (delegation id,
 * revoker), for ca_delegation_verify_options.revocations. Lookups cost O(1)
 * expected probes (lib/core's keyed id map: no choice of ids makes them
 * collide more than random ones). It never forgets on its own.
 */
#define CA_REVOCATION_SET_MAX_ENTRIES 1048576u /* 2^20: most entries `max_entries` may ask */

/* New empty set of at most `max_entries` (1 .. CA_REVOCATION_SET_MAX_ENTRIES, else
 * CA_ERR_INVALID_ARGUMENT / CA_ERR_LIMIT) revocations; CA_ERR_NO_MEMORY. */
CA_API CA_NODISCARD ca_status ca_revocation_set_new(ca_revocation_set **out, size_t max_entries);

CA_API void ca_revocation_set_free(ca_revocation_set *set);

/*
 * Opens the revocation (ca_revocation_open: its statuses) and adds it. One
 * already held (same delegation and revoker) is CA_OK and changes nothing.
 * CA_ERR_LIMIT when the set holds max_entries; CA_ERR_NO_MEMORY. A failure
 * leaves the set unchanged.
 */
CA_API CA_NODISCARD ca_status ca_revocation_set_add(ca_revocation_set *set, const uint8_t *data,
                                                    size_t len);

/* 1 when the set holds a revocation of `delegation` by `revoker` (0 for NULL arguments). */
CA_API int ca_revocation_set_contains(const ca_revocation_set *set, const ca_hash *delegation,
                                      const ca_agent_id *revoker);

/* Revocations held (0 for NULL). */
CA_API size_t ca_revocation_set_count(const ca_revocation_set *set);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_DELEGATION_H */
