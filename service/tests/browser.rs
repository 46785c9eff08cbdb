//! The onboarding page in a real browser (SPEC 8): Debian's Chromium, headless, driven by
//! `chromedriver` over WebDriver, with WebDriver's virtual authenticator (a CTAP2 key with
//! resident keys and user verification) standing in for the user's security key. The test
//! walks the page: the user and the code, "Register a security key", "Sign in with your
//! passkey"; then checks the key is listed in Graph's shape and held by the authenticator.
//! Then an administrator provisions a second key for the user as Graph does (the options from
//! the API, the key made by a second virtual authenticator in the page, the answer posted
//! back) and deletes it, and an answer the deleted key signs is refused. On failure it saves a
//! screenshot under `target/browser-screenshots/` and says where.
//!
//! `.ci/run` installs `chromium` and `chromium-driver` when missing; `TAP_CHROMIUM` and
//! `TAP_CHROMEDRIVER` name other binaries. With `TAP_SCREENSHOT=<file.png>` the test also saves
//! the finished page there (the README's picture).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::too_many_lines,
    reason = "tests: a failed step is a failed test, and it says where its screenshot is"
)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use temporary_access_pass_graph_service::blocking::Blocking;
use temporary_access_pass_graph_service::identity::TestHeaders;
use temporary_access_pass_graph_service::passkeys::{Onboarding, WebauthnSettings};
use temporary_access_pass_graph_service::{Limits, POLICY_PATH, system_clock};
use temporary_access_pass_sqlite::SqliteStore;
use temporary_access_pass_testkit::demo::{GA, HELPDESK};
use temporary_access_pass_testkit::service::{client, start_with};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn binary(variable: &str, default: &str) -> String {
    let path = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: install Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver; .ci/run does), or set {variable}"
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `chromedriver`, killed when dropped.
struct Chromedriver(Child);

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session.
struct Browser {
    http: reqwest::Client,
    session: String,
    screenshots: PathBuf,
}

