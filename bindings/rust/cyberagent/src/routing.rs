//! Routing: a registry of verified cards ranked by an explainable utility,
//! Thompson-sampling exploration, and a Kademlia-style XOR-distance table.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_char;
use std::ptr::{self, NonNull};

use cyberagent_sys as sys;

use crate::card::Card;
use crate::delegation::{Delegation, RevocationSet};
use crate::error::{check, out_bytes, Error, Result};
use crate::identity::PublicKey;

/// Utility weights with the library defaults, of this crate's
/// `CA_ROUTING_WEIGHTS_VERSION` (the options and queries point to them).
pub fn routing_weights_default() -> sys::ca_routing_weights {
    // SAFETY: plain integers; then filled by the library.
    let mut w: sys::ca_routing_weights = unsafe { std::mem::zeroed() };
    // SAFETY: w writable. Cannot fail: a valid pointer and this crate's version.
    let st = unsafe { sys::ca_routing_weights_init(&mut w, sys::CA_ROUTING_WEIGHTS_VERSION) };
    debug_assert_eq!(st, 0);
    w
}

/// Registry options with the library defaults.
pub fn routing_options() -> Result<sys::ca_routing_options> {
    // SAFETY: plain data; then filled by the library.
    let mut o: sys::ca_routing_options = unsafe { std::mem::zeroed() };
    // SAFETY: o writable.
    check(unsafe { sys::ca_routing_options_init(&mut o, sys::CA_ROUTING_OPTIONS_VERSION) })?;
    Ok(o)
}

/// A query: a capability pattern (`"a.b"`, `"a.*"`, `"*"`) plus filters.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    pub capability: &'a str,
    pub now: u64,
    pub max_price: Option<u64>,
    pub min_stake: Option<u64>,
    pub min_reputation_ppm: Option<u32>,
    pub max_latency_ms: Option<u32>,
    pub weights: Option<&'a sys::ca_routing_weights>,
    /// Thompson-sampling exploration with this seed.
    pub thompson: Option<u64>,
}

impl<'a> Query<'a> {
    /// The C query; borrows `capability` and `weights` (valid while `self` lives).
    pub fn to_c(&self) -> Result<sys::ca_routing_query> {
        let q = self;
        // SAFETY: plain data; then initialized by the library.
        let mut cq: sys::ca_routing_query = unsafe { std::mem::zeroed() };
        // SAFETY: cq writable.
        check(unsafe { sys::ca_routing_query_init(&mut cq, sys::CA_ROUTING_QUERY_VERSION) })?;
        cq.capability = q.capability.as_ptr() as *const c_char;
        cq.capability_len = q.capability.len();
        cq.now = q.now;
        if let Some(v) = q.max_price {
            cq.max_price = v;
        }
        if let Some(v) = q.min_stake {
            cq.min_stake = v;
        }
        if let Some(v) = q.min_reputation_ppm {
            cq.min_reputation_ppm = v;
        }
        if let Some(v) = q.max_latency_ms {
            cq.max_latency_ms = v;
        }
        if let Some(w) = q.weights {
            cq.weights = w;
        }
        if let Some(seed) = q.thompson {
            cq.thompson = 1;
            cq.seed = seed;
        }
        Ok(cq)
    }
}

/// One bid: who, at what price, optionally with its own latency promise (0 = the card's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bid {
    pub agent: PublicKey,
    pub price: u64,
    pub latency_ms: u32,
}

impl Bid {
    fn to_c(self) -> sys::ca_routing_bid {
        sys::ca_routing_bid {
            agent: sys::ca_agent_id { bytes: self.agent },
            price: self.price,
            latency_ms: self.latency_ms,
        }
    }
}

/// One ranked candidate (the C result struct) with helpers.
#[derive(Clone, Copy)]
pub struct Candidate(pub sys::ca_routing_result);

impl Candidate {
    pub fn agent(&self) -> PublicKey {
        self.0.agent.bytes
    }

    /// The matched capability name.
    pub fn capability(&self) -> &str {
        // SAFETY: the library NUL-terminates the array.
        let c = unsafe { CStr::from_ptr(self.0.capability.as_ptr()) };
        c.to_str().unwrap_or("")
    }

    /// One line explaining the score in the format `ca_routing_result_explain`
    /// documents, e.g. "score 5000000 = price 1500000 (500000 ppm) + ...".
    pub fn explain(&self) -> String {
        let v = out_bytes(160, |out, cap, n| unsafe {
            // SAFETY: out writable for cap.
            let size = std::mem::size_of::<sys::ca_routing_result>();
            sys::ca_routing_result_explain(&self.0, size, out as *mut c_char, cap, n)
        })
        .unwrap_or_default();
        String::from_utf8_lossy(&v).into_owned()
    }
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Candidate({}: {})", self.capability(), self.explain())
    }
}

