//! Onboarding a passkey (SPEC 8) over HTTP, with `webauthn-authenticator-rs`'s software passkey
//! as the user's authenticator: the whole flow on SQLite and on PostgreSQL (a pass, a session,
//! a key, a sign-in with the key and no pass), and each edge of the ceremony: an attestation
//! after the window (its options from inside it), a replayed attestation, another user's
//! session, a pass deleted mid-ceremony, a one-time pass's second session, another origin or
//! relying party. (The store's side, a key added only while its pass is stored, is the
//! conformance suite's, on every store.)
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

use reqwest::StatusCode;
use serde_json::{Value, json};
use temporary_access_pass::ManualClock;
use temporary_access_pass::graph::Fido2MethodDocument;
use temporary_access_pass::time::{Duration as Span, UtcDateTime};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_graph_service::passkeys::{Onboarding, WebauthnSettings};
use temporary_access_pass_graph_service::{Limits, POLICY_PATH, SharedClock, system_clock};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{CHRIS_ID, GA, HELPDESK};
use temporary_access_pass_testkit::passkey::sign_in_options;
use temporary_access_pass_testkit::service::{Running, client, start_with};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{
    CreationChallengeResponse, RegisterPublicKeyCredential, RequestChallengeResponse, Url,
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
        let Ok(assertion) = key.do_authentication(self.origin.clone(), options) else {
            // The key holds none of the credentials the options allow (a decoy's, or another
            // user's keys): it gives no answer to send.
            return (StatusCode::NO_CONTENT, json!({"answered": false}));
        };
        let answer = self
            .call(
                reqwest::Method::POST,
                "/webauthn/authentication",
                None,
                login.as_deref().map(|l| ("tap_passkey_login", l)),
                Some(json!({"userId": user, "credential": assertion})),
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

#[expect(
    clippy::unnecessary_wraps,
    reason = "start_with takes the onboarding a test makes, or none"
)]
fn onboarding_at(origin: &str) -> Option<Onboarding> {
    Some(Onboarding::new(WebauthnSettings::for_origin(origin).unwrap(), None).unwrap())
}

