//! Staking, escrow and slashing ledger: a deterministic state machine over
//! integer base units driven by signed operations.

use std::ffi::CString;
use std::fmt;
use std::path::Path;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::error::{check, out_bytes, Error, Result};
use crate::identity::{Identity, PublicKey};
use crate::Hash;

/// One operation; fields unused by a type stay zero (see ledger.h's table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerOp {
    /// `CA_LEDGER_OP_*`
    pub kind: u32,
    /// `CA_LEDGER_EVIDENCE_*` (SLASH only)
    pub evidence: u32,
    pub signer: PublicKey,
    pub nonce: u64,
    pub counterparty: PublicKey,
    pub reference: Hash,
    pub amount: u64,
    pub amount2: u64,
    pub deadline: u64,
    /// ESCROW_DELIVER only: the message id of the RESULT delivered.
    pub result: Hash,
    /// The leaf id of the chain a delegated op carries (what [`LedgerOp::decode`]
    /// reports; zero for a direct op). [`Ledger::apply`] refuses it non-zero.
    pub delegation: Hash,
}

impl LedgerOp {
    pub fn to_c(&self) -> sys::ca_ledger_op {
        sys::ca_ledger_op {
            version: sys::CA_LEDGER_OP_VERSION,
            r#type: self.kind,
            evidence: self.evidence,
            signer: sys::ca_agent_id { bytes: self.signer },
            nonce: self.nonce,
            counterparty: sys::ca_agent_id { bytes: self.counterparty },
            r#ref: sys::ca_hash { bytes: self.reference },
            amount: self.amount,
            amount2: self.amount2,
            deadline: self.deadline,
            result: sys::ca_hash { bytes: self.result },
            delegation: sys::ca_hash { bytes: self.delegation },
        }
    }

    pub fn from_c(o: &sys::ca_ledger_op) -> LedgerOp {
        LedgerOp {
            kind: o.r#type,
            evidence: o.evidence,
            signer: o.signer.bytes,
            nonce: o.nonce,
            counterparty: o.counterparty.bytes,
            reference: o.r#ref.bytes,
            amount: o.amount,
            amount2: o.amount2,
            deadline: o.deadline,
            result: o.result.bytes,
            delegation: o.delegation.bytes,
        }
    }

    /// Signed op bytes for the ledger `ledger_id` ([`Ledger::id`] or
    /// [`ledger_id`]); no other ledger accepts them. `cosigner` is the worker
    /// for ESCROW_OPEN, else `None`.
    pub fn sign(&self, ledger_id: &Hash, signer: &Identity, cosigner: Option<&Identity>) -> Result<Vec<u8>> {
        let c = self.to_c();
        let lid = sys::ca_hash { bytes: *ledger_id };
        let co = cosigner.map_or(ptr::null(), |i| i.as_ptr());
        out_bytes(sys::CA_LEDGER_OP_MAX_BYTES, |out, cap, n| unsafe {
            // SAFETY: identities live for the call; out writable for cap.
            sys::ca_ledger_op_sign(&lid, &c, signer.as_ptr(), co, out, cap, n)
        })
    }

    /// The ESCROW_DELIVER a RESULT (with an output) calls for, with nonce 0:
    /// signer = the worker, reference = its award, result = its message id.
    /// Submit the signed op with the RESULT's bytes ([`Ledger::submit_evidence`]).
    pub fn escrow_deliver(result: &crate::TaskMsg<'_>) -> Result<LedgerOp> {
        // SAFETY: all-zero is a valid ca_ledger_op (plain integers and byte arrays).
        let mut c: sys::ca_ledger_op = unsafe { std::mem::zeroed() };
        c.version = sys::CA_LEDGER_OP_VERSION; /* the layout this crate was built with */
        // SAFETY: the message lives for the call; c is writable.
        check(unsafe { sys::ca_ledger_op_escrow_deliver(&mut c, result.raw()) })?;
        Ok(LedgerOp::from_c(&c))
    }

