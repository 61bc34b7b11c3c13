/*
 * js.h: the ledger's log on a NATS JetStream cluster (libnats 3.4.1,
 * nats-server 2.9.10). Used by examples/replica; it knows nothing of the
 * ledger: an "op" here is opaque bytes (a signed ledger op, or a batch of
 * them) and a "signer" a 32-byte id.
 *
 * The stream. One stream (default name LEDGER) with the subjects
 * "<prefix>.*" (default prefix "ledger.ops"), file storage, R3 by default,
 * no limits (no age, count or size limit; DenyDelete and DenyPurge), so
 * stream sequences are contiguous from 1 and never reused. An op is
 * published on "<prefix>.<signer-hex>", the signer's id as 64 lowercase hex
 * characters: the subject is the signer's own order, and publishing with an
 * expected last subject sequence keeps it.
 *
 * Message ids. Every op is published with the JetStream message id
 * (header Nats-Msg-Id) rjs_msg_id(op): the 64 lowercase hex characters of
 * BLAKE2b-256 (libsodium crypto_generichash, no key) of the op's bytes. The
 * same bytes published twice within the stream's duplicate window (default
 * 2 minutes, longer than the publish deadline) are stored once; the second
 * publish is answered with the first one's stream sequence.
 *
 * Publishing is synchronous, one op at a time per handle, with retries:
 * libnats 3.4.1's asynchronous publish can lose acknowledgements across a
 * stream leader failover. An attempt that times out, finds no responder or
 * gets a transient JetStream error (cluster not available, not leader, a
 * 503 from the leader's proposal) is retried with the same message id until
 * the publish deadline; the stream stores the op once whatever happened to
 * earlier attempts (see rjs_publish for the one case the server answers a
 * retry with "wrong last sequence" and how it is resolved).
 *
 * Which copy is read. nats-server 2.9.10 can leave a node's copy of the
 * stream renumbered after a kill -9 of the stream leader: the restarted node
 * missed one message and holds every later one one sequence early (seen in
 * about 3 of 100 runs of test_js; the other nodes and the acknowledgements
 * agree). A one-replica consumer reads the copy of the node that hosts it,
 * which the server picks at random among the stream's peers, so
 * rjs_consume places its consumer on the stream leader, whose copy has the
 * numbering publishers were acknowledged with, and moves it back there
 * whenever it is re-created. Replicas must still compare their state
 * hashes: this lowers the risk, it does not remove it (a renumbered node can
 * become leader).
 *
 * Consuming. rjs_consume starts an ordered consumer (libnats' ephemeral,
 * flow-controlled push consumer with idle heartbeats, re-created by libnats
 * from the last received sequence on a gap or missed heartbeats) and
 * rjs_next checks the order itself: it returns every stream sequence from
 * the start sequence on exactly once, in order, with the stream's
 * timestamp, dropping any repeat and re-creating the consumer at the next
 * expected sequence on a gap, when libnats reports dropped messages (a
 * slow consumer), or when nothing arrives for 3 heartbeat intervals while
 * the stream holds the next sequence (a stalled consumer: a flow-control
 * request lost with dropped messages leaves the server waiting). It
 * survives the loss of the NATS node it is connected to (the connection
 * reconnects to another URL) or of the node that hosts the consumer
 * (heartbeats stop, the consumer is re-created).
 * A replica that restarts opens a new consumer at the sequence after the
 * last one it applied.
 *
 * Timestamps. A message's stream timestamp (rjs_msg.time_ns) is the time
 * the stream leader stamped when it proposed the message; it is replicated
 * with the message, so every replica reads the same value for a sequence.
 * It can go backwards across a leader change (another node's clock): a
 * ledger that derives `now` from it must not let `now` go backwards.
 *
 * Threads. A handle (and its consumers) is used by one thread at a time;
 * use one handle per publishing thread (each has its own connection).
 * rjs_stats may be read from any thread.
 */
#ifndef CA_EXAMPLES_REPLICA_JS_H
#define CA_EXAMPLES_REPLICA_JS_H

#include <stddef.h>
#include <stdint.h>

typedef enum rjs_status {
    RJS_OK = 0,
    RJS_ERR_ARG = -1,      /* invalid argument or option */
    RJS_ERR_NATS = -2,     /* a NATS or JetStream error retrying cannot fix */
    RJS_ERR_TIMEOUT = -3,  /* publish: deadline passed; next: no message in time */
    RJS_ERR_CONFLICT = -4, /* publish: the subject's last sequence is not the expected one */
    RJS_ERR_CONFIG = -5,   /* the existing stream's configuration differs */
    RJS_ERR_GAP = -6,      /* consume: the stream no longer holds the next sequence */
    RJS_ERR_NOMEM = -7
} rjs_status;

