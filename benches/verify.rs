//! Verification and digest benches, each beside the primitives it wraps, measured in the same
//! run so overhead reads as a ratio (BENCHMARKS.md).
//! `cargo bench -p temporary-access-pass-benches --bench verify`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "bench set-up; a bench times itself with the wall clock"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use temporary_access_pass::hazmat::compute_digest;
use temporary_access_pass::{
    CreateContext, CreateRequest, DigestKey, DirectoryRole, IncludeTarget, PassId, Pepper, Policy,
    PolicySettings, PolicyState, Principal, TemporaryAccessPass, UserId, create,
};
use time::macros::utc_datetime;

const SECRET: [u8; 32] = [0x42; 32];

fn key() -> DigestKey {
    DigestKey::from(Pepper::new(&SECRET).unwrap())
}

fn issued(length: u32) -> (String, TemporaryAccessPass) {
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers)
            .default_length(length),
    )
    .unwrap();
    let admin =
        Principal::member(UserId::new("admin").unwrap()).role(DirectoryRole::GlobalAdministrator);
    let user = Principal::member(UserId::new("user").unwrap());
    let key = key();
    let ctx = CreateContext::new(&policy, &key, &admin, &user);
    let issued = create(
        &ctx,
        &CreateRequest::new(),
        utc_datetime!(2021-03-11 06:00:00),
        &mut getrandom::SysRng,
    )
    .unwrap();
    (issued.passcode.expose_secret().to_owned(), issued.record)
}

/// The 82 bytes the crate digests for `code` (see `CodeDigest`'s layout).
fn message(pass: &TemporaryAccessPass, code: &str) -> Vec<u8> {
    let mut m = vec![0x03];
    m.extend_from_slice(pass.code_digest().salt());
    m.extend_from_slice(pass.id().as_bytes());
    let mut slot = code.as_bytes().to_vec();
    slot.resize(48, 0);
    m.extend_from_slice(&slot);
    m.push(u8::try_from(code.len()).unwrap());
    m
}

fn verify(c: &mut Criterion) {
    let (code, pass) = issued(8);
    let key = key();
    let mut wrong = code.clone().into_bytes();
    wrong[7] = if wrong[7] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).unwrap();
    let keyed = Hmac::<Sha256>::new_from_slice(&SECRET).unwrap();
    let msg = message(&pass, &code);
    let stored = *pass.code_digest().digest();

    let mut g = c.benchmark_group("verify");
    g.bench_function("ours/right code", |b| {
        b.iter(|| pass.verify_code(&key, black_box(&code)));
    });
    g.bench_function("ours/wrong code", |b| {
        b.iter(|| pass.verify_code(&key, black_box(&wrong)));
    });
    g.bench_function("ours/wrong length", |b| {
        b.iter(|| pass.verify_code(&key, black_box("ABCDEFGHJKLMN")));
    });
    g.bench_function(
        "baseline/prekeyed hmac over the same 82 bytes + ct_eq",
        |b| {
            b.iter(|| {
                let mut mac = keyed.clone();
                mac.update(black_box(&msg));
                let out: [u8; 32] = mac.finalize().into_bytes().into();
                bool::from(out.ct_eq(&stored))
            });
        },
    );
    // The same, with the 82 bytes assembled on the stack for each call, as any verification of
    // a typed code must: the cost of building the input apart from the crate's own choices
    // (its fixed-size slot loop and the wipe of the input afterwards).
    let (salt, id) = (*pass.code_digest().salt(), *pass.id());
    g.bench_function(
        "baseline/prekeyed hmac, the 82 bytes assembled per call + ct_eq",
        |b| {
            b.iter(|| {
                let typed = black_box(code.as_bytes());
                let mut input = [0_u8; 82];
                input[0] = 0x03;
                input[1..17].copy_from_slice(&salt);
                input[17..33].copy_from_slice(id.as_bytes());
                let n = typed.len().min(48);
                input[33..33 + n].copy_from_slice(&typed[..n]);
                input[81] = u8::try_from(typed.len()).unwrap();
                let mut mac = keyed.clone();
                mac.update(&input);
                let out: [u8; 32] = mac.finalize().into_bytes().into();
                bool::from(out.ct_eq(&stored))
            });
        },
    );
    // The fixed input needs two inner blocks (64-byte key block absorbed in advance, then 82
    // bytes and padding) and one outer block that needs the inner result: the floor for any
    // HMAC of this input built on sha2's compression function.
    g.bench_function("floor/three compressions (inner two, then outer)", |b| {
        let inner_blocks = [[0x36_u8; 64], [0x11_u8; 64]];
        b.iter(|| {
            let mut inner = [0x6a09_e667_u32; 8];
            sha2::block_api::compress256(&mut inner, black_box(&inner_blocks));
            let mut outer_block = [[0x5c_u8; 64]];
            for (chunk, word) in outer_block[0].as_chunks_mut::<4>().0.iter_mut().zip(inner) {
                *chunk = word.to_be_bytes();
            }
            let mut outer = [0xbb67_ae85_u32; 8];
            sha2::block_api::compress256(&mut outer, &outer_block);
            outer
        });
    });
    g.finish();
}

fn digest(c: &mut Criterion) {
    let key = key();
    let keyed = Hmac::<Sha256>::new_from_slice(&SECRET).unwrap();
    let mut g = c.benchmark_group("digest");
    for length in [8_u32, 16, 48] {
        let (code, pass) = issued(length);
        let msg = message(&pass, &code);
        let salt = *pass.code_digest().salt();
        let id: PassId = *pass.id();
        g.bench_with_input(BenchmarkId::new("ours", length), &code, |b, code| {
            b.iter(|| compute_digest(&key, &salt, &id, black_box(code.as_bytes())));
        });
        g.bench_with_input(
            BenchmarkId::new("baseline prekeyed hmac", length),
            &msg,
            |b, msg| {
                b.iter(|| {
                    let mut mac = keyed.clone();
                    mac.update(black_box(msg));
                    let out: [u8; 32] = mac.finalize().into_bytes().into();
                    out
                });
            },
        );
    }
    g.finish();
}

criterion_group!(benches, verify, digest);
criterion_main!(benches);
