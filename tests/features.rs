//! The integration tests (`tests/integration`) use the harness kit, the async suite included, so
//! they are built only with the `test-support-tokio` feature. Without it this test fails, saying how to run them, rather than
//! letting `cargo test` pass with most tests silently left out.
#![allow(clippy::panic, reason = "a test fails by panicking")]

#[cfg(not(feature = "test-support-tokio"))]
#[test]
fn the_integration_tests_need_the_test_support_feature() {
    panic!(
        "the integration tests need the `test-support-tokio` feature: run `cargo test --workspace --all-features` (README)"
    );
}
