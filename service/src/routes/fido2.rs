//! A user's passkeys and security keys as Graph serves them (SPEC 8.2, 8.5):
//! `GET .../fido2Methods` and `.../fido2Methods/{id}` (who may view the user's methods: the
//! matrix of 3.2, a Global Reader, the user), `DELETE .../fido2Methods/{id}` (the matrix, the
//! user their own), and an administrator's provisioning of a key on the user's behalf:
//! `GET .../fido2Methods/creationOptions` (a challenge valid 5 minutes, or
//! `creationOptions(challengeTimeoutInMinutes=N)`), then `POST .../fido2Methods` (201).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use temporary_access_pass::Principal;
use temporary_access_pass::ceremony::CeremonyId;
use temporary_access_pass::graph::{Fido2MethodDocument, rfc3339};
use temporary_access_pass::method::MethodId;
use temporary_access_pass::onboarding::PROVISIONING_WINDOW;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::time::Duration;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::AppState;
use super::registration::display_name;
use crate::app::App;
use crate::http::{Caller, GraphError, GraphJson, refuse_other_type, refuse_unknown};
use crate::identity::{Authenticator, Directory};

const CONTEXT: &str = "https://graph.microsoft.com/v1.0/$metadata";

/// The user's methods for the caller (SPEC 8.5).
async fn methods_of<S: AsyncStore, A: Authenticator, D: Directory>(
    app: &App<S, A, D>,
    caller: &Principal,
    holder: &Principal,
) -> Result<Vec<Fido2MethodDocument>, GraphError> {
    let methods = app
        .bounded(app.engine.methods(caller, holder))
        .await?
        .map_err(GraphError::method_access)?;
    Ok(methods.iter().map(Fido2MethodDocument::from).collect())
}

/// `GET /v1.0/users/{id}/authentication/fido2Methods`.
pub(super) async fn list<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    Caller(caller): Caller,
) -> Result<Json<Value>, GraphError> {
    let holder = app.user(&id).await?;
    let documents = methods_of(&app, &caller, &holder).await?;
    Ok(Json(json!({
        "@odata.context": format!(
            "{CONTEXT}#users('{}')/authentication/fido2Methods",
            holder.id().as_str()
        ),
        "value": documents,
    })))
}

/// The challenge timeout `creationOptions(challengeTimeoutInMinutes=N)` asks for (5 to 43,200
/// minutes, Graph's range), or the default: `None` when `segment` is not a creation-options
/// call.
fn creation_options_call(segment: &str) -> Option<Result<Duration, GraphError>> {
    let rest = segment.strip_prefix("creationOptions")?;
    if rest.is_empty() {
        return Some(Ok(PROVISIONING_WINDOW));
    }
    let minutes = rest
        .strip_prefix("(challengeTimeoutInMinutes=")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (5..=43_200).contains(n));
    Some(minutes.map(Duration::minutes).ok_or_else(|| {
        GraphError::bad_request("challengeTimeoutInMinutes: a whole number from 5 to 43200")
    }))
}

/// `GET .../fido2Methods/{id}`: one method; or, for `creationOptions`, the options of an
/// administrator's provisioning (SPEC 8.5): `webauthnCredentialCreationOptions`, its
/// `publicKey` the WebAuthn creation options and `challengeTimeoutDateTime` their end.
pub(super) async fn get_one<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path((id, method)): Path<(String, String)>,
    Caller(caller): Caller,
) -> Result<Json<Value>, GraphError> {
    let holder = app.user(&id).await?;
    if let Some(timeout) = creation_options_call(&method) {
        return creation_options(&app, &caller, &holder, timeout?).await;
    }
    let documents = methods_of(&app, &caller, &holder).await?;
    let document = documents
        .into_iter()
        .find(|d| d.id == method)
        .ok_or_else(|| GraphError::not_found(format!("fido2Method {method:?}")))?;
    let mut value = serde_json::to_value(document).map_err(GraphError::store)?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "@odata.context".into(),
            Value::String(format!(
                "{CONTEXT}#users('{}')/authentication/fido2Methods/$entity",
                holder.id().as_str()
            )),
        );
    }
    Ok(Json(value))
}

async fn creation_options<S: AsyncStore, A: Authenticator, D: Directory>(
    app: &App<S, A, D>,
    caller: &Principal,
    target: &Principal,
    timeout: Duration,
) -> Result<Json<Value>, GraphError> {
    let existing = app
        .bounded(app.engine.passkeys(target.id()))
        .await?
        .map_err(GraphError::read)?;
    let name = display_name(None)?;
    let account = app.account_name(target.id()).await;
    let (options, state) = app
        .onboarding
        .creation_options(target.id(), &account, &name, &existing)
        .map_err(GraphError::from)?;
    // The challenge names the ceremony: the answer's client data carries it back.
    let challenge =
        CeremonyId::new(&URL_SAFE_NO_PAD.encode::<&[u8]>(options.public_key.challenge.as_ref()))
            .map_err(GraphError::store)?;
    let ceremony = app
        .bounded(
            app.engine
                .begin_provisioning(caller, target, &challenge, &state, timeout),
        )
        .await?
        .map_err(GraphError::provision)?;
    let until = rfc3339::format(ceremony.expires()).map_err(GraphError::store)?;
    Ok(Json(json!({
        "@odata.context": format!("{CONTEXT}#microsoft.graph.webauthnCredentialCreationOptions"),
        "value": {
            "@odata.type": "#microsoft.graph.webauthnCredentialCreationOptions",
            "challengeTimeoutDateTime": until,
            "publicKey": options.public_key,
        },
    })))
}

