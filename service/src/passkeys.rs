//! Onboarding a passkey in the ten minutes a pass opens (SPEC 8), with `webauthn-rs`.
//!
//! A sign-in with a pass opens a **registration session**: an unguessable id in an `HttpOnly`,
//! `SameSite=Strict` cookie, pointing at the grant the engine returned. It lives in this
//! instance's memory (sticky routing, or a shared store in its place, for several instances),
//! and only as long as the grant's window. Each step of the ceremony asks the engine first
//! whether the grant's user may still register ([`AsyncEngine::register`]: the user's own
//! grant, inside the window, the pass behind it still stored); the challenge is the session's,
//! single-use, and answered once. The key is stored only if the pass behind the grant is still
//! stored at that instant: the SQL stores insert it in the statement that checks
//! (`INSERT ... WHERE EXISTS`, holding the pass's row on PostgreSQL), so a deletion that
//! lands first wins.
//!
//! Signing in with the passkey afterwards needs no pass: a second ceremony against the keys
//! stored for the user, its state in memory for five minutes under a cookie of its own.
//!
//! One concern a file: the relying party ([`WebauthnSettings`]), a key as stored and as Graph
//! shows it ([`StoredMethod`], [`Fido2Method`]), where keys are kept ([`CredentialStore`]),
//! and the ceremonies in progress ([`Onboarding`]).
//!
//! [`AsyncEngine::register`]: temporary_access_pass::AsyncEngine::register

mod ceremonies;
mod credentials;
mod method;
mod relying_party;

pub use ceremonies::{
    CeremonyError, LOGIN_COOKIE, LOGIN_WINDOW, MAX_CEREMONIES, MAX_SESSIONS_PER_USER, Onboarding,
    SESSION_COOKIE,
};
pub use credentials::{
    Added, BoxFuture, CredentialError, CredentialStore, MemoryCredentials, PgCredentials,
    SqliteCredentials,
};
pub use method::{Fido2Method, StoredMethod};
pub use relying_party::{WebauthnSettings, user_handle};
