/*
 * ca-bench-replication: the replication figures of issue 15, run by
 * tests/bench/replication.sh (which starts the 3-node cluster and passes its
 * URLs). Prints one figure a line, "name value unit":
 *
 * replicated_ops_per_s, replicated_vs_verify_ratio: pre-signed transfers
 *   (signing is done before any timing and not measured), in frames of
 *   --frame ops of one signer, published synchronously on the signer's
 *   subject of an R3 stream, until each of three cyberagent-replica
 *   PROCESSES (own durable ledger each, every signature verified by each)
 *   has printed the checkpoint at the round's last sequence. The baseline
 *   is ca_ledger_op_verify of the same number of those ops on one thread;
 *   the two are timed in turns (bench_interleave) and the ratio is the median
 *   of per-round ratios (replicated rate / single-core verify rate).
 *   Each replica runs in its own session (setsid), as separate services
 *   would: with autogroup scheduling a session gets one CPU share on a busy
 *   machine, whatever its process count (CA_BENCH_SAME_SESSION=1 keeps them
 *   in this one). On stderr: the CPU time per op of the verify baseline, the
 *   replicas, the nats-servers and the publisher (from /proc), and the rate
 *   and ratio they allow on two idle cores: a figure the machine's load
 *   does not move.
 * replica_catchup_ops_per_s, replica_catchup_vs_verify_ratio: a fresh
 *   replica process on an empty directory, the stream above already written
 *   (every round's ops and the setup's): ops applied per second from its
 *   `start` line (connected, ledger opened) to its checkpoint at the
 *   stream's last sequence. The other replicas are stopped by then. Timed in
 *   turns with the verify baseline as above.
 * replica_restore_ms: a second stream whose ops create 100,000 accounts
 *   (mints to fresh ids); two replicas checkpoint and publish snapshots in
 *   the key-value bucket; then, per round, the replica's restore path in
 *   this process: find the newest snapshot another replica's checkpoint
 *   confirms and fetch its chunks (rcp_find_snapshot), install it in an
 *   empty directory and open it (rc_open_snapshot), read its state and
 *   compare with the confirmed checkpoint. Median over the rounds.
 *
 * Every figure is a median over CA_BENCH_ROUNDS rounds (default 5);
 * CA_BENCH_QUICK=1 makes everything small (a smoke run; the figures are then
 * not the issue's). CA_BENCH_VERBOSE=1 prints per-round values on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cpstore.h"
#include "cyberagent.h"
#include "js.h"
#include "ledger_args.h"
#include "replica_core.h"

#define MAX_REPLICAS 3
#define AGENTS       16

typedef struct config {
    const char *urls, *replica_bin, *dir, *pids;
    size_t frame;         /* ops per message of the throughput stream */
    size_t round_ops;     /* ops per replicated round */
    size_t accounts;      /* accounts of the snapshot */
    int rounds;           /* bench_rounds() */
    char authority[65];   /* hex */
    ca_ledger_options lo; /* every replica's ledger options */
    ca_hash lid;
} config;

/* ---- replica processes ---- */

typedef struct replica {
    pid_t pid;
    int fd; /* its stdout; -1 at EOF */
    char name[16];
    char buf[8192];
    size_t len;
    int started, finished;
    uint64_t cp_seq, cp_failed; /* the last checkpoint line */
    double start_t, cp_t;       /* when its start / last checkpoint line was read */
} replica;

static void note_pid(const config *c, pid_t pid)
{
    FILE *f = fopen(c->pids, "a");
    if (f != NULL) {
        fprintf(f, "%ld\n", (long)pid);
        fclose(f);
    }
}

