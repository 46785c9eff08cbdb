//! A store slowed down on purpose, as a remote database would be: the attack of SPEC 6.7 runs
//! over it, so that the windows between a read and a write are wide.

use alloc::vec::Vec;
use std::thread;
use std::time::Duration;

use crate::ids::UserId;
use crate::policy::Policy;
use crate::store::{Commit, Decide, Loaded, Recorded, Sequence, Store, Versioned, Write};

/// A store whose every read takes `latency` longer, as a remote database's would: a read the
/// engine asks for ([`Store::load`]), and every read a `transact` hands to the engine's
/// decision, so the windows between a read and a write are as wide as a slow network makes
/// them. Everything else is forwarded.
#[derive(Debug)]
pub struct Slow<S> {
    inner: S,
    latency: Duration,
}

impl<S> Slow<S> {
    /// `inner`, every read slowed by `latency`.
    pub const fn new(inner: S, latency: Duration) -> Self {
        Self { inner, latency }
    }

    /// The store wrapped.
    pub const fn inner(&self) -> &S {
        &self.inner
    }

    /// Waits out the latency on this thread.
    pub(super) fn wait(&self) {
        if !self.latency.is_zero() {
            thread::sleep(self.latency);
        }
    }

    /// The latency.
    pub const fn latency(&self) -> Duration {
        self.latency
    }
}

impl<S: Store> Store for Slow<S> {
    type Error = S::Error;

    fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        self.wait();
        self.inner.load(user)
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        self.wait();
        self.inner.load_policy()
    }

    fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        self.inner.commit(commit)
    }

    fn transact(&self, user: &UserId, decide: &mut Decide<'_>) -> Result<Option<Write>, S::Error> {
        self.inner.transact(user, &mut |read| {
            self.wait();
            decide(read)
        })
    }

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
