/*
 * cyberagent-hire: agents hiring agents in one process, every primitive of
 * libcyberagent at work (identity, envelopes, cards, task threads, ledger,
 * reputation, routing). Prints a timeline and a summary table; --quiet and
 * --json for scripts. Exits 0 only when the story's own checks hold.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "story.h"

enum { MODE_TEXT, MODE_QUIET, MODE_JSON };

typedef struct out_ctx {
    int mode;
    int first_event;
    int emit_events;
    int progress;
    int tty;
    int run;
    uint32_t last_pct;
} out_ctx;

static const char *nm(const char *name)
{
    return name[0] ? name : "-";
}

static void clock_str(uint64_t ms, char *out, size_t cap)
{
    uint64_t s = ms / 1000, m = s / 60, h = m / 60;
    if (h > 0)
        (void)snprintf(out, cap, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, h, m % 60, s % 60);
    else
        (void)snprintf(out, cap, "%2" PRIu64 ":%02" PRIu64 ".%" PRIu64, m, s % 60,
                       (ms % 1000) / 100);
}

static double ppm_f(uint64_t ppm)
{
    return (double)ppm / 1e6;
}

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static const char *kind_name(hire_event_kind k)
{
    switch (k) {
    case HIRE_EV_AGENT:
        return "agent";
    case HIRE_EV_REQUEST:
        return "request";
    case HIRE_EV_BIDS:
        return "bids";
    case HIRE_EV_NO_BIDS:
        return "no_bids";
    case HIRE_EV_AWARD:
        return "award";
    case HIRE_EV_ESCROW:
        return "escrow";
    case HIRE_EV_DELIVERED:
        return "delivered";
    case HIRE_EV_PAID:
        return "paid";
    case HIRE_EV_EQUIVOCATION:
        return "equivocation";
    case HIRE_EV_SLASH:
        return "slash";
    case HIRE_EV_REJECTED:
        return "rejected";
    case HIRE_EV_SPLIT:
        return "split";
    case HIRE_EV_MISSED:
        return "missed_deadline";
    case HIRE_EV_REFUND:
        return "refund";
    case HIRE_EV_REPUTATION:
        return "reputation";
    }
    return "?";
}

/* JSON names of an event's amounts (NULL: unused) and of its value field. */
static void json_fields(hire_event_kind k, const char *f[4], const char **value)
{
    f[0] = f[1] = f[2] = f[3] = NULL;
    *value = NULL;
    switch (k) {
    case HIRE_EV_AGENT:
        f[0] = "minted", f[1] = "stake";
        break;
    case HIRE_EV_REQUEST:
        f[0] = "max_price", f[1] = "collateral", f[2] = "due_in_ms";
        break;
    case HIRE_EV_BIDS:
        f[0] = "bids";
        break;
    case HIRE_EV_AWARD:
        f[0] = "score", f[1] = "runner_up_score";
        break;
    case HIRE_EV_ESCROW:
        f[0] = "payment", f[1] = "collateral";
        break;
    case HIRE_EV_DELIVERED:
        f[0] = "after_ms";
        break;
    case HIRE_EV_PAID:
        f[0] = "paid", f[1] = "collateral_back", f[2] = "reputation_before_ppm",
        f[3] = "reputation_after_ppm", *value = "rating";
        break;
    case HIRE_EV_EQUIVOCATION:
        f[0] = "evidence_bytes";
        break;
    case HIRE_EV_SLASH:
        f[0] = "slashed", f[1] = "reporter_reward", f[2] = "victim_share", f[3] = "burned";
        break;
    case HIRE_EV_SPLIT:
        f[0] = "collateral_to_hirer", f[1] = "payment_back";
        break;
    case HIRE_EV_MISSED:
        f[0] = "promised_ms";
        break;
    case HIRE_EV_REFUND:
        f[0] = "payment_back", f[1] = "collateral_back";
        break;
    case HIRE_EV_REPUTATION:
        f[0] = "before_ppm", f[1] = "after_ppm";
        break;
    default:
        break;
    }
}

