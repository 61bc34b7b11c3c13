/*
 * libcyberagent — agent cards: an agent's signed self-description (what it
 * can do, at what price, where to reach it, the stake it claims), carried in
 * an envelope of kind CA_KIND_CARD. The agent id is the envelope's sender.
 * Body format and the A2A mapping: docs/PROTOCOL.md.
 *
 * OWNERSHIP: ca_card_sign writes into a caller buffer (OWNERSHIP RULE in
 * common.h). ca_card_parse / ca_card_open return a handle that owns copies of
 * every field; strings returned by accessors are NUL-terminated, valid UTF-8
 * without NUL bytes, and live as long as the handle. Free with ca_card_free.
 * THREAD SAFETY: a ca_card is immutable; any number of threads may read one
 * at once. Functions without a handle are thread-safe.
 */
#ifndef CYBERAGENT_CARD_H
#define CYBERAGENT_CARD_H

#include "common.h"
#include "envelope.h"
#include "identity.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (bytes of UTF-8, without NUL). */
#define CA_CARD_NAME_MAX           128u  /* display name: 1 .. 128 */
#define CA_CARD_DESCRIPTION_MAX    1024u /* description: 0 .. 1024 */
#define CA_CARD_ENDPOINT_MAX       256u  /* endpoint: 1 .. 256 */
#define CA_CARD_CAPABILITIES_MAX   64u   /* capabilities per card: 1 .. 64 */
#define CA_CAPABILITY_MAX          64u   /* capability name: 1 .. 64 */
#define CA_CAPABILITY_SEGMENTS_MAX 8u    /* dot-separated segments: 1 .. 8 */

CA_API size_t ca_card_name_max(void);
CA_API size_t ca_card_description_max(void);
CA_API size_t ca_card_endpoint_max(void);
CA_API size_t ca_card_capabilities_max(void);
CA_API size_t ca_capability_max(void);
CA_API size_t ca_capability_segments_max(void);

/*
 * Capability grammar: 1 .. CA_CAPABILITY_SEGMENTS_MAX segments separated by
 * '.', each segment 1 or more of [a-z0-9-], CA_CAPABILITY_MAX bytes in all
 * (e.g. "llm.translate.en-fr"). `name` need not be NUL-terminated.
 * CA_OK or CA_ERR_BAD_CAPABILITY.
 */
CA_API CA_NODISCARD ca_status ca_capability_check(const char *name, size_t name_len);

/*
 * Capability patterns (routing queries, delegations): a name (matches
 * exactly that name), a name followed by ".*" (every name with at least one
 * more segment under that prefix: "llm.translate.*" matches
 * "llm.translate.en-fr" but not "llm.translate"), or "*" (every name). So a
 * pattern has at most CA_CAPABILITY_PATTERN_MAX bytes.
 */
#define CA_CAPABILITY_PATTERN_MAX (CA_CAPABILITY_MAX + 2u)

CA_API size_t ca_capability_pattern_max(void);

/* CA_OK when `pattern` (need not be NUL-terminated) is one of the three forms above, with its
 * name part in the grammar; else CA_ERR_BAD_CAPABILITY. */
CA_API CA_NODISCARD ca_status ca_capability_pattern_check(const char *pattern, size_t pattern_len);

/*
 * 1 when every name `inner` matches is also matched by `outer`, else 0; the
 * one matcher of names and patterns (a name is a pattern that matches only
 * itself, so covers(pattern, name) is "pattern matches name"). "*" covers
 * everything; "p.*" covers "p.*", any "p.x...", with or without ".*", and
 * nothing else; a name covers only itself. Both must be valid patterns
 * (ca_capability_pattern_check); NULL gives 0.
 */
CA_API int ca_capability_pattern_covers(const char *outer, size_t outer_len, const char *inner,
                                        size_t inner_len);

/*
 * One advertised capability. `name` is NUL-terminated. Capabilities travel
 * in arrays, so they follow the ELEMENT SIZE convention of the STRUCT RULE
 * (common.h): whoever passes one passes sizeof(ca_card_capability) with it
 * (`capability_size`, right after the pointer); the library reads and writes
 * only the fields within that size, and refuses (CA_ERR_UNSUPPORTED) a size
 * below the 1.0 layout's or above this build's.
 */
typedef struct ca_card_capability {
    const char *name;    /* capability name (grammar above) */
    uint64_t price;      /* price per task in integer base units */
    uint64_t latency_ms; /* promised latency bound in ms; 0 = no bound given */
} ca_card_capability;

/* ---- signing ---- */

#define CA_CARD_PARAMS_VERSION 1u

