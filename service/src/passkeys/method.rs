//! A registered key: as the service stores it ([`StoredMethod`]), and as Graph shows it
//! ([`Fido2Method`], `fido2AuthenticationMethod`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use temporary_access_pass::time::UtcDateTime;
use webauthn_rs::prelude::{AttestationMetadata, Credential, Passkey, Uuid};

/// A registered key, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredMethod {
    /// The credential id, base64url without padding: the method's `id`.
    pub id: String,
    /// The name the user gave it.
    pub display_name: String,
    /// When it was registered.
    #[serde(with = "temporary_access_pass::graph::rfc3339")]
    pub created: UtcDateTime,
    /// The authenticator's AAGUID, when its attestation gave one.
    pub aaguid: Option<Uuid>,
    /// Whether the attestation was verified.
    pub attested: bool,
    /// The key itself (public key, counter...), `webauthn-rs`'s own form.
    pub passkey: Passkey,
}

impl StoredMethod {
    /// A key just registered at `now`, named `display_name`.
    #[must_use]
    pub fn new(passkey: Passkey, display_name: String, now: UtcDateTime) -> Self {
        let credential: Credential = passkey.clone().into();
        let aaguid = match credential.attestation.metadata {
            AttestationMetadata::Packed { aaguid } | AttestationMetadata::Tpm { aaguid, .. } => {
                Some(aaguid)
            }
            _ => None,
        };
        Self {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            display_name,
            created: now,
            aaguid,
            attested: aaguid.is_some(),
            passkey,
        }
    }
}

/// `fido2AuthenticationMethod`: a registered key as Graph shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Fido2Method {
    /// `#microsoft.graph.fido2AuthenticationMethod`.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The method's id.
    pub id: String,
    /// The name the user gave it.
    pub display_name: String,
    /// When it was registered (Graph's list sample spells it `creationDateTime`).
    #[serde(alias = "creationDateTime")]
    pub created_date_time: String,
    /// The authenticator's AAGUID (all zeros when its attestation gave none).
    pub aa_guid: String,
    /// The manufacturer's model, when known.
    pub model: Option<String>,
    /// The attestation certificates' thumbprints (none are kept here).
    pub attestation_certificates: Vec<String>,
    /// `attested` or `notAttested`.
    pub attestation_level: String,
}

impl Fido2Method {
    /// The `@odata.type` of the resource.
    pub const ODATA_TYPE: &'static str = "#microsoft.graph.fido2AuthenticationMethod";
}

impl From<&StoredMethod> for Fido2Method {
    fn from(m: &StoredMethod) -> Self {
        Self {
            odata_type: Self::ODATA_TYPE.to_owned(),
            id: m.id.clone(),
            display_name: m.display_name.clone(),
            created_date_time: temporary_access_pass::graph::rfc3339::format(m.created)
                .unwrap_or_default(),
            aa_guid: m.aaguid.unwrap_or_default().to_string(),
            model: None,
            attestation_certificates: Vec::new(),
            attestation_level: if m.attested {
                "attested"
            } else {
                "notAttested"
            }
            .to_owned(),
        }
    }
}
