/*
 * Fuzz target: examples/replica's text decoders of what replicas read from
 * the checkpoint key-value bucket and from each other's output (anyone who
 * may write to the bucket controls these bytes): the checkpoint line
 * (rc_parse, rc_parse_prefix, rc_parse_u64 in replica_core.h) and the
 * bucket's keys and values (cpformat.h: rcp_parse_cp_value,
 * rcp_parse_index, rcp_parse_cp_key, rcp_name_ok). Every parser runs on
 * every input.
 * Invariants: what a parser accepts formats back to exactly the bytes it
 * read (one form per value); what it refuses leaves its outputs untouched;
 * rc_parse accepts exactly the strings rc_parse_prefix reads whole; an index
 * holds BYTES >= 1 and CHUNKS = ceil(BYTES / RCP_CHUNK); a name is 1 to
 * RCP_NAME_MAX characters of [A-Za-z0-9_-], checked here independently.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cpformat.h"
#include "fuzz.h"
#include "replica_core.h"

static char str[1 << 17];

static int ref_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > RCP_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", s[i]) ||
            s[i] == '\0')
            return 0;
    return 1;
}

static int unchanged(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0xA5)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= sizeof str)
        return 0;
    const char *d = (const char *)data;
    memcpy(str, data, size);
    str[size] = '\0';
    size_t slen = strlen(str); /* up to the first NUL byte */

    /* rc_parse_u64 */
    uint64_t v;
    memset(&v, 0xA5, sizeof v);
    size_t n = rc_parse_u64(d, size, &v);
    if (n == 0) {
        FUZZ_CHECK(unchanged(&v, sizeof v));
    } else {
        char num[24];
        FUZZ_CHECK((size_t)snprintf(num, sizeof num, "%" PRIu64, v) == n);
        FUZZ_CHECK(memcmp(num, d, n) == 0);
        FUZZ_CHECK(n == size || d[n] < '0' || d[n] > '9');
    }

    /* rc_parse_prefix and rc_parse */
    rc_checkpoint cp;
    char line[RC_LINE_MAX];
    memset(&cp, 0xA5, sizeof cp);
    n = rc_parse_prefix(d, size, &cp);
    if (n == 0) {
        FUZZ_CHECK(unchanged(&cp, sizeof cp));
    } else {
        rc_format(&cp, line);
        FUZZ_CHECK(strlen(line) == n && memcmp(line, d, n) == 0);
        FUZZ_CHECK(n == size || d[n] == ' ' || d[n] == '\n');
    }
    memset(&cp, 0xA5, sizeof cp);
    int whole = rc_parse(str, &cp) == 0;
    rc_checkpoint cp2;
    FUZZ_CHECK(whole == (slen > 0 && rc_parse_prefix(str, slen, &cp2) == slen));
    if (!whole) {
        FUZZ_CHECK(unchanged(&cp, sizeof cp));
    } else {
        rc_format(&cp, line);
        FUZZ_CHECK(strcmp(line, str) == 0);
    }

    /* rcp_parse_cp_value: the value of cp.NAME.SEQ, SEQ from the first byte */
    uint64_t seq = size > 0 ? (uint64_t)data[0] * 0x0101010101010101u : 0;
    memset(&cp, 0xA5, sizeof cp);
    if (rcp_parse_cp_value(d, size, seq, &cp) != 0) {
        FUZZ_CHECK(unchanged(&cp, sizeof cp));
    } else {
        char val[RCP_CP_VALUE_MAX];
        rcp_format_cp_value(&cp, val);
        FUZZ_CHECK(cp.seq == seq && strlen(val) == size && memcmp(val, d, size) == 0);
    }

    /* rcp_parse_index */
    rcp_index ix;
    memset(&ix, 0xA5, sizeof ix);
    if (rcp_parse_index(d, size, &ix) != 0) {
        FUZZ_CHECK(unchanged(&ix, sizeof ix));
    } else {
        char val[RCP_INDEX_MAX];
        rcp_format_index(&ix, val);
        FUZZ_CHECK(strlen(val) == size && memcmp(val, d, size) == 0);
        FUZZ_CHECK(ix.bytes >= 1 && ix.chunks >= 1);
        FUZZ_CHECK((uint64_t)(ix.chunks - 1) * RCP_CHUNK < ix.bytes);
        FUZZ_CHECK(ix.bytes <= (uint64_t)ix.chunks * RCP_CHUNK);
    }

    /* rcp_parse_cp_key and rcp_name_ok */
    char name[RCP_NAME_MAX + 1];
    memset(name, 0xA5, sizeof name);
    memset(&seq, 0xA5, sizeof seq);
    if (rcp_parse_cp_key(str, name, &seq) != 0) {
        FUZZ_CHECK(unchanged(name, sizeof name) && unchanged(&seq, sizeof seq));
    } else {
        char key[RCP_NAME_MAX + 32];
        FUZZ_CHECK(ref_name_ok(name));
        snprintf(key, sizeof key, "cp.%s.%" PRIu64, name, seq);
        FUZZ_CHECK(strcmp(key, str) == 0);
    }
    FUZZ_CHECK(rcp_name_ok(str) == ref_name_ok(str));
    return 0;
}
