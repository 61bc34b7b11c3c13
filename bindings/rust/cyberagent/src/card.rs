//! Agent cards: an agent's signed self-description, carried in a
//! `CA_KIND_CARD` envelope (docs/PROTOCOL.md).

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::c_char;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::envelope::{Envelope, EnvelopeOptions};
use crate::error::{check, out_bytes, Error, Result};
use crate::identity::{did_encode, Identity, PublicKey};
use crate::Hash;

/// One advertised capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capability {
    /// Dotted name, e.g. `"llm.translate.en-fr"`.
    pub name: String,
    /// Price per task in integer base units.
    pub price: u64,
    /// Promised latency bound in ms; 0 = none.
    pub latency_ms: u64,
}

impl Capability {
    pub fn new(name: &str, price: u64, latency_ms: u64) -> Capability {
        Capability { name: name.to_string(), price, latency_ms }
    }
}

/// What goes into a new card.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CardParams {
    pub name: String,
    pub description: Option<String>,
    pub endpoint: String,
    pub stake: u64,
    pub not_before: u64,
    pub not_after: u64,
    pub sequence: u64,
    pub capabilities: Vec<Capability>,
    pub created_at: u64,
}

/// `Ok(())` when `name` follows the capability grammar, else `CA_ERR_BAD_CAPABILITY`.
///
/// ```
/// assert!(cyberagent::capability_check("llm.translate.en-fr").is_ok());
/// assert!(cyberagent::capability_check("Not Valid").is_err());
/// ```
pub fn capability_check(name: &str) -> Result<()> {
    // SAFETY: name valid for its length.
    check(unsafe { sys::ca_capability_check(name.as_ptr() as *const c_char, name.len()) })
}

/// The card limits: (name, description, endpoint, capabilities, capability name, segments).
pub fn card_limits() -> [usize; 6] {
    // SAFETY: pure functions.
    unsafe {
        [
            sys::ca_card_name_max(),
            sys::ca_card_description_max(),
            sys::ca_card_endpoint_max(),
            sys::ca_card_capabilities_max(),
            sys::ca_capability_max(),
            sys::ca_capability_segments_max(),
        ]
    }
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid_argument(&format!("{} contains a NUL byte", what)))
}

/// Signs a card as a `CA_KIND_CARD` envelope; returns its bytes and message id.
///
/// ```
/// use cyberagent::{Capability, Card, CardParams, Identity};
/// let me = Identity::generate()?;
/// let params = CardParams {
///     name: "Translator".into(),
///     endpoint: "agents.translator".into(),
///     capabilities: vec![Capability::new("llm.translate.en-fr", 50, 0)],
///     not_before: 0,
///     not_after: 100_000,
///     created_at: 0,
///     ..Default::default()
/// };
/// let (bytes, _id) = cyberagent::sign_card(&me, &params)?;
/// let card = Card::open(&bytes, 10, None)?;
/// assert_eq!(card.name(), "Translator");
/// assert_eq!(card.find_capability("llm.translate.en-fr")?.unwrap().price, 50);
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub fn sign_card(signer: &Identity, params: &CardParams) -> Result<(Vec<u8>, Hash)> {
    let name = cstring(&params.name, "name")?;
    let description = match &params.description {
        Some(d) => Some(cstring(d, "description")?),
        None => None,
    };
    let endpoint = cstring(&params.endpoint, "endpoint")?;
    let mut cap_names = Vec::with_capacity(params.capabilities.len());
    for c in &params.capabilities {
        cap_names.push(cstring(&c.name, "capability name")?);
    }
    let caps: Vec<sys::ca_card_capability> = params
        .capabilities
        .iter()
        .zip(cap_names.iter())
        .map(|(c, n)| sys::ca_card_capability { name: n.as_ptr(), price: c.price, latency_ms: c.latency_ms })
        .collect();
    let mut p = sys::ca_card_params {
        version: 0,
        name: ptr::null(),
        description: ptr::null(),
        endpoint: ptr::null(),
        stake: 0,
        not_before: 0,
        not_after: 0,
        sequence: 0,
        capabilities: ptr::null(),
        capability_size: 0,
        capability_count: 0,
        created_at: 0,
    };
    // SAFETY: p is writable.
    check(unsafe { sys::ca_card_params_init(&mut p, sys::CA_CARD_PARAMS_VERSION) })?;
    p.name = name.as_ptr();
    p.description = description.as_ref().map_or(ptr::null(), |d| d.as_ptr());
    p.endpoint = endpoint.as_ptr();
    p.stake = params.stake;
    p.not_before = params.not_before;
    p.not_after = params.not_after;
    p.sequence = params.sequence;
    p.capabilities = if caps.is_empty() { ptr::null() } else { caps.as_ptr() };
    p.capability_size = std::mem::size_of::<sys::ca_card_capability>();
    p.capability_count = caps.len();
    p.created_at = params.created_at;
    let mut id = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
    let bytes = out_bytes(1024, |out, cap, n| unsafe {
        // SAFETY: every string and the capability array outlive the call.
        sys::ca_card_sign(signer.as_ptr(), &p, out, cap, n, &mut id)
    })?;
    Ok((bytes, id.bytes))
}

