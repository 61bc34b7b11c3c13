/* cpformat.c: see cpformat.h. */
#include "cpformat.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int rcp_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > RCP_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void rcp_format_cp_value(const rc_checkpoint *cp, char out[RCP_CP_VALUE_MAX])
{
    char line[RC_LINE_MAX];
    rc_format(cp, line);
    snprintf(out, RCP_CP_VALUE_MAX, "%s", strchr(line, ' ') + 1);
}

int rcp_parse_cp_value(const char *v, size_t len, uint64_t seq, rc_checkpoint *cp)
{
    char line[RC_LINE_MAX + RCP_CP_VALUE_MAX];
    if (len >= RCP_CP_VALUE_MAX || memchr(v, 0, len) != NULL)
        return -1;
    int n = snprintf(line, sizeof line, "%" PRIu64 " %.*s", seq, (int)len, v);
    return n > 0 && (size_t)n < sizeof line ? rc_parse(line, cp) : -1;
}

void rcp_format_index(const rcp_index *ix, char out[RCP_INDEX_MAX])
{
    char line[RC_LINE_MAX];
    rc_format(&ix->cp, line);
    snprintf(out, RCP_INDEX_MAX, "%s %" PRIu32 " %" PRIu64, line, ix->chunks, ix->bytes);
}

int rcp_parse_index(const char *v, size_t len, rcp_index *ix)
{
    rcp_index tmp;
    uint64_t chunks = 0;
    size_t off = rc_parse_prefix(v, len, &tmp.cp), n = 0;
    if (off == 0 || off == len || v[off] != ' ')
        return -1;
    off++;
    if ((n = rc_parse_u64(v + off, len - off, &chunks)) == 0 || chunks > UINT32_MAX)
        return -1;
    off += n;
    if (off == len || v[off] != ' ')
        return -1;
    off++;
    if ((n = rc_parse_u64(v + off, len - off, &tmp.bytes)) == 0 || off + n != len)
        return -1;
    if (tmp.bytes == 0 || chunks != tmp.bytes / RCP_CHUNK + (tmp.bytes % RCP_CHUNK != 0))
        return -1;
    tmp.chunks = (uint32_t)chunks;
    *ix = tmp;
    return 0;
}

int rcp_parse_cp_key(const char *key, char name[RCP_NAME_MAX + 1], uint64_t *seq)
{
    if (strncmp(key, "cp.", 3) != 0)
        return -1;
    const char *nm = key + 3, *dot = strchr(nm, '.');
    if (dot == NULL || dot == nm || (size_t)(dot - nm) > RCP_NAME_MAX)
        return -1;
    char who[RCP_NAME_MAX + 1];
    memcpy(who, nm, (size_t)(dot - nm));
    who[dot - nm] = '\0';
    uint64_t s = 0;
    size_t len = strlen(dot + 1);
    if (!rcp_name_ok(who) || len == 0 || rc_parse_u64(dot + 1, len, &s) != len)
        return -1;
    memcpy(name, who, sizeof who);
    *seq = s;
    return 0;
}
