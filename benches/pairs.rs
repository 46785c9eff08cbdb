//! The fixtures of the constant-time pairs, shared by the dudect harness (`dudect.rs`) and the
//! criterion group of interleaved means (`classes.rs`), so both measure the same inputs.
#![allow(
    dead_code,
    reason = "each of the two programs uses its part of the fixtures"
)]

use temporary_access_pass::hazmat::RecordParts;
use temporary_access_pass::signin::{Client, Redemption};
use temporary_access_pass::store::{Commit, Expected, Store};
use temporary_access_pass::time::{Duration, UtcDateTime, macros::utc_datetime};
use temporary_access_pass::{
    CreateContext, CreateRequest, DigestKey, DirectoryRole, Engine, EngineConfig, ExcludeTarget,
    GroupId, InMemoryStore, IncludeTarget, ManualClock, Pepper, Policy, PolicySettings,
    PolicyState, Principal, RedeemContext, SignInRequest, TemporaryAccessPass, UserId, create,
    redeem,
};

/// When the fixture's passes were created; they are judged a minute later.
pub(crate) const CREATED: UtcDateTime = utc_datetime!(2021-03-11 06:00:00);
pub(crate) const NOW: UtcDateTime = utc_datetime!(2021-03-11 06:01:00);
pub(crate) const SECRET: [u8; 32] = [0x42; 32];

pub(crate) fn samples() -> usize {
    std::env::var("DUDECT_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

pub(crate) fn key() -> DigestKey {
    DigestKey::from(Pepper::new(&SECRET).unwrap())
}

pub(crate) fn principal(id: &str) -> Principal {
    Principal::member(UserId::new(id).unwrap())
}

pub(crate) fn small_policy(length: u32) -> Policy {
    Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers)
            .default_length(length),
    )
    .unwrap()
}

/// A policy of 200 excluded groups; its user is in 20 groups, none of them excluded.
pub(crate) fn large_policy() -> Policy {
    (0..200)
        .fold(
            PolicySettings::new()
                .state(PolicyState::Enabled)
                .include_target(IncludeTarget::AllUsers),
            |s, i| {
                s.exclude_target(ExcludeTarget::Group(
                    GroupId::new(&format!("x-{i}")).unwrap(),
                ))
            },
        )
        .pipe(|s| Policy::new(s).unwrap())
}

pub(crate) fn grouped(id: &str) -> Principal {
    (0..20).fold(principal(id), |p, i| {
        p.group(GroupId::new(&format!("member-of-{i}")).unwrap())
    })
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

/// A multi-use pass for `user` under `policy`, created at `at`: its code and record.
pub(crate) fn pass(
    policy: &Policy,
    user: &Principal,
    at: UtcDateTime,
    minutes: u32,
) -> (String, TemporaryAccessPass) {
    let admin = principal("admin").role(DirectoryRole::GlobalAdministrator);
    let key = key();
    let created = create(
        &CreateContext::new(policy, &key, &admin, user),
        &CreateRequest::new()
            .is_usable_once(false)
            .lifetime_minutes(minutes),
        at,
        &mut getrandom::SysRng,
    )
    .unwrap();
    (created.passcode.expose_secret().to_owned(), created.record)
}

pub(crate) fn locked(record: &TemporaryAccessPass) -> TemporaryAccessPass {
    let mut parts: RecordParts = record.clone().into_parts();
    parts.failed_attempts = 10;
    parts.locked_until = Some(NOW + Duration::minutes(30));
    TemporaryAccessPass::from_parts(parts).unwrap()
}

/// The pure decision: one user, one policy, one record per class (or none), a typed code.
pub(crate) struct Pure {
    pub(crate) policy: Policy,
    pub(crate) key: DigestKey,
    pub(crate) user: Principal,
}

impl Pure {
    pub(crate) fn redeem(
        &self,
        record: Option<&TemporaryAccessPass>,
        typed: &str,
        now: UtcDateTime,
    ) -> Redemption {
        let request = SignInRequest::new(Client::Browser);
        redeem(
            &RedeemContext::new(&self.policy, &self.key, &self.user, record, request),
            typed,
            now,
        )
    }
}

pub(crate) fn pure_fixture() -> (Pure, String, TemporaryAccessPass) {
    let policy = small_policy(8);
    let user = principal("user");
    let (code, record) = pass(&policy, &user, CREATED, 60);
    (
        Pure {
            policy,
            key: key(),
            user,
        },
        code,
        record,
    )
}

/// The engine over `InMemoryStore` with one policy and the records of the pair stored; each
/// measured redemption is followed by writing the stored records back as they were, the same
/// work for either class, so the state never drifts.
pub(crate) struct Stored {
    engine: Engine<ManualClock, InMemoryStore>,
    records: Vec<(Principal, TemporaryAccessPass)>,
}

impl Stored {
    pub(crate) fn new(policy: &Policy, records: Vec<(Principal, TemporaryAccessPass)>) -> Self {
        let engine = Engine::new(
            ManualClock::new(NOW),
            InMemoryStore::new(),
            EngineConfig::new(key()),
        );
        let store = engine.store();
        let _ = store.commit(&Commit::policy(None, policy.clone())).unwrap();
        for (user, record) in &records {
            let expected = store.load(user.id()).unwrap().expected();
            let commit = Commit::put(user.id().clone(), expected, record.clone());
            let _ = store.commit(&commit).unwrap();
        }
        Self { engine, records }
    }

    pub(crate) fn redeem(&self, user: &Principal, typed: &str) -> Redemption {
        self.engine
            .redeem(user, typed, SignInRequest::new(Client::Browser))
            .unwrap()
    }

    /// Puts every record back as it was.
    pub(crate) fn restore(&self) {
        let store = self.engine.store();
        for (user, record) in &self.records {
            let read: Expected = store.load(user.id()).unwrap().expected();
            let _ = store
                .commit(&Commit::put(user.id().clone(), read, record.clone()))
                .unwrap();
        }
    }
}

pub(crate) fn engine_fixture() -> (Policy, Principal, String, TemporaryAccessPass) {
    let policy = small_policy(8);
    let user = principal("user");
    let (code, record) = pass(&policy, &user, CREATED, 60);
    (policy, user, code, record)
}
