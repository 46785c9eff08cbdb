//! A software authenticator's ceremonies against a running service, over HTTP as a client
//! would send them: an administrator's provisioning of a key (Graph's `creationOptions`, then
//! `POST fido2Methods`), and a passkey sign-in with it.

use serde_json::{Value, json};
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator as _};
use webauthn_rs::prelude::{
    CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url,
};

use crate::service::client;

/// Graph's `webauthnPublicKeyCredential` of an authenticator's answer.
#[must_use]
pub fn graph_credential(credential: &RegisterPublicKeyCredential) -> Value {
    let answer = serde_json::to_value(credential).expect("an answer serialises");
    json!({
        "id": answer["id"],
        "response": {
            "clientDataJSON": answer["response"]["clientDataJSON"],
            "attestationObject": answer["response"]["attestationObject"],
        },
        "clientExtensionResults": {},
    })
}

/// `authorization` provisions a key made by `key` at `origin` for `user` on the service at
/// `base`: the status of the `POST` and its body.
pub async fn provision(
    base: &str,
    authorization: &str,
    user: &str,
    key: &mut impl AuthenticatorBackend,
    origin: &Url,
) -> (u16, Value) {
    let http = client();
    let path = format!("{base}/v1.0/users/{user}/authentication/fido2Methods");
    let options: Value = http
        .get(format!("{path}/creationOptions"))
        .header("authorization", authorization)
        .send()
        .await
        .expect("the creation options answer")
        .json()
        .await
        .expect("the creation options are JSON");
    let creation: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": options["value"]["publicKey"]}))
            .unwrap_or_else(|e| panic!("creation options ({e}): {options}"));
    let credential = key
        .do_registration(origin.clone(), creation)
        .expect("the software key registers");
    let response = http
        .post(&path)
        .header("authorization", authorization)
        .json(&json!({
            "displayName": "Provisioned key",
            "publicKeyCredential": graph_credential(&credential),
        }))
        .send()
        .await
        .expect("the provisioning answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The first cookie `response` sets, as a request sends it back (`name=value`).
#[must_use]
pub fn cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The options of a passkey sign-in for `user` on the service at `base`: the status, the
/// options, and the sign-in's cookie.
pub async fn sign_in_options(base: &str, user: &str) -> (u16, Value, Option<String>) {
    let response = client()
        .post(format!("{base}/webauthn/authentication/options"))
        .json(&json!({"userId": user}))
        .send()
        .await
        .expect("the options answer");
    let cookie = cookie(&response);
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null), cookie)
}

/// A passkey sign-in of `user` with `key` at `origin` on the service at `base`: the status of
/// the answer and its body.
pub async fn sign_in(
    base: &str,
    user: &str,
    key: &mut impl AuthenticatorBackend,
    origin: &Url,
) -> (u16, Value) {
    let (status, options, cookie) = sign_in_options(base, user).await;
    if status != 200 {
        return (status, options);
    }
    let options: RequestChallengeResponse =
        serde_json::from_value(options).expect("request options");
    let assertion: PublicKeyCredential = key
        .do_authentication(origin.clone(), options)
        .expect("the software key signs");
    let mut request = client()
        .post(format!("{base}/webauthn/authentication"))
        .json(&json!({"userId": user, "credential": assertion}));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("the sign-in answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
