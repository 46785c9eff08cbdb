//! Sign-in: the offer, the redemption, the guessing limit and the registration window
//! (SPEC 5, 6.4), as pure functions over a record and `now`.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use time::{Duration, UtcDateTime};

use crate::event::Event;
use crate::ids::{PassId, UserId};
use crate::pass::{Outcome, TemporaryAccessPass};
use crate::passcode::DigestKey;
use crate::policy::Policy;
use crate::principal::Principal;
use crate::usability::{BlockCause, Usability};

/// Where a sign-in happens (SPEC 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Client {
    /// A web browser (for example at `https://aka.ms/mysecurityinfo`).
    #[default]
    Browser,
    /// The Microsoft Authenticator app (phone sign-in registration).
    AuthenticatorApp,
    /// The Network Policy Server (NPS) extension: cannot use a pass.
    NpsExtension,
    /// The Active Directory Federation Services (AD FS) adapter: cannot use a pass.
    AdfsAdapter,
    /// Windows Setup / Out-of-Box Experience (OOBE): cannot use a pass.
    WindowsSetup,
    /// Windows Autopilot: cannot use a pass.
    Autopilot,
}

impl Client {
    /// True for the clients that can sign in with a pass: the browser and the Authenticator app.
    #[must_use]
    pub const fn supports_pass(self) -> bool {
        matches!(self, Self::Browser | Self::AuthenticatorApp)
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Browser => "browser",
            Self::AuthenticatorApp => "Authenticator app",
            Self::NpsExtension => "NPS extension",
            Self::AdfsAdapter => "AD FS adapter",
            Self::WindowsSetup => "Windows Setup (OOBE)",
            Self::Autopilot => "Autopilot",
        })
    }
}

/// What the host knows about a sign-in attempt besides the user and the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SignInContext {
    /// The client signing in.
    pub client: Client,
    /// The user's domain is federated with another identity provider.
    pub federated_domain: bool,
    /// Seamless single sign-on is enabled on the tenant.
    pub seamless_sso: bool,
    /// The user is in scope of the self-service password reset (SSPR) registration policy.
    pub sspr_registration_required: bool,
}

impl SignInContext {
    /// A browser sign-in on a managed domain, no seamless SSO, no SSPR registration.
    #[must_use]
    pub const fn new(client: Client) -> Self {
        Self {
            client,
            federated_domain: false,
            seamless_sso: false,
            sspr_registration_required: false,
        }
    }

    /// Sets whether the user's domain is federated.
    #[must_use]
    pub const fn federated(mut self, on: bool) -> Self {
        self.federated_domain = on;
        self
    }

    /// Sets whether seamless SSO is enabled.
    #[must_use]
    pub const fn seamless_sso(mut self, on: bool) -> Self {
        self.seamless_sso = on;
        self
    }

    /// Sets whether the user must register an SSPR method after signing in.
    #[must_use]
    pub const fn sspr_registration_required(mut self, on: bool) -> Self {
        self.sspr_registration_required = on;
        self
    }
}

/// The guessing limit (SPEC 6.4): after `max_attempts` consecutive wrong codes the pass is locked
/// for `base_backoff`, doubling with each further wrong code, never past the pass end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    max_attempts: u32,
    base_backoff: Duration,
}

/// Why a lockout setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockoutError {
    /// The attempt limit is outside 1..=1000.
    #[error("attempt limit is {value}: allowed {min}..={max}")]
    AttemptsOutOfRange {
        /// The value given.
        value: u32,
        /// 1.
        min: u32,
        /// 1000.
        max: u32,
    },
    /// The base back-off is outside one second to one day.
    #[error("base back-off is {value}: allowed 1 second to 1 day")]
    BackoffOutOfRange {
        /// The value given.
        value: Duration,
    },
}

impl Default for Lockout {
    /// 10 attempts, then a lock starting at one minute.
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            base_backoff: Duration::MINUTE,
        }
    }
}

impl Lockout {
    /// The default attempt limit: 10.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

