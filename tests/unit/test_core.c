/* Core: status names, last error, init, version, sizes, helpers, the id map, array growth. */
#include <pthread.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/array.h"
#include "core/idmap.h"
#include "cyberagent.h"
#include "ledger/ledger_internal.h"
#include "reputation/reputation_internal.h"
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

/* The one saturating add (lib/internal.h): deadlines and skews near the end of time never wrap. */
static void test_sat_add(void **state)
{
    (void)state;
    assert_true(cai_sat_add(0, 0) == 0);
    assert_true(cai_sat_add(2, 3) == 5);
    assert_true(cai_sat_add(UINT64_MAX - 3, 3) == UINT64_MAX);
    assert_true(cai_sat_add(UINT64_MAX - 3, 4) == UINT64_MAX);
    assert_true(cai_sat_add(4, UINT64_MAX - 3) == UINT64_MAX);
    assert_true(cai_sat_add(UINT64_MAX, UINT64_MAX) == UINT64_MAX);
}

/*
 * The one offense key: the ledger's evidence key is BLAKE2b-256(
 * "cyberagent/1/evidence" || kind as a little-endian u32 || ref || offender),
 * as docs/LEDGER.md ("State") writes it, and reputation's offense fingerprint
 * (its dedup key) is the first 8 bytes of that same key.
 */
