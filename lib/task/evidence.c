/* Equivocation evidence: two signed task messages of one kind, one task, one signer. */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "internal.h"
#include "task/task_internal.h"
#include "wire/wire.h"

struct ca_evidence {
    ca_agent_id offender;
    ca_hash task;
    uint32_t kind;
    ca_hash ids[2];
    ca_hash hash;
};

enum { EV_KIND = 0, EV_FIRST = 1, EV_SECOND = 2 };

typedef struct {
    ca_envelope *env;
    ca_task_msg *msg;
} ev_side;

static void side_free(ev_side *s)
{
    ca_task_msg_free(s->msg);
    ca_envelope_free(s->env);
}

/* Decodes, verifies (signature only: checked at its own created_at) and parses one side. */
static ca_status side_open(ev_side *s, const uint8_t *data, size_t len, int which)
{
    s->env = NULL;
    s->msg = NULL;
    ca_status st = ca_envelope_decode(&s->env, data, len, NULL);
    if (st == CA_OK)
        st = ca_envelope_verify(s->env, ca_envelope_created_at(s->env), NULL);
    if (st == CA_OK) {
        uint32_t k = ca_envelope_kind(s->env);
        if (k != CA_KIND_TASK_BID && k != CA_KIND_TASK_AWARD && k != CA_KIND_TASK_RESULT)
            st = cai_fail(CA_ERR_BAD_EVIDENCE, "kind %u cannot equivocate", k);
    }
    if (st == CA_OK)
        st = cai_task_msg_parse(&s->msg, s->env, NULL, NULL);
    if (st != CA_OK) {
        char why[200];
        (void)snprintf(why, sizeof why, "%s", ca_last_error());
        side_free(s);
        return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence message %d: %s (%s)", which, why,
                        ca_status_str(st));
    }
    return CA_OK;
}

/* The equivocation checks on two opened sides; fills ev. */
static ca_status check_pair(const ev_side *a, const ev_side *b, ca_evidence *ev)
{
    cai_task_msg_view va, vb;
    cai_task_msg_view_of(a->msg, &va);
    cai_task_msg_view_of(b->msg, &vb);
    if (va.kind != vb.kind)
        return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence messages are of different kinds");
    if (memcmp(va.sender->bytes, vb.sender->bytes, CA_AGENT_ID_BYTES) != 0)
        return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence messages have different signers");
    if (memcmp(va.task->bytes, vb.task->bytes, CA_HASH_BYTES) != 0)
        return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence messages belong to different tasks");
    int c = memcmp(va.id->bytes, vb.id->bytes, CA_HASH_BYTES);
    if (c == 0)
        return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence messages are the same message");
    ev->offender = *va.sender;
    ev->task = *va.task;
    ev->kind = va.kind;
    ev->ids[0] = c < 0 ? *va.id : *vb.id;
    ev->ids[1] = c < 0 ? *vb.id : *va.id;
    return CA_OK;
}

ca_status cai_evidence_encode_bytes(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                    uint8_t *out, size_t out_cap, size_t *out_len)
{
    ev_side sa, sb;
    ca_evidence ev;
    ca_status st = side_open(&sa, a, a_len, 0);
    if (st != CA_OK)
        return st;
    st = side_open(&sb, b, b_len, 1);
    if (st != CA_OK) {
        side_free(&sa);
        return st;
    }
    st = check_pair(&sa, &sb, &ev);
    if (st == CA_OK) {
        cai_task_msg_view va, vb;
        cai_task_msg_view_of(sa.msg, &va);
        cai_task_msg_view_of(sb.msg, &vb);
        if (memcmp(va.id->bytes, vb.id->bytes, CA_HASH_BYTES) > 0) {
            cai_task_msg_view tmp = va;
            va = vb;
            vb = tmp;
        }
        cai_wire_writer w;
        cai_ww_init(&w, out, out_cap);
        cai_ww_map(&w, 3);
        cai_ww_kuint(&w, EV_KIND, ev.kind);
        cai_ww_kbin(&w, EV_FIRST, va.env, va.env_len);
        cai_ww_kbin(&w, EV_SECOND, vb.env, vb.env_len);
        st = cai_ww_finish(&w, out_len);
        if (st == CA_ERR_BUFFER_TOO_SMALL)
            st = cai_check_out(NULL, 0, out_len, *out_len);
    }
    side_free(&sa);
    side_free(&sb);
    return st;
}

