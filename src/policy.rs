//! The tenant policy (SPEC 1; Graph: `temporaryAccessPassAuthenticationMethodConfiguration`):
//! its settings, their validation, who is in scope, and the decision to change it.
//!
//! [`PasscodeLength`] is defined with the code it measures (`passcode.rs`, a layer below) and
//! re-exported here, beside the other bounded settings.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::ids::{GroupId, UserId};
use crate::principal::Principal;
use crate::range::OutOfRange;

mod lifetime;
mod update;

pub use crate::passcode::PasscodeLength;
pub use lifetime::Lifetime;
pub use update::{PolicyUpdate, UpdatePolicyContext, UpdatePolicyError, update_policy};

/// Whether the policy lets anyone sign in with a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PolicyState {
    /// Users in scope can sign in with a pass.
    Enabled,
    /// Nobody can sign in with a pass (passes can still be created, SPEC 2.8).
    #[default]
    Disabled,
}

/// Who a policy includes (SPEC 1.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IncludeTarget {
    /// One user.
    User(UserId),
    /// The members of a group.
    Group(GroupId),
    /// Every user of the tenant (Graph: the group id `all_users`).
    AllUsers,
}

/// Who a policy excludes (SPEC 1.4). Exclusion beats inclusion.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExcludeTarget {
    /// One user.
    User(UserId),
    /// The members of a group.
    Group(GroupId),
}

/// The raw settings of a policy, before validation: build one, then call [`Policy::new`].
///
/// `Default` gives the seed's defaults (SPEC 1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicySettings {
    /// Enabled or disabled.
    pub state: PolicyState,
    /// The shortest lifetime a pass may have, in minutes.
    pub minimum_lifetime_minutes: u32,
    /// The longest lifetime a pass may have, in minutes.
    pub maximum_lifetime_minutes: u32,
    /// The lifetime of a pass whose request names none, in minutes.
    pub default_lifetime_minutes: u32,
    /// When true every pass is created one-time (SPEC 1.6, 2.3).
    pub is_usable_once: bool,
    /// The passcode length in characters.
    pub default_length: u32,
    /// Who may sign in with a pass.
    pub include_targets: Vec<IncludeTarget>,
    /// Who may not, even when included.
    pub exclude_targets: Vec<ExcludeTarget>,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            state: PolicyState::Disabled,
            minimum_lifetime_minutes: Lifetime::ONE_HOUR.minutes(),
            maximum_lifetime_minutes: Lifetime::ONE_DAY.minutes(),
            default_lifetime_minutes: Lifetime::ONE_HOUR.minutes(),
            is_usable_once: false,
            default_length: 8,
            include_targets: Vec::new(),
            exclude_targets: Vec::new(),
        }
    }
}

impl PolicySettings {
    /// The seed's defaults (SPEC 1.2), as [`PolicySettings::default`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the state.
    #[must_use]
    pub fn state(mut self, state: PolicyState) -> Self {
        self.state = state;
        self
    }

    /// Sets the minimum lifetime, in minutes.
    #[must_use]
    pub fn minimum_lifetime_minutes(mut self, minutes: u32) -> Self {
        self.minimum_lifetime_minutes = minutes;
        self
    }

    /// Sets the maximum lifetime, in minutes.
    #[must_use]
    pub fn maximum_lifetime_minutes(mut self, minutes: u32) -> Self {
        self.maximum_lifetime_minutes = minutes;
        self
    }

    /// Sets the default lifetime, in minutes.
    #[must_use]
    pub fn default_lifetime_minutes(mut self, minutes: u32) -> Self {
        self.default_lifetime_minutes = minutes;
        self
    }

    /// Sets whether one-time use is enforced.
    #[must_use]
    pub fn is_usable_once(mut self, once: bool) -> Self {
        self.is_usable_once = once;
        self
    }

