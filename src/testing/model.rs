//! A reference model of the rules, and a model check any host runs against its own deployment
//! (feature `test-support`). **Not covered by semver.**
//!
//! [`Model`] is the rules of `docs/spec.md` written a second time, as plainly as possible: one
//! pass per user in a map, codes kept in clear, no digests, no compare-and-swap, one `if` per
//! rule with its number. It shares no decision code with the crate; it only speaks the crate's
//! vocabulary ([`Usability`], [`RedeemRefusal`], [`NotOffered`]) so that answers compare.
//!
//! [`check`] draws sequences of [`Op`]s over a fixed cast ([`Who`]), runs each against a fresh
//! [`Host`] and against the model, and compares every answer. A mismatch is shrunk to a short
//! sequence and reported as numbered steps with both answers. [`EngineHost`] is a ready host:
//! the crate's [`Engine`](crate::Engine) over any [`Store`](crate::store::Store), so a store
//! author model-checks a store with one line.

mod answers;
mod check;
mod host;
mod keys;
mod ops;

use alloc::collections::BTreeMap;
use alloc::string::String;

use time::{Duration, UtcDateTime};

pub use answers::{
    Answer, CreateRefusal, Forbidden, Granted, Issued, KeyRefusal, PolicyRefusal, RegisterRefusal,
    Removed, Viewed,
};
pub use check::{CheckConfig, Mismatch, check, run};
#[cfg(feature = "test-support-tokio")]
pub use host::AsyncEngineHost;
pub use host::{EngineHost, Host, create_refusal};
pub use ops::{
    Exclude, GROUP, Include, Op, Ops, PolicyChoice, Typed, Who, operation, operations,
    operations_up_to,
};

use crate::ids::PassId;
use crate::signin::{Client, NotOffered, RedeemRefusal};
use crate::usability::{BlockCause, Usability};

/// The registration window after a one-time sign-in (SPEC 5.5).
const REGISTRATION: Duration = Duration::minutes(10);

/// A pass as the model keeps it.
#[derive(Debug, Clone)]
struct Pass {
    id: PassId,
    code: String,
    start: UtcDateTime,
    end: UtcDateTime,
    once: bool,
    used_at: Option<UtcDateTime>,
    failures: u32,
    locked_until: Option<UtcDateTime>,
    last_failure: Option<UtcDateTime>,
}

/// The policy as the model keeps it (SPEC 1.1, 1.2).
#[derive(Debug, Clone, Copy)]
struct Policy {
    enabled: bool,
    once: bool,
    minimum: u32,
    maximum: u32,
    default: u32,
    length: u32,
    include: Include,
    exclude: Exclude,
}

/// The seed's defaults (SPEC 1.2): disabled, 60..=1440 minutes, default 60, length 8, nobody
/// targeted.
const SEED: Policy = Policy {
    enabled: false,
    once: false,
    minimum: 60,
    maximum: 1440,
    default: 60,
    length: 8,
    include: Include::Nobody,
    exclude: Exclude::Nobody,
};

/// The rules, one sequence of operations at a time.
#[derive(Debug, Clone)]
pub struct Model {
    now: UtcDateTime,
    policy: Policy,
    max_attempts: u32,
    backoff: Duration,
    passes: BTreeMap<Who, Pass>,
    grants: BTreeMap<Who, (PassId, UtcDateTime)>,
    methods_per_user: u32,
    sessions: BTreeMap<Who, keys::Session>,
    keys: BTreeMap<Who, u32>,
}

impl Model {
    /// A model at `now`, with the seed's policy and no pass, whose guessing limit is
    /// `max_attempts` wrong codes and a first lock of `backoff` (the host's own settings), and
    /// whose users hold at most [`DEFAULT_METHODS_PER_USER`](crate::onboarding::DEFAULT_METHODS_PER_USER) keys.
    #[must_use]
    pub const fn new(now: UtcDateTime, max_attempts: u32, backoff: Duration) -> Self {
        Self {
            now,
            policy: SEED,
            max_attempts,
            backoff,
            passes: BTreeMap::new(),
            grants: BTreeMap::new(),
            methods_per_user: crate::onboarding::DEFAULT_METHODS_PER_USER,
            sessions: BTreeMap::new(),
            keys: BTreeMap::new(),
        }
    }

