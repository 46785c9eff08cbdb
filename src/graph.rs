//! Microsoft Graph's JSON shapes (feature `serde`, SPEC 7.3).
//!
//! - [`PolicyDocument`] is `temporaryAccessPassAuthenticationMethodConfiguration`, for a full
//!   document (GET) and for a partial update (PATCH: absent fields keep their values).
//!   [`Policy`] itself serializes to and deserializes from this shape, and decoding validates:
//!   JSON describing an invalid policy is an error naming the field, never a `Policy` that breaks
//!   its invariants.
//! - [`PassDocument`] is `temporaryAccessPassAuthenticationMethod`, with `temporaryAccessPass`
//!   null except in the creation response ([`PassDocument::creation_response`]), and
//!   [`PassList`] the list response.
//! - [`CreatePassRequest`](crate::CreatePassRequest) is the creation request body.
//!
//! Times are RFC 3339: any offset is accepted and normalized to UTC, fractional seconds survive
//! to the nanosecond. Unknown fields are ignored, as Graph adds fields over time.
//!
//! ```
//! use temporary_access_pass::{Policy, PolicyState};
//!
//! let json = r##"{
//!     "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
//!     "id": "TemporaryAccessPass",
//!     "state": "enabled",
//!     "defaultLifetimeInMinutes": 60,
//!     "defaultLength": 8,
//!     "minimumLifetimeInMinutes": 60,
//!     "maximumLifetimeInMinutes": 480,
//!     "isUsableOnce": false,
//!     "includeTargets": [{ "targetType": "group", "id": "all_users", "isRegistrationRequired": false }],
//!     "excludeTargets": []
//! }"##;
//! let policy: Policy = serde_json::from_str(json)?;
//! assert_eq!(policy.state(), PolicyState::Enabled);
//!
//! let invalid = json.replace("\"defaultLength\": 8", "\"defaultLength\": 4");
//! let err = serde_json::from_str::<Policy>(&invalid).unwrap_err();
//! assert!(err.to_string().starts_with("defaultLength: passcode length is 4 characters"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::UtcDateTime;

use crate::ids::{GroupId, IdError, PassId, UserId};
use crate::pass::{CreatedPass, PassView};
use crate::passcode::Passcode;
use crate::policy::{
    ExcludeTarget, IncludeTarget, Lifetime, Policy, PolicyError, PolicySettings, PolicyState,
};
use crate::usability::Usability;

/// `@odata.type` of the policy resource.
pub const POLICY_ODATA_TYPE: &str =
    "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration";
/// `@odata.type` of the pass resource.
pub const PASS_ODATA_TYPE: &str = "#microsoft.graph.temporaryAccessPassAuthenticationMethod";
/// The policy's `id` in Graph.
pub const POLICY_ID: &str = "TemporaryAccessPass";
/// The group id Graph uses for "all users".
pub const ALL_USERS: &str = "all_users";

/// Why a Graph document does not describe a valid value. Each variant names the JSON field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A field breaks a policy rule (SPEC 1.3).
    #[error("{field}: {error}")]
    InvalidPolicy {
        /// The JSON field, such as `defaultLength`.
        field: &'static str,
        /// The rule broken, with the value and the allowed range.
        error: PolicyError,
    },
    /// A target's id is not a valid user or group id.
    #[error("{field}[{index}].id: {error}")]
    InvalidTargetId {
        /// `includeTargets` or `excludeTargets`.
        field: &'static str,
        /// The target's position.
        index: usize,
        /// Why the id was refused.
        error: IdError,
    },
    /// `all_users` can be included, not excluded (SPEC 1.4).
    #[error("excludeTargets[{index}].id: all_users can't be excluded; exclude users or groups")]
    ExcludedAllUsers {
        /// The target's position.
        index: usize,
    },
    /// `@odata.type` names another resource.
    #[error("@odata.type: expected {expected}, found {found}")]
    WrongODataType {
        /// The type expected.
        expected: &'static str,
        /// The type found.
        found: String,
    },
}

/// `enabled` or `disabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum StateDocument {
    /// `enabled`.
    Enabled,
    /// `disabled`.
    Disabled,
}

/// `user` or `group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TargetType {
    /// `user`.
    User,
    /// `group`.
    Group,
}

/// An include or exclude target (`authenticationMethodTarget`, `excludeTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TargetDocument {
    /// `user` or `group`.
    pub target_type: TargetType,
    /// The user or group id; the group `all_users` means every user.
    pub id: String,
    /// Graph's registration campaign flag on include targets. Kept so documents round-trip;
    /// the crate's policy does not use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_registration_required: Option<bool>,
}

