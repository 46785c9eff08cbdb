//! A PostgreSQL store for `temporary-access-pass`: pass records and the tenant policy in two
//! tables, behind the crate's [`AsyncStore`] trait, on `tokio-postgres` with a `deadpool`
//! connection pool. Several service instances share one database and the engine's guarantees
//! hold across all of them: a one-time pass signs in once, a burst of guesses counts every
//! guess, a sign-in judged before the policy changed is judged again.
//!
//! - [`migrate`] creates the schema ([`MIGRATIONS`]) once, under an advisory lock, and refuses
//!   a database migrated by a newer release.
//! - A [`PgStore`] is one tenant's view of the tables: every row carries a `tenant` column and
//!   every statement names it. A multi-tenant host makes one `PgStore` per tenant over one pool.
//! - A read is one statement that returns the policy and the user's record together (one
//!   snapshot). A change is one conditional statement (`INSERT ... WHERE <policy version> ON
//!   CONFLICT DO NOTHING`, `UPDATE ... WHERE tenant = $1 AND user_id = $2 AND pass_id = $3
//!   [AND version = $4] AND <policy version>`, or a deletion's `DELETE ... WHERE tenant = $1
//!   AND user_id = $2 AND pass_id = $3`), whose returned row decides: one row is a write, none
//!   a conflict. Its audit events are inserted by the same statement (data-modifying `WITH`
//!   clauses) with the transaction's id: a change and its events commit together or not at
//!   all, and no writer waits for another's events. Readers number them in transaction-id
//!   order below the visibility horizon (the `outbox` module). There is no read-then-write.
//! - A decision that writes ([`AsyncStore::transact`]) commits in one statement; if what it read
//!   changed meanwhile, it is judged again in a transaction holding the user (a
//!   transaction-scoped advisory lock, `pg_advisory_xact_lock`, and the row's `FOR UPDATE`), so
//!   no stream of attempts makes it give up. A decision that writes nothing (a refusal) is one
//!   read: no lock, no transaction id, nothing written to the WAL. Uncontended, a write costs
//!   what it did before: a read and one statement.
//! - Every transaction the store opens names its isolation level, READ COMMITTED, whatever
//!   the server's or the role's default; [`pool`] makes it every connection's default too
//!   ([`READ_COMMITTED`]), so a single statement's own transaction is READ COMMITTED as well.
//! - Every failure (the pool has no connection, the connection is lost, a statement fails, a
//!   stored document breaks the crate's rules) is a [`PgError`], and the engine denies on it. A
//!   write whose connection is lost after the statement was sent may or may not have committed
//!   (with its events, or neither): the engine reports the error, never a decision. A
//!   connection whose transaction did not end cleanly (an error, a future dropped midway) is
//!   closed rather than returned to the pool, which ends the transaction and frees its lock.
//!
//! ```no_run
//! use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper, SystemClock};
//! use temporary_access_pass_postgres::{PgStore, migrate, pool};
//!
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = pool("host=127.0.0.1 user=postgres dbname=test".parse()?, 16)?;
//! migrate(&pool).await?;
//! let store = PgStore::new(pool, "contoso.onmicrosoft.com")?;
//! let pepper = Pepper::new(b"a secret of at least 32 bytes, from a key vault")?;
//! let engine = AsyncEngine::new(SystemClock::new(), store, EngineConfig::new(pepper));
//! let policy = engine.policy().await?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, LazyLock};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures_util::future::join4;
use temporary_access_pass::ceremony::{Ceremony, CeremonyId};
use temporary_access_pass::method::RegisteredMethod;
use temporary_access_pass::store::{
    AsyncStore, Change, Commit, DecideSend, Held, Loaded, Read, Recorded, Sequence, Version,
    Versioned, Write,
};
use temporary_access_pass::time::UtcDateTime;
use temporary_access_pass::{Policy, UserId};

mod onboarding;
mod outbox;
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

pub use deadpool_postgres;
pub use tokio_postgres;

