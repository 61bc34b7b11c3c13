/*
 * Kademlia-style contact table. Bucket b holds contacts sharing exactly b
 * leading bits with self, in least-recently-seen order, plus a bounded
 * replacement cache. Live contacts are also kept in a crit-bit tree (a binary
 * trie with one-way branches collapsed): walking it depth-first, taking at
 * each branch the side that agrees with the target's bit first, visits ids in
 * increasing XOR distance, so the k closest cost O(k + depth).
 */
#include <stdlib.h>

#include "core/array.h"
#include "routing_internal.h"

enum { KAD_LIVE = 0, KAD_FAILED = 1, KAD_CACHED = 2 };

#define KAD_NIL     UINT32_MAX
#define KAD_LEAF    0x80000000u /* tree ref tag: a contact, not an internal node */
#define KAD_BUCKETS 256

typedef struct kad_contact {
    ca_agent_id id;
    uint32_t prev, next; /* in its bucket's live or cache list; next_free when free */
    uint8_t bucket;
    uint8_t state;
} kad_contact;

typedef struct kad_node {
    uint32_t child[2];
    uint16_t byte;
    uint8_t otherbits; /* every bit but the critical one set */
} kad_node;

typedef struct kad_list {
    uint32_t head, tail, count;
} kad_list;

typedef struct kad_bucket {
    kad_list live; /* includes failed contacts */
    kad_list cache;
    uint32_t failed;
} kad_bucket;

struct ca_kad {
    ca_kad_options opts;
    ca_agent_id self;
    kad_contact *contacts;
    uint32_t ncontacts, contacts_cap, free_contact;
    uint32_t max_records; /* contacts that can exist at once (live, failed, cached, one new) */
    cai_idmap index;      /* id -> contact record: live, failed and cached */
    kad_node *nodes;
    uint32_t nnodes, nodes_cap, free_node;
    uint32_t root; /* KAD_NIL when empty */
    size_t live, members;
    kad_bucket buckets[KAD_BUCKETS];
};

ca_status ca_kad_options_init(ca_kad_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("kad options", version, CA_KAD_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    opts->bucket_size = CA_KAD_BUCKET_SIZE_DEFAULT;
    opts->cache_size = CA_KAD_CACHE_SIZE_DEFAULT;
    opts->max_contacts = CA_KAD_MAX_CONTACTS_DEFAULT;
    return CA_OK;
}

unsigned cai_kad_bucket_index(const ca_agent_id *self, const ca_agent_id *id)
{
    if (self == NULL || id == NULL)
        return 0;
    for (unsigned i = 0; i < CA_AGENT_ID_BYTES; i++) {
        unsigned x = self->bytes[i] ^ id->bytes[i];
        if (x != 0) {
            unsigned b = 0;
            while (!(x & 0x80u)) {
                x <<= 1;
                b++;
            }
            return 8 * i + b;
        }
    }
    return 8 * CA_AGENT_ID_BYTES;
}

ca_status ca_kad_new(ca_kad **out, const ca_agent_id *self, const ca_kad_options *opts)
{
    CAI_REQUIRE(out);
    CAI_REQUIRE(self);
    *out = NULL;
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    ca_kad_options o;
    if (opts == NULL) {
        (void)ca_kad_options_init(&o, CA_KAD_OPTIONS_VERSION);
    } else {
        CAI_REQUIRE_VERSION("kad options", opts->version, CA_KAD_OPTIONS_VERSION);
        o = *opts;
    }
    if (o.bucket_size == 0 || o.max_contacts == 0 || o.max_contacts > (size_t)1 << 28 ||
        o.cache_size > (size_t)1 << 16)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "kad options: bucket_size and max_contacts must be >= 1, max_contacts "
                        "<= 2^28, cache_size <= 65536");
    ca_kad *kad = calloc(1, sizeof *kad);
    if (kad == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "kad: out of memory");
    kad->opts = o;
    kad->self = *self;
    kad->free_contact = kad->free_node = KAD_NIL;
    kad->root = KAD_NIL;
    /* Members <= max_contacts, cached <= cache_size a bucket, and a newcomer is made before
     * the contact it replaces goes: <= 2^28 + 2^24 + 1, within the map's limit. */
    kad->max_records = (uint32_t)(o.max_contacts + KAD_BUCKETS * o.cache_size + 1);
    (void)cai_idmap_init(&kad->index, kad->max_records);
    if ((st = cai_idmap_reserve(&kad->index, 1)) != CA_OK) {
        ca_kad_free(kad);
        return st;
    }
    for (int b = 0; b < KAD_BUCKETS; b++) {
        kad->buckets[b].live = (kad_list){KAD_NIL, KAD_NIL, 0};
        kad->buckets[b].cache = (kad_list){KAD_NIL, KAD_NIL, 0};
    }
    *out = kad;
    return CA_OK;
}

