//! The tenant policy (SPEC 1; Graph: `temporaryAccessPassAuthenticationMethodConfiguration`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use time::{Duration, UtcDateTime};

use crate::event::Event;
use crate::ids::{GroupId, UserId};
use crate::principal::{DirectoryRole, Principal};

/// A pass lifetime in whole minutes, always within [`Lifetime::MIN`]`..=`[`Lifetime::MAX`]
/// (10 minutes to 30 days, SPEC 1.3). With `serde` it is a number of minutes, checked on decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u32", into = "u32"))]
pub struct Lifetime(u32);

impl TryFrom<u32> for Lifetime {
    type Error = RangeError;
    fn try_from(minutes: u32) -> Result<Self, RangeError> {
        Self::from_minutes(minutes)
    }
}

impl From<Lifetime> for u32 {
    fn from(l: Lifetime) -> Self {
        l.0
    }
}

/// A value outside its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} is {value}: allowed {min}..={max}")]
#[non_exhaustive]
pub struct RangeError {
    /// What was out of range (`"lifetime in minutes"`, `"passcode length"`).
    pub what: &'static str,
    /// The value given.
    pub value: u32,
    /// The smallest value allowed.
    pub min: u32,
    /// The largest value allowed.
    pub max: u32,
}

impl Lifetime {
    /// The shortest lifetime any policy allows: 10 minutes.
    pub const MIN: Self = Self(10);
    /// The longest lifetime any policy allows: 43,200 minutes (30 days).
    pub const MAX: Self = Self(43_200);
    /// One hour: the seed's default for the policy minimum and default lifetime.
    pub const ONE_HOUR: Self = Self(60);
    /// Eight hours: the maximum that later versions of the product default to.
    pub const EIGHT_HOURS: Self = Self(480);
    /// 24 hours: the seed's default policy maximum.
    pub const ONE_DAY: Self = Self(1440);

    /// A lifetime of `minutes`, checked against 10..=43200.
    ///
    /// # Errors
    ///
    /// [`RangeError`] naming the value and the allowed range.
    pub const fn from_minutes(minutes: u32) -> Result<Self, RangeError> {
        if minutes < Self::MIN.0 || minutes > Self::MAX.0 {
            return Err(RangeError {
                what: "lifetime in minutes",
                value: minutes,
                min: Self::MIN.0,
                max: Self::MAX.0,
            });
        }
        Ok(Self(minutes))
    }

    /// The lifetime in minutes.
    #[must_use]
    pub const fn minutes(self) -> u32 {
        self.0
    }

    /// The lifetime as a duration.
    #[must_use]
    pub const fn duration(self) -> Duration {
        Duration::minutes(self.0 as i64)
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} minutes", self.0)
    }
}

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
    /// [`RangeError`] naming the value and the allowed range.
    pub const fn new(chars: u32) -> Result<Self, RangeError> {
        if chars < Self::MIN.0 as u32 || chars > Self::MAX.0 as u32 {
            return Err(RangeError {
                what: "passcode length",
                value: chars,
                min: Self::MIN.0 as u32,
                max: Self::MAX.0 as u32,
            });
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked to be at most 48 above"
        )]
        Ok(Self(chars as u8))
    }

    /// The length in characters.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

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
            minimum_lifetime_minutes: Lifetime::ONE_HOUR.0,
            maximum_lifetime_minutes: Lifetime::ONE_DAY.0,
            default_lifetime_minutes: Lifetime::ONE_HOUR.0,
            is_usable_once: false,
            default_length: u32::from(PasscodeLength::DEFAULT.0),
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

    /// Sets the minimum, default and maximum lifetimes, in minutes.
    #[must_use]
    pub fn lifetimes(mut self, minimum: u32, default: u32, maximum: u32) -> Self {
        self.minimum_lifetime_minutes = minimum;
        self.default_lifetime_minutes = default;
        self.maximum_lifetime_minutes = maximum;
        self
    }

    /// Sets whether one-time use is enforced.
    #[must_use]
    pub fn usable_once(mut self, once: bool) -> Self {
        self.is_usable_once = once;
        self
    }

    /// Sets the passcode length.
    #[must_use]
    pub fn length(mut self, chars: u32) -> Self {
        self.default_length = chars;
        self
    }

    /// Adds an include target.
    #[must_use]
    pub fn include(mut self, target: IncludeTarget) -> Self {
        self.include_targets.push(target);
        self
    }

    /// Adds an exclude target.
    #[must_use]
    pub fn exclude(mut self, target: ExcludeTarget) -> Self {
        self.exclude_targets.push(target);
        self
    }
}

