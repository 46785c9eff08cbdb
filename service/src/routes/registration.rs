//! Registering a passkey inside the window a pass opened (SPEC 8.1, 8.3, 8.4): the creation
//! options, then the attestation that answers them. The session is a record of the store
//! (its id in the cookie), so any instance serves either step; each step is judged by the
//! engine on the session (its user, the window, the pass still stored), the options' state is
//! kept in it and taken once, and the key commits with its audit event only while the pass is
//! stored, within the cap of methods.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use temporary_access_pass::ceremony::CeremonyId;
use temporary_access_pass::graph::Fido2MethodDocument;
use temporary_access_pass::method::MethodName;
use temporary_access_pass::signin::RegistrationError;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{EngineError, Principal};
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::AppState;
use crate::app::App;
use crate::http::{GraphError, GraphJson, cookie, record_caller};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::SESSION_COOKIE;

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

/// The key's name: given, or "Security key"; 1 to 64 characters.
pub(super) fn display_name(given: Option<&str>) -> Result<MethodName, GraphError> {
    let name = given.map_or("Security key", str::trim);
    if name.chars().count() > 64 {
        return Err(GraphError::bad_request(
            "displayName: 1 to 64 printable characters",
        ));
    }
    MethodName::new(name).map_err(|e| GraphError::bad_request(format_args!("displayName: {e}")))
}

/// The session of the cookie, and the user the body names (recorded in the log line).
async fn registering<S: AsyncStore, A: Authenticator, D: Directory>(
    app: &App<S, A, D>,
    headers: &HeaderMap,
    user_id: &str,
) -> Result<(CeremonyId, Principal), GraphError> {
    let session = cookie(headers, SESSION_COOKIE, app.secure_cookies())
        .and_then(|id| CeremonyId::new(id).ok())
        .ok_or_else(|| GraphError::forbidden(RegistrationError::NoSession))?;
    let user = app.user(user_id).await?;
    record_caller(user.id().as_str());
    Ok((session, user))
}

/// A refused step of a session, logged with its reason (a window closed, a pass removed).
fn refused<E: std::fmt::Display>(error: EngineError<RegistrationError, E>) -> GraphError {
    if let EngineError::Rejected(refusal) = &error {
        tracing::info!(reason = %refusal, "a passkey registration was refused");
    }
    GraphError::registration(error)
}

/// `POST /webauthn/registration/options`: the creation options, inside the window; their
/// state kept in the session, replacing any outstanding.
pub(super) async fn registration_options<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    GraphJson(body): GraphJson<OptionsBody>,
) -> Result<Json<Value>, GraphError> {
    let (session, user) = registering(&app, &headers, &body.user_id).await?;
    let name = display_name(body.display_name.as_deref())?;
    let existing = app
        .bounded(app.engine.passkeys(user.id()))
        .await?
        .map_err(GraphError::read)?;
    let account = app.account_name(user.id()).await;
    let (options, state) = app
        .onboarding
        .creation_options(user.id(), &account, &name, &existing)
        .map_err(GraphError::from)?;
    app.bounded(app.engine.set_session_state(&user, &session, state))
        .await?
        .map_err(refused)?;
    Ok(Json(
        serde_json::to_value(options).map_err(GraphError::store)?,
    ))
}

/// `POST /webauthn/registration`: the attestation, against the options' state taken from the
/// session (once), the window judged again; the key stored with its audit event only while
/// the pass is, within the cap.
pub(super) async fn register<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    GraphJson(body): GraphJson<RegisterBody>,
) -> Result<(StatusCode, Json<Fido2MethodDocument>), GraphError> {
    let (session, user) = registering(&app, &headers, &body.user_id).await?;
    let name = display_name(body.display_name.as_deref())?;
    // The options answer once, whatever the outcome.
    let state = app
        .bounded(app.engine.take_session_state(&user, &session))
        .await?
        .map_err(refused)?;
    let new = app
        .onboarding
        .finish_creation(&body.credential, &state, name)
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey attestation was refused");
            GraphError::bad_request(e)
        })?;
    let method = app
        .bounded(app.engine.register_method(&user, &session, &new))
        .await?
        .map_err(GraphError::add_method)?;
    tracing::info!(method = %method.id(), "a passkey was registered");
    Ok((
        StatusCode::CREATED,
        Json(Fido2MethodDocument::from(&method)),
    ))
}
