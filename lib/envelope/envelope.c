/*
 * Signed envelopes: canonical encoding, signing, strict decoding,
 * verification and body extraction (compression, sealing). docs/WIRE.md.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <sodium.h>
#include <zstd.h>

#include "cyberagent/envelope.h"
#include "envelope/envelope_internal.h"
#include "identity/identity_internal.h"
#include "internal.h"
#include "wire/wire.h"

#define ENV_TAG_PREFIX     "cyberagent/1/"
#define ENV_TAG_PREFIX_LEN (sizeof ENV_TAG_PREFIX - 1)
#define ENV_TAG_MAX        (ENV_TAG_PREFIX_LEN + 10) /* + decimal uint32 */
/* Signed bytes up to this size are built on the stack, larger ones on the heap. */
#define ENV_STACK_BYTES 2048
#define ENV_ZSTD_LEVEL  3
/*
 * Largest encoding beyond the body: map header 1, version 2, kind 6, sender
 * 35, recipient 35, created_at 10, expires_at 10, parent 35, flags 2, body
 * key and bin32 header 6, signature 67; plus the 48 bytes a sealed box adds.
 */
#define ENV_OVERHEAD    209u
#define ENV_SEAL_BYTES  (crypto_box_PUBLICKEYBYTES + crypto_box_MACBYTES)
#define ENV_MAX_BODY_IN ((size_t)UINT32_MAX - ENV_SEAL_BYTES)
/* Keys 0..7 at their largest: 2 + 6 + 35 + 35 + 10 + 10 + 35 + 2. */
#define ENV_HEADER_MAX 135u
/* The sealing nonce's domain tag (docs/WIRE.md, "Body: compression and sealing"). */
#define ENV_SEAL_TAG     "cyberagent/1/seal"
#define ENV_SEAL_TAG_LEN (sizeof ENV_SEAL_TAG - 1)

_Static_assert(ENV_SEAL_BYTES == 48, "sealed box overhead");
_Static_assert(crypto_box_NONCEBYTES == 24, "sealing nonce size");
_Static_assert(ENV_OVERHEAD + ENV_SEAL_BYTES == CA_ENVELOPE_MAX_OVERHEAD, "documented overhead");
_Static_assert(CA_ENVELOPE_COMPRESS == CAI_ENV_FLAG_COMPRESSED, "flag bits");
_Static_assert(CA_ENVELOPE_SEAL == CAI_ENV_FLAG_SEALED, "flag bits");
_Static_assert(crypto_box_PUBLICKEYBYTES == CA_X25519_PUBLIC_BYTES, "X25519 key size");

/* A decoded envelope: parsed fields plus one private copy of the encoding. */
struct ca_envelope {
    uint32_t kind;
    uint32_t flags;
    uint64_t created_at;
    uint64_t expires_at;
    bool has_recipient;
    bool has_parent;
    uint8_t signed_entries; /* map entries without the signature */
    ca_agent_id sender;
    ca_agent_id recipient;
    ca_hash parent;
    ca_hash id;
    ca_signature signature;
    size_t header_end; /* offset of key 8: enc[1 .. header_end) are fields 0..7 */
    size_t body_off;   /* body bytes: enc + body_off, body_len bytes */
    size_t body_len;
    size_t fields_end; /* offset of key 9: enc[1 .. fields_end) are fields 0..8 */
    size_t len;
    uint8_t enc[];
};

/* ---- kinds, sizes, options ---- */

const char *ca_kind_name(uint32_t kind)
{
    switch (kind) {
    case CA_KIND_CARD:
        return "card";
    case CA_KIND_TASK_REQUEST:
        return "task.request";
    case CA_KIND_TASK_BID:
        return "task.bid";
    case CA_KIND_TASK_AWARD:
        return "task.award";
    case CA_KIND_TASK_RESULT:
        return "task.result";
    case CA_KIND_TASK_RECEIPT:
        return "task.receipt";
    case CA_KIND_TASK_CANCEL:
        return "task.cancel";
    case CA_KIND_TASK_DISPUTE:
        return "task.dispute";
    case CA_KIND_DELEGATION:
        return "delegation";
    case CA_KIND_REVOCATION:
        return "revocation";
    default:
        break;
    }
    return NULL;
}

ca_status ca_envelope_params_init(ca_envelope_params *params, unsigned int version)
{
    CAI_REQUIRE(params);
    CAI_REQUIRE_VERSION("ca_envelope_params", version, CA_ENVELOPE_PARAMS_VERSION);
    memset(params, 0, sizeof *params);
    params->version = version;
    return CA_OK;
}

