/*
 * Fuzz target: every strict decoder of the library, one invariant. Whatever
 * a decoder accepts is encoded again from the VALUES it decoded, by the
 * library's own encoder for them, and must give back the input byte for
 * byte. A decoder that accepts two encodings of one value, or loses a field,
 * fails here. The re-encoding never copies a stored copy of the input: each
 * value goes through the writer the library's signers and exporters use.
 *
 * Input: byte 0 selects the decoder (bits 0..6; bit 7 is a flag, below), the
 * rest is the candidate encoding. The decoders, one selector each
 * (grep of include/ and lib/ for decode / parse / open / import /
 * deserialize / load / replay of bytes):
 *
 *   0  ENVELOPE        ca_envelope_decode            cai_envelope_reencode (fields_of +
 *                      (ca_envelope_open = decode +  cai_envelope_encode_signed, the writer of
 *                      verify, which only refuses)   ca_envelope_sign)
 *   1  CARD_BODY       cai_card_body_decode          public accessors -> ca_card_params ->
 *                                                    cai_card_body_encode (ca_card_sign's)
 *   2  CARD            ca_envelope_decode +          cai_card_reencode: the body from the card's
 *                      ca_card_parse (ca_card_open   fields, the envelope ca_card_sign builds
 *                      adds verify and the window)   around it, the envelope's signature
 *   3..9 TASK_BODY     cai_task_body_decode, one     cai_task_body_encode from the public struct
 *                      selector per kind: request,   (NUL-terminated strings, as the parser's
 *                      bid, award, result, receipt,  views are)
 *                      cancel, dispute
 *   10 TASK_MSG        ca_envelope_decode +          the body from the typed view
 *                      cai_task_msg_parse (=         (ca_task_msg_request ...), the envelope from
 *                      ca_task_msg_parse; also what  the message's values (kind, sender,
 *                      ca_task_apply_bytes decodes)  created_at, parent, request recipient) and
 *                                                    the envelope's others (expiry, flags,
 *                                                    signature; the wire body when compressed
 *                                                    or sealed, which are not canonical: the
 *                                                    signer's choice and a random box)
 *   11 TASK_THREAD     ca_task_deserialize           ca_task_serialize, and every message as in
 *                                                    TASK_MSG
 *   12 EVIDENCE        ca_evidence_open (and         cai_evidence_write over the parts
 *                      ca_evidence_verify, the       (cai_evidence_parse), each envelope
 *                      ledger's evidence check)      re-encoded from its fields, sides given in
 *                                                    both orders
 *   13 LEDGER_OP       ca_ledger_op_decode /         cai_ledger_op_encode_signed (the writer of
 *                      cai_ledger_op_decode_signed   ca_ledger_op_sign_cosigned) from the op
 *                      (ca_ledger_submit's decoder)  and its signature(s)
 *   14 LEDGER_OP_RAW   cai_ledger_op_decode_signed   cai_ledger_op_encode:
 *                      without signatures (journal   the unsigned encoding
 *                      records of ca_ledger_apply)
 *   15 DID             ca_did_parse                  ca_did_encode
 *   16 KEYFILE         cai_keyfile_header_read +     cai_keyfile_header_write (header: magic,
 *                      ca_identity_import_encrypted  costs, salt, nonce) always; with the
 *                      (ca_identity_load = read +    passphrase, cai_keyfile_seal (the writer of
 *                      import)                       ca_identity_export_encrypted) from header,
 *                                                    seed and passphrase: the whole file
 *   17 LEDGER_SNAPSHOT cai_snapshot_decode (what     cai_snapshot_encode from the ledger, and
 *                      ca_ledger_open and            ca_ledger_snapshot_export (the same bytes)
 *                      ca_ledger_new_from_snapshot
 *                      read)
 *   18 REP_SNAPSHOT    ca_reputation_snapshot_import ca_reputation_snapshot_export
 *   19 LEDGER_JOURNAL  cai_journal_replay (what      cai_journal_header (options, the header's
 *                      ca_ledger_open replays), then base seq), then per record
 *                      cai_journal_record_read per   cai_journal_record_write (the durable
 *                      record it replayed            store's writer) from seq, time, position,
 *                                                    type and (a refused entry's record: its
 *                                                    status and op id as they are) the op
 *                                                    re-encoded as in LEDGER_OP /
 *                                                    LEDGER_OP_RAW (an attachment, evidence or
 *                                                    a DELIVER's RESULT, as bytes: replay does
 *                                                    not open it; EVIDENCE and TASK_MSG cover
 *                                                    their decoders)
 *   20 KEY_EVENT       cai_key_event_decode (what    cai_key_event_encode (the writer of
 *                      ca_key_event_open,            ca_key_event_incept / _rotate) from the
 *                      ca_key_history_new / _append  decoded fields and signature
 *                      decode)
 *   21 DELEGATION      ca_delegation_decode          cai_delegation_encode_signed (the body and
 *                      (ca_delegation_open = decode  envelope ca_delegation_sign writes) from
 *                      + signature)                  the public values (ca_delegation_get,
 *                                                    ca_delegation_capability) and the
 *                                                    envelope's signature
 *   22 REVOCATION      ca_revocation_decode          cai_revocation_reencode from the decoded
 *                      (ca_revocation_open, and      ca_revocation_info and the envelope's
 *                      ca_revocation_set_add)        signature
 *
 * Not covered, and why: zstd frames inside compressed bodies and sealed
 * boxes are not canonical by design (many frames decompress to one body; a
 * box is randomized): the round trip covers the envelope carrying them and
 * the body they hold. Of a journal, only the records recovery keeps: a torn
 * tail (at most one record, fuzz_ledger_journal bounds it) is cut by design,
 * and a format 1 header alone is replaced. ca_card_to_a2a_json and
 * ca_routing_* read no bytes.
 *
 * Layouts beyond "selector, encoding": KEYFILE is selector, passphrase length
 * P, P bytes of passphrase, the file. Bit 7 of the selector recomputes the
 * checksum a format carries (KEYFILE: BLAKE2b-128 at 112; REP_SNAPSHOT: the
 * trailing BLAKE2b-256) before decoding, so mutations reach the structure
 * behind it; the invariant is the same. LEDGER_SNAPSHOT decodes without the
 * checksum and state hash, compares the rest, and requires the full check to
 * accept the input exactly when those 64 bytes are the re-encoding's too.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "card/card_internal.h"
#include "delegation/delegation_internal.h"
#include "cyberagent.h"
#include "envelope/envelope_internal.h"
#include "fuzz.h"
#include "fuzz_ledger_common.h"
#include "fuzz_task_views.h"
#include "identity/identity_internal.h"
#include "keyhistory/keyhistory_internal.h"
#include "ledger/ledger_internal.h"
#include "task/task_internal.h"

enum {
    RT_ENVELOPE = 0,
    RT_CARD_BODY = 1,
    RT_CARD = 2,
    RT_TASK_BODY = 3, /* .. 9, one per task kind */
    RT_TASK_MSG = 10,
    RT_TASK_THREAD = 11,
    RT_EVIDENCE = 12,
    RT_LEDGER_OP = 13,
    RT_LEDGER_OP_RAW = 14,
    RT_DID = 15,
    RT_KEYFILE = 16,
    RT_LEDGER_SNAPSHOT = 17,
    RT_REP_SNAPSHOT = 18,
    RT_LEDGER_JOURNAL = 19,
    RT_KEY_EVENT = 20,
    RT_DELEGATION = 21,
    RT_REVOCATION = 22,
    RT_COUNT
};
#define RT_FIX_CHECKSUM 0x80u

