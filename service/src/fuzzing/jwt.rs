//! Access tokens: an `Authorization` header as it comes; claims the input writes (as bytes, or
//! built from the names and values Entra's tokens carry), signed with the issuer's real key (so
//! the claims' mapping is reached past the signature); and a key set the input writes, checked
//! with a token the real key signed.
//!
//! What must hold:
//! - a header the input writes whole is refused: no one without the issuer's key makes a token
//!   the service takes;
//! - a principal from signed claims is what the claims say: the issuer's tenant in `tid`, the
//!   principal's id the `oid`, an application exactly when `idtyp` says `app` or, without
//!   `idtyp`, when there is no `scp`; an application with no `scp` and the app id `azp` or
//!   `appid` name; a user with a `scp`;
//! - a key set the input writes verifies the real key's token only when it holds that key,
//!   under the token's `kid`.

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Map, Value};
use temporary_access_pass::Principal;

use crate::identity::{Authenticator as _, Unauthenticated};
use crate::jwt::JwtAuthenticator;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const AUDIENCE: &str = "api://temporary-access-pass";
const KID: &str = "fuzz-key";

/// The issuer's key (PKCS #8, base64), made for the fuzzer alone: it signs nothing else.
const PRIVATE_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgR8GV8/k8YdLvkqGl\
anfW24CyA2PFyq3A1MJup1A3PoWhRANCAAQvEH28sWCCrrnB5760Zy88qTEX7212\
fLEkZ7WrCV3H6I1ba5gqUNQ2G6hQQjkRz825LkwdC6rO9ZgJEhptWzIy";
const X: &str = "LxB9vLFggq65wee-tGcvPKkxF-9tdnyxJGe1qwldx-g";
const Y: &str = "jVtrmCpQ1DYbqFBCORHPzbkuTB0Lqs71mAkSGm1bMjI";

fn issuer() -> String {
    format!("https://login.microsoftonline.com/{TENANT}/v2.0")
}

fn key_set() -> Value {
    serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": KID,
        "use": "sig", "alg": "ES256"}]})
}

/// What the input is.
#[derive(Debug, Arbitrary)]
enum Input {
    /// An `Authorization` header, whole.
    Header(String),
    /// Claims (a JSON object), signed with the real key; with `base`, the valid `iss`, `aud`,
    /// `exp` and `tid` are added where the claims lack them.
    Signed {
        claims: Vec<u8>,
        base: bool,
        kid: Option<String>,
    },
    /// A key set (JSON), and a valid token the real key signed under `kid`.
    Keys(Vec<u8>),
    /// Claims built from Entra's names and values the service knows, signed as `Signed` is.
    #[expect(
        clippy::option_option,
        reason = "the input's own encoding: none, the issuer's key id; some, the input's choice"
    )]
    Built {
        claims: Vec<(Claim, Claimed)>,
        base: bool,
        /// The issuer's key id (`None`), or the input's.
        kid: Option<Option<String>>,
    },
}

/// A claim's name.
#[derive(Debug, Arbitrary)]
enum Claim {
    Oid,
    Tid,
    Iss,
    Aud,
    Exp,
    Nbf,
    Scp,
    Roles,
    Wids,
    Idtyp,
    Azp,
    Appid,
    Other(String),
}

/// A claim's value: any, or one the service gives a meaning to.
#[derive(Debug, Arbitrary)]
enum Claimed {
    Text(String),
    Known(u8),
    Number(i64),
    Flag(bool),
    List(Vec<String>),
    Null,
}

/// Values the service reads a meaning into (ids, kinds, scopes, the tenant and audience).
const KNOWN: [&str; 9] = [
    "1c7a4e9f-6d2b-4e83-a5f1-0b9c8d7e6f03",
    "app",
    "user",
    TENANT,
    AUDIENCE,
    "UserAuthenticationMethod.ReadWrite.All",
    "UserAuthMethod-TAP.ReadWrite.All",
    "0f9d3c1e-5b7a-4e2d-9c8b-1a2b3c4d5e6f",
    "62e90394-69f5-4237-9190-012177145e10",
];

impl Claim {
    fn name(self) -> String {
        match self {
            Self::Oid => "oid",
            Self::Tid => "tid",
            Self::Iss => "iss",
            Self::Aud => "aud",
            Self::Exp => "exp",
            Self::Nbf => "nbf",
            Self::Scp => "scp",
            Self::Roles => "roles",
            Self::Wids => "wids",
            Self::Idtyp => "idtyp",
            Self::Azp => "azp",
            Self::Appid => "appid",
            Self::Other(name) => return name,
        }
        .to_owned()
    }
}

impl Claimed {
    fn value(self) -> Value {
        match self {
            Self::Text(text) => text.into(),
            Self::Known(k) => KNOWN
                .get(usize::from(k).checked_rem(KNOWN.len()).unwrap_or(0))
                .map_or(Value::Null, |known| (*known).into()),
            Self::Number(n) => n.into(),
            Self::Flag(b) => b.into(),
            Self::List(items) => items.into(),
            Self::Null => Value::Null,
        }
    }
}

/// The fuzz target (see the module).
///
/// # Panics
///
/// When an outcome breaks one of the module's properties.
#[must_use]
pub fn run(data: &[u8]) -> Option<Verdict> {
    let input = super::input::<Input>(data)?;
    Some(super::runtime().block_on(check(input)))
}

/// What became of an input's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Refused (or never a header at all).
    Refused,
    /// Taken as a user's delegated token.
    User,
    /// Taken as an application's own token.
    App,
}

