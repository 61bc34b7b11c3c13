/* cyberagent keygen / id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* libsodium's crypto_pwhash "interactive" Argon2id cost: 2 passes, 64 MiB. */
#define FAST_KDF_OPS 2u
#define FAST_KDF_MEM (64u << 20)

int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    int force = 0, fast = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && (out = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (strcmp(argv[i], "--force") == 0) {
            force = 1;
            continue;
        }
        if (strcmp(argv[i], "--fast-kdf") == 0) {
            fast = 1;
            continue;
        }
        cli_error("keygen", "unexpected argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (out == NULL) {
        cli_error("keygen", "--out FILE is required");
        return CLI_USAGE;
    }
    if (!force && access(out, F_OK) == 0)
        return cli_error("keygen", "%s exists; refusing to overwrite it (use --force)", out);

    ca_keyfile_options opts;
    ca_status st = ca_keyfile_options_init(&opts, CA_KEYFILE_OPTIONS_VERSION);
    if (st != CA_OK)
        return cli_status_error("keygen", "options", st);
    if (fast) {
        opts.opslimit = FAST_KDF_OPS;
        opts.memlimit = FAST_KDF_MEM;
    }
    char *pass = cli_passphrase("keygen", 1);
    if (pass == NULL)
        return CLI_FAIL;
    ca_identity *id = NULL;
    st = ca_identity_generate(&id);
    if (st == CA_OK)
        st = ca_identity_save(id, out, pass, strlen(pass), &opts);
    ca_wipe(pass, strlen(pass));
    free(pass);
    if (st != CA_OK) {
        ca_identity_free(id);
        return cli_status_error("keygen", out, st);
    }
    ca_agent_id aid;
    ca_identity_id(id, &aid);
    ca_identity_free(id);
    char did[CA_DID_MAX_CHARS + 1];
    cli_did(&aid, did);
    printf("%s\n", did);
    return 0;
}

int cmd_id(int argc, char **argv)
{
    cli_key_source src = {0};
    for (int i = 0; i < argc; i++) {
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        cli_error("id", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) != 1) {
        cli_error("id", "give exactly one of " CLI_KEY_OPTIONS);
        return CLI_USAGE;
    }
    ca_identity *id = cli_load_identity("id", &src, NULL);
    if (id == NULL)
        return CLI_FAIL;
    ca_agent_id aid;
    ca_identity_id(id, &aid);
    ca_identity_free(id);
    char did[CA_DID_MAX_CHARS + 1];
    cli_did(&aid, did);
    printf("%s\n", did);
    return 0;
}
