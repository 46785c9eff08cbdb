//! What a host answers, the trait a harness implements, and the crate's engine as a host.

use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;

use time::{Duration, UtcDateTime};

use crate::clock::{Clock, ManualClock};
use crate::config::EngineConfig;
use core::convert::Infallible;

use crate::admin::{DeleteError, Deleted, PassView, ViewError};
use crate::create::{CreateError, CreateRequest, CreatedPass};
use crate::engine::{Engine, EngineError};
use crate::ids::PassId;
use crate::passcode::Passcode;
use crate::policy::{PolicySettings, UpdatePolicyError};
use crate::principal::Principal;
use crate::signin::{
    Client, Grant, NotOffered, Offer, PasswordlessMethod, RedeemRefusal, Redemption,
    RegistrationError, SignInRequest,
};
use crate::store::Store;
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

/// A deployment under test, driven one operation at a time by [`super::check`]: its own store,
/// its own clock (which [`Host::wait`] moves), and the cast's principals as its directory
/// describes them ([`Who::principal`](super::Who::principal)). Each method does what the operation says through the
/// host's real path (an engine, an HTTP client...) and reports the answer in these terms.
///
/// The clock starts at the instant [`super::CheckConfig::start`] gives; the guessing limit is
/// the one [`super::CheckConfig`] gives the model.
#[allow(
    clippy::missing_errors_doc,
    reason = "each method's error is an answer, a refusal the rules give, described by its type"
)]
pub trait Host {
    /// Sets the policy as `actor`.
    fn set_policy(
        &mut self,
        actor: &Principal,
        settings: &PolicySettings,
    ) -> Result<(), PolicyRefusal>;
    /// Creates a pass for `target` as `actor`.
    fn create(
        &mut self,
        actor: &Principal,
        target: &Principal,
        request: &CreateRequest,
    ) -> Result<Issued, CreateRefusal>;
    /// `actor` views `holder`'s pass.
    fn view(&mut self, actor: &Principal, holder: &Principal) -> Result<Option<Viewed>, Forbidden>;
    /// `actor` deletes `holder`'s pass.
    fn delete(
        &mut self,
        actor: &Principal,
        holder: &Principal,
    ) -> Result<Option<Removed>, Forbidden>;
    /// Whether the sign-in page offers `user` a pass.
    fn offer(&mut self, user: &Principal, client: Client) -> Result<(), NotOffered>;
    /// `user` signs in with `code`.
    fn redeem(
        &mut self,
        user: &Principal,
        code: &str,
        client: Client,
    ) -> Result<Granted, RedeemRefusal>;
    /// `user` registers `method` under their latest granted sign-in (the host keeps it).
    fn register(
        &mut self,
        user: &Principal,
        method: PasswordlessMethod,
    ) -> Result<(), RegisterRefusal>;
    /// The clock moves by `by` (negative: back).
    fn wait(&mut self, by: Duration);
}

/// The crate's [`Engine`] as a [`Host`]: over `store`, a [`ManualClock`] and `config`. A store
/// author model-checks a store with it; the crate checks itself with it.
#[derive(Debug)]
pub struct EngineHost<S> {
    engine: Engine<ManualClock, S>,
    grants: BTreeMap<String, Grant>,
}

impl<S: Store> EngineHost<S> {
    /// An engine over `store`, its clock at `start`.
    #[must_use]
    pub fn new(store: S, start: UtcDateTime, config: EngineConfig) -> Self {
        Self {
            engine: Engine::new(ManualClock::new(start), store, config),
            grants: BTreeMap::new(),
        }
    }

    /// The engine.
    #[must_use]
    pub const fn engine(&self) -> &Engine<ManualClock, S> {
        &self.engine
    }
}

/// A store failure or contention is no answer the rules give: the check stops there.
#[allow(
    clippy::panic,
    reason = "a broken host fails the check, like `assert!`"
)]
fn broken<R: fmt::Debug, E: fmt::Debug>(operation: &str, error: &EngineError<R, E>) -> ! {
    panic!("the host broke during {operation}: {error:?}")
}

