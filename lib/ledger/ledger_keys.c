/*
 * Key rotation in the ledger (ledger.h "KEY ROTATION", docs/LEDGER.md "Key
 * rotation"): KEY_EVENT ops bind an account (the account of an identity's
 * inception key) to the identity's key history and follow its rotations; the
 * signed path then verifies everything signed for the account with the
 * current key of its record.
 *
 * One record per bound account (cai_keyrec), found through the keyed id map
 * by the account id: one lookup per key the signed path needs, none while no
 * account is bound. The history itself is never kept nor walked: a rotation
 * is checked against the record alone (sequence, prior digest, commitment,
 * time), as ca_key_history_append checks it against the history's last event.
 * Records are part of the state hash (a sum term each), the snapshot (format
 * 6, a section after the evidence keys) and, through the KEY_EVENT ops and
 * their event bytes, the journal.
 *
 * The reverse index (keys.by_key) files every rotated record under its
 * current key, so "which account does this key sign for now?"
 * (ca_ledger_account_of_key: routing and reputation resolve a card's key
 * with it) is one lookup too. It is derived state: the commit keeps it, journal
 * replay rebuilds it through the commit, snapshot load through the records;
 * it is neither hashed nor written.
 */
#include <stdlib.h>

#include <sodium.h>

#include "core/array.h"
#include "ledger/ledger_ops.h"

/* ------------------------------------------------------------------ records */

ca_status cai_ledger_keys_init(ca_ledger *l)
{
    memset(&l->keys, 0, sizeof l->keys);
    ca_status st = cai_idmap_init(&l->keys.index, l->opts.max_accounts);
    return st != CA_OK ? st : cai_idmap_init(&l->keys.by_key, l->opts.max_accounts);
}

void cai_ledger_keys_free(ca_ledger *l)
{
    free(l->keys.recs);
    l->keys.recs = NULL;
    cai_idmap_free(&l->keys.index);
    cai_idmap_free(&l->keys.by_key);
}

size_t cai_ledger_keys_memory(const ca_ledger *l)
{
    return (size_t)l->keys.cap * sizeof(cai_keyrec) + cai_idmap_memory_bytes(&l->keys.index) +
           cai_idmap_memory_bytes(&l->keys.by_key);
}

static uint32_t rec_find(const ca_ledger *l, const ca_agent_id *account)
{
    return cai_idmap_find(&l->keys.index, l->keys.recs, sizeof(cai_keyrec), account->bytes);
}

/* The rotated record whose current key is `key` (CAI_IDMAP_NONE: none); the reverse index reads
 * each record's `key` field. */
static uint32_t rec_find_key(const ca_ledger *l, const ca_agent_id *key, uint64_t *probes)
{
    const cai_idmap *m = &l->keys.by_key;
    if (m->count == 0)
        return CAI_IDMAP_NONE;
    return cai_idmap_find_hashed(m, (const uint8_t *)l->keys.recs + offsetof(cai_keyrec, key),
                                 sizeof(cai_keyrec), key->bytes, cai_idmap_hash(m, key->bytes),
                                 probes);
}

const ca_agent_id *cai_ledger_signing_key(ca_ledger *l, const ca_agent_id *account, int *rotated)
{
    *rotated = 0;
    if (l->keys.n == 0)
        return account;
    l->keys.lookups++;
    uint32_t i = rec_find(l, account);
    if (i == CAI_IDMAP_NONE)
        return account;
    *rotated = l->keys.recs[i].sequence > 0;
    return &l->keys.recs[i].key;
}

ca_status cai_ledger_keys_reserve(ca_ledger *l)
{
    ca_status st = cai_array_grow((void **)&l->keys.recs, &l->keys.cap, (uint64_t)l->keys.n + 1,
                                  sizeof(cai_keyrec), l->opts.max_accounts);
    if (st == CA_OK)
        st = cai_idmap_reserve(&l->keys.index, 1);
    return st != CA_OK ? st : cai_idmap_reserve(&l->keys.by_key, 1);
}

