/*
 * cyberagent — command-line front end to libcyberagent, built on the public
 * API only. Run `cyberagent help` for the commands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: cyberagent COMMAND [OPTIONS]\n"
    "\n"
    "  keygen --out FILE [--force] [--fast-kdf]\n"
    "      new identity, saved encrypted to FILE; prints its did:key\n"
    "  id IDENTITY\n"
    "      prints the identity's did:key\n"
    "  sign IDENTITY [--kind N] [--to DID] [--now MS] [--ttl MS] [--parent HEX]\n"
    "       [--compress] [--seal]\n"
    "      signs the body read from stdin; writes the envelope to stdout\n"
    "      (defaults: kind 65536, the first application kind; now from the clock;\n"
    "      ttl 3600000, at most 86400000: a day, the verifiers' default maximum lifetime)\n"
    "  verify [--now MS] [--max-lifetime MS]\n"
    "      checks the envelope on stdin; prints the sender's did:key and the message id\n"
    "      (envelopes living longer than --max-lifetime, default 86400000, are refused)\n"
    "  inspect [--now MS] [--max-lifetime MS] [IDENTITY]\n"
    "      prints the envelope on stdin as JSON (typed fields for task messages, cards,\n"
    "      delegations and revocations)\n"
    "  evidence [FILE]\n"
    "      verifies equivocation evidence (FILE or stdin) offline; prints offender and task\n"
    "  thread [FILE]\n"
    "      re-verifies a serialized task thread (FILE or stdin); prints its state\n"
    "  card IDENTITY --name TEXT --endpoint TEXT --cap NAME:PRICE[:LATENCY_MS]...\n"
    "       [--description TEXT] [--stake N] [--sequence N] [--now MS] [--not-before MS]\n"
    "       [--ttl MS]\n"
    "      signs an agent card and prints it as a signed A2A v1.0 Agent Card (JSON, a JWS\n"
    "      by the identity's key; defaults: now from the clock, not-before now, ttl 86400000)\n"
    "  card --verify [FILE] [--key-did DID] [--native]\n"
    "      verifies a signed A2A v1.0 Agent Card (FILE or stdin; the key is the kid's\n"
    "      did:key, or DID); prints signer, kid, name, interfaces and skills, or with\n"
    "      --native writes the libcyberagent card it carries (an envelope) to stdout\n"
    "  incept IDENTITY --next DID --history FILE [--now MS]\n"
    "      starts a rotatable identity: writes its inception (signed by IDENTITY,\n"
    "      committing to the key DID) as the first line of FILE; prints its identifier\n"
    "  rotate IDENTITY --next DID --history FILE [--now MS]\n"
    "      IDENTITY is the pre-committed next key (its own key file, kept apart);\n"
    "      appends the rotation revealing it and committing to DID\n"
    "  inspect --events FILE\n"
    "      checks a key history file (one event a line, hex) and prints it as JSON\n"
    "  delegate IDENTITY --to DID --cap PATTERN [--cap PATTERN]... --total UNITS\n"
    "       [--per-task UNITS] [--not-before MS] [--expires MS | --ttl MS] [--parent ID]\n"
    "       [--nonce N] [--now MS]\n"
    "      signs a delegation to DID (capability patterns: a name, name.* or *; caps in\n"
    "      ledger units, per task default --total; window default now .. now + 86400000;\n"
    "      --parent: the hex id of the delegation it narrows); writes it to stdout\n"
    "  revoke IDENTITY [--now MS] DELEGATION\n"
    "      signs a revocation of the delegation in file DELEGATION; writes it to stdout\n"
    "  chain [--now MS] [--revoked FILE]... DELEGATION...\n"
    "      verifies a delegation chain (files root first) offline; prints what it grants\n"
    "\n"
    "IDENTITY is one of:\n"
    "  --key FILE        an encrypted key file; its passphrase comes from\n"
    "                    $CA_PASSPHRASE, or is asked for on the terminal\n"
    "  --seed-file FILE  a file holding the 32-byte secret seed as 64 hex digits\n"
    "                    (keep it mode 0600); FILE \"-\" reads them from stdin (id only)\n"
    "  --seed-env NAME   the environment variable NAME holds the 64 hex digits\n"
    "  --seed HEX        WARNING: the secret on the command line, readable by every\n"
    "                    local user (ps, /proc); for published test vectors only.\n"
    "                    Using it prints a warning on stderr.\n"
    "\n"
    "Times are milliseconds since the Unix epoch.\n"
    "Exit status: 0 success, 1 failure (one line on stderr, after the --seed\n"
    "warning if any), 2 usage error.\n";

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        {"keygen", cmd_keygen},     {"id", cmd_id},
        {"sign", cmd_sign},         {"verify", cmd_verify},
        {"inspect", cmd_inspect},   {"evidence", cmd_evidence},
        {"thread", cmd_thread},     {"card", cmd_card},
        {"incept", cmd_incept},     {"rotate", cmd_rotate},
        {"delegate", cmd_delegate}, {"revoke", cmd_revoke},
        {"chain", cmd_chain},
    };
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cyberagent %s\n", ca_version_string());
        return 0;
    }
    if (ca_init() != CA_OK)
        return cli_status_error(argv[1], "initialization", CA_ERR_INIT);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "cyberagent: unknown command '%s'\n\n%s", argv[1], usage);
    return CLI_USAGE;
}
