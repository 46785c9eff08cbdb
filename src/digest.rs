//! Code digests: the host's key, the fixed-size digest input, and constant-time verification
//! (SPEC 6.1, 6.2). The primitives are public through [`crate::hazmat`].

use core::fmt;

use hmac::{EagerHash, Hmac, KeyInit, Mac};
use rand_core::TryCryptoRng;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::ids::PassId;
use crate::passcode::{Passcode, PasscodeLength, RngFailure};

/// The host's secret key for code digests (SPEC 6.1): at least 32 bytes, kept outside the store.
///
/// It holds an HMAC-SHA256 state from the `hmac` crate, keyed once here and cloned for each
/// digest. A secret longer than SHA-256's 64-byte block is hashed first (as HMAC does) into a
/// buffer this crate wipes; the keyed state is wiped when the pepper is dropped (`sha2`'s
/// `zeroize`). It prints as `Pepper([REDACTED])`.
#[derive(Clone)]
pub struct Pepper {
    mac: Hmac<Sha256>,
}

// The keyed state is two SHA-256 cores; both wipe themselves on drop.
const _: () = {
    const fn wiped<T: ZeroizeOnDrop>() {}
    wiped::<<Sha256 as EagerHash>::Core>();
};

/// Why a pepper was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PepperError {
    /// The pepper is shorter than 32 bytes.
    #[error("pepper is {len} bytes long: at least {min} are required")]
    TooShort {
        /// The length given.
        len: usize,
        /// 32.
        min: usize,
    },
}

impl Pepper {
    /// The shortest pepper accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// Keys HMAC-SHA256 with `secret`.
    ///
    /// # Errors
    ///
    /// [`PepperError::TooShort`] when `secret` has fewer than 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, PepperError> {
        if secret.len() < Self::MIN_LEN {
            return Err(PepperError::TooShort {
                len: secret.len(),
                min: Self::MIN_LEN,
            });
        }
        // RFC 2104: a key longer than the block is replaced by its hash. Hashing it here, into
        // a buffer wiped on drop, keeps the hashed key from outliving this call.
        let mut hashed = Zeroizing::new([0_u8; 32]);
        let key: &[u8] = if secret.len() > 64 {
            Sha256::new_with_prefix(secret).finalize_into((&mut *hashed).into());
            hashed.as_slice()
        } else {
            secret
        };
        let mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| PepperError::TooShort {
                len: secret.len(),
                min: Self::MIN_LEN,
            })?;
        Ok(Self { mac })
    }
}

impl ZeroizeOnDrop for Pepper {}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper([REDACTED])")
    }
}

/// What code digests are keyed with (SPEC 6.1): the host's [`Pepper`], or, only when the host
/// says so by calling [`DigestKey::unkeyed`], nothing.
///
/// Nothing in this crate creates or verifies a pass without a `DigestKey`, so a host cannot end
/// up unkeyed by leaving a setting out. Build one from a pepper with `DigestKey::from(pepper)`.
#[derive(Clone)]
pub struct DigestKey(Keying);

#[derive(Clone)]
enum Keying {
    Pepper(Pepper),
    Unkeyed,
}

impl DigestKey {
    /// No key: digests are plain SHA-256 over the same input.
    ///
    /// # Security
    ///
    /// Whoever reads the store can then test guesses offline at the speed of SHA-256: an
    /// 8-character code falls to one GPU within hours. Use it only where the store is as secret
    /// as a pepper would be (tests, a demonstration), and prefer [`Pepper`] everywhere else.
    #[must_use]
    pub const fn unkeyed() -> Self {
        Self(Keying::Unkeyed)
    }

    /// The scheme this key seals digests with.
    #[must_use]
    pub const fn scheme(&self) -> DigestScheme {
        match self.0 {
            Keying::Pepper(_) => DigestScheme::HmacSha256,
            Keying::Unkeyed => DigestScheme::Sha256Unkeyed,
        }
    }
}

impl From<Pepper> for DigestKey {
    fn from(pepper: Pepper) -> Self {
        Self(Keying::Pepper(pepper))
    }
}

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Keying::Pepper(_) => f.write_str("DigestKey::Pepper([REDACTED])"),
            Keying::Unkeyed => f.write_str("DigestKey::Unkeyed"),
        }
    }
}

/// How a code digest was computed. Both schemes digest the same fixed-size input (see
/// [`CodeDigest`]); the scheme's tag is its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestScheme {
    /// HMAC-SHA256 keyed by the host's [`Pepper`].
    HmacSha256,
    /// SHA-256 with no key ([`DigestKey::unkeyed`]): a leaked store lets an attacker test
    /// guesses offline.
    Sha256Unkeyed,
}

impl DigestScheme {
    /// The first byte of the digest input. Tags 1 and 2 belonged to the retired layout whose
    /// size followed the code's length; they are never reused.
    const fn tag(self) -> u8 {
        match self {
            Self::HmacSha256 => 0x03,
            Self::Sha256Unkeyed => 0x04,
        }
    }
}

/// The code slot of the digest input: the longest code, 48 characters.
const CODE_SLOT: usize = 48;

