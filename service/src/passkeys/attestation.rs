//! Attestation (SPEC 8.7): the roots a host trusts, and the AAGUID an authenticator states.
//!
//! With roots configured (`TAP_ATTESTATION_ROOTS_FILE`), creations ask for attestation and
//! `webauthn-rs` verifies the certificate chain against them: a key whose chain does not
//! verify is refused (attestation is enforced, as Entra's FIDO2 policy does when it enforces
//! attestation), and a key that registers is `attested`. Without roots, no chain is checked:
//! keys register as `notAttested`, their AAGUID only what the authenticator stated.
//!
//! The roots file is a JSON list of `{"aaguid": "<GUID>", "description": "<text>",
//! "certificate": "<PEM>"}`: each root certificate, with the authenticator model (AAGUID) it
//! attests.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_cbor_2::Value;
use webauthn_rs::prelude::{AttestationCaList, AttestationCaListBuilder, Uuid};

/// One trusted root, as the roots file lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RootDocument {
    aaguid: Uuid,
    description: String,
    certificate: String,
}

/// The roots of a roots file (see the module).
///
/// # Errors
///
/// What is wrong with the file, naming the entry.
pub fn roots_from_json(text: &str) -> Result<AttestationCaList, String> {
    let documents: Vec<RootDocument> =
        serde_json::from_str(text).map_err(|e| format!("not a list of roots: {e}"))?;
    if documents.is_empty() {
        return Err("no root is listed: leave the setting out to attest nothing".to_owned());
    }
    let mut builder = AttestationCaListBuilder::new();
    for (n, root) in documents.into_iter().enumerate() {
        builder
            .insert_device_pem(
                root.certificate.as_bytes(),
                root.aaguid,
                root.description,
                BTreeMap::new(),
            )
            .map_err(|e| format!("root {n}: the certificate is refused: {e:?}"))?;
    }
    Ok(builder.build())
}

/// The AAGUID the authenticator stated in its attestation object (the authenticator data's
/// attested credential data), as it stated it: `None` when it stated none, or all zeros.
#[must_use]
pub fn stated_aaguid(attestation_object: &[u8]) -> Option<[u8; 16]> {
    let Ok(Value::Map(map)) = serde_cbor_2::from_slice::<Value>(attestation_object) else {
        return None;
    };
    let data = map.iter().find_map(|(k, v)| match (k, v) {
        (Value::Text(key), Value::Bytes(data)) if key == "authData" => Some(data),
        _ => None,
    })?;
    // rpIdHash (32), flags (1), signCount (4), then, when the AT flag (0x40) is set, the
    // AAGUID (16).
    let flags = *data.get(32)?;
    if flags & 0x40 == 0 {
        return None;
    }
    let aaguid: [u8; 16] = data.get(37..53)?.try_into().ok()?;
    (aaguid != [0; 16]).then_some(aaguid)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_cbor_2::Value;

    use super::{roots_from_json, stated_aaguid};

    fn object(auth_data: Vec<u8>) -> Vec<u8> {
        let mut map = BTreeMap::new();
        map.insert(Value::Text("fmt".into()), Value::Text("none".into()));
        map.insert(Value::Text("attStmt".into()), Value::Map(BTreeMap::new()));
        map.insert(Value::Text("authData".into()), Value::Bytes(auth_data));
        serde_cbor_2::to_vec(&Value::Map(map)).unwrap()
    }

    #[test]
    fn the_aaguid_is_read_where_the_authenticator_data_puts_it() {
        let mut data = vec![0_u8; 37];
        data[32] = 0x45; // UP, UV, AT
        data.extend(1..=16_u8);
        data.extend([0, 2, 9, 9]);
        let expected: [u8; 16] = core::array::from_fn(|i| u8::try_from(i + 1).unwrap());
        assert_eq!(stated_aaguid(&object(data.clone())), Some(expected));
        data[32] = 0x05; // no attested credential data
        assert_eq!(stated_aaguid(&object(data)), None);
        let mut zeros = vec![0_u8; 53];
        zeros[32] = 0x45;
        assert_eq!(stated_aaguid(&object(zeros)), None, "all zeros states none");
        assert_eq!(stated_aaguid(b"not cbor"), None);
        assert_eq!(stated_aaguid(&object(vec![0x45; 10])), None, "too short");
    }

    #[test]
    fn a_roots_file_names_what_is_wrong() {
        assert!(roots_from_json("[]").unwrap_err().contains("no root"));
        assert!(roots_from_json("{}").unwrap_err().contains("not a list"));
        let bad = r#"[{"aaguid": "2fc0579f-8113-47ea-b116-555a8db9202a", "description": "x", "certificate": "junk"}]"#;
        assert!(roots_from_json(bad).unwrap_err().starts_with("root 0"));
    }
}
