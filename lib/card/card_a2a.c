/*
 * Signed A2A v1.0 agent cards: export (JWS over the RFC 8785 form of the
 * card), verification of a card from anyone, and the native card inside
 * one of ours. Rules and mapping: docs/PROTOCOL.md, "Signed A2A agent cards".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "card/card_internal.h"
#include "envelope/envelope_internal.h"
#include "identity/identity_internal.h"
#include "internal.h"
#include "wire/json.h"

#define EXT_URI       "urn:cyberagent:card:1"
#define BINDING       "CYBERAGENT/1"
#define KID_MAX       (2 * CA_DID_MAX_CHARS + 2)
#define JWS_HEAD_MAX  (KID_MAX + 64)
#define PROTECTED_MAX 512 /* bytes of a decoded protected header we read */

size_t ca_a2a_json_max(void)
{
    return CA_A2A_JSON_MAX;
}

size_t ca_a2a_json_depth_max(void)
{
    return CA_A2A_JSON_DEPTH_MAX;
}

_Static_assert(CA_A2A_JSON_DEPTH_MAX == CAI_JSON_DEPTH_MAX, "one depth limit");

/* ---- helpers ---- */

/* Parses at most CA_A2A_JSON_MAX bytes (the public limit) into *doc. */
static ca_status parse_limited(cai_json *doc, const char *json, size_t len)
{
    if (len > CA_A2A_JSON_MAX)
        return cai_fail(CA_ERR_LIMIT, "JSON text of %zu bytes is over CA_A2A_JSON_MAX (%u)", len,
                        (unsigned)CA_A2A_JSON_MAX);
    return cai_json_parse(doc, json, len);
}

/* Canonical text of node v (without member `skip`) into a fresh NUL-terminated buffer. */
static ca_status canonical_alloc(const cai_json *doc, uint32_t v, const char *skip, char **out,
                                 size_t *out_len)
{
    cai_text w = {NULL, 0, 0};
    ca_status st = cai_json_canonical(doc, v, skip, &w);
    if (st != CA_OK)
        return st;
    char *buf = malloc(w.len + 1);
    if (buf == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory writing canonical JSON");
    size_t need = w.len;
    w = (cai_text){buf, need, 0};
    st = cai_json_canonical(doc, v, skip, &w);
    if (st != CA_OK) {
        free(buf);
        return st;
    }
    buf[need] = '\0';
    *out = buf;
    *out_len = need;
    return CA_OK;
}

/* Copies text into a caller buffer under the OWNERSHIP RULE. */
static ca_status copy_out(const char *text, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    ca_status st = cai_check_out(out, out_cap, out_len, len + 1);
    *out_len = len;
    if (st != CA_OK)
        return st;
    memcpy(out, text, len);
    out[len] = '\0';
    return CA_OK;
}

ca_status ca_jcs_canonicalize(const char *json, size_t len, char *out, size_t out_cap,
                              size_t *out_len)
{
    CAI_REQUIRE(json);
    CAI_REQUIRE(out_len);
    cai_json doc;
    ca_status st = parse_limited(&doc, json, len);
    if (st != CA_OK)
        return st;
    char *text = NULL;
    size_t n = 0;
    st = canonical_alloc(&doc, 0, NULL, &text, &n);
    cai_json_free(&doc);
    if (st != CA_OK)
        return st;
    st = copy_out(text, n, out, out_cap, out_len);
    free(text);
    return st;
}

/* did:key URL of a key: the did, '#', its method-specific id (W3C did:key). */
static void kid_of(const ca_agent_id *id, char kid[KID_MAX + 1])
{
    char did[CA_DID_MAX_CHARS + 1];
    size_t n = 0;
    (void)ca_did_encode(id, did, sizeof did, &n);
    (void)snprintf(kid, KID_MAX + 1, "%s#%s", did, did + 8); /* after "did:key:" */
}

/* ---- export ---- */

static void put_u64(cai_text *w, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "\"%" PRIu64 "\"", v);
    cai_text_raw(w, num, (size_t)n);
}

static void put_str(cai_text *w, const char *s)
{
    cai_text_json_str(w, s, strlen(s));
}