/// Size of the digest input: tag (1), salt (16), pass id (16), code slot (48), typed length (1).
pub const DIGEST_INPUT_LEN: usize = 1 + 16 + 16 + CODE_SLOT + 1;

/// The digest input for `typed` as the code of pass `id` with `salt` (SPEC 6.1). Its size never
/// changes: the typed code is cut or zero-padded to the 48-byte slot and its length (capped at
/// 255) follows, so two inputs differ whenever the typed codes do and no longer code than 48
/// characters exists.
fn digest_input(
    scheme: DigestScheme,
    salt: &[u8; 16],
    id: &PassId,
    typed: &[u8],
) -> Zeroizing<[u8; DIGEST_INPUT_LEN]> {
    let mut input = Zeroizing::new([0_u8; DIGEST_INPUT_LEN]);
    let (tag, rest) = input.split_at_mut(1);
    let (salt_part, rest) = rest.split_at_mut(16);
    let (id_part, rest) = rest.split_at_mut(16);
    let (slot, length) = rest.split_at_mut(CODE_SLOT);
    tag.copy_from_slice(&[scheme.tag()]);
    salt_part.copy_from_slice(salt);
    id_part.copy_from_slice(id.as_bytes());
    // Always 48 iterations: the loop does not follow the typed length.
    for (i, slot_byte) in slot.iter_mut().enumerate() {
        *slot_byte = typed.get(i).copied().unwrap_or(0);
    }
    length.copy_from_slice(&[u8::try_from(typed.len()).unwrap_or(u8::MAX)]);
    input
}

/// Computes the 32-byte digest of `typed` as the code of pass `id` with `salt`, keyed by `key`
/// (SPEC 6.1). The work is the same for every input: one fixed-size HMAC-SHA256 (two inner
/// compressions and one outer, from the pepper's keyed state) or one fixed-size SHA-256.
#[must_use]
pub fn compute_digest(key: &DigestKey, salt: &[u8; 16], id: &PassId, typed: &[u8]) -> [u8; 32] {
    let input = digest_input(key.scheme(), salt, id, typed);
    match &key.0 {
        Keying::Pepper(pepper) => {
            let mut mac = pepper.mac.clone();
            mac.update(input.as_slice());
            mac.finalize().into_bytes().into()
        }
        Keying::Unkeyed => Sha256::digest(input.as_slice()).into(),
    }
}

/// What the store keeps of a code: the scheme, a per-pass random salt, the code's length and the
/// digest (SPEC 6.1). It never holds the code, and its `Debug` prints neither salt nor digest.
///
/// # Layout
///
/// With a [`Pepper`] the digest is HMAC-SHA256 keyed by the pepper; with
/// [`DigestKey::unkeyed`], plain SHA-256 (weaker against a leaked store: see `SECURITY.md`).
/// Both run over one input of [`DIGEST_INPUT_LEN`] bytes, whatever the code's length:
///
/// ```text
/// scheme tag (1) | salt (16) | pass id (16) | typed code, cut or zero-padded to 48 | typed length, capped at 255 (1)
/// ```
///
/// A code of any length, right or wrong, therefore costs the same digest, and a typed code of
/// the wrong length never matches (its length byte differs). Digests are compared with
/// [`subtle::ConstantTimeEq`] on `[u8; 32]`.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeDigest {
    scheme: DigestScheme,
    salt: [u8; 16],
    length: PasscodeLength,
    digest: [u8; 32],
}

impl CodeDigest {
    /// Seals `code` for pass `id` under `key` with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`RngFailure`] when the RNG fails.
    pub fn seal<R: TryCryptoRng + ?Sized>(
        key: &DigestKey,
        id: &PassId,
        code: &Passcode,
        rng: &mut R,
    ) -> Result<Self, RngFailure> {
        let mut salt = [0_u8; 16];
        rng.try_fill_bytes(&mut salt).map_err(|_| RngFailure)?;
        let chars = u32::try_from(code.as_bytes().len()).map_err(|_| RngFailure)?;
        let length = PasscodeLength::new(chars).map_err(|_| RngFailure)?;
        Ok(Self {
            scheme: key.scheme(),
            salt,
            length,
            digest: compute_digest(key, &salt, id, code.as_bytes()),
        })
    }

    /// Rebuilds a digest from its stored parts (for hosts that persist records themselves).
    #[must_use]
    pub const fn from_parts(
        scheme: DigestScheme,
        salt: [u8; 16],
        length: PasscodeLength,
        digest: [u8; 32],
    ) -> Self {
        Self {
            scheme,
            salt,
            length,
            digest,
        }
    }

    /// How the digest was computed.
    #[must_use]
    pub const fn scheme(&self) -> DigestScheme {
        self.scheme
    }

    /// The per-pass salt.
    #[must_use]
    pub const fn salt(&self) -> &[u8; 16] {
        &self.salt
    }

    /// The code's length.
    #[must_use]
    pub const fn length(&self) -> PasscodeLength {
        self.length
    }

