/* cyberagent sign / verify / inspect: signed envelopes on stdin and stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* Defaults: an application kind (library kinds are below CA_KIND_APP_MIN), 1 hour. */
#define DEFAULT_KIND   CA_KIND_APP_MIN
#define DEFAULT_TTL_MS 3600000u

static uint64_t clock_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int write_stdout(const char *cmd, const uint8_t *p, size_t len)
{
    if (fwrite(p, 1, len, stdout) != len || fflush(stdout) != 0)
        return cli_error(cmd, "cannot write standard output");
    return 0;
}

int cmd_sign(int argc, char **argv)
{
    const char *to = NULL, *kind_s = NULL, *now_s = NULL, *ttl_s = NULL, *parent_s = NULL;
    cli_key_source src = {0};
    uint32_t flags = 0;
    for (int i = 0; i < argc; i++) {
        const char **slot = NULL;
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        if (k == 0 && strcmp(argv[i], "--to") == 0)
            slot = &to;
        else if (strcmp(argv[i], "--kind") == 0)
            slot = &kind_s;
        else if (strcmp(argv[i], "--now") == 0)
            slot = &now_s;
        else if (strcmp(argv[i], "--ttl") == 0)
            slot = &ttl_s;
        else if (strcmp(argv[i], "--parent") == 0)
            slot = &parent_s;
        if (slot != NULL && (*slot = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (strcmp(argv[i], "--compress") == 0) {
            flags |= CA_ENVELOPE_COMPRESS;
            continue;
        }
        if (strcmp(argv[i], "--seal") == 0) {
            flags |= CA_ENVELOPE_SEAL;
            continue;
        }
        cli_error("sign", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) != 1) {
        cli_error("sign", "give exactly one of " CLI_KEY_OPTIONS);
        return CLI_USAGE;
    }
    uint64_t kind = DEFAULT_KIND, now = 0, ttl = DEFAULT_TTL_MS;
    if (kind_s != NULL && (cli_parse_u64(kind_s, &kind) != 0 || kind == 0 || kind > UINT32_MAX))
        return cli_error("sign", "--kind must be a number from 1 to %lu",
                         (unsigned long)UINT32_MAX);
    if (now_s != NULL && cli_parse_u64(now_s, &now) != 0)
        return cli_error("sign", "--now must be milliseconds since the Unix epoch");
    if (now_s == NULL && (now = clock_ms()) == 0)
        return cli_error("sign", "cannot read the clock; pass --now MS");
    if (ttl_s != NULL && (cli_parse_u64(ttl_s, &ttl) != 0 || ttl == 0))
        return cli_error("sign", "--ttl must be a positive number of milliseconds");
    if (ttl > CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT)
        return cli_error("sign",
                         "--ttl may be at most %lu ms (a day): verifiers refuse envelopes that "
                         "live longer (CA_ERR_LIFETIME)",
                         (unsigned long)CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT);
    if (now > UINT64_MAX - ttl)
        return cli_error("sign", "--now plus --ttl overflows");
    if ((flags & CA_ENVELOPE_SEAL) && to == NULL)
        return cli_error("sign", "--seal needs a recipient (--to DID)");

    ca_envelope_params params;
    ca_status st = ca_envelope_params_init(&params, CA_ENVELOPE_PARAMS_VERSION);
    if (st != CA_OK)
        return cli_status_error("sign", "params", st);
    ca_agent_id recipient;
    if (to != NULL) {
        st = ca_did_parse(to, strlen(to), &recipient);
        if (st != CA_OK)
            return cli_status_error("sign", "--to", st);
        params.recipient = &recipient;
    }
    ca_hash parent;
    if (parent_s != NULL) {
        if (cli_hex_decode(parent_s, parent.bytes, sizeof parent.bytes) != 0)
            return cli_error("sign", "--parent needs %u hex digits", 2 * CA_HASH_BYTES);
        params.parent = &parent;
    }
    params.kind = (uint32_t)kind;
    params.created_at = now;
    params.expires_at = now + ttl;
    params.flags = flags;

    ca_envelope_options opts;
    st = ca_envelope_options_init(&opts, CA_ENVELOPE_OPTIONS_VERSION);
    if (st != CA_OK)
        return cli_status_error("sign", "options", st);
    ca_identity *signer = cli_load_identity("sign", &src, "the body to sign");
    if (signer == NULL)
        return CLI_FAIL;
    uint8_t *body = NULL, *out = NULL;
    size_t body_len = 0, out_len = 0;
    int rc = cli_read_stdin("sign", opts.max_body_bytes, &body, &body_len);
    if (rc == 0) {
        size_t cap = ca_envelope_bound(body_len);
        out = malloc(cap);
        if (out == NULL)
            rc = cli_error("sign", "out of memory");
        else if ((st = ca_envelope_sign(signer, &params, body, body_len, out, cap, &out_len,
                                        NULL)) != CA_OK)
            rc = cli_status_error("sign", "cannot sign", st);
        else
            rc = write_stdout("sign", out, out_len);
    }
    free(out);
    free(body);
    ca_identity_free(signer);
    return rc;
}

/* Reads the envelope from stdin (bounded by the decoder's own limit). */
static int read_envelope(const char *cmd, const ca_envelope_options *opts, uint8_t **data,
                         size_t *len)
{
    return cli_read_stdin(cmd, opts->max_envelope_bytes, data, len);
}

/* --max-lifetime MS (NULL: the default) into opts. */
static int parse_max_lifetime(const char *cmd, const char *s, ca_envelope_options *opts)
{
    uint64_t v;
    if (s == NULL)
        return 0;
    if (cli_parse_u64(s, &v) != 0 || v == 0)
        return cli_error(cmd, "--max-lifetime must be a positive number of milliseconds");
    opts->max_lifetime_ms = v;
    return 0;
}

static int parse_now(const char *cmd, const char *now_s, uint64_t *now)
{
    if (now_s != NULL)
        return cli_parse_u64(now_s, now) == 0
                   ? 0
                   : cli_error(cmd, "--now must be milliseconds since the Unix epoch");
    *now = clock_ms();
    return *now != 0 ? 0 : cli_error(cmd, "cannot read the clock; pass --now MS");
}

int cmd_verify(int argc, char **argv)
{
    const char *now_s = NULL, *life_s = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--now") == 0 && (now_s = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (strcmp(argv[i], "--max-lifetime") == 0 && (life_s = cli_value(argc, argv, &i)) != NULL)
            continue;
        cli_error("verify", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    uint64_t now;
    if (parse_now("verify", now_s, &now) != 0)
        return CLI_FAIL;
    ca_envelope_options opts;
    ca_status st = ca_envelope_options_init(&opts, CA_ENVELOPE_OPTIONS_VERSION);
    if (st != CA_OK)
        return cli_status_error("verify", "options", st);
    if (parse_max_lifetime("verify", life_s, &opts) != 0)
        return CLI_FAIL;
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_envelope("verify", &opts, &data, &len) != 0)
        return CLI_FAIL;
    ca_envelope *env = NULL;
    st = ca_envelope_open(&env, data, len, now, &opts);
    free(data);
    if (st != CA_OK)
        return cli_status_error("verify", "invalid envelope", st);
    ca_agent_id sender;
    ca_hash id;
    ca_envelope_sender(env, &sender);
    ca_envelope_id(env, &id);
    ca_envelope_free(env);
    char did[CA_DID_MAX_CHARS + 1];
    cli_did(&sender, did);
    printf("sender %s\nid ", did);
    cli_hex_print(id.bytes, sizeof id.bytes);
    printf("\n");
    return fflush(stdout) == 0 ? 0 : cli_error("verify", "cannot write standard output");
}

/* ---- JSON output ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static int is_utf8(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Prints valid UTF-8 as a JSON string. */
static void json_string(const uint8_t *p, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_hex(const char *name, const uint8_t *p, size_t len)
{
    printf("  \"%s\": \"", name);
    cli_hex_print(p, len);
    printf("\",\n");
}

int cmd_inspect(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "--events") == 0) {
        if (argc != 2) {
            cli_error("inspect", "usage: cyberagent inspect --events FILE");
            return CLI_USAGE;
        }
        return cli_inspect_events(argv[1]);
    }
    const char *now_s = NULL, *life_s = NULL;
    cli_key_source src = {0};
    for (int i = 0; i < argc; i++) {
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        if (k == 0 && strcmp(argv[i], "--now") == 0 && (now_s = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (k == 0 && strcmp(argv[i], "--max-lifetime") == 0 &&
            (life_s = cli_value(argc, argv, &i)) != NULL)
            continue;
        cli_error("inspect", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) > 1) {
        cli_error("inspect", "give at most one of " CLI_KEY_OPTIONS);
        return CLI_USAGE;
    }
    uint64_t now;
    if (parse_now("inspect", now_s, &now) != 0)
        return CLI_FAIL;
    ca_envelope_options opts;
    ca_status st = ca_envelope_options_init(&opts, CA_ENVELOPE_OPTIONS_VERSION);
    if (st != CA_OK)
        return cli_status_error("inspect", "options", st);
    if (parse_max_lifetime("inspect", life_s, &opts) != 0)
        return CLI_FAIL;
    ca_identity *reader = NULL;
    if (cli_key_source_count(&src) == 1 &&
        (reader = cli_load_identity("inspect", &src, "the envelope")) == NULL)
        return CLI_FAIL;
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_envelope("inspect", &opts, &data, &len) != 0) {
        ca_identity_free(reader);
        return CLI_FAIL;
    }
    ca_envelope *env = NULL;
    st = ca_envelope_decode(&env, data, len, &opts);
    free(data);
    if (st != CA_OK) {
        ca_identity_free(reader);
        return cli_status_error("inspect", "not an envelope", st);
    }

    /* Everything the output needs is gathered first, so a failure prints no partial JSON. */
    ca_status verdict = ca_envelope_verify(env, now, &opts);
    size_t body_len = 0;
    uint8_t *body = NULL;
    ca_status body_st = ca_envelope_body(env, reader, &opts, NULL, 0, &body_len);
    if (body_st == CA_ERR_BUFFER_TOO_SMALL) {
        body = malloc(body_len > 0 ? body_len : 1);
        body_st = body == NULL ? CA_ERR_NO_MEMORY
                               : ca_envelope_body(env, reader, &opts, body, body_len, &body_len);
    }

    char did[CA_DID_MAX_CHARS + 1];
    ca_agent_id who;
    ca_hash hash;
    ca_signature sig;
    uint32_t kind = ca_envelope_kind(env), flags = ca_envelope_flags(env);
    const char *kind_name = ca_kind_name(kind);
    printf("{\n  \"kind\": %lu,\n", (unsigned long)kind);
    if (kind_name != NULL)
        printf("  \"kind_name\": \"%s\",\n", kind_name);
    else
        printf("  \"kind_name\": null,\n");
    ca_envelope_sender(env, &who);
    cli_did(&who, did);
    printf("  \"sender\": \"%s\",\n", did);
    if (ca_envelope_recipient(env, &who)) {
        cli_did(&who, did);
        printf("  \"recipient\": \"%s\",\n", did);
    } else {
        printf("  \"recipient\": null,\n");
    }
    printf("  \"created_at\": %llu,\n", (unsigned long long)ca_envelope_created_at(env));
    printf("  \"expires_at\": %llu,\n", (unsigned long long)ca_envelope_expires_at(env));
    if (ca_envelope_parent(env, &hash))
        json_hex("parent", hash.bytes, sizeof hash.bytes);
    else
        printf("  \"parent\": null,\n");
    printf("  \"flags\": %lu,\n  \"compressed\": %s,\n  \"sealed\": %s,\n", (unsigned long)flags,
           (flags & CA_ENVELOPE_COMPRESS) ? "true" : "false",
           (flags & CA_ENVELOPE_SEAL) ? "true" : "false");
    ca_envelope_id(env, &hash);
    json_hex("id", hash.bytes, sizeof hash.bytes);
    ca_envelope_signature(env, &sig);
    json_hex("signature", sig.bytes, sizeof sig.bytes);
    printf("  \"encoded_bytes\": %zu,\n", len);
    printf("  \"valid\": %s,\n  \"status\": \"%s\",\n", verdict == CA_OK ? "true" : "false",
           ca_status_str(verdict));
    cli_typed_body_json(env, reader);
    ca_identity_free(reader);
    if (body_st == CA_OK) {
        printf("  \"body_bytes\": %zu,\n", body_len);
        json_hex("body_hex", body, body_len);
        printf("  \"body_text\": ");
        if (is_utf8(body, body_len))
            json_string(body, body_len);
        else
            printf("null");
        printf("\n}\n");
    } else {
        printf("  \"body_bytes\": null,\n  \"body_status\": \"%s\"\n}\n", ca_status_str(body_st));
    }
    free(body);
    ca_envelope_free(env);
    return fflush(stdout) == 0 ? 0 : cli_error("inspect", "cannot write standard output");
}