/* The card's A2A JSON without `signatures`, members in any order, the closing '}' left off. */
static void payload_open(const ca_card *card, const char *did, cai_text *w)
{
    char b64sig[CA_SIGNATURE_BYTES * 2];
    size_t sl = cai_b64url_len(CA_SIGNATURE_BYTES);
    cai_b64url_encode(cai_card_signature(card)->bytes, CA_SIGNATURE_BYTES, b64sig);
    char version[24];
    (void)snprintf(version, sizeof version, "%" PRIu64, ca_card_sequence(card));
    cai_text_lit(w, "{\"name\":");
    put_str(w, ca_card_name(card));
    cai_text_lit(w, ",\"description\":");
    put_str(w, ca_card_description(card));
    cai_text_lit(w, ",\"supportedInterfaces\":[{\"url\":");
    put_str(w, ca_card_endpoint(card));
    cai_text_lit(w, ",\"protocolBinding\":\"" BINDING "\",\"protocolVersion\":\"1.0\"}]");
    cai_text_lit(w, ",\"version\":");
    put_str(w, version);
    cai_text_lit(w, ",\"capabilities\":{\"streaming\":false,\"pushNotifications\":false,"
                    "\"extensions\":[{\"uri\":\"" EXT_URI "\",\"description\":\"libcyberagent "
                    "card: prices, stake, validity window and the signed native card\","
                    "\"params\":{\"agent\":");
    put_str(w, did);
    cai_text_lit(w, ",\"createdAt\":");
    put_u64(w, ca_card_created_at(card));
    cai_text_lit(w, ",\"stake\":");
    put_u64(w, ca_card_stake(card));
    cai_text_lit(w, ",\"notBefore\":");
    put_u64(w, ca_card_not_before(card));
    cai_text_lit(w, ",\"notAfter\":");
    put_u64(w, ca_card_not_after(card));
    cai_text_lit(w, ",\"sequence\":");
    put_u64(w, ca_card_sequence(card));
    cai_text_lit(w, ",\"signature\":\"");
    cai_text_raw(w, b64sig, sl);
    cai_text_lit(w, "\",\"prices\":[");
    size_t n = ca_card_capability_count(card);
    for (size_t i = 0; i < n; i++) {
        ca_card_capability c;
        (void)ca_card_capability_at(card, i, &c, sizeof(ca_card_capability));
        cai_text_lit(w, i > 0 ? ",{\"skill\":" : "{\"skill\":");
        put_str(w, c.name);
        cai_text_lit(w, ",\"price\":");
        put_u64(w, c.price);
        if (c.latency_ms != 0) {
            cai_text_lit(w, ",\"latencyMs\":");
            put_u64(w, c.latency_ms);
        }
        cai_text_lit(w, "}");
    }
    cai_text_lit(w, "]}}]},\"defaultInputModes\":[\"application/octet-stream\"],"
                    "\"defaultOutputModes\":[\"application/octet-stream\"],\"skills\":[");
    for (size_t i = 0; i < n; i++) {
        ca_card_capability c;
        (void)ca_card_capability_at(card, i, &c, sizeof(ca_card_capability));
        char desc[96];
        if (c.latency_ms != 0)
            (void)snprintf(desc, sizeof desc, "price %" PRIu64 " base units, within %" PRIu64 " ms",
                           c.price, c.latency_ms);
        else
            (void)snprintf(desc, sizeof desc, "price %" PRIu64 " base units", c.price);
        cai_text_lit(w, i > 0 ? ",{\"id\":" : "{\"id\":");
        put_str(w, c.name);
        cai_text_lit(w, ",\"name\":");
        put_str(w, c.name);
        cai_text_lit(w, ",\"description\":");
        put_str(w, desc);
        cai_text_lit(w, ",\"tags\":[");
        const char *seg = c.name;
        for (const char *p = c.name;; p++) {
            if (*p == '.' || *p == '\0') {
                cai_text_lit(w, seg == c.name ? "\"" : ",\"");
                cai_text_raw(w, seg, (size_t)(p - seg)); /* [a-z0-9-]: nothing to escape */
                cai_text_lit(w, "\"");
                if (*p == '\0')
                    break;
                seg = p + 1;
            }
        }
        cai_text_lit(w, "]}");
    }
    cai_text_lit(w, "]");
}

