//! The harness kit's model check (`testing::model`): the crate's engine agrees with the
//! reference model over random operation sequences, and hosts that are wrong on purpose are
//! caught, each shrunk to a few readable steps.
//!
//! CI runs 256 sequences of up to 40 operations; the full check is
//! `TAP_MODEL_CASES=10000 cargo test --release --all-features --test integration model::`.

use std::sync::Arc;

use temporary_access_pass::hazmat::RecordParts;
use temporary_access_pass::signin::{Client, NotOffered, PasswordlessMethod, RedeemRefusal};
use temporary_access_pass::store::{Change, Store};
use temporary_access_pass::testing::model::{
    CheckConfig, CreateRefusal, EngineHost, Forbidden, Granted, Host, Issued, KeyRefusal, Mismatch,
    PolicyRefusal, RegisterRefusal, Removed, Viewed, check,
};
use temporary_access_pass::{
    Clock, CreateRequest, EngineConfig, InMemoryStore, Pepper, PolicySettings, Principal,
    TemporaryAccessPass,
};
use time::Duration;

fn config() -> EngineConfig {
    CheckConfig::new().engine(Pepper::new(&[0x3c; 32]).unwrap())
}

fn engine_host<S: Store>(store: S) -> EngineHost<S> {
    EngineHost::new(store, CheckConfig::new().start, config())
}

#[test]
fn the_engine_over_the_in_memory_store_agrees_with_the_model() {
    if let Err(mismatch) = check(&CheckConfig::new(), || engine_host(InMemoryStore::new())) {
        panic!("{mismatch}");
    }
}

#[test]
fn the_engine_over_a_single_lock_store_agrees_with_the_model() {
    let config = CheckConfig::new().cases(64).seed([9; 32]);
    if let Err(mismatch) = check(&config, || engine_host(InMemoryStore::with_shards(1))) {
        panic!("{mismatch}");
    }
}

/// A store that loses one field of every record it writes, as a schema missing a column would.
fn forgetting(forget: fn(&mut RecordParts)) -> crate::support::Hooked {
    crate::support::Hooked::new().on_commit(move |_, mut commit| {
        if let Change::Put { record, .. } = &mut commit.change {
            let mut parts = record.clone().into_parts();
            forget(&mut parts);
            *record = TemporaryAccessPass::from_parts(parts).unwrap();
        }
        commit
    })
}

/// A host whose directory forgets the roles of the users it looks up as targets: an
/// Authentication Administrator may then create a pass for a Global Administrator.
struct TargetsWithoutRoles(EngineHost<InMemoryStore>);

/// A host that treats the pass end as part of the window (`now <= end`): at the very end, it
/// judges the pass as if one nanosecond earlier.
struct EndIncluded(EngineHost<InMemoryStore>);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        fn $name(&mut self, $($arg: $ty),*) -> $ret {
            self.0.$name($($arg),*)
        }
    )*};
}

/// The keys' operations, delegated as they are.
macro_rules! delegate_keys {
    () => {
        delegate! {
            open_session(user: &Principal) -> Result<(), RegisterRefusal>;
            register_key(user: &Principal) -> Result<(), KeyRefusal>;
            provision_key(actor: &Principal, target: &Principal) -> Result<(), KeyRefusal>;
            list_keys(actor: &Principal, holder: &Principal) -> Result<usize, Forbidden>;
            delete_key(actor: &Principal, holder: &Principal) -> Result<bool, Forbidden>;
            use_key(user: &Principal) -> Result<(), KeyRefusal>;
        }
    };
}

impl Host for TargetsWithoutRoles {
    fn create(
        &mut self,
        actor: &Principal,
        target: &Principal,
        request: &CreateRequest,
    ) -> Result<Issued, CreateRefusal> {
        self.0
            .create(actor, &Principal::member(target.id().clone()), request)
    }

    delegate! {
        set_policy(actor: &Principal, settings: &PolicySettings) -> Result<(), PolicyRefusal>;
        view(actor: &Principal, holder: &Principal) -> Result<Option<Viewed>, Forbidden>;
        delete(actor: &Principal, holder: &Principal) -> Result<Option<Removed>, Forbidden>;
        offer(user: &Principal, client: Client) -> Result<(), NotOffered>;
        redeem(user: &Principal, code: &str, client: Client) -> Result<Granted, RedeemRefusal>;
        register(user: &Principal, method: PasswordlessMethod) -> Result<(), RegisterRefusal>;
        wait(by: Duration) -> ();
    }