/// Sorts a creation refusal.
#[must_use]
pub fn create_refusal(error: &CreateError) -> CreateRefusal {
    match error {
        CreateError::Forbidden(_) => CreateRefusal::Forbidden,
        CreateError::AlreadyHasValidPass { .. } => CreateRefusal::AlreadyHasValidPass,
        CreateError::LifetimeOutOfRange { .. } => CreateRefusal::LifetimeOutOfRange,
        CreateError::StartInPast { .. } => CreateRefusal::StartInPast,
        CreateError::EndOutOfRange { .. } => CreateRefusal::EndOutOfRange,
        CreateError::ExistingPassMismatch { .. }
        | CreateError::TargetNotInScope { .. }
        | CreateError::Rng(_) => CreateRefusal::Other,
    }
}

/// The answer to a policy change, from an engine's result.
fn policy_answer<T, E: fmt::Debug>(
    result: Result<T, EngineError<UpdatePolicyError, E>>,
) -> Result<(), PolicyRefusal> {
    match result {
        Ok(_) => Ok(()),
        Err(EngineError::Rejected(UpdatePolicyError::Forbidden { .. })) => {
            Err(PolicyRefusal::Forbidden)
        }
        Err(EngineError::Rejected(UpdatePolicyError::Invalid(_))) => Err(PolicyRefusal::Invalid),
        Err(e) => broken("a policy change", &e),
    }
}

/// The answer to a creation, from an engine's result.
fn create_answer<E: fmt::Debug>(
    result: Result<CreatedPass, EngineError<CreateError, E>>,
) -> Result<Issued, CreateRefusal> {
    match result {
        Ok(created) => Ok(Issued::new(
            *created.record.id(),
            created.passcode.expose_secret(),
            created.record.start(),
            created.record.end(),
            created.record.is_usable_once(),
            !created.effects.is_empty(),
        )),
        Err(EngineError::Rejected(e)) => Err(create_refusal(&e)),
        Err(e) => broken("a creation", &e),
    }
}

/// The answer to a view, from an engine's result.
fn view_answer<E: fmt::Debug>(
    result: Result<Option<PassView>, EngineError<ViewError, E>>,
) -> Result<Option<Viewed>, Forbidden> {
    match result {
        Ok(view) => {
            Ok(view.map(|v| Viewed::new(v.id, v.start, v.end, v.is_usable_once, v.usability)))
        }
        Err(EngineError::Rejected(_)) => Err(Forbidden),
        Err(e) => broken("a view", &e),
    }
}

/// The answer to a deletion, from an engine's result.
fn delete_answer<E: fmt::Debug>(
    result: Result<Option<Deleted>, EngineError<DeleteError, E>>,
) -> Result<Option<Removed>, Forbidden> {
    match result {
        Ok(deleted) => Ok(deleted.map(|d| Removed::new(d.pass, !d.effects.is_empty()))),
        Err(EngineError::Rejected(_)) => Err(Forbidden),
        Err(e) => broken("a deletion", &e),
    }
}

/// The answer to an offer, from an engine's result.
fn offer_answer<E: fmt::Debug>(
    result: Result<Offer, EngineError<Infallible, E>>,
) -> Result<(), NotOffered> {
    match result {
        Ok(offer) => offer.decision.map(|_| ()),
        Err(e) => broken("an offer", &e),
    }
}

/// The answer to a sign-in, from an engine's result; a grant is kept for registrations.
fn redeem_answer<E: fmt::Debug>(
    result: Result<Redemption, EngineError<Infallible, E>>,
    grants: &mut BTreeMap<String, Grant>,
) -> Result<Granted, RedeemRefusal> {
    match result {
        Ok(redemption) => redemption.outcome.map(|grant| {
            let granted = Granted::new(grant.pass, grant.is_usable_once, grant.registration_until);
            grants.insert(grant.user.as_str().into(), grant);
            granted
        }),
        Err(e) => broken("a sign-in", &e),
    }
}

/// The answer to a registration, from an engine's result.
fn register_answer<E: fmt::Debug>(
    result: Result<(), EngineError<RegistrationError, E>>,
) -> Result<(), RegisterRefusal> {
    match result {
        Ok(()) => Ok(()),
        Err(EngineError::Rejected(RegistrationError::WindowClosed { .. })) => {
            Err(RegisterRefusal::WindowClosed)
        }
        Err(EngineError::Rejected(_)) => Err(RegisterRefusal::PassRemoved),
        Err(e) => broken("a registration", &e),
    }
}