/// The schema, one migration per version: the schema table, the policy (one row per tenant)
/// and the pass records (one row per tenant and user, with the pass id and a version that
/// changes on every write); then the outbox (one row per tenant and event); then the methods
/// and ceremonies; then the outbox's events with their transaction's id, numbered by readers
/// (`tap_outbox_head` keeps each tenant's last number); then, on each pass's row, the order key
/// of its last change's events. Documents are Graph's JSON (the
/// policy) and the crate's strict storage forms (the record, the event), kept as text.
pub const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE tap_policy (
        tenant   text   PRIMARY KEY,
        version  bigint NOT NULL CHECK (version > 0),
        document text   NOT NULL
    );
    CREATE TABLE tap_passes (
        tenant  text   NOT NULL,
        user_id text   NOT NULL,
        pass_id text   NOT NULL,
        version bigint NOT NULL CHECK (version > 0),
        record  text   NOT NULL,
        PRIMARY KEY (tenant, user_id)
    );",
    "
    CREATE TABLE tap_outbox_head (
        tenant text   PRIMARY KEY,
        last   bigint NOT NULL CHECK (last > 0)
    );
    CREATE TABLE tap_events (
        tenant text   NOT NULL,
        seq    bigint NOT NULL CHECK (seq > 0),
        event  text   NOT NULL,
        PRIMARY KEY (tenant, seq)
    );",
    "
    CREATE TABLE tap_methods (
        tenant   text      NOT NULL,
        user_id  text      NOT NULL,
        id       text      NOT NULL,
        seq      bigserial NOT NULL,
        version  bigint    NOT NULL CHECK (version > 0),
        document text      NOT NULL,
        PRIMARY KEY (tenant, user_id, id)
    );
    CREATE TABLE tap_ceremonies (
        tenant   text      NOT NULL,
        user_id  text      NOT NULL,
        id       text      NOT NULL,
        seq      bigserial NOT NULL,
        kind     text      NOT NULL,
        pass_id  text,
        expires  bigint    NOT NULL,
        version  bigint    NOT NULL CHECK (version > 0),
        document text      NOT NULL,
        PRIMARY KEY (tenant, user_id, id)
    );
    CREATE INDEX tap_ceremonies_expires ON tap_ceremonies (tenant, expires);",
    outbox::MIGRATION,
    outbox::MIGRATION_5,
];

/// The advisory lock key [`migrate`] holds while it migrates (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x7461_705f_7067; // "tap_pg"

/// The longest tenant name [`PgStore::new`] takes.
pub const MAX_TENANT_LEN: usize = 256;

/// Why the store could not read or write. The engine denies on any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// No connection could be had from the pool (the server is down, the pool is exhausted
    /// past its wait, a connection could not be made).
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The pool could not be built from its configuration.
    #[error("the connection pool could not be built: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    /// A statement failed, or the connection was lost while it ran (it may or may not have
    /// committed).
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// A stored document does not decode: a record or policy that breaks the crate's rules.
    #[error("a stored document does not decode: {0}")]
    Document(#[from] serde_json::Error),
    /// A stored value is out of the store's own rules (a negative version, two rows changed).
    #[error("the database holds what this store never writes: {0}")]
    Corrupt(String),
    /// The database was migrated by a newer release than this one.
    #[error("the database's schema version is {found}: this store knows up to {supported}")]
    Schema {
        /// The highest version recorded in `tap_schema`.
        found: i64,
        /// How many migrations this release has ([`MIGRATIONS`]).
        supported: i64,
    },
    /// The tenant name is empty, longer than [`MAX_TENANT_LEN`] bytes, or holds a control
    /// character.
    #[error("tenant {0:?} refused: 1 to 256 bytes of printable text")]
    Tenant(String),
}

