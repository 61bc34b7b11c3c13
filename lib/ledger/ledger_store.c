/*
 * Durable mode: append-only journal with group commit, checksummed
 * snapshots, crash recovery (docs/LEDGER.md, "Durability").
 *
 * Directory layout: `journal`, `snapshot`, while a snapshot is written a
 * transient `snapshot.tmp-<12 random hex digits>` (lib/core/file.h), and
 * while a snapshot from bytes is installed (ca_ledger_open_from_snapshot)
 * `snapshot.restore` (and its own transient `snapshot.restore.tmp-*`).
 *
 * Journal = header (32 bytes: "CALJRNL3", base seq u64, first 12 bytes of
 * the options digest, crc32c of the preceding 28 bytes) then records:
 *   len u32 | seq u64 | now u64 | pos u64 | type u8 | pcrc u32 | hcrc u32 | payload[len]
 * pcrc = crc32c(payload); hcrc = crc32c of the 33 header bytes before it;
 * pos = the op's position in an external log (ca_ledger_apply_log), 0 for
 * none. Type 4 (REFUSED) records a log entry refused at its position: seq is
 * the seq the next applied op takes (a refused op takes none), the payload
 * its status (i32) and op id. Integers little-endian. Format 1 ("CALJRNL1")
 * had one crc over the whole record, so a damaged length could not be told
 * from a torn write without searching the rest of the file; format 2
 * ("CALJRNL2") had no positions (29-byte record headers). Both are refused
 * (CA_ERR_UNSUPPORTED) when they hold records.
 *
 * Snapshot = "CALSNAP1" | version u32 | 0 u32 | options digest[32] | seq u64 |
 *   minted u64 | burned u64 | horizon u64 | log position u64 | log clock u64 |
 *   refused u64 | n_accounts u32 | n_escrows u32 | n_evidence u32 | 0 u32 |
 *   accounts: id[32] balance bonded nonce jailed_until (u64 each) n u8, n x (amount, mature_at)
 *   escrows: award[32] hirer u32 worker u32 (account positions) payment collateral
 *            deadline (u64) state u8 delivered u8 paid u64 (payment the worker received)
 *            missed u8 result[32] (RESULT id recorded by DELIVER, zero when none)
 *   evidence: key[32] expiry u64 (when it may be dropped) each |
 *   n_keys u32 | key records: account[32] identifier[32] key[32] digest[32] next[32]
 *            sequence time now seq position (u64 each) |
 *   n_delegations u32 | n_revocations u32 |
 *   delegations: id[32] spent total_cap nonce expires_at (u64 each) |
 *   revocations: delegation id[32] revoker[32] until u64 |
 *   state hash[32] | BLAKE2b-256 of all preceding bytes[32]
 * Version 2 added `paid`, version 3 `missed` and `result`, version 4 the horizon and the
 * evidence expiry, version 5 the log position, clock and refused count, version 6 the key
 * records (ledger_keys.c) and the delegation and revocation records (ledger_delegation.c).
 * Version 5 is still read (as holding none of them); older snapshots are refused.
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
#define CAI_SNAP_VERSION 6u
#define SNAP_VERSION_MIN 5u /* the oldest version read (5: no key records) */
#define DLG_BYTES        64u
#define REV_BYTES        72u
#define SNAP_FIXED       120u /* magic to the reserved u32 */
#define SNAP_TAIL        64u  /* state hash and checksum */
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
    char *journal_path, *snap_path, *restore_path, *dir;
    int jfd;
    uint8_t *buf; /* records appended but not yet written */
    size_t len, cap;
    uint64_t written_seq;              /* last seq handed to write() */
    uint64_t durable_seq;              /* last seq covered by an fsync */
    uint64_t last_pos;                 /* log position of the last record appended (0: none yet) */
    uint64_t written_pos, durable_pos; /* the same for written and synced records */
    int failed; /* a write or fsync failed: the handle refuses further work */
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

