/*
 * Ledger op encoding and signatures (docs/LEDGER.md, "Op encoding").
 *
 * An op is a canonical MessagePack map (lib/wire) with the keys its type
 * uses, always present even when zero:
 *   0 type, 1 signer (bin 32), 2 nonce, 3 counterparty (bin 32), 4 ref (bin 32),
 *   5 amount, 6 amount2, 7 deadline (SLASH: the offense's task deadline), 8 evidence kind,
 *   9 result (bin 32),
 *   14 cosignature (bin 64, ESCROW_OPEN only: the worker), 15 signature (bin 64).
 * The signature is Ed25519 over "cyberagent/1/ledger-op" || ledger id || the
 * map without keys 14 and 15 (the "unsigned encoding"); the ledger id
 * (ca_ledger_options_id) is not in the bytes: the ledger that checks an op
 * supplies its own, so an op signed for another ledger does not verify. The
 * worker's cosignature is its consent to the escrow's terms: Ed25519 over
 * "cyberagent/1/escrow-consent" || ledger id || the unsigned encoding with
 * the nonce set to 0, so it can be given before the hirer knows which nonce
 * the op will carry (its other ops may come first), and, under its own tag,
 * it can never pass for an op signature.
 *
 * A delegated op (ledger.h, DELEGATION) carries key 12, the chain: an array
 * of 1 .. CA_DELEGATION_MAX_DEPTH encoded delegations, root first. Its key 15
 * is the delegate's signature (the leaf's audience) over
 * "cyberagent/1/ledger-op-delegated" || ledger id || the unsigned encoding ||
 * the leaf's id; the decoder decodes each link strictly and reports the
 * leaf's id as op.delegation.
 */
#include <stdlib.h>

#include <sodium.h>

#include "identity/identity_internal.h"
#include "ledger/ledger_ops.h"
#include "cyberagent/envelope.h"
#include "cyberagent/task.h"
#include "wire/wire.h"

static const char sig_tag[] = "cyberagent/1/ledger-op";
static const char consent_tag[] = "cyberagent/1/escrow-consent";
static const char delegated_tag[] = "cyberagent/1/ledger-op-delegated";
#define TAG_MAX (sizeof delegated_tag - 1)
_Static_assert(sizeof sig_tag <= sizeof delegated_tag && sizeof consent_tag <= sizeof delegated_tag,
               "TAG_MAX is the longest tag");

/* Largest encoded delegation (delegation.h: at most ca_envelope_bound(1200)). */
#define DLG_BYTES_MAX (1200u + CA_ENVELOPE_MAX_OVERHEAD)
/* A chain of the deepest kind, each link with its bin header (3 bytes), the array's (1), the op
 * and its signatures fit the limit of a delegated op. */
_Static_assert(CA_DELEGATION_MAX_DEPTH *(DLG_BYTES_MAX + 3u) + 1u + CA_LEDGER_OP_MAX_BYTES <=
                   CA_LEDGER_DELEGATED_OP_MAX_BYTES,
               "CA_LEDGER_DELEGATED_OP_MAX_BYTES holds the deepest chain");

size_t ca_ledger_delegated_op_max_bytes(void)
{
    return CA_LEDGER_DELEGATED_OP_MAX_BYTES;
}

/*
 * The op's rows, over ca_ledger_op itself, and the signatures' rows, over
 * sig_wire: the op's one description. The signer writes them, the strict
 * decoder reads them, docs/LEDGER.md prints them. A field an op type does not
 * use is absent (WHEN: cai_ledger_type_fields of the type, read first).
 */
typedef struct chain_view {
    const uint8_t *p;
    size_t n;
} chain_view;

typedef struct sig_wire {
    uint32_t type; /* the op's */
    const uint8_t *cosig, *sig;
    size_t chain_count; /* 0: a direct op */
    chain_view chain[CA_DELEGATION_MAX_DEPTH];
} sig_wire;

#define F_COSIG 1u /* signature rows: ESCROW_OPEN carries the worker's cosignature */

static uint32_t op_select(const void *obj)
{
    return cai_ledger_type_fields(((const ca_ledger_op *)obj)->type);
}

static uint32_t sig_select(const void *obj)
{
    return ((const sig_wire *)obj)->type == CA_LEDGER_OP_ESCROW_OPEN ? F_COSIG : 0;
}

static const cai_wire_field op_rows[] = {
    {CAI_WF_U32(0, "type", ca_ledger_op, type), .min = 1, .max = CAI_LEDGER_OP_LAST,
     .rule = "`ca_ledger_op_type`"},
    {CAI_WF_FIXED(1, "signer", ca_ledger_op, signer), .rule = "the agent who signs the op"},
    {CAI_WF_UINT(2, "nonce", ca_ledger_op, nonce), .rule = "the signer's next nonce"},
    {CAI_WF_FIXED(3, "counterparty", ca_ledger_op, counterparty), .presence = CAI_WP_WHEN,
     .when = F_CP},
    {CAI_WF_FIXED(4, "ref", ca_ledger_op, ref), .presence = CAI_WP_WHEN, .when = F_REF},
    {CAI_WF_UINT(5, "amount", ca_ledger_op, amount), .presence = CAI_WP_WHEN, .when = F_AMT},
    {CAI_WF_UINT(6, "amount2", ca_ledger_op, amount2), .presence = CAI_WP_WHEN, .when = F_AMT2},
    {CAI_WF_UINT(7, "deadline", ca_ledger_op, deadline), .presence = CAI_WP_WHEN, .when = F_DL,
     .rule = "ESCROW_OPEN: the award's; SLASH: the task's (EQUIVOCATION, else 0)"},
    {CAI_WF_U32(8, "evidence", ca_ledger_op, evidence), .presence = CAI_WP_WHEN, .when = F_EV,
     .min = CA_LEDGER_EVIDENCE_EQUIVOCATION, .max = CA_LEDGER_EVIDENCE_DISPUTE,
     .rule = "`ca_ledger_evidence`"},
    {CAI_WF_FIXED(9, "result", ca_ledger_op, result), .presence = CAI_WP_WHEN, .when = F_RES,
     .rule = "the RESULT's message id"},
};

