//! SPEC 5 (sign-in and registration) and 6.4 (guessing), through the pure core.

use temporary_access_pass::{
    BlockCause, Client, CreatePassRequest, CredentialPolicyBlock, DigestKey, DirectoryRole, Event,
    Grant, IncludeTarget, IssueContext, Lockout, NextStep, NotOffered, PasswordlessMethod, Policy,
    PolicySettings, PolicyState, Principal, Prompt, REGISTRATION_WINDOW, RedeemRefusal,
    RedeemSettings, RegistrationError, SignInContext, TemporaryAccessPass, Usability,
    authorize_registration, offer, redeem,
};
use time::{Duration, UtcDateTime};

use crate::support::{CREATED, TestRng, admin, key, member, open_policy, uid};

fn pepper() -> DigestKey {
    key().clone()
}

fn pass(user: &Principal, request: CreatePassRequest) -> (String, TemporaryAccessPass) {
    let policy = open_policy();
    let issuer = admin("aa", DirectoryRole::AuthenticationAdministrator);
    let pepper = pepper();
    let ctx = IssueContext::new(&policy, &pepper, &issuer, user);
    let issued = temporary_access_pass::issue(&ctx, &request, CREATED, &mut TestRng(17)).unwrap();
    (
        issued.created.passcode.expose_secret().to_owned(),
        issued.record,
    )
}

fn browser() -> SignInContext {
    SignInContext::new(Client::Browser)
}

#[test]
fn spec_5_1_a_pass_is_offered_only_in_scope_inside_its_window_and_unused() {
    let user = member("u");
    let policy = open_policy();
    let start = CREATED + Duration::hours(1);
    let (_, p) = pass(
        &user,
        CreatePassRequest::new().start(start).usable_once(true),
    );
    let used = {
        let mut parts = p.clone().into_parts();
        parts.used_at = Some(start);
        TemporaryAccessPass::from_parts(parts).unwrap()
    };
    let o = offer(&policy, &user, Some(&p), &browser(), start);
    assert_eq!(o.decision, Ok(Prompt::EnterPass));
    assert_eq!(
        o.events,
        vec![Event::PassOffered {
            user: uid("u"),
            pass: Some(*p.id()),
            at: start
        }]
    );
    let cases = [
        (
            offer(&policy, &user, None, &browser(), start).decision,
            NotOffered::NoPass,
        ),
        (
            offer(&Policy::default(), &user, Some(&p), &browser(), start).decision,
            NotOffered::NotInScope(BlockCause::PolicyDisabled),
        ),
        (
            offer(
                &Policy::new(PolicySettings::new().state(PolicyState::Enabled)).unwrap(),
                &user,
                Some(&p),
                &browser(),
                start,
            )
            .decision,
            NotOffered::NotInScope(BlockCause::NotIncluded),
        ),
        (
            offer(&policy, &user, Some(&p), &browser(), CREATED).decision,
            NotOffered::NotYetValid { starts_at: start },
        ),
        (
            offer(&policy, &user, Some(&p), &browser(), p.end()).decision,
            NotOffered::Expired { at: p.end() },
        ),
        (
            offer(&policy, &user, Some(&used), &browser(), start).decision,
            NotOffered::OneTimeUsed { at: start },
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, Err(want));
    }
    let o = offer(&policy, &user, None, &browser(), start);
    assert_eq!(
        o.events,
        vec![Event::PassNotOffered {
            user: uid("u"),
            reason: NotOffered::NoPass,
            at: start
        }]
    );
    assert_eq!(
        NotOffered::NoPass.to_string(),
        "the user has no Temporary Access Pass"
    );
}

#[test]
fn spec_5_1_federated_domains_complete_here_only_with_an_offerable_pass() {
    let user = member("u");
    let policy = open_policy();
    let (_, p) = pass(&user, CreatePassRequest::new());
    let federated = browser().federated(true);
    let o = offer(&policy, &user, Some(&p), &federated, CREATED);
    assert!(o.decision.is_ok());
    assert!(
        !o.redirect_to_federated_idp,
        "a user with a pass completes sign-in here"
    );
    let o = offer(&policy, &user, None, &federated, CREATED);
    assert!(
        o.redirect_to_federated_idp,
        "without a pass the redirect stands"
    );
    let o = offer(&policy, &user, None, &browser(), CREATED);
    assert!(
        !o.redirect_to_federated_idp,
        "a managed domain never redirects"
    );
}