    /// The ESCROW_OPEN an AWARD calls for, with nonce 0: hirer and worker
    /// derive the same terms from it; the worker consents with
    /// [`LedgerOp::cosign`], the hirer sets its next nonce and signs with
    /// [`LedgerOp::sign_cosigned`].
    pub fn escrow_open(award: &crate::TaskMsg<'_>) -> Result<LedgerOp> {
        // SAFETY: all-zero is a valid ca_ledger_op (plain integers and byte arrays).
        let mut c: sys::ca_ledger_op = unsafe { std::mem::zeroed() };
        c.version = sys::CA_LEDGER_OP_VERSION; /* the layout this crate was built with */
        // SAFETY: the message lives for the call; c is writable.
        check(unsafe { sys::ca_ledger_op_escrow_open(&mut c, award.raw()) })?;
        Ok(LedgerOp::from_c(&c))
    }

    /// The worker's detached consent to an ESCROW_OPEN on the ledger
    /// `ledger_id`, sent to the hirer, who attaches it with
    /// [`LedgerOp::sign_cosigned`]. It covers the ledger and the escrow's
    /// terms, not the hirer's nonce.
    pub fn cosign(&self, ledger_id: &Hash, worker: &Identity) -> Result<[u8; 64]> {
        let c = self.to_c();
        let lid = sys::ca_hash { bytes: *ledger_id };
        let mut sig = sys::ca_signature { bytes: [0u8; 64] };
        // SAFETY: the identity lives for the call; sig is writable.
        check(unsafe { sys::ca_ledger_op_cosign(&lid, &c, worker.as_ptr(), &mut sig) })?;
        Ok(sig.bytes)
    }

    /// Signed op bytes for `ledger_id` carrying the worker's consent from
    /// [`LedgerOp::cosign`] (ESCROW_OPEN only, else `None`); a consent that
    /// does not verify (other terms, another ledger) is an error.
    pub fn sign_cosigned(
        &self,
        ledger_id: &Hash,
        signer: &Identity,
        cosignature: Option<&[u8; 64]>,
    ) -> Result<Vec<u8>> {
        let c = self.to_c();
        let lid = sys::ca_hash { bytes: *ledger_id };
        let cs = cosignature.map(|b| sys::ca_signature { bytes: *b });
        let cp = cs.as_ref().map_or(ptr::null(), |s| s as *const sys::ca_signature);
        out_bytes(sys::CA_LEDGER_OP_MAX_BYTES, |out, cap, n| unsafe {
            // SAFETY: identity and consent live for the call; out writable for cap.
            sys::ca_ledger_op_sign_cosigned(&lid, &c, signer.as_ptr(), cp, out, cap, n)
        })
    }

    /// Signed op bytes made with `key`, which need not be the op's signer: the
    /// account's current key after a rotation, or the key a KEY_EVENT
    /// establishes (ledger.h, KEY ROTATION). For ESCROW_OPEN, `cosignature` is
    /// the worker's consent and `worker_key` the key that made it (`None`: the
    /// counterparty).
    pub fn sign_with_key(
        &self,
        ledger_id: &Hash,
        key: &Identity,
        cosignature: Option<&[u8; 64]>,
        worker_key: Option<&PublicKey>,
    ) -> Result<Vec<u8>> {
        let c = self.to_c();
        let lid = sys::ca_hash { bytes: *ledger_id };
        let cs = cosignature.map(|b| sys::ca_signature { bytes: *b });
        let cp = cs.as_ref().map_or(ptr::null(), |s| s as *const sys::ca_signature);
        let wk = worker_key.map(|b| sys::ca_agent_id { bytes: *b });
        let wp = wk.as_ref().map_or(ptr::null(), |w| w as *const sys::ca_agent_id);
        out_bytes(sys::CA_LEDGER_OP_MAX_BYTES, |out, cap, n| unsafe {
            // SAFETY: identity, consent and worker key live for the call; out writable for cap.
            sys::ca_ledger_op_sign_with_key(&lid, &c, key.as_ptr(), cp, wp, out, cap, n)
        })
    }

