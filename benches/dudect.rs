//! Constant-time evidence with dudect (Welch's t-test on the timings of two input classes),
//! for the whole sign-in decision (SPEC 6.2): the pure `redeem` and the engine's redeem over
//! `InMemoryStore`, pair by pair, beside the digest alone and a deliberately leaky control.
//!
//! ```text
//! cargo run --release -p temporary-access-pass-benches --bin dudect   # every pair, 10 M samples
//! DUDECT_SAMPLES=1000000 cargo run --release -p temporary-access-pass-benches --bin dudect -- --filter engine_
//! ```
//!
//! A pair passes when |max t| < 5. `leaky_slice_eq` (`==` on byte slices, which stops at the
//! first difference) must fail, showing the harness sees a leak of that size. Results are
//! recorded in BENCHMARKS.md.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a measuring program with fixed set-up"
)]

mod pairs;

use std::hint::black_box;

use dudect_bencher::rand::RngExt;
use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main};
use pairs::{
    CREATED, NOW, Pure, Stored, engine_fixture, grouped, key, large_policy, locked, pass,
    principal, pure_fixture, samples, small_policy,
};
use temporary_access_pass::time::{Duration, UtcDateTime};
use temporary_access_pass::{Passcode, Principal, TemporaryAccessPass};

fn random_code(rng: &mut BenchRng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(Passcode::ALPHABET[rng.random_range(0..Passcode::ALPHABET.len())]))
        .collect()
}

fn class(rng: &mut BenchRng) -> Class {
    if rng.random::<bool>() {
        Class::Left
    } else {
        Class::Right
    }
}

/// Inputs drawn per batch, before any of the batch is measured.
const BATCH: usize = 100_000;

/// Measures `measure` on `samples()` inputs made by `make`, in batches whose classes and inputs
/// are all drawn first, and runs `after` (the same work whatever the class) after each
/// measurement: between two measurements the harness does the same work, so only `measure` can
/// tell the classes apart.
fn batched<I, O>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    mut make: impl FnMut(Class, &mut BenchRng) -> I,
    measure: impl Fn(&I) -> O,
    mut after: impl FnMut(),
) {
    let mut left = samples();
    let mut batch = Vec::with_capacity(BATCH.min(left));
    while left > 0 {
        let n = left.min(BATCH);
        batch.clear();
        for _ in 0..n {
            let c = class(rng);
            let input = make(c, rng);
            batch.push((c, input));
        }
        for (c, input) in &batch {
            runner.run_one(*c, || measure(black_box(input)));
            after();
        }
        left -= n;
    }
}

/// Runs a pure pair: class Left judges `left` (with its own `now`), Right judges `right`, both
/// with a fresh random wrong code of `len` characters unless `typed` says otherwise.
fn pure_pair(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    pure: &Pure,
    left: (Option<&TemporaryAccessPass>, UtcDateTime),
    right: (Option<&TemporaryAccessPass>, UtcDateTime),
    typed: impl Fn(Class, &mut BenchRng) -> String,
) {
    batched(
        runner,
        rng,
        |c, rng| (c, typed(c, rng)),
        |(c, code)| {
            let (record, now) = match c {
                Class::Left => left,
                Class::Right => right,
            };
            pure.redeem(record, code, now)
        },
        || {},
    );
}

/// A user without a pass (left) against a wrong code for one who holds one (right).
fn redeem_no_pass_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    pure_pair(
        runner,
        rng,
        &pure,
        (None, NOW),
        (Some(&record), NOW),
        |_, rng| random_code(rng, code.len()),
    );
}

/// A wrong code on an expired pass (left) against one on a usable pass (right).
fn redeem_expired_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    let (_, expired) = pass(&pure.policy, &pure.user, CREATED - Duration::hours(2), 60);
    pure_pair(
        runner,
        rng,
        &pure,
        (Some(&expired), NOW),
        (Some(&record), NOW),
        |_, rng| random_code(rng, code.len()),
    );
}

/// A wrong code on a locked pass (left) against one on an open pass (right).
fn redeem_locked_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    let locked = locked(&record);
    pure_pair(
        runner,
        rng,
        &pure,
        (Some(&locked), NOW),
        (Some(&record), NOW),
        |_, rng| random_code(rng, code.len()),
    );
}

/// The right code (left) against random wrong codes (right), on one usable pass.
fn redeem_right_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    pure_pair(
        runner,
        rng,
        &pure,
        (Some(&record), NOW),
        (Some(&record), NOW),
        |c, rng| match c {
            Class::Left => code.clone(),
            Class::Right => random_code(rng, code.len()),
        },
    );
}

/// Under a policy of length 8: a record of length 48 (issued before the policy changed, left)
/// against one of length 8 (right), wrong codes of the policy's length.
fn redeem_length_48_vs_8(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    let (_, long) = pass(&small_policy(48), &pure.user, CREATED, 60);
    pure_pair(
        runner,
        rng,
        &pure,
        (Some(&long), NOW),
        (Some(&record), NOW),
        |_, rng| random_code(rng, code.len()),
    );
}

/// A user in 20 groups under a policy of 200 excluded groups (left) against a user in none
/// under a policy of one target (right). This pair may differ: the scope check reads the
/// policy's targets and the user's groups, which are the same for every sign-in of that user
/// and say nothing about the pass.
fn redeem_large_vs_small_policy(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (small, code, record) = pure_fixture();
    let large = Pure {
        policy: large_policy(),
        key: key(),
        user: grouped("user"),
    };
    batched(
        runner,
        rng,
        |c, rng| (c, random_code(rng, code.len())),
        |(c, typed)| match c {
            Class::Left => large.redeem(Some(&record), typed, NOW),
            Class::Right => small.redeem(Some(&record), typed, NOW),
        },
        || {},
    );
}

