//! Liveness under attack and refusals that write nothing (SPEC 6.5, 6.7), on the in-memory
//! store, through both drivers. The SQLite and PostgreSQL stores run the same harness in their
//! own tests. The attacks print their reports (`-- --nocapture`), the figures BENCHMARKS.md
//! records.
#![allow(clippy::print_stdout, reason = "the attack's report is printed")]

use std::time::Duration;

use temporary_access_pass::InMemoryStore;
use temporary_access_pass::testing::conformance::{self, Attack};

/// SPEC 6.7: 100 trials of each legitimate operation, 16 attackers, every read 1 ms slower.
#[test]
fn spec_6_7_no_stream_of_attempts_makes_a_legitimate_operation_give_up() {
    let report = conformance::race_under_attack(&InMemoryStore::new(), &Attack::new());
    println!("{report}");
    assert_eq!(report.contention(), 0);
    assert!(report.attacker_attempts > 0);
}

/// The same without the added latency, attempts as fast as the store goes: 20 trials each, as
/// 96 attackers busy on two cores leave the legitimate operations little time.
#[test]
fn spec_6_7_no_stream_of_attempts_at_full_speed_makes_a_legitimate_operation_give_up() {
    let attack = Attack::new().latency(Duration::ZERO).trials(20);
    let report = conformance::race_under_attack(&InMemoryStore::new(), &attack);
    println!("{report}");
    assert_eq!(report.contention(), 0);
}

/// A store that holds the record while the engine decides needs no retry at all: with one
/// attempt per operation, none gives up. One whose changes can conflict (the trait's default
/// `transact`, here over the same in-memory store) does: the harness catches it.
#[test]
fn spec_6_7_one_attempt_is_enough_when_the_store_holds_the_record() {
    let attack = Attack::new().trials(30).engine_attempts(1);
    let report = conformance::race_under_attack(&InMemoryStore::new(), &attack);
    assert_eq!(report.contention(), 0);

    let without_hold = crate::support::Hooked::new();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conformance::race_under_attack(&without_hold, &attack)
    }));
    let message = caught
        .err()
        .and_then(|p| p.downcast::<String>().ok())
        .expect("a store without a hold gives up under attack");
    assert!(message.contains("gave up for contention"), "{message}");
}

/// SPEC 6.7 through the async driver: the same attack, attackers as tasks.
#[test]
fn spec_6_7_no_stream_of_attempts_makes_a_legitimate_operation_give_up_async() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(conformance::tasks::race_under_attack(
        std::sync::Arc::new(InMemoryStore::new()),
        &Attack::new(),
    ));
    println!("{report}");
    assert_eq!(report.contention(), 0);
    assert!(report.attacker_attempts > 0);
}

/// SPEC 6.5: 100 refused attempts in each state that refuses without judging the code, on
/// the in-memory store: no write asked for, the record unmoved, no event.
#[test]
fn spec_6_5_refusals_that_judge_no_code_write_nothing() {
    conformance::check_refusals_write_nothing(&InMemoryStore::new(), 100);
}

/// The check catches a store path that writes for a refusal: here, every refusal of a stored
/// record is answered with the record written back, as before 6.5 was refined.
#[test]
fn the_refusal_check_catches_a_refusal_that_writes() {
    use temporary_access_pass::store::{
        Commit, Decide, Loaded, Recorded, Sequence, Store, Versioned, Write,
    };
    use temporary_access_pass::{Policy, UserId};

    /// Writes every record it reads back, unchanged, whatever the engine decided.
    struct WritesBack(InMemoryStore);
    impl Store for WritesBack {
        type Error = std::convert::Infallible;
        fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
            self.0.load(user)
        }
        fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
            self.0.load_policy()
        }
        fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
            self.0.commit(commit)
        }
        fn transact(
            &self,
            user: &UserId,
            decide: &mut Decide<'_>,
        ) -> Result<Option<Write>, Self::Error> {
            let read = self.0.load(user)?;
            let back = read
                .record
                .clone()
                .map(|r| Commit::put(user.clone(), read.expected(), r.value));
            match decide(read) {
                Some(commit) => self.0.commit(&commit).map(Some),
                None => back.map(|c| self.0.commit(&c)).transpose(),
            }
        }
        fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Self::Error> {
            self.0.read_events(after, limit)
        }
        fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
            self.0.prune_events(before)
        }

        fn load_methods(
            &self,
            user: &temporary_access_pass::UserId,
        ) -> Result<
            Vec<
                temporary_access_pass::store::Versioned<
                    temporary_access_pass::method::RegisteredMethod,
                >,
            >,
            Self::Error,
        > {
            self.0.load_methods(user)
        }

        fn load_ceremony(
            &self,
            user: &temporary_access_pass::UserId,
            id: &temporary_access_pass::ceremony::CeremonyId,
        ) -> Result<
            Option<
                temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>,
            >,
            Self::Error,
        > {
            self.0.load_ceremony(user, id)
        }

        fn prune_ceremonies(
            &self,
            now: temporary_access_pass::time::UtcDateTime,
        ) -> Result<u64, Self::Error> {
            self.0.prune_ceremonies(now)
        }
    }
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        conformance::check_refusals_write_nothing(&WritesBack(InMemoryStore::new()), 5);
    }));
    let message = caught
        .err()
        .and_then(|p| p.downcast::<String>().ok())
        .expect("a store that writes refusals back is caught");
    assert!(message.contains("the record moved"), "{message}");
}

