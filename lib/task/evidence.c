/*
 * Equivocation evidence: two different statements of one kind (BID, AWARD,
 * RESULT), one task, one signer, each of which a task thread accepts. Each
 * side is judged by the thread itself (audit mode), not by a second copy of
 * the rules.
 */
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
    uint64_t deadline; /* the request's deadline */
};

enum { EV_KIND = 0, EV_REQUEST = 1, EV_FIRST = 2, EV_SECOND = 3 };

/* The kinds a side's chain holds after the request, in order; a side of kind
 * K ends with K and holds the messages K needs in a thread before it. */
static const uint32_t chain_kinds[CAI_EVIDENCE_CHAIN_MAX] = {CA_KIND_TASK_BID, CA_KIND_TASK_AWARD,
                                                             CA_KIND_TASK_RESULT};

/* Messages on a side of `kind` evidence, or 0 when that kind cannot equivocate. */
static size_t chain_len(uint64_t kind)
{
    for (size_t i = 0; i < CAI_EVIDENCE_CHAIN_MAX; i++)
        if (chain_kinds[i] == kind)
            return i + 1;
    return 0;
}

/* Rewrites the last error as a BAD_EVIDENCE sentence about side `which`. */
static ca_status side_fail(int which, const char *what, ca_status st)
{
    char why[240];
    (void)snprintf(why, sizeof why, "%s", ca_last_error());
    return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence message %d: %s: %s (%s)", which, what, why,
                    ca_status_str(st));
}

/*
 * One side: a fresh thread from the request, then its chain applied in audit
 * mode. Every message must be accepted, exactly as a thread would accept it;
 * the last one is the side's message. *out owns the thread on success.
 */
static ca_status side_build(cai_span request, const cai_span *chain, size_t n, uint32_t kind,
                            int which, ca_task **out)
{
    *out = NULL;
    if (n != chain_len(kind))
        return cai_fail(CA_ERR_BAD_EVIDENCE,
                        "evidence message %d: a %s comes with the %zu message(s) from the bid to "
                        "it, not %zu",
                        which, cai_task_kind_word(kind), chain_len(kind), n);
    ca_envelope *env = NULL;
    ca_task *t = NULL;
    ca_status st = ca_envelope_decode(&env, request.p, request.n, NULL);
    if (st == CA_OK)
        st = cai_task_audit_new(&t, env);
    ca_envelope_free(env);
    if (st != CA_OK)
        return side_fail(which, "the request does not start a task", st);
    for (size_t i = 0; i < n; i++) {
        env = NULL;
        st = ca_envelope_decode(&env, chain[i].p, chain[i].n, NULL);
        if (st == CA_OK && ca_envelope_kind(env) != chain_kinds[i])
            st = cai_fail(CA_ERR_WRONG_KIND, "found kind %u where a %s belongs",
                          ca_envelope_kind(env), cai_task_kind_word(chain_kinds[i]));
        if (st == CA_OK)
            st = cai_task_audit_apply(t, env);
        ca_envelope_free(env);
        if (st != CA_OK) {
            char what[64];
            (void)snprintf(what, sizeof what, "a task thread refuses its %s",
                           cai_task_kind_word(chain_kinds[i]));
            st = side_fail(which, what, st);
            ca_task_free(t);
            return st;
        }
    }
    *out = t;
    return CA_OK;
}

static void last_view(const ca_task *t, cai_task_msg_view *v)
{
    cai_task_msg_view_of(ca_task_message(t, ca_task_message_count(t) - 1), v);
}

static bool same_spans(const cai_span *a, const cai_span *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].n != b[i].n || (a[i].n > 0 && memcmp(a[i].p, b[i].p, a[i].n) != 0))
            return false;
    return true;
}

/*
 * Full verification of a request and two sides: both accepted by a thread,
 * one signer, a real conflict for the kind. Fills ev (not its hash) and
 * *order: < 0 when side a holds the lower message id.
 */
