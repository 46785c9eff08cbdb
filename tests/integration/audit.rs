//! SPEC 7.1, 7.4: the outbox's events through the engine, and as Graph's `directoryAudit`.

use std::collections::BTreeSet;

use serde_json::Value;
use temporary_access_pass::graph::{DirectoryAudit, DirectoryAuditList, audit_id, audit_sequence};
use temporary_access_pass::signin::{Client, PasswordlessMethod};
use temporary_access_pass::store::{Recorded, Sequence, Store};
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    CreateRequest, Engine, EngineConfig, Event, InMemoryStore, ManualClock, PassId, SignInRequest,
};

use crate::support::{CREATED, browser, ga, key, member, open_settings};

fn sample(name: &str) -> String {
    let path = format!("{}/tests/graph/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A pass's life through the engine: every change's events land in the outbox, in order, and
/// the refusals that write nothing land nowhere (SPEC 7.1).
fn life() -> (Vec<Recorded>, Vec<String>) {
    let clock = ManualClock::new(CREATED);
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(key().clone()),
    );
    let user = member("chris@contoso.com");
    let _ = engine.update_policy(&ga(), &open_settings()).unwrap();
    let created = engine
        .create(&ga(), &user, &CreateRequest::new(), &mut getrandom::SysRng)
        .unwrap();
    let code = created.passcode.expose_secret().to_owned();
    let grant = engine
        .redeem(&user, &code, browser())
        .unwrap()
        .outcome
        .unwrap();
    engine
        .register(&user, &grant, PasswordlessMethod::Fido2SecurityKey)
        .unwrap();
    for _ in 0..10 {
        assert!(
            engine
                .redeem(&user, "wrong-code", browser())
                .unwrap()
                .outcome
                .is_err()
        );
    }
    // Locked: refused without a write, so without an event.
    assert!(
        engine
            .redeem(&user, &code, browser())
            .unwrap()
            .write
            .is_none()
    );
    let nps = SignInRequest::new(Client::NpsExtension);
    assert!(engine.redeem(&user, &code, nps).unwrap().write.is_none());
    let _ = engine.delete(&ga(), &user).unwrap().unwrap();
    let events = engine
        .store()
        .read_events(Sequence::START, usize::MAX)
        .unwrap();
    (events, vec![code])
}

fn kind(event: &Event) -> &'static str {
    match event {
        Event::PolicyChanged { .. } => "PolicyChanged",
        Event::PassIssued { .. } => "PassIssued",
        Event::PassReplaced { .. } => "PassReplaced",
        Event::PassDeleted { .. } => "PassDeleted",
        Event::SessionsRevoked { .. } => "SessionsRevoked",
        Event::SignInSucceeded { .. } => "SignInSucceeded",
        Event::SignInFailed { .. } => "SignInFailed",
        Event::PassLocked { .. } => "PassLocked",
        _ => "other",
    }
}

#[test]
fn spec_7_1_the_engines_changes_commit_their_events_in_order_and_refusals_none() {
    let (events, _) = life();
    let kinds: Vec<&str> = events.iter().map(|r| kind(&r.event)).collect();
    let mut expected = vec!["PolicyChanged", "PassIssued", "SignInSucceeded"];
    expected.extend(["SignInFailed"; 10]);
    expected.extend(["PassLocked", "PassDeleted", "SessionsRevoked"]);
    assert_eq!(kinds, expected);
    assert!(
        events.windows(2).all(|w| w[0].sequence < w[1].sequence),
        "numbered in commit order"
    );
}

#[test]
fn spec_7_1_without_the_outbox_the_engine_commits_no_event() {
    let clock = ManualClock::new(CREATED);
    let config = EngineConfig::new(key().clone()).outbox(false);
    let engine = Engine::new(&clock, InMemoryStore::new(), config);
    let _ = engine.update_policy(&ga(), &open_settings()).unwrap();
    let created = engine
        .create(
            &ga(),
            &member("u"),
            &CreateRequest::new(),
            &mut getrandom::SysRng,
        )
        .unwrap();
    assert_eq!(
        created.events().len(),
        1,
        "the decision still has its events"
    );
    assert!(
        engine
            .store()
            .read_events(Sequence::START, usize::MAX)
            .unwrap()
            .is_empty()
    );
}

