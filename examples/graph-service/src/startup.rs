//! Building the service from its [`Config`], serving, and shutting down.
//!
//! The server loop is hyper's, driven here rather than by `axum::serve`, which sets neither a
//! header timeout nor a connection cap:
//!
//! - at most `max_connections` connections are open; one more is closed at once (counted in
//!   `tap_refused_connections`, logged at most every 10 s);
//! - a connection's request headers must arrive within `header_timeout`, and an idle
//!   keep-alive connection is closed after as long (hyper's header-read timer runs from the
//!   end of one response to the end of the next request's headers), so a slowloris client is
//!   cut off; a TLS handshake has as long too;
//! - on SIGTERM or SIGINT the listener stops (the connections the kernel had already accepted
//!   are served first), idle connections close, in-flight requests get up to `shutdown_grace`
//!   to finish with `Connection: close`, and then the store's pool closes. Each step is logged.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper};
use temporary_access_pass_postgres::{PgStore, migrate};
use temporary_access_pass_sqlite::{SqliteOptions, SqliteStore};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::blocking::Blocking;
use crate::config::{AuthSettings, Config, JwksSource, Limits, StartError};
use crate::identity::{
    Authenticator, BearerTokens, Directory, FileError, StaticDirectory, Unauthenticated,
};
use crate::jwt::JwtAuthenticator;
use crate::onboarding::{Onboarding, PgCredentials, SqliteCredentials, WebauthnSettings};
use crate::{App, Metrics, router, system_clock};

fn read(path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|error| StartError::Read {
        path: path.to_owned(),
        error,
    })
}

fn read_json<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, FileError>,
) -> Result<T, StartError> {
    let text = String::from_utf8(read(path)?).map_err(|_| StartError::Read {
        path: path.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
    })?;
    parse(&text).map_err(|error| StartError::File {
        path: path.to_owned(),
        error,
    })
}

/// The authenticator the settings name.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyAuthenticator {
    /// Entra access tokens.
    Jwt(Box<JwtAuthenticator>),
    /// The demonstration's static tokens.
    BearerTokens(BearerTokens),
}

impl Authenticator for AnyAuthenticator {
    async fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<temporary_access_pass::Principal, Unauthenticated> {
        match self {
            Self::Jwt(a) => a.authenticate(headers).await,
            Self::BearerTokens(a) => a.authenticate(headers).await,
        }
    }
}

/// The authenticator of `settings`: for JWTs, with its keys read or fetched now.
///
/// # Errors
///
/// [`StartError::Keys`] when the keys can't be had; [`StartError::Read`] and
/// [`StartError::File`] for the files.
pub async fn authenticator(settings: &AuthSettings) -> Result<AnyAuthenticator, StartError> {
    Ok(match settings {
        AuthSettings::Jwt {
            issuer,
            audience,
            keys,
            refresh,
        } => AnyAuthenticator::Jwt(Box::new(match keys {
            JwksSource::File(path) => {
                let set = serde_json::from_slice(&read(path)?)
                    .map_err(|e| StartError::Keys(format!("{}: {e}", path.display())))?;
                JwtAuthenticator::new(issuer, audience, set)
            }
            JwksSource::Url(url) => JwtAuthenticator::fetching(issuer, audience, url, *refresh)
                .await
                .map_err(|e| StartError::Keys(e.to_string()))?,
        })),
        AuthSettings::BearerTokens(path) => {
            AnyAuthenticator::BearerTokens(read_json(path, BearerTokens::from_json)?)
        }
    })
}

/// The TLS acceptor of a PEM certificate chain and key (rustls, TLS 1.2 and 1.3, HTTP/1.1).
///
/// # Errors
///
/// [`StartError::Tls`], naming the file and what is wrong with it.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, StartError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| StartError::Tls(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(StartError::Tls(format!(
            "{}: no PEM certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| StartError::Tls(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// A PostgreSQL connection string, checked and given the store timeout: the database and the
/// user must be named (libpq would otherwise pick the OS user's, silently an empty store);
/// connecting, each statement (`statement_timeout`, server side) and unacknowledged writes
/// (`tcp_user_timeout`) are bounded by `timeout`.
///
/// # Errors
///
/// [`StartError::Environment`] naming what is missing or malformed.
pub fn postgres_config(url: &str, timeout: Duration) -> Result<tokio_postgres::Config, StartError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StartError::Environment(format!("TAP_DATABASE_URL: {e}")))?;
    for (name, given) in [
        ("dbname", config.get_dbname().is_some()),
        ("user", config.get_user().is_some()),
        ("host", !config.get_hosts().is_empty()),
    ] {
        if !given {
            return Err(StartError::Environment(format!(
                "TAP_DATABASE_URL names no {name}: name the host, the database and the user \
                 (host=db.internal dbname=tap user=tap, or postgresql://tap@db.internal/tap), \
                 so the service never runs silently against another database"
            )));
        }
    }
    let millis = timeout.as_millis();
    let options = match config.get_options() {
        Some(given) => format!("{given} -c statement_timeout={millis}"),
        None => format!("-c statement_timeout={millis}"),
    };
    config
        .options(options)
        .connect_timeout(timeout)
        .tcp_user_timeout(timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30))
        .application_name("temporary-access-pass-graph-service");
    Ok(config)
}

