//! The races of SPEC 6.5: bursts of attempts that all read the same record version before any
//! of them writes, and sign-ins racing a delete. A recording wrapper around the store under test
//! logs every write that lands with the expectation it met, and the log is replayed as a history
//! of one write after another.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::thread;

use super::{NOW, admin, engine_with, key, lock, ok, unique_user};
use crate::clock::ManualClock;
use crate::create::CreateRequest;
use crate::engine::{EngineConfig, EngineError};
use crate::ids::UserId;
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::signin::{Client, Lockout, RedeemRefusal, Redemption, SignInRequest};
use crate::store::{Expected, Loaded, RecordStamp, Store, Version, Versioned, Write};
use crate::usability::{BlockCause, Usability};

/// Attempts in each burst: all of them read the same record version before any of them writes.
pub const BURST: usize = 64;

/// A record write that landed, with the record's part of the expectation it met.
#[derive(Debug, Clone)]
enum Landed {
    Replaced {
        expected: Option<RecordStamp>,
        version: Version,
        record: TemporaryAccessPass,
    },
    Removed {
        expected: Option<RecordStamp>,
    },
}

impl Landed {
    const fn expected(&self) -> Option<RecordStamp> {
        match self {
            Self::Replaced { expected, .. } | Self::Removed { expected } => *expected,
        }
    }
}

/// The store under test, wrapped: the first `hold` record reads wait for one another at a
/// barrier (so they all see the same version), the first `hold_writes` record writes wait
/// until the coordinator has done something between the reads and the writes (the policy race),
/// and every record write that lands is logged.
struct Recording<'a, S> {
    inner: &'a S,
    hold: AtomicUsize,
    gate: Barrier,
    hold_writes: AtomicUsize,
    parked: Barrier,
    released: Barrier,
    log: Mutex<Vec<Landed>>,
}

impl<'a, S: Store> Recording<'a, S> {
    fn new(inner: &'a S, writers: usize) -> Self {
        Self {
            inner,
            hold: AtomicUsize::new(0),
            gate: Barrier::new(BURST),
            hold_writes: AtomicUsize::new(0),
            parked: Barrier::new(writers.saturating_add(1)),
            released: Barrier::new(writers.saturating_add(1)),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Arms the wrapper for a round: with `hold`, the next [`BURST`] reads wait for one
    /// another; `writes` record writes wait for the coordinator.
    fn arm(&self, hold: bool, writes: usize) {
        lock(&self.log).clear();
        self.hold
            .store(if hold { BURST } else { 0 }, Ordering::SeqCst);
        self.hold_writes.store(writes, Ordering::SeqCst);
    }

    fn take_log(&self) -> Vec<Landed> {
        core::mem::take(&mut *lock(&self.log))
    }
}

fn take_ticket(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl<S: Store> Store for Recording<'_, S> {
    type Error = S::Error;

    fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        let held = take_ticket(&self.hold);
        let read = self.inner.load(user);
        if held {
            // Every attempt of the burst has read before any goes on to decide and write.
            self.gate.wait();
        }
        read
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        self.inner.load_policy()
    }

    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, S::Error> {
        if take_ticket(&self.hold_writes) {
            // Decided, not yet written: the coordinator acts, then lets the write go.
            self.parked.wait();
            self.released.wait();
        }
        let written = self.inner.write(user, expected, record)?;
        if let Write::Written(version) = written {
            lock(&self.log).push(match record {
                Some(record) => Landed::Replaced {
                    expected: expected.record,
                    version,
                    record: record.clone(),
                },
                None => Landed::Removed {
                    expected: expected.record,
                },
            });
        }
        Ok(written)
    }

    fn write_policy(&self, expected: Option<Version>, policy: &Policy) -> Result<Write, S::Error> {
        self.inner.write_policy(expected, policy)
    }
}

/// What one step of the history did to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A refusal on an unusable (here: locked) pass, written back unchanged.
    Unchanged,
    /// A wrong code, counted.
    Failure,
    /// A grant, recorded.
    Success,
    /// The record was deleted.
    Removed,
}

