/*
 * LAST ERROR RULE (common.h), module by module. For each module a call fails
 * (the sentence is new, not empty, and names the cause), calls succeed,
 * functions that return no ca_status run, and another call fails, the
 * second time through a nested call (the envelope decoder under the task
 * thread, the identity verifier under the envelope, ...). What the rule
 * promises is asserted: successes never clear the sentence (it may change,
 * which the rule leaves open), and functions without a status never touch it.
 *
 * Every failing call also runs after a sentinel sentence was planted, so a
 * status returned without a sentence of its own (an earlier failure's
 * sentence left behind) fails the test. assert_status (test_util.h) makes
 * the same check on every failing call of every unit test.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "cyberagent.h"
#include "task_helpers.h"
#include "test_util.h"

#define SENTINEL "sentinel planted by test_last_error"

/*
 * `call` must fail with `status`: the sentinel planted before it is gone,
 * and the new sentence is not empty and contains `cause`.
 */
#define expect_failure(status, call, cause)                                                        \
    do {                                                                                           \
        cai_record_error("%s", SENTINEL);                                                          \
        assert_status(status, call);                                                               \
        assert_string_not_equal(ca_last_error(), SENTINEL);                                        \
        if (strstr(ca_last_error(), (cause)) == NULL)                                              \
            fail_msg("%s: expected \"%s\" in: %s", #call, (cause), ca_last_error());               \
    } while (0)

/* The thread's sentence, copied (ca_last_error() is valid until the next call). */
typedef struct sentence {
    char text[256];
    unsigned long serial;
} sentence;

static sentence keep(void)
{
    sentence s;
    snprintf(s.text, sizeof s.text, "%s", ca_last_error());
    s.serial = cai_error_serial();
    return s;
}

/* Nothing clears the sentence: after a failure it is never "" again on this thread. */
static void assert_not_cleared(void)
{
    if (ca_last_error()[0] == '\0')
        fail_msg("a successful call cleared the sentence");
}

/* Functions that return no ca_status left the sentence alone. */
static void assert_untouched(const sentence *s)
{
    assert_string_equal(ca_last_error(), s->text);
    assert_true(cai_error_serial() == s->serial);
}

/* The second failure's sentence is its own, not the first one's. */
static void assert_replaced(const sentence *first)
{
    assert_string_not_equal(ca_last_error(), first->text);
    assert_true(cai_error_serial() != first->serial);
}

static ca_identity *ident(uint8_t tag)
{
    uint8_t seed[CA_SEED_BYTES] = {tag, 0x1e};
    ca_identity *id = NULL;
    assert_ok(ca_identity_from_seed(&id, seed));
    return id;
}

static void test_core(void **state)
{
    (void)state;
    assert_ok(ca_init());
    /* A sentence may quote the previous one (formatted before it is stored). */
    cai_record_error("first cause %d", 1);
    cai_record_error("wrapped: %s", ca_last_error());
    assert_string_equal(ca_last_error(), "wrapped: first cause 1");
    /* A long sentence is cut to the buffer, still NUL-terminated. */
    char longer[600];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    cai_record_error("%s", longer);
    assert_int_equal(strlen(ca_last_error()), 255);
    /* Functions without a status leave it alone. */
    sentence s = keep();
    (void)ca_status_str(CA_ERR_LIMIT);
    (void)ca_version_string();
    (void)ca_equal("ab", "ab", 2);
    uint8_t b[4] = {1, 2, 3, 4};
    ca_wipe(b, sizeof b);
    assert_untouched(&s);
}

static void test_identity(void **state)
{
    (void)state;
    ca_agent_id id;
    expect_failure(CA_ERR_BAD_DID, ca_did_parse("did:key:nope", 12, &id), "multibase");
    sentence first = keep();

    ca_identity *alice = ident(1);
    ca_identity_id(alice, &id);
    ca_signature sig;
    assert_ok(ca_identity_sign_tagged(alice, "app/test", 8, (const uint8_t *)"hi", 2, &sig));
    assert_ok(ca_identity_verify_tagged(&id, "app/test", 8, (const uint8_t *)"hi", 2, &sig));
    char did[CA_DID_MAX_CHARS + 1];
    size_t n = 0;
    assert_ok(ca_did_encode(&id, did, sizeof did, &n));
    assert_not_cleared();
    first = keep();
    ca_identity_id(alice, &id);
    ca_identity_free(NULL);
    (void)ca_seed_bytes();
    assert_untouched(&first);

    /* Nested: the key file opens (checksum intact) but Argon2id + AEAD refuse the passphrase. */
    ca_keyfile_options ko;
    assert_ok(ca_keyfile_options_init(&ko, CA_KEYFILE_OPTIONS_VERSION));
    ko.opslimit = 1;
    ko.memlimit = 8192;
    uint8_t file[CA_KEYFILE_BYTES];
    assert_ok(ca_identity_export_encrypted(alice, "right", 5, &ko, file, sizeof file, &n));
    ca_identity *back = NULL;
    expect_failure(CA_ERR_WRONG_PASSPHRASE,
                   ca_identity_import_encrypted(&back, file, n, "wrong", 5, &ko), "passphrase");
    assert_replaced(&first);
    first = keep();
    /* The same call failing for another reason says so. */
    file[n - 1] ^= 1;
    expect_failure(CA_ERR_KEYFILE_CORRUPT,
                   ca_identity_import_encrypted(&back, file, n, "right", 5, &ko), "damaged");
    assert_replaced(&first);
    first = keep();
    /* errno's sentence: a file that is not there. */
    expect_failure(CA_ERR_NOT_FOUND,
                   ca_identity_load(&back, CA_TEST_TMP_DIR "/no-such-key", "x", 1, &ko),
                   "no-such-key");
    assert_replaced(&first);
    first = keep();
    ca_identity_free(alice);
    assert_untouched(&first);
}

static void test_envelope(void **state)
{
    (void)state;
    ca_identity *alice = ident(2);
    ca_envelope *e = NULL;
    const uint8_t junk[] = {0x81, 0x00, 0xc1};
    expect_failure(CA_ERR_MALFORMED, ca_envelope_decode(&e, junk, sizeof junk, NULL), "malformed");
    sentence first = keep();

    ca_envelope_params ep;
    th_env(&ep, TH_T0, NULL);
    ep.kind = CA_KIND_APP_MIN;
    uint8_t buf[512];
    size_t len = 0;
    assert_ok(
        ca_envelope_sign(alice, &ep, (const uint8_t *)"body", 4, buf, sizeof buf, &len, NULL));
    assert_ok(ca_envelope_open(&e, buf, len, TH_T0 + 1, NULL));
    ca_replay_guard *g = NULL;
    ca_replay_guard_options go;
    assert_ok(ca_replay_guard_options_init(&go, CA_REPLAY_GUARD_OPTIONS_VERSION));
    go.capacity = 16;
    assert_ok(ca_replay_guard_new(&g, &go));
    assert_ok(ca_replay_guard_check(g, e, TH_T0 + 1));
    assert_not_cleared();
    first = keep();
    ca_hash h;
    ca_envelope_id(e, &h);
    (void)ca_envelope_kind(e);
    (void)ca_replay_guard_count(g);
    assert_untouched(&first);

    expect_failure(CA_ERR_REPLAY, ca_replay_guard_check(g, e, TH_T0 + 2), "already seen");
    assert_replaced(&first);
    first = keep();
    /* Nested: the identity module's verifier refuses the signature inside open. */
    buf[len - 1] ^= 1;
    ca_envelope *bad = NULL;
    expect_failure(CA_ERR_BAD_SIGNATURE, ca_envelope_open(&bad, buf, len, TH_T0 + 1, NULL),
                   "signature");
    assert_replaced(&first);
    first = keep();
    ca_envelope_free(e);
    ca_replay_guard_free(g);
    ca_identity_free(alice);
    assert_untouched(&first);
}

static void test_card(void **state)
{
    (void)state;
    expect_failure(CA_ERR_BAD_CAPABILITY, ca_capability_check("Not.Valid", 9),
                   "outside [a-z0-9-.]");
    sentence first = keep();

    ca_identity *alice = ident(3);
    const ca_card_capability caps[] = {{"llm.translate.en-fr", 10, 0}};
    ca_card_params p;
    assert_ok(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION));
    p.name = "translator";
    p.endpoint = "nats://translate";
    p.not_before = TH_T0;
    p.not_after = TH_T0 + 3600000;
    p.sequence = 1;
    p.capabilities = caps;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = 1;
    p.created_at = TH_T0;
    uint8_t buf[1024];
    size_t len = 0;
    assert_ok(ca_card_sign(alice, &p, buf, sizeof buf, &len, NULL));
    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, len, TH_T0 + 1, NULL));
    ca_card_capability c;
    assert_ok(
        ca_card_find_capability(card, "llm.translate.en-fr", 19, &c, sizeof(ca_card_capability)));
    assert_not_cleared();
    first = keep();
    (void)ca_card_name(card);
    (void)ca_card_capability_count(card);
    (void)ca_card_valid_at(card, TH_T0);
    assert_untouched(&first);

    expect_failure(
        CA_ERR_NOT_FOUND,
        ca_card_find_capability(card, "llm.summarize", 13, &c, sizeof(ca_card_capability)),
        "llm.summarize");
    assert_replaced(&first);
    first = keep();
    /* Nested: the envelope's clock check inside ca_card_open. */
    ca_card *late = NULL;
    expect_failure(CA_ERR_EXPIRED, ca_card_open(&late, buf, len, TH_T0 + 7200000, NULL),
                   "expired at");
    assert_replaced(&first);
    first = keep();
    ca_card_free(card);
    ca_identity_free(alice);
    assert_untouched(&first);
}