static void print_json_event(out_ctx *o, const hire_event *e)
{
    printf("%s\n    {\"t_ms\": %" PRIu64 ", \"task\": %d, \"event\": \"%s\"",
           o->first_event ? "" : ",", e->time_ms, e->task, kind_name(e->kind));
    if (e->agent_name[0]) {
        printf(", \"agent\": ");
        json_str(e->agent_name);
    }
    if (e->other_name[0]) {
        printf(", \"%s\": ", e->kind == HIRE_EV_AWARD ? "runner_up" : "hirer");
        json_str(e->other_name);
    }
    const char *f[4], *value;
    const uint64_t v[4] = {e->amount, e->amount2, e->amount3, e->amount4};
    json_fields(e->kind, f, &value);
    for (int i = 0; i < 4; i++)
        if (f[i] != NULL)
            printf(", \"%s\": %" PRIu64, f[i], v[i]);
    if (value != NULL)
        printf(", \"%s\": %u", value, e->rating);
    if (e->kind == HIRE_EV_SLASH)
        printf(", \"ppm\": %u, \"jailed\": %s", e->rating & 0x7fffffffu,
               (e->rating & 0x80000000u) ? "true" : "false");
    if (e->text[0]) {
        printf(", \"%s\": ", e->kind == HIRE_EV_AGENT          ? "capabilities"
                             : e->kind == HIRE_EV_REQUEST      ? "capability"
                             : e->kind == HIRE_EV_EQUIVOCATION ? "evidence_hash_prefix"
                             : e->kind == HIRE_EV_SLASH        ? "evidence"
                                                               : "text");
        json_str(e->text);
    }
    putchar('}');
    o->first_event = 0;
}

static void print_text_event(const hire_event *e)
{
    char t[24];
    const char *a = nm(e->agent_name);
    const char *b = nm(e->other_name);
    if (e->kind == HIRE_EV_AGENT) {
        if (e->amount2 == 0)
            printf("  %-8s hirer   %6" PRIu64 " cr to spend\n", a, e->amount);
        else
            printf("  %-8s worker  %6" PRIu64 " cr stake   %s\n", a, e->amount2, e->text);
        return;
    }
    clock_str(e->time_ms, t, sizeof t);
    printf("  %9s  #%-3d ", t, e->task);
    switch (e->kind) {
    case HIRE_EV_REQUEST:
        printf("%s posts %s: up to %" PRIu64 " cr, %" PRIu64 " cr collateral, due in %" PRIu64
               " s\n",
               a, e->text, e->amount, e->amount2, e->amount3 / 1000);
        break;
    case HIRE_EV_BIDS:
        printf("bids (cr): %s\n", e->text);
        break;
    case HIRE_EV_NO_BIDS:
        printf("nobody can bid; %s cancels the request\n", b);
        break;
    case HIRE_EV_AWARD:
        printf("award -> %s   %s", a, e->text);
        if (e->other >= 0)
            printf("   (next: %s %.2f)", b, (double)e->amount2 / 1e6);
        putchar('\n');
        break;
    case HIRE_EV_ESCROW:
        printf("escrow opened: %s locks %" PRIu64 " cr, %s locks %" PRIu64 " cr collateral\n", b,
               e->amount, a, e->amount2);
        break;
    case HIRE_EV_DELIVERED:
        printf("%s delivers its result after %.1f s\n", a, (double)e->amount / 1000.0);
        break;
    case HIRE_EV_PAID:
        printf("%s accepts, rates %u, pays %" PRIu64 " cr; %s's reputation %.2f -> %.2f\n", b,
               e->rating, e->amount, a, ppm_f(e->amount3), ppm_f(e->amount4));
        break;
    case HIRE_EV_EQUIVOCATION:
        printf("!! %s signs a second, different result: equivocation evidence %s… (%" PRIu64
               " bytes)\n",
               a, e->text, e->amount);
        break;
    case HIRE_EV_SLASH: {
        uint32_t ppm = e->rating & 0x7fffffffu;
        printf("slash %s for %s: %" PRIu64 " cr of stake (%u%%): %" PRIu64 " cr reward to %s", a,
               e->text, e->amount, ppm / 10000, e->amount2, b);
        if (e->amount3)
            printf(", %" PRIu64 " cr to %s as victim", e->amount3, b);
        printf(", %" PRIu64 " cr burned%s\n", e->amount4,
               (e->rating & 0x80000000u) ? "; jailed 1 h" : "");
        break;
    }
    case HIRE_EV_REJECTED:
        printf("%s rejects the result (rating 0) and files a dispute\n", b);
        break;
    case HIRE_EV_SPLIT:
        printf("arbiter splits the escrow: %" PRIu64 " cr back to %s, %s's %" PRIu64
               " cr collateral to %s\n",
               e->amount2, b, a, e->amount, b);
        break;
    case HIRE_EV_MISSED:
        printf("!! %s misses its deadline (promised %.1f s); %s cancels\n", a,
               (double)e->amount / 1000.0, b);
        break;
    case HIRE_EV_REFUND:
        printf("escrow refunded: %" PRIu64 " cr back to %s, %" PRIu64 " cr collateral back to %s\n",
               e->amount, b, e->amount2, a);
        break;
    case HIRE_EV_REPUTATION:
        printf("%s's reputation %.2f -> %.2f (%s)\n", a, ppm_f(e->amount), ppm_f(e->amount2),
               e->text);
        break;
    default:
        putchar('\n');
        break;
    }
}