/// Orders the log into the one chain of writes that starts at `initial`, each write meeting the
/// expectation the previous one left, and says what each step did. Two writes meeting the same
/// expectation (a stale write accepted), a write off the chain, or a step that no sequential
/// history allows is an error naming the round.
fn replay(
    round: u32,
    initial: &Versioned<TemporaryAccessPass>,
    mut log: Vec<Landed>,
    limit: u32,
) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut state = initial.clone();
    loop {
        let here = Some(state.stamp());
        let mut matching = log
            .iter()
            .enumerate()
            .filter(|(_, w)| w.expected() == here)
            .map(|(i, _)| i);
        let Some(index) = matching.next() else {
            break;
        };
        if matching.next().is_some() {
            return Err(format!(
                "round {round}: two writes landed on {here:?}: the store accepted a stale write"
            ));
        }
        let prev = &state.value;
        let locked = prev.locked_until().is_some_and(|until| NOW < until);
        match log.swap_remove(index) {
            Landed::Removed { .. } => {
                steps.push(Step::Removed);
                break;
            }
            Landed::Replaced {
                version, record, ..
            } => {
                // With the clock standing still, a pass is either locked (then the only legal
                // write is the refusal, unchanged) or usable (then a failure or a grant).
                let step = if locked {
                    if record != *prev {
                        return Err(format!(
                            "round {round}: write {version} judged an attempt on a locked record"
                        ));
                    }
                    Step::Unchanged
                } else if record.failed_attempts() == prev.failed_attempts().saturating_add(1)
                    && record.used_at() == prev.used_at()
                {
                    if record.locked_until().is_some() != (record.failed_attempts() >= limit) {
                        return Err(format!(
                            "round {round}: {} failures but the lock is {:?}",
                            record.failed_attempts(),
                            record.locked_until()
                        ));
                    }
                    Step::Failure
                } else if record.failed_attempts() == 0
                    && record.locked_until().is_none()
                    && record.used_at() == Some(NOW)
                {
                    if prev.failed_attempts() >= limit {
                        return Err(format!(
                            "round {round}: a grant followed {} consecutive failures",
                            prev.failed_attempts()
                        ));
                    }
                    Step::Success
                } else {
                    return Err(format!(
                        "round {round}: write {version} is no legal successor of the record before it"
                    ));
                };
                steps.push(step);
                state = Versioned::new(version, record);
            }
        }
    }
    if log.is_empty() {
        Ok(steps)
    } else {
        Err(format!(
            "round {round}: {} landed writes are off the chain of the record's history",
            log.len()
        ))
    }
}

/// How the attempts of a round were answered.
#[derive(Debug, Default)]
struct Answers {
    grants: usize,
    wrong: usize,
    locked: usize,
    no_pass: usize,
    other: Vec<String>,
}

impl Answers {
    fn count(
        &mut self,
        answer: Result<Redemption, EngineError<core::convert::Infallible, String>>,
    ) {
        match answer.map(|s| s.outcome) {
            Ok(Ok(_)) => self.grants = self.grants.saturating_add(1),
            Ok(Err(RedeemRefusal::WrongCode { .. })) => self.wrong = self.wrong.saturating_add(1),
            Ok(Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(BlockCause::Locked {
                ..
            })))) => self.locked = self.locked.saturating_add(1),
            Ok(Err(RedeemRefusal::NoPass)) => self.no_pass = self.no_pass.saturating_add(1),
            other => self.other.push(format!("{other:?}")),
        }
    }

    /// Each answer matches one landed write of its kind, and nothing else was answered.
    fn match_history(&self, round: u32, steps: &[Step]) -> Result<(), String> {
        let of = |kind| steps.iter().filter(|s| **s == kind).count();
        let expected = (of(Step::Success), of(Step::Failure), of(Step::Unchanged));
        if (self.grants, self.wrong, self.locked) != expected || !self.other.is_empty() {
            return Err(format!(
                "round {round}: answered {} grants, {} wrong codes, {} locked (and {:?}), but the landed writes hold {} grants, {} failures, {} refusals",
                self.grants,
                self.wrong,
                self.locked,
                self.other,
                expected.0,
                expected.1,
                expected.2
            ));
        }
        Ok(())
    }
}

