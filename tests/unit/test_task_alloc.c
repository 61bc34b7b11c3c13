/*
 * Allocation failure in the task module. This test is linked with malloc
 * wrapped (tests/cmake/task_alloc.cmake: -Wl,--wrap=malloc), so the library's
 * own calls to malloc can be made to fail on demand.
 */
#include <stdlib.h>

#include "cyberagent.h"
#include "task_helpers.h"
#include "test_util.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static int fail_malloc; /* while set, every malloc through the wrap answers NULL */
static unsigned failed; /* allocations refused so far */

void *__wrap_malloc(size_t size)
{
    if (fail_malloc) {
        failed++;
        return NULL;
    }
    return __real_malloc(size);
}

/* Out of memory, ca_task_digest answers CA_ERR_NO_MEMORY and leaves *out alone
 * (it used to return a made-up "poisoned" digest with no sign of failure). */
static void test_digest_no_memory(void **state)
{
    (void)state;
    ca_identity *r = NULL, *w1 = NULL, *w2 = NULL;
    const uint8_t s1[32] = {1}, s2[32] = {2}, s3[32] = {3};
    assert_ok(ca_identity_from_seed(&r, s1));
    assert_ok(ca_identity_from_seed(&w1, s2));
    assert_ok(ca_identity_from_seed(&w2, s3));
    th_hire h;
    assert_ok(th_build_hire(&h, r, w1, w2, 0));
    ca_task *t = NULL;
    assert_ok(th_new(&t, &h.request, TH_T0 + 10));
    assert_ok(th_apply(t, &h.bid1, TH_T0 + 110));
    ca_hash good, d;
    assert_ok(ca_task_digest(t, &good));
    memset(&d, 0xa5, sizeof d);
    const ca_hash untouched = d;

    fail_malloc = 1;
    failed = 0;
    unsigned long serial = cai_error_serial();
    ca_status st = ca_task_digest(t, &d);
    fail_malloc = 0;
    assert_int_equal(failed, 1);
    assert_status_value(CA_ERR_NO_MEMORY, st);
    assert_true(cai_error_serial() != serial); /* LAST ERROR RULE: a sentence of its own */
    assert_memory_equal(d.bytes, untouched.bytes, CA_HASH_BYTES);
    assert_non_null(strstr(ca_last_error(), "digest"));

    /* Memory back: the same digest as before. */
    assert_ok(ca_task_digest(t, &d));
    assert_memory_equal(d.bytes, good.bytes, CA_HASH_BYTES);
    ca_task_free(t);
    ca_identity_free(r);
    ca_identity_free(w1);
    ca_identity_free(w2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_no_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
