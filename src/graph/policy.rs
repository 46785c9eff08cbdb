//! The policy's Graph shape: `temporaryAccessPassAuthenticationMethodConfiguration`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ALL_USERS, GraphError, POLICY_ID, POLICY_ODATA_TYPE};
use crate::ids::{GroupId, UserId};
use crate::policy::{
    ExcludeTarget, IncludeTarget, Policy, PolicyError, PolicySettings, PolicyState,
};

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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub is_registration_required: Option<bool>,
}

/// `temporaryAccessPassAuthenticationMethodConfiguration`. Every field is optional so the same
/// type reads a full document and a PATCH body; a field given is never `null` (leave it out
/// instead), and a number of minutes or characters is whole, written `60` or `60.0`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PolicyDocument {
    /// `#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration`.
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub odata_type: Option<String>,
    /// `TemporaryAccessPass`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub id: Option<String>,
    /// `enabled` or `disabled`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub state: Option<StateDocument>,
    /// `defaultLifetimeInMinutes`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::whole::option"
    )]
    pub default_lifetime_in_minutes: Option<u32>,
    /// `defaultLength`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::whole::option"
    )]
    pub default_length: Option<u32>,
    /// `minimumLifetimeInMinutes`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::whole::option"
    )]
    pub minimum_lifetime_in_minutes: Option<u32>,
    /// `maximumLifetimeInMinutes`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::whole::option"
    )]
    pub maximum_lifetime_in_minutes: Option<u32>,
    /// `isUsableOnce`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub is_usable_once: Option<bool>,
    /// `includeTargets`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub include_targets: Option<Vec<TargetDocument>>,
    /// `excludeTargets`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::ids::present"
    )]
    pub exclude_targets: Option<Vec<TargetDocument>>,
}

/// The JSON field a policy error is about. Every variant is named: one added later must say
/// its field here.
const fn field_of(error: PolicyError) -> &'static str {
    match error {
        PolicyError::MinimumLifetime(_) | PolicyError::MinimumAboveMaximum { .. } => {
            "minimumLifetimeInMinutes"
        }
        PolicyError::MaximumLifetime(_) => "maximumLifetimeInMinutes",
        PolicyError::DefaultLength(_) => "defaultLength",
        PolicyError::DefaultLifetime(_)
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
    /// returns the settings, still to be validated (by [`Policy::new`] or
    /// [`update_policy`](crate::policy::update_policy)).
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

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::User => "user",
            Self::Group => "group",
        })
    }
}