/* Equal bytes: the invariant. */
static void same(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    FUZZ_CHECK(na == nb);
    FUZZ_CHECK(na == 0 || memcmp(a, b, na) == 0);
}

/* A buffer for a re-encoding of at most `n` bytes (the input's size plus slack). */
static uint8_t *buf_for(size_t n)
{
    uint8_t *p = malloc(n + 64);
    FUZZ_CHECK(p != NULL);
    return p;
}

/* The reader of sealed seeds (RFC 8032 test 2 seed, as fuzz_envelope). */
static ca_identity *reader(void)
{
    static ca_identity *id;
    if (id == NULL) {
        static const uint8_t seed[32] = {0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda,
                                         0x9d, 0xb6, 0xc3, 0x46, 0xec, 0x11, 0x4e, 0x0f,
                                         0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab, 0xa6, 0x24,
                                         0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb};
        FUZZ_CHECK(ca_identity_from_seed(&id, seed) == CA_OK);
    }
    return id;
}

/* ---- envelopes and cards ---- */

static void rt_envelope(const uint8_t *data, size_t size)
{
    ca_envelope *e = NULL;
    if (ca_envelope_decode(&e, data, size, NULL) != CA_OK)
        return;
    uint8_t *again = buf_for(size);
    size_t n = 0;
    FUZZ_CHECK(cai_envelope_reencode(e, again, size + 64, &n) == CA_OK);
    same(again, n, data, size);
    free(again);
    ca_envelope_free(e);
}