static const cai_wire_field chain_elem = {CAI_WF_BIN(12, "delegation", chain_view, p, n), .min = 1,
                                          .max = DLG_BYTES_MAX};

static const cai_wire_field sig_rows[] = {
    {.key = 12,
     .name = "chain",
     .type = CAI_WT_ARRAY,
     .presence = CAI_WP_NONZERO,
     .off = offsetof(sig_wire, chain),
     .aux_off = offsetof(sig_wire, chain_count),
     .stride = sizeof(chain_view),
     .min = 1,
     .max = CA_DELEGATION_MAX_DEPTH,
     .elem = &chain_elem,
     .doc_type = "array (1 .. 8) of bin",
     .rule = "a delegated op only: the encoded delegations, root first (\"Delegation\")"},
    {CAI_WF_REF(14, "cosignature", sig_wire, cosig, 64), .presence = CAI_WP_WHEN, .when = F_COSIG,
     .rule = "ESCROW_OPEN: the worker's consent"},
    {CAI_WF_REF(15, "signature", sig_wire, sig, 64),
     .rule = "the signer's; a delegated op's: the delegate's (the leaf's audience)"},
};

const cai_wire_table cai_ledger_op_table = CAI_WF_TABLE("ledger op", op_rows, op_select);
const cai_wire_table cai_ledger_op_sig_table =
    CAI_WF_TABLE("ledger op signatures", sig_rows, sig_select);

#define N_OP_ROWS (sizeof op_rows / sizeof op_rows[0])

/* A row's value is not zero (the op's rows: fixed bytes, uint64, uint32). */
static inline unsigned row_set(const cai_wire_field *f, const ca_ledger_op *op)
{
    const uint8_t *p = (const uint8_t *)op + f->off;
    uint64_t x = 0, v = 0;
    switch (f->type) {
    case CAI_WT_U32: {
        uint32_t w;
        memcpy(&w, p, sizeof w);
        return w != 0;
    }
    case CAI_WT_UINT:
        memcpy(&v, p, sizeof v);
        return v != 0;
    default:
        for (size_t k = 0; k < f->max; k += sizeof v) {
            memcpy(&v, p + k, sizeof v);
            x |= v;
        }
        return x != 0;
    }
}
_Static_assert(sizeof(ca_agent_id) % 8 == 0 && sizeof(ca_hash) % 8 == 0,
               "row_set reads fixed fields in 8-byte words");

/*
 * Runs over the constant rows (unrolled: each test becomes the plain load of
 * one member), so the apply path pays what a hand-written test of the seven
 * fields would, and the rows stay the one list of the op's fields.
 */
unsigned cai_ledger_op_set_fields(const ca_ledger_op *op)
{
    unsigned bits = 0;
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC unroll 16
#endif
    for (size_t i = 0; i < N_OP_ROWS; i++)
        if (op_rows[i].presence == CAI_WP_WHEN)
            bits |= row_set(&op_rows[i], op) ? op_rows[i].when : 0u;
    return bits;
}

const char *cai_ledger_op_field_name(unsigned bits)
{
    const unsigned low = bits & (~bits + 1u);
    for (size_t i = 0; i < N_OP_ROWS; i++)
        if (op_rows[i].presence == CAI_WP_WHEN && op_rows[i].when == low)
            return op_rows[i].name;
    return "?";
}

/* The op's map entries; every field the type does not use must be zero (one encoding per op). */
static ca_status op_entries(const ca_ledger_op *op, uint32_t *entries)
{
    unsigned set, step;
    ca_status st = cai_ledger_op_carried(op, &set, &step);
    if (st != CA_OK)
        return st;
    *entries = cai_wire_count(&cai_ledger_op_table, op);
    return CA_OK;
}

ca_status cai_ledger_op_encode(const ca_ledger_op *op, uint8_t *out, size_t cap, size_t *len)
{
    uint32_t entries = 0;
    ca_status st = op_entries(op, &entries);
    if (st != CA_OK)
        return st;
    cai_wire_writer w;
    cai_ww_init(&w, out, cap);
    cai_ww_map(&w, entries);
    cai_wire_put(&w, &cai_ledger_op_table, op);
    return cai_ww_finish(&w, len);
}

/* Fills the caller's op (STRUCT RULE: only the fields of the caller's version) from `op`,
 * keeping the caller's version. */
static void put_op(ca_ledger_op *out, const ca_ledger_op *op)
{
    unsigned int version = out->version;
    memcpy(out, op, cai_ledger_op_size(version));
    out->version = version;
}

/* What a signature covers: tag || ledger id || unsigned encoding (|| the leaf's id for a
 * delegated op, `leaf` not NULL). Returns the length. */
static size_t signed_bytes(uint8_t *buf, const char *tag, const ca_hash *ledger, const uint8_t *enc,
                           size_t n, const ca_hash *leaf)
{
    const size_t t = strlen(tag);
    memcpy(buf, tag, t);
    memcpy(buf + t, ledger->bytes, 32);
    memcpy(buf + t + 32, enc, n);
    if (leaf == NULL)
        return t + 32 + n;
    memcpy(buf + t + 32 + n, leaf->bytes, 32);
    return t + 64 + n;
}

#define SIGNED_MAX (TAG_MAX + 64 + CA_LEDGER_OP_MAX_BYTES)

static ca_status sign_tagged(const char *tag, const ca_hash *ledger, const ca_identity *id,
                             const uint8_t *enc, size_t n, const ca_hash *leaf, ca_signature *sig)
{
    uint8_t buf[SIGNED_MAX];
    return cai_identity_sign(id, buf, signed_bytes(buf, tag, ledger, enc, n, leaf), sig);
}

