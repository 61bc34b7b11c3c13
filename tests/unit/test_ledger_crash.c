/*
 * Ledger crash safety. A forked child applies a seeded stream of ops in
 * durable mode, commits in random groups (reporting each durable seq on a
 * pipe), snapshots now and then, and is SIGKILLed at a random moment. The
 * parent reopens the directory and checks: recovery succeeds, every op
 * acknowledged durable is there, the state equals an in-memory replay of a
 * prefix of the same stream, and the invariants hold.
 * Also: torn tails at every cut point, flipped bits in journal and snapshot.
 *
 * CA_LEDGER_CRASH_TRIALS=n changes the number of kill trials (default 200;
 * the long variant, ctest -L long / target test_ledger_crash_long, runs 3000).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cyberagent.h"
#include "ledger/ledger_internal.h"
#include "test_util.h"

#define N_AGENTS 12
#define AUTH     0u

static ca_agent_id agent(unsigned k)
{
    ca_agent_id id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = (uint8_t)k;
    id.bytes[31] = 0x5A;
    return id;
}

static ca_ledger_options opts(void)
{
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = agent(AUTH);
    o.arbiter = agent(1);
    o.unbonding_delay = 20;
    o.max_evidence_age = 200; /* settled escrows and used keys are dropped during the stream */
    return o;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

/*
 * The i-th op of the stream for `seed`, given the ledger it will be applied to
 * (only nonces are read, so the child and the parent's replay agree).
 */
static ca_ledger_op stream_op(const ca_ledger *l, uint64_t *s, uint64_t i)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    unsigned sg = (unsigned)rnd(s, N_AGENTS), cp = (unsigned)rnd(s, N_AGENTS);
    uint64_t r = rnd(s, 16);
    if (i < 4 || r == 0) {
        op.type = CA_LEDGER_OP_MINT;
        sg = AUTH;
        op.counterparty = agent(cp);
        op.amount = 1000 + rnd(s, 1000);
    } else if (r < 9) {
        op.type = CA_LEDGER_OP_TRANSFER;
        op.counterparty = agent(cp);
        op.amount = 1 + rnd(s, 300);
    } else if (r < 11) {
        op.type = CA_LEDGER_OP_BOND;
        op.amount = 1 + rnd(s, 200);
    } else if (r < 12) {
        op.type = CA_LEDGER_OP_UNBOND;
        op.amount = 1 + rnd(s, 100);
    } else if (r < 13) {
        op.type = CA_LEDGER_OP_WITHDRAW;
    } else if (r < 15) {
        op.type = CA_LEDGER_OP_ESCROW_OPEN;
        op.counterparty = agent(cp);
        cai_store_le64(op.ref.bytes, i);
        op.amount = 1 + rnd(s, 50);
        op.amount2 = rnd(s, 10);
        op.deadline = i + 5;
    } else {
        op.type = CA_LEDGER_OP_SLASH;
        op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
        op.counterparty = agent(cp);
        op.ref.bytes[0] = (uint8_t)rnd(s, 200);
        op.deadline = i; /* the task's deadline: now (now is i) */
    }
    op.signer = agent(sg);
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    op.nonce = (ca_ledger_account(l, &op.signer, &a) == CA_OK ? a.nonce : 0) + 1;
    return op;
}

/* Applies an op whose outcome (applied or refused) the stream does not care about. */
static void apply_any(ca_ledger *l, const ca_ledger_op *op, uint64_t now, uint64_t *seq)
{
    ca_status st = ca_ledger_apply(l, op, now, seq);
    (void)st;
}

static char dir[256];

static void rm_dir(void)
{
    char p[300];
    const char *names[] = {"journal", "snapshot", "snapshot.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

/* Child: never returns. */
static void child_run(uint64_t seed, int fd)
{
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    if (ca_ledger_open(&l, dir, &o, NULL) != CA_OK)
        _exit(3);
    uint64_t s = seed, gs = seed ^ 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < 100000; i++) {
        ca_ledger_op op = stream_op(l, &s, i);
        apply_any(l, &op, i, NULL);
        uint64_t g = rnd(&gs, 64);
        if (g == 0) {
            if (ca_ledger_snapshot(l) != CA_OK)
                _exit(4);
            ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
            ca_ledger_totals_get(l, &t);
            if (write(fd, &t.seq, 8) != 8)
                _exit(5);
        } else if (g < 6) {
            uint64_t d = 0;
            if (ca_ledger_commit(l, &d) != CA_OK)
                _exit(6);
            if (write(fd, &d, 8) != 8)
                _exit(5);
        }
    }
    _exit(0);
}

/* The state after the first `seq` applied ops of the stream, in memory. */
static ca_ledger *replay_prefix(uint64_t seed, uint64_t seq)
{
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    uint64_t s = seed;
    for (uint64_t i = 0;; i++) {
        ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
        ca_ledger_totals_get(l, &t);
        if (t.seq == seq)
            break;
        assert_true(i < 200000);
        ca_ledger_op op = stream_op(l, &s, i);

        apply_any(l, &op, i, NULL);
    }
    return l;
}

static void assert_same_state(ca_ledger *a, ca_ledger *b)
{
    ca_hash ha, hb;
    ca_ledger_totals ta = {.version = CA_LEDGER_TOTALS_VERSION},
                     tb = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(a, &ta);
    ca_ledger_totals_get(b, &tb);
    if (memcmp(&ta, &tb, sizeof ta) != 0)
        fail_msg("totals differ: seq %llu/%llu minted %llu/%llu accounts %llu/%llu escrows "
                 "%llu/%llu burned %llu/%llu",
                 (unsigned long long)ta.seq, (unsigned long long)tb.seq,
                 (unsigned long long)ta.minted, (unsigned long long)tb.minted,
                 (unsigned long long)ta.accounts, (unsigned long long)tb.accounts,
                 (unsigned long long)ta.escrows, (unsigned long long)tb.escrows,
                 (unsigned long long)ta.burned, (unsigned long long)tb.burned);
    for (unsigned k = 0; k < N_AGENTS; k++) {
        ca_agent_id id = agent(k);
        ca_ledger_account_info x = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION},
                               y = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
        ca_status sx = ca_ledger_account(a, &id, &x), sy = ca_ledger_account(b, &id, &y);
        if (sx != sy || memcmp(&x, &y, sizeof x) != 0)
            fail_msg("account %u differs: bal %llu/%llu bonded %llu/%llu unb %llu/%llu nonce "
                     "%llu/%llu jail %llu/%llu",
                     k, (unsigned long long)x.balance, (unsigned long long)y.balance,
                     (unsigned long long)x.bonded, (unsigned long long)y.bonded,
                     (unsigned long long)x.unbonding, (unsigned long long)y.unbonding,
                     (unsigned long long)x.nonce, (unsigned long long)y.nonce,
                     (unsigned long long)x.jailed_until, (unsigned long long)y.jailed_until);
    }
    assert_ok(ca_ledger_state_hash(a, &ha));
    assert_ok(ca_ledger_state_hash(b, &hb));
    assert_memory_equal(ha.bytes, hb.bytes, 32);
}

