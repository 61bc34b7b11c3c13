//! Agent identity: Ed25519 keys, did:key text, encrypted key files, X25519.

use std::ffi::CString;
use std::fmt;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::error::{check, out_bytes, Error, Result};

/// A 32-byte Ed25519 public key: the agent id.
pub type PublicKey = [u8; sys::CA_AGENT_ID_BYTES];
/// A detached Ed25519 signature.
pub type Signature = [u8; sys::CA_SIGNATURE_BYTES];
/// A 32-byte secret seed (RFC 8032 secret key).
pub type Seed = [u8; sys::CA_SEED_BYTES];

/// Argon2id limits for key files; `None` keeps the library default.
///
/// Writing uses `opslimit`/`memlimit` (default: libsodium's "moderate",
/// `CA_KEYFILE_OPSLIMIT_DEFAULT` / `CA_KEYFILE_MEMLIMIT_DEFAULT`); reading
/// refuses, before any key derivation, files that ask for more than
/// `max_opslimit`/`max_memlimit` (default: the same "moderate" cost,
/// `CA_KEYFILE_MAX_*_DEFAULT`), and so does writing, since such a file could
/// not be read back with the same options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyfileOptions {
    pub opslimit: Option<u64>,
    pub memlimit: Option<usize>,
    pub max_opslimit: Option<u64>,
    pub max_memlimit: Option<usize>,
}

impl KeyfileOptions {
    fn to_c(self) -> Result<sys::ca_keyfile_options> {
        let mut o = sys::ca_keyfile_options {
            version: 0,
            opslimit: 0,
            memlimit: 0,
            max_opslimit: 0,
            max_memlimit: 0,
        };
        // SAFETY: o is a valid, writable options struct.
        check(unsafe { sys::ca_keyfile_options_init(&mut o, sys::CA_KEYFILE_OPTIONS_VERSION) })?;
        if let Some(v) = self.opslimit {
            o.opslimit = v;
        }
        if let Some(v) = self.memlimit {
            o.memlimit = v;
        }
        if let Some(v) = self.max_opslimit {
            o.max_opslimit = v;
        }
        if let Some(v) = self.max_memlimit {
            o.max_memlimit = v;
        }
        Ok(o)
    }
}

/// An agent's Ed25519 key pair. The secret key lives in the library's guarded
/// memory and is wiped on drop; it leaves only through [`Identity::export_seed`]
/// or an encrypted key file. `Debug` shows the did, never the secret.
///
/// Thread safety (identity.h): immutable after creation, any number of
/// threads may sign with one identity at once, hence `Send + Sync`.
///
/// ```
/// use cyberagent::Identity;
/// let me = Identity::from_seed(&[7u8; 32]).unwrap();
/// let sig = me.sign(b"example.com/greeting/v1", b"hello").unwrap();
/// assert!(cyberagent::verify_detached(&me.public_key(), b"example.com/greeting/v1", b"hello", &sig).unwrap());
/// assert!(me.did().starts_with("did:key:z6Mk"));
/// ```
pub struct Identity {
    ptr: NonNull<sys::ca_identity>,
    public_key: PublicKey,
}

// SAFETY: identity.h: "a ca_identity is immutable after creation; any number of
// threads may sign with one identity at once." Drop runs once, after all borrows.
unsafe impl Send for Identity {}
unsafe impl Sync for Identity {}

impl Identity {
    fn from_raw(p: *mut sys::ca_identity) -> Result<Identity> {
        let ptr = match NonNull::new(p) {
            Some(p) => p,
            None => return Err(Error::invalid_argument("library returned a NULL identity")),
        };
        let mut id = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
        // SAFETY: ptr is a live identity; id is writable.
        unsafe { sys::ca_identity_id(ptr.as_ptr(), &mut id) };
        Ok(Identity { ptr, public_key: id.bytes })
    }

    /// The raw handle, for calls into `cyberagent-sys`. Valid while `self` lives.
    pub fn as_ptr(&self) -> *const sys::ca_identity {
        self.ptr.as_ptr()
    }

    /// A new identity from the operating system's CSPRNG.
    pub fn generate() -> Result<Identity> {
        let mut p = ptr::null_mut();
        // SAFETY: p is a valid out-pointer.
        check(unsafe { sys::ca_identity_generate(&mut p) })?;
        Identity::from_raw(p)
    }

    /// The deterministic identity of a 32-byte seed (RFC 8032 secret key).
    pub fn from_seed(seed: &Seed) -> Result<Identity> {
        let mut p = ptr::null_mut();
        // SAFETY: seed is 32 readable bytes.
        check(unsafe { sys::ca_identity_from_seed(&mut p, seed.as_ptr()) })?;
        Identity::from_raw(p)
    }

