//! Identity through the safe API: RFC 8032 test 1 key, application signatures
//! (known answer, tags, domain separation), did:key, key files, threads.

use cyberagent::{status, Identity, KeyfileOptions};

const SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44,
    0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}

fn fast() -> KeyfileOptions {
    KeyfileOptions { opslimit: Some(1), memlimit: Some(8192), ..KeyfileOptions::default() }
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn rfc8032_test1() {
    let me = Identity::from_seed(&SEED).unwrap();
    assert_eq!(hex(&me.public_key()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    // Application signature known answer (tests/unit/test_identity.c, computed with OpenSSL).
    assert_eq!(
        hex(&me.sign(b"example.com/chat/v1", b"hello").unwrap()),
        "22789cc47d32d6eea82b8619febb84bf32d01b1cfd7ffcfaa1ad0615f13b2baa2cb8e9cc20646ab6f891f708d8822028937a499eaa0f91b177e39ae9cf88540e"
    );
    assert_eq!(
        hex(&cyberagent::app_signed_bytes(b"example.com/chat/v1", b"hello").unwrap()),
        "63796265726167656e742f6170702f136578616d706c652e636f6d2f636861742f763168656c6c6f"
    );
    assert_eq!(me.export_seed().unwrap(), SEED);
}

#[test]
fn sign_verify_and_tamper() {
    let me = Identity::generate().unwrap();
    let pk = me.public_key();
    let sig = me.sign(b"t", b"hello").unwrap();
    assert_eq!(cyberagent::verify_detached(&pk, b"t", b"hello", &sig), Ok(true));
    assert_eq!(cyberagent::verify_detached(&pk, b"u", b"hello", &sig), Ok(false));
    let mut bad = sig;
    bad[5] ^= 1;
    assert_eq!(cyberagent::verify_detached(&pk, b"t", b"hello", &bad), Ok(false));
    // prefix-free: the same concatenation split elsewhere does not verify
    let sig = me.sign(b"ab", b"c").unwrap();
    assert_eq!(cyberagent::verify_detached(&pk, b"a", b"bc", &sig), Ok(false));
    assert_eq!(cyberagent::verify_detached(&pk, b"abc", b"", &sig), Ok(false));
}

#[test]
fn tags_are_checked() {
    let me = Identity::generate().unwrap();
    let sig = me.sign(b"t", b"m").unwrap();
    let longest = [b'x'; cyberagent::sys::CA_SIGN_TAG_MAX_BYTES];
    assert!(me.sign(&longest, b"m").is_ok());
    let too_long = [b'x'; cyberagent::sys::CA_SIGN_TAG_MAX_BYTES + 1];
    let bad: [&[u8]; 5] = [b"", &too_long, b"cyberagent/", b"cyberagent/1/ledger-op", b"cyberagent/app/"];
    for tag in bad {
        assert_eq!(me.sign(tag, b"m").unwrap_err().status(), status::CA_ERR_BAD_SIGN_TAG);
        let e = cyberagent::verify_detached(&me.public_key(), tag, b"m", &sig).unwrap_err();
        assert_eq!(e.name(), "CA_ERR_BAD_SIGN_TAG");
    }
}

#[test]
fn never_an_envelope_signature() {
    // An application signs, for a peer, exactly the bytes the library signs for an
    // envelope: spliced into the envelope, the signature does not verify.
    let me = Identity::generate().unwrap();
    let t0 = 1_700_000_000_000u64;
    let params = cyberagent::EnvelopeParams::new(16, t0, t0 + 60_000);
    let (env, _) = cyberagent::sign_envelope(&me, &params, b"pay the bearer").unwrap();
    let mut signed = b"cyberagent/1/16".to_vec();
    signed.push(env[0] - 1);
    signed.extend_from_slice(&env[1..env.len() - 67]);
    let mut forged = env.clone();
    let n = forged.len();
    forged[n - 64..].copy_from_slice(&me.sign(b"example.com/notary/v1", &signed).unwrap());
    let e = cyberagent::Envelope::open(&forged, t0 + 1, None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_BAD_SIGNATURE);
    assert!(cyberagent::Envelope::open(&env, t0 + 1, None).is_ok());
}

#[test]
fn did_roundtrip_and_errors() {
    let me = Identity::from_seed(&SEED).unwrap();
    let did = me.did();
    assert!(did.len() <= cyberagent::sys::CA_DID_MAX_CHARS);
    assert_eq!(cyberagent::did_parse(&did).unwrap(), me.public_key());
    assert_eq!(cyberagent::did_encode(&me.public_key()).unwrap(), did);
    for bad in ["", "did:web:x", &did[..did.len() - 1]] {
        let e = cyberagent::did_parse(bad).unwrap_err();
        assert_eq!(e.status(), status::CA_ERR_BAD_DID);
        assert!(!e.message().is_empty());
    }
    assert!(format!("{:?}", me).contains(&did));
    assert!(!format!("{:?}", me).contains(&hex(&SEED)));
}

#[test]
fn keyfiles() {
    let me = Identity::generate().unwrap();
    let blob = me.to_encrypted(b"pw", Some(&fast())).unwrap();
    assert_eq!(blob.len(), cyberagent::sys::CA_KEYFILE_BYTES);
    let back = Identity::from_encrypted(&blob, b"pw", None).unwrap();
    assert_eq!(back.public_key(), me.public_key());
    let e = Identity::from_encrypted(&blob, b"nope", None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_WRONG_PASSPHRASE);
    assert_eq!(e.name(), "CA_ERR_WRONG_PASSPHRASE");
    let e = Identity::from_encrypted(&blob[..10], b"pw", None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_KEYFILE_CORRUPT);

    let dir = std::env::temp_dir().join(format!("ca-rust-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agent.key");
    me.save(&path, b"pw", Some(&fast())).unwrap();
    assert_eq!(Identity::load(&path, b"pw", None).unwrap().public_key(), me.public_key());
    assert!(Identity::load(dir.join("missing"), b"pw", None).is_err());
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // Cost caps: the defaults are "moderate", a writer refuses what it could not read
    // back, a reader refuses a file above its caps (before deriving anything).
    assert_eq!(cyberagent::sys::CA_KEYFILE_MAX_OPSLIMIT_DEFAULT, 3);
    assert_eq!(cyberagent::sys::CA_KEYFILE_MAX_MEMLIMIT_DEFAULT, 256 << 20);
    let strong = KeyfileOptions { opslimit: Some(4), ..fast() };
    assert_eq!(
        me.to_encrypted(b"pw", Some(&strong)).unwrap_err().status(),
        status::CA_ERR_KEYFILE_TOO_COSTLY
    );
    let strong = KeyfileOptions { max_opslimit: Some(4), ..strong };
    let blob = me.to_encrypted(b"pw", Some(&strong)).unwrap();
    let e = Identity::from_encrypted(&blob, b"pw", None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_KEYFILE_TOO_COSTLY);
    assert_eq!(Identity::from_encrypted(&blob, b"pw", Some(&strong)).unwrap().public_key(), me.public_key());
}

#[test]
fn x25519_and_core() {
    let me = Identity::generate().unwrap();
    assert_eq!(me.x25519_public_key().unwrap(), cyberagent::x25519_public_key(&me.public_key()).unwrap());
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    assert_eq!(cyberagent::x25519_public_key(&not_a_point).unwrap_err().status(), status::CA_ERR_BAD_KEY);
    cyberagent::init().unwrap();
    assert_eq!(cyberagent::version_number(), cyberagent::sys::CA_VERSION_NUMBER);
    assert_eq!(cyberagent::version_string(), "1.0.0");
    assert_eq!(cyberagent::sizes(), [32, 32, 64, 32, 56, 128, 32]);
    assert!(cyberagent::equal(b"ab", b"ab"));
    assert!(!cyberagent::equal(b"ab", b"ac"));
    let mut s = *b"secret";
    cyberagent::wipe(&mut s);
    assert_eq!(s, [0u8; 6]);
    let _ = cyberagent::did_parse("x");
    assert!(!cyberagent::last_error().is_empty());
}

#[test]
fn identity_is_shared_across_threads() {
    assert_send_sync::<Identity>();
    let me = std::sync::Arc::new(Identity::generate().unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let me = me.clone();
            std::thread::spawn(move || {
                for i in 0..100u32 {
                    let m = format!("{}-{}", t, i);
                    let sig = me.sign(b"t", m.as_bytes()).unwrap();
                    assert!(cyberagent::verify_detached(&me.public_key(), b"t", m.as_bytes(), &sig).unwrap());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

/// LAST ERROR RULE (common.h): an Error carries the sentence of its own
/// failing call, read right after it, never an earlier failure's.
#[test]
fn each_error_carries_its_own_sentence() {
    let me = Identity::generate().unwrap();
    let first = cyberagent::did_parse("did:web:example.com").unwrap_err();
    assert_eq!(first.status(), status::CA_ERR_BAD_DID);
    assert!(first.message().contains("did:key"), "{}", first.message());
    let second = cyberagent::Envelope::decode(&[0x81, 0x00, 0xc1], None).unwrap_err();
    assert_eq!(second.status(), status::CA_ERR_MALFORMED);
    assert!(second.message().contains("malformed"), "{}", second.message());
    assert_ne!(first.message(), second.message());
    assert_eq!(cyberagent::last_error(), second.message());
    // Drop (ca_*_free) between a failure and the read never replaces the sentence.
    drop(me);
    assert_eq!(cyberagent::last_error(), second.message());
    // Successes never clear it: "" does not mean success.
    let rt = cyberagent::Routing::new(None).unwrap();
    assert_eq!(rt.count(), 0);
    assert!(!cyberagent::last_error().is_empty());
}
