//! Audit events as Microsoft Graph's `directoryAudit` resources (SPEC 7.4), and the list
//! response of `GET /auditLogs/directoryAudits`.
//!
//! Each event of a store's outbox ([`Recorded`]) becomes one document, worded as Microsoft
//! Entra words its own audit entries where it has one for the activity:
//!
//! | event | `activityDisplayName` | `category` | `loggedByService` | `operationType` | `result` |
//! |---|---|---|---|---|---|
//! | `PassIssued` | Admin registered security info | `UserManagement` | Authentication Methods | Add | success |
//! | `PassReplaced` | Admin deleted security info | `UserManagement` | Authentication Methods | Delete | success |
//! | `PassDeleted` | Admin (or User) deleted security info | `UserManagement` | Authentication Methods | Delete | success |
//! | `SessionsRevoked` | Invalidate all refresh tokens for user | `UserManagement` | Core Directory | Update | success |
//! | `PolicyChanged` | Authentication Methods Policy Update | `ApplicationManagement` | Authentication Methods | Update | success |
//! | `SignInSucceeded` | Sign in with temporary access pass | `UserManagement` | Authentication Methods | Update | success |
//! | `SignInFailed` | Sign in with temporary access pass | `UserManagement` | Authentication Methods | Update | failure |
//! | `PassLocked` | Temporary access pass locked | `UserManagement` | Authentication Methods | Update | success |
//! | `PassOffered`, `PassNotOffered` | Offer temporary access pass | `UserManagement` | Authentication Methods | Update | success, failure |
//! | `MethodRegistered` | User registered security info (through a pass), Admin registered security info (provisioned) | `UserManagement` | Authentication Methods | Add | success |
//! | `MethodDeleted` | Admin (or User) deleted security info | `UserManagement` | Authentication Methods | Delete | success |
//! | `MethodBlocked` | Fido2 method blocked | `UserManagement` | Authentication Methods | Update | failure |
//!
//! `resultReason` says what happened in words (a creation: "Admin registered temporary access
//! pass method for user", as Entra writes it). `initiatedBy.user` is who acted (the
//! administrator, or the user signing in); `targetResources` holds the user (`type` "User"), or
//! the policy (`type` "Policy") for a policy change; `additionalDetails` holds the pass id, its
//! window, lifetime and one-time flag where the event has them, and a method's type (`Fido2`)
//! and id. No document holds a code or a digest: events never do. Entra writes no entry of its
//! own for a key refused as a possible clone: `Fido2 method blocked` is this crate's wording.
//!
//! `id` is a GUID (version 8, RFC 9562's custom layout) that carries the event's number in its
//! last 62 bits, so it is unique and stable; `correlationId` is the pass id, so the events of a
//! pass's life correlate.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use time::UtcDateTime;

use super::rfc3339;
use crate::event::Event;
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::method::{MethodId, MethodOrigin};
use crate::store::{Recorded, Sequence};

mod entry;

use entry::{entry, user};

/// `directoryAudit`: one audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DirectoryAudit {
    /// A GUID, unique per entry.
    pub id: String,
    /// The resource category targeted (`UserManagement`, `ApplicationManagement`...).
    pub category: String,
    /// A GUID correlating entries of one flow: here, the pass id.
    pub correlation_id: Option<String>,
    /// `success`, `failure`, `timeout` or `unknownFutureValue`.
    pub result: String,
    /// Why, in words.
    pub result_reason: String,
    /// The activity's name.
    pub activity_display_name: String,
    /// When, in UTC.
    #[serde(with = "rfc3339")]
    pub activity_date_time: UtcDateTime,
    /// The service that logged it.
    pub logged_by_service: String,
    /// `Add`, `Assign`, `Update`, `Unassign` or `Delete`. (One of Graph's own samples leaves
    /// it out; it is then read as empty.)
    #[serde(default)]
    pub operation_type: String,
    /// Who acted.
    pub initiated_by: AuditActivityInitiator,
    /// What was acted on.
    pub target_resources: Vec<TargetResource>,
    /// Details as key and value.
    pub additional_details: Vec<KeyValue>,
}

/// `auditActivityInitiator`: a user or an app.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditActivityInitiator {
    /// The user who acted, if a user did.
    pub user: Option<UserIdentity>,
    /// The app that acted, if an app did.
    pub app: Option<AppIdentity>,
}