static ca_status verify_tagged(const char *tag, const ca_hash *ledger, const ca_agent_id *who,
                               const uint8_t *enc, size_t n, const ca_hash *leaf,
                               const uint8_t sig[64])
{
    uint8_t buf[SIGNED_MAX];
    ca_signature s;
    memcpy(s.bytes, sig, 64);
    return cai_identity_verify(who, buf, signed_bytes(buf, tag, ledger, enc, n, leaf), &s);
}

/* What the worker's consent covers: the op's unsigned encoding with nonce 0. */
static ca_status consent_encoding(const ca_ledger_op *op, uint8_t *enc, size_t cap, size_t *n)
{
    ca_ledger_op terms;
    cai_ledger_op_in(op, &terms);
    terms.nonce = 0;
    return cai_ledger_op_encode(&terms, enc, cap, n);
}

/* The worker's consent, made by `worker` (the worker's id, or its account's current key);
 * `rotated`: the worker's account has rotated, so a consent by another key is CA_ERR_KEY_ROTATED
 * (ledger.h, KEY ROTATION). */
static ca_status verify_consent(const ca_hash *ledger, const ca_ledger_op *op,
                                const ca_agent_id *worker, const uint8_t cosig[64], int rotated)
{
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_status st = consent_encoding(op, enc, sizeof enc, &n);
    if (st == CA_OK && verify_tagged(consent_tag, ledger, worker, enc, n, NULL, cosig) != CA_OK)
        st = rotated ? cai_fail(CA_ERR_KEY_ROTATED,
                                "worker consent is not by the worker account's current key (its "
                                "key was rotated; an older key consents to nothing)")
                     : cai_fail(CA_ERR_BAD_SIGNATURE,
                                "worker cosignature does not verify (other terms, or another "
                                "ledger)");
    return st;
}

/* Checks that `who` is the identity an op names in `expected`. */
static ca_status require_identity(const ca_identity *who, const ca_agent_id *expected,
                                  const char *what)
{
    ca_agent_id id;
    ca_identity_id(who, &id);
    if (memcmp(id.bytes, expected->bytes, CA_AGENT_ID_BYTES) != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s", what);
    return CA_OK;
}

ca_status ca_ledger_op_escrow_open(ca_ledger_op *op_out, const ca_task_msg *award)
{
    CAI_REQUIRE(op_out);
    CAI_REQUIRE(award);
    CAI_REQUIRE_OP_VERSION(op_out->version);
    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    ca_status st = ca_task_msg_award(award, &aw);
    if (st != CA_OK)
        return st;
    ca_ledger_op op;
    memset(&op, 0, sizeof op);
    op.type = CA_LEDGER_OP_ESCROW_OPEN;
    ca_task_msg_sender(award, &op.signer);
    op.counterparty = aw.worker;
    ca_task_msg_id(award, &op.ref);
    op.amount = aw.price;
    op.amount2 = aw.collateral;
    op.deadline = aw.deadline;
    put_op(op_out, &op);
    return CA_OK;
}

ca_status ca_ledger_op_escrow_deliver(ca_ledger_op *op_out, const ca_task_msg *result)
{
    CAI_REQUIRE(op_out);
    CAI_REQUIRE(result);
    CAI_REQUIRE_OP_VERSION(op_out->version);
    ca_task_result rs = {.version = CA_TASK_RESULT_VERSION};
    ca_status st = ca_task_msg_result(result, &rs);
    if (st != CA_OK)
        return st;
    if (rs.failed)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "a failure report is not a delivery (the worker refunds instead)");
    ca_ledger_op op;
    memset(&op, 0, sizeof op);
    op.type = CA_LEDGER_OP_ESCROW_DELIVER;
    ca_task_msg_sender(result, &op.signer);
    op.ref = rs.award;
    ca_task_msg_id(result, &op.result);
    put_op(op_out, &op);
    return CA_OK;
}

static ca_status cosign(const ca_hash *ledger_id, const ca_ledger_op *op, const ca_identity *worker,
                        int check_id, ca_signature *cosig_out)
{
    CAI_REQUIRE(ledger_id);
    CAI_REQUIRE(op);
    CAI_REQUIRE(worker);
    CAI_REQUIRE(cosig_out);
    CAI_REQUIRE_OP_VERSION(op->version);
    if (op->type != CA_LEDGER_OP_ESCROW_OPEN)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "only ESCROW_OPEN takes a cosignature");
    ca_status st = check_id
                       ? require_identity(worker, &op->counterparty, "cosigner is not the worker")
                       : CA_OK;
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    if (st == CA_OK)
        st = consent_encoding(op, enc, sizeof enc, &n);
    if (st == CA_OK)
        st = sign_tagged(consent_tag, ledger_id, worker, enc, n, NULL, cosig_out);
    return st;
}

ca_status ca_ledger_op_cosign(const ca_hash *ledger_id, const ca_ledger_op *op,
                              const ca_identity *worker, ca_signature *cosig_out)
{
    return cosign(ledger_id, op, worker, 1, cosig_out);
}

ca_status ca_ledger_op_cosign_with_key(const ca_hash *ledger_id, const ca_ledger_op *op,
                                       const ca_identity *key, ca_signature *cosig_out)
{
    return cosign(ledger_id, op, key, 0, cosig_out);
}

/* Signs with `signer` (checked by the caller); the consent is checked against `worker`. */
static ca_status sign_op(const ca_hash *ledger_id, const ca_ledger_op *op,
                         const ca_identity *signer, const ca_signature *cosig,
                         const ca_agent_id *worker, uint8_t *out, size_t out_cap, size_t *out_len);

