/*
 * The market across processes (examples/nats) against the same hire in one
 * process.
 *
 * nats_market_tasks_per_s: cyberagent-nats with 8 worker processes and the
 * market (window 64) on a 3-node JetStream cluster on loopback
 * (examples/replica/cluster.sh), every ledger op through the R3 ledger
 * stream and applied by the market's replica; tasks settled per second from
 * the first task to the last settlement, as the market reports it.
 * nats_inprocess_tasks_per_s: the demo's hire loop (examples/hire/story.c)
 * with the same number of agents (one hirer and 8 workers, at most 5 bids a
 * task: in the market each capability is offered by 5 or 6 of the 8
 * workers, and all of them bid), everything in one process. nats_vs_inprocess_ratio: per round, the
 * two timed back to back (bench_interleave), median of the per-round ratios.
 *
 * Needs the cyberagent-nats binary (built with libnats) and nats-server; when
 * either is missing the area prints a note on stderr and no figures.
 */
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
#include "cyberagent.h"
#include "story.h"

#define NATS_WORKERS 8

#ifdef CA_BENCH_NATS_BIN

typedef struct nats_ctx {
    const char *urls;
    unsigned tasks;
    int round;
    double last_rate;
} nats_ctx;

static int executable(const char *p)
{
    return p != NULL && access(p, X_OK) == 0;
}

static const char *find_server(void)
{
    static char path[512];
    const char *env = getenv("NATS_SERVER");
    if (executable(env))
        return env;
    const char *dirs[] = {"/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        (void)snprintf(path, sizeof path, "%s/nats-server", dirs[i]);
        if (executable(path))
            return path;
    }
    return NULL;
}

/* One run: 8 workers and the market on a fresh stream; returns seconds per task. */
static double nats_round(void *arg)
{
    nats_ctx *c = arg;
    char stream[32], tasks[32];
    (void)snprintf(stream, sizeof stream, "B%d", ++c->round);
    (void)snprintf(tasks, sizeof tasks, "%u", c->tasks);
    pid_t w[NATS_WORKERS];
    for (int i = 0; i < NATS_WORKERS; i++) {
        char index[16];
        (void)snprintf(index, sizeof index, "%d", i);
        fflush(stdout);
        w[i] = fork();
        if (w[i] == 0) {
            if (freopen("/dev/null", "w", stdout) == NULL ||
                freopen("/dev/null", "w", stderr) == NULL)
                _exit(127);
            execl(CA_BENCH_NATS_BIN, CA_BENCH_NATS_BIN, "worker", "--url", c->urls, "--index",
                  index, "--stream", stream, (char *)NULL);
            _exit(127);
        }
    }
    char cmd[1024];
    (void)snprintf(cmd, sizeof cmd,
                   "'%s' market --url '%s' --stream %s --workers %d --tasks %s --window 64 "
                   "--timeout-ms 300000 2>/dev/null",
                   CA_BENCH_NATS_BIN, c->urls, stream, NATS_WORKERS, tasks);
    FILE *p = popen(cmd, "r");
    double rate = 0;
    char line[1024];
    while (p != NULL && fgets(line, sizeof line, p) != NULL) {
        const char *r = strstr(line, "tasks_per_s=");
        if (strncmp(line, "result ", 7) == 0 && strstr(line, " unfinished=0 ") && r != NULL)
            rate = atof(r + 12);
    }
    int st = p != NULL ? pclose(p) : -1;
    for (int i = 0; i < NATS_WORKERS; i++) { /* they end at the hirer's DONE */
        int ws = 0;
        for (int t = 0; t < 100 && waitpid(w[i], &ws, WNOHANG) == 0; t++)
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
        if (waitpid(w[i], &ws, WNOHANG) == 0) {
            kill(w[i], SIGKILL);
            waitpid(w[i], &ws, 0);
        }
    }
    if (st != 0 || rate <= 0) {
        fprintf(stderr, "bench_nats: market round %d failed\n", c->round);
        return -1;
    }
    c->last_rate = rate;
    return 1.0 / rate;
}

