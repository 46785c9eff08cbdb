//! Integration tests, one binary with a module per concept (STYLE 16). Each test that checks a
//! numbered rule names it (`spec_4_3_...`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "tests assert by unwrapping and index fixed test data"
)]
#![allow(
    clippy::items_after_statements,
    clippy::too_many_lines,
    reason = "tests keep small helpers next to the assertions that use them"
)]

mod support;

mod admin;
#[cfg(all(feature = "serde", feature = "test-support"))]
mod audit;
#[cfg(feature = "test-support")]
mod availability;
mod clock;
mod create;
mod digest;
mod drivers;
mod engine;
#[cfg(feature = "serde")]
mod graph;
#[cfg(feature = "test-support")]
mod harness;
mod ids;
mod lockout;
mod model;
mod onboarding;
mod passcode;
mod policy;
mod principal;
mod readings;
mod register;
mod robustness;
mod sequences;
mod signin;
#[cfg(feature = "test-support")]
mod store;
mod usability;