#[test]
fn spec_5_1_seamless_sso_asks_for_the_password_with_the_pass_link() {
    let user = member("u");
    let (_, p) = pass(&user, CreatePassRequest::new());
    let o = offer(
        &open_policy(),
        &user,
        Some(&p),
        &browser().seamless_sso(true),
        CREATED,
    );
    assert_eq!(o.decision, Ok(Prompt::PasswordWithPassLink));
    assert_eq!(Prompt::LINK_TEXT, "Use your Temporary Access Pass instead");
}

#[test]
fn spec_5_2_nps_adfs_oobe_and_autopilot_are_refused_browser_and_app_allowed() {
    let user = member("u");
    let policy = open_policy();
    let (code, p) = pass(&user, CreatePassRequest::new());
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper);
    for client in [
        Client::NpsExtension,
        Client::AdfsAdapter,
        Client::WindowsSetup,
        Client::Autopilot,
    ] {
        assert!(!client.supports_pass());
        let ctx = SignInContext::new(client);
        assert_eq!(
            offer(&policy, &user, Some(&p), &ctx, CREATED).decision,
            Err(NotOffered::UnsupportedClient(client))
        );
        let r = redeem(&policy, &settings, &user, Some(&p), &code, &ctx, CREATED);
        assert_eq!(r.outcome, Err(RedeemRefusal::UnsupportedClient(client)));
        assert!(r.write.is_none(), "a refused client changes nothing");
    }
    for client in [Client::Browser, Client::AuthenticatorApp] {
        let r = redeem(
            &policy,
            &settings,
            &user,
            Some(&p),
            &code,
            &SignInContext::new(client),
            CREATED,
        );
        assert!(r.outcome.is_ok(), "{client}");
    }
    assert_eq!(
        RedeemRefusal::UnsupportedClient(Client::AdfsAdapter).to_string(),
        "the AD FS adapter cannot use a Temporary Access Pass: use a browser or the Authenticator app"
    );
}

#[test]
fn spec_5_3_a_one_time_pass_is_consumed_a_multi_use_pass_is_not() {
    let user = member("u");
    let policy = open_policy();
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper);
    let (code, one) = pass(&user, CreatePassRequest::new().usable_once(true));
    let first = redeem(
        &policy,
        &settings,
        &user,
        Some(&one),
        &code,
        &browser(),
        CREATED,
    );
    let grant = first.outcome.unwrap();
    assert_eq!(
        (grant.user.clone(), grant.pass, grant.signed_in_at),
        (uid("u"), *one.id(), CREATED)
    );
    assert!(grant.is_usable_once);
    let consumed = first
        .write
        .expect("a one-time pass is written back as used");
    assert_eq!(consumed.used_at(), Some(CREATED));
    let second = redeem(
        &policy,
        &settings,
        &user,
        Some(&consumed),
        &code,
        &browser(),
        CREATED,
    );
    assert_eq!(
        second.outcome,
        Err(RedeemRefusal::Unusable(Usability::OneTimeUsed {
            at: CREATED
        }))
    );
    assert_eq!(
        second.write.as_ref(),
        Some(&consumed),
        "a refusal writes the record back unchanged, to commit what it was judged on (SPEC 6.5)"
    );

    let (code, multi) = pass(&user, CreatePassRequest::new().usable_once(false));
    for minute in [0, 1, 30, 59] {
        let at = CREATED + Duration::minutes(minute);
        let r = redeem(
            &policy,
            &settings,
            &user,
            Some(&multi),
            &code,
            &browser(),
            at,
        );
        assert!(r.outcome.is_ok(), "minute {minute}");
        let recorded = r.write.expect("a multi-use sign-in writes too (SPEC 6.5)");
        assert_eq!(recorded.used_at(), Some(at), "the write records the use");
        assert!(
            recorded.usability(&policy, &user, at).is_usable(),
            "still usable"
        );
    }
    let r = redeem(
        &policy,
        &settings,
        &user,
        Some(&multi),
        &code,
        &browser(),
        multi.end(),
    );
    assert_eq!(
        r.outcome,
        Err(RedeemRefusal::Unusable(Usability::Expired {
            at: multi.end()
        }))
    );
}