/* Writes `extra` then '}' after payload_open, into a fresh buffer, and canonicalizes it. */
static ca_status card_json(const ca_card *card, const char *did, const char *extra, char **out,
                           size_t *out_len)
{
    cai_text w = {NULL, 0, 0};
    payload_open(card, did, &w);
    cai_text_lit(&w, extra);
    cai_text_lit(&w, "}");
    size_t need = w.len;
    char *text = malloc(need);
    if (text == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory writing an A2A card");
    w = (cai_text){text, need, 0};
    payload_open(card, did, &w);
    cai_text_lit(&w, extra);
    cai_text_lit(&w, "}");
    cai_json doc;
    ca_status st = cai_json_parse(&doc, text, need);
    free(text);
    if (st != CA_OK)
        return st;
    st = canonical_alloc(&doc, 0, NULL, out, out_len);
    cai_json_free(&doc);
    return st;
}

/* The canonical payload (no signatures) of `card`, as export writes and import compares. */
static ca_status card_payload(const ca_card *card, char **out, size_t *out_len)
{
    char did[CA_DID_MAX_CHARS + 1];
    size_t dl = 0;
    ca_agent_id agent;
    ca_card_agent(card, &agent);
    ca_status st = ca_did_encode(&agent, did, sizeof did, &dl);
    if (st != CA_OK)
        return st;
    return card_json(card, did, "", out, out_len);
}

ca_status ca_card_to_a2a_signed_json(const ca_card *card, const ca_identity *signer, char *out,
                                     size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(card);
    CAI_REQUIRE(signer);
    CAI_REQUIRE(out_len);
    ca_agent_id agent, me;
    ca_card_agent(card, &agent);
    ca_identity_id(signer, &me);
    if (memcmp(agent.bytes, me.bytes, sizeof agent.bytes) != 0)
        return cai_fail(CA_ERR_KEY_MISMATCH, "the signer is not the card's agent");
    char did[CA_DID_MAX_CHARS + 1], kid[KID_MAX + 1];
    size_t dl = 0;
    ca_status st = ca_did_encode(&agent, did, sizeof did, &dl);
    if (st != CA_OK)
        return st;
    kid_of(&agent, kid);
    char *payload = NULL, *full = NULL, *input = NULL, *extra = NULL;
    size_t plen = 0, flen = 0;
    st = card_payload(card, &payload, &plen);
    if (st != CA_OK)
        return st;
    /* protected header: canonical, members already in JCS order */
    char head[JWS_HEAD_MAX];
    int hl =
        snprintf(head, sizeof head, "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":\"JOSE\"}", kid);
    size_t ph = cai_b64url_len((size_t)hl), pp = cai_b64url_len(plen);
    input = malloc(ph + 1 + pp);
    extra = malloc(ph + 256);
    if (input == NULL || extra == NULL) {
        st = cai_fail(CA_ERR_NO_MEMORY, "out of memory signing an A2A card");
        goto done;
    }
    cai_b64url_encode((const uint8_t *)head, (size_t)hl, input);
    input[ph] = '.';
    cai_b64url_encode((const uint8_t *)payload, plen, input + ph + 1);
    ca_signature sig;
    st = cai_identity_sign_jws(signer, (const uint8_t *)input, ph + 1 + pp, &sig);
    if (st != CA_OK)
        goto done;
    char b64sig[CA_SIGNATURE_BYTES * 2];
    size_t sl = cai_b64url_len(CA_SIGNATURE_BYTES);
    cai_b64url_encode(sig.bytes, sizeof sig.bytes, b64sig);
    (void)snprintf(extra, ph + 256,
                   ",\"signatures\":[{\"protected\":\"%.*s\",\"signature\":\"%.*s\"}]", (int)ph,
                   input, (int)sl, b64sig);
    st = card_json(card, did, extra, &full, &flen);
    if (st == CA_OK)
        st = copy_out(full, flen, out, out_cap, out_len);
done:
    free(payload);
    free(full);
    free(input);
    free(extra);
    return st;
}

/* ---- import ---- */

struct ca_a2a_card {
    cai_json doc;
    char *payload;
    size_t payload_len;
    ca_agent_id signer;
    char kid[KID_MAX + 1];
    uint32_t name, description, version, interfaces, skills;
};

ca_status ca_a2a_verify_options_init(ca_a2a_verify_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ca_a2a_verify_options", version, CA_A2A_VERIFY_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    return CA_OK;
}

static int is_type(const cai_json *d, uint32_t v, uint32_t type)
{
    return v != 0 && d->nodes[v].type == type;
}

/* Member `name` of object `obj` as a string node, or 0 (missing or another type). */
static uint32_t get_str(const cai_json *d, uint32_t obj, const char *name)
{
    uint32_t v = cai_json_get(d, obj, name);
    return is_type(d, v, CAI_JSON_STRING) ? v : 0;
}

/* Element `index` of array node `arr` (index < count). */
static uint32_t element(const cai_json *d, uint32_t arr, uint32_t index)
{
    uint32_t e = arr + 1;
    while (index-- > 0)
        e = d->nodes[e].end;
    return e;
}

static ca_status shape_fail(const char *what)
{
    return cai_fail(CA_ERR_A2A_CARD, "not an A2A v1.0 AgentCard: %s", what);
}

/* Every element of array `arr` is an object with the string members in `names`. */
static int objects_with(const cai_json *d, uint32_t arr, const char *const *names, size_t n)
{
    for (uint32_t i = 0, e = arr + 1; i < d->nodes[arr].count; i++, e = d->nodes[e].end) {
        if (d->nodes[e].type != CAI_JSON_OBJECT)
            return 0;
        for (size_t k = 0; k < n; k++)
            if (get_str(d, e, names[k]) == 0)
                return 0;
    }
    return 1;
}

static int strings_only(const cai_json *d, uint32_t arr)
{
    for (uint32_t i = 0, e = arr + 1; i < d->nodes[arr].count; i++, e = d->nodes[e].end)
        if (d->nodes[e].type != CAI_JSON_STRING)
            return 0;
    return 1;
}

/* The A2A v1.0 AgentCard fields section 4.4.1 marks REQUIRED, with their types. */
static ca_status check_shape(ca_a2a_card *c)
{
    const cai_json *d = &c->doc;
    if (d->nodes[0].type != CAI_JSON_OBJECT)
        return shape_fail("the JSON value is not an object");
    if (cai_json_get(d, 0, "supportedInterfaces") == 0 &&
        (cai_json_get(d, 0, "protocolVersion") != 0 || cai_json_get(d, 0, "url") != 0))
        return cai_fail(CA_ERR_UNSUPPORTED, "an A2A 0.x agent card (top-level protocolVersion / "
                                            "url, no supportedInterfaces): only v1.0 is read");
    static const char *const iface[] = {"url", "protocolBinding", "protocolVersion"};
    static const char *const skill[] = {"id", "name", "description"};
    c->name = get_str(d, 0, "name");
    c->description = get_str(d, 0, "description");
    c->version = get_str(d, 0, "version");
    c->interfaces = cai_json_get(d, 0, "supportedInterfaces");
    c->skills = cai_json_get(d, 0, "skills");
    uint32_t in = cai_json_get(d, 0, "defaultInputModes");
    uint32_t outm = cai_json_get(d, 0, "defaultOutputModes");
    if (c->name == 0 || c->description == 0 || c->version == 0)
        return shape_fail("name, description and version must be strings");
    if (!is_type(d, c->interfaces, CAI_JSON_ARRAY) || d->nodes[c->interfaces].count == 0 ||
        !objects_with(d, c->interfaces, iface, 3))
        return shape_fail("supportedInterfaces must list objects with url, protocolBinding and "
                          "protocolVersion strings");
    if (!is_type(d, cai_json_get(d, 0, "capabilities"), CAI_JSON_OBJECT))
        return shape_fail("capabilities must be an object");
    if (!is_type(d, in, CAI_JSON_ARRAY) || !strings_only(d, in) ||
        !is_type(d, outm, CAI_JSON_ARRAY) || !strings_only(d, outm))
        return shape_fail("defaultInputModes and defaultOutputModes must be arrays of strings");
    if (!is_type(d, c->skills, CAI_JSON_ARRAY) || !objects_with(d, c->skills, skill, 3))
        return shape_fail("skills must list objects with id, name and description strings");
    for (uint32_t i = 0, e = c->skills + 1; i < d->nodes[c->skills].count;
         i++, e = d->nodes[e].end) {
        uint32_t tags = cai_json_get(d, e, "tags");
        if (!is_type(d, tags, CAI_JSON_ARRAY) || !strings_only(d, tags))
            return shape_fail("a skill's tags must be an array of strings");
    }
    return CA_OK;
}

static ca_status jws_fail(const char *what)
{
    return cai_fail(CA_ERR_JWS, "AgentCardSignature: %s", what);
}

/*
 * The key a kid names: a did:key URL "did:key:<id>#<id>" or the bare did.
 * CA_OK, or CA_ERR_BAD_DID when it names none.
 */
static ca_status kid_key(const char *kid, size_t len, ca_agent_id *out)
{
    const char *hash = memchr(kid, '#', len);
    size_t dl = hash != NULL ? (size_t)(hash - kid) : len;
    if (dl < 8 || memcmp(kid, "did:key:", 8) != 0)
        return cai_fail(CA_ERR_BAD_DID, "kid \"%.80s\" is not a did:key URL", kid);
    if (hash != NULL && (len - dl - 1 != dl - 8 || memcmp(hash + 1, kid + 8, dl - 8) != 0))
        return cai_fail(CA_ERR_BAD_DID, "kid \"%.80s\": the fragment is not the did's own key id",
                        kid);
    return ca_did_parse(kid, dl, out);
}

typedef struct {
    ca_status st; /* CA_OK: usable; else why it is skipped */
    ca_agent_id key;
    uint32_t kid; /* node in hdr */
    cai_json hdr; /* the decoded protected header */
    ca_signature sig;
} sig_try;

/* Reads signature object `s`. Shape errors fail the call; a skip sets t->st. */
static ca_status read_signature(const cai_json *d, uint32_t s, const ca_a2a_verify_options *o,
                                sig_try *t)
{
    memset(t, 0, sizeof *t);
    if (d->nodes[s].type != CAI_JSON_OBJECT)
        return jws_fail("a signature is not an object");
    uint32_t prot = get_str(d, s, "protected"), sigv = get_str(d, s, "signature");
    uint32_t unprot = cai_json_get(d, s, "header");
    uint32_t known = 2 + (unprot != 0);
    if (prot == 0 || sigv == 0 || d->nodes[s].count != known ||
        (unprot != 0 && d->nodes[unprot].type != CAI_JSON_OBJECT))
        return jws_fail("needs the strings protected and signature, an optional header object, "
                        "nothing else");
    uint8_t raw[PROTECTED_MAX];
    size_t rl = 0, sl = 0;
    if (!cai_b64url_decode(cai_json_text(d, prot), d->nodes[prot].len, raw, sizeof raw, &rl))
        return jws_fail("protected is not unpadded base64url (of at most 512 bytes)");
    if (!cai_b64url_decode(cai_json_text(d, sigv), d->nodes[sigv].len, t->sig.bytes,
                           sizeof t->sig.bytes, &sl) ||
        sl != CA_SIGNATURE_BYTES)
        return jws_fail("signature is not 64 bytes of unpadded base64url");
    ca_status st = cai_json_parse(&t->hdr, (const char *)raw, rl);
    if (st != CA_OK)
        return st == CA_ERR_NO_MEMORY ? st : jws_fail("the protected header is not strict JSON");
    const cai_json *h = &t->hdr;
    uint32_t alg = get_str(h, 0, "alg");
    t->kid = get_str(h, 0, "kid");
    uint32_t typ = cai_json_get(h, 0, "typ");
    if (h->nodes[0].type != CAI_JSON_OBJECT || alg == 0 || t->kid == 0)
        return jws_fail("the protected header needs the strings alg and kid");
    if (typ != 0 &&
        (!is_type(h, typ, CAI_JSON_STRING) || strcmp(cai_json_text(h, typ), "JOSE") != 0))
        return jws_fail("typ, when present, must be \"JOSE\"");
    if (unprot != 0) /* RFC 7515 section 7.2.1: header names are disjoint */
        for (uint32_t m = 0, k = unprot + 1; m < d->nodes[unprot].count;
             m++, k = d->nodes[k + 1].end)
            if (cai_json_get(h, 0, cai_json_text(d, k)) != 0)
                return jws_fail("a header parameter is both protected and unprotected");
    if (strcmp(cai_json_text(h, alg), "EdDSA") != 0) {
        t->st = cai_fail(CA_ERR_UNSUPPORTED, "JWS alg \"%.32s\" is not supported (EdDSA only)",
                         cai_json_text(h, alg));
        return CA_OK;
    }
    if (cai_json_get(h, 0, "crit") != 0) {
        t->st = cai_fail(CA_ERR_UNSUPPORTED, "JWS header lists critical extensions (crit)");
        return CA_OK;
    }
    const char *kid = cai_json_text(h, t->kid);
    size_t kl = h->nodes[t->kid].len;
    ca_agent_id named;
    ca_status kst = kid_key(kid, kl, &named);
    if (o->key == NULL) {
        t->st = kst;
        t->key = named;
    } else {
        t->key = *o->key;
        if (kst == CA_OK && memcmp(named.bytes, o->key->bytes, sizeof named.bytes) != 0)
            t->st = cai_fail(CA_ERR_KEY_MISMATCH, "kid names another key than the one given");
    }
    return CA_OK;
}

static ca_status verify_with(const ca_a2a_card *c, const cai_json *d, uint32_t s, const sig_try *t)
{
    uint32_t prot = get_str(d, s, "protected");
    size_t ph = d->nodes[prot].len, pp = cai_b64url_len(c->payload_len);
    uint8_t *input = malloc(ph + 1 + pp);
    if (input == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory verifying an A2A card");
    memcpy(input, cai_json_text(d, prot), ph);
    input[ph] = '.';
    cai_b64url_encode((const uint8_t *)c->payload, c->payload_len, (char *)input + ph + 1);
    ca_status st = cai_identity_verify(&t->key, input, ph + 1 + pp, &t->sig);
    free(input);
    return st == CA_OK ? CA_OK
                       : cai_fail(CA_ERR_BAD_SIGNATURE, "the A2A card's signature does not "
                                                        "verify under its key");
}

static ca_status check_signatures(ca_a2a_card *c, const ca_a2a_verify_options *o)
{
    const cai_json *d = &c->doc;
    uint32_t sigs = cai_json_get(d, 0, "signatures");
    if (sigs == 0 || d->nodes[sigs].type != CAI_JSON_ARRAY || d->nodes[sigs].count == 0)
        return jws_fail("the card carries no signatures array (it is unsigned)");
    ca_status first_skip = CA_OK;
    char skip_msg[200] = "";
    for (uint32_t i = 0, s = sigs + 1; i < d->nodes[sigs].count; i++, s = d->nodes[s].end) {
        sig_try t;
        ca_status st = read_signature(d, s, o, &t);
        if (st == CA_OK && t.st == CA_OK) {
            st = verify_with(c, d, s, &t);
            if (st == CA_OK) {
                c->signer = t.key;
                (void)snprintf(c->kid, sizeof c->kid, "%.*s", (int)t.hdr.nodes[t.kid].len,
                               cai_json_text(&t.hdr, t.kid));
            }
            cai_json_free(&t.hdr);
            return st;
        }
        if (st == CA_OK && first_skip == CA_OK) {
            first_skip = t.st;
            (void)snprintf(skip_msg, sizeof skip_msg, "%s", ca_last_error());
        }
        cai_json_free(&t.hdr);
        if (st != CA_OK)
            return st;
    }
    return cai_fail(first_skip, "no signature could be checked; the first: %s", skip_msg);
}

ca_status ca_a2a_card_verify(ca_a2a_card **out, const char *json, size_t len,
                             const ca_a2a_verify_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(json);
    ca_a2a_verify_options o;
    (void)ca_a2a_verify_options_init(&o, CA_A2A_VERIFY_OPTIONS_VERSION);
    if (opts != NULL) {
        CAI_REQUIRE_VERSION("ca_a2a_verify_options", opts->version, CA_A2A_VERIFY_OPTIONS_VERSION);
        o.key = opts->key;
    }
    ca_a2a_card *c = calloc(1, sizeof *c);
    if (c == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory reading an A2A card");
    ca_status st = parse_limited(&c->doc, json, len);
    if (st == CA_OK)
        st = check_shape(c);
    if (st == CA_OK)
        st = canonical_alloc(&c->doc, 0, "signatures", &c->payload, &c->payload_len);
    if (st == CA_OK)
        st = check_signatures(c, &o);
    if (st != CA_OK) {
        ca_a2a_card_free(c);
        return st;
    }
    *out = c;
    return CA_OK;
}

void ca_a2a_card_free(ca_a2a_card *card)
{
    if (card == NULL)
        return;
    cai_json_free(&card->doc);
    free(card->payload);
    free(card);
}

void ca_a2a_card_signer(const ca_a2a_card *card, ca_agent_id *out)
{
    if (card != NULL && out != NULL)
        *out = card->signer;
}

const char *ca_a2a_card_kid(const ca_a2a_card *card)
{
    return card != NULL ? card->kid : NULL;
}

const char *ca_a2a_card_payload(const ca_a2a_card *card, size_t *len)
{
    if (card == NULL)
        return NULL;
    if (len != NULL)
        *len = card->payload_len;
    return card->payload;
}

static const char *text_or_null(const ca_a2a_card *card, uint32_t node)
{
    return card != NULL && node != 0 ? cai_json_text(&card->doc, node) : NULL;
}

const char *ca_a2a_card_name(const ca_a2a_card *card)
{
    return card != NULL ? text_or_null(card, card->name) : NULL;
}

const char *ca_a2a_card_description(const ca_a2a_card *card)
{
    return card != NULL ? text_or_null(card, card->description) : NULL;
}

const char *ca_a2a_card_version(const ca_a2a_card *card)
{
    return card != NULL ? text_or_null(card, card->version) : NULL;
}

size_t ca_a2a_card_interface_count(const ca_a2a_card *card)
{
    return card != NULL ? card->doc.nodes[card->interfaces].count : 0;
}

static const char *member_at(const ca_a2a_card *card, uint32_t arr, size_t index, const char *name)
{
    if (card == NULL || index >= card->doc.nodes[arr].count)
        return NULL;
    return text_or_null(card, get_str(&card->doc, element(&card->doc, arr, (uint32_t)index), name));
}

const char *ca_a2a_card_interface_url(const ca_a2a_card *card, size_t index)
{
    return card != NULL ? member_at(card, card->interfaces, index, "url") : NULL;
}

const char *ca_a2a_card_interface_binding(const ca_a2a_card *card, size_t index)
{
    return card != NULL ? member_at(card, card->interfaces, index, "protocolBinding") : NULL;
}

const char *ca_a2a_card_interface_protocol_version(const ca_a2a_card *card, size_t index)
{
    return card != NULL ? member_at(card, card->interfaces, index, "protocolVersion") : NULL;
}

size_t ca_a2a_card_skill_count(const ca_a2a_card *card)
{
    return card != NULL ? card->doc.nodes[card->skills].count : 0;
}

const char *ca_a2a_card_skill_id(const ca_a2a_card *card, size_t index)
{
    return card != NULL ? member_at(card, card->skills, index, "id") : NULL;
}

const char *ca_a2a_card_skill_name(const ca_a2a_card *card, size_t index)
{
    return card != NULL ? member_at(card, card->skills, index, "name") : NULL;
}

/* ---- the native card inside ---- */

/* A uint64 written as a JSON string of decimal digits: "0" or no leading zero, <= 2^64-1. */
static int u64_member(const cai_json *d, uint32_t obj, const char *name, uint64_t *out)
{
    uint32_t v = get_str(d, obj, name);
    if (v == 0)
        return 0;
    const char *s = cai_json_text(d, v);
    size_t n = d->nodes[v].len;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - dgt) / 10)
            return 0;
        x = x * 10 + dgt;
    }
    *out = x;
    return 1;
}

