//! The hiring story in Rust (`cargo run --example hire`): an agent finds
//! workers through signed cards, posts a signed task, ranks the bids, escrows
//! payment against the worker's stake, gets a signed result, pays and rates;
//! reputation steers the next hire. Same story as examples/python/hire.py.

use std::collections::HashMap;

use cyberagent::{
    reply_award, reply_bid, reply_receipt, reply_result, sign_card, sign_task, sys, Bid, Capability, Card,
    CardParams, Content, EnvelopeParams, Identity, Ledger, LedgerOp, PublicKey, Query, Reputation, Result,
    Routing, Task, TaskBody, TaskMsg,
};

const EPOCH: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z in ms: every clock is the caller's
const CAP: &str = "llm.summarize";
const TTL: u64 = 3_600_000;

fn seed(name: &str) -> [u8; 32] {
    let mut s = [b'.'; 32];
    s[..name.len()].copy_from_slice(name.as_bytes());
    s
}

struct Books {
    ledger: Ledger,
    nonces: HashMap<PublicKey, u64>,
}

impl Books {
    /// Signs a ledger op for this ledger (the worker cosigns an escrow) and submits it, with
    /// the message it claims when there is one (a delivery's RESULT): the ledger checks the
    /// signatures.
    fn op(
        &mut self,
        mut op: LedgerOp,
        signer: &Identity,
        cosigner: Option<&Identity>,
        attach: Option<&[u8]>,
        now: u64,
    ) -> Result<()> {
        let n = self.nonces.entry(signer.public_key()).or_insert(0);
        *n += 1;
        op.signer = signer.public_key();
        op.nonce = *n;
        let msg = op.sign(&self.ledger.id()?, signer, cosigner)?;
        match attach {
            None => self.ledger.submit(&msg, now)?,
            Some(a) => self.ledger.submit_evidence(&msg, a, now)?,
        };
        Ok(())
    }
}

