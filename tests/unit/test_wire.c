/* Canonical MessagePack: writer output, strict reader acceptance and rejection. */
#include "cyberagent.h"
#include "internal.h"
#include "test_util.h"
#include "wire/wire.h"

static size_t encode_sample(uint8_t *buf, size_t cap, uint64_t v, const char *s, size_t bin_len)
{
    static uint8_t blob[70000];
    cai_wire_writer w;
    cai_ww_init(&w, buf, cap);
    cai_ww_map(&w, 3);
    cai_ww_kuint(&w, 0, v);
    cai_ww_kstr(&w, 1, s, strlen(s));
    cai_ww_kbin(&w, 5, blob, bin_len);
    size_t len = 0;
    (void)cai_ww_finish(&w, &len);
    return len;
}

static ca_status decode_sample(const uint8_t *buf, size_t len, uint64_t *v, size_t *bin_len)
{
    cai_wire_reader r;
    cai_wire_map m;
    cai_wr_init(&r, buf, len);
    const char *s;
    size_t slen;
    const uint8_t *b;
    ca_status st = cai_wr_map(&r, &m);
    if (st == CA_OK)
        st = cai_wr_require(&m, 0);
    if (st == CA_OK)
        st = cai_wr_uint(&r, v);
    if (st == CA_OK)
        st = cai_wr_require(&m, 1);
    if (st == CA_OK)
        st = cai_wr_str_max(&r, 64, &s, &slen);
    bool present = false;
    if (st == CA_OK)
        st = cai_wr_field(&m, 3, &present); /* optional, absent */
    if (st == CA_OK && present)
        st = CA_ERR_STATE;
    if (st == CA_OK)
        st = cai_wr_require(&m, 5);
    if (st == CA_OK)
        st = cai_wr_bin(&r, &b, bin_len);
    if (st == CA_OK)
        st = cai_wr_map_end(&m);
    if (st == CA_OK)
        st = cai_wr_end(&r);
    return st;
}

static void test_roundtrip_boundaries(void **state)
{
    (void)state;
    static uint8_t buf[80000];
    const uint64_t values[] = {0,     1,     127,         128,          255,       256,
                               65535, 65536, 0xffffffffu, 0x100000000u, UINT64_MAX};
    const size_t bins[] = {0, 1, 255, 256, 65535, 65536};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        for (size_t j = 0; j < sizeof bins / sizeof bins[0]; j++) {
            size_t len = encode_sample(buf, sizeof buf, values[i], "héllo", bins[j]);
            uint64_t v = 0;
            size_t bl = 0;
            assert_ok(decode_sample(buf, len, &v, &bl));
            assert_true(v == values[i]);
            assert_int_equal(bl, bins[j]);
            /* The reader also accepts it generically, and rejects every strict prefix. */
            cai_wire_reader r;
            cai_wr_init(&r, buf, len);
            assert_ok(cai_wr_skip(&r));
            assert_ok(cai_wr_end(&r));
            if (bins[j] <= 256) {
                for (size_t cut = 0; cut < len; cut++) {
                    uint64_t v2;
                    size_t bl2;
                    assert_status(CA_ERR_MALFORMED, decode_sample(buf, cut, &v2, &bl2));
                }
            }
        }
    }
}

static void test_count_only_and_small_buffer(void **state)
{
    (void)state;
    uint8_t big[64], small[4];
    size_t need = encode_sample(NULL, 0, 300, "x", 3);
    size_t got = encode_sample(big, sizeof big, 300, "x", 3);
    assert_int_equal(need, got);
    cai_wire_writer w;
    cai_ww_init(&w, small, sizeof small);
    cai_ww_map(&w, 1);
    cai_ww_kbin(&w, 0, "abcdef", 6);
    size_t len;
    assert_status(CA_ERR_BUFFER_TOO_SMALL, cai_ww_finish(&w, &len));
    assert_int_equal(len, 1 + 1 + 2 + 6);
}