/// A [`Host`] over an engine, both drivers alike: `$run!(expr)` turns an engine call into its
/// result (nothing for the sync engine, waiting on the runtime for the async one).
macro_rules! engine_host {
    ($host:ty, $bound:path, $run:ident) => {
        impl<S: $bound> Host for $host {
            fn set_policy(
                &mut self,
                actor: &Principal,
                settings: &PolicySettings,
            ) -> Result<(), PolicyRefusal> {
                policy_answer($run!(self, self.engine.update_policy(actor, settings)))
            }

            fn create(
                &mut self,
                actor: &Principal,
                target: &Principal,
                request: &CreateRequest,
            ) -> Result<Issued, CreateRefusal> {
                let mut rng = getrandom::SysRng;
                create_answer($run!(
                    self,
                    self.engine.create(actor, target, request, &mut rng)
                ))
            }

            fn view(
                &mut self,
                actor: &Principal,
                holder: &Principal,
            ) -> Result<Option<Viewed>, Forbidden> {
                view_answer($run!(self, self.engine.view(actor, holder)))
            }

            fn delete(
                &mut self,
                actor: &Principal,
                holder: &Principal,
            ) -> Result<Option<Removed>, Forbidden> {
                delete_answer($run!(self, self.engine.delete(actor, holder)))
            }

            fn offer(&mut self, user: &Principal, client: Client) -> Result<(), NotOffered> {
                offer_answer($run!(
                    self,
                    self.engine.offer(user, SignInRequest::new(client))
                ))
            }

            fn redeem(
                &mut self,
                user: &Principal,
                code: &str,
                client: Client,
            ) -> Result<Granted, RedeemRefusal> {
                let request = SignInRequest::new(client);
                let result = $run!(self, self.engine.redeem(user, code, request));
                redeem_answer(result, &mut self.grants)
            }

            fn register(
                &mut self,
                user: &Principal,
                method: PasswordlessMethod,
            ) -> Result<(), RegisterRefusal> {
                let Some(grant) = self.grants.get(user.id().as_str()) else {
                    return Err(RegisterRefusal::NoSignIn);
                };
                register_answer($run!(self, self.engine.register(user, grant, method)))
            }

            fn wait(&mut self, by: Duration) {
                let clock = self.engine.clock();
                if let Some(then) = clock.now().checked_add(by) {
                    clock.set(then);
                }
            }
        }
    };
}

/// A sync engine call's result is the call itself.
macro_rules! called {
    ($host:expr, $call:expr) => {
        $call
    };
}

engine_host!(EngineHost<S>, Store, called);

/// The crate's [`AsyncEngine`](crate::AsyncEngine) as a [`Host`] (feature
/// `test-support-tokio`): each operation waits on `runtime` for the engine's future, so an
/// async store is model-checked through the async driver. Call it from outside the runtime
/// (a plain test thread).
#[cfg(feature = "test-support-tokio")]
#[derive(Debug)]
pub struct AsyncEngineHost<S> {
    engine: crate::engine::AsyncEngine<ManualClock, S>,
    runtime: tokio::runtime::Handle,
    grants: BTreeMap<String, Grant>,
}

#[cfg(feature = "test-support-tokio")]
impl<S: crate::store::AsyncStore> AsyncEngineHost<S> {
    /// An async engine over `store`, its clock at `start`, its futures run on `runtime`.
    #[must_use]
    pub fn new(
        store: S,
        start: UtcDateTime,
        config: EngineConfig,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            engine: crate::engine::AsyncEngine::new(ManualClock::new(start), store, config),
            runtime,
            grants: BTreeMap::new(),
        }
    }
}

/// An async engine call's result: its future, run to completion on the host's runtime.
#[cfg(feature = "test-support-tokio")]
macro_rules! awaited {
    ($host:expr, $call:expr) => {
        $host.runtime.block_on($call)
    };
}

#[cfg(feature = "test-support-tokio")]
engine_host!(AsyncEngineHost<S>, crate::store::AsyncStore, awaited);
