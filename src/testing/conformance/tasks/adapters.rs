//! The task suite's store adapters: an async store seen as a [`Store`] from a blocking thread,
//! and the store under test wrapped to hold reads and writes at the races' barriers.

use alloc::sync::Arc;
use alloc::vec::Vec;

use tokio::runtime::Handle;
use tokio::sync::Barrier;

use super::super::BURST;
use super::super::recording::Log;
use crate::ids::UserId;
use crate::policy::Policy;
use crate::store::{AsyncStore, Commit, Loaded, Recorded, Sequence, Store, Versioned, Write};

/// An async store seen as a [`Store`] from a blocking thread: each call waits for its future.
pub(super) struct Blocking<S> {
    pub(super) store: Arc<S>,
    pub(super) runtime: Handle,
}

impl<S: AsyncStore> Store for Blocking<S> {
    type Error = S::Error;

    fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        self.runtime.block_on(self.store.load(user))
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        self.runtime.block_on(self.store.load_policy())
    }

    fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        self.runtime.block_on(self.store.commit(commit))
    }

    // `transact` is the trait's default: the sequential checks commit through `commit`.

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, S::Error> {
        self.runtime.block_on(self.store.read_events(after, limit))
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, S::Error> {
        self.runtime.block_on(self.store.prune_events(before))
    }

    fn load_methods(
        &self,
        user: &crate::ids::UserId,
    ) -> Result<Vec<crate::store::Versioned<crate::method::RegisteredMethod>>, S::Error> {
        self.runtime.block_on(self.store.load_methods(user))
    }

    fn load_ceremony(
        &self,
        user: &crate::ids::UserId,
        id: &crate::ceremony::CeremonyId,
    ) -> Result<Option<crate::store::Versioned<crate::ceremony::Ceremony>>, S::Error> {
        self.runtime.block_on(self.store.load_ceremony(user, id))
    }

    fn prune_ceremonies(&self, now: time::UtcDateTime) -> Result<u64, S::Error> {
        self.runtime.block_on(self.store.prune_ceremonies(now))
    }
}

/// The store under test, wrapped for the task races as the thread races wrap it: held reads
/// meet at an async barrier, held writes wait for the coordinator, landed writes are logged.
pub(super) struct Recording<S> {
    pub(super) inner: Arc<S>,
    pub(super) log: Log,
    gate: Barrier,
    pub(super) parked: Barrier,
    pub(super) released: Barrier,
}

impl<S> Recording<S> {
    pub(super) fn new(inner: Arc<S>, writers: usize) -> Arc<Self> {
        Arc::new(Self {
            inner,
            log: Log::default(),
            gate: Barrier::new(BURST),
            parked: Barrier::new(writers.saturating_add(1)),
            released: Barrier::new(writers.saturating_add(1)),
        })
    }
}

impl<S: AsyncStore> AsyncStore for Recording<S> {
    type Error = S::Error;

    async fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        let held = self.log.hold_read();
        let read = self.inner.load(user).await;
        if held {
            // Every attempt of the burst has read before any goes on to decide and write.
            let _leader = self.gate.wait().await;
        }
        read
    }

    fn load_policy(
        &self,
    ) -> impl Future<Output = Result<Option<Versioned<Policy>>, S::Error>> + Send {
        self.inner.load_policy()
    }

    async fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        if commit.change.user().is_some() && self.log.hold_write() {
            // Decided, not yet written: the coordinator acts, then lets the write go.
            let _leader = self.parked.wait().await;
            let _leader = self.released.wait().await;
        }
        let written = self.inner.commit(commit).await?;
        self.log.committed(commit, written);
        Ok(written)
    }

    // `transact` is the trait's default on purpose, as in the thread races' wrapper.

    fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recorded>, S::Error>> + Send {
        self.inner.read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> impl Future<Output = Result<u64, S::Error>> + Send {
        self.inner.prune_events(before)
    }

    fn load_methods(
        &self,
        user: &crate::ids::UserId,
    ) -> impl Future<
        Output = Result<Vec<crate::store::Versioned<crate::method::RegisteredMethod>>, S::Error>,
    > + Send {
        self.inner.load_methods(user)
    }

    fn load_ceremony(
        &self,
        user: &crate::ids::UserId,
        id: &crate::ceremony::CeremonyId,
    ) -> impl Future<
        Output = Result<Option<crate::store::Versioned<crate::ceremony::Ceremony>>, S::Error>,
    > + Send {
        self.inner.load_ceremony(user, id)
    }

    fn prune_ceremonies(
        &self,
        now: time::UtcDateTime,
    ) -> impl Future<Output = Result<u64, S::Error>> + Send {
        self.inner.prune_ceremonies(now)
    }
}
