/*
 * cyberagent-js-test: the JetStream module (js.h) against a running 3-node
 * cluster started by cluster.sh; test_js.sh starts the cluster and runs it.
 *
 *   cyberagent-js-test --script cluster.sh --dir CLUSTER_DIR [--msgs N] [--publishers P]
 *
 * 1. Duplicates and conflicts, one op at a time: the same bytes published
 *    again come back with the first sequence, reported by the server as a
 *    duplicate PubAck or (expected sequence > 0, first copy already last on
 *    its subject) through "wrong last sequence"; a stale expected sequence
 *    is a conflict that names the subject's last sequence.
 * 2. Failover: P publisher threads (one connection and one signer each)
 *    publish N ops in all with expected subject sequences, every tenth one
 *    twice (a client retry of the same bytes); a consumer thread, connected
 *    first to the stream leader's node, reads the stream from sequence 1 and
 *    restarts once (new connection, new consumer at the next sequence). When
 *    a third of the ops are acknowledged the stream leader's node is killed
 *    with kill -9; at half it is restarted.
 * Then: the stream holds exactly the published ops, once each, at the
 * sequences their publishers were told; each signer's ops are in its
 * order; the consumer saw every sequence 1..total once, in order.
 * 3. A slow replica: a consumer with a 256-message client buffer still reads
 *    1..total in order (libnats drops what does not fit; rjs_next re-creates
 *    the consumer at each gap).
 * 4. Each node's own copy, read through a consumer hosted there, compared
 *    with the first read: reported, not failed (nats-server 2.9.10 can leave
 *    the restarted node's copy renumbered; see js.h).
 * Prints the figures (publish blocking, retries, duplicates, timings).
 */
#include "js.h"

#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OP_LEN        160
#define MAX_PUBS      16
#define RETRY_EVERY   10
#define WAIT_LIMIT_MS 90000
#define DET_PUB       0xFFFFu /* publisher index of the step 1 ops */

static const char *script, *cdir;
static char urls[512];
static unsigned npubs = 4, nmsgs = 3000;
static atomic_uint acked; /* distinct ops acknowledged by publishers */
static atomic_int_fast64_t kill_ms, restart_ms;
static atomic_int_fast64_t last_ack_ms, max_ack_gap_ms, max_gap_end_ms;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void cluster(const char *cmd, const char *node)
{
    char line[1024];
    snprintf(line, sizeof line, "bash '%s' %s '%s' %s", script, cmd, cdir, node);
    if (system(line) != 0) {
        die("'%s' failed", line);
    }
}

static void read_urls(void)
{
    char line[1024];
    snprintf(line, sizeof line, "bash '%s' urls '%s'", script, cdir);
    FILE *p = popen(line, "r");
    if (p == NULL || fgets(urls, sizeof urls, p) == NULL) {
        die("'%s' printed nothing", line);
    }
    pclose(p);
    urls[strcspn(urls, "\n")] = '\0';
}

/* The cluster's URLs with node `name` (n1, n2, n3) first. */
static void urls_first(const char *name, char *out, size_t cap)
{
    char copy[512], *parts[3] = {NULL, NULL, NULL};
    int k = 0;
    snprintf(copy, sizeof copy, "%s", urls);
    for (char *p = copy; p != NULL && k < 3; k++) {
        parts[k] = p;
        p = strchr(p, ',');
        if (p != NULL) {
            *p++ = '\0';
        }
    }
    int first = (name[0] == 'n' && name[1] >= '1' && name[1] <= '3') ? name[1] - '1' : 0;
    snprintf(out, cap, "%s,%s,%s", parts[first], parts[(first + 1) % 3], parts[(first + 2) % 3]);
}

static rjs *open_handle(const char *u, int randomize)
{
    rjs_options o;
    rjs_options_init(&o);
    o.urls = u;
    o.randomize = randomize;
    o.attempt_timeout_ms = 1000;
    o.heartbeat_ms = 500;
    rjs *h = NULL;
    rjs_status st = rjs_open(&h, &o);
    if (st != RJS_OK) {
        die("rjs_open: %s", rjs_status_str(st));
    }
    return h;
}

