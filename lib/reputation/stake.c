/* Stakes read straight from the ledger (the teleport vector's stake weights). */
#include "ledger/ledger_internal.h"
#include "reputation_internal.h"

ca_status ca_reputation_sync_stakes(ca_reputation *rep, const ca_ledger *ledger, uint64_t now_ms)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(ledger);
    for (uint32_t i = 0; i < rep->n_agents; i++)
        rep->agents[i].stake = cai_ledger_weighed_stake(ledger, &rep->agents[i].id, now_ms);
    return CA_OK;
}
