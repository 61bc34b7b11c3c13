/*
 * cyberagent-nats: the hire of examples/hire across processes over NATS,
 * with the ledger on a NATS JetStream stream (examples/replica/js.h).
 *
 *   cyberagent-nats market  --url URLS --workers 8 --tasks 40 [--window 32]
 *   cyberagent-nats worker  --url URLS --index I [--cheat] [--work-ms MS]
 *   cyberagent-nats audit   --url URLS [--until SEQ]
 *   cyberagent-nats hostile --url URLS [--duration MS] [--period MS]
 *   cyberagent-nats ledger-args   (the ledger's options as cyberagent-replica takes them)
 *
 * Common options: --seed S (identities and ledger rules, default 1),
 * --stream NAME (default LEDGER), --replicas R (default 3). URLS: NATS
 * client URLs, comma-separated (every process reconnects to any of them).
 *
 * Subjects:
 *   ca.m.join        worker -> market: its signed card, renewed every second (heartbeat)
 *   ca.m.consent     worker -> market: award id | its consent to the award's escrow
 *   ca.task.<cap>    market -> workers: REQUEST envelopes
 *   ca.agent.<id>    each agent's inbox: BID and RESULT to the hirer; AWARD, RECEIPT and
 *                    the hirer's signed NOTICEs (joined, escrow opened, op status) to a worker
 *   ca.done          market -> workers: the hirer's signed DONE
 *   ledger.ops.<signer hex>  the ledger stream (JetStream): every ledger op, by its signer
 *
 * The market is the hirer; its ledger is a replica of the stream
 * (market.c). Workers publish their own ops (BOND, DELIVER) to the stream.
 * Every process verifies what it reads and counts what it drops; no message
 * ends a process. Exit status: market 0 only when every task settled
 * (completed, refunded or slashed); workers 0 at the hirer's DONE.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "nats_hire.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: cyberagent-nats market  --url URLS [--workers N] [--tasks M] [--window W]\n"
            "                               [--timeout-ms T] [--verbose]\n"
            "       cyberagent-nats worker  --url URLS --index I [--cheat] [--work-ms MS]\n"
            "       cyberagent-nats audit   --url URLS [--until SEQ]\n"
            "       cyberagent-nats hostile --url URLS [--duration MS] [--period MS]\n"
            "       cyberagent-nats ledger-args [--seed S]   (options for cyberagent-replica)\n"
            "       common: [--seed S] [--stream NAME] [--replicas R]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    opts o;
    memset(&o, 0, sizeof o);
    o.stream = RJS_DEFAULT_STREAM;
    o.replicas = 3;
    o.seed = 1;
    o.workers = 3;
    o.tasks = 6;
    o.window = 32;
    o.timeout_ms = 600000;
    o.duration_ms = 600000;
    o.period_ms = 200;
    int have_index = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--cheat") == 0) {
            o.cheat = 1;
            continue;
        }
        if (strcmp(a, "--verbose") == 0) {
            o.verbose = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        i++;
        uint64_t x = 0;
        int num = parse_u64(v, &x) == 0;
        if (strcmp(a, "--url") == 0)
            o.url = v;
        else if (strcmp(a, "--stream") == 0)
            o.stream = v;
        else if (strcmp(a, "--replicas") == 0 && num && x >= 1 && x <= 5)
            o.replicas = (int)x;
        else if (strcmp(a, "--seed") == 0 && num)
            o.seed = x;
        else if (strcmp(a, "--workers") == 0 && num && x <= MAX_WORKER)
            o.workers = x;
        else if (strcmp(a, "--tasks") == 0 && num && x <= 1000000)
            o.tasks = x;
        else if (strcmp(a, "--window") == 0 && num && x >= 1 && x <= 4096)
            o.window = x;
        else if (strcmp(a, "--work-ms") == 0 && num && x <= 60000)
            o.work_ms = x;
        else if (strcmp(a, "--timeout-ms") == 0 && num)
            o.timeout_ms = x;
        else if (strcmp(a, "--index") == 0 && num && x < MAX_WORKER) {
            o.index = x;
            have_index = 1;
        } else if (strcmp(a, "--until") == 0 && num)
            o.until_seq = x;
        else if (strcmp(a, "--duration") == 0 && num)
            o.duration_ms = x;
        else if (strcmp(a, "--period") == 0 && num && x >= 1)
            o.period_ms = x;
        else
            return usage();
    }
    if (strcmp(argv[1], "ledger-args") == 0 && ca_init() == CA_OK) {
        /* the ledger options as cyberagent-replica and cyberagent-submit take them */
        ca_ledger_options lo;
        char a[65], b[65];
        if (ledger_options(o.seed, &lo) != CA_OK)
            return 1;
        hex_of(lo.authority.bytes, 32, a);
        hex_of(lo.arbiter.bytes, 32, b);
        printf("--authority %s --arbiter %s --unbonding-delay %" PRIu64
               " --jail-equivocation %" PRIu64 "\n",
               a, b, lo.unbonding_delay, lo.jail_equivocation);
        return 0;
    }
    if (o.url == NULL || ca_init() != CA_OK)
        return usage();
    if (strcmp(o.stream, RJS_DEFAULT_STREAM) == 0)
        (void)snprintf(o.prefix, sizeof o.prefix, "%s", RJS_DEFAULT_PREFIX);
    else
        (void)snprintf(o.prefix, sizeof o.prefix, "ledger.%s", o.stream);
    int rc;
    if (strcmp(argv[1], "market") == 0)
        rc = run_market(&o);
    else if (strcmp(argv[1], "worker") == 0 && have_index)
        rc = run_worker(&o);
    else if (strcmp(argv[1], "audit") == 0)
        rc = run_audit(&o);
    else if (strcmp(argv[1], "hostile") == 0)
        rc = run_hostile(&o);
    else
        rc = usage();
    nats_Close();
    return rc;
}
