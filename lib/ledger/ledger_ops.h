/*
 * The ledger's op table (internal): what cai_ledger_apply_op does with each
 * op type, one row per type (SLASH: one per evidence kind), in lib/ledger/ledger.c.
 * docs/LEDGER.md "Checks" is printed from these rows (tests/contract/wire_tables.c)
 * and test_check_order (tests/unit/test_ledger_order.c) walks the same steps.
 *
 * Adding an op type (appended to ca_ledger_op_type): its row (fields, signer,
 * checks, commit) in ledger.c and CAI_LEDGER_OP_LAST below, and the type in
 * CAI_LEDGER_OP_KEYED (its fast case; without it the type works, slower); in
 * ledger_codec.c a wire row only for a field no type had before.
 */
#ifndef CYBERAGENT_LEDGER_OPS_H
#define CYBERAGENT_LEDGER_OPS_H

#include "ledger/ledger_internal.h"

/*
 * The op table (ledger.c, docs/LEDGER.md "Checks"): one row per op type, a
 * SLASH one per evidence kind, saying everything the apply path does with
 * that op. cai_ledger_apply_op runs, for every op, the same steps:
 *   1. shape: the type is known, each field it does not carry is zero
 *      (cai_ledger_op_carried), a SLASH's evidence kind is known, the fields
 *      in `need` are not zero and those in `zero` are (CA_ERR_INVALID_ARGUMENT);
 *   2. the fixed signer `signer` (CA_ERR_LEDGER_UNAUTHORIZED), then, when
 *      `distinct`, counterparty != signer (CA_ERR_LEDGER_SELF_DEALING);
 *   3. the nonce (CA_ERR_LEDGER_DUPLICATE, CA_ERR_LEDGER_BAD_NONCE);
 *   4. the row's checks, in order: check i answers checks[i].status or passes;
 *   5. the accounts the op creates (the signer's, and the counterparty's when
 *      `new_cp`) fit max_accounts (CA_ERR_LIMIT); then memory for them and for
 *      the records in `reserve` (CA_ERR_NO_MEMORY);
 * and then `commit`, which cannot fail. The first failure is the answer and
 * changes nothing.
 */
typedef struct cai_op_ctx cai_op_ctx; /* what the checks found, for the commit (ledger.c) */
typedef struct cai_ledger_check {
    ca_status status; /* what the op answers when the check fails */
    const char *doc;  /* what must hold (docs/LEDGER.md prints it) */
} cai_ledger_check;

enum { CAI_SIGNER_ANY = 0, CAI_SIGNER_AUTHORITY = 1, CAI_SIGNER_ARBITER = 2 };
/* Records reserved before the commit (bits of cai_ledger_op_spec.reserve). */
enum {
    CAI_RES_ESCROW = 1,
    CAI_RES_EVIDENCE = 2,
    CAI_RES_UNBOND = 4,
    CAI_RES_EXPIRY = 8,
    CAI_RES_KEY = 16,   /* a key record (KEY_EVENT) */
    CAI_RES_REVOKE = 32 /* a revocation record (REVOKE) */
};

typedef struct cai_ledger_op_spec {
    const char *name;  /* "TRANSFER", "SLASH EQUIVOCATION" */
    uint32_t type;     /* ca_ledger_op_type */
    uint32_t evidence; /* SLASH: its ca_ledger_evidence; 0 otherwise */
    uint8_t fields;    /* F_* the type carries (the same for every SLASH row) */
    uint8_t need;      /* F_* that must not be zero */
    uint8_t zero;      /* F_* of `fields` this row leaves zero */
    uint8_t signer;    /* CAI_SIGNER_*: fixed signer checked before the nonce */
    uint8_t distinct;  /* counterparty != signer */
    uint8_t new_cp;    /* the counterparty gets an account when it has none */
    uint8_t reserve;   /* CAI_RES_* */
    uint8_t n_checks;
    const cai_ledger_check *checks;
    /* Runs `checks` in order (CA_OK, or the status of the first that fails); then, room
     * reserved, `commit` applies the op. */
    ca_status (*check)(ca_ledger *l, cai_op_ctx *c);
    void (*commit)(ca_ledger *l, cai_op_ctx *c);
    const char *who;    /* docs: who signs */
    const char *effect; /* docs: what the commit does */
} cai_ledger_op_spec;

/*
 * The steps of a row in the order apply runs them (1 to 5 above): what
 * docs/LEDGER.md prints for it, and what a test walks. `k` indexes
 * `checks` for CAI_STEP_CHECK. Returns the count (writes at most cap).
 */
enum {
    CAI_STEP_TYPE,       /* type 1 .. CAI_LEDGER_OP_LAST */
    CAI_STEP_UNUSED,     /* fields the type does not carry are zero */
    CAI_STEP_EVIDENCE,   /* SLASH: evidence kind 1 .. 3 */
    CAI_STEP_NEED,       /* `need` fields not zero */
    CAI_STEP_ZERO,       /* `zero` fields zero */
    CAI_STEP_SIGNER,     /* the fixed signer */
    CAI_STEP_DISTINCT,   /* counterparty != signer */
    CAI_STEP_NONCE_USED, /* nonce > last */
    CAI_STEP_NONCE_NEXT, /* nonce == last + 1 */
    CAI_STEP_CHECK,      /* checks[k] */
    CAI_STEP_ACCOUNTS,   /* new accounts within max_accounts */
    CAI_STEP_MEMORY,     /* room for the records added */
    CAI_STEP_DELEGATION  /* a delegated op's checks D1..D8 (ledger.h), in place of the nonce */
};
typedef struct cai_ledger_step {
    uint8_t kind; /* CAI_STEP_* */
    uint8_t k;
    ca_status status;
} cai_ledger_step;
struct cai_ledger_op_spec;
size_t cai_ledger_op_steps(const struct cai_ledger_op_spec *s, cai_ledger_step *out, size_t cap);

