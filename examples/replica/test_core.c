/*
 * test_core.c (ctest replica_core, no NATS): the replica's apply and
 * checkpoint logic on a log held in memory. Frames round-trip and malformed
 * ones are one refused entry; an in-memory and a durable replica report the
 * same checkpoints; a durable replica that stops without committing resumes
 * from its journal at the right sequence and ends in the same state; a
 * snapshot installed in a new directory continues from its position; a gap
 * in the sequence is refused. Checkpoint lines and the checkpoint bucket's
 * values have one form each (the strict parsers refuse what the old sscanf
 * parser let through).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpformat.h"
#include "replica_core.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
#define OK(e)                                                                                      \
    do {                                                                                           \
        ca_status st_ = (e);                                                                       \
        if (st_ != CA_OK) {                                                                        \
            fprintf(stderr, "%s:%d: %s = %s (%s)\n", __FILE__, __LINE__, #e, ca_status_str(st_),   \
                    ca_last_error());                                                              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define NMSG 40

typedef struct msg {
    uint8_t b[2 * CA_LEDGER_OP_MAX_BYTES + 64];
    size_t len;
    int64_t time_ns;
} msg;

static msg log_[NMSG + 1]; /* stream sequences 1..NMSG */
static ca_ledger_options lopts;
static ca_hash lid;
static ca_identity *ids[4]; /* 0: authority, 1..3: agents */
static uint64_t nonces[4];

static ca_identity *ident(uint8_t k)
{
    uint8_t seed[32];
    memset(seed, k, sizeof seed);
    ca_identity *id = NULL;
    OK(ca_identity_from_seed(&id, seed));
    return id;
}

static ca_agent_id id_of(int k)
{
    ca_agent_id id;
    ca_identity_id(ids[k], &id);
    return id;
}

/* Signed op bytes of `type` by agent k (next nonce unless reuse). */
static size_t sign_op(uint8_t *out, int k, uint32_t type, int to, uint64_t amount)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = type;
    op.signer = id_of(k);
    op.nonce = ++nonces[k];
    if (to >= 0)
        op.counterparty = id_of(to);
    op.amount = amount;
    size_t n = 0;
    OK(ca_ledger_op_sign(&lid, &op, ids[k], NULL, out, CA_LEDGER_OP_MAX_BYTES, &n));
    return n;
}

static void build_log(void)
{
    for (int k = 0; k < 4; k++)
        ids[k] = ident((uint8_t)(k + 1));
    OK(ca_ledger_options_init(&lopts, CA_LEDGER_OPTIONS_VERSION));
    lopts.authority = id_of(0);
    lopts.unbonding_delay = 0;
    OK(ca_ledger_options_id(&lopts, &lid));
    int64_t t = 1700000000000LL * 1000000LL;
    for (int s = 1; s <= NMSG; s++) {
        msg *m = &log_[s];
        m->time_ns = t + (s % 7 == 0 ? -5000000LL : 1000000LL * s); /* sometimes backwards */
        if (s <= 3) {
            m->len = sign_op(m->b, 0, CA_LEDGER_OP_MINT, s, 1000);
        } else if (s == 10) {
            memcpy(m->b, "\xC1garbage", 8); /* a malformed frame: one refused entry */
            m->len = 8;
        } else if (s == 15) {
            m->len = sign_op(m->b, 1, CA_LEDGER_OP_TRANSFER, 2, 1000000); /* overspend */
            nonces[1]--; /* refused: no nonce used */
        } else if (s % 5 == 0) {
            uint8_t a[CA_LEDGER_OP_MAX_BYTES], b[CA_LEDGER_OP_MAX_BYTES];
            rc_item it[2] = {{a, sign_op(a, 2, CA_LEDGER_OP_TRANSFER, 3, 1), NULL, 0},
                             {b, sign_op(b, 2, CA_LEDGER_OP_BOND, -1, 2), NULL, 0}};
            OK(rc_frame_encode(it, 2, m->b, sizeof m->b, &m->len));
        } else {
            m->len = sign_op(m->b, 1 + s % 3, CA_LEDGER_OP_TRANSFER, 1 + (s + 1) % 3, 3);
        }
    }
}

