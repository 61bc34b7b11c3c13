/* Canonical MessagePack: writer output, strict reader acceptance and rejection. */
#include "cyberagent.h"
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_boundaries),
        cmocka_unit_test(test_count_only_and_small_buffer),
        cmocka_unit_test(test_rejects_noncanonical),
        cmocka_unit_test(test_declared_counts_are_bounded),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
