//! The issuer's signing keys fetched from its JWKS URL, kept so that fetching never stalls
//! authentication:
//!
//! - a request reads the cached set under a short lock and never waits for a fetch when it
//!   names a key the set holds;
//! - at most one fetch runs at a time, on a task of its own, outside the lock: when the set is
//!   older than the refresh interval, or a token names a key it lacks (at most once per
//!   `min_refetch`);
//! - a request naming a key the set lacks waits for the fetch in flight, at most
//!   [`MISS_WAIT`]: a key just rotated in is found, and made-up keys cost their own requests
//!   at most that;
//! - a failed fetch keeps the old set and backs off (1 s, doubling, at most 5 minutes or the
//!   refresh interval);
//! - a set older than `max_age` (a day by default) is no longer trusted: requests get 503, not
//!   a hang, until a fetch succeeds. Retired keys do not stay trusted for ever while fetches
//!   fail;
//! - the URL is `https` (plain `http` only for a loopback address: a sidecar, a test); no
//!   redirect is followed; a document over [`MAX_DOCUMENT`] is refused; a fetch gives up after
//!   its timeout ([`FETCH_TIMEOUT`] by default).

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use tokio::sync::watch;

use super::KeysError;
use crate::clock::now;

/// The largest JWKS document taken, in bytes (Entra's holds a few keys, about 10 KiB).
pub const MAX_DOCUMENT: usize = 256 * 1024;

/// The longest a fetch of the keys may take, by default.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a request naming an unknown key waits for the fetch in flight.
pub const MISS_WAIT: Duration = Duration::from_secs(2);

/// The first wait after a failed fetch; it doubles with each failure that follows.
const FIRST_BACK_OFF: Duration = Duration::from_secs(1);

/// The longest wait after failed fetches.
const MAX_BACK_OFF: Duration = Duration::from_secs(300);

/// How fetched keys are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTimes {
    /// How old the set may grow before it is fetched again.
    pub refresh: Duration,
    /// How soon after a fetch for an unknown key another may follow.
    pub min_refetch: Duration,
    /// How old the set may grow, fetches failing, before its keys are no longer trusted.
    pub max_age: Duration,
    /// The longest one fetch may take.
    pub fetch_timeout: Duration,
}

impl KeyTimes {
    /// Refreshed every `refresh`, refetched for an unknown key at most once a minute, trusted
    /// for a day at most, each fetch given [`FETCH_TIMEOUT`].
    #[must_use]
    pub const fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            min_refetch: Duration::from_secs(60),
            max_age: Duration::from_secs(24 * 3600),
            fetch_timeout: FETCH_TIMEOUT,
        }
    }
}

/// What the cache says of a key.
pub(super) enum Lookup {
    /// The key.
    Found(Box<Jwk>),
    /// The set, fresh enough, has no such key.
    Unknown,
    /// The set is older than its maximum age: no key is trusted.
    Stale(Duration),
}

struct State {
    set: Arc<JwkSet>,
    fetched_at: Instant,
    fetching: bool,
    not_before: Instant,
    failures: u32,
    miss_at: Option<Instant>,
}

/// Keys fetched from a URL (see the module).
pub(super) struct RemoteKeys {
    url: String,
    client: reqwest::Client,
    pub(super) times: KeyTimes,
    state: Mutex<State>,
    fetched: watch::Sender<u64>,
}

/// Whether `url` may serve keys: `https`, or `http` to a loopback address.
fn allowed(url: &str) -> Result<(), KeysError> {
    let refused = |why: &str| KeysError::Url {
        url: url.to_owned(),
        why: why.to_owned(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| refused(&e.to_string()))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(refused(
            "the keys must come over https (plain http only from loopback)",
        )),
    }
}

