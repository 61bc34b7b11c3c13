/*
 * Expiry heap: the records the ledger keeps only so that an offense is
 * slashed once (settled escrows, used evidence keys), by the time after which
 * no slash can use them (ledger.h, AVAILABILITY). ledger.c pushes a record
 * when it becomes droppable (an escrow when it settles, a key when it is
 * used) and, after each applied op, pops and drops every entry whose time is
 * before the horizon: each record is pushed once and popped once, O(log n)
 * each.
 *
 * The order is total: (at, kind, key bytes). Records with equal times are
 * dropped in key order, so the dense record arrays, which fill a hole with
 * their last record, end up in an order that depends on the op history
 * alone, not on how this heap happens to be laid out (a replica that loaded
 * a snapshot has another layout).
 */
#include <stdlib.h>

#include "core/array.h"
#include "ledger/ledger_internal.h"

/* The record's key (a revocation's: its delegation id, then its revoker breaks ties). */
static const uint8_t *entry_key(const ca_ledger *l, const cai_ledger_expiry *x)
{
    switch (x->kind) {
    case CAI_EXP_ESCROW:
        return l->escrows[x->idx].award.bytes;
    case CAI_EXP_EVIDENCE:
        return l->evidence[x->idx].key.bytes;
    case CAI_EXP_DELEGATION:
        return l->dlg[x->idx].id.bytes;
    default:
        return l->rev[x->idx].id.bytes;
    }
}

static uint32_t *hpos_of(ca_ledger *l, uint32_t kind, uint32_t idx)
{
    switch (kind) {
    case CAI_EXP_ESCROW:
        return &l->escrows[idx].hpos;
    case CAI_EXP_EVIDENCE:
        return &l->evidence[idx].hpos;
    case CAI_EXP_DELEGATION:
        return &l->dlg[idx].hpos;
    default:
        return &l->rev[idx].hpos;
    }
}

static uint32_t *entry_hpos(ca_ledger *l, const cai_ledger_expiry *x)
{
    return hpos_of(l, x->kind, x->idx);
}

/* The time of a record of `kind`. */
static uint64_t record_at(const ca_ledger *l, uint32_t kind, uint32_t idx)
{
    switch (kind) {
    case CAI_EXP_ESCROW:
        return cai_escrow_expiry(l, &l->escrows[idx]);
    case CAI_EXP_EVIDENCE:
        return l->evidence[idx].expiry;
    case CAI_EXP_DELEGATION:
        return l->dlg[idx].expires_at;
    default:
        return l->rev[idx].until;
    }
}

/* a strictly before b in (at, kind, key) order. */
static int before(const ca_ledger *l, const cai_ledger_expiry *a, const cai_ledger_expiry *b)
{
    if (a->at != b->at)
        return a->at < b->at;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    int c = memcmp(entry_key(l, a), entry_key(l, b), 32);
    if (c == 0 && a->kind == CAI_EXP_REVOCATION) /* the same delegation: by revoker */
        c = memcmp(l->rev[a->idx].revoker.bytes, l->rev[b->idx].revoker.bytes, 32);
    return c < 0;
}

static void put(ca_ledger *l, uint32_t pos, const cai_ledger_expiry *x)
{
    l->heap[pos] = *x;
    *entry_hpos(l, x) = pos;
}

static void sift_up(ca_ledger *l, uint32_t pos)
{
    cai_ledger_expiry x = l->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!before(l, &x, &l->heap[parent]))
            break;
        put(l, pos, &l->heap[parent]);
        l->heap_moves++;
        pos = parent;
    }
    put(l, pos, &x);
}

static void sift_down(ca_ledger *l, uint32_t pos)
{
    cai_ledger_expiry x = l->heap[pos];
    for (;;) {
        uint64_t c = 2 * (uint64_t)pos + 1;
        if (c >= l->n_heap)
            break;
        if (c + 1 < l->n_heap && before(l, &l->heap[c + 1], &l->heap[c]))
            c++;
        if (!before(l, &l->heap[c], &x))
            break;
        put(l, pos, &l->heap[c]);
        l->heap_moves++;
        pos = (uint32_t)c;
    }
    put(l, pos, &x);
}

