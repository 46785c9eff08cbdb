//! A WebAuthn ceremony in progress, as the store keeps it (SPEC 8.4, 8.5, 8.6): a registration
//! session bound to the grant of a sign-in with a pass, an administrator's provisioning of a
//! key for a user, or a passkey sign-in waiting for its answer. Any instance continues a
//! ceremony another one started, and a restart loses none.
//!
//! What the host's WebAuthn library must remember between the two steps (the challenge, the
//! credential ids allowed or excluded) is the ceremony's *state*: opaque bytes, set once the
//! options are issued and taken exactly once when the answer comes.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use rand_core::TryCryptoRng;
use time::UtcDateTime;
use zeroize::Zeroizing;

use crate::grant::Initiator;
use crate::ids::{IdError, PassId, UserId};
use crate::method::check_token;

/// A ceremony's id: a random token (or the host's own, such as a WebAuthn challenge), 22 to
/// 128 characters of unpadded URL-safe base64. It is a bearer secret for the step that
/// follows: the reference service sends a registration session's id in an `HttpOnly` cookie.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CeremonyId(Arc<str>);

impl CeremonyId {
    /// The shortest id accepted, in characters: 128 bits of base64.
    pub const MIN_LEN: usize = 22;

    /// The longest id accepted, in characters.
    pub const MAX_LEN: usize = 128;

    /// Checks and wraps an id.
    ///
    /// # Errors
    ///
    /// [`IdError`] naming what is wrong.
    pub fn new(id: &str) -> Result<Self, IdError> {
        check_token("ceremony", id, Self::MIN_LEN, Self::MAX_LEN)?;
        Ok(Self(Arc::from(id)))
    }

    /// A fresh id: 256 bits from `rng`, in 43 characters of unpadded URL-safe base64
    /// (`base64ct`, in constant time: the id is a secret).
    ///
    /// # Errors
    ///
    /// The RNG's.
    pub fn random<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, R::Error> {
        let mut bytes = Zeroizing::new([0_u8; 32]);
        rng.try_fill_bytes(bytes.as_mut_slice())?;
        let text = Zeroizing::new(Base64UrlUnpadded::encode_string(bytes.as_slice()));
        Ok(Self(Arc::from(text.as_str())))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CeremonyId {
    /// Only the first characters: the id is a bearer secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.0.get(..6).unwrap_or("");
        write!(f, "CeremonyId({shown}…)")
    }
}

impl core::str::FromStr for CeremonyId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

/// What a ceremony is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CeremonyKind {
    /// A registration session opened by a sign-in with `pass` (SPEC 8.1): the user may
    /// register until `until` (exclusive), while the pass is stored.
    Registration {
        /// The pass behind the sign-in.
        pass: PassId,
        /// The end of the registration window (SPEC 5.5).
        until: UtcDateTime,
    },
    /// A key provisioned for the user by the administrator `by` (SPEC 8.5), or by an
    /// application.
    Provisioning {
        /// The administrator, or the application.
        by: Initiator,
    },
    /// A passkey sign-in waiting for its answer (SPEC 8.6).
    SignIn,
}

impl CeremonyKind {
    /// The kind's name, for messages and storage: `registration`, `provisioning`, `signIn`.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Registration { .. } => "registration",
            Self::Provisioning { .. } => "provisioning",
            Self::SignIn => "signIn",
        }
    }
}

/// Why a ceremony's fields were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// The state is larger than allowed.
    #[error("the ceremony's state is {len} bytes: at most {max} are allowed")]
    StateSize {
        /// Its length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// The ceremony would end before it opened.
    #[error("a ceremony must end after it opens")]
    EndsBeforeItOpens,
}

/// A ceremony in progress (see the module).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ceremony {
    id: CeremonyId,
    user: UserId,
    kind: CeremonyKind,
    opened: UtcDateTime,
    expires: UtcDateTime,
    state: Option<Vec<u8>>,
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("kind", &self.kind)
            .field("opened", &self.opened)
            .field("expires", &self.expires)
            .field("state_len", &self.state.as_ref().map(Vec::len))
            .finish()
    }
}

impl Ceremony {
    /// The most bytes a ceremony's state may take: a challenge and the ids of a user's keys
    /// (at most the cap of methods, each id at most 1,023 bytes) fit well within it.
    pub const MAX_STATE_LEN: usize = 64 * 1024;

