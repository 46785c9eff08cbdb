//! Entra access tokens, with keys made at test time (RSA 2048 and P-256): the claims Entra
//! sends are read into a principal; every forged or stale token is refused, and over HTTP gets
//! a 401 with `WWW-Authenticate: Bearer` and Graph's body; keys fetched from a JWKS URL rotate,
//! tokens naming made-up keys do not make the service hammer the issuer, and an issuer that
//! goes silent or fails never stalls a request whose key is known.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};
use temporary_access_pass::admin::UserType;
use temporary_access_pass::grant::{Grant, Permission, Permissions};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::store::InMemoryStore;
use temporary_access_pass::{AppId, DirectoryRole};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::Authenticator;
use temporary_access_pass_graph_service::jwt::JwtAuthenticator;
use temporary_access_pass_graph_service::jwt::keys::{KeyTimes, MISS_WAIT};
use temporary_access_pass_graph_service::{GraphError, Limits, POLICY_PATH};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{
    CHRIS_ID, GA_ID, GUEST_ID, HELPDESK_ID, REPORTING_APP_ID, REPORTING_OBJECT_ID, WORKFLOW_APP_ID,
    WORKFLOW_OBJECT_ID, passes,
};
use temporary_access_pass_testkit::postgres as support;
use temporary_access_pass_testkit::service::{client, enable_policy, start};
use tokio::sync::RwLock;
use tokio::time::Instant;

const ISSUER: &str = "https://login.microsoftonline.com/7d0c4b2f-0000-4000-8000-00000000c0de/v2.0";
const AUDIENCE: &str = "api://temporary-access-pass";
const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
const AUTHENTICATION_ADMINISTRATOR: &str = "c4e39bd9-1100-46d3-8c65-fb160da0071f";
const MEMBER: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

/// A signing key of the issuer's, with its `kid`.
struct Key {
    encoding: EncodingKey,
    alg: Algorithm,
    kid: String,
}

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn rsa_key(kid: &str) -> Key {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    Key {
        encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        alg: Algorithm::RS256,
        kid: kid.to_owned(),
    }
}

fn ec_key(kid: &str) -> Key {
    use p256::pkcs8::EncodePrivateKey as _;
    let private =
        <p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(&mut rng());
    Key {
        encoding: EncodingKey::from_ec_der(private.to_pkcs8_der().unwrap().as_bytes()),
        alg: Algorithm::ES256,
        kid: kid.to_owned(),
    }
}

impl Key {
    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding).unwrap()
    }
}

fn set(keys: &[&Key]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    }
}

/// Every scope the service knows, delegated: the roles alone then decide.
const ALL_SCOPES: &str = "UserAuthenticationMethod.ReadWrite.All Policy.ReadWrite.AuthenticationMethod \
                          AuditLog.Read.All openid";

/// The tenant `ISSUER` names, which a token's `tid` repeats.
const TENANT: &str = "7d0c4b2f-0000-4000-8000-00000000c0de";

/// The claims every access token of the issuer's carries for the service: issuer, audience,
/// times, tenant, and the caller's object id `oid`.
fn common_claims(oid: &str) -> Value {
    let now = get_current_timestamp();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": oid,
    })
}

/// The claims of an access token Entra would issue to the user with object id `oid` and the
/// roles `wids`.
fn claims(oid: &str, wids: &[&str]) -> Value {
    let mut claims = common_claims(oid);
    claims["scp"] = json!(ALL_SCOPES);
    claims["wids"] = json!(wids);
    claims["groups"] = json!(["onboarding"]);
    claims
}

