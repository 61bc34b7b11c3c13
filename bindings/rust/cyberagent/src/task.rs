//! The task hiring protocol: typed signed messages, the thread state machine,
//! equivocation evidence and thread serialization (docs/PROTOCOL.md).

use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::delegation::Delegation;
use crate::envelope::{Envelope, EnvelopeParams};
use crate::error::{check, out_bytes, Error, Result};
use crate::identity::{Identity, PublicKey};
use crate::Hash;

/// Task content: inline bytes, or a content hash plus a URI to fetch it from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Inline(Vec<u8>),
    Uri { uri: String, hash: Hash },
}

impl Default for Content {
    fn default() -> Content {
        Content::Inline(Vec::new())
    }
}

/// A typed task message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskBody {
    Request {
        capability: String,
        input: Content,
        max_price: u64,
        deadline: u64,
        collateral: u64,
        /// Direct hire (carried as the envelope's recipient).
        recipient: Option<PublicKey>,
    },
    Bid {
        task: Hash,
        price: u64,
        completion: u64,
        collateral: u64,
    },
    Award {
        task: Hash,
        bid: Hash,
        worker: PublicKey,
        price: u64,
        collateral: u64,
        deadline: u64,
    },
    Result {
        task: Hash,
        award: Hash,
        failed: bool,
        output: Content,
        failure_code: u64,
        failure_message: String,
    },
    Receipt {
        task: Hash,
        award: Hash,
        result: Hash,
        worker: PublicKey,
        accept: bool,
        rating: u32,
        paid: u64,
    },
    Cancel {
        task: Hash,
        reason: String,
    },
    Dispute {
        task: Hash,
        reason: String,
        refs: Vec<Hash>,
    },
}

fn zero_hash() -> sys::ca_hash {
    sys::ca_hash { bytes: [0; 32] }
}

fn cstr(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid_argument("text contains a NUL byte"))
}

/// Keeps the C strings a content borrows alive for the call.
fn content_in(c: &Content, keep: &mut Vec<CString>) -> Result<sys::ca_task_content> {
    Ok(match c {
        Content::Inline(d) => sys::ca_task_content {
            version: sys::CA_TASK_CONTENT_VERSION,
            data: d.as_ptr(),
            data_len: d.len(),
            uri: ptr::null(),
            hash: zero_hash(),
        },
        Content::Uri { uri, hash } => {
            let u = cstr(uri)?;
            let p = u.as_ptr();
            keep.push(u);
            sys::ca_task_content {
                version: sys::CA_TASK_CONTENT_VERSION,
                data: ptr::null(),
                data_len: 0,
                uri: p,
                hash: sys::ca_hash { bytes: *hash },
            }
        }
    })
}

unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the caller passes a NUL-terminated string.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The content a parsed body points to (the message's own); None: no content.
unsafe fn content_out(p: *const sys::ca_task_content) -> Content {
    if p.is_null() {
        return Content::Inline(Vec::new());
    }
    // SAFETY: the library points it into the message, alive for the caller.
    let c = unsafe { &*p };
    if !c.uri.is_null() {
        // SAFETY: NUL-terminated, lives as long as the message.
        Content::Uri { uri: unsafe { text(c.uri) }, hash: c.hash.bytes }
    } else if c.data_len == 0 {
        Content::Inline(Vec::new())
    } else {
        // SAFETY: data points to data_len bytes inside the message.
        Content::Inline(unsafe { std::slice::from_raw_parts(c.data, c.data_len) }.to_vec())
    }
}

/// Builds, signs and encodes a task message; returns its bytes and message id.
/// `env` gives created_at, expires_at, recipient (direct hire) and, for a
/// dispute, the parent; its `kind` is ignored (the body sets it).
///
/// ```
/// use cyberagent::{sign_task, Content, EnvelopeParams, Identity, Task, TaskBody};
/// let hirer = Identity::generate()?;
/// let req = TaskBody::Request {
///     capability: "llm.summarize".into(), input: Content::Inline(b"text".to_vec()),
///     max_price: 100, deadline: 60_000, collateral: 0, recipient: None,
/// };
/// let (bytes, task_id) = sign_task(&hirer, &EnvelopeParams::new(0, 1_000, 3_600_000), &req)?;
/// let thread = Task::new(&cyberagent::Envelope::open(&bytes, 1_000, None)?, 1_000, None)?;
/// assert_eq!(thread.id(), task_id);
/// assert_eq!(thread.state_name(), "submitted");
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub fn sign_task(signer: &Identity, env: &EnvelopeParams<'_>, body: &TaskBody) -> Result<(Vec<u8>, Hash)> {
    sign_task_delegated(signer, env, body, &[])
}

/// [`sign_task`] for a sender that acts for another agent: a REQUEST or BID
/// carrying `chain` (delegation links, root first, the leaf's audience the
/// signer; task.h, DELEGATED SIDES). An empty chain is [`sign_task`]; a chain
/// with another kind is `CA_ERR_INVALID_ARGUMENT`.
pub fn sign_task_delegated(
    signer: &Identity,
    env: &EnvelopeParams<'_>,
    body: &TaskBody,
    chain: &[&Delegation],
) -> Result<(Vec<u8>, Hash)> {
    let links: Vec<*const sys::ca_delegation> = chain.iter().map(|d| d.as_ptr()).collect();
    let (links_ptr, links_len) =
        if links.is_empty() { (ptr::null(), 0) } else { (links.as_ptr(), links.len()) };
    if !links.is_empty() && !matches!(body, TaskBody::Request { .. } | TaskBody::Bid { .. }) {
        return Err(Error::invalid_argument("only a request or a bid carries a delegation chain"));
    }
    let recipient = env.recipient.map(|r| sys::ca_agent_id { bytes: *r });
    let parent = env.parent.map(|p| sys::ca_hash { bytes: *p });
    // SAFETY: all-zero params are valid; then initialized by the library.
    let mut ep: sys::ca_envelope_params = unsafe { std::mem::zeroed() };
    // SAFETY: ep writable.
    check(unsafe { sys::ca_envelope_params_init(&mut ep, sys::CA_ENVELOPE_PARAMS_VERSION) })?;
    ep.created_at = env.created_at;
    ep.expires_at = env.expires_at;
    ep.recipient = recipient.as_ref().map_or(ptr::null(), |r| r as *const _);
    ep.parent = parent.as_ref().map_or(ptr::null(), |h| h as *const _);
    ep.flags = if env.compress { sys::CA_ENVELOPE_COMPRESS } else { 0 };
    let mut keep: Vec<CString> = Vec::new();
    let mut id = zero_hash();
    let s = signer.as_ptr();
    let ep_ref = &ep;
    let h = |b: &Hash| sys::ca_hash { bytes: *b };
    let a = |k: &PublicKey| sys::ca_agent_id { bytes: *k };
    let bytes = match body {
        TaskBody::Request { capability, input, max_price, deadline, collateral, recipient } => {
            let cap = cstr(capability)?;
            let content = content_in(input, &mut keep)?;
            let b = sys::ca_task_request {
                version: sys::CA_TASK_REQUEST_VERSION,
                capability: cap.as_ptr(),
                input: &content,
                max_price: *max_price,
                deadline: *deadline,
                collateral: *collateral,
                has_recipient: recipient.is_some() as i32,
                recipient: a(&recipient.unwrap_or([0; 32])),
                delegation: links_ptr,
                delegation_count: links_len,
            };
            // SAFETY (all arms): every pointer in the body and params outlives the call.
            out_bytes(1024, |o, c, n| unsafe { sys::ca_task_request_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
        TaskBody::Bid { task, price, completion, collateral } => {
            let b = sys::ca_task_bid {
                version: sys::CA_TASK_BID_VERSION,
                task: h(task),
                price: *price,
                completion: *completion,
                collateral: *collateral,
                delegation: links_ptr,
                delegation_count: links_len,
            };
            out_bytes(512, |o, c, n| unsafe { sys::ca_task_bid_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
        TaskBody::Award { task, bid, worker, price, collateral, deadline } => {
            let b = sys::ca_task_award {
                version: sys::CA_TASK_AWARD_VERSION,
                task: h(task),
                bid: h(bid),
                worker: a(worker),
                price: *price,
                collateral: *collateral,
                deadline: *deadline,
            };
            out_bytes(512, |o, c, n| unsafe { sys::ca_task_award_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
        TaskBody::Result { task, award, failed, output, failure_code, failure_message } => {
            let msg = cstr(failure_message)?;
            let content = if *failed { None } else { Some(content_in(output, &mut keep)?) };
            let b = sys::ca_task_result {
                version: sys::CA_TASK_RESULT_VERSION,
                task: h(task),
                award: h(award),
                failed: *failed as i32,
                output: content.as_ref().map_or(ptr::null(), |c| c as *const _),
                failure_code: *failure_code,
                failure_message: msg.as_ptr(),
            };
            out_bytes(1024, |o, c, n| unsafe { sys::ca_task_result_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
        TaskBody::Receipt { task, award, result, worker, accept, rating, paid } => {
            let b = sys::ca_task_receipt {
                version: sys::CA_TASK_RECEIPT_VERSION,
                task: h(task),
                award: h(award),
                result: h(result),
                worker: a(worker),
                accept: *accept as i32,
                rating: *rating,
                paid: *paid,
            };
            out_bytes(512, |o, c, n| unsafe { sys::ca_task_receipt_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
        TaskBody::Cancel { task, reason } => {
            let r = cstr(reason)?;
            let b = sys::ca_task_cancel {
                version: sys::CA_TASK_CANCEL_VERSION,
                task: h(task),
                reason: r.as_ptr(),
            };
            out_bytes(512, |o, c, n| unsafe { sys::ca_task_cancel_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
        TaskBody::Dispute { task, reason, refs } => {
            let r = cstr(reason)?;
            let cr: Vec<sys::ca_hash> = refs.iter().map(h).collect();
            let b = sys::ca_task_dispute {
                version: sys::CA_TASK_DISPUTE_VERSION,
                task: h(task),
                reason: r.as_ptr(),
                refs: cr.as_ptr(),
                ref_count: cr.len(),
            };
            out_bytes(1024, |o, c, n| unsafe { sys::ca_task_dispute_sign(s, ep_ref, &b, o, c, n, &mut id) })?
        }
    };
    drop(keep);
    Ok((bytes, id.bytes))
}

/// Envelope params for the library: `env` as given (kind, recipient and parent
/// pass through, so the library's checks apply), then `call` with them.
fn with_params<T>(
    env: &EnvelopeParams<'_>,
    call: impl FnOnce(&sys::ca_envelope_params) -> Result<T>,
) -> Result<T> {
    let recipient = env.recipient.map(|r| sys::ca_agent_id { bytes: *r });
    let parent = env.parent.map(|p| sys::ca_hash { bytes: *p });
    // SAFETY: all-zero params are valid; then initialized by the library.
    let mut ep: sys::ca_envelope_params = unsafe { std::mem::zeroed() };
    // SAFETY: ep writable.
    check(unsafe { sys::ca_envelope_params_init(&mut ep, sys::CA_ENVELOPE_PARAMS_VERSION) })?;
    ep.kind = env.kind;
    ep.created_at = env.created_at;
    ep.expires_at = env.expires_at;
    ep.recipient = recipient.as_ref().map_or(ptr::null(), |r| r as *const _);
    ep.parent = parent.as_ref().map_or(ptr::null(), |h| h as *const _);
    ep.flags = if env.compress { sys::CA_ENVELOPE_COMPRESS } else { 0 }
        | if env.seal { sys::CA_ENVELOPE_SEAL } else { 0 };
    call(&ep)
}

/// Signs a reply (`f`: one of the `ca_task_*_reply` calls); returns its bytes and id.
fn reply(
    env: &EnvelopeParams<'_>,
    mut f: impl FnMut(&sys::ca_envelope_params, *mut u8, usize, *mut usize, *mut sys::ca_hash) -> i32,
) -> Result<(Vec<u8>, Hash)> {
    with_params(env, |ep| {
        let mut id = zero_hash();
        let bytes = out_bytes(1024, |o, c, n| f(ep, o, c, n, &mut id))?;
        Ok((bytes, id.bytes))
    })
}

/// A BID answering `request` (a REQUEST): the task, the parent and the
/// recipient (the requester) come from it, the collateral offered is the one
/// it asks for; `price` and `completion` are the bidder's. `env` gives the
/// times and flags only: its kind 0 (or BID), no recipient, no parent.
/// `CA_ERR_WRONG_KIND` when `request` is another kind.
///
/// ```
/// use cyberagent::{reply_bid, sign_task, Content, EnvelopeParams, Identity, TaskBody, TaskMsg};
/// let (hirer, worker) = (Identity::generate()?, Identity::generate()?);
/// let req = TaskBody::Request {
///     capability: "llm.summarize".into(), input: Content::Inline(b"text".to_vec()),
///     max_price: 100, deadline: 60_000, collateral: 5, recipient: None,
/// };
/// let (bytes, task_id) = sign_task(&hirer, &EnvelopeParams::new(0, 1_000, 3_600_000), &req)?;
/// let request = TaskMsg::open(&bytes, 1_000, None)?; // what the bidder reads
/// let (bid, _) = reply_bid(&worker, &EnvelopeParams::new(0, 1_100, 3_600_000), &request, 40, 30_000)?;
/// let parsed = TaskMsg::open(&bid, 1_100, None)?;
/// assert_eq!(parsed.task_id(), task_id);
/// assert_eq!(parsed.body()?, TaskBody::Bid { task: task_id, price: 40, completion: 30_000, collateral: 5 });
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub fn reply_bid(
    signer: &Identity,
    env: &EnvelopeParams<'_>,
    request: &TaskMsg<'_>,
    price: u64,
    completion: u64,
) -> Result<(Vec<u8>, Hash)> {
    // SAFETY (all replies): signer and `to` live; ep and the buffers valid for the call.
    reply(env, |ep, o, c, n, id| unsafe {
        sys::ca_task_bid_reply(signer.as_ptr(), ep, request.raw(), price, completion, o, c, n, id)
    })
}

/// An AWARD of `bid` (a BID): worker, price and collateral are the bid's;
/// `deadline` 0 takes the bid's completion time. Its id keys the escrow.
pub fn reply_award(
    signer: &Identity,
    env: &EnvelopeParams<'_>,
    bid: &TaskMsg<'_>,
    deadline: u64,
) -> Result<(Vec<u8>, Hash)> {
    reply(env, |ep, o, c, n, id| unsafe {
        sys::ca_task_award_reply(signer.as_ptr(), ep, bid.raw(), deadline, o, c, n, id)
    })
}

/// A RESULT answering `award` (an AWARD) with `output`. A failure report is
/// signed with [`sign_task`].
pub fn reply_result(
    signer: &Identity,
    env: &EnvelopeParams<'_>,
    award: &TaskMsg<'_>,
    output: &Content,
) -> Result<(Vec<u8>, Hash)> {
    let mut keep: Vec<CString> = Vec::new();
    let content = content_in(output, &mut keep)?;
    let r = reply(env, |ep, o, c, n, id| unsafe {
        sys::ca_task_result_reply(signer.as_ptr(), ep, award.raw(), &content, o, c, n, id)
    });
    drop(keep);
    r
}

/// A RECEIPT settling `result` (a RESULT): the award and the worker come from
/// it; `accept`, `rating` (0 ..= 100) and `paid` are the requester's.
pub fn reply_receipt(
    signer: &Identity,
    env: &EnvelopeParams<'_>,
    result: &TaskMsg<'_>,
    accept: bool,
    rating: u32,
    paid: u64,
) -> Result<(Vec<u8>, Hash)> {
    reply(env, |ep, o, c, n, id| unsafe {
        sys::ca_task_receipt_reply(
            signer.as_ptr(),
            ep,
            result.raw(),
            accept as i32,
            rating,
            paid,
            o,
            c,
            n,
            id,
        )
    })
}

/// A party of an awarded task (`ca_task_party`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The request's sender.
    Requester,
    /// The awarded worker.
    Worker,
}

impl Party {
    fn raw(self) -> sys::ca_task_party {
        match self {
            Party::Requester => sys::CA_TASK_PARTY_REQUESTER as sys::ca_task_party,
            Party::Worker => sys::CA_TASK_PARTY_WORKER as sys::ca_task_party,
        }
    }
}

/// A parsed task message: owned (from [`TaskMsg::parse`]) or borrowed from a
/// [`Task`] (lifetime `'a`). Immutable (task.h): `Send + Sync`.
pub struct TaskMsg<'a> {
    ptr: NonNull<sys::ca_task_msg>,
    owned: bool,
    _task: PhantomData<&'a Task>,
}

// SAFETY: task.h: "ca_task_msg and ca_evidence are immutable (shareable)".
unsafe impl Send for TaskMsg<'_> {}
unsafe impl Sync for TaskMsg<'_> {}

impl TaskMsg<'static> {
    /// Parses a task message from a verified envelope (`reader` opens sealed bodies).
    pub fn parse(env: &Envelope, reader: Option<&Identity>) -> Result<TaskMsg<'static>> {
        let mut p = ptr::null_mut();
        // SAFETY: env live; reader live or NULL.
        check(unsafe {
            sys::ca_task_msg_parse(&mut p, env.as_ptr(), reader.map_or(ptr::null(), |r| r.as_ptr()))
        })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(TaskMsg { ptr, owned: true, _task: PhantomData }),
            None => Err(Error::invalid_argument("library returned a NULL message")),
        }
    }

    /// What a reader does with a task message's bytes, in one call: strict
    /// decode, verification at `now` and parse (`ca_task_msg_open`; a sealed
    /// body needs [`TaskMsg::parse`] with its reader). `opts`: envelope limits.
    pub fn open(data: &[u8], now: u64, opts: Option<&sys::ca_envelope_options>) -> Result<TaskMsg<'static>> {
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length; opts valid or NULL.
        check(unsafe {
            sys::ca_task_msg_open(
                &mut p,
                data.as_ptr(),
                data.len(),
                now,
                opts.map_or(ptr::null(), |o| o as *const _),
            )
        })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(TaskMsg { ptr, owned: true, _task: PhantomData }),
            None => Err(Error::invalid_argument("library returned a NULL message")),
        }
    }
}

impl<'a> TaskMsg<'a> {
    fn borrowed(p: *const sys::ca_task_msg) -> Option<TaskMsg<'a>> {
        NonNull::new(p as *mut sys::ca_task_msg).map(|ptr| TaskMsg { ptr, owned: false, _task: PhantomData })
    }

    pub(crate) fn raw(&self) -> *const sys::ca_task_msg {
        self.ptr.as_ptr()
    }

    pub fn kind(&self) -> u32 {
        // SAFETY: live handle (all accessors below).
        unsafe { sys::ca_task_msg_kind(self.raw()) }
    }

    pub fn id(&self) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_task_msg_id(self.raw(), &mut h) };
        h.bytes
    }

    pub fn sender(&self) -> PublicKey {
        let mut a = sys::ca_agent_id { bytes: [0; 32] };
        unsafe { sys::ca_task_msg_sender(self.raw(), &mut a) };
        a.bytes
    }

    pub fn created_at(&self) -> u64 {
        unsafe { sys::ca_task_msg_created_at(self.raw()) }
    }

    pub fn task_id(&self) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_task_msg_task_id(self.raw(), &mut h) };
        h.bytes
    }

    pub fn parent(&self) -> Option<Hash> {
        let mut h = zero_hash();
        if unsafe { sys::ca_task_msg_parent(self.raw(), &mut h) } != 0 {
            Some(h.bytes)
        } else {
            None
        }
    }

    /// The encoded, signed envelope.
    pub fn encoded(&self) -> Result<Vec<u8>> {
        out_bytes(1024, |o, c, n| unsafe { sys::ca_task_msg_encoded(self.raw(), o, c, n) })
    }

    /// Whom the message acts for: the delegator of the delegation chain a
    /// REQUEST or BID carries, or `None` when the sender acts for itself.
    pub fn delegator(&self) -> Option<PublicKey> {
        let mut a = sys::ca_agent_id { bytes: [0; 32] };
        // SAFETY: live message, out writable.
        (unsafe { sys::ca_task_msg_delegator(self.raw(), &mut a) } != 0).then_some(a.bytes)
    }

    /// The delegation chain a REQUEST or BID carries, each link's encoded bytes
    /// (root first); empty for none or another kind.
    pub fn delegation(&self) -> Result<Vec<Vec<u8>>> {
        let m = self.raw();
        // SAFETY: the views point into the message, read before this returns.
        unsafe {
            let (links, n) = match self.kind() {
                sys::CA_KIND_TASK_REQUEST => {
                    let mut v: sys::ca_task_request = std::mem::zeroed();
                    v.version = sys::CA_TASK_REQUEST_VERSION;
                    check(sys::ca_task_msg_request(m, &mut v))?;
                    (v.delegation, v.delegation_count)
                }
                sys::CA_KIND_TASK_BID => {
                    let mut v: sys::ca_task_bid = std::mem::zeroed();
                    v.version = sys::CA_TASK_BID_VERSION;
                    check(sys::ca_task_msg_bid(m, &mut v))?;
                    (v.delegation, v.delegation_count)
                }
                _ => return Ok(Vec::new()),
            };
            (0..n)
                .map(|i| {
                    let d = *links.add(i);
                    out_bytes(1024, |o, c, len| sys::ca_delegation_encoded(d, o, c, len))
                })
                .collect()
        }
    }

    /// The typed body.
    pub fn body(&self) -> Result<TaskBody> {
        let m = self.raw();
        // SAFETY: each view is filled by the library with pointers into the
        // message, copied out before this function returns.
        unsafe {
            Ok(match self.kind() {
                sys::CA_KIND_TASK_REQUEST => {
                    let mut v: sys::ca_task_request = std::mem::zeroed();
                    v.version = sys::CA_TASK_REQUEST_VERSION;
                    check(sys::ca_task_msg_request(m, &mut v))?;
                    TaskBody::Request {
                        capability: text(v.capability),
                        input: content_out(v.input),
                        max_price: v.max_price,
                        deadline: v.deadline,
                        collateral: v.collateral,
                        recipient: if v.has_recipient != 0 { Some(v.recipient.bytes) } else { None },
                    }
                }
                sys::CA_KIND_TASK_BID => {
                    let mut v: sys::ca_task_bid = std::mem::zeroed();
                    v.version = sys::CA_TASK_BID_VERSION;
                    check(sys::ca_task_msg_bid(m, &mut v))?;
                    TaskBody::Bid {
                        task: v.task.bytes,
                        price: v.price,
                        completion: v.completion,
                        collateral: v.collateral,
                    }
                }
                sys::CA_KIND_TASK_AWARD => {
                    let mut v: sys::ca_task_award = std::mem::zeroed();
                    v.version = sys::CA_TASK_AWARD_VERSION;
                    check(sys::ca_task_msg_award(m, &mut v))?;
                    TaskBody::Award {
                        task: v.task.bytes,
                        bid: v.bid.bytes,
                        worker: v.worker.bytes,
                        price: v.price,
                        collateral: v.collateral,
                        deadline: v.deadline,
                    }
                }
                sys::CA_KIND_TASK_RESULT => {
                    let mut v: sys::ca_task_result = std::mem::zeroed();
                    v.version = sys::CA_TASK_RESULT_VERSION;
                    check(sys::ca_task_msg_result(m, &mut v))?;
                    TaskBody::Result {
                        task: v.task.bytes,
                        award: v.award.bytes,
                        failed: v.failed != 0,
                        output: content_out(v.output),
                        failure_code: v.failure_code,
                        failure_message: text(v.failure_message),
                    }
                }
                sys::CA_KIND_TASK_RECEIPT => {
                    let mut v: sys::ca_task_receipt = std::mem::zeroed();
                    v.version = sys::CA_TASK_RECEIPT_VERSION;
                    check(sys::ca_task_msg_receipt(m, &mut v))?;
                    TaskBody::Receipt {
                        task: v.task.bytes,
                        award: v.award.bytes,
                        result: v.result.bytes,
                        worker: v.worker.bytes,
                        accept: v.accept != 0,
                        rating: v.rating,
                        paid: v.paid,
                    }
                }
                sys::CA_KIND_TASK_CANCEL => {
                    let mut v: sys::ca_task_cancel = std::mem::zeroed();
                    v.version = sys::CA_TASK_CANCEL_VERSION;
                    check(sys::ca_task_msg_cancel(m, &mut v))?;
                    TaskBody::Cancel { task: v.task.bytes, reason: text(v.reason) }
                }
                _ => {
                    let mut v: sys::ca_task_dispute = std::mem::zeroed();
                    v.version = sys::CA_TASK_DISPUTE_VERSION;
                    check(sys::ca_task_msg_dispute(m, &mut v))?;
                    let refs = if v.ref_count == 0 {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(v.refs, v.ref_count).iter().map(|h| h.bytes).collect()
                    };
                    TaskBody::Dispute { task: v.task.bytes, reason: text(v.reason), refs }
                }
            })
        }
    }
}

impl Drop for TaskMsg<'_> {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: owned handle, freed once.
            unsafe { sys::ca_task_msg_free(self.ptr.as_ptr()) }
        }
    }
}

impl fmt::Debug for TaskMsg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskMsg").field("kind", &self.kind()).field("body", &self.body()).finish()
    }
}

/// A2A name of a task state ("submitted", "working", ...).
pub fn task_state_name(state: i32) -> &'static str {
    // SAFETY: returns a static string, never NULL.
    let p = unsafe { sys::ca_task_state_name(state) };
    if p.is_null() {
        return "unknown";
    }
    // SAFETY: static ASCII.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("unknown")
}

/// Task limits: (inline bytes, URI bytes, text bytes, dispute refs).
pub fn task_limits() -> [usize; 4] {
    // SAFETY: pure functions.
    unsafe {
        [sys::ca_task_inline_max(), sys::ca_task_uri_max(), sys::ca_task_text_max(), sys::ca_task_refs_max()]
    }
}

/// Thread options with the library defaults.
pub fn task_options() -> Result<sys::ca_task_options> {
    // SAFETY: plain data, then initialized.
    let mut o: sys::ca_task_options = unsafe { std::mem::zeroed() };
    check(unsafe { sys::ca_task_options_init(&mut o, sys::CA_TASK_OPTIONS_VERSION) })?;
    Ok(o)
}

/// A task thread. Thread safety (task.h): const accessors may run
/// concurrently, mutation needs `&mut`: `Send + Sync`.
pub struct Task {
    ptr: NonNull<sys::ca_task>,
}

// SAFETY: as documented above.
unsafe impl Send for Task {}
unsafe impl Sync for Task {}

impl Task {
    fn from_raw(p: *mut sys::ca_task) -> Result<Task> {
        match NonNull::new(p) {
            Some(ptr) => Ok(Task { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL task")),
        }
    }

    fn raw(&self) -> *const sys::ca_task {
        self.ptr.as_ptr()
    }

    /// The raw handle, valid while `self` lives.
    pub fn as_ptr(&self) -> *const sys::ca_task {
        self.ptr.as_ptr()
    }

    /// New thread from its REQUEST (verified at `now`).
    pub fn new(request: &Envelope, now: u64, opts: Option<&sys::ca_task_options>) -> Result<Task> {
        let mut p = ptr::null_mut();
        // SAFETY: request live; opts valid or NULL.
        check(unsafe {
            sys::ca_task_new(&mut p, request.as_ptr(), now, opts.map_or(ptr::null(), |o| o as *const _))
        })?;
        Task::from_raw(p)
    }

    /// New thread from its REQUEST's bytes (decode + [`Task::new`]).
    pub fn new_bytes(request: &[u8], now: u64, opts: Option<&sys::ca_task_options>) -> Result<Task> {
        let mut p = ptr::null_mut();
        // SAFETY: request valid for its length; opts valid or NULL.
        check(unsafe {
            sys::ca_task_new_bytes(
                &mut p,
                request.as_ptr(),
                request.len(),
                now,
                opts.map_or(ptr::null(), |o| o as *const _),
            )
        })?;
        Task::from_raw(p)
    }

    /// Rebuilds and audits a thread from [`Task::serialize`] bytes.
    pub fn deserialize(data: &[u8], opts: Option<&sys::ca_task_options>) -> Result<Task> {
        let mut p = ptr::null_mut();
        // SAFETY: data valid for its length.
        check(unsafe {
            sys::ca_task_deserialize(
                &mut p,
                data.as_ptr(),
                data.len(),
                opts.map_or(ptr::null(), |o| o as *const _),
            )
        })?;
        Task::from_raw(p)
    }

    /// Verifies and applies one message; on failure nothing changes.
    pub fn apply(&mut self, env: &Envelope, now: u64) -> Result<()> {
        // SAFETY: exclusive access; env live.
        check(unsafe { sys::ca_task_apply(self.ptr.as_ptr(), env.as_ptr(), now) })
    }

    /// Decode + [`Task::apply`].
    pub fn apply_bytes(&mut self, data: &[u8], now: u64) -> Result<()> {
        // SAFETY: exclusive access; data valid.
        check(unsafe { sys::ca_task_apply_bytes(self.ptr.as_ptr(), data.as_ptr(), data.len(), now) })
    }

    /// `CA_TASK_*` state.
    pub fn state(&self) -> i32 {
        // SAFETY: const accessor (all below).
        unsafe { sys::ca_task_get_state(self.raw()) }
    }

    pub fn state_name(&self) -> &'static str {
        task_state_name(self.state())
    }

    pub fn id(&self) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_task_id(self.raw(), &mut h) };
        h.bytes
    }

    pub fn requester(&self) -> PublicKey {
        let mut a = sys::ca_agent_id { bytes: [0; 32] };
        unsafe { sys::ca_task_requester(self.raw(), &mut a) };
        a.bytes
    }

    /// The latest accepted message of `kind` (`CA_KIND_TASK_*`): the request,
    /// the award, the result, the receipt, the cancel, or the bid / dispute
    /// accepted last; `None` when the thread holds none.
    pub fn last(&self, kind: u32) -> Option<TaskMsg<'_>> {
        TaskMsg::borrowed(unsafe { sys::ca_task_last(self.raw(), kind) })
    }

    pub fn bid_count(&self) -> usize {
        unsafe { sys::ca_task_bid_count(self.raw()) }
    }

    /// Whether `party` has disputed.
    pub fn disputed(&self, party: Party) -> bool {
        unsafe { sys::ca_task_disputed(self.raw(), party.raw()) != 0 }
    }

    /// Who `party`'s side is and whom it acts for (task.h, DELEGATED SIDES);
    /// `None` for the worker before an award.
    pub fn side(&self, party: Party) -> Result<Option<sys::ca_task_side_info>> {
        // SAFETY: plain data; the library fills it.
        let mut i: sys::ca_task_side_info = unsafe { std::mem::zeroed() };
        i.version = sys::CA_TASK_SIDE_INFO_VERSION;
        // SAFETY: const query.
        match unsafe { sys::ca_task_side(self.raw(), party.raw(), &mut i) } {
            sys::CA_OK => Ok(Some(i)),
            sys::CA_ERR_NOT_FOUND => Ok(None),
            other => Err(Error::from_status(other)),
        }
    }

    pub fn message_count(&self) -> usize {
        unsafe { sys::ca_task_message_count(self.raw()) }
    }

    /// Accepted message `index` (0 is the request).
    pub fn message(&self, index: usize) -> Option<TaskMsg<'_>> {
        TaskMsg::borrowed(unsafe { sys::ca_task_message(self.raw(), index) })
    }

    pub fn find(&self, id: &Hash) -> Option<TaskMsg<'_>> {
        let h = sys::ca_hash { bytes: *id };
        TaskMsg::borrowed(unsafe { sys::ca_task_find(self.raw(), &h) })
    }

    /// Order-independent digest of the thread (`CA_ERR_NO_MEMORY` when the
    /// copy of the message ids it sorts cannot be allocated).
    pub fn digest(&self) -> Result<Hash> {
        let mut h = zero_hash();
        check(unsafe { sys::ca_task_digest(self.raw(), &mut h) })?;
        Ok(h.bytes)
    }

    /// After `apply` failed with `CA_ERR_TASK_EQUIVOCATION` for `env`: the evidence bytes.
    pub fn evidence(&self, env: &Envelope) -> Result<Vec<u8>> {
        out_bytes(2048, |o, c, n| unsafe { sys::ca_task_evidence(self.raw(), env.as_ptr(), o, c, n) })
    }

    /// The whole thread as canonical bytes.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        out_bytes(4096, |o, c, n| unsafe { sys::ca_task_serialize(self.raw(), o, c, n) })
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_task_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Task({} messages, {})", self.message_count(), self.state_name())
    }
}