void ca_kad_free(ca_kad *kad)
{
    if (kad == NULL)
        return;
    free(kad->contacts);
    cai_idmap_free(&kad->index);
    free(kad->nodes);
    free(kad);
}

size_t ca_kad_count(const ca_kad *kad)
{
    return kad == NULL ? 0 : kad->live;
}

/* ---- id -> contact: the keyed id map ---- */

/* The contact record holding id, or KAD_NIL. */
static uint32_t kad_find(const ca_kad *kad, const ca_agent_id *id)
{
    uint32_t c = cai_idmap_find(&kad->index, kad->contacts, sizeof *kad->contacts, id->bytes);
    return c == CAI_IDMAP_NONE ? KAD_NIL : c;
}

/* ---- bucket lists ---- */

static void list_unlink(ca_kad *kad, kad_list *l, uint32_t c)
{
    kad_contact *x = &kad->contacts[c];
    if (x->prev != KAD_NIL)
        kad->contacts[x->prev].next = x->next;
    else
        l->head = x->next;
    if (x->next != KAD_NIL)
        kad->contacts[x->next].prev = x->prev;
    else
        l->tail = x->prev;
    l->count--;
}

static void list_append(ca_kad *kad, kad_list *l, uint32_t c)
{
    kad_contact *x = &kad->contacts[c];
    x->prev = l->tail;
    x->next = KAD_NIL;
    if (l->tail != KAD_NIL)
        kad->contacts[l->tail].next = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

/* ---- crit-bit tree over live ids ---- */

static unsigned dir_at(const kad_node *q, const ca_agent_id *id)
{
    return (1u + (q->otherbits | id->bytes[q->byte])) >> 8;
}

static ca_status tree_reserve(ca_kad *kad)
{
    if (kad->free_node != KAD_NIL)
        return CA_OK;
    /* A tree of n live contacts has n - 1 internal nodes. */
    return cai_array_grow((void **)&kad->nodes, &kad->nodes_cap, (uint64_t)kad->nnodes + 1,
                          sizeof *kad->nodes, (uint32_t)kad->opts.max_contacts);
}

/* Inserts contact c (its id is not in the tree); a node must be reserved. */
static void tree_insert(ca_kad *kad, uint32_t c)
{
    const ca_agent_id *x = &kad->contacts[c].id;
    if (kad->root == KAD_NIL) {
        kad->root = c | KAD_LEAF;
        return;
    }
    uint32_t p = kad->root;
    while (!(p & KAD_LEAF))
        p = kad->nodes[p].child[dir_at(&kad->nodes[p], x)];
    const ca_agent_id *y = &kad->contacts[p & ~KAD_LEAF].id;
    uint32_t newbyte = 0;
    while (x->bytes[newbyte] == y->bytes[newbyte])
        newbyte++;
    unsigned bits = (unsigned)(x->bytes[newbyte] ^ y->bytes[newbyte]);
    bits |= bits >> 1;
    bits |= bits >> 2;
    bits |= bits >> 4;
    bits = (bits & ~(bits >> 1)) ^ 255u;
    unsigned newdir = (1u + (bits | y->bytes[newbyte])) >> 8;

    uint32_t n;
    if (kad->free_node != KAD_NIL) {
        n = kad->free_node;
        kad->free_node = kad->nodes[n].child[0];
    } else {
        n = kad->nnodes++;
    }
    kad->nodes[n].byte = (uint16_t)newbyte;
    kad->nodes[n].otherbits = (uint8_t)bits;
    kad->nodes[n].child[1 - newdir] = c | KAD_LEAF;

    uint32_t *where = &kad->root;
    for (;;) {
        uint32_t q = *where;
        if (q & KAD_LEAF)
            break;
        const kad_node *qn = &kad->nodes[q];
        if (qn->byte > newbyte || (qn->byte == newbyte && qn->otherbits > bits))
            break;
        where = &kad->nodes[q].child[dir_at(qn, x)];
    }
    kad->nodes[n].child[newdir] = *where;
    *where = n;
}

static void tree_delete(ca_kad *kad, uint32_t c)
{
    const ca_agent_id *x = &kad->contacts[c].id;
    uint32_t *where = &kad->root, *whereq = NULL;
    uint32_t q = KAD_NIL;
    unsigned dir = 0;
    while (!(*where & KAD_LEAF)) {
        whereq = where;
        q = *where;
        dir = dir_at(&kad->nodes[q], x);
        where = &kad->nodes[q].child[dir];
    }
    if (whereq == NULL) {
        kad->root = KAD_NIL;
        return;
    }
    *whereq = kad->nodes[q].child[1 - dir];
    kad->nodes[q].child[0] = kad->free_node;
    kad->free_node = q;
}

/* ---- contacts ---- */

static ca_status contact_alloc(ca_kad *kad, uint32_t *out)
{
    if (kad->free_contact != KAD_NIL) {
        *out = kad->free_contact;
        kad->free_contact = kad->contacts[*out].next;
        return CA_OK;
    }
    ca_status st =
        cai_array_grow((void **)&kad->contacts, &kad->contacts_cap, (uint64_t)kad->ncontacts + 1,
                       sizeof *kad->contacts, kad->max_records);
    if (st != CA_OK)
        return st;
    *out = kad->ncontacts++;
    return CA_OK;
}

/* Unlinks contact c from everything and frees it. */
static void contact_drop(ca_kad *kad, uint32_t c)
{
    kad_contact *x = &kad->contacts[c];
    kad_bucket *b = &kad->buckets[x->bucket];
    (void)cai_idmap_remove(&kad->index, x->id.bytes, c);
    if (x->state == KAD_CACHED) {
        list_unlink(kad, &b->cache, c);
    } else {
        list_unlink(kad, &b->live, c);
        kad->members--;
        if (x->state == KAD_LIVE) {
            tree_delete(kad, c);
            kad->live--;
        } else {
            b->failed--;
        }
    }
    x->next = kad->free_contact;
    kad->free_contact = c;
}

/* Makes cached or new contact c a live member of its bucket. */
static void make_live(ca_kad *kad, uint32_t c)
{
    kad_contact *x = &kad->contacts[c];
    x->state = KAD_LIVE;
    list_append(kad, &kad->buckets[x->bucket].live, c);
    tree_insert(kad, c);
    kad->live++;
    kad->members++;
}

ca_status ca_kad_seen(ca_kad *kad, const ca_agent_id *id, ca_kad_outcome *outcome)
{
    CAI_REQUIRE(kad);
    CAI_REQUIRE(id);
    ca_kad_outcome dummy;
    if (outcome == NULL)
        outcome = &dummy;
    unsigned bi = cai_kad_bucket_index(&kad->self, id);
    if (bi == 8 * CA_AGENT_ID_BYTES) {
        *outcome = CA_KAD_IGNORED;
        return CA_OK;
    }
    /* Reserve first so no failure leaves a half-made change. */
    ca_status st = cai_idmap_reserve(&kad->index, 1);
    if (st == CA_OK)
        st = tree_reserve(kad);
    if (st != CA_OK)
        return st;
    kad_bucket *b = &kad->buckets[bi];
    uint32_t c = kad_find(kad, id);
    if (c != KAD_NIL) {
        kad_contact *x = &kad->contacts[c];
        if (x->state != KAD_CACHED) {
            list_unlink(kad, &b->live, c);
            list_append(kad, &b->live, c);
            if (x->state == KAD_FAILED) { /* it answered after all */
                x->state = KAD_LIVE;
                b->failed--;
                tree_insert(kad, c);
                kad->live++;
            }
            *outcome = CA_KAD_REFRESHED;
            return CA_OK;
        }
        /* Cached: heard again. Take it in if there is room now, else refresh its cache place. */
        if (b->live.count < kad->opts.bucket_size && kad->members < kad->opts.max_contacts) {
            list_unlink(kad, &b->cache, c);
            make_live(kad, c);
            *outcome = CA_KAD_ADDED;
        } else {
            list_unlink(kad, &b->cache, c);
            list_append(kad, &b->cache, c);
            *outcome = CA_KAD_CACHED;
        }
        return CA_OK;
    }
    int room = b->live.count < kad->opts.bucket_size && kad->members < kad->opts.max_contacts;
    if (!room && b->failed == 0 && kad->opts.cache_size == 0) {
        *outcome = CA_KAD_IGNORED;
        return CA_OK;
    }
    st = contact_alloc(kad, &c);
    if (st != CA_OK)
        return st;
    kad_contact *x = &kad->contacts[c];
    x->id = *id;
    x->bucket = (uint8_t)bi;
    cai_idmap_insert(&kad->index, id->bytes, c);
    if (room) {
        make_live(kad, c);
        *outcome = CA_KAD_ADDED;
    } else if (b->failed > 0) {
        /* Replace the least recently seen failed contact. */
        uint32_t f = b->live.head;
        while (kad->contacts[f].state != KAD_FAILED)
            f = kad->contacts[f].next;
        contact_drop(kad, f);
        make_live(kad, c);
        *outcome = CA_KAD_REPLACED;
    } else {
        x->state = KAD_CACHED;
        list_append(kad, &b->cache, c);
        if (b->cache.count > kad->opts.cache_size)
            contact_drop(kad, b->cache.head); /* the oldest cached id goes */
        *outcome = CA_KAD_CACHED;
    }
    return CA_OK;
}

ca_status ca_kad_mark_failed(ca_kad *kad, const ca_agent_id *id)
{
    CAI_REQUIRE(kad);
    CAI_REQUIRE(id);
    uint32_t c = kad_find(kad, id);
    if (c == KAD_NIL || kad->contacts[c].state == KAD_CACHED)
        return cai_fail(CA_ERR_NOT_FOUND, "kad: not a contact");
    ca_status st = tree_reserve(kad);
    if (st != CA_OK)
        return st;
    kad_contact *x = &kad->contacts[c];
    kad_bucket *b = &kad->buckets[x->bucket];
    if (b->cache.count > 0) {
        uint32_t promote = b->cache.tail; /* most recently seen */
        contact_drop(kad, c);
        list_unlink(kad, &b->cache, promote);
        make_live(kad, promote);
    } else if (x->state == KAD_LIVE) {
        x->state = KAD_FAILED;
        b->failed++;
        tree_delete(kad, c);
        kad->live--;
    }
    return CA_OK;
}

ca_status ca_kad_remove(ca_kad *kad, const ca_agent_id *id)
{
    CAI_REQUIRE(kad);
    CAI_REQUIRE(id);
    uint32_t c = kad_find(kad, id);
    if (c == KAD_NIL)
        return cai_fail(CA_ERR_NOT_FOUND, "kad: not a contact");
    contact_drop(kad, c);
    return CA_OK;
}

ca_status ca_kad_closest(const ca_kad *kad, const ca_agent_id *target, ca_agent_id *out, size_t k,
                         size_t *out_count)
{
    CAI_REQUIRE(kad);
    CAI_REQUIRE(target);
    CAI_REQUIRE(out_count);
    *out_count = 0;
    if (k > 0 && out == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "kad: out is NULL with k = %zu", k);
    size_t n = 0;
    if (kad->root != KAD_NIL && k > 0) {
        /* Depth-first, the side agreeing with the target first. The depth is
         * at most 256 internal nodes, and each level leaves one sibling. */
        uint32_t stack[8 * CA_AGENT_ID_BYTES + 2];
        size_t sp = 0;
        stack[sp++] = kad->root;
        while (sp > 0 && n < k) {
            uint32_t p = stack[--sp];
            while (!(p & KAD_LEAF)) {
                const kad_node *q = &kad->nodes[p];
                unsigned d = dir_at(q, target);
                stack[sp++] = q->child[1 - d];
                p = q->child[d];
            }
            out[n++] = kad->contacts[p & ~KAD_LEAF].id;
        }
    }
    *out_count = n;
    return CA_OK;
}

/* ---- self-check (tests and fuzzing) ---- */

#define KCHECK(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return cai_fail(CA_ERR_STATE, "kad invariant broken: %s (line %d)", #cond, __LINE__);  \
    } while (0)

