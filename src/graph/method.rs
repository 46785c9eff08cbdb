//! Registered methods and ceremonies in JSON: the strict storage forms a store keeps (unknown
//! fields refused, every instant exact, the host's bytes in lowercase hex), and Graph's
//! `fido2AuthenticationMethod` as a service shows a method (SPEC 8.2, 8.7).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::UtcDateTime;

use super::record::exact;
use super::rfc3339;
use crate::ceremony::{Ceremony, CeremonyId, CeremonyKind};
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::method::{
    AttestationLevel, MethodId, MethodName, MethodOrigin, NewMethod, RegisteredMethod,
};

/// How a method was registered, in the storage forms of events and methods.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) enum OriginDocument {
    ThroughPass(PassId),
    ByAdministrator(Initiator),
}

impl From<MethodOrigin> for OriginDocument {
    fn from(o: MethodOrigin) -> Self {
        match o {
            MethodOrigin::ThroughPass(pass) => Self::ThroughPass(pass),
            MethodOrigin::ByAdministrator(by) => Self::ByAdministrator(by),
        }
    }
}

impl From<OriginDocument> for MethodOrigin {
    fn from(o: OriginDocument) -> Self {
        match o {
            OriginDocument::ThroughPass(pass) => Self::ThroughPass(pass),
            OriginDocument::ByAdministrator(by) => Self::ByAdministrator(by),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum LevelDocument {
    Attested,
    NotAttested,
}

/// The storage form of a method.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MethodDocument {
    id: MethodId,
    user: UserId,
    display_name: String,
    #[serde(with = "exact")]
    created: UtcDateTime,
    #[serde(default, with = "exact::option")]
    last_used: Option<UtcDateTime>,
    #[serde(default)]
    aaguid: Option<String>,
    attestation_level: LevelDocument,
    origin: OriginDocument,
    #[serde(default, with = "exact::option")]
    blocked: Option<UtcDateTime>,
    credential: String,
}

/// A GUID's text (`2fc0579f-8113-47ea-b116-555a8db9202a`), as Graph writes an AAGUID.
#[must_use]
pub fn guid(bytes: &[u8; 16]) -> String {
    let hex = base16ct::lower::encode_string(bytes);
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

fn unguid(text: &str) -> Option<[u8; 16]> {
    let mut bytes = [0_u8; 16];
    let groups: Vec<&str> = text.split('-').collect();
    if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let joined: String = groups.concat();
    match base16ct::lower::decode(&joined, &mut bytes) {
        Ok(decoded) if decoded.len() == 16 => Some(bytes),
        _ => None,
    }
}

fn unhex(field: &str, text: &str) -> Result<Vec<u8>, String> {
    base16ct::lower::decode_vec(text).map_err(|_| format!("{field} must be lowercase hex digits"))
}

impl Serialize for RegisteredMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MethodDocument {
            id: self.id().clone(),
            user: self.user().clone(),
            display_name: self.name().as_str().to_string(),
            created: self.created(),
            last_used: self.last_used(),
            aaguid: self.aaguid().as_ref().map(guid),
            attestation_level: match self.attestation() {
                AttestationLevel::Attested => LevelDocument::Attested,
                AttestationLevel::NotAttested => LevelDocument::NotAttested,
            },
            origin: self.origin().clone().into(),
            blocked: self.blocked(),
            credential: base16ct::lower::encode_string(self.credential()),
        }
        .serialize(s)
    }
}

/// Decoding checks the method like [`RegisteredMethod::new`].
impl<'de> Deserialize<'de> for RegisteredMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = MethodDocument::deserialize(d)?;
        let name = MethodName::new(&doc.display_name).map_err(D::Error::custom)?;
        let aaguid = doc
            .aaguid
            .map(|text| unguid(&text).ok_or_else(|| D::Error::custom("aaguid must be a GUID")))
            .transpose()?;
        let level = match doc.attestation_level {
            LevelDocument::Attested => AttestationLevel::Attested,
            LevelDocument::NotAttested => AttestationLevel::NotAttested,
        };
        let credential = unhex("credential", &doc.credential).map_err(D::Error::custom)?;
        let new = NewMethod::new(doc.id, name, credential).aaguid(aaguid, level);
        Self::from_parts(
            new,
            doc.user,
            doc.origin.into(),
            doc.created,
            doc.last_used,
            doc.blocked,
        )
        .map_err(D::Error::custom)
    }
}