/// `temporaryAccessPassAuthenticationMethodConfiguration`. Every field is optional so the same
/// type reads a full document and a PATCH body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PolicyDocument {
    /// `#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// `TemporaryAccessPass`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateDocument>,
    /// `defaultLifetimeInMinutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lifetime_in_minutes: Option<u32>,
    /// `defaultLength`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_length: Option<u32>,
    /// `minimumLifetimeInMinutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_lifetime_in_minutes: Option<u32>,
    /// `maximumLifetimeInMinutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_lifetime_in_minutes: Option<u32>,
    /// `isUsableOnce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_usable_once: Option<bool>,
    /// `includeTargets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_targets: Option<Vec<TargetDocument>>,
    /// `excludeTargets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_targets: Option<Vec<TargetDocument>>,
}

fn field_of(error: PolicyError) -> &'static str {
    match error {
        PolicyError::MinimumLifetimeOutOfRange { .. } => "minimumLifetimeInMinutes",
        PolicyError::MaximumLifetimeOutOfRange { .. } => "maximumLifetimeInMinutes",
        PolicyError::LengthOutOfRange { .. } => "defaultLength",
        PolicyError::DefaultLifetimeOutOfRange { .. }
        | PolicyError::DefaultBelowMinimum { .. }
        | PolicyError::DefaultAboveMaximum { .. } => "defaultLifetimeInMinutes",
    }
}

fn include_of(index: usize, t: &TargetDocument) -> Result<IncludeTarget, GraphError> {
    let bad = |error| GraphError::InvalidTargetId {
        field: "includeTargets",
        index,
        error,
    };
    Ok(match t.target_type {
        TargetType::Group if t.id == ALL_USERS => IncludeTarget::AllUsers,
        TargetType::Group => IncludeTarget::Group(GroupId::new(&t.id).map_err(bad)?),
        TargetType::User => IncludeTarget::User(UserId::new(&t.id).map_err(bad)?),
    })
}

fn exclude_of(index: usize, t: &TargetDocument) -> Result<ExcludeTarget, GraphError> {
    let bad = |error| GraphError::InvalidTargetId {
        field: "excludeTargets",
        index,
        error,
    };
    Ok(match t.target_type {
        TargetType::Group if t.id == ALL_USERS => {
            return Err(GraphError::ExcludedAllUsers { index });
        }
        TargetType::Group => ExcludeTarget::Group(GroupId::new(&t.id).map_err(bad)?),
        TargetType::User => ExcludeTarget::User(UserId::new(&t.id).map_err(bad)?),
    })
}

fn target_doc(target_type: TargetType, id: &str) -> TargetDocument {
    TargetDocument {
        target_type,
        id: id.to_string(),
        is_registration_required: Some(false),
    }
}

impl PolicyDocument {
    /// Applies this document to `base` (PATCH semantics: absent fields keep their values) and
    /// returns the settings, still to be validated (by [`Policy::new`] or [`Policy::change`]).
    ///
    /// # Errors
    ///
    /// [`GraphError`] for a wrong `@odata.type` or an invalid target.
    pub fn apply_to(&self, base: PolicySettings) -> Result<PolicySettings, GraphError> {
        if let Some(found) = self
            .odata_type
            .as_deref()
            .filter(|t| *t != POLICY_ODATA_TYPE)
        {
            return Err(GraphError::WrongODataType {
                expected: POLICY_ODATA_TYPE,
                found: found.to_string(),
            });
        }
        let mut s = base;
        if let Some(state) = self.state {
            s.state = match state {
                StateDocument::Enabled => PolicyState::Enabled,
                StateDocument::Disabled => PolicyState::Disabled,
            };
        }
        if let Some(v) = self.default_lifetime_in_minutes {
            s.default_lifetime_minutes = v;
        }
        if let Some(v) = self.minimum_lifetime_in_minutes {
            s.minimum_lifetime_minutes = v;
        }
        if let Some(v) = self.maximum_lifetime_in_minutes {
            s.maximum_lifetime_minutes = v;
        }
        if let Some(v) = self.default_length {
            s.default_length = v;
        }
        if let Some(v) = self.is_usable_once {
            s.is_usable_once = v;
        }
        if let Some(targets) = &self.include_targets {
            s.include_targets = targets
                .iter()
                .enumerate()
                .map(|(i, t)| include_of(i, t))
                .collect::<Result<_, _>>()?;
        }
        if let Some(targets) = &self.exclude_targets {
            s.exclude_targets = targets
                .iter()
                .enumerate()
                .map(|(i, t)| exclude_of(i, t))
                .collect::<Result<_, _>>()?;
        }
        Ok(s)
    }

    /// The policy this document describes, absent fields taking the seed's defaults
    /// (SPEC 1.2), validated.
    ///
    /// # Errors
    ///
    /// [`GraphError`] naming the field that breaks a rule.
    pub fn to_policy(&self) -> Result<Policy, GraphError> {
        let settings = self.apply_to(PolicySettings::default())?;
        Policy::new(settings).map_err(|error| GraphError::InvalidPolicy {
            field: field_of(error),
            error,
        })
    }
}

