//! Onboarding a passkey (SPEC 8) over HTTP, with `webauthn-authenticator-rs`'s software passkey
//! as the user's authenticator: the whole flow on SQLite and on PostgreSQL (a pass, a session,
//! a key, a sign-in with the key and no pass), and each edge of the ceremony: an attestation
//! after the window (its options from inside it), a replayed attestation, another user's
//! session, a pass deleted mid-ceremony, a one-time pass's second session, another origin or
//! relying party; and the keys' store adding a key only while its pass is stored.
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
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use temporary_access_pass::time::{Duration as Span, UtcDateTime};
use temporary_access_pass::{Clock as _, ManualClock, PassId, UserId};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_graph_service::passkeys::{
    Added, CredentialStore, Fido2Method, Onboarding, PgCredentials, SqliteCredentials,
    StoredMethod, WebauthnSettings,
};
use temporary_access_pass_graph_service::{Limits, POLICY_PATH, SharedClock, system_clock};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{GA, HELPDESK};
use temporary_access_pass_testkit::service::{Running, client, start_with};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url,
};

const CHRIS: &str = "chris@contoso.com";
const GUEST: &str = "vendor_fabrikam.com#EXT#@contoso.com";
/// A second user to sign in: the helpdesk administrator, whose pass the Global Administrator
/// creates.
const OTHER: &str = "helpdesk@contoso.com";

/// A service, a client without a cookie jar (cookies are sent by hand), and the origin the
/// page is served from.
struct Flow<S> {
    running: Running<S, TestHeaders>,
    http: reqwest::Client,
    origin: Url,
}

fn passes(user: &str) -> String {
    format!(
        "/v1.0/users/{}/authentication/temporaryAccessPassMethods",
        user.replace('#', "%23")
    )
}

/// The value of cookie `name` that `response` sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (pair, attributes) = v.split_once(';').unwrap_or((v, ""));
            let (n, value) = pair.split_once('=')?;
            assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"));
            (n == name).then(|| value.to_owned())
        })
}