static void test_evidence_key_layout(void **state)
{
    (void)state;
    assert_ok(ca_init());
    for (uint32_t kind = CA_LEDGER_EVIDENCE_EQUIVOCATION; kind <= CA_LEDGER_EVIDENCE_DISPUTE;
         kind++) {
        ca_hash ref, key;
        ca_agent_id offender;
        randombytes_buf(ref.bytes, sizeof ref.bytes);
        randombytes_buf(offender.bytes, sizeof offender.bytes);
        uint8_t buf[21 + 4 + 32 + 32], want[32];
        memcpy(buf, "cyberagent/1/evidence", 21);
        cai_store_le32(buf + 21, kind);
        memcpy(buf + 25, ref.bytes, 32);
        memcpy(buf + 57, offender.bytes, 32);
        crypto_generichash(want, sizeof want, buf, sizeof buf, NULL, 0);
        cai_ledger_evidence_key(kind, &ref, &offender, &key);
        assert_memory_equal(key.bytes, want, sizeof want);
        assert_true(cai_reputation_offense_fp(kind, &ref, &offender) == cai_load_le64(want));
    }
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

/* ------------------------------------------------------------------ id map */

/* A caller's record: the key first, then anything. */
typedef struct rec {
    uint8_t key[32];
    uint32_t payload;
} rec;

#define RECS(r) (r), sizeof(rec)

static void random_key(uint8_t key[32])
{
    randombytes_buf(key, 32);
}

/* A random key whose home slot is `home` in the map's table. */
static void key_with_home(const cai_idmap *m, uint32_t home, uint8_t key[32])
{
    do
        random_key(key);
    while (cai_idmap_home(m, cai_idmap_hash(m, key)) != home);
}

/* Records whose keys have the given home slots, in order. */
static void keys_with_homes(const cai_idmap *m, const uint32_t *homes, size_t n, rec *r)
{
    memset(r, 0, n * sizeof *r);
    for (size_t i = 0; i < n; i++)
        key_with_home(m, homes[i], r[i].key);
}

static cai_idmap_stats stats_of(const cai_idmap *m)
{
    cai_idmap_stats st;
    cai_idmap_stats_get(m, &st);
    return st;
}

/*
 * Probe bounds for a map at load <= 1/2 under keys the hash key does not
 * know (every test below): a successful find costs 1/2 (1 + 1/(1 - a)) <= 1.5
 * slots on average (Knuth, linear probing), an unsuccessful one
 * 1/2 (1 + 1/(1 - a)^2) <= 2.5. No run of occupied slots reaches L = 128: a
 * run of L slots needs >= L of the n = a m keys to hash into those L slots,
 * which by a Chernoff bound has probability <= (a e^(1-a))^L <= 0.825^128
 * < 2e-11 per slot, < 1e-5 over a table of 2^19 slots. The assertions allow
 * 2 and 4 for the means (the samples are not independent) and 128 for any
 * probe or run; keys that collide (the old 16-byte hash) give runs of the
 * whole key count.
 */
#define MEAN_HIT_MAX  2.0
#define MEAN_MISS_MAX 4.0
#define PROBE_MAX     128u

static void assert_probes_small(const cai_idmap *m)
{
    cai_idmap_stats st = stats_of(m);
    assert_true(st.count > 0);
    assert_true((uint64_t)st.count * 2 <= st.slots);
    assert_true(st.max_probe <= PROBE_MAX);
    assert_true(st.max_run <= PROBE_MAX);
    assert_true((double)st.total_probe <= MEAN_HIT_MAX * st.count);
}

static void test_idmap_siphash(void **state)
{
    (void)state;
    assert_ok(ca_init());
    /* cai_siphash with 2-4 rounds is libsodium's crypto_shorthash (SipHash-2-4), at every
     * length (whole words, a partial last word, none). */
    uint8_t kb[crypto_shorthash_KEYBYTES], in[64], out[crypto_shorthash_BYTES];
    for (int t = 0; t < 1000; t++) {
        randombytes_buf(kb, sizeof kb);
        randombytes_buf(in, sizeof in);
        size_t len = (size_t)t % (sizeof in + 1);
        uint64_t k[2] = {cai_load_le64(kb), cai_load_le64(kb + 8)};
        assert_int_equal(crypto_shorthash(out, in, len, kb), 0);
        assert_true(cai_load_le64(out) == cai_siphash(k, in, len, 2, 4));
    }
    /* The map's hashes are the same construction with 1-3 rounds: unrolled for 32 bytes and
     * for a 64-bit key (its 8 little-endian bytes), general for any other length. */
    cai_idmap m, m2;
    assert_ok(cai_idmap_init(&m, 10));
    assert_ok(cai_idmap_init(&m2, 10));
    for (int t = 0; t < 1000; t++) {
        randombytes_buf(in, sizeof in);
        assert_true(cai_idmap_hash(&m, in) == cai_siphash(m.key, in, 32, 1, 3));
        assert_true(cai_idmap_hash_bytes(&m, in, 32) == cai_idmap_hash(&m, in));
        size_t len = (size_t)t % 20;
        assert_true(cai_idmap_hash_bytes(&m, in, len) == cai_siphash(m.key, in, len, 1, 3));
        assert_true(cai_idmap_hash_u64(&m, cai_load_le64(in)) == cai_siphash(m.key, in, 8, 1, 3));
    }
    /* Every byte counts, the last one too; each map has its own key. */
    uint64_t h = cai_idmap_hash(&m, in);
    for (int b = 0; b < 32; b++) {
        in[b] ^= 1;
        assert_true(cai_idmap_hash(&m, in) != h);
        in[b] ^= 1;
    }
    assert_true(cai_idmap_hash(&m2, in) != h);
    cai_idmap_free(&m);
    cai_idmap_free(&m2);
}

static void test_idmap_backward_shift(void **state)
{
    (void)state;
    assert_ok(ca_init());
    cai_idmap m;
    assert_ok(cai_idmap_init(&m, 1000));
    uint8_t none[32] = {0};
    assert_int_equal(cai_idmap_find(&m, NULL, sizeof(rec), none), CAI_IDMAP_NONE);
    assert_ok(cai_idmap_reserve(&m, 8));
    assert_int_equal(m.cap, 16); /* 8 entries at load 1/2 */
    /* A, B, C share home 14; D's home is 15; the run 14, 15, 0, 1 wraps around. */
    rec r[5];
    keys_with_homes(&m, (const uint32_t[]){14, 14, 14, 15, 1}, 5, r); /* E, inserted later */
    const uint64_t *slots = m.slots;
    for (uint32_t i = 0; i < 4; i++)
        cai_idmap_insert(&m, r[i].key, i);
    assert_ptr_equal(m.slots, slots); /* inserts never allocate */
    cai_idmap_stats st = stats_of(&m);
    assert_int_equal(st.count, 4);
    assert_int_equal(st.total_probe, 1 + 2 + 3 + 3);
    assert_int_equal(st.max_probe, 3);
    assert_int_equal(st.max_run, 4);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[4].key), CAI_IDMAP_NONE);
    uint64_t probes = 0;
    assert_int_equal(
        cai_idmap_find_hashed(&m, RECS(r), r[2].key, cai_idmap_hash(&m, r[2].key), &probes), 2);
    assert_int_equal(probes, 3);
    /* The cursor yields the candidates whose hash bits match, in probe order: here C only
     * (the others' 32 stored hash bits differ), then the end of the run. */
    cai_idmap_cursor c = cai_idmap_cursor_start(&m, cai_idmap_hash(&m, r[2].key));
    assert_int_equal(cai_idmap_cursor_next(&m, &c), 2);
    assert_int_equal(cai_idmap_cursor_next(&m, &c), CAI_IDMAP_NONE);
    c = cai_idmap_cursor_start(&m, cai_idmap_hash(&m, r[4].key));
    assert_int_equal(cai_idmap_cursor_next(&m, &c), CAI_IDMAP_NONE);

    /* Removing A shifts B, C and D back one slot each: no tombstone. */
    assert_int_equal(cai_idmap_remove(&m, r[0].key, 1), 0); /* A is not at index 1 */
    assert_int_equal(cai_idmap_remove(&m, r[0].key, 0), 1);
    st = stats_of(&m);
    assert_int_equal(st.count, 3);
    assert_int_equal(st.total_probe, 1 + 2 + 2);
    assert_int_equal(st.max_run, 3);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[0].key), CAI_IDMAP_NONE);
    for (uint32_t i = 1; i < 4; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);
    assert_int_equal(cai_idmap_remove(&m, r[0].key, 0), 0);
    assert_int_equal(m.count, 3);

    /* E sits at its home 1; removing B moves C and D, but not E (home after the hole). */
    cai_idmap_insert(&m, r[4].key, 4);
    assert_int_equal(cai_idmap_remove(&m, r[1].key, 1), 1);
    st = stats_of(&m);
    assert_int_equal(st.count, 3);
    assert_int_equal(st.total_probe, 3); /* C at 14, D at 15, E at 1: all at home */
    assert_int_equal(st.max_run, 2);
    for (uint32_t i = 2; i < 5; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);

    /* Emptied: nothing left behind. */
    for (uint32_t i = 2; i < 5; i++)
        assert_int_equal(cai_idmap_remove(&m, r[i].key, i), 1);
    st = stats_of(&m);
    assert_int_equal(st.count, 0);
    assert_int_equal(st.total_probe, 0);
    assert_int_equal(st.max_run, 0);
    for (uint32_t i = 0; i < m.cap; i++)
        assert_true(m.slots[i] == 0);
    cai_idmap_free(&m);
    cai_idmap_free(&m); /* twice: harmless */
}

