//! The races of SPEC 6.5: bursts of attempts that all read the same record version before any
//! of them writes, and sign-ins racing a delete. A recording wrapper around the store under test
//! logs every write that lands with the expectation it met, and the log is replayed as a history
//! of one write after another.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::thread;

use super::recording::{Answers, Recording, Step, store_error};
use super::rounds;

use super::{BURST, NOW, admin, engine_with, key, lock, ok, unique_user};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::Engine;
use crate::principal::Principal;
use crate::signin::{Client, SignInRequest};
use crate::store::Store;

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
            recording.log.arm(true, 0);
            start.wait();
            end.wait();
            let answers = core::mem::take(&mut *lock(&answers));
            if let Err(e) = rounds::burst(round, &initial, recording.log.take(), &answers, &check) {
                failures.push(e);
            }
        }
    });
    rounds::report("burst race", rounds, &failures);
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
    bursts(store, rounds, rounds::right_attempt, rounds::one_right_code);
}

/// [`BURST`] (64) wrong codes on one multi-use pass, all read before any writes: over `rounds`
/// rounds, exactly 10 (the limit) are judged and answered as wrong codes, and the other 54 are
/// refused as locked without being judged (SPEC 6.4, 6.5).
///
/// # Panics
///
/// When the store (or the engine over it) breaks a guarantee, with a message naming the round.
pub fn race_burst_wrong_codes<S: Store>(store: &S, rounds: u32) {
    bursts(store, rounds, |_, _| false, rounds::only_the_limit_judged);
}

/// [`super::THREADS`] threads sign in with the right code of one multi-use pass, again and
/// again, while an administrator deletes it, `rounds` times. No sign-in is granted after the
/// delete landed (SPEC 5.7, 6.5): every grant matches a write that landed before the deletion,
/// and every attempt that starts after the delete returned finds no pass. The sign-ins can't
/// hold the deletion off: it is allowed one attempt, and lands with it, because nothing but
/// sign-ins writes the record meanwhile and a removal expects the pass, not its version.
///
/// # Panics
///
/// When the store (or the engine over it) breaks a guarantee, with a message naming the round.
pub fn race_delete<S: Store>(store: &S, rounds: u32) {
    const PER_THREAD: usize = 6;
    let recording = Recording::new(store, 0);
    let clock = ManualClock::new(NOW);
    let engine = engine_with(
        &clock,
        &recording,
        false,
        EngineConfig::new(key()).max_attempts(rounds::attempts_for(
            super::THREADS.saturating_mul(PER_THREAD),
        )),
    );
    let revoker = Engine::new(&clock, &recording, EngineConfig::new(key()).max_attempts(1));
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
        recording.log.arm(false, 0);
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
                        if rounds::found_after_delete(after_delete, &answer) {
                            late_grants.fetch_add(1, Ordering::SeqCst);
                        }
                        lock(&answers).count(answer);
                    }
                });
            }
            start.wait();
            thread::yield_now();
            match revoker.delete(&admin, &user) {
                Ok(Some(_)) => deleted.store(true, Ordering::SeqCst),
                other => panic!("delete race round {round}: delete gave {other:?}"),
            }
        });
        let answers = answers.into_inner().unwrap_or_else(PoisonError::into_inner);
        let late = late_grants.into_inner();
        if let Err(e) = rounds::delete(round, &initial, recording.log.take(), &answers, late) {
            failures.push(e);
        }
        assert!(
            ok("load", store.load(user.id())).record.is_none(),
            "round {round}: the pass is gone"
        );
    }
    rounds::report("delete race", rounds, &failures);
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
        recording.log.arm(false, threads);
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
        failures.extend(rounds::policy_change(
            round,
            threads,
            &answers,
            &recording.log.take(),
        ));
        if let Err(e) = engine.update_policy(&admin, &enabled) {
            panic!("policy race round {round}: enabling the policy again: {e}");
        }
        let _ = engine.delete(&admin, &user);
    }
    rounds::report("policy race", rounds, &failures);
}
