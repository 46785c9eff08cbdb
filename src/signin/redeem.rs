//! Redeeming a typed code (SPEC 5.3, 5.4, 5.6, 6.2, 6.4, 6.5): the decision, its refusals, the
//! grant and the write that commits it.

use core::fmt;

use time::UtcDateTime;

use super::lockout::{Lockout, Outcome};
use super::{Client, REGISTRATION_WINDOW, SignInRequest};
use crate::digest::DigestKey;
use crate::ids::{PassId, UserId};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::usability::{BlockCause, Usability};

/// Why a redemption was refused (SPEC 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedeemRefusal {
    /// The client cannot use a pass (SPEC 5.2).
    #[error("the {0} cannot use a Temporary Access Pass: use a browser or the Authenticator app")]
    UnsupportedClient(Client),
    /// The user holds no pass. Costs what a wrong code costs (SPEC 6.2).
    #[error("the user has no Temporary Access Pass")]
    NoPass,
    /// The code was wrong (SPEC 6.4).
    #[error("wrong code: {attempts_left} attempts left before the pass locks")]
    WrongCode {
        /// Wrong codes still allowed before the lock (0 once locked).
        attempts_left: u32,
        /// When the lock this failure set lifts, if it set one.
        locked_until: Option<UtcDateTime>,
    },
    /// The pass can't be used now; the code was not judged, so the answer reveals nothing
    /// about it.
    #[error("the pass can't be used: {0}")]
    Unusable(Usability),
}

/// What to show the person signing in when a redemption is refused (SPEC 6.2).
///
/// [`RedeemRefusal`] tells the host's logs why; this tells the screen as little as possible.
/// Every refusal that depends on the user's pass (none, wrong code, locked, used, expired,
/// blocked) shows the same [`ShownRefusal::NotAccepted`], so the screen does not tell whether
/// the user holds a pass or how close a guess was. Only a client that can never use a pass,
/// which depends on the request alone, gets its own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShownRefusal {
    /// The code was not accepted, for whatever reason.
    NotAccepted,
    /// This client cannot use a pass (SPEC 5.2).
    UnsupportedClient(Client),
}

impl fmt::Display for ShownRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAccepted => f.write_str("that Temporary Access Pass was not accepted"),
            Self::UnsupportedClient(c) => write!(
                f,
                "the {c} cannot use a Temporary Access Pass: use a browser or the Authenticator app"
            ),
        }
    }
}

/// The causes the product shows as "Temporary Access Pass sign in was blocked due to User
/// Credential Policy" (SPEC 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialPolicyBlock {
    /// The user is not in the policy's scope (or the policy is disabled).
    NotInScope,
    /// A multi-use pass while the policy requires one-time passes.
    MultiUseUnderOneTimePolicy,
    /// The one-time pass was already used.
    OneTimeUsed,
}

impl CredentialPolicyBlock {
    /// The product's message.
    pub const MESSAGE: &'static str =
        "Temporary Access Pass sign in was blocked due to User Credential Policy";
}

impl fmt::Display for CredentialPolicyBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause = match self {
            Self::NotInScope => "the user is not in scope of the Temporary Access Pass policy",
            Self::MultiUseUnderOneTimePolicy => {
                "the pass is multi-use while the policy requires one-time passes"
            }
            Self::OneTimeUsed => "the one-time pass was already used",
        };
        write!(f, "{} ({cause})", Self::MESSAGE)
    }
}

impl RedeemRefusal {
    /// The one answer to show the user (SPEC 6.2): see [`ShownRefusal`].
    #[must_use]
    pub const fn shown(&self) -> ShownRefusal {
        match self {
            Self::UnsupportedClient(client) => ShownRefusal::UnsupportedClient(*client),
            Self::NoPass | Self::WrongCode { .. } | Self::Unusable(_) => ShownRefusal::NotAccepted,
        }
    }

    /// The "blocked due to User Credential Policy" display, when this refusal is one of its
    /// causes (SPEC 5.4). It tells the user that a pass exists and why it is blocked, as the
    /// product does; a host that hides this shows [`RedeemRefusal::shown`] instead.
    #[must_use]
    pub const fn credential_policy_block(&self) -> Option<CredentialPolicyBlock> {
        match self {
            Self::Unusable(Usability::OneTimeUsed { .. }) => {
                Some(CredentialPolicyBlock::OneTimeUsed)
            }
            Self::Unusable(Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy)) => {
                Some(CredentialPolicyBlock::MultiUseUnderOneTimePolicy)
            }
            Self::Unusable(Usability::PolicyBlocked(
                BlockCause::PolicyDisabled | BlockCause::NotIncluded | BlockCause::Excluded,
            )) => Some(CredentialPolicyBlock::NotInScope),
            Self::Unusable(
                Usability::Usable
                | Usability::NotYetValid { .. }
                | Usability::Expired { .. }
                | Usability::PolicyBlocked(
                    BlockCause::GuestUser | BlockCause::Locked { .. } | BlockCause::NotTheHolder,
                ),
            )
            | Self::UnsupportedClient(_)
            | Self::NoPass
            | Self::WrongCode { .. } => None,
        }
    }
}

