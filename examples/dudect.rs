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
    ALPHABET, Client, CreatePassRequest, DigestKey, DirectoryRole, IncludeTarget, IssueContext,
    Pepper, Policy, PolicySettings, PolicyState, Principal, RecordParts, RedeemSettings,
    Redemption, SignInContext, TemporaryAccessPass, UserId, issue, redeem,
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
    pepper: DigestKey,
    pass: TemporaryAccessPass,
    code: String,
}

impl Fixture {
    /// A browser redemption of `typed` against `record`, a minute after the pass starts.
    fn redeem(&self, record: &TemporaryAccessPass, typed: &str) -> Redemption {
        redeem(
            &self.policy,
            &RedeemSettings::new(&self.pepper),
            &self.user,
            Some(record),
            typed,
            &SignInContext::new(Client::Browser),
            NOW + Duration::minutes(1),
        )
    }
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
    let pepper = DigestKey::from(Pepper::new(&[0x42; 32]).unwrap());
    let issued = issue(
        &IssueContext::new(&policy, &pepper, &admin, &user),
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

/// Inputs drawn per batch, before any of the batch is measured.
const BATCH: usize = 100_000;

/// Measures `measure` on `samples()` inputs made by `make`, in batches whose classes and inputs
/// are all drawn first: between two measurements the harness does the same work (take the next
/// prepared input) whatever the class, so only `measure` can tell the classes apart.
fn batched<I, O>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    make: impl FnMut(Class, &mut BenchRng) -> I,
    measure: impl Fn(&I) -> O,
) {
    batched2(runner, rng, make, &measure, &measure);
}

/// As [`batched`], with one function per class, chosen outside the timed region.
fn batched2<I, L, R>(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    mut make: impl FnMut(Class, &mut BenchRng) -> I,
    left_fn: impl Fn(&I) -> L,
    right_fn: impl Fn(&I) -> R,
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
            match c {
                Class::Left => runner.run_one(*c, || left_fn(black_box(input))),
                Class::Right => runner.run_one(*c, || right_fn(black_box(input))),
            }
        }
        left -= n;
    }
}

/// The fixture's pass, locked for half an hour after ten wrong codes.
fn locked(f: &Fixture) -> TemporaryAccessPass {
    let mut parts: RecordParts = f.pass.clone().into_parts();
    parts.failed_attempts = 10;
    parts.locked_until = Some(NOW + Duration::minutes(30));
    TemporaryAccessPass::from_parts(parts).unwrap()
}

/// The right code (left) against random wrong codes of the same length (right).
fn right_vs_wrong_code(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    batched(
        runner,
        rng,
        |c, rng| match c {
            Class::Left => f.code.clone(),
            Class::Right => random_code(rng, f.code.len()),
        },
        |typed| f.pass.verify_code(&f.pepper, typed),
    );
}

/// The right code (left) against one fixed wrong code (right): both classes repeat one input,
/// so only rightness differs. Together with `right_vs_wrong_code` this separates "is the code
/// right" from "is the input the same every time".
fn right_vs_fixed_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let wrong = random_code(rng, f.code.len());
    batched(
        runner,
        rng,
        |c, _| match c {
            Class::Left => f.code.clone(),
            Class::Right => wrong.clone(),
        },
        |typed| f.pass.verify_code(&f.pepper, typed),
    );
}

/// Wrong codes that differ from the right one at the first character (left) or only at the
/// last (right).
fn first_vs_last_mismatch(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    batched(
        runner,
        rng,
        |c, rng| {
            let mut typed = f.code.clone().into_bytes();
            let at = match c {
                Class::Left => 0,
                Class::Right => typed.len() - 1,
            };
            typed[at] = other_than(typed[at], rng);
            String::from_utf8(typed).unwrap()
        },
        |typed| f.pass.verify_code(&f.pepper, typed),
    );
}

/// A wrong code for a user who holds a pass (left) against one for a user who holds none
/// (right): the whole pure decision, which judges a dummy record for the latter.
fn known_user_vs_no_pass(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let length = f.policy.default_length();
    batched(
        runner,
        rng,
        |c, rng| (matches!(c, Class::Left), random_code(rng, length.get())),
        |(known, typed)| {
            let record = known.then_some(&f.pass);
            redeem(
                &f.policy,
                &RedeemSettings::new(&f.pepper),
                &f.user,
                record,
                typed,
                &SignInContext::new(Client::Browser),
                NOW + Duration::minutes(1),
            )
        },
    );
}

/// A redemption with a wrong code on a locked pass (left) against one on an open pass (right).
/// The two take different paths by design (an open pass counts the wrong code and may lock);
/// the answer itself says "locked", so the timing tells nothing the response does not.
fn locked_vs_open(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let locked = locked(&f);
    batched2(
        runner,
        rng,
        |_, rng| random_code(rng, f.code.len()),
        |typed| f.redeem(&locked, typed),
        |typed| f.redeem(&f.pass, typed),
    );
}

/// On a locked pass, the right code (left) against wrong codes (right): a lock must not reveal
/// whether the code was right (SPEC 6.4).
fn locked_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let f = fixture();
    let locked = locked(&f);
    batched(
        runner,
        rng,
        |c, rng| match c {
            Class::Left => f.code.clone(),
            Class::Right => random_code(rng, f.code.len()),
        },
        |typed| f.redeem(&locked, typed),
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
    );
}

ctbench_main!(
    right_vs_wrong_code,
    right_vs_fixed_wrong,
    first_vs_last_mismatch,
    known_user_vs_no_pass,
    locked_vs_open,
    locked_right_vs_wrong,
    leaky_slice_eq
);