/// Graph's `directoryAudit` properties (the resource's reference page).
const PROPERTIES: [&str; 12] = [
    "activityDateTime",
    "activityDisplayName",
    "additionalDetails",
    "category",
    "correlationId",
    "id",
    "initiatedBy",
    "loggedByService",
    "operationType",
    "result",
    "resultReason",
    "targetResources",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn spec_7_4_each_event_reads_as_a_directory_audit_with_graphs_properties_and_no_code() {
    let (events, codes) = life();
    for recorded in &events {
        let document = DirectoryAudit::from(recorded);
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(
            keys(&json),
            PROPERTIES.iter().map(ToString::to_string).collect(),
            "{json}"
        );
        assert_eq!(
            keys(&json["initiatedBy"]),
            ["app", "user"].map(String::from).into(),
        );
        assert_eq!(
            keys(&json["initiatedBy"]["user"]),
            ["displayName", "id", "ipAddress", "userPrincipalName"]
                .map(String::from)
                .into(),
        );
        for target in json["targetResources"].as_array().unwrap() {
            assert_eq!(
                keys(target),
                [
                    "displayName",
                    "groupType",
                    "id",
                    "modifiedProperties",
                    "type",
                    "userPrincipalName"
                ]
                .map(String::from)
                .into(),
            );
        }
        assert!(["success", "failure"].contains(&json["result"].as_str().unwrap()));
        assert!(["Add", "Update", "Delete"].contains(&json["operationType"].as_str().unwrap()));
        let text = json.to_string();
        for code in &codes {
            assert!(!text.contains(code.as_str()), "a code in {text}");
        }
        assert_eq!(audit_sequence(&document.id), Some(recorded.sequence));
        assert!(document.id.parse::<PassId>().is_ok(), "the id is a GUID");
        let back: DirectoryAudit = serde_json::from_value(json).unwrap();
        assert_eq!(back, document);
    }
}

#[test]
fn spec_7_4_a_creation_reads_as_entra_writes_it() {
    let (events, _) = life();
    let issued = events
        .iter()
        .find(|r| matches!(r.event, Event::PassIssued { .. }))
        .unwrap();
    let document = DirectoryAudit::from(issued);
    assert_eq!(
        document.activity_display_name,
        "Admin registered security info"
    );
    assert_eq!(
        document.result_reason,
        "Admin registered temporary access pass method for user"
    );
    assert_eq!(document.category, "UserManagement");
    assert_eq!(document.logged_by_service, "Authentication Methods");
    assert_eq!(document.operation_type, "Add");
    assert_eq!(document.result, "success");
    let json = serde_json::to_value(&document).unwrap();
    assert_eq!(
        json["initiatedBy"]["user"]["userPrincipalName"],
        ga().id().as_str()
    );
    assert_eq!(json["targetResources"][0]["type"], "User");
    assert_eq!(
        json["targetResources"][0]["userPrincipalName"],
        "chris@contoso.com"
    );
    let details: Vec<(String, String)> = document
        .additional_details
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    let Event::PassIssued { pass, .. } = &issued.event else {
        unreachable!()
    };
    assert_eq!(
        details,
        vec![
            ("temporaryAccessPassId".into(), pass.to_string()),
            ("startDateTime".into(), "2021-03-09T23:19:17Z".into()),
            ("lifetimeInMinutes".into(), "60".into()),
            ("isUsableOnce".into(), "false".into()),
        ]
    );
    assert_eq!(document.correlation_id, Some(pass.to_string()));

    let deleted = events
        .iter()
        .find(|r| matches!(r.event, Event::PassDeleted { .. }))
        .unwrap();
    let document = DirectoryAudit::from(deleted);
    assert_eq!(
        document.activity_display_name,
        "Admin deleted security info"
    );
    assert_eq!(
        document.result_reason,
        "Admin deleted temporary access pass method for user"
    );
    let policy = DirectoryAudit::from(&events[0]);
    assert_eq!(
        policy.activity_display_name,
        "Authentication Methods Policy Update"
    );
    assert_eq!(policy.target_resources[0].kind.as_deref(), Some("Policy"));
    let failed = events
        .iter()
        .find(|r| matches!(r.event, Event::SignInFailed { .. }))
        .unwrap();
    assert_eq!(DirectoryAudit::from(failed).result, "failure");
}

#[test]
fn spec_7_4_graphs_sample_list_response_reads_and_writes_back() {
    let text = sample("directoryaudit-list-response.json");
    let list: DirectoryAuditList = serde_json::from_str(&text).unwrap();
    assert_eq!(list.value.len(), 1);
    let entry = &list.value[0];
    assert_eq!(entry.activity_display_name, "Add member to group");
    assert_eq!(entry.target_resources.len(), 2);
    assert_eq!(entry.target_resources[0].kind.as_deref(), Some("Group"));
    assert_eq!(
        entry
            .initiated_by
            .user
            .as_ref()
            .unwrap()
            .ip_address
            .as_deref(),
        Some("127.0.0.1")
    );
    // Written back: the sample's fields, with `type` spelled as the resource page spells it and
    // the one property the sample leaves out present.
    let mut original: Value = serde_json::from_str(&text).unwrap();
    for target in original["value"][0]["targetResources"]
        .as_array_mut()
        .unwrap()
    {
        let kind = target.as_object_mut().unwrap().remove("Type").unwrap();
        target["type"] = kind;
        target
            .as_object_mut()
            .unwrap()
            .entry("userPrincipalName")
            .or_insert(Value::Null);
        target
            .as_object_mut()
            .unwrap()
            .entry("groupType")
            .or_insert(Value::Null);
    }
    original["value"][0]["operationType"] = Value::String(String::new());
    let written = serde_json::to_value(&list).unwrap();
    assert_eq!(written["value"], original["value"]);
    assert_eq!(written["@odata.context"], original["@odata.context"]);
    assert!(written.get("@odata.nextLink").is_none());
    let ours = DirectoryAuditList::new(Vec::new(), Some("next".into()));
    let ours = serde_json::to_value(&ours).unwrap();
    assert_eq!(ours["@odata.context"], DirectoryAuditList::CONTEXT);
    assert_eq!(ours["@odata.nextLink"], "next");
}

proptest! {
    #[test]
    fn spec_7_4_audit_ids_are_guids_that_carry_their_number(n in 0_u64..(1 << 62)) {
        let id = audit_id(Sequence::new(n));
        prop_assert!(id.parse::<PassId>().is_ok());
        prop_assert_eq!(audit_sequence(&id), Some(Sequence::new(n)));
    }

    #[test]
    fn spec_7_1_every_event_round_trips_through_its_storage_form(seed in any::<u64>()) {
        let (events, _) = life_with_seed(seed);
        for recorded in events {
            let json = serde_json::to_string(&recorded.event).unwrap();
            let back: Event = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, recorded.event);
        }
    }
}

