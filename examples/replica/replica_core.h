/*
 * replica_core.h: one replica's apply and checkpoint logic (examples/replica),
 * with no NATS in it: the caller feeds stream messages in stream order
 * (JetStream: rjs_next), this applies them to a ledger and says when a
 * checkpoint is due and what it is. Used by cyberagent-replica, by the
 * submitter's local follower (submit.h) and by examples/nats.
 *
 * MESSAGES. A stream message carries either one signed ledger op (the bytes
 * of ca_ledger_op_sign, nothing else), or a FRAME of several ops, each with
 * an optional attachment (the RESULT of an ESCROW_DELIVER or the evidence of
 * an equivocation SLASH, as for ca_ledger_submit_evidence):
 *
 *     0xC1, count (u16 big-endian, 1..RC_FRAME_MAX_ITEMS),
 *     count x { op_len (u32 BE), op bytes, att_len (u32 BE), att bytes }
 *
 * and nothing after the last item. 0xC1 is the one byte MessagePack never
 * uses, so no signed op starts with it. A message that starts with 0xC1 but
 * is not a well-formed frame is one entry holding the whole message, which
 * the ledger refuses (CA_ERR_MALFORMED): garbage costs one position and one
 * refused entry, the same on every replica.
 *
 * POSITIONS. Item i of the message at stream sequence s is applied at the
 * ledger position RC_POSITION(s, i) = s * 2^16 + i (ca_ledger_apply_log), at
 * the message's stream timestamp in ms (the ledger's now rule keeps `now`
 * from going backwards). A ledger at position p has processed every message
 * before p >> 16 and that message up to item p & 0xFFFF; it restarts by
 * reading the stream at p >> 16 again (its processed items are skipped as
 * stale), or at 1 when p is 0.
 *
 * CHECKPOINTS. Every `checkpoint_every` stream sequences (s % N == 0, when
 * the message at s has been processed) the ledger is committed and the
 * checkpoint is (s, state hash, refused ops so far): replicas of one stream
 * report equal checkpoints. Re-reading a checkpoint's message after a
 * restart reports it again (same values).
 *
 * Failures: functions return ca_status; a ledger failure (I/O, memory, a
 * checkpoint whose ca_ledger_check fails) leaves the reason in rc_error.
 * THREAD SAFETY: an rc_core is used by one thread at a time.
 */
#ifndef CA_EXAMPLES_REPLICA_CORE_H
#define CA_EXAMPLES_REPLICA_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "cyberagent.h"

#define RC_FRAME_MAGIC      0xC1u
#define RC_FRAME_MAX_ITEMS  4096u
#define RC_INDEX_BITS       16u
#define RC_POSITION(seq, i) (((uint64_t)(seq) << RC_INDEX_BITS) | (uint64_t)(i))
#define RC_SEQ_OF(pos)      ((uint64_t)(pos) >> RC_INDEX_BITS)
/* "SEQ HASH FAILED": up to 20 digits, 64 hex, 20 digits, two spaces, NUL. */
#define RC_LINE_MAX 128

/* One op of a message, with its attachment (att NULL, att_len 0: none). */
typedef struct rc_item {
    const uint8_t *op;
    size_t op_len;
    const uint8_t *att;
    size_t att_len;
} rc_item;

/* Bytes of the frame of items[0..n) (n in 1..RC_FRAME_MAX_ITEMS), 0 if n is out of range. */
size_t rc_frame_size(const rc_item *items, size_t n);

/* Writes the frame; CA_ERR_BUFFER_TOO_SMALL (*out_len = the size) or
 * CA_ERR_INVALID_ARGUMENT (n out of range, a length above UINT32_MAX). */
ca_status rc_frame_encode(const rc_item *items, size_t n, uint8_t *out, size_t cap,
                          size_t *out_len);

/* Splits a stream message into its items (pointers into msg): a frame's
 * items, or else the whole message as one item without attachment. Returns
 * the count, 1..RC_FRAME_MAX_ITEMS; `items` has RC_FRAME_MAX_ITEMS slots. */
size_t rc_frame_split(const uint8_t *msg, size_t len, rc_item *items);

/* Called once per item processed, in order: result is CA_OK (applied),
 * CA_ERR_LEDGER_STALE_POSITION (processed before: a re-read), or the refusal. */
