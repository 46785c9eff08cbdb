//! A sync [`Store`] (the SQLite store) for the async engine: each call runs on tokio's blocking
//! threads, so a write waiting for SQLite's lock never holds up the server's workers.

use std::sync::Arc;

use temporary_access_pass::store::{
    AsyncStore, Expected, Loaded, Store, Version, Versioned, Write,
};
use temporary_access_pass::{PassId, Policy, TemporaryAccessPass, UserId};

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

    async fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, Self::Error> {
        let (user, expected, record) = (user.clone(), *expected, record.cloned());
        on_blocking_thread(&self.0, move |s| s.write(&user, &expected, record.as_ref())).await
    }

    async fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, Self::Error> {
        let policy = policy.clone();
        on_blocking_thread(&self.0, move |s| s.write_policy(expected, &policy)).await
    }

    async fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, Self::Error> {
        let user = user.clone();
        on_blocking_thread(&self.0, move |s| s.remove(&user, pass)).await
    }
}
