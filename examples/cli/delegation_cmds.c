/* cyberagent delegate / revoke / chain, and inspect's typed fields of both messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DELEGATION_FILE_MAX 4096u /* a delegation is at most about 1.5 KB */
#define DEFAULT_TTL_MS      86400000u

static uint64_t clock_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int now_of(const char *cmd, const char *s, uint64_t *now)
{
    if (s != NULL)
        return cli_parse_u64(s, now) == 0
                   ? 0
                   : cli_error(cmd, "--now must be milliseconds since the Unix epoch");
    *now = clock_now_ms();
    return *now != 0 ? 0 : cli_error(cmd, "cannot read the clock; pass --now MS");
}

/* A number option: 0 when absent (keeps *out), -1 (reported) when malformed. */
static int u64_option(const char *cmd, const char *name, const char *s, uint64_t *out)
{
    if (s == NULL || cli_parse_u64(s, out) == 0)
        return 0;
    cli_error(cmd, "%s must be a decimal number", name);
    return -1;
}

static int read_file(const char *cmd, const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_error(cmd, "cannot open %s", path);
    uint8_t *buf = malloc(DELEGATION_FILE_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, DELEGATION_FILE_MAX + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > DELEGATION_FILE_MAX;
    fclose(f);
    if (bad) {
        free(buf);
        return cli_error(cmd, "cannot read %s (or it exceeds %u bytes)", path, DELEGATION_FILE_MAX);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* A nonce nobody else picks: 8 bytes of /dev/urandom. */
static int random_nonce(uint64_t *out)
{
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL)
        return -1;
    int ok = fread(out, sizeof *out, 1, f) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

int cmd_delegate(int argc, char **argv)
{
    const char *to = NULL, *total_s = NULL, *task_s = NULL, *nb_s = NULL, *exp_s = NULL;
    const char *ttl_s = NULL, *now_s = NULL, *parent_s = NULL, *nonce_s = NULL;
    const char *caps[CA_DELEGATION_CAPABILITIES_MAX + 1];
    size_t ncaps = 0;
    cli_key_source src = {0};
    for (int i = 0; i < argc; i++) {
        const char **slot = NULL;
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        if (k == 0 && strcmp(argv[i], "--to") == 0)
            slot = &to;
        else if (strcmp(argv[i], "--total") == 0)
            slot = &total_s;
        else if (strcmp(argv[i], "--per-task") == 0)
            slot = &task_s;
        else if (strcmp(argv[i], "--not-before") == 0)
            slot = &nb_s;
        else if (strcmp(argv[i], "--expires") == 0)
            slot = &exp_s;
        else if (strcmp(argv[i], "--ttl") == 0)
            slot = &ttl_s;
        else if (strcmp(argv[i], "--now") == 0)
            slot = &now_s;
        else if (strcmp(argv[i], "--parent") == 0)
            slot = &parent_s;
        else if (strcmp(argv[i], "--nonce") == 0)
            slot = &nonce_s;
        else if (strcmp(argv[i], "--cap") == 0 && ncaps <= CA_DELEGATION_CAPABILITIES_MAX)
            slot = &caps[ncaps];
        if (slot != NULL && (*slot = cli_value(argc, argv, &i)) != NULL) {
            if (slot == &caps[ncaps])
                ncaps++;
            continue;
        }
        cli_error("delegate", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) != 1) {
        cli_error("delegate", "give exactly one of " CLI_KEY_OPTIONS);
        return CLI_USAGE;
    }
    if (to == NULL || ncaps == 0 || total_s == NULL) {
        cli_error("delegate", "give --to DID, at least one --cap PATTERN and --total UNITS");
        return CLI_USAGE;
    }
    if (exp_s != NULL && ttl_s != NULL) {
        cli_error("delegate", "give --expires or --ttl, not both");
        return CLI_USAGE;
    }
    uint64_t now = 0, total = 0, task = 0, nb = 0, exp = 0, ttl = DEFAULT_TTL_MS, nonce = 0;
    if (now_of("delegate", now_s, &now) != 0 ||
        u64_option("delegate", "--total", total_s, &total) != 0)
        return CLI_FAIL;
    task = total;
    nb = now;
    if (u64_option("delegate", "--per-task", task_s, &task) != 0 ||
        u64_option("delegate", "--not-before", nb_s, &nb) != 0 ||
        u64_option("delegate", "--expires", exp_s, &exp) != 0 ||
        u64_option("delegate", "--ttl", ttl_s, &ttl) != 0 ||
        u64_option("delegate", "--nonce", nonce_s, &nonce) != 0)
        return CLI_FAIL;
    if (exp_s == NULL) {
        if (ttl == 0 || nb > UINT64_MAX - ttl)
            return cli_error("delegate", "--ttl must be positive and --not-before + --ttl fit");
        exp = nb + ttl;
    }
    if (nonce_s == NULL && random_nonce(&nonce) != 0)
        return cli_error("delegate", "cannot read /dev/urandom for a nonce; pass --nonce N");

    ca_delegation_params p;
    ca_status st = ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION);
    if (st != CA_OK)
        return cli_status_error("delegate", "params", st);
    ca_agent_id audience;
    if ((st = ca_did_parse(to, strlen(to), &audience)) != CA_OK)
        return cli_status_error("delegate", "--to", st);
    ca_hash parent;
    if (parent_s != NULL) {
        if (cli_hex_decode(parent_s, parent.bytes, sizeof parent.bytes) != 0)
            return cli_error("delegate", "--parent needs the parent's id, %u hex digits",
                             2 * CA_HASH_BYTES);
        p.parent = &parent;
    }
    p.audience = &audience;
    p.capabilities = caps;
    p.capability_count = ncaps;
    p.total_cap = total;
    p.task_cap = task;
    p.not_before = nb;
    p.expires_at = exp;
    p.nonce = nonce;
    p.created_at = now;

    ca_identity *issuer = cli_load_identity("delegate", &src, NULL);
    if (issuer == NULL)
        return CLI_FAIL;
    uint8_t out[DELEGATION_FILE_MAX];
    size_t len = 0;
    st = ca_delegation_sign(issuer, &p, out, sizeof out, &len, NULL);
    ca_identity_free(issuer);
    if (st != CA_OK)
        return cli_status_error("delegate", "cannot delegate", st);
    if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0)
        return cli_error("delegate", "cannot write standard output");
    return 0;
}

int cmd_revoke(int argc, char **argv)
{
    const char *now_s = NULL, *file = NULL;
    cli_key_source src = {0};
    for (int i = 0; i < argc; i++) {
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        if (k == 0 && strcmp(argv[i], "--now") == 0 && (now_s = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (k == 0 && argv[i][0] != '-' && file == NULL) {
            file = argv[i];
            continue;
        }
        cli_error("revoke", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) != 1 || file == NULL) {
        cli_error("revoke", "give a DELEGATION file and exactly one of " CLI_KEY_OPTIONS);
        return CLI_USAGE;
    }
    uint64_t now;
    if (now_of("revoke", now_s, &now) != 0)
        return CLI_FAIL;
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_file("revoke", file, &data, &len) != 0)
        return CLI_FAIL;
    ca_delegation *d = NULL;
    ca_status st = ca_delegation_decode(&d, data, len);
    free(data);
    if (st != CA_OK)
        return cli_status_error("revoke", "not a delegation", st);
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    st = ca_delegation_get(d, &info);
    ca_delegation_free(d);
    if (st != CA_OK)
        return cli_status_error("revoke", "delegation", st);
    /* Kept until the delegation's expiry, when it is dead anyway (later if signed after it). */
    uint64_t expires = info.expires_at > now ? info.expires_at : now + 1;
    ca_identity *revoker = cli_load_identity("revoke", &src, NULL);
    if (revoker == NULL)
        return CLI_FAIL;
    uint8_t out[DELEGATION_FILE_MAX];
    size_t out_len = 0;
    st = ca_revocation_sign(revoker, &info.id, now, expires, out, sizeof out, &out_len, NULL);
    ca_identity_free(revoker);
    if (st != CA_OK)
        return cli_status_error("revoke", "cannot revoke", st);
    if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0)
        return cli_error("revoke", "cannot write standard output");
    return 0;
}

int cmd_chain(int argc, char **argv)
{
    const char *now_s = NULL;
    const char *files[CA_DELEGATION_MAX_DEPTH + 1], *revoked[64];
    size_t nfiles = 0, nrevoked = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--now") == 0 && (now_s = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (strcmp(argv[i], "--revoked") == 0 && nrevoked < 64 &&
            (revoked[nrevoked] = cli_value(argc, argv, &i)) != NULL) {
            nrevoked++;
            continue;
        }
        if (argv[i][0] != '-' && nfiles <= CA_DELEGATION_MAX_DEPTH) {
            files[nfiles++] = argv[i];
            continue;
        }
        cli_error("chain", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (nfiles == 0) {
        cli_error("chain", "give the chain's delegation files, root first");
        return CLI_USAGE;
    }
    uint64_t now;
    if (now_of("chain", now_s, &now) != 0)
        return CLI_FAIL;
    ca_revocation_set *set = NULL;
    ca_status st = ca_revocation_set_new(&set, 64);
    if (st != CA_OK)
        return cli_status_error("chain", "revocation set", st);
    int rc = 0;
    for (size_t i = 0; i < nrevoked && rc == 0; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (read_file("chain", revoked[i], &data, &len) != 0) {
            rc = CLI_FAIL;
        } else if ((st = ca_revocation_set_add(set, data, len)) != CA_OK) {
            rc = cli_error("chain", "%s: %s: %s", revoked[i], ca_status_str(st), ca_last_error());
        }
        free(data);
    }
    ca_delegation *chain[CA_DELEGATION_MAX_DEPTH + 1] = {0};
    for (size_t i = 0; i < nfiles && rc == 0; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (read_file("chain", files[i], &data, &len) != 0)
            rc = CLI_FAIL;
        else if ((st = ca_delegation_decode(&chain[i], data, len)) != CA_OK)
            rc = cli_error("chain", "%s: %s: %s", files[i], ca_status_str(st), ca_last_error());
        free(data);
    }
    ca_delegation_chain_info info = {.version = CA_DELEGATION_CHAIN_INFO_VERSION};
    if (rc == 0) {
        ca_delegation_verify_options o;
        st = ca_delegation_verify_options_init(&o, CA_DELEGATION_VERIFY_OPTIONS_VERSION);
        o.revocations = set;
        if (st == CA_OK)
            st = ca_delegation_chain_verify((const ca_delegation *const *)chain, nfiles, now, &o,
                                            &info);
        if (st != CA_OK)
            rc = cli_status_error("chain", "invalid chain", st);
    }
    if (rc == 0) {
        char did[CA_DID_MAX_CHARS + 1];
        cli_did(&info.delegator, did);
        printf("delegator %s\n", did);
        cli_did(&info.delegate, did);
        printf("delegate %s\ndepth %zu\n", did, info.depth);
        printf("total_cap %llu\ntask_cap %llu\nnot_before %llu\nexpires_at %llu\n",
               (unsigned long long)info.total_cap, (unsigned long long)info.task_cap,
               (unsigned long long)info.not_before, (unsigned long long)info.expires_at);
        for (size_t k = 0; ca_delegation_capability(chain[nfiles - 1], k) != NULL; k++)
            printf("capability %s\n", ca_delegation_capability(chain[nfiles - 1], k));
        if (fflush(stdout) != 0)
            rc = cli_error("chain", "cannot write standard output");
    }
    for (size_t i = 0; i < nfiles; i++)
        ca_delegation_free(chain[i]);
    ca_revocation_set_free(set);
    return rc;
}

/* inspect: the typed fields of a delegation or a revocation, as JSON members. */
void cli_delegation_json(const ca_envelope *env)
{
    uint8_t buf[DELEGATION_FILE_MAX];
    size_t len = 0;
    if (ca_envelope_encoded(env, buf, sizeof buf, &len) != CA_OK) {
        printf("  \"delegation_status\": \"%s\",\n", ca_status_str(CA_ERR_LIMIT));
        return;
    }
    if (ca_envelope_kind(env) == CA_KIND_REVOCATION) {
        ca_revocation_info ri = {.version = CA_REVOCATION_INFO_VERSION};
        ca_status st = ca_revocation_decode(buf, len, &ri);
        if (st != CA_OK) {
            printf("  \"revocation_status\": \"%s\",\n", ca_status_str(st));
            return;
        }
        printf("  \"revokes\": \"");
        cli_hex_print(ri.delegation.bytes, sizeof ri.delegation.bytes);
        printf("\",\n  \"revocation_signature\": \"%s\",\n",
               ca_status_str(ca_revocation_open(buf, len, &ri)));
        return;
    }
    ca_delegation *d = NULL;
    ca_status st = ca_delegation_decode(&d, buf, len);
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    if (st == CA_OK)
        st = ca_delegation_get(d, &info);
    if (st != CA_OK) {
        printf("  \"delegation_status\": \"%s\",\n", ca_status_str(st));
        ca_delegation_free(d);
        return;
    }
    printf("  \"delegation\": {\"capabilities\": [");
    for (size_t k = 0; k < info.capability_count; k++)
        printf("%s\"%s\"", k > 0 ? ", " : "", ca_delegation_capability(d, k));
    printf("], \"total_cap\": %llu, \"task_cap\": %llu, \"not_before\": %llu, \"expires_at\": "
           "%llu, \"nonce\": %llu},\n",
           (unsigned long long)info.total_cap, (unsigned long long)info.task_cap,
           (unsigned long long)info.not_before, (unsigned long long)info.expires_at,
           (unsigned long long)info.nonce);
    ca_delegation_free(d);
    /* Its own signature check: a delegation is not held to the envelope lifetime ("valid"). */
    d = NULL;
    printf("  \"delegation_signature\": \"%s\",\n",
           ca_status_str(ca_delegation_open(&d, buf, len)));
    ca_delegation_free(d);
}
