/*
 * Durable mode: append-only journal with group commit, checksummed
 * snapshots, crash recovery (docs/LEDGER.md, "Durability").
 *
 * Directory layout: `journal`, `snapshot`, and while a snapshot is written a
 * transient `snapshot.tmp-<12 random hex digits>` (lib/core/file.h).
 *
 * Journal = header (32 bytes: "CALJRNL2", base seq u64, first 12 bytes of
 * the options digest, crc32c of the preceding 28 bytes) then records:
 *   len u32 | seq u64 | now u64 | type u8 | pcrc u32 | hcrc u32 | payload[len]
 * pcrc = crc32c(payload); hcrc = crc32c of the 25 header bytes before it.
 * Integers little-endian. Format 1 ("CALJRNL1") had one crc over the whole
 * record, so a damaged length could not be told from a torn write without
 * searching the rest of the file; it is refused (CA_ERR_UNSUPPORTED).
 *
 * Snapshot = "CALSNAP1" | version u32 | 0 u32 | options digest[32] | seq u64 |
 *   minted u64 | burned u64 | horizon u64 |
 *   n_accounts u32 | n_escrows u32 | n_evidence u32 | 0 u32 |
 *   accounts: id[32] balance bonded nonce jailed_until (u64 each) n u8, n x (amount, mature_at)
 *   escrows: award[32] hirer u32 worker u32 (account positions) payment collateral
 *            deadline (u64) state u8 delivered u8 paid u64 (payment the worker received)
 *            missed u8 result[32] (RESULT id recorded by DELIVER, zero when none)
 *   evidence: key[32] expiry u64 (when it may be dropped) each |
 *   state hash[32] | BLAKE2b-256 of all preceding bytes[32]
 * Version 2 added `paid`, version 3 `missed` and `result`, version 4 the horizon and the
 * evidence expiry (older snapshots are refused).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* F_OFD_SETLK (open file description locks, Linux >= 3.15) */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef F_OFD_SETLK
#include <sys/file.h> /* flock */
#endif

#include <sodium.h>

#include "core/file.h"
#include "ledger/ledger_internal.h"

#define REC_HDR          CAI_RECORD_HEADER_BYTES
#define CAI_SNAP_VERSION 4u
#define ESC_BYTES        107u
#define EV_BYTES         40u
#define AUTO_WRITE_BYTES (1u << 20)

int cai_ledger_sync_disabled;

static int do_fsync(int fd)
{
    return cai_ledger_sync_disabled ? 0 : fsync(fd);
}

static int do_fdatasync(int fd)
{
    return cai_ledger_sync_disabled ? 0 : fdatasync(fd);
}

struct cai_store {
    char *journal_path, *snap_path, *dir;
    int jfd;
    uint8_t *buf; /* records appended but not yet written */
    size_t len, cap;
    uint64_t written_seq; /* last seq handed to write() */
    uint64_t durable_seq; /* last seq covered by an fsync */
    int failed;           /* a write or fsync failed: the handle refuses further work */
};

/* ---------------------------------------------------------------- crc32c */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* CRC-32C (Castagnoli), slicing by 8. `crc` is 0 for a fresh computation. */
uint32_t cai_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    (void)pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ cai_load_le32(p), hi = cai_load_le32(p + 4);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
              crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
              crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* The header checksum: over len, seq, now, type and the payload checksum. */
static uint32_t header_crc(const uint8_t *rec)
{
    return cai_crc32c(0, rec, REC_HDR - 4);
}

/* ---------------------------------------------------------------- journal */

static const char journal_magic[8] = {'C', 'A', 'L', 'J', 'R', 'N', 'L', '2'};

void cai_journal_header(uint8_t out[CAI_JOURNAL_HEADER_BYTES], const ca_ledger_options *opts,
                        uint64_t base_seq)
{
    uint8_t digest[32];
    cai_ledger_options_digest(opts, digest);
    memcpy(out, journal_magic, 8);
    cai_store_le64(out + 8, base_seq);
    memcpy(out + 16, digest, 12);
    cai_store_le32(out + 28, cai_crc32c(0, out, 28));
}

static int type_known(uint8_t type)
{
    return type == CAI_REC_SIGNED || type == CAI_REC_TRUSTED || type == CAI_REC_EVIDENCE;
}

