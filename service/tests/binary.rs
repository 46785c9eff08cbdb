//! The binary as an operator runs it: SIGTERM during load drops no request; its log is JSON
//! lines naming each request and never a code; its startup names the store's target and
//! never a password, and refuses a database URL that names only a host; it serves HTTPS with
//! rustls; and it refuses the test authenticator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use temporary_access_pass_testkit::postgres as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use temporary_access_pass_testkit::demo::{
    GA_TOKEN as GA, HELPDESK_ID, HELPDESK_TOKEN as HELPDESK, POLICY,
};
use temporary_access_pass_testkit::service::{
    Binary, client, create_pass, demo_env, enable_policy, enable_policy_with, scratch,
};
use temporary_access_pass_testkit::service_binary;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const CHRIS: &str = "/v1.0/users/chris@contoso.com/authentication/temporaryAccessPassMethods";

fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.to_owned()));
}

/// One request on a connection of its own, its body sent in `pieces` over `spread`; whether
/// the connection was made before `signalled` was set, and the response's status line.
async fn request(
    address: String,
    head: String,
    body: String,
    pieces: usize,
    spread: Duration,
    signalled: Arc<AtomicBool>,
) -> (bool, Result<String, String>) {
    let Ok(mut stream) = TcpStream::connect(&address).await else {
        return (false, Err("refused".into()));
    };
    let before = !signalled.load(Ordering::SeqCst);
    let sent = async {
        stream.write_all(head.as_bytes()).await?;
        let bytes = body.as_bytes();
        let size = bytes.len().div_ceil(pieces.max(1)).max(1);
        for piece in bytes.chunks(size) {
            stream.write_all(piece).await?;
            tokio::time::sleep(spread / u32::try_from(pieces.max(1)).unwrap()).await;
        }
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(30), sent).await {
        Ok(Ok(answer)) if !answer.is_empty() => {
            let text = String::from_utf8_lossy(&answer).into_owned();
            (before, Ok(text.lines().next().unwrap_or("").to_owned()))
        }
        Ok(Ok(_)) => (before, Err("closed without an answer".into())),
        Ok(Err(e)) => (before, Err(e.to_string())),
        Err(_) => (before, Err("no answer in 30 s".into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_load_drops_no_request() {
    let (dir, pepper) = scratch();
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_SIGN_IN_RATE", "10000/s");
    set(&mut env, "TAP_SIGN_IN_BURST", "10000");
    set(&mut env, "TAP_SHUTDOWN_GRACE", "10s");
    let mut binary =
        Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    enable_policy(&binary.base(), GA).await;
    let signalled = Arc::new(AtomicBool::new(false));
    let address = binary.address.clone();
    let patch = json!({"state": "enabled"}).to_string();
    let slow_head = format!(
        "PATCH {POLICY} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {GA}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        patch.len()
    );
    // Requests whose bodies take a second to arrive: in flight when the signal comes.
    let mut slow = Vec::new();
    for _ in 0..8 {
        slow.push(tokio::spawn(request(
            address.clone(),
            slow_head.clone(),
            patch.clone(),
            10,
            Duration::from_secs(1),
            signalled.clone(),
        )));
    }
    // And a stream of quick ones (creations, listings, sign-ins), until the service is gone.
    let mut quick = Vec::new();
    for task in 0..8 {
        let address = address.clone();
        let signalled = signalled.clone();
        quick.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..400 {
                let (head, body) = match (task + i) % 3 {
                    0 => (
                        format!("POST {CHRIS} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {HELPDESK}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"),
                        "{}".to_owned(),
                    ),
                    1 => (
                        format!("GET {CHRIS} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {HELPDESK}\r\nConnection: close\r\n\r\n"),
                        String::new(),
                    ),
                    _ => {
                        let body = json!({"userId": "chris@contoso.com", "temporaryAccessPass": "guess-guess"}).to_string();
                        (
                            format!("POST /signIn/temporaryAccessPass HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()),
                            body,
                        )
                    }
                };
                let outcome =
                    request(address.clone(), head, body, 1, Duration::ZERO, signalled.clone()).await;
                let refused = outcome.1.as_ref().is_err_and(|e| e == "refused");
                outcomes.push(outcome);
                if refused {
                    break;
                }
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    signalled.store(true, Ordering::SeqCst);
    binary.terminate();

    let mut answered_before = 0;
    for task in slow {
        let (before, outcome) = task.await.unwrap();
        assert!(before, "the slow requests started before the signal");
        let status = outcome.unwrap_or_else(|e| panic!("an in-flight request was dropped: {e}"));
        assert!(status.starts_with("HTTP/1.1 204"), "{status}");
        answered_before += 1;
    }
    for task in quick {
        for (before, outcome) in task.await.unwrap() {
            match outcome {
                Ok(status) => {
                    assert!(
                        [
                            "HTTP/1.1 201",
                            "HTTP/1.1 200",
                            "HTTP/1.1 401",
                            "HTTP/1.1 409"
                        ]
                        .iter()
                        .any(|s| status.starts_with(s)),
                        "{status}"
                    );
                    answered_before += usize::from(before);
                }
                // A connection made before the signal is served; after it, the port is
                // closed and connecting is refused, which a client retries elsewhere.
                Err(e) => assert!(!before, "a request connected before SIGTERM got: {e}"),
            }
        }
    }
    assert!(answered_before > 8, "{answered_before} requests answered");
    let status = binary.wait(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    let lines = binary.lines();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    for expected in [
        "shutting down: no new connections",
        "the listener is closed; finishing in-flight requests",
        "every in-flight request finished",
        "the SQLite store is closed",
        "stopped",
    ] {
        assert!(
            messages.contains(&expected),
            "{expected:?} not in {messages:#?}"
        );
    }
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_json_lines_naming_each_request_and_never_a_code() {
    let (dir, pepper) = scratch();
    let mut binary = Binary::start(service_binary!(), &demo_env(dir.path(), &pepper)).unwrap();
    let base = binary.base();
    enable_policy(&base, GA).await;
    let http = client();
    let created: Value = http
        .post(format!("{base}{CHRIS}"))
        .header("authorization", HELPDESK)
        .header("client-request-id", "5d0b7a3c-7d2f-4e0b-a1f3-3b9e5c1d2e4f")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["temporaryAccessPass"].as_str().unwrap().to_owned();
    for attempt in [format!("{code}x"), code.clone()] {
        let _ = http
            .post(format!("{base}/signIn/temporaryAccessPass"))
            .json(&json!({"userId": "chris@contoso.com", "temporaryAccessPass": attempt}))
            .send()
            .await
            .unwrap();
    }
    binary.terminate();
    assert!(binary.wait(Duration::from_secs(15)).success());
    let text = binary.log.lock().unwrap().join("\n");
    assert!(!text.contains(&code), "the log holds a code");
    let lines = binary.lines();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(requests.len(), 4, "{lines:#?}");
    for line in &requests {
        for field in ["timestamp", "level", "status", "latency_ms"] {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
        let span = &line["span"];
        for field in ["request_id", "method", "route"] {
            assert!(span.get(field).is_some(), "{field} missing: {line}");
        }
    }
    let creation = requests
        .iter()
        .find(|l| l["span"]["method"] == "POST" && l["status"] == 201)
        .unwrap();
    assert_eq!(
        creation["span"]["route"],
        "/v1.0/users/{id}/authentication/temporaryAccessPassMethods"
    );
    // The caller is logged as the directory knows them: by object id (SPEC 3.6).
    assert_eq!(creation["span"]["caller"], HELPDESK_ID);
    let sign_ins: Vec<&&Value> = requests
        .iter()
        .filter(|l| l["span"]["route"] == "/signIn/temporaryAccessPass")
        .collect();
    assert_eq!(
        sign_ins
            .iter()
            .map(|l| l["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [401, 200]
    );
    assert!(
        sign_ins
            .iter()
            .all(|l| l["span"]["caller"] == "chris@contoso.com")
    );
    // Why the refusal was refused, for the operator, without the code.
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "sign-in refused" && l["reason"].is_string()),
        "{lines:#?}"
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_names_the_postgresql_target_never_its_password_and_refuses_a_bare_host() {
    let (dir, pepper) = scratch();
    let scratch_schema = support::Scratch::new("startup").await;
    let server = support::server();
    let host = match &server.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
    };
    let port = server.get_ports().first().copied().unwrap_or(5432);
    let mut env = demo_env(dir.path(), &pepper);

    set(
        &mut env,
        "TAP_DATABASE_URL",
        &format!("host={host} port={port}"),
    );
    let log = Binary::start(service_binary!(), &env).expect_err("a bare host is refused");
    let text = log.join("\n");
    assert!(text.contains("TAP_DATABASE_URL names no dbname"), "{text}");

    let url = format!(
        "host={host} port={port} user={} dbname={} password=s3cret-pw options='-c search_path={}'",
        server.get_user().unwrap(),
        server.get_dbname().unwrap(),
        scratch_schema.name
    );
    set(&mut env, "TAP_DATABASE_URL", &url);
    set(&mut env, "TAP_TENANT", "contoso");
    set(&mut env, "TAP_OPS_LISTEN", "127.0.0.1:0");
    let mut binary =
        Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    let ops = binary.ops_base().expect("an operations' address");
    let response = client()
        .get(format!("{ops}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    binary.terminate();
    assert!(binary.wait(Duration::from_secs(15)).success());
    let text = binary.log.lock().unwrap().join("\n");
    assert!(
        !text.contains("s3cret-pw"),
        "the log holds the password: {text}"
    );
    let lines = binary.lines();
    let store = lines
        .iter()
        .find(|l| l["message"] == "the store")
        .expect("the store's line");
    assert_eq!(
        store["target"],
        format!(
            "host={host} port={port} dbname={} user={} schema={} tenant=\"contoso\"",
            server.get_dbname().unwrap(),
            server.get_user().unwrap(),
            scratch_schema.name
        )
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "the PostgreSQL pool is closed")
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_serves_https_with_rustls_and_a_plain_client_is_turned_away() {
    let (dir, pepper) = scratch();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_TLS_CERT_FILE", &cert.display().to_string());
    set(&mut env, "TAP_TLS_KEY_FILE", &key.display().to_string());
    set(&mut env, "TAP_HEADER_TIMEOUT", "1s");
    let mut binary =
        Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    let _ = client();
    let https = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let response = https
        .get(format!("https://{}/health/live", binary.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000",
        "served over TLS, browsers are told to come back only over it"
    );
    assert!(
        binary
            .lines()
            .iter()
            .any(|l| l["message"] == "listening" && l["scheme"] == "https")
    );
    // Under HTTPS the registration session's cookie is bound to the host: `__Host-`, `Secure`,
    // `Path=/`, no `Domain`, so a sibling subdomain cannot plant one.
    let base = format!("https://{}", binary.address);
    enable_policy_with(&https, &base, GA).await;
    let created = create_pass(
        &https,
        &base,
        "chris@contoso.com",
        ("authorization", HELPDESK),
    )
    .await;
    let signed_in = https
        .post(format!("{base}/signIn/temporaryAccessPass"))
        .json(&json!({"userId": "chris@contoso.com",
            "temporaryAccessPass": created["temporaryAccessPass"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-tap_registration="), "{cookie}");
    assert!(
        cookie.contains("; Path=/;") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    // Plain HTTP on the TLS port: the handshake fails and the connection closes.
    let plain = tokio::time::timeout(
        Duration::from_secs(5),
        raw_answer(
            &binary.address,
            b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
    )
    .await
    .expect("closed, not left hanging");
    assert!(!plain.starts_with("HTTP/1.1 200"), "{plain}");
    // A client that opens a connection and never says hello is cut off after the header
    // timeout.
    let silent = TcpStream::connect(&binary.address).await.unwrap();
    let mut silent = silent;
    let mut buffer = [0_u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer))
        .await
        .expect("the silent connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)));
    binary.terminate();
    assert!(binary.wait(Duration::from_secs(15)).success());
    drop(dir);
}

async fn raw_answer(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn the_binary_refuses_to_start_without_what_it_needs_and_says_what() {
    let (dir, pepper) = scratch();
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_AUTHENTICATOR", "jwt");
    let log = Binary::start(service_binary!(), &env)
        .unwrap_err()
        .join("\n");
    assert!(log.contains("TAP_JWT_ISSUER is required"), "{log}");
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_BODY_LIMIT", "lots");
    let log = Binary::start(service_binary!(), &env)
        .unwrap_err()
        .join("\n");
    assert!(
        log.contains("TAP_BODY_LIMIT=lots: a size such as 16KiB"),
        "{log}"
    );
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_LISTEN", "8080");
    let log = Binary::start(service_binary!(), &env)
        .unwrap_err()
        .join("\n");
    assert!(log.contains("TAP_LISTEN=8080: no port"), "{log}");
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_LISTEN", "localhost:0");
    let binary = Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    assert!(binary.address.starts_with("127.0.0.1:") || binary.address.starts_with("[::1]:"));
    drop(binary);
    drop(dir);
}

/// A rolling restart as a load balancer sees it: 8 clients, each reusing its keep-alive
/// connection, send creations, listings and sign-ins, and SIGTERM comes mid-load. Readiness
/// fails at once while the instance still serves; during the drain every response closes its
/// connection, so no client sends on a connection about to close; and every request the
/// service received is answered: none is cut off after it was sent. Once the listener is
/// closed, connecting is refused, which a client retries on another instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_keep_alive_load_leaves_no_request_unanswered() {
    let (dir, pepper) = scratch();
    let mut env = demo_env(dir.path(), &pepper);
    set(&mut env, "TAP_DRAIN_PERIOD", "1s");
    set(&mut env, "TAP_OPS_LISTEN", "127.0.0.1:0");
    set(&mut env, "TAP_SIGN_IN_RATE", "10000/s");
    set(&mut env, "TAP_SIGN_IN_BURST", "10000");
    let mut binary =
        Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    let base = binary.base();
    let ops = binary.ops_base().expect("an operations' address");
    enable_policy(&base, GA).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for task in 0..8 {
        let base = base.clone();
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            // One connection, reused while the service keeps it open: a balancer's pool.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let (mut answered, mut refused, mut closing) = (0_usize, 0_usize, 0_usize);
            let mut lost = Vec::new();
            let mut n = 0_usize;
            while !stop.load(Ordering::SeqCst) && n < 20_000 {
                n += 1;
                let request = match n % 3 {
                    0 => http
                        .post(format!("{base}{CHRIS}"))
                        .header("authorization", HELPDESK)
                        .json(&json!({})),
                    1 => http
                        .get(format!("{base}{CHRIS}"))
                        .header("authorization", HELPDESK),
                    _ => http
                        .post(format!("{base}/signIn/temporaryAccessPass"))
                        .json(&json!({"userId": "chris@contoso.com",
                            "temporaryAccessPass": format!("wrong-{task}-{n}")})),
                };
                match request.send().await {
                    Ok(response) => {
                        answered += 1;
                        if response
                            .headers()
                            .get("connection")
                            .is_some_and(|v| v == "close")
                        {
                            closing += 1;
                        }
                        let _ = response.bytes().await;
                    }
                    Err(e) if e.is_connect() => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => lost.push(format!("{e:?}")),
                }
            }
            (answered, refused, closing, lost)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    binary.terminate();
    let probe = client();
    let mut not_ready = false;
    for _ in 0..40 {
        match probe.get(format!("{ops}/health/ready")).send().await {
            Ok(response) if response.status() == 503 => {
                not_ready = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(not_ready, "readiness did not fail during the drain");
    // The drain is a second; the clients go on past it, until the listener is gone.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::SeqCst);
    let (mut answered, mut refused, mut closing) = (0, 0, 0);
    for task in clients {
        let (a, r, c, lost) = task.await.unwrap();
        assert!(
            lost.is_empty(),
            "requests sent and never answered: {lost:#?}"
        );
        answered += a;
        refused += r;
        closing += c;
    }
    assert!(answered > 100, "{answered} requests answered");
    assert!(
        closing > 0,
        "no response closed its connection during the drain"
    );
    assert!(refused > 0, "the listener never closed");
    assert!(binary.wait(Duration::from_secs(15)).success());
    let lines = binary.lines();
    assert!(
        lines.iter().any(|l| l["message"]
            == "draining: readiness fails and every response closes its connection"),
        "{lines:#?}"
    );
    drop(dir);
}
