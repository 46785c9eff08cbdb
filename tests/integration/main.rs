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
    reason = "tests name an issued pass `issued` beside the `issue` function, and keep local helpers next to their use"
)]

mod support;

mod edges;
mod issue;
mod passcode;
mod policy;
mod principal;
mod properties;
#[cfg(feature = "test-support")]
mod store;
mod usability;