impl<S> Flow<S> {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        caller: Option<&str>,
        cookie: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.running.base));
        if let Some(caller) = caller {
            request = request.header("x-test-principal", caller);
        }
        if let Some((name, value)) = cookie {
            request = request.header("cookie", format!("{name}={value}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn json(response: reqwest::Response) -> (StatusCode, Value) {
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn enable(&self, one_time: bool) {
        let response = self
            .call(
                reqwest::Method::PATCH,
                &format!("/v1.0{POLICY_PATH}"),
                Some(GA),
                None,
                Some(json!({"state": "enabled", "isUsableOnce": one_time,
                    "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]})),
            )
            .await;
        assert_eq!(response.status(), 204);
    }

    /// A pass for `user`, created by the helpdesk: its id and code.
    async fn pass(&self, user: &str) -> (String, String) {
        self.pass_by(HELPDESK, user).await
    }

    /// A pass for `user`, created by `admin`: its id and code.
    async fn pass_by(&self, admin: &str, user: &str) -> (String, String) {
        let (status, created) = Self::json(
            self.call(
                reqwest::Method::POST,
                &passes(user),
                Some(admin),
                None,
                Some(json!({})),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{created}");
        (
            created["id"].as_str().unwrap().to_owned(),
            created["temporaryAccessPass"].as_str().unwrap().to_owned(),
        )
    }

    async fn delete(&self, user: &str, pass: &str) {
        let response = self
            .call(
                reqwest::Method::DELETE,
                &format!("{}/{pass}", passes(user)),
                Some(HELPDESK),
                None,
                None,
            )
            .await;
        assert_eq!(response.status(), 204);
    }

    /// Signs in with a pass: the session cookie, or the refusal's status.
    async fn sign_in(&self, user: &str, code: &str) -> Result<String, StatusCode> {
        let response = self
            .call(
                reqwest::Method::POST,
                "/signIn/temporaryAccessPass",
                None,
                None,
                Some(json!({"userId": user, "temporaryAccessPass": code})),
            )
            .await;
        if response.status() != 200 {
            assert!(set_cookie(&response, "tap_registration").is_none());
            return Err(response.status());
        }
        Ok(set_cookie(&response, "tap_registration").expect("a session cookie"))
    }

    async fn options(&self, session: Option<&str>, user: &str) -> (StatusCode, Value) {
        Self::json(
            self.call(
                reqwest::Method::POST,
                "/webauthn/registration/options",
                None,
                session.map(|s| ("tap_registration", s)),
                Some(json!({"userId": user, "displayName": "Red key"})),
            )
            .await,
        )
        .await
    }

    async fn register(
        &self,
        session: &str,
        user: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> (StatusCode, Value) {
        Self::json(
            self.call(
                reqwest::Method::POST,
                "/webauthn/registration",
                None,
                Some(("tap_registration", session)),
                Some(json!({"userId": user, "displayName": "Red key", "credential": credential})),
            )
            .await,
        )
        .await
    }

    async fn keys(&self, user: &str) -> Vec<Value> {
        let (status, list) = Self::json(
            self.call(
                reqwest::Method::GET,
                &format!(
                    "/v1.0/users/{}/authentication/fido2Methods",
                    user.replace('#', "%23")
                ),
                Some(HELPDESK),
                None,
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        list["value"].as_array().unwrap().clone()
    }

    /// Chris's ceremony up to the key's answer: the policy (one-time passes or not), a pass, a
    /// session, options, and a software key's attestation made at the page's origin.
    async fn ceremony(&self, one_time: bool) -> Ceremony {
        self.enable(one_time).await;
        let (pass, code) = self.pass(CHRIS).await;
        let session = self.sign_in(CHRIS, &code).await.unwrap();
        let (status, options) = self.options(Some(&session), CHRIS).await;
        assert_eq!(status, 200, "{options}");
        let credential = Self::attest(&mut SoftPasskey::new(true), &self.origin, &options);
        Ceremony {
            pass,
            code,
            session,
            credential,
        }
    }

    /// The software key's answer to the options of `options`, as made at `origin`.
    fn attest(key: &mut SoftPasskey, origin: &Url, options: &Value) -> RegisterPublicKeyCredential {
        let options: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        key.do_registration(origin.clone(), options).unwrap()
    }

    /// Signs in with the software key: the status and body of the answer.
    async fn passkey_sign_in(&self, key: &mut SoftPasskey, user: &str) -> (StatusCode, Value) {
        let response = self
            .call(
                reqwest::Method::POST,
                "/webauthn/authentication/options",
                None,
                None,
                Some(json!({"userId": user})),
            )
            .await;
        let login = set_cookie(&response, "tap_passkey_login");
        let (status, options) = Self::json(response).await;
        if status != 200 {
            return (status, options);
        }
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let assertion: PublicKeyCredential =
            key.do_authentication(self.origin.clone(), options).unwrap();
        let answer = self
            .call(
                reqwest::Method::POST,
                "/webauthn/authentication",
                None,
                login.as_deref().map(|l| ("tap_passkey_login", l)),
                Some(json!({"credential": assertion})),
            )
            .await;
        Self::json(answer).await
    }
}

/// What [`Flow::ceremony`] leaves: the pass, its code, the session and the key's answer.
struct Ceremony {
    pass: String,
    code: String,
    session: String,
    credential: RegisterPublicKeyCredential,
}

fn sqlite_onboarding(path: std::path::PathBuf) -> impl FnOnce(&str) -> Option<Onboarding> {
    move |origin| {
        let credentials = SqliteCredentials::open(&path, Duration::from_secs(5)).unwrap();
        Some(
            Onboarding::new(
                WebauthnSettings::for_origin(origin).unwrap(),
                Arc::new(credentials),
            )
            .unwrap(),
        )
    }
}

/// A service on a fresh SQLite file whose engine reads `clock`.
async fn sqlite_flow(dir: &tempfile::TempDir, clock: SharedClock) -> Flow<Blocking<SqliteStore>> {
    let path = dir.path().join("passes.db");
    let store = Blocking::new(SqliteStore::open(&path).unwrap());
    let running = start_with(
        store,
        TestHeaders,
        Limits::default(),
        clock,
        sqlite_onboarding(path),
    )
    .await;
    let origin = running.app.onboarding.settings().origin.clone();
    Flow {
        running,
        http: client(),
        origin,
    }
}

/// The whole flow: a pass, its session, a key, and a sign-in with the key once the pass is
/// gone. The keys listed in Graph's shape carry the fields of Graph's resource.
async fn the_whole_flow<S>(flow: &Flow<S>) {
    flow.enable(true).await;
    let (pass, code) = flow.pass(CHRIS).await;
    let session = flow.sign_in(CHRIS, &code).await.unwrap();
    let (status, options) = flow.options(Some(&session), CHRIS).await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let mut key = SoftPasskey::new(true);
    let credential = Flow::<S>::attest(&mut key, &flow.origin, &options);
    let (status, method) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 201, "{method}");
    let keys = flow.keys(CHRIS).await;
    assert_eq!(keys.len(), 1);
    let resource: Value = serde_json::from_str(include_str!(
        "graph/fido2authenticationmethod-resource.json"
    ))
    .unwrap();
    let mut expected: Vec<&String> = resource.as_object().unwrap().keys().collect();
    let mut found: Vec<&String> = keys[0].as_object().unwrap().keys().collect();
    expected.sort();
    found.sort();
    assert_eq!(found, expected, "{}", keys[0]);
    assert_eq!(keys[0], method);
    assert_eq!(
        keys[0]["@odata.type"],
        "#microsoft.graph.fido2AuthenticationMethod"
    );
    assert_eq!(keys[0]["displayName"], "Red key");
    assert_eq!(keys[0]["attestationLevel"], "notAttested");
    // Without the pass: it is deleted, and the key signs in alone.
    flow.delete(CHRIS, &pass).await;
    let (status, signed_in) = flow.passkey_sign_in(&mut key, CHRIS).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["userId"], CHRIS);
    assert_eq!(signed_in["method"], "passkey");
    // Another user's keys do not sign Chris in, and a user with none gets options for nothing.
    let (status, _) = flow
        .passkey_sign_in(&mut SoftPasskey::new(true), GUEST)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_opens_a_session_that_registers_a_passkey_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    the_whole_flow(&flow).await;
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_opens_a_session_that_registers_a_passkey_on_postgresql() {
    let scratch = support::Scratch::new("onboarding").await;
    let pool = scratch.pool(4).await;
    let store = temporary_access_pass_postgres::PgStore::new(pool.clone(), "contoso").unwrap();
    let credentials = PgCredentials::new(pool, "contoso").await.unwrap();
    let running = start_with(
        store,
        TestHeaders,
        Limits::default(),
        system_clock(),
        |origin| {
            Some(
                Onboarding::new(
                    WebauthnSettings::for_origin(origin).unwrap(),
                    Arc::new(credentials),
                )
                .unwrap(),
            )
        },
    )
    .await;
    let origin = running.app.onboarding.settings().origin.clone();
    let flow = Flow {
        running,
        http: client(),
        origin,
    };
    the_whole_flow(&flow).await;
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attestation_after_the_window_is_refused_even_with_options_from_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        UtcDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    ));
    let flow = sqlite_flow(&dir, clock.clone()).await;
    flow.enable(true).await;
    let (_, code) = flow.pass(CHRIS).await;
    let session = flow.sign_in(CHRIS, &code).await.unwrap();
    clock.advance(Span::minutes(9)).unwrap();
    let (status, options) = flow.options(Some(&session), CHRIS).await;
    assert_eq!(status, 200, "{options}");
    let credential = Flow::<()>::attest(&mut SoftPasskey::new(true), &flow.origin, &options);
    // The window is ten minutes, its end exclusive.
    clock.advance(Span::minutes(1)).unwrap();
    let (status, refused) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was allowed until"),
        "{refused}"
    );
    assert!(flow.keys(CHRIS).await.is_empty());
    // The session ended with its window.
    let (status, _) = flow.options(Some(&session), CHRIS).await;
    assert_eq!(status, 403);
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_attestation_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    let Ceremony {
        code,
        session,
        credential,
        ..
    } = flow.ceremony(false).await;
    assert_eq!(flow.register(&session, CHRIS, &credential).await.0, 201);
    // The same answer again: its options were answered.
    let (status, replay) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 400, "{replay}");
    // Against new options: another challenge.
    let (status, _) = flow.options(Some(&session), CHRIS).await;
    assert_eq!(status, 200);
    let (status, replay) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 400, "{replay}");
    // And from a second session of the same multi-use pass.
    let second = flow.sign_in(CHRIS, &code).await.unwrap();
    assert_ne!(second, session);
    assert_eq!(flow.options(Some(&second), CHRIS).await.0, 200);
    assert_eq!(flow.register(&second, CHRIS, &credential).await.0, 400);
    assert_eq!(flow.keys(CHRIS).await.len(), 1);
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_session_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    flow.enable(true).await;
    let (_, chris_code) = flow.pass(CHRIS).await;
    let (_, other_code) = flow.pass_by(GA, OTHER).await;
    let chris = flow.sign_in(CHRIS, &chris_code).await.unwrap();
    // Chris's session, another user named: the grant is not theirs.
    let (status, refused) = flow.options(Some(&chris), OTHER).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("belongs to")
    );
    // Chris's answer, sent under the other user's session.
    let (_, options) = flow.options(Some(&chris), CHRIS).await;
    let credential = Flow::<()>::attest(&mut SoftPasskey::new(true), &flow.origin, &options);
    let other = flow.sign_in(OTHER, &other_code).await.unwrap();
    assert_eq!(flow.options(Some(&other), OTHER).await.0, 200);
    assert_eq!(flow.register(&other, OTHER, &credential).await.0, 400);
    assert_eq!(flow.register(&other, CHRIS, &credential).await.0, 403);
    // No session at all.
    assert_eq!(flow.options(None, CHRIS).await.0, 403);
    assert!(flow.keys(OTHER).await.is_empty());
    assert!(flow.keys(CHRIS).await.is_empty());
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_deleted_mid_ceremony_revokes_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    let Ceremony {
        pass,
        session,
        credential,
        ..
    } = flow.ceremony(true).await;
    flow.delete(CHRIS, &pass).await;
    let (status, refused) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no longer exists")
    );
    assert_eq!(
        flow.options(Some(&session), CHRIS).await.0,
        403,
        "the session is gone"
    );
    assert!(flow.keys(CHRIS).await.is_empty());
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_pass_opens_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    flow.enable(true).await;
    let (_, code) = flow.pass(CHRIS).await;
    let session = flow.sign_in(CHRIS, &code).await.unwrap();
    assert_eq!(
        flow.sign_in(CHRIS, &code).await,
        Err(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(flow.options(Some(&session), CHRIS).await.0, 200);
    flow.running.stop().await;
}

/// Chris's session and options, answered by a key at `made_at`, for the relying party the
/// options name or, with `rp_id`, for that one instead: refused, and no key is registered.
async fn an_attestation_from_elsewhere_is_refused(made_at: &str, rp_id: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    flow.enable(false).await;
    let (_, code) = flow.pass(CHRIS).await;
    let session = flow.sign_in(CHRIS, &code).await.unwrap();
    let (_, mut options) = flow.options(Some(&session), CHRIS).await;
    if let Some(theirs) = rp_id {
        let ours = options["publicKey"]["rp"]["id"].as_str().unwrap();
        assert_eq!(Some(ours), flow.origin.host_str());
        options["publicKey"]["rp"]["id"] = json!(theirs);
    }
    let made_at = Url::parse(made_at).unwrap();
    let credential = Flow::<()>::attest(&mut SoftPasskey::new(true), &made_at, &options);
    let (status, refused) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 400, "{refused}");
    assert!(flow.keys(CHRIS).await.is_empty());
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attestation_made_for_another_origin_is_refused() {
    an_attestation_from_elsewhere_is_refused("http://localhost:1", None).await;
}

/// SPEC 8.3: a key made for another relying party, with this session's own challenge (a site
/// that relays the challenge and has the key sign for itself), registers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attestation_made_for_another_relying_party_is_refused() {
    an_attestation_from_elsewhere_is_refused("https://fabrikam.example", Some("fabrikam.example"))
        .await;
}

/// A key registered by the software passkey, as the service would store it.
fn registered_key(origin: &Url) -> StoredMethod {
    let onboarding = Onboarding::localhost();
    let (options, state) = onboarding
        .webauthn()
        .start_passkey_registration(
            temporary_access_pass_graph_service::passkeys::user_handle(
                &UserId::new(CHRIS).unwrap(),
            ),
            CHRIS,
            "Chris",
            None,
        )
        .unwrap();
    let credential = SoftPasskey::new(true)
        .do_registration(origin.clone(), options)
        .unwrap();
    let passkey = onboarding
        .webauthn()
        .finish_passkey_registration(&credential, &state)
        .unwrap();
    StoredMethod::new(passkey, "Red key".into(), system_clock().now())
}

/// The keys' store adds a key only while its pass is stored, and each key once.
async fn keys_follow_their_pass<S>(flow: &Flow<S>, credentials: &dyn CredentialStore) {
    flow.enable(false).await;
    let (pass, _) = flow.pass(CHRIS).await;
    let pass: PassId = pass.parse().unwrap();
    let chris = UserId::new(CHRIS).unwrap();
    let origin = Url::parse("http://localhost").unwrap();
    let other: PassId = "00000000-0000-4000-8000-000000000000".parse().unwrap();
    let key = registered_key(&origin);
    assert_eq!(
        credentials.add(&chris, other, &key).await.unwrap(),
        Added::PassGone
    );
    assert_eq!(
        credentials.add(&chris, pass, &key).await.unwrap(),
        Added::Added
    );
    assert_eq!(
        credentials.add(&chris, pass, &key).await.unwrap(),
        Added::Duplicate
    );
    flow.delete(CHRIS, &pass.to_string()).await;
    let second = registered_key(&origin);
    assert_eq!(
        credentials.add(&chris, pass, &second).await.unwrap(),
        Added::PassGone
    );
    let listed = credentials.list(&chris).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, key.id);
    let document = Fido2Method::from(&listed[0]);
    assert_eq!(document.display_name, "Red key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_stored_only_while_their_pass_is_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    let credentials =
        SqliteCredentials::open(&dir.path().join("passes.db"), Duration::from_secs(5)).unwrap();
    keys_follow_their_pass(&flow, &credentials).await;
    flow.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_stored_only_while_their_pass_is_on_postgresql() {
    let scratch = support::Scratch::new("keys").await;
    let pool = scratch.pool(4).await;
    let store = temporary_access_pass_postgres::PgStore::new(pool.clone(), "contoso").unwrap();
    let running = start_with(
        store,
        TestHeaders,
        Limits::default(),
        system_clock(),
        |_| None,
    )
    .await;
    let flow = Flow {
        running,
        http: client(),
        origin: Url::parse("http://localhost").unwrap(),
    };
    let credentials = PgCredentials::new(pool, "contoso").await.unwrap();
    keys_follow_their_pass(&flow, &credentials).await;
    flow.running.stop().await;
}

#[test]
fn graphs_list_sample_reads_as_fido2_methods() {
    let sample: Value = serde_json::from_str(include_str!(
        "graph/fido2authenticationmethod-list-response.json"
    ))
    .unwrap();
    for entry in sample["value"].as_array().unwrap() {
        let mut entry = entry.clone();
        entry["@odata.type"] = json!(Fido2Method::ODATA_TYPE);
        let method: Fido2Method = serde_json::from_value(entry).unwrap();
        assert_eq!(method.attestation_level, "attested");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_keeps_at_most_eight_sessions_the_oldest_ends_first() {
    use temporary_access_pass_graph_service::passkeys::MAX_SESSIONS_PER_USER;
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    flow.enable(false).await;
    let (_, code) = flow.pass(CHRIS).await;
    let mut sessions = Vec::new();
    for _ in 0..=MAX_SESSIONS_PER_USER {
        sessions.push(flow.sign_in(CHRIS, &code).await.unwrap());
    }
    assert_eq!(
        flow.options(Some(&sessions[0]), CHRIS).await.0,
        403,
        "the oldest ended"
    );
    for session in &sessions[1..] {
        assert_eq!(flow.options(Some(session), CHRIS).await.0, 200);
    }
    flow.running.stop().await;
}
