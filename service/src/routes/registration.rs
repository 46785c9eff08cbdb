//! Registering a passkey inside the window a pass opened (SPEC 8.1, 8.3): the creation
//! options, then the attestation that answers them, each step checked against the window, and
//! the key stored only while the pass behind the grant is.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use temporary_access_pass::signin::{Grant, PasswordlessMethod, RegistrationError};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{Clock, EngineError, Principal};
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::AppState;
use crate::app::App;
use crate::http::{GraphError, GraphJson, cookie, record_caller};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::{
    Added, CeremonyError, Fido2Method, SESSION_COOKIE, StoredMethod, user_handle,
};

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
    let session = cookie(headers, SESSION_COOKIE)
        .ok_or_else(|| GraphError::from(CeremonyError::NoSession))?;
    let grant = app.onboarding.grant(session).map_err(GraphError::from)?;
    let user = app.user(user_id).await?;
    record_caller(user.id().as_str());
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
    GraphJson(body): GraphJson<OptionsBody>,
) -> Result<Json<Value>, GraphError> {
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
        .map_err(|e| GraphError::from(CeremonyError::Webauthn(e.to_string())))?;
    app.onboarding
        .set_pending(session, state)
        .map_err(GraphError::from)?;
    Ok(Json(
        serde_json::to_value(options).map_err(GraphError::store)?,
    ))
}

/// `POST /webauthn/registration`: the attestation, checked against the window again, and the
/// key stored only while the pass is.
pub(super) async fn register<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    GraphJson(body): GraphJson<RegisterBody>,
) -> Result<(StatusCode, Json<Fido2Method>), GraphError> {
    let (session, grant, user) = registering(&app, &headers, &body.user_id).await?;
    let name = display_name(body.display_name.as_deref())?;
    // The options answer once, whatever the outcome.
    let pending = app
        .onboarding
        .take_pending(session)
        .map_err(GraphError::from)?;
    let passkey = app
        .onboarding
        .webauthn()
        .finish_passkey_registration(&body.credential, &pending)
        .map_err(|e| {
            tracing::info!(error = %e, "a passkey attestation was refused");
            GraphError::from(CeremonyError::Webauthn(e.to_string()))
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
