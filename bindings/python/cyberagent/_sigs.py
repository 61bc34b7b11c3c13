"""The one signature table of the Python binding.

Every foreign function the binding calls is listed in SIGNATURES as
(name, restype, argtypes); the loader applies exactly these, so no function is
ever called with ctypes' default (int) return type. bindings/check_drift.py
imports this file by path and compares it with the C headers, so it must not
load the library or import the rest of the package.

Conventions: byte and text buffers (const uint8_t *, char *) are c_char_p,
which passes a `bytes` object or a ctypes char array without copying; public
structs and opaque handles are named exactly like their C typedefs.
"""

from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_char,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

ca_status = c_int
P = POINTER
buf = c_char_p  # const uint8_t * / char * / uint8_t * (caller buffer): bytes or a ctypes char array

# ---- constants (numeric #defines and enumerators of the public headers) ----

CONSTANTS = {
    # common.h: sizes
    "CA_AGENT_ID_BYTES": 32,
    "CA_HASH_BYTES": 32,
    "CA_SIGNATURE_BYTES": 64,
    # common.h: status codes
    "CA_OK": 0,
    "CA_ERR_INVALID_ARGUMENT": -1,
    "CA_ERR_NO_MEMORY": -2,
    "CA_ERR_BUFFER_TOO_SMALL": -3,
    "CA_ERR_LIMIT": -4,
    "CA_ERR_INIT": -5,
    "CA_ERR_IO": -6,
    "CA_ERR_OVERFLOW": -7,
    "CA_ERR_NOT_FOUND": -8,
    "CA_ERR_UNSUPPORTED": -9,
    "CA_ERR_STATE": -10,
    "CA_ERR_BAD_SIGNATURE": -100,
    "CA_ERR_BAD_DID": -101,
    "CA_ERR_BAD_KEY": -102,
    "CA_ERR_KEYFILE_CORRUPT": -103,
    "CA_ERR_WRONG_PASSPHRASE": -104,
    "CA_ERR_KEYFILE_TOO_COSTLY": -105,
    "CA_ERR_BAD_SIGN_TAG": -106,
    "CA_ERR_KEY_NOT_COMMITTED": -107,
    "CA_ERR_KEY_EVENT_ORDER": -108,
    "CA_ERR_KEY_UNKNOWN": -109,
    "CA_ERR_KEY_ROTATED": -110,
    "CA_ERR_MALFORMED": -200,
    "CA_ERR_BAD_VERSION": -201,
    "CA_ERR_EXPIRED": -202,
    "CA_ERR_NOT_YET_VALID": -203,
    "CA_ERR_REPLAY": -204,
    "CA_ERR_REPLAY_FULL": -205,
    "CA_ERR_DECOMPRESS": -206,
    "CA_ERR_SEALED": -207,
    "CA_ERR_WRONG_KIND": -208,
    "CA_ERR_LIFETIME": -209,
    "CA_ERR_REPLAY_QUOTA": -210,
    "CA_ERR_SEAL_MISMATCH": -211,
    "CA_STATUS_RESERVED_END_": -10000,
    # version.h
    "CA_VERSION_MAJOR": 1,
    "CA_VERSION_MINOR": 0,
    "CA_VERSION_PATCH": 0,
    "CA_VERSION_NUMBER": 10000,
    # identity.h
    "CA_SEED_BYTES": 32,
    "CA_X25519_PUBLIC_BYTES": 32,
    "CA_DID_MAX_CHARS": 56,
    "CA_SIGN_TAG_MAX_BYTES": 64,
    "CA_KEYFILE_OPTIONS_VERSION": 1,
    "CA_KEYFILE_OPSLIMIT_DEFAULT": 3,
    "CA_KEYFILE_MEMLIMIT_DEFAULT": 268435456,
    "CA_KEYFILE_MAX_OPSLIMIT_DEFAULT": 3,
    "CA_KEYFILE_MAX_MEMLIMIT_DEFAULT": 268435456,
    "CA_KEYFILE_BYTES": 128,
    # envelope.h
    "CA_ENVELOPE_VERSION": 1,
    "CA_KIND_CARD": 1,
    "CA_KIND_TASK_REQUEST": 16,
    "CA_KIND_TASK_BID": 17,
    "CA_KIND_TASK_AWARD": 18,
    "CA_KIND_TASK_RESULT": 19,
    "CA_KIND_TASK_RECEIPT": 20,
    "CA_KIND_TASK_CANCEL": 21,
    "CA_KIND_TASK_DISPUTE": 22,
    "CA_KIND_LIBRARY_MAX": 0xFFFF,
    "CA_KIND_APP_MIN": 0x10000,
    "CA_ENVELOPE_COMPRESS": 0x1,
    "CA_ENVELOPE_SEAL": 0x2,
    "CA_ENVELOPE_PARAMS_VERSION": 1,
    "CA_ENVELOPE_OPTIONS_VERSION": 2,
    "CA_ENVELOPE_MAX_OVERHEAD": 257,
    "CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT": 86_400_000,
    "CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT": 1048576,
    "CA_ENVELOPE_MAX_ENVELOPE_BYTES_DEFAULT": 1052672,
    "CA_ENVELOPE_MAX_SKEW_MS_DEFAULT": 30000,
    # keyhistory.h
    "CA_KEY_EVENT_INCEPTION": 1,
    "CA_KEY_EVENT_ROTATION": 2,
    "CA_KEY_EVENT_MAX_BYTES": 256,
    "CA_KEY_HISTORY_MAX_EVENTS": 1048576,
    "CA_KEY_EVENT_INFO_VERSION": 1,
    "CA_KEY_INFO_VERSION": 1,
    "CA_REPLAY_GUARD_OPTIONS_VERSION": 1,
    "CA_REPLAY_GUARD_CAPACITY_DEFAULT": 65536,
    "CA_REPLAY_GUARD_MAX_LIFETIME_MS_DEFAULT": 86400000,
    "CA_REPLAY_GUARD_MAX_SKEW_MS_DEFAULT": 30000,
    "CA_REPLAY_GUARD_MAX_CAPACITY": 268435456,
    "CA_REPLAY_GUARD_SENDER_SHARE": 16,
    "CA_REPLAY_GUARD_BYTES_PER_ID": 128,
    # ledger.h
    "CA_ERR_LEDGER_BAD_EVIDENCE": -414,
    "CA_ERR_LEDGER_BAD_NONCE": -404,
    "CA_ERR_LEDGER_CORRUPT": -415,
    "CA_ERR_LEDGER_DELIVERED": -412,
    "CA_ERR_LEDGER_DUPLICATE": -403,
    "CA_ERR_LEDGER_ESCROW_CLOSED": -409,
    "CA_ERR_LEDGER_ESCROW_EXISTS": -407,
    "CA_ERR_LEDGER_EVIDENCE_USED": -406,
    "CA_ERR_LEDGER_INSUFFICIENT_FUNDS": -400,
    "CA_ERR_LEDGER_INVARIANT": -416,
    "CA_ERR_LEDGER_JAILED": -405,
    "CA_ERR_LEDGER_OPTIONS_MISMATCH": -417,
    "CA_ERR_LEDGER_NO_STAKE": -418,
    "CA_ERR_LEDGER_EVIDENCE_EXPIRED": -419,
    "CA_ERR_LEDGER_STALE_POSITION": -420,
    "CA_ERR_LEDGER_CAP_EXCEEDED": -421,
    "CA_ERR_LEDGER_UNKNOWN_DELEGATION": -422,
    "CA_ERR_LEDGER_SELF_DEALING": -413,
    "CA_ERR_LEDGER_TOO_EARLY": -410,
    "CA_ERR_LEDGER_TOO_LATE": -411,
    "CA_ERR_LEDGER_UNAUTHORIZED": -402,
    "CA_ERR_LEDGER_UNKNOWN_ACCOUNT": -401,
    "CA_ERR_LEDGER_UNKNOWN_ESCROW": -408,
    "CA_LEDGER_ESCROW_OPEN": 1,
    "CA_LEDGER_ESCROW_REFUNDED": 3,
    "CA_LEDGER_ESCROW_RELEASED": 2,
    "CA_LEDGER_ESCROW_SPLIT": 4,
    "CA_LEDGER_EVIDENCE_DISPUTE": 3,
    "CA_LEDGER_EVIDENCE_EQUIVOCATION": 1,
    "CA_LEDGER_EVIDENCE_MISSED_DEADLINE": 2,
    "CA_LEDGER_OPTIONS_VERSION": 4,
    "CA_LEDGER_UNBONDING_DELAY_DEFAULT": 1_814_400_000,
    "CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT": 1_814_400_000,
    "CA_LEDGER_MAX_ESCROW_DURATION_DEFAULT": 2_592_000_000,
    "CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT": 65536,
    "CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT": 1_048_576,
    "CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT": 31_536_000_000,
    "CA_LEDGER_DELEGATED_OP_MAX_BYTES": 16384,
    "CA_LEDGER_DELEGATION_INFO_VERSION": 1,
    "CA_LEDGER_JAIL_EQUIVOCATION_DEFAULT": 604800000,
    "CA_LEDGER_MAX_ACCOUNTS_DEFAULT": 16777216,
    "CA_LEDGER_MAX_ESCROWS_DEFAULT": 16777216,
    "CA_LEDGER_MAX_UNBONDING_ENTRIES_DEFAULT": 16,
    "CA_LEDGER_REPORTER_SHARE_PPM_DEFAULT": 100000,
    "CA_LEDGER_SLASH_DISPUTE_PPM_DEFAULT": 100000,
    "CA_LEDGER_SLASH_EQUIVOCATION_PPM_DEFAULT": 50000,
    "CA_LEDGER_SLASH_MISSED_DEADLINE_PPM_DEFAULT": 10000,
    "CA_LEDGER_VICTIM_SHARE_PPM_DEFAULT": 400000,
    "CA_LEDGER_ESCROW_INFO_VERSION": 1,
    "CA_LEDGER_ACCOUNT_INFO_VERSION": 1,
    "CA_LEDGER_TOTALS_VERSION": 1,
    "CA_LEDGER_KEY_INFO_VERSION": 1,
    "CA_LEDGER_OP_VERSION": 2,
    "CA_LEDGER_OPEN_INFO_VERSION": 1,
    "CA_LEDGER_LOG_INFO_VERSION": 1,
    "CA_LEDGER_OP_BOND": 3,
    "CA_LEDGER_OP_ESCROW_DELIVER": 7,
    "CA_LEDGER_OP_ESCROW_OPEN": 6,
    "CA_LEDGER_OP_ESCROW_REFUND": 9,
    "CA_LEDGER_OP_ESCROW_RELEASE": 8,
    "CA_LEDGER_OP_ESCROW_SPLIT": 10,
    "CA_LEDGER_OP_MAX_BYTES": 4096,
    "CA_LEDGER_OP_MINT": 1,
    "CA_LEDGER_OP_SLASH": 11,
    "CA_LEDGER_OP_KEY_EVENT": 13,
    "CA_LEDGER_OP_TRANSFER": 2,
    "CA_LEDGER_OP_UNBOND": 4,
    "CA_LEDGER_OP_WITHDRAW": 5,
    "CA_LEDGER_OP_REVOKE": 12,
    "CA_LEDGER_PPM": 1000000,
    # card.h, reputation.h
    "CA_CAPABILITY_MAX": 64,
    "CA_CAPABILITY_SEGMENTS_MAX": 8,
    "CA_CARD_CAPABILITIES_MAX": 64,
    "CA_CARD_DESCRIPTION_MAX": 1024,
    "CA_CARD_ENDPOINT_MAX": 256,
    "CA_CARD_NAME_MAX": 128,
    "CA_CARD_PARAMS_VERSION": 1,
    "CA_A2A_JSON_DEPTH_MAX": 32,
    "CA_A2A_JSON_MAX": 65536,
    "CA_A2A_VERIFY_OPTIONS_VERSION": 1,
    "CA_ERR_BAD_CAPABILITY": -300,
    "CA_ERR_BAD_EVIDENCE": -310,
    "CA_ERR_DUPLICATE_OFFENSE": -505,
    "CA_ERR_DUPLICATE_RATING": -501,
    "CA_ERR_ESCROW_MISMATCH": -504,
    "CA_ERR_REPUTATION_CORRUPT": -503,
    "CA_ERR_SELF_RATING": -500,
    "CA_ERR_TASK_DEADLINE": -305,
    "CA_ERR_TASK_DUPLICATE": -307,
    "CA_ERR_TASK_EQUIVOCATION": -308,
    "CA_ERR_TASK_FORBIDDEN": -303,
    "CA_ERR_TASK_MISMATCH": -301,
    "CA_ERR_TASK_ORDER": -304,
    "CA_ERR_TASK_TERMS": -306,
    "CA_ERR_TASK_TIMESTAMP": -309,
    "CA_ERR_TASK_UNKNOWN_PARENT": -302,
    "CA_ERR_UNPAID_RATING": -502,
    "CA_REPUTATION_MAX_AGENTS_LIMIT": 4294967280,
    "CA_REPUTATION_MAX_RATINGS_LIMIT": 4294967280,
    "CA_REPUTATION_OFFENSE_HALVINGS": 4,
    "CA_REPUTATION_OPTIONS_VERSION": 1,
    "CA_REPUTATION_STATS_VERSION": 1,
    "CA_REPUTATION_DAMPING_PPM_DEFAULT": 150000,
    "CA_REPUTATION_HALF_LIFE_MS_DEFAULT": 2592000000,
    "CA_REPUTATION_MAX_AGENTS_DEFAULT": 16777216,
    "CA_REPUTATION_MAX_ITERATIONS_DEFAULT": 200,
    "CA_REPUTATION_MAX_RATINGS_DEFAULT": 134217728,
    "CA_REPUTATION_STAKE_SHARE_PPM_DEFAULT": 500000,
    "CA_REPUTATION_UNIT_AMOUNT_DEFAULT": 1,
    "CA_REPUTATION_WARM_START_DEFAULT": 1,
    "CA_REPUTATION_SNAPSHOT_VERSION": 3,
    "CA_REPUTATION_WEIGHT_MAX": 33554431,
    # routing.h
    "CA_ERR_ROUTING_CONFLICT": -601,
    "CA_ERR_ROUTING_STALE": -600,
    "CA_KAD_ADDED": 0,
    "CA_KAD_CACHED": 3,
    "CA_KAD_IGNORED": 4,
    "CA_KAD_OPTIONS_VERSION": 1,
    "CA_KAD_BUCKET_SIZE_DEFAULT": 20,
    "CA_KAD_CACHE_SIZE_DEFAULT": 8,
    "CA_KAD_MAX_CONTACTS_DEFAULT": 16777216,
    "CA_KAD_REFRESHED": 1,
    "CA_KAD_REPLACED": 2,
    "CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT": 86400000,
    "CA_ROUTING_DEFAULT_REPUTATION_PPM_DEFAULT": 500000,
    "CA_ROUTING_MAX_AGENTS_DEFAULT": 16777216,
    "CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT": 64,
    "CA_ROUTING_MAX_CAPABILITY_CHARS_DEFAULT": 64,
    "CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT": 1048576,
    "CA_ROUTING_MAX_ENDPOINT_BYTES_DEFAULT": 256,
    "CA_ROUTING_MAX_NAME_CHARS_DEFAULT": 128,
    "CA_ROUTING_WEIGHTS_LATENCY_DEFAULT": 1,
    "CA_ROUTING_WEIGHTS_LATENCY_REF_MS_DEFAULT": 1000,
    "CA_ROUTING_WEIGHTS_PRICE_DEFAULT": 3,
    "CA_ROUTING_WEIGHTS_PRICE_REF_DEFAULT": 1000,
    "CA_ROUTING_WEIGHTS_REPUTATION_DEFAULT": 4,
    "CA_ROUTING_WEIGHTS_STAKE_DEFAULT": 2,
    "CA_ROUTING_WEIGHTS_STAKE_REF_DEFAULT": 1000000,
    "CA_ROUTING_OPTIONS_VERSION": 3,
    "CA_ROUTING_MAX_DELEGATES_DEFAULT": 65536,
    "CA_ROUTING_MAX_REVOCATIONS_DEFAULT": 65536,
    "CA_ROUTING_QUERY_VERSION": 1,
    "CA_ROUTING_WEIGHTS_VERSION": 1,
    "CA_ROUTING_AGENT_INFO_VERSION": 2,
    "CA_ROUTING_QUERY_MAX_PRICE_DEFAULT": 0xFFFFFFFFFFFFFFFF,
    # routing.h (bids)
    "CA_ERR_ROUTING_INELIGIBLE": -602,
    "CA_ERR_JSON": -700,
    "CA_ERR_JWS": -701,
    "CA_ERR_KEY_MISMATCH": -702,
    "CA_ERR_A2A_CARD": -703,
    # task.h
    "CA_TASK_MAX_BIDS_DEFAULT": 1000,
    "CA_TASK_CANCELED": 6,
    "CA_TASK_COMPLETED": 4,
    "CA_TASK_FAILED": 5,
    "CA_TASK_INLINE_MAX": 524288,
    "CA_TASK_INPUT_REQUIRED": 3,
    "CA_TASK_MAX_MESSAGES_DEFAULT": 1024,
    "CA_TASK_MAX_BODY_BYTES_DEFAULT": 1048576,
    "CA_TASK_MAX_ENVELOPE_BYTES_DEFAULT": 1052672,
    "CA_TASK_MAX_SKEW_MS_DEFAULT": 30000,
    "CA_TASK_NONBID_MAX": 6,
    "CA_TASK_OPTIONS_VERSION": 3,
    "CA_TASK_CONTENT_VERSION": 1,
    "CA_TASK_REQUEST_VERSION": 2,
    "CA_TASK_BID_VERSION": 2,
    "CA_TASK_SIDE_INFO_VERSION": 1,
    "CA_TASK_AWARD_VERSION": 1,
    "CA_TASK_RESULT_VERSION": 1,
    "CA_TASK_RECEIPT_VERSION": 1,
    "CA_TASK_CANCEL_VERSION": 1,
    "CA_TASK_DISPUTE_VERSION": 1,
    "CA_TASK_RATING_MAX": 100,
    "CA_TASK_REFS_MAX": 16,
    "CA_TASK_REJECTED": 7,
    "CA_TASK_PARTY_REQUESTER": 0,
    "CA_TASK_PARTY_WORKER": 1,
    "CA_TASK_SUBMITTED": 1,
    "CA_TASK_TEXT_MAX": 1024,
    "CA_TASK_URI_MAX": 1024,
    "CA_TASK_WORKING": 2,
    # ledger.h (evidence)
    "CA_LEDGER_EVIDENCE_MAX_BYTES": 2097152,
    # delegation.h (and card.h's patterns, envelope.h's kinds)
    "CA_CAPABILITY_PATTERN_MAX": 66,
    "CA_DELEGATION_CAPABILITIES_MAX": 16,
    "CA_DELEGATION_CHAIN_INFO_VERSION": 1,
    "CA_DELEGATION_INFO_VERSION": 1,
    "CA_DELEGATION_MAX_DEPTH": 8,
    "CA_DELEGATION_PARAMS_VERSION": 1,
    "CA_DELEGATION_VERIFY_OPTIONS_VERSION": 1,
    "CA_ERR_DELEGATION_AUDIENCE": -801,
    "CA_ERR_DELEGATION_CAPABILITY": -802,
    "CA_ERR_DELEGATION_PARENT": -800,
    "CA_ERR_DELEGATION_REVOKED": -806,
    "CA_ERR_DELEGATION_TASK_CAP": -804,
    "CA_ERR_DELEGATION_TOTAL_CAP": -803,
    "CA_ERR_DELEGATION_WINDOW": -805,
    "CA_KIND_DELEGATION": 64,
    "CA_KIND_REVOCATION": 65,
    "CA_REVOCATION_INFO_VERSION": 1,
    "CA_REVOCATION_SET_MAX_ENTRIES": 1048576,
}

