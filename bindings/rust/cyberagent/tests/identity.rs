//! Identity through the safe API: RFC 8032 test 1, did:key, key files, threads.

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
    assert_eq!(
        hex(&me.sign(b"").unwrap()),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    assert_eq!(me.export_seed().unwrap(), SEED);
}

#[test]
fn sign_verify_and_tamper() {
    let me = Identity::generate().unwrap();
    let sig = me.sign(b"hello").unwrap();
    assert_eq!(cyberagent::verify_detached(&me.public_key(), b"hello", &sig), Ok(true));
    let mut bad = sig;
    bad[5] ^= 1;
    assert_eq!(cyberagent::verify_detached(&me.public_key(), b"hello", &bad), Ok(false));
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
    std::fs::remove_dir_all(&dir).unwrap();
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
    assert_eq!(cyberagent::version_string(), "0.1.0");
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
                    let sig = me.sign(m.as_bytes()).unwrap();
                    assert!(cyberagent::verify_detached(&me.public_key(), m.as_bytes(), &sig).unwrap());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