    delegate_keys!();
}

impl Host for EndIncluded {
    fn redeem(
        &mut self,
        user: &Principal,
        code: &str,
        client: Client,
    ) -> Result<Granted, RedeemRefusal> {
        let now = self.0.engine().clock().now();
        let end = self
            .0
            .engine()
            .store()
            .load(user.id())
            .unwrap()
            .record
            .map(|r| r.value.end());
        if end == Some(now) {
            self.0.engine().clock().set(now - Duration::NANOSECOND);
            let answer = self.0.redeem(user, code, client);
            self.0.engine().clock().set(now);
            answer
        } else {
            self.0.redeem(user, code, client)
        }
    }

    delegate! {
        set_policy(actor: &Principal, settings: &PolicySettings) -> Result<(), PolicyRefusal>;
        create(actor: &Principal, target: &Principal, request: &CreateRequest) -> Result<Issued, CreateRefusal>;
        view(actor: &Principal, holder: &Principal) -> Result<Option<Viewed>, Forbidden>;
        delete(actor: &Principal, holder: &Principal) -> Result<Option<Removed>, Forbidden>;
        offer(user: &Principal, client: Client) -> Result<(), NotOffered>;
        register(user: &Principal, method: PasswordlessMethod) -> Result<(), RegisterRefusal>;
        wait(by: Duration) -> ();
    }

    delegate_keys!();
}

/// The check catches `host`, and shrinks the disagreement to at most 6 readable steps.
fn caught<H: Host>(what: &str, new_host: impl Fn() -> H) -> Box<Mismatch> {
    let config = CheckConfig::new().cases(2_000).seed([3; 32]);
    let mismatch = check(&config, new_host)
        .err()
        .unwrap_or_else(|| panic!("the model check missed a host that {what}"));
    let report = mismatch.to_string();
    assert!(
        mismatch.steps.0.len() <= 6,
        "a host that {what} was caught, but shrunk to {} steps:\n{report}",
        mismatch.steps.0.len()
    );
    assert!(
        report.contains("  1. ") && report.contains("the rules answer:"),
        "{report}"
    );
    eprintln!("a host that {what}, caught:\n{report}\n");
    mismatch
}

#[test]
fn a_host_that_ignores_one_time_use_is_caught_in_a_few_steps() {
    let mismatch = caught("forgets that a one-time pass was used", || {
        engine_host(forgetting(|parts| {
            if parts.is_usable_once {
                parts.used_at = None;
            }
        }))
    });
    assert!(mismatch.to_string().contains("OneTimeUsed"), "{mismatch}");
}

#[test]
fn a_host_that_never_locks_is_caught_in_a_few_steps() {
    let mismatch = caught("never locks a pass", || {
        engine_host(forgetting(|parts| parts.locked_until = None))
    });
    assert!(mismatch.to_string().contains("locked"), "{mismatch}");
}

#[test]
fn a_host_that_lets_an_authentication_administrator_create_for_a_global_administrator_is_caught() {
    let mismatch = caught(
        "lets an Authentication Administrator act on administrators",
        || TargetsWithoutRoles(engine_host(InMemoryStore::new())),
    );
    assert!(mismatch.to_string().contains("Forbidden"), "{mismatch}");
}

#[test]
fn a_host_that_includes_the_window_end_is_caught_in_a_few_steps() {
    let mismatch = caught("takes a pass at its very end", || {
        EndIncluded(engine_host(InMemoryStore::new()))
    });
    assert!(mismatch.to_string().contains("Expired"), "{mismatch}");
}

/// A host that lists anyone's keys to anyone (it reads them as their holder would).
struct KeysShownToAll(EngineHost<InMemoryStore>);

impl Host for KeysShownToAll {
    fn list_keys(&mut self, _actor: &Principal, holder: &Principal) -> Result<usize, Forbidden> {
        self.0.list_keys(holder, holder)
    }

