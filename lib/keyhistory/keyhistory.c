/*
 * Key rotation with pre-rotation (docs/IDENTITY.md, "Key rotation"): key
 * events, their strict codec and signatures, the key history, and the
 * verifier of envelopes against it.
 *
 * An event is a canonical MessagePack map (lib/wire):
 *   0 type, 1 sequence (rotation), 2 identifier (rotation), 3 prior (rotation),
 *   4 key, 5 next, 6 time, 15 signature (bin 64).
 * The signature is Ed25519, by `key`, over "cyberagent/1/key-event" || the map
 * without key 15 (the "unsigned encoding"); the event's digest is
 * BLAKE2b-256 of those same signed bytes, and the identity's stable
 * identifier is its inception's digest.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/array.h"
#include "core/idmap.h"
#include "identity/identity_internal.h"
#include "internal.h"
#include "keyhistory/keyhistory_internal.h"

static const char event_tag[] = "cyberagent/1/key-event";
static const char next_tag[] = "cyberagent/1/next-key";
#define EVENT_TAG_LEN (sizeof event_tag - 1)
#define NEXT_TAG_LEN  (sizeof next_tag - 1)

size_t ca_key_event_max_bytes(void)
{
    return CA_KEY_EVENT_MAX_BYTES;
}

size_t ca_key_history_max_events(void)
{
    return CA_KEY_HISTORY_MAX_EVENTS;
}

/* ---- the event's rows ---- */

#define F_ROT 1u /* rows only a rotation carries */

static uint32_t event_select(const void *obj)
{
    return ((const cai_key_event *)obj)->type == CA_KEY_EVENT_ROTATION ? F_ROT : 0;
}

static const cai_wire_field event_rows[] = {
    {CAI_WF_U32(0, "type", cai_key_event, type), .min = CA_KEY_EVENT_INCEPTION,
     .max = CA_KEY_EVENT_ROTATION, .rule = "1 inception, 2 rotation"},
    {CAI_WF_UINT(1, "sequence", cai_key_event, sequence), .presence = CAI_WP_WHEN, .when = F_ROT,
     .min = 1, .max = CA_KEY_HISTORY_MAX_EVENTS - 1,
     .rule = "the last event's + 1 (an inception's is 0, not written)"},
    {CAI_WF_FIXED(2, "identifier", cai_key_event, identifier), .presence = CAI_WP_WHEN,
     .when = F_ROT, .rule = "the inception's digest: the stable id"},
    {CAI_WF_FIXED(3, "prior", cai_key_event, prior), .presence = CAI_WP_WHEN, .when = F_ROT,
     .rule = "the last event's digest"},
    {CAI_WF_FIXED(4, "key", cai_key_event, key),
     .rule = "the key established (rotation: the one committed to); it signs"},
    {CAI_WF_FIXED(5, "next", cai_key_event, next), .rule = "commitment to the next key"},
    {CAI_WF_UINT(6, "time", cai_key_event, time),
     .rule = "ms since the Unix epoch; not before the last event's"},
};

static const cai_wire_field event_sig_rows[] = {
    {CAI_WF_FIXED(15, "signature", cai_key_event, signature), .rule = "by `key`"},
};

const cai_wire_table cai_key_event_table = CAI_WF_TABLE("key event", event_rows, event_select);
const cai_wire_table cai_key_event_sig_table =
    CAI_WF_TABLE("key event signature", event_sig_rows, NULL);

ca_status cai_key_event_decode(const uint8_t *data, size_t len, cai_key_event *ev)
{
    if (len > CA_KEY_EVENT_MAX_BYTES)
        return cai_fail(CA_ERR_LIMIT, "key event of %zu bytes exceeds %u", len,
                        CA_KEY_EVENT_MAX_BYTES);
    memset(ev, 0, sizeof *ev);
    cai_wire_dec d;
    cai_wire_map m;
    cai_wd_init(&d, data, len);
    cai_wd_map(&d, &m);
    cai_wd_fields(&d, &m, &cai_key_event_table, ev);
    cai_wd_fields(&d, &m, &cai_key_event_sig_table, ev);
    cai_wd_map_end(&d, &m);
    ca_status st = cai_wd_finish(&d);
    if (st != CA_OK)
        memset(ev, 0, sizeof *ev);
    return st;
}

/* The unsigned encoding (no signature), into a buffer of CA_KEY_EVENT_MAX_BYTES. */
static size_t unsigned_encoding(const cai_key_event *ev, uint8_t *out)
{
    cai_wire_writer w;
    cai_ww_init(&w, out, CA_KEY_EVENT_MAX_BYTES);
    cai_wire_put_map(&w, &cai_key_event_table, ev);
    size_t n = 0;
    (void)cai_ww_finish(&w, &n); /* at most 183 bytes: always fits */
    return n;
}