static void test_task(void **state)
{
    (void)state;
    ca_identity *req = ident(4), *w1 = ident(5), *w2 = ident(6);
    th_hire h;
    assert_ok(th_build_hire(&h, req, w1, w2, 0));
    ca_task *t = NULL;
    /* Nested: the envelope decoder under ca_task_new_bytes. */
    expect_failure(CA_ERR_MALFORMED, ca_task_new_bytes(&t, h.request.buf, 3, TH_T0, NULL),
                   "malformed");
    sentence first = keep();

    assert_ok(th_new(&t, &h.request, TH_T0 + 10));
    assert_ok(th_apply(t, &h.bid1, TH_T0 + 110));
    ca_hash d;
    assert_ok(ca_task_digest(t, &d));
    ca_task_msg *bid = NULL;
    assert_ok(ca_task_msg_open(&bid, h.bid1.buf, h.bid1.len, TH_T0 + 110, NULL));
    assert_not_cleared();
    first = keep();
    (void)ca_task_get_state(t);
    (void)ca_task_message_count(t);
    (void)ca_task_last(t, CA_KIND_TASK_BID);
    (void)ca_task_msg_kind(bid);
    ca_task_msg_free(bid);
    assert_untouched(&first);

    expect_failure(CA_ERR_TASK_DUPLICATE, th_apply(t, &h.bid1, TH_T0 + 120),
                   "already in the thread");
    assert_replaced(&first);
    first = keep();
    /* The task's own rule: a receipt before any award. */
    expect_failure(CA_ERR_TASK_UNKNOWN_PARENT, th_apply(t, &h.receipt, TH_T0 + 2000),
                   "before any result");
    assert_replaced(&first);
    first = keep();
    ca_evidence *ev = NULL;
    const uint8_t junk[] = {0x80};
    expect_failure(CA_ERR_MALFORMED, ca_evidence_open(&ev, junk, sizeof junk), "missing");
    assert_replaced(&first);
    first = keep();
    ca_evidence_free(ev); /* NULL after the failure */
    ca_task_free(t);
    ca_identity_free(req);
    ca_identity_free(w1);
    ca_identity_free(w2);
    assert_untouched(&first);
}