/// As [`life`], the wrong codes' count depending on `seed`, so locks come at other points.
fn life_with_seed(seed: u64) -> (Vec<Recorded>, Vec<String>) {
    let clock =
        ManualClock::new(CREATED + time::Duration::seconds(i64::try_from(seed % 1000).unwrap()));
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(key().clone()),
    );
    let user = member("chris@contoso.com");
    let _ = engine.update_policy(&ga(), &open_settings()).unwrap();
    let created = engine
        .create(&ga(), &user, &CreateRequest::new(), &mut getrandom::SysRng)
        .unwrap();
    let code = created.passcode.expose_secret().to_owned();
    for _ in 0..(seed % 13) {
        let _ = engine.redeem(&user, "wrong-code", browser()).unwrap();
    }
    let _ = engine.redeem(&user, &code, browser()).unwrap();
    let _ = engine.delete(&ga(), &user).unwrap();
    let events = engine
        .store()
        .read_events(Sequence::START, usize::MAX)
        .unwrap();
    (events, vec![code])
}

#[test]
fn the_storage_form_of_an_event_is_strict() {
    let (events, _) = life();
    let json = serde_json::to_value(&events[1].event).unwrap();
    assert_eq!(json["event"], "passIssued");
    let mut extra = json.clone();
    extra["unexpected"] = Value::Bool(true);
    assert!(serde_json::from_value::<Event>(extra).is_err());
    let mut unknown = json;
    unknown["event"] = Value::String("passMaybeIssued".into());
    assert!(serde_json::from_value::<Event>(unknown).is_err());
}

#[test]
fn spec_7_4_a_policy_change_targets_the_policy() {
    let at = CREATED;
    let recorded = Recorded::new(
        Sequence::new(7),
        Event::PolicyChanged {
            by: ga().initiator(),
            at,
            enabled: true,
        },
    );
    let json = serde_json::to_value(DirectoryAudit::from(&recorded)).unwrap();
    assert_eq!(
        json["activityDisplayName"],
        "Authentication Methods Policy Update"
    );
    let target = &json["targetResources"][0];
    assert_eq!(target["id"], "TemporaryAccessPass");
    assert_eq!(target["displayName"], "Temporary Access Pass");
    assert_eq!(target["type"], "Policy");
    assert_eq!(json["additionalDetails"][0]["value"], "enabled");
}

