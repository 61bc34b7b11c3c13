//! Delegation: a signed, narrow, capped right to act for an agent, passed on
//! in chains that only narrow; revocations by an issuer of the chain
//! (delegation.h, docs/IDENTITY.md "Delegation").

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int, c_void};
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::error::{check, out_bytes, Error, Result};
use crate::identity::{Identity, PublicKey};
use crate::Hash;

/// `Ok(())` when `pattern` is a capability name, `name.*` or `*`, else `CA_ERR_BAD_CAPABILITY`.
///
/// ```
/// assert!(cyberagent::capability_pattern_check("llm.*").is_ok());
/// assert!(cyberagent::capability_pattern_check("llm.**").is_err());
/// ```
pub fn capability_pattern_check(pattern: &str) -> Result<()> {
    // SAFETY: pattern valid for its length.
    check(unsafe { sys::ca_capability_pattern_check(pattern.as_ptr() as *const c_char, pattern.len()) })
}

/// True when every name `inner` matches is matched by `outer` (a name matches only itself).
///
/// ```
/// assert!(cyberagent::capability_pattern_covers("llm.*", "llm.translate.en-fr"));
/// assert!(!cyberagent::capability_pattern_covers("llm.translate.en-fr", "llm.*"));
/// ```
pub fn capability_pattern_covers(outer: &str, inner: &str) -> bool {
    // SAFETY: both valid for their lengths.
    unsafe {
        sys::ca_capability_pattern_covers(
            outer.as_ptr() as *const c_char,
            outer.len(),
            inner.as_ptr() as *const c_char,
            inner.len(),
        ) != 0
    }
}

/// The limits: (most links in a chain, patterns per delegation, bytes of a pattern).
pub fn delegation_limits() -> [usize; 3] {
    // SAFETY: pure functions.
    unsafe {
        [
            sys::ca_delegation_max_depth(),
            sys::ca_delegation_capabilities_max(),
            sys::ca_capability_pattern_max(),
        ]
    }
}

/// What goes into a new delegation (times in ms since the Unix epoch, caps in ledger units).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DelegationParams {
    pub audience: PublicKey,
    /// Patterns: a name, `name.*` or `*`; any order, distinct, 1 ..= 16.
    pub capabilities: Vec<String>,
    pub total_cap: u64,
    /// At most `total_cap`.
    pub task_cap: u64,
    pub not_before: u64,
    /// After `not_before` and `created_at`.
    pub expires_at: u64,
    pub nonce: u64,
    /// The id of the delegation this one narrows; `None` for a root.
    pub parent: Option<Hash>,
    pub created_at: u64,
}

/// Signs a delegation from `issuer`; returns its bytes and id.
///
/// ```
/// use cyberagent::{Delegation, DelegationParams, Identity};
/// let (a, b) = (Identity::generate()?, Identity::generate()?);
/// let params = DelegationParams {
///     audience: b.public_key(),
///     capabilities: vec!["llm.*".into()],
///     total_cap: 1000,
///     task_cap: 100,
///     not_before: 0,
///     expires_at: 10_000,
///     ..Default::default()
/// };
/// let (bytes, id) = cyberagent::sign_delegation(&a, &params)?;
/// let d = Delegation::open(&bytes)?;
/// assert_eq!(d.info()?.id, id);
/// let granted = cyberagent::verify_chain(&[&d], 5_000, None, None)?;
/// assert_eq!(granted.delegate, b.public_key());
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub fn sign_delegation(issuer: &Identity, params: &DelegationParams) -> Result<(Vec<u8>, Hash)> {
    let mut names = Vec::with_capacity(params.capabilities.len());
    for c in &params.capabilities {
        names.push(
            CString::new(c.as_str())
                .map_err(|_| Error::invalid_argument("capability contains a NUL byte"))?,
        );
    }
    let ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let audience = sys::ca_agent_id { bytes: params.audience };
    let parent = params.parent.map(|h| sys::ca_hash { bytes: h });
    // SAFETY: zeroed is a valid bit pattern for the params (NULL pointers, zeros); init sets it.
    let mut p: sys::ca_delegation_params = unsafe { std::mem::zeroed() };
    // SAFETY: p is a valid params struct.
    check(unsafe { sys::ca_delegation_params_init(&mut p, sys::CA_DELEGATION_PARAMS_VERSION) })?;
    p.audience = &audience;
    p.capabilities = if ptrs.is_empty() { ptr::null() } else { ptrs.as_ptr() };
    p.capability_count = ptrs.len();
    p.total_cap = params.total_cap;
    p.task_cap = params.task_cap;
    p.not_before = params.not_before;
    p.expires_at = params.expires_at;
    p.nonce = params.nonce;
    p.parent = parent.as_ref().map_or(ptr::null(), |h| h as *const _);
    p.created_at = params.created_at;
    let mut id = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
    let bytes = out_bytes(512, |out, cap, n| {
        // SAFETY: every pointer in p outlives the call; out is cap bytes.
        unsafe { sys::ca_delegation_sign(issuer.as_ptr(), &p, out, cap, n, &mut id) }
    })?;
    Ok((bytes, id.bytes))
}

