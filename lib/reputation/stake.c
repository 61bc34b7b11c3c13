/* Stakes read straight from the ledger (the teleport vector's stake weights). */
#include "reputation_internal.h"

/* Bonded plus unbonding: everything the ledger can still slash. */
static uint64_t slashable(const ca_ledger_account_info *a)
{
    return a->bonded > UINT64_MAX - a->unbonding ? UINT64_MAX : a->bonded + a->unbonding;
}

ca_status ca_reputation_sync_stakes(ca_reputation *rep, const ca_ledger *ledger, uint64_t now_ms)
{
    CAI_REQUIRE(rep);
    CAI_REQUIRE(ledger);
    for (uint32_t i = 0; i < rep->n_agents; i++) {
        ca_ledger_account_info a;
        uint64_t stake = 0;
        ca_status st = ca_ledger_account(ledger, &rep->agents[i].id, &a);
        if (st == CA_OK) {
            /* A jailed agent was slashed on evidence: it teleports no trust until released. */
            if (a.jailed_until <= now_ms)
                stake = slashable(&a);
        } else if (st != CA_ERR_LEDGER_UNKNOWN_ACCOUNT) {
            return st; /* arguments were checked: not reached */
        }
        rep->agents[i].stake = stake;
    }
    cai_clear_error();
    return CA_OK;
}