/* Hand-made encodings the strict reader must refuse. */
static void test_rejects_noncanonical(void **state)
{
    (void)state;
    uint64_t v;
    size_t bl;
    static const struct {
        const char *hex, *why;
    } bad[] = {
        {"8300cc0501a17805c400", "uint8 used for 5"},
        {"8300cd00ff01a17805c400", "uint16 for 255"},
        {"8300cc8001a17805c400", "control: uint8 for 128 is canonical"},
        {"83000101a17805c400", "control: valid"},
        {"83000101d9017805c400", "str8 for a 1-byte string"},
        {"83000101a1780005c400", "wrong key order"},
        {"83000101a17801a17805c400", "duplicate key"},
        {"84000101a17804c005c400", "unknown key 4 with nil"},
        {"83000101a17805c50000", "bin16 for an empty byte string"},
        {"83000101a1ff05c400", "invalid UTF-8"},
        {"83000101a2c0af05c400", "overlong UTF-8"},
        {"83000101a3eda08005c400", "UTF-16 surrogate in UTF-8"},
        {"83ca0000000001a17805c400", "float key"},
        {"83000101a17805c400ff", "trailing byte"},
        {"de0003000101a17805c400", "map16 for 3 entries"},
        {"8300d00101a17805c400", "signed integer"},
        {"8300c001a17805c400", "nil value"},
        {"83000101a17805c4ff", "bin length past end"},
        {"83000101a17805c40100", "control: one-byte bin"},
        {"82000101a178", "missing mandatory field 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[64];
        size_t len = test_hex_decode(bad[i].hex, buf, sizeof buf);
        assert_true(len != (size_t)-1);
        ca_status st = decode_sample(buf, len, &v, &bl);
        if (strncmp(bad[i].why, "control", 7) == 0) {
            assert_ok(st);
            continue;
        }
        if (st != CA_ERR_MALFORMED)
            fail_msg("case %zu (%s) gave %s", i, bad[i].why, ca_status_str(st));
        assert_non_null(strstr(ca_last_error(), "malformed"));
    }
}

static void test_declared_counts_are_bounded(void **state)
{
    (void)state;
    /* array32 claiming 4 billion elements in a 5-byte input */
    const uint8_t arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    cai_wire_reader r;
    uint32_t n;
    cai_wr_init(&r, arr, sizeof arr);
    assert_status(CA_ERR_MALFORMED, cai_wr_array(&r, &n));
    assert_ptr_equal(r.p, arr); /* nothing consumed */
    /* deep nesting is refused, not recursed without bound */
    uint8_t deep[64];
    memset(deep, 0x91, sizeof deep);
    deep[63] = 0x00;
    cai_wr_init(&r, deep, sizeof deep);
    assert_status(CA_ERR_MALFORMED, cai_wr_skip(&r));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(cai_utf8_valid((const uint8_t *)"", 0));
    assert_true(cai_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
    assert_true(cai_utf8_valid((const uint8_t *)"\xef\xbf\xbd", 3));
    assert_false(cai_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(cai_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));     /* overlong */
    assert_false(cai_utf8_valid((const uint8_t *)"\xc3", 1));             /* truncated */
    assert_false(cai_utf8_valid((const uint8_t *)"\x80", 1));             /* lone continuation */
    /* ASCII is checked eight bytes at a time: a bad byte at any position of any length */
    uint8_t text[40];
    for (size_t n = 0; n <= sizeof text; n++) {
        memset(text, 'a', sizeof text);
        assert_true(cai_utf8_valid(text, n));
        for (size_t bad = 0; bad < n; bad++) {
            text[bad] = 0xff;
            assert_false(cai_utf8_valid(text, n));
            text[bad] = 0xc3; /* a two-byte sequence cut by the end, or followed by 'a' */
            assert_false(cai_utf8_valid(text, n));
            if (bad + 1 < n) {
                text[bad + 1] = 0xa9; /* "é": valid */
                assert_true(cai_utf8_valid(text, n));
                text[bad + 1] = 'a';
            }
            text[bad] = 'a';
        }
    }
}

/* ---- the sticky decoder ---- */

/* The first failure is the one reported; every later step is a no-op. */
static void test_sticky_keeps_first_failure(void **state)
{
    (void)state;
    /* {0: uint8 form for 5 (not shortest), 1: str of invalid UTF-8} */
    uint8_t buf[16];
    size_t len = test_hex_decode("8200cc0501a1ff", buf, sizeof buf);
    cai_wire_dec d;
    cai_wire_map m;
    uint64_t v = 77;
    cai_wd_init(&d, buf, len);
    cai_wd_map(&d, &m);
    cai_wd_key(&d, &m, 0);
    cai_wd_uint(&d, UINT64_MAX, &v);
    assert_status_value(CA_ERR_MALFORMED, d.st);
    char first[256];
    snprintf(first, sizeof first, "%s", ca_last_error());
    assert_non_null(strstr(first, "shortest form"));
    const uint8_t *at = d.r.p;
    cai_wd_key(&d, &m, 1);
    const uint8_t *p = buf;
    size_t n = 5;
    cai_wd_bin(&d, 8, &p, &n);
    cai_wd_fail(&d, CA_ERR_LIMIT, "never recorded");
    cai_wd_check(&d, CA_ERR_STATE);
    cai_wd_map_end(&d, &m);
    /* finish reports the first failure and records nothing more: its sentence stays */
    assert_status_value(CA_ERR_MALFORMED, cai_wd_finish(&d));
    assert_string_equal(first, ca_last_error());
    assert_ptr_equal(d.r.p, at); /* nothing read after the failure */
    assert_true(v == 0);         /* outputs of a failed or skipped step are zero */
    assert_null(p);
    assert_int_equal(n, 0);
    /* cai_wd_opt is false after a failure, and cai_wd_array reports its bounds */
    assert_false(cai_wd_opt(&d, &m, 1));
    uint8_t arr[8];
    len = test_hex_decode("9400000000", arr, sizeof arr);
    uint32_t count = 9;
    cai_wd_init(&d, arr, len);
    cai_wd_array(&d, "things", 1, 3, &count);
    assert_status_value(CA_ERR_MALFORMED, d.st);
    assert_int_equal(count, 0);
    assert_non_null(strstr(ca_last_error(), "4 things (1 .. 3)"));
}

/* ---- message tables ---- */

enum { SAMPLE_EVEN = 1 };

typedef struct sample_elem {
    uint64_t v, w;
} sample_elem;

typedef struct sample {
    uint32_t kind;
    uint64_t amount;
    uint32_t flags;
    int yes;
    uint8_t id[8];
    const uint8_t *ref;
    const uint8_t *blob;
    size_t blob_len;
    const char *name;
    size_t name_len;
    int alt;
    uint64_t a0, b1, b2, inner;
    size_t count;
    sample_elem elems[3];
} sample;

static uint32_t sample_select(const void *obj)
{
    return ((const sample *)obj)->kind % 2 == 0 ? SAMPLE_EVEN : 0;
}

static ca_status sample_kind_check(const void *obj, size_t index)
{
    (void)index;
    if (((const sample *)obj)->kind == 13)
        return cai_fail(CA_ERR_WRONG_KIND, "kind 13 is refused by the check");
    return CA_OK;
}

/* Elements: v strictly ascending through the array (the check sees the index). */
static ca_status sample_elem_check(const void *obj, size_t index)
{
    const sample_elem *e = obj;
    if (index > 0 && e[-1].v >= e->v)
        return cai_fail(CA_ERR_MALFORMED, "elements not ascending");
    return CA_OK;
}

static const cai_wire_field elem_rows[] = {
    {CAI_WF_UINT(0, "v", sample_elem, v), .check = sample_elem_check},
    {CAI_WF_UINT(1, "w", sample_elem, w), .presence = CAI_WP_NONZERO},
};
static const cai_wire_table elem_table = CAI_WF_TABLE("sample elem", elem_rows, NULL);
static const cai_wire_field elem_field = {
    .key = 12, .name = "elem", .type = CAI_WT_MAP, .sub = &elem_table};
static const cai_wire_field inner_rows[] = {{CAI_WF_UINT(0, "inner", sample, inner)}};
static const cai_wire_table inner_table = CAI_WF_TABLE("sample inner", inner_rows, NULL);

static const cai_wire_field sample_rows[] = {
    {.key = 0, .name = "version", .type = CAI_WT_CONST, .min = 7, .bad = CA_ERR_BAD_VERSION},
    {CAI_WF_U32(1, "kind", sample, kind), .min = 1, .max = 1000, .check = sample_kind_check},
    {CAI_WF_UINT(2, "amount", sample, amount), .presence = CAI_WP_WHEN, .when = SAMPLE_EVEN},
    {CAI_WF_U32(3, "flags", sample, flags), .presence = CAI_WP_NONZERO, .flags = CAI_WF_BITS,
     .max = 0x5},
    {CAI_WF_BOOL(4, "yes", sample, yes)},
    {CAI_WF_FIXED(5, "id", sample, id)},
    {CAI_WF_REF(6, "ref", sample, ref, 4), .presence = CAI_WP_NONZERO},
    {CAI_WF_BIN(7, "blob", sample, blob, blob_len), .max = 16},
    {CAI_WF_STR(8, "name", sample, name, name_len), .min = 1, .max = 8},
    {CAI_WF_UINT(9, "a0", sample, a0), .presence = CAI_WP_CHOICE, .alt = 0,
     .sel_off = offsetof(sample, alt)},
    {CAI_WF_UINT(10, "b1", sample, b1), .presence = CAI_WP_CHOICE, .alt = 1,
     .sel_off = offsetof(sample, alt)},
    {CAI_WF_UINT(11, "b2", sample, b2), .presence = CAI_WP_CHOICE, .alt = 1,
     .sel_off = offsetof(sample, alt)},
    {.key = 12,
     .name = "elems",
     .type = CAI_WT_ARRAY,
     .off = offsetof(sample, elems),
     .aux_off = offsetof(sample, count),
     .stride = sizeof(sample_elem),
     .min = 1,
     .max = 3,
     .elem = &elem_field},
    {.key = 13, .name = "nested", .type = CAI_WT_MAP, .sub = &inner_table},
};
static const cai_wire_table sample_table = CAI_WF_TABLE("sample", sample_rows, sample_select);

static const uint8_t sample_ref[4] = {9, 8, 7, 6};
static const uint8_t sample_blob[3] = {1, 2, 3};

static sample sample_make(int variant)
{
    sample s;
    memset(&s, 0, sizeof s);
    s.kind = variant % 2 ? 3 : 4;
    s.amount = s.kind == 4 ? 1000000 : 0;
    s.flags = variant % 3 == 0 ? 0 : 0x5;
    s.yes = variant % 2;
    memset(s.id, 0x11 * (variant + 1), sizeof s.id);
    s.ref = variant % 4 < 2 ? sample_ref : NULL;
    s.blob = sample_blob;
    s.blob_len = (size_t)variant % 4;
    s.name = "héllo";
    s.name_len = strlen(s.name);
    s.alt = variant % 2;
    s.a0 = s.alt == 0 ? 300 : 0;
    s.b1 = s.alt == 1 ? 70000 : 0;
    s.b2 = s.alt == 1 ? 2 : 0;
    s.inner = (uint64_t)variant;
    s.count = 1 + (size_t)variant % 3;
    for (size_t i = 0; i < s.count; i++)
        s.elems[i] = (sample_elem){10 * i + 1, i % 2 ? 5 : 0};
    return s;
}

static size_t sample_encode(const sample *s, uint8_t *buf, size_t cap)
{
    cai_wire_writer w;
    cai_ww_init(&w, buf, cap);
    cai_wire_put_map(&w, &sample_table, s);
    size_t len = 0;
    assert_ok(cai_ww_finish(&w, &len));
    return len;
}

static ca_status sample_decode(const uint8_t *buf, size_t len, sample *out)
{
    cai_wire_dec d;
    memset(out, 0, sizeof *out);
    cai_wd_init(&d, buf, len);
    cai_wd_table(&d, &sample_table, out);
    return cai_wd_finish(&d);
}

/* What the table writes, the table reads back, value for value and byte for byte. */
static void test_table_roundtrip(void **state)
{
    (void)state;
    for (int variant = 0; variant < 12; variant++) {
        sample s = sample_make(variant), back;
        uint8_t buf[256], again[256];
        size_t len = sample_encode(&s, buf, sizeof buf);
        assert_int_equal(buf[0], 0x80 | cai_wire_count(&sample_table, &s));
        assert_ok(sample_decode(buf, len, &back));
        assert_int_equal(back.kind, s.kind);
        assert_true(back.amount == s.amount);
        assert_int_equal(back.flags, s.flags);
        assert_int_equal(back.yes, s.yes);
        assert_memory_equal(back.id, s.id, sizeof s.id);
        assert_true((back.ref == NULL) == (s.ref == NULL));
        if (s.ref != NULL)
            assert_memory_equal(back.ref, s.ref, 4);
        assert_int_equal(back.blob_len, s.blob_len);
        assert_int_equal(back.name_len, s.name_len);
        assert_memory_equal(back.name, s.name, s.name_len);
        assert_int_equal(back.alt, s.alt);
        assert_true(back.a0 == s.a0 && back.b1 == s.b1 && back.b2 == s.b2);
        assert_true(back.inner == s.inner);
        assert_int_equal(back.count, s.count);
        for (size_t i = 0; i < s.count; i++)
            assert_true(back.elems[i].v == s.elems[i].v && back.elems[i].w == s.elems[i].w);
        assert_int_equal(sample_encode(&back, again, sizeof again), len);
        assert_memory_equal(again, buf, len);
        /* every strict prefix is refused */
        for (size_t cut = 0; cut < len; cut++)
            assert_status(CA_ERR_MALFORMED, sample_decode(buf, cut, &back));
    }
}

/* Values the writer writes as given but the rows refuse, each with its status. */
static void test_table_rejects_values(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        ca_status expect;
        const char *says;
    } cases[] = {
        {"kind 0", CA_ERR_MALFORMED, "field 1 'kind' is 0, outside 1 .. 1000"},
        {"kind 1001", CA_ERR_MALFORMED, "outside 1 .. 1000"},
        {"kind 13 (check)", CA_ERR_WRONG_KIND, "refused by the check"},
        {"flag bit 1", CA_ERR_MALFORMED, "0x2 has bits outside 0x5"},
        {"empty name", CA_ERR_MALFORMED, "field 8 'name' has 0 bytes (1 .. 8)"},
        {"name with NUL", CA_ERR_MALFORMED, "field 8 'name' contains a NUL byte"},
        {"name of 9 bytes", CA_ERR_MALFORMED, "field 8 'name' of the sample"},
        {"blob of 17 bytes", CA_ERR_MALFORMED, "field 7 'blob' of the sample"},
        {"elements not ascending", CA_ERR_MALFORMED, "not ascending"},
        {"kind 0 and empty name: the first", CA_ERR_MALFORMED, "'kind'"},
    };
    static const uint8_t seventeen[17];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sample s = sample_make(1), back;
        switch (i) {
        case 0:
        case 9:
            s.kind = 0;
            s.name_len = i == 9 ? 0 : s.name_len;
            break;
        case 1:
            s.kind = 1001;
            break;
        case 2:
            s.kind = 13;
            break;
        case 3:
            s.flags = 0x2;
            break;
        case 4:
            s.name_len = 0;
            break;
        case 5:
            s.name = "a\0b";
            s.name_len = 3;
            break;
        case 6:
            s.name = "123456789";
            s.name_len = 9;
            break;
        case 7:
            s.blob = seventeen;
            s.blob_len = sizeof seventeen;
            break;
        default:
            s.count = 2;
            s.elems[0].v = s.elems[1].v = 5;
            break;
        }
        uint8_t buf[256];
        size_t len = sample_encode(&s, buf, sizeof buf);
        ca_status st = sample_decode(buf, len, &back);
        if (st != cases[i].expect || strstr(ca_last_error(), cases[i].says) == NULL)
            fail_msg("%s: %s (%s)", cases[i].why, ca_status_str(st), ca_last_error());
    }
}

