/* Ledger internals shared by the core, the op codec and the durable store. */
#ifndef CYBERAGENT_LEDGER_INTERNAL_H
#define CYBERAGENT_LEDGER_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "core/idmap.h"
#include "cyberagent/keyhistory.h"
#include "cyberagent/ledger.h"
#include "internal.h"

#define CAI_NONE UINT32_MAX

/* The public entry points check an op's version (STRUCT RULE, common.h); inside, every op
 * is of this build's layout and its version is not read. */
#define CAI_REQUIRE_OP_VERSION(v) CAI_REQUIRE_VERSION("ca_ledger_op", (v), CA_LEDGER_OP_VERSION)

/* The 1.0 layout of ca_ledger_log_entry, the smallest element size accepted (STRUCT RULE).
 * When the struct grows this stays the old layout's end, not sizeof. */
#define CAI_LEDGER_LOG_ENTRY_SIZE_1 sizeof(ca_ledger_log_entry)

/* 128-bit intermediates for fractions and sums (GCC and clang). */
__extension__ typedef unsigned __int128 cai_u128;

/* Account record: 80 bytes; index slots add 8 bytes / load factor (<= 0.5). */
typedef struct cai_account {
    ca_agent_id id; /* key; must stay first */
    uint64_t balance;
    uint64_t bonded;
    uint64_t unbonding; /* sum of this account's unbonding entries */
    uint64_t nonce;
    uint64_t jailed_until;
    uint32_t unbond_head; /* first entry in the pool, CAI_NONE when empty */
    uint16_t unbond_count;
    uint16_t flags; /* CAI_DIRTY: contribution removed from the hash sum */
} cai_account;

typedef struct cai_unbond {
    uint64_t amount;
    uint64_t mature_at;
    uint32_t next; /* next entry of the same account, or CAI_NONE (also the free list) */
} cai_unbond;

typedef struct cai_escrow {
    ca_hash award; /* key; must stay first */
    uint64_t payment;
    uint64_t collateral;
    uint64_t deadline;
    uint64_t
        paid; /* payment the worker received: 0 open/refunded, payment released, verdict split */
    uint32_t hirer; /* account indices */
    uint32_t worker;
    uint8_t state; /* ca_ledger_escrow_state */
    uint8_t delivered;
    uint8_t missed; /* settled after the deadline, nothing delivered: MISSED_DEADLINE stays open */
    uint8_t flags;
    uint32_t hpos;  /* position in the expiry heap once settled, CAI_NONE while open */
    ca_hash result; /* RESULT message id recorded by DELIVER (zero until delivered) */
} cai_escrow;

typedef struct cai_dlg_ctx cai_dlg_ctx; /* a delegated op's chain (below) */

/* A delegation id some applied delegated op used (ledger_delegation.c). */
typedef struct cai_dlg_rec {
    ca_hash id;          /* key; must stay first */
    uint64_t spent;      /* units spent through it, <= total_cap */
    uint64_t total_cap;  /* its total_cap */
    uint64_t nonce;      /* last nonce of an op with it as the leaf, 0 for none */
    uint64_t expires_at; /* dropped once the horizon passes it */
    uint32_t hpos;       /* position in the expiry heap */
    uint32_t unused;
} cai_dlg_rec;

/* A REVOKE applied: (delegation id, revoker), found through the idmap's cursor. */
typedef struct cai_rev_rec {
    ca_hash id; /* key: id then revoker, 64 contiguous bytes */
    ca_agent_id revoker;
    uint64_t until; /* dropped once the horizon passes it */
    uint32_t hpos;
    uint32_t unused;
} cai_rev_rec;
/* A hirer's count of escrows it holds, open or kept (max_escrows_per_hirer). */
typedef struct cai_hirer {
    uint32_t account; /* index in l->accounts */
    uint32_t escrows; /* >= 1: a hirer with none has no record */
} cai_hirer;