    /// The worker's consent to an ESCROW_OPEN made with `key`, which need not be
    /// the counterparty: the worker account's current key after a rotation.
    pub fn cosign_with_key(&self, ledger_id: &Hash, key: &Identity) -> Result<[u8; 64]> {
        let c = self.to_c();
        let lid = sys::ca_hash { bytes: *ledger_id };
        let mut sig = sys::ca_signature { bytes: [0u8; 64] };
        // SAFETY: the identity lives for the call; sig is writable.
        check(unsafe { sys::ca_ledger_op_cosign_with_key(&lid, &c, key.as_ptr(), &mut sig) })?;
        Ok(sig.bytes)
    }

    /// Signed op bytes for `ledger_id` signed by `delegate` for the delegator
    /// `self.signer`, carrying `chain`: the encoded delegations, root (issued
    /// by the delegator's key: its id, or its current key after a rotation)
    /// first, leaf (whose audience is `delegate`) last.
    /// TRANSFER, ESCROW_OPEN (with the worker's `cosignature`), ESCROW_RELEASE
    /// and ESCROW_REFUND only; the ledger checks the chain when it applies the
    /// op (docs/LEDGER.md, "Delegation").
    pub fn sign_delegated(
        &self,
        ledger_id: &Hash,
        delegate: &Identity,
        chain: &[&[u8]],
        cosignature: Option<&[u8; 64]>,
    ) -> Result<Vec<u8>> {
        let c = self.to_c();
        let lid = sys::ca_hash { bytes: *ledger_id };
        let cs = cosignature.map(|b| sys::ca_signature { bytes: *b });
        let cp = cs.as_ref().map_or(ptr::null(), |s| s as *const sys::ca_signature);
        let ptrs: Vec<*const u8> = chain.iter().map(|l| l.as_ptr()).collect();
        let lens: Vec<usize> = chain.iter().map(|l| l.len()).collect();
        out_bytes(sys::CA_LEDGER_DELEGATED_OP_MAX_BYTES, |out, cap, n| unsafe {
            // SAFETY: the chain's slices, identity and consent live for the call; out writable.
            sys::ca_ledger_op_sign_delegated(
                &lid,
                &c,
                delegate.as_ptr(),
                cp,
                ptrs.as_ptr(),
                lens.as_ptr(),
                chain.len(),
                out,
                cap,
                n,
            )
        })
    }

    /// Strict decoder of signed op bytes (signatures not checked).
    pub fn decode(msg: &[u8]) -> Result<LedgerOp> {
        // SAFETY: all-zero is a valid ca_ledger_op (plain integers and byte arrays).
        let mut c: sys::ca_ledger_op = unsafe { std::mem::zeroed() };
        c.version = sys::CA_LEDGER_OP_VERSION; /* the layout this crate was built with */
        // SAFETY: msg valid for its length.
        check(unsafe { sys::ca_ledger_op_decode(msg.as_ptr(), msg.len(), &mut c) })?;
        Ok(LedgerOp::from_c(&c))
    }
}

/// `Ok(true)` when the signatures of signed op bytes hold for the ledger
/// `ledger_id`, `Ok(false)` when not (also when signed for another ledger).
pub fn ledger_op_verify(ledger_id: &Hash, msg: &[u8]) -> Result<bool> {
    let lid = sys::ca_hash { bytes: *ledger_id };
    // SAFETY: msg valid for its length.
    match unsafe { sys::ca_ledger_op_verify(&lid, msg.as_ptr(), msg.len()) } {
        sys::CA_OK => Ok(true),
        sys::CA_ERR_BAD_SIGNATURE => Ok(false),
        other => Err(Error::from_status(other)),
    }
}

/// The id of a ledger made with `opts`: what its signed ops and consents name.
pub fn ledger_id(opts: &sys::ca_ledger_options) -> Result<Hash> {
    let mut h = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
    // SAFETY: opts valid; h writable.
    check(unsafe { sys::ca_ledger_options_id(opts, &mut h) })?;
    Ok(h.bytes)
}

