/*
 * Revocations of delegations: the body's table, signing, the strict decoder
 * and the caller-owned revocation set (include/cyberagent/delegation.h).
 */
#include <stdlib.h>

#include "core/array.h"
#include "core/idmap.h"
#include "delegation/delegation_internal.h"
#include "envelope/envelope_internal.h"
#include "internal.h"
#include "wire/wire.h"

typedef struct rev_wire {
    uint8_t delegation[CA_HASH_BYTES];
} rev_wire;

static const cai_wire_field rev_rows[] = {
    {CAI_WF_FIXED(CAI_REV_DELEGATION, "delegation", rev_wire, delegation),
     .rule = "id of the revoked delegation"},
};
const cai_wire_table cai_revocation_table = CAI_WF_TABLE("revocation", rev_rows, NULL);

/* A body: fixmap(1), key 0, bin8 header, 32 bytes. */
#define REV_BODY_BYTES (1u + 1u + 2u + CA_HASH_BYTES)

static void rev_body(const ca_hash *delegation, uint8_t body[REV_BODY_BYTES])
{
    rev_wire w;
    memcpy(w.delegation, delegation->bytes, CA_HASH_BYTES);
    cai_wire_writer ww;
    cai_ww_init(&ww, body, REV_BODY_BYTES);
    cai_wire_put_map(&ww, &cai_revocation_table, &w);
}

ca_status ca_revocation_sign(const ca_identity *revoker, const ca_hash *delegation,
                             uint64_t created_at, uint64_t expires_at, uint8_t *out, size_t out_cap,
                             size_t *out_len, ca_hash *id_out)
{
    CAI_REQUIRE(revoker);
    CAI_REQUIRE(delegation);
    CAI_REQUIRE(out_len);
    *out_len = 0;
    if (expires_at <= created_at)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "revocation expires_at %llu is not after created_at %llu",
                        (unsigned long long)expires_at, (unsigned long long)created_at);
    uint8_t body[REV_BODY_BYTES];
    rev_body(delegation, body);
    ca_envelope_params ep;
    (void)ca_envelope_params_init(&ep, CA_ENVELOPE_PARAMS_VERSION);
    ep.kind = CA_KIND_REVOCATION;
    ep.created_at = created_at;
    ep.expires_at = expires_at;
    return ca_envelope_sign(revoker, &ep, body, sizeof body, out, out_cap, out_len, id_out);
}

ca_status cai_revocation_reencode(const ca_revocation_info *info, const ca_signature *sig,
                                  uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t body[REV_BODY_BYTES];
    rev_body(&info->delegation, body);
    cai_envelope_fields f = {CA_KIND_REVOCATION, &info->revoker, NULL, info->created_at,
                             info->expires_at,   NULL,           0,    body,
                             sizeof body};
    return cai_envelope_encode_signed(&f, sig, out, out_cap, out_len);
}

/* Decodes (and with `check`, verifies) into *out. */
static ca_status rev_read(const uint8_t *data, size_t len, ca_revocation_info *out, bool check)
{
    CAI_REQUIRE(data);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_revocation_info", out->version, CA_REVOCATION_INFO_VERSION);
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, data, len, NULL);
    if (st != CA_OK)
        return st;
    rev_wire w;
    memset(&w, 0, sizeof w);
    if (ca_envelope_kind(env) != CA_KIND_REVOCATION) {
        st = cai_fail(CA_ERR_WRONG_KIND, "envelope of kind %u is not a revocation",
                      ca_envelope_kind(env));
    } else if (ca_envelope_recipient(env, NULL) || ca_envelope_parent(env, NULL) ||
               ca_envelope_flags(env) != 0) {
        st = cai_fail(CA_ERR_MALFORMED,
                      "malformed revocation: it has no recipient, parent or flags");
    } else {
        size_t body_len = 0;
        const uint8_t *body = cai_envelope_wire_body(env, &body_len);
        cai_wire_dec dec;
        cai_wd_init(&dec, body, body_len);
        cai_wd_table(&dec, &cai_revocation_table, &w);
        st = cai_wd_finish(&dec);
    }
    if (st == CA_OK && check && (st = cai_envelope_check_signature(env)) != CA_OK)
        st = cai_fail(st, "revocation: %s", ca_last_error());
    if (st == CA_OK) {
        unsigned int version = out->version;
        memset(out, 0, sizeof *out);
        out->version = version;
        ca_envelope_sender(env, &out->revoker);
        memcpy(out->delegation.bytes, w.delegation, CA_HASH_BYTES);
        ca_envelope_id(env, &out->id);
        out->created_at = ca_envelope_created_at(env);
        out->expires_at = ca_envelope_expires_at(env);
    }
    ca_envelope_free(env);
    return st;
}