    /// A ceremony `id` of `user`, of `kind`, opened at `opened` and over at `expires`
    /// (exclusive), with no state yet.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::EndsBeforeItOpens`].
    pub fn new(
        id: CeremonyId,
        user: UserId,
        kind: CeremonyKind,
        opened: UtcDateTime,
        expires: UtcDateTime,
    ) -> Result<Self, CeremonyError> {
        if expires <= opened {
            return Err(CeremonyError::EndsBeforeItOpens);
        }
        Ok(Self {
            id,
            user,
            kind,
            opened,
            expires,
            state: None,
        })
    }

    /// The same ceremony holding `state`.
    ///
    /// # Errors
    ///
    /// [`CeremonyError::StateSize`] over [`Self::MAX_STATE_LEN`].
    pub fn with_state(mut self, state: Option<Vec<u8>>) -> Result<Self, CeremonyError> {
        if let Some(len) = state.as_ref().map(Vec::len)
            && len > Self::MAX_STATE_LEN
        {
            return Err(CeremonyError::StateSize {
                len,
                max: Self::MAX_STATE_LEN,
            });
        }
        self.state = state;
        Ok(self)
    }

    /// The id.
    #[must_use]
    pub const fn id(&self) -> &CeremonyId {
        &self.id
    }

    /// Whose ceremony it is.
    #[must_use]
    pub const fn user(&self) -> &UserId {
        &self.user
    }

    /// What it is for.
    #[must_use]
    pub const fn kind(&self) -> &CeremonyKind {
        &self.kind
    }

    /// When it opened.
    #[must_use]
    pub const fn opened(&self) -> UtcDateTime {
        self.opened
    }

    /// When it is over (exclusive): from then on it is as if it did not exist.
    #[must_use]
    pub const fn expires(&self) -> UtcDateTime {
        self.expires
    }

    /// The state its options left, while they are outstanding.
    #[must_use]
    pub fn state(&self) -> Option<&[u8]> {
        self.state.as_deref()
    }

    /// Whether it is still going on at `now`.
    #[must_use]
    pub fn is_open(&self, now: UtcDateTime) -> bool {
        now < self.expires
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;
    use alloc::vec;

    use time::UtcDateTime;

    use super::{Ceremony, CeremonyError, CeremonyId, CeremonyKind};
    use crate::UserId;
    use crate::passcode::test_rngs::Counter;

    /// A ceremony's state is bounded at exactly 64 KiB, and its Debug shows the state's length,
    /// never its bytes. Written for the mutants `cargo mutants --file src/ceremony.rs` left.
    #[test]
    fn a_state_of_64_kib_is_kept_one_byte_more_is_refused_and_debug_shows_only_its_length() {
        let user = UserId::new("chris@contoso.com").unwrap();
        let opened = UtcDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let expires = UtcDateTime::from_unix_timestamp(1_800_000_300).unwrap();
        let ceremony = Ceremony::new(
            CeremonyId::new(&"c".repeat(CeremonyId::MIN_LEN)).unwrap(),
            user.clone(),
            CeremonyKind::Provisioning { by: user.into() },
            opened,
            expires,
        )
        .unwrap();
        assert_eq!(Ceremony::MAX_STATE_LEN, 65_536);
        let full = ceremony
            .clone()
            .with_state(Some(vec![7; Ceremony::MAX_STATE_LEN]))
            .unwrap();
        assert_eq!(full.state().map(<[u8]>::len), Some(65_536));
        assert_eq!(
            ceremony
                .clone()
                .with_state(Some(vec![7; Ceremony::MAX_STATE_LEN + 1])),
            Err(CeremonyError::StateSize {
                len: 65_537,
                max: 65_536
            })
        );
        let small = ceremony.with_state(Some(b"secret".to_vec())).unwrap();
        let shown = format!("{small:?}");
        assert!(shown.starts_with("Ceremony {"), "{shown}");
        assert!(shown.contains("state_len: Some(6)"), "{shown}");
        assert!(!shown.contains("115, 101"), "the state's bytes: {shown}");
    }

    /// A fresh id is the unpadded URL-safe base64 of the 32 bytes drawn (checked against
    /// Python's `base64.urlsafe_b64encode`), and reads back as itself. Written for
    /// the mutants `cargo mutants --file src/ceremony.rs` left in the encoding.
    #[test]
    fn a_fresh_id_is_the_url_safe_base64_of_its_bytes() {
        for (first, want) in [
            (0, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
            (200, "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc"),
        ] {
            let id = CeremonyId::random(&mut Counter(first)).unwrap();
            assert_eq!(id.as_str(), want);
            assert_eq!(CeremonyId::new(want).unwrap(), id);
            assert_eq!(format!("{id:?}"), format!("CeremonyId({}…)", &want[..6]));
        }
    }
}
