//! Signed A2A v1.0 agent cards through the safe API (docs/PROTOCOL.md).

use cyberagent::{status, A2ACard, Capability, Card, CardParams, Envelope, Identity};

const T0: u64 = 1_700_000_000_000;
const RFC8032_SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44,
    0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];

/// The card of tests/vectors/a2a_card.json.
fn vector_card() -> (Identity, Card) {
    let me = Identity::from_seed(&RFC8032_SEED).unwrap();
    let params = CardParams {
        name: "Translator \u{20ac} \u{1F600}".into(),
        description: Some("EN\u{2192}FR\n\"quoted\"".into()),
        endpoint: "https://agent.example.com/cyberagent".into(),
        stake: 5_000_000,
        not_before: T0,
        not_after: 1_731_536_000_000,
        sequence: 3,
        capabilities: vec![
            Capability::new("llm.translate.en-fr", 120, 500),
            Capability::new("img.resize", 7, 0),
        ],
        created_at: T0,
    };
    let (bytes, _) = cyberagent::sign_card(&me, &params).unwrap();
    let card = Card::parse(&Envelope::decode(&bytes, None).unwrap()).unwrap();
    (me, card)
}

#[test]
fn a2a_vector_verify_native() {
    let (me, card) = vector_card();
    let json = card.to_a2a_signed_json(&me).unwrap();
    let want = include_str!("../../../../tests/vectors/a2a_card.json");
    assert_eq!(json, want.trim_end_matches('\n'));
    assert_eq!(cyberagent::jcs_canonicalize(&json).unwrap(), json);
    let a = A2ACard::verify(&json, None).unwrap();
    assert_eq!(a.signer(), me.public_key());
    let did = me.did();
    assert_eq!(a.kid(), format!("{}#{}", did, &did["did:key:".len()..]));
    assert_eq!((a.name(), a.version()), (card.name(), "3"));
    assert_eq!(a.interfaces(), vec![("https://agent.example.com/cyberagent", "CYBERAGENT/1", "1.0")]);
    assert_eq!(a.skills()[1], ("llm.translate.en-fr", "llm.translate.en-fr"));
    assert!(!a.payload().contains("signatures"));
    let native = a.native().unwrap();
    let back = Card::parse(&Envelope::decode(&native, None).unwrap()).unwrap();
    assert_eq!(back.message_id(), card.message_id());
    assert!(A2ACard::verify(&json, Some(&me.public_key())).is_ok());
    let other = Identity::generate().unwrap();
    assert_eq!(
        A2ACard::verify(&json, Some(&other.public_key())).unwrap_err().status(),
        status::CA_ERR_KEY_MISMATCH
    );
    assert_eq!(card.to_a2a_signed_json(&other).unwrap_err().status(), status::CA_ERR_KEY_MISMATCH);
}

#[test]
fn a2a_refusals_and_jcs() {
    let (me, card) = vector_card();
    let json = card.to_a2a_signed_json(&me).unwrap();
    let tampered = json.replace("\"version\":\"3\"", "\"version\":\"4\"");
    assert_eq!(A2ACard::verify(&tampered, None).unwrap_err().status(), status::CA_ERR_BAD_SIGNATURE);
    assert_eq!(A2ACard::verify("{\"a\":1,\"a\":2}", None).unwrap_err().status(), status::CA_ERR_JSON);
    assert_eq!(A2ACard::verify("[]", None).unwrap_err().status(), status::CA_ERR_A2A_CARD);
    let v03 = card.to_a2a_json().unwrap();
    assert_eq!(A2ACard::verify(&v03, None).unwrap_err().status(), status::CA_ERR_UNSUPPORTED);
    let at = json.find(",\"skills\"").unwrap();
    let start = json.find(",\"signatures\"").unwrap();
    let unsigned = format!("{}{}", &json[..start], &json[at..]);
    assert_eq!(A2ACard::verify(&unsigned, None).unwrap_err().status(), status::CA_ERR_JWS);
    // RFC 8785 section 3.2.3: names sorted by UTF-16 code units
    let sorted = cyberagent::jcs_canonicalize("{\"\\ufb33\":1,\"\\ud83d\\ude00\":2,\"\\u00f6\":3}").unwrap();
    assert_eq!(sorted, "{\"\u{f6}\":3,\"\u{1F600}\":2,\"\u{fb33}\":1}");
    assert_eq!(cyberagent::jcs_canonicalize("1.5").unwrap_err().status(), status::CA_ERR_UNSUPPORTED);
    assert_eq!(cyberagent::a2a_limits(), (65536, 32));
}