/// What a host must do after a sign-in: nothing more, or register an SSPR method (SPEC 5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NextStep {
    /// The user may go on to register passwordless methods.
    RegisterMethods,
    /// The user must first register a self-service password reset method (SPEC 5.6).
    RegisterSsprMethod,
}

/// A successful sign-in with a pass (SPEC 5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant {
    /// Who signed in.
    pub user: UserId,
    /// With which pass.
    pub pass: PassId,
    /// When.
    pub signed_in_at: UtcDateTime,
    /// Whether the pass was one-time (and is now used).
    pub is_usable_once: bool,
    /// Passwordless registration is allowed until this instant, exclusive (SPEC 5.5): ten
    /// minutes after sign-in for a one-time pass, the pass end for a multi-use one.
    pub registration_until: UtcDateTime,
    /// What the user must do next (SPEC 5.6).
    pub next_step: NextStep,
    /// The authentication strength the sign-in satisfies (SPEC 5.9).
    pub strength: AuthenticationStrength,
    /// The latest a session or token issued on this sign-in may last (SPEC 5.9): the pass's
    /// end. An expiry revokes nothing already issued; a host caps what it issues here.
    pub not_after: UtcDateTime,
}

/// The authentication-strength mode a sign-in with a pass satisfies (SPEC 5.9), as Entra's
/// authentication strengths name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthenticationStrength {
    /// A one-time pass (Graph: `temporaryAccessPassOneTime`).
    TemporaryAccessPassOneTime,
    /// A multi-use pass (Graph: `temporaryAccessPassMultiUse`).
    TemporaryAccessPassMultiUse,
}

impl AuthenticationStrength {
    /// Graph's name of the mode.
    #[must_use]
    pub const fn graph_name(self) -> &'static str {
        match self {
            Self::TemporaryAccessPassOneTime => "temporaryAccessPassOneTime",
            Self::TemporaryAccessPassMultiUse => "temporaryAccessPassMultiUse",
        }
    }
}

/// Everything a redemption reads besides the typed code and `now`: the policy, the key and
/// guessing limit, who signs in, their stored record and the request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RedeemContext<'a> {
    /// The tenant policy.
    pub policy: &'a Policy,
    /// What the records' digests are keyed with (SPEC 6.1).
    pub key: &'a DigestKey,
    /// The guessing limit (SPEC 6.4).
    pub lockout: Lockout,
    /// Who signs in.
    pub user: &'a Principal,
    /// The user's stored record, if any.
    pub record: Option<&'a TemporaryAccessPass>,
    /// What the host knows about the attempt.
    pub request: SignInRequest,
}

impl<'a> RedeemContext<'a> {
    /// A redemption by `user` holding `record`, under `policy`, verified with `key`, for
    /// `request`, with the default guessing limit.
    #[must_use]
    pub fn new(
        policy: &'a Policy,
        key: &'a DigestKey,
        user: &'a Principal,
        record: Option<&'a TemporaryAccessPass>,
        request: SignInRequest,
    ) -> Self {
        Self {
            policy,
            key,
            lockout: Lockout::default(),
            user,
            record,
            request,
        }
    }

    /// Sets the guessing limit.
    #[must_use]
    pub const fn lockout(mut self, lockout: Lockout) -> Self {
        self.lockout = lockout;
        self
    }
}

/// A redemption decision: the outcome, the record to commit, and who, which pass and when. Its
/// audit events are [`Redemption::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Redemption {
    /// The grant, or why not. **Not a decision until [`Redemption::write`] lands** when there
    /// is one (SPEC 6.5).
    pub outcome: Result<Grant, RedeemRefusal>,
    /// The record to store in place of the one judged, through a compare-and-swap on the pass
    /// id and version that were read (and the policy version). There is one for every attempt
    /// whose code was judged: a grant records the use (and consumes a one-time pass), a wrong
    /// code counts. `None` for a refusal that judged no code (no pass, a pass not usable now,
    /// locked included, a client that can't use a pass): it changes nothing, so it writes
    /// nothing (SPEC 6.5), and no stream of such attempts costs the store a write.
    pub write: Option<TemporaryAccessPass>,
    /// Who signed in, or tried.
    pub user: UserId,
    /// The user's pass, if they hold one.
    pub pass: Option<PassId>,
    /// When.
    pub at: UtcDateTime,
}