/* A used evidence key and when it may be forgotten. */
typedef struct cai_evidence {
    ca_hash key;     /* must stay first */
    uint64_t expiry; /* offense time + max_evidence_age, saturating */
    uint32_t hpos;   /* position in the expiry heap */
    uint32_t unused;
} cai_evidence;

/*
 * Expiry heap entry: a record kept only for slash-once (a settled escrow, a
 * used evidence key) and the time after which no slash can use it. Min-heap
 * in (at, kind, key) order, a total order, so records are dropped in an order
 * that depends on the state alone, never on the heap's layout. Each record
 * holds its entry's position (hpos), so moving either side is O(1).
 */
enum { CAI_EXP_ESCROW = 0, CAI_EXP_EVIDENCE = 1, CAI_EXP_DELEGATION = 2, CAI_EXP_REVOCATION = 3 };
typedef struct cai_ledger_expiry {
    uint64_t at;
    uint32_t idx; /* record index in l->escrows or l->evidence */
    uint32_t kind;
} cai_ledger_expiry;

#define CAI_DIRTY 1u

/*
 * Hashes of the account ids of the next ops of a batch, computed by the
 * prefetch stage and reused when the op is applied, so a batched transfer
 * hashes each id once. Two ways per set, the set chosen by the op's address
 * (consecutive ops of one array fall in consecutive sets); an entry counts
 * only if its id equals the one looked up, so a stale entry costs a miss, never
 * a wrong answer.
 */
#define CAI_HCACHE_SETS 32u
typedef struct cai_hcache_entry {
    ca_agent_id id;
    uint64_t h;
} cai_hcache_entry;

typedef struct cai_store cai_store; /* durable mode, ledger_store.c */

/*
 * Key records (ledger_keys.c, docs/LEDGER.md "Key rotation"): one per account
 * bound to a key history by a KEY_EVENT, what the ledger keeps of that history
 * (never the events). Keyed by the account id (the inception's first key).
 */
typedef struct cai_keyrec {
    ca_agent_id account; /* key; must stay first */
    ca_hash identifier;  /* the identity's stable id (the inception's digest) */
    ca_agent_id key;     /* current key: the only one that signs for the account */
    ca_hash digest;      /* last event's digest (the next rotation's prior) */
    ca_hash next;        /* commitment to the next key */
    uint64_t sequence;   /* last event's sequence */
    uint64_t time;       /* last event's time (a rotation's time is not before it) */
    uint64_t now;        /* the ledger's now when the last KEY_EVENT applied */
    uint64_t seq;        /* the seq that op took (its place in apply order) */
    uint64_t position;   /* its log position (ca_ledger_apply_log), 0 for none */
} cai_keyrec;

typedef struct cai_ledger_keys {
    cai_keyrec *recs;
    uint32_t n, cap;
    cai_idmap index; /* account id -> record; at most max_accounts entries */
    /* A rotated record's (sequence >= 1) current key -> the record: derived state (kept by
     * the commit, journal replay and snapshot load; neither hashed nor in the snapshot), at
     * most one entry a record. Its keys are unique: a rotation to a key that is already
     * another record's current key is refused (the KEY_EVENT row). */
    cai_idmap by_key;
    /* The event of the KEY_EVENT op being applied (set around one apply by the signed path
     * and journal replay; NULL otherwise) and that op's log position. */
    const ca_key_event_info *pending;
    uint64_t pending_pos;
    uint64_t lookups; /* key records looked up, ever (tests count them) */
} cai_ledger_keys;

struct ca_ledger {
    ca_ledger_options opts; /* normalized: version CA_LEDGER_OPTIONS_VERSION, every field set */
    ca_hash id;             /* ledger id = options digest (ca_ledger_id) */

    /* Indexes: keyed whole-key hashing (core/idmap.h), each with its own random key; the
       layout is not part of the state. */
    cai_account *accounts;
    uint32_t n_accounts, cap_accounts;
    cai_idmap acc_index;
    cai_hcache_entry hcache[CAI_HCACHE_SETS][2];
    /* Escrows each hirer holds, open or kept: one record per account that holds any
     * (derived: not hashed, not in snapshots). Sparse, so an account that never hires
     * costs nothing here and the account records stay what transfers touch. */
    cai_hirer *hirers;
    uint32_t n_hirers, cap_hirers;
    cai_idmap hirer_index; /* account index (as a 64-bit key's hash) -> hirers[] */