fn main() -> Result<()> {
    let authority = Identity::from_seed(&seed("authority"))?;
    let alice = Identity::from_seed(&seed("alice"))?;
    let workers: Vec<(&str, Identity, u64, u32)> = vec![
        ("bob", Identity::from_seed(&seed("bob"))?, 45, 95), // name, key, price, quality of results
        ("carol", Identity::from_seed(&seed("carol"))?, 20, 10),
        ("dave", Identity::from_seed(&seed("dave"))?, 30, 90),
    ];
    let by_key: HashMap<PublicKey, usize> =
        workers.iter().enumerate().map(|(i, w)| (w.1.public_key(), i)).collect();
    let mut now = EPOCH;
    let opts = cyberagent::ledger_options(&authority.public_key(), &[0; 32])?;
    let mut books = Books { ledger: Ledger::new(&opts)?, nonces: HashMap::new() };
    let (mut routing, mut reputation) = (Routing::new(None)?, Reputation::new(None)?);

    let mint = |to: &Identity| LedgerOp {
        kind: sys::CA_LEDGER_OP_MINT,
        counterparty: to.public_key(),
        amount: 1000,
        ..Default::default()
    };
    books.op(mint(&alice), &authority, None, None, now)?;
    for (_, w, _, _) in &workers {
        books.op(mint(w), &authority, None, None, now)?;
    }
    for (name, w, price, _) in &workers {
        books.op(
            LedgerOp { kind: sys::CA_LEDGER_OP_BOND, amount: 300, ..Default::default() },
            w,
            None,
            None,
            now,
        )?;
        let card = CardParams {
            name: name.to_string(),
            endpoint: format!("agents.{}.inbox", name),
            capabilities: vec![Capability::new(CAP, *price, 2000)],
            not_before: EPOCH,
            not_after: EPOCH + 86_400_000,
            created_at: now,
            stake: 300,
            ..Default::default()
        };
        routing.add_card(&Card::open(&sign_card(w, &card)?.0, now, None)?, now)?; // only verified cards
        routing.set_stake(&w.public_key(), books.ledger.account(&w.public_key())?.bonded)?;
    }

    for n in 1..=6u32 {
        now += 10_000;
        let at = |dt: u64| EnvelopeParams::new(0, now + dt, now + TTL);
        let request = TaskBody::Request {
            capability: CAP.into(),
            input: Content::Inline(format!("report {}", n).into_bytes()),
            max_price: 50,
            deadline: now + 60_000,
            collateral: 20,
            recipient: None,
        };
        let (req, _) = sign_task(&alice, &at(0), &request)?;
        let mut thread = Task::new_bytes(&req, now, None)?;
        let read = TaskMsg::open(&req, now, None)?; // bidders read the verified request
        let mut bids = Vec::new();
        let mut bid_ids = HashMap::new();
        let q = Query { capability: CAP, now, max_price: Some(50), ..Default::default() };
        for c in routing.select(&q, 3)? {
            let w = &workers[by_key[&c.agent()]].1;
            let (b, bid_id) = reply_bid(w, &at(1), &read, c.0.price, now + 30_000)?; // task, parent, recipient
            thread.apply_bytes(&b, now + 1)?;
            bids.push(Bid { agent: c.agent(), price: c.0.price, latency_ms: 0 });
            bid_ids.insert(c.agent(), bid_id);
        }
        let best = routing.rank_bids(&Query { now: now + 1, ..q.clone() }, &bids, 1)?[0];
        let (name, worker, _, quality) = &workers[by_key[&best.agent()]];
        let price = best.0.price;
        let chosen = thread.find(&bid_ids[&best.agent()]).expect("the bid is in the thread");
        let (a, award_id) = reply_award(&alice, &at(2), &chosen, now + 40_000)?; // the bid's terms
        drop(chosen); // borrowed from the thread, which grows next
        thread.apply_bytes(&a, now + 2)?;
        let escrow = LedgerOp {
            kind: sys::CA_LEDGER_OP_ESCROW_OPEN,
            counterparty: worker.public_key(),
            reference: award_id,
            amount: price,
            amount2: 20,
            deadline: now + 40_000,
            ..Default::default()
        };
        books.op(escrow, &alice, Some(worker), None, now)?;
        let output = Content::Inline(format!("summary {}", n).into_bytes());
        let (r, result_id) = reply_result(worker, &at(3), &TaskMsg::open(&a, now + 3, None)?, &output)?;
        thread.apply_bytes(&r, now + 3)?;
        let deliver = LedgerOp {
            kind: sys::CA_LEDGER_OP_ESCROW_DELIVER,
            reference: award_id,
            result: result_id, // names its RESULT, which goes with it
            ..Default::default()
        };
        books.op(deliver, worker, None, Some(&r), now)?;
        let settled = thread.find(&result_id).expect("the result is in the thread");
        let (rc, _) = reply_receipt(&alice, &at(4), &settled, true, *quality, price)?;
        drop(settled);
        thread.apply_bytes(&rc, now + 4)?;
        let release =
            LedgerOp { kind: sys::CA_LEDGER_OP_ESCROW_RELEASE, reference: award_id, ..Default::default() };
        books.op(release, &alice, None, None, now)?;
        reputation.add_settled(&thread, &books.ledger)?; // the receipt rates; the ledger says what was paid
        reputation.sync_stakes(&books.ledger, now + 4)?; // every rated agent's stake, as the ledger holds it
        reputation.update(now + 4)?;
        for (_, w, _, _) in &workers {
            if let Some(s) = reputation.get(&w.public_key())? {
                routing.set_reputation(&w.public_key(), (s.expected * sys::CA_LEDGER_PPM as f64) as u32)?;
            }
        }
        let audited = Task::deserialize(&thread.serialize()?, None)?; // anyone can re-verify the thread
        assert_eq!(audited.digest()?, thread.digest()?);
        println!(
            "task {}: {:<5} won at {:2} cr (score {}), rated {}, thread {}",
            n,
            name,
            price,
            best.0.score,
            quality,
            thread.state_name()
        );
    }

    books.ledger.check()?; // conservation and every invariant, from scratch
    for (name, w, _, _) in &workers {
        let a = books.ledger.account(&w.public_key())?;
        let e = reputation.get(&w.public_key())?.map_or(0.5, |s| s.expected);
        println!("{:<5} balance {:4} bonded {:3} reputation {:.2}", name, a.balance, a.bonded, e);
    }
    let hash = books.ledger.state_hash()?;
    let hex: String = hash[..8].iter().map(|b| format!("{:02x}", b)).collect();
    println!("alice balance {}; ledger state {}", books.ledger.account(&alice.public_key())?.balance, hex);
    Ok(())
}
