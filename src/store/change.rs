//! What a store is asked to do: one conditional [`Change`], what it expects to find
//! ([`Expected`], [`Held`]), with the audit events that record it ([`Commit`]), and what
//! came of it ([`Write`]); and the read every decision is judged on ([`Loaded`]).

use alloc::vec::Vec;

use super::{RecordStamp, Version, Versioned};
use crate::ceremony::{Ceremony, CeremonyId};
use crate::event::Event;
use crate::ids::{PassId, UserId};
use crate::method::{MethodId, RegisteredMethod};
use crate::pass::TemporaryAccessPass;
use crate::policy::Policy;

/// What a change expects to find as the user's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Held {
    /// The user holds no record (a creation).
    Nothing,
    /// Exactly this pass at this version: what a decision judged on the whole record expects
    /// (a sign-in, whose answer depends on the counters and the use a sign-in writes).
    Exactly(RecordStamp),
    /// This pass at whatever version: what a decision judged only on what a pass never changes
    /// (its id, holder, start and end) expects, so that writes of sign-ins meanwhile cannot hold
    /// it off (SPEC 6.7): the replacement of an expired pass, an opted-in replacement.
    Pass(PassId),
}

impl Held {
    /// Whether a user whose stored record is `stored` (`None`: no record) meets this
    /// expectation. A store that checks expectations in its own code, rather than in a
    /// statement's `WHERE`, calls this so every store reads an expectation alike.
    #[must_use]
    pub fn holds(&self, stored: Option<RecordStamp>) -> bool {
        match (self, stored) {
            (Self::Nothing, None) => true,
            (Self::Exactly(expected), Some(stored)) => *expected == stored,
            (Self::Pass(pass), Some(stored)) => *pass == stored.pass,
            (Self::Nothing, Some(_)) | (Self::Exactly(_) | Self::Pass(_), None) => false,
        }
    }
}

/// What a record change expects to find stored: the policy at the version its decision read,
/// and the user's record as [`Held`] says. A decision is judged under the policy too, so it
/// commits only if the policy did not change (SPEC 6.5): a sign-in judged under a policy that
/// was replaced meanwhile is judged again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Expected {
    /// The policy's version, or `None` when no policy was stored.
    pub policy: Option<Version>,
    /// The user's record.
    pub record: Held,
}

impl Expected {
    /// An expectation.
    #[must_use]
    pub const fn new(policy: Option<Version>, record: Held) -> Self {
        Self { policy, record }
    }
}

/// What a decision about a user's methods or ceremonies reads besides the policy and the
/// user's record (SPEC 8.4): the user's methods, one of the user's ceremonies, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Read {
    /// Whose record.
    pub user: UserId,
    /// Whether the user's methods are read too.
    pub methods: bool,
    /// The user's ceremony read too, if any.
    pub ceremony: Option<CeremonyId>,
}

impl Read {
    /// The policy and `user`'s record.
    #[must_use]
    pub const fn user(user: UserId) -> Self {
        Self {
            user,
            methods: false,
            ceremony: None,
        }
    }

    /// The user's methods as well.
    #[must_use]
    pub const fn methods(mut self) -> Self {
        self.methods = true;
        self
    }

    /// The user's ceremony `id` as well.
    #[must_use]
    pub fn ceremony(mut self, id: CeremonyId) -> Self {
        self.ceremony = Some(id);
        self
    }
}

/// The policy and a user's record, read together (SPEC 6.5): what every decision about that
/// user is judged on; and, for a decision about the user's methods or ceremonies, what its
/// [`Read`] asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Loaded {
    /// The tenant policy, or `None` when none is stored (the seed's defaults apply).
    pub policy: Option<Versioned<Policy>>,
    /// The user's record, if any.
    pub record: Option<Versioned<TemporaryAccessPass>>,
    /// The user's methods, oldest first, when the read asked for them.
    pub methods: Vec<Versioned<RegisteredMethod>>,
    /// The ceremony the read asked for, if it is stored for that user.
    pub ceremony: Option<Versioned<Ceremony>>,
}