static ca_agent_id agent(uint8_t k)
{
    ca_agent_id id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = k;
    return id;
}

static ca_ledger_op ledger_op(uint32_t type, uint8_t signer, uint64_t nonce, uint8_t to,
                              uint64_t amount)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = agent(signer);
    op.nonce = nonce;
    op.counterparty = agent(to);
    op.amount = amount;
    return op;
}

static void test_ledger(void **state)
{
    (void)state;
    ca_ledger_options o;
    assert_ok(ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION));
    o.authority = agent(9);
    ca_ledger *l = NULL;
    assert_ok(ca_ledger_new(&l, &o));
    ca_ledger_op op = ledger_op(CA_LEDGER_OP_TRANSFER, 1, 1, 2, 5);
    expect_failure(CA_ERR_LEDGER_UNKNOWN_ACCOUNT, ca_ledger_apply(l, &op, 10, NULL), "no account");
    sentence first = keep();

    op = ledger_op(CA_LEDGER_OP_MINT, 9, 1, 1, 100);
    assert_ok(ca_ledger_apply(l, &op, 10, NULL));
    op = ledger_op(CA_LEDGER_OP_MINT, 9, 2, 2, 1);
    assert_ok(ca_ledger_apply(l, &op, 10, NULL));
    op = ledger_op(CA_LEDGER_OP_TRANSFER, 1, 1, 2, 5);
    assert_ok(ca_ledger_apply(l, &op, 11, NULL));
    assert_ok(ca_ledger_check(l));
    assert_not_cleared();
    first = keep();
    ca_ledger_totals tot = {.version = CA_LEDGER_TOTALS_VERSION};
    ca_ledger_totals_get(l, &tot);
    assert_untouched(&first);

    op = ledger_op(CA_LEDGER_OP_TRANSFER, 1, 2, 2, 1000);
    expect_failure(CA_ERR_LEDGER_INSUFFICIENT_FUNDS, ca_ledger_apply(l, &op, 12, NULL),
                   "95 < 1000");
    assert_replaced(&first);
    first = keep();
    /* Nested: the op decoder under ca_ledger_submit. */
    const uint8_t junk[] = {0x81, 0x00};
    expect_failure(CA_ERR_MALFORMED, ca_ledger_submit(l, junk, sizeof junk, 12, NULL), "malformed");
    assert_replaced(&first);
    first = keep();
    /* The file system: a durable ledger where a regular file stands. */
    const char *path = CA_TEST_TMP_DIR "/last-error-not-a-dir";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    ca_ledger *d = NULL;
    expect_failure(CA_ERR_IO, ca_ledger_open(&d, path, &o, NULL), "last-error-not-a-dir");
    assert_replaced(&first);
    unlink(path);
    first = keep();
    ca_ledger_free(l);
    assert_untouched(&first);
}

