//! Shared fixtures: principals, policies and deterministic RNGs.

use std::sync::LazyLock;

use temporary_access_pass::{
    DigestKey, DirectoryRole, GroupId, IncludeTarget, Pepper, Policy, PolicySettings, PolicyState,
    Principal, TryCryptoRng, TryRng, UserId,
};
use time::UtcDateTime;
use time::macros::utc_datetime;

/// The seed's sample creation instant (SPEC 4.4).
pub(crate) const CREATED: UtcDateTime = utc_datetime!(2021-03-09 23:19:17);

/// The digest key the tests seal and verify with: a pepper.
pub(crate) fn key() -> &'static DigestKey {
    static KEY: LazyLock<DigestKey> =
        LazyLock::new(|| DigestKey::from(Pepper::new(&[0x33; 32]).unwrap()));
    &KEY
}

pub(crate) fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

pub(crate) fn gid(s: &str) -> GroupId {
    GroupId::new(s).unwrap()
}

pub(crate) fn member(id: &str) -> Principal {
    Principal::member(uid(id))
}

pub(crate) fn admin(id: &str, role: DirectoryRole) -> Principal {
    member(id).with_role(role)
}

/// An enabled policy with the seed's defaults, including every user.
pub(crate) fn open_policy() -> Policy {
    Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include(IncludeTarget::AllUsers),
    )
    .unwrap()
}

/// `SplitMix64`: deterministic, reproducible from a seed. Marked cryptographic for the tests'
/// sake only: it is not.
pub(crate) struct TestRng(pub u64);

impl TryRng for TestRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}
impl TryCryptoRng for TestRng {}

/// An RNG that always fails, as a broken entropy source would.
pub(crate) struct FailingRng;

#[derive(Debug)]
pub(crate) struct Broken;
impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("entropy source unavailable")
    }
}
impl core::error::Error for Broken {}

impl TryRng for FailingRng {
    type Error = Broken;
    fn try_next_u32(&mut self) -> Result<u32, Broken> {
        Err(Broken)
    }
    fn try_next_u64(&mut self) -> Result<u64, Broken> {
        Err(Broken)
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Broken> {
        Err(Broken)
    }
}
impl TryCryptoRng for FailingRng {}
