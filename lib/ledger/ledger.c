/*
 * Ledger core: accounts, unbonding queue, escrows, slashing, state hash,
 * invariant check. Every op is validated completely (validate_*) before the
 * first change (commit_*), so a failure leaves the state untouched.
 */
#include <stddef.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/array.h"
#include "ledger/ledger_internal.h"

size_t ca_ledger_op_max_bytes(void)
{
    return CA_LEDGER_OP_MAX_BYTES;
}

/* Size of the options struct a caller of `version` has (fields are only appended). */
static size_t options_size(unsigned int version)
{
    return version >= 3   ? sizeof(ca_ledger_options)
           : version == 2 ? offsetof(ca_ledger_options, max_evidence_age)
                          : offsetof(ca_ledger_options, network);
}

ca_status ca_ledger_options_init(ca_ledger_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ledger options", version, CA_LEDGER_OPTIONS_VERSION);
    memset(opts, 0, options_size(version));
    opts->version = version;
    opts->unbonding_delay = CA_LEDGER_UNBONDING_DELAY_DEFAULT; /* ms, like every time */
    opts->slash_equivocation_ppm = CA_LEDGER_SLASH_EQUIVOCATION_PPM_DEFAULT;
    opts->slash_missed_deadline_ppm = CA_LEDGER_SLASH_MISSED_DEADLINE_PPM_DEFAULT;
    opts->slash_dispute_ppm = CA_LEDGER_SLASH_DISPUTE_PPM_DEFAULT;
    opts->reporter_share_ppm = CA_LEDGER_REPORTER_SHARE_PPM_DEFAULT;
    opts->victim_share_ppm = CA_LEDGER_VICTIM_SHARE_PPM_DEFAULT;
    opts->jail_equivocation = CA_LEDGER_JAIL_EQUIVOCATION_DEFAULT;
    opts->max_unbonding_entries = CA_LEDGER_MAX_UNBONDING_ENTRIES_DEFAULT;
    opts->max_accounts = CA_LEDGER_MAX_ACCOUNTS_DEFAULT;
    opts->max_escrows = CA_LEDGER_MAX_ESCROWS_DEFAULT;
    if (version >= 3) {
        opts->max_evidence_age = CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT;
        opts->max_escrow_duration = CA_LEDGER_MAX_ESCROW_DURATION_DEFAULT;
        opts->max_escrows_per_hirer = CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT;
    }
    return CA_OK;
}

void cai_ledger_options_normalize(const ca_ledger_options *in, ca_ledger_options *out)
{
    (void)ca_ledger_options_init(out, CA_LEDGER_OPTIONS_VERSION);
    memcpy(out, in, options_size(in->version));
    out->version = CA_LEDGER_OPTIONS_VERSION;
}

ca_status cai_ledger_validate_options(const ca_ledger_options *opts)
{
    CAI_REQUIRE_VERSION("ledger options", opts->version, CA_LEDGER_OPTIONS_VERSION);
    ca_ledger_options norm;
    cai_ledger_options_normalize(opts, &norm);
    const ca_ledger_options *o = &norm;
    if (o->slash_equivocation_ppm > CA_LEDGER_PPM || o->slash_missed_deadline_ppm > CA_LEDGER_PPM ||
        o->slash_dispute_ppm > CA_LEDGER_PPM)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "slash fractions must be <= %u ppm",
                        CA_LEDGER_PPM);
    if ((uint64_t)o->reporter_share_ppm + o->victim_share_ppm > CA_LEDGER_PPM)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "reporter + victim shares exceed %u ppm",
                        CA_LEDGER_PPM);
    if (o->max_unbonding_entries < 1 || o->max_unbonding_entries > 255)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_unbonding_entries must be 1..255");
    if (o->max_accounts < 2 || o->max_accounts > (1u << 30) || o->max_escrows < 1 ||
        o->max_escrows > (1u << 30))
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_accounts 2..2^30, max_escrows 1..2^30");
    if (o->max_escrow_duration < 1 || o->max_escrows_per_hirer < 1 ||
        o->max_escrows_per_hirer > (1u << 30))
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "max_escrow_duration must be >= 1, max_escrows_per_hirer 1..2^30");
    return CA_OK;
}

void cai_ledger_options_digest(const ca_ledger_options *opts, uint8_t out[32])
{
    ca_ledger_options norm;
    cai_ledger_options_normalize(opts, &norm);
    const ca_ledger_options *o = &norm;
    uint8_t buf[27 + 64 + 15 * 8 + 32], *p = buf;
    memcpy(p, "cyberagent/1/ledger-options", 27);
    p += 27;
    memcpy(p, o->authority.bytes, 32);
    p += 32;
    memcpy(p, o->arbiter.bytes, 32);
    p += 32;
    const uint64_t v[] = {
        o->unbonding_delay,       o->slash_equivocation_ppm, o->slash_missed_deadline_ppm,
        o->slash_dispute_ppm,     o->reporter_share_ppm,     o->victim_share_ppm,
        o->jail_equivocation,     o->jail_missed_deadline,   o->jail_dispute,
        o->max_unbonding_entries, o->max_accounts,           o->max_escrows,
        o->max_evidence_age,      o->max_escrow_duration,    o->max_escrows_per_hirer};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++, p += 8)
        cai_store_le64(p, v[i]);
    /* `network` (version 2) is digested only when set (all-zero for older callers). The version
     * 3 fields always are: they changed the rules, so ids of earlier builds do not carry over. */
    static const uint8_t unset[32];
    if (memcmp(o->network.bytes, unset, 32) != 0) {
        memcpy(p, o->network.bytes, 32);
        p += 32;
    }
    crypto_generichash(out, 32, buf, (size_t)(p - buf), NULL, 0);
}

ca_status ca_ledger_options_id(const ca_ledger_options *opts, ca_hash *id_out)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE(id_out);
    ca_status st = cai_ensure_init();
    if (st == CA_OK)
        st = cai_ledger_validate_options(opts);
    if (st != CA_OK)
        return st;
    cai_ledger_options_digest(opts, id_out->bytes);
    return CA_OK;
}

ca_status ca_ledger_id(const ca_ledger *l, ca_hash *id_out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(id_out);
    *id_out = l->id;
    return CA_OK;
}

/* ---------------------------------------------------------------- indexes */

/*
 * Accounts, escrows and used evidence are indexed by core/idmap.h: the whole
 * 32-byte key through keyed SipHash, so made-up ids or refs sharing any prefix
 * cost what random ones do (docs/LEDGER.md, "Indexes").
 */

static inline int zero32(const uint8_t *a)
{
    uint64_t x = 0;
    for (int i = 0; i < 32; i += 8) {
        uint64_t u;
        memcpy(&u, a + i, 8);
        x |= u;
    }
    return x == 0;
}

/* Hash-cache set of an id inside a caller's op: its address in units of ops (see hcache). */
static inline uint32_t hcache_set(const ca_agent_id *id)
{
    return (uint32_t)((uintptr_t)id / sizeof(ca_ledger_op)) % CAI_HCACHE_SETS;
}

/* The account index's hash of id, from the batch cache when the prefetch put it there. */
static inline uint64_t acc_hash(const ca_ledger *l, const ca_agent_id *id)
{
    const cai_hcache_entry *e = l->hcache[hcache_set(id)];
    if (cai_eq32(e[0].id.bytes, id->bytes))
        return e[0].h;
    if (cai_eq32(e[1].id.bytes, id->bytes))
        return e[1].h;
    return cai_idmap_hash(&l->acc_index, id->bytes);
}

static inline uint32_t acc_find(const ca_ledger *l, const ca_agent_id *id)
{
    return cai_idmap_find_hashed(&l->acc_index, l->accounts, sizeof(cai_account), id->bytes,
                                 acc_hash(l, id), NULL);
}

static inline uint32_t esc_find(const ca_ledger *l, const ca_hash *award)
{
    return cai_idmap_find(&l->esc_index, l->escrows, sizeof(cai_escrow), award->bytes);
}

static inline uint32_t ev_find(const ca_ledger *l, const ca_hash *h)
{
    return cai_idmap_find(&l->ev_index, l->evidence, sizeof(cai_evidence), h->bytes);
}

