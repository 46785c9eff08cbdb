//! A user's passkeys and security keys in Graph's shape (SPEC 8.2):
//! `GET /v1.0/users/{id}/authentication/fido2Methods`, for whoever may view the user's
//! methods (SPEC 3.2, 3.3, 3.4).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use temporary_access_pass::admin::{Action, authorize};
use temporary_access_pass::store::AsyncStore;

use super::AppState;
use crate::http::{Caller, GraphError};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::Fido2Method;

/// `GET /v1.0/users/{id}/authentication/fido2Methods`: for whoever may view the user's
/// methods (SPEC 3.2, 3.3, 3.4).
pub(super) async fn list<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    Caller(caller): Caller,
) -> Result<Json<Value>, GraphError> {
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
