/* Agent cards: capability grammar, canonical body, signing, strict parsing, accessors. */
#include <stdbool.h>
#include <stdlib.h>

#include "card/card_internal.h"
#include "envelope/envelope_internal.h"
#include "internal.h"
#include "wire/wire.h"

size_t ca_card_name_max(void)
{
    return CA_CARD_NAME_MAX;
}

size_t ca_card_description_max(void)
{
    return CA_CARD_DESCRIPTION_MAX;
}

size_t ca_card_endpoint_max(void)
{
    return CA_CARD_ENDPOINT_MAX;
}

size_t ca_card_capabilities_max(void)
{
    return CA_CARD_CAPABILITIES_MAX;
}

size_t ca_capability_max(void)
{
    return CA_CAPABILITY_MAX;
}

size_t ca_capability_segments_max(void)
{
    return CA_CAPABILITY_SEGMENTS_MAX;
}

/* The bytes of a capability segment: [a-z0-9-]. */
static const bool name_byte[256] = {
    ['-'] = true, ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
    ['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true, ['a'] = true,
    ['b'] = true, ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true, ['g'] = true,
    ['h'] = true, ['i'] = true, ['j'] = true, ['k'] = true, ['l'] = true, ['m'] = true,
    ['n'] = true, ['o'] = true, ['p'] = true, ['q'] = true, ['r'] = true, ['s'] = true,
    ['t'] = true, ['u'] = true, ['v'] = true, ['w'] = true, ['x'] = true, ['y'] = true,
    ['z'] = true};

ca_status ca_capability_check(const char *name, size_t name_len)
{
    if (name == NULL)
        return cai_fail(CA_ERR_BAD_CAPABILITY, "capability name is NULL");
    if (name_len == 0 || name_len > CA_CAPABILITY_MAX)
        return cai_fail(CA_ERR_BAD_CAPABILITY, "capability name has %zu bytes (1 .. %u allowed)",
                        name_len, CA_CAPABILITY_MAX);
    size_t segments = 1, seg_len = 0;
    for (size_t i = 0; i < name_len; i++) {
        char c = name[i];
        if (name_byte[(unsigned char)c]) { /* [a-z0-9-], the common case */
            seg_len++;
        } else if (c == '.') {
            if (seg_len == 0)
                return cai_fail(CA_ERR_BAD_CAPABILITY, "capability name has an empty segment");
            if (++segments > CA_CAPABILITY_SEGMENTS_MAX)
                return cai_fail(CA_ERR_BAD_CAPABILITY, "capability name has more than %u segments",
                                CA_CAPABILITY_SEGMENTS_MAX);
            seg_len = 0;
        } else {
            return cai_fail(CA_ERR_BAD_CAPABILITY,
                            "capability name has a byte 0x%02x outside [a-z0-9-.] at %zu",
                            (unsigned)(unsigned char)c, i);
        }
    }
    if (seg_len == 0)
        return cai_fail(CA_ERR_BAD_CAPABILITY, "capability name has an empty segment");
    return CA_OK;
}

size_t ca_capability_pattern_max(void)
{
    return CA_CAPABILITY_PATTERN_MAX;
}

/* 1 when the pattern ends in ".*" (a prefix pattern); "*" alone is not one. */
static int pattern_is_prefix(const char *p, size_t len)
{
    return len >= 2 && p[len - 1] == '*' && p[len - 2] == '.';
}

ca_status ca_capability_pattern_check(const char *pattern, size_t pattern_len)
{
    if (pattern == NULL)
        return cai_fail(CA_ERR_BAD_CAPABILITY, "capability pattern is NULL");
    if (pattern_len == 1 && pattern[0] == '*')
        return CA_OK;
    return ca_capability_check(pattern, pattern_is_prefix(pattern, pattern_len) ? pattern_len - 2
                                                                                : pattern_len);
}

int ca_capability_pattern_covers(const char *outer, size_t outer_len, const char *inner,
                                 size_t inner_len)
{
    if (outer == NULL || inner == NULL)
        return 0;
    if (outer_len == 1 && outer[0] == '*')
        return 1;
    if (!pattern_is_prefix(outer, outer_len)) /* a name covers only itself */
        return inner_len == outer_len && memcmp(outer, inner, outer_len) == 0;
    /* "p.*": whatever starts with "p." and goes on ("p.*" itself, "p.x", "p.x.*", ...). */
    size_t prefix = outer_len - 1;
    return inner_len > prefix && memcmp(outer, inner, prefix) == 0;
}

ca_status cai_text_check(const char *what, const char *s, size_t len, size_t min, size_t max)
{
    if (len < min || len > max)
        return cai_fail(CA_ERR_LIMIT, "%s has %zu bytes (%zu .. %zu allowed)", what, len, min, max);
    if (len > 0 && memchr(s, '\0', len) != NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s contains a NUL byte", what);
    if (!cai_utf8_valid((const uint8_t *)s, len))
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "%s is not valid UTF-8", what);
    return CA_OK;
}

/* Byte-wise order of two strings given with lengths (the order of the wire). */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* ---- the parsed card ---- */

struct ca_card {
    ca_agent_id agent;
    ca_hash id;
    uint64_t created_at;
    uint64_t stake, not_before, not_after, sequence;
    const char *name, *description, *endpoint;
    ca_signature sig; /* the envelope's signature (zero from cai_card_body_decode) */
    size_t cap_count;
    ca_card_capability *caps; /* points into the same allocation */
    /* followed by: caps array, then the strings, NUL-terminated */
};

ca_status ca_card_params_init(ca_card_params *params, unsigned int version)
{
    CAI_REQUIRE(params);
    CAI_REQUIRE_VERSION("ca_card_params", version, CA_CARD_PARAMS_VERSION);
    memset(params, 0, sizeof *params);
    params->version = version;
    return CA_OK;
}

/*
 * The card body's wire struct: text as zero-copy views, capabilities in wire
 * order. The rows below are the card's one description: cai_card_body_encode
 * writes them, cai_card_body_decode reads them, docs/PROTOCOL.md prints them.
 */
typedef struct card_cap_wire {
    const char *name;
    size_t name_len;
    uint64_t price, latency_ms;
} card_cap_wire;

typedef struct card_wire {
    const char *name, *description, *endpoint;
    size_t name_len, description_len, endpoint_len;
    uint64_t stake, not_before, not_after, sequence;
    size_t cap_count;
    card_cap_wire caps[CA_CARD_CAPABILITIES_MAX];
} card_wire;

/* A capability's name: the grammar, and names strictly ascending through the array. */
static ca_status check_cap_name(const void *obj, size_t index)
{
    const card_cap_wire *c = obj;
    ca_status st = ca_capability_check(c->name, c->name_len);
    if (st == CA_OK && index > 0 && name_cmp(c[-1].name, c[-1].name_len, c->name, c->name_len) >= 0)
        st = cai_fail(CA_ERR_MALFORMED,
                      "malformed card: capabilities not in strictly ascending order");
    return st;
}

static ca_status check_window(const void *obj, size_t index)
{
    const card_wire *w = obj;
    (void)index;
    if (w->not_before >= w->not_after)
        return cai_fail(CA_ERR_MALFORMED, "malformed card: validity window is empty");
    return CA_OK;
}

static const cai_wire_field cap_rows[] = {
    {CAI_WF_STR(CAI_CAP_NAME, "name", card_cap_wire, name, name_len), .flags = CAI_WF_RAW,
     .max = CA_CAPABILITY_MAX, .check = check_cap_name,
     .rule = "capability grammar (below); names strictly ascending (byte order)"},
    {CAI_WF_UINT(CAI_CAP_PRICE, "price", card_cap_wire, price), .rule = "base units per task"},
    {CAI_WF_UINT(CAI_CAP_LATENCY, "latency_ms", card_cap_wire, latency_ms),
     .presence = CAI_WP_NONZERO, .rule = "typical completion time"},
};
const cai_wire_table cai_card_capability_table = CAI_WF_TABLE("card capability", cap_rows, NULL);
static const cai_wire_field cap_elem = {.key = CAI_CARD_CAPABILITIES,
                                        .name = "capability",
                                        .type = CAI_WT_MAP,
                                        .sub = &cai_card_capability_table};

static const cai_wire_field card_rows[] = {
    {CAI_WF_STR(CAI_CARD_NAME, "name", card_wire, name, name_len), .min = 1,
     .max = CA_CARD_NAME_MAX},
    {CAI_WF_STR(CAI_CARD_DESCRIPTION, "description", card_wire, description, description_len),
     .presence = CAI_WP_NONZERO, .min = 1, .max = CA_CARD_DESCRIPTION_MAX},
    {CAI_WF_STR(CAI_CARD_ENDPOINT, "endpoint", card_wire, endpoint, endpoint_len), .min = 1,
     .max = CA_CARD_ENDPOINT_MAX, .rule = "opaque (NATS subject, URL, ...)"},
    {CAI_WF_UINT(CAI_CARD_STAKE, "stake", card_wire, stake),
     .rule = "stake the agent claims (routing checks it against the ledger)"},
    {CAI_WF_UINT(CAI_CARD_NOT_BEFORE, "not_before", card_wire, not_before),
     .rule = "validity window start"},
    {CAI_WF_UINT(CAI_CARD_NOT_AFTER, "not_after", card_wire, not_after), .check = check_window,
     .rule = "validity window end; `not_before < not_after`"},
    {CAI_WF_UINT(CAI_CARD_SEQUENCE, "sequence", card_wire, sequence),
     .rule = "a newer card (higher sequence) from the same agent replaces an older one"},
    {.key = CAI_CARD_CAPABILITIES,
     .name = "capabilities",
     .type = CAI_WT_ARRAY,
     .off = offsetof(card_wire, caps),
     .aux_off = offsetof(card_wire, cap_count),
     .stride = sizeof(card_cap_wire),
     .min = 1,
     .max = CA_CARD_CAPABILITIES_MAX,
     .elem = &cap_elem,
     .rule = "one map per capability (below)"},
};
const cai_wire_table cai_card_table = CAI_WF_TABLE("card", card_rows, NULL);

ca_status cai_card_body_encode(const ca_card_params *p, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    CAI_REQUIRE_VERSION("ca_card_params", p->version, CA_CARD_PARAMS_VERSION);
    CAI_REQUIRE_ELEM_SIZE("ca_card_capability", p->capability_size, CAI_CARD_CAPABILITY_SIZE_1,
                          sizeof(ca_card_capability));
    if (p->name == NULL || p->endpoint == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "card needs a name and an endpoint");
    size_t name_len = strlen(p->name), end_len = strlen(p->endpoint);
    size_t desc_len = p->description != NULL ? strlen(p->description) : 0;
    ca_status st = cai_text_check("card name", p->name, name_len, 1, CA_CARD_NAME_MAX);
    if (st == CA_OK && desc_len > 0)
        st = cai_text_check("card description", p->description, desc_len, 0,
                            CA_CARD_DESCRIPTION_MAX);
    if (st == CA_OK)
        st = cai_text_check("card endpoint", p->endpoint, end_len, 1, CA_CARD_ENDPOINT_MAX);
    if (st != CA_OK)
        return st;
    if (p->not_before >= p->not_after)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "card validity window is empty");
    if (p->capability_count == 0 || p->capability_count > CA_CARD_CAPABILITIES_MAX)
        return cai_fail(CA_ERR_LIMIT, "card has %zu capabilities (1 .. %u allowed)",
                        p->capability_count, CA_CARD_CAPABILITIES_MAX);
    if (p->capabilities == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "card capabilities are NULL");
    /* The caller's array, element size capability_size, in this build's layout. */
    ca_card_capability caps[CA_CARD_CAPABILITIES_MAX];
    for (size_t i = 0; i < p->capability_count; i++)
        cai_elem_get(&caps[i], sizeof caps[i],
                     (const uint8_t *)p->capabilities + i * p->capability_size, p->capability_size);
    /* Sort indices by name (insertion sort, at most 64 entries), refuse duplicates. */
    size_t order[CA_CARD_CAPABILITIES_MAX], lens[CA_CARD_CAPABILITIES_MAX];
    for (size_t i = 0; i < p->capability_count; i++) {
        const char *n = caps[i].name;
        if (n == NULL)
            return cai_fail(CA_ERR_BAD_CAPABILITY, "capability %zu has no name", i);
        lens[i] = strnlen(n, CA_CAPABILITY_MAX + 1);
        st = ca_capability_check(n, lens[i]);
        if (st != CA_OK)
            return st;
        size_t j = i;
        while (j > 0) {
            size_t o = order[j - 1];
            int c = name_cmp(caps[o].name, lens[o], n, lens[i]);
            if (c == 0)
                return cai_fail(CA_ERR_INVALID_ARGUMENT, "capability '%s' listed twice", n);
            if (c < 0)
                break;
            order[j] = o;
            j--;
        }
        order[j] = i;
    }
    card_wire cw; /* only the head and the capabilities written */
    cw.name = p->name;
    cw.name_len = name_len;
    cw.description = p->description;
    cw.description_len = desc_len;
    cw.endpoint = p->endpoint;
    cw.endpoint_len = end_len;
    cw.stake = p->stake;
    cw.not_before = p->not_before;
    cw.not_after = p->not_after;
    cw.sequence = p->sequence;
    cw.cap_count = p->capability_count;
    for (size_t k = 0; k < p->capability_count; k++) {
        const ca_card_capability *c = &caps[order[k]];
        cw.caps[k] = (card_cap_wire){c->name, lens[order[k]], c->price, c->latency_ms};
    }
    cai_wire_writer w;
    cai_ww_init(&w, out, out_cap);
    cai_wire_put_map(&w, &cai_card_table, &cw);
    return cai_ww_finish(&w, out_len);
}

