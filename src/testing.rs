//! Harness kit for downstream tests (feature `test-support`). **Not covered by semver:** checks
//! may be added or tightened in any release.
//!
//! - [`conformance`]: the store conformance suite, sequential checks and races with real
//!   threads, that any [`Store`](crate::store::Store) implementation runs in its own tests.
//! - [`strategies`]: `proptest` strategies for policies, principals, creation requests and
//!   clock schedules.
//!
//! `proptest` is re-exported, so a harness uses the same version as the strategies.

pub mod conformance;
pub mod strategies;

pub use proptest;