/*
 * Checks the header fields of record `seq` that lie in the first `avail`
 * bytes (avail <= REC_HDR): a length the writer can produce, the expected seq,
 * a known type. NULL when they are fine, else what is wrong.
 */
static const char *header_fields(const uint8_t *r, size_t avail, uint64_t seq)
{
    if (avail >= 4) {
        uint32_t n = cai_load_le32(r);
        if (n == 0 || n > CAI_RECORD_MAX)
            return "its length is 0 or above the record limit";
    }
    if (avail >= 12 && cai_load_le64(r + 4) != seq)
        return "its seq is not the next one";
    if (avail >= 21 && !type_known(r[20]))
        return "its type is unknown";
    return NULL;
}

/*
 * One pass, each byte checksummed at most once. The only damage recovery
 * repairs is what a write cut short by a crash leaves: the file is then a
 * prefix of what was written, so the bytes after the last complete record are
 * the start of ONE record (group commit writes whole records in order; the
 * complete ones of the last group replay, the one the cut fell in is torn).
 * Such a torn tail is either
 *   - fewer bytes than a record header, every field present being valid, or
 *   - a complete header (its checksum verifies, fields valid) whose declared
 *     length runs past the end of the file,
 * so it is shorter than REC_HDR + CAI_RECORD_MAX bytes. Because the header
 * has its own checksum, a damaged length is caught where it is and a torn
 * record can hide no other record: nothing after it needs to be searched.
 * Everything else (a damaged header, a complete record whose payload fails its
 * checksum, a seq out of order, an op that does not decode or apply) is
 * CA_ERR_LEDGER_CORRUPT, whatever follows it.
 */
ca_status cai_journal_replay(ca_ledger *l, const uint8_t *buf, size_t len, cai_replay *out)
{
    memset(out, 0, sizeof *out);
    if (len < CAI_JOURNAL_HEADER_BYTES) { /* a header cut while being written: an empty journal */
        if (len > 0 && memcmp(buf, journal_magic, len < 8 ? len : 8) != 0)
            return cai_fail(CA_ERR_LEDGER_CORRUPT,
                            "journal is %zu bytes long and does not start a journal header", len);
        out->torn_bytes = len;
        return CA_OK;
    }
    out->crc_bytes = 28;
    int crc_ok = cai_crc32c(0, buf, 28) == cai_load_le32(buf + 28);
    int v1 = crc_ok && memcmp(buf, "CALJRNL1", 8) == 0;
    if (!v1 && (memcmp(buf, journal_magic, 8) != 0 || !crc_ok))
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal header damaged");
    uint8_t digest[32];
    cai_ledger_options_digest(&l->opts, digest);
    if (memcmp(buf + 16, digest, 12) != 0)
        return cai_fail(CA_ERR_LEDGER_OPTIONS_MISMATCH,
                        "journal was written with other ledger options");
    if (v1 && len > CAI_JOURNAL_HEADER_BYTES)
        return cai_fail(CA_ERR_UNSUPPORTED,
                        "journal has format 1 (records without a header checksum), which this "
                        "build does not replay; open it with the build that wrote it and call "
                        "ca_ledger_snapshot, which leaves a header this build replaces");
    if (v1)
        return CA_OK; /* a format 1 header alone: good_end 0, the caller writes a fresh one */
    uint64_t expected = cai_load_le64(buf + 8);
    out->base_seq = expected;
    if (expected == 0 || expected > l->seq + 1)
        return cai_fail(CA_ERR_LEDGER_CORRUPT,
                        "journal starts at seq %llu but the state ends at %llu",
                        (unsigned long long)expected, (unsigned long long)l->seq);
    size_t off = CAI_JOURNAL_HEADER_BYTES;
    out->good_end = off;
    while (off < len) {
        const uint8_t *r = buf + off;
        size_t left = len - off, avail = left < REC_HDR ? left : REC_HDR;
        const char *why = NULL;
        if (avail == REC_HDR) {
            out->crc_bytes += REC_HDR - 4;
            if (header_crc(r) != cai_load_le32(r + REC_HDR - 4))
                why = "its header checksum does not match";
        }
        if (why == NULL)
            why = header_fields(r, avail, expected);
        if (why != NULL)
            return cai_fail(CA_ERR_LEDGER_CORRUPT,
                            "journal record %llu at offset %zu is damaged (%s) and is not a torn "
                            "write; nothing was changed (truncating the file at this offset "
                            "drops it and everything after it)",
                            (unsigned long long)expected, off, why);
        uint32_t n = avail == REC_HDR ? cai_load_le32(r) : 0;
        if (avail < REC_HDR || REC_HDR + (size_t)n > left) {
            out->torn_bytes = left; /* the record a crash cut: < REC_HDR + CAI_RECORD_MAX */
            return CA_OK;
        }
        uint64_t seq = expected;
        out->crc_bytes += n;
        if (cai_crc32c(0, r + REC_HDR, n) != cai_load_le32(r + 21))
            return cai_fail(CA_ERR_LEDGER_CORRUPT,
                            "journal record %llu at offset %zu is complete but fails its "
                            "checksum (not a torn write); nothing was changed",
                            (unsigned long long)seq, off);
        if (seq > l->seq) {
            cai_journal_record rec;
            if (cai_journal_record_read(r, left, &rec) == 0)
                return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal record %llu is malformed",
                                (unsigned long long)seq);
            ca_ledger_op op;
            const uint8_t *sig = NULL, *cosig = NULL;
            int sig_ok = rec.type != CAI_REC_TRUSTED;
            ca_status st = cai_ledger_op_decode_signed(
                rec.op, rec.op_len, &op, sig_ok ? &sig : NULL, sig_ok ? &cosig : NULL);
            /* Attachments ride on equivocation slashes (evidence) and deliveries (RESULT). */
            if (st == CA_OK && rec.type == CAI_REC_EVIDENCE &&
                (op.type != CA_LEDGER_OP_SLASH || op.evidence != CA_LEDGER_EVIDENCE_EQUIVOCATION) &&
                op.type != CA_LEDGER_OP_ESCROW_DELIVER)
                st = CA_ERR_MALFORMED;
            if (st != CA_OK)
                return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal record %llu does not decode",
                                (unsigned long long)seq);
            st = cai_ledger_apply_op(l, &op, rec.now);
            if (st != CA_OK)
                return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal record %llu no longer applies (%s)",
                                (unsigned long long)seq, ca_status_str(st));
            out->replayed++;
        }
        expected++;
        off += REC_HDR + n;
        out->good_end = off;
    }
    return CA_OK;
}