fn store_error<E: core::fmt::Debug>(
    e: EngineError<core::convert::Infallible, E>,
) -> EngineError<core::convert::Infallible, String> {
    match e {
        EngineError::Store(e) => EngineError::Store(format!("{e:?}")),
        EngineError::Contention { attempts } => EngineError::Contention { attempts },
        EngineError::Rng(e) => EngineError::Rng(e),
        EngineError::Rejected(never) => match never {},
    }
}

/// Runs `rounds` bursts of [`BURST`] attempts on a fresh multi-use pass each, and checks each
/// round with `check(round, steps, answers)`. `right` says whether attempt `i` of round `r`
/// types the right code.
fn bursts<S: Store>(
    store: &S,
    rounds: u32,
    right: impl Fn(u32, usize) -> bool + Sync,
    check: impl Fn(u32, &[Step], &Answers) -> Result<(), String>,
) {
    let recording = Recording::new(store, 0);
    let clock = ManualClock::new(NOW);
    // Each conflict means another write landed, and a round lands at most BURST writes: with
    // BURST + 1 attempts nobody gives up, so every attempt gets an answer.
    let attempts = u32::try_from(BURST.saturating_add(1)).unwrap_or(u32::MAX);
    let engine = engine_with(
        &clock,
        &recording,
        false,
        EngineConfig::new(key()).max_attempts(attempts),
    );
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    let start = Barrier::new(BURST.saturating_add(1));
    let end = Barrier::new(BURST.saturating_add(1));
    let current: Mutex<Option<(u32, Principal, String)>> = Mutex::new(None);
    let answers = Mutex::new(Answers::default());
    let mut failures = Vec::new();

    thread::scope(|s| {
        for i in 0..BURST {
            let (engine, start, end, current, answers, right) =
                (&engine, &start, &end, &current, &answers, &right);
            s.spawn(move || {
                for _ in 0..rounds {
                    start.wait();
                    let (round, user, code) = lock(current).clone().expect("a round is set up");
                    let typed = if right(round, i) {
                        code
                    } else {
                        "wrong-code!".to_string()
                    };
                    let answer = engine.redeem(&user, &typed, browser).map_err(store_error);
                    lock(answers).count(answer);
                    end.wait();
                }
            });
        }
        for round in 0..rounds {
            let user = unique_user("burst");
            let created = engine
                .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
                .unwrap_or_else(|e| panic!("burst round {round}: create failed: {e}"));
            let initial = ok("load", store.load(user.id()))
                .record
                .expect("the new pass");
            let code = created.passcode.expose_secret().to_string();
            *lock(&current) = Some((round, user, code));
            *lock(&answers) = Answers::default();
            recording.arm(true, 0);
            start.wait();
            end.wait();
            let steps = replay(
                round,
                &initial,
                recording.take_log(),
                Lockout::DEFAULT_MAX_ATTEMPTS,
            );
            let answers = core::mem::take(&mut *lock(&answers));
            if let Err(e) = steps.and_then(|steps| {
                answers.match_history(round, &steps)?;
                check(round, &steps, &answers)
            }) {
                failures.push(e);
            }
        }
    });
    assert!(
        failures.is_empty(),
        "burst race: {} bad rounds of {rounds}: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
}

/// [`BURST`] (64) attempts on one multi-use pass with the default limit of 10 read the same
/// record version before any writes; one of them, at a different position each round, types the
/// right code. Over `rounds` rounds, the writes that landed replay as a legal one-after-another
/// history (SPEC 6.4, 6.5): every wrong-code answer and every grant matches one landed write, no
/// attempt is judged on a locked record, and a grant only follows fewer than 10 consecutive
/// failures (it then resets the count).
///
/// # Panics
///
/// When the store (or the engine over it) breaks a guarantee, with a message naming the round.
pub fn race_burst<S: Store>(store: &S, rounds: u32) {
    bursts(
        store,
        rounds,
        |round, i| i == usize::try_from(round).unwrap_or(0).wrapping_mul(37) % BURST,
        |round, steps, answers| {
            if answers.grants > 1 {
                return Err(format!("round {round}: {} grants", answers.grants));
            }
            let judged = steps.iter().filter(|s| **s != Step::Unchanged).count();
            if judged == 0 {
                return Err(format!("round {round}: nothing was judged"));
            }
            Ok(())
        },
    );
}

/// [`BURST`] (64) wrong codes on one multi-use pass, all read before any writes: over `rounds`
/// rounds, exactly 10 (the limit) are judged and answered as wrong codes, and the other 54 are
/// refused as locked without being judged (SPEC 6.4, 6.5).
///
/// # Panics
///
/// When the store (or the engine over it) breaks a guarantee, with a message naming the round.
pub fn race_burst_wrong_codes<S: Store>(store: &S, rounds: u32) {
    let limit = Lockout::DEFAULT_MAX_ATTEMPTS as usize;
    bursts(
        store,
        rounds,
        |_, _| false,
        |round, _, answers| {
            if answers.wrong == limit && answers.locked == BURST.saturating_sub(limit) {
                Ok(())
            } else {
                Err(format!(
                    "round {round}: {} judged wrong codes and {} locked refusals, expected {limit} and {}",
                    answers.wrong,
                    answers.locked,
                    BURST.saturating_sub(limit)
                ))
            }
        },
    );
}

/// [`super::THREADS`] threads sign in with the right code of one multi-use pass, again and
/// again, while an administrator deletes it, `rounds` times. No sign-in is granted after the
/// delete landed (SPEC 5.7, 6.5): every grant matches a write that landed before the deletion,
/// and every attempt that starts after the delete returned finds no pass.
///
/// # Panics
///
/// When the store (or the engine over it) breaks a guarantee, with a message naming the round.
pub fn race_delete<S: Store>(store: &S, rounds: u32) {
    const PER_THREAD: usize = 6;
    let recording = Recording::new(store, 0);
    let clock = ManualClock::new(NOW);
    let engine = engine_with(&clock, &recording, false, EngineConfig::new(key()));
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    let mut failures = Vec::new();
    for round in 0..rounds {
        let user = unique_user("delete");
        let created = engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .unwrap_or_else(|e| panic!("delete race round {round}: create failed: {e}"));
        let code = created.passcode.expose_secret().to_string();
        let initial = ok("load", store.load(user.id()))
            .record
            .expect("the new pass");
        recording.arm(false, 0);
        let deleted = AtomicBool::new(false);
        let answers = Mutex::new(Answers::default());
        let late_grants = AtomicUsize::new(0);
        let start = Barrier::new(super::THREADS.saturating_add(1));
        thread::scope(|s| {
            for _ in 0..super::THREADS {
                s.spawn(|| {
                    start.wait();
                    for _ in 0..PER_THREAD {
                        let after_delete = deleted.load(Ordering::SeqCst);
                        let answer = engine.redeem(&user, &code, browser).map_err(store_error);
                        if after_delete
                            && !matches!(&answer, Ok(s) if s.outcome == Err(RedeemRefusal::NoPass))
                        {
                            late_grants.fetch_add(1, Ordering::SeqCst);
                        }
                        lock(&answers).count(answer);
                    }
                });
            }
            start.wait();
            thread::yield_now();
            match engine.delete(&admin, &user) {
                Ok(Some(_)) => deleted.store(true, Ordering::SeqCst),
                other => panic!("delete race round {round}: delete gave {other:?}"),
            }
        });
        let answers = answers.into_inner().unwrap_or_else(PoisonError::into_inner);
        let result = replay(
            round,
            &initial,
            recording.take_log(),
            Lockout::DEFAULT_MAX_ATTEMPTS,
        )
        .and_then(|steps| {
            if steps.last() != Some(&Step::Removed) {
                return Err(format!("round {round}: the deletion is not the last write"));
            }
            answers.match_history(round, &steps)?;
            let late = late_grants.load(Ordering::SeqCst);
            if late > 0 {
                return Err(format!(
                    "round {round}: {late} attempts started after the delete returned and found a pass"
                ));
            }
            Ok(())
        });
        if let Err(e) = result {
            failures.push(e);
        }
        assert!(
            ok("load", store.load(user.id())).record.is_none(),
            "round {round}: the pass is gone"
        );
    }
    assert!(
        failures.is_empty(),
        "delete race: {} bad rounds of {rounds}: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
}

/// [`super::THREADS`] threads sign in with the right code of one multi-use pass, and every one
/// of them has read an enabled policy and decided to grant before an administrator disables the
/// policy; only then do their writes go to the store, `rounds` times. None is granted
/// (SPEC 1.6, 4.2, 6.5): each write expected the policy version it was judged on, which is no
/// longer stored, so each attempt is judged again under the disabled policy and refused.
///
/// # Panics
///
/// When the store (or the engine over it) breaks a guarantee, with a message naming the round.
pub fn race_policy_change<S: Store>(store: &S, rounds: u32) {
    let threads = super::THREADS;
    let recording = Recording::new(store, threads);
    let clock = ManualClock::new(NOW);
    let engine = engine_with(&clock, &recording, false, EngineConfig::new(key()));
    let admin = admin();
    let browser = SignInRequest::new(Client::Browser);
    let enabled = engine
        .policy()
        .unwrap_or_else(|e| panic!("policy race: reading the policy: {e}"))
        .settings();
    let disabled = enabled.clone().state(crate::policy::PolicyState::Disabled);
    let mut failures = Vec::new();
    for round in 0..rounds {
        let user = unique_user("policy-race");
        let created = engine
            .create(&admin, &user, &CreateRequest::new(), &mut getrandom::SysRng)
            .unwrap_or_else(|e| panic!("policy race round {round}: create failed: {e}"));
        let code = created.passcode.expose_secret().to_string();
        recording.arm(false, threads);
        let answers = Mutex::new(Vec::new());
        thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    let answer = engine
                        .redeem(&user, &code, browser)
                        .map(|r| r.outcome)
                        .map_err(store_error);
                    lock(&answers).push(answer);
                });
            }
            // Every thread has decided to grant and waits to write.
            recording.parked.wait();
            if let Err(e) = engine.update_policy(&admin, &disabled) {
                panic!("policy race round {round}: disabling the policy: {e}");
            }
            recording.released.wait();
        });
        let answers = answers.into_inner().unwrap_or_else(PoisonError::into_inner);
        let blocked = answers
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Ok(Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(
                        BlockCause::PolicyDisabled
                    ))))
                )
            })
            .count();
        if blocked != threads {
            failures.push(format!(
                "round {round}: {blocked} of {threads} sign-ins refused under the disabled policy; answers: {:?}",
                answers.iter().take(3).collect::<Vec<_>>()
            ));
        }
        let successes = recording
            .take_log()
            .iter()
            .filter(|w| matches!(w, Landed::Replaced { record, .. } if record.used_at().is_some()))
            .count();
        if successes != 0 {
            failures.push(format!(
                "round {round}: {successes} grants landed after the policy was disabled"
            ));
        }
        if let Err(e) = engine.update_policy(&admin, &enabled) {
            panic!("policy race round {round}: enabling the policy again: {e}");
        }
        let _ = engine.delete(&admin, &user);
    }
    assert!(
        failures.is_empty(),
        "policy race: {} bad rounds of {rounds}: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
}
