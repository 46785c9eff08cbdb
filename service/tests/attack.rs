//! The attack of issue 24 on the binary, as an attacker would run it: a user at the cap of keys
//! cannot add one, and a stream of passkey sign-in options for a user holding the most keys,
//! each with attestation certificates, keeps the service's memory small, because a sign-in's
//! state (in the store) holds a challenge and credential ids, never a key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use std::time::Duration;

use temporary_access_pass::onboarding::DEFAULT_METHODS_PER_USER;
use temporary_access_pass_testkit::demo::GA_TOKEN;
use temporary_access_pass_testkit::passkey::{provision, sign_in, sign_in_options};
use temporary_access_pass_testkit::service::{Binary, demo_env, enable_policy, scratch, set};
use temporary_access_pass_testkit::service_binary;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_rs::prelude::Url;

const CHRIS: &str = "chris@contoso.com";

/// The peak resident memory of process `pid` (`VmHWM`), in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_at_the_cap_adds_no_key_and_a_stream_of_sign_in_options_keeps_memory_small() {
    let (dir, pepper) = scratch();
    let mut env = demo_env(dir.path(), &pepper);
    // The per-source limit is not what this measures: a botnet spreads its requests anyway.
    set(&mut env, "TAP_SIGN_IN_RATE", "1000000/s");
    set(&mut env, "TAP_SIGN_IN_BURST", "1000000");
    let binary = Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    let base = binary.base();
    let port = binary.address.rsplit(':').next().unwrap();
    let origin = Url::parse(&format!("http://localhost:{port}")).unwrap();
    enable_policy(&base, GA_TOKEN).await;

    // The most keys a user may hold, each a software token's, with its attestation chain.
    let mut keys = Vec::new();
    for n in 0..DEFAULT_METHODS_PER_USER {
        let (mut token, _ca) = SoftToken::new(true).unwrap();
        let (status, method) = provision(&base, GA_TOKEN, CHRIS, &mut token, &origin).await;
        assert_eq!(status, 201, "key {n}: {method}");
        keys.push(token);
    }
    // One more is refused, and nothing is added.
    let (mut extra, _ca) = SoftToken::new(true).unwrap();
    let (status, refused) = provision(&base, GA_TOKEN, CHRIS, &mut extra, &origin).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the most allowed")
    );

    // A thousand sign-in options for that user, 8 at a time.
    let before = peak_kib(binary.child.id());
    for _ in 0..125 {
        let batch: Vec<_> = (0..8)
            .map(|_| {
                let base = base.clone();
                tokio::spawn(async move { sign_in_options(&base, CHRIS).await.0 })
            })
            .collect();
        for request in batch {
            assert_eq!(request.await.unwrap(), 200);
        }
    }
    let after = peak_kib(binary.child.id());
    assert!(
        after < 64 * 1024,
        "peak resident memory {after} KiB (before the stream: {before} KiB) is over 64 MiB"
    );
    // The keys still sign in: the stream ended only the oldest sign-ins it opened.
    let (status, signed_in) = sign_in(&base, CHRIS, &mut keys[0], &origin).await;
    assert_eq!(status, 200, "{signed_in}");
    drop(binary);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
