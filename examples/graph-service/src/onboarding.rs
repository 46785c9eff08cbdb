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
//! [`AsyncEngine::register`]: temporary_access_pass::AsyncEngine::register

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use temporary_access_pass::signin::Grant;
use temporary_access_pass::time::{Duration, UtcDateTime};
use temporary_access_pass::{PassId, UserId};
use webauthn_rs::prelude::{
    AttestationMetadata, Credential, Passkey, PasskeyAuthentication, PasskeyRegistration, Url,
    Uuid, Webauthn, WebauthnBuilder,
};

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

/// The relying party: who the keys are registered with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebauthnSettings {
    /// The RP ID: the origin's host, or a registrable suffix of it (`contoso.com`).
    pub rp_id: String,
    /// The origin the page is served from (`https://tap.contoso.com`).
    pub origin: Url,
    /// The name authenticators show.
    pub rp_name: String,
}

impl WebauthnSettings {
    /// Settings for pages served from `origin`, its host the RP ID.
    ///
    /// # Errors
    ///
    /// When `origin` is not a URL with a host.
    pub fn for_origin(origin: &str) -> Result<Self, String> {
        let origin = Url::parse(origin).map_err(|e| format!("{origin}: {e}"))?;
        let rp_id = origin
            .host_str()
            .ok_or_else(|| format!("{origin}: no host"))?
            .to_owned();
        Ok(Self {
            rp_id,
            origin,
            rp_name: "Temporary Access Pass".to_owned(),
        })
    }
}

/// A boxed future, for the object-safe [`CredentialStore`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the credential store failed (its own error, in words: it is logged, not returned).
#[derive(Debug, thiserror::Error)]
#[error("the credential store failed: {0}")]
pub struct CredentialError(pub String);

/// What adding a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Added {
    /// Stored.
    Added,
    /// The pass behind the registration is no longer stored: nothing was.
    PassGone,
    /// A key with this credential id is stored already.
    Duplicate,
}

/// A registered key, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredMethod {
    /// The credential id, base64url without padding: the method's `id`.
    pub id: String,
    /// The name the user gave it.
    pub display_name: String,
    /// When it was registered.
    #[serde(with = "temporary_access_pass::graph::rfc3339")]
    pub created: UtcDateTime,
    /// The authenticator's AAGUID, when its attestation gave one.
    pub aaguid: Option<Uuid>,
    /// Whether the attestation was verified.
    pub attested: bool,
    /// The key itself (public key, counter...), `webauthn-rs`'s own form.
    pub passkey: Passkey,
}

impl StoredMethod {
    /// A key just registered at `now`, named `display_name`.
    #[must_use]
    pub fn new(passkey: Passkey, display_name: String, now: UtcDateTime) -> Self {
        let credential: Credential = passkey.clone().into();
        let aaguid = match credential.attestation.metadata {
            AttestationMetadata::Packed { aaguid } | AttestationMetadata::Tpm { aaguid, .. } => {
                Some(aaguid)
            }
            _ => None,
        };
        Self {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            display_name,
            created: now,
            aaguid,
            attested: aaguid.is_some(),
            passkey,
        }
    }
}

/// `fido2AuthenticationMethod`: a registered key as Graph shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Fido2Method {
    /// `#microsoft.graph.fido2AuthenticationMethod`.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The method's id.
    pub id: String,
    /// The name the user gave it.
    pub display_name: String,
    /// When it was registered (Graph's list sample spells it `creationDateTime`).
    #[serde(alias = "creationDateTime")]
    pub created_date_time: String,
    /// The authenticator's AAGUID (all zeros when its attestation gave none).
    pub aa_guid: String,
    /// The manufacturer's model, when known.
    pub model: Option<String>,
    /// The attestation certificates' thumbprints (none are kept here).
    pub attestation_certificates: Vec<String>,
    /// `attested` or `notAttested`.
    pub attestation_level: String,
}

impl Fido2Method {
    /// The `@odata.type` of the resource.
    pub const ODATA_TYPE: &'static str = "#microsoft.graph.fido2AuthenticationMethod";
}

impl From<&StoredMethod> for Fido2Method {
    fn from(m: &StoredMethod) -> Self {
        Self {
            odata_type: Self::ODATA_TYPE.to_owned(),
            id: m.id.clone(),
            display_name: m.display_name.clone(),
            created_date_time: temporary_access_pass::graph::rfc3339::format(m.created)
                .unwrap_or_default(),
            aa_guid: m.aaguid.unwrap_or_default().to_string(),
            model: None,
            attestation_certificates: Vec::new(),
            attestation_level: if m.attested {
                "attested"
            } else {
                "notAttested"
            }
            .to_owned(),
        }
    }
}

