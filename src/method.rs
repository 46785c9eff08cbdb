//! A registered passwordless method as the store keeps it (SPEC 8.2, 8.4): a FIDO2 security
//! key or passkey, with what Graph shows of it and the host's opaque credential.
//!
//! The crate never reads the credential: it is the host's WebAuthn library's serialised key
//! (for the reference service, `webauthn-rs`'s `Passkey`, without attestation certificates),
//! kept so that any instance can verify a sign-in with it. What the crate decides on is around
//! it: whose it is, who registered it and how, when it was last used, whether it was blocked.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use time::UtcDateTime;

use crate::grant::Initiator;
use crate::ids::{IdError, PassId, UserId, check_text};

/// The longest method id accepted, in characters: a WebAuthn credential id is at most 1,023
/// bytes, 1,364 characters of unpadded URL-safe base64.
const MAX_METHOD_ID_LEN: usize = 1364;

/// Checks a token of `kind`: `min` to `max` characters of the URL-safe base64 alphabet.
pub(crate) fn check_token(
    kind: &'static str,
    text: &str,
    min: usize,
    max: usize,
) -> Result<(), IdError> {
    if let Some(found) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
    {
        return Err(IdError::NotAToken { kind, found });
    }
    if !text.is_empty() && text.len() < min {
        return Err(IdError::TooShort {
            kind,
            len: text.len(),
            min,
        });
    }
    check_text(kind, text, max)
}

/// A registered method's id: for a FIDO2 key, its credential id in unpadded URL-safe base64,
/// as Graph's `fido2AuthenticationMethod.id` shows it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MethodId(Arc<str>);

impl MethodId {
    /// The longest id accepted, in characters.
    pub const MAX_LEN: usize = MAX_METHOD_ID_LEN;

    /// Checks and wraps an id: 1 to [`Self::MAX_LEN`] characters of `A-Z`, `a-z`, `0-9`, `-`
    /// and `_`.
    ///
    /// # Errors
    ///
    /// [`IdError`] naming what is wrong.
    pub fn new(id: &str) -> Result<Self, IdError> {
        check_token("method", id, 1, Self::MAX_LEN)?;
        Ok(Self(Arc::from(id)))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MethodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MethodId({:?})", &*self.0)
    }
}

impl fmt::Display for MethodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for MethodId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

/// The name a user or an administrator gives a method (Graph's `displayName`): 1 to
/// [`MethodName::MAX_LEN`] bytes of visible characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MethodName(Arc<str>);

impl MethodName {
    /// The longest name accepted, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps a name: trimmed, then 1 to [`Self::MAX_LEN`] bytes with none of the
    /// characters ids refuse (controls, invisible format characters, default-ignorable code
    /// points, separators other than the space).
    ///
    /// # Errors
    ///
    /// [`IdError`] naming what is wrong.
    pub fn new(name: &str) -> Result<Self, IdError> {
        let name = name.trim();
        check_text("method name", name, Self::MAX_LEN)?;
        Ok(Self(Arc::from(name)))
    }

    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MethodName({:?})", &*self.0)
    }
}

impl fmt::Display for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far a method's attestation was checked (Graph's `attestationLevel`, SPEC 8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttestationLevel {
    /// The attestation's certificate chain verified against roots the host configured.
    Attested,
    /// No chain was verified: the AAGUID is only what the authenticator stated.
    NotAttested,
}

/// How a method came to be registered (SPEC 7.4, 8.4, 8.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MethodOrigin {
    /// The user registered it, signed in with this pass.
    ThroughPass(PassId),
    /// An administrator provisioned it on the user's behalf, or an application did.
    ByAdministrator(Initiator),
}

/// Why a method's fields were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MethodError {
    /// The host's credential is empty or larger than allowed.
    #[error("the credential is {len} bytes: 1 to {max} are allowed")]
    CredentialSize {
        /// Its length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
}

/// A registered passwordless method (SPEC 8.2, 8.4): what the store keeps of a FIDO2 key or
/// passkey. Built with [`RegisteredMethod::new`]; its use and a block change it through
/// [`RegisteredMethod::used`] and [`RegisteredMethod::blocked`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisteredMethod {
    id: MethodId,
    user: UserId,
    name: MethodName,
    created: UtcDateTime,
    last_used: Option<UtcDateTime>,
    aaguid: Option<[u8; 16]>,
    attestation: AttestationLevel,
    origin: MethodOrigin,
    blocked: Option<UtcDateTime>,
    credential: Vec<u8>,
}

impl fmt::Debug for RegisteredMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredMethod")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("name", &self.name)
            .field("created", &self.created)
            .field("last_used", &self.last_used)
            .field("attestation", &self.attestation)
            .field("origin", &self.origin)
            .field("blocked", &self.blocked)
            .field("credential_len", &self.credential.len())
            .finish_non_exhaustive()
    }
}

/// The fields of a method that a host gives when it registers one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewMethod {
    /// Its id (the credential id).
    pub id: MethodId,
    /// The name it was given.
    pub name: MethodName,
    /// The authenticator's AAGUID, as attested or as stated (see `attestation`).
    pub aaguid: Option<[u8; 16]>,
    /// How far the attestation was checked.
    pub attestation: AttestationLevel,
    /// The host's credential, opaque to the crate.
    pub credential: Vec<u8>,
}