typedef struct ca_card_params {
    unsigned int version;    /* CA_CARD_PARAMS_VERSION */
    const char *name;        /* NUL-terminated UTF-8, 1 .. CA_CARD_NAME_MAX bytes */
    const char *description; /* NUL-terminated UTF-8, may be NULL or "" */
    const char *endpoint;    /* NUL-terminated UTF-8 (NATS subject, URL, ...) */
    uint64_t stake;          /* stake the agent claims, base units (routing checks the ledger) */
    uint64_t not_before;     /* validity window, ms since the Unix epoch; not_before < not_after */
    uint64_t not_after;
    uint64_t sequence; /* a newer card (higher sequence) replaces an older one */
    const ca_card_capability *capabilities; /* any order; names must be distinct */
    size_t capability_size;                 /* sizeof(ca_card_capability): the stride */
    size_t capability_count;                /* 1 .. CA_CARD_CAPABILITIES_MAX */
    uint64_t created_at; /* envelope time, ms; the envelope expires at not_after */
} ca_card_params;

/* Zeroes the params and sets `version`. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_card_params_init(ca_card_params *params, unsigned int version);

/*
 * Validates the params, encodes the card body (capabilities sorted by name)
 * and signs it as a CA_KIND_CARD envelope from `signer` into `out`
 * (OWNERSHIP RULE). `id_out` (optional) receives the message id.
 * Statuses: CA_ERR_UNSUPPORTED (params version, then capability_size), CA_ERR_INVALID_ARGUMENT
 * (missing field, bad UTF-8, duplicate capability, not_before >= not_after,
 * created_at >= not_after), CA_ERR_LIMIT (a bound above, an empty name or
 * endpoint, 0 capabilities), CA_ERR_BAD_CAPABILITY (a name breaking the
 * grammar, or NULL), then the envelope's (ca_envelope_sign).
 */
CA_API CA_NODISCARD ca_status ca_card_sign(const ca_identity *signer, const ca_card_params *params,
                                           uint8_t *out, size_t out_cap, size_t *out_len,
                                           ca_hash *id_out);

/* ---- parsing ---- */

typedef struct ca_card ca_card;

/*
 * Strict parser of a card from an envelope the caller has verified
 * (ca_envelope_verify / ca_envelope_open): kind CA_KIND_CARD (else
 * CA_ERR_WRONG_KIND); no recipient, no parent, no flags (a card body is
 * neither compressed nor sealed), canonical body within the limits above,
 * envelope expires_at equal to the body's not_after (else CA_ERR_MALFORMED /
 * CA_ERR_BAD_CAPABILITY), checked in that order. So a card has exactly one
 * signed encoding, the one ca_card_sign writes, and the envelope lifetime a
 * verifier enforces bounds the card's window. Does not check the validity
 * window; see ca_card_valid_at.
 */
CA_API CA_NODISCARD ca_status ca_card_parse(ca_card **out, const ca_envelope *env);

/*
 * Decode + verify the envelope at `now` + parse, then require
 * not_before <= now <= not_after (CA_ERR_NOT_YET_VALID / CA_ERR_EXPIRED).
 * `opts` may be NULL.
 */
CA_API CA_NODISCARD ca_status ca_card_open(ca_card **out, const uint8_t *data, size_t len,
                                           uint64_t now, const ca_envelope_options *opts);

CA_API void ca_card_free(ca_card *card);

/* Accessors. Strings live as long as the card. */
CA_API void ca_card_agent(const ca_card *card, ca_agent_id *out); /* = envelope sender */
CA_API void ca_card_message_id(const ca_card *card, ca_hash *out);
CA_API uint64_t ca_card_created_at(const ca_card *card);
CA_API const char *ca_card_name(const ca_card *card);
CA_API const char *ca_card_description(const ca_card *card); /* "" when absent */
CA_API const char *ca_card_endpoint(const ca_card *card);
CA_API uint64_t ca_card_stake(const ca_card *card);
CA_API uint64_t ca_card_not_before(const ca_card *card);
CA_API uint64_t ca_card_not_after(const ca_card *card);
CA_API uint64_t ca_card_sequence(const ca_card *card);
/* 1 when not_before <= now <= not_after, else 0. */
CA_API int ca_card_valid_at(const ca_card *card, uint64_t now);

/* Capabilities are in ascending byte order of their names. */
CA_API size_t ca_card_capability_count(const ca_card *card);
/* Fills *out with capability `index`. Checks, in this order: a NULL argument
 * (CA_ERR_INVALID_ARGUMENT), capability_size (CA_ERR_UNSUPPORTED), the index
 * (CA_ERR_NOT_FOUND when out of range). */