/// A store that answers one user's read with another user's record (a host's bug, a broken
/// index): every operation refuses with the holder named, at once. None retries a write that
/// can never land until it gives up for contention, as a sign-in once did.
#[test]
fn a_record_of_another_user_is_refused_as_not_the_holder_not_as_contention() {
    use temporary_access_pass::error::{DeleteError, ViewError};
    use temporary_access_pass::signin::PasswordlessMethod;
    use temporary_access_pass::store::{
        Commit, Loaded, Recorded, Sequence, Store, Versioned, Write,
    };
    use temporary_access_pass::{
        BlockCause, CreateError, CreateRequest, Engine, EngineConfig, EngineError, ManualClock,
        Policy, RedeemRefusal, Usability, UserId,
    };

    use crate::support::{CREATED, browser, ga, key, member, open_settings};

    struct Misfiled {
        inner: InMemoryStore,
        asked: UserId,
        answered: UserId,
    }
    impl Store for Misfiled {
        type Error = std::convert::Infallible;
        fn load(&self, user: &UserId) -> Result<Loaded, Self::Error> {
            self.inner.load(if *user == self.asked {
                &self.answered
            } else {
                user
            })
        }
        fn load_policy(&self) -> Result<Option<Versioned<Policy>>, Self::Error> {
            self.inner.load_policy()
        }
        fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
            self.inner.commit(commit)
        }
        fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, Self::Error> {
            self.inner.read_events(after, limit)
        }
        fn prune_events(&self, before: Sequence) -> Result<u64, Self::Error> {
            self.inner.prune_events(before)
        }

        fn load_methods(
            &self,
            user: &temporary_access_pass::UserId,
        ) -> Result<
            Vec<
                temporary_access_pass::store::Versioned<
                    temporary_access_pass::method::RegisteredMethod,
                >,
            >,
            Self::Error,
        > {
            self.inner.load_methods(user)
        }

        fn load_ceremony(
            &self,
            user: &temporary_access_pass::UserId,
            id: &temporary_access_pass::ceremony::CeremonyId,
        ) -> Result<
            Option<
                temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>,
            >,
            Self::Error,
        > {
            self.inner.load_ceremony(user, id)
        }

        fn prune_ceremonies(
            &self,
            now: temporary_access_pass::time::UtcDateTime,
        ) -> Result<u64, Self::Error> {
            self.inner.prune_ceremonies(now)
        }
    }

    let (chris, dana) = (member("chris"), member("dana"));
    let clock = ManualClock::new(CREATED);
    let store = Misfiled {
        inner: InMemoryStore::new(),
        asked: chris.id().clone(),
        answered: dana.id().clone(),
    };
    let engine = Engine::new(
        &clock,
        &store,
        EngineConfig::new(key().clone()).max_attempts(3),
    );
    let _ = engine.update_policy(&ga(), &open_settings()).unwrap();
    let dana_pass = engine
        .create(&ga(), &dana, &CreateRequest::new(), &mut getrandom::SysRng)
        .unwrap();
    let code = dana_pass.passcode.expose_secret().to_owned();

    let redeemed = engine.redeem(&chris, &code, browser()).unwrap();
    assert_eq!(
        redeemed.outcome,
        Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(
            BlockCause::NotTheHolder
        )))
    );
    assert!(redeemed.write.is_none());
    assert!(matches!(
        engine.view(&ga(), &chris),
        Err(EngineError::Rejected(ViewError::NotTheHolder { .. }))
    ));
    assert!(matches!(
        engine.delete(&ga(), &chris),
        Err(EngineError::Rejected(DeleteError::NotTheHolder { .. }))
    ));
    assert!(matches!(
        engine.create(&ga(), &chris, &CreateRequest::new(), &mut getrandom::SysRng),
        Err(EngineError::Rejected(
            CreateError::ExistingPassMismatch { .. }
        ))
    ));
    // Dana's own grant, offered for Chris: refused as not Chris's, before anything is read.
    let grant = engine
        .redeem(&dana, &code, browser())
        .unwrap()
        .outcome
        .unwrap();
    assert!(matches!(
        engine.register(&chris, &grant, PasswordlessMethod::Fido2SecurityKey),
        Err(EngineError::Rejected(
            temporary_access_pass::error::RegistrationError::NotTheHolder { .. }
        ))
    ));
}