ca_status cai_key_event_encode(const cai_key_event *ev, uint8_t *out, size_t cap, size_t *len)
{
    cai_wire_writer w;
    cai_ww_init(&w, out, cap);
    cai_ww_map(&w, cai_wire_count(&cai_key_event_table, ev) + 1);
    cai_wire_put(&w, &cai_key_event_table, ev);
    cai_wire_put(&w, &cai_key_event_sig_table, ev);
    return cai_ww_finish(&w, len);
}

/* tag || unsigned encoding; returns its length. */
static size_t signed_bytes(const cai_key_event *ev,
                           uint8_t out[EVENT_TAG_LEN + CA_KEY_EVENT_MAX_BYTES])
{
    memcpy(out, event_tag, EVENT_TAG_LEN);
    return EVENT_TAG_LEN + unsigned_encoding(ev, out + EVENT_TAG_LEN);
}

ca_status cai_key_event_sign(cai_key_event *ev, const ca_identity *signer, uint8_t *out,
                             size_t out_cap, size_t *out_len)
{
    uint8_t sb[EVENT_TAG_LEN + CA_KEY_EVENT_MAX_BYTES];
    size_t n = signed_bytes(ev, sb);
    ca_signature sig;
    ca_status st = cai_identity_sign(signer, sb, n, &sig);
    if (st != CA_OK)
        return st;
    memcpy(ev->signature, sig.bytes, 64);
    return cai_key_event_encode(ev, out, out_cap, out_len);
}

ca_status ca_key_commitment(const ca_agent_id *next_key, ca_hash *out)
{
    CAI_REQUIRE(next_key);
    CAI_REQUIRE(out);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, CA_HASH_BYTES);
    crypto_generichash_update(&hs, (const uint8_t *)next_tag, NEXT_TAG_LEN);
    crypto_generichash_update(&hs, next_key->bytes, CA_AGENT_ID_BYTES);
    crypto_generichash_final(&hs, out->bytes, CA_HASH_BYTES);
    return CA_OK;
}

ca_status ca_key_event_incept(const ca_identity *first, const ca_hash *next, uint64_t time,
                              uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(first);
    CAI_REQUIRE(next);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    cai_key_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CA_KEY_EVENT_INCEPTION;
    ca_agent_id k;
    ca_identity_id(first, &k);
    memcpy(ev.key, k.bytes, 32);
    memcpy(ev.next, next->bytes, 32);
    ev.time = time;
    return cai_key_event_sign(&ev, first, out, out_cap, out_len);
}

/* Opens an event: strict decode, signature by its key, digest. */
static ca_status open_event(const uint8_t *data, size_t len, cai_key_event *ev, ca_hash *digest)
{
    ca_status st = cai_key_event_decode(data, len, ev);
    if (st == CA_OK)
        st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    uint8_t sb[EVENT_TAG_LEN + CA_KEY_EVENT_MAX_BYTES];
    size_t n = signed_bytes(ev, sb);
    if (crypto_sign_verify_detached(ev->signature, sb, n, ev->key) != 0)
        return cai_fail(CA_ERR_BAD_SIGNATURE, "key event signature does not verify by its key");
    crypto_generichash(digest->bytes, CA_HASH_BYTES, sb, n, NULL, 0);
    return CA_OK;
}

ca_status ca_key_event_open(const uint8_t *data, size_t len, ca_key_event_info *out)
{
    CAI_REQUIRE(data);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_key_event_info", out->version, CA_KEY_EVENT_INFO_VERSION);
    cai_key_event ev;
    ca_hash digest;
    ca_status st = open_event(data, len, &ev, &digest);
    if (st != CA_OK)
        return st;
    unsigned int version = out->version;
    memset(out, 0, sizeof *out);
    out->version = version;
    out->type = ev.type;
    out->sequence = ev.sequence;
    memcpy(out->identifier.bytes, ev.type == CA_KEY_EVENT_INCEPTION ? digest.bytes : ev.identifier,
           32);
    memcpy(out->prior.bytes, ev.prior, 32);
    memcpy(out->key.bytes, ev.key, 32);
    memcpy(out->next.bytes, ev.next, 32);
    out->time = ev.time;
    out->digest = digest;
    return CA_OK;
}

/* ---- the history ---- */

/* One established key; the key first (the id map compares records' first 32 bytes). */
typedef struct kh_rec {
    uint8_t key[32];
    uint64_t from; /* the establishing event's time */
} kh_rec;

struct ca_key_history {
    /* What every verification reads first: the current key, its time, the window. */
    ca_agent_id current;
    uint64_t current_from;
    uint64_t sequence; /* the last event's; records = sequence + 1 */
    ca_hash id;
    ca_hash last_digest;
    uint8_t next[32]; /* the last event's commitment */
    kh_rec *recs;
    uint32_t cap;
    cai_idmap map; /* key -> record index */
};

