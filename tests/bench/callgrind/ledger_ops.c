/*
 * Instruction counts per ledger op type (tests/bench/callgrind/ledger.sh):
 * each phase_* applies N ops of one type to an in-memory ledger through
 * ca_ledger_apply (public API only, so the same driver builds against any
 * commit); callgrind's inclusive count of a phase / N is the figure.
 * Not a test: valgrind counts instructions, which are repeatable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cyberagent.h"
#ifdef CA_LEDGER_OP_VERSION
#define OP_INIT                                                                                    \
    {                                                                                              \
        .version = CA_LEDGER_OP_VERSION                                                            \
    }
#else
#define OP_INIT                                                                                    \
    {                                                                                              \
        0                                                                                          \
    }
#endif

#define N        4000u
#define NOINLINE __attribute__((noinline))

static ca_ledger *l;
static ca_agent_id ids[2 * N];
static uint64_t nonce[2 * N];
static uint64_t auth_nonce;
static unsigned failures;

static void id_of(ca_agent_id *id, uint32_t i)
{
    memset(id->bytes, 0x5A, sizeof id->bytes);
    memcpy(id->bytes, &i, sizeof i);
    id->bytes[31] = (uint8_t)(i * 131u);
}

static ca_ledger_op op_of(uint32_t type, uint32_t signer)
{
    ca_ledger_op op = OP_INIT;
    op.type = type;
    op.signer = ids[signer];
    op.nonce = ++nonce[signer];
    return op;
}

static void apply(const ca_ledger_op *op, uint64_t now, int want_ok)
{
    if ((ca_ledger_apply(l, op, now, NULL) == CA_OK) != want_ok)
        failures++;
}

static void ref_of(ca_hash *h, uint32_t i)
{
    memset(h->bytes, 0x33, sizeof h->bytes);
    memcpy(h->bytes, &i, sizeof i);
}

NOINLINE void phase_mint(void)
{
    for (uint32_t i = 0; i < 2 * N; i++) {
        ca_ledger_op op = OP_INIT;
        op.type = CA_LEDGER_OP_MINT;
        memset(op.signer.bytes, 0xAA, 32);
        op.nonce = ++auth_nonce;
        op.counterparty = ids[i];
        op.amount = 1000000000u;
        apply(&op, 1, 1);
    }
}

NOINLINE void phase_transfer(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_TRANSFER, i);
        op.counterparty = ids[(i * 7u + 1u) % (2 * N)];
        op.amount = 1 + i % 100;
        apply(&op, 1, 1);
    }
}

NOINLINE void phase_refused(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_TRANSFER, i);
        op.nonce += 5; /* skips ahead: CA_ERR_LEDGER_BAD_NONCE */
        nonce[i]--;
        op.counterparty = ids[N + i];
        op.amount = 1;
        apply(&op, 1, 0);
    }
}

NOINLINE void phase_escrow_open(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_ESCROW_OPEN, i);
        op.counterparty = ids[N + i];
        ref_of(&op.ref, i);
        op.amount = 100;
        op.amount2 = 10;
        op.deadline = 1000000;
        apply(&op, 2, 1);
    }
}

NOINLINE void phase_escrow_deliver(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_ESCROW_DELIVER, N + i);
        ref_of(&op.ref, i);
        memset(op.result.bytes, 0x77, sizeof op.result.bytes);
        apply(&op, 3, 1);
    }
}

NOINLINE void phase_escrow_release(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_ESCROW_RELEASE, i);
        ref_of(&op.ref, i);
        apply(&op, 4, 1);
    }
}

NOINLINE void phase_bond(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_BOND, i);
        op.amount = 1000;
        apply(&op, 5, 1);
    }
}

NOINLINE void phase_unbond(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_UNBOND, i);
        op.amount = 100;
        apply(&op, 6, 1);
    }
}

NOINLINE void phase_withdraw(void)
{
    for (uint32_t i = 0; i < N; i++) {
        ca_ledger_op op = op_of(CA_LEDGER_OP_WITHDRAW, i);
        apply(&op, 6 + 1814400000u, 1);
    }
}

int main(void)
{
    ca_ledger_options o;
    (void)ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION);
    memset(o.authority.bytes, 0xAA, 32);
    memset(o.arbiter.bytes, 0xBB, 32);
    o.initial_accounts = 2 * N + 1;
    if (ca_ledger_new(&l, &o) != CA_OK)
        return 1;
    for (uint32_t i = 0; i < 2 * N; i++)
        id_of(&ids[i], i);
    phase_mint();
    phase_transfer();
    phase_refused();
    phase_escrow_open();
    phase_escrow_deliver();
    phase_escrow_release();
    phase_bond();
    phase_unbond();
    phase_withdraw();
    ca_ledger_free(l);
    printf("N %u failures %u\n", N, failures);
    return failures != 0;
}
