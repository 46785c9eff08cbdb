//! The tenant policy: `GET` and `PATCH` (SPEC 1.5).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use temporary_access_pass::graph::{POLICY_ID, POLICY_ODATA_TYPE, PolicyDocument};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{DirectoryRole, Policy, PolicySettings, Principal};

use super::AppState;
use crate::http::{Caller, GraphError, GraphJson, refuse_other_type, refuse_unknown};
use crate::identity::{Authenticator, Directory};

/// The properties a PATCH may name (`temporaryAccessPassAuthenticationMethodConfiguration`).
const PROPERTIES: &[&str] = &[
    "@odata.type",
    "id",
    "state",
    "defaultLifetimeInMinutes",
    "defaultLength",
    "minimumLifetimeInMinutes",
    "maximumLifetimeInMinutes",
    "isUsableOnce",
    "includeTargets",
    "excludeTargets",
];

/// The properties of a target (`authenticationMethodTarget`, `excludeTarget`).
const TARGET_PROPERTIES: &[&str] = &["@odata.type", "targetType", "id", "isRegistrationRequired"];

/// Reading the policy: administrators whose role concerns authentication methods, and Global
/// Readers (Graph's `Policy.Read.All`). Limited roles and unknown ones may not. An application
/// has no roles: its permission alone decides (SPEC 3.7).
fn may_read_policy(caller: &Principal) -> bool {
    caller.grant().allows_reading_the_policy()
        && caller.roles_allow(|r| {
            r.may_change_policy()
                || matches!(
                    r,
                    DirectoryRole::GlobalReader
                        | DirectoryRole::PrivilegedAuthenticationAdministrator
                        | DirectoryRole::AuthenticationAdministrator
                )
        })
}

pub(super) async fn get<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Caller(caller): Caller,
) -> Result<Json<Policy>, GraphError> {
    if !may_read_policy(&caller) {
        return Err(GraphError::forbidden(format!(
            "{} may not read the authentication methods policy",
            caller.initiator()
        )));
    }
    let policy = app.bounded(app.engine.policy()).await?;
    Ok(Json(policy.map_err(GraphError::read)?))
}

/// The PATCH body, checked as Graph checks it: no property the resource lacks, the resource's
/// own `@odata.type`, targets with their own properties only.
fn patch_document(body: Value) -> Result<PolicyDocument, GraphError> {
    const RESOURCE: &str = "temporaryAccessPassAuthenticationMethodConfiguration";
    refuse_unknown(&body, PROPERTIES, RESOURCE)?;
    refuse_other_type(&body, POLICY_ODATA_TYPE)?;
    // The resource's key, if the body repeats it, names this resource and no other.
    if let Some(id) = body.get("id")
        && id.as_str() != Some(POLICY_ID)
    {
        return Err(GraphError::bad_request(format!(
            "id: this configuration's id is {POLICY_ID:?}; it cannot be changed"
        )));
    }
    for (field, resource, odata) in [
        (
            "includeTargets",
            "authenticationMethodTarget",
            "#microsoft.graph.authenticationMethodTarget",
        ),
        (
            "excludeTargets",
            "excludeTarget",
            "#microsoft.graph.excludeTarget",
        ),
    ] {
        if let Some(Value::Array(targets)) = body.get(field) {
            for target in targets {
                refuse_unknown(target, TARGET_PROPERTIES, resource)?;
                refuse_other_type(target, odata)?;
            }
        }
    }
    serde_json::from_value(body).map_err(GraphError::bad_request)
}

pub(super) async fn patch<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Caller(caller): Caller,
    GraphJson(body): GraphJson<Value>,
) -> Result<StatusCode, GraphError> {
    let patch = patch_document(body)?;
    // A target that breaks a rule is wrong whatever the stored policy: refused first.
    patch
        .apply_to(PolicySettings::default())
        .map_err(GraphError::bad_request)?;
    // The patch is applied to the policy each attempt reads, and commits only if that policy
    // is still stored: two concurrent PATCHes both take effect. Its event commits with it.
    let change = |stored: PolicySettings| patch.apply_to(stored.clone()).unwrap_or(stored);
    let _update = app
        .bounded(app.engine.change_policy(&caller, &change))
        .await?
        .map_err(GraphError::update_policy)?;
    Ok(StatusCode::NO_CONTENT)
}
