/*
 * Instructions per op of ca-bench's ledger_mem_ops_per_s workload
 * (tests/bench/callgrind/ledger.sh): 100k funded accounts, 200k random
 * TRANSFERs applied through ca_ledger_apply_batch in batches of 1000, in
 * memory, or with DURABLE=DIR in a durable ledger committed per batch (20k
 * ops; fsync is a system call, not counted). Public API only, and the op's
 * `version` set only where the header has one, so the same driver builds
 * against commits before 1.0. Prints the ledger's bytes per account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"

#ifdef CA_LEDGER_OP_VERSION
#define SET_VERSION(op) ((op).version = CA_LEDGER_OP_VERSION)
#else
#define SET_VERSION(op) ((void)0)
#endif
#define NOINLINE __attribute__((noinline))

enum { ACCOUNTS = 100000, BATCH = 1000, MEM_OPS = 200000, DURABLE_OPS = 20000 };

/* Internal before 1.0 under either name; weak, so whichever the commit has is used. */
size_t ca_ledger_memory_bytes(const ca_ledger *l) __attribute__((weak));
size_t cai_ledger_memory_bytes(const ca_ledger *l) __attribute__((weak));

static ca_agent_id ids[ACCOUNTS];
static uint64_t nonces[ACCOUNTS];
static ca_ledger_op ops[BATCH];
static ca_status results[BATCH];
static struct {
    uint32_t from, to;
    uint64_t amount;
} xfer[MEM_OPS];

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

NOINLINE int phase_batch_transfer(ca_ledger *l, size_t n, int durable)
{
    for (size_t base = 0; base < n; base += BATCH) {
        size_t done = 0;
        for (size_t i = 0; i < BATCH; i++) {
            ops[i].signer = ids[xfer[base + i].from];
            ops[i].counterparty = ids[xfer[base + i].to];
            ops[i].nonce = ++nonces[xfer[base + i].from];
            ops[i].amount = xfer[base + i].amount;
        }
        if (ca_ledger_apply_batch(l, ops, BATCH, 1, results, &done) != CA_OK || done != BATCH)
            return 1;
        if (durable && ca_ledger_commit(l, NULL) != CA_OK)
            return 1;
    }
    return 0;
}

int main(void)
{
    const char *dir = getenv("DURABLE");
    uint64_t seed = 0x5EED;
    for (uint32_t i = 0; i < ACCOUNTS; i++)
        for (int k = 0; k < 4; k++) {
            uint64_t v = rng(&seed);
            memcpy(ids[i].bytes + 8 * k, &v, 8);
        }
    ca_ledger_options o;
    (void)ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION);
    memset(o.authority.bytes, 0xAA, 32);
    memset(o.arbiter.bytes, 0xBB, 32);
    o.initial_accounts = ACCOUNTS + 1;
    ca_ledger *l = NULL;
    if ((dir ? ca_ledger_open(&l, dir, &o, NULL) : ca_ledger_new(&l, &o)) != CA_OK)
        return 1;
    ca_ledger_op op;
    memset(&op, 0, sizeof op);
    SET_VERSION(op);
    op.type = CA_LEDGER_OP_MINT;
    memset(op.signer.bytes, 0xAA, 32);
    op.amount = 1000000000u;
    for (uint32_t i = 0; i < ACCOUNTS; i++) {
        op.nonce = i + 1;
        op.counterparty = ids[i];
        if (ca_ledger_apply(l, &op, 0, NULL) != CA_OK)
            return 1;
    }
    size_t bytes = ca_ledger_memory_bytes    ? ca_ledger_memory_bytes(l)
                   : cai_ledger_memory_bytes ? cai_ledger_memory_bytes(l)
                                             : 0;
    uint64_t s = 1000;
    for (size_t i = 0; i < MEM_OPS; i++) {
        xfer[i].from = (uint32_t)(rng(&s) % ACCOUNTS);
        do
            xfer[i].to = (uint32_t)(rng(&s) % ACCOUNTS);
        while (xfer[i].to == xfer[i].from);
        xfer[i].amount = 1 + rng(&s) % 1000;
    }
    for (size_t i = 0; i < BATCH; i++) {
        memset(&ops[i], 0, sizeof ops[i]);
        SET_VERSION(ops[i]);
        ops[i].type = CA_LEDGER_OP_TRANSFER;
    }
    int rc = phase_batch_transfer(l, dir ? DURABLE_OPS : MEM_OPS, dir != NULL);
    printf("bytes_per_account %.1f\n", (double)bytes / ACCOUNTS);
    ca_ledger_free(l);
    return rc;
}
