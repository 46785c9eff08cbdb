//! Signing in with a registered passkey, no pass needed (SPEC 8.2, 8.6): the request options
//! for the user's keys (for a user with none, options of the same shape for a decoy key:
//! no answer tells who holds a key), limited per source as sign-ins with a pass are, their state (the
//! challenge and the credential ids allowed, never a key) kept in the store under the
//! cookie's id; then the assertion, verified against the key read again from the store, its
//! use recorded only at the version verified, and a key whose counter went back blocked.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use temporary_access_pass::ceremony::CeremonyId;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{SysRng, UserId};
use webauthn_rs::prelude::PublicKeyCredential;

use super::AppState;
use crate::app::App;
use crate::http::{GraphError, GraphJson, Source, cookie, record_caller, set_cookie};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::{CeremonyError, LOGIN_COOKIE, LOGIN_WINDOW};

/// The passkey sign-in's first step: who signs in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LoginOptionsBody {
    user_id: String,
}

/// The passkey sign-in's answer: who signs in, and the authenticator's assertion.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LoginBody {
    user_id: String,
    credential: PublicKeyCredential,
}

/// The user a passkey sign-in names (SPEC 3.6): their object id when the directory knows the
/// object id or user principal name given, otherwise the name as given, which holds no key and
/// is judged as any user without one.
async fn named_user<S: AsyncStore, A: Authenticator, D: Directory>(
    app: &App<S, A, D>,
    name: &str,
) -> Result<UserId, GraphError> {
    let given = UserId::new(name).map_err(GraphError::bad_request)?;
    Ok(app
        .directory
        .user(given.as_str())
        .await
        .map_or(given, |known| known.id().clone()))
}

/// `POST /webauthn/authentication/options`: the request options for the user's keys.
pub(super) async fn authentication_options<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Source(source): Source,
    GraphJson(body): GraphJson<LoginOptionsBody>,
) -> Result<Response, GraphError> {
    if let Err(wait) = app.sign_in_allowed(source) {
        app.metrics.sign_in("throttled");
        return Err(GraphError::too_many(wait));
    }
    let user = named_user(&app, &body.user_id).await?;
    record_caller(user.as_str());
    let methods = app
        .bounded(app.engine.passkeys(&user))
        .await?
        .map_err(GraphError::read)?;
    // A user who holds no key (or is unknown) gets options of the same shape: one decoy
    // credential id, stable per user, that no key answers. Nothing is kept for them, so a
    // stream of made-up names fills no store; their answer then finds no sign-in under the
    // cookie and is refused as any wrong answer is.
    // The decoy is keyed on the name as asked, folded, never on what the directory found:
    // two spellings of one name get one decoy whether or not the user exists.
    let allowed: Vec<String> = if methods.is_empty() {
        let asked = UserId::new(&body.user_id.to_lowercase()).map_err(GraphError::bad_request)?;
        vec![app.onboarding.decoy_credential(&asked)]
    } else {
        methods
            .iter()
            .map(|m| m.value.id().as_str().to_owned())
            .collect()
    };
    let (options, state) = app
        .onboarding
        .request_options(&allowed)
        .map_err(GraphError::from)?;
    let id = CeremonyId::random(&mut SysRng)
        .map_err(|_| GraphError::busy("the random number generator failed"))?;
    if !methods.is_empty() {
        app.bounded(app.engine.begin_sign_in(&user, &id, &state, LOGIN_WINDOW))
            .await?
            .map_err(GraphError::passkey)?;
    }
    let mut response =
        Json(serde_json::to_value(options).map_err(GraphError::store)?).into_response();
    if let Some(cookie) = set_cookie(
        LOGIN_COOKIE,
        id.as_str(),
        LOGIN_WINDOW.whole_seconds(),
        app.secure_cookies(),
    ) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /webauthn/authentication`: the assertion, against the state taken (once) from the
/// store and the key read again; its use recorded at the version verified.
pub(super) async fn authenticate<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    GraphJson(body): GraphJson<LoginBody>,
) -> Result<Json<Value>, GraphError> {
    let id = cookie(&headers, LOGIN_COOKIE, app.secure_cookies())
        .and_then(|id| CeremonyId::new(id).ok())
        .ok_or_else(GraphError::passkey_refused)?;
    let user = named_user(&app, &body.user_id).await?;
    record_caller(user.as_str());
    let state = app
        .bounded(app.engine.take_sign_in(&user, &id))
        .await?
        .map_err(GraphError::passkey)?;
    let refuse = |e: CeremonyError| {
        app.metrics.sign_in("passkey_refused");
        tracing::info!(error = %e, "a passkey sign-in was refused");
        GraphError::from(e)
    };
    let method_id = app
        .onboarding
        .answered_by(&body.credential, &state)
        .map_err(refuse)?;
    let methods = app
        .bounded(app.engine.passkeys(&user))
        .await?
        .map_err(GraphError::read)?;
    let method = methods
        .iter()
        .find(|m| m.value.id() == &method_id)
        .ok_or_else(|| refuse(CeremonyError::Refused("no such passkey".into())))?;
    let verified = match app
        .onboarding
        .finish_request(&body.credential, &state, &method.value)
    {
        Ok(verified) => verified,
        Err(CeremonyError::PossibleClone) => {
            // Refused, and the key blocked with its audit event (SPEC 8.6).
            tracing::warn!(user = %user, method = %method_id, "a passkey's counter went back: possible clone, the key is blocked");
            let _blocked = app
                .bounded(app.engine.block_method(&user, &method_id))
                .await?
                .map_err(GraphError::read)?;
            return Err(refuse(CeremonyError::PossibleClone));
        }
        Err(e) => return Err(refuse(e)),
    };
    app.bounded(
        app.engine
            .use_method(&user, &method_id, method.version, &verified.credential),
    )
    .await?
    .map_err(GraphError::passkey)?;
    app.metrics.sign_in("passkey_granted");
    Ok(Json(json!({
        "userId": user.as_str(),
        "method": "passkey",
        "userVerified": verified.user_verified,
    })))
}
