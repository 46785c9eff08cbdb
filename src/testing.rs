//! Harness kit for downstream tests (feature `test-support`). **Not covered by semver:** checks
//! may be added or tightened in any release.
//!
//! - [`conformance`]: the store conformance suite, sequential checks and races with real
//!   threads, that any [`Store`](crate::store::Store) implementation runs in its own tests;
//!   with the feature `test-support-tokio`, `conformance::tasks` runs the same checks through
//!   [`AsyncEngine`](crate::AsyncEngine) over an [`AsyncStore`](crate::store::AsyncStore),
//!   the races as tasks on a multi-threaded runtime.
//! - [`strategies`]: `proptest` strategies for policies, principals, creation requests and
//!   clock schedules.
//!
//! `proptest` (and with `test-support-tokio`, `tokio`) is re-exported, so a harness uses the
//! same version as the kit.

pub mod conformance;
pub mod model;
pub mod strategies;

pub use model::{Host, Model, check, operations};

pub use proptest;
#[cfg(feature = "test-support-tokio")]
pub use tokio;
