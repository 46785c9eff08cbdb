//! The cast, the operations and their strategy: what a model check drives a host with.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use proptest::prelude::*;
use time::{Duration, UtcDateTime};

use crate::create::CreateRequest;
use crate::ids::{GroupId, UserId};
use crate::policy::{ExcludeTarget, IncludeTarget, PolicySettings, PolicyState};
use crate::principal::{DirectoryRole, Principal};
use crate::signin::{Client, PasswordlessMethod};

/// The group some of the cast belong to.
pub const GROUP: &str = "onboarding";

/// The people of a model check: administrators of every role that matters, members, a limited
/// administrator who counts as a member, and a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Who {
    /// A Global Administrator.
    GlobalAdmin,
    /// A Privileged Authentication Administrator.
    PrivilegedAuthAdmin,
    /// An Authentication Administrator (a limited role: a member to others).
    AuthAdmin,
    /// An Authentication Policy Administrator.
    PolicyAdmin,
    /// A Global Reader.
    Reader,
    /// A Password Administrator (a limited role: a member to others).
    PasswordAdmin,
    /// A member of the group [`GROUP`].
    Alice,
    /// A member of no group.
    Bob,
    /// A guest in the group [`GROUP`].
    Guest,
}

impl Who {
    /// Everyone, in a fixed order.
    pub const ALL: [Self; 9] = [
        Self::GlobalAdmin,
        Self::PrivilegedAuthAdmin,
        Self::AuthAdmin,
        Self::PolicyAdmin,
        Self::Reader,
        Self::PasswordAdmin,
        Self::Alice,
        Self::Bob,
        Self::Guest,
    ];

    /// The user id.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::GlobalAdmin => "ga@contoso.test",
            Self::PrivilegedAuthAdmin => "paa@contoso.test",
            Self::AuthAdmin => "aa@contoso.test",
            Self::PolicyAdmin => "apa@contoso.test",
            Self::Reader => "reader@contoso.test",
            Self::PasswordAdmin => "pwadmin@contoso.test",
            Self::Alice => "alice@contoso.test",
            Self::Bob => "bob@contoso.test",
            Self::Guest => "guest_fabrikam.test#EXT#@contoso.test",
        }
    }

    /// The principal, as a host's directory would describe them.
    ///
    /// # Panics
    ///
    /// Never: the ids are fixed and valid.
    #[must_use]
    #[allow(clippy::expect_used, reason = "fixed, valid ids")]
    pub fn principal(self) -> Principal {
        let id = UserId::new(self.id()).expect("a fixed, valid id");
        let group = || GroupId::new(GROUP).expect("a fixed, valid id");
        match self {
            Self::GlobalAdmin => Principal::member(id).role(DirectoryRole::GlobalAdministrator),
            Self::PrivilegedAuthAdmin => {
                Principal::member(id).role(DirectoryRole::PrivilegedAuthenticationAdministrator)
            }
            Self::AuthAdmin => {
                Principal::member(id).role(DirectoryRole::AuthenticationAdministrator)
            }
            Self::PolicyAdmin => {
                Principal::member(id).role(DirectoryRole::AuthenticationPolicyAdministrator)
            }
            Self::Reader => Principal::member(id).role(DirectoryRole::GlobalReader),
            Self::PasswordAdmin => Principal::member(id).role(DirectoryRole::PasswordAdministrator),
            Self::Alice => Principal::member(id).group(group()),
            Self::Bob => Principal::member(id),
            Self::Guest => Principal::guest(id).group(group()),
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GlobalAdmin => "the Global Administrator",
            Self::PrivilegedAuthAdmin => "the Privileged Authentication Administrator",
            Self::AuthAdmin => "the Authentication Administrator",
            Self::PolicyAdmin => "the Authentication Policy Administrator",
            Self::Reader => "the Global Reader",
            Self::PasswordAdmin => "the Password Administrator",
            Self::Alice => "Alice",
            Self::Bob => "Bob",
            Self::Guest => "the guest",
        })
    }
}

/// Who a policy includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Include {
    /// Nobody (the seed's policy targets no one).
    Nobody,
    /// Everyone.
    AllUsers,
    /// The group [`GROUP`].
    Group,
    /// Bob alone.
    Bob,
}

/// Who a policy excludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exclude {
    /// Nobody.
    Nobody,
    /// The group [`GROUP`].
    Group,
    /// Alice alone.
    Alice,
}

/// A policy to set, in plain values (some combinations are invalid on purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyChoice {
    /// Enabled or not.
    pub enabled: bool,
    /// Every pass one-time.
    pub once: bool,
    /// Lifetimes, in minutes.
    pub minimum: u32,
    /// The maximum lifetime.
    pub maximum: u32,
    /// The default lifetime.
    pub default: u32,
    /// The code length.
    pub length: u32,
    /// Who is included.
    pub include: Include,
    /// Who is excluded.
    pub exclude: Exclude,
}

