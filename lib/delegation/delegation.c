/*
 * Delegations: the body's one table, signing, the strict decoder, accessors
 * and chain verification (include/cyberagent/delegation.h, docs/IDENTITY.md).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "delegation/delegation_internal.h"
#include "envelope/envelope_internal.h"
#include "internal.h"
#include "wire/wire.h"

_Static_assert(CA_DELEGATION_MAX_DEPTH <= 64, "the chain is walked with fixed arrays");

size_t ca_delegation_max_depth(void)
{
    return CA_DELEGATION_MAX_DEPTH;
}

size_t ca_delegation_capabilities_max(void)
{
    return CA_DELEGATION_CAPABILITIES_MAX;
}

/* ---- the body's wire struct and table ---- */

typedef struct dlg_cap_wire {
    const char *p;
    size_t len;
} dlg_cap_wire;

typedef struct dlg_wire {
    size_t cap_count;
    uint64_t total_cap, task_cap, not_before, nonce;
    dlg_cap_wire caps[CA_DELEGATION_CAPABILITIES_MAX];
} dlg_wire;

/* Byte-wise order of two strings given with lengths (the order of the wire). */
static int pattern_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* A pattern: the grammar, and patterns strictly ascending through the array. */
static ca_status check_pattern(const void *obj, size_t index)
{
    const dlg_cap_wire *c = obj;
    ca_status st = ca_capability_pattern_check(c->p, c->len);
    if (st == CA_OK && index > 0 && pattern_cmp(c[-1].p, c[-1].len, c->p, c->len) >= 0)
        st = cai_fail(CA_ERR_MALFORMED,
                      "malformed delegation: capabilities not in strictly ascending order");
    return st;
}

static ca_status check_task_cap(const void *obj, size_t index)
{
    const dlg_wire *w = obj;
    (void)index;
    if (w->task_cap > w->total_cap)
        return cai_fail(CA_ERR_MALFORMED,
                        "malformed delegation: task_cap %llu is above total_cap %llu",
                        (unsigned long long)w->task_cap, (unsigned long long)w->total_cap);
    return CA_OK;
}

static const cai_wire_field cap_elem = {
    CAI_WF_STR(CAI_DLG_CAPABILITIES, "capability", dlg_cap_wire, p, len), .flags = CAI_WF_RAW,
    .max = CA_CAPABILITY_PATTERN_MAX, .check = check_pattern};

static const cai_wire_field dlg_rows[] = {
    {.key = CAI_DLG_CAPABILITIES,
     .name = "capabilities",
     .type = CAI_WT_ARRAY,
     .off = offsetof(dlg_wire, caps),
     .aux_off = offsetof(dlg_wire, cap_count),
     .stride = sizeof(dlg_cap_wire),
     .min = 1,
     .max = CA_DELEGATION_CAPABILITIES_MAX,
     .elem = &cap_elem,
     .rule = "capability patterns (a name, `name.*` or `*`), strictly ascending (byte order)"},
    {CAI_WF_UINT(CAI_DLG_TOTAL_CAP, "total_cap", dlg_wire, total_cap),
     .rule = "most ledger units spent through the delegation in all"},
    {CAI_WF_UINT(CAI_DLG_TASK_CAP, "task_cap", dlg_wire, task_cap), .check = check_task_cap,
     .rule = "most units for any one task; `task_cap <= total_cap`"},
    {CAI_WF_UINT(CAI_DLG_NOT_BEFORE, "not_before", dlg_wire, not_before),
     .rule = "valid from (ms); `not_before <` the envelope's `expires_at`, the expiry"},
    {CAI_WF_UINT(CAI_DLG_NONCE, "nonce", dlg_wire, nonce),
     .rule = "the issuer's choice; tells apart otherwise equal delegations"},
};
const cai_wire_table cai_delegation_table = CAI_WF_TABLE("delegation", dlg_rows, NULL);

/* ---- the handle ---- */

struct ca_delegation {
    ca_envelope *env;
    bool sig_checked;
    bool has_parent;
    ca_agent_id issuer, audience;
    ca_hash id, parent;
    uint64_t created_at, not_before, expires_at, total_cap, task_cap, nonce;
    size_t cap_count;
    const char *caps[CA_DELEGATION_CAPABILITIES_MAX]; /* NUL-terminated, in `text` */
    size_t cap_lens[CA_DELEGATION_CAPABILITIES_MAX];
    char text[];
};