static void make_op(uint8_t op[OP_LEN], unsigned pub, unsigned counter)
{
    randombytes_buf(op, OP_LEN);
    op[0] = (uint8_t)(pub >> 8);
    op[1] = (uint8_t)pub;
    op[2] = (uint8_t)(counter >> 24);
    op[3] = (uint8_t)(counter >> 16);
    op[4] = (uint8_t)(counter >> 8);
    op[5] = (uint8_t)counter;
}

static unsigned op_pub(const uint8_t *op)
{
    return (unsigned)op[0] << 8 | op[1];
}

static unsigned op_counter(const uint8_t *op)
{
    return (unsigned)op[2] << 24 | (unsigned)op[3] << 16 | (unsigned)op[4] << 8 | op[5];
}

/* ---- 1. duplicates and conflicts ---- */

static uint64_t det_seq[2];
static char det_id[2][RJS_MSG_ID_CHARS + 1];

static void step_duplicates(rjs *h)
{
    uint8_t signer[32], a[OP_LEN], b[OP_LEN], c[OP_LEN];
    rjs_ack ack;
    rjs_stats s0, s1;
    randombytes_buf(signer, sizeof signer);
    make_op(a, DET_PUB, 0);
    make_op(b, DET_PUB, 1);
    make_op(c, DET_PUB, 2);
    rjs_msg_id(a, OP_LEN, det_id[0]);
    rjs_msg_id(b, OP_LEN, det_id[1]);

    if (rjs_publish(h, signer, a, OP_LEN, 0, &ack) != RJS_OK || ack.duplicate) {
        die("first op: %s", rjs_error(h));
    }
    uint64_t sa = ack.seq;
    rjs_get_stats(h, &s0);
    /* Expect 0 (subject empty) is checked when the op is applied, after
     * the duplicate check: a duplicate PubAck with the first sequence. */
    if (rjs_publish(h, signer, a, OP_LEN, 0, &ack) != RJS_OK || !ack.duplicate || ack.seq != sa) {
        die("same op again (expect 0): want duplicate of %" PRIu64 ", got seq %" PRIu64 " dup %d",
            sa, ack.seq, ack.duplicate);
    }
    if (rjs_publish(h, signer, a, OP_LEN, RJS_EXPECT_ANY, &ack) != RJS_OK || !ack.duplicate ||
        ack.seq != sa) {
        die("same op again (no expect): want duplicate of %" PRIu64, sa);
    }
    rjs_get_stats(h, &s1);
    if (s1.by_precheck != s0.by_precheck || s1.duplicates != s0.duplicates + 2) {
        die("the two duplicates should be PubAck duplicates");
    }
    printf("duplicate: same bytes again -> PubAck duplicate=true seq %" PRIu64 " (the first)\n",
           ack.seq);

    if (rjs_publish(h, signer, b, OP_LEN, sa, &ack) != RJS_OK || ack.duplicate) {
        die("second op: %s", rjs_error(h));
    }
    uint64_t sb = ack.seq;
    /* Expect > 0 is pre-checked by the leader before the duplicate check:
     * "wrong last sequence", resolved by reading the subject's last op. */
    if (rjs_publish(h, signer, b, OP_LEN, sa, &ack) != RJS_OK || !ack.duplicate || ack.seq != sb ||
        ack.attempts != 1) {
        die("same op again (expect %" PRIu64 "): want duplicate of %" PRIu64 ", got %s", sa, sb,
            rjs_error(h));
    }
    rjs_get_stats(h, &s0);
    if (s0.by_precheck != s1.by_precheck + 1) {
        die("that duplicate should come through the pre-check");
    }
    printf("duplicate: same bytes, expect %" PRIu64 " -> wrong last sequence (10071), last op on "
           "the subject has this id -> duplicate seq %" PRIu64 "\n",
           sa, sb);

    rjs_status st = rjs_publish(h, signer, c, OP_LEN, sa, &ack);
    if (st != RJS_ERR_CONFLICT || ack.last_subject_seq != sb) {
        die("stale expect: want RJS_ERR_CONFLICT naming %" PRIu64 ", got %s %" PRIu64, sb,
            rjs_status_str(st), ack.last_subject_seq);
    }
    printf("conflict: expect %" PRIu64 " when the last is %" PRIu64 " -> RJS_ERR_CONFLICT (%s)\n",
           sa, sb, rjs_error(h));
    uint64_t last = 0;
    if (rjs_last_subject_seq(h, signer, &last) != RJS_OK || last != sb) {
        die("rjs_last_subject_seq: want %" PRIu64, sb);
    }
    uint8_t fresh[32];
    randombytes_buf(fresh, sizeof fresh);
    if (rjs_last_subject_seq(h, fresh, &last) != RJS_OK || last != 0) {
        die("rjs_last_subject_seq of an unused signer: want 0");
    }
    det_seq[0] = sa;
    det_seq[1] = sb;
}

