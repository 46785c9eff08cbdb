//! The service over HTTP with a real client: the whole life of a pass on the PostgreSQL store
//! and on the SQLite store, the errors and their Graph bodies, and the binary refusing the
//! test authenticator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use temporary_access_pass_testkit::postgres as support;

use std::sync::Arc;

use axum::http::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::{
    Authenticator, BearerTokens, StaticDirectory, TEST_PRINCIPAL_HEADER, TestHeaders,
};
use temporary_access_pass_graph_service::{App, POLICY_PATH, serve as serve_until};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{
    CHRIS, CHRIS_ID, GA, HELPDESK, WORKFLOW_APP_ID, WORKFLOW_OBJECT_ID,
};

/// A running service and a client for it.
struct Server {
    base: String,
    client: reqwest::Client,
    /// Every error body seen, to check none carries a code.
    errors: Vec<String>,
}

async fn serve<S: AsyncStore + 'static>(store: S) -> Server {
    let pepper = Pepper::new(b"the service's pepper, from its key vault").unwrap();
    let directory = StaticDirectory::from_json(include_str!("../demo/directory.json")).unwrap();
    let app = App::new(
        AsyncEngine::new(
            temporary_access_pass_graph_service::system_clock(),
            store,
            EngineConfig::new(pepper),
        ),
        TestHeaders,
        directory,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Arc::new(app.public_url(base.clone()));
    tokio::spawn(serve_until(listener, app, None, std::future::pending()));
    Server {
        base,
        client: temporary_access_pass_testkit::service::client(),
        errors: Vec::new(),
    }
}

impl Server {
    /// Sends a request as `caller` (a principal document, or nobody) and returns the status
    /// and the JSON body (`null` when empty).
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        caller: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(caller) = caller {
            request = request.header(TEST_PRINCIPAL_HEADER, caller);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
        };
        if !status.is_success() {
            let error = &body["error"];
            assert!(
                error["code"].is_string() && error["message"].is_string(),
                "{path}: {status} without Graph's error body: {text}"
            );
            self.errors.push(text);
        }
        (status, body)
    }

    /// Asserts an error status and Graph code.
    async fn refused(
        &mut self,
        method: Method,
        path: &str,
        caller: Option<&str>,
        body: Option<Value>,
        status: StatusCode,
        code: &str,
    ) -> Value {
        let (got, body) = self.call(method, path, caller, body).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
        body
    }
}

fn passes_of(user: &str) -> String {
    format!("/v1.0/users/{user}/authentication/temporaryAccessPassMethods")
}

fn policy() -> String {
    format!("/v1.0{POLICY_PATH}")
}