    /// A limit of `max_attempts` (1..=1000) consecutive wrong codes and a first lock of
    /// `base_backoff` (one second to one day).
    ///
    /// # Errors
    ///
    /// [`LockoutError`] naming the value and the allowed range.
    pub fn new(max_attempts: u32, base_backoff: Duration) -> Result<Self, LockoutError> {
        if !(1..=1000).contains(&max_attempts) {
            return Err(LockoutError::AttemptsOutOfRange {
                value: max_attempts,
                min: 1,
                max: 1000,
            });
        }
        if base_backoff < Duration::SECOND || base_backoff > Duration::DAY {
            return Err(LockoutError::BackoffOutOfRange {
                value: base_backoff,
            });
        }
        Ok(Self {
            max_attempts,
            base_backoff,
        })
    }

    /// Consecutive wrong codes allowed before the lock.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The first lock's length.
    #[must_use]
    pub const fn base_backoff(&self) -> Duration {
        self.base_backoff
    }
}

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
    /// The user is not in the policy's scope (or the policy is disabled).
    NotInScope(BlockCause),
    /// The pass's window has not opened.
    NotYetValid {
        /// When it opens.
        starts_at: UtcDateTime,
    },
    /// The pass expired.
    Expired {
        /// When.
        at: UtcDateTime,
    },
    /// The one-time pass was already used.
    OneTimeUsed {
        /// When.
        at: UtcDateTime,
    },
}

impl fmt::Display for NotOffered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedClient(c) => write!(f, "the {c} cannot use a Temporary Access Pass"),
            Self::NoPass => f.write_str("the user has no Temporary Access Pass"),
            Self::NotInScope(cause) => write!(f, "the user is not in scope: {cause}"),
            Self::NotYetValid { starts_at } => write!(f, "the pass is valid from {starts_at}"),
            Self::Expired { at } => write!(f, "the pass expired at {at}"),
            Self::OneTimeUsed { at } => write!(f, "the one-time pass was used at {at}"),
        }
    }
}

/// The offer decision before any code is typed (SPEC 5.1).
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
    /// Audit events.
    pub events: Vec<Event>,
}

/// Decides whether to offer the pass (SPEC 5.1, 5.2): only to a supported client, for a user in
/// scope holding a pass inside its window and, if one-time, unused. Other blocks (a multi-use
/// pass under a one-time policy, a guest, a lock) are reported when the code is redeemed.
pub fn offer(
    policy: &Policy,
    user: &Principal,
    record: Option<&TemporaryAccessPass>,
    ctx: &SignInContext,
    now: UtcDateTime,
) -> Offer {
    let decision = offer_decision(policy, user, record, *ctx, now);
    let event = match decision {
        Ok(_) => Event::PassOffered {
            user: user.id().clone(),
            pass: record.map(|r| *r.id()),
            at: now,
        },
        Err(reason) => Event::PassNotOffered {
            user: user.id().clone(),
            reason,
            at: now,
        },
    };
    Offer {
        redirect_to_federated_idp: ctx.federated_domain && decision.is_err(),
        decision,
        events: vec![event],
    }
}

fn offer_decision(
    policy: &Policy,
    user: &Principal,
    record: Option<&TemporaryAccessPass>,
    ctx: SignInContext,
    now: UtcDateTime,
) -> Result<Prompt, NotOffered> {
    if !ctx.client.supports_pass() {
        return Err(NotOffered::UnsupportedClient(ctx.client));
    }
    let record = record.ok_or(NotOffered::NoPass)?;
    let prompt = if ctx.seamless_sso {
        Prompt::PasswordWithPassLink
    } else {
        Prompt::EnterPass
    };
    // Every variant is named: a cause added later must be placed here, not let through.
    match record.usability(policy, user, now) {
        Usability::PolicyBlocked(
            cause @ (BlockCause::PolicyDisabled
            | BlockCause::NotIncluded
            | BlockCause::Excluded
            | BlockCause::NotTheHolder),
        ) => Err(NotOffered::NotInScope(cause)),
        Usability::NotYetValid { starts_at } => Err(NotOffered::NotYetValid { starts_at }),
        Usability::Expired { at } => Err(NotOffered::Expired { at }),
        Usability::OneTimeUsed { at } => Err(NotOffered::OneTimeUsed { at }),
        // Offered: these blocks are reported when the code is redeemed (SPEC 5.1).
        Usability::PolicyBlocked(
            BlockCause::MultiUseUnderOneTimePolicy
            | BlockCause::GuestUser
            | BlockCause::Locked { .. },
        )
        | Usability::Usable => Ok(prompt),
    }
}

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
}