/// A service on a fresh SQLite file whose engine reads `clock`.
async fn sqlite_flow(dir: &tempfile::TempDir, clock: SharedClock) -> Flow<Blocking<SqliteStore>> {
    let path = dir.path().join("passes.db");
    let store = Blocking::new(SqliteStore::open(&path).unwrap());
    let running = start_with(store, TestHeaders, Limits::default(), clock, onboarding_at).await;
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
    assert_eq!(signed_in["userId"], CHRIS_ID);
    assert_eq!(signed_in["method"], "passkey");
    // Another user's keys do not sign Chris in: the key gives no answer to his options.
    let (status, _) = flow
        .passkey_sign_in(&mut SoftPasskey::new(true), CHRIS)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A user with no key, or none at all, gets options of the same shape as Chris's: one
    // credential id, a decoy stable per user that no key answers, a fresh challenge each time.
    let shape = |options: &Value| -> Vec<String> {
        let mut keys: Vec<String> = options["publicKey"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let allowed = |options: &Value| options["publicKey"]["allowCredentials"].clone();
    let (status, chris, _) = sign_in_options(&flow.running.base, CHRIS).await;
    assert_eq!(status, 200);
    for nobody in [GUEST, "nobody@contoso.com"] {
        let (status, first, cookie) = sign_in_options(&flow.running.base, nobody).await;
        assert_eq!(status, 200, "{first}");
        assert!(cookie.is_some(), "a cookie, as a real sign-in gets");
        let (_, second, _) = sign_in_options(&flow.running.base, nobody).await;
        assert_eq!(shape(&first), shape(&chris));
        assert_eq!(allowed(&first).as_array().unwrap().len(), 1);
        assert_eq!(allowed(&first), allowed(&second), "the decoy is stable");
        // Keyed on the name as asked, folded: two spellings of one name get one decoy, known
        // user (the guest) or nobody alike, so spellings tell nothing about who exists.
        let (_, respelt, _) = sign_in_options(&flow.running.base, &nobody.to_uppercase()).await;
        assert_eq!(allowed(&first), allowed(&respelt), "{nobody} in capitals");
        assert_ne!(allowed(&first), allowed(&chris));
        assert_ne!(
            first["publicKey"]["challenge"],
            second["publicKey"]["challenge"]
        );
        let options: RequestChallengeResponse = serde_json::from_value(first).unwrap();
        assert!(
            key.do_authentication(flow.origin.clone(), options).is_err(),
            "no key answers a decoy"
        );
    }
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
    let store = temporary_access_pass_postgres::PgStore::new(pool, "contoso").unwrap();
    let running = start_with(
        store,
        TestHeaders,
        Limits::default(),
        system_clock(),
        onboarding_at,
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
    // Chris's session, another user named: sessions are looked up for their own user, so
    // this one is none of theirs.
    let (status, refused) = flow.options(Some(&chris), OTHER).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no registration session"),
        "{refused}"
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
            .contains("no registration session"),
        "the deletion ended the session in its own write: {refused}"
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

#[test]
fn graphs_list_sample_reads_as_fido2_methods() {
    let sample: Value = serde_json::from_str(include_str!(
        "graph/fido2authenticationmethod-list-response.json"
    ))
    .unwrap();
    for entry in sample["value"].as_array().unwrap() {
        let mut entry = entry.clone();
        entry["@odata.type"] = json!(Fido2MethodDocument::ODATA_TYPE);
        let method: Fido2MethodDocument = serde_json::from_value(entry).unwrap();
        assert_eq!(method.attestation_level, "attested");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_keeps_at_most_eight_sessions_the_oldest_ends_first() {
    const MAX_SESSIONS_PER_USER: u32 =
        temporary_access_pass::onboarding::DEFAULT_CEREMONIES_PER_USER;
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
    for session in sessions.iter().skip(1) {
        assert_eq!(flow.options(Some(session), CHRIS).await.0, 200);
    }
    flow.running.stop().await;
}

/// The path of `user`'s FIDO2 methods, and of one of them.
fn fido2(user: &str, method: Option<&str>) -> String {
    let base = format!("/v1.0/users/{user}/authentication/fido2Methods");
    method.map_or(base.clone(), |m| format!("{base}/{m}"))
}

/// Graph's `webauthnPublicKeyCredential` of a software key's answer: `id`, and `response`'s
/// `clientDataJSON` and `attestationObject`, unpadded base64url.
fn graph_credential(credential: &RegisterPublicKeyCredential) -> Value {
    let answer = serde_json::to_value(credential).unwrap();
    json!({
        "id": answer["id"],
        "response": {
            "clientDataJSON": answer["response"]["clientDataJSON"],
            "attestationObject": answer["response"]["attestationObject"],
        },
        "clientExtensionResults": {},
    })
}

/// The keys of a JSON object, sorted.
fn keys_of(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

impl<S> Flow<S> {
    /// An administrator's provisioning options for `user` (`creationOptions`, or with a
    /// `challengeTimeoutInMinutes`).
    async fn creation_options(&self, admin: &str, user: &str, call: &str) -> (StatusCode, Value) {
        Self::json(
            self.call(
                reqwest::Method::GET,
                &fido2(user, Some(call)),
                Some(admin),
                None,
                None,
            )
            .await,
        )
        .await
    }

    /// The answer to a provisioning's options, posted as Graph takes it.
    async fn provision(
        &self,
        admin: &str,
        user: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> (StatusCode, Value) {
        Self::json(
            self.call(
                reqwest::Method::POST,
                &fido2(user, None),
                Some(admin),
                None,
                Some(json!({
                    "@odata.type": "#microsoft.graph.fido2AuthenticationMethod",
                    "displayName": "Provisioned key",
                    "publicKeyCredential": graph_credential(credential),
                })),
            )
            .await,
        )
        .await
    }

    /// The audit trail as the Global Administrator reads it.
    async fn trail(&self) -> Vec<Value> {
        let (status, list) = Self::json(
            self.call(
                reqwest::Method::GET,
                "/v1.0/auditLogs/directoryAudits?$top=1000",
                Some(GA),
                None,
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, 200, "{list}");
        list["value"].as_array().unwrap().clone()
    }
}

/// The entry of the trail with `activity` about `method`.
fn entry_about<'t>(trail: &'t [Value], activity: &str, method: &str) -> &'t Value {
    trail
        .iter()
        .find(|e| {
            e["activityDisplayName"] == activity
                && e["additionalDetails"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["key"] == "methodId" && d["value"] == method)
        })
        .unwrap_or_else(|| panic!("no {activity:?} entry for {method} in {trail:#?}"))
}

/// SPEC 8.5, 7.4: an administrator provisions a key for Chris as Graph does (creation options,
/// then the key's answer), reads it, and deletes it; the key signs in until it is deleted, and
/// each change has its audit entry. Every document has the properties of Graph's reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_provisions_reads_and_deletes_a_key_as_graph_does() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    flow.enable(false).await;
    // The options: Graph's webauthnCredentialCreationOptions, a challenge for five minutes.
    let (status, options) = flow
        .creation_options(HELPDESK, CHRIS, "creationOptions")
        .await;
    assert_eq!(status, 200, "{options}");
    let resource: Value = serde_json::from_str(include_str!(
        "graph/webauthncredentialcreationoptions-resource.json"
    ))
    .unwrap();
    assert_eq!(keys_of(&options["value"]), keys_of(&resource));
    assert_eq!(
        options["value"]["@odata.type"],
        "#microsoft.graph.webauthnCredentialCreationOptions"
    );
    let until = UtcDateTime::parse(
        options["value"]["challengeTimeoutDateTime"]
            .as_str()
            .unwrap(),
        &temporary_access_pass::time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = until - system_clock().now();
    assert!(
        left > Span::minutes(4) && left <= Span::minutes(5),
        "{left}"
    );
    assert_eq!(options["value"]["publicKey"]["user"]["name"], CHRIS);
    let (status, longer) = flow
        .creation_options(
            HELPDESK,
            CHRIS,
            "creationOptions(challengeTimeoutInMinutes=30)",
        )
        .await;
    assert_eq!(status, 200, "{longer}");
    // The administrator's key answers them.
    let creation: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": options["value"]["publicKey"]})).unwrap();
    let mut key = SoftPasskey::new(true);
    let credential = key.do_registration(flow.origin.clone(), creation).unwrap();
    // Another administrator's answer to these options is refused: the challenge is the
    // helpdesk's.
    assert_eq!(flow.provision(GA, CHRIS, &credential).await.0, 400);
    let (status, method) = flow.provision(HELPDESK, CHRIS, &credential).await;
    assert_eq!(status, 201, "{method}");
    let response: Value = serde_json::from_str(include_str!(
        "graph/fido2authenticationmethod-create-response.json"
    ))
    .unwrap();
    assert_eq!(keys_of(&method), keys_of(&response));
    assert_eq!(method["displayName"], "Provisioned key");
    assert_eq!(method["attestationLevel"], "notAttested");
    let id = method["id"].as_str().unwrap().to_owned();
    // Its answer once: the challenge was taken.
    assert_eq!(flow.provision(HELPDESK, CHRIS, &credential).await.0, 400);
    // Read alone, as Graph's Get.
    let (status, read) = Flow::<S2>::json(
        flow.call(
            reqwest::Method::GET,
            &fido2(CHRIS, Some(&id)),
            Some(HELPDESK),
            None,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["id"], id.as_str());
    assert!(
        read["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/$entity")
    );
    let unknown = flow
        .call(
            reqwest::Method::GET,
            &fido2(CHRIS, Some("nokey")),
            Some(HELPDESK),
            None,
            None,
        )
        .await;
    assert_eq!(unknown.status(), 404);
    // The key signs Chris in, without a pass.
    let (status, signed_in) = flow.passkey_sign_in(&mut key, CHRIS).await;
    assert_eq!(status, 200, "{signed_in}");
    let listed = flow.keys(CHRIS).await;
    assert!(
        listed[0]["lastUsedDateTime"].is_string(),
        "a key that signed in has its last use: {}",
        listed[0]
    );
    // Deleted by an administrator: gone, and it signs nobody in any more.
    let deleted = flow
        .call(
            reqwest::Method::DELETE,
            &fido2(CHRIS, Some(&id)),
            Some(HELPDESK),
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    let again = flow
        .call(
            reqwest::Method::DELETE,
            &fido2(CHRIS, Some(&id)),
            Some(HELPDESK),
            None,
            None,
        )
        .await;
    assert_eq!(again.status(), 404);
    assert!(flow.keys(CHRIS).await.is_empty());
    let (status, _) = flow.passkey_sign_in(&mut key, CHRIS).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "a user without keys gets a decoy's options, which the deleted key cannot answer"
    );
    // The trail: the provisioning and the deletion, initiated by the helpdesk, about Chris and
    // the key.
    let trail = flow.trail().await;
    for activity in [
        "Admin registered security info",
        "Admin deleted security info",
    ] {
        let entry = entry_about(&trail, activity, &id);
        assert_eq!(
            entry["initiatedBy"]["user"]["userPrincipalName"],
            "helpdesk@contoso.com"
        );
        assert_eq!(entry["targetResources"][0]["userPrincipalName"], CHRIS);
        assert_eq!(entry["targetResources"][0]["type"], "User");
        assert_eq!(entry["loggedByService"], "Authentication Methods");
        assert_eq!(entry["result"], "success");
        assert!(
            entry["additionalDetails"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["key"] == "methodType" && d["value"] == "Fido2"),
            "{entry}"
        );
    }
    flow.running.stop().await;
}

/// No type parameter to name: the JSON reader of [`Flow`].
type S2 = ();

/// SPEC 8.5, 3.2: provisioning follows the matrix of passes. An Authentication Administrator
/// provisions nothing for an administrator, nobody for themselves; Graph's request sample is
/// read as a provisioning (and refused for its placeholder values, not its shape).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_follows_the_role_matrix_and_takes_graphs_request_shape() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    let (status, refused) = flow
        .creation_options(HELPDESK, "ga@contoso.com", "creationOptions")
        .await;
    assert_eq!(status, 403, "{refused}");
    let (status, refused) = flow
        .creation_options(GA, "ga@contoso.com", "creationOptions")
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("themselves")
    );
    let (status, _) = flow
        .creation_options(
            HELPDESK,
            CHRIS,
            "creationOptions(challengeTimeoutInMinutes=2)",
        )
        .await;
    assert_eq!(status, 400, "below Graph's range");
    let sample: Value = serde_json::from_str(include_str!(
        "graph/fido2authenticationmethod-create-request.json"
    ))
    .unwrap();
    let (status, refused) = Flow::<S2>::json(
        flow.call(
            reqwest::Method::POST,
            &fido2(CHRIS, None),
            Some(HELPDESK),
            None,
            Some(sample),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("Property") && !message.contains("unknown"),
        "the sample's shape is taken; its placeholder values are what is refused: {message}"
    );
    flow.running.stop().await;
}

/// SPEC 7.4: a key registered through a pass is "User registered security info", initiated by
/// the user, naming the pass; the user deleting it is "User deleted security info".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_registered_through_a_pass_is_audited_as_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let flow = sqlite_flow(&dir, system_clock()).await;
    let Ceremony {
        pass,
        session,
        credential,
        ..
    } = flow.ceremony(false).await;
    let (status, method) = flow.register(&session, CHRIS, &credential).await;
    assert_eq!(status, 201, "{method}");
    let id = method["id"].as_str().unwrap().to_owned();
    let own = r#"{"id": "chris@contoso.com", "groups": ["onboarding"]}"#;
    let deleted = flow
        .call(
            reqwest::Method::DELETE,
            &fido2(CHRIS, Some(&id)),
            Some(own),
            None,
            None,
        )
        .await;
    assert_eq!(deleted.status(), 204);
    let trail = flow.trail().await;
    let registered = entry_about(&trail, "User registered security info", &id);
    assert_eq!(
        registered["initiatedBy"]["user"]["userPrincipalName"],
        CHRIS
    );
    assert_eq!(registered["resultReason"], "User registered Fido2 method");
    assert!(
        registered["additionalDetails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == "temporaryAccessPassId" && d["value"] == pass.as_str()),
        "{registered}"
    );
    let removed = entry_about(&trail, "User deleted security info", &id);
    assert_eq!(removed["initiatedBy"]["user"]["userPrincipalName"], CHRIS);
    flow.running.stop().await;
}
