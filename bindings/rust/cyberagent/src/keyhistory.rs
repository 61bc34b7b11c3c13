//! Key rotation with pre-rotation (keyhistory.h, docs/IDENTITY.md "Key rotation"):
//! key events, an identity's key history, and verifying envelopes against it.
//!
//! An identity commits at inception to the digest of its next key
//! ([`commitment`]); a rotation reveals that key, is signed by it alone and
//! commits to the following one, so a thief holding only the current key
//! cannot rotate. The stable identifier ([`KeyHistory::id`]) is the
//! inception's digest and survives every rotation.

use std::ptr::NonNull;

use cyberagent_sys as sys;

use crate::envelope::{Envelope, EnvelopeOptions};
use crate::error::{check, out_bytes, Error, Result};
use crate::identity::{Identity, PublicKey};
use crate::Hash;

/// `valid_until` of the current key.
pub const FOREVER: u64 = u64::MAX;

/// `BLAKE2b-256("cyberagent/1/next-key" || public_key)`: what an event commits to.
pub fn commitment(public_key: &PublicKey) -> Result<Hash> {
    let k = sys::ca_agent_id { bytes: *public_key };
    let mut out = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
    // SAFETY: both pointers are valid for the call.
    check(unsafe { sys::ca_key_commitment(&k, &mut out) })?;
    Ok(out.bytes)
}

/// The inception event of a new identity whose first key is `first`.
pub fn incept(first: &Identity, next_commitment: &Hash, time: u64) -> Result<Vec<u8>> {
    let c = sys::ca_hash { bytes: *next_commitment };
    out_bytes(sys::CA_KEY_EVENT_MAX_BYTES, |o, cap, n| {
        // SAFETY: first is live; o is valid for cap bytes, n writable.
        unsafe { sys::ca_key_event_incept(first.as_ptr(), &c, time, o, cap, n) }
    })
}

/// A key event as [`open_event`] checked it (`ca_key_event_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    /// `CA_KEY_EVENT_INCEPTION` or `CA_KEY_EVENT_ROTATION`.
    pub kind: u32,
    pub sequence: u64,
    pub identifier: Hash,
    pub prior: Hash,
    pub key: PublicKey,
    pub next: Hash,
    pub time: u64,
    pub digest: Hash,
}

/// Strict decode and signature check of one event (`ca_key_event_open`).
pub fn open_event(data: &[u8]) -> Result<KeyEvent> {
    let z = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
    let mut info = sys::ca_key_event_info {
        version: sys::CA_KEY_EVENT_INFO_VERSION,
        r#type: 0,
        sequence: 0,
        identifier: z,
        prior: z,
        key: sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] },
        next: z,
        time: 0,
        digest: z,
    };
    // SAFETY: data is valid for its length; info is writable.
    check(unsafe { sys::ca_key_event_open(data.as_ptr(), data.len(), &mut info) })?;
    Ok(KeyEvent {
        kind: info.r#type,
        sequence: info.sequence,
        identifier: info.identifier.bytes,
        prior: info.prior.bytes,
        key: info.key.bytes,
        next: info.next.bytes,
        time: info.time,
        digest: info.digest.bytes,
    })
}

/// When a key was the identity's: `[valid_from, valid_until)` (`ca_key_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyWindow {
    pub sequence: u64,
    pub valid_from: u64,
    pub valid_until: u64,
    pub current: bool,
}

/// An identity's key history, built from its inception and rotations in order.
/// `Sync`: many threads may read it; appending takes `&mut self`.
pub struct KeyHistory {
    ptr: NonNull<sys::ca_key_history>,
}

// SAFETY: keyhistory.h: readers may share a history while no thread appends;
// append takes &mut self, so the borrow checker enforces that.
unsafe impl Send for KeyHistory {}
unsafe impl Sync for KeyHistory {}

