//! The reference service for a test: served in the test's process (over `serve`, as the
//! binary serves), or the binary itself as a child process with its JSON log collected; an
//! HTTP client, and raw HTTP for requests a client library would refuse to send.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper};
use temporary_access_pass_graph_service::identity::{Authenticator, StaticDirectory};
use temporary_access_pass_graph_service::passkeys::Onboarding;
use temporary_access_pass_graph_service::server::serve_with_ops;
use temporary_access_pass_graph_service::{App, Limits, SharedClock, system_clock};
use tokio::sync::oneshot;

/// The HTTP client of the tests, rustls on ring for the HTTPS ones.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A service running in the test's process.
#[derive(Debug)]
pub struct Running<S, A> {
    /// `http://` and its address.
    pub base: String,
    /// `http://` and the operations' address (readiness, metrics).
    pub ops: String,
    /// The service, to reach its engine and store from the test.
    pub app: Arc<App<S, A, StaticDirectory>>,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `store` with `authenticator`, the demonstration's directory and `limits`, on a
/// loopback port of its own.
pub async fn start<S: AsyncStore + 'static, A: Authenticator>(
    store: S,
    authenticator: A,
    limits: Limits,
) -> Running<S, A> {
    start_with(store, authenticator, limits, system_clock(), |_| None).await
}

/// As [`start`], with the engine reading `clock`, and the onboarding `onboarding` makes for
/// the origin it is given (`http://localhost:<port>`), or the default when it makes none.
pub async fn start_with<S: AsyncStore + 'static, A: Authenticator>(
    store: S,
    authenticator: A,
    limits: Limits,
    clock: SharedClock,
    onboarding: impl FnOnce(&str) -> Option<Onboarding>,
) -> Running<S, A> {
    let pepper = Pepper::new(b"the service's pepper, from its key vault").unwrap();
    let directory = StaticDirectory::from_json(crate::demo::DIRECTORY).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let base = format!("http://{address}");
    // A test's service stops at once when it is done: the drain is the binary's tests'.
    let mut limits = limits;
    limits.drain_period = Duration::ZERO;
    let mut app = App::new(
        AsyncEngine::new(clock, store, EngineConfig::new(pepper)),
        authenticator,
        directory,
    )
    .limits(limits)
    .public_url(base.clone());
    if let Some(onboarding) = onboarding(&format!("http://localhost:{}", address.port())) {
        app = app.onboarding(onboarding);
    }
    let app = Arc::new(app);
    let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ops_base = format!("http://{}", ops.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(serve_with_ops(
        listener,
        Some(ops),
        app.clone(),
        None,
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        base,
        ops: ops_base,
        app,
        stop: Some(stop),
        served,
    }
}

impl<S, A> Running<S, A> {
    /// Shuts the service down as a signal would, and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.served).await.unwrap().unwrap();
    }
}

/// The binary, started as a child process with `env`, its JSON log collected line by line.
#[derive(Debug)]
pub struct Binary {
    /// The process.
    pub child: Child,
    /// The address it listens on, from its "listening" line.
    pub address: String,
    /// Its log, a line a string.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// A directory with a pepper and the demonstration's files.
pub fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let pepper = dir.path().join("pepper");
    std::fs::write(&pepper, [7_u8; 32]).unwrap();
    (dir, pepper)
}

/// Sets `key` to `value` in `env`, in place of any earlier value.
pub fn set(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value.to_owned()));
}

/// Enables the policy for all users, multi-use passes, as `authorization` (a bearer token of
/// the demonstration's Global Administrator).
pub async fn enable_policy(base: &str, authorization: &str) {
    enable_policy_with(&client(), base, authorization).await;
}

/// As [`enable_policy`], through `http` (a client that trusts the service's certificate, say).
pub async fn enable_policy_with(http: &reqwest::Client, base: &str, authorization: &str) {
    let response = http
        .patch(format!("{base}{}", crate::demo::POLICY))
        .header("authorization", authorization)
        .json(&serde_json::json!({"state": "enabled", "isUsableOnce": false,
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]}))
        .send()
        .await
        .expect("the policy answers");
    assert_eq!(response.status(), 204, "enabling the policy");
}

