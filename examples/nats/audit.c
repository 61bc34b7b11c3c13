/*
 * cyberagent-nats audit: an independent replica of the market's ledger. It
 * reads the ledger stream from sequence 1 to --until (default: the stream's
 * last sequence when it starts), verifies and applies every record exactly
 * as the market's replica does (replica_core.h, rc_apply), and prints the
 * state: the stream sequence, the state hash, refused entries, the ledger
 * check and the totals. Any worker (or anyone) can run it and compare the
 * hash with the market's at the same sequence.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "nats_hire.h"

int run_audit(const opts *o)
{
    ca_ledger_options lo;
    rc_core *core = NULL;
    static applied_results results;
    rc_options rco;
    memset(&rco, 0, sizeof rco);
    rco.ledger = &lo;
    rco.on_entry = collect_result;
    rco.ctx = &results;
    if (ledger_options(o->seed, &lo) != CA_OK || rc_open(&core, &rco) != CA_OK)
        return 1;
    rjs_options ro;
    rjs_options_init(&ro);
    ro.urls = o->url;
    ro.stream = o->stream;
    ro.subject_prefix = o->prefix;
    ro.replicas = o->replicas;
    ro.create = 0;
    rjs *js = NULL;
    rjs_consumer *c = NULL;
    rjs_stream_state ss;
    int rc = 1;
    if (rjs_open(&js, &ro) != RJS_OK || rjs_stream_info(js, &ss) != RJS_OK) {
        fprintf(stderr, "cyberagent-nats audit: ledger stream unavailable\n");
        goto out;
    }
    uint64_t until = o->until_seq ? o->until_seq : ss.last_seq, seq = 0;
    if (until > 0 && rjs_consume(js, 1, &c) != RJS_OK)
        goto out;
    uint64_t idle = 0;
    while (seq < until) {
        rjs_msg m;
        rjs_status rs = rjs_next(c, 1000, &m);
        if (rs == RJS_ERR_TIMEOUT && ++idle < 30)
            continue;
        if (rs != RJS_OK) {
            fprintf(stderr, "cyberagent-nats audit: at %" PRIu64 ": %s\n", seq, rjs_error(js));
            goto out;
        }
        idle = 0;
        rc_checkpoint cp;
        int is_cp = 0;
        if (rc_apply(core, m.seq, m.time_ns, m.data, m.len, &cp, &is_cp) != CA_OK) {
            fprintf(stderr, "cyberagent-nats audit: at %" PRIu64 ": %s\n", m.seq, rc_error(core));
            goto out;
        }
        seq = m.seq;
    }
    ca_ledger *ledger = rc_ledger(core);
    ca_ledger_totals tot = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(ledger, &tot);
    ca_status chk = ca_ledger_check(ledger);
    rc_checkpoint cp;
    if (rc_state(core, &cp) != CA_OK)
        goto out;
    char hex[65];
    hex_of(cp.hash.bytes, 32, hex);
    printf("audit seq=%" PRIu64 " hash=%s failed=%" PRIu64 " check=%s minted=%" PRIu64
           " burned=%" PRIu64 " escrowed=%" PRIu64 " accounts=%" PRIu64 "\n",
           seq, hex, cp.failed, ca_status_str(chk), tot.minted, tot.burned, tot.escrowed,
           tot.accounts);
    rc = chk == CA_OK ? 0 : 1;
out:
    rjs_consumer_free(c);
    rjs_close(js);
    rc_close(core);
    return rc;
}
