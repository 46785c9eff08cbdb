//! The dudect pairs as criterion means (BENCHMARKS.md): for each pair of inputs the
//! constant-time harness compares, the mean time of each side, measured interleaved (each timed
//! call of one side is followed by an untimed call of the other), so both run under the same
//! cache and branch-predictor conditions and the two means read side by side in nanoseconds.
//! `cargo bench -p temporary-access-pass-benches --bench classes`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::cast_possible_truncation,
    reason = "bench set-up; a bench times itself with the wall clock"
)]

mod pairs;

use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use pairs::{
    CREATED, NOW, Pure, Stored, engine_fixture, grouped, key, large_policy, locked, pass,
    principal, pure_fixture, small_policy,
};
use temporary_access_pass::Passcode;
use temporary_access_pass::time::Duration;

/// 1,024 wrong codes of `len` characters, drawn once, cycled through by the measurements.
fn wrong_codes(len: usize) -> Vec<String> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..1024)
        .map(|_| {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(Passcode::ALPHABET[(state % 56) as usize])
                })
                .collect()
        })
        .collect()
}

/// Measures `left` and `right` interleaved: the mean of `left` with a `right` call after each,
/// untimed, then the other way round. Each is called with the iteration number.
fn interleaved(
    g: &mut BenchmarkGroup<'_, WallTime>,
    pair: &str,
    (left_name, left): (&str, &dyn Fn(usize)),
    (right_name, right): (&str, &dyn Fn(usize)),
) {
    for (name, timed, other) in [(left_name, left, right), (right_name, right, left)] {
        g.bench_function(format!("{pair}/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = StdDuration::ZERO;
                for i in 0..iters as usize {
                    let start = Instant::now();
                    timed(i);
                    total += start.elapsed();
                    other(i);
                }
                total
            });
        });
    }
}

fn pure(c: &mut Criterion) {
    let (pure, code, record) = pure_fixture();
    let wrong = wrong_codes(code.len());
    let w = |i: usize| &wrong[i % wrong.len()];
    let (_, expired) = pass(&pure.policy, &pure.user, CREATED - Duration::hours(2), 60);
    let jammed = locked(&record);
    let (_, long) = pass(&small_policy(48), &pure.user, CREATED, 60);
    let large = Pure {
        policy: large_policy(),
        key: key(),
        user: grouped("user"),
    };
    let mut g = c.benchmark_group("pure redeem pairs");
    let open = |i: usize| {
        let _ = black_box(pure.redeem(Some(&record), black_box(w(i)), NOW));
    };
    interleaved(
        &mut g,
        "no pass vs wrong code",
        ("no pass", &|i| {
            let _ = black_box(pure.redeem(None, black_box(w(i)), NOW));
        }),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "expired vs wrong code",
        ("expired", &|i| {
            let _ = black_box(pure.redeem(Some(&expired), black_box(w(i)), NOW));
        }),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "locked vs wrong code",
        ("locked", &|i| {
            let _ = black_box(pure.redeem(Some(&jammed), black_box(w(i)), NOW));
        }),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "right vs wrong code",
        ("right code", &|_| {
            let _ = black_box(pure.redeem(Some(&record), black_box(&code), NOW));
        }),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "length 48 vs 8",
        ("length 48", &|i| {
            let _ = black_box(pure.redeem(Some(&long), black_box(w(i)), NOW));
        }),
        ("length 8", &open),
    );
    interleaved(
        &mut g,
        "large vs small policy",
        ("large", &|i| {
            let _ = black_box(large.redeem(Some(&record), black_box(w(i)), NOW));
        }),
        ("small", &open),
    );
    g.finish();
}

fn engine(c: &mut Criterion) {
    let (policy, user, code, record) = engine_fixture();
    let wrong = wrong_codes(code.len());
    let w = |i: usize| &wrong[i % wrong.len()];
    let nobody = principal("nobo");
    let late = principal("late");
    let (_, expired) = pass(&policy, &late, CREATED - Duration::hours(2), 60);
    let jammed = principal("jamd");
    let (_, theirs) = pass(&policy, &jammed, CREATED, 60);
    let long = principal("long");
    let (_, long_record) = pass(&small_policy(48), &long, CREATED, 60);
    let stored = Stored::new(
        &policy,
        vec![
            (user.clone(), record.clone()),
            (late.clone(), expired),
            (jammed.clone(), locked(&theirs)),
            (long.clone(), long_record),
        ],
    );
    let many = grouped("user");
    let large = Stored::new(&large_policy(), vec![(many.clone(), record)]);
    // Each call puts the records back afterwards, the same work whatever the side.
    let sign_in = |store: &Stored, who: &temporary_access_pass::Principal, typed: &str| {
        let _ = black_box(store.redeem(who, black_box(typed)));
        store.restore();
    };
    let open = |i: usize| sign_in(&stored, &user, w(i));
    let mut g = c.benchmark_group("engine redeem pairs");
    interleaved(
        &mut g,
        "no pass vs wrong code",
        ("no pass", &|i| sign_in(&stored, &nobody, w(i))),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "expired vs wrong code",
        ("expired", &|i| sign_in(&stored, &late, w(i))),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "locked vs wrong code",
        ("locked", &|i| sign_in(&stored, &jammed, w(i))),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "right vs wrong code",
        ("right code", &|_| sign_in(&stored, &user, &code)),
        ("wrong code", &open),
    );
    interleaved(
        &mut g,
        "length 48 vs 8",
        ("length 48", &|i| sign_in(&stored, &long, w(i))),
        ("length 8", &open),
    );
    interleaved(
        &mut g,
        "large vs small policy",
        ("large", &|i| sign_in(&large, &many, w(i))),
        ("small", &open),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(3));
    targets = pure, engine
}
criterion_main!(benches);