void cai_ledger_index_stats(const ca_ledger *l, int which, cai_idmap_stats *out)
{
    cai_idmap_stats_get(which == 0   ? &l->acc_index
                        : which == 1 ? &l->esc_index
                                     : &l->ev_index,
                        out);
}

/*
 * Reserves memory for `n` more accounts, escrows, evidence and unbonding
 * entries (records and index slots), so that the commit phase of an op never
 * fails on allocation.
 */
static ca_status reserve(ca_ledger *l, uint32_t acc, uint32_t esc, uint32_t ev, uint32_t unb)
{
    ca_status st;
    if (acc) {
        uint64_t want = (uint64_t)l->n_accounts + acc;
        uint32_t max = l->opts.max_accounts;
        if ((st = cai_array_grow((void **)&l->accounts, &l->cap_accounts, want, sizeof(cai_account),
                                 max)) ||
            (st = cai_idmap_reserve(&l->acc_index, acc)) ||
            (st = cai_array_grow((void **)&l->dirty_acc, &l->cap_dirty_acc, want, sizeof(uint32_t),
                                 max)) ||
            (st = cai_array_grow((void **)&l->hired, &l->cap_hired, want, sizeof(uint32_t), max)))
            return st;
    }
    if (esc) {
        uint64_t want = (uint64_t)l->n_escrows + esc;
        uint32_t max = l->opts.max_escrows;
        if ((st = cai_array_grow((void **)&l->escrows, &l->cap_escrows, want, sizeof(cai_escrow),
                                 max)) ||
            (st = cai_idmap_reserve(&l->esc_index, esc)) ||
            (st = cai_array_grow((void **)&l->dirty_esc, &l->cap_dirty_esc, want, sizeof(uint32_t),
                                 max)))
            return st;
    }
    if (ev) {
        uint64_t want = (uint64_t)l->n_evidence + ev;
        if ((st = cai_array_grow((void **)&l->evidence, &l->cap_evidence, want,
                                 sizeof(cai_evidence), CAI_IDMAP_MAX_ENTRIES)) ||
            (st = cai_idmap_reserve(&l->ev_index, ev)))
            return st;
    }
    if (unb && l->unbond_free == CAI_NONE) {
        if ((st = cai_array_grow((void **)&l->unbonds, &l->cap_unbonds,
                                 (uint64_t)l->n_unbonds + unb, sizeof(cai_unbond), UINT32_MAX)))
            return st;
    }
    return CA_OK;
}

/* ------------------------------------------------------------- state hash */

static void sum_add(uint64_t s[4], const uint8_t h[32], int negate)
{
    cai_u128 carry = negate ? 1 : 0;
    for (int i = 0; i < 4; i++) {
        uint64_t w = cai_load_le64(h + 8 * (size_t)i);
        if (negate)
            w = ~w; /* s - h == s + ~h + 1 (mod 2^256) */
        cai_u128 t = (cai_u128)s[i] + w + carry;
        s[i] = (uint64_t)t;
        carry = t >> 64;
    }
}

static void account_digest(const ca_ledger *l, const cai_account *a, uint8_t out[32])
{
    uint8_t buf[8 + 32 + 40 + 16 * 255], *p = buf;
    memcpy(p, "account\0", 8);
    p += 8;
    memcpy(p, a->id.bytes, 32);
    p += 32;
    const uint64_t v[] = {a->balance, a->bonded, a->unbonding, a->nonce, a->jailed_until};
    for (int i = 0; i < 5; i++, p += 8)
        cai_store_le64(p, v[i]);
    for (uint32_t e = a->unbond_head; e != CAI_NONE; e = l->unbonds[e].next) {
        cai_store_le64(p, l->unbonds[e].amount);
        cai_store_le64(p + 8, l->unbonds[e].mature_at);
        p += 16;
    }
    crypto_generichash(out, 32, buf, (size_t)(p - buf), NULL, 0);
}

static void escrow_digest(const ca_ledger *l, const cai_escrow *e, uint8_t out[32])
{
    uint8_t buf[8 + 32 * 3 + 24 + 3 + 8 + 32], *p = buf;
    memcpy(p, "escrow\0\0", 8);
    p += 8;
    memcpy(p, e->award.bytes, 32);
    memcpy(p + 32, l->accounts[e->hirer].id.bytes, 32);
    memcpy(p + 64, l->accounts[e->worker].id.bytes, 32);
    p += 96;
    cai_store_le64(p, e->payment);
    cai_store_le64(p + 8, e->collateral);
    cai_store_le64(p + 16, e->deadline);
    p[24] = e->state;
    p[25] = e->delivered;
    p[26] = e->missed;
    p += 27;
    /* Only a split records a payout of its own (open/refunded pay 0, released the payment). */
    if (e->state == CA_LEDGER_ESCROW_SPLIT) {
        cai_store_le64(p, e->paid);
        p += 8;
    }
    if (e->delivered) {
        memcpy(p, e->result.bytes, 32);
        p += 32;
    }
    crypto_generichash(out, 32, buf, (size_t)(p - buf), NULL, 0);
}

static void evidence_digest(const cai_evidence *v, uint8_t out[32])
{
    uint8_t buf[48];
    memcpy(buf, "evidence", 8);
    memcpy(buf + 8, v->key.bytes, 32);
    cai_store_le64(buf + 40, v->expiry);
    crypto_generichash(out, 32, buf, sizeof buf, NULL, 0);
}

/* Before the first change to an existing account in a hash epoch: take it out of the sum. */
static inline void touch_acc(ca_ledger *l, uint32_t i)
{
    cai_account *a = &l->accounts[i];
    if (a->flags & CAI_DIRTY)
        return;
    uint8_t d[32];
    account_digest(l, a, d);
    sum_add(l->hsum, d, 1);
    a->flags |= CAI_DIRTY;
    l->dirty_acc[l->n_dirty_acc++] = i;
}

/*
 * The escrows' dirty list names records by index, and escrows are dropped
 * (ledger.h, AVAILABILITY): an entry may be stale (past the end, or naming a
 * record that is clean again, or twice the same), so folding skips those.
 * What holds: every DIRTY escrow has an entry with its current index.
 */
static void flush_escrows(ca_ledger *l)
{
    uint8_t d[32];
    for (uint32_t k = 0; k < l->n_dirty_esc; k++) {
        uint32_t i = l->dirty_esc[k];
        if (i >= l->n_escrows || !(l->escrows[i].flags & CAI_DIRTY))
            continue;
        escrow_digest(l, &l->escrows[i], d);
        sum_add(l->hsum, d, 0);
        l->escrows[i].flags &= (uint8_t)~CAI_DIRTY;
    }
    l->n_dirty_esc = 0;
}

/*
 * Room in a full list: first its stale entries go (no hashing; a LISTED mark
 * keeps one entry a record), and if that leaves it more than half full the
 * dirty escrows are folded in. Either way the next one comes after at least
 * half the list's pushes: O(1) amortized, and an escrow dropped while dirty
 * is never hashed for nothing.
 */
enum { CAI_LISTED = 2 };
static void make_room_dirty_esc(ca_ledger *l)
{
    uint32_t kept = 0;
    for (uint32_t k = 0; k < l->n_dirty_esc; k++) {
        uint32_t i = l->dirty_esc[k];
        if (i < l->n_escrows && (l->escrows[i].flags & (CAI_DIRTY | CAI_LISTED)) == CAI_DIRTY) {
            l->escrows[i].flags |= CAI_LISTED;
            l->dirty_esc[kept++] = i;
        }
    }
    for (uint32_t k = 0; k < kept; k++)
        l->escrows[l->dirty_esc[k]].flags &= (uint8_t)~CAI_LISTED;
    l->n_dirty_esc = kept;
    if (kept > l->cap_dirty_esc / 2)
        flush_escrows(l);
}

/* Lists escrow i as dirty (its record is not DIRTY yet, so no fold can add it twice). */
static inline void list_dirty_esc(ca_ledger *l, uint32_t i)
{
    if (l->n_dirty_esc == l->cap_dirty_esc)
        make_room_dirty_esc(l);
    l->dirty_esc[l->n_dirty_esc++] = i;
}