/// A delegation's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationInfo {
    pub issuer: PublicKey,
    pub audience: PublicKey,
    pub id: Hash,
    pub parent: Option<Hash>,
    pub signature_checked: bool,
    pub created_at: u64,
    pub not_before: u64,
    pub expires_at: u64,
    pub total_cap: u64,
    pub task_cap: u64,
    pub nonce: u64,
    pub capabilities: Vec<String>,
}

/// A decoded delegation. Immutable (delegation.h): `Send + Sync`.
pub struct Delegation {
    ptr: NonNull<sys::ca_delegation>,
}

// SAFETY: delegation.h: "a ca_delegation is immutable; any number of threads may read one at once".
unsafe impl Send for Delegation {}
unsafe impl Sync for Delegation {}

impl Delegation {
    fn from_raw(p: *mut sys::ca_delegation) -> Result<Delegation> {
        NonNull::new(p)
            .map(|ptr| Delegation { ptr })
            .ok_or_else(|| Error::invalid_argument("library returned a NULL delegation"))
    }

    /// Strict decoder, no signature check (the chain verification checks it).
    pub fn decode(data: &[u8]) -> Result<Delegation> {
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length.
        check(unsafe { sys::ca_delegation_decode(&mut p, data.as_ptr(), data.len()) })?;
        Delegation::from_raw(p)
    }

    /// Decode and check the issuer's signature once (chains then skip it).
    pub fn open(data: &[u8]) -> Result<Delegation> {
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length.
        check(unsafe { sys::ca_delegation_open(&mut p, data.as_ptr(), data.len()) })?;
        Delegation::from_raw(p)
    }

    /// The raw handle, valid while `self` lives.
    pub fn as_ptr(&self) -> *const sys::ca_delegation {
        self.ptr.as_ptr()
    }

    /// Capability patterns in ascending byte order.
    pub fn capabilities(&self) -> Vec<String> {
        let mut out = Vec::new();
        for k in 0.. {
            // SAFETY: live handle; the string lives as long as it.
            let p = unsafe { sys::ca_delegation_capability(self.as_ptr(), k) };
            if p.is_null() {
                break;
            }
            // SAFETY: NUL-terminated ASCII.
            out.push(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
        }
        out
    }

    pub fn info(&self) -> Result<DelegationInfo> {
        // SAFETY: zeroed is a valid info struct; the version is set before the call.
        let mut i: sys::ca_delegation_info = unsafe { std::mem::zeroed() };
        i.version = sys::CA_DELEGATION_INFO_VERSION;
        // SAFETY: live handle, valid out struct.
        check(unsafe { sys::ca_delegation_get(self.as_ptr(), &mut i) })?;
        Ok(DelegationInfo {
            issuer: i.issuer.bytes,
            audience: i.audience.bytes,
            id: i.id.bytes,
            parent: if i.has_parent != 0 { Some(i.parent.bytes) } else { None },
            signature_checked: i.signature_checked != 0,
            created_at: i.created_at,
            not_before: i.not_before,
            expires_at: i.expires_at,
            total_cap: i.total_cap,
            task_cap: i.task_cap,
            nonce: i.nonce,
            capabilities: self.capabilities(),
        })
    }

    /// `Ok(true)` when a pattern covers `capability`, `Ok(false)` when none does,
    /// `Err` (`CA_ERR_BAD_CAPABILITY`) for a malformed one.
    pub fn grants(&self, capability: &str) -> Result<bool> {
        // SAFETY: live handle; capability valid for its length.
        let st = unsafe {
            sys::ca_delegation_grants(self.as_ptr(), capability.as_ptr() as *const c_char, capability.len())
        };
        if st == sys::CA_ERR_DELEGATION_CAPABILITY {
            return Ok(false);
        }
        check(st).map(|_| true)
    }

    /// The canonical encoded bytes.
    pub fn encoded(&self) -> Result<Vec<u8>> {
        // SAFETY: live handle; out is cap bytes.
        out_bytes(512, |out, cap, n| unsafe { sys::ca_delegation_encoded(self.as_ptr(), out, cap, n) })
    }
}

impl Drop for Delegation {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_delegation_free(self.ptr.as_ptr()) }
    }
}

