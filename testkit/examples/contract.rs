//! The contract test (`.ci/check-contract`): the service's binary on SQLite with the
//! demonstration's files, two passkeys provisioned for Chris so that the routes of a key are
//! reached past 404, then Schemathesis (from `PyPI`, on the `PATH`) with
//! `service/schemathesis.toml`: every check, the stateful phase, a fixed seed. Exits with
//! Schemathesis's status.
//!
//! ```text
//! cargo build -p temporary-access-pass-graph-service
//! cargo run -p temporary-access-pass-testkit --features service --example contract -- \
//!     target/debug/temporary-access-pass-graph-service
//! ```
//!
//! Loopback only: the binary listens on 127.0.0.1 on a port of the system's choosing.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test's driver: a failed step ends it, and it says what it runs"
)]

use std::process::Command;
use std::time::Duration;

use temporary_access_pass_testkit::demo::{CHRIS_ID, GA_TOKEN};
use temporary_access_pass_testkit::passkey::provision;
use temporary_access_pass_testkit::service::{Binary, demo_env, enable_policy, scratch, set};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::Url;

#[tokio::main]
async fn main() {
    let binary = std::env::args().nth(1).expect("the service's binary");
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let (dir, pepper) = scratch();
    let mut env = demo_env(dir.path(), &pepper);
    // Schemathesis sends a few thousand requests from one address: the limits stay checked,
    // at a rate it does not reach.
    set(&mut env, "TAP_SIGN_IN_RATE", "100000/s");
    set(&mut env, "TAP_SIGN_IN_BURST", "100000");
    let mut service = Binary::start(&binary, &env)
        .unwrap_or_else(|log| panic!("the service did not start: {log:#?}"));
    let base = service.base();
    enable_policy(&base, GA_TOKEN).await;
    let origin = Url::parse(&base.replace("127.0.0.1", "localhost")).expect("an origin");
    let mut methods = Vec::new();
    for _ in 0..2 {
        let (status, body) = provision(
            &base,
            GA_TOKEN,
            CHRIS_ID,
            &mut SoftPasskey::new(true),
            &origin,
        )
        .await;
        assert_eq!(status, 201, "provisioning a key: {body}");
        methods.push(body["id"].as_str().expect("a method id").to_owned());
    }
    println!("the service at {base}, Chris's keys {methods:?}");
    // Its cache and the failures it finds go to the scratch folder, not the repository.
    let status = Command::new("schemathesis")
        .current_dir(dir.path())
        .env("TAP_CONTRACT_TOKEN", GA_TOKEN.trim_start_matches("Bearer "))
        .env("TAP_CONTRACT_METHOD", &methods[0])
        .args([
            "--config-file",
            &format!("{root}/service/schemathesis.toml"),
        ])
        .args([
            "run",
            &format!("{root}/service/openapi.json"),
            "--url",
            &base,
        ])
        .status()
        .expect("schemathesis runs (pip install schemathesis)");
    service.terminate();
    service.wait(Duration::from_secs(30));
    std::process::exit(status.code().unwrap_or(1));
}