impl PolicyChoice {
    /// The settings a host is asked to store.
    ///
    /// # Panics
    ///
    /// Never: the ids are fixed and valid.
    #[must_use]
    #[allow(clippy::expect_used, reason = "fixed, valid ids")]
    pub fn settings(&self) -> PolicySettings {
        let group = || GroupId::new(GROUP).expect("a fixed, valid id");
        let user = |who: Who| UserId::new(who.id()).expect("a fixed, valid id");
        let settings = PolicySettings::new()
            .state(if self.enabled {
                PolicyState::Enabled
            } else {
                PolicyState::Disabled
            })
            .is_usable_once(self.once)
            .minimum_lifetime_minutes(self.minimum)
            .maximum_lifetime_minutes(self.maximum)
            .default_lifetime_minutes(self.default)
            .default_length(self.length);
        let settings = match self.include {
            Include::Nobody => settings,
            Include::AllUsers => settings.include_target(IncludeTarget::AllUsers),
            Include::Group => settings.include_target(IncludeTarget::Group(group())),
            Include::Bob => settings.include_target(IncludeTarget::User(user(Who::Bob))),
        };
        match self.exclude {
            Exclude::Nobody => settings,
            Exclude::Group => settings.exclude_target(ExcludeTarget::Group(group())),
            Exclude::Alice => settings.exclude_target(ExcludeTarget::User(user(Who::Alice))),
        }
    }
}

/// Which code a sign-in types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Typed {
    /// The code of the user's latest pass (a wrong code when they were never given one).
    Latest,
    /// The code of the pass before it (a wrong code when there is none).
    Previous,
    /// The latest code given to anyone else.
    Someone,
    /// A code no pass has.
    Wrong,
}

/// One operation of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `actor` sets the policy.
    SetPolicy {
        /// Who.
        actor: Who,
        /// To what.
        policy: PolicyChoice,
    },
    /// `actor` creates a pass for `target`: a start that many minutes from now (`None`: now),
    /// a lifetime, a one-time flag.
    Create {
        /// Who.
        actor: Who,
        /// For whom.
        target: Who,
        /// Minutes from now to the start.
        start_in: Option<i64>,
        /// The lifetime asked for.
        lifetime: Option<u32>,
        /// The one-time flag asked for.
        once: Option<bool>,
    },
    /// `actor` views `holder`'s pass.
    View {
        /// Who.
        actor: Who,
        /// Whose.
        holder: Who,
    },
    /// `actor` deletes `holder`'s pass.
    Delete {
        /// Who.
        actor: Who,
        /// Whose.
        holder: Who,
    },
    /// The sign-in page asks whether to offer `user` a pass.
    Offer {
        /// Who signs in.
        user: Who,
        /// With what.
        client: Client,
    },
    /// `user` signs in with a code.
    Redeem {
        /// Who signs in.
        user: Who,
        /// Which code.
        code: Typed,
        /// With what.
        client: Client,
    },
    /// `user` registers a passwordless method under their latest sign-in.
    Register {
        /// Who.
        user: Who,
        /// What.
        method: PasswordlessMethod,
    },
    /// `user` opens a registration session under their latest sign-in (SPEC 8.1, 8.4).
    OpenSession {
        /// Who.
        user: Who,
    },
    /// `user` registers a key through their latest session: its options kept and taken, then
    /// the key added (SPEC 8.1, 8.3, 8.4).
    RegisterKey {
        /// Who.
        user: Who,
    },
    /// `actor` provisions a key for `target`: a challenge opened and taken, then the key added
    /// (SPEC 8.5).
    ProvisionKey {
        /// Who.
        actor: Who,
        /// For whom.
        target: Who,
    },
    /// `actor` lists `holder`'s keys (SPEC 8.5).
    ListKeys {
        /// Who.
        actor: Who,
        /// Whose.
        holder: Who,
    },
    /// `actor` deletes `holder`'s oldest key (SPEC 8.5).
    DeleteKey {
        /// Who.
        actor: Who,
        /// Whose.
        holder: Who,
    },
    /// `user` signs in with their oldest key (SPEC 8.6).
    UseKey {
        /// Who.
        user: Who,
    },
    /// The clock moves (backwards too: instances' clocks disagree).
    Wait {
        /// Minutes; negative moves back.
        minutes: i64,
    },
}

