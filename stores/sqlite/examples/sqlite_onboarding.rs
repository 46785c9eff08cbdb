//! The onboarding story on the SQLite store, across a restart:
//! `cargo run -p temporary-access-pass-sqlite --example sqlite_onboarding`.
//!
//! The program runs itself twice on one database file, as a service would across a deploy:
//! the first process enables the policy, issues Chris a one-time pass and exits; the second
//! starts on the same file, signs Chris in with the code, registers a FIDO2 key, and is refused
//! a second use. Nothing passes between them but the file, the pepper (from the "key vault", an
//! environment variable here) and the code Chris reads off the screen. Any step that does not go
//! as told ends the program with an error, so CI running it checks the story.
#![allow(clippy::print_stdout, reason = "an example prints its story")]

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use rand_core::TryRng;
use temporary_access_pass::signin::{Client, PasswordlessMethod};
use temporary_access_pass::{
    CreateRequest, DirectoryRole, Engine, EngineConfig, IncludeTarget, Pepper, PolicySettings,
    PolicyState, Principal, RedeemRefusal, SignInRequest, SysRng, SystemClock, UserId,
};
use temporary_access_pass_sqlite::SqliteStore;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Where this demonstration keeps the pepper between its two processes. A real host reads it
/// from its key store.
const PEPPER_VAR: &str = "TAP_DEMO_PEPPER_HEX";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    text.as_bytes()
        .chunks(2)
        .map(|pair| match std::str::from_utf8(pair) {
            Ok(pair) if pair.len() == 2 => Ok(u8::from_str_radix(pair, 16)?),
            _ => Err(format!("{PEPPER_VAR} is not hex").into()),
        })
        .collect()
}

/// The engine a process builds at start: the file, the pepper, the system clock.
fn start(db: &Path) -> Result<Engine<SystemClock, SqliteStore>> {
    let pepper = Pepper::new(&unhex(&std::env::var(PEPPER_VAR)?)?)?;
    Ok(Engine::new(
        SystemClock::new(),
        SqliteStore::open(db)?,
        EngineConfig::new(pepper),
    ))
}

fn chris() -> Result<Principal> {
    Ok(Principal::member(UserId::new("chris@contoso.com")?))
}

/// The first process: policy and pass. Prints the code on its last line, then stops.
fn issue(db: &Path) -> Result<()> {
    let engine = start(db)?;
    let admin =
        Principal::member(UserId::new("ga@contoso.com")?).role(DirectoryRole::GlobalAdministrator);
    let policy = PolicySettings::new()
        .state(PolicyState::Enabled)
        .is_usable_once(true)
        .include_target(IncludeTarget::AllUsers);
    let update = engine.update_policy(&admin, &policy)?;
    println!("[issue] policy enabled: {:?}", update.events());
    let created = engine.create(&admin, &chris()?, &CreateRequest::new(), &mut SysRng)?;
    println!(
        "[issue] pass {} created, valid until {}; stopping",
        created.record.id(),
        created.record.end()
    );
    println!("{}", created.passcode.expose_secret());
    Ok(())
}

/// The second process: starts on the same file and redeems.
fn sign_in(db: &Path, code: &str) -> Result<()> {
    let engine = start(db)?;
    let chris = chris()?;
    let browser = SignInRequest::new(Client::Browser);
    println!("[sign-in] started on {}", db.display());
    let grant = engine
        .redeem(&chris, code, browser)?
        .outcome
        .map_err(|r| format!("the pass did not survive the restart: {r}"))?;
    println!("[sign-in] Chris signed in with the code issued before the restart");
    engine.register(&chris, &grant, PasswordlessMethod::Fido2SecurityKey)?;
    println!("[sign-in] and registered a FIDO2 security key");
    match engine.redeem(&chris, code, browser)?.outcome {
        Err(RedeemRefusal::Unusable(u)) if u.graph_name() == "OneTimeUsed" => {
            println!("[sign-in] the same code again: refused, OneTimeUsed");
            Ok(())
        }
        other => Err(format!("a second use was not refused as OneTimeUsed: {other:?}").into()),
    }
}

/// Runs this program again with `args`, failing when the child does.
fn run_child(args: &[&str], pepper: &str) -> Result<String> {
    let output = Command::new(std::env::current_exe()?)
        .args(args)
        .env(PEPPER_VAR, pepper)
        .output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    if !output.status.success() {
        return Err(format!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["issue", db] => issue(Path::new(db)),
        ["sign-in", db, code] => sign_in(Path::new(db), code),
        [] => {
            // The database lives in a temporary directory removed at the end.
            let dir = tempfile::tempdir()?;
            let db = dir.path().join("passes.db");
            let db = db.to_str().ok_or("a temporary path that is not UTF-8")?;
            let mut secret = [0_u8; 32];
            SysRng.try_fill_bytes(&mut secret)?;
            let pepper = hex(&secret);

            let issued = run_child(&["issue", db], &pepper)?;
            let code = issued
                .lines()
                .last()
                .ok_or("the first process printed no code")?;
            println!("-- the service restarts --");
            run_child(&["sign-in", db, code], &pepper)?;
            println!("the pass, and its use, survived the restart");
            Ok(())
        }
        _ => Err("usage: sqlite_onboarding [issue <db> | sign-in <db> <code>]".into()),
    }
}