    /// Opens key-file bytes made by [`Identity::to_encrypted`]. Fails with
    /// `CA_ERR_WRONG_PASSPHRASE`, `CA_ERR_KEYFILE_CORRUPT` or
    /// `CA_ERR_KEYFILE_TOO_COSTLY`.
    pub fn from_encrypted(data: &[u8], passphrase: &[u8], opts: Option<&KeyfileOptions>) -> Result<Identity> {
        let o = match opts {
            Some(o) => Some(o.to_c()?),
            None => None,
        };
        let mut p = ptr::null_mut();
        // SAFETY: all slices are valid for their lengths; options optional.
        check(unsafe {
            sys::ca_identity_import_encrypted(
                &mut p,
                data.as_ptr(),
                data.len(),
                passphrase.as_ptr() as *const c_char,
                passphrase.len(),
                o.as_ref().map_or(ptr::null(), |o| o as *const _),
            )
        })?;
        Identity::from_raw(p)
    }

    /// Loads an encrypted key file written by [`Identity::save`].
    pub fn load<P: AsRef<Path>>(
        path: P,
        passphrase: &[u8],
        opts: Option<&KeyfileOptions>,
    ) -> Result<Identity> {
        let o = match opts {
            Some(o) => Some(o.to_c()?),
            None => None,
        };
        let c = path_cstring(path.as_ref())?;
        let mut p = ptr::null_mut();
        // SAFETY: c is NUL-terminated; passphrase valid for its length.
        check(unsafe {
            sys::ca_identity_load(
                &mut p,
                c.as_ptr(),
                passphrase.as_ptr() as *const c_char,
                passphrase.len(),
                o.as_ref().map_or(ptr::null(), |o| o as *const _),
            )
        })?;
        Identity::from_raw(p)
    }

    /// Writes an encrypted key file (mode 0600, atomic replace).
    pub fn save<P: AsRef<Path>>(
        &self,
        path: P,
        passphrase: &[u8],
        opts: Option<&KeyfileOptions>,
    ) -> Result<()> {
        let o = match opts {
            Some(o) => Some(o.to_c()?),
            None => None,
        };
        let c = path_cstring(path.as_ref())?;
        // SAFETY: as above; self is live.
        check(unsafe {
            sys::ca_identity_save(
                self.as_ptr(),
                c.as_ptr(),
                passphrase.as_ptr() as *const c_char,
                passphrase.len(),
                o.as_ref().map_or(ptr::null(), |o| o as *const _),
            )
        })
    }

    /// The encrypted key-file bytes (`CA_KEYFILE_BYTES` long).
    pub fn to_encrypted(&self, passphrase: &[u8], opts: Option<&KeyfileOptions>) -> Result<Vec<u8>> {
        let o = match opts {
            Some(o) => Some(o.to_c()?),
            None => None,
        };
        let op = o.as_ref().map_or(ptr::null(), |o| o as *const _);
        out_bytes(sys::CA_KEYFILE_BYTES, |out, cap, n| unsafe {
            // SAFETY: out is writable for cap bytes, n is a valid out-pointer.
            sys::ca_identity_export_encrypted(
                self.as_ptr(),
                passphrase.as_ptr() as *const c_char,
                passphrase.len(),
                op,
                out,
                cap,
                n,
            )
        })
    }

    /// The secret seed. The caller should wipe it ([`wipe`](crate::wipe)) after use.
    pub fn export_seed(&self) -> Result<Seed> {
        let mut seed = [0u8; sys::CA_SEED_BYTES];
        // SAFETY: seed has 32 writable bytes.
        check(unsafe { sys::ca_identity_export_seed(self.as_ptr(), seed.as_mut_ptr()) })?;
        Ok(seed)
    }

    /// The 32-byte public key, which is the agent id.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The `did:key:z6Mk...` text form of the agent id.
    pub fn did(&self) -> String {
        // A valid key always encodes; the buffer always suffices.
        did_encode(&self.public_key).unwrap_or_default()
    }

    /// The X25519 public key others seal bodies to.
    pub fn x25519_public_key(&self) -> Result<[u8; sys::CA_X25519_PUBLIC_BYTES]> {
        x25519_public_key(&self.public_key)
    }

