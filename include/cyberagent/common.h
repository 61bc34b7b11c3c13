/*
 * libcyberagent — common definitions shared by every module.
 *
 * THREAD SAFETY: everything in this header is safe to call from any thread.
 *
 * OWNERSHIP RULE (used by every module, see docs/ARCHITECTURE.md):
 *   Variable-length output goes into a buffer the caller owns:
 *       ca_status ca_x_y(..., uint8_t *out, size_t out_cap, size_t *out_len);
 *   On success *out_len is the number of bytes written. When `out` is NULL or
 *   `out_cap` is too small, nothing is written to `out`, *out_len is set to the
 *   exact size needed and CA_ERR_BUFFER_TOO_SMALL is returned, so a caller may
 *   ask for the size first and call again. Text output is NUL-terminated and
 *   *out_len excludes the NUL (the buffer needs *out_len + 1 bytes).
 *   The library never returns heap memory for the caller to free, except
 *   opaque handles, which are released with their own ca_<type>_free();
 *   every ca_<type>_free(NULL) is a no-op. Input pointers are borrowed for the
 *   duration of the call only, unless a function's comment says otherwise.
 *
 * STRUCT RULE (how a public struct grows without breaking the ABI, see
 * docs/ABI.md): every public struct the library fills or reads, other than
 * the fixed-size values below (ids, hashes, signatures: frozen forever),
 * tells the library which layout the caller was compiled with, in one of
 * two ways, one per struct:
 *   - VERSION: its first member is `unsigned int version`, which the caller
 *     sets to the struct's CA_<NAME>_VERSION macro (options and params
 *     through their _init function) before every call that takes the struct,
 *     whether the library reads it or fills it. The library reads and writes
 *     only the fields of that version (the defaults for fields added later);
 *     0 or a version newer than the library is CA_ERR_UNSUPPORTED, checked
 *     right after the NULL arguments, before anything changes.
 *   - ELEMENT SIZE: a struct that travels in arrays (ca_card_capability,
 *     ca_ledger_log_entry, ca_reputation_score, ca_routing_result,
 *     ca_routing_bid) has no version;
 *     every function or struct that takes one takes, right after its pointer,
 *     a `size_t <name>_size` = sizeof(the struct) as the caller compiled it,
 *     for one element as for many. Arrays are walked with that stride; the
 *     library reads only the fields within it (later ones count as zero) and
 *     writes only those. A size below the struct's 1.0 layout or above this
 *     build's sizeof is CA_ERR_UNSUPPORTED.
 *   Fields are only ever appended (each append bumps the VERSION macro, or
 *   grows sizeof). A growable struct is never embedded by value in another
 *   one: it is referenced by pointer, so each grows on its own.
 */
#ifndef CYBERAGENT_COMMON_H
#define CYBERAGENT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Export macro: the library is built with -fvisibility=hidden. */
#if defined(_WIN32)
#if defined(CA_BUILDING_LIBRARY)
#define CA_API __declspec(dllexport)
#else
#define CA_API
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define CA_API __attribute__((visibility("default")))
#else
#define CA_API
#endif

/* Functions whose result must not be ignored. */
#if defined(__GNUC__) || defined(__clang__)
#define CA_NODISCARD __attribute__((warn_unused_result))
#else
#define CA_NODISCARD
#endif

/*
 * Status codes. 0 is success; failures are negative. Values are stable and
 * append-only: a code is never renumbered or reused. Each module owns a block
 * of one hundred codes, so modules grow without touching each other.
 */
typedef int ca_status;

enum {
    CA_OK = 0,

