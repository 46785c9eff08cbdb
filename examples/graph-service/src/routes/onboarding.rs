//! The onboarding routes (SPEC 8): the page, the two steps of registering a passkey inside the
//! window a pass opened, the two steps of signing in with it, and the user's keys in Graph's
//! shape (`GET /v1.0/users/{id}/authentication/fido2Methods`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use temporary_access_pass::admin::{Action, authorize};
use temporary_access_pass::signin::{Grant, PasswordlessMethod, RegistrationError};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{Clock, EngineError, Principal, UserId};
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::AppState;
use crate::onboarding::{
    Added, CeremonyError, Fido2Method, LOGIN_COOKIE, SESSION_COOKIE, StoredMethod, user_handle,
};
use crate::{App, Authenticator, Directory, GraphError};

const PAGE: &str = include_str!("../../assets/onboarding.html");
const SCRIPT: &str = include_str!("../../assets/onboarding.js");
const STYLE: &str = include_str!("../../assets/onboarding.css");

/// The page's own policy: its script and style from this origin only, no frames, no inline code.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                HeaderName::from_static("content-security-policy"),
                HeaderValue::from_static(CSP),
            ),
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
            (
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            ),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The value of cookie `name` in `headers`.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(n, v)| (n == name).then_some(v))
}

/// A `Set-Cookie` for `name`: `HttpOnly`, `SameSite=Strict`, for `seconds`; `Secure` when the
/// page's origin is HTTPS.
pub(crate) fn set_cookie<S, A, D>(
    app: &App<S, A, D>,
    name: &str,
    value: &str,
    seconds: i64,
) -> Option<HeaderValue> {
    let secure = if app.onboarding.settings().origin.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        seconds.max(0)
    ))
    .ok()
}

fn ceremony(error: &CeremonyError) -> GraphError {
    match error {
        CeremonyError::NoSession | CeremonyError::NoLogin => GraphError::forbidden(error),
        CeremonyError::NoOptions | CeremonyError::Webauthn(_) => GraphError::bad_request(error),
        CeremonyError::Full => GraphError::busy(error),
    }
}

/// Asks the engine whether the session's grant still lets `user` register (SPEC 8.1); a closed
/// window or a removed pass ends the session.
async fn may_register<S: AsyncStore, A: Authenticator, D: Directory>(
    app: &App<S, A, D>,
    session: &str,
    user: &Principal,
    grant: &Grant,
) -> Result<(), GraphError> {
    let checked = app
        .bounded(
            app.engine
                .register(user, grant, PasswordlessMethod::Fido2SecurityKey),
        )
        .await?;
    match checked {
        Ok(()) => Ok(()),
        Err(EngineError::Rejected(refusal)) => {
            if !matches!(refusal, RegistrationError::NotTheHolder { .. }) {
                app.onboarding.close(session);
            }
            tracing::info!(reason = %refusal, "a passkey registration was refused");
            Err(GraphError::forbidden(refusal))
        }
        Err(other) => Err(GraphError::registration(other)),
    }
}

/// What both steps of a registration start with: the session of the cookie, its grant, the
/// user named, and the engine's word that the user may still register.
async fn registering<'h, S: AsyncStore, A: Authenticator, D: Directory>(
    app: &App<S, A, D>,
    headers: &'h HeaderMap,
    user_id: &str,
) -> Result<(&'h str, Grant, Principal), GraphError> {
    let session =
        cookie(headers, SESSION_COOKIE).ok_or_else(|| ceremony(&CeremonyError::NoSession))?;
    let grant = app.onboarding.grant(session).map_err(|e| ceremony(&e))?;
    let user = app.user(user_id).await?;
    crate::telemetry::record_caller(user.id().as_str());
    may_register(app, session, &user, &grant).await?;
    Ok((session, grant, user))
}

/// The options request: who registers, and the key's name.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OptionsBody {
    user_id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// The attestation: who registers, the key's name, and the authenticator's answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegisterBody {
    user_id: String,
    #[serde(default)]
    display_name: Option<String>,
    credential: RegisterPublicKeyCredential,
}

fn display_name(given: Option<&str>) -> Result<String, GraphError> {
    let name = given.map_or("Security key", str::trim);
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(GraphError::bad_request(
            "displayName: 1 to 64 printable characters",
        ));
    }
    Ok(name.to_owned())
}

/// `POST /webauthn/registration/options`: the creation options, inside the window.
pub(super) async fn registration_options<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    body: Result<Json<OptionsBody>, JsonRejection>,
) -> Result<Json<Value>, GraphError> {
    let Json(body) = body.map_err(|e| GraphError::bad_body(&e))?;
    let (session, _, user) = registering(&app, &headers, &body.user_id).await?;
    let name = display_name(body.display_name.as_deref())?;
    let existing = app
        .bounded(app.onboarding.credentials().list(user.id()))
        .await?
        .map_err(GraphError::store)?;
    let exclude = existing
        .iter()
        .map(|m| m.passkey.cred_id().clone())
        .collect::<Vec<_>>();
    let (options, state) = app
        .onboarding
        .webauthn()
        .start_passkey_registration(
            user_handle(user.id()),
            user.id().as_str(),
            &name,
            Some(exclude),
        )
        .map_err(|e| ceremony(&CeremonyError::Webauthn(e.to_string())))?;
    app.onboarding
        .set_pending(session, state)
        .map_err(|e| ceremony(&e))?;
    Ok(Json(
        serde_json::to_value(options).map_err(GraphError::store)?,
    ))
}