/// Evidence that one agent made two conflicting statements in one task: two
/// BIDs, AWARDs or RESULTs with different bodies, each of which a task thread
/// accepts (`ca_evidence_encode`). `request` is the task's REQUEST; `context`
/// holds the messages `a` and `b` answer (an award's bid; a result's award and
/// bid) and may hold more. `CA_ERR_BAD_EVIDENCE` when the pair proves nothing
/// (one of them breaks a rule, or both say the same).
pub fn evidence_encode(
    request: &Envelope,
    context: &[&Envelope],
    a: &Envelope,
    b: &Envelope,
) -> Result<Vec<u8>> {
    let ctx: Vec<*const sys::ca_envelope> = context.iter().map(|e| e.as_ptr()).collect();
    // SAFETY: every envelope outlives the call; ctx holds context.len() pointers; out writable for cap.
    out_bytes(4096, |o, c, n| unsafe {
        sys::ca_evidence_encode(request.as_ptr(), ctx.as_ptr(), ctx.len(), a.as_ptr(), b.as_ptr(), o, c, n)
    })
}

/// Opens and verifies evidence in one call: (offender, task, kind, evidence hash).
pub fn evidence_verify(data: &[u8]) -> Result<(PublicKey, Hash, u32, Hash)> {
    let (mut off, mut task, mut kind, mut h) =
        (sys::ca_agent_id { bytes: [0; 32] }, zero_hash(), 0u32, zero_hash());
    // SAFETY: data valid; outs writable.
    check(unsafe {
        sys::ca_evidence_verify(data.as_ptr(), data.len(), &mut off, &mut task, &mut kind, &mut h)
    })?;
    Ok((off.bytes, task.bytes, kind, h.bytes))
}

