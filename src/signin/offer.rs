//! Whether a pass is offered before any code is typed (SPEC 5.1, 5.2).

use core::fmt;

use time::UtcDateTime;

use super::{Client, SignInRequest};
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::usability::{BlockCause, Usability};

/// How a sign-in page should ask for the pass (SPEC 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prompt {
    /// Show the screen to enter the Temporary Access Pass.
    EnterPass,
    /// Seamless SSO: ask for the password and show the link
    /// "Use your Temporary Access Pass instead" ([`Prompt::LINK_TEXT`]).
    PasswordWithPassLink,
}

impl Prompt {
    /// The link shown with seamless SSO.
    pub const LINK_TEXT: &'static str = "Use your Temporary Access Pass instead";
}

/// Why a pass is not offered (SPEC 5.1, the seed's troubleshooting list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotOffered {
    /// The client cannot use a pass (SPEC 5.2).
    UnsupportedClient(Client),
    /// The user holds no pass.
    NoPass,
    /// The pass can't be used for a reason the sign-in page states: the user is not in scope
    /// (or the policy is disabled), the window has not opened or has closed, or the one-time
    /// pass was used.
    Unusable(Usability),
}

impl fmt::Display for NotOffered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedClient(c) => write!(f, "the {c} cannot use a Temporary Access Pass"),
            Self::NoPass => f.write_str("the user has no Temporary Access Pass"),
            Self::Unusable(u) => write!(f, "the pass is not offered: {u}"),
        }
    }
}

/// Everything an offer reads besides `now`: the policy, the user, their stored record and the
/// request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OfferContext<'a> {
    /// The tenant policy.
    pub policy: &'a Policy,
    /// Who signs in.
    pub user: &'a Principal,
    /// The user's stored record, if any.
    pub record: Option<&'a TemporaryAccessPass>,
    /// What the host knows about the attempt.
    pub request: SignInRequest,
}

impl<'a> OfferContext<'a> {
    /// An offer to `user` holding `record`, under `policy`, for `request`.
    #[must_use]
    pub const fn new(
        policy: &'a Policy,
        user: &'a Principal,
        record: Option<&'a TemporaryAccessPass>,
        request: SignInRequest,
    ) -> Self {
        Self {
            policy,
            user,
            record,
            request,
        }
    }
}

/// The offer decision before any code is typed (SPEC 5.1). Its audit event is
/// [`Offer::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Offer {
    /// Offered with a prompt, or not with the reason.
    pub decision: Result<Prompt, NotOffered>,
    /// For a federated domain: true when the user must still be redirected to the federated
    /// identity provider (no offerable pass). A user with an offerable pass completes sign-in
    /// here.
    pub redirect_to_federated_idp: bool,
    /// Who was offered a pass, or not.
    pub user: UserId,
    /// The user's pass, if they hold one.
    pub pass: Option<PassId>,
    /// When.
    pub at: UtcDateTime,
}

/// Decides whether to offer the pass (SPEC 5.1, 5.2): only to a supported client, for a user in
/// scope holding a pass inside its window and, if one-time, unused. Other blocks (a multi-use
/// pass under a one-time policy, a guest, a lock) are reported when the code is redeemed.
///
/// The answer tells whether the user holds a pass: the sign-in page shows the pass prompt only
/// when one is offered, by design (SECURITY.md).
pub fn offer(ctx: &OfferContext<'_>, now: UtcDateTime) -> Offer {
    let decision = decide(ctx, now);
    Offer {
        redirect_to_federated_idp: ctx.request.federated_domain && decision.is_err(),
        decision,
        user: ctx.user.id().clone(),
        pass: ctx.record.map(|r| *r.id()),
        at: now,
    }
}

fn decide(ctx: &OfferContext<'_>, now: UtcDateTime) -> Result<Prompt, NotOffered> {
    let client = ctx.request.client;
    if !client.supports_pass() {
        return Err(NotOffered::UnsupportedClient(client));
    }
    let record = ctx.record.ok_or(NotOffered::NoPass)?;
    let prompt = if ctx.request.seamless_sso {
        Prompt::PasswordWithPassLink
    } else {
        Prompt::EnterPass
    };
    // Every variant is named: a cause added later must be placed here, not let through.
    match record.usability(ctx.policy, ctx.user, now) {
        usability @ (Usability::PolicyBlocked(
            BlockCause::PolicyDisabled
            | BlockCause::NotIncluded
            | BlockCause::Excluded
            | BlockCause::NotTheHolder,
        )
        | Usability::NotYetValid { .. }
        | Usability::Expired { .. }
        | Usability::OneTimeUsed { .. }) => Err(NotOffered::Unusable(usability)),
        // Offered: these blocks are reported when the code is redeemed (SPEC 5.1).
        Usability::PolicyBlocked(
            BlockCause::MultiUseUnderOneTimePolicy
            | BlockCause::GuestUser
            | BlockCause::Locked { .. },
        )
        | Usability::Usable => Ok(prompt),
    }
}