impl Browser {
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {value}");
        value["value"].clone()
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_owned()
    }

    /// Opens the page and signs Chris in with `code`.
    async fn sign_in_with_pass(&self, origin: &webauthn_rs::prelude::Url, code: &str) {
        self.command(
            reqwest::Method::POST,
            "/url",
            Some(json!({"url": format!("{origin}onboarding")})),
        )
        .await;
        self.type_into("#user", "chris@contoso.com").await;
        self.type_into("#code", code).await;
        self.click("#sign-in").await;
    }

    async fn screenshot(&self, to: &std::path::Path) {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(to, bytes).unwrap();
    }

    /// Waits up to 20 s for the status line to say `expected`; a message in the alert region,
    /// or the time running out, fails the step with a screenshot.
    async fn expect_status(&self, step: &str, expected: &str) {
        for _ in 0..200 {
            let status = self.text("#status").await;
            if status.contains(expected) {
                return;
            }
            let error = self.text("#error").await;
            if !error.is_empty() {
                self.fail(step, &format!("the page says: {error}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let status = self.text("#status").await;
        self.fail(
            step,
            &format!("waited 20 s for {expected:?}; the status says {status:?}"),
        )
        .await;
    }

    async fn fail(&self, step: &str, why: &str) -> ! {
        let file = self.screenshots.join(format!("{step}.png"));
        self.screenshot(&file).await;
        panic!("{step}: {why} (screenshot: {})", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_then_a_security_key_then_a_passkey_sign_in_in_chromium() {
    let chromium = binary("TAP_CHROMIUM", "/usr/bin/chromium");
    let chromedriver = binary("TAP_CHROMEDRIVER", "/usr/bin/chromedriver");

    // The service, on SQLite, its page served for http://localhost:<port>.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.db");
    let store = Blocking::new(SqliteStore::open(&path).unwrap());
    let running = start_with(
        store,
        TestHeaders,
        Limits::default(),
        system_clock(),
        |origin| {
            Some(Onboarding::new(WebauthnSettings::for_origin(origin).unwrap(), None).unwrap())
        },
    )
    .await;
    let origin = running.app.onboarding.settings().origin.clone();
    let http = client();
    let enabled = http
        .patch(format!("{}/v1.0{POLICY_PATH}", running.base))
        .header("x-test-principal", GA)
        .json(&json!({"state": "enabled", "isUsableOnce": true,
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), 204);
    let created: Value = http
        .post(format!(
            "{}/v1.0/users/chris@contoso.com/authentication/temporaryAccessPassMethods",
            running.base
        ))
        .header("x-test-principal", HELPDESK)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = created["temporaryAccessPass"].as_str().unwrap().to_owned();

    // Chromium, headless, with a virtual authenticator.
    let port = free_port();
    let _driver = Chromedriver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{driver}/status")).send().await
            && r.status().is_success()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "chromedriver did not start");
    let profile = tempfile::tempdir().unwrap();
    let created: Value = http
        .post(format!("{driver}/session"))
        .json(&json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "webauthn:virtualAuthenticators": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=900,1100",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
        .to_owned();
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
        PathBuf::from,
    );
    let browser = Browser {
        http: http.clone(),
        session: format!("{driver}/session/{session}"),
        screenshots: target.join("browser-screenshots"),
    };
    let authenticator = browser
        .command(
            reqwest::Method::POST,
            "/webauthn/authenticator",
            Some(
                json!({"protocol": "ctap2", "transport": "usb", "hasResidentKey": true,
                "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true}),
            ),
        )
        .await;
    let authenticator = authenticator.as_str().unwrap().to_owned();

    // The page: the user and the code.
    browser.sign_in_with_pass(&origin, &code).await;
    browser
        .expect_status("1-sign-in", "Signed in as chris@contoso.com")
        .await;
    // A security key, in the window.
    browser.click("#register").await;
    browser
        .expect_status("2-register", "Security key \"My security key\" registered")
        .await;
    // A sign-in with it: no pass.
    browser.click("#passkey-sign-in").await;
    browser
        .expect_status(
            "3-passkey-sign-in",
            "Signed in with your passkey as chris@contoso.com",
        )
        .await;
    if let Ok(file) = std::env::var("TAP_SCREENSHOT") {
        browser.screenshot(std::path::Path::new(&file)).await;
        eprintln!("the page: {file}");
    }

    // The key is the service's and the authenticator's.
    let keys: Value = http
        .get(format!(
            "{}/v1.0/users/chris@contoso.com/authentication/fido2Methods",
            running.base
        ))
        .header("x-test-principal", HELPDESK)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = keys["value"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["displayName"], "My security key");
    let held = browser
        .command(
            reqwest::Method::GET,
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            None,
        )
        .await;
    let held = held.as_array().unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["credentialId"], keys[0]["id"]);
    assert_eq!(held[0]["rpId"], "localhost");
    assert!(
        held[0]["signCount"].as_u64().unwrap() >= 1,
        "the sign-in used the key"
    );

    // The pass was one-time: the page's second sign-in with it is refused, in words.
    browser.sign_in_with_pass(&origin, &code).await;
    let mut refused = String::new();
    for _ in 0..100 {
        refused = browser.text("#error").await;
        if !refused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !refused.contains("Sign-in failed: that Temporary Access Pass was not accepted") {
        browser
            .fail("4-used-pass", &format!("the alert says {refused:?}"))
            .await;
    }
    // An administrator provisions a second key for Chris, as Graph does: the options from the
    // API, the key made by a second virtual authenticator in the page (the first holds a key
    // the options exclude), the answer posted back.
    browser
        .command(
            reqwest::Method::DELETE,
            &format!("/webauthn/authenticator/{authenticator}"),
            None,
        )
        .await;
    let authenticator = browser
        .command(
            reqwest::Method::POST,
            "/webauthn/authenticator",
            Some(
                json!({"protocol": "ctap2", "transport": "usb", "hasResidentKey": true,
                "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true}),
            ),
        )
        .await;
    let authenticator = authenticator.as_str().unwrap().to_owned();
    let fido2 = format!(
        "{}/v1.0/users/chris@contoso.com/authentication/fido2Methods",
        running.base
    );
    let options: Value = http
        .get(format!("{fido2}/creationOptions"))
        .header("x-test-principal", HELPDESK)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let made = browser
        .command(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": MAKE_KEY, "args": [options["value"]["publicKey"]]})),
        )
        .await;
    if made.get("error").is_some() {
        browser
            .fail("5-provision", &format!("the browser says {made}"))
            .await;
    }
    let provisioned = http
        .post(&fido2)
        .header("x-test-principal", HELPDESK)
        .json(&json!({"displayName": "Provisioned key", "publicKeyCredential": made}))
        .send()
        .await
        .unwrap();
    assert_eq!(provisioned.status(), 201);
    let provisioned: Value = provisioned.json().await.unwrap();
    let second = provisioned["id"].as_str().unwrap().to_owned();
    let held = browser
        .command(
            reqwest::Method::GET,
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            None,
        )
        .await;
    assert_eq!(
        held.as_array().unwrap().len(),
        1,
        "the second authenticator holds its key"
    );
    assert_eq!(held[0]["credentialId"], second.as_str());
    let listed: Value = http
        .get(&fido2)
        .header("x-test-principal", HELPDESK)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["value"].as_array().unwrap().len(), 2, "{listed}");
    // Deleted by the administrator: the second key is gone, and an answer it signs is refused.
    let deleted = http
        .delete(format!("{fido2}/{second}"))
        .header("x-test-principal", HELPDESK)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let answered = browser
        .command(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": SIGN_WITH, "args": [second]})),
        )
        .await;
    assert_eq!(
        answered["status"], 401,
        "a deleted key signs nobody in: {answered}"
    );
    browser.command(reqwest::Method::DELETE, "", None).await;
    running.stop().await;
}

/// In the page: `navigator.credentials.create` with Graph's creation options (base64url
/// fields), answered with Graph's `webauthnPublicKeyCredential`.
const MAKE_KEY: &str = r"
const [options, done] = arguments;
const publicKey = Object.assign({}, options, {
  challenge: b64urlToBytes(options.challenge),
  user: Object.assign({}, options.user, { id: b64urlToBytes(options.user.id) }),
  excludeCredentials: (options.excludeCredentials || []).map((c) =>
    Object.assign({}, c, { id: b64urlToBytes(c.id) })),
});
navigator.credentials.create({ publicKey }).then(
  (made) => done({
    id: made.id,
    response: {
      clientDataJSON: bytesToB64url(made.response.clientDataJSON),
      attestationObject: bytesToB64url(made.response.attestationObject),
    },
    clientExtensionResults: {},
  }),
  (error) => done({ error: String(error) }));
";

/// In the page: a passkey sign-in's options for Chris, answered by the key `id` alone (as an
/// attacker holding a deleted key would), and the status of the service's answer.
const SIGN_WITH: &str = r#"
const [id, done] = arguments;
(async () => {
  const options = await post("/webauthn/authentication/options", { userId: "chris@contoso.com" });
  const publicKey = Object.assign({}, options.publicKey, {
    challenge: b64urlToBytes(options.publicKey.challenge),
    allowCredentials: [{ type: "public-key", id: b64urlToBytes(id) }],
  });
  const answer = await navigator.credentials.get({ publicKey });
  const response = await fetch("/webauthn/authentication", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ userId: "chris@contoso.com", credential: {
      id: answer.id,
      rawId: bytesToB64url(answer.rawId),
      type: answer.type,
      response: {
        authenticatorData: bytesToB64url(answer.response.authenticatorData),
        clientDataJSON: bytesToB64url(answer.response.clientDataJSON),
        signature: bytesToB64url(answer.response.signature),
        userHandle: answer.response.userHandle ? bytesToB64url(answer.response.userHandle) : null,
      },
      extensions: {},
    } }),
  });
  done({ status: response.status });
})().catch((error) => done({ error: String(error) }));
"#;