/// A pool of `size` connections (at least one) to the server `config` names, recycled without
/// a round trip (a connection the driver knows is closed is dropped, [`RecyclingMethod::Fast`];
/// one the network lost unnoticed fails its next statement, which the engine denies on), every
/// connection's default isolation READ COMMITTED ([`READ_COMMITTED`],
/// after the options `config` gives). Hosts with needs of their own (TLS, timeouts) build a
/// [`deadpool_postgres::Pool`] themselves and pass it to [`PgStore::new`]: give its
/// connections the same option.
///
/// # Errors
///
/// [`PgError::Build`].
pub fn pool(mut config: tokio_postgres::Config, size: usize) -> Result<Pool, PgError> {
    let options = match config.get_options() {
        Some(given) => format!("{given} {READ_COMMITTED}"),
        None => READ_COMMITTED.to_owned(),
    };
    config.options(options);
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager).max_size(size.max(1)).build()?)
}

/// Creates or updates the schema in the connection's schema (its `search_path`), in one
/// transaction under an advisory lock, so that instances starting together migrate once.
///
/// # Errors
///
/// [`PgError::Schema`] when the database is newer than this release; pool and statement
/// errors.
pub async fn migrate(pool: &Pool) -> Result<(), PgError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tap_schema (
             version    bigint      PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let found: i64 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM tap_schema", &[])
        .await?
        .try_get(0)?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if found > supported {
        // Released now rather than when the connection next runs a statement.
        tx.rollback().await?;
        return Err(PgError::Schema { found, supported });
    }
    for (version, migration) in (1_i64..).zip(MIGRATIONS).skip_while(|(v, _)| *v <= found) {
        tx.batch_execute(migration).await?;
        tx.execute("INSERT INTO tap_schema (version) VALUES ($1)", &[&version])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One tenant's pass records, policy and outbox in a PostgreSQL database shared by any number
/// of service instances. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    tenant: Arc<str>,
    horizon_wait: std::time::Duration,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("tenant", &self.tenant)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The store of `tenant` (the directory's tenant id or domain: any printable text up to
    /// [`MAX_TENANT_LEN`] bytes) over `pool`. Run [`migrate`] first.
    ///
    /// # Errors
    ///
    /// [`PgError::Tenant`].
    pub fn new(pool: Pool, tenant: &str) -> Result<Self, PgError> {
        if tenant.is_empty()
            || tenant.len() > MAX_TENANT_LEN
            || tenant.chars().any(char::is_control)
        {
            return Err(PgError::Tenant(tenant.chars().take(64).collect()));
        }
        Ok(Self {
            pool,
            tenant: tenant.into(),
            horizon_wait: outbox::DEFAULT_HORIZON_WAIT,
        })
    }

    /// How long a read of the outbox waits, at most, for the transactions running when it
    /// began to end, so that it serves what committed before it (a second by default). Past
    /// it, the read serves what it can number, and the events of transactions that began
    /// after one still running wait for a later read: none is skipped (the `outbox` module's
    /// documentation has the order).
    #[must_use]
    pub const fn with_horizon_wait(mut self, wait: std::time::Duration) -> Self {
        self.horizon_wait = wait;
        self
    }

    /// The tenant this store reads and writes.
    #[must_use]
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The pool.
    #[must_use]
    pub const fn pool(&self) -> &Pool {
        &self.pool
    }
}

fn version_of(v: i64) -> Result<Version, PgError> {
    Version::from_i64(v).ok_or_else(|| PgError::Corrupt(format!("negative version {v}")))
}

fn sql_version(v: Version) -> Result<i64, PgError> {
    v.to_i64()
        .ok_or_else(|| PgError::Corrupt(format!("version {v} too large for a 64-bit column")))
}

fn sql_sequence(s: Sequence) -> i64 {
    // Beyond i64::MAX there is nothing stored: reading after it reads nothing, pruning before
    // it prunes everything.
    s.to_i64().unwrap_or(i64::MAX)
}

fn decode<T: serde::de::DeserializeOwned>(
    version: Option<i64>,
    document: Option<String>,
) -> Result<Option<Versioned<T>>, PgError> {
    match (version, document) {
        (Some(v), Some(json)) => Ok(Some(Versioned::new(
            version_of(v)?,
            serde_json::from_str(&json)?,
        ))),
        (None, None) => Ok(None),
        _ => Err(PgError::Corrupt("a version without a document".into())),
    }
}

const LOAD: &str = "
    SELECT p.version, p.document, r.version, r.record
    FROM (SELECT $1::text AS tenant) t
    LEFT JOIN tap_policy p ON p.tenant = t.tenant
    LEFT JOIN tap_passes r ON r.tenant = t.tenant AND r.user_id = $2";

const LOAD_POLICY: &str = "SELECT version, document FROM tap_policy WHERE tenant = $1";

/// The user's lock for a decision judged again: transaction-scoped, so it ends with the
/// transaction whatever happens. Tenants and user ids hold no control character, so U+001F
/// separates them without ambiguity; two users whose keys collide only wait for each other.
/// The connection option that makes READ COMMITTED the default isolation of a connection's
/// transactions, a single statement's own included: the store's conditional writes are
/// designed for it. Under a stricter default (REPEATABLE READ, SERIALIZABLE, set on the
/// server or the role) a write that met a concurrent one would fail with a serialization
/// error instead of deciding.
pub const READ_COMMITTED: &str = "-c default_transaction_isolation=read\\ committed";

/// Every transaction the store opens names its isolation level, rather than inherit the
/// server's or the role's default: READ COMMITTED, which the design needs and no more (each
/// statement sees what committed before it; the user is held by the advisory lock and the
/// row's `FOR UPDATE`, and every change is a conditional statement whose returned row
/// decides). Under REPEATABLE READ or SERIALIZABLE a default could make the re-judging
/// transaction fail with serialization errors instead of waiting for the lock.
pub(crate) const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

const LOCK_USER: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 0))";

