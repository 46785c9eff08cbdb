//! The embedded persistent store for `temporary-access-pass`: pass records and the policy in
//! one SQLite file, with the conditional writes the crate's [`Store`] trait asks for.
//!
//! - Records are rows of `tap_passes` with a version column, one per user; the policy is the
//!   one row of `tap_policy`, kept as Graph's JSON; the outbox is `tap_events`, one row per
//!   audit event, numbered in commit order. [`SqliteStore::open`] creates them (the schema is
//!   [`SCHEMA`]) or brings a file of an older schema up to date.
//! - Every change is one conditional statement in a write transaction taken up front (`BEGIN
//!   IMMEDIATE`), with its events inserted in the same transaction: an `INSERT ... WHERE
//!   <policy version> ... ON CONFLICT DO NOTHING`, an `UPDATE ... WHERE user_id = ? AND
//!   pass_id = ? [AND version = ?] AND <policy version>`, or a deletion's `DELETE ... WHERE
//!   user_id = ? AND pass_id = ? RETURNING version`; exactly one changed row is a write, none
//!   a conflict. There is no read-then-write.
//! - A decision that writes is judged again under the write lock when its first commit meets
//!   a conflict ([`Store::transact`]), so no stream of attempts makes it give up; a decision
//!   that writes nothing (a refusal) takes no lock at all and writes nothing to the file.
//! - The database runs in WAL mode with `synchronous=FULL`: a committed write (a one-time pass
//!   consumed, a wrong code counted) survives a power loss. This process's writers queue for
//!   the write lock first come first served; a connection that finds the database locked by
//!   another process waits in SQLite's sleeps, never spinning, up to the busy timeout
//!   ([`SqliteOptions`], 5 seconds by default), then fails with [`SqliteError::Busy`].
//! - Connections are pooled per store and opened on demand, so threads (and async tasks run on
//!   blocking threads) each get one.
//!
//! Several processes may share one file: SQLite's locking serializes their writes, and every
//! write is conditional, so the guarantees of the crate hold across processes exactly as across
//! threads. See the README for the set-up.
//!
//! ```
//! use temporary_access_pass::{Engine, EngineConfig, Pepper, SystemClock};
//! use temporary_access_pass_sqlite::SqliteStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("passes.db"))?;
//! let engine = Engine::new(SystemClock::new(), store, EngineConfig::new(Pepper::new(&[7; 32])?));
//! assert!(!engine.policy()?.is_enabled(), "a new database holds the default policy: disabled");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use temporary_access_pass::ceremony::{Ceremony, CeremonyId};
use temporary_access_pass::method::RegisteredMethod;
use temporary_access_pass::store::{
    Change, Commit, Decide, Expected, Held, Loaded, Read, Recorded, Sequence, Store, Version,
    Versioned, Write, epoch_nanos,
};
use temporary_access_pass::time::UtcDateTime;
use temporary_access_pass::{Event, Policy, TemporaryAccessPass, UserId};

mod onboarding;

