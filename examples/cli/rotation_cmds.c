/*
 * cyberagent incept / rotate / inspect --events: key rotation with
 * pre-rotation (docs/IDENTITY.md, "Key rotation"; "Key rotation in the CLI").
 *
 * The history is a public text file, one key event a line in lowercase hex,
 * inception first. The next key is never stored with the current one: the
 * events commit to it by its public key (--next DID), and its secret is an
 * ordinary key file of its own (keygen), kept apart, which `rotate` takes as
 * its IDENTITY when the time comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define LINE_MAX_CHARS (2 * CA_KEY_EVENT_MAX_BYTES + 2)

/* Reads the history file into a key history; *out NULL on failure (reported). */
static ca_key_history *load_history(const char *cmd, const char *path, int print_json)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_error(cmd, "cannot open %s", path);
        return NULL;
    }
    ca_key_history *h = NULL;
    char line[LINE_MAX_CHARS + 2];
    unsigned long n = 0;
    int bad = 0;
    if (print_json)
        printf("[");
    while (!bad && fgets(line, sizeof line, f) != NULL) {
        size_t len = strcspn(line, "\r\n");
        if (line[len] == '\0' && !feof(f)) {
            bad = cli_error(cmd, "%s: line %lu is too long", path, n + 1);
            break;
        }
        line[len] = '\0';
        uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
        size_t evn = len / 2;
        if (len == 0 || len % 2 != 0 || evn > sizeof ev || cli_hex_decode(line, ev, evn) != 0) {
            bad = cli_error(cmd, "%s: line %lu is not the hex of a key event", path, n + 1);
            break;
        }
        ca_status st = n == 0 ? ca_key_history_new(&h, ev, evn) : ca_key_history_append(h, ev, evn);
        if (st != CA_OK) {
            char what[64];
            snprintf(what, sizeof what, "event %lu", n);
            bad = cli_status_error(cmd, what, st);
            break;
        }
        if (print_json) {
            ca_key_event_info info = {.version = CA_KEY_EVENT_INFO_VERSION};
            if (ca_key_event_open(ev, evn, &info) != CA_OK) {
                bad = cli_error(cmd, "event %lu does not reopen", n);
                break;
            }
            char did[CA_DID_MAX_CHARS + 1];
            cli_did(&info.key, did);
            printf("%s\n  {\"type\": \"%s\", \"sequence\": %llu, \"time\": %llu, \"key\": \"%s\", "
                   "\"identifier\": \"",
                   n == 0 ? "" : ",",
                   info.type == CA_KEY_EVENT_INCEPTION ? "inception" : "rotation",
                   (unsigned long long)info.sequence, (unsigned long long)info.time, did);
            cli_hex_print(info.identifier.bytes, CA_HASH_BYTES);
            printf("\", \"next\": \"");
            cli_hex_print(info.next.bytes, CA_HASH_BYTES);
            printf("\", \"digest\": \"");
            cli_hex_print(info.digest.bytes, CA_HASH_BYTES);
            printf("\"}");
        }
        n++;
    }
    fclose(f);
    if (!bad && n == 0)
        bad = cli_error(cmd, "%s holds no event", path);
    if (bad) {
        ca_key_history_free(h);
        return NULL;
    }
    if (print_json)
        printf("\n]\n");
    return h;
}

static int now_ms(const char *cmd, const char *now_s, uint64_t *now)
{
    if (now_s != NULL) {
        if (cli_parse_u64(now_s, now) != 0)
            return cli_error(cmd, "--now takes a decimal number of ms");
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return 0;
}

/* incept and rotate: same options. */
static int incept_or_rotate(const char *cmd, int argc, char **argv)
{
    const char *next_s = NULL, *hist = NULL, *now_s = NULL;
    cli_key_source src = {0};
    for (int i = 0; i < argc; i++) {
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        if (k == 0 && strcmp(argv[i], "--next") == 0 && (next_s = cli_value(argc, argv, &i)))
            continue;
        if (k == 0 && strcmp(argv[i], "--history") == 0 && (hist = cli_value(argc, argv, &i)))
            continue;
        if (k == 0 && strcmp(argv[i], "--now") == 0 && (now_s = cli_value(argc, argv, &i)))
            continue;
        cli_error(cmd, "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) != 1 || next_s == NULL || hist == NULL) {
        cli_error(cmd, "usage: cyberagent %s IDENTITY --next DID --history FILE [--now MS]", cmd);
        return CLI_USAGE;
    }
    int rotating = strcmp(cmd, "rotate") == 0;
    uint64_t now;
    if (now_ms(cmd, now_s, &now) != 0)
        return CLI_FAIL;
    ca_agent_id next;
    ca_status st = ca_did_parse(next_s, strlen(next_s), &next);
    if (st != CA_OK)
        return cli_status_error(cmd, "--next", st);
    ca_hash commit;
    if ((st = ca_key_commitment(&next, &commit)) != CA_OK)
        return cli_status_error(cmd, "commitment", st);
    ca_key_history *h = NULL;
    if (rotating) {
        if ((h = load_history(cmd, hist, 0)) == NULL)
            return CLI_FAIL;
    } else {
        FILE *probe = fopen(hist, "r");
        if (probe != NULL) {
            fclose(probe);
            return cli_error(cmd, "%s exists; an identity is incepted once", hist);
        }
    }
    ca_identity *id = cli_load_identity(cmd, &src, NULL);
    if (id == NULL) {
        ca_key_history_free(h);
        return CLI_FAIL;
    }
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t n = 0;
    st = rotating ? ca_key_event_rotate(h, id, &commit, now, ev, sizeof ev, &n)
                  : ca_key_event_incept(id, &commit, now, ev, sizeof ev, &n);
    ca_identity_free(id);
    if (st == CA_OK)
        st = rotating ? ca_key_history_append(h, ev, n) : ca_key_history_new(&h, ev, n);
    if (st != CA_OK) {
        ca_key_history_free(h);
        return cli_status_error(cmd, rotating ? "rotation" : "inception", st);
    }
    FILE *f = fopen(hist, "a");
    int bad = f == NULL;
    for (size_t i = 0; !bad && i < n; i++)
        bad = fprintf(f, "%02x", ev[i]) < 0;
    bad = bad || fputc('\n', f) == EOF;
    bad = (f != NULL && fclose(f) != 0) || bad;
    if (bad) {
        ca_key_history_free(h);
        return cli_error(cmd, "cannot append the event to %s", hist);
    }
    ca_hash hid;
    ca_key_history_id(h, &hid);
    printf("{\"identifier\": \"");
    cli_hex_print(hid.bytes, CA_HASH_BYTES);
    printf("\", \"sequence\": %llu}\n", (unsigned long long)ca_key_history_sequence(h));
    ca_key_history_free(h);
    return fflush(stdout) == 0 ? 0 : cli_error(cmd, "cannot write standard output");
}

int cmd_incept(int argc, char **argv)
{
    return incept_or_rotate("incept", argc, argv);
}

int cmd_rotate(int argc, char **argv)
{
    return incept_or_rotate("rotate", argc, argv);
}

int cli_inspect_events(const char *path)
{
    ca_key_history *h = load_history("inspect", path, 1);
    if (h == NULL)
        return CLI_FAIL;
    ca_key_history_free(h);
    return fflush(stdout) == 0 ? 0 : cli_error("inspect", "cannot write standard output");
}