static void on_event(const hire_event *e, void *ctx)
{
    out_ctx *o = ctx;
    if (o->mode == MODE_JSON && o->emit_events)
        print_json_event(o, e);
    else if (o->mode == MODE_TEXT && o->emit_events) {
        if (e->kind == HIRE_EV_AGENT && e->agent >= 24)
            return;
        print_text_event(e);
    }
}

static void on_progress(uint32_t done, uint32_t total, void *ctx)
{
    out_ctx *o = ctx;
    if (!o->progress)
        return;
    uint32_t step = o->tty ? 1 : 10;
    uint32_t pct = (uint32_t)((uint64_t)done * 100 / total);
    if (pct / step == o->last_pct / step && done != total)
        return;
    o->last_pct = pct;
    fprintf(stderr, "%srun %d/2: %u/%u tasks (%u%%)%s", o->tty ? "\r" : "", o->run, done, total,
            pct, o->tty && done != total ? "" : "\n");
    fflush(stderr);
}

static int usage(FILE *f)
{
    fprintf(f, "usage: cyberagent-hire [--agents N] [--tasks M] [--seed S] [--quiet | --json]\n"
               "  Agents hire agents in one process: signed cards, requests, bids, awards,\n"
               "  escrow, results, receipts, slashing and reputation, all checked.\n"
               "  Defaults: --agents 12 --tasks 30 --seed 1. Exit 0 when every check holds.\n");
    return f == stdout ? 0 : 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0' || *s == '-')
        return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v > max)
        return 0;
    *out = v;
    return 1;
}

static void print_row(const hire_agent_summary *a)
{
    printf("  %-8s %-8s %6" PRIu64 " cr %5" PRIu64 " cr %5" PRIu64 " cr %4u %5u ", a->name,
           a->role == HIRE_HIRER    ? "hirer"
           : a->role == HIRE_WORKER ? "worker"
                                    : "worker*",
           a->balance, a->bonded, a->slashed, a->won, a->completed);
    if (a->role == HIRE_HIRER)
        printf("%6s\n", "-");
    else
        printf("%6.2f\n", (double)a->reputation_ppm / 1e6);
}

static int by_won(const void *x, const void *y)
{
    const hire_agent_summary *a = x, *b = y;
    return (a->won < b->won) - (a->won > b->won);
}

/* Every agent when there are few; else the hirers in one line, the cheaters and the busiest
 * workers. */
static void print_table(hire_story *s, uint32_t n)
{
    printf("\nsummary (* = cheater):\n");
    printf("  %-8s %-8s %9s %8s %8s %4s %5s %6s\n", "agent", "role", "balance", "bonded", "slashed",
           "won", "done", "rep");
    hire_agent_summary *all = calloc(n, sizeof *all);
    if (all == NULL)
        return;
    for (uint32_t i = 0; i < n; i++)
        hire_story_agent(s, i, &all[i]);
    if (n <= 24) {
        for (uint32_t i = 0; i < n; i++)
            print_row(&all[i]);
        free(all);
        return;
    }
    uint32_t hirers = 0, workers = 0;
    uint64_t hb = 0;
    for (uint32_t i = 0; i < n; i++)
        if (all[i].role == HIRE_HIRER) {
            hirers++;
            hb += all[i].balance;
        } else {
            all[workers++] = all[i];
        }
    printf("  %u hirers hold %" PRIu64 " cr in all\n", hirers, hb);
    for (uint32_t i = 0; i < workers; i++)
        if (all[i].role != HIRE_WORKER)
            print_row(&all[i]);
    qsort(all, workers, sizeof *all, by_won);
    uint32_t shown = 0;
    for (uint32_t i = 0; i < workers && shown < 16; i++)
        if (all[i].role == HIRE_WORKER) {
            print_row(&all[i]);
            shown++;
        }
    printf("  ... %u more workers (--json lists every agent)\n", workers - shown);
    free(all);
}

