//! The attack of SPEC 6.7 through [`AsyncEngine`]: the slowed store as an [`AsyncStore`], and
//! the six legitimate operations run as tasks while attackers stream attempts.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::super::{admin, key, ok, unique_user};
use super::{joined, multi_threaded};
use crate::clock::ManualClock;
use crate::config::EngineConfig;
use crate::create::CreateRequest;
use crate::engine::AsyncEngine;
use crate::ids::UserId;
use crate::policy::Policy;
use crate::signin::{Client, SignInRequest};
use crate::store::{AsyncStore, Commit, DecideSend, Loaded, Recorded, Sequence, Versioned, Write};

impl<S: AsyncStore> AsyncStore for super::super::Slow<S> {
    type Error = S::Error;

    async fn load(&self, user: &UserId) -> Result<Loaded, S::Error> {
        tokio::time::sleep(self.latency()).await;
        self.inner().load(user).await
    }

    async fn load_policy(&self) -> Result<Option<Versioned<Policy>>, S::Error> {
        tokio::time::sleep(self.latency()).await;
        self.inner().load_policy().await
    }

    fn commit(&self, commit: &Commit) -> impl Future<Output = Result<Write, S::Error>> + Send {
        self.inner().commit(commit)
    }

    /// Every read handed to the engine's decision waits out the latency first: the decision
    /// is not async, so it waits on its thread, which tokio hands over to blocking work for the
    /// while.
    fn transact(
        &self,
        user: &UserId,
        decide: &mut DecideSend<'_>,
    ) -> impl Future<Output = Result<Option<Write>, S::Error>> + Send {
        let latency = self.latency();
        async move {
            let mut slow = |read: Loaded| {
                if !latency.is_zero() {
                    tokio::task::block_in_place(|| std::thread::sleep(latency));
                }
                decide(read)
            };
            self.inner().transact(user, &mut slow).await
        }
    }

