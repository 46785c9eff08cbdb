//! Starting the service from its environment, as the binary does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper, SystemClock};
use temporary_access_pass_postgres::{PgStore, migrate, pool};
use temporary_access_pass_sqlite::SqliteStore;

use crate::blocking::Blocking;
use crate::identity::{Authenticator, BearerTokens, FileError, StaticDirectory};
use crate::{App, Directory, router};

/// What the binary reads from its environment.
///
/// | variable | meaning |
/// |---|---|
/// | `TAP_LISTEN` | the address to listen on (default `127.0.0.1:8080`) |
/// | `TAP_DATABASE_URL` | a PostgreSQL connection string: the PostgreSQL store |
/// | `TAP_TENANT` | the tenant in the PostgreSQL store (default `default`) |
/// | `TAP_SQLITE_PATH` | without `TAP_DATABASE_URL`: the SQLite file (default `tap.db`) |
/// | `TAP_PEPPER_FILE` | a file of at least 32 secret bytes that keys the digests (required) |
/// | `TAP_DIRECTORY_FILE` | the users, a JSON list of principals (required) |
/// | `TAP_TOKENS_FILE` | the bearer tokens, as SHA-256 digests with their principals (required) |
/// | `TAP_AUTHENTICATOR` | `bearer-tokens` (the default); `test-headers` is refused |
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The PostgreSQL store, when given.
    pub database_url: Option<String>,
    /// The PostgreSQL store's tenant.
    pub tenant: String,
    /// The SQLite file otherwise.
    pub sqlite_path: PathBuf,
    /// The pepper's file.
    pub pepper_file: PathBuf,
    /// The directory's file.
    pub directory_file: PathBuf,
    /// The tokens' file.
    pub tokens_file: PathBuf,
    /// The authenticator asked for.
    pub authenticator: String,
}

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A variable is missing or malformed.
    #[error("{0}")]
    Environment(String),
    /// The test-header authenticator believes whatever a request claims.
    #[error(
        "TAP_AUTHENTICATOR=test-headers is refused: that authenticator believes whatever a request claims about its caller, and runs only under the service's tests"
    )]
    TestAuthenticator,
    /// A file could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A JSON file was refused.
    #[error("{path}: {error}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        error: FileError,
    },
    /// The pepper is refused.
    #[error("TAP_PEPPER_FILE: {0}")]
    Pepper(#[from] temporary_access_pass::error::PepperError),
    /// The PostgreSQL store could not start.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] temporary_access_pass_postgres::PgError),
    /// The SQLite store could not start.
    #[error("SQLite: {0}")]
    Sqlite(#[from] temporary_access_pass_sqlite::SqliteError),
    /// Listening or serving failed.
    #[error("serving: {0}")]
    Serve(#[from] std::io::Error),
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<PathBuf, StartError> {
    var(name)
        .map(PathBuf::from)
        .ok_or_else(|| StartError::Environment(format!("{name} is required")))
}

fn read(path: &PathBuf) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|error| StartError::Read {
        path: path.clone(),
        error,
    })
}

fn read_json<T>(
    path: &PathBuf,
    parse: impl FnOnce(&str) -> Result<T, FileError>,
) -> Result<T, StartError> {
    let text = String::from_utf8_lossy(&read(path)?).into_owned();
    parse(&text).map_err(|error| StartError::File {
        path: path.clone(),
        error,
    })
}

impl Config {
    /// Reads the environment.
    ///
    /// # Errors
    ///
    /// [`StartError::Environment`] for a missing or malformed variable.
    pub fn from_env() -> Result<Self, StartError> {
        let listen = var("TAP_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        Ok(Self {
            listen: listen
                .parse()
                .map_err(|e| StartError::Environment(format!("TAP_LISTEN={listen}: {e}")))?,
            database_url: var("TAP_DATABASE_URL"),
            tenant: var("TAP_TENANT").unwrap_or_else(|| "default".to_owned()),
            sqlite_path: var("TAP_SQLITE_PATH").map_or_else(|| "tap.db".into(), PathBuf::from),
            pepper_file: required("TAP_PEPPER_FILE")?,
            directory_file: required("TAP_DIRECTORY_FILE")?,
            tokens_file: required("TAP_TOKENS_FILE")?,
            authenticator: var("TAP_AUTHENTICATOR").unwrap_or_else(|| "bearer-tokens".to_owned()),
        })
    }

    /// Builds the service and serves until interrupted (Ctrl-C).
    ///
    /// # Errors
    ///
    /// [`StartError`]: the test-header authenticator, an unreadable file, a store that does
    /// not open, an address that can't be bound.
    pub async fn start(self) -> Result<(), StartError> {
        let authenticator = match self.authenticator.as_str() {
            "bearer-tokens" => read_json(&self.tokens_file, BearerTokens::from_json)?,
            "test-headers" => return Err(StartError::TestAuthenticator),
            other => {
                return Err(StartError::Environment(format!(
                    "TAP_AUTHENTICATOR={other}: bearer-tokens is the one this service offers"
                )));
            }
        };
        let directory = read_json(&self.directory_file, StaticDirectory::from_json)?;
        let config = EngineConfig::new(Pepper::new(&read(&self.pepper_file)?)?);
        if let Some(url) = &self.database_url {
            let url = url
                .parse()
                .map_err(|e| StartError::Environment(format!("TAP_DATABASE_URL: {e}")))?;
            let pool = pool(url, 16)?;
            migrate(&pool).await?;
            let store = PgStore::new(pool, &self.tenant)?;
            eprintln!("store: PostgreSQL, tenant {:?}", self.tenant);
            self.serve(store, config, authenticator, directory).await
        } else {
            let store = Blocking::new(SqliteStore::open(&self.sqlite_path)?);
            eprintln!("store: SQLite, {}", self.sqlite_path.display());
            self.serve(store, config, authenticator, directory).await
        }
    }

    async fn serve<S: AsyncStore + 'static>(
        &self,
        store: S,
        config: EngineConfig,
        authenticator: impl Authenticator,
        directory: impl Directory,
    ) -> Result<(), StartError> {
        if authenticator.trusts_the_request() {
            return Err(StartError::TestAuthenticator);
        }
        let app = Arc::new(App {
            engine: AsyncEngine::new(SystemClock::new(), store, config),
            authenticator,
            directory,
        });
        let listener = tokio::net::TcpListener::bind(self.listen).await?;
        eprintln!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    }
}