/// What a verified chain grants: the leaf's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainInfo {
    pub delegator: PublicKey,
    pub delegate: PublicKey,
    pub root: Hash,
    pub leaf: Hash,
    pub depth: usize,
    pub total_cap: u64,
    pub task_cap: u64,
    pub not_before: u64,
    pub expires_at: u64,
}

/// Verified revocations keyed by (delegation id, revoker). One owner at a time: `Send`, not `Sync`.
pub struct RevocationSet {
    ptr: NonNull<sys::ca_revocation_set>,
}

// SAFETY: delegation.h: one owner at a time; moving it between threads is fine.
unsafe impl Send for RevocationSet {}

impl RevocationSet {
    pub fn new(max_entries: usize) -> Result<RevocationSet> {
        let mut p = ptr::null_mut();
        // SAFETY: out pointer valid.
        check(unsafe { sys::ca_revocation_set_new(&mut p, max_entries) })?;
        NonNull::new(p)
            .map(|ptr| RevocationSet { ptr })
            .ok_or_else(|| Error::invalid_argument("library returned a NULL set"))
    }

    /// Opens the revocation (signature checked) and adds it; a repeat is a no-op.
    pub fn add(&mut self, data: &[u8]) -> Result<()> {
        // SAFETY: live handle, data valid for its length.
        check(unsafe { sys::ca_revocation_set_add(self.ptr.as_ptr(), data.as_ptr(), data.len()) })
    }

    /// The C handle, for `ca_task_options.revocations`: the set must then outlive
    /// the task thread and not be added to during a call on it.
    pub fn as_ptr(&self) -> *const sys::ca_revocation_set {
        self.ptr.as_ptr()
    }

    pub fn contains(&self, delegation: &Hash, revoker: &PublicKey) -> bool {
        let h = sys::ca_hash { bytes: *delegation };
        let a = sys::ca_agent_id { bytes: *revoker };
        // SAFETY: live handle and valid pointers.
        unsafe { sys::ca_revocation_set_contains(self.ptr.as_ptr(), &h, &a) != 0 }
    }