    /// The same model, whose users hold at most `cap` keys (the host's own setting).
    #[must_use]
    pub const fn methods_per_user(mut self, cap: u32) -> Self {
        self.methods_per_user = cap;
        self
    }

    /// The model's clock.
    #[must_use]
    pub const fn now(&self) -> UtcDateTime {
        self.now
    }

    /// The code of `who`'s current pass, if any.
    #[must_use]
    pub fn code_of(&self, who: Who) -> Option<&str> {
        self.passes.get(&who).map(|p| p.code.as_str())
    }

    /// SPEC 1.4: enabled, included by a target, excluded by none (exclusion wins).
    fn scope(&self, who: Who) -> Option<BlockCause> {
        let p = &self.policy;
        let in_group = matches!(who, Who::Alice | Who::Guest);
        let excluded = match p.exclude {
            Exclude::Nobody => false,
            Exclude::Group => in_group,
            Exclude::Alice => who == Who::Alice,
        };
        let included = match p.include {
            Include::Nobody => false,
            Include::AllUsers => true,
            Include::Group => in_group,
            Include::Bob => who == Who::Bob,
        };
        if !p.enabled {
            Some(BlockCause::PolicyDisabled)
        } else if excluded {
            Some(BlockCause::Excluded)
        } else if included {
            None
        } else {
            Some(BlockCause::NotIncluded)
        }
    }

    /// SPEC 4.1-4.3: the first reason that holds, in the rule's order.
    fn usability(&self, who: Who, pass: &Pass) -> Usability {
        let now = self.now;
        if let Some(cause) = self.scope(who) {
            Usability::PolicyBlocked(cause) // 4.3: disabled or out of scope first
        } else if now < pass.start {
            Usability::NotYetValid {
                starts_at: pass.start,
            } // 4.1
        } else if now >= pass.end {
            Usability::Expired { at: pass.end } // 4.1: the end is excluded
        } else if let (true, Some(at)) = (pass.once, pass.used_at) {
            Usability::OneTimeUsed { at } // 4.1
        } else if !pass.once && self.policy.once {
            Usability::PolicyBlocked(BlockCause::MultiUseUnderOneTimePolicy) // 1.6, 4.2
        } else if who == Who::Guest {
            Usability::PolicyBlocked(BlockCause::GuestUser) // 4.2 (seed)
        } else if let Some(until) = pass.locked_until.filter(|until| now < *until) {
            Usability::PolicyBlocked(BlockCause::Locked { until }) // 4.2, 6.4
        } else {
            Usability::Usable
        }
    }

    /// SPEC 3.2-3.4: who may create, view or delete whose pass.
    fn may(actor: Who, action: Action, target: Who) -> bool {
        if actor == target {
            return action != Action::Create; // 3.4: their own, but never create it
        }
        // 3.2: an administrator target is anyone holding a role outside the limited list.
        let admin_target = matches!(
            target,
            Who::GlobalAdmin | Who::PrivilegedAuthAdmin | Who::PolicyAdmin | Who::Reader
        );
        match actor {
            Who::GlobalAdmin | Who::PrivilegedAuthAdmin => true, // 3.2
            Who::AuthAdmin => !admin_target,                     // 3.2: members only
            Who::Reader => action == Action::View,               // 3.3
            Who::PolicyAdmin | Who::PasswordAdmin | Who::Alice | Who::Bob | Who::Guest => false,
        }
    }