/// Opened, verified equivocation evidence (immutable: `Send + Sync`).
pub struct Evidence {
    ptr: NonNull<sys::ca_evidence>,
}

// SAFETY: immutable (task.h).
unsafe impl Send for Evidence {}
unsafe impl Sync for Evidence {}

impl Evidence {
    pub fn open(data: &[u8]) -> Result<Evidence> {
        let mut p = ptr::null_mut();
        // SAFETY: data valid.
        check(unsafe { sys::ca_evidence_open(&mut p, data.as_ptr(), data.len()) })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(Evidence { ptr }),
            None => Err(Error::invalid_argument("library returned NULL evidence")),
        }
    }

    pub fn offender(&self) -> PublicKey {
        let mut a = sys::ca_agent_id { bytes: [0; 32] };
        // SAFETY: live handle (all accessors).
        unsafe { sys::ca_evidence_offender(self.ptr.as_ptr(), &mut a) };
        a.bytes
    }

    pub fn task(&self) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_evidence_task(self.ptr.as_ptr(), &mut h) };
        h.bytes
    }

    pub fn kind(&self) -> u32 {
        unsafe { sys::ca_evidence_kind(self.ptr.as_ptr()) }
    }

    /// The two message ids, ascending (`index` 0 or 1).
    pub fn message(&self, index: usize) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_evidence_message(self.ptr.as_ptr(), (index.min(1)) as i32, &mut h) };
        h.bytes
    }

    /// Offense key: equal for every conflicting pair of one agent, task and kind.
    pub fn offense(&self) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_evidence_offense(self.ptr.as_ptr(), &mut h) };
        h.bytes
    }

    /// The task's deadline (the request's): no message of the offense is dated after it.
    /// An EQUIVOCATION slash names it as its `deadline` (the ledger's offense time).
    pub fn deadline(&self) -> u64 {
        unsafe { sys::ca_evidence_deadline(self.ptr.as_ptr()) }
    }

    /// Unique id of this evidence pair.
    pub fn hash(&self) -> Hash {
        let mut h = zero_hash();
        unsafe { sys::ca_evidence_hash(self.ptr.as_ptr(), &mut h) };
        h.bytes
    }
}

impl Drop for Evidence {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_evidence_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Evidence(kind {})", self.kind())
    }
}
