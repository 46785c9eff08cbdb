//! Shared fixtures, one of each: principals, policies, the key, deterministic RNGs, and the one
//! way the tests issue a pass.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use temporary_access_pass::signin::{Client, Redemption};
use temporary_access_pass::store::{Commit, Recorded, Sequence, Store, Write};
use temporary_access_pass::{
    CreateContext, CreateError, CreateRequest, CreatedPass, DigestKey, DirectoryRole, Engine,
    EngineConfig, GroupId, InMemoryStore, IncludeTarget, ManualClock, Pepper, Policy,
    PolicySettings, PolicyState, Principal, RedeemContext, SignInRequest, TemporaryAccessPass,
    UserId, create, redeem,
};
use time::UtcDateTime;
use time::macros::utc_datetime;

/// The seed's sample creation instant (SPEC 4.4).
pub(crate) const CREATED: UtcDateTime = utc_datetime!(2021-03-09 23:19:17);

/// `minutes` after [`CREATED`] (before it when negative).
pub(crate) fn at(minutes: i64) -> UtcDateTime {
    CREATED + time::Duration::minutes(minutes)
}

/// The digest key the tests seal and verify with: a pepper.
pub(crate) fn key() -> &'static DigestKey {
    static KEY: LazyLock<DigestKey> =
        LazyLock::new(|| DigestKey::from(Pepper::new(&[0x33; 32]).unwrap()));
    &KEY
}

pub(crate) fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

pub(crate) fn gid(s: &str) -> GroupId {
    GroupId::new(s).unwrap()
}

pub(crate) fn member(id: &str) -> Principal {
    Principal::member(uid(id))
}

pub(crate) fn admin(id: &str, role: DirectoryRole) -> Principal {
    member(id).role(role)
}

pub(crate) fn aa() -> Principal {
    admin("aa", DirectoryRole::AuthenticationAdministrator)
}

pub(crate) fn ga() -> Principal {
    admin("ga", DirectoryRole::GlobalAdministrator)
}

/// An enabled policy with the seed's defaults, including every user.
pub(crate) fn open_policy() -> Policy {
    Policy::new(open_settings()).unwrap()
}

pub(crate) fn open_settings() -> PolicySettings {
    PolicySettings::new()
        .state(PolicyState::Enabled)
        .include_target(IncludeTarget::AllUsers)
}

pub(crate) fn browser() -> SignInRequest {
    SignInRequest::new(Client::Browser)
}

/// The one way the tests issue a pass: an Authentication Administrator creates it for `target`
/// under `policy` at `now`, sealed with [`key`], with a fresh deterministic RNG each time (so two
/// passes of one test differ as real ones would).
pub(crate) fn issue_under(
    policy: &Policy,
    target: &Principal,
    existing: Option<&TemporaryAccessPass>,
    request: CreateRequest,
    now: UtcDateTime,
) -> Result<CreatedPass, CreateError> {
    issue_with(key(), policy, target, existing, request, now)
}

/// As [`issue_under`], sealed with `key`.
pub(crate) fn issue_with(
    key: &DigestKey,
    policy: &Policy,
    target: &Principal,
    existing: Option<&TemporaryAccessPass>,
    request: CreateRequest,
    now: UtcDateTime,
) -> Result<CreatedPass, CreateError> {
    static SEED: AtomicU64 = AtomicU64::new(7);
    let actor = aa();
    let ctx = CreateContext::new(policy, key, &actor, target).existing(existing);
    create(
        &ctx,
        &request,
        now,
        &mut TestRng(SEED.fetch_add(1, Ordering::Relaxed)),
    )
}

/// A pass for `target` under the open policy at [`CREATED`]: its code and its record.
pub(crate) fn pass_for(
    target: &Principal,
    request: CreateRequest,
) -> (String, TemporaryAccessPass) {
    let created = issue_under(&open_policy(), target, None, request, CREATED).unwrap();
    (created.passcode.expose_secret().to_owned(), created.record)
}

/// `pass` with some stored fields changed, checked again.
pub(crate) fn modify(
    pass: &TemporaryAccessPass,
    f: impl FnOnce(&mut temporary_access_pass::hazmat::RecordParts),
) -> TemporaryAccessPass {
    let mut parts = pass.clone().into_parts();
    f(&mut parts);
    TemporaryAccessPass::from_parts(parts).unwrap()
}

