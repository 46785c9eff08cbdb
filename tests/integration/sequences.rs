//! Property test: random sequences of operations against the engine never break the sign-in
//! guarantees (SPEC 4, 5.3, 6.4), whatever the order and whichever way the clock moves.

use std::collections::{HashMap, HashSet};

use temporary_access_pass::signin::Lockout;
use temporary_access_pass::store::Store;
use temporary_access_pass::testing::proptest;
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    Clock, CreateRequest, DirectoryRole, Engine, EngineConfig, InMemoryStore, IncludeTarget,
    ManualClock, PassId, Pepper, PolicySettings, PolicyState, RedeemRefusal,
};
use time::{Duration, UtcDateTime};

use crate::support::{CREATED, admin, browser, member};

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Create {
        start_in: i64,
        minutes: u32,
        once: Option<bool>,
    },
    Delete,
    RedeemRight,
    RedeemRetired,
    RedeemWrong,
    Policy {
        enabled: bool,
        once: bool,
        include: bool,
    },
    Clock {
        minutes: i64,
    },
}

/// The settings of an [`Op::Policy`].
pub(crate) fn policy_of(enabled: bool, once: bool, include: bool) -> PolicySettings {
    let settings = PolicySettings::new()
        .state(if enabled {
            PolicyState::Enabled
        } else {
            PolicyState::Disabled
        })
        .is_usable_once(once);
    if include {
        settings.include_target(IncludeTarget::AllUsers)
    } else {
        settings
    }
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0_i64..120, prop_oneof![Just(10_u32), Just(60), Just(600)], proptest::option::of(any::<bool>()))
            .prop_map(|(start_in, minutes, once)| Op::Create { start_in, minutes, once }),
        1 => Just(Op::Delete),
        4 => Just(Op::RedeemRight),
        1 => Just(Op::RedeemRetired),
        4 => Just(Op::RedeemWrong),
        1 => (any::<bool>(), any::<bool>(), prop::bool::weighted(0.8))
            .prop_map(|(enabled, once, include)| Op::Policy { enabled, once, include }),
        3 => (-30_i64..90).prop_map(|minutes| Op::Clock { minutes }),
    ]
}

struct Current {
    id: PassId,
    code: String,
    start: UtcDateTime,
    end: UtcDateTime,
    once: bool,
}

const LIMIT: u32 = 3;

/// What a run exercised, so the suite can show it reached the interesting states.
#[derive(Default, Debug)]
struct Seen {
    wins: u32,
    wrong: u32,
    locks: u32,
    refused_used: u32,
}

