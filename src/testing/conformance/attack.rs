//! Liveness under attack (SPEC 6.7): attackers stream wrong codes and a stolen right code at
//! one user while an administrator or the holder does something legitimate, over a store
//! whose reads are slowed down on purpose; no legitimate operation may give up for contention.
//! The lock of SPEC 6.4 may refuse the holder's own sign-in: that denial is documented, and
//! counted apart.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use time::UtcDateTime;

use super::slow::Slow;
use super::{NOW, admin, key, ok, race_policy, unique_user};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::{CreateError, CreateOptions, CreateRequest, CreatedPass};
use crate::engine::{Engine, EngineError};
use crate::policy::{PolicySettings, PolicyUpdate, UpdatePolicyError};
use crate::principal::Principal;
use crate::signin::{
    Client, Grant, PasswordlessMethod, RedeemRefusal, Redemption, RegistrationError, SignInRequest,
};
use crate::store::Store;
use crate::usability::{BlockCause, Usability};

/// The size of an attack: how many trials per operation, how many attackers, and how long
/// every read of the store takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Attack {
    /// Trials per legitimate operation, each on a user of its own.
    pub trials: u32,
    /// Attackers streaming attempts at the user during each trial: half type wrong codes,
    /// half the stolen right one.
    pub attackers: usize,
    /// What every read of the store is slowed by ([`Slow`]).
    pub latency: Duration,
    /// The most attempts an attacker makes in one trial (every loop is bounded).
    pub max_attempts: u32,
    /// The attempts the legitimate operations' engine makes before giving up
    /// ([`EngineConfig::max_attempts`]): the default, 32, unless set.
    pub engine_attempts: u32,
}

impl Attack {
    /// 100 trials, 16 attackers, 1 ms reads, at most 100,000 attempts per attacker and trial,
    /// and the engine's default attempts for the legitimate operations.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            trials: 100,
            attackers: 16,
            latency: Duration::from_millis(1),
            max_attempts: 100_000,
            engine_attempts: EngineConfig::DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Sets the trials per operation.
    #[must_use]
    pub const fn trials(mut self, trials: u32) -> Self {
        self.trials = trials;
        self
    }

    /// Sets the number of attackers (at least 2: one of each kind).
    #[must_use]
    pub const fn attackers(mut self, attackers: usize) -> Self {
        self.attackers = attackers;
        self
    }

    /// Sets the read latency.
    #[must_use]
    pub const fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the attempts of the legitimate operations' engine. With 1, a store that holds the
    /// record while the engine decides ([`Store::transact`]) still passes, one whose changes
    /// can conflict does not.
    #[must_use]
    pub const fn engine_attempts(mut self, attempts: u32) -> Self {
        self.engine_attempts = attempts;
        self
    }
}

impl Default for Attack {
    fn default() -> Self {
        Self::new()
    }
}

/// A legitimate operation a stream of attempts must not deny (SPEC 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// An administrator creates a pass for a user whose pass expired (SPEC 2.7).
    CreateOverExpired,
    /// An administrator replaces a valid pass (the later product's opt-in, SPEC 2.7).
    Replace,
    /// An administrator deletes the pass (SPEC 5.7).
    Delete,
    /// An administrator changes the policy (SPEC 1.5).
    PolicyChange,
    /// The holder, signed in, registers a security key inside the window (SPEC 5.5).
    Register,
    /// The holder signs in with the right code of a multi-use pass (SPEC 5.3).
    SignIn,
}

impl Operation {
    /// Every operation, in the order the attack runs them.
    pub const ALL: [Self; 6] = [
        Self::CreateOverExpired,
        Self::Replace,
        Self::Delete,
        Self::PolicyChange,
        Self::Register,
        Self::SignIn,
    ];
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CreateOverExpired => "creation over an expired pass",
            Self::Replace => "replacement of a valid pass",
            Self::Delete => "deletion",
            Self::PolicyChange => "policy change",
            Self::Register => "registration inside the window",
            Self::SignIn => "the holder's sign-in (multi-use)",
        })
    }
}

/// How one operation fared over its trials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationReport {
    /// The operation.
    pub operation: Operation,
    /// Trials run.
    pub trials: u32,
    /// Trials in which it did what it was asked.
    pub done: u32,
    /// Trials in which the lock of SPEC 6.4 refused it (the holder's sign-in only): allowed.
    pub locked: u32,
    /// Trials in which it gave up for contention: must be 0.
    pub contention: u32,
    /// The slowest trial's operation, from its call to its answer.
    pub slowest: Duration,
}

