//! Where registered keys are kept, per user: [`CredentialStore`], in memory, in the SQLite
//! file of the passes, or in the PostgreSQL database of the passes. The SQL stores add a key
//! only while the pass behind its registration is stored, in one statement.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use temporary_access_pass::{PassId, UserId};

use super::method::StoredMethod;

/// A boxed future, for the object-safe [`CredentialStore`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the credential store failed (its own error, in words: it is logged, not returned).
#[derive(Debug, thiserror::Error)]
#[error("the credential store failed: {0}")]
pub struct CredentialError(pub String);

/// What adding a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Added {
    /// Stored.
    Added,
    /// The pass behind the registration is no longer stored: nothing was.
    PassGone,
    /// A key with this credential id is stored already.
    Duplicate,
}

/// Where registered keys are kept, per user. The SQL stores keep them beside the passes, and
/// add one only while the pass behind its registration is stored, in one statement.
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores `method` for `user`, if `pass` is the pass stored for `user` now.
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>>;

    /// The keys of `user`, oldest first.
    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>>;

    /// Replaces the stored form of `method` (its counter moved).
    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>>;
}

/// Keys in memory, for tests and the in-memory store. It cannot see the passes: it relies on
/// the engine's check just before it.
#[derive(Debug, Default)]
pub struct MemoryCredentials(Mutex<HashMap<UserId, Vec<StoredMethod>>>);