    fn read_events(
        &self,
        after: Sequence,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Recorded>, S::Error>> + Send {
        self.inner().read_events(after, limit)
    }

    fn prune_events(&self, before: Sequence) -> impl Future<Output = Result<u64, S::Error>> + Send {
        self.inner().prune_events(before)
    }

    fn load_methods(
        &self,
        user: &crate::ids::UserId,
    ) -> impl Future<
        Output = Result<Vec<crate::store::Versioned<crate::method::RegisteredMethod>>, S::Error>,
    > + Send {
        self.inner().load_methods(user)
    }

    fn load_ceremony(
        &self,
        user: &crate::ids::UserId,
        id: &crate::ceremony::CeremonyId,
    ) -> impl Future<
        Output = Result<Option<crate::store::Versioned<crate::ceremony::Ceremony>>, S::Error>,
    > + Send {
        self.inner().load_ceremony(user, id)
    }

    fn prune_ceremonies(
        &self,
        now: time::UtcDateTime,
    ) -> impl Future<Output = Result<u64, S::Error>> + Send {
        self.inner().prune_ceremonies(now)
    }
}

/// As [`super::super::race_under_attack`], through [`AsyncEngine`]: the six operations run as tasks
/// side by side, each trial's attackers as `attack.attackers` tasks streaming attempts at its
/// user, over `store` with every read slowed by `attack.latency`.
///
/// # Panics
///
/// When a legitimate operation gives up for contention, is answered wrongly, or the store
/// fails; or outside a multi-threaded runtime.
pub async fn race_under_attack<S: AsyncStore + 'static>(
    store: Arc<S>,
    attack: &super::super::Attack,
) -> super::super::AttackReport {
    use super::super::attack::{self as a, Operation, Tally};
    use core::sync::atomic::AtomicU64;

    multi_threaded("attack");
    let slow = Arc::new(super::super::Slow::new(store, attack.latency));
    let config = EngineConfig::new(key());
    let _ = AsyncEngine::new(a::attack_clock(), slow.clone(), config.clone())
        .update_policy(&admin(), &a::attack_policy())
        .await
        .unwrap_or_else(|e| panic!("setting the attack's policy: {e}"));
    let attempts = Arc::new(AtomicU64::new(0));
    let gave_up = Arc::new(AtomicU64::new(0));
    let attack = *attack;
    let running = Operation::ALL
        .into_iter()
        .map(|operation| {
            let (slow, config) = (slow.clone(), config.clone());
            let (attempts, gave_up) = (attempts.clone(), gave_up.clone());
            tokio::spawn(async move {
                let clock = Arc::new(a::attack_clock());
                let legitimate = config.clone().max_attempts(attack.engine_attempts);
                let engine = AsyncEngine::new(clock.clone(), slow.clone(), legitimate.clone());
                let replacing = AsyncEngine::new(
                    clock.clone(),
                    slow.clone(),
                    legitimate.create_options(
                        crate::create::CreateOptions::new().replace_valid_pass(true),
                    ),
                );
                let attackers = Arc::new(AsyncEngine::new(clock.clone(), slow, config));
                let mut tally = Tally::new(operation);
                for trial in 0..attack.trials {
                    let target = Arc::new(set_up(&attackers, operation).await);
                    let stop = Arc::new(AtomicBool::new(false));
                    let started = Arc::new(AtomicU64::new(0));
                    let streams: Vec<_> = (0..attack.attackers)
                        .map(|i| {
                            let (engine, target) = (attackers.clone(), target.clone());
                            let (stop, started) = (stop.clone(), started.clone());
                            let (attempts, gave_up) = (attempts.clone(), gave_up.clone());
                            tokio::spawn(async move {
                                let typed = if i % 2 == 0 {
                                    "wrong-code"
                                } else {
                                    &target.code
                                };
                                let browser = SignInRequest::new(Client::Browser);
                                for n in 0..attack.max_attempts {
                                    if stop.load(Ordering::SeqCst) {
                                        break;
                                    }
                                    let answer = engine.redeem(&target.user, typed, browser).await;
                                    if n == 0 {
                                        started.fetch_add(1, Ordering::SeqCst);
                                    }
                                    attempts.fetch_add(1, Ordering::Relaxed);
                                    match a::attacker_gave_up(&answer) {
                                        Ok(true) => {
                                            gave_up.fetch_add(1, Ordering::Relaxed);
                                        }
                                        Ok(false) => {}
                                        Err(e) => panic!("{e}"),
                                    }
                                    // Let the legitimate operation's task in on a busy runtime.
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    let waiting = a::wall();
                    while started.load(Ordering::SeqCst) < attack.attackers as u64
                        && waiting.elapsed() < std::time::Duration::from_secs(30)
                    {
                        tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                    }
                    let begun = a::wall();
                    let verdict = run(&engine, &replacing, operation, &target).await;
                    let took = begun.elapsed();
                    stop.store(true, Ordering::SeqCst);
                    joined(streams).await;
                    tally.count(trial, verdict, took);
                    let _ = attackers.delete(&admin(), &target.user).await;
                }
                tally
            })
        })
        .collect();
    let tallies = joined(running).await;
    super::super::AttackReport {
        operations: tallies.into_iter().map(Tally::finish).collect(),
        attacker_attempts: attempts.load(Ordering::SeqCst),
        attacker_contention: gave_up.load(Ordering::SeqCst),
    }
}

/// As the thread attack's set-up, through the async engine.
async fn set_up<C: crate::clock::Clock, S: AsyncStore>(
    engine: &AsyncEngine<C, S>,
    operation: super::super::Operation,
) -> super::super::attack::Target {
    let user = unique_user("attack-task");
    let request = CreateRequest::new().lifetime_minutes(super::super::attack::LIFETIME);
    let created = engine
        .create(&admin(), &user, &request, &mut getrandom::SysRng)
        .await
        .unwrap_or_else(|e| panic!("setting up an attack: {e}"));
    let code = created.passcode.expose_secret().to_string();
    let grant = if operation == super::super::Operation::Register {
        let answer = engine
            .redeem(&user, &code, SignInRequest::new(Client::Browser))
            .await;
        Some(
            ok("the holder's sign-in", answer.map_err(|e| format!("{e}")))
                .outcome
                .unwrap_or_else(|e| panic!("the holder's sign-in before the attack: {e}")),
        )
    } else {
        None
    };
    super::super::attack::Target { user, code, grant }
}

/// As the thread attack's legitimate operation, through the async engine.
async fn run<S: AsyncStore>(
    engine: &AsyncEngine<Arc<ManualClock>, S>,
    replacing: &AsyncEngine<Arc<ManualClock>, S>,
    operation: super::super::Operation,
    target: &super::super::attack::Target,
) -> Result<super::super::attack::Verdict, String> {
    use super::super::Operation;
    use super::super::attack as a;
    let admin = admin();
    let user = &target.user;
    let mut rng = getrandom::SysRng;
    match operation {
        Operation::CreateOverExpired => {
            a::move_past_the_end(engine.clock());
            let request = CreateRequest::new();
            a::created(
                operation,
                engine.create(&admin, user, &request, &mut rng).await,
            )
        }
        Operation::Replace => {
            let request = CreateRequest::new();
            a::created(
                operation,
                replacing.create(&admin, user, &request, &mut rng).await,
            )
        }
        Operation::Delete => a::deleted(engine.delete(&admin, user).await),
        Operation::PolicyChange => a::changed(engine.change_policy(&admin, &a::flip_length).await),
        Operation::Register => {
            let grant = target.grant.as_ref().ok_or("no grant to register with")?;
            let method = crate::signin::PasswordlessMethod::Fido2SecurityKey;
            a::registered(engine.register(user, grant, method).await)
        }
        Operation::SignIn => {
            let browser = SignInRequest::new(Client::Browser);
            a::signed_in(engine.redeem(user, &target.code, browser).await)
        }
    }
}
