//! What a host answers, in terms both the host and the model give.

use alloc::string::String;
use core::fmt;

use time::UtcDateTime;

use crate::ids::PassId;
use crate::passcode::Passcode;
use crate::signin::{NotOffered, RedeemRefusal};
use crate::usability::Usability;

/// Why a policy change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyRefusal {
    /// The actor may not change the policy (SPEC 1.5).
    Forbidden,
    /// The settings break a rule of SPEC 1.3.
    Invalid,
}

/// Why a creation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateRefusal {
    /// The actor may not (SPEC 3).
    Forbidden,
    /// The target holds a valid pass (SPEC 2.7).
    AlreadyHasValidPass,
    /// The lifetime is out of the policy's range (SPEC 2.2).
    LifetimeOutOfRange,
    /// The start is in the past (SPEC 2.4).
    StartInPast,
    /// The end is beyond time's range (SPEC 2.4).
    EndOutOfRange,
    /// Any other refusal (the target out of scope, with the later product's opt-in).
    Other,
}

/// The actor may not view or delete this pass (SPEC 3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden;

/// Why a registration was refused (SPEC 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterRefusal {
    /// The user has not signed in with a pass.
    NoSignIn,
    /// The window is closed.
    WindowClosed,
    /// The pass behind the sign-in is gone.
    PassRemoved,
}

/// Why a key was not registered, provisioned or used (SPEC 8.1, 8.4-8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRefusal {
    /// The user has no registration session (never opened, or ended with its pass).
    NoSession,
    /// The session's window is closed.
    WindowClosed,
    /// The pass behind the session is gone.
    PassRemoved,
    /// The actor may not provision a key for this user.
    Forbidden,
    /// The user holds as many keys as allowed.
    TooMany,
    /// The user has no key to sign in with.
    NoKey,
}

/// A pass created: what the creation answers. The code is compared by its length and alphabet
/// (it is random); the driver keeps it to type it later.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Issued {
    /// The pass id.
    pub pass: PassId,
    /// The code, shown once.
    pub code: String,
    /// The start.
    pub start: UtcDateTime,
    /// The end (excluded).
    pub end: UtcDateTime,
    /// One-time or not.
    pub once: bool,
    /// The code's length, in characters.
    pub code_length: u32,
    /// Whether creating it revoked the user's sessions (replacing a valid pass).
    pub revoked_sessions: bool,
}

impl Issued {
    /// What a host created: `pass`, `code` and the window.
    #[must_use]
    pub fn new(
        pass: PassId,
        code: &str,
        start: UtcDateTime,
        end: UtcDateTime,
        once: bool,
        revoked_sessions: bool,
    ) -> Self {
        let readable = code.bytes().all(|b| Passcode::ALPHABET.contains(&b));
        Self {
            pass,
            code: code.into(),
            start,
            end,
            once,
            // A character outside the alphabet makes the length count as 0, which no policy
            // allows: the mismatch shows.
            code_length: if readable {
                u32::try_from(code.len()).unwrap_or(u32::MAX)
            } else {
                0
            },
            revoked_sessions,
        }
    }
}

/// A pass as a view shows it (SPEC 7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Viewed {
    /// The pass id.
    pub pass: PassId,
    /// The start.
    pub start: UtcDateTime,
    /// The end.
    pub end: UtcDateTime,
    /// One-time or not.
    pub once: bool,
    /// Its usability now, for its holder.
    pub usability: Usability,
}

impl Viewed {
    /// A view.
    #[must_use]
    pub const fn new(
        pass: PassId,
        start: UtcDateTime,
        end: UtcDateTime,
        once: bool,
        usability: Usability,
    ) -> Self {
        Self {
            pass,
            start,
            end,
            once,
            usability,
        }
    }
}

/// A pass deleted (SPEC 5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Removed {
    /// The pass.
    pub pass: PassId,
    /// Whether the user's sessions were revoked (it was still valid).
    pub revoked_sessions: bool,
}

impl Removed {
    /// A deletion.
    #[must_use]
    pub const fn new(pass: PassId, revoked_sessions: bool) -> Self {
        Self {
            pass,
            revoked_sessions,
        }
    }
}

/// A sign-in granted (SPEC 5.3, 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Granted {
    /// With which pass.
    pub pass: PassId,
    /// Whether it was one-time.
    pub once: bool,
    /// Registration is allowed until then, excluded.
    pub registration_until: UtcDateTime,
}

impl Granted {
    /// A grant.
    #[must_use]
    pub const fn new(pass: PassId, once: bool, registration_until: UtcDateTime) -> Self {
        Self {
            pass,
            once,
            registration_until,
        }
    }
}

/// What an operation answered, host or model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// [`super::Op::SetPolicy`].
    Policy(Result<(), PolicyRefusal>),
    /// [`super::Op::Create`].
    Create(Result<Issued, CreateRefusal>),
    /// [`super::Op::View`].
    View(Result<Option<Viewed>, Forbidden>),
    /// [`super::Op::Delete`].
    Delete(Result<Option<Removed>, Forbidden>),
    /// [`super::Op::Offer`].
    Offer(Result<(), NotOffered>),
    /// [`super::Op::Redeem`].
    Redeem(Result<Granted, RedeemRefusal>),
    /// [`super::Op::Register`].
    Register(Result<(), RegisterRefusal>),
    /// [`super::Op::OpenSession`].
    Session(Result<(), RegisterRefusal>),
    /// [`super::Op::RegisterKey`], [`super::Op::ProvisionKey`], [`super::Op::UseKey`].
    Key(Result<(), KeyRefusal>),
    /// [`super::Op::ListKeys`]: how many keys.
    Keys(Result<usize, Forbidden>),
    /// [`super::Op::DeleteKey`]: whether a key was deleted.
    KeyDeleted(Result<bool, Forbidden>),
    /// [`super::Op::Wait`].
    Waited,
}

impl Answer {
    /// Whether `self` (the host's) agrees with `model`: equal, except that a created pass's
    /// code is judged by its length and alphabet alone.
    #[must_use]
    pub fn agrees_with(&self, model: &Self) -> bool {
        match (self, model) {
            (Self::Create(Ok(host)), Self::Create(Ok(model))) => {
                Issued {
                    code: String::new(),
                    ..host.clone()
                } == Issued {
                    code: String::new(),
                    ..model.clone()
                }
            }
            _ => self == model,
        }
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Create(Ok(issued)) => write!(
                f,
                "Create(Ok(pass {}, {}..{}, once {}, {}-character code{}))",
                issued.pass,
                issued.start,
                issued.end,
                issued.once,
                issued.code_length,
                if issued.revoked_sessions {
                    ", sessions revoked"
                } else {
                    ""
                }
            ),
            other => write!(f, "{other:?}"),
        }
    }
}
