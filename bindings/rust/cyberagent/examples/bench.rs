//! `cargo run --release --example bench`: prints `name value unit` lines.
//!
//! rust_envelope_verify_ratio (goal <= 1.02): verify+decode of a typical task
//! envelope (task.bid with recipient and parent, 256-byte body, 64 signers
//! rotating, as in ca-bench) through the safe API (`Envelope::open` + drop)
//! divided by the same C calls made directly (`ca_envelope_open` +
//! `ca_envelope_free` through cyberagent-sys, which is a plain C call), in the
//! same process and run. Operations alternate one by one; each round's ratio
//! is median / median, the figure the median over rounds (CA_BENCH_ROUNDS,
//! default 5; CA_BENCH_QUICK shortens).

use std::ptr;
use std::time::Instant;

use cyberagent::{sign_envelope, sys, Envelope, EnvelopeParams, Identity};

const NOW: u64 = 1_700_000_000_000;
const KEYS: usize = 64;

fn median(v: &mut Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn env_rounds() -> usize {
    std::env::var("CA_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).filter(|&r| r > 0).unwrap_or(5)
}

fn quick() -> bool {
    std::env::var("CA_BENCH_QUICK").map(|s| !s.is_empty() && s != "0").unwrap_or(false)
}

fn typical() -> Vec<Vec<u8>> {
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut rnd = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state & 0xff) as u8
    };
    (0..KEYS)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[0] = i as u8;
            seed[1] = 0xe7;
            let me = Identity::from_seed(&seed).unwrap();
            let mut rcpt = me.public_key();
            rcpt[0] ^= 1;
            let parent: [u8; 32] = std::array::from_fn(|_| rnd());
            let body: Vec<u8> = (0..256).map(|_| rnd()).collect();
            let mut p = EnvelopeParams::new(sys::CA_KIND_TASK_BID, NOW + i as u64, NOW + 600_000);
            p.recipient = Some(&rcpt);
            p.parent = Some(&parent);
            sign_envelope(&me, &p, &body).unwrap().0
        })
        .collect()
}

fn op_binding(d: &[u8]) {
    let e = Envelope::open(d, NOW, None).expect("verify");
    drop(black_box(e));
}

fn op_c(d: &[u8]) {
    let mut p = ptr::null_mut();
    // SAFETY: d is valid for its length; p receives a handle freed right after.
    unsafe {
        assert_eq!(sys::ca_envelope_open(&mut p, d.as_ptr(), d.len(), NOW, ptr::null()), sys::CA_OK);
        sys::ca_envelope_free(black_box(p));
    }
}

/// `std::hint::black_box` is 1.66+; a volatile read does the same job on 1.63.
fn black_box<T>(x: T) -> T {
    // SAFETY: reads a valid, initialized value; the original is forgotten, so nothing is dropped twice.
    let y = unsafe { ptr::read_volatile(&x) };
    std::mem::forget(x);
    y
}

fn main() {
    let envs = typical();
    let ops = if quick() { 400 } else { 2000 };
    for d in &envs {
        op_binding(d);
        op_c(d);
    }
    let mut ratios = Vec::new();
    let mut rates = Vec::new();
    for _ in 0..env_rounds() {
        let (mut tb, mut tc) = (Vec::with_capacity(ops), Vec::with_capacity(ops));
        for k in 0..ops {
            let d = &envs[k % KEYS];
            if k % 2 == 0 {
                let t0 = Instant::now();
                op_binding(d);
                let t1 = Instant::now();
                op_c(d);
                let t2 = Instant::now();
                tb.push((t1 - t0).as_secs_f64());
                tc.push((t2 - t1).as_secs_f64());
            } else {
                let t0 = Instant::now();
                op_c(d);
                let t1 = Instant::now();
                op_binding(d);
                let t2 = Instant::now();
                tc.push((t1 - t0).as_secs_f64());
                tb.push((t2 - t1).as_secs_f64());
            }
        }
        let (mb, mc) = (median(&mut tb), median(&mut tc));
        ratios.push(mb / mc);
        rates.push(1.0 / mb);
    }
    println!("rust_envelope_verify_ratio {:.6} x", median(&mut ratios));
    println!("rust_envelope_verify_per_s {:.6} ops/s", median(&mut rates));
}