/* The header checksum: over len, seq, now, pos, type and the payload checksum. */
static uint32_t header_crc(const uint8_t *rec)
{
    return cai_crc32c(0, rec, REC_HDR - 4);
}

/* ---------------------------------------------------------------- journal */

static const char journal_magic[8] = {'C', 'A', 'L', 'J', 'R', 'N', 'L', '3'};

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
    return type == CAI_REC_SIGNED || type == CAI_REC_TRUSTED || type == CAI_REC_EVIDENCE ||
           type == CAI_REC_REFUSED;
}

/*
 * Checks the header fields of record `seq` that lie in the first `avail`
 * bytes (avail <= REC_HDR): a length the writer can produce, the expected seq,
 * a known type, and for a refused entry its fixed length and a position.
 * NULL when they are fine, else what is wrong.
 */
static const char *header_fields(const uint8_t *r, size_t avail, uint64_t seq)
{
    if (avail >= 4) {
        uint32_t n = cai_load_le32(r);
        if (n == 0 || n > CAI_RECORD_MAX)
            return "its length is 0 or above the record limit";
    }
    if (avail >= CAI_REC_OFF_NOW && cai_load_le64(r + CAI_REC_OFF_SEQ) != seq)
        return "its seq is not the next one";
    if (avail > CAI_REC_OFF_TYPE) {
        uint8_t type = r[CAI_REC_OFF_TYPE];
        if (!type_known(type))
            return "its type is unknown";
        if (type == CAI_REC_REFUSED &&
            (cai_load_le32(r) != CAI_REFUSED_BYTES || cai_load_le64(r + CAI_REC_OFF_POS) == 0))
            return "it records a refused entry without a position or of the wrong length";
    }
    return NULL;
}

/*
 * A complete record whose seq is `seq` (checksums verified), replayed into `l`
 * unless the state already holds it (a journal left from before the snapshot:
 * seq <= the state's, or, for a refused entry, whose seq is the next one, a
 * position <= the state's). A positioned record must come after the state's
 * position and its `now` must not be before the log clock (the rule it was
 * applied under). *taken: 0 skipped, 1 applied, 2 refused entry recorded.
 */
