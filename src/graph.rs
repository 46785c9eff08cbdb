//! Microsoft Graph's JSON shapes, and the record's storage form (feature `serde`, SPEC 7.3).
//! Every serde implementation of the crate lives here.
//!
//! - [`PolicyDocument`] is `temporaryAccessPassAuthenticationMethodConfiguration`, for a full
//!   document (GET) and for a partial update (PATCH: absent fields keep their values).
//!   [`Policy`](crate::Policy) itself serializes to and deserializes from this shape, and
//!   decoding validates: JSON describing an invalid policy is an error naming the field, never a
//!   `Policy` that breaks its invariants.
//! - [`PassDocument`] is `temporaryAccessPassAuthenticationMethod`, with `temporaryAccessPass`
//!   null except in the creation response ([`PassDocument::creation_response`]), and
//!   [`PassList`] the list response.
//! - [`CreateRequest`](crate::CreateRequest) is the creation request body.
//! - [`TemporaryAccessPass`](crate::TemporaryAccessPass) has a strict storage form (ids, times,
//!   counters, the digest scheme, salt and digest in hex; never the code), and
//!   [`Versioned`](crate::store::Versioned) values carry their version.
//! - [`Event`](crate::Event) has a strict storage form, the one a store's outbox keeps
//!   (`{"event": "passIssued", ...}`, instants exact to the nanosecond; never a code), and
//!   each event of an outbox reads as Graph's [`DirectoryAudit`] (SPEC 7.4), listed in a
//!   [`DirectoryAuditList`].
//!
//! Times are RFC 3339: any offset is accepted and normalized to UTC. Output is in UTC with a
//! `Z` and at most 7 fractional digits, Graph's 100 ns precision ([`rfc3339`]). Unknown fields
//! of Graph documents are ignored, as Graph adds fields over time.
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
//! assert!(err.to_string().starts_with("defaultLength: passcode length is 4: allowed 8..=48"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use alloc::string::String;

use crate::ids::IdError;
use crate::policy::PolicyError;

mod audit;
mod client;
mod event;
mod ids;
mod method;
mod pass;
mod policy;
mod record;
pub mod rfc3339;

pub use audit::{
    AppIdentity, AuditActivityInitiator, DirectoryAudit, DirectoryAuditList, KeyValue,
    ModifiedProperty, TargetResource, UserIdentity, audit_id, audit_sequence,
};
pub use client::ClientDocument;
pub use method::{Fido2MethodDocument, guid};
pub use pass::{MethodUsabilityReason, PassDocument, PassList};
pub use policy::{PolicyDocument, StateDocument, TargetDocument, TargetType};

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
