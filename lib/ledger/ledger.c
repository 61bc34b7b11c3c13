/*
 * Ledger core: accounts, unbonding queue, escrows, slashing, state hash,
 * invariant check. Every op is checked completely (check_op: the op table's
 * steps, check_* of its row) before the first change (its row's commit_*), so
 * a failure leaves the state untouched.
 */
#include <stddef.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/array.h"
#include "ledger/ledger_ops.h"

size_t ca_ledger_op_max_bytes(void)
{
    return CA_LEDGER_OP_MAX_BYTES;
}

/* Size of the options struct a caller of `version` has (fields are only appended). */
static size_t options_size(unsigned int version)
{
    return version >= 4   ? sizeof(ca_ledger_options)
           : version == 3 ? offsetof(ca_ledger_options, max_delegation_records)
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
    if (version >= 4) {
        opts->max_delegation_records = CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT;
        opts->max_delegation_lifetime = CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT;
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
    if (o->max_delegation_records < 1 || o->max_delegation_records > (1u << 30) ||
        o->max_delegation_lifetime < 1)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "max_delegation_records must be 1..2^30, max_delegation_lifetime >= 1");
    return CA_OK;
}

void cai_ledger_options_digest(const ca_ledger_options *opts, uint8_t out[32])
{
    ca_ledger_options norm;
    cai_ledger_options_normalize(opts, &norm);
    const ca_ledger_options *o = &norm;
    uint8_t buf[27 + 64 + 15 * 8 + 32 + 2 * 8], *p = buf;
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
    /* The version 4 fields only when not the defaults: a ledger under default options keeps
     * the id (and the journal and snapshots) it had before delegated ops existed. */
    if (o->max_delegation_records != CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT ||
        o->max_delegation_lifetime != CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT) {
        cai_store_le64(p, o->max_delegation_records);
        cai_store_le64(p + 8, o->max_delegation_lifetime);
        p += 16;
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
                                 max)))
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
        /* Each new escrow may bring a new hirer; there are never more hirers than accounts. */
        uint32_t room = l->opts.max_accounts - l->n_hirers, more = esc < room ? esc : room;
        if (more > 0 &&
            ((st = cai_array_grow((void **)&l->hirers, &l->cap_hirers, (uint64_t)l->n_hirers + more,
                                  sizeof(cai_hirer), l->opts.max_accounts)) ||
             (st = cai_idmap_reserve(&l->hirer_index, more))))
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

void cai_ledger_sum_add(uint64_t s[4], const uint8_t h[32], int negate)
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

#define sum_add cai_ledger_sum_add

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
        (st = cai_idmap_init(&l->ev_index, CAI_IDMAP_MAX_ENTRIES)) ||
        (st = cai_idmap_init(&l->hirer_index, opts->max_accounts)) ||
        (st = cai_ledger_keys_init(l)) || (st = cai_ledger_dlg_init(l))) {
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
        (l->dirty_acc = malloc((size_t)hint * sizeof(uint32_t))) != NULL)
        l->cap_accounts = l->cap_dirty_acc = hint;
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
    cai_ledger_dlg_free(l);
    free(l->heap);
    free(l->dirty_acc);
    free(l->dirty_esc);
    free(l->hirers);
    cai_idmap_free(&l->hirer_index);
    cai_ledger_keys_free(l);
    free(l);
}

size_t cai_ledger_memory_bytes(const ca_ledger *l)
{
    if (l == NULL)
        return 0;
    size_t n = sizeof *l;
    n += (size_t)l->cap_accounts * (sizeof(cai_account) + sizeof(uint32_t));
    n += (size_t)l->cap_hirers * sizeof(cai_hirer) + cai_idmap_memory_bytes(&l->hirer_index);
    n += cai_idmap_memory_bytes(&l->acc_index);
    n += (size_t)l->cap_unbonds * sizeof(cai_unbond);
    n += (size_t)l->cap_escrows * (sizeof(cai_escrow) + sizeof(uint32_t));
    n += cai_idmap_memory_bytes(&l->esc_index);
    n += (size_t)l->cap_evidence * sizeof(cai_evidence);
    n += cai_idmap_memory_bytes(&l->ev_index);
    n += (size_t)l->cap_heap * sizeof(cai_ledger_expiry);
    n += cai_ledger_keys_memory(l);
    n += cai_ledger_dlg_memory(l);
    return n;
}

/* ---------------------------------------------------------------- helpers */

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
    cai_idmap_insert_hashed(&l->acc_index, acc_hash(l, id), i);
    return i;
}

/* ---------------------------------------- escrows per hirer (derived, sparse) */

/* The hirers[] record of account `acc`, or CAI_NONE when it holds no escrow. */
static uint32_t hirer_find(const ca_ledger *l, uint32_t acc, uint64_t h)
{
    cai_idmap_cursor cur = cai_idmap_cursor_start(&l->hirer_index, h);
    for (uint32_t i; (i = cai_idmap_cursor_next(&l->hirer_index, &cur)) != CAI_IDMAP_NONE;)
        if (l->hirers[i].account == acc)
            return i;
    return CAI_NONE;
}

/* Escrows account `acc` holds as hirer, open or kept. */
static uint32_t hired(const ca_ledger *l, uint32_t acc)
{
    uint32_t i = hirer_find(l, acc, cai_idmap_hash_index(&l->hirer_index, acc));
    return i == CAI_NONE ? 0 : l->hirers[i].escrows;
}

/* One more escrow of hirer `acc` (room reserved with its escrow: cannot fail). */
static void hired_inc(ca_ledger *l, uint32_t acc)
{
    uint64_t h = cai_idmap_hash_index(&l->hirer_index, acc);
    uint32_t i = hirer_find(l, acc, h);
    if (i != CAI_NONE) {
        l->hirers[i].escrows++;
        return;
    }
    i = l->n_hirers++;
    l->hirers[i] = (cai_hirer){.account = acc, .escrows = 1};
    cai_idmap_insert_hashed(&l->hirer_index, h, i);
}

/* One escrow of hirer `acc` fewer; a hirer left with none loses its record (the last fills
 * the hole). */
static void hired_dec(ca_ledger *l, uint32_t acc)
{
    uint64_t h = cai_idmap_hash_index(&l->hirer_index, acc);
    uint32_t i = hirer_find(l, acc, h);
    if (i == CAI_NONE || --l->hirers[i].escrows > 0)
        return;
    (void)cai_idmap_remove_hashed(&l->hirer_index, h, i);
    uint32_t last = --l->n_hirers;
    if (i == last)
        return;
    l->hirers[i] = l->hirers[last];
    (void)cai_idmap_renumber_hashed(
        &l->hirer_index, cai_idmap_hash_index(&l->hirer_index, l->hirers[i].account), last, i);
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

/* ------------------------------------------- retention (ledger.h, AVAILABILITY) */

/* The ledger's clock for the evidence window: the later of `now` and the horizon. */
static inline uint64_t clock_at(const ca_ledger *l, uint64_t now)
{
    return now > l->horizon ? now : l->horizon;
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
    hired_dec(l, e->hirer);
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
        else if (x.kind == CAI_EXP_EVIDENCE)
            drop_evidence(l, x.idx);
        else if (x.kind == CAI_EXP_DELEGATION)
            cai_ledger_dlg_drop(l, x.idx);
        else
            cai_ledger_rev_drop(l, x.idx);
    }
}

static ca_status need_accounts(const ca_ledger *l, uint32_t n)
{
    if (n > 0 && (uint64_t)l->n_accounts + n > l->opts.max_accounts)
        return cai_fail(CA_ERR_LIMIT, "ledger holds the maximum of %u accounts",
                        l->opts.max_accounts);
    return CA_OK;
}

/* ------------------------------------------------------------------ ops */

/*
 * The op table (ledger_internal.h, cai_ledger_op_spec; docs/LEDGER.md
 * "Checks" is printed from it): per op type, the fields it carries, who
 * signs, its checks in order, what it reserves and its commit. apply_op
 * below runs the same steps for every row.
 */