impl Loaded {
    /// What was read.
    #[must_use]
    pub const fn new(
        policy: Option<Versioned<Policy>>,
        record: Option<Versioned<TemporaryAccessPass>>,
    ) -> Self {
        Self {
            policy,
            record,
            methods: Vec::new(),
            ceremony: None,
        }
    }

    /// What a change judged on the whole of this read must expect: the policy's version and
    /// exactly the record read ([`Held::Exactly`]), or no record ([`Held::Nothing`]).
    #[must_use]
    pub fn expected(&self) -> Expected {
        Expected {
            policy: self.policy.as_ref().map(|p| p.version),
            record: self
                .record
                .as_ref()
                .map_or(Held::Nothing, |r| Held::Exactly(r.stamp())),
        }
    }
}

/// A change to the store, applied only if what it expects is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// `user`'s record becomes `record` (inserted, or replacing the one stored), if the stored
    /// policy and record are what `expected` says. `record` belongs to `user`; a store refuses
    /// one held by somebody else as a conflict.
    Put {
        /// Whose record.
        user: UserId,
        /// What must be stored for the change to apply.
        expected: Expected,
        /// The new record.
        record: TemporaryAccessPass,
    },
    /// `user`'s record is deleted, if it is the pass `pass`, at whatever version and under
    /// whatever policy: how a deletion commits (SPEC 5.7, 6.7). A deletion is judged on what a
    /// pass never changes, so the pass id is the whole of what it read, and a stream of
    /// sign-ins writing the record cannot hold off its revocation.
    Remove {
        /// Whose record.
        user: UserId,
        /// The pass to delete.
        pass: PassId,
    },
    /// No record changes; the change's events commit if `user`'s record is the pass `pass`, at
    /// whatever version and under whatever policy: how a registration commits (SPEC 5.5, 6.7),
    /// judged on the grant and on the pass behind it being stored.
    Keep {
        /// Whose record.
        user: UserId,
        /// The pass that must still be stored.
        pass: PassId,
    },
    /// `method` is stored for `user` (SPEC 8.4), if `held` is `None` or the user's record is the
    /// pass `held` at whatever version, the user holds fewer than `cap` methods, and none with
    /// the method's id.
    AddMethod {
        /// Whose method.
        user: UserId,
        /// The pass a registration through a pass needs stored; `None` for a provisioning.
        held: Option<PassId>,
        /// The new method, at its first version.
        method: RegisteredMethod,
        /// The most methods a user may hold.
        cap: u32,
    },
    /// `user`'s method `id` becomes `method` (its use recorded, or it was blocked), if it is
    /// stored at `expected`: so a signature counter only moves forward (SPEC 8.6).
    UpdateMethod {
        /// Whose method.
        user: UserId,
        /// The version the decision read.
        expected: Version,
        /// The method as it is to be.
        method: RegisteredMethod,
    },
    /// `user`'s method `id` is deleted, at whatever version (SPEC 8.5).
    RemoveMethod {
        /// Whose method.
        user: UserId,
        /// Which.
        id: MethodId,
    },
    /// `ceremony` is stored (SPEC 8.4), if `held` is `None` or its user's record is the pass
    /// `held` at whatever version, and no ceremony with its id is. In the same write, the
    /// user's ceremonies of the same kind that are over at `ceremony.opened()` are forgotten,
    /// and the oldest of the others too when the user would hold more than `per_user` of that
    /// kind: a user's ceremonies are bounded, and one more ends the oldest.
    OpenCeremony {
        /// The new ceremony, at its first version.
        ceremony: Ceremony,
        /// The pass a registration session needs stored.
        held: Option<PassId>,
        /// The most ceremonies of this kind a user holds.
        per_user: u32,
    },
    /// The ceremony becomes `ceremony` (its state set, or taken), if it is stored at `expected`
    /// for its user: so a state is taken once, whichever instance asks first (SPEC 8.4).
    UpdateCeremony {
        /// The version the decision read.
        expected: Version,
        /// The ceremony as it is to be.
        ceremony: Ceremony,
    },
    /// `user`'s ceremony `id` is deleted, if it is stored at `expected`: a ceremony that
    /// answers once taken whole.
    RemoveCeremony {
        /// Whose ceremony.
        user: UserId,
        /// Which.
        id: CeremonyId,
        /// The version the decision read.
        expected: Version,
    },
    /// The policy becomes `policy`, if the stored policy's version is `expected` (`None`: no
    /// policy is stored).
    Policy {
        /// The version the decision read.
        expected: Option<Version>,
        /// The new policy.
        policy: Policy,
    },
}

