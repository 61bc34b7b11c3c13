/*
 * cpformat.h: the keys and values of the checkpoint bucket (cpstore.h), with
 * no NATS in it: what cpstore writes and the strict parsers of what it reads
 * back. Anyone who may write to the bucket controls these bytes, so the
 * parsers accept exactly one form, the one the formatters write: a value
 * they accept formats back to exactly its bytes (fuzz target
 * fuzz_replica_kv). Numbers are canonical decimals (rc_parse_u64: no sign,
 * no leading zero, at most UINT64_MAX), hashes 64 lowercase hex digits,
 * fields separated by one space, nothing before or after (no newline, no
 * NUL byte). Values are byte strings with a length, not NUL-terminated.
 *
 *   cp.NAME.SEQ       "HASH FAILED"                    (rcp_format_cp_value)
 *   snapidx.NAME      "SEQ HASH FAILED CHUNKS BYTES"   (rcp_format_index)
 *   snap.NAME.SEQ.I   chunk I of the snapshot's bytes (not parsed here)
 *
 * NAME is a replica name (rcp_name_ok: 1..RCP_NAME_MAX of [A-Za-z0-9_-]).
 * A snapshot index holds BYTES >= 1 and CHUNKS = ceil(BYTES / RCP_CHUNK),
 * the number of chunks rcp_put_snapshot writes; any other pair is refused.
 */
#ifndef CA_EXAMPLES_REPLICA_CPFORMAT_H
#define CA_EXAMPLES_REPLICA_CPFORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "replica_core.h"

#define RCP_CHUNK    (512u * 1024u)
#define RCP_NAME_MAX 32
/* "HASH FAILED": 64 + 1 + 20 characters, NUL. */
#define RCP_CP_VALUE_MAX 88
/* "SEQ HASH FAILED CHUNKS BYTES": RC_LINE_MAX, 1 + 10, 1 + 20, NUL. */
#define RCP_INDEX_MAX (RC_LINE_MAX + 48)

/* A snapshot index (snapidx.NAME). */
typedef struct rcp_index {
    rc_checkpoint cp; /* the checkpoint the snapshot is the state of */
    uint32_t chunks;  /* ceil(bytes / RCP_CHUNK) */
    uint64_t bytes;   /* the snapshot's size, >= 1 */
} rcp_index;

/* 1 if name (NUL-terminated) is a valid replica name, else 0. */
int rcp_name_ok(const char *name);

/* "HASH FAILED" of cp (NUL-terminated). */
void rcp_format_cp_value(const rc_checkpoint *cp, char out[RCP_CP_VALUE_MAX]);

/* The value v[0..len) of cp.NAME.seq: 0 and *cp = (seq, HASH, FAILED), else
 * -1 (*cp unchanged). */
int rcp_parse_cp_value(const char *v, size_t len, uint64_t seq, rc_checkpoint *cp);

/* "SEQ HASH FAILED CHUNKS BYTES" (NUL-terminated). */
void rcp_format_index(const rcp_index *ix, char out[RCP_INDEX_MAX]);

/* The value v[0..len) of snapidx.NAME: 0 and *ix, else -1 (*ix unchanged). */
int rcp_parse_index(const char *v, size_t len, rcp_index *ix);

/* A key "cp.NAME.SEQ" (NUL-terminated): 0 with name (NUL-terminated) and
 * *seq, else -1 (name and *seq unchanged). */
int rcp_parse_cp_key(const char *key, char name[RCP_NAME_MAX + 1], uint64_t *seq);

#endif