/* What a SLASH's checks computed: everything its commit moves. */
typedef struct slash_plan {
    uint32_t offender, victim;   /* victim CAI_NONE: its share burns */
    uint64_t offense;            /* offense time: the escrow's deadline or op.deadline */
    uint64_t total, from_bonded; /* taken in all, and from the bond */
    ca_hash key;                 /* the evidence key */
} slash_plan;

struct cai_op_ctx {
    const cai_ledger_op_spec *spec;
    const ca_ledger_op *op;
    uint64_t now;
    const uint64_t *result_at; /* created_at of the RESULT a signed DELIVER carries, or NULL */
    uint32_t si, ci, ei;       /* signer, counterparty, escrow; CAI_NONE: none (yet) */
    unsigned k;                /* checks of the row that passed (CHECK) */
    uint64_t mature_at;        /* UNBOND */
    slash_plan sp;             /* SLASH */
    cai_dlg_ctx *dg;           /* a delegated op's chain and records, NULL for a direct op */
};

/* Option fields of a SLASH row: the fraction (uint32_t) and the jail term (uint64_t). */
static inline uint32_t opt_u32(const ca_ledger *l, size_t off)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)&l->opts + off, sizeof v);
    return v;
}

static inline uint64_t opt_u64(const ca_ledger *l, size_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)&l->opts + off, sizeof v);
    return v;
}

static uint32_t slash_ppm(const ca_ledger *l, uint32_t kind)
{
    static const size_t off[] = {0, offsetof(ca_ledger_options, slash_equivocation_ppm),
                                 offsetof(ca_ledger_options, slash_missed_deadline_ppm),
                                 offsetof(ca_ledger_options, slash_dispute_ppm)};
    return opt_u32(l, off[kind]);
}

static uint64_t jail_for(const ca_ledger *l, uint32_t kind)
{
    static const size_t off[] = {0, offsetof(ca_ledger_options, jail_equivocation),
                                 offsetof(ca_ledger_options, jail_missed_deadline),
                                 offsetof(ca_ledger_options, jail_dispute)};
    return opt_u64(l, off[kind]);
}

/*
 * STEP_FN: always inlined. The steps below, and each keyed row's check and
 * commit, inline into that row's apply function (apply_row): the hot path
 * pays for no call but the lookups and the records' growth.
 */
#if defined(__GNUC__) || defined(__clang__)
#define STEP_FN static inline __attribute__((always_inline))
#define ROW_FN  static __attribute__((noinline))
#else
#define STEP_FN static inline
#define ROW_FN  static
#endif

/* ---- checks: one function per row, its CHECKs in the order of the row's `checks` ---- */

/*
 * CHECK(ok, sentence...) is the next of the row's checks (k counts them from
 * 0): when `ok` is false the op answers that check's status, the one the
 * table states (and docs/LEDGER.md prints), with the sentence. c->k is how
 * many checks passed, so a test can tell which one answered
 * (cai_ledger_check_op).
 */
#define CHECK(ok, ...)                                                                             \
    do {                                                                                           \
        if (!(ok)) {                                                                               \
            c->k = k;                                                                              \
            return cai_fail(c->spec->checks[k].status, __VA_ARGS__);                               \
        }                                                                                          \
        k++;                                                                                       \
    } while (0)
#define CHECKED() (c->k = k, CA_OK)

STEP_FN ca_status check_mint(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(c->op->amount <= UINT64_MAX - l->minted, "minting would overflow the supply");
    return CHECKED();
}

STEP_FN ca_status check_transfer(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(c->si != CAI_NONE, "sender has no account");
    const uint64_t have = l->accounts[c->si].balance;
    CHECK(have >= c->op->amount, "balance %llu < %llu", (unsigned long long)have,
          (unsigned long long)c->op->amount);
    return CHECKED();
}

STEP_FN ca_status check_bond(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(c->si != CAI_NONE, "signer has no account");
    const cai_account *s = &l->accounts[c->si];
    CHECK(c->now >= s->jailed_until, "account jailed until %llu",
          (unsigned long long)s->jailed_until);
    CHECK(s->balance >= c->op->amount, "balance too small to bond");
    return CHECKED();
}

STEP_FN ca_status check_unbond(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    const ca_ledger_options *o = &l->opts;
    CHECK(c->si != CAI_NONE, "signer has no account");
    const cai_account *s = &l->accounts[c->si];
    CHECK(s->bonded >= c->op->amount, "bonded stake too small");
    CHECK(s->unbond_count < o->max_unbonding_entries,
          "account has %u unbonding entries (the maximum)", o->max_unbonding_entries);
    CHECK(c->now <= UINT64_MAX - o->unbonding_delay, "now + unbonding delay overflows");
    c->mature_at = c->now + o->unbonding_delay;
    return CHECKED();
}

STEP_FN ca_status check_withdraw(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(c->si != CAI_NONE, "signer has no account");
    int any = 0;
    for (uint32_t e = l->accounts[c->si].unbond_head; e != CAI_NONE; e = l->unbonds[e].next)
        any |= l->unbonds[e].mature_at <= c->now;
    CHECK(any, "no unbonding entry has matured");
    return CHECKED();
}

STEP_FN ca_status check_escrow_open(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    const ca_ledger_op *op = c->op;
    const ca_ledger_options *o = &l->opts;
    const uint64_t now = c->now, t = clock_at(l, now);
    CHECK(esc_find(l, &op->ref) == CAI_NONE, "an escrow for this award exists");
    CHECK(l->n_escrows < o->max_escrows, "ledger holds the maximum of %u escrows", o->max_escrows);
    CHECK(op->deadline > now, "escrow deadline is not in the future");
    CHECK(cai_sat_add(op->deadline, o->max_evidence_age) >= t,
          "escrow deadline %llu is older than the evidence window allows (the ledger's clock "
          "is at %llu)",
          (unsigned long long)op->deadline, (unsigned long long)t);
    CHECK(op->deadline - now <= o->max_escrow_duration,
          "escrow deadline is more than max_escrow_duration (%llu ms) after now",
          (unsigned long long)o->max_escrow_duration);
    CHECK(c->si != CAI_NONE, "hirer has no account");
    c->ci = acc_find(l, &op->counterparty);
    CHECK(c->ci != CAI_NONE, "worker has no account");
    CHECK(hired(l, c->si) < o->max_escrows_per_hirer,
          "hirer holds the maximum of %u escrows (open or kept)", o->max_escrows_per_hirer);
    const cai_account *w = &l->accounts[c->ci];
    CHECK(now >= w->jailed_until, "worker jailed until %llu", (unsigned long long)w->jailed_until);
    CHECK(l->accounts[c->si].balance >= op->amount, "hirer cannot cover the payment");
    CHECK(w->balance >= op->amount2, "worker cannot cover the collateral");
    return CHECKED();
}

/* The escrow of an escrow op (SLASH MISSED_DEADLINE and DISPUTE too): c->ei, or CAI_NONE. */
static inline const cai_escrow *find_escrow(const ca_ledger *l, cai_op_ctx *c)
{
    c->ei = esc_find(l, &c->op->ref);
    return c->ei == CAI_NONE ? NULL : &l->escrows[c->ei];
}

/* The roles of account `si` in escrow e (bits). */
enum { CAI_PARTY_HIRER = 1, CAI_PARTY_WORKER = 2 };
static inline unsigned party_of(const cai_escrow *e, uint32_t si)
{
    return (si == e->hirer ? (unsigned)CAI_PARTY_HIRER : 0u) |
           (si == e->worker ? (unsigned)CAI_PARTY_WORKER : 0u);
}

STEP_FN ca_status check_escrow_deliver(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    const cai_escrow *e = find_escrow(l, c);
    CHECK(e != NULL, "no escrow for this award");
    CHECK(party_of(e, c->si) & CAI_PARTY_WORKER, "signer is not the escrow's worker");
    CHECK(e->state == CA_LEDGER_ESCROW_OPEN, "escrow already settled");
    CHECK(!e->delivered, "result already recorded");
    CHECK(c->now <= e->deadline, "deadline passed");
    CHECK(c->result_at == NULL || *c->result_at <= e->deadline,
          "RESULT created after the deadline");
    return CHECKED();
}

