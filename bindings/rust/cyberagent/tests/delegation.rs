//! Delegations, chains and revocations through the safe API.

use cyberagent::{status, Delegation, DelegationParams, Hash, Identity, RevocationSet};

const T0: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;

fn keys(n: u8) -> Vec<Identity> {
    (1..=n).map(|i| Identity::from_seed(&[i; 32]).unwrap()).collect()
}

fn terms(caps: &[&str], total: u64, task: u64, nb: u64, exp: u64) -> DelegationParams {
    DelegationParams {
        capabilities: caps.iter().map(|c| c.to_string()).collect(),
        total_cap: total,
        task_cap: task,
        not_before: nb,
        expires_at: exp,
        created_at: T0 - HOUR,
        ..Default::default()
    }
}

fn good() -> Vec<DelegationParams> {
    vec![
        terms(&["llm.*", "img.resize"], 1000, 100, T0 - HOUR, T0 + 24 * HOUR),
        terms(&["llm.translate.*"], 500, 50, T0 - HOUR, T0 + 12 * HOUR),
        terms(&["llm.translate.en-fr"], 400, 50, T0, T0 + HOUR),
    ]
}

/// keys[i] delegates to keys[i + 1] with t[i]; the links decoded (not opened).
fn chain(keys: &[Identity], t: &[DelegationParams]) -> (Vec<Delegation>, Vec<Hash>) {
    let (mut out, mut ids) = (Vec::new(), Vec::new());
    let mut parent = None;
    for (i, p) in t.iter().enumerate() {
        let mut p = p.clone();
        p.audience = keys[i + 1].public_key();
        p.parent = parent;
        let (bytes, id) = cyberagent::sign_delegation(&keys[i], &p).unwrap();
        out.push(Delegation::decode(&bytes).unwrap());
        ids.push(id);
        parent = Some(id);
    }
    (out, ids)
}

#[test]
fn round_trip_and_patterns() {
    let k = keys(2);
    let mut p = good().remove(0);
    p.audience = k[1].public_key();
    p.nonce = 9;
    let (bytes, id) = cyberagent::sign_delegation(&k[0], &p).unwrap();
    let d = Delegation::decode(&bytes).unwrap();
    let i = d.info().unwrap();
    assert_eq!(i.issuer, k[0].public_key());
    assert_eq!(i.audience, k[1].public_key());
    assert_eq!(i.id, id);
    assert_eq!(i.parent, None);
    assert!(!i.signature_checked);
    assert_eq!((i.total_cap, i.task_cap, i.nonce), (1000, 100, 9));
    assert_eq!(i.capabilities, vec!["img.resize".to_string(), "llm.*".to_string()]);
    assert_eq!(d.encoded().unwrap(), bytes);
    assert!(d.grants("llm.summarize").unwrap());
    assert!(!d.grants("img.crop").unwrap());
    assert_eq!(d.grants("IMG").unwrap_err().status(), status::CA_ERR_BAD_CAPABILITY);
    assert!(Delegation::open(&bytes).unwrap().info().unwrap().signature_checked);
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(Delegation::decode(&bad).is_ok());
    assert_eq!(Delegation::open(&bad).err().unwrap().status(), status::CA_ERR_BAD_SIGNATURE);
    p.audience = k[0].public_key();
    let e = cyberagent::sign_delegation(&k[0], &p).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_INVALID_ARGUMENT);
    assert!(e.message().contains("audience"));
    assert_eq!(cyberagent::delegation_limits(), [8, 16, 66]);
}

