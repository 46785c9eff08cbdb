//! The ceremonies in progress ([`Onboarding`]): registration sessions, each bound to the
//! grant of a sign-in with a pass and holding the options it has outstanding, and passkey
//! sign-ins waiting for their answer. They live in this instance's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use temporary_access_pass::UserId;
use temporary_access_pass::signin::Grant;
use temporary_access_pass::time::{Duration, UtcDateTime};
use webauthn_rs::prelude::{PasskeyAuthentication, PasskeyRegistration, Webauthn};

use super::credentials::{CredentialStore, MemoryCredentials};
use super::relying_party::WebauthnSettings;
use crate::http::GraphError;

/// The registration session's cookie.
pub const SESSION_COOKIE: &str = "tap_registration";

/// The passkey sign-in's cookie.
pub const LOGIN_COOKIE: &str = "tap_passkey_login";

/// How long a passkey sign-in's challenge stays open.
pub const LOGIN_WINDOW: Duration = Duration::minutes(5);

/// The most registration sessions one user has open: opening one more ends their oldest, so
/// the holder of a multi-use pass (whose window is the pass's lifetime) cannot fill the table.
pub const MAX_SESSIONS_PER_USER: usize = 8;

/// The most ceremonies kept at once, of each kind: past it, new ones are refused (503) until
/// old ones expire. Sessions need a right code; sign-in challenges are limited per source.
pub const MAX_CEREMONIES: usize = 100_000;

/// A registration session: the grant behind it, and the options it has outstanding.
struct Session {
    grant: Grant,
    opened: u64,
    pending: Option<PasskeyRegistration>,
}

/// A passkey sign-in waiting for its answer.
struct Login {
    user: UserId,
    state: PasskeyAuthentication,
    until: UtcDateTime,
}

/// The relying party, the ceremonies in progress, and where keys are kept.
pub struct Onboarding {
    webauthn: Webauthn,
    settings: WebauthnSettings,
    sessions: Mutex<HashMap<String, Session>>,
    /// Sessions opened so far: the order of `Session::opened`.
    opened: std::sync::atomic::AtomicU64,
    logins: Mutex<HashMap<String, Login>>,
    credentials: Arc<dyn CredentialStore>,
}

impl std::fmt::Debug for Onboarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Onboarding")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a ceremony could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// No session under the cookie (never opened, expired, or revoked).
    #[error("no registration session: sign in with your Temporary Access Pass first")]
    NoSession,
    /// The session has no options outstanding (never asked, or already answered).
    #[error("no registration options are outstanding for this session: ask for new ones")]
    NoOptions,
    /// No passkey sign-in under the cookie (never started, expired, or already answered).
    #[error("no passkey sign-in is in progress: start again")]
    NoLogin,
    /// Too many ceremonies are in progress.
    #[error("too many sign-ins are in progress: try again later")]
    Full,
    /// `webauthn-rs` refused.
    #[error("the security key's answer was refused: {0}")]
    Webauthn(String),
}

impl From<CeremonyError> for GraphError {
    fn from(error: CeremonyError) -> Self {
        match error {
            CeremonyError::NoSession | CeremonyError::NoLogin => Self::forbidden(error),
            CeremonyError::NoOptions | CeremonyError::Webauthn(_) => Self::bad_request(error),
            CeremonyError::Full => Self::busy(error),
        }
    }
}

