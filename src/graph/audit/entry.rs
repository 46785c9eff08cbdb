//! What each event says as an audit entry: the activity, category, service, operation and
//! result of the module's table, the reason in words, who acted, the target and the details.

use super::{
    Event, KeyValue, MethodId, MethodOrigin, PassId, String, TargetResource, ToString, UserId,
    UserIdentity, UtcDateTime, Vec, format, rfc3339, vec,
};
use crate::grant::Initiator;
use crate::graph::POLICY_ID;

/// An instant as Graph writes it; beyond year 9999, which no pass reaches, as `time` does.
fn when(t: UtcDateTime) -> String {
    rfc3339::format(t).unwrap_or_else(|_| t.to_string())
}

pub(super) fn user(id: &UserId) -> UserIdentity {
    UserIdentity {
        id: Some(id.as_str().to_string()),
        display_name: None,
        user_principal_name: Some(id.as_str().to_string()),
        ip_address: None,
    }
}

fn target_user(id: &UserId) -> TargetResource {
    TargetResource {
        id: Some(id.as_str().to_string()),
        display_name: None,
        kind: Some("User".to_string()),
        user_principal_name: Some(id.as_str().to_string()),
        group_type: None,
        modified_properties: Vec::new(),
    }
}

/// What differs from one event to the next; the rest is the same for every entry.
pub(super) struct Entry {
    pub(super) activity: &'static str,
    pub(super) category: &'static str,
    pub(super) service: &'static str,
    pub(super) operation: &'static str,
    pub(super) success: bool,
    pub(super) reason: String,
    pub(super) at: UtcDateTime,
    pub(super) by: Initiator,
    pub(super) target: TargetResource,
    pub(super) pass: Option<PassId>,
    pub(super) details: Vec<KeyValue>,
}

const METHODS: &str = "Authentication Methods";

/// A method's type and id, for `additionalDetails` (SPEC 7.4).
fn method_details(method: &MethodId) -> Vec<KeyValue> {
    vec![
        KeyValue::new("methodType", "Fido2"),
        KeyValue::new("methodId", method.as_str()),
    ]
}
const USERS: &str = "UserManagement";