/// How long after a one-time sign-in passwordless registration stays allowed (SPEC 5.5).
pub const REGISTRATION_WINDOW: Duration = Duration::minutes(10);

/// A passwordless method a user registers after signing in with a pass (SPEC 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PasswordlessMethod {
    /// A FIDO2 security key.
    Fido2SecurityKey,
    /// Phone sign-in with the Microsoft Authenticator app.
    PhoneSignIn,
}

impl fmt::Display for PasswordlessMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fido2SecurityKey => "FIDO2 security key",
            Self::PhoneSignIn => "phone sign-in",
        })
    }
}

/// Why a passwordless registration was refused (SPEC 5.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The registration window after the sign-in has closed.
    #[error("registering a {method} was allowed until {until}: sign in again with a new pass")]
    WindowClosed {
        /// The method.
        method: PasswordlessMethod,
        /// The end of the window (exclusive).
        until: UtcDateTime,
    },
    /// The pass behind the sign-in was deleted or replaced: its sessions were revoked.
    #[error("the pass behind this sign-in no longer exists: its sessions were revoked")]
    PassRemoved,
    /// The grant belongs to another user.
    #[error("the sign-in belongs to {holder}, not to {user}")]
    NotTheHolder {
        /// The user named.
        user: UserId,
        /// The grant's user.
        holder: UserId,
    },
}

/// Decides whether `user`, signed in with `grant`, may register `method` at `now` (SPEC 5.5,
/// 5.7), given `current`, the user's pass record as stored now.
///
/// In order: the grant must be `user`'s; `now` must be before
/// [`Grant::registration_until`] (end exclusive); and the pass behind the grant must still be
/// stored (deleting or replacing it revoked the sessions it opened).
///
/// # Errors
///
/// [`RegistrationError`] naming the check that failed.
pub fn authorize_registration(
    user: &Principal,
    grant: &Grant,
    current: Option<&TemporaryAccessPass>,
    method: PasswordlessMethod,
    now: UtcDateTime,
) -> Result<(), RegistrationError> {
    if &grant.user != user.id() {
        return Err(RegistrationError::NotTheHolder {
            user: user.id().clone(),
            holder: grant.user.clone(),
        });
    }
    if now >= grant.registration_until {
        return Err(RegistrationError::WindowClosed {
            method,
            until: grant.registration_until,
        });
    }
    match current {
        Some(record) if *record.id() == grant.pass && record.user() == user.id() => Ok(()),
        Some(_) | None => Err(RegistrationError::PassRemoved),
    }
}

/// The settings a redemption reads besides the policy.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RedeemSettings<'a> {
    /// What the records' digests are keyed with (SPEC 6.1).
    pub key: &'a DigestKey,
    /// The guessing limit.
    pub lockout: Lockout,
}

impl<'a> RedeemSettings<'a> {
    /// Settings with the given key and the default lockout.
    #[must_use]
    pub fn new(key: &'a DigestKey) -> Self {
        Self {
            key,
            lockout: Lockout::default(),
        }
    }

    /// Sets the guessing limit.
    #[must_use]
    pub const fn lockout(mut self, lockout: Lockout) -> Self {
        self.lockout = lockout;
        self
    }
}

/// A redemption decision: the outcome, the record to commit and the events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Redemption {
    /// The grant, or why not. **Not a decision until [`Redemption::write`] lands** when there
    /// is one (SPEC 6.5).
    pub outcome: Result<Grant, RedeemRefusal>,
    /// The record to store in place of the one judged, through a compare-and-swap on the pass
    /// id and version that were read. There is one for every attempt judged on a record: a
    /// grant records the use, a wrong code counts, and a refusal on an unusable pass writes the
    /// record back unchanged so that it too was judged on what is stored. `None` only when
    /// there was no record (no pass) or the client can't use a pass.
    pub write: Option<TemporaryAccessPass>,
    /// Audit events.
    pub events: Vec<Event>,
}