/// A registry of agent cards.
///
/// Thread safety (routing.h): queries (`&self`) may run concurrently with each
/// other; every other call needs exclusive access (`&mut self`). Hence `Send +
/// Sync`: shared references only reach the const queries.
///
/// ```
/// use cyberagent::{Capability, Card, CardParams, Identity, Query, Routing};
/// let worker = Identity::generate()?;
/// let params = CardParams {
///     name: "w".into(), endpoint: "nats.w".into(),
///     capabilities: vec![Capability::new("llm.summarize", 10, 0)],
///     not_before: 0, not_after: 10_000, created_at: 0, ..Default::default()
/// };
/// let card = Card::open(&cyberagent::sign_card(&worker, &params)?.0, 1, None)?;
/// let mut rt = Routing::new(None)?;
/// rt.add_card(&card, 1)?;
/// let best = rt.select(&Query { capability: "llm.*", now: 1, ..Default::default() }, 3)?;
/// assert_eq!(best[0].agent(), worker.public_key());
/// # Ok::<(), cyberagent::Error>(())
/// ```
pub struct Routing {
    ptr: NonNull<sys::ca_routing>,
}

// SAFETY: routing.h: const calls may run concurrently; mutation needs exclusive access (&mut).
unsafe impl Send for Routing {}
unsafe impl Sync for Routing {}