/* The ca_card_params of a parsed card, through the public accessors only. */
static void card_params(const ca_card *card, ca_card_params *p,
                        ca_card_capability caps[CA_CARD_CAPABILITIES_MAX])
{
    FUZZ_CHECK(ca_card_params_init(p, CA_CARD_PARAMS_VERSION) == CA_OK);
    size_t n = ca_card_capability_count(card);
    FUZZ_CHECK(n >= 1 && n <= CA_CARD_CAPABILITIES_MAX);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ca_card_capability_at(card, i, &caps[i], sizeof(ca_card_capability)) == CA_OK);
    p->name = ca_card_name(card);
    p->description = ca_card_description(card);
    p->endpoint = ca_card_endpoint(card);
    p->stake = ca_card_stake(card);
    p->not_before = ca_card_not_before(card);
    p->not_after = ca_card_not_after(card);
    p->sequence = ca_card_sequence(card);
    p->created_at = ca_card_created_at(card);
    p->capabilities = caps;
    p->capability_size = sizeof(ca_card_capability);
    p->capability_count = n;
}

static void rt_card_body(const uint8_t *data, size_t size)
{
    ca_card *card = NULL;
    if (cai_card_body_decode(&card, data, size) != CA_OK)
        return;
    ca_card_params p;
    ca_card_capability caps[CA_CARD_CAPABILITIES_MAX];
    card_params(card, &p, caps);
    uint8_t *again = buf_for(size);
    size_t n = 0;
    FUZZ_CHECK(cai_card_body_encode(&p, again, size + 64, &n) == CA_OK);
    same(again, n, data, size);
    free(again);
    ca_card_free(card);
}

static void rt_card(const uint8_t *data, size_t size)
{
    ca_envelope *e = NULL;
    ca_card *card = NULL;
    if (ca_envelope_decode(&e, data, size, NULL) != CA_OK)
        return;
    if (ca_card_parse(&card, e) == CA_OK) {
        ca_signature sig;
        ca_envelope_signature(e, &sig);
        uint8_t *again = buf_for(size);
        size_t n = 0;
        FUZZ_CHECK(cai_card_reencode(card, &sig, again, size + 64, &n) == CA_OK);
        same(again, n, data, size);
        /* and the card's values are the envelope's */
        ca_hash a, b;
        ca_card_message_id(card, &a);
        ca_envelope_id(e, &b);
        FUZZ_CHECK(memcmp(a.bytes, b.bytes, CA_HASH_BYTES) == 0);
        free(again);
        ca_card_free(card);
    }
    ca_envelope_free(e);
}

/* ---- task bodies, messages and threads ---- */

static void rt_task_body(uint32_t kind, const uint8_t *data, size_t size)
{
    cai_task_body b;
    if (cai_task_body_decode(kind, data, size, &b) != CA_OK)
        return;
    char *text, *uri;
    ca_delegation *links[CA_DELEGATION_MAX_DEPTH];
    if (fuzz_task_body_views(kind, &b, &text, &uri, links)) {
        uint8_t *again = buf_for(size);
        size_t n = 0;
        FUZZ_CHECK(cai_task_body_encode(kind, &b.u, again, size + 64, &n) == CA_OK);
        same(again, n, data, size);
        free(again);
        fuzz_task_links_free(links, b.chain_count);
    }
    free(text);
    free(uri);
}

