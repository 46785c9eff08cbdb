//! Housekeeping: the store's ceremonies that are over (registration sessions past their window,
//! provisioning challenges and passkey sign-ins past their expiry) deleted on a timer, so they
//! do not pile up for users who never come back (SPEC 8.4). Reads ignore them meanwhile, and
//! opening a ceremony forgets its user's own; this bounds the rest. Every instance may run it:
//! the deletion is idempotent.

use std::sync::Arc;
use std::time::Duration;

use temporary_access_pass::Clock as _;
use temporary_access_pass::store::AsyncStore;

use crate::app::App;
use crate::identity::{Authenticator, Directory};

/// Deletes the ceremonies that are over every `every`, until the task is dropped or aborted.
/// A failure is logged, and the next tick tries again.
pub async fn forget_finished_ceremonies<S, A, D>(app: Arc<App<S, A, D>>, every: Duration)
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = app.engine.clock().now();
        match app.bounded(app.engine.store().prune_ceremonies(now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(forgotten)) => tracing::info!(forgotten, "ceremonies that were over, deleted"),
            Ok(Err(error)) => {
                app.metrics.store_trouble("error");
                tracing::warn!(%error, "deleting the ceremonies that were over failed: next time");
            }
            Err(_) => tracing::warn!("deleting the ceremonies that were over timed out: next time"),
        }
    }
}