/// The user's row, held until the transaction ends: every statement that would change it
/// waits, and then finds what it expected gone.
const LOCK_ROW: &str = "SELECT 1 FROM tap_passes WHERE tenant = $1 AND user_id = $2 FOR UPDATE";

/// A change's statement, without events and with them.
struct Sql {
    /// `changed` alone: a conditional statement returning the version it left (its row, or
    /// none).
    plain: String,
    /// `changed` with the statement that appends its events (the last parameter, a `text[]`)
    /// in the same statement, with the transaction's id and no number yet (the reader numbers
    /// them: [`outbox`]). No event is written without the row, nor the row without its events,
    /// and no writer waits for another's events.
    with_events: String,
}

/// The statements of `changed`, whose events, when it has some, are parameter `$events`.
fn statements(changed: &str, events: usize) -> Sql {
    build(changed, events, None, outbox::Key::Transaction)
}

/// The statements of `changed`, a change (or hold) of a pass's row that returns `version` and
/// `key` (the order key its events take, [`outbox::Key::Chained`]), with `ending`, when given,
/// a data-modifying statement that runs in the same statement when `changed` returned its row
/// (a pass deleted or replaced ends its sessions).
fn pass_statements(changed: &str, events: usize, ending: Option<&str>) -> Sql {
    build(changed, events, ending, outbox::Key::Chained)
}

/// The two statements of `changed` (see [`Sql`]), its events under `key`.
fn build(changed: &str, events: usize, ending: Option<&str>, key: outbox::Key) -> Sql {
    let ending = ending.map_or_else(String::new, |e| {
        format!("ended AS ({e} AND EXISTS (SELECT 1 FROM changed)),")
    });
    Sql {
        plain: if ending.is_empty() {
            changed.to_owned()
        } else {
            format!(
                "WITH changed AS ({changed}), {} SELECT version FROM changed",
                ending.trim_end_matches(',')
            )
        },
        with_events: format!(
            "WITH changed AS ({changed}), {ending}
             {}
             SELECT version FROM changed",
            outbox::append(events, key)
        ),
    }
}

/// The policy version a record change was judged under, `IS NOT DISTINCT FROM` so that "no
/// policy stored" (NULL) matches an expectation of none.
macro_rules! policy_is {
    ($n:literal) => {
        concat!(
            "(SELECT version FROM tap_policy WHERE tenant = $1) IS NOT DISTINCT FROM $",
            $n,
            "::bigint"
        )
    };
}