/*
 * The highest op type (ca_ledger_op_type): the one line to change, with a
 * row, when a type is appended.
 */
#define CAI_LEDGER_OP_LAST CA_LEDGER_OP_KEY_EVENT
/*
 * The types whose row the type alone names (every one but SLASH, whose row
 * depends on the evidence kind too): cai_ledger_apply_op has a case for each
 * that applies the row with its fields constant (its check and commit
 * inlined). A type not listed takes the generic way: the same answers, slower.
 */
#define CAI_LEDGER_OP_KEYED(X)                                                                     \
    X(CA_LEDGER_OP_MINT)                                                                           \
    X(CA_LEDGER_OP_TRANSFER)                                                                       \
    X(CA_LEDGER_OP_BOND)                                                                           \
    X(CA_LEDGER_OP_UNBOND)                                                                         \
    X(CA_LEDGER_OP_WITHDRAW)                                                                       \
    X(CA_LEDGER_OP_ESCROW_OPEN)                                                                    \
    X(CA_LEDGER_OP_ESCROW_DELIVER)                                                                 \
    X(CA_LEDGER_OP_ESCROW_RELEASE)                                                                 \
    X(CA_LEDGER_OP_ESCROW_REFUND)                                                                  \
    X(CA_LEDGER_OP_ESCROW_SPLIT)                                                                   \
    X(CA_LEDGER_OP_REVOKE)
/* Rows 1 .. LAST by type, SLASH's being its EQUIVOCATION row; the other evidence kinds after them
 * (row 0 unused). */
#define CAI_LEDGER_SLASH_ROW(kind)                                                                 \
    ((kind) == CA_LEDGER_EVIDENCE_EQUIVOCATION ? (unsigned)CA_LEDGER_OP_SLASH                      \
                                               : (unsigned)CAI_LEDGER_OP_LAST + (kind)-1u)
#define CAI_LEDGER_N_SPECS ((unsigned)CAI_LEDGER_OP_LAST + CA_LEDGER_EVIDENCE_DISPUTE)
extern const cai_ledger_op_spec cai_ledger_ops[CAI_LEDGER_N_SPECS];
/* A type number with a row. The table may have a gap: a number another branch's type takes
 * (REVOKE, 12, before the merge), an unknown type here. */
static inline int cai_ledger_op_known(uint32_t type)
{
    return type - 1u < CAI_LEDGER_OP_LAST && cai_ledger_ops[type].name != NULL;
}
/* The op's row; NULL when its type, or a SLASH's evidence kind, is unknown. */
static inline const cai_ledger_op_spec *cai_ledger_op_spec_of(const ca_ledger_op *op)
{
    if (!cai_ledger_op_known(op->type))
        return NULL;
    if (op->type != CA_LEDGER_OP_SLASH)
        return &cai_ledger_ops[op->type];
    if (op->evidence - 1u < CA_LEDGER_EVIDENCE_DISPUTE)
        return &cai_ledger_ops[CAI_LEDGER_SLASH_ROW(op->evidence)];
    return NULL;
}

/*
 * Steps TYPE and UNUSED, written once for the apply path and the encoder: the
 * type is known and every field it does not carry is zero (else
 * CA_ERR_INVALID_ARGUMENT, *step the one that failed). *set: the F_* the op sets.
 */
ca_status cai_ledger_op_carried(const ca_ledger_op *op, unsigned *set, unsigned *step);

/* Steps 1 to 5 of applying `op` (no commit; memory may be reserved): the status apply would
 * answer and, when it fails, the step that answers (tests walk the documented order). */
ca_status cai_ledger_check_op(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                              const uint64_t *result_at, cai_ledger_step *failed);

/* KEY_EVENT's row (ledger_keys.c): its checks, run with k counting those that passed (the
 * CHECK convention of ledger.c), and its commit. */
#define CAI_KEY_EVENT_CHECKS 9
extern const cai_ledger_check cai_ledger_key_event_rows[CAI_KEY_EVENT_CHECKS];
ca_status cai_ledger_key_event_check(ca_ledger *l, const ca_ledger_op *op, uint32_t si,
                                     unsigned *k);
void cai_ledger_key_event_commit(ca_ledger *l, const ca_ledger_op *op, uint64_t now);

/* Op codec (ledger_codec.c). */
/*
 * The F_* bits of the fields `op` sets (not zero), read through the op's wire
 * rows: the one test behind "a field the type does not use is zero" (the
 * encoder and the apply path) and "a field the type needs is set".
 */
unsigned cai_ledger_op_set_fields(const ca_ledger_op *op);
/* The name of the op field of the lowest F_* bit in `bits` (its wire row's). */
const char *cai_ledger_op_field_name(unsigned bits);

#endif /* CYBERAGENT_LEDGER_OPS_H */
