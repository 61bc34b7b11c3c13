/*
 * Fuzz target: the strict agent-card body decoder.
 * Invariants: never crashes; a failure is CA_ERR_MALFORMED or
 * CA_ERR_BAD_CAPABILITY with a reason; an accepted body re-encodes from the
 * parsed card to exactly the input bytes (one encoding per card).
 */
#include <string.h>

#include "card/card_internal.h"
#include "cyberagent.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_card *card = NULL;
    ca_status st = FUZZ_CALL(cai_card_body_decode(&card, data, size));
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_MALFORMED || st == CA_ERR_BAD_CAPABILITY);
        FUZZ_CHECK(card == NULL);
        return 0;
    }
    ca_card_capability caps[CA_CARD_CAPABILITIES_MAX];
    size_t n = ca_card_capability_count(card);
    FUZZ_CHECK(n >= 1 && n <= CA_CARD_CAPABILITIES_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ca_card_capability_at(card, i, &caps[i], sizeof(ca_card_capability)) == CA_OK);
    ca_card_params p;
    FUZZ_CHECK(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION) == CA_OK);
    p.name = ca_card_name(card);
    p.description = ca_card_description(card);
    p.endpoint = ca_card_endpoint(card);
    p.stake = ca_card_stake(card);
    p.not_before = ca_card_not_before(card);
    p.not_after = ca_card_not_after(card);
    p.sequence = ca_card_sequence(card);
    p.capabilities = caps;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = n;
    uint8_t *again = malloc(size);
    size_t len = 0;
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(cai_card_body_encode(&p, again, size, &len) == CA_OK);
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
    free(again);
    ca_card_free(card);
    return 0;
}
