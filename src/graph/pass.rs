//! The pass's Graph shapes: `temporaryAccessPassAuthenticationMethod`, the list response, and
//! the creation request body.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::UtcDateTime;

use super::PASS_ODATA_TYPE;
use crate::create::{CreateRequest, CreatedPass};
use crate::ids::PassId;
use crate::passcode::Passcode;
use crate::policy::Lifetime;
use crate::usability::Usability;
use crate::view::PassView;

/// `methodUsabilityReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MethodUsabilityReason {
    /// Usable.
    EnabledByPolicy,
    /// Blocked by the policy.
    DisabledByPolicy,
    /// Past its end.
    Expired,
    /// Before its start.
    NotYetValid,
    /// A one-time pass already used.
    OneTimeUsed,
    /// A reason Graph added after this crate was written.
    #[serde(other, rename = "unknownFutureValue")]
    UnknownFutureValue,
}

impl From<Usability> for MethodUsabilityReason {
    fn from(u: Usability) -> Self {
        match u {
            Usability::Usable => Self::EnabledByPolicy,
            Usability::NotYetValid { .. } => Self::NotYetValid,
            Usability::Expired { .. } => Self::Expired,
            Usability::OneTimeUsed { .. } => Self::OneTimeUsed,
            Usability::PolicyBlocked(_) => Self::DisabledByPolicy,
        }
    }
}

/// `temporaryAccessPassAuthenticationMethod`: a pass as Graph shows it.
///
/// `temporaryAccessPass` (the code) is null unless the document was made by
/// [`PassDocument::creation_response`]; it is then serialized, once, as Graph's creation
/// response does. The code stays a [`Passcode`] (redacted, zeroed on drop) in between.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PassDocument {
    /// `#microsoft.graph.temporaryAccessPassAuthenticationMethod`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// The pass id.
    pub id: PassId,
    /// The code: only in the creation response.
    #[serde(default, with = "code_field")]
    pub temporary_access_pass: Option<Passcode>,
    /// `createdDateTime`.
    #[serde(with = "super::rfc3339")]
    pub created_date_time: UtcDateTime,
    /// `startDateTime`.
    #[serde(with = "super::rfc3339")]
    pub start_date_time: UtcDateTime,
    /// `lifetimeInMinutes`.
    pub lifetime_in_minutes: Lifetime,
    /// `isUsableOnce`.
    pub is_usable_once: bool,
    /// `isUsable`.
    pub is_usable: bool,
    /// `methodUsabilityReason`.
    pub method_usability_reason: MethodUsabilityReason,
    /// `lastUsedDateTime`, Graph beta's (SPEC 5.9): written only once the pass has signed its
    /// holder in, so a reader of v1.0's shape that refuses unknown properties still reads a
    /// pass never used.
    #[serde(
        default,
        with = "super::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_used_date_time: Option<UtcDateTime>,
}

impl From<&PassView> for PassDocument {
    fn from(v: &PassView) -> Self {
        Self {
            odata_type: Some(PASS_ODATA_TYPE.to_string()),
            id: v.id,
            temporary_access_pass: None,
            created_date_time: v.created,
            start_date_time: v.start,
            lifetime_in_minutes: v.lifetime,
            is_usable_once: v.is_usable_once,
            is_usable: v.is_usable,
            method_usability_reason: v.usability.into(),
            last_used_date_time: v.last_used,
        }
    }
}

impl PassDocument {
    /// The creation response: the view plus the code, which this document takes over. This is
    /// the only document that serializes a code (SPEC 6.3).
    #[must_use]
    pub fn creation_response(created: CreatedPass) -> Self {
        let mut doc = Self::from(&created.view);
        doc.temporary_access_pass = Some(created.passcode);
        doc
    }
}

/// The list response: `{"value": [...]}` (a user holds at most one pass).
#[derive(Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PassList {
    /// The passes.
    pub value: Vec<PassDocument>,
}

impl PassList {
    /// A list of the given documents.
    #[must_use]
    pub fn new(value: Vec<PassDocument>) -> Self {
        Self { value }
    }
}

/// The creation request body (SPEC 2.1): `startDateTime`, `lifetimeInMinutes`, `isUsableOnce`,
/// each optional.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequestDocument {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::rfc3339::option"
    )]
    start_date_time: Option<UtcDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::whole::option"
    )]
    lifetime_in_minutes: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    is_usable_once: Option<bool>,
}

impl Serialize for CreateRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CreateRequestDocument {
            start_date_time: self.start,
            lifetime_in_minutes: self.lifetime_minutes,
            is_usable_once: self.is_usable_once,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CreateRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = CreateRequestDocument::deserialize(d)?;
        Ok(Self {
            start: doc.start_date_time,
            lifetime_minutes: doc.lifetime_in_minutes,
            is_usable_once: doc.is_usable_once,
        })
    }
}

mod code_field {
    use alloc::string::String;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::passcode::Passcode;

    #[expect(
        clippy::ref_option,
        reason = "serde's `with` hands the field by reference"
    )]
    pub(super) fn serialize<S: Serializer>(
        code: &Option<Passcode>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match code {
            Some(code) => s.serialize_str(code.expose_secret()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Passcode>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Passcode::from_response))
    }
}
