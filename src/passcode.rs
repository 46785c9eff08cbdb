//! Passcodes: their length, their alphabet and their generation (SPEC 1.3, 2.5, 2.6, 6.3).

use alloc::string::String;
use core::fmt;

use rand_core::TryCryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::range::OutOfRange;

/// A passcode length in characters, always within [`PasscodeLength::MIN`]`..=`[`PasscodeLength::MAX`]
/// (8 to 48, SPEC 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PasscodeLength(u8);

impl PasscodeLength {
    /// The shortest passcode: 8 characters.
    pub const MIN: Self = Self(8);
    /// The longest passcode: 48 characters.
    pub const MAX: Self = Self(48);
    /// The seed's default: 8 characters.
    pub const DEFAULT: Self = Self(8);

    /// A length of `chars` characters, checked against 8..=48.
    ///
    /// # Errors
    ///
    /// [`OutOfRange`] naming the value and the allowed range.
    pub fn new(chars: u32) -> Result<Self, OutOfRange> {
        let checked = OutOfRange::check(
            "passcode length",
            i64::from(chars),
            i64::from(Self::MIN.0),
            i64::from(Self::MAX.0),
        )?;
        u8::try_from(checked).map(Self).map_err(|_| OutOfRange {
            field: "passcode length",
            value: i64::from(chars),
            min: i64::from(Self::MIN.0),
            max: i64::from(Self::MAX.0),
        })
    }

    /// The length in characters.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

/// Bytes below this bound map without bias onto the alphabet (`4 * 56`).
const ACCEPT_BELOW: u8 = 224;

/// How many batches of random bytes generation may draw before it calls the RNG broken. An honest
/// RNG needs more than 4 batches with probability below 2^-100.
const MAX_RNG_BATCHES: usize = 16;

/// The plaintext code of a pass. It exists only in the creation result (SPEC 2.6).
///
/// It prints as `Passcode([REDACTED])`, has no `Display`, no `PartialEq`, no `Clone` and no
/// `Serialize`, and its bytes are zeroed when it is dropped. The only way to read it is
/// [`Passcode::expose_secret`].
///
/// These do not compile, on purpose:
///
/// ```compile_fail
/// fn show(code: &temporary_access_pass::Passcode) -> String { format!("{code}") }
/// ```
///
/// ```compile_fail
/// fn copy(code: &temporary_access_pass::Passcode) -> temporary_access_pass::Passcode { code.clone() }
/// ```
///
/// ```compile_fail
/// fn same(a: &temporary_access_pass::Passcode, b: &temporary_access_pass::Passcode) -> bool { a == b }
/// ```
pub struct Passcode(String);

impl Passcode {
    /// The 56 characters a passcode is drawn from: `A-Z` without `I O`, `a-z` without `l o`,
    /// and `2-9`.
    ///
    /// # Entropy
    ///
    /// The letters and digits without the look-alikes `0 O o 1 l I`, easy to read out and
    /// type. Each character carries log2(56) ≈ 5.807 bits, so a code of the default length 8
    /// carries **≈ 46.5 bits** (length 48: ≈ 278.8 bits). Characters are drawn by rejection
    /// sampling (bytes `>= 224` are redrawn), so there is no modulo bias (SPEC 2.5).
    pub const ALPHABET: &'static [u8; 56] =
        b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

    /// Bits of entropy of a code of the default length 8: `8 * log2(56)`, about 46.5.
    pub const ENTROPY_BITS_AT_LENGTH_8: f64 = 46.458_839_376_460_83;