ca_status ca_delegation_params_init(ca_delegation_params *params, unsigned int version)
{
    CAI_REQUIRE(params);
    CAI_REQUIRE_VERSION("ca_delegation_params", version, CA_DELEGATION_PARAMS_VERSION);
    memset(params, 0, sizeof *params);
    params->version = version;
    return CA_OK;
}

/*
 * Checks the params (sign's order, after the audience and version) and fills
 * the wire struct, patterns in byte order. `lens` of the caller's strings.
 */
static ca_status dlg_wire_from_params(const ca_delegation_params *p, dlg_wire *w)
{
    if (p->capability_count == 0 || p->capability_count > CA_DELEGATION_CAPABILITIES_MAX)
        return cai_fail(CA_ERR_LIMIT, "delegation has %zu capabilities (1 .. %u allowed)",
                        p->capability_count, CA_DELEGATION_CAPABILITIES_MAX);
    if (p->capabilities == NULL)
        return cai_fail(CA_ERR_BAD_CAPABILITY, "delegation capabilities are NULL");
    size_t n = p->capability_count;
    for (size_t i = 0; i < n; i++) {
        const char *s = p->capabilities[i];
        if (s == NULL)
            return cai_fail(CA_ERR_BAD_CAPABILITY, "delegation capability %zu is NULL", i);
        size_t len = strnlen(s, CA_CAPABILITY_PATTERN_MAX + 1);
        ca_status st = ca_capability_pattern_check(s, len);
        if (st != CA_OK)
            return st;
        /* Insertion into byte order (at most 16 entries); a repeat is refused. */
        size_t j = i;
        while (j > 0) {
            int c = pattern_cmp(w->caps[j - 1].p, w->caps[j - 1].len, s, len);
            if (c == 0)
                return cai_fail(CA_ERR_INVALID_ARGUMENT, "capability pattern '%s' listed twice", s);
            if (c < 0)
                break;
            w->caps[j] = w->caps[j - 1];
            j--;
        }
        w->caps[j] = (dlg_cap_wire){s, len};
    }
    w->cap_count = n;
    if (p->task_cap > p->total_cap)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "delegation task_cap %llu is above total_cap %llu",
                        (unsigned long long)p->task_cap, (unsigned long long)p->total_cap);
    if (p->expires_at <= p->not_before)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "delegation expires_at %llu is not after not_before %llu",
                        (unsigned long long)p->expires_at, (unsigned long long)p->not_before);
    if (p->expires_at <= p->created_at)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "delegation expires_at %llu is not after created_at %llu",
                        (unsigned long long)p->expires_at, (unsigned long long)p->created_at);
    w->total_cap = p->total_cap;
    w->task_cap = p->task_cap;
    w->not_before = p->not_before;
    w->nonce = p->nonce;
    return CA_OK;
}

/* Most bytes of a body: map header, 16 patterns of 66 bytes with str8 headers, 4 uint64s. */
#define DLG_BODY_MAX (1u + 1u + 3u + CA_DELEGATION_CAPABILITIES_MAX * (2u + 66u) + 4u * 10u)

/* The envelope a delegation travels in (ca_delegation_sign and the re-encoder build it here). */
static void dlg_envelope_params(ca_envelope_params *ep, const ca_delegation_params *p)
{
    (void)ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION);
    ep->kind = CA_KIND_DELEGATION;
    ep->recipient = p->audience;
    ep->parent = p->parent;
    ep->created_at = p->created_at;
    ep->expires_at = p->expires_at;
}

/* Body into `body` (DLG_BODY_MAX bytes). */
static ca_status dlg_body(const ca_delegation_params *p, uint8_t *body, size_t *body_len)
{
    dlg_wire w;
    ca_status st = dlg_wire_from_params(p, &w);
    if (st != CA_OK)
        return st;
    cai_wire_writer ww;
    cai_ww_init(&ww, body, DLG_BODY_MAX);
    cai_wire_put_map(&ww, &cai_delegation_table, &w);
    return cai_ww_finish(&ww, body_len);
}

