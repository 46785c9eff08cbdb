//! Refusals that judge no code write nothing (SPEC 6.5): no pass, a pass not yet valid,
//! expired, used, locked or blocked by the policy, and a client that can't use a pass. A
//! stream of them costs the store no write, and appends nothing to the outbox.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::{NOW, admin, key, ok, race_policy, unique_user};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::Engine;
use crate::ids::UserId;
use crate::policy::{IncludeTarget, Policy, PolicySettings, PolicyState};
use crate::principal::Principal;
use crate::signin::{Client, RedeemRefusal, SignInRequest};
use crate::store::{Commit, Decide, Loaded, Recorded, Sequence, Store, Versioned, Write};

/// Counts the writes the engine asks of the store: every commit, and every decision a
/// `transact` was handed that returned one.
struct Counting<'a, S> {
    inner: &'a S,
    asked: AtomicU64,
}

impl<S: Store> Store for Counting<'_, S> {
    type Error = S::Error;

    fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        self.inner.load(user)
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        self.inner.load_policy()
    }

    fn commit(&self, commit: &Commit) -> Result<Write, S::Error> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(commit)
    }

    fn transact(&self, user: &UserId, decide: &mut Decide<'_>) -> Result<Option<Write>, S::Error> {
        self.inner.transact(user, &mut |read| {
            let commit = decide(read);
            if commit.is_some() {
                self.asked.fetch_add(1, Ordering::SeqCst);
            }
            commit
        })
    }

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, S::Error> {
        self.inner.read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, S::Error> {
        self.inner.prune_events(before)
    }

    fn load_methods(
        &self,
        user: &crate::ids::UserId,
    ) -> Result<Vec<crate::store::Versioned<crate::method::RegisteredMethod>>, S::Error> {
        self.inner.load_methods(user)
    }

    fn load_ceremony(
        &self,
        user: &crate::ids::UserId,
        id: &crate::ceremony::CeremonyId,
    ) -> Result<Option<crate::store::Versioned<crate::ceremony::Ceremony>>, S::Error> {
        self.inner.load_ceremony(user, id)
    }

    fn prune_ceremonies(&self, now: time::UtcDateTime) -> Result<u64, S::Error> {
        self.inner.prune_ceremonies(now)
    }
}

/// One state a sign-in is refused in without judging its code.
#[derive(Debug, Clone, Copy)]
enum Refused {
    NoPass,
    NotYetValid,
    Expired,
    Used,
    Locked,
    PolicyDisabled,
    NotInScope,
    Guest,
    MultiUseUnderOneTimePolicy,
    UnsupportedClient,
}

const ALL: [Refused; 10] = [
    Refused::NoPass,
    Refused::NotYetValid,
    Refused::Expired,
    Refused::Used,
    Refused::Locked,
    Refused::PolicyDisabled,
    Refused::NotInScope,
    Refused::Guest,
    Refused::MultiUseUnderOneTimePolicy,
    Refused::UnsupportedClient,
];

/// `attempts` sign-ins, the right code and wrong ones in turn, in each state a sign-in is
/// refused in without judging the code (SPEC 6.5): none asks the store for a write, the
/// user's record stays at its version, and the outbox gains nothing. Run it on a store of its
/// own: it sets the policy.
///
/// # Panics
///
/// When a refused attempt writes, or is not refused as the state says, naming the state.
pub fn check_refusals_write_nothing<S: Store>(store: &S, attempts: u32) {
    let counting = Counting {
        inner: store,
        asked: AtomicU64::new(0),
    };
    let clock = ManualClock::new(NOW);
    let engine = Engine::new(&clock, &counting, EngineConfig::new(key()));
    let mut failures: Vec<String> = Vec::new();
    for state in ALL {
        clock.set(NOW);
        set_policy(&engine, &race_policy(false));
        let (user, code) = set_up(&engine, &clock, state);
        let client = match state {
            Refused::UnsupportedClient => Client::NpsExtension,
            _ => Client::Browser,
        };
        let before = ok("load", store.load(user.id())).record.map(|r| r.stamp());
        let events = ok(
            "read events",
            store.read_events(Sequence::START, usize::MAX),
        );
        let asked = counting.asked.load(Ordering::SeqCst);
        for attempt in 0..attempts {
            let typed = if attempt % 2 == 0 {
                code.as_str()
            } else {
                "wrong-code"
            };
            let answer = engine.redeem(&user, typed, SignInRequest::new(client));
            match answer.map(|r| (r.outcome, r.write.is_some())) {
                Ok((Err(refusal), false)) if matches_state(state, &refusal) => {}
                other => {
                    failures.push(format!(
                        "{state:?}: attempt {attempt} was answered {other:?}"
                    ));
                    break;
                }
            }
        }
        let wrote = counting.asked.load(Ordering::SeqCst).saturating_sub(asked);
        if wrote != 0 {
            failures.push(format!("{state:?}: {wrote} writes for {attempts} refusals"));
        }
        let after = ok("load", store.load(user.id())).record.map(|r| r.stamp());
        if after != before {
            failures.push(format!(
                "{state:?}: the record moved from {before:?} to {after:?}"
            ));
        }
        if ok(
            "read events",
            store.read_events(Sequence::START, usize::MAX),
        ) != events
        {
            failures.push(format!("{state:?}: refusals appended events"));
        }
        let _ = engine.delete(&admin(), &user);
    }
    set_policy(&engine, &race_policy(false));
    assert!(
        failures.is_empty(),
        "refusals that judge no code must write nothing (SPEC 6.5): {failures:?}"
    );
}

