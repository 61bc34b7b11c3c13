//! Task protocol through the safe API.

use cyberagent::{
    evidence_encode, evidence_verify, reply_award, reply_bid, reply_receipt, reply_result, sign_task, status,
    sys, Content, Envelope, EnvelopeParams, Evidence, Identity, Ledger, LedgerOp, Party, Task, TaskBody,
    TaskMsg,
};

const T0: u64 = 1_700_000_000_000;
const TTL: u64 = 3_600_000;

fn at(dt: u64) -> EnvelopeParams<'static> {
    EnvelopeParams::new(0, T0 + dt, T0 + dt + TTL)
}

fn open(b: &[u8], dt: u64) -> Envelope {
    Envelope::open(b, T0 + dt, None).unwrap()
}

#[test]
fn full_thread_and_audit() {
    let (hirer, worker, other) =
        (Identity::generate().unwrap(), Identity::generate().unwrap(), Identity::generate().unwrap());
    let req = TaskBody::Request {
        capability: "llm.summarize".into(),
        input: Content::Inline(b"text\0nul".to_vec()),
        max_price: 100,
        deadline: T0 + 60_000,
        collateral: 10,
        recipient: None,
    };
    let (rb, task) = sign_task(&hirer, &at(0), &req).unwrap();
    let mut th = Task::new(&open(&rb, 0), T0, None).unwrap();
    assert_eq!(
        (th.id(), th.requester(), th.state()),
        (task, hirer.public_key(), sys::CA_TASK_SUBMITTED as i32)
    );
    let bid = TaskBody::Bid { task, price: 50, completion: T0 + 30_000, collateral: 10 };
    let (bb, bid_id) = sign_task(&worker, &at(1), &bid).unwrap();
    th.apply(&open(&bb, 1), T0 + 1).unwrap();
    let (ob, _) = sign_task(
        &other,
        &at(1),
        &TaskBody::Bid { task, price: 60, completion: T0 + 30_000, collateral: 10 },
    )
    .unwrap();
    th.apply_bytes(&ob, T0 + 1).unwrap();
    assert_eq!(th.bid_count(), 2);
    let award = TaskBody::Award {
        task,
        bid: bid_id,
        worker: worker.public_key(),
        price: 50,
        collateral: 10,
        deadline: T0 + 40_000,
    };
    let (ab, award_id) = sign_task(&hirer, &at(2), &award).unwrap();
    th.apply(&open(&ab, 2), T0 + 2).unwrap();
    assert_eq!(th.state_name(), "working");
    assert_eq!(th.last(sys::CA_KIND_TASK_AWARD).unwrap().id(), award_id);
    assert!(th.last(sys::CA_KIND_TASK_RESULT).is_none());
    let result = TaskBody::Result {
        task,
        award: award_id,
        failed: false,
        output: Content::Inline(b"summary".to_vec()),
        failure_code: 0,
        failure_message: String::new(),
    };
    let (resb, result_id) = sign_task(&worker, &at(3), &result).unwrap();
    th.apply(&open(&resb, 3), T0 + 3).unwrap();
    assert_eq!(th.last(sys::CA_KIND_TASK_RESULT).unwrap().body().unwrap(), result);
    let receipt = TaskBody::Receipt {
        task,
        award: award_id,
        result: result_id,
        worker: worker.public_key(),
        accept: true,
        rating: 90,
        paid: 50,
    };
    let (recb, _) = sign_task(&hirer, &at(4), &receipt).unwrap();
    th.apply(&open(&recb, 4), T0 + 4).unwrap();
    assert_eq!(th.state(), sys::CA_TASK_COMPLETED as i32);
    assert_eq!(th.message_count(), 6);
    assert_eq!(th.message(0).unwrap().body().unwrap(), req);
    assert_eq!(th.find(&bid_id).unwrap().body().unwrap(), bid);
    assert!(th.find(&[0; 32]).is_none());
    assert!(!th.disputed(Party::Requester));
    assert_eq!(th.last(sys::CA_KIND_TASK_RECEIPT).unwrap().body().unwrap(), receipt);
    let audited = Task::deserialize(&th.serialize().unwrap(), None).unwrap();
    assert_eq!(audited.digest().unwrap(), th.digest().unwrap());
    assert!(format!("{:?}", th).contains("completed"));
    let mut rep = cyberagent::Reputation::new(None).unwrap();
    rep.add_receipt(&th).unwrap();
    assert_eq!(rep.add_receipt(&th).unwrap_err().status(), sys::CA_ERR_DUPLICATE_RATING);
    rep.update(T0 + 5).unwrap();
    assert_eq!(rep.get(&worker.public_key()).unwrap().unwrap().ratings_received, 1);

    let m = TaskMsg::parse(&open(&rb, 0), None).unwrap();
    assert_eq!((m.kind(), m.id(), m.task_id(), m.parent()), (sys::CA_KIND_TASK_REQUEST, task, task, None));
    assert_eq!((m.sender(), m.created_at()), (hirer.public_key(), T0));
    assert_eq!(m.encoded().unwrap(), rb);
}