ca_status ca_delegation_sign(const ca_identity *issuer, const ca_delegation_params *params,
                             uint8_t *out, size_t out_cap, size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(issuer);
    CAI_REQUIRE(params);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    if (params->audience == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "delegation needs an audience");
    ca_agent_id self;
    ca_identity_id(issuer, &self);
    if (memcmp(self.bytes, params->audience->bytes, CA_AGENT_ID_BYTES) == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a delegation's audience is not its issuer");
    CAI_REQUIRE_VERSION("ca_delegation_params", params->version, CA_DELEGATION_PARAMS_VERSION);
    uint8_t body[DLG_BODY_MAX];
    size_t body_len = 0;
    ca_status st = dlg_body(params, body, &body_len);
    if (st != CA_OK)
        return st;
    ca_envelope_params ep;
    dlg_envelope_params(&ep, params);
    return ca_envelope_sign(issuer, &ep, body, body_len, out, out_cap, out_len, id_out);
}

ca_status cai_delegation_encode_signed(const ca_delegation_params *params,
                                       const ca_agent_id *issuer, const ca_signature *sig,
                                       uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t body[DLG_BODY_MAX];
    size_t body_len = 0;
    ca_status st = dlg_body(params, body, &body_len);
    if (st != CA_OK)
        return st;
    ca_envelope_params ep;
    dlg_envelope_params(&ep, params);
    cai_envelope_fields f = {ep.kind,   issuer,   ep.recipient, ep.created_at, ep.expires_at,
                             ep.parent, ep.flags, body,         body_len};
    return cai_envelope_encode_signed(&f, sig, out, out_cap, out_len);
}

/* ---- decoding ---- */

/* The delegation in a decoded envelope; takes `env` over on success. */
static ca_status dlg_parse(ca_envelope *env, ca_delegation **out)
{
    if (ca_envelope_kind(env) != CA_KIND_DELEGATION)
        return cai_fail(CA_ERR_WRONG_KIND, "envelope of kind %u is not a delegation",
                        ca_envelope_kind(env));
    ca_agent_id audience;
    if (!ca_envelope_recipient(env, &audience))
        return cai_fail(CA_ERR_MALFORMED, "malformed delegation: no audience (recipient)");
    const ca_agent_id *issuer = cai_envelope_sender_ref(env);
    if (memcmp(issuer->bytes, audience.bytes, CA_AGENT_ID_BYTES) == 0)
        return cai_fail(CA_ERR_MALFORMED, "malformed delegation: the audience is the issuer");
    if (ca_envelope_flags(env) != 0)
        return cai_fail(CA_ERR_MALFORMED,
                        "malformed delegation: the body is neither compressed nor sealed "
                        "(flags 0x%x)",
                        ca_envelope_flags(env));
    size_t body_len = 0;
    const uint8_t *body = cai_envelope_wire_body(env, &body_len);
    dlg_wire w;
    memset(&w, 0, offsetof(dlg_wire, caps)); /* the array decoder clears each element */
    cai_wire_dec dec;
    cai_wd_init(&dec, body, body_len);
    cai_wd_table(&dec, &cai_delegation_table, &w);
    ca_status st = cai_wd_finish(&dec);
    if (st != CA_OK)
        return st;
    uint64_t expires_at = ca_envelope_expires_at(env);
    if (w.not_before >= expires_at)
        return cai_fail(CA_ERR_MALFORMED,
                        "malformed delegation: not_before %llu is not before the expiry %llu",
                        (unsigned long long)w.not_before, (unsigned long long)expires_at);
    size_t text = 0;
    for (size_t i = 0; i < w.cap_count; i++)
        text += w.caps[i].len + 1;
    ca_delegation *d = calloc(1, sizeof *d + text);
    if (d == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory decoding a delegation");
    char *s = d->text;
    for (size_t i = 0; i < w.cap_count; i++) {
        memcpy(s, w.caps[i].p, w.caps[i].len);
        s[w.caps[i].len] = '\0';
        d->caps[i] = s;
        d->cap_lens[i] = w.caps[i].len;
        s += w.caps[i].len + 1;
    }
    d->cap_count = w.cap_count;
    d->env = env;
    d->issuer = *issuer;
    d->audience = audience;
    ca_envelope_id(env, &d->id);
    d->has_parent = ca_envelope_parent(env, &d->parent) != 0;
    d->created_at = ca_envelope_created_at(env);
    d->expires_at = expires_at;
    d->not_before = w.not_before;
    d->total_cap = w.total_cap;
    d->task_cap = w.task_cap;
    d->nonce = w.nonce;
    *out = d;
    return CA_OK;
}

ca_status ca_delegation_decode(ca_delegation **out, const uint8_t *data, size_t len)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, data, len, NULL);
    if (st != CA_OK)
        return st;
    st = dlg_parse(env, out);
    if (st != CA_OK)
        ca_envelope_free(env);
    return st;
}