_C = CONSTANTS

# ---- fixed-size values and options structs ----


class ca_agent_id(Structure):
    _fields_ = [("bytes", c_uint8 * _C["CA_AGENT_ID_BYTES"])]


class ca_hash(Structure):
    _fields_ = [("bytes", c_uint8 * _C["CA_HASH_BYTES"])]


class ca_signature(Structure):
    _fields_ = [("bytes", c_uint8 * _C["CA_SIGNATURE_BYTES"])]


class ca_keyfile_options(Structure):
    _fields_ = [
        ("version", c_uint),
        ("opslimit", c_uint64),
        ("memlimit", c_size_t),
        ("max_opslimit", c_uint64),
        ("max_memlimit", c_size_t),
    ]


class ca_envelope_params(Structure):
    _fields_ = [
        ("version", c_uint),
        ("kind", c_uint32),
        ("recipient", POINTER(ca_agent_id)),
        ("created_at", c_uint64),
        ("expires_at", c_uint64),
        ("parent", POINTER(ca_hash)),
        ("flags", c_uint32),
    ]


class ca_envelope_options(Structure):
    _fields_ = [
        ("version", c_uint),
        ("max_envelope_bytes", c_size_t),
        ("max_body_bytes", c_size_t),
        ("max_skew_ms", c_uint64),
        ("max_lifetime_ms", c_uint64),
    ]