/* The params object of our extension, or 0. */
static uint32_t our_extension(const cai_json *d)
{
    uint32_t ext = cai_json_get(d, cai_json_get(d, 0, "capabilities"), "extensions");
    if (!is_type(d, ext, CAI_JSON_ARRAY))
        return 0;
    for (uint32_t i = 0, e = ext + 1; i < d->nodes[ext].count; i++, e = d->nodes[e].end) {
        uint32_t uri = get_str(d, e, "uri");
        if (uri != 0 && strcmp(cai_json_text(d, uri), EXT_URI) == 0)
            return cai_json_get(d, e, "params");
    }
    return 0;
}

/* Rebuilds the signed native card from the A2A fields into a fresh buffer. */
static ca_status rebuild(const ca_a2a_card *c, uint8_t **out, size_t *out_len, ca_agent_id *agent)
{
    const cai_json *d = &c->doc;
    uint32_t p = our_extension(d);
    if (p == 0)
        return cai_fail(CA_ERR_NOT_FOUND, "the A2A card has no " EXT_URI " extension (it is not "
                                          "a libcyberagent card)");
    ca_card_params cp;
    (void)ca_card_params_init(&cp, CA_CARD_PARAMS_VERSION);
    uint32_t did = get_str(d, p, "agent"), sig = get_str(d, p, "signature");
    uint32_t prices = cai_json_get(d, p, "prices");
    ca_signature s;
    size_t sl = 0;
    if (!is_type(d, p, CAI_JSON_OBJECT) || did == 0 || sig == 0 ||
        !u64_member(d, p, "createdAt", &cp.created_at) || !u64_member(d, p, "stake", &cp.stake) ||
        !u64_member(d, p, "notBefore", &cp.not_before) ||
        !u64_member(d, p, "notAfter", &cp.not_after) ||
        !u64_member(d, p, "sequence", &cp.sequence) || !is_type(d, prices, CAI_JSON_ARRAY) ||
        d->nodes[prices].count > CA_CARD_CAPABILITIES_MAX ||
        !cai_b64url_decode(cai_json_text(d, sig), d->nodes[sig].len, s.bytes, sizeof s.bytes,
                           &sl) ||
        sl != CA_SIGNATURE_BYTES)
        return cai_fail(CA_ERR_A2A_CARD, "the " EXT_URI " params are missing or malformed");
    if (ca_did_parse(cai_json_text(d, did), d->nodes[did].len, agent) != CA_OK)
        return cai_fail(CA_ERR_A2A_CARD, "the " EXT_URI " agent is not a did:key");
    ca_card_capability caps[CA_CARD_CAPABILITIES_MAX];
    for (uint32_t i = 0, e = prices + 1; i < d->nodes[prices].count; i++, e = d->nodes[e].end) {
        uint32_t skill = get_str(d, e, "skill");
        caps[i].latency_ms = 0;
        if (skill == 0 || !u64_member(d, e, "price", &caps[i].price) ||
            (cai_json_get(d, e, "latencyMs") != 0 &&
             !u64_member(d, e, "latencyMs", &caps[i].latency_ms)))
            return cai_fail(CA_ERR_A2A_CARD, "an " EXT_URI " price entry is malformed");
        caps[i].name = cai_json_text(d, skill);
    }
    cp.name = ca_a2a_card_name(c);
    cp.description = ca_a2a_card_description(c);
    cp.endpoint = ca_a2a_card_interface_url(c, 0);
    cp.capabilities = caps;
    cp.capability_size = sizeof(ca_card_capability);
    cp.capability_count = d->nodes[prices].count;
    size_t n = 0;
    ca_status st = cai_card_encode_signed(&cp, agent, &s, NULL, 0, &n);
    if (st != CA_ERR_BUFFER_TOO_SMALL)
        return st;
    uint8_t *buf = malloc(n);
    if (buf == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory rebuilding a card");
    st = cai_card_encode_signed(&cp, agent, &s, buf, n, &n);
    if (st != CA_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *out_len = n;
    return CA_OK;
}

ca_status ca_a2a_card_native(const ca_a2a_card *card, uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(card);
    CAI_REQUIRE(out_len);
    uint8_t *bytes = NULL;
    size_t n = 0;
    ca_agent_id agent;
    ca_status st = rebuild(card, &bytes, &n, &agent);
    if (st != CA_OK)
        return st;
    ca_envelope *env = NULL;
    ca_card *native = NULL;
    char *again = NULL;
    size_t again_len = 0;
    ca_envelope_options eo;
    (void)ca_envelope_options_init(&eo, CA_ENVELOPE_OPTIONS_VERSION);
    eo.max_lifetime_ms = UINT64_MAX; /* the signature only: time rules are ca_card_open's */
    st = ca_envelope_decode(&env, bytes, n, &eo);
    if (st == CA_OK)
        st = ca_envelope_verify(env, ca_envelope_created_at(env), &eo);
    if (st == CA_OK)
        st = ca_card_parse(&native, env);
    if (st == CA_OK)
        st = card_payload(native, &again, &again_len);
    if (st == CA_OK &&
        (again_len != card->payload_len || memcmp(again, card->payload, again_len) != 0))
        st = cai_fail(CA_ERR_A2A_CARD, "the A2A card is not the one ca_card_to_a2a_signed_json "
                                       "writes for the card it carries");
    if (st == CA_OK && memcmp(agent.bytes, card->signer.bytes, sizeof agent.bytes) != 0)
        st = cai_fail(CA_ERR_KEY_MISMATCH, "the card's agent did not sign the A2A card");
    if (st == CA_OK) {
        st = cai_check_out(out, out_cap, out_len, n);
        if (st == CA_OK && bytes != NULL)
            memcpy(out, bytes, n);
    }
    free(again);
    ca_card_free(native);
    ca_envelope_free(env);
    free(bytes);
    return st;
}
