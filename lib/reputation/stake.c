/* Stakes read straight from the ledger (the teleport vector's stake weights). */
#include "ledger/ledger_internal.h"
#include "reputation_internal.h"

/*
 * The stake of agent `id` (reputation.h, ca_reputation_sync_stakes): an account's own (the
 * account of a rotated identity included: ratings are filed under accounts); a rotated
 * identity's current key gets its account's, unless the handle knows that account (the stake
 * is counted once, under the account); anything else none.
 */
static uint64_t stake_of(const ca_reputation *rep, const ca_ledger *ledger, const ca_agent_id *id,
                         uint64_t now_ms)
{
    ca_agent_id account;
    switch (cai_ledger_account_of_key(ledger, id, &account, NULL)) {
    case CAI_KEY_SIGNS:
        if (memcmp(account.bytes, id->bytes, CA_AGENT_ID_BYTES) != 0 &&
            cai_reputation_find(rep, &account) != UINT32_MAX)
            return 0;
        return cai_ledger_weighed_stake(ledger, &account, now_ms);
    case CAI_KEY_REPLACED:
        return cai_ledger_weighed_stake(ledger, id, now_ms);
    default:
        return 0;
    }
}

ca_status ca_reputation_sync_stakes(ca_reputation *rep, const ca_ledger *ledger, uint64_t now_ms)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(ledger);
    for (uint32_t i = 0; i < rep->n_agents; i++)
        rep->agents[i].stake = stake_of(rep, ledger, &rep->agents[i].id, now_ms);
    return CA_OK;
}
