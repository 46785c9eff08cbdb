//! A Temporary Access Pass service shaped like Microsoft Graph, as a host would build it on
//! `temporary-access-pass`: axum on tokio, the crate's [`AsyncEngine`](temporary_access_pass::AsyncEngine) over the PostgreSQL store
//! (or the SQLite store when no database URL is given), an [`Authenticator`] and a
//! [`Directory`] the host plugs in, and what a service needs around them in production:
//! limits and timeouts on every connection and request, a graceful shutdown, store timeouts,
//! Graph's error body on every error, Entra access tokens, a JSON request log, health checks
//! and Prometheus metrics; and the step a pass exists for, a passkey registered in its window
//! ([`passkeys`], SPEC 8).
//!
//! The files follow the usual layout of an axum service, one concern a file, each importing
//! only from the layers below it: from the bottom up, [`clock`], [`identity`], [`telemetry`]
//! and [`blocking`]; [`config`] and [`jwt`]; [`http`] (Graph's error body, request ids, the
//! extractors); [`passkeys`]; [`app`] (the state); `routes` (one file per resource); [`server`]
//! (the accept loop); [`startup`]; and on top, behind the feature `fuzzing`, the bodies of the
//! fuzz targets over what the service reads from strangers (`fuzz/` wraps them). The service's
//! README ("Layout") has the table, which `.ci/check-layers` reads and enforces.
//!
//! `main.rs` reads the environment, starts the log and calls [`run`].
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
//! | `GET /health/live` | the process answers |
//!
//! And on the operations' address (`TAP_OPS_LISTEN`, kept off the load balancer; [`OPS_ROUTES`]):
//!
//! | route | what |
//! |---|---|
//! | `GET /health/live`, `GET /health/ready` | the process answers; the store answers too |
//! | `GET /metrics` | Prometheus metrics |

pub mod app;
pub mod blocking;
pub mod clock;
pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod housekeeping;
pub mod http;
pub mod identity;
pub mod jwt;
pub mod passkeys;
mod routes;
pub mod server;
pub mod startup;
pub mod telemetry;

pub use app::App;
pub use clock::{SharedClock, system_clock};
pub use config::{Config, Limits, Rate, StartError};
pub use http::{CLIENT_REQUEST_ID, GraphError, MAX_HEADERS, MAX_URI, REQUEST_ID};
pub use identity::{Authenticator, Directory};
pub use routes::{OPS_ROUTES, POLICY_PATH, ROUTES, ops_router, router};
pub use server::serve;
pub use startup::run;
pub use telemetry::Metrics;