ca_status ca_ledger_op_sign_cosigned(const ca_hash *ledger_id, const ca_ledger_op *op,
                                     const ca_identity *signer, const ca_signature *cosig,
                                     uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(ledger_id);
    CAI_REQUIRE(op);
    CAI_REQUIRE(signer);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE_OP_VERSION(op->version);
    ca_status st = require_identity(signer, &op->signer, "signer identity is not op->signer");
    if (st != CA_OK)
        return st;
    return sign_op(ledger_id, op, signer, cosig, &op->counterparty, out, out_cap, out_len);
}

ca_status ca_ledger_op_sign_with_key(const ca_hash *ledger_id, const ca_ledger_op *op,
                                     const ca_identity *key, const ca_signature *cosig,
                                     const ca_agent_id *worker_key, uint8_t *out, size_t out_cap,
                                     size_t *out_len)
{
    CAI_REQUIRE(ledger_id);
    CAI_REQUIRE(op);
    CAI_REQUIRE(key);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE_OP_VERSION(op->version);
    return sign_op(ledger_id, op, key, cosig, worker_key ? worker_key : &op->counterparty, out,
                   out_cap, out_len);
}

static ca_status sign_op(const ca_hash *ledger_id, const ca_ledger_op *op,
                         const ca_identity *signer, const ca_signature *cosig,
                         const ca_agent_id *worker, uint8_t *out, size_t out_cap, size_t *out_len)
{
    ca_status st;
    int open = op->type == CA_LEDGER_OP_ESCROW_OPEN;
    if (open && cosig == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "ESCROW_OPEN needs the worker's cosignature");
    if (!open && cosig != NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "only ESCROW_OPEN takes a cosignature");
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    if ((st = cai_ledger_op_encode(op, enc, sizeof enc, &n)) != CA_OK)
        return st;
    /* A consent that does not verify is refused here, not by every replica later. */
    if (open && (st = verify_consent(ledger_id, op, worker, cosig->bytes, 0)) != CA_OK)
        return st;
    ca_signature sig;
    if ((st = sign_tagged(sig_tag, ledger_id, signer, enc, n, NULL, &sig)) != CA_OK)
        return st;
    return cai_ledger_op_encode_signed(op, sig.bytes, open ? cosig->bytes : NULL, out, out_cap,
                                       out_len);
}

ca_status cai_ledger_op_encode_signed(const ca_ledger_op *op, const uint8_t sig[64],
                                      const uint8_t *cosig, uint8_t *out, size_t out_cap,
                                      size_t *out_len)
{
    return cai_ledger_op_encode_signed_chain(op, sig, cosig, NULL, NULL, 0, out, out_cap, out_len);
}

ca_status cai_ledger_op_encode_signed_chain(const ca_ledger_op *op, const uint8_t sig[64],
                                            const uint8_t *cosig, const uint8_t *const *chain,
                                            const size_t *lens, size_t count, uint8_t *out,
                                            size_t out_cap, size_t *out_len)
{
    uint32_t entries = 0;
    ca_status st = op_entries(op, &entries);
    if (st != CA_OK)
        return st;
    if ((cosig != NULL) != (op->type == CA_LEDGER_OP_ESCROW_OPEN))
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "a cosignature goes with ESCROW_OPEN and with nothing else");
    if (count > CA_DELEGATION_MAX_DEPTH)
        return cai_fail(CA_ERR_LIMIT, "a chain of %zu delegations exceeds %u", count,
                        CA_DELEGATION_MAX_DEPTH);
    cai_wire_writer w;
    cai_ww_init(&w, out, out_cap);
    sig_wire x;
    memset(&x, 0, sizeof x);
    x.type = op->type;
    x.cosig = cosig;
    x.sig = sig;
    x.chain_count = count;
    for (size_t i = 0; i < count; i++)
        x.chain[i] = (chain_view){chain[i], lens[i]};
    cai_ww_map(&w, entries + cai_wire_count(&cai_ledger_op_sig_table, &x));
    cai_wire_put(&w, &cai_ledger_op_table, op);
    cai_wire_put(&w, &cai_ledger_op_sig_table, &x);
    return cai_ww_finish(&w, out_len);
}

ca_status ca_ledger_op_sign(const ca_hash *ledger_id, const ca_ledger_op *op,
                            const ca_identity *signer, const ca_identity *cosigner, uint8_t *out,
                            size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(ledger_id);
    CAI_REQUIRE(op);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE_OP_VERSION(op->version);
    if (op->type != CA_LEDGER_OP_ESCROW_OPEN) {
        if (cosigner != NULL)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "only ESCROW_OPEN takes a cosigner");
        return ca_ledger_op_sign_cosigned(ledger_id, op, signer, NULL, out, out_cap, out_len);
    }
    if (cosigner == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "ESCROW_OPEN needs the worker as cosigner");
    ca_signature cosig;
    ca_status st = ca_ledger_op_cosign(ledger_id, op, cosigner, &cosig);
    if (st == CA_OK)
        st = ca_ledger_op_sign_cosigned(ledger_id, op, signer, &cosig, out, out_cap, out_len);
    return st;
}

/* Decodes each link of a chain strictly into d (count 0 on failure). */
static ca_status decode_chain(const sig_wire *x, cai_dlg_ctx *d, ca_hash *leaf)
{
    d->count = 0;
    for (size_t i = 0; i < x->chain_count; i++) {
        ca_status st = ca_delegation_decode(&d->links[i], x->chain[i].p, x->chain[i].n);
        if (st != CA_OK) {
            cai_dlg_ctx_free(d);
            return cai_fail(CA_ERR_MALFORMED,
                            "malformed ledger op: delegation %zu of its chain: %s (%s)", i,
                            ca_status_str(st), ca_last_error());
        }
        d->count = i + 1;
    }
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    cai_dlg_info(d->links[d->count - 1], &info);
    *leaf = info.id;
    return CA_OK;
}