impl Op {
    /// The creation request of an [`Op::Create`] at `now`.
    #[must_use]
    pub fn request(
        start_in: Option<i64>,
        lifetime: Option<u32>,
        once: Option<bool>,
        now: UtcDateTime,
    ) -> CreateRequest {
        let mut request = CreateRequest::new();
        if let Some(start) = start_in.and_then(|m| now.checked_add(Duration::minutes(m))) {
            request = request.start(start);
        }
        if let Some(minutes) = lifetime {
            request = request.lifetime_minutes(minutes);
        }
        if let Some(once) = once {
            request = request.is_usable_once(once);
        }
        request
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SetPolicy { actor, policy: p } => write!(
                f,
                "{actor} sets the policy: {}, {}, lifetimes {}..={} (default {}), length {}, includes {:?}, excludes {:?}",
                if p.enabled { "enabled" } else { "disabled" },
                if p.once {
                    "one-time"
                } else {
                    "multi-use allowed"
                },
                p.minimum,
                p.maximum,
                p.default,
                p.length,
                p.include,
                p.exclude
            ),
            Self::Create {
                actor,
                target,
                start_in,
                lifetime,
                once,
            } => {
                write!(f, "{actor} creates a pass for {target}")?;
                if let Some(m) = start_in {
                    write!(f, ", starting in {m} min")?;
                }
                if let Some(l) = lifetime {
                    write!(f, ", lifetime {l} min")?;
                }
                match once {
                    Some(true) => write!(f, ", one-time"),
                    Some(false) => write!(f, ", multi-use"),
                    None => Ok(()),
                }
            }
            Self::View { actor, holder } => write!(f, "{actor} views {holder}'s pass"),
            Self::Delete { actor, holder } => write!(f, "{actor} deletes {holder}'s pass"),
            Self::Offer { user, client } => {
                write!(f, "the {client} asks whether to offer {user} a pass")
            }
            Self::Redeem { user, code, client } => {
                let code = match code {
                    Typed::Latest => "their latest code",
                    Typed::Previous => "their previous code",
                    Typed::Someone => "someone else's code",
                    Typed::Wrong => "a wrong code",
                };
                write!(f, "{user} signs in with {code} ({client})")
            }
            Self::Register { user, method } => write!(f, "{user} registers a {method}"),
            Self::OpenSession { user } => write!(f, "{user} opens a registration session"),
            Self::RegisterKey { user } => write!(f, "{user} registers a key in their session"),
            Self::ProvisionKey { actor, target } => {
                write!(f, "{actor} provisions a key for {target}")
            }
            Self::ListKeys { actor, holder } => write!(f, "{actor} lists {holder}'s keys"),
            Self::DeleteKey { actor, holder } => {
                write!(f, "{actor} deletes {holder}'s oldest key")
            }
            Self::UseKey { user } => write!(f, "{user} signs in with their oldest key"),
            Self::Wait { minutes } if *minutes < 0 => {
                write!(f, "the clock goes back {} min", minutes.unsigned_abs())
            }
            Self::Wait { minutes } => write!(f, "{minutes} min pass"),
        }
    }
}

/// A sequence of operations, printed one numbered step per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ops(pub Vec<Op>);

impl fmt::Display for Ops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, op) in self.0.iter().enumerate() {
            writeln!(f, "  {}. {op}", i.saturating_add(1))?;
        }
        Ok(())
    }
}

impl Ops {
    /// The steps as text, one per line.
    #[must_use]
    pub fn describe(&self) -> String {
        alloc::format!("{self}")
    }
}

fn who() -> impl Strategy<Value = Who> {
    proptest::sample::select(Who::ALL.to_vec())
}

/// The people passes are made for and who sign in: Alice most of all (so that sequences
/// dwell on one pass long enough to reach its lock), Bob, a guest, administrators.
fn holder() -> impl Strategy<Value = Who> {
    prop_oneof![
        5 => Just(Who::Alice),
        2 => Just(Who::Bob),
        1 => proptest::sample::select(alloc::vec![Who::Guest, Who::AuthAdmin, Who::PasswordAdmin, Who::GlobalAdmin]),
    ]
}

/// Administrators who manage passes, mostly; anyone, sometimes.
fn manager() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => proptest::sample::select(alloc::vec![Who::GlobalAdmin, Who::PrivilegedAuthAdmin, Who::AuthAdmin]),
        1 => who(),
    ]
}

fn client() -> impl Strategy<Value = Client> {
    prop_oneof![
        8 => Just(Client::Browser),
        2 => Just(Client::AuthenticatorApp),
        1 => proptest::sample::select(alloc::vec![Client::AdfsAdapter, Client::NpsExtension]),
    ]
}

