//! The seed's story end to end, through the engine on the in-memory store:
//! `cargo run --example onboarding`.
//!
//! Each step prints what happened and the audit events; a step that does not go as the seed
//! says ends the program with an error, so CI running this example checks the story.
#![allow(clippy::print_stdout, reason = "an example prints its story")]

use std::error::Error;

use rand_core::TryRng;
use temporary_access_pass::signin::{Client, PasswordlessMethod};
use temporary_access_pass::time::{Date, Duration, Month};
use temporary_access_pass::{
    Clock, CreateRequest, DirectoryRole, Engine, EngineConfig, Event, GroupId, InMemoryStore,
    IncludeTarget, ManualClock, Pepper, PolicySettings, PolicyState, Principal, RedeemRefusal,
    SignInRequest, SysRng, UserId,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn step(title: &str, events: &[Event]) {
    println!("\n== {title}");
    for event in events {
        println!("   event: {event:?}");
    }
}

fn expect(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("the story went wrong: {what}").into())
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the example is one story, told in order"
)]
fn main() -> Result<()> {
    let start = Date::from_calendar_date(2021, Month::March, 11)?.with_hms(8, 0, 0)?;
    let clock = ManualClock::new(start.as_utc());
    let mut secret = [0_u8; 32];
    SysRng.try_fill_bytes(&mut secret)?;
    let engine = Engine::new(
        &clock,
        InMemoryStore::new(),
        EngineConfig::new(Pepper::new(&secret)?),
    );

    let onboarding = GroupId::new("onboarding")?;
    let global_admin =
        Principal::member(UserId::new("ga@contoso.com")?).role(DirectoryRole::GlobalAdministrator);
    let admin = Principal::member(UserId::new("helpdesk@contoso.com")?)
        .role(DirectoryRole::AuthenticationAdministrator);
    let chris = Principal::member(UserId::new("chris@contoso.com")?).group(onboarding.clone());
    let guest = Principal::guest(UserId::new("vendor_fabrikam.com#EXT#@contoso.com")?)
        .group(onboarding.clone());
    let browser = SignInRequest::new(Client::Browser);

    // 1. The policy: enabled for the onboarding group, one-time passes.
    let change = engine.update_policy(
        &global_admin,
        &PolicySettings::new()
            .state(PolicyState::Enabled)
            .is_usable_once(true)
            .include_target(IncludeTarget::Group(onboarding)),
    )?;
    step(
        "a Global Administrator enables the policy for group onboarding",
        &change.events(),
    );

    // 2. The helpdesk issues a one-time pass.
    let issued = engine.create(&admin, &chris, &CreateRequest::new(), &mut SysRng)?;
    step(
        &format!(
            "{} issues a one-time pass to {}: code {} (shown once)",
            admin.id(),
            chris.id(),
            issued.passcode.expose_secret()
        ),
        &issued.events(),
    );
    let code = issued.passcode.expose_secret().to_owned();

    // 3. Chris is offered the pass and redeems it.
    let offer = engine.offer(&chris, browser)?;
    step(
        &format!("sign-in page: offer = {:?}", offer.decision),
        &offer.events(),
    );
    expect(offer.decision.is_ok(), "the pass is offered")?;
    let sign_in = engine.redeem(&chris, &code, browser)?;
    step(
        &format!("Chris types the code: {:?}", sign_in.outcome),
        &sign_in.events(),
    );
    let grant = sign_in
        .outcome
        .map_err(|r| format!("redeem refused: {r}"))?;
    let signed_in = clock.now();

    // 4. Minute 9: a FIDO2 key is registered.
    clock.set(signed_in.checked_add(Duration::minutes(9)).ok_or("time")?);
    let fido = engine.register(&chris, &grant, PasswordlessMethod::Fido2SecurityKey);
    step(
        &format!("minute 9: register a FIDO2 security key: {fido:?}"),
        &[],
    );
    expect(fido.is_ok(), "registration at minute 9 is allowed")?;

    // 5. A second redemption is refused.
    let again = engine.redeem(&chris, &code, browser)?;
    let refusal = again.outcome.as_ref().err().copied();
    step(
        &format!("the same code again: {refusal:?}"),
        &again.events(),
    );
    if let Some(block) = refusal.and_then(|r| r.credential_policy_block()) {
        println!("   shown to the user: {block}");
    }
    expect(
        matches!(refusal, Some(RedeemRefusal::Unusable(u)) if u.graph_name() == "OneTimeUsed"),
        "a second use is refused as OneTimeUsed",
    )?;

    // 6. Minute 11: too late to register.
    clock.set(signed_in.checked_add(Duration::minutes(11)).ok_or("time")?);
    let late = engine.register(&chris, &grant, PasswordlessMethod::PhoneSignIn);
    step(&format!("minute 11: register phone sign-in: {late:?}"), &[]);
    expect(late.is_err(), "registration at minute 11 is refused")?;

    // 7. A guest and an AD FS sign-in are refused.
    let guest_pass = engine.create(&admin, &guest, &CreateRequest::new(), &mut SysRng)?;
    let guest_try = engine.redeem(&guest, guest_pass.passcode.expose_secret(), browser)?;
    step(
        &format!("a guest signs in with a pass: {:?}", guest_try.outcome),
        &guest_try.events(),
    );
    expect(
        guest_try.outcome.is_err(),
        "guests can't sign in with a pass",
    )?;
    let adfs = engine.redeem(&chris, &code, SignInRequest::new(Client::AdfsAdapter))?;
    step(
        &format!("Chris through the AD FS adapter: {:?}", adfs.outcome),
        &adfs.events(),
    );
    expect(
        adfs.outcome == Err(RedeemRefusal::UnsupportedClient(Client::AdfsAdapter)),
        "the AD FS adapter is refused",
    )?;

    // 8. Replacing the still-valid pass is refused; deleting it revokes Chris's sessions.
    match engine.create(&admin, &chris, &CreateRequest::new(), &mut SysRng) {
        Ok(_) => return Err("a valid pass was replaced without deletion".into()),
        Err(refused) => step(
            &format!("replace the still-valid pass: refused: {refused}"),
            &[],
        ),
    }
    let deleted = engine
        .delete(&admin, &chris)?
        .ok_or("there was a pass to delete")?;
    step(
        &format!("delete it: effects {:?}", deleted.effects),
        &deleted.events(),
    );
    expect(
        !deleted.effects.is_empty(),
        "deleting a valid pass revokes sessions",
    )?;

    // 9. A new pass, left to expire, is replaced without revoking anything.
    let short = engine.create(&admin, &chris, &CreateRequest::new(), &mut SysRng)?;
    step("a new pass for Chris", &short.events());
    clock.set(short.record.end());
    let replacement = engine.create(&admin, &chris, &CreateRequest::new(), &mut SysRng)?;
    step(
        &format!(
            "after it expired, a replacement: effects {:?}",
            replacement.effects
        ),
        &replacement.events(),
    );
    expect(
        replacement.replaced == Some((*short.record.id(), false)) && replacement.effects.is_empty(),
        "an expired pass is replaced without revoking sessions",
    )?;
    println!("\nthe story went as the seed tells it");
    Ok(())
}