static void test_reputation(void **state)
{
    (void)state;
    ca_reputation *rep = NULL;
    assert_ok(ca_reputation_new(&rep, NULL));
    ca_hash task;
    memset(&task, 7, sizeof task);
    ca_agent_id a = agent(1), b = agent(2);
    expect_failure(CA_ERR_SELF_RATING,
                   ca_reputation_add_rating(rep, &task, &a, &a, 80, 1000000, TH_T0), "its own");
    sentence first = keep();

    assert_ok(ca_reputation_add_rating(rep, &task, &a, &b, 80, 1000000, TH_T0));
    assert_ok(ca_reputation_update(rep, TH_T0 + 1, NULL));
    ca_reputation_score sc;
    assert_ok(ca_reputation_get(rep, &b, &sc, sizeof(ca_reputation_score)));
    assert_not_cleared();
    first = keep();
    (void)ca_reputation_agent_count(rep);
    (void)ca_reputation_rating_count(rep);
    assert_untouched(&first);

    expect_failure(CA_ERR_DUPLICATE_RATING,
                   ca_reputation_add_rating(rep, &task, &a, &b, 80, 1000000, TH_T0),
                   "already been rated");
    assert_replaced(&first);
    first = keep();
    const uint8_t junk[8] = {0};
    ca_reputation *empty = NULL;
    assert_ok(ca_reputation_new(&empty, NULL));
    expect_failure(CA_ERR_REPUTATION_CORRUPT,
                   ca_reputation_snapshot_import(empty, junk, sizeof junk),
                   "shorter than a header");
    ca_reputation_free(empty);
    assert_replaced(&first);
    first = keep();
    ca_reputation_free(rep);
    assert_untouched(&first);
}