/// The row's order key for its change's events (`outbox::Key`): the greater of the one its
/// last change gave and this transaction's id.
macro_rules! next_key {
    () => {
        "GREATEST(event_xid, pg_current_xact_id())"
    };
}

/// The row's change keeps `next_key!`'s key for the next change.
macro_rules! chain {
    () => {
        concat!("event_xid = ", next_key!())
    };
}

/// A new record: `$3` pass id, `$4` record, `$5` policy version, `$6` events.
static INSERT: LazyLock<Sql> = LazyLock::new(|| {
    pass_statements(
        concat!(
            "INSERT INTO tap_passes (tenant, user_id, pass_id, version, record, event_xid)
             SELECT $1, $2, $3, 1, $4, pg_current_xact_id() WHERE ",
            policy_is!(5),
            " ON CONFLICT (tenant, user_id) DO NOTHING RETURNING version, event_xid AS key"
        ),
        6,
        None,
    )
});

/// The exact record read replaced: `$3` new pass id, `$4` record, `$5` pass id read, `$6`
/// version read, `$7` policy version, `$8` events.
static REPLACE_EXACTLY: LazyLock<Sql> = LazyLock::new(|| {
    pass_statements(
        concat!(
            "UPDATE tap_passes SET pass_id = $3, version = version + 1, record = $4, ",
            chain!(),
            " WHERE tenant = $1 AND user_id = $2 AND pass_id = $5 AND version = $6 AND ",
            policy_is!(7),
            " RETURNING version, event_xid AS key"
        ),
        8,
        None,
    )
});

/// The registration sessions of the user's other passes than `$3` (SPEC 8.4), ended in the
/// statement that replaces or deletes the pass.
const END_SESSIONS: &str = "DELETE FROM tap_ceremonies
    WHERE tenant = $1 AND user_id = $2 AND kind = 'registration' AND pass_id IS DISTINCT FROM $3";

/// As [`REPLACE_EXACTLY`], for a record of another pass than the one read: the sessions of the
/// pass read end with it.
static REPLACE_EXACTLY_ENDING: LazyLock<Sql> = LazyLock::new(|| {
    pass_statements(
        concat!(
            "UPDATE tap_passes SET pass_id = $3, version = version + 1, record = $4, ",
            chain!(),
            " WHERE tenant = $1 AND user_id = $2 AND pass_id = $5 AND version = $6 AND ",
            policy_is!(7),
            " RETURNING version, event_xid AS key"
        ),
        8,
        Some(END_SESSIONS),
    )
});

/// A pass replaced whatever its version: `$3` new pass id, `$4` record, `$5` pass id read, `$6`
/// policy version, `$7` events. The sessions of the pass replaced end with it.
static REPLACE_PASS: LazyLock<Sql> = LazyLock::new(|| {
    pass_statements(
        concat!(
            "UPDATE tap_passes SET pass_id = $3, version = version + 1, record = $4, ",
            chain!(),
            " WHERE tenant = $1 AND user_id = $2 AND pass_id = $5 AND ",
            policy_is!(6),
            " RETURNING version, event_xid AS key"
        ),
        7,
        Some(END_SESSIONS),
    )
});

/// A deletion, whatever the version and the policy: `$3` pass id, `$4` events. Its sessions
/// end with it (`END_SESSIONS` keeps those of no pass: `$3` is the pass deleted, so the
/// condition is on the kind alone).
static REMOVE: LazyLock<Sql> = LazyLock::new(|| {
    pass_statements(
        concat!(
            "DELETE FROM tap_passes WHERE tenant = $1 AND user_id = $2 AND pass_id = $3
             RETURNING version, ",
            next_key!(),
            " AS key"
        ),
        4,
        Some(
            "DELETE FROM tap_ceremonies
             WHERE tenant = $1 AND user_id = $2 AND kind = 'registration'",
        ),
    )
});