/* ---------------------------------------------------------------- snapshot */

typedef struct sbuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + n)
            nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (q == NULL) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void sb_u64(sbuf *b, uint64_t v)
{
    uint8_t t[8];
    cai_store_le64(t, v);
    sb_put(b, t, 8);
}

static void sb_u32(sbuf *b, uint32_t v)
{
    uint8_t t[4];
    cai_store_le32(t, v);
    sb_put(b, t, 4);
}

ca_status cai_snapshot_encode(ca_ledger *l, uint8_t **out, size_t *out_len)
{
    sbuf b = {0};
    uint8_t digest[32];
    cai_ledger_options_digest(&l->opts, digest);
    sb_put(&b, "CALSNAP1", 8);
    sb_u32(&b, CAI_SNAP_VERSION);
    sb_u32(&b, 0);
    sb_put(&b, digest, 32);
    sb_u64(&b, l->seq);
    sb_u64(&b, l->minted);
    sb_u64(&b, l->burned);
    sb_u64(&b, l->horizon);
    sb_u32(&b, l->n_accounts);
    sb_u32(&b, l->n_escrows);
    sb_u32(&b, l->n_evidence);
    sb_u32(&b, 0);
    for (uint32_t i = 0; i < l->n_accounts; i++) {
        const cai_account *a = &l->accounts[i];
        sb_put(&b, a->id.bytes, 32);
        sb_u64(&b, a->balance);
        sb_u64(&b, a->bonded);
        sb_u64(&b, a->nonce);
        sb_u64(&b, a->jailed_until);
        uint8_t n = (uint8_t)a->unbond_count;
        sb_put(&b, &n, 1);
        for (uint32_t e = a->unbond_head; e != CAI_NONE; e = l->unbonds[e].next) {
            sb_u64(&b, l->unbonds[e].amount);
            sb_u64(&b, l->unbonds[e].mature_at);
        }
    }
    for (uint32_t i = 0; i < l->n_escrows; i++) {
        const cai_escrow *e = &l->escrows[i];
        sb_put(&b, e->award.bytes, 32);
        sb_u32(&b, e->hirer);
        sb_u32(&b, e->worker);
        sb_u64(&b, e->payment);
        sb_u64(&b, e->collateral);
        sb_u64(&b, e->deadline);
        uint8_t sd[2] = {e->state, e->delivered};
        sb_put(&b, sd, 2);
        sb_u64(&b, e->paid);
        sb_put(&b, &e->missed, 1);
        sb_put(&b, e->result.bytes, 32);
    }
    for (uint32_t i = 0; i < l->n_evidence; i++) {
        sb_put(&b, l->evidence[i].key.bytes, 32);
        sb_u64(&b, l->evidence[i].expiry);
    }
    ca_hash h;
    (void)ca_ledger_state_hash(l, &h);
    sb_put(&b, h.bytes, 32);
    if (!b.oom) {
        uint8_t sum[32];
        crypto_generichash(sum, 32, b.p, b.len, NULL, 0);
        sb_put(&b, sum, 32);
    }
    if (b.oom) {
        free(b.p);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory encoding a snapshot");
    }
    *out = b.p;
    *out_len = b.len;
    return CA_OK;
}

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static int rd_take(rd *r, size_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n)
        return 0;
    *out = r->p;
    r->p += n;
    return 1;
}

