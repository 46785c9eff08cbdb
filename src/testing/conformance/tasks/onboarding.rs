//! The conformance of methods and ceremonies through [`AsyncEngine`]: the sequential checks of
//! the thread suite on a blocking thread, and the races as tasks.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use tokio::runtime::Handle;
use tokio::sync::Barrier;

use super::super::{NOW, admin, key, ok, race_policy, unique_user};
use super::adapters::Blocking;
use super::{joined, multi_threaded};
use crate::ceremony::CeremonyId;
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::{AsyncEngine, EngineError};
use crate::event::Event;
use crate::method::{MethodId, MethodName, NewMethod};
use crate::onboarding::AddMethodError;
use crate::principal::Principal;
use crate::signin::{Client, Grant, RegistrationError, SignInRequest};
use crate::store::{AsyncStore, Sequence};

type Engine<S> = Arc<AsyncEngine<ManualClock, Arc<S>>>;

async fn engine<S: AsyncStore>(store: Arc<S>) -> Engine<S> {
    let engine = AsyncEngine::new(ManualClock::new(NOW), store, EngineConfig::new(key()));
    let settings = race_policy(false);
    if engine.policy().await.ok().map(|p| p.settings()) != Some(settings.clone()) {
        let _changed = engine
            .update_policy(&admin(), &settings)
            .await
            .unwrap_or_else(|e| panic!("setting the policy: {e}"));
    }
    Arc::new(engine)
}

fn new_method(label: &str, n: usize) -> NewMethod {
    let id = MethodId::new(&format!("{label}-{n}")).expect("a token");
    let name = MethodName::new(&format!("key {n}")).expect("a name");
    NewMethod::new(id, name, format!("credential {n}").into_bytes())
}

async fn signed_in<S: AsyncStore>(
    engine: &Engine<S>,
    label: &str,
) -> (Principal, Grant, CeremonyId) {
    let user = unique_user(label);
    let created = ok(
        "creating a pass",
        engine
            .create(
                &admin(),
                &user,
                &CreateRequest::new(),
                &mut getrandom::SysRng,
            )
            .await,
    );
    let code = created.passcode.expose_secret();
    let redemption = ok(
        "signing in",
        engine
            .redeem(&user, code, SignInRequest::new(Client::Browser))
            .await,
    );
    let grant = redemption
        .outcome
        .unwrap_or_else(|e| panic!("the holder's sign-in was refused: {e}"));
    let session = ok(
        "opening a session",
        engine
            .open_session(&user, &grant, &mut getrandom::SysRng)
            .await,
    )
    .id()
    .clone();
    (user, grant, session)
}

async fn last_sequence<S: AsyncStore>(store: &S) -> Sequence {
    ok(
        "reading the outbox",
        store.read_events(Sequence::START, usize::MAX).await,
    )
    .last()
    .map_or(Sequence::START, |r| r.sequence)
}

async fn registered_after<S: AsyncStore>(store: &S, after: Sequence) -> usize {
    ok(
        "reading the outbox",
        store.read_events(after, 100_000).await,
    )
    .iter()
    .filter(|r| matches!(r.event, Event::MethodRegistered { .. }))
    .count()
}

/// As [`super::super::check_methods_and_ceremonies`] and [`super::super::check_onboarding`],
/// through the async store's own methods.
///
/// # Panics
///
/// When the store breaks a guarantee, with a message naming it.
pub async fn check_onboarding<S: AsyncStore + 'static>(store: Arc<S>) {
    let runtime = Handle::current();
    let check = tokio::task::spawn_blocking(move || {
        let blocking = Blocking { store, runtime };
        super::super::check_methods_and_ceremonies(&blocking);
        super::super::check_onboarding(&blocking);
    });
    joined(alloc::vec![check]).await;
}

