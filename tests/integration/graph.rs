//! SPEC 7.3: Microsoft Graph's JSON shapes, round-tripping the reference's sample documents
//! (`tests/graph/`, sources in `tests/graph/SOURCES.md`).

use serde_json::{Value, json};
use temporary_access_pass::graph::rfc3339::{self, Rfc3339Error};
use temporary_access_pass::graph::{
    GraphError, MethodUsabilityReason, PassDocument, PassList, PolicyDocument,
};
use temporary_access_pass::policy::{
    PasscodeLength, PolicyError, UpdatePolicyContext, update_policy,
};
use temporary_access_pass::store::{Version, Versioned};
use temporary_access_pass::{
    CreateRequest, DirectoryRole, IncludeTarget, Policy, PolicySettings, PolicyState,
    TemporaryAccessPass,
};
use time::macros::utc_datetime;

use crate::support::{CREATED, admin, issue_under, key, member, open_policy};

fn sample(name: &str) -> String {
    let path = format!("{}/tests/graph/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The sample's fields this crate models (Graph's annotations such as `@odata.context` are
/// ignored on the way in and not produced on the way out).
fn modelled(mut v: Value) -> Value {
    if let Value::Object(map) = &mut v {
        map.retain(|k, _| !k.contains("@odata.context"));
    }
    v
}

/// Times compared as instants, whatever their spelling (`...00Z` and `...00.000Z` are one time).
fn same_instant(a: &Value, b: &Value) -> bool {
    let parse =
        |v: &Value| temporary_access_pass::graph::rfc3339::parse(v.as_str().unwrap()).unwrap();
    parse(a) == parse(b)
}

fn assert_same_document(ours: &Value, theirs: &Value) {
    let (Value::Object(ours), Value::Object(theirs)) = (ours, theirs) else {
        panic!("objects")
    };
    assert_eq!(
        ours.keys().collect::<Vec<_>>().len(),
        theirs.keys().collect::<Vec<_>>().len(),
        "{ours:?} vs {theirs:?}"
    );
    for (key, theirs) in theirs {
        let ours = ours.get(key).unwrap_or_else(|| panic!("missing {key}"));
        if key.ends_with("DateTime") {
            assert!(same_instant(ours, theirs), "{key}: {ours} vs {theirs}");
        } else {
            assert_eq!(ours, theirs, "{key}");
        }
    }
}

#[test]
fn spec_7_3_policy_get_response_round_trips() {
    let text = sample("policy-get-response.json");
    let policy: Policy = serde_json::from_str(&text).unwrap();
    assert_eq!(policy.state(), PolicyState::Enabled);
    assert_eq!(
        (
            policy.minimum_lifetime().minutes(),
            policy.default_lifetime().minutes(),
            policy.maximum_lifetime().minutes()
        ),
        (60, 60, 480)
    );
    assert_eq!(policy.default_length().get(), 8);
    assert!(!policy.is_usable_once());
    assert_eq!(policy.include_targets(), &[IncludeTarget::AllUsers]);
    assert!(policy.exclude_targets().is_empty());
    // Policy -> JSON gives back the sample (less Graph's annotations).
    let ours = serde_json::to_value(&policy).unwrap();
    assert_same_document(&ours, &modelled(serde_json::from_str(&text).unwrap()));
    // The document type round-trips too.
    let doc: PolicyDocument = serde_json::from_str(&text).unwrap();
    assert_same_document(
        &serde_json::to_value(&doc).unwrap(),
        &modelled(serde_json::from_str(&text).unwrap()),
    );
}

#[test]
fn spec_7_3_policy_patch_keeps_absent_fields() {
    let current: Policy = serde_json::from_str(&sample("policy-get-response.json")).unwrap();
    let patch: PolicyDocument =
        serde_json::from_str(&sample("policy-update-request.json")).unwrap();
    let settings = patch.apply_to(current.settings()).unwrap();
    let change = update_policy(
        &UpdatePolicyContext::new(&admin("ga", DirectoryRole::GlobalAdministrator)),
        settings,
        CREATED,
    )
    .unwrap();
    assert!(change.policy.is_usable_once(), "the patched field changed");
    let mut expected = current.settings();
    expected.is_usable_once = true;
    assert_eq!(
        change.policy.settings(),
        expected,
        "every other field kept its value"
    );
    // Serializing the patch gives back the request body.
    assert_same_document(
        &serde_json::to_value(&patch).unwrap(),
        &serde_json::from_str(&sample("policy-update-request.json")).unwrap(),
    );
}

#[test]
fn spec_7_3_invalid_policies_are_refused_naming_the_field() {
    let base: Value = serde_json::from_str(&sample("policy-get-response.json")).unwrap();
    let with = |key: &str, value: Value| {
        let mut v = base.clone();
        v[key] = value;
        v.to_string()
    };
    let cases = [
        (
            with("defaultLength", json!(49)),
            "defaultLength: passcode length is 49: allowed 8..=48",
        ),
        (
            with("minimumLifetimeInMinutes", json!(5)),
            "minimumLifetimeInMinutes: minimum lifetime in minutes is 5: allowed 10..=43200",
        ),
        (
            with("maximumLifetimeInMinutes", json!(50_000)),
            "maximumLifetimeInMinutes: maximum lifetime in minutes is 50000",
        ),
        (
            with("defaultLifetimeInMinutes", json!(30)),
            "defaultLifetimeInMinutes: default lifetime of 30 minutes is below the minimum of 60",
        ),
        (
            with("maximumLifetimeInMinutes", json!(30)),
            "minimumLifetimeInMinutes: minimum lifetime of 60 minutes is above the maximum of 30",
        ),
        (
            with("state", json!("maybe")),
            "unknown variant `maybe`, expected `enabled` or `disabled`",
        ),
        (
            with(
                "@odata.type",
                json!("#microsoft.graph.fido2AuthenticationMethodConfiguration"),
            ),
            "@odata.type: expected #microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        ),
        (
            with("includeTargets", json!([{"targetType": "group", "id": ""}])),
            "includeTargets[0].id: group id is empty",
        ),
        (
            with(
                "excludeTargets",
                json!([{"targetType": "group", "id": "all_users"}]),
            ),
            "excludeTargets[0].id: all_users can't be excluded",
        ),
        (
            with(
                "includeTargets",
                json!([{"targetType": "device", "id": "x"}]),
            ),
            "unknown variant `device`, expected `user` or `group`",
        ),
        (
            with("defaultLength", json!(-1)),
            "invalid value: integer `-1`, expected a whole number from 0 to 4294967295",
        ),
        ("{\"state\": ".to_owned(), "EOF while parsing"),
    ];
    for (text, message) in cases {
        let err = serde_json::from_str::<Policy>(&text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }
    // The typed error, before any serde format is involved.
    let doc = PolicyDocument::default();
    let mut bad = doc.clone();
    bad.default_length = Some(4);
    assert_eq!(
        bad.to_policy(),
        Err(GraphError::InvalidPolicy {
            field: "defaultLength",
            error: PolicyError::DefaultLength(PasscodeLength::new(4).unwrap_err())
        })
    );
    assert_eq!(
        doc.to_policy(),
        Ok(Policy::default()),
        "an empty document is the seed's defaults"
    );
}

#[test]
fn spec_7_3_unknown_fields_are_ignored() {
    let mut v: Value = serde_json::from_str(&sample("policy-get-response.json")).unwrap();
    v["someFieldGraphAddsNextYear"] = json!({"nested": [1, 2, 3]});
    assert!(serde_json::from_value::<Policy>(v).is_ok());
    let mut v: Value = serde_json::from_str(&sample("pass-get-response.json")).unwrap();
    v["anotherNewField"] = json!(true);
    assert!(serde_json::from_value::<PassDocument>(v).is_ok());
}

#[test]
fn spec_7_3_pass_documents_round_trip() {
    for name in ["pass-get-response.json", "pass-create-response.json"] {
        let text = sample(name);
        let doc: PassDocument = serde_json::from_str(&text).unwrap();
        assert_eq!(doc.id.to_string(), "6f1967b7-15e8-4935-ac26-d50770ed07a7");
        assert_eq!(doc.lifetime_in_minutes.minutes(), 60);
        assert_eq!(
            doc.method_usability_reason,
            MethodUsabilityReason::NotYetValid
        );
        assert_eq!(doc.start_date_time, utc_datetime!(2022-06-05 00:00:00));
        assert_same_document(
            &serde_json::to_value(&doc).unwrap(),
            &serde_json::from_str(&text).unwrap(),
        );
    }
    // Fractional seconds survive to the nanosecond (Graph sends seven digits).
    let doc: PassDocument = serde_json::from_str(&sample("pass-get-response.json")).unwrap();
    assert_eq!(
        doc.created_date_time,
        utc_datetime!(2022-06-02 16:21:09.5893903)
    );
    let doc: PassDocument = serde_json::from_str(&sample("pass-create-response.json")).unwrap();
    let code = doc.temporary_access_pass.as_ref().unwrap();
    assert_eq!(code.expose_secret(), "+drkzqAD");
    assert_eq!(
        format!("{doc:?}").matches("REDACTED").count(),
        1,
        "the code is redacted in Debug"
    );

    let list: PassList = serde_json::from_str(&sample("pass-list-response.json")).unwrap();
    assert_eq!(list.value.len(), 1);
    assert_eq!(
        list.value[0].start_date_time,
        utc_datetime!(2022-06-06 16:48:03.027)
    );
    let ours = serde_json::to_value(&list).unwrap();
    let theirs = modelled(serde_json::from_str(&sample("pass-list-response.json")).unwrap());
    assert_same_document(&ours["value"][0], &theirs["value"][0]);
}

#[test]
fn spec_7_3_creation_request_round_trips_and_accepts_any_offset() {
    let text = sample("pass-create-request.json");
    let request: CreateRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(request.start, Some(utc_datetime!(2022-06-05 00:00:00)));
    assert_eq!(request.lifetime_minutes, Some(60));
    assert_eq!(request.is_usable_once, Some(false));
    assert_same_document(
        &serde_json::to_value(request).unwrap(),
        &serde_json::from_str(&text).unwrap(),
    );
    // All fields optional.
    let empty: CreateRequest = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, CreateRequest::new());
    assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    // Any offset is normalized to UTC; fractional seconds survive.
    let shifted: CreateRequest =
        serde_json::from_str(r#"{"startDateTime": "2022-06-05T02:00:00.123456789+02:00"}"#)
            .unwrap();
    assert_eq!(
        shifted.start,
        Some(utc_datetime!(2022-06-05 00:00:00.123456789))
    );
    for bad in [
        r#"{"startDateTime": "yesterday"}"#,
        r#"{"startDateTime": 5}"#,
        r#"{"lifetimeInMinutes": "60"}"#,
    ] {
        assert!(serde_json::from_str::<CreateRequest>(bad).is_err(), "{bad}");
    }
}

#[test]
fn spec_7_3_a_time_with_9_fractional_digits_is_written_with_7_and_reads_back_so() {
    let start = utc_datetime!(2022-06-05 00:00:00.123_456_789);
    let issued = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new().start(start),
        start,
    )
    .unwrap();
    assert_eq!(issued.view.start, start, "the record keeps every digit");
    let doc = serde_json::to_value(PassDocument::from(&issued.view)).unwrap();
    for field in ["startDateTime", "createdDateTime"] {
        assert_eq!(doc[field], "2022-06-05T00:00:00.1234567Z", "{field}");
    }
    let back: PassDocument = serde_json::from_value(doc).unwrap();
    assert_eq!(
        back.start_date_time,
        utc_datetime!(2022-06-05 00:00:00.123_456_7)
    );
    // Whole seconds have no fraction; every output ends in `Z`.
    assert_eq!(
        rfc3339::format(utc_datetime!(2022-06-05 00:00:00.000_000_099)).unwrap(),
        "2022-06-05T00:00:00Z"
    );
    // The errors are typed and say what was wrong.
    let bad = rfc3339::parse("yesterday").unwrap_err();
    assert!(matches!(bad, Rfc3339Error::NotRfc3339 { .. }), "{bad}");
    let far = rfc3339::format(time::UtcDateTime::MIN).unwrap_err();
    assert!(matches!(far, Rfc3339Error::Unwritable { .. }), "{far}");
    assert!(far.to_string().contains("years 0000..=9999"), "{far}");
}

#[test]
fn spec_6_3_the_code_is_serialized_only_in_the_creation_response() {
    let issued = issue_under(
        &open_policy(),
        &member("u"),
        None,
        CreateRequest::new(),
        CREATED,
    )
    .unwrap();
    let code = issued.passcode.expose_secret().to_owned();
    // The view, the record and the events never carry it.
    let view = serde_json::to_value(PassDocument::from(&issued.view)).unwrap();
    assert_eq!(view["temporaryAccessPass"], Value::Null);
    assert_eq!(view["methodUsabilityReason"], "EnabledByPolicy");
    assert_eq!(view["isUsable"], true);
    let record = serde_json::to_string(&issued.record).unwrap();
    assert!(!record.contains(&code));
    // The creation response does, once.
    let response = serde_json::to_value(PassDocument::creation_response(issued)).unwrap();
    assert_eq!(response["temporaryAccessPass"], Value::String(code));
    assert_eq!(
        response["@odata.type"],
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
    );
}

#[test]
fn stored_records_round_trip_and_are_checked_on_decoding() {
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers),
    )
    .unwrap();
    let user = member("u");
    let issued = issue_under(&policy, &user, None, CreateRequest::new(), CREATED).unwrap();
    let code = issued.passcode.expose_secret().to_owned();
    let stored = Versioned::new(Version::new(3), issued.record.clone());
    let text = serde_json::to_string(&stored).unwrap();
    let back: Versioned<TemporaryAccessPass> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, stored);
    assert!(back.value.verify_code(key(), &code), "the digest survives");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 3);
    assert_eq!(v["value"]["digest"].as_str().unwrap().len(), 64);
    // Broken records are refused with the reason.
    let mut broken = v["value"].clone();
    broken["salt"] = json!("zz");
    let err = serde_json::from_value::<TemporaryAccessPass>(broken)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("salt must be 32 lowercase hex digits"),
        "{err}"
    );
    let mut broken = v["value"].clone();
    broken["start"] = json!("2000-01-01T00:00:00Z");
    let err = serde_json::from_value::<TemporaryAccessPass>(broken)
        .unwrap_err()
        .to_string();
    assert!(err.contains("precedes creation"), "{err}");
    let mut broken = v["value"].clone();
    broken["codeLength"] = json!(7);
    assert!(serde_json::from_value::<TemporaryAccessPass>(broken).is_err());
    // Exactly two lowercase hex digits per byte: no sign, no uppercase, no whitespace.
    let salt = v["value"]["salt"].as_str().unwrap().to_owned();
    for bad in [
        format!("+{}", &salt[1..]),
        format!("{}+f", &salt[..30]),
        salt.to_uppercase(),
        format!(" {}", &salt[1..]),
        format!("{salt}00"),
        salt[..30].to_owned(),
    ] {
        let mut broken = v["value"].clone();
        broken["salt"] = json!(bad);
        let err = serde_json::from_value::<TemporaryAccessPass>(broken)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("salt must be 32 lowercase hex digits"),
            "{bad:?}: {err}"
        );
    }
    // The digest layout of 0.1 no longer verifies, and says so.
    let mut retired = v["value"].clone();
    retired["scheme"] = json!("hmac-sha256");
    let err = serde_json::from_value::<TemporaryAccessPass>(retired)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no longer verifies"), "{err}");
    assert_eq!(v["value"]["scheme"], "hmac-sha256-v2");
    let mut broken = v["value"].clone();
    broken["plaintext"] = json!("nope");
    assert!(
        serde_json::from_value::<TemporaryAccessPass>(broken).is_err(),
        "the storage form is strict"
    );
}