static void test_idmap_growth_renumber(void **state)
{
    (void)state;
    assert_ok(ca_init());
    enum { N = 100000 };
    rec *r = malloc(N * sizeof *r);
    assert_non_null(r);
    cai_idmap m;
    assert_ok(cai_idmap_init(&m, N));
    unsigned grows = 0;
    for (uint32_t i = 0; i < N; i++) {
        random_key(r[i].key);
        const uint64_t *before = m.slots;
        assert_ok(cai_idmap_reserve(&m, 1));
        grows += m.slots != before;
        assert_true((uint64_t)(m.count + 1) * 2 <= (uint64_t)m.cap);
        cai_idmap_insert(&m, r[i].key, i);
    }
    /* 16 slots first, doubling to 2^17; the next doubling (2^18) would pass what the limit
     * of N entries needs, so the last growth takes 2N slots. */
    assert_int_equal(m.cap, 2 * N);
    assert_int_equal(grows, 17 - 4 + 1 + 1);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);
    assert_probes_small(&m);
    assert_int_equal(cai_idmap_memory_bytes(&m), (size_t)8 * 2 * N);

    /* Delete by moving the last record into the hole (what a dense array does). */
    for (uint32_t n = N; n > N / 2; n--) {
        uint32_t victim = (uint32_t)(randombytes_uniform(n));
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[victim].key), victim);
        assert_int_equal(cai_idmap_remove(&m, r[victim].key, victim), 1);
        if (victim != n - 1) {
            r[victim] = r[n - 1];
            assert_int_equal(cai_idmap_renumber(&m, r[victim].key, n - 1, victim), 1);
        }
    }
    assert_int_equal(m.count, N / 2);
    for (uint32_t i = 0; i < N / 2; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);
    assert_int_equal(cai_idmap_renumber(&m, r[0].key, 7, 8), 0); /* not key -> 7 */
    /* Deletes leave no tombstones: the table looks like one that never held the others. */
    assert_probes_small(&m);
    cai_idmap_free(&m);
    free(r);
}

