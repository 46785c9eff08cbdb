//! The service's state, [`App`]: the engine over the store, the host's two plug-ins (who calls,
//! who the users are), the passkey onboarding, the limits and the metrics; and what handlers
//! ask of it: the caller, a user of the directory, a store call bounded by the store timeout,
//! whether a source may sign in now.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{AsyncEngine, Principal, UserId};

use crate::clock::SharedClock;
use crate::config::Limits;
use crate::http::{GraphError, IdentifyCaller};
use crate::identity::{Authenticator, Directory};
use crate::passkeys::Onboarding;
use crate::telemetry::Metrics;

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
    /// The passkey onboarding: the relying party and its ceremonies (SPEC 8); their state and
    /// the keys are the store's.
    pub onboarding: Onboarding,
    /// The service's address as callers reach it (`https://tap.contoso.com`), which the
    /// audit log's `@odata.nextLink` starts with; empty, the link is a path.
    pub public_url: String,
    sign_ins: DefaultKeyedRateLimiter<IpAddr>,
    draining: Arc<AtomicBool>,
}

impl<S, A, D> std::fmt::Debug for App<S, A, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn sign_in_limiter(limits: &Limits) -> DefaultKeyedRateLimiter<IpAddr> {
    // A `Rate`'s interval is never zero, which is all `with_period` refuses.
    let quota = Quota::with_period(limits.sign_in_rate.interval())
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX));
    RateLimiter::keyed(quota.allow_burst(limits.sign_in_burst))
}

impl<S: AsyncStore, A: Authenticator, D: Directory> App<S, A, D> {
    /// The service over `engine`, with `authenticator` and `directory`, the default limits and
    /// fresh metrics, and onboarding for pages served from `http://localhost`.
    #[must_use]
    pub fn new(engine: AsyncEngine<SharedClock, S>, authenticator: A, directory: D) -> Self {
        let limits = Limits::default();
        Self {
            onboarding: Onboarding::localhost(),
            engine,
            authenticator,
            directory,
            sign_ins: sign_in_limiter(&limits),
            limits,
            metrics: Metrics::new(),
            public_url: String::new(),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.sign_ins = sign_in_limiter(&limits);
        self.limits = limits;
        self
    }

    /// Sets the passkey onboarding (its relying party and attestation roots).
    #[must_use]
    pub fn onboarding(mut self, onboarding: Onboarding) -> Self {
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

    /// The user `id` names in the directory.
    ///
    /// # Errors
    ///
    /// 404 when the directory does not know them.
    pub async fn user(&self, id: &str) -> Result<Principal, GraphError> {
        self.directory
            .user(id)
            .await
            .ok_or_else(|| GraphError::not_found(format!("user {id:?}")))
    }

    /// The name an authenticator shows for `id`'s account: their user principal name, or the
    /// object id when the directory has none.
    pub async fn account_name(&self, id: &UserId) -> String {
        self.directory
            .principal_name(id)
            .await
            .unwrap_or_else(|| id.as_str().to_owned())
    }

    /// A store call, bounded by the store timeout.
    ///
    /// # Errors
    ///
    /// 503 with `Retry-After` past the timeout.
    pub async fn bounded<T>(&self, call: impl Future<Output = T>) -> Result<T, GraphError> {
        tokio::time::timeout(self.limits.store_timeout, call)
            .await
            .map_err(|_| {
                self.metrics.store_trouble("timeout");
                GraphError::store_timeout(self.limits.store_timeout)
            })
    }

    /// Whether a sign-in from `source` is within the rate.
    ///
    /// # Errors
    ///
    /// How long until it would be.
    pub fn sign_in_allowed(&self, source: IpAddr) -> Result<(), Duration> {
        use governor::clock::{Clock, DefaultClock};
        self.sign_ins
            .check_key(&source)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Starts draining, at the shutdown signal: readiness fails from now on, so a load balancer
    /// takes the instance out of rotation, and every response closes its connection, so no
    /// client keeps one the instance is about to close.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the instance is draining (see [`App::drain`]).
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// The flag [`App::drain`] sets, for the server's connections to read.
    #[must_use]
    pub fn draining_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.draining)
    }

    /// Forgets the rate of sources idle long enough, so the limiter's memory stays bounded: a
    /// scan of every source, which the server runs once a second.
    pub fn forget_idle_sources(&self) {
        self.sign_ins.retain_recent();
        self.sign_ins.shrink_to_fit();
    }

    /// Whether the ceremonies' cookies are `Secure`: when the onboarding page is served over
    /// HTTPS.
    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        self.onboarding.settings().origin.scheme() == "https"
    }
}

impl<S: AsyncStore + 'static, A: Authenticator, D: Directory> IdentifyCaller for App<S, A, D> {
    /// The authenticated caller as the directory knows them (SPEC 3.6): their object id and
    /// user type from the directory, their roles, groups and grant (SPEC 3.7) from the
    /// credential. A caller the
    /// directory does not know is refused (403) whatever the credential says.
    ///
    /// An application calling as itself (SPEC 3.7) must be one the directory lists, and its
    /// credential must name that application's service principal; it acts with the permissions
    /// its credential carries.
    async fn identify(&self, headers: &HeaderMap) -> Result<Principal, GraphError> {
        let caller = self.authenticator.authenticate(headers).await?;
        if let Some(app) = caller.app() {
            let Some(known) = self.directory.application(app).await else {
                return Err(GraphError::forbidden(
                    "the calling application is not known to this directory: it has no rights \
                     here",
                ));
            };
            if known.object_id != *caller.id() {
                return Err(GraphError::forbidden(
                    "the token's object id (oid) is not the calling application's service \
                     principal in this directory",
                ));
            }
            return Ok(caller);
        }
        let Some(known) = self.directory.user(caller.id().as_str()).await else {
            return Err(GraphError::forbidden(
                "the caller is not a user of this directory: it has no rights here",
            ));
        };
        Ok(Principal::new(
            known.id().clone(),
            known.user_type(),
            caller.groups().to_vec(),
            caller.roles().to_vec(),
        )
        .under(caller.grant()))
    }
}