impl NewMethod {
    /// A method named `name` with id `id` and the host's `credential`, not attested, no AAGUID.
    #[must_use]
    pub const fn new(id: MethodId, name: MethodName, credential: Vec<u8>) -> Self {
        Self {
            id,
            name,
            aaguid: None,
            attestation: AttestationLevel::NotAttested,
            credential,
        }
    }

    /// Sets the AAGUID and how far it was checked.
    #[must_use]
    pub const fn aaguid(mut self, aaguid: Option<[u8; 16]>, level: AttestationLevel) -> Self {
        self.aaguid = aaguid;
        self.attestation = level;
        self
    }
}

impl RegisteredMethod {
    /// The most bytes a host's credential may take. A WebAuthn public key with its id and
    /// counters, serialised, is far smaller; the bound keeps a padded key from filling a
    /// store or a reader's memory.
    pub const MAX_CREDENTIAL_LEN: usize = 8 * 1024;

    /// `new`, registered for `user` at `now`, as `origin` says.
    ///
    /// # Errors
    ///
    /// [`MethodError::CredentialSize`] for an empty credential or one over
    /// [`Self::MAX_CREDENTIAL_LEN`].
    pub fn new(
        new: NewMethod,
        user: UserId,
        origin: MethodOrigin,
        now: UtcDateTime,
    ) -> Result<Self, MethodError> {
        let len = new.credential.len();
        if len == 0 || len > Self::MAX_CREDENTIAL_LEN {
            return Err(MethodError::CredentialSize {
                len,
                max: Self::MAX_CREDENTIAL_LEN,
            });
        }
        Ok(Self {
            id: new.id,
            user,
            name: new.name,
            created: now,
            last_used: None,
            aaguid: new.aaguid,
            attestation: new.attestation,
            origin,
            blocked: None,
            credential: new.credential,
        })
    }

    /// Rebuilds a method from its stored parts (a store reading its own form back).
    ///
    /// # Errors
    ///
    /// [`MethodError::CredentialSize`], as [`RegisteredMethod::new`].
    pub fn from_parts(
        new: NewMethod,
        user: UserId,
        origin: MethodOrigin,
        created: UtcDateTime,
        last_used: Option<UtcDateTime>,
        blocked: Option<UtcDateTime>,
    ) -> Result<Self, MethodError> {
        let mut method = Self::new(new, user, origin, created)?;
        method.last_used = last_used;
        method.blocked = blocked;
        Ok(method)
    }

    /// The id.
    #[must_use]
    pub const fn id(&self) -> &MethodId {
        &self.id
    }

    /// Whose it is.
    #[must_use]
    pub const fn user(&self) -> &UserId {
        &self.user
    }

    /// Its name.
    #[must_use]
    pub const fn name(&self) -> &MethodName {
        &self.name
    }

    /// When it was registered.
    #[must_use]
    pub const fn created(&self) -> UtcDateTime {
        self.created
    }

    /// When it last signed its user in, if ever.
    #[must_use]
    pub const fn last_used(&self) -> Option<UtcDateTime> {
        self.last_used
    }

    /// The authenticator's AAGUID, as [`RegisteredMethod::attestation`] says it was checked.
    #[must_use]
    pub const fn aaguid(&self) -> Option<[u8; 16]> {
        self.aaguid
    }

    /// How far its attestation was checked.
    #[must_use]
    pub const fn attestation(&self) -> AttestationLevel {
        self.attestation
    }

    /// How it was registered.
    #[must_use]
    pub const fn origin(&self) -> &MethodOrigin {
        &self.origin
    }

    /// When it was blocked (a possible clone, SPEC 8.6), if it was: a blocked method signs
    /// nobody in.
    #[must_use]
    pub const fn blocked(&self) -> Option<UtcDateTime> {
        self.blocked
    }

    /// The host's credential.
    #[must_use]
    pub fn credential(&self) -> &[u8] {
        &self.credential
    }

    /// The method after a sign-in at `now` that left the host's credential as `credential`
    /// (its signature counter moved).
    ///
    /// # Errors
    ///
    /// [`MethodError::CredentialSize`], as [`RegisteredMethod::new`].
    pub fn used(&self, credential: Vec<u8>, now: UtcDateTime) -> Result<Self, MethodError> {
        let len = credential.len();
        if len == 0 || len > Self::MAX_CREDENTIAL_LEN {
            return Err(MethodError::CredentialSize {
                len,
                max: Self::MAX_CREDENTIAL_LEN,
            });
        }
        let mut method = self.clone();
        method.credential = credential;
        method.last_used = Some(now);
        Ok(method)
    }

    /// The method blocked at `now`.
    #[must_use]
    pub fn blocked_at(&self, now: UtcDateTime) -> Self {
        let mut method = self.clone();
        method.blocked = Some(now);
        method
    }

    /// The fields a host gave, as [`NewMethod`] (a store writing its own form).
    #[must_use]
    pub fn new_method(&self) -> NewMethod {
        NewMethod {
            id: self.id.clone(),
            name: self.name.clone(),
            aaguid: self.aaguid,
            attestation: self.attestation,
            credential: self.credential.clone(),
        }
    }
}
