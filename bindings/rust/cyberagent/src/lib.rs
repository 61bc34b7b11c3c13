//! Safe Rust API for libcyberagent: agents hiring agents without a trusted
//! middleman. Handles are owned types freed on `Drop`; every fallible call
//! returns [`Result`] with an [`Error`] carrying the status code and the
//! library's sentence; bytes go in as slices and come out as arrays or
//! `Vec<u8>`. Types are `Send`/`Sync` exactly where the C headers allow
//! sharing between threads. The raw declarations are in `cyberagent-sys`.
//!
//! ```
//! use cyberagent::Identity;
//!
//! let alice = Identity::generate()?;
//! let sig = alice.sign(b"example.com/greeting/v1", b"hello")?;
//! assert!(cyberagent::verify_detached(&alice.public_key(), b"example.com/greeting/v1", b"hello", &sig)?);
//! let did = alice.did();
//! assert_eq!(cyberagent::did_parse(&did)?, alice.public_key());
//! # Ok::<(), cyberagent::Error>(())
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

pub use cyberagent_sys as sys;

mod card;
mod delegation;
mod envelope;
mod error;
mod identity;
pub mod keyhistory;
mod ledger;
mod reputation;
mod routing;
mod task;

pub use card::{
    a2a_limits, capability_check, card_limits, jcs_canonicalize, sign_card, A2ACard, Capability, Card,
    CardParams,
};
pub use delegation::{
    capability_pattern_check, capability_pattern_covers, delegation_limits, revocation_decode,
    revocation_open, sign_delegation, sign_revocation, verify_chain, ChainInfo, Delegation, DelegationInfo,
    DelegationParams, RevocationInfo, RevocationSet,
};
pub use envelope::{
    envelope_bound, kind_name, sign_envelope, Envelope, EnvelopeOptions, EnvelopeParams, ReplayGuard,
    ReplayGuardOptions,
};
pub use error::{Error, Result};
pub use identity::{
    app_signed_bytes, did_encode, did_parse, verify_detached, x25519_public_key, Identity, KeyfileOptions,
    PublicKey, Seed, Signature, SIGN_APP_PREFIX,
};
pub use keyhistory::KeyHistory;
pub use ledger::{
    ledger_evidence_max_bytes, ledger_id, ledger_op_max_bytes, ledger_op_verify, ledger_options, Ledger,
    LedgerOp, LogEntry, LogOp, LogStopped,
};
pub use reputation::{reputation_limits, reputation_options, Reputation};
pub use routing::{routing_options, routing_weights_default, Bid, Candidate, Kad, Query, Routing};
pub use task::{
    evidence_encode, evidence_verify, reply_award, reply_bid, reply_receipt, reply_result, sign_task,
    sign_task_delegated, task_limits, task_options, task_state_name, Content, Evidence, Party, Task,
    TaskBody, TaskMsg,
};

