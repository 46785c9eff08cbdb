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
//!   snapshot). A write is one conditional statement (`INSERT ... WHERE <policy version> ON
//!   CONFLICT DO NOTHING`, or `UPDATE`/`DELETE ... WHERE tenant = $1 AND user_id = $2 AND
//!   pass_id = $3 AND version = $4 AND <policy version>`, or for a deletion, judged on the pass
//!   id alone, `DELETE ... WHERE tenant = $1 AND user_id = $2 AND pass_id = $3 RETURNING
//!   version`) whose row count decides: one row is a write, none a conflict. There is no transaction left open between statements, and no
//!   read-then-write.
//! - Every failure (the pool has no connection, the connection is lost, a statement fails, a
//!   stored document breaks the crate's rules) is a [`PgError`], and the engine denies on it. A
//!   write whose connection is lost after the statement was sent may or may not have committed:
//!   the engine reports the error, never a decision.
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
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use temporary_access_pass::store::{AsyncStore, Expected, Loaded, Version, Versioned, Write};
use temporary_access_pass::{PassId, Policy, TemporaryAccessPass, UserId};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

pub use deadpool_postgres;
pub use tokio_postgres;

/// The schema, one migration per version: the schema table, the policy (one row per tenant)
/// and the pass records (one row per tenant and user, with the pass id and a version that
/// changes on every write). Documents are Graph's JSON (the policy) and the crate's strict
/// storage form (the record), kept as text.
pub const MIGRATIONS: &[&str] = &["
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
    );"];

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

/// A pool of `size` connections (at least one) to the server `config` names, recycled with a
/// liveness check. Hosts with needs of their own (TLS, timeouts) build a
/// [`deadpool_postgres::Pool`] themselves and pass it to [`PgStore::new`].
///
/// # Errors
///
/// [`PgError::Build`].
pub fn pool(config: tokio_postgres::Config, size: usize) -> Result<Pool, PgError> {
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

/// One tenant's pass records and policy in a PostgreSQL database shared by any number of
/// service instances. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    tenant: Arc<str>,
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
        })
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

    /// Runs one statement (prepared once per connection) and returns how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, PgError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.execute(&statement, params).await?)
    }
}

fn version_of(v: i64) -> Result<Version, PgError> {
    Version::from_i64(v).ok_or_else(|| PgError::Corrupt(format!("negative version {v}")))
}

fn sql_version(v: Version) -> Result<i64, PgError> {
    v.to_i64()
        .ok_or_else(|| PgError::Corrupt(format!("version {v} too large for a 64-bit column")))
}

