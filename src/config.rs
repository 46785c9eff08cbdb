//! How an engine behaves: the digest key, the creation opt-ins, the guessing limit, the retry
//! bound and the outbox (SPEC 0.2, 6.1, 6.4, 7.1). Shared by the drivers and the plans they carry out.

use core::fmt;

use crate::create::CreateOptions;
use crate::digest::DigestKey;
use crate::onboarding::{DEFAULT_CEREMONIES_PER_USER, DEFAULT_METHODS_PER_USER};
use crate::signin::Lockout;

/// How an engine behaves: the digest key, the creation opt-ins, the guessing limit and the
/// retry bound.
///
/// There is no `Default`: the key must be chosen (SPEC 6.1). This does not compile:
///
/// ```compile_fail
/// let config = temporary_access_pass::EngineConfig::new();
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// What digests are keyed with: the host's pepper, or [`DigestKey::unkeyed`] by choice.
    pub key: DigestKey,
    /// The later product's creation behaviours.
    pub create_options: CreateOptions,
    /// The guessing limit (SPEC 6.4).
    pub lockout: Lockout,
    /// Attempts per operation before giving up on conflicting writes (at least 1).
    pub max_attempts: u32,
    /// Whether each change commits with its audit events, into the store's outbox (SPEC 7.1).
    /// On by default; see [`EngineConfig::outbox`].
    pub outbox: bool,
    /// The most registered methods a user holds (SPEC 8.4).
    pub methods_per_user: u32,
    /// The most ceremonies of each kind a user has open at once (SPEC 8.4, 8.6).
    pub ceremonies_per_user: u32,
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("key", &self.key)
            .field("create_options", &self.create_options)
            .field("lockout", &self.lockout)
            .field("max_attempts", &self.max_attempts)
            .field("outbox", &self.outbox)
            .field("methods_per_user", &self.methods_per_user)
            .field("ceremonies_per_user", &self.ceremonies_per_user)
            .finish()
    }
}

impl EngineConfig {
    /// The default number of attempts per operation.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 32;

    /// Digests keyed with `key` (`Pepper` converts into it), the seed's options, the default
    /// lockout, 32 attempts, the outbox on, 20 methods and 8 ceremonies of each kind a user.
    #[must_use]
    pub fn new(key: impl Into<DigestKey>) -> Self {
        Self {
            key: key.into(),
            create_options: CreateOptions::new(),
            lockout: Lockout::default(),
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            outbox: true,
            methods_per_user: DEFAULT_METHODS_PER_USER,
            ceremonies_per_user: DEFAULT_CEREMONIES_PER_USER,
        }
    }

    /// Sets the most registered methods a user holds (20 by default, SPEC 8.4).
    #[must_use]
    pub fn methods_per_user(mut self, cap: u32) -> Self {
        self.methods_per_user = cap;
        self
    }

    /// Sets the most ceremonies of each kind a user has open at once (8 by default): one more
    /// ends the oldest.
    #[must_use]
    pub fn ceremonies_per_user(mut self, cap: u32) -> Self {
        self.ceremonies_per_user = cap;
        self
    }

    /// Sets the creation opt-ins.
    #[must_use]
    pub fn create_options(mut self, options: CreateOptions) -> Self {
        self.create_options = options;
        self
    }

    /// Sets the guessing limit.
    #[must_use]
    pub fn lockout(mut self, lockout: Lockout) -> Self {
        self.lockout = lockout;
        self
    }

    /// Sets the attempts per operation (a value of 0 counts as 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets whether changes commit with their audit events (on by default, SPEC 7.1). Off, the
    /// engine commits its changes without events and the store's outbox stays empty: for a
    /// host that keeps no audit trail of its own store, and for measuring what the outbox
    /// costs (BENCHMARKS.md). Every decision still returns its events through `events()`.
    #[must_use]
    pub fn outbox(mut self, on: bool) -> Self {
        self.outbox = on;
        self
    }
}
