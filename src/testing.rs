//! Harness kit for downstream tests (feature `test-support`). **Not covered by semver:** checks
//! may be added or tightened in any release.
//!
//! - [`conformance`]: the store conformance suite, sequential checks and races with real
//!   threads, that any [`Store`](crate::store::Store) implementation runs in its own tests;
//!   with the feature `test-support-tokio`, `conformance::tasks` runs the same checks through
//!   [`AsyncEngine`](crate::AsyncEngine) over an [`AsyncStore`](crate::store::AsyncStore),
//!   the races as tasks on a multi-threaded runtime.
//! - [`strategies`]: `proptest` strategies for policies, principals, creation requests and
//!   clock schedules.
//!
//! `proptest` (and with `test-support-tokio`, `tokio`) is re-exported, so a harness uses the
//! same version as the kit.

pub mod conformance;
pub mod model;
pub mod strategies;

pub use model::{Host, Model, check, operations};

pub use proptest;
#[cfg(feature = "test-support-tokio")]
pub use tokio;

/// A deterministic RNG for tests and benchmarks (`SplitMix64`): the same seed draws the same
/// pass ids, codes and salts, so a failing run can be replayed.
///
/// It implements `TryCryptoRng` so that the crate accepts it where an RNG is asked for. **It is
/// not cryptographic**: its output is predictable from its seed. Never let it near a real pass;
/// outside tests, use [`SysRng`](crate::SysRng) or the host's own CSPRNG.
#[derive(Debug, Clone)]
pub struct DeterministicRng(pub u64);

impl rand_core::TryRng for DeterministicRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let bits = self.try_next_u64()?;
        Ok(u32::try_from(bits >> 32).unwrap_or(u32::MAX))
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
            let bytes = self.try_next_u64()?.to_le_bytes();
            for (byte, random) in chunk.iter_mut().zip(bytes) {
                *byte = random;
            }
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for DeterministicRng {}
