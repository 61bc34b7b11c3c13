/*
 * cpstore.h: replicas' checkpoints and snapshots in a JetStream key-value
 * bucket (default LEDGER_CP: R3, file storage, one value per key), on the
 * connection of an rjs handle. Keys (NAME = a replica's name, [A-Za-z0-9_-]):
 *
 *   cp.NAME.SEQ        "HASH FAILED" of NAME's checkpoint at stream sequence SEQ
 *   snapidx.NAME       "SEQ HASH FAILED CHUNKS BYTES" of NAME's newest snapshot
 *   snap.NAME.SEQ.I    chunk I (0-based, RCP_CHUNK bytes but the last) of its bytes
 *
 * The values' exact forms and what a reader refuses are in cpformat.h; a
 * value that is not in that form is ignored (a snapshot index, a confirming
 * checkpoint) or reported (rcp_get_checkpoint: RJS_ERR_NATS, "not a
 * checkpoint").
 *
 * A snapshot is written chunks first, then its index; the chunks of NAME's
 * previous snapshot are purged after. A replica that restores takes the
 * newest snapshot (largest SEQ over every snapidx key) that a checkpoint of
 * ANOTHER replica than its writer confirms: cp.OTHER.SEQ holds the same hash
 * and failed count. The bytes are then checked again by the ledger (checksum,
 * every invariant, the stored state hash), and the caller compares the state
 * it opened with the confirmed (SEQ, HASH, FAILED).
 *
 * Writes retry transient failures (no leader during an election, a
 * reconnect) until RCP_WRITE_DEADLINE_MS; a checkpoint that could not be
 * written is reported by the return value, not retried later.
 */
#ifndef CA_EXAMPLES_REPLICA_CPSTORE_H
#define CA_EXAMPLES_REPLICA_CPSTORE_H

#include "cpformat.h" /* the keys and values, their limits and strict parsers */
#include "js.h"
#include "replica_core.h"

#define RCP_DEFAULT_BUCKET    "LEDGER_CP"
#define RCP_WRITE_DEADLINE_MS 15000

typedef struct rcp rcp;

/* Binds (creating it if missing) the bucket on h's connection, `replicas`
 * copies. h is borrowed. */
rjs_status rcp_open(rcp **out, rjs *h, const char *bucket, int replicas);
void rcp_close(rcp *s); /* NULL is a no-op */
const char *rcp_error(const rcp *s);

rjs_status rcp_put_checkpoint(rcp *s, const char *name, const rc_checkpoint *cp);

/* NAME's checkpoint at seq: RJS_OK with *found 0 or 1. */
rjs_status rcp_get_checkpoint(rcp *s, const char *name, uint64_t seq, rc_checkpoint *cp,
                              int *found);

rjs_status rcp_put_snapshot(rcp *s, const char *name, const rc_checkpoint *cp, const uint8_t *bytes,
                            size_t len);

/* The newest confirmed snapshot (above) with seq > min_seq: *found 1, *cp,
 * writer (RCP_NAME_MAX + 1 bytes), *bytes (malloc, the caller frees) and
 * *len; *found 0 if none. */
rjs_status rcp_find_snapshot(rcp *s, uint64_t min_seq, int *found, rc_checkpoint *cp, char *writer,
                             char *confirmer, uint8_t **bytes, size_t *len);

#endif
