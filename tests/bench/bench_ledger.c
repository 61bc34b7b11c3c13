/*
 * Ledger figures:
 *   ledger_mem_ops_per_s       random transfers among 100k accounts, in memory,
 *                              already-authenticated ops (ca_ledger_apply_batch, 1000 a
 *                              batch), per second of process CPU time (one core)
 *   ledger_mem_ops_per_s_wall  the same per second of wall time
 *   ledger_durable_ops_per_s   the same with the journal, one fsync per 1000 ops
 *   ledger_sqlite_ops_per_s    the same transfers in SQLite (WAL, synchronous=FULL),
 *                              one transaction per 1000 ops, prepared statements;
 *                              balances table + transfers table (the op record)
 *   ledger_vs_sqlite_ratio     durable ledger / SQLite, measured in the same run
 *   ledger_bytes_per_account   table memory / accounts (100k accounts)
 *   ledger_state_hash_ms       state hash after the transfers (folds ~100k dirty records; CPU)
 * The SQLite figures need libsqlite3 at build time (CA_BENCH_HAVE_SQLITE).
 *   ledger_transfer_colliding_ratio
 *                              CPU time of 100k TRANSFERs to made-up recipients whose ids share
 *                              their first 16 bytes / the same to random made-up recipients
 *                              (same run, median of the rounds); 1 = collisions cost nothing
 *   ledger_escrow_colliding_ratio
 *                              the same for 100k ESCROW_OPENs whose refs share 16 bytes
 *   ledger_reopen_colliding_ratio
 *                              ca_ledger_open (snapshot decode) + ca_ledger_check of the
 *                              ledger those ops leave (200k accounts and escrows), colliding
 *                              keys / random keys
 *   ledger_retention_ratio     CPU time of 100k escrow cycles (open, release; the clock 1 ms on
 *                              per cycle) under a 10 ms evidence window, so that nearly every
 *                              op drops a settled escrow / the same cycles with nothing ever
 *                              dropped (max_evidence_age UINT64_MAX); what dropping costs
 *   ledger_retention_kept      escrows held at the end under the 10 ms window (of 100k opened)
 * Recovery figures: see bench_ledger_recovery below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cyberagent.h"
#include "ledger/ledger_internal.h"

#ifdef CA_BENCH_HAVE_SQLITE
#include <sqlite3.h>
#endif

#define ACCOUNTS 100000u
#define BATCH    1000u

static ca_agent_id *ids;

/* Process CPU time: the in-memory goal is per core, and on a shared machine wall time
   also measures the neighbours. Wall time is printed next to it. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static uint64_t *nonces;

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static ca_ledger_options bench_opts(void)
{
    ca_ledger_options o;
    (void)ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION);
    memset(o.authority.bytes, 0xAA, 32);
    memset(o.arbiter.bytes, 0xBB, 32);
    o.initial_accounts = ACCOUNTS + 1;
    return o;
}

/* Mints 1e9 units to every account. */
static int setup(ca_ledger *l)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    memset(op.signer.bytes, 0xAA, 32);
    op.amount = 1000000000u;
    for (uint32_t i = 0; i < ACCOUNTS; i++) {
        op.nonce = i + 1;
        op.counterparty = ids[i];
        if (ca_ledger_apply(l, &op, 0, NULL) != CA_OK)
            return -1;
    }
    memset(nonces, 0, ACCOUNTS * sizeof *nonces);
    return 0;
}

/* Pre-drawn (from, to, amount) so the timed loop measures the ledger. */
typedef struct xfer {
    uint32_t from, to;
    uint64_t amount;
} xfer;

static void draw(xfer *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        x[i].from = (uint32_t)(rng(&seed) % ACCOUNTS);
        do
            x[i].to = (uint32_t)(rng(&seed) % ACCOUNTS);
        while (x[i].to == x[i].from);
        x[i].amount = 1 + rng(&seed) % 1000;
    }
}

/* Applies the transfers in batches of BATCH ops (ca_ledger_apply_batch); durable: commit per batch.
 */