/* In-order walk: leaves ascending, each counted once, crit bits increasing downwards. */
CAI_ORACLE static ca_status check_subtree(const ca_kad *kad, uint32_t p, int min_pos,
                                          size_t *leaves, const ca_agent_id **prev)
{
    if (p & KAD_LEAF) {
        uint32_t c = p & ~KAD_LEAF;
        KCHECK(c < kad->ncontacts && kad->contacts[c].state == KAD_LIVE);
        if (*prev != NULL)
            KCHECK(memcmp((*prev)->bytes, kad->contacts[c].id.bytes, CA_AGENT_ID_BYTES) < 0);
        *prev = &kad->contacts[c].id;
        (*leaves)++;
        return CA_OK;
    }
    KCHECK(p < kad->nnodes);
    const kad_node *q = &kad->nodes[p];
    unsigned bit = (unsigned)(~q->otherbits) & 0xffu;
    KCHECK(q->byte < CA_AGENT_ID_BYTES && bit != 0 && (bit & (bit - 1)) == 0);
    int pos = 8 * q->byte;
    while (!(bit & (0x80u >> (pos % 8))))
        pos++;
    KCHECK(pos > min_pos);
    ca_status st = check_subtree(kad, q->child[0], pos, leaves, prev);
    if (st == CA_OK)
        st = check_subtree(kad, q->child[1], pos, leaves, prev);
    return st;
}