    /* general: -1 .. -99 */
    CA_ERR_INVALID_ARGUMENT = -1, /* NULL where a value is required, bad option, ... */
    CA_ERR_NO_MEMORY = -2,        /* an allocation failed */
    CA_ERR_BUFFER_TOO_SMALL = -3, /* see OWNERSHIP RULE: *out_len holds the size needed */
    CA_ERR_LIMIT = -4,            /* input exceeds a limit the caller can see or set */
    CA_ERR_INIT = -5,             /* the crypto backend could not be initialized */
    CA_ERR_IO = -6,               /* a file system call failed (errno in ca_last_error) */
    CA_ERR_OVERFLOW = -7,         /* integer arithmetic would overflow */
    CA_ERR_NOT_FOUND = -8,        /* the named object does not exist */
    CA_ERR_UNSUPPORTED = -9,      /* well-formed, but a version or feature this build lacks */
    CA_ERR_STATE = -10,           /* the call is not allowed in the object's current state */

    /* identity: -100 .. -199 */
    CA_ERR_BAD_SIGNATURE = -100,      /* the signature does not verify */
    CA_ERR_BAD_DID = -101,            /* not a did:key Ed25519 identifier in canonical form */
    CA_ERR_BAD_KEY = -102,            /* a public key is not a usable curve point */
    CA_ERR_KEYFILE_CORRUPT = -103,    /* key file damaged, truncated or not a key file */
    CA_ERR_WRONG_PASSPHRASE = -104,   /* key file intact but the passphrase does not open it */
    CA_ERR_KEYFILE_TOO_COSTLY = -105, /* key file asks for more KDF work than allowed */
    CA_ERR_BAD_SIGN_TAG = -106,       /* application signing tag empty, too long or reserved */
    CA_ERR_KEY_NOT_COMMITTED = -107,  /* rotation key is not the one the last event committed to */
    CA_ERR_KEY_EVENT_ORDER = -108,    /* key event does not follow the identity's history */
    CA_ERR_KEY_UNKNOWN = -109,        /* signer is no key of the identity's history */
    CA_ERR_KEY_ROTATED = -110,        /* signed outside the window in which the key was current */

    /* envelope: -200 .. -299 */
    CA_ERR_MALFORMED = -200,     /* not canonical MessagePack of the expected shape */
    CA_ERR_BAD_VERSION = -201,   /* envelope version this build does not speak */
    CA_ERR_EXPIRED = -202,       /* now is past expires_at (plus allowed skew) */
    CA_ERR_NOT_YET_VALID = -203, /* created_at is in the future beyond allowed skew */
    CA_ERR_REPLAY = -204,        /* message id already seen and not yet expired */
    CA_ERR_REPLAY_FULL = -205,   /* replay guard is full; it refuses rather than forgets */
    CA_ERR_DECOMPRESS = -206,    /* body does not decompress, or exceeds the cap */
    CA_ERR_SEALED = -207,        /* sealed body cannot be opened with this identity */
    CA_ERR_WRONG_KIND = -208,    /* envelope kind is not the one the caller expected */
    CA_ERR_LIFETIME = -209,      /* expires_at - created_at exceeds the allowed maximum lifetime */
    CA_ERR_REPLAY_QUOTA = -210,  /* replay guard holds its per-sender quota of this sender's ids */
    CA_ERR_SEAL_MISMATCH = -211, /* sealed body does not open under this envelope's header */

    /* task: -300 .. -399 */
    CA_ERR_BAD_CAPABILITY = -300,      /* capability name breaks the grammar (card.h) */
    CA_ERR_TASK_MISMATCH = -301,       /* message belongs to another task */
    CA_ERR_TASK_UNKNOWN_PARENT = -302, /* parent or referenced message not in the thread (yet) */
    CA_ERR_TASK_FORBIDDEN = -303,      /* sender may not send this kind of message here */
    CA_ERR_TASK_ORDER = -304,          /* message kind not allowed in the task's state */
    CA_ERR_TASK_DEADLINE = -305,       /* on the wrong side of a deadline */
    CA_ERR_TASK_TERMS = -306,          /* price, collateral, payment or terms out of bounds */
    CA_ERR_TASK_DUPLICATE = -307,      /* message already in the thread */
    CA_ERR_TASK_EQUIVOCATION = -308,   /* signer already sent a different message of this kind */
    CA_ERR_TASK_TIMESTAMP = -309,      /* created_at earlier than the parent's */
    CA_ERR_BAD_EVIDENCE = -310,        /* evidence does not prove an equivocation */