/// A parsed, verified card. Immutable (card.h): `Send + Sync`.
pub struct Card {
    ptr: NonNull<sys::ca_card>,
}

// SAFETY: card.h: "a ca_card is immutable; any number of threads may read one at once."
unsafe impl Send for Card {}
unsafe impl Sync for Card {}

unsafe fn text<'a>(p: *const c_char) -> &'a str {
    if p.is_null() {
        return "";
    }
    // SAFETY: the caller passes a NUL-terminated UTF-8 string living as long as 'a.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}

impl Card {
    fn from_raw(p: *mut sys::ca_card) -> Result<Card> {
        match NonNull::new(p) {
            Some(ptr) => Ok(Card { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL card")),
        }
    }

    /// Decode + verify at `now` + parse, and require the validity window.
    pub fn open(data: &[u8], now: u64, opts: Option<&EnvelopeOptions>) -> Result<Card> {
        let o = match opts {
            Some(o) => Some(o.to_c()?),
            None => None,
        };
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length.
        check(unsafe {
            sys::ca_card_open(
                &mut p,
                data.as_ptr(),
                data.len(),
                now,
                o.as_ref().map_or(ptr::null(), |o| o as *const _),
            )
        })?;
        Card::from_raw(p)
    }

    /// Parses a card from an envelope the caller has verified (window not checked).
    /// The envelope must be the one `sign` writes: no flags, expiring at the card's
    /// `not_after` (else `CA_ERR_MALFORMED`).
    pub fn parse(env: &Envelope) -> Result<Card> {
        let mut p = ptr::null_mut();
        // SAFETY: env is live.
        check(unsafe { sys::ca_card_parse(&mut p, env.as_ptr()) })?;
        Card::from_raw(p)
    }

    fn raw(&self) -> *const sys::ca_card {
        self.ptr.as_ptr()
    }

    /// The raw handle, valid while `self` lives.
    pub fn as_ptr(&self) -> *const sys::ca_card {
        self.ptr.as_ptr()
    }

    /// Public key of the agent (the envelope's sender).
    pub fn agent(&self) -> PublicKey {
        let mut a = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
        // SAFETY: live handle.
        unsafe { sys::ca_card_agent(self.raw(), &mut a) };
        a.bytes
    }

    pub fn agent_did(&self) -> String {
        did_encode(&self.agent()).unwrap_or_default()
    }

    pub fn message_id(&self) -> Hash {
        let mut h = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: live handle.
        unsafe { sys::ca_card_message_id(self.raw(), &mut h) };
        h.bytes
    }

    pub fn created_at(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { sys::ca_card_created_at(self.raw()) }
    }

    pub fn name(&self) -> &str {
        // SAFETY: the string lives as long as the card (card.h).
        unsafe { text(sys::ca_card_name(self.raw())) }
    }

    pub fn description(&self) -> &str {
        // SAFETY: as above.
        unsafe { text(sys::ca_card_description(self.raw())) }
    }

    pub fn endpoint(&self) -> &str {
        // SAFETY: as above.
        unsafe { text(sys::ca_card_endpoint(self.raw())) }
    }

    pub fn stake(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { sys::ca_card_stake(self.raw()) }
    }

    pub fn not_before(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { sys::ca_card_not_before(self.raw()) }
    }

    pub fn not_after(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { sys::ca_card_not_after(self.raw()) }
    }

    pub fn sequence(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { sys::ca_card_sequence(self.raw()) }
    }

    /// True when not_before <= now <= not_after.
    pub fn valid_at(&self, now: u64) -> bool {
        // SAFETY: live handle.
        unsafe { sys::ca_card_valid_at(self.raw(), now) != 0 }
    }

    pub fn capability_count(&self) -> usize {
        // SAFETY: live handle.
        unsafe { sys::ca_card_capability_count(self.raw()) }
    }

    fn conv(c: &sys::ca_card_capability) -> Capability {
        // SAFETY: the name lives as long as the card; copied here.
        let name = unsafe { text(c.name) }.to_string();
        Capability { name, price: c.price, latency_ms: c.latency_ms }
    }

    /// Capability number `index` (ascending name order); `CA_ERR_NOT_FOUND` out of range.
    pub fn capability_at(&self, index: usize) -> Result<Capability> {
        let mut c = sys::ca_card_capability { name: ptr::null(), price: 0, latency_ms: 0 };
        // SAFETY: live handle, c writable.
        let size = std::mem::size_of_val(&c);
        check(unsafe { sys::ca_card_capability_at(self.raw(), index, &mut c, size) })?;
        Ok(Card::conv(&c))
    }

    /// All capabilities, in ascending byte order of their names.
    pub fn capabilities(&self) -> Result<Vec<Capability>> {
        (0..self.capability_count()).map(|i| self.capability_at(i)).collect()
    }

    /// The capability with this exact name, if any.
    pub fn find_capability(&self, name: &str) -> Result<Option<Capability>> {
        let mut c = sys::ca_card_capability { name: ptr::null(), price: 0, latency_ms: 0 };
        // SAFETY: name valid for its length.
        let st = unsafe {
            sys::ca_card_find_capability(
                self.raw(),
                name.as_ptr() as *const c_char,
                name.len(),
                &mut c,
                std::mem::size_of::<sys::ca_card_capability>(),
            )
        };
        match st {
            sys::CA_OK => Ok(Some(Card::conv(&c))),
            sys::CA_ERR_NOT_FOUND => Ok(None),
            other => Err(Error::from_status(other)),
        }
    }

    /// The card as an A2A Agent Card JSON document.
    pub fn to_a2a_json(&self) -> Result<String> {
        let mut v = out_bytes(2048, |out, cap, n| unsafe {
            // SAFETY: out writable for cap.
            sys::ca_card_to_a2a_json(self.raw(), out as *mut c_char, cap, n)
        })?;
        v.truncate(v.iter().position(|&b| b == 0).unwrap_or(v.len()));
        String::from_utf8(v).map_err(|_| Error::invalid_argument("A2A JSON is not UTF-8"))
    }
}

impl Card {
    /// The card as a signed A2A v1.0 Agent Card: RFC 8785 canonical JSON with one
    /// JWS (alg EdDSA, kid the signer's did:key URL) by `signer`, which must be
    /// the card's agent (`CA_ERR_KEY_MISMATCH`). Deterministic.
    pub fn to_a2a_signed_json(&self, signer: &Identity) -> Result<String> {
        let v = out_bytes(4096, |out, cap, n| unsafe {
            // SAFETY: live handles; out writable for cap.
            sys::ca_card_to_a2a_signed_json(self.raw(), signer.as_ptr(), out as *mut c_char, cap, n)
        })?;
        String::from_utf8(v).map_err(|_| Error::invalid_argument("A2A JSON is not UTF-8"))
    }
}

/// RFC 8785 canonical form of a JSON text under the library's strict JSON rules
/// (no duplicate names, valid UTF-8, no lone surrogates; numbers only integers of
/// magnitude <= 2^53, others `CA_ERR_UNSUPPORTED`).
///
/// ```
/// assert_eq!(cyberagent::jcs_canonicalize("{\"b\": 1E2, \"a\": [true]}")?, "{\"a\":[true],\"b\":100}");
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub fn jcs_canonicalize(json: &str) -> Result<String> {
    let v = out_bytes(json.len() + 16, |out, cap, n| unsafe {
        // SAFETY: json valid for its length; out writable for cap.
        sys::ca_jcs_canonicalize(json.as_ptr() as *const c_char, json.len(), out as *mut c_char, cap, n)
    })?;
    String::from_utf8(v).map_err(|_| Error::invalid_argument("canonical JSON is not UTF-8"))
}

/// Bytes of JSON the library reads, and the nesting it allows.
pub fn a2a_limits() -> (usize, usize) {
    // SAFETY: pure functions.
    unsafe { (sys::ca_a2a_json_max(), sys::ca_a2a_json_depth_max()) }
}

/// A verified, signed A2A v1.0 Agent Card from anyone (read-only view; immutable).
pub struct A2ACard {
    ptr: NonNull<sys::ca_a2a_card>,
}

// SAFETY: card.h: "a ca_a2a_card is immutable".
unsafe impl Send for A2ACard {}
unsafe impl Sync for A2ACard {}

impl A2ACard {
    /// Verifies a signed card (rules: card.h, `ca_a2a_card_verify`). `key`
    /// `None`: each signature's kid must be an Ed25519 did:key URL; else the key
    /// to check with (a did:key kid must name it, `CA_ERR_KEY_MISMATCH`).
    pub fn verify(json: &str, key: Option<&PublicKey>) -> Result<A2ACard> {
        let mut o = sys::ca_a2a_verify_options { version: 0, key: ptr::null() };
        // SAFETY: o writable.
        check(unsafe { sys::ca_a2a_verify_options_init(&mut o, sys::CA_A2A_VERIFY_OPTIONS_VERSION) })?;
        let k = key.map(|k| sys::ca_agent_id { bytes: *k });
        if let Some(k) = &k {
            o.key = k;
        }
        let mut p: *mut sys::ca_a2a_card = ptr::null_mut();
        // SAFETY: json valid for its length; o and k live across the call.
        check(unsafe { sys::ca_a2a_card_verify(&mut p, json.as_ptr() as *const c_char, json.len(), &o) })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(A2ACard { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL card")),
        }
    }

    fn raw(&self) -> *const sys::ca_a2a_card {
        self.ptr.as_ptr()
    }

    /// The key whose signature verified.
    pub fn signer(&self) -> PublicKey {
        let mut a = sys::ca_agent_id { bytes: [0; sys::CA_AGENT_ID_BYTES] };
        // SAFETY: live handle, a writable.
        unsafe { sys::ca_a2a_card_signer(self.raw(), &mut a) };
        a.bytes
    }

    pub fn kid(&self) -> &str {
        // SAFETY: strings live as long as the handle.
        unsafe { text(sys::ca_a2a_card_kid(self.raw())) }
    }

    /// The canonical JSON the signature covers (the card without `signatures`).
    pub fn payload(&self) -> &str {
        let mut n = 0usize;
        // SAFETY: live handle; the payload lives as long as it and is UTF-8.
        unsafe {
            let p = sys::ca_a2a_card_payload(self.raw(), &mut n);
            std::str::from_utf8(std::slice::from_raw_parts(p as *const u8, n)).unwrap_or("")
        }
    }

    pub fn name(&self) -> &str {
        // SAFETY: as above.
        unsafe { text(sys::ca_a2a_card_name(self.raw())) }
    }

    pub fn description(&self) -> &str {
        // SAFETY: as above.
        unsafe { text(sys::ca_a2a_card_description(self.raw())) }
    }

    pub fn version(&self) -> &str {
        // SAFETY: as above.
        unsafe { text(sys::ca_a2a_card_version(self.raw())) }
    }

    /// `(url, protocolBinding, protocolVersion)` per supportedInterfaces entry, in order.
    pub fn interfaces(&self) -> Vec<(&str, &str, &str)> {
        // SAFETY: live handle; index in range; strings live as long as it.
        unsafe {
            (0..sys::ca_a2a_card_interface_count(self.raw()))
                .map(|i| {
                    (
                        text(sys::ca_a2a_card_interface_url(self.raw(), i)),
                        text(sys::ca_a2a_card_interface_binding(self.raw(), i)),
                        text(sys::ca_a2a_card_interface_protocol_version(self.raw(), i)),
                    )
                })
                .collect()
        }
    }

    /// `(id, name)` per skill, in order.
    pub fn skills(&self) -> Vec<(&str, &str)> {
        // SAFETY: as above.
        unsafe {
            (0..sys::ca_a2a_card_skill_count(self.raw()))
                .map(|i| {
                    (
                        text(sys::ca_a2a_card_skill_id(self.raw(), i)),
                        text(sys::ca_a2a_card_skill_name(self.raw(), i)),
                    )
                })
                .collect()
        }
    }

    /// The signed libcyberagent card (envelope bytes) inside a card written by
    /// [`Card::to_a2a_signed_json`]; `CA_ERR_NOT_FOUND` for a card from elsewhere.
    pub fn native(&self) -> Result<Vec<u8>> {
        out_bytes(512, |out, cap, n| unsafe {
            // SAFETY: live handle; out writable for cap.
            sys::ca_a2a_card_native(self.raw(), out, cap, n)
        })
    }
}

impl Drop for A2ACard {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_a2a_card_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for A2ACard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("A2ACard").field("name", &self.name()).field("kid", &self.kid()).finish()
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_card_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card").field("name", &self.name()).field("agent", &self.agent_did()).finish()
    }
}
