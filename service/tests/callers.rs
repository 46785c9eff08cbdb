//! Callers as the directory knows them (SPEC 3.6): users are named by object id or by user
//! principal name in any case, and every spelling leads to one object id, which the store, the
//! audit trail and the rules about oneself use. Tried as an attacker would: an administrator
//! respelling their own name to give themselves a pass, and a caller the directory does not
//! know presenting an administrator's roles.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    reason = "tests: a failed step is a failed test"
)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use temporary_access_pass::store::{AsyncStore, InMemoryStore};
use temporary_access_pass::{AppId, UserId};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::{
    Directory, FileError, StaticDirectory, TEST_PRINCIPAL_HEADER, TestHeaders,
};
use temporary_access_pass_graph_service::{Limits, POLICY_PATH};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{
    CHRIS_ID, DIRECTORY, GA_ID, PAM_ID, WORKFLOW_APP_ID, WORKFLOW_OBJECT_ID, passes,
};
use temporary_access_pass_testkit::postgres as support;
use temporary_access_pass_testkit::service::{client, start};

const GLOBAL_ADMINISTRATOR: &str = "Global Administrator";
const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str = "Privileged Authentication Administrator";

/// A caller header naming `id` with `roles`.
fn caller(id: &str, roles: &[&str]) -> String {
    json!({"id": id, "roles": roles}).to_string()
}

