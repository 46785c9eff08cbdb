//! SPEC 5.5: registering a passwordless method after a sign-in.

use temporary_access_pass::signin::{
    Grant, NextStep, PasswordlessMethod, REGISTRATION_WINDOW, RegisterContext, RegistrationError,
    register,
};
use temporary_access_pass::{CreateRequest, TemporaryAccessPass};
use time::Duration;

use crate::support::{CREATED, at, member, open_policy, pass_for, redeem_with};

#[test]
fn spec_5_5_registration_window_ten_minutes_after_one_time_sign_in() {
    let user = member("u");
    let (code, one) = pass_for(&user, CreateRequest::new().is_usable_once(true));
    let grant = redeem_with(&open_policy(), &user, Some(&one), &code, CREATED)
        .outcome
        .unwrap();
    assert_eq!(grant.registration_until, CREATED + REGISTRATION_WINDOW);
    assert_eq!(REGISTRATION_WINDOW, Duration::minutes(10));
    let register = |grant: &Grant, record: &TemporaryAccessPass, method, at| {
        register(
            &RegisterContext::new(&user, grant, Some(record)),
            method,
            at,
        )
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
    let (code, multi) = pass_for(&user, CreateRequest::new().is_usable_once(false));
    let grant = redeem_with(&open_policy(), &user, Some(&multi), &code, CREATED)
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
fn spec_5_5_the_core_checks_the_holder_and_that_the_pass_is_still_stored() {
    let user = member("u");
    let (code, record) = pass_for(&user, CreateRequest::new().is_usable_once(true));
    let grant: Grant = redeem_with(&open_policy(), &user, Some(&record), &code, CREATED)
        .outcome
        .unwrap();
    assert_eq!(grant.next_step, NextStep::RegisterMethods);
    let method = PasswordlessMethod::Fido2SecurityKey;
    let soon = at(5);
    assert_eq!(
        register(
            &RegisterContext::new(&user, &grant, Some(&record)),
            method,
            soon
        ),
        Ok(())
    );
    assert_eq!(
        register(&RegisterContext::new(&user, &grant, None), method, soon),
        Err(RegistrationError::PassRemoved),
        "the pass was deleted"
    );
    let (_, replacement) = pass_for(&user, CreateRequest::new().is_usable_once(true));
    assert_eq!(
        register(
            &RegisterContext::new(&user, &grant, Some(&replacement)),
            method,
            soon
        ),
        Err(RegistrationError::PassRemoved),
        "the pass was replaced"
    );
    let other = member("someone-else");
    assert!(matches!(
        register(
            &RegisterContext::new(&other, &grant, Some(&record)),
            method,
            soon
        ),
        Err(RegistrationError::NotTheHolder { .. })
    ));
    assert!(matches!(
        register(
            &RegisterContext::new(&user, &grant, Some(&record)),
            method,
            at(10)
        ),
        Err(RegistrationError::WindowClosed { .. })
    ));
}