/*
 * A parsed task message encoded again from its values: the body from the
 * public typed view, the envelope from the message's own fields plus those
 * only the envelope keeps (expiry, flags, signature, a non-request's
 * recipient). `env` is the envelope the message was parsed from (or a
 * decoding of the thread's copy); its encoding must come back.
 */
static void check_task_msg(const ca_task_msg *m, const ca_envelope *env)
{
    uint32_t kind = ca_task_msg_kind(m);
    union {
        ca_task_request request;
        ca_task_bid bid;
        ca_task_award award;
        ca_task_result result;
        ca_task_receipt receipt;
        ca_task_cancel cancel;
        ca_task_dispute dispute;
    } u;
    ca_status st = CA_ERR_WRONG_KIND;
    switch (kind) {
    case CA_KIND_TASK_REQUEST:
        u.request.version = CA_TASK_REQUEST_VERSION;
        st = FUZZ_CALL(ca_task_msg_request(m, &u.request));
        break;
    case CA_KIND_TASK_BID:
        u.bid.version = CA_TASK_BID_VERSION;
        st = FUZZ_CALL(ca_task_msg_bid(m, &u.bid));
        break;
    case CA_KIND_TASK_AWARD:
        u.award.version = CA_TASK_AWARD_VERSION;
        st = FUZZ_CALL(ca_task_msg_award(m, &u.award));
        break;
    case CA_KIND_TASK_RESULT:
        u.result.version = CA_TASK_RESULT_VERSION;
        st = FUZZ_CALL(ca_task_msg_result(m, &u.result));
        break;
    case CA_KIND_TASK_RECEIPT:
        u.receipt.version = CA_TASK_RECEIPT_VERSION;
        st = FUZZ_CALL(ca_task_msg_receipt(m, &u.receipt));
        break;
    case CA_KIND_TASK_CANCEL:
        u.cancel.version = CA_TASK_CANCEL_VERSION;
        st = FUZZ_CALL(ca_task_msg_cancel(m, &u.cancel));
        break;
    case CA_KIND_TASK_DISPUTE:
        u.dispute.version = CA_TASK_DISPUTE_VERSION;
        st = FUZZ_CALL(ca_task_msg_dispute(m, &u.dispute));
        break;
    default:
        break;
    }
    FUZZ_CHECK(st == CA_OK);
    cai_task_msg_view v;
    cai_task_msg_view_of(m, &v);
    uint8_t *body = buf_for(v.body_len);
    size_t body_len = 0;
    FUZZ_CHECK(cai_task_body_encode(kind, &u, body, v.body_len + 64, &body_len) == CA_OK);
    same(body, body_len, v.body_bytes, v.body_len);

    cai_envelope_fields f, e;
    cai_envelope_fields_of(env, &e);
    ca_agent_id sender;
    ca_hash parent;
    ca_task_msg_sender(m, &sender);
    f.kind = kind;
    f.sender = &sender;
    f.recipient = kind == CA_KIND_TASK_REQUEST
                      ? (u.request.has_recipient ? &u.request.recipient : NULL)
                      : e.recipient;
    f.created_at = ca_task_msg_created_at(m);
    f.expires_at = e.expires_at;
    f.parent = ca_task_msg_parent(m, &parent) ? &parent : NULL;
    f.flags = e.flags;
    f.body = e.flags == 0 ? body : e.body;
    f.body_len = e.flags == 0 ? body_len : e.body_len;
    ca_signature sig;
    ca_envelope_signature(env, &sig);
    uint8_t *again = buf_for(v.env_len);
    size_t n = 0;
    FUZZ_CHECK(cai_envelope_encode_signed(&f, &sig, again, v.env_len + 64, &n) == CA_OK);
    same(again, n, v.env, v.env_len);
    ca_hash id;
    ca_task_msg_id(m, &id);
    FUZZ_CHECK(memcmp(id.bytes, cai_envelope_id_ref(env)->bytes, CA_HASH_BYTES) == 0);
    free(again);
    free(body);
}

static void rt_task_msg(const uint8_t *data, size_t size)
{
    ca_envelope *e = NULL;
    if (ca_envelope_decode(&e, data, size, NULL) != CA_OK)
        return;
    ca_task_msg *m = NULL;
    if (cai_task_msg_parse(&m, e, reader(), NULL) == CA_OK) {
        check_task_msg(m, e);
        ca_task_msg_free(m);
    }
    ca_envelope_free(e);
}

