//! The relying party: who passkeys are registered with (its RP ID, the page's origin, the
//! name authenticators show), `webauthn-rs`'s [`Webauthn`] built from it, and its secret
//! ([`RelyingPartyKey`]), which keys the user handle a user's keys carry and the decoy
//! credential id a sign-in offers a user who has no key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use temporary_access_pass::ceremony::CeremonyId;
use temporary_access_pass::{SysRng, UserId};
use webauthn_rs::prelude::{Url, Uuid, Webauthn, WebauthnBuilder};
use zeroize::Zeroizing;

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

    /// `webauthn-rs`'s relying party for these settings, with a five-minute ceremony timeout.
    ///
    /// # Errors
    ///
    /// `webauthn-rs`'s, when the RP ID does not suit the origin.
    pub fn relying_party(&self) -> Result<Webauthn, String> {
        WebauthnBuilder::new(&self.rp_id, &self.origin)
            .map_err(|e| format!("WebAuthn: {e}"))?
            .rp_name(&self.rp_name)
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| format!("WebAuthn: {e}"))
    }
}

/// The relying party's secret. It keys the user handle a user's keys carry, so no dictionary
/// of names reverses it, and the decoy credential id a passkey sign-in offers a user who has
/// no key, so the options do not tell who holds one. Every instance of one deployment needs
/// the same key (the service derives it from the pepper): decoys are then the same wherever a
/// request lands, as a real user's ids are.
#[derive(Clone)]
pub struct RelyingPartyKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for RelyingPartyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelyingPartyKey(<redacted>)")
    }
}

/// HMAC-SHA256 of `data` keyed by `key`. HMAC takes a key of any length, so the fallback of
/// zeros is never taken.
fn hmac_sha256(key: &[u8], data: &[&[u8]]) -> [u8; 32] {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_or([0; 32], |mut mac| {
        for part in data {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    })
}

impl RelyingPartyKey {
    /// The key `pepper` derives (HMAC-SHA256 keyed by the pepper over a label of its own): one
    /// per deployment, and never the pepper itself.
    #[must_use]
    pub fn from_pepper(pepper: &[u8]) -> Self {
        Self(Zeroizing::new(hmac_sha256(
            pepper,
            &[b"temporary-access-pass relying party key"],
        )))
    }

    /// A random key, for one process (a test's; decoys then differ between instances).
    ///
    /// # Errors
    ///
    /// When the system's random number generator fails.
    pub fn random() -> Result<Self, String> {
        let seed = CeremonyId::random(&mut SysRng).map_err(|e| format!("random bytes: {e}"))?;
        Ok(Self(Zeroizing::new(
            Sha256::digest(seed.as_str().as_bytes()).into(),
        )))
    }

    /// This key's MAC of `user` for `purpose`.
    fn of(&self, purpose: &[u8], user: &UserId) -> [u8; 32] {
        hmac_sha256(&*self.0, &[purpose, b"\x1f", user.as_str().as_bytes()])
    }

    /// The user handle `user`'s keys carry: stable per user and deployment, not their name,
    /// and not reversible without the key.
    #[must_use]
    pub fn user_handle(&self, user: &UserId) -> Uuid {
        let mac = self.of(b"user handle", user);
        let mut bytes = [0_u8; 16];
        bytes.copy_from_slice(mac.get(..16).unwrap_or(&[0; 16]));
        // RFC 9562's version 8 (custom) and its variant.
        if let Some(b) = bytes.get_mut(6) {
            *b = (*b & 0x0f) | 0x80;
        }
        if let Some(b) = bytes.get_mut(8) {
            *b = (*b & 0x3f) | 0x80;
        }
        Uuid::from_bytes(bytes)
    }

    /// The credential id a passkey sign-in offers `user` when they hold no key, in unpadded
    /// URL-safe base64: stable per user and deployment, 32 bytes like many authenticators'
    /// own, and matching no key.
    #[must_use]
    pub fn decoy_credential(&self, user: &UserId) -> String {
        URL_SAFE_NO_PAD.encode(self.of(b"decoy credential", user))
    }
}

#[cfg(test)]
mod tests {
    use temporary_access_pass::UserId;

    use super::RelyingPartyKey;

    #[test]
    fn handles_and_decoys_are_stable_per_key_and_user_and_differ_otherwise() {
        let chris = UserId::new("chris@contoso.com").unwrap();
        let dana = UserId::new("dana@contoso.com").unwrap();
        let one = RelyingPartyKey::from_pepper(&[7; 32]);
        let same = RelyingPartyKey::from_pepper(&[7; 32]);
        let other = RelyingPartyKey::from_pepper(&[8; 32]);
        assert_eq!(one.user_handle(&chris), same.user_handle(&chris));
        assert_ne!(one.user_handle(&chris), one.user_handle(&dana));
        assert_ne!(one.user_handle(&chris), other.user_handle(&chris));
        assert_eq!(one.user_handle(&chris).get_version_num(), 8);
        assert_eq!(one.decoy_credential(&chris), same.decoy_credential(&chris));
        assert_ne!(one.decoy_credential(&chris), one.decoy_credential(&dana));
        assert_ne!(one.decoy_credential(&chris), other.decoy_credential(&chris));
        assert_eq!(one.decoy_credential(&chris).len(), 43, "32 bytes in base64");
        let random = RelyingPartyKey::random().unwrap();
        assert_ne!(
            random.decoy_credential(&chris),
            one.decoy_credential(&chris)
        );
        assert_eq!(format!("{one:?}"), "RelyingPartyKey(<redacted>)");
    }
}
