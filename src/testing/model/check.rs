//! The model check: sequences of operations against a host and the model, compared answer by
//! answer, a mismatch shrunk to a short sequence.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use time::{Duration, UtcDateTime};

use super::Model;
use super::answers::Answer;
use super::host::Host;
use super::ops::{Op, Ops, Typed, Who, operations_up_to};
use crate::config::EngineConfig;
use crate::digest::Pepper;
use crate::signin::Lockout;

/// How many sequences, how long, from when, and the guessing limit host and model share.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckConfig {
    /// Sequences to run.
    pub cases: u32,
    /// Operations in a sequence, at most.
    pub max_steps: usize,
    /// Where the clocks start.
    pub start: UtcDateTime,
    /// The guessing limit: give the host the same ([`CheckConfig::lockout`]).
    pub max_attempts: u32,
    /// The first lock's length.
    pub backoff: Duration,
    /// The most keys a user holds: give the host the same ([`CheckConfig::engine`]).
    pub methods_per_user: u32,
    /// The seed of the sequences (the same seed draws the same sequences).
    pub seed: [u8; 32],
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl CheckConfig {
    /// 256 sequences of up to 40 operations from 2021-03-11 06:00 UTC, a limit of 2 wrong codes
    /// and a first lock of one minute, at most 2 keys a user (small, so that sequences reach
    /// the lock and the cap). The
    /// environment variable `TAP_MODEL_CASES` overrides the number of sequences: the full
    /// check is `TAP_MODEL_CASES=10000`.
    #[must_use]
    pub fn new() -> Self {
        let cases = std::env::var("TAP_MODEL_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(256);
        Self {
            cases,
            max_steps: 40,
            start: time::macros::utc_datetime!(2021-03-11 06:00:00),
            max_attempts: 2,
            backoff: Duration::MINUTE,
            methods_per_user: 2,
            seed: [7; 32],
        }
    }

    /// Sets the number of sequences (the environment's `TAP_MODEL_CASES` wins).
    #[must_use]
    pub fn cases(mut self, cases: u32) -> Self {
        if std::env::var("TAP_MODEL_CASES").is_err() {
            self.cases = cases;
        }
        self
    }

    /// Sets the seed.
    #[must_use]
    pub const fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = seed;
        self
    }

    /// The guessing limit to configure the host with.
    ///
    /// # Panics
    ///
    /// When `max_attempts` or `backoff` are out of [`Lockout::new`]'s range.
    #[must_use]
    #[allow(
        clippy::expect_used,
        reason = "a test configuration, checked when used"
    )]
    pub fn lockout(&self) -> Lockout {
        Lockout::new(self.max_attempts, self.backoff).expect("a guessing limit in range")
    }

    /// An engine configuration with `pepper` and this check's limits: the guessing limit
    /// ([`CheckConfig::lockout`]) and the keys a user holds.
    #[must_use]
    pub fn engine(&self, pepper: Pepper) -> EngineConfig {
        EngineConfig::new(pepper)
            .lockout(self.lockout())
            .methods_per_user(self.methods_per_user)
    }
}

/// A host that answered otherwise than the rules: the steps up to the disagreement, and both
/// answers.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// The steps, the last one disagreeing.
    pub steps: Ops,
    /// What the host answered at the last step.
    pub host: Answer,
    /// What the rules answer.
    pub model: Answer,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the host disagrees with the rules at step {}:",
            self.steps.0.len()
        )?;
        write!(f, "{}", self.steps)?;
        writeln!(f, "the host answered: {}", self.host)?;
        write!(f, "the rules answer:  {}", self.model)
    }
}

/// The code a sign-in types: see [`Typed`].
fn typed(codes: &BTreeMap<Who, Vec<String>>, user: Who, which: Typed) -> String {
    let wrong = || "NotTheCode".to_string();
    let mine = codes.get(&user);
    match which {
        Typed::Latest => mine.and_then(|c| c.last().cloned()).unwrap_or_else(wrong),
        Typed::Previous => mine
            .and_then(|c| c.iter().rev().nth(1).cloned())
            .unwrap_or_else(wrong),
        Typed::Someone => codes
            .iter()
            .filter(|(who, _)| **who != user)
            .find_map(|(_, c)| c.last().cloned())
            .unwrap_or_else(wrong),
        Typed::Wrong => wrong(),
    }
}

