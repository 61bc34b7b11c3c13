//! Cards, ledger and reputation through the safe API.

use cyberagent::{
    status, sys, Capability, Card, CardParams, Envelope, EnvelopeParams, Identity, Ledger, LedgerOp,
    Reputation,
};

const T0: u64 = 1_700_000_000_000;

#[test]
fn card_roundtrip_and_errors() {
    let me = Identity::generate().unwrap();
    let mut params = CardParams {
        name: "Translator".into(),
        description: Some("EN->FR".into()),
        endpoint: "agents.translator".into(),
        stake: 500,
        not_before: T0,
        not_after: T0 + 1000,
        sequence: 2,
        capabilities: vec![
            Capability::new("llm.translate.en-fr", 50, 2000),
            Capability::new("llm.summarize", 20, 0),
        ],
        created_at: T0,
    };
    let (bytes, id) = cyberagent::sign_card(&me, &params).unwrap();
    let card = Card::open(&bytes, T0 + 1, None).unwrap();
    assert_eq!(card.message_id(), id);
    assert_eq!(card.agent(), me.public_key());
    assert_eq!(card.agent_did(), me.did());
    assert_eq!(
        (card.name(), card.description(), card.endpoint()),
        ("Translator", "EN->FR", "agents.translator")
    );
    assert_eq!((card.stake(), card.sequence(), card.created_at()), (500, 2, T0));
    assert_eq!((card.not_before(), card.not_after()), (T0, T0 + 1000));
    assert!(card.valid_at(T0) && !card.valid_at(T0 + 1001));
    let caps = card.capabilities().unwrap();
    assert_eq!(caps[0], Capability::new("llm.summarize", 20, 0));
    assert_eq!(card.capability_at(5).unwrap_err().status(), status::CA_ERR_NOT_FOUND);
    assert_eq!(card.find_capability("nope").unwrap(), None);
    assert!(card.to_a2a_json().unwrap().contains("Translator"));
    let env = Envelope::open(&bytes, T0, None).unwrap();
    assert_eq!(Card::parse(&env).unwrap().name(), "Translator");
    assert_eq!(cyberagent::card_limits()[0], sys::CA_CARD_NAME_MAX as usize);
    params.capabilities = vec![Capability::new("Bad", 1, 0)];
    assert_eq!(cyberagent::sign_card(&me, &params).unwrap_err().name(), "CA_ERR_BAD_CAPABILITY");
}

/// A card has one signed encoding: its body, uncompressed, in an envelope expiring at not_after.
#[test]
fn card_one_signed_encoding() {
    let me = Identity::generate().unwrap();
    let params = CardParams {
        name: "T".into(),
        description: Some("x".repeat(1000)),
        endpoint: "e".into(),
        stake: 0,
        not_before: T0,
        not_after: T0 + 1000,
        sequence: 0,
        capabilities: vec![Capability::new("a", 1, 0)],
        created_at: T0,
    };
    let (bytes, _) = cyberagent::sign_card(&me, &params).unwrap();
    let body = Envelope::decode(&bytes, None).unwrap().body(None, None).unwrap();
    for (expires, compress) in [(T0 + 1001, false), (T0 + 1000, true)] {
        let mut ep = EnvelopeParams::new(sys::CA_KIND_CARD, T0, expires);
        ep.compress = compress;
        let (env, _) = cyberagent::sign_envelope(&me, &ep, &body).unwrap();
        let env = Envelope::decode(&env, None).unwrap();
        assert_eq!(Card::parse(&env).unwrap_err().status(), status::CA_ERR_MALFORMED);
    }
    let ep = EnvelopeParams::new(sys::CA_KIND_CARD, T0, T0 + 1000);
    let (env, _) = cyberagent::sign_envelope(&me, &ep, &body).unwrap();
    assert_eq!(env, bytes);
    assert_eq!(Card::parse(&Envelope::decode(&env, None).unwrap()).unwrap().name(), "T");
}