/// A pass created for `user` on `base` through `http`, by the caller the header `(name,
/// value)` names (`authorization` and a bearer token, or the test authenticator's header): the
/// creation's JSON, its code included.
pub async fn create_pass(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    (name, value): (&str, &str),
) -> serde_json::Value {
    let response = http
        .post(format!("{base}{}", crate::demo::passes(user)))
        .header(name, value)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("the creation answers");
    assert_eq!(response.status(), 201, "creating a pass for {user}");
    response.json().await.expect("a pass as JSON")
}

/// The environment of the demonstration on SQLite at `dir`.
pub fn demo_env(dir: &Path, pepper: &Path) -> Vec<(String, String)> {
    [
        ("TAP_AUTHENTICATOR", "bearer-tokens".to_owned()),
        ("TAP_PEPPER_FILE", pepper.display().to_string()),
        (
            "TAP_DIRECTORY_FILE",
            format!("{}/directory.json", crate::demo::FILES),
        ),
        (
            "TAP_TOKENS_FILE",
            format!("{}/tokens.json", crate::demo::FILES),
        ),
        ("TAP_SQLITE_PATH", dir.join("tap.db").display().to_string()),
        ("TAP_LISTEN", "127.0.0.1:0".to_owned()),
        // A test's binary stops at once: the drain is the restart test's to try.
        ("TAP_DRAIN_PERIOD", "0s".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl Binary {
    /// Starts the binary with `env` (and nothing else of the test's environment that starts
    /// with `TAP_`), and waits for its "listening" line. `None` when it exits first, with its
    /// log.
    /// `executable` is the binary's path, which only the service's own integration tests
    /// know: [`crate::service_binary!`] names it.
    pub fn start(executable: &str, env: &[(String, String)]) -> Result<Self, Vec<String>> {
        let mut command = Command::new(executable);
        for (key, _) in std::env::vars() {
            if key.starts_with("TAP_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (found, address) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(value) = serde_json::from_str::<Value>(&line)
                    && value["message"] == "listening"
                {
                    let _ = found.send(value["address"].as_str().unwrap_or("").to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        if let Ok(address) = address.recv_timeout(Duration::from_secs(60)) {
            Ok(Self {
                child,
                address,
                log,
            })
        } else {
            let _ = child.kill();
            let _ = child.wait();
            // The reader has seen every line once the pipe closed.
            std::thread::sleep(Duration::from_millis(100));
            Err(log.lock().unwrap().clone())
        }
    }

    /// `http://` and the address.
    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `http://` and the operations' address, from its "operations listening" line, which
    /// comes before the "listening" one (set `TAP_OPS_LISTEN` to have one).
    pub fn ops_base(&self) -> Option<String> {
        self.lines()
            .iter()
            .find(|line| line["message"] == "operations listening")
            .and_then(|line| line["address"].as_str().map(|a| format!("http://{a}")))
    }

    /// Sends SIGTERM (as Docker, Kubernetes and systemd stop a service).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `within`; its exit status.
    pub fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let step = Duration::from_millis(20);
        let steps = within.as_millis() / step.as_millis();
        for _ in 0..=steps {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            std::thread::sleep(step);
        }
        panic!("the service did not exit within {within:?}");
    }

    /// The log's lines so far, parsed (every line must be one JSON object).
    pub fn lines(&self) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"))
            })
            .collect()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The status line and the headers.
    pub head: String,
    /// The body (one chunk's data when chunked).
    pub body: String,
}

impl RawResponse {
    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.head, self.body))
    }
}

/// Sends `request` as given on a connection of its own and reads until the server closes it
/// (the request should say `Connection: close`), within 10 s.
pub async fn raw(address: &str, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the server answers and closes within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    // A chunked body is de-chunked enough for JSON: the one chunk's data.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n").nth(1).unwrap_or("").to_owned()
    } else {
        body.to_owned()
    };
    RawResponse {
        status,
        head: head.to_owned(),
        body,
    }
}

/// The service's binary, for [`Binary::start`]: a path only the service's own
/// integration tests know, so the macro expands there.
#[macro_export]
macro_rules! service_binary {
    () => {
        env!("CARGO_BIN_EXE_temporary-access-pass-graph-service")
    };
}