static void test_frames(void)
{
    uint8_t a[3] = {1, 2, 3}, att[2] = {9, 8}, b[1] = {7}, f[64];
    rc_item in[2] = {{a, 3, att, 2}, {b, 1, NULL, 0}}, out[RC_FRAME_MAX_ITEMS];
    size_t len = 0;
    CHECK(rc_frame_encode(in, 2, f, 5, &len) == CA_ERR_BUFFER_TOO_SMALL);
    CHECK(len == rc_frame_size(in, 2) && len == 3 + 8 + 5 + 8 + 1);
    OK(rc_frame_encode(in, 2, f, sizeof f, &len));
    CHECK(rc_frame_split(f, len, out) == 2);
    CHECK(out[0].op == f + 7 && out[0].op_len == 3 && out[0].att_len == 2 &&
          memcmp(out[0].att, att, 2) == 0);
    CHECK(out[1].op_len == 1 && out[1].op[0] == 7 && out[1].att == NULL && out[1].att_len == 0);
    CHECK(rc_frame_encode(in, 0, f, sizeof f, &len) == CA_ERR_INVALID_ARGUMENT);
    /* Truncated, one byte too many, count 0: the whole message is one item. */
    for (size_t cut = 0; cut < len; cut++) {
        CHECK(rc_frame_split(f, cut, out) == 1);
        CHECK(out[0].op == f && out[0].op_len == cut && out[0].att == NULL);
    }
    f[len] = 0;
    CHECK(rc_frame_split(f, len + 1, out) == 1 && out[0].op_len == len + 1);
    f[1] = f[2] = 0;
    CHECK(rc_frame_split(f, len, out) == 1 && out[0].op_len == len);
    /* Not a frame: one op. */
    CHECK(rc_frame_split(a, 3, out) == 1 && out[0].op == a && out[0].op_len == 3);
}

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* Each accepted by the sscanf parser rc_parse was before (as seq 1000, that
 * hash, 3, or a wrapped or saturated number), none of them rc_format's form. */
static const char *const old_forms[] = {
    "+1000 " H64 " 3",
    "01000 " H64 " 3",
    " 1000 " H64 " 3",
    "1000  " H64 " 3",
    "1000\t" H64 " 3",
    "1000 " H64 " 3\n",
    "1000 " H64 " 3 junk",
    "1000 " H64 " 3junk",
    "1000 " H64 " +3",
    "1000 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff 3",
    "1000 0x112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 3",
    "1000 +0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 3",
    "-1 " H64 " 3",
    "18446744073709551616 " H64 " 3",
    "1000 " H64 " 99999999999999999999999",
};

static void test_lines(void)
{
    rc_checkpoint cp, keep;
    memset(&keep, 0x5a, sizeof keep);
    for (size_t i = 0; i < sizeof old_forms / sizeof old_forms[0]; i++) {
        cp = keep;
        if (rc_parse(old_forms[i], &cp) != -1)
            fprintf(stderr, "accepted: \"%s\"\n", old_forms[i]);
        CHECK(rc_parse(old_forms[i], &cp) == -1 && memcmp(&cp, &keep, sizeof cp) == 0);
    }
    CHECK(rc_parse("", &cp) == -1);
    CHECK(rc_parse("1000 " H64 " 3", &cp) == 0 && cp.seq == 1000 && cp.failed == 3 &&
          cp.hash.bytes[0] == 0x00 && cp.hash.bytes[1] == 0x11 && cp.hash.bytes[31] == 0xff);
    CHECK(rc_parse("18446744073709551615 " H64 " 0", &cp) == 0 && cp.seq == UINT64_MAX &&
          cp.failed == 0);
    char line[RC_LINE_MAX];
    rc_format(&cp, line);
    CHECK(strcmp(line, "18446744073709551615 " H64 " 0") == 0);
    /* A line at the start of program output: followed by the end, a space or '\n'. */
    const char *out = "1000 " H64 " 3 snapshot r1 r3\n";
    CHECK(rc_parse_prefix(out, strlen(out), &cp) == strlen("1000 " H64 " 3") && cp.seq == 1000);
    out = "1000 " H64 " 3\n";
    CHECK(rc_parse_prefix(out, strlen(out), &cp) == strlen(out) - 1);
    CHECK(rc_parse_prefix(out, strlen(out) - 3, &cp) == 0); /* cut inside the hash's tail */
    out = "1000 " H64 " 3x";
    CHECK(rc_parse_prefix(out, strlen(out), &cp) == 0);
    uint64_t v = 7;
    CHECK(rc_parse_u64("0", 1, &v) == 1 && v == 0);
    CHECK(rc_parse_u64("00", 2, &v) == 0 && v == 0);
    CHECK(rc_parse_u64("42 ", 3, &v) == 2 && v == 42);
    CHECK(rc_parse_u64("18446744073709551616", 20, &v) == 0 && v == 42);
    CHECK(rc_parse_u64("425", 2, &v) == 2 && v == 42); /* stops at len */
}