const char *rjs_status_str(rjs_status s);

#define RJS_DEFAULT_STREAM "LEDGER"
#define RJS_DEFAULT_PREFIX "ledger.ops"
#define RJS_MSG_ID_CHARS   64 /* rjs_msg_id's length, without the NUL */
#define RJS_SUBJECT_MAX    128
#define RJS_EXPECT_ANY     UINT64_MAX /* rjs_publish: no subject order check */

typedef struct rjs_options {
    /* Client URLs, comma-separated ("nats://127.0.0.1:4222,..."); required.
     * The connection reconnects to any of them, forever, 100 ms apart. */
    const char *urls;
    const char *stream;          /* default RJS_DEFAULT_STREAM */
    const char *subject_prefix;  /* default RJS_DEFAULT_PREFIX; no '*', '>' or spaces */
    int replicas;                /* default 3 */
    int create;                  /* default 1: create the stream if missing */
    int randomize;               /* default 1: try the URLs in random order (0: in order) */
    int64_t duplicate_window_ms; /* default 120000; must exceed publish_deadline_ms */
    int64_t attempt_timeout_ms;  /* one publish attempt or API request; default 2000 */
    int64_t publish_deadline_ms; /* a publish's retries (and rjs_open's); default 60000 */
    int64_t heartbeat_ms;        /* consumer idle heartbeat; default 1000, at least 100 */
    /* A consumer's pending message limit in the client (0: libnats' default,
     * 65536). Past it libnats drops messages (a slow consumer) and rjs_next
     * re-creates the consumer at the gap; tests set it low to show that. */
    int pending_msgs;
} rjs_options;

void rjs_options_init(rjs_options *o);

typedef struct rjs rjs;

/* Connects and looks the stream up, creating it when missing (if
 * o->create). Transient failures (no meta leader yet, timeouts) are retried
 * until publish_deadline_ms. An existing stream must have the same subjects,
 * storage and replica count (RJS_ERR_CONFIG otherwise); its duplicate window
 * is left as it is. On failure *out is NULL; rjs_error(NULL) is not
 * available, the reason is printed to stderr. */
rjs_status rjs_open(rjs **out, const rjs_options *o);
/* Closes the connection and frees the handle, once libnats has run the
 * connection's last callback (they write into the handle). NULL is a no-op. */
void rjs_close(rjs *h);

/* The last failure's sentence for this handle ("" if none). */
const char *rjs_error(const rjs *h);

/* The message id of an op: BLAKE2b-256 of its bytes in lowercase hex,
 * NUL-terminated (out has RJS_MSG_ID_CHARS + 1 bytes). */
void rjs_msg_id(const void *op, size_t op_len, char out[RJS_MSG_ID_CHARS + 1]);

/* The subject of a signer: "<prefix>.<64 hex>". */
rjs_status rjs_subject(const rjs *h, const uint8_t signer[32], char out[RJS_SUBJECT_MAX]);

typedef struct rjs_ack {
    uint64_t seq;              /* the op's stream sequence (OK) */
    uint64_t last_subject_seq; /* CONFLICT: the subject's last sequence now (0: empty) */
    int duplicate;             /* OK: the op was already stored; seq is where */
    unsigned attempts;         /* publish attempts made (1: no retry) */
    int64_t blocked_ms;        /* how long the call took */
} rjs_ack;

/* Publishes one op on the signer's subject and waits for the stream's
 * acknowledgement.
 *
 * expect is the stream sequence of the signer's previous op (the subject's
 * last sequence), 0 if this is the signer's first op, or RJS_EXPECT_ANY for
 * no check. With expect set, the stream refuses the op unless the subject's
 * last sequence is expect: RJS_ERR_CONFLICT, ack->last_subject_seq set, so
 * the submitter can learn where its signer is and resubmit. (Server 2.9.10
 * checks an expected sequence above 0 on the leader before it proposes the
 * op: two submitters racing on one subject can both pass. Keep one
 * submitter per signer; replicas reject a misordered op anyway.)
 *
 * Returns RJS_OK with ack->seq once the op is stored on a majority of the
 * stream's nodes. If the same bytes are already in the stream (an earlier
 * attempt of this call, or an earlier call, whose acknowledgement was lost)
 * the op is not stored again: RJS_OK, ack->duplicate = 1, ack->seq the first
 * copy's sequence. The server reports this in two ways, both handled: a
 * PubAck with "duplicate": true and the original sequence (within the
 * duplicate window), or, when expect > 0 and the first copy is already the
 * subject's last message, "wrong last sequence" (10071) from its pre-check;
 * then the subject's last message is read and, if its message id is this
 * op's, taken as the duplicate.
 *
 * Transient failures are retried (the same message id each time) every
 * attempt_timeout_ms at most, with a short back-off after immediate errors,
 * until publish_deadline_ms: then RJS_ERR_TIMEOUT; the op may or may not be
 * stored, and publishing the same bytes again is safe. ack may be NULL. */
