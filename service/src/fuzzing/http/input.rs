//! The inputs of the HTTP target: the routes, users, callers and bodies a sequence is made of.

use arbitrary::Arbitrary;
use axum::http::Method;
use serde_json::{Value, json};
use temporary_access_pass::time::{Duration as Span, UtcDateTime};

use crate::POLICY_PATH;

/// The harness's clock at the start of every input: 2026-12-07T00:00:00Z.
pub(super) const NOW: i64 = 1_796_601_600;
pub(super) const DIRECTORY: &str = include_str!("../../../demo/directory.json");
pub(super) const TOKENS: &str = include_str!("../../../demo/tokens.json");
pub(super) const CHRIS: &str = "chris@contoso.com";
pub(super) const CHRIS_ID: &str = "1c7a4e9f-6d2b-4e83-a5f1-0b9c8d7e6f03";
pub(super) const GA_ID: &str = "5d9b1a3e-7c42-4f0a-9e61-2b8c4d7f0a01";
pub(super) const GUEST_ID: &str = "f04b8d26-9a1e-4c57-8b3d-7e6a5c4b3a04";

/// A user as a route names them.
#[derive(Debug, Arbitrary)]
pub(super) enum User {
    Chris,
    ChrisInCapitals,
    ChrisById,
    GlobalAdministrator,
    /// An Authentication Administrator, a Privileged one and a Security Reader: users without
    /// a pass, for whom an administrator may create one.
    Helpdesk,
    PrivilegedAdministrator,
    SecurityReader,
    Guest,
    Other(String),
}

impl User {
    pub(super) fn path(&self) -> String {
        match self {
            Self::Chris => CHRIS.to_owned(),
            Self::ChrisInCapitals => CHRIS.to_uppercase(),
            Self::ChrisById => CHRIS_ID.to_owned(),
            Self::GlobalAdministrator => GA_ID.to_owned(),
            Self::Helpdesk => "helpdesk@contoso.com".to_owned(),
            Self::PrivilegedAdministrator => "pam@contoso.com".to_owned(),
            Self::SecurityReader => "3a6e0d52-8f1b-4c79-9d24-5b0e7f1c2d05".to_owned(),
            Self::Guest => GUEST_ID.to_owned(),
            Self::Other(name) => name.clone(),
        }
    }
}

/// Where a request goes.
#[derive(Debug, Arbitrary)]
pub(super) enum Route {
    Policy,
    Passes(User),
    /// A pass by id: the last one a creation showed (`None`), or the input's.
    Pass(User, Option<String>),
    Fido2Methods(User),
    Fido2Method(User, String),
    Audit,
    SignIn,
    RegistrationOptions,
    Registration,
    AuthenticationOptions,
    Authentication,
    Page,
    Live,
    Raw(String),
}

impl Route {
    /// The path, a pass named by the last id a creation showed (`last_pass`) when the route
    /// asks for it.
    pub(super) fn path(&self, last_pass: Option<&str>) -> String {
        let user = |u: &User| format!("/v1.0/users/{}/authentication", u.path());
        match self {
            Self::Policy => format!("/v1.0{POLICY_PATH}"),
            Self::Passes(u) => format!("{}/temporaryAccessPassMethods", user(u)),
            Self::Pass(u, id) => format!(
                "{}/temporaryAccessPassMethods/{}",
                user(u),
                id.as_deref().or(last_pass).unwrap_or_default()
            ),
            Self::Fido2Methods(u) => format!("{}/fido2Methods", user(u)),
            Self::Fido2Method(u, id) => format!("{}/fido2Methods/{id}", user(u)),
            Self::Audit => "/v1.0/auditLogs/directoryAudits".to_owned(),
            Self::SignIn => "/signIn/temporaryAccessPass".to_owned(),
            Self::RegistrationOptions => "/webauthn/registration/options".to_owned(),
            Self::Registration => "/webauthn/registration".to_owned(),
            Self::AuthenticationOptions => "/webauthn/authentication/options".to_owned(),
            Self::Authentication => "/webauthn/authentication".to_owned(),
            Self::Page => "/onboarding".to_owned(),
            Self::Live => "/health/live".to_owned(),
            Self::Raw(path) => path.clone(),
        }
    }
}