    /// Applies `op` with the code or pass id `host` gave where the rules leave them to the
    /// host (a new pass's id and code), and answers as a host must.
    pub fn apply(&mut self, op: &Op, typed: &str, host: &Answer) -> Answer {
        match *op {
            Op::SetPolicy { actor, policy } => Answer::Policy(self.set_policy(actor, policy)),
            Op::Create {
                actor,
                target,
                start_in,
                lifetime,
                once,
            } => Answer::Create(self.create(actor, target, start_in, lifetime, once, host)),
            Op::View { actor, holder } => Answer::View(if Self::may(actor, Action::View, holder) {
                Ok(self.passes.get(&holder).map(|p| Viewed {
                    pass: p.id,
                    start: p.start,
                    end: p.end,
                    once: p.once,
                    usability: self.usability(holder, p), // 7.2, at now
                }))
            } else {
                Err(Forbidden) // 3.5
            }),
            Op::Delete { actor, holder } => Answer::Delete(self.delete(actor, holder)),
            Op::Offer { user, client } => Answer::Offer(self.offer(user, client)),
            Op::Redeem { user, client, .. } => Answer::Redeem(self.redeem(user, typed, client)),
            Op::Register { user, .. } => Answer::Register(self.register(user)),
            Op::OpenSession { user } => Answer::Session(self.open_session(user)),
            Op::RegisterKey { user } => Answer::Key(self.register_key(user)),
            Op::ProvisionKey { actor, target } => Answer::Key(self.provision_key(actor, target)),
            Op::ListKeys { actor, holder } => Answer::Keys(self.list_keys(actor, holder)),
            Op::DeleteKey { actor, holder } => Answer::KeyDeleted(self.delete_key(actor, holder)),
            Op::UseKey { user } => Answer::Key(self.use_key(user)),
            Op::Wait { minutes } => {
                self.now = self
                    .now
                    .checked_add(Duration::minutes(minutes))
                    .unwrap_or(self.now);
                Answer::Waited
            }
        }
    }

    fn set_policy(&mut self, actor: Who, choice: PolicyChoice) -> Result<(), PolicyRefusal> {
        // 1.5: the role first, whatever the settings.
        if !matches!(actor, Who::GlobalAdmin | Who::PolicyAdmin) {
            return Err(PolicyRefusal::Forbidden);
        }
        // 1.3: each lifetime in 10..=43200, the length in 8..=48, minimum <= default <= maximum.
        let lifetime_ok = |m: u32| (10..=43_200).contains(&m);
        let valid = lifetime_ok(choice.minimum)
            && lifetime_ok(choice.maximum)
            && lifetime_ok(choice.default)
            && (8..=48).contains(&choice.length)
            && choice.minimum <= choice.default
            && choice.default <= choice.maximum;
        if !valid {
            return Err(PolicyRefusal::Invalid);
        }
        self.policy = Policy {
            enabled: choice.enabled,
            once: choice.once,
            minimum: choice.minimum,
            maximum: choice.maximum,
            default: choice.default,
            length: choice.length,
            include: choice.include,
            exclude: choice.exclude,
        };
        Ok(())
    }

    fn create(
        &mut self,
        actor: Who,
        target: Who,
        start_in: Option<i64>,
        lifetime: Option<u32>,
        once: Option<bool>,
        host: &Answer,
    ) -> Result<Issued, CreateRefusal> {
        let now = self.now;
        if !Self::may(actor, Action::Create, target) {
            return Err(CreateRefusal::Forbidden); // 3.2-3.5
        }
        if self.passes.get(&target).is_some_and(|p| now < p.end) {
            return Err(CreateRefusal::AlreadyHasValidPass); // 2.7 (seed)
        }
        let minutes = lifetime.unwrap_or(self.policy.default); // 2.1
        if !(self.policy.minimum..=self.policy.maximum).contains(&minutes) {
            return Err(CreateRefusal::LifetimeOutOfRange); // 2.2
        }
        let start = match start_in {
            Some(m) => now.checked_add(Duration::minutes(m)).unwrap_or(now),
            None => now, // 2.1
        };
        if start < now {
            return Err(CreateRefusal::StartInPast); // 2.4
        }
        let end = start
            .checked_add(Duration::minutes(i64::from(minutes)))
            .ok_or(CreateRefusal::EndOutOfRange)?; // 2.4
        let once = self.policy.once || once.unwrap_or(self.policy.once); // 2.1, 2.3
        // The id and code are the host's to draw (2.5); the model keeps what the host gave.
        self.end_sessions(target); // 8.4: replacing a pass ends its sessions
        let (id, code) = match host {
            Answer::Create(Ok(issued)) => (issued.pass, issued.code.clone()),
            _ => (PassId::from_bytes([0; 16]), String::new()),
        };
        self.passes.insert(
            target,
            Pass {
                id,
                code: code.clone(),
                start,
                end,
                once,
                used_at: None,
                failures: 0,
                locked_until: None,
                last_failure: None,
            },
        ); // 2.7: an expired pass is simply replaced
        Ok(Issued {
            pass: id,
            code,
            start,
            end,
            once,
            code_length: self.policy.length, // 2.5
            revoked_sessions: false,         // 2.7: replacing an expired pass revokes nothing
        })
    }

