/* Snapshot export/import: placeholder until the format lands. */
#include "reputation_internal.h"

ca_status ca_reputation_snapshot_export(const ca_reputation *rep, uint8_t *out, size_t out_cap,
                                        size_t *out_len)
{
    (void)rep;
    (void)out;
    (void)out_cap;
    (void)out_len;
    return cai_fail(CA_ERR_UNSUPPORTED, "not yet");
}

ca_status ca_reputation_snapshot_import(ca_reputation *rep, const uint8_t *in, size_t in_len)
{
    (void)rep;
    (void)in;
    (void)in_len;
    return cai_fail(CA_ERR_UNSUPPORTED, "not yet");
}
