//! Envelopes through the safe API: the docs/WIRE.md vectors byte for byte,
//! errors, sealing, compression, replay guard, thread sharing.

use std::collections::HashMap;

use cyberagent::{
    sign_envelope, status, Envelope, EnvelopeOptions, EnvelopeParams, Identity, ReplayGuard,
    ReplayGuardOptions,
};

const T0: u64 = 1_700_000_000_000;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn opt(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        None
    } else {
        Some(unhex(s))
    }
}

fn arr32(v: &[u8]) -> [u8; 32] {
    let mut a = [0u8; 32];
    a.copy_from_slice(v);
    a
}

fn vectors() -> Vec<HashMap<String, String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../tests/vectors/envelope_vectors.txt");
    let text = std::fs::read_to_string(path).expect("envelope vectors");
    let mut out = Vec::new();
    let mut cur = HashMap::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let mut parts = line.splitn(2, " = ");
        let k = parts.next().unwrap().trim().to_string();
        let v = parts.next().unwrap_or("").trim().to_string();
        cur.insert(k, v);
    }
    out
}

#[test]
fn wire_vectors_byte_for_byte() {
    let vs = vectors();
    assert!(vs.len() >= 5);
    for v in &vs {
        let signer = Identity::from_seed(&arr32(&unhex(&v["seed"]))).unwrap();
        assert_eq!(signer.did(), v["sender_did"], "{}", v["name"]);
        let body = opt(&v["body"]).unwrap_or_default();
        let recipient = opt(&v["recipient"]).map(|r| arr32(&r));
        let parent = opt(&v["parent"]).map(|p| arr32(&p));
        let sign_flags: u32 = v["sign_flags"].parse().unwrap();
        let created: u64 = v["created_at"].parse().unwrap();
        let env_bytes = unhex(&v["envelope"]);
        if v["mode"] == "sign" {
            let mut p =
                EnvelopeParams::new(v["kind"].parse().unwrap(), created, v["expires_at"].parse().unwrap());
            p.recipient = recipient.as_ref();
            p.parent = parent.as_ref();
            p.compress = sign_flags & cyberagent::sys::CA_ENVELOPE_COMPRESS != 0;
            p.seal = sign_flags & cyberagent::sys::CA_ENVELOPE_SEAL != 0;
            let (bytes, id) = sign_envelope(&signer, &p, &body).unwrap();
            assert_eq!(bytes, env_bytes, "{}", v["name"]);
            assert_eq!(id.to_vec(), unhex(&v["id"]), "{}", v["name"]);
        }
        // With the default options: the lifetime cap (vector field verify_default).
        match Envelope::open(&env_bytes, created, None) {
            Ok(_) => assert_eq!(v["verify_default"], "CA_OK", "{}", v["name"]),
            Err(err) => assert_eq!(err.name(), v["verify_default"], "{}", v["name"]),
        }
        let uncapped = EnvelopeOptions { max_lifetime_ms: Some(u64::MAX), ..Default::default() };
        let e = Envelope::open(&env_bytes, created, Some(&uncapped)).unwrap();
        assert_eq!(e.kind(), v["kind"].parse::<u32>().unwrap());
        assert_eq!(e.sender(), signer.public_key());
        assert_eq!(e.recipient(), recipient);
        assert_eq!(e.parent(), parent);
        assert_eq!(e.flags(), v["flags"].parse::<u32>().unwrap());
        assert_eq!(e.id().to_vec(), unhex(&v["id"]));
        assert_eq!(e.encoded().unwrap(), env_bytes);
        assert_eq!(e.signature().to_vec(), env_bytes[env_bytes.len() - 64..].to_vec());
        let reader = opt(&v["reader_seed"]).map(|s| Identity::from_seed(&arr32(&s)).unwrap());
        match e.body(reader.as_ref(), None) {
            Ok(got) => {
                assert_eq!(v["body_status"], "CA_OK", "{}", v["name"]);
                assert_eq!(got, body, "{}", v["name"]);
            }
            Err(err) => assert_eq!(err.name(), v["body_status"], "{}", v["name"]),
        }
        let signed = unhex(&v["signed"]);
        // The envelope signature covers these bytes, and is never an application
        // signature over them, under any tag.
        for tag in [&b"example.com/chat/v1"[..], &signed[..10], b"c"] {
            assert_eq!(cyberagent::verify_detached(&e.sender(), tag, &signed, &e.signature()), Ok(false));
        }
    }
}