static ca_status replay_record(ca_ledger *l, const uint8_t *r, size_t avail, uint64_t seq,
                               int *taken)
{
    *taken = 0;
    cai_journal_record rec;
    if (cai_journal_record_read(r, avail, &rec) == 0)
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal record %llu is malformed",
                        (unsigned long long)seq);
    int refused = rec.type == CAI_REC_REFUSED;
    if (seq <= l->seq || (refused && rec.pos <= l->log_pos))
        return CA_OK;
    if (rec.pos != 0 && rec.pos <= l->log_pos)
        return cai_fail(
            CA_ERR_LEDGER_CORRUPT, "journal record %llu has log position %llu, not after %llu",
            (unsigned long long)seq, (unsigned long long)rec.pos, (unsigned long long)l->log_pos);
    if (rec.pos != 0 && (rec.now < l->log_clock || rec.now < l->horizon))
        return cai_fail(CA_ERR_LEDGER_CORRUPT,
                        "journal record %llu at log position %llu is dated before the log clock",
                        (unsigned long long)seq, (unsigned long long)rec.pos);
    if (refused) {
        int32_t status = (int32_t)cai_load_le32(rec.op);
        if (status >= 0)
            return cai_fail(CA_ERR_LEDGER_CORRUPT,
                            "journal record %llu records a refused entry with status %d",
                            (unsigned long long)seq, (int)status);
        l->log_failed++;
        *taken = 2;
    } else {
        ca_ledger_op op;
        const uint8_t *sig = NULL, *cosig = NULL;
        int sig_ok = rec.type != CAI_REC_TRUSTED;
        cai_dlg_ctx chain = {.count = 0};
        ca_status st = cai_ledger_op_decode_signed(rec.op, rec.op_len, &op, sig_ok ? &sig : NULL,
                                                   sig_ok ? &cosig : NULL, &chain);
        /* Attachments ride on equivocation slashes (evidence), deliveries (RESULT) and key
         * events (the event, which the op's apply reads again). */
        const int key_event = st == CA_OK && op.type == CA_LEDGER_OP_KEY_EVENT;
        if (st == CA_OK && rec.type == CAI_REC_EVIDENCE &&
            (op.type != CA_LEDGER_OP_SLASH || op.evidence != CA_LEDGER_EVIDENCE_EQUIVOCATION) &&
            op.type != CA_LEDGER_OP_ESCROW_DELIVER && !key_event)
            st = CA_ERR_MALFORMED;
        ca_key_event_info kev;
        if (st == CA_OK && key_event)
            st = rec.type == CAI_REC_EVIDENCE
                     ? cai_ledger_key_event_open(rec.evidence, rec.evidence_len, &kev)
                     : CA_ERR_MALFORMED;
        if (st != CA_OK) {
            cai_dlg_ctx_free(&chain);
            return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal record %llu does not decode",
                            (unsigned long long)seq);
        }
        /* A delegated op's chain is verified again (at the record's time, against the
         * revocations replayed before it): its links' signatures are part of the rule. */
        st = key_event         ? cai_ledger_apply_key_event(l, &op, &kev, rec.now, rec.pos)
             : chain.count > 0 ? cai_ledger_apply_delegated(l, &op, rec.now, &chain)
                               : cai_ledger_apply_op(l, &op, rec.now);
        cai_dlg_ctx_free(&chain);
        if (st != CA_OK)
            return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal record %llu no longer applies (%s)",
                            (unsigned long long)seq, ca_status_str(st));
        *taken = 1;
    }
    if (rec.pos != 0) {
        l->log_pos = rec.pos;
        l->log_clock = rec.now;
    }
    return CA_OK;
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
    int old = crc_ok && (memcmp(buf, "CALJRNL1", 8) == 0 || memcmp(buf, "CALJRNL2", 8) == 0);
    if (!old && (memcmp(buf, journal_magic, 8) != 0 || !crc_ok))
        return cai_fail(CA_ERR_LEDGER_CORRUPT, "journal header damaged");
    uint8_t digest[32];
    cai_ledger_options_digest(&l->opts, digest);
    if (memcmp(buf + 16, digest, 12) != 0)
        return cai_fail(CA_ERR_LEDGER_OPTIONS_MISMATCH,
                        "journal was written with other ledger options");
    if (old && len > CAI_JOURNAL_HEADER_BYTES)
        return cai_fail(CA_ERR_UNSUPPORTED,
                        "journal has format %c (records without %s), which this build does not "
                        "replay",
                        buf[7], buf[7] == '1' ? "a header checksum" : "log positions");
    if (old)
        return CA_OK; /* an old header alone: good_end 0, the caller writes a fresh one */
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
        if (cai_crc32c(0, r + REC_HDR, n) != cai_load_le32(r + CAI_REC_OFF_PCRC))
            return cai_fail(CA_ERR_LEDGER_CORRUPT,
                            "journal record %llu at offset %zu is complete but fails its "
                            "checksum (not a torn write); nothing was changed",
                            (unsigned long long)seq, off);
        int taken = 0;
        ca_status st = replay_record(l, r, left, seq, &taken);
        if (st != CA_OK)
            return st;
        out->replayed += taken == 1;
        out->refused += taken == 2;
        if (r[CAI_REC_OFF_TYPE] != CAI_REC_REFUSED) /* a refused entry takes no seq */
            expected++;
        off += REC_HDR + n;
        out->good_end = off;
    }
    return CA_OK;
}

/* ---------------------------------------------------------------- snapshot */

size_t cai_snapshot_size(const ca_ledger *l)
{
    size_t n = SNAP_FIXED + SNAP_TAIL;
    n += (size_t)l->n_accounts * 65 + (size_t)l->n_escrows * ESC_BYTES +
         (size_t)l->n_evidence * EV_BYTES;
    n += 8 + (size_t)l->n_dlg * DLG_BYTES + (size_t)l->n_rev * REV_BYTES;
    for (uint32_t i = 0; i < l->n_accounts; i++)
        n += (size_t)l->accounts[i].unbond_count * 16;
    return n + cai_ledger_keys_snapshot_size(l);
}

