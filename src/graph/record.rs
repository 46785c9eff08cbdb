//! The storage form of a record: strict (unknown fields refused), never the code. Decoding
//! checks the record like [`TemporaryAccessPass::from_parts`].

use alloc::string::String;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::UtcDateTime;

use crate::digest::{CodeDigest, DigestScheme};
use crate::ids::{PassId, UserId};
use crate::pass::{RecordError, RecordParts, TemporaryAccessPass};
use crate::passcode::PasscodeLength;
use crate::policy::Lifetime;
use crate::range::OutOfRange;

/// The storage form of a record.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordDocument {
    id: PassId,
    user: UserId,
    #[serde(with = "exact")]
    created: UtcDateTime,
    #[serde(with = "exact")]
    start: UtcDateTime,
    lifetime_in_minutes: Lifetime,
    is_usable_once: bool,
    scheme: Scheme,
    salt: String,
    code_length: u32,
    digest: String,
    #[serde(default, with = "exact::option")]
    used_at: Option<UtcDateTime>,
    #[serde(default)]
    failed_attempts: u32,
    #[serde(default, with = "exact::option")]
    locked_until: Option<UtcDateTime>,
    #[serde(default, with = "exact::option")]
    last_failure_at: Option<UtcDateTime>,
}

/// The digest schemes by their stored names. The two names of the retired layout (whose
/// input followed the code's length) are still recognized, to refuse them with a reason.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Scheme {
    #[serde(rename = "hmac-sha256-v2")]
    HmacSha256,
    #[serde(rename = "sha256-unkeyed-v2")]
    Sha256Unkeyed,
    #[serde(rename = "hmac-sha256")]
    RetiredHmacSha256,
    #[serde(rename = "sha256")]
    RetiredSha256,
}

/// Why a stored record could not be decoded.
#[derive(Debug, thiserror::Error)]
enum DecodeError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{0} must be {1} lowercase hex digits")]
    Hex(&'static str, usize),
    #[error("codeLength: {0}")]
    Length(OutOfRange),
    #[error(
        "scheme: {0} is the digest layout of version 0.1, which no longer verifies: delete the pass and issue a new one"
    )]
    RetiredScheme(&'static str),
}

fn hex<const N: usize>(bytes: &[u8; N]) -> String {
    base16ct::lower::encode_string(bytes)
}

/// Exactly two lowercase hex digits per byte, nothing else (no sign, no whitespace).
fn unhex<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], DecodeError> {
    let mut out = [0_u8; N];
    match base16ct::lower::decode(text, &mut out) {
        Ok(decoded) if decoded.len() == N => Ok(out),
        _ => Err(DecodeError::Hex(field, N.saturating_mul(2))),
    }
}

impl From<&TemporaryAccessPass> for RecordDocument {
    fn from(r: &TemporaryAccessPass) -> Self {
        let code = r.code_digest().clone();
        let p = r.clone().into_parts();
        Self {
            id: p.id,
            user: p.user,
            created: p.created,
            start: p.start,
            lifetime_in_minutes: p.lifetime,
            is_usable_once: p.is_usable_once,
            scheme: match code.scheme() {
                DigestScheme::HmacSha256 => Scheme::HmacSha256,
                DigestScheme::Sha256Unkeyed => Scheme::Sha256Unkeyed,
            },
            salt: hex(code.salt()),
            code_length: u32::try_from(code.length().get()).unwrap_or(u32::MAX),
            digest: hex(code.digest()),
            used_at: p.used_at,
            failed_attempts: p.failed_attempts,
            locked_until: p.locked_until,
            last_failure_at: p.last_failure,
        }
    }
}

impl TryFrom<RecordDocument> for TemporaryAccessPass {
    type Error = DecodeError;

    fn try_from(d: RecordDocument) -> Result<Self, DecodeError> {
        let scheme = match d.scheme {
            Scheme::HmacSha256 => DigestScheme::HmacSha256,
            Scheme::Sha256Unkeyed => DigestScheme::Sha256Unkeyed,
            Scheme::RetiredHmacSha256 => return Err(DecodeError::RetiredScheme("hmac-sha256")),
            Scheme::RetiredSha256 => return Err(DecodeError::RetiredScheme("sha256")),
        };
        let length = PasscodeLength::new(d.code_length).map_err(DecodeError::Length)?;
        let code = CodeDigest::from_parts(
            scheme,
            unhex("salt", &d.salt)?,
            length,
            unhex("digest", &d.digest)?,
        );
        let mut parts = RecordParts::new(
            d.id,
            d.user,
            d.created,
            d.start,
            d.lifetime_in_minutes,
            d.is_usable_once,
            code,
        );
        parts.used_at = d.used_at;
        parts.failed_attempts = d.failed_attempts;
        parts.locked_until = d.locked_until;
        parts.last_failure = d.last_failure_at;
        Ok(Self::from_parts(parts)?)
    }
}

impl Serialize for TemporaryAccessPass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RecordDocument::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for TemporaryAccessPass {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::try_from(RecordDocument::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// RFC 3339 to the nanosecond: the storage forms keep instants exactly as they were decided,
/// unlike Graph's output, which stops at 100 ns.
pub(super) mod exact {
    use alloc::string::String;

    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use time::UtcDateTime;
    use time::format_description::well_known::Rfc3339;

    use crate::graph::rfc3339::parse;

    pub(in crate::graph) fn serialize<S: Serializer>(
        t: &UtcDateTime,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format(&Rfc3339).map_err(S::Error::custom)?)
    }

    pub(in crate::graph) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<UtcDateTime, D::Error> {
        parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }

    pub(in crate::graph) mod option {
        use alloc::string::String;

        use serde::de::Error as _;
        use serde::{Deserialize, Deserializer, Serializer};
        use time::UtcDateTime;

        #[expect(
            clippy::ref_option,
            reason = "serde's `with` hands the field by reference"
        )]
        pub(in crate::graph) fn serialize<S: Serializer>(
            t: &Option<UtcDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(in crate::graph) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<UtcDateTime>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| crate::graph::rfc3339::parse(&text).map_err(D::Error::custom))
                .transpose()
        }
    }
}