#[test]
fn ledger_escrow_flow() {
    let (auth, alice, bob) =
        (Identity::generate().unwrap(), Identity::generate().unwrap(), Identity::generate().unwrap());
    let opts = cyberagent::ledger_options(&auth.public_key(), &[0; 32]).unwrap();
    let mut led = Ledger::new(&opts).unwrap();
    let lid = led.id().unwrap();
    assert_eq!(cyberagent::ledger_id(&opts).unwrap(), lid);
    let mut nonce = std::collections::HashMap::new();
    let mut op = |kind: u32, who: &Identity| {
        let n = nonce.entry(who.public_key()).or_insert(0u64);
        *n += 1;
        LedgerOp { kind, signer: who.public_key(), nonce: *n, ..Default::default() }
    };
    for who in [&alice, &bob] {
        let mut m = op(sys::CA_LEDGER_OP_MINT, &auth);
        m.counterparty = who.public_key();
        m.amount = 1000;
        led.submit(&m.sign(&lid, &auth, None).unwrap(), 1).unwrap();
    }
    let mut b = op(sys::CA_LEDGER_OP_BOND, &bob);
    b.amount = 500;
    let signed = b.sign(&lid, &bob, None).unwrap();
    assert!(signed.len() <= cyberagent::ledger_op_max_bytes());
    assert_eq!(LedgerOp::decode(&signed).unwrap(), b);
    assert_eq!(cyberagent::ledger_op_verify(&lid, &signed), Ok(true));
    // Signed for this ledger only: another ledger (same rules, other network) refuses it.
    let mut other_opts = opts;
    other_opts.network.bytes[0] = 1;
    let mut other = Ledger::new(&other_opts).unwrap();
    assert_ne!(other.id().unwrap(), lid);
    assert_eq!(cyberagent::ledger_op_verify(&other.id().unwrap(), &signed), Ok(false));
    assert_eq!(other.submit(&signed, 1).unwrap_err().status(), status::CA_ERR_BAD_SIGNATURE);
    assert_eq!(b.sign(&lid, &bob, None).unwrap(), signed); // deterministic
    led.submit(&signed, 1).unwrap();
    let award = [7u8; 32];
    let mut open = op(sys::CA_LEDGER_OP_ESCROW_OPEN, &alice);
    open.counterparty = bob.public_key();
    open.reference = award;
    open.amount = 100;
    open.amount2 = 50;
    open.deadline = 100;
    let consent = open.cosign(&lid, &bob).unwrap(); // in the worker's process
    assert!(open.cosign(&lid, &alice).is_err());
    let two_step = open.sign_cosigned(&lid, &alice, Some(&consent)).unwrap(); // in the hirer's
    assert_eq!(two_step, open.sign(&lid, &alice, Some(&bob)).unwrap());
    assert!(open.sign_cosigned(&lid, &alice, Some(&[0u8; 64])).is_err());
    led.submit(&two_step, 2).unwrap();
    let mut d = op(sys::CA_LEDGER_OP_ESCROW_DELIVER, &bob);
    d.reference = award;
    d.result = [0x5e; 32];
    // A signed delivery needs its RESULT attached: a bare claim is refused.
    let bare = d.sign(&lid, &bob, None).unwrap();
    assert_eq!(led.submit(&bare, 3).unwrap_err().status(), sys::CA_ERR_LEDGER_BAD_EVIDENCE);
    led.apply(&d, 3).unwrap(); // the trusted path
    assert_eq!(led.escrow(&award).unwrap().result.bytes, [0x5e; 32]);
    let mut r = op(sys::CA_LEDGER_OP_ESCROW_RELEASE, &alice);
    r.reference = award;
    led.apply(&r, 4).unwrap();
    let e = led.escrow(&award).unwrap();
    assert_eq!(e.state, sys::CA_LEDGER_ESCROW_RELEASED);
    assert_eq!((e.delivered, e.missed, e.paid), (1, 0, 100));
    assert_eq!(led.account(&alice.public_key()).unwrap().balance, 900);
    let mut t = op(sys::CA_LEDGER_OP_TRANSFER, &alice);
    t.counterparty = bob.public_key();
    t.amount = 1_000_000;
    assert_eq!(led.apply(&t, 5).unwrap_err().status(), sys::CA_ERR_LEDGER_INSUFFICIENT_FUNDS);
    led.check().unwrap();
    let mut big = op(sys::CA_LEDGER_OP_TRANSFER, &alice);
    big.counterparty = bob.public_key();
    big.amount = 1_000_000;
    let mut small = op(sys::CA_LEDGER_OP_TRANSFER, &bob);
    small.counterparty = alice.public_key();
    small.amount = 1;
    let res = led.apply_batch(&[big, small], 6).unwrap();
    assert_ne!(res[0], sys::CA_OK); // refused (its nonce follows an earlier failed op)
    assert_eq!(res[1], sys::CA_OK);
    assert_eq!(led.commit().unwrap(), led.totals().seq);
    assert_eq!(led.state_hash().unwrap().len(), 32);
    assert_eq!(led.snapshot().unwrap_err().status(), status::CA_ERR_STATE);
    let mut slash = op(sys::CA_LEDGER_OP_SLASH, &alice);
    slash.counterparty = bob.public_key();
    slash.evidence = sys::CA_LEDGER_EVIDENCE_EQUIVOCATION;
    let signed = slash.sign(&lid, &alice, None).unwrap();
    let err = led.submit_evidence(&signed, b"not evidence", 7).unwrap_err();
    assert!(
        err.status() == sys::CA_ERR_LEDGER_BAD_EVIDENCE || err.status() == sys::CA_ERR_MALFORMED,
        "{}",
        err
    );
    assert_eq!(cyberagent::ledger_evidence_max_bytes(), sys::CA_LEDGER_EVIDENCE_MAX_BYTES);

    let dir = std::env::temp_dir().join(format!("ca-rust-ledger-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let mut d = Ledger::open(&dir, &opts).unwrap();
        let mut m = LedgerOp {
            kind: sys::CA_LEDGER_OP_MINT,
            signer: auth.public_key(),
            nonce: 1,
            ..Default::default()
        };
        m.counterparty = alice.public_key();
        m.amount = 5;
        d.submit(&m.sign(&d.id().unwrap(), &auth, None).unwrap(), 1).unwrap();
        d.snapshot().unwrap();
    }
    let d = Ledger::open(&dir, &opts).unwrap();
    assert_eq!(d.open_info().unwrap().snapshot_seq, 1);
    assert_eq!(d.account(&alice.public_key()).unwrap().balance, 5);
    // One handle per directory: a second open is refused while `d` holds it.
    assert_eq!(Ledger::open(&dir, &opts).err().unwrap().status(), sys::CA_ERR_STATE);
    drop(d);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 13, ledger availability: slashes that take nothing, offenses older than the window and
/// reports from accounts that do not exist are refused; escrows are bounded per hirer and in
/// time, and a settled one is dropped once its window has passed.
#[test]
fn ledger_availability_rules() {
    let (auth, alice, bob) =
        (Identity::generate().unwrap(), Identity::generate().unwrap(), Identity::generate().unwrap());
    let mut opts = cyberagent::ledger_options(&auth.public_key(), &[0; 32]).unwrap();
    assert_eq!(opts.max_evidence_age, sys::CA_LEDGER_MAX_EVIDENCE_AGE_DEFAULT as u64);
    assert_eq!(opts.max_escrow_duration, sys::CA_LEDGER_MAX_ESCROW_DURATION_DEFAULT as u64);
    assert_eq!(opts.max_escrows_per_hirer, sys::CA_LEDGER_MAX_ESCROWS_PER_HIRER_DEFAULT);
    opts.max_evidence_age = 1000;
    opts.max_escrow_duration = 500;
    opts.max_escrows_per_hirer = 1;
    let mut led = Ledger::new(&opts).unwrap();
    let mut nonce = std::collections::HashMap::new();
    let mut op = |kind: u32, who: &[u8; 32]| {
        let n = nonce.entry(*who).or_insert(0u64);
        *n += 1;
        LedgerOp { kind, signer: *who, nonce: *n, ..Default::default() }
    };
    let (a, b) = (alice.public_key(), bob.public_key());
    for who in [a, b] {
        let mut m = op(sys::CA_LEDGER_OP_MINT, &auth.public_key());
        m.counterparty = who;
        m.amount = 100;
        led.apply(&m, 100).unwrap();
    }
    let mut s = LedgerOp { kind: sys::CA_LEDGER_OP_SLASH, signer: a, nonce: 1, ..Default::default() };
    s.counterparty = b;
    s.evidence = sys::CA_LEDGER_EVIDENCE_EQUIVOCATION;
    s.deadline = 100;
    assert_eq!(led.apply(&s, 100).unwrap_err().status(), sys::CA_ERR_LEDGER_NO_STAKE);
    let mut bond = op(sys::CA_LEDGER_OP_BOND, &b);
    bond.amount = 50;
    led.apply(&bond, 100).unwrap();
    assert_eq!(led.apply(&s, 1101).unwrap_err().status(), sys::CA_ERR_LEDGER_EVIDENCE_EXPIRED);
    let mut stranger = s;
    stranger.signer = [0x77; 32];
    assert_eq!(led.apply(&stranger, 200).unwrap_err().status(), sys::CA_ERR_LEDGER_UNKNOWN_ACCOUNT);
    let mut open = op(sys::CA_LEDGER_OP_ESCROW_OPEN, &a);
    open.counterparty = b;
    open.reference = [1; 32];
    open.amount = 10;
    open.deadline = 701; // more than max_escrow_duration after now
    assert_eq!(led.apply(&open, 200).unwrap_err().status(), status::CA_ERR_LIMIT);
    open.deadline = 700;
    led.apply(&open, 200).unwrap();
    let mut second = open;
    second.nonce += 1;
    second.reference = [2; 32];
    assert_eq!(led.apply(&second, 200).unwrap_err().status(), status::CA_ERR_LIMIT); // quota 1
    let mut rel = op(sys::CA_LEDGER_OP_ESCROW_RELEASE, &a);
    rel.nonce = open.nonce + 1;
    rel.reference = [1; 32];
    led.apply(&rel, 300).unwrap();
    assert_eq!(led.totals().escrows, 1); // kept until deadline + max_evidence_age
    let mut t = op(sys::CA_LEDGER_OP_TRANSFER, &b);
    t.counterparty = a;
    t.amount = 1;
    led.apply(&t, 1701).unwrap();
    assert_eq!(led.totals().escrows, 0);
    assert_eq!(led.escrow(&[1; 32]).unwrap_err().status(), sys::CA_ERR_LEDGER_UNKNOWN_ESCROW);
    led.check().unwrap();
}

#[test]
fn reputation_scores() {
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let mut o = cyberagent::reputation_options().unwrap();
    o.unit_amount = 1;
    let mut rep = Reputation::new(Some(&o)).unwrap();
    rep.reserve(4, 4).unwrap();
    rep.add_rating(&[1; 32], &a, &b, 100, 100, T0).unwrap();
    rep.add_rating(&[2; 32], &a, &c, 0, 100, T0).unwrap();
    assert_eq!(
        rep.add_rating(&[2; 32], &a, &c, 0, 100, T0).unwrap_err().status(),
        sys::CA_ERR_DUPLICATE_RATING
    );
    assert_eq!(rep.add_rating(&[3; 32], &a, &a, 0, 100, T0).unwrap_err().status(), sys::CA_ERR_SELF_RATING);
    rep.set_stake(&a, 10).unwrap();
    rep.set_pretrusted(&a, true).unwrap();
    let stats = rep.update(T0 + 1).unwrap();
    assert_eq!(stats.agents, 3);
    assert!(rep.get(&b).unwrap().unwrap().expected > rep.get(&c).unwrap().unwrap().expected);
    assert!(rep.get(&[9; 32]).unwrap().is_none());
    assert_eq!(rep.top(10).unwrap().len(), 3);
    assert_eq!((rep.agent_count(), rep.rating_count()), (3, 2));
    let snap = rep.snapshot_export().unwrap();
    let mut rep2 = Reputation::new(Some(&o)).unwrap();
    rep2.snapshot_import(&snap).unwrap();
    assert_eq!(rep2.snapshot_export().unwrap(), snap);
    assert_eq!(cyberagent::reputation_limits().0, 100);
    // A lost dispute: b's credibility drops to 1/16, so the trust a gives it goes back to p.
    let before = rep.get(&b).unwrap().unwrap().global;
    rep.add_offense(sys::CA_LEDGER_EVIDENCE_DISPUTE, &[1; 32], &b, T0).unwrap();
    assert_eq!(
        rep.add_offense(sys::CA_LEDGER_EVIDENCE_DISPUTE, &[1; 32], &b, T0).unwrap_err().status(),
        sys::CA_ERR_DUPLICATE_OFFENSE
    );
    rep.update(T0 + 2).unwrap();
    assert!(rep.get(&b).unwrap().unwrap().global < before);
    let snap = rep.snapshot_export().unwrap();
    assert_eq!(u32::from_le_bytes(snap[4..8].try_into().unwrap()), 2); // offenses, one task per rating
}

#[test]
fn reputation_prune() {
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let day = 24 * 3600 * 1000u64;
    let (old, now) = (T0 - 400 * day, T0 + 1000);
    let o = cyberagent::reputation_options().unwrap();
    let mut full = Reputation::new(Some(&o)).unwrap();
    let mut pruned = Reputation::new(Some(&o)).unwrap();
    for rep in [&mut full, &mut pruned] {
        rep.add_rating(&[1; 32], &a, &b, 90, 1, old).unwrap(); // weight 1, 13 half-lives ago: no evidence
        rep.add_rating(&[2; 32], &b, &c, 20, 2, old).unwrap();
        rep.add_rating(&[3; 32], &a, &c, 80, 1_000_000_000_000, old).unwrap(); // heavy: some left
        rep.add_rating(&[4; 32], &c, &b, 70, 100, T0).unwrap();
        rep.set_pretrusted(&a, true).unwrap();
    }
    assert_eq!(pruned.prune(old).unwrap(), 0);
    assert_eq!(pruned.prune(now).unwrap(), 2);
    assert_eq!(pruned.prune(now).unwrap(), 0);
    assert_eq!((pruned.agent_count(), pruned.rating_count()), (3, 2));
    assert_eq!(
        pruned.add_rating(&[1; 32], &a, &b, 90, 1, now).unwrap_err().status(),
        sys::CA_ERR_DUPLICATE_RATING
    );
    full.update(now).unwrap();
    pruned.update(now).unwrap();
    for x in [&a, &b, &c] {
        let (p, q) = (full.get(x).unwrap().unwrap(), pruned.get(x).unwrap().unwrap());
        assert_eq!(p.global.to_bits(), q.global.to_bits());
        assert_eq!(
            (p.positive.to_bits(), p.negative.to_bits()),
            (q.positive.to_bits(), q.negative.to_bits())
        );
    }
    assert_eq!(pruned.get(&b).unwrap().unwrap().ratings_received, 1);
    let snap = pruned.snapshot_export().unwrap();
    assert_eq!(u32::from_le_bytes(snap[4..8].try_into().unwrap()), 3); // more tasks than ratings
    let mut again = Reputation::new(Some(&o)).unwrap();
    again.snapshot_import(&snap).unwrap();
    assert_eq!(again.snapshot_export().unwrap(), snap);
}

#[test]
fn routing_and_kad() {
    use cyberagent::{Kad, Query, Routing};
    let mk = |me: &Identity, price: u64, seq: u64| {
        let p = CardParams {
            name: "agent".into(),
            endpoint: "nats.agent".into(),
            capabilities: vec![Capability::new("llm.translate.en-fr", price, 500)],
            not_before: T0,
            not_after: T0 + 1000,
            sequence: seq,
            created_at: T0,
            ..Default::default()
        };
        Card::open(&cyberagent::sign_card(me, &p).unwrap().0, T0, None).unwrap()
    };
    let (cheap, dear) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let mut rt = Routing::new(Some(&cyberagent::routing_options().unwrap())).unwrap();
    rt.add_card(&mk(&cheap, 10, 1), T0).unwrap();
    rt.add_card(&mk(&dear, 5000, 1), T0).unwrap();
    assert_eq!(rt.add_card(&mk(&dear, 5000, 0), T0).unwrap_err().status(), sys::CA_ERR_ROUTING_STALE);
    assert_eq!(rt.count(), 2);
    let q = Query { capability: "llm.translate.*", now: T0, ..Default::default() };
    let res = rt.select(&q, 5).unwrap();
    assert_eq!(res[0].agent(), cheap.public_key());
    assert_eq!(res[0].capability(), "llm.translate.en-fr");
    assert!(res[0].explain().starts_with("score "));
    assert!(format!("{:?}", res[0]).contains("llm.translate.en-fr"));
    rt.set_reputation(&dear.public_key(), 1_000_000).unwrap();
    rt.set_stake(&dear.public_key(), 9).unwrap();
    rt.set_evidence(&dear.public_key(), 5000, 0).unwrap();
    let info = rt.get(&dear.public_key()).unwrap().unwrap();
    assert_eq!((info.stake, info.stake_from_ledger, info.positive_milli), (9, 1, 5000));
    let w = cyberagent::routing_weights_default();
    let tq = Query { capability: "*", now: T0, thompson: Some(7), weights: Some(&w), ..Default::default() };
    assert_eq!(rt.select(&tq, 5).unwrap().len(), 2);
    assert_eq!(rt.endpoint(&cheap.public_key()).unwrap(), b"nats.agent");
    assert_eq!(rt.name(&cheap.public_key()).unwrap(), "agent");
    rt.remove(&cheap.public_key()).unwrap();
    assert_eq!(rt.expire(T0 + 1001).unwrap(), 1);
    assert!(rt.get(&dear.public_key()).unwrap().is_none());
    // Routing's limits are the card's: the option defaults, which may only be lowered.
    let o = cyberagent::routing_options().unwrap();
    assert_eq!(o.max_name_chars, sys::CA_CARD_NAME_MAX as usize);
    assert_eq!(o.max_endpoint_bytes, sys::CA_CARD_ENDPOINT_MAX as usize);
    assert_eq!(o.max_capability_chars, sys::CA_CAPABILITY_MAX as usize);
    assert_eq!(o.max_capabilities_per_agent, sys::CA_CARD_CAPABILITIES_MAX as usize);

    let me = [0u8; 32];
    let mut o = Kad::options().unwrap();
    o.bucket_size = 2;
    let mut kad = Kad::new(&me, Some(&o)).unwrap();
    let ids: Vec<[u8; 32]> = (0..3u8)
        .map(|i| {
            let mut a = [0u8; 32];
            a[0] = 0x80 | i;
            a
        })
        .collect();
    assert_eq!(kad.seen(&me).unwrap(), sys::CA_KAD_IGNORED);
    assert_eq!(kad.seen(&ids[0]).unwrap(), sys::CA_KAD_ADDED);
    assert_eq!(kad.seen(&ids[1]).unwrap(), sys::CA_KAD_ADDED);
    assert_eq!(kad.seen(&ids[2]).unwrap(), sys::CA_KAD_CACHED);
    kad.mark_failed(&ids[0]).unwrap();
    assert_eq!(kad.count(), 2);
    assert_eq!(kad.closest(&ids[2], 1).unwrap(), vec![ids[2]]);
    kad.remove(&ids[1]).unwrap();
}

#[test]
fn routing_card_lifetime_cap() {
    use cyberagent::{Query, Routing};
    let me = Identity::generate().unwrap();
    let p = CardParams {
        name: "agent".into(),
        endpoint: "nats.agent".into(),
        capabilities: vec![Capability::new("llm.translate.en-fr", 10, 500)],
        not_before: T0,
        not_after: u64::MAX,
        created_at: T0,
        ..Default::default()
    };
    // A card valid until 2^64-1 opens only when the verifier lifts the envelope lifetime cap.
    let forever = cyberagent::EnvelopeOptions { max_lifetime_ms: Some(u64::MAX), ..Default::default() };
    let card = Card::open(&cyberagent::sign_card(&me, &p).unwrap().0, T0, Some(&forever)).unwrap();
    let mut o = cyberagent::routing_options().unwrap();
    assert_eq!(o.max_card_lifetime_ms, sys::CA_ROUTING_MAX_CARD_LIFETIME_MS_DEFAULT);
    o.max_card_lifetime_ms = 1000;
    let mut rt = Routing::new(Some(&o)).unwrap();
    rt.add_card(&card, T0).unwrap();
    // Valid until 2^64-1, kept 1000 ms; the same card again renews.
    assert_eq!(rt.get(&me.public_key()).unwrap().unwrap().valid_until, T0 + 1000);
    rt.add_card(&card, T0 + 500).unwrap();
    assert_eq!(rt.get(&me.public_key()).unwrap().unwrap().valid_until, T0 + 1500);
    let q = Query { capability: "*", now: T0 + 1501, ..Default::default() };
    assert!(rt.select(&q, 5).unwrap().is_empty());
    assert_eq!(rt.expire(T0 + 1501).unwrap(), 1);
    o.max_card_lifetime_ms = 0;
    assert_eq!(Routing::new(Some(&o)).err().unwrap().status(), sys::CA_ERR_INVALID_ARGUMENT);
}

#[test]
fn routing_bids() {
    use cyberagent::{Bid, Query, Routing};
    let (a, b, c) =
        (Identity::generate().unwrap(), Identity::generate().unwrap(), Identity::generate().unwrap());
    let mut rt = Routing::new(None).unwrap();
    for me in [&a, &b] {
        let p = CardParams {
            name: "x".into(),
            endpoint: "e".into(),
            capabilities: vec![Capability::new("llm.summarize", 100, 0)],
            not_before: T0,
            not_after: T0 + 1000,
            created_at: T0,
            ..Default::default()
        };
        rt.add_card(&Card::open(&cyberagent::sign_card(me, &p).unwrap().0, T0, None).unwrap(), T0).unwrap();
    }
    let bids = [
        Bid { agent: a.public_key(), price: 90, latency_ms: 0 },
        Bid { agent: b.public_key(), price: 20, latency_ms: 0 },
        Bid { agent: c.public_key(), price: 1, latency_ms: 0 },
    ];
    let q = Query { capability: "llm.summarize", now: T0, ..Default::default() };
    let ranked = rt.rank_bids(&q, &bids, 5).unwrap();
    assert_eq!(ranked.iter().map(|r| r.agent()).collect::<Vec<_>>(), vec![b.public_key(), a.public_key()]);
    assert_eq!(ranked[0].0.price, 20);
    let strict = Query { max_price: Some(50), ..q.clone() };
    let (cand, ok) = rt.score_bid(&strict, &bids[0]).unwrap().unwrap();
    assert!(!ok);
    assert_eq!(cand.agent(), a.public_key());
    assert!(rt.score_bid(&q, &bids[2]).unwrap().is_none());
}

#[test]
fn routing_sync_from_ledger_and_reputation() {
    use cyberagent::{Query, Routing};
    let (auth, arb, hirer) = ([0xA1u8; 32], [0xA2u8; 32], [0x99u8; 32]);
    let mut opts = cyberagent::ledger_options(&auth, &arb).unwrap();
    opts.jail_dispute = 5000;
    let mut led = Ledger::new(&opts).unwrap();
    let mut nonce = std::collections::HashMap::new();
    let mut apply = |led: &mut Ledger, mut op: LedgerOp| {
        let n = nonce.entry(op.signer).or_insert(0u64);
        *n += 1;
        op.nonce = *n;
        led.apply(&op, T0).unwrap();
    };
    let ws: Vec<Identity> = (0..3).map(|_| Identity::generate().unwrap()).collect();
    let mut rt = Routing::new(None).unwrap();
    for w in &ws {
        let p = CardParams {
            name: "w".into(),
            endpoint: "nats.w".into(),
            capabilities: vec![Capability::new("llm.translate.en-fr", 100, 500)],
            not_before: T0,
            not_after: T0 + 1000,
            sequence: 1,
            created_at: T0,
            stake: 999,
            ..Default::default()
        };
        rt.add_card(&Card::open(&cyberagent::sign_card(w, &p).unwrap().0, T0, None).unwrap(), T0).unwrap();
    }
    for who in [hirer, ws[0].public_key(), ws[1].public_key()] {
        let op = LedgerOp {
            kind: sys::CA_LEDGER_OP_MINT,
            signer: auth,
            counterparty: who,
            amount: 1000,
            ..Default::default()
        };
        apply(&mut led, op);
    }
    for (w, amount) in [(&ws[0], 300), (&ws[1], 200)] {
        apply(
            &mut led,
            LedgerOp { kind: sys::CA_LEDGER_OP_BOND, signer: w.public_key(), amount, ..Default::default() },
        );
    }
    rt.sync_stakes(&led, T0).unwrap();
    let stakes: Vec<u64> = ws.iter().map(|w| rt.get(&w.public_key()).unwrap().unwrap().stake).collect();
    assert_eq!(stakes, [300, 200, 0]);
    assert_eq!(rt.get(&ws[2].public_key()).unwrap().unwrap().stake_from_ledger, 1);
    // A lost dispute jails ws[0]: a query with min_stake 1 leaves it out.
    let award = [7u8; 32];
    apply(
        &mut led,
        LedgerOp {
            kind: sys::CA_LEDGER_OP_ESCROW_OPEN,
            signer: hirer,
            counterparty: ws[0].public_key(),
            reference: award,
            amount: 80,
            amount2: 20,
            deadline: T0 + 100_000,
            ..Default::default()
        },
    );
    apply(
        &mut led,
        LedgerOp {
            kind: sys::CA_LEDGER_OP_SLASH,
            evidence: sys::CA_LEDGER_EVIDENCE_DISPUTE,
            signer: arb,
            counterparty: ws[0].public_key(),
            reference: award,
            ..Default::default()
        },
    );
    let jailed_until = led.account(&ws[0].public_key()).unwrap().jailed_until;
    assert!(jailed_until > T0);
    rt.sync_stakes(&led, T0).unwrap();
    let q = Query { capability: "llm.translate.*", now: T0, min_stake: Some(1), ..Default::default() };
    let res = rt.select(&q, 5).unwrap();
    assert_eq!(res.len(), 1);
    assert_eq!(res[0].agent(), ws[1].public_key());
    rt.sync_stakes(&led, jailed_until).unwrap();
    assert!(rt.get(&ws[0].public_key()).unwrap().unwrap().stake > 0);

    let mut rep = Reputation::new(None).unwrap();
    rep.add_rating(&[1; 32], &hirer, &ws[0].public_key(), 90, 100, T0).unwrap();
    rep.add_rating(&[2; 32], &hirer, &ws[1].public_key(), 10, 100, T0).unwrap();
    rep.update(T0 + 1).unwrap();
    rt.set_reputation(&ws[2].public_key(), 123_456).unwrap();
    rt.sync_reputation(&rep).unwrap();
    for w in &ws[..2] {
        let sc = rep.get(&w.public_key()).unwrap().unwrap();
        let info = rt.get(&w.public_key()).unwrap().unwrap();
        assert_eq!(info.reputation_ppm, ((sc.expected * 1e6 + 0.5) as u32).min(1_000_000));
        assert_eq!(info.positive_milli, (sc.positive * 1000.0) as u64);
        assert_eq!(info.negative_milli, (sc.negative * 1000.0) as u64);
    }
    assert_eq!(rt.get(&ws[2].public_key()).unwrap().unwrap().reputation_ppm, 123_456);
}
