//! `openapi.json` describes the routes the service answers, no more and no fewer: its paths and
//! methods are `ROUTES`, and the router answers each of them (not with its 404 for unknown
//! routes, not with a 405) and nothing else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use temporary_access_pass::store::InMemoryStore;
use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper};
use temporary_access_pass_graph_service::identity::{StaticDirectory, TestHeaders};
use temporary_access_pass_graph_service::{App, ROUTES, router};
use tower::ServiceExt as _;

fn documented() -> BTreeSet<(String, String)> {
    let document: Value =
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// The router's answer to `method path` (a route's parameters filled in).
async fn answer(method: &str, path: &str) -> (StatusCode, String) {
    let pepper = Pepper::new(b"the service's pepper, from its key vault").unwrap();
    let app = App::new(
        AsyncEngine::new(
            temporary_access_pass_graph_service::system_clock(),
            InMemoryStore::new(),
            EngineConfig::new(pepper),
        ),
        TestHeaders,
        StaticDirectory::from_json(include_str!("../demo/directory.json")).unwrap(),
    );
    let uri = path
        .replace("{id}", "chris@contoso.com")
        .replace("{passId}", "00000000-0000-4000-8000-000000000000");
    let request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(uri)
        .header(
            "x-test-principal",
            r#"{"id": "ga@contoso.com", "roles": ["Global Administrator"]}"#,
        )
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let response = router(Arc::new(app)).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn is_unrouted((status, body): &(StatusCode, String)) -> bool {
    *status == StatusCode::METHOD_NOT_ALLOWED || body.contains("this route does not exist")
}

#[tokio::test]
async fn openapi_json_lists_exactly_the_routes_the_router_answers() {
    let listed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented(), listed, "openapi.json and ROUTES differ");
    for (method, path) in &listed {
        let answer = answer(method, path).await;
        assert!(!is_unrouted(&answer), "{method} {path}: {answer:?}");
    }
    for (method, path) in [
        ("PUT", ROUTES[0].1),
        ("POST", "/v1.0/auditLogs/directoryAudits"),
        (
            "GET",
            "/v1.0/users/chris@contoso.com/authentication/methods",
        ),
        ("GET", "/openapi"),
    ] {
        let answer = answer(method, path).await;
        assert!(
            is_unrouted(&answer),
            "{method} {path} is answered: {answer:?}"
        );
    }
}