    delegate! {
        set_policy(actor: &Principal, settings: &PolicySettings) -> Result<(), PolicyRefusal>;
        create(actor: &Principal, target: &Principal, request: &CreateRequest) -> Result<Issued, CreateRefusal>;
        view(actor: &Principal, holder: &Principal) -> Result<Option<Viewed>, Forbidden>;
        delete(actor: &Principal, holder: &Principal) -> Result<Option<Removed>, Forbidden>;
        offer(user: &Principal, client: Client) -> Result<(), NotOffered>;
        redeem(user: &Principal, code: &str, client: Client) -> Result<Granted, RedeemRefusal>;
        register(user: &Principal, method: PasswordlessMethod) -> Result<(), RegisterRefusal>;
        open_session(user: &Principal) -> Result<(), RegisterRefusal>;
        register_key(user: &Principal) -> Result<(), KeyRefusal>;
        provision_key(actor: &Principal, target: &Principal) -> Result<(), KeyRefusal>;
        delete_key(actor: &Principal, holder: &Principal) -> Result<bool, Forbidden>;
        use_key(user: &Principal) -> Result<(), KeyRefusal>;
        wait(by: Duration) -> ();
    }
}

#[test]
fn a_host_that_lists_anyones_keys_is_caught_in_a_few_steps() {
    let mismatch = caught("lists anyone's keys to anyone", || {
        KeysShownToAll(engine_host(InMemoryStore::new()))
    });
    assert!(mismatch.to_string().contains("lists"), "{mismatch}");
    assert!(mismatch.to_string().contains("Forbidden"), "{mismatch}");
}

#[test]
fn a_host_with_a_larger_cap_than_the_rules_is_caught_in_a_few_steps() {
    let cap = CheckConfig::new().methods_per_user;
    let mismatch = caught("lets a user hold one key more than the cap", || {
        EngineHost::new(
            InMemoryStore::new(),
            CheckConfig::new().start,
            config().methods_per_user(cap + 1),
        )
    });
    assert!(mismatch.to_string().contains("TooMany"), "{mismatch}");
}