static char *copy_text(char **dst, const char *p, size_t n)
{
    char *s = *dst;
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    *dst += n + 1;
    return s;
}

ca_status cai_card_body_decode(ca_card **out, const uint8_t *body, size_t len)
{
    *out = NULL;
    card_wire w;
    memset(&w, 0, offsetof(card_wire, caps)); /* the array decoder clears each element */
    cai_wire_dec d;
    cai_wd_init(&d, body, len);
    cai_wd_table(&d, &cai_card_table, &w);
    ca_status st = cai_wd_finish(&d);
    if (st != CA_OK)
        return st;
    size_t ncaps = w.cap_count;
    size_t text_total = w.name_len + w.description_len + w.endpoint_len + 3;
    for (size_t i = 0; i < ncaps; i++)
        text_total += w.caps[i].name_len + 1;

    size_t head = sizeof(ca_card) + ncaps * sizeof(ca_card_capability);
    ca_card *card = calloc(1, head + text_total);
    if (card == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating a card");
    card->caps = (ca_card_capability *)(void *)(card + 1);
    char *s = (char *)card + head;
    card->name = copy_text(&s, w.name, w.name_len);
    card->description = copy_text(&s, w.description, w.description_len);
    card->endpoint = copy_text(&s, w.endpoint, w.endpoint_len);
    card->stake = w.stake;
    card->not_before = w.not_before;
    card->not_after = w.not_after;
    card->sequence = w.sequence;
    card->cap_count = ncaps;
    for (size_t i = 0; i < ncaps; i++) {
        card->caps[i].name = copy_text(&s, w.caps[i].name, w.caps[i].name_len);
        card->caps[i].price = w.caps[i].price;
        card->caps[i].latency_ms = w.caps[i].latency_ms;
    }
    *out = card;
    return CA_OK;
}

/* The envelope a card travels in: kind card, no recipient, no parent, no flags, expiring at
 * not_after (docs/PROTOCOL.md). ca_card_sign and cai_card_reencode both build it here. */
static void card_envelope_params(ca_envelope_params *ep, uint64_t created_at, uint64_t not_after)
{
    (void)ca_envelope_params_init(ep, CA_ENVELOPE_PARAMS_VERSION);
    ep->kind = CA_KIND_CARD;
    ep->created_at = created_at;
    ep->expires_at = not_after;
}

ca_status ca_card_sign(const ca_identity *signer, const ca_card_params *params, uint8_t *out,
                       size_t out_cap, size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(signer);
    CAI_REQUIRE(params);
    CAI_REQUIRE(out_len);
    size_t body_len = 0;
    ca_status st = cai_card_body_encode(params, NULL, 0, &body_len);
    if (st != CA_OK && st != CA_ERR_BUFFER_TOO_SMALL)
        return st;
    uint8_t *body = malloc(body_len > 0 ? body_len : 1);
    if (body == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory encoding a card");
    st = cai_card_body_encode(params, body, body_len, &body_len);
    if (st == CA_OK) {
        ca_envelope_params ep;
        card_envelope_params(&ep, params->created_at, params->not_after);
        if (ep.expires_at <= ep.created_at)
            st = cai_fail(CA_ERR_INVALID_ARGUMENT, "card created_at is not before not_after");
        else
            st = ca_envelope_sign(signer, &ep, body, body_len, out, out_cap, out_len, id_out);
    }
    free(body);
    return st;
}

ca_status ca_card_parse(ca_card **out, const ca_envelope *env)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(env);
    if (ca_envelope_kind(env) != CA_KIND_CARD)
        return cai_fail(CA_ERR_WRONG_KIND, "envelope of kind %u is not a card",
                        ca_envelope_kind(env));
    ca_agent_id tmp;
    ca_hash parent;
    if (ca_envelope_recipient(env, &tmp) || ca_envelope_parent(env, &parent))
        return cai_fail(CA_ERR_MALFORMED, "malformed card: a card has no recipient or parent");
    /* One encoding per card: the envelope ca_card_sign writes, nothing else (cai_card_reencode). */
    if (ca_envelope_flags(env) != 0)
        return cai_fail(CA_ERR_MALFORMED,
                        "malformed card: a card body is neither compressed nor sealed (flags 0x%x)",
                        ca_envelope_flags(env));
    size_t body_len = 0;
    const uint8_t *body = cai_envelope_wire_body(env, &body_len);
    ca_card *card = NULL;
    ca_status st = cai_card_body_decode(&card, body, body_len);
    if (st != CA_OK)
        return st;
    if (ca_envelope_expires_at(env) != card->not_after) {
        st = cai_fail(CA_ERR_MALFORMED,
                      "malformed card: the envelope expires at %llu, not at the card's not_after "
                      "%llu",
                      (unsigned long long)ca_envelope_expires_at(env),
                      (unsigned long long)card->not_after);
        ca_card_free(card);
        return st;
    }
    ca_envelope_sender(env, &card->agent);
    ca_envelope_id(env, &card->id);
    ca_envelope_signature(env, &card->sig);
    card->created_at = ca_envelope_created_at(env);
    *out = card;
    return CA_OK;
}

ca_status ca_card_open(ca_card **out, const uint8_t *data, size_t len, uint64_t now,
                       const ca_envelope_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_open(&env, data, len, now, opts);
    if (st != CA_OK)
        return st;
    ca_card *card = NULL;
    st = ca_card_parse(&card, env);
    ca_envelope_free(env);
    if (st != CA_OK)
        return st;
    if (now < card->not_before)
        st = cai_fail(CA_ERR_NOT_YET_VALID, "card is valid only from %llu ms",
                      (unsigned long long)card->not_before);
    else if (now > card->not_after)
        st = cai_fail(CA_ERR_EXPIRED, "card expired at %llu ms",
                      (unsigned long long)card->not_after);
    if (st != CA_OK) {
        ca_card_free(card);
        return st;
    }
    *out = card;
    return CA_OK;
}

ca_status cai_card_encode_signed(const ca_card_params *p, const ca_agent_id *agent,
                                 const ca_signature *sig, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    size_t body_len = 0;
    ca_status st = cai_card_body_encode(p, NULL, 0, &body_len);
    if (st != CA_OK && st != CA_ERR_BUFFER_TOO_SMALL)
        return st;
    uint8_t *body = malloc(body_len > 0 ? body_len : 1);
    if (body == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory encoding a card");
    st = cai_card_body_encode(p, body, body_len, &body_len);
    if (st == CA_OK) {
        ca_envelope_params ep;
        card_envelope_params(&ep, p->created_at, p->not_after);
        if (ep.expires_at <= ep.created_at) {
            free(body);
            return cai_fail(CA_ERR_INVALID_ARGUMENT, "card created_at is not before not_after");
        }
        cai_envelope_fields f = {ep.kind,   agent,    ep.recipient, ep.created_at, ep.expires_at,
                                 ep.parent, ep.flags, body,         body_len};
        st = cai_envelope_encode_signed(&f, sig, out, out_cap, out_len);
    }
    free(body);
    return st;
}

ca_status cai_card_reencode(const ca_card *card, const ca_signature *sig, uint8_t *out,
                            size_t out_cap, size_t *out_len)
{
    ca_card_params p;
    (void)ca_card_params_init(&p, CA_CARD_PARAMS_VERSION);
    p.name = card->name;
    p.description = card->description;
    p.endpoint = card->endpoint;
    p.stake = card->stake;
    p.not_before = card->not_before;
    p.not_after = card->not_after;
    p.sequence = card->sequence;
    p.created_at = card->created_at;
    p.capabilities = card->caps;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = card->cap_count;
    return cai_card_encode_signed(&p, &card->agent, sig, out, out_cap, out_len);
}

const ca_signature *cai_card_signature(const ca_card *card)
{
    return &card->sig;
}

void ca_card_free(ca_card *card)
{
    free(card);
}

void ca_card_agent(const ca_card *card, ca_agent_id *out)
{
    if (card != NULL && out != NULL)
        *out = card->agent;
}

void ca_card_message_id(const ca_card *card, ca_hash *out)
{
    if (card != NULL && out != NULL)
        *out = card->id;
}

uint64_t ca_card_created_at(const ca_card *card)
{
    return card != NULL ? card->created_at : 0;
}

const char *ca_card_name(const ca_card *card)
{
    return card != NULL ? card->name : "";
}

const char *ca_card_description(const ca_card *card)
{
    return card != NULL ? card->description : "";
}

const char *ca_card_endpoint(const ca_card *card)
{
    return card != NULL ? card->endpoint : "";
}

uint64_t ca_card_stake(const ca_card *card)
{
    return card != NULL ? card->stake : 0;
}

uint64_t ca_card_not_before(const ca_card *card)
{
    return card != NULL ? card->not_before : 0;
}

uint64_t ca_card_not_after(const ca_card *card)
{
    return card != NULL ? card->not_after : 0;
}

uint64_t ca_card_sequence(const ca_card *card)
{
    return card != NULL ? card->sequence : 0;
}

int ca_card_valid_at(const ca_card *card, uint64_t now)
{
    return card != NULL && now >= card->not_before && now <= card->not_after;
}

size_t ca_card_capability_count(const ca_card *card)
{
    return card != NULL ? card->cap_count : 0;
}

ca_status ca_card_capability_at(const ca_card *card, size_t index, ca_card_capability *out,
                                size_t capability_size)
{
    CAI_REQUIRE(card);
    CAI_REQUIRE(out);
    CAI_REQUIRE_ELEM_SIZE("ca_card_capability", capability_size, CAI_CARD_CAPABILITY_SIZE_1,
                          sizeof(ca_card_capability));
    if (index >= card->cap_count)
        return cai_fail(CA_ERR_NOT_FOUND, "card has %zu capabilities, index %zu asked",
                        card->cap_count, index);
    cai_elem_put(out, capability_size, &card->caps[index], sizeof(ca_card_capability));
    return CA_OK;
}

ca_status ca_card_find_capability(const ca_card *card, const char *name, size_t name_len,
                                  ca_card_capability *out, size_t capability_size)
{
    CAI_REQUIRE(card);
    CAI_REQUIRE(name);
    if (out != NULL)
        CAI_REQUIRE_ELEM_SIZE("ca_card_capability", capability_size, CAI_CARD_CAPABILITY_SIZE_1,
                              sizeof(ca_card_capability));
    size_t lo = 0, hi = card->cap_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *n = card->caps[mid].name;
        int c = name_cmp(n, strlen(n), name, name_len);
        if (c == 0) {
            if (out != NULL)
                cai_elem_put(out, capability_size, &card->caps[mid], sizeof(ca_card_capability));
            return CA_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return cai_fail(CA_ERR_NOT_FOUND, "card has no capability '%.*s'", (int)name_len, name);
}
