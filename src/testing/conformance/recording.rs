//! The recording wrapper the races run the store under test through: it holds reads and writes
//! where a race needs them to meet, logs every record write that lands with the expectation it
//! met, and replays the log as a history of one write after another (SPEC 6.5).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};

use super::{BURST, NOW, lock};
use crate::engine::EngineError;
use crate::ids::UserId;
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;
use crate::signin::{RedeemRefusal, Redemption};
use crate::store::{
    Change, Commit, Held, Loaded, RecordStamp, Recorded, Sequence, Store, Version, Versioned, Write,
};
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

    /// Logs a record change if it landed. A sign-in's expects exactly the record it read, and
    /// a deletion took the record at the version it reports: the replay places each in the
    /// chain by that stamp. Other changes (a creation, a replacement) have none, and are off
    /// the chain if a race ever lands one.
    pub(super) fn committed(&self, commit: &Commit, written: Write) {
        let Write::Written(version) = written else {
            return;
        };
        let landed = match &commit.change {
            Change::Put {
                expected, record, ..
            } => Landed::Replaced {
                expected: match expected.record {
                    Held::Exactly(stamp) => Some(stamp),
                    _ => None,
                },
                version,
                record: record.clone(),
            },
            Change::Remove { pass, .. } => Landed::Removed {
                expected: Some(RecordStamp::new(*pass, version)),
            },
            _ => return,
        };
        lock(&self.landed).push(landed);
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

    fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        let record_change = commit.change.user().is_some();
        if record_change && self.log.hold_write() {
            // Decided, not yet written: the coordinator acts, then lets the write go.
            self.parked.wait();
            self.released.wait();
        }
        let written = self.inner.commit(commit)?;
        self.log.committed(commit, written);
        Ok(written)
    }

    // `transact` is the trait's default on purpose: the races test the store's conditional
    // changes, each attempt reading, deciding and committing without a hold, as an engine
    // over a store without one would.

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, S::Error> {
        self.inner.read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, S::Error> {
        self.inner.prune_events(before)
    }

    fn load_methods(
        &self,
        user: &crate::ids::UserId,
    ) -> Result<Vec<crate::store::Versioned<crate::method::RegisteredMethod>>, S::Error> {
        self.inner.load_methods(user)
    }

    fn load_ceremony(
        &self,
        user: &crate::ids::UserId,
        id: &crate::ceremony::CeremonyId,
    ) -> Result<Option<crate::store::Versioned<crate::ceremony::Ceremony>>, S::Error> {
        self.inner.load_ceremony(user, id)
    }

    fn prune_ceremonies(&self, now: time::UtcDateTime) -> Result<u64, S::Error> {
        self.inner.prune_ceremonies(now)
    }
}

/// What one step of the history did to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
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
                // With the clock standing still, a pass is either locked (then nothing may be
                // written: a refusal judges no code, SPEC 6.5) or usable (then a failure or a
                // grant).
                let step = if locked {
                    return Err(format!(
                        "round {round}: write {version} landed on a locked record: a refusal wrote, or an attempt was judged"
                    ));
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

    /// Each judged answer matches one landed write of its kind, refusals as locked wrote
    /// nothing, and nothing else was answered.
    pub(super) fn match_history(&self, round: u32, steps: &[Step]) -> Result<(), String> {
        let of = |kind| steps.iter().filter(|s| **s == kind).count();
        let expected = (of(Step::Success), of(Step::Failure));
        if (self.grants, self.wrong) != expected || !self.other.is_empty() {
            return Err(format!(
                "round {round}: answered {} grants, {} wrong codes (and {} locked, {:?}), but the landed writes hold {} grants, {} failures",
                self.grants, self.wrong, self.locked, self.other, expected.0, expected.1,
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