static void test_idmap_reserve_limit(void **state)
{
    (void)state;
    assert_ok(ca_init());
    cai_idmap m;
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_idmap_init(&m, 0));
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_idmap_init(&m, CAI_IDMAP_MAX_ENTRIES + 1));
    assert_ok(cai_idmap_init(&m, CAI_IDMAP_MAX_ENTRIES)); /* no memory until reserved */
    assert_null(m.slots);
    assert_int_equal(cai_idmap_memory_bytes(&m), 0);
    cai_idmap_free(&m);

    rec r[6];
    assert_ok(cai_idmap_init(&m, 5));
    assert_status(CA_ERR_LIMIT, cai_idmap_reserve(&m, 6));
    assert_null(m.slots); /* a failed reserve changes nothing */
    assert_ok(cai_idmap_reserve(&m, 5));
    const uint64_t *slots = m.slots;
    for (uint32_t i = 0; i < 5; i++) {
        random_key(r[i].key);
        assert_ok(cai_idmap_reserve(&m, 1)); /* already there: no allocation */
        cai_idmap_insert(&m, r[i].key, i);
    }
    assert_ptr_equal(m.slots, slots);
    assert_status(CA_ERR_LIMIT, cai_idmap_reserve(&m, 1));
    assert_true(strlen(ca_last_error()) > 0);
    assert_int_equal(m.count, 5);
    assert_ok(cai_idmap_reserve(&m, 0));
    assert_int_equal(cai_idmap_remove(&m, r[3].key, 3), 1);
    assert_ok(cai_idmap_reserve(&m, 1)); /* a removal frees room under the limit */
    cai_idmap_free(&m);
}

/* Keys an attacker makes for free: a shared 31-byte prefix (differing in the last byte only),
 * a shared 16-byte prefix (what the ledger's old index hashed). */