/* A record's term of the state hash: every replicated field; seq and position stay out, as the
 * ledger's seq and log position do. */
static void rec_digest(const cai_keyrec *r, uint8_t out[32])
{
    uint8_t buf[8 + 32 * 5 + 24], *p = buf;
    memcpy(p, "keyrec\0\0", 8);
    p += 8;
    memcpy(p, r->account.bytes, 32);
    memcpy(p + 32, r->identifier.bytes, 32);
    memcpy(p + 64, r->key.bytes, 32);
    memcpy(p + 96, r->digest.bytes, 32);
    memcpy(p + 128, r->next.bytes, 32);
    p += 160;
    cai_store_le64(p, r->sequence);
    cai_store_le64(p + 8, r->time);
    cai_store_le64(p + 16, r->now);
    crypto_generichash(out, 32, buf, sizeof buf, NULL, 0);
}

/* What every record must satisfy, whatever events made it. */
static int rec_ok(const ca_ledger *l, const cai_keyrec *r)
{
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    if (ca_ledger_account(l, &r->account, &a) != CA_OK || r->sequence >= CA_KEY_HISTORY_MAX_EVENTS)
        return 0;
    int is_account = cai_eq32(r->key.bytes, r->account.bytes);
    /* An inception's key is the account and its digest the identifier; a rotation's key is
     * never the account's id again. */
    if (r->sequence == 0)
        return is_account && cai_eq32(r->digest.bytes, r->identifier.bytes);
    return !is_account;
}

ca_status cai_ledger_keys_check(ca_ledger *l, uint64_t sum[4])
{
    uint8_t d[32];
    if (l->keys.index.count != l->keys.n || l->keys.n > l->n_accounts)
        return cai_fail(CA_ERR_LEDGER_INVARIANT, "key record count mismatch");
    uint32_t rotated = 0;
    for (uint32_t i = 0; i < l->keys.n; i++) {
        const cai_keyrec *r = &l->keys.recs[i];
        if (rec_find(l, &r->account) != i)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "key record %u not found by its account", i);
        /* The reverse index: every rotated record under its current key, and nothing else
         * (with the count below, a stale or foreign entry would show). */
        rotated += r->sequence > 0;
        if (r->sequence > 0 && rec_find_key(l, &r->key, NULL) != i)
            return cai_fail(CA_ERR_LEDGER_INVARIANT,
                            "key record %u is not found by its current key", i);
        if (!rec_ok(l, r) || r->seq > l->seq || r->position > l->log_pos)
            return cai_fail(CA_ERR_LEDGER_INVARIANT, "key record %u inconsistent", i);
        rec_digest(r, d);
        cai_ledger_sum_add(sum, d, 0);
    }
    if (l->keys.by_key.count != rotated)
        return cai_fail(CA_ERR_LEDGER_INVARIANT,
                        "the reverse key index holds %u entries for %u rotated records",
                        l->keys.by_key.count, rotated);
    return CA_OK;
}

/* --------------------------------------------------------------- KEY_EVENT */

ca_status cai_ledger_key_event_open(const uint8_t *event, size_t len, ca_key_event_info *out)
{
    if (len > CA_KEY_EVENT_MAX_BYTES)
        return cai_fail(CA_ERR_LIMIT, "a key event of %zu bytes exceeds %u", len,
                        CA_KEY_EVENT_MAX_BYTES);
    out->version = CA_KEY_EVENT_INFO_VERSION;
    ca_status st = ca_key_event_open(event, len, out);
    if (st != CA_OK)
        return cai_fail(CA_ERR_LEDGER_BAD_EVIDENCE, "the KEY_EVENT's event does not open (%s)",
                        ca_status_str(st));
    return CA_OK;
}

#define ROW(status, doc)                                                                           \
    {                                                                                              \
        (status), (doc)                                                                            \
    }