#define SNAP_FAIL(...) cai_fail(CA_ERR_LEDGER_CORRUPT, __VA_ARGS__)

ca_status cai_snapshot_decode(const uint8_t *buf, size_t len, const ca_ledger_options *opts,
                              unsigned flags, ca_ledger **out)
{
    *out = NULL;
    const size_t fixed = 8 + 8 + 32 + 32 + 16;
    if (len < fixed + 64)
        return SNAP_FAIL("snapshot too short (%zu bytes)", len);
    if (memcmp(buf, "CALSNAP1", 8) != 0 || cai_load_le32(buf + 8) != CAI_SNAP_VERSION ||
        cai_load_le32(buf + 12) != 0)
        return SNAP_FAIL("not a version %u ledger snapshot", CAI_SNAP_VERSION);
    if (!(flags & CAI_SNAP_SKIP_CHECKSUM)) {
        uint8_t sum[32];
        crypto_generichash(sum, 32, buf, len - 32, NULL, 0);
        if (memcmp(sum, buf + len - 32, 32) != 0)
            return SNAP_FAIL("snapshot checksum mismatch");
    }
    uint8_t digest[32];
    cai_ledger_options_digest(opts, digest);
    if (memcmp(buf + 16, digest, 32) != 0)
        return cai_fail(CA_ERR_LEDGER_OPTIONS_MISMATCH,
                        "snapshot was written with other ledger options");
    rd r = {buf + 48, buf + len - 64};
    const uint8_t *p;
    (void)rd_take(&r, 48, &p); /* length checked above */
    uint64_t seq = cai_load_le64(p), minted = cai_load_le64(p + 8), burned = cai_load_le64(p + 16);
    uint64_t horizon = cai_load_le64(p + 24);
    uint32_t na = cai_load_le32(p + 32), ne = cai_load_le32(p + 36), nv = cai_load_le32(p + 40);
    if (cai_load_le32(p + 44) != 0)
        return SNAP_FAIL("snapshot reserved field not zero");
    /*
     * Counts are checked against the bytes the file really holds (each record's
     * smallest encoding) and the limits before anything is allocated; tables
     * then grow by doubling as records are read, so memory stays within a
     * constant factor of the file size whatever the header claims.
     */
    size_t rest = (size_t)(r.end - r.p);
    if ((uint64_t)na * 65 + (uint64_t)ne * ESC_BYTES + (uint64_t)nv * EV_BYTES > rest)
        return SNAP_FAIL("snapshot claims %u accounts, %u escrows and %u evidence keys, more "
                         "than its %zu bytes can hold",
                         na, ne, nv, len);
    if (na > opts->max_accounts || ne > opts->max_escrows)
        return SNAP_FAIL("snapshot holds more accounts or escrows than the options allow");
    ca_ledger *l = NULL;
    ca_status st = cai_ledger_create(&l, opts);
    if (st != CA_OK)
        return st;
    cai_u128 total = burned;
    for (uint32_t i = 0; i < na; i++) {
        cai_account a;
        memset(&a, 0, sizeof a);
        if (!rd_take(&r, 65, &p)) {
            st = SNAP_FAIL("snapshot truncated in account %u", i);
            goto fail;
        }
        memcpy(a.id.bytes, p, 32);
        a.balance = cai_load_le64(p + 32);
        a.bonded = cai_load_le64(p + 40);
        a.nonce = cai_load_le64(p + 48);
        a.jailed_until = cai_load_le64(p + 56);
        uint8_t n = p[64];
        cai_unbond ent[255];
        if (n > opts->max_unbonding_entries || !rd_take(&r, (size_t)n * 16, &p)) {
            st = SNAP_FAIL("snapshot account %u has a bad unbonding list", i);
            goto fail;
        }
        total += (cai_u128)a.balance + a.bonded;
        for (uint32_t k = 0; k < n; k++) {
            ent[k].amount = cai_load_le64(p + 16 * (size_t)k);
            ent[k].mature_at = cai_load_le64(p + 16 * (size_t)k + 8);
            ent[k].next = CAI_NONE;
            if (ent[k].amount == 0) {
                st = SNAP_FAIL("snapshot account %u has an empty unbonding entry", i);
                goto fail;
            }
            total += ent[k].amount;
        }
        if (total > minted) {
            st = SNAP_FAIL("snapshot holds more units than were minted");
            goto fail;
        }
        if ((st = cai_ledger_load_account(l, &a, ent, n)) != CA_OK)
            goto fail;
    }
    for (uint32_t i = 0; i < ne; i++) {
        cai_escrow e;
        memset(&e, 0, sizeof e);
        if (!rd_take(&r, ESC_BYTES, &p)) {
            st = SNAP_FAIL("snapshot truncated in escrow %u", i);
            goto fail;
        }
        memcpy(e.award.bytes, p, 32);
        e.hirer = cai_load_le32(p + 32);
        e.worker = cai_load_le32(p + 36);
        e.payment = cai_load_le64(p + 40);
        e.collateral = cai_load_le64(p + 48);
        e.deadline = cai_load_le64(p + 56);
        e.state = p[64];
        e.delivered = p[65];
        e.paid = cai_load_le64(p + 66);
        e.missed = p[74];
        memcpy(e.result.bytes, p + 75, 32);
        if (e.hirer >= na || e.worker >= na || e.hirer == e.worker || e.state < 1 || e.state > 4 ||
            e.delivered > 1 || e.payment == 0 || !cai_escrow_paid_ok(&e)) {
            st = SNAP_FAIL("snapshot escrow %u is inconsistent", i);
            goto fail;
        }
        if (e.state == CA_LEDGER_ESCROW_OPEN) {
            total += (cai_u128)e.payment + e.collateral;
            if (total > minted) {
                st = SNAP_FAIL("snapshot holds more units than were minted");
                goto fail;
            }
        }
        if ((st = cai_ledger_load_escrow(l, &e)) != CA_OK)
            goto fail;
    }
    for (uint32_t i = 0; i < nv; i++) {
        ca_hash h;
        if (!rd_take(&r, EV_BYTES, &p)) {
            st = SNAP_FAIL("snapshot truncated in evidence %u", i);
            goto fail;
        }
        memcpy(h.bytes, p, 32);
        if ((st = cai_ledger_load_evidence(l, &h, cai_load_le64(p + 32))) != CA_OK)
            goto fail;
    }
    if (r.p != r.end) {
        st = SNAP_FAIL("snapshot has trailing bytes");
        goto fail;
    }
    if (total != minted) {
        st = SNAP_FAIL("snapshot breaks conservation");
        goto fail;
    }
    l->seq = seq;
    l->minted = minted;
    l->burned = burned;
    l->horizon = horizon;
    if (ca_ledger_check(l) != CA_OK) {
        st = SNAP_FAIL("snapshot state fails the invariants: %s", ca_last_error());
        goto fail;
    }
    ca_hash h;
    (void)ca_ledger_state_hash(l, &h);
    if (!(flags & CAI_SNAP_SKIP_CHECKSUM) && memcmp(h.bytes, buf + len - 64, 32) != 0) {
        st = SNAP_FAIL("snapshot state hash mismatch");
        goto fail;
    }
    *out = l;
    return CA_OK;
fail:
    if (st == CA_ERR_LIMIT || st == CA_ERR_INVALID_ARGUMENT)
        st = SNAP_FAIL("snapshot exceeds the ledger limits");
    ca_ledger_free(l);
    return st;
}