static unsigned trials(void)
{
    const char *e = getenv("CA_LEDGER_CRASH_TRIALS");
    return e && *e ? (unsigned)strtoul(e, NULL, 10) : 200u;
}

static void test_kill_recover(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_crash_%ld", CA_TEST_TMP_DIR, (long)getpid());
    unsigned n = trials();
    uint64_t max_seen = 0, total_acked = 0;
    for (unsigned trial = 0; trial < n; trial++) {
        rm_dir();
        uint64_t seed = 0xC0FFEEull + trial * 7919ull;
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child_run(seed, pfd[1]);
        }
        close(pfd[1]);
        /*
         * Four trials in five wait for the child's first durable ack (so the kill
         * lands in the middle of real work, however loaded the machine); the
         * fifth may kill it while it opens or creates the directory. Then a
         * random pause of up to 10 ms.
         */
        uint64_t acked = 0, v;
        if (trial % 5 != 0 && read(pfd[0], &v, 8) == 8)
            acked = v;
        struct timespec ts = {0, (long)((seed * 2654435761u) % 10000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status))
            fail_msg("child exited with %d before the kill", WEXITSTATUS(status));
        while (read(pfd[0], &v, 8) == 8)
            if (v > acked)
                acked = v;
        close(pfd[0]);

        ca_ledger_options o = opts();
        ca_ledger *l = NULL;
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        ca_status st = ca_ledger_open(&l, dir, &o, &info);
        if (st != CA_OK)
            fail_msg("trial %u: reopen failed: %s (%s)", trial, ca_status_str(st), ca_last_error());
        assert_ok(ca_ledger_check(l));
        ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
        ca_ledger_totals_get(l, &t);
        if (t.seq < acked)
            fail_msg("trial %u: recovered seq %llu < acknowledged durable seq %llu", trial,
                     (unsigned long long)t.seq, (unsigned long long)acked);
        ca_ledger *ref = replay_prefix(seed, t.seq);
        assert_same_state(l, ref);
        /* The recovered ledger keeps working and stays durable (every 4th trial). */
        uint64_t s2 = seed ^ 0xABCDEF;
        for (uint64_t i = 0; i < (trial % 4 == 0 ? 20u : 0u); i++) {
            ca_ledger_op op = stream_op(l, &s2, 100000 + i);
            apply_any(l, &op, 100000 + i, NULL);
        }
        uint64_t d = 0;
        assert_ok(ca_ledger_commit(l, &d));
        ca_hash h1, h2;
        assert_ok(ca_ledger_state_hash(l, &h1));
        ca_ledger_free(l);
        assert_ok(ca_ledger_open(&l, dir, &o, NULL));
        assert_ok(ca_ledger_state_hash(l, &h2));
        assert_memory_equal(h1.bytes, h2.bytes, 32);
        ca_ledger_free(l);
        ca_ledger_free(ref);
        if (t.seq > max_seen)
            max_seen = t.seq;
        total_acked += acked;
        if (getenv("CA_LEDGER_CRASH_VERBOSE"))
            print_message("trial %u: kill after %ld us, acked %llu, recovered %llu\n", trial,
                          ts.tv_nsec / 1000, (unsigned long long)acked, (unsigned long long)t.seq);
    }
    /* Kills landed while real work was happening (guaranteed by the wait above). */
    if (n >= 5)
        assert_true(max_seen > 0 && total_acked > 0);
    rm_dir();
}

/* ------------------------------------------- a replica fed by a log, killed */

/*
 * A log for `seed`: n entries with increasing positions (gaps of 0..2), log
 * times that sometimes step back, the stream's ops as trusted entries (each
 * computed against a ledger that processed the log so far, so nonces follow
 * the log) and one entry in 32 bytes that never decode (refused). The same
 * seed gives the same log, so a replica re-reading it sees what it saw.
 */
typedef struct crash_log {
    ca_ledger_op *ops;
    ca_ledger_log_entry *e;
    size_t n;
} crash_log;

static const uint8_t crash_junk[5] = {0xC1, 0xC1, 0xC1, 0xC1, 0xC1};

static void crash_log_make(crash_log *cl, uint64_t seed, size_t n)
{
    cl->n = n;
    cl->ops = calloc(n, sizeof *cl->ops);
    cl->e = calloc(n, sizeof *cl->e);
    assert_non_null(cl->ops);
    assert_non_null(cl->e);
    ca_ledger_options o = opts();
    ca_ledger *gen = NULL;
    assert_ok(ca_ledger_new(&gen, &o));
    uint64_t s = seed, ls = seed ^ 0x5851F42D4C957F2Dull, pos = 0;
    for (size_t i = 0; i < n; i++) {
        ca_ledger_log_entry *e = &cl->e[i];
        pos += 1 + rnd(&ls, 3);
        e->position = pos;
        uint64_t back = rnd(&ls, 8) == 0 ? rnd(&ls, 20) : 0;
        e->time = i > back ? i - back : 0;
        if (i > 4 && rnd(&ls, 32) == 0) {
            e->msg = crash_junk;
            e->msg_len = sizeof crash_junk;
        } else {
            cl->ops[i] = stream_op(gen, &s, i);
            e->op = &cl->ops[i];
        }
        ca_status res;
        assert_ok(ca_ledger_apply_log(gen, e, sizeof *e, 1, &res, NULL));
    }
    ca_ledger_free(gen);
}

static void crash_log_free(crash_log *cl)
{
    free(cl->ops);
    free(cl->e);
}