/// `Written(next)` when exactly one row changed, `Conflict` when none did.
fn one_row(changed: u64, next: Version) -> Result<Write, PgError> {
    Write::from_changed_rows(changed, next)
        .ok_or_else(|| PgError::Corrupt(format!("{changed} rows changed where one was expected")))
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

/// Each record write checks the policy version with `IS NOT DISTINCT FROM`, so that "no
/// policy stored" (NULL) matches an expectation of none.
const REPLACE: &str = "
    UPDATE tap_passes SET pass_id = $3, version = $4, record = $5
    WHERE tenant = $1 AND user_id = $2 AND pass_id = $6 AND version = $7
      AND (SELECT version FROM tap_policy WHERE tenant = $1) IS NOT DISTINCT FROM $8";

const INSERT: &str = "
    INSERT INTO tap_passes (tenant, user_id, pass_id, version, record)
    SELECT $1, $2, $3, 1, $4
    WHERE (SELECT version FROM tap_policy WHERE tenant = $1) IS NOT DISTINCT FROM $5::bigint
    ON CONFLICT (tenant, user_id) DO NOTHING";

const DELETE: &str = "
    DELETE FROM tap_passes
    WHERE tenant = $1 AND user_id = $2 AND pass_id = $3 AND version = $4
      AND (SELECT version FROM tap_policy WHERE tenant = $1) IS NOT DISTINCT FROM $5";

const REMOVE: &str = "
    DELETE FROM tap_passes WHERE tenant = $1 AND user_id = $2 AND pass_id = $3
    RETURNING version";

const INSERT_POLICY: &str = "
    INSERT INTO tap_policy (tenant, version, document) VALUES ($1, 1, $2)
    ON CONFLICT (tenant) DO NOTHING";

const UPDATE_POLICY: &str = "
    UPDATE tap_policy SET version = $2, document = $3 WHERE tenant = $1 AND version = $4";

impl AsyncStore for PgStore {
    type Error = PgError;

    async fn load(&self, user: &UserId) -> Result<Loaded, PgError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(LOAD).await?;
        let row = client
            .query_one(&statement, &[&&*self.tenant, &user.as_str()])
            .await?;
        Ok(Loaded::new(
            decode(row.try_get(0)?, row.try_get(1)?)?,
            decode(row.try_get(2)?, row.try_get(3)?)?,
        ))
    }

    async fn load_policy(&self) -> Result<Option<Versioned<Policy>>, PgError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(LOAD_POLICY).await?;
        match client.query_opt(&statement, &[&&*self.tenant]).await? {
            Some(row) => decode(row.try_get(0)?, row.try_get(1)?),
            None => Ok(None),
        }
    }

    async fn write(
        &self,
        user: &UserId,
        expected: &Expected,
        record: Option<&TemporaryAccessPass>,
    ) -> Result<Write, PgError> {
        let tenant: &str = &self.tenant;
        let policy = expected.policy.map(sql_version).transpose()?;
        match (record, expected.record) {
            (Some(new), _) if new.user() != user => Ok(Write::Conflict),
            (Some(new), Some(stamp)) => {
                let next = stamp.version.next();
                let changed = self
                    .execute(
                        REPLACE,
                        &[
                            &tenant,
                            &user.as_str(),
                            &new.id().to_string(),
                            &sql_version(next)?,
                            &serde_json::to_string(new)?,
                            &stamp.pass.to_string(),
                            &sql_version(stamp.version)?,
                            &policy,
                        ],
                    )
                    .await?;
                one_row(changed, next)
            }
            (Some(new), None) => {
                let changed = self
                    .execute(
                        INSERT,
                        &[
                            &tenant,
                            &user.as_str(),
                            &new.id().to_string(),
                            &serde_json::to_string(new)?,
                            &policy,
                        ],
                    )
                    .await?;
                one_row(changed, Version::FIRST)
            }
            (None, Some(stamp)) => {
                let changed = self
                    .execute(
                        DELETE,
                        &[
                            &tenant,
                            &user.as_str(),
                            &stamp.pass.to_string(),
                            &sql_version(stamp.version)?,
                            &policy,
                        ],
                    )
                    .await?;
                one_row(changed, stamp.version)
            }
            (None, None) => Ok(Write::Conflict),
        }
    }

    async fn write_policy(
        &self,
        expected: Option<Version>,
        policy: &Policy,
    ) -> Result<Write, PgError> {
        let tenant: &str = &self.tenant;
        let document = serde_json::to_string(policy)?;
        match expected {
            None => {
                let changed = self.execute(INSERT_POLICY, &[&tenant, &document]).await?;
                one_row(changed, Version::FIRST)
            }
            Some(v) => {
                let next = v.next();
                let changed = self
                    .execute(
                        UPDATE_POLICY,
                        &[&tenant, &sql_version(next)?, &document, &sql_version(v)?],
                    )
                    .await?;
                one_row(changed, next)
            }
        }
    }

    async fn remove(&self, user: &UserId, pass: PassId) -> Result<Write, PgError> {
        // Whatever the version and the policy: what a deletion was judged on is the pass id.
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(REMOVE).await?;
        let params: [&(dyn ToSql + Sync); 3] = [&&*self.tenant, &user.as_str(), &pass.to_string()];
        match client.query_opt(&statement, &params).await? {
            Some(row) => Ok(Write::Written(version_of(row.try_get(0)?)?)),
            None => Ok(Write::Conflict),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{PgError, Version, Write, one_row};

    #[test]
    fn a_conditional_write_changing_no_row_is_a_conflict_not_an_error() {
        assert_eq!(one_row(0, Version::FIRST).unwrap(), Write::Conflict);
        assert_eq!(
            one_row(1, Version::FIRST).unwrap(),
            Write::Written(Version::FIRST)
        );
        assert!(matches!(
            one_row(2, Version::FIRST),
            Err(PgError::Corrupt(_))
        ));
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