/// A completed thread (price 50, rating 90, the receipt claiming `paid`): hirer, worker, other, award id.
fn settled(paid: u64) -> (Task, Identity, Identity, Identity, [u8; 32]) {
    let (hirer, worker, other) =
        (Identity::generate().unwrap(), Identity::generate().unwrap(), Identity::generate().unwrap());
    let req = TaskBody::Request {
        capability: "llm.summarize".into(),
        input: Content::Inline(b"text".to_vec()),
        max_price: 100,
        deadline: T0 + 60_000,
        collateral: 10,
        recipient: None,
    };
    let (rb, task) = sign_task(&hirer, &at(0), &req).unwrap();
    let mut th = Task::new(&open(&rb, 0), T0, None).unwrap();
    let bid = TaskBody::Bid { task, price: 50, completion: T0 + 30_000, collateral: 10 };
    let (bb, bid_id) = sign_task(&worker, &at(1), &bid).unwrap();
    th.apply_bytes(&bb, T0 + 1).unwrap();
    let award = TaskBody::Award {
        task,
        bid: bid_id,
        worker: worker.public_key(),
        price: 50,
        collateral: 10,
        deadline: T0 + 40_000,
    };
    let (ab, award_id) = sign_task(&hirer, &at(2), &award).unwrap();
    th.apply_bytes(&ab, T0 + 2).unwrap();
    let result = TaskBody::Result {
        task,
        award: award_id,
        failed: false,
        output: Content::Inline(b"summary".to_vec()),
        failure_code: 0,
        failure_message: String::new(),
    };
    let (resb, result_id) = sign_task(&worker, &at(3), &result).unwrap();
    th.apply_bytes(&resb, T0 + 3).unwrap();
    let receipt = TaskBody::Receipt {
        task,
        award: award_id,
        result: result_id,
        worker: worker.public_key(),
        accept: true,
        rating: 90,
        paid,
    };
    let (recb, _) = sign_task(&hirer, &at(4), &receipt).unwrap();
    th.apply_bytes(&recb, T0 + 4).unwrap();
    (th, hirer, worker, other, award_id)
}

