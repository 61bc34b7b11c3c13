//! Raw declarations of libcyberagent's public C API (`include/cyberagent/*.h`).
//!
//! Everything here is `unsafe` to call and mirrors the headers one to one:
//! same names, same parameter order, `*const u8`/`*mut u8` for byte buffers,
//! `*const c_char` for text, `usize` for `size_t`. Opaque handles are
//! zero-sized `#[repr(C)]` structs used only behind pointers. The ownership
//! and thread-safety rules are the headers'; the safe crate `cyberagent`
//! encodes them in types. `bindings/check_drift.py` compares this file with
//! the headers on every test run.
#![allow(non_camel_case_types)]

use std::marker::{PhantomData, PhantomPinned};
pub use std::os::raw::{c_char, c_int, c_uint, c_void};

/// 0 is success, failures are negative and stable (common.h).
pub type ca_status = c_int;

// ---- common.h ----
pub const CA_AGENT_ID_BYTES: usize = 32;
pub const CA_HASH_BYTES: usize = 32;
pub const CA_SIGNATURE_BYTES: usize = 64;

pub const CA_OK: ca_status = 0;
pub const CA_ERR_INVALID_ARGUMENT: ca_status = -1;
pub const CA_ERR_NO_MEMORY: ca_status = -2;
pub const CA_ERR_BUFFER_TOO_SMALL: ca_status = -3;
pub const CA_ERR_LIMIT: ca_status = -4;
pub const CA_ERR_INIT: ca_status = -5;
pub const CA_ERR_IO: ca_status = -6;
pub const CA_ERR_OVERFLOW: ca_status = -7;
pub const CA_ERR_NOT_FOUND: ca_status = -8;
pub const CA_ERR_UNSUPPORTED: ca_status = -9;
pub const CA_ERR_STATE: ca_status = -10;
pub const CA_ERR_BAD_SIGNATURE: ca_status = -100;
pub const CA_ERR_BAD_DID: ca_status = -101;
pub const CA_ERR_BAD_KEY: ca_status = -102;
pub const CA_ERR_KEYFILE_CORRUPT: ca_status = -103;
pub const CA_ERR_WRONG_PASSPHRASE: ca_status = -104;
pub const CA_ERR_KEYFILE_TOO_COSTLY: ca_status = -105;
pub const CA_ERR_BAD_SIGN_TAG: ca_status = -106;
pub const CA_ERR_KEY_NOT_COMMITTED: ca_status = -107;
pub const CA_ERR_KEY_EVENT_ORDER: ca_status = -108;
pub const CA_ERR_KEY_UNKNOWN: ca_status = -109;
pub const CA_ERR_KEY_ROTATED: ca_status = -110;
pub const CA_ERR_MALFORMED: ca_status = -200;
pub const CA_ERR_BAD_VERSION: ca_status = -201;
pub const CA_ERR_EXPIRED: ca_status = -202;
pub const CA_ERR_NOT_YET_VALID: ca_status = -203;
pub const CA_ERR_REPLAY: ca_status = -204;
pub const CA_ERR_REPLAY_FULL: ca_status = -205;
pub const CA_ERR_DECOMPRESS: ca_status = -206;
pub const CA_ERR_SEALED: ca_status = -207;
pub const CA_ERR_WRONG_KIND: ca_status = -208;
pub const CA_ERR_LIFETIME: ca_status = -209;
pub const CA_ERR_REPLAY_QUOTA: ca_status = -210;
pub const CA_ERR_SEAL_MISMATCH: ca_status = -211;
pub const CA_STATUS_RESERVED_END_: ca_status = -10000;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ca_agent_id {
    pub bytes: [u8; CA_AGENT_ID_BYTES],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ca_hash {
    pub bytes: [u8; CA_HASH_BYTES],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ca_signature {
    pub bytes: [u8; CA_SIGNATURE_BYTES],
}

extern "C" {
    pub fn ca_status_str(status: ca_status) -> *const c_char;
    pub fn ca_last_error() -> *const c_char;
    pub fn ca_init() -> ca_status;
    pub fn ca_agent_id_bytes() -> usize;
    pub fn ca_hash_bytes() -> usize;
    pub fn ca_signature_bytes() -> usize;
    pub fn ca_equal(a: *const c_void, b: *const c_void, len: usize) -> c_int;
    pub fn ca_wipe(p: *mut c_void, len: usize);
}

// ---- version.h ----
pub const CA_VERSION_MAJOR: c_uint = 1;
pub const CA_VERSION_MINOR: c_uint = 0;
pub const CA_VERSION_PATCH: c_uint = 0;
pub const CA_VERSION_NUMBER: c_uint = 10000;

extern "C" {
    pub fn ca_version_string() -> *const c_char;
    pub fn ca_version_number() -> c_uint;
}

// ---- identity.h ----
pub const CA_SEED_BYTES: usize = 32;
pub const CA_X25519_PUBLIC_BYTES: usize = 32;
pub const CA_DID_MAX_CHARS: usize = 56;
pub const CA_SIGN_TAG_MAX_BYTES: usize = 64;
pub const CA_KEYFILE_OPTIONS_VERSION: c_uint = 1;
pub const CA_KEYFILE_OPSLIMIT_DEFAULT: u64 = 3;
pub const CA_KEYFILE_MEMLIMIT_DEFAULT: usize = 268435456;
pub const CA_KEYFILE_MAX_OPSLIMIT_DEFAULT: u64 = 3;
pub const CA_KEYFILE_MAX_MEMLIMIT_DEFAULT: usize = 268435456;
pub const CA_KEYFILE_BYTES: usize = 128;

/// Opaque identity handle (identity.h). Immutable after creation: `Send + Sync` in the safe crate.
#[repr(C)]
pub struct ca_identity {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ca_keyfile_options {
    pub version: c_uint,
    pub opslimit: u64,
    pub memlimit: usize,
    pub max_opslimit: u64,
    pub max_memlimit: usize,
}

extern "C" {
    pub fn ca_seed_bytes() -> usize;
    pub fn ca_did_max_chars() -> usize;
    pub fn ca_x25519_public_bytes() -> usize;
    pub fn ca_identity_generate(out: *mut *mut ca_identity) -> ca_status;
    pub fn ca_identity_from_seed(out: *mut *mut ca_identity, seed: *const u8) -> ca_status;
    pub fn ca_identity_free(identity: *mut ca_identity);
    pub fn ca_identity_id(identity: *const ca_identity, out: *mut ca_agent_id);
    pub fn ca_identity_export_seed(identity: *const ca_identity, seed_out: *mut u8) -> ca_status;
    pub fn ca_sign_tag_max_bytes() -> usize;
    pub fn ca_identity_sign_tagged(
        identity: *const ca_identity,
        tag: *const c_char,
        tag_len: usize,
        msg: *const u8,
        msg_len: usize,
        sig_out: *mut ca_signature,
    ) -> ca_status;
    pub fn ca_identity_verify_tagged(
        signer: *const ca_agent_id,
        tag: *const c_char,
        tag_len: usize,
        msg: *const u8,
        msg_len: usize,
        sig: *const ca_signature,
    ) -> ca_status;
    pub fn ca_did_encode(
        id: *const ca_agent_id,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_did_parse(text: *const c_char, text_len: usize, out: *mut ca_agent_id) -> ca_status;
    pub fn ca_agent_x25519_public(id: *const ca_agent_id, out: *mut u8) -> ca_status;
    pub fn ca_keyfile_options_init(opts: *mut ca_keyfile_options, version: c_uint) -> ca_status;
    pub fn ca_keyfile_bytes() -> usize;
    pub fn ca_identity_export_encrypted(
        identity: *const ca_identity,
        passphrase: *const c_char,
        passphrase_len: usize,
        opts: *const ca_keyfile_options,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_identity_import_encrypted(
        out: *mut *mut ca_identity,
        data: *const u8,
        data_len: usize,
        passphrase: *const c_char,
        passphrase_len: usize,
        opts: *const ca_keyfile_options,
    ) -> ca_status;
    pub fn ca_identity_save(
        identity: *const ca_identity,
        path: *const c_char,
        passphrase: *const c_char,
        passphrase_len: usize,
        opts: *const ca_keyfile_options,
    ) -> ca_status;
    pub fn ca_identity_load(
        out: *mut *mut ca_identity,
        path: *const c_char,
        passphrase: *const c_char,
        passphrase_len: usize,
        opts: *const ca_keyfile_options,
    ) -> ca_status;
}

// ---- envelope.h ----
pub const CA_ENVELOPE_VERSION: c_uint = 1;
pub const CA_KIND_CARD: u32 = 1;
pub const CA_KIND_TASK_REQUEST: u32 = 16;
pub const CA_KIND_TASK_BID: u32 = 17;
pub const CA_KIND_TASK_AWARD: u32 = 18;
pub const CA_KIND_TASK_RESULT: u32 = 19;
pub const CA_KIND_TASK_RECEIPT: u32 = 20;
pub const CA_KIND_TASK_CANCEL: u32 = 21;
pub const CA_KIND_TASK_DISPUTE: u32 = 22;
pub const CA_KIND_LIBRARY_MAX: u32 = 0xffff;
pub const CA_KIND_APP_MIN: u32 = 0x10000;
pub const CA_ENVELOPE_COMPRESS: u32 = 0x1;
pub const CA_ENVELOPE_SEAL: u32 = 0x2;
pub const CA_ENVELOPE_PARAMS_VERSION: c_uint = 1;
pub const CA_ENVELOPE_OPTIONS_VERSION: c_uint = 2;
pub const CA_ENVELOPE_MAX_OVERHEAD: usize = 257;
pub const CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT: u64 = 86_400_000;
pub const CA_ENVELOPE_MAX_BODY_BYTES_DEFAULT: usize = 1048576;
pub const CA_ENVELOPE_MAX_ENVELOPE_BYTES_DEFAULT: usize = 1052672;
pub const CA_ENVELOPE_MAX_SKEW_MS_DEFAULT: u64 = 30000;
pub const CA_REPLAY_GUARD_OPTIONS_VERSION: c_uint = 1;
pub const CA_REPLAY_GUARD_CAPACITY_DEFAULT: usize = 65536;
pub const CA_REPLAY_GUARD_MAX_LIFETIME_MS_DEFAULT: u64 = 86400000;
pub const CA_REPLAY_GUARD_MAX_SKEW_MS_DEFAULT: u64 = 30000;
pub const CA_REPLAY_GUARD_MAX_CAPACITY: usize = 268_435_456;
pub const CA_REPLAY_GUARD_SENDER_SHARE: usize = 16;
pub const CA_REPLAY_GUARD_BYTES_PER_ID: usize = 128;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_envelope_params {
    pub version: c_uint,
    pub kind: u32,
    pub recipient: *const ca_agent_id,
    pub created_at: u64,
    pub expires_at: u64,
    pub parent: *const ca_hash,
    pub flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ca_envelope_options {
    pub version: c_uint,
    pub max_envelope_bytes: usize,
    pub max_body_bytes: usize,
    pub max_skew_ms: u64,
    /// Version 2.
    pub max_lifetime_ms: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ca_replay_guard_options {
    pub version: c_uint,
    pub capacity: usize,
    pub max_per_sender: usize,
    pub max_skew_ms: u64,
    pub max_lifetime_ms: u64,
}

/// Opaque decoded envelope (envelope.h). Immutable: readable from many threads.
#[repr(C)]
pub struct ca_envelope {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Opaque replay guard (envelope.h). Not thread-safe: one owner or a lock.
#[repr(C)]
pub struct ca_replay_guard {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_kind_name(kind: u32) -> *const c_char;
    pub fn ca_envelope_params_init(params: *mut ca_envelope_params, version: c_uint) -> ca_status;
    pub fn ca_envelope_bound(body_len: usize) -> usize;
    pub fn ca_envelope_sign(
        signer: *const ca_identity,
        params: *const ca_envelope_params,
        body: *const u8,
        body_len: usize,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_envelope_options_init(opts: *mut ca_envelope_options, version: c_uint) -> ca_status;
    pub fn ca_envelope_decode(
        out: *mut *mut ca_envelope,
        data: *const u8,
        len: usize,
        opts: *const ca_envelope_options,
    ) -> ca_status;
    pub fn ca_envelope_verify(
        env: *const ca_envelope,
        now: u64,
        opts: *const ca_envelope_options,
    ) -> ca_status;
    pub fn ca_envelope_open(
        out: *mut *mut ca_envelope,
        data: *const u8,
        len: usize,
        now: u64,
        opts: *const ca_envelope_options,
    ) -> ca_status;
    pub fn ca_envelope_free(env: *mut ca_envelope);
    pub fn ca_envelope_kind(env: *const ca_envelope) -> u32;
    pub fn ca_envelope_sender(env: *const ca_envelope, out: *mut ca_agent_id);
    pub fn ca_envelope_recipient(env: *const ca_envelope, out: *mut ca_agent_id) -> c_int;
    pub fn ca_envelope_created_at(env: *const ca_envelope) -> u64;
    pub fn ca_envelope_expires_at(env: *const ca_envelope) -> u64;
    pub fn ca_envelope_parent(env: *const ca_envelope, out: *mut ca_hash) -> c_int;
    pub fn ca_envelope_flags(env: *const ca_envelope) -> u32;
    pub fn ca_envelope_id(env: *const ca_envelope, out: *mut ca_hash);
    pub fn ca_envelope_signature(env: *const ca_envelope, out: *mut ca_signature);
    pub fn ca_envelope_body(
        env: *const ca_envelope,
        reader: *const ca_identity,
        opts: *const ca_envelope_options,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_envelope_encoded(
        env: *const ca_envelope,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_replay_guard_options_init(opts: *mut ca_replay_guard_options, version: c_uint) -> ca_status;
    pub fn ca_replay_guard_new(
        out: *mut *mut ca_replay_guard,
        opts: *const ca_replay_guard_options,
    ) -> ca_status;
    pub fn ca_replay_guard_free(guard: *mut ca_replay_guard);
    pub fn ca_replay_guard_check(guard: *mut ca_replay_guard, env: *const ca_envelope, now: u64)
        -> ca_status;
    pub fn ca_replay_guard_count(guard: *const ca_replay_guard) -> usize;
}

// ---- keyhistory.h ----
pub const CA_KEY_EVENT_INCEPTION: u32 = 1;
pub const CA_KEY_EVENT_ROTATION: u32 = 2;
pub const CA_KEY_EVENT_MAX_BYTES: usize = 256;
pub const CA_KEY_HISTORY_MAX_EVENTS: u32 = 1048576;
pub const CA_KEY_EVENT_INFO_VERSION: c_uint = 1;
pub const CA_KEY_INFO_VERSION: c_uint = 1;

/// A key event as `ca_key_event_open` checked it; the caller sets `version`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_key_event_info {
    pub version: c_uint,
    pub r#type: u32,
    pub sequence: u64,
    pub identifier: ca_hash,
    pub prior: ca_hash,
    pub key: ca_agent_id,
    pub next: ca_hash,
    pub time: u64,
    pub digest: ca_hash,
}

/// When a key was the identity's (`ca_key_history_key`); the caller sets `version`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_key_info {
    pub version: c_uint,
    pub sequence: u64,
    pub valid_from: u64,
    pub valid_until: u64,
    pub current: u32,
}

/// Opaque key history (keyhistory.h). Many readers while no thread appends.
#[repr(C)]
pub struct ca_key_history {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_key_event_max_bytes() -> usize;
    pub fn ca_key_history_max_events() -> usize;
    pub fn ca_key_commitment(next_key: *const ca_agent_id, out: *mut ca_hash) -> ca_status;
    pub fn ca_key_event_incept(
        first: *const ca_identity,
        next: *const ca_hash,
        time: u64,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_key_event_rotate(
        history: *const ca_key_history,
        revealed: *const ca_identity,
        next: *const ca_hash,
        time: u64,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_key_event_open(data: *const u8, len: usize, out: *mut ca_key_event_info) -> ca_status;
    pub fn ca_key_history_new(out: *mut *mut ca_key_history, inception: *const u8, len: usize) -> ca_status;
    pub fn ca_key_history_free(history: *mut ca_key_history);
    pub fn ca_key_history_append(history: *mut ca_key_history, event: *const u8, len: usize) -> ca_status;
    pub fn ca_key_history_id(history: *const ca_key_history, out: *mut ca_hash);
    pub fn ca_key_history_sequence(history: *const ca_key_history) -> u64;
    pub fn ca_key_history_current(history: *const ca_key_history, out: *mut ca_agent_id);
    pub fn ca_key_history_last_digest(history: *const ca_key_history, out: *mut ca_hash);
    pub fn ca_key_history_key(
        history: *const ca_key_history,
        key: *const ca_agent_id,
        out: *mut ca_key_info,
    ) -> ca_status;
    pub fn ca_key_history_verify_envelope(
        history: *const ca_key_history,
        env: *const ca_envelope,
        now: u64,
        opts: *const ca_envelope_options,
    ) -> ca_status;
}

// ---- ledger.h ----
pub const CA_ERR_LEDGER_BAD_EVIDENCE: ca_status = -414;
pub const CA_ERR_LEDGER_BAD_NONCE: ca_status = -404;
pub const CA_ERR_LEDGER_CORRUPT: ca_status = -415;
pub const CA_ERR_LEDGER_DELIVERED: ca_status = -412;
pub const CA_ERR_LEDGER_DUPLICATE: ca_status = -403;
pub const CA_ERR_LEDGER_ESCROW_CLOSED: ca_status = -409;
pub const CA_ERR_LEDGER_ESCROW_EXISTS: ca_status = -407;
pub const CA_ERR_LEDGER_EVIDENCE_USED: ca_status = -406;
pub const CA_ERR_LEDGER_INSUFFICIENT_FUNDS: ca_status = -400;
pub const CA_ERR_LEDGER_INVARIANT: ca_status = -416;
pub const CA_ERR_LEDGER_JAILED: ca_status = -405;
pub const CA_ERR_LEDGER_OPTIONS_MISMATCH: ca_status = -417;
pub const CA_ERR_LEDGER_NO_STAKE: ca_status = -418;
pub const CA_ERR_LEDGER_EVIDENCE_EXPIRED: ca_status = -419;
pub const CA_ERR_LEDGER_STALE_POSITION: ca_status = -420;
pub const CA_ERR_LEDGER_CAP_EXCEEDED: ca_status = -421;
pub const CA_ERR_LEDGER_UNKNOWN_DELEGATION: ca_status = -422;
pub const CA_ERR_LEDGER_SELF_DEALING: ca_status = -413;
pub const CA_ERR_LEDGER_TOO_EARLY: ca_status = -410;
pub const CA_ERR_LEDGER_TOO_LATE: ca_status = -411;
pub const CA_ERR_LEDGER_UNAUTHORIZED: ca_status = -402;
pub const CA_ERR_LEDGER_UNKNOWN_ACCOUNT: ca_status = -401;
pub const CA_ERR_LEDGER_UNKNOWN_ESCROW: ca_status = -408;
pub const CA_LEDGER_ESCROW_OPEN: u32 = 1;
pub const CA_LEDGER_ESCROW_REFUNDED: u32 = 3;
pub const CA_LEDGER_ESCROW_RELEASED: u32 = 2;
pub const CA_LEDGER_ESCROW_SPLIT: u32 = 4;
pub const CA_LEDGER_EVIDENCE_DISPUTE: u32 = 3;
pub const CA_LEDGER_EVIDENCE_EQUIVOCATION: u32 = 1;
pub const CA_LEDGER_EVIDENCE_MISSED_DEADLINE: u32 = 2;
pub const CA_LEDGER_OPTIONS_VERSION: u32 = 4;
pub const CA_LEDGER_UNBONDING_DELAY_DEFAULT: u32 = 1814400000;
pub const CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT: u32 = 1814400000;
pub const CA_LEDGER_MAX_ESCROW_DURATION_DEFAULT: u32 = 2592000000;
pub const CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT: u32 = 65536;
pub const CA_LEDGER_MAX_DELEGATION_RECORDS_DEFAULT: u32 = 1048576;
pub const CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT: u64 = 31536000000;
pub const CA_LEDGER_DELEGATED_OP_MAX_BYTES: usize = 16384;
pub const CA_LEDGER_DELEGATION_INFO_VERSION: u32 = 1;
pub const CA_LEDGER_CAPABILITY_TRANSFER: &str = "ledger.transfer";
pub const CA_LEDGER_CAPABILITY_ESCROW: &str = "ledger.escrow";
pub const CA_LEDGER_JAIL_EQUIVOCATION_DEFAULT: u64 = 604800000;
pub const CA_LEDGER_MAX_ACCOUNTS_DEFAULT: u32 = 16777216;
pub const CA_LEDGER_MAX_ESCROWS_DEFAULT: u32 = 16777216;
pub const CA_LEDGER_MAX_UNBONDING_ENTRIES_DEFAULT: u32 = 16;
pub const CA_LEDGER_REPORTER_SHARE_PPM_DEFAULT: u32 = 100000;
pub const CA_LEDGER_SLASH_DISPUTE_PPM_DEFAULT: u32 = 100000;
pub const CA_LEDGER_SLASH_EQUIVOCATION_PPM_DEFAULT: u32 = 50000;
pub const CA_LEDGER_SLASH_MISSED_DEADLINE_PPM_DEFAULT: u32 = 10000;
pub const CA_LEDGER_VICTIM_SHARE_PPM_DEFAULT: u32 = 400000;
pub const CA_LEDGER_ESCROW_INFO_VERSION: u32 = 1;
pub const CA_LEDGER_ACCOUNT_INFO_VERSION: u32 = 1;
pub const CA_LEDGER_TOTALS_VERSION: u32 = 1;
pub const CA_LEDGER_OP_VERSION: u32 = 2;
pub const CA_LEDGER_OPEN_INFO_VERSION: u32 = 1;
pub const CA_LEDGER_LOG_INFO_VERSION: u32 = 1;
pub const CA_LEDGER_OP_BOND: u32 = 3;
pub const CA_LEDGER_OP_ESCROW_DELIVER: u32 = 7;
pub const CA_LEDGER_OP_ESCROW_OPEN: u32 = 6;
pub const CA_LEDGER_OP_ESCROW_REFUND: u32 = 9;
pub const CA_LEDGER_OP_ESCROW_RELEASE: u32 = 8;
pub const CA_LEDGER_OP_ESCROW_SPLIT: u32 = 10;
pub const CA_LEDGER_OP_MAX_BYTES: usize = 4096;
pub const CA_LEDGER_OP_MINT: u32 = 1;
pub const CA_LEDGER_OP_SLASH: u32 = 11;
pub const CA_LEDGER_OP_KEY_EVENT: u32 = 13;
pub const CA_LEDGER_KEY_INFO_VERSION: u32 = 1;
pub const CA_LEDGER_OP_TRANSFER: u32 = 2;
pub const CA_LEDGER_OP_UNBOND: u32 = 4;
pub const CA_LEDGER_OP_WITHDRAW: u32 = 5;
pub const CA_LEDGER_OP_REVOKE: u32 = 12;
pub const CA_LEDGER_PPM: u32 = 1000000;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_op {
    pub version: c_uint,
    pub r#type: u32,
    pub evidence: u32,
    pub signer: ca_agent_id,
    pub nonce: u64,
    pub counterparty: ca_agent_id,
    pub r#ref: ca_hash,
    pub amount: u64,
    pub amount2: u64,
    pub deadline: u64,
    pub result: ca_hash,
    /// Version 2: the leaf id of a delegated op's chain (zero for a direct op).
    pub delegation: ca_hash,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_options {
    pub version: c_uint,
    pub authority: ca_agent_id,
    pub arbiter: ca_agent_id,
    pub unbonding_delay: u64,
    pub slash_equivocation_ppm: u32,
    pub slash_missed_deadline_ppm: u32,
    pub slash_dispute_ppm: u32,
    pub reporter_share_ppm: u32,
    pub victim_share_ppm: u32,
    pub jail_equivocation: u64,
    pub jail_missed_deadline: u64,
    pub jail_dispute: u64,
    pub max_unbonding_entries: u32,
    pub max_accounts: u32,
    pub max_escrows: u32,
    pub initial_accounts: u32,
    pub network: ca_hash,
    pub max_evidence_age: u64,
    pub max_escrow_duration: u64,
    pub max_escrows_per_hirer: u32,
    /// Version 4.
    pub max_delegation_records: u32,
    pub max_delegation_lifetime: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_open_info {
    pub version: c_uint,
    pub snapshot_seq: u64,
    pub replayed: u64,
    pub torn_bytes: u64,
    pub position: u64,
    pub failed: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_log_entry {
    pub position: u64,
    pub time: u64,
    pub msg: *const u8,
    pub msg_len: usize,
    pub attachment: *const u8,
    pub attachment_len: usize,
    pub op: *const ca_ledger_op,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_log_info {
    pub version: c_uint,
    pub position: u64,
    pub clock: u64,
    pub failed: u64,
    pub durable_position: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_account_info {
    pub version: c_uint,
    pub balance: u64,
    pub bonded: u64,
    pub unbonding: u64,
    pub nonce: u64,
    pub jailed_until: u64,
    pub unbonding_entries: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_escrow_info {
    pub version: c_uint,
    pub hirer: ca_agent_id,
    pub worker: ca_agent_id,
    pub payment: u64,
    pub collateral: u64,
    pub deadline: u64,
    pub state: u32,
    pub delivered: u32,
    pub missed: u32,
    pub paid: u64,
    pub result: ca_hash,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_key_info {
    pub version: c_uint,
    pub identifier: ca_hash,
    pub key: ca_agent_id,
    pub sequence: u64,
    pub digest: ca_hash,
    pub next: ca_hash,
    pub time: u64,
    pub seq: u64,
    pub position: u64,
    pub now: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_delegation_info {
    pub version: c_uint,
    pub spent: u64,
    pub total_cap: u64,
    pub nonce: u64,
    pub expires_at: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_ledger_totals {
    pub version: c_uint,
    pub minted: u64,
    pub burned: u64,
    pub escrowed: u64,
    pub seq: u64,
    pub accounts: u64,
    pub escrows: u64,
}

#[repr(C)]
pub struct ca_ledger {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_ledger_account(
        ledger: *const ca_ledger,
        id: *const ca_agent_id,
        out: *mut ca_ledger_account_info,
    ) -> ca_status;
    pub fn ca_ledger_apply_batch(
        ledger: *mut ca_ledger,
        ops: *const ca_ledger_op,
        n: usize,
        now: u64,
        results: *mut ca_status,
        applied: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_apply(
        ledger: *mut ca_ledger,
        op: *const ca_ledger_op,
        now: u64,
        seq_out: *mut u64,
    ) -> ca_status;
    pub fn ca_ledger_apply_log(
        ledger: *mut ca_ledger,
        entries: *const ca_ledger_log_entry,
        entry_size: usize,
        n: usize,
        results: *mut ca_status,
        done: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_check(ledger: *mut ca_ledger) -> ca_status;
    pub fn ca_ledger_commit(ledger: *mut ca_ledger, durable_seq: *mut u64) -> ca_status;
    pub fn ca_ledger_escrow(
        ledger: *const ca_ledger,
        award_id: *const ca_hash,
        out: *mut ca_ledger_escrow_info,
    ) -> ca_status;
    pub fn ca_ledger_free(ledger: *mut ca_ledger);
    pub fn ca_ledger_id(ledger: *const ca_ledger, id_out: *mut ca_hash) -> ca_status;
    pub fn ca_ledger_log_position(ledger: *const ca_ledger, out: *mut ca_ledger_log_info) -> ca_status;
    pub fn ca_ledger_new(out: *mut *mut ca_ledger, opts: *const ca_ledger_options) -> ca_status;
    pub fn ca_ledger_new_from_snapshot(
        out: *mut *mut ca_ledger,
        opts: *const ca_ledger_options,
        snapshot: *const u8,
        snapshot_len: usize,
    ) -> ca_status;
    pub fn ca_ledger_op_decode(msg: *const u8, msg_len: usize, op_out: *mut ca_ledger_op) -> ca_status;
    pub fn ca_ledger_op_max_bytes() -> usize;
    pub fn ca_ledger_op_sign(
        ledger_id: *const ca_hash,
        op: *const ca_ledger_op,
        signer: *const ca_identity,
        cosigner: *const ca_identity,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_op_escrow_open(op_out: *mut ca_ledger_op, award: *const ca_task_msg) -> ca_status;
    pub fn ca_ledger_op_escrow_deliver(op_out: *mut ca_ledger_op, result: *const ca_task_msg) -> ca_status;
    pub fn ca_ledger_op_cosign(
        ledger_id: *const ca_hash,
        op: *const ca_ledger_op,
        worker: *const ca_identity,
        cosig_out: *mut ca_signature,
    ) -> ca_status;
    pub fn ca_ledger_op_sign_cosigned(
        ledger_id: *const ca_hash,
        op: *const ca_ledger_op,
        signer: *const ca_identity,
        cosig: *const ca_signature,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_op_verify(ledger_id: *const ca_hash, msg: *const u8, msg_len: usize) -> ca_status;
    pub fn ca_ledger_op_sign_with_key(
        ledger_id: *const ca_hash,
        op: *const ca_ledger_op,
        key: *const ca_identity,
        cosig: *const ca_signature,
        worker_key: *const ca_agent_id,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_delegated_op_max_bytes() -> usize;
    pub fn ca_ledger_op_sign_delegated(
        ledger_id: *const ca_hash,
        op: *const ca_ledger_op,
        delegate: *const ca_identity,
        cosig: *const ca_signature,
        chain: *const *const u8,
        chain_lens: *const usize,
        count: usize,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_op_cosign_with_key(
        ledger_id: *const ca_hash,
        op: *const ca_ledger_op,
        key: *const ca_identity,
        cosig_out: *mut ca_signature,
    ) -> ca_status;
    pub fn ca_ledger_key_state(
        ledger: *const ca_ledger,
        account: *const ca_agent_id,
        out: *mut ca_ledger_key_info,
    ) -> ca_status;
    pub fn ca_ledger_account_of_key(
        ledger: *const ca_ledger,
        key: *const ca_agent_id,
        account_out: *mut ca_agent_id,
    ) -> ca_status;
    pub fn ca_ledger_delegation(
        ledger: *const ca_ledger,
        id: *const ca_hash,
        out: *mut ca_ledger_delegation_info,
    ) -> ca_status;
    pub fn ca_ledger_revocation(
        ledger: *const ca_ledger,
        delegation: *const ca_hash,
        revoker: *const ca_agent_id,
        kept_until: *mut u64,
    ) -> ca_status;
    pub fn ca_ledger_open(
        out: *mut *mut ca_ledger,
        dir: *const c_char,
        opts: *const ca_ledger_options,
        info: *mut ca_ledger_open_info,
    ) -> ca_status;
    pub fn ca_ledger_options_init(opts: *mut ca_ledger_options, version: c_uint) -> ca_status;
    pub fn ca_ledger_options_id(opts: *const ca_ledger_options, id_out: *mut ca_hash) -> ca_status;
    pub fn ca_ledger_open_from_snapshot(
        out: *mut *mut ca_ledger,
        dir: *const c_char,
        opts: *const ca_ledger_options,
        snapshot: *const u8,
        snapshot_len: usize,
        info: *mut ca_ledger_open_info,
    ) -> ca_status;
    pub fn ca_ledger_snapshot(ledger: *mut ca_ledger) -> ca_status;
    pub fn ca_ledger_snapshot_export(
        ledger: *mut ca_ledger,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_ledger_state_hash(ledger: *mut ca_ledger, out: *mut ca_hash) -> ca_status;
    pub fn ca_ledger_submit(
        ledger: *mut ca_ledger,
        msg: *const u8,
        msg_len: usize,
        now: u64,
        seq_out: *mut u64,
    ) -> ca_status;
    pub fn ca_ledger_totals_get(ledger: *const ca_ledger, out: *mut ca_ledger_totals) -> ca_status;
}

// ---- card.h, reputation.h ----
pub const CA_CAPABILITY_MAX: u32 = 64;
pub const CA_CAPABILITY_SEGMENTS_MAX: u32 = 8;
pub const CA_CARD_CAPABILITIES_MAX: u32 = 64;
pub const CA_CARD_DESCRIPTION_MAX: u32 = 1024;
pub const CA_CARD_ENDPOINT_MAX: u32 = 256;
pub const CA_CARD_NAME_MAX: u32 = 128;
pub const CA_CARD_PARAMS_VERSION: u32 = 1;
pub const CA_A2A_JSON_DEPTH_MAX: u32 = 32;
pub const CA_A2A_JSON_MAX: u32 = 65536;
pub const CA_A2A_VERIFY_OPTIONS_VERSION: u32 = 1;
pub const CA_ERR_BAD_CAPABILITY: ca_status = -300;
pub const CA_ERR_BAD_EVIDENCE: ca_status = -310;
pub const CA_ERR_DUPLICATE_OFFENSE: ca_status = -505;
pub const CA_ERR_DUPLICATE_RATING: ca_status = -501;
pub const CA_ERR_ESCROW_MISMATCH: ca_status = -504;
pub const CA_ERR_REPUTATION_CORRUPT: ca_status = -503;
pub const CA_ERR_SELF_RATING: ca_status = -500;
pub const CA_ERR_TASK_DEADLINE: ca_status = -305;
pub const CA_ERR_TASK_DUPLICATE: ca_status = -307;
pub const CA_ERR_TASK_EQUIVOCATION: ca_status = -308;
pub const CA_ERR_TASK_FORBIDDEN: ca_status = -303;
pub const CA_ERR_TASK_MISMATCH: ca_status = -301;
pub const CA_ERR_TASK_ORDER: ca_status = -304;
pub const CA_ERR_TASK_TERMS: ca_status = -306;
pub const CA_ERR_TASK_TIMESTAMP: ca_status = -309;
pub const CA_ERR_TASK_UNKNOWN_PARENT: ca_status = -302;
pub const CA_ERR_UNPAID_RATING: ca_status = -502;
pub const CA_REPUTATION_MAX_AGENTS_LIMIT: u32 = 4294967280;
pub const CA_REPUTATION_MAX_RATINGS_LIMIT: u32 = 4294967280;
pub const CA_REPUTATION_OFFENSE_HALVINGS: u32 = 4;
pub const CA_REPUTATION_OPTIONS_VERSION: u32 = 1;
pub const CA_REPUTATION_STATS_VERSION: u32 = 1;
pub const CA_REPUTATION_DAMPING_PPM_DEFAULT: u32 = 150000;
pub const CA_REPUTATION_HALF_LIFE_MS_DEFAULT: u64 = 2592000000;
pub const CA_REPUTATION_MAX_AGENTS_DEFAULT: u32 = 16777216;
pub const CA_REPUTATION_MAX_ITERATIONS_DEFAULT: u32 = 200;
pub const CA_REPUTATION_MAX_RATINGS_DEFAULT: u32 = 134217728;
pub const CA_REPUTATION_STAKE_SHARE_PPM_DEFAULT: u32 = 500000;
pub const CA_REPUTATION_UNIT_AMOUNT_DEFAULT: u64 = 1;
pub const CA_REPUTATION_WARM_START_DEFAULT: i32 = 1;
pub const CA_REPUTATION_SNAPSHOT_VERSION: u32 = 3;
pub const CA_REPUTATION_WEIGHT_MAX: u32 = 33554431;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_card_capability {
    pub name: *const c_char,
    pub price: u64,
    pub latency_ms: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_card_params {
    pub version: c_uint,
    pub name: *const c_char,
    pub description: *const c_char,
    pub endpoint: *const c_char,
    pub stake: u64,
    pub not_before: u64,
    pub not_after: u64,
    pub sequence: u64,
    pub capabilities: *const ca_card_capability,
    /// `size_of::<ca_card_capability>()`: the element size (STRUCT RULE, common.h).
    pub capability_size: usize,
    pub capability_count: usize,
    pub created_at: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_reputation_options {
    pub version: c_uint,
    pub half_life_ms: u64,
    pub damping_ppm: u32,
    pub stake_share_ppm: u32,
    pub tolerance: f64,
    pub max_iterations: u32,
    pub warm_start: c_int,
    pub unit_amount: u64,
    pub max_agents: u32,
    pub max_ratings: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_reputation_stats {
    pub version: c_uint,
    pub iterations: u32,
    pub converged: c_int,
    pub l1_change: f64,
    pub agents: u64,
    pub ratings: u64,
    pub edges: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_reputation_score {
    pub agent: ca_agent_id,
    pub global: f64,
    pub expected: f64,
    pub uncertainty: f64,
    pub positive: f64,
    pub negative: f64,
    pub ratings_received: u64,
    pub ratings_given: u64,
    pub stake: u64,
    pub pretrusted: c_int,
}

#[repr(C)]
pub struct ca_card {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_a2a_verify_options {
    pub version: c_uint,
    pub key: *const ca_agent_id,
}

#[repr(C)]
pub struct ca_a2a_card {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
pub struct ca_reputation {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_capability_check(name: *const c_char, name_len: usize) -> ca_status;
    pub fn ca_capability_max() -> usize;
    pub fn ca_capability_segments_max() -> usize;
    pub fn ca_card_agent(card: *const ca_card, out: *mut ca_agent_id);
    pub fn ca_card_capabilities_max() -> usize;
    pub fn ca_card_capability_at(
        card: *const ca_card,
        index: usize,
        out: *mut ca_card_capability,
        capability_size: usize,
    ) -> ca_status;
    pub fn ca_card_capability_count(card: *const ca_card) -> usize;
    pub fn ca_card_created_at(card: *const ca_card) -> u64;
    pub fn ca_card_description(card: *const ca_card) -> *const c_char;
    pub fn ca_card_description_max() -> usize;
    pub fn ca_card_endpoint(card: *const ca_card) -> *const c_char;
    pub fn ca_card_endpoint_max() -> usize;
    pub fn ca_card_find_capability(
        card: *const ca_card,
        name: *const c_char,
        name_len: usize,
        out: *mut ca_card_capability,
        capability_size: usize,
    ) -> ca_status;
    pub fn ca_card_free(card: *mut ca_card);
    pub fn ca_card_message_id(card: *const ca_card, out: *mut ca_hash);
    pub fn ca_card_name(card: *const ca_card) -> *const c_char;
    pub fn ca_card_name_max() -> usize;
    pub fn ca_card_not_after(card: *const ca_card) -> u64;
    pub fn ca_card_not_before(card: *const ca_card) -> u64;
    pub fn ca_card_open(
        out: *mut *mut ca_card,
        data: *const u8,
        len: usize,
        now: u64,
        opts: *const ca_envelope_options,
    ) -> ca_status;
    pub fn ca_card_params_init(params: *mut ca_card_params, version: c_uint) -> ca_status;
    pub fn ca_card_parse(out: *mut *mut ca_card, env: *const ca_envelope) -> ca_status;
    pub fn ca_card_sequence(card: *const ca_card) -> u64;
    pub fn ca_card_sign(
        signer: *const ca_identity,
        params: *const ca_card_params,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_card_stake(card: *const ca_card) -> u64;
    pub fn ca_card_to_a2a_json(
        card: *const ca_card,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_card_valid_at(card: *const ca_card, now: u64) -> c_int;
    pub fn ca_card_to_a2a_signed_json(
        card: *const ca_card,
        signer: *const ca_identity,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_jcs_canonicalize(
        json: *const c_char,
        len: usize,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_a2a_json_max() -> usize;
    pub fn ca_a2a_json_depth_max() -> usize;
    pub fn ca_a2a_verify_options_init(opts: *mut ca_a2a_verify_options, version: c_uint) -> ca_status;
    pub fn ca_a2a_card_verify(
        out: *mut *mut ca_a2a_card,
        json: *const c_char,
        len: usize,
        opts: *const ca_a2a_verify_options,
    ) -> ca_status;
    pub fn ca_a2a_card_free(card: *mut ca_a2a_card);
    pub fn ca_a2a_card_signer(card: *const ca_a2a_card, out: *mut ca_agent_id);
    pub fn ca_a2a_card_kid(card: *const ca_a2a_card) -> *const c_char;
    pub fn ca_a2a_card_payload(card: *const ca_a2a_card, len: *mut usize) -> *const c_char;
    pub fn ca_a2a_card_name(card: *const ca_a2a_card) -> *const c_char;
    pub fn ca_a2a_card_description(card: *const ca_a2a_card) -> *const c_char;
    pub fn ca_a2a_card_version(card: *const ca_a2a_card) -> *const c_char;
    pub fn ca_a2a_card_interface_count(card: *const ca_a2a_card) -> usize;
    pub fn ca_a2a_card_interface_url(card: *const ca_a2a_card, index: usize) -> *const c_char;
    pub fn ca_a2a_card_interface_binding(card: *const ca_a2a_card, index: usize) -> *const c_char;
    pub fn ca_a2a_card_interface_protocol_version(card: *const ca_a2a_card, index: usize) -> *const c_char;
    pub fn ca_a2a_card_skill_count(card: *const ca_a2a_card) -> usize;
    pub fn ca_a2a_card_skill_id(card: *const ca_a2a_card, index: usize) -> *const c_char;
    pub fn ca_a2a_card_skill_name(card: *const ca_a2a_card, index: usize) -> *const c_char;
    pub fn ca_a2a_card_native(
        card: *const ca_a2a_card,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_reputation_add_offense(
        rep: *mut ca_reputation,
        kind: u32,
        reference: *const ca_hash,
        offender: *const ca_agent_id,
        time_ms: u64,
    ) -> ca_status;
    pub fn ca_reputation_add_rating(
        rep: *mut ca_reputation,
        task: *const ca_hash,
        rater: *const ca_agent_id,
        ratee: *const ca_agent_id,
        rating: u32,
        amount: u64,
        time_ms: u64,
    ) -> ca_status;
    pub fn ca_reputation_add_receipt(rep: *mut ca_reputation, task: *const ca_task) -> ca_status;
    pub fn ca_reputation_add_settled(
        rep: *mut ca_reputation,
        task: *const ca_task,
        ledger: *const ca_ledger,
    ) -> ca_status;
    pub fn ca_reputation_agent_count(rep: *const ca_reputation) -> usize;
    pub fn ca_reputation_free(rep: *mut ca_reputation);
    pub fn ca_reputation_get(
        rep: *const ca_reputation,
        agent: *const ca_agent_id,
        out: *mut ca_reputation_score,
        score_size: usize,
    ) -> ca_status;
    pub fn ca_reputation_new(out: *mut *mut ca_reputation, opts: *const ca_reputation_options) -> ca_status;
    pub fn ca_reputation_options_init(opts: *mut ca_reputation_options, version: c_uint) -> ca_status;
    pub fn ca_reputation_prune(rep: *mut ca_reputation, now_ms: u64, pruned_out: *mut usize) -> ca_status;
    pub fn ca_reputation_rating_count(rep: *const ca_reputation) -> usize;
    pub fn ca_reputation_reserve(rep: *mut ca_reputation, agents: usize, ratings: usize) -> ca_status;
    pub fn ca_reputation_set_pretrusted(
        rep: *mut ca_reputation,
        agent: *const ca_agent_id,
        pretrusted: c_int,
    ) -> ca_status;
    pub fn ca_reputation_set_stake(
        rep: *mut ca_reputation,
        agent: *const ca_agent_id,
        amount: u64,
    ) -> ca_status;
    pub fn ca_reputation_sync_stakes(
        rep: *mut ca_reputation,
        ledger: *const ca_ledger,
        now_ms: u64,
    ) -> ca_status;
    pub fn ca_reputation_snapshot_export(
        rep: *const ca_reputation,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_reputation_snapshot_import(rep: *mut ca_reputation, in_: *const u8, in_len: usize)
        -> ca_status;
    pub fn ca_reputation_top(
        rep: *const ca_reputation,
        n: usize,
        out: *mut ca_reputation_score,
        score_size: usize,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_reputation_update(
        rep: *mut ca_reputation,
        now_ms: u64,
        stats: *mut ca_reputation_stats,
    ) -> ca_status;
}

// ---- routing.h ----
pub const CA_ERR_ROUTING_CONFLICT: ca_status = -601;
pub const CA_ERR_ROUTING_STALE: ca_status = -600;
pub const CA_KAD_ADDED: u32 = 0;
pub const CA_KAD_CACHED: u32 = 3;
pub const CA_KAD_IGNORED: u32 = 4;
pub const CA_KAD_OPTIONS_VERSION: u32 = 1;
pub const CA_KAD_BUCKET_SIZE_DEFAULT: usize = 20;
pub const CA_KAD_CACHE_SIZE_DEFAULT: usize = 8;
pub const CA_KAD_MAX_CONTACTS_DEFAULT: usize = 16777216;
pub const CA_KAD_REFRESHED: u32 = 1;
pub const CA_KAD_REPLACED: u32 = 2;
pub const CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT: u64 = 86400000;
pub const CA_ROUTING_DEFAULT_REPUTATION_PPM_DEFAULT: u32 = 500000;
pub const CA_ROUTING_MAX_AGENTS_DEFAULT: usize = 16777216;
pub const CA_ROUTING_MAX_CAPABILITIES_PER_AGENT_DEFAULT: usize = 64;
pub const CA_ROUTING_MAX_CAPABILITY_CHARS_DEFAULT: usize = 64;
pub const CA_ROUTING_MAX_CAPABILITY_NAMES_DEFAULT: usize = 1048576;
pub const CA_ROUTING_MAX_ENDPOINT_BYTES_DEFAULT: usize = 256;
pub const CA_ROUTING_MAX_NAME_CHARS_DEFAULT: usize = 128;
pub const CA_ROUTING_WEIGHTS_LATENCY_DEFAULT: u32 = 1;
pub const CA_ROUTING_WEIGHTS_LATENCY_REF_MS_DEFAULT: u32 = 1000;
pub const CA_ROUTING_WEIGHTS_PRICE_DEFAULT: u32 = 3;
pub const CA_ROUTING_WEIGHTS_PRICE_REF_DEFAULT: u64 = 1000;
pub const CA_ROUTING_WEIGHTS_REPUTATION_DEFAULT: u32 = 4;
pub const CA_ROUTING_WEIGHTS_STAKE_DEFAULT: u32 = 2;
pub const CA_ROUTING_WEIGHTS_STAKE_REF_DEFAULT: u64 = 1000000;
pub const CA_ROUTING_OPTIONS_VERSION: u32 = 3;
pub const CA_ROUTING_MAX_DELEGATES_DEFAULT: usize = 65536;
pub const CA_ROUTING_MAX_REVOCATIONS_DEFAULT: usize = 65536;
pub const CA_ROUTING_QUERY_VERSION: u32 = 1;
pub const CA_ROUTING_WEIGHTS_VERSION: u32 = 1;
pub const CA_ROUTING_AGENT_INFO_VERSION: u32 = 2;
pub const CA_ROUTING_QUERY_MAX_PRICE_DEFAULT: u64 = 0xFFFFFFFFFFFFFFFF;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_routing_weights {
    pub version: c_uint,
    pub price: u32,
    pub reputation: u32,
    pub stake: u32,
    pub latency: u32,
    pub price_ref: u64,
    pub stake_ref: u64,
    pub latency_ref_ms: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_routing_options {
    pub version: c_uint,
    pub max_agents: usize,
    pub max_capabilities_per_agent: usize,
    pub max_capability_names: usize,
    pub max_capability_chars: usize,
    pub max_name_chars: usize,
    pub max_endpoint_bytes: usize,
    pub default_reputation_ppm: u32,
    /// NULL: the defaults of `ca_routing_weights_init`; copied by `ca_routing_new`.
    pub weights: *const ca_routing_weights,
    pub expected_agents: usize,
    /// Since version 2: how long after an add a card is kept at most (ms).
    pub max_card_lifetime_ms: u64,
    /// Since version 3: delegates registered at most (`ca_routing_add_delegate`).
    pub max_delegates: usize,
    /// Since version 3: revoked delegations remembered at most (`ca_routing_add_revocation`).
    pub max_revocations: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_routing_agent_info {
    pub version: c_uint,
    pub sequence: u64,
    pub valid_from: u64,
    pub valid_until: u64,
    pub stake: u64,
    pub claimed_stake: u64,
    pub positive_milli: u64,
    pub negative_milli: u64,
    pub reputation_ppm: u32,
    pub capability_count: u32,
    pub stake_from_ledger: c_int,
    /// Version 2: 1 for a delegate.
    pub delegated: c_int,
    /// Version 2: whom it acts for (its chain's delegator, else itself).
    pub principal: ca_agent_id,
    /// Version 2: its chain's leaf id (zero when not delegated).
    pub leaf: ca_hash,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_routing_query {
    pub version: c_uint,
    pub capability: *const c_char,
    pub capability_len: usize,
    pub now: u64,
    pub max_price: u64,
    pub min_stake: u64,
    pub min_reputation_ppm: u32,
    pub max_latency_ms: u32,
    pub weights: *const ca_routing_weights,
    pub thompson: c_int,
    pub seed: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_routing_result {
    pub agent: ca_agent_id,
    pub score: i64,
    pub price_term: i64,
    pub reputation_term: i64,
    pub stake_term: i64,
    pub latency_term: i64,
    pub price_ppm: u32,
    pub reputation_ppm: u32,
    pub stake_ppm: u32,
    pub latency_ppm: u32,
    pub price: u64,
    pub stake: u64,
    pub latency_ms: u32,
    pub capability_len: u32,
    pub capability: [c_char; CA_CAPABILITY_MAX as usize + 1],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_kad_options {
    pub version: c_uint,
    pub bucket_size: usize,
    pub cache_size: usize,
    pub max_contacts: usize,
}

#[repr(C)]
pub struct ca_kad {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
pub struct ca_routing {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_kad_closest(
        kad: *const ca_kad,
        target: *const ca_agent_id,
        out: *mut ca_agent_id,
        k: usize,
        out_count: *mut usize,
    ) -> ca_status;
    pub fn ca_kad_count(kad: *const ca_kad) -> usize;
    pub fn ca_kad_free(kad: *mut ca_kad);
    pub fn ca_kad_mark_failed(kad: *mut ca_kad, id: *const ca_agent_id) -> ca_status;
    pub fn ca_kad_new(
        out: *mut *mut ca_kad,
        self_: *const ca_agent_id,
        opts: *const ca_kad_options,
    ) -> ca_status;
    pub fn ca_kad_options_init(opts: *mut ca_kad_options, version: c_uint) -> ca_status;
    pub fn ca_kad_remove(kad: *mut ca_kad, id: *const ca_agent_id) -> ca_status;
    pub fn ca_kad_seen(kad: *mut ca_kad, id: *const ca_agent_id, outcome: *mut c_int) -> ca_status;
    pub fn ca_routing_add_card(rt: *mut ca_routing, card: *const ca_card, now: u64) -> ca_status;
    pub fn ca_routing_add_delegate(
        rt: *mut ca_routing,
        card: *const ca_card,
        chain: *const *const ca_delegation,
        count: usize,
        opts: *const ca_delegation_verify_options,
        now: u64,
    ) -> ca_status;
    pub fn ca_routing_add_revocation(
        rt: *mut ca_routing,
        data: *const u8,
        len: usize,
        now: u64,
        removed: *mut usize,
    ) -> ca_status;
    pub fn ca_routing_delegate_count(rt: *const ca_routing) -> usize;
    pub fn ca_routing_count(rt: *const ca_routing) -> usize;
    pub fn ca_routing_endpoint(
        rt: *const ca_routing,
        agent: *const ca_agent_id,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_routing_expire(rt: *mut ca_routing, now: u64, removed: *mut usize) -> ca_status;
    pub fn ca_routing_free(rt: *mut ca_routing);
    pub fn ca_routing_get(
        rt: *const ca_routing,
        agent: *const ca_agent_id,
        out: *mut ca_routing_agent_info,
    ) -> ca_status;
    pub fn ca_routing_name(
        rt: *const ca_routing,
        agent: *const ca_agent_id,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_routing_new(out: *mut *mut ca_routing, opts: *const ca_routing_options) -> ca_status;
    pub fn ca_routing_options_init(opts: *mut ca_routing_options, version: c_uint) -> ca_status;
    pub fn ca_routing_query_init(q: *mut ca_routing_query, version: c_uint) -> ca_status;
    pub fn ca_routing_remove(rt: *mut ca_routing, agent: *const ca_agent_id) -> ca_status;
    pub fn ca_routing_result_explain(
        result: *const ca_routing_result,
        result_size: usize,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_routing_select(
        rt: *const ca_routing,
        q: *const ca_routing_query,
        out: *mut ca_routing_result,
        result_size: usize,
        k: usize,
        out_count: *mut usize,
    ) -> ca_status;
    pub fn ca_routing_set_evidence(
        rt: *mut ca_routing,
        agent: *const ca_agent_id,
        positive_milli: u64,
        negative_milli: u64,
    ) -> ca_status;
    pub fn ca_routing_set_reputation(
        rt: *mut ca_routing,
        agent: *const ca_agent_id,
        reputation_ppm: u32,
    ) -> ca_status;
    pub fn ca_routing_set_stake(rt: *mut ca_routing, agent: *const ca_agent_id, stake: u64) -> ca_status;
    pub fn ca_routing_sync_reputation(rt: *mut ca_routing, rep: *const ca_reputation) -> ca_status;
    pub fn ca_routing_sync_stakes(rt: *mut ca_routing, ledger: *const ca_ledger, now_ms: u64) -> ca_status;
    pub fn ca_routing_weights_init(w: *mut ca_routing_weights, version: c_uint) -> ca_status;
}

// ---- routing.h (bids) ----
pub const CA_ERR_ROUTING_INELIGIBLE: ca_status = -602;
pub const CA_ERR_JSON: ca_status = -700;
pub const CA_ERR_JWS: ca_status = -701;
pub const CA_ERR_KEY_MISMATCH: ca_status = -702;
pub const CA_ERR_A2A_CARD: ca_status = -703;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_routing_bid {
    pub agent: ca_agent_id,
    pub price: u64,
    pub latency_ms: u32,
}

extern "C" {
    pub fn ca_routing_rank_bids(
        rt: *const ca_routing,
        q: *const ca_routing_query,
        bids: *const ca_routing_bid,
        bid_size: usize,
        bid_count: usize,
        out: *mut ca_routing_result,
        result_size: usize,
        k: usize,
        out_count: *mut usize,
    ) -> ca_status;
    pub fn ca_routing_score_bid(
        rt: *const ca_routing,
        q: *const ca_routing_query,
        bid: *const ca_routing_bid,
        bid_size: usize,
        out: *mut ca_routing_result,
        result_size: usize,
    ) -> ca_status;
}

// ---- task.h ----

/// `ca_task_state` (an int-sized C enum): `CA_TASK_SUBMITTED` ... `CA_TASK_REJECTED`.
pub type ca_task_state = c_int;
/// `ca_task_party` (an int-sized C enum): `CA_TASK_PARTY_REQUESTER`, `CA_TASK_PARTY_WORKER`.
pub type ca_task_party = c_int;
pub const CA_TASK_MAX_BIDS_DEFAULT: u32 = 1000;
pub const CA_TASK_CANCELED: u32 = 6;
pub const CA_TASK_COMPLETED: u32 = 4;
pub const CA_TASK_FAILED: u32 = 5;
pub const CA_TASK_INLINE_MAX: u32 = 524288;
pub const CA_TASK_INPUT_REQUIRED: u32 = 3;
pub const CA_TASK_MAX_MESSAGES_DEFAULT: u32 = 1024;
pub const CA_TASK_MAX_BODY_BYTES_DEFAULT: usize = 1048576;
pub const CA_TASK_MAX_ENVELOPE_BYTES_DEFAULT: usize = 1052672;
pub const CA_TASK_MAX_SKEW_MS_DEFAULT: u64 = 30000;
pub const CA_TASK_NONBID_MAX: u32 = 6;
pub const CA_TASK_OPTIONS_VERSION: u32 = 3;
pub const CA_TASK_CONTENT_VERSION: u32 = 1;
pub const CA_TASK_REQUEST_VERSION: u32 = 2;
pub const CA_TASK_BID_VERSION: u32 = 2;
pub const CA_TASK_SIDE_INFO_VERSION: u32 = 1;
pub const CA_TASK_AWARD_VERSION: u32 = 1;
pub const CA_TASK_RESULT_VERSION: u32 = 1;
pub const CA_TASK_RECEIPT_VERSION: u32 = 1;
pub const CA_TASK_CANCEL_VERSION: u32 = 1;
pub const CA_TASK_DISPUTE_VERSION: u32 = 1;
pub const CA_TASK_PARTY_REQUESTER: u32 = 0;
pub const CA_TASK_PARTY_WORKER: u32 = 1;
pub const CA_TASK_RATING_MAX: u32 = 100;
pub const CA_TASK_REFS_MAX: u32 = 16;
pub const CA_TASK_REJECTED: u32 = 7;
pub const CA_TASK_SUBMITTED: u32 = 1;
pub const CA_TASK_TEXT_MAX: u32 = 1024;
pub const CA_TASK_URI_MAX: u32 = 1024;
pub const CA_TASK_WORKING: u32 = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_content {
    pub version: c_uint,
    pub data: *const u8,
    pub data_len: usize,
    pub uri: *const c_char,
    pub hash: ca_hash,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_request {
    pub version: c_uint,
    pub capability: *const c_char,
    pub input: *const ca_task_content,
    pub max_price: u64,
    pub deadline: u64,
    pub collateral: u64,
    pub has_recipient: c_int,
    pub recipient: ca_agent_id,
    /// Version 2: the delegation chain the sender posts under (root first); NULL / 0: none.
    pub delegation: *const *const ca_delegation,
    pub delegation_count: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_bid {
    pub version: c_uint,
    pub task: ca_hash,
    pub price: u64,
    pub completion: u64,
    pub collateral: u64,
    /// Version 2: the delegation chain the sender bids under (root first); NULL / 0: none.
    pub delegation: *const *const ca_delegation,
    pub delegation_count: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_award {
    pub version: c_uint,
    pub task: ca_hash,
    pub bid: ca_hash,
    pub worker: ca_agent_id,
    pub price: u64,
    pub collateral: u64,
    pub deadline: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_result {
    pub version: c_uint,
    pub task: ca_hash,
    pub award: ca_hash,
    pub failed: c_int,
    pub output: *const ca_task_content,
    pub failure_code: u64,
    pub failure_message: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_receipt {
    pub version: c_uint,
    pub task: ca_hash,
    pub award: ca_hash,
    pub result: ca_hash,
    pub worker: ca_agent_id,
    pub accept: c_int,
    pub rating: u32,
    pub paid: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_cancel {
    pub version: c_uint,
    pub task: ca_hash,
    pub reason: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_dispute {
    pub version: c_uint,
    pub task: ca_hash,
    pub reason: *const c_char,
    pub refs: *const ca_hash,
    pub ref_count: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_options {
    pub version: c_uint,
    pub max_messages: usize,
    pub max_envelope_bytes: usize,
    pub max_body_bytes: usize,
    pub max_skew_ms: u64,
    /// Version 2: bids a thread accepts (`CA_TASK_MAX_BIDS_DEFAULT`); non-bid messages always fit.
    pub max_bids: usize,
    /// Version 3: revocations the thread honours (borrowed; must outlive the thread).
    pub revocations: *const ca_revocation_set,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_task_side_info {
    pub version: c_uint,
    pub agent: ca_agent_id,
    pub principal: ca_agent_id,
    pub delegated: u32,
    pub revoked: u32,
    pub depth: usize,
    pub root: ca_hash,
    pub leaf: ca_hash,
    pub task_cap: u64,
    pub expires_at: u64,
}

#[repr(C)]
pub struct ca_evidence {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
pub struct ca_task {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
pub struct ca_task_msg {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_evidence_encode(
        request: *const ca_envelope,
        context: *const *const ca_envelope,
        context_count: usize,
        a: *const ca_envelope,
        b: *const ca_envelope,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_evidence_free(ev: *mut ca_evidence);
    pub fn ca_evidence_hash(ev: *const ca_evidence, out: *mut ca_hash);
    pub fn ca_evidence_kind(ev: *const ca_evidence) -> u32;
    pub fn ca_evidence_offense(ev: *const ca_evidence, out: *mut ca_hash);
    pub fn ca_evidence_deadline(ev: *const ca_evidence) -> u64;
    pub fn ca_evidence_message(ev: *const ca_evidence, index: c_int, out: *mut ca_hash);
    pub fn ca_evidence_offender(ev: *const ca_evidence, out: *mut ca_agent_id);
    pub fn ca_evidence_open(out: *mut *mut ca_evidence, data: *const u8, len: usize) -> ca_status;
    pub fn ca_evidence_task(ev: *const ca_evidence, out: *mut ca_hash);
    pub fn ca_evidence_verify(
        data: *const u8,
        len: usize,
        offender: *mut ca_agent_id,
        task: *mut ca_hash,
        kind: *mut u32,
        evidence_hash: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_apply(task: *mut ca_task, env: *const ca_envelope, now: u64) -> ca_status;
    pub fn ca_task_apply_bytes(task: *mut ca_task, data: *const u8, len: usize, now: u64) -> ca_status;
    pub fn ca_task_award_reply(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        bid: *const ca_task_msg,
        deadline: u64,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_award_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_award,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_bid_count(task: *const ca_task) -> usize;
    pub fn ca_task_bid_reply(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        request: *const ca_task_msg,
        price: u64,
        completion: u64,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_bid_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_bid,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_cancel_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_cancel,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_deserialize(
        out: *mut *mut ca_task,
        data: *const u8,
        len: usize,
        opts: *const ca_task_options,
    ) -> ca_status;
    pub fn ca_task_digest(task: *const ca_task, out: *mut ca_hash) -> ca_status;
    pub fn ca_task_dispute_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_dispute,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_disputed(task: *const ca_task, party: ca_task_party) -> c_int;
    pub fn ca_task_evidence(
        task: *const ca_task,
        env: *const ca_envelope,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_task_find(task: *const ca_task, id: *const ca_hash) -> *const ca_task_msg;
    pub fn ca_task_free(task: *mut ca_task);
    pub fn ca_task_get_state(task: *const ca_task) -> ca_task_state;
    pub fn ca_task_id(task: *const ca_task, out: *mut ca_hash);
    pub fn ca_task_inline_max() -> usize;
    pub fn ca_task_last(task: *const ca_task, kind: u32) -> *const ca_task_msg;
    pub fn ca_task_message(task: *const ca_task, index: usize) -> *const ca_task_msg;
    pub fn ca_task_message_count(task: *const ca_task) -> usize;
    pub fn ca_task_msg_award(msg: *const ca_task_msg, out: *mut ca_task_award) -> ca_status;
    pub fn ca_task_msg_bid(msg: *const ca_task_msg, out: *mut ca_task_bid) -> ca_status;
    pub fn ca_task_msg_cancel(msg: *const ca_task_msg, out: *mut ca_task_cancel) -> ca_status;
    pub fn ca_task_msg_created_at(msg: *const ca_task_msg) -> u64;
    pub fn ca_task_msg_dispute(msg: *const ca_task_msg, out: *mut ca_task_dispute) -> ca_status;
    pub fn ca_task_msg_encoded(
        msg: *const ca_task_msg,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_task_msg_free(msg: *mut ca_task_msg);
    pub fn ca_task_msg_id(msg: *const ca_task_msg, out: *mut ca_hash);
    pub fn ca_task_msg_kind(msg: *const ca_task_msg) -> u32;
    pub fn ca_task_msg_delegator(msg: *const ca_task_msg, out: *mut ca_agent_id) -> c_int;
    pub fn ca_task_msg_parent(msg: *const ca_task_msg, out: *mut ca_hash) -> c_int;
    pub fn ca_task_msg_open(
        out: *mut *mut ca_task_msg,
        data: *const u8,
        len: usize,
        now: u64,
        opts: *const ca_envelope_options,
    ) -> ca_status;
    pub fn ca_task_msg_parse(
        out: *mut *mut ca_task_msg,
        env: *const ca_envelope,
        reader: *const ca_identity,
    ) -> ca_status;
    pub fn ca_task_msg_receipt(msg: *const ca_task_msg, out: *mut ca_task_receipt) -> ca_status;
    pub fn ca_task_msg_request(msg: *const ca_task_msg, out: *mut ca_task_request) -> ca_status;
    pub fn ca_task_msg_result(msg: *const ca_task_msg, out: *mut ca_task_result) -> ca_status;
    pub fn ca_task_msg_sender(msg: *const ca_task_msg, out: *mut ca_agent_id);
    pub fn ca_task_msg_task_id(msg: *const ca_task_msg, out: *mut ca_hash);
    pub fn ca_task_new(
        out: *mut *mut ca_task,
        request: *const ca_envelope,
        now: u64,
        opts: *const ca_task_options,
    ) -> ca_status;
    pub fn ca_task_new_bytes(
        out: *mut *mut ca_task,
        data: *const u8,
        len: usize,
        now: u64,
        opts: *const ca_task_options,
    ) -> ca_status;
    pub fn ca_task_options_init(opts: *mut ca_task_options, version: c_uint) -> ca_status;
    pub fn ca_task_receipt_reply(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        result: *const ca_task_msg,
        accept: c_int,
        rating: u32,
        paid: u64,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_receipt_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_receipt,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_refs_max() -> usize;
    pub fn ca_task_request_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_request,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_requester(task: *const ca_task, out: *mut ca_agent_id);
    pub fn ca_task_side(task: *const ca_task, party: ca_task_party, out: *mut ca_task_side_info)
        -> ca_status;
    pub fn ca_task_result_reply(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        award: *const ca_task_msg,
        output: *const ca_task_content,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_result_sign(
        signer: *const ca_identity,
        env: *const ca_envelope_params,
        body: *const ca_task_result,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_task_serialize(
        task: *const ca_task,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_task_state_name(state: ca_task_state) -> *const c_char;
    pub fn ca_task_text_max() -> usize;
    pub fn ca_task_uri_max() -> usize;
}

// ---- ledger.h (evidence) ----
pub const CA_LEDGER_EVIDENCE_MAX_BYTES: usize = 2097152;

extern "C" {
    pub fn ca_ledger_evidence_max_bytes() -> usize;
    pub fn ca_ledger_submit_evidence(
        ledger: *mut ca_ledger,
        msg: *const u8,
        msg_len: usize,
        evidence: *const u8,
        evidence_len: usize,
        now: u64,
        seq_out: *mut u64,
    ) -> ca_status;
}

// ---- delegation.h (and card.h's capability patterns, envelope.h's kinds) ----
pub const CA_CAPABILITY_PATTERN_MAX: usize = 66;
pub const CA_DELEGATION_CAPABILITIES_MAX: usize = 16;
pub const CA_DELEGATION_CHAIN_INFO_VERSION: u32 = 1;
pub const CA_DELEGATION_INFO_VERSION: u32 = 1;
pub const CA_DELEGATION_MAX_DEPTH: usize = 8;
pub const CA_DELEGATION_PARAMS_VERSION: u32 = 1;
pub const CA_DELEGATION_VERIFY_OPTIONS_VERSION: u32 = 1;
pub const CA_ERR_DELEGATION_AUDIENCE: ca_status = -801;
pub const CA_ERR_DELEGATION_CAPABILITY: ca_status = -802;
pub const CA_ERR_DELEGATION_PARENT: ca_status = -800;
pub const CA_ERR_DELEGATION_REVOKED: ca_status = -806;
pub const CA_ERR_DELEGATION_TASK_CAP: ca_status = -804;
pub const CA_ERR_DELEGATION_TOTAL_CAP: ca_status = -803;
pub const CA_ERR_DELEGATION_WINDOW: ca_status = -805;
pub const CA_KIND_DELEGATION: u32 = 64;
pub const CA_KIND_REVOCATION: u32 = 65;
pub const CA_REVOCATION_INFO_VERSION: u32 = 1;
pub const CA_REVOCATION_SET_MAX_ENTRIES: usize = 1048576;

/// Revocation lookup: 1 when the caller holds a revocation of `delegation` signed by
/// `revoker` (delegation.h).
pub type ca_revocation_lookup = Option<
    unsafe extern "C" fn(ctx: *mut c_void, delegation: *const ca_hash, revoker: *const ca_agent_id) -> c_int,
>;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_delegation_params {
    pub version: c_uint,
    pub audience: *const ca_agent_id,
    pub capabilities: *const *const c_char,
    pub capability_count: usize,
    pub total_cap: u64,
    pub task_cap: u64,
    pub not_before: u64,
    pub expires_at: u64,
    pub nonce: u64,
    pub parent: *const ca_hash,
    pub created_at: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_delegation_info {
    pub version: c_uint,
    pub issuer: ca_agent_id,
    pub audience: ca_agent_id,
    pub id: ca_hash,
    pub parent: ca_hash,
    pub has_parent: u32,
    pub signature_checked: u32,
    pub created_at: u64,
    pub not_before: u64,
    pub expires_at: u64,
    pub total_cap: u64,
    pub task_cap: u64,
    pub nonce: u64,
    pub capability_count: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_delegation_verify_options {
    pub version: c_uint,
    pub revocations: *const ca_revocation_set,
    pub lookup: ca_revocation_lookup,
    pub lookup_ctx: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_delegation_chain_info {
    pub version: c_uint,
    pub delegator: ca_agent_id,
    pub delegate: ca_agent_id,
    pub root: ca_hash,
    pub leaf: ca_hash,
    pub depth: usize,
    pub total_cap: u64,
    pub task_cap: u64,
    pub not_before: u64,
    pub expires_at: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ca_revocation_info {
    pub version: c_uint,
    pub revoker: ca_agent_id,
    pub delegation: ca_hash,
    pub id: ca_hash,
    pub created_at: u64,
    pub expires_at: u64,
}

#[repr(C)]
pub struct ca_delegation {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

#[repr(C)]
pub struct ca_revocation_set {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

extern "C" {
    pub fn ca_capability_pattern_check(pattern: *const c_char, pattern_len: usize) -> ca_status;
    pub fn ca_capability_pattern_covers(
        outer: *const c_char,
        outer_len: usize,
        inner: *const c_char,
        inner_len: usize,
    ) -> c_int;
    pub fn ca_capability_pattern_max() -> usize;
    pub fn ca_delegation_capabilities_max() -> usize;
    pub fn ca_delegation_capability(d: *const ca_delegation, index: usize) -> *const c_char;
    pub fn ca_delegation_chain_verify(
        chain: *const *const ca_delegation,
        count: usize,
        now: u64,
        opts: *const ca_delegation_verify_options,
        out: *mut ca_delegation_chain_info,
    ) -> ca_status;
    pub fn ca_delegation_decode(out: *mut *mut ca_delegation, data: *const u8, len: usize) -> ca_status;
    pub fn ca_delegation_encoded(
        d: *const ca_delegation,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
    ) -> ca_status;
    pub fn ca_delegation_free(d: *mut ca_delegation);
    pub fn ca_delegation_get(d: *const ca_delegation, out: *mut ca_delegation_info) -> ca_status;
    pub fn ca_delegation_grants(
        d: *const ca_delegation,
        capability: *const c_char,
        capability_len: usize,
    ) -> ca_status;
    pub fn ca_delegation_max_depth() -> usize;
    pub fn ca_delegation_open(out: *mut *mut ca_delegation, data: *const u8, len: usize) -> ca_status;
    pub fn ca_delegation_params_init(params: *mut ca_delegation_params, version: c_uint) -> ca_status;
    pub fn ca_delegation_sign(
        issuer: *const ca_identity,
        params: *const ca_delegation_params,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
    pub fn ca_delegation_verify_options_init(
        opts: *mut ca_delegation_verify_options,
        version: c_uint,
    ) -> ca_status;
    pub fn ca_revocation_decode(data: *const u8, len: usize, out: *mut ca_revocation_info) -> ca_status;
    pub fn ca_revocation_open(data: *const u8, len: usize, out: *mut ca_revocation_info) -> ca_status;
    pub fn ca_revocation_set_add(set: *mut ca_revocation_set, data: *const u8, len: usize) -> ca_status;
    pub fn ca_revocation_set_contains(
        set: *const ca_revocation_set,
        delegation: *const ca_hash,
        revoker: *const ca_agent_id,
    ) -> c_int;
    pub fn ca_revocation_set_count(set: *const ca_revocation_set) -> usize;
    pub fn ca_revocation_set_free(set: *mut ca_revocation_set);
    pub fn ca_revocation_set_new(out: *mut *mut ca_revocation_set, max_entries: usize) -> ca_status;
    pub fn ca_revocation_sign(
        revoker: *const ca_identity,
        delegation: *const ca_hash,
        created_at: u64,
        expires_at: u64,
        out: *mut u8,
        out_cap: usize,
        out_len: *mut usize,
        id_out: *mut ca_hash,
    ) -> ca_status;
}
