//! Reputation: paid ratings, Beta scores with decay, EigenTrust global scores.

use std::fmt;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::error::{check, Error, Result};
use crate::identity::PublicKey;
use crate::Hash;

/// Reputation options with the C defaults (set fields, then pass to [`Reputation::new`]).
pub fn reputation_options() -> Result<sys::ca_reputation_options> {
    // SAFETY: all-zero is valid for this plain struct; then initialized.
    let mut o: sys::ca_reputation_options = unsafe { std::mem::zeroed() };
    // SAFETY: o writable.
    check(unsafe { sys::ca_reputation_options_init(&mut o, sys::CA_REPUTATION_OPTIONS_VERSION) })?;
    Ok(o)
}

/// Largest rating (`CA_TASK_RATING_MAX`, the receipt's scale: 100) and the weight cap.
pub fn reputation_limits() -> (usize, usize) {
    (sys::CA_TASK_RATING_MAX as usize, sys::CA_REPUTATION_WEIGHT_MAX as usize)
}

/// Ratings, stakes and pre-trust flags, and the scores computed from them.
///
/// Thread safety (reputation.h): not thread-safe, so `Send` but not `Sync`.
///
/// ```
/// use cyberagent::Reputation;
/// let mut rep = Reputation::new(None)?;
/// let (a, b) = ([1u8; 32], [2u8; 32]);
/// rep.add_rating(&[9u8; 32], &a, &b, 100, 100, 1_700_000_000_000)?;
/// rep.update(1_700_000_001_000)?;
/// assert!(rep.get(&b)?.unwrap().expected > 0.5);
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub struct Reputation {
    ptr: NonNull<sys::ca_reputation>,
}

// SAFETY: no thread affinity; exclusive access for mutation is enforced by &mut.
unsafe impl Send for Reputation {}