#[expect(
    clippy::too_many_lines,
    reason = "one arm per event, each a row of the module's table"
)]
pub(super) fn entry(event: &Event) -> Entry {
    let pass_details =
        |pass: &PassId| vec![KeyValue::new("temporaryAccessPassId", pass.to_string())];
    match event {
        Event::PassIssued {
            pass,
            user,
            by,
            at,
            start,
            end,
            is_usable_once,
        } => Entry {
            activity: "Admin registered security info",
            category: USERS,
            service: METHODS,
            operation: "Add",
            success: true,
            reason: "Admin registered temporary access pass method for user".to_string(),
            at: *at,
            by: by.clone(),
            target: target_user(user),
            pass: Some(*pass),
            details: {
                let lifetime = end
                    .unix_timestamp()
                    .checked_sub(start.unix_timestamp())
                    .and_then(|seconds| seconds.checked_div(60))
                    .unwrap_or(0);
                let mut d = pass_details(pass);
                d.push(KeyValue::new("startDateTime", when(*start)));
                d.push(KeyValue::new("lifetimeInMinutes", lifetime.to_string()));
                d.push(KeyValue::new("isUsableOnce", is_usable_once.to_string()));
                d
            },
        },
        Event::PassReplaced {
            old,
            new,
            user,
            at,
            old_was_valid,
        } => Entry {
            activity: "Admin deleted security info",
            category: USERS,
            service: METHODS,
            operation: "Delete",
            success: true,
            reason: if *old_was_valid {
                "Admin replaced the valid temporary access pass method for user".to_string()
            } else {
                "Admin replaced the expired temporary access pass method for user".to_string()
            },
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: Some(*old),
            details: {
                let mut d = pass_details(old);
                d.push(KeyValue::new("replacedBy", new.to_string()));
                d
            },
        },
        Event::PassDeleted {
            pass,
            user,
            by,
            at,
            was_valid,
        } => {
            let own = by.is(user);
            Entry {
                activity: if own {
                    "User deleted security info"
                } else {
                    "Admin deleted security info"
                },
                category: USERS,
                service: METHODS,
                operation: "Delete",
                success: true,
                reason: if own {
                    "User deleted temporary access pass method".to_string()
                } else {
                    "Admin deleted temporary access pass method for user".to_string()
                },
                at: *at,
                by: by.clone(),
                target: target_user(user),
                pass: Some(*pass),
                details: {
                    let mut d = pass_details(pass);
                    d.push(KeyValue::new("wasValid", was_valid.to_string()));
                    d
                },
            }
        }
        Event::SessionsRevoked { user, pass, at } => Entry {
            activity: "Invalidate all refresh tokens for user",
            category: USERS,
            service: "Core Directory",
            operation: "Update",
            success: true,
            reason: "Sessions revoked: a valid temporary access pass was removed".to_string(),
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: Some(*pass),
            details: pass_details(pass),
        },
        Event::PolicyChanged { by, at, enabled } => Entry {
            activity: "Authentication Methods Policy Update",
            category: "ApplicationManagement",
            service: METHODS,
            operation: "Update",
            success: true,
            reason: format!(
                "Temporary Access Pass policy updated: {}",
                if *enabled { "enabled" } else { "disabled" }
            ),
            at: *at,
            by: by.clone(),
            target: TargetResource {
                id: Some(POLICY_ID.to_string()),
                display_name: Some("Temporary Access Pass".to_string()),
                kind: Some("Policy".to_string()),
                ..TargetResource::default()
            },
            pass: None,
            details: vec![KeyValue::new(
                "state",
                if *enabled { "enabled" } else { "disabled" },
            )],
        },
        Event::SignInSucceeded {
            user,
            pass,
            is_usable_once,
            at,
        } => Entry {
            activity: "Sign in with temporary access pass",
            category: USERS,
            service: METHODS,
            operation: "Update",
            success: true,
            reason: if *is_usable_once {
                "User signed in with a one-time temporary access pass, now used".to_string()
            } else {
                "User signed in with temporary access pass".to_string()
            },
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: Some(*pass),
            details: {
                let mut d = pass_details(pass);
                d.push(KeyValue::new("isUsableOnce", is_usable_once.to_string()));
                d
            },
        },
        Event::SignInFailed {
            user,
            pass,
            reason,
            at,
        } => Entry {
            activity: "Sign in with temporary access pass",
            category: USERS,
            service: METHODS,
            operation: "Update",
            success: false,
            reason: reason.to_string(),
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: *pass,
            details: pass.as_ref().map_or_else(Vec::new, pass_details),
        },
        Event::PassLocked {
            user,
            pass,
            until,
            failed_attempts,
            at,
        } => Entry {
            activity: "Temporary access pass locked",
            category: USERS,
            service: METHODS,
            operation: "Update",
            success: true,
            reason: format!(
                "Locked after {failed_attempts} consecutive wrong codes, until {}",
                when(*until)
            ),
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: Some(*pass),
            details: {
                let mut d = pass_details(pass);
                d.push(KeyValue::new("lockedUntil", when(*until)));
                d.push(KeyValue::new("failedAttempts", failed_attempts.to_string()));
                d
            },
        },
        Event::PassOffered { user, pass, at } => Entry {
            activity: "Offer temporary access pass",
            category: USERS,
            service: METHODS,
            operation: "Update",
            success: true,
            reason: "The sign-in page offered the temporary access pass".to_string(),
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: *pass,
            details: pass.as_ref().map_or_else(Vec::new, pass_details),
        },
        Event::PassNotOffered { user, reason, at } => Entry {
            activity: "Offer temporary access pass",
            category: USERS,
            service: METHODS,
            operation: "Update",
            success: false,
            reason: reason.to_string(),
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: None,
            details: Vec::new(),
        },
        Event::MethodRegistered {
            user,
            method,
            origin,
            at,
        } => {
            let (activity, reason, by, pass) = match origin {
                MethodOrigin::ThroughPass(pass) => (
                    "User registered security info",
                    "User registered Fido2 method",
                    user.clone().into(),
                    Some(*pass),
                ),
                MethodOrigin::ByAdministrator(by) => (
                    "Admin registered security info",
                    "Admin registered Fido2 method for user",
                    by.clone(),
                    None,
                ),
            };
            let mut details = method_details(method);
            if let Some(pass) = pass {
                details.push(KeyValue::new("temporaryAccessPassId", pass.to_string()));
            }
            Entry {
                activity,
                category: USERS,
                service: METHODS,
                operation: "Add",
                success: true,
                reason: reason.to_string(),
                at: *at,
                by,
                target: target_user(user),
                pass,
                details,
            }
        }
        Event::MethodDeleted {
            user,
            method,
            by,
            at,
        } => {
            let own = by.is(user);
            Entry {
                activity: if own {
                    "User deleted security info"
                } else {
                    "Admin deleted security info"
                },
                category: USERS,
                service: METHODS,
                operation: "Delete",
                success: true,
                reason: if own {
                    "User deleted Fido2 method".to_string()
                } else {
                    "Admin deleted Fido2 method for user".to_string()
                },
                at: *at,
                by: by.clone(),
                target: target_user(user),
                pass: None,
                details: method_details(method),
            }
        }
        Event::MethodBlocked { user, method, at } => Entry {
            activity: "Fido2 method blocked",
            category: USERS,
            service: METHODS,
            operation: "Update",
            success: false,
            reason: "Fido2 sign-in refused as a possible clone: the key's signature counter did not move forward; the key is blocked".to_string(),
            at: *at,
            by: user.clone().into(),
            target: target_user(user),
            pass: None,
            details: method_details(method),
        },
    }
}