/// The claims of an access token Entra would issue to the application `app` calling as itself
/// (client credentials): its service principal `oid`, its application permissions `roles`,
/// no `scp`.
fn app_claims(app: &str, oid: &str, roles: &[&str]) -> Value {
    let mut claims = common_claims(oid);
    claims["azp"] = json!(app);
    claims["idtyp"] = json!("app");
    claims["roles"] = json!(roles);
    claims
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    headers
}

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Tokens a forger or a stale client would send, each with what it must be refused for.
fn forgeries(good: &Key, other: &Key) -> Vec<(&'static str, String)> {
    let mut expired = claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]);
    expired["exp"] = json!(get_current_timestamp() - 3600);
    let mut early = claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]);
    early["nbf"] = json!(get_current_timestamp() + 3600);
    let mut audience = claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]);
    audience["aud"] = json!("https://graph.microsoft.com");
    let mut issuer = claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]);
    issuer["iss"] = json!("https://login.microsoftonline.com/another-tenant/v2.0");
    let mut no_exp = claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]);
    no_exp.as_object_mut().unwrap().remove("exp");
    // A name is not an identity (SPEC 3.6): without `oid`, `upn` and `preferred_username`
    // name nobody.
    let mut by_name = claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]);
    by_name.as_object_mut().unwrap().remove("oid");
    by_name["upn"] = json!("helpdesk@contoso.com");
    by_name["preferred_username"] = json!("helpdesk@contoso.com");
    let mut another_tenant = claims(GA_ID, &[GLOBAL_ADMINISTRATOR]);
    another_tenant["tid"] = json!("0badc0de-0000-4000-8000-000000000000");
    let mut no_tenant = claims(GA_ID, &[GLOBAL_ADMINISTRATOR]);
    no_tenant.as_object_mut().unwrap().remove("tid");
    // Applications' tokens (client credentials) that do not say which application, say two,
    // or carry a user's delegated scopes; a user's token without scopes; an `idtyp` of neither.
    let mut anonymous_app = claims(GA_ID, &[]);
    anonymous_app.as_object_mut().unwrap().remove("scp");
    anonymous_app["idtyp"] = json!("app");
    anonymous_app["roles"] = json!(["UserAuthMethod-TAP.ReadWrite.All"]);
    let mut two_apps = app_claims(WORKFLOW_APP_ID, WORKFLOW_OBJECT_ID, &[]);
    two_apps["appid"] = json!(REPORTING_APP_ID);
    let mut scoped_app = app_claims(WORKFLOW_APP_ID, WORKFLOW_OBJECT_ID, &[]);
    scoped_app["scp"] = json!(ALL_SCOPES);
    let mut unscoped_user = claims(GA_ID, &[GLOBAL_ADMINISTRATOR]);
    unscoped_user.as_object_mut().unwrap().remove("scp");
    unscoped_user["idtyp"] = json!("user");
    let mut odd_type = claims(GA_ID, &[GLOBAL_ADMINISTRATOR]);
    odd_type["idtyp"] = json!("device");
    let payload = b64(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR]));
    // `alg: none`, unsigned, naming the real key.
    let none = format!(
        "{}.{payload}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": good.kid}))
    );
    // HS256 keyed with the public key's modulus (the classic key confusion), naming the real key.
    let public = good.jwk();
    let secret = match &public.algorithm {
        jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) => rsa.n.clone(),
        _ => unreachable!("the good key is RSA"),
    };
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(good.kid.clone());
    let confused = encode(
        &hs,
        &claims(GA_ID, &[GLOBAL_ADMINISTRATOR]),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    // Signed by a key that is not the issuer's, under the issuer's kid.
    let impostor = Key {
        encoding: other.encoding.clone(),
        alg: other.alg,
        kid: good.kid.clone(),
    };
    // A good token with one claim changed after signing.
    let signed = good.sign(&claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]));
    let parts: Vec<&str> = signed.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR])),
        parts[2]
    );
    let mut no_kid = Header::new(Algorithm::RS256);
    no_kid.kid = None;
    let kidless = encode(
        &no_kid,
        &claims(HELPDESK_ID, &[AUTHENTICATION_ADMINISTRATOR]),
        &good.encoding,
    )
    .unwrap();
    vec![
        ("expired", good.sign(&expired)),
        ("not valid yet", good.sign(&early)),
        ("another audience", good.sign(&audience)),
        ("another issuer", good.sign(&issuer)),
        ("no exp claim", good.sign(&no_exp)),
        ("names no user object id (oid)", good.sign(&by_name)),
        (
            "tenant (tid) is not the issuer's",
            good.sign(&another_tenant),
        ),
        ("names no tenant (tid)", good.sign(&no_tenant)),
        ("names no app id (azp or appid)", good.sign(&anonymous_app)),
        (
            "azp and appid name different applications",
            good.sign(&two_apps),
        ),
        (
            "application's own token carries no delegated scope (scp)",
            good.sign(&scoped_app),
        ),
        (
            "user's token carries no delegated scope (scp)",
            good.sign(&unscoped_user),
        ),
        ("idtyp is neither app nor user", good.sign(&odd_type)),
        ("not a signed JWT", none),
        ("not accepted", confused),
        (
            "signature does not verify",
            impostor.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR])),
        ),
        ("signature does not verify", tampered),
        ("names no signing key", kidless),
        (
            "not the issuer's",
            other.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR])),
        ),
        ("not a signed JWT", "not.a.jwt".to_owned()),
    ]
}

