#![doc = concat!(
    "Temporary Access Pass (TAP) logic of Microsoft Entra ID, as a pure, embeddable core.\n\n",
    "A Temporary Access Pass is a time-limited passcode an administrator issues to a user so the ",
    "user can sign in and register strong, passwordless credentials (a FIDO2 key, the ",
    "Authenticator app), or recover after losing them. This crate decides everything about such ",
    "passes: whether a policy is valid, who may create, view or delete a pass for whom, what a new ",
    "pass is, whether it is usable now, and whether a typed code signs a user in. Rules are cited ",
    "as `SPEC n.m` from the project's specification, `docs/spec.md`.\n\n",
    "**What it does not do:** no I/O, no system clock, no ambient randomness. Every decision is a ",
    "function of its inputs (a context, the request, `now`, an RNG passed in) and returns a value ",
    "holding the outcome, the write that commits it, the effects to carry out and the audit ",
    "events. [`Engine`] runs those decisions over a [`store::Store`] for hosts that want it.\n\n",
    "# Quick start\n\n",
    "The whole life of a one-time pass through the engine on the in-memory store. This is ",
    "`examples/quickstart.rs` (`cargo run --example quickstart`), and the README's quick start, ",
    "which CI compiles in a crate of its own:\n\n",
    "```\n",
    include_str!("../examples/quickstart.rs"),
    "```\n",
)]
//!
//! # The policy (SPEC 1)
//!
//! A [`Policy`] is always valid: [`Policy::new`] checks [`PolicySettings`] against every rule
//! and names the broken one. Only a Global Administrator or an Authentication Policy
//! Administrator may change it ([`policy::update_policy`], [`Engine::update_policy`]).
//!
//! ```
//! use temporary_access_pass::policy::{PolicyError, UpdatePolicyContext, update_policy};
//! use temporary_access_pass::{
//!     DirectoryRole, GroupId, IncludeTarget, Policy, PolicySettings, PolicyState, Principal,
//!     UserId, time::{Date, Month},
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let onboarding = GroupId::new("onboarding")?;
//! let settings = PolicySettings::new()
//!     .state(PolicyState::Enabled)
//!     .maximum_lifetime_minutes(480)
//!     .include_target(IncludeTarget::Group(onboarding));
//! assert!(Policy::new(settings.clone()).is_ok());
//!
//! let too_short = settings.clone().default_length(4);
//! let error = Policy::new(too_short).unwrap_err();
//! assert!(matches!(error, PolicyError::DefaultLength(_)));
//! assert_eq!(error.to_string(), "passcode length is 4: allowed 8..=48");
//!
//! let admin = Principal::member(UserId::new("policy-admin@contoso.com")?)
//!     .role(DirectoryRole::AuthenticationPolicyAdministrator);
//! let now = Date::from_calendar_date(2021, Month::March, 9)?.with_hms(23, 0, 0)?.as_utc();
//! let update = update_policy(&UpdatePolicyContext::new(&admin), settings, now)?;
//! assert!(update.policy.is_enabled());
//! # Ok(())
//! # }
//! ```
//!
//! # Creating a pass (SPEC 2, 3)
//!
//! [`create`] decides a creation from a [`CreateContext`] (the policy, the key, who creates it for
//! whom, the target's stored record) and a [`CreateRequest`]. The [`CreatedPass`] holds the code,
//! once, and the record to store, which holds only a digest. See [`create`] for an example, and
//! [`admin`] for the role matrix, viewing and deleting.
//!
//! # Signing in (SPEC 5, 6)
//!
//! [`signin::offer`] says whether the sign-in page offers the pass; [`redeem`] judges a typed
//! code. Every attempt judged on a record comes with the write that commits it
//! ([`signin::Redemption::write`]): a host acts on the outcome only once that compare-and-swap has
//! landed (SPEC 6.5). The decision costs the same whether the user has a pass or not, whatever
//! its state (SPEC 6.2); show users [`RedeemRefusal::shown`], log the rest.
//!
//! ```
//! use temporary_access_pass::signin::{Client, RedeemRefusal, ShownRefusal};
//! use temporary_access_pass::{
//!     CreateContext, CreateRequest, DigestKey, DirectoryRole, IncludeTarget, Pepper, Policy,
//!     PolicySettings, PolicyState, Principal, RedeemContext, SignInRequest, SysRng, UserId,
//!     create, redeem, time::{Date, Month},
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = Policy::new(
//!     PolicySettings::new()
//!         .state(PolicyState::Enabled)
//!         .include_target(IncludeTarget::AllUsers),
//! )?;
//! let key = DigestKey::from(Pepper::new(&[0x42; 32])?);
//! let admin = Principal::member(UserId::new("ga@contoso.com")?).role(DirectoryRole::GlobalAdministrator);
//! let chris = Principal::member(UserId::new("chris@contoso.com")?);
//! let now = Date::from_calendar_date(2021, Month::March, 11)?.with_hms(8, 0, 0)?.as_utc();
//! let created = create(&CreateContext::new(&policy, &key, &admin, &chris), &CreateRequest::new(), now, &mut SysRng)?;
//! let code = created.passcode.expose_secret();
//!
//! let browser = SignInRequest::new(Client::Browser);
//! let ctx = RedeemContext::new(&policy, &key, &chris, Some(&created.record), browser);
//! let wrong = redeem(&ctx, "not-the-code", now);
//! assert!(matches!(wrong.outcome, Err(RedeemRefusal::WrongCode { .. })));
//! assert!(wrong.write.is_some(), "the counted failure is a write to commit");
//! let refusal = wrong.outcome.unwrap_err();
//! assert_eq!(refusal.shown(), ShownRefusal::NotAccepted);
//!
//! let right = redeem(&ctx, code, now);
//! assert!(right.outcome.is_ok(), "granted once its write lands");
//! # Ok(())
//! # }
//! ```
//!
//! # Registering a passwordless method (SPEC 5.5)
//!
//! After a one-time sign-in, [`signin::register`] allows a FIDO2 key or phone sign-in for ten
//! minutes (end exclusive), while the pass behind the grant is still stored. The quick start
//! above does it through [`Engine::register`].
//!
//! # Storage (SPEC 0.2, 6.5)
//!
//! [`store::Store`] is one read (the policy and a user's record together) and one conditional
//! write that expects exactly what was read; [`InMemoryStore`] ships with the crate, sharded
//! for many cores. [`Engine`] runs every operation as a read-decide-write plan over a store and
//! judges again after a conflict. Its docs say what a store may and must never get wrong, and
//! the conformance suite in `testing` checks an implementation, races included.
//!
//! # Microsoft Graph JSON (SPEC 7.3)
//!
//! With the `serde` feature, `graph` reads and writes Graph's shapes for the policy, the pass,
//! the creation request and response, and a strict storage form of the record.
//!
//! # Test harnesses
//!
//! With the `test-support` feature, `testing` has the store conformance suite (threads and
//! bursts racing on one record; with `test-support-tokio`, the same as tasks through
//! [`AsyncEngine`]), proptest strategies for policies, principals, records in every state,
//! sign-in requests, requests, clocks and Graph documents, and the model check below.
//!
//! # Testing your host
//!
//! `testing::model` checks a whole deployment against the rules. Its `Model` is the rules of
//! `docs/spec.md` written a second time, as plainly as possible (a map of passes, codes in clear,
//! one `if` per rule). `check` draws sequences of up to 40 operations (policy changes,
//! creations, views, deletions, offers, sign-ins with right and wrong codes, registrations, the
//! clock moving both ways) over a cast of administrators of every role, members and a guest;
//! runs each sequence against a fresh host and against the model; and compares every answer.
//! A disagreement is shrunk to a few steps and reported as numbered lines. A store author puts
//! a store into `EngineHost`:
//!
//! ```
//! # #[cfg(feature = "test-support")] {
//! use temporary_access_pass::testing::model::{CheckConfig, EngineHost, check};
//! use temporary_access_pass::{InMemoryStore, Pepper};
//!
//! let config = CheckConfig::new().cases(64); // TAP_MODEL_CASES=10000 for the full check
//! let outcome = check(&config, || {
//!     // A fresh deployment for each sequence: your own store goes here.
//!     let store = InMemoryStore::new();
//!     let pepper = Pepper::new(b"a test pepper, at least 32 bytes long").unwrap();
//!     let engine = config.engine(pepper); // the check's guessing limit and cap of keys
//!     EngineHost::new(store, config.start, engine)
//! });
//! if let Err(mismatch) = outcome {
//!     panic!("{mismatch}");
//! }
//! # }
//! ```
//!
//! An async store goes into `AsyncEngineHost` (feature `test-support-tokio`). A host with a
//! path of its own (an HTTP service, a message queue) implements `testing::Host`: fourteen
//! methods that carry an operation through that path and say what came back, in the terms of
//! `testing::model::Answer`; its clock is the one `Host::wait` moves. A host that gets a rule
//! wrong fails with its steps, for example a store that drops the lock from the records it
//! writes:
//!
//! ```text
//! the host disagrees with the rules at step 5:
//!   1. the Global Administrator sets the policy: enabled, multi-use allowed, ...
//!   2. the Global Administrator creates a pass for Alice
//!   3. Alice signs in with a wrong code (browser)
//!   4. Alice signs in with a wrong code (browser)
//!   5. Alice signs in with their latest code (browser)
//! the host answered: Redeem(Ok(Granted { .. }))
//! the rules answer:  Redeem(Err(Unusable(PolicyBlocked(Locked { until: .. }))))
//! ```
//!
//! # Features
//!
//! - `std` (default): [`SystemClock`], [`ManualClock`], [`InMemoryStore`] and the operating
//!   system's RNG ([`SysRng`]). Without it the crate is `#![no_std]` with `alloc`.
//! - `serde`: the `graph` module.
//! - `test-support`: the `testing` module (not covered by semver).
//! - `test-support-tokio`: the conformance suite's task races and `AsyncEngineHost`, on tokio.
//!
//! # Security model
//!
//! - The plaintext code exists only in the creation result ([`Passcode`]); it prints as
//!   `[REDACTED]`, has no `Display` and is zeroed on drop.
//! - The store holds a digest: HMAC-SHA256 keyed by the host's [`Pepper`] over a fixed-size
//!   input; nothing seals or verifies without a [`DigestKey`], and only
//!   [`DigestKey::unkeyed`] says otherwise (SPEC 6.1).
//! - Digests are compared in constant time, and the whole sign-in decision does the same work
//!   for every state of the pass, including none (SPEC 6.2).
//! - Every judged attempt commits through a compare-and-swap of what it was judged on, so
//!   concurrent attempts count as one after another (SPEC 6.5).
//!
//! See `SECURITY.md` for the threat model and what the measurements show.
//!
//! # Where things are
//!
//! The crate root holds the everyday names. The rest is grouped: [`policy`] (settings,
//! lifetimes, errors, changing the policy), [`admin`] (viewing, deleting, roles and
//! permissions, creation options), [`signin`] (offer, redemption, registration),
//! [`store`] (the storage interface), [`error`] (every error type in one place), [`hazmat`]
//! (digest primitives and record parts), `graph` (feature `serde`) and `testing` (feature
//! `test-support`).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod admin;
pub mod ceremony;
mod clock;
mod config;
mod create;
mod digest;
mod effect;
mod engine;
mod event;
pub mod grant;
#[cfg(feature = "serde")]
pub mod graph;
pub mod hazmat;
mod ids;
pub mod method;
pub mod onboarding;
mod pass;
mod passcode;
mod plan;
pub mod policy;
mod principal;
mod range;
pub mod signin;
pub mod store;
#[cfg(feature = "test-support")]
pub mod testing;
mod usability;
mod view;

/// Every error type of the crate, in one place. Each operation has its own; "rejected" (a rule
/// refused) and "broken" (a store or the RNG failed) are kept apart, and both deny.
pub mod error {
    pub use crate::admin::{DeleteError, ViewError};
    pub use crate::ceremony::CeremonyError;
    pub use crate::clock::ClockOutOfRange;
    pub use crate::create::CreateError;
    pub use crate::digest::PepperError;
    pub use crate::engine::EngineError;
    pub use crate::ids::IdError;
    pub use crate::method::MethodError;
    pub use crate::onboarding::{AddMethodError, MethodAccessError, PasskeyError, ProvisionError};
    pub use crate::pass::RecordError;
    pub use crate::passcode::RngFailure;
    pub use crate::policy::{PolicyError, UpdatePolicyError};
    pub use crate::principal::PermissionError;
    pub use crate::range::OutOfRange;
    pub use crate::signin::{RedeemRefusal, RegistrationError};
}

pub use clock::Clock;
#[cfg(feature = "std")]
pub use clock::{ManualClock, SystemClock};
pub use config::EngineConfig;
pub use create::{CreateContext, CreateError, CreateRequest, CreatedPass, create};
pub use digest::{DigestKey, Pepper};
pub use effect::Effect;
pub use engine::{AsyncEngine, Engine, EngineError};
pub use event::Event;
pub use ids::{AppId, GroupId, PassId, UserId};
pub use pass::TemporaryAccessPass;
pub use passcode::Passcode;
pub use policy::{ExcludeTarget, IncludeTarget, Policy, PolicySettings, PolicyState};
pub use principal::{DirectoryRole, Principal};
pub use signin::{RedeemContext, RedeemRefusal, SignInRequest, redeem};
#[cfg(feature = "std")]
pub use store::InMemoryStore;
pub use usability::{BlockCause, Usability};

/// The operating system's cryptographic RNG (re-exported from `getrandom`), for hosts that have
/// no RNG of their own. Pass `&mut SysRng` wherever an RNG is asked for; any
/// `rand_core::TryCryptoRng` works.
#[cfg(feature = "std")]
pub use getrandom::SysRng;

/// The `time` crate, re-exported: the public API is written in its types (`UtcDateTime`,
/// `Duration`), so a host names them as `temporary_access_pass::time::…` with no dependency of
/// its own. One exception: `time`'s macros (`utc_datetime!`) expand to `::time::…` paths and
/// need `time`, with its `macros` feature, among your own dependencies; without it, build times
/// with `Date::from_calendar_date(…)?.with_hms(…)?.as_utc()`, as the quick start does.
pub use time;
