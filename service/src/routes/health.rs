//! Health and metrics: `/health/live` answers while the process runs; `/health/ready` when
//! the store answers too, within the store timeout, and the instance is not draining for a
//! shutdown (a load balancer takes the instance out of rotation otherwise); `/metrics` in
//! Prometheus' text.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use temporary_access_pass::store::AsyncStore;

use super::AppState;
use crate::http::GraphError;
use crate::identity::{Authenticator, Directory};

pub(super) async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

pub(super) async fn ready<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
) -> Result<Json<Value>, GraphError> {
    if app.is_draining() {
        return Err(GraphError::busy(
            "the instance is shutting down: it is draining its connections",
        ));
    }
    app.bounded(app.engine.store().load_policy())
        .await?
        .map_err(GraphError::store)?;
    Ok(Json(json!({ "status": "ready" })))
}

pub(super) async fn metrics<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
}