/// Decides a redemption of `typed` (SPEC 5.3, 6.2, 6.4, 6.5) as a pure function.
///
/// An unsupported client is refused first (it depends on the request alone). Then the decision
/// does the same work whether the user holds a pass or not, and whatever state the pass is in:
/// without a record it judges a dummy of the user's own (never matching, never stored), every
/// usability condition is evaluated, the code is always digested and compared in constant time,
/// and the record's next state is computed whatever the outcome before it is kept or dropped.
/// The answer: no pass; a pass not usable now, with its [`Usability`], without judging the code
/// (a locked pass reveals nothing about it) and with nothing to write; a wrong code, counted
/// towards the lock; or a grant, which resets the count and records the use (a one-time pass
/// is then used).
///
/// # Committing
///
/// A host must not act on [`Redemption::outcome`] before [`Redemption::write`] lands, when there
/// is one: write it with a compare-and-swap on the pass id and version (and the policy version)
/// that were read and, on a conflict, read again and decide again. A refusal without a write is
/// final as it is: it judged no code and changed nothing. That is what makes concurrent attempts count
/// as one after another: a burst of guesses gets no more judged tries than the limit, and a pass
/// deleted meanwhile grants nothing (SPEC 6.5). [`crate::Engine`] does exactly this.
pub fn redeem(ctx: &RedeemContext<'_>, typed: &str, now: UtcDateTime) -> Redemption {
    let RedeemContext {
        policy,
        key,
        lockout,
        user,
        record,
        request,
    } = *ctx;
    let pass = record.map(|r| *r.id());
    if !request.client.supports_pass() {
        return Redemption {
            outcome: Err(RedeemRefusal::UnsupportedClient(request.client)),
            write: None,
            user: user.id().clone(),
            pass,
            at: now,
        };
    }
    // The record or the dummy, picked by an indexed load the optimizer can't turn into a branch;
    // everything after runs on `judged` alike.
    let dummy = TemporaryAccessPass::dummy(user.id(), key, now);
    let real = record.is_some();
    let candidates = [record, Some(&dummy)];
    let index = core::hint::black_box(usize::from(!real));
    let judged = candidates.get(index).copied().flatten().unwrap_or(&dummy);

    let usability = judged.usability(policy, user, now);
    let code_ok = bool::from(judged.code_digest().matches(key, judged.id(), typed));
    let usable = usability.is_usable();
    let outcome = match (usable, code_ok) {
        (true, true) => Outcome::Success,
        (true, false) => Outcome::Failure,
        (false, _) => Outcome::Unjudged,
    };
    let next = judged.with_counters(
        judged
            .counters()
            .after(outcome, now, &lockout, judged.end()),
    );

    let grant = Grant {
        user: user.id().clone(),
        pass: *judged.id(),
        signed_in_at: now,
        is_usable_once: judged.is_usable_once(),
        registration_until: if judged.is_usable_once() {
            now.checked_add(REGISTRATION_WINDOW)
                .unwrap_or(UtcDateTime::MAX)
        } else {
            judged.end()
        },
        next_step: if request.sspr_registration_required {
            NextStep::RegisterSsprMethod
        } else {
            NextStep::RegisterMethods
        },
        strength: if judged.is_usable_once() {
            AuthenticationStrength::TemporaryAccessPassOneTime
        } else {
            AuthenticationStrength::TemporaryAccessPassMultiUse
        },
        not_after: judged.end(),
    };
    let refusal = if !real {
        RedeemRefusal::NoPass
    } else if !usable {
        RedeemRefusal::Unusable(usability)
    } else {
        RedeemRefusal::WrongCode {
            attempts_left: lockout
                .max_attempts()
                .saturating_sub(next.failed_attempts()),
            locked_until: next.locked_until(),
        }
    };
    Redemption {
        outcome: if real && usable && code_ok {
            Ok(grant)
        } else {
            Err(refusal)
        },
        // Only a judged code changes the record; every other refusal leaves it as it is.
        write: (real && usable).then_some(next),
        user: user.id().clone(),
        pass,
        at: now,
    }
}
