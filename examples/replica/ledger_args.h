/*
 * ledger_args.h: the ledger's options on the command line, the same for
 * cyberagent-replica and cyberagent-submit (every replica and submitter of
 * one ledger must use the same: they make its id, which every signature
 * covers).
 */
#ifndef CA_EXAMPLES_REPLICA_LEDGER_ARGS_H
#define CA_EXAMPLES_REPLICA_LEDGER_ARGS_H

#include <stdint.h>

#include "cyberagent.h"

#define LA_USAGE                                                                                   \
    "ledger options (all replicas and submitters of a ledger use the same; the ledger id\n"        \
    "is printed on start):\n"                                                                      \
    "  --authority HEX           the mint authority's agent id, 64 hex (required)\n"               \
    "  --arbiter HEX             the arbiter's agent id (default all-zero)\n"                      \
    "  --network HEX             the ledger's network name hash, 64 hex (default all-zero)\n"      \
    "  --unbonding-delay MS      (default 1814400000, 21 days)\n"                                  \
    "  --jail-equivocation MS    (default 604800000, 7 days)\n"

/* Defaults (ca_ledger_options_init). */
int la_init(ca_ledger_options *lo);

/* One option: 1 consumed (and *have_authority set for --authority), 0 not a
 * ledger option, -1 a bad value. */
int la_option(ca_ledger_options *lo, const char *key, const char *val, int *have_authority);

/* 64 hex digits -> 32 bytes (0 / -1); decimal -> uint64 (0 / -1). */
int la_hex32(const char *s, uint8_t out[32]);
int la_u64(const char *s, uint64_t *out);
void la_hex(const uint8_t *b, size_t n, char *out); /* 2n + 1 bytes */

#endif