/// What an attack showed, operation by operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AttackReport {
    /// One report per operation, in [`Operation::ALL`]'s order.
    pub operations: Vec<OperationReport>,
    /// Attempts the attackers made in all.
    pub attacker_attempts: u64,
    /// Attempts of the attackers that gave up for contention (an attacker's denial: allowed).
    pub attacker_contention: u64,
}

impl AttackReport {
    /// Contention of legitimate operations, in all: the attack's claim is that it is 0.
    #[must_use]
    pub fn contention(&self) -> u32 {
        self.operations.iter().map(|o| o.contention).sum()
    }
}

impl fmt::Display for AttackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.operations {
            writeln!(
                f,
                "{:>34}: {} trials, {} done, {} refused by the lock, {} Contention, slowest {:?}",
                o.operation.to_string(),
                o.trials,
                o.done,
                o.locked,
                o.contention,
                o.slowest
            )?;
        }
        write!(
            f,
            "{:>34}: {} attempts, {} gave up for contention",
            "attackers", self.attacker_attempts, self.attacker_contention
        )
    }
}

/// The wall clock, for the harness's own waits and timings; the engines it drives read their
/// [`ManualClock`], as every engine reads the clock it is given.
#[expect(
    clippy::disallowed_methods,
    reason = "the harness times itself with the wall clock; the engines' time stays injected"
)]
pub(super) fn wall() -> Instant {
    Instant::now()
}

/// How a legitimate operation was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Done,
    Locked,
    Contention,
}

fn verdict<T, R: fmt::Debug, E: fmt::Debug>(
    operation: Operation,
    answer: Result<T, EngineError<R, E>>,
    done: impl FnOnce(T) -> Result<Verdict, String>,
) -> Result<Verdict, String> {
    match answer {
        Ok(value) => done(value),
        Err(EngineError::Contention { .. }) => Ok(Verdict::Contention),
        Err(other) => Err(format!("{operation}: {other:?}")),
    }
}

pub(super) fn created<E: fmt::Debug>(
    operation: Operation,
    answer: Result<CreatedPass, EngineError<CreateError, E>>,
) -> Result<Verdict, String> {
    verdict(operation, answer, |created| match created.replaced {
        Some(_) => Ok(Verdict::Done),
        None => Err(format!("{operation}: the pass was not replaced")),
    })
}

pub(super) fn deleted<E: fmt::Debug>(
    answer: Result<Option<crate::admin::Deleted>, EngineError<crate::admin::DeleteError, E>>,
) -> Result<Verdict, String> {
    verdict(Operation::Delete, answer, |deleted| match deleted {
        Some(_) => Ok(Verdict::Done),
        None => Err("deletion: found no pass to delete".to_string()),
    })
}

pub(super) fn changed<E: fmt::Debug>(
    answer: Result<PolicyUpdate, EngineError<UpdatePolicyError, E>>,
) -> Result<Verdict, String> {
    verdict(Operation::PolicyChange, answer, |_| Ok(Verdict::Done))
}

pub(super) fn registered<E: fmt::Debug>(
    answer: Result<(), EngineError<RegistrationError, E>>,
) -> Result<Verdict, String> {
    verdict(Operation::Register, answer, |()| Ok(Verdict::Done))
}

pub(super) fn signed_in<E: fmt::Debug>(
    answer: Result<Redemption, EngineError<core::convert::Infallible, E>>,
) -> Result<Verdict, String> {
    verdict(Operation::SignIn, answer, |r| match r.outcome {
        Ok(_) => Ok(Verdict::Done),
        Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(BlockCause::Locked { .. }))) => {
            Ok(Verdict::Locked)
        }
        Err(other) => Err(format!("the holder's sign-in was refused: {other}")),
    })
}

/// Counts an attacker's answer: `true` when it gave up for contention.
pub(super) fn attacker_gave_up<E: fmt::Debug>(
    answer: &Result<Redemption, EngineError<core::convert::Infallible, E>>,
) -> Result<bool, String> {
    match answer {
        Ok(_) => Ok(false),
        Err(EngineError::Contention { .. }) => Ok(true),
        Err(other) => Err(format!("an attacker's attempt failed: {other:?}")),
    }
}

/// The policy every attack runs under: enabled for all users, multi-use passes, so the stolen
/// right code signs the attackers in (and writes) again and again.
pub(super) fn attack_policy() -> PolicySettings {
    race_policy(false)
}

/// A policy change that changes nothing a pass depends on: the default length flips between 8
/// and 9.
pub(super) fn flip_length(settings: PolicySettings) -> PolicySettings {
    let length = if settings.default_length == 8 { 9 } else { 8 };
    settings.default_length(length)
}