    cai_unbond *unbonds;
    uint32_t n_unbonds, cap_unbonds, unbond_free;

    cai_escrow *escrows;
    uint32_t n_escrows, cap_escrows;
    cai_idmap esc_index;

    cai_evidence *evidence;
    uint32_t n_evidence, cap_evidence;
    cai_idmap ev_index;

    /* Delegation and revocation records (ledger_delegation.c), each hashed into hsum as it
     * changes (no dirty list: an op touches at most CA_DELEGATION_MAX_DEPTH of them). */
    cai_dlg_rec *dlg;
    uint32_t n_dlg, cap_dlg;
    cai_idmap dlg_index;
    cai_rev_rec *rev;
    uint32_t n_rev, cap_rev;
    cai_idmap rev_index;

    cai_ledger_expiry *heap; /* kept records by expiry (ledger_expiry.c) */
    uint32_t n_heap, cap_heap;
    uint64_t heap_moves; /* entries moved by sifting, ever (tests count it) */

    uint64_t minted, burned, escrowed, seq;
    uint64_t horizon; /* largest `now` of any applied op (ledger.h, AVAILABILITY) */

    /* State hash: sum mod 2^256 of record hashes; dirty records are out of the sum. */
    uint64_t hsum[4];
    uint32_t *dirty_acc;
    uint32_t n_dirty_acc, cap_dirty_acc;
    uint32_t *dirty_esc;
    uint32_t n_dirty_esc, cap_dirty_esc;

    /* External log (ledger_log.c, ledger.h "LOG"): the position of the last entry applied or
     * refused, the `now` it was processed at, and how many entries were refused. Not part of
     * the state hash (every replica at one position agrees on them); journal and snapshot keep
     * them. */
    uint64_t log_pos, log_clock, log_failed;

    cai_ledger_keys keys; /* key rotation (ledger_keys.c) */

    cai_store *store; /* NULL in memory mode */
};

/*
 * The stake routing and reputation weigh an agent by (lib/ledger, one rule
 * for both): bonded + unbonding, saturating (all the ledger can still slash);
 * 0 without an account; 0 while jailed (jailed_until > now_ms). No error
 * state is touched: callers loop over every agent they know.
 */
uint64_t cai_ledger_weighed_stake(const ca_ledger *ledger, const ca_agent_id *id, uint64_t now_ms);

/* Fields each op type uses (bit set of F_*). */
enum { F_CP = 1, F_REF = 2, F_AMT = 4, F_AMT2 = 8, F_DL = 16, F_EV = 32, F_RES = 64 };
unsigned cai_ledger_type_fields(uint32_t type);

/* Core (ledger.c). */
ca_status cai_ledger_create(ca_ledger **out, const ca_ledger_options *opts);
ca_status cai_ledger_validate_options(const ca_ledger_options *opts);
/* Validates and applies without journaling; increments seq on success. */
ca_status cai_ledger_apply_op(ca_ledger *l, const ca_ledger_op *op, uint64_t now);
/* The same for a DELIVER whose RESULT (checked by the caller) was created at `result_at`:
 * refused with CA_ERR_LEDGER_TOO_LATE when that is after the escrow's deadline. */
ca_status cai_ledger_apply_delivery(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                                    uint64_t result_at);
/* Cache hints for a later op of a batch: index slots first (hashing the ids once for the op),
 * then the records. */