#[test]
fn the_model_check_reaches_grants_locks_refusals_and_registrations() {
    // Not vacuous: the sequences the check draws reach the interesting answers. Counted by a
    // host that records what it answered.
    #[derive(Default)]
    struct Seen {
        grants: usize,
        wrong: usize,
        locked: usize,
        used: usize,
        registered: usize,
        window_closed: usize,
        forbidden: usize,
        created: usize,
        sessions: usize,
        keys: usize,
        at_cap: usize,
        sessions_ended: usize,
        key_windows_closed: usize,
        provisioned: usize,
        keys_deleted: usize,
        key_sign_ins: usize,
    }
    /// The host, what it saw, and who opened a session in this sequence.
    struct Counting(
        EngineHost<InMemoryStore>,
        Arc<std::sync::Mutex<Seen>>,
        std::collections::BTreeSet<String>,
    );
    impl Host for Counting {
        fn open_session(&mut self, user: &Principal) -> Result<(), RegisterRefusal> {
            let answer = self.0.open_session(user);
            if answer.is_ok() {
                self.1.lock().unwrap().sessions += 1;
                self.2.insert(user.id().as_str().into());
            }
            answer
        }
        fn register_key(&mut self, user: &Principal) -> Result<(), KeyRefusal> {
            let answer = self.0.register_key(user);
            let mut seen = self.1.lock().unwrap();
            match answer {
                Ok(()) => seen.keys += 1,
                Err(KeyRefusal::TooMany) => seen.at_cap += 1,
                Err(KeyRefusal::WindowClosed) => seen.key_windows_closed += 1,
                // A session was opened, and its pass deleted or replaced since.
                Err(KeyRefusal::NoSession) if self.2.contains(user.id().as_str()) => {
                    seen.sessions_ended += 1;
                }
                Err(_) => {}
            }
            answer
        }
        fn provision_key(
            &mut self,
            actor: &Principal,
            target: &Principal,
        ) -> Result<(), KeyRefusal> {
            let answer = self.0.provision_key(actor, target);
            let mut seen = self.1.lock().unwrap();
            match answer {
                Ok(()) => seen.provisioned += 1,
                Err(KeyRefusal::TooMany) => seen.at_cap += 1,
                Err(_) => {}
            }
            answer
        }
        fn delete_key(&mut self, actor: &Principal, holder: &Principal) -> Result<bool, Forbidden> {
            let answer = self.0.delete_key(actor, holder);
            if answer == Ok(true) {
                self.1.lock().unwrap().keys_deleted += 1;
            }
            answer
        }
        fn use_key(&mut self, user: &Principal) -> Result<(), KeyRefusal> {
            let answer = self.0.use_key(user);
            if answer.is_ok() {
                self.1.lock().unwrap().key_sign_ins += 1;
            }
            answer
        }
        fn redeem(
            &mut self,
            user: &Principal,
            code: &str,
            client: Client,
        ) -> Result<Granted, RedeemRefusal> {
            let answer = self.0.redeem(user, code, client);
            let mut seen = self.1.lock().unwrap();
            match &answer {
                Ok(_) => seen.grants += 1,
                Err(RedeemRefusal::WrongCode { .. }) => seen.wrong += 1,
                Err(RedeemRefusal::Unusable(u)) if format!("{u:?}").contains("Locked") => {
                    seen.locked += 1;
                }
                Err(RedeemRefusal::Unusable(u)) if format!("{u:?}").contains("OneTimeUsed") => {
                    seen.used += 1;
                }
                Err(_) => {}
            }
            answer
        }
        fn register(
            &mut self,
            user: &Principal,
            method: PasswordlessMethod,
        ) -> Result<(), RegisterRefusal> {
            let answer = self.0.register(user, method);
            let mut seen = self.1.lock().unwrap();
            match answer {
                Ok(()) => seen.registered += 1,
                Err(RegisterRefusal::WindowClosed) => seen.window_closed += 1,
                Err(_) => {}
            }
            answer
        }
        fn create(
            &mut self,
            actor: &Principal,
            target: &Principal,
            request: &CreateRequest,
        ) -> Result<Issued, CreateRefusal> {
            let answer = self.0.create(actor, target, request);
            let mut seen = self.1.lock().unwrap();
            match answer {
                Ok(_) => seen.created += 1,
                Err(CreateRefusal::Forbidden) => seen.forbidden += 1,
                Err(_) => {}
            }
            answer
        }
        delegate! {
            set_policy(actor: &Principal, settings: &PolicySettings) -> Result<(), PolicyRefusal>;
            view(actor: &Principal, holder: &Principal) -> Result<Option<Viewed>, Forbidden>;
            delete(actor: &Principal, holder: &Principal) -> Result<Option<Removed>, Forbidden>;
            offer(user: &Principal, client: Client) -> Result<(), NotOffered>;
            list_keys(actor: &Principal, holder: &Principal) -> Result<usize, Forbidden>;
            wait(by: Duration) -> ();
        }
    }
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    let config = CheckConfig::new().cases(400).seed([5; 32]);
    check(&config, || {
        Counting(
            engine_host(InMemoryStore::new()),
            seen.clone(),
            std::collections::BTreeSet::new(),
        )
    })
    .unwrap();
    let seen = seen.lock().unwrap();
    eprintln!(
        "grants {}, sessions {}, keys {}, at cap {}, ended {}, closed {}, provisioned {}, deleted {}, sign-ins {}",
        seen.grants,
        seen.sessions,
        seen.keys,
        seen.at_cap,
        seen.sessions_ended,
        seen.key_windows_closed,
        seen.provisioned,
        seen.keys_deleted,
        seen.key_sign_ins
    );
    for (what, n) in [
        ("grants", seen.grants),
        ("wrong codes", seen.wrong),
        ("locked refusals", seen.locked),
        ("used refusals", seen.used),
        ("registrations", seen.registered),
        ("closed windows", seen.window_closed),
        ("forbidden creations", seen.forbidden),
        ("creations", seen.created),
        ("registration sessions", seen.sessions),
        ("keys registered", seen.keys),
        ("keys refused at the cap", seen.at_cap),
        ("sessions ended with their pass", seen.sessions_ended),
        ("keys refused for a closed window", seen.key_windows_closed),
        ("keys provisioned", seen.provisioned),
        ("keys deleted", seen.keys_deleted),
        ("passkey sign-ins", seen.key_sign_ins),
    ] {
        assert!(n > 0, "400 sequences reached no {what}");
    }
}

#[test]
fn the_async_engine_over_the_in_memory_store_agrees_with_the_model() {
    use temporary_access_pass::testing::model::AsyncEngineHost;
    use temporary_access_pass::testing::tokio;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let config = CheckConfig::new().cases(128).seed([11; 32]);
    let result = check(&config, || {
        AsyncEngineHost::new(
            InMemoryStore::new(),
            config.start,
            self::config(),
            runtime.handle().clone(),
        )
    });
    if let Err(mismatch) = result {
        panic!("{mismatch}");
    }
}