/// An engine pair: Left signs in as `left`, Right as `right`, typed codes from `typed`.
fn engine_pair(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    stored: &Stored,
    left: &Principal,
    right: &Principal,
    typed: impl Fn(Class, &mut BenchRng) -> String,
) {
    batched(
        runner,
        rng,
        |c, rng| (c, typed(c, rng)),
        |(c, code)| match c {
            Class::Left => stored.redeem(left, code),
            Class::Right => stored.redeem(right, code),
        },
        || stored.restore(),
    );
}

fn engine_no_pass_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (policy, user, code, record) = engine_fixture();
    let nobody = principal("nobo");
    let stored = Stored::new(&policy, vec![(user.clone(), record)]);
    engine_pair(runner, rng, &stored, &nobody, &user, |_, rng| {
        random_code(rng, code.len())
    });
}

fn engine_expired_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (policy, user, code, record) = engine_fixture();
    let late = principal("late");
    let (_, expired) = pass(&policy, &late, CREATED - Duration::hours(2), 60);
    let stored = Stored::new(
        &policy,
        vec![(user.clone(), record), (late.clone(), expired)],
    );
    engine_pair(runner, rng, &stored, &late, &user, |_, rng| {
        random_code(rng, code.len())
    });
}

fn engine_locked_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (policy, user, code, record) = engine_fixture();
    let jammed = principal("jamd");
    let (_, theirs) = pass(&policy, &jammed, CREATED, 60);
    let stored = Stored::new(
        &policy,
        vec![(user.clone(), record), (jammed.clone(), locked(&theirs))],
    );
    engine_pair(runner, rng, &stored, &jammed, &user, |_, rng| {
        random_code(rng, code.len())
    });
}

fn engine_right_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (policy, user, code, record) = engine_fixture();
    let stored = Stored::new(&policy, vec![(user.clone(), record)]);
    engine_pair(runner, rng, &stored, &user, &user, |c, rng| match c {
        Class::Left => code.clone(),
        Class::Right => random_code(rng, code.len()),
    });
}

fn engine_length_48_vs_8(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (policy, user, code, record) = engine_fixture();
    let long = principal("long");
    let (_, theirs) = pass(&small_policy(48), &long, CREATED, 60);
    let stored = Stored::new(
        &policy,
        vec![(user.clone(), record), (long.clone(), theirs)],
    );
    engine_pair(runner, rng, &stored, &long, &user, |_, rng| {
        random_code(rng, code.len())
    });
}

/// As `redeem_large_vs_small_policy`, through two engines. May differ, for the same reason.
fn engine_large_vs_small_policy(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (policy, user, code, record) = engine_fixture();
    let small = Stored::new(&policy, vec![(user.clone(), record.clone())]);
    let many = grouped("user");
    let large = Stored::new(&large_policy(), vec![(many.clone(), record)]);
    batched(
        runner,
        rng,
        |c, rng| (c, random_code(rng, code.len())),
        |(c, typed)| match c {
            Class::Left => large.redeem(&many, typed),
            Class::Right => small.redeem(&user, typed),
        },
        || {
            small.restore();
            large.restore();
        },
    );
}

/// The digest alone: the right code (left) against random wrong codes (right).
fn verify_right_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    batched(
        runner,
        rng,
        |c, rng| match c {
            Class::Left => code.clone(),
            Class::Right => random_code(rng, code.len()),
        },
        |typed| record.verify_code(&pure.key, typed),
        || {},
    );
}

/// The digest alone: wrong codes that differ from the right one at the first character (left)
/// or only at the last (right).
fn verify_first_vs_last_mismatch(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (pure, code, record) = pure_fixture();
    batched(
        runner,
        rng,
        |c, rng| {
            let mut typed = code.clone().into_bytes();
            let at = match c {
                Class::Left => 0,
                Class::Right => typed.len() - 1,
            };
            loop {
                let pick = Passcode::ALPHABET[rng.random_range(0..Passcode::ALPHABET.len())];
                if pick != typed[at] {
                    typed[at] = pick;
                    break;
                }
            }
            String::from_utf8(typed).unwrap()
        },
        |typed| record.verify_code(&pure.key, typed),
        || {},
    );
}

/// Deliberately leaky: `==` on 4 KiB byte slices that differ from the reference at the first
/// byte (left) or the last (right). This pair must fail.
fn leaky_slice_eq(runner: &mut CtRunner, rng: &mut BenchRng) {
    let reference = vec![0x5a_u8; 4096];
    batched(
        runner,
        rng,
        |c, _| match c {
            Class::Left => 0,
            Class::Right => reference.len() - 1,
        },
        |at| {
            let mut other = [0x5a_u8; 4096];
            other[*at] ^= 1;
            reference[..] == other[..]
        },
        || {},
    );
}

ctbench_main!(
    redeem_no_pass_vs_wrong_code,
    redeem_expired_vs_wrong_code,
    redeem_locked_vs_wrong_code,
    redeem_right_vs_wrong_code,
    redeem_length_48_vs_8,
    redeem_large_vs_small_policy,
    engine_no_pass_vs_wrong_code,
    engine_expired_vs_wrong_code,
    engine_locked_vs_wrong_code,
    engine_right_vs_wrong_code,
    engine_length_48_vs_8,
    engine_large_vs_small_policy,
    verify_right_vs_wrong_code,
    verify_first_vs_last_mismatch,
    leaky_slice_eq
);