    /// The digest bytes (for persistence; compare only through [`CodeDigest::verify`]).
    #[must_use]
    pub const fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Whether `typed` is the code of pass `id`, in constant time over the digest (SPEC 6.2).
    ///
    /// A digest sealed with a pepper never verifies without one, and one sealed unkeyed never
    /// verifies with a pepper: a host must use the key its records were sealed with. The digest
    /// is computed either way, so a mismatch costs what a wrong code costs.
    #[must_use]
    pub fn verify(&self, key: &DigestKey, id: &PassId, typed: &str) -> bool {
        bool::from(self.matches(key, id, typed))
    }

    /// [`CodeDigest::verify`] as a [`Choice`], for callers that keep combining in constant time.
    pub(crate) fn matches(&self, key: &DigestKey, id: &PassId, typed: &str) -> Choice {
        let computed = compute_digest(key, &self.salt, id, typed.as_bytes());
        let same_scheme = Choice::from(u8::from(key.scheme() == self.scheme));
        computed.ct_eq(&self.digest) & same_scheme
    }

    /// The digest of the dummy record a user without a pass is checked against (SPEC 6.2): the
    /// key's scheme and a digest no code hashes to, so it never matches.
    pub(crate) const fn dummy(key: &DigestKey) -> Self {
        Self {
            scheme: key.scheme(),
            salt: *b"tap-no-pass-salt",
            length: PasscodeLength::DEFAULT,
            digest: *b"no code ever hashes to this one.",
        }
    }
}

impl fmt::Debug for CodeDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeDigest")
            .field("scheme", &self.scheme)
            .field("length", &self.length)
            .field("salt", &"[REDACTED]")
            .field("digest", &"[REDACTED]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;

    use super::*;
    use crate::passcode::test_rngs::Counter;

    #[test]
    fn spec_6_1_keyed_and_unkeyed_digests_differ_and_pepper_is_checked() {
        assert_eq!(
            Pepper::new(&[7; 31]).map(|_| ()),
            Err(PepperError::TooShort { len: 31, min: 32 })
        );
        let pepper = Pepper::new(&[7; 32]).unwrap();
        assert_eq!(alloc::format!("{pepper:?}"), "Pepper([REDACTED])");
        let keyed_key = DigestKey::from(pepper);
        assert_eq!(
            alloc::format!("{keyed_key:?}"),
            "DigestKey::Pepper([REDACTED])"
        );
        let unkeyed = DigestKey::unkeyed();
        let id = PassId::from_bytes([1; 16]);
        let keyed = compute_digest(&keyed_key, &[2; 16], &id, b"ABCDEFGH");
        let plain = compute_digest(&unkeyed, &[2; 16], &id, b"ABCDEFGH");
        assert_ne!(keyed, plain);
        // Every input matters: salt, id and code.
        assert_ne!(plain, compute_digest(&unkeyed, &[3; 16], &id, b"ABCDEFGH"));
        assert_ne!(
            plain,
            compute_digest(
                &unkeyed,
                &[2; 16],
                &PassId::from_bytes([9; 16]),
                b"ABCDEFGH"
            )
        );
        assert_ne!(plain, compute_digest(&unkeyed, &[2; 16], &id, b"ABCDEFGJ"));
    }

    /// RFC 4231 test cases 6 and 7: the two whose keys (131 bytes) meet the pepper's 32-byte
    /// minimum, and longer than a block, so they go through the crate's own hashing of the key.
    #[test]
    fn spec_6_1_pepper_keys_hmac_sha256_as_rfc_4231_says() {
        let cases: [(&[u8], &str); 2] = [
            (
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        let pepper = Pepper::new(&[0xaa; 131]).unwrap();
        for (data, expected) in cases {
            let mut mac = pepper.mac.clone();
            mac.update(data);
            let out: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(base16(&out), expected);
        }
    }

    fn base16(bytes: &[u8]) -> String {
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = core::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
            s
        })
    }

    #[test]
    fn spec_6_2_wrong_length_never_matches_even_when_padding_agrees() {
        let id = PassId::from_bytes([1; 16]);
        let code = Passcode::generate(PasscodeLength::MIN, &mut Counter(0)).unwrap();
        let typed = code.expose_secret();
        let unkeyed = DigestKey::unkeyed();
        let sealed = CodeDigest::seal(&unkeyed, &id, &code, &mut Counter(0)).unwrap();
        assert!(sealed.verify(&unkeyed, &id, typed));
        assert!(!sealed.verify(&unkeyed, &id, &typed[..7]));
        assert!(!sealed.verify(&unkeyed, &id, &alloc::format!("{typed}\0")));
        assert!(!sealed.verify(&unkeyed, &id, &alloc::format!("{typed}J")));
        assert!(!sealed.verify(&unkeyed, &id, ""));
        let pepper = DigestKey::from(Pepper::new(&[5; 32]).unwrap());
        assert!(
            !sealed.verify(&pepper, &id, typed),
            "scheme mismatch must fail"
        );
        let dummy = CodeDigest::dummy(&unkeyed);
        assert!(!dummy.verify(&unkeyed, &id, typed));
        let debug = alloc::format!("{sealed:?}");
        assert!(debug.contains("REDACTED") && !debug.contains("digest: ["));
    }
}