#[test]
fn spec_5_4_blocked_causes_display_the_user_credential_policy_message() {
    let user = member("u");
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper);
    let one_time = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include(IncludeTarget::AllUsers)
            .usable_once(true),
    )
    .unwrap();
    let (code, multi) = pass(&user, CreatePassRequest::new().usable_once(false));
    let r = redeem(
        &one_time,
        &settings,
        &user,
        Some(&multi),
        &code,
        &browser(),
        CREATED,
    );
    let refusal = r.outcome.unwrap_err();
    assert_eq!(
        refusal.credential_policy_block(),
        Some(CredentialPolicyBlock::MultiUseUnderOneTimePolicy)
    );
    assert_eq!(
        CredentialPolicyBlock::MultiUseUnderOneTimePolicy.to_string(),
        "Temporary Access Pass sign in was blocked due to User Credential Policy (the pass is multi-use while the policy requires one-time passes)"
    );
    let not_in_scope = Policy::new(PolicySettings::new().state(PolicyState::Enabled)).unwrap();
    let r = redeem(
        &not_in_scope,
        &settings,
        &user,
        Some(&multi),
        &code,
        &browser(),
        CREATED,
    );
    assert_eq!(
        r.outcome.unwrap_err().credential_policy_block(),
        Some(CredentialPolicyBlock::NotInScope)
    );
    let refusal = RedeemRefusal::Unusable(Usability::OneTimeUsed { at: CREATED });
    assert_eq!(
        refusal.credential_policy_block(),
        Some(CredentialPolicyBlock::OneTimeUsed)
    );
    assert!(
        CredentialPolicyBlock::OneTimeUsed
            .to_string()
            .starts_with(CredentialPolicyBlock::MESSAGE)
    );
    // Other refusals are not shown that way.
    assert_eq!(RedeemRefusal::NoPass.credential_policy_block(), None);
    assert_eq!(
        RedeemRefusal::Unusable(Usability::Expired { at: CREATED }).credential_policy_block(),
        None
    );
}

#[test]
fn spec_5_5_registration_window_ten_minutes_after_one_time_sign_in() {
    let user = member("u");
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper);
    let (code, one) = pass(&user, CreatePassRequest::new().usable_once(true));
    let grant = redeem(
        &open_policy(),
        &settings,
        &user,
        Some(&one),
        &code,
        &browser(),
        CREATED,
    )
    .outcome
    .unwrap();
    assert_eq!(grant.registration_until, CREATED + REGISTRATION_WINDOW);
    assert_eq!(REGISTRATION_WINDOW, Duration::minutes(10));
    let register = |grant: &Grant, record: &TemporaryAccessPass, method, at| {
        authorize_registration(&user, grant, Some(record), method, at)
    };
    for method in [
        PasswordlessMethod::Fido2SecurityKey,
        PasswordlessMethod::PhoneSignIn,
    ] {
        assert_eq!(
            register(&grant, &one, method, CREATED + Duration::minutes(9)),
            Ok(())
        );
        assert_eq!(
            register(&grant, &one, method, CREATED + Duration::seconds(599)),
            Ok(())
        );
        let err = register(&grant, &one, method, CREATED + Duration::minutes(10)).unwrap_err();
        assert_eq!(
            err,
            RegistrationError::WindowClosed {
                method,
                until: CREATED + Duration::minutes(10)
            }
        );
        assert!(register(&grant, &one, method, CREATED + Duration::minutes(11)).is_err());
    }
    // Multi-use: limited only by the pass end.
    let (code, multi) = pass(&user, CreatePassRequest::new().usable_once(false));
    let grant = redeem(
        &open_policy(),
        &settings,
        &user,
        Some(&multi),
        &code,
        &browser(),
        CREATED,
    )
    .outcome
    .unwrap();
    assert_eq!(grant.registration_until, multi.end());
    assert!(
        register(
            &grant,
            &multi,
            PasswordlessMethod::Fido2SecurityKey,
            CREATED + Duration::minutes(45)
        )
        .is_ok()
    );
    assert!(
        register(
            &grant,
            &multi,
            PasswordlessMethod::Fido2SecurityKey,
            multi.end()
        )
        .is_err()
    );
}