/// Largest attachment (equivocation evidence, a DELIVER's RESULT) accepted, in bytes.
pub fn ledger_evidence_max_bytes() -> usize {
    // SAFETY: pure function.
    unsafe { sys::ca_ledger_evidence_max_bytes() }
}

/// Largest signed op accepted, in bytes.
pub fn ledger_op_max_bytes() -> usize {
    // SAFETY: pure function.
    unsafe { sys::ca_ledger_op_max_bytes() }
}

/// Ledger options with the C defaults; set `authority`/`arbiter` and any field.
pub fn ledger_options(authority: &PublicKey, arbiter: &PublicKey) -> Result<sys::ca_ledger_options> {
    // SAFETY: all-zero is valid; then initialized by the library.
    let mut o: sys::ca_ledger_options = unsafe { std::mem::zeroed() };
    // SAFETY: o writable.
    check(unsafe { sys::ca_ledger_options_init(&mut o, sys::CA_LEDGER_OPTIONS_VERSION) })?;
    o.authority = sys::ca_agent_id { bytes: *authority };
    o.arbiter = sys::ca_agent_id { bytes: *arbiter };
    Ok(o)
}

/// What one entry of an external log carries (ledger.h, LOG): signed op bytes
/// (with an attachment: an equivocation slash's evidence or a DELIVER's
/// RESULT), or an op authenticated by other means.
#[derive(Clone, Copy, Debug)]
pub enum LogOp<'a> {
    Signed { msg: &'a [u8], attachment: Option<&'a [u8]> },
    Trusted(LedgerOp),
}

/// One entry of an external ordered log for [`Ledger::apply_log`]: its
/// position (>= 1, strictly increasing in one log; JetStream: the stream
/// sequence) and the log's time for it (ms since the epoch; JetStream: the
/// stream timestamp).
#[derive(Clone, Copy, Debug)]
pub struct LogEntry<'a> {
    pub position: u64,
    pub time: u64,
    pub op: LogOp<'a>,
}

/// A [`Ledger::apply_log`] call stopped at entry `done` by an entry that is
/// not well formed or a host failure (memory, I/O): entries before it were
/// processed (`results[..done]`), that one and the rest were not and consumed
/// no position (their results are the error's status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogStopped {
    pub error: Error,
    pub done: usize,
    pub results: Vec<i32>,
}

impl fmt::Display for LogStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "log stopped at entry {}: {}", self.done, self.error)
    }
}

impl std::error::Error for LogStopped {}

impl From<LogStopped> for Error {
    fn from(s: LogStopped) -> Error {
        s.error
    }
}

fn c_path(dir: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(dir.as_os_str().as_bytes()).map_err(|_| Error::invalid_argument("path contains a NUL byte"))
}

fn open_info_for_call() -> sys::ca_ledger_open_info {
    // SAFETY: plain integers.
    let mut info: sys::ca_ledger_open_info = unsafe { std::mem::zeroed() };
    info.version = sys::CA_LEDGER_OPEN_INFO_VERSION;
    info
}

/// A ledger, in memory ([`Ledger::new`]) or durable ([`Ledger::open`]).
///
/// Thread safety (ledger.h): not thread-safe, so `Send` but not `Sync`;
/// queries take `&self` and mutations `&mut self`; wrap it in a `Mutex` to share.
///
/// ```
/// use cyberagent::{Identity, Ledger, LedgerOp, sys};
/// let authority = Identity::generate()?;
/// let alice = Identity::generate()?;
/// let opts = cyberagent::ledger_options(&authority.public_key(), &[0; 32])?;
/// let mut ledger = Ledger::new(&opts)?;
/// let mint = LedgerOp {
///     kind: sys::CA_LEDGER_OP_MINT,
///     signer: authority.public_key(),
///     nonce: 1,
///     counterparty: alice.public_key(),
///     amount: 1000,
///     ..Default::default()
/// };
/// ledger.submit(&mint.sign(&ledger.id()?, &authority, None)?, 0)?;
/// assert_eq!(ledger.account(&alice.public_key())?.balance, 1000);
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub struct Ledger {
    ptr: NonNull<sys::ca_ledger>,
    open_info: Option<sys::ca_ledger_open_info>,
}