STEP_FN ca_status check_escrow_release(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    const cai_escrow *e = find_escrow(l, c);
    CHECK(e != NULL, "no escrow for this award");
    CHECK(party_of(e, c->si) & CAI_PARTY_HIRER, "signer is not the escrow's hirer");
    CHECK(e->state == CA_LEDGER_ESCROW_OPEN, "escrow already settled");
    return CHECKED();
}

STEP_FN ca_status check_escrow_refund(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    const cai_escrow *e = find_escrow(l, c);
    CHECK(e != NULL, "no escrow for this award");
    const unsigned party = party_of(e, c->si);
    CHECK(party != 0, "signer is not a party of the escrow");
    CHECK(e->state == CA_LEDGER_ESCROW_OPEN, "escrow already settled");
    const int hirer = party == CAI_PARTY_HIRER; /* the worker refunds any time */
    CHECK(!hirer || !e->delivered, "worker delivered in time");
    CHECK(!hirer || c->now > e->deadline, "deadline not passed");
    return CHECKED();
}

STEP_FN ca_status check_escrow_split(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    const cai_escrow *e = find_escrow(l, c);
    CHECK(e != NULL, "no escrow for this award");
    CHECK(e->state == CA_LEDGER_ESCROW_OPEN, "escrow already settled");
    CHECK(c->op->amount <= e->payment && c->op->amount2 <= e->collateral,
          "split exceeds the escrowed amounts");
    return CHECKED();
}

/*
 * The checks every SLASH ends with, from check k on: the evidence window,
 * the evidence key, the stake at risk (each bucket: the bond, each unbonding
 * entry that has not matured, loses ceil(x * ppm / 10^6)).
 */
static ca_status check_slash_tail(ca_ledger *l, cai_op_ctx *c, unsigned k)
{
    slash_plan *sp = &c->sp;
    const ca_ledger_options *o = &l->opts;
    CHECK(cai_sat_add(sp->offense, o->max_evidence_age) >= clock_at(l, c->now),
          "the offense (time %llu) is older than max_evidence_age (%llu ms)",
          (unsigned long long)sp->offense, (unsigned long long)o->max_evidence_age);
    cai_ledger_evidence_key(c->op->evidence, &c->op->ref, &c->op->counterparty, &sp->key);
    CHECK(ev_find(l, &sp->key) == CAI_NONE, "evidence already used");
    const uint32_t ppm = slash_ppm(l, c->op->evidence);
    const cai_account *off = &l->accounts[sp->offender];
    sp->from_bonded = ppm_ceil(off->bonded, ppm);
    sp->total = sp->from_bonded;
    for (uint32_t e = off->unbond_head; e != CAI_NONE; e = l->unbonds[e].next)
        if (l->unbonds[e].mature_at > c->now)
            sp->total += ppm_ceil(l->unbonds[e].amount, ppm);
    /* Else every key would be free to make. */
    CHECK(sp->total > 0, "the offender has no stake at risk: the slash would take nothing");
    return CHECKED();
}

/* The offender's account (every SLASH). */
static inline uint32_t find_offender(const ca_ledger *l, cai_op_ctx *c)
{
    c->sp.offender = acc_find(l, &c->op->counterparty);
    c->sp.victim = CAI_NONE;
    c->sp.offense = c->op->deadline;
    return c->sp.offender;
}

static ca_status check_slash_equivocation(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    /* Reports create no accounts (ledger.h, AVAILABILITY). */
    CHECK(c->si != CAI_NONE, "reporter has no account");
    CHECK(find_offender(l, c) != CAI_NONE, "offender has no account");
    CHECK(c->sp.offense <= cai_sat_add(c->now, l->opts.max_escrow_duration),
          "the task's deadline %llu is more than max_escrow_duration after now: report the "
          "offense later",
          (unsigned long long)c->sp.offense);
    return check_slash_tail(l, c, k);
}

/* Open past its deadline, or settled after it (the `missed` mark): whatever the order of slash
 * and settlement, the offense is slashable once. */
static ca_status check_slash_missed(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(c->si != CAI_NONE, "reporter has no account");
    CHECK(find_offender(l, c) != CAI_NONE, "offender has no account");
    const cai_escrow *e = find_escrow(l, c);
    CHECK(e != NULL, "no escrow for this award");
    CHECK(c->sp.offender == e->worker, "offender is not the worker");
    CHECK(!e->delivered, "worker delivered in time");
    const int open = e->state == CA_LEDGER_ESCROW_OPEN;
    CHECK(!open || c->now > e->deadline, "deadline not passed");
    CHECK(open || e->missed, "escrow was settled by its deadline");
    c->sp.victim = e->hirer;
    c->sp.offense = e->deadline;
    return check_slash_tail(l, c, k);
}

static ca_status check_slash_dispute(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(find_offender(l, c) != CAI_NONE, "offender has no account");
    const cai_escrow *e = find_escrow(l, c);
    CHECK(e != NULL, "no escrow for this award");
    const unsigned party = party_of(e, c->sp.offender);
    CHECK(party != 0, "offender is not a party");
    c->sp.victim = party == CAI_PARTY_WORKER ? e->hirer : e->worker;
    c->sp.offense = e->deadline;
    return check_slash_tail(l, c, k);
}

/* A REVOKE: the revoker has an account (reports create none), and a new record fits (a held
 * one is renewed). c->ei: the record held, or CAI_NONE. */
static ca_status check_revoke(ca_ledger *l, cai_op_ctx *c)
{
    unsigned k = 0;
    CHECK(c->si != CAI_NONE, "revoker has no account");
    c->ei = cai_ledger_rev_find(l, &c->op->ref, &c->op->signer);
    CHECK(c->ei != CAI_NONE || l->n_rev < l->opts.max_delegation_records,
          "ledger holds the maximum of %u revocations", l->opts.max_delegation_records);
    return CHECKED();
}

/* ---- commits (cannot fail: checked, memory reserved, amounts bounded by minted) ---- */

STEP_FN void commit_mint(ca_ledger *l, cai_op_ctx *c)
{
    uint32_t ci = c->ci;
    if (ci == CAI_NONE)
        ci = id_eq(&c->op->signer, &c->op->counterparty) ? c->si
                                                         : acc_create(l, &c->op->counterparty);
    else
        touch_acc(l, ci);
    l->accounts[ci].balance += c->op->amount;
    l->minted += c->op->amount;
}

STEP_FN void commit_transfer(ca_ledger *l, cai_op_ctx *c)
{
    uint32_t ci = c->ci;
    if (ci == CAI_NONE)
        ci = acc_create(l, &c->op->counterparty);
    else
        touch_acc(l, ci);
    l->accounts[c->si].balance -= c->op->amount;
    l->accounts[ci].balance += c->op->amount;
}

STEP_FN void commit_bond(ca_ledger *l, cai_op_ctx *c)
{
    cai_account *s = &l->accounts[c->si];
    s->balance -= c->op->amount;
    s->bonded += c->op->amount;
}

STEP_FN void commit_unbond(ca_ledger *l, cai_op_ctx *c)
{
    cai_account *s = &l->accounts[c->si];
    uint32_t e;
    if (l->unbond_free != CAI_NONE) {
        e = l->unbond_free;
        l->unbond_free = l->unbonds[e].next;
    } else {
        e = l->n_unbonds++;
    }
    l->unbonds[e] = (cai_unbond){c->op->amount, c->mature_at, CAI_NONE};
    uint32_t *link = &s->unbond_head;
    while (*link != CAI_NONE)
        link = &l->unbonds[*link].next;
    *link = e;
    s->unbond_count++;
    s->bonded -= c->op->amount;
    s->unbonding += c->op->amount;
}

