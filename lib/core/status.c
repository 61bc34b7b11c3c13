/* Status names, thread-local last error, library initialization. */
#include <stdarg.h>
#include <stdio.h>

#include <sodium.h>

#include "cyberagent/version.h"
#include "internal.h"

#define CAI_LAST_ERROR_MAX 256

static _Thread_local char last_error[CAI_LAST_ERROR_MAX];
static _Thread_local unsigned long error_serial;

const char *ca_status_str(ca_status status)
{
    switch (status) {
#define CAI_NAME(code)                                                                             \
    case code:                                                                                     \
        return #code;
        CAI_NAME(CA_OK)
        CAI_NAME(CA_ERR_INVALID_ARGUMENT)
        CAI_NAME(CA_ERR_NO_MEMORY)
        CAI_NAME(CA_ERR_BUFFER_TOO_SMALL)
        CAI_NAME(CA_ERR_LIMIT)
        CAI_NAME(CA_ERR_INIT)
        CAI_NAME(CA_ERR_IO)
        CAI_NAME(CA_ERR_OVERFLOW)
        CAI_NAME(CA_ERR_NOT_FOUND)
        CAI_NAME(CA_ERR_UNSUPPORTED)
        CAI_NAME(CA_ERR_STATE)

        CAI_NAME(CA_ERR_BAD_SIGNATURE)
        CAI_NAME(CA_ERR_BAD_DID)
        CAI_NAME(CA_ERR_BAD_KEY)
        CAI_NAME(CA_ERR_KEYFILE_CORRUPT)
        CAI_NAME(CA_ERR_WRONG_PASSPHRASE)
        CAI_NAME(CA_ERR_KEYFILE_TOO_COSTLY)
        CAI_NAME(CA_ERR_BAD_SIGN_TAG)
        CAI_NAME(CA_ERR_KEY_NOT_COMMITTED)
        CAI_NAME(CA_ERR_KEY_EVENT_ORDER)
        CAI_NAME(CA_ERR_KEY_UNKNOWN)
        CAI_NAME(CA_ERR_KEY_ROTATED)

        CAI_NAME(CA_ERR_MALFORMED)
        CAI_NAME(CA_ERR_BAD_VERSION)
        CAI_NAME(CA_ERR_EXPIRED)
        CAI_NAME(CA_ERR_NOT_YET_VALID)
        CAI_NAME(CA_ERR_REPLAY)
        CAI_NAME(CA_ERR_REPLAY_FULL)
        CAI_NAME(CA_ERR_DECOMPRESS)
        CAI_NAME(CA_ERR_SEALED)
        CAI_NAME(CA_ERR_WRONG_KIND)
        CAI_NAME(CA_ERR_LIFETIME)
        CAI_NAME(CA_ERR_REPLAY_QUOTA)
        CAI_NAME(CA_ERR_SEAL_MISMATCH)

        /* task */
        CAI_NAME(CA_ERR_BAD_CAPABILITY)
        CAI_NAME(CA_ERR_TASK_MISMATCH)
        CAI_NAME(CA_ERR_TASK_UNKNOWN_PARENT)
        CAI_NAME(CA_ERR_TASK_FORBIDDEN)
        CAI_NAME(CA_ERR_TASK_ORDER)
        CAI_NAME(CA_ERR_TASK_DEADLINE)
        CAI_NAME(CA_ERR_TASK_TERMS)
        CAI_NAME(CA_ERR_TASK_DUPLICATE)
        CAI_NAME(CA_ERR_TASK_EQUIVOCATION)
        CAI_NAME(CA_ERR_TASK_TIMESTAMP)
        CAI_NAME(CA_ERR_BAD_EVIDENCE)

        /* ledger */
        CAI_NAME(CA_ERR_LEDGER_INSUFFICIENT_FUNDS)
        CAI_NAME(CA_ERR_LEDGER_UNKNOWN_ACCOUNT)
        CAI_NAME(CA_ERR_LEDGER_UNAUTHORIZED)
        CAI_NAME(CA_ERR_LEDGER_DUPLICATE)
        CAI_NAME(CA_ERR_LEDGER_BAD_NONCE)
        CAI_NAME(CA_ERR_LEDGER_JAILED)
        CAI_NAME(CA_ERR_LEDGER_EVIDENCE_USED)
        CAI_NAME(CA_ERR_LEDGER_ESCROW_EXISTS)
        CAI_NAME(CA_ERR_LEDGER_UNKNOWN_ESCROW)
        CAI_NAME(CA_ERR_LEDGER_ESCROW_CLOSED)
        CAI_NAME(CA_ERR_LEDGER_TOO_EARLY)
        CAI_NAME(CA_ERR_LEDGER_TOO_LATE)
        CAI_NAME(CA_ERR_LEDGER_DELIVERED)
        CAI_NAME(CA_ERR_LEDGER_SELF_DEALING)
        CAI_NAME(CA_ERR_LEDGER_BAD_EVIDENCE)
        CAI_NAME(CA_ERR_LEDGER_CORRUPT)
        CAI_NAME(CA_ERR_LEDGER_INVARIANT)
        CAI_NAME(CA_ERR_LEDGER_OPTIONS_MISMATCH)
        CAI_NAME(CA_ERR_LEDGER_NO_STAKE)
        CAI_NAME(CA_ERR_LEDGER_EVIDENCE_EXPIRED)
        CAI_NAME(CA_ERR_LEDGER_STALE_POSITION)
        CAI_NAME(CA_ERR_LEDGER_CAP_EXCEEDED)
        CAI_NAME(CA_ERR_LEDGER_UNKNOWN_DELEGATION)

        /* reputation */
        CAI_NAME(CA_ERR_SELF_RATING)
        CAI_NAME(CA_ERR_DUPLICATE_RATING)
        CAI_NAME(CA_ERR_UNPAID_RATING)
        CAI_NAME(CA_ERR_REPUTATION_CORRUPT)
        CAI_NAME(CA_ERR_ESCROW_MISMATCH)
        CAI_NAME(CA_ERR_DUPLICATE_OFFENSE)

        /* routing */
        CAI_NAME(CA_ERR_ROUTING_STALE)
        CAI_NAME(CA_ERR_ROUTING_CONFLICT)
        CAI_NAME(CA_ERR_ROUTING_INELIGIBLE)

        /* a2a */
        CAI_NAME(CA_ERR_JSON)
        CAI_NAME(CA_ERR_JWS)
        CAI_NAME(CA_ERR_KEY_MISMATCH)
        CAI_NAME(CA_ERR_A2A_CARD)

        /* delegation */
        CAI_NAME(CA_ERR_DELEGATION_PARENT)
        CAI_NAME(CA_ERR_DELEGATION_AUDIENCE)
        CAI_NAME(CA_ERR_DELEGATION_CAPABILITY)
        CAI_NAME(CA_ERR_DELEGATION_TOTAL_CAP)
        CAI_NAME(CA_ERR_DELEGATION_TASK_CAP)
        CAI_NAME(CA_ERR_DELEGATION_WINDOW)
        CAI_NAME(CA_ERR_DELEGATION_REVOKED)
#undef CAI_NAME
    default:
        return "CA_ERR_UNKNOWN";
    }
}