// SAFETY: no thread affinity; exclusive access for mutation is enforced by &mut.
unsafe impl Send for Ledger {}

impl Ledger {
    fn from_raw(p: *mut sys::ca_ledger, info: Option<sys::ca_ledger_open_info>) -> Result<Ledger> {
        match NonNull::new(p) {
            Some(ptr) => Ok(Ledger { ptr, open_info: info }),
            None => Err(Error::invalid_argument("library returned a NULL ledger")),
        }
    }

    /// In-memory ledger.
    pub fn new(opts: &sys::ca_ledger_options) -> Result<Ledger> {
        let mut p = ptr::null_mut();
        // SAFETY: opts valid.
        check(unsafe { sys::ca_ledger_new(&mut p, opts) })?;
        Ledger::from_raw(p, None)
    }

    /// Durable ledger in `dir` (created if missing), recovered from snapshot + journal.
    pub fn open<P: AsRef<Path>>(dir: P, opts: &sys::ca_ledger_options) -> Result<Ledger> {
        let c = c_path(dir.as_ref())?;
        let mut info = open_info_for_call();
        let mut p = ptr::null_mut();
        // SAFETY: all pointers valid.
        check(unsafe { sys::ca_ledger_open(&mut p, c.as_ptr(), opts, &mut info) })?;
        Ledger::from_raw(p, Some(info))
    }

    /// In-memory ledger holding the state of snapshot bytes
    /// ([`Ledger::snapshot_export`], or a durable ledger's `snapshot` file):
    /// the exporter's state hash and log position. Strict decoder
    /// (`CA_ERR_LEDGER_CORRUPT`; `CA_ERR_LEDGER_OPTIONS_MISMATCH` under other options).
    pub fn from_snapshot(opts: &sys::ca_ledger_options, snapshot: &[u8]) -> Result<Ledger> {
        let mut p = ptr::null_mut();
        // SAFETY: opts valid; snapshot valid for its length.
        check(unsafe { sys::ca_ledger_new_from_snapshot(&mut p, opts, snapshot.as_ptr(), snapshot.len()) })?;
        Ledger::from_raw(p, None)
    }

    /// Replaces the durable ledger in `dir` (created if missing) with the state
    /// of snapshot bytes and opens it. The bytes are checked before anything on
    /// disk changes; crash-safe (the directory holds the old state or the new).
    pub fn open_from_snapshot<P: AsRef<Path>>(
        dir: P,
        opts: &sys::ca_ledger_options,
        snapshot: &[u8],
    ) -> Result<Ledger> {
        let c = c_path(dir.as_ref())?;
        let mut info = open_info_for_call();
        let mut p = ptr::null_mut();
        // SAFETY: all pointers valid; snapshot valid for its length.
        check(unsafe {
            sys::ca_ledger_open_from_snapshot(
                &mut p,
                c.as_ptr(),
                opts,
                snapshot.as_ptr(),
                snapshot.len(),
                &mut info,
            )
        })?;
        Ledger::from_raw(p, Some(info))
    }

    /// The ledger id (digest of its options): what signed ops for it name.
    pub fn id(&self) -> Result<Hash> {
        let mut h = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: read-only query on a live handle; h writable.
        check(unsafe { sys::ca_ledger_id(self.ptr.as_ptr(), &mut h) })?;
        Ok(h.bytes)
    }

    /// What recovery found (durable ledgers only).
    pub fn open_info(&self) -> Option<sys::ca_ledger_open_info> {
        self.open_info
    }

