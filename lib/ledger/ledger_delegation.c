/*
 * Spending through a delegation (ledger.h, DELEGATION; docs/LEDGER.md,
 * "Delegation"): the checks of a delegated op, the per-delegation records
 * (spent, nonce, expiry) and the REVOKE records, all part of the replicated
 * state.
 *
 * Both kinds of record are found through lib/core's keyed id map (a
 * revocation by its 64-byte key, delegation id then revoker, through the
 * map's cursor), kept in dense arrays (a dropped record's hole is filled by
 * the last one) and dropped through the ledger's expiry heap once the
 * horizon passes their time, O(log n) each. Their hashes enter the state
 * hash sum as they change: an op touches at most CA_DELEGATION_MAX_DEPTH
 * records, each hashed twice at most.
 */
#include <stdlib.h>

#include <sodium.h>

#include "core/array.h"
#include "ledger/ledger_ops.h"

/* ---------------------------------------------------------------- records */

ca_status cai_ledger_dlg_init(ca_ledger *l)
{
    ca_status st = cai_idmap_init(&l->dlg_index, l->opts.max_delegation_records);
    if (st == CA_OK && (st = cai_idmap_init(&l->rev_index, l->opts.max_delegation_records)))
        cai_idmap_free(&l->dlg_index);
    return st;
}

void cai_ledger_dlg_free(ca_ledger *l)
{
    free(l->dlg);
    cai_idmap_free(&l->dlg_index);
    free(l->rev);
    cai_idmap_free(&l->rev_index);
}

size_t cai_ledger_dlg_memory(const ca_ledger *l)
{
    return (size_t)l->cap_dlg * sizeof(cai_dlg_rec) + cai_idmap_memory_bytes(&l->dlg_index) +
           (size_t)l->cap_rev * sizeof(cai_rev_rec) + cai_idmap_memory_bytes(&l->rev_index);
}

void cai_dlg_ctx_free(cai_dlg_ctx *d)
{
    for (size_t i = 0; i < d->count; i++)
        ca_delegation_free(d->links[i]);
    d->count = 0;
}

void cai_dlg_info(const ca_delegation *d, ca_delegation_info *out)
{
    out->version = CA_DELEGATION_INFO_VERSION;
    if (ca_delegation_get(d, out) != CA_OK)
        memset(out, 0, sizeof *out);
}

const char *cai_ledger_delegated_capability(uint32_t type)
{
    switch (type) {
    case CA_LEDGER_OP_TRANSFER:
        return CA_LEDGER_CAPABILITY_TRANSFER;
    case CA_LEDGER_OP_ESCROW_OPEN:
    case CA_LEDGER_OP_ESCROW_RELEASE:
    case CA_LEDGER_OP_ESCROW_REFUND:
        return CA_LEDGER_CAPABILITY_ESCROW;
    default:
        return NULL;
    }
}

/* Record hashes (docs/LEDGER.md, "State hash"). */
static void dlg_digest(const cai_dlg_rec *r, uint8_t out[32])
{
    uint8_t buf[8 + 32 + 32];
    memcpy(buf, "dlgrec\0\0", 8);
    memcpy(buf + 8, r->id.bytes, 32);
    cai_store_le64(buf + 40, r->spent);
    cai_store_le64(buf + 48, r->total_cap);
    cai_store_le64(buf + 56, r->nonce);
    cai_store_le64(buf + 64, r->expires_at);
    crypto_generichash(out, 32, buf, sizeof buf, NULL, 0);
}

static void rev_digest(const cai_rev_rec *r, uint8_t out[32])
{
    uint8_t buf[8 + 64 + 8];
    memcpy(buf, "revoke\0\0", 8);
    memcpy(buf + 8, r->id.bytes, 32);
    memcpy(buf + 40, r->revoker.bytes, 32);
    cai_store_le64(buf + 72, r->until);
    crypto_generichash(out, 32, buf, sizeof buf, NULL, 0);
}

static void dlg_hash(ca_ledger *l, const cai_dlg_rec *r, int negate)
{
    uint8_t d[32];
    dlg_digest(r, d);
    cai_ledger_sum_add(l->hsum, d, negate);
}

static void rev_hash(ca_ledger *l, const cai_rev_rec *r, int negate)
{
    uint8_t d[32];
    rev_digest(r, d);
    cai_ledger_sum_add(l->hsum, d, negate);
}