ca_status ca_envelope_options_init(ca_envelope_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ca_envelope_options", version, CA_ENVELOPE_OPTIONS_VERSION);
    memset(opts, 0, sizeof *opts);
    opts->version = version;
    opts->max_envelope_bytes = CA_ENVELOPE_MAX_ENVELOPE_BYTES_DEFAULT;
    opts->max_body_bytes = CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT;
    opts->max_skew_ms = CA_ENVELOPE_MAX_SKEW_MS_DEFAULT;
    opts->max_lifetime_ms = CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT;
    return CA_OK;
}

/*
 * Copies the caller's options (NULL: defaults), honouring their version: a
 * version-1 struct ends before max_lifetime_ms, which then keeps its default.
 */
static ca_status env_options(const ca_envelope_options *in, ca_envelope_options *out)
{
    if (in == NULL)
        return ca_envelope_options_init(out, CA_ENVELOPE_OPTIONS_VERSION);
    CAI_REQUIRE_VERSION("ca_envelope_options", in->version, CA_ENVELOPE_OPTIONS_VERSION);
    (void)ca_envelope_options_init(out, CA_ENVELOPE_OPTIONS_VERSION);
    out->max_envelope_bytes = in->max_envelope_bytes;
    out->max_body_bytes = in->max_body_bytes;
    out->max_skew_ms = in->max_skew_ms;
    if (in->version >= 2)
        out->max_lifetime_ms = in->max_lifetime_ms;
    return CA_OK;
}

size_t ca_envelope_bound(size_t body_len)
{
    size_t extra = CA_ENVELOPE_MAX_OVERHEAD;
    return body_len > SIZE_MAX - extra ? SIZE_MAX : body_len + extra;
}

/* "cyberagent/1/<kind in decimal>" into out; returns its length. */
static size_t env_tag(uint32_t kind, uint8_t out[ENV_TAG_MAX])
{
    memcpy(out, ENV_TAG_PREFIX, ENV_TAG_PREFIX_LEN);
    uint8_t digits[10];
    size_t n = 0;
    do {
        digits[n++] = (uint8_t)('0' + kind % 10);
        kind /= 10;
    } while (kind != 0);
    for (size_t i = 0; i < n; i++)
        out[ENV_TAG_PREFIX_LEN + i] = digits[n - 1 - i];
    return ENV_TAG_PREFIX_LEN + n;
}

/* ---- signing ---- */

typedef cai_envelope_fields env_fields;

/*
 * The envelope's wire struct: the values of its fields, byte strings as
 * zero-copy views (NULL: an optional field absent). The rows below are the
 * envelope's one description: the signer writes them, the decoder reads
 * them, docs/WIRE.md prints them.
 */
typedef struct env_wire {
    uint32_t kind, flags;
    uint64_t created_at, expires_at;
    const uint8_t *sender, *recipient, *parent, *body, *signature;
    size_t body_len;
} env_wire;

static const cai_wire_field env_rows[] = {
    {.key = 0,
     .name = "version",
     .type = CAI_WT_CONST,
     .min = CA_ENVELOPE_VERSION,
     .bad = CA_ERR_BAD_VERSION,
     .rule = "any other value is `CA_ERR_BAD_VERSION`"},
    {CAI_WF_U32(1, "kind", env_wire, kind), .min = 1, .rule = "not 0 (see Kinds)"},
    {CAI_WF_REF(2, "sender", env_wire, sender, CA_AGENT_ID_BYTES),
     .rule = "Ed25519 public key = agent id"},
    {CAI_WF_REF(3, "recipient", env_wire, recipient, CA_AGENT_ID_BYTES), .presence = CAI_WP_NONZERO,
     .rule = "required when sealed"},
    {CAI_WF_UINT(4, "created_at", env_wire, created_at), .rule = "ms since the Unix epoch"},
    {CAI_WF_UINT(5, "expires_at", env_wire, expires_at),
     .rule = "ms since the Unix epoch, > created_at"},
    {CAI_WF_REF(6, "parent", env_wire, parent, CA_HASH_BYTES), .presence = CAI_WP_NONZERO,
     .rule = "id of the message this one follows"},
    {CAI_WF_U32(7, "flags", env_wire, flags), .presence = CAI_WP_NONZERO, .flags = CAI_WF_BITS,
     .max = CAI_ENV_FLAGS_KNOWN, .rule = "bit 0 compressed, bit 1 sealed; other bits rejected"},
    {CAI_WF_BIN(8, "body", env_wire, body, body_len),
     .rule = "as transformed by the flags; sealed: ≥ 48 bytes"},
    {CAI_WF_REF(9, "signature", env_wire, signature, CA_SIGNATURE_BYTES),
     .rule = "Ed25519 over the signed bytes"},
};

