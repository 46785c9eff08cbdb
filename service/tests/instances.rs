//! Two service processes on one PostgreSQL, behind one origin as a load balancer would put
//! them (SPEC 8.4): a passkey ceremony's options come from one and its answer goes to the
//! other, and the key registers; the process that issued the options is killed with SIGKILL
//! before the answer, and the other completes the ceremony; a process restarted between the
//! two steps loses nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    reason = "tests: a failed step is a failed test"
)]

use serde_json::{Value, json};
use temporary_access_pass_testkit::demo::{GA_TOKEN, HELPDESK_TOKEN};
use temporary_access_pass_testkit::passkey::sign_in;
use temporary_access_pass_testkit::postgres::Scratch;
use temporary_access_pass_testkit::service::{
    Binary, client, create_pass, demo_env, enable_policy, scratch, set,
};
use temporary_access_pass_testkit::service_binary;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, Url};

const CHRIS: &str = "chris@contoso.com";

/// The origin both processes serve the onboarding page for, as behind one load balancer.
const ORIGIN: &str = "https://tap.contoso.example";

/// A process of the service on the scratch schema.
fn instance(env: &[(String, String)]) -> Binary {
    Binary::start(service_binary!(), env).unwrap_or_else(|log| panic!("{log:#?}"))
}

/// A pass for Chris, signed in on `base`: the registration session's cookie.
async fn signed_in(base: &str) -> String {
    let created = create_pass(&client(), base, CHRIS, ("authorization", HELPDESK_TOKEN)).await;
    let code = created["temporaryAccessPass"].as_str().unwrap();
    let response = client()
        .post(format!("{base}/signIn/temporaryAccessPass"))
        .json(&json!({"userId": CHRIS, "temporaryAccessPass": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The registration options of the session `cookie`, from `base`.
async fn options(base: &str, cookie: &str) -> CreationChallengeResponse {
    let response = client()
        .post(format!("{base}/webauthn/registration/options"))
        .header("cookie", cookie)
        .json(&json!({"userId": CHRIS, "displayName": "Red key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The key's answer to `options`, sent to `base` under the session `cookie`: the status.
async fn register(
    base: &str,
    cookie: &str,
    key: &mut SoftPasskey,
    options: CreationChallengeResponse,
) -> (u16, Value) {
    let credential = key
        .do_registration(Url::parse(ORIGIN).unwrap(), options)
        .unwrap();
    let response = client()
        .post(format!("{base}/webauthn/registration"))
        .header("cookie", cookie)
        .json(&json!({"userId": CHRIS, "displayName": "Red key", "credential": credential}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_begun_on_one_instance_ends_on_another_even_after_a_sigkill_or_a_restart() {
    let schema = Scratch::new("instances").await;
    let (dir, pepper) = scratch();
    let mut env = demo_env(dir.path(), &pepper);
    let database = schema.url();
    set(&mut env, "TAP_DATABASE_URL", &database);
    set(&mut env, "TAP_TENANT", "contoso");
    set(&mut env, "TAP_WEBAUTHN_ORIGIN", ORIGIN);
    let one = instance(&env);
    let mut other = instance(&env);
    enable_policy(&one.base(), GA_TOKEN).await;

    // Options from one, the answer to the other.
    let session = signed_in(&one.base()).await;
    let mut first = SoftPasskey::new(true);
    let issued = options(&one.base(), &session).await;
    let (status, method) = register(&other.base(), &session, &mut first, issued).await;
    assert_eq!(status, 201, "{method}");

    // Options from one, which is then killed; the other completes the ceremony.
    let mut one = one;
    let issued = options(&one.base(), &session).await;
    one.child.kill().unwrap();
    one.child.wait().unwrap();
    let mut second = SoftPasskey::new(true);
    let (status, method) = register(&other.base(), &session, &mut second, issued).await;
    assert_eq!(status, 201, "{method}");

    // Options from the other, which is then stopped and started again: nothing is lost.
    let issued = options(&other.base(), &session).await;
    other.terminate();
    assert!(other.wait(std::time::Duration::from_secs(30)).success());
    let restarted = instance(&env);
    let mut third = SoftPasskey::new(true);
    let (status, method) = register(&restarted.base(), &session, &mut third, issued).await;
    assert_eq!(status, 201, "{method}");

    // Each key signs in, on whichever instance.
    let origin = Url::parse(ORIGIN).unwrap();
    for key in [&mut first, &mut second, &mut third] {
        let (status, signed_in) = sign_in(&restarted.base(), CHRIS, key, &origin).await;
        assert_eq!(status, 200, "{signed_in}");
    }
    let keys: Value = client()
        .get(format!(
            "{}/v1.0/users/{CHRIS}/authentication/fido2Methods",
            restarted.base()
        ))
        .header("authorization", HELPDESK_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["value"].as_array().unwrap().len(), 3, "{keys}");
    drop(dir);
}