async fn call(
    base: &str,
    method: Method,
    path: &str,
    caller: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client()
        .request(method, format!("{base}{path}"))
        .header(TEST_PRINCIPAL_HEADER, caller);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn every_spelling_of_a_user_is_one_object_id_and_oneself_is_compared_by_it<
    S: AsyncStore + 'static,
>(
    store: S,
) {
    let running = start(store, TestHeaders, Limits::default()).await;
    let base = running.base.as_str();
    let ga = caller("ga@contoso.com", &[GLOBAL_ADMINISTRATOR]);
    let (status, body) = call(
        base,
        Method::PATCH,
        &format!("/v1.0{POLICY_PATH}"),
        &ga,
        Some(json!({"state": "enabled", "isUsableOnce": true,
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]})),
    )
    .await;
    assert!(status.is_success(), "{body}");

    // No administrator may give themselves a pass (SPEC 3.2), however either side spells the
    // name: by object id, by name in another case, or both.
    for (role, name, id) in [
        (GLOBAL_ADMINISTRATOR, "ga@contoso.com", GA_ID),
        (
            PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
            "pam@contoso.com",
            PAM_ID,
        ),
    ] {
        let upper = name.to_uppercase();
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        for (who, target) in [
            (name, name),
            (upper.as_str(), name),
            (name, id),
            (id, upper.as_str()),
            (mixed.as_str(), upper.as_str()),
            (id, id),
        ] {
            let (status, body) = call(
                base,
                Method::POST,
                &passes(target),
                &caller(who, &[role]),
                Some(json!({})),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{who} for {target}: {body}");
            assert_eq!(body["error"]["code"], "accessDenied");
        }
        let (_, list) = call(base, Method::GET, &passes(id), &ga, None).await;
        assert_eq!(list["value"], json!([]), "{name} holds no pass");
    }

    // A pass created for one spelling of Chris is the pass of every other.
    let (status, created) = call(
        base,
        Method::POST,
        &passes("CHRIS@contoso.com"),
        &ga,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for spelling in [CHRIS_ID, "chris@contoso.com", "Chris@Contoso.Com"] {
        let (status, list) = call(base, Method::GET, &passes(spelling), &ga, None).await;
        assert_eq!(status, StatusCode::OK, "{spelling}: {list}");
        assert_eq!(list["value"][0]["id"], created["id"], "{spelling}");
    }
    // Chris sees his own pass under a spelling of his own (SPEC 3.4).
    let (status, own) = call(
        base,
        Method::GET,
        &passes(CHRIS_ID),
        &caller("cHrIs@contoso.com", &[]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["value"].as_array().unwrap().len(), 1);
    // And signs in with it under yet another.
    let (status, granted) = call(
        base,
        Method::POST,
        "/signIn/temporaryAccessPass",
        "",
        Some(json!({"userId": "CHRIS@CONTOSO.COM",
            "temporaryAccessPass": created["temporaryAccessPass"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["userId"], CHRIS_ID);

    // A caller the directory does not know has no rights, whatever roles it claims, and its
    // attempts change nothing.
    let stranger = caller("mallory@contoso.com", &[GLOBAL_ADMINISTRATOR]);
    for (method, path, body) in [
        (Method::GET, format!("/v1.0{POLICY_PATH}"), None),
        (Method::POST, passes("chris@contoso.com"), Some(json!({}))),
        (
            Method::DELETE,
            format!(
                "{}/{}",
                passes("chris@contoso.com"),
                created["id"].as_str().unwrap()
            ),
            None,
        ),
    ] {
        let (status, refused) = call(base, method.clone(), &path, &stranger, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not a user of this directory"),
            "{refused}"
        );
    }
    let (_, list) = call(base, Method::GET, &passes(CHRIS_ID), &ga, None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);

    // The audit trail records object ids and shows today's names beside them.
    let (status, audits) = call(
        base,
        Method::GET,
        "/v1.0/auditLogs/directoryAudits",
        &caller("soc@contoso.com", &["Security Reader"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{audits}");
    let creation = audits["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["activityDisplayName"] == "Admin registered security info")
        .unwrap_or_else(|| panic!("no creation in {audits}"));
    assert_eq!(creation["initiatedBy"]["user"]["id"], GA_ID);
    assert_eq!(
        creation["initiatedBy"]["user"]["userPrincipalName"],
        "ga@contoso.com"
    );
    assert_eq!(creation["targetResources"][0]["id"], CHRIS_ID);
    assert_eq!(
        creation["targetResources"][0]["userPrincipalName"],
        "chris@contoso.com"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_by_object_id_in_memory() {
    every_spelling_of_a_user_is_one_object_id_and_oneself_is_compared_by_it(InMemoryStore::new())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_by_object_id_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(SqliteStore::open(dir.path().join("passes.db")).unwrap());
    every_spelling_of_a_user_is_one_object_id_and_oneself_is_compared_by_it(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_by_object_id_on_postgresql() {
    let scratch = support::Scratch::new("callers").await;
    let store = scratch.store(8, "contoso").await;
    every_spelling_of_a_user_is_one_object_id_and_oneself_is_compared_by_it(store).await;
}

#[tokio::test]
async fn a_directory_refuses_a_name_that_could_lead_to_two_users() {
    let directory = StaticDirectory::from_json(DIRECTORY).unwrap();
    for name in [CHRIS_ID, "chris@contoso.com", "CHRIS@CONTOSO.COM"] {
        let found = directory.user(name).await.unwrap();
        assert_eq!(found.id().as_str(), CHRIS_ID, "{name}");
    }
    // An object id is matched as written; a name that is nobody's is nobody.
    assert!(directory.user("chris").await.is_none());
    assert!(directory.user("dana@contoso.com").await.is_none());
    assert_eq!(
        directory
            .principal_name(&UserId::new(CHRIS_ID).unwrap())
            .await
            .as_deref(),
        Some("chris@contoso.com")
    );
    assert_eq!(
        directory
            .principal_name(&UserId::new("chris@contoso.com").unwrap())
            .await,
        None
    );

    for (why, text) in [
        (
            "two names differing in case",
            r#"[{"id": "a", "userPrincipalName": "x@contoso.com"},
                {"id": "b", "userPrincipalName": "X@Contoso.com"}]"#,
        ),
        (
            "one object id twice",
            r#"[{"id": "a", "userPrincipalName": "x@contoso.com"},
                {"id": "a", "userPrincipalName": "y@contoso.com"}]"#,
        ),
        (
            "a name that is another user's object id",
            r#"[{"id": "a", "userPrincipalName": "b"}, {"id": "b"}]"#,
        ),
        (
            "a name that is another user's object id in another case",
            r#"[{"id": "a", "userPrincipalName": "b@contoso.com"}, {"id": "B@Contoso.com"}]"#,
        ),
        (
            "a user and a service principal with one object id",
            r#"[{"id": "a", "userPrincipalName": "x@contoso.com"}, {"id": "a", "appId": "app"}]"#,
        ),
        (
            "one application twice",
            r#"[{"id": "a", "appId": "app"}, {"id": "b", "appId": "app"}]"#,
        ),
    ] {
        assert!(
            matches!(
                StaticDirectory::from_json(text),
                Err(FileError::Duplicate(_))
            ),
            "{why}"
        );
    }
    // An application is not given what only users have, nor a user an application's name.
    for text in [
        r#"[{"id": "a", "appId": "app", "roles": ["Global Administrator"]}]"#,
        r#"[{"id": "a", "appId": "app", "groups": ["onboarding"]}]"#,
        r#"[{"id": "a", "appId": "app", "userType": "guest"}]"#,
        r#"[{"id": "a", "appId": "app", "userPrincipalName": "a@contoso.com"}]"#,
    ] {
        assert!(
            matches!(
                StaticDirectory::from_json(text),
                Err(FileError::Application(_))
            ),
            "{text}"
        );
    }
    assert!(matches!(
        StaticDirectory::from_json(r#"[{"id": "a", "displayName": "A"}]"#),
        Err(FileError::UserDisplayName(_))
    ));
    for text in [
        r#"[{"id": "a", "appId": "app", "permissions": ["UserAuthMethod-TAP.ReadWrite.All"]}]"#,
        r#"[{"id": "a", "permissions": []}]"#,
    ] {
        assert!(
            matches!(
                StaticDirectory::from_json(text),
                Err(FileError::PermissionsInDirectory(_))
            ),
            "{text}"
        );
    }
    // The demonstration's applications, by app id: never as users.
    let workflow = directory
        .application(&AppId::new(WORKFLOW_APP_ID).unwrap())
        .await
        .unwrap();
    assert_eq!(workflow.object_id.as_str(), WORKFLOW_OBJECT_ID);
    assert_eq!(workflow.display_name.as_deref(), Some("Joiner workflow"));
    assert!(directory.user(WORKFLOW_OBJECT_ID).await.is_none());
    assert!(directory.user(WORKFLOW_APP_ID).await.is_none());
    assert!(
        directory
            .application(&AppId::new(WORKFLOW_OBJECT_ID).unwrap())
            .await
            .is_none()
    );
    // A user's name may be their own id.
    assert!(
        StaticDirectory::from_json(
            r#"[{"id": "a@contoso.com", "userPrincipalName": "A@contoso.com"}]"#
        )
        .is_ok()
    );
}