    fn delete(&mut self, actor: Who, holder: Who) -> Result<Option<Removed>, Forbidden> {
        if !Self::may(actor, Action::Delete, holder) {
            return Err(Forbidden); // 3.5
        }
        let now = self.now;
        self.end_sessions(holder); // 8.4: deleting a pass ends its sessions
        Ok(self.passes.remove(&holder).map(|p| Removed {
            pass: p.id,
            revoked_sessions: now < p.end, // 5.7: a valid pass revokes the sessions
        }))
    }

    fn offer(&self, user: Who, client: Client) -> Result<(), NotOffered> {
        if !matches!(client, Client::Browser | Client::AuthenticatorApp) {
            return Err(NotOffered::UnsupportedClient(client)); // 5.2
        }
        let pass = self.passes.get(&user).ok_or(NotOffered::NoPass)?; // 5.1
        match self.usability(user, pass) {
            // 5.1: in scope, inside the window, not used; the other blocks show at redemption.
            u @ (Usability::PolicyBlocked(
                BlockCause::PolicyDisabled | BlockCause::NotIncluded | BlockCause::Excluded,
            )
            | Usability::NotYetValid { .. }
            | Usability::Expired { .. }
            | Usability::OneTimeUsed { .. }) => Err(NotOffered::Unusable(u)),
            _ => Ok(()),
        }
    }

    fn redeem(&mut self, user: Who, typed: &str, client: Client) -> Result<Granted, RedeemRefusal> {
        if !matches!(client, Client::Browser | Client::AuthenticatorApp) {
            return Err(RedeemRefusal::UnsupportedClient(client)); // 5.2
        }
        let now = self.now;
        let Some(pass) = self.passes.get(&user).cloned() else {
            return Err(RedeemRefusal::NoPass); // 5.3
        };
        let usability = self.usability(user, &pass);
        if usability != Usability::Usable {
            return Err(RedeemRefusal::Unusable(usability)); // 4, the code not judged
        }
        let (max, backoff) = (self.max_attempts, self.backoff);
        let Some(stored) = self.passes.get_mut(&user) else {
            return Err(RedeemRefusal::NoPass);
        };
        if typed == pass.code {
            // 5.3, 6.4: a grant resets the count; 6.6: the use time never moves back.
            stored.used_at = Some(pass.used_at.map_or(now, |used| used.max(now)));
            stored.failures = 0;
            stored.locked_until = None;
            let until = if pass.once {
                now.checked_add(REGISTRATION).unwrap_or(UtcDateTime::MAX) // 5.5
            } else {
                pass.end // 5.5: a multi-use pass, its own end
            };
            self.grants.insert(user, (pass.id, until));
            Ok(Granted {
                pass: pass.id,
                once: pass.once,
                registration_until: until,
            })
        } else {
            // 6.4: one more failure; from the limit on a lock of backoff * 2^(beyond), up to
            // the end; 6.6: dated no earlier than the last failure, never shorter than stored.
            let at = pass.last_failure.map_or(now, |last| last.max(now));
            stored.failures = pass.failures.saturating_add(1);
            stored.last_failure = Some(at);
            if let Some(beyond) = stored.failures.checked_sub(max) {
                let until = 2_i32
                    .checked_pow(beyond)
                    .and_then(|factor| backoff.checked_mul(factor))
                    .and_then(|lock| at.checked_add(lock))
                    .map_or(pass.end, |t| t.min(pass.end));
                stored.locked_until = Some(pass.locked_until.map_or(until, |s| s.max(until)));
            }
            Err(RedeemRefusal::WrongCode {
                attempts_left: max.saturating_sub(stored.failures),
                locked_until: stored.locked_until,
            })
        }
    }

    fn register(&self, user: Who) -> Result<(), RegisterRefusal> {
        let (pass, until) = self.grants.get(&user).ok_or(RegisterRefusal::NoSignIn)?;
        if self.now >= *until {
            return Err(RegisterRefusal::WindowClosed); // 5.5: the end excluded
        }
        match self.passes.get(&user) {
            Some(p) if p.id == *pass => Ok(()),
            _ => Err(RegisterRefusal::PassRemoved), // 5.5, 5.7: deleting revoked the sessions
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    View,
    Delete,
}
