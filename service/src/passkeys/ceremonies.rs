//! The WebAuthn ceremonies as `webauthn-rs` runs them, their state serialised for the store
//! (its `danger-allow-state-serialisation`, kept server-side as its maintainers advise, never
//! in a cookie): what the options leave, read back when the answer comes, by whichever
//! instance it comes to.
//!
//! - A **creation** (a registration through a pass, or an administrator's provisioning) leaves
//!   `webauthn-rs`'s registration state: the challenge, the policy, the credential ids it
//!   excludes. Its answer becomes a [`NewMethod`]: the key without attestation certificates,
//!   its AAGUID, and `attested` only when the chain verified against the roots the host
//!   configured ([`super::roots_from_json`]).
//! - A **passkey sign-in** leaves only its challenge and the credential ids it allows, never a
//!   key: the answer is verified against the method read again from the store.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use temporary_access_pass::UserId;
use temporary_access_pass::method::{
    AttestationLevel, MethodId, MethodName, NewMethod, RegisteredMethod,
};
use temporary_access_pass::store::Versioned;
use webauthn_rs::prelude::{
    AttestationCaList, AttestedPasskeyRegistration, CreationChallengeResponse, Credential,
    CredentialID, DiscoverableAuthentication, ParsedAttestation, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Webauthn,
    WebauthnError,
};
use webauthn_rs_proto::AllowCredentials;

use super::attestation::stated_aaguid;
use super::relying_party::{RelyingPartyKey, WebauthnSettings};
use crate::http::GraphError;

/// Why a ceremony could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// `webauthn-rs` refused the answer (a wrong challenge, origin or RP ID, a bad signature,
    /// an attestation that does not verify).
    #[error("the security key's answer was refused: {0}")]
    Refused(String),
    /// The key's signature counter did not move forward: a possible clone (SPEC 8.6).
    #[error("the security key's signature counter did not move forward: it may be cloned")]
    PossibleClone,
    /// A state or a credential could not be (de)serialised: a store holding what this service
    /// never wrote.
    #[error("a ceremony's state could not be read back: {0}")]
    State(String),
}

impl From<CeremonyError> for GraphError {
    fn from(error: CeremonyError) -> Self {
        match error {
            CeremonyError::Refused(_) | CeremonyError::PossibleClone => Self::passkey_refused(),
            CeremonyError::State(detail) => Self::store(detail),
        }
    }
}

/// What a creation's options leave: `webauthn-rs`'s registration state, attested or not.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum CreationState {
    Plain(PasskeyRegistration),
    Attested(AttestedPasskeyRegistration),
}

/// What a passkey sign-in's options leave: the challenge (in `webauthn-rs`'s state, which
/// holds no key) and the credential ids allowed.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInState {
    challenge: DiscoverableAuthentication,
    allowed: Vec<String>,
}

/// A sign-in the host verified: the key's credential as it is now (its counter moved), and
/// whether the user was verified.
#[derive(Debug)]
#[non_exhaustive]
pub struct Verified {
    /// The credential to store, at the version the answer was verified against.
    pub credential: Vec<u8>,
    /// Whether the authenticator verified the user (a PIN, a biometric).
    pub user_verified: bool,
}

/// The relying party and its attestation roots: what runs the ceremonies (see the module).
pub struct Onboarding {
    webauthn: Webauthn,
    settings: WebauthnSettings,
    roots: Option<AttestationCaList>,
    key: RelyingPartyKey,
}

impl std::fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarding")
            .field("settings", &self.settings)
            .field(
                "attestation_roots",
                &self.roots.as_ref().map(AttestationCaList::len),
            )
            .finish_non_exhaustive()
    }
}

fn state_error(e: impl std::fmt::Display) -> CeremonyError {
    CeremonyError::State(e.to_string())
}

fn refused(e: &WebauthnError) -> CeremonyError {
    match e {
        WebauthnError::CredentialPossibleCompromise => CeremonyError::PossibleClone,
        other => CeremonyError::Refused(other.to_string()),
    }
}