ca_status cai_ledger_expiry_reserve(ca_ledger *l, uint32_t more)
{
    return cai_array_grow((void **)&l->heap, &l->cap_heap, (uint64_t)l->n_heap + more,
                          sizeof(cai_ledger_expiry), UINT32_MAX - 1);
}

void cai_ledger_expiry_push(ca_ledger *l, uint32_t kind, uint32_t idx)
{
    cai_ledger_expiry x = {0, idx, kind};
    x.at = record_at(l, kind, idx);
    uint32_t pos = l->n_heap++;
    put(l, pos, &x);
    sift_up(l, pos);
}

cai_ledger_expiry cai_ledger_expiry_pop(ca_ledger *l)
{
    cai_ledger_expiry top = l->heap[0];
    *entry_hpos(l, &top) = CAI_NONE;
    if (--l->n_heap > 0) {
        put(l, 0, &l->heap[l->n_heap]);
        sift_down(l, 0);
    }
    return top;
}

void cai_ledger_expiry_moved(ca_ledger *l, uint32_t kind, uint32_t to)
{
    uint32_t pos = *hpos_of(l, kind, to);
    if (pos != CAI_NONE)
        l->heap[pos].idx = to;
}

void cai_ledger_expiry_later(ca_ledger *l, uint32_t kind, uint32_t idx)
{
    uint32_t pos = *hpos_of(l, kind, idx);
    l->heap[pos].at = record_at(l, kind, idx);
    sift_down(l, pos);
}

ca_status cai_ledger_expiry_check(const ca_ledger *l)
{
    uint32_t kept = l->n_evidence + l->n_dlg + l->n_rev;
    for (uint32_t kind = CAI_EXP_DELEGATION; kind <= CAI_EXP_REVOCATION; kind++) {
        uint32_t n = kind == CAI_EXP_DELEGATION ? l->n_dlg : l->n_rev;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t p = kind == CAI_EXP_DELEGATION ? l->dlg[i].hpos : l->rev[i].hpos;
            if (p >= l->n_heap || l->heap[p].kind != kind || l->heap[p].idx != i ||
                l->heap[p].at != record_at(l, kind, i))
                return cai_fail(CA_ERR_LEDGER_INVARIANT, "%s record %u has no expiry entry",
                                kind == CAI_EXP_DELEGATION ? "delegation" : "revocation", i);
        }
    }
    for (uint32_t i = 0; i < l->n_escrows; i++) {
        const cai_escrow *e = &l->escrows[i];
        uint32_t p = e->hpos;
        if (e->state == CA_LEDGER_ESCROW_OPEN) {
            if (p != CAI_NONE)
                return cai_fail(CA_ERR_LEDGER_INVARIANT, "open escrow %u is in the expiry heap", i);
            continue;
        }
        kept++;
        if (p >= l->n_heap || l->heap[p].kind != CAI_EXP_ESCROW || l->heap[p].idx != i ||
            l->heap[p].at != cai_escrow_expiry(l, e))
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "settled escrow %u has no expiry entry", i);
    }
    for (uint32_t i = 0; i < l->n_evidence; i++) {
        uint32_t p = l->evidence[i].hpos;
        if (p >= l->n_heap || l->heap[p].kind != CAI_EXP_EVIDENCE || l->heap[p].idx != i ||
            l->heap[p].at != l->evidence[i].expiry)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "evidence key %u has no expiry entry", i);
    }
    /* Every kept record points at its own entry and the counts agree: a bijection. */
    if (kept != l->n_heap)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "expiry heap holds %u entries for %u records",
                        l->n_heap, kept);
    for (uint32_t p = 1; p < l->n_heap; p++)
        if (before(l, &l->heap[p], &l->heap[(p - 1) / 2]))
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "expiry heap out of order at %u", p);
    if (l->n_heap > 0 && l->heap[0].at < l->horizon)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "a record expired before the horizon is kept");
    return CA_OK;
}