/* Hand-made maps that break a presence rule; `drop`/`add` edit a valid sample. */
static size_t sample_raw(uint8_t *buf, size_t cap, int variant)
{
    cai_wire_writer w;
    cai_ww_init(&w, buf, cap);
    int version = variant == 1 ? 8 : 7;
    int amount = variant == 2; /* odd kind: the WHEN row is left out, so 2 is unknown */
    int flags0 = variant == 3; /* flags present with 0 */
    int both = variant == 4, neither = variant == 5, half = variant == 6;
    int unknown = variant == 7;
    uint32_t n = 10 + amount + flags0 + 2 * both - neither + unknown;
    cai_ww_map(&w, n);
    cai_ww_kuint(&w, 0, (uint64_t)version);
    cai_ww_kuint(&w, 1, 3);
    if (amount)
        cai_ww_kuint(&w, 2, 1);
    if (flags0)
        cai_ww_kuint(&w, 3, 0);
    cai_ww_uint(&w, 4);
    cai_ww_bool(&w, true);
    cai_ww_kbin(&w, 5, "12345678", 8);
    cai_ww_kbin(&w, 6, "abcd", 4);
    cai_ww_kbin(&w, 7, "", 0);
    cai_ww_kstr(&w, 8, "x", 1);
    if (!neither && !half)
        cai_ww_kuint(&w, 9, 1);
    if (both)
        cai_ww_kuint(&w, 10, 2);
    if (both || half)
        cai_ww_kuint(&w, 11, 2);
    cai_ww_uint(&w, 12);
    cai_ww_array(&w, 1);
    cai_ww_map(&w, 1);
    cai_ww_kuint(&w, 0, 1);
    cai_ww_uint(&w, 13);
    cai_ww_map(&w, 1);
    cai_ww_kuint(&w, 0, 1);
    if (unknown)
        cai_ww_kuint(&w, 14, 1);
    size_t len = 0;
    assert_ok(cai_ww_finish(&w, &len));
    return len;
}

