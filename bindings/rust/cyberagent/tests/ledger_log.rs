//! A ledger fed by an external log through the safe API (ledger.h, LOG):
//! positions, refused entries that stay refused, the now rule, snapshots to
//! and from bytes, in memory and durable.

use cyberagent::{sys, Identity, Ledger, LedgerOp, LogEntry, LogOp};

const STALE: i32 = sys::CA_ERR_LEDGER_STALE_POSITION;

struct Log {
    auth: Identity,
    bob: [u8; 32],
    opts: sys::ca_ledger_options,
    mint: LedgerOp,
    bob_pays: Vec<u8>,
    alice_funds: Vec<u8>,
}

const JUNK: [u8; 9] = [0xC1; 9];

impl Log {
    /// Alice is minted 1000; Bob's transfer comes before Alice funds him.
    fn new() -> Log {
        let auth = Identity::generate().unwrap();
        let alice = Identity::generate().unwrap();
        let bob = Identity::generate().unwrap();
        let opts = cyberagent::ledger_options(&auth.public_key(), &[0; 32]).unwrap();
        let lid = cyberagent::ledger_id(&opts).unwrap();
        let transfer = |from: &Identity, to: [u8; 32], amount| LedgerOp {
            kind: sys::CA_LEDGER_OP_TRANSFER,
            signer: from.public_key(),
            nonce: 1,
            counterparty: to,
            amount,
            ..Default::default()
        };
        let bob_pays = transfer(&bob, [7; 32], 60).sign(&lid, &bob, None).unwrap();
        let alice_funds = transfer(&alice, bob.public_key(), 100).sign(&lid, &alice, None).unwrap();
        let mint = LedgerOp {
            kind: sys::CA_LEDGER_OP_MINT,
            signer: auth.public_key(),
            nonce: 1,
            counterparty: alice.public_key(),
            amount: 1000,
            ..Default::default()
        };
        Log { auth, bob: bob.public_key(), opts, mint, bob_pays, alice_funds }
    }

    fn entries(&self) -> Vec<LogEntry<'_>> {
        let signed =
            |position, time, msg| LogEntry { position, time, op: LogOp::Signed { msg, attachment: None } };
        vec![
            LogEntry { position: 1, time: 1000, op: LogOp::Trusted(self.mint) },
            signed(2, 1001, &self.bob_pays[..]), // Bob has no account yet: refused
            signed(3, 1002, &self.alice_funds[..]),
            signed(5, 1003, &JUNK[..]), // a gap, and bytes that never decode
            signed(6, 1004, &self.alice_funds[..]), // the same op again: duplicate
        ]
    }
}

const WANT: [i32; 5] = [
    sys::CA_OK,
    sys::CA_ERR_LEDGER_UNKNOWN_ACCOUNT,
    sys::CA_OK,
    sys::CA_ERR_MALFORMED,
    sys::CA_ERR_LEDGER_DUPLICATE,
];

#[test]
fn refused_entries_stay_refused() {
    let log = Log::new();
    let mut led = Ledger::new(&log.opts).unwrap();
    assert_eq!(led.apply_log(&log.entries()).unwrap(), WANT);
    let li = led.log_position().unwrap();
    assert_eq!((li.position, li.clock, li.failed, li.durable_position), (6, 1004, 3, 6));
    assert_eq!(led.totals().seq, 2);
    let h = led.state_hash().unwrap();
    assert_eq!(led.apply_log(&log.entries()).unwrap(), [STALE; 5]);
    assert_eq!(led.state_hash().unwrap(), h);
    assert_eq!(led.account(&log.bob).unwrap().balance, 100);
    // Without positions, Bob's transfer would succeed once Alice has funded him.
    let mut plain = Ledger::new(&log.opts).unwrap();
    plain.apply(&log.mint, 1000).unwrap();
    plain.submit(&log.alice_funds, 1002).unwrap();
    plain.submit(&log.bob_pays, 1003).unwrap();
    assert_eq!(plain.account(&log.bob).unwrap().balance, 40);
    led.check().unwrap();
}

#[test]
fn now_never_goes_back() {
    let auth = Identity::generate().unwrap();
    let opts = cyberagent::ledger_options(&auth.public_key(), &[0; 32]).unwrap();
    let mut led = Ledger::new(&opts).unwrap();
    let (a, b) = ([5u8; 32], [6u8; 32]);
    let mint = |nonce, to| LedgerOp {
        kind: sys::CA_LEDGER_OP_MINT,
        signer: auth.public_key(),
        nonce,
        counterparty: to,
        amount: 1000,
        ..Default::default()
    };
    let open = LedgerOp {
        kind: sys::CA_LEDGER_OP_ESCROW_OPEN,
        signer: a,
        nonce: 1,
        counterparty: b,
        reference: [0xE5; 32],
        amount: 100,
        deadline: 1800,
        ..Default::default()
    };
    let refund = LedgerOp {
        kind: sys::CA_LEDGER_OP_ESCROW_REFUND,
        signer: a,
        nonce: 2,
        reference: [0xE5; 32],
        ..Default::default()
    };
    let entries = [
        LogEntry { position: 1, time: 1000, op: LogOp::Trusted(mint(1, a)) },
        LogEntry { position: 2, time: 1000, op: LogOp::Trusted(mint(2, b)) },
        LogEntry { position: 3, time: 1100, op: LogOp::Trusted(open) },
        // Refused at 2000: the clock moves all the same.
        LogEntry { position: 4, time: 2000, op: LogOp::Signed { msg: &[], attachment: None } },
        // A new leader stamps 1500: applied at 2000, after the deadline.
        LogEntry { position: 5, time: 1500, op: LogOp::Trusted(refund) },
    ];
    assert_eq!(led.apply_log(&entries).unwrap(), [0, 0, 0, sys::CA_ERR_MALFORMED, 0]);
    assert_eq!(led.log_position().unwrap().clock, 2000);
    let e = led.escrow(&[0xE5; 32]).unwrap();
    assert_eq!((e.state, e.missed), (sys::CA_LEDGER_ESCROW_REFUNDED, 1));
}

