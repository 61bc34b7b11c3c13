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
pub const CA_ERR_MALFORMED: ca_status = -200;
pub const CA_ERR_BAD_VERSION: ca_status = -201;
pub const CA_ERR_EXPIRED: ca_status = -202;
pub const CA_ERR_NOT_YET_VALID: ca_status = -203;
pub const CA_ERR_REPLAY: ca_status = -204;
pub const CA_ERR_REPLAY_FULL: ca_status = -205;
pub const CA_ERR_DECOMPRESS: ca_status = -206;
pub const CA_ERR_SEALED: ca_status = -207;
pub const CA_ERR_WRONG_KIND: ca_status = -208;
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
pub const CA_VERSION_MAJOR: c_uint = 0;
pub const CA_VERSION_MINOR: c_uint = 1;
pub const CA_VERSION_PATCH: c_uint = 0;
pub const CA_VERSION_NUMBER: c_uint = 100;

extern "C" {
    pub fn ca_version_string() -> *const c_char;
    pub fn ca_version_number() -> c_uint;
}

// ---- identity.h ----
pub const CA_SEED_BYTES: usize = 32;
pub const CA_X25519_PUBLIC_BYTES: usize = 32;
pub const CA_DID_MAX_CHARS: usize = 56;
pub const CA_KEYFILE_OPTIONS_VERSION: c_uint = 1;
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
    pub fn ca_identity_generate(out: *mut *mut ca_identity) -> ca_status;
    pub fn ca_identity_from_seed(out: *mut *mut ca_identity, seed: *const u8) -> ca_status;
    pub fn ca_identity_free(identity: *mut ca_identity);
    pub fn ca_identity_id(identity: *const ca_identity, out: *mut ca_agent_id);
    pub fn ca_identity_export_seed(identity: *const ca_identity, seed_out: *mut u8) -> ca_status;
    pub fn ca_identity_sign(
        identity: *const ca_identity,
        msg: *const u8,
        msg_len: usize,
        sig_out: *mut ca_signature,
    ) -> ca_status;
    pub fn ca_identity_verify(
        signer: *const ca_agent_id,
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
pub const CA_KIND_LEDGER_MIN: u32 = 32;
pub const CA_KIND_LEDGER_MAX: u32 = 63;
pub const CA_KIND_LIBRARY_MAX: u32 = 0xffff;
pub const CA_KIND_APP_MIN: u32 = 0x10000;
pub const CA_ENVELOPE_COMPRESS: u32 = 0x1;
pub const CA_ENVELOPE_SEAL: u32 = 0x2;
pub const CA_ENVELOPE_PARAMS_VERSION: c_uint = 1;
pub const CA_ENVELOPE_OPTIONS_VERSION: c_uint = 1;

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
    pub fn ca_envelope_verify(env: *const ca_envelope, now: u64, opts: *const ca_envelope_options) -> ca_status;
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
    pub fn ca_replay_guard_new(out: *mut *mut ca_replay_guard, capacity: usize, max_skew_ms: u64) -> ca_status;
    pub fn ca_replay_guard_free(guard: *mut ca_replay_guard);
    pub fn ca_replay_guard_check(guard: *mut ca_replay_guard, env: *const ca_envelope, now: u64) -> ca_status;
    pub fn ca_replay_guard_count(guard: *const ca_replay_guard) -> usize;
}