/* Index of the first entry after `position` (n when none). */
static size_t crash_log_after(const crash_log *cl, uint64_t position)
{
    size_t i = 0;
    while (i < cl->n && cl->e[i].position <= position)
        i++;
    return i;
}

/* Child: feeds the log in chunks of 1..16 entries, commits and snapshots at random, reports
 * each durable position on the pipe. Never returns. */
static void child_run_log(const crash_log *cl, uint64_t seed, int fd)
{
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    if (ca_ledger_open(&l, dir, &o, NULL) != CA_OK)
        _exit(3);
    uint64_t gs = seed ^ 0x9E3779B97F4A7C15ull;
    ca_status res[16];
    for (size_t i = 0; i < cl->n;) {
        size_t k = 1 + rnd(&gs, 16);
        if (k > cl->n - i)
            k = cl->n - i;
        if (ca_ledger_apply_log(l, cl->e + i, sizeof cl->e[0], k, res, NULL) != CA_OK)
            _exit(7);
        i += k;
        uint64_t g = rnd(&gs, 32);
        if (g < 4) {
            if ((g == 0 ? ca_ledger_snapshot(l) : ca_ledger_commit(l, NULL)) != CA_OK)
                _exit(6);
            ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
            if (ca_ledger_log_position(l, &li) != CA_OK)
                _exit(8);
            if (write(fd, &li.durable_position, 8) != 8)
                _exit(5);
        }
    }
    for (;;) /* the whole log: wait for the kill */
        pause();
}

static void assert_same_log_info(const ca_ledger *a, const ca_ledger *b)
{
    ca_ledger_log_info x = {.version = CA_LEDGER_LOG_INFO_VERSION}, y = x;
    assert_ok(ca_ledger_log_position(a, &x));
    assert_ok(ca_ledger_log_position(b, &y));
    if (x.position != y.position || x.clock != y.clock || x.failed != y.failed)
        fail_msg("log info differs: position %llu/%llu clock %llu/%llu failed %llu/%llu",
                 (unsigned long long)x.position, (unsigned long long)y.position,
                 (unsigned long long)x.clock, (unsigned long long)y.clock,
                 (unsigned long long)x.failed, (unsigned long long)y.failed);
}

/*
 * A durable replica fed by a log (ca_ledger_apply_log), SIGKILLed at a random
 * moment: reopening reports a position at or after the last durable position
 * it acknowledged; its state, clock and refused count are those of an
 * in-memory replica fed the log up to that position; reading the log again
 * from the start skips every entry up to it (none applies twice, none refused
 * applies now) and ends where a replica that never crashed ends.
 */
static void test_kill_recover_log(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_crash_log_%ld", CA_TEST_TMP_DIR, (long)getpid());
    unsigned n = trials() / 4 + 1;
    uint64_t max_pos = 0, total_acked = 0, total_failed = 0;
    for (unsigned trial = 0; trial < n; trial++) {
        rm_dir();
        uint64_t seed = 0x10C10Cull + trial * 104729ull;
        crash_log cl;
        crash_log_make(&cl, seed, 20000);
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child_run_log(&cl, seed, pfd[1]);
        }
        close(pfd[1]);
        uint64_t acked = 0, v;
        if (trial % 5 != 0 && read(pfd[0], &v, 8) == 8)
            acked = v;
        struct timespec ts = {0, (long)((seed * 2654435761u) % 10000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status))
            fail_msg("child exited with %d before the kill", WEXITSTATUS(status));
        while (read(pfd[0], &v, 8) == 8)
            if (v > acked)
                acked = v;
        close(pfd[0]);

        ca_ledger_options o = opts();
        ca_ledger *l = NULL;
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        ca_status st = ca_ledger_open(&l, dir, &o, &info);
        if (st != CA_OK)
            fail_msg("trial %u: reopen failed: %s (%s)", trial, ca_status_str(st), ca_last_error());
        assert_ok(ca_ledger_check(l));
        if (info.position < acked)
            fail_msg("trial %u: recovered position %llu < acknowledged durable position %llu",
                     trial, (unsigned long long)info.position, (unsigned long long)acked);
        size_t k = crash_log_after(&cl, info.position);
        assert_true(info.position == (k == 0 ? 0 : cl.e[k - 1].position)); /* one of the log's */
        /* An in-memory replica fed the log up to the recovered position. */
        ca_ledger *ref = NULL;
        assert_ok(ca_ledger_new(&ref, &o));
        ca_status *res = calloc(cl.n + 1, sizeof *res);
        assert_non_null(res);
        assert_ok(ca_ledger_apply_log(ref, cl.e, sizeof cl.e[0], k, res, NULL));
        assert_same_state(l, ref);
        assert_same_log_info(l, ref);
        ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
        assert_ok(ca_ledger_log_position(l, &li));
        assert_int_equal(li.failed, info.failed);
        /* Read again from the start, and on for 50 more entries: the first k are skipped. */
        size_t upto = k + 50 < cl.n ? k + 50 : cl.n;
        assert_ok(ca_ledger_apply_log(l, cl.e, sizeof cl.e[0], upto, res, NULL));
        for (size_t i = 0; i < k; i++)
            assert_int_equal(res[i], CA_ERR_LEDGER_STALE_POSITION);
        assert_ok(ca_ledger_apply_log(ref, cl.e + k, sizeof cl.e[0], upto - k, res, NULL));
        assert_same_state(l, ref);
        assert_same_log_info(l, ref);
        /* Durable from there on. */
        assert_ok(ca_ledger_commit(l, NULL));
        ca_hash h1, h2;
        assert_ok(ca_ledger_state_hash(l, &h1));
        ca_ledger_free(l);
        assert_ok(ca_ledger_open(&l, dir, &o, &info));
        assert_int_equal(info.position, upto == 0 ? 0 : cl.e[upto - 1].position);
        assert_ok(ca_ledger_state_hash(l, &h2));
        assert_memory_equal(h1.bytes, h2.bytes, 32);
        if (info.position > max_pos)
            max_pos = info.position;
        total_acked += acked;
        total_failed += info.failed;
        if (getenv("CA_LEDGER_CRASH_VERBOSE"))
            print_message("log trial %u: kill after %ld us, acked %llu, recovered %llu\n", trial,
                          ts.tv_nsec / 1000, (unsigned long long)acked,
                          (unsigned long long)info.position);
        free(res);
        ca_ledger_free(l);
        ca_ledger_free(ref);
        crash_log_free(&cl);
    }
    /* Kills landed mid-log, with refused entries on the journal. */
    if (n >= 5)
        assert_true(max_pos > 0 && total_acked > 0 && total_failed > 0);
    rm_dir();
}