static inline void touch_esc(ca_ledger *l, uint32_t i)
{
    cai_escrow *e = &l->escrows[i];
    if (e->flags & CAI_DIRTY)
        return;
    uint8_t d[32];
    escrow_digest(l, e, d);
    sum_add(l->hsum, d, 1);
    list_dirty_esc(l, i);
    e->flags |= CAI_DIRTY;
}

void cai_ledger_flush_hash(ca_ledger *l)
{
    uint8_t d[32];
    for (uint32_t k = 0; k < l->n_dirty_acc; k++) {
        cai_account *a = &l->accounts[l->dirty_acc[k]];
        account_digest(l, a, d);
        sum_add(l->hsum, d, 0);
        a->flags &= (uint16_t)~CAI_DIRTY;
    }
    l->n_dirty_acc = 0;
    flush_escrows(l);
}

static void final_hash(const ca_ledger *l, const uint64_t sum[4], ca_hash *out)
{
    uint8_t buf[26 + 32 + 24], *p = buf;
    memcpy(p, "cyberagent/1/ledger-state", 25);
    p += 25;
    *p++ = 0;
    for (int i = 0; i < 4; i++, p += 8)
        cai_store_le64(p, sum[i]);
    cai_store_le64(p, l->minted);
    cai_store_le64(p + 8, l->burned);
    cai_store_le64(p + 16, l->horizon);
    p += 24;
    crypto_generichash(out->bytes, 32, buf, (size_t)(p - buf), NULL, 0);
}

ca_status ca_ledger_state_hash(ca_ledger *l, ca_hash *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(out);
    cai_ledger_flush_hash(l);
    final_hash(l, l->hsum, out);
    return CA_OK;
}

/* --------------------------------------------------------------- lifecycle */

ca_status cai_ledger_create(ca_ledger **out, const ca_ledger_options *opts)
{
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    if ((st = cai_ledger_validate_options(opts)) != CA_OK)
        return st;
    ca_ledger *l = calloc(1, sizeof *l);
    if (l == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating a ledger");
    /* An older caller's struct ends early: what it has, the defaults after it. */
    cai_ledger_options_normalize(opts, &l->opts);
    cai_ledger_options_digest(&l->opts, l->id.bytes);
    if ((st = cai_idmap_init(&l->acc_index, opts->max_accounts)) ||
        (st = cai_idmap_init(&l->esc_index, opts->max_escrows)) ||
        (st = cai_idmap_init(&l->ev_index, CAI_IDMAP_MAX_ENTRIES))) {
        free(l);
        return st;
    }
    /* Every cache entry holds a true pair from the start (the zero id and its hash). */
    uint64_t h0 = cai_idmap_hash(&l->acc_index, l->hcache[0][0].id.bytes);
    for (uint32_t k = 0; k < CAI_HCACHE_SETS; k++)
        l->hcache[k][0].h = l->hcache[k][1].h = h0;
    l->unbond_free = CAI_NONE;
    uint32_t hint = opts->initial_accounts;
    if (hint > opts->max_accounts)
        hint = opts->max_accounts;
    /* Exactly `hint` records (later growth doubles). */
    if (hint > 0 && (l->accounts = malloc((size_t)hint * sizeof(cai_account))) != NULL &&
        (l->dirty_acc = malloc((size_t)hint * sizeof(uint32_t))) != NULL &&
        (l->hired = malloc((size_t)hint * sizeof(uint32_t))) != NULL)
        l->cap_accounts = l->cap_dirty_acc = l->cap_hired = hint;
    if (hint > 0 && reserve(l, hint, 0, 0, 0) != CA_OK) {
        ca_ledger_free(l);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory reserving %u accounts", hint);
    }
    *out = l;
    return CA_OK;
}

ca_status ca_ledger_new(ca_ledger **out, const ca_ledger_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(opts);
    return cai_ledger_create(out, opts);
}

void ca_ledger_free(ca_ledger *l)
{
    if (l == NULL)
        return;
    cai_store_close(l->store);
    free(l->accounts);
    cai_idmap_free(&l->acc_index);
    free(l->unbonds);
    free(l->escrows);
    cai_idmap_free(&l->esc_index);
    free(l->evidence);
    cai_idmap_free(&l->ev_index);
    free(l->heap);
    free(l->dirty_acc);
    free(l->dirty_esc);
    free(l->hired);
    free(l);
}

size_t cai_ledger_memory_bytes(const ca_ledger *l)
{
    if (l == NULL)
        return 0;
    size_t n = sizeof *l;
    n += (size_t)l->cap_accounts * (sizeof(cai_account) + sizeof(uint32_t));
    n += (size_t)l->cap_hired * sizeof(uint32_t);
    n += cai_idmap_memory_bytes(&l->acc_index);
    n += (size_t)l->cap_unbonds * sizeof(cai_unbond);
    n += (size_t)l->cap_escrows * (sizeof(cai_escrow) + sizeof(uint32_t));
    n += cai_idmap_memory_bytes(&l->esc_index);
    n += (size_t)l->cap_evidence * sizeof(cai_evidence);
    n += cai_idmap_memory_bytes(&l->ev_index);
    n += (size_t)l->cap_heap * sizeof(cai_ledger_expiry);
    return n;
}

/* ---------------------------------------------------------------- helpers */

static inline int is_zero32(const uint8_t *p)
{
    return zero32(p);
}

static inline int id_eq(const ca_agent_id *a, const ca_agent_id *b)
{
    return cai_eq32(a->bytes, b->bytes);
}

/* New account (memory reserved beforehand). Created dirty: not yet in the sum. */
static uint32_t acc_create(ca_ledger *l, const ca_agent_id *id)
{
    uint32_t i = l->n_accounts++;
    cai_account *a = &l->accounts[i];
    memset(a, 0, sizeof *a);
    a->id = *id;
    a->unbond_head = CAI_NONE;
    a->flags = CAI_DIRTY;
    l->dirty_acc[l->n_dirty_acc++] = i;
    l->hired[i] = 0;
    cai_idmap_insert_hashed(&l->acc_index, acc_hash(l, id), i);
    return i;
}

/* ceil(x * ppm / 10^6), <= x for ppm <= 10^6. */
static inline uint64_t ppm_ceil(uint64_t x, uint32_t ppm)
{
    cai_u128 p = (cai_u128)x * ppm;
    return (uint64_t)((p + (CA_LEDGER_PPM - 1)) / CA_LEDGER_PPM);
}

static inline uint64_t ppm_floor(uint64_t x, uint32_t ppm)
{
    return (uint64_t)(((cai_u128)x * ppm) / CA_LEDGER_PPM);
}

/* Evidence key (ledger_internal.h):
 * BLAKE2b-256("cyberagent/1/evidence" || kind || ref || offender). */
void cai_ledger_evidence_key(uint32_t kind, const ca_hash *ref, const ca_agent_id *offender,
                             ca_hash *out)
{
    uint8_t buf[21 + 4 + 64];
    memcpy(buf, "cyberagent/1/evidence", 21);
    cai_store_le32(buf + 21, kind);
    memcpy(buf + 25, ref->bytes, 32);
    memcpy(buf + 57, offender->bytes, 32);
    crypto_generichash(out->bytes, 32, buf, sizeof buf, NULL, 0);
}

static uint32_t slash_ppm(const ca_ledger_options *o, uint32_t kind)
{
    return kind == CA_LEDGER_EVIDENCE_EQUIVOCATION      ? o->slash_equivocation_ppm
           : kind == CA_LEDGER_EVIDENCE_MISSED_DEADLINE ? o->slash_missed_deadline_ppm
                                                        : o->slash_dispute_ppm;
}

static uint64_t jail_for(const ca_ledger_options *o, uint32_t kind)
{
    return kind == CA_LEDGER_EVIDENCE_EQUIVOCATION      ? o->jail_equivocation
           : kind == CA_LEDGER_EVIDENCE_MISSED_DEADLINE ? o->jail_missed_deadline
                                                        : o->jail_dispute;
}

/* ------------------------------------------------------------- validation */

/* Which fields each type uses (1 bit each): cp, ref, amount, amount2, deadline, evidence,
 * result. */

static const uint8_t type_fields[12] = {
    0,
    F_CP | F_AMT,                         /* MINT */
    F_CP | F_AMT,                         /* TRANSFER */
    F_AMT,                                /* BOND */
    F_AMT,                                /* UNBOND */
    0,                                    /* WITHDRAW */
    F_CP | F_REF | F_AMT | F_AMT2 | F_DL, /* ESCROW_OPEN */
    F_REF | F_RES,                        /* DELIVER */
    F_REF,                                /* RELEASE */
    F_REF,                                /* REFUND */
    F_REF | F_AMT | F_AMT2,               /* SPLIT */
    F_CP | F_REF | F_DL | F_EV,           /* SLASH (deadline: EQUIVOCATION's offense time) */
};

unsigned cai_ledger_type_fields(uint32_t type)
{
    return type >= 1 && type <= CA_LEDGER_OP_SLASH ? type_fields[type] : 0;
}

static ca_status check_shape(const ca_ledger_op *op)
{
    if (op->type < 1 || op->type > CA_LEDGER_OP_SLASH)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "unknown ledger op type %u", op->type);
    uint8_t f = type_fields[op->type];
    if ((!(f & F_CP) && !is_zero32(op->counterparty.bytes)) ||
        (!(f & F_REF) && !is_zero32(op->ref.bytes)) || (!(f & F_AMT) && op->amount != 0) ||
        (!(f & F_AMT2) && op->amount2 != 0) || (!(f & F_DL) && op->deadline != 0) ||
        (!(f & F_EV) && op->evidence != 0) || (!(f & F_RES) && !is_zero32(op->result.bytes)))
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "op type %u has a field it does not use",
                        op->type);
    switch (op->type) {
    case CA_LEDGER_OP_MINT:
    case CA_LEDGER_OP_TRANSFER:
    case CA_LEDGER_OP_BOND:
    case CA_LEDGER_OP_UNBOND:
        if (op->amount == 0)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "amount must be > 0");
        break;
    case CA_LEDGER_OP_ESCROW_OPEN:
        if (op->amount == 0)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "escrow payment must be > 0");
        break;
    case CA_LEDGER_OP_ESCROW_DELIVER:
        if (is_zero32(op->result.bytes))
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "a delivery names its RESULT's message id");
        break;
    case CA_LEDGER_OP_SLASH:
        if (op->evidence < CA_LEDGER_EVIDENCE_EQUIVOCATION ||
            op->evidence > CA_LEDGER_EVIDENCE_DISPUTE)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "unknown evidence kind %u", op->evidence);
        if (op->evidence != CA_LEDGER_EVIDENCE_EQUIVOCATION && op->deadline != 0)
            return cai_fail(CA_ERR_INVALID_ARGUMENT,
                            "only an equivocation slash names a deadline (the escrow has it)");
        break;
    default:
        break;
    }
    return CA_OK;
}

