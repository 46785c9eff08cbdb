//! The audit trail survives crashes (SPEC 7.1, issue 17). A load of creations, sign-ins (right
//! and wrong codes), deletions and policy changes runs against the binary; the process is
//! killed with SIGKILL at a random point, five times per store, and restarted on the same
//! store each time. Then, from the store's own outbox and from the service's audit reader:
//!
//! - no event is torn: every entry decodes, and the reader serves every one of them;
//! - events are in commit order: numbers grow, and each pass's events follow its life
//!   (issued first, at most one grant of a one-time pass, its removal last);
//! - every committed change has exactly one event: each pass's issue once; every answered
//!   creation, grant and deletion has its event; each kind of event is no more than the
//!   requests sent, and no fewer than those answered;
//! - every event has its change: the store's final state is what the events say (the pass each
//!   user holds is the last one issued and not removed, used if and only if it was granted).
//!
//! And the same with three processes on one PostgreSQL schema (issue 26), the load spread
//! round-robin over them and one of them killed and restarted each run, while a reader follows
//! the audit trail page by page through them: it sees every event exactly once, in order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "tests: a failed step is a failed test, and the runs' counts are printed"
)]

use temporary_access_pass_testkit::postgres as support;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use temporary_access_pass::graph::{DirectoryAudit, DirectoryAuditList, audit_sequence};
use temporary_access_pass::store::{AsyncStore, Recorded, Sequence, Store};
use temporary_access_pass::{Event, PassId};
use temporary_access_pass_testkit::demo::{GA_TOKEN as GA, HELPDESK_TOKEN as HELPDESK, POLICY};
use temporary_access_pass_testkit::service::{Binary, client, demo_env, scratch};
use temporary_access_pass_testkit::service_binary;

const USERS: usize = 12;
const RUNS: usize = 5;

fn user(i: usize) -> String {
    format!("user{i}@contoso.com")
}

/// The demonstration's administrators and `USERS` users in the onboarding group.
fn directory() -> String {
    let mut users = vec![
        json!({"id": "ga@contoso.com", "roles": ["Global Administrator"]}),
        json!({"id": "helpdesk@contoso.com", "roles": ["Authentication Administrator"]}),
    ];
    users.extend((0..USERS).map(|i| json!({"id": user(i), "groups": ["onboarding"]})));
    Value::Array(users).to_string()
}

fn random_below(n: usize) -> usize {
    usize::try_from(getrandom::u64().unwrap() % u64::try_from(n).unwrap()).unwrap()
}

/// What the clients sent and what they were told.
#[derive(Debug, Default)]
struct Ledger {
    sent: BTreeMap<&'static str, usize>,
    answered: BTreeMap<&'static str, usize>,
    /// Created passes: the pass id's holder and code, as the 201 said.
    created: HashMap<String, (String, String)>,
    /// Passes a 200 granted.
    granted: Vec<String>,
    /// Passes a 204 deleted.
    deleted: Vec<String>,
}

impl Ledger {
    fn sent(&mut self, kind: &'static str) {
        *self.sent.entry(kind).or_default() += 1;
    }

    fn answered(&mut self, kind: &'static str) {
        *self.answered.entry(kind).or_default() += 1;
    }
}

