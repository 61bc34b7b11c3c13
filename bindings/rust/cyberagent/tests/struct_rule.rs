//! STRUCT RULE (common.h) through the binding: the safe API sets each version
//! and element size; the library refuses a version or size it does not know.

use cyberagent::{
    ledger_options, routing_options, routing_weights_default, sys, Identity, Ledger, LedgerOp, Query, Routing,
};

#[test]
fn unknown_version_is_refused_and_the_safe_api_sets_it() {
    let auth = Identity::generate().unwrap();
    let opts = ledger_options(&auth.public_key(), &[0; 32]).unwrap();
    let op = LedgerOp {
        kind: sys::CA_LEDGER_OP_MINT,
        signer: auth.public_key(),
        nonce: 1,
        counterparty: auth.public_key(),
        amount: 5,
        ..Default::default()
    };
    assert_eq!(op.to_c().version, sys::CA_LEDGER_OP_VERSION);
    // The raw calls, on a ledger of their own.
    let mut raw: *mut sys::ca_ledger = std::ptr::null_mut();
    // SAFETY: out pointer and options valid.
    assert_eq!(unsafe { sys::ca_ledger_new(&mut raw, &opts) }, sys::CA_OK);
    for bad in [0, sys::CA_LEDGER_OP_VERSION + 1] {
        let mut c = op.to_c();
        c.version = bad;
        // SAFETY: a live handle and a valid op.
        let st = unsafe { sys::ca_ledger_apply(raw, &c, 1, std::ptr::null_mut()) };
        assert_eq!(st, sys::CA_ERR_UNSUPPORTED);
        // SAFETY: all-zero totals are valid; a live handle.
        let mut t: sys::ca_ledger_totals = unsafe { std::mem::zeroed() };
        t.version = bad;
        assert_eq!(unsafe { sys::ca_ledger_totals_get(raw, &mut t) }, sys::CA_ERR_UNSUPPORTED);
        // SAFETY: as above.
        let mut a: sys::ca_ledger_account_info = unsafe { std::mem::zeroed() };
        a.version = bad;
        let id = sys::ca_agent_id { bytes: auth.public_key() };
        assert_eq!(unsafe { sys::ca_ledger_account(raw, &id, &mut a) }, sys::CA_ERR_UNSUPPORTED);
    }
    // SAFETY: the handle is not used after this.
    unsafe { sys::ca_ledger_free(raw) };
    // The safe API sets this build's versions.
    let mut ledger = Ledger::new(&opts).unwrap();
    assert_eq!(ledger.totals().seq, 0);
    ledger.apply(&op, 1).unwrap();
    assert_eq!(ledger.totals().seq, 1);
    assert_eq!(ledger.account(&auth.public_key()).unwrap().balance, 5);
}

#[test]
fn element_size_and_weights_version() {
    let w = routing_weights_default();
    assert_eq!(w.version, sys::CA_ROUTING_WEIGHTS_VERSION);
    let mut bad = w;
    bad.version = sys::CA_ROUTING_WEIGHTS_VERSION + 1;
    let mut o = routing_options().unwrap();
    assert!(o.weights.is_null());
    o.weights = &bad;
    assert_eq!(Routing::new(Some(&o)).err().unwrap().status(), sys::CA_ERR_UNSUPPORTED);
    o.weights = &w;
    let rt = Routing::new(Some(&o)).unwrap();
    assert!(rt.select(&Query { capability: "*", now: 1, ..Default::default() }, 2).unwrap().is_empty());
    // A result array of another element size is refused.
    let mut raw: *mut sys::ca_routing = std::ptr::null_mut();
    // SAFETY: out pointer valid; NULL options are the defaults.
    assert_eq!(unsafe { sys::ca_routing_new(&mut raw, std::ptr::null()) }, sys::CA_OK);
    let q = Query { capability: "*", now: 1, ..Default::default() }.to_c().unwrap();
    // SAFETY: all-zero results are valid.
    let mut v: Vec<sys::ca_routing_result> = (0..2).map(|_| unsafe { std::mem::zeroed() }).collect();
    let mut n = 0usize;
    let size = std::mem::size_of::<sys::ca_routing_result>();
    for s in [size - 8, size + 8] {
        // SAFETY: a live handle; v holds two entries; the pattern is 'static.
        let st = unsafe { sys::ca_routing_select(raw, &q, v.as_mut_ptr(), s, 2, &mut n) };
        assert_eq!(st, sys::CA_ERR_UNSUPPORTED);
    }
    // SAFETY: as above, with the right size.
    assert_eq!(unsafe { sys::ca_routing_select(raw, &q, v.as_mut_ptr(), size, 2, &mut n) }, sys::CA_OK);
    // SAFETY: the handle is not used after this.
    unsafe { sys::ca_routing_free(raw) };
}