void cai_ledger_prefetch_slots(ca_ledger *l, const ca_ledger_op *op, uint32_t pos[2]);
void cai_ledger_prefetch_records(const ca_ledger *l, const uint32_t pos[2]);
/* Probe statistic of an index (tests): 0 accounts, 1 escrows, 2 evidence. */
void cai_ledger_index_stats(const ca_ledger *l, int which, cai_idmap_stats *out);
/* Folds dirty records back into the hash sum. */
void cai_ledger_flush_hash(ca_ledger *l);
/* Digest of the replicated options = the ledger id (stored in journal and snapshot headers).
 * Reads `network` only from version >= 2 options (zero before). */
void cai_ledger_options_digest(const ca_ledger_options *opts, uint8_t out[32]);
/* The key of one offense, the one function for the ledger's slash-once rule and
 * reputation's offense dedup: BLAKE2b-256 of "cyberagent/1/evidence" || kind (u32
 * little-endian) || ref || offender (docs/LEDGER.md, "State"). */
void cai_ledger_evidence_key(uint32_t kind, const ca_hash *ref, const ca_agent_id *offender,
                             ca_hash *out);
/* Inserts records while loading a snapshot (no validation beyond duplicates). */
ca_status cai_ledger_load_account(ca_ledger *l, const cai_account *a, const cai_unbond *entries,
                                  uint32_t n_entries);
ca_status cai_ledger_load_escrow(ca_ledger *l, const cai_escrow *e);

/* The payout agrees with the state: 0 open or refunded, the payment released, <= it split;
 * a result id exactly when delivered; missed only when settled and not delivered. */
static inline int cai_escrow_paid_ok(const cai_escrow *e)
{
    static const uint8_t zero[32];
    int has_result = memcmp(e->result.bytes, zero, 32) != 0;
    if (e->delivered > 1 || has_result != e->delivered || e->missed > 1 ||
        (e->missed && (e->delivered || e->state == CA_LEDGER_ESCROW_OPEN)))
        return 0;
    switch (e->state) {
    case CA_LEDGER_ESCROW_RELEASED:
        return e->paid == e->payment;
    case CA_LEDGER_ESCROW_SPLIT:
        return e->paid <= e->payment;
    default:
        return e->paid == 0;
    }
}
ca_status cai_ledger_load_evidence(ca_ledger *l, const ca_hash *h, uint64_t expiry);

/* Options as this build reads them: the caller's struct up to its version's last field, the
 * defaults after it, version set to CA_LEDGER_OPTIONS_VERSION. The version must be valid. */
void cai_ledger_options_normalize(const ca_ledger_options *in, ca_ledger_options *out);
/* Expiry heap (ledger_expiry.c). */
/* When a settled escrow may be dropped: deadline + max_evidence_age. */
static inline uint64_t cai_escrow_expiry(const ca_ledger *l, const cai_escrow *e)
{
    return cai_sat_add(e->deadline, l->opts.max_evidence_age);
}
/* Room for `more` entries (before an op changes anything). */
ca_status cai_ledger_expiry_reserve(ca_ledger *l, uint32_t more);
/* Adds the record (room reserved): a settled escrow or an evidence key. */
void cai_ledger_expiry_push(ca_ledger *l, uint32_t kind, uint32_t idx);
/* Removes the earliest entry (the heap is not empty); its record's hpos becomes CAI_NONE. */
cai_ledger_expiry cai_ledger_expiry_pop(ca_ledger *l);
/* The record of an entry moved to index `to` (a dense array's hole filled by its last record). */
void cai_ledger_expiry_moved(ca_ledger *l, uint32_t kind, uint32_t to);
/* Heap order and the record <-> entry links, for ca_ledger_check. */
ca_status cai_ledger_expiry_check(const ca_ledger *l);

/*
 * Op codec (ledger_codec.c). The canonical encoding of `op` without its
 * signatures (docs/LEDGER.md), which both signatures cover after their tag
 * and the ledger id, under the OWNERSHIP RULE (CA_LEDGER_OP_MAX_BYTES
 * suffice). Refuses an op whose shape its type does not allow.
 */
ca_status cai_ledger_op_encode(const ca_ledger_op *op, uint8_t *out, size_t cap, size_t *len);