/// A browser redemption of `typed` by `user` holding `record` under `policy`, verified with
/// [`key`].
pub(crate) fn redeem_with(
    policy: &Policy,
    user: &Principal,
    record: Option<&TemporaryAccessPass>,
    typed: &str,
    now: UtcDateTime,
) -> Redemption {
    redeem(
        &RedeemContext::new(policy, key(), user, record, browser()),
        typed,
        now,
    )
}

/// An engine on the in-memory store, keyed like the tests, under an enabled all-users policy
/// that enforces one-time passes.
pub(crate) fn engine(clock: &ManualClock) -> Engine<&ManualClock, InMemoryStore> {
    engine_with(clock, EngineConfig::new(key().clone()))
}

pub(crate) fn engine_with(
    clock: &ManualClock,
    config: EngineConfig,
) -> Engine<&ManualClock, InMemoryStore> {
    let engine = Engine::new(clock, InMemoryStore::new(), config);
    let _ = engine
        .update_policy(&ga(), &open_settings().is_usable_once(true))
        .unwrap();
    engine
}

/// A pass with the policy's defaults, created by a Global Administrator through `engine`.
pub(crate) fn engine_pass<C: temporary_access_pass::Clock, S: Store>(
    engine: &Engine<C, S>,
    user: &Principal,
) -> CreatedPass {
    engine
        .create(&ga(), user, &CreateRequest::new(), &mut getrandom::SysRng)
        .unwrap()
}

/// The kit's deterministic RNG, reproducible from a seed (not cryptographic: tests only).
pub(crate) use temporary_access_pass::testing::DeterministicRng as TestRng;

/// An RNG that always fails, as a broken entropy source would.
pub(crate) struct FailingRng;

#[derive(Debug)]
pub(crate) struct Broken;
impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("entropy source unavailable")
    }
}
impl core::error::Error for Broken {}

impl rand_core::TryRng for FailingRng {
    type Error = Broken;
    fn try_next_u32(&mut self) -> Result<u32, Broken> {
        Err(Broken)
    }
    fn try_next_u64(&mut self) -> Result<u64, Broken> {
        Err(Broken)
    }
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Broken> {
        Err(Broken)
    }
}
impl rand_core::TryCryptoRng for FailingRng {}

/// What a [`Hooked`] store does before a commit: it may change the commit (a store wrong on
/// purpose), or let another change land first (a race, made deterministic).
type CommitHook = dyn Fn(&InMemoryStore, Commit) -> Commit + Send + Sync;

/// An in-memory store whose commits go through a hook first: the one wrapper the tests use to
/// make a store that is wrong on purpose, or to put another change between an operation's read
/// and its commit. It holds nothing while an operation decides (the trait's default
/// `transact`), so those changes can land in between.
pub(crate) struct Hooked {
    pub(crate) inner: InMemoryStore,
    hook: Box<CommitHook>,
}

impl Hooked {
    /// A store whose hook changes nothing.
    pub(crate) fn new() -> Self {
        Self {
            inner: InMemoryStore::new(),
            hook: Box::new(|_, commit| commit),
        }
    }

    /// Commits go through `hook`.
    pub(crate) fn on_commit(
        mut self,
        hook: impl Fn(&InMemoryStore, Commit) -> Commit + Send + Sync + 'static,
    ) -> Self {
        self.hook = Box::new(hook);
        self
    }
}

impl Store for Hooked {
    type Error = std::convert::Infallible;

    fn load(&self, user: &UserId) -> Result<temporary_access_pass::store::Loaded, Self::Error> {
        self.inner.load(user)
    }

    fn load_policy(
        &self,
    ) -> Result<Option<temporary_access_pass::store::Versioned<Policy>>, Self::Error> {
        self.inner.load_policy()
    }

    fn commit(&self, commit: &Commit) -> Result<Write, Self::Error> {
        let commit = (self.hook)(&self.inner, commit.clone());
        self.inner.commit(&commit)
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
        Option<temporary_access_pass::store::Versioned<temporary_access_pass::ceremony::Ceremony>>,
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

/// Commits `record` for its holder on `store`, expecting what `read` holds (the change a
/// sign-in judged on that read makes): a change landing from outside an operation.
pub(crate) fn put_read(
    store: &impl Store<Error = std::convert::Infallible>,
    read: &temporary_access_pass::store::Loaded,
    record: &TemporaryAccessPass,
) -> Write {
    let Ok(written) = store.commit(&Commit::put(
        record.user().clone(),
        read.expected(),
        record.clone(),
    ));
    written
}