#[tokio::test]
async fn entra_tokens_become_principals_and_every_forgery_is_refused_for_its_reason() {
    let rsa = rsa_key("rsa-1");
    let ec = ec_key("ec-1");
    let other = rsa_key("someone-else");
    let authenticator = JwtAuthenticator::new(ISSUER, AUDIENCE, set(&[&rsa, &ec]));

    let helpdesk = authenticator
        .authenticate(&bearer(&rsa.sign(&claims(
            HELPDESK_ID,
            &[AUTHENTICATION_ADMINISTRATOR, MEMBER],
        ))))
        .await
        .unwrap();
    assert_eq!(helpdesk.id().as_str(), HELPDESK_ID);
    assert_eq!(
        helpdesk.roles(),
        &[DirectoryRole::AuthenticationAdministrator]
    );
    assert_eq!(helpdesk.groups().len(), 1);
    assert_eq!(helpdesk.user_type(), UserType::Member);
    let mut guest = claims(GUEST_ID, &[]);
    guest["acct"] = json!(1);
    let visitor = authenticator
        .authenticate(&bearer(&ec.sign(&guest)))
        .await
        .unwrap();
    assert_eq!(visitor.user_type(), UserType::Guest);
    assert!(visitor.roles().is_empty());
    // A role this service does not know grants nothing and fails closed.
    let unknown = authenticator
        .authenticate(&bearer(
            &ec.sign(&claims(CHRIS_ID, &["e8611ab8-c189-46e8-94e1-60213ab1f814"])),
        ))
        .await
        .unwrap();
    assert_eq!(unknown.roles(), &[DirectoryRole::OtherAdministrator]);
    // The user is the object id, whatever name the token also carries; the tenant is compared
    // without regard to case, as GUIDs are.
    let mut named = claims(CHRIS_ID, &[]);
    named["upn"] = json!("ga@contoso.com");
    named["preferred_username"] = json!("ga@contoso.com");
    named["tid"] = json!(TENANT.to_ascii_uppercase());
    let chris = authenticator
        .authenticate(&bearer(&rsa.sign(&named)))
        .await
        .unwrap();
    assert_eq!(chris.id().as_str(), CHRIS_ID);
    assert_eq!(chris.app(), None);
    // An application's token: the app id from `azp` (or a v1 token's `appid`), the service
    // principal from `oid`, the permissions from `roles`; its `wids` are not read.
    let mut v2 = app_claims(
        WORKFLOW_APP_ID,
        WORKFLOW_OBJECT_ID,
        &["UserAuthMethod-TAP.ReadWrite.All", "Directory.Read.All"],
    );
    v2["wids"] = json!([GLOBAL_ADMINISTRATOR]);
    let mut v1 = app_claims(
        REPORTING_APP_ID,
        REPORTING_OBJECT_ID,
        &["AuditLog.Read.All"],
    );
    let fields = v1.as_object_mut().unwrap();
    fields.remove("azp");
    fields.remove("idtyp");
    fields.insert("appid".into(), json!(REPORTING_APP_ID));
    for (token, app, object, permission) in [
        (
            v2,
            WORKFLOW_APP_ID,
            WORKFLOW_OBJECT_ID,
            Permission::TapReadWriteAll,
        ),
        (
            v1,
            REPORTING_APP_ID,
            REPORTING_OBJECT_ID,
            Permission::AuditLogReadAll,
        ),
    ] {
        let caller = authenticator
            .authenticate(&bearer(&rsa.sign(&token)))
            .await
            .unwrap();
        assert_eq!(caller.app().map(AppId::as_str), Some(app));
        assert_eq!(caller.id().as_str(), object);
        assert!(caller.roles().is_empty());
        assert_eq!(
            caller.grant(),
            Grant::Application(Permissions::NONE.with(permission))
        );
    }

    for (reason, token) in forgeries(&rsa, &other) {
        let refused = authenticator
            .authenticate(&bearer(&token))
            .await
            .expect_err(reason);
        assert!(refused.token_given);
        assert!(
            refused.message.contains(reason),
            "{reason}: refused with {:?}",
            refused.message
        );
        assert!(
            !refused.message.contains(&token),
            "the message quotes the token"
        );
    }
    let missing = authenticator
        .authenticate(&HeaderMap::new())
        .await
        .unwrap_err();
    assert!(!missing.token_given);
    let mut basic = HeaderMap::new();
    basic.insert("authorization", "Basic Z2E6cGFzc3dvcmQ=".parse().unwrap());
    assert!(
        authenticator
            .authenticate(&basic)
            .await
            .unwrap_err()
            .token_given
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_every_refused_token_gets_401_with_www_authenticate_and_graphs_body() {
    let rsa = rsa_key("rsa-1");
    let other = rsa_key("someone-else");
    let authenticator = JwtAuthenticator::new(ISSUER, AUDIENCE, set(&[&rsa]));
    let running = start(InMemoryStore::new(), authenticator, Limits::default()).await;
    let http = client();
    let policy = format!("{}/v1.0{POLICY_PATH}", running.base);

    let good = rsa.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR]));
    let response = http.get(&policy).bearer_auth(&good).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let response = http.get(&policy).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    for (reason, token) in forgeries(&rsa, &other) {
        let response = http.get(&policy).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 401, "{reason}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{reason}: {challenge}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "InvalidAuthenticationToken",
            "{reason}"
        );
    }

    // A delegated token acts only under a scope that allows the operation, whatever its roles
    // (SPEC 3.7): a Global Administrator's token with no scope of the service's does nothing,
    // and one that may read passes may not create them.
    let scoped = |scp: &str| {
        let mut token = claims(GA_ID, &[GLOBAL_ADMINISTRATOR]);
        token["scp"] = json!(scp);
        rsa.sign(&token)
    };
    let chris = format!(
        "{}/v1.0/users/chris@contoso.com/authentication/temporaryAccessPassMethods",
        running.base
    );
    let audits = format!("{}/v1.0/auditLogs/directoryAudits", running.base);
    let unscoped = scoped("openid User.Read");
    let reader = scoped("UserAuthMethod-TAP.Read.All Policy.Read.All");
    for (what, request, want) in [
        (
            "policy read, no scope",
            http.get(&policy).bearer_auth(&unscoped),
            403,
        ),
        (
            "policy read, Policy.Read.All",
            http.get(&policy).bearer_auth(&reader),
            200,
        ),
        (
            "policy change, Policy.Read.All",
            http.patch(&policy)
                .bearer_auth(&reader)
                .json(&json!({"state": "enabled"})),
            403,
        ),
        (
            "audit, no AuditLog.Read.All",
            http.get(&audits).bearer_auth(&reader),
            403,
        ),
        (
            "passes read, no scope",
            http.get(&chris).bearer_auth(&unscoped),
            403,
        ),
        (
            "passes read, TAP.Read.All",
            http.get(&chris).bearer_auth(&reader),
            200,
        ),
        (
            "pass creation, TAP.Read.All",
            http.post(&chris).bearer_auth(&reader).json(&json!({})),
            403,
        ),
    ] {
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, want, "{what}: {body}");
        if want == 403 {
            assert_eq!(body["error"]["code"], "accessDenied", "{what}");
        }
    }
    running.stop().await;
}