/// A method's id: its credential id in unpadded URL-safe base64.
#[must_use]
pub fn method_id(credential: &CredentialID) -> Option<MethodId> {
    MethodId::new(&URL_SAFE_NO_PAD.encode(credential)).ok()
}

/// The key a stored credential holds.
fn passkey_of(credential: &[u8]) -> Result<Passkey, CeremonyError> {
    serde_json::from_slice(credential).map_err(state_error)
}

/// A key as the store keeps it: without the attestation's certificates (SPEC 8.7).
fn stored_form(passkey: Passkey) -> Result<Vec<u8>, CeremonyError> {
    let mut credential: Credential = passkey.into();
    credential.attestation = ParsedAttestation::default();
    serde_json::to_vec(&Passkey::from(credential)).map_err(state_error)
}

impl Onboarding {
    /// The relying party of `settings`, attesting keys against `roots` when given (see
    /// [`roots_from_json`](super::roots_from_json)), with a random key of its own
    /// ([`RelyingPartyKey`]; a deployment of several instances gives them one with
    /// [`Onboarding::with_key`]).
    ///
    /// # Errors
    ///
    /// `webauthn-rs`'s, when the RP ID does not suit the origin; or the system's random number
    /// generator's.
    pub fn new(
        settings: WebauthnSettings,
        roots: Option<AttestationCaList>,
    ) -> Result<Self, String> {
        Ok(Self {
            webauthn: settings.relying_party()?,
            settings,
            roots,
            key: RelyingPartyKey::random()?,
        })
    }

    /// The same relying party with `key`, which keys its user handles and decoys.
    #[must_use]
    pub fn with_key(mut self, key: RelyingPartyKey) -> Self {
        self.key = key;
        self
    }

    /// The credential id a sign-in offers `user` when they hold no key (see
    /// [`RelyingPartyKey::decoy_credential`]).
    #[must_use]
    pub fn decoy_credential(&self, user: &UserId) -> String {
        self.key.decoy_credential(user)
    }