static size_t run_ledger(ca_ledger *l, const xfer *x, size_t n, int durable)
{
    static ca_ledger_op ops[BATCH];
    static ca_status res[BATCH];
    size_t ok = 0;
    for (size_t i = 0; i < BATCH; i++) {
        memset(&ops[i], 0, sizeof ops[i]);
        ops[i].version = CA_LEDGER_OP_VERSION;
        ops[i].type = CA_LEDGER_OP_TRANSFER;
    }
    for (size_t base = 0; base < n; base += BATCH) {
        size_t m = n - base < BATCH ? n - base : BATCH, done = 0;
        for (size_t i = 0; i < m; i++) {
            const xfer *t = &x[base + i];
            ops[i].signer = ids[t->from];
            ops[i].counterparty = ids[t->to];
            ops[i].nonce = ++nonces[t->from]; /* balances are large: every transfer applies */
            ops[i].amount = t->amount;
        }
        if (ca_ledger_apply_batch(l, ops, m, 1, res, &done) != CA_OK)
            return 0;
        ok += done;
        if (durable && ca_ledger_commit(l, NULL) != CA_OK)
            return 0;
    }
    return ok;
}

static void rm_ledger_dir(const char *dir)
{
    char p[512];
    const char *names[] = {"journal", "snapshot", "snapshot.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        (void)unlink(p);
    }
    (void)rmdir(dir);
}

#ifdef CA_BENCH_HAVE_SQLITE
/*
 * The same transfers as straightforward SQL: read the sender, check nonce and
 * balance, debit, credit, and record the transfer (the ledger journals every
 * op too); one transaction per batch.
 */
