//! A Temporary Access Pass service shaped like Microsoft Graph, as a host would build it on
//! `temporary-access-pass`: axum on tokio, the crate's [`AsyncEngine`] over the PostgreSQL store
//! (or the SQLite store when no database URL is given), an [`Authenticator`] and a
//! [`Directory`] the host plugs in, and what a service needs around them in production:
//! limits and timeouts on every connection and request, a graceful shutdown, store timeouts,
//! Graph's error body on every error, Entra access tokens, a JSON request log, health checks
//! and Prometheus metrics; and the step a pass exists for, a passkey registered in its window
//! ([`onboarding`], SPEC 8).
//!
//! The files follow the usual layout of an axum service: [`config`] (the environment),
//! [`telemetry`] (the log), [`startup`] (build, serve, shut down), `routes` (one file per
//! resource), [`identity`] and [`jwt`] (who calls), `error` (Graph's error body),
//! [`onboarding`] (passkeys).
//!
//! Routes (the Graph ones under `/v1.0`, as Graph's; [`ROUTES`] lists them all, and
//! `openapi.json` describes them):
//!
//! | route | what |
//! |---|---|
//! | `GET`, `PATCH /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass` | the tenant policy |
//! | `POST`, `GET /v1.0/users/{id}/authentication/temporaryAccessPassMethods` | create a pass (the code, once), list the user's pass |
//! | `GET`, `DELETE /v1.0/users/{id}/authentication/temporaryAccessPassMethods/{passId}` | view, delete |
//! | `GET /v1.0/users/{id}/authentication/fido2Methods` | the user's passkeys and security keys (SPEC 8.2) |
//! | `GET /v1.0/auditLogs/directoryAudits` | the audit trail, from the store's outbox (SPEC 7.4) |
//! | `POST /signIn/temporaryAccessPass` | sign in with a code (not a Graph route: the sign-in page's); a grant opens a registration session |
//! | `GET /onboarding` (and its `.js`, `.css`) | the onboarding page: a pass, a security key, a sign-in with it |
//! | `POST /webauthn/registration/options`, `POST /webauthn/registration` | register a passkey inside the window (SPEC 8.1, 8.3) |
//! | `POST /webauthn/authentication/options`, `POST /webauthn/authentication` | sign in with the passkey, no pass needed |
//! | `GET /health/live`, `GET /health/ready` | the process answers; the store answers too |
//! | `GET /metrics` | Prometheus metrics |

pub mod blocking;
pub mod config;
mod error;
pub mod identity;
pub mod jwt;
mod metrics;
pub mod onboarding;
mod routes;
pub mod startup;
pub mod telemetry;

use std::net::IpAddr;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::sync::Arc;
use temporary_access_pass::store::AsyncStore;

use temporary_access_pass::{AsyncEngine, Clock, Principal, SystemClock};

pub use config::{Config, Limits, StartError};
pub use error::GraphError;
pub use identity::{Authenticator, Directory};
pub use metrics::Metrics;
pub use routes::{
    CLIENT_REQUEST_ID, MAX_HEADERS, MAX_URI, POLICY_PATH, REQUEST_ID, ROUTES, router,
};
pub use startup::{run, serve};

/// The clock the service's engine reads: the system's in production, one a test sets.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, shared.
#[must_use]
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock::new())
}

/// The service: the engine, the host's two plug-ins, onboarding, its limits and its metrics.
pub struct App<S, A, D> {
    /// The engine over the store.
    pub engine: AsyncEngine<SharedClock, S>,
    /// Who calls.
    pub authenticator: A,
    /// Who the users are.
    pub directory: D,
    /// The limits of requests and of store calls.
    pub limits: Limits,
    /// The metrics.
    pub metrics: Metrics,
    /// The passkey onboarding: the relying party, the ceremonies, the keys (SPEC 8).
    pub onboarding: onboarding::Onboarding,
    /// The service's address as callers reach it (`https://tap.contoso.com`), which the
    /// audit log's `@odata.nextLink` starts with; empty, the link is a path.
    pub public_url: String,
    sign_ins: DefaultKeyedRateLimiter<IpAddr>,
}

impl<S, A, D> std::fmt::Debug for App<S, A, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn sign_in_limiter(limits: &Limits) -> DefaultKeyedRateLimiter<IpAddr> {
    RateLimiter::keyed(Quota::per_second(limits.sign_in_rate).allow_burst(limits.sign_in_burst))
}

impl<S: AsyncStore, A: Authenticator, D: Directory> App<S, A, D> {
    /// The service over `engine`, with `authenticator` and `directory`, the default limits and
    /// fresh metrics, and onboarding for pages served from `http://localhost` with keys kept in
    /// memory.
    #[must_use]
    pub fn new(engine: AsyncEngine<SharedClock, S>, authenticator: A, directory: D) -> Self {
        let limits = Limits::default();
        Self {
            onboarding: onboarding::Onboarding::localhost(),
            engine,
            authenticator,
            directory,
            sign_ins: sign_in_limiter(&limits),
            limits,
            metrics: Metrics::new(),
            public_url: String::new(),
        }
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.sign_ins = sign_in_limiter(&limits);
        self.limits = limits;
        self
    }

    /// Sets the passkey onboarding (its relying party and where keys are kept).
    #[must_use]
    pub fn onboarding(mut self, onboarding: onboarding::Onboarding) -> Self {
        self.onboarding = onboarding;
        self
    }

    /// Sets the address callers reach the service at (no trailing `/`).
    #[must_use]
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        url.into()
            .trim_end_matches('/')
            .clone_into(&mut self.public_url);
        self
    }

    /// The caller of a request, recorded in its log line.
    async fn caller(&self, headers: &axum::http::HeaderMap) -> Result<Principal, GraphError> {
        let caller = self.authenticator.authenticate(headers).await?;
        telemetry::record_caller(caller.id().as_str());
        Ok(caller)
    }

    async fn user(&self, id: &str) -> Result<Principal, GraphError> {
        self.directory
            .user(id)
            .await
            .ok_or_else(|| GraphError::not_found(format!("user {id:?}")))
    }

    /// A store call, bounded by the store timeout: 503 with `Retry-After` past it.
    async fn bounded<T>(&self, call: impl Future<Output = T>) -> Result<T, GraphError> {
        tokio::time::timeout(self.limits.store_timeout, call)
            .await
            .map_err(|_| {
                self.metrics.store_trouble("timeout");
                GraphError::store_timeout(self.limits.store_timeout)
            })
    }

    /// Whether a sign-in from `source` is within the rate; how long until it would be if not.
    fn sign_in_allowed(&self, source: IpAddr) -> Result<(), Duration> {
        use governor::clock::{Clock, DefaultClock};
        self.sign_ins
            .check_key(&source)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets the rate of sources idle long enough, so the limiter's memory stays bounded.
    fn forget_idle_sources(&self) {
        self.sign_ins.retain_recent();
        self.sign_ins.shrink_to_fit();
    }
}