/*
 * Strict decoder. `want_sig`: 1 for signed bytes (key 15 required, key 14
 * exactly for ESCROW_OPEN, key 12 for a delegated op), 0 for the unsigned
 * encoding (none of them). Writes *op, *sig and *cosig only on success; a
 * delegated op's links go to *chain (NULL: decoded, then freed), count 0 for
 * a direct op.
 */
static ca_status decode(const uint8_t *msg, size_t len, int want_sig, ca_ledger_op *op,
                        const uint8_t **sig, const uint8_t **cosig, cai_dlg_ctx *chain)
{
    if (len > CA_LEDGER_DELEGATED_OP_MAX_BYTES)
        return cai_fail(CA_ERR_LIMIT, "ledger op of %zu bytes exceeds %u", len,
                        CA_LEDGER_DELEGATED_OP_MAX_BYTES);
    ca_ledger_op v;
    memset(&v, 0, sizeof v);
    v.version = CA_LEDGER_OP_VERSION;
    sig_wire x;
    memset(&x, 0, offsetof(sig_wire, chain)); /* the array decoder clears each element */
    cai_wire_dec d;
    cai_wire_map m;
    cai_wd_init(&d, msg, len);
    cai_wd_map(&d, &m);
    cai_wd_fields(&d, &m, &cai_ledger_op_table, &v);
    if (want_sig) {
        x.type = v.type;
        cai_wd_fields(&d, &m, &cai_ledger_op_sig_table, &x);
    }
    cai_wd_map_end(&d, &m);
    ca_status st = cai_wd_finish(&d);
    if (st != CA_OK)
        return st;
    if (!cai_ledger_op_known(v.type))
        return cai_fail(CA_ERR_MALFORMED, "unknown ledger op type %u", v.type);
    if (x.chain_count == 0 && len > CA_LEDGER_OP_MAX_BYTES)
        return cai_fail(CA_ERR_LIMIT, "ledger op of %zu bytes without a chain exceeds %u", len,
                        CA_LEDGER_OP_MAX_BYTES);
    if (x.chain_count > 0) {
        cai_dlg_ctx local = {.count = 0}; /* the links decoded to be checked, then freed */
        cai_dlg_ctx *dc = chain != NULL ? chain : &local;
        if ((st = decode_chain(&x, dc, &v.delegation)) != CA_OK)
            return st;
        if (chain == NULL)
            cai_dlg_ctx_free(dc);
    } else if (chain != NULL) {
        chain->count = 0;
    }
    *op = v;
    *sig = x.sig;
    *cosig = x.cosig;
    return CA_OK;
}

ca_status cai_ledger_op_decode_signed(const uint8_t *msg, size_t len, ca_ledger_op *op,
                                      const uint8_t **sig, const uint8_t **cosig,
                                      cai_dlg_ctx *chain)
{
    const uint8_t *s = NULL, *c = NULL;
    if (chain != NULL)
        chain->count = 0;
    ca_status st = decode(msg, len, sig != NULL, op, &s, &c, chain);
    if (st == CA_OK && sig)
        *sig = s;
    if (st == CA_OK && cosig)
        *cosig = c;
    return st;
}

ca_status ca_ledger_op_decode(const uint8_t *msg, size_t msg_len, ca_ledger_op *op_out)
{
    CAI_REQUIRE(msg);
    CAI_REQUIRE(op_out);
    CAI_REQUIRE_OP_VERSION(op_out->version);
    const uint8_t *s, *c;
    ca_ledger_op op;
    ca_status st = decode(msg, msg_len, 1, &op, &s, &c, NULL);
    if (st == CA_OK)
        put_op(op_out, &op);
    return st;
}

/* The keys that sign for an op's parties, and whether their accounts have rotated. */
typedef struct op_keys {
    const ca_agent_id *signer, *worker;
    int signer_rotated, worker_rotated;
} op_keys;

/* Verifies signatures of decoded signed bytes for the ledger `ledger` with the keys `k`; a
 * delegated op's (chain count > 0) is the leaf's audience's over the delegated tag and the
 * leaf's id. */
static ca_status verify_decoded(const ca_hash *ledger, const ca_ledger_op *op, const uint8_t *sig,
                                const uint8_t *cosig, const cai_dlg_ctx *chain, const op_keys *k)
{
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_status st = cai_ledger_op_encode(op, enc, sizeof enc, &n);
    if (st != CA_OK)
        return st;
    if (chain->count > 0) {
        ca_delegation_info leaf = {.version = CA_DELEGATION_INFO_VERSION};
        cai_dlg_info(chain->links[chain->count - 1], &leaf);
        if (verify_tagged(delegated_tag, ledger, &leaf.audience, enc, n, &leaf.id, sig) != CA_OK)
            return cai_fail(CA_ERR_BAD_SIGNATURE,
                            "delegated ledger op signature does not verify (not by the leaf's "
                            "audience, tampered, or signed for another ledger id)");
    } else if (verify_tagged(sig_tag, ledger, k->signer, enc, n, NULL, sig) != CA_OK) {
        return k->signer_rotated
                   ? cai_fail(CA_ERR_KEY_ROTATED,
                              "ledger op is not signed by the account's current key (its key was "
                              "rotated; an older key signs nothing for it)")
                   : cai_fail(CA_ERR_BAD_SIGNATURE,
                              "ledger op signature does not verify (tampered, or signed for "
                              "another ledger id)");
    }
    return cosig != NULL ? verify_consent(ledger, op, k->worker, cosig, k->worker_rotated) : CA_OK;
}

ca_status ca_ledger_op_verify(const ca_hash *ledger_id, const uint8_t *msg, size_t msg_len)
{
    CAI_REQUIRE(ledger_id);
    CAI_REQUIRE(msg);
    ca_ledger_op op;
    const uint8_t *s, *c;
    cai_dlg_ctx chain;
    ca_status st = decode(msg, msg_len, 1, &op, &s, &c, &chain);
    if (st == CA_OK) {
        const op_keys k = {&op.signer, &op.counterparty, 0, 0};
        st = verify_decoded(ledger_id, &op, s, c, &chain, &k);
        cai_dlg_ctx_free(&chain);
    }
    return st;
}

