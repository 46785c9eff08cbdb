//! Hostile and malformed HTTP, sent raw: every error answers with Graph's body (`code`,
//! `message`, `innerError` with the request's ids and date), the status Graph gives, and
//! `Cache-Control: no-store`, whatever made it (a handler, a layer, the router); never a 5xx.
//! Unknown properties and wrong `@odata.type`s are refused by name and change nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use std::fmt::Write as _;

use serde_json::{Value, json};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::http::MAX_HEADER_LINES;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_graph_service::{Limits, POLICY_PATH};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{GA, HELPDESK};
use temporary_access_pass_testkit::service::{RawResponse, raw, start};

const PASSES: &str = "/v1.0/users/chris@contoso.com/authentication/temporaryAccessPassMethods";

fn request(method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(text, "{name}: {value}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(text, "Content-Length: {}\r\n", body.len());
    }
    text.push_str("\r\n");
    if let Some(body) = body {
        text.push_str(body);
    }
    text.into_bytes()
}

/// The checks every error response passes: Graph's body with `code`, and the ids and date in
/// `innerError` (the `request-id` the header carries too), and no caching.
fn graph_error(response: &RawResponse, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status, status,
        "{}\n{}",
        response.head, response.body
    );
    assert_eq!(
        response.header("cache-control"),
        Some("no-store"),
        "{}",
        response.head
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{}",
        response.head
    );
    let body = response.json();
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let id = response.header("request-id").expect("a request-id header");
    assert_eq!(error["innerError"]["request-id"], id, "{body}");
    assert_eq!(id.len(), 36, "a GUID: {id}");
    let date = error["innerError"]["date"].as_str().expect("a date");
    assert!(date.ends_with('Z') && date.contains('T'), "{date}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_has_graphs_body_and_status_whatever_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(SqliteStore::open(dir.path().join("passes.db")).unwrap());
    let running = start(store, TestHeaders, Limits::default()).await;
    let address = running.base.trim_start_matches("http://").to_owned();
    let policy = format!("/v1.0{POLICY_PATH}");
    let ga = [
        ("x-test-principal", GA),
        ("content-type", "application/json"),
    ];

    // The router: an unknown route, a method the route does not take, a path that is not
    // UTF-8 once decoded.
    graph_error(
        &raw(&address, &request("GET", "/v1.0/nothing", &ga, None)).await,
        404,
        "Request_ResourceNotFound",
    );
    graph_error(
        &raw(&address, &request("DELETE", &policy, &ga, None)).await,
        405,
        "notAllowed",
    );
    graph_error(
        &raw(
            &address,
            &request(
                "GET",
                "/v1.0/users/%FF%FE/authentication/temporaryAccessPassMethods",
                &ga,
                None,
            ),
        )
        .await,
        400,
        "badRequest",
    );

    // The envelope: a URI or headers too long.
    let long = format!("/v1.0/users/{}", "a".repeat(5000));
    graph_error(
        &raw(&address, &request("GET", &long, &ga, None)).await,
        414,
        "invalidRequest",
    );
    let padding = "b".repeat(20 * 1024);
    graph_error(
        &raw(
            &address,
            &request(
                "GET",
                &policy,
                &[("x-test-principal", GA), ("x-padding", &padding)],
                None,
            ),
        )
        .await,
        431,
        "invalidRequest",
    );

    // More header lines than hyper's default of 100 reach the service; so many that their
    // bytes pass the limit get Graph's 431, not hyper's bare one.
    let mut many = vec![("x-test-principal", GA)];
    many.extend(std::iter::repeat_n(("x-a", "1"), 200));
    let response = raw(&address, &request("GET", &policy, &many, None)).await;
    assert_eq!(response.status, 200, "{}", response.head);
    let short_lines = format!(
        "GET {policy} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{}\r\n",
        "a:\n".repeat(MAX_HEADER_LINES - 3)
    );
    graph_error(
        &raw(&address, short_lines.as_bytes()).await,
        431,
        "invalidRequest",
    );

    // Past the connection's header buffer (64 KiB), hyper itself answers 431, bare.
    let huge = "c".repeat(70 * 1024);
    let response = raw(
        &address,
        &request(
            "GET",
            &policy,
            &[("x-test-principal", GA), ("x-padding", &huge)],
            None,
        ),
    )
    .await;
    assert_eq!(response.status, 431, "{}", response.head);

    // The body: too large (stated, or streamed in chunks), not JSON, malformed JSON.
    let large = format!("{{\"state\": \"{}\"}}", "x".repeat(20 * 1024));
    graph_error(
        &raw(&address, &request("PATCH", &policy, &ga, Some(&large))).await,
        413,
        "invalidRequest",
    );
    let chunked = format!(
        "PATCH {policy} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nx-test-principal: {GA}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{large}\r\n0\r\n\r\n",
        large.len()
    );
    graph_error(
        &raw(&address, chunked.as_bytes()).await,
        413,
        "invalidRequest",
    );
    graph_error(
        &raw(
            &address,
            &request(
                "PATCH",
                &policy,
                &[("x-test-principal", GA), ("content-type", "text/plain")],
                Some("{}"),
            ),
        )
        .await,
        415,
        "notSupported",
    );
    graph_error(
        &raw(
            &address,
            &request("PATCH", &policy, &ga, Some("{\"state\": ")),
        )
        .await,
        400,
        "badRequest",
    );
    // An empty body is a bad request, as Graph answers it, whatever its content type says.
    for headers in [&ga[..], &[("x-test-principal", GA)][..]] {
        let error = graph_error(
            &raw(&address, &request("PATCH", &policy, headers, Some(""))).await,
            400,
            "badRequest",
        );
        assert!(error.to_string().contains("empty"), "{error}");
    }
    // A property given twice is refused by name, at any depth: a proxy in front that keeps the
    // first value would judge another request than the one served.
    for (path, headers, body, named) in [
        (
            policy.as_str(),
            &ga,
            r#"{"state": "disabled", "state": "enabled"}"#,
            "'state'",
        ),
        (
            policy.as_str(),
            &ga,
            r#"{"includeTargets": [{"targetType": "group", "id": "a", "id": "all_users", "isRegistrationRequired": false}]}"#,
            "'id'",
        ),
        (
            "/signIn/temporaryAccessPass",
            &ga,
            r#"{"userId": "chris@contoso.com", "userId": "ga@contoso.com", "temporaryAccessPass": "x"}"#,
            "'userId'",
        ),
    ] {
        let error = graph_error(
            &raw(
                &address,
                &request(
                    if path == policy { "PATCH" } else { "POST" },
                    path,
                    headers,
                    Some(body),
                ),
            )
            .await,
            400,
            "badRequest",
        );
        assert!(error.to_string().contains(named), "{error}");
    }

    // Unknown properties, and a wrong @odata.type, are named and change nothing.
    let before = raw(&address, &request("GET", &policy, &ga, None))
        .await
        .json();
    for (body, named) in [
        (json!({"isUsableonce": true}), "isUsableonce"),
        (
            json!({"state": "enabled", "defaultLifetime": 60}),
            "defaultLifetime",
        ),
        (
            json!({"includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false, "extra": 1}]}),
            "extra",
        ),
        (
            json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration"}),
            "fido2AuthenticationMethodConfiguration",
        ),
        // Another resource's key, a key of the wrong type, and null where a value belongs.
        (
            json!({"id": "Fido2", "state": "enabled"}),
            "\"TemporaryAccessPass\"",
        ),
        (json!({"id": 7}), "\"TemporaryAccessPass\""),
        (json!({"excludeTargets": null}), "null"),
        (json!({"defaultLifetimeInMinutes": 60.5}), "60.5"),
    ] {
        let response = raw(
            &address,
            &request("PATCH", &policy, &ga, Some(&body.to_string())),
        )
        .await;
        let error = graph_error(&response, 400, "badRequest");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(named),
            "{error}"
        );
    }
    let after = raw(&address, &request("GET", &policy, &ga, None))
        .await
        .json();
    assert_eq!(before, after, "a refused PATCH changed the policy");
    let helpdesk = [
        ("x-test-principal", HELPDESK),
        ("content-type", "application/json"),
    ];
    let error = graph_error(
        &raw(
            &address,
            &request(
                "POST",
                PASSES,
                &helpdesk,
                Some(r#"{"lifetimeInMinute": 60}"#),
            ),
        )
        .await,
        400,
        "badRequest",
    );
    assert!(error.to_string().contains("lifetimeInMinute"), "{error}");

    // The caller's id is echoed when it is one a log can hold, and dropped otherwise.
    let client_id = "9f1d3b52-8a43-4c1b-9a37-0d0c8e0f4b21";
    let response = raw(
        &address,
        &request(
            "GET",
            "/v1.0/nothing",
            &[("x-test-principal", GA), ("client-request-id", client_id)],
            None,
        ),
    )
    .await;
    assert_eq!(response.header("client-request-id"), Some(client_id));
    let body = graph_error(&response, 404, "Request_ResourceNotFound");
    assert_eq!(body["error"]["innerError"]["client-request-id"], client_id);
    let response = raw(
        &address,
        &request(
            "GET",
            "/v1.0/nothing",
            &[("client-request-id", "<script>alert(1)</script>")],
            None,
        ),
    )
    .await;
    assert_eq!(response.header("client-request-id"), None);
    assert!(
        graph_error(&response, 404, "Request_ResourceNotFound")["error"]["innerError"]
            .get("client-request-id")
            .is_none()
    );

    // Success answers are not cached either: above all the one that carries the code.
    let enable = json!({"state": "enabled", "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]});
    let response = raw(
        &address,
        &request("PATCH", &policy, &ga, Some(&enable.to_string())),
    )
    .await;
    assert_eq!(response.status, 204, "{}", response.body);
    let created = raw(&address, &request("POST", PASSES, &helpdesk, Some("{}"))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    assert!(created.json()["temporaryAccessPass"].is_string());
    running.stop().await;
}
