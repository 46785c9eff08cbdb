//! A `Store` on SQLite: records in a table with a version column, create-only inserts, and
//! conditional `UPDATE`/`DELETE` on the pass id and version that must change exactly one row.
//! Each thread gets its own connection to the file, as separate processes would.
//!
//! `cargo run --example sqlite_store --features serde,test-support` runs the store conformance
//! suite, races included, against a fresh database file. `cargo test --all-features` runs the
//! same suite through this file's tests.
#![allow(clippy::print_stdout, reason = "an example prints what it checked")]

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use temporary_access_pass::store::{Expected, Loaded, Store, Version, Versioned, Write};
use temporary_access_pass::testing::conformance;
use temporary_access_pass::{Policy, TemporaryAccessPass, UserId};

/// The store's own error: a message from SQLite or from decoding a row.
#[derive(Debug)]
pub struct SqliteError(String);

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sqlite store: {}", self.0)
    }
}

impl Error for SqliteError {}

impl From<rusqlite::Error> for SqliteError {
    fn from(e: rusqlite::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<serde_json::Error> for SqliteError {
    fn from(e: serde_json::Error) -> Self {
        Self(format!("bad stored document: {e}"))
    }
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS passes (
        user_id TEXT PRIMARY KEY,
        pass_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        record  TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS policy (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        version  INTEGER NOT NULL,
        document TEXT NOT NULL
    );";

thread_local! {
    /// One connection per thread and database file.
    static CONNECTIONS: RefCell<HashMap<PathBuf, Connection>> = RefCell::new(HashMap::new());
}

/// A store backed by one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    ///
    /// SQLite's error.
    pub fn open(path: &Path) -> Result<Self, SqliteError> {
        let store = Self {
            path: path.to_path_buf(),
        };
        store.with(|c| c.execute_batch(SCHEMA).map_err(SqliteError::from))?;
        Ok(store)
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, SqliteError>,
    ) -> Result<T, SqliteError> {
        CONNECTIONS.with(|cell| {
            let mut map = cell.borrow_mut();
            if !map.contains_key(&self.path) {
                let mut conn = Connection::open(&self.path)?;
                conn.busy_handler(Some(wait_for_the_lock))?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "FULL")?;
                map.insert(self.path.clone(), conn);
            }
            let conn = map
                .get_mut(&self.path)
                .ok_or_else(|| SqliteError("connection vanished".into()))?;
            f(conn)
        })
    }

    /// Runs one conditional statement in a write transaction taken up front (`BEGIN
    /// IMMEDIATE`), so the rows it checks are the latest committed ones, and returns how many
    /// rows it changed.
    fn conditional(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize, SqliteError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx.prepare_cached(sql)?.execute(params)?;
            tx.commit()?;
            Ok(changed)
        })
    }
}

/// SQLite's busy handler: the database is locked by another connection's write; wait a little
/// and try again, for up to about ten seconds. SQLite's own `busy_timeout` sleeps in steps of up
/// to 100 ms, far longer than a write holds the lock here (one small transaction), so under
/// contention it leaves the database idle most of the time.
fn wait_for_the_lock(retries: i32) -> bool {
    const YIELDS: i32 = 64;
    const MAX_RETRIES: i32 = 100_000;
    if retries < YIELDS {
        std::thread::yield_now();
    } else {
        std::thread::sleep(Duration::from_micros(100));
    }
    retries < MAX_RETRIES
}

fn version_of(v: i64) -> Result<Version, SqliteError> {
    u64::try_from(v)
        .map(Version::new)
        .map_err(|_| SqliteError(format!("negative version {v}")))
}

fn sql_version(v: Version) -> Result<i64, SqliteError> {
    i64::try_from(v.get()).map_err(|_| SqliteError(format!("version {v} too large for SQLite")))
}

fn sql_policy_version(v: Option<Version>) -> Result<Option<i64>, SqliteError> {
    v.map(sql_version).transpose()
}

/// `Written(next)` when exactly one row changed, `Conflict` when none did.
fn one_row(changed: usize, next: Version) -> Result<Write, SqliteError> {
    match changed {
        1 => Ok(Write::Written(next)),
        0 => Ok(Write::Conflict),
        n => Err(SqliteError(format!(
            "{n} rows changed where one was expected"
        ))),
    }
}

/// The policy's version, compared with `IS` so that "no policy" (NULL) matches NULL.
const POLICY_IS: &str = "(SELECT version FROM policy WHERE id = 1) IS";

impl Store for SqliteStore {
    type Error = SqliteError;

