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
    ca_ledger_op op;
    memset(&op, 0, sizeof op);
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
    }
    op.signer = agent(sg);
    ca_ledger_account_info a;
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
            ca_ledger_totals t;
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
        ca_ledger_totals t;
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
    ca_ledger_totals ta, tb;
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
        ca_ledger_account_info x, y;
        memset(&x, 0, sizeof x);
        memset(&y, 0, sizeof y);
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
        ca_ledger_open_info info;
        ca_status st = ca_ledger_open(&l, dir, &o, &info);
        if (st != CA_OK)
            fail_msg("trial %u: reopen failed: %s (%s)", trial, ca_status_str(st), ca_last_error());
        assert_ok(ca_ledger_check(l));
        ca_ledger_totals t;
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

static void write_all_file(const char *name, const uint8_t *buf, size_t len)
{
    char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    (void)unlink(p); /* a new file, not a truncated one: ext4 flushes on truncate */
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Builds a durable ledger with `n` applied ops in the journal (after an optional snapshot). */
static void build(uint64_t seed, unsigned before_snapshot, unsigned after)
{
    rm_dir();
    ca_ledger_options o = opts();
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_open(&l, dir, &o, NULL));
    uint64_t s = seed;
    ca_ledger_totals t;
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
        off += 25 + cai_load_le32(j + off);
    }
    out[n] = off;
    return n;
}

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
    ca_ledger_options o = opts();
    /* Cut at every byte of the last three records and inside the header. */
    for (size_t cut = 0; cut <= len; cut++) {
        /* Every byte of the header and the last record; every 7th byte of the two before. */
        if (cut > 40 && (cut < b[nrec - 3] || (cut < b[nrec - 1] && cut % 7 != 0)))
            continue;
        write_all_file("journal", j, cut);
        ca_ledger *l = NULL;
        ca_ledger_open_info info;
        ca_status st = ca_ledger_open(&l, dir, &o, &info);
        if (st != CA_OK)
            fail_msg("cut at %zu: %s (%s)", cut, ca_status_str(st), ca_last_error());
        size_t complete = 0;
        while (complete < nrec && b[complete + 1] <= cut)
            complete++;
        ca_ledger_totals t;
        ca_ledger_totals_get(l, &t);
        assert_int_equal(t.seq, 10 + complete);
        ca_ledger *ref = replay_prefix(seed, t.seq);
        assert_same_state(l, ref);
        assert_ok(ca_ledger_check(l));
        ca_ledger_free(ref);
        ca_ledger_free(l);
        /* Recovery cut the tail on disk: reopening finds nothing torn. */
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
    /* Journal: a flip before the last record is corruption; inside the last one it reads as torn.
     */
    for (int k = 0; k < 400; k++) {
        size_t pos = (size_t)rnd(&s, jlen);
        uint8_t *d = malloc(jlen);
        memcpy(d, j, jlen);
        d[pos] ^= (uint8_t)(1u << rnd(&s, 8));
        write_all_file("journal", d, jlen);
        free(d);
        ca_ledger *l = NULL;
        ca_status st = ca_ledger_open(&l, dir, &o, NULL);
        if (pos >= b[nrec - 1]) {
            if (st != CA_OK)
                fail_msg("flip at %zu (last record): %s", pos, ca_status_str(st));
            ca_ledger_totals t;
            ca_ledger_totals_get(l, &t);
            assert_int_equal(t.seq, 30 + nrec - 1);
            ca_ledger_free(l);
        } else if (pos >= 16 && pos < 28) {
            assert_true(st == CA_ERR_LEDGER_CORRUPT || st == CA_ERR_LEDGER_OPTIONS_MISMATCH);
        } else {
            if (st != CA_ERR_LEDGER_CORRUPT)
                fail_msg("flip at %zu: %s, expected CA_ERR_LEDGER_CORRUPT", pos, ca_status_str(st));
        }
        write_all_file("journal", j, jlen);
    }
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
    /* A crash between snapshot rename and journal truncation: old records are skipped. */
    assert_true(fsize("journal") > 0);
    free(j);
    free(snap);
    rm_dir();
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
    ca_ledger_open_info info;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torn_tails),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_snapshot_then_stale_journal),
        cmocka_unit_test(test_kill_recover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