/// Who calls.
#[derive(Debug, Arbitrary)]
pub(super) enum Caller {
    Nobody,
    GlobalAdministrator,
    Helpdesk,
    Workflow,
    Token(String),
}

impl Caller {
    pub(super) fn authorization(&self) -> Option<String> {
        match self {
            Self::Nobody => None,
            Self::GlobalAdministrator => Some("Bearer ga-demo-token".into()),
            Self::Helpdesk => Some("Bearer helpdesk-demo-token".into()),
            Self::Workflow => Some("Bearer workflow-demo-token".into()),
            Self::Token(text) => Some(text.clone()),
        }
    }
}

/// One HTTP request.
#[derive(Debug, Arbitrary)]
pub(super) struct Call {
    pub(super) method: u8,
    pub(super) route: Route,
    pub(super) query: Option<String>,
    pub(super) caller: Caller,
    /// 0: `application/json`; 1: none; 2: `application/x+json; charset=utf-8`; else text.
    pub(super) content_type: u8,
    pub(super) with_cookie: bool,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Payload,
}

/// A request's body: bytes as written, or one of the service's own bodies with the input's
/// values, so that sequences reach what lies past the parsers.
#[derive(Debug, Arbitrary)]
pub(super) enum Payload {
    Raw(Vec<u8>),
    /// A pass's creation: `lifetimeInMinutes`, `isUsableOnce`, `startDateTime` minutes from now.
    Create(Option<i64>, Option<bool>, Option<i32>),
    /// The policy: enabled, one-time, the three lifetimes and the length.
    Policy(bool, bool, [Option<i64>; 4]),
    /// A sign-in by this user with the last code shown (`$CODE`), or with the input's.
    SignIn(User, Option<String>),
    /// Passkey options, or a registration or sign-in answer, for this user.
    Passkey(User, Option<Vec<u8>>),
}

/// A JSON object of the properties given (a `None` is left out: Graph refuses `null` for them).
fn object<const N: usize>(properties: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        properties
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect(),
    )
}

impl Payload {
    pub(super) fn bytes(self) -> Vec<u8> {
        let user = |user: &User| Value::String(user.path());
        let body = match self {
            Self::Raw(bytes) => return bytes,
            Self::Create(lifetime, once, start) => {
                let start = start.and_then(|minutes| {
                    let at = UtcDateTime::from_unix_timestamp(NOW)
                        .ok()?
                        .checked_add(Span::minutes(i64::from(minutes)))?;
                    temporary_access_pass::graph::rfc3339::format(at).ok()
                });
                object([
                    ("lifetimeInMinutes", lifetime.map(Value::from)),
                    ("isUsableOnce", once.map(Value::from)),
                    ("startDateTime", start.map(Value::from)),
                ])
            }
            Self::Policy(enabled, once, [min, max, default, length]) => object([
                (
                    "state",
                    Some(if enabled { "enabled" } else { "disabled" }.into()),
                ),
                ("isUsableOnce", Some(once.into())),
                ("minimumLifetimeInMinutes", min.map(Value::from)),
                ("maximumLifetimeInMinutes", max.map(Value::from)),
                ("defaultLifetimeInMinutes", default.map(Value::from)),
                ("defaultLength", length.map(Value::from)),
            ]),
            Self::SignIn(who, code) => json!({
                "userId": user(&who),
                "temporaryAccessPass": code.unwrap_or_else(|| "$CODE".to_owned()),
            }),
            Self::Passkey(who, None) => json!({"userId": user(&who)}),
            Self::Passkey(who, Some(answer)) => json!({
                "userId": user(&who),
                "credential": serde_json::from_slice::<Value>(&answer).unwrap_or(Value::Null),
            }),
        };
        body.to_string().into_bytes()
    }
}

/// A step of an input.
#[derive(Debug, Arbitrary)]
pub(super) enum Step {
    Call(Box<Call>),
    /// The engine's clock moves this many minutes on.
    Wait(u16),
}

pub(super) const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PATCH,
    Method::DELETE,
    Method::PUT,
    Method::HEAD,
    Method::OPTIONS,
];