static ca_status verify(cai_span request, const cai_span *a, size_t na, const cai_span *b,
                        size_t nb, uint32_t kind, ca_evidence *ev, int *order)
{
    if (chain_len(kind) == 0)
        return cai_fail(CA_ERR_BAD_EVIDENCE, "kind %u cannot equivocate", kind);
    ca_task *ta = NULL, *tb = NULL;
    ca_status st = side_build(request, a, na, kind, 0, &ta);
    if (st == CA_OK)
        st = side_build(request, b, nb, kind, 1, &tb);
    if (st == CA_OK) {
        cai_task_msg_view va, vb;
        last_view(ta, &va);
        last_view(tb, &vb);
        *order = memcmp(va.id->bytes, vb.id->bytes, CA_HASH_BYTES);
        if (memcmp(va.sender->bytes, vb.sender->bytes, CA_AGENT_ID_BYTES) != 0)
            st = cai_fail(CA_ERR_BAD_EVIDENCE, "evidence messages have different signers");
        else if (kind == CA_KIND_TASK_RESULT && !same_spans(a, b, na - 1))
            st = cai_fail(CA_ERR_BAD_EVIDENCE,
                          "the two results answer different awards: no conflict for the worker");
        else if (va.body_len == vb.body_len &&
                 memcmp(va.body_bytes, vb.body_bytes, va.body_len) == 0)
            st = cai_fail(CA_ERR_BAD_EVIDENCE,
                          "the two %ss make the same statement (re-signed): not equivocation",
                          cai_task_kind_word(kind));
        if (st == CA_OK) {
            ev->offender = *va.sender;
            ev->task = *va.task;
            ev->kind = kind;
            ev->ids[0] = *order < 0 ? *va.id : *vb.id;
            ev->ids[1] = *order < 0 ? *vb.id : *va.id;
            cai_task_msg_view rq;
            cai_task_msg_view_of(ca_task_message(ta, 0), &rq);
            ev->deadline = rq.body->u.request.deadline;
        }
    }
    ca_task_free(ta);
    ca_task_free(tb);
    return st;
}

