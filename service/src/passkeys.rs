//! Onboarding a passkey in the window a pass opens (SPEC 8), with `webauthn-rs`; the
//! ceremonies' state and the keys live in the store, so any instance continues any ceremony
//! and a restart loses none (SPEC 8.4).
//!
//! - A sign-in with a pass opens a **registration session** in the store
//!   ([`AsyncEngine::open_session`]), its id in an `HttpOnly`, `SameSite=Strict` cookie; each
//!   step of the ceremony is judged on it by the engine (the session's user, the window, the
//!   pass still stored). The creation options' state is kept in the session and taken once.
//!   The key is stored with its audit event only while the pass is
//!   ([`AsyncEngine::register_method`]).
//! - An administrator **provisions** a key for a user as Graph does
//!   (`fido2Methods/creationOptions`, then `POST fido2Methods`), the options' state kept under
//!   the challenge they issue.
//! - A **passkey sign-in** keeps only its challenge and the credential ids it allows; the
//!   key is read again when the answer comes, its use recorded only at the version verified,
//!   and a key whose counter goes back is blocked.
//!
//! One concern a file: the relying party ([`WebauthnSettings`]), the ceremonies as
//! `webauthn-rs` runs them ([`Onboarding`]), and attestation ([`roots_from_json`]).
//!
//! [`AsyncEngine::open_session`]: temporary_access_pass::AsyncEngine::open_session
//! [`AsyncEngine::register_method`]: temporary_access_pass::AsyncEngine::register_method

mod attestation;
mod ceremonies;
mod relying_party;

pub use attestation::{roots_from_json, stated_aaguid};
pub use ceremonies::{CeremonyError, Onboarding, Verified, method_id};
pub use relying_party::{RelyingPartyKey, WebauthnSettings};

/// The registration session's cookie.
pub const SESSION_COOKIE: &str = "tap_registration";

/// The passkey sign-in's cookie.
pub const LOGIN_COOKIE: &str = "tap_passkey_login";

/// How long a passkey sign-in's challenge stays open.
pub const LOGIN_WINDOW: temporary_access_pass::time::Duration =
    temporary_access_pass::onboarding::SIGN_IN_WINDOW;