/* Unlinks entry `e` at *link into the free list. */
static inline void unbond_free(ca_ledger *l, cai_account *a, uint32_t *link, uint32_t e)
{
    a->unbond_count--;
    *link = l->unbonds[e].next;
    l->unbonds[e].next = l->unbond_free;
    l->unbond_free = e;
}

STEP_FN void commit_withdraw(ca_ledger *l, cai_op_ctx *c)
{
    cai_account *s = &l->accounts[c->si];
    uint32_t *link = &s->unbond_head;
    while (*link != CAI_NONE) {
        uint32_t e = *link;
        if (l->unbonds[e].mature_at <= c->now) {
            s->unbonding -= l->unbonds[e].amount;
            s->balance += l->unbonds[e].amount;
            unbond_free(l, s, link, e);
        } else {
            link = &l->unbonds[e].next;
        }
    }
}

STEP_FN void commit_escrow_open(ca_ledger *l, cai_op_ctx *c)
{
    const ca_ledger_op *op = c->op;
    touch_acc(l, c->ci);
    uint32_t e = l->n_escrows++;
    l->escrows[e] = (cai_escrow){.award = op->ref,
                                 .payment = op->amount,
                                 .collateral = op->amount2,
                                 .deadline = op->deadline,
                                 .hirer = c->si,
                                 .worker = c->ci,
                                 .state = CA_LEDGER_ESCROW_OPEN,
                                 .hpos = CAI_NONE};
    list_dirty_esc(l, e);
    l->escrows[e].flags = CAI_DIRTY;
    cai_idmap_insert(&l->esc_index, op->ref.bytes, e);
    hired_inc(l, c->si);
    l->accounts[c->si].balance -= op->amount;
    l->accounts[c->ci].balance -= op->amount2;
    l->escrowed += op->amount + op->amount2;
}

STEP_FN void commit_escrow_deliver(ca_ledger *l, cai_op_ctx *c)
{
    touch_esc(l, c->ei);
    l->escrows[c->ei].delivered = 1;
    l->escrows[c->ei].result = c->op->result;
}

/* Settles the escrow: `to_worker` and `to_hirer` leave it (their sum is what it holds), `paid`
 * of the payment went to the worker. A settled escrow waits in the expiry heap until no slash
 * can use it. */
static void settle(ca_ledger *l, cai_op_ctx *c, uint8_t state, uint64_t paid, uint64_t to_worker,
                   uint64_t to_hirer)
{
    touch_esc(l, c->ei);
    cai_escrow *e = &l->escrows[c->ei];
    e->missed = !e->delivered && c->now > e->deadline;
    e->paid = paid;
    e->state = state;
    touch_acc(l, e->hirer);
    touch_acc(l, e->worker);
    l->accounts[e->worker].balance += to_worker;
    l->accounts[e->hirer].balance += to_hirer;
    l->escrowed -= e->payment + e->collateral;
    cai_ledger_expiry_push(l, CAI_EXP_ESCROW, c->ei);
}

STEP_FN void commit_escrow_release(ca_ledger *l, cai_op_ctx *c)
{
    const cai_escrow *e = &l->escrows[c->ei];
    settle(l, c, CA_LEDGER_ESCROW_RELEASED, e->payment, e->payment + e->collateral, 0);
}

STEP_FN void commit_escrow_refund(ca_ledger *l, cai_op_ctx *c)
{
    const cai_escrow *e = &l->escrows[c->ei];
    settle(l, c, CA_LEDGER_ESCROW_REFUNDED, 0, e->collateral, e->payment);
}

STEP_FN void commit_escrow_split(ca_ledger *l, cai_op_ctx *c)
{
    const cai_escrow *e = &l->escrows[c->ei];
    const uint64_t pay = c->op->amount, back = c->op->amount2;
    settle(l, c, CA_LEDGER_ESCROW_SPLIT, pay, pay + (e->collateral - back),
           (e->payment - pay) + back);
}

/* Records the used evidence key until its offense time + max_evidence_age (memory reserved). */
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

/* Takes the stake the check counted; the reporter (not the arbiter) and the victim get their
 * shares, rounding down, the rest burns; jails the offender. */
static void commit_slash(ca_ledger *l, cai_op_ctx *c)
{
    const slash_plan *sp = &c->sp;
    const uint32_t kind = c->op->evidence, ppm = slash_ppm(l, kind);
    const uint64_t now = c->now;
    const uint64_t to_reporter = c->spec->signer != CAI_SIGNER_ARBITER
                                     ? ppm_floor(sp->total, l->opts.reporter_share_ppm)
                                     : 0;
    const uint64_t to_victim =
        sp->victim != CAI_NONE ? ppm_floor(sp->total, l->opts.victim_share_ppm) : 0;
    touch_acc(l, sp->offender);
    cai_account *off = &l->accounts[sp->offender];
    off->bonded -= sp->from_bonded;
    uint32_t *link = &off->unbond_head;
    while (*link != CAI_NONE) {
        uint32_t e = *link;
        if (l->unbonds[e].mature_at > now) {
            uint64_t cut = ppm_ceil(l->unbonds[e].amount, ppm);
            l->unbonds[e].amount -= cut;
            off->unbonding -= cut;
        }
        if (l->unbonds[e].amount == 0)
            unbond_free(l, off, link, e);
        else
            link = &l->unbonds[e].next;
    }
    const uint64_t jail = jail_for(l, kind);
    if (jail > 0) {
        uint64_t until = now > UINT64_MAX - jail ? UINT64_MAX : now + jail;
        if (until > off->jailed_until)
            off->jailed_until = until;
    }
    if (to_reporter)
        l->accounts[c->si].balance += to_reporter; /* touched with the nonce */
    if (to_victim) {
        touch_acc(l, sp->victim);
        l->accounts[sp->victim].balance += to_victim;
    }
    l->burned += sp->total - to_reporter - to_victim;
    record_evidence(l, sp);
}

/* KEY_EVENT: the rule and the records are ledger_keys.c's. */
static ca_status check_key_event(ca_ledger *l, cai_op_ctx *c)
{
    return cai_ledger_key_event_check(l, c->op, c->si, &c->k);
}

static void commit_key_event(ca_ledger *l, cai_op_ctx *c)
{
    cai_ledger_key_event_commit(l, c->op, c->now);
}

static void commit_revoke(ca_ledger *l, cai_op_ctx *c)
{
    cai_ledger_rev_commit(l, &c->op->ref, &c->op->signer, c->ei, clock_at(l, c->now));
}

/* ---- the table ---- */

#define ROWS(rows) .checks = (rows), .n_checks = sizeof(rows) / sizeof((rows)[0])
#define ROW(status, doc)                                                                           \
    {                                                                                              \
        (status), (doc)                                                                            \
    }
#define HAS_ACCOUNT(who) ROW(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, who " has an account")
#define ESCROW_HELD      ROW(CA_ERR_LEDGER_UNKNOWN_ESCROW, "an escrow for `ref` is held")
#define ESCROW_OPEN      ROW(CA_ERR_LEDGER_ESCROW_CLOSED, "the escrow is open")
#define SIGNED_BY(party) ROW(CA_ERR_LEDGER_UNAUTHORIZED, "the signer is the escrow's " party)

static const cai_ledger_check mint_rows[] = {
    ROW(CA_ERR_OVERFLOW, "`minted` + `amount` ≤ 2^64 − 1"),
};

static const cai_ledger_check transfer_rows[] = {
    HAS_ACCOUNT("the signer"),
    ROW(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "the signer's balance ≥ `amount`"),
};

static const cai_ledger_check bond_rows[] = {
    HAS_ACCOUNT("the signer"),
    ROW(CA_ERR_LEDGER_JAILED, "the signer is not jailed: now ≥ its `jailed_until`"),
    ROW(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "the signer's balance ≥ `amount`"),
};

static const cai_ledger_check unbond_rows[] = {
    HAS_ACCOUNT("the signer"),
    ROW(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "the signer's bonded stake ≥ `amount`"),
    ROW(CA_ERR_LIMIT, "the signer holds fewer than `max_unbonding_entries` unbonding entries"),
    ROW(CA_ERR_OVERFLOW, "now + `unbonding_delay` ≤ 2^64 − 1 (the entry's `mature_at`)"),
};