impl Verdict {
    fn of(outcome: Option<Result<Principal, Unauthenticated>>) -> Self {
        match outcome {
            Some(Ok(principal)) if principal.app().is_some() => Self::App,
            Some(Ok(_)) => Self::User,
            _ => Self::Refused,
        }
    }
}

#[expect(
    clippy::expect_used,
    reason = "the harness's own key and key set, from constants"
)]
fn signer() -> &'static (EncodingKey, JwtAuthenticator) {
    static SIGNER: OnceLock<(EncodingKey, JwtAuthenticator)> = OnceLock::new();
    SIGNER.get_or_init(|| {
        let set: JwkSet = serde_json::from_value(key_set()).expect("the harness's key set");
        (
            EncodingKey::from_ec_der(&STANDARD.decode(PRIVATE_KEY).expect("base64")),
            JwtAuthenticator::new(&issuer(), AUDIENCE, set),
        )
    })
}

#[expect(clippy::expect_used, reason = "signing with the harness's own key")]
fn sign(claims: &Map<String, Value>, kid: Option<String>) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid;
    encode(&header, claims, &signer().0).expect("ES256 signs any JSON object")
}

fn base_claims() -> Map<String, Value> {
    let now = get_current_timestamp();
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer().into());
    claims.insert("aud".into(), AUDIENCE.into());
    claims.insert("exp".into(), now.saturating_add(3600).into());
    claims.insert("tid".into(), TENANT.into());
    claims
}

async fn authenticate(
    authenticator: &JwtAuthenticator,
    header: &str,
) -> Option<Result<Principal, Unauthenticated>> {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_str(header).ok()?);
    Some(authenticator.authenticate(&headers).await)
}

#[expect(clippy::panic, reason = "a broken property is the fuzzer's finding")]
async fn check(input: Input) -> Verdict {
    match input {
        Input::Header(header) => {
            let outcome = authenticate(&signer().1, &header).await;
            if let Some(Ok(principal)) = &outcome {
                panic!("a token the input wrote is taken: {principal:?}");
            }
            Verdict::of(outcome)
        }
        Input::Signed { claims, base, kid } => {
            let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(&claims) else {
                return Verdict::Refused;
            };
            signed(claims, base, kid).await
        }
        Input::Built { claims, base, kid } => {
            let claims = claims
                .into_iter()
                .map(|(name, value)| (name.name(), value.value()))
                .collect();
            signed(claims, base, kid.unwrap_or_else(|| Some(KID.to_owned()))).await
        }
        Input::Keys(set) => {
            let Ok(set) = serde_json::from_slice::<JwkSet>(&set) else {
                return Verdict::Refused;
            };
            let holds_the_key = set.keys.iter().any(|jwk| {
                jwk.common.key_id.as_deref() == Some(KID)
                    && serde_json::to_value(jwk).is_ok_and(|v| {
                        v.get("x").and_then(Value::as_str) == Some(X)
                            && v.get("y").and_then(Value::as_str) == Some(Y)
                    })
            });
            let authenticator = JwtAuthenticator::new(&issuer(), AUDIENCE, set);
            let mut claims = base_claims();
            claims.insert("oid".into(), "1c7a4e9f-6d2b-4e83-a5f1-0b9c8d7e6f03".into());
            claims.insert(
                "scp".into(),
                "UserAuthenticationMethod.ReadWrite.All".into(),
            );
            let token = sign(&claims, Some(KID.to_owned()));
            let outcome = authenticate(&authenticator, &format!("Bearer {token}")).await;
            assert!(
                !matches!(outcome, Some(Ok(_))) || holds_the_key,
                "a key set without the issuer's key verified its token"
            );
            Verdict::of(outcome)
        }
    }
}

/// `claims` (with the base claims where they lack them, when `base`) signed with the issuer's
/// key under `kid`, and what the service takes them for.
async fn signed(mut claims: Map<String, Value>, base: bool, kid: Option<String>) -> Verdict {
    if base {
        for (name, value) in base_claims() {
            claims.entry(name).or_insert(value);
        }
    }
    let token = sign(&claims, kid);
    let outcome = authenticate(&signer().1, &format!("Bearer {token}")).await;
    if let Some(Ok(principal)) = &outcome {
        is_what_the_claims_say(principal, &claims);
    }
    Verdict::of(outcome)
}

/// The properties of a principal the signed `claims` gave (see the module).
fn is_what_the_claims_say(principal: &Principal, claims: &Map<String, Value>) {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    assert_eq!(
        text("iss"),
        Some(issuer().as_str()),
        "another issuer's token taken"
    );
    assert!(
        text("tid").is_some_and(|tid| tid.eq_ignore_ascii_case(TENANT)),
        "another tenant's token taken"
    );
    assert_eq!(
        Some(principal.id().as_str()),
        text("oid"),
        "the principal is not the oid"
    );
    let app_only = match text("idtyp") {
        Some(idtyp) => idtyp == "app",
        None => !claims.contains_key("scp"),
    };
    assert_eq!(
        principal.app().is_some(),
        app_only,
        "app-only decided against the claims"
    );
    if let Some(app) = principal.app() {
        assert!(
            !claims.contains_key("scp"),
            "an application with a delegated scope"
        );
        assert!(
            text("azp").or(text("appid")) == Some(app.as_str()),
            "the application is not the token's azp or appid"
        );
    } else {
        assert!(text("scp").is_some(), "a user without a delegated scope");
    }
}
