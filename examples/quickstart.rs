//! The main demonstration: a policy, a one-time pass, a sign-in and a passwordless registration,
//! through the engine on the in-memory store. `cargo run --example quickstart`.

use std::io::{Write, stdout};

use temporary_access_pass::signin::{Client, PasswordlessMethod};
use temporary_access_pass::time::{Date, Duration, Month};
use temporary_access_pass::{
    CreateRequest, DirectoryRole, Engine, EngineConfig, InMemoryStore, IncludeTarget, ManualClock,
    Pepper, PolicySettings, PolicyState, Principal, SignInRequest, SysRng, UserId,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The pepper keys every stored digest; it comes from the host's key store, never the store.
    let pepper = Pepper::new(b"a secret of at least 32 bytes, from a key vault")?;
    let start = Date::from_calendar_date(2021, Month::March, 11)?.with_hms(8, 0, 0)?;
    let clock = ManualClock::new(start.as_utc());
    let engine = Engine::new(&clock, InMemoryStore::new(), EngineConfig::new(pepper));

    let admin =
        Principal::member(UserId::new("ga@contoso.com")?).role(DirectoryRole::GlobalAdministrator);
    let chris = Principal::member(UserId::new("chris@contoso.com")?);

    // The tenant policy: enabled for every user, one-time passes.
    let policy = PolicySettings::new()
        .state(PolicyState::Enabled)
        .is_usable_once(true)
        .include_target(IncludeTarget::AllUsers);
    let update = engine.update_policy(&admin, &policy)?;
    writeln!(stdout(), "audit: {:?}", update.events())?;

    // The administrator creates a pass; the code is shown once and stored only as a digest.
    let created = engine.create(&admin, &chris, &CreateRequest::new(), &mut SysRng)?;
    let code = created.passcode.expose_secret();
    writeln!(
        stdout(),
        "pass {} for {}: {code}",
        created.record.id(),
        chris.id()
    )?;

    // Chris signs in with it, once; a second use is refused.
    let browser = SignInRequest::new(Client::Browser);
    let grant = engine.redeem(&chris, code, browser)?.outcome?;
    assert!(engine.redeem(&chris, code, browser)?.outcome.is_err());

    // Nine minutes later Chris registers a security key: inside the 10-minute window.
    clock.advance(Duration::minutes(9))?;
    engine.register(&chris, &grant, PasswordlessMethod::Fido2SecurityKey)?;
    writeln!(
        stdout(),
        "signed in once, refused the second time, registered a FIDO2 key"
    )?;
    Ok(())
}