impl KeyHistory {
    /// A history from an inception event.
    pub fn new(inception: &[u8]) -> Result<KeyHistory> {
        let mut p: *mut sys::ca_key_history = std::ptr::null_mut();
        // SAFETY: p is writable; inception valid for its length.
        check(unsafe { sys::ca_key_history_new(&mut p, inception.as_ptr(), inception.len()) })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(KeyHistory { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL key history")),
        }
    }

    /// The raw handle, for calls into `cyberagent-sys`. Valid while `self` lives.
    pub fn as_ptr(&self) -> *const sys::ca_key_history {
        self.ptr.as_ptr()
    }

    /// Appends the next rotation (`CA_ERR_KEY_EVENT_ORDER`, `CA_ERR_KEY_NOT_COMMITTED`, ...).
    pub fn append(&mut self, event: &[u8]) -> Result<()> {
        // SAFETY: self is live and exclusively borrowed.
        check(unsafe { sys::ca_key_history_append(self.ptr.as_ptr(), event.as_ptr(), event.len()) })
    }

    /// The next rotation event, signed by `revealed` (the committed key). Not appended.
    pub fn rotate(&self, revealed: &Identity, next_commitment: &Hash, time: u64) -> Result<Vec<u8>> {
        let c = sys::ca_hash { bytes: *next_commitment };
        out_bytes(sys::CA_KEY_EVENT_MAX_BYTES, |o, cap, n| {
            // SAFETY: self and revealed are live; o valid for cap bytes.
            unsafe { sys::ca_key_event_rotate(self.as_ptr(), revealed.as_ptr(), &c, time, o, cap, n) }
        })
    }

    /// The stable identifier: the inception's digest.
    pub fn id(&self) -> Hash {
        let mut out = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: self is live.
        unsafe { sys::ca_key_history_id(self.as_ptr(), &mut out) };
        out.bytes
    }

    /// Sequence of the last event (0: never rotated).
    pub fn sequence(&self) -> u64 {
        // SAFETY: self is live.
        unsafe { sys::ca_key_history_sequence(self.as_ptr()) }
    }

    /// The current public key.
    pub fn current(&self) -> PublicKey {
        let mut out = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
        // SAFETY: self is live.
        unsafe { sys::ca_key_history_current(self.as_ptr(), &mut out) };
        out.bytes
    }

    /// Digest of the last event.
    pub fn last_digest(&self) -> Hash {
        let mut out = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: self is live.
        unsafe { sys::ca_key_history_last_digest(self.as_ptr(), &mut out) };
        out.bytes
    }

    /// Whether and when `key` was the identity's (`CA_ERR_NOT_FOUND` if never).
    pub fn key(&self, key: &PublicKey) -> Result<KeyWindow> {
        let k = sys::ca_agent_id { bytes: *key };
        let mut info = sys::ca_key_info {
            version: sys::CA_KEY_INFO_VERSION,
            sequence: 0,
            valid_from: 0,
            valid_until: 0,
            current: 0,
        };
        // SAFETY: self is live; k and info valid.
        check(unsafe { sys::ca_key_history_key(self.as_ptr(), &k, &mut info) })?;
        Ok(KeyWindow {
            sequence: info.sequence,
            valid_from: info.valid_from,
            valid_until: info.valid_until,
            current: info.current != 0,
        })
    }

    /// Checks a decoded envelope against the history: `ca_envelope_verify`'s checks and the
    /// window rule (`CA_ERR_KEY_UNKNOWN`, `CA_ERR_KEY_ROTATED`, ...).
    pub fn verify_envelope(&self, env: &Envelope, now: u64, opts: Option<&EnvelopeOptions>) -> Result<()> {
        let o = match opts {
            Some(o) => Some(o.to_c()?),
            None => None,
        };
        let op = o.as_ref().map_or(std::ptr::null(), |o| o as *const _);
        // SAFETY: self and env are live; op NULL or valid.
        check(unsafe { sys::ca_key_history_verify_envelope(self.as_ptr(), env.as_ptr(), now, op) })
    }
}

impl Drop for KeyHistory {
    fn drop(&mut self) {
        // SAFETY: ptr came from ca_key_history_new and is freed once.
        unsafe { sys::ca_key_history_free(self.ptr.as_ptr()) }
    }
}