/* Validated plan of a SLASH, computed before any change. */
typedef struct slash_plan {
    uint32_t offender, victim; /* victim CAI_NONE: its share burns */
    int reporter_paid;
    uint64_t total, to_reporter, to_victim, to_burn, from_bonded;
    uint64_t offense; /* offense time: the escrow's deadline, or the task's (EQUIVOCATION) */
    ca_hash key;
} slash_plan;

/* ------------------------------------------- retention (ledger.h, AVAILABILITY) */

/* The ledger's clock for the evidence window: the later of `now` and the horizon. */
static inline uint64_t clock_at(const ca_ledger *l, uint64_t now)
{
    return now > l->horizon ? now : l->horizon;
}

/* ESCROW_OPEN with a deadline after now: not too far ahead, not older than the window. */
static ca_status check_escrow_window(const ca_ledger *l, const ca_ledger_op *op, uint64_t now)
{
    if (cai_sat_add(op->deadline, l->opts.max_evidence_age) < clock_at(l, now))
        return cai_fail(CA_ERR_LEDGER_TOO_LATE,
                        "escrow deadline %llu is older than the evidence window allows (the "
                        "ledger's clock is at %llu)",
                        (unsigned long long)op->deadline, (unsigned long long)clock_at(l, now));
    if (op->deadline - now > l->opts.max_escrow_duration)
        return cai_fail(CA_ERR_LIMIT,
                        "escrow deadline is more than max_escrow_duration (%llu ms) "
                        "after now",
                        (unsigned long long)l->opts.max_escrow_duration);
    return CA_OK;
}

static ca_status check_hirer_quota(const ca_ledger *l, uint32_t hirer)
{
    if (l->hired[hirer] >= l->opts.max_escrows_per_hirer)
        return cai_fail(CA_ERR_LIMIT, "hirer holds the maximum of %u escrows (open or kept)",
                        l->opts.max_escrows_per_hirer);
    return CA_OK;
}

/* The evidence window of a SLASH whose offense time is sp->offense. */
static ca_status check_offense_time(const ca_ledger *l, const ca_ledger_op *op,
                                    const slash_plan *sp, uint64_t now)
{
    if (op->evidence == CA_LEDGER_EVIDENCE_EQUIVOCATION &&
        sp->offense > cai_sat_add(now, l->opts.max_escrow_duration))
        return cai_fail(CA_ERR_LEDGER_TOO_EARLY,
                        "the task's deadline %llu is more than max_escrow_duration after now: "
                        "report the offense later",
                        (unsigned long long)sp->offense);
    if (cai_sat_add(sp->offense, l->opts.max_evidence_age) < clock_at(l, now))
        return cai_fail(CA_ERR_LEDGER_EVIDENCE_EXPIRED,
                        "the offense (time %llu) is older than max_evidence_age (%llu ms)",
                        (unsigned long long)sp->offense,
                        (unsigned long long)l->opts.max_evidence_age);
    return CA_OK;
}

/* Records a used evidence key until its offense time + max_evidence_age (memory reserved). */
static void record_evidence(ca_ledger *l, const slash_plan *sp)
{
    uint32_t k = l->n_evidence++;
    l->evidence[k] = (cai_evidence){.key = sp->key,
                                    .expiry = cai_sat_add(sp->offense, l->opts.max_evidence_age),
                                    .hpos = CAI_NONE};
    cai_idmap_insert(&l->ev_index, sp->key.bytes, k);
    uint8_t d[32];
    evidence_digest(&l->evidence[k], d);
    sum_add(l->hsum, d, 0);
    cai_ledger_expiry_push(l, CAI_EXP_EVIDENCE, k);
}

/*
 * Drops a kept escrow, filling its hole with the last one. Its hash leaves
 * the sum (a dirty record's has left already). The moved record keeps the
 * dirty list's promise (flush_escrows): if it is dirty it needs an entry for
 * its new index, which the dropped record's entry is when that one was dirty
 * too; otherwise it gets one.
 */
static void drop_escrow(ca_ledger *l, uint32_t i)
{
    cai_escrow *e = &l->escrows[i];
    uint8_t d[32];
    const int was_dirty = (e->flags & CAI_DIRTY) != 0;
    if (!was_dirty) {
        escrow_digest(l, e, d);
        sum_add(l->hsum, d, 1);
    }
    l->hired[e->hirer]--;
    (void)cai_idmap_remove(&l->esc_index, e->award.bytes, i);
    uint32_t last = --l->n_escrows;
    if (i == last)
        return;
    l->escrows[i] = l->escrows[last];
    (void)cai_idmap_renumber(&l->esc_index, l->escrows[i].award.bytes, last, i);
    cai_ledger_expiry_moved(l, CAI_EXP_ESCROW, i);
    if ((l->escrows[i].flags & CAI_DIRTY) && !was_dirty) {
        l->escrows[i].flags &= (uint8_t)~CAI_DIRTY; /* listed below, as a fresh dirty record */
        list_dirty_esc(l, i);
        l->escrows[i].flags |= CAI_DIRTY;
    }
}

static void drop_evidence(ca_ledger *l, uint32_t i)
{
    uint8_t d[32];
    evidence_digest(&l->evidence[i], d);
    sum_add(l->hsum, d, 1);
    (void)cai_idmap_remove(&l->ev_index, l->evidence[i].key.bytes, i);
    uint32_t last = --l->n_evidence;
    if (i != last) {
        l->evidence[i] = l->evidence[last];
        (void)cai_idmap_renumber(&l->ev_index, l->evidence[i].key.bytes, last, i);
        cai_ledger_expiry_moved(l, CAI_EXP_EVIDENCE, i);
    }
}