static const cai_ledger_check withdraw_rows[] = {
    HAS_ACCOUNT("the signer"),
    ROW(CA_ERR_LEDGER_TOO_EARLY, "one of the signer's unbonding entries has `mature_at` ≤ now"),
};

static const cai_ledger_check escrow_open_rows[] = {
    ROW(CA_ERR_LEDGER_ESCROW_EXISTS, "no escrow for `ref` is held (open, or settled and kept)"),
    ROW(CA_ERR_LIMIT, "the ledger holds fewer than `max_escrows` escrows"),
    ROW(CA_ERR_LEDGER_TOO_LATE, "`deadline` > now"),
    ROW(CA_ERR_LEDGER_TOO_LATE, "`deadline` + `max_evidence_age` ≥ T (saturating)"),
    ROW(CA_ERR_LIMIT, "`deadline` − now ≤ `max_escrow_duration`"),
    HAS_ACCOUNT("the hirer (signer)"),
    ROW(CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
        "the worker (counterparty) has an account, even when `amount2` (the collateral) is 0"),
    ROW(CA_ERR_LIMIT, "the hirer holds fewer than `max_escrows_per_hirer` escrows (open or kept)"),
    ROW(CA_ERR_LEDGER_JAILED, "the worker is not jailed: now ≥ its `jailed_until`"),
    ROW(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "the hirer's balance ≥ `amount` (the payment)"),
    ROW(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, "the worker's balance ≥ `amount2` (the collateral)"),
};

static const cai_ledger_check escrow_deliver_rows[] = {
    ESCROW_HELD,
    SIGNED_BY("worker"),
    ESCROW_OPEN,
    ROW(CA_ERR_LEDGER_DELIVERED, "nothing was delivered"),
    ROW(CA_ERR_LEDGER_TOO_LATE, "now ≤ the escrow's deadline"),
    ROW(CA_ERR_LEDGER_TOO_LATE,
        "submitted with its RESULT (`ca_ledger_submit_evidence`): the RESULT's `created_at` ≤ "
        "the escrow's deadline"),
};

static const cai_ledger_check escrow_release_rows[] = {ESCROW_HELD, SIGNED_BY("hirer"),
                                                       ESCROW_OPEN};

static const cai_ledger_check escrow_refund_rows[] = {
    ESCROW_HELD,
    SIGNED_BY("hirer or its worker"),
    ESCROW_OPEN,
    ROW(CA_ERR_LEDGER_DELIVERED, "signed by the hirer: nothing was delivered"),
    ROW(CA_ERR_LEDGER_TOO_EARLY, "signed by the hirer: now > the escrow's deadline"),
};

static const cai_ledger_check escrow_split_rows[] = {
    ESCROW_HELD,
    ESCROW_OPEN,
    ROW(CA_ERR_INVALID_ARGUMENT, "`amount` ≤ the escrow's payment and `amount2` ≤ its collateral"),
};

/* The checks every SLASH ends with (check_slash_tail): `offense` is the kind's offense time,
 * `ppm` the option naming its fraction. */
#define SLASH_TAIL_ROWS(offense, ppm)                                                              \
    ROW(CA_ERR_LEDGER_EVIDENCE_EXPIRED, offense " + `max_evidence_age` ≥ T (saturating)"),         \
        ROW(CA_ERR_LEDGER_EVIDENCE_USED, "the evidence key of (`evidence`, `ref`, offender) is "   \
                                         "not recorded"),                                          \
        ROW(CA_ERR_LEDGER_NO_STAKE,                                                                \
            "the slash takes something: Σ ceil(x · `" ppm "` / 10^6) > 0 over x = the "            \
            "offender's bonded stake and each of its unbonding entries with `mature_at` > now")

static const cai_ledger_check slash_equivocation_rows[] = {
    HAS_ACCOUNT("the signer (reporter)"),
    HAS_ACCOUNT("the offender (counterparty)"),
    ROW(CA_ERR_LEDGER_TOO_EARLY,
        "`deadline` (the task's: the offense time) ≤ now + `max_escrow_duration` (saturating)"),
    SLASH_TAIL_ROWS("`deadline`", "slash_equivocation_ppm"),
};

static const cai_ledger_check slash_missed_rows[] = {
    HAS_ACCOUNT("the signer (reporter)"),
    HAS_ACCOUNT("the offender (counterparty)"),
    ESCROW_HELD,
    ROW(CA_ERR_LEDGER_BAD_EVIDENCE, "the offender is the escrow's worker"),
    ROW(CA_ERR_LEDGER_DELIVERED, "nothing was delivered"),
    ROW(CA_ERR_LEDGER_TOO_EARLY, "the escrow is settled, or now > its deadline"),
    ROW(CA_ERR_LEDGER_ESCROW_CLOSED,
        "the escrow is open, or was settled after its deadline (its `missed` mark)"),
    SLASH_TAIL_ROWS("the escrow's deadline", "slash_missed_deadline_ppm"),
};

static const cai_ledger_check slash_dispute_rows[] = {
    HAS_ACCOUNT("the offender (counterparty)"),
    ESCROW_HELD,
    ROW(CA_ERR_LEDGER_BAD_EVIDENCE, "the offender is the escrow's hirer or worker (the escrow "
                                    "open or settled)"),
    SLASH_TAIL_ROWS("the escrow's deadline", "slash_dispute_ppm"),
};

static const cai_ledger_check revoke_rows[] = {
    HAS_ACCOUNT("the signer (revoker)"),
    ROW(CA_ERR_LIMIT, "a REVOKE of `ref` by the signer is held (it is renewed), or the ledger "
                      "holds fewer than `max_delegation_records` revocations"),
};

#define SLASH_ROW(kind, nm, rows, check_, signer_, zero_, who_, effect_)                           \
    {                                                                                              \
        .name = (nm), .type = CA_LEDGER_OP_SLASH, .evidence = (kind),                              \
        .fields = F_CP | F_REF | F_DL | F_EV, .zero = (zero_), .signer = (signer_), .distinct = 1, \
        .reserve = CAI_RES_EVIDENCE | CAI_RES_EXPIRY, ROWS(rows), .check = (check_),               \
        .commit = commit_slash, .who = (who_), .effect = (effect_)                                 \
    }