static void write_chain(cai_wire_writer *w, const cai_span *c, size_t n)
{
    cai_ww_array(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        cai_ww_bin(w, c[i].p, c[i].n);
}

ca_status cai_evidence_write(cai_span request, const cai_span *a, size_t na, const cai_span *b,
                             size_t nb, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (na == 0 || nb == 0)
        return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence needs two messages");
    ca_envelope *last = NULL;
    ca_status st = ca_envelope_decode(&last, a[na - 1].p, a[na - 1].n, NULL);
    if (st != CA_OK)
        return side_fail(0, "not an envelope", st);
    uint32_t kind = ca_envelope_kind(last);
    ca_envelope_free(last);
    ca_evidence ev;
    int order = 0;
    st = verify(request, a, na, b, nb, kind, &ev, &order);
    if (st != CA_OK)
        return st;
    cai_wire_writer w;
    cai_ww_init(&w, out, out_cap);
    cai_ww_map(&w, 4);
    cai_ww_kuint(&w, EV_KIND, kind);
    cai_ww_kbin(&w, EV_REQUEST, request.p, request.n);
    cai_ww_uint(&w, EV_FIRST);
    write_chain(&w, order < 0 ? a : b, order < 0 ? na : nb);
    cai_ww_uint(&w, EV_SECOND);
    write_chain(&w, order < 0 ? b : a, order < 0 ? nb : na);
    st = cai_ww_finish(&w, out_len);
    if (st == CA_ERR_BUFFER_TOO_SMALL)
        st = cai_check_out(NULL, 0, out_len, *out_len);
    return st;
}

/* ---- building from envelopes ---- */

/* The envelope in `context` whose message id is `id`, or NULL. */
static const ca_envelope *context_find(const ca_envelope *const *context, size_t n,
                                       const ca_hash *id)
{
    for (size_t i = 0; i < n; i++) {
        ca_hash h;
        if (context[i] == NULL)
            continue;
        ca_envelope_id(context[i], &h);
        if (memcmp(h.bytes, id->bytes, CA_HASH_BYTES) == 0)
            return context[i];
    }
    return NULL;
}

/* The chain of `leaf` (oldest first, leaf last), following parents through `context`. */
static ca_status resolve_chain(const ca_hash *task, const ca_envelope *const *context, size_t nctx,
                               const ca_envelope *leaf, int which, const ca_envelope **chain,
                               size_t *n)
{
    const ca_envelope *up[CAI_EVIDENCE_CHAIN_MAX];
    size_t k = 0;
    const ca_envelope *cur = leaf;
    for (;;) {
        if (k == CAI_EVIDENCE_CHAIN_MAX)
            return cai_fail(CA_ERR_BAD_EVIDENCE,
                            "evidence message %d: more than %u messages from the request to it",
                            which, CAI_EVIDENCE_CHAIN_MAX);
        up[k++] = cur;
        ca_hash parent;
        if (!ca_envelope_parent(cur, &parent))
            return cai_fail(CA_ERR_BAD_EVIDENCE, "evidence message %d: a message has no parent",
                            which);
        if (memcmp(parent.bytes, task->bytes, CA_HASH_BYTES) == 0)
            break;
        cur = context_find(context, nctx, &parent);
        if (cur == NULL)
            return cai_fail(CA_ERR_BAD_EVIDENCE,
                            "evidence message %d: the message it answers is neither the request "
                            "nor in the context",
                            which);
    }
    for (size_t i = 0; i < k; i++)
        chain[i] = up[k - 1 - i];
    *n = k;
    return CA_OK;
}

static ca_status encoded_size(const ca_envelope *e, size_t *n)
{
    ca_status st = ca_envelope_encoded(e, NULL, 0, n);
    return st == CA_ERR_BUFFER_TOO_SMALL ? CA_OK : st;
}

ca_status ca_evidence_encode(const ca_envelope *request, const ca_envelope *const *context,
                             size_t context_count, const ca_envelope *a, const ca_envelope *b,
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(request);
    CAI_REQUIRE(a);
    CAI_REQUIRE(b);
    CAI_REQUIRE(out_len);
    if (context == NULL && context_count > 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "context is NULL but context_count is %zu",
                        context_count);
    ca_hash task;
    ca_envelope_id(request, &task);
    /* [0] request, then side a's chain, then side b's chain */
    const ca_envelope *all[1 + 2 * CAI_EVIDENCE_CHAIN_MAX];
    size_t na = 0, nb = 0;
    all[0] = request;
    ca_status st = resolve_chain(&task, context, context_count, a, 0, all + 1, &na);
    if (st == CA_OK)
        st = resolve_chain(&task, context, context_count, b, 1, all + 1 + na, &nb);
    if (st != CA_OK)
        return st;
    size_t count = 1 + na + nb, total = 0, sizes[1 + 2 * CAI_EVIDENCE_CHAIN_MAX] = {0};
    for (size_t i = 0; i < count && st == CA_OK; i++) {
        st = encoded_size(all[i], &sizes[i]);
        total += sizes[i];
    }
    if (st != CA_OK)
        return st;
    uint8_t *buf = total > 0 ? malloc(total) : NULL;
    if (buf == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory building evidence");
    cai_span spans[1 + 2 * CAI_EVIDENCE_CHAIN_MAX] = {{NULL, 0}};
    size_t off = 0;
    for (size_t i = 0; i < count && st == CA_OK; i++) {
        st = ca_envelope_encoded(all[i], buf + off, sizes[i], &sizes[i]);
        spans[i] = (cai_span){buf + off, sizes[i]};
        off += sizes[i];
    }
    if (st == CA_OK)
        st = cai_evidence_write(spans[0], spans + 1, na, spans + 1 + na, nb, out, out_cap, out_len);
    free(buf);
    return st;
}

/* ---- opening ---- */

static void read_chain(cai_wire_dec *d, cai_wire_map *m, uint64_t key, size_t max_env, cai_span *c,
                       size_t *n)
{
    uint32_t k = 0;
    memset(c, 0, CAI_EVIDENCE_CHAIN_MAX * sizeof *c);
    cai_wd_key(d, m, key);
    cai_wd_array(d, "messages on a side of the evidence", 1, CAI_EVIDENCE_CHAIN_MAX, &k);
    for (uint32_t i = 0; i < k; i++)
        cai_wd_bin(d, max_env, &c[i].p, &c[i].n);
    *n = k;
}

ca_status cai_evidence_parse(const uint8_t *data, size_t len, uint32_t *kind, cai_span *request,
                             cai_span a[CAI_EVIDENCE_CHAIN_MAX], size_t *na,
                             cai_span b[CAI_EVIDENCE_CHAIN_MAX], size_t *nb)
{
    ca_envelope_options eo;
    ca_status st = ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION);
    if (st != CA_OK)
        return st;
    cai_wire_dec d;
    cai_wire_map m;
    uint64_t k = 0;
    *na = *nb = 0;
    cai_wd_init(&d, data, len);
    cai_wd_map(&d, &m);
    cai_wd_key(&d, &m, EV_KIND);
    cai_wd_uint(&d, UINT32_MAX, &k);
    cai_wd_key(&d, &m, EV_REQUEST);
    cai_wd_bin(&d, eo.max_envelope_bytes, &request->p, &request->n);
    read_chain(&d, &m, EV_FIRST, eo.max_envelope_bytes, a, na);
    read_chain(&d, &m, EV_SECOND, eo.max_envelope_bytes, b, nb);
    cai_wd_map_end(&d, &m);
    *kind = (uint32_t)k;
    return cai_wd_finish(&d);
}

ca_status ca_evidence_open(ca_evidence **out, const uint8_t *data, size_t len)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    uint32_t kind = 0;
    cai_span request = {NULL, 0}, a[CAI_EVIDENCE_CHAIN_MAX], b[CAI_EVIDENCE_CHAIN_MAX];
    size_t na = 0, nb = 0;
    ca_status st = cai_evidence_parse(data, len, &kind, &request, a, &na, b, &nb);
    if (st != CA_OK)
        return st;
    ca_evidence ev;
    int order = 0;
    st = verify(request, a, na, b, nb, kind, &ev, &order);
    if (st == CA_OK && order > 0)
        st = cai_fail(CA_ERR_MALFORMED, "malformed evidence: messages not in id order");
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

uint64_t ca_evidence_deadline(const ca_evidence *ev)
{
    return ev != NULL ? ev->deadline : 0;
}