/*
 * After an applied op: the horizon moves to `now` if later, and every kept
 * record whose time is before it is dropped. Each record is dropped once, so
 * this costs O(log n) amortized per op, and one hash a record at most.
 */
static void advance_horizon(ca_ledger *l, uint64_t now)
{
    if (now > l->horizon)
        l->horizon = now;
    while (l->n_heap > 0 && l->heap[0].at < l->horizon) {
        cai_ledger_expiry x = cai_ledger_expiry_pop(l);
        if (x.kind == CAI_EXP_ESCROW)
            drop_escrow(l, x.idx);
        else
            drop_evidence(l, x.idx);
    }
}

static ca_status need_accounts(const ca_ledger *l, uint32_t n)
{
    if (n > 0 && (uint64_t)l->n_accounts + n > l->opts.max_accounts)
        return cai_fail(CA_ERR_LIMIT, "ledger holds the maximum of %u accounts",
                        l->opts.max_accounts);
    return CA_OK;
}

/* `result_at`: created_at of the RESULT a signed DELIVER carries, NULL when none was given. */
static ca_status apply_op(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                          const uint64_t *result_at)
{
    const ca_ledger_options *o = &l->opts;
    ca_status st = check_shape(op);
    if (st != CA_OK)
        return st;

    /* Roles fixed by the options. */
    if (op->type == CA_LEDGER_OP_MINT && !id_eq(&op->signer, &o->authority))
        return cai_fail(CA_ERR_LEDGER_UNAUTHORIZED, "only the authority may mint");
    if ((op->type == CA_LEDGER_OP_ESCROW_SPLIT ||
         (op->type == CA_LEDGER_OP_SLASH && op->evidence == CA_LEDGER_EVIDENCE_DISPUTE)) &&
        !id_eq(&op->signer, &o->arbiter))
        return cai_fail(CA_ERR_LEDGER_UNAUTHORIZED, "only the arbiter may sign this op");
    if ((op->type == CA_LEDGER_OP_TRANSFER || op->type == CA_LEDGER_OP_ESCROW_OPEN ||
         op->type == CA_LEDGER_OP_SLASH) &&
        id_eq(&op->signer, &op->counterparty))
        return cai_fail(CA_ERR_LEDGER_SELF_DEALING, "signer and counterparty are one account");

    /* Nonce. */
    uint32_t si = acc_find(l, &op->signer);
    uint64_t last = si == CAI_NONE ? 0 : l->accounts[si].nonce;
    if (op->nonce <= last)
        return cai_fail(CA_ERR_LEDGER_DUPLICATE, "nonce %llu already used (last %llu)",
                        (unsigned long long)op->nonce, (unsigned long long)last);
    if (op->nonce != last + 1)
        return cai_fail(CA_ERR_LEDGER_BAD_NONCE, "nonce %llu skips ahead of %llu",
                        (unsigned long long)op->nonce, (unsigned long long)last + 1);

    uint32_t ci = CAI_NONE, ei = CAI_NONE;
    slash_plan sp;
    uint64_t mature_at = 0;

    /* ---- validate (no change yet) ---- */
    switch (op->type) {
    case CA_LEDGER_OP_MINT: {
        if (op->amount > UINT64_MAX - l->minted)
            return cai_fail(CA_ERR_OVERFLOW, "minting would overflow the supply");
        ci = acc_find(l, &op->counterparty);
        uint32_t fresh =
            (si == CAI_NONE) + (ci == CAI_NONE && !id_eq(&op->signer, &op->counterparty));
        if ((st = need_accounts(l, fresh)) || (st = reserve(l, fresh, 0, 0, 0)))
            return st;
        break;
    }
    case CA_LEDGER_OP_TRANSFER:
        if (si == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "sender has no account");
        if (l->accounts[si].balance < op->amount)
            return cai_fail(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "balance %llu < %llu",
                            (unsigned long long)l->accounts[si].balance,
                            (unsigned long long)op->amount);
        ci = acc_find(l, &op->counterparty);
        if (ci == CAI_NONE && ((st = need_accounts(l, 1)) || (st = reserve(l, 1, 0, 0, 0))))
            return st;
        break;
    case CA_LEDGER_OP_BOND:
        if (si == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "signer has no account");
        if (now < l->accounts[si].jailed_until)
            return cai_fail(CA_ERR_LEDGER_JAILED, "account jailed until %llu",
                            (unsigned long long)l->accounts[si].jailed_until);
        if (l->accounts[si].balance < op->amount)
            return cai_fail(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "balance too small to bond");
        break;
    case CA_LEDGER_OP_UNBOND:
        if (si == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "signer has no account");
        if (l->accounts[si].bonded < op->amount)
            return cai_fail(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "bonded stake too small");
        if (l->accounts[si].unbond_count >= o->max_unbonding_entries)
            return cai_fail(CA_ERR_LIMIT, "account has %u unbonding entries (the maximum)",
                            o->max_unbonding_entries);
        if (now > UINT64_MAX - o->unbonding_delay)
            return cai_fail(CA_ERR_OVERFLOW, "now + unbonding delay overflows");
        mature_at = now + o->unbonding_delay;
        if ((st = reserve(l, 0, 0, 0, 1)))
            return st;
        break;
    case CA_LEDGER_OP_WITHDRAW: {
        if (si == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "signer has no account");
        int any = 0;
        for (uint32_t e = l->accounts[si].unbond_head; e != CAI_NONE; e = l->unbonds[e].next)
            any |= l->unbonds[e].mature_at <= now;
        if (!any)
            return cai_fail(CA_ERR_LEDGER_TOO_EARLY, "no unbonding entry has matured");
        break;
    }
    case CA_LEDGER_OP_ESCROW_OPEN:
        if (esc_find(l, &op->ref) != CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_ESCROW_EXISTS, "an escrow for this award exists");
        if (l->n_escrows >= o->max_escrows)
            return cai_fail(CA_ERR_LIMIT, "ledger holds the maximum of %u escrows", o->max_escrows);
        if (op->deadline <= now)
            return cai_fail(CA_ERR_LEDGER_TOO_LATE, "escrow deadline is not in the future");
        if ((st = check_escrow_window(l, op, now)))
            return st;
        if (si == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "hirer has no account");
        ci = acc_find(l, &op->counterparty);
        if (ci == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "worker has no account");
        if ((st = check_hirer_quota(l, si)))
            return st;
        if (now < l->accounts[ci].jailed_until)
            return cai_fail(CA_ERR_LEDGER_JAILED, "worker jailed until %llu",
                            (unsigned long long)l->accounts[ci].jailed_until);
        if (l->accounts[si].balance < op->amount)
            return cai_fail(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "hirer cannot cover the payment");
        if (l->accounts[ci].balance < op->amount2)
            return cai_fail(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "worker cannot cover the collateral");
        if ((st = reserve(l, 0, 1, 0, 0)))
            return st;
        break;
    case CA_LEDGER_OP_ESCROW_DELIVER:
    case CA_LEDGER_OP_ESCROW_RELEASE:
    case CA_LEDGER_OP_ESCROW_REFUND:
    case CA_LEDGER_OP_ESCROW_SPLIT: {
        ei = esc_find(l, &op->ref);
        if (ei == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ESCROW, "no escrow for this award");
        const cai_escrow *e = &l->escrows[ei];
        int is_hirer = si == e->hirer, is_worker = si == e->worker;
        if ((op->type == CA_LEDGER_OP_ESCROW_DELIVER && !is_worker) ||
            (op->type == CA_LEDGER_OP_ESCROW_RELEASE && !is_hirer) ||
            (op->type == CA_LEDGER_OP_ESCROW_REFUND && !is_hirer && !is_worker))
            return cai_fail(CA_ERR_LEDGER_UNAUTHORIZED, "signer is not the party this op needs");
        if (e->state != CA_LEDGER_ESCROW_OPEN)
            return cai_fail(CA_ERR_LEDGER_ESCROW_CLOSED, "escrow already settled");
        if (op->type == CA_LEDGER_OP_ESCROW_DELIVER) {
            if (e->delivered)
                return cai_fail(CA_ERR_LEDGER_DELIVERED, "result already recorded");
            if (now > e->deadline)
                return cai_fail(CA_ERR_LEDGER_TOO_LATE, "deadline passed");
            if (result_at != NULL && *result_at > e->deadline)
                return cai_fail(CA_ERR_LEDGER_TOO_LATE, "RESULT created after the deadline");
        } else if (op->type == CA_LEDGER_OP_ESCROW_REFUND && is_hirer) {
            if (e->delivered)
                return cai_fail(CA_ERR_LEDGER_DELIVERED, "worker delivered in time");
            if (now <= e->deadline)
                return cai_fail(CA_ERR_LEDGER_TOO_EARLY, "deadline not passed");
        } else if (op->type == CA_LEDGER_OP_ESCROW_SPLIT) {
            if (op->amount > e->payment || op->amount2 > e->collateral)
                return cai_fail(CA_ERR_INVALID_ARGUMENT, "split exceeds the escrowed amounts");
        }
        if (op->type == CA_LEDGER_OP_ESCROW_SPLIT && si == CAI_NONE &&
            ((st = need_accounts(l, 1)) || (st = reserve(l, 1, 0, 0, 0))))
            return st;
        /* A settled escrow waits in the expiry heap until no slash can use it. */
        if (op->type != CA_LEDGER_OP_ESCROW_DELIVER && (st = cai_ledger_expiry_reserve(l, 1)))
            return st;
        break;
    }
    case CA_LEDGER_OP_SLASH: {
        memset(&sp, 0, sizeof sp);
        /* Reports create no accounts; the arbiter (DISPUTE), one identity, gets one. */
        if (si == CAI_NONE && op->evidence != CA_LEDGER_EVIDENCE_DISPUTE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "reporter has no account");
        sp.offender = acc_find(l, &op->counterparty);
        sp.victim = CAI_NONE;
        if (sp.offender == CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "offender has no account");
        sp.offense = op->deadline;
        if (op->evidence != CA_LEDGER_EVIDENCE_EQUIVOCATION) {
            ei = esc_find(l, &op->ref);
            if (ei == CAI_NONE)
                return cai_fail(CA_ERR_LEDGER_UNKNOWN_ESCROW, "no escrow for this award");
            const cai_escrow *e = &l->escrows[ei];
            if (op->evidence == CA_LEDGER_EVIDENCE_MISSED_DEADLINE) {
                /* Open past its deadline, or settled after it (the `missed` mark): whatever
                 * the order of slash and settlement, the offense is slashable once. */
                if (sp.offender != e->worker)
                    return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "offender is not the worker");
                if (e->delivered)
                    return cai_fail(CA_ERR_LEDGER_DELIVERED, "worker delivered in time");
                if (e->state == CA_LEDGER_ESCROW_OPEN && now <= e->deadline)
                    return cai_fail(CA_ERR_LEDGER_TOO_EARLY, "deadline not passed");
                if (e->state != CA_LEDGER_ESCROW_OPEN && !e->missed)
                    return cai_fail(CA_ERR_LEDGER_ESCROW_CLOSED,
                                    "escrow was settled by its deadline");
                sp.victim = e->hirer;
            } else {
                if (sp.offender != e->worker && sp.offender != e->hirer)
                    return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "offender is not a party");
                sp.victim = sp.offender == e->worker ? e->hirer : e->worker;
            }
            sp.offense = e->deadline;
            ei = CAI_NONE; /* the escrow itself does not change */
        }
        if ((st = check_offense_time(l, op, &sp, now)))
            return st;
        cai_ledger_evidence_key(op->evidence, &op->ref, &op->counterparty, &sp.key);
        if (ev_find(l, &sp.key) != CAI_NONE)
            return cai_fail(CA_ERR_LEDGER_EVIDENCE_USED, "evidence already used");
        /* Amounts: each bucket (bond, each unmatured unbonding entry) loses ceil(x*ppm/1e6). */
        uint32_t ppm = slash_ppm(o, op->evidence);
        const cai_account *off = &l->accounts[sp.offender];
        sp.from_bonded = ppm_ceil(off->bonded, ppm);
        sp.total = sp.from_bonded;
        for (uint32_t e = off->unbond_head; e != CAI_NONE; e = l->unbonds[e].next)
            if (l->unbonds[e].mature_at > now)
                sp.total += ppm_ceil(l->unbonds[e].amount, ppm);
        if (sp.total == 0) /* else every key would be free to make */
            return cai_fail(CA_ERR_LEDGER_NO_STAKE,
                            "the offender has no stake at risk: the slash would take nothing");
        if (si == CAI_NONE && ((st = need_accounts(l, 1)) || (st = reserve(l, 1, 0, 0, 0))))
            return st;
        if ((st = reserve(l, 0, 0, 1, 0)) || (st = cai_ledger_expiry_reserve(l, 1)))
            return st;
        sp.reporter_paid = op->evidence != CA_LEDGER_EVIDENCE_DISPUTE;
        sp.to_reporter = sp.reporter_paid ? ppm_floor(sp.total, o->reporter_share_ppm) : 0;
        sp.to_victim = sp.victim != CAI_NONE ? ppm_floor(sp.total, o->victim_share_ppm) : 0;
        sp.to_burn = sp.total - sp.to_reporter - sp.to_victim;
        break;
    }
    default:
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "unknown ledger op type");
    }

    /* ---- commit (cannot fail: memory reserved, arithmetic bounded by minted) ---- */
    if (si == CAI_NONE)
        si = acc_create(l, &op->signer);
    else
        touch_acc(l, si);
    l->accounts[si].nonce = op->nonce;
    cai_account *s = &l->accounts[si];

    switch (op->type) {
    case CA_LEDGER_OP_MINT:
        if (ci == CAI_NONE)
            ci = id_eq(&op->signer, &op->counterparty) ? si : acc_create(l, &op->counterparty);
        else
            touch_acc(l, ci);
        l->accounts[ci].balance += op->amount;
        l->minted += op->amount;
        break;
    case CA_LEDGER_OP_TRANSFER:
        if (ci == CAI_NONE)
            ci = acc_create(l, &op->counterparty);
        else
            touch_acc(l, ci);
        s = &l->accounts[si];
        s->balance -= op->amount;
        l->accounts[ci].balance += op->amount;
        break;
    case CA_LEDGER_OP_BOND:
        s->balance -= op->amount;
        s->bonded += op->amount;
        break;
    case CA_LEDGER_OP_UNBOND: {
        uint32_t e;
        if (l->unbond_free != CAI_NONE) {
            e = l->unbond_free;
            l->unbond_free = l->unbonds[e].next;
        } else {
            e = l->n_unbonds++;
        }
        l->unbonds[e] = (cai_unbond){op->amount, mature_at, CAI_NONE};
        uint32_t *link = &s->unbond_head;
        while (*link != CAI_NONE)
            link = &l->unbonds[*link].next;
        *link = e;
        s->unbond_count++;
        s->bonded -= op->amount;
        s->unbonding += op->amount;
        break;
    }
    case CA_LEDGER_OP_WITHDRAW: {
        uint32_t *link = &s->unbond_head;
        while (*link != CAI_NONE) {
            uint32_t e = *link;
            if (l->unbonds[e].mature_at <= now) {
                s->unbonding -= l->unbonds[e].amount;
                s->balance += l->unbonds[e].amount;
                s->unbond_count--;
                *link = l->unbonds[e].next;
                l->unbonds[e].next = l->unbond_free;
                l->unbond_free = e;
            } else {
                link = &l->unbonds[e].next;
            }
        }
        break;
    }
    case CA_LEDGER_OP_ESCROW_OPEN: {
        touch_acc(l, ci);
        uint32_t e = l->n_escrows++;
        l->escrows[e] = (cai_escrow){.award = op->ref,
                                     .payment = op->amount,
                                     .collateral = op->amount2,
                                     .deadline = op->deadline,
                                     .hirer = si,
                                     .worker = ci,
                                     .state = CA_LEDGER_ESCROW_OPEN,
                                     .hpos = CAI_NONE};
        list_dirty_esc(l, e);
        l->escrows[e].flags = CAI_DIRTY;
        cai_idmap_insert(&l->esc_index, op->ref.bytes, e);
        l->hired[si]++;
        l->accounts[si].balance -= op->amount;
        l->accounts[ci].balance -= op->amount2;
        l->escrowed += op->amount + op->amount2;
        break;
    }
    case CA_LEDGER_OP_ESCROW_DELIVER:
        touch_esc(l, ei);
        l->escrows[ei].delivered = 1;
        l->escrows[ei].result = op->result;
        break;
    case CA_LEDGER_OP_ESCROW_RELEASE:
    case CA_LEDGER_OP_ESCROW_REFUND:
    case CA_LEDGER_OP_ESCROW_SPLIT: {
        touch_esc(l, ei);
        cai_escrow *e = &l->escrows[ei];
        uint64_t to_worker, to_hirer;
        e->missed = !e->delivered && now > e->deadline;
        if (op->type == CA_LEDGER_OP_ESCROW_RELEASE) {
            to_worker = e->payment + e->collateral;
            to_hirer = 0;
            e->paid = e->payment;
            e->state = CA_LEDGER_ESCROW_RELEASED;
        } else if (op->type == CA_LEDGER_OP_ESCROW_REFUND) {
            to_worker = e->collateral;
            to_hirer = e->payment;
            e->state = CA_LEDGER_ESCROW_REFUNDED;
        } else {
            to_worker = op->amount + (e->collateral - op->amount2);
            to_hirer = (e->payment - op->amount) + op->amount2;
            e->paid = op->amount;
            e->state = CA_LEDGER_ESCROW_SPLIT;
        }
        touch_acc(l, e->hirer);
        touch_acc(l, e->worker);
        l->accounts[e->worker].balance += to_worker;
        l->accounts[e->hirer].balance += to_hirer;
        l->escrowed -= e->payment + e->collateral;
        cai_ledger_expiry_push(l, CAI_EXP_ESCROW, ei);
        break;
    }
    case CA_LEDGER_OP_SLASH: {
        touch_acc(l, sp.offender);
        cai_account *off = &l->accounts[sp.offender];
        uint32_t ppm = slash_ppm(o, op->evidence);
        off->bonded -= sp.from_bonded;
        uint32_t *link = &off->unbond_head;
        while (*link != CAI_NONE) {
            uint32_t e = *link;
            if (l->unbonds[e].mature_at > now) {
                uint64_t cut = ppm_ceil(l->unbonds[e].amount, ppm);
                l->unbonds[e].amount -= cut;
                off->unbonding -= cut;
            }
            if (l->unbonds[e].amount == 0) {
                off->unbond_count--;
                *link = l->unbonds[e].next;
                l->unbonds[e].next = l->unbond_free;
                l->unbond_free = e;
            } else {
                link = &l->unbonds[e].next;
            }
        }
        uint64_t jail = jail_for(o, op->evidence);
        if (jail > 0) {
            uint64_t until = now > UINT64_MAX - jail ? UINT64_MAX : now + jail;
            if (until > off->jailed_until)
                off->jailed_until = until;
        }
        if (sp.to_reporter) {
            l->accounts[si].balance += sp.to_reporter; /* si touched above */
        }
        if (sp.to_victim) {
            touch_acc(l, sp.victim);
            l->accounts[sp.victim].balance += sp.to_victim;
        }
        l->burned += sp.to_burn;
        record_evidence(l, &sp);
        break;
    }
    default:
        break;
    }
    advance_horizon(l, now);
    l->seq++;
    return CA_OK;
}