/// `POST /webauthn/registration`: the attestation, checked against the window again, and the
/// key stored only while the pass is.
pub(super) async fn register<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    body: Result<Json<RegisterBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Fido2Method>), GraphError> {
    let Json(body) = body.map_err(|e| GraphError::bad_body(&e))?;
    let (session, grant, user) = registering(&app, &headers, &body.user_id).await?;
    let name = display_name(body.display_name.as_deref())?;
    // The options answer once, whatever the outcome.
    let pending = app
        .onboarding
        .take_pending(session)
        .map_err(|e| ceremony(&e))?;
    let passkey = app
        .onboarding
        .webauthn()
        .finish_passkey_registration(&body.credential, &pending)
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey attestation was refused");
            ceremony(&CeremonyError::Webauthn(e.to_string()))
        })?;
    let method = StoredMethod::new(passkey, name, app.engine.clock().now());
    let added = app
        .bounded(
            app.onboarding
                .credentials()
                .add(user.id(), grant.pass, &method),
        )
        .await?
        .map_err(GraphError::store)?;
    match added {
        Added::Added => {
            tracing::info!(method = %method.id, "a passkey was registered");
            Ok((StatusCode::CREATED, Json(Fido2Method::from(&method))))
        }
        Added::PassGone => {
            app.onboarding.close(session);
            Err(GraphError::forbidden(RegistrationError::PassRemoved))
        }
        Added::Duplicate => Err(GraphError::conflict(
            "this security key is registered already",
        )),
    }
}

/// The passkey sign-in's first step: who signs in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LoginOptionsBody {
    user_id: String,
}

/// The passkey sign-in's answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LoginBody {
    credential: PublicKeyCredential,
}

/// `POST /webauthn/authentication/options`: the request options for the user's keys, limited
/// per source as sign-ins with a pass are.
pub(super) async fn authentication_options<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    body: Result<Json<LoginOptionsBody>, JsonRejection>,
) -> Result<Response, GraphError> {
    if let Err(wait) = app.sign_in_allowed(super::signin::source(peer.as_ref())) {
        app.metrics.sign_in("throttled");
        return Err(GraphError::too_many(wait));
    }
    let Json(body) = body.map_err(|e| GraphError::bad_body(&e))?;
    let user = UserId::new(&body.user_id).map_err(GraphError::bad_request)?;
    crate::telemetry::record_caller(user.as_str());
    let methods = app
        .bounded(app.onboarding.credentials().list(&user))
        .await?
        .map_err(GraphError::store)?;
    let passkeys: Vec<_> = methods.into_iter().map(|m| m.passkey).collect();
    if passkeys.is_empty() {
        return Err(GraphError::bad_request(
            "no passkey can sign this user in: register one first",
        ));
    }
    let (options, state) = app
        .onboarding
        .webauthn()
        .start_passkey_authentication(&passkeys)
        .map_err(|e| ceremony(&CeremonyError::Webauthn(e.to_string())))?;
    let now = app.engine.clock().now();
    let id = app
        .onboarding
        .start_login(user, state, now)
        .map_err(|e| ceremony(&e))?;
    let mut response =
        Json(serde_json::to_value(options).map_err(GraphError::store)?).into_response();
    if let Some(cookie) = set_cookie(
        &app,
        LOGIN_COOKIE,
        &id,
        crate::onboarding::LOGIN_WINDOW.whole_seconds(),
    ) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /webauthn/authentication`: the assertion; the key's counter is kept.
pub(super) async fn authenticate<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<Value>, GraphError> {
    let Json(body) = body.map_err(|e| GraphError::bad_body(&e))?;
    let id = cookie(&headers, LOGIN_COOKIE).ok_or_else(|| ceremony(&CeremonyError::NoLogin))?;
    let (user, state) = app
        .onboarding
        .take_login(id, app.engine.clock().now())
        .map_err(|e| ceremony(&e))?;
    crate::telemetry::record_caller(user.as_str());
    let result = app
        .onboarding
        .webauthn()
        .finish_passkey_authentication(&body.credential, &state)
        .map_err(|e| {
            app.metrics.sign_in("passkey_refused");
            tracing::info!(error = %e, "a passkey sign-in was refused");
            GraphError::passkey_refused()
        })?;
    let methods = app
        .bounded(app.onboarding.credentials().list(&user))
        .await?
        .map_err(GraphError::store)?;
    if let Some(mut method) = methods
        .into_iter()
        .find(|m| m.passkey.cred_id() == result.cred_id())
        && method.passkey.update_credential(&result) == Some(true)
    {
        app.bounded(app.onboarding.credentials().update(&user, &method))
            .await?
            .map_err(GraphError::store)?;
    }
    app.metrics.sign_in("passkey_granted");
    Ok(Json(json!({
        "userId": user.as_str(),
        "method": "passkey",
        "userVerified": result.user_verified(),
    })))
}

/// `GET /v1.0/users/{id}/authentication/fido2Methods`: for whoever may view the user's
/// methods (SPEC 3.2, 3.3, 3.4).
pub(super) async fn fido2_methods<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let caller = app.caller(&headers).await?;
    let holder = app.user(&id).await?;
    authorize(&caller, Action::View, &holder).map_err(GraphError::forbidden)?;
    let methods = app
        .bounded(app.onboarding.credentials().list(holder.id()))
        .await?
        .map_err(GraphError::store)?;
    let documents: Vec<Fido2Method> = methods.iter().map(Fido2Method::from).collect();
    Ok(Json(json!({
        "@odata.context": format!(
            "https://graph.microsoft.com/v1.0/$metadata#users('{}')/authentication/fido2Methods",
            holder.id().as_str()
        ),
        "value": documents,
    })))
}