int main(int argc, char **argv)
{
    hire_config cfg;
    hire_config_default(&cfg);
    int mode = MODE_TEXT;
    for (int i = 1; i < argc; i++) {
        uint64_t v = 0;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--quiet") == 0)
            mode = MODE_QUIET;
        else if (strcmp(a, "--json") == 0)
            mode = MODE_JSON;
        else if (strcmp(a, "--agents") == 0 &&
                 parse_u64(i + 1 < argc ? argv[++i] : NULL, 1000000, &v) && v >= 4)
            cfg.agents = (uint32_t)v;
        else if (strcmp(a, "--tasks") == 0 &&
                 parse_u64(i + 1 < argc ? argv[++i] : NULL, 1000000, &v))
            cfg.tasks = (uint32_t)v;
        else if (strcmp(a, "--seed") == 0 &&
                 parse_u64(i + 1 < argc ? argv[++i] : NULL, UINT64_MAX, &v))
            cfg.seed = v;
        else {
            fprintf(stderr, "cyberagent-hire: bad argument '%s'\n", a);
            return usage(stderr);
        }
    }
    if (ca_init() != CA_OK) {
        fprintf(stderr, "cyberagent-hire: %s\n", ca_last_error());
        return 1;
    }

    static out_ctx o;
    memset(&o, 0, sizeof o);
    o.mode = mode;
    o.first_event = 1;
    o.emit_events = mode == MODE_JSON ? cfg.tasks <= 5000 : mode == MODE_TEXT && cfg.tasks <= 2000;
    o.progress = cfg.tasks >= 2000;
    o.tty = isatty(STDERR_FILENO);
    cfg.on_event = on_event;
    cfg.on_progress = on_progress;
    cfg.ctx = &o;

    if (mode == MODE_TEXT) {
        printf("libcyberagent hiring demo: %u agents, %u tasks, seed %" PRIu64 "\n\n", cfg.agents,
               cfg.tasks, cfg.seed);
        if (o.emit_events)
            printf("agents (cards signed and verified, funds minted, stake bonded):\n");
    } else if (mode == MODE_JSON) {
        printf("{\n  \"agents_n\": %u, \"tasks_n\": %u, \"seed\": %" PRIu64 ",\n  \"events\": [",
               cfg.agents, cfg.tasks, cfg.seed);
    }

    /* Run 1: the story, told. */
    o.run = 1;
    hire_story *s = NULL;
    ca_status st = hire_story_new(&s, &cfg);
    if (st != CA_OK) {
        fprintf(stderr, "cyberagent-hire: setup failed: %s\n", ca_status_str(st));
        return 1;
    }
    if (mode == MODE_TEXT && o.emit_events)
        printf("\ntimeline (simulated clock, amounts in cr; routing explores, so each award's\n"
               "reputation term is a Beta sample drawn from the worker's record):\n");
    st = hire_story_run(s, cfg.tasks);
    hire_totals tot;
    memset(&tot, 0, sizeof tot);
    if (st == CA_OK)
        st = hire_story_totals(s, &tot);
    uint8_t *fp1 = NULL, *fp2 = NULL;
    size_t fp1_len = 0, fp2_len = 0;
    if (st == CA_OK)
        st = hire_story_fingerprint(s, &fp1, &fp1_len);

    /* Run 2: the same seed, silently; it must end in the same state. */
    int same = 0;
    ca_hash hash2;
    memset(&hash2, 0, sizeof hash2);
    if (st == CA_OK) {
        hire_config quiet = cfg;
        quiet.on_event = NULL;
        o.run = 2;
        o.last_pct = 0;
        hire_story *s2 = NULL;
        hire_totals tot2;
        ca_status st2 = hire_story_new(&s2, &quiet);
        if (st2 == CA_OK)
            st2 = hire_story_run(s2, cfg.tasks);
        if (st2 == CA_OK)
            st2 = hire_story_totals(s2, &tot2);
        if (st2 == CA_OK)
            st2 = hire_story_fingerprint(s2, &fp2, &fp2_len);
        if (st2 == CA_OK) {
            hash2 = tot2.state_hash;
            same = memcmp(&hash2, &tot.state_hash, sizeof hash2) == 0 && fp1_len == fp2_len &&
                   memcmp(fp1, fp2, fp1_len) == 0;
        }
        hire_story_free(s2);
    }
    free(fp1);
    free(fp2);

    char hash_hex[2 * CA_HASH_BYTES + 1];
    for (size_t i = 0; i < CA_HASH_BYTES; i++)
        (void)snprintf(hash_hex + 2 * i, 3, "%02x", tot.state_hash.bytes[i]);
    int ok = st == CA_OK && tot.open == 0 && tot.settled_ok && tot.ledger_ok && same &&
             tot.completed + tot.refunded + tot.slashed == cfg.tasks;

    uint32_t n = hire_story_agent_count(s);
    if (mode == MODE_JSON) {
        printf("\n  ],\n  \"agents\": [");
        for (uint32_t i = 0; i < n; i++) {
            hire_agent_summary a;
            hire_story_agent(s, i, &a);
            printf("%s\n    {\"name\": ", i ? "," : "");
            json_str(a.name);
            printf(", \"did\": ");
            json_str(a.did);
            printf(", \"role\": \"%s\", \"balance\": %" PRIu64 ", \"bonded\": %" PRIu64
                   ", \"slashed\": %" PRIu64 ", \"won\": %u, \"completed\": %u, \"offences\": %u"
                   ", \"won_after_offence\": %u, \"reputation\": %.4f, \"global_trust\": %.6f}",
                   a.role == HIRE_HIRER         ? "hirer"
                   : a.role == HIRE_EQUIVOCATOR ? "equivocator"
                   : a.role == HIRE_LATECOMER   ? "latecomer"
                                                : "worker",
                   a.balance, a.bonded, a.slashed, a.won, a.completed, a.offences,
                   a.won_after_offence, ppm_f(a.reputation_ppm), a.global);
        }
        printf("\n  ],\n  \"totals\": {\"tasks\": %u, \"completed\": %u, \"refunded\": %u, "
               "\"slashed\": %u, \"open\": %u, \"minted\": %" PRIu64 ", \"burned\": %" PRIu64
               ", \"signatures\": %" PRIu64 ", \"verifications\": %" PRIu64 "},\n",
               tot.tasks, tot.completed, tot.refunded, tot.slashed, tot.open, tot.minted,
               tot.burned, tot.signs, tot.verifies);
        printf("  \"checks\": {\"all_settled\": %s, \"ledger_check\": %s, \"same_state_on_rerun\": "
               "%s},\n  \"state_hash\": \"%s\",\n  \"events_included\": %s,\n  \"ok\": %s\n}\n",
               tot.settled_ok && tot.open == 0 ? "true" : "false", tot.ledger_ok ? "true" : "false",
               same ? "true" : "false", hash_hex, o.emit_events ? "true" : "false",
               ok ? "true" : "false");
    } else if (mode == MODE_TEXT) {
        print_table(s, n);
        for (uint32_t i = 0; i < n; i++) {
            hire_agent_summary a;
            hire_story_agent(s, i, &a);
            if (a.offences == 0)
                continue;
            printf("  %s cheated %u time%s: slashed %" PRIu64 " cr, reputation %.2f, won %u "
                   "task%s after the first offence\n",
                   a.name, a.offences, a.offences == 1 ? "" : "s", a.slashed,
                   ppm_f(a.reputation_ppm), a.won_after_offence,
                   a.won_after_offence == 1 ? "" : "s");
        }
        printf("\nchecks:\n");
        printf("  [%s] every task settled: %u completed, %u refunded, %u slashed, %u open\n",
               tot.settled_ok && tot.open == 0 ? "ok" : "FAIL", tot.completed, tot.refunded,
               tot.slashed, tot.open);
        printf("  [%s] ledger invariants (ca_ledger_check): %" PRIu64 " cr minted = balances + "
               "stake + %" PRIu64 " cr burned\n",
               tot.ledger_ok ? "ok" : "FAIL", tot.minted, tot.burned);
        printf("  [%s] same state on a second run with seed %" PRIu64 ": ledger state hash "
               "%.16s…\n",
               same ? "ok" : "FAIL", cfg.seed, hash_hex);
        uint32_t cheats = 0, after = 0;
        for (uint32_t i = 0; i < n; i++) {
            hire_agent_summary a;
            hire_story_agent(s, i, &a);
            cheats += a.offences > 0;
            after += a.won_after_offence;
        }
        if (cheats > 0)
            printf("  [%s] awards to cheaters after their offence: %u (informational: reputation "
                   "and stake steer routing away)\n",
                   after == 0 ? "ok" : "--", after);
        printf("  %" PRIu64 " signatures made and %" PRIu64 " checked\n", tot.signs, tot.verifies);
    }
    if (mode == MODE_QUIET)
        printf("%s: %u tasks (%u completed, %u refunded, %u slashed), ledger %s, rerun %s, "
               "state %.16s\n",
               ok ? "ok" : "FAILED", tot.tasks, tot.completed, tot.refunded, tot.slashed,
               tot.ledger_ok ? "ok" : "BROKEN", same ? "identical" : "DIFFERENT", hash_hex);
    hire_story_free(s);
    return ok ? 0 : 1;
}
