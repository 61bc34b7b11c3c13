//! Spending through a delegation in the ledger through the safe API
//! (ledger.h, DELEGATION): a delegate's transfer draws on the delegator's
//! balance within the caps; the records; a REVOKE cuts it off.

use cyberagent::{sys, DelegationParams, Identity, Ledger, LedgerOp};

const T0: u64 = 1_000_000;

#[test]
fn delegated_spend_caps_and_revoke() {
    let (auth, boss, helper, shop) = (
        Identity::generate().unwrap(),
        Identity::generate().unwrap(),
        Identity::generate().unwrap(),
        Identity::generate().unwrap(),
    );
    let opts = cyberagent::ledger_options(&auth.public_key(), &[0; 32]).unwrap();
    let mut led = Ledger::new(&opts).unwrap();
    let lid = led.id().unwrap();
    let mint = LedgerOp {
        kind: sys::CA_LEDGER_OP_MINT,
        signer: auth.public_key(),
        nonce: 1,
        counterparty: boss.public_key(),
        amount: 1000,
        ..Default::default()
    };
    led.submit(&mint.sign(&lid, &auth, None).unwrap(), T0).unwrap();
    let params = DelegationParams {
        audience: helper.public_key(),
        capabilities: vec![sys::CA_LEDGER_CAPABILITY_TRANSFER.into()],
        total_cap: 100,
        task_cap: 60,
        not_before: T0 - 1,
        expires_at: T0 + 10_000,
        created_at: T0 - 1,
        ..Default::default()
    };
    let (root, root_id) = cyberagent::sign_delegation(&boss, &params).unwrap();
    let spend = |amount, nonce| LedgerOp {
        kind: sys::CA_LEDGER_OP_TRANSFER,
        signer: boss.public_key(),
        nonce,
        counterparty: shop.public_key(),
        amount,
        ..Default::default()
    };
    let first = spend(60, 1).sign_delegated(&lid, &helper, &[&root], None).unwrap();
    led.submit(&first, T0).unwrap();
    assert_eq!(led.account(&boss.public_key()).unwrap().balance, 940);
    assert_eq!(led.account(&boss.public_key()).unwrap().nonce, 0);
    let rec = led.delegation(&root_id).unwrap();
    assert_eq!((rec.spent, rec.total_cap, rec.nonce), (60, 100, 1));
    let over = spend(41, 2).sign_delegated(&lid, &helper, &[&root], None).unwrap();
    assert_eq!(led.submit(&over, T0).unwrap_err().status(), sys::CA_ERR_LEDGER_CAP_EXCEEDED);
    let small = spend(1, 2).sign_delegated(&lid, &helper, &[&root], None).unwrap();
    assert_eq!(LedgerOp::decode(&small).unwrap().delegation, root_id);
    assert!(cyberagent::ledger_op_verify(&lid, &small).unwrap());
    assert_eq!(led.revocation(&root_id, &boss.public_key()).unwrap(), None);
    let revoke = LedgerOp {
        kind: sys::CA_LEDGER_OP_REVOKE,
        signer: boss.public_key(),
        nonce: 1,
        reference: root_id,
        ..Default::default()
    };
    led.submit(&revoke.sign(&lid, &boss, None).unwrap(), T0 + 1).unwrap();
    assert_eq!(
        led.revocation(&root_id, &boss.public_key()).unwrap(),
        Some(T0 + 1 + sys::CA_LEDGER_MAX_DELEGATION_LIFETIME_DEFAULT)
    );
    assert_eq!(led.submit(&small, T0 + 2).unwrap_err().status(), sys::CA_ERR_DELEGATION_REVOKED);
    assert_eq!(led.delegation(&[0; 32]).unwrap_err().status(), sys::CA_ERR_LEDGER_UNKNOWN_DELEGATION);
    assert!(unsafe { sys::ca_ledger_delegated_op_max_bytes() } > sys::CA_LEDGER_OP_MAX_BYTES);
    led.check().unwrap();
}
