//! The storage form of an audit event, as a store's outbox keeps it (SPEC 7.1): strict
//! (unknown fields refused), tagged by the event's name, every instant exact to the
//! nanosecond. Events never hold a code or a digest, so neither does this form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::UtcDateTime;

use super::client::ClientDocument;
use super::method::OriginDocument;
use super::record::exact;
use crate::event::Event;
use crate::grant::Initiator;
use crate::ids::{PassId, UserId};
use crate::method::MethodId;
use crate::signin::{NotOffered, RedeemRefusal};
use crate::usability::{BlockCause, Usability};

#[derive(Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum EventDocument {
    PolicyChanged {
        by: Initiator,
        #[serde(with = "exact")]
        at: UtcDateTime,
        enabled: bool,
    },
    PassIssued {
        pass: PassId,
        user: UserId,
        by: Initiator,
        #[serde(with = "exact")]
        at: UtcDateTime,
        #[serde(with = "exact")]
        start: UtcDateTime,
        #[serde(with = "exact")]
        end: UtcDateTime,
        is_usable_once: bool,
    },
    PassReplaced {
        old: PassId,
        new: PassId,
        user: UserId,
        #[serde(with = "exact")]
        at: UtcDateTime,
        old_was_valid: bool,
    },
    PassDeleted {
        pass: PassId,
        user: UserId,
        by: Initiator,
        #[serde(with = "exact")]
        at: UtcDateTime,
        was_valid: bool,
    },
    SessionsRevoked {
        user: UserId,
        pass: PassId,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    PassOffered {
        user: UserId,
        pass: Option<PassId>,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    PassNotOffered {
        user: UserId,
        reason: NotOfferedDocument,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    SignInSucceeded {
        user: UserId,
        pass: PassId,
        is_usable_once: bool,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    SignInFailed {
        user: UserId,
        pass: Option<PassId>,
        reason: RefusalDocument,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    PassLocked {
        user: UserId,
        pass: PassId,
        #[serde(with = "exact")]
        until: UtcDateTime,
        failed_attempts: u32,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    MethodRegistered {
        user: UserId,
        method: MethodId,
        origin: OriginDocument,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    MethodDeleted {
        user: UserId,
        method: MethodId,
        by: Initiator,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    MethodBlocked {
        user: UserId,
        method: MethodId,
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(
    tag = "cause",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum CauseDocument {
    PolicyDisabled,
    NotIncluded,
    Excluded,
    MultiUseUnderOneTimePolicy,
    GuestUser,
    Locked {
        #[serde(with = "exact")]
        until: UtcDateTime,
    },
    NotTheHolder,
}

#[derive(Serialize, Deserialize)]
#[serde(
    tag = "usability",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum UsabilityDocument {
    Usable,
    NotYetValid {
        #[serde(with = "exact")]
        starts_at: UtcDateTime,
    },
    Expired {
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    OneTimeUsed {
        #[serde(with = "exact")]
        at: UtcDateTime,
    },
    PolicyBlocked {
        cause: CauseDocument,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(
    tag = "refusal",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum RefusalDocument {
    UnsupportedClient {
        client: ClientDocument,
    },
    NoPass,
    WrongCode {
        attempts_left: u32,
        #[serde(default, with = "exact::option")]
        locked_until: Option<UtcDateTime>,
    },
    Unusable {
        usability: UsabilityDocument,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(
    tag = "reason",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum NotOfferedDocument {
    UnsupportedClient { client: ClientDocument },
    NoPass,
    Unusable { usability: UsabilityDocument },
}

impl From<BlockCause> for CauseDocument {
    fn from(c: BlockCause) -> Self {
        match c {
            BlockCause::PolicyDisabled => Self::PolicyDisabled,
            BlockCause::NotIncluded => Self::NotIncluded,
            BlockCause::Excluded => Self::Excluded,
            BlockCause::MultiUseUnderOneTimePolicy => Self::MultiUseUnderOneTimePolicy,
            BlockCause::GuestUser => Self::GuestUser,
            BlockCause::Locked { until } => Self::Locked { until },
            BlockCause::NotTheHolder => Self::NotTheHolder,
        }
    }
}

impl From<CauseDocument> for BlockCause {
    fn from(c: CauseDocument) -> Self {
        match c {
            CauseDocument::PolicyDisabled => Self::PolicyDisabled,
            CauseDocument::NotIncluded => Self::NotIncluded,
            CauseDocument::Excluded => Self::Excluded,
            CauseDocument::MultiUseUnderOneTimePolicy => Self::MultiUseUnderOneTimePolicy,
            CauseDocument::GuestUser => Self::GuestUser,
            CauseDocument::Locked { until } => Self::Locked { until },
            CauseDocument::NotTheHolder => Self::NotTheHolder,
        }
    }
}

impl From<Usability> for UsabilityDocument {
    fn from(u: Usability) -> Self {
        match u {
            Usability::Usable => Self::Usable,
            Usability::NotYetValid { starts_at } => Self::NotYetValid { starts_at },
            Usability::Expired { at } => Self::Expired { at },
            Usability::OneTimeUsed { at } => Self::OneTimeUsed { at },
            Usability::PolicyBlocked(cause) => Self::PolicyBlocked {
                cause: cause.into(),
            },
        }
    }
}

impl From<UsabilityDocument> for Usability {
    fn from(u: UsabilityDocument) -> Self {
        match u {
            UsabilityDocument::Usable => Self::Usable,
            UsabilityDocument::NotYetValid { starts_at } => Self::NotYetValid { starts_at },
            UsabilityDocument::Expired { at } => Self::Expired { at },
            UsabilityDocument::OneTimeUsed { at } => Self::OneTimeUsed { at },
            UsabilityDocument::PolicyBlocked { cause } => Self::PolicyBlocked(cause.into()),
        }
    }
}

impl From<RedeemRefusal> for RefusalDocument {
    fn from(r: RedeemRefusal) -> Self {
        match r {
            RedeemRefusal::UnsupportedClient(client) => Self::UnsupportedClient {
                client: client.into(),
            },
            RedeemRefusal::NoPass => Self::NoPass,
            RedeemRefusal::WrongCode {
                attempts_left,
                locked_until,
            } => Self::WrongCode {
                attempts_left,
                locked_until,
            },
            RedeemRefusal::Unusable(u) => Self::Unusable {
                usability: u.into(),
            },
        }
    }
}

impl From<RefusalDocument> for RedeemRefusal {
    fn from(r: RefusalDocument) -> Self {
        match r {
            RefusalDocument::UnsupportedClient { client } => Self::UnsupportedClient(client.into()),
            RefusalDocument::NoPass => Self::NoPass,
            RefusalDocument::WrongCode {
                attempts_left,
                locked_until,
            } => Self::WrongCode {
                attempts_left,
                locked_until,
            },
            RefusalDocument::Unusable { usability } => Self::Unusable(usability.into()),
        }
    }
}

impl From<NotOffered> for NotOfferedDocument {
    fn from(n: NotOffered) -> Self {
        match n {
            NotOffered::UnsupportedClient(client) => Self::UnsupportedClient {
                client: client.into(),
            },
            NotOffered::NoPass => Self::NoPass,
            NotOffered::Unusable(u) => Self::Unusable {
                usability: u.into(),
            },
        }
    }
}

impl From<NotOfferedDocument> for NotOffered {
    fn from(n: NotOfferedDocument) -> Self {
        match n {
            NotOfferedDocument::UnsupportedClient { client } => {
                Self::UnsupportedClient(client.into())
            }
            NotOfferedDocument::NoPass => Self::NoPass,
            NotOfferedDocument::Unusable { usability } => Self::Unusable(usability.into()),
        }
    }
}

impl From<&Event> for EventDocument {
    #[expect(clippy::too_many_lines, reason = "one arm per event, field for field")]
    fn from(e: &Event) -> Self {
        match e.clone() {
            Event::PolicyChanged { by, at, enabled } => Self::PolicyChanged { by, at, enabled },
            Event::PassIssued {
                pass,
                user,
                by,
                at,
                start,
                end,
                is_usable_once,
            } => Self::PassIssued {
                pass,
                user,
                by,
                at,
                start,
                end,
                is_usable_once,
            },
            Event::PassReplaced {
                old,
                new,
                user,
                at,
                old_was_valid,
            } => Self::PassReplaced {
                old,
                new,
                user,
                at,
                old_was_valid,
            },
            Event::PassDeleted {
                pass,
                user,
                by,
                at,
                was_valid,
            } => Self::PassDeleted {
                pass,
                user,
                by,
                at,
                was_valid,
            },
            Event::SessionsRevoked { user, pass, at } => Self::SessionsRevoked { user, pass, at },
            Event::PassOffered { user, pass, at } => Self::PassOffered { user, pass, at },
            Event::PassNotOffered { user, reason, at } => Self::PassNotOffered {
                user,
                reason: reason.into(),
                at,
            },
            Event::SignInSucceeded {
                user,
                pass,
                is_usable_once,
                at,
            } => Self::SignInSucceeded {
                user,
                pass,
                is_usable_once,
                at,
            },
            Event::SignInFailed {
                user,
                pass,
                reason,
                at,
            } => Self::SignInFailed {
                user,
                pass,
                reason: reason.into(),
                at,
            },
            Event::PassLocked {
                user,
                pass,
                until,
                failed_attempts,
                at,
            } => Self::PassLocked {
                user,
                pass,
                until,
                failed_attempts,
                at,
            },
            Event::MethodRegistered {
                user,
                method,
                origin,
                at,
            } => Self::MethodRegistered {
                user,
                method,
                origin: origin.into(),
                at,
            },
            Event::MethodDeleted {
                user,
                method,
                by,
                at,
            } => Self::MethodDeleted {
                user,
                method,
                by,
                at,
            },
            Event::MethodBlocked { user, method, at } => Self::MethodBlocked { user, method, at },
        }
    }
}

impl From<EventDocument> for Event {
    #[expect(clippy::too_many_lines, reason = "one arm per event, field for field")]
    fn from(d: EventDocument) -> Self {
        match d {
            EventDocument::PolicyChanged { by, at, enabled } => {
                Self::PolicyChanged { by, at, enabled }
            }
            EventDocument::PassIssued {
                pass,
                user,
                by,
                at,
                start,
                end,
                is_usable_once,
            } => Self::PassIssued {
                pass,
                user,
                by,
                at,
                start,
                end,
                is_usable_once,
            },
            EventDocument::PassReplaced {
                old,
                new,
                user,
                at,
                old_was_valid,
            } => Self::PassReplaced {
                old,
                new,
                user,
                at,
                old_was_valid,
            },
            EventDocument::PassDeleted {
                pass,
                user,
                by,
                at,
                was_valid,
            } => Self::PassDeleted {
                pass,
                user,
                by,
                at,
                was_valid,
            },
            EventDocument::SessionsRevoked { user, pass, at } => {
                Self::SessionsRevoked { user, pass, at }
            }
            EventDocument::PassOffered { user, pass, at } => Self::PassOffered { user, pass, at },
            EventDocument::PassNotOffered { user, reason, at } => Self::PassNotOffered {
                user,
                reason: reason.into(),
                at,
            },
            EventDocument::SignInSucceeded {
                user,
                pass,
                is_usable_once,
                at,
            } => Self::SignInSucceeded {
                user,
                pass,
                is_usable_once,
                at,
            },
            EventDocument::SignInFailed {
                user,
                pass,
                reason,
                at,
            } => Self::SignInFailed {
                user,
                pass,
                reason: reason.into(),
                at,
            },
            EventDocument::PassLocked {
                user,
                pass,
                until,
                failed_attempts,
                at,
            } => Self::PassLocked {
                user,
                pass,
                until,
                failed_attempts,
                at,
            },
            EventDocument::MethodRegistered {
                user,
                method,
                origin,
                at,
            } => Self::MethodRegistered {
                user,
                method,
                origin: origin.into(),
                at,
            },
            EventDocument::MethodDeleted {
                user,
                method,
                by,
                at,
            } => Self::MethodDeleted {
                user,
                method,
                by,
                at,
            },
            EventDocument::MethodBlocked { user, method, at } => {
                Self::MethodBlocked { user, method, at }
            }
        }
    }
}

/// The storage form: `{"event": "passIssued", "pass": ..., "user": ..., "at": ...}`.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EventDocument::from(self).serialize(s)
    }
}

/// Strict: an unknown event name or field is refused.
impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventDocument::deserialize(d).map(Self::from)
    }
}