/// The store's schema: pass records with their version, one row per user, the policy row, and
/// the outbox of audit events. [`SqliteStore::open`] applies it to a new file;
/// `user_version` says which schema a file holds.
pub const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS tap_passes (
        user_id TEXT PRIMARY KEY,
        pass_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        record  TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tap_policy (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        version  INTEGER NOT NULL CHECK (version > 0),
        document TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tap_events (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        event TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS tap_methods (
        user_id  TEXT NOT NULL,
        id       TEXT NOT NULL,
        version  INTEGER NOT NULL CHECK (version > 0),
        document TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    );
    CREATE TABLE IF NOT EXISTS tap_ceremonies (
        user_id  TEXT NOT NULL,
        id       TEXT NOT NULL,
        kind     TEXT NOT NULL,
        pass_id  TEXT,
        expires  INTEGER NOT NULL,
        version  INTEGER NOT NULL CHECK (version > 0),
        document TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    );
    CREATE INDEX IF NOT EXISTS tap_ceremonies_expires ON tap_ceremonies (expires);
    PRAGMA user_version = 3;";

/// What brings a file of schema 2 (records, policy, outbox) to [`SCHEMA_VERSION`]: the
/// registered methods and the ceremonies of SPEC 8.4.
const SCHEMA_2_TO_3: &str = "
    CREATE TABLE tap_methods (
        user_id  TEXT NOT NULL,
        id       TEXT NOT NULL,
        version  INTEGER NOT NULL CHECK (version > 0),
        document TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    );
    CREATE TABLE tap_ceremonies (
        user_id  TEXT NOT NULL,
        id       TEXT NOT NULL,
        kind     TEXT NOT NULL,
        pass_id  TEXT,
        expires  INTEGER NOT NULL,
        version  INTEGER NOT NULL CHECK (version > 0),
        document TEXT NOT NULL,
        PRIMARY KEY (user_id, id)
    );
    CREATE INDEX tap_ceremonies_expires ON tap_ceremonies (expires);
    PRAGMA user_version = 3;";

/// What brings a file of schema 1 (records and policy, no outbox) to [`SCHEMA_VERSION`].
const SCHEMA_1_TO_2: &str = "
    CREATE TABLE tap_events (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        event TEXT NOT NULL
    );
    PRAGMA user_version = 2;";

/// The schema version [`SCHEMA`] writes to `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 3;

/// Why the store could not read or write. The engine denies on any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite refused or failed (the file is locked past the wait, the disk is full...).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document does not decode: a record or policy that breaks the crate's rules.
    #[error("a stored document does not decode: {0}")]
    Document(#[from] serde_json::Error),
    /// A stored value is out of the store's own rules (a negative version, two rows changed).
    #[error("the database holds what this store never writes: {0}")]
    Corrupt(String),
    /// The database stayed locked by other writers for longer than the store's busy timeout
    /// ([`SqliteStore::open_with`]): nothing was read or written.
    #[error("the database stayed locked for {0:?}, the store's busy timeout")]
    Busy(Duration),
    /// The file holds another schema than this version of the store writes: opened by a newer
    /// release, or not a pass database at all.
    #[error("the database's schema version is {found}: this store reads 0 (new) to {supported}")]
    Schema {
        /// The file's `PRAGMA user_version`.
        found: i64,
        /// [`SCHEMA_VERSION`].
        supported: i64,
    },
}

/// How many compiled statements a connection keeps: more than the store runs (26 today).
const STATEMENTS_CACHED: usize = 64;

/// A store backed by one SQLite file.
///
/// Writers of this process queue for SQLite's write lock behind a fair lock of the store's
/// own, first come first served, instead of each polling SQLite for it: under a stream of
/// writes (a burst of sign-ins) an operation waits its turn rather than losing every race for
/// the lock to whoever polls at the right moment. Writers in other processes still meet at
/// SQLite's own lock, and wait for it as [`SqliteStore::open`] says.
pub struct SqliteStore {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    writers: parking_lot::FairMutex<()>,
    busy_timeout: Duration,
}

/// How a [`SqliteStore`] waits for a database other writers hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The longest a call waits for the write lock, first in this process's queue, then for
    /// SQLite's own lock (held by another process), before it fails with
    /// [`SqliteError::Busy`]. SQLite waits in sleeps of growing length, never spinning.
    pub busy_timeout: Duration,
}

impl SqliteOptions {
    /// The default busy timeout: 5 seconds.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// The defaults.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
        }
    }

    /// Sets the busy timeout.
    #[must_use]
    pub const fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file and the schema if needed, and bringing
    /// a file of an older schema up to date. Several stores, in one process or several, may
    /// open the same file.
    ///
    /// # Errors
    ///
    /// [`SqliteError::Sqlite`] when the file can't be opened or the schema applied;
    /// [`SqliteError::Schema`] when it holds a newer schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SqliteError> {
        Self::open_with(path, SqliteOptions::new())
    }

    /// As [`SqliteStore::open`], with `options`.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`]; [`SqliteError::Busy`] when another process holds the file
    /// locked past the busy timeout.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, SqliteError> {
        let store = Self {
            path: path.as_ref().to_path_buf(),
            idle: Mutex::new(Vec::new()),
            writers: parking_lot::FairMutex::new(()),
            busy_timeout: options.busy_timeout,
        };
        // Checked and applied in one write transaction, so two processes opening a new file at
        // once both see the schema whole.
        store.in_write_transaction(|tx| {
            let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            match found {
                0 => tx.execute_batch(SCHEMA)?,
                1 => {
                    tx.execute_batch(SCHEMA_1_TO_2)?;
                    tx.execute_batch(SCHEMA_2_TO_3)?;
                }
                2 => tx.execute_batch(SCHEMA_2_TO_3)?,
                SCHEMA_VERSION => {}
                found => {
                    return Err(SqliteError::Schema {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<Connection, SqliteError> {
        let conn = Connection::open(&self.path)?;
        // SQLite's own handler: it sleeps (1, 2, 5... up to 100 ms at a time), it does not
        // spin, and it gives up after the timeout. This process's writers queue before it.
        conn.busy_timeout(self.busy_timeout)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Every statement the store runs stays compiled: rusqlite's default of 16 is fewer than
        // the store's statements, and a statement evicted is parsed and planned again.
        conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        Ok(conn)
    }

    /// Runs `f` on a pooled connection (a new one when none is idle), then returns it to the
    /// pool.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, SqliteError>,
    ) -> Result<T, SqliteError> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = f(&mut conn);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result
    }

    /// Runs `f` in a write transaction taken up front (`BEGIN IMMEDIATE`), so the rows it
    /// checks are the latest committed ones and nobody else writes until it ends, and commits
    /// it when `f` succeeds (an error rolls it back).
    fn in_write_transaction<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, SqliteError>,
    ) -> Result<T, SqliteError> {
        self.with(|c| {
            let _turn = self
                .writers
                .try_lock_for(self.busy_timeout)
                .ok_or(SqliteError::Busy(self.busy_timeout))?;
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| busy_or(e, self.busy_timeout))?;
            let result = f(&tx)?;
            tx.commit()?;
            Ok(result)
        })
    }

    /// A pragma's value on a connection of this store, as text (for checks and diagnostics).
    ///
    /// # Errors
    ///
    /// [`SqliteError::Sqlite`].
    pub fn pragma(&self, name: &str) -> Result<String, SqliteError> {
        self.with(|c| {
            Ok(c.query_row(&format!("PRAGMA {name}"), [], |r| {
                r.get::<_, rusqlite::types::Value>(0)
            })
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })?)
        })
    }
}