static void test_idmap_adversarial_keys(void **state)
{
    (void)state;
    assert_ok(ca_init());
    enum { N = 100000 };
    rec *r = malloc(N * sizeof *r);
    assert_non_null(r);
    cai_idmap m;

    assert_ok(cai_idmap_init(&m, 256));
    assert_ok(cai_idmap_reserve(&m, 256));
    for (uint32_t i = 0; i < 256; i++) {
        memset(r[i].key, 0x3C, 32);
        r[i].key[31] = (uint8_t)i;
        cai_idmap_insert(&m, r[i].key, i);
    }
    for (uint32_t i = 0; i < 256; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);
    assert_probes_small(&m);
    cai_idmap_free(&m);

    assert_ok(cai_idmap_init(&m, N));
    for (uint32_t i = 0; i < N; i++) {
        memset(r[i].key, 0xC5, 32);
        cai_store_le32(r[i].key + 16, i);
        assert_ok(cai_idmap_reserve(&m, 1));
        cai_idmap_insert(&m, r[i].key, i);
    }
    uint64_t probes = 0;
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(
            cai_idmap_find_hashed(&m, RECS(r), r[i].key, cai_idmap_hash(&m, r[i].key), &probes), i);
    assert_true((double)probes <= MEAN_HIT_MAX * N);
    assert_probes_small(&m);
    /* Absent keys with the same prefix: unsuccessful finds stay short too. */
    probes = 0;
    uint8_t absent[32];
    memset(absent, 0xC5, 32);
    for (uint32_t i = 0; i < N; i++) {
        cai_store_le32(absent + 16, N + i);
        assert_int_equal(
            cai_idmap_find_hashed(&m, RECS(r), absent, cai_idmap_hash(&m, absent), &probes),
            CAI_IDMAP_NONE);
    }
    assert_true((double)probes <= MEAN_MISS_MAX * N);
    cai_idmap_free(&m);
    free(r);
}

/*
 * Owner-assigned indices (cai_idmap_hash_index): all of 0..N-1, every 64th
 * one and every 2^k-spaced one (strides that break an unkeyed multiplicative
 * hash) each spread like random keys: the same probe bounds.
 */
static void test_idmap_index_keys(void **state)
{
    (void)state;
    assert_ok(ca_init());
    enum { N = 65536 };
    static const uint32_t stride[] = {1, 64, 4096, 65536};
    for (size_t s = 0; s < sizeof stride / sizeof stride[0]; s++) {
        cai_idmap m;
        assert_ok(cai_idmap_init(&m, N));
        assert_ok(cai_idmap_reserve(&m, N));
        for (uint32_t i = 0; i < N; i++)
            cai_idmap_insert_hashed(&m, cai_idmap_hash_index(&m, i * stride[s]), i);
        uint64_t probes = 0;
        for (uint32_t i = 0; i < N; i++) {
            cai_idmap_cursor c =
                cai_idmap_cursor_start(&m, cai_idmap_hash_index(&m, i * stride[s]));
            uint32_t got;
            do
                probes++;
            while ((got = cai_idmap_cursor_next(&m, &c)) != CAI_IDMAP_NONE && got != i);
            assert_int_equal(got, i);
        }
        assert_true((double)probes <= MEAN_HIT_MAX * N);
        assert_probes_small(&m);
        cai_idmap_free(&m);
    }
}

/*
 * Any slot count: an exact reserve takes 2 slots a key (not the next power of
 * two), homes come from a multiply-shift of the hash bits, and runs wrap
 * around the end of a table of 10 slots exactly as in a table of 16.
 */
static void test_idmap_exact_sizes(void **state)
{
    (void)state;
    assert_ok(ca_init());
    cai_idmap m;
    assert_ok(cai_idmap_init(&m, 1000));
    assert_ok(cai_idmap_reserve_exact(&m, 5));
    assert_int_equal(m.cap, 10);
    assert_int_equal(cai_idmap_memory_bytes(&m), 80);
    assert_ok(cai_idmap_reserve_exact(&m, 5)); /* room already: nothing moves */
    assert_int_equal(m.cap, 10);
    /* Every slot is some hash's home: h's low 32 bits * 10 >> 32. */
    assert_int_equal(cai_idmap_home(&m, 0), 0);
    assert_int_equal(cai_idmap_home(&m, 0xffffffffu), 9);
    assert_int_equal(cai_idmap_home(&m, (uint64_t)0xabcd << 32), 0); /* high bits are not used */
    /* A, B share home 9; C's home is 0: the run 9, 0, 1 wraps. */
    rec r[4];
    keys_with_homes(&m, (const uint32_t[]){9, 9, 0, 1}, 4, r);
    for (uint32_t i = 0; i < 3; i++)
        cai_idmap_insert(&m, r[i].key, i);
    cai_idmap_stats st = stats_of(&m);
    assert_int_equal(st.slots, 10);
    assert_int_equal(st.total_probe, 1 + 2 + 2);
    assert_int_equal(st.max_run, 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(cai_idmap_find(&m, RECS(r), r[i].key), i);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[3].key), CAI_IDMAP_NONE);
    /* Removing A moves B back to 9 and C home to 0 across the wrap. */
    assert_int_equal(cai_idmap_remove(&m, r[0].key, 0), 1);
    st = stats_of(&m);
    assert_int_equal(st.total_probe, 2);
    assert_int_equal(st.max_run, 2);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[1].key), 1);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[2].key), 2);
    /* Growth keeps every entry findable (homes recomputed from the stored hash bits). */
    assert_ok(cai_idmap_reserve(&m, 6)); /* 8 entries need 16 slots: doubles 10 to 20 */
    assert_int_equal(m.cap, 20);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[1].key), 1);
    assert_int_equal(cai_idmap_find(&m, RECS(r), r[2].key), 2);
    cai_idmap_free(&m);
}