/// The storage form of a ceremony's kind.
#[derive(Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum KindDocument {
    Registration {
        pass: PassId,
        #[serde(with = "exact")]
        until: UtcDateTime,
    },
    Provisioning {
        by: Initiator,
    },
    SignIn,
}

/// The storage form of a ceremony.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CeremonyDocument {
    id: String,
    user: UserId,
    kind: KindDocument,
    #[serde(with = "exact")]
    opened: UtcDateTime,
    #[serde(with = "exact")]
    expires: UtcDateTime,
    #[serde(default)]
    state: Option<String>,
}

impl Serialize for Ceremony {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CeremonyDocument {
            id: self.id().as_str().to_string(),
            user: self.user().clone(),
            kind: match self.kind().clone() {
                CeremonyKind::Registration { pass, until } => {
                    KindDocument::Registration { pass, until }
                }
                CeremonyKind::Provisioning { by } => KindDocument::Provisioning { by },
                CeremonyKind::SignIn => KindDocument::SignIn,
            },
            opened: self.opened(),
            expires: self.expires(),
            state: self.state().map(base16ct::lower::encode_string),
        }
        .serialize(s)
    }
}

/// Decoding checks the ceremony like [`Ceremony::new`] and [`Ceremony::with_state`].
impl<'de> Deserialize<'de> for Ceremony {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = CeremonyDocument::deserialize(d)?;
        let id = CeremonyId::new(&doc.id).map_err(D::Error::custom)?;
        let kind = match doc.kind {
            KindDocument::Registration { pass, until } => {
                CeremonyKind::Registration { pass, until }
            }
            KindDocument::Provisioning { by } => CeremonyKind::Provisioning { by },
            KindDocument::SignIn => CeremonyKind::SignIn,
        };
        let state = doc
            .state
            .map(|text| unhex("state", &text))
            .transpose()
            .map_err(D::Error::custom)?;
        Self::new(id, doc.user, kind, doc.opened, doc.expires)
            .and_then(|c| c.with_state(state))
            .map_err(D::Error::custom)
    }
}

/// `fido2AuthenticationMethod`: a registered key as Microsoft Graph shows it (SPEC 8.2, 8.7).
/// `attestationCertificates` is always empty (certificates are not kept) and `model` is
/// `null` (the crate keeps no metadata of models). `lastUsedDateTime` is Graph beta's, inherited
/// from `authenticationMethod`; written only when the method was used, so a v1.0 reader that
/// refuses unknown properties reads a method never used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Fido2MethodDocument {
    /// `#microsoft.graph.fido2AuthenticationMethod`.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The method's id.
    pub id: String,
    /// The name given to it.
    pub display_name: String,
    /// When it was registered (Graph's list sample spells it `creationDateTime`).
    #[serde(alias = "creationDateTime")]
    pub created_date_time: String,
    /// When it last signed its user in (beta), when it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_date_time: Option<String>,
    /// The AAGUID, as attested or as the authenticator stated it (all zeros when it stated
    /// none).
    pub aa_guid: String,
    /// The manufacturer's model, when known.
    pub model: Option<String>,
    /// The attestation certificates' thumbprints.
    pub attestation_certificates: Vec<String>,
    /// `attested` or `notAttested`.
    pub attestation_level: String,
}

impl Fido2MethodDocument {
    /// The `@odata.type` of the resource.
    pub const ODATA_TYPE: &'static str = "#microsoft.graph.fido2AuthenticationMethod";
}

impl From<&RegisteredMethod> for Fido2MethodDocument {
    fn from(m: &RegisteredMethod) -> Self {
        let when = |t: UtcDateTime| rfc3339::format(t).unwrap_or_else(|_| t.to_string());
        Self {
            odata_type: Self::ODATA_TYPE.to_string(),
            id: m.id().as_str().to_string(),
            display_name: m.name().as_str().to_string(),
            created_date_time: when(m.created()),
            last_used_date_time: m.last_used().map(when),
            aa_guid: guid(&m.aaguid().unwrap_or_default()),
            model: None,
            attestation_certificates: Vec::new(),
            attestation_level: match m.attestation() {
                AttestationLevel::Attested => "attested",
                AttestationLevel::NotAttested => "notAttested",
            }
            .to_string(),
        }
    }
}