/// SQLite's "database is locked" as [`SqliteError::Busy`]; anything else as it is.
fn busy_or(error: rusqlite::Error, timeout: Duration) -> SqliteError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            SqliteError::Busy(timeout)
        }
        _ => SqliteError::Sqlite(error),
    }
}

fn version_of(v: i64) -> Result<Version, SqliteError> {
    Version::from_i64(v).ok_or_else(|| SqliteError::Corrupt(format!("negative version {v}")))
}

fn sql_version(v: Version) -> Result<i64, SqliteError> {
    v.to_i64()
        .ok_or_else(|| SqliteError::Corrupt(format!("version {v} too large for a 64-bit column")))
}

fn sql_sequence(s: Sequence) -> i64 {
    // Beyond i64::MAX there is nothing stored: reading after it reads nothing, pruning before
    // it prunes everything.
    s.to_i64().unwrap_or(i64::MAX)
}

/// `Written(next)` when exactly one row changed, `Conflict` when none did.
fn one_row(changed: usize, next: Version) -> Result<Write, SqliteError> {
    u64::try_from(changed)
        .ok()
        .and_then(|rows| Write::from_changed_rows(rows, next))
        .ok_or_else(|| {
            SqliteError::Corrupt(format!("{changed} rows changed where one was expected"))
        })
}