CA_API ca_status ca_card_capability_at(const ca_card *card, size_t index, ca_card_capability *out,
                                       size_t capability_size);
/* Exact-name lookup (binary search); CA_ERR_NOT_FOUND when absent. `out` may
 * be NULL (then capability_size is not read). */
CA_API ca_status ca_card_find_capability(const ca_card *card, const char *name, size_t name_len,
                                         ca_card_capability *out, size_t capability_size);

/*
 * The card as an A2A Agent Card JSON document (protocolVersion "0.3.0";
 * mapping in docs/PROTOCOL.md). Text output under the OWNERSHIP RULE
 * (NUL-terminated, *out_len excludes the NUL).
 */
CA_API CA_NODISCARD ca_status ca_card_to_a2a_json(const ca_card *card, char *out, size_t out_cap,
                                                  size_t *out_len);

/* ==== A2A v1.0 signed agent cards ====
 *
 * An A2A v1.0 AgentCard signed as A2A section 8.4 says: a JWS (RFC 7515)
 * with alg "EdDSA" (RFC 8037) over the RFC 8785 (JCS) canonical JSON of the
 * card without its `signatures`. Mapping, signature format, JSON rules and
 * import rules: docs/PROTOCOL.md, "Signed A2A agent cards (v1.0)".
 * OWNERSHIP: text output follows the OWNERSHIP RULE (NUL-terminated,
 * *out_len excludes the NUL); ca_a2a_card_verify returns a handle that owns
 * its strings, which live as long as it. Free with ca_a2a_card_free.
 * THREAD SAFETY: a ca_a2a_card is immutable; functions without a handle are
 * thread-safe.
 */

/* Bytes of JSON text the library reads (import, canonicalization). */
#define CA_A2A_JSON_MAX 65536u
/* Arrays and objects nested in one another, at most. */
#define CA_A2A_JSON_DEPTH_MAX 32u

CA_API size_t ca_a2a_json_max(void);
CA_API size_t ca_a2a_json_depth_max(void);

/*
 * RFC 8785 canonical form of the JSON text `json` (`len` bytes, need not be
 * NUL-terminated) into `out` (text, OWNERSHIP RULE). JSON rules
 * (docs/PROTOCOL.md, "JSON and JCS"): strict RFC 8259, valid UTF-8, no lone
 * surrogate escapes, no duplicate member names; numbers only integers of
 * magnitude <= 2^53. Statuses, in this order: CA_ERR_INVALID_ARGUMENT (NULL
 * json or out_len), CA_ERR_LIMIT (len > CA_A2A_JSON_MAX; nesting deeper
 * than CA_A2A_JSON_DEPTH_MAX), CA_ERR_JSON (not strict JSON),
 * CA_ERR_UNSUPPORTED (another number; a string holding U+0000),
 * CA_ERR_BUFFER_TOO_SMALL.
 */
CA_API CA_NODISCARD ca_status ca_jcs_canonicalize(const char *json, size_t len, char *out,
                                                  size_t out_cap, size_t *out_len);

/*
 * The card as a signed A2A v1.0 AgentCard (text, OWNERSHIP RULE). The
 * output is itself RFC 8785 canonical JSON; it carries one signature, whose
 * protected header is {"alg":"EdDSA","kid":K,"typ":"JOSE"} with K the
 * signer's did:key URL "did:key:z...#z..." (the did, '#', the did's
 * method-specific id). Deterministic: the same card and key give the same
 * bytes. Statuses: CA_ERR_INVALID_ARGUMENT (NULL card, signer or out_len),
 * CA_ERR_KEY_MISMATCH (signer is not the card's agent),
 * CA_ERR_BUFFER_TOO_SMALL.
 */
CA_API CA_NODISCARD ca_status ca_card_to_a2a_signed_json(const ca_card *card,
                                                         const ca_identity *signer, char *out,
                                                         size_t out_cap, size_t *out_len);

#define CA_A2A_VERIFY_OPTIONS_VERSION 1u

/*
 * key: NULL (default): each signature's kid must be an Ed25519 did:key URL
 * ("did:key:z...#z...", or the bare did) and names the key. Set: the key
 * every signature is checked with; a kid that is a did:key URL must name
 * this key, any other kid is not interpreted.
 */
typedef struct ca_a2a_verify_options {
    unsigned int version;   /* CA_A2A_VERIFY_OPTIONS_VERSION */
    const ca_agent_id *key; /* see above; default NULL */
} ca_a2a_verify_options;

/* Zeroes the options and sets `version`. CA_ERR_UNSUPPORTED for an unknown version. */
CA_API ca_status ca_a2a_verify_options_init(ca_a2a_verify_options *opts, unsigned int version);