/// Runs `ops` against `host` and the model; the first disagreement.
///
/// # Errors
///
/// The [`Mismatch`].
pub fn run<H: Host>(config: &CheckConfig, host: &mut H, ops: &[Op]) -> Result<(), Box<Mismatch>> {
    let mut model = Model::new(config.start, config.max_attempts, config.backoff)
        .methods_per_user(config.methods_per_user);
    let mut codes: BTreeMap<Who, Vec<String>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        let code = match *op {
            Op::Redeem { user, code, .. } => typed(&codes, user, code),
            _ => String::new(),
        };
        let answer = match *op {
            Op::SetPolicy { actor, policy } => {
                Answer::Policy(host.set_policy(&actor.principal(), &policy.settings()))
            }
            Op::Create {
                actor,
                target,
                start_in,
                lifetime,
                once,
            } => {
                let request = Op::request(start_in, lifetime, once, model.now());
                Answer::Create(host.create(&actor.principal(), &target.principal(), &request))
            }
            Op::View { actor, holder } => {
                Answer::View(host.view(&actor.principal(), &holder.principal()))
            }
            Op::Delete { actor, holder } => {
                Answer::Delete(host.delete(&actor.principal(), &holder.principal()))
            }
            Op::Offer { user, client } => Answer::Offer(host.offer(&user.principal(), client)),
            Op::Redeem { user, client, .. } => {
                Answer::Redeem(host.redeem(&user.principal(), &code, client))
            }
            Op::Register { user, method } => {
                Answer::Register(host.register(&user.principal(), method))
            }
            Op::OpenSession { user } => Answer::Session(host.open_session(&user.principal())),
            Op::RegisterKey { user } => Answer::Key(host.register_key(&user.principal())),
            Op::ProvisionKey { actor, target } => {
                Answer::Key(host.provision_key(&actor.principal(), &target.principal()))
            }
            Op::ListKeys { actor, holder } => {
                Answer::Keys(host.list_keys(&actor.principal(), &holder.principal()))
            }
            Op::DeleteKey { actor, holder } => {
                Answer::KeyDeleted(host.delete_key(&actor.principal(), &holder.principal()))
            }
            Op::UseKey { user } => Answer::Key(host.use_key(&user.principal())),
            Op::Wait { minutes } => {
                host.wait(Duration::minutes(minutes));
                Answer::Waited
            }
        };
        let expected = model.apply(op, &code, &answer);
        if !answer.agrees_with(&expected) {
            return Err(Box::new(Mismatch {
                steps: Ops(ops.iter().take(i.saturating_add(1)).cloned().collect()),
                host: answer,
                model: expected,
            }));
        }
        if let (Op::Create { target, .. }, Answer::Create(Ok(issued))) = (op, &answer) {
            codes.entry(*target).or_default().push(issued.code.clone());
        }
    }
    Ok(())
}

/// Runs [`CheckConfig::cases`] sequences, each against a fresh host from `new_host` and a fresh
/// model. On a disagreement, shrinks the sequence (fewer steps, simpler ones) as long as the
/// host still disagrees, and returns the shortest found.
///
/// # Errors
///
/// The [`Mismatch`] of the shrunk sequence.
///
/// # Panics
///
/// When the host itself breaks (a store error), with its message.
pub fn check<H: Host>(config: &CheckConfig, new_host: impl Fn() -> H) -> Result<(), Box<Mismatch>> {
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: config.cases,
            failure_persistence: None,
            max_shrink_iters: 4096,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &config.seed),
    );
    let outcome = runner.run(&operations_up_to(config.max_steps), |ops| {
        run(config, &mut new_host(), &ops.0)
            .map_err(|mismatch| TestCaseError::fail(mismatch.to_string()))
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(_, ops)) => run(config, &mut new_host(), &ops.0),
        Err(TestError::Abort(reason)) => {
            #[allow(clippy::panic, reason = "the runner itself gave up")]
            {
                panic!("the model check gave up: {reason}")
            }
        }
    }
}