impl Change {
    /// The user whose record the change expects, if it expects one (not [`Change::Policy`]).
    #[must_use]
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Self::Put { user, .. }
            | Self::Remove { user, .. }
            | Self::Keep { user, .. }
            | Self::AddMethod { user, .. }
            | Self::UpdateMethod { user, .. }
            | Self::RemoveMethod { user, .. }
            | Self::RemoveCeremony { user, .. } => Some(user),
            Self::OpenCeremony { ceremony, .. } | Self::UpdateCeremony { ceremony, .. } => {
                Some(ceremony.user())
            }
            Self::Policy { .. } => None,
        }
    }

    /// True for a change of the user's pass record, which a store's `transact` may hold
    /// ([`Change::Put`], [`Change::Remove`], [`Change::Keep`]); false for the policy, a
    /// method or a ceremony.
    #[must_use]
    pub const fn is_record_change(&self) -> bool {
        matches!(
            self,
            Self::Put { .. } | Self::Remove { .. } | Self::Keep { .. }
        )
    }
}

/// A change with the audit events that record it (SPEC 7.1). A store applies both in one
/// atomic write, or neither: no committed change lacks its events, and no event exists for a
/// change that did not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Commit {
    /// The change.
    pub change: Change,
    /// Its events, in the order they are numbered in the outbox.
    pub events: Vec<Event>,
}

impl Commit {
    /// `change`, recorded by `events`.
    #[must_use]
    pub const fn new(change: Change, events: Vec<Event>) -> Self {
        Self { change, events }
    }

    /// [`Change::Put`] without events.
    #[must_use]
    pub const fn put(user: UserId, expected: Expected, record: TemporaryAccessPass) -> Self {
        Self::new(
            Change::Put {
                user,
                expected,
                record,
            },
            Vec::new(),
        )
    }

    /// [`Change::Remove`] without events.
    #[must_use]
    pub const fn remove(user: UserId, pass: PassId) -> Self {
        Self::new(Change::Remove { user, pass }, Vec::new())
    }

    /// [`Change::Keep`] without events.
    #[must_use]
    pub const fn keep(user: UserId, pass: PassId) -> Self {
        Self::new(Change::Keep { user, pass }, Vec::new())
    }

    /// [`Change::Policy`] without events.
    #[must_use]
    pub const fn policy(expected: Option<Version>, policy: Policy) -> Self {
        Self::new(Change::Policy { expected, policy }, Vec::new())
    }

    /// The same change, recorded by `events`.
    #[must_use]
    pub fn with_events(mut self, events: Vec<Event>) -> Self {
        self.events = events;
        self
    }
}

/// The result of a conditional change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
#[non_exhaustive]
pub enum Write {
    /// Applied: the value now has this version (for a deletion, the version it had; for a
    /// [`Change::Keep`], the record's version, unchanged).
    Written(Version),
    /// The expectation did not hold; nothing was written, no event included.
    Conflict,
}

impl Write {
    /// The result of one conditional SQL statement that changed `rows` rows (the pattern of
    /// the crate's SQL stores): one row is `Written(version)`, none a [`Write::Conflict`], and
    /// more is `None`, a store that broke its own schema (one row per user), to report as an
    /// error.
    #[must_use]
    pub const fn from_changed_rows(rows: u64, version: Version) -> Option<Self> {
        match rows {
            1 => Some(Self::Written(version)),
            0 => Some(Self::Conflict),
            _ => None,
        }
    }
}
