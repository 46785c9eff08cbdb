//! The service's settings, read from its environment, each with a safe default.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `TAP_LISTEN` | `127.0.0.1:8080` | `host:port` to listen on (a name is resolved) |
//! | `TAP_OPS_LISTEN` | | `host:port` of the operations' address: `/health/ready` and `/metrics` (plain HTTP; keep it off the load balancer); without it they are not served |
//! | `TAP_DATABASE_URL` | | a PostgreSQL connection string naming `dbname` and `user`: the PostgreSQL store |
//! | `TAP_TENANT` | `default` | the tenant in the PostgreSQL store |
//! | `TAP_DATABASE_POOL` | `16` | PostgreSQL connections |
//! | `TAP_SQLITE_PATH` | `tap.db` | without `TAP_DATABASE_URL`: the SQLite file |
//! | `TAP_STORE_TIMEOUT` | `5s` | the longest a store call may take: PostgreSQL's pool wait, connect and statement timeouts, SQLite's busy timeout; past it, 503 |
//! | `TAP_PEPPER_FILE` | required | a file of at least 32 secret bytes that keys the digests |
//! | `TAP_DIRECTORY_FILE` | required | the users, a JSON list of principals |
//! | `TAP_AUTHENTICATOR` | `jwt` | `jwt` (Entra access tokens) or `bearer-tokens` (the demonstration's static tokens) |
//! | `TAP_JWT_ISSUER` | with `jwt` | the `iss` tokens must carry (`https://login.microsoftonline.com/{tenant}/v2.0`) |
//! | `TAP_JWT_AUDIENCE` | with `jwt` | the `aud` tokens must carry (the service's application id URI or client id) |
//! | `TAP_JWKS_URL` or `TAP_JWKS_FILE` | with `jwt` | the issuer's signing keys: fetched and cached, or read once |
//! | `TAP_JWKS_REFRESH` | `1h` | how often the fetched keys are refreshed, in the background (an unknown `kid` refetches at most once a minute; a failed fetch backs off from 1 s to 5 min) |
//! | `TAP_JWKS_MAX_AGE` | `24h` | how old fetched keys may grow while fetches fail; past it no token is trusted (503) until a fetch succeeds |
//! | `TAP_TOKENS_FILE` | with `bearer-tokens` | the SHA-256 of each bearer token, with its principal |
//! | `TAP_TLS_CERT_FILE`, `TAP_TLS_KEY_FILE` | | PEM certificate chain and key: serve HTTPS (rustls) |
//! | `TAP_MAX_CONNECTIONS` | `1024` | open connections; past it, new ones are closed at once |
//! | `TAP_HEADER_TIMEOUT` | `10s` | to send a request's headers, and the longest an idle keep-alive connection stays open |
//! | `TAP_BODY_TIMEOUT` | `10s` | to send a request's body |
//! | `TAP_REQUEST_TIMEOUT` | `30s` | to answer a request (408 past it) |
//! | `TAP_BODY_LIMIT` | `16KiB` | request bodies; past it, 413 |
//! | `TAP_SIGN_IN_RATE` | `10/s` | sign-ins per source address (an IPv6 address counts by its /64): `count/unit`, the unit `s`, `m`, `h` or `d` (`1/m` is one a minute) |
//! | `TAP_SIGN_IN_BURST` | `20` | sign-ins per source address allowed at once |
//! | `TAP_DRAIN_PERIOD` | `5s` | on SIGTERM or SIGINT, how long the instance keeps serving with `/health/ready` failing and every response closing its connection, before it stops accepting (`0s`: none) |
//! | `TAP_SHUTDOWN_GRACE` | `20s` | then, how long in-flight requests may finish |
//! | `TAP_PRUNE_INTERVAL` | `1m` | how often the ceremonies that are over are deleted from the store |
//! | `TAP_PUBLIC_URL` | `http(s)://` and the bound address | the service's address as callers reach it (behind a proxy, the proxy's), for `@odata.nextLink` |
//! | `TAP_WEBAUTHN_ORIGIN` | `http(s)://localhost:<port>` on loopback, else the bound address | the origin the onboarding page is served from: passkeys are registered for it |
//! | `TAP_WEBAUTHN_RP_ID` | the origin's host | the relying party id (a registrable suffix of the origin's host, such as `contoso.com`) |
//! | `TAP_ATTESTATION_ROOTS_FILE` | | the attestation roots trusted (`passkeys` says the format): keys must attest against them, and are shown `attested`; without it no key is attested |
//! | `TAP_LOG` | `info` | the log filter (`tracing` directives) |

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use crate::identity::FileError;

mod values;

pub use values::Rate;
use values::{duration_of, duration_or_zero_of, rate_of, size_of};

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
    /// The signing keys could not be had.
    #[error("the token signing keys: {0}")]
    Keys(String),
    /// The TLS certificate or key is refused.
    #[error("TLS: {0}")]
    Tls(String),
    /// Listening or serving failed.
    #[error("serving: {0}")]
    Serve(#[from] std::io::Error),
}

