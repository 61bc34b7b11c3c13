/* Options shared by the ledger fuzz targets and their seed corpora (tests/fuzz/gen_ledger_seeds.c
 * writes the seeds for them: change both together). */
#ifndef CA_FUZZ_LEDGER_COMMON_H
#define CA_FUZZ_LEDGER_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"

static inline ca_agent_id fuzz_ledger_agent(unsigned k)
{
    ca_agent_id id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = (uint8_t)k;
    id.bytes[31] = 0xF0;
    return id;
}

static inline ca_ledger_options fuzz_ledger_options(void)
{
    ca_ledger_options o;
    if (ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION) != CA_OK)
        abort();
    o.authority = fuzz_ledger_agent(0);
    o.arbiter = fuzz_ledger_agent(1);
    o.unbonding_delay = 10;
    o.max_accounts = 4096;
    o.max_escrows = 4096;
    /* Windows and quotas small enough that inputs reach drops and limits. */
    o.max_evidence_age = 10000;
    o.max_escrow_duration = 10000;
    o.max_escrows_per_hirer = 64;
    return o;
}

#endif