/// A JWKS endpoint on loopback: the set it serves can be swapped, and it counts its fetches.
async fn jwks_endpoint(keys: Arc<RwLock<JwkSet>>, fetches: Arc<AtomicUsize>) -> String {
    Issuer::new(keys, fetches).serve().await
}

/// How the issuer's endpoint behaves.
const SERVING: u8 = 0;
/// It accepts the connection and answers only after the fetch gave up (500 ms): silent.
const BLACK_HOLE: u8 = 1;
/// It answers 500.
const FAILING: u8 = 2;

/// A JWKS endpoint whose behaviour can be switched, counting its fetches and the most that
/// were ever in flight at once.
#[derive(Clone)]
struct Issuer {
    keys: Arc<RwLock<JwkSet>>,
    fetches: Arc<AtomicUsize>,
    mode: Arc<AtomicU8>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

/// Counts a fetch out of flight when its handler ends, answered or dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Issuer {
    fn new(keys: Arc<RwLock<JwkSet>>, fetches: Arc<AtomicUsize>) -> Self {
        Self {
            keys,
            fetches,
            mode: Arc::default(),
            in_flight: Arc::default(),
            most_in_flight: Arc::default(),
        }
    }

    async fn serve(self) -> String {
        use axum::routing::get;
        let app = axum::Router::new().route(
            "/discovery/v2.0/keys",
            get(move || {
                let issuer = self.clone();
                async move {
                    issuer.fetches.fetch_add(1, Ordering::SeqCst);
                    let now = issuer.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    issuer.most_in_flight.fetch_max(now, Ordering::SeqCst);
                    let _counted = InFlight(issuer.in_flight.clone());
                    match issuer.mode.load(Ordering::SeqCst) {
                        BLACK_HOLE => {
                            tokio::time::sleep(Duration::from_millis(700)).await;
                            Err(axum::http::StatusCode::GATEWAY_TIMEOUT)
                        }
                        FAILING => Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                        _ => Ok(axum::Json(issuer.keys.read().await.clone())),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/discovery/v2.0/keys",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_keys_rotate_and_made_up_kids_do_not_hammer_the_issuer() {
    let first = rsa_key("2026-11");
    let second = ec_key("2026-12");
    let keys = Arc::new(RwLock::new(set(&[&first])));
    let fetches = Arc::new(AtomicUsize::new(0));
    let url = jwks_endpoint(keys.clone(), fetches.clone()).await;
    let mut times = KeyTimes::new(Duration::from_secs(3600));
    times.min_refetch = Duration::from_millis(300);
    let authenticator = JwtAuthenticator::fetching(ISSUER, AUDIENCE, &url, times)
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched at start");
    let token = |key: &Key| bearer(&key.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR])));
    authenticator.authenticate(&token(&first)).await.unwrap();
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "a known key is not refetched"
    );

    // The issuer rotates: the new key signs, the old one is withdrawn.
    *keys.write().await = set(&[&second]);
    authenticator.authenticate(&token(&second)).await.unwrap();
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "an unknown kid refetched once"
    );

    // A stream of tokens naming keys nobody has: at most one fetch per interval.
    for i in 0..50 {
        let made_up = Key {
            encoding: second.encoding.clone(),
            alg: second.alg,
            kid: format!("made-up-{i}"),
        };
        assert!(authenticator.authenticate(&token(&made_up)).await.is_err());
    }
    let after_stream = fetches.load(Ordering::SeqCst);
    assert!(
        after_stream <= 3,
        "{after_stream} fetches for 50 made-up kids within the interval"
    );
    // The withdrawn key is refused once the interval allows a look.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let refused = authenticator
        .authenticate(&token(&first))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("not the issuer's"),
        "{}",
        refused.message
    );
}