static void test_bucket_values(void)
{
    rc_checkpoint cp = {.seq = 7}, keep;
    memset(&keep, 0x5a, sizeof keep);
    const char *val = H64 " 3";
    char buf[RCP_INDEX_MAX];
    CHECK(rcp_parse_cp_value(val, strlen(val), 1000, &cp) == 0 && cp.seq == 1000 && cp.failed == 3);
    rcp_format_cp_value(&cp, buf);
    CHECK(strcmp(buf, val) == 0);
    /* A NUL inside the value: the old reader copied it as a C string and
     * saw "HASH 3"; a newline or text after the count was accepted too. */
    static const char nul[] = H64 " 3\0junk";
    cp = keep;
    CHECK(rcp_parse_cp_value(nul, sizeof nul - 1, 1000, &cp) == -1);
    CHECK(rcp_parse_cp_value(H64 " 3\n", strlen(H64) + 3, 1000, &cp) == -1);
    CHECK(rcp_parse_cp_value(H64 " 3 4", strlen(H64) + 4, 1000, &cp) == -1);
    CHECK(memcmp(&cp, &keep, sizeof cp) == 0);

    rcp_index ix, ikeep;
    memset(&ikeep, 0x5a, sizeof ikeep);
    const char *idx = "1000 " H64 " 3 2 524289";
    CHECK(rcp_parse_index(idx, strlen(idx), &ix) == 0 && ix.cp.seq == 1000 && ix.cp.failed == 3 &&
          ix.chunks == 2 && ix.bytes == RCP_CHUNK + 1);
    rcp_format_index(&ix, buf);
    CHECK(strcmp(buf, idx) == 0);
    idx = "1000 " H64 " 3 1 524288";
    CHECK(rcp_parse_index(idx, strlen(idx), &ix) == 0 && ix.chunks == 1);
    /* Refused: a chunk count that is not ceil(BYTES / RCP_CHUNK), no bytes,
     * a count above UINT32_MAX, and the old reader's misreadings (it took the
     * line with sscanf but found CHUNKS after the third space by strchr, so
     * a doubled space moved the fields it read). */
    static const char *const bad[] = {
        "1000 " H64 " 3 1 524289",  "1000 " H64 " 3 3 524289",
        "1000 " H64 " 3 0 0",       "1000 " H64 " 3 4294967296 2251799813685248",
        "1000  " H64 " 3 2 524289", "1000 " H64 " 3 2 524289\n",
        "1000 " H64 " 3 2  524289", "1000 " H64 " 3 -2 524289",
        "1000 " H64 " 3 2 0524289", "1000 " H64 " 3 2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ix = ikeep;
        CHECK(rcp_parse_index(bad[i], strlen(bad[i]), &ix) == -1 &&
              memcmp(&ix, &ikeep, sizeof ix) == 0);
    }
    idx = "1 " H64 " 0 4294967295 2251799813160960"; /* the most chunks */
    CHECK(rcp_parse_index(idx, strlen(idx), &ix) == 0 && ix.chunks == UINT32_MAX);

    char name[RCP_NAME_MAX + 1];
    uint64_t seq = 0;
    CHECK(rcp_parse_cp_key("cp.r-1_X.250", name, &seq) == 0 && strcmp(name, "r-1_X") == 0 &&
          seq == 250);
    static const char *const bad_keys[] = {
        "cp..250",
        "cp.r1.",
        "cp.r1.0250",
        "cp.r1.250.1",
        "cp.r 1.250",
        "cp.r1.+250",
        "snap.r1.250",
        "cp.r1.18446744073709551616",
        "cp.abcdefghijklmnopqrstuvwxyzABCDEFG.1", /* 33 characters */
    };
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        seq = 99;
        CHECK(rcp_parse_cp_key(bad_keys[i], name, &seq) == -1 && seq == 99);
    }
    CHECK(rcp_name_ok("abcdefghijklmnopqrstuvwxyzABCDEF") == 1);
    CHECK(rcp_name_ok("abcdefghijklmnopqrstuvwxyzABCDEFG") == 0);
    CHECK(rcp_name_ok("") == 0 && rcp_name_ok("r.1") == 0);
}

typedef struct seen {
    unsigned applied, refused, stale;
} seen;

static void count(void *ctx, uint64_t seq, uint32_t index, const rc_item *item, ca_status r)
{
    (void)seq;
    (void)index;
    (void)item;
    seen *s = ctx;
    if (r == CA_OK)
        s->applied++;
    else if (r == CA_ERR_LEDGER_STALE_POSITION)
        s->stale++;
    else
        s->refused++;
}