impl Routing {
    /// New empty registry; `None` for default options.
    pub fn new(opts: Option<&sys::ca_routing_options>) -> Result<Routing> {
        let mut p = ptr::null_mut();
        // SAFETY: opts valid or NULL.
        check(unsafe { sys::ca_routing_new(&mut p, opts.map_or(ptr::null(), |o| o as *const _)) })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(Routing { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL registry")),
        }
    }

    pub fn count(&self) -> usize {
        // SAFETY: const query.
        unsafe { sys::ca_routing_count(self.ptr.as_ptr()) }
    }

    /// Adds or replaces the card's agent.
    pub fn add_card(&mut self, card: &Card, now: u64) -> Result<()> {
        // SAFETY: exclusive access; card is live.
        check(unsafe { sys::ca_routing_add_card(self.ptr.as_ptr(), card.as_ptr(), now) })
    }

    /// Adds or replaces a delegate: its own card and the chain (root first)
    /// under which it acts for the chain's delegator (routing.h, DELEGATES).
    /// `revocations`: the caller's, checked along with the registry's.
    pub fn add_delegate(
        &mut self,
        card: &Card,
        chain: &[&Delegation],
        now: u64,
        revocations: Option<&RevocationSet>,
    ) -> Result<()> {
        let links: Vec<*const sys::ca_delegation> = chain.iter().map(|d| d.as_ptr()).collect();
        // SAFETY: plain data, initialized by the library.
        let mut o: sys::ca_delegation_verify_options = unsafe { std::mem::zeroed() };
        // SAFETY: o writable.
        check(unsafe {
            sys::ca_delegation_verify_options_init(&mut o, sys::CA_DELEGATION_VERIFY_OPTIONS_VERSION)
        })?;
        o.revocations = revocations.map_or(ptr::null(), |r| r.as_ptr());
        // SAFETY: exclusive access; card, links and the set live through the call.
        check(unsafe {
            sys::ca_routing_add_delegate(
                self.ptr.as_ptr(),
                card.as_ptr(),
                links.as_ptr(),
                links.len(),
                &o,
                now,
            )
        })
    }

    /// Applies a signed revocation; returns how many delegates it removed (0 for
    /// one without force, which changes nothing).
    pub fn add_revocation(&mut self, data: &[u8], now: u64) -> Result<usize> {
        let mut n = 0usize;
        // SAFETY: exclusive access; data valid for its length.
        check(unsafe {
            sys::ca_routing_add_revocation(self.ptr.as_ptr(), data.as_ptr(), data.len(), now, &mut n)
        })?;
        Ok(n)
    }

    pub fn delegate_count(&self) -> usize {
        // SAFETY: const query.
        unsafe { sys::ca_routing_delegate_count(self.ptr.as_ptr()) }
    }

    pub fn remove(&mut self, agent: &PublicKey) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_routing_remove(self.ptr.as_ptr(), &a) })
    }

    /// Removes agents whose kept-until time ended (the card's not_after, or
    /// max_card_lifetime_ms after its last add if sooner); returns how many.
    pub fn expire(&mut self, now: u64) -> Result<usize> {
        let mut n = 0usize;
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_routing_expire(self.ptr.as_ptr(), now, &mut n) })?;
        Ok(n)
    }

    pub fn set_reputation(&mut self, agent: &PublicKey, reputation_ppm: u32) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_routing_set_reputation(self.ptr.as_ptr(), &a, reputation_ppm) })
    }

    pub fn set_evidence(
        &mut self,
        agent: &PublicKey,
        positive_milli: u64,
        negative_milli: u64,
    ) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_routing_set_evidence(self.ptr.as_ptr(), &a, positive_milli, negative_milli) })
    }

    pub fn set_stake(&mut self, agent: &PublicKey, stake: u64) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_routing_set_stake(self.ptr.as_ptr(), &a, stake) })
    }

    /// Every registered agent's stake from `ledger` as of `now_ms`: bonded +
    /// unbonding, 0 without an account or while the ledger jails the agent (so a
    /// query with `min_stake: Some(1)` leaves jailed agents out). Counts as
    /// [`Routing::set_stake`].
    pub fn sync_stakes(&mut self, ledger: &crate::Ledger, now_ms: u64) -> Result<()> {
        // SAFETY: exclusive access to the registry; the ledger is only read
        // (&Ledger: no mutation can run meanwhile, and Ledger is not Sync).
        check(unsafe { sys::ca_routing_sync_stakes(self.ptr.as_ptr(), ledger.as_const_ptr(), now_ms) })
    }

    /// Reputation ppm (the Beta expected value, rounded) and Beta evidence (in
    /// thousandths) of every registered agent `rep` knows, as of its last
    /// update; agents it does not know keep theirs.
    pub fn sync_reputation(&mut self, rep: &crate::Reputation) -> Result<()> {
        // SAFETY: exclusive access to the registry; `rep` is only read and
        // cannot be mutated while borrowed.
        check(unsafe { sys::ca_routing_sync_reputation(self.ptr.as_ptr(), rep.as_const_ptr()) })
    }

    /// What the registry holds about an agent, or `None`.
    pub fn get(&self, agent: &PublicKey) -> Result<Option<sys::ca_routing_agent_info>> {
        let a = sys::ca_agent_id { bytes: *agent };
        // SAFETY: plain data.
        let mut i: sys::ca_routing_agent_info = unsafe { std::mem::zeroed() };
        i.version = sys::CA_ROUTING_AGENT_INFO_VERSION;
        // SAFETY: const query.
        match unsafe { sys::ca_routing_get(self.ptr.as_ptr(), &a, &mut i) } {
            sys::CA_OK => Ok(Some(i)),
            sys::CA_ERR_NOT_FOUND => Ok(None),
            other => Err(Error::from_status(other)),
        }
    }

    pub fn endpoint(&self, agent: &PublicKey) -> Result<Vec<u8>> {
        let a = sys::ca_agent_id { bytes: *agent };
        out_bytes(256, |out, cap, n| unsafe {
            // SAFETY: const query; out writable for cap.
            sys::ca_routing_endpoint(self.ptr.as_ptr(), &a, out, cap, n)
        })
    }

    pub fn name(&self, agent: &PublicKey) -> Result<String> {
        let a = sys::ca_agent_id { bytes: *agent };
        let v = out_bytes(64, |out, cap, n| unsafe {
            // SAFETY: const query; out writable for cap.
            sys::ca_routing_name(self.ptr.as_ptr(), &a, out as *mut c_char, cap, n)
        })?;
        String::from_utf8(v).map_err(|_| Error::invalid_argument("name is not UTF-8"))
    }

    /// The best `k` candidates, best first.
    pub fn select(&self, q: &Query<'_>, k: usize) -> Result<Vec<Candidate>> {
        let cq = q.to_c()?;
        // SAFETY: plain data.
        let mut v: Vec<sys::ca_routing_result> = (0..k).map(|_| unsafe { std::mem::zeroed() }).collect();
        let mut n = 0usize;
        // SAFETY: const query; v holds k entries; the pattern outlives the call.
        let size = std::mem::size_of::<sys::ca_routing_result>();
        check(unsafe { sys::ca_routing_select(self.ptr.as_ptr(), &cq, v.as_mut_ptr(), size, k, &mut n) })?;
        v.truncate(n);
        Ok(v.into_iter().map(Candidate).collect())
    }
}

impl Routing {
    /// Scores one bid with the query's utility (bid price in place of the card's).
    /// `Ok(None)`: the bidder is unknown or offers no matching capability;
    /// `Ok(Some((candidate, eligible)))` otherwise (an ineligible bid fails a filter).
    pub fn score_bid(&self, q: &Query<'_>, bid: &Bid) -> Result<Option<(Candidate, bool)>> {
        let cq = q.to_c()?;
        let b = bid.to_c();
        // SAFETY: plain data.
        let mut r: sys::ca_routing_result = unsafe { std::mem::zeroed() };
        // SAFETY: const query; pointers valid.
        let (bs, rs) = (std::mem::size_of_val(&b), std::mem::size_of_val(&r));
        match unsafe { sys::ca_routing_score_bid(self.ptr.as_ptr(), &cq, &b, bs, &mut r, rs) } {
            sys::CA_OK => Ok(Some((Candidate(r), true))),
            sys::CA_ERR_ROUTING_INELIGIBLE => Ok(Some((Candidate(r), false))),
            sys::CA_ERR_NOT_FOUND => Ok(None),
            other => Err(Error::from_status(other)),
        }
    }