ca_status cai_ledger_apply_op(ca_ledger *l, const ca_ledger_op *op, uint64_t now)
{
    return apply_op(l, op, now, NULL);
}

ca_status cai_ledger_apply_delivery(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                                    uint64_t result_at)
{
    return apply_op(l, op, now, &result_at);
}

/* ---------------------------------------------------------------- queries */

ca_status ca_ledger_account(const ca_ledger *l, const ca_agent_id *id, ca_ledger_account_info *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(id);
    CAI_REQUIRE(out);
    uint32_t i = acc_find(l, id);
    if (i == CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "no such account");
    const cai_account *a = &l->accounts[i];
    *out = (ca_ledger_account_info){a->balance, a->bonded,       a->unbonding,
                                    a->nonce,   a->jailed_until, a->unbond_count};
    return CA_OK;
}

uint64_t cai_ledger_weighed_stake(const ca_ledger *l, const ca_agent_id *id, uint64_t now_ms)
{
    uint32_t i = acc_find(l, id);
    if (i == CAI_NONE)
        return 0;
    const cai_account *a = &l->accounts[i];
    if (a->jailed_until > now_ms) /* slashed on evidence: no weight until released */
        return 0;
    return a->bonded > UINT64_MAX - a->unbonding ? UINT64_MAX : a->bonded + a->unbonding;
}