/// `userIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserIdentity {
    /// The user's id.
    pub id: Option<String>,
    /// The user's display name.
    pub display_name: Option<String>,
    /// The user's principal name.
    pub user_principal_name: Option<String>,
    /// The address the activity came from.
    pub ip_address: Option<String>,
}

/// `appIdentity`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AppIdentity {
    /// The app's id.
    pub app_id: Option<String>,
    /// The app's display name.
    pub display_name: Option<String>,
    /// Its service principal's id.
    pub service_principal_id: Option<String>,
    /// Its service principal's name.
    pub service_principal_name: Option<String>,
}

/// `targetResource`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TargetResource {
    /// The resource's id.
    pub id: Option<String>,
    /// Its display name.
    pub display_name: Option<String>,
    /// `User`, `Device`, `Directory`, `App`, `Role`, `Group`, `Policy` or `Other`. (One of
    /// Graph's own samples spells the key `Type`; both are read.)
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
    /// The user principal name, for a user.
    pub user_principal_name: Option<String>,
    /// The group type, for a group.
    pub group_type: Option<String>,
    /// The properties the activity changed.
    #[serde(default)]
    pub modified_properties: Vec<ModifiedProperty>,
}

/// `modifiedProperty`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModifiedProperty {
    /// The property's name.
    pub display_name: Option<String>,
    /// Its value before.
    pub old_value: Option<String>,
    /// Its value after.
    pub new_value: Option<String>,
}

/// `keyValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl KeyValue {
    /// A pair.
    #[must_use]
    pub fn new(key: &str, value: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            value: value.into(),
        }
    }
}

/// The response of `GET /auditLogs/directoryAudits`: a page of entries, and the link to the
/// next page when there may be one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectoryAuditList {
    /// `@odata.context`.
    #[serde(rename = "@odata.context")]
    pub context: String,
    /// The entries, in the order they were committed.
    pub value: Vec<DirectoryAudit>,
    /// `@odata.nextLink`: the same request for the entries after this page's last.
    #[serde(
        rename = "@odata.nextLink",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_link: Option<String>,
}

impl DirectoryAuditList {
    /// Graph's `@odata.context` for the list.
    pub const CONTEXT: &'static str =
        "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits";

    /// A page of `entries`; `next_link` when more may follow.
    #[must_use]
    pub fn new(entries: Vec<DirectoryAudit>, next_link: Option<String>) -> Self {
        Self {
            context: Self::CONTEXT.to_string(),
            value: entries,
            next_link,
        }
    }
}

/// The GUID of the entry numbered `sequence`: version 8, its last 62 bits the number.
#[must_use]
pub fn audit_id(sequence: Sequence) -> String {
    let n = sequence.get() & ((1 << 62) - 1);
    let high = (n >> 48) | 0x8000;
    format!(
        "7461702d-0000-8000-{high:04x}-{:012x}",
        n & 0xffff_ffff_ffff
    )
}

/// The number of the entry whose id is `id`, if it is one [`audit_id`] makes.
#[must_use]
pub fn audit_sequence(id: &str) -> Option<Sequence> {
    let rest = id.strip_prefix("7461702d-0000-8000-")?;
    let (high, low) = rest.split_once('-')?;
    if high.len() != 4 || low.len() != 12 {
        return None;
    }
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    (high & 0xc000 == 0x8000).then(|| Sequence::new(((high & 0x3fff) << 48) | low))
}

impl From<&Recorded> for DirectoryAudit {
    fn from(recorded: &Recorded) -> Self {
        let e = entry(&recorded.event);
        Self {
            id: audit_id(recorded.sequence),
            category: e.category.to_string(),
            correlation_id: e.pass.map(|p| p.to_string()),
            result: if e.success { "success" } else { "failure" }.to_string(),
            result_reason: e.reason,
            activity_display_name: e.activity.to_string(),
            activity_date_time: e.at,
            logged_by_service: e.service.to_string(),
            operation_type: e.operation.to_string(),
            initiated_by: match &e.by {
                Initiator::Application(app) => AuditActivityInitiator {
                    user: None,
                    app: Some(AppIdentity {
                        app_id: Some(app.as_str().to_string()),
                        ..AppIdentity::default()
                    }),
                },
                Initiator::User(id) => AuditActivityInitiator {
                    user: Some(user(id)),
                    app: None,
                },
            },
            target_resources: vec![e.target],
            additional_details: e.details,
        }
    }
}