ca_status ca_delegation_open(ca_delegation **out, const uint8_t *data, size_t len)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_delegation *d = NULL;
    ca_status st = ca_delegation_decode(&d, data, len);
    if (st != CA_OK)
        return st;
    if ((st = cai_envelope_check_signature(d->env)) != CA_OK) {
        ca_delegation_free(d);
        return cai_fail(st, "delegation: %s", ca_last_error());
    }
    d->sig_checked = true;
    *out = d;
    return CA_OK;
}

const uint8_t *cai_delegation_raw(const ca_delegation *d, size_t *len)
{
    return cai_envelope_raw(d->env, len);
}

void cai_delegation_mark_checked(ca_delegation *d)
{
    d->sig_checked = true;
}

void ca_delegation_free(ca_delegation *d)
{
    if (d == NULL)
        return;
    ca_envelope_free(d->env);
    free(d);
}

ca_status ca_delegation_get(const ca_delegation *d, ca_delegation_info *out)
{
    CAI_REQUIRE(d);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_delegation_info", out->version, CA_DELEGATION_INFO_VERSION);
    unsigned int version = out->version;
    memset(out, 0, sizeof *out);
    out->version = version;
    out->issuer = d->issuer;
    out->audience = d->audience;
    out->id = d->id;
    if (d->has_parent)
        out->parent = d->parent;
    out->has_parent = d->has_parent;
    out->signature_checked = d->sig_checked;
    out->created_at = d->created_at;
    out->not_before = d->not_before;
    out->expires_at = d->expires_at;
    out->total_cap = d->total_cap;
    out->task_cap = d->task_cap;
    out->nonce = d->nonce;
    out->capability_count = d->cap_count;
    return CA_OK;
}

const char *ca_delegation_capability(const ca_delegation *d, size_t index)
{
    return d != NULL && index < d->cap_count ? d->caps[index] : NULL;
}

/* 1 when a pattern of `d` covers (s, len). */
static int dlg_covers(const ca_delegation *d, const char *s, size_t len)
{
    for (size_t i = 0; i < d->cap_count; i++)
        if (ca_capability_pattern_covers(d->caps[i], d->cap_lens[i], s, len))
            return 1;
    return 0;
}

ca_status ca_delegation_grants(const ca_delegation *d, const char *capability,
                               size_t capability_len)
{
    CAI_REQUIRE(d);
    ca_status st = ca_capability_pattern_check(capability, capability_len);
    if (st != CA_OK)
        return st;
    if (!dlg_covers(d, capability, capability_len))
        return cai_fail(CA_ERR_DELEGATION_CAPABILITY, "the delegation does not grant '%.*s'",
                        (int)capability_len, capability);
    return CA_OK;
}

ca_status ca_delegation_encoded(const ca_delegation *d, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE(d);
    return ca_envelope_encoded(d->env, out, out_cap, out_len);
}

/* ---- chains ---- */

ca_status ca_delegation_verify_options_init(ca_delegation_verify_options *opts,
                                            unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ca_delegation_verify_options", version,
                        CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return CA_OK;
}

/* Link i against its parent p (the rules of the header, in its order). */
static ca_status link_check(const ca_delegation *d, const ca_delegation *p, size_t i)
{
    if (!d->has_parent || memcmp(d->parent.bytes, p->id.bytes, CA_HASH_BYTES) != 0)
        return cai_fail(CA_ERR_DELEGATION_PARENT,
                        "delegation chain: link %zu %s the id of link %zu as its parent", i,
                        d->has_parent ? "does not name" : "names no parent, not", i - 1);
    if (memcmp(d->issuer.bytes, p->audience.bytes, CA_AGENT_ID_BYTES) != 0)
        return cai_fail(CA_ERR_DELEGATION_AUDIENCE,
                        "delegation chain: link %zu is issued by another agent than the "
                        "audience of link %zu",
                        i, i - 1);
    for (size_t k = 0; k < d->cap_count; k++)
        if (!dlg_covers(p, d->caps[k], d->cap_lens[k]))
            return cai_fail(CA_ERR_DELEGATION_CAPABILITY,
                            "delegation chain: link %zu grants '%s', which link %zu does not", i,
                            d->caps[k], i - 1);
    if (d->total_cap > p->total_cap)
        return cai_fail(CA_ERR_DELEGATION_TOTAL_CAP,
                        "delegation chain: link %zu has total_cap %llu, above link %zu's %llu", i,
                        (unsigned long long)d->total_cap, i - 1, (unsigned long long)p->total_cap);
    if (d->task_cap > p->task_cap)
        return cai_fail(CA_ERR_DELEGATION_TASK_CAP,
                        "delegation chain: link %zu has task_cap %llu, above link %zu's %llu", i,
                        (unsigned long long)d->task_cap, i - 1, (unsigned long long)p->task_cap);
    if (d->not_before < p->not_before || d->expires_at > p->expires_at)
        return cai_fail(CA_ERR_DELEGATION_WINDOW,
                        "delegation chain: link %zu is valid %llu .. %llu, outside link %zu's "
                        "%llu .. %llu",
                        i, (unsigned long long)d->not_before, (unsigned long long)d->expires_at,
                        i - 1, (unsigned long long)p->not_before,
                        (unsigned long long)p->expires_at);
    return CA_OK;
}