fn policy_choice() -> impl Strategy<Value = PolicyChoice> {
    (
        prop::bool::weighted(0.85),
        any::<bool>(),
        proptest::sample::select(alloc::vec![10_u32, 60]),
        proptest::sample::select(alloc::vec![480_u32, 60, 1440]),
        proptest::sample::select(alloc::vec![60_u32, 10, 120]),
        prop_oneof![6 => Just(8_u32), 1 => Just(12), 1 => Just(4)],
        prop_oneof![4 => Just(Include::AllUsers), 1 => Just(Include::Group), 1 => Just(Include::Bob)],
        prop_oneof![4 => Just(Exclude::Nobody), 1 => Just(Exclude::Group), 1 => Just(Exclude::Alice)],
    )
        .prop_map(
            |(enabled, once, minimum, maximum, default, length, include, exclude)| PolicyChoice {
                enabled,
                once,
                minimum,
                maximum,
                default,
                length,
                include,
                exclude,
            },
        )
}

/// One operation, weighted towards sign-ins.
pub fn operation() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (prop_oneof![4 => Just(Who::GlobalAdmin), 1 => who()], policy_choice())
            .prop_map(|(actor, policy)| Op::SetPolicy { actor, policy }),
        4 => (
            manager(),
            holder(),
            prop_oneof![6 => Just(None), 1 => Just(Some(-1_i64)), 2 => proptest::sample::select(alloc::vec![0_i64, 30, 120]).prop_map(Some)],
            prop_oneof![4 => Just(None), 2 => proptest::sample::select(alloc::vec![60_u32, 10, 480, 5, 2000]).prop_map(Some)],
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(actor, target, start_in, lifetime, once)| Op::Create { actor, target, start_in, lifetime, once }),
        1 => (who(), holder()).prop_map(|(actor, holder)| Op::View { actor, holder }),
        1 => (manager(), holder()).prop_map(|(actor, holder)| Op::Delete { actor, holder }),
        1 => (holder(), client()).prop_map(|(user, client)| Op::Offer { user, client }),
        7 => (
            holder(),
            prop_oneof![5 => Just(Typed::Latest), 4 => Just(Typed::Wrong), 1 => Just(Typed::Previous), 1 => Just(Typed::Someone)],
            client(),
        )
            .prop_map(|(user, code, client)| Op::Redeem { user, code, client }),
        2 => (holder(), prop_oneof![Just(PasswordlessMethod::Fido2SecurityKey), Just(PasswordlessMethod::PhoneSignIn)])
            .prop_map(|(user, method)| Op::Register { user, method }),
        6 => keys(),
        3 => prop_oneof![
            4 => proptest::sample::select(alloc::vec![1_i64, 9, 10, 30, 60, 120]),
            1 => proptest::sample::select(alloc::vec![-1_i64, -5, 600, 1500]),
        ]
        .prop_map(|minutes| Op::Wait { minutes }),
    ]
}

/// The operations on keys (SPEC 8): sessions opened and used, keys provisioned, listed,
/// deleted and signed in with.
fn keys() -> impl Strategy<Value = Op> {
    // Alice most of all: she holds most passes, so her sessions open and her keys register.
    let user = || prop_oneof![6 => Just(Who::Alice), 1 => holder()];
    prop_oneof![
        4 => user().prop_map(|user| Op::OpenSession { user }),
        5 => user().prop_map(|user| Op::RegisterKey { user }),
        3 => (manager(), holder()).prop_map(|(actor, target)| Op::ProvisionKey { actor, target }),
        1 => (who(), holder()).prop_map(|(actor, holder)| Op::ListKeys { actor, holder }),
        1 => (manager(), holder()).prop_map(|(actor, holder)| Op::DeleteKey { actor, holder }),
        1 => user().prop_map(|user| Op::UseKey { user }),
    ]
}

/// The first step of a sequence: mostly the Global Administrator enabling the policy for
/// everyone (the seed's policy is disabled, and little happens under it), sometimes anything.
fn first() -> impl Strategy<Value = Op> {
    let enable = PolicyChoice {
        enabled: true,
        once: false,
        minimum: 10,
        maximum: 480,
        default: 60,
        length: 8,
        include: Include::AllUsers,
        exclude: Exclude::Nobody,
    };
    prop_oneof![
        4 => Just(Op::SetPolicy { actor: Who::GlobalAdmin, policy: enable }),
        1 => operation(),
    ]
}

/// Sequences of 1 to `max` operations over the cast, for [`super::check`]. Shrinking removes
/// steps and simplifies the rest, so a mismatch ends as a short sequence.
pub fn operations_up_to(max: usize) -> impl Strategy<Value = Ops> {
    (first(), prop::collection::vec(operation(), 0..max.max(1))).prop_map(|(first, rest)| {
        let mut ops = alloc::vec![first];
        ops.extend(rest);
        Ops(ops)
    })
}

/// Sequences of 1 to 40 operations over the cast ([`operations_up_to`]).
pub fn operations() -> impl Strategy<Value = Ops> {
    operations_up_to(40)
}