/// The pass still stored, held against a deletion until the commit (`FOR KEY SHARE`: a
/// sign-in's update does not wait for it): `$3` pass id, `$4` events.
static KEEP: LazyLock<Sql> = LazyLock::new(|| {
    pass_statements(
        concat!(
            "SELECT version, ",
            next_key!(),
            " AS key
             FROM tap_passes WHERE tenant = $1 AND user_id = $2 AND pass_id = $3
             FOR KEY SHARE"
        ),
        4,
        None,
    )
});

/// The first policy: `$2` document, `$3` events.
static INSERT_POLICY: LazyLock<Sql> = LazyLock::new(|| {
    statements(
        "INSERT INTO tap_policy (tenant, version, document) VALUES ($1, 1, $2)
         ON CONFLICT (tenant) DO NOTHING RETURNING version",
        3,
    )
});

/// The policy replaced: `$2` document, `$3` version read, `$4` events.
static UPDATE_POLICY: LazyLock<Sql> = LazyLock::new(|| {
    statements(
        "UPDATE tap_policy SET version = version + 1, document = $2
         WHERE tenant = $1 AND version = $3 RETURNING version",
        4,
    )
});

/// A change's statement and its parameters after the tenant.
struct Statement {
    sql: &'static str,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

/// `sql`'s plain statement for a change without events, the one that appends them otherwise.
fn pick(sql: &'static Sql, events: bool) -> &'static str {
    if events { &sql.with_events } else { &sql.plain }
}

impl Statement {
    /// The statement that commits `commit`, or `None` for a change this release does not know
    /// (refused as a conflict) or a record held by another user than the change names.
    fn of(commit: &Commit) -> Result<Option<Self>, PgError> {
        let events: Vec<String> = commit
            .events
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        let evented = !events.is_empty();
        let (sql, mut params): (&'static Sql, Vec<Box<dyn ToSql + Sync + Send>>) =
            match &commit.change {
                Change::Put {
                    user,
                    expected,
                    record,
                } => {
                    if record.user() != user {
                        return Ok(None);
                    }
                    let policy = expected.policy.map(sql_version).transpose()?;
                    let head: Vec<Box<dyn ToSql + Sync + Send>> = vec![
                        Box::new(user.as_str().to_owned()),
                        Box::new(record.id().to_string()),
                        Box::new(serde_json::to_string(record)?),
                    ];
                    match expected.record {
                        Held::Nothing => (&INSERT, push(head, [Box::new(policy)])),
                        Held::Exactly(stamp) => (
                            if stamp.pass == *record.id() {
                                &REPLACE_EXACTLY
                            } else {
                                &REPLACE_EXACTLY_ENDING
                            },
                            push(
                                head,
                                [
                                    Box::new(stamp.pass.to_string()),
                                    Box::new(sql_version(stamp.version)?),
                                    Box::new(policy),
                                ],
                            ),
                        ),
                        Held::Pass(pass) => (
                            &REPLACE_PASS,
                            push(head, [Box::new(pass.to_string()), Box::new(policy)]),
                        ),
                        _ => return Ok(None),
                    }
                }
                Change::Remove { user, pass } => (
                    &REMOVE,
                    vec![
                        Box::new(user.as_str().to_owned()),
                        Box::new(pass.to_string()),
                    ],
                ),
                Change::Keep { user, pass } => (
                    &KEEP,
                    vec![
                        Box::new(user.as_str().to_owned()),
                        Box::new(pass.to_string()),
                    ],
                ),
                Change::Policy { expected, policy } => {
                    let document = serde_json::to_string(policy)?;
                    match expected {
                        None => (&INSERT_POLICY, vec![Box::new(document)]),
                        Some(v) => (
                            &UPDATE_POLICY,
                            vec![Box::new(document), Box::new(sql_version(*v)?)],
                        ),
                    }
                }
                _ => return Ok(None),
            };
        if evented {
            params.push(Box::new(events));
        }
        Ok(Some(Self {
            sql: pick(sql, evented),
            params,
        }))
    }
}

fn push<const N: usize>(
    mut head: Vec<Box<dyn ToSql + Sync + Send>>,
    tail: [Box<dyn ToSql + Sync + Send>; N],
) -> Vec<Box<dyn ToSql + Sync + Send>> {
    head.extend(tail);
    head
}

/// What a change's statement returned: the version it left, or none (a conflict).
fn written(row: Option<&tokio_postgres::Row>) -> Result<Write, PgError> {
    match row {
        Some(row) => Ok(Write::Written(version_of(row.try_get(0)?)?)),
        None => Ok(Write::Conflict),
    }
}

/// A pooled connection inside a transaction this store opened. Unless the transaction ended
/// cleanly ([`HeldConnection::finish`]), dropping it closes the connection instead of returning it to
/// the pool: the server then rolls the transaction back and frees its lock, and no later user
/// of the pool inherits an open transaction.
struct HeldConnection {
    client: Option<Object>,
}

impl HeldConnection {
    fn client(&self) -> &Object {
        // Present until `finish` consumes `self`.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken only by finish"))
    }

    /// The transaction ended (committed, or rolled back by the server): back to the pool.
    fn finish(mut self) {
        drop(self.client.take());
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

impl PgStore {
    async fn load_on(&self, client: &Object, user: &UserId) -> Result<Loaded, PgError> {
        let statement = client.prepare_cached(LOAD).await?;
        let row = client
            .query_one(&statement, &[&&*self.tenant, &user.as_str()])
            .await?;
        Ok(Loaded::new(
            decode(row.try_get(0)?, row.try_get(1)?)?,
            decode(row.try_get(2)?, row.try_get(3)?)?,
        ))
    }

    /// Runs `commit`'s statement on `client` (in or out of a transaction).
    async fn apply(&self, client: &Object, commit: &Commit) -> Result<Write, PgError> {
        let Some(statement) = Statement::of(commit)? else {
            return Ok(Write::Conflict);
        };
        let prepared = client.prepare_cached(statement.sql).await?;
        let tenant: &str = &self.tenant;
        let params = params(&tenant, &statement);
        written(client.query_opt(&prepared, &params).await?.as_ref())
    }
}

/// The tenant, then the statement's own parameters.
fn params<'a>(tenant: &'a &'a str, statement: &'a Statement) -> Vec<&'a (dyn ToSql + Sync)> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![tenant];
    params.extend(statement.params.iter().map(|p| &**p as &(dyn ToSql + Sync)));
    params
}

impl AsyncStore for PgStore {
    type Error = PgError;

    async fn load(&self, user: &UserId) -> Result<Loaded, PgError> {
        let client = self.pool.get().await?;
        self.load_on(&client, user).await
    }

    async fn load_policy(&self) -> Result<Option<Versioned<Policy>>, PgError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(LOAD_POLICY).await?;
        match client.query_opt(&statement, &[&&*self.tenant]).await? {
            Some(row) => decode(row.try_get(0)?, row.try_get(1)?),
            None => Ok(None),
        }
    }

    async fn commit(&self, commit: &Commit) -> Result<Write, PgError> {
        if let Some(written) = self.apply_onboarding(commit).await? {
            return Ok(written);
        }
        let client = self.pool.get().await?;
        self.apply(&client, commit).await
    }

    /// Judges a first read without any lock or transaction: a decision that writes nothing
    /// returns at once, having written nothing. A decision that writes commits in one
    /// statement, as [`AsyncStore::commit`] does. If what it read changed meanwhile, it is
    /// judged again in a transaction that holds the user: the user's advisory lock (so that
    /// decisions about a user without a row queue too) and the row's own lock (`FOR UPDATE`,
    /// so that no other statement can change it), then a fresh read, the decision, its
    /// statement and `COMMIT`. Nothing can change the record in between, so its change cannot
    /// conflict; only a policy change landing meanwhile can, and the engine then judges again.
    /// The statements of each step are pipelined.
    async fn transact(
        &self,
        user: &UserId,
        decide: &mut DecideSend<'_>,
    ) -> Result<Option<Write>, PgError> {
        let Some(commit) = decide(self.load(user).await?) else {
            return Ok(None);
        };
        let client = self.pool.get().await?;
        let first = self.apply(&client, &commit).await?;
        if let Write::Written(_) = first {
            return Ok(Some(first));
        }
        let held = HeldConnection {
            client: Some(client),
        };
        let client = held.client();
        let (lock_user, lock_row) = futures_util::future::join(
            client.prepare_cached(LOCK_USER),
            client.prepare_cached(LOCK_ROW),
        )
        .await;
        let (lock_user, lock_row) = (lock_user?, lock_row?);
        let tenant: &str = &self.tenant;
        let user_param: [&(dyn ToSql + Sync); 2] = [&tenant, &user.as_str()];
        let (begun, user_locked, row_locked, read) = join4(
            client.batch_execute(BEGIN),
            client.execute(&lock_user, &user_param),
            client.execute(&lock_row, &user_param),
            self.load_on(client, user),
        )
        .await;
        begun?;
        user_locked?;
        row_locked?;
        let answer = match decide(read?) {
            Some(commit) => match Statement::of(&commit)? {
                Some(statement) => {
                    let prepared = client.prepare_cached(statement.sql).await?;
                    let params = params(&tenant, &statement);
                    let (row, committed) = futures_util::future::join(
                        client.query_opt(&prepared, &params),
                        client.batch_execute("COMMIT"),
                    )
                    .await;
                    let written = written(row?.as_ref())?;
                    committed?;
                    held.finish();
                    return Ok(Some(written));
                }
                None => Some(Write::Conflict),
            },
            None => None,
        };
        client.batch_execute("COMMIT").await?;
        held.finish();
        Ok(answer)
    }

    /// Numbers the events of the transactions that have ended, then reads by number (the
    /// `outbox` module has the order, and the wait for the horizon).
    async fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, PgError> {
        self.read_outbox(after, limit).await
    }

    async fn prune_events(&self, before: Sequence) -> Result<u64, PgError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached("DELETE FROM tap_events WHERE tenant = $1 AND seq < $2")
            .await?;
        Ok(client
            .execute(&statement, &[&&*self.tenant, &sql_sequence(before)])
            .await?)
    }

    async fn load_methods(
        &self,
        user: &UserId,
    ) -> Result<Vec<Versioned<RegisteredMethod>>, PgError> {
        let client = self.pool.get().await?;
        self.load_methods_on(&client, user).await
    }

    async fn load_ceremony(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Option<Versioned<Ceremony>>, PgError> {
        let client = self.pool.get().await?;
        self.load_ceremony_on(&client, user, id).await
    }

    async fn prune_ceremonies(&self, now: UtcDateTime) -> Result<u64, PgError> {
        self.prune_ceremonies_at(now).await
    }

    /// The record, the methods and the ceremony on one connection, pipelined. Each read is a
    /// snapshot of its own; every change checks again what it expects.
    async fn load_with(&self, read: &Read) -> Result<Loaded, PgError> {
        let client = self.pool.get().await?;
        let methods = async {
            if read.methods {
                self.load_methods_on(&client, &read.user).await
            } else {
                Ok(Vec::new())
            }
        };
        let ceremony = async {
            match &read.ceremony {
                Some(id) => self.load_ceremony_on(&client, &read.user, id).await,
                None => Ok(None),
            }
        };
        let (loaded, methods, ceremony) =
            futures_util::future::join3(self.load_on(&client, &read.user), methods, ceremony).await;
        let mut loaded = loaded?;
        loaded.methods = methods?;
        loaded.ceremony = ceremony?;
        Ok(loaded)
    }
}

// The README's example compiles as a doctest, so the two cannot drift apart.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

// So do the workspace README's: its quick start, and its PostgreSQL set-up, which needs this
// crate (the library's own doctests can't see it).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod workspace_readme {}
