//! Signed envelopes: one canonical, signed format for every message
//! (docs/WIRE.md). Times are milliseconds since the Unix epoch from the
//! caller; the library never reads the clock.

use std::ffi::CStr;
use std::fmt;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::error::{check, out_bytes, Error, Result};
use crate::identity::{did_encode, Identity, PublicKey, Signature};
use crate::Hash;

/// What to put in a new envelope besides the body.
///
/// ```
/// use cyberagent::{EnvelopeParams, Identity, Envelope};
/// let alice = Identity::generate()?;
/// let params = EnvelopeParams::new(cyberagent::sys::CA_KIND_TASK_REQUEST, 1_000, 61_000);
/// let (bytes, id) = cyberagent::sign_envelope(&alice, &params, b"summarize this")?;
/// let env = Envelope::open(&bytes, 2_000, None)?;
/// assert_eq!(env.id(), id);
/// assert_eq!(env.sender(), alice.public_key());
/// assert_eq!(env.body(None, None)?, b"summarize this");
/// # Ok::<(), cyberagent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeParams<'a> {
    /// `CA_KIND_*` or an application kind (>= `CA_KIND_APP_MIN`); non-zero.
    pub kind: u32,
    pub created_at: u64,
    /// Must be greater than `created_at`.
    pub expires_at: u64,
    pub recipient: Option<&'a PublicKey>,
    /// Id of the message this one follows.
    pub parent: Option<&'a Hash>,
    /// zstd-compress the body when that saves bytes.
    pub compress: bool,
    /// Seal the body to the recipient (needs a recipient).
    pub seal: bool,
}

impl<'a> EnvelopeParams<'a> {
    /// Params with no recipient, no parent, no compression, no sealing.
    pub fn new(kind: u32, created_at: u64, expires_at: u64) -> EnvelopeParams<'a> {
        EnvelopeParams {
            kind,
            created_at,
            expires_at,
            recipient: None,
            parent: None,
            compress: false,
            seal: false,
        }
    }
}

/// Decoding and verification limits; `None` keeps the library default
/// (`CA_ENVELOPE_<FIELD>_DEFAULT`: 1 MiB + 4 KiB encoded, 1 MiB body, 30 000 ms
/// skew, 24 h maximum lifetime).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EnvelopeOptions {
    pub max_envelope_bytes: Option<usize>,
    pub max_body_bytes: Option<usize>,
    pub max_skew_ms: Option<u64>,
    /// Most `expires_at - created_at` verification accepts (`CA_ERR_LIFETIME` above it);
    /// default `CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT`, `u64::MAX` lifts the cap.
    pub max_lifetime_ms: Option<u64>,
}

impl EnvelopeOptions {
    /// The C options struct with defaults filled in.
    pub fn to_c(&self) -> Result<sys::ca_envelope_options> {
        let mut o = sys::ca_envelope_options {
            version: 0,
            max_envelope_bytes: 0,
            max_body_bytes: 0,
            max_skew_ms: 0,
            max_lifetime_ms: 0,
        };
        // SAFETY: o is writable.
        check(unsafe { sys::ca_envelope_options_init(&mut o, sys::CA_ENVELOPE_OPTIONS_VERSION) })?;
        if let Some(v) = self.max_envelope_bytes {
            o.max_envelope_bytes = v;
        }
        if let Some(v) = self.max_body_bytes {
            o.max_body_bytes = v;
        }
        if let Some(v) = self.max_skew_ms {
            o.max_skew_ms = v;
        }
        if let Some(v) = self.max_lifetime_ms {
            o.max_lifetime_ms = v;
        }
        Ok(o)
    }
}

fn opts_c(opts: Option<&EnvelopeOptions>) -> Result<Option<sys::ca_envelope_options>> {
    match opts {
        Some(o) => Ok(Some(o.to_c()?)),
        None => Ok(None),
    }
}

fn opt_ptr(o: &Option<sys::ca_envelope_options>) -> *const sys::ca_envelope_options {
    o.as_ref().map_or(ptr::null(), |o| o as *const _)
}

