//! The latency of a passkey's two ceremonies through the service's binary (BENCHMARKS.md,
//! "Passkey ceremonies"): a registration inside a pass's window (the options, then the
//! attestation) and a passkey sign-in (the options, then the assertion), one user at a time,
//! on SQLite and on PostgreSQL. Only the service's round trips are timed: the software
//! authenticator's own work between them is not. Prints p50 and p99 per ceremony and store.
//!
//! ```text
//! cargo build --release -p temporary-access-pass-graph-service
//! cargo run --release -p temporary-access-pass-testkit --features service --example ceremonies -- \
//!     target/release/temporary-access-pass-graph-service [--rounds 300] [--before]
//! ```
//!
//! `--before` speaks to a binary built before the store kept the ceremonies (issue 24), whose
//! passkey sign-in answer did not name its user. Loopback only.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    clippy::panic,
    reason = "a benchmark's driver: a failed step ends it, it times requests on the wall clock, \
              and it prints its table"
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use temporary_access_pass_testkit::demo::{GA_TOKEN, HELPDESK_TOKEN, passes};
use temporary_access_pass_testkit::passkey::cookie;
use temporary_access_pass_testkit::postgres::Scratch;
use temporary_access_pass_testkit::service::{
    Binary, client, demo_env, enable_policy, scratch, set,
};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// One timed request: its status, body, `Set-Cookie` value (up to the first `;`) and duration.
async fn timed(request: reqwest::RequestBuilder) -> (u16, Value, Option<String>, Duration) {
    let started = Instant::now();
    let response = request.send().await.expect("the service answers");
    let status = response.status().as_u16();
    let cookie = cookie(&response);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, cookie, started.elapsed())
}

/// The `p`th percentile of `sorted`, in milliseconds.
fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let at = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[at.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `rounds` users, each given a pass, registering a key with it, then signing in with the key:
/// the time of each registration and each passkey sign-in.
async fn measure(base: &str, rounds: usize, before: bool) -> (Vec<Duration>, Vec<Duration>) {
    let http = client();
    let origin = Url::parse(&base.replace("127.0.0.1", "localhost")).expect("an origin");
    let (mut registrations, mut sign_ins) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        let user = format!("k{i}@bench.test");
        let (status, pass, _, _) = timed(
            http.post(format!("{base}{}", passes(&user)))
                .header("authorization", HELPDESK_TOKEN)
                .json(&json!({})),
        )
        .await;
        assert_eq!(status, 201, "{pass}");
        let code = pass["temporaryAccessPass"].as_str().expect("a code");
        let (status, body, session, _) = timed(
            http.post(format!("{base}/signIn/temporaryAccessPass"))
                .json(&json!({"userId": user, "temporaryAccessPass": code})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let session = session.expect("a session cookie");

        let mut key = SoftPasskey::new(true);
        let (status, options, _, asked) = timed(
            http.post(format!("{base}/webauthn/registration/options"))
                .header("cookie", &session)
                .json(&json!({"userId": user, "displayName": "Bench key"})),
        )
        .await;
        assert_eq!(status, 200, "{options}");
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = key.do_registration(origin.clone(), options).unwrap();
        let (status, body, _, answered) = timed(
            http.post(format!("{base}/webauthn/registration"))
                .header("cookie", &session)
                .json(
                    &json!({"userId": user, "displayName": "Bench key", "credential": credential}),
                ),
        )
        .await;
        assert!(status == 200 || status == 201, "{status}: {body}");
        registrations.push(asked + answered);

        let (status, options, login, asked) = timed(
            http.post(format!("{base}/webauthn/authentication/options"))
                .json(&json!({"userId": user})),
        )
        .await;
        assert_eq!(status, 200, "{options}");
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let assertion = key.do_authentication(origin.clone(), options).unwrap();
        let body = if before {
            json!({"credential": assertion})
        } else {
            json!({"userId": user, "credential": assertion})
        };
        let mut answer = http
            .post(format!("{base}/webauthn/authentication"))
            .json(&body);
        if let Some(login) = login {
            answer = answer.header("cookie", login);
        }
        let (status, body, _, answered) = timed(answer).await;
        assert_eq!(status, 200, "{body}");
        sign_ins.push(asked + answered);
    }
    (registrations, sign_ins)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let binary = args.first().expect("the service's binary").clone();
    let before = args.iter().any(|a| a == "--before");
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|at| args.get(at + 1))
        .map_or(300, |n| n.parse().expect("a number of rounds"));

    println!("| store | ceremony | rounds | p50 ms | p99 ms |");
    println!("|---|---|---:|---:|---:|");
    for store in ["sqlite", "postgresql"] {
        let (dir, pepper) = scratch();
        let mut env = demo_env(dir.path(), &pepper);
        let mut users: Vec<Value> =
            serde_json::from_str(temporary_access_pass_testkit::demo::DIRECTORY).unwrap();
        users.extend((0..rounds).map(|i| json!({"id": format!("k{i}@bench.test")})));
        let directory = dir.path().join("directory.json");
        std::fs::write(&directory, serde_json::to_vec(&users).unwrap()).unwrap();
        set(
            &mut env,
            "TAP_DIRECTORY_FILE",
            &directory.display().to_string(),
        );
        // The per-source limits would refuse one client's steady stream: raised, still checked.
        set(&mut env, "TAP_SIGN_IN_RATE", "1000000/s");
        set(&mut env, "TAP_SIGN_IN_BURST", "1000000");
        let schema = if store == "postgresql" {
            let schema = Scratch::new("ceremonies").await;
            set(&mut env, "TAP_DATABASE_URL", &schema.url());
            set(&mut env, "TAP_TENANT", "bench");
            Some(schema)
        } else {
            None
        };
        let mut service = Binary::start(&binary, &env)
            .unwrap_or_else(|log| panic!("the service did not start: {log:#?}"));
        enable_policy(&service.base(), GA_TOKEN).await;
        let (mut registrations, mut sign_ins) = measure(&service.base(), rounds, before).await;
        service.terminate();
        service.wait(Duration::from_secs(30));
        drop(schema);
        for (what, samples) in [
            ("registration", &mut registrations),
            ("passkey sign-in", &mut sign_ins),
        ] {
            samples.sort();
            println!(
                "| {store} | {what} | {} | {:.2} | {:.2} |",
                samples.len(),
                percentile(samples, 50),
                percentile(samples, 99)
            );
        }
    }
}
