//! The relying party: who passkeys are registered with (its RP ID, the page's origin, the
//! name authenticators show), `webauthn-rs`'s [`Webauthn`] built from it, and the user handle
//! a user's keys carry.

use sha2::{Digest, Sha256};
use temporary_access_pass::UserId;
use webauthn_rs::prelude::{Url, Uuid, Webauthn, WebauthnBuilder};

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