class ca_replay_guard_options(Structure):
    _fields_ = [
        ("version", c_uint),
        ("capacity", c_size_t),
        ("max_per_sender", c_size_t),
        ("max_skew_ms", c_uint64),
        ("max_lifetime_ms", c_uint64),
    ]


class ca_ledger_op(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("type", c_uint32),
        ("evidence", c_uint32),
        ("signer", ca_agent_id),
        ("nonce", c_uint64),
        ("counterparty", ca_agent_id),
        ("ref", ca_hash),
        ("amount", c_uint64),
        ("amount2", c_uint64),
        ("deadline", c_uint64),
        ("result", ca_hash),
        ("delegation", ca_hash),  # version 2
    ]


class ca_ledger_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("authority", ca_agent_id),
        ("arbiter", ca_agent_id),
        ("unbonding_delay", c_uint64),
        ("slash_equivocation_ppm", c_uint32),
        ("slash_missed_deadline_ppm", c_uint32),
        ("slash_dispute_ppm", c_uint32),
        ("reporter_share_ppm", c_uint32),
        ("victim_share_ppm", c_uint32),
        ("jail_equivocation", c_uint64),
        ("jail_missed_deadline", c_uint64),
        ("jail_dispute", c_uint64),
        ("max_unbonding_entries", c_uint32),
        ("max_accounts", c_uint32),
        ("max_escrows", c_uint32),
        ("initial_accounts", c_uint32),
        ("network", ca_hash),
        ("max_evidence_age", c_uint64),
        ("max_escrow_duration", c_uint64),
        ("max_escrows_per_hirer", c_uint32),
        ("max_delegation_records", c_uint32),  # version 4
        ("max_delegation_lifetime", c_uint64),
    ]


class ca_ledger_open_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("snapshot_seq", c_uint64),
        ("replayed", c_uint64),
        ("torn_bytes", c_uint64),
        ("position", c_uint64),
        ("failed", c_uint64),
    ]


class ca_ledger_log_entry(Structure):
    _fields_ = [
        ("position", c_uint64),
        ("time", c_uint64),
        ("msg", P(c_uint8)),  # binary: msg_len bytes
        ("msg_len", c_size_t),
        ("attachment", P(c_uint8)),  # binary: attachment_len bytes
        ("attachment_len", c_size_t),
        ("op", P(ca_ledger_op)),
    ]


class ca_ledger_log_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("position", c_uint64),
        ("clock", c_uint64),
        ("failed", c_uint64),
        ("durable_position", c_uint64),
    ]


class ca_ledger_account_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("balance", c_uint64),
        ("bonded", c_uint64),
        ("unbonding", c_uint64),
        ("nonce", c_uint64),
        ("jailed_until", c_uint64),
        ("unbonding_entries", c_uint32),
    ]


class ca_ledger_escrow_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("hirer", ca_agent_id),
        ("worker", ca_agent_id),
        ("payment", c_uint64),
        ("collateral", c_uint64),
        ("deadline", c_uint64),
        ("state", c_uint32),
        ("delivered", c_uint32),
        ("missed", c_uint32),
        ("paid", c_uint64),
        ("result", ca_hash),
    ]


class ca_ledger_key_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("identifier", ca_hash),
        ("key", ca_agent_id),
        ("sequence", c_uint64),
        ("digest", ca_hash),
        ("next", ca_hash),
        ("time", c_uint64),
        ("seq", c_uint64),
        ("position", c_uint64),
        ("now", c_uint64),
    ]


class ca_ledger_delegation_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("spent", c_uint64),
        ("total_cap", c_uint64),
        ("nonce", c_uint64),
        ("expires_at", c_uint64),
    ]