#[test]
fn malformed_entry_stops_the_call() {
    let log = Log::new();
    let mut led = Ledger::new(&log.opts).unwrap();
    let mut entries = log.entries();
    entries[1].position = 0;
    let stop = led.apply_log(&entries[..3]).unwrap_err();
    assert_eq!(stop.done, 1);
    assert_eq!(stop.error.status(), sys::CA_ERR_INVALID_ARGUMENT);
    assert_eq!(stop.results, [0, sys::CA_ERR_INVALID_ARGUMENT, sys::CA_ERR_INVALID_ARGUMENT]);
    assert_eq!(led.log_position().unwrap().position, 1);
    let e: cyberagent::Error = stop.into();
    assert_eq!(e.status(), sys::CA_ERR_INVALID_ARGUMENT);
    assert_eq!(led.apply_log(&[]).unwrap(), Vec::<i32>::new());
}

#[test]
fn snapshot_bytes_and_restore() {
    let log = Log::new();
    let mut mem = Ledger::new(&log.opts).unwrap();
    mem.apply_log(&log.entries()).unwrap();
    let snap = mem.snapshot_export().unwrap();
    assert_eq!(Ledger::new(&log.opts).unwrap().snapshot_export().unwrap().len(), 196);
    let mut copy = Ledger::from_snapshot(&log.opts, &snap).unwrap();
    assert_eq!(copy.state_hash().unwrap(), mem.state_hash().unwrap());
    let (a, b) = (mem.log_position().unwrap(), copy.log_position().unwrap());
    assert_eq!((a.position, a.clock, a.failed), (b.position, b.clock, b.failed));
    assert_eq!(copy.snapshot_export().unwrap(), snap);
    assert_eq!(copy.apply_log(&log.entries()).unwrap(), [STALE; 5]);
    let mut bad = snap.clone();
    bad[100] ^= 1;
    assert_eq!(Ledger::from_snapshot(&log.opts, &bad).err().unwrap().status(), sys::CA_ERR_LEDGER_CORRUPT);
    let other = cyberagent::ledger_options(&[9; 32], &[0; 32]).unwrap();
    assert_eq!(
        Ledger::from_snapshot(&other, &snap).err().unwrap().status(),
        sys::CA_ERR_LEDGER_OPTIONS_MISMATCH
    );

    // Durable: positions survive a restart; a snapshot replaces another directory's history.
    let base = std::env::temp_dir().join(format!("ca-rust-ledger-log-{}", std::process::id()));
    let (d1, d2) = (base.join("a"), base.join("b"));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    {
        let mut d = Ledger::open(&d1, &log.opts).unwrap();
        assert_eq!(d.open_info().unwrap().position, 0);
        assert_eq!(d.apply_log(&log.entries()[..4]).unwrap(), WANT[..4]);
        assert_eq!(d.log_position().unwrap().durable_position, 0);
        d.commit().unwrap();
        assert_eq!(d.log_position().unwrap().durable_position, 5);
    }
    {
        let mut d = Ledger::open(&d1, &log.opts).unwrap();
        let info = d.open_info().unwrap();
        assert_eq!((info.position, info.failed, info.replayed), (5, 2, 2));
        assert_eq!(
            d.apply_log(&log.entries()).unwrap(),
            [STALE, STALE, STALE, STALE, sys::CA_ERR_LEDGER_DUPLICATE]
        );
        assert_eq!(d.snapshot_export().unwrap(), snap);
        assert_eq!(
            Ledger::open_from_snapshot(&d1, &log.opts, &snap).err().unwrap().status(),
            sys::CA_ERR_STATE
        );
    }
    {
        let mut o = Ledger::open(&d2, &log.opts).unwrap();
        let m = LedgerOp { nonce: 1, amount: 5, counterparty: [3; 32], ..log.mint };
        o.apply_log(&[LogEntry { position: 100, time: 5, op: LogOp::Trusted(m) }]).unwrap();
        o.commit().unwrap();
    }
    {
        let mut r = Ledger::open_from_snapshot(&d2, &log.opts, &snap).unwrap();
        let info = r.open_info().unwrap();
        assert_eq!((info.position, info.failed, info.snapshot_seq), (6, 3, 2));
        assert_eq!(r.state_hash().unwrap(), mem.state_hash().unwrap());
    }
    let mut r = Ledger::open(&d2, &log.opts).unwrap();
    assert_eq!(r.open_info().unwrap().position, 6);
    assert_eq!(r.state_hash().unwrap(), mem.state_hash().unwrap());
    drop(r);
    let _ = log.auth;
    std::fs::remove_dir_all(&base).unwrap();
}
