/*
 * cyberagent card: signs an agent card and prints it as a signed A2A v1.0
 * Agent Card; `card --verify` checks one (docs/PROTOCOL.md, "Signed A2A
 * agent cards").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define DEFAULT_CARD_TTL_MS 86400000u /* a day: the verifiers' default maximum lifetime */

static uint64_t clock_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* NAME:PRICE[:LATENCY_MS] into cap (the name points into `spec`, which is modified). */
static int parse_cap(char *spec, ca_card_capability *cap)
{
    char *price = strchr(spec, ':');
    if (price == NULL)
        return -1;
    *price++ = '\0';
    char *lat = strchr(price, ':');
    if (lat != NULL)
        *lat++ = '\0';
    cap->name = spec;
    cap->latency_ms = 0;
    if (cli_parse_u64(price, &cap->price) != 0)
        return -1;
    if (lat != NULL && cli_parse_u64(lat, &cap->latency_ms) != 0)
        return -1;
    return 0;
}

static int card_verify(int argc, char **argv)
{
    const char *path = NULL, *key_did = NULL;
    int native = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--verify") == 0)
            continue;
        if (strcmp(argv[i], "--key-did") == 0 && (key_did = cli_value(argc, argv, &i)) != NULL)
            continue;
        if (strcmp(argv[i], "--native") == 0) {
            native = 1;
            continue;
        }
        if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0) {
            if (path == NULL) {
                path = argv[i];
                continue;
            }
        }
        cli_error("card", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    ca_a2a_verify_options opts;
    ca_status st = ca_a2a_verify_options_init(&opts, CA_A2A_VERIFY_OPTIONS_VERSION);
    if (st != CA_OK)
        return cli_status_error("card", "options", st);
    ca_agent_id key;
    if (key_did != NULL) {
        st = ca_did_parse(key_did, strlen(key_did), &key);
        if (st != CA_OK)
            return cli_status_error("card", "--key-did", st);
        opts.key = &key;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (cli_read_input("card", path, ca_a2a_json_max(), &data, &len) != 0)
        return CLI_FAIL;
    ca_a2a_card *card = NULL;
    st = ca_a2a_card_verify(&card, (const char *)data, len, &opts);
    free(data);
    if (st != CA_OK)
        return cli_status_error("card", "invalid A2A card", st);
    size_t n = 0;
    uint8_t *bytes = NULL;
    st = ca_a2a_card_native(card, NULL, 0, &n);
    if (st == CA_ERR_BUFFER_TOO_SMALL) {
        bytes = malloc(n);
        st = bytes == NULL ? CA_ERR_NO_MEMORY : ca_a2a_card_native(card, bytes, n, &n);
    }
    int rc = 0;
    if (native) {
        if (st != CA_OK)
            rc = cli_status_error("card", "no native card", st);
        else if (fwrite(bytes, 1, n, stdout) != n || fflush(stdout) != 0)
            rc = cli_error("card", "cannot write standard output");
    } else {
        ca_agent_id signer;
        char did[CA_DID_MAX_CHARS + 1];
        ca_a2a_card_signer(card, &signer);
        cli_did(&signer, did);
        printf("signer %s\nkid %s\nname %s\nversion %s\n", did, ca_a2a_card_kid(card),
               ca_a2a_card_name(card), ca_a2a_card_version(card));
        for (size_t i = 0; i < ca_a2a_card_interface_count(card); i++)
            printf("interface %s %s %s\n", ca_a2a_card_interface_url(card, i),
                   ca_a2a_card_interface_binding(card, i),
                   ca_a2a_card_interface_protocol_version(card, i));
        for (size_t i = 0; i < ca_a2a_card_skill_count(card); i++)
            printf("skill %s\n", ca_a2a_card_skill_id(card, i));
        printf("native %s\n", st == CA_OK ? "yes" : ca_status_str(st));
    }
    free(bytes);
    ca_a2a_card_free(card);
    return rc;
}

int cmd_card(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--verify") == 0)
            return card_verify(argc, argv);
    const char *name = NULL, *desc = NULL, *endpoint = NULL, *stake_s = NULL, *seq_s = NULL,
               *now_s = NULL, *ttl_s = NULL, *nb_s = NULL;
    cli_key_source src = {0};
    ca_card_capability caps[CA_CARD_CAPABILITIES_MAX];
    size_t ncaps = 0;
    for (int i = 0; i < argc; i++) {
        const char **slot = NULL;
        int k = cli_key_option(argc, argv, &i, &src);
        if (k > 0)
            continue;
        if (k == 0 && strcmp(argv[i], "--cap") == 0) {
            char *spec = (char *)cli_value(argc, argv, &i);
            if (spec == NULL)
                break;
            if (ncaps == CA_CARD_CAPABILITIES_MAX)
                return cli_error("card", "at most %u --cap options",
                                 (unsigned)CA_CARD_CAPABILITIES_MAX);
            if (parse_cap(spec, &caps[ncaps]) != 0) {
                cli_error("card", "--cap takes NAME:PRICE[:LATENCY_MS]");
                return CLI_USAGE;
            }
            ncaps++;
            continue;
        }
        if (k == 0 && strcmp(argv[i], "--name") == 0)
            slot = &name;
        else if (strcmp(argv[i], "--description") == 0)
            slot = &desc;
        else if (strcmp(argv[i], "--endpoint") == 0)
            slot = &endpoint;
        else if (strcmp(argv[i], "--stake") == 0)
            slot = &stake_s;
        else if (strcmp(argv[i], "--sequence") == 0)
            slot = &seq_s;
        else if (strcmp(argv[i], "--now") == 0)
            slot = &now_s;
        else if (strcmp(argv[i], "--not-before") == 0)
            slot = &nb_s;
        else if (strcmp(argv[i], "--ttl") == 0)
            slot = &ttl_s;
        if (slot != NULL && (*slot = cli_value(argc, argv, &i)) != NULL)
            continue;
        cli_error("card", "unexpected or incomplete argument '%s'", argv[i]);
        return CLI_USAGE;
    }
    if (cli_key_source_count(&src) != 1) {
        cli_error("card", "give exactly one of " CLI_KEY_OPTIONS);
        return CLI_USAGE;
    }
    if (name == NULL || endpoint == NULL || ncaps == 0) {
        cli_error("card", "--name, --endpoint and at least one --cap are required");
        return CLI_USAGE;
    }
    ca_card_params p;
    ca_status st = ca_card_params_init(&p, CA_CARD_PARAMS_VERSION);
    if (st != CA_OK)
        return cli_status_error("card", "params", st);
    uint64_t now = 0, ttl = DEFAULT_CARD_TTL_MS;
    if (now_s != NULL ? cli_parse_u64(now_s, &now) != 0 : (now = clock_ms()) == 0)
        return cli_error("card", "--now must be milliseconds since the Unix epoch");
    if (ttl_s != NULL && (cli_parse_u64(ttl_s, &ttl) != 0 || ttl == 0))
        return cli_error("card", "--ttl must be a positive number of milliseconds");
    if (now > UINT64_MAX - ttl)
        return cli_error("card", "--now plus --ttl overflows");
    p.not_before = now;
    if (nb_s != NULL && cli_parse_u64(nb_s, &p.not_before) != 0)
        return cli_error("card", "--not-before must be milliseconds since the Unix epoch");
    if (stake_s != NULL && cli_parse_u64(stake_s, &p.stake) != 0)
        return cli_error("card", "--stake must be a number of base units");
    if (seq_s != NULL && cli_parse_u64(seq_s, &p.sequence) != 0)
        return cli_error("card", "--sequence must be a number");
    p.name = name;
    p.description = desc;
    p.endpoint = endpoint;
    p.created_at = now;
    p.not_after = now + ttl;
    p.capabilities = caps;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = ncaps;
    ca_identity *signer = cli_load_identity("card", &src, NULL);
    if (signer == NULL)
        return CLI_FAIL;
    uint8_t env[16384];
    size_t env_len = 0;
    int rc = 0;
    ca_envelope *e = NULL;
    ca_card *card = NULL;
    char *json = NULL;
    ca_envelope_options eo;
    st = ca_card_sign(signer, &p, env, sizeof env, &env_len, NULL);
    if (st != CA_OK) {
        rc = cli_status_error("card", "cannot sign the card", st);
        goto done;
    }
    /* the card as a verifier reads it (its signature checked, any lifetime) */
    st = ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION);
    if (st == CA_OK) {
        eo.max_lifetime_ms = UINT64_MAX;
        st = ca_envelope_open(&e, env, env_len, now, &eo);
    }
    if (st == CA_OK)
        st = ca_card_parse(&card, e);
    size_t n = 0;
    if (st == CA_OK) {
        st = ca_card_to_a2a_signed_json(card, signer, NULL, 0, &n);
        if (st == CA_ERR_BUFFER_TOO_SMALL) {
            json = malloc(n + 1);
            st = json == NULL ? CA_ERR_NO_MEMORY
                              : ca_card_to_a2a_signed_json(card, signer, json, n + 1, &n);
        }
    }
    if (st != CA_OK)
        rc = cli_status_error("card", "cannot export the card", st);
    else if (printf("%s\n", json) < 0 || fflush(stdout) != 0)
        rc = cli_error("card", "cannot write standard output");
done:
    free(json);
    ca_card_free(card);
    ca_envelope_free(e);
    ca_identity_free(signer);
    return rc;
}
