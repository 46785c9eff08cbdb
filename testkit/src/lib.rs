//! What the workspace's tests share, as a package rather than paths into another package's
//! `tests/` (`publish = false`; a dev-dependency only):
//!
//! - [`postgres`]: the test database, a scratch schema per test, dropped when the test ends;
//! - `service` (feature `service`): the reference service served in the test's process, or
//!   its binary run as a child process, and raw HTTP for what a client library would tidy up;
//! - `demo` (feature `service`): the demonstration's principals, as the service's tests name
//!   them to its test authenticator and to its bearer-token authenticator;
//! - `passkey` (feature `service`): a software authenticator's ceremonies against a running
//!   service: a key provisioned by an administrator, a sign-in with it.
//!
//! A failed set-up panics: it is a failed test, never a skipped one.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::missing_panics_doc,
    clippy::must_use_candidate,
    clippy::missing_errors_doc,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test support: a broken set-up fails the test that asked for it, with the reason"
)]

#[cfg(feature = "service")]
pub mod demo;
#[cfg(feature = "service")]
pub mod passkey;
pub mod postgres;
#[cfg(feature = "service")]
pub mod service;
