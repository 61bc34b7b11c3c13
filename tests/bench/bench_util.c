/* ca-bench plumbing (bench.h), shared by ca-bench and ca-bench-replication. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cyberagent.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, size_t n)
{
    qsort(values, n, sizeof *values, cmp_double);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void bench_figure(const char *name, double value, const char *unit)
{
    printf("%s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

int bench_rounds(void)
{
    const char *s = getenv("CA_BENCH_ROUNDS");
    int r = s ? atoi(s) : 5;
    return r > 0 ? r : 5;
}

int bench_quick(void)
{
    const char *s = getenv("CA_BENCH_QUICK");
    return s != NULL && s[0] != '\0' && s[0] != '0';
}

int bench_verbose(void)
{
    const char *s = getenv("CA_BENCH_VERBOSE");
    return s != NULL && s[0] != '\0' && s[0] != '0';
}

static volatile uint8_t sink;

void bench_consume(const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        sink ^= b[i];
}

int bench_interleave(int rounds, bench_timing num, void *num_ctx, bench_timing den, void *den_ctx,
                     bench_pair *out)
{
    double ratios[BENCH_MAX_ROUNDS], nums[BENCH_MAX_ROUNDS], dens[BENCH_MAX_ROUNDS];
    int done = 0;
    if (rounds > BENCH_MAX_ROUNDS)
        rounds = BENCH_MAX_ROUNDS;
    for (int r = 0; r < rounds; r++) {
        double a, b;
        if (r % 2 == 0) {
            a = num(num_ctx);
            b = a > 0 ? den(den_ctx) : 0;
        } else {
            b = den(den_ctx);
            a = b > 0 ? num(num_ctx) : 0;
        }
        if (a <= 0 || b <= 0)
            break;
        nums[done] = a;
        dens[done] = b;
        ratios[done] = a / b;
        if (bench_verbose())
            fprintf(stderr, "bench_interleave: round %d: %.6g / %.6g = %.4g\n", r + 1, a, b, a / b);
        done++;
    }
    out->rounds = done;
    if (done == 0) {
        out->ratio = out->num = out->den = 0;
        return -1;
    }
    out->ratio = bench_median(ratios, (size_t)done);
    out->num = bench_median(nums, (size_t)done);
    out->den = bench_median(dens, (size_t)done);
    return 0;
}

int bench_coproc_start(bench_coproc *c, char *const argv[])
{
    int in[2], out[2];
    c->pid = -1;
    c->to = c->from = NULL;
    if (pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a baseline that died is an answer of -1, not our death */
    c->pid = (long)pid;
    c->to = fdopen(in[1], "w");
    c->from = fdopen(out[0], "r");
    if (c->to == NULL || c->from == NULL) {
        if (c->to == NULL)
            close(in[1]);
        if (c->from == NULL)
            close(out[0]);
        bench_coproc_stop(c);
        return -1;
    }
    return 0;
}

int bench_coproc_read(bench_coproc *c, char *answer, size_t cap)
{
    if (c->from == NULL || cap < 2 || fgets(answer, (int)cap, c->from) == NULL)
        return -1;
    answer[strcspn(answer, "\n")] = '\0';
    return 0;
}

int bench_coproc_ask(bench_coproc *c, const char *request, char *answer, size_t cap)
{
    if (c->to == NULL || fprintf(c->to, "%s\n", request) < 0 || fflush(c->to) != 0)
        return -1;
    return bench_coproc_read(c, answer, cap);
}

int bench_coproc_stop(bench_coproc *c)
{
    if (c->to != NULL)
        fclose(c->to);
    if (c->from != NULL)
        fclose(c->from);
    c->to = c->from = NULL;
    int status = 0;
    if (c->pid <= 0 || waitpid((pid_t)c->pid, &status, 0) < 0)
        return -1;
    c->pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
