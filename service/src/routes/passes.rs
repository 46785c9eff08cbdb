//! A user's passes: create (the code, once), list, view, delete (SPEC 2, 3, 5.7). Each change
//! commits with its audit events (SPEC 7.1): the service logs none of its own.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use temporary_access_pass::graph::{PASS_ODATA_TYPE, PassDocument, PassList};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{CreateRequest, PassId, SysRng};

use super::AppState;
use crate::http::{Caller, GraphError, GraphJson, refuse_other_type, refuse_unknown};
use crate::identity::{Authenticator, Directory};

/// The properties a creation may name (`temporaryAccessPassAuthenticationMethod`).
const PROPERTIES: &[&str] = &[
    "@odata.type",
    "startDateTime",
    "lifetimeInMinutes",
    "isUsableOnce",
];

fn create_request(body: Value) -> Result<CreateRequest, GraphError> {
    refuse_unknown(&body, PROPERTIES, "temporaryAccessPassAuthenticationMethod")?;
    refuse_other_type(&body, PASS_ODATA_TYPE)?;
    let mut body = body;
    if let Some(object) = body.as_object_mut() {
        object.remove("@odata.type");
    }
    serde_json::from_value(body).map_err(GraphError::bad_request)
}

pub(super) async fn create<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    Caller(caller): Caller,
    GraphJson(body): GraphJson<Value>,
) -> Result<(StatusCode, Json<PassDocument>), GraphError> {
    let request = create_request(body)?;
    let target = app.user(&id).await?;
    let created = app
        .bounded(app.engine.create(&caller, &target, &request, &mut SysRng))
        .await?
        .map_err(GraphError::create)?;
    // A host revokes the sessions listed in `created.effects` here (a valid pass replaced).
    Ok((
        StatusCode::CREATED,
        Json(PassDocument::creation_response(created)),
    ))
}

pub(super) async fn list<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    Caller(caller): Caller,
) -> Result<Json<PassList>, GraphError> {
    let holder = app.user(&id).await?;
    let view = app
        .bounded(app.engine.view(&caller, &holder))
        .await?
        .map_err(GraphError::view)?;
    Ok(Json(PassList::new(
        view.iter().map(PassDocument::from).collect(),
    )))
}

fn pass_id(text: &str) -> Result<PassId, GraphError> {
    text.parse()
        .map_err(|_| GraphError::not_found(format!("pass {text:?}")))
}

pub(super) async fn get_one<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path((id, pass)): Path<(String, String)>,
    Caller(caller): Caller,
) -> Result<Json<PassDocument>, GraphError> {
    let holder = app.user(&id).await?;
    let pass = pass_id(&pass)?;
    let view = app
        .bounded(app.engine.view(&caller, &holder))
        .await?
        .map_err(GraphError::view)?;
    match view {
        Some(view) if view.id == pass => Ok(Json(PassDocument::from(&view))),
        _ => Err(GraphError::not_found(format!("pass {pass}"))),
    }
}

pub(super) async fn delete_one<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path((id, pass)): Path<(String, String)>,
    Caller(caller): Caller,
) -> Result<StatusCode, GraphError> {
    let holder = app.user(&id).await?;
    let pass = pass_id(&pass)?;
    let _deleted = app
        .bounded(app.engine.delete_pass(&caller, &holder, pass))
        .await?
        .map_err(GraphError::delete)?
        .ok_or_else(|| GraphError::not_found(format!("pass {pass}")))?;
    // A host revokes the sessions listed in `_deleted.effects` here.
    Ok(StatusCode::NO_CONTENT)
}