/* The delegation of a chain link's encoded bytes (for the signer's checks). */
ca_status ca_ledger_op_sign_delegated(const ca_hash *ledger_id, const ca_ledger_op *op,
                                      const ca_identity *delegate, const ca_signature *cosig,
                                      const uint8_t *const *chain, const size_t *chain_lens,
                                      size_t count, uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(ledger_id);
    CAI_REQUIRE(op);
    CAI_REQUIRE(delegate);
    CAI_REQUIRE(chain);
    CAI_REQUIRE(chain_lens);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    if (count == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a delegated op carries a chain of 1 or more");
    CAI_REQUIRE_OP_VERSION(op->version);
    if (count > CA_DELEGATION_MAX_DEPTH)
        return cai_fail(CA_ERR_LIMIT, "a chain of %zu delegations exceeds %u", count,
                        CA_DELEGATION_MAX_DEPTH);
    ca_ledger_op v;
    cai_ledger_op_in(op, &v);
    if (cai_ledger_delegated_capability(v.type) == NULL)
        return cai_fail(CA_ERR_LEDGER_UNAUTHORIZED,
                        "op type %u cannot be signed under a delegation", v.type);
    for (size_t i = 0; i < count; i++)
        if (chain[i] == NULL || chain_lens[i] > DLG_BYTES_MAX)
            return cai_fail(chain[i] == NULL ? CA_ERR_INVALID_ARGUMENT : CA_ERR_LIMIT,
                            "chain link %zu is missing or longer than a delegation can be", i);
    cai_dlg_ctx d;
    d.count = 0;
    ca_status st = CA_OK;
    for (size_t i = 0; i < count && st == CA_OK; i++)
        if ((st = ca_delegation_decode(&d.links[i], chain[i], chain_lens[i])) == CA_OK)
            d.count = i + 1;
    ca_delegation_info leaf = {.version = CA_DELEGATION_INFO_VERSION};
    ca_agent_id me;
    static const uint8_t zero[32];
    if (st == CA_OK) {
        cai_dlg_info(d.links[count - 1], &leaf);
        ca_identity_id(delegate, &me);
        /* The root's issuer is not checked against op->signer: after a rotation it is the
         * account's current key, which only the ledger knows (D2). */
        if (!cai_eq32(leaf.audience.bytes, me.bytes))
            st = cai_fail(CA_ERR_INVALID_ARGUMENT, "the chain's leaf is not for this delegate");
        else if (!cai_eq32(v.delegation.bytes, zero) &&
                 !cai_eq32(v.delegation.bytes, leaf.id.bytes))
            st = cai_fail(CA_ERR_INVALID_ARGUMENT, "op->delegation is not the chain's leaf");
        else if ((cosig != NULL) != (v.type == CA_LEDGER_OP_ESCROW_OPEN))
            st = cai_fail(CA_ERR_INVALID_ARGUMENT,
                          "ESCROW_OPEN takes the worker's cosignature, other types none");
    }
    cai_dlg_ctx_free(&d);
    if (st != CA_OK)
        return st;
    memset(v.delegation.bytes, 0, sizeof v.delegation.bytes);
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    if ((st = cai_ledger_op_encode(&v, enc, sizeof enc, &n)) != CA_OK)
        return st;
    if (cosig != NULL &&
        (st = verify_consent(ledger_id, &v, &v.counterparty, cosig->bytes, 0)) != CA_OK)
        return st;
    ca_signature sig;
    if ((st = sign_tagged(delegated_tag, ledger_id, delegate, enc, n, &leaf.id, &sig)) != CA_OK)
        return st;
    return cai_ledger_op_encode_signed_chain(&v, sig.bytes, cosig != NULL ? cosig->bytes : NULL,
                                             chain, chain_lens, count, out, out_cap, out_len);
}

size_t ca_ledger_evidence_max_bytes(void)
{
    return CA_LEDGER_EVIDENCE_MAX_BYTES;
}

static int is_equivocation(const ca_ledger_op *op)
{
    return op->type == CA_LEDGER_OP_SLASH && op->evidence == CA_LEDGER_EVIDENCE_EQUIVOCATION;
}

/* Equivocation evidence: it verifies, names op's offender, op.ref as its offense key and
 * op.deadline as its task's deadline (the offense time of the evidence window). */
static ca_status check_equivocation(const ca_ledger_op *op, const uint8_t *ev, size_t ev_len,
                                    const ca_agent_id *offender_key, int rotated)
{
    /* ref is the offense key (agent, task, kind): one slash per offense, whatever the pair. */
    ca_evidence *evo = NULL;
    if (ca_evidence_open(&evo, ev, ev_len) != CA_OK)
        return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "equivocation evidence does not verify");
    ca_agent_id offender;
    ca_hash offense;
    ca_evidence_offender(evo, &offender);
    ca_evidence_offense(evo, &offense);
    uint64_t deadline = ca_evidence_deadline(evo);
    ca_evidence_free(evo);
    if (rotated && memcmp(offender.bytes, offender_key->bytes, 32) != 0)
        return cai_fail(CA_ERR_KEY_ROTATED,
                        "the evidence is not signed by the offender account's current key (its "
                        "key was rotated)");
    if (memcmp(offender.bytes, offender_key->bytes, 32) != 0 ||
        memcmp(offense.bytes, op->ref.bytes, 32) != 0)
        return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                        "evidence names another offender or another offense than ref");
    if (deadline != op->deadline)
        return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                        "the evidence's task deadline %llu is not the op's deadline %llu",
                        (unsigned long long)deadline, (unsigned long long)op->deadline);
    return CA_OK;
}

