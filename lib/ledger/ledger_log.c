/*
 * The ledger fed by an external ordered log (ledger.h, "LOG"; docs/LEDGER.md,
 * "Replication"): positions, the log clock (the one rule for `now`) and
 * refused entries. The ops themselves go through the signed and trusted
 * paths of ledger_codec.c; this file only decides where an entry stands in
 * the log and records what became of it.
 */
#include <sodium.h>

#include "ledger/ledger_internal.h"

/*
 * Failures that depend on the host, not on the entry and the state: another
 * replica would not have had them, so they consume no position (the call
 * stops; the entry can be given again).
 */
static int local_failure(ca_status st)
{
    return st == CA_ERR_NO_MEMORY || st == CA_ERR_IO || st == CA_ERR_INIT;
}

/* THE NOW RULE: an entry is applied at max(its time, the log clock). */
static uint64_t log_clock(const ca_ledger *l)
{
    return l->log_clock > l->horizon ? l->log_clock : l->horizon;
}

static ca_status check_entry(const ca_ledger_log_entry *e)
{
    if (e->position == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "log positions start at 1");
    if (e->op != NULL &&
        (e->msg != NULL || e->msg_len != 0 || e->attachment != NULL || e->attachment_len != 0))
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "a log entry holds a trusted op or signed bytes (with an attachment), "
                        "not both");
    if ((e->msg == NULL && e->msg_len != 0) || (e->attachment == NULL && e->attachment_len != 0))
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a log entry's length has no bytes behind it");
    /* An op of a layout this build does not read is the caller's error, not the log's: the
     * call stops there and the entry consumes no position. */
    if (e->op != NULL)
        CAI_REQUIRE_OP_VERSION(e->op->version);
    return CA_OK;
}

/*
 * One entry: CA_OK when it was processed (*result: CA_OK applied, the
 * refusal it got, or CA_ERR_LEDGER_STALE_POSITION), else the failure that
 * stopped the call with nothing changed.
 */
static ca_status apply_entry(ca_ledger *l, const ca_ledger_log_entry *e, ca_status *result)
{
    ca_status st = check_entry(e);
    if (st != CA_OK)
        return st;
    if (e->position <= l->log_pos) {
        *result = cai_fail(CA_ERR_LEDGER_STALE_POSITION,
                           "log position %llu is not after the ledger's %llu: skipped",
                           (unsigned long long)e->position, (unsigned long long)l->log_pos);
        return CA_OK;
    }
    uint64_t now = log_clock(l);
    if (e->time > now)
        now = e->time;
    if (l->store != NULL) {
        /* Room for whichever record the entry leaves: the op's, or a refused one. An op
         * longer than the limits is refused before it is journaled. */
        size_t need = CA_LEDGER_OP_MAX_BYTES;
        if (e->op == NULL) {
            size_t m = e->msg_len < CA_LEDGER_OP_MAX_BYTES ? e->msg_len : CA_LEDGER_OP_MAX_BYTES;
            size_t a = e->attachment_len < CA_LEDGER_EVIDENCE_MAX_BYTES
                           ? e->attachment_len
                           : CA_LEDGER_EVIDENCE_MAX_BYTES;
            need = 4 + m + a;
        }
        if ((st = cai_store_reserve(l, need < CAI_REFUSED_BYTES ? CAI_REFUSED_BYTES : need)) !=
            CA_OK)
            return st;
    }
    static const uint8_t empty[1];
    if (e->op != NULL)
        st = cai_ledger_apply_trusted(l, e->op, now, e->position);
    else
        st = cai_ledger_submit(l, e->msg != NULL ? e->msg : empty, e->msg_len,
                               e->attachment_len > 0 ? e->attachment : NULL, e->attachment_len, now,
                               e->position);
    if (local_failure(st))
        return st;
    if (st != CA_OK) {
        if (l->store != NULL) {
            uint8_t id[32] = {0};
            if (e->op == NULL)
                crypto_generichash(id, sizeof id, e->msg != NULL ? e->msg : empty, e->msg_len, NULL,
                                   0);
            cai_store_append_refused(l, e->position, now, st, id);
        }
        l->log_failed++;
    }
    l->log_pos = e->position;
    l->log_clock = now;
    *result = st;
    return CA_OK;
}

ca_status ca_ledger_apply_log(ca_ledger *l, const ca_ledger_log_entry *entries, size_t entry_size,
                              size_t n, ca_status *results, size_t *done)
{
    if (done)
        *done = 0;
    CAI_REQUIRE(l);
    CAI_REQUIRE(results);
    if (n > 0)
        CAI_REQUIRE(entries);
    CAI_REQUIRE_ELEM_SIZE("ca_ledger_log_entry", entry_size, CAI_LEDGER_LOG_ENTRY_SIZE_1,
                          sizeof(ca_ledger_log_entry));
    ca_status st = CA_OK;
    size_t i = 0;
    for (; i < n; i++) {
        const ca_ledger_log_entry *e =
            (const ca_ledger_log_entry *)(const void *)((const uint8_t *)entries + i * entry_size);
        if ((st = apply_entry(l, e, &results[i])) != CA_OK)
            break;
    }
    if (done)
        *done = i;
    for (size_t k = i; k < n; k++)
        results[k] = st;
    return st;
}

ca_status ca_ledger_log_position(const ca_ledger *l, ca_ledger_log_info *out)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ledger log info", out->version, CA_LEDGER_LOG_INFO_VERSION);
    out->position = l->log_pos;
    out->clock = log_clock(l);
    out->failed = l->log_failed;
    out->durable_position = l->store != NULL ? cai_store_durable_pos(l->store) : l->log_pos;
    return CA_OK;
}
