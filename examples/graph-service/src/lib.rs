//! A Temporary Access Pass service shaped like Microsoft Graph, as a host would build it on
//! `temporary-access-pass`: axum on tokio, the crate's [`AsyncEngine`] over the PostgreSQL store
//! (or the SQLite store when no database URL is given), an [`Authenticator`] and a
//! [`Directory`] the host plugs in.
//!
//! Routes (under `/v1.0`, as Graph's):
//!
//! | route | what |
//! |---|---|
//! | `GET`, `PATCH /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass` | the tenant policy |
//! | `POST`, `GET /users/{id}/authentication/temporaryAccessPassMethods` | create a pass (the code, once), list the user's pass |
//! | `GET`, `DELETE /users/{id}/authentication/temporaryAccessPassMethods/{passId}` | view, delete |
//! | `POST /signIn/temporaryAccessPass` | sign in with a code (not a Graph route: the sign-in page's) |
//!
//! Errors have Graph's body, `{"error": {"code", "message"}}`; no error body carries a code.

pub mod blocking;
mod config;
mod error;
pub mod identity;

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use temporary_access_pass::graph::{PassDocument, PassList, PolicyDocument};
use temporary_access_pass::signin::{Client, NextStep};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::time::UtcDateTime;
use temporary_access_pass::{
    AsyncEngine, CreateRequest, DirectoryRole, Event, PassId, Policy, PolicySettings, Principal,
    SignInRequest, SysRng, SystemClock, UserId,
};

pub use config::{Config, StartError};
pub use error::GraphError;
pub use identity::{Authenticator, Directory};

/// The policy's route, under `/v1.0`.
pub const POLICY_PATH: &str =
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass";

/// The service: the engine and the host's two plug-ins.
#[derive(Debug)]
pub struct App<S, A, D> {
    /// The engine over the store.
    pub engine: AsyncEngine<SystemClock, S>,
    /// Who calls.
    pub authenticator: A,
    /// Who the users are.
    pub directory: D,
}

impl<S: AsyncStore, A: Authenticator, D: Directory> App<S, A, D> {
    async fn caller(&self, headers: &HeaderMap) -> Result<Principal, GraphError> {
        Ok(self.authenticator.authenticate(headers).await?)
    }

    async fn user(&self, id: &str) -> Result<Principal, GraphError> {
        self.directory
            .user(id)
            .await
            .ok_or_else(|| GraphError::not_found(format!("user {id:?}")))
    }
}

/// Audit events go to standard error, one per line (a host sends them to its audit log).
fn audit(events: &[Event]) {
    for event in events {
        eprintln!("audit: {event:?}");
    }
}

/// The service's routes over `app`.
pub fn router<S, A, D>(app: Arc<App<S, A, D>>) -> Router
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let methods = "/users/{id}/authentication/temporaryAccessPassMethods";
    let graph = Router::new()
        .route(
            POLICY_PATH,
            get(get_policy::<S, A, D>).patch(patch_policy::<S, A, D>),
        )
        .route(methods, get(list::<S, A, D>).post(create::<S, A, D>))
        .route(
            &format!("{methods}/{{pass}}"),
            get(get_one::<S, A, D>).delete(delete_one::<S, A, D>),
        );
    Router::new()
        .nest("/v1.0", graph)
        .route("/signIn/temporaryAccessPass", post(sign_in::<S, A, D>))
        .fallback(|| async { GraphError::not_found("this route") })
        .with_state(app)
}

type AppState<S, A, D> = State<Arc<App<S, A, D>>>;

/// Reading the policy: administrators whose role concerns authentication methods, and Global
/// Readers (Graph's `Policy.Read.All`). Limited roles and unknown ones may not.
fn may_read_policy(caller: &Principal) -> bool {
    caller.roles().iter().any(|r| {
        r.may_change_policy()
            || matches!(
                r,
                DirectoryRole::GlobalReader
                    | DirectoryRole::PrivilegedAuthenticationAdministrator
                    | DirectoryRole::AuthenticationAdministrator
            )
    })
}

async fn get_policy<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
) -> Result<Json<Policy>, GraphError> {
    let caller = app.caller(&headers).await?;
    if !may_read_policy(&caller) {
        return Err(GraphError::forbidden(format!(
            "{} may not read the authentication methods policy",
            caller.id()
        )));
    }
    Ok(Json(app.engine.policy().await.map_err(GraphError::read)?))
}