static int replica_start(replica *r, const config *c, const char *name, const char *stream,
                         const char *prefix, const char *bucket, uint64_t every,
                         uint64_t snap_every)
{
    char dir[1024], err[1024], ev[32], sev[32];
    memset(r, 0, sizeof *r);
    r->fd = -1;
    (void)snprintf(r->name, sizeof r->name, "%s", name);
    (void)snprintf(dir, sizeof dir, "%s/%s", c->dir, name);
    (void)snprintf(err, sizeof err, "%s/%s.err", c->dir, name);
    (void)snprintf(ev, sizeof ev, "%" PRIu64, every);
    (void)snprintf(sev, sizeof sev, "%" PRIu64, snap_every);
    int p[2];
    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its own session, as a replica run as a service would be: with the
         * kernel's autogroup scheduling (Debian's default) a session shares one
         * CPU share, so three replicas in the bench's session would get, on a
         * loaded machine, the CPU the one verify thread gets. */
        const char *same = getenv("CA_BENCH_SAME_SESSION");
        if (same == NULL || same[0] == '\0' || same[0] == '0')
            (void)setsid();
        int e = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (e < 0 || dup2(p[1], STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
            _exit(127);
        close(p[0]);
        close(p[1]);
        close(e);
        execl(c->replica_bin, c->replica_bin, "--urls", c->urls, "--dir", dir, "--name", name,
              "--authority", c->authority, "--stream", stream, "--prefix", prefix, "--bucket",
              bucket, "--checkpoint-every", ev, "--snapshot-every", sev, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    note_pid(c, pid);
    r->pid = pid;
    r->fd = p[0];
    (void)fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

static void replica_line(replica *r, const char *line, double now)
{
    rc_checkpoint cp;
    if (strncmp(line, "start ", 6) == 0) {
        r->started = 1;
        r->start_t = now;
    } else if (strncmp(line, "checkpoint ", 11) == 0 &&
               rc_parse_prefix(line + 11, strlen(line + 11), &cp) != 0) {
        r->cp_seq = cp.seq;
        r->cp_failed = cp.failed;
        r->cp_t = now;
    } else if (strncmp(line, "final ", 6) == 0) {
        r->finished = 1;
    }
}

/* Reads what the replicas printed, waiting up to timeout_ms for something. */
static void replicas_pump(replica *rs, int n, int timeout_ms)
{
    struct pollfd pf[MAX_REPLICAS + 1];
    int idx[MAX_REPLICAS + 1], k = 0;
    for (int i = 0; i < n; i++)
        if (rs[i].fd >= 0) {
            pf[k] = (struct pollfd){.fd = rs[i].fd, .events = POLLIN};
            idx[k++] = i;
        }
    if (k == 0 || poll(pf, (nfds_t)k, timeout_ms) <= 0)
        return;
    double now = bench_now();
    for (int j = 0; j < k; j++) {
        if (pf[j].revents == 0)
            continue;
        replica *r = &rs[idx[j]];
        for (;;) {
            ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
                close(r->fd);
                r->fd = -1;
                break;
            }
            if (got < 0)
                break;
            r->len += (size_t)got;
            r->buf[r->len] = '\0';
            char *nl;
            while ((nl = strchr(r->buf, '\n')) != NULL) {
                *nl = '\0';
                replica_line(r, r->buf, now);
                r->len -= (size_t)(nl + 1 - r->buf);
                memmove(r->buf, nl + 1, r->len + 1);
            }
            if (r->len == sizeof r->buf - 1)
                r->len = 0; /* a line longer than the buffer: not one we look for */
        }
    }
}

/* Waits until every replica printed its start line (want_cp 0) or a
 * checkpoint at seq >= want_cp; the time the last one was read, or -1. */
static double replicas_wait(replica *rs, int n, uint64_t want_cp, double timeout_s)
{
    double deadline = bench_now() + timeout_s;
    for (;;) {
        int done = 0;
        double last = 0;
        for (int i = 0; i < n; i++) {
            int ok = want_cp == 0 ? rs[i].started : rs[i].cp_seq >= want_cp;
            double t = want_cp == 0 ? rs[i].start_t : rs[i].cp_t;
            done += ok;
            if (ok && t > last)
                last = t;
        }
        if (done == n)
            return last;
        for (int i = 0; i < n; i++)
            if (rs[i].fd < 0 && !(want_cp == 0 ? rs[i].started : rs[i].cp_seq >= want_cp)) {
                fprintf(stderr, "bench_replication: replica %s ended early (see %s.err)\n",
                        rs[i].name, rs[i].name);
                return -1;
            }
        if (bench_now() > deadline) {
            fprintf(stderr, "bench_replication: replicas did not reach %" PRIu64 " in %.0f s\n",
                    want_cp, timeout_s);
            return -1;
        }
        replicas_pump(rs, n, 200);
    }
}

/* SIGTERM (drain), then SIGKILL after 60 s; 0 if each printed `final`. */
static int replicas_stop(replica *rs, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (rs[i].pid > 0)
            kill(rs[i].pid, SIGTERM);
    double deadline = bench_now() + 60;
    for (;;) {
        int open_fds = 0;
        for (int i = 0; i < n; i++)
            open_fds += rs[i].fd >= 0;
        if (open_fds == 0 || bench_now() > deadline)
            break;
        replicas_pump(rs, n, 200);
    }
    for (int i = 0; i < n; i++) {
        if (rs[i].pid <= 0)
            continue;
        if (rs[i].fd >= 0) {
            kill(rs[i].pid, SIGKILL);
            close(rs[i].fd);
            rs[i].fd = -1;
        }
        int st = 0;
        waitpid(rs[i].pid, &st, 0);
        rs[i].pid = 0;
        if (!rs[i].finished || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = -1;
    }
    return rc;
}

static void remove_tree(const char *path)
{
    char cmd[1200];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_replication: could not remove %s\n", path);
}

/* CPU seconds (user + system) a process has used so far, from /proc; 0 if unknown. */
static double proc_cpu_s(long pid)
{
    char path[64], buf[1024];
    (void)snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name */
    unsigned long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : 0;
}

/* CPU seconds of the cluster's nats-server processes (DIR/cluster/nK.pid, as
 * replication.sh lays it out); 0 when they are elsewhere. */
static double cluster_cpu_s(const char *dir)
{
    double sum = 0;
    for (int k = 1; k <= 3; k++) {
        char path[1100];
        long pid = 0;
        (void)snprintf(path, sizeof path, "%s/cluster/n%d.pid", dir, k);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        if (fscanf(f, "%ld", &pid) == 1 && pid > 0)
            sum += proc_cpu_s(pid);
        fclose(f);
    }
    return sum;
}

static double self_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- signed ops ---- */

typedef struct opbuf {
    uint8_t *bytes;
    size_t *off, *len;
    size_t n, cap, used;
} opbuf;

static int opbuf_add(opbuf *b, const ca_hash *lid, const ca_ledger_op *op, const ca_identity *who)
{
    if (b->used + CA_LEDGER_OP_MAX_BYTES > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : (size_t)1 << 20;
        uint8_t *nb = realloc(b->bytes, cap);
        if (nb == NULL)
            return -1;
        b->bytes = nb;
        b->cap = cap;
    }
    if ((b->n & (b->n + 1)) == 0 || b->off == NULL) { /* grow at 0, 1, 3, 7, ... */
        size_t slots = 2 * (b->n + 1);
        size_t *no = realloc(b->off, slots * sizeof *no);
        if (no == NULL)
            return -1;
        b->off = no;
        size_t *nl = realloc(b->len, slots * sizeof *nl);
        if (nl == NULL)
            return -1;
        b->len = nl;
    }
    size_t len = 0;
    if (ca_ledger_op_sign(lid, op, who, NULL, b->bytes + b->used, CA_LEDGER_OP_MAX_BYTES, &len) !=
        CA_OK) {
        fprintf(stderr, "bench_replication: signing: %s\n", ca_last_error());
        return -1;
    }
    b->off[b->n] = b->used;
    b->len[b->n] = len;
    b->used += len;
    b->n++;
    return 0;
}

static void opbuf_free(opbuf *b)
{
    free(b->bytes);
    free(b->off);
    free(b->len);
    memset(b, 0, sizeof *b);
}

/* A frame of ops [first, first + n) (pointers into b); malloc'd bytes. */
static uint8_t *frame_of(const opbuf *b, size_t first, size_t n, size_t *out_len)
{
    rc_item *items = calloc(n, sizeof *items);
    if (items == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = (rc_item){b->bytes + b->off[first + i], b->len[first + i], NULL, 0};
    size_t size = rc_frame_size(items, n);
    uint8_t *out = size ? malloc(size) : NULL;
    if (out != NULL && rc_frame_encode(items, n, out, size, out_len) != CA_OK) {
        free(out);
        out = NULL;
    }
    free(items);
    return out;
}

/* One message to publish: its signer (an index into the signer table) and bytes. */
typedef struct msg {
    int signer;
    uint8_t *data;
    size_t len;
} msg;

typedef struct publisher {
    rjs *h;
    ca_agent_id ids[AGENTS + 1]; /* agents, then the authority */
    uint64_t last[AGENTS + 1];   /* each signer's last subject sequence */
    uint64_t seq;                /* the stream's last sequence */
} publisher;

static int publish(publisher *p, const msg *m)
{
    rjs_ack ack;
    rjs_status st =
        rjs_publish(p->h, p->ids[m->signer].bytes, m->data, m->len, p->last[m->signer], &ack);
    if (st != RJS_OK || ack.duplicate || ack.seq != p->seq + 1) {
        fprintf(stderr,
                "bench_replication: publish: %s %s (seq %" PRIu64 ", expected %" PRIu64 ")\n",
                rjs_status_str(st), rjs_error(p->h), ack.seq, p->seq + 1);
        return -1;
    }
    p->last[m->signer] = ack.seq;
    p->seq = ack.seq;
    return 0;
}

/* ---- the verify baseline ---- */

typedef struct verify_ctx {
    const config *c;
    const opbuf *ops;
    size_t first, n;
    double cpu; /* CPU seconds of every timing so far */
    int timings;
} verify_ctx;

/* Seconds per ca_ledger_op_verify on one thread. */
static double verify_round(void *arg)
{
    verify_ctx *v = arg;
    double c0 = self_cpu_s(), t0 = bench_now();
    for (size_t i = v->first; i < v->first + v->n; i++)
        if (ca_ledger_op_verify(&v->c->lid, v->ops->bytes + v->ops->off[i], v->ops->len[i]) !=
            CA_OK) {
            fprintf(stderr, "bench_replication: verify: %s\n", ca_last_error());
            return -1;
        }
    double t1 = bench_now();
    v->cpu += self_cpu_s() - c0;
    v->timings++;
    return (t1 - t0) / (double)v->n;
}

/* ---- replicated throughput and catch-up ---- */

typedef struct repl_ctx {
    const config *c;
    publisher *p;
    replica *rs;
    msg *msgs;  /* every round's messages, in order */
    size_t per; /* messages per round */
    int round;  /* next round */
    /* CPU seconds over the rounds: the replicas, the nats-servers, this process */
    double cpu_replicas, cpu_nats, cpu_self;
} repl_ctx;

static double replicas_cpu_s(const replica *rs, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += proc_cpu_s((long)rs[i].pid);
    return sum;
}

/* One round: publish its messages, wait for all three checkpoints at its end. */
static double repl_round(void *arg)
{
    repl_ctx *x = arg;
    const msg *m = x->msgs + (size_t)x->round * x->per;
    double r0 = replicas_cpu_s(x->rs, MAX_REPLICAS), n0 = cluster_cpu_s(x->c->dir);
    double s0 = self_cpu_s(), t0 = bench_now();
    for (size_t i = 0; i < x->per; i++)
        if (publish(x->p, &m[i]) != 0)
            return -1;
    double tp = bench_now();
    double t1 = replicas_wait(x->rs, MAX_REPLICAS, x->p->seq, 120);
    if (t1 < 0)
        return -1;
    if (bench_verbose())
        fprintf(stderr,
                "bench_replication: round %d: published in %.3f s, replicas done at %.3f %.3f "
                "%.3f s\n",
                x->round + 1, tp - t0, x->rs[0].cp_t - t0, x->rs[1].cp_t - t0, x->rs[2].cp_t - t0);
    for (int i = 0; i < MAX_REPLICAS; i++)
        if (x->rs[i].cp_failed != 0) {
            fprintf(stderr, "bench_replication: replica %s refused ops\n", x->rs[i].name);
            return -1;
        }
    x->cpu_replicas += replicas_cpu_s(x->rs, MAX_REPLICAS) - r0;
    x->cpu_nats += cluster_cpu_s(x->c->dir) - n0;
    x->cpu_self += self_cpu_s() - s0;
    x->round++;
    return (t1 - t0) / (double)x->c->round_ops;
}

typedef struct catchup_ctx {
    const config *c;
    uint64_t last_seq, ops, every;
    int n;
    double cpu; /* the catch-up replicas' CPU seconds, start to last checkpoint */
} catchup_ctx;

/* A fresh replica on an empty directory reads the whole stream. */
static double catchup_round(void *arg)
{
    catchup_ctx *x = arg;
    replica r;
    char name[16], dir[1100];
    (void)snprintf(name, sizeof name, "c%d", ++x->n);
    if (replica_start(&r, x->c, name, "RBT", "rbt.ops", "RBT_CP", x->every, 0) != 0)
        return -1;
    double t0 = replicas_wait(&r, 1, 0, 120);
    double t1 = t0 < 0 ? -1 : replicas_wait(&r, 1, x->last_seq, 300);
    x->cpu += proc_cpu_s((long)r.pid);
    int stopped = replicas_stop(&r, 1);
    (void)snprintf(dir, sizeof dir, "%s/%s", x->c->dir, name);
    remove_tree(dir);
    if (t1 < 0 || stopped != 0 || r.cp_failed != 0)
        return -1;
    return (t1 - t0) / (double)x->ops;
}

static int run_throughput(const config *c)
{
    int rc = -1, rounds = c->rounds;
    size_t per = c->round_ops / c->frame; /* messages per round = checkpoint interval */
    size_t total = (size_t)rounds * c->round_ops;
    ca_identity *auth = NULL, *agents[AGENTS] = {0};
    opbuf ops = {0}, mints = {0};
    msg *msgs = calloc((size_t)rounds * per, sizeof *msgs);
    msg *setup = calloc(per, sizeof *setup);
    publisher pub;
    memset(&pub, 0, sizeof pub);
    replica rs[MAX_REPLICAS];
    memset(rs, 0, sizeof rs);
    int started = 0;
    if (msgs == NULL || setup == NULL)
        goto out;
    uint8_t seed[32] = {0};
    seed[0] = 0xA0;
    if (ca_identity_from_seed(&auth, seed) != CA_OK)
        goto out;
    ca_identity_id(auth, &pub.ids[AGENTS]);
    for (int i = 0; i < AGENTS; i++) {
        seed[0] = (uint8_t)(i + 1);
        if (ca_identity_from_seed(&agents[i], seed) != CA_OK)
            goto out;
        ca_identity_id(agents[i], &pub.ids[i]);
    }

    /* Setup: `per` single mints, one message each (so the setup ends at a
     * checkpoint), every agent funded for all its transfers. */
    for (size_t m = 0; m < per; m++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        op.signer = pub.ids[AGENTS];
        op.nonce = m + 1;
        op.counterparty = pub.ids[m % AGENTS];
        op.amount = 1000000000u;
        if (opbuf_add(&mints, &c->lid, &op, auth) != 0)
            goto out;
        setup[m].signer = AGENTS;
        setup[m].data = mints.bytes + mints.off[m];
        setup[m].len = mints.len[m];
    }
    /* Every round: `per` frames of `frame` transfers, signer m % AGENTS. */
    fprintf(stderr, "bench_replication: signing %zu transfers (not timed)\n", total);
    uint64_t nonce[AGENTS] = {0};
    for (size_t k = 0; k < (size_t)rounds * per; k++) {
        int s = (int)(k % per % AGENTS);
        for (size_t i = 0; i < c->frame; i++) {
            ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
            op.type = CA_LEDGER_OP_TRANSFER;
            op.signer = pub.ids[s];
            op.nonce = ++nonce[s];
            op.counterparty = pub.ids[(s + 1) % AGENTS];
            op.amount = 1;
            if (opbuf_add(&ops, &c->lid, &op, agents[s]) != 0)
                goto out;
        }
    }
    for (size_t k = 0; k < (size_t)rounds * per; k++) {
        msgs[k].signer = (int)(k % per % AGENTS);
        msgs[k].data = frame_of(&ops, k * c->frame, c->frame, &msgs[k].len);
        if (msgs[k].data == NULL)
            goto out;
    }

    rjs_options jo;
    rjs_options_init(&jo);
    jo.urls = c->urls;
    jo.stream = "RBT";
    jo.subject_prefix = "rbt.ops";
    if (rjs_open(&pub.h, &jo) != RJS_OK)
        goto out;
    for (int i = 0; i < MAX_REPLICAS; i++) {
        char name[8];
        (void)snprintf(name, sizeof name, "r%d", i + 1);
        if (replica_start(&rs[i], c, name, "RBT", "rbt.ops", "RBT_CP", per, 0) != 0)
            goto out;
        started++;
    }
    if (replicas_wait(rs, MAX_REPLICAS, 0, 120) < 0)
        goto out;
    for (size_t m = 0; m < per; m++)
        if (publish(&pub, &setup[m]) != 0)
            goto out;
    if (replicas_wait(rs, MAX_REPLICAS, pub.seq, 120) < 0)
        goto out;

    repl_ctx rx = {c, &pub, rs, msgs, per, 0, 0, 0, 0};
    verify_ctx vx = {c, &ops, 0, c->round_ops, 0, 0};
    bench_pair pair;
    if (bench_interleave(rounds, verify_round, &vx, repl_round, &rx, &pair) != 0 ||
        pair.rounds != rounds) {
        fprintf(stderr, "bench_replication: replicated rounds failed\n");
        goto out;
    }
    double verify_rate = 1.0 / pair.num;
    bench_figure("replicated_ops_per_s", 1.0 / pair.den, "ops/s");
    bench_figure("replicated_vs_verify_ratio", pair.ratio, "ratio");
    fprintf(stderr,
            "bench_replication: single-core ca_ledger_op_verify %.0f ops/s (median of the "
            "replicated rounds' baseline); %zu ops a round in %zu frames of %zu\n",
            verify_rate, c->round_ops, per, c->frame);
    {
        /* Where the CPU goes, per op (load-independent, unlike the wall-clock figures). */
        double ops_n = (double)rounds * (double)c->round_ops;
        double v_us = vx.cpu / ((double)vx.timings * (double)c->round_ops) * 1e6;
        double r_us = rx.cpu_replicas / ops_n * 1e6, n_us = rx.cpu_nats / ops_n * 1e6;
        double p_us = rx.cpu_self / ops_n * 1e6;
        fprintf(stderr,
                "bench_replication: CPU per op: verify %.1f us; 3 replicas %.1f us (%.1f each), "
                "nats-servers %.1f us, publisher %.1f us; on 2 idle cores at most %.0f ops/s "
                "(ratio %.2f)\n",
                v_us, r_us, r_us / 3, n_us, p_us, 2e6 / (r_us + n_us + p_us),
                v_us * 2 / (r_us + n_us + p_us));
    }
    int stopped = replicas_stop(rs, MAX_REPLICAS);
    started = 0;
    if (stopped != 0) {
        fprintf(stderr, "bench_replication: a replica did not drain cleanly\n");
        goto out;
    }

    /* Catch-up: the stream now holds the setup and every round. */
    catchup_ctx cx = {c, pub.seq, per + total, pub.seq, 0, 0};
    if (bench_interleave(rounds, verify_round, &vx, catchup_round, &cx, &pair) != 0 ||
        pair.rounds != rounds) {
        fprintf(stderr, "bench_replication: catch-up rounds failed\n");
        goto out;
    }
    bench_figure("replica_catchup_ops_per_s", 1.0 / pair.den, "ops/s");
    bench_figure("replica_catchup_vs_verify_ratio", pair.ratio, "ratio");
    fprintf(stderr,
            "bench_replication: catch-up of %" PRIu64 " ops in %" PRIu64
            " messages; single-core verify %.0f ops/s; CPU per op: catch-up replica %.1f us "
            "(from its start), verify %.1f us\n",
            cx.ops, cx.last_seq, 1.0 / pair.num, cx.cpu / ((double)cx.n * (double)cx.ops) * 1e6,
            vx.cpu / ((double)vx.timings * (double)c->round_ops) * 1e6);
    rc = 0;
out:
    if (started)
        (void)replicas_stop(rs, started);
    rjs_close(pub.h);
    if (msgs != NULL)
        for (size_t k = 0; k < (size_t)rounds * per; k++)
            free(msgs[k].data);
    free(msgs);
    free(setup);
    opbuf_free(&ops);
    opbuf_free(&mints);
    ca_identity_free(auth);
    for (int i = 0; i < AGENTS; i++)
        ca_identity_free(agents[i]);
    return rc;
}

/* ---- restore from a snapshot ---- */

static int run_restore(const config *c)
{
    int rc = -1;
    size_t per_msg = 1000;
    size_t nmsg = (c->accounts + per_msg - 1) / per_msg;
    ca_identity *auth = NULL;
    opbuf ops = {0};
    publisher pub;
    memset(&pub, 0, sizeof pub);
    replica rs[2];
    memset(rs, 0, sizeof rs);
    int started = 0;
    rcp *store = NULL;
    double *ms = calloc((size_t)c->rounds, sizeof *ms);
    uint8_t seed[32] = {0};
    seed[0] = 0xA0;
    if (ms == NULL || ca_identity_from_seed(&auth, seed) != CA_OK)
        goto out;
    ca_identity_id(auth, &pub.ids[AGENTS]);
    fprintf(stderr, "bench_replication: signing %zu mints to new accounts (not timed)\n",
            c->accounts);
    for (size_t i = 0; i < c->accounts; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        op.signer = pub.ids[AGENTS];
        op.nonce = i + 1;
        op.counterparty.bytes[0] = 0x5A;
        for (int b = 0; b < 8; b++)
            op.counterparty.bytes[8 + b] = (uint8_t)((uint64_t)i >> (8 * b));
        op.amount = 1000 + i;
        if (opbuf_add(&ops, &c->lid, &op, auth) != 0)
            goto out;
    }
    rjs_options jo;
    rjs_options_init(&jo);
    jo.urls = c->urls;
    jo.stream = "RBS";
    jo.subject_prefix = "rbs.ops";
    if (rjs_open(&pub.h, &jo) != RJS_OK || rcp_open(&store, pub.h, "RBS_CP", 3) != RJS_OK)
        goto out;
    for (int i = 0; i < 2; i++) {
        char name[8];
        (void)snprintf(name, sizeof name, "s%d", i + 1);
        if (replica_start(&rs[i], c, name, "RBS", "rbs.ops", "RBS_CP", nmsg, 1) != 0)
            goto out;
        started++;
    }
    if (replicas_wait(rs, 2, 0, 120) < 0)
        goto out;
    for (size_t m = 0; m < nmsg; m++) {
        size_t first = m * per_msg,
               n = c->accounts - first < per_msg ? c->accounts - first : per_msg;
        msg one = {AGENTS, NULL, 0};
        one.data = frame_of(&ops, first, n, &one.len);
        int bad = one.data == NULL || publish(&pub, &one) != 0;
        free(one.data);
        if (bad)
            goto out;
    }
    if (replicas_wait(rs, 2, pub.seq, 300) < 0 || rs[0].cp_failed != 0 || rs[1].cp_failed != 0)
        goto out;
    /* The snapshots are written after the checkpoint line: wait for one to be confirmed. */
    int found = 0;
    size_t snap_len = 0;
    for (double end = bench_now() + 120; !found && bench_now() < end;) {
        rc_checkpoint cp;
        char writer[RCP_NAME_MAX + 1], by[RCP_NAME_MAX + 1];
        uint8_t *bytes = NULL;
        if (rcp_find_snapshot(store, 0, &found, &cp, writer, by, &bytes, &snap_len) != RJS_OK)
            found = 0;
        free(bytes);
        if (!found || cp.seq != pub.seq) {
            found = 0;
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
        }
    }
    if (!found) {
        fprintf(stderr, "bench_replication: no confirmed snapshot appeared\n");
        goto out;
    }
    int stopped = replicas_stop(rs, 2);
    started = 0;
    if (stopped != 0)
        goto out;
    for (int r = 0; r < c->rounds; r++) {
        char dir[1100];
        (void)snprintf(dir, sizeof dir, "%s/restore%d", c->dir, r);
        rc_options ro = {.ledger = &c->lo, .dir = dir, .checkpoint_every = nmsg, .check = 1};
        rc_checkpoint cp, got;
        char writer[RCP_NAME_MAX + 1], by[RCP_NAME_MAX + 1];
        uint8_t *bytes = NULL;
        size_t len = 0;
        rc_core *core = NULL;
        double t0 = bench_now();
        int ok = rcp_find_snapshot(store, 0, &found, &cp, writer, by, &bytes, &len) == RJS_OK &&
                 found && rc_open_snapshot(&core, &ro, bytes, len) == CA_OK &&
                 rc_state(core, &got) == CA_OK && got.seq == cp.seq && got.failed == cp.failed &&
                 memcmp(got.hash.bytes, cp.hash.bytes, sizeof got.hash.bytes) == 0;
        double t1 = bench_now();
        free(bytes);
        if (!ok)
            fprintf(stderr, "bench_replication: restore round %d failed: %s\n", r + 1,
                    core != NULL ? rc_error(core) : "no snapshot");
        rc_close(core);
        remove_tree(dir);
        if (!ok)
            goto out;
        ms[r] = (t1 - t0) * 1000;
        if (bench_verbose())
            fprintf(stderr, "bench_replication: restore round %d: %.1f ms\n", r + 1, ms[r]);
    }
    bench_figure("replica_restore_ms", bench_median(ms, (size_t)c->rounds), "ms");
    fprintf(stderr,
            "bench_replication: snapshot of %zu accounts, %zu bytes, fetched in %zu chunks\n",
            c->accounts, snap_len, (snap_len + RCP_CHUNK - 1) / RCP_CHUNK);
    rc = 0;
out:
    if (started)
        (void)replicas_stop(rs, started);
    rcp_close(store);
    rjs_close(pub.h);
    opbuf_free(&ops);
    ca_identity_free(auth);
    free(ms);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: ca-bench-replication --urls URLS --replica PATH --dir DIR [--pids FILE]"
                    " [--frame N] [--skip-restore]\n"
                    "(tests/bench/replication.sh starts the cluster and runs this)\n");
}

int main(int argc, char **argv)
{
    config c;
    memset(&c, 0, sizeof c);
    c.frame = 500;
    int skip_restore = 0, skip_throughput = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--skip-restore") == 0) {
            skip_restore = 1;
            continue;
        }
        if (strcmp(k, "--skip-throughput") == 0) {
            skip_throughput = 1;
            continue;
        }
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(k, "--urls") == 0)
            c.urls = v;
        else if (strcmp(k, "--replica") == 0)
            c.replica_bin = v;
        else if (strcmp(k, "--dir") == 0)
            c.dir = v;
        else if (strcmp(k, "--pids") == 0)
            c.pids = v;
        else if (strcmp(k, "--frame") == 0 && atoi(v) > 0 && atoi(v) <= (int)RC_FRAME_MAX_ITEMS)
            c.frame = (size_t)atoi(v);
        else {
            usage();
            return 2;
        }
    }
    if (c.urls == NULL || c.replica_bin == NULL || c.dir == NULL) {
        usage();
        return 2;
    }
    char pids[1100];
    if (c.pids == NULL) {
        (void)snprintf(pids, sizeof pids, "%s/pids", c.dir);
        c.pids = pids;
    }
    if (ca_init() != CA_OK || la_init(&c.lo) != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    ca_identity *auth = NULL;
    uint8_t seed[32] = {0};
    seed[0] = 0xA0;
    if (ca_identity_from_seed(&auth, seed) != CA_OK)
        return 1;
    ca_identity_id(auth, &c.lo.authority);
    ca_identity_free(auth);
    la_hex(c.lo.authority.bytes, 32, c.authority);
    if (ca_ledger_options_id(&c.lo, &c.lid) != CA_OK)
        return 1;
    c.rounds = bench_rounds();
    if (c.rounds > BENCH_MAX_ROUNDS)
        c.rounds = BENCH_MAX_ROUNDS;
    c.round_ops = bench_quick() ? 2000 : 20000;
    c.accounts = bench_quick() ? 5000 : 100000;
    c.round_ops -= c.round_ops % c.frame;
    if (c.round_ops == 0)
        c.round_ops = c.frame;
    int rc = 0;
    if (!skip_throughput && run_throughput(&c) != 0)
        rc = 1;
    if (!skip_restore && run_restore(&c) != 0)
        rc = 1;
    return rc;
}
