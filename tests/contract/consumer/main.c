/* Downstream consumer used by the install test: links, checks versions, signs. */
#include <stdio.h>
#include <string.h>

#include <cyberagent.h>

int main(void)
{
    if (ca_version_number() != CA_VERSION_NUMBER ||
        strcmp(ca_version_string(), CA_VERSION_STRING) != 0) {
        fprintf(stderr, "headers %s but library %s\n", CA_VERSION_STRING, ca_version_string());
        return 1;
    }
    static const uint8_t seed[CA_SEED_BYTES] = {1};
    ca_identity *me = NULL;
    if (ca_identity_from_seed(&me, seed) != CA_OK) {
        fprintf(stderr, "%s\n", ca_last_error());
        return 1;
    }
    ca_agent_id id;
    ca_identity_id(me, &id);
    char did[CA_DID_MAX_CHARS + 1];
    size_t len = 0;
    ca_signature sig;
    ca_status st = ca_did_encode(&id, did, sizeof did, &len);
    if (st == CA_OK)
        st = ca_identity_sign_tagged(me, "consumer", 8, (const uint8_t *)"x", 1, &sig);
    if (st == CA_OK)
        st = ca_identity_verify_tagged(&id, "consumer", 8, (const uint8_t *)"x", 1, &sig);
    ca_identity_free(me);
    if (st != CA_OK) {
        fprintf(stderr, "%s: %s\n", ca_status_str(st), ca_last_error());
        return 1;
    }
    printf("consumer ok: libcyberagent %s, %s\n", ca_version_string(), did);
    return 0;
}