typedef struct ca_a2a_card ca_a2a_card;

/*
 * Verifies a signed A2A v1.0 AgentCard from anyone and returns a read-only
 * view of it. `opts` may be NULL. Checks, in this order (the first failure
 * is returned): CA_ERR_INVALID_ARGUMENT (NULL out or json),
 * CA_ERR_UNSUPPORTED (opts version); CA_ERR_LIMIT (len > CA_A2A_JSON_MAX,
 * nesting); the JSON rules of ca_jcs_canonicalize (CA_ERR_JSON,
 * CA_ERR_UNSUPPORTED); the card's shape: an object with a top-level
 * `protocolVersion` or `url` and no `supportedInterfaces` is an A2A 0.x
 * card (CA_ERR_UNSUPPORTED); a required v1.0 field missing or of the wrong
 * type (CA_ERR_A2A_CARD); then the signatures: none, or one of the wrong
 * shape (CA_ERR_JWS). Signatures are tried in order; one is skipped when its
 * alg is not "EdDSA" (CA_ERR_UNSUPPORTED), its header has `crit`
 * (CA_ERR_UNSUPPORTED), its kid does not name a key (no opts->key and kid
 * not a did:key URL: CA_ERR_BAD_DID), or its kid names another key than
 * opts->key (CA_ERR_KEY_MISMATCH). The first signature not skipped decides:
 * CA_OK when it verifies over the canonical card without `signatures`,
 * else CA_ERR_BAD_SIGNATURE. When all are skipped, the first one's status.
 * Defaults are not removed before canonicalization: the card is verified
 * as received.
 */
CA_API CA_NODISCARD ca_status ca_a2a_card_verify(ca_a2a_card **out, const char *json, size_t len,
                                                 const ca_a2a_verify_options *opts);

CA_API void ca_a2a_card_free(ca_a2a_card *card);

/* The key whose signature verified. */
CA_API void ca_a2a_card_signer(const ca_a2a_card *card, ca_agent_id *out);
/* The verified signature's kid. */
CA_API const char *ca_a2a_card_kid(const ca_a2a_card *card);
/* The canonical JSON the signature covers (the card without `signatures`); *len its bytes. */
CA_API const char *ca_a2a_card_payload(const ca_a2a_card *card, size_t *len);
CA_API const char *ca_a2a_card_name(const ca_a2a_card *card);
CA_API const char *ca_a2a_card_description(const ca_a2a_card *card);
CA_API const char *ca_a2a_card_version(const ca_a2a_card *card);
/* supportedInterfaces, in the card's (preference) order; NULL when index is out of range. */
CA_API size_t ca_a2a_card_interface_count(const ca_a2a_card *card);
CA_API const char *ca_a2a_card_interface_url(const ca_a2a_card *card, size_t index);
CA_API const char *ca_a2a_card_interface_binding(const ca_a2a_card *card, size_t index);
CA_API const char *ca_a2a_card_interface_protocol_version(const ca_a2a_card *card, size_t index);
/* skills, in the card's order; NULL when index is out of range. */
CA_API size_t ca_a2a_card_skill_count(const ca_a2a_card *card);
CA_API const char *ca_a2a_card_skill_id(const ca_a2a_card *card, size_t index);
CA_API const char *ca_a2a_card_skill_name(const ca_a2a_card *card, size_t index);

/*
 * The libcyberagent card inside a verified A2A card written by
 * ca_card_to_a2a_signed_json: the signed card envelope (CA_KIND_CARD),
 * rebuilt from the extension "urn:cyberagent:card:1" and the A2A fields,
 * into `out` (OWNERSHIP RULE). The host opens it with ca_card_open, which
 * checks its own signature and validity window. Statuses:
 * CA_ERR_INVALID_ARGUMENT (NULL card or out_len), CA_ERR_NOT_FOUND (no such
 * extension: a card from elsewhere), CA_ERR_A2A_CARD (extension params
 * missing or malformed), the card checks of ca_card_sign, CA_ERR_BAD_SIGNATURE
 * (the card's own envelope signature does not verify; its time rules are
 * left to ca_card_open), the checks of ca_card_parse, CA_ERR_A2A_CARD (the
 * A2A JSON is not exactly what ca_card_to_a2a_signed_json writes for the
 * card rebuilt), CA_ERR_KEY_MISMATCH (the card's agent is not the key that
 * signed the A2A card), CA_ERR_BUFFER_TOO_SMALL.
 */
CA_API CA_NODISCARD ca_status ca_a2a_card_native(const ca_a2a_card *card, uint8_t *out,
                                                 size_t out_cap, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_CARD_H */