async fn patch_policy<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    headers: HeaderMap,
    body: Result<Json<PolicyDocument>, JsonRejection>,
) -> Result<StatusCode, GraphError> {
    let caller = app.caller(&headers).await?;
    let Json(patch) = body.map_err(|e| GraphError::bad_body(&e))?;
    // A wrong `@odata.type` or target is wrong whatever the stored policy: refused first.
    patch
        .apply_to(PolicySettings::default())
        .map_err(GraphError::bad_request)?;
    // The patch is applied to the policy each attempt reads, and commits only if that policy
    // is still stored: two concurrent PATCHes both take effect.
    let change = |stored: PolicySettings| patch.apply_to(stored.clone()).unwrap_or(stored);
    let update = app
        .engine
        .change_policy(&caller, &change)
        .await
        .map_err(GraphError::update_policy)?;
    audit(&update.events());
    Ok(StatusCode::NO_CONTENT)
}

async fn create<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<PassDocument>), GraphError> {
    let caller = app.caller(&headers).await?;
    let Json(request) = body.map_err(|e| GraphError::bad_body(&e))?;
    let target = app.user(&id).await?;
    let created = app
        .engine
        .create(&caller, &target, &request, &mut SysRng)
        .await
        .map_err(GraphError::create)?;
    audit(&created.events());
    Ok((
        StatusCode::CREATED,
        Json(PassDocument::creation_response(created)),
    ))
}

async fn list<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PassList>, GraphError> {
    let caller = app.caller(&headers).await?;
    let holder = app.user(&id).await?;
    let view = app
        .engine
        .view(&caller, &holder)
        .await
        .map_err(GraphError::view)?;
    Ok(Json(PassList::new(
        view.iter().map(PassDocument::from).collect(),
    )))
}

fn pass_id(text: &str) -> Result<PassId, GraphError> {
    text.parse()
        .map_err(|_| GraphError::not_found(format!("pass {text:?}")))
}

async fn get_one<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path((id, pass)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<PassDocument>, GraphError> {
    let caller = app.caller(&headers).await?;
    let holder = app.user(&id).await?;
    let pass = pass_id(&pass)?;
    let view = app
        .engine
        .view(&caller, &holder)
        .await
        .map_err(GraphError::view)?;
    match view {
        Some(view) if view.id == pass => Ok(Json(PassDocument::from(&view))),
        _ => Err(GraphError::not_found(format!("pass {pass}"))),
    }
}

async fn delete_one<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path((id, pass)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, GraphError> {
    let caller = app.caller(&headers).await?;
    let holder = app.user(&id).await?;
    let pass = pass_id(&pass)?;
    let deleted = app
        .engine
        .delete_pass(&caller, &holder, pass)
        .await
        .map_err(GraphError::delete)?
        .ok_or_else(|| GraphError::not_found(format!("pass {pass}")))?;
    // A host revokes the sessions listed in `deleted.effects` here.
    audit(&deleted.events());
    Ok(StatusCode::NO_CONTENT)
}

/// The sign-in page's request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignInBody {
    user_id: String,
    temporary_access_pass: String,
    #[serde(default)]
    client: ClientDocument,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ClientDocument {
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
struct SignedIn {
    user_id: String,
    pass_id: String,
    is_usable_once: bool,
    #[serde(with = "temporary_access_pass::graph::rfc3339")]
    registration_until: UtcDateTime,
    next_step: &'static str,
}

async fn sign_in<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    body: Result<Json<SignInBody>, JsonRejection>,
) -> Result<Json<SignedIn>, GraphError> {
    let Json(body) = body.map_err(|e| GraphError::bad_body(&e))?;
    let id = UserId::new(&body.user_id).map_err(GraphError::bad_request)?;
    // A user the directory does not know is judged as a user without a pass, through the same
    // engine path: the answer and its cost do not tell which (SPEC 6.2).
    let user = app
        .directory
        .user(id.as_str())
        .await
        .unwrap_or_else(|| Principal::member(id));
    let request = SignInRequest::new(body.client.into());
    let redemption = app
        .engine
        .redeem(&user, &body.temporary_access_pass, request)
        .await
        .map_err(GraphError::read)?;
    audit(&redemption.events());
    match redemption.outcome {
        Ok(grant) => Ok(Json(SignedIn {
            user_id: grant.user.as_str().to_owned(),
            pass_id: grant.pass.to_string(),
            is_usable_once: grant.is_usable_once,
            registration_until: grant.registration_until,
            next_step: match grant.next_step {
                NextStep::RegisterSsprMethod => "registerSsprMethod",
                _ => "registerMethods",
            },
        })),
        Err(refusal) => Err(GraphError::sign_in_refused(refusal.shown())),
    }
}