fn set_policy<S: Store>(
    engine: &Engine<&ManualClock, &Counting<'_, S>>,
    settings: &PolicySettings,
) {
    let _ = engine
        .update_policy(&admin(), settings)
        .unwrap_or_else(|e| panic!("setting the policy: {e}"));
}

/// A user whose sign-ins `state` refuses, and the code of their pass (none without one).
fn set_up<S: Store>(
    engine: &Engine<&ManualClock, &Counting<'_, S>>,
    clock: &ManualClock,
    state: Refused,
) -> (Principal, String) {
    let user = match state {
        Refused::Guest => Principal::guest(unique_user("refused").id().clone()),
        _ => unique_user("refused"),
    };
    if let Refused::NoPass = state {
        return (user, "ABCDEFGH".to_string());
    }
    let mut request = CreateRequest::new().is_usable_once(matches!(state, Refused::Used));
    if let Refused::NotYetValid = state {
        request = request.start(NOW.saturating_add(time::Duration::hours(1)));
    }
    let created = engine
        .create(&admin(), &user, &request, &mut getrandom::SysRng)
        .unwrap_or_else(|e| panic!("{state:?}: creating the pass: {e}"));
    let code = created.passcode.expose_secret().to_string();
    let browser = SignInRequest::new(Client::Browser);
    match state {
        Refused::Expired => {
            let _ = clock.advance(time::Duration::days(2));
        }
        Refused::Used => {
            let granted = engine
                .redeem(&user, &code, browser)
                .map(|r| r.outcome.is_ok());
            assert!(matches!(granted, Ok(true)), "{state:?}: the one use");
        }
        Refused::Locked => {
            for _ in 0..crate::signin::Lockout::DEFAULT_MAX_ATTEMPTS {
                let _ = engine.redeem(&user, "wrong-code", browser);
            }
        }
        Refused::PolicyDisabled => {
            set_policy(engine, &race_policy(false).state(PolicyState::Disabled));
        }
        Refused::NotInScope => {
            let elsewhere = PolicySettings::new()
                .state(PolicyState::Enabled)
                .include_target(IncludeTarget::User(
                    UserId::new("somebody-else").expect("a short printable id"),
                ));
            set_policy(engine, &elsewhere);
        }
        Refused::MultiUseUnderOneTimePolicy => set_policy(engine, &race_policy(true)),
        Refused::NoPass | Refused::NotYetValid | Refused::Guest | Refused::UnsupportedClient => {}
    }
    (user, code)
}

fn matches_state(state: Refused, refusal: &RedeemRefusal) -> bool {
    use crate::usability::{BlockCause, Usability};
    match (state, refusal) {
        (Refused::NoPass, RedeemRefusal::NoPass)
        | (Refused::NotYetValid, RedeemRefusal::Unusable(Usability::NotYetValid { .. }))
        | (Refused::Expired, RedeemRefusal::Unusable(Usability::Expired { .. }))
        | (Refused::Used, RedeemRefusal::Unusable(Usability::OneTimeUsed { .. }))
        | (Refused::UnsupportedClient, RedeemRefusal::UnsupportedClient(_)) => true,
        (Refused::Locked, RedeemRefusal::Unusable(Usability::PolicyBlocked(cause))) => {
            matches!(cause, BlockCause::Locked { .. })
        }
        (Refused::PolicyDisabled, RedeemRefusal::Unusable(Usability::PolicyBlocked(cause))) => {
            matches!(cause, BlockCause::PolicyDisabled)
        }
        (Refused::NotInScope, RedeemRefusal::Unusable(Usability::PolicyBlocked(cause))) => {
            matches!(cause, BlockCause::NotIncluded)
        }
        (Refused::Guest, RedeemRefusal::Unusable(Usability::PolicyBlocked(cause))) => {
            matches!(cause, BlockCause::GuestUser)
        }
        (
            Refused::MultiUseUnderOneTimePolicy,
            RedeemRefusal::Unusable(Usability::PolicyBlocked(cause)),
        ) => matches!(cause, BlockCause::MultiUseUnderOneTimePolicy),
        _ => false,
    }
}
