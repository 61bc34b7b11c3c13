/* ledger_args.c: see ledger_args.h. */
#include "ledger_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int la_hex32(const char *s, uint8_t out[32])
{
    if (strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int la_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != 0 || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

void la_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int la_init(ca_ledger_options *lo)
{
    return ca_ledger_options_init(lo, CA_LEDGER_OPTIONS_VERSION) == CA_OK ? 0 : -1;
}

int la_option(ca_ledger_options *lo, const char *key, const char *val, int *have_authority)
{
    if (strcmp(key, "--authority") == 0) {
        *have_authority = la_hex32(val, lo->authority.bytes) == 0;
        return *have_authority ? 1 : -1;
    }
    if (strcmp(key, "--arbiter") == 0)
        return la_hex32(val, lo->arbiter.bytes) == 0 ? 1 : -1;
    if (strcmp(key, "--network") == 0)
        return la_hex32(val, lo->network.bytes) == 0 ? 1 : -1;
    if (strcmp(key, "--unbonding-delay") == 0)
        return la_u64(val, &lo->unbonding_delay) == 0 ? 1 : -1;
    if (strcmp(key, "--jail-equivocation") == 0)
        return la_u64(val, &lo->jail_equivocation) == 0 ? 1 : -1;
    return 0;
}