/// Name of a library kind ("task.request", ...); `None` for unknown and application kinds.
pub fn kind_name(kind: u32) -> Option<&'static str> {
    // SAFETY: returns NULL or a static string.
    let p = unsafe { sys::ca_kind_name(kind) };
    if p.is_null() {
        None
    } else {
        // SAFETY: static NUL-terminated ASCII.
        unsafe { CStr::from_ptr(p) }.to_str().ok()
    }
}

/// Upper bound of the encoded size of an envelope carrying `body_len` body bytes.
pub fn envelope_bound(body_len: usize) -> usize {
    // SAFETY: pure function.
    unsafe { sys::ca_envelope_bound(body_len) }
}

/// Builds, signs and encodes an envelope; returns its bytes and message id.
pub fn sign_envelope(signer: &Identity, params: &EnvelopeParams<'_>, body: &[u8]) -> Result<(Vec<u8>, Hash)> {
    let recipient = params.recipient.map(|r| sys::ca_agent_id { bytes: *r });
    let parent = params.parent.map(|p| sys::ca_hash { bytes: *p });
    let mut p = sys::ca_envelope_params {
        version: 0,
        kind: 0,
        recipient: ptr::null(),
        created_at: 0,
        expires_at: 0,
        parent: ptr::null(),
        flags: 0,
    };
    // SAFETY: p is writable.
    check(unsafe { sys::ca_envelope_params_init(&mut p, sys::CA_ENVELOPE_PARAMS_VERSION) })?;
    p.kind = params.kind;
    p.created_at = params.created_at;
    p.expires_at = params.expires_at;
    p.recipient = recipient.as_ref().map_or(ptr::null(), |r| r as *const _);
    p.parent = parent.as_ref().map_or(ptr::null(), |h| h as *const _);
    p.flags = if params.compress { sys::CA_ENVELOPE_COMPRESS } else { 0 }
        | if params.seal { sys::CA_ENVELOPE_SEAL } else { 0 };
    let mut id = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
    let bytes = out_bytes(envelope_bound(body.len()), |out, cap, n| unsafe {
        // SAFETY: every pointer is valid for the call; recipient/parent outlive it.
        sys::ca_envelope_sign(signer.as_ptr(), &p, body.as_ptr(), body.len(), out, cap, n, &mut id)
    })?;
    Ok((bytes, id.bytes))
}

/// A decoded envelope; owns a private copy of its bytes and frees it on drop.
///
/// Thread safety (envelope.h): immutable, any number of threads may read one
/// at once, hence `Send + Sync`.
pub struct Envelope {
    ptr: NonNull<sys::ca_envelope>,
}

// SAFETY: envelope.h: "a ca_envelope is immutable; any number of threads may read one at once."
unsafe impl Send for Envelope {}
unsafe impl Sync for Envelope {}

