//! Signing in with a registered passkey, no pass needed (SPEC 8.2): the request options for
//! the user's keys, limited per source as sign-ins with a pass are, then the assertion; the
//! key's counter is kept.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{Clock, UserId};
use webauthn_rs::prelude::PublicKeyCredential;

use super::AppState;
use crate::http::{GraphError, GraphJson, Source, cookie, record_caller, set_cookie};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::{CeremonyError, LOGIN_COOKIE, LOGIN_WINDOW};

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
    Source(source): Source,
    GraphJson(body): GraphJson<LoginOptionsBody>,
) -> Result<Response, GraphError> {
    if let Err(wait) = app.sign_in_allowed(source) {
        app.metrics.sign_in("throttled");
        return Err(GraphError::too_many(wait));
    }
    let user = UserId::new(&body.user_id).map_err(GraphError::bad_request)?;
    record_caller(user.as_str());
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
        .map_err(|e| GraphError::from(CeremonyError::Webauthn(e.to_string())))?;
    let now = app.engine.clock().now();
    let id = app
        .onboarding
        .start_login(user, state, now)
        .map_err(GraphError::from)?;
    let mut response =
        Json(serde_json::to_value(options).map_err(GraphError::store)?).into_response();
    if let Some(cookie) = set_cookie(
        LOGIN_COOKIE,
        &id,
        LOGIN_WINDOW.whole_seconds(),
        app.secure_cookies(),
    ) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /webauthn/authentication`: the assertion; the key's counter is kept.
pub(super) async fn authenticate<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    GraphJson(body): GraphJson<LoginBody>,
) -> Result<Json<Value>, GraphError> {
    let id =
        cookie(&headers, LOGIN_COOKIE).ok_or_else(|| GraphError::from(CeremonyError::NoLogin))?;
    let (user, state) = app
        .onboarding
        .take_login(id, app.engine.clock().now())
        .map_err(GraphError::from)?;
    record_caller(user.as_str());
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
