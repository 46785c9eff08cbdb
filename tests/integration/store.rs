//! The store conformance suite against `InMemoryStore`, races included (SPEC 5.3, 6.4, 2.7).

use temporary_access_pass::InMemoryStore;

use temporary_access_pass::testing::conformance;

#[test]
fn in_memory_store_keeps_every_sequential_guarantee() {
    conformance::check_store(&InMemoryStore::new());
}

#[test]
fn spec_5_3_one_time_pass_redeemed_exactly_once_by_8_threads_10000_rounds() {
    conformance::race_one_time_redemption(&InMemoryStore::new(), 10_000);
}

#[test]
fn spec_6_4_lock_engages_at_exactly_the_limit_under_8_guessing_threads() {
    conformance::race_lockout(&InMemoryStore::new(), 200);
}

#[test]
fn spec_2_7_concurrent_creations_leave_exactly_one_pass() {
    conformance::race_creation(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_a_burst_of_64_attempts_on_one_version_replays_as_a_sequential_history() {
    conformance::race_burst(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_a_burst_of_64_wrong_codes_gets_exactly_10_judged() {
    conformance::race_burst_wrong_codes(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_no_sign_in_is_granted_after_a_delete_landed() {
    conformance::race_delete(&InMemoryStore::new(), 200);
}

#[test]
fn spec_6_5_sign_ins_judged_under_a_policy_disabled_before_their_write_are_refused() {
    conformance::race_policy_change(&InMemoryStore::new(), 200);
}

#[test]
fn a_single_lock_store_passes_the_whole_suite_too() {
    conformance::run_all(&InMemoryStore::with_shards(1));
}

#[test]
fn in_memory_store_debug_prints_no_contents() {
    use temporary_access_pass::store::Store;
    use temporary_access_pass::{CreateContext, CreateRequest, DirectoryRole, create};

    use crate::support::{CREATED, TestRng, admin, key, member, open_policy};

    let store = InMemoryStore::new();
    let policy = open_policy();
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let user = member("secret-user@contoso.com");
    let issued = create(
        &CreateContext::new(&policy, key(), &issuer, &user),
        &CreateRequest::new(),
        CREATED,
        &mut TestRng(4),
    )
    .unwrap();
    let expected = temporary_access_pass::store::Expected::new(
        None,
        temporary_access_pass::store::Held::Nothing,
    );
    let commit = temporary_access_pass::store::Commit::put(
        user.id().clone(),
        expected,
        issued.record.clone(),
    );
    assert!(matches!(
        store.commit(&commit).unwrap(),
        temporary_access_pass::store::Write::Written(_)
    ));
    assert_eq!(store.len(), 1);
    assert_eq!(
        format!("{store:?}"),
        format!(
            "InMemoryStore {{ passes: 1, shards: {}, .. }}",
            InMemoryStore::default_shards()
        )
    );
}

/// Stores that are wrong on purpose: the suite must catch each of them.
mod broken_stores {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Mutex;

    use temporary_access_pass::store::{
        Change, Commit, Held, Loaded, Recorded, Sequence, Store, Versioned, Write,
    };
    use temporary_access_pass::testing::conformance;
    use temporary_access_pass::{InMemoryStore, Policy, UserId};

    /// Which part of the expectation the store ignores (it reads what is stored and pretends
    /// that was expected: a read followed by a write).
    #[derive(Clone, Copy)]
    enum Ignores {
        PolicyVersion,
        RecordVersion,
    }

    /// A store that reads what is stored and pretends that was expected: a read followed by
    /// a write.
    fn lax(ignores: Ignores) -> crate::support::Hooked {
        crate::support::Hooked::new().on_commit(move |inner, mut commit| {
            if let Change::Put { user, expected, .. } = &mut commit.change {
                let now = inner.load(user).unwrap().expected();
                match ignores {
                    Ignores::PolicyVersion => expected.policy = now.policy,
                    Ignores::RecordVersion => {
                        if let Held::Exactly(_) = expected.record {
                            expected.record = now.record;
                        }
                    }
                }
            }
            commit
        })
    }

    fn fails(check: impl FnOnce()) -> bool {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let failed = catch_unwind(AssertUnwindSafe(check)).is_err();
        std::panic::set_hook(hook);
        failed
    }

    #[test]
    fn the_suite_catches_a_store_that_ignores_the_record_version() {
        let store = lax(Ignores::RecordVersion);
        assert!(fails(|| conformance::check_store(&store)));
        // The bursts make every attempt read before any writes: the lost updates are certain,
        // not a matter of scheduling.
        assert!(fails(|| conformance::race_burst_wrong_codes(&store, 5)));
        assert!(fails(|| conformance::race_burst(&store, 5)));
    }

    #[test]
    fn the_suite_catches_a_store_that_removes_whichever_pass_is_stored() {
        let store = crate::support::Hooked::new().on_commit(|inner, mut commit| {
            if let Change::Remove { user, pass } = &mut commit.change
                && let Some(stored) = inner.load(user).unwrap().record
            {
                *pass = *stored.value.id();
            }
            commit
        });
        assert!(fails(|| conformance::check_store(&store)));
    }

    #[test]
    fn the_suite_catches_a_store_that_ignores_the_policy_version() {
        let store = lax(Ignores::PolicyVersion);
        assert!(fails(|| conformance::check_store(&store)));
        let store = lax(Ignores::PolicyVersion);
        assert!(fails(|| conformance::race_policy_change(&store, 5)));
    }

    #[test]
    fn the_suite_catches_a_store_that_commits_changes_without_their_events() {
        // SPEC 7.1: the change lands, its audit events are lost.
        let store = crate::support::Hooked::new()
            .on_commit(|_, commit| commit.clone().with_events(Vec::new()));
        assert!(fails(|| conformance::check_store(&store)));
    }

    /// A store that appends a change's events before it knows whether the change lands, in an
    /// outbox beside the records: events for changes that never committed (SPEC 7.1).
    #[derive(Default)]
    struct EventsFirst {
        inner: InMemoryStore,
        outbox: Mutex<Vec<Recorded>>,
    }

    impl Store for EventsFirst {
        type Error = std::convert::Infallible;
        fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
            self.inner.load(user)
        }
        fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
            self.inner.load_policy()
        }
        fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
            let mut outbox = self.outbox.lock().unwrap();
            for event in &commit.events {
                let next = outbox.last().map_or(Sequence::START, |r| r.sequence).next();
                outbox.push(Recorded::new(next, event.clone()));
            }
            self.inner.commit(&commit.clone().with_events(Vec::new()))
        }
        fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Self::Error> {
            let outbox = self.outbox.lock().unwrap();
            Ok(outbox
                .iter()
                .filter(|r| r.sequence > after)
                .take(limit)
                .cloned()
                .collect())
        }
        fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
            let mut outbox = self.outbox.lock().unwrap();
            let len = outbox.len();
            outbox.retain(|r| r.sequence >= before);
            Ok(u64::try_from(len - outbox.len()).unwrap())
        }

        fn load_methods(
            &self,
            _user: &temporary_access_pass::UserId,
        ) -> Result<
            Vec<
                temporary_access_pass::store::Versioned<
                    temporary_access_pass::method::RegisteredMethod,
                >,
            >,
            Self::Error,
        > {
            Ok(Vec::new())
        }

        fn load_ceremony(
            &self,
            _user: &temporary_access_pass::UserId,
            _id: &temporary_access_pass::ceremony::CeremonyId,
        ) -> Result<
            Option<
                temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>,
            >,
            Self::Error,
        > {
            Ok(None)
        }

        fn prune_ceremonies(
            &self,
            _now: temporary_access_pass::time::UtcDateTime,
        ) -> Result<u64, Self::Error> {
            Ok(0)
        }
    }

    #[test]
    fn the_suite_catches_a_store_that_commits_events_without_their_changes() {
        assert!(fails(|| conformance::check_store(&EventsFirst::default())));
    }

    #[test]
    fn the_in_memory_store_passes_where_the_broken_ones_fail() {
        // The checks above fail for the fault, not for the wrapper.
        assert!(!fails(|| conformance::check_store(
            &crate::support::Hooked::new()
        )));
    }
}

/// The sharded store answers every sequence of operations as a plain store behind one lock does,
/// its outbox included.
mod against_a_single_lock_reference {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use temporary_access_pass::store::{
        Change, Commit, Expected, Held, Loaded, RecordStamp, Recorded, Sequence, Store, Version,
        Versioned, Write,
    };
    use temporary_access_pass::testing::proptest::prelude::*;
    use temporary_access_pass::{
        CreateContext, CreateRequest, DirectoryRole, Event, InMemoryStore, PassId, Policy,
        PolicySettings, PolicyState, TemporaryAccessPass, UserId, create,
    };

    use crate::support::{CREATED, TestRng, admin, key, member, open_policy};

    /// The obvious store: one mutex over a map, the policy and the outbox.
    #[derive(Default)]
    struct Reference(Mutex<State>);

    #[derive(Default)]
    struct State {
        policy: Option<Versioned<Policy>>,
        records: HashMap<UserId, Versioned<TemporaryAccessPass>>,
        events: Vec<Recorded>,
        last: u64,
    }

    impl State {
        fn apply(&mut self, change: &Change) -> Write {
            let policy_now = self.policy.as_ref().map(|p| p.version);
            match change {
                Change::Put {
                    user,
                    expected,
                    record,
                } => {
                    let now = self.records.get(user).map(Versioned::stamp);
                    if record.user() != user
                        || expected.policy != policy_now
                        || !expected.record.holds(now)
                    {
                        return Write::Conflict;
                    }
                    let v = now.map_or(Version::FIRST, |s| s.version.next());
                    self.records
                        .insert(user.clone(), Versioned::new(v, record.clone()));
                    Write::Written(v)
                }
                Change::Remove { user, pass } => match self.records.get(user) {
                    Some(stored) if stored.value.id() == pass => {
                        let v = stored.version;
                        self.records.remove(user);
                        Write::Written(v)
                    }
                    Some(_) | None => Write::Conflict,
                },
                Change::Keep { user, pass } => match self.records.get(user) {
                    Some(stored) if stored.value.id() == pass => Write::Written(stored.version),
                    Some(_) | None => Write::Conflict,
                },
                Change::Policy { expected, policy } => {
                    if policy_now != *expected {
                        return Write::Conflict;
                    }
                    let v = expected.map_or(Version::FIRST, Version::next);
                    self.policy = Some(Versioned::new(v, policy.clone()));
                    Write::Written(v)
                }
                _ => Write::Conflict,
            }
        }
    }

    impl Store for Reference {
        type Error = std::convert::Infallible;
        fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
            let s = self.0.lock().unwrap();
            Ok(Loaded::new(s.policy.clone(), s.records.get(user).cloned()))
        }
        fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
            Ok(self.0.lock().unwrap().policy.clone())
        }
        fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
            let mut s = self.0.lock().unwrap();
            let written = s.apply(&commit.change);
            if let Write::Written(_) = written {
                for event in &commit.events {
                    s.last += 1;
                    let n = s.last;
                    s.events
                        .push(Recorded::new(Sequence::new(n), event.clone()));
                }
            }
            Ok(written)
        }
        fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Self::Error> {
            let s = self.0.lock().unwrap();
            Ok(s.events
                .iter()
                .filter(|r| r.sequence > after)
                .take(limit)
                .cloned()
                .collect())
        }
        fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
            let mut s = self.0.lock().unwrap();
            let len = s.events.len();
            s.events.retain(|r| r.sequence >= before);
            Ok(u64::try_from(len - s.events.len()).unwrap())
        }

        fn load_methods(
            &self,
            _user: &temporary_access_pass::UserId,
        ) -> Result<
            Vec<
                temporary_access_pass::store::Versioned<
                    temporary_access_pass::method::RegisteredMethod,
                >,
            >,
            Self::Error,
        > {
            Ok(Vec::new())
        }

        fn load_ceremony(
            &self,
            _user: &temporary_access_pass::UserId,
            _id: &temporary_access_pass::ceremony::CeremonyId,
        ) -> Result<
            Option<
                temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>,
            >,
            Self::Error,
        > {
            Ok(None)
        }

        fn prune_ceremonies(
            &self,
            _now: temporary_access_pass::time::UtcDateTime,
        ) -> Result<u64, Self::Error> {
            Ok(0)
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Put a fresh record for user `u`, expecting the record exactly (`by_pass` false) or
        /// by its pass id, stale or not, with `events` markers.
        Put {
            u: usize,
            by_pass: bool,
            stale: u8,
            events: u8,
        },
        /// Delete user `u`'s record by its pass id (or another), whatever its version.
        Remove {
            u: usize,
            other: bool,
            events: u8,
        },
        /// Keep user `u`'s pass (or another), with `events` markers.
        Keep {
            u: usize,
            other: bool,
            events: u8,
        },
        /// Change the policy, expecting its version (or a stale one).
        Policy {
            enabled: bool,
            stale: bool,
            events: u8,
        },
        /// A decision held by `transact`: put a fresh record over whatever is read.
        Transact {
            u: usize,
            writes: bool,
        },
        Load {
            u: usize,
        },
        /// Read the outbox after a number, up to a limit.
        ReadEvents {
            after: u64,
            limit: usize,
        },
        /// Prune the outbox before a number.
        Prune {
            before: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0_usize..4, any::<bool>(), 0_u8..4, 0_u8..3)
                .prop_map(|(u, by_pass, stale, events)| Op::Put { u, by_pass, stale, events }),
            2 => (0_usize..4, any::<bool>(), 0_u8..3)
                .prop_map(|(u, other, events)| Op::Remove { u, other, events }),
            1 => (0_usize..4, any::<bool>(), 0_u8..3)
                .prop_map(|(u, other, events)| Op::Keep { u, other, events }),
            1 => (any::<bool>(), prop::bool::weighted(0.3), 0_u8..2)
                .prop_map(|(enabled, stale, events)| Op::Policy { enabled, stale, events }),
            2 => (0_usize..4, any::<bool>()).prop_map(|(u, writes)| Op::Transact { u, writes }),
            2 => (0_usize..4).prop_map(|u| Op::Load { u }),
            1 => (0_u64..30, 0_usize..8).prop_map(|(after, limit)| Op::ReadEvents { after, limit }),
            1 => (0_u64..30).prop_map(|before| Op::Prune { before }),
        ]
    }

    /// `stale`: 0 expects what is stored; 1 a wrong version (or a record when there is none);
    /// 2 a wrong pass id; 3 a wrong policy version.
    fn spoil(mut e: Expected, stale: u8, by_pass: bool) -> Expected {
        let stored = match e.record {
            Held::Exactly(stamp) => Some(stamp),
            _ => None,
        };
        e.record = match (stale, stored) {
            (1, None) => Held::Exactly(RecordStamp::new(
                PassId::from_bytes([1; 16]),
                Version::FIRST,
            )),
            (1, Some(s)) if !by_pass => Held::Exactly(RecordStamp::new(s.pass, s.version.next())),
            (2, Some(_)) => Held::Pass(PassId::from_bytes([2; 16])),
            (_, Some(s)) if by_pass => Held::Pass(s.pass),
            (_, Some(s)) => Held::Exactly(s),
            (_, None) => Held::Nothing,
        };
        if stale == 3 {
            e.policy = Some(e.policy.map_or(Version::FIRST, Version::next));
        }
        e
    }

    fn record(user: &UserId, seed: u64) -> TemporaryAccessPass {
        let target = member(user.as_str());
        let issuer = admin("ga", DirectoryRole::GlobalAdministrator);
        create(
            &CreateContext::new(&open_policy(), key(), &issuer, &target),
            &CreateRequest::new(),
            CREATED,
            &mut TestRng(seed),
        )
        .unwrap()
        .record
    }

    fn markers(user: &UserId, step: usize, n: u8) -> Vec<Event> {
        (0..n)
            .map(|i| Event::SessionsRevoked {
                user: user.clone(),
                pass: PassId::from_bytes([u8::try_from(step % 200).unwrap() + i; 16]),
                at: CREATED,
            })
            .collect()
    }

    /// The decision an `Op::Transact` makes: over whatever it reads, a fresh record when
    /// `writes`, expecting exactly that read.
    fn decide(
        user: &UserId,
        record: &TemporaryAccessPass,
        writes: bool,
        read: &Loaded,
        step: usize,
    ) -> Option<Commit> {
        writes.then(|| {
            Commit::put(user.clone(), read.expected(), record.clone())
                .with_events(markers(user, step, 1))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_sharded_store_answers_like_a_single_lock_store(
            ops in prop::collection::vec(op(), 1..60),
            shards in prop_oneof![Just(1_usize), Just(2), Just(16), Just(1024)],
        ) {
            let sharded = InMemoryStore::with_shards(shards);
            let reference = Reference::default();
            let users: Vec<UserId> = (0..4).map(|i| crate::support::uid(&format!("user-{i}"))).collect();
            let both = |commit: &Commit| (sharded.commit(commit).unwrap(), reference.commit(commit).unwrap());
            for (step, op) in ops.iter().enumerate() {
                let seed = u64::try_from(step).unwrap();
                match op {
                    Op::Put { u, by_pass, stale, events } => {
                        let user = &users[*u];
                        let expected = spoil(reference.load(user).unwrap().expected(), *stale, *by_pass);
                        let commit = Commit::put(user.clone(), expected, record(user, seed))
                            .with_events(markers(user, step, *events));
                        let (a, b) = both(&commit);
                        prop_assert_eq!(a, b);
                    }
                    Op::Remove { u, other, events } | Op::Keep { u, other, events } => {
                        let user = &users[*u];
                        let stored = reference.load(user).unwrap().record.map(|r| *r.value.id());
                        let pass = match stored {
                            Some(pass) if !*other => pass,
                            Some(_) | None => PassId::from_bytes([3; 16]),
                        };
                        let commit = match op {
                            Op::Remove { .. } => Commit::remove(user.clone(), pass),
                            _ => Commit::keep(user.clone(), pass),
                        }
                        .with_events(markers(user, step, *events));
                        let (a, b) = both(&commit);
                        prop_assert_eq!(a, b);
                    }
                    Op::Policy { enabled, stale, events } => {
                        let current = reference.load_policy().unwrap().map(|p| p.version);
                        let expected = if *stale { Some(current.map_or(Version::FIRST, Version::next)) } else { current };
                        let policy = Policy::new(PolicySettings::new().state(if *enabled { PolicyState::Enabled } else { PolicyState::Disabled })).unwrap();
                        let commit = Commit::policy(expected, policy).with_events(markers(&users[0], step, *events));
                        let (a, b) = both(&commit);
                        prop_assert_eq!(a, b);
                    }
                    Op::Transact { u, writes } => {
                        let user = &users[*u];
                        let r = record(user, seed);
                        let a = sharded.transact(user, &mut |read| decide(user, &r, *writes, &read, step)).unwrap();
                        let b = reference.transact(user, &mut |read| decide(user, &r, *writes, &read, step)).unwrap();
                        prop_assert_eq!(a, b);
                    }
                    Op::Load { u } => {
                        prop_assert_eq!(sharded.load(&users[*u]).unwrap(), reference.load(&users[*u]).unwrap());
                    }
                    Op::ReadEvents { after, limit } => {
                        let after = Sequence::new(*after);
                        prop_assert_eq!(
                            sharded.read_events(after, *limit).unwrap(),
                            reference.read_events(after, *limit).unwrap()
                        );
                    }
                    Op::Prune { before } => {
                        let before = Sequence::new(*before);
                        prop_assert_eq!(
                            sharded.prune_events(before).unwrap(),
                            reference.prune_events(before).unwrap()
                        );
                    }
                }
                prop_assert_eq!(sharded.load_policy().unwrap(), reference.load_policy().unwrap());
            }
            for user in &users {
                prop_assert_eq!(sharded.load(user).unwrap(), reference.load(user).unwrap());
            }
            prop_assert_eq!(sharded.len(), reference.0.lock().unwrap().records.len());
            prop_assert_eq!(
                sharded.read_events(Sequence::START, usize::MAX).unwrap(),
                reference.read_events(Sequence::START, usize::MAX).unwrap()
            );
        }
    }
}

#[test]
fn versions_and_row_counts_convert_for_sql_stores() {
    use temporary_access_pass::store::{Version, Write};
    assert_eq!(Version::from_i64(7), Some(Version::new(7)));
    assert_eq!(
        Version::from_i64(-1),
        None,
        "no store writes a negative version"
    );
    assert_eq!(Version::new(7).to_i64(), Some(7));
    assert_eq!(Version::new(u64::MAX).to_i64(), None);
    // As logs and conflict messages show it.
    assert_eq!(Version::new(7).to_string(), "v7");
    assert_eq!(Version::FIRST.next().to_string(), "v2");
    let next = Version::new(8);
    assert_eq!(
        Write::from_changed_rows(1, next),
        Some(Write::Written(next))
    );
    assert_eq!(Write::from_changed_rows(0, next), Some(Write::Conflict));
    assert_eq!(Write::from_changed_rows(2, next), None, "one row per user");
}

#[test]
fn outbox_numbers_convert_for_sql_stores_and_saturate() {
    use temporary_access_pass::store::Sequence;
    assert_eq!(Sequence::START.get(), 0);
    assert_eq!(Sequence::START.next(), Sequence::new(1));
    assert_eq!(Sequence::new(u64::MAX).next(), Sequence::new(u64::MAX));
    assert_eq!(Sequence::new(41).get(), 41);
    assert_eq!(Sequence::new(41).to_string(), "41");
    assert_eq!(Sequence::new(41).to_i64(), Some(41));
    assert_eq!(
        Sequence::new(i64::MAX.unsigned_abs()).to_i64(),
        Some(i64::MAX)
    );
    assert_eq!(Sequence::new(u64::MAX).to_i64(), None);
    assert_eq!(Sequence::from_i64(41), Some(Sequence::new(41)));
    assert_eq!(Sequence::from_i64(0), Some(Sequence::START));
    assert_eq!(
        Sequence::from_i64(-1),
        None,
        "no store numbers an event below zero"
    );
}