impl Envelope {
    fn from_raw(p: *mut sys::ca_envelope) -> Result<Envelope> {
        match NonNull::new(p) {
            Some(ptr) => Ok(Envelope { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL envelope")),
        }
    }

    /// The raw handle, valid while `self` lives.
    pub fn as_ptr(&self) -> *const sys::ca_envelope {
        self.ptr.as_ptr()
    }

    /// Strict decode only (canonical encoding, version, limits); no signature check.
    pub fn decode(data: &[u8], opts: Option<&EnvelopeOptions>) -> Result<Envelope> {
        let o = opts_c(opts)?;
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length.
        check(unsafe { sys::ca_envelope_decode(&mut p, data.as_ptr(), data.len(), opt_ptr(&o)) })?;
        Envelope::from_raw(p)
    }

    /// Decode + verify (signature, then time against `now`) in one call.
    ///
    /// ```
    /// # use cyberagent::*;
    /// let me = Identity::generate()?;
    /// let (mut bytes, _) = sign_envelope(&me, &EnvelopeParams::new(16, 0, 1000), b"pay 10")?;
    /// let n = bytes.len();
    /// bytes[n - 70] ^= 1; // tamper with the body
    /// let err = Envelope::open(&bytes, 0, None).unwrap_err();
    /// assert_eq!(err.status(), status::CA_ERR_BAD_SIGNATURE);
    /// # Ok::<(), cyberagent::Error>(())
    /// ```
    pub fn open(data: &[u8], now: u64, opts: Option<&EnvelopeOptions>) -> Result<Envelope> {
        let o = opts_c(opts)?;
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length.
        check(unsafe { sys::ca_envelope_open(&mut p, data.as_ptr(), data.len(), now, opt_ptr(&o)) })?;
        Envelope::from_raw(p)
    }

    /// Checks the signature, then the time window (`CA_ERR_EXPIRED`, `CA_ERR_NOT_YET_VALID`).
    pub fn verify(&self, now: u64, opts: Option<&EnvelopeOptions>) -> Result<()> {
        let o = opts_c(opts)?;
        // SAFETY: self is live.
        check(unsafe { sys::ca_envelope_verify(self.as_ptr(), now, opt_ptr(&o)) })
    }

    pub fn kind(&self) -> u32 {
        // SAFETY: self is live.
        unsafe { sys::ca_envelope_kind(self.as_ptr()) }
    }

    pub fn kind_name(&self) -> Option<&'static str> {
        kind_name(self.kind())
    }

    pub fn sender(&self) -> PublicKey {
        let mut a = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
        // SAFETY: self is live; a writable.
        unsafe { sys::ca_envelope_sender(self.as_ptr(), &mut a) };
        a.bytes
    }

    /// did:key of the signer.
    pub fn sender_did(&self) -> String {
        did_encode(&self.sender()).unwrap_or_default()
    }

    pub fn recipient(&self) -> Option<PublicKey> {
        let mut a = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
        // SAFETY: self is live; a writable.
        if unsafe { sys::ca_envelope_recipient(self.as_ptr(), &mut a) } != 0 {
            Some(a.bytes)
        } else {
            None
        }
    }

    pub fn created_at(&self) -> u64 {
        // SAFETY: self is live.
        unsafe { sys::ca_envelope_created_at(self.as_ptr()) }
    }

    pub fn expires_at(&self) -> u64 {
        // SAFETY: self is live.
        unsafe { sys::ca_envelope_expires_at(self.as_ptr()) }
    }

    pub fn parent(&self) -> Option<Hash> {
        let mut h = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: self is live; h writable.
        if unsafe { sys::ca_envelope_parent(self.as_ptr(), &mut h) } != 0 {
            Some(h.bytes)
        } else {
            None
        }
    }

    /// Wire flags: `CA_ENVELOPE_COMPRESS`, `CA_ENVELOPE_SEAL`.
    pub fn flags(&self) -> u32 {
        // SAFETY: self is live.
        unsafe { sys::ca_envelope_flags(self.as_ptr()) }
    }

    /// Message id: BLAKE2b-256 of the signed bytes.
    pub fn id(&self) -> Hash {
        let mut h = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: self is live; h writable.
        unsafe { sys::ca_envelope_id(self.as_ptr(), &mut h) };
        h.bytes
    }

    pub fn signature(&self) -> Signature {
        let mut s = sys::ca_signature { bytes: [0; sys::CA_SIGNATURE_BYTES] };
        // SAFETY: self is live; s writable.
        unsafe { sys::ca_envelope_signature(self.as_ptr(), &mut s) };
        s.bytes
    }

    /// The body as the sender wrote it: decompressed (never past
    /// `max_body_bytes`), opened when sealed (`reader` must be the recipient).
    pub fn body(&self, reader: Option<&Identity>, opts: Option<&EnvelopeOptions>) -> Result<Vec<u8>> {
        let o = opts_c(opts)?;
        let r = reader.map_or(ptr::null(), |r| r.as_ptr());
        out_bytes(1024, |out, cap, n| unsafe {
            // SAFETY: out writable for cap; the rest valid for the call.
            sys::ca_envelope_body(self.as_ptr(), r, opt_ptr(&o), out, cap, n)
        })
    }

    /// The canonical encoded bytes.
    pub fn encoded(&self) -> Result<Vec<u8>> {
        out_bytes(512, |out, cap, n| unsafe {
            // SAFETY: out writable for cap.
            sys::ca_envelope_encoded(self.as_ptr(), out, cap, n)
        })
    }
}

impl Drop for Envelope {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_envelope_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("kind", &self.kind())
            .field("sender", &self.sender_did())
            .field("created_at", &self.created_at())
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

/// Replay guard settings; `None` keeps the library default
/// (`CA_REPLAY_GUARD_<FIELD>_DEFAULT`: 65 536 ids, capacity /
/// `CA_REPLAY_GUARD_SENDER_SHARE` (16) per sender, 30 000 ms skew, 24 h maximum lifetime).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayGuardOptions {
    pub capacity: Option<usize>,
    /// Ids one sender may hold (1 ..= capacity); default capacity /
    /// `CA_REPLAY_GUARD_SENDER_SHARE`, at least 1.
    pub max_per_sender: Option<usize>,
    /// The verifier's skew.
    pub max_skew_ms: Option<u64>,
    /// The verifier's maximum lifetime: a longer-lived envelope is never recorded.
    pub max_lifetime_ms: Option<u64>,
}

/// Remembers message ids until they expire, in memory fixed at creation
/// (rules, quota and bounds: envelope.h).
///
/// Thread safety (envelope.h): not thread-safe, so it is `Send` (one owner,
/// which may move between threads) but not `Sync`; wrap it in a `Mutex` to share.
pub struct ReplayGuard {
    ptr: NonNull<sys::ca_replay_guard>,
}

// SAFETY: the guard has no thread affinity; exclusive access is enforced by &mut.
unsafe impl Send for ReplayGuard {}

impl ReplayGuard {
    /// A guard for up to `capacity` ids, each kept until expires_at + `max_skew_ms`
    /// (use the skew given to verification); other settings at their defaults.
    pub fn new(capacity: usize, max_skew_ms: u64) -> Result<ReplayGuard> {
        Self::with_options(&ReplayGuardOptions {
            capacity: Some(capacity),
            max_skew_ms: Some(max_skew_ms),
            ..ReplayGuardOptions::default()
        })
    }