static _Thread_local uint64_t lookups;

uint64_t cai_key_history_lookups(const ca_key_history *history)
{
    (void)history;
    return lookups;
}

ca_status ca_key_history_new(ca_key_history **out, const uint8_t *inception, size_t len)
{
    CAI_REQUIRE(out);
    CAI_REQUIRE(inception);
    cai_key_event ev;
    ca_hash digest;
    ca_status st = open_event(inception, len, &ev, &digest);
    if (st != CA_OK)
        return st;
    if (ev.type != CA_KEY_EVENT_INCEPTION)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "a key history begins with an inception event");
    ca_key_history *h = calloc(1, sizeof *h);
    if (h == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory for a key history");
    st = cai_idmap_init(&h->map, CA_KEY_HISTORY_MAX_EVENTS);
    if (st == CA_OK)
        st = cai_array_grow((void **)&h->recs, &h->cap, 1, sizeof *h->recs,
                            CA_KEY_HISTORY_MAX_EVENTS);
    if (st == CA_OK)
        st = cai_idmap_reserve(&h->map, 1);
    if (st != CA_OK) {
        ca_key_history_free(h);
        return st;
    }
    memcpy(h->recs[0].key, ev.key, 32);
    h->recs[0].from = ev.time;
    cai_idmap_insert(&h->map, ev.key, 0);
    memcpy(h->current.bytes, ev.key, 32);
    h->current_from = ev.time;
    h->sequence = 0;
    h->id = digest;
    h->last_digest = digest;
    memcpy(h->next, ev.next, 32);
    *out = h;
    return CA_OK;
}

void ca_key_history_free(ca_key_history *history)
{
    if (history == NULL)
        return;
    cai_idmap_free(&history->map);
    free(history->recs);
    free(history);
}

/* Whether `key` is the one the history's last event committed to. */
static ca_status committed(const ca_key_history *h, const uint8_t key[32])
{
    ca_agent_id k;
    ca_hash c;
    memcpy(k.bytes, key, 32);
    ca_status st = ca_key_commitment(&k, &c);
    if (st == CA_OK && sodium_memcmp(c.bytes, h->next, 32) != 0)
        st = cai_fail(CA_ERR_KEY_NOT_COMMITTED,
                      "the key is not the one the identity's last event committed to");
    return st;
}

/* The order rules a committed key at `time` must still meet (rotate and append apply them). */
static ca_status follows(const ca_key_history *h, const uint8_t key[32], uint64_t time)
{
    if (time < h->current_from)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER,
                        "rotation time %llu is before the last event's time %llu",
                        (unsigned long long)time, (unsigned long long)h->current_from);
    if (cai_idmap_find(&h->map, h->recs, sizeof *h->recs, key) != CAI_IDMAP_NONE)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "the key was already used by this identity");
    if (h->sequence + 1 >= CA_KEY_HISTORY_MAX_EVENTS)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "key history holds its maximum of %u events",
                        CA_KEY_HISTORY_MAX_EVENTS);
    return CA_OK;
}

ca_status ca_key_event_rotate(const ca_key_history *history, const ca_identity *revealed,
                              const ca_hash *next, uint64_t time, uint8_t *out, size_t out_cap,
                              size_t *out_len)
{
    CAI_REQUIRE(history);
    CAI_REQUIRE(revealed);
    CAI_REQUIRE(next);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    ca_agent_id k;
    ca_identity_id(revealed, &k);
    /* The commitment first: a thief with the current key learns nothing else. */
    ca_status st = committed(history, k.bytes);
    if (st == CA_OK)
        st = follows(history, k.bytes, time);
    if (st != CA_OK)
        return st;
    cai_key_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CA_KEY_EVENT_ROTATION;
    ev.sequence = history->sequence + 1;
    memcpy(ev.identifier, history->id.bytes, 32);
    memcpy(ev.prior, history->last_digest.bytes, 32);
    memcpy(ev.key, k.bytes, 32);
    memcpy(ev.next, next->bytes, 32);
    ev.time = time;
    return cai_key_event_sign(&ev, revealed, out, out_cap, out_len);
}