typedef void (*rc_entry_fn)(void *ctx, uint64_t seq, uint32_t index, const rc_item *item,
                            ca_status result);

typedef struct rc_options {
    const ca_ledger_options *ledger; /* required: the replicated ledger's options */
    const char *dir;                 /* durable ledger directory; NULL: in memory */
    uint64_t checkpoint_every;       /* N stream sequences; 0: no checkpoints */
    int check;                       /* 1: ca_ledger_check at each checkpoint (a failure stops) */
    uint32_t commit_every;           /* durable: messages between group commits; 0: 64 */
    rc_entry_fn on_entry;            /* may be NULL */
    void *ctx;
} rc_options;

typedef struct rc_checkpoint {
    uint64_t seq;    /* stream sequence of the last message processed (0: none) */
    ca_hash hash;    /* ca_ledger_state_hash */
    uint64_t failed; /* entries refused so far (ca_ledger_log_info.failed) */
} rc_checkpoint;

typedef struct rc_core rc_core;

/* Opens the ledger: durable (ca_ledger_open of o->dir, recovering its
 * journal and position) or a new in-memory one. */
ca_status rc_open(rc_core **out, const rc_options *o);

/* Opens the ledger from snapshot bytes (ca_ledger_snapshot_export): into
 * o->dir (ca_ledger_open_from_snapshot: replaces what the directory held) or
 * in memory. */
ca_status rc_open_snapshot(rc_core **out, const rc_options *o, const uint8_t *snap, size_t len);

/* The stream sequence to read next (see POSITIONS). */
uint64_t rc_next_seq(const rc_core *c);

/* Processes the message at stream sequence seq with its stream timestamp:
 * seq must be rc_next_seq() (a later one is CA_ERR_INVALID_ARGUMENT: a gap);
 * rc_next_seq() - 1 is read again (its items are stale), earlier ones are
 * ignored. *is_cp = 1 and *cp filled when
 * seq is a checkpoint (else *is_cp = 0). */
ca_status rc_apply(rc_core *c, uint64_t seq, int64_t time_ns, const uint8_t *msg, size_t len,
                   rc_checkpoint *cp, int *is_cp);

/* Group commit (durable); the position a crash keeps is the committed one. */
ca_status rc_commit(rc_core *c);

/* The current (seq, hash, failed), whether or not seq is a checkpoint. */
ca_status rc_state(rc_core *c, rc_checkpoint *out);

/* Commits, writes the durable snapshot (durable mode) and exports the state
 * as bytes (*out from malloc, the caller frees). */
ca_status rc_snapshot(rc_core *c, uint8_t **out, size_t *len);

/* ca_ledger_check. */
ca_status rc_check(rc_core *c);

ca_ledger *rc_ledger(rc_core *c);
const char *rc_error(const rc_core *c);
void rc_close(rc_core *c); /* NULL is a no-op; does not commit */

/* CHECKPOINT LINES. rc_format writes "SEQ HASH FAILED": SEQ and FAILED in
 * decimal (no sign, no leading zero: "0" for zero), HASH as 64 lowercase hex
 * digits, one space between fields, nothing before or after. That is the
 * one canonical form, and the only one the parsers accept: a line they
 * accept formats back to exactly its bytes. Refused: upper-case hex, a sign,
 * a leading zero, a value above UINT64_MAX, other or repeated white space,
 * anything after FAILED (rc_parse).
 *
 * rc_parse: the whole NUL-terminated string is one line: 0, else -1 (and
 * *cp unchanged).
 * rc_parse_prefix: a line at the start of s[0..len) (no NUL needed),
 * followed by the end, a space or '\n' (program output such as
 * "checkpoint SEQ HASH FAILED\n"): returns its length, else 0 (*cp unchanged).
 * rc_parse_u64: the canonical decimal at the start of s[0..len): returns its
 * digits' count (the next byte is not a digit), else 0 (no digit, a leading
 * zero, above UINT64_MAX; *out unchanged). */
void rc_format(const rc_checkpoint *cp, char out[RC_LINE_MAX]);
int rc_parse(const char *s, rc_checkpoint *cp);
size_t rc_parse_prefix(const char *s, size_t len, rc_checkpoint *cp);
size_t rc_parse_u64(const char *s, size_t len, uint64_t *out);

#endif