#[test]
fn spec_5_6_users_in_sspr_scope_must_register_an_sspr_method_next() {
    let user = member("u");
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper);
    let (code, p) = pass(&user, CreatePassRequest::new());
    let grant = |ctx| {
        redeem(
            &open_policy(),
            &settings,
            &user,
            Some(&p),
            &code,
            &ctx,
            CREATED,
        )
        .outcome
        .unwrap()
    };
    assert_eq!(
        grant(browser().sspr_registration_required(true)).next_step,
        NextStep::RegisterSsprMethod
    );
    assert_eq!(grant(browser()).next_step, NextStep::RegisterMethods);
}

#[test]
fn spec_5_8_signing_in_with_a_pass_disables_no_other_method() {
    // Nothing a sign-in decides carries an effect: only deletions revoke sessions, and nothing
    // ever touches the user's other methods (the password keeps working).
    let user = member("u");
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper);
    let (code, p) = pass(&user, CreatePassRequest::new());
    let r = redeem(
        &open_policy(),
        &settings,
        &user,
        Some(&p),
        &code,
        &browser(),
        CREATED,
    );
    assert!(r.outcome.is_ok());
    assert!(
        r.events
            .iter()
            .all(|e| matches!(e, Event::SignInSucceeded { .. }))
    );
}

#[test]
fn spec_6_2_a_user_without_a_pass_is_refused_like_a_wrong_code() {
    let user = member("nobody");
    let pepper = pepper();
    let r = redeem(
        &open_policy(),
        &RedeemSettings::new(&pepper),
        &user,
        None,
        "ABCDEFGH",
        &browser(),
        CREATED,
    );
    assert_eq!(r.outcome, Err(RedeemRefusal::NoPass));
    assert!(r.write.is_none());
    assert_eq!(
        r.events,
        vec![Event::SignInFailed {
            user: uid("nobody"),
            pass: None,
            reason: RedeemRefusal::NoPass,
            at: CREATED
        }]
    );
}

/// Redeems `typed` and returns the outcome, keeping the record up to date.
fn attempt(
    p: &mut TemporaryAccessPass,
    user: &Principal,
    typed: &str,
    at: UtcDateTime,
    lockout: Lockout,
) -> Result<temporary_access_pass::Grant, RedeemRefusal> {
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper).lockout(lockout);
    let r = redeem(
        &open_policy(),
        &settings,
        user,
        Some(p),
        typed,
        &browser(),
        at,
    );
    if let Some(next) = r.write {
        *p = next;
    }
    r.outcome
}