static void test_table_rejects_presence(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        ca_status expect;
    } cases[] = {
        {"control: valid", CA_OK},
        {"version 8", CA_ERR_BAD_VERSION},
        {"a WHEN row the struct leaves out", CA_ERR_MALFORMED},
        {"an optional 0 written out", CA_ERR_MALFORMED},
        {"two alternatives (9 and 10, 11)", CA_ERR_MALFORMED},
        {"no alternative", CA_ERR_MALFORMED},
        {"half an alternative (11 without 10)", CA_ERR_MALFORMED},
        {"an unknown key after the table", CA_ERR_MALFORMED},
    };
    for (int v = 0; v < (int)(sizeof cases / sizeof cases[0]); v++) {
        uint8_t buf[128];
        sample back;
        size_t len = sample_raw(buf, sizeof buf, v);
        ca_status st = sample_decode(buf, len, &back);
        if (st != cases[v].expect)
            fail_msg("%s: %s (%s)", cases[v].why, ca_status_str(st), ca_last_error());
    }
    uint8_t buf[128];
    sample back;
    size_t len = sample_raw(buf, sizeof buf, 1);
    assert_status(CA_ERR_BAD_VERSION, sample_decode(buf, len, &back));
    assert_string_equal(ca_last_error(), "sample version 8 is not supported (this build: 7)");
    len = sample_raw(buf, sizeof buf, 3);
    assert_status(CA_ERR_MALFORMED, sample_decode(buf, len, &back));
    assert_string_equal(ca_last_error(),
                        "malformed sample: field 3 'flags' is 0, which is omitted");
}