static void test_routing(void **state)
{
    (void)state;
    ca_routing *rt = NULL;
    assert_ok(ca_routing_new(&rt, NULL));
    ca_agent_id nobody = agent(42);
    expect_failure(CA_ERR_NOT_FOUND, ca_routing_remove(rt, &nobody), "not registered");
    sentence first = keep();

    ca_identity *alice = ident(7);
    const ca_card_capability caps[] = {{"llm.translate.en-fr", 10, 0}};
    ca_card_params p;
    assert_ok(ca_card_params_init(&p, CA_CARD_PARAMS_VERSION));
    p.name = "translator";
    p.endpoint = "nats://translate";
    p.not_before = TH_T0;
    p.not_after = TH_T0 + 3600000;
    p.sequence = 2;
    p.capabilities = caps;
    p.capability_size = sizeof(ca_card_capability);
    p.capability_count = 1;
    p.created_at = TH_T0;
    uint8_t buf[1024];
    size_t len = 0;
    assert_ok(ca_card_sign(alice, &p, buf, sizeof buf, &len, NULL));
    ca_card *card = NULL;
    assert_ok(ca_card_open(&card, buf, len, TH_T0 + 1, NULL));
    assert_ok(ca_routing_add_card(rt, card, TH_T0 + 1));
    ca_routing_query q;
    assert_ok(ca_routing_query_init(&q, CA_ROUTING_QUERY_VERSION));
    q.capability = "llm.translate.en-fr";
    q.capability_len = strlen(q.capability);
    q.now = TH_T0 + 2;
    ca_routing_result r[2];
    size_t n = 0;
    assert_ok(ca_routing_select(rt, &q, r, sizeof(ca_routing_result), 2, &n));
    assert_int_equal(n, 1);
    assert_not_cleared();
    first = keep();
    (void)ca_routing_count(rt);
    assert_untouched(&first);

    /* An older card of the same agent. */
    p.sequence = 1;
    assert_ok(ca_card_sign(alice, &p, buf, sizeof buf, &len, NULL));
    ca_card *older = NULL;
    assert_ok(ca_card_open(&older, buf, len, TH_T0 + 1, NULL));
    expect_failure(CA_ERR_ROUTING_STALE, ca_routing_add_card(rt, older, TH_T0 + 3), "older than");
    assert_replaced(&first);
    first = keep();

    /* Kademlia. */
    ca_kad *kad = NULL;
    ca_agent_id self = agent(1), other = agent(3);
    assert_ok(ca_kad_new(&kad, &self, NULL));
    expect_failure(CA_ERR_NOT_FOUND, ca_kad_remove(kad, &other), "not a contact");
    assert_replaced(&first);
    first = keep();
    assert_ok(ca_kad_seen(kad, &other, NULL));
    assert_ok(ca_kad_seen(kad, &self, NULL)); /* itself: ignored */
    (void)ca_kad_count(kad);
    expect_failure(CA_ERR_NOT_FOUND, ca_kad_mark_failed(kad, &nobody), "not a contact");
    first = keep();
    ca_kad_free(kad);
    ca_card_free(older);
    ca_card_free(card);
    ca_routing_free(rt);
    ca_identity_free(alice);
    assert_untouched(&first);
}

/* Each thread keeps its own sentence; a failure on one never shows on another. */
static void *other_thread(void *arg)
{
    (void)arg;
    ca_agent_id id;
    ca_status st = ca_did_parse("did:key:elsewhere", 17, &id);
    return (st == CA_ERR_BAD_DID && strstr(ca_last_error(), "did") != NULL) ? (void *)1 : NULL;
}

static void test_thread_local(void **state)
{
    (void)state;
    cai_record_error("%s", SENTINEL);
    pthread_t th;
    void *ok = NULL;
    assert_int_equal(pthread_create(&th, NULL, other_thread, NULL), 0);
    assert_int_equal(pthread_join(th, &ok), 0);
    assert_non_null(ok);
    assert_string_equal(ca_last_error(), SENTINEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core),         cmocka_unit_test(test_identity),
        cmocka_unit_test(test_envelope),     cmocka_unit_test(test_card),
        cmocka_unit_test(test_task),         cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_reputation),   cmocka_unit_test(test_routing),
        cmocka_unit_test(test_thread_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
