//! The service's limits, each tried as an attacker or a failing dependency would: slowloris
//! connections, idle keep-alive connections, connections past the cap, slow bodies, sign-ins
//! past the rate, a store that does not answer; and health and metrics, which an operator
//! watches all of this with.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use std::num::NonZeroU32;
use std::time::Duration;

use serde_json::json;
use temporary_access_pass::store::InMemoryStore;
use temporary_access_pass::testing::conformance::Slow;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_graph_service::{Limits, POLICY_PATH, Rate};
use temporary_access_pass_testkit::demo::GA;
use temporary_access_pass_testkit::service::{client, raw, start};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.header_timeout = Duration::from_secs(1);
    limits
}

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; the bytes read.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return bytes,
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_client_is_cut_off_while_real_requests_keep_being_served() {
    let running = start(InMemoryStore::new(), TestHeaders, limits()).await;
    let target = address(&running.base);
    // 64 connections that send their headers a line every 300 ms, never ending them.
    let mut slow = Vec::new();
    for _ in 0..64 {
        let target = target.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&target).await.unwrap();
            stream
                .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n")
                .await
                .unwrap();
            let (mut read, mut write) = stream.into_split();
            let trickle = async move {
                // 20 lines over 6 s: far past the 1 s header timeout.
                for i in 0..20 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if write
                        .write_all(format!("x-slow-{i}: 1\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return true;
                    }
                }
                false
            };
            let closed = async move {
                let mut buffer = [0_u8; 64];
                matches!(read.read(&mut buffer).await, Ok(0) | Err(_))
            };
            tokio::select! {
                cut = trickle => cut,
                cut = closed => cut,
            }
        }));
    }
    // Meanwhile, real requests, on connections of their own, are answered.
    let http = client();
    for _ in 0..20 {
        let response = http
            .get(format!("{}/health/live", running.base))
            .header("connection", "close")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for connection in slow {
        let cut = tokio::time::timeout(Duration::from_secs(5), connection)
            .await
            .expect("the slow connection is cut within 5 s")
            .unwrap();
        assert!(cut, "the server closed the slow connection");
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let running = start(InMemoryStore::new(), TestHeaders, limits()).await;
    let mut stream = TcpStream::connect(address(&running.base)).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let bytes = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream))
        .await
        .expect("the idle connection is closed within 5 s");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_closed_at_once_and_counted() {
    let mut limits = limits();
    limits.max_connections = 4;
    limits.header_timeout = Duration::from_secs(30);
    let running = start(InMemoryStore::new(), TestHeaders, limits).await;
    let target = address(&running.base);
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(&target).await.unwrap());
    }
    // Let the server accept the four.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = TcpStream::connect(&target).await.unwrap();
    let _ = fifth
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let answer = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut fifth))
        .await
        .expect("the connection past the cap is closed at once");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // The idle ones close; the slots come back.
    drop(idle);
    let mut metrics = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(response) = client()
            .get(format!("{}/metrics", running.ops))
            .send()
            .await
        {
            metrics = Some(response.text().await.unwrap());
            break;
        }
    }
    let metrics = metrics.expect("served again once the idle connections closed");
    let refused = metrics
        .lines()
        .find(|l| l.starts_with("tap_refused_connections_total"))
        .expect("the refused connections' counter");
    assert!(refused.ends_with(" 1"), "{refused}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_gets_408() {
    let mut limits = limits();
    limits.body_timeout = Duration::from_millis(500);
    let running = start(InMemoryStore::new(), TestHeaders, limits).await;
    let mut stream = TcpStream::connect(address(&running.base)).await.unwrap();
    let head = format!(
        "PATCH /v1.0{POLICY_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         x-test-principal: {GA}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"sta"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let bytes = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream))
        .await
        .expect("answered within 5 s");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"invalidRequest\""), "{text}");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_past_the_rate_of_a_source_get_429_with_retry_after() {
    let mut limits = limits();
    // One a minute, as `TAP_SIGN_IN_RATE=1/m` says: the wait is a minute, not a second.
    limits.sign_in_rate = Rate::new(NonZeroU32::MIN, Duration::from_secs(60)).unwrap();
    limits.sign_in_burst = NonZeroU32::new(3).unwrap();
    let running = start(InMemoryStore::new(), TestHeaders, limits).await;
    let http = client();
    let sign_in = || {
        http.post(format!("{}/signIn/temporaryAccessPass", running.base))
            .json(&json!({"userId": "chris@contoso.com", "temporaryAccessPass": "guess"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(sign_in().await.unwrap().status(), 401);
    }
    let throttled = sign_in().await.unwrap();
    assert_eq!(throttled.status(), 429);
    let retry: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((58..=60).contains(&retry), "Retry-After: {retry}");
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "activityLimitReached");
    let metrics = http
        .get(format!("{}/metrics", running.ops))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tap_sign_ins_total{outcome=\"throttled\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tap_sign_ins_total{outcome=\"no_pass\"} 3"),
        "{metrics}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_does_not_answer_gets_503_with_retry_after_and_the_instance_is_not_ready() {
    let mut limits = limits();
    limits.store_timeout = Duration::from_millis(300);
    let store = Slow::new(InMemoryStore::new(), Duration::from_secs(3));
    let running = start(store, TestHeaders, limits).await;
    let http = client();
    let response = http
        .get(format!("{}/v1.0{POLICY_PATH}", running.base))
        .header("x-test-principal", GA)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    let ready = http
        .get(format!("{}/health/ready", running.ops))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let live = http
        .get(format!("{}/health/live", running.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let metrics = http
        .get(format!("{}/metrics", running.ops))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tap_store_errors_total{kind=\"timeout\"} 2"),
        "{metrics}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_timeout_gets_408() {
    let mut limits = limits();
    limits.request_timeout = Duration::from_millis(300);
    let store = Slow::new(InMemoryStore::new(), Duration::from_secs(3));
    let running = start(store, TestHeaders, limits).await;
    let response = raw(
        &address(&running.base),
        format!(
            "GET /v1.0{POLICY_PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nx-test-principal: {GA}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(response.status, 408, "{}", response.body);
    assert_eq!(response.json()["error"]["code"], "invalidRequest");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_answer_and_the_metrics_name_routes_never_users() {
    let running = start(InMemoryStore::new(), TestHeaders, limits()).await;
    let http = client();
    for (base, path, status) in [
        (&running.base, "/health/live", "live"),
        (&running.ops, "/health/live", "live"),
        (&running.ops, "/health/ready", "ready"),
    ] {
        let response = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{base}{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], status);
    }
    // Readiness asks the store and the metrics count sign-ins by outcome: neither is on the
    // public address, where anyone could ask them.
    for path in ["/health/ready", "/metrics"] {
        let response = http
            .get(format!("{}{path}", running.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path} on the public address");
    }
    let passes = "/v1.0/users/chris@contoso.com/authentication/temporaryAccessPassMethods";
    let listed = http
        .get(format!("{}{passes}", running.base))
        .header(
            "x-test-principal",
            r#"{"id": "helpdesk@contoso.com", "roles": ["Authentication Administrator"]}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let response = http
        .get(format!("{}/metrics", running.ops))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let metrics = response.text().await.unwrap();
    assert!(
        metrics.contains(
            "tap_http_requests_total{method=\"GET\",route=\"/v1.0/users/{id}/authentication/temporaryAccessPassMethods\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("tap_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(!metrics.contains("chris@contoso.com"), "{metrics}");
    running.stop().await;
}

/// The per-source limit keys an IPv6 peer by its /64: a host that holds 2^64 addresses does not
/// get 2^64 budgets. An address of the next /64, and an IPv4 address, have budgets of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv6_slash_64_is_one_source_for_the_sign_in_limit() {
    use temporary_access_pass_graph_service::http::Source;
    let mut limits = limits();
    limits.sign_in_rate = Rate::per_second(NonZeroU32::MIN);
    limits.sign_in_burst = NonZeroU32::new(3).unwrap();
    let running = start(InMemoryStore::new(), TestHeaders, limits).await;
    let source = |text: &str| Source::of(text.parse().unwrap()).0;
    for n in 1..=3 {
        let peer = source(&format!("2001:db8:7:7::{n}"));
        assert!(running.app.sign_in_allowed(peer).is_ok(), "attempt {n}");
    }
    for other_address in ["2001:db8:7:7:ffff::1", "2001:db8:7:7:1:2:3:4"] {
        assert!(
            running.app.sign_in_allowed(source(other_address)).is_err(),
            "{other_address} is in the same /64: its budget is spent"
        );
    }
    assert!(
        running
            .app
            .sign_in_allowed(source("2001:db8:7:8::1"))
            .is_ok()
    );
    assert!(running.app.sign_in_allowed(source("192.0.2.1")).is_ok());
    running.stop().await;
}