#[test]
fn settled_rating_checks_the_ledger() {
    let (auth, arb) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let opts = cyberagent::ledger_options(&auth.public_key(), &arb.public_key()).unwrap();
    let mut ledger = Ledger::new(&opts).unwrap();
    let mut nonces = std::collections::HashMap::new();
    let mut apply = |ledger: &mut Ledger, mut op: LedgerOp| {
        let n = nonces.entry(op.signer).or_insert(0u64);
        *n += 1;
        op.nonce = *n;
        ledger.apply(&op, T0 + 5).unwrap();
    };
    let mint = |to: &Identity| LedgerOp {
        kind: sys::CA_LEDGER_OP_MINT,
        signer: auth.public_key(),
        counterparty: to.public_key(),
        amount: 1000,
        ..Default::default()
    };
    let escrow = |hirer: &Identity, worker: &Identity, award: [u8; 32]| LedgerOp {
        kind: sys::CA_LEDGER_OP_ESCROW_OPEN,
        signer: hirer.public_key(),
        counterparty: worker.public_key(),
        reference: award,
        amount: 50,
        amount2: 10,
        deadline: T0 + 40_000,
        ..Default::default()
    };
    let release = |hirer: &Identity, award: [u8; 32]| LedgerOp {
        kind: sys::CA_LEDGER_OP_ESCROW_RELEASE,
        signer: hirer.public_key(),
        reference: award,
        ..Default::default()
    };

    // The receipt claims 1; the ledger pays 50, and the ledger wins.
    let (th, hirer, worker, _, award_id) = settled(1);
    apply(&mut ledger, mint(&hirer));
    apply(&mut ledger, mint(&worker));
    let mut rep = cyberagent::Reputation::new(None).unwrap();
    let status = |r: cyberagent::Result<()>| r.unwrap_err().status();
    assert_eq!(status(rep.add_settled(&th, &ledger)), sys::CA_ERR_LEDGER_UNKNOWN_ESCROW);
    apply(&mut ledger, escrow(&hirer, &worker, award_id));
    assert_eq!(ledger.escrow(&award_id).unwrap().paid, 0);
    assert_eq!(status(rep.add_settled(&th, &ledger)), sys::CA_ERR_UNPAID_RATING);
    apply(&mut ledger, release(&hirer, award_id));
    assert_eq!(ledger.escrow(&award_id).unwrap().paid, 50);
    rep.add_settled(&th, &ledger).unwrap();
    assert_eq!(status(rep.add_settled(&th, &ledger)), sys::CA_ERR_DUPLICATE_RATING);
    rep.update(T0 + 4).unwrap();
    let s = rep.get(&worker.public_key()).unwrap().unwrap();
    assert_eq!(s.ratings_received, 1);
    assert!((s.positive - 6.3).abs() < 1e-9, "weight isqrt(50) = 7, got {}", s.positive);

    // The escrow terms come from the award alike on both sides.
    let terms = LedgerOp::escrow_open(&th.last(sys::CA_KIND_TASK_AWARD).unwrap()).unwrap();
    assert_eq!(
        (
            terms.kind,
            terms.signer,
            terms.counterparty,
            terms.reference,
            terms.amount,
            terms.amount2,
            terms.nonce
        ),
        (sys::CA_LEDGER_OP_ESCROW_OPEN, hirer.public_key(), worker.public_key(), award_id, 50, 10, 0)
    );
    assert!(LedgerOp::escrow_open(&th.message(0).unwrap()).is_err()); // the REQUEST

    // Stakes straight from the ledger: what the worker bonded, 0 for the hirer.
    apply(
        &mut ledger,
        LedgerOp {
            kind: sys::CA_LEDGER_OP_BOND,
            signer: worker.public_key(),
            amount: 300,
            ..Default::default()
        },
    );
    rep.sync_stakes(&ledger, T0 + 5).unwrap();
    assert_eq!(rep.get(&worker.public_key()).unwrap().unwrap().stake, 300);
    assert_eq!(rep.get(&hirer.public_key()).unwrap().unwrap().stake, 0);

    // An escrow for the award between other parties is refused.
    let (th2, hirer2, worker2, other2, award2) = settled(50);
    for who in [&hirer2, &worker2, &other2] {
        apply(&mut ledger, mint(who));
    }
    apply(&mut ledger, escrow(&hirer2, &other2, award2));
    apply(&mut ledger, release(&hirer2, award2));
    assert_eq!(status(rep.add_settled(&th2, &ledger)), sys::CA_ERR_ESCROW_MISMATCH);
    assert_eq!(rep.rating_count(), 1);
    assert_eq!(ledger.escrow(&[0; 32]).unwrap_err().status(), sys::CA_ERR_LEDGER_UNKNOWN_ESCROW);
}