impl Reputation {
    /// A new empty store; `None` for default options.
    pub fn new(opts: Option<&sys::ca_reputation_options>) -> Result<Reputation> {
        let mut p = ptr::null_mut();
        // SAFETY: opts valid or NULL.
        check(unsafe { sys::ca_reputation_new(&mut p, opts.map_or(ptr::null(), |o| o as *const _)) })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(Reputation { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL reputation handle")),
        }
    }

    fn raw(&self) -> *mut sys::ca_reputation {
        self.ptr.as_ptr()
    }

    /// For calls that only read the store (routing's sync).
    pub(crate) fn as_const_ptr(&self) -> *const sys::ca_reputation {
        self.ptr.as_ptr()
    }

    pub fn reserve(&mut self, agents: usize, ratings: usize) -> Result<()> {
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_reputation_reserve(self.raw(), agents, ratings) })
    }

    /// Ingests one settled, paid rating (0..=100).
    pub fn add_rating(
        &mut self,
        task: &Hash,
        rater: &PublicKey,
        ratee: &PublicKey,
        rating: u32,
        amount: u64,
        time_ms: u64,
    ) -> Result<()> {
        let t = sys::ca_hash { bytes: *task };
        let (a, b) = (sys::ca_agent_id { bytes: *rater }, sys::ca_agent_id { bytes: *ratee });
        // SAFETY: exclusive access; pointers valid.
        check(unsafe { sys::ca_reputation_add_rating(self.raw(), &t, &a, &b, rating, amount, time_ms) })
    }

    /// Ingests the rating of a settled task thread (rater = requester, ratee =
    /// worker, weight from the paid amount, one per task id).
    pub fn add_receipt(&mut self, task: &crate::Task) -> Result<()> {
        // SAFETY: exclusive access to the store; the task is only read.
        check(unsafe { sys::ca_reputation_add_receipt(self.raw(), task.as_ptr()) })
    }

    /// Ingests the rating of a settled task thread whose escrow went through
    /// `ledger`: the escrow for the award must exist (`CA_ERR_LEDGER_UNKNOWN_ESCROW`),
    /// be between the requester and the rated worker (`CA_ERR_ESCROW_MISMATCH`)
    /// and be released or split (`CA_ERR_UNPAID_RATING`); the weight comes from
    /// what the ledger paid the worker, not from the receipt's `paid`.
    pub fn add_settled(&mut self, task: &crate::Task, ledger: &crate::Ledger) -> Result<()> {
        // SAFETY: exclusive access to the store; the task and the ledger are only read
        // (&Ledger: no mutation can run meanwhile, and Ledger is not Sync).
        check(unsafe { sys::ca_reputation_add_settled(self.raw(), task.as_ptr(), ledger.as_const_ptr()) })
    }

    /// Records verified slashing evidence (a slash the ledger applied: its
    /// evidence `kind` 1..=3, `reference` and offender). At the next update
    /// the offender's credibility is divided by 16 per fresh offense, fading
    /// with the half-life. A repeat fails with `CA_ERR_DUPLICATE_OFFENSE`.
    pub fn add_offense(
        &mut self,
        kind: u32,
        reference: &Hash,
        offender: &PublicKey,
        time_ms: u64,
    ) -> Result<()> {
        let r = sys::ca_hash { bytes: *reference };
        let a = sys::ca_agent_id { bytes: *offender };
        // SAFETY: exclusive access; pointers valid.
        check(unsafe { sys::ca_reputation_add_offense(self.raw(), kind, &r, &a, time_ms) })
    }

    pub fn set_stake(&mut self, agent: &PublicKey, amount: u64) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_reputation_set_stake(self.raw(), &a, amount) })
    }

    /// Sets every known agent's stake from `ledger` as of `now_ms`: bonded +
    /// unbonding, 0 without an account or while the ledger jails the agent.
    pub fn sync_stakes(&mut self, ledger: &crate::Ledger, now_ms: u64) -> Result<()> {
        // SAFETY: exclusive access to the store; the ledger is only read
        // (&Ledger: no mutation can run meanwhile, and Ledger is not Sync).
        check(unsafe { sys::ca_reputation_sync_stakes(self.raw(), ledger.as_const_ptr(), now_ms) })
    }

    pub fn set_pretrusted(&mut self, agent: &PublicKey, pretrusted: bool) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_reputation_set_pretrusted(self.raw(), &a, pretrusted as i32) })
    }

    /// Recomputes every score as of `now_ms`.
    pub fn update(&mut self, now_ms: u64) -> Result<sys::ca_reputation_stats> {
        // SAFETY: plain data.
        let mut s: sys::ca_reputation_stats = unsafe { std::mem::zeroed() };
        s.version = sys::CA_REPUTATION_STATS_VERSION;
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_reputation_update(self.raw(), now_ms, &mut s) })?;
        Ok(s)
    }

    /// Drops every rating whose evidence at `now_ms` is exactly 0 (no score bit of an
    /// update at `now_ms` or later changes) and returns how many went. Their task ids
    /// stay known: rating one again is still a duplicate.
    pub fn prune(&mut self, now_ms: u64) -> Result<usize> {
        let mut n: usize = 0;
        // SAFETY: exclusive access; `n` outlives the call.
        check(unsafe { sys::ca_reputation_prune(self.raw(), now_ms, &mut n) })?;
        Ok(n)
    }

    /// Scores of one agent, or `None` when unknown.
    pub fn get(&self, agent: &PublicKey) -> Result<Option<sys::ca_reputation_score>> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: plain data.
        let mut s: sys::ca_reputation_score = unsafe { std::mem::zeroed() };
        // SAFETY: read-only query.
        let size = std::mem::size_of_val(&s);
        match unsafe { sys::ca_reputation_get(self.raw(), &a, &mut s, size) } {
            sys::CA_OK => Ok(Some(s)),
            sys::CA_ERR_NOT_FOUND => Ok(None),
            other => Err(Error::from_status(other)),
        }
    }

    /// The `n` agents with the highest global score, best first.
    pub fn top(&self, n: usize) -> Result<Vec<sys::ca_reputation_score>> {
        let k = n.min(self.agent_count());
        // SAFETY: plain data.
        let mut v: Vec<sys::ca_reputation_score> = (0..k).map(|_| unsafe { std::mem::zeroed() }).collect();
        let mut got = 0usize;
        // SAFETY: v has k writable entries.
        let size = std::mem::size_of::<sys::ca_reputation_score>();
        check(unsafe { sys::ca_reputation_top(self.raw(), n, v.as_mut_ptr(), size, v.len(), &mut got) })?;
        v.truncate(got);
        Ok(v)
    }

    pub fn agent_count(&self) -> usize {
        // SAFETY: read-only query.
        unsafe { sys::ca_reputation_agent_count(self.raw()) }
    }

    pub fn rating_count(&self) -> usize {
        // SAFETY: read-only query.
        unsafe { sys::ca_reputation_rating_count(self.raw()) }
    }

    /// Canonical snapshot bytes.
    pub fn snapshot_export(&self) -> Result<Vec<u8>> {
        crate::error::out_bytes(4096, |out, cap, n| unsafe {
            // SAFETY: out writable for cap.
            sys::ca_reputation_snapshot_export(self.raw(), out, cap, n)
        })
    }

    /// Loads a snapshot into this empty handle.
    pub fn snapshot_import(&mut self, data: &[u8]) -> Result<()> {
        // SAFETY: exclusive access; data valid.
        check(unsafe { sys::ca_reputation_snapshot_import(self.raw(), data.as_ptr(), data.len()) })
    }
}

impl Drop for Reputation {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_reputation_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Reputation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reputation(agents={}, ratings={})", self.agent_count(), self.rating_count())
    }
}
