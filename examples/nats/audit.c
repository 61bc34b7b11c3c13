/*
 * cyberagent-nats audit: an independent replica of the market's ledger. It
 * reads the ledger stream from sequence 1 to --until (default: the stream's
 * last sequence when it starts), verifies and applies every record exactly
 * as the market's replica does (common.h, apply_stream_msg), and prints the
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
    ca_ledger *ledger = NULL;
    if (ledger_options(o->seed, &lo) != CA_OK || ca_ledger_new(&ledger, &lo) != CA_OK)
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
    rec recs[REC_MAX];
    ca_status res[REC_MAX];
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
        size_t n = 0;
        if (apply_stream_msg(ledger, &m, recs, res, &n) != CA_OK)
            goto out;
        seq = m.seq;
    }
    ca_ledger_totals tot;
    ca_ledger_totals_get(ledger, &tot);
    ca_status chk = ca_ledger_check(ledger);
    ca_hash h;
    (void)ca_ledger_state_hash(ledger, &h);
    ca_ledger_log_info li;
    memset(&li, 0, sizeof li);
    li.version = CA_LEDGER_LOG_INFO_VERSION;
    if (ca_ledger_log_position(ledger, &li) != CA_OK)
        li.failed = UINT64_MAX;
    char hex[65];
    hex_of(h.bytes, 32, hex);
    printf("audit seq=%" PRIu64 " hash=%s failed=%" PRIu64 " check=%s minted=%" PRIu64
           " burned=%" PRIu64 " escrowed=%" PRIu64 " accounts=%" PRIu64 "\n",
           seq, hex, li.failed, ca_status_str(chk), tot.minted, tot.burned, tot.escrowed,
           tot.accounts);
    rc = chk == CA_OK ? 0 : 1;
out:
    rjs_consumer_free(c);
    rjs_close(js);
    ca_ledger_free(ledger);
    return rc;
}
