//! Temporary Access Pass (TAP) logic of Microsoft Entra ID, as a pure, embeddable core.
//!
//! A Temporary Access Pass is a time-limited passcode an administrator issues to a user so the
//! user can sign in and register strong, passwordless credentials, or recover after losing them.
//! This crate decides everything about such passes: whether a policy is valid, who may create,
//! view or delete a pass for whom, what a new pass is, and whether a pass is usable now. Rules are
//! cited as `SPEC n.m` from the project's specification.
//!
//! **What it does not do:** no I/O, no system clock, no ambient randomness. Every decision is a
//! function of its inputs (policy, records, principals, request, `now`, an RNG passed in) and
//! returns a value holding the outcome, the events to log and the effects to carry out.
//!
//! # Quick start
//!
//! ```
//! use temporary_access_pass::{
//!     CreatePassRequest, DigestKey, DirectoryRole, GroupId, IncludeTarget, IssueContext, Pepper,
//!     Policy, PolicySettings, PolicyState, Principal, Usability, UserId, issue,
//! };
//! use time::{Duration, macros::utc_datetime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let onboarding = GroupId::new("onboarding")?;
//! let policy = Policy::new(
//!     PolicySettings::new()
//!         .state(PolicyState::Enabled)
//!         .include(IncludeTarget::Group(onboarding.clone())),
//! )?;
//! let admin = Principal::member(UserId::new("admin@contoso.com")?)
//!     .with_role(DirectoryRole::AuthenticationAdministrator);
//! let user = Principal::member(UserId::new("chris@contoso.com")?).with_group(onboarding);
//! // In production the pepper is a secret from your key store, never the store's.
//! let key = DigestKey::from(Pepper::new(&[0x42; 32])?);
//!
//! let now = utc_datetime!(2021-03-09 23:19:17);
//! let ctx = IssueContext::new(&policy, &key, &admin, &user);
//! let request = CreatePassRequest::new().usable_once(true);
//! let issued = issue(&ctx, &request, now, &mut getrandom::SysRng)?;
//!
//! // Shown once to the administrator; the store only ever sees `issued.record`.
//! let code = issued.created.passcode.expose_secret();
//! assert_eq!(code.len(), 8);
//! let pass = issued.record;
//! assert!(pass.verify_code(&key, code));
//! assert!(!pass.verify_code(&key, "not-it!!"));
//! assert_eq!(pass.usability(&policy, &user, now), Usability::Usable);
//! let later = now + Duration::minutes(60);
//! assert_eq!(pass.usability(&policy, &user, later), Usability::Expired { at: later });
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `std` (default): [`SystemClock`], [`ManualClock`] and the operating system's RNG
//!   ([`SysRng`], from `getrandom`). Without it the crate is `#![no_std]` with `alloc`.
//! - `serde`: Microsoft Graph's JSON shapes ([`graph`]) for the policy, the pass view, the
//!   creation request and response, and a storage form of the record. A code is serialized only
//!   in the explicit creation response.
//! - `test-support`: the store [`conformance`] suite and proptest [`strategies`] for downstream
//!   harnesses (not covered by semver).
//!
//! # Security model
//!
//! - The plaintext code exists only in the creation result ([`Passcode`]); it prints as
//!   `[REDACTED]`, has no `Display` and is zeroed on drop.
//! - The store holds a [`CodeDigest`]: HMAC-SHA256 keyed by the host's [`Pepper`] (or, without
//!   one, SHA-256, which lets whoever steals the store test guesses offline) over a per-pass
//!   salt, the pass id and the code.
//! - Verification compares fixed-size digests in constant time; a wrong length costs what a
//!   wrong code costs, and a user with no pass runs the same routine on a dummy record
//!   ([`verify_or_dummy`], which [`redeem`] uses for both cases).
//! - Codes have ≈ 46.5 bits of entropy at the default length (see [`ALPHABET`]); the lifetime and
//!   one-time use bound how long a guesser has. See `SECURITY.md` for the full threat model.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod clock;
#[cfg(feature = "test-support")]
pub mod conformance;
mod engine;
mod event;
#[cfg(feature = "serde")]
pub mod graph;
mod ids;
mod pass;
mod passcode;
mod plan;
mod policy;
mod principal;
mod signin;
mod store;
#[cfg(feature = "test-support")]
pub mod strategies;
mod usability;

pub use clock::{Clock, ClockOutOfRange};
#[cfg(feature = "std")]
pub use clock::{ManualClock, SystemClock};
pub use engine::{Engine, EngineConfig, EngineError, SignIn};
pub use event::{Effect, Event};
pub use ids::{GroupId, IdError, MAX_ID_LEN, PassId, PassIdError, UserId};
pub use pass::{
    CreatePassRequest, CreatedPass, Deleted, IssueContext, IssueError, IssueOptions, Issued,
    PassView, RecordError, RecordParts, TemporaryAccessPass, ViewError, delete_pass, issue,
    view_pass,
};
pub use passcode::{
    ALPHABET, CodeDigest, DIGEST_INPUT_LEN, DigestKey, DigestScheme, ENTROPY_BITS_LENGTH_8,
    Passcode, Pepper, PepperError, RngFailure, compute_digest,
};
pub use policy::{
    ExcludeTarget, IncludeTarget, Lifetime, PasscodeLength, Policy, PolicyChange,
    PolicyChangeError, PolicyError, PolicySettings, PolicyState, RangeError, Scope,
};
pub use principal::{
    Action, Denial, DirectoryRole, PermissionError, Principal, TargetClass, UserType, authorize,
};
pub use signin::{
    Client, CredentialPolicyBlock, Grant, Lockout, LockoutError, NextStep, NotOffered, Offer,
    PasswordlessMethod, Prompt, REGISTRATION_WINDOW, RedeemRefusal, RedeemSettings, Redemption,
    RegistrationError, ShownRefusal, SignInContext, authorize_registration, offer, redeem,
};
#[cfg(feature = "std")]
pub use store::InMemoryStore;
pub use store::{Expected, Loaded, RecordStamp, Store, Version, Versioned, Write};
pub use usability::{BlockCause, Usability};

// The README's example runs as a doctest too, so the two cannot drift apart.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

/// The operating system's cryptographic RNG (re-exported from `getrandom`), for hosts that have
/// no RNG of their own. Pass `&mut SysRng` wherever an RNG is asked for.
#[cfg(feature = "std")]
pub use getrandom::SysRng;

/// The RNG traits this crate's functions are bounded by (re-exported from `rand_core`).
pub use rand_core::{TryCryptoRng, TryRng};