const cai_ledger_op_spec cai_ledger_ops[CAI_LEDGER_N_SPECS] = {
    [CA_LEDGER_OP_MINT] = {.name = "MINT",
                           .type = CA_LEDGER_OP_MINT,
                           .fields = F_CP | F_AMT,
                           .need = F_AMT,
                           .signer = CAI_SIGNER_AUTHORITY,
                           .new_cp = 1,
                           ROWS(mint_rows),
                           .check = check_mint,
                           .commit = commit_mint,
                           .who = "the authority",
                           .effect = "`amount` new units to the counterparty (the authority "
                                     "itself allowed)"},
    [CA_LEDGER_OP_TRANSFER] = {.name = "TRANSFER",
                               .type = CA_LEDGER_OP_TRANSFER,
                               .fields = F_CP | F_AMT,
                               .need = F_AMT,
                               .distinct = 1,
                               .new_cp = 1,
                               ROWS(transfer_rows),
                               .check = check_transfer,
                               .commit = commit_transfer,
                               .who = "the owner of the funds",
                               .effect = "`amount` from the signer's balance to the "
                                         "counterparty's"},
    [CA_LEDGER_OP_BOND] = {.name = "BOND",
                           .type = CA_LEDGER_OP_BOND,
                           .fields = F_AMT,
                           .need = F_AMT,
                           ROWS(bond_rows),
                           .check = check_bond,
                           .commit = commit_bond,
                           .who = "the owner",
                           .effect = "`amount` from balance to bonded"},
    [CA_LEDGER_OP_UNBOND] = {.name = "UNBOND",
                             .type = CA_LEDGER_OP_UNBOND,
                             .fields = F_AMT,
                             .need = F_AMT,
                             .reserve = CAI_RES_UNBOND,
                             ROWS(unbond_rows),
                             .check = check_unbond,
                             .commit = commit_unbond,
                             .who = "the owner",
                             .effect = "`amount` from bonded to a new unbonding entry, last in "
                                       "the account's list, maturing at now + "
                                       "`unbonding_delay`"},
    [CA_LEDGER_OP_WITHDRAW] = {.name = "WITHDRAW",
                               .type = CA_LEDGER_OP_WITHDRAW,
                               ROWS(withdraw_rows),
                               .check = check_withdraw,
                               .commit = commit_withdraw,
                               .who = "the owner",
                               .effect = "every unbonding entry with `mature_at` ≤ now to "
                                         "balance"},
    [CA_LEDGER_OP_ESCROW_OPEN] = {.name = "ESCROW_OPEN",
                                  .type = CA_LEDGER_OP_ESCROW_OPEN,
                                  .fields = F_CP | F_REF | F_AMT | F_AMT2 | F_DL,
                                  .need = F_AMT,
                                  .distinct = 1,
                                  .reserve = CAI_RES_ESCROW,
                                  ROWS(escrow_open_rows),
                                  .check = check_escrow_open,
                                  .commit = commit_escrow_open,
                                  .who = "the hirer; signed ops carry the worker's cosignature",
                                  .effect = "a new open escrow for `ref` holding `amount` (the "
                                            "payment) of the hirer's balance and `amount2` (the "
                                            "collateral) of the worker's"},
    [CA_LEDGER_OP_ESCROW_DELIVER] = {.name = "ESCROW_DELIVER",
                                     .type = CA_LEDGER_OP_ESCROW_DELIVER,
                                     .fields = F_REF | F_RES,
                                     .need = F_RES,
                                     ROWS(escrow_deliver_rows),
                                     .check = check_escrow_deliver,
                                     .commit = commit_escrow_deliver,
                                     .who = "the escrow's worker",
                                     .effect = "the escrow is delivered and records `result`"},
    [CA_LEDGER_OP_ESCROW_RELEASE] = {.name = "ESCROW_RELEASE",
                                     .type = CA_LEDGER_OP_ESCROW_RELEASE,
                                     .fields = F_REF,
                                     .reserve = CAI_RES_EXPIRY,
                                     ROWS(escrow_release_rows),
                                     .check = check_escrow_release,
                                     .commit = commit_escrow_release,
                                     .who = "the escrow's hirer",
                                     .effect = "settles it: payment and collateral to the "
                                               "worker"},
    [CA_LEDGER_OP_ESCROW_REFUND] = {.name = "ESCROW_REFUND",
                                    .type = CA_LEDGER_OP_ESCROW_REFUND,
                                    .fields = F_REF,
                                    .reserve = CAI_RES_EXPIRY,
                                    ROWS(escrow_refund_rows),
                                    .check = check_escrow_refund,
                                    .commit = commit_escrow_refund,
                                    .who = "the escrow's worker, or its hirer",
                                    .effect = "settles it: payment to the hirer, collateral to "
                                              "the worker"},
    [CA_LEDGER_OP_ESCROW_SPLIT] = {.name = "ESCROW_SPLIT",
                                   .type = CA_LEDGER_OP_ESCROW_SPLIT,
                                   .fields = F_REF | F_AMT | F_AMT2,
                                   .signer = CAI_SIGNER_ARBITER,
                                   .reserve = CAI_RES_EXPIRY,
                                   ROWS(escrow_split_rows),
                                   .check = check_escrow_split,
                                   .commit = commit_escrow_split,
                                   .who = "the arbiter",
                                   .effect = "settles it: `amount` of the payment and the "
                                             "collateral but `amount2` to the worker, the rest "
                                             "to the hirer"},
    [CA_LEDGER_OP_REVOKE] = {.name = "REVOKE",
                             .type = CA_LEDGER_OP_REVOKE,
                             .fields = F_REF,
                             .need = F_REF,
                             .reserve = CAI_RES_REVOKE | CAI_RES_EXPIRY,
                             ROWS(revoke_rows),
                             .check = check_revoke,
                             .commit = commit_revoke,
                             .who = "a revoker (an issuer of a delegation chain)",
                             .effect = "records the revocation of the delegation `ref` by the "
                                       "signer, kept until T + `max_delegation_lifetime` (a "
                                       "second one renews it); from here on a chain in which "
                                       "the signer issued `ref` or a link above it is refused "
                                       "(\"Delegation\")"},
    [CA_LEDGER_OP_KEY_EVENT] = {.name = "KEY_EVENT",
                                .type = CA_LEDGER_OP_KEY_EVENT,
                                .fields = F_REF | F_AMT,
                                .need = F_REF,
                                .reserve = CAI_RES_KEY,
                                .checks = cai_ledger_key_event_rows,
                                .n_checks = CAI_KEY_EVENT_CHECKS,
                                .check = check_key_event,
                                .commit = commit_key_event,
                                .who = "the account; signed with the event's key",
                                .effect = "binds the account to the key history the attached "
                                          "event begins (an inception) or moves its key record "
                                          "to the event (a rotation): from here on only the "
                                          "record's current key signs for the account"},
    [CAI_LEDGER_SLASH_ROW(CA_LEDGER_EVIDENCE_EQUIVOCATION)] =
        SLASH_ROW(CA_LEDGER_EVIDENCE_EQUIVOCATION, "SLASH EQUIVOCATION", slash_equivocation_rows,
                  check_slash_equivocation, CAI_SIGNER_ANY, 0, "a reporter",
                  "slashes the offender, jails it for `jail_equivocation` (\"Slashing\"): a "
                  "reporter's share, no victim"),
    [CAI_LEDGER_SLASH_ROW(CA_LEDGER_EVIDENCE_MISSED_DEADLINE)] =
        SLASH_ROW(CA_LEDGER_EVIDENCE_MISSED_DEADLINE, "SLASH MISSED_DEADLINE", slash_missed_rows,
                  check_slash_missed, CAI_SIGNER_ANY, F_DL, "a reporter",
                  "slashes the worker, jails it for `jail_missed_deadline` (\"Slashing\"): a "
                  "reporter's share, the hirer the victim"),
    [CAI_LEDGER_SLASH_ROW(CA_LEDGER_EVIDENCE_DISPUTE)] =
        SLASH_ROW(CA_LEDGER_EVIDENCE_DISPUTE, "SLASH DISPUTE", slash_dispute_rows,
                  check_slash_dispute, CAI_SIGNER_ARBITER, F_DL, "the arbiter",
                  "slashes the offender, jails it for `jail_dispute` (\"Slashing\"): no reporter's "
                  "share, the other party the victim"),
};

unsigned cai_ledger_type_fields(uint32_t type)
{
    return cai_ledger_op_known(type) ? cai_ledger_ops[type].fields : 0;
}

size_t cai_ledger_op_steps(const cai_ledger_op_spec *s, cai_ledger_step *out, size_t cap)
{
    size_t n = 0;
#define STEP(kind_, k_, status_)                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            out[n] = (cai_ledger_step){(uint8_t)(kind_), (uint8_t)(k_), (status_)};                \
        n++;                                                                                       \
    } while (0)
    STEP(CAI_STEP_TYPE, 0, CA_ERR_INVALID_ARGUMENT);
    STEP(CAI_STEP_UNUSED, 0, CA_ERR_INVALID_ARGUMENT);
    if (s->type == CA_LEDGER_OP_SLASH)
        STEP(CAI_STEP_EVIDENCE, 0, CA_ERR_INVALID_ARGUMENT);
    if (s->need)
        STEP(CAI_STEP_NEED, 0, CA_ERR_INVALID_ARGUMENT);
    if (s->zero)
        STEP(CAI_STEP_ZERO, 0, CA_ERR_INVALID_ARGUMENT);
    if (s->signer != CAI_SIGNER_ANY)
        STEP(CAI_STEP_SIGNER, 0, CA_ERR_LEDGER_UNAUTHORIZED);
    if (s->distinct)
        STEP(CAI_STEP_DISTINCT, 0, CA_ERR_LEDGER_SELF_DEALING);
    STEP(CAI_STEP_NONCE_USED, 0, CA_ERR_LEDGER_DUPLICATE);
    STEP(CAI_STEP_NONCE_NEXT, 0, CA_ERR_LEDGER_BAD_NONCE);
    for (unsigned k = 0; k < s->n_checks; k++)
        STEP(CAI_STEP_CHECK, k, s->checks[k].status);
    /* Every row but the authority's and the arbiter's checks that the signer has an account. */
    const int creates = s->new_cp || s->signer != CAI_SIGNER_ANY;
    if (creates)
        STEP(CAI_STEP_ACCOUNTS, 0, CA_ERR_LIMIT);
    if (creates || s->reserve)
        STEP(CAI_STEP_MEMORY, 0, CA_ERR_NO_MEMORY);