/// Where registered keys are kept, per user. The SQL stores keep them beside the passes, and
/// add one only while the pass behind its registration is stored, in one statement.
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores `method` for `user`, if `pass` is the pass stored for `user` now.
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>>;

    /// The keys of `user`, oldest first.
    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>>;

    /// Replaces the stored form of `method` (its counter moved).
    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>>;
}

/// Keys in memory, for tests and the in-memory store. It cannot see the passes: it relies on
/// the engine's check just before it.
#[derive(Debug, Default)]
pub struct MemoryCredentials(Mutex<HashMap<UserId, Vec<StoredMethod>>>);

impl CredentialStore for MemoryCredentials {
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        _pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>> {
        Box::pin(async move {
            let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if all.values().flatten().any(|m| m.id == method.id) {
                return Ok(Added::Duplicate);
            }
            all.entry(user.clone()).or_default().push(method.clone());
            Ok(Added::Added)
        })
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>> {
        Box::pin(async move {
            let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(all.get(user).cloned().unwrap_or_default())
        })
    }

    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>> {
        Box::pin(async move {
            let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(stored) = all
                .get_mut(user)
                .and_then(|ms| ms.iter_mut().find(|m| m.id == method.id))
            {
                *stored = method.clone();
            }
            Ok(())
        })
    }
}

/// Keys in the SQLite file of the passes (`tap_fido2_methods`), on a connection of their own.
#[derive(Debug, Clone)]
pub struct SqliteCredentials(Arc<Mutex<rusqlite::Connection>>);

const SQLITE_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS tap_fido2_methods (
        id       TEXT PRIMARY KEY,
        user_id  TEXT NOT NULL,
        pass_id  TEXT NOT NULL,
        document TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tap_fido2_methods_user ON tap_fido2_methods (user_id);";

fn sqlite_error(e: impl std::fmt::Display) -> CredentialError {
    CredentialError(e.to_string())
}

impl SqliteCredentials {
    /// Opens the keys' table in the SQLite file at `path` (the passes' file), creating it when
    /// missing, a write waiting up to `busy_timeout` for the file's lock.
    ///
    /// # Errors
    ///
    /// SQLite's.
    pub fn open(
        path: &std::path::Path,
        busy_timeout: std::time::Duration,
    ) -> Result<Self, CredentialError> {
        let connection = rusqlite::Connection::open(path).map_err(sqlite_error)?;
        connection
            .busy_timeout(busy_timeout)
            .map_err(sqlite_error)?;
        connection
            .execute_batch(SQLITE_SCHEMA)
            .map_err(sqlite_error)?;
        Ok(Self(Arc::new(Mutex::new(connection))))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&rusqlite::Connection) -> Result<T, CredentialError> + Send + 'static,
    ) -> Result<T, CredentialError> {
        let connection = self.0.clone();
        tokio::task::spawn_blocking(move || {
            call(&connection.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await
        .map_err(sqlite_error)?
    }
}

impl CredentialStore for SqliteCredentials {
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>> {
        let user = user.as_str().to_owned();
        let id = method.id.clone();
        let document = serde_json::to_string(method).map_err(sqlite_error);
        Box::pin(self.blocking(move |c| {
            let document = document?;
            // One statement: the key is stored only while the pass is.
            let added = c
                .execute(
                    "INSERT INTO tap_fido2_methods (id, user_id, pass_id, document)
                     SELECT ?1, ?2, ?3, ?4
                     WHERE EXISTS (SELECT 1 FROM tap_passes WHERE user_id = ?2 AND pass_id = ?3)
                     ON CONFLICT (id) DO NOTHING",
                    (&id, &user, pass.to_string(), &document),
                )
                .map_err(sqlite_error)?;
            if added == 1 {
                return Ok(Added::Added);
            }
            let exists: bool = c
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM tap_fido2_methods WHERE id = ?1)",
                    [&id],
                    |row| row.get(0),
                )
                .map_err(sqlite_error)?;
            Ok(if exists {
                Added::Duplicate
            } else {
                Added::PassGone
            })
        }))
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>> {
        let user = user.as_str().to_owned();
        Box::pin(self.blocking(move |c| {
            let mut statement = c
                .prepare("SELECT document FROM tap_fido2_methods WHERE user_id = ?1 ORDER BY rowid")
                .map_err(sqlite_error)?;
            let documents = statement
                .query_map([&user], |row| row.get::<_, String>(0))
                .map_err(sqlite_error)?;
            documents
                .map(|d| serde_json::from_str(&d.map_err(sqlite_error)?).map_err(sqlite_error))
                .collect()
        }))
    }

    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>> {
        let user = user.as_str().to_owned();
        let id = method.id.clone();
        let document = serde_json::to_string(method).map_err(sqlite_error);
        Box::pin(self.blocking(move |c| {
            c.execute(
                "UPDATE tap_fido2_methods SET document = ?3 WHERE id = ?1 AND user_id = ?2",
                (&id, &user, &document?),
            )
            .map_err(sqlite_error)?;
            Ok(())
        }))
    }
}

/// Keys in the PostgreSQL database of the passes (`tap_fido2_methods`, per tenant).
#[derive(Clone)]
pub struct PgCredentials {
    pool: deadpool_postgres::Pool,
    tenant: String,
}

impl std::fmt::Debug for PgCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCredentials")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl PgCredentials {
    /// The keys of `tenant`, over `pool`; the table is created when missing.
    ///
    /// # Errors
    ///
    /// PostgreSQL's.
    pub async fn new(pool: deadpool_postgres::Pool, tenant: &str) -> Result<Self, CredentialError> {
        let client = pool.get().await.map_err(sqlite_error)?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS tap_fido2_methods (
                     tenant   text NOT NULL,
                     id       text NOT NULL,
                     user_id  text NOT NULL,
                     pass_id  text NOT NULL,
                     document text NOT NULL,
                     added    bigserial,
                     PRIMARY KEY (tenant, id)
                 );
                 CREATE INDEX IF NOT EXISTS tap_fido2_methods_user
                     ON tap_fido2_methods (tenant, user_id);",
            )
            .await
            .map_err(sqlite_error)?;
        Ok(Self {
            pool,
            tenant: tenant.to_owned(),
        })
    }
}

impl CredentialStore for PgCredentials {
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>> {
        Box::pin(async move {
            let document = serde_json::to_string(method).map_err(sqlite_error)?;
            let client = self.pool.get().await.map_err(sqlite_error)?;
            // One statement: the pass's row is held (FOR KEY SHARE) while the key is added, so a
            // deletion either lands first (nothing is added) or waits for this to commit.
            let added = client
                .execute(
                    "INSERT INTO tap_fido2_methods (tenant, id, user_id, pass_id, document)
                     SELECT $1, $2, $3, $4, $5
                     WHERE EXISTS (SELECT 1 FROM tap_passes
                                   WHERE tenant = $1 AND user_id = $3 AND pass_id = $4
                                   FOR KEY SHARE)
                     ON CONFLICT (tenant, id) DO NOTHING",
                    &[
                        &self.tenant,
                        &method.id,
                        &user.as_str(),
                        &pass.to_string(),
                        &document,
                    ],
                )
                .await
                .map_err(sqlite_error)?;
            if added == 1 {
                return Ok(Added::Added);
            }
            let exists: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM tap_fido2_methods WHERE tenant = $1 AND id = $2)",
                    &[&self.tenant, &method.id],
                )
                .await
                .and_then(|row| row.try_get(0))
                .map_err(sqlite_error)?;
            Ok(if exists {
                Added::Duplicate
            } else {
                Added::PassGone
            })
        })
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(sqlite_error)?;
            let rows = client
                .query(
                    "SELECT document FROM tap_fido2_methods
                     WHERE tenant = $1 AND user_id = $2 ORDER BY added",
                    &[&self.tenant, &user.as_str()],
                )
                .await
                .map_err(sqlite_error)?;
            rows.iter()
                .map(|row| {
                    let document: String = row.try_get(0).map_err(sqlite_error)?;
                    serde_json::from_str(&document).map_err(sqlite_error)
                })
                .collect()
        })
    }

    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>> {
        Box::pin(async move {
            let document = serde_json::to_string(method).map_err(sqlite_error)?;
            let client = self.pool.get().await.map_err(sqlite_error)?;
            client
                .execute(
                    "UPDATE tap_fido2_methods SET document = $4
                     WHERE tenant = $1 AND id = $2 AND user_id = $3",
                    &[&self.tenant, &method.id, &user.as_str(), &document],
                )
                .await
                .map_err(sqlite_error)?;
            Ok(())
        })
    }
}

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

/// An unguessable id: 32 random bytes, base64url.
fn random_id() -> Result<String, CeremonyError> {
    use rand_core::TryRng as _;
    let mut bytes = [0_u8; 32];
    temporary_access_pass::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| CeremonyError::Full)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The user handle a user's keys carry: stable per user, and not their name.
#[must_use]
pub fn user_handle(user: &UserId) -> Uuid {
    let digest = Sha256::digest(format!("tap user handle\u{1f}{}", user.as_str()));
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    // RFC 9562's version 8 (custom) and its variant.
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x80;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    Uuid::from_bytes(bytes)
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
        let webauthn = WebauthnBuilder::new(&settings.rp_id, &settings.origin)
            .map_err(|e| format!("WebAuthn: {e}"))?
            .rp_name(&settings.rp_name)
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| format!("WebAuthn: {e}"))?;
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
