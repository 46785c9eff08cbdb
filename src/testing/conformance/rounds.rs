//! What each round of a race must show, whichever driver ran it: the thread races (over
//! `Engine`) and the task races (over `AsyncEngine`) gather answers their own way and judge
//! them here, so the two suites check the same guarantees.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::recording::{Answers, Landed, Step, replay};
use super::{BURST, NOW};
use core::convert::Infallible;

use crate::create::{CreateError, CreatedPass};
use crate::engine::EngineError;
use crate::ids::PassId;
use crate::pass::TemporaryAccessPass;
use crate::signin::{Grant, Lockout, RedeemRefusal, Redemption};
use crate::store::Versioned;
use crate::usability::{BlockCause, Usability};

/// One pass per round: exactly one of the attempts on a one-time pass signed in (SPEC 5.3).
pub(super) fn one_winner(round: u32, wins: usize) -> Result<(), String> {
    if wins == 1 {
        Ok(())
    } else {
        Err(format!(
            "round {round}: {wins} redemptions succeeded, expected 1"
        ))
    }
}

/// Sorts an answer to a wrong code in the lockout race: `Some(true)` judged (counted),
/// `Some(false)` refused as locked, `None` given up on (contention).
///
/// # Panics
///
/// On any other answer.
pub(super) fn wrong_code_answer(
    answer: Result<Redemption, EngineError<Infallible, String>>,
) -> Option<bool> {
    match answer.map(|r| r.outcome) {
        Ok(Err(RedeemRefusal::WrongCode { .. })) => Some(true),
        Ok(Err(RedeemRefusal::Unusable(u))) if !u.is_usable() => Some(false),
        Ok(other) => panic!("lockout race: unexpected outcome {other:?}"),
        Err(EngineError::Contention { .. }) => None,
        Err(e) => panic!("lockout race: {e}"),
    }
}

/// Sorts an answer in the creation race: the pass created, or `None` when refused because the
/// user holds a valid pass now, or given up on (contention).
///
/// # Panics
///
/// On any other answer.
pub(super) fn creation_answer<E: core::fmt::Display>(
    created: Result<CreatedPass, EngineError<CreateError, E>>,
) -> Option<PassId> {
    match created {
        Ok(created) => Some(*created.record.id()),
        Err(
            EngineError::Rejected(CreateError::AlreadyHasValidPass { .. })
            | EngineError::Contention { .. },
        ) => None,
        Err(e) => panic!("creation race: {e}"),
    }
}

/// Whether an attempt that started after the delete returned (`after_delete`) still found a
/// pass: it must find none.
pub(super) fn found_after_delete(
    after_delete: bool,
    answer: &Result<Redemption, EngineError<Infallible, String>>,
) -> bool {
    after_delete && !matches!(answer, Ok(r) if r.outcome == Err(RedeemRefusal::NoPass))
}

/// The lockout race (SPEC 6.4): exactly the limit of wrong codes was judged and stored, the
/// lock engaged, and later attempts were refused.
pub(super) fn lockout(round: u32, counted: u32, locked: u32, record: &TemporaryAccessPass) {
    let limit = Lockout::DEFAULT_MAX_ATTEMPTS;
    assert_eq!(
        counted, limit,
        "round {round}: wrong codes judged before the lock"
    );
    assert_eq!(
        record.failed_attempts(),
        limit,
        "round {round}: stored count"
    );
    assert!(
        record.locked_until().is_some_and(|t| t > NOW),
        "round {round}: the lock engaged"
    );
    assert!(locked > 0, "round {round}: later attempts refused");
}

/// The creation race (SPEC 2.7): one creation won, and its pass is the one stored.
pub(super) fn one_creation(round: u32, winners: &[PassId], stored: Option<&TemporaryAccessPass>) {
    assert_eq!(winners.len(), 1, "round {round}: creations that succeeded");
    assert_eq!(
        winners.first(),
        stored.map(TemporaryAccessPass::id),
        "round {round}: the stored pass is the winner's"
    );
}

/// A burst round: the landed writes replay as a sequential history that matches the answers,
/// and `check` holds.
pub(super) fn burst(
    round: u32,
    initial: &Versioned<TemporaryAccessPass>,
    log: Vec<Landed>,
    answers: &Answers,
    check: impl Fn(u32, &[Step], &Answers) -> Result<(), String>,
) -> Result<(), String> {
    let steps = replay(round, initial, log, Lockout::DEFAULT_MAX_ATTEMPTS)?;
    answers.match_history(round, &steps)?;
    check(round, &steps, answers)
}

/// What a burst with one right code must show: at most one grant, and something judged.
pub(super) fn one_right_code(round: u32, steps: &[Step], answers: &Answers) -> Result<(), String> {
    if answers.grants > 1 {
        return Err(format!("round {round}: {} grants", answers.grants));
    }
    if steps.is_empty() {
        return Err(format!("round {round}: nothing was judged"));
    }
    Ok(())
}

/// What a burst of wrong codes must show: exactly the limit judged, the rest refused as locked.
pub(super) fn only_the_limit_judged(
    round: u32,
    _: &[Step],
    answers: &Answers,
) -> Result<(), String> {
    let limit = Lockout::DEFAULT_MAX_ATTEMPTS as usize;
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
}

/// Which attempt of a burst with one right code types it: a different one each round.
pub(super) fn right_attempt(round: u32, i: usize) -> bool {
    i == usize::try_from(round).unwrap_or(0).wrapping_mul(37) % BURST
}

/// A delete round (SPEC 5.7, 6.5): the deletion is the last write, every answer matches a
/// write that landed before it, and no attempt that started after it found a pass.
/// Attempts enough that no sign-in of a deletion round gives up: an attempt conflicts only
/// when another write landed after its read, so no sign-in meets more conflicts than the
/// round lands writes (`sign_ins` of them, and the deletion). A sign-in under that much
/// contention is denied in production (fail closed), which is safe but not what the round
/// checks.
pub(super) fn attempts_for(sign_ins: usize) -> u32 {
    u32::try_from(sign_ins.saturating_add(2)).unwrap_or(u32::MAX)
}

pub(super) fn delete(
    round: u32,
    initial: &Versioned<TemporaryAccessPass>,
    log: Vec<Landed>,
    answers: &Answers,
    late: usize,
) -> Result<(), String> {
    let steps = replay(round, initial, log, Lockout::DEFAULT_MAX_ATTEMPTS)?;
    if steps.last() != Some(&Step::Removed) {
        return Err(format!("round {round}: the deletion is not the last write"));
    }
    answers.match_history(round, &steps)?;
    if late > 0 {
        return Err(format!(
            "round {round}: {late} attempts started after the delete returned and found a pass"
        ));
    }
    Ok(())
}

/// A policy round (SPEC 1.6, 4.2, 6.5): every sign-in decided under the enabled policy was
/// refused under the disabled one, and no grant landed.
pub(super) fn policy_change<E: core::fmt::Debug>(
    round: u32,
    threads: usize,
    answers: &[Result<Result<Grant, RedeemRefusal>, E>],
    log: &[Landed],
) -> Vec<String> {
    let mut failures = Vec::new();
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
    let grants = log
        .iter()
        .filter(|w| matches!(w, Landed::Replaced { record, .. } if record.used_at().is_some()))
        .count();
    if grants != 0 {
        failures.push(format!(
            "round {round}: {grants} grants landed after the policy was disabled"
        ));
    }
    failures
}

/// Fails the race with its bad rounds, if any.
pub(super) fn report(race: &str, rounds: u32, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{race}: {} bad rounds of {rounds}: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
}