static void rt_task_thread(const uint8_t *data, size_t size)
{
    ca_task *t = NULL;
    if (ca_task_deserialize(&t, data, size, NULL) != CA_OK)
        return;
    for (size_t i = 0; i < ca_task_message_count(t); i++) {
        const ca_task_msg *m = ca_task_message(t, i);
        cai_task_msg_view v;
        cai_task_msg_view_of(m, &v);
        ca_envelope *e = NULL;
        FUZZ_CHECK(ca_envelope_decode(&e, v.env, v.env_len, NULL) == CA_OK);
        check_task_msg(m, e);
        ca_envelope_free(e);
    }
    uint8_t *again = buf_for(size);
    size_t n = 0;
    FUZZ_CHECK(ca_task_serialize(t, again, size + 64, &n) == CA_OK);
    same(again, n, data, size);
    free(again);
    ca_task_free(t);
}

/* ---- evidence ---- */

#define EV_PARTS (1 + 2 * CAI_EVIDENCE_CHAIN_MAX)

static void rt_evidence(const uint8_t *data, size_t size)
{
    ca_evidence *ev = NULL;
    if (ca_evidence_open(&ev, data, size) != CA_OK)
        return;
    uint32_t kind = 0;
    cai_span part[EV_PARTS];
    size_t na = 0, nb = 0;
    FUZZ_CHECK(cai_evidence_parse(data, size, &kind, &part[0], part + 1, &na,
                                  part + 1 + CAI_EVIDENCE_CHAIN_MAX, &nb) == CA_OK);
    FUZZ_CHECK(kind == ca_evidence_kind(ev));
    /* Every envelope re-encoded from its fields into one buffer: request, side a, side b. */
    size_t idx[EV_PARTS], count = 0;
    idx[count++] = 0;
    for (size_t i = 0; i < na; i++)
        idx[count++] = 1 + i;
    for (size_t i = 0; i < nb; i++)
        idx[count++] = 1 + CAI_EVIDENCE_CHAIN_MAX + i;
    uint8_t *envs = buf_for(size);
    cai_span re[EV_PARTS];
    size_t off = 0;
    for (size_t k = 0; k < count; k++) {
        const cai_span *s = &part[idx[k]];
        ca_envelope *e = NULL;
        size_t n = 0;
        FUZZ_CHECK(ca_envelope_decode(&e, s->p, s->n, NULL) == CA_OK);
        FUZZ_CHECK(cai_envelope_reencode(e, envs + off, size + 64 - off, &n) == CA_OK);
        re[k] = (cai_span){envs + off, n};
        off += n;
        ca_envelope_free(e);
    }
    uint8_t *again = buf_for(size);
    size_t n = 0;
    /* in the input's order, then with the sides swapped: the writer orders them */
    FUZZ_CHECK(cai_evidence_write(re[0], re + 1, na, re + 1 + na, nb, again, size + 64, &n) ==
               CA_OK);
    same(again, n, data, size);
    FUZZ_CHECK(cai_evidence_write(re[0], re + 1 + na, nb, re + 1, na, again, size + 64, &n) ==
               CA_OK);
    same(again, n, data, size);
    free(again);
    free(envs);
    ca_evidence_free(ev);
}

/* ---- ledger ops ---- */

static void rt_ledger_op(const uint8_t *data, size_t size)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION}, pub = {.version = CA_LEDGER_OP_VERSION};
    const uint8_t *s = NULL, *c = NULL;
    ca_status st = FUZZ_CALL(cai_ledger_op_decode_signed(data, size, &op, &s, &c, NULL));
    FUZZ_CHECK((ca_ledger_op_decode(data, size, &pub) == CA_OK) == (st == CA_OK));
    if (st != CA_OK)
        return;
    FUZZ_CHECK(memcmp(&op, &pub, sizeof op) == 0);
    uint8_t sig[64], cosig[64];
    memcpy(sig, s, sizeof sig);
    if (c != NULL)
        memcpy(cosig, c, sizeof cosig);
    uint8_t again[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    FUZZ_CHECK(cai_ledger_op_encode_signed(&op, sig, c != NULL ? cosig : NULL, again, sizeof again,
                                           &n) == CA_OK);
    same(again, n, data, size);
}