/* ------------------------------------------------------- injected damage */

static long fsize(const char *name)
{
    char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void read_all(const char *name, uint8_t **buf, size_t *len)
{
    char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(*len + 1);
    assert_non_null(*buf);
    assert_int_equal(fread(*buf, 1, *len, f), *len);
    fclose(f);
}

static void write_all_file_at(const char *path, const uint8_t *buf, size_t len)
{
    (void)unlink(path); /* a new file, not a truncated one: ext4 flushes on truncate */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void write_all_file(const char *name, const uint8_t *buf, size_t len)
{
    char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_all_file_at(p, buf, len);
}

/* Builds a durable ledger with `n` applied ops in the journal (after an optional snapshot). */
static void build(uint64_t seed, unsigned before_snapshot, unsigned after)
{
    rm_dir();
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    uint64_t s = seed;
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    uint64_t i = 0;
    for (;; i++) {
        ca_ledger_totals_get(l, &t);
        if (t.seq == before_snapshot)
            break;
        ca_ledger_op op = stream_op(l, &s, i);
        apply_any(l, &op, i, NULL);
    }
    if (before_snapshot)
        assert_ok(ca_ledger_snapshot(l));
    for (;; i++) {
        ca_ledger_totals_get(l, &t);
        if (t.seq == before_snapshot + after)
            break;
        ca_ledger_op op = stream_op(l, &s, i);
        apply_any(l, &op, i, NULL);
    }
    assert_ok(ca_ledger_commit(l, NULL));
    {
        ca_ledger *r0 = replay_prefix(seed, before_snapshot + after);
        assert_same_state(l, r0);
        ca_ledger_free(r0);
    }
    ca_ledger_free(l);
}

/* Record boundaries of the journal (offsets where each record starts, plus the end). */
static size_t boundaries(const uint8_t *j, size_t len, size_t *out, size_t cap)
{
    size_t n = 0, off = CAI_JOURNAL_HEADER_BYTES;
    while (off < len && n < cap) {
        out[n++] = off;
        off += CAI_RECORD_HEADER_BYTES + cai_load_le32(j + off);
    }
    out[n] = off;
    return n;
}

/* Replays a prefix and checks totals and state hash (the stream of `seed`). */
static void assert_prefix(ca_ledger *l, uint64_t seed, uint64_t seq)
{
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    assert_int_equal(t.seq, seq);
    ca_ledger *ref = replay_prefix(seed, seq);
    assert_same_state(l, ref);
    assert_ok(ca_ledger_check(l));
    ca_ledger_free(ref);
}

/* The journal on disk is still exactly `j` (a refused open changed nothing). */
static void assert_journal_is(const uint8_t *j, size_t len)
{
    uint8_t *now;
    size_t n;
    read_all("journal", &now, &n);
    assert_int_equal(n, len);
    assert_memory_equal(now, j, len);
    free(now);
}

/*
 * A crash can cut the journal anywhere inside the last write. build() commits
 * all its records in one group (one write), so every cut point of the file is
 * a torn write of that group: the complete records replay, the one the cut
 * fell in is cut, and torn_bytes says how much.
 */
static void test_torn_tails(void **state)
{
    (void)state;
    cai_ledger_sync_disabled = 1; /* files are damaged by hand here, not by power loss */
    snprintf(dir, sizeof dir, "%s/ledger_torn_%ld", CA_TEST_TMP_DIR, (long)getpid());
    const uint64_t seed = 99;
    build(seed, 10, 12);
    uint8_t *j;
    size_t len;
    read_all("journal", &j, &len);
    size_t b[64];
    size_t nrec = boundaries(j, len, b, 63);
    assert_int_equal(nrec, 12);
    assert_int_equal(b[nrec], len);
    ca_ledger_options o = opts();
    for (size_t cut = 0; cut <= len; cut++) {
        write_all_file("journal", j, cut);
        ca_ledger *l = NULL;
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        ca_status st = ca_ledger_open(&l, dir, &o, &info);
        if (st != CA_OK)
            fail_msg("cut at %zu: %s (%s)", cut, ca_status_str(st), ca_last_error());
        size_t complete = 0;
        while (complete < nrec && b[complete + 1] <= cut)
            complete++;
        size_t good = cut < CAI_JOURNAL_HEADER_BYTES ? 0 : cut < b[0] ? b[0] : b[complete];
        assert_int_equal(info.torn_bytes, cut - good);
        assert_int_equal(info.replayed, complete);
        assert_prefix(l, seed, 10 + complete);
        ca_ledger_free(l);
        /* Recovery cut the tail on disk (a cut header became a fresh one). */
        assert_int_equal(fsize("journal"), good ? (long)good : (long)CAI_JOURNAL_HEADER_BYTES);
        if (cut % 5 == 0) {
            assert_ok(ca_ledger_open(&l, dir, &o, &info));
            assert_int_equal(info.torn_bytes, 0);
            ca_ledger_free(l);
        }
    }
    free(j);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/* A journal record as the store writes it (layout in ledger_store.c), for hand-made tails; a
 * refused entry's record gets position make_record_pos. */
static uint64_t make_record_pos = 1;
static size_t make_record(uint8_t *out, uint32_t len, uint64_t seq, uint8_t type,
                          const uint8_t *payload, size_t have)
{
    cai_store_le32(out, len);
    cai_store_le64(out + CAI_REC_OFF_SEQ, seq);
    cai_store_le64(out + CAI_REC_OFF_NOW, 0);
    cai_store_le64(out + CAI_REC_OFF_POS, type == CAI_REC_REFUSED ? make_record_pos : 0);
    out[CAI_REC_OFF_TYPE] = type;
    cai_store_le32(out + CAI_REC_OFF_PCRC, cai_crc32c(0, payload, have));
    cai_store_le32(out + CAI_REC_OFF_HCRC, cai_crc32c(0, out, CAI_REC_OFF_HCRC));
    memcpy(out + CAI_RECORD_HEADER_BYTES, payload, have);
    return CAI_RECORD_HEADER_BYTES + have;
}

/*
 * The torn-tail bound: the record a crash cut may be the largest one (an
 * equivocation slash with CA_LEDGER_EVIDENCE_MAX_BYTES of evidence): an
 * intact header whose length runs past the end is cut whatever its size, up
 * to the record limit. A header that claims more than the limit, or another
 * seq, or fails its checksum, is damage.
 */
static void test_torn_large_record(void **state)
{
    (void)state;
    cai_ledger_sync_disabled = 1;
    snprintf(dir, sizeof dir, "%s/ledger_tornbig_%ld", CA_TEST_TMP_DIR, (long)getpid());
    const uint64_t seed = 5150;
    build(seed, 0, 9);
    uint8_t *j;
    size_t len;
    read_all("journal", &j, &len);
    size_t cap = len + CAI_RECORD_HEADER_BYTES + CAI_RECORD_MAX;
    uint8_t *d = malloc(cap), *pay = calloc(1, CAI_RECORD_MAX);
    assert_non_null(d);
    assert_non_null(pay);
    memcpy(d, j, len);
    ca_ledger_options o = opts();
    const size_t have[] = {0, 1, 4096, CAI_RECORD_MAX / 2, CAI_RECORD_MAX - 1};
    for (size_t k = 0; k < sizeof have / sizeof have[0]; k++) {
        size_t n =
            make_record(d + len, CAI_RECORD_MAX, 10, (uint8_t)CAI_REC_EVIDENCE, pay, have[k]);
        write_all_file("journal", d, len + n);
        ca_ledger *l = NULL;
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        assert_ok(ca_ledger_open(&l, dir, &o, &info));
        assert_int_equal(info.torn_bytes, n);
        assert_prefix(l, seed, 9);
        ca_ledger_free(l);
        assert_int_equal(fsize("journal"), (long)len);
    }
    /* Not a torn write: each answers CORRUPT and leaves the file as it was. */
    struct {
        uint32_t len;
        uint64_t seq;
        uint8_t type;
        int bad_crc;
        size_t keep; /* bytes of the record written (a partial header: fields present count) */
    } bad[] = {
        {CAI_RECORD_MAX + 1, 10, 3, 0, 100}, /* longer than any record */
        {0, 10, 1, 0, 100},                  /* empty record */
        {500, 11, 1, 0, 100},                /* a seq gap */
        {500, 10, 9, 0, 100},                /* unknown type */
        {500, 10, 1, 1, 100},                /* header checksum */
        {CAI_RECORD_MAX + 1, 10, 3, 0, 4},   /* partial header: its length is already wrong */
        {500, 12, 1, 0, 12},                 /* partial header: its seq is already wrong */
        {500, 10, 7, 0, 29},                 /* partial header: its type is already wrong */
        {500, 10, 4, 0, 100},                /* a refused entry's record of the wrong length */
        {500, 10, 4, 0, 29},                 /* ... already wrong in a partial header */
        {36, 10, 4, 0, 29},                  /* a refused entry without a position (below) */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        make_record_pos = k == sizeof bad / sizeof bad[0] - 1 ? 0 : 1;
        make_record(d + len, bad[k].len, bad[k].seq, bad[k].type, pay, 100);
        if (bad[k].bad_crc)
            d[len + CAI_REC_OFF_HCRC] ^= 1;
        write_all_file("journal", d, len + bad[k].keep);
        ca_ledger *l = NULL;
        ca_status st = ca_ledger_open(&l, dir, &o, NULL);
        if (st != CA_ERR_LEDGER_CORRUPT)
            fail_msg("bad tail %zu: %s, expected CA_ERR_LEDGER_CORRUPT", k, ca_status_str(st));
        assert_journal_is(d, len + bad[k].keep);
    }
    /* A partial header whose present fields are right is a torn write. */
    for (size_t keep = 1; keep < CAI_RECORD_HEADER_BYTES; keep++) {
        make_record(d + len, 500, 10, 1, pay, 0);
        write_all_file("journal", d, len + keep);
        ca_ledger *l = NULL;
        ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
        assert_ok(ca_ledger_open(&l, dir, &o, &info));
        assert_int_equal(info.torn_bytes, keep);
        ca_ledger_free(l);
    }
    free(d);
    free(pay);
    free(j);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/*
 * Every record carries a header checksum and a payload checksum, so a flipped
 * bit anywhere in the journal is found where it is, the last record included:
 * CA_ERR_LEDGER_CORRUPT, and the file is left as it was (before, a flip in the
 * last record was taken for a torn write and the record was cut with CA_OK).
 */
static void test_bit_flips(void **state)
{
    (void)state;
    cai_ledger_sync_disabled = 1;
    snprintf(dir, sizeof dir, "%s/ledger_flip_%ld", CA_TEST_TMP_DIR, (long)getpid());
    const uint64_t seed = 1234;
    build(seed, 30, 15);
    uint8_t *j, *snap;
    size_t jlen, slen;
    {
        ca_ledger_options o0 = opts();
        ca_ledger *l0 = NULL, *r0 = replay_prefix(seed, 45);
        assert_ok(ca_ledger_open(&l0, dir, &o0, NULL));
        assert_same_state(l0, r0);
        ca_ledger_free(l0);
        ca_ledger_free(r0);
    }
    read_all("journal", &j, &jlen);
    read_all("snapshot", &snap, &slen);
    size_t b[64];
    size_t nrec = boundaries(j, jlen, b, 63);
    assert_int_equal(nrec, 15);
    ca_ledger_options o = opts();
    uint64_t s = 5;
    uint8_t *d = malloc(jlen);
    assert_non_null(d);
    for (size_t pos = 0; pos < jlen; pos++) {
        memcpy(d, j, jlen);
        d[pos] ^= (uint8_t)(1u << rnd(&s, 8));
        write_all_file("journal", d, jlen);
        ca_ledger *l = NULL;
        ca_status st = ca_ledger_open(&l, dir, &o, NULL);
        if (st != CA_ERR_LEDGER_CORRUPT &&
            !(pos >= 16 && pos < 28 && st == CA_ERR_LEDGER_OPTIONS_MISMATCH))
            fail_msg("flip at %zu%s: %s, expected CA_ERR_LEDGER_CORRUPT", pos,
                     pos >= b[nrec - 1] ? " (last record)" : "", ca_status_str(st));
        if (pos >= b[0])
            assert_true(strstr(ca_last_error(), "offset") != NULL);
        assert_journal_is(d, jlen);
    }
    free(d);
    write_all_file("journal", j, jlen);
    /* Snapshot: any flip or cut is corruption, reported. */
    for (size_t pos = 0; pos < slen; pos += 1 + (size_t)rnd(&s, 5)) {
        snap[pos] ^= 0x20;
        write_all_file("snapshot", snap, slen);
        snap[pos] ^= 0x20;
        ca_ledger *l = NULL;
        assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
    }
    for (size_t cut = 0; cut < slen; cut += 1 + (size_t)rnd(&s, 40)) {
        write_all_file("snapshot", snap, cut);
        ca_ledger *l = NULL;
        assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
    }
    write_all_file("snapshot", snap, slen);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_ledger *ref = replay_prefix(seed, 45);
    assert_same_state(l, ref);
    ca_ledger_free(ref);
    ca_ledger_free(l);
    assert_true(fsize("journal") > 0);
    free(j);
    free(snap);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/* Garbage of `n` bytes in one of four patterns (0: random, 1: zeros, 2: old-format headers
 * claiming n/2 bytes with plausible seqs, 3: headers of this format that verify, claim 100 bytes
 * and carry the wrong payload). */
static void garbage(uint8_t *g, size_t n, int pattern, uint64_t next_seq)
{
    uint64_t s = 0xBADull + (uint64_t)pattern;
    memset(g, 0, n);
    if (pattern == 0)
        for (size_t i = 0; i + 8 <= n; i += 8)
            cai_store_le64(g + i, rng_next(&s));
    if (pattern == 2)
        for (size_t i = 0; i + 25 <= n; i += 25) {
            cai_store_le32(g + i, (uint32_t)(n / 2));
            cai_store_le64(g + i + 8, next_seq + 1 + i / 25 % 3);
            g[i + 24] = 1;
        }
    if (pattern == 3) {
        uint8_t pay[100];
        memset(pay, 0x33, sizeof pay);
        for (size_t i = 0; i + CAI_RECORD_HEADER_BYTES + 100 <= n;
             i += CAI_RECORD_HEADER_BYTES + 100) {
            make_record(g + i, 100, next_seq + i / (CAI_RECORD_HEADER_BYTES + 100), 1, pay, 100);
            g[i + CAI_RECORD_HEADER_BYTES] ^= 1; /* the payload no longer matches its checksum */
        }
    }
}

/*
 * Garbage after the last record (1, 2 and 4 MiB, four patterns) is not a torn
 * write: CA_ERR_LEDGER_CORRUPT, the file unchanged, and recovery checksums
 * each byte at most once (counted: it used to try every offset and checksum
 * up to 2 MiB at each, seconds to a minute for these sizes).
 */
static void test_garbage_tail(void **state)
{
    (void)state;
    cai_ledger_sync_disabled = 1;
    snprintf(dir, sizeof dir, "%s/ledger_garbage_%ld", CA_TEST_TMP_DIR, (long)getpid());
    const uint64_t seed = 4242;
    build(seed, 0, 40);
    uint8_t *j;
    size_t len;
    read_all("journal", &j, &len);
    ca_ledger_options o = opts();
    for (size_t mib = 1; mib <= 4; mib *= 2) {
        size_t n = mib << 20;
        uint8_t *d = malloc(len + n);
        assert_non_null(d);
        memcpy(d, j, len);
        for (int pattern = 0; pattern < 4; pattern++) {
            garbage(d + len, n, pattern, 41);
            ca_ledger *mem = NULL;
            assert_ok(ca_ledger_new(&mem, &o));
            cai_replay rep;
            assert_status(CA_ERR_LEDGER_CORRUPT, cai_journal_replay(mem, d, len + n, &rep));
            assert_int_equal(rep.good_end, len); /* it stopped at the first damaged byte */
            assert_true(rep.crc_bytes <= len + CAI_RECORD_HEADER_BYTES);
            assert_int_equal(rep.replayed, 40);
            ca_ledger_free(mem);
            write_all_file("journal", d, len + n);
            ca_ledger *l = NULL;
            ca_status st = ca_ledger_open(&l, dir, &o, NULL);
            if (st != CA_ERR_LEDGER_CORRUPT)
                fail_msg("%zu MiB of pattern %d: %s, expected CA_ERR_LEDGER_CORRUPT", mib, pattern,
                         ca_status_str(st));
            assert_journal_is(d, len + n);
        }
        free(d);
    }
    write_all_file("journal", j, len);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_prefix(l, seed, 40);
    ca_ledger_free(l);
    free(j);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/* Damage followed by valid records is never cut: CA_ERR_LEDGER_CORRUPT, nothing changed. */
static void test_valid_after_damage(void **state)
{
    (void)state;
    cai_ledger_sync_disabled = 1;
    snprintf(dir, sizeof dir, "%s/ledger_midbad_%ld", CA_TEST_TMP_DIR, (long)getpid());
    const uint64_t seed = 31337;
    build(seed, 0, 20);
    uint8_t *j;
    size_t len;
    read_all("journal", &j, &len);
    size_t b[64];
    size_t nrec = boundaries(j, len, b, 63);
    assert_int_equal(nrec, 20);
    ca_ledger_options o = opts();
    uint8_t *d = malloc(len + 64);
    assert_non_null(d);
    for (int c = 0; c < 4; c++) {
        size_t dl = len;
        memcpy(d, j, len);
        if (c == 0) { /* 40 bytes of garbage between records 10 and 11 */
            memmove(d + b[10] + 40, d + b[10], len - b[10]);
            memset(d + b[10], 0xA5, 40);
            dl = len + 40;
        } else if (c == 1) { /* record 10 cut short (a torn write), valid records after it */
            memmove(d + b[10] - 5, d + b[10], len - b[10]);
            dl = len - 5;
        } else if (c == 2) { /* record 10 claims to run past the end (length damaged) */
            cai_store_le32(d + b[9], (uint32_t)(len + 100 - b[9]));
        } else { /* a complete last record with one damaged payload byte */
            d[len - 1] ^= 0x40;
        }
        write_all_file("journal", d, dl);
        ca_ledger *l = NULL;
        ca_status st = ca_ledger_open(&l, dir, &o, NULL);
        if (st != CA_ERR_LEDGER_CORRUPT)
            fail_msg("case %d: %s, expected CA_ERR_LEDGER_CORRUPT", c, ca_status_str(st));
        assert_journal_is(d, dl);
    }
    free(d);
    free(j);
    rm_dir();
    cai_ledger_sync_disabled = 0;
}

/*
 * Snapshot counts are checked against the file's real size before anything
 * is allocated: a small file claiming 2^32 - 1 accounts (or escrows, or
 * evidence keys) is refused, and a real snapshot decodes into memory within
 * a constant factor of its size.
 */
static void test_snapshot_hostile_counts(void **state)
{
    (void)state;
    cai_ledger_sync_disabled = 1;
    snprintf(dir, sizeof dir, "%s/ledger_snapcount_%ld", CA_TEST_TMP_DIR, (long)getpid());
    build(77, 30, 0);
    uint8_t *snap;
    size_t slen;
    read_all("snapshot", &snap, &slen);
    ca_ledger_options o = opts();
    const size_t count_at[] = {104, 108, 112}; /* n_accounts, n_escrows, n_evidence */
    const uint32_t claims[] = {UINT32_MAX, 1u << 24, 1000};
    uint8_t *d = malloc(slen);
    assert_non_null(d);
    for (size_t f = 0; f < 3; f++)
        for (size_t c = 0; c < 3; c++) {
            memcpy(d, snap, slen);
            cai_store_le32(d + count_at[f], claims[c]);
            crypto_generichash(d + slen - 32, 32, d, slen - 32, NULL, 0);
            write_all_file("snapshot", d, slen);
            ca_ledger *l = NULL;
            assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
            assert_true(strstr(ca_last_error(), "bytes can hold") != NULL);
        }
    free(d);
    free(snap);
    rm_dir();
    /* 20000 accounts and 5000 evidence keys: memory <= 4 x the snapshot's size. Each slash
     * must take something: 1 ppm takes one unit of a stake of 10000 each time. */
    o.slash_equivocation_ppm = 1;
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    for (uint32_t i = 0; i < 20000; i++) { /* the first two to the offender and the reporter */
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_MINT;
        op.signer = agent(AUTH);
        op.nonce = i + 1;
        op.counterparty = agent(i == 1 ? 3 : 4);
        if (i > 1)
            cai_store_le32(op.counterparty.bytes + 4, i);
        op.amount = i == 0 ? 10000 : 10;
        assert_ok(ca_ledger_apply(l, &op, 0, NULL));
    }
    {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_BOND;
        op.signer = agent(4);
        op.nonce = 1;
        op.amount = 10000;
        assert_ok(ca_ledger_apply(l, &op, 0, NULL));
    }
    for (uint32_t i = 0; i < 5000; i++) {
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = CA_LEDGER_OP_SLASH;
        op.evidence = CA_LEDGER_EVIDENCE_EQUIVOCATION;
        op.signer = agent(3);
        op.nonce = i + 1;
        op.counterparty = agent(4);
        cai_store_le32(op.ref.bytes, i + 1);
        assert_ok(ca_ledger_apply(l, &op, 0, NULL));
    }
    uint8_t *enc = NULL;
    size_t n = 0;
    assert_ok(cai_snapshot_encode(l, &enc, &n));
    ca_ledger *back = NULL;
    assert_ok(cai_snapshot_decode(enc, n, &o, 0, &back));
    size_t mem = cai_ledger_memory_bytes(back);
    print_message("snapshot %zu bytes -> %zu bytes of tables\n", n, mem);
    if (mem > 4 * n)
        fail_msg("a %zu-byte snapshot decoded into %zu bytes of tables", n, mem);
    ca_ledger_free(back);
    free(enc);
    ca_ledger_free(l);
    cai_ledger_sync_disabled = 0;
}

/* Crash between the snapshot's rename and the journal's truncation. */
static void test_snapshot_then_stale_journal(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_stale_%ld", CA_TEST_TMP_DIR, (long)getpid());
    const uint64_t seed = 77;
    build(seed, 0, 20);
    uint8_t *j;
    size_t jlen;
    read_all("journal", &j, &jlen);
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    assert_ok(ca_ledger_snapshot(l));
    ca_ledger_free(l);
    write_all_file("journal", j, jlen); /* as if truncation never happened */
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info));
    assert_int_equal(info.snapshot_seq, 20);
    assert_int_equal(info.replayed, 0);
    ca_ledger *ref = replay_prefix(seed, 20);
    assert_same_state(l, ref);
    ca_ledger_free(ref);
    ca_ledger_free(l);
    /* Journal newer than the snapshot with a gap (snapshot lost): corrupt. */
    char p[300];
    snprintf(p, sizeof p, "%s/snapshot", dir);
    assert_int_equal(unlink(p), 0);
    assert_ok(ca_ledger_open(&l, dir, &o, NULL)); /* the old journal still starts at 1 */
    ca_ledger_free(l);
    uint8_t hdr[CAI_JOURNAL_HEADER_BYTES];
    cai_journal_header(hdr, &o, 5);
    memcpy(j, hdr, sizeof hdr);
    write_all_file("journal", j, jlen);
    assert_status(CA_ERR_LEDGER_CORRUPT, ca_ledger_open(&l, dir, &o, NULL));
    free(j);
    rm_dir();
}

/* ------------------------------------------------------------ single owner */

/* One trusted MINT (seq = applied ops + 1), committed. */
static void mint_commit(ca_ledger *l, uint64_t amount)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    op.signer = agent(AUTH);
    op.counterparty = agent(2);
    op.amount = amount;
    ca_ledger_account_info a = {.version = CA_LEDGER_ACCOUNT_INFO_VERSION};
    op.nonce = (ca_ledger_account(l, &op.signer, &a) == CA_OK ? a.nonce : 0) + 1;
    assert_ok(ca_ledger_apply(l, &op, 1, NULL));
    assert_ok(ca_ledger_commit(l, NULL));
}

/*
 * A snapshot never writes through a name planted in the directory: a symlink
 * at the old fixed temporary name "snapshot.tmp" pointing at a victim file
 * leaves the victim as it was (the snapshot used to open that name with
 * O_CREAT|O_TRUNC and followed the link); the snapshot is a regular 0600 file;
 * a temporary a crash left behind ("snapshot.tmp-*") is removed on open.
 */
static void test_snapshot_never_follows_links(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_links_%ld", CA_TEST_TMP_DIR, (long)getpid());
    rm_dir();
    char victim[300], link_path[300], p[300];
    snprintf(victim, sizeof victim, "%s.victim", dir);
    write_all_file_at(victim, (const uint8_t *)"keep me", 7);
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    mint_commit(l, 10);
    snprintf(link_path, sizeof link_path, "%s/snapshot.tmp", dir);
    assert_int_equal(symlink(victim, link_path), 0);
    assert_ok(ca_ledger_snapshot(l));
    ca_ledger_free(l);

    uint8_t buf[16];
    FILE *f = fopen(victim, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "keep me", 7);
    struct stat st;
    snprintf(p, sizeof p, "%s/snapshot", dir);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);

    /* A temporary left by an interrupted snapshot goes on the next open. */
    snprintf(p, sizeof p, "%s/snapshot.tmp-0123456789ab", dir);
    write_all_file_at(p, (const uint8_t *)"x", 1);
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_ledger_free(l);
    assert_int_equal(lstat(p, &st), -1);

    assert_int_equal(unlink(link_path), 0);
    assert_int_equal(unlink(victim), 0);
    rm_dir();
}

static int last_error_says(const char *word)
{
    return strstr(ca_last_error(), word) != NULL;
}

/*
 * A second process cannot open a directory while a handle holds it, at any
 * point of the handle's life: after open's recovery read the journal, after a
 * snapshot, after commits. (The lock used to be a POSIX record lock, which the
 * process lost when recovery closed the descriptor it read the journal with;
 * the second process then opened the ledger, and both appended at one offset.)
 */
static void test_lock_other_process(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_lock_%ld", CA_TEST_TMP_DIR, (long)getpid());
    rm_dir();
    ca_ledger_options o = opts();
    { /* a journal with records, so that recovery has something to read */
        ca_ledger *l0 = NULL;
        assert_ok(ca_ledger_open(&l0, dir, &o, NULL));
        mint_commit(l0, 10);
        ca_ledger_free(l0);
    }
    int go[2], res[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(res), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* child: one open attempt per byte received; reports status and sentence */
        close(go[1]);
        close(res[0]);
        char c;
        while (read(go[0], &c, 1) == 1) {
            ca_ledger *l = NULL;
            int32_t st = ca_ledger_open(&l, dir, &o, NULL);
            int32_t ok = l == NULL && last_error_says("already open");
            if (l != NULL) { /* the old code's failure: write a record the parent will overwrite */
                mint_commit(l, 7);
                ca_ledger_free(l);
            }
            int32_t msg[2] = {st, ok};
            if (write(res[1], msg, sizeof msg) != (ssize_t)sizeof msg)
                _exit(2);
        }
        _exit(0);
    }
    close(go[0]);
    close(res[1]);
    ca_ledger *l = NULL;
    ca_ledger_open_info info = {.version = CA_LEDGER_OPEN_INFO_VERSION};
    assert_ok(ca_ledger_open(&l, dir, &o, &info)); /* recovery read the journal */
    assert_int_equal(info.replayed, 1);
    int32_t msg[2];
    for (int phase = 0; phase < 3; phase++) {
        if (phase == 1)
            assert_ok(ca_ledger_snapshot(l));
        if (phase == 2)
            mint_commit(l, 20);
        assert_int_equal(write(go[1], "x", 1), 1);
        assert_int_equal(read(res[0], msg, sizeof msg), (ssize_t)sizeof msg);
        if (msg[0] != CA_ERR_STATE || msg[1] != 1)
            fail_msg("phase %d: the second process's open answered %s (sentence ok: %d), expected "
                     "CA_ERR_STATE \"... already open ...\"",
                     phase, ca_status_str(msg[0]), msg[1]);
    }
    mint_commit(l, 30);
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t);
    ca_ledger_free(l);
    /* Nothing the parent committed was lost; once it closed, the other process opens. */
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    ca_ledger_totals t2 = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &t2);
    assert_int_equal(t2.seq, t.seq);
    assert_int_equal(t2.minted, 60);
    ca_ledger_free(l);
    assert_int_equal(write(go[1], "x", 1), 1);
    assert_int_equal(read(res[0], msg, sizeof msg), (ssize_t)sizeof msg);
    assert_int_equal(msg[0], CA_OK);
    close(go[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(res[0]);
    rm_dir();
}

/* A second handle in the same process is refused too, and the first keeps working. */
static void test_lock_same_process(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ledger_lock2_%ld", CA_TEST_TMP_DIR, (long)getpid());
    rm_dir();
    ca_ledger_options o = opts();
    ca_ledger *a = NULL, *b = NULL;
    assert_ok(ca_ledger_open(&a, dir, &o, NULL));
    mint_commit(a, 5);
    assert_status(CA_ERR_STATE, ca_ledger_open(&b, dir, &o, NULL));
    assert_null(b);
    assert_true(last_error_says("already open"));
    assert_ok(ca_ledger_snapshot(a));
    assert_status(CA_ERR_STATE, ca_ledger_open(&b, dir, &o, NULL));
    mint_commit(a, 6);
    ca_ledger_free(a);
    assert_ok(ca_ledger_open(&b, dir, &o, NULL));
    ca_ledger_totals t = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(b, &t);
    assert_int_equal(t.seq, 2);
    assert_int_equal(t.minted, 11);
    ca_ledger_free(b);
    rm_dir();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_other_process),
        cmocka_unit_test(test_lock_same_process),
        cmocka_unit_test(test_torn_tails),
        cmocka_unit_test(test_torn_large_record),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_garbage_tail),
        cmocka_unit_test(test_valid_after_damage),
        cmocka_unit_test(test_snapshot_hostile_counts),
        cmocka_unit_test(test_snapshot_then_stale_journal),
        cmocka_unit_test(test_snapshot_never_follows_links),
        cmocka_unit_test(test_kill_recover),
        cmocka_unit_test(test_kill_recover_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