/// The store's target as the startup log names it: hosts, ports, database, user, schema
/// (`search_path` when the options set one) and tenant. Never the password.
#[must_use]
pub fn postgres_target(config: &tokio_postgres::Config, tenant: &str) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let schema = config
        .get_options()
        .and_then(|o| o.split("search_path=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("the user's search_path");
    format!(
        "host={} port={} dbname={} user={} schema={schema} tenant={tenant:?}",
        hosts.join(","),
        if ports.is_empty() {
            "5432".to_owned()
        } else {
            ports.join(",")
        },
        config.get_dbname().unwrap_or(""),
        config.get_user().unwrap_or(""),
    )
}

/// A pool of `size` connections whose every wait is bounded by `timeout`: for a connection
/// from the pool, to make one, to check one before reuse.
///
/// # Errors
///
/// [`StartError::Environment`] when the pool can't be built.
pub fn postgres_pool(
    config: tokio_postgres::Config,
    size: usize,
    timeout: Duration,
) -> Result<deadpool_postgres::Pool, StartError> {
    use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .build()
        .map_err(|e| StartError::Environment(format!("TAP_DATABASE_URL: {e}")))
}

/// A future that completes at the first SIGTERM or SIGINT, and logs which came. Listening
/// starts now, so a signal that comes before the future is polled still counts.
///
/// # Errors
///
/// When the process can't listen for signals (it could not be stopped gracefully).
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: no new connections");
    })
}

/// Reads the configuration's files, builds the store it names, and serves until SIGTERM or
/// SIGINT; then shuts down gracefully (see the module).
///
/// # Errors
///
/// [`StartError`]: a file that can't be read or is refused, keys that can't be had, a store
/// that does not open, an address that can't be bound.
pub async fn run(config: Config) -> Result<(), StartError> {
    let address = config.listen_address().await?;
    let authenticator = authenticator(&config.auth).await?;
    let directory = read_json(&config.directory_file, StaticDirectory::from_json)?;
    let engine = EngineConfig::new(Pepper::new(&read(&config.pepper_file)?)?);
    let tls = config
        .tls
        .as_ref()
        .map(|(cert, key)| tls_acceptor(cert, key))
        .transpose()?;
    let limits = config.limits;
    // Bound first: the public URL and the WebAuthn origin default to the bound port.
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    let webauthn = webauthn_settings(&config, scheme, local)?;
    tracing::info!(origin = %webauthn.origin, rp_id = %webauthn.rp_id, "passkeys");
    let listening = Listening {
        listener,
        tls,
        public_url,
    };
    if let Some(url) = &config.database_url {
        let pg = postgres_config(url, limits.store_timeout)?;
        tracing::info!(store = "postgresql", target = %postgres_target(&pg, &config.tenant), "the store");
        let pool = postgres_pool(pg, config.database_pool, limits.store_timeout)?;
        migrate(&pool).await?;
        let store = PgStore::new(pool.clone(), &config.tenant)?;
        let credentials = PgCredentials::new(pool.clone(), &config.tenant)
            .await
            .map_err(|e| StartError::Environment(e.to_string()))?;
        let onboarding =
            Onboarding::new(webauthn, Arc::new(credentials)).map_err(StartError::Environment)?;
        let app = App::new(
            AsyncEngine::new(system_clock(), store, engine),
            authenticator,
            directory,
        )
        .limits(limits)
        .onboarding(onboarding);
        serve_until_signalled(listening, app).await?;
        pool.close();
        tracing::info!("the PostgreSQL pool is closed");
    } else {
        tracing::info!(store = "sqlite", path = %config.sqlite_path.display(), busy_timeout_ms = limits.store_timeout.as_millis(), "the store");
        let store = SqliteStore::open_with(
            &config.sqlite_path,
            SqliteOptions::default().busy_timeout(limits.store_timeout),
        )?;
        let credentials = SqliteCredentials::open(&config.sqlite_path, limits.store_timeout)
            .map_err(|e| StartError::Environment(e.to_string()))?;
        let onboarding =
            Onboarding::new(webauthn, Arc::new(credentials)).map_err(StartError::Environment)?;
        let app = App::new(
            AsyncEngine::new(system_clock(), Blocking::new(store), engine),
            authenticator,
            directory,
        )
        .limits(limits)
        .onboarding(onboarding);
        serve_until_signalled(listening, app).await?;
        tracing::info!("the SQLite store is closed");
    }
    Ok(())
}

/// The WebAuthn relying party of `config`: `TAP_WEBAUTHN_ORIGIN` (by default the bound
/// address, as `localhost` when it is a loopback address: browsers refuse IP addresses as RP
/// IDs), its host the RP ID unless `TAP_WEBAUTHN_RP_ID` says otherwise.
fn webauthn_settings(
    config: &Config,
    scheme: &str,
    local: SocketAddr,
) -> Result<WebauthnSettings, StartError> {
    let origin = config.webauthn_origin.clone().unwrap_or_else(|| {
        if local.ip().is_loopback() {
            format!("{scheme}://localhost:{}", local.port())
        } else {
            format!("{scheme}://{local}")
        }
    });
    let mut settings = WebauthnSettings::for_origin(&origin)
        .map_err(|e| StartError::Environment(format!("TAP_WEBAUTHN_ORIGIN={e}")))?;
    if let Some(rp_id) = &config.webauthn_rp_id {
        settings.rp_id.clone_from(rp_id);
    }
    Ok(settings)
}