static void rt_ledger_op_raw(const uint8_t *data, size_t size)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    if (cai_ledger_op_decode_signed(data, size, &op, NULL, NULL, NULL) != CA_OK)
        return;
    uint8_t again[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    FUZZ_CHECK(cai_ledger_op_encode(&op, again, sizeof again, &n) == CA_OK);
    same(again, n, data, size);
}

/* ---- did:key ---- */

static void rt_did(const uint8_t *data, size_t size)
{
    ca_agent_id id;
    if (ca_did_parse((const char *)data, size, &id) != CA_OK)
        return;
    char text[CA_DID_MAX_CHARS + 1];
    size_t n = 0;
    FUZZ_CHECK(ca_did_encode(&id, text, sizeof text, &n) == CA_OK);
    same((const uint8_t *)text, n, data, size);
}

/* ---- key events ---- */

static void rt_key_event(const uint8_t *data, size_t size)
{
    cai_key_event ev;
    if (cai_key_event_decode(data, size, &ev) != CA_OK)
        return;
    uint8_t *out = buf_for(size);
    size_t n = 0;
    FUZZ_CHECK(cai_key_event_encode(&ev, out, size + 64, &n) == CA_OK);
    same(out, n, data, size);
    free(out);
}

/* ---- key files ---- */

static void rt_keyfile(const uint8_t *data, size_t size, int fix)
{
    if (size < 1)
        return;
    size_t pass_len = data[0] < size - 1 ? data[0] : size - 1;
    const char *pass = (const char *)data + 1;
    data += 1 + pass_len;
    size -= 1 + pass_len;
    uint8_t file[CA_KEYFILE_BYTES];
    if (size != CA_KEYFILE_BYTES)
        return;
    memcpy(file, data, size);
    if (fix)
        crypto_generichash(file + 112, 16, file, 112, NULL, 0);

    cai_keyfile_header h;
    if (cai_keyfile_header_read(file, sizeof file, &h) != CA_OK)
        return;
    uint8_t again[CA_KEYFILE_BYTES];
    cai_keyfile_header_write(&h, again);
    same(again, CAI_KEYFILE_HEADER_BYTES, file, CAI_KEYFILE_HEADER_BYTES);
    /* The whole file: only with the passphrase, at the cheapest cost (no slow input). */
    ca_keyfile_options o;
    FUZZ_CHECK(ca_keyfile_options_init(&o, CA_KEYFILE_OPTIONS_VERSION) == CA_OK);
    o.max_opslimit = crypto_pwhash_OPSLIMIT_MIN;
    o.max_memlimit = crypto_pwhash_MEMLIMIT_MIN;
    ca_identity *id = NULL;
    if (ca_identity_import_encrypted(&id, file, sizeof file, pass, pass_len, &o) != CA_OK)
        return;
    uint8_t seed[CA_SEED_BYTES];
    crypto_sign_ed25519_sk_to_seed(seed, cai_identity_secret(id));
    FUZZ_CHECK(cai_keyfile_seal(&h, seed, pass, pass_len, again) == CA_OK);
    same(again, sizeof again, file, sizeof file);
    ca_identity_free(id);
}

/* ---- snapshots ---- */

static void rt_ledger_snapshot(const uint8_t *data, size_t size)
{
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    if (cai_snapshot_decode(data, size, &o, CAI_SNAP_SKIP_CHECKSUM, &l) != CA_OK)
        return;
    uint8_t *enc = NULL;
    size_t n = 0;
    FUZZ_CHECK(cai_snapshot_encode(l, &enc, &n) == CA_OK);
    FUZZ_CHECK(n == size && size >= 64);
    same(enc, n - 64, data, size - 64);
    /* The public writer gives the same bytes. */
    uint8_t *pub = buf_for(n);
    size_t m = 0;
    FUZZ_CHECK(ca_ledger_snapshot_export(l, pub, n, &m) == CA_OK && m == n);
    same(pub, m, enc, n);
    free(pub);
    /* The full decoder accepts the input exactly when its state hash and checksum are right;
     * the public constructor is that decoder. */
    ca_ledger *full = NULL;
    int exact = memcmp(enc + n - 64, data + size - 64, 64) == 0;
    FUZZ_CHECK((cai_snapshot_decode(data, size, &o, 0, &full) == CA_OK) == exact);
    ca_ledger_free(full);
    FUZZ_CHECK((ca_ledger_new_from_snapshot(&full, &o, data, size) == CA_OK) == exact);
    ca_ledger_free(full);
    free(enc);
    ca_ledger_free(l);
}