static uint32_t dlg_find(const ca_ledger *l, const ca_hash *id)
{
    return cai_idmap_find(&l->dlg_index, l->dlg, sizeof(cai_dlg_rec), id->bytes);
}

_Static_assert(offsetof(cai_rev_rec, revoker) == CA_HASH_BYTES, "revocation key is contiguous");

static uint64_t rev_key_hash(const ca_ledger *l, const ca_hash *id, const ca_agent_id *revoker,
                             uint8_t key[64])
{
    memcpy(key, id->bytes, 32);
    memcpy(key + 32, revoker->bytes, 32);
    return cai_idmap_hash_bytes(&l->rev_index, key, 64);
}

uint32_t cai_ledger_rev_find(const ca_ledger *l, const ca_hash *id, const ca_agent_id *revoker)
{
    if (l->n_rev == 0)
        return CAI_NONE;
    uint8_t key[64];
    cai_idmap_cursor c = cai_idmap_cursor_start(&l->rev_index, rev_key_hash(l, id, revoker, key));
    for (uint32_t i; (i = cai_idmap_cursor_next(&l->rev_index, &c)) != CAI_IDMAP_NONE;)
        if (memcmp(l->rev[i].id.bytes, key, 32) == 0 &&
            memcmp(l->rev[i].revoker.bytes, key + 32, 32) == 0)
            return i;
    return CAI_NONE;
}

/* ---------------------------------------------------------------- checks */

/* The chain verifier's revocation lookup: the REVOKE records applied so far. */
/* A link's issuer is a key; a REVOKE is filed under its signer's account. So the issuer's
 * revocation is the one filed under the key itself, or under the account it is the current
 * key of (a rotated revoker's). */
static int rev_lookup(void *ctx, const ca_hash *delegation, const ca_agent_id *revoker)
{
    const ca_ledger *l = ctx;
    if (cai_ledger_rev_find(l, delegation, revoker) != CAI_NONE)
        return 1;
    ca_agent_id account;
    return cai_ledger_account_of_key(l, revoker, &account, NULL) == CAI_KEY_SIGNS &&
           !cai_eq32(account.bytes, revoker->bytes) &&
           cai_ledger_rev_find(l, delegation, &account) != CAI_NONE;
}