ca_status ca_delegation_chain_verify(const ca_delegation *const *chain, size_t count, uint64_t now,
                                     const ca_delegation_verify_options *opts,
                                     ca_delegation_chain_info *out)
{
    CAI_REQUIRE(chain);
    if (count == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "delegation chain is empty");
    for (size_t i = 0; i < count && i <= CA_DELEGATION_MAX_DEPTH; i++)
        if (chain[i] == NULL)
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "delegation chain: link %zu is NULL", i);
    if (opts != NULL)
        CAI_REQUIRE_VERSION("ca_delegation_verify_options", opts->version,
                            CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    if (out != NULL)
        CAI_REQUIRE_VERSION("ca_delegation_chain_info", out->version,
                            CA_DELEGATION_CHAIN_INFO_VERSION);
    if (count > CA_DELEGATION_MAX_DEPTH)
        return cai_fail(CA_ERR_LIMIT, "delegation chain of %zu links is deeper than %u", count,
                        CA_DELEGATION_MAX_DEPTH);
    ca_status st;
    if (chain[0]->has_parent)
        return cai_fail(CA_ERR_DELEGATION_PARENT,
                        "delegation chain: the root names a parent (it is a re-delegation)");
    for (size_t i = 1; i < count; i++)
        if ((st = link_check(chain[i], chain[i - 1], i)) != CA_OK)
            return st;
    const ca_delegation *leaf = chain[count - 1];
    if (now < leaf->not_before)
        return cai_fail(CA_ERR_NOT_YET_VALID, "delegation chain is valid only from %llu (now %llu)",
                        (unsigned long long)leaf->not_before, (unsigned long long)now);
    if (now > leaf->expires_at)
        return cai_fail(CA_ERR_EXPIRED, "delegation chain expired at %llu (now %llu)",
                        (unsigned long long)leaf->expires_at, (unsigned long long)now);
    const ca_revocation_set *set = opts != NULL ? opts->revocations : NULL;
    ca_revocation_lookup lookup = opts != NULL ? opts->lookup : NULL;
    if (set != NULL || lookup != NULL) {
        for (size_t i = 0; i < count; i++)
            for (size_t j = 0; j <= i; j++) {
                const ca_hash *id = &chain[i]->id;
                const ca_agent_id *by = &chain[j]->issuer;
                if ((set != NULL && ca_revocation_set_contains(set, id, by)) ||
                    (lookup != NULL && lookup(opts->lookup_ctx, id, by)))
                    return cai_fail(CA_ERR_DELEGATION_REVOKED,
                                    "delegation chain: link %zu is revoked by the issuer of link "
                                    "%zu",
                                    i, j);
            }
    }
    for (size_t i = 0; i < count; i++)
        if (!chain[i]->sig_checked && (st = cai_envelope_check_signature(chain[i]->env)) != CA_OK)
            return cai_fail(st, "delegation chain: link %zu: %s", i, ca_last_error());
    if (out != NULL) {
        unsigned int version = out->version;
        memset(out, 0, sizeof *out);
        out->version = version;
        out->delegator = chain[0]->issuer;
        out->delegate = leaf->audience;
        out->root = chain[0]->id;
        out->leaf = leaf->id;
        out->depth = count;
        out->total_cap = leaf->total_cap;
        out->task_cap = leaf->task_cap;
        out->not_before = leaf->not_before;
        out->expires_at = leaf->expires_at;
    }
    return CA_OK;
}