/// An unguessable id: 32 random bytes, base64url.
fn random_id() -> Result<String, CeremonyError> {
    use rand_core::TryRng as _;
    let mut bytes = [0_u8; 32];
    temporary_access_pass::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| CeremonyError::Full)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Onboarding {
    /// The relying party of `settings`, keeping keys in `credentials`.
    ///
    /// # Errors
    ///
    /// `webauthn-rs`'s, when the RP ID does not suit the origin.
    pub fn new(
        settings: WebauthnSettings,
        credentials: Arc<dyn CredentialStore>,
    ) -> Result<Self, String> {
        let webauthn = settings.relying_party()?;
        Ok(Self {
            webauthn,
            settings,
            sessions: Mutex::new(HashMap::new()),
            opened: std::sync::atomic::AtomicU64::new(0),
            logins: Mutex::new(HashMap::new()),
            credentials,
        })
    }

    /// Pages served from `http://localhost`, keys kept in memory: [`crate::App::new`]'s
    /// default, which a host replaces with [`crate::App::onboarding`].
    ///
    /// # Panics
    ///
    /// Never: the origin and RP ID are constants `webauthn-rs` accepts (a test builds them).
    #[must_use]
    #[expect(
        clippy::expect_used,
        reason = "a constant origin and RP ID that webauthn-rs accepts (a test builds it)"
    )]
    pub fn localhost() -> Self {
        let settings = WebauthnSettings::for_origin("http://localhost").expect("a constant URL");
        Self::new(settings, Arc::new(MemoryCredentials::default()))
            .expect("localhost is a valid relying party")
    }

    /// The relying party's settings.
    #[must_use]
    pub const fn settings(&self) -> &WebauthnSettings {
        &self.settings
    }

    /// Where keys are kept.
    #[must_use]
    pub fn credentials(&self) -> &dyn CredentialStore {
        &*self.credentials
    }

    /// `webauthn-rs`'s relying party.
    #[must_use]
    pub const fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    /// Opens a session for `grant`; its id, for the cookie. Sessions whose window has closed
    /// are forgotten first, and the user's oldest when they have [`MAX_SESSIONS_PER_USER`].
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Full`].
    pub fn open(&self, grant: Grant, now: UtcDateTime) -> Result<String, CeremonyError> {
        let id = random_id()?;
        let opened = self
            .opened
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| now < s.grant.registration_until);
        let theirs: Vec<(&String, u64)> = sessions
            .iter()
            .filter(|(_, s)| s.grant.user == grant.user)
            .map(|(id, s)| (id, s.opened))
            .collect();
        if theirs.len() >= MAX_SESSIONS_PER_USER
            && let Some(oldest) = theirs
                .iter()
                .min_by_key(|(_, o)| *o)
                .map(|(id, _)| (*id).clone())
        {
            sessions.remove(&oldest);
        }
        if sessions.len() >= MAX_CEREMONIES {
            return Err(CeremonyError::Full);
        }
        sessions.insert(
            id.clone(),
            Session {
                grant,
                opened,
                pending: None,
            },
        );
        Ok(id)
    }

    /// The grant of session `id`.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::NoSession`].
    pub fn grant(&self, id: &str) -> Result<Grant, CeremonyError> {
        lock(&self.sessions)
            .get(id)
            .map(|s| s.grant.clone())
            .ok_or(CeremonyError::NoSession)
    }

    /// Ends session `id` (its window closed, or its pass is gone).
    pub fn close(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Keeps `state` as the one set of options session `id` has outstanding (replacing any).
    ///
    /// # Errors
    ///
    /// [`CeremonyError::NoSession`].
    pub fn set_pending(&self, id: &str, state: PasskeyRegistration) -> Result<(), CeremonyError> {
        let mut sessions = lock(&self.sessions);
        let session = sessions.get_mut(id).ok_or(CeremonyError::NoSession)?;
        session.pending = Some(state);
        Ok(())
    }

    /// Takes session `id`'s outstanding options: they answer once.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::NoSession`], [`CeremonyError::NoOptions`].
    pub fn take_pending(&self, id: &str) -> Result<PasskeyRegistration, CeremonyError> {
        let mut sessions = lock(&self.sessions);
        let session = sessions.get_mut(id).ok_or(CeremonyError::NoSession)?;
        session.pending.take().ok_or(CeremonyError::NoOptions)
    }

    /// Starts a passkey sign-in for `user`, with `state`; its id, for the cookie.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::Full`].
    pub fn start_login(
        &self,
        user: UserId,
        state: PasskeyAuthentication,
        now: UtcDateTime,
    ) -> Result<String, CeremonyError> {
        let id = random_id()?;
        let mut logins = lock(&self.logins);
        logins.retain(|_, l| now < l.until);
        if logins.len() >= MAX_CEREMONIES {
            return Err(CeremonyError::Full);
        }
        let until = now.checked_add(LOGIN_WINDOW).unwrap_or(now);
        logins.insert(id.clone(), Login { user, state, until });
        Ok(id)
    }

    /// Takes passkey sign-in `id`, if it is still open at `now`: it answers once.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::NoLogin`].
    pub fn take_login(
        &self,
        id: &str,
        now: UtcDateTime,
    ) -> Result<(UserId, PasskeyAuthentication), CeremonyError> {
        let login = lock(&self.logins)
            .remove(id)
            .ok_or(CeremonyError::NoLogin)?;
        if now >= login.until {
            return Err(CeremonyError::NoLogin);
        }
        Ok((login.user, login.state))
    }
}