/// Gathers the verdicts of an operation's trials into its report, failing on contention or on
/// a wrong answer.
#[derive(Debug)]
pub(super) struct Tally {
    report: OperationReport,
    failures: Vec<String>,
}

impl Tally {
    pub(super) fn new(operation: Operation) -> Self {
        Self {
            report: OperationReport {
                operation,
                trials: 0,
                done: 0,
                locked: 0,
                contention: 0,
                slowest: Duration::ZERO,
            },
            failures: Vec::new(),
        }
    }

    pub(super) fn count(&mut self, trial: u32, verdict: Result<Verdict, String>, took: Duration) {
        let report = &mut self.report;
        report.trials = report.trials.saturating_add(1);
        report.slowest = report.slowest.max(took);
        match verdict {
            Ok(Verdict::Done) => report.done = report.done.saturating_add(1),
            Ok(Verdict::Locked) if report.operation == Operation::SignIn => {
                report.locked = report.locked.saturating_add(1);
            }
            Ok(Verdict::Locked) => self.failures.push(format!(
                "trial {trial}: {} was refused by the lock",
                report.operation
            )),
            Ok(Verdict::Contention) => {
                report.contention = report.contention.saturating_add(1);
                self.failures.push(format!(
                    "trial {trial}: {} gave up for contention",
                    report.operation
                ));
            }
            Err(e) => self.failures.push(format!("trial {trial}: {e}")),
        }
    }

    /// The report, or a panic naming the trials that failed.
    pub(super) fn finish(self) -> OperationReport {
        assert!(
            self.failures.is_empty(),
            "under attack, {} of {} trials of {} failed: {:?}",
            self.failures.len(),
            self.report.trials,
            self.report.operation,
            self.failures.iter().take(5).collect::<Vec<_>>()
        );
        self.report
    }
}

/// What a trial sets up before the attack starts: the user, the code the attackers stole, and
/// the holder's grant (for a registration).
pub(super) struct Target {
    pub(super) user: Principal,
    pub(super) code: String,
    pub(super) grant: Option<Grant>,
}

/// The lifetime of the passes an attack creates, in minutes: a creation over an expired pass
/// moves the clock past it.
pub(super) const LIFETIME: u32 = 60;

/// The clock of an attack: it starts at the suite's instant and only moves forward, a pass's
/// lifetime at a time, so every trial's pass starts at its own now.
pub(super) fn attack_clock() -> ManualClock {
    ManualClock::new(NOW)
}

/// Moves `clock` past the end of the pass a trial created.
pub(super) fn move_past_the_end(clock: &ManualClock) {
    let _: UtcDateTime = clock
        .advance(time::Duration::minutes(i64::from(LIFETIME)))
        .expect("an hour past 2021 is in range");
}