rjs_status rjs_publish(rjs *h, const uint8_t signer[32], const void *op, size_t op_len,
                       uint64_t expect, rjs_ack *ack);

/* The stream sequence of the signer's last op (0 if none), for a submitter
 * that restarts and must learn its expected sequence. Retries transient
 * failures until publish_deadline_ms. */
rjs_status rjs_last_subject_seq(rjs *h, const uint8_t signer[32], uint64_t *seq);

typedef struct rjs_stream_state {
    uint64_t msgs, first_seq, last_seq;
    char leader[64]; /* server name of the stream leader, "" during an election */
    int replicas;    /* replicas listed besides the leader */
    int current;     /* of those, how many are current */
} rjs_stream_state;

/* One stream info request (no retry). */
rjs_status rjs_stream_info(rjs *h, rjs_stream_state *st);

typedef struct rjs_consumer rjs_consumer;

typedef struct rjs_msg {
    uint64_t seq;        /* stream sequence */
    int64_t time_ns;     /* stream timestamp, ns since 1970 (see above) */
    const char *subject; /* "<prefix>.<signer hex>" */
    const uint8_t *data; /* the op's bytes */
    size_t len;
    const char *msg_id; /* Nats-Msg-Id header, "" if absent */
} rjs_msg;

/* Starts an ordered consumer of the whole stream at start_seq (>= 1; a
 * sequence beyond the last waits for it), hosted on the stream leader
 * (above). Retries transient failures until publish_deadline_ms. */
rjs_status rjs_consume(rjs *h, uint64_t start_seq, rjs_consumer **out);

/* As rjs_consume, on a consumer hosted by the named server (server_name,
 * e.g. "n2"), which then reads that server's own copy of the stream: to
 * check that every replica holds the same messages. The server places a
 * one-replica consumer on a random peer of the stream, so this creates and
 * deletes consumers until one lands there (RJS_ERR_TIMEOUT after
 * publish_deadline_ms). rjs_next re-creates it there after a gap; libnats'
 * own re-creation after missed heartbeats may place it elsewhere. */
rjs_status rjs_consume_on(rjs *h, uint64_t start_seq, const char *server, rjs_consumer **out);

/* The next message: its seq is start_seq for the first call and the
 * previous seq + 1 after. Waits up to timeout_ms (RJS_ERR_TIMEOUT: nothing
 * yet, call again). RJS_ERR_GAP if the stream's first sequence is now past
 * the next one (only possible if the stream was recreated or given limits).
 * The message's pointers stay valid until the next rjs_next or
 * rjs_consumer_free. */
rjs_status rjs_next(rjs_consumer *c, int64_t timeout_ms, rjs_msg *msg);

/* The sequence rjs_next returns next. */
uint64_t rjs_next_seq(const rjs_consumer *c);

void rjs_consumer_free(rjs_consumer *c); /* deletes the consumer; NULL is a no-op */

typedef struct rjs_stats {
    uint64_t published;     /* rjs_publish calls that returned OK */
    uint64_t duplicates;    /* ... of which the op was already stored */
    uint64_t by_precheck;   /* ... of which learned through "wrong last sequence" */
    uint64_t retries;       /* attempts after the first */
    uint64_t timeouts;      /* attempts that timed out */
    uint64_t no_responders; /* attempts answered "no responders" */
    uint64_t js_errors;     /* attempts answered with another transient JetStream error */
    uint64_t conflicts;     /* RJS_ERR_CONFLICT returned */
    int64_t max_blocked_ms;
    uint64_t disconnects; /* connection losses (libnats callback) */
    uint64_t reconnects;
    uint64_t consumer_restarts; /* consumers re-created by rjs_next (gaps, drops, stalls) */
    uint64_t consumer_stalls;   /* ... of which because nothing came while the stream had more */
    uint64_t repeats_dropped;   /* messages rjs_next dropped as already returned */
    uint64_t async_errors;      /* libnats async errors (missed heartbeats, ...) */
} rjs_stats;

void rjs_get_stats(const rjs *h, rjs_stats *st);

/* The handle's libnats JetStream context (a jsCtx *), for other JetStream
 * calls on the same connection (cpstore.c's key-value bucket); same thread
 * rule as the handle. */
void *rjs_jetstream(rjs *h);

/* The URL the connection is on now ("" while reconnecting). */
void rjs_connected_url(rjs *h, char *out, size_t cap);

#endif
