//! Usability, policy validation, creation and engine redemption, each beside the primitive it
//! wraps (BENCHMARKS.md). `cargo bench -p temporary-access-pass-benches --bench core`.
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
use std::time::{Duration as StdDuration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use temporary_access_pass::hazmat::compute_digest;
use temporary_access_pass::signin::{Client, Lockout};
use temporary_access_pass::{
    AsyncEngine, CreateContext, CreateRequest, DigestKey, DirectoryRole, Engine, EngineConfig,
    InMemoryStore, IncludeTarget, Passcode, Pepper, Policy, PolicySettings, PolicyState, Principal,
    SignInRequest, UserId, create,
};
use time::{Duration, macros::utc_datetime};

const SECRET: [u8; 32] = [0x42; 32];

fn policy() -> Policy {
    Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers),
    )
    .unwrap()
}

fn admin() -> Principal {
    Principal::member(UserId::new("admin@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator)
}

fn usability(c: &mut Criterion) {
    let policy = policy();
    let user = Principal::member(UserId::new("user@contoso.com").unwrap());
    let now = utc_datetime!(2021-03-11 06:00:00);
    let pass = create(
        &CreateContext::new(&policy, &DigestKey::unkeyed(), &admin(), &user),
        &CreateRequest::new(),
        now,
        &mut getrandom::SysRng,
    )
    .unwrap()
    .record;
    let at = now + Duration::minutes(5);
    let mut g = c.benchmark_group("usability");
    g.bench_function("ours/evaluate (usable)", |b| {
        b.iter(|| pass.usability(black_box(&policy), black_box(&user), black_box(at)));
    });
    g.bench_function("primitive/window check", |b| {
        let (start, end) = (pass.start(), pass.end());
        b.iter(|| {
            let t = black_box(at);
            start <= t && t < end
        });
    });
    g.finish();
}

fn policy_validation(c: &mut Criterion) {
    let settings = PolicySettings::new()
        .state(PolicyState::Enabled)
        .minimum_lifetime_minutes(60)
        .default_lifetime_minutes(120)
        .maximum_lifetime_minutes(480)
        .include_target(IncludeTarget::AllUsers);
    let mut g = c.benchmark_group("policy");
    g.bench_function("ours/Policy::new", |b| {
        b.iter_batched(
            || settings.clone(),
            |s| Policy::new(black_box(s)),
            criterion::BatchSize::SmallInput,
        );
    });
    g.bench_function("primitive/naive range check", |b| {
        b.iter(|| {
            let (min, def, max, len) = black_box((60_u32, 120_u32, 480_u32, 8_u32));
            let r = |m: u32| (10..=43_200).contains(&m);
            r(min) && r(def) && r(max) && (8..=48).contains(&len) && min <= def && def <= max
        });
    });
    g.finish();
}

fn creation(c: &mut Criterion) {
    let policy = policy();
    let admin = admin();
    let user = Principal::member(UserId::new("user@contoso.com").unwrap());
    let pepper = DigestKey::from(Pepper::new(&SECRET).unwrap());
    let now = utc_datetime!(2021-03-11 06:00:00);
    let ctx = CreateContext::new(&policy, &pepper, &admin, &user);
    let mut g = c.benchmark_group("create");
    g.bench_function("ours/issue (id, code, salt, digest)", |b| {
        b.iter(|| create(&ctx, &CreateRequest::new(), now, &mut getrandom::SysRng).unwrap());
    });
    g.bench_function("primitive/generate code + digest", |b| {
        let id = temporary_access_pass::PassId::from_bytes([1; 16]);
        b.iter(|| {
            let code = Passcode::generate(policy.default_length(), &mut getrandom::SysRng).unwrap();
            compute_digest(&pepper, &[2; 16], &id, code.expose_secret().as_bytes())
        });
    });
    g.finish();
}

/// A clock that always reads the same instant: the engine's own cost, without the host clock's.
struct Fixed(time::UtcDateTime);
impl temporary_access_pass::Clock for Fixed {
    fn now(&self) -> time::UtcDateTime {
        self.0
    }
}

/// Polls a future that completes at once (the in-memory store's).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn config_for_bench() -> EngineConfig {
    EngineConfig::new(Pepper::new(&SECRET).unwrap())
        .lockout(Lockout::new(1000, Duration::MINUTE).unwrap())
}

fn engine_redeem(c: &mut Criterion) {
    let clock = Fixed(utc_datetime!(2021-03-11 06:00:00));
    let engine = Engine::new(&clock, InMemoryStore::new(), config_for_bench());
    let _ = engine
        .update_policy(&admin(), &policy().settings())
        .unwrap();
    let user = Principal::member(UserId::new("user@contoso.com").unwrap());
    let issued = engine
        .create(
            &admin(),
            &user,
            &CreateRequest::new().is_usable_once(false),
            &mut getrandom::SysRng,
        )
        .unwrap();
    let code = issued.passcode.expose_secret().to_owned();
    let ctx = SignInRequest::new(Client::Browser);
    let pepper = DigestKey::from(Pepper::new(&SECRET).unwrap());
    let pass = issued.record;

    let mut g = c.benchmark_group("engine redeem");
    g.bench_function("reference/verify", |b| {
        b.iter(|| pass.verify_code(&pepper, black_box(&code)));
    });
    g.bench_function("ours/right code", |b| {
        b.iter(|| engine.redeem(&user, black_box(&code), ctx).unwrap());
    });
    // The same plan through the async driver, over the same kind of store, polled in place
    // (the in-memory store's futures are ready at once): what the async driver itself costs.
    let async_engine = AsyncEngine::new(&clock, InMemoryStore::new(), config_for_bench());
    let _ = ready(async_engine.update_policy(&admin(), &policy().settings())).unwrap();
    let async_code = ready(async_engine.create(
        &admin(),
        &user,
        &CreateRequest::new().is_usable_once(false),
        &mut getrandom::SysRng,
    ))
    .unwrap()
    .passcode
    .expose_secret()
    .to_owned();
    g.bench_function("ours/right code, async driver", |b| {
        b.iter(|| ready(async_engine.redeem(&user, black_box(&async_code), ctx)).unwrap());
    });
    // Wrong codes count towards the lock: reset with a right code every 500 attempts, untimed.
    g.bench_function("ours/wrong code", |b| {
        b.iter_custom(|iters| {
            let mut total = StdDuration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(500);
                let _ = engine.redeem(&user, &code, ctx).unwrap();
                let start = Instant::now();
                for _ in 0..chunk {
                    let _ = black_box(engine.redeem(&user, black_box("WRONGxx9"), ctx).unwrap());
                }
                total += start.elapsed();
                left -= chunk;
            }
            total
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    usability,
    policy_validation,
    creation,
    engine_redeem
);
criterion_main!(benches);