/* Memory held by the ledger's tables, in bytes (tests check capacity bounds with it). */
size_t cai_ledger_memory_bytes(const ca_ledger *ledger);
/*
 * The signed bytes of an op from its values and signatures (the unsigned
 * fields, then key 14 the cosignature, ESCROW_OPEN only, then key 15 the
 * signature): the writer ca_ledger_op_sign_cosigned uses, and the inverse
 * of cai_ledger_op_decode_signed. Signatures are not checked here. Writes
 * into out (OWNERSHIP RULE).
 */
ca_status cai_ledger_op_encode_signed(const ca_ledger_op *op, const uint8_t sig[64],
                                      const uint8_t *cosig, uint8_t *out, size_t out_cap,
                                      size_t *out_len);
/* Strict decode of signed bytes (sig and cosig non-NULL: *sig and, for ESCROW_OPEN, *cosig point
 * at the 64-byte signatures in msg) or of the unsigned encoding (sig and cosig NULL). Writes
 * its outputs only on success. `chain` (may be NULL: the links are decoded, then freed): a
 * delegated op's decoded links, the caller's to free (cai_dlg_ctx_free); count 0 for a direct
 * op. op->delegation is the leaf's id (zero for a direct op). */
ca_status cai_ledger_op_decode_signed(const uint8_t *msg, size_t len, ca_ledger_op *op,
                                      const uint8_t **sig, const uint8_t **cosig,
                                      cai_dlg_ctx *chain);
/* The same signed bytes with a chain (count links of lens[i] bytes; count 0: a direct op). */
ca_status cai_ledger_op_encode_signed_chain(const ca_ledger_op *op, const uint8_t sig[64],
                                            const uint8_t *cosig, const uint8_t *const *chain,
                                            const size_t *lens, size_t count, uint8_t *out,
                                            size_t out_cap, size_t *out_len);
/* A caller's op (any known version) as this build's layout: fields the caller's version lacks
 * are zero. */
static inline void cai_ledger_op_in(const ca_ledger_op *in, ca_ledger_op *out)
{
    if (in->version >= CA_LEDGER_OP_VERSION) {
        *out = *in;
        return;
    }
    memset(out, 0, sizeof *out);
    memcpy(out, in, offsetof(ca_ledger_op, delegation));
}
/* Size of the caller's op struct of `version` (the stride of an op array). */
static inline size_t cai_ledger_op_size(unsigned int version)
{
    return version >= 2 ? sizeof(ca_ledger_op) : offsetof(ca_ledger_op, delegation);
}

/*
 * Signed path (ledger_codec.c): decode, verify for this ledger, check the attachment (att NULL:
 * none), apply at `now` and journal the record with log position `pos` (0: none). What
 * ca_ledger_submit, ca_ledger_submit_evidence and ca_ledger_apply_log run.
 */
ca_status cai_ledger_submit(ca_ledger *l, const uint8_t *msg, size_t msg_len, const uint8_t *att,
                            size_t att_len, uint64_t now, uint64_t pos);
/* Trusted path: apply `op` at `now` and journal its unsigned encoding with position `pos`. */
ca_status cai_ledger_apply_trusted(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                                   uint64_t pos);

/* The state hash's sum (ledger.c): adds (negate 0) or removes (1) a record's digest. */
void cai_ledger_sum_add(uint64_t sum[4], const uint8_t h[32], int negate);

/* Key rotation (ledger_keys.c, docs/LEDGER.md "Key rotation"). */
ca_status cai_ledger_keys_init(ca_ledger *l);
void cai_ledger_keys_free(ca_ledger *l);
size_t cai_ledger_keys_memory(const ca_ledger *l);
/* The key that signs for `account` now: its record's current key, or the id itself when the
 * account has no key history. *rotated: 1 when the history has a rotation (sequence >= 1).
 * One record lookup at most (none while no account is bound). */