/* The row's checks, in order (docs/LEDGER.md prints them). */
const cai_ledger_check cai_ledger_key_event_rows[CAI_KEY_EVENT_CHECKS] = {
    ROW(CA_ERR_LEDGER_BAD_EVIDENCE,
        "submitted with its key event attached (`ca_ledger_submit_evidence`; a trusted "
        "KEY_EVENT has none)"),
    ROW(CA_ERR_LEDGER_BAD_EVIDENCE, "`ref` is the event's digest and `amount` its sequence"),
    ROW(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, "the signer has an account"),
    ROW(CA_ERR_LEDGER_UNAUTHORIZED, "an inception: its key is the signer (the account id)"),
    ROW(CA_ERR_KEY_EVENT_ORDER, "an inception: the account has no key history yet"),
    ROW(CA_ERR_KEY_EVENT_ORDER, "a rotation: the account has a key history"),
    ROW(CA_ERR_KEY_EVENT_ORDER,
        "a rotation: it names the account's identifier, sequence = the account's + 1 and prior = "
        "its last event's digest"),
    ROW(CA_ERR_KEY_NOT_COMMITTED,
        "a rotation: its key is the one the account's last event committed to"),
    ROW(CA_ERR_KEY_EVENT_ORDER,
        "a rotation: its time ≥ the last event's, and its key is neither the current key nor "
        "the account id nor the current key of another account that has rotated"),
};