ca_status ca_ledger_escrow(const ca_ledger *l, const ca_hash *award, ca_ledger_escrow_info *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(award);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ledger escrow info", out->version, CA_LEDGER_ESCROW_INFO_VERSION);
    uint32_t i = esc_find(l, award);
    if (i == CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_ESCROW, "no escrow for this award");
    const cai_escrow *e = &l->escrows[i];
    /* Version 1 is every field below; a later version appends and fills only what the caller
     * asked for. */
    out->hirer = l->accounts[e->hirer].id;
    out->worker = l->accounts[e->worker].id;
    out->payment = e->payment;
    out->collateral = e->collateral;
    out->deadline = e->deadline;
    out->state = e->state;
    out->delivered = e->delivered;
    out->missed = e->missed;
    out->paid = e->paid;
    out->result = e->result;
    return CA_OK;
}

void ca_ledger_totals_get(const ca_ledger *l, ca_ledger_totals *out)
{
    if (l == NULL || out == NULL)
        return;
    *out =
        (ca_ledger_totals){l->minted, l->burned, l->escrowed, l->seq, l->n_accounts, l->n_escrows};
}

/* ------------------------------------------------------------------ check */

/*
 * Per-hirer escrow counts (derived state) by counting every escrow off its
 * hirer's count, then restoring them: no memory needed.
 */
static ca_status check_hired(ca_ledger *l)
{
    uint32_t i = 0;
    for (; i < l->n_escrows && l->hired[l->escrows[i].hirer] > 0; i++)
        l->hired[l->escrows[i].hirer]--;
    int ok = i == l->n_escrows;
    for (uint32_t a = 0; ok && a < l->n_accounts; a++)
        ok = l->hired[a] == 0;
    while (i-- > 0)
        l->hired[l->escrows[i].hirer]++;
    if (!ok)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "per-hirer escrow counts are wrong");
    for (uint32_t a = 0; a < l->n_accounts; a++)
        if (l->hired[a] > l->opts.max_escrows_per_hirer)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "account %u holds more escrows than allowed",
                            a);
    return CA_OK;
}

/* The retention rules (ledger.h, AVAILABILITY) hold: see ca_ledger_check. */
static ca_status check_retention(ca_ledger *l)
{
    const ca_ledger_options *o = &l->opts;
    const uint64_t last_deadline = cai_sat_add(l->horizon, o->max_escrow_duration);
    const uint64_t last_expiry = cai_sat_add(last_deadline, o->max_evidence_age);
    for (uint32_t i = 0; i < l->n_escrows; i++)
        if (l->escrows[i].deadline > last_deadline)
            return cai_fail(CA_ERR_LEDGER_INVARIANT,
                            "escrow %u has a deadline beyond max_escrow_duration", i);
    for (uint32_t i = 0; i < l->n_evidence; i++)
        if (l->evidence[i].expiry > last_expiry)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "evidence %u is kept beyond the window", i);
    ca_status st = check_hired(l);
    return st != CA_OK ? st : cai_ledger_expiry_check(l);
}