/// Status codes (`CA_OK`, `CA_ERR_*`) to compare with [`Error::status`].
pub mod status {
    pub use cyberagent_sys::{CA_ERR_A2A_CARD, CA_ERR_JSON, CA_ERR_JWS, CA_ERR_KEY_MISMATCH};
    pub use cyberagent_sys::{
        CA_ERR_BAD_CAPABILITY, CA_ERR_DELEGATION_AUDIENCE, CA_ERR_DELEGATION_CAPABILITY,
        CA_ERR_DELEGATION_PARENT, CA_ERR_DELEGATION_REVOKED, CA_ERR_DELEGATION_TASK_CAP,
        CA_ERR_DELEGATION_TOTAL_CAP, CA_ERR_DELEGATION_WINDOW,
    };
    pub use cyberagent_sys::{
        CA_ERR_BAD_DID, CA_ERR_BAD_KEY, CA_ERR_BAD_SIGNATURE, CA_ERR_BAD_SIGN_TAG, CA_ERR_BAD_VERSION,
        CA_ERR_BUFFER_TOO_SMALL, CA_ERR_DECOMPRESS, CA_ERR_EXPIRED, CA_ERR_INIT, CA_ERR_INVALID_ARGUMENT,
        CA_ERR_IO, CA_ERR_KEYFILE_CORRUPT, CA_ERR_KEYFILE_TOO_COSTLY, CA_ERR_KEY_EVENT_ORDER,
        CA_ERR_KEY_NOT_COMMITTED, CA_ERR_KEY_ROTATED, CA_ERR_KEY_UNKNOWN, CA_ERR_LIFETIME, CA_ERR_LIMIT,
        CA_ERR_MALFORMED, CA_ERR_NOT_FOUND, CA_ERR_NOT_YET_VALID, CA_ERR_NO_MEMORY, CA_ERR_OVERFLOW,
        CA_ERR_REPLAY, CA_ERR_REPLAY_FULL, CA_ERR_REPLAY_QUOTA, CA_ERR_SEALED, CA_ERR_SEAL_MISMATCH,
        CA_ERR_STATE, CA_ERR_UNSUPPORTED, CA_ERR_WRONG_KIND, CA_ERR_WRONG_PASSPHRASE, CA_OK,
    };
}

/// A 32-byte BLAKE2b-256 digest (message ids, parent links, state hashes).
pub type Hash = [u8; sys::CA_HASH_BYTES];

/// Initializes the crypto backend (optional, idempotent, thread-safe).
pub fn init() -> Result<()> {
    // SAFETY: no arguments; thread-safe.
    error::check(unsafe { sys::ca_init() })
}

/// Version of the linked library, e.g. `"1.0.0"`.
pub fn version_string() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { error::cstr(sys::ca_version_string()) }
}

/// `major * 10000 + minor * 100 + patch` of the linked library.
pub fn version_number() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::ca_version_number() }
}

/// Stable name of a status code, e.g. `"CA_ERR_BAD_SIGNATURE"`.
///
/// ```
/// assert_eq!(cyberagent::status_str(cyberagent::status::CA_ERR_BAD_DID), "CA_ERR_BAD_DID");
/// ```
pub fn status_str(status: i32) -> &'static str {
    // SAFETY: ca_status_str returns a static ASCII string, never NULL.
    let p = unsafe { sys::ca_status_str(status) };
    if p.is_null() {
        return "CA_ERR_UNKNOWN";
    }
    // SAFETY: static lifetime per common.h ("Short stable name").
    unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap_or("CA_ERR_UNKNOWN")
}

/// This thread's sentence for its last failed call ("" if none yet).
/// Meaningful only right after a call that failed (LAST ERROR RULE in
/// common.h): a success may leave an older sentence or replace it, and never
/// clears it. Errors returned by this crate already carry their own sentence
/// ([`Error::message`]); read that instead.
pub fn last_error() -> String {
    // SAFETY: thread-local NUL-terminated string.
    unsafe { error::cstr(sys::ca_last_error()) }
}

/// Constant-time equality; `false` for different lengths.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // SAFETY: both slices are valid for len bytes.
    unsafe { sys::ca_equal(a.as_ptr() as *const _, b.as_ptr() as *const _, a.len()) == 1 }
}

/// Overwrites `buf` with zeros in a way the compiler cannot remove.
pub fn wipe(buf: &mut [u8]) {
    // SAFETY: buf is writable for its length.
    unsafe { sys::ca_wipe(buf.as_mut_ptr() as *mut _, buf.len()) }
}

/// The library's fixed sizes as its size functions report them:
/// (agent id, hash, signature, seed, did max chars, key file, X25519 public key).
pub fn sizes() -> [usize; 7] {
    // SAFETY: pure functions without arguments.
    unsafe {
        [
            sys::ca_agent_id_bytes(),
            sys::ca_hash_bytes(),
            sys::ca_signature_bytes(),
            sys::ca_seed_bytes(),
            sys::ca_did_max_chars(),
            sys::ca_keyfile_bytes(),
            sys::ca_x25519_public_bytes(),
        ]
    }
}