    /// A guard with the given settings.
    pub fn with_options(opts: &ReplayGuardOptions) -> Result<ReplayGuard> {
        let mut o = sys::ca_replay_guard_options {
            version: 0,
            capacity: 0,
            max_per_sender: 0,
            max_skew_ms: 0,
            max_lifetime_ms: 0,
        };
        // SAFETY: o is writable.
        check(unsafe { sys::ca_replay_guard_options_init(&mut o, sys::CA_REPLAY_GUARD_OPTIONS_VERSION) })?;
        if let Some(v) = opts.capacity {
            o.capacity = v;
        }
        if let Some(v) = opts.max_per_sender {
            o.max_per_sender = v;
        }
        if let Some(v) = opts.max_skew_ms {
            o.max_skew_ms = v;
        }
        if let Some(v) = opts.max_lifetime_ms {
            o.max_lifetime_ms = v;
        }
        let mut p = ptr::null_mut();
        // SAFETY: p is a valid out-pointer, o a valid options struct.
        check(unsafe { sys::ca_replay_guard_new(&mut p, &o) })?;
        Self::from_raw(p)
    }

    fn from_raw(p: *mut sys::ca_replay_guard) -> Result<ReplayGuard> {
        match NonNull::new(p) {
            Some(ptr) => Ok(ReplayGuard { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL replay guard")),
        }
    }

    /// Records the envelope's id: `CA_ERR_REPLAY` for a repeat, `CA_ERR_LIFETIME` past
    /// the maximum lifetime, `CA_ERR_NOT_YET_VALID`, `CA_ERR_EXPIRED`,
    /// `CA_ERR_REPLAY_QUOTA` when the sender holds its quota, `CA_ERR_REPLAY_FULL`
    /// when every slot holds an unexpired id.
    pub fn check(&mut self, env: &Envelope, now: u64) -> Result<()> {
        // SAFETY: exclusive access to the guard; env is live.
        check(unsafe { sys::ca_replay_guard_check(self.ptr.as_ptr(), env.as_ptr(), now) })
    }

    /// Number of ids currently remembered.
    pub fn len(&self) -> usize {
        // SAFETY: shared access only reads; the type is not Sync.
        unsafe { sys::ca_replay_guard_count(self.ptr.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for ReplayGuard {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_replay_guard_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayGuard({} ids)", self.len())
    }
}