    fn load(&self, user: &UserId) -> Result<Loaded, SqliteError> {
        // One statement, one snapshot: the policy and the record as they were together.
        self.with(|c| {
            let row: (Option<i64>, Option<String>, Option<i64>, Option<String>) = c
                .prepare_cached(
                    "SELECT p.version, p.document, r.version, r.record
                     FROM (SELECT 1)
                     LEFT JOIN policy p ON p.id = 1
                     LEFT JOIN passes r ON r.user_id = ?1",
                )?
                .query_row(params![user.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
            let policy = match (row.0, row.1) {
                // The document is Graph's JSON; decoding validates it like any policy.
                (Some(v), Some(json)) => {
                    Some(Versioned::new(version_of(v)?, serde_json::from_str(&json)?))
                }
                _ => None,
            };
            let record = match (row.2, row.3) {
                (Some(v), Some(json)) => {
                    Some(Versioned::new(version_of(v)?, serde_json::from_str(&json)?))
                }
                _ => None,
            };
            Ok(Loaded::new(policy, record))
        })
    }

    fn load_policy(&self) -> Result<Option<Versioned<Policy>>, SqliteError> {
        self.with(|c| {
            let row: Option<(i64, String)> = c
                .prepare_cached("SELECT version, document FROM policy WHERE id = 1")?
                .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            row.map(|(v, json)| Ok(Versioned::new(version_of(v)?, serde_json::from_str(&json)?)))
                .transpose()
        })
    }

    fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, SqliteError> {
        let policy = sql_policy_version(expected.policy)?;
        match (record, expected.record) {
            (Some(new), _) if new.user() != user => Ok(Write::Conflict),
            (Some(new), Some(stamp)) => {
                let json = serde_json::to_string(new)?;
                let next = stamp.version.next();
                let changed = self.conditional(
                    &format!(
                        "UPDATE passes SET pass_id = ?1, version = ?2, record = ?3
                         WHERE user_id = ?4 AND pass_id = ?5 AND version = ?6 AND {POLICY_IS} ?7"
                    ),
                    params![
                        new.id().to_string(),
                        sql_version(next)?,
                        json,
                        user.as_str(),
                        stamp.pass.to_string(),
                        sql_version(stamp.version)?,
                        policy,
                    ],
                )?;
                one_row(changed, next)
            }
            (Some(new), None) => {
                let json = serde_json::to_string(new)?;
                let changed = self.conditional(
                    &format!(
                        "INSERT INTO passes (user_id, pass_id, version, record)
                         SELECT ?1, ?2, 1, ?3 WHERE {POLICY_IS} ?4
                         ON CONFLICT (user_id) DO NOTHING"
                    ),
                    params![user.as_str(), new.id().to_string(), json, policy],
                )?;
                one_row(changed, Version::FIRST)
            }
            (None, Some(stamp)) => {
                let changed = self.conditional(
                    &format!(
                        "DELETE FROM passes
                         WHERE user_id = ?1 AND pass_id = ?2 AND version = ?3 AND {POLICY_IS} ?4"
                    ),
                    params![
                        user.as_str(),
                        stamp.pass.to_string(),
                        sql_version(stamp.version)?,
                        policy
                    ],
                )?;
                one_row(changed, stamp.version)
            }
            (None, None) => Ok(Write::Conflict),
        }
    }

    fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, SqliteError> {
        let json = serde_json::to_string(policy)?;
        match expected {
            None => {
                let changed = self.conditional(
                    "INSERT INTO policy (id, version, document) VALUES (1, 1, ?1)
                     ON CONFLICT (id) DO NOTHING",
                    params![json],
                )?;
                one_row(changed, Version::FIRST)
            }
            Some(v) => {
                let next = v.next();
                let changed = self.conditional(
                    "UPDATE policy SET version = ?1, document = ?2 WHERE id = 1 AND version = ?3",
                    params![sql_version(next)?, json, sql_version(v)?],
                )?;
                one_row(changed, next)
            }
        }
    }
}

/// A fresh database file under the system's temporary directory.
fn fresh_database(label: &str) -> Result<PathBuf, SqliteError> {
    let dir = std::env::temp_dir().join(format!("tap-sqlite-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| SqliteError(e.to_string()))?;
    let path = dir.join("passes.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(path)
}

fn main() -> Result<(), Box<dyn Error>> {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let path = fresh_database("main")?;
    let store = SqliteStore::open(&path)?;
    println!("database: {}", path.display());
    conformance::check_store(&store);
    println!("sequential guarantees: ok");
    conformance::race_one_time_redemption(&store, rounds);
    println!("{rounds} rounds of 8 threads redeeming one one-time pass: exactly one win each");
    conformance::race_lockout(&store, 50);
    println!("50 rounds of 8 threads guessing: the lock engaged at exactly the limit");
    conformance::race_creation(&store, 50);
    println!("50 rounds of 8 concurrent creations: exactly one pass each");
    conformance::race_burst(&store, 200);
    println!("200 bursts of 64 attempts on one version: each replays as a sequential history");
    conformance::race_burst_wrong_codes(&store, 200);
    println!("200 bursts of 64 wrong codes: exactly 10 judged each");
    conformance::race_delete(&store, 200);
    println!("200 rounds of sign-ins racing a delete: none granted after it landed");
    conformance::race_policy_change(&store, 200);
    println!("200 rounds of sign-ins judged before the policy was disabled: all judged again");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_store_passes_the_conformance_suite_with_races() {
        let store = SqliteStore::open(&fresh_database("test").unwrap()).unwrap();
        conformance::check_store(&store);
        conformance::race_one_time_redemption(&store, 10_000);
        conformance::race_lockout(&store, 50);
        conformance::race_creation(&store, 50);
        conformance::race_burst(&store, 200);
        conformance::race_burst_wrong_codes(&store, 200);
        conformance::race_delete(&store, 200);
        conformance::race_policy_change(&store, 200);
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