    pub fn len(&self) -> usize {
        // SAFETY: live handle.
        unsafe { sys::ca_revocation_set_count(self.ptr.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for RevocationSet {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_revocation_set_free(self.ptr.as_ptr()) }
    }
}

type Lookup<'a> = &'a dyn Fn(&Hash, &PublicKey) -> bool;

unsafe extern "C" fn call_lookup(
    ctx: *mut c_void,
    delegation: *const sys::ca_hash,
    revoker: *const sys::ca_agent_id,
) -> c_int {
    // SAFETY: ctx is the &Lookup passed by verify_chain for the duration of the call; the
    // library passes valid pointers.
    let f = unsafe { &*(ctx as *const Lookup<'_>) };
    let (d, r) = unsafe { (&(*delegation).bytes, &(*revoker).bytes) };
    // A panic must not unwind through C: it counts as "revoked".
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(d, r))) {
        Ok(revoked) => revoked as c_int,
        Err(_) => 1,
    }
}

/// Verifies an ordered chain (root first) at `now` with optional revocations: a
/// set, and/or `lookup(delegation_id, revoker)`. Errors carry the precise status
/// (`CA_ERR_DELEGATION_*`, `CA_ERR_NOT_YET_VALID`, `CA_ERR_EXPIRED`,
/// `CA_ERR_BAD_SIGNATURE`, `CA_ERR_LIMIT` past 8 links; docs/IDENTITY.md).
pub fn verify_chain(
    chain: &[&Delegation],
    now: u64,
    revocations: Option<&RevocationSet>,
    lookup: Option<&dyn Fn(&Hash, &PublicKey) -> bool>,
) -> Result<ChainInfo> {
    let ptrs: Vec<*const sys::ca_delegation> = chain.iter().map(|d| d.as_ptr()).collect();
    // SAFETY: zeroed is a valid options struct; init sets it.
    let mut o: sys::ca_delegation_verify_options = unsafe { std::mem::zeroed() };
    // SAFETY: valid struct.
    check(unsafe {
        sys::ca_delegation_verify_options_init(&mut o, sys::CA_DELEGATION_VERIFY_OPTIONS_VERSION)
    })?;
    o.revocations = revocations.map_or(ptr::null(), |s| s.ptr.as_ptr() as *const _);
    let holder: Option<Lookup<'_>> = lookup;
    if let Some(f) = holder.as_ref() {
        o.lookup = Some(call_lookup);
        o.lookup_ctx = f as *const Lookup<'_> as *mut c_void;
    }
    // SAFETY: zeroed is a valid result struct; the version is set.
    let mut info: sys::ca_delegation_chain_info = unsafe { std::mem::zeroed() };
    info.version = sys::CA_DELEGATION_CHAIN_INFO_VERSION;
    // SAFETY: the handles, the options and `holder` live through the call.
    check(unsafe {
        sys::ca_delegation_chain_verify(
            if ptrs.is_empty() { ptr::null() } else { ptrs.as_ptr() },
            ptrs.len(),
            now,
            &o,
            &mut info,
        )
    })?;
    Ok(ChainInfo {
        delegator: info.delegator.bytes,
        delegate: info.delegate.bytes,
        root: info.root.bytes,
        leaf: info.leaf.bytes,
        depth: info.depth,
        total_cap: info.total_cap,
        task_cap: info.task_cap,
        not_before: info.not_before,
        expires_at: info.expires_at,
    })
}

/// A revocation's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationInfo {
    pub revoker: PublicKey,
    pub delegation: Hash,
    pub id: Hash,
    pub created_at: u64,
    pub expires_at: u64,
}

/// Signs a revocation of delegation `delegation` (its id).
pub fn sign_revocation(
    revoker: &Identity,
    delegation: &Hash,
    created_at: u64,
    expires_at: u64,
) -> Result<Vec<u8>> {
    let h = sys::ca_hash { bytes: *delegation };
    out_bytes(256, |out, cap, n| {
        // SAFETY: valid pointers; out is cap bytes.
        unsafe {
            sys::ca_revocation_sign(
                revoker.as_ptr(),
                &h,
                created_at,
                expires_at,
                out,
                cap,
                n,
                ptr::null_mut(),
            )
        }
    })
}

fn revocation(data: &[u8], open: bool) -> Result<RevocationInfo> {
    // SAFETY: zeroed is a valid info struct; the version is set.
    let mut i: sys::ca_revocation_info = unsafe { std::mem::zeroed() };
    i.version = sys::CA_REVOCATION_INFO_VERSION;
    // SAFETY: data valid for its length.
    check(unsafe {
        if open {
            sys::ca_revocation_open(data.as_ptr(), data.len(), &mut i)
        } else {
            sys::ca_revocation_decode(data.as_ptr(), data.len(), &mut i)
        }
    })?;
    Ok(RevocationInfo {
        revoker: i.revoker.bytes,
        delegation: i.delegation.bytes,
        id: i.id.bytes,
        created_at: i.created_at,
        expires_at: i.expires_at,
    })
}

/// Strict decoder of a revocation, no signature check.
pub fn revocation_decode(data: &[u8]) -> Result<RevocationInfo> {
    revocation(data, false)
}

/// Decode and check the revoker's signature.
pub fn revocation_open(data: &[u8]) -> Result<RevocationInfo> {
    revocation(data, true)
}