typedef struct inproc_ctx {
    unsigned tasks;
    uint64_t seed;
} inproc_ctx;

static double inproc_round(void *arg)
{
    inproc_ctx *c = arg;
    hire_config cfg;
    hire_config_default(&cfg);
    cfg.agents = 1 + NATS_WORKERS;
    cfg.first_hirers = 1;
    cfg.tasks = c->tasks + 10;
    cfg.seed = ++c->seed;
    cfg.cheaters = 0;
    cfg.max_bidders = 5; /* in the market each capability has 5 or 6 of the 8 workers */
    cfg.rep_every = 50;
    hire_story *s = NULL;
    if (hire_story_new(&s, &cfg) != CA_OK || hire_story_run(s, 10) != CA_OK) {
        hire_story_free(s);
        return -1;
    }
    double t0 = bench_now();
    ca_status st = hire_story_run(s, c->tasks);
    double t1 = bench_now();
    hire_story_free(s);
    return st == CA_OK ? (t1 - t0) / c->tasks : -1;
}

void bench_nats(void)
{
    const char *server = find_server();
    if (server == NULL || !executable(CA_BENCH_NATS_BIN)) {
        fprintf(stderr, "bench_nats: %s not found: skipping the nats_* figures\n",
                server == NULL ? "nats-server" : CA_BENCH_NATS_BIN);
        return;
    }
    char dir[] = "/tmp/ca-bench-nats-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return;
    char cmd[2048], urls[512] = "";
    (void)snprintf(cmd, sizeof cmd,
                   "NATS_SERVER='%s' bash '%s' start '%s/c' $(python3 -c 'import socket\n"
                   "ss=[socket.socket() for _ in range(3)]\n"
                   "[s.bind((\"127.0.0.1\",0)) for s in ss]\n"
                   "print(*[s.getsockname()[1] for s in ss])') >/dev/null",
                   server, CA_BENCH_CLUSTER_SH, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_nats: the cluster did not start\n");
        return;
    }
    (void)snprintf(cmd, sizeof cmd, "bash '%s' urls '%s/c'", CA_BENCH_CLUSTER_SH, dir);
    FILE *p = popen(cmd, "r");
    if (p != NULL && fgets(urls, sizeof urls, p) != NULL)
        urls[strcspn(urls, "\n")] = '\0';
    if (p != NULL)
        pclose(p);
    int rounds = bench_rounds();
    if (rounds > 3)
        rounds = 3;
    unsigned tasks = bench_quick() ? 300u : 1000u;
    nats_ctx nc = {urls, tasks, 0, 0};
    inproc_ctx ic = {tasks, 0};
    bench_pair pair;
    if (urls[0] != '\0' &&
        bench_interleave(rounds, inproc_round, &ic, nats_round, &nc, &pair) == 0) {
        /* ratio = inproc seconds per task / nats seconds per task = nats rate / inproc rate */
        bench_figure("nats_market_tasks_per_s", 1.0 / pair.den, "tasks/s");
        bench_figure("nats_inprocess_tasks_per_s", 1.0 / pair.num, "tasks/s");
        bench_figure("nats_vs_inprocess_ratio", pair.ratio, "ratio");
    } else {
        fprintf(stderr, "bench_nats: no round completed\n");
    }
    (void)snprintf(cmd, sizeof cmd, "bash '%s' stop '%s/c' >/dev/null 2>&1; rm -rf '%s'",
                   CA_BENCH_CLUSTER_SH, dir, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_nats: could not stop the cluster in %s\n", dir);
}

#else

void bench_nats(void)
{
    fprintf(stderr, "bench_nats: built without libnats (examples/nats): skipping the nats_* "
                    "figures\n");
}

#endif
