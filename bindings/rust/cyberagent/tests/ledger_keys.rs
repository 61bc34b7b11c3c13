//! Key rotation in the ledger through the safe API (ledger.h, KEY ROTATION):
//! an account bound by its inception, rotated in a log batch, the stolen key
//! refused from the rotation's position on, the owner's new key accepted.

use cyberagent::keyhistory::{self, KeyHistory};
use cyberagent::{sys, Identity, Ledger, LedgerOp, LogEntry, LogOp};

const T0: u64 = 1_700_000_000_000;

fn key(n: u8) -> Identity {
    let mut seed = [0u8; 32];
    seed[0] = 0x52;
    seed[1] = n;
    Identity::from_seed(&seed).unwrap()
}

#[test]
fn recovery_drill() {
    let (auth, k0, k1, k2) = (key(1), key(2), key(3), key(4));
    let a = k0.public_key();
    let opts = cyberagent::ledger_options(&auth.public_key(), &[0; 32]).unwrap();
    let mut led = Ledger::new(&opts).unwrap();
    let lid = led.id().unwrap();
    let mint = LedgerOp {
        kind: sys::CA_LEDGER_OP_MINT,
        signer: auth.public_key(),
        nonce: 1,
        counterparty: a,
        amount: 1000,
        ..Default::default()
    };
    led.apply(&mint, T0).unwrap();
    let op = |kind, nonce, k: &Identity, reference: [u8; 32], amount| {
        let o = LedgerOp { kind, signer: a, nonce, reference, amount, ..Default::default() };
        o.sign_with_key(&lid, k, None, None).unwrap()
    };
    let pay = |nonce, k: &Identity| {
        let o = LedgerOp {
            kind: sys::CA_LEDGER_OP_TRANSFER,
            signer: a,
            nonce,
            counterparty: [9; 32],
            amount: 10,
            ..Default::default()
        };
        o.sign_with_key(&lid, k, None, None).unwrap()
    };
    let inc = keyhistory::incept(&k0, &keyhistory::commitment(&k1.public_key()).unwrap(), T0).unwrap();
    let ie = keyhistory::open_event(&inc).unwrap();
    assert_eq!(led.key_state(&a).unwrap_err().status(), sys::CA_ERR_NOT_FOUND);
    led.submit_evidence(&op(sys::CA_LEDGER_OP_KEY_EVENT, 1, &k0, ie.digest, 0), &inc, T0).unwrap();
    let hist = KeyHistory::new(&inc).unwrap();
    let thief_try = hist.rotate(&k0, &keyhistory::commitment(&k2.public_key()).unwrap(), T0 + 1);
    assert_eq!(thief_try.unwrap_err().status(), sys::CA_ERR_KEY_NOT_COMMITTED);
    let rot = hist.rotate(&k1, &keyhistory::commitment(&k2.public_key()).unwrap(), T0 + 5).unwrap();
    let re = keyhistory::open_event(&rot).unwrap();
    let msgs = [pay(2, &k0), op(sys::CA_LEDGER_OP_KEY_EVENT, 3, &k1, re.digest, 1), pay(4, &k0), pay(4, &k1)];
    let entries: Vec<LogEntry<'_>> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| LogEntry {
            position: i as u64 + 1,
            time: T0 + 10,
            op: LogOp::Signed { msg: m, attachment: if i == 1 { Some(&rot[..]) } else { None } },
        })
        .collect();
    let res = led.apply_log(&entries).unwrap();
    assert_eq!(res, vec![0, 0, sys::CA_ERR_KEY_ROTATED, 0]);
    let ks = led.key_state(&a).unwrap();
    assert_eq!(
        (ks.sequence, ks.key.bytes, ks.identifier.bytes, ks.position),
        (1, k1.public_key(), ie.digest, 2)
    );
    assert_eq!(led.account(&a).unwrap().balance, 1000 - 20);
    // Which account a key speaks for: k1 for A, A's id (k0) for nothing, k2 (not revealed) none.
    assert_eq!(led.account_of_key(&k1.public_key()).unwrap(), a);
    assert_eq!(led.account_of_key(&[9; 32]).unwrap(), [9; 32]);
    assert_eq!(led.account_of_key(&a).unwrap_err().status(), sys::CA_ERR_KEY_ROTATED);
    assert_eq!(
        led.account_of_key(&k2.public_key()).unwrap_err().status(),
        sys::CA_ERR_LEDGER_UNKNOWN_ACCOUNT
    );
    let snap = led.snapshot_export().unwrap();
    let mut back = Ledger::from_snapshot(&opts, &snap).unwrap();
    assert_eq!(back.state_hash().unwrap(), led.state_hash().unwrap());
    assert_eq!(back.submit(&pay(5, &k0), T0 + 20).unwrap_err().status(), sys::CA_ERR_KEY_ROTATED);
    back.submit(&pay(5, &k1), T0 + 20).unwrap();
}
