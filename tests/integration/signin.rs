//! SPEC 5.1-5.4, 5.6, 5.8, 6.2 and 6.5 through the pure core: the offer, the clients, the
//! redemption and what it commits, and what the user is shown.

use temporary_access_pass::signin::Lockout;
use temporary_access_pass::signin::{
    Client, CredentialPolicyBlock, NextStep, NotOffered, OfferContext, Prompt, ShownRefusal, offer,
};
use temporary_access_pass::testing::proptest;
use temporary_access_pass::testing::proptest::prelude::*;
use temporary_access_pass::{
    BlockCause, CreateRequest, Event, IncludeTarget, Policy, PolicySettings, PolicyState,
    Principal, RedeemContext, RedeemRefusal, SignInRequest, TemporaryAccessPass, Usability, redeem,
};
use time::Duration;

use crate::support::{
    CREATED, at, browser, key, member, modify, open_policy, pass_for, redeem_with, uid,
};

#[test]
fn spec_5_1_a_pass_is_offered_only_in_scope_inside_its_window_and_unused() {
    let user = member("u");
    let policy = open_policy();
    let start = CREATED + Duration::hours(1);
    let (_, p) = pass_for(
        &user,
        CreateRequest::new().start(start).is_usable_once(true),
    );
    let used = {
        let mut parts = p.clone().into_parts();
        parts.used_at = Some(start);
        TemporaryAccessPass::from_parts(parts).unwrap()
    };
    let o = offer(
        &OfferContext::new(&policy, &user, Some(&p), browser()),
        start,
    );
    assert_eq!(o.decision, Ok(Prompt::EnterPass));
    assert_eq!(
        o.events(),
        vec![Event::PassOffered {
            user: uid("u"),
            pass: Some(*p.id()),
            at: start
        }]
    );
    let cases = [
        (
            offer(&OfferContext::new(&policy, &user, None, browser()), start).decision,
            NotOffered::NoPass,
        ),
        (
            offer(
                &OfferContext::new(&Policy::default(), &user, Some(&p), browser()),
                start,
            )
            .decision,
            NotOffered::Unusable(Usability::PolicyBlocked(BlockCause::PolicyDisabled)),
        ),
        (
            offer(
                &OfferContext::new(
                    &Policy::new(PolicySettings::new().state(PolicyState::Enabled)).unwrap(),
                    &user,
                    Some(&p),
                    browser(),
                ),
                start,
            )
            .decision,
            NotOffered::Unusable(Usability::PolicyBlocked(BlockCause::NotIncluded)),
        ),
        (
            offer(
                &OfferContext::new(&policy, &user, Some(&p), browser()),
                CREATED,
            )
            .decision,
            NotOffered::Unusable(Usability::NotYetValid { starts_at: start }),
        ),
        (
            offer(
                &OfferContext::new(&policy, &user, Some(&p), browser()),
                p.end(),
            )
            .decision,
            NotOffered::Unusable(Usability::Expired { at: p.end() }),
        ),
        (
            offer(
                &OfferContext::new(&policy, &user, Some(&used), browser()),
                start,
            )
            .decision,
            NotOffered::Unusable(Usability::OneTimeUsed { at: start }),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, Err(want));
    }
    let o = offer(&OfferContext::new(&policy, &user, None, browser()), start);
    assert_eq!(
        o.events(),
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
    let (_, p) = pass_for(&user, CreateRequest::new());
    let federated = browser().federated_domain(true);
    let o = offer(
        &OfferContext::new(&policy, &user, Some(&p), federated),
        CREATED,
    );
    assert!(o.decision.is_ok());
    assert!(
        !o.redirect_to_federated_idp,
        "a user with a pass completes sign-in here"
    );
    let o = offer(&OfferContext::new(&policy, &user, None, federated), CREATED);
    assert!(
        o.redirect_to_federated_idp,
        "without a pass the redirect stands"
    );
    let o = offer(&OfferContext::new(&policy, &user, None, browser()), CREATED);
    assert!(
        !o.redirect_to_federated_idp,
        "a managed domain never redirects"
    );
}

#[test]
fn spec_5_1_seamless_sso_asks_for_the_password_with_the_pass_link() {
    let user = member("u");
    let (_, p) = pass_for(&user, CreateRequest::new());
    let o = offer(
        &OfferContext::new(
            &open_policy(),
            &user,
            Some(&p),
            browser().seamless_sso(true),
        ),
        CREATED,
    );
    assert_eq!(o.decision, Ok(Prompt::PasswordWithPassLink));
    assert_eq!(Prompt::LINK_TEXT, "Use your Temporary Access Pass instead");
}

#[test]
fn spec_5_2_nps_adfs_oobe_and_autopilot_are_refused_browser_and_app_allowed() {
    let user = member("u");
    let policy = open_policy();
    let (code, p) = pass_for(&user, CreateRequest::new());
    for client in [
        Client::NpsExtension,
        Client::AdfsAdapter,
        Client::WindowsSetup,
        Client::Autopilot,
    ] {
        assert!(!client.supports_pass());
        let ctx = SignInRequest::new(client);
        assert_eq!(
            offer(&OfferContext::new(&policy, &user, Some(&p), ctx), CREATED).decision,
            Err(NotOffered::UnsupportedClient(client))
        );
        let r = redeem(
            &RedeemContext::new(&policy, key(), &user, Some(&p), ctx),
            &code,
            CREATED,
        );
        assert_eq!(r.outcome, Err(RedeemRefusal::UnsupportedClient(client)));
        assert!(r.write.is_none(), "a refused client changes nothing");
    }
    for client in [Client::Browser, Client::AuthenticatorApp] {
        let r = redeem(
            &RedeemContext::new(&policy, key(), &user, Some(&p), SignInRequest::new(client)),
            &code,
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
    let (code, one) = pass_for(&user, CreateRequest::new().is_usable_once(true));
    let first = redeem_with(&policy, &user, Some(&one), &code, CREATED);
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
    let second = redeem_with(&policy, &user, Some(&consumed), &code, CREATED);
    assert_eq!(
        second.outcome,
        Err(RedeemRefusal::Unusable(Usability::OneTimeUsed {
            at: CREATED
        }))
    );
    assert_eq!(
        second.write, None,
        "a refusal that judged no code writes nothing (SPEC 6.5)"
    );

    let (code, multi) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    for minute in [0, 1, 30, 59] {
        let at = CREATED + Duration::minutes(minute);
        let r = redeem_with(&policy, &user, Some(&multi), &code, at);
        assert!(r.outcome.is_ok(), "minute {minute}");
        let recorded = r.write.expect("a multi-use sign-in writes too (SPEC 6.5)");
        assert_eq!(recorded.used_at(), Some(at), "the write records the use");
        assert!(
            recorded.usability(&policy, &user, at).is_usable(),
            "still usable"
        );
    }
    let r = redeem_with(&policy, &user, Some(&multi), &code, multi.end());
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
    let one_time = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers)
            .is_usable_once(true),
    )
    .unwrap();
    let (code, multi) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    let r = redeem_with(&one_time, &user, Some(&multi), &code, CREATED);
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
    let r = redeem_with(&not_in_scope, &user, Some(&multi), &code, CREATED);
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
fn spec_5_6_users_in_sspr_scope_must_register_an_sspr_method_next() {
    let user = member("u");
    let (code, p) = pass_for(&user, CreateRequest::new());
    let grant = |ctx| {
        redeem(
            &RedeemContext::new(&open_policy(), key(), &user, Some(&p), ctx),
            &code,
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
    let (code, p) = pass_for(&user, CreateRequest::new());
    let r = redeem_with(&open_policy(), &user, Some(&p), &code, CREATED);
    assert!(r.outcome.is_ok());
    assert!(
        r.events()
            .iter()
            .all(|e| matches!(e, Event::SignInSucceeded { .. }))
    );
}

#[test]
fn spec_6_2_a_user_without_a_pass_is_refused_like_a_wrong_code() {
    let user = member("nobody");
    let r = redeem_with(&open_policy(), &user, None, "ABCDEFGH", CREATED);
    assert_eq!(r.outcome, Err(RedeemRefusal::NoPass));
    assert!(r.write.is_none());
    assert_eq!(
        r.events(),
        vec![Event::SignInFailed {
            user: uid("nobody"),
            pass: None,
            reason: RedeemRefusal::NoPass,
            at: CREATED
        }]
    );
}

#[test]
fn spec_6_2_the_user_is_shown_one_refusal_whatever_the_reason() {
    let user = member("u");
    let (_, record) = pass_for(&user, CreateRequest::new().is_usable_once(true));
    let used = modify(&record, |p| p.used_at = Some(CREATED));
    let browser = browser();
    let refusals = [
        redeem(
            &RedeemContext::new(&open_policy(), key(), &user, None, browser),
            "x",
            CREATED,
        ),
        redeem(
            &RedeemContext::new(&open_policy(), key(), &user, Some(&record), browser),
            "wrong",
            CREATED,
        ),
        redeem(
            &RedeemContext::new(&open_policy(), key(), &user, Some(&used), browser),
            "wrong",
            CREATED,
        ),
        redeem(
            &RedeemContext::new(&Policy::default(), key(), &user, Some(&record), browser),
            "wrong",
            CREATED,
        ),
        redeem(
            &RedeemContext::new(&open_policy(), key(), &user, Some(&record), browser),
            "wrong",
            record.end(),
        ),
    ];
    let reasons: Vec<RedeemRefusal> = refusals
        .iter()
        .map(|r| r.outcome.clone().unwrap_err())
        .collect();
    assert!(matches!(reasons[0], RedeemRefusal::NoPass));
    assert!(matches!(reasons[1], RedeemRefusal::WrongCode { .. }));
    assert!(matches!(
        reasons[2],
        RedeemRefusal::Unusable(Usability::OneTimeUsed { .. })
    ));
    for reason in &reasons {
        assert_eq!(reason.shown(), ShownRefusal::NotAccepted, "{reason:?}");
        assert_eq!(
            reason.shown().to_string(),
            "that Temporary Access Pass was not accepted"
        );
    }
    let nps = RedeemRefusal::UnsupportedClient(Client::NpsExtension);
    assert_eq!(
        nps.shown(),
        ShownRefusal::UnsupportedClient(Client::NpsExtension)
    );
}

#[test]
fn spec_6_2_without_a_pass_every_code_is_refused_and_nothing_is_written() {
    let user = member("u");
    let (code, _) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    let large = Policy::new(
        (0..200).fold(
            PolicySettings::new()
                .state(PolicyState::Enabled)
                .include_target(temporary_access_pass::IncludeTarget::AllUsers),
            |s, i| {
                s.exclude_target(temporary_access_pass::ExcludeTarget::Group(
                    crate::support::gid(&format!("g{i}")),
                ))
            },
        ),
    )
    .unwrap();
    for policy in [open_policy(), Policy::default(), large] {
        for typed in [code.as_str(), "", "AAAAAAAA", &"x".repeat(100)] {
            let r = redeem_with(&policy, &user, None, typed, CREATED);
            assert_eq!(r.outcome, Err(RedeemRefusal::NoPass));
            assert!(r.write.is_none(), "the dummy is never stored");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// SPEC 6.5: for a supported client and a stored record, every answer that judged the code
    /// comes with the write that commits it, and the write is exactly what the answer says
    /// happened; a refusal that judged no code comes with none.
    #[test]
    fn spec_6_5_every_judged_attempt_returns_the_write_that_commits_it(
        once in any::<bool>(),
        policy_once in any::<bool>(),
        enabled in prop::bool::weighted(0.8),
        guest in prop::bool::weighted(0.1),
        failed in 0_u32..14,
        locked in proptest::option::of(-20_i64..80),
        used in proptest::option::of(-5_i64..70),
        last_failure in proptest::option::of(-5_i64..70),
        now in -10_i64..70,
        right in any::<bool>(),
    ) {
        let user = if guest { Principal::guest(crate::support::uid("u")) } else { member("u") };
        let (code, base) = pass_for(&member("u"), CreateRequest::new().is_usable_once(once));
        let record = modify(&base, |p| {
            p.failed_attempts = failed;
            p.locked_until = locked.map(at);
            p.used_at = used.map(at);
            p.last_failure = last_failure.map(at);
        });
        let policy = Policy::new(
            open_policy()
                .settings()
                .state(if enabled { PolicyState::Enabled } else { PolicyState::Disabled })
                .is_usable_once(policy_once),
        )
        .unwrap();
        let now = at(now);
        let typed = if right { code.as_str() } else { "wrong code" };
        let lockout = Lockout::default();
        let r = redeem(&RedeemContext::new(&policy, key(), &user, Some(&record), browser()).lockout(lockout), typed, now);
        let usability = record.usability(&policy, &user, now);
        if let Err(RedeemRefusal::Unusable(u)) = r.outcome {
            prop_assert_eq!(u, usability);
            prop_assert!(!u.is_usable());
            prop_assert!(r.write.is_none(), "a refusal that judged no code writes nothing");
            return Ok(());
        }
        let write = r.write.expect("a judged attempt always has a write");
        match r.outcome {
            Ok(grant) => {
                prop_assert!(right && usability.is_usable());
                prop_assert_eq!(grant.pass, *record.id());
                prop_assert_eq!((write.failed_attempts(), write.locked_until()), (0, None));
                prop_assert_eq!(write.used_at(), Some(record.used_at().map_or(now, |u| u.max(now))));
            }
            Err(RedeemRefusal::WrongCode { attempts_left, locked_until }) => {
                prop_assert!(!right && usability.is_usable());
                prop_assert_eq!(write.failed_attempts(), failed + 1);
                prop_assert_eq!(attempts_left, lockout.max_attempts().saturating_sub(failed + 1));
                prop_assert_eq!(locked_until, write.locked_until());
                prop_assert_eq!(write.used_at(), record.used_at());
                prop_assert_eq!(
                    write.last_failure(),
                    Some(record.last_failure().map_or(now, |l| l.max(now)))
                );
                // From the limit on there is a lock; below it, whatever lock was stored stays.
                if failed + 1 >= lockout.max_attempts() {
                    prop_assert!(write.locked_until().is_some_and(|t| t > now || t == write.end()));
                } else {
                    prop_assert_eq!(write.locked_until(), record.locked_until());
                }
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
        // SPEC 6.6: whatever happened, nothing moved backwards.
        prop_assert!(write.used_at() >= record.used_at());
        prop_assert!(write.last_failure() >= record.last_failure());
        if write.failed_attempts() > 0 {
            prop_assert!(write.locked_until() >= record.locked_until(), "a lock never shortens");
        }
    }
}