const ca_agent_id *cai_ledger_signing_key(ca_ledger *l, const ca_agent_id *account, int *rotated);
/* Room for one more key record and reverse index entry (before a KEY_EVENT changes anything). */
ca_status cai_ledger_keys_reserve(ca_ledger *l);
/*
 * The account `key` signs for now (ledger.h, ca_ledger_account_of_key), without recording an
 * error: CAI_KEY_SIGNS with *account set (CA_OK there), CAI_KEY_REPLACED (CA_ERR_KEY_ROTATED)
 * or CAI_KEY_UNKNOWN (CA_ERR_LEDGER_UNKNOWN_ACCOUNT). At most three map lookups (reverse
 * index, accounts, key records), none in the key maps while they are empty; `probes` (may be
 * NULL) receives the reverse index's slots visited.
 */
#define CAI_KEY_SIGNS    0
#define CAI_KEY_REPLACED 1
#define CAI_KEY_UNKNOWN  2
int cai_ledger_account_of_key(const ca_ledger *l, const ca_agent_id *key, ca_agent_id *account,
                              uint64_t *probes);
/* Adds every key record's digest to sum (ca_ledger_check), and checks the records. */
ca_status cai_ledger_keys_check(ca_ledger *l, uint64_t sum[4]);
/* A KEY_EVENT's event bytes opened for the ledger: ca_key_event_open, failures answered
 * CA_ERR_LEDGER_BAD_EVIDENCE (CA_ERR_LIMIT above CA_KEY_EVENT_MAX_BYTES). */
ca_status cai_ledger_key_event_open(const uint8_t *event, size_t len, ca_key_event_info *out);
/* Applies a KEY_EVENT op with its opened event (trusted: signatures checked by the caller or,
 * replaying the journal, when it was written), at log position pos (0: none). */
ca_status cai_ledger_apply_key_event(ca_ledger *l, const ca_ledger_op *op,
                                     const ca_key_event_info *ev, uint64_t now, uint64_t pos);
/* Snapshot section (format 6): size, writer, reader (CA_ERR_LEDGER_CORRUPT). */
size_t cai_ledger_keys_snapshot_size(const ca_ledger *l);
uint8_t *cai_ledger_keys_snapshot_write(const ca_ledger *l, uint8_t *p);
ca_status cai_ledger_keys_snapshot_read(ca_ledger *l, const uint8_t **p, const uint8_t *end);
/* ---- delegation (ledger_delegation.c; ledger.h, DELEGATION) ---- */

/* A delegated op being applied: its decoded chain (owned by the caller) and what the checks
 * found, for the commit. */
struct cai_dlg_ctx {
    ca_delegation *links[CA_DELEGATION_MAX_DEPTH];
    size_t count;
    ca_hash ids[CA_DELEGATION_MAX_DEPTH];
    uint64_t expires[CA_DELEGATION_MAX_DEPTH];
    uint64_t total_caps[CA_DELEGATION_MAX_DEPTH];
    uint32_t rec[CA_DELEGATION_MAX_DEPTH]; /* record index, CAI_NONE: to be made */
    uint32_t fresh;                        /* records the commit makes */
    uint64_t spend;
};
void cai_dlg_ctx_free(cai_dlg_ctx *d);
/* A decoded delegation's fields (out->version set here; cannot fail on a handle). */
void cai_dlg_info(const ca_delegation *d, ca_delegation_info *out);
/* The types a delegation may sign, and the capability each needs (NULL: not allowed). */
const char *cai_ledger_delegated_capability(uint32_t type);

ca_status cai_ledger_dlg_init(ca_ledger *l);
void cai_ledger_dlg_free(ca_ledger *l);
size_t cai_ledger_dlg_memory(const ca_ledger *l);
/* Checks D1..D8 (ledger.h) of a delegated op at `now` (T computed inside). */
ca_status cai_ledger_dlg_check(ca_ledger *l, cai_dlg_ctx *d, const ca_ledger_op *op, uint64_t now);
/* Room for the records the commit makes (CA_ERR_NO_MEMORY). */
ca_status cai_ledger_dlg_reserve(ca_ledger *l, const cai_dlg_ctx *d);
/* Records the spend on every link and the leaf's nonce (cannot fail: room reserved). */
void cai_ledger_dlg_commit(ca_ledger *l, cai_dlg_ctx *d, uint64_t nonce);
/* REVOKE: the record held (CAI_NONE: none); room for a new one (CA_ERR_LIMIT, NO_MEMORY);
 * the commit (a new record, or a held one renewed) at T. */