/* The 64-bit keys a peer picks for free: fingerprints that differ only in their top bits. */
static void test_idmap_u64_set(void **state)
{
    (void)state;
    assert_ok(ca_init());
    enum { N = 1 << 15 };
    cai_idmap m;
    assert_ok(cai_idmap_init_u64(&m, 3 * N));
    assert_int_equal(cai_idmap_u64_find(&m, 0, NULL), 0);
    assert_int_equal(cai_idmap_u64_find(&m, 7, NULL), 0);
    /* Key 0 is kept aside: it counts, needs no slot. */
    assert_ok(cai_idmap_reserve(&m, 1));
    cai_idmap_u64_insert(&m, 0);
    assert_int_equal(cai_idmap_u64_find(&m, 0, NULL), 1);
    assert_int_equal(m.count, 1);
    /* An exact reserve takes 20/17 slots a key + 2: 8 * 20 / 17 = 9.4 bytes a key. */
    cai_idmap_free(&m);
    assert_ok(cai_idmap_reserve_exact(&m, N));
    assert_int_equal(m.cap, (uint32_t)N * 20 / 17 + 2);
    const uint64_t *slots = m.slots;
    uint64_t probes = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint64_t key = (uint64_t)(i + 1) << 40;
        assert_int_equal(cai_idmap_u64_find(&m, key, NULL), 0);
        cai_idmap_u64_insert(&m, key);
    }
    assert_ptr_equal(m.slots, slots); /* inserts never allocate */
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(cai_idmap_u64_find(&m, (uint64_t)(i + 1) << 40, &probes), 1);
    /* Linear probing at load 0.85: about 1/2 (1 + 1/(1 - a)) = 3.8 slots a hit. */
    assert_true((double)probes <= 6.0 * N);
    cai_idmap_stats st = stats_of(&m);
    assert_int_equal(st.count, N);
    assert_true(st.total_probe == probes);
    /* Runs: ~450 at most over 40 random maps of this size (load 0.85 makes long runs);
     * keys that collided would make one run of N. */
    assert_true(st.max_run <= N / 8);
    probes = 0;
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(cai_idmap_u64_find(&m, (uint64_t)(N + i + 1) << 40, &probes), 0);
    assert_true((double)probes <= 40.0 * N); /* about 1/2 (1 + 1/(1 - a)^2) = 22.7 a miss */
    /* Growth (doubling) rehashes every key; all stay, and the listing gives each once. */
    assert_ok(cai_idmap_reserve(&m, N));
    assert_int_equal(m.cap, 2 * ((uint32_t)N * 20 / 17 + 2));
    cai_idmap_u64_insert(&m, 0);
    uint64_t *keys = malloc((size_t)m.count * sizeof *keys);
    assert_non_null(keys);
    cai_idmap_u64_keys(&m, keys);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < m.count; i++)
        sum += keys[i] >> 40;
    assert_true(sum == (uint64_t)N * (N + 1) / 2);
    free(keys);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(cai_idmap_u64_find(&m, (uint64_t)(i + 1) << 40, NULL), 1);
    assert_status(CA_ERR_LIMIT, cai_idmap_reserve(&m, 2 * N));
    cai_idmap_free(&m);
}