    /* ledger: -400 .. -499 */
    CA_ERR_LEDGER_INSUFFICIENT_FUNDS = -400, /* the account lacks the units the op moves */
    CA_ERR_LEDGER_UNKNOWN_ACCOUNT = -401,    /* the account named does not exist */
    CA_ERR_LEDGER_UNAUTHORIZED = -402,       /* the signer may not perform this op */
    CA_ERR_LEDGER_DUPLICATE = -403,          /* nonce already used: the op was applied before */
    CA_ERR_LEDGER_BAD_NONCE = -404,          /* nonce is not the signer's next one (gap) */
    CA_ERR_LEDGER_JAILED = -405,             /* the account is jailed: no bonding or escrow work */
    CA_ERR_LEDGER_EVIDENCE_USED = -406,      /* this evidence has already been used */
    CA_ERR_LEDGER_ESCROW_EXISTS = -407,      /* an escrow with this award id exists */
    CA_ERR_LEDGER_UNKNOWN_ESCROW = -408,     /* no escrow has this award id */
    CA_ERR_LEDGER_ESCROW_CLOSED = -409,      /* the escrow is already settled */
    CA_ERR_LEDGER_TOO_EARLY = -410,          /* deadline not passed / nothing matured yet */
    CA_ERR_LEDGER_TOO_LATE = -411,           /* deadline already passed */
    CA_ERR_LEDGER_DELIVERED = -412,          /* the worker recorded its result in time */
    CA_ERR_LEDGER_SELF_DEALING = -413,       /* both sides of the op are one account */
    CA_ERR_LEDGER_BAD_EVIDENCE = -414,       /* evidence does not prove the offence charged */
    CA_ERR_LEDGER_CORRUPT = -415,            /* journal or snapshot damaged (not a torn tail) */
    CA_ERR_LEDGER_INVARIANT = -416,          /* an invariant check failed */
    CA_ERR_LEDGER_OPTIONS_MISMATCH = -417,   /* stored ledger was made with other options */
    CA_ERR_LEDGER_NO_STAKE = -418,           /* the offender has nothing a slash could take */
    CA_ERR_LEDGER_EVIDENCE_EXPIRED = -419,   /* the offense is older than max_evidence_age */
    CA_ERR_LEDGER_STALE_POSITION = -420,     /* log position not after the ledger's: skipped */
    CA_ERR_LEDGER_CAP_EXCEEDED = -421,       /* a spend above a delegation's task or total cap */
    CA_ERR_LEDGER_UNKNOWN_DELEGATION = -422, /* no record of this delegation (or revocation) */

    /* reputation: -500 .. -599 */
    CA_ERR_SELF_RATING = -500,        /* an agent rated itself */
    CA_ERR_DUPLICATE_RATING = -501,   /* this task has already been rated */
    CA_ERR_UNPAID_RATING = -502,      /* the payment buys no weight (amount below the unit) */
    CA_ERR_REPUTATION_CORRUPT = -503, /* reputation snapshot damaged or not canonical */
    CA_ERR_ESCROW_MISMATCH = -504,    /* the task's escrow names other parties than its thread */
    CA_ERR_DUPLICATE_OFFENSE = -505,  /* this offense has already been recorded */

    /* routing: -600 .. -699 */
    CA_ERR_ROUTING_STALE = -600,      /* a card with a higher sequence is registered */
    CA_ERR_ROUTING_CONFLICT = -601,   /* same sequence as the registered card, other content */
    CA_ERR_ROUTING_INELIGIBLE = -602, /* the bidder fails one of the query's filters */

    /* a2a: -700 .. -799 */
    /* JSON, JWS and signed A2A agent cards (card.h) */
    CA_ERR_JSON = -700,         /* not strict JSON (syntax, UTF-8, lone surrogate, duplicate key) */
    CA_ERR_JWS = -701,          /* no JWS, or a JWS / protected header of the wrong shape */
    CA_ERR_KEY_MISMATCH = -702, /* the signature's kid names another key than the one required */
    CA_ERR_A2A_CARD = -703, /* JSON that is not an A2A v1.0 AgentCard of the shape card.h reads */