/// SPEC 7.3: a number is read as JSON Schema's `integer` and `OData`'s `Edm.Int32` read it, `60`
/// or `60.0`, and nothing else; a property given is never `null` (leave it out instead), so no
/// two spellings of a body mean different things to two parsers.
#[test]
fn spec_7_3_whole_numbers_may_be_written_with_a_zero_fraction_and_no_property_is_null() {
    for (text, minutes) in [
        (r#"{"lifetimeInMinutes": 357}"#, 357),
        (r#"{"lifetimeInMinutes": 357.0}"#, 357),
        (r#"{"lifetimeInMinutes": 3.57e2}"#, 357),
        (r#"{"lifetimeInMinutes": 0}"#, 0),
        (r#"{"lifetimeInMinutes": 4294967295.0}"#, u32::MAX),
    ] {
        let request: CreateRequest = serde_json::from_str(text).unwrap();
        assert_eq!(request.lifetime_minutes, Some(minutes), "{text}");
    }
    for bad in [
        r#"{"lifetimeInMinutes": 357.5}"#,
        r#"{"lifetimeInMinutes": -1}"#,
        r#"{"lifetimeInMinutes": -1.0}"#,
        r#"{"lifetimeInMinutes": 4294967296}"#,
        r#"{"lifetimeInMinutes": 4294967296.0}"#,
        r#"{"lifetimeInMinutes": 1e300}"#,
        r#"{"lifetimeInMinutes": null}"#,
        r#"{"lifetimeInMinutes": true}"#,
        r#"{"isUsableOnce": null}"#,
    ] {
        let err = serde_json::from_str::<CreateRequest>(bad).unwrap_err();
        assert!(!err.to_string().is_empty(), "{bad}");
    }
    let patch: PolicyDocument = serde_json::from_str(
        r#"{"defaultLifetimeInMinutes": 60.0, "minimumLifetimeInMinutes": 10,
            "maximumLifetimeInMinutes": 4.8e2, "defaultLength": 8.0}"#,
    )
    .unwrap();
    assert_eq!(patch.default_lifetime_in_minutes, Some(60));
    assert_eq!(patch.minimum_lifetime_in_minutes, Some(10));
    assert_eq!(patch.maximum_lifetime_in_minutes, Some(480));
    assert_eq!(patch.default_length, Some(8));
    for field in [
        "@odata.type",
        "id",
        "state",
        "defaultLifetimeInMinutes",
        "defaultLength",
        "minimumLifetimeInMinutes",
        "maximumLifetimeInMinutes",
        "isUsableOnce",
        "includeTargets",
        "excludeTargets",
    ] {
        let body = json!({ field: null }).to_string();
        assert!(
            serde_json::from_str::<PolicyDocument>(&body).is_err(),
            "{field}: null"
        );
    }
    assert!(
        serde_json::from_str::<PolicyDocument>(
            r#"{"includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": null}]}"#
        )
        .is_err()
    );
    assert!(serde_json::from_str::<PolicyDocument>(r#"{"defaultLength": 8.5}"#).is_err());
}
