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

int cli_key_option(int argc, char **argv, int *i, cli_key_source *src)
{
    const char *a = argv[*i];
    const char **slot = NULL;
    if (strcmp(a, "--key") == 0)
        slot = &src->key_path;
    else if (strcmp(a, "--seed-file") == 0)
        slot = &src->seed_file;
    else if (strcmp(a, "--seed-env") == 0)
        slot = &src->seed_env;
    else if (strcmp(a, "--seed") != 0)
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *i += 1;
    if (slot != NULL)
        *slot = argv[*i];
    else
        src->seed_arg = argv[*i];
    return 1;
}

int cli_key_source_count(const cli_key_source *src)
{
    return (src->key_path != NULL) + (src->seed_file != NULL) + (src->seed_env != NULL) +
           (src->seed_arg != NULL);
}

/* Hex text of a seed, surrounding whitespace allowed. */
#define SEED_TEXT_MAX 256

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Decodes `len` bytes of text holding exactly 2 * CA_SEED_BYTES hex digits,
 * with optional whitespace around them. 0 on success.
 */
static int seed_from_text(const char *text, size_t len, uint8_t seed[CA_SEED_BYTES])
{
    while (len > 0 && is_space(text[len - 1]))
        len--;
    while (len > 0 && is_space(*text)) {
        text++;
        len--;
    }
    char hex[2 * CA_SEED_BYTES + 1];
    if (len != 2 * CA_SEED_BYTES)
        return -1;
    memcpy(hex, text, len);
    hex[len] = '\0';
    int rc = cli_hex_decode(hex, seed, CA_SEED_BYTES);
    ca_wipe(hex, sizeof hex);
    return rc;
}

/* Reads at most SEED_TEXT_MAX bytes of seed text from fd; -1 when there are more. */
static ssize_t read_seed_text(int fd, char *buf)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, SEED_TEXT_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return (ssize_t)len;
        len += (size_t)n;
        if (len > SEED_TEXT_MAX) {
            errno = EFBIG;
            return -1;
        }
    }
}

/* The seed from a file or standard input ("-"). 0 on success (else reported). */
static int seed_from_file(const char *cmd, const char *path, const char *stdin_busy,
                          uint8_t seed[CA_SEED_BYTES])
{
    int fd = STDIN_FILENO;
    const char *name = "standard input";
    if (strcmp(path, "-") == 0) {
        if (stdin_busy != NULL)
            return cli_error(cmd, "--seed-file -: standard input already carries %s", stdin_busy);
    } else {
        name = path;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_error(cmd, "cannot open seed file %s: %s", path, strerror(errno));
    }
    char text[SEED_TEXT_MAX + 1];
    ssize_t n = read_seed_text(fd, text);
    int e = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    int rc = 0;
    if (n < 0)
        rc = cli_error(cmd, "cannot read the seed from %s: %s", name,
                       e == EFBIG ? "more than a seed's worth of text" : strerror(e));
    else if (seed_from_text(text, (size_t)n, seed) != 0)
        rc = cli_error(cmd, "%s must hold exactly %u hex digits (the secret seed)", name,
                       2 * CA_SEED_BYTES);
    ca_wipe(text, sizeof text);
    return rc;
}

ca_identity *cli_load_identity(const char *cmd, const cli_key_source *src, const char *stdin_busy)
{
    ca_identity *id = NULL;
    ca_status st;
    if (src->key_path == NULL) {
        uint8_t seed[CA_SEED_BYTES];
        int rc = 0;
        if (src->seed_file != NULL) {
            rc = seed_from_file(cmd, src->seed_file, stdin_busy, seed);
        } else if (src->seed_env != NULL) {
            const char *v = getenv(src->seed_env);
            if (v == NULL)
                rc =
                    cli_error(cmd, "--seed-env: environment variable %s is not set", src->seed_env);
            else if (seed_from_text(v, strlen(v), seed) != 0)
                rc = cli_error(cmd, "--seed-env: %s must hold exactly %u hex digits", src->seed_env,
                               2 * CA_SEED_BYTES);
        } else {
            fprintf(stderr,
                    "cyberagent %s: warning: --seed puts the secret seed on the command line, "
                    "where every local user can read it; use it for published test vectors only "
                    "(else --seed-file or --seed-env)\n",
                    cmd);
            rc = seed_from_text(src->seed_arg, strlen(src->seed_arg), seed);
            /* Blank the digits in argv: `ps` shows them no longer (it did until now). */
            ca_wipe(src->seed_arg, strlen(src->seed_arg));
            if (rc != 0)
                rc = cli_error(cmd, "--seed needs exactly %u hex digits", 2 * CA_SEED_BYTES);
        }
        if (rc != 0) {
            ca_wipe(seed, sizeof seed);
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
    st = ca_identity_load(&id, src->key_path, pass, strlen(pass), NULL);
    ca_wipe(pass, PASS_MAX);
    free(pass);
    if (st != CA_OK)
        cli_status_error(cmd, src->key_path, st);
    return id;
}

/* Reads FILE (or stdin when NULL or "-") up to cap bytes. */
int cli_read_input(const char *cmd, const char *path, size_t cap, uint8_t **out, size_t *len)
{
    if (path == NULL || strcmp(path, "-") == 0)
        return cli_read_stdin(cmd, cap, out, len);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_error(cmd, "cannot open %s", path);
    uint8_t *buf = malloc(cap + 1);
    size_t n = buf != NULL ? fread(buf, 1, cap + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > cap;
    fclose(f);
    if (bad) {
        free(buf);
        return cli_error(cmd, "cannot read %s (or it exceeds %zu bytes)", path, cap);
    }
    *out = buf;
    *len = n;
    return 0;
}