/* ---- 2. failover ---- */

typedef struct pub_state {
    unsigned index, count;
    pthread_t thread;
    uint64_t *seqs; /* per counter */
    char (*ids)[RJS_MSG_ID_CHARS + 1];
    uint64_t retried, retry_dups, max_attempts;
    rjs_stats stats;
} pub_state;

static void *publisher(void *arg)
{
    pub_state *p = arg;
    rjs *h = open_handle(urls, 1);
    uint8_t signer[32], op[OP_LEN];
    randombytes_buf(signer, sizeof signer);
    uint64_t expect = 0;
    for (unsigned i = 0; i < p->count; i++) {
        rjs_ack ack;
        make_op(op, p->index, i);
        rjs_msg_id(op, OP_LEN, p->ids[i]);
        rjs_status st = rjs_publish(h, signer, op, OP_LEN, expect, &ack);
        if (st != RJS_OK) {
            die("publisher %u op %u: %s: %s", p->index, i, rjs_status_str(st), rjs_error(h));
        }
        if (ack.seq <= expect) {
            die("publisher %u op %u: seq %" PRIu64 " not after %" PRIu64, p->index, i, ack.seq,
                expect);
        }
        int64_t now = mono_ms();
        int_fast64_t prev = atomic_exchange(&last_ack_ms, now);
        int_fast64_t gap = atomic_load(&max_ack_gap_ms);
        while (prev != 0 && now - prev > gap &&
               !atomic_compare_exchange_weak(&max_ack_gap_ms, &gap, now - prev)) {
        }
        if (prev != 0 && now - prev >= gap) {
            atomic_store(&max_gap_end_ms, now);
        }
        if (ack.attempts > p->max_attempts) {
            p->max_attempts = ack.attempts;
        }
        p->seqs[i] = ack.seq;
        expect = ack.seq;
        atomic_fetch_add(&acked, 1);
        if (i % RETRY_EVERY == RETRY_EVERY - 1) {
            /* A client retry of the same bytes, with the expectation the
             * client had before: must come back as the same sequence. */
            uint64_t before = p->seqs[i > 0 ? i - 1 : 0];
            st = rjs_publish(h, signer, op, OP_LEN, i > 0 ? before : 0, &ack);
            if (st != RJS_OK || !ack.duplicate || ack.seq != p->seqs[i]) {
                die("publisher %u op %u retried: %s dup %d seq %" PRIu64 " want %" PRIu64, p->index,
                    i, rjs_status_str(st), ack.duplicate, ack.seq, p->seqs[i]);
            }
            p->retried++;
            p->retry_dups++;
        }
    }
    rjs_get_stats(h, &p->stats);
    rjs_close(h);
    return NULL;
}

typedef struct cons_state {
    uint64_t total;
    char leader[64];
    pthread_t thread;
    char (*ids)[RJS_MSG_ID_CHARS + 1];
    char (*subjects)[RJS_SUBJECT_MAX];
    uint32_t *pub, *counter;
    int64_t *time_ns;
    uint64_t restarted_at, backwards;
    int64_t done_ms;
    rjs_stats stats;
} cons_state;

