/*
 * cyberagent CLI — shared helpers. The CLI uses the public API only
 * (<cyberagent.h>), as any program outside the library would.
 */
#ifndef CA_CLI_H
#define CA_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <cyberagent.h>

/* Exit statuses: 0 success, 1 the input or operation failed, 2 usage error. */
#define CLI_FAIL  1
#define CLI_USAGE 2

/* Prints "cyberagent <cmd>: <message>" as one line on stderr; returns CLI_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Same, for a failed library call: "<what>: CA_ERR_X: <last error>". */
int cli_status_error(const char *cmd, const char *what, ca_status st);

/* Option value lookup: returns argv[i + 1] for "--name VALUE" and advances *i. */
const char *cli_value(int argc, char **argv, int *i);

/* Parses a decimal uint64; 0 on success, -1 on any junk or overflow. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Exactly 2 * len hex digits into out; 0 on success, -1 otherwise. */
int cli_hex_decode(const char *hex, uint8_t *out, size_t len);
void cli_hex_print(const uint8_t *p, size_t len); /* lowercase hex to stdout */

/* The did:key text of an agent id (buffer of CA_DID_MAX_CHARS + 1). */
void cli_did(const ca_agent_id *id, char *out);

/*
 * Reads all of stdin up to `cap` bytes into a malloc'd buffer (never more:
 * a longer or endless stream is an error, not a hang). 0 on success.
 */
int cli_read_stdin(const char *cmd, size_t cap, uint8_t **out, size_t *out_len);

/* Reads FILE (or stdin when NULL or "-") up to cap bytes into a malloc'd buffer. 0 on success. */
int cli_read_input(const char *cmd, const char *path, size_t cap, uint8_t **out, size_t *len);

/*
 * Passphrase from $CA_PASSPHRASE, else prompted on /dev/tty without echo
 * (twice when `confirm`). Caller wipes and frees it. NULL on failure (reported).
 */
char *cli_passphrase(const char *cmd, int confirm);

/*
 * Where a command's identity comes from, set by cli_key_option:
 *   --key FILE         encrypted key file (passphrase as above)
 *   --seed-file FILE   64 hex digits of the secret seed ("-": standard input)
 *   --seed-env NAME    64 hex digits in environment variable NAME
 *   --seed HEX         on the command line, visible to every local user (ps,
 *                      /proc/PID/cmdline): for published test vectors only;
 *                      warns on stderr, and the digits are blanked from argv
 *                      once read (which shortens, not closes, the window)
 */
typedef struct cli_key_source {
    const char *key_path;
    const char *seed_file;
    const char *seed_env;
    char *seed_arg; /* points into argv: blanked after use */
} cli_key_source;

/*
 * If argv[*i] is one of the options above, stores its value, advances *i and
 * returns 1; returns 0 for any other argument and -1 when the value is missing.
 */
int cli_key_option(int argc, char **argv, int *i, cli_key_source *src);

/* Number of sources given (a command wants exactly one, or at most one). */
int cli_key_source_count(const cli_key_source *src);

/* The options as the usage text shows them. */
#define CLI_KEY_OPTIONS "--key FILE | --seed-file FILE | --seed-env NAME | --seed HEX"

/*
 * The identity from the one source given. `stdin_busy` names what standard
 * input already carries for this command (NULL when it is free for
 * "--seed-file -"). Seed bytes and text are wiped after use. NULL on failure
 * (reported).
 */
ca_identity *cli_load_identity(const char *cmd, const cli_key_source *src, const char *stdin_busy);

/* Subcommands; each gets argv after the command name. */
int cmd_keygen(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_thread(int argc, char **argv);
int cmd_card(int argc, char **argv);
int cmd_incept(int argc, char **argv);
int cmd_rotate(int argc, char **argv);

/* inspect --events FILE: a key history file checked and printed as JSON (rotation_cmds.c). */
int cli_inspect_events(const char *path);
int cmd_delegate(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_chain(int argc, char **argv);

/* inspect: typed fields of a task message or card body, as JSON members (task_cmds.c). */
void cli_typed_body_json(const ca_envelope *env, const ca_identity *reader);

/* inspect: typed fields of a delegation or revocation, as JSON members (delegation_cmds.c). */
void cli_delegation_json(const ca_envelope *env);

#endif /* CA_CLI_H */