impl From<&Policy> for PolicyDocument {
    fn from(p: &Policy) -> Self {
        Self {
            odata_type: Some(POLICY_ODATA_TYPE.to_string()),
            id: Some(POLICY_ID.to_string()),
            state: Some(if p.is_enabled() {
                StateDocument::Enabled
            } else {
                StateDocument::Disabled
            }),
            default_lifetime_in_minutes: Some(p.default_lifetime().minutes()),
            default_length: u32::try_from(p.default_length().get()).ok(),
            minimum_lifetime_in_minutes: Some(p.minimum_lifetime().minutes()),
            maximum_lifetime_in_minutes: Some(p.maximum_lifetime().minutes()),
            is_usable_once: Some(p.is_usable_once()),
            include_targets: Some(
                p.include_targets()
                    .iter()
                    .map(|t| match t {
                        IncludeTarget::User(u) => target_doc(TargetType::User, u.as_str()),
                        IncludeTarget::Group(g) => target_doc(TargetType::Group, g.as_str()),
                        IncludeTarget::AllUsers => target_doc(TargetType::Group, ALL_USERS),
                    })
                    .collect(),
            ),
            exclude_targets: Some(
                p.exclude_targets()
                    .iter()
                    .map(|t| {
                        let mut doc = match t {
                            ExcludeTarget::User(u) => target_doc(TargetType::User, u.as_str()),
                            ExcludeTarget::Group(g) => target_doc(TargetType::Group, g.as_str()),
                        };
                        doc.is_registration_required = None;
                        doc
                    })
                    .collect(),
            ),
        }
    }
}

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PolicyDocument::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PolicyDocument::deserialize(deserializer)?
            .to_policy()
            .map_err(D::Error::custom)
    }
}

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
    #[serde(with = "rfc3339")]
    pub created_date_time: UtcDateTime,
    /// `startDateTime`.
    #[serde(with = "rfc3339")]
    pub start_date_time: UtcDateTime,
    /// `lifetimeInMinutes`.
    pub lifetime_in_minutes: Lifetime,
    /// `isUsableOnce`.
    pub is_usable_once: bool,
    /// `isUsable`.
    pub is_usable: bool,
    /// `methodUsabilityReason`.
    pub method_usability_reason: MethodUsabilityReason,
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
        }
    }
}

impl PassDocument {
    /// The creation response: the view plus the code, which this document takes over. This is
    /// the only document that serializes a code (SPEC 6.3).
    #[must_use]
    pub fn creation_response(created: CreatedPass) -> Self {
        let CreatedPass { passcode, view } = created;
        let mut doc = Self::from(&view);
        doc.temporary_access_pass = Some(passcode);
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

/// RFC 3339 for [`UtcDateTime`]: any offset in, UTC out, nanoseconds kept.
pub mod rfc3339 {
    use alloc::string::String;

    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, UtcDateTime};

    /// Parses an RFC 3339 time with any offset and normalizes it to UTC.
    ///
    /// # Errors
    ///
    /// A message saying what was wrong, when the text is not RFC 3339 or its instant is not
    /// representable in UTC.
    pub fn parse(text: &str) -> Result<UtcDateTime, String> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| alloc::format!("{text:?} is not an RFC 3339 date-time: {e}"))?;
        parsed
            .checked_to_utc()
            .ok_or_else(|| alloc::format!("{text:?} is out of range once converted to UTC"))
    }

    /// Serializes as RFC 3339 in UTC (`...Z`).
    ///
    /// # Errors
    ///
    /// The serializer's error, or a formatting error for years beyond 9999.
    pub fn serialize<S: Serializer>(t: &UtcDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(S::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Deserializes RFC 3339 with any offset, normalized to UTC.
    ///
    /// # Errors
    ///
    /// The deserializer's error, or a message naming the bad text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UtcDateTime, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(D::Error::custom)
    }

    /// The same for optional times (`null` or absent is `None`).
    pub mod option {
        use alloc::string::String;

        use serde::de::Error as _;
        use serde::{Deserialize, Deserializer, Serializer};
        use time::UtcDateTime;

        /// Serializes `Some` as RFC 3339, `None` as null.
        ///
        /// # Errors
        ///
        /// As [`super::serialize`].
        pub fn serialize<S: Serializer>(t: &Option<UtcDateTime>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        /// Deserializes null as `None`, text as RFC 3339.
        ///
        /// # Errors
        ///
        /// As [`super::deserialize`].
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<UtcDateTime>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| super::parse(&text).map_err(D::Error::custom))
                .transpose()
        }
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

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Group => "group",
        })
    }
}