static void add_stats(rjs_stats *acc, const rjs_stats *s)
{
    acc->published += s->published;
    acc->duplicates += s->duplicates;
    acc->by_precheck += s->by_precheck;
    acc->retries += s->retries;
    acc->timeouts += s->timeouts;
    acc->no_responders += s->no_responders;
    acc->js_errors += s->js_errors;
    acc->conflicts += s->conflicts;
    acc->max_blocked_ms =
        s->max_blocked_ms > acc->max_blocked_ms ? s->max_blocked_ms : acc->max_blocked_ms;
    acc->disconnects += s->disconnects;
    acc->reconnects += s->reconnects;
    acc->consumer_restarts += s->consumer_restarts;
    acc->repeats_dropped += s->repeats_dropped;
    acc->async_errors += s->async_errors;
}

static void *consumer(void *arg)
{
    cons_state *c = arg;
    char first[512];
    urls_first(c->leader, first, sizeof first);
    rjs *h = open_handle(first, 0);
    rjs_consumer *rc = NULL;
    if (rjs_consume(h, 1, &rc) != RJS_OK) {
        die("rjs_consume: %s", rjs_error(h));
    }
    int64_t deadline = mono_ms() + WAIT_LIMIT_MS;
    uint64_t next = 1;
    while (next <= c->total) {
        rjs_msg m;
        rjs_status st = rjs_next(rc, 1000, &m);
        if (st == RJS_ERR_TIMEOUT) {
            if (mono_ms() > deadline) {
                die("consumer: stuck at sequence %" PRIu64 " of %" PRIu64, next, c->total);
            }
            continue;
        }
        if (st != RJS_OK) {
            die("consumer: %s: %s", rjs_status_str(st), rjs_error(h));
        }
        if (m.seq != next) {
            die("consumer: got sequence %" PRIu64 ", want %" PRIu64, m.seq, next);
        }
        if (m.len != OP_LEN) {
            die("consumer: sequence %" PRIu64 " has %zu bytes", m.seq, m.len);
        }
        char id[RJS_MSG_ID_CHARS + 1];
        rjs_msg_id(m.data, m.len, id);
        if (strcmp(id, m.msg_id) != 0) {
            die("consumer: sequence %" PRIu64 ": Nats-Msg-Id is not the op's id", m.seq);
        }
        memcpy(c->ids[m.seq], id, sizeof id);
        snprintf(c->subjects[m.seq], RJS_SUBJECT_MAX, "%s", m.subject);
        c->pub[m.seq] = op_pub(m.data);
        c->counter[m.seq] = op_counter(m.data);
        c->time_ns[m.seq] = m.time_ns;
        if (m.seq > 1 && m.time_ns < c->time_ns[m.seq - 1]) {
            c->backwards++;
        }
        next = m.seq + 1;
        if (c->restarted_at == 0 && next > c->total / 2) {
            /* The replica restarts: new connection, consumer at next. */
            rjs_stats s;
            rjs_consumer_free(rc);
            rjs_get_stats(h, &s);
            add_stats(&c->stats, &s);
            rjs_close(h);
            h = open_handle(first, 0);
            if (rjs_consume(h, next, &rc) != RJS_OK) {
                die("rjs_consume after restart: %s", rjs_error(h));
            }
            c->restarted_at = next;
        }
    }
    c->done_ms = mono_ms();
    rjs_stats s;
    rjs_get_stats(h, &s);
    add_stats(&c->stats, &s);
    rjs_consumer_free(rc);
    rjs_close(h);
    return NULL;
}

/* ---- 3. a replica too slow for its client buffer ---- */

/* A consumer whose client buffer holds 256 messages, opened on the full
 * stream and read only after a pause: libnats drops what does not fit
 * (slow consumer), and rjs_next must still return every sequence once, in
 * order, re-creating the consumer at each gap. */