fn run(ops: &[Op], seen: &mut Seen) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(CREATED);
    let lockout = Lockout::new(LIMIT, Duration::MINUTE).unwrap();
    let config = EngineConfig::new(Pepper::new(&[0x99; 32]).unwrap()).lockout(lockout);
    let engine = Engine::new(&clock, InMemoryStore::new(), config);
    let ga = admin("ga", DirectoryRole::GlobalAdministrator);
    let user = member("u");
    let ctx = browser();
    let mut current: Option<Current> = None;
    let mut retired: Vec<(PassId, String)> = Vec::new();
    let mut wins: HashMap<PassId, u32> = HashMap::new();
    let mut gone: HashSet<PassId> = HashSet::new();

    for op in ops {
        let now = clock.now();
        match op {
            Op::Create {
                start_in,
                minutes,
                once,
            } => {
                let mut request = CreateRequest::new()
                    .start(now + Duration::minutes(*start_in))
                    .lifetime_minutes(*minutes);
                if let Some(once) = once {
                    request = request.is_usable_once(*once);
                }
                let policy = engine.policy().unwrap();
                let policy = temporary_access_pass::Policy::new(
                    policy
                        .settings()
                        .minimum_lifetime_minutes(10)
                        .default_lifetime_minutes(60)
                        .maximum_lifetime_minutes(600),
                )
                .unwrap();
                let _ = engine.update_policy(&ga, &policy.settings()).unwrap();
                if let Ok(issued) = engine.create(&ga, &user, &request, &mut getrandom::SysRng) {
                    if let Some(old) = current.take() {
                        gone.insert(old.id);
                        retired.push((old.id, old.code));
                    }
                    current = Some(Current {
                        id: *issued.record.id(),
                        code: issued.passcode.expose_secret().to_owned(),
                        start: issued.record.start(),
                        end: issued.record.end(),
                        once: issued.record.is_usable_once(),
                    });
                }
            }
            Op::Delete => {
                if engine.delete(&ga, &user).unwrap().is_some() {
                    let old = current.take().expect("deleted what was there");
                    gone.insert(old.id);
                    retired.push((old.id, old.code));
                }
            }
            Op::RedeemRight | Op::RedeemRetired | Op::RedeemWrong => {
                let typed = match op {
                    Op::RedeemRight => current
                        .as_ref()
                        .map_or("no-pass!".to_owned(), |c| c.code.clone()),
                    Op::RedeemRetired => retired
                        .last()
                        .map_or("retired!".to_owned(), |r| r.1.clone()),
                    _ => "definitely wrong".to_owned(),
                };
                let before = engine
                    .store()
                    .load(user.id())
                    .unwrap()
                    .record
                    .map(|v| v.value);
                let policy = engine.policy().unwrap();
                let outcome = engine.redeem(&user, &typed, ctx).unwrap().outcome;
                let after = engine
                    .store()
                    .load(user.id())
                    .unwrap()
                    .record
                    .map(|v| v.value);
                match outcome {
                    Ok(grant) => {
                        seen.wins += 1;
                        let c = current.as_ref().expect("a success needs a pass");
                        prop_assert_eq!(grant.pass, c.id, "only the current pass signs in");
                        prop_assert!(!gone.contains(&grant.pass), "a deleted pass never signs in");
                        prop_assert_eq!(&typed, &c.code, "only the right code signs in");
                        prop_assert!(c.start <= now && now < c.end, "inside the window");
                        prop_assert!(policy.scope(&user).is_in_scope(), "in scope");
                        let n = wins.entry(grant.pass).or_insert(0);
                        *n += 1;
                        if c.once {
                            prop_assert_eq!(*n, 1, "a one-time pass signs in once");
                        }
                    }
                    Err(RedeemRefusal::WrongCode { locked_until, .. }) => {
                        seen.wrong += 1;
                        seen.locks += u32::from(locked_until.is_some());
                        let before = before.expect("a wrong code needs a pass");
                        prop_assert!(
                            before.locked_until().is_none_or(|until| now >= until),
                            "no wrong code is judged while locked"
                        );
                        let after = after.expect("the pass survives a wrong code");
                        prop_assert_eq!(after.failed_attempts(), before.failed_attempts() + 1);
                        if after.failed_attempts() >= LIMIT {
                            prop_assert!(
                                after
                                    .locked_until()
                                    .is_some_and(|t| t > now || t == after.end())
                            );
                        }
                    }
                    Err(RedeemRefusal::Unusable(
                        temporary_access_pass::Usability::OneTimeUsed { .. },
                    )) => {
                        seen.refused_used += 1;
                    }
                    Err(_) => {}
                }
                if let Some(r) = engine.store().load(user.id()).unwrap().record {
                    prop_assert!(
                        r.value.failed_attempts() < LIMIT || r.value.locked_until().is_some()
                    );
                }
            }
            Op::Policy {
                enabled,
                once,
                include,
            } => {
                let s = policy_of(*enabled, *once, *include)
                    .minimum_lifetime_minutes(10)
                    .default_lifetime_minutes(60)
                    .maximum_lifetime_minutes(600);
                let _ = engine.update_policy(&ga, &s).unwrap();
            }
            Op::Clock { minutes } => {
                clock.advance(Duration::minutes(*minutes)).unwrap();
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_operation_sequences_keep_every_sign_in_guarantee(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops, &mut Seen::default())?;
    }
}

/// The generator reaches every interesting state: over a fixed set of seeds, runs include
/// successes, wrong codes, locks and refused second uses (so the property above is not vacuous).
#[test]
fn the_sequences_reach_successes_locks_and_second_uses() {
    use temporary_access_pass::testing::proptest::strategy::ValueTree;
    use temporary_access_pass::testing::proptest::test_runner::{
        Config, RngAlgorithm, TestRng, TestRunner,
    };

    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = prop::collection::vec(op(), 40..60);
    let mut seen = Seen::default();
    for _ in 0..200 {
        let ops = strategy.new_tree(&mut runner).unwrap().current();
        run(&ops, &mut seen).unwrap();
    }
    assert!(
        seen.wins > 0 && seen.wrong > 0 && seen.locks > 0 && seen.refused_used > 0,
        "{seen:?}"
    );
}