    /* delegation: -800 .. -899 */
    CA_ERR_DELEGATION_PARENT = -800,     /* a link's parent is not the link before it */
    CA_ERR_DELEGATION_AUDIENCE = -801,   /* a link's issuer is not the audience of the one before */
    CA_ERR_DELEGATION_CAPABILITY = -802, /* a capability its parent does not grant */
    CA_ERR_DELEGATION_TOTAL_CAP = -803,  /* a total spending cap above its parent's */
    CA_ERR_DELEGATION_TASK_CAP = -804,   /* a per-task spending cap above its parent's */
    CA_ERR_DELEGATION_WINDOW = -805,     /* a validity window reaching outside its parent's */
    CA_ERR_DELEGATION_REVOKED = -806,    /* a link is revoked by an issuer of the chain */

    CA_STATUS_RESERVED_END_ = -10000
};

/* Short stable name of a status, e.g. "CA_ERR_BAD_SIGNATURE". Never NULL. */
CA_API const char *ca_status_str(ca_status status);

/*
 * Human sentence about the failure of the last call that failed on the
 * calling thread ("" when no call has failed on it yet). Thread-local: each
 * thread sees its own.
 *
 * LAST ERROR RULE (every module, as libgit2's git_error_last):
 *   - The sentence is meaningful only right after a call that returned a
 *     failure status (any ca_status other than CA_OK, CA_ERR_BUFFER_TOO_SMALL
 *     included). Every such call records a fresh sentence about its own
 *     failure, also when the cause lies in a nested call or in libsodium,
 *     zstd or the file system: it never leaves an earlier failure's sentence.
 *   - A call that succeeds says nothing through it: it may leave the
 *     sentence as it was or replace it (a call may recover from a failure of
 *     its own inside). Nothing clears it: once a call has failed on a thread,
 *     the sentence is never "" again there, so "" never means success; test
 *     the status.
 *   - Functions that return no ca_status (the ca_*_free() functions, getters
 *     and size functions) never change it, so a binding's finalizer that runs
 *     between a failure and the read cannot replace the sentence.
 *   The pointer stays valid for the thread's lifetime; its text is valid
 *   until the next library call on the same thread (copy it to keep it).
 *   Successful calls pay nothing for the rule: no clearing on hot paths.
 */
CA_API const char *ca_last_error(void);

/*
 * Initialize the crypto backend. Idempotent and thread-safe; every function
 * that needs it calls it, so calling it first is optional but lets a program
 * fail early. Returns CA_OK or CA_ERR_INIT.
 */
CA_API ca_status ca_init(void);

/* Fixed-size values: plain structs of bytes, safe to copy and pass by FFI. */
#define CA_AGENT_ID_BYTES  32u
#define CA_HASH_BYTES      32u
#define CA_SIGNATURE_BYTES 64u

/* An agent id is its 32-byte Ed25519 public key. */
typedef struct ca_agent_id {
    uint8_t bytes[CA_AGENT_ID_BYTES];
} ca_agent_id;

/* BLAKE2b-256 digest (message ids, parent links, state hashes). */
typedef struct ca_hash {
    uint8_t bytes[CA_HASH_BYTES];
} ca_hash;

/* Detached Ed25519 signature. */
typedef struct ca_signature {
    uint8_t bytes[CA_SIGNATURE_BYTES];
} ca_signature;

CA_API size_t ca_agent_id_bytes(void);
CA_API size_t ca_hash_bytes(void);
CA_API size_t ca_signature_bytes(void);

/* Constant-time equality of two byte strings of equal length (1 if equal). */
CA_API int ca_equal(const void *a, const void *b, size_t len);

/* Overwrite memory with zeros in a way the compiler cannot remove. */
CA_API void ca_wipe(void *p, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_COMMON_H */
