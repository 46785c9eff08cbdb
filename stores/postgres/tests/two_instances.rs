//! Two OS processes, two instances of a service with a pool of their own each, race on one
//! PostgreSQL database. Every round, both redeem one one-time pass at once (exactly one grant in
//! all) and both type a burst of wrong codes for one multi-use pass (exactly the limit judged,
//! the rest refused as locked, the stored count at the limit). 1,000 rounds by default
//! (`TAP_RACE_ROUNDS` to change it).
//!
//! `harness = false`: run by `cargo test`, this program is the coordinator; it starts itself
//! twice more with `TAP_RACE_INSTANCE` set, and those are the instances. The coordinator sends
//! each instance `<user> <code> <attempts>` on its standard input, to both before reading
//! either answer; an instance runs the attempts as concurrent tasks and answers how many were
//! granted, refused as wrong codes, as locked, as used, and anything else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "a test program: it counts small fixed arrays, reports on standard output and fails by panicking"
)]

use temporary_access_pass_testkit::postgres as support;

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;

use temporary_access_pass::signin::{Client, Lockout, RedeemRefusal};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{
    AsyncEngine, BlockCause, CreateRequest, DirectoryRole, EngineConfig, IncludeTarget, Pepper,
    PolicySettings, PolicyState, Principal, SignInRequest, SysRng, SystemClock, Usability, UserId,
};
use temporary_access_pass_postgres::{PgStore, pool};

const INSTANCE: &str = "TAP_RACE_INSTANCE";
const TENANT: &str = "race";
/// Attempts each instance makes on the one-time pass of a round.
const REDEEMS: usize = 4;
/// Wrong codes each instance types in a round's burst.
const GUESSES: usize = 16;
/// Connections in each instance's pool.
const CONNECTIONS: usize = 8;

fn engine(store: PgStore) -> AsyncEngine<SystemClock, PgStore> {
    let pepper = Pepper::new(b"the pepper both instances read from the vault").unwrap();
    AsyncEngine::new(SystemClock::new(), store, EngineConfig::new(pepper))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An instance: answers each request line with the outcomes of its concurrent attempts.
fn instance(schema: &str) {
    let runtime = runtime();
    let mut config = support::server();
    config.options(format!("-c search_path={schema}"));
    let store = PgStore::new(pool(config, CONNECTIONS).unwrap(), TENANT).unwrap();
    let engine = Arc::new(engine(store));
    let browser = SignInRequest::new(Client::Browser);
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let [user, code, attempts] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("instance: bad request {line:?}");
        };
        let user = Principal::member(UserId::new(user).unwrap());
        let attempts: usize = attempts.parse().unwrap();
        let counts = runtime.block_on(async {
            let tasks: Vec<_> = (0..attempts)
                .map(|_| {
                    let (engine, user, code) = (engine.clone(), user.clone(), code.to_owned());
                    tokio::spawn(async move { engine.redeem(&user, &code, browser).await })
                })
                .collect();
            let mut counts = [0_usize; 5];
            for task in tasks {
                let slot = match task.await.unwrap().map(|r| r.outcome) {
                    Ok(Ok(_)) => 0,
                    Ok(Err(RedeemRefusal::WrongCode { .. })) => 1,
                    Ok(Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(
                        BlockCause::Locked { .. },
                    )))) => 2,
                    Ok(Err(RedeemRefusal::Unusable(Usability::OneTimeUsed { .. }))) => 3,
                    Ok(Err(_)) | Err(_) => 4,
                };
                counts[slot] += 1;
            }
            counts
        });
        let line: Vec<String> = counts.iter().map(ToString::to_string).collect();
        writeln!(out, "{}", line.join(" ")).unwrap();
        out.flush().unwrap();
    }
}

struct Instance {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Instance {
    fn start(schema: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(INSTANCE, schema)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            input,
            output,
        }
    }

    fn send(&mut self, user: &UserId, code: &str, attempts: usize) {
        writeln!(self.input, "{} {code} {attempts}", user.as_str()).unwrap();
        self.input.flush().unwrap();
    }

