//! The sign-in page's route: a code typed for a user (SPEC 5.3), limited per source address.
//! Its refusals are the one message users see (SPEC 6.2); why, exactly, goes to the log, and
//! the outcomes that change the pass (a grant, a counted wrong code, a lock) to the outbox. A
//! grant opens a registration session (SPEC 8.1), its id in a cookie.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use temporary_access_pass::Clock as _;
use temporary_access_pass::graph::ClientDocument;
use temporary_access_pass::signin::{NextStep, RedeemRefusal};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::time::UtcDateTime;
use temporary_access_pass::{Principal, SignInRequest, SysRng, UserId};

use super::AppState;
use crate::http::{GraphError, GraphJson, Source, record_caller, set_cookie};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::SESSION_COOKIE;

/// The sign-in page's request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SignInBody {
    user_id: String,
    temporary_access_pass: String,
    #[serde(default)]
    client: ClientDocument,
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
    /// The authentication strength the sign-in satisfies (SPEC 5.9).
    pub(crate) authentication_strength: &'static str,
    /// The latest a session issued on this sign-in may last: the pass's end (SPEC 5.9).
    #[serde(with = "temporary_access_pass::graph::rfc3339")]
    pub(crate) not_after: UtcDateTime,
}

pub(super) async fn sign_in<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Source(source): Source,
    GraphJson(body): GraphJson<SignInBody>,
) -> Result<Response, GraphError> {
    if let Err(wait) = app.sign_in_allowed(source) {
        app.metrics.sign_in("throttled");
        return Err(GraphError::too_many(wait));
    }
    let id = UserId::new(&body.user_id).map_err(GraphError::bad_request)?;
    record_caller(id.as_str());
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
                .bounded(app.engine.open_session(&user, &grant, &mut SysRng))
                .await?
                .map_err(GraphError::registration)?;
            let mut response = Json(SignedIn {
                user_id: grant.user.as_str().to_owned(),
                pass_id: grant.pass.to_string(),
                is_usable_once: grant.is_usable_once,
                registration_until: grant.registration_until,
                next_step: match grant.next_step {
                    NextStep::RegisterSsprMethod => "registerSsprMethod",
                    _ => "registerMethods",
                },
                authentication_strength: grant.strength.graph_name(),
                not_after: grant.not_after,
            })
            .into_response();
            if let Some(cookie) = set_cookie(
                SESSION_COOKIE,
                session.id().as_str(),
                seconds,
                app.secure_cookies(),
            ) {
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