ca_status ca_evidence_encode(const ca_envelope *a, const ca_envelope *b, uint8_t *out,
                             size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(a);
    CAI_REQUIRE(b);
    CAI_REQUIRE(out_len);
    size_t la = 0, lb = 0;
    ca_status st = ca_envelope_encoded(a, NULL, 0, &la);
    if (st == CA_ERR_BUFFER_TOO_SMALL || st == CA_OK)
        st = ca_envelope_encoded(b, NULL, 0, &lb);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        return st;
    uint8_t *buf = malloc(la + lb);
    if (buf == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory building evidence");
    st = ca_envelope_encoded(a, buf, la, &la);
    if (st == CA_OK)
        st = ca_envelope_encoded(b, buf + la, lb, &lb);
    if (st == CA_OK)
        st = cai_evidence_encode_bytes(buf, la, buf + la, lb, out, out_cap, out_len);
    free(buf);
    return st;
}

ca_status ca_evidence_open(ca_evidence **out, const uint8_t *data, size_t len)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    ca_envelope_options eo;
    ca_status st = ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION);
    if (st != CA_OK)
        return st;
    cai_wire_reader r;
    cai_wire_map m;
    uint64_t kind = 0;
    const uint8_t *p[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    cai_wr_init(&r, data, len);
    st = cai_wr_map(&r, &m);
    if (st == CA_OK)
        st = cai_wr_require(&m, EV_KIND);
    if (st == CA_OK)
        st = cai_wr_uint_max(&r, UINT32_MAX, &kind);
    for (int i = 0; i < 2 && st == CA_OK; i++) {
        st = cai_wr_require(&m, (uint64_t)EV_FIRST + (uint64_t)i);
        if (st == CA_OK)
            st = cai_wr_bin_max(&r, eo.max_envelope_bytes, &p[i], &n[i]);
    }
    if (st == CA_OK)
        st = cai_wr_map_end(&m);
    if (st == CA_OK)
        st = cai_wr_end(&r);
    if (st != CA_OK)
        return st;
    ev_side sa, sb;
    ca_evidence ev;
    st = side_open(&sa, p[0], n[0], 0);
    if (st != CA_OK)
        return st;
    st = side_open(&sb, p[1], n[1], 1);
    if (st != CA_OK) {
        side_free(&sa);
        return st;
    }
    st = check_pair(&sa, &sb, &ev);
    if (st == CA_OK) {
        ca_hash first;
        ca_task_msg_id(sa.msg, &first);
        if (memcmp(first.bytes, ev.ids[0].bytes, CA_HASH_BYTES) != 0)
            st = cai_fail(CA_ERR_MALFORMED, "malformed evidence: messages not in id order");
        else if (ev.kind != kind)
            st = cai_fail(CA_ERR_BAD_EVIDENCE, "evidence kind field differs from its messages");
    }
    side_free(&sa);
    side_free(&sb);
    if (st != CA_OK)
        return st;
    crypto_generichash(ev.hash.bytes, CA_HASH_BYTES, data, len, NULL, 0);
    ca_evidence *e = malloc(sizeof *e);
    if (e == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory opening evidence");
    *e = ev;
    *out = e;
    return CA_OK;
}

void ca_evidence_free(ca_evidence *ev)
{
    free(ev);
}

void ca_evidence_offender(const ca_evidence *ev, ca_agent_id *out)
{
    if (ev != NULL && out != NULL)
        *out = ev->offender;
}

void ca_evidence_task(const ca_evidence *ev, ca_hash *out)
{
    if (ev != NULL && out != NULL)
        *out = ev->task;
}

uint32_t ca_evidence_kind(const ca_evidence *ev)
{
    return ev != NULL ? ev->kind : 0;
}

void ca_evidence_message(const ca_evidence *ev, int index, ca_hash *out)
{
    if (ev != NULL && out != NULL && (index == 0 || index == 1))
        *out = ev->ids[index];
}

void ca_evidence_offense(const ca_evidence *ev, ca_hash *out)
{
    if (ev == NULL || out == NULL)
        return;
    static const char tag[] = "cyberagent/1/offense";
    uint8_t kind[4];
    cai_store_le32(kind, ev->kind);
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, CA_HASH_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)tag, sizeof tag - 1);
    crypto_generichash_update(&h, ev->offender.bytes, CA_AGENT_ID_BYTES);
    crypto_generichash_update(&h, ev->task.bytes, CA_HASH_BYTES);
    crypto_generichash_update(&h, kind, sizeof kind);
    crypto_generichash_final(&h, out->bytes, CA_HASH_BYTES);
}

void ca_evidence_hash(const ca_evidence *ev, ca_hash *out)
{
    if (ev != NULL && out != NULL)
        *out = ev->hash;
}

ca_status ca_evidence_verify(const uint8_t *data, size_t len, ca_agent_id *offender, ca_hash *task,
                             uint32_t *kind, ca_hash *evidence_hash)
{
    ca_evidence *ev = NULL;
    ca_status st = ca_evidence_open(&ev, data, len);
    if (st != CA_OK)
        return st;
    ca_evidence_offender(ev, offender);
    ca_evidence_task(ev, task);
    if (kind != NULL)
        *kind = ev->kind;
    ca_evidence_hash(ev, evidence_hash);
    ca_evidence_free(ev);
    return CA_OK;
}