/// As [`super::super::race_method_cap`]: 32 tasks register a method each for one user at once,
/// and exactly the cap is stored, with one event each.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_method_cap<S: AsyncStore + 'static>(store: Arc<S>, rounds: u32) {
    const RACERS: usize = 32;
    multi_threaded("method cap race");
    let engine = engine(store.clone()).await;
    let cap = engine.config().methods_per_user;
    for round in 0..rounds {
        let (user, _, session) = signed_in(&engine, "cap-task").await;
        let before = last_sequence(&*store).await;
        let start = Arc::new(Barrier::new(RACERS));
        let tasks = (0..RACERS)
            .map(|n| {
                let (engine, user, session, start) =
                    (engine.clone(), user.clone(), session.clone(), start.clone());
                tokio::spawn(async move {
                    let new = new_method(&format!("cap-task-{round}"), n);
                    let _leader = start.wait().await;
                    match engine.register_method(&user, &session, &new).await {
                        Ok(_) => true,
                        Err(EngineError::Rejected(AddMethodError::TooMany { .. })) => false,
                        Err(e) => panic!("round {round}: a registration failed otherwise: {e}"),
                    }
                })
            })
            .collect();
        let stored = joined(tasks).await.into_iter().filter(|s| *s).count();
        let held = ok("loading methods", store.load_methods(user.id()).await).len();
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        assert_eq!(
            (stored, held),
            (cap, cap),
            "round {round}: {RACERS} registrations over a cap of {cap} store exactly the cap"
        );
        assert_eq!(
            registered_after(&*store, before).await,
            held,
            "round {round}: one event per stored method"
        );
    }
}

/// As [`super::super::race_pass_deletion_and_registration`], as tasks.
///
/// # Panics
///
/// When the store breaks a guarantee, or outside a multi-threaded runtime.
pub async fn race_pass_deletion_and_registration<S: AsyncStore + 'static>(
    store: Arc<S>,
    rounds: u32,
) {
    multi_threaded("deletion race");
    let engine = engine(store.clone()).await;
    for round in 0..rounds {
        let (user, _, session) = signed_in(&engine, "deletion-task").await;
        let before = last_sequence(&*store).await;
        let start = Arc::new(Barrier::new(2));
        let adding = {
            let (engine, user, session, start) =
                (engine.clone(), user.clone(), session.clone(), start.clone());
            tokio::spawn(async move {
                let new = new_method(&format!("deletion-task-{round}"), 0);
                let _leader = start.wait().await;
                engine.register_method(&user, &session, &new).await.is_ok()
            })
        };
        let _leader = start.wait().await;
        ok("deleting", engine.delete(&admin(), &user).await);
        let added = joined(alloc::vec![adding]).await.into_iter().all(|a| a);
        let held = ok("loading methods", store.load_methods(user.id()).await).len();
        let events = registered_after(&*store, before).await;
        let expected = usize::from(added);
        assert_eq!(
            (held, events),
            (expected, expected),
            "round {round}: the key and its event, or neither"
        );
    }
}

/// As [`super::super::race_taking_a_state`]: two stores (two instances) take one session's
/// state at once, as tasks, and exactly one gets it.
///
/// # Panics
///
/// When the stores break a guarantee, or outside a multi-threaded runtime.
pub async fn race_taking_a_state<S: AsyncStore + 'static>(one: Arc<S>, other: Arc<S>, rounds: u32) {
    multi_threaded("state race");
    let a = engine(one).await;
    let b = engine(other).await;
    for round in 0..rounds {
        let (user, _, session) = signed_in(&a, "take-task").await;
        ok(
            "setting",
            a.set_session_state(&user, &session, format!("state {round}").into_bytes())
                .await,
        );
        let start = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|engine| {
                let (user, session, start) = (user.clone(), session.clone(), start.clone());
                tokio::spawn(async move {
                    let _leader = start.wait().await;
                    match engine.take_session_state(&user, &session).await {
                        Ok(_) => Some(true),
                        Err(EngineError::Rejected(RegistrationError::NoOptions)) => Some(false),
                        Err(_) => None,
                    }
                })
            })
            .collect();
        let answers = joined(tasks).await;
        assert_eq!(
            answers.iter().filter(|a| **a == Some(true)).count(),
            1,
            "round {round}: exactly one instance takes the state: {answers:?}"
        );
        assert!(
            answers.iter().all(Option::is_some),
            "round {round}: the other is told none are outstanding: {answers:?}"
        );
    }
}
