/*
 * Fuzz target: the strict decoders of delegations and revocations
 * (ca_delegation_decode, ca_revocation_decode), and the chain verifier on
 * what they accept. Invariants: never crashes; a failure is a decoder status
 * with a sentence of its own (FUZZ_CALL) and leaves no handle; at most one
 * of the two decoders accepts an input; an accepted delegation re-encodes
 * from its public values and signature to exactly the input (one encoding
 * per delegation), keeps its documented limits, and verifies as a
 * one-link chain with a precise status (the signature of fuzzed bytes is
 * almost never valid); an accepted revocation re-encodes likewise.
 */
#include <string.h>

#include "cyberagent.h"
#include "delegation/delegation_internal.h"
#include "fuzz.h"

static int decoder_status(ca_status st)
{
    return st == CA_ERR_MALFORMED || st == CA_ERR_BAD_CAPABILITY || st == CA_ERR_WRONG_KIND ||
           st == CA_ERR_BAD_VERSION || st == CA_ERR_LIMIT;
}

static ca_signature signature_of(const uint8_t *data, size_t size)
{
    ca_envelope *e = NULL;
    FUZZ_CHECK(ca_envelope_decode(&e, data, size, NULL) == CA_OK);
    ca_signature sig;
    ca_envelope_signature(e, &sig);
    ca_envelope_free(e);
    return sig;
}

static void delegation_accepted(const ca_delegation *d, const uint8_t *data, size_t size)
{
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    FUZZ_CHECK(ca_delegation_get(d, &info) == CA_OK);
    FUZZ_CHECK(info.capability_count >= 1 &&
               info.capability_count <= CA_DELEGATION_CAPABILITIES_MAX);
    FUZZ_CHECK(info.task_cap <= info.total_cap && info.not_before < info.expires_at);
    FUZZ_CHECK(info.signature_checked == 0);
    FUZZ_CHECK(memcmp(info.issuer.bytes, info.audience.bytes, CA_AGENT_ID_BYTES) != 0);
    const char *caps[CA_DELEGATION_CAPABILITIES_MAX];
    for (size_t i = 0; i < info.capability_count; i++) {
        caps[i] = ca_delegation_capability(d, i);
        FUZZ_CHECK(caps[i] != NULL);
        FUZZ_CHECK(ca_capability_pattern_check(caps[i], strlen(caps[i])) == CA_OK);
        FUZZ_CHECK(ca_delegation_grants(d, caps[i], strlen(caps[i])) == CA_OK);
    }
    FUZZ_CHECK(ca_delegation_capability(d, info.capability_count) == NULL);

    ca_delegation_params p;
    FUZZ_CHECK(ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION) == CA_OK);
    p.audience = &info.audience;
    p.capabilities = caps;
    p.capability_count = info.capability_count;
    p.total_cap = info.total_cap;
    p.task_cap = info.task_cap;
    p.not_before = info.not_before;
    p.expires_at = info.expires_at;
    p.nonce = info.nonce;
    p.parent = info.has_parent ? &info.parent : NULL;
    p.created_at = info.created_at;
    ca_signature sig = signature_of(data, size);
    uint8_t *again = malloc(size + 64);
    FUZZ_CHECK(again != NULL);
    size_t n = 0;
    FUZZ_CHECK(cai_delegation_encode_signed(&p, &info.issuer, &sig, again, size + 64, &n) == CA_OK);
    FUZZ_CHECK(n == size && memcmp(again, data, size) == 0);
    free(again);

    /* As a chain of one: a root verifies only with a valid signature; a re-delegation never. */
    const ca_delegation *chain[1] = {d};
    ca_status st = FUZZ_CALL(ca_delegation_chain_verify(chain, 1, info.not_before, NULL, NULL));
    if (info.has_parent)
        FUZZ_CHECK(st == CA_ERR_DELEGATION_PARENT);
    else
        FUZZ_CHECK(st == CA_OK || st == CA_ERR_BAD_SIGNATURE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_delegation *d = NULL;
    ca_status sd = FUZZ_CALL(ca_delegation_decode(&d, data, size));
    if (sd == CA_OK) {
        delegation_accepted(d, data, size);
        ca_delegation_free(d);
    } else {
        FUZZ_CHECK(d == NULL && decoder_status(sd));
    }

    ca_revocation_info ri = {.version = CA_REVOCATION_INFO_VERSION};
    ca_status sr = FUZZ_CALL(ca_revocation_decode(data, size, &ri));
    if (sr == CA_OK) {
        FUZZ_CHECK(sd != CA_OK);
        ca_signature sig = signature_of(data, size);
        uint8_t *again = malloc(size + 64);
        FUZZ_CHECK(again != NULL);
        size_t n = 0;
        FUZZ_CHECK(cai_revocation_reencode(&ri, &sig, again, size + 64, &n) == CA_OK);
        FUZZ_CHECK(n == size && memcmp(again, data, size) == 0);
        free(again);
    } else {
        FUZZ_CHECK(decoder_status(sr));
    }
    return 0;
}