    /// Pages served from `http://localhost`, no attestation roots: [`crate::App::new`]'s
    /// default, which a host replaces with [`crate::App::onboarding`].
    ///
    /// # Panics
    ///
    /// Never: the origin and RP ID are constants `webauthn-rs` accepts (a test builds them).
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "a constant origin and RP ID that webauthn-rs accepts (a test builds it)"
    )]
    pub fn localhost() -> Self {
        let settings = WebauthnSettings::for_origin("http://localhost").expect("a constant URL");
        Self::new(settings, None).expect("localhost is a valid relying party")
    }

    /// The relying party's settings.
    #[must_use]
    pub const fn settings(&self) -> &WebauthnSettings {
        &self.settings
    }

    /// The creation options for a key of `user` named `name`, excluding the keys they hold,
    /// and the state they leave. `account` is the name the authenticator shows for the account
    /// (the user principal name, not the object id). With attestation roots, the options ask
    /// for attestation.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Refused`] when `webauthn-rs` refuses to start.
    pub fn creation_options(
        &self,
        user: &UserId,
        account: &str,
        name: &MethodName,
        existing: &[Versioned<RegisteredMethod>],
    ) -> Result<(CreationChallengeResponse, Vec<u8>), CeremonyError> {
        let exclude: Vec<CredentialID> = existing
            .iter()
            .filter_map(|m| URL_SAFE_NO_PAD.decode(m.value.id().as_str()).ok())
            .collect();
        let handle = self.key.user_handle(user);
        let (options, state) = match &self.roots {
            None => {
                let (options, state) = self
                    .webauthn
                    .start_passkey_registration(handle, account, name.as_str(), Some(exclude))
                    .map_err(|e| refused(&e))?;
                (options, CreationState::Plain(state))
            }
            Some(roots) => {
                let (options, state) = self
                    .webauthn
                    .start_attested_passkey_registration(
                        handle,
                        account,
                        name.as_str(),
                        Some(exclude),
                        roots.clone(),
                        None,
                    )
                    .map_err(|e| refused(&e))?;
                (options, CreationState::Attested(state))
            }
        };
        Ok((options, serde_json::to_vec(&state).map_err(state_error)?))
    }

    /// The method a creation's answer registers, checked against the state its options left:
    /// the key without certificates, its AAGUID as attested (with roots) or as stated.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Refused`] when `webauthn-rs` refuses the answer;
    /// [`CeremonyError::State`] for a state this service did not write.
    pub fn finish_creation(
        &self,
        answer: &RegisterPublicKeyCredential,
        state: &[u8],
        name: MethodName,
    ) -> Result<NewMethod, CeremonyError> {
        let state: CreationState = serde_json::from_slice(state).map_err(state_error)?;
        let (passkey, level) = match state {
            CreationState::Plain(state) => (
                self.webauthn
                    .finish_passkey_registration(answer, &state)
                    .map_err(|e| refused(&e))?,
                AttestationLevel::NotAttested,
            ),
            CreationState::Attested(state) => (
                Passkey::from(
                    self.webauthn
                        .finish_attested_passkey_registration(answer, &state)
                        .map_err(|e| refused(&e))?,
                ),
                AttestationLevel::Attested,
            ),
        };
        let id = method_id(passkey.cred_id())
            .ok_or_else(|| CeremonyError::Refused("a credential id longer than allowed".into()))?;
        let aaguid = stated_aaguid(answer.response.attestation_object.as_ref());
        Ok(NewMethod::new(id, name, stored_form(passkey)?).aaguid(aaguid, level))
    }

    /// The options of a passkey sign-in allowing the credentials `allowed` (method ids:
    /// unpadded URL-safe base64), and the state they leave: the challenge and those ids, no
    /// key.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Refused`] when `webauthn-rs` refuses to start.
    pub fn request_options(
        &self,
        allowed: &[String],
    ) -> Result<(RequestChallengeResponse, Vec<u8>), CeremonyError> {
        let (mut options, challenge) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| refused(&e))?;
        // Not a conditional (autofill) request: a modal one, for the user's own keys.
        options.mediation = None;
        let allowed = allowed.to_vec();
        options.public_key.allow_credentials = allowed
            .iter()
            .filter_map(|id| URL_SAFE_NO_PAD.decode(id).ok())
            .map(|id| AllowCredentials {
                type_: "public-key".to_owned(),
                id,
                transports: None,
            })
            .collect();
        let state = SignInState { challenge, allowed };
        Ok((options, serde_json::to_vec(&state).map_err(state_error)?))
    }

    /// The method id a sign-in's answer names, if the state allowed it.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Refused`] for a key the options did not allow;
    /// [`CeremonyError::State`] for a state this service did not write.
    pub fn answered_by(
        &self,
        answer: &PublicKeyCredential,
        state: &[u8],
    ) -> Result<MethodId, CeremonyError> {
        let state: SignInState = serde_json::from_slice(state).map_err(state_error)?;
        let id = URL_SAFE_NO_PAD.encode(answer.get_credential_id());
        if !state.allowed.contains(&id) {
            return Err(CeremonyError::Refused(
                "a key the sign-in did not allow".into(),
            ));
        }
        MethodId::new(&id).map_err(|e| CeremonyError::Refused(e.to_string()))
    }

    /// A sign-in's answer verified against the state its options left and against `method`,
    /// read again from the store: its credential as it is now.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::PossibleClone`] when the key's counter did not move forward;
    /// [`CeremonyError::Refused`] for any other refusal; [`CeremonyError::State`].
    pub fn finish_request(
        &self,
        answer: &PublicKeyCredential,
        state: &[u8],
        method: &RegisteredMethod,
    ) -> Result<Verified, CeremonyError> {
        let state: SignInState = serde_json::from_slice(state).map_err(state_error)?;
        let mut passkey = passkey_of(method.credential())?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(answer, state.challenge, &passkey)
            .map_err(|e| refused(&e))?;
        let _changed = passkey.update_credential(&result);
        Ok(Verified {
            credential: serde_json::to_vec(&passkey).map_err(state_error)?,
            user_verified: result.user_verified(),
        })
    }
}