#[test]
fn errors_and_options() {
    let me = Identity::generate().unwrap();
    let (bytes, _) = sign_envelope(&me, &EnvelopeParams::new(16, T0, T0 + 1000), b"hello").unwrap();
    let e = Envelope::decode(&bytes, None).unwrap();
    assert_eq!(e.verify(T0 + 1000 + 30_001, None).unwrap_err().status(), status::CA_ERR_EXPIRED);
    let strict = EnvelopeOptions { max_skew_ms: Some(0), ..Default::default() };
    assert_eq!(e.verify(T0 + 1001, Some(&strict)).unwrap_err().status(), status::CA_ERR_EXPIRED);
    assert_eq!(e.verify(T0 - 30_001, None).unwrap_err().status(), status::CA_ERR_NOT_YET_VALID);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(Envelope::decode(&trailing, None).unwrap_err().status(), status::CA_ERR_MALFORMED);
    assert!(Envelope::open(&[], T0, None).is_err());
    assert!(sign_envelope(&me, &EnvelopeParams::new(0, T0, T0 + 1), b"").is_err());
    assert_eq!(cyberagent::kind_name(cyberagent::sys::CA_KIND_APP_MIN), None);
    assert!(cyberagent::kind_name(16).is_some());
    assert!(bytes.len() <= cyberagent::envelope_bound(5));
    assert!(format!("{:?}", e).contains(&me.did()));
}

#[test]
fn sealed_and_compressed() {
    let (alice, bob, eve) =
        (Identity::generate().unwrap(), Identity::generate().unwrap(), Identity::generate().unwrap());
    let body = vec![b'z'; 50_000];
    let bob_key = bob.public_key();
    let mut p = EnvelopeParams::new(19, T0, T0 + 1000);
    p.recipient = Some(&bob_key);
    p.seal = true;
    p.compress = true;
    let (bytes, _) = sign_envelope(&alice, &p, &body).unwrap();
    assert!(bytes.len() < 2000);
    let e = Envelope::open(&bytes, T0, None).unwrap();
    assert_eq!(e.body(Some(&bob), None).unwrap(), body);
    assert_eq!(e.body(Some(&eve), None).unwrap_err().status(), status::CA_ERR_SEALED);
    let small = EnvelopeOptions { max_body_bytes: Some(100), ..Default::default() };
    assert!(e.body(Some(&bob), Some(&small)).is_err());
}

#[test]
fn resigned_sealed_box_does_not_open() {
    // Vector award-sealed-resigned: Alice's sealed box in an envelope Mallory signed.
    let vs = vectors();
    let by = |n: &str| vs.iter().find(|v| v["name"] == n).unwrap().clone();
    let (alice_v, mallory_v) = (by("award-sealed"), by("award-sealed-resigned"));
    let bob = Identity::from_seed(&arr32(&unhex(&alice_v["reader_seed"]))).unwrap();
    let now: u64 = alice_v["created_at"].parse().unwrap();
    let alice_env = Envelope::open(&unhex(&alice_v["envelope"]), now, None).unwrap();
    let mallory_env = Envelope::open(&unhex(&mallory_v["envelope"]), now, None).unwrap();
    assert_ne!(alice_env.sender(), mallory_env.sender());
    assert_eq!(alice_env.body(Some(&bob), None).unwrap(), unhex(&alice_v["body"]));
    let err = mallory_env.body(Some(&bob), None).unwrap_err();
    assert_eq!(err.status(), status::CA_ERR_SEAL_MISMATCH);
}

