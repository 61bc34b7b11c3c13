/* Core: status names, last error, init, version, sizes, helpers. */
#include <pthread.h>

#include "cyberagent.h"
#include "test_util.h"

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(ca_status_str(CA_OK), "CA_OK");
    assert_string_equal(ca_status_str(CA_ERR_BAD_SIGNATURE), "CA_ERR_BAD_SIGNATURE");
    assert_string_equal(ca_status_str(12345), "CA_ERR_UNKNOWN");
    /* Every code in use has its own name (no duplicates, none unknown). */
    for (int code = -1; code > -1000; code--) {
        const char *name = ca_status_str(code);
        if (strcmp(name, "CA_ERR_UNKNOWN") == 0)
            continue;
        assert_true(strncmp(name, "CA_ERR_", 7) == 0);
        for (int other = code - 1; other > -1000; other--)
            assert_string_not_equal(name, ca_status_str(other));
    }
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* A failure here must not be visible in the main thread's ca_last_error(). */
    ca_agent_id out;
    ca_status st = ca_did_parse("nope", 4, &out);
    return (st == CA_ERR_BAD_DID && strlen(ca_last_error()) > 0) ? (void *)1 : NULL;
}

static void test_last_error_is_thread_local(void **state)
{
    (void)state;
    ca_agent_id out;
    assert_status(CA_ERR_BAD_DID, ca_did_parse("did:web:x", 9, &out));
    char mine[256];
    snprintf(mine, sizeof mine, "%s", ca_last_error());
    assert_true(strlen(mine) > 0);
    pthread_t t;
    void *ret = NULL;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_non_null(ret);
    assert_string_equal(mine, ca_last_error());
}

static void *init_thread(void *arg)
{
    *(ca_status *)arg = ca_init();
    return NULL;
}

static void test_init_idempotent_and_threaded(void **state)
{
    (void)state;
    pthread_t t[8];
    ca_status st[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, init_thread, &st[i]), 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_ok(st[i]);
    }
    assert_ok(ca_init());
    assert_ok(ca_init());
}

static void test_version_and_sizes(void **state)
{
    (void)state;
    assert_string_equal(ca_version_string(), CA_VERSION_STRING);
    assert_int_equal(ca_version_number(), CA_VERSION_NUMBER);
    assert_int_equal(ca_agent_id_bytes(), 32);
    assert_int_equal(ca_hash_bytes(), 32);
    assert_int_equal(ca_signature_bytes(), 64);
    assert_int_equal(sizeof(ca_agent_id), CA_AGENT_ID_BYTES);
    assert_int_equal(sizeof(ca_signature), CA_SIGNATURE_BYTES);
}

static void test_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[16] = {1, 2, 3}, b[16] = {1, 2, 3};
    assert_true(ca_equal(a, b, sizeof a));
    b[15] = 9;
    assert_false(ca_equal(a, b, sizeof a));
    ca_wipe(b, sizeof b);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal(b[i], 0);
    ca_wipe(NULL, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_last_error_is_thread_local),
        cmocka_unit_test(test_init_idempotent_and_threaded),
        cmocka_unit_test(test_version_and_sizes),
        cmocka_unit_test(test_equal_and_wipe),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