/// Where the signing keys of access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksSource {
    /// Fetched from a URL (the issuer's `jwks_uri`), cached and refreshed.
    Url(String),
    /// Read once from a file.
    File(PathBuf),
}

/// How callers are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthSettings {
    /// Entra access tokens (JWT), checked against the issuer's keys.
    Jwt {
        /// The `iss` required.
        issuer: String,
        /// The `aud` required.
        audience: String,
        /// The keys.
        keys: JwksSource,
        /// How often fetched keys are refreshed.
        refresh: Duration,
        /// How old fetched keys may grow, fetches failing, before they are no longer trusted.
        max_age: Duration,
    },
    /// The demonstration's static bearer tokens, as SHA-256 digests in a file.
    BearerTokens(PathBuf),
}

/// The limits of the HTTP server, and of each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// To send a request's headers; also how long an idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// To send a request's body.
    pub body_timeout: Duration,
    /// To answer a request.
    pub request_timeout: Duration,
    /// Request bodies at most, in bytes.
    pub body_limit: usize,
    /// The longest a store call may take.
    pub store_timeout: Duration,
    /// Sign-ins per source address: one more allowed every [`Rate::interval`].
    pub sign_in_rate: Rate,
    /// Sign-ins per source address allowed at once.
    pub sign_in_burst: NonZeroU32,
    /// On SIGTERM or SIGINT, how long the instance keeps serving with readiness failed and
    /// every response closing its connection, before it stops accepting (zero: no drain).
    pub drain_period: Duration,
    /// Then, how long in-flight requests may finish.
    pub shutdown_grace: Duration,
    /// How often the ceremonies that are over are deleted from the store.
    pub prune_interval: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            body_limit: 16 * 1024,
            store_timeout: Duration::from_secs(5),
            sign_in_rate: Rate::per_second(NonZeroU32::MIN.saturating_add(9)),
            sign_in_burst: NonZeroU32::MIN.saturating_add(19),
            drain_period: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(20),
            prune_interval: Duration::from_secs(60),
        }
    }
}

/// What the binary reads from its environment (the module's table).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where to listen, as given (`host:port`).
    pub listen: String,
    /// Where to serve the operations' routes, as given, when they are served.
    pub ops_listen: Option<String>,
    /// The PostgreSQL store, when given.
    pub database_url: Option<String>,
    /// The PostgreSQL store's tenant.
    pub tenant: String,
    /// PostgreSQL connections.
    pub database_pool: usize,
    /// The SQLite file otherwise.
    pub sqlite_path: PathBuf,
    /// The pepper's file.
    pub pepper_file: PathBuf,
    /// The directory's file.
    pub directory_file: PathBuf,
    /// How callers are authenticated.
    pub auth: AuthSettings,
    /// The TLS certificate chain and key, when the service serves HTTPS itself.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The limits.
    pub limits: Limits,
    /// The service's address as callers reach it.
    pub public_url: Option<String>,
    /// The onboarding page's origin.
    pub webauthn_origin: Option<String>,
    /// The relying party id.
    pub webauthn_rp_id: Option<String>,
    /// The attestation roots trusted, when any are.
    pub attestation_roots_file: Option<PathBuf>,
    /// The log filter.
    pub log: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str) -> Result<String, StartError> {
    var(name).ok_or_else(|| StartError::Environment(format!("{name} is required")))
}

fn duration(name: &str, default: Duration) -> Result<Duration, StartError> {
    duration_of(name, var(name), default)
}

fn number<T: std::str::FromStr>(name: &str, default: T, what: &str) -> Result<T, StartError> {
    var(name).map_or(Ok(default), |text| {
        text.parse()
            .map_err(|_| StartError::Environment(format!("{name}={text}: {what}")))
    })
}

fn size(name: &str, default: usize) -> Result<usize, StartError> {
    size_of(name, var(name), default)
}

fn rate(name: &str, default: Rate) -> Result<Rate, StartError> {
    rate_of(name, var(name), default)
}

