//! A passkey's answers, against the relying party's own state (`http://localhost`, no
//! attestation roots): a creation answer whole (JSON), or one the harness wraps so that the
//! input's parts reach past the client data (the state's challenge, the origin, `none`
//! attestation, the RP ID's hash, a P-256 key in COSE form, each as the input chooses); a
//! sign-in answer whole, or wrapped the same way, against a key registered by the harness; and
//! an attestation object's authenticator data read for its AAGUID.
//!
//! What must hold:
//! - a creation taken registers the credential id its authenticator data states, under the
//!   AAGUID that data states (none when it states zeros or no credential);
//! - a sign-in answer is never taken: its signature would need the key's private half, which
//!   the harness never uses to sign;
//! - a sign-in's answer names an allowed key only when the options allowed its id;
//! - the AAGUID read from any bytes is the one at its place in the authenticator data.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_cbor_2::Value as Cbor;
use sha2::{Digest as _, Sha256};
use temporary_access_pass::UserId;
use temporary_access_pass::grant::Initiator;
use temporary_access_pass::method::{MethodId, MethodName, MethodOrigin, RegisteredMethod};
use temporary_access_pass::time::UtcDateTime;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};
use webauthn_rs_proto::{
    AuthenticationExtensionsClientOutputs, AuthenticatorAssertionResponseRaw,
    AuthenticatorAttestationResponseRaw, RegistrationExtensionsClientOutputs,
};

use crate::passkeys::{Onboarding, stated_aaguid};

/// The client data of an answer.
#[derive(Debug, Arbitrary)]
enum ClientData {
    /// The right type, the state's challenge, the relying party's origin.
    Right,
    /// As the input writes it.
    Raw(Vec<u8>),
    /// The right type and origin, and the input's challenge.
    Challenge(Vec<u8>),
    /// The right challenge and type, and the input's origin.
    Origin(String),
}

/// The public key in the attested credential data.
#[derive(Debug, Arbitrary)]
enum CoseKey {
    /// The harness's own public key: a point on the curve, so that a creation can be taken.
    Harness,
    /// A P-256 key in COSE form (ES256).
    P256 { x: [u8; 32], y: [u8; 32] },
    /// Bytes, as the input writes them.
    Raw(Vec<u8>),
}

/// Authenticator data, built from its parts.
#[derive(Debug, Arbitrary)]
struct AuthData {
    /// `SHA-256("localhost")`, or the input's 32 bytes.
    rp_id_hash: Option<[u8; 32]>,
    flags: u8,
    counter: u32,
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    key: CoseKey,
    tail: Vec<u8>,
}

/// What the input is.
#[derive(Debug, Arbitrary)]
enum Input {
    CreationJson(Vec<u8>),
    Creation {
        raw_id: Vec<u8>,
        format: Option<String>,
        data: AuthData,
        client: ClientData,
    },
    SignInJson(Vec<u8>),
    SignIn {
        raw_id: Option<Vec<u8>>,
        data: AuthData,
        signature: Vec<u8>,
        user_handle: Option<Vec<u8>>,
        client: ClientData,
    },
    Aaguid(Vec<u8>),
    /// An attestation object built around authenticator data from its parts.
    AaguidOf {
        format: String,
        data: AuthData,
    },
}

/// The fuzz target (see the module).
///
/// # Panics
///
/// When an outcome breaks one of the module's properties.
#[must_use]
pub fn run(data: &[u8]) -> Option<Verdict> {
    super::input::<Input>(data).map(check)
}

/// What became of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Refused, or nothing read.
    Refused,
    /// A creation answer taken: a key registered.
    Registered,
    /// A sign-in answer that names the allowed key (and is still refused: no signature).
    Named,
    /// An AAGUID read from an attestation object.
    Aaguid,
}

struct Harness {
    onboarding: Onboarding,
    user: UserId,
    /// A key registered by the harness, and its id.
    registered: (MethodId, RegisteredMethod),
}

/// The public half of the jwt target's key, x and y of a P-256 point: any point serves.
const HARNESS_X: [u8; 32] = [
    0x2f, 0x10, 0x7d, 0xbc, 0xb1, 0x60, 0x82, 0xae, 0xb9, 0xc1, 0xe7, 0xbe, 0xb4, 0x67, 0x2f, 0x3c,
    0xa9, 0x31, 0x17, 0xef, 0x6d, 0x76, 0x7c, 0xb1, 0x24, 0x67, 0xb5, 0xab, 0x09, 0x5d, 0xc7, 0xe8,
];
const HARNESS_Y: [u8; 32] = [
    0x8d, 0x5b, 0x6b, 0x98, 0x2a, 0x50, 0xd4, 0x36, 0x1b, 0xa8, 0x50, 0x42, 0x39, 0x11, 0xcf, 0xcd,
    0xb9, 0x2e, 0x4c, 0x1d, 0x0b, 0xaa, 0xce, 0xf5, 0x98, 0x09, 0x12, 0x1a, 0x6d, 0x5b, 0x32, 0x32,
];