static double run_sqlite(const char *path, const xfer *x, size_t n)
{
    sqlite3 *db = NULL;
    (void)unlink(path);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    (void)unlink(wal);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 0;
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE accounts(id BLOB PRIMARY KEY, balance INTEGER NOT NULL,"
                 " nonce INTEGER NOT NULL) WITHOUT ROWID;"
                 "CREATE TABLE transfers(seq INTEGER PRIMARY KEY, from_id BLOB NOT NULL,"
                 " to_id BLOB NOT NULL, amount INTEGER NOT NULL, nonce INTEGER NOT NULL);",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins, *sel, *deb, *cred, *rec;
    sqlite3_prepare_v2(db, "INSERT INTO accounts VALUES(?1, 1000000000, 0)", -1, &ins, NULL);
    sqlite3_prepare_v2(db, "SELECT balance, nonce FROM accounts WHERE id = ?1", -1, &sel, NULL);
    sqlite3_prepare_v2(db, "UPDATE accounts SET balance = balance - ?2, nonce = ?3 WHERE id = ?1",
                       -1, &deb, NULL);
    sqlite3_prepare_v2(db, "UPDATE accounts SET balance = balance + ?2 WHERE id = ?1", -1, &cred,
                       NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO transfers(from_id, to_id, amount, nonce) VALUES(?1,?2,?3,?4)",
                       -1, &rec, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (uint32_t i = 0; i < ACCOUNTS; i++) {
        sqlite3_bind_blob(ins, 1, ids[i].bytes, 32, SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    memset(nonces, 0, ACCOUNTS * sizeof *nonces);
    double t0 = bench_now();
    size_t ok = 0;
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_blob(sel, 1, ids[x[i].from].bytes, 32, SQLITE_STATIC);
        int have = sqlite3_step(sel) == SQLITE_ROW;
        sqlite3_int64 bal = have ? sqlite3_column_int64(sel, 0) : 0;
        sqlite3_int64 nonce = have ? sqlite3_column_int64(sel, 1) : 0;
        sqlite3_reset(sel);
        if (have && (uint64_t)nonce == nonces[x[i].from] && (uint64_t)bal >= x[i].amount) {
            sqlite3_bind_blob(deb, 1, ids[x[i].from].bytes, 32, SQLITE_STATIC);
            sqlite3_bind_int64(deb, 2, (sqlite3_int64)x[i].amount);
            sqlite3_bind_int64(deb, 3, nonce + 1);
            sqlite3_step(deb);
            sqlite3_reset(deb);
            sqlite3_bind_blob(cred, 1, ids[x[i].to].bytes, 32, SQLITE_STATIC);
            sqlite3_bind_int64(cred, 2, (sqlite3_int64)x[i].amount);
            sqlite3_step(cred);
            sqlite3_reset(cred);
            sqlite3_bind_blob(rec, 1, ids[x[i].from].bytes, 32, SQLITE_STATIC);
            sqlite3_bind_blob(rec, 2, ids[x[i].to].bytes, 32, SQLITE_STATIC);
            sqlite3_bind_int64(rec, 3, (sqlite3_int64)x[i].amount);
            sqlite3_bind_int64(rec, 4, nonce + 1);
            sqlite3_step(rec);
            sqlite3_reset(rec);
            nonces[x[i].from]++;
            ok++;
        }
        if ((i + 1) % BATCH == 0) {
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double dt = bench_now() - t0;
    bench_consume(&ok, sizeof ok);
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    sqlite3_finalize(deb);
    sqlite3_finalize(cred);
    sqlite3_finalize(rec);
    sqlite3_close(db);
    (void)unlink(path);
    (void)unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    (void)unlink(wal);
    return (double)n / dt;
}
#endif

/* ------------------------------------------------------------------ recovery */

/*
 * Journal recovery under a hostile tail (issue 13, finding 9):
 *   ledger_recovery_clean_<n>mib_ms     ca_ledger_open of a clean journal of 200 + ~n MiB of
 *                                       records (replays them all)
 *   ledger_recovery_garbage_<n>mib_ms   ca_ledger_open of the 200 records followed by n MiB of
 *                                       garbage of the same total size: fake record headers every
 *                                       25 bytes with plausible seqs and lengths (the tail that
 *                                       made the recovery of format 1 quadratic)
 *   ledger_recovery_garbage_vs_clean_<n>mib   median of the per-round ratios, the two opens
 *                                       taking turns (bench_interleave); the _ms figures
 *                                       are each side's median over the same rounds
 * for n = 1, 2, 4. The garbage answers CA_ERR_LEDGER_CORRUPT at its first byte; a recovery
 * that is linear stays at or below the clean replay of the same size (ratio <= 1).
 */

static ca_ledger_options recovery_opts(void)
{
    ca_ledger_options o;
    (void)ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION);
    memset(o.authority.bytes, 0xAA, 32);
    memset(o.arbiter.bytes, 0xBB, 32);
    return o;
}

static long recovery_journal_size(const char *dir)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/journal", dir);
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* A fresh ledger in `dir` with MINT records until the journal holds `bytes` (committed). */
static int recovery_build(const char *dir, long bytes)
{
    rm_ledger_dir(dir);
    ca_ledger_options o = recovery_opts();
    ca_ledger *l = NULL;
    if (ca_ledger_open(&l, dir, &o, NULL) != CA_OK)
        return -1;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    memset(op.signer.bytes, 0xAA, 32);
    op.amount = 1;
    int rc = 0;
    for (uint64_t i = 0; rc == 0; i++) {
        op.nonce = i + 1;
        memcpy(op.counterparty.bytes, &i, sizeof i);
        if (ca_ledger_apply(l, &op, 0, NULL) != CA_OK)
            rc = -1;
        else if (i % 100 == 99) {
            if (ca_ledger_commit(l, NULL) != CA_OK)
                rc = -1;
            else if (recovery_journal_size(dir) >= bytes)
                break;
        }
    }
    ca_ledger_free(l);
    return rc;
}

/* One ca_ledger_open of `dir` in wall milliseconds (a side of bench_interleave); the journal is
   rewritten from `j` first when given (the open cuts a garbage tail off). */
typedef struct recovery_side {
    const char *dir;
    const uint8_t *j;
    size_t jlen;
    ca_status st;
} recovery_side;

static double recovery_open(void *ctx)
{
    recovery_side *s = ctx;
    ca_ledger_options o = recovery_opts();
    if (s->j != NULL) {
        char p[512];
        snprintf(p, sizeof p, "%s/journal", s->dir);
        FILE *f = fopen(p, "wb");
        if (f == NULL || fwrite(s->j, 1, s->jlen, f) != s->jlen) {
            if (f)
                fclose(f);
            return -1;
        }
        fclose(f);
    }
    ca_ledger *l = NULL;
    double t0 = bench_now();
    s->st = ca_ledger_open(&l, s->dir, &o, NULL);
    double ms = (bench_now() - t0) * 1e3;
    ca_ledger_free(l);
    return ms;
}

static void bench_ledger_recovery(void)
{
    int rounds = bench_rounds();
    if (rounds > 9)
        rounds = 9;
    const char *tmp = getenv("CA_BENCH_TMP");
    char dir[400], clean[420];
    snprintf(dir, sizeof dir, "%s/ca-bench-recovery-%ld", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    snprintf(clean, sizeof clean, "%s-clean", dir);
    /* The 200-record prefix the garbage follows. */
    if (recovery_build(dir, 0) != 0) {
        fprintf(stderr, "bench_ledger_recovery: setup failed: %s\n", ca_last_error());
        return;
    }
    long base = recovery_journal_size(dir);
    for (size_t mib = 1; mib <= 4; mib *= 2) {
        size_t g = mib << 20, len = (size_t)base + g;
        uint8_t *j = calloc(1, len);
        if (j == NULL)
            break;
        char p[512];
        snprintf(p, sizeof p, "%s/journal", dir);
        if (recovery_build(dir, 0) != 0) {
            free(j);
            break;
        }
        FILE *f = fopen(p, "rb");
        size_t got = f ? fread(j, 1, (size_t)base, f) : 0;
        if (f)
            fclose(f);
        if (got != (size_t)base) {
            free(j);
            break;
        }
        for (size_t i = 0; i + 25 <= g; i += 25) { /* len u32 | 0 | seq u64 ... | type */
            uint8_t *h = j + base + i;
            uint32_t claim = (uint32_t)(g / 2);
            uint64_t seq = 201 + i / 25 % 3;
            for (int k = 0; k < 4; k++)
                h[k] = (uint8_t)(claim >> (8 * k));
            for (int k = 0; k < 8; k++)
                h[8 + k] = (uint8_t)(seq >> (8 * k));
            h[24] = 1;
        }
        /* The clean journal of the same size in a second directory, so the two opens can take
           turns (bench_interleave): garbage, clean, clean, garbage, ... */
        if (recovery_build(clean, (long)len) != 0) {
            free(j);
            break;
        }
        recovery_side sg = {dir, j, len, CA_OK}, sc = {clean, NULL, 0, CA_OK};
        bench_pair pair;
        int ok = bench_interleave(rounds, recovery_open, &sg, recovery_open, &sc, &pair) == 0;
        free(j);
        if (!ok)
            break;
        if (sc.st != CA_OK)
            fprintf(stderr, "bench_ledger_recovery: clean journal: %s\n", ca_status_str(sc.st));
        fprintf(stderr, "bench_ledger_recovery: %zu MiB garbage: %s\n", mib, ca_status_str(sg.st));
        char name[96];
        snprintf(name, sizeof name, "ledger_recovery_clean_%zumib_ms", mib);
        bench_figure(name, pair.den, "ms");
        snprintf(name, sizeof name, "ledger_recovery_garbage_%zumib_ms", mib);
        bench_figure(name, pair.num, "ms");
        snprintf(name, sizeof name, "ledger_recovery_garbage_vs_clean_%zumib", mib);
        bench_figure(name, pair.ratio, "x");
    }
    rm_ledger_dir(dir);
    rm_ledger_dir(clean);
}

/* ---- hostile keys: made-up ids that share a 16-byte prefix (docs/LEDGER.md, "Indexes") ---- */

#define FLOOD 100000u

/* A made-up 32-byte key: random, or a fixed 16-byte prefix and a random rest. */
static void made_up(uint8_t out[32], int colliding, uint64_t *seed)
{
    for (int k = 0; k < 4; k++) {
        uint64_t v = rng(seed);
        memcpy(out + 8 * k, &v, 8);
    }
    if (colliding)
        memset(out, 0xC5, 16);
}

/* Applies FLOOD transfers from one sender, then FLOOD escrows (hirer = sender, worker W) with
   made-up recipients and refs; CPU seconds of each phase in t[0], t[1]; 0 on success. */
static int run_flood(ca_ledger *l, int colliding, uint64_t seed, double t[2])
{
    static ca_ledger_op ops[BATCH];
    static ca_status res[BATCH];
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    memset(op.signer.bytes, 0xAA, 32);
    memset(op.counterparty.bytes, 0x51, 32); /* the sender */
    op.nonce = 1;
    op.amount = 10ull * FLOOD;
    if (ca_ledger_apply(l, &op, 0, NULL) != CA_OK)
        return -1;
    memset(op.counterparty.bytes, 0x57, 32); /* the worker */
    op.nonce = 2;
    if (ca_ledger_apply(l, &op, 0, NULL) != CA_OK)
        return -1;
    uint64_t nonce = 0;
    for (int phase = 0; phase < 2; phase++) {
        double c0 = cpu_now();
        for (size_t base = 0; base < FLOOD; base += BATCH) {
            size_t m = FLOOD - base < BATCH ? FLOOD - base : BATCH, done = 0;
            for (size_t i = 0; i < m; i++) {
                ca_ledger_op *o = &ops[i];
                memset(o, 0, sizeof *o);
                o->version = CA_LEDGER_OP_VERSION;
                memset(o->signer.bytes, 0x51, 32);
                o->nonce = ++nonce;
                o->amount = 1;
                if (phase == 0) {
                    o->type = CA_LEDGER_OP_TRANSFER;
                    made_up(o->counterparty.bytes, colliding, &seed);
                } else {
                    o->type = CA_LEDGER_OP_ESCROW_OPEN;
                    memset(o->counterparty.bytes, 0x57, 32);
                    made_up(o->ref.bytes, colliding, &seed);
                    o->deadline = 1000;
                }
            }
            if (ca_ledger_apply_batch(l, ops, m, 1, res, &done) != CA_OK || done != m)
                return -1;
        }
        t[phase] = cpu_now() - c0;
    }
    return 0;
}

/* Colliding vs random keys: op rates, then reopening what they leave. */
static void bench_flood(int rounds)
{
    ca_ledger_options o = bench_opts();
    o.initial_accounts = 0;
    o.max_escrows_per_hirer = FLOOD; /* one hirer makes up every ref */
    double xr[9], er[9], rr[9];
    const char *tmp = getenv("CA_BENCH_TMP");
    char dir[400];
    for (int r = 0; r < rounds; r++) {
        double t[2][2], reopen[2];
        for (int colliding = 0; colliding < 2; colliding++) {
            uint64_t seed = 0xF100D + (uint64_t)r;
            ca_ledger *l = NULL;
            int bad = ca_ledger_new(&l, &o) != CA_OK || run_flood(l, colliding, seed, t[colliding]);
            ca_ledger_free(l);
            /* The same ops in a durable ledger (not timed), snapshotted, then reopened. */
            snprintf(dir, sizeof dir, "%s/ca-bench-flood-%ld", tmp && *tmp ? tmp : "/tmp",
                     (long)getpid());
            rm_ledger_dir(dir);
            double t2[2];
            bad = bad || ca_ledger_open(&l, dir, &o, NULL) != CA_OK ||
                  run_flood(l, colliding, seed, t2) || ca_ledger_snapshot(l) != CA_OK;
            ca_ledger_free(l);
            l = NULL;
            double c0 = cpu_now();
            bad = bad || ca_ledger_open(&l, dir, &o, NULL) != CA_OK || ca_ledger_check(l) != CA_OK;
            reopen[colliding] = cpu_now() - c0;
            ca_ledger_free(l);
            rm_ledger_dir(dir);
            if (bad) {
                fprintf(stderr, "bench_ledger: flood failed: %s\n", ca_last_error());
                return;
            }
        }
        xr[r] = t[1][0] / t[0][0];
        er[r] = t[1][1] / t[0][1];
        rr[r] = reopen[1] / reopen[0];
    }
    bench_figure("ledger_transfer_colliding_ratio", bench_median(xr, (size_t)rounds), "x");
    bench_figure("ledger_escrow_colliding_ratio", bench_median(er, (size_t)rounds), "x");
    bench_figure("ledger_reopen_colliding_ratio", bench_median(rr, (size_t)rounds), "x");
}

/* CPU seconds of `n` open + release cycles of one hirer; *kept: escrows held at the end. */
static double retention_cycles(uint64_t window, size_t n, uint64_t *kept)
{
    ca_ledger_options o = bench_opts();
    o.initial_accounts = 0;
    o.max_evidence_age = window;
    o.max_escrows_per_hirer = (uint32_t)n;
    o.max_escrows = (uint32_t)n;
    ca_ledger *l = NULL;
    if (ca_ledger_new(&l, &o) != CA_OK)
        return -1;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_MINT;
    memset(op.signer.bytes, 0xAA, 32);
    for (int k = 0; k < 2; k++) {
        memset(op.counterparty.bytes, k ? 0x57 : 0x51, 32); /* worker, hirer */
        op.nonce = (uint64_t)k + 1;
        op.amount = k ? 1 : n; /* the hirer pays 1 a cycle */
        if (ca_ledger_apply(l, &op, 0, NULL) != CA_OK) {
            ca_ledger_free(l);
            return -1;
        }
    }
    double c0 = cpu_now();
    uint64_t nonce = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&op, 0, sizeof op);
        op.version = CA_LEDGER_OP_VERSION;
        op.type = CA_LEDGER_OP_ESCROW_OPEN;
        memset(op.signer.bytes, 0x51, 32);
        memset(op.counterparty.bytes, 0x57, 32);
        op.nonce = ++nonce;
        const size_t ref = i + 1;
        memcpy(op.ref.bytes, &ref, sizeof ref);
        op.amount = 1;
        op.deadline = i + 5;
        int bad = ca_ledger_apply(l, &op, i, NULL) != CA_OK;
        op.type = CA_LEDGER_OP_ESCROW_RELEASE;
        op.nonce = ++nonce;
        memset(op.counterparty.bytes, 0, 32);
        op.amount = 0;
        op.deadline = 0;
        if (bad || ca_ledger_apply(l, &op, i, NULL) != CA_OK) {
            ca_ledger_free(l);
            return -1;
        }
    }
    double t = cpu_now() - c0;
    ca_ledger_totals tot = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &tot);
    *kept = tot.escrows;
    ca_ledger_free(l);
    return t;
}

/* What dropping settled escrows costs against keeping them all. */
static void bench_retention(int rounds)
{
    enum { CYCLES = 100000 };
    double ratio[9];
    uint64_t kept = 0, all = 0;
    for (int r = 0; r < rounds; r++) {
        double a = retention_cycles(10, CYCLES, &kept),
               b = retention_cycles(UINT64_MAX, CYCLES, &all);
        if (a < 0 || b < 0 || all != CYCLES) {
            fprintf(stderr, "bench_ledger: retention cycles failed: %s\n", ca_last_error());
            return;
        }
        ratio[r] = a / b;
    }
    bench_figure("ledger_retention_ratio", bench_median(ratio, (size_t)rounds), "x");
    bench_figure("ledger_retention_kept", (double)kept, "escrows");
}

void bench_ledger(void)
{
    int rounds = bench_rounds(), quick = bench_quick();
    if (rounds > 9)
        rounds = 9;
    size_t n_mem = quick ? 200000 : 2000000, n_dur = quick ? 20000 : 200000;
    ids = malloc(ACCOUNTS * sizeof *ids);
    nonces = malloc(ACCOUNTS * sizeof *nonces);
    xfer *x = malloc(n_mem * sizeof *x);
    if (ids == NULL || nonces == NULL || x == NULL)
        return;
    uint64_t seed = 0x5EED;
    for (uint32_t i = 0; i < ACCOUNTS; i++)
        for (int k = 0; k < 4; k++) {
            uint64_t v = rng(&seed);
            memcpy(ids[i].bytes + 8 * k, &v, 8);
        }
    ca_ledger_options o = bench_opts();

    /* In memory. */
    double mem[9], wall[9], hash_ms = 0;
    size_t bytes = 0;
    for (int r = 0; r < rounds; r++) {
        ca_ledger *l = NULL;
        if (ca_ledger_new(&l, &o) != CA_OK || setup(l) != 0)
            return;
        if (r == 0)
            bytes = cai_ledger_memory_bytes(l);
        ca_hash h;
        (void)ca_ledger_state_hash(l, &h);
        draw(x, n_mem, 1000 + (uint64_t)r);
        double c0 = cpu_now(), t0 = bench_now();
        size_t ok = run_ledger(l, x, n_mem, 0);
        double t1 = bench_now(), c1 = cpu_now();
        (void)ca_ledger_state_hash(l, &h);
        hash_ms = (cpu_now() - c1) * 1e3;
        bench_consume(&ok, sizeof ok);
        mem[r] = (double)n_mem / (c1 - c0);
        wall[r] = (double)n_mem / (t1 - t0);
        ca_ledger_free(l);
    }
    bench_figure("ledger_mem_ops_per_s", bench_median(mem, (size_t)rounds), "ops/s");
    bench_figure("ledger_mem_ops_per_s_wall", bench_median(wall, (size_t)rounds), "ops/s");
    bench_figure("ledger_bytes_per_account", (double)bytes / ACCOUNTS, "bytes");
    bench_figure("ledger_state_hash_ms", hash_ms, "ms");

    /* Durable, one fsync per BATCH ops; SQLite with the same ops and batching. */
    const char *tmp = getenv("CA_BENCH_TMP");
    char dir[400], db[420];
    snprintf(dir, sizeof dir, "%s/ca-bench-ledger-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    snprintf(db, sizeof db, "%s.sqlite", dir);
    int drounds = rounds < 3 ? rounds : 3;
    double dur[9], sql[9], ratio[9];
    for (int r = 0; r < drounds; r++) {
        rm_ledger_dir(dir);
        ca_ledger *l = NULL;
        if (ca_ledger_open(&l, dir, &o, NULL) != CA_OK || setup(l) != 0 ||
            ca_ledger_snapshot(l) != CA_OK) {
            fprintf(stderr, "bench_ledger: durable setup failed: %s\n", ca_last_error());
            ca_ledger_free(l);
            return;
        }
        draw(x, n_dur, 2000 + (uint64_t)r);
        double t0 = bench_now();
        size_t ok = run_ledger(l, x, n_dur, 1);
        double t1 = bench_now();
        bench_consume(&ok, sizeof ok);
        dur[r] = ok ? (double)n_dur / (t1 - t0) : 0;
        ca_ledger_free(l);
        rm_ledger_dir(dir);
#ifdef CA_BENCH_HAVE_SQLITE
        sql[r] = run_sqlite(db, x, n_dur);
        ratio[r] = sql[r] > 0 ? dur[r] / sql[r] : 0;
#else
        sql[r] = ratio[r] = 0;
#endif
    }
    bench_figure("ledger_durable_ops_per_s", bench_median(dur, (size_t)drounds), "ops/s");
#ifdef CA_BENCH_HAVE_SQLITE
    bench_figure("ledger_sqlite_ops_per_s", bench_median(sql, (size_t)drounds), "ops/s");
    bench_figure("ledger_vs_sqlite_ratio", bench_median(ratio, (size_t)drounds), "x");
#else
    (void)sql;
    (void)ratio;
    fprintf(stderr, "bench_ledger: built without libsqlite3: ledger_vs_sqlite_ratio skipped\n");
#endif
    free(x);
    free(ids);
    free(nonces);
    bench_ledger_recovery();
    bench_flood(rounds < 3 ? rounds : 3);
    bench_retention(rounds < 3 ? rounds : 3);
}
