//! A sub-agent hires for its delegator; a delegate is routed for its delegator;
//! revocations reach a task thread and the registry (task.h, DELEGATED SIDES;
//! routing.h, DELEGATES).

use cyberagent::{
    status, sys, task_options, Capability, Card, CardParams, Content, Delegation, DelegationParams, Envelope,
    EnvelopeParams, Identity, Party, RevocationSet, Routing, Task, TaskBody,
};

const T0: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;

fn grant(issuer: &Identity, audience: &Identity, task_cap: u64) -> (Delegation, [u8; 32]) {
    let p = DelegationParams {
        audience: audience.public_key(),
        capabilities: vec!["llm.*".into()],
        total_cap: 1000,
        task_cap,
        not_before: T0 - HOUR,
        expires_at: T0 + 24 * HOUR,
        created_at: T0 - HOUR,
        ..Default::default()
    };
    let (bytes, id) = cyberagent::sign_delegation(issuer, &p).unwrap();
    (Delegation::decode(&bytes).unwrap(), id)
}

fn request(max_price: u64) -> TaskBody {
    TaskBody::Request {
        capability: "llm.translate.en-fr".into(),
        input: Content::Inline(b"bonjour".to_vec()),
        max_price,
        deadline: T0 + 10_000,
        collateral: 10,
        recipient: None,
    }
}

#[test]
fn delegated_thread() {
    let k: Vec<Identity> = (40..45u8).map(|i| Identity::from_seed(&[i; 32]).unwrap()).collect();
    let (p, d, w, b) = (&k[0], &k[1], &k[2], &k[3]);
    let (rc, rid) = grant(p, d, 100);
    let (bc, _) = grant(w, b, 50);
    let (rq, tid) =
        cyberagent::sign_task_delegated(d, &EnvelopeParams::new(0, T0, T0 + HOUR), &request(100), &[&rc])
            .unwrap();
    let mut revs = RevocationSet::new(16).unwrap();
    let mut o = task_options().unwrap();
    o.revocations = revs.as_ptr();
    let mut t = Task::new_bytes(&rq, T0, Some(&o)).unwrap();
    let side = t.side(Party::Requester).unwrap().unwrap();
    assert_eq!(side.principal.bytes, p.public_key());
    assert_eq!(side.agent.bytes, d.public_key());
    assert_eq!(side.delegated, 1);
    assert!(t.side(Party::Worker).unwrap().is_none());
    let bid = TaskBody::Bid { task: tid, price: 80, completion: T0 + 5000, collateral: 10 };
    let (bb, _) =
        cyberagent::sign_task_delegated(b, &EnvelopeParams::new(0, T0 + 100, T0 + HOUR), &bid, &[&bc])
            .unwrap();
    t.apply_bytes(&bb, T0 + 100).unwrap();
    let m = t.last(sys::CA_KIND_TASK_BID).unwrap();
    assert_eq!(m.delegator(), Some(w.public_key()));
    assert_eq!(m.delegation().unwrap(), vec![bc.encoded().unwrap()]);
    // Over the cap.
    let (over, _) =
        cyberagent::sign_task_delegated(d, &EnvelopeParams::new(0, T0, T0 + HOUR), &request(101), &[&rc])
            .unwrap();
    let e = Task::new(&Envelope::decode(&over, None).unwrap(), T0, None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_DELEGATION_TASK_CAP);
    // Revoked by the delegator: the requester's award is refused.
    revs.add(&cyberagent::sign_revocation(p, &rid, T0, T0 + 48 * HOUR).unwrap()).unwrap();
    assert_eq!(t.side(Party::Requester).unwrap().unwrap().revoked, 1);
    let (aw, _) = cyberagent::reply_award(d, &EnvelopeParams::new(0, T0 + 300, T0 + HOUR), &m, 0).unwrap();
    drop(m);
    assert_eq!(t.apply_bytes(&aw, T0 + 300).unwrap_err().status(), status::CA_ERR_DELEGATION_REVOKED);
    assert_eq!(t.message_count(), 2);
    drop(t); // before the set it borrows
}

#[test]
fn delegated_routing() {
    let k: Vec<Identity> = (50..53u8).map(|i| Identity::from_seed(&[i; 32]).unwrap()).collect();
    let (p, d, s) = (&k[0], &k[1], &k[2]);
    let (rc, rid) = grant(p, d, 100);
    let params = CardParams {
        name: "sub".into(),
        description: None,
        endpoint: "nats.sub".into(),
        stake: 0,
        not_before: T0,
        not_after: T0 + HOUR,
        sequence: 1,
        capabilities: vec![Capability::new("llm.translate.en-fr", 90, 0), Capability::new("img.x", 5, 0)],
        created_at: T0,
    };
    let (bytes, _) = cyberagent::sign_card(d, &params).unwrap();
    let card = Card::open(&bytes, T0, None).unwrap();
    let mut rt = Routing::new(None).unwrap();
    rt.add_delegate(&card, &[&rc], T0, None).unwrap();
    assert_eq!(rt.delegate_count(), 1);
    let info = rt.get(&d.public_key()).unwrap().unwrap();
    assert_eq!(info.delegated, 1);
    assert_eq!(info.principal.bytes, p.public_key());
    assert_eq!(info.capability_count, 1);
    let stranger = cyberagent::sign_revocation(s, &rid, T0, T0 + HOUR).unwrap();
    assert_eq!(rt.add_revocation(&stranger, T0).unwrap(), 0);
    let own = cyberagent::sign_revocation(p, &rid, T0, T0 + HOUR).unwrap();
    assert_eq!(rt.add_revocation(&own, T0).unwrap(), 1);
    assert!(rt.get(&d.public_key()).unwrap().is_none());
    let e = rt.add_delegate(&card, &[&rc], T0, None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_DELEGATION_REVOKED);
}