const char *ca_last_error(void)
{
    return last_error;
}

/*
 * Formats into a scratch buffer first, so a sentence may quote the previous
 * one (cai_fail(st, "...: %s", ca_last_error())): vsnprintf's source and
 * destination must not overlap. Runs only on failure paths.
 */
void cai_record_error(const char *fmt, ...)
{
    char tmp[CAI_LAST_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        (void)snprintf(tmp, sizeof tmp, "(the error sentence could not be formatted: %s)", fmt);
    memcpy(last_error, tmp, sizeof tmp);
    error_serial++;
}

unsigned long cai_error_serial(void)
{
    return error_serial;
}

ca_status cai_ensure_init(void)
{
    /* sodium_init() is itself idempotent and thread-safe (it takes a lock). */
    static _Atomic int ready = 0;
    if (CAI_LIKELY(ready))
        return CA_OK;
    if (sodium_init() < 0)
        return cai_fail(CA_ERR_INIT, "libsodium could not be initialized");
    ready = 1;
    return CA_OK;
}

ca_status ca_init(void)
{
    return cai_ensure_init();
}

const char *ca_version_string(void)
{
    return CA_VERSION_STRING;
}

unsigned ca_version_number(void)
{
    return CA_VERSION_NUMBER;
}

size_t ca_agent_id_bytes(void)
{
    return CA_AGENT_ID_BYTES;
}

size_t ca_hash_bytes(void)
{
    return CA_HASH_BYTES;
}

size_t ca_signature_bytes(void)
{
    return CA_SIGNATURE_BYTES;
}

int ca_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

void ca_wipe(void *p, size_t len)
{
    if (p != NULL)
        sodium_memzero(p, len);
}