/// Decides a redemption of `typed` by `user` (SPEC 5.3, 6.2, 6.4, 6.5) as a pure function.
///
/// An unsupported client is refused first (it depends on the request alone). Then the decision
/// does the same work whether the user holds a pass or not, and whatever state the pass is in:
/// without a record it judges a dummy of the user's own (never matching, never stored), every
/// usability condition is evaluated, the code is always digested and compared in constant time,
/// and the record's next state is computed for both a right and a wrong code before one is
/// kept. The answer: no pass; a pass not usable now, with its [`Usability`], without judging the
/// code (a locked pass reveals nothing about it); a wrong code, counted towards the lock; or a
/// grant, which resets the count and records the use (a one-time pass is then used).
///
/// # Committing
///
/// A host must not act on [`Redemption::outcome`] before [`Redemption::write`] lands: write it
/// with a compare-and-swap on the pass id and version that were read and, on a conflict, read
/// again and decide again. That is what makes concurrent attempts count as one after another:
/// a burst of guesses gets no more judged tries than the limit, and a pass deleted meanwhile
/// grants nothing (SPEC 6.5). [`crate::Engine`] does exactly this.
pub fn redeem(
    policy: &Policy,
    settings: &RedeemSettings<'_>,
    user: &Principal,
    record: Option<&TemporaryAccessPass>,
    typed: &str,
    ctx: &SignInContext,
    now: UtcDateTime,
) -> Redemption {
    if !ctx.client.supports_pass() {
        let reason = RedeemRefusal::UnsupportedClient(ctx.client);
        return Redemption {
            outcome: Err(reason),
            write: None,
            events: vec![Event::SignInFailed {
                user: user.id().clone(),
                pass: record.map(|r| *r.id()),
                reason,
                at: now,
            }],
        };
    }
    // The record or the dummy, picked by an indexed load the optimizer can't turn into a branch;
    // everything after runs on `judged` alike.
    let dummy = TemporaryAccessPass::dummy(user.id(), settings.key, now);
    let real = record.is_some();
    let candidates = [record, Some(&dummy)];
    let index = core::hint::black_box(usize::from(!real));
    let judged = candidates.get(index).copied().flatten().unwrap_or(&dummy);

    let usability = judged.usability(policy, user, now);
    let code_ok = bool::from(
        judged
            .code_digest()
            .matches(settings.key, judged.id(), typed),
    );
    let usable = usability.is_usable();
    let outcome_kind = match (usable, code_ok) {
        (true, true) => Outcome::Success,
        (true, false) => Outcome::Failure,
        (false, _) => Outcome::Unjudged,
    };
    let mut next = judged.clone();
    next.apply(outcome_kind, now, &settings.lockout);

    let registration_until = if judged.is_usable_once() {
        now.checked_add(REGISTRATION_WINDOW)
            .unwrap_or(UtcDateTime::MAX)
    } else {
        judged.end()
    };
    let grant = Grant {
        user: user.id().clone(),
        pass: *judged.id(),
        signed_in_at: now,
        is_usable_once: judged.is_usable_once(),
        registration_until,
        next_step: if ctx.sspr_registration_required {
            NextStep::RegisterSsprMethod
        } else {
            NextStep::RegisterMethods
        },
    };
    let refusal = if !real {
        RedeemRefusal::NoPass
    } else if !usable {
        RedeemRefusal::Unusable(usability)
    } else {
        RedeemRefusal::WrongCode {
            attempts_left: settings
                .lockout
                .max_attempts()
                .saturating_sub(next.failed_attempts()),
            locked_until: next.locked_until(),
        }
    };
    let granted = real && usable && code_ok;
    let pass = record.map(|r| *r.id());
    let mut events = Vec::with_capacity(2);
    if granted {
        events.push(Event::SignInSucceeded {
            user: user.id().clone(),
            pass: grant.pass,
            is_usable_once: grant.is_usable_once,
            at: now,
        });
    } else {
        events.push(Event::SignInFailed {
            user: user.id().clone(),
            pass,
            reason: refusal,
            at: now,
        });
    }
    if let (true, Outcome::Failure, Some(until)) = (real, outcome_kind, next.locked_until()) {
        events.push(Event::PassLocked {
            user: user.id().clone(),
            pass: *judged.id(),
            until,
            failed_attempts: next.failed_attempts(),
            at: now,
        });
    }
    Redemption {
        outcome: if granted { Ok(grant) } else { Err(refusal) },
        write: real.then_some(next),
        events,
    }
}