/* A WHEN row the struct leaves out must hold zero, or the struct has no encoding of its own. */
static void test_table_count_checked(void **state)
{
    (void)state;
    sample s = sample_make(1); /* odd kind: amount is not written */
    const cai_wire_field *unused = &sample_rows[0];
    uint32_t n = cai_wire_count_checked(&sample_table, &s, &unused);
    assert_int_equal(n, cai_wire_count(&sample_table, &s));
    assert_null(unused);
    s.amount = 5;
    assert_int_equal(cai_wire_count_checked(&sample_table, &s, &unused), n);
    assert_non_null(unused);
    assert_string_equal(unused->name, "amount");
    s.kind = 4; /* even: written, so not unused */
    assert_int_equal(cai_wire_count_checked(&sample_table, &s, &unused), n + 1);
    assert_null(unused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_boundaries),
        cmocka_unit_test(test_count_only_and_small_buffer),
        cmocka_unit_test(test_rejects_noncanonical),
        cmocka_unit_test(test_declared_counts_are_bounded),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_sticky_keeps_first_failure),
        cmocka_unit_test(test_table_roundtrip),
        cmocka_unit_test(test_table_rejects_values),
        cmocka_unit_test(test_table_rejects_presence),
        cmocka_unit_test(test_table_count_checked),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