/* The whole map (docs), and the slices the signer and the decoder need. */
const cai_wire_table cai_envelope_table = CAI_WF_TABLE("envelope", env_rows, NULL);
static const cai_wire_table env_header = {"envelope", env_rows, 8, NULL};       /* keys 0..7 */
static const cai_wire_table env_body_row = {"envelope", env_rows + 8, 1, NULL}; /* key 8 */
static const cai_wire_table env_signed = {"envelope", env_rows, 9, NULL};       /* keys 0..8 */
static const cai_wire_table env_sig = {"envelope", env_rows + 9, 1, NULL};      /* key 9 */

static void env_wire_of(const env_fields *f, const ca_signature *sig, env_wire *w)
{
    w->kind = f->kind;
    w->flags = f->flags;
    w->created_at = f->created_at;
    w->expires_at = f->expires_at;
    w->sender = f->sender->bytes;
    w->recipient = f->recipient != NULL ? f->recipient->bytes : NULL;
    w->parent = f->parent != NULL ? f->parent->bytes : NULL;
    w->body = f->body;
    w->body_len = f->body_len;
    w->signature = sig != NULL ? sig->bytes : NULL;
}

/* Number of map entries in the signed map (everything but the signature). */
static uint32_t env_signed_entries(const env_fields *f)
{
    env_wire w;
    env_wire_of(f, NULL, &w);
    return cai_wire_count(&env_signed, &w);
}

/* Fields 0..7 (the header) in ascending key order, optional ones omitted. */
static void env_write_header(cai_wire_writer *w, const env_fields *f)
{
    env_wire x;
    env_wire_of(f, NULL, &x);
    cai_wire_put(w, &env_header, &x);
}

/* Fields 0..8: the header, then the body. */
static void env_write_fields(cai_wire_writer *w, const env_fields *f)
{
    env_wire x;
    env_wire_of(f, NULL, &x);
    cai_wire_put(w, &env_signed, &x);
}

/*
 * The sealing nonce: BLAKE2b-192 of "cyberagent/1/seal" || the ephemeral
 * X25519 key || the recipient's X25519 key || the header (fields 0..7 exactly
 * as on the wire). Whatever changes in the header changes the nonce, and the
 * box then fails its MAC.
 */
static void env_seal_nonce(uint8_t nonce[crypto_box_NONCEBYTES],
                           const uint8_t epk[crypto_box_PUBLICKEYBYTES],
                           const uint8_t rpk[crypto_box_PUBLICKEYBYTES], const uint8_t *header,
                           size_t header_len)
{
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, crypto_box_NONCEBYTES);
    crypto_generichash_update(&hs, (const uint8_t *)ENV_SEAL_TAG, ENV_SEAL_TAG_LEN);
    crypto_generichash_update(&hs, epk, crypto_box_PUBLICKEYBYTES);
    crypto_generichash_update(&hs, rpk, crypto_box_PUBLICKEYBYTES);
    crypto_generichash_update(&hs, header, header_len);
    crypto_generichash_final(&hs, nonce, crypto_box_NONCEBYTES);
}

/*
 * Seals m to the recipient's X25519 key rpk, bound to the header:
 * out = epk (32) || crypto_box_easy(m) under a fresh ephemeral key pair and
 * the nonce above (16-byte MAC, then the ciphertext). out holds mlen + 48.
 */
static ca_status env_seal(uint8_t *out, const uint8_t *m, size_t mlen,
                          const uint8_t rpk[crypto_box_PUBLICKEYBYTES], const uint8_t *header,
                          size_t header_len)
{
    uint8_t esk[crypto_box_SECRETKEYBYTES], nonce[crypto_box_NONCEBYTES];
    crypto_box_keypair(out, esk);
    env_seal_nonce(nonce, out, rpk, header, header_len);
    int bad = crypto_box_easy(out + crypto_box_PUBLICKEYBYTES, m, mlen, nonce, rpk, esk);
    sodium_memzero(esk, sizeof esk);
    if (bad != 0)
        return cai_fail(CA_ERR_BAD_KEY, "the recipient's X25519 key cannot be sealed to");
    return CA_OK;
}

static ca_status env_check_params(const ca_envelope_params *p, const uint8_t *body, size_t body_len)
{
    CAI_REQUIRE_VERSION("ca_envelope_params", p->version, CA_ENVELOPE_PARAMS_VERSION);
    if (body == NULL && body_len != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "ca_envelope_sign: body is NULL but body_len > 0");
    if (p->kind == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "envelope kind 0 is not allowed");
    if (p->expires_at <= p->created_at)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "expires_at (%llu) must be after created_at (%llu)",
                        (unsigned long long)p->expires_at, (unsigned long long)p->created_at);
    if ((p->flags & ~(uint32_t)(CA_ENVELOPE_COMPRESS | CA_ENVELOPE_SEAL)) != 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "unknown envelope flags 0x%x", p->flags);
    if ((p->flags & CA_ENVELOPE_SEAL) != 0 && p->recipient == NULL)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a sealed envelope needs a recipient");
    if (body_len > ENV_MAX_BODY_IN)
        return cai_fail(CA_ERR_LIMIT, "body of %zu bytes is larger than an envelope can carry",
                        body_len);
    return CA_OK;
}