    /// Applies an op authenticated by other means; returns its seq.
    pub fn apply(&mut self, op: &LedgerOp, now: u64) -> Result<u64> {
        let c = op.to_c();
        let mut seq = 0u64;
        // SAFETY: exclusive access; pointers valid.
        check(unsafe { sys::ca_ledger_apply(self.ptr.as_ptr(), &c, now, &mut seq) })?;
        Ok(seq)
    }

    /// Applies `ops` in order, each independently; one status per op (`CA_OK` = applied).
    pub fn apply_batch(&mut self, ops: &[LedgerOp], now: u64) -> Result<Vec<i32>> {
        let c: Vec<sys::ca_ledger_op> = ops.iter().map(|o| o.to_c()).collect();
        let mut results = vec![0i32; ops.len()];
        let mut applied = 0usize;
        // SAFETY: exclusive access; arrays sized n.
        check(unsafe {
            sys::ca_ledger_apply_batch(
                self.ptr.as_ptr(),
                c.as_ptr(),
                c.len(),
                now,
                results.as_mut_ptr(),
                &mut applied,
            )
        })?;
        Ok(results)
    }

    /// Checks the signatures of signed op bytes (for this ledger's id) and
    /// applies the op; returns its seq. EQUIVOCATION slashes and ESCROW_DELIVER
    /// need [`Ledger::submit_evidence`].
    pub fn submit(&mut self, msg: &[u8], now: u64) -> Result<u64> {
        let mut seq = 0u64;
        // SAFETY: exclusive access; msg valid for its length.
        check(unsafe { sys::ca_ledger_submit(self.ptr.as_ptr(), msg.as_ptr(), msg.len(), now, &mut seq) })?;
        Ok(seq)
    }

    /// Submits a signed op with what it claims: an EQUIVOCATION SLASH with its
    /// evidence object, an ESCROW_DELIVER with the RESULT envelope it names
    /// (the worker's, for this award, with an output, created by the
    /// deadline); returns its seq.
    pub fn submit_evidence(&mut self, msg: &[u8], evidence: &[u8], now: u64) -> Result<u64> {
        let mut seq = 0u64;
        // SAFETY: exclusive access; both slices valid for their lengths.
        check(unsafe {
            sys::ca_ledger_submit_evidence(
                self.ptr.as_ptr(),
                msg.as_ptr(),
                msg.len(),
                evidence.as_ptr(),
                evidence.len(),
                now,
                &mut seq,
            )
        })?;
        Ok(seq)
    }