#[test]
fn spec_6_4_lock_after_the_limit_doubling_back_off_capped_at_the_end() {
    let user = member("u");
    let (code, mut p) = pass(
        &user,
        CreatePassRequest::new()
            .lifetime_minutes(600)
            .usable_once(false),
    );
    let lockout = Lockout::default();
    assert_eq!(lockout.max_attempts(), 10);
    let mut now = CREATED;
    for n in 1..=9_u32 {
        assert_eq!(
            attempt(&mut p, &user, "wrong", now, lockout),
            Err(RedeemRefusal::WrongCode {
                attempts_left: 10 - n,
                locked_until: None
            })
        );
    }
    // The 10th wrong code locks for one minute.
    let until = now + Duration::minutes(1);
    assert_eq!(
        attempt(&mut p, &user, "wrong", now, lockout),
        Err(RedeemRefusal::WrongCode {
            attempts_left: 0,
            locked_until: Some(until)
        })
    );
    assert_eq!(p.failed_attempts(), 10);
    // While locked, right and wrong codes get the same answer and change nothing.
    let locked = Err(RedeemRefusal::Unusable(Usability::PolicyBlocked(
        BlockCause::Locked { until },
    )));
    let before = p.clone();
    assert_eq!(attempt(&mut p, &user, &code, now, lockout), locked);
    assert_eq!(
        attempt(&mut p, &user, "wrong", now + Duration::seconds(59), lockout),
        locked
    );
    assert_eq!(p, before);
    // Each further wrong code doubles the lock: 2, 4, 8 ... minutes.
    for (k, minutes) in [(11, 2), (12, 4), (13, 8), (14, 16)] {
        now = p.locked_until().unwrap();
        let until = now + Duration::minutes(minutes);
        assert_eq!(
            attempt(&mut p, &user, "wrong", now, lockout),
            Err(RedeemRefusal::WrongCode {
                attempts_left: 0,
                locked_until: Some(until)
            })
        );
        assert_eq!(p.failed_attempts(), k);
    }
    // Capped at the pass end.
    for _ in 0..30 {
        now = p.locked_until().unwrap();
        if now >= p.end() {
            break;
        }
        let _ = attempt(&mut p, &user, "wrong", now, lockout);
        assert!(p.locked_until().unwrap() <= p.end());
    }
    assert_eq!(p.locked_until(), Some(p.end()));
}

#[test]
fn spec_6_4_a_right_code_resets_the_count() {
    let user = member("u");
    let (code, mut p) = pass(&user, CreatePassRequest::new().usable_once(false));
    let lockout = Lockout::new(3, Duration::seconds(30)).unwrap();
    for _ in 0..2 {
        assert!(attempt(&mut p, &user, "nope", CREATED, lockout).is_err());
    }
    assert_eq!(p.failed_attempts(), 2);
    assert!(attempt(&mut p, &user, &code, CREATED, lockout).is_ok());
    assert_eq!(p.failed_attempts(), 0);
    assert_eq!(p.locked_until(), None);
    // After a lock has lifted, a right code works and clears it.
    for _ in 0..3 {
        let _ = attempt(&mut p, &user, "nope", CREATED, lockout);
    }
    let until = p.locked_until().unwrap();
    assert_eq!(until, CREATED + Duration::seconds(30));
    assert!(attempt(&mut p, &user, &code, until, lockout).is_ok());
    assert_eq!((p.failed_attempts(), p.locked_until()), (0, None));
}

#[test]
fn spec_6_4_lockout_settings_are_validated() {
    assert!(Lockout::new(0, Duration::MINUTE).is_err());
    assert!(Lockout::new(1001, Duration::MINUTE).is_err());
    assert!(Lockout::new(5, Duration::milliseconds(999)).is_err());
    assert!(Lockout::new(5, Duration::days(2)).is_err());
    assert_eq!(
        Lockout::new(0, Duration::MINUTE).unwrap_err().to_string(),
        "attempt limit is 0: allowed 1..=1000"
    );
    let l = Lockout::new(1000, Duration::DAY).unwrap();
    assert_eq!((l.max_attempts(), l.base_backoff()), (1000, Duration::DAY));
}

#[test]
fn spec_6_4_the_lock_is_reported_in_events() {
    let user = member("u");
    let (_, mut p) = pass(&user, CreatePassRequest::new().usable_once(false));
    let lockout = Lockout::new(1, Duration::MINUTE).unwrap();
    let pepper = pepper();
    let settings = RedeemSettings::new(&pepper).lockout(lockout);
    let r = redeem(
        &open_policy(),
        &settings,
        &user,
        Some(&p),
        "wrong",
        &browser(),
        CREATED,
    );
    let until = CREATED + Duration::MINUTE;
    assert!(r.events.contains(&Event::PassLocked {
        user: uid("u"),
        pass: *p.id(),
        until,
        failed_attempts: 1,
        at: CREATED,
    }));
    p = r.write.unwrap();
    assert_eq!(p.locked_until(), Some(until));
    // Events never carry the code or the digest.
    let printed = format!("{:?}", r.events);
    assert!(!printed.contains("wrong") && !printed.to_lowercase().contains("digest"));
}
