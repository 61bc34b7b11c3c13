//! Key rotation through the safe API: a 16-rotation chain, key windows, the
//! envelope window rule, and the recovery drill (thief cannot rotate; after the
//! owner's rotation its messages are refused, the owner's accepted, the id kept).

use cyberagent::keyhistory::{self, KeyHistory, FOREVER};
use cyberagent::{sign_envelope, status, Envelope, EnvelopeParams, Identity};

const T0: u64 = 1_700_000_000_000;
const MIN: u64 = 60_000;
const APP: u32 = 0x10000;

fn key(n: u8) -> Identity {
    let mut seed = [0u8; 32];
    seed[0] = 0x6b;
    seed[1] = n;
    Identity::from_seed(&seed).unwrap()
}

fn env(signer: &Identity, created: u64, expires: u64) -> Envelope {
    let (bytes, _) = sign_envelope(signer, &EnvelopeParams::new(APP, created, expires), b"hi").unwrap();
    Envelope::decode(&bytes, None).unwrap()
}

fn commit(id: &Identity) -> [u8; 32] {
    keyhistory::commitment(&id.public_key()).unwrap()
}

#[test]
fn chain_of_sixteen() {
    let keys: Vec<Identity> = (0..18).map(key).collect();
    let inception = keyhistory::incept(&keys[0], &commit(&keys[1]), T0).unwrap();
    let ev = keyhistory::open_event(&inception).unwrap();
    assert_eq!(ev.identifier, ev.digest);
    assert_eq!(ev.key, keys[0].public_key());
    let mut h = KeyHistory::new(&inception).unwrap();
    let id = h.id();
    assert_eq!(id, ev.digest);
    for i in 1..=16usize {
        let rot = h.rotate(&keys[i], &commit(&keys[i + 1]), T0 + i as u64 * MIN).unwrap();
        h.append(&rot).unwrap();
        assert_eq!(h.append(&rot).unwrap_err().status(), status::CA_ERR_KEY_EVENT_ORDER);
    }
    assert_eq!((h.id(), h.sequence(), h.current()), (id, 16, keys[16].public_key()));
    let w = h.key(&keys[3].public_key()).unwrap();
    assert_eq!((w.sequence, w.valid_from, w.valid_until, w.current), (3, T0 + 3 * MIN, T0 + 4 * MIN, false));
    assert_eq!(h.key(&keys[16].public_key()).unwrap().valid_until, FOREVER);
    assert_eq!(h.key(&keys[17].public_key()).unwrap_err().status(), status::CA_ERR_NOT_FOUND);
    h.verify_envelope(&env(&keys[3], T0 + 3 * MIN, T0 + 4 * MIN), T0 + 3 * MIN, None).unwrap();
    let e = h.verify_envelope(&env(&keys[3], T0 + 3 * MIN, T0 + 4 * MIN + 1), T0 + 3 * MIN, None);
    assert_eq!(e.unwrap_err().status(), status::CA_ERR_KEY_ROTATED);
}

#[test]
fn recovery_drill() {
    let (owner0, owner1, owner2, thief_next) = (key(20), key(21), key(22), key(66));
    let inception = keyhistory::incept(&owner0, &commit(&owner1), T0).unwrap();
    let mut verifier = KeyHistory::new(&inception).unwrap();
    let id = verifier.id();
    let thief = Identity::from_seed(&owner0.export_seed().unwrap()).unwrap();
    let theft = T0 + 5 * MIN;
    verifier.verify_envelope(&env(&thief, theft, theft + MIN), theft, None).unwrap();
    let e = verifier.rotate(&thief, &commit(&thief_next), theft).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_KEY_NOT_COMMITTED);
    let r = T0 + 20 * MIN;
    let rot = verifier.rotate(&owner1, &commit(&owner2), r).unwrap();
    verifier.append(&rot).unwrap();
    let e = verifier.verify_envelope(&env(&thief, r + MIN, r + 2 * MIN), r + MIN, None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_KEY_ROTATED);
    let e = verifier.verify_envelope(&env(&thief, r - MIN, r + MIN), r, None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_KEY_ROTATED);
    verifier.verify_envelope(&env(&owner1, r + MIN, r + 2 * MIN), r + MIN, None).unwrap();
    assert_eq!((verifier.id(), verifier.current()), (id, owner1.public_key()));
    let stranger = key(99);
    let e = verifier.verify_envelope(&env(&stranger, r, r + MIN), r, None).unwrap_err();
    assert_eq!(e.status(), status::CA_ERR_KEY_UNKNOWN);
}