/* -------------------------------------------------------------- file I/O */

static ca_status io_fail(const char *what, const char *path)
{
    return cai_fail(CA_ERR_IO, "%s %s: %s", what, path, strerror(errno));
}

static ca_status write_all(int fd, const uint8_t *p, size_t n, const char *path)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return io_fail("write", path);
        }
        p += w;
        n -= (size_t)w;
    }
    return CA_OK;
}

/* Reads the whole file behind `fd` from offset 0 (pread: the file offset is left alone). */
static ca_status read_fd(int fd, const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    struct stat sbst;
    if (fstat(fd, &sbst) != 0)
        return io_fail("stat", path);
    size_t n = (size_t)sbst.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (b == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory reading %s (%zu bytes)", path, n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* the file shrank under us */
            free(b);
            return io_fail("read", path);
        }
        got += (size_t)r;
    }
    *out = b;
    *len = n;
    return CA_OK;
}

static ca_status read_file(const char *path, uint8_t **out, size_t *len, int *exists)
{
    *out = NULL;
    *len = 0;
    *exists = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return CA_OK;
        return io_fail("open", path);
    }
    *exists = 1;
    ca_status st = read_fd(fd, path, out, len);
    close(fd);
    return st;
}

/*
 * One handle per directory: an exclusive lock on the journal, held through
 * the handle's own descriptor (s->jfd) until ca_ledger_free closes it.
 * It is an open file description lock (F_OFD_SETLK; flock where the system
 * lacks those), not a POSIX record lock (F_SETLK): a record lock belongs to
 * the process, which loses all of them as soon as it closes ANY descriptor of
 * the file (a copy tool, the host, or this code reading the file), and record
 * locks never conflict inside one process, so a second handle there would
 * share the journal. A description lock conflicts with every other open of
 * the file, in this process or another. A child forked while the handle is
 * open shares its description, and with it the lock, until it exits or execs
 * (the descriptor is close-on-exec).
 * Returns 0, or -1 with errno (EAGAIN / EWOULDBLOCK / EACCES: held elsewhere).
 */