#[test]
fn max_lifetime() {
    let me = Identity::generate().unwrap();
    let day = cyberagent::sys::CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT;
    let (forever, _) = sign_envelope(&me, &EnvelopeParams::new(16, T0, u64::MAX), b"f").unwrap();
    assert_eq!(Envelope::open(&forever, T0, None).unwrap_err().status(), status::CA_ERR_LIFETIME);
    let uncapped = EnvelopeOptions { max_lifetime_ms: Some(u64::MAX), ..Default::default() };
    Envelope::open(&forever, T0, Some(&uncapped)).unwrap();
    let (a_day, _) = sign_envelope(&me, &EnvelopeParams::new(16, T0, T0 + day), b"d").unwrap();
    let e = Envelope::open(&a_day, T0, None).unwrap();
    let shorter = EnvelopeOptions { max_lifetime_ms: Some(day - 1), ..Default::default() };
    assert_eq!(e.verify(T0, Some(&shorter)).unwrap_err().status(), status::CA_ERR_LIFETIME);
}

#[test]
fn replay_guard() {
    let (me, other) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let mut g = ReplayGuard::with_options(&ReplayGuardOptions {
        capacity: Some(1),
        max_skew_ms: Some(0),
        ..Default::default()
    })
    .unwrap();
    assert!(g.is_empty());
    let (a, _) = sign_envelope(&me, &EnvelopeParams::new(16, T0, T0 + 1000), b"a").unwrap();
    let (b, _) = sign_envelope(&other, &EnvelopeParams::new(16, T0, T0 + 1000), b"b").unwrap();
    let a = Envelope::open(&a, T0, None).unwrap();
    let b = Envelope::open(&b, T0, None).unwrap();
    g.check(&a, T0).unwrap();
    assert_eq!(g.check(&a, T0).unwrap_err().status(), status::CA_ERR_REPLAY);
    assert_eq!(g.check(&b, T0).unwrap_err().status(), status::CA_ERR_REPLAY_FULL);
    assert_eq!(g.len(), 1);
    let bad = ReplayGuardOptions { capacity: Some(4), max_per_sender: Some(5), ..Default::default() };
    assert_eq!(ReplayGuard::with_options(&bad).unwrap_err().status(), status::CA_ERR_INVALID_ARGUMENT);
}

#[test]
fn replay_guard_one_sender_cannot_fill() {
    let (mallory, alice) = (Identity::generate().unwrap(), Identity::generate().unwrap());
    let mut g = ReplayGuard::new(64, 30_000).unwrap();
    let day = cyberagent::sys::CA_ENVELOPE_MAX_LIFETIME_MS_DEFAULT;
    let mut kept = 0;
    for i in 0..40u32 {
        let (m, _) =
            sign_envelope(&mallory, &EnvelopeParams::new(16, T0, T0 + day), &i.to_le_bytes()).unwrap();
        match g.check(&Envelope::open(&m, T0, None).unwrap(), T0) {
            Ok(()) => kept += 1,
            Err(e) => assert_eq!(e.status(), status::CA_ERR_REPLAY_QUOTA),
        }
    }
    assert_eq!(kept, 64 / 16);
    let (h, _) = sign_envelope(&alice, &EnvelopeParams::new(16, T0, T0 + 1000), b"honest").unwrap();
    g.check(&Envelope::open(&h, T0, None).unwrap(), T0).unwrap();
    assert_eq!(g.len(), 5);
}

#[test]
fn envelope_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}
    assert_send_sync::<Envelope>();
    assert_send::<ReplayGuard>();
    let me = Identity::generate().unwrap();
    let (bytes, _) = sign_envelope(&me, &EnvelopeParams::new(16, T0, T0 + 1000), &[7u8; 256]).unwrap();
    let e = std::sync::Arc::new(Envelope::open(&bytes, T0, None).unwrap());
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    e.verify(T0, None).unwrap();
                    assert_eq!(e.body(None, None).unwrap(), vec![7u8; 256]);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}