ca_status cai_ledger_dlg_check(ca_ledger *l, cai_dlg_ctx *d, const ca_ledger_op *op, uint64_t now)
{
    const uint64_t t = now > l->horizon ? now : l->horizon;
    const uint64_t life = l->opts.max_delegation_lifetime;
    const size_t n = d->count;
    /* D1 */
    const char *cap = cai_ledger_delegated_capability(op->type);
    if (cap == NULL)
        return cai_fail(CA_ERR_LEDGER_UNAUTHORIZED,
                        "op type %u cannot be signed under a delegation (TRANSFER, ESCROW_OPEN, "
                        "ESCROW_RELEASE and ESCROW_REFUND can)",
                        op->type);
    if (n == 0 || n > CA_DELEGATION_MAX_DEPTH) /* the decoder's bounds; said for the compiler */
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a delegated op carries 1 .. %u links",
                        CA_DELEGATION_MAX_DEPTH);
    ca_delegation_info info[CA_DELEGATION_MAX_DEPTH];
    for (size_t i = 0; i < n; i++) {
        info[i].version = CA_DELEGATION_INFO_VERSION;
        cai_dlg_info(d->links[i], &info[i]);
    }
    /* D2: the root is issued by the key that signs for the delegator's account now (its id, or
     * its current key after a rotation: a chain the replaced key issued spends nothing). */
    int rotated = 0;
    const ca_agent_id *issuer = cai_ledger_signing_key(l, &op->signer, &rotated);
    if (!cai_eq32(info[0].issuer.bytes, issuer->bytes))
        return rotated ? cai_fail(CA_ERR_KEY_ROTATED,
                                  "the chain's root was not issued by the delegator account's "
                                  "current key (its key was rotated; an older key delegates "
                                  "nothing)")
                       : cai_fail(CA_ERR_LEDGER_UNAUTHORIZED,
                                  "the chain's root was not issued by op.signer (the delegator)");
    /* D3 */
    for (size_t i = 0; i < n; i++) {
        const uint64_t lived =
            info[i].expires_at > info[i].created_at ? info[i].expires_at - info[i].created_at : 0;
        if (lived > life || info[i].expires_at > cai_sat_add(t, life))
            return cai_fail(CA_ERR_LIMIT,
                            "delegation link %zu lives past max_delegation_lifetime (%llu ms): "
                            "from its created_at, or from the ledger's clock %llu",
                            i, (unsigned long long)life, (unsigned long long)t);
    }
    /* D4 */
    ca_status st = ca_delegation_grants(d->links[n - 1], cap, strlen(cap));
    if (st != CA_OK)
        return st;
    /* D5 */
    ca_delegation_verify_options vo;
    (void)ca_delegation_verify_options_init(&vo, CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    vo.lookup = rev_lookup;
    vo.lookup_ctx = l;
    if ((st = ca_delegation_chain_verify((const ca_delegation *const *)d->links, n, t, &vo,
                                         NULL)) != CA_OK)
        return st;
    d->fresh = 0;
    for (size_t i = 0; i < n; i++) {
        d->ids[i] = info[i].id;
        d->expires[i] = info[i].expires_at;
        d->total_caps[i] = info[i].total_cap;
        d->rec[i] = dlg_find(l, &info[i].id);
        d->fresh += d->rec[i] == CAI_NONE;
    }
    /* D6: the leaf's nonce. */
    const uint32_t leaf = d->rec[n - 1];
    const uint64_t last = leaf == CAI_NONE ? 0 : l->dlg[leaf].nonce;
    if (op->nonce <= last)
        return cai_fail(CA_ERR_LEDGER_DUPLICATE,
                        "nonce %llu already used under this delegation "
                        "(last %llu)",
                        (unsigned long long)op->nonce, (unsigned long long)last);
    if (op->nonce != last + 1)
        return cai_fail(CA_ERR_LEDGER_BAD_NONCE,
                        "nonce %llu skips ahead of %llu under this delegation",
                        (unsigned long long)op->nonce, (unsigned long long)last + 1);
    /* D7 */
    d->spend =
        op->type == CA_LEDGER_OP_TRANSFER || op->type == CA_LEDGER_OP_ESCROW_OPEN ? op->amount : 0;
    for (size_t i = 0; i < n; i++) {
        const uint64_t spent = d->rec[i] == CAI_NONE ? 0 : l->dlg[d->rec[i]].spent;
        if (d->spend > info[i].task_cap)
            return cai_fail(CA_ERR_LEDGER_CAP_EXCEEDED,
                            "spend %llu exceeds the task cap %llu of delegation link %zu",
                            (unsigned long long)d->spend, (unsigned long long)info[i].task_cap, i);
        if (d->spend > info[i].total_cap - spent)
            return cai_fail(CA_ERR_LEDGER_CAP_EXCEEDED,
                            "spend %llu exceeds what is left (%llu of %llu) of delegation link %zu",
                            (unsigned long long)d->spend,
                            (unsigned long long)(info[i].total_cap - spent),
                            (unsigned long long)info[i].total_cap, i);
    }
    /* D8 */
    if (d->fresh > 0 && (uint64_t)l->n_dlg + d->fresh > l->opts.max_delegation_records)
        return cai_fail(CA_ERR_LIMIT, "ledger holds the maximum of %u delegation records",
                        l->opts.max_delegation_records);
    return CA_OK;
}

ca_status cai_ledger_dlg_reserve(ca_ledger *l, const cai_dlg_ctx *d)
{
    if (d->fresh == 0)
        return CA_OK;
    ca_status st = cai_array_grow((void **)&l->dlg, &l->cap_dlg, (uint64_t)l->n_dlg + d->fresh,
                                  sizeof(cai_dlg_rec), l->opts.max_delegation_records);
    if (st == CA_OK)
        st = cai_idmap_reserve(&l->dlg_index, d->fresh);
    /* On top of the one entry a settling row reserves (each reserve counts from n_heap). */
    if (st == CA_OK)
        st = cai_ledger_expiry_reserve(l, d->fresh + 1);
    return st;
}