uint32_t cai_ledger_rev_find(const ca_ledger *l, const ca_hash *id, const ca_agent_id *revoker);
ca_status cai_ledger_rev_reserve(ca_ledger *l);
void cai_ledger_rev_commit(ca_ledger *l, const ca_hash *id, const ca_agent_id *revoker,
                           uint32_t held, uint64_t t);
/* Expired records (the heap popped them). */
void cai_ledger_dlg_drop(ca_ledger *l, uint32_t i);
void cai_ledger_rev_drop(ca_ledger *l, uint32_t i);
/* Snapshot loading (duplicates, limits: CA_ERR_LEDGER_CORRUPT). */
ca_status cai_ledger_load_dlg(ca_ledger *l, const cai_dlg_rec *r);
ca_status cai_ledger_load_rev(ca_ledger *l, const cai_rev_rec *r);
/* ca_ledger_check's part: index, spent <= total_cap, counts, retention; adds each record's hash
 * to `sum`. */
ca_status cai_ledger_dlg_check_all(const ca_ledger *l, uint64_t sum[4]);

/* The codec's decoded chain of a signed delegated op. */
ca_status cai_ledger_apply_delegated(ca_ledger *l, const ca_ledger_op *op, uint64_t now,
                                     cai_dlg_ctx *d);
/* Expiry heap: a record's time grew (a renewed revocation). */
void cai_ledger_expiry_later(ca_ledger *l, uint32_t kind, uint32_t idx);

/* Durable store (ledger_store.c). */
/* Makes room for one record (before the op is applied), then appends it (cannot fail). */
ca_status cai_store_reserve(ca_ledger *l, size_t payload_len);
/* `pos`: the entry's position in an external log (ca_ledger_apply_log), 0 for none. */
void cai_store_append(ca_ledger *l, uint8_t rtype, const uint8_t *payload, size_t len, uint64_t now,
                      uint64_t pos);
/* The same with a payload in two parts (p2 may be NULL); CAI_REC_EVIDENCE adds the u32 length of p1
 * first. */
void cai_store_append2(ca_ledger *l, uint8_t rtype, const uint8_t *p1, size_t n1, const uint8_t *p2,
                       size_t n2, uint64_t now, uint64_t pos);
/* A log entry refused with `status` at `pos` (room reserved): a CAI_REC_REFUSED record naming
 * the op's id (BLAKE2b-256 of its signed bytes; zero for a trusted op). */
void cai_store_append_refused(ca_ledger *l, uint64_t pos, uint64_t now, ca_status status,
                              const uint8_t id[32]);
ca_status cai_store_commit(ca_ledger *l, uint64_t *durable);
/* Log position of the last record an fsync covered. */
uint64_t cai_store_durable_pos(const cai_store *s);
ca_status cai_store_snapshot(ca_ledger *l);
void cai_store_close(cai_store *s);
/* Tests of damaged files only: skip fsync (never set in the library itself). */
extern int cai_ledger_sync_disabled;

/* Journal record types. An attachment is equivocation evidence or a DELIVER's RESULT. */
#define CAI_REC_SIGNED   1u /* payload: signed op bytes */
#define CAI_REC_TRUSTED  2u /* payload: unsigned canonical op encoding */
#define CAI_REC_EVIDENCE 3u /* payload: u32 op length | signed op | attachment */
#define CAI_REC_REFUSED                                                                            \
    4u /* payload: status i32 | op id[32]: a log entry refused at its position */