    fn answer(&mut self) -> [usize; 5] {
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        let counts: Vec<usize> = line
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        counts
            .try_into()
            .unwrap_or_else(|_| panic!("an instance answered {line:?} (it may have crashed)"))
    }
}

/// Both instances make `attempts` attempts each with `code` for `user`, at once. Their answers
/// summed: grants, wrong codes, locked refusals, used refusals, anything else.
fn race(instances: &mut [Instance; 2], user: &UserId, code: &str, attempts: usize) -> [usize; 5] {
    for instance in instances.iter_mut() {
        instance.send(user, code, attempts);
    }
    let (a, b) = (instances[0].answer(), instances[1].answer());
    core::array::from_fn(|i| a[i] + b[i])
}

fn coordinator() {
    let rounds: u32 = std::env::var("TAP_RACE_ROUNDS").map_or(1_000, |r| r.parse().unwrap());
    let runtime = runtime();
    let scratch = runtime.block_on(support::Scratch::new("two_instances"));
    let store = runtime.block_on(scratch.store(2, TENANT));
    let engine = engine(store.clone());
    let admin = Principal::member(UserId::new("ga@contoso.com").unwrap())
        .role(DirectoryRole::GlobalAdministrator);
    let all_users = PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers);
    let _ = runtime
        .block_on(engine.update_policy(&admin, &all_users))
        .unwrap();
    let mut instances = [
        Instance::start(&scratch.name),
        Instance::start(&scratch.name),
    ];
    let limit = usize::try_from(Lockout::DEFAULT_MAX_ATTEMPTS).unwrap();
    let mut failures = Vec::new();
    for round in 0..rounds {
        // One one-time pass, redeemed from both instances at once.
        let user = Principal::member(UserId::new(&format!("once-{round}@contoso.com")).unwrap());
        let request = CreateRequest::new().is_usable_once(true);
        let created = runtime
            .block_on(engine.create(&admin, &user, &request, &mut SysRng))
            .unwrap();
        let code = created.passcode.expose_secret();
        let [grants, wrong, locked, used, other] = race(&mut instances, user.id(), code, REDEEMS);
        if grants != 1 || used != 2 * REDEEMS - 1 || wrong + locked + other != 0 {
            failures.push(format!(
                "round {round}: one-time pass: {grants} grants, {used} refused as used, {wrong} wrong, {locked} locked, {other} other"
            ));
        }

        // One burst of wrong codes on a multi-use pass, from both instances at once.
        let user = Principal::member(UserId::new(&format!("burst-{round}@contoso.com")).unwrap());
        let request = CreateRequest::new().is_usable_once(false);
        let _ = runtime
            .block_on(engine.create(&admin, &user, &request, &mut SysRng))
            .unwrap();
        let [grants, wrong, locked, used, other] =
            race(&mut instances, user.id(), "not-the-code", GUESSES);
        let stored = runtime
            .block_on(store.load(user.id()))
            .unwrap()
            .record
            .map(|r| r.value.failed_attempts());
        if wrong != limit || locked != 2 * GUESSES - limit || grants + used + other != 0 {
            failures.push(format!(
                "round {round}: burst: {wrong} judged, {locked} locked, {grants} grants, {used} used, {other} other (limit {limit})"
            ));
        }
        if stored != Some(Lockout::DEFAULT_MAX_ATTEMPTS) {
            failures.push(format!("round {round}: burst: stored count {stored:?}"));
        }
    }
    for instance in instances {
        drop(instance.input);
        let status = { instance.child }.wait().unwrap();
        assert!(status.success(), "an instance exited with {status}");
    }
    drop(scratch);
    println!(
        "two instances, {rounds} rounds: one one-time pass ({} attempts) and one burst of {} wrong codes per round",
        2 * REDEEMS,
        2 * GUESSES
    );
    assert!(
        failures.is_empty(),
        "{} broken guarantees in {rounds} rounds: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
    println!("exactly one grant per one-time pass, exactly {limit} judged per burst: ok");
}

fn main() {
    match std::env::var(INSTANCE) {
        Ok(schema) => instance(&schema),
        Err(_) => coordinator(),
    }
}