/*
 * A DELIVER's RESULT: a signed RESULT envelope (verified at its own
 * created_at) with an output, by the op's signer, for the award op.ref, whose
 * message id is op.result. *created_at receives its creation time.
 */
static ca_status check_result(const ca_ledger_op *op, const uint8_t *bytes, size_t len,
                              const op_keys *k, uint64_t *created_at)
{
    ca_envelope *env = NULL;
    ca_task_msg *msg = NULL;
    ca_status st = ca_envelope_decode(&env, bytes, len, NULL);
    if (st == CA_OK)
        st = ca_envelope_verify(env, ca_envelope_created_at(env), NULL);
    if (st == CA_OK && ca_envelope_kind(env) != CA_KIND_TASK_RESULT)
        st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "a delivery carries a RESULT, not kind %u",
                      ca_envelope_kind(env));
    else if (st != CA_OK)
        st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "the RESULT does not decode or verify (%s)",
                      ca_status_str(st));
    if (st == CA_OK && ca_task_msg_parse(&msg, env, NULL) != CA_OK)
        st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "the RESULT's body does not parse");
    ca_task_result rs = {.version = CA_TASK_RESULT_VERSION};
    if (st == CA_OK && ca_task_msg_result(msg, &rs) != CA_OK)
        st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "not a RESULT");
    if (st == CA_OK) {
        ca_agent_id sender;
        ca_hash id;
        ca_task_msg_sender(msg, &sender);
        ca_task_msg_id(msg, &id);
        /* The parser has checked that the envelope's parent is the body's award. */
        if (rs.failed)
            st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                          "the RESULT is a failure report, not a delivery");
        else if (memcmp(sender.bytes, k->signer->bytes, 32) != 0)
            st = k->signer_rotated
                     ? cai_fail(CA_ERR_KEY_ROTATED, "the RESULT is not signed by the worker "
                                                    "account's current key (its key was rotated)")
                     : cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                                "the RESULT is not signed by the op's signer");
        else if (memcmp(rs.award.bytes, op->ref.bytes, 32) != 0)
            st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "the RESULT answers another award");
        else if (memcmp(id.bytes, op->result.bytes, 32) != 0)
            st = cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "the RESULT's message id is not op.result");
        else
            *created_at = ca_task_msg_created_at(msg);
    }
    ca_task_msg_free(msg);
    ca_envelope_free(env);
    return st;
}

static ca_status submit_decoded(ca_ledger *l, const ca_ledger_op *opp, const uint8_t *s,
                                const uint8_t *c, cai_dlg_ctx *chain, const uint8_t *msg,
                                size_t msg_len, const uint8_t *att, size_t att_len, uint64_t now,
                                uint64_t pos);

/* Decode, signatures, attachment (when given), apply, journal (with log position `pos`). */
ca_status cai_ledger_submit(ca_ledger *l, const uint8_t *msg, size_t msg_len, const uint8_t *att,
                            size_t att_len, uint64_t now, uint64_t pos)
{
    ca_ledger_op op;
    const uint8_t *s, *c;
    cai_dlg_ctx chain;
    ca_status st = decode(msg, msg_len, 1, &op, &s, &c, &chain);
    if (st != CA_OK)
        return st;
    st = submit_decoded(l, &op, s, c, &chain, msg, msg_len, att, att_len, now, pos);
    cai_dlg_ctx_free(&chain);
    return st;
}

static ca_status submit_decoded(ca_ledger *l, const ca_ledger_op *opp, const uint8_t *s,
                                const uint8_t *c, cai_dlg_ctx *chain, const uint8_t *msg,
                                size_t msg_len, const uint8_t *att, size_t att_len, uint64_t now,
                                uint64_t pos)
{
    const ca_ledger_op op = *opp;
    ca_status st = CA_OK;
    /* Who signs (ledger.h, KEY ROTATION): a KEY_EVENT the key its event establishes, any other
     * op the current keys of the accounts it names. */
    op_keys k = {&op.signer, &op.counterparty, 0, 0};
    ca_key_event_info kev;
    const int key_event = op.type == CA_LEDGER_OP_KEY_EVENT;
    if (key_event) {
        if (att == NULL)
            return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                            "a KEY_EVENT needs its event attached (ca_ledger_submit_evidence)");
        if ((st = cai_ledger_key_event_open(att, att_len, &kev)) != CA_OK)
            return st;
        k.signer = &kev.key;
    } else {
        k.signer = cai_ledger_signing_key(l, &op.signer, &k.signer_rotated);
        if (c != NULL || is_equivocation(&op))
            k.worker = cai_ledger_signing_key(l, &op.counterparty, &k.worker_rotated);
    }
    if ((st = verify_decoded(&l->id, &op, s, c, chain, &k)) != CA_OK)
        return st;
    int deliver = op.type == CA_LEDGER_OP_ESCROW_DELIVER;
    if (att == NULL && is_equivocation(&op))
        return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                        "an equivocation slash needs its evidence (ca_ledger_submit_evidence)");
    if (att == NULL && deliver)
        return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE,
                        "a delivery needs its RESULT attached (ca_ledger_submit_evidence)");
    uint64_t result_at = 0;
    if (att != NULL && !key_event) {
        if (!is_equivocation(&op) && !deliver)
            return cai_fail(CA_ERR_INVALID_ARGUMENT,
                            "only equivocation slashes and deliveries carry an attachment");
        if (att_len > CA_LEDGER_EVIDENCE_MAX_BYTES)
            return cai_fail(CA_ERR_LIMIT, "attachment of %zu bytes exceeds %u", att_len,
                            CA_LEDGER_EVIDENCE_MAX_BYTES);
        st = deliver ? check_result(&op, att, att_len, &k, &result_at)
                     : check_equivocation(&op, att, att_len, k.worker, k.worker_rotated);
        if (st != CA_OK)
            return st;
    }
    if (l->store != NULL && (st = cai_store_reserve(l, 4 + msg_len + att_len)) != CA_OK)
        return st;
    st = key_event                ? cai_ledger_apply_key_event(l, &op, &kev, now, pos)
         : chain->count > 0       ? cai_ledger_apply_delegated(l, &op, now, chain)
         : att != NULL && deliver ? cai_ledger_apply_delivery(l, &op, now, result_at)
                                  : cai_ledger_apply_op(l, &op, now);
    if (st != CA_OK)
        return st;
    if (l->store != NULL) {
        if (att == NULL) {
            cai_store_append(l, CAI_REC_SIGNED, msg, msg_len, now, pos);
        } else {
            cai_store_append2(l, CAI_REC_EVIDENCE, msg, msg_len, att, att_len, now, pos);
        }
    }
    return CA_OK;
}