    /// Detached Ed25519 signature of `message` under the application `tag`.
    ///
    /// The tag names what the signature means (e.g. `b"example.com/chat/v1"`):
    /// 1..`CA_SIGN_TAG_MAX_BYTES` bytes, not beginning `cyberagent/` (reserved),
    /// else `CA_ERR_BAD_SIGN_TAG`. What is signed is [`app_signed_bytes`], never
    /// `message` alone, so no message, whoever chose it, yields a signature that
    /// verifies as an envelope, card or ledger op of this identity.
    pub fn sign(&self, tag: &[u8], message: &[u8]) -> Result<Signature> {
        let mut sig = sys::ca_signature { bytes: [0; sys::CA_SIGNATURE_BYTES] };
        // SAFETY: tag and message valid for their lengths; sig writable.
        check(unsafe {
            sys::ca_identity_sign_tagged(
                self.as_ptr(),
                tag.as_ptr() as *const c_char,
                tag.len(),
                message.as_ptr(),
                message.len(),
                &mut sig,
            )
        })?;
        Ok(sig.bytes)
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and freed exactly once.
        unsafe { sys::ca_identity_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({})", self.did())
    }
}

fn path_cstring(path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::invalid_argument("path contains a NUL byte"))
}

/// What an application signature covers: this prefix, one byte holding the
/// tag's length, the tag, the message (identity.h, docs/IDENTITY.md).
pub const SIGN_APP_PREFIX: &[u8] = b"cyberagent/app/";

/// The bytes [`Identity::sign`] signs for `tag` and `message`, to check a
/// signature with another Ed25519 implementation. The tag is not checked
/// here (signing and verifying check it); `None` when it is longer than 255
/// bytes and so cannot be encoded at all.
pub fn app_signed_bytes(tag: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    let len = u8::try_from(tag.len()).ok()?;
    let mut v = Vec::with_capacity(SIGN_APP_PREFIX.len() + 1 + tag.len() + message.len());
    v.extend_from_slice(SIGN_APP_PREFIX);
    v.push(len);
    v.extend_from_slice(tag);
    v.extend_from_slice(message);
    Some(v)
}

/// Whether `signature` is `public_key`'s application signature of `message`
/// under `tag` (libsodium's strict rules). `Ok(false)` when it does not verify,
/// which includes every envelope, card and ledger-op signature;
/// `CA_ERR_BAD_SIGN_TAG` for a tag [`Identity::sign`] would refuse.
///
/// ```
/// let me = cyberagent::Identity::generate().unwrap();
/// let sig = me.sign(b"t", b"m").unwrap();
/// assert_eq!(cyberagent::verify_detached(&me.public_key(), b"t", b"other", &sig), Ok(false));
/// assert_eq!(cyberagent::verify_detached(&me.public_key(), b"u", b"m", &sig), Ok(false));
/// ```
pub fn verify_detached(
    public_key: &PublicKey,
    tag: &[u8],
    message: &[u8],
    signature: &Signature,
) -> Result<bool> {
    let id = sys::ca_agent_id { bytes: *public_key };
    let sig = sys::ca_signature { bytes: *signature };
    // SAFETY: all pointers valid for the call.
    let st = unsafe {
        sys::ca_identity_verify_tagged(
            &id,
            tag.as_ptr() as *const c_char,
            tag.len(),
            message.as_ptr(),
            message.len(),
            &sig,
        )
    };
    match st {
        sys::CA_OK => Ok(true),
        sys::CA_ERR_BAD_SIGNATURE => Ok(false),
        other => Err(Error::from_status(other)),
    }
}

/// The `did:key:z...` text of a public key.
pub fn did_encode(public_key: &PublicKey) -> Result<String> {
    let id = sys::ca_agent_id { bytes: *public_key };
    let bytes = out_bytes(sys::CA_DID_MAX_CHARS + 1, |out, cap, n| unsafe {
        // SAFETY: out writable for cap bytes.
        sys::ca_did_encode(&id, out as *mut c_char, cap, n)
    })?;
    String::from_utf8(bytes).map_err(|_| Error::invalid_argument("did is not UTF-8"))
}

/// The public key of a canonical Ed25519 did:key; `CA_ERR_BAD_DID` otherwise.
///
/// ```
/// let err = cyberagent::did_parse("did:web:example.com").unwrap_err();
/// assert_eq!(err.name(), "CA_ERR_BAD_DID");
/// ```
pub fn did_parse(did: &str) -> Result<PublicKey> {
    let mut id = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
    // SAFETY: did valid for its length (need not be NUL-terminated).
    check(unsafe { sys::ca_did_parse(did.as_ptr() as *const c_char, did.len(), &mut id) })?;
    Ok(id.bytes)
}

/// The X25519 public key of an agent; `CA_ERR_BAD_KEY` when not a valid point.
pub fn x25519_public_key(public_key: &PublicKey) -> Result<[u8; sys::CA_X25519_PUBLIC_BYTES]> {
    let id = sys::ca_agent_id { bytes: *public_key };
    let mut out = [0u8; sys::CA_X25519_PUBLIC_BYTES];
    // SAFETY: out has the required 32 bytes.
    check(unsafe { sys::ca_agent_x25519_public(&id, out.as_mut_ptr()) })?;
    Ok(out)
}