    /// Sets the passcode length, in characters.
    #[must_use]
    pub fn default_length(mut self, chars: u32) -> Self {
        self.default_length = chars;
        self
    }

    /// Adds an include target.
    #[must_use]
    pub fn include_target(mut self, target: IncludeTarget) -> Self {
        self.include_targets.push(target);
        self
    }

    /// Adds an exclude target.
    #[must_use]
    pub fn exclude_target(mut self, target: ExcludeTarget) -> Self {
        self.exclude_targets.push(target);
        self
    }
}

/// Why a policy's settings were refused (SPEC 1.3). One variant per rule; the first broken rule
/// is reported, in the order the variants are listed. A value out of its range carries the one
/// [`OutOfRange`] shape: the field, the value and the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The minimum lifetime is outside 10..=43200 minutes.
    #[error(transparent)]
    MinimumLifetime(OutOfRange),
    /// The maximum lifetime is outside 10..=43200 minutes.
    #[error(transparent)]
    MaximumLifetime(OutOfRange),
    /// The default lifetime is outside 10..=43200 minutes.
    #[error(transparent)]
    DefaultLifetime(OutOfRange),
    /// The passcode length is outside 8..=48 characters.
    #[error(transparent)]
    DefaultLength(OutOfRange),
    /// The minimum lifetime is above the maximum.
    #[error(
        "minimum lifetime of {minimum} minutes is above the maximum of {maximum}: the minimum may be at most the maximum"
    )]
    MinimumAboveMaximum {
        /// The minimum given.
        minimum: u32,
        /// The maximum given.
        maximum: u32,
    },
    /// The default lifetime is below the minimum.
    #[error(
        "default lifetime of {default} minutes is below the minimum of {minimum}: allowed {minimum}..={maximum}"
    )]
    DefaultBelowMinimum {
        /// The default given.
        default: u32,
        /// The minimum given.
        minimum: u32,
        /// The maximum given.
        maximum: u32,
    },
    /// The default lifetime is above the maximum.
    #[error(
        "default lifetime of {default} minutes is above the maximum of {maximum}: allowed {minimum}..={maximum}"
    )]
    DefaultAboveMaximum {
        /// The default given.
        default: u32,
        /// The minimum given.
        minimum: u32,
        /// The maximum given.
        maximum: u32,
    },
}

/// A tenant's Temporary Access Pass policy. Always valid: the only way to get one is
/// [`Policy::new`] (or [`Policy::default`], the seed's defaults), which checks every rule of
/// SPEC 1.3. Cloning is cheap: the target lists are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    state: PolicyState,
    minimum_lifetime: Lifetime,
    maximum_lifetime: Lifetime,
    default_lifetime: Lifetime,
    is_usable_once: bool,
    default_length: PasscodeLength,
    targets: Arc<Targets>,
}

/// The include and exclude lists, shared between clones of a policy.
///
/// Aligned to 128 bytes, so that the reference counts of two policies (the store's per-shard
/// copies, say) never share a cache line: cloning a policy on one core then never slows a clone
/// of another policy on another core.
#[derive(Debug, PartialEq, Eq)]
#[repr(align(128))]
struct Targets {
    include: Vec<IncludeTarget>,
    exclude: Vec<ExcludeTarget>,
}

impl Default for Policy {
    /// The seed's defaults (SPEC 1.2): disabled, 60/1440/60 minutes, multi-use, length 8,
    /// no targets.
    fn default() -> Self {
        Self {
            state: PolicyState::Disabled,
            minimum_lifetime: Lifetime::ONE_HOUR,
            maximum_lifetime: Lifetime::ONE_DAY,
            default_lifetime: Lifetime::ONE_HOUR,
            is_usable_once: false,
            default_length: PasscodeLength::DEFAULT,
            targets: Arc::new(Targets {
                include: Vec::new(),
                exclude: Vec::new(),
            }),
        }
    }
}