ca_status ca_revocation_decode(const uint8_t *data, size_t len, ca_revocation_info *out)
{
    return rev_read(data, len, out, false);
}

ca_status ca_revocation_open(const uint8_t *data, size_t len, ca_revocation_info *out)
{
    return rev_read(data, len, out, true);
}

/* ---- the set ---- */

/* One revocation: 64 bytes, the key the map hashes. */
typedef struct rev_entry {
    ca_hash delegation;
    ca_agent_id revoker;
} rev_entry;

struct ca_revocation_set {
    cai_idmap map; /* hash of the whole entry -> its index */
    rev_entry *entries;
    uint32_t count, cap, limit;
};

ca_status ca_revocation_set_new(ca_revocation_set **out, size_t max_entries)
{
    CAI_REQUIRE(out);
    *out = NULL;
    if (max_entries == 0)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "a revocation set of 0 entries holds nothing");
    if (max_entries > CA_REVOCATION_SET_MAX_ENTRIES)
        return cai_fail(CA_ERR_LIMIT, "revocation set of %zu entries exceeds %u", max_entries,
                        CA_REVOCATION_SET_MAX_ENTRIES);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return cai_fail(st, "revocation set: the crypto backend failed to initialize");
    ca_revocation_set *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating a revocation set");
    if ((st = cai_idmap_init(&s->map, (uint32_t)max_entries)) != CA_OK) {
        free(s);
        return st;
    }
    s->limit = (uint32_t)max_entries;
    *out = s;
    return CA_OK;
}

void ca_revocation_set_free(ca_revocation_set *set)
{
    if (set == NULL)
        return;
    cai_idmap_free(&set->map);
    free(set->entries);
    free(set);
}

static uint32_t set_find(const ca_revocation_set *s, const rev_entry *e, uint64_t h)
{
    cai_idmap_cursor c = cai_idmap_cursor_start(&s->map, h);
    for (uint32_t i; (i = cai_idmap_cursor_next(&s->map, &c)) != CAI_IDMAP_NONE;)
        if (memcmp(&s->entries[i], e, sizeof *e) == 0)
            return i;
    return CAI_IDMAP_NONE;
}

_Static_assert(sizeof(rev_entry) == CA_HASH_BYTES + CA_AGENT_ID_BYTES, "no padding in the key");

ca_status ca_revocation_set_add(ca_revocation_set *set, const uint8_t *data, size_t len)
{
    CAI_REQUIRE(set);
    ca_revocation_info info = {.version = CA_REVOCATION_INFO_VERSION};
    ca_status st = ca_revocation_open(data, len, &info);
    if (st != CA_OK)
        return st;
    rev_entry e = {info.delegation, info.revoker};
    uint64_t h = cai_idmap_hash_bytes(&set->map, &e, sizeof e);
    if (set_find(set, &e, h) != CAI_IDMAP_NONE)
        return CA_OK;
    if (set->count >= set->limit)
        return cai_fail(CA_ERR_LIMIT, "revocation set holds its %u entries", set->limit);
    void *arr = set->entries;
    st = cai_array_grow(&arr, &set->cap, (uint64_t)set->count + 1, sizeof(rev_entry), set->limit);
    set->entries = arr;
    if (st == CA_OK)
        st = cai_idmap_reserve(&set->map, 1);
    if (st != CA_OK)
        return st;
    set->entries[set->count] = e;
    cai_idmap_insert_hashed(&set->map, h, set->count);
    set->count++;
    return CA_OK;
}

int ca_revocation_set_contains(const ca_revocation_set *set, const ca_hash *delegation,
                               const ca_agent_id *revoker)
{
    if (set == NULL || delegation == NULL || revoker == NULL || set->count == 0)
        return 0;
    rev_entry e = {*delegation, *revoker};
    return set_find(set, &e, cai_idmap_hash_bytes(&set->map, &e, sizeof e)) != CAI_IDMAP_NONE;
}

size_t ca_revocation_set_count(const ca_revocation_set *set)
{
    return set != NULL ? set->count : 0;
}