ca_status ca_ledger_submit(ca_ledger *l, const uint8_t *msg, size_t msg_len, uint64_t now,
                           uint64_t *seq_out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(msg);
    ca_status st = cai_ledger_submit(l, msg, msg_len, NULL, 0, now, 0);
    if (st != CA_OK)
        return st;
    if (seq_out)
        *seq_out = l->seq;
    return CA_OK;
}

ca_status ca_ledger_submit_evidence(ca_ledger *l, const uint8_t *msg, size_t msg_len,
                                    const uint8_t *evidence, size_t evidence_len, uint64_t now,
                                    uint64_t *seq_out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(msg);
    CAI_REQUIRE(evidence);
    ca_status st = cai_ledger_submit(l, msg, msg_len, evidence, evidence_len, now, 0);
    if (st != CA_OK)
        return st;
    if (seq_out)
        *seq_out = l->seq;
    return CA_OK;
}

/* A version 1 op (no delegation field) as this build's layout; out of the hot path, so the
 * copy's stack space is not every op's. */
static __attribute__((cold, noinline)) ca_status
apply_trusted_v1(ca_ledger *l, const ca_ledger_op *op, uint64_t now, uint64_t pos)
{
    ca_ledger_op newer;
    cai_ledger_op_in(op, &newer); /* delegation all zero */
    newer.version = CA_LEDGER_OP_VERSION;
    return cai_ledger_apply_trusted(l, &newer, now, pos);
}

ca_status cai_ledger_apply_trusted(ca_ledger *l, const ca_ledger_op *op, uint64_t now, uint64_t pos)
{
    if (op->version < CA_LEDGER_OP_VERSION)
        return apply_trusted_v1(l, op, now, pos);
    uint64_t w[4];
    memcpy(w, op->delegation.bytes, sizeof w);
    if ((w[0] | w[1] | w[2] | w[3]) != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "a trusted op names a delegation: only signed bytes carry a chain "
                        "(ca_ledger_submit)");
    if (l->store == NULL)
        return cai_ledger_apply_op(l, op, now);
    uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    ca_status st;
    if ((st = cai_ledger_op_encode(op, enc, sizeof enc, &n)) || (st = cai_store_reserve(l, n)) ||
        (st = cai_ledger_apply_op(l, op, now)))
        return st;
    cai_store_append(l, CAI_REC_TRUSTED, enc, n, now, pos);
    return CA_OK;
}

ca_status ca_ledger_apply(ca_ledger *l, const ca_ledger_op *op, uint64_t now, uint64_t *seq_out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(op);
    CAI_REQUIRE_OP_VERSION(op->version);
    ca_status st = cai_ledger_apply_trusted(l, op, now, 0);
    if (st != CA_OK)
        return st;
    if (seq_out)
        *seq_out = l->seq;
    return CA_OK;
}

ca_status ca_ledger_apply_batch(ca_ledger *l, const ca_ledger_op *ops, size_t n, uint64_t now,
                                ca_status *results, size_t *applied)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(results);
    if (n > 0) {
        CAI_REQUIRE(ops);
        /* ops[0]'s version names the array's layout (version 1: stride sizeof(ca_ledger_op));
         * ca_ledger_apply refuses an op of another version in its own result. */
        CAI_REQUIRE_OP_VERSION(ops[0].version);
    }
    /* Index slots are fetched AHEAD ops ahead, records AHEAD / 2 ahead. */
    enum { AHEAD = 16 };
    uint32_t pos[AHEAD][2];
    size_t ok = 0;
    /* The array's stride is the size of ops[0]'s version (STRUCT RULE). */
    const size_t stride = n > 0 ? cai_ledger_op_size(ops[0].version) : 0;
#define OP_AT(i) ((const ca_ledger_op *)(const void *)((const uint8_t *)ops + (i)*stride))
    for (size_t i = 0; i < n && i < AHEAD; i++)
        cai_ledger_prefetch_slots(l, OP_AT(i), pos[i % AHEAD]);
    for (size_t i = 0; i < n && i < AHEAD / 2; i++)
        cai_ledger_prefetch_records(l, pos[i % AHEAD]);
    for (size_t i = 0; i < n; i++) {
        if (i + AHEAD / 2 < n)
            cai_ledger_prefetch_records(l, pos[(i + AHEAD / 2) % AHEAD]);
        const ca_ledger_op *op = OP_AT(i);
        /* ca_ledger_apply's checks hold for every op of the array: ops[0]'s version is
         * checked above and each op's is compared with it. */
        results[i] =
            op->version == ops[0].version
                ? cai_ledger_apply_trusted(l, op, now, 0)
                : cai_fail(CA_ERR_UNSUPPORTED, "ledger op %zu has version %u, the batch's is %u", i,
                           op->version, ops[0].version);
        ok += results[i] == CA_OK;
        /* pos[i % AHEAD] is free again: fill it for op i + AHEAD. */
        if (i + AHEAD < n)
            cai_ledger_prefetch_slots(l, OP_AT(i + AHEAD), pos[i % AHEAD]);
    }
#undef OP_AT
    if (applied)
        *applied = ok;
    return CA_OK;
}