static uint64_t step_slow_replica(const cons_state *cs)
{
    uint64_t bad = 0;
    rjs_options o;
    rjs_options_init(&o);
    o.urls = urls;
    o.pending_msgs = 256;
    rjs *h = NULL;
    rjs_consumer *c = NULL;
    if (rjs_open(&h, &o) != RJS_OK || rjs_consume(h, 1, &c) != RJS_OK) {
        die("slow replica: open: %s", rjs_error(h));
    }
    int64_t t = mono_ms();
    sleep_ms(300);
    int64_t deadline = mono_ms() + WAIT_LIMIT_MS;
    for (uint64_t q = 1; q <= cs->total;) {
        rjs_msg m;
        rjs_status st = rjs_next(c, 1000, &m);
        if (st == RJS_ERR_TIMEOUT && mono_ms() < deadline) {
            continue;
        }
        if (st != RJS_OK || m.seq != q) {
            die("slow replica: at %" PRIu64 ": %s seq %" PRIu64, q, rjs_status_str(st), m.seq);
        }
        char id[RJS_MSG_ID_CHARS + 1];
        rjs_msg_id(m.data, m.len, id);
        if (strcmp(m.msg_id, cs->ids[q]) != 0 || strcmp(id, cs->ids[q]) != 0) {
            if (bad++ < 5) {
                printf("  slow replica: sequence %" PRIu64 " holds op %.16s (publisher %u op %u"
                       ", header id %.16s), the first consumer read op %.16s (publisher %u op "
                       "%u) there\n",
                       q, id, op_pub(m.data), op_counter(m.data), m.msg_id, cs->ids[q], cs->pub[q],
                       cs->counter[q]);
            }
        }
        q++;
    }
    rjs_stats s;
    rjs_get_stats(h, &s);
    rjs_consumer_free(c);
    rjs_close(h);
    if (s.consumer_restarts == 0) {
        die("slow replica: libnats dropped nothing, the gap path was not taken");
    }
    printf("slow replica (256-message client buffer): 1..%" PRIu64 " in %" PRId64
           " ms; rjs_next re-created the consumer %" PRIu64 " times (%" PRIu64 " of them stalls)\n",
           cs->total, mono_ms() - t, s.consumer_restarts, s.consumer_stalls);
    return bad;
}

/* ---- 4. every node's copy ---- */

/* Reads the whole stream through a consumer hosted by each node in turn
 * (each reads its own store) and compares it with what the first consumer
 * read. Returns the number of sequences that differ. */
static uint64_t step_each_node(rjs *h, const cons_state *cs)
{
    static const char *const nodes[3] = {"n1", "n2", "n3"};
    uint64_t bad_total = 0;
    for (unsigned k = 0; k < 3; k++) {
        rjs_consumer *c = NULL;
        if (rjs_consume_on(h, 1, nodes[k], &c) != RJS_OK) {
            die("consumer on %s: %s", nodes[k], rjs_error(h));
        }
        uint64_t bad = 0, first_bad = 0;
        int64_t deadline = mono_ms() + WAIT_LIMIT_MS;
        for (uint64_t q = 1; q <= cs->total;) {
            rjs_msg m;
            rjs_status st = rjs_next(c, 1000, &m);
            if (st == RJS_ERR_TIMEOUT && bad != 0) {
                bad += cs->total - q + 1; /* a renumbered copy can end early */
                break;
            }
            if (st == RJS_ERR_TIMEOUT && mono_ms() < deadline) {
                continue;
            }
            if (st != RJS_OK || m.seq != q) {
                die("%s: at %" PRIu64 ": %s seq %" PRIu64, nodes[k], q, rjs_status_str(st), m.seq);
            }
            char id[RJS_MSG_ID_CHARS + 1];
            rjs_msg_id(m.data, m.len, id);
            if (strcmp(id, cs->ids[q]) != 0) {
                uint64_t elsewhere = 0;
                for (uint64_t r = 1; r <= cs->total && elsewhere == 0; r++) {
                    if (strcmp(cs->ids[r], id) == 0) {
                        elsewhere = r;
                    }
                }
                if (bad < 5) {
                    printf("  %s: sequence %" PRIu64 " holds op %.16s (publisher %u op %u), the "
                           "stream has it at %" PRIu64 " (0: nowhere) and op %.16s (publisher "
                           "%u op %u) at %" PRIu64 "\n",
                           nodes[k], q, id, op_pub(m.data), op_counter(m.data), elsewhere,
                           cs->ids[q], cs->pub[q], cs->counter[q], q);
                }
                if (bad++ == 0) {
                    first_bad = q;
                }
            }
            q++;
        }
        rjs_consumer_free(c);
        printf("node %s: 1..%" PRIu64 " read from its own store, %" PRIu64
               " sequences differ (first %" PRIu64 ")\n",
               nodes[k], cs->total, bad, first_bad);
        bad_total += bad;
    }
    return bad_total;
}