#[test]
fn equivocation_evidence_cancel_dispute() {
    let (hirer, worker) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let req = TaskBody::Request {
        capability: "a.b".into(),
        input: Content::Uri { uri: "https://example.org/in".into(), hash: [5; 32] },
        max_price: 100,
        deadline: T0 + 60_000,
        collateral: 0,
        recipient: Some(worker.public_key()),
    };
    let mut p = at(0);
    let wk = worker.public_key();
    p.recipient = Some(&wk);
    let (rb, task) = sign_task(&hirer, &p, &req).unwrap();
    let mut th = Task::new(&open(&rb, 0), T0, None).unwrap();
    assert_eq!(th.message(0).unwrap().body().unwrap(), req);
    let (b1, b1_id) =
        sign_task(&worker, &at(1), &TaskBody::Bid { task, price: 50, completion: T0 + 10, collateral: 0 })
            .unwrap();
    let (b2, _) =
        sign_task(&worker, &at(2), &TaskBody::Bid { task, price: 40, completion: T0 + 10, collateral: 0 })
            .unwrap();
    th.apply(&open(&b1, 1), T0 + 1).unwrap();
    let e2 = open(&b2, 2);
    assert_eq!(th.apply(&e2, T0 + 2).unwrap_err().status(), sys::CA_ERR_TASK_EQUIVOCATION);
    let ev = th.evidence(&e2).unwrap();
    let (e1, er) = (open(&b1, 1), open(&rb, 0));
    assert_eq!(evidence_encode(&er, &[], &e1, &e2).unwrap(), ev);
    // either order, and extra context is ignored
    assert_eq!(evidence_encode(&er, &[&er], &e2, &e1).unwrap(), ev);
    // a bid no thread accepts (above max_price), then the corrected one: no evidence
    let (refused, _) =
        sign_task(&worker, &at(1), &TaskBody::Bid { task, price: 101, completion: T0 + 10, collateral: 0 })
            .unwrap();
    let err = evidence_encode(&er, &[], &open(&refused, 1), &e1).unwrap_err();
    assert_eq!(err.status(), sys::CA_ERR_BAD_EVIDENCE);
    // the same terms re-signed are one statement: a duplicate, not equivocation
    let (again, _) =
        sign_task(&worker, &at(2), &TaskBody::Bid { task, price: 50, completion: T0 + 10, collateral: 0 })
            .unwrap();
    assert_eq!(th.apply(&open(&again, 2), T0 + 2).unwrap_err().status(), sys::CA_ERR_TASK_DUPLICATE);
    let (off, t, kind, h) = evidence_verify(&ev).unwrap();
    assert_eq!((off, t, kind), (worker.public_key(), task, sys::CA_KIND_TASK_BID));
    let e = Evidence::open(&ev).unwrap();
    assert_eq!((e.offender(), e.task(), e.kind(), e.hash()), (off, task, kind, h));
    assert_ne!(e.message(0), e.message(1));
    assert_ne!(e.offense(), e.hash());
    assert_eq!(e.deadline(), T0 + 60_000); // the request's deadline
    let award = TaskBody::Award { task, bid: b1_id, worker: wk, price: 50, collateral: 0, deadline: T0 + 20 };
    let (ab, award_id) = sign_task(&hirer, &at(3), &award).unwrap();
    th.apply(&open(&ab, 3), T0 + 3).unwrap();
    let dispute = TaskBody::Dispute { task, reason: "late".into(), refs: vec![b1_id] };
    let mut dp = at(4);
    dp.parent = Some(&award_id);
    let (db, _) = sign_task(&hirer, &dp, &dispute).unwrap();
    th.apply(&open(&db, 4), T0 + 4).unwrap();
    assert!(th.disputed(Party::Requester));
    assert!(!th.disputed(Party::Worker));
    assert_eq!(th.message(th.message_count() - 1).unwrap().body().unwrap(), dispute);
    let cancel = TaskBody::Cancel { task, reason: "no".into() };
    assert!(sign_task(&hirer, &at(5), &cancel).is_ok());
    assert_eq!(cyberagent::task_state_name(sys::CA_TASK_FAILED as i32), "failed");
    assert_eq!(cyberagent::task_limits()[3], sys::CA_TASK_REFS_MAX as usize);
    let mut o = cyberagent::task_options().unwrap();
    assert_eq!(o.max_bids, sys::CA_TASK_MAX_BIDS_DEFAULT as usize);
    o.max_messages = sys::CA_TASK_NONBID_MAX as usize; // no room for a bid: refused
    assert_eq!(
        Task::new(&open(&rb, 0), T0, Some(&o)).err().unwrap().status(),
        status::CA_ERR_INVALID_ARGUMENT
    );
    o.max_messages = sys::CA_TASK_MAX_MESSAGES_DEFAULT as usize;
    o.max_bids = 1; // one bid; a new bidder's is refused, the award still fits
    let open_req = TaskBody::Request {
        capability: "a.b".into(),
        input: Content::Inline(b"x".to_vec()),
        max_price: 100,
        deadline: T0 + 60_000,
        collateral: 0,
        recipient: None,
    };
    let (orb, otask) = sign_task(&hirer, &at(0), &open_req).unwrap();
    let other = Identity::generate().unwrap();
    let obid = |who: &Identity| {
        sign_task(who, &at(1), &TaskBody::Bid { task: otask, price: 50, completion: T0 + 10, collateral: 0 })
            .unwrap()
    };
    let ((ob1, ob1_id), (ob2, _)) = (obid(&worker), obid(&other));
    let mut small = Task::new(&open(&orb, 0), T0, Some(&o)).unwrap();
    small.apply(&open(&ob1, 1), T0 + 1).unwrap();
    assert_eq!(small.apply(&open(&ob2, 1), T0 + 1).unwrap_err().status(), status::CA_ERR_LIMIT);
    let oaward =
        TaskBody::Award { task: otask, bid: ob1_id, worker: wk, price: 50, collateral: 0, deadline: T0 + 20 };
    small.apply(&open(&sign_task(&hirer, &at(3), &oaward).unwrap().0, 3), T0 + 3).unwrap();
    assert_eq!(small.state(), sys::CA_TASK_WORKING as i32);
}