/// The whole life of a one-time pass, and every refusal on the way.
#[expect(clippy::too_many_lines, reason = "one story, told in order")]
async fn the_life_of_a_pass(server: &mut Server) {
    let chris = passes_of("chris@contoso.com");

    // The policy: read by administrators, changed only by the right roles.
    let (status, body) = server.call(Method::GET, &policy(), Some(GA), None).await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("disabled"))
    );
    server
        .refused(
            Method::GET,
            &policy(),
            Some(CHRIS),
            None,
            StatusCode::FORBIDDEN,
            "accessDenied",
        )
        .await;
    let enable = json!({
        "state": "enabled",
        "isUsableOnce": true,
        "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]
    });
    server
        .refused(
            Method::PATCH,
            &policy(),
            Some(HELPDESK),
            Some(enable.clone()),
            StatusCode::FORBIDDEN,
            "accessDenied",
        )
        .await;
    server
        .refused(
            Method::PATCH,
            &policy(),
            Some(GA),
            Some(json!({"defaultLength": 4})),
            StatusCode::BAD_REQUEST,
            "badRequest",
        )
        .await;
    let (status, _) = server
        .call(Method::PATCH, &policy(), Some(GA), Some(enable))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = server
        .call(Method::GET, &policy(), Some(HELPDESK), None)
        .await;
    assert_eq!(body["state"], "enabled");

    // Creation: the code once, in the creation response only.
    server
        .refused(
            Method::POST,
            &chris,
            None,
            Some(json!({})),
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
        )
        .await;
    server
        .refused(
            Method::POST,
            &passes_of("ga@contoso.com"),
            Some(HELPDESK),
            Some(json!({})),
            StatusCode::FORBIDDEN,
            "accessDenied",
        )
        .await;
    server
        .refused(
            Method::POST,
            &passes_of("nobody@contoso.com"),
            Some(HELPDESK),
            Some(json!({})),
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        )
        .await;
    server
        .refused(
            Method::POST,
            &chris,
            Some(HELPDESK),
            Some(json!({"lifetimeInMinutes": 5})),
            StatusCode::BAD_REQUEST,
            "badRequest",
        )
        .await;
    server
        .refused(
            Method::POST,
            &chris,
            Some(HELPDESK),
            Some(json!({"lifetimeInMinutes": "sixty"})),
            StatusCode::BAD_REQUEST,
            "badRequest",
        )
        .await;
    let (status, created) = server
        .call(Method::POST, &chris, Some(HELPDESK), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let code = created["temporaryAccessPass"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["isUsableOnce"], true);
    assert!(created["startDateTime"].as_str().unwrap().ends_with('Z'));
    server
        .refused(
            Method::POST,
            &chris,
            Some(HELPDESK),
            Some(json!({})),
            StatusCode::CONFLICT,
            "conflict",
        )
        .await;

    // Viewing: details, never the code.
    let (status, list) = server.call(Method::GET, &chris, Some(HELPDESK), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0]["id"], id.as_str());
    assert!(list["value"][0]["temporaryAccessPass"].is_null());
    let one = format!("{chris}/{id}");
    let (status, view) = server.call(Method::GET, &one, Some(HELPDESK), None).await;
    assert_eq!(
        (status, view["isUsable"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert!(!view.to_string().contains(&code));
    let unknown = format!("{chris}/00000000-0000-4000-8000-000000000000");
    server
        .refused(
            Method::GET,
            &unknown,
            Some(HELPDESK),
            None,
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        )
        .await;
    server
        .refused(
            Method::GET,
            &one,
            Some(r#"{"id": "vendor_fabrikam.com#EXT#@contoso.com", "userType": "guest"}"#),
            None,
            StatusCode::FORBIDDEN,
            "accessDenied",
        )
        .await;

    // Signing in: once, and every refusal says the same to the user.
    let sign_in = |user: &str, code: &str, client: &str| json!({"userId": user, "temporaryAccessPass": code, "client": client});
    let wrong = server
        .refused(
            Method::POST,
            "/signIn/temporaryAccessPass",
            None,
            Some(sign_in("chris@contoso.com", "not-the-code", "browser")),
            StatusCode::UNAUTHORIZED,
            "invalidTemporaryAccessPass",
        )
        .await;
    let (status, granted) = server
        .call(
            Method::POST,
            "/signIn/temporaryAccessPass",
            None,
            Some(sign_in("chris@contoso.com", &code, "browser")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    // Named by user principal name, known by object id (SPEC 3.6).
    assert_eq!(granted["userId"], CHRIS_ID);
    assert_eq!(granted["passId"], id.as_str());
    assert_eq!(granted["isUsableOnce"], true);
    let used = server
        .refused(
            Method::POST,
            "/signIn/temporaryAccessPass",
            None,
            Some(sign_in("chris@contoso.com", &code, "browser")),
            StatusCode::UNAUTHORIZED,
            "invalidTemporaryAccessPass",
        )
        .await;
    let stranger = server
        .refused(
            Method::POST,
            "/signIn/temporaryAccessPass",
            None,
            Some(sign_in("nobody@contoso.com", &code, "browser")),
            StatusCode::UNAUTHORIZED,
            "invalidTemporaryAccessPass",
        )
        .await;
    // What the user sees (the code and message; the ids and date are the request's own).
    let seen = |body: &Value| {
        (
            body["error"]["code"].clone(),
            body["error"]["message"].clone(),
        )
    };
    assert_eq!(
        seen(&wrong),
        seen(&used),
        "a used pass reads as a wrong code"
    );
    assert_eq!(
        seen(&wrong),
        seen(&stranger),
        "an unknown user reads as a wrong code"
    );
    server
        .refused(
            Method::POST,
            "/signIn/temporaryAccessPass",
            None,
            Some(sign_in("chris@contoso.com", &code, "adfsAdapter")),
            StatusCode::BAD_REQUEST,
            "unsupportedClient",
        )
        .await;

    // Deleting: the pass named, once.
    server
        .refused(
            Method::DELETE,
            &unknown,
            Some(HELPDESK),
            None,
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        )
        .await;
    let (status, _) = server
        .call(Method::DELETE, &one, Some(HELPDESK), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    server
        .refused(
            Method::DELETE,
            &one,
            Some(HELPDESK),
            None,
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        )
        .await;
    let (_, list) = server.call(Method::GET, &chris, Some(HELPDESK), None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 0);

    server
        .refused(
            Method::GET,
            "/v1.0/nothing/here",
            Some(GA),
            None,
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        )
        .await;
    assert!(
        server.errors.len() >= 15,
        "{} errors seen",
        server.errors.len()
    );
    for error in &server.errors {
        assert!(
            !error.contains(&code),
            "an error body carries the code: {error}"
        );
    }
}

/// The audit trail of the life above, read as a Security Reader would, page by page; refused
/// to the administrator who issued the passes and to the user.
async fn the_audit_trail(server: &mut Server) {
    const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";
    const READER: &str = r#"{"id": "soc@contoso.com", "roles": ["Security Reader"]}"#;
    for caller in [HELPDESK, CHRIS] {
        server
            .refused(
                Method::GET,
                AUDITS,
                Some(caller),
                None,
                StatusCode::FORBIDDEN,
                "accessDenied",
            )
            .await;
    }
    server
        .refused(
            Method::GET,
            &format!("{AUDITS}?$filter=category eq 'UserManagement'"),
            Some(READER),
            None,
            StatusCode::BAD_REQUEST,
            "badRequest",
        )
        .await;
    let (status, all) = server.call(Method::GET, AUDITS, Some(READER), None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        all["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits"
    );
    assert!(
        all.get("@odata.nextLink").is_none(),
        "one short page is the end"
    );
    let entries = all["value"].as_array().unwrap().clone();
    let activities: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["activityDisplayName"].as_str().unwrap(),
                e["result"].as_str().unwrap(),
            )
        })
        .collect();
    // The policy change, the creation, the wrong code (counted), the grant, the deletion and
    // its revocation;
    // refusals that wrote nothing (the used pass, the stranger, the unsupported client) are
    // not there.
    assert_eq!(
        activities,
        [
            ("Authentication Methods Policy Update", "success"),
            ("Admin registered security info", "success"),
            ("Sign in with temporary access pass", "failure"),
            ("Sign in with temporary access pass", "success"),
            ("Admin deleted security info", "success"),
            // The deletion ends the sessions the pass opened (SPEC 5.7).
            ("Invalidate all refresh tokens for user", "success"),
        ],
        "{all:#}"
    );
    assert_eq!(
        entries[1]["initiatedBy"]["user"]["userPrincipalName"],
        "helpdesk@contoso.com"
    );
    assert_eq!(
        entries[1]["targetResources"][0]["userPrincipalName"],
        "chris@contoso.com"
    );
    // Two at a time, following the links, gives the same entries.
    let mut paged = Vec::new();
    let mut next = Some(format!("{}{AUDITS}?$top=2", server.base));
    while let Some(url) = next.take() {
        let path = url
            .strip_prefix(&server.base)
            .expect("the link is the service's own");
        let (status, page) = server.call(Method::GET, path, Some(READER), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
        assert!(paged.len() <= entries.len(), "the links go on past the end");
    }
    assert_eq!(paged, entries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_pass_over_http_on_postgresql() {
    let scratch = support::Scratch::new("service").await;
    let store = scratch.store(8, "contoso").await;
    let mut server = serve(store).await;
    the_life_of_a_pass(&mut server).await;
    the_audit_trail(&mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_life_of_a_pass_over_http_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(SqliteStore::open(dir.path().join("passes.db")).unwrap());
    let mut server = serve(store).await;
    the_life_of_a_pass(&mut server).await;
    the_audit_trail(&mut server).await;
}

#[tokio::test]
async fn bearer_tokens_are_checked_against_their_digests() {
    let tokens = BearerTokens::from_json(include_str!("../demo/tokens.json")).unwrap();
    let mut headers = HeaderMap::new();
    assert!(tokens.authenticate(&headers).await.is_err());
    headers.insert(
        "authorization",
        "Bearer helpdesk-demo-token".parse().unwrap(),
    );
    let caller = tokens.authenticate(&headers).await.unwrap();
    assert_eq!(caller.id().as_str(), "helpdesk@contoso.com");
    headers.insert(
        "authorization",
        "Bearer helpdesk-demo-tokeN".parse().unwrap(),
    );
    assert!(tokens.authenticate(&headers).await.is_err());
    // The Joiner workflow's own token: an application with its one permission (SPEC 3.7).
    headers.insert(
        "authorization",
        "Bearer workflow-demo-token".parse().unwrap(),
    );
    let workflow = tokens.authenticate(&headers).await.unwrap();
    assert_eq!(
        workflow.app().map(temporary_access_pass::AppId::as_str),
        Some(WORKFLOW_APP_ID)
    );
    assert_eq!(workflow.id().as_str(), WORKFLOW_OBJECT_ID);
    assert_eq!(
        workflow.grant(),
        temporary_access_pass::grant::Grant::Application(
            temporary_access_pass::grant::Permissions::NONE
                .with(temporary_access_pass::grant::Permission::TapReadWriteAll)
        )
    );
    // Two credentials, each valid alone: ambiguous, so neither is taken.
    headers.insert(
        "authorization",
        "Bearer helpdesk-demo-token".parse().unwrap(),
    );
    headers.append("authorization", "Bearer ga-demo-token".parse().unwrap());
    let refused = tokens.authenticate(&headers).await.unwrap_err();
    assert!(refused.token_given);
    assert!(
        refused
            .message
            .contains("more than one Authorization header"),
        "{refused}"
    );
    assert!(!tokens.trusts_the_request());
    assert!(TestHeaders.trusts_the_request());
    assert!(BearerTokens::from_json(r#"[{"sha256": "ABCD", "principal": {"id": "x"}}]"#).is_err());
}

#[test]
fn the_binary_refuses_to_start_with_the_test_authenticator() {
    let dir = tempfile::tempdir().unwrap();
    let pepper = dir.path().join("pepper");
    std::fs::write(&pepper, [7_u8; 32]).unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/demo");
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_temporary-access-pass-graph-service"))
            .env("TAP_AUTHENTICATOR", "test-headers")
            .env("TAP_PEPPER_FILE", &pepper)
            .env("TAP_DIRECTORY_FILE", format!("{demo}/directory.json"))
            .env("TAP_TOKENS_FILE", format!("{demo}/tokens.json"))
            .env("TAP_SQLITE_PATH", dir.path().join("tap.db"))
            .env("TAP_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("TAP_AUTHENTICATOR=test-headers is refused"),
        "{stderr}"
    );
}