    /// The best `k` eligible bids, best first.
    pub fn rank_bids(&self, q: &Query<'_>, bids: &[Bid], k: usize) -> Result<Vec<Candidate>> {
        let cq = q.to_c()?;
        let cb: Vec<sys::ca_routing_bid> = bids.iter().map(|b| b.to_c()).collect();
        // SAFETY: plain data.
        let mut v: Vec<sys::ca_routing_result> = (0..k).map(|_| unsafe { std::mem::zeroed() }).collect();
        let mut n = 0usize;
        // SAFETY: const query; arrays sized as passed.
        check(unsafe {
            sys::ca_routing_rank_bids(
                self.ptr.as_ptr(),
                &cq,
                cb.as_ptr(),
                std::mem::size_of::<sys::ca_routing_bid>(),
                cb.len(),
                v.as_mut_ptr(),
                std::mem::size_of::<sys::ca_routing_result>(),
                k,
                &mut n,
            )
        })?;
        v.truncate(n);
        Ok(v.into_iter().map(Candidate).collect())
    }
}

impl Drop for Routing {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_routing_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Routing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Routing({} agents)", self.count())
    }
}

/// Kademlia-style contact table (same thread rules as [`Routing`]).
pub struct Kad {
    ptr: NonNull<sys::ca_kad>,
}

// SAFETY: as for Routing: const calls concurrent, mutation exclusive.
unsafe impl Send for Kad {}
unsafe impl Sync for Kad {}

impl Kad {
    /// New table around `self_id`; `None` for default options.
    pub fn new(self_id: &PublicKey, opts: Option<&sys::ca_kad_options>) -> Result<Kad> {
        let a = sys::ca_agent_id { bytes: *self_id };
        let mut p = ptr::null_mut();
        // SAFETY: pointers valid.
        check(unsafe { sys::ca_kad_new(&mut p, &a, opts.map_or(ptr::null(), |o| o as *const _)) })?;
        match NonNull::new(p) {
            Some(ptr) => Ok(Kad { ptr }),
            None => Err(Error::invalid_argument("library returned a NULL table")),
        }
    }

    /// Default options.
    pub fn options() -> Result<sys::ca_kad_options> {
        // SAFETY: plain data.
        let mut o: sys::ca_kad_options = unsafe { std::mem::zeroed() };
        // SAFETY: o writable.
        check(unsafe { sys::ca_kad_options_init(&mut o, sys::CA_KAD_OPTIONS_VERSION) })?;
        Ok(o)
    }

    /// Records that `id` was heard from; returns a `CA_KAD_*` outcome.
    pub fn seen(&mut self, id: &PublicKey) -> Result<u32> {
        let a = sys::ca_agent_id { bytes: *id };
        let mut outcome: i32 = 0;
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_kad_seen(self.ptr.as_ptr(), &a, &mut outcome) })?;
        Ok(outcome as u32)
    }

    pub fn mark_failed(&mut self, id: &PublicKey) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *id };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_kad_mark_failed(self.ptr.as_ptr(), &a) })
    }

    pub fn remove(&mut self, id: &PublicKey) -> Result<()> {
        let a = sys::ca_agent_id { bytes: *id };
        // SAFETY: exclusive access.
        check(unsafe { sys::ca_kad_remove(self.ptr.as_ptr(), &a) })
    }

    pub fn count(&self) -> usize {
        // SAFETY: const query.
        unsafe { sys::ca_kad_count(self.ptr.as_ptr()) }
    }

    /// The `k` live contacts closest to `target`, closest first.
    pub fn closest(&self, target: &PublicKey, k: usize) -> Result<Vec<PublicKey>> {
        let t = sys::ca_agent_id { bytes: *target };
        let mut v = vec![sys::ca_agent_id { bytes: [0; 32] }; k];
        let mut n = 0usize;
        // SAFETY: const query; v holds k entries.
        check(unsafe { sys::ca_kad_closest(self.ptr.as_ptr(), &t, v.as_mut_ptr(), k, &mut n) })?;
        Ok(v[..n].iter().map(|a| a.bytes).collect())
    }
}

impl Drop for Kad {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::ca_kad_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Kad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kad({} contacts)", self.count())
    }
}