/// The issuer's endpoint goes silent, then fails, then comes back. Requests whose key is
/// known keep their latency throughout (the fetch runs on its own task, never under the lock
/// they read), at most one fetch is ever in flight, failures back off, made-up keys wait at
/// most for the fetch in flight; once the keys are older than their maximum age every request
/// gets 503 at once (not a hang, and not a retired key trusted for ever), until a fetch
/// succeeds again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_then_failing_issuer_never_stalls_a_request_whose_key_is_known() {
    let key = rsa_key("2026-12");
    let issuer = Issuer::new(Arc::new(RwLock::new(set(&[&key]))), Arc::default());
    let url = issuer.clone().serve().await;
    let times = KeyTimes {
        refresh: Duration::from_secs(1),
        min_refetch: Duration::from_millis(100),
        max_age: Duration::from_secs(3),
        fetch_timeout: Duration::from_millis(500),
    };
    let started = Instant::now();
    let authenticator = Arc::new(
        JwtAuthenticator::fetching(ISSUER, AUDIENCE, &url, times)
            .await
            .unwrap(),
    );
    let token = bearer(&key.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR])));
    issuer.mode.store(BLACK_HOLE, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The set is due for a refresh, and the issuer never answers: made-up keys wait for the
    // fetch in flight (at most), while known ones answer at once, again and again.
    let mut made_up = Vec::new();
    for i in 0..10 {
        let authenticator = authenticator.clone();
        let forged = Key {
            encoding: key.encoding.clone(),
            alg: key.alg,
            kid: format!("made-up-{i}"),
        };
        let headers = bearer(&forged.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR])));
        made_up.push(tokio::spawn(async move {
            let asked = Instant::now();
            let refused = authenticator.authenticate(&headers).await.unwrap_err();
            (refused, asked.elapsed())
        }));
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..40 {
        let asked = Instant::now();
        authenticator.authenticate(&token).await.unwrap();
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        slowest < Duration::from_millis(300),
        "a known key waited {slowest:?} while the issuer was silent"
    );
    for task in made_up {
        let (refused, waited) = task.await.unwrap();
        assert!(!refused.unavailable && refused.message.contains("not the issuer's"));
        assert!(
            waited < MISS_WAIT + Duration::from_millis(500),
            "{waited:?}"
        );
    }

    // Now it fails outright. Until the keys pass their maximum age they still serve.
    issuer.mode.store(FAILING, Ordering::SeqCst);
    while started.elapsed() < Duration::from_millis(2800) {
        let asked = Instant::now();
        authenticator.authenticate(&token).await.unwrap();
        slowest = slowest.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(slowest < Duration::from_millis(300), "{slowest:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let asked = Instant::now();
    let stale = authenticator.authenticate(&token).await.unwrap_err();
    assert!(stale.unavailable, "{}", stale.message);
    let answered = GraphError::from(stale);
    assert_eq!(answered.status, 503, "not 401: the token was not judged");
    assert_eq!(answered.retry_after, Some(1));
    assert!(
        asked.elapsed() < Duration::from_millis(300),
        "{:?}",
        asked.elapsed()
    );
    let fetches = issuer.fetches.load(Ordering::SeqCst);
    assert!(
        (2..=6).contains(&fetches),
        "{fetches} fetches in 3 s of failures: one at start, then backed off"
    );
    assert_eq!(
        issuer.most_in_flight.load(Ordering::SeqCst),
        1,
        "one fetch at a time"
    );

    // The issuer is back: the next fetch the back-off allows restores every request.
    issuer.mode.store(SERVING, Ordering::SeqCst);
    let back = Instant::now();
    loop {
        match authenticator.authenticate(&token).await {
            Ok(_) => break,
            Err(e) => assert!(e.unavailable, "{}", e.message),
        }
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "the keys never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        issuer.most_in_flight.load(Ordering::SeqCst),
        1,
        "one fetch at a time"
    );
}

/// SPEC 3.7 over HTTP: an application calling as itself acts by its application permissions
/// alone. With `UserAuthMethod-TAP.ReadWrite.All` it creates and deletes a pass, and the audit
/// trail names it (`initiatedBy.app`, with the directory's display name and service
/// principal); with only `.Read.All` it reads and cannot create or delete; an application the
/// directory does not list, or a token naming another service principal, is refused.
async fn applications_act_by_their_permissions_alone<S: AsyncStore + 'static>(store: S) {
    async fn read(url: &str, token: &str) -> Value {
        let response = client().get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        response.json().await.unwrap()
    }

    let rsa = rsa_key("rsa-apps");
    let authenticator = JwtAuthenticator::new(ISSUER, AUDIENCE, set(&[&rsa]));
    let running = start(store, authenticator, Limits::default()).await;
    let http = client();
    let base = running.base.as_str();
    let ga = rsa.sign(&claims(GA_ID, &[GLOBAL_ADMINISTRATOR]));
    enable_policy(base, &format!("Bearer {ga}")).await;
    let chris = format!("{base}{}", passes(CHRIS_ID));
    let workflow = rsa.sign(&app_claims(
        WORKFLOW_APP_ID,
        WORKFLOW_OBJECT_ID,
        &["UserAuthMethod-TAP.ReadWrite.All"],
    ));
    let reporting = rsa.sign(&app_claims(
        REPORTING_APP_ID,
        REPORTING_OBJECT_ID,
        &["UserAuthMethod-TAP.Read.All", "AuditLog.Read.All"],
    ));

    let response = http
        .post(&chris)
        .bearer_auth(&reporting)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "a reading application creates nothing"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "accessDenied");

    let response = http
        .post(&chris)
        .bearer_auth(&workflow)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let one = format!("{chris}/{}", created["id"].as_str().unwrap());
    assert!(
        created["temporaryAccessPass"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );

    let listed = read(&chris, &reporting).await;
    assert_eq!(listed["value"][0]["id"], created["id"], "{listed}");
    assert_eq!(listed["value"][0]["temporaryAccessPass"], Value::Null);
    let response = http
        .delete(&one)
        .bearer_auth(&reporting)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "nor deletes");

    // Neither an application the directory does not list, nor a token of a listed one that
    // names another service principal, gets anywhere; nor a token that says it is an
    // application's and carries delegated scopes.
    let stranger = rsa.sign(&app_claims(
        "11111111-2222-4333-8444-555555555555",
        "66666666-7777-4888-9999-000000000000",
        &["UserAuthMethod-TAP.ReadWrite.All"],
    ));
    let impostor = rsa.sign(&app_claims(
        WORKFLOW_APP_ID,
        REPORTING_OBJECT_ID,
        &["UserAuthMethod-TAP.ReadWrite.All"],
    ));
    let mut both = app_claims(WORKFLOW_APP_ID, WORKFLOW_OBJECT_ID, &[]);
    both["scp"] = json!(ALL_SCOPES);
    let both = rsa.sign(&both);
    for (what, token, want) in [
        ("unknown application", &stranger, 403),
        ("another service principal", &impostor, 403),
        ("application with scopes", &both, 401),
    ] {
        let response = http.delete(&one).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), want, "{what}");
    }

    // The application's own permissions do not reach the policy or the audit trail.
    let policy = format!("{base}/v1.0{POLICY_PATH}");
    let audits = format!("{base}/v1.0/auditLogs/directoryAudits");
    for url in [&policy, &audits] {
        let response = http.get(url).bearer_auth(&workflow).send().await.unwrap();
        assert_eq!(response.status(), 403, "{url}");
    }

    let response = http
        .delete(&one)
        .bearer_auth(&workflow)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let listed = read(&chris, &reporting).await;
    assert_eq!(listed["value"], json!([]));

    // The trail names the application for both, as Entra does, and no user.
    let trail = read(&audits, &reporting).await;
    let by_app: Vec<&Value> = trail["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["initiatedBy"]["app"].is_null())
        .collect();
    let activities: Vec<&str> = by_app
        .iter()
        .map(|e| e["activityDisplayName"].as_str().unwrap())
        .collect();
    assert_eq!(
        activities,
        [
            "Admin registered security info",
            "Admin deleted security info"
        ],
        "{trail}"
    );
    for entry in by_app {
        let app = &entry["initiatedBy"]["app"];
        assert_eq!(app["appId"], WORKFLOW_APP_ID);
        assert_eq!(app["displayName"], "Joiner workflow");
        assert_eq!(app["servicePrincipalId"], WORKFLOW_OBJECT_ID);
        assert_eq!(entry["initiatedBy"]["user"], Value::Null);
        assert_eq!(entry["targetResources"][0]["id"], CHRIS_ID);
        assert_eq!(
            entry["targetResources"][0]["userPrincipalName"],
            "chris@contoso.com"
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_in_memory() {
    applications_act_by_their_permissions_alone(InMemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Blocking::new(SqliteStore::open(dir.path().join("passes.db")).unwrap());
    applications_act_by_their_permissions_alone(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_on_postgresql() {
    let scratch = support::Scratch::new("applications").await;
    let store = scratch.store(8, "contoso").await;
    applications_act_by_their_permissions_alone(store).await;
}