static int lock_journal(int fd)
{
#ifdef F_OFD_SETLK
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET; /* l_start = l_len = 0: the whole file, also as it grows */
    return fcntl(fd, F_OFD_SETLK, &fl);
#else
    return flock(fd, LOCK_EX | LOCK_NB);
#endif
}

static ca_status sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail("open", dir);
    int rc = do_fsync(fd);
    close(fd);
    if (rc != 0 && errno != EINVAL)
        return io_fail("fsync", dir);
    return CA_OK;
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* Removes "snapshot.tmp-*" files a crash left between create and rename. */
static void remove_stale_snapshots(const char *dir)
{
    static const char prefix[] = "snapshot.tmp-";
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, prefix, sizeof prefix - 1) == 0)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

void cai_store_close(cai_store *s)
{
    if (s == NULL)
        return;
    if (s->jfd >= 0)
        close(s->jfd);
    free(s->buf);
    free(s->journal_path);
    free(s->snap_path);
    free(s->dir);
    free(s);
}

ca_status cai_store_reserve(ca_ledger *l, size_t n)
{
    cai_store *s = l->store;
    if (s->failed)
        return cai_fail(CA_ERR_IO, "an earlier journal write failed; reopen the ledger");
    size_t need = s->len + REC_HDR + n;
    if (need <= s->cap)
        return CA_OK;
    size_t nc = s->cap ? s->cap * 2 : 65536;
    while (nc < need)
        nc *= 2;
    uint8_t *b = realloc(s->buf, nc);
    if (b == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory for the journal buffer");
    s->buf = b;
    s->cap = nc;
    return CA_OK;
}

static ca_status store_write(cai_store *s, uint64_t last_seq)
{
    if (s->len == 0)
        return CA_OK;
    ca_status st = write_all(s->jfd, s->buf, s->len, s->journal_path);
    if (st != CA_OK) {
        s->failed = 1;
        return st;
    }
    s->len = 0;
    s->written_seq = last_seq;
    return CA_OK;
}

void cai_store_append(ca_ledger *l, uint8_t rtype, const uint8_t *payload, size_t n, uint64_t now)
{
    cai_store_append2(l, rtype, payload, n, NULL, 0, now);
}

size_t cai_journal_record_write(const cai_journal_record *rec, uint8_t *out)
{
    uint8_t *q = out + REC_HDR;
    int ev = rec->type == CAI_REC_EVIDENCE;
    size_t n = rec->op_len + (ev ? 4 + rec->evidence_len : 0);
    cai_store_le32(out, (uint32_t)n);
    cai_store_le64(out + 4, rec->seq);
    cai_store_le64(out + 12, rec->now);
    out[20] = rec->type;
    if (ev) { /* u32 op length | op | evidence */
        cai_store_le32(q, (uint32_t)rec->op_len);
        q += 4;
    }
    memcpy(q, rec->op, rec->op_len);
    if (ev && rec->evidence_len > 0)
        memcpy(q + rec->op_len, rec->evidence, rec->evidence_len);
    cai_store_le32(out + 21, cai_crc32c(0, out + REC_HDR, n));
    cai_store_le32(out + REC_HDR - 4, header_crc(out));
    return REC_HDR + n;
}

size_t cai_journal_record_read(const uint8_t *r, size_t avail, cai_journal_record *rec)
{
    memset(rec, 0, sizeof *rec);
    if (avail < REC_HDR)
        return 0;
    size_t n = cai_load_le32(r);
    if (n > avail - REC_HDR)
        return 0;
    rec->seq = cai_load_le64(r + 4);
    rec->now = cai_load_le64(r + 12);
    rec->type = r[20];
    rec->op = r + REC_HDR;
    rec->op_len = n;
    if (rec->type == CAI_REC_EVIDENCE) { /* u32 op length | signed op | evidence (not empty) */
        size_t k = n >= 4 ? cai_load_le32(rec->op) : 0;
        if (n < 4 || k >= n - 4)
            return 0;
        rec->op += 4;
        rec->op_len = k;
        rec->evidence = rec->op + k;
        rec->evidence_len = n - 4 - k;
    }
    return REC_HDR + n;
}

void cai_store_append2(ca_ledger *l, uint8_t rtype, const uint8_t *p1, size_t n1, const uint8_t *p2,
                       size_t n2, uint64_t now)
{
    cai_store *s = l->store;
    cai_journal_record rec = {l->seq, now, rtype, p1, n1, p2, n2};
    s->len += cai_journal_record_write(&rec, s->buf + s->len);
    if (s->len >= AUTO_WRITE_BYTES)
        (void)store_write(s, l->seq); /* a failure is sticky and reported by the next call */
}

ca_status cai_store_commit(ca_ledger *l, uint64_t *durable)
{
    cai_store *s = l->store;
    if (s->failed)
        return cai_fail(CA_ERR_IO, "an earlier journal write failed; reopen the ledger");
    ca_status st = store_write(s, l->seq);
    if (st != CA_OK)
        return st;
    if (s->durable_seq < s->written_seq) {
        if (do_fdatasync(s->jfd) != 0) {
            s->failed = 1;
            return io_fail("fdatasync", s->journal_path);
        }
        s->durable_seq = s->written_seq;
    }
    if (durable)
        *durable = s->durable_seq;
    return CA_OK;
}

ca_status ca_ledger_commit(ca_ledger *l, uint64_t *durable_seq)
{
    CAI_REQUIRE(l);
    if (l->store == NULL) {
        if (durable_seq)
            *durable_seq = l->seq;
        return CA_OK;
    }
    return cai_store_commit(l, durable_seq);
}

ca_status cai_store_snapshot(ca_ledger *l)
{
    cai_store *s = l->store;
    ca_status st = cai_store_commit(l, NULL);
    if (st != CA_OK)
        return st;
    uint8_t *snap = NULL;
    size_t n = 0;
    if ((st = cai_snapshot_encode(l, &snap, &n)) != CA_OK)
        return st;
    /* A fresh O_EXCL|O_NOFOLLOW temporary, fsync, rename, directory fsync: a
     * file or symlink planted in the directory is never written through. */
    st = cai_file_replace(s->snap_path, snap, n, 0600);
    free(snap);
    if (st != CA_OK)
        return st;
    /* The snapshot covers every journal record: start the journal afresh. */
    uint8_t hdr[CAI_JOURNAL_HEADER_BYTES];
    cai_journal_header(hdr, &l->opts, l->seq + 1);
    if (ftruncate(s->jfd, 0) != 0 || lseek(s->jfd, 0, SEEK_SET) != 0) {
        s->failed = 1;
        return io_fail("truncate", s->journal_path);
    }
    if ((st = write_all(s->jfd, hdr, sizeof hdr, s->journal_path)) != CA_OK ||
        do_fdatasync(s->jfd) != 0) {
        s->failed = 1;
        return st != CA_OK ? st : io_fail("fdatasync", s->journal_path);
    }
    return CA_OK;
}

ca_status ca_ledger_snapshot(ca_ledger *l)
{
    CAI_REQUIRE(l);
    if (l->store == NULL)
        return cai_fail(CA_ERR_STATE, "snapshots need a durable ledger (ca_ledger_open)");
    return cai_store_snapshot(l);
}

ca_status ca_ledger_open(ca_ledger **out, const char *dir, const ca_ledger_options *opts,
                         ca_ledger_open_info *info)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(dir);
    CAI_REQUIRE(opts);
    ca_ledger_open_info inf = {0, 0, 0};
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    if ((st = cai_ledger_validate_options(opts)) != CA_OK)
        return st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return io_fail("mkdir", dir);
    cai_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory opening a ledger");
    s->jfd = -1;
    s->dir = join(dir, ".");
    s->journal_path = join(dir, "journal");
    s->snap_path = join(dir, "snapshot");
    ca_ledger *l = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int exists = 0;
    if (!s->dir || !s->journal_path || !s->snap_path) {
        st = cai_fail(CA_ERR_NO_MEMORY, "out of memory opening a ledger");
        goto fail;
    }
    s->jfd = open(s->journal_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->jfd < 0) {
        st = io_fail("open", s->journal_path);
        goto fail;
    }
    if (lock_journal(s->jfd) != 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EACCES)
            st = cai_fail(CA_ERR_STATE,
                          "ledger %s is already open (another handle, in this process or "
                          "another, holds its lock until it is freed)",
                          dir);
        else
            st = io_fail("lock", s->journal_path);
        goto fail;
    }
    /* Nothing on disk changes until recovery has succeeded. */
    if ((st = read_file(s->snap_path, &data, &len, &exists)) != CA_OK)
        goto fail;
    if (exists) {
        st = cai_snapshot_decode(data, len, opts, 0, &l);
        free(data);
        data = NULL;
        if (st != CA_OK)
            goto fail;
        inf.snapshot_seq = l->seq;
    } else if ((st = cai_ledger_create(&l, opts)) != CA_OK) {
        goto fail;
    }
    if ((st = read_fd(s->jfd, s->journal_path, &data, &len)) != CA_OK)
        goto fail;
    cai_replay rep;
    if ((st = cai_journal_replay(l, data, len, &rep)) != CA_OK)
        goto fail;
    inf.replayed = rep.replayed;
    inf.torn_bytes = rep.torn_bytes;
    int changed = 0;
    if (rep.good_end < CAI_JOURNAL_HEADER_BYTES) {
        /* Empty, cut or format 1 header without records: a fresh journal after the snapshot. */
        uint8_t hdr[CAI_JOURNAL_HEADER_BYTES];
        cai_journal_header(hdr, opts, l->seq + 1);
        if (ftruncate(s->jfd, 0) != 0) {
            st = io_fail("truncate", s->journal_path);
            goto fail;
        }
        if ((st = write_all(s->jfd, hdr, sizeof hdr, s->journal_path)) != CA_OK)
            goto fail;
        changed = 2;
    } else if (rep.torn_bytes > 0) {
        if (ftruncate(s->jfd, (off_t)rep.good_end) != 0) {
            st = io_fail("truncate", s->journal_path);
            goto fail;
        }
        changed = 1;
    }
    if (lseek(s->jfd, 0, SEEK_END) < 0) {
        st = io_fail("seek", s->journal_path);
        goto fail;
    }
    /* Sync only what recovery changed; replayed records are synced by the next commit. */
    if (changed && do_fsync(s->jfd) != 0) {
        st = io_fail("fsync", s->journal_path);
        goto fail;
    }
    if (changed == 2 && (st = sync_dir(s->dir)) != CA_OK)
        goto fail;
    remove_stale_snapshots(s->dir); /* left by a snapshot a crash interrupted */
    free(data);
    s->written_seq = l->seq;
    s->durable_seq = l->seq - inf.replayed; /* records found may not have been synced yet */
    l->store = s;
    *out = l;
    if (info)
        *info = inf;
    return CA_OK;
fail:
    free(data);
    ca_ledger_free(l);
    cai_store_close(s);
    return st;
}
