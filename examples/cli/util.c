/* cyberagent CLI — helpers: errors, parsing, hex, stdin, passphrases, identities. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define PASS_MAX 1024

int cli_error(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, whatever the message holds. */
    for (char *p = msg; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "cyberagent %s: %s\n", cmd, msg);
    return CLI_FAIL;
}

int cli_status_error(const char *cmd, const char *what, ca_status st)
{
    return cli_error(cmd, "%s: %s: %s", what, ca_status_str(st), ca_last_error());
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        return NULL;
    *i += 1;
    return argv[*i];
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    uint64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (strlen(hex) != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

void cli_hex_print(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        printf("%02x", p[i]);
}

void cli_did(const ca_agent_id *id, char *out)
{
    size_t len = 0;
    if (ca_did_encode(id, out, CA_DID_MAX_CHARS + 1, &len) != CA_OK)
        out[0] = '\0'; /* cannot happen with a big enough buffer */
}

int cli_read_stdin(const char *cmd, size_t cap, uint8_t **out, size_t *out_len)
{
    /* Room for one byte past the cap, to tell "exactly cap" from "too long". */
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL)
        return cli_error(cmd, "out of memory");
    size_t len = 0;
    while (len <= cap) {
        ssize_t n = read(STDIN_FILENO, buf + len, cap + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return cli_error(cmd, "cannot read standard input: %s", strerror(errno));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > cap) {
        free(buf);
        return cli_error(cmd, "input is larger than %zu bytes", cap);
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static void tty_write(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* Reads one line from the terminal fd with echo off. 0 on success. */
static int prompt(int fd, const char *question, char *out, size_t cap)
{
    struct termios saved, quiet;
    int have_term = tcgetattr(fd, &saved) == 0;
    if (have_term) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    tty_write(fd, question);
    size_t len = 0;
    int rc = -1;
    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* end of input before a newline */
        if (c == '\n' || c == '\r') {
            rc = 0;
            break;
        }
        if (len + 1 < cap)
            out[len++] = c;
    }
    out[len] = '\0';
    if (have_term)
        (void)tcsetattr(fd, TCSAFLUSH, &saved);
    tty_write(fd, "\n");
    return rc;
}

char *cli_passphrase(const char *cmd, int confirm)
{
    char *pass = calloc(1, PASS_MAX);
    if (pass == NULL) {
        cli_error(cmd, "out of memory");
        return NULL;
    }
    const char *env = getenv("CA_PASSPHRASE");
    if (env != NULL) {
        if (strlen(env) >= PASS_MAX) {
            free(pass);
            cli_error(cmd, "CA_PASSPHRASE is longer than %d bytes", PASS_MAX - 1);
            return NULL;
        }
        memcpy(pass, env, strlen(env) + 1);
        return pass;
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) {
        free(pass);
        cli_error(cmd, "no passphrase: set CA_PASSPHRASE or run on a terminal");
        return NULL;
    }
    int ok = prompt(tty, "Passphrase: ", pass, PASS_MAX) == 0;
    if (ok && confirm) {
        char again[PASS_MAX];
        ok = prompt(tty, "Passphrase again: ", again, sizeof again) == 0;
        if (ok && strcmp(again, pass) != 0) {
            ok = 0;
            cli_error(cmd, "the passphrases differ");
        } else if (!ok) {
            cli_error(cmd, "no passphrase entered");
        }
        ca_wipe(again, sizeof again);
    } else if (!ok) {
        cli_error(cmd, "no passphrase entered");
    }
    close(tty);
    if (!ok) {
        ca_wipe(pass, PASS_MAX);
        free(pass);
        return NULL;
    }
    return pass;
}

ca_identity *cli_load_identity(const char *cmd, const char *seed_hex, const char *key_path)
{
    ca_identity *id = NULL;
    ca_status st;
    if (seed_hex != NULL) {
        uint8_t seed[CA_SEED_BYTES];
        if (cli_hex_decode(seed_hex, seed, sizeof seed) != 0) {
            cli_error(cmd, "--seed needs exactly %u hex digits", 2 * CA_SEED_BYTES);
            return NULL;
        }
        st = ca_identity_from_seed(&id, seed);
        ca_wipe(seed, sizeof seed);
        if (st != CA_OK)
            cli_status_error(cmd, "cannot derive the identity", st);
        return id;
    }
    char *pass = cli_passphrase(cmd, 0);
    if (pass == NULL)
        return NULL;
    st = ca_identity_load(&id, key_path, pass, strlen(pass), NULL);
    ca_wipe(pass, PASS_MAX);
    free(pass);
    if (st != CA_OK)
        cli_status_error(cmd, key_path, st);
    return id;
}