static void rt_rep_snapshot(const uint8_t *data, size_t size, int fix)
{
    uint8_t *in = buf_for(size);
    if (size > 0)
        memcpy(in, data, size);
    if (fix && size >= 32)
        crypto_generichash(in + size - 32, 32, in, size - 32, NULL, 0);
    ca_reputation_options o;
    FUZZ_CHECK(ca_reputation_options_init(&o, CA_REPUTATION_OPTIONS_VERSION) == CA_OK);
    o.max_agents = 4096;
    o.max_ratings = 16384;
    ca_reputation *rep = NULL;
    FUZZ_CHECK(ca_reputation_new(&rep, &o) == CA_OK);
    if (ca_reputation_snapshot_import(rep, in, size) == CA_OK) {
        uint8_t *again = buf_for(size);
        size_t n = 0;
        FUZZ_CHECK(ca_reputation_snapshot_export(rep, again, size + 64, &n) == CA_OK);
        same(again, n, in, size);
        free(again);
    }
    ca_reputation_free(rep);
    free(in);
}

/* ---- the ledger journal ---- */

/* An op's bytes from its decoded values: signed (with its signatures) or the unsigned encoding. */
static size_t op_reencode(const uint8_t *p, size_t n, int is_signed, uint8_t *out, size_t cap)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    const uint8_t *s = NULL, *c = NULL;
    size_t len = 0;
    if (is_signed) {
        FUZZ_CHECK(cai_ledger_op_decode_signed(p, n, &op, &s, &c, NULL) == CA_OK);
        uint8_t sig[64], cosig[64];
        memcpy(sig, s, sizeof sig);
        if (c != NULL)
            memcpy(cosig, c, sizeof cosig);
        FUZZ_CHECK(cai_ledger_op_encode_signed(&op, sig, c != NULL ? cosig : NULL, out, cap,
                                               &len) == CA_OK);
    } else {
        FUZZ_CHECK(cai_ledger_op_decode_signed(p, n, &op, NULL, NULL, NULL) == CA_OK);
        FUZZ_CHECK(cai_ledger_op_encode(&op, out, cap, &len) == CA_OK);
    }
    return len;
}

static void rt_ledger_journal(const uint8_t *data, size_t size)
{
    ca_ledger_options o = fuzz_ledger_options();
    ca_ledger *l = NULL;
    FUZZ_CHECK(ca_ledger_new(&l, &o) == CA_OK);
    cai_replay rep;
    if (cai_journal_replay(l, data, size, &rep) == CA_OK && rep.good_end > 0) {
        uint8_t *again = buf_for(size);
        cai_journal_header(again, &o, rep.base_seq);
        size_t off = CAI_JOURNAL_HEADER_BYTES;
        uint64_t records = 0;
        while (off < rep.good_end) {
            cai_journal_record rec;
            size_t n = cai_journal_record_read(data + off, rep.good_end - off, &rec);
            FUZZ_CHECK(n > 0);
            uint8_t op[CA_LEDGER_OP_MAX_BYTES];
            if (rec.type != CAI_REC_REFUSED) { /* a refused entry's payload is status and id */
                rec.op_len =
                    op_reencode(rec.op, rec.op_len, rec.type != CAI_REC_TRUSTED, op, sizeof op);
                rec.op = op;
            }
            FUZZ_CHECK(cai_journal_record_write(&rec, again + off) == n);
            off += n;
            records++;
        }
        FUZZ_CHECK(off == rep.good_end && records == rep.replayed + rep.refused);
        same(again, off, data, rep.good_end);
        free(again);
    }
    ca_ledger_free(l);
}