/// A hire signed with replies: each takes the task, the parent and the
/// recipient from the message it answers; a wrong kind is refused.
#[test]
fn replies() {
    let (hirer, worker) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let req = TaskBody::Request {
        capability: "llm.summarize".into(),
        input: Content::Inline(b"text".to_vec()),
        max_price: 100,
        deadline: T0 + 60_000,
        collateral: 10,
        recipient: None,
    };
    let (rb, task) = sign_task(&hirer, &at(0), &req).unwrap();
    let mut th = Task::new_bytes(&rb, T0, None).unwrap();
    let request = TaskMsg::open(&rb, T0 + 1, None).unwrap();
    let (bb, bid_id) = reply_bid(&worker, &at(1), &request, 50, T0 + 30_000).unwrap();
    let env = open(&bb, 1);
    assert_eq!((env.parent(), env.recipient()), (Some(task), Some(hirer.public_key())));
    th.apply_bytes(&bb, T0 + 1).unwrap();
    let (ab, award_id) = {
        let bid = th.last(sys::CA_KIND_TASK_BID).unwrap();
        assert_eq!(
            bid.body().unwrap(),
            TaskBody::Bid { task, price: 50, completion: T0 + 30_000, collateral: 10 }
        );
        reply_award(&hirer, &at(2), &bid, 0).unwrap()
    };
    th.apply_bytes(&ab, T0 + 2).unwrap();
    let award = TaskMsg::open(&ab, T0 + 3, None).unwrap();
    assert_eq!(
        award.body().unwrap(),
        TaskBody::Award {
            task,
            bid: bid_id,
            worker: worker.public_key(),
            price: 50,
            collateral: 10,
            deadline: T0 + 30_000
        }
    );
    let out = Content::Inline(b"summary".to_vec());
    let (resb, result_id) = reply_result(&worker, &at(3), &award, &out).unwrap();
    th.apply_bytes(&resb, T0 + 3).unwrap();
    let (recb, _) = {
        let result = th.last(sys::CA_KIND_TASK_RESULT).unwrap();
        reply_receipt(&hirer, &at(4), &result, true, 90, 50).unwrap()
    };
    th.apply_bytes(&recb, T0 + 4).unwrap();
    assert_eq!(th.state(), sys::CA_TASK_COMPLETED as i32);
    assert_eq!(
        th.last(sys::CA_KIND_TASK_RECEIPT).unwrap().body().unwrap(),
        TaskBody::Receipt {
            task,
            award: award_id,
            result: result_id,
            worker: worker.public_key(),
            accept: true,
            rating: 90,
            paid: 50
        }
    );
    // The wrong kind to answer, a kind of another message, a parent given twice.
    assert_eq!(reply_award(&hirer, &at(5), &request, 0).unwrap_err().status(), status::CA_ERR_WRONG_KIND);
    assert_eq!(
        reply_bid(&worker, &EnvelopeParams::new(sys::CA_KIND_TASK_AWARD, T0, T0 + TTL), &request, 50, T0 + 9)
            .unwrap_err()
            .status(),
        status::CA_ERR_WRONG_KIND
    );
    let mut with_parent = at(5);
    with_parent.parent = Some(&task);
    assert_eq!(
        reply_bid(&worker, &with_parent, &request, 50, T0 + 9).unwrap_err().status(),
        status::CA_ERR_INVALID_ARGUMENT
    );
    assert_eq!(TaskMsg::open(&rb, T0 + 10 * TTL, None).err().unwrap().status(), status::CA_ERR_EXPIRED);
}