class ca_key_event_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("type", c_uint32),
        ("sequence", c_uint64),
        ("identifier", ca_hash),
        ("prior", ca_hash),
        ("key", ca_agent_id),
        ("next", ca_hash),
        ("time", c_uint64),
        ("digest", ca_hash),
    ]


class ca_key_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("sequence", c_uint64),
        ("valid_from", c_uint64),
        ("valid_until", c_uint64),
        ("current", c_uint32),
    ]


class ca_ledger_totals(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("minted", c_uint64),
        ("burned", c_uint64),
        ("escrowed", c_uint64),
        ("seq", c_uint64),
        ("accounts", c_uint64),
        ("escrows", c_uint64),
    ]


class ca_ledger(Structure):
    """Opaque."""


class ca_card_capability(Structure):
    _fields_ = [
        ("name", buf),
        ("price", c_uint64),
        ("latency_ms", c_uint64),
    ]


class ca_card_params(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("name", buf),
        ("description", buf),
        ("endpoint", buf),
        ("stake", c_uint64),
        ("not_before", c_uint64),
        ("not_after", c_uint64),
        ("sequence", c_uint64),
        ("capabilities", P(ca_card_capability)),
        ("capability_size", c_size_t),
        ("capability_count", c_size_t),
        ("created_at", c_uint64),
    ]


class ca_reputation_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("half_life_ms", c_uint64),
        ("damping_ppm", c_uint32),
        ("stake_share_ppm", c_uint32),
        ("tolerance", c_double),
        ("max_iterations", c_uint32),
        ("warm_start", c_int),
        ("unit_amount", c_uint64),
        ("max_agents", c_uint32),
        ("max_ratings", c_uint32),
    ]


class ca_reputation_stats(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("iterations", c_uint32),
        ("converged", c_int),
        ("l1_change", c_double),
        ("agents", c_uint64),
        ("ratings", c_uint64),
        ("edges", c_uint64),
    ]


class ca_reputation_score(Structure):
    _fields_ = [
        ("agent", ca_agent_id),
        ("global", c_double),
        ("expected", c_double),
        ("uncertainty", c_double),
        ("positive", c_double),
        ("negative", c_double),
        ("ratings_received", c_uint64),
        ("ratings_given", c_uint64),
        ("stake", c_uint64),
        ("pretrusted", c_int),
    ]


class ca_card(Structure):
    """Opaque."""


class ca_a2a_verify_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("key", P(ca_agent_id)),
    ]


class ca_a2a_card(Structure):
    """Opaque."""


class ca_reputation(Structure):
    """Opaque."""


class ca_delegation(Structure):
    """Opaque."""


class ca_revocation_set(Structure):
    """Opaque."""


class ca_routing_weights(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("price", c_uint32),
        ("reputation", c_uint32),
        ("stake", c_uint32),
        ("latency", c_uint32),
        ("price_ref", c_uint64),
        ("stake_ref", c_uint64),
        ("latency_ref_ms", c_uint32),
    ]


class ca_routing_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("max_agents", c_size_t),
        ("max_capabilities_per_agent", c_size_t),
        ("max_capability_names", c_size_t),
        ("max_capability_chars", c_size_t),
        ("max_name_chars", c_size_t),
        ("max_endpoint_bytes", c_size_t),
        ("default_reputation_ppm", c_uint32),
        ("weights", P(ca_routing_weights)),
        ("expected_agents", c_size_t),
        ("max_card_lifetime_ms", c_uint64),
        ("max_delegates", c_size_t),
        ("max_revocations", c_size_t),
    ]


class ca_routing_agent_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("sequence", c_uint64),
        ("valid_from", c_uint64),
        ("valid_until", c_uint64),
        ("stake", c_uint64),
        ("claimed_stake", c_uint64),
        ("positive_milli", c_uint64),
        ("negative_milli", c_uint64),
        ("reputation_ppm", c_uint32),
        ("capability_count", c_uint32),
        ("stake_from_ledger", c_int),
        ("delegated", c_int),
        ("principal", ca_agent_id),
        ("leaf", ca_hash),
    ]


class ca_routing_query(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("capability", buf),
        ("capability_len", c_size_t),
        ("now", c_uint64),
        ("max_price", c_uint64),
        ("min_stake", c_uint64),
        ("min_reputation_ppm", c_uint32),
        ("max_latency_ms", c_uint32),
        ("weights", P(ca_routing_weights)),
        ("thompson", c_int),
        ("seed", c_uint64),
    ]


class ca_routing_result(Structure):
    _fields_ = [
        ("agent", ca_agent_id),
        ("score", c_int64),
        ("price_term", c_int64),
        ("reputation_term", c_int64),
        ("stake_term", c_int64),
        ("latency_term", c_int64),
        ("price_ppm", c_uint32),
        ("reputation_ppm", c_uint32),
        ("stake_ppm", c_uint32),
        ("latency_ppm", c_uint32),
        ("price", c_uint64),
        ("stake", c_uint64),
        ("latency_ms", c_uint32),
        ("capability_len", c_uint32),
        ("capability", c_char * 65),
    ]


class ca_kad_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("bucket_size", c_size_t),
        ("cache_size", c_size_t),
        ("max_contacts", c_size_t),
    ]


class ca_kad(Structure):
    """Opaque."""


class ca_routing(Structure):
    """Opaque."""


class ca_routing_bid(Structure):
    _fields_ = [
        ("agent", ca_agent_id),
        ("price", c_uint64),
        ("latency_ms", c_uint32),
    ]


class ca_task_content(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("data", P(c_uint8)),  # binary: read with string_at(data, data_len)
        ("data_len", c_size_t),
        ("uri", buf),
        ("hash", ca_hash),
    ]


class ca_task_request(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("capability", buf),
        ("input", P(ca_task_content)),
        ("max_price", c_uint64),
        ("deadline", c_uint64),
        ("collateral", c_uint64),
        ("has_recipient", c_int),
        ("recipient", ca_agent_id),
        ("delegation", P(P(ca_delegation))),
        ("delegation_count", c_size_t),
    ]


class ca_task_bid(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("task", ca_hash),
        ("price", c_uint64),
        ("completion", c_uint64),
        ("collateral", c_uint64),
        ("delegation", P(P(ca_delegation))),
        ("delegation_count", c_size_t),
    ]


class ca_task_award(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("task", ca_hash),
        ("bid", ca_hash),
        ("worker", ca_agent_id),
        ("price", c_uint64),
        ("collateral", c_uint64),
        ("deadline", c_uint64),
    ]


class ca_task_result(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("task", ca_hash),
        ("award", ca_hash),
        ("failed", c_int),
        ("output", P(ca_task_content)),
        ("failure_code", c_uint64),
        ("failure_message", buf),
    ]


class ca_task_receipt(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("task", ca_hash),
        ("award", ca_hash),
        ("result", ca_hash),
        ("worker", ca_agent_id),
        ("accept", c_int),
        ("rating", c_uint32),
        ("paid", c_uint64),
    ]


class ca_task_cancel(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("task", ca_hash),
        ("reason", buf),
    ]


class ca_task_dispute(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("task", ca_hash),
        ("reason", buf),
        ("refs", P(ca_hash)),
        ("ref_count", c_size_t),
    ]


class ca_task_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("max_messages", c_size_t),
        ("max_envelope_bytes", c_size_t),
        ("max_body_bytes", c_size_t),
        ("max_skew_ms", c_uint64),
        ("max_bids", c_size_t),
        ("revocations", P(ca_revocation_set)),
    ]


class ca_task_side_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("agent", ca_agent_id),
        ("principal", ca_agent_id),
        ("delegated", c_uint32),
        ("revoked", c_uint32),
        ("depth", c_size_t),
        ("root", ca_hash),
        ("leaf", ca_hash),
        ("task_cap", c_uint64),
        ("expires_at", c_uint64),
    ]


class ca_evidence(Structure):
    """Opaque."""


class ca_task(Structure):
    """Opaque."""


class ca_task_msg(Structure):
    """Opaque."""


# typedef int (*ca_revocation_lookup)(void *ctx, const ca_hash *, const ca_agent_id *)
ca_revocation_lookup = CFUNCTYPE(c_int, c_void_p, P(ca_hash), P(ca_agent_id))


class ca_delegation_params(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("audience", P(ca_agent_id)),
        ("capabilities", P(c_char_p)),
        ("capability_count", c_size_t),
        ("total_cap", c_uint64),
        ("task_cap", c_uint64),
        ("not_before", c_uint64),
        ("expires_at", c_uint64),
        ("nonce", c_uint64),
        ("parent", P(ca_hash)),
        ("created_at", c_uint64),
    ]