    /// Group commit; returns the highest durable seq.
    pub fn commit(&mut self) -> Result<u64> {
        let mut seq = 0u64;
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_ledger_commit(self.ptr.as_ptr(), &mut seq) })?;
        Ok(seq)
    }

    /// Commit + snapshot + journal truncation (durable mode only).
    pub fn snapshot(&mut self) -> Result<()> {
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_ledger_snapshot(self.ptr.as_ptr()) })
    }

    /// The whole state as snapshot bytes, in memory or durable (ops not yet
    /// committed included), with the log position, clock and refused count:
    /// replicas at one position of one log export identical bytes.
    pub fn snapshot_export(&mut self) -> Result<Vec<u8>> {
        let p = self.ptr.as_ptr();
        out_bytes(4096, |out, cap, n| unsafe {
            // SAFETY: exclusive access; out writable for cap.
            sys::ca_ledger_snapshot_export(p, out, cap, n)
        })
    }

    /// Processes log entries in order (ledger.h, LOG): each is applied at
    /// `now = max(entry.time, clock)`; an entry at or before the recorded
    /// position is skipped (`CA_ERR_LEDGER_STALE_POSITION`), so an op refused
    /// once stays refused. One status per entry: `CA_OK` (applied), its
    /// refusal, or `CA_ERR_LEDGER_STALE_POSITION`.
    pub fn apply_log(&mut self, entries: &[LogEntry<'_>]) -> std::result::Result<Vec<i32>, LogStopped> {
        let ops: Vec<Option<sys::ca_ledger_op>> = entries
            .iter()
            .map(|e| match e.op {
                LogOp::Trusted(op) => Some(op.to_c()),
                LogOp::Signed { .. } => None,
            })
            .collect();
        let c: Vec<sys::ca_ledger_log_entry> = entries
            .iter()
            .zip(ops.iter())
            .map(|(e, op)| {
                let (msg, att) = match e.op {
                    LogOp::Signed { msg, attachment } => (msg, attachment.unwrap_or(&[])),
                    LogOp::Trusted(_) => (&[][..], &[][..]),
                };
                sys::ca_ledger_log_entry {
                    position: e.position,
                    time: e.time,
                    msg: if msg.is_empty() { ptr::null() } else { msg.as_ptr() },
                    msg_len: msg.len(),
                    attachment: if att.is_empty() { ptr::null() } else { att.as_ptr() },
                    attachment_len: att.len(),
                    op: op.as_ref().map_or(ptr::null(), |o| o as *const sys::ca_ledger_op),
                }
            })
            .collect();
        let mut results = vec![0i32; c.len()];
        let mut done = 0usize;
        // SAFETY: exclusive access; entries, the ops and bytes they point to and results live for
        // the call; the element size is this binding's struct, which check_drift keeps equal to C's.
        let st = unsafe {
            sys::ca_ledger_apply_log(
                self.ptr.as_ptr(),
                c.as_ptr(),
                std::mem::size_of::<sys::ca_ledger_log_entry>(),
                c.len(),
                results.as_mut_ptr(),
                &mut done,
            )
        };
        match check(st) {
            Ok(()) => Ok(results),
            Err(error) => Err(LogStopped { error, done, results }),
        }
    }

    /// Where the ledger stands in its log: the position of the last entry
    /// applied or refused (read on from + 1), the clock, the refused count and
    /// the position a crash keeps.
    pub fn log_position(&self) -> Result<sys::ca_ledger_log_info> {
        // SAFETY: plain integers.
        let mut out: sys::ca_ledger_log_info = unsafe { std::mem::zeroed() };
        out.version = sys::CA_LEDGER_LOG_INFO_VERSION;
        // SAFETY: read-only query on a handle nobody mutates (&self, not Sync).
        check(unsafe { sys::ca_ledger_log_position(self.ptr.as_ptr(), &mut out) })?;
        Ok(out)
    }

    pub fn account(&self, id: &PublicKey) -> Result<sys::ca_ledger_account_info> {
        let a = sys::ca_agent_id { bytes: *id };
        // SAFETY: plain integers.
        let mut out: sys::ca_ledger_account_info = unsafe { std::mem::zeroed() };
        out.version = sys::CA_LEDGER_ACCOUNT_INFO_VERSION;
        // SAFETY: read-only query on a handle nobody mutates (&self, not Sync).
        check(unsafe { sys::ca_ledger_account(self.ptr.as_ptr(), &a, &mut out) })?;
        Ok(out)
    }

    pub fn escrow(&self, award_id: &Hash) -> Result<sys::ca_ledger_escrow_info> {
        let h = sys::ca_hash { bytes: *award_id };
        // SAFETY: plain data.
        let mut out: sys::ca_ledger_escrow_info = unsafe { std::mem::zeroed() };
        out.version = sys::CA_LEDGER_ESCROW_INFO_VERSION;
        // SAFETY: as above.
        check(unsafe { sys::ca_ledger_escrow(self.ptr.as_ptr(), &h, &mut out) })?;
        Ok(out)
    }

    /// The key record of an account bound to a key history (KEY_EVENT):
    /// `Err` with CA_ERR_NOT_FOUND when it has none, CA_ERR_LEDGER_UNKNOWN_ACCOUNT
    /// without an account.
    pub fn key_state(&self, account: &PublicKey) -> Result<sys::ca_ledger_key_info> {
        let a = sys::ca_agent_id { bytes: *account };
        // SAFETY: plain data.
        let mut out: sys::ca_ledger_key_info = unsafe { std::mem::zeroed() };
        out.version = sys::CA_LEDGER_KEY_INFO_VERSION;
        // SAFETY: read-only query on a handle nobody mutates (&self, not Sync).
        check(unsafe { sys::ca_ledger_key_state(self.ptr.as_ptr(), &a, &mut out) })?;
        Ok(out)
    }

    /// The account `key` signs for now (ledger.h, `ca_ledger_account_of_key`): the account
    /// of a rotated identity whose current key it is, else the key itself when it is an
    /// account; `Err` with CA_ERR_KEY_ROTATED for the id of an account whose key has rotated
    /// away, CA_ERR_LEDGER_UNKNOWN_ACCOUNT otherwise.
    pub fn account_of_key(&self, key: &PublicKey) -> Result<PublicKey> {
        let k = sys::ca_agent_id { bytes: *key };
        let mut out = sys::ca_agent_id { bytes: [0u8; 32] };
        // SAFETY: read-only query on a handle nobody mutates (&self, not Sync).
        check(unsafe { sys::ca_ledger_account_of_key(self.ptr.as_ptr(), &k, &mut out) })?;
        Ok(out.bytes)
    }

    /// The ledger's record of a delegation id (spent, total cap, the leaf nonce, expiry);
    /// `CA_ERR_LEDGER_UNKNOWN_DELEGATION` when no applied op used it or it was dropped.
    pub fn delegation(&self, id: &Hash) -> Result<sys::ca_ledger_delegation_info> {
        let h = sys::ca_hash { bytes: *id };
        // SAFETY: plain data.
        let mut out: sys::ca_ledger_delegation_info = unsafe { std::mem::zeroed() };
        out.version = sys::CA_LEDGER_DELEGATION_INFO_VERSION;
        // SAFETY: live handle, valid pointers.
        check(unsafe { sys::ca_ledger_delegation(self.ptr.as_ptr(), &h, &mut out) })?;
        Ok(out)
    }

    /// When the ledger drops its REVOKE of `delegation` by `revoker` (ms), or
    /// `None` when it holds none.
    pub fn revocation(&self, delegation: &Hash, revoker: &PublicKey) -> Result<Option<u64>> {
        let h = sys::ca_hash { bytes: *delegation };
        let r = sys::ca_agent_id { bytes: *revoker };
        let mut until = 0u64;
        // SAFETY: live handle, valid pointers.
        match unsafe { sys::ca_ledger_revocation(self.ptr.as_ptr(), &h, &r, &mut until) } {
            sys::CA_OK => Ok(Some(until)),
            sys::CA_ERR_LEDGER_UNKNOWN_DELEGATION => Ok(None),
            other => Err(Error::from_status(other)),
        }
    }

    /// The raw handle for read-only use by other modules, valid while `self` lives.
    pub(crate) fn as_const_ptr(&self) -> *const sys::ca_ledger {
        self.ptr.as_ptr()
    }

    pub fn totals(&self) -> sys::ca_ledger_totals {
        // SAFETY: plain integers.
        let mut t: sys::ca_ledger_totals = unsafe { std::mem::zeroed() };
        t.version = sys::CA_LEDGER_TOTALS_VERSION;
        // SAFETY: live handle. Cannot fail: a live handle and this build's version.
        let st = unsafe { sys::ca_ledger_totals_get(self.ptr.as_ptr(), &mut t) };
        debug_assert_eq!(st, 0);
        t
    }

    /// Deterministic state hash.
    pub fn state_hash(&mut self) -> Result<Hash> {
        let mut h = sys::ca_hash { bytes: [0; sys::CA_HASH_BYTES] };
        // SAFETY: exclusive access (the C call takes a non-const handle).
        check(unsafe { sys::ca_ledger_state_hash(self.ptr.as_ptr(), &mut h) })?;
        Ok(h.bytes)
    }

    /// Verifies every invariant from scratch.
    pub fn check(&mut self) -> Result<()> {
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_ledger_check(self.ptr.as_ptr()) })
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_ledger_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.totals();
        write!(f, "Ledger(seq={}, accounts={}, minted={})", t.seq, t.accounts, t.minted)
    }
}
