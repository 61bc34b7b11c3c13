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
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_size_t,
    c_uint,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

ca_status = c_int

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
    "CA_ERR_MALFORMED": -200,
    "CA_ERR_BAD_VERSION": -201,
    "CA_ERR_EXPIRED": -202,
    "CA_ERR_NOT_YET_VALID": -203,
    "CA_ERR_REPLAY": -204,
    "CA_ERR_REPLAY_FULL": -205,
    "CA_ERR_DECOMPRESS": -206,
    "CA_ERR_SEALED": -207,
    "CA_ERR_WRONG_KIND": -208,
    "CA_STATUS_RESERVED_END_": -10000,
    # version.h
    "CA_VERSION_MAJOR": 0,
    "CA_VERSION_MINOR": 1,
    "CA_VERSION_PATCH": 0,
    "CA_VERSION_NUMBER": 100,
    # identity.h
    "CA_SEED_BYTES": 32,
    "CA_X25519_PUBLIC_BYTES": 32,
    "CA_DID_MAX_CHARS": 56,
    "CA_KEYFILE_OPTIONS_VERSION": 1,
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
    "CA_KIND_LEDGER_MIN": 32,
    "CA_KIND_LEDGER_MAX": 63,
    "CA_KIND_LIBRARY_MAX": 0xFFFF,
    "CA_KIND_APP_MIN": 0x10000,
    "CA_ENVELOPE_COMPRESS": 0x1,
    "CA_ENVELOPE_SEAL": 0x2,
    "CA_ENVELOPE_PARAMS_VERSION": 1,
    "CA_ENVELOPE_OPTIONS_VERSION": 1,
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
    ]


STRUCTS = [
    ca_agent_id,
    ca_hash,
    ca_signature,
    ca_keyfile_options,
    ca_envelope_params,
    ca_envelope_options,
]

# ---- opaque handles ----


class ca_identity(Structure):
    """Opaque: only ever used through a pointer."""


class ca_envelope(Structure):
    """Opaque."""


class ca_replay_guard(Structure):
    """Opaque."""


# ---- the table ----

P = POINTER
buf = c_char_p  # const uint8_t * / char * / uint8_t * (caller buffer)

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
    ("ca_identity_generate", ca_status, [P(P(ca_identity))]),
    ("ca_identity_from_seed", ca_status, [P(P(ca_identity)), buf]),
    ("ca_identity_free", None, [P(ca_identity)]),
    ("ca_identity_id", None, [P(ca_identity), P(ca_agent_id)]),
    ("ca_identity_export_seed", ca_status, [P(ca_identity), c_void_p]),
    ("ca_identity_sign", ca_status, [P(ca_identity), buf, c_size_t, P(ca_signature)]),
    ("ca_identity_verify", ca_status, [P(ca_agent_id), buf, c_size_t, P(ca_signature)]),
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
    ("ca_replay_guard_new", ca_status, [P(P(ca_replay_guard)), c_size_t, c_uint64]),
    ("ca_replay_guard_free", None, [P(ca_replay_guard)]),
    ("ca_replay_guard_check", ca_status, [P(ca_replay_guard), P(ca_envelope), c_uint64]),
    ("ca_replay_guard_count", c_size_t, [P(ca_replay_guard)]),
]