/* Feeds sequences from rc_next_seq through `last`; records checkpoints by sequence. */
static void feed(rc_core *c, uint64_t last, rc_checkpoint *cps, int *have)
{
    for (uint64_t s = rc_next_seq(c); s <= last; s++) {
        rc_checkpoint cp;
        int is_cp = 0;
        OK(rc_apply(c, s, log_[s].time_ns, log_[s].b, log_[s].len, &cp, &is_cp));
        CHECK(is_cp == (s % 4 == 0));
        if (is_cp) {
            CHECK(cp.seq == s);
            if (have[s]) /* reported again after a restart: the same values */
                CHECK(memcmp(&cps[s], &cp, sizeof cp) == 0);
            cps[s] = cp;
            have[s] = 1;
        }
    }
}

static void rmdir_all(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv)
{
    const char *tmp = argc > 1 ? argv[1] : "/tmp";
    char d1[256], d2[256];
    snprintf(d1, sizeof d1, "%s/replica_core_%d_a", tmp, (int)getpid());
    snprintf(d2, sizeof d2, "%s/replica_core_%d_b", tmp, (int)getpid());
    rmdir_all(d1);
    rmdir_all(d2);
    OK(ca_init());
    test_frames();
    test_lines();
    test_bucket_values();
    build_log();

    seen sm = {0}, sd = {0};
    rc_options om = {
        .ledger = &lopts, .checkpoint_every = 4, .check = 1, .on_entry = count, .ctx = &sm};
    rc_options od = om;
    od.dir = d1;
    od.ctx = &sd;
    od.commit_every = 1000; /* commits at checkpoints only */
    static rc_checkpoint cm[NMSG + 1], cd[NMSG + 1];
    static int hm[NMSG + 1], hd[NMSG + 1];

    rc_core *mem = NULL, *dur = NULL;
    OK(rc_open(&mem, &om));
    CHECK(rc_next_seq(mem) == 1);
    feed(mem, NMSG, cm, hm);
    CHECK(sm.refused == 2);                       /* the malformed frame and the overspend */
    CHECK(sm.applied == NMSG - 2 + NMSG / 5 - 2); /* s % 5 == 0 but 10 and 15: frames of two */
    CHECK(sm.stale == 0);
    rc_checkpoint end_m;
    OK(rc_state(mem, &end_m));
    CHECK(end_m.seq == NMSG && end_m.failed == 2);

    /* Durable: stop at 18 without a commit since the checkpoint at 16. */
    OK(rc_open(&dur, &od));
    feed(dur, 18, cd, hd);
    CHECK(rc_apply(dur, 20, 0, log_[19].b, log_[19].len, NULL, NULL) == CA_ERR_INVALID_ARGUMENT);
    ca_ledger_log_info li = {.version = CA_LEDGER_LOG_INFO_VERSION};
    OK(ca_ledger_log_position(rc_ledger(dur), &li));
    CHECK(li.position == RC_POSITION(18, 0) && li.durable_position == RC_POSITION(16, 0));
    rc_close(dur);
    OK(rc_open(&dur, &od));
    CHECK(rc_next_seq(dur) == 16); /* the last durable message is read again */
    unsigned before = sd.stale;
    feed(dur, NMSG, cd, hd);
    CHECK(sd.stale == before + 1);
    rc_checkpoint end_d;
    OK(rc_state(dur, &end_d));
    CHECK(memcmp(&end_d, &end_m, sizeof end_d) == 0);
    for (int s = 4; s <= NMSG; s += 4)
        CHECK(hm[s] && hd[s] && memcmp(&cm[s], &cd[s], sizeof cm[s]) == 0);
    /* A refused op stays refused when read again (strict positions). */
    CHECK(sd.refused == 2);

    /* Snapshot at 24 from the in-memory replica, installed in a new directory. */
    rc_close(mem);
    sm = (seen){0};
    OK(rc_open(&mem, &om));
    feed(mem, 24, cm, hm);
    uint8_t *snap = NULL;
    size_t snap_len = 0;
    OK(rc_snapshot(mem, &snap, &snap_len));
    rc_core *res = NULL;
    rc_options os = od;
    os.dir = d2;
    OK(rc_open_snapshot(&res, &os, snap, snap_len));
    free(snap);
    CHECK(rc_next_seq(res) == 24);
    feed(res, NMSG, cd, hd);
    rc_checkpoint end_s;
    OK(rc_state(res, &end_s));
    CHECK(memcmp(&end_s, &end_m, sizeof end_s) == 0);
    OK(rc_check(res));
    char line[RC_LINE_MAX];
    rc_format(&end_s, line);
    rc_checkpoint back;
    CHECK(rc_parse(line, &back) == 0 && memcmp(&back, &end_s, sizeof back) == 0);
    CHECK(rc_parse("12 abc 3", &back) == -1);

    rc_close(res);
    rc_close(mem);
    rc_close(dur);
    for (int k = 0; k < 4; k++)
        ca_identity_free(ids[k]);
    rmdir_all(d1);
    rmdir_all(d2);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("replica_core: ok\n");
    return 0;
}