#undef STEP
    return n;
}

/* ---- applying an op: the same steps for every row ---- */

/* Step UNUSED's answer: `unused` (not zero) are the F_* of the fields the op's type does not
 * carry but the op sets. */
static ca_status unused_fail(const ca_ledger_op *op, unsigned unused, unsigned *step)
{
    *step = CAI_STEP_UNUSED;
    return cai_fail(CA_ERR_INVALID_ARGUMENT, "op type %u has a field it does not use (%s)",
                    op->type, cai_ledger_op_field_name(unused));
}

/*
 * Steps TYPE and UNUSED, the rule the encoder applies too (one encoding per op):
 * the type is known and every field it does not carry is zero. *set: the
 * fields the op sets (F_*).
 */
STEP_FN ca_status op_carried(const ca_ledger_op *op, unsigned *set, unsigned *step)
{
    if (!cai_ledger_op_known(op->type)) {
        *step = CAI_STEP_TYPE;
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "unknown ledger op type %u", op->type);
    }
    *set = cai_ledger_op_set_fields(op);
    const unsigned unused = *set & ~(unsigned)cai_ledger_ops[op->type].fields;
    if (unused != 0)
        return unused_fail(op, unused, step);
    return CA_OK;
}

ca_status cai_ledger_op_carried(const ca_ledger_op *op, unsigned *set, unsigned *step)
{
    return op_carried(op, set, step);
}

/* Steps NEED and ZERO of row s for an op that sets the fields `set`. */
STEP_FN ca_status check_need_zero(const cai_ledger_op_spec *s, unsigned set, unsigned *step)
{
    const unsigned missing = s->need & ~set, extra = s->zero & set;
    if (missing != 0) {
        *step = CAI_STEP_NEED;
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s needs a non-zero %s", s->name,
                        cai_ledger_op_field_name(missing));
    }
    if (extra != 0) {
        *step = CAI_STEP_ZERO;
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s leaves %s zero", s->name,
                        cai_ledger_op_field_name(extra));
    }
    return CA_OK;
}

/* Step 1: what the op must look like. */
STEP_FN ca_status check_shape(const ca_ledger_op *op, const cai_ledger_op_spec **spec,
                              unsigned *step)
{
    unsigned set = 0;
    ca_status st = op_carried(op, &set, step);
    if (st != CA_OK)
        return st;
    const cai_ledger_op_spec *s = cai_ledger_op_spec_of(op);
    if (s == NULL) {
        *step = CAI_STEP_EVIDENCE;
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "unknown evidence kind %u", op->evidence);
    }
    if ((st = check_need_zero(s, set, step)))
        return st;
    *spec = s;
    return CA_OK;
}

/*
 * Step 1 when the op's row s is known from its type (every type but SLASH, whose row also
 * depends on the evidence kind): the same answers as check_shape, with s a constant.
 */
STEP_FN ca_status check_shape_of(const ca_ledger_op *op, const cai_ledger_op_spec *s,
                                 unsigned *step)
{
    const unsigned set = cai_ledger_op_set_fields(op), unused = set & ~(unsigned)s->fields;
    if (unused != 0)
        return unused_fail(op, unused, step);
    return check_need_zero(s, set, step);
}

/* Step 2: the signer's fixed role, then the counterparty. */
STEP_FN ca_status check_signer(const ca_ledger *l, const cai_ledger_op_spec *s,
                               const ca_ledger_op *op, unsigned *step)
{
    if (s->signer != CAI_SIGNER_ANY &&
        !id_eq(&op->signer,
               s->signer == CAI_SIGNER_AUTHORITY ? &l->opts.authority : &l->opts.arbiter)) {
        *step = CAI_STEP_SIGNER;
        return cai_fail(CA_ERR_LEDGER_UNAUTHORIZED, "only the %s may sign %s",
                        s->signer == CAI_SIGNER_AUTHORITY ? "authority" : "arbiter", s->name);
    }
    if (s->distinct && id_eq(&op->signer, &op->counterparty)) {
        *step = CAI_STEP_DISTINCT;
        return cai_fail(CA_ERR_LEDGER_SELF_DEALING, "signer and counterparty are one account");
    }
    return CA_OK;
}

/* Step 3: nonce = the signer's last + 1 (its last is 0 while it has no account). */
STEP_FN ca_status check_nonce(const ca_ledger *l, uint32_t si, uint64_t nonce, unsigned *step)
{
    const uint64_t last = si == CAI_NONE ? 0 : l->accounts[si].nonce;
    if (nonce <= last) {
        *step = CAI_STEP_NONCE_USED;
        return cai_fail(CA_ERR_LEDGER_DUPLICATE, "nonce %llu already used (last %llu)",
                        (unsigned long long)nonce, (unsigned long long)last);
    }
    if (nonce != last + 1) {
        *step = CAI_STEP_NONCE_NEXT;
        return cai_fail(CA_ERR_LEDGER_BAD_NONCE, "nonce %llu skips ahead of %llu",
                        (unsigned long long)nonce, (unsigned long long)last + 1);
    }
    return CA_OK;
}

/* Step 5: room for what the commit adds: accounts within max_accounts, then memory. */
STEP_FN ca_status check_room(ca_ledger *l, cai_op_ctx *c, const cai_ledger_op_spec *s,
                             unsigned *step)
{
    uint32_t fresh = c->si == CAI_NONE;
    if (s->new_cp) {
        c->ci = acc_find(l, &c->op->counterparty);
        fresh += c->ci == CAI_NONE && !id_eq(&c->op->signer, &c->op->counterparty);
    }
    const unsigned r = s->reserve;
    ca_status st = CA_OK;
    if (fresh != 0 && (st = need_accounts(l, fresh))) {
        *step = CAI_STEP_ACCOUNTS;
        return st;
    }
    if ((fresh != 0 || (r & (CAI_RES_ESCROW | CAI_RES_EVIDENCE | CAI_RES_UNBOND)) != 0))
        st = reserve(l, fresh, (r & CAI_RES_ESCROW) != 0, (r & CAI_RES_EVIDENCE) != 0,
                     (r & CAI_RES_UNBOND) != 0);
    if (st == CA_OK && (r & CAI_RES_REVOKE) && c->ei == CAI_NONE)
        st = cai_ledger_rev_reserve(l);
    if (st == CA_OK && (r & CAI_RES_EXPIRY))
        st = cai_ledger_expiry_reserve(l, 1);
    if (st == CA_OK && (r & CAI_RES_KEY))
        st = cai_ledger_keys_reserve(l);
    if (st == CA_OK && c->dg != NULL)
        st = cai_ledger_dlg_reserve(l, c->dg);
    if (st != CA_OK)
        *step = CAI_STEP_MEMORY;
    return st;
}