/// One run: the load, spread round-robin over `bases`, until `stop` is set. A request the
/// service did not answer (its process was killed) is counted as sent, and the load goes on.
async fn load(bases: Vec<String>, ledger: Arc<Mutex<Ledger>>, first: bool, stop: Arc<AtomicBool>) {
    let http = client();
    let base = bases[0].clone();
    if first {
        ledger.lock().unwrap().sent("policy");
        let response = http
            .patch(format!("{base}{POLICY}"))
            .header("authorization", GA)
            .json(&json!({"state": "enabled", "isUsableOnce": true,
                "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        ledger.lock().unwrap().answered("policy");
    }
    let mut tasks = Vec::new();
    for (task, kind) in ["create", "create", "sign-in", "sign-in", "delete", "policy"]
        .into_iter()
        .enumerate()
    {
        let http = http.clone();
        let bases = bases.clone();
        let ledger = ledger.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0_usize.. {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let base = &bases[(task + round) % bases.len()];
                let outcome = match kind {
                    "create" => {
                        let holder = user(random_below(USERS));
                        ledger.lock().unwrap().sent("create");
                        let sent = http
                            .post(format!(
                                "{base}/v1.0/users/{holder}/authentication/temporaryAccessPassMethods"
                            ))
                            .header("authorization", HELPDESK)
                            .json(&json!({}))
                            .send()
                            .await;
                        match sent {
                            Ok(r) if r.status() == 201 => match r.json::<Value>().await {
                                Ok(body) => {
                                    let mut ledger = ledger.lock().unwrap();
                                    ledger.answered("create");
                                    ledger.created.insert(
                                        body["id"].as_str().unwrap().to_owned(),
                                        (
                                            holder,
                                            body["temporaryAccessPass"].as_str().unwrap().to_owned(),
                                        ),
                                    );
                                    Ok(())
                                }
                                Err(e) => Err(e),
                            },
                            Ok(_) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    "sign-in" => {
                        let known: Vec<(String, (String, String))> = {
                            let ledger = ledger.lock().unwrap();
                            ledger.created.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                        };
                        if known.is_empty() {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        }
                        let (pass, (holder, code)) = known[random_below(known.len())].clone();
                        // One attempt in four is a wrong code (counted, with its event).
                        let wrong = round % 4 == 3;
                        let attempt = if wrong { format!("{code}x") } else { code };
                        ledger.lock().unwrap().sent("sign-in");
                        let sent = http
                            .post(format!("{base}/signIn/temporaryAccessPass"))
                            .json(&json!({"userId": holder, "temporaryAccessPass": attempt}))
                            .send()
                            .await;
                        match sent {
                            Ok(r) if r.status() == 200 => {
                                let body: Value = r.json().await.unwrap_or(Value::Null);
                                if body["passId"] == pass.as_str() {
                                    let mut ledger = ledger.lock().unwrap();
                                    ledger.answered("sign-in");
                                    ledger.granted.push(pass);
                                }
                                Ok(())
                            }
                            Ok(_) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    "delete" => {
                        let holder = user(random_below(USERS));
                        let list = format!(
                            "{base}/v1.0/users/{holder}/authentication/temporaryAccessPassMethods"
                        );
                        match http.get(&list).header("authorization", HELPDESK).send().await {
                            Ok(r) => {
                                let body: Value = r.json().await.unwrap_or(Value::Null);
                                if let Some(pass) = body["value"][0]["id"].as_str() {
                                    ledger.lock().unwrap().sent("delete");
                                    match http
                                        .delete(format!("{list}/{pass}"))
                                        .header("authorization", HELPDESK)
                                        .send()
                                        .await
                                    {
                                        Ok(r) if r.status() == 204 => {
                                            let mut ledger = ledger.lock().unwrap();
                                            ledger.answered("delete");
                                            ledger.deleted.push(pass.to_owned());
                                            Ok(())
                                        }
                                        Ok(_) => Ok(()),
                                        Err(e) => Err(e),
                                    }
                                } else {
                                    Ok(())
                                }
                            }
                            Err(e) => Err(e),
                        }
                    }
                    _ => {
                        ledger.lock().unwrap().sent("policy");
                        let lifetime = 60 + round % 2;
                        match http
                            .patch(format!("{base}{POLICY}"))
                            .header("authorization", GA)
                            .json(&json!({"defaultLifetimeInMinutes": lifetime}))
                            .send()
                            .await
                        {
                            Ok(r) if r.status() == 204 => {
                                ledger.lock().unwrap().answered("policy");
                                Ok(())
                            }
                            Ok(_) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                };
                if outcome.is_err() {
                    // That process is gone: the next request goes to the next one.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if kind == "policy" {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Runs the load against the binary started with `env`, killing it at a random point, `RUNS`
/// times; then starts it once more and returns it, with what the clients saw.
async fn crash_runs(env: &[(String, String)]) -> (Binary, Ledger) {
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    for run in 0..RUNS {
        let mut binary =
            Binary::start(service_binary!(), env).unwrap_or_else(|log| panic!("{log:#?}"));
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(load(
            vec![binary.base()],
            ledger.clone(),
            run == 0,
            stop.clone(),
        ));
        let after = Duration::from_millis(300 + u64::try_from(random_below(1200)).unwrap());
        tokio::time::sleep(after).await;
        binary.child.kill().unwrap();
        let status = binary.child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status:?}");
        stop.store(true, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(30), load)
            .await
            .expect("the clients stop once the service is gone")
            .unwrap();
        println!("run {run}: killed after {after:?}");
    }
    let binary = Binary::start(service_binary!(), env).unwrap_or_else(|log| panic!("{log:#?}"));
    let ledger = Arc::try_unwrap(ledger).unwrap().into_inner().unwrap();
    println!("sent {:?}, answered {:?}", ledger.sent, ledger.answered);
    (binary, ledger)
}

/// A pass's life, as its events tell it.
#[derive(Default, Debug)]
struct Life {
    holder: Option<String>,
    issued: usize,
    granted: usize,
    removed: usize,
    events_after_removal: usize,
}

/// The checks of the module's list, on the outbox `recorded` (read from the store itself)
/// and the service that now runs on it.
async fn check(recorded: &[Recorded], ledger: &Ledger, base: &str) {
    // Commit order: numbers grow; each entry is whole (it decoded, or the read failed).
    assert!(
        recorded.windows(2).all(|w| w[0].sequence < w[1].sequence),
        "the outbox's numbers do not grow"
    );
    // The reader serves every entry, page by page, the same ones.
    let http = client();
    let mut served: Vec<DirectoryAudit> = Vec::new();
    let mut next = Some(format!("{base}/v1.0/auditLogs/directoryAudits?$top=1000"));
    while let Some(url) = next.take() {
        let response = http
            .get(&url)
            .header("authorization", GA)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let page: DirectoryAuditList = response
            .json()
            .await
            .expect("whole directoryAudit documents");
        served.extend(page.value);
        next = page.next_link;
    }
    assert_eq!(
        served
            .iter()
            .map(|d| audit_sequence(&d.id).unwrap())
            .collect::<Vec<Sequence>>(),
        recorded.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        "the reader and the outbox disagree"
    );

    // Each pass's life, in commit order.
    let mut lives: BTreeMap<PassId, Life> = BTreeMap::new();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    for entry in recorded {
        let mut touch = |pass: PassId, f: &dyn Fn(&mut Life)| {
            let life = lives.entry(pass).or_default();
            if life.removed > 0 {
                life.events_after_removal += 1;
            }
            f(life);
        };
        match &entry.event {
            Event::PassIssued { pass, user, .. } => {
                *kinds.entry("create").or_default() += 1;
                let holder = user.as_str().to_owned();
                touch(*pass, &move |l| {
                    assert_eq!(
                        l.issued + l.granted + l.removed,
                        0,
                        "a pass's events before its issue"
                    );
                    l.issued += 1;
                    l.holder = Some(holder.clone());
                });
            }
            Event::SignInSucceeded { pass, .. } => {
                *kinds.entry("sign-in").or_default() += 1;
                touch(*pass, &|l| l.granted += 1);
            }
            Event::SignInFailed {
                pass: Some(pass), ..
            }
            | Event::PassLocked { pass, .. } => {
                touch(*pass, &|_| {});
            }
            Event::PassDeleted { pass, .. } => {
                *kinds.entry("delete").or_default() += 1;
                touch(*pass, &|l| l.removed += 1);
            }
            Event::PassReplaced { old, .. } => touch(*old, &|l| l.removed += 1),
            Event::PolicyChanged { .. } => *kinds.entry("policy").or_default() += 1,
            _ => {}
        }
    }
    for (pass, life) in &lives {
        assert_eq!(life.issued, 1, "{pass}: issued {} times", life.issued);
        assert!(
            life.granted <= 1,
            "{pass}: a one-time pass granted {} times",
            life.granted
        );
        assert!(life.removed <= 1, "{pass}: removed {} times", life.removed);
        assert_eq!(
            life.events_after_removal, 0,
            "{pass}: events after its removal"
        );
    }
    // Exactly one per committed change: no fewer than answered, no more than sent.
    for kind in ["create", "sign-in", "delete", "policy"] {
        let events = kinds.get(kind).copied().unwrap_or(0);
        let answered = ledger.answered.get(kind).copied().unwrap_or(0);
        let sent = ledger.sent.get(kind).copied().unwrap_or(0);
        assert!(
            answered <= events && events <= sent,
            "{kind}: {events} events for {answered} answered and {sent} sent"
        );
    }
    for (pass, (holder, _)) in &ledger.created {
        let life = &lives[&pass.parse::<PassId>().unwrap()];
        assert_eq!(life.holder.as_deref(), Some(holder.as_str()));
    }
    for pass in &ledger.granted {
        assert_eq!(lives[&pass.parse::<PassId>().unwrap()].granted, 1, "{pass}");
    }
    for pass in &ledger.deleted {
        assert_eq!(lives[&pass.parse::<PassId>().unwrap()].removed, 1, "{pass}");
    }
    // Every event has its change: each user's pass is the one the events leave standing.
    for i in 0..USERS {
        let holder = user(i);
        let standing: Vec<(&PassId, &Life)> = lives
            .iter()
            .filter(|(_, l)| l.holder.as_deref() == Some(holder.as_str()) && l.removed == 0)
            .collect();
        assert!(standing.len() <= 1, "{holder}: {standing:?} left standing");
        let list: Value = http
            .get(format!(
                "{base}/v1.0/users/{holder}/authentication/temporaryAccessPassMethods"
            ))
            .header("authorization", HELPDESK)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let stored = list["value"].as_array().unwrap();
        match (standing.first(), stored.first()) {
            (None, None) => {}
            (Some((pass, life)), Some(document)) => {
                assert_eq!(document["id"], pass.to_string(), "{holder}");
                let used = document["methodUsabilityReason"] == "OneTimeUsed";
                assert_eq!(used, life.granted == 1, "{holder}: {document}");
            }
            (events, stored) => {
                panic!("{holder}: the events leave {events:?}, the store holds {stored:?}")
            }
        }
    }
}

fn crash_env(dir: &std::path::Path, pepper: &std::path::Path) -> Vec<(String, String)> {
    let users = dir.join("directory.json");
    std::fs::write(&users, directory()).unwrap();
    let mut env = demo_env(dir, pepper);
    env.retain(|(k, _)| k != "TAP_DIRECTORY_FILE");
    env.push(("TAP_DIRECTORY_FILE".into(), users.display().to_string()));
    env.push(("TAP_SIGN_IN_RATE".into(), "100000/s".into()));
    env.push(("TAP_SIGN_IN_BURST".into(), "100000".into()));
    env.push((
        "TAP_LOG".into(),
        "warn,temporary_access_pass_graph_service::startup=info".into(),
    ));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_load_loses_no_audit_event_on_sqlite() {
    let (dir, pepper) = scratch();
    let env = crash_env(dir.path(), &pepper);
    let (binary, ledger) = crash_runs(&env).await;
    let store = temporary_access_pass_sqlite::SqliteStore::open(dir.path().join("tap.db")).unwrap();
    let recorded = store.read_events(Sequence::START, 1_000_000).unwrap();
    println!("{} events", recorded.len());
    check(&recorded, &ledger, &binary.base()).await;
    drop(binary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_load_loses_no_audit_event_on_postgresql() {
    let (dir, pepper) = scratch();
    let schema = support::Scratch::new("crash").await;
    let mut env = crash_env(dir.path(), &pepper);
    env.push(("TAP_DATABASE_URL".into(), schema.url()));
    env.push(("TAP_TENANT".into(), "crash".into()));
    let (binary, ledger) = crash_runs(&env).await;
    let store =
        temporary_access_pass_postgres::PgStore::new(schema.pool(2).await, "crash").unwrap();
    let recorded = AsyncStore::read_events(&store, Sequence::START, 1_000_000)
        .await
        .unwrap();
    println!("{} events", recorded.len());
    check(&recorded, &ledger, &binary.base()).await;
    drop(binary);
}

/// The cursor that follows the last entry of `page`, or `cursor` itself for an empty page.
fn cursor_after(page: &DirectoryAuditList, cursor: &str) -> String {
    page.value
        .last()
        .and_then(|entry| audit_sequence(&entry.id))
        .map_or_else(
            || cursor.to_owned(),
            |last| {
                format!(
                    "/v1.0/auditLogs/directoryAudits?$top=50&$skiptoken={}",
                    last.get()
                )
            },
        )
}

/// A reader of the audit trail, as a SIEM follows it: from `cursor`, page by page through
/// whichever of `bases` answers (one may be dead), the next page from `@odata.nextLink`, and
/// at the end of the trail from the last entry it read; until `stop`, and then to the end.
/// Every entry's id is pushed to `seen`; returns the cursor it stopped at.
async fn follow(
    bases: Vec<String>,
    mut cursor: String,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> String {
    let http = client();
    for round in 0_usize.. {
        let base = &bases[round % bases.len()];
        let Ok(response) = http
            .get(format!("{base}{cursor}"))
            .header("authorization", GA)
            .send()
            .await
        else {
            continue;
        };
        assert_eq!(response.status(), 200, "the reader at {cursor}");
        let page: DirectoryAuditList = response.json().await.expect("a page of the trail");
        seen.lock()
            .unwrap()
            .extend(page.value.iter().map(|entry| entry.id.clone()));
        let end = page.next_link.is_none();
        cursor = match &page.next_link {
            Some(link) => link[link.find("/v1.0/").expect("a route")..].to_owned(),
            None => cursor_after(&page, &cursor),
        };
        if end {
            if stop.load(Ordering::SeqCst) {
                return cursor;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    cursor
}

/// Three processes of the service on one PostgreSQL schema, as behind a load balancer: the
/// load goes round-robin over them while a reader follows the audit trail through them; one of
/// the three, at random, is killed with SIGKILL at a random point and restarted, `RUNS` times.
/// Then, through a surviving process, the checks of the module's list, and: the reader, paging
/// while the writers ran, saw every event exactly once, in the trail's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_one_of_three_instances_loses_nothing_on_postgresql() {
    let (dir, pepper) = scratch();
    let schema = support::Scratch::new("instances").await;
    let mut env = crash_env(dir.path(), &pepper);
    env.push(("TAP_DATABASE_URL".into(), schema.url()));
    env.push(("TAP_TENANT".into(), "instances".into()));
    let start = || Binary::start(service_binary!(), &env).unwrap_or_else(|log| panic!("{log:#?}"));
    let mut instances = vec![start(), start(), start()];
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut cursor = "/v1.0/auditLogs/directoryAudits?$top=50".to_owned();
    for run in 0..RUNS {
        let bases: Vec<String> = instances.iter().map(Binary::base).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let writers = tokio::spawn(load(bases.clone(), ledger.clone(), run == 0, stop.clone()));
        let reader = tokio::spawn(follow(bases, cursor.clone(), seen.clone(), stop.clone()));
        let after = Duration::from_millis(300 + u64::try_from(random_below(1200)).unwrap());
        tokio::time::sleep(after).await;
        let victim = random_below(instances.len());
        instances[victim].child.kill().unwrap();
        let status = instances[victim].child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status:?}");
        // The load goes on through the two others for a while.
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(30), writers)
            .await
            .expect("the writers stop")
            .unwrap();
        cursor = tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .expect("the reader stops")
            .unwrap();
        instances[victim] = start();
        println!("run {run}: instance {victim} killed after {after:?}");
    }
    // Every writer has stopped: the reader follows to the end of the trail.
    let done = Arc::new(AtomicBool::new(true));
    follow(vec![instances[0].base()], cursor, seen.clone(), done).await;
    let ledger = Arc::try_unwrap(ledger).unwrap().into_inner().unwrap();
    println!("sent {:?}, answered {:?}", ledger.sent, ledger.answered);
    let store =
        temporary_access_pass_postgres::PgStore::new(schema.pool(2).await, "instances").unwrap();
    let recorded = AsyncStore::read_events(&store, Sequence::START, 1_000_000)
        .await
        .unwrap();
    println!("{} events", recorded.len());
    check(&recorded, &ledger, &instances[0].base()).await;
    let seen = seen.lock().unwrap().clone();
    let trail: Vec<String> = recorded
        .iter()
        .map(|r| temporary_access_pass::graph::audit_id(r.sequence))
        .collect();
    assert_eq!(
        seen.len(),
        trail.len(),
        "the reader saw {} entries of {}",
        seen.len(),
        trail.len()
    );
    assert_eq!(seen, trail, "the reader saw each entry once, in order");
    drop(instances);
}
