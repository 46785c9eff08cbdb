//! The recording wrapper the races run the store under test through: it holds reads and writes
//! where a race needs them to meet, logs every record write that lands with the expectation it
//! met, and replays the log as a history of one write after another (SPEC 6.5).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};

use super::burst::BURST;
use super::{NOW, lock};
use crate::engine::EngineError;
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;
use crate::signin::{RedeemRefusal, Redemption};
use crate::store::{Expected, Loaded, RecordStamp, Store, Version, Versioned, Write};
use crate::usability::{BlockCause, Usability};

/// A record write that landed, with the record's part of the expectation it met.
#[derive(Debug, Clone)]
pub(super) enum Landed {
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

/// What the recording wrappers share: the tickets that say which reads and writes to hold, and
/// the log of record writes that landed.
#[derive(Default)]
pub(super) struct Log {
    hold: AtomicUsize,
    hold_writes: AtomicUsize,
    landed: Mutex<Vec<Landed>>,
}

impl Log {
    /// Arms the log for a round: with `hold`, the next [`BURST`] reads are held until all have
    /// read; `writes` record writes are held for the coordinator.
    pub(super) fn arm(&self, hold: bool, writes: usize) {
        lock(&self.landed).clear();
        self.hold
            .store(if hold { BURST } else { 0 }, Ordering::SeqCst);
        self.hold_writes.store(writes, Ordering::SeqCst);
    }

    pub(super) fn take(&self) -> Vec<Landed> {
        core::mem::take(&mut *lock(&self.landed))
    }

    /// Whether this read is one of those to hold.
    pub(super) fn hold_read(&self) -> bool {
        take_ticket(&self.hold)
    }

    /// Whether this write is one of those to hold.
    pub(super) fn hold_write(&self) -> bool {
        take_ticket(&self.hold_writes)
    }

    /// Logs a deletion of `pass` if it landed: it took the record at the version it
    /// reports, which the replay places in the chain like any other write's expectation.
    pub(super) fn removed(&self, pass: PassId, written: Write) {
        if let Write::Written(version) = written {
            lock(&self.landed).push(Landed::Removed {
                expected: Some(RecordStamp::new(pass, version)),
            });
        }
    }

    /// Logs a record write if it landed.
    pub(super) fn written(
        &self,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
        written: Write,
    ) {
        if let Write::Written(version) = written {
            lock(&self.landed).push(match record {
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
    }
}

/// The store under test, wrapped for the thread races: the first [`BURST`] record reads of a
/// held round wait for one another at a barrier (so they all see the same version), the first
/// held record writes wait until the coordinator has done something between the reads and the
/// writes (the policy race), and every record write that lands is logged.
pub(super) struct Recording<'a, S> {
    inner: &'a S,
    pub(super) log: Log,
    gate: Barrier,
    pub(super) parked: Barrier,
    pub(super) released: Barrier,
}

impl<'a, S: Store> Recording<'a, S> {
    pub(super) fn new(inner: &'a S, writers: usize) -> Self {
        Self {
            inner,
            log: Log::default(),
            gate: Barrier::new(BURST),
            parked: Barrier::new(writers.saturating_add(1)),
            released: Barrier::new(writers.saturating_add(1)),
        }
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
        let held = self.log.hold_read();
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
        if self.log.hold_write() {
            // Decided, not yet written: the coordinator acts, then lets the write go.
            self.parked.wait();
            self.released.wait();
        }
        let written = self.inner.write(user, expected, record)?;
        self.log.written(expected, record, written);
        Ok(written)
    }

    fn write_policy(&self, expected: Option<Version>, policy: &Policy) -> Result<Write, S::Error> {
        self.inner.write_policy(expected, policy)
    }

    fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, S::Error> {
        let written = self.inner.remove(user, pass)?;
        self.log.removed(pass, written);
        Ok(written)
    }
}

/// What one step of the history did to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
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
pub(super) fn replay(
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
pub(super) struct Answers {
    pub(super) grants: usize,
    pub(super) wrong: usize,
    pub(super) locked: usize,
    pub(super) no_pass: usize,
    pub(super) other: Vec<String>,
}

impl Answers {
    pub(super) fn count(
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

    /// Adds the answers `other` counted.
    #[cfg(feature = "test-support-tokio")]
    pub(super) fn merge(&mut self, other: Self) {
        self.grants = self.grants.saturating_add(other.grants);
        self.wrong = self.wrong.saturating_add(other.wrong);
        self.locked = self.locked.saturating_add(other.locked);
        self.no_pass = self.no_pass.saturating_add(other.no_pass);
        self.other.extend(other.other);
    }

    /// Each answer matches one landed write of its kind, and nothing else was answered.
    pub(super) fn match_history(&self, round: u32, steps: &[Step]) -> Result<(), String> {
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

pub(super) fn store_error<E: core::fmt::Debug>(
    e: EngineError<core::convert::Infallible, E>,
) -> EngineError<core::convert::Infallible, String> {
    match e {
        EngineError::Store(e) => EngineError::Store(format!("{e:?}")),
        EngineError::Contention { attempts } => EngineError::Contention { attempts },
        EngineError::Rng(e) => EngineError::Rng(e),
        EngineError::Rejected(never) => match never {},
    }
}