static void wait_acked(unsigned n, const char *what)
{
    int64_t deadline = mono_ms() + WAIT_LIMIT_MS;
    while (atomic_load(&acked) < n) {
        if (mono_ms() > deadline) {
            die("waiting for %u acks (%s): %u", n, what, atomic_load(&acked));
        }
        sleep_ms(5);
    }
}

static void stream_leader(rjs *h, char out[64])
{
    rjs_stream_state ss;
    int64_t deadline = mono_ms() + WAIT_LIMIT_MS;
    while (rjs_stream_info(h, &ss) != RJS_OK || ss.leader[0] == '\0') {
        if (mono_ms() > deadline) {
            die("no stream leader");
        }
        sleep_ms(50);
    }
    memcpy(out, ss.leader, 64);
}

/* libnats runs every connection's callbacks (disconnected, closed, async
 * errors) on one thread. A callback of another connection that takes a
 * while holds the callbacks rjs_close's own natsConnection_Close queues
 * (disconnected, closed) behind it: rjs_close must not free the handle
 * before they ran (they write into it). Under AddressSanitizer a handle
 * freed too early is a heap-use-after-free here. */
static void slow_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    struct timespec ts = {0, 600 * 1000000L};
    nanosleep(&ts, NULL);
}

static void close_behind_busy_callbacks(void)
{
    natsOptions *o = NULL;
    natsConnection *busy = NULL;
    char first[sizeof urls];
    snprintf(first, sizeof first, "%s", urls);
    first[strcspn(first, ",")] = 0;
    if (natsOptions_Create(&o) != NATS_OK || natsOptions_SetURL(o, first) != NATS_OK ||
        natsOptions_SetClosedCB(o, slow_closed, NULL) != NATS_OK ||
        natsConnection_Connect(&busy, o) != NATS_OK) {
        die("raw connection");
    }
    rjs *h = open_handle(urls, 1);
    natsConnection_Close(busy); /* the callback thread sleeps in slow_closed */
    int64_t t = mono_ms();
    rjs_close(h); /* queues h's disconnected and closed callbacks behind it */
    printf("close behind busy callbacks: rjs_close returned after %" PRId64 " ms\n", mono_ms() - t);
    natsConnection_Destroy(busy);
    natsOptions_Destroy(o);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--script") == 0) {
            script = argv[i + 1];
        } else if (strcmp(argv[i], "--dir") == 0) {
            cdir = argv[i + 1];
        } else if (strcmp(argv[i], "--msgs") == 0) {
            nmsgs = (unsigned)strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--publishers") == 0) {
            npubs = (unsigned)strtoul(argv[i + 1], NULL, 10);
        } else {
            die("unknown option %s", argv[i]);
        }
    }
    if (script == NULL || cdir == NULL || npubs == 0 || npubs > MAX_PUBS || nmsgs < 3 * npubs) {
        die("usage: %s --script cluster.sh --dir DIR [--msgs N] [--publishers 1..%d]", argv[0],
            MAX_PUBS);
    }
    if (sodium_init() < 0) {
        die("sodium_init");
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    read_urls();
    close_behind_busy_callbacks();
    int64_t t0 = mono_ms();
    rjs *admin = open_handle(urls, 1);
    printf("stream open in %" PRId64 " ms\n", mono_ms() - t0);

    step_duplicates(admin);

    /* ---- failover run ---- */
    uint64_t total = 2 + nmsgs;
    cons_state cs;
    memset(&cs, 0, sizeof cs);
    cs.total = total;
    stream_leader(admin, cs.leader);
    cs.ids = calloc(total + 1, sizeof *cs.ids);
    cs.subjects = calloc(total + 1, sizeof *cs.subjects);
    cs.pub = calloc(total + 1, sizeof *cs.pub);
    cs.counter = calloc(total + 1, sizeof *cs.counter);
    cs.time_ns = calloc(total + 1, sizeof *cs.time_ns);
    pub_state pubs[MAX_PUBS];
    memset(pubs, 0, sizeof pubs);
    if (cs.ids == NULL || cs.subjects == NULL || cs.pub == NULL || cs.counter == NULL ||
        cs.time_ns == NULL) {
        die("out of memory");
    }
    int64_t run0 = mono_ms();
    if (pthread_create(&cs.thread, NULL, consumer, &cs) != 0) {
        die("pthread_create");
    }
    for (unsigned p = 0; p < npubs; p++) {
        pubs[p].index = p;
        pubs[p].count = nmsgs / npubs + (p < nmsgs % npubs ? 1 : 0);
        pubs[p].seqs = calloc(pubs[p].count, sizeof *pubs[p].seqs);
        pubs[p].ids = calloc(pubs[p].count, sizeof *pubs[p].ids);
        if (pubs[p].seqs == NULL || pubs[p].ids == NULL) {
            die("out of memory");
        }
        if (pthread_create(&pubs[p].thread, NULL, publisher, &pubs[p]) != 0) {
            die("pthread_create");
        }
    }

    wait_acked(nmsgs / 3, "before the kill");
    char victim[64];
    stream_leader(admin, victim);
    atomic_store(&kill_ms, mono_ms());
    cluster("kill", victim);
    printf("killed stream leader %s (kill -9) after %u acks, %" PRId64 " ms into the run\n", victim,
           atomic_load(&acked), atomic_load(&kill_ms) - run0);
    wait_acked(nmsgs / 2, "before the restart");
    char after[64];
    stream_leader(admin, after);
    int64_t r0 = mono_ms();
    cluster("restart", victim);
    atomic_store(&restart_ms, mono_ms());
    printf("new stream leader %s; restarted %s in %" PRId64 " ms (until its /healthz is ok)\n",
           after, victim, mono_ms() - r0);

    for (unsigned p = 0; p < npubs; p++) {
        pthread_join(pubs[p].thread, NULL);
    }
    int64_t pub_done = mono_ms();
    pthread_join(cs.thread, NULL);

    /* ---- checks ---- */
    rjs_stream_state ss;
    int64_t deadline = mono_ms() + WAIT_LIMIT_MS;
    while (rjs_stream_info(admin, &ss) != RJS_OK || ss.current != ss.replicas || ss.replicas != 2) {
        if (mono_ms() > deadline) {
            die("the stream's replicas are not all current again");
        }
        sleep_ms(100);
    }
    if (ss.msgs != total || ss.first_seq != 1 || ss.last_seq != total) {
        die("stream holds %" PRIu64 " messages (%" PRIu64 "..%" PRIu64 "), want %" PRIu64, ss.msgs,
            ss.first_seq, ss.last_seq, total);
    }
    /* Every sequence holds one op, every op is at the sequence its publisher
     * was told, so no op is missing or stored twice. */
    for (unsigned k = 0; k < 2; k++) {
        if (strcmp(cs.ids[det_seq[k]], det_id[k]) != 0) {
            die("step 1 op %u is not at sequence %" PRIu64, k, det_seq[k]);
        }
    }
    uint64_t seen = 2;
    rjs_stats pub_stats;
    memset(&pub_stats, 0, sizeof pub_stats);
    uint64_t retried = 0, max_attempts = 0;
    for (unsigned p = 0; p < npubs; p++) {
        const pub_state *ps = &pubs[p];
        for (unsigned i = 0; i < ps->count; i++) {
            uint64_t q = ps->seqs[i];
            if (q == 0 || q > total || strcmp(cs.ids[q], ps->ids[i]) != 0 || cs.pub[q] != p ||
                cs.counter[q] != i) {
                die("publisher %u op %u: not at its sequence %" PRIu64, p, i, q);
            }
            if (i > 0 && (q <= ps->seqs[i - 1] ||
                          strcmp(cs.subjects[q], cs.subjects[ps->seqs[i - 1]]) != 0)) {
                die("publisher %u op %u: out of its subject's order", p, i);
            }
            seen++;
        }
        add_stats(&pub_stats, &ps->stats);
        retried += ps->retried;
        max_attempts = ps->max_attempts > max_attempts ? ps->max_attempts : max_attempts;
    }
    if (seen != total) {
        die("ops accounted for: %" PRIu64 " of %" PRIu64, seen, total);
    }
    /* Subject order from the consumer's side: counters rise by one. */
    for (unsigned p = 0; p < npubs; p++) {
        unsigned want = 0;
        for (uint64_t q = 1; q <= total; q++) {
            if (cs.pub[q] == p) {
                if (cs.counter[q] != want) {
                    die("publisher %u: op %u at sequence %" PRIu64 ", want op %u", p, cs.counter[q],
                        q, want);
                }
                want++;
            }
        }
    }

    int64_t k = atomic_load(&kill_ms);
    printf("stream: %" PRIu64 " messages 1..%" PRIu64 ", leader %s, %d/%d replicas current\n",
           ss.msgs, ss.last_seq, ss.leader, ss.current, ss.replicas);
    printf("publishers: %u x ~%u ops in %" PRId64 " ms (%.0f ops/s incl. failover), %" PRIu64
           " client retries of the same bytes all answered as duplicates\n",
           npubs, nmsgs / npubs, pub_done - run0,
           (double)nmsgs * 1000.0 / (double)(pub_done - run0 > 0 ? pub_done - run0 : 1), retried);
    printf("failover: longest time without any ack %" PRId64 " ms (ending %" PRId64
           " ms after the kill); longest publish blocked %" PRId64
           " ms; most attempts for one op %" PRIu64 "; retries %" PRIu64 " (after %" PRIu64
           " timeouts, %" PRIu64 " no-responders, %" PRIu64
           " other transient errors); duplicates %" PRIu64
           " (via wrong-last-sequence pre-check %" PRIu64 "); disconnects %" PRIu64
           ", reconnects %" PRIu64 "\n",
           (int64_t)atomic_load(&max_ack_gap_ms), (int64_t)atomic_load(&max_gap_end_ms) - k,
           pub_stats.max_blocked_ms, max_attempts, pub_stats.retries, pub_stats.timeouts,
           pub_stats.no_responders, pub_stats.js_errors, pub_stats.duplicates,
           pub_stats.by_precheck, pub_stats.disconnects, pub_stats.reconnects);
    printf("consumer: sequences 1..%" PRIu64 " once each, in order; restarted at %" PRIu64
           "; caught up %" PRId64 " ms after the last ack; re-created by rjs_next %" PRIu64
           " (stalls %" PRIu64 "), repeats dropped %" PRIu64 ", async errors %" PRIu64
           ", reconnects %" PRIu64 "; timestamps backwards %" PRIu64 "\n",
           total, cs.restarted_at, cs.done_ms > pub_done ? cs.done_ms - pub_done : 0,
           cs.stats.consumer_restarts, cs.stats.consumer_stalls, cs.stats.repeats_dropped,
           cs.stats.async_errors, cs.stats.reconnects, cs.backwards);

    uint64_t slow_bad = step_slow_replica(&cs);
    if (slow_bad != 0) {
        die("the slow replica read %" PRIu64 " sequences differently", slow_bad);
    }
    if (step_each_node(admin, &cs) != 0) {
        /* Not this module's to fix: see "Which copy is read" in js.h. */
        printf("KNOWN ISSUE (nats-server 2.9.10): a node's own copy of the stream differs from "
               "the acknowledged one after the leader was killed; rjs_consume reads the "
               "leader's copy\n");
    }
    printf("total run %" PRId64 " ms\n", mono_ms() - t0);

    for (unsigned p = 0; p < npubs; p++) {
        free(pubs[p].seqs);
        free(pubs[p].ids);
    }
    free(cs.ids);
    free(cs.subjects);
    free(cs.pub);
    free(cs.counter);
    free(cs.time_ns);
    rjs_close(admin);
    printf("replica js: all checks passed\n");
    return 0;
}
