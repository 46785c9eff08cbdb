//! The fuzzers' kept corpus, replayed through the service targets' bodies
//! (`temporary_access_pass_graph_service::fuzzing`) in the ordinary test run: every input the
//! fuzzer kept (`fuzz/corpus/<target>/`) and every crash it ever found
//! (`fuzz/regressions/<target>/`) must pass each target's properties again, which the bodies
//! assert (a broken one panics and fails the test).
//!
//! Each test also states how deep its corpus reaches: a corpus that lost its depth (a format
//! change that makes the kept inputs decode to something else, say) fails here, where it would
//! otherwise only make the fuzzer start from scratch.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failed step is a failed test"
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use axum::http::{Method, StatusCode};
use temporary_access_pass_graph_service::fuzzing::{http, jwt, webauthn};

/// Every input kept for `target`: its corpus and its regressions, by file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs = Vec::new();
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable directory").path();
            let bytes = fs::read(&path).expect("a readable input");
            inputs.push((path.display().to_string(), bytes));
        }
    }
    inputs.sort();
    inputs
}

/// Every kept input of `target` through `run`, at least `at_least` of them, each named when
/// it breaks a property.
fn replay<T>(target: &str, at_least: usize, run: impl Fn(&[u8]) -> T) -> Vec<T> {
    let inputs = inputs(target);
    assert!(
        inputs.len() >= at_least,
        "the kept corpus of {target} is gone: {} inputs",
        inputs.len()
    );
    inputs
        .iter()
        .map(|(name, bytes)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(bytes)))
                .unwrap_or_else(|_| panic!("{name} breaks a property"))
        })
        .collect()
}

#[test]
fn the_http_corpus_keeps_its_properties_and_reaches_past_the_parsers() {
    let seen: Vec<http::Seen> = replay("service_http", 50, http::run)
        .into_iter()
        .flatten()
        .collect();
    let statuses: BTreeSet<u16> = seen.iter().map(|s| s.status.as_u16()).collect();
    let reached = |method: Method, suffix: &str, status: StatusCode| {
        seen.iter()
            .any(|s| s.method == method && s.path.ends_with(suffix) && s.status == status)
    };
    // The refusals Graph's body must carry, each reached by some input.
    for status in [400, 401, 403, 404, 405] {
        assert!(
            statuses.contains(&status),
            "no input reaches a {status}: {statuses:?}"
        );
    }
    // Past the parsers: a creation of the input's own, and a sign-in with a shown code.
    assert!(
        reached(
            Method::POST,
            "/temporaryAccessPassMethods",
            StatusCode::CREATED
        ),
        "no input creates a pass"
    );
    assert!(
        reached(Method::POST, "/signIn/temporaryAccessPass", StatusCode::OK),
        "no input signs in"
    );
}

#[test]
fn the_jwt_corpus_keeps_its_properties_and_reaches_both_callers() {
    let verdicts = replay("service_jwt", 20, jwt::run);
    for verdict in [jwt::Verdict::Refused, jwt::Verdict::User, jwt::Verdict::App] {
        assert!(
            verdicts.contains(&Some(verdict)),
            "no input's token ends {verdict:?}"
        );
    }
}

#[test]
fn the_webauthn_corpus_keeps_its_properties_and_registers_a_key() {
    let verdicts = replay("service_webauthn", 20, webauthn::run);
    for verdict in [
        webauthn::Verdict::Refused,
        webauthn::Verdict::Registered,
        webauthn::Verdict::Named,
        webauthn::Verdict::Aaguid,
    ] {
        assert!(
            verdicts.contains(&Some(verdict)),
            "no input ends {verdict:?}"
        );
    }
}