/* ---- delegations and revocations ---- */

static ca_signature envelope_signature(const uint8_t *data, size_t size)
{
    ca_envelope *e = NULL;
    FUZZ_CHECK(ca_envelope_decode(&e, data, size, NULL) == CA_OK);
    ca_signature sig;
    ca_envelope_signature(e, &sig);
    ca_envelope_free(e);
    return sig;
}

static void rt_delegation(const uint8_t *data, size_t size)
{
    ca_delegation *d = NULL;
    if (ca_delegation_decode(&d, data, size) != CA_OK)
        return;
    ca_delegation_info info = {.version = CA_DELEGATION_INFO_VERSION};
    FUZZ_CHECK(ca_delegation_get(d, &info) == CA_OK);
    const char *caps[CA_DELEGATION_CAPABILITIES_MAX];
    FUZZ_CHECK(info.capability_count <= CA_DELEGATION_CAPABILITIES_MAX);
    for (size_t i = 0; i < info.capability_count; i++)
        caps[i] = ca_delegation_capability(d, i);
    ca_delegation_params p;
    FUZZ_CHECK(ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION) == CA_OK);
    p.audience = &info.audience;
    p.capabilities = caps;
    p.capability_count = info.capability_count;
    p.total_cap = info.total_cap;
    p.task_cap = info.task_cap;
    p.not_before = info.not_before;
    p.expires_at = info.expires_at;
    p.nonce = info.nonce;
    p.parent = info.has_parent ? &info.parent : NULL;
    p.created_at = info.created_at;
    ca_signature sig = envelope_signature(data, size);
    uint8_t *again = buf_for(size);
    size_t n = 0;
    FUZZ_CHECK(cai_delegation_encode_signed(&p, &info.issuer, &sig, again, size + 64, &n) == CA_OK);
    same(again, n, data, size);
    free(again);
    ca_delegation_free(d);
}

static void rt_revocation(const uint8_t *data, size_t size)
{
    ca_revocation_info info = {.version = CA_REVOCATION_INFO_VERSION};
    if (ca_revocation_decode(data, size, &info) != CA_OK)
        return;
    ca_signature sig = envelope_signature(data, size);
    uint8_t *again = buf_for(size);
    size_t n = 0;
    FUZZ_CHECK(cai_revocation_reencode(&info, &sig, again, size + 64, &n) == CA_OK);
    same(again, n, data, size);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] & 0x7Fu;
    int fix = (data[0] & RT_FIX_CHECKSUM) != 0;
    data++;
    size--;
    if (sel >= RT_TASK_BODY && sel < RT_TASK_BODY + 7) {
        rt_task_body(CA_KIND_TASK_REQUEST + (sel - RT_TASK_BODY), data, size);
        return 0;
    }
    switch (sel) {
    case RT_ENVELOPE:
        rt_envelope(data, size);
        break;
    case RT_CARD_BODY:
        rt_card_body(data, size);
        break;
    case RT_CARD:
        rt_card(data, size);
        break;
    case RT_TASK_MSG:
        rt_task_msg(data, size);
        break;
    case RT_TASK_THREAD:
        rt_task_thread(data, size);
        break;
    case RT_EVIDENCE:
        rt_evidence(data, size);
        break;
    case RT_LEDGER_OP:
        rt_ledger_op(data, size);
        break;
    case RT_LEDGER_OP_RAW:
        rt_ledger_op_raw(data, size);
        break;
    case RT_DID:
        rt_did(data, size);
        break;
    case RT_KEYFILE:
        rt_keyfile(data, size, fix);
        break;
    case RT_LEDGER_SNAPSHOT:
        rt_ledger_snapshot(data, size);
        break;
    case RT_REP_SNAPSHOT:
        rt_rep_snapshot(data, size, fix);
        break;
    case RT_LEDGER_JOURNAL:
        rt_ledger_journal(data, size);
        break;
    case RT_KEY_EVENT:
        rt_key_event(data, size);
        break;
    case RT_DELEGATION:
        rt_delegation(data, size);
        break;
    case RT_REVOCATION:
        rt_revocation(data, size);
        break;
    default:
        break;
    }
    return 0;
}