/* Steps 2 to 5 of row s, the op's shape checked. */
STEP_FN ca_status check_rest(ca_ledger *l, cai_op_ctx *c, const cai_ledger_op_spec *s,
                             const ca_ledger_op *op, uint64_t now, const uint64_t *result_at,
                             unsigned *step)
{
    ca_status st;
    if ((st = check_signer(l, s, op, step)))
        return st;
    c->spec = s;
    c->op = op;
    c->now = now;
    c->result_at = result_at;
    c->si = acc_find(l, &op->signer);
    c->ci = c->ei = CAI_NONE;
    if (c->dg != NULL) {
        /* A delegated op: the delegation's checks, its leaf's nonce in place of the signer's. */
        if ((st = cai_ledger_dlg_check(l, c->dg, op, now))) {
            *step = CAI_STEP_DELEGATION;
            return st;
        }
    } else if ((st = check_nonce(l, c->si, op->nonce, step))) {
        return st;
    }
    if ((st = s->check(l, c))) {
        *step = CAI_STEP_CHECK;
        return st;
    }
    return check_room(l, c, s, step);
}

/* Steps 1 to 5: CA_OK when the op applies; nothing changes either way. */
static ca_status check_op(ca_ledger *l, cai_op_ctx *c, const ca_ledger_op *op, uint64_t now,
                          const uint64_t *result_at, unsigned *step)
{
    const cai_ledger_op_spec *s = NULL;
    ca_status st;
    if ((st = check_shape(op, &s, step)))
        return st;
    return check_rest(l, c, s, op, now, result_at, step);
}

/* The commit of a checked op of row s: cannot fail. */
STEP_FN void commit_op(ca_ledger *l, cai_op_ctx *c, const cai_ledger_op_spec *s,
                       const ca_ledger_op *op, uint64_t now)
{
    if (c->si == CAI_NONE)
        c->si = acc_create(l, &op->signer);
    else
        touch_acc(l, c->si);
    if (c->dg == NULL)
        l->accounts[c->si].nonce = op->nonce;
    s->commit(l, c);
    if (c->dg != NULL)
        cai_ledger_dlg_commit(l, c->dg, op->nonce);
    advance_horizon(l, now);
    l->seq++;
}

/*
 * Applies an op of row s, a constant at each call below, so that the row's
 * fields fold and its check and commit inline: the same steps as check_op.
 */
STEP_FN ca_status apply_row(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                            const uint64_t *result_at, const cai_ledger_op_spec *s)
{
    cai_op_ctx c;
    unsigned step;
    ca_status st;
    c.dg = NULL;
    if ((st = check_shape_of(op, s, &step)) ||
        (st = check_rest(l, &c, s, op, now, result_at, &step)))
        return st;
    commit_op(l, &c, s, op, now);
    return CA_OK;
}

/* apply_CA_LEDGER_OP_MINT ...: one function per type whose row the type alone names
 * (CAI_LEDGER_OP_KEYED in ledger_ops.h), each with its own inlining budget. */
#define CAI_APPLY_FN(type)                                                                         \
    ROW_FN ca_status apply_##type(ca_ledger *l, const ca_ledger_op *op, uint64_t now,              \
                                  const uint64_t *result_at)                                       \
    {                                                                                              \
        return apply_row(l, op, now, result_at, &cai_ledger_ops[type]);                            \
    }
CAI_LEDGER_OP_KEYED(CAI_APPLY_FN)
#undef CAI_APPLY_FN

/* One case per keyed type; SLASH, and an unknown type, take the row check_op finds. */
static ca_status apply_op(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                          const uint64_t *result_at)
{
    switch (op->type) {
#define CAI_CASE(type)                                                                             \
    case type:                                                                                     \
        return apply_##type(l, op, now, result_at);
        CAI_LEDGER_OP_KEYED(CAI_CASE)
#undef CAI_CASE
    default: {
        cai_op_ctx c;
        unsigned step;
        c.dg = NULL;
        ca_status st = check_op(l, &c, op, now, result_at, &step);
        if (st != CA_OK)
            return st;
        commit_op(l, &c, c.spec, op, now);
        return CA_OK;
    }
    }
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

ca_status cai_ledger_apply_delegated(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                                     cai_dlg_ctx *d)
{
    cai_op_ctx c;
    unsigned step;
    c.dg = d;
    ca_status st = check_op(l, &c, op, now, NULL, &step);
    if (st != CA_OK)
        return st;
    commit_op(l, &c, c.spec, op, now);
    return CA_OK;
}

ca_status cai_ledger_check_op(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                              const uint64_t *result_at, cai_ledger_step *failed)
{
    cai_op_ctx c;
    unsigned step = CAI_STEP_TYPE;
    c.k = 0;
    c.dg = NULL;
    ca_status st = check_op(l, &c, op, now, result_at, &step);
    *failed = (cai_ledger_step){(uint8_t)step, (uint8_t)(step == CAI_STEP_CHECK ? c.k : 0), st};
    return st;
}

/* ---------------------------------------------------------------- queries */

ca_status ca_ledger_account(const ca_ledger *l, const ca_agent_id *id, ca_ledger_account_info *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(id);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_ledger_account_info", out->version, CA_LEDGER_ACCOUNT_INFO_VERSION);
    uint32_t i = acc_find(l, id);
    if (i == CAI_NONE)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "no such account");
    const cai_account *a = &l->accounts[i];
    /* Version 1 is every field below; a later version appends and fills only what the caller
     * asked for. */
    out->balance = a->balance;
    out->bonded = a->bonded;
    out->unbonding = a->unbonding;
    out->nonce = a->nonce;
    out->jailed_until = a->jailed_until;
    out->unbonding_entries = a->unbond_count;
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
    CAI_REQUIRE_VERSION("ca_ledger_escrow_info", out->version, CA_LEDGER_ESCROW_INFO_VERSION);
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

ca_status ca_ledger_totals_get(const ca_ledger *l, ca_ledger_totals *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_ledger_totals", out->version, CA_LEDGER_TOTALS_VERSION);
    out->minted = l->minted;
    out->burned = l->burned;
    out->escrowed = l->escrowed;
    out->seq = l->seq;
    out->accounts = l->n_accounts;
    out->escrows = l->n_escrows;
    return CA_OK;
}

/* ------------------------------------------------------------------ check */

/*
 * Per-hirer escrow counts (derived state): every record names a distinct
 * account, is found through the index and counts 1 .. max_escrows_per_hirer;
 * then every escrow is counted off its hirer's record and the counts are
 * restored: all must reach zero together. No memory needed.
 */
static ca_status check_hired(ca_ledger *l)
{
    if (l->hirer_index.count != l->n_hirers)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "hirer index holds %u entries for %u hirers",
                        l->hirer_index.count, l->n_hirers);
    for (uint32_t k = 0; k < l->n_hirers; k++) {
        const cai_hirer *r = &l->hirers[k];
        if (r->account >= l->n_accounts || r->escrows == 0 ||
            r->escrows > l->opts.max_escrows_per_hirer ||
            hirer_find(l, r->account, cai_idmap_hash_index(&l->hirer_index, r->account)) != k)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "hirer record %u is wrong", k);
    }
    uint32_t i = 0, k = CAI_NONE;
    for (; i < l->n_escrows; i++) {
        uint32_t a = l->escrows[i].hirer;
        k = hirer_find(l, a, cai_idmap_hash_index(&l->hirer_index, a));
        if (k == CAI_NONE || l->hirers[k].escrows == 0)
            break;
        l->hirers[k].escrows--;
    }
    int ok = i == l->n_escrows;
    for (uint32_t j = 0; ok && j < l->n_hirers; j++)
        ok = l->hirers[j].escrows == 0;
    while (i-- > 0) {
        uint32_t a = l->escrows[i].hirer;
        l->hirers[hirer_find(l, a, cai_idmap_hash_index(&l->hirer_index, a))].escrows++;
    }
    return ok ? CA_OK : cai_fail(CA_ERR_LEDGER_INVARIANT, "per-hirer escrow counts are wrong");
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
    if ((st = cai_ledger_keys_check(l, sum)) != CA_OK)
        return st;
    if ((st = cai_ledger_dlg_check_all(l, sum)) != CA_OK)
        return st;
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
    if (hired(l, e->hirer) >= l->opts.max_escrows_per_hirer)
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
    hired_inc(l, e->hirer);
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