fn rp_id_hash() -> [u8; 32] {
    Sha256::digest(b"localhost").into()
}

fn cose_p256(x: &[u8; 32], y: &[u8; 32]) -> Vec<u8> {
    let map: BTreeMap<Cbor, Cbor> = [
        (Cbor::Integer(1), Cbor::Integer(2)),
        (Cbor::Integer(3), Cbor::Integer(-7)),
        (Cbor::Integer(-1), Cbor::Integer(1)),
        (Cbor::Integer(-2), Cbor::Bytes(x.to_vec())),
        (Cbor::Integer(-3), Cbor::Bytes(y.to_vec())),
    ]
    .into_iter()
    .collect();
    serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap_or_default()
}

impl AuthData {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.rp_id_hash.unwrap_or_else(rp_id_hash).to_vec();
        out.push(self.flags);
        out.extend(self.counter.to_be_bytes());
        if self.flags & 0x40 != 0 {
            out.extend(self.aaguid);
            let length = u16::try_from(self.credential_id.len()).unwrap_or(u16::MAX);
            out.extend(length.to_be_bytes());
            out.extend(&self.credential_id);
            match &self.key {
                CoseKey::Harness => out.extend(cose_p256(&HARNESS_X, &HARNESS_Y)),
                CoseKey::P256 { x, y } => out.extend(cose_p256(x, y)),
                CoseKey::Raw(bytes) => out.extend(bytes),
            }
        }
        out.extend(&self.tail);
        out
    }
}

fn attestation_object(format: &str, auth_data: Vec<u8>) -> Vec<u8> {
    let map: BTreeMap<Cbor, Cbor> = [
        (Cbor::Text("fmt".into()), Cbor::Text(format.into())),
        (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
        (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
    ]
    .into_iter()
    .collect();
    serde_cbor_2::to_vec(&Cbor::Map(map)).unwrap_or_default()
}

fn client_data(kind: &str, challenge: &str, client: ClientData) -> Vec<u8> {
    let json = |challenge: &str, origin: &str| {
        serde_json::json!({"type": kind, "challenge": challenge, "origin": origin})
            .to_string()
            .into_bytes()
    };
    match client {
        ClientData::Right => json(challenge, "http://localhost"),
        ClientData::Raw(bytes) => bytes,
        ClientData::Challenge(bytes) => json(&URL_SAFE_NO_PAD.encode(bytes), "http://localhost"),
        ClientData::Origin(origin) => json(challenge, &origin),
    }
}

/// The challenge of options (JSON), as their client data must repeat it.
fn challenge_of(options: &impl serde::Serialize) -> String {
    serde_json::to_value(options)
        .ok()
        .and_then(|v| v.pointer("/publicKey/challenge").cloned())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[expect(
    clippy::expect_used,
    reason = "the harness's own set-up, from constants"
)]
fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let onboarding = Onboarding::localhost();
        let user = UserId::new("1c7a4e9f-6d2b-4e83-a5f1-0b9c8d7e6f03").expect("an id");
        let name = MethodName::new("Security key").expect("a name");
        let (options, state) = onboarding
            .creation_options(&user, "chris@contoso.com", &name, &[])
            .expect("creation options");
        let data = AuthData {
            rp_id_hash: None,
            flags: 0x45,
            counter: 0,
            aaguid: [7; 16],
            credential_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
            key: CoseKey::Harness,
            tail: Vec::new(),
        };
        let answer = creation_answer(
            &data.credential_id,
            attestation_object("none", data.bytes()),
            client_data(
                "webauthn.create",
                &challenge_of(&options),
                ClientData::Right,
            ),
        );
        let method = onboarding
            .finish_creation(&answer, &state, name)
            .expect("the harness's own key registers");
        let id = method.id.clone();
        let registered = RegisteredMethod::new(
            method,
            user.clone(),
            MethodOrigin::ByAdministrator(Initiator::User(user.clone())),
            UtcDateTime::UNIX_EPOCH,
        )
        .expect("a stored form within bounds");
        Harness {
            onboarding,
            user,
            registered: (id, registered),
        }
    })
}

fn creation_answer(
    raw_id: &[u8],
    attestation_object: Vec<u8>,
    client_data_json: Vec<u8>,
) -> RegisterPublicKeyCredential {
    RegisterPublicKeyCredential {
        id: URL_SAFE_NO_PAD.encode(raw_id),
        raw_id: raw_id.to_vec(),
        response: AuthenticatorAttestationResponseRaw {
            attestation_object,
            client_data_json,
            transports: None,
        },
        type_: "public-key".into(),
        extensions: RegistrationExtensionsClientOutputs::default(),
    }
}