void cai_ledger_dlg_commit(ca_ledger *l, cai_dlg_ctx *d, uint64_t nonce)
{
    for (size_t i = 0; i < d->count; i++) {
        uint32_t k = d->rec[i];
        if (k == CAI_NONE) {
            k = l->n_dlg++;
            l->dlg[k] = (cai_dlg_rec){.id = d->ids[i],
                                      .total_cap = d->total_caps[i],
                                      .expires_at = d->expires[i],
                                      .hpos = CAI_NONE};
            cai_idmap_insert(&l->dlg_index, d->ids[i].bytes, k);
            cai_ledger_expiry_push(l, CAI_EXP_DELEGATION, k);
            d->rec[i] = k;
        } else {
            dlg_hash(l, &l->dlg[k], 1);
        }
        l->dlg[k].spent += d->spend;
        if (i + 1 == d->count)
            l->dlg[k].nonce = nonce;
        dlg_hash(l, &l->dlg[k], 0);
    }
}

/* ---------------------------------------------------------------- REVOKE */

ca_status cai_ledger_rev_reserve(ca_ledger *l)
{
    if (l->n_rev >= l->opts.max_delegation_records)
        return cai_fail(CA_ERR_LIMIT, "ledger holds the maximum of %u revocations",
                        l->opts.max_delegation_records);
    ca_status st = cai_array_grow((void **)&l->rev, &l->cap_rev, (uint64_t)l->n_rev + 1,
                                  sizeof(cai_rev_rec), l->opts.max_delegation_records);
    return st == CA_OK ? cai_idmap_reserve(&l->rev_index, 1) : st;
}

void cai_ledger_rev_commit(ca_ledger *l, const ca_hash *id, const ca_agent_id *revoker,
                           uint32_t held, uint64_t t)
{
    const uint64_t until = cai_sat_add(t, l->opts.max_delegation_lifetime);
    if (held != CAI_NONE) {
        cai_rev_rec *r = &l->rev[held];
        if (until <= r->until)
            return; /* t never moves back: this does not happen, but never shorten */
        rev_hash(l, r, 1);
        r->until = until;
        rev_hash(l, r, 0);
        cai_ledger_expiry_later(l, CAI_EXP_REVOCATION, held);
        return;
    }
    uint8_t key[64];
    const uint64_t h = rev_key_hash(l, id, revoker, key);
    uint32_t k = l->n_rev++;
    l->rev[k] = (cai_rev_rec){.id = *id, .revoker = *revoker, .until = until, .hpos = CAI_NONE};
    cai_idmap_insert_hashed(&l->rev_index, h, k);
    cai_ledger_expiry_push(l, CAI_EXP_REVOCATION, k);
    rev_hash(l, &l->rev[k], 0);
}

/* ---------------------------------------------------------------- drops */

void cai_ledger_dlg_drop(ca_ledger *l, uint32_t i)
{
    dlg_hash(l, &l->dlg[i], 1);
    (void)cai_idmap_remove(&l->dlg_index, l->dlg[i].id.bytes, i);
    uint32_t last = --l->n_dlg;
    if (i != last) {
        l->dlg[i] = l->dlg[last];
        (void)cai_idmap_renumber(&l->dlg_index, l->dlg[i].id.bytes, last, i);
        cai_ledger_expiry_moved(l, CAI_EXP_DELEGATION, i);
    }
}

void cai_ledger_rev_drop(ca_ledger *l, uint32_t i)
{
    uint8_t key[64];
    rev_hash(l, &l->rev[i], 1);
    (void)cai_idmap_remove_hashed(&l->rev_index,
                                  rev_key_hash(l, &l->rev[i].id, &l->rev[i].revoker, key), i);
    uint32_t last = --l->n_rev;
    if (i != last) {
        l->rev[i] = l->rev[last];
        (void)cai_idmap_renumber_hashed(
            &l->rev_index, rev_key_hash(l, &l->rev[i].id, &l->rev[i].revoker, key), last, i);
        cai_ledger_expiry_moved(l, CAI_EXP_REVOCATION, i);
    }
}

/* ---------------------------------------------------------------- snapshot */