/// The version a statement's `RETURNING version` gave, or a conflict when it returned no row.
fn returned(version: Option<i64>) -> Result<Write, SqliteError> {
    version.map_or(Ok(Write::Conflict), |v| Ok(Write::Written(version_of(v)?)))
}

/// The policy's version, compared with `IS` so that "no policy" (NULL) matches NULL.
const POLICY_IS: &str = "(SELECT version FROM tap_policy WHERE id = 1) IS";

type Row = (Option<i64>, Option<String>, Option<i64>, Option<String>);

/// The policy and `user`'s record, in one statement, so one snapshot.
fn load_on(conn: &Connection, user: &UserId) -> Result<Loaded, SqliteError> {
    let row: Row = conn
        .prepare_cached(
            "SELECT p.version, p.document, r.version, r.record
             FROM (SELECT 1)
             LEFT JOIN tap_policy p ON p.id = 1
             LEFT JOIN tap_passes r ON r.user_id = ?1",
        )?
        .query_row(params![user.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let policy = match (row.0, row.1) {
        // The document is Graph's JSON; decoding validates it like any policy.
        (Some(v), Some(json)) => Some(Versioned::new(version_of(v)?, serde_json::from_str(&json)?)),
        _ => None,
    };
    let record = match (row.2, row.3) {
        (Some(v), Some(json)) => Some(Versioned::new(version_of(v)?, serde_json::from_str(&json)?)),
        _ => None,
    };
    Ok(Loaded::new(policy, record))
}

/// A record put, conditional on `expected`.
fn put(
    tx: &rusqlite::Transaction<'_>,
    user: &UserId,
    expected: &Expected,
    record: &TemporaryAccessPass,
) -> Result<Write, SqliteError> {
    let policy = expected.policy.map(sql_version).transpose()?;
    let json = serde_json::to_string(record)?;
    Ok(match expected.record {
        _ if record.user() != user => Write::Conflict,
        Held::Nothing => {
            let changed = tx
                .prepare_cached(&format!(
                    "INSERT INTO tap_passes (user_id, pass_id, version, record)
                     SELECT ?1, ?2, 1, ?3 WHERE {POLICY_IS} ?4
                     ON CONFLICT (user_id) DO NOTHING"
                ))?
                .execute(params![
                    user.as_str(),
                    record.id().to_string(),
                    json,
                    policy
                ])?;
            one_row(changed, Version::FIRST)?
        }
        Held::Exactly(stamp) => {
            let changed = tx
                .prepare_cached(&format!(
                    "UPDATE tap_passes SET pass_id = ?1, version = ?2, record = ?3
                     WHERE user_id = ?4 AND pass_id = ?5 AND version = ?6
                       AND {POLICY_IS} ?7"
                ))?
                .execute(params![
                    record.id().to_string(),
                    sql_version(stamp.version.next())?,
                    json,
                    user.as_str(),
                    stamp.pass.to_string(),
                    sql_version(stamp.version)?,
                    policy,
                ])?;
            one_row(changed, stamp.version.next())?
        }
        Held::Pass(pass) => returned(
            tx.prepare_cached(&format!(
                "UPDATE tap_passes SET pass_id = ?1, version = version + 1, record = ?2
                 WHERE user_id = ?3 AND pass_id = ?4 AND {POLICY_IS} ?5
                 RETURNING version"
            ))?
            .query_row(
                params![
                    record.id().to_string(),
                    json,
                    user.as_str(),
                    pass.to_string(),
                    policy
                ],
                |r| r.get(0),
            )
            .optional()?,
        )?,
        // An expectation this release does not know: refused, nothing written.
        _ => Write::Conflict,
    })
}

/// The policy, conditional on the version read.
fn put_policy(
    tx: &rusqlite::Transaction<'_>,
    expected: Option<Version>,
    policy: &Policy,
) -> Result<Write, SqliteError> {
    let json = serde_json::to_string(policy)?;
    Ok(match expected {
        None => {
            let changed = tx
                .prepare_cached(
                    "INSERT INTO tap_policy (id, version, document) VALUES (1, 1, ?1)
                     ON CONFLICT (id) DO NOTHING",
                )?
                .execute(params![json])?;
            one_row(changed, Version::FIRST)?
        }
        Some(v) => {
            let changed = tx
                .prepare_cached(
                    "UPDATE tap_policy SET version = ?1, document = ?2
                     WHERE id = 1 AND version = ?3",
                )?
                .execute(params![sql_version(v.next())?, json, sql_version(v)?])?;
            one_row(changed, v.next())?
        }
    })
}

/// Applies `commit` in the write transaction `tx`: its conditional statement, and its events
/// if the statement changed the row it expected.
fn apply(tx: &rusqlite::Transaction<'_>, commit: &Commit) -> Result<Write, SqliteError> {
    let written = match &commit.change {
        Change::Put {
            user,
            expected,
            record,
        } => put(tx, user, expected, record)?,
        // Whatever the version and the policy: what a deletion was judged on is the pass id.
        Change::Remove { user, pass } => returned(
            tx.prepare_cached(
                "DELETE FROM tap_passes WHERE user_id = ?1 AND pass_id = ?2 RETURNING version",
            )?
            .query_row(params![user.as_str(), pass.to_string()], |r| r.get(0))
            .optional()?,
        )?,
        // The write lock is held until the transaction ends: the pass stays what this read.
        Change::Keep { user, pass } => returned(
            tx.prepare_cached(
                "SELECT version FROM tap_passes WHERE user_id = ?1 AND pass_id = ?2",
            )?
            .query_row(params![user.as_str(), pass.to_string()], |r| r.get(0))
            .optional()?,
        )?,
        Change::Policy { expected, policy } => put_policy(tx, *expected, policy)?,
        // A method or a ceremony; a change this release does not know is refused.
        other => onboarding::apply(tx, other)?.unwrap_or(Write::Conflict),
    };
    // Deleting a pass, or replacing it with another, ends its registration sessions.
    match (&commit.change, written) {
        (Change::Remove { user, .. }, Write::Written(_)) => {
            onboarding::end_sessions(tx, user, None)?;
        }
        (
            Change::Put {
                user,
                expected,
                record,
            },
            Write::Written(_),
        ) if replaces(expected, record) => {
            onboarding::end_sessions(tx, user, Some(&record.id().to_string()))?;
        }
        _ => {}
    }
    if let Write::Written(_) = written {
        append(tx, &commit.events)?;
    }
    Ok(written)
}

/// Whether a put that expects `expected` stores another pass than the one it expected (a
/// replacement), rather than the same pass at a new version (a sign-in).
fn replaces(expected: &Expected, record: &TemporaryAccessPass) -> bool {
    match expected.record {
        Held::Exactly(stamp) => stamp.pass != *record.id(),
        Held::Pass(pass) => pass != *record.id(),
        _ => false,
    }
}

/// Appends `events` to the outbox. `AUTOINCREMENT` numbers them above every number ever
/// used, and the write lock makes the numbers follow the order of commits.
fn append(tx: &rusqlite::Transaction<'_>, events: &[Event]) -> Result<(), SqliteError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached("INSERT INTO tap_events (event) VALUES (?1)")?;
    for event in events {
        insert.execute(params![serde_json::to_string(event)?])?;
    }
    Ok(())
}

impl Store for SqliteStore {
    type Error = SqliteError;

    fn load(&self, user: &UserId) -> Result<Loaded, SqliteError> {
        self.with(|c| load_on(c, user))
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, SqliteError> {
        let row: Option<(i64, String)> = self.with(|c| {
            Ok(
                c.prepare_cached("SELECT version, document FROM tap_policy WHERE id = 1")?
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?,
            )
        })?;
        row.map(|(v, json)| Ok(Versioned::new(version_of(v)?, serde_json::from_str(&json)?)))
            .transpose()
    }

    fn commit(&self, commit: &Commit) -> Result<Write, SqliteError> {
        self.in_write_transaction(|tx| apply(tx, commit))
    }

    /// Judges a first read without any lock: a decision that writes nothing (a refusal, a
    /// read) returns at once and writes nothing. A decision that writes takes the write lock
    /// (`BEGIN IMMEDIATE`) and commits; if what it read changed meanwhile, it is judged again
    /// on what is stored now, still under the lock, so its commit cannot conflict.
    fn transact(
        &self,
        user: &UserId,
        decide: &mut Decide<'_>,
    ) -> Result<Option<Write>, SqliteError> {
        let Some(commit) = decide(self.load(user)?) else {
            return Ok(None);
        };
        self.in_write_transaction(|tx| {
            let written = apply(tx, &commit)?;
            if let Write::Written(_) = written {
                return Ok(Some(written));
            }
            // Nobody else writes until this transaction ends: judge what is stored now.
            decide(load_on(tx, user)?)
                .map(|commit| apply(tx, &commit))
                .transpose()
        })
    }

    fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Recorded>, SqliteError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String)> = self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT seq, event FROM tap_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![sql_sequence(after), limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?)
        })?;
        rows.into_iter()
            .map(|(seq, json)| {
                let sequence = Sequence::from_i64(seq)
                    .ok_or_else(|| SqliteError::Corrupt(format!("negative sequence {seq}")))?;
                Ok(Recorded::new(sequence, serde_json::from_str(&json)?))
            })
            .collect()
    }

    fn prune_events(&self, before: Sequence) -> Result<u64, SqliteError> {
        let pruned = self.in_write_transaction(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM tap_events WHERE seq < ?1")?
                .execute(params![sql_sequence(before)])?)
        })?;
        Ok(u64::try_from(pruned).unwrap_or(u64::MAX))
    }

    fn load_methods(&self, user: &UserId) -> Result<Vec<Versioned<RegisteredMethod>>, SqliteError> {
        self.with(|c| onboarding::load_methods(c, user))
    }

    fn load_ceremony(
        &self,
        user: &UserId,
        id: &CeremonyId,
    ) -> Result<Option<Versioned<Ceremony>>, SqliteError> {
        self.with(|c| onboarding::load_ceremony(c, user, id))
    }

    fn prune_ceremonies(&self, now: UtcDateTime) -> Result<u64, SqliteError> {
        let pruned = self.in_write_transaction(|tx| {
            Ok(tx
                .prepare_cached("DELETE FROM tap_ceremonies WHERE expires <= ?1")?
                .execute(params![epoch_nanos(now)])?)
        })?;
        Ok(u64::try_from(pruned).unwrap_or(u64::MAX))
    }

    /// The record, the methods and the ceremony in one read transaction: one snapshot.
    fn load_with(&self, read: &Read) -> Result<Loaded, SqliteError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let mut loaded = load_on(&tx, &read.user)?;
            if read.methods {
                loaded.methods = onboarding::load_methods(&tx, &read.user)?;
            }
            if let Some(id) = &read.ceremony {
                loaded.ceremony = onboarding::load_ceremony(&tx, &read.user, id)?;
            }
            tx.finish()?;
            Ok(loaded)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{SqliteStore, Version, Write, one_row};

    #[test]
    fn debug_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tap.db");
        let store = SqliteStore::open(&path).unwrap();
        let shown = format!("{store:?}");
        assert!(shown.starts_with("SqliteStore {"), "{shown}");
        assert!(shown.contains(&format!("{path:?}")), "{shown}");
    }

    #[test]
    fn a_conditional_write_changing_no_row_is_a_conflict_not_an_error() {
        assert_eq!(one_row(0, Version::FIRST).unwrap(), Write::Conflict);
        assert_eq!(
            one_row(1, Version::FIRST).unwrap(),
            Write::Written(Version::FIRST)
        );
        assert!(one_row(2, Version::FIRST).is_err());
    }
}

// The README's example compiles as a doctest, so the two cannot drift apart.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}