static uint8_t *put(uint8_t *p, const void *data, size_t n)
{
    memcpy(p, data, n);
    return p + n;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    cai_store_le64(p, v);
    return p + 8;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    cai_store_le32(p, v);
    return p + 4;
}

void cai_snapshot_write(ca_ledger *l, uint8_t *out)
{
    uint8_t *p = out;
    uint8_t digest[32];
    cai_ledger_options_digest(&l->opts, digest);
    p = put(p, "CALSNAP1", 8);
    p = put32(p, CAI_SNAP_VERSION);
    p = put32(p, 0);
    p = put(p, digest, 32);
    p = put64(p, l->seq);
    p = put64(p, l->minted);
    p = put64(p, l->burned);
    p = put64(p, l->horizon);
    p = put64(p, l->log_pos);
    p = put64(p, l->log_clock);
    p = put64(p, l->log_failed);
    p = put32(p, l->n_accounts);
    p = put32(p, l->n_escrows);
    p = put32(p, l->n_evidence);
    p = put32(p, 0);
    for (uint32_t i = 0; i < l->n_accounts; i++) {
        const cai_account *a = &l->accounts[i];
        p = put(p, a->id.bytes, 32);
        p = put64(p, a->balance);
        p = put64(p, a->bonded);
        p = put64(p, a->nonce);
        p = put64(p, a->jailed_until);
        *p++ = (uint8_t)a->unbond_count;
        for (uint32_t e = a->unbond_head; e != CAI_NONE; e = l->unbonds[e].next) {
            p = put64(p, l->unbonds[e].amount);
            p = put64(p, l->unbonds[e].mature_at);
        }
    }
    for (uint32_t i = 0; i < l->n_escrows; i++) {
        const cai_escrow *e = &l->escrows[i];
        p = put(p, e->award.bytes, 32);
        p = put32(p, e->hirer);
        p = put32(p, e->worker);
        p = put64(p, e->payment);
        p = put64(p, e->collateral);
        p = put64(p, e->deadline);
        *p++ = e->state;
        *p++ = e->delivered;
        p = put64(p, e->paid);
        *p++ = e->missed;
        p = put(p, e->result.bytes, 32);
    }
    for (uint32_t i = 0; i < l->n_evidence; i++) {
        p = put(p, l->evidence[i].key.bytes, 32);
        p = put64(p, l->evidence[i].expiry);
    }
    p = cai_ledger_keys_snapshot_write(l, p);
    p = put32(p, l->n_dlg);
    p = put32(p, l->n_rev);
    for (uint32_t i = 0; i < l->n_dlg; i++) {
        const cai_dlg_rec *r = &l->dlg[i];
        p = put(p, r->id.bytes, 32);
        p = put64(p, r->spent);
        p = put64(p, r->total_cap);
        p = put64(p, r->nonce);
        p = put64(p, r->expires_at);
    }
    for (uint32_t i = 0; i < l->n_rev; i++) {
        p = put(p, l->rev[i].id.bytes, 32);
        p = put(p, l->rev[i].revoker.bytes, 32);
        p = put64(p, l->rev[i].until);
    }
    ca_hash h;
    (void)ca_ledger_state_hash(l, &h);
    p = put(p, h.bytes, 32);
    crypto_generichash(p, 32, out, (size_t)(p - out), NULL, 0);
}

