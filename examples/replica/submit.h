/*
 * submit.h: submitting signed ledger ops to the stream and learning their
 * status (examples/replica; used by the replica test and examples/nats).
 *
 * SUBMITTER (rsub). One per signer and process: it publishes the signer's
 * ops on the signer's subject, in the order given, each message with the
 * expected last subject sequence (the sequence of the signer's previous
 * message), so the stream keeps the signer's order (its nonces) whatever
 * other signers publish, and refuses a message published behind the
 * submitter's back (RJS_ERR_CONFLICT). The message id is BLAKE2b-256 of the
 * message bytes (rjs_msg_id): publishing the same bytes again (a retry after
 * RJS_ERR_TIMEOUT, or after a crash) stores nothing new and answers the
 * first copy's sequence.
 *
 * Before publishing, every op is checked: it decodes, its signatures verify
 * for the ledger (ca_ledger_op_verify) and its signer is the submitter's.
 * An op that fails is not published (RJS_ERR_ARG, *refused = its status):
 * bad signatures are refused at submit. Everything else (funds, nonces,
 * escrow states) is the ledger's to decide, at the op's place in the stream.
 *
 * A message holds one op without attachment (the op's own bytes), or a
 * frame of up to RC_FRAME_MAX_ITEMS ops with attachments (replica_core.h);
 * op i of the message at sequence s is applied at position RC_POSITION(s, i).
 *
 * FOLLOWER (rfol). A thread that reads the stream from sequence 1 into an
 * in-memory ledger (replica_core) and records every op's result, so that a
 * submitter learns the status of what it submitted (rfol_status) and the
 * state it produced, exactly as every replica computes it.
 */
#ifndef CA_EXAMPLES_REPLICA_SUBMIT_H
#define CA_EXAMPLES_REPLICA_SUBMIT_H

#include "js.h"
#include "replica_core.h"

typedef struct rsub rsub;

/* A submitter for `signer` on the handle's stream (ops signed for
 * `ledger_id`); learns the signer's last subject sequence from the stream
 * (rjs_last_subject_seq). h is borrowed (one thread at a time). */
rjs_status rsub_new(rsub **out, rjs *h, const ca_hash *ledger_id, const ca_agent_id *signer);
void rsub_free(rsub *s); /* NULL is a no-op */

typedef struct rsub_receipt {
    uint64_t seq;                      /* the message's stream sequence */
    uint32_t count;                    /* ops in it: op i is at RC_POSITION(seq, i) */
    int duplicate;                     /* the same bytes were already in the stream at seq */
    unsigned attempts;                 /* publish attempts (rjs_ack) */
    char msg_id[RJS_MSG_ID_CHARS + 1]; /* the message id (rjs_msg_id of the message bytes) */
} rsub_receipt;

/* Publishes items[0..n) as one message (n = 1 without attachment: the op's
 * own bytes; otherwise a frame). RJS_ERR_ARG with *refused (may be NULL) set
 * when an op fails the checks above (nothing published), RJS_ERR_CONFLICT
 * when the signer's subject moved behind this submitter's back (its last
 * sequence is re-read: the caller's nonces may be stale), RJS_ERR_TIMEOUT
 * as rjs_publish (submit the same items again: stored once). */
rjs_status rsub_submit(rsub *s, const rc_item *items, size_t n, rsub_receipt *out,
                       ca_status *refused);

/* Publishes message bytes as they are, in the signer's order, without the
 * checks (a test injecting what a faulty submitter would send). */
rjs_status rsub_submit_raw(rsub *s, const uint8_t *msg, size_t len, rsub_receipt *out);

/* The stream sequence of the signer's last message (0: none). */
uint64_t rsub_last_seq(const rsub *s);

typedef struct rfol rfol;

/* Starts a follower: its own connection (jo), an in-memory ledger (lo),
 * reading from sequence 1. */
rjs_status rfol_start(rfol **out, const rjs_options *jo, const ca_ledger_options *lo);

/* Waits until the op at (seq, index) is processed, up to timeout_ms
 * (RJS_ERR_TIMEOUT), and gives its result: CA_OK, or the ledger's refusal.
 * RJS_ERR_ARG when the message at seq has fewer ops; RJS_ERR_NATS when the
 * follower stopped on an error (rfol_error). */
rjs_status rfol_status(rfol *f, uint64_t seq, uint32_t index, int64_t timeout_ms,
                       ca_status *result);

/* Waits until every message up to seq is processed, then gives the state. */
rjs_status rfol_state(rfol *f, uint64_t seq, int64_t timeout_ms, rc_checkpoint *out);

/* Runs fn on the follower's ledger with its thread held (queries only). */
void rfol_with_ledger(rfol *f, void (*fn)(void *ctx, ca_ledger *l), void *ctx);

const char *rfol_error(rfol *f);
void rfol_stop(rfol *f); /* NULL is a no-op */

#endif