impl CredentialStore for MemoryCredentials {
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        _pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>> {
        Box::pin(async move {
            let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if all.values().flatten().any(|m| m.id == method.id) {
                return Ok(Added::Duplicate);
            }
            all.entry(user.clone()).or_default().push(method.clone());
            Ok(Added::Added)
        })
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>> {
        Box::pin(async move {
            let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(all.get(user).cloned().unwrap_or_default())
        })
    }

    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>> {
        Box::pin(async move {
            let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(stored) = all
                .get_mut(user)
                .and_then(|ms| ms.iter_mut().find(|m| m.id == method.id))
            {
                *stored = method.clone();
            }
            Ok(())
        })
    }
}

/// Keys in the SQLite file of the passes (`tap_fido2_methods`), on a connection of their own.
#[derive(Debug, Clone)]
pub struct SqliteCredentials(Arc<Mutex<rusqlite::Connection>>);

const SQLITE_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS tap_fido2_methods (
        id       TEXT PRIMARY KEY,
        user_id  TEXT NOT NULL,
        pass_id  TEXT NOT NULL,
        document TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tap_fido2_methods_user ON tap_fido2_methods (user_id);";

fn store_error(e: impl std::fmt::Display) -> CredentialError {
    CredentialError(e.to_string())
}

impl SqliteCredentials {
    /// Opens the keys' table in the SQLite file at `path` (the passes' file), creating it when
    /// missing, a write waiting up to `busy_timeout` for the file's lock.
    ///
    /// # Errors
    ///
    /// SQLite's.
    pub fn open(
        path: &std::path::Path,
        busy_timeout: std::time::Duration,
    ) -> Result<Self, CredentialError> {
        let connection = rusqlite::Connection::open(path).map_err(store_error)?;
        connection.busy_timeout(busy_timeout).map_err(store_error)?;
        connection
            .execute_batch(SQLITE_SCHEMA)
            .map_err(store_error)?;
        Ok(Self(Arc::new(Mutex::new(connection))))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&rusqlite::Connection) -> Result<T, CredentialError> + Send + 'static,
    ) -> Result<T, CredentialError> {
        let connection = self.0.clone();
        tokio::task::spawn_blocking(move || {
            call(&connection.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await
        .map_err(store_error)?
    }
}

impl CredentialStore for SqliteCredentials {
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>> {
        let user = user.as_str().to_owned();
        let id = method.id.clone();
        let document = serde_json::to_string(method).map_err(store_error);
        Box::pin(self.blocking(move |c| {
            let document = document?;
            // One statement: the key is stored only while the pass is.
            let added = c
                .execute(
                    "INSERT INTO tap_fido2_methods (id, user_id, pass_id, document)
                     SELECT ?1, ?2, ?3, ?4
                     WHERE EXISTS (SELECT 1 FROM tap_passes WHERE user_id = ?2 AND pass_id = ?3)
                     ON CONFLICT (id) DO NOTHING",
                    (&id, &user, pass.to_string(), &document),
                )
                .map_err(store_error)?;
            if added == 1 {
                return Ok(Added::Added);
            }
            let exists: bool = c
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM tap_fido2_methods WHERE id = ?1)",
                    [&id],
                    |row| row.get(0),
                )
                .map_err(store_error)?;
            Ok(if exists {
                Added::Duplicate
            } else {
                Added::PassGone
            })
        }))
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>> {
        let user = user.as_str().to_owned();
        Box::pin(self.blocking(move |c| {
            let mut statement = c
                .prepare("SELECT document FROM tap_fido2_methods WHERE user_id = ?1 ORDER BY rowid")
                .map_err(store_error)?;
            let documents = statement
                .query_map([&user], |row| row.get::<_, String>(0))
                .map_err(store_error)?;
            documents
                .map(|d| serde_json::from_str(&d.map_err(store_error)?).map_err(store_error))
                .collect()
        }))
    }

    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>> {
        let user = user.as_str().to_owned();
        let id = method.id.clone();
        let document = serde_json::to_string(method).map_err(store_error);
        Box::pin(self.blocking(move |c| {
            c.execute(
                "UPDATE tap_fido2_methods SET document = ?3 WHERE id = ?1 AND user_id = ?2",
                (&id, &user, &document?),
            )
            .map_err(store_error)?;
            Ok(())
        }))
    }
}

/// Keys in the PostgreSQL database of the passes (`tap_fido2_methods`, per tenant).
#[derive(Clone)]
pub struct PgCredentials {
    pool: deadpool_postgres::Pool,
    tenant: String,
}

impl std::fmt::Debug for PgCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCredentials")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl PgCredentials {
    /// The keys of `tenant`, over `pool`; the table is created when missing.
    ///
    /// # Errors
    ///
    /// PostgreSQL's.
    pub async fn new(pool: deadpool_postgres::Pool, tenant: &str) -> Result<Self, CredentialError> {
        let client = pool.get().await.map_err(store_error)?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS tap_fido2_methods (
                     tenant   text NOT NULL,
                     id       text NOT NULL,
                     user_id  text NOT NULL,
                     pass_id  text NOT NULL,
                     document text NOT NULL,
                     added    bigserial,
                     PRIMARY KEY (tenant, id)
                 );
                 CREATE INDEX IF NOT EXISTS tap_fido2_methods_user
                     ON tap_fido2_methods (tenant, user_id);",
            )
            .await
            .map_err(store_error)?;
        Ok(Self {
            pool,
            tenant: tenant.to_owned(),
        })
    }
}

impl CredentialStore for PgCredentials {
    fn add<'a>(
        &'a self,
        user: &'a UserId,
        pass: PassId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<Added, CredentialError>> {
        Box::pin(async move {
            let document = serde_json::to_string(method).map_err(store_error)?;
            let client = self.pool.get().await.map_err(store_error)?;
            // One statement: the pass's row is held (FOR KEY SHARE) while the key is added, so a
            // deletion either lands first (nothing is added) or waits for this to commit.
            let added = client
                .execute(
                    "INSERT INTO tap_fido2_methods (tenant, id, user_id, pass_id, document)
                     SELECT $1, $2, $3, $4, $5
                     WHERE EXISTS (SELECT 1 FROM tap_passes
                                   WHERE tenant = $1 AND user_id = $3 AND pass_id = $4
                                   FOR KEY SHARE)
                     ON CONFLICT (tenant, id) DO NOTHING",
                    &[
                        &self.tenant,
                        &method.id,
                        &user.as_str(),
                        &pass.to_string(),
                        &document,
                    ],
                )
                .await
                .map_err(store_error)?;
            if added == 1 {
                return Ok(Added::Added);
            }
            let exists: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM tap_fido2_methods WHERE tenant = $1 AND id = $2)",
                    &[&self.tenant, &method.id],
                )
                .await
                .and_then(|row| row.try_get(0))
                .map_err(store_error)?;
            Ok(if exists {
                Added::Duplicate
            } else {
                Added::PassGone
            })
        })
    }

    fn list<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, Result<Vec<StoredMethod>, CredentialError>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(store_error)?;
            let rows = client
                .query(
                    "SELECT document FROM tap_fido2_methods
                     WHERE tenant = $1 AND user_id = $2 ORDER BY added",
                    &[&self.tenant, &user.as_str()],
                )
                .await
                .map_err(store_error)?;
            rows.iter()
                .map(|row| {
                    let document: String = row.try_get(0).map_err(store_error)?;
                    serde_json::from_str(&document).map_err(store_error)
                })
                .collect()
        })
    }

    fn update<'a>(
        &'a self,
        user: &'a UserId,
        method: &'a StoredMethod,
    ) -> BoxFuture<'a, Result<(), CredentialError>> {
        Box::pin(async move {
            let document = serde_json::to_string(method).map_err(store_error)?;
            let client = self.pool.get().await.map_err(store_error)?;
            client
                .execute(
                    "UPDATE tap_fido2_methods SET document = $4
                     WHERE tenant = $1 AND id = $2 AND user_id = $3",
                    &[&self.tenant, &method.id, &user.as_str(), &document],
                )
                .await
                .map_err(store_error)?;
            Ok(())
        })
    }
}