ca_status cai_snapshot_encode(ca_ledger *l, uint8_t **out, size_t *out_len)
{
    size_t n = cai_snapshot_size(l);
    uint8_t *b = malloc(n);
    if (b == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory encoding a snapshot (%zu bytes)", n);
    cai_snapshot_write(l, b);
    *out = b;
    *out_len = n;
    return CA_OK;
}

ca_status ca_ledger_snapshot_export(ca_ledger *l, uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(l);
    CAI_REQUIRE(out_len);
    size_t n = cai_snapshot_size(l);
    *out_len = n;
    if (out == NULL || out_cap < n)
        return cai_fail(CA_ERR_BUFFER_TOO_SMALL, "a snapshot of this ledger needs %zu bytes", n);
    cai_snapshot_write(l, out);
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

/* Version 6's delegation and revocation records (counts checked against the bytes first). */
static ca_status load_delegations(ca_ledger *l, rd *r)
{
    const uint8_t *p;
    if (!rd_take(r, 8, &p))
        return SNAP_FAIL("snapshot truncated before its delegation records");
    const uint32_t nd = cai_load_le32(p), nr = cai_load_le32(p + 4);
    if ((uint64_t)nd * DLG_BYTES + (uint64_t)nr * REV_BYTES > (uint64_t)(r->end - r->p) ||
        nd > l->opts.max_delegation_records || nr > l->opts.max_delegation_records)
        return SNAP_FAIL("snapshot claims %u delegation and %u revocation records, more than its "
                         "bytes or the options allow",
                         nd, nr);
    ca_status st;
    for (uint32_t i = 0; i < nd; i++) {
        cai_dlg_rec d;
        memset(&d, 0, sizeof d);
        (void)rd_take(r, DLG_BYTES, &p);
        memcpy(d.id.bytes, p, 32);
        d.spent = cai_load_le64(p + 32);
        d.total_cap = cai_load_le64(p + 40);
        d.nonce = cai_load_le64(p + 48);
        d.expires_at = cai_load_le64(p + 56);
        if ((st = cai_ledger_load_dlg(l, &d)) != CA_OK)
            return st;
    }
    for (uint32_t i = 0; i < nr; i++) {
        cai_rev_rec v;
        memset(&v, 0, sizeof v);
        (void)rd_take(r, REV_BYTES, &p);
        memcpy(v.id.bytes, p, 32);
        memcpy(v.revoker.bytes, p + 32, 32);
        v.until = cai_load_le64(p + 64);
        if ((st = cai_ledger_load_rev(l, &v)) != CA_OK)
            return st;
    }
    return CA_OK;
}

ca_status cai_snapshot_decode(const uint8_t *buf, size_t len, const ca_ledger_options *opts,
                              unsigned flags, ca_ledger **out)
{
    *out = NULL;
    if (len < SNAP_FIXED + SNAP_TAIL)
        return SNAP_FAIL("snapshot too short (%zu bytes)", len);
    const uint32_t version = cai_load_le32(buf + 8);
    if (memcmp(buf, "CALSNAP1", 8) != 0 || version < SNAP_VERSION_MIN ||
        version > CAI_SNAP_VERSION || cai_load_le32(buf + 12) != 0)
        return SNAP_FAIL("not a version %u..%u ledger snapshot", SNAP_VERSION_MIN,
                         CAI_SNAP_VERSION);
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
    rd r = {buf + 48, buf + len - SNAP_TAIL};
    const uint8_t *p;
    (void)rd_take(&r, SNAP_FIXED - 48, &p); /* length checked above */
    uint64_t seq = cai_load_le64(p), minted = cai_load_le64(p + 8), burned = cai_load_le64(p + 16);
    uint64_t horizon = cai_load_le64(p + 24);
    uint64_t log_pos = cai_load_le64(p + 32), log_clock = cai_load_le64(p + 40);
    uint64_t log_failed = cai_load_le64(p + 48);
    p += 24;
    uint32_t na = cai_load_le32(p + 32), ne = cai_load_le32(p + 36), nv = cai_load_le32(p + 40);
    if (cai_load_le32(p + 44) != 0)
        return SNAP_FAIL("snapshot reserved field not zero");
    /* Every refused entry took a position of its own; no position, no clock. */
    if (log_failed > log_pos || (log_pos == 0 && log_clock != 0))
        return SNAP_FAIL("snapshot's log position, clock and refused count disagree");
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
    l->seq = seq; /* the key records are checked against it */
    l->log_pos = log_pos;
    if (version >= 6 && (st = cai_ledger_keys_snapshot_read(l, &r.p, r.end)) != CA_OK)
        goto fail;
    if (version >= 6 && (st = load_delegations(l, &r)) != CA_OK)
        goto fail;
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
    l->log_pos = log_pos;
    l->log_clock = log_clock;
    l->log_failed = log_failed;
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

/* Removes "snapshot.tmp-*" and "snapshot.restore.tmp-*" files a crash left between create and
 * rename. */
static void remove_stale_snapshots(const char *dir)
{
    static const char prefix[] = "snapshot.tmp-", prefix2[] = "snapshot.restore.tmp-";
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, prefix, sizeof prefix - 1) == 0 ||
            strncmp(e->d_name, prefix2, sizeof prefix2 - 1) == 0)
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
    free(s->restore_path);
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
    s->written_pos = s->last_pos;
    return CA_OK;
}

void cai_store_append(ca_ledger *l, uint8_t rtype, const uint8_t *payload, size_t n, uint64_t now,
                      uint64_t pos)
{
    cai_store_append2(l, rtype, payload, n, NULL, 0, now, pos);
}

size_t cai_journal_record_write(const cai_journal_record *rec, uint8_t *out)
{
    uint8_t *q = out + REC_HDR;
    int ev = rec->type == CAI_REC_EVIDENCE;
    size_t n = rec->op_len + (ev ? 4 + rec->evidence_len : 0);
    cai_store_le32(out, (uint32_t)n);
    cai_store_le64(out + CAI_REC_OFF_SEQ, rec->seq);
    cai_store_le64(out + CAI_REC_OFF_NOW, rec->now);
    cai_store_le64(out + CAI_REC_OFF_POS, rec->pos);
    out[CAI_REC_OFF_TYPE] = rec->type;
    if (ev) { /* u32 op length | op | evidence */
        cai_store_le32(q, (uint32_t)rec->op_len);
        q += 4;
    }
    memcpy(q, rec->op, rec->op_len);
    if (ev && rec->evidence_len > 0)
        memcpy(q + rec->op_len, rec->evidence, rec->evidence_len);
    cai_store_le32(out + CAI_REC_OFF_PCRC, cai_crc32c(0, out + REC_HDR, n));
    cai_store_le32(out + CAI_REC_OFF_HCRC, header_crc(out));
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
    rec->seq = cai_load_le64(r + CAI_REC_OFF_SEQ);
    rec->now = cai_load_le64(r + CAI_REC_OFF_NOW);
    rec->pos = cai_load_le64(r + CAI_REC_OFF_POS);
    rec->type = r[CAI_REC_OFF_TYPE];
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

static void append_record(ca_ledger *l, const cai_journal_record *rec)
{
    cai_store *s = l->store;
    s->len += cai_journal_record_write(rec, s->buf + s->len);
    if (rec->pos != 0)
        s->last_pos = rec->pos;
    if (s->len >= AUTO_WRITE_BYTES)
        (void)store_write(s, l->seq); /* a failure is sticky and reported by the next call */
}

void cai_store_append2(ca_ledger *l, uint8_t rtype, const uint8_t *p1, size_t n1, const uint8_t *p2,
                       size_t n2, uint64_t now, uint64_t pos)
{
    cai_journal_record rec = {.seq = l->seq,
                              .now = now,
                              .pos = pos,
                              .type = rtype,
                              .op = p1,
                              .op_len = n1,
                              .evidence = p2,
                              .evidence_len = n2};
    append_record(l, &rec);
}

void cai_store_append_refused(ca_ledger *l, uint64_t pos, uint64_t now, ca_status status,
                              const uint8_t id[32])
{
    uint8_t payload[CAI_REFUSED_BYTES];
    cai_store_le32(payload, (uint32_t)(int32_t)status);
    memcpy(payload + 4, id, 32);
    cai_journal_record rec = {.seq = l->seq + 1, /* the seq the next applied op takes */
                              .now = now,
                              .pos = pos,
                              .type = CAI_REC_REFUSED,
                              .op = payload,
                              .op_len = sizeof payload};
    append_record(l, &rec);
}

ca_status cai_store_commit(ca_ledger *l, uint64_t *durable)
{
    cai_store *s = l->store;
    if (s->failed)
        return cai_fail(CA_ERR_IO, "an earlier journal write failed; reopen the ledger");
    ca_status st = store_write(s, l->seq);
    if (st != CA_OK)
        return st;
    if (s->durable_seq < s->written_seq || s->durable_pos < s->written_pos) {
        if (do_fdatasync(s->jfd) != 0) {
            s->failed = 1;
            return io_fail("fdatasync", s->journal_path);
        }
        s->durable_seq = s->written_seq;
        s->durable_pos = s->written_pos;
    }
    if (durable)
        *durable = s->durable_seq;
    return CA_OK;
}

uint64_t cai_store_durable_pos(const cai_store *s)
{
    return s->durable_pos;
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

/*
 * Installs a snapshot from bytes (ca_ledger_open_from_snapshot), `l` decoded
 * from `snapshot.restore`, which is durable: the journal becomes a bare header
 * after the snapshot's seq, then `snapshot.restore` is renamed over
 * `snapshot`. Every step can run again, so a crash anywhere in it leaves
 * `snapshot.restore` behind and the next open finishes the job; no journal
 * record of the replaced state is ever replayed on top of the new one.
 */
static ca_status finish_restore(cai_store *s, const ca_ledger *l)
{
    uint8_t hdr[CAI_JOURNAL_HEADER_BYTES];
    cai_journal_header(hdr, &l->opts, l->seq + 1);
    if (ftruncate(s->jfd, 0) != 0 || lseek(s->jfd, 0, SEEK_SET) != 0)
        return io_fail("truncate", s->journal_path);
    ca_status st = write_all(s->jfd, hdr, sizeof hdr, s->journal_path);
    if (st != CA_OK)
        return st;
    if (do_fsync(s->jfd) != 0)
        return io_fail("fsync", s->journal_path);
    if (rename(s->restore_path, s->snap_path) != 0)
        return io_fail("rename", s->restore_path);
    return sync_dir(s->dir);
}

/* Recovery from the directory's snapshot and journal (ca_ledger_open). */
static ca_status recover(cai_store *s, const ca_ledger_options *opts, ca_ledger **out,
                         ca_ledger_open_info *inf)
{
    ca_ledger *l = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    int exists = 0;
    ca_status st = read_file(s->snap_path, &data, &len, &exists);
    if (st != CA_OK)
        return st;
    if (exists) {
        st = cai_snapshot_decode(data, len, opts, 0, &l);
        free(data);
        data = NULL;
        if (st != CA_OK)
            return st;
        inf->snapshot_seq = l->seq;
    } else if ((st = cai_ledger_create(&l, opts)) != CA_OK) {
        return st;
    }
    uint64_t snap_pos = l->log_pos;
    if ((st = read_fd(s->jfd, s->journal_path, &data, &len)) != CA_OK)
        goto fail;
    cai_replay rep;
    if ((st = cai_journal_replay(l, data, len, &rep)) != CA_OK)
        goto fail;
    inf->replayed = rep.replayed;
    inf->torn_bytes = rep.torn_bytes;
    int changed = 0;
    if (rep.good_end < CAI_JOURNAL_HEADER_BYTES) {
        /* Empty, cut or old-format header without records: a fresh journal after the snapshot. */
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
    free(data);
    s->written_seq = l->seq;
    s->durable_seq = l->seq - rep.replayed; /* records found may not have been synced yet */
    s->last_pos = s->written_pos = l->log_pos;
    s->durable_pos = snap_pos;
    *out = l;
    return CA_OK;
fail:
    free(data);
    ca_ledger_free(l);
    return st;
}

/*
 * ca_ledger_open (restore NULL) and ca_ledger_open_from_snapshot: lock, then
 * either install the given snapshot, finish an installation a crash
 * interrupted, or recover.
 */
static ca_status open_dir(ca_ledger **out, const char *dir, const ca_ledger_options *opts,
                          const uint8_t *restore, size_t restore_len, ca_ledger_open_info *info)
{
    ca_ledger_open_info inf;
    memset(&inf, 0, sizeof inf);
    if (info != NULL)
        CAI_REQUIRE_VERSION("ledger open info", info->version, CA_LEDGER_OPEN_INFO_VERSION);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    if ((st = cai_ledger_validate_options(opts)) != CA_OK)
        return st;
    ca_ledger *l = NULL;
    /* Bytes to install are checked completely before anything on disk changes. */
    if (restore != NULL && (st = cai_snapshot_decode(restore, restore_len, opts, 0, &l)) != CA_OK)
        return st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ca_ledger_free(l);
        return io_fail("mkdir", dir);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int exists = 0;
    cai_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        ca_ledger_free(l);
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory opening a ledger");
    }
    s->jfd = -1;
    s->dir = join(dir, ".");
    s->journal_path = join(dir, "journal");
    s->snap_path = join(dir, "snapshot");
    s->restore_path = join(dir, "snapshot.restore");
    if (!s->dir || !s->journal_path || !s->snap_path || !s->restore_path) {
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
    if (restore != NULL) {
        /* The commit point: once snapshot.restore is in place, the new state wins. */
        if ((st = cai_file_replace(s->restore_path, restore, restore_len, 0600)) != CA_OK)
            goto fail;
    } else {
        /* An installation a crash interrupted is finished before anything else. */
        if ((st = read_file(s->restore_path, &data, &len, &exists)) != CA_OK)
            goto fail;
        if (exists) {
            st = cai_snapshot_decode(data, len, opts, 0, &l);
            free(data);
            data = NULL;
            if (st != CA_OK)
                goto fail;
        }
    }
    if (l != NULL) {
        if ((st = finish_restore(s, l)) != CA_OK)
            goto fail;
        inf.snapshot_seq = l->seq;
        s->written_seq = s->durable_seq = l->seq;
        s->last_pos = s->written_pos = s->durable_pos = l->log_pos;
    } else if ((st = recover(s, opts, &l, &inf)) != CA_OK) {
        goto fail;
    }
    remove_stale_snapshots(s->dir); /* left by a snapshot a crash interrupted */
    inf.position = l->log_pos;
    inf.failed = l->log_failed;
    l->store = s;
    *out = l;
    if (info) {
        inf.version = info->version;
        *info = inf;
    }
    return CA_OK;
fail:
    free(data);
    ca_ledger_free(l);
    cai_store_close(s);
    return st;
}

ca_status ca_ledger_open(ca_ledger **out, const char *dir, const ca_ledger_options *opts,
                         ca_ledger_open_info *info)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(dir);
    CAI_REQUIRE(opts);
    return open_dir(out, dir, opts, NULL, 0, info);
}

ca_status ca_ledger_open_from_snapshot(ca_ledger **out, const char *dir,
                                       const ca_ledger_options *opts, const uint8_t *snapshot,
                                       size_t snapshot_len, ca_ledger_open_info *info)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(dir);
    CAI_REQUIRE(opts);
    CAI_REQUIRE(snapshot);
    return open_dir(out, dir, opts, snapshot, snapshot_len, info);
}

ca_status ca_ledger_new_from_snapshot(ca_ledger **out, const ca_ledger_options *opts,
                                      const uint8_t *snapshot, size_t snapshot_len)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(opts);
    CAI_REQUIRE(snapshot);
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    if ((st = cai_ledger_validate_options(opts)) != CA_OK)
        return st;
    return cai_snapshot_decode(snapshot, snapshot_len, opts, 0, out);
}
