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
    let expected = temporary_access_pass::store::Expected::new(None, None);
    assert!(matches!(
        store
            .write(user.id(), &expected, Some(&issued.record))
            .unwrap(),
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

    use temporary_access_pass::store::{Expected, Store};

    use temporary_access_pass::testing::conformance;

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
        crate::support::Hooked::new().on_write(move |inner, user, expected, record| {
            let now = inner.load(user).unwrap().expected();
            let lax = match ignores {
                Ignores::PolicyVersion => Expected::new(now.policy, expected.record),
                Ignores::RecordVersion => Expected::new(expected.policy, now.record),
            };
            (lax, record)
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
        let store = crate::support::Hooked::new().on_remove(|inner, user, named| {
            inner
                .load(user)
                .unwrap()
                .record
                .map_or(named, |stored| *stored.value.id())
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
}

/// The sharded store answers every sequence of operations as a plain store behind one lock does.
mod against_a_single_lock_reference {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use temporary_access_pass::store::{
        Expected, Loaded, RecordStamp, Store, Version, Versioned, Write,
    };
    use temporary_access_pass::testing::proptest::prelude::*;
    use temporary_access_pass::{
        CreateContext, CreateRequest, DirectoryRole, InMemoryStore, PassId, Policy, PolicySettings,
        PolicyState, TemporaryAccessPass, UserId, create,
    };

    use crate::support::{CREATED, TestRng, admin, key, member, open_policy};

    /// The obvious store: one mutex over a map and the policy.
    #[derive(Default)]
    struct Reference(Mutex<State>);

    #[derive(Default)]
    struct State {
        policy: Option<Versioned<Policy>>,
        records: HashMap<UserId, Versioned<TemporaryAccessPass>>,
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
        fn write(
            &self,
            user: &UserId,
            expected: &Expected,
            record: Option<&TemporaryAccessPass>,
        ) -> Result<Write, Self::Error> {
            let mut s = self.0.lock().unwrap();
            let now = Expected::new(
                s.policy.as_ref().map(|p| p.version),
                s.records.get(user).map(Versioned::stamp),
            );
            if now != *expected || record.is_some_and(|r| r.user() != user) {
                return Ok(Write::Conflict);
            }
            Ok(match (record, now.record) {
                (Some(r), Some(old)) => {
                    let v = old.version.next();
                    s.records.insert(user.clone(), Versioned::new(v, r.clone()));
                    Write::Written(v)
                }
                (Some(r), None) => {
                    s.records
                        .insert(user.clone(), Versioned::new(Version::FIRST, r.clone()));
                    Write::Written(Version::FIRST)
                }
                (None, Some(old)) => {
                    s.records.remove(user);
                    Write::Written(old.version)
                }
                (None, None) => Write::Conflict,
            })
        }
        fn write_policy(
            &self,
            expected: Option<Version>,
            policy: &Policy,
        ) -> Result<Write, Self::Error> {
            let mut s = self.0.lock().unwrap();
            if s.policy.as_ref().map(|p| p.version) != expected {
                return Ok(Write::Conflict);
            }
            let v = expected.map_or(Version::FIRST, Version::next);
            s.policy = Some(Versioned::new(v, policy.clone()));
            Ok(Write::Written(v))
        }
        fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, Self::Error> {
            let mut s = self.0.lock().unwrap();
            match s.records.get(user) {
                Some(stored) if *stored.value.id() == pass => {
                    let version = stored.version;
                    s.records.remove(user);
                    Ok(Write::Written(version))
                }
                Some(_) | None => Ok(Write::Conflict),
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Write a fresh record for user `u`, expecting what is stored (or something stale).
        Put {
            u: usize,
            stale: u8,
        },
        /// Delete user `u`'s record, expecting what is stored (or something stale).
        Delete {
            u: usize,
            stale: u8,
        },
        /// Change the policy, expecting its version (or a stale one).
        Policy {
            enabled: bool,
            stale: bool,
        },
        /// Delete user `u`'s record by its pass id (or another), whatever its version.
        Remove {
            u: usize,
            other: bool,
        },
        Load {
            u: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0_usize..4, 0_u8..4).prop_map(|(u, stale)| Op::Put { u, stale }),
            2 => (0_usize..4, 0_u8..4).prop_map(|(u, stale)| Op::Delete { u, stale }),
            2 => (0_usize..4, any::<bool>()).prop_map(|(u, other)| Op::Remove { u, other }),
            1 => (any::<bool>(), prop::bool::weighted(0.3))
                .prop_map(|(enabled, stale)| Op::Policy { enabled, stale }),
            2 => (0_usize..4).prop_map(|u| Op::Load { u }),
        ]
    }

    /// `stale`: 0 expects what is stored; 1 a wrong version; 2 a wrong pass id; 3 a wrong
    /// policy version.
    fn spoil(mut e: Expected, stale: u8) -> Expected {
        match stale {
            1 => {
                e.record = Some(e.record.map_or(
                    RecordStamp::new(PassId::from_bytes([1; 16]), Version::FIRST),
                    |r| RecordStamp::new(r.pass, r.version.next()),
                ));
            }
            2 => {
                e.record = e
                    .record
                    .map(|r| RecordStamp::new(PassId::from_bytes([2; 16]), r.version));
            }
            3 => e.policy = Some(e.policy.map_or(Version::FIRST, Version::next)),
            _ => {}
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
            for (step, op) in ops.iter().enumerate() {
                let seed = u64::try_from(step).unwrap();
                match op {
                    Op::Put { u, stale } => {
                        let user = &users[*u];
                        let expected = spoil(reference.load(user).unwrap().expected(), *stale);
                        let r = record(user, seed);
                        prop_assert_eq!(
                            sharded.write(user, &expected, Some(&r)).unwrap(),
                            reference.write(user, &expected, Some(&r)).unwrap()
                        );
                    }
                    Op::Delete { u, stale } => {
                        let user = &users[*u];
                        let expected = spoil(reference.load(user).unwrap().expected(), *stale);
                        prop_assert_eq!(
                            sharded.write(user, &expected, None).unwrap(),
                            reference.write(user, &expected, None).unwrap()
                        );
                    }
                    Op::Remove { u, other } => {
                        let user = &users[*u];
                        let stored = reference.load(user).unwrap().record.map(|r| *r.value.id());
                        let pass = match stored {
                            Some(pass) if !*other => pass,
                            Some(_) | None => PassId::from_bytes([3; 16]),
                        };
                        prop_assert_eq!(
                            sharded.remove(user, pass).unwrap(),
                            reference.remove(user, pass).unwrap()
                        );
                    }
                    Op::Policy { enabled, stale } => {
                        let current = reference.load_policy().unwrap().map(|p| p.version);
                        let expected = if *stale { Some(current.map_or(Version::FIRST, Version::next)) } else { current };
                        let policy = Policy::new(PolicySettings::new().state(if *enabled { PolicyState::Enabled } else { PolicyState::Disabled })).unwrap();
                        prop_assert_eq!(
                            sharded.write_policy(expected, &policy).unwrap(),
                            reference.write_policy(expected, &policy).unwrap()
                        );
                    }
                    Op::Load { u } => {
                        prop_assert_eq!(sharded.load(&users[*u]).unwrap(), reference.load(&users[*u]).unwrap());
                    }
                }
                prop_assert_eq!(sharded.load_policy().unwrap(), reference.load_policy().unwrap());
            }
            for user in &users {
                prop_assert_eq!(sharded.load(user).unwrap(), reference.load(user).unwrap());
            }
            prop_assert_eq!(sharded.len(), reference.0.lock().unwrap().records.len());
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
    let next = Version::new(8);
    assert_eq!(
        Write::from_changed_rows(1, next),
        Some(Write::Written(next))
    );
    assert_eq!(Write::from_changed_rows(0, next), Some(Write::Conflict));
    assert_eq!(Write::from_changed_rows(2, next), None, "one row per user");
}