static void test_array_grow(void **state)
{
    (void)state;
    uint64_t *a = NULL;
    uint32_t cap = 0;
    assert_ok(cai_array_grow((void **)&a, &cap, 0, sizeof *a, 1000));
    assert_null(a);
    assert_ok(cai_array_grow((void **)&a, &cap, 1, sizeof *a, 1000));
    assert_int_equal(cap, 16);
    a[15] = 7;
    const uint64_t *before = a;
    assert_ok(cai_array_grow((void **)&a, &cap, 16, sizeof *a, 1000));
    assert_ptr_equal(a, before); /* enough already: untouched */
    assert_ok(cai_array_grow((void **)&a, &cap, 17, sizeof *a, 1000));
    assert_int_equal(cap, 32);
    assert_int_equal(a[15], 7); /* contents kept */
    assert_ok(cai_array_grow((void **)&a, &cap, 100, sizeof *a, 1000));
    assert_int_equal(cap, 128);
    /* Never past the maximum: the last doubling is clamped, beyond is CA_ERR_LIMIT. */
    assert_ok(cai_array_grow((void **)&a, &cap, 600, sizeof *a, 1000));
    assert_int_equal(cap, 1000);
    assert_status(CA_ERR_LIMIT, cai_array_grow((void **)&a, &cap, 1001, sizeof *a, 1000));
    assert_int_equal(cap, 1000);
    /* An allocation that cannot be made: CA_ERR_NO_MEMORY, array unchanged. */
    before = a;
    assert_status(CA_ERR_NO_MEMORY,
                  cai_array_grow((void **)&a, &cap, 1001, SIZE_MAX / 64, UINT32_MAX));
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 1000);
    assert_status(CA_ERR_INVALID_ARGUMENT, cai_array_grow((void **)&a, &cap, 1001, 0, 2000));
    assert_int_equal(cap, 1000);
    free(a);

    /* Another first size (a small per-object array), and an exact reserve. */
    a = NULL;
    cap = 0;
    assert_ok(cai_array_grow_from((void **)&a, &cap, 1, sizeof *a, 1000, 4));
    assert_int_equal(cap, 4);
    assert_ok(cai_array_grow_from((void **)&a, &cap, 5, sizeof *a, 1000, 4));
    assert_int_equal(cap, 8);
    assert_ok(cai_array_reserve((void **)&a, &cap, 8, sizeof *a, 1000)); /* enough already */
    assert_int_equal(cap, 8);
    assert_ok(cai_array_reserve((void **)&a, &cap, 123, sizeof *a, 1000));
    assert_int_equal(cap, 123);
    assert_status(CA_ERR_LIMIT, cai_array_reserve((void **)&a, &cap, 1001, sizeof *a, 1000));
    assert_int_equal(cap, 123);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_last_error_is_thread_local),
        cmocka_unit_test(test_init_idempotent_and_threaded),
        cmocka_unit_test(test_version_and_sizes),
        cmocka_unit_test(test_equal_and_wipe),
        cmocka_unit_test(test_sat_add),
        cmocka_unit_test(test_evidence_key_layout),
        cmocka_unit_test(test_idmap_siphash),
        cmocka_unit_test(test_idmap_backward_shift),
        cmocka_unit_test(test_idmap_growth_renumber),
        cmocka_unit_test(test_idmap_reserve_limit),
        cmocka_unit_test(test_idmap_adversarial_keys),
        cmocka_unit_test(test_idmap_index_keys),
        cmocka_unit_test(test_idmap_exact_sizes),
        cmocka_unit_test(test_idmap_u64_set),
        cmocka_unit_test(test_array_grow),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