ca_status ca_key_history_append(ca_key_history *history, const uint8_t *event, size_t len)
{
    CAI_REQUIRE(history);
    CAI_REQUIRE(event);
    cai_key_event ev;
    ca_hash digest;
    ca_status st = open_event(event, len, &ev, &digest);
    if (st != CA_OK)
        return st;
    ca_key_history *h = history;
    if (ev.type != CA_KEY_EVENT_ROTATION)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "only a rotation event follows an inception");
    if (memcmp(ev.identifier, h->id.bytes, 32) != 0)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "the rotation is another identity's");
    if (ev.sequence != h->sequence + 1)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "rotation sequence %llu, expected %llu",
                        (unsigned long long)ev.sequence, (unsigned long long)(h->sequence + 1));
    if (memcmp(ev.prior, h->last_digest.bytes, 32) != 0)
        return cai_fail(CA_ERR_KEY_EVENT_ORDER, "the rotation's prior is not the last event");
    if ((st = committed(h, ev.key)) != CA_OK || (st = follows(h, ev.key, ev.time)) != CA_OK)
        return st;
    const uint32_t idx = (uint32_t)(h->sequence + 1);
    st = cai_array_grow((void **)&h->recs, &h->cap, (uint64_t)idx + 1, sizeof *h->recs,
                        CA_KEY_HISTORY_MAX_EVENTS);
    if (st == CA_OK)
        st = cai_idmap_reserve(&h->map, 1);
    if (st != CA_OK)
        return st;
    memcpy(h->recs[idx].key, ev.key, 32);
    h->recs[idx].from = ev.time;
    cai_idmap_insert(&h->map, ev.key, idx);
    memcpy(h->current.bytes, ev.key, 32);
    h->current_from = ev.time;
    h->sequence = idx;
    h->last_digest = digest;
    memcpy(h->next, ev.next, 32);
    return CA_OK;
}

void ca_key_history_id(const ca_key_history *history, ca_hash *out)
{
    *out = history->id;
}

uint64_t ca_key_history_sequence(const ca_key_history *history)
{
    return history->sequence;
}

void ca_key_history_current(const ca_key_history *history, ca_agent_id *out)
{
    *out = history->current;
}

void ca_key_history_last_digest(const ca_key_history *history, ca_hash *out)
{
    *out = history->last_digest;
}

/* The window of `key`: 1 when the history holds it. */
static int window(const ca_key_history *h, const uint8_t key[32], uint64_t *seq, uint64_t *from,
                  uint64_t *until)
{
    if (memcmp(key, h->current.bytes, 32) == 0) {
        *seq = h->sequence;
        *from = h->current_from;
        *until = UINT64_MAX;
        return 1;
    }
    lookups++;
    uint32_t i = cai_idmap_find(&h->map, h->recs, sizeof *h->recs, key);
    if (i == CAI_IDMAP_NONE)
        return 0;
    *seq = i;
    *from = h->recs[i].from;
    *until = h->recs[i + 1].from; /* not the current key: a later record exists */
    return 1;
}

ca_status ca_key_history_key(const ca_key_history *history, const ca_agent_id *key,
                             ca_key_info *out)
{
    CAI_REQUIRE(history);
    CAI_REQUIRE(key);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_key_info", out->version, CA_KEY_INFO_VERSION);
    uint64_t seq, from, until;
    if (!window(history, key->bytes, &seq, &from, &until))
        return cai_fail(CA_ERR_NOT_FOUND, "the key was never this identity's");
    out->sequence = seq;
    out->valid_from = from;
    out->valid_until = until;
    out->current = seq == history->sequence;
    return CA_OK;
}

ca_status ca_key_history_verify_envelope(const ca_key_history *history, const ca_envelope *env,
                                         uint64_t now, const ca_envelope_options *opts)
{
    CAI_REQUIRE(history);
    CAI_REQUIRE(env);
    ca_agent_id sender;
    ca_envelope_sender(env, &sender);
    uint64_t seq, from, until;
    if (!window(history, sender.bytes, &seq, &from, &until))
        return cai_fail(CA_ERR_KEY_UNKNOWN, "the envelope's sender is no key of the identity");
    ca_status st = ca_envelope_verify(env, now, opts);
    if (st != CA_OK)
        return st;
    ca_envelope_options o;
    if (opts == NULL) {
        (void)ca_envelope_options_init(&o, CA_ENVELOPE_OPTIONS_VERSION);
        opts = &o;
    }
    const uint64_t created = ca_envelope_created_at(env), expires = ca_envelope_expires_at(env);
    const uint64_t skew = opts->max_skew_ms;
    if (expires > until)
        return cai_fail(CA_ERR_KEY_ROTATED,
                        "signed by key %llu of the identity, rotated away at %llu, for a "
                        "lifetime ending at %llu",
                        (unsigned long long)seq, (unsigned long long)until,
                        (unsigned long long)expires);
    if (created < from && from - created > skew)
        return cai_fail(CA_ERR_KEY_ROTATED,
                        "created at %llu, before key %llu of the identity was established at %llu "
                        "(beyond the skew)",
                        (unsigned long long)created, (unsigned long long)seq,
                        (unsigned long long)from);
    return CA_OK;
}