/// One fetch of the set: a success status, a document of at most [`MAX_DOCUMENT`] bytes.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<JwkSet, KeysError> {
    let failed = |error: String| KeysError::Fetch {
        url: url.to_owned(),
        error,
    };
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "answered {status} (redirects are not followed)"
        )));
    }
    let too_large = || failed(format!("the document is larger than {MAX_DOCUMENT} bytes"));
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
        if body.len().saturating_add(chunk.len()) > MAX_DOCUMENT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&body)?)
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RemoteKeys {
    /// The keys at `url`, fetched once now: the service does not start without them.
    pub(super) async fn fetch_first(url: &str, times: KeyTimes) -> Result<Self, KeysError> {
        allowed(url)?;
        // The HTTPS client's crypto: rustls on ring, set once for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(times.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KeysError::Fetch {
                url: url.to_owned(),
                error: e.to_string(),
            })?;
        let set = fetch(&client, url).await?;
        let at = now();
        Ok(Self {
            url: url.to_owned(),
            client,
            times,
            state: Mutex::new(State {
                set: Arc::new(set),
                fetched_at: at,
                fetching: false,
                not_before: at,
                failures: 0,
                miss_at: None,
            }),
            fetched: watch::Sender::new(0),
        })
    }

    /// The key named `kid` (see the module for when this starts a fetch, and waits for one).
    pub(super) async fn key(self: &Arc<Self>, kid: &str) -> Lookup {
        let waiting = {
            let mut state = lock(&self.state);
            let at = now();
            let found = state.set.find(kid).is_some();
            let old = at.saturating_duration_since(state.fetched_at) >= self.times.refresh;
            let may_look = !found
                && state.miss_at.is_none_or(|miss| {
                    at.saturating_duration_since(miss) >= self.times.min_refetch
                });
            if (old || may_look) && !state.fetching && at >= state.not_before {
                state.fetching = true;
                if may_look {
                    state.miss_at = Some(at);
                }
                let keys = Arc::clone(self);
                tokio::spawn(async move { keys.refresh().await });
            }
            (!found && state.fetching).then(|| self.fetched.subscribe())
        };
        if let Some(mut fetched) = waiting {
            let _ = tokio::time::timeout(MISS_WAIT, fetched.changed()).await;
        }
        let state = lock(&self.state);
        let age = now().saturating_duration_since(state.fetched_at);
        if age > self.times.max_age {
            return Lookup::Stale(age);
        }
        state
            .set
            .find(kid)
            .map_or(Lookup::Unknown, |key| Lookup::Found(Box::new(key.clone())))
    }

    /// One fetch, on a task of its own; its outcome kept, and told to whoever waits.
    async fn refresh(self: Arc<Self>) {
        let fetched = fetch(&self.client, &self.url).await;
        {
            let mut state = lock(&self.state);
            let at = now();
            state.fetching = false;
            match fetched {
                Ok(set) => {
                    tracing::info!(keys = set.keys.len(), "the token signing keys were fetched");
                    state.set = Arc::new(set);
                    state.fetched_at = at;
                    state.failures = 0;
                    state.not_before = at;
                }
                Err(error) => {
                    state.failures = state.failures.saturating_add(1);
                    let back_off = back_off(state.failures, self.times.refresh);
                    state.not_before = at.checked_add(back_off).unwrap_or(at);
                    tracing::warn!(
                        %error,
                        failures = state.failures,
                        retry_in_ms = u64::try_from(back_off.as_millis()).unwrap_or(u64::MAX),
                        "the token signing keys could not be fetched; the old ones stay"
                    );
                }
            }
        }
        self.fetched.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// The wait after `failures` failed fetches in a row: 1 s, doubling, at most 5 minutes or
/// `refresh`.
fn back_off(failures: u32, refresh: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_BACK_OFF
        .saturating_mul(1_u32 << doublings)
        .min(MAX_BACK_OFF)
        .min(refresh)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{allowed, back_off};

    #[test]
    fn keys_come_over_https_or_from_loopback() {
        assert!(allowed("https://login.microsoftonline.com/common/discovery/v2.0/keys").is_ok());
        assert!(allowed("http://127.0.0.1:9000/keys").is_ok());
        assert!(allowed("http://[::1]:9000/keys").is_ok());
        assert!(allowed("http://localhost/keys").is_ok());
        for refused in [
            "http://login.microsoftonline.com/common/discovery/v2.0/keys",
            "http://10.0.0.1/keys",
            "ftp://127.0.0.1/keys",
            "file:///etc/keys.json",
            "not a url",
        ] {
            assert!(allowed(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn failed_fetches_back_off_doubling_to_a_cap() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (1..=11).map(|n| back_off(n, hour).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(back_off(u32::MAX, hour), Duration::from_secs(300));
        assert_eq!(
            back_off(9, Duration::from_secs(100)),
            Duration::from_secs(100),
            "never longer than the refresh interval"
        );
    }
}