#define CAI_REFUSED_BYTES 36u
/* Largest journal record payload, and the record header (ledger_store.c). */
#define CAI_RECORD_MAX          (4u + CA_LEDGER_DELEGATED_OP_MAX_BYTES + CA_LEDGER_EVIDENCE_MAX_BYTES)
#define CAI_RECORD_HEADER_BYTES 37u
/* Offsets in the record header: len u32 | seq u64 | now u64 | pos u64 | type u8 | pcrc u32 |
 * hcrc u32. */
#define CAI_REC_OFF_SEQ  4u
#define CAI_REC_OFF_NOW  12u
#define CAI_REC_OFF_POS  20u
#define CAI_REC_OFF_TYPE 28u
#define CAI_REC_OFF_PCRC 29u
#define CAI_REC_OFF_HCRC 33u

/*
 * Snapshot and journal parsing on memory buffers (used by recovery and by the
 * fuzz targets). Snapshot: a fresh ledger from bytes. Journal: replays records
 * into `l` (seq continuing from l->seq); see ledger_store.c for the torn-tail
 * rule.
 */
#define CAI_SNAP_SKIP_CHECKSUM 1u /* fuzzing only: accept any checksum and state hash */
ca_status cai_snapshot_decode(const uint8_t *buf, size_t len, const ca_ledger_options *opts,
                              unsigned flags, ca_ledger **out);
ca_status cai_snapshot_encode(ca_ledger *l, uint8_t **buf, size_t *len); /* malloc'd */
/* The snapshot's exact size, and the writer into a buffer of that size (the hash cache is
 * flushed first, so the ledger is not const). */
size_t cai_snapshot_size(const ca_ledger *l);
void cai_snapshot_write(ca_ledger *l, uint8_t *out);
typedef struct cai_replay {
    uint64_t base_seq;   /* seq of the journal's first record (its header), 0 when not read */
    size_t good_end;     /* offset after the last complete record; 0: no usable header */
    uint64_t torn_bytes; /* bytes after good_end a torn write left (cut by the caller) */
    uint64_t replayed;   /* records applied (seq above the state's on entry) */
    uint64_t refused;    /* CAI_REC_REFUSED records taken (position above the state's) */
    uint64_t crc_bytes;  /* bytes checksummed (never more than len: one pass) */
} cai_replay;
/* On failure *out holds what was read so far; the caller discards the ledger. */
ca_status cai_journal_replay(ca_ledger *l, const uint8_t *buf, size_t len, cai_replay *out);
/*
 * One journal record as values (ledger_store.c, "Journal"): the record's
 * length and checksums follow from them. cai_journal_record_write is the
 * writer of the durable store (cai_store_append2) and returns the bytes it
 * wrote (CAI_RECORD_HEADER_BYTES + payload); cai_journal_record_read splits a
 * complete record at r (checksums are the caller's, see cai_journal_replay)
 * and returns its size, or 0 when fewer than that many bytes are available
 * or an attachment record's op length leaves no attachment.
 */
typedef struct cai_journal_record {
    uint64_t seq; /* the op's seq; for CAI_REC_REFUSED the seq the next applied op takes */
    uint64_t now;
    uint64_t pos; /* position in an external log, 0 for none (never for CAI_REC_REFUSED) */
    uint8_t type; /* CAI_REC_* */
    /* Signed op (SIGNED, EVIDENCE), unsigned encoding (TRUSTED), or the payload (REFUSED). */
    const uint8_t *op;
    size_t op_len;
    const uint8_t
        *evidence; /* CAI_REC_EVIDENCE: the attachment (evidence, or a DELIVER's RESULT) */
    size_t evidence_len;
} cai_journal_record;
size_t cai_journal_record_write(const cai_journal_record *rec, uint8_t *out);
size_t cai_journal_record_read(const uint8_t *r, size_t avail, cai_journal_record *rec);
#define CAI_JOURNAL_HEADER_BYTES 32u
void cai_journal_header(uint8_t out[CAI_JOURNAL_HEADER_BYTES], const ca_ledger_options *opts,
                        uint64_t base_seq);
uint32_t cai_crc32c(uint32_t crc, const uint8_t *p, size_t n);

#endif
