//! Serde for the crate's small values: identifiers, lifetimes, versions.

use alloc::string::String;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::grant::Initiator;
use crate::ids::{AppId, GroupId, PassId, UserId};
use crate::method::MethodId;
use crate::policy::Lifetime;
use crate::store::{Version, Versioned};

macro_rules! text_serde {
    ($name:ty) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        /// Decoding checks the text like `FromStr`.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(D::Error::custom)
            }
        }
    };
}

text_serde!(UserId);
text_serde!(GroupId);
text_serde!(AppId);
text_serde!(PassId);
text_serde!(MethodId);

/// How an [`Initiator`] is stored: a user as their id's text, the form every stored event has
/// had; an application as `{"application": "<app id>"}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum InitiatorDocument {
    User(UserId),
    Application { application: AppId },
}

impl Serialize for Initiator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.clone() {
            Self::User(user) => InitiatorDocument::User(user),
            Self::Application(application) => InitiatorDocument::Application { application },
        }
        .serialize(s)
    }
}

/// Decoding checks the ids as their `FromStr` does.
impl<'de> Deserialize<'de> for Initiator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match InitiatorDocument::deserialize(d)? {
            InitiatorDocument::User(user) => Self::User(user),
            InitiatorDocument::Application { application } => Self::Application(application),
        })
    }
}

/// A number of minutes, checked on decoding.
impl Serialize for Lifetime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.minutes())
    }
}

impl<'de> Deserialize<'de> for Lifetime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_minutes(u32::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// A number.
impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.get())
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Self::new)
    }
}

#[derive(Serialize, Deserialize)]
struct VersionedDocument<T> {
    version: Version,
    value: T,
}

/// `{"version": ..., "value": ...}`.
impl<T: Serialize> Serialize for Versioned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        VersionedDocument {
            version: self.version,
            value: &self.value,
        }
        .serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Versioned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = VersionedDocument::<T>::deserialize(d)?;
        Ok(Self::new(doc.version, doc.value))
    }
}

/// A whole number as JSON Schema's `integer` and `OData`'s `Edm.Int32` read one: `357` or
/// `357.0` (a number whose fraction is zero), within `u32`. Anything else is refused, naming
/// what was given.
pub(super) mod whole {
    use core::fmt;

    use serde::Deserializer;
    use serde::de::{Error, Unexpected, Visitor};

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number from 0 to 4294967295")
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }

        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "converted only once it is known to be whole and within u32"
        )]
        fn visit_f64<E: Error>(self, v: f64) -> Result<u32, E> {
            if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                Ok(v as u32)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }

    /// An optional whole number; `null` is refused (leave the property out instead).
    pub(in crate::graph) fn option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<u32>, D::Error> {
        d.deserialize_any(Whole).map(Some)
    }
}

/// An optional property that, when present, holds a value: `null` is refused (leave the
/// property out to leave it unset), so no two spellings mean the same.
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}