/// Whether a principal is in a policy's scope, and if not, why (SPEC 1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Enabled, included and not excluded.
    InScope,
    /// The policy is disabled.
    PolicyDisabled,
    /// No include target matches the principal.
    NotIncluded,
    /// An exclude target matches the principal (exclusion beats inclusion).
    Excluded,
}

impl Scope {
    /// True for [`Scope::InScope`].
    #[must_use]
    pub const fn is_in_scope(self) -> bool {
        matches!(self, Self::InScope)
    }
}

impl Policy {
    /// Checks `settings` against every rule of SPEC 1.3 and builds the policy.
    ///
    /// # Errors
    ///
    /// The first [`PolicyError`] found, carrying the value and the allowed range.
    pub fn new(settings: PolicySettings) -> Result<Self, PolicyError> {
        let lifetime = |minutes: u32, field: &'static str, make: fn(OutOfRange) -> PolicyError| {
            Lifetime::from_minutes(minutes).map_err(|e| make(e.for_field(field)))
        };
        let minimum = lifetime(
            settings.minimum_lifetime_minutes,
            "minimum lifetime in minutes",
            PolicyError::MinimumLifetime,
        )?;
        let maximum = lifetime(
            settings.maximum_lifetime_minutes,
            "maximum lifetime in minutes",
            PolicyError::MaximumLifetime,
        )?;
        let default = lifetime(
            settings.default_lifetime_minutes,
            "default lifetime in minutes",
            PolicyError::DefaultLifetime,
        )?;
        let length =
            PasscodeLength::new(settings.default_length).map_err(PolicyError::DefaultLength)?;
        let (min, def, max) = (minimum.minutes(), default.minutes(), maximum.minutes());
        if min > max {
            return Err(PolicyError::MinimumAboveMaximum {
                minimum: min,
                maximum: max,
            });
        }
        if def < min {
            return Err(PolicyError::DefaultBelowMinimum {
                default: def,
                minimum: min,
                maximum: max,
            });
        }
        if def > max {
            return Err(PolicyError::DefaultAboveMaximum {
                default: def,
                minimum: min,
                maximum: max,
            });
        }
        Ok(Self {
            state: settings.state,
            minimum_lifetime: minimum,
            maximum_lifetime: maximum,
            default_lifetime: default,
            is_usable_once: settings.is_usable_once,
            default_length: length,
            targets: Arc::new(Targets {
                include: settings.include_targets,
                exclude: settings.exclude_targets,
            }),
        })
    }

    /// A copy that shares nothing with `self`: for a store that keeps one copy per lock, so
    /// readers behind different locks never touch the same reference count.
    #[cfg(feature = "std")]
    pub(crate) fn unshared(&self) -> Self {
        Self {
            targets: Arc::new(Targets {
                include: self.targets.include.clone(),
                exclude: self.targets.exclude.clone(),
            }),
            ..self.clone()
        }
    }

    /// The profile of later product versions: the seed's defaults with a maximum lifetime of
    /// 480 minutes (8 hours) (SPEC 1.2).
    #[must_use]
    pub fn later_product_defaults() -> Self {
        Self {
            maximum_lifetime: Lifetime::EIGHT_HOURS,
            ..Self::default()
        }
    }

    /// The settings this policy was built from, to edit and validate again with [`Policy::new`].
    #[must_use]
    pub fn settings(&self) -> PolicySettings {
        PolicySettings {
            state: self.state,
            minimum_lifetime_minutes: self.minimum_lifetime.minutes(),
            maximum_lifetime_minutes: self.maximum_lifetime.minutes(),
            default_lifetime_minutes: self.default_lifetime.minutes(),
            is_usable_once: self.is_usable_once,
            default_length: u32::try_from(self.default_length.get()).unwrap_or(8),
            include_targets: self.targets.include.clone(),
            exclude_targets: self.targets.exclude.clone(),
        }
    }

    /// Enabled or disabled.
    #[must_use]
    pub const fn state(&self) -> PolicyState {
        self.state
    }

    /// True when the policy is enabled.
    #[must_use]
    pub const fn is_enabled(&self) -> bool {
        matches!(self.state, PolicyState::Enabled)
    }

    /// The shortest lifetime a pass may have.
    #[must_use]
    pub const fn minimum_lifetime(&self) -> Lifetime {
        self.minimum_lifetime
    }

    /// The longest lifetime a pass may have.
    #[must_use]
    pub const fn maximum_lifetime(&self) -> Lifetime {
        self.maximum_lifetime
    }

    /// The lifetime of a pass whose request names none.
    #[must_use]
    pub const fn default_lifetime(&self) -> Lifetime {
        self.default_lifetime
    }

    /// True when every pass is created one-time and multi-use passes are blocked (SPEC 1.6).
    #[must_use]
    pub const fn is_usable_once(&self) -> bool {
        self.is_usable_once
    }

    /// The passcode length.
    #[must_use]
    pub const fn default_length(&self) -> PasscodeLength {
        self.default_length
    }

    /// Who the policy includes.
    #[must_use]
    pub fn include_targets(&self) -> &[IncludeTarget] {
        &self.targets.include
    }

    /// Who the policy excludes.
    #[must_use]
    pub fn exclude_targets(&self) -> &[ExcludeTarget] {
        &self.targets.exclude
    }

    /// Whether `principal` is in scope, and if not why (SPEC 1.4): enabled, matched by an include
    /// target (directly, through a group, or all users), and matched by no exclude target.
    #[must_use]
    pub fn scope(&self, principal: &Principal) -> Scope {
        if !self.is_enabled() {
            return Scope::PolicyDisabled;
        }
        let excluded = self.targets.exclude.iter().any(|t| match t {
            ExcludeTarget::User(u) => u == principal.id(),
            ExcludeTarget::Group(g) => principal.is_member_of(g),
        });
        if excluded {
            return Scope::Excluded;
        }
        let included = self.targets.include.iter().any(|t| match t {
            IncludeTarget::User(u) => u == principal.id(),
            IncludeTarget::Group(g) => principal.is_member_of(g),
            IncludeTarget::AllUsers => true,
        });
        if included {
            Scope::InScope
        } else {
            Scope::NotIncluded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(id: &str, groups: &[&str]) -> Principal {
        let mut p = Principal::member(UserId::new(id).unwrap());
        for g in groups {
            p = p.group(GroupId::new(g).unwrap());
        }
        p
    }

    #[test]
    fn spec_1_2_defaults_are_the_seed_table() {
        let p = Policy::default();
        assert_eq!(p.state(), PolicyState::Disabled);
        assert_eq!(p.minimum_lifetime().minutes(), 60);
        assert_eq!(p.maximum_lifetime().minutes(), 1440);
        assert_eq!(p.default_lifetime().minutes(), 60);
        assert!(!p.is_usable_once());
        assert_eq!(p.default_length().get(), 8);
        assert!(p.include_targets().is_empty() && p.exclude_targets().is_empty());
        assert_eq!(
            Policy::new(PolicySettings::default()),
            Ok(Policy::default())
        );
        assert_eq!(
            Policy::later_product_defaults()
                .maximum_lifetime()
                .minutes(),
            480
        );
    }

    #[test]
    fn spec_1_4_exclusion_beats_inclusion() {
        let settings = PolicySettings {
            state: PolicyState::Enabled,
            include_targets: alloc::vec![IncludeTarget::AllUsers],
            exclude_targets: alloc::vec![ExcludeTarget::Group(
                GroupId::new("contractors").unwrap()
            )],
            ..PolicySettings::default()
        };
        let policy = Policy::new(settings).unwrap();
        assert_eq!(policy.scope(&principal("a", &[])), Scope::InScope);
        assert_eq!(
            policy.scope(&principal("b", &["contractors"])),
            Scope::Excluded
        );
    }
}