    /// The code itself, to show the issuer once.
    ///
    /// # Security
    ///
    /// Whoever holds the code can sign in as the user until the pass ends. Show it to the issuer
    /// once, over a channel you trust; never log it, store it or put it in an error. Copies you
    /// make (into a `String`, a response body) are not zeroed by this type.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Draws a code of `length` characters from [`Passcode::ALPHABET`] with `rng`, without
    /// modulo bias.
    ///
    /// # Errors
    ///
    /// [`RngFailure`] when the RNG fails or keeps returning unusable bytes.
    pub fn generate<R: TryCryptoRng + ?Sized>(
        length: PasscodeLength,
        rng: &mut R,
    ) -> Result<Self, RngFailure> {
        let want = length.get();
        let mut code = String::with_capacity(want);
        let mut batch = Zeroizing::new([0_u8; 64]);
        for _ in 0..MAX_RNG_BATCHES {
            rng.try_fill_bytes(batch.as_mut_slice())
                .map_err(|_| RngFailure)?;
            for &byte in batch.iter() {
                if code.len() == want {
                    break;
                }
                if byte < ACCEPT_BELOW {
                    let index = usize::from(byte % 56);
                    if let Some(&c) = Self::ALPHABET.get(index) {
                        code.push(char::from(c));
                    }
                }
            }
            if code.len() == want {
                return Ok(Self(code));
            }
        }
        code.zeroize();
        Err(RngFailure)
    }
}

impl Passcode {
    /// The code's bytes, for sealing its digest.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Wraps a code received in a Graph creation response (it may use characters outside
    /// [`Passcode::ALPHABET`]: Graph's own codes do).
    #[cfg(feature = "serde")]
    pub(crate) fn from_response(code: String) -> Self {
        Self(code)
    }
}

impl fmt::Debug for Passcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passcode([REDACTED])")
    }
}

impl Drop for Passcode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Passcode {}

/// The RNG failed (or returned bytes no honest RNG would); nothing was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the random number generator failed: nothing was created")]
pub struct RngFailure;

/// Deterministic RNGs for the crate's unit tests (not cryptographic; marked so only here).
#[cfg(test)]
pub(crate) mod test_rngs {
    /// Fills with a counter starting at its value.
    pub(crate) struct Counter(pub(crate) u8);
    impl rand_core::TryRng for Counter {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(0)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Counter {}

    /// An RNG that only ever returns bytes the sampler must reject.
    pub(crate) struct Stuck;
    impl rand_core::TryRng for Stuck {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(u32::MAX)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(u64::MAX)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0xff);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Stuck {}
}

#[cfg(test)]
mod tests {
    use super::test_rngs::{Counter, Stuck};
    use super::*;

    #[test]
    fn spec_2_5_alphabet_has_no_look_alikes_and_56_distinct_chars() {
        for c in b"0O1lIo" {
            assert!(!Passcode::ALPHABET.contains(c), "{}", char::from(*c));
        }
        let mut sorted = *Passcode::ALPHABET;
        sorted.sort_unstable();
        assert!(sorted.windows(2).all(|w| w[0] < w[1]));
        assert!((Passcode::ENTROPY_BITS_AT_LENGTH_8 - 8.0 * 56_f64.log2()).abs() < 1e-9);
    }

    #[test]
    fn spec_2_5_rejection_sampling_skips_biased_bytes() {
        // Bytes 224..=255 are rejected; a counter starting at 220 gives 220..223 then wraps to 0.
        let code = Passcode::generate(PasscodeLength::MIN, &mut Counter(220)).unwrap();
        let expect: String = [220_u8, 221, 222, 223, 0, 1, 2, 3]
            .iter()
            .map(|b| char::from(Passcode::ALPHABET[usize::from(b % 56)]))
            .collect();
        assert_eq!(code.expose_secret(), expect);
    }

    #[test]
    fn spec_2_5_rng_returning_only_rejected_bytes_is_an_error() {
        assert_eq!(
            Passcode::generate(PasscodeLength::MIN, &mut Stuck).map(|_| ()),
            Err(RngFailure)
        );
    }

    #[test]
    fn spec_1_3_passcode_length_is_8_to_48() {
        assert_eq!(PasscodeLength::new(8).map(PasscodeLength::get), Ok(8));
        assert_eq!(PasscodeLength::new(48).map(PasscodeLength::get), Ok(48));
        for bad in [0, 7, 49, u32::MAX] {
            let err = PasscodeLength::new(bad).unwrap_err();
            assert_eq!((err.field, err.min, err.max), ("passcode length", 8, 48));
        }
    }

    #[test]
    fn spec_6_3_passcode_debug_is_redacted() {
        let code = Passcode::generate(PasscodeLength::MIN, &mut Counter(0)).unwrap();
        assert_eq!(alloc::format!("{code:?}"), "Passcode([REDACTED])");
    }
}
