//! The sign-in page's route: a code typed for a user (SPEC 5.3), limited per source address.
//! Its refusals are the one message users see (SPEC 6.2); why, exactly, goes to the log, and
//! the outcomes that change the pass (a grant, a counted wrong code, a lock) to the outbox. A
//! grant opens a registration session (SPEC 8.1), its id in a cookie.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Extension;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use serde::{Deserialize, Serialize};
use temporary_access_pass::signin::{Client, NextStep, RedeemRefusal};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::time::UtcDateTime;
use temporary_access_pass::{Principal, SignInRequest, UserId};

use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse as _, Response};
use temporary_access_pass::Clock as _;

use super::AppState;
use crate::onboarding::SESSION_COOKIE;
use crate::{Authenticator, Directory, GraphError};

/// The sign-in page's request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SignInBody {
    user_id: String,
    temporary_access_pass: String,
    #[serde(default)]
    client: ClientDocument,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ClientDocument {
    #[default]
    Browser,
    AuthenticatorApp,
    NpsExtension,
    AdfsAdapter,
    WindowsSetup,
    Autopilot,
}

impl From<ClientDocument> for Client {
    fn from(c: ClientDocument) -> Self {
        match c {
            ClientDocument::Browser => Self::Browser,
            ClientDocument::AuthenticatorApp => Self::AuthenticatorApp,
            ClientDocument::NpsExtension => Self::NpsExtension,
            ClientDocument::AdfsAdapter => Self::AdfsAdapter,
            ClientDocument::WindowsSetup => Self::WindowsSetup,
            ClientDocument::Autopilot => Self::Autopilot,
        }
    }
}

/// A granted sign-in.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignedIn {
    pub(crate) user_id: String,
    pub(crate) pass_id: String,
    pub(crate) is_usable_once: bool,
    #[serde(with = "temporary_access_pass::graph::rfc3339")]
    pub(crate) registration_until: UtcDateTime,
    pub(crate) next_step: &'static str,
}

/// A malformed body, described without its values: a sign-in's body holds a code, and
/// serde's messages may quote what they could not read.
fn malformed(rejection: &JsonRejection) -> GraphError {
    if let JsonRejection::JsonDataError(e) = rejection {
        // "unknown field `x`" names a key the client sent, never a value.
        let text = e.body_text();
        if let Some(field) = text
            .split("unknown field `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .filter(|f| f.len() <= 64)
        {
            return GraphError::bad_request(format_args!(
                "unknown property '{field}': the body is {{userId, temporaryAccessPass, client}}"
            ));
        }
    }
    match rejection {
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => {
            GraphError::bad_request(
                "the body is not a sign-in: {userId, temporaryAccessPass, client}, as JSON strings",
            )
        }
        other => GraphError::bad_body(other),
    }
}

/// The source a rate is kept for: the peer address (a service behind a proxy sees the proxy's,
/// and limits it as a whole: see the README).
pub(super) fn source(peer: Option<&Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip())
}

pub(super) async fn sign_in<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Json<SignInBody>, JsonRejection>,
) -> Result<Response, GraphError> {
    if let Err(wait) = app.sign_in_allowed(source(peer.as_ref())) {
        app.metrics.sign_in("throttled");
        return Err(GraphError::too_many(wait));
    }
    app.forget_idle_sources();
    let Json(body) = body.map_err(|e| malformed(&e))?;
    let id = UserId::new(&body.user_id).map_err(GraphError::bad_request)?;
    crate::telemetry::record_caller(id.as_str());
    // A user the directory does not know is judged as a user without a pass, through the same
    // engine path: the answer does not tell which (SPEC 6.2).
    let user = app
        .directory
        .user(id.as_str())
        .await
        .unwrap_or_else(|| Principal::member(id));
    let request = SignInRequest::new(body.client.into());
    let redemption = app
        .bounded(
            app.engine
                .redeem(&user, &body.temporary_access_pass, request),
        )
        .await?
        .map_err(GraphError::read)?;
    match redemption.outcome {
        Ok(grant) => {
            app.metrics.sign_in("granted");
            // The registration session of SPEC 8.1, bound to this grant, for its window.
            let now = app.engine.clock().now();
            let seconds = grant
                .registration_until
                .unix_timestamp()
                .saturating_sub(now.unix_timestamp())
                .max(0);
            let session = app
                .onboarding
                .open(grant.clone(), now)
                .map_err(GraphError::busy)?;
            let mut response = Json(SignedIn {
                user_id: grant.user.as_str().to_owned(),
                pass_id: grant.pass.to_string(),
                is_usable_once: grant.is_usable_once,
                registration_until: grant.registration_until,
                next_step: match grant.next_step {
                    NextStep::RegisterSsprMethod => "registerSsprMethod",
                    _ => "registerMethods",
                },
            })
            .into_response();
            if let Some(cookie) =
                super::onboarding::set_cookie(&app, SESSION_COOKIE, &session, seconds)
            {
                response.headers_mut().insert(SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(refusal) => {
            let outcome = match refusal {
                RedeemRefusal::UnsupportedClient(_) => "unsupported_client",
                RedeemRefusal::WrongCode { .. } => "wrong_code",
                RedeemRefusal::NoPass => "no_pass",
                _ => "refused",
            };
            app.metrics.sign_in(outcome);
            // Why, for the operator: the refusal names no code.
            tracing::info!(reason = %refusal, "sign-in refused");
            Err(GraphError::sign_in_refused(refusal.shown()))
        }
    }
}