ca_status ca_ledger_check(ca_ledger *l)
{
    CAI_REQUIRE(l);
    ca_status st;
    cai_u128 total = 0, escrowed = 0;
    uint32_t entries = 0;
    for (uint32_t i = 0; i < l->n_accounts; i++) {
        const cai_account *a = &l->accounts[i];
        if (acc_find(l, &a->id) != i)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "account %u not found by its id", i);
        cai_u128 unb = 0;
        uint32_t n = 0;
        for (uint32_t e = a->unbond_head; e != CAI_NONE; e = l->unbonds[e].next) {
            if (e >= l->n_unbonds || ++n > l->opts.max_unbonding_entries)
                return cai_fail(CA_ERR_LEDGER_INVARIANT, "account %u unbonding list broken", i);
            if (l->unbonds[e].amount == 0)
                return cai_fail(CA_ERR_LEDGER_INVARIANT, "account %u has an empty entry", i);
            unb += l->unbonds[e].amount;
        }
        if (n != a->unbond_count || unb != a->unbonding)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "account %u unbonding sum/count mismatch", i);
        entries += n;
        total += (cai_u128)a->balance + a->bonded + a->unbonding;
    }
    uint32_t free_n = 0;
    for (uint32_t e = l->unbond_free; e != CAI_NONE; e = l->unbonds[e].next)
        if (e >= l->n_unbonds || ++free_n > l->n_unbonds)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "unbonding free list broken");
    if (entries + free_n != l->n_unbonds)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "unbonding entries leaked");
    for (uint32_t i = 0; i < l->n_escrows; i++) {
        const cai_escrow *e = &l->escrows[i];
        if (esc_find(l, &e->award) != i || e->hirer >= l->n_accounts ||
            e->worker >= l->n_accounts || e->hirer == e->worker || e->state < 1 || e->state > 4 ||
            !cai_escrow_paid_ok(e))
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "escrow %u inconsistent", i);
        if (e->state == CA_LEDGER_ESCROW_OPEN)
            escrowed += (cai_u128)e->payment + e->collateral;
    }
    if (escrowed != l->escrowed)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "escrowed total mismatch");
    for (uint32_t i = 0; i < l->n_evidence; i++)
        if (ev_find(l, &l->evidence[i].key) != i)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "evidence %u not indexed", i);
    if ((st = check_retention(l)) != CA_OK)
        return st;
    if (l->acc_index.count != l->n_accounts || l->esc_index.count != l->n_escrows ||
        l->ev_index.count != l->n_evidence)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "index counts mismatch");
    if (total + escrowed + l->burned != l->minted)
        return cai_fail(CA_ERR_LEDGER_INVARIANT,
                        "conservation broken: balances+bonded+unbonding+escrowed+burned != minted");
    /* The incremental hash sum must equal one computed from scratch. */
    cai_ledger_flush_hash(l);
    uint64_t sum[4] = {0, 0, 0, 0};
    uint8_t d[32];
    for (uint32_t i = 0; i < l->n_accounts; i++) {
        account_digest(l, &l->accounts[i], d);
        sum_add(sum, d, 0);
    }
    for (uint32_t i = 0; i < l->n_escrows; i++) {
        escrow_digest(l, &l->escrows[i], d);
        sum_add(sum, d, 0);
    }
    for (uint32_t i = 0; i < l->n_evidence; i++) {
        evidence_digest(&l->evidence[i], d);
        sum_add(sum, d, 0);
    }
    if (memcmp(sum, l->hsum, sizeof sum) != 0)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "incremental state hash diverged");
    return CA_OK;
}

/* --------------------------------------------------------- snapshot loading */

ca_status cai_ledger_load_account(ca_ledger *l, const cai_account *a, const cai_unbond *entries,
                                  uint32_t n_entries)
{
    if (acc_find(l, &a->id) != CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot repeats an account");
    ca_status st = need_accounts(l, 1);
    if (st == CA_OK)
        st = reserve(l, 1, 0, 0, 0);
    if (st == CA_OK && n_entries > 0)
        st = cai_array_grow((void **)&l->unbonds, &l->cap_unbonds,
                            (uint64_t)l->n_unbonds + n_entries, sizeof(cai_unbond), UINT32_MAX);
    if (st != CA_OK)
        return st;
    uint32_t i = acc_create(l, &a->id);
    cai_account *d = &l->accounts[i];
    d->balance = a->balance;
    d->bonded = a->bonded;
    d->nonce = a->nonce;
    d->jailed_until = a->jailed_until;
    uint32_t *link = &d->unbond_head;
    for (uint32_t k = 0; k < n_entries; k++) {
        uint32_t e = l->n_unbonds++;
        l->unbonds[e] = entries[k];
        l->unbonds[e].next = CAI_NONE;
        *link = e;
        link = &l->unbonds[e].next;
        d->unbonding += entries[k].amount; /* bounded: caller checks the total */
        d->unbond_count++;
    }
    return CA_OK;
}

ca_status cai_ledger_load_escrow(ca_ledger *l, const cai_escrow *e)
{
    if (esc_find(l, &e->award) != CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot repeats an escrow");
    if (l->n_escrows >= l->opts.max_escrows)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot holds too many escrows");
    if (l->hired[e->hirer] >= l->opts.max_escrows_per_hirer)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot holds too many escrows of one hirer");
    ca_status st = reserve(l, 0, 1, 0, 0);
    if (st == CA_OK && e->state != CA_LEDGER_ESCROW_OPEN)
        st = cai_ledger_expiry_reserve(l, 1);
    if (st != CA_OK)
        return st;
    uint32_t i = l->n_escrows++;
    l->escrows[i] = *e;
    l->escrows[i].flags = 0;
    l->escrows[i].hpos = CAI_NONE;
    list_dirty_esc(l, i);
    l->escrows[i].flags = CAI_DIRTY;
    cai_idmap_insert(&l->esc_index, e->award.bytes, i);
    l->hired[e->hirer]++;
    if (e->state == CA_LEDGER_ESCROW_OPEN)
        l->escrowed += e->payment + e->collateral; /* caller checks overflow */
    else
        cai_ledger_expiry_push(l, CAI_EXP_ESCROW, i);
    return CA_OK;
}

ca_status cai_ledger_load_evidence(ca_ledger *l, const ca_hash *h, uint64_t expiry)
{
    if (ev_find(l, h) != CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot repeats an evidence key");
    ca_status st = reserve(l, 0, 0, 1, 0);
    if (st == CA_OK)
        st = cai_ledger_expiry_reserve(l, 1);
    if (st != CA_OK)
        return st;
    uint32_t k = l->n_evidence++;
    l->evidence[k] = (cai_evidence){.key = *h, .expiry = expiry, .hpos = CAI_NONE};
    cai_idmap_insert(&l->ev_index, h->bytes, k);
    uint8_t d[32];
    evidence_digest(&l->evidence[k], d);
    sum_add(l->hsum, d, 0);
    cai_ledger_expiry_push(l, CAI_EXP_EVIDENCE, k);
    return CA_OK;
}

/* ------------------------------------------------------------ batch prefetch */

/*
 * Two-stage prefetch for ca_ledger_apply_batch: stage 0 hashes an op's two
 * account ids (keeping the hashes in l->hcache for when the op is applied),
 * pulls their home index slots into cache and remembers the positions; stage 1
 * (a few ops later, once the slots are there) pulls the account records they
 * point to. Hints only: no effect on results.
 */
static uint32_t prefetch_id(ca_ledger *l, const ca_agent_id *id, int way)
{
    uint64_t h = cai_idmap_hash(&l->acc_index, id->bytes);
    cai_hcache_entry *e = &l->hcache[hcache_set(id)][way];
    e->id = *id;
    e->h = h;
    return cai_idmap_prefetch(&l->acc_index, h);
}

void cai_ledger_prefetch_slots(ca_ledger *l, const ca_ledger_op *op, uint32_t pos[2])
{
    pos[0] = prefetch_id(l, &op->signer, 0);
    pos[1] = prefetch_id(l, &op->counterparty, 1);
}

void cai_ledger_prefetch_records(const ca_ledger *l, const uint32_t pos[2])
{
#if defined(__GNUC__) || defined(__clang__)
    for (int k = 0; k < 2; k++) {
        uint32_t d = cai_idmap_peek(&l->acc_index, pos[k]);
        if (d < l->n_accounts)
            __builtin_prefetch(&l->accounts[d], 1);
    }
#else
    (void)l;
    (void)pos;
#endif
}
