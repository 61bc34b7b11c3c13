/*
 * Fuzz target: key events and key histories (keyhistory.h).
 * Input: a sequence of events, each a 1-byte length L then L bytes. The
 * first opens a history (ca_key_history_new), the rest are appended.
 * Invariants: never crashes; every refusal records a sentence; whatever
 * ca_key_event_open accepts is canonical (the decoded values re-encode to the
 * input) and its decoder and open agree; a refused append leaves the history
 * as it was (sequence, current key, last digest); an accepted one advances
 * the sequence by one, makes the event's key current and its digest the last.
 */
#include <string.h>

#include "cyberagent.h"
#include "fuzz.h"
#include "keyhistory/keyhistory_internal.h"

/* One event: open, decode, re-encode. Returns 1 when ca_key_event_open accepts it. */
static int one(const uint8_t *ev, size_t len, ca_key_event_info *info)
{
    info->version = CA_KEY_EVENT_INFO_VERSION;
    ca_status st = FUZZ_CALL(ca_key_event_open(ev, len, info));
    cai_key_event d;
    ca_status ds = FUZZ_CALL(cai_key_event_decode(ev, len, &d));
    if (ds != CA_OK) {
        FUZZ_CHECK(st == ds);
        return 0;
    }
    uint8_t re[CA_KEY_EVENT_MAX_BYTES];
    size_t rl = 0;
    FUZZ_CHECK(cai_key_event_encode(&d, re, sizeof re, &rl) == CA_OK);
    FUZZ_CHECK(rl == len && memcmp(re, ev, len) == 0);
    if (st != CA_OK) {
        FUZZ_CHECK(st == CA_ERR_BAD_SIGNATURE);
        return 0;
    }
    FUZZ_CHECK(info->type == d.type && info->sequence == d.sequence && info->time == d.time);
    FUZZ_CHECK(memcmp(info->key.bytes, d.key, 32) == 0);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ca_key_history *h = NULL;
    size_t off = 0;
    while (off < size) {
        size_t len = data[off++];
        if (len > size - off)
            len = size - off;
        const uint8_t *ev = data + off;
        off += len;
        ca_key_event_info info;
        int opened = one(ev, len, &info);
        if (h == NULL) {
            ca_status st = FUZZ_CALL(ca_key_history_new(&h, ev, len));
            FUZZ_CHECK((st == CA_OK) == (opened && info.type == CA_KEY_EVENT_INCEPTION));
            if (st == CA_OK) {
                ca_hash id;
                ca_key_history_id(h, &id);
                FUZZ_CHECK(memcmp(id.bytes, info.digest.bytes, 32) == 0);
            }
            continue;
        }
        uint64_t seq = ca_key_history_sequence(h);
        ca_agent_id cur;
        ca_hash last;
        ca_key_history_current(h, &cur);
        ca_key_history_last_digest(h, &last);
        ca_status st = FUZZ_CALL(ca_key_history_append(h, ev, len));
        ca_agent_id cur2;
        ca_hash last2;
        ca_key_history_current(h, &cur2);
        ca_key_history_last_digest(h, &last2);
        if (st != CA_OK) {
            FUZZ_CHECK(ca_key_history_sequence(h) == seq);
            FUZZ_CHECK(memcmp(cur.bytes, cur2.bytes, 32) == 0);
            FUZZ_CHECK(memcmp(last.bytes, last2.bytes, 32) == 0);
            continue;
        }
        FUZZ_CHECK(opened && info.type == CA_KEY_EVENT_ROTATION);
        FUZZ_CHECK(ca_key_history_sequence(h) == seq + 1 && info.sequence == seq + 1);
        FUZZ_CHECK(memcmp(cur2.bytes, info.key.bytes, 32) == 0);
        FUZZ_CHECK(memcmp(last2.bytes, info.digest.bytes, 32) == 0);
        FUZZ_CHECK(memcmp(info.prior.bytes, last.bytes, 32) == 0);
        ca_key_info ki = {.version = CA_KEY_INFO_VERSION};
        FUZZ_CHECK(ca_key_history_key(h, &cur, &ki) == CA_OK);
        FUZZ_CHECK(ki.sequence == seq && ki.current == 0 && ki.valid_until == info.time);
    }
    ca_key_history_free(h);
    return 0;
}