ca_status ca_envelope_sign(const ca_identity *signer, const ca_envelope_params *params,
                           const uint8_t *body, size_t body_len, uint8_t *out, size_t out_cap,
                           size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE(signer);
    CAI_REQUIRE(params);
    ca_status st = env_check_params(params, body, body_len);
    if (st != CA_OK)
        return st;
    st = cai_ensure_init();
    if (st != CA_OK)
        return st;

    ca_agent_id sender;
    ca_identity_id(signer, &sender);
    env_fields f = {params->kind,
                    &sender,
                    params->recipient,
                    params->created_at,
                    params->expires_at,
                    params->parent,
                    0,
                    body,
                    body_len};

    uint8_t zstack[ENV_STACK_BYTES];
    uint8_t *zheap = NULL, *sealed = NULL, *sheap = NULL;
    uint8_t *zbuf = NULL;
    size_t zcap = 0;
    if ((params->flags & CA_ENVELOPE_COMPRESS) != 0 && body_len > 0) {
        zcap = ZSTD_compressBound(body_len);
        zbuf = zcap <= sizeof zstack ? zstack : (zheap = malloc(zcap));
        if (zbuf == NULL) {
            st = cai_fail(CA_ERR_NO_MEMORY, "out of memory compressing a body");
            goto done;
        }
        size_t c = ZSTD_compress(zbuf, zcap, body, body_len, ENV_ZSTD_LEVEL);
        if (!ZSTD_isError(c) && c < body_len) { /* only when it saves bytes */
            f.body = zbuf;
            f.body_len = c;
            f.flags |= CAI_ENV_FLAG_COMPRESSED;
        }
    }
    if ((params->flags & CA_ENVELOPE_SEAL) != 0) {
        uint8_t xpk[CA_X25519_PUBLIC_BYTES];
        st = ca_agent_x25519_public(params->recipient, xpk);
        if (st != CA_OK)
            goto done;
        sealed = malloc(f.body_len + ENV_SEAL_BYTES);
        if (sealed == NULL) {
            st = cai_fail(CA_ERR_NO_MEMORY, "out of memory sealing a body");
            goto done;
        }
        f.flags |= CAI_ENV_FLAG_SEALED; /* the header the box is bound to carries the flag */
        uint8_t header[ENV_HEADER_MAX];
        cai_wire_writer hw;
        cai_ww_init(&hw, header, sizeof header);
        env_write_header(&hw, &f);
        if ((st = env_seal(sealed, f.body, f.body_len, xpk, header, hw.len)) != CA_OK)
            goto done;
        f.body = sealed;
        f.body_len += ENV_SEAL_BYTES;
    }

    /* Signed bytes: domain tag, map header without the signature, fields 0..8. */
    uint8_t sstack[ENV_STACK_BYTES];
    uint8_t tag[ENV_TAG_MAX];
    size_t tag_len = env_tag(f.kind, tag);
    uint32_t entries = env_signed_entries(&f);
    cai_wire_writer w;
    cai_ww_init(&w, sstack, sizeof sstack);
    cai_ww_raw(&w, tag, tag_len);
    cai_ww_map(&w, entries);
    env_write_fields(&w, &f);
    uint8_t *sbuf = sstack;
    size_t slen = w.len;
    if (w.overflow) {
        sbuf = sheap = malloc(slen);
        if (sbuf == NULL) {
            st = cai_fail(CA_ERR_NO_MEMORY, "out of memory building %zu signed bytes", slen);
            goto done;
        }
        cai_ww_init(&w, sbuf, slen);
        cai_ww_raw(&w, tag, tag_len);
        cai_ww_map(&w, entries);
        env_write_fields(&w, &f);
    }
    /* The output: map header (a fixmap either way), fields 0..8, key 9 + bin8 header + signature.
     */
    size_t total = slen - tag_len + 3 + CA_SIGNATURE_BYTES;
    st = cai_check_out(out, out_cap, out_len, total);
    if (st != CA_OK)
        goto done;

    ca_signature sig;
    st = cai_identity_sign(signer, sbuf, slen, &sig);
    if (st != CA_OK)
        goto done;
    /* The id is written last: id_out may be the params' parent (a chain signed link by link). */
    ca_hash id;
    if (id_out != NULL)
        crypto_generichash(id.bytes, CA_HASH_BYTES, sbuf, slen, NULL, 0);
    st = cai_envelope_encode_signed(&f, &sig, out, out_cap, out_len);
    if (st == CA_OK && id_out != NULL)
        *id_out = id;

done:
    if ((params->flags & CA_ENVELOPE_SEAL) != 0 && zbuf != NULL)
        sodium_memzero(zbuf, zcap); /* compressed plaintext of a sealed body */
    free(zheap);
    free(sealed);
    free(sheap);
    return st;
}