ca_status cai_ledger_load_dlg(ca_ledger *l, const cai_dlg_rec *r)
{
    if (dlg_find(l, &r->id) != CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot repeats a delegation record");
    if (l->n_dlg >= l->opts.max_delegation_records || r->spent > r->total_cap)
        return cai_fail(CA_ERR_LEDGER_CORRUPT,
                        "snapshot delegation record %u is inconsistent or one too many", l->n_dlg);
    cai_dlg_ctx one;
    one.fresh = 1;
    ca_status st = cai_ledger_dlg_reserve(l, &one);
    if (st != CA_OK)
        return st;
    uint32_t k = l->n_dlg++;
    l->dlg[k] = *r;
    l->dlg[k].hpos = CAI_NONE;
    l->dlg[k].unused = 0;
    cai_idmap_insert(&l->dlg_index, r->id.bytes, k);
    cai_ledger_expiry_push(l, CAI_EXP_DELEGATION, k);
    dlg_hash(l, &l->dlg[k], 0);
    return CA_OK;
}

ca_status cai_ledger_load_rev(ca_ledger *l, const cai_rev_rec *r)
{
    if (cai_ledger_rev_find(l, &r->id, &r->revoker) != CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot repeats a revocation");
    if (l->n_rev >= l->opts.max_delegation_records)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot holds too many revocations");
    ca_status st = cai_ledger_rev_reserve(l);
    if (st == CA_OK)
        st = cai_ledger_expiry_reserve(l, 1);
    if (st != CA_OK)
        return st;
    uint8_t key[64];
    const uint64_t h = rev_key_hash(l, &r->id, &r->revoker, key);
    uint32_t k = l->n_rev++;
    l->rev[k] = *r;
    l->rev[k].hpos = CAI_NONE;
    l->rev[k].unused = 0;
    cai_idmap_insert_hashed(&l->rev_index, h, k);
    cai_ledger_expiry_push(l, CAI_EXP_REVOCATION, k);
    rev_hash(l, &l->rev[k], 0);
    return CA_OK;
}

/* ---------------------------------------------------------------- check */

ca_status cai_ledger_dlg_check_all(const ca_ledger *l, uint64_t sum[4])
{
    const uint64_t last = cai_sat_add(l->horizon, l->opts.max_delegation_lifetime);
    uint8_t d[32];
    if (l->n_dlg > l->opts.max_delegation_records || l->n_rev > l->opts.max_delegation_records ||
        l->dlg_index.count != l->n_dlg || l->rev_index.count != l->n_rev)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "delegation or revocation counts are wrong");
    for (uint32_t i = 0; i < l->n_dlg; i++) {
        const cai_dlg_rec *r = &l->dlg[i];
        if (dlg_find(l, &r->id) != i)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "delegation record %u not indexed", i);
        if (r->spent > r->total_cap)
            return cai_fail(CA_ERR_LEDGER_INVARIANT,
                            "delegation record %u has spent more than its total cap", i);
        if (r->expires_at > last)
            return cai_fail(CA_ERR_LEDGER_INVARIANT,
                            "delegation record %u is kept beyond max_delegation_lifetime", i);
        dlg_digest(r, d);
        cai_ledger_sum_add(sum, d, 0);
    }
    for (uint32_t i = 0; i < l->n_rev; i++) {
        const cai_rev_rec *r = &l->rev[i];
        if (cai_ledger_rev_find(l, &r->id, &r->revoker) != i)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "revocation %u not indexed", i);
        if (r->until > last)
            return cai_fail(CA_ERR_LEDGER_INVARIANT,
                            "revocation %u is kept beyond max_delegation_lifetime", i);
        rev_digest(r, d);
        cai_ledger_sum_add(sum, d, 0);
    }
    return CA_OK;
}

/* ---------------------------------------------------------------- queries */

ca_status ca_ledger_delegation(const ca_ledger *l, const ca_hash *id,
                               ca_ledger_delegation_info *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(id);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_ledger_delegation_info", out->version,
                        CA_LEDGER_DELEGATION_INFO_VERSION);
    uint32_t i = dlg_find(l, id);
    if (i == CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_DELEGATION,
                        "the ledger holds no record of this delegation (never used, or dropped)");
    const cai_dlg_rec *r = &l->dlg[i];
    out->spent = r->spent;
    out->total_cap = r->total_cap;
    out->nonce = r->nonce;
    out->expires_at = r->expires_at;
    return CA_OK;
}

ca_status ca_ledger_revocation(const ca_ledger *l, const ca_hash *delegation,
                               const ca_agent_id *revoker, uint64_t *kept_until)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(delegation);
    CAI_REQUIRE(revoker);
    uint32_t i = cai_ledger_rev_find(l, delegation, revoker);
    if (i == CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_DELEGATION,
                        "the ledger holds no revocation of this delegation by this revoker");
    if (kept_until != NULL)
        *kept_until = l->rev[i].until;
    return CA_OK;
}
