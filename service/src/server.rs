//! Serving: hyper's server loop, driven here rather than by `axum::serve`, which sets neither
//! a header timeout nor a connection cap:
//!
//! - at most `max_connections` connections are open; one more is closed at once (counted in
//!   `tap_refused_connections`, logged at most every 10 s);
//! - a connection's request headers must arrive within `header_timeout`, and an idle
//!   keep-alive connection is closed after as long (hyper's header-read timer runs from the
//!   end of one response to the end of the next request's headers), so a slowloris client is
//!   cut off; a TLS handshake has as long too;
//! - on SIGTERM or SIGINT ([`shutdown_signal`]) the instance drains first: for `drain_period`
//!   it keeps accepting and serving, with readiness failed (a load balancer takes it out of
//!   rotation) and `Connection: close` on every response (a keep-alive client opens its next
//!   request elsewhere, not on a connection about to close under it); then the listener stops
//!   (the connections the kernel had already accepted are served first), idle connections
//!   close, in-flight requests get up to `shutdown_grace` to finish with `Connection: close`.
//!   Each step is logged.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;
use axum::http::header::{CONNECTION, STRICT_TRANSPORT_SECURITY};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use temporary_access_pass::store::AsyncStore;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::app::App;
use crate::clock::now;
use crate::config::Limits;
use crate::http::{MAX_HEADER_LINES, MAX_HEADERS};
use crate::identity::{Authenticator, Directory};
use crate::routes::{ops_router, router};
use crate::telemetry::Metrics;

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
    serve_with_ops(listener, None, app, tls, shutdown).await
}

/// As [`serve`], and the operations' routes ([`ops_router`]: liveness, readiness, metrics) on
/// `ops` when given: plain HTTP, at most [`OPS_MAX_CONNECTIONS`] connections, served until the
/// public listener has finished its in-flight requests, so readiness and metrics answer while
/// it drains.
///
/// # Errors
///
/// Only the public listener's own errors that are not per connection.
pub async fn serve_with_ops<S, A, D>(
    listener: TcpListener,
    ops: Option<TcpListener>,
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
    let _ticking = AbortOnDrop(tokio::spawn(every_second(app.clone())));
    let draining = app.draining_flag();
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let ops = ops.map(|ops| {
        let mut ops_limits = limits;
        ops_limits.max_connections = OPS_MAX_CONNECTIONS.min(limits.max_connections);
        let accepting = Accepting::new(
            ops_router(app.clone()),
            None,
            ops_limits,
            &app.metrics,
            draining.clone(),
        );
        let mut stopped = stopped.clone();
        let until = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        AbortOnDrop(tokio::spawn(async move {
            if let Err(error) = accept_until(ops, accepting, until, "operations").await {
                tracing::warn!(%error, "the operations' listener failed");
            }
        }))
    });
    let metrics = app.metrics.clone();
    let draining_app = app.clone();
    let until = async move {
        shutdown.await;
        draining_app.drain();
        if !limits.drain_period.is_zero() {
            tracing::info!(
                drain_ms = u64::try_from(limits.drain_period.as_millis()).unwrap_or(u64::MAX),
                "draining: readiness fails and every response closes its connection"
            );
            tokio::time::sleep(limits.drain_period).await;
        }
    };
    let accepting = Accepting::new(router(app), tls, limits, &metrics, draining);
    let served = accept_until(listener, accepting, until, "public").await;
    let _ = stopping.send(true);
    if let Some(mut ops) = ops {
        let _ = (&mut ops.0).await;
    }
    served
}

/// How long connections accepted just before the listener closed have to send their first
/// request before idle connections are closed.
const SETTLE: Duration = Duration::from_millis(250);

/// The most connections the operations' address takes at once (probes and scrapers).
pub const OPS_MAX_CONNECTIONS: usize = 64;

/// Accepts on `listener` until `until` completes, then drains and shuts down gracefully (see
/// the module); `name` names the listener in the log.
async fn accept_until(
    listener: TcpListener,
    mut accepting: Accepting,
    until: impl Future<Output = ()>,
    name: &'static str,
) -> std::io::Result<()> {
    let limits = accepting.limits;
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(until);
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
    // Connections accepted just before the listener closed (during a drain every request opens
    // one) may not have sent their request yet: a moment for it to arrive, so it is served
    // rather than its connection closed as idle under it.
    if drained > 0 || !limits.drain_period.is_zero() {
        tokio::time::sleep(SETTLE.min(limits.shutdown_grace)).await;
    }
    let open = graceful.count();
    tracing::info!(
        listener = name,
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
            listener = name,
            grace_ms = limits.shutdown_grace.as_millis(),
            "the grace ran out: the connections still open are cut"
        );
    } else {
        tracing::info!(listener = name, "every in-flight request finished");
    }
    Ok(())
}

/// `Strict-Transport-Security` on every response the service serves over TLS itself.
pub const HSTS: &str = "max-age=31536000";

/// Once a second while the service serves: forgets the sign-in limiter's sources that have
/// been idle long enough, so its memory stays bounded without a request ever paying for a scan
/// of every source (a stream of requests from many addresses would otherwise make each one
/// slower); and keeps a timer at most a second away in tokio's timer wheel. Tokio wakes its
/// timer driver whenever a timer is registered earlier than the wake the driver last promised;
/// between two requests of a quiet connection the wheel held nothing earlier than the
/// connection's idle timeout, so each request's store timeout (and the others) woke the driver:
/// an `eventfd` write, an `epoll` wake and a thread switch, once or twice a request, which added
/// to a single connection's latency (BENCHMARKS.md, "The service under load"). With this tick
/// in the wheel, no timeout of a second or more is ever the earliest.
async fn every_second<S, A, D>(app: Arc<App<S, A, D>>)
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        app.forget_idle_sources();
    }
}

/// A task that ends when its handle is dropped, however `serve` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What taking a connection needs: the routes, the connection slots, TLS, the limits, the
/// metrics, and when a refusal at the cap was last logged.
struct Accepting {
    router: Router,
    slots: Arc<Semaphore>,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    metrics: Metrics,
    draining: Arc<AtomicBool>,
    refusals_logged_at: Option<std::time::Instant>,
}

impl Accepting {
    fn new(
        router: Router,
        tls: Option<TlsAcceptor>,
        limits: Limits,
        metrics: &Metrics,
        draining: Arc<AtomicBool>,
    ) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            metrics: metrics.clone(),
            router,
            tls,
            limits,
            draining,
            refusals_logged_at: None,
        }
    }

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
                self.refusals_logged_at = Some(now());
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
    let https = with.tls.is_some();
    let draining = with.draining.clone();
    let service = with
        .router
        .clone()
        .map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        })
        .map_response(move |mut response: Response| {
            // Served over TLS, the service tells browsers to come back only over it (a year,
            // this host only: its siblings are not the service's to bind).
            if https {
                response
                    .headers_mut()
                    .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
            }
            // Draining for a shutdown: the client opens its next request elsewhere, rather
            // than on a connection the instance is about to close under it.
            if draining.load(Ordering::SeqCst) {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            response
        });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(with.limits.header_timeout)
        // Room for headers past the service's own limit, so it answers 431 in Graph's shape.
        .max_buf_size(MAX_HEADERS.saturating_mul(4).max(8192))
        // Where hyper's default is 100 lines: more reach the envelope, whose 431 is Graph's.
        .max_headers(MAX_HEADER_LINES)
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