/* ---- decoding ---- */

static ca_status env_bad(const char *what)
{
    return cai_fail(CA_ERR_MALFORMED, "malformed envelope: %s", what);
}

/* Zero-copy parse of `data` into `e` (whose enc is not filled). */
static ca_status env_parse(const uint8_t *data, size_t len, ca_envelope *e)
{
    cai_wire_dec d;
    cai_wire_map m;
    env_wire w = {0};
    cai_wd_init(&d, data, len);
    cai_wd_map(&d, &m);
    uint32_t entries = m.remaining;
    cai_wd_fields(&d, &m, &env_header, &w);
    e->header_end = cai_wd_offset(&d);
    cai_wd_fields(&d, &m, &env_body_row, &w);
    e->fields_end = cai_wd_offset(&d);
    cai_wd_fields(&d, &m, &env_sig, &w);
    cai_wd_map_end(&d, &m);
    ca_status st = cai_wd_finish(&d);
    if (st != CA_OK)
        return st;
    if (w.expires_at <= w.created_at)
        return env_bad("expires_at is not after created_at");
    if ((w.flags & CAI_ENV_FLAG_SEALED) != 0) {
        if (w.recipient == NULL)
            return env_bad("sealed body without a recipient");
        if (w.body_len < ENV_SEAL_BYTES)
            return env_bad("sealed body shorter than a sealed box");
    }
    e->kind = w.kind;
    e->flags = w.flags;
    e->created_at = w.created_at;
    e->expires_at = w.expires_at;
    memcpy(e->sender.bytes, w.sender, CA_AGENT_ID_BYTES);
    e->has_recipient = w.recipient != NULL;
    if (e->has_recipient)
        memcpy(e->recipient.bytes, w.recipient, CA_AGENT_ID_BYTES);
    e->has_parent = w.parent != NULL;
    if (e->has_parent)
        memcpy(e->parent.bytes, w.parent, CA_HASH_BYTES);
    memcpy(e->signature.bytes, w.signature, CA_SIGNATURE_BYTES);
    e->body_off = (size_t)(w.body - data);
    e->body_len = w.body_len;
    e->signed_entries = (uint8_t)(entries - 1);
    e->len = len;
    return CA_OK;
}

/* Limits that depend on the caller's options (checked by decode and verify). */
static ca_status env_check_limits(const ca_envelope *e, const ca_envelope_options *o)
{
    if (e->len > o->max_envelope_bytes)
        return cai_fail(CA_ERR_LIMIT, "envelope of %zu bytes exceeds the limit of %zu", e->len,
                        o->max_envelope_bytes);
    if ((e->flags & CAI_ENV_FLAG_COMPRESSED) == 0) {
        size_t plain = e->body_len - ((e->flags & CAI_ENV_FLAG_SEALED) ? ENV_SEAL_BYTES : 0);
        if (plain > o->max_body_bytes)
            return cai_fail(CA_ERR_LIMIT, "body of %zu bytes exceeds the limit of %zu", plain,
                            o->max_body_bytes);
    }
    return CA_OK;
}

ca_status ca_envelope_decode(ca_envelope **out, const uint8_t *data, size_t len,
                             const ca_envelope_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    ca_envelope_options o;
    ca_status st = env_options(opts, &o);
    if (st != CA_OK)
        return st;
    if (len > o.max_envelope_bytes)
        return cai_fail(CA_ERR_LIMIT, "envelope of %zu bytes exceeds the limit of %zu", len,
                        o.max_envelope_bytes);
    st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    ca_envelope tmp;
    st = env_parse(data, len, &tmp);
    if (st == CA_OK)
        st = env_check_limits(&tmp, &o);
    if (st != CA_OK)
        return st;

    /* The id: BLAKE2b-256 of tag || signed map header || fields 0..8, hashed in place. */
    uint8_t tag[ENV_TAG_MAX + 1];
    size_t tag_len = env_tag(tmp.kind, tag);
    tag[tag_len++] = (uint8_t)(0x80u | tmp.signed_entries);
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, CA_HASH_BYTES);
    crypto_generichash_update(&hs, tag, tag_len);
    crypto_generichash_update(&hs, data + 1, tmp.fields_end - 1);
    crypto_generichash_final(&hs, tmp.id.bytes, CA_HASH_BYTES);

    ca_envelope *e = malloc(sizeof *e + len);
    if (e == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory decoding an envelope of %zu bytes", len);
    *e = tmp;
    memcpy(e->enc, data, len);
    *out = e;
    return CA_OK;
}