#[test]
fn spec_7_4_an_id_not_made_by_audit_id_carries_no_number() {
    let id = audit_id(Sequence::new(0x1234_5678_9abc));
    let (prefix, rest) = id.split_at(19);
    let (high, low) = rest.split_at(4);
    for other in [
        // A part one digit too long or too short, the other right.
        format!("{prefix}0{high}{low}"),
        format!("{prefix}{}{low}", &high[1..]),
        format!("{prefix}{high}{low}0"),
        format!("{prefix}{high}{}", &low[..low.len() - 1]),
        // The variant bits wrong.
        format!("{prefix}4{}{low}", &high[1..]),
        format!("{prefix}c{}{low}", &high[1..]),
        "00000000-0000-4000-8000-000000000000".to_owned(),
    ] {
        assert_eq!(audit_sequence(&other), None, "{other}");
    }
    assert_eq!(audit_sequence(&id), Some(Sequence::new(0x1234_5678_9abc)));
}

/// SPEC 3.7 and 7.4: what an application creates and deletes is initiated by the application:
/// its events say so, their stored form keeps it (a user's stays the plain id every stored
/// event has had), and the audit entries name the app in `initiatedBy.app`, not a user.
#[test]
fn spec_3_7_an_applications_changes_are_initiated_by_the_application() {
    use temporary_access_pass::grant::{Initiator, Permission, Permissions};
    use temporary_access_pass::{AppId, Principal};

    let clock = ManualClock::new(CREATED);
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(key().clone()),
    );
    let app = AppId::new("0f9d3c1e-5b7a-4e2d-9c8b-1a2b3c4d5e6f").unwrap();
    let workflow = Principal::application(
        temporary_access_pass::UserId::new("6c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5").unwrap(),
        app.clone(),
        Permissions::NONE.with(Permission::TapReadWriteAll),
    );
    let reader = Principal::application(
        temporary_access_pass::UserId::new("sp-reader").unwrap(),
        AppId::new("reader-app").unwrap(),
        Permissions::NONE.with(Permission::TapReadAll),
    );
    let user = member("chris@contoso.com");
    let _ = engine.update_policy(&ga(), &open_settings()).unwrap();
    assert!(
        engine
            .create(
                &reader,
                &user,
                &CreateRequest::new(),
                &mut getrandom::SysRng
            )
            .is_err(),
        "a reading application creates nothing"
    );
    let created = engine
        .create(
            &workflow,
            &user,
            &CreateRequest::new(),
            &mut getrandom::SysRng,
        )
        .unwrap();
    assert_eq!(created.by, Initiator::Application(app.clone()));
    assert!(engine.view(&reader, &user).unwrap().is_some());
    assert!(engine.delete(&reader, &user).is_err(), "nor deletes");
    let _ = engine.delete(&workflow, &user).unwrap().unwrap();
    let events = engine
        .store()
        .read_events(Sequence::START, usize::MAX)
        .unwrap();
    let by_app: Vec<_> = events
        .iter()
        .filter(|r| match &r.event {
            Event::PassIssued { by, .. } | Event::PassDeleted { by, .. } => {
                *by == Initiator::Application(app.clone())
            }
            _ => false,
        })
        .collect();
    assert_eq!(by_app.len(), 2, "{events:?}");
    for recorded in by_app {
        let json = serde_json::to_value(&recorded.event).unwrap();
        assert_eq!(json["by"], serde_json::json!({"application": app.as_str()}));
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, recorded.event);
        let entry = serde_json::to_value(DirectoryAudit::from(recorded)).unwrap();
        assert_eq!(entry["initiatedBy"]["user"], Value::Null, "{entry}");
        assert_eq!(
            entry["initiatedBy"]["app"]["appId"],
            app.as_str(),
            "{entry}"
        );
        assert_eq!(entry["targetResources"][0]["id"], "chris@contoso.com");
    }
    // The policy change was a user's: stored as the id's text, as before applications.
    let policy = events
        .iter()
        .find(|r| matches!(r.event, Event::PolicyChanged { .. }))
        .unwrap();
    let json = serde_json::to_value(&policy.event).unwrap();
    assert_eq!(json["by"], ga().id().as_str());
    let entry = serde_json::to_value(DirectoryAudit::from(policy)).unwrap();
    assert_eq!(entry["initiatedBy"]["user"]["id"], ga().id().as_str());
    assert_eq!(entry["initiatedBy"]["app"], Value::Null);
    // An initiator in any other shape is refused, naming nothing it cannot read.
    let mut bad = json;
    for by in [
        serde_json::json!({"application": ""}),
        serde_json::json!({"app": "x"}),
        serde_json::json!(7),
        serde_json::json!(""),
    ] {
        bad["by"] = by.clone();
        assert!(
            serde_json::from_value::<Event>(bad.clone()).is_err(),
            "{by}"
        );
    }
}