/// A bound listener, with what serving on it needs.
struct Listening {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    public_url: String,
}

async fn serve_until_signalled<S, A, D>(
    listening: Listening,
    app: App<S, A, D>,
) -> Result<(), StartError>
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let Listening {
        listener,
        tls,
        public_url,
    } = listening;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let app = app.public_url(public_url);
    // Listening for signals before saying so: a SIGTERM right after the line still counts.
    let stop = shutdown_signal()?;
    tracing::info!(address = %local, scheme, "listening");
    serve(listener, Arc::new(app), tls, stop).await?;
    Ok(())
}

/// Serves `app` on `listener` until `shutdown` completes, then shuts down gracefully (see the
/// module). Tests call it with a shutdown of their own.
///
/// # Errors
///
/// Only the listener's own errors that are not per connection.
pub async fn serve<S, A, D>(
    listener: TcpListener,
    app: Arc<App<S, A, D>>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let limits = app.limits;
    let graceful = GracefulShutdown::new();
    let mut accepting = Accepting {
        slots: Arc::new(Semaphore::new(limits.max_connections)),
        metrics: app.metrics.clone(),
        router: router(app),
        tls,
        limits,
        refusals_logged_at: None,
    };
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.as_mut() => break,
        };
        accepting.accept(accepted, &graceful).await;
    }
    // The connections the kernel accepted before the signal are served, not reset: the
    // listener, taken off the reactor, is drained until it would block.
    let listener = listener.into_std()?;
    let mut drained = 0_usize;
    loop {
        let accepted = match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => Err(e),
            Ok((stream, peer)) => stream
                .set_nonblocking(true)
                .and_then(|()| TcpStream::from_std(stream))
                .map(|stream| (stream, peer)),
        };
        if accepted.is_err() {
            break;
        }
        drained = drained.saturating_add(1);
        accepting.accept(accepted, &graceful).await;
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(
        open_connections = open,
        accepted_while_stopping = drained,
        grace_ms = limits.shutdown_grace.as_millis(),
        "the listener is closed; finishing in-flight requests"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = limits.shutdown_grace.as_millis(),
            "the grace ran out: the connections still open are cut"
        );
    } else {
        tracing::info!("every in-flight request finished");
    }
    Ok(())
}

/// What taking a connection needs: the routes, the connection slots, TLS, the limits, the
/// metrics, and when a refusal at the cap was last logged.
struct Accepting {
    router: Router,
    slots: Arc<Semaphore>,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    metrics: Metrics,
    refusals_logged_at: Option<std::time::Instant>,
}

impl Accepting {
    /// Takes one accepted connection: past the cap it is closed at once; otherwise it is
    /// served on a task of its own, watched by `graceful`.
    async fn accept(
        &mut self,
        accepted: std::io::Result<(TcpStream, SocketAddr)>,
        graceful: &GracefulShutdown,
    ) {
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, most likely: wait a little rather than spin.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
        };
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            self.metrics.refused_connection();
            if self
                .refusals_logged_at
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(10))
            {
                self.refusals_logged_at = Some(crate::telemetry::now());
                tracing::warn!(
                    max_connections = self.limits.max_connections,
                    "the connection cap is reached: new connections are closed at once"
                );
            }
            drop(stream);
            return;
        };
        serve_connection(stream, peer, slot, self, graceful);
    }
}

/// Serves one connection on a task of its own (TLS first, when configured), holding its slot.
fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: tokio::sync::OwnedSemaphorePermit,
    with: &Accepting,
    graceful: &GracefulShutdown,
) {
    let _ = stream.set_nodelay(true);
    let service = with
        .router
        .clone()
        .map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(with.limits.header_timeout)
        // Room for headers past the service's own limit, so it answers 431 in Graph's shape.
        .max_buf_size(crate::routes::MAX_HEADERS.saturating_mul(4).max(8192))
        .keep_alive(true);
    let watcher = graceful.watcher();
    let tls = with.tls.clone();
    let handshake_timeout = with.limits.header_timeout;
    tokio::spawn(async move {
        let _slot = slot;
        let service = TowerToHyperService::new(service);
        let served = match tls {
            None => {
                watcher
                    .watch(http.serve_connection(TokioIo::new(stream), service))
                    .await
            }
            Some(acceptor) => {
                match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        watcher
                            .watch(http.serve_connection(TokioIo::new(stream), service))
                            .await
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(%peer, %error, "a TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "a TLS handshake took too long");
                        return;
                    }
                }
            }
        };
        if let Err(error) = served {
            // Timeouts and resets of clients are theirs; debug only.
            tracing::debug!(%peer, %error, "a connection ended with an error");
        }
    });
}