#[test]
fn chains_narrow_only() {
    let k = keys(4);
    let (links, ids) = chain(&k, &good());
    let refs: Vec<&Delegation> = links.iter().collect();
    let g = cyberagent::verify_chain(&refs, T0 + 1, None, None).unwrap();
    assert_eq!(g.delegator, k[0].public_key());
    assert_eq!(g.delegate, k[3].public_key());
    assert_eq!((g.root, g.leaf, g.depth), (ids[0], ids[2], 3));
    assert_eq!((g.total_cap, g.task_cap, g.not_before, g.expires_at), (400, 50, T0, T0 + HOUR));
    let st = |r: cyberagent::Result<cyberagent::ChainInfo>| r.unwrap_err().status();
    assert_eq!(st(cyberagent::verify_chain(&refs, T0 - 1, None, None)), status::CA_ERR_NOT_YET_VALID);
    assert_eq!(st(cyberagent::verify_chain(&refs, T0 + HOUR + 1, None, None)), status::CA_ERR_EXPIRED);
    assert_eq!(
        st(cyberagent::verify_chain(&refs[1..], T0 + 1, None, None)),
        status::CA_ERR_DELEGATION_PARENT
    );
    assert_eq!(st(cyberagent::verify_chain(&[], T0, None, None)), status::CA_ERR_INVALID_ARGUMENT);

    let widen: Vec<(fn(&mut DelegationParams), i32)> = vec![
        (|p| p.capabilities = vec!["llm.*".into()], status::CA_ERR_DELEGATION_CAPABILITY),
        (|p| p.total_cap = 501, status::CA_ERR_DELEGATION_TOTAL_CAP),
        (|p| p.task_cap = 51, status::CA_ERR_DELEGATION_TASK_CAP),
        (|p| p.not_before = T0 - HOUR - 1, status::CA_ERR_DELEGATION_WINDOW),
        (|p| p.expires_at = T0 + 12 * HOUR + 1, status::CA_ERR_DELEGATION_WINDOW),
    ];
    for (change, want) in widen {
        let mut t = good();
        change(&mut t[2]);
        let (links, _) = chain(&k, &t);
        let refs: Vec<&Delegation> = links.iter().collect();
        assert_eq!(st(cyberagent::verify_chain(&refs, T0 + 1, None, None)), want);
        assert!(cyberagent::verify_chain(&refs[..2], T0 + 1, None, None).is_ok());
    }
    // Issued by someone other than the previous audience.
    let mut p = good().remove(1);
    p.audience = k[3].public_key();
    p.parent = Some(ids[0]);
    let (other, _) = cyberagent::sign_delegation(&k[2], &p).unwrap();
    let other = Delegation::decode(&other).unwrap();
    assert_eq!(
        st(cyberagent::verify_chain(&[&links[0], &other], T0 + 1, None, None)),
        status::CA_ERR_DELEGATION_AUDIENCE
    );
}

#[test]
fn revocations() {
    let k = keys(4);
    let (links, ids) = chain(&k, &good());
    let refs: Vec<&Delegation> = links.iter().collect();
    let rev = cyberagent::sign_revocation(&k[1], &ids[2], T0, T0 + HOUR).unwrap();
    let info = cyberagent::revocation_open(&rev).unwrap();
    assert_eq!((info.revoker, info.delegation), (k[1].public_key(), ids[2]));
    assert_eq!(cyberagent::revocation_decode(&rev).unwrap(), info);
    let mut set = RevocationSet::new(8).unwrap();
    set.add(&rev).unwrap();
    set.add(&rev).unwrap();
    assert_eq!(set.len(), 1);
    assert!(set.contains(&ids[2], &k[1].public_key()));
    assert!(!set.contains(&ids[2], &k[2].public_key()));
    let err = cyberagent::verify_chain(&refs, T0 + 1, Some(&set), None).unwrap_err();
    assert_eq!(err.status(), status::CA_ERR_DELEGATION_REVOKED);
    assert!(cyberagent::verify_chain(&refs[..2], T0 + 1, Some(&set), None).is_ok());
    // The lookup: revoked link 1 by the delegator.
    let calls = std::cell::Cell::new(0);
    let lookup = |d: &Hash, r: &cyberagent::PublicKey| {
        calls.set(calls.get() + 1);
        *d == ids[1] && *r == k[0].public_key()
    };
    let err = cyberagent::verify_chain(&refs, T0 + 1, None, Some(&lookup)).unwrap_err();
    assert_eq!(err.status(), status::CA_ERR_DELEGATION_REVOKED);
    assert!(calls.get() >= 2);
    let never = |_: &Hash, _: &cyberagent::PublicKey| false;
    assert!(cyberagent::verify_chain(&refs, T0 + 1, None, Some(&never)).is_ok());
    let mut bad = rev.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(set.add(&bad).unwrap_err().status(), status::CA_ERR_BAD_SIGNATURE);
}
