//! Constant-time evidence with dudect (Welch's t-test on the timings of two input classes).
//!
//! `dudect-bencher` rejects the flag `cargo bench` passes, so this runs as an example:
//!
//! ```text
//! cargo run --release --example dudect                      # every pair, 10 million samples each
//! DUDECT_SAMPLES=1000000 cargo run --release --example dudect -- --filter first_vs_last
//! ```
//!
//! A pair passes when |max t| < 5. `leaky_slice_eq` is a deliberately leaky comparison (`==` on
//! byte slices, which stops at the first difference): it must fail, showing the harness sees a
//! leak of that size. Results are recorded in BENCHMARKS.md.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a measuring program with fixed set-up"
)]

use std::hint::black_box;

use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main};
use temporary_access_pass::{
    ALPHABET, Client, CreatePassRequest, DirectoryRole, IncludeTarget, IssueContext, Pepper,
    Policy, PolicySettings, PolicyState, Principal, RecordParts, RedeemSettings, SignInContext,
    TemporaryAccessPass, UserId, issue, redeem, verify_without_pass,
};
use time::{Duration, UtcDateTime, macros::utc_datetime};

const NOW: UtcDateTime = utc_datetime!(2021-03-11 06:00:00);

fn samples() -> usize {
    std::env::var("DUDECT_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

struct Fixture {
    policy: Policy,
    user: Principal,
    pepper: Pepper,
    pass: TemporaryAccessPass,
    code: String,
}

fn fixture() -> Fixture {
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include(IncludeTarget::AllUsers),
    )
    .unwrap();
    let admin = Principal::member(UserId::new("admin").unwrap())
        .with_role(DirectoryRole::GlobalAdministrator);
    let user = Principal::member(UserId::new("user").unwrap());
    let pepper = Pepper::new(&[0x42; 32]).unwrap();
    let issued = issue(
        &IssueContext::new(&policy, &admin, &user).pepper(Some(&pepper)),
        &CreatePassRequest::new().usable_once(false),
        NOW,
        &mut getrandom::SysRng,
    )
    .unwrap();
    let code = issued.created.passcode.expose_secret().to_owned();
    Fixture {
        policy,
        user,
        pepper,
        pass: issued.record,
        code,
    }
}

fn random_code(rng: &mut BenchRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A different alphabet character than `c`.
fn other_than(c: u8, rng: &mut BenchRng) -> u8 {
    loop {
        let pick = ALPHABET[rng.random_range(0..ALPHABET.len())];
        if pick != c {
            return pick;
        }
    }
}

fn class(rng: &mut BenchRng) -> Class {
    if rng.random::<bool>() {
        Class::Left
    } else {
        Class::Right
    }
}

/// The right code (left) against random wrong codes of the same length (right).
fn right_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    for _ in 0..samples() {
        let c = class(rng);
        let typed = match c {
            Class::Left => f.code.clone(),
            Class::Right => random_code(rng, f.code.len()),
        };
        runner.run_one(c, || f.pass.verify_code(Some(&f.pepper), black_box(&typed)));
    }
}

/// Wrong codes that differ from the right one at the first character (left) or only at the
/// last (right).
fn first_vs_last_mismatch(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    for _ in 0..samples() {
        let c = class(rng);
        let mut typed = f.code.clone().into_bytes();
        let at = match c {
            Class::Left => 0,
            Class::Right => typed.len() - 1,
        };
        typed[at] = other_than(typed[at], rng);
        let typed = String::from_utf8(typed).unwrap();
        runner.run_one(c, || f.pass.verify_code(Some(&f.pepper), black_box(&typed)));
    }
}

/// A wrong code for a user who holds a pass (left) against one for a user who holds none
/// (right, the dummy path).
fn known_user_vs_no_pass(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let length = f.policy.default_length();
    for _ in 0..samples() {
        let c = class(rng);
        let typed = random_code(rng, length.get());
        if matches!(c, Class::Left) {
            runner.run_one(c, || f.pass.verify_code(Some(&f.pepper), black_box(&typed)));
        } else {
            runner.run_one(c, || {
                verify_without_pass(Some(&f.pepper), length, black_box(&typed))
            });
        }
    }
}

/// A redemption with a wrong code on a locked pass (left) against one on an open pass (right).
fn locked_vs_open(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let mut parts: RecordParts = f.pass.clone().into_parts();
    parts.failed_attempts = 10;
    parts.locked_until = Some(NOW + Duration::minutes(30));
    let locked = TemporaryAccessPass::from_parts(parts).unwrap();
    let settings = RedeemSettings::new(Some(&f.pepper));
    let ctx = SignInContext::new(Client::Browser);
    let at = NOW + Duration::minutes(1);
    for _ in 0..samples() {
        let c = class(rng);
        let typed = random_code(rng, f.code.len());
        let record = match c {
            Class::Left => &locked,
            Class::Right => &f.pass,
        };
        runner.run_one(c, || {
            redeem(
                &f.policy,
                &settings,
                &f.user,
                Some(record),
                black_box(&typed),
                &ctx,
                at,
            )
        });
    }
}

/// On a locked pass, the right code (left) against wrong codes (right): a lock must not reveal
/// whether the code was right (SPEC 6.4).
fn locked_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let mut parts: RecordParts = f.pass.clone().into_parts();
    parts.failed_attempts = 10;
    parts.locked_until = Some(NOW + Duration::minutes(30));
    let locked = TemporaryAccessPass::from_parts(parts).unwrap();
    let settings = RedeemSettings::new(Some(&f.pepper));
    let ctx = SignInContext::new(Client::Browser);
    let at = NOW + Duration::minutes(1);
    for _ in 0..samples() {
        let c = class(rng);
        let typed = match c {
            Class::Left => f.code.clone(),
            Class::Right => random_code(rng, f.code.len()),
        };
        runner.run_one(c, || {
            redeem(&f.policy, &settings, &f.user, Some(&locked), black_box(&typed), &ctx, at)
        });
    }
}

/// Deliberately leaky: `==` on 4 KiB byte slices that differ at the first byte (left) or the
/// last (right). This pair must fail.
fn leaky_slice_eq(runner: &mut CtRunner, rng: &mut BenchRng) {
    let reference = vec![0x5a_u8; 4096];
    for _ in 0..samples() {
        let c = class(rng);
        let mut other = reference.clone();
        let at = match c {
            Class::Left => 0,
            Class::Right => other.len() - 1,
        };
        other[at] ^= 1;
        runner.run_one(c, || black_box(&reference[..]) == black_box(&other[..]));
    }
}

ctbench_main!(
    right_vs_wrong_code,
    first_vs_last_mismatch,
    known_user_vs_no_pass,
    locked_vs_open,
    locked_right_vs_wrong,
    leaky_slice_eq
);