/// Every legitimate operation, `attack.trials` times each, over `store` slowed by
/// `attack.latency`, while `attack.attackers` threads stream wrong codes and the stolen right
/// code at the trial's user (SPEC 6.7). The six operations run side by side, each on users of
/// its own, so a policy change lands in the middle of the other operations' trials too. Run
/// it on a store of its own: it sets the policy.
///
/// # Panics
///
/// When a legitimate operation gives up for contention, is answered wrongly, or the store
/// fails, naming the trials.
pub fn race_under_attack<S: Store>(store: &S, attack: &Attack) -> AttackReport {
    let slow = Slow::new(store, attack.latency);
    let config = EngineConfig::new(key());
    let _ = Engine::new(attack_clock(), &slow, config.clone())
        .update_policy(&admin(), &attack_policy())
        .unwrap_or_else(|e| panic!("setting the attack's policy: {e}"));
    let attempts = AtomicU64::new(0);
    let gave_up = AtomicU64::new(0);
    let (slow, config, attempts, gave_up) = (&slow, &config, &attempts, &gave_up);
    let operations = thread::scope(|s| {
        let running: Vec<_> = Operation::ALL
            .into_iter()
            .map(|operation| {
                s.spawn(move || {
                    // A clock of its own: a creation over an expired pass moves it on.
                    let clock = attack_clock();
                    let legitimate = config.clone().max_attempts(attack.engine_attempts);
                    let engine = Engine::new(&clock, slow, legitimate.clone());
                    let replacing = Engine::new(
                        &clock,
                        slow,
                        legitimate.create_options(CreateOptions::new().replace_valid_pass(true)),
                    );
                    // The attackers' own engine, with the default attempts.
                    let attackers = Engine::new(&clock, slow, config.clone());
                    let mut tally = Tally::new(operation);
                    for trial in 0..attack.trials {
                        // Set up and cleaned up with the default attempts: only the
                        // legitimate operation itself is under test.
                        let target = set_up(&attackers, operation);
                        let (verdict, took) =
                            attacked(attack, &attackers, &target, attempts, gave_up, || {
                                run(&engine, &replacing, operation, &target)
                            });
                        tally.count(trial, verdict, took);
                        let _ = attackers.delete(&admin(), &target.user);
                    }
                    tally
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    AttackReport {
        operations: operations.into_iter().map(Tally::finish).collect(),
        attacker_attempts: attempts.load(Ordering::SeqCst),
        attacker_contention: gave_up.load(Ordering::SeqCst),
    }
}

/// Runs `legitimate` while `attack.attackers` threads stream attempts at `target`'s user,
/// once every attacker has had an answer; stops them when it returns. Its answer, and how long
/// it took.
fn attacked<C: crate::clock::Clock, S: Store>(
    attack: &Attack,
    engine: &Engine<C, S>,
    target: &Target,
    attempts: &AtomicU64,
    gave_up: &AtomicU64,
    legitimate: impl FnOnce() -> Result<Verdict, String>,
) -> (Result<Verdict, String>, Duration) {
    let stop = AtomicBool::new(false);
    let started = AtomicU64::new(0);
    thread::scope(|s| {
        for i in 0..attack.attackers {
            let (stop, started) = (&stop, &started);
            s.spawn(move || {
                let typed = if i % 2 == 0 {
                    "wrong-code"
                } else {
                    &target.code
                };
                let browser = SignInRequest::new(Client::Browser);
                for n in 0..attack.max_attempts {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let answer = engine.redeem(&target.user, typed, browser);
                    if n == 0 {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                    attempts.fetch_add(1, Ordering::Relaxed);
                    match attacker_gave_up(&answer) {
                        Ok(true) => {
                            gave_up.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(false) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            });
        }
        // The attack is under way once every attacker has had an answer.
        let waiting = wall();
        while started.load(Ordering::SeqCst) < attack.attackers as u64
            && waiting.elapsed() < Duration::from_secs(30)
        {
            thread::sleep(Duration::from_micros(200));
        }
        let begun = wall();
        let verdict = legitimate();
        let took = begun.elapsed();
        stop.store(true, Ordering::SeqCst);
        (verdict, took)
    })
}

/// A trial's user with a multi-use pass, expired for [`Operation::CreateOverExpired`], signed
/// in once by its holder for [`Operation::Register`].
fn set_up<C: crate::clock::Clock, S: Store>(engine: &Engine<C, S>, operation: Operation) -> Target {
    let user = unique_user("attack");
    let request = CreateRequest::new().lifetime_minutes(LIFETIME);
    let created = engine
        .create(&admin(), &user, &request, &mut getrandom::SysRng)
        .unwrap_or_else(|e| panic!("setting up an attack: {e}"));
    let code = created.passcode.expose_secret().to_string();
    let grant = (operation == Operation::Register).then(|| {
        ok(
            "the holder's sign-in",
            engine
                .redeem(&user, &code, SignInRequest::new(Client::Browser))
                .map_err(|e| format!("{e}")),
        )
        .outcome
        .unwrap_or_else(|e| panic!("the holder's sign-in before the attack: {e}"))
    });
    Target { user, code, grant }
}

/// Runs the legitimate operation of a trial and judges its answer. A creation over an expired
/// pass first moves the clock past the pass's end.
fn run<S: Store>(
    engine: &Engine<&ManualClock, &Slow<&S>>,
    replacing: &Engine<&ManualClock, &Slow<&S>>,
    operation: Operation,
    target: &Target,
) -> Result<Verdict, String> {
    let admin = admin();
    let user = &target.user;
    match operation {
        Operation::CreateOverExpired => {
            move_past_the_end(engine.clock());
            created(
                operation,
                engine.create(&admin, user, &CreateRequest::new(), &mut getrandom::SysRng),
            )
        }
        Operation::Replace => created(
            operation,
            replacing.create(&admin, user, &CreateRequest::new(), &mut getrandom::SysRng),
        ),
        Operation::Delete => deleted(engine.delete(&admin, user)),
        Operation::PolicyChange => changed(engine.change_policy(&admin, &flip_length)),
        Operation::Register => {
            let grant = target.grant.as_ref().ok_or("no grant to register with")?;
            registered(engine.register(user, grant, PasswordlessMethod::Fido2SecurityKey))
        }
        Operation::SignIn => {
            signed_in(engine.redeem(user, &target.code, SignInRequest::new(Client::Browser)))
        }
    }
}
