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