class ca_delegation_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("issuer", ca_agent_id),
        ("audience", ca_agent_id),
        ("id", ca_hash),
        ("parent", ca_hash),
        ("has_parent", c_uint32),
        ("signature_checked", c_uint32),
        ("created_at", c_uint64),
        ("not_before", c_uint64),
        ("expires_at", c_uint64),
        ("total_cap", c_uint64),
        ("task_cap", c_uint64),
        ("nonce", c_uint64),
        ("capability_count", c_size_t),
    ]


class ca_delegation_verify_options(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("revocations", P(ca_revocation_set)),
        ("lookup", ca_revocation_lookup),
        ("lookup_ctx", c_void_p),
    ]


class ca_delegation_chain_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("delegator", ca_agent_id),
        ("delegate", ca_agent_id),
        ("root", ca_hash),
        ("leaf", ca_hash),
        ("depth", c_size_t),
        ("total_cap", c_uint64),
        ("task_cap", c_uint64),
        ("not_before", c_uint64),
        ("expires_at", c_uint64),
    ]


class ca_revocation_info(Structure):
    _fields_ = [
        ("version", c_uint32),
        ("revoker", ca_agent_id),
        ("delegation", ca_hash),
        ("id", ca_hash),
        ("created_at", c_uint64),
        ("expires_at", c_uint64),
    ]


STRUCTS = [
    ca_agent_id,
    ca_hash,
    ca_signature,
    ca_keyfile_options,
    ca_envelope_params,
    ca_envelope_options,
    ca_replay_guard_options,
    ca_ledger_op,
    ca_ledger_options,
    ca_ledger_open_info,
    ca_ledger_log_entry,
    ca_ledger_log_info,
    ca_ledger_account_info,
    ca_ledger_escrow_info,
    ca_ledger_delegation_info,
    ca_ledger_totals,
    ca_ledger_key_info,
    ca_key_event_info,
    ca_key_info,
    ca_card_capability,
    ca_card_params,
    ca_a2a_verify_options,
    ca_reputation_options,
    ca_reputation_stats,
    ca_reputation_score,
    ca_routing_weights,
    ca_routing_options,
    ca_routing_agent_info,
    ca_routing_query,
    ca_routing_result,
    ca_kad_options,
    ca_routing_bid,
    ca_task_content,
    ca_task_request,
    ca_task_bid,
    ca_task_award,
    ca_task_result,
    ca_task_receipt,
    ca_task_cancel,
    ca_task_dispute,
    ca_task_options,
    ca_task_side_info,
    ca_delegation_params,
    ca_delegation_info,
    ca_delegation_verify_options,
    ca_delegation_chain_info,
    ca_revocation_info,
]

# ---- opaque handles ----


class ca_identity(Structure):
    """Opaque: only ever used through a pointer."""


class ca_envelope(Structure):
    """Opaque."""


class ca_replay_guard(Structure):
    """Opaque."""


class ca_key_history(Structure):
    """Opaque."""


# ---- the table ----