/// `DELETE .../fido2Methods/{id}`: a deleted key signs nobody in (SPEC 8.5).
pub(super) async fn delete_one<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path((id, method)): Path<(String, String)>,
    Caller(caller): Caller,
) -> Result<StatusCode, GraphError> {
    let holder = app.user(&id).await?;
    let not_found = || GraphError::not_found(format!("fido2Method {method:?}"));
    let method_id = MethodId::new(&method).map_err(|_| not_found())?;
    app.bounded(app.engine.delete_method(&caller, &holder, &method_id))
        .await?
        .map_err(GraphError::method_access)?
        .ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The properties a provisioning names (`fido2AuthenticationMethod`, write side).
const PROPERTIES: &[&str] = &["@odata.type", "displayName", "publicKeyCredential"];

/// `webauthnPublicKeyCredential`, as Graph takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PublicKeyCredentialDocument {
    id: String,
    response: ResponseDocument,
    #[serde(default)]
    client_extension_results: Option<Value>,
}

/// `webauthnAuthenticatorAttestationResponse`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResponseDocument {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    attestation_object: String,
}

/// The challenge a client data's JSON carries.
fn challenge_of(client_data: &[u8]) -> Option<CeremonyId> {
    let data: Value = serde_json::from_slice(client_data).ok()?;
    CeremonyId::new(data.get("challenge")?.as_str()?).ok()
}

/// The credential as `webauthn-rs` reads it, from Graph's shape.
fn credential_of(
    document: &PublicKeyCredentialDocument,
) -> Result<RegisterPublicKeyCredential, GraphError> {
    let bad = |what: &str| {
        GraphError::bad_request(format_args!(
            "publicKeyCredential.{what}: unpadded URL-safe base64"
        ))
    };
    let raw_id = URL_SAFE_NO_PAD
        .decode(&document.id)
        .map_err(|_| bad("id"))?;
    let client_data = URL_SAFE_NO_PAD
        .decode(&document.response.client_data_json)
        .map_err(|_| bad("response.clientDataJSON"))?;
    let attestation = URL_SAFE_NO_PAD
        .decode(&document.response.attestation_object)
        .map_err(|_| bad("response.attestationObject"))?;
    let value = json!({
        "id": document.id,
        "rawId": URL_SAFE_NO_PAD.encode(raw_id),
        "response": {
            "attestationObject": URL_SAFE_NO_PAD.encode(attestation),
            "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
        },
        "type": "public-key",
        "extensions": document.client_extension_results.clone().unwrap_or_else(|| json!({})),
    });
    serde_json::from_value(value)
        .map_err(|e| GraphError::bad_request(format_args!("publicKeyCredential: {e}")))
}

/// `POST .../fido2Methods`: the answer to a provisioning's creation options, from the
/// administrator who asked for them, within the challenge's time; 201 with the method.
pub(super) async fn provision<S: AsyncStore, A: Authenticator, D: Directory>(
    State(app): AppState<S, A, D>,
    Path(id): Path<String>,
    Caller(caller): Caller,
    GraphJson(body): GraphJson<Value>,
) -> Result<(StatusCode, Json<Fido2MethodDocument>), GraphError> {
    refuse_unknown(&body, PROPERTIES, "fido2AuthenticationMethod")?;
    refuse_other_type(&body, Fido2MethodDocument::ODATA_TYPE)?;
    let name = display_name(body.get("displayName").and_then(Value::as_str))?;
    let document: PublicKeyCredentialDocument = body
        .get("publicKeyCredential")
        .cloned()
        .map(serde_json::from_value)
        .ok_or_else(|| GraphError::bad_request("publicKeyCredential is required"))?
        .map_err(|e| GraphError::bad_request(format_args!("publicKeyCredential: {e}")))?;
    let target = app.user(&id).await?;
    let credential = credential_of(&document)?;
    let challenge = challenge_of(credential.response.client_data_json.as_ref())
        .ok_or_else(|| GraphError::bad_request("the client data names no challenge"))?;
    let state = app
        .bounded(app.engine.take_provisioning(&caller, &target, &challenge))
        .await?
        .map_err(GraphError::provision)?;
    let new = app
        .onboarding
        .finish_creation(&credential, &state, name)
        .map_err(|e| {
            tracing::info!(error = %e, "a provisioned key's attestation was refused");
            GraphError::bad_request(e)
        })?;
    let method = app
        .bounded(app.engine.provision_method(&caller, &target, &new))
        .await?
        .map_err(GraphError::add_method)?;
    tracing::info!(method = %method.id(), "a key was provisioned");
    Ok((
        StatusCode::CREATED,
        Json(Fido2MethodDocument::from(&method)),
    ))
}

#[cfg(test)]
mod tests {
    use super::creation_options_call;

    #[test]
    fn creation_options_take_graphs_function_call_with_its_range() {
        assert!(creation_options_call("abc").is_none());
        assert_eq!(
            creation_options_call("creationOptions")
                .unwrap()
                .unwrap()
                .whole_minutes(),
            5
        );
        assert_eq!(
            creation_options_call("creationOptions(challengeTimeoutInMinutes=10)")
                .unwrap()
                .unwrap()
                .whole_minutes(),
            10
        );
        for refused in [
            "creationOptions(challengeTimeoutInMinutes=4)",
            "creationOptions(x=1)",
            "creationOptions(challengeTimeoutInMinutes=43201)",
        ] {
            assert!(
                creation_options_call(refused).unwrap().is_err(),
                "{refused}"
            );
        }
    }
}