ca_status cai_envelope_check_signature(const ca_envelope *env)
{
    uint8_t sstack[ENV_STACK_BYTES];
    uint8_t *sbuf = sstack;
    uint8_t tag[ENV_TAG_MAX];
    size_t tag_len = env_tag(env->kind, tag);
    size_t fields_len = env->fields_end - 1;
    size_t slen = tag_len + 1 + fields_len;
    if (slen > sizeof sstack) {
        sbuf = malloc(slen);
        if (sbuf == NULL)
            return cai_fail(CA_ERR_NO_MEMORY, "out of memory verifying an envelope");
    }
    memcpy(sbuf, tag, tag_len);
    sbuf[tag_len] = (uint8_t)(0x80u | env->signed_entries);
    memcpy(sbuf + tag_len + 1, env->enc + 1, fields_len);
    int bad = crypto_sign_verify_detached(env->signature.bytes, sbuf, slen, env->sender.bytes);
    if (sbuf != sstack)
        free(sbuf);
    if (bad != 0)
        return cai_fail(CA_ERR_BAD_SIGNATURE, "envelope signature does not verify");
    return CA_OK;
}

ca_status ca_envelope_verify(const ca_envelope *env, uint64_t now, const ca_envelope_options *opts)
{
    CAI_REQUIRE(env);
    ca_envelope_options o;
    ca_status st = env_options(opts, &o);
    if (st != CA_OK)
        return st;
    /* Options before any work, as every call checks its arguments first. */
    if (o.max_lifetime_ms == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_lifetime_ms 0 would accept no envelope");
    if ((st = env_check_limits(env, &o)) != CA_OK)
        return st;
    if ((st = cai_ensure_init()) != CA_OK)
        return st;

    if ((st = cai_envelope_check_signature(env)) != CA_OK)
        return st;
    if (env->expires_at - env->created_at > o.max_lifetime_ms)
        return cai_fail(CA_ERR_LIFETIME,
                        "envelope lives %llu ms (created %llu, expires %llu), more than the "
                        "maximum of %llu ms",
                        (unsigned long long)(env->expires_at - env->created_at),
                        (unsigned long long)env->created_at, (unsigned long long)env->expires_at,
                        (unsigned long long)o.max_lifetime_ms);
    if (env->created_at > cai_sat_add(now, o.max_skew_ms))
        return cai_fail(CA_ERR_NOT_YET_VALID,
                        "envelope created at %llu, beyond now %llu + skew %llu ms",
                        (unsigned long long)env->created_at, (unsigned long long)now,
                        (unsigned long long)o.max_skew_ms);
    if (now > cai_sat_add(env->expires_at, o.max_skew_ms))
        return cai_fail(CA_ERR_EXPIRED, "envelope expired at %llu (now %llu, skew %llu ms)",
                        (unsigned long long)env->expires_at, (unsigned long long)now,
                        (unsigned long long)o.max_skew_ms);
    return CA_OK;
}

ca_status ca_envelope_open(ca_envelope **out, const uint8_t *data, size_t len, uint64_t now,
                           const ca_envelope_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    ca_envelope *e;
    ca_status st = ca_envelope_decode(&e, data, len, opts);
    if (st != CA_OK)
        return st;
    st = ca_envelope_verify(e, now, opts);
    if (st != CA_OK) {
        ca_envelope_free(e);
        return st;
    }
    *out = e;
    return CA_OK;
}

void ca_envelope_free(ca_envelope *env)
{
    free(env);
}

/* ---- accessors ---- */

uint32_t ca_envelope_kind(const ca_envelope *env)
{
    return env != NULL ? env->kind : 0;
}

void ca_envelope_sender(const ca_envelope *env, ca_agent_id *out)
{
    if (env != NULL && out != NULL)
        *out = env->sender;
}

int ca_envelope_recipient(const ca_envelope *env, ca_agent_id *out)
{
    if (env == NULL || !env->has_recipient)
        return 0;
    if (out != NULL)
        *out = env->recipient;
    return 1;
}

uint64_t ca_envelope_created_at(const ca_envelope *env)
{
    return env != NULL ? env->created_at : 0;
}

uint64_t ca_envelope_expires_at(const ca_envelope *env)
{
    return env != NULL ? env->expires_at : 0;
}

int ca_envelope_parent(const ca_envelope *env, ca_hash *out)
{
    if (env == NULL || !env->has_parent)
        return 0;
    if (out != NULL)
        *out = env->parent;
    return 1;
}

uint32_t ca_envelope_flags(const ca_envelope *env)
{
    return env != NULL ? env->flags : 0;
}

void ca_envelope_id(const ca_envelope *env, ca_hash *out)
{
    if (env != NULL && out != NULL)
        *out = env->id;
}

void ca_envelope_signature(const ca_envelope *env, ca_signature *out)
{
    if (env != NULL && out != NULL)
        *out = env->signature;
}

ca_status ca_envelope_encoded(const ca_envelope *env, uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE(env);
    ca_status st = cai_check_out(out, out_cap, out_len, env->len);
    if (st == CA_OK)
        memcpy(out, env->enc, env->len);
    return st;
}

const uint8_t *cai_envelope_raw(const ca_envelope *env, size_t *len)
{
    *len = env->len;
    return env->enc;
}

const uint8_t *cai_envelope_wire_body(const ca_envelope *env, size_t *len)
{
    *len = env->body_len;
    return env->enc + env->body_off;
}

const ca_hash *cai_envelope_id_ref(const ca_envelope *env)
{
    return &env->id;
}

const ca_agent_id *cai_envelope_sender_ref(const ca_envelope *env)
{
    return &env->sender;
}

/* ---- bodies ---- */

/*
 * Where a body goes: into the caller's buffer under the OWNERSHIP RULE, or
 * (owned != NULL) into a fresh heap buffer.
 */
typedef struct env_sink {
    uint8_t *out;
    size_t out_cap;
    size_t *out_len;
    uint8_t **owned;
} env_sink;

static ca_status sink_reserve(const env_sink *s, size_t n, uint8_t **dst)
{
    if (s->owned == NULL) {
        ca_status st = cai_check_out(s->out, s->out_cap, s->out_len, n);
        *dst = s->out;
        return st;
    }
    *s->out_len = n;
    *dst = *s->owned = malloc(n > 0 ? n : 1);
    if (*dst == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory for a body of %zu bytes", n);
    return CA_OK;
}

static ca_status env_decompress(const uint8_t *src, size_t n, const ca_envelope_options *o,
                                const env_sink *s)
{
    static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd}; /* ZSTD_MAGICNUMBER, LE */
    if (n < sizeof magic || memcmp(src, magic, sizeof magic) != 0)
        return cai_fail(CA_ERR_DECOMPRESS, "compressed body is not a zstd frame");
    size_t frame = ZSTD_findFrameCompressedSize(src, n);
    if (ZSTD_isError(frame) || frame != n)
        return cai_fail(CA_ERR_DECOMPRESS, "compressed body is not exactly one zstd frame");
    unsigned long long size = ZSTD_getFrameContentSize(src, n);
    if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR)
        return cai_fail(CA_ERR_DECOMPRESS, "zstd frame does not declare its content size");
    if (size > o->max_body_bytes)
        return cai_fail(CA_ERR_DECOMPRESS,
                        "body decompresses to %llu bytes, more than the cap of %zu", size,
                        o->max_body_bytes);
    uint8_t *dst;
    ca_status st = sink_reserve(s, (size_t)size, &dst);
    if (st != CA_OK)
        return st;
    /* The destination holds exactly the declared size: zstd never writes past it. */
    size_t got = ZSTD_decompress(dst, (size_t)size, src, n);
    if (ZSTD_isError(got) || got != size) {
        if (s->owned != NULL) {
            free(*s->owned);
            *s->owned = NULL;
        }
        return cai_fail(CA_ERR_DECOMPRESS, "body does not decompress: %s",
                        ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size differs from header");
    }
    return CA_OK;
}

static ca_status env_body(const ca_envelope *env, const ca_identity *reader,
                          const ca_envelope_options *opts, const env_sink *s)
{
    ca_envelope_options o;
    ca_status st = env_options(opts, &o);
    if (st != CA_OK)
        return st;
    const uint8_t *src = env->enc + env->body_off;
    size_t n = env->body_len;
    bool compressed = (env->flags & CAI_ENV_FLAG_COMPRESSED) != 0;
    if ((env->flags & CAI_ENV_FLAG_SEALED) == 0) {
        if (compressed)
            return env_decompress(src, n, &o, s);
        if (n > o.max_body_bytes)
            return cai_fail(CA_ERR_LIMIT, "body of %zu bytes exceeds the limit of %zu", n,
                            o.max_body_bytes);
        uint8_t *dst;
        if ((st = sink_reserve(s, n, &dst)) == CA_OK && n > 0)
            memcpy(dst, src, n);
        return st;
    }

    if (reader == NULL)
        return cai_fail(CA_ERR_SEALED, "the body is sealed to its recipient; no reader given");
    ca_agent_id rid;
    ca_identity_id(reader, &rid);
    if (!ca_equal(rid.bytes, env->recipient.bytes, CA_AGENT_ID_BYTES))
        return cai_fail(CA_ERR_SEALED, "the body is sealed to another agent");
    if ((st = cai_ensure_init()) != CA_OK)
        return st;
    size_t plain_len = n - ENV_SEAL_BYTES;
    if (!compressed && plain_len > o.max_body_bytes)
        return cai_fail(CA_ERR_LIMIT, "body of %zu bytes exceeds the limit of %zu", plain_len,
                        o.max_body_bytes);
    uint8_t xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
    if ((st = ca_agent_x25519_public(&rid, xpk)) != CA_OK)
        return st;
    uint8_t *dst = NULL, *tmp = NULL;
    if (compressed) {
        dst = tmp = malloc(plain_len > 0 ? plain_len : 1);
        if (tmp == NULL)
            return cai_fail(CA_ERR_NO_MEMORY, "out of memory opening a sealed body");
    } else if ((st = sink_reserve(s, plain_len, &dst)) != CA_OK) {
        return st;
    }
    if ((st = cai_identity_x25519_secret(reader, xsk)) == CA_OK) {
        uint8_t nonce[crypto_box_NONCEBYTES];
        env_seal_nonce(nonce, src, xpk, env->enc + 1, env->header_end - 1);
        if (crypto_box_open_easy(dst, src + crypto_box_PUBLICKEYBYTES,
                                 n - crypto_box_PUBLICKEYBYTES, nonce, src, xsk) != 0)
            st = cai_fail(CA_ERR_SEAL_MISMATCH,
                          "sealed body does not open under this envelope's header (sealed for "
                          "another sender or header and re-signed, or damaged)");
        sodium_memzero(xsk, sizeof xsk);
    }
    if (st == CA_OK && compressed)
        st = env_decompress(tmp, plain_len, &o, s);
    if (st != CA_OK && !compressed && s->owned != NULL) {
        free(*s->owned);
        *s->owned = NULL;
    }
    if (tmp != NULL) {
        sodium_memzero(tmp, plain_len);
        free(tmp);
    }
    return st;
}

ca_status ca_envelope_body(const ca_envelope *env, const ca_identity *reader,
                           const ca_envelope_options *opts, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    CAI_REQUIRE(out_len);
    *out_len = 0;
    CAI_REQUIRE(env);
    env_sink s = {out, out_cap, out_len, NULL};
    return env_body(env, reader, opts, &s);
}

ca_status cai_envelope_body_view(const ca_envelope *env, const ca_identity *reader,
                                 const ca_envelope_options *opts, const uint8_t **body, size_t *len,
                                 uint8_t **owned)
{
    *body = NULL;
    *len = 0;
    *owned = NULL;
    if ((env->flags & CAI_ENV_FLAGS_KNOWN) == 0) {
        ca_envelope_options o;
        ca_status st = env_options(opts, &o);
        if (st != CA_OK)
            return st;
        if (env->body_len > o.max_body_bytes)
            return cai_fail(CA_ERR_LIMIT, "body of %zu bytes exceeds the limit of %zu",
                            env->body_len, o.max_body_bytes);
        *body = env->enc + env->body_off;
        *len = env->body_len;
        return CA_OK;
    }
    env_sink s = {NULL, 0, len, owned};
    ca_status st = env_body(env, reader, opts, &s);
    if (st != CA_OK) {
        free(*owned);
        *owned = NULL;
        *len = 0;
        return st;
    }
    *body = *owned;
    return CA_OK;
}

void cai_envelope_fields_of(const ca_envelope *env, cai_envelope_fields *f)
{
    f->kind = env->kind;
    f->sender = &env->sender;
    f->recipient = env->has_recipient ? &env->recipient : NULL;
    f->created_at = env->created_at;
    f->expires_at = env->expires_at;
    f->parent = env->has_parent ? &env->parent : NULL;
    f->flags = env->flags;
    f->body = env->enc + env->body_off;
    f->body_len = env->body_len;
}

ca_status cai_envelope_encode_signed(const cai_envelope_fields *f, const ca_signature *sig,
                                     uint8_t *out, size_t out_cap, size_t *out_len)
{
    env_wire x;
    env_wire_of(f, sig, &x);
    cai_wire_writer w;
    for (int pass = 0; pass < 2; pass++) {
        cai_ww_init(&w, pass == 0 ? NULL : out, pass == 0 ? 0 : out_cap);
        cai_wire_put_map(&w, &cai_envelope_table, &x);
        if (pass == 0) {
            ca_status st = cai_check_out(out, out_cap, out_len, w.len);
            if (st != CA_OK)
                return st;
        }
    }
    return cai_ww_finish(&w, out_len);
}

ca_status cai_envelope_reencode(const ca_envelope *env, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    cai_envelope_fields f;
    cai_envelope_fields_of(env, &f);
    return cai_envelope_encode_signed(&f, &env->signature, out, out_cap, out_len);
}