CAI_ORACLE ca_status cai_kad_check(const ca_kad *kad)
{
    size_t live = 0, members = 0, cached = 0;
    for (int b = 0; b < KAD_BUCKETS; b++) {
        const kad_bucket *bk = &kad->buckets[b];
        if (bk->live.head == KAD_NIL && bk->cache.head == KAD_NIL) {
            /* Most buckets are empty: the same checks as below, without the walks. */
            KCHECK(bk->live.tail == KAD_NIL && bk->cache.tail == KAD_NIL && bk->live.count == 0 &&
                   bk->cache.count == 0 && bk->failed == 0);
            continue;
        }
        KCHECK(bk->live.count <= kad->opts.bucket_size);
        KCHECK(bk->cache.count <= kad->opts.cache_size);
        size_t n = 0, failed = 0;
        uint32_t prev = KAD_NIL;
        for (uint32_t c = bk->live.head; c != KAD_NIL; c = kad->contacts[c].next, n++) {
            const kad_contact *x = &kad->contacts[c];
            KCHECK(x->prev == prev && x->bucket == b && x->state != KAD_CACHED);
            KCHECK(cai_kad_bucket_index(&kad->self, &x->id) == (unsigned)b);
            failed += x->state == KAD_FAILED;
            prev = c;
        }
        KCHECK(prev == bk->live.tail && n == bk->live.count && failed == bk->failed);
        KCHECK(failed == 0 || bk->cache.count == 0); /* a failure with a cache promotes at once */
        live += n - failed;
        members += n;
        n = 0;
        prev = KAD_NIL;
        for (uint32_t c = bk->cache.head; c != KAD_NIL; c = kad->contacts[c].next, n++) {
            const kad_contact *x = &kad->contacts[c];
            KCHECK(x->prev == prev && x->bucket == b && x->state == KAD_CACHED);
            prev = c;
        }
        KCHECK(prev == bk->cache.tail && n == bk->cache.count);
        cached += n;
    }
    /* Every contact (member or cached) is in the map under its own record. */
    for (uint32_t b = 0; b < KAD_BUCKETS; b++)
        for (int list = 0; list < 2; list++)
            for (uint32_t c = list ? kad->buckets[b].cache.head : kad->buckets[b].live.head;
                 c != KAD_NIL; c = kad->contacts[c].next)
                KCHECK(kad_find(kad, &kad->contacts[c].id) == c);
    KCHECK(kad->index.count == members + cached && kad->index.count * 2 <= kad->index.cap);
    KCHECK(live == kad->live && members == kad->members);
    KCHECK(members <= kad->opts.max_contacts);
    size_t leaves = 0;
    const ca_agent_id *prev = NULL;
    if (kad->root != KAD_NIL) {
        ca_status st = check_subtree(kad, kad->root, -1, &leaves, &prev);
        if (st != CA_OK)
            return st;
    }
    KCHECK(leaves == live);
    return CA_OK;
}