/// Why a policy's settings were refused (SPEC 1.3). One variant per rule; the first violated rule
/// is reported, in the order the variants are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The minimum lifetime is outside 10..=43200 minutes.
    #[error("minimum lifetime is {value} minutes: allowed {min}..={max}")]
    MinimumLifetimeOutOfRange {
        /// The value given.
        value: u32,
        /// 10.
        min: u32,
        /// 43200.
        max: u32,
    },
    /// The maximum lifetime is outside 10..=43200 minutes.
    #[error("maximum lifetime is {value} minutes: allowed {min}..={max}")]
    MaximumLifetimeOutOfRange {
        /// The value given.
        value: u32,
        /// 10.
        min: u32,
        /// 43200.
        max: u32,
    },
    /// The default lifetime is outside 10..=43200 minutes.
    #[error("default lifetime is {value} minutes: allowed {min}..={max}")]
    DefaultLifetimeOutOfRange {
        /// The value given.
        value: u32,
        /// 10.
        min: u32,
        /// 43200.
        max: u32,
    },
    /// The passcode length is outside 8..=48 characters.
    #[error("passcode length is {value} characters: allowed {min}..={max}")]
    LengthOutOfRange {
        /// The value given.
        value: u32,
        /// 8.
        min: u32,
        /// 48.
        max: u32,
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
        let range = |value: u32, make: fn(u32, u32, u32) -> PolicyError| {
            Lifetime::from_minutes(value).map_err(|e| make(e.value, e.min, e.max))
        };
        let minimum = range(settings.minimum_lifetime_minutes, |value, min, max| {
            PolicyError::MinimumLifetimeOutOfRange { value, min, max }
        })?;
        let maximum = range(settings.maximum_lifetime_minutes, |value, min, max| {
            PolicyError::MaximumLifetimeOutOfRange { value, min, max }
        })?;
        let default = range(settings.default_lifetime_minutes, |value, min, max| {
            PolicyError::DefaultLifetimeOutOfRange { value, min, max }
        })?;
        let length = PasscodeLength::new(settings.default_length).map_err(|e| {
            PolicyError::LengthOutOfRange {
                value: e.value,
                min: e.min,
                max: e.max,
            }
        })?;
        if default < minimum {
            return Err(PolicyError::DefaultBelowMinimum {
                default: default.0,
                minimum: minimum.0,
                maximum: maximum.0,
            });
        }
        if default > maximum {
            return Err(PolicyError::DefaultAboveMaximum {
                default: default.0,
                minimum: minimum.0,
                maximum: maximum.0,
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
            minimum_lifetime_minutes: self.minimum_lifetime.0,
            maximum_lifetime_minutes: self.maximum_lifetime.0,
            default_lifetime_minutes: self.default_lifetime.0,
            is_usable_once: self.is_usable_once,
            default_length: u32::from(self.default_length.0),
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

    /// Applies a policy change made by `actor` (SPEC 1.5): only a Global Administrator or an
    /// Authentication Policy Administrator may change the policy. `self` is never modified; on
    /// success the new policy comes back with a [`Event::PolicyChanged`] for the audit log.
    ///
    /// # Errors
    ///
    /// [`PolicyChangeError::Forbidden`] when the actor holds neither role;
    /// [`PolicyChangeError::Invalid`] when the new settings break a rule of SPEC 1.3.
    pub fn change(
        &self,
        actor: &Principal,
        settings: PolicySettings,
        now: UtcDateTime,
    ) -> Result<PolicyChange, PolicyChangeError> {
        if !actor.roles().iter().any(|r| r.may_change_policy()) {
            return Err(PolicyChangeError::Forbidden {
                actor: actor.id().clone(),
                strongest_role: actor.strongest_role(),
            });
        }
        let policy = Self::new(settings)?;
        let event = Event::PolicyChanged {
            by: actor.id().clone(),
            at: now,
            enabled: policy.is_enabled(),
        };
        Ok(PolicyChange { policy, event })
    }
}

/// An accepted policy change: the policy to store and the audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct PolicyChange {
    /// The new policy.
    pub policy: Policy,
    /// The audit event to log.
    pub event: Event,
}

/// Why a policy change was refused; the policy is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyChangeError {
    /// The actor may not change the policy (SPEC 1.5).
    #[error("principal {actor} ({}) may not change the policy: only a Global Administrator or an Authentication Policy Administrator may", DirectoryRole::describe(*strongest_role))]
    Forbidden {
        /// Who tried.
        actor: UserId,
        /// The most privileged role the actor holds, if any.
        strongest_role: Option<DirectoryRole>,
    },
    /// The new settings are invalid.
    #[error("invalid policy: {0}")]
    Invalid(#[from] PolicyError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(id: &str, groups: &[&str]) -> Principal {
        let mut p = Principal::member(UserId::new(id).unwrap());
        for g in groups {
            p = p.with_group(GroupId::new(g).unwrap());
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
