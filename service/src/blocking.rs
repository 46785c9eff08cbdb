//! A sync [`Store`] (the SQLite store) for the async engine: each call runs on tokio's blocking
//! threads, so a write waiting for SQLite's lock never holds up the server's workers.

use std::sync::Arc;

use temporary_access_pass::store::{
    AsyncStore, Commit, DecideSend, Loaded, Recorded, Sequence, Store, Versioned, Write,
};
use temporary_access_pass::{Policy, UserId};

/// Why a call on a blocking thread failed: the store's own error, or the thread's task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockingError<E> {
    /// The store failed.
    #[error(transparent)]
    Store(E),
    /// The blocking task did not complete (the runtime is shutting down, or it panicked).
    #[error("the store's blocking task did not complete: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// `S`, with every call moved to a blocking thread.
#[derive(Debug)]
pub struct Blocking<S>(pub Arc<S>);

impl<S> Blocking<S> {
    /// Wraps `store`.
    pub fn new(store: S) -> Self {
        Self(Arc::new(store))
    }
}

async fn on_blocking_thread<S: Store + 'static, T: Send + 'static>(
    store: &Arc<S>,
    call: impl FnOnce(&S) -> Result<T, S::Error> + Send + 'static,
) -> Result<T, BlockingError<S::Error>> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || call(&store))
        .await?
        .map_err(BlockingError::Store)
}

impl<S: Store + 'static> AsyncStore for Blocking<S> {
    type Error = BlockingError<S::Error>;

    async fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
        let user = user.clone();
        on_blocking_thread(&self.0, move |s| s.load(&user)).await
    }

    async fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
        on_blocking_thread(&self.0, Store::load_policy).await
    }

    async fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
        let commit = commit.clone();
        on_blocking_thread(&self.0, move |s| s.commit(&commit)).await
    }

    /// The store's own `transact`, which holds SQLite's write lock while the engine decides
    /// (SPEC 6.7): it borrows the engine's decision, so it runs on this worker thread, which
    /// tokio hands over to blocking work for the while (`block_in_place`). On a current-thread
    /// runtime, which has no other worker to hand over to, it runs in place.
    async fn transact(
        &self,
        user: &UserId,
        decide: &mut DecideSend<'_>,
    ) -> Result<Option<Write>, Self::Error> {
        let mut run = || self.0.transact(user, decide).map_err(BlockingError::Store);
        match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
            _ => run(),
        }
    }

    async fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> Result<Vec<Recorded>, Self::Error> {
        on_blocking_thread(&self.0, move |s| s.read_events(after, limit)).await
    }

    async fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
        on_blocking_thread(&self.0, move |s| s.prune_events(before)).await
    }

    async fn load_methods(
        &self,
        user: &temporary_access_pass::UserId,
    ) -> Result<
        Vec<
            temporary_access_pass::store::Versioned<
                temporary_access_pass::method::RegisteredMethod,
            >,
        >,
        Self::Error,
    > {
        let user = user.clone();
        on_blocking_thread(&self.0, move |s| s.load_methods(&user)).await
    }

    async fn load_ceremony(
        &self,
        user: &temporary_access_pass::UserId,
        id: &temporary_access_pass::ceremony::CeremonyId,
    ) -> Result<
        Option<temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>>,
        Self::Error,
    > {
        let (user, id) = (user.clone(), id.clone());
        on_blocking_thread(&self.0, move |s| s.load_ceremony(&user, &id)).await
    }

    async fn prune_ceremonies(
        &self,
        now: temporary_access_pass::time::UtcDateTime,
    ) -> Result<u64, Self::Error> {
        on_blocking_thread(&self.0, move |s| s.prune_ceremonies(now)).await
    }
}