#define CHECK(ok, ...)                                                                             \
    do {                                                                                           \
        if (!(ok)) {                                                                               \
            *k = n;                                                                                \
            return cai_fail(cai_ledger_key_event_rows[n].status, __VA_ARGS__);                     \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)

ca_status cai_ledger_key_event_check(ca_ledger *l, const ca_ledger_op *op, uint32_t si, unsigned *k)
{
    unsigned n = 0;
    const ca_key_event_info *ev = l->keys.pending;
    CHECK(ev != NULL, "a KEY_EVENT needs its event attached (ca_ledger_submit_evidence)");
    CHECK(cai_eq32(op->ref.bytes, ev->digest.bytes) && op->amount == ev->sequence,
          "ref and amount are not the attached event's digest and sequence");
    CHECK(si != CAI_NONE, "the signer has no account (key events create none)");
    const int inception = ev->type == CA_KEY_EVENT_INCEPTION;
    CHECK(!inception || cai_eq32(ev->key.bytes, op->signer.bytes),
          "an inception binds the account of its own first key only");
    const uint32_t ri = rec_find(l, &op->signer);
    CHECK(!inception || ri == CAI_IDMAP_NONE, "the account is bound to a key history already");
    CHECK(inception || ri != CAI_IDMAP_NONE, "the account has no key history to rotate");
    if (inception) {
        *k = n;
        return CA_OK;
    }
    /* The remaining checks are a rotation's: they read the record. */
    const cai_keyrec *r = &l->keys.recs[ri];
    CHECK(cai_eq32(ev->identifier.bytes, r->identifier.bytes) && r->sequence + 1 == ev->sequence &&
              cai_eq32(ev->prior.bytes, r->digest.bytes),
          "the rotation does not follow the account's last event (identifier, sequence %llu after "
          "%llu, or prior)",
          (unsigned long long)ev->sequence, (unsigned long long)r->sequence);
    ca_hash c;
    const int committed = ca_key_commitment(&ev->key, &c) == CA_OK; /* cannot fail: no NULL */
    CHECK(committed && cai_eq32(c.bytes, r->next.bytes),
          "the rotation's key is not the one the last event committed to");
    CHECK(ev->time >= r->time && !cai_eq32(ev->key.bytes, r->key.bytes) &&
              !cai_eq32(ev->key.bytes, r->account.bytes) &&
              rec_find_key(l, &ev->key, NULL) == CAI_IDMAP_NONE,
          "the rotation is dated before the last event, brings back a key of the history, or "
          "takes a key that signs for another account already");
    *k = n;
    return CA_OK;
}
#undef CHECK

void cai_ledger_key_event_commit(ca_ledger *l, const ca_ledger_op *op, uint64_t now)
{
    const ca_key_event_info *ev = l->keys.pending;
    uint8_t d[32];
    uint32_t i = rec_find(l, &op->signer);
    cai_keyrec *r;
    if (i == CAI_IDMAP_NONE) {
        i = l->keys.n++;
        r = &l->keys.recs[i];
        memset(r, 0, sizeof *r);
        r->account = op->signer;
        r->identifier = ev->digest;
        cai_idmap_insert(&l->keys.index, r->account.bytes, i);
    } else {
        r = &l->keys.recs[i];
        rec_digest(r, d);
        cai_ledger_sum_add(l->hsum, d, 1);
        /* The replaced key signs for nothing any more: out of the reverse index. */
        if (r->sequence > 0)
            (void)cai_idmap_remove(&l->keys.by_key, r->key.bytes, i);
    }
    r->key = ev->key;
    r->digest = ev->digest;
    r->next = ev->next;
    r->sequence = ev->sequence;
    r->time = ev->time;
    r->now = now;
    r->seq = l->seq + 1; /* the seq this op takes */
    r->position = l->keys.pending_pos;
    if (r->sequence > 0) /* room reserved; the row checked the key is in no other entry */
        cai_idmap_insert(&l->keys.by_key, r->key.bytes, i);
    rec_digest(r, d);
    cai_ledger_sum_add(l->hsum, d, 0);
}

ca_status cai_ledger_apply_key_event(ca_ledger *l, const ca_ledger_op *op,
                                     const ca_key_event_info *ev, uint64_t now, uint64_t pos)
{
    l->keys.pending = ev;
    l->keys.pending_pos = pos;
    ca_status st = cai_ledger_apply_op(l, op, now);
    l->keys.pending = NULL;
    l->keys.pending_pos = 0;
    return st;
}

/* ------------------------------------------------------------------- query */

ca_status ca_ledger_key_state(const ca_ledger *l, const ca_agent_id *account,
                              ca_ledger_key_info *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(account);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_ledger_key_info", out->version, CA_LEDGER_KEY_INFO_VERSION);
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    ca_status st = ca_ledger_account(l, account, &a);
    if (st != CA_OK)
        return st;
    uint32_t i = rec_find(l, account);
    if (i == CAI_IDMAP_NONE)
        return cai_fail(CA_ERR_NOT_FOUND, "the account is bound to no key history");
    const cai_keyrec *r = &l->keys.recs[i];
    /* Version 1 is every field below. */
    out->identifier = r->identifier;
    out->key = r->key;
    out->sequence = r->sequence;
    out->digest = r->digest;
    out->next = r->next;
    out->time = r->time;
    out->seq = r->seq;
    out->position = r->position;
    out->now = r->now;
    return CA_OK;
}

int cai_ledger_account_of_key(const ca_ledger *l, const ca_agent_id *key, ca_agent_id *account,
                              uint64_t *probes)
{
    /* 1. The current key of a rotated record signs for that record's account, whatever else
     * the key is (an account of its own included: anyone can make an account for a key by
     * sending it units, and that must not take the identity's place). */
    uint32_t i = rec_find_key(l, key, probes);
    if (i != CAI_IDMAP_NONE) {
        *account = l->keys.recs[i].account;
        return CAI_KEY_SIGNS;
    }
    /* 2. An account signs for itself unless its record has rotated away from its id. */
    if (cai_idmap_find(&l->acc_index, l->accounts, sizeof(cai_account), key->bytes) ==
        CAI_IDMAP_NONE)
        return CAI_KEY_UNKNOWN;
    if (l->keys.n > 0 && (i = rec_find(l, key)) != CAI_IDMAP_NONE && l->keys.recs[i].sequence > 0)
        return CAI_KEY_REPLACED;
    *account = *key;
    return CAI_KEY_SIGNS;
}

ca_status ca_ledger_account_of_key(const ca_ledger *l, const ca_agent_id *key,
                                   ca_agent_id *account_out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(key);
    CAI_REQUIRE(account_out);
    ca_agent_id a;
    int k = cai_ledger_account_of_key(l, key, &a, NULL);
    if (k == CAI_KEY_REPLACED)
        return cai_fail(CA_ERR_KEY_ROTATED, "the key is the id of an account whose key has "
                                            "rotated away: it signs for nothing now");
    if (k == CAI_KEY_UNKNOWN)
        return cai_fail(CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
                        "the key is no account and no rotated account's current key");
    *account_out = a;
    return CA_OK;
}

/* ---------------------------------------------------------------- snapshot */

/* account[32] identifier[32] key[32] digest[32] next[32] sequence time now seq position (u64) */
#define KEYREC_BYTES 200u

size_t cai_ledger_keys_snapshot_size(const ca_ledger *l)
{
    return 4 + (size_t)l->keys.n * KEYREC_BYTES;
}

uint8_t *cai_ledger_keys_snapshot_write(const ca_ledger *l, uint8_t *p)
{
    cai_store_le32(p, l->keys.n);
    p += 4;
    for (uint32_t i = 0; i < l->keys.n; i++) {
        const cai_keyrec *r = &l->keys.recs[i];
        memcpy(p, r->account.bytes, 32);
        memcpy(p + 32, r->identifier.bytes, 32);
        memcpy(p + 64, r->key.bytes, 32);
        memcpy(p + 96, r->digest.bytes, 32);
        memcpy(p + 128, r->next.bytes, 32);
        p += 160;
        const uint64_t v[] = {r->sequence, r->time, r->now, r->seq, r->position};
        for (int k = 0; k < 5; k++, p += 8)
            cai_store_le64(p, v[k]);
    }
    return p;
}

ca_status cai_ledger_keys_snapshot_read(ca_ledger *l, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    if ((size_t)(end - p) < 4)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot truncated before its key records");
    uint32_t n = cai_load_le32(p);
    p += 4;
    /* The count against the bytes held and the accounts, before anything is allocated. */
    if ((uint64_t)n * KEYREC_BYTES > (uint64_t)(end - p) || n > l->n_accounts)
        return cai_fail(CA_ERR_LEDGER_CORRUPT,
                        "snapshot claims %u key records, more than its bytes or accounts hold", n);
    for (uint32_t i = 0; i < n; i++, p += KEYREC_BYTES) {
        cai_keyrec r;
        memset(&r, 0, sizeof r);
        memcpy(r.account.bytes, p, 32);
        memcpy(r.identifier.bytes, p + 32, 32);
        memcpy(r.key.bytes, p + 64, 32);
        memcpy(r.digest.bytes, p + 96, 32);
        memcpy(r.next.bytes, p + 128, 32);
        r.sequence = cai_load_le64(p + 160);
        r.time = cai_load_le64(p + 168);
        r.now = cai_load_le64(p + 176);
        r.seq = cai_load_le64(p + 184);
        r.position = cai_load_le64(p + 192);
        if (rec_find(l, &r.account) != CAI_IDMAP_NONE)
            return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot repeats the key record of an account");
        if (!rec_ok(l, &r))
            return cai_fail(CA_ERR_LEDGER_CORRUPT, "snapshot key record %u is inconsistent", i);
        if (r.sequence > 0 && rec_find_key(l, &r.key, NULL) != CAI_IDMAP_NONE)
            return cai_fail(CA_ERR_LEDGER_CORRUPT,
                            "snapshot key record %u takes a key another rotated record holds", i);
        ca_status st = cai_ledger_keys_reserve(l);
        if (st != CA_OK)
            return st;
        uint32_t k = l->keys.n++;
        l->keys.recs[k] = r;
        cai_idmap_insert(&l->keys.index, r.account.bytes, k);
        if (r.sequence > 0)
            cai_idmap_insert(&l->keys.by_key, r.key.bytes, k);
        uint8_t d[32];
        rec_digest(&r, d);
        cai_ledger_sum_add(l->hsum, d, 0);
    }
    *pp = p;
    return CA_OK;
}