impl Config {
    /// Reads the environment.
    ///
    /// # Errors
    ///
    /// [`StartError::Environment`] for a missing or malformed variable, naming it and what it
    /// takes.
    pub fn from_env() -> Result<Self, StartError> {
        let defaults = Limits::default();
        let limits = Limits {
            max_connections: number(
                "TAP_MAX_CONNECTIONS",
                defaults.max_connections,
                "a number of connections",
            )?,
            header_timeout: duration("TAP_HEADER_TIMEOUT", defaults.header_timeout)?,
            body_timeout: duration("TAP_BODY_TIMEOUT", defaults.body_timeout)?,
            request_timeout: duration("TAP_REQUEST_TIMEOUT", defaults.request_timeout)?,
            body_limit: size("TAP_BODY_LIMIT", defaults.body_limit)?,
            store_timeout: duration("TAP_STORE_TIMEOUT", defaults.store_timeout)?,
            sign_in_rate: rate("TAP_SIGN_IN_RATE", defaults.sign_in_rate)?,
            sign_in_burst: number(
                "TAP_SIGN_IN_BURST",
                defaults.sign_in_burst,
                "a number of sign-ins, at least 1",
            )?,
            drain_period: duration_or_zero_of(
                "TAP_DRAIN_PERIOD",
                var("TAP_DRAIN_PERIOD"),
                defaults.drain_period,
            )?,
            shutdown_grace: duration("TAP_SHUTDOWN_GRACE", defaults.shutdown_grace)?,
            prune_interval: duration("TAP_PRUNE_INTERVAL", defaults.prune_interval)?,
        };
        if limits.max_connections == 0 {
            return Err(StartError::Environment(
                "TAP_MAX_CONNECTIONS=0: at least one connection".into(),
            ));
        }
        let auth = match var("TAP_AUTHENTICATOR").as_deref().unwrap_or("jwt") {
            "jwt" => AuthSettings::Jwt {
                issuer: required("TAP_JWT_ISSUER")?,
                audience: required("TAP_JWT_AUDIENCE")?,
                keys: match (var("TAP_JWKS_URL"), var("TAP_JWKS_FILE")) {
                    (Some(url), None) => JwksSource::Url(url),
                    (None, Some(file)) => JwksSource::File(file.into()),
                    _ => {
                        return Err(StartError::Environment(
                            "TAP_AUTHENTICATOR=jwt needs one of TAP_JWKS_URL and TAP_JWKS_FILE"
                                .into(),
                        ));
                    }
                },
                refresh: duration("TAP_JWKS_REFRESH", Duration::from_secs(3600))?,
                max_age: duration("TAP_JWKS_MAX_AGE", Duration::from_secs(24 * 3600))?,
            },
            "bearer-tokens" => AuthSettings::BearerTokens(required("TAP_TOKENS_FILE")?.into()),
            "test-headers" => return Err(StartError::TestAuthenticator),
            other => {
                return Err(StartError::Environment(format!(
                    "TAP_AUTHENTICATOR={other}: jwt or bearer-tokens"
                )));
            }
        };
        let tls = match (var("TAP_TLS_CERT_FILE"), var("TAP_TLS_KEY_FILE")) {
            (Some(cert), Some(key)) => Some((cert.into(), key.into())),
            (None, None) => None,
            _ => {
                return Err(StartError::Environment(
                    "TAP_TLS_CERT_FILE and TAP_TLS_KEY_FILE go together".into(),
                ));
            }
        };
        Ok(Self {
            listen: var("TAP_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            ops_listen: var("TAP_OPS_LISTEN"),
            database_url: var("TAP_DATABASE_URL"),
            tenant: var("TAP_TENANT").unwrap_or_else(|| "default".to_owned()),
            database_pool: number("TAP_DATABASE_POOL", 16, "a number of connections")?,
            sqlite_path: var("TAP_SQLITE_PATH").map_or_else(|| "tap.db".into(), PathBuf::from),
            pepper_file: required("TAP_PEPPER_FILE")?.into(),
            directory_file: required("TAP_DIRECTORY_FILE")?.into(),
            auth,
            tls,
            limits,
            public_url: var("TAP_PUBLIC_URL"),
            webauthn_origin: var("TAP_WEBAUTHN_ORIGIN"),
            webauthn_rp_id: var("TAP_WEBAUTHN_RP_ID"),
            attestation_roots_file: var("TAP_ATTESTATION_ROOTS_FILE").map(PathBuf::from),
            log: var("TAP_LOG").unwrap_or_else(|| "info".to_owned()),
        })
    }

    /// The address to listen on: `TAP_LISTEN` resolved (a host name is looked up; the first
    /// address wins).
    ///
    /// # Errors
    ///
    /// [`StartError::Environment`] when it is not `host:port` or does not resolve.
    pub async fn listen_address(&self) -> Result<SocketAddr, StartError> {
        resolve("TAP_LISTEN", &self.listen).await
    }

    /// The operations' address: `TAP_OPS_LISTEN` resolved, when it is given.
    ///
    /// # Errors
    ///
    /// [`StartError::Environment`] when it is not `host:port` or does not resolve.
    pub async fn ops_address(&self) -> Result<Option<SocketAddr>, StartError> {
        match &self.ops_listen {
            Some(listen) => Ok(Some(resolve("TAP_OPS_LISTEN", listen).await?)),
            None => Ok(None),
        }
    }
}

/// `listen`, the value of `name`, resolved (a host name is looked up; the first address wins).
async fn resolve(name: &str, listen: &str) -> Result<SocketAddr, StartError> {
    let bad = |why: String| {
        StartError::Environment(format!(
            "{name}={listen}: {why}; host:port, such as 127.0.0.1:8080 or localhost:8080"
        ))
    };
    if !listen.contains(':') {
        return Err(bad("no port".into()));
    }
    tokio::net::lookup_host(listen)
        .await
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address".into()))
}
