//! The main demonstration: a policy enabled for a group, an Authentication Administrator issues
//! a pass to a member, the code is shown once, and a `ManualClock` walks the pass through its
//! window. Run with `cargo run --example quickstart`.
#![allow(clippy::print_stdout, reason = "an example prints its story")]

use std::error::Error;

use temporary_access_pass::{
    Clock, CreatePassRequest, DigestKey, DirectoryRole, GroupId, IncludeTarget, IssueContext,
    ManualClock, Pepper, Policy, PolicySettings, PolicyState, Principal, SysRng, TryRng, UserId,
    issue,
};
use time::{Duration, macros::utc_datetime};

fn main() -> Result<(), Box<dyn Error>> {
    let clock = ManualClock::new(utc_datetime!(2021-03-09 23:19:17));

    // The tenant policy: enabled for the "new-hires" group, one-time passes, seed defaults
    // otherwise (60..=1440 minutes, default 60, 8 characters).
    let new_hires = GroupId::new("new-hires")?;
    let policy = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .usable_once(true)
            .include(IncludeTarget::Group(new_hires.clone())),
    )?;
    println!(
        "policy: enabled for group {new_hires}, lifetimes {}..={} min (default {}), one-time {}, length {}",
        policy.minimum_lifetime().minutes(),
        policy.maximum_lifetime().minutes(),
        policy.default_lifetime().minutes(),
        policy.is_usable_once(),
        policy.default_length().get(),
    );

    // The host's pepper would come from a key vault; here, 32 fresh random bytes.
    let mut secret = [0_u8; 32];
    SysRng.try_fill_bytes(&mut secret)?;
    let key = DigestKey::from(Pepper::new(&secret)?);

    let admin = Principal::member(UserId::new("admin@contoso.com")?)
        .with_role(DirectoryRole::AuthenticationAdministrator);
    let chris = Principal::member(UserId::new("chris@contoso.com")?).with_group(new_hires);

    // The pass starts in 30 minutes and lasts the policy default (60 minutes).
    let now = clock.now();
    let start = now
        .checked_add(Duration::minutes(30))
        .ok_or("start out of range")?;
    let request = CreatePassRequest::new().start(start);
    let ctx = IssueContext::new(&policy, &key, &admin, &chris);
    let issued = issue(&ctx, &request, now, &mut SysRng)?;
    println!(
        "\n{} issued pass {} for {}",
        admin.id(),
        issued.record.id(),
        chris.id()
    );
    println!(
        "  code (shown once, never stored): {}",
        issued.created.passcode.expose_secret()
    );
    println!("  events: {:?}", issued.events);
    let code = issued.created.passcode.expose_secret().to_owned();
    let pass = issued.record;
    println!("  stored record: {pass:?}");

    // Walk the clock through the window.
    for step in [Duration::ZERO, Duration::minutes(30), Duration::minutes(60)] {
        let at = clock.advance(step)?;
        let view = pass.view(&policy, &chris, at);
        println!(
            "\nat {at}: isUsable {} methodUsabilityReason {} ({})",
            view.is_usable,
            view.usability.graph_name(),
            view.usability
        );
    }

    // Verification compares digests in constant time.
    let right = pass.verify_code(&key, &code);
    let wrong = pass.verify_code(&key, "WRONGxx9");
    println!("\nright code verifies: {right}");
    println!("wrong code verifies: {wrong}");
    if !right || wrong {
        return Err("verification gave the wrong answer".into());
    }

    // An Authentication Administrator may not create a pass for a Global Administrator.
    let boss = Principal::member(UserId::new("boss@contoso.com")?)
        .with_role(DirectoryRole::GlobalAdministrator);
    let ctx = IssueContext::new(&policy, &key, &admin, &boss);
    match issue(&ctx, &CreatePassRequest::new(), clock.now(), &mut SysRng) {
        Ok(_) => {
            return Err(
                "an Authentication Administrator created a pass for a Global Administrator".into(),
            );
        }
        Err(refusal) => println!("\nrefused: {refusal}"),
    }
    Ok(())
}