#[expect(clippy::panic, reason = "a broken property is the fuzzer's finding")]
fn check(input: Input) -> Verdict {
    let harness = harness();
    let name = || MethodName::new("Security key").ok();
    match input {
        Input::Aaguid(bytes) => aaguid_is_where_it_is_stated(&bytes),
        Input::AaguidOf { format, data } => {
            aaguid_is_where_it_is_stated(&attestation_object(&format, data.bytes()))
        }
        Input::CreationJson(json) => {
            if let (Ok(answer), Some(name)) = (
                serde_json::from_slice::<RegisterPublicKeyCredential>(&json),
                name(),
            ) {
                create(harness, &answer, name);
            }
            Verdict::Refused
        }
        Input::Creation {
            raw_id,
            format,
            data,
            client,
        } => {
            let Some(name) = name() else {
                return Verdict::Refused;
            };
            let Ok((options, state)) =
                harness
                    .onboarding
                    .creation_options(&harness.user, "chris@contoso.com", &name, &[])
            else {
                panic!("creation options for a constant user");
            };
            let object = attestation_object(format.as_deref().unwrap_or("none"), data.bytes());
            let client = client_data("webauthn.create", &challenge_of(&options), client);
            let answer = creation_answer(&raw_id, object, client);
            if let Ok(method) = harness.onboarding.finish_creation(&answer, &state, name) {
                assert_eq!(
                    data.flags & 0x40,
                    0x40,
                    "a key registered without credential data"
                );
                assert_eq!(
                    method.id.as_str(),
                    URL_SAFE_NO_PAD.encode(&data.credential_id),
                    "a key registered under another id than its data states"
                );
                let stated = (data.aaguid != [0; 16]).then_some(data.aaguid);
                assert_eq!(
                    method.aaguid, stated,
                    "a key registered under another AAGUID"
                );
                return Verdict::Registered;
            }
            Verdict::Refused
        }
        Input::SignInJson(json) => match serde_json::from_slice::<PublicKeyCredential>(&json) {
            Ok(answer) => sign_in(harness, |_| answer),
            Err(_) => Verdict::Refused,
        },
        Input::SignIn {
            raw_id,
            data,
            signature,
            user_handle,
            client,
        } => {
            let raw_id = raw_id.unwrap_or_else(|| {
                URL_SAFE_NO_PAD
                    .decode(harness.registered.0.as_str())
                    .unwrap_or_default()
            });
            sign_in(harness, |challenge| PublicKeyCredential {
                id: URL_SAFE_NO_PAD.encode(&raw_id),
                raw_id,
                response: AuthenticatorAssertionResponseRaw {
                    authenticator_data: data.bytes(),
                    client_data_json: client_data("webauthn.get", challenge, client),
                    signature,
                    user_handle,
                },
                extensions: AuthenticationExtensionsClientOutputs::default(),
                type_: "public-key".into(),
            })
        }
    }
}

fn create(harness: &Harness, answer: &RegisterPublicKeyCredential, name: MethodName) {
    let Ok((_, state)) =
        harness
            .onboarding
            .creation_options(&harness.user, "chris@contoso.com", &name, &[])
    else {
        return;
    };
    // The answer cannot hold the fresh state's challenge: it is refused.
    assert!(
        harness
            .onboarding
            .finish_creation(answer, &state, name)
            .is_err(),
        "an answer written before its options is taken"
    );
}

/// A sign-in against fresh options for the harness's key: `answer` is given their challenge.
fn sign_in(harness: &Harness, answer: impl FnOnce(&str) -> PublicKeyCredential) -> Verdict {
    let (id, method) = &harness.registered;
    let Ok((options, state)) = harness
        .onboarding
        .request_options(&[id.as_str().to_owned()])
    else {
        return Verdict::Refused;
    };
    let answer = answer(&challenge_of(&options));
    let named = harness.onboarding.answered_by(&answer, &state);
    if let Ok(named) = &named {
        assert_eq!(named, id, "an answer names a key the options did not allow");
    }
    assert!(
        harness
            .onboarding
            .finish_request(&answer, &state, method)
            .is_err(),
        "a sign-in taken without the key's private half"
    );
    if named.is_ok() {
        Verdict::Named
    } else {
        Verdict::Refused
    }
}

#[expect(
    clippy::panic,
    reason = "a broken property panics: the fuzzer's signal"
)]
fn aaguid_is_where_it_is_stated(bytes: &[u8]) -> Verdict {
    let Some(aaguid) = stated_aaguid(bytes) else {
        return Verdict::Refused;
    };
    let Ok(Cbor::Map(map)) = serde_cbor_2::from_slice::<Cbor>(bytes) else {
        panic!("an AAGUID read from bytes that are no CBOR map");
    };
    let data = map
        .get(&Cbor::Text("authData".into()))
        .and_then(|v| match v {
            Cbor::Bytes(data) => Some(data),
            _ => None,
        });
    let Some(data) = data else {
        panic!("an AAGUID read without authenticator data");
    };
    assert!(
        data.get(32).is_some_and(|flags| flags & 0x40 != 0),
        "an AAGUID without the AT flag"
    );
    assert_eq!(
        data.get(37..53),
        Some(&aaguid[..]),
        "an AAGUID read from another place"
    );
    assert_ne!(aaguid, [0; 16], "an all-zero AAGUID is none");
    Verdict::Aaguid
}