SIGNATURES = [
    # common.h
    ("ca_status_str", c_char_p, [ca_status]),
    ("ca_last_error", c_char_p, []),
    ("ca_init", ca_status, []),
    ("ca_agent_id_bytes", c_size_t, []),
    ("ca_hash_bytes", c_size_t, []),
    ("ca_signature_bytes", c_size_t, []),
    ("ca_equal", c_int, [c_void_p, c_void_p, c_size_t]),
    ("ca_wipe", None, [c_void_p, c_size_t]),
    # version.h
    ("ca_version_string", c_char_p, []),
    ("ca_version_number", c_uint, []),
    # identity.h
    ("ca_seed_bytes", c_size_t, []),
    ("ca_did_max_chars", c_size_t, []),
    ("ca_x25519_public_bytes", c_size_t, []),
    ("ca_identity_generate", ca_status, [P(P(ca_identity))]),
    ("ca_identity_from_seed", ca_status, [P(P(ca_identity)), buf]),
    ("ca_identity_free", None, [P(ca_identity)]),
    ("ca_identity_id", None, [P(ca_identity), P(ca_agent_id)]),
    ("ca_identity_export_seed", ca_status, [P(ca_identity), c_void_p]),
    ("ca_sign_tag_max_bytes", c_size_t, []),
    ("ca_identity_sign_tagged", ca_status, [P(ca_identity), buf, c_size_t, buf, c_size_t, P(ca_signature)]),
    ("ca_identity_verify_tagged", ca_status, [P(ca_agent_id), buf, c_size_t, buf, c_size_t, P(ca_signature)]),
    ("ca_did_encode", ca_status, [P(ca_agent_id), buf, c_size_t, P(c_size_t)]),
    ("ca_did_parse", ca_status, [buf, c_size_t, P(ca_agent_id)]),
    ("ca_agent_x25519_public", ca_status, [P(ca_agent_id), buf]),
    ("ca_keyfile_options_init", ca_status, [P(ca_keyfile_options), c_uint]),
    ("ca_keyfile_bytes", c_size_t, []),
    (
        "ca_identity_export_encrypted",
        ca_status,
        [P(ca_identity), buf, c_size_t, P(ca_keyfile_options), buf, c_size_t, P(c_size_t)],
    ),
    (
        "ca_identity_import_encrypted",
        ca_status,
        [P(P(ca_identity)), buf, c_size_t, buf, c_size_t, P(ca_keyfile_options)],
    ),
    ("ca_identity_save", ca_status, [P(ca_identity), buf, buf, c_size_t, P(ca_keyfile_options)]),
    ("ca_identity_load", ca_status, [P(P(ca_identity)), buf, buf, c_size_t, P(ca_keyfile_options)]),
    # envelope.h
    ("ca_kind_name", c_char_p, [c_uint32]),
    ("ca_envelope_params_init", ca_status, [P(ca_envelope_params), c_uint]),
    ("ca_envelope_bound", c_size_t, [c_size_t]),
    (
        "ca_envelope_sign",
        ca_status,
        [P(ca_identity), P(ca_envelope_params), buf, c_size_t, buf, c_size_t, P(c_size_t), P(ca_hash)],
    ),
    ("ca_envelope_options_init", ca_status, [P(ca_envelope_options), c_uint]),
    ("ca_envelope_decode", ca_status, [P(P(ca_envelope)), buf, c_size_t, P(ca_envelope_options)]),
    ("ca_envelope_verify", ca_status, [P(ca_envelope), c_uint64, P(ca_envelope_options)]),
    ("ca_envelope_open", ca_status, [P(P(ca_envelope)), buf, c_size_t, c_uint64, P(ca_envelope_options)]),
    ("ca_envelope_free", None, [P(ca_envelope)]),
    ("ca_envelope_kind", c_uint32, [P(ca_envelope)]),
    ("ca_envelope_sender", None, [P(ca_envelope), P(ca_agent_id)]),
    ("ca_envelope_recipient", c_int, [P(ca_envelope), P(ca_agent_id)]),
    ("ca_envelope_created_at", c_uint64, [P(ca_envelope)]),
    ("ca_envelope_expires_at", c_uint64, [P(ca_envelope)]),
    ("ca_envelope_parent", c_int, [P(ca_envelope), P(ca_hash)]),
    ("ca_envelope_flags", c_uint32, [P(ca_envelope)]),
    ("ca_envelope_id", None, [P(ca_envelope), P(ca_hash)]),
    ("ca_envelope_signature", None, [P(ca_envelope), P(ca_signature)]),
    (
        "ca_envelope_body",
        ca_status,
        [P(ca_envelope), P(ca_identity), P(ca_envelope_options), buf, c_size_t, P(c_size_t)],
    ),
    ("ca_envelope_encoded", ca_status, [P(ca_envelope), buf, c_size_t, P(c_size_t)]),
    ("ca_replay_guard_options_init", ca_status, [P(ca_replay_guard_options), c_uint]),
    ("ca_replay_guard_new", ca_status, [P(P(ca_replay_guard)), P(ca_replay_guard_options)]),
    ("ca_replay_guard_free", None, [P(ca_replay_guard)]),
    ("ca_replay_guard_check", ca_status, [P(ca_replay_guard), P(ca_envelope), c_uint64]),
    ("ca_replay_guard_count", c_size_t, [P(ca_replay_guard)]),
    # ledger.h
    ("ca_ledger_account", ca_status, [P(ca_ledger), P(ca_agent_id), P(ca_ledger_account_info)]),
    ("ca_ledger_apply_batch", ca_status, [P(ca_ledger), P(ca_ledger_op), c_size_t, c_uint64, P(ca_status), P(c_size_t)]),
    ("ca_ledger_apply", ca_status, [P(ca_ledger), P(ca_ledger_op), c_uint64, P(c_uint64)]),
    ("ca_ledger_apply_log", ca_status, [P(ca_ledger), P(ca_ledger_log_entry), c_size_t, c_size_t, P(ca_status), P(c_size_t)]),  # entries, entry_size, n
    ("ca_ledger_check", ca_status, [P(ca_ledger)]),
    ("ca_ledger_commit", ca_status, [P(ca_ledger), P(c_uint64)]),
    ("ca_ledger_escrow", ca_status, [P(ca_ledger), P(ca_hash), P(ca_ledger_escrow_info)]),
    ("ca_ledger_free", None, [P(ca_ledger)]),
    ("ca_ledger_id", ca_status, [P(ca_ledger), P(ca_hash)]),
    ("ca_ledger_log_position", ca_status, [P(ca_ledger), P(ca_ledger_log_info)]),
    ("ca_ledger_new", ca_status, [P(P(ca_ledger)), P(ca_ledger_options)]),
    ("ca_ledger_new_from_snapshot", ca_status, [P(P(ca_ledger)), P(ca_ledger_options), buf, c_size_t]),
    ("ca_ledger_op_escrow_deliver", ca_status, [P(ca_ledger_op), P(ca_task_msg)]),
    ("ca_ledger_op_escrow_open", ca_status, [P(ca_ledger_op), P(ca_task_msg)]),
    ("ca_ledger_op_cosign", ca_status, [P(ca_hash), P(ca_ledger_op), P(ca_identity), P(ca_signature)]),
    ("ca_ledger_op_cosign_with_key", ca_status, [P(ca_hash), P(ca_ledger_op), P(ca_identity), P(ca_signature)]),
    ("ca_ledger_op_sign_with_key", ca_status, [P(ca_hash), P(ca_ledger_op), P(ca_identity), P(ca_signature), P(ca_agent_id), buf, c_size_t, P(c_size_t)]),
    ("ca_ledger_key_state", ca_status, [P(ca_ledger), P(ca_agent_id), P(ca_ledger_key_info)]),
    ("ca_ledger_account_of_key", ca_status, [P(ca_ledger), P(ca_agent_id), P(ca_agent_id)]),
    ("ca_ledger_op_decode", ca_status, [buf, c_size_t, P(ca_ledger_op)]),
    ("ca_ledger_op_max_bytes", c_size_t, []),
    ("ca_ledger_op_sign", ca_status, [P(ca_hash), P(ca_ledger_op), P(ca_identity), P(ca_identity), buf, c_size_t, P(c_size_t)]),
    ("ca_ledger_op_sign_cosigned", ca_status, [P(ca_hash), P(ca_ledger_op), P(ca_identity), P(ca_signature), buf, c_size_t, P(c_size_t)]),
    ("ca_ledger_op_verify", ca_status, [P(ca_hash), buf, c_size_t]),
    ("ca_ledger_delegated_op_max_bytes", c_size_t, []),
    ("ca_ledger_op_sign_delegated", ca_status, [P(ca_hash), P(ca_ledger_op), P(ca_identity), P(ca_signature), P(c_char_p), P(c_size_t), c_size_t, buf, c_size_t, P(c_size_t)]),  # chain, chain_lens, count
    ("ca_ledger_delegation", ca_status, [P(ca_ledger), P(ca_hash), P(ca_ledger_delegation_info)]),
    ("ca_ledger_revocation", ca_status, [P(ca_ledger), P(ca_hash), P(ca_agent_id), P(c_uint64)]),
    ("ca_ledger_open", ca_status, [P(P(ca_ledger)), buf, P(ca_ledger_options), P(ca_ledger_open_info)]),
    ("ca_ledger_open_from_snapshot", ca_status, [P(P(ca_ledger)), buf, P(ca_ledger_options), buf, c_size_t, P(ca_ledger_open_info)]),
    ("ca_ledger_options_id", ca_status, [P(ca_ledger_options), P(ca_hash)]),
    ("ca_ledger_options_init", ca_status, [P(ca_ledger_options), c_uint32]),
    ("ca_ledger_snapshot", ca_status, [P(ca_ledger)]),
    ("ca_ledger_snapshot_export", ca_status, [P(ca_ledger), buf, c_size_t, P(c_size_t)]),
    ("ca_ledger_state_hash", ca_status, [P(ca_ledger), P(ca_hash)]),
    ("ca_ledger_submit", ca_status, [P(ca_ledger), buf, c_size_t, c_uint64, P(c_uint64)]),
    ("ca_ledger_totals_get", ca_status, [P(ca_ledger), P(ca_ledger_totals)]),
    # card.h, reputation.h
    ("ca_capability_check", ca_status, [buf, c_size_t]),
    ("ca_capability_max", c_size_t, []),
    ("ca_capability_segments_max", c_size_t, []),
    ("ca_card_agent", None, [P(ca_card), P(ca_agent_id)]),
    ("ca_card_capabilities_max", c_size_t, []),
    ("ca_card_capability_at", ca_status, [P(ca_card), c_size_t, P(ca_card_capability), c_size_t]),
    ("ca_card_capability_count", c_size_t, [P(ca_card)]),
    ("ca_card_created_at", c_uint64, [P(ca_card)]),
    ("ca_card_description", buf, [P(ca_card)]),
    ("ca_card_description_max", c_size_t, []),
    ("ca_card_endpoint", buf, [P(ca_card)]),
    ("ca_card_endpoint_max", c_size_t, []),
    ("ca_card_find_capability", ca_status, [P(ca_card), buf, c_size_t, P(ca_card_capability), c_size_t]),
    ("ca_card_free", None, [P(ca_card)]),
    ("ca_card_message_id", None, [P(ca_card), P(ca_hash)]),
    ("ca_card_name", buf, [P(ca_card)]),
    ("ca_card_name_max", c_size_t, []),
    ("ca_card_not_after", c_uint64, [P(ca_card)]),
    ("ca_card_not_before", c_uint64, [P(ca_card)]),
    ("ca_card_open", ca_status, [P(P(ca_card)), buf, c_size_t, c_uint64, P(ca_envelope_options)]),
    ("ca_card_params_init", ca_status, [P(ca_card_params), c_uint32]),
    ("ca_card_parse", ca_status, [P(P(ca_card)), P(ca_envelope)]),
    ("ca_card_sequence", c_uint64, [P(ca_card)]),
    ("ca_card_sign", ca_status, [P(ca_identity), P(ca_card_params), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_card_stake", c_uint64, [P(ca_card)]),
    ("ca_card_to_a2a_json", ca_status, [P(ca_card), buf, c_size_t, P(c_size_t)]),
    ("ca_card_valid_at", c_int, [P(ca_card), c_uint64]),
    ("ca_a2a_card_description", buf, [P(ca_a2a_card)]),
    ("ca_a2a_card_free", None, [P(ca_a2a_card)]),
    ("ca_a2a_card_interface_binding", buf, [P(ca_a2a_card), c_size_t]),
    ("ca_a2a_card_interface_count", c_size_t, [P(ca_a2a_card)]),
    ("ca_a2a_card_interface_protocol_version", buf, [P(ca_a2a_card), c_size_t]),
    ("ca_a2a_card_interface_url", buf, [P(ca_a2a_card), c_size_t]),
    ("ca_a2a_card_kid", buf, [P(ca_a2a_card)]),
    ("ca_a2a_card_name", buf, [P(ca_a2a_card)]),
    ("ca_a2a_card_native", ca_status, [P(ca_a2a_card), buf, c_size_t, P(c_size_t)]),
    ("ca_a2a_card_payload", c_void_p, [P(ca_a2a_card), P(c_size_t)]),
    ("ca_a2a_card_signer", None, [P(ca_a2a_card), P(ca_agent_id)]),
    ("ca_a2a_card_skill_count", c_size_t, [P(ca_a2a_card)]),
    ("ca_a2a_card_skill_id", buf, [P(ca_a2a_card), c_size_t]),
    ("ca_a2a_card_skill_name", buf, [P(ca_a2a_card), c_size_t]),
    ("ca_a2a_card_verify", ca_status, [P(P(ca_a2a_card)), buf, c_size_t, P(ca_a2a_verify_options)]),
    ("ca_a2a_card_version", buf, [P(ca_a2a_card)]),
    ("ca_a2a_json_depth_max", c_size_t, []),
    ("ca_a2a_json_max", c_size_t, []),
    ("ca_a2a_verify_options_init", ca_status, [P(ca_a2a_verify_options), c_uint32]),
    ("ca_card_to_a2a_signed_json", ca_status, [P(ca_card), P(ca_identity), buf, c_size_t, P(c_size_t)]),
    ("ca_jcs_canonicalize", ca_status, [buf, c_size_t, buf, c_size_t, P(c_size_t)]),
    ("ca_reputation_add_offense", ca_status, [P(ca_reputation), c_uint32, P(ca_hash), P(ca_agent_id), c_uint64]),
    ("ca_reputation_add_rating", ca_status, [P(ca_reputation), P(ca_hash), P(ca_agent_id), P(ca_agent_id), c_uint32, c_uint64, c_uint64]),
    ("ca_reputation_add_receipt", ca_status, [P(ca_reputation), P(ca_task)]),
    ("ca_reputation_add_settled", ca_status, [P(ca_reputation), P(ca_task), P(ca_ledger)]),
    ("ca_reputation_agent_count", c_size_t, [P(ca_reputation)]),
    ("ca_reputation_free", None, [P(ca_reputation)]),
    ("ca_reputation_get", ca_status, [P(ca_reputation), P(ca_agent_id), P(ca_reputation_score), c_size_t]),
    ("ca_reputation_new", ca_status, [P(P(ca_reputation)), P(ca_reputation_options)]),
    ("ca_reputation_options_init", ca_status, [P(ca_reputation_options), c_uint32]),
    ("ca_reputation_prune", ca_status, [P(ca_reputation), c_uint64, P(c_size_t)]),
    ("ca_reputation_rating_count", c_size_t, [P(ca_reputation)]),
    ("ca_reputation_reserve", ca_status, [P(ca_reputation), c_size_t, c_size_t]),
    ("ca_reputation_set_pretrusted", ca_status, [P(ca_reputation), P(ca_agent_id), c_int]),
    ("ca_reputation_set_stake", ca_status, [P(ca_reputation), P(ca_agent_id), c_uint64]),
    ("ca_reputation_sync_stakes", ca_status, [P(ca_reputation), P(ca_ledger), c_uint64]),
    ("ca_reputation_snapshot_export", ca_status, [P(ca_reputation), buf, c_size_t, P(c_size_t)]),
    ("ca_reputation_snapshot_import", ca_status, [P(ca_reputation), buf, c_size_t]),
    ("ca_reputation_top", ca_status, [P(ca_reputation), c_size_t, P(ca_reputation_score), c_size_t, c_size_t, P(c_size_t)]),
    ("ca_reputation_update", ca_status, [P(ca_reputation), c_uint64, P(ca_reputation_stats)]),
    ("ca_kad_closest", ca_status, [P(ca_kad), P(ca_agent_id), P(ca_agent_id), c_size_t, P(c_size_t)]),
    ("ca_kad_count", c_size_t, [P(ca_kad)]),
    ("ca_kad_free", None, [P(ca_kad)]),
    ("ca_kad_mark_failed", ca_status, [P(ca_kad), P(ca_agent_id)]),
    ("ca_kad_new", ca_status, [P(P(ca_kad)), P(ca_agent_id), P(ca_kad_options)]),
    ("ca_kad_options_init", ca_status, [P(ca_kad_options), c_uint32]),
    ("ca_kad_remove", ca_status, [P(ca_kad), P(ca_agent_id)]),
    ("ca_kad_seen", ca_status, [P(ca_kad), P(ca_agent_id), P(c_int)]),
    ("ca_routing_add_card", ca_status, [P(ca_routing), P(ca_card), c_uint64]),
    ("ca_routing_add_delegate", ca_status, [P(ca_routing), P(ca_card), P(P(ca_delegation)), c_size_t, P(ca_delegation_verify_options), c_uint64]),
    ("ca_routing_add_revocation", ca_status, [P(ca_routing), buf, c_size_t, c_uint64, P(c_size_t)]),
    ("ca_routing_delegate_count", c_size_t, [P(ca_routing)]),
    ("ca_routing_count", c_size_t, [P(ca_routing)]),
    ("ca_routing_endpoint", ca_status, [P(ca_routing), P(ca_agent_id), buf, c_size_t, P(c_size_t)]),
    ("ca_routing_expire", ca_status, [P(ca_routing), c_uint64, P(c_size_t)]),
    ("ca_routing_free", None, [P(ca_routing)]),
    ("ca_routing_get", ca_status, [P(ca_routing), P(ca_agent_id), P(ca_routing_agent_info)]),
    ("ca_routing_name", ca_status, [P(ca_routing), P(ca_agent_id), buf, c_size_t, P(c_size_t)]),
    ("ca_routing_new", ca_status, [P(P(ca_routing)), P(ca_routing_options)]),
    ("ca_routing_options_init", ca_status, [P(ca_routing_options), c_uint32]),
    ("ca_routing_query_init", ca_status, [P(ca_routing_query), c_uint32]),
    ("ca_routing_remove", ca_status, [P(ca_routing), P(ca_agent_id)]),
    ("ca_routing_result_explain", ca_status, [P(ca_routing_result), c_size_t, buf, c_size_t, P(c_size_t)]),
    ("ca_routing_select", ca_status, [P(ca_routing), P(ca_routing_query), P(ca_routing_result), c_size_t, c_size_t, P(c_size_t)]),
    ("ca_routing_set_evidence", ca_status, [P(ca_routing), P(ca_agent_id), c_uint64, c_uint64]),
    ("ca_routing_set_reputation", ca_status, [P(ca_routing), P(ca_agent_id), c_uint32]),
    ("ca_routing_set_stake", ca_status, [P(ca_routing), P(ca_agent_id), c_uint64]),
    ("ca_routing_sync_reputation", ca_status, [P(ca_routing), P(ca_reputation)]),
    ("ca_routing_sync_stakes", ca_status, [P(ca_routing), P(ca_ledger), c_uint64]),
    ("ca_routing_weights_init", ca_status, [P(ca_routing_weights), c_uint]),
    # routing.h (bids)
    ("ca_routing_rank_bids", ca_status, [P(ca_routing), P(ca_routing_query), P(ca_routing_bid), c_size_t, c_size_t, P(ca_routing_result), c_size_t, c_size_t, P(c_size_t)]),
    ("ca_routing_score_bid", ca_status, [P(ca_routing), P(ca_routing_query), P(ca_routing_bid), c_size_t, P(ca_routing_result), c_size_t]),
    # task.h
    ("ca_evidence_deadline", c_uint64, [P(ca_evidence)]),
    (
        "ca_evidence_encode",
        ca_status,
        [P(ca_envelope), P(P(ca_envelope)), c_size_t, P(ca_envelope), P(ca_envelope), buf, c_size_t, P(c_size_t)],
    ),
    ("ca_evidence_free", None, [P(ca_evidence)]),
    ("ca_evidence_hash", None, [P(ca_evidence), P(ca_hash)]),
    ("ca_evidence_kind", c_uint32, [P(ca_evidence)]),
    ("ca_evidence_message", None, [P(ca_evidence), c_int, P(ca_hash)]),
    ("ca_evidence_offense", None, [P(ca_evidence), P(ca_hash)]),
    ("ca_evidence_offender", None, [P(ca_evidence), P(ca_agent_id)]),
    ("ca_evidence_open", ca_status, [P(P(ca_evidence)), buf, c_size_t]),
    ("ca_evidence_task", None, [P(ca_evidence), P(ca_hash)]),
    ("ca_evidence_verify", ca_status, [buf, c_size_t, P(ca_agent_id), P(ca_hash), P(c_uint32), P(ca_hash)]),
    ("ca_task_apply", ca_status, [P(ca_task), P(ca_envelope), c_uint64]),
    ("ca_task_apply_bytes", ca_status, [P(ca_task), buf, c_size_t, c_uint64]),
    ("ca_task_award_reply", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_msg), c_uint64, buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_award_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_award), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_bid_count", c_size_t, [P(ca_task)]),
    ("ca_task_bid_reply", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_msg), c_uint64, c_uint64, buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_bid_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_bid), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_cancel_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_cancel), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_deserialize", ca_status, [P(P(ca_task)), buf, c_size_t, P(ca_task_options)]),
    ("ca_task_digest", ca_status, [P(ca_task), P(ca_hash)]),
    ("ca_task_dispute_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_dispute), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_disputed", c_int, [P(ca_task), c_int]),
    ("ca_task_evidence", ca_status, [P(ca_task), P(ca_envelope), buf, c_size_t, P(c_size_t)]),
    ("ca_task_find", P(ca_task_msg), [P(ca_task), P(ca_hash)]),
    ("ca_task_free", None, [P(ca_task)]),
    ("ca_task_get_state", c_int, [P(ca_task)]),
    ("ca_task_id", None, [P(ca_task), P(ca_hash)]),
    ("ca_task_inline_max", c_size_t, []),
    ("ca_task_last", P(ca_task_msg), [P(ca_task), c_uint32]),
    ("ca_task_message", P(ca_task_msg), [P(ca_task), c_size_t]),
    ("ca_task_message_count", c_size_t, [P(ca_task)]),
    ("ca_task_msg_award", ca_status, [P(ca_task_msg), P(ca_task_award)]),
    ("ca_task_msg_bid", ca_status, [P(ca_task_msg), P(ca_task_bid)]),
    ("ca_task_msg_cancel", ca_status, [P(ca_task_msg), P(ca_task_cancel)]),
    ("ca_task_msg_created_at", c_uint64, [P(ca_task_msg)]),
    ("ca_task_msg_dispute", ca_status, [P(ca_task_msg), P(ca_task_dispute)]),
    ("ca_task_msg_encoded", ca_status, [P(ca_task_msg), buf, c_size_t, P(c_size_t)]),
    ("ca_task_msg_free", None, [P(ca_task_msg)]),
    ("ca_task_msg_id", None, [P(ca_task_msg), P(ca_hash)]),
    ("ca_task_msg_kind", c_uint32, [P(ca_task_msg)]),
    ("ca_task_msg_delegator", c_int, [P(ca_task_msg), P(ca_agent_id)]),
    ("ca_task_msg_parent", c_int, [P(ca_task_msg), P(ca_hash)]),
    ("ca_task_msg_open", ca_status, [P(P(ca_task_msg)), buf, c_size_t, c_uint64, P(ca_envelope_options)]),
    ("ca_task_msg_parse", ca_status, [P(P(ca_task_msg)), P(ca_envelope), P(ca_identity)]),
    ("ca_task_msg_receipt", ca_status, [P(ca_task_msg), P(ca_task_receipt)]),
    ("ca_task_msg_request", ca_status, [P(ca_task_msg), P(ca_task_request)]),
    ("ca_task_msg_result", ca_status, [P(ca_task_msg), P(ca_task_result)]),
    ("ca_task_msg_sender", None, [P(ca_task_msg), P(ca_agent_id)]),
    ("ca_task_msg_task_id", None, [P(ca_task_msg), P(ca_hash)]),
    ("ca_task_new", ca_status, [P(P(ca_task)), P(ca_envelope), c_uint64, P(ca_task_options)]),
    ("ca_task_new_bytes", ca_status, [P(P(ca_task)), buf, c_size_t, c_uint64, P(ca_task_options)]),
    ("ca_task_options_init", ca_status, [P(ca_task_options), c_uint32]),
    ("ca_task_receipt_reply", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_msg), c_int, c_uint32, c_uint64, buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_receipt_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_receipt), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_refs_max", c_size_t, []),
    ("ca_task_request_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_request), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_requester", None, [P(ca_task), P(ca_agent_id)]),
    ("ca_task_side", ca_status, [P(ca_task), c_int, P(ca_task_side_info)]),
    ("ca_task_result_reply", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_msg), P(ca_task_content), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_result_sign", ca_status, [P(ca_identity), P(ca_envelope_params), P(ca_task_result), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_task_serialize", ca_status, [P(ca_task), buf, c_size_t, P(c_size_t)]),
    ("ca_task_state_name", buf, [c_int]),
    ("ca_task_text_max", c_size_t, []),
    ("ca_task_uri_max", c_size_t, []),
    # ledger.h (evidence)
    ("ca_ledger_evidence_max_bytes", c_size_t, []),
    ("ca_ledger_submit_evidence", ca_status, [P(ca_ledger), buf, c_size_t, buf, c_size_t, c_uint64, P(c_uint64)]),
    # keyhistory.h
    ("ca_key_event_max_bytes", c_size_t, []),
    ("ca_key_history_max_events", c_size_t, []),
    ("ca_key_commitment", ca_status, [P(ca_agent_id), P(ca_hash)]),
    ("ca_key_event_incept", ca_status, [P(ca_identity), P(ca_hash), c_uint64, buf, c_size_t, P(c_size_t)]),
    ("ca_key_event_rotate", ca_status, [P(ca_key_history), P(ca_identity), P(ca_hash), c_uint64, buf, c_size_t, P(c_size_t)]),
    ("ca_key_event_open", ca_status, [buf, c_size_t, P(ca_key_event_info)]),
    ("ca_key_history_new", ca_status, [P(P(ca_key_history)), buf, c_size_t]),
    ("ca_key_history_free", None, [P(ca_key_history)]),
    ("ca_key_history_append", ca_status, [P(ca_key_history), buf, c_size_t]),
    ("ca_key_history_id", None, [P(ca_key_history), P(ca_hash)]),
    ("ca_key_history_sequence", c_uint64, [P(ca_key_history)]),
    ("ca_key_history_current", None, [P(ca_key_history), P(ca_agent_id)]),
    ("ca_key_history_last_digest", None, [P(ca_key_history), P(ca_hash)]),
    ("ca_key_history_key", ca_status, [P(ca_key_history), P(ca_agent_id), P(ca_key_info)]),
    ("ca_key_history_verify_envelope", ca_status, [P(ca_key_history), P(ca_envelope), c_uint64, P(ca_envelope_options)]),
    # delegation.h (and card.h's patterns)
    ("ca_capability_pattern_check", ca_status, [buf, c_size_t]),
    ("ca_capability_pattern_covers", c_int, [buf, c_size_t, buf, c_size_t]),
    ("ca_capability_pattern_max", c_size_t, []),
    ("ca_delegation_capabilities_max", c_size_t, []),
    ("ca_delegation_capability", buf, [P(ca_delegation), c_size_t]),
    ("ca_delegation_chain_verify", ca_status, [P(P(ca_delegation)), c_size_t, c_uint64, P(ca_delegation_verify_options), P(ca_delegation_chain_info)]),
    ("ca_delegation_decode", ca_status, [P(P(ca_delegation)), buf, c_size_t]),
    ("ca_delegation_encoded", ca_status, [P(ca_delegation), buf, c_size_t, P(c_size_t)]),
    ("ca_delegation_free", None, [P(ca_delegation)]),
    ("ca_delegation_get", ca_status, [P(ca_delegation), P(ca_delegation_info)]),
    ("ca_delegation_grants", ca_status, [P(ca_delegation), buf, c_size_t]),
    ("ca_delegation_max_depth", c_size_t, []),
    ("ca_delegation_open", ca_status, [P(P(ca_delegation)), buf, c_size_t]),
    ("ca_delegation_params_init", ca_status, [P(ca_delegation_params), c_uint32]),
    ("ca_delegation_sign", ca_status, [P(ca_identity), P(ca_delegation_params), buf, c_size_t, P(c_size_t), P(ca_hash)]),
    ("ca_delegation_verify_options_init", ca_status, [P(ca_delegation_verify_options), c_uint32]),
    ("ca_revocation_decode", ca_status, [buf, c_size_t, P(ca_revocation_info)]),
    ("ca_revocation_open", ca_status, [buf, c_size_t, P(ca_revocation_info)]),
    ("ca_revocation_set_add", ca_status, [P(ca_revocation_set), buf, c_size_t]),
    ("ca_revocation_set_contains", c_int, [P(ca_revocation_set), P(ca_hash), P(ca_agent_id)]),
    ("ca_revocation_set_count", c_size_t, [P(ca_revocation_set)]),
    ("ca_revocation_set_free", None, [P(ca_revocation_set)]),
    ("ca_revocation_set_new", ca_status, [P(P(ca_revocation_set)), c_size_t]),
    ("ca_revocation_sign", ca_status, [P(ca_identity), P(ca_hash), c_uint64, c_uint64, buf, c_size_t, P(c_size_t), P(ca_hash)]),
]
