//! Redeem on arbitrary input: policy settings, times anywhere in `time`'s range, lifetimes,
//! typed codes of any length and content, record state. Nothing may panic, and a grant may
//! only come from the right code inside the window.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rand_core::{TryCryptoRng, TryRng};
use temporary_access_pass::signin::{Client, Lockout, OfferContext, RedeemRefusal, offer};
use temporary_access_pass::time::{Duration, UtcDateTime};
use temporary_access_pass::{
    CreateContext, CreateRequest, DigestKey, DirectoryRole, IncludeTarget, Pepper, Policy,
    PolicySettings, PolicyState, Principal, RedeemContext, SignInRequest, TemporaryAccessPass,
    UserId, create, redeem,
};

#[derive(Debug, Arbitrary)]
struct Input {
    lifetimes: (u32, u32, u32),
    length: u32,
    once_policy: bool,
    created: i64,
    start_offset: Option<i64>,
    lifetime: Option<u32>,
    once: Option<bool>,
    now_offset: i64,
    typed: Vec<u8>,
    use_right_code: bool,
    guest: bool,
    keyed: bool,
    client: u8,
    failed: u32,
    locked_offset: Option<i64>,
    used_offset: Option<i64>,
    max_attempts: u32,
    rng_seed: u64,
}

struct Rng(u64);
impl TryRng for Rng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.try_next_u64()? as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Ok(self.0 ^ (self.0 >> 29))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            *b = self.try_next_u64()? as u8;
        }
        Ok(())
    }
}
impl TryCryptoRng for Rng {}

fn instant(secs: i64) -> Option<UtcDateTime> {
    let span = UtcDateTime::MAX.unix_timestamp() - UtcDateTime::MIN.unix_timestamp();
    UtcDateTime::from_unix_timestamp(UtcDateTime::MIN.unix_timestamp() + secs.rem_euclid(span)).ok()
}

fuzz_target!(|input: Input| {
    let (min, def, max) = input.lifetimes;
    let Ok(policy) = Policy::new(
        PolicySettings::new()
            .state(PolicyState::Enabled)
            .include_target(IncludeTarget::AllUsers)
            .minimum_lifetime_minutes(min)
            .default_lifetime_minutes(def)
            .maximum_lifetime_minutes(max)
            .default_length(input.length)
            .is_usable_once(input.once_policy),
    ) else {
        return;
    };
    let Some(created) = instant(input.created) else {
        return;
    };
    let admin =
        Principal::member(UserId::new("admin").unwrap()).role(DirectoryRole::GlobalAdministrator);
    let user = if input.guest {
        Principal::guest(UserId::new("user").unwrap())
    } else {
        Principal::member(UserId::new("user").unwrap())
    };
    let key = if input.keyed {
        DigestKey::from(Pepper::new(&[7; 32]).unwrap())
    } else {
        DigestKey::unkeyed()
    };
    let mut request = CreateRequest::new();
    request.start = input
        .start_offset
        .and_then(|o| created.checked_add(Duration::seconds(o)));
    request.lifetime_minutes = input.lifetime;
    request.is_usable_once = input.once;
    let ctx = CreateContext::new(&policy, &key, &admin, &user);
    let Ok(issued) = create(&ctx, &request, created, &mut Rng(input.rng_seed)) else {
        return;
    };
    let code = issued.passcode.expose_secret().to_owned();

    let mut parts = issued.record.into_parts();
    parts.failed_attempts = input.failed;
    parts.locked_until = input
        .locked_offset
        .and_then(|o| created.checked_add(Duration::seconds(o)));
    parts.used_at = input
        .used_offset
        .and_then(|o| created.checked_add(Duration::seconds(o)));
    let Ok(record) = TemporaryAccessPass::from_parts(parts) else {
        return;
    };

    let Some(now) = created.checked_add(Duration::seconds(input.now_offset)) else {
        return;
    };
    let client = [
        Client::Browser,
        Client::AuthenticatorApp,
        Client::NpsExtension,
        Client::AdfsAdapter,
        Client::WindowsSetup,
        Client::Autopilot,
    ][usize::from(input.client % 6)];
    let sign_in = SignInRequest::new(client);
    let lockout = Lockout::new(input.max_attempts, Duration::MINUTE).unwrap_or_default();
    let typed = if input.use_right_code {
        code.clone()
    } else {
        String::from_utf8_lossy(&input.typed).into_owned()
    };

    let _ = offer(
        &OfferContext::new(&policy, &user, Some(&record), sign_in),
        now,
    );
    let r = redeem(
        &RedeemContext::new(&policy, &key, &user, Some(&record), sign_in).lockout(lockout),
        &typed,
        now,
    );
    if let Ok(grant) = &r.outcome {
        assert_eq!(typed, code, "only the right code signs in");
        assert!(
            record.start() <= now && now < record.end(),
            "only inside the window"
        );
        assert!(client.supports_pass());
        assert!(record.usability(&policy, &user, now).is_usable());
        assert_eq!(grant.pass, *record.id());
    }
    // A write exactly when the code was judged: a refusal that judges no code (an unusable
    // pass, a client that cannot use one) writes nothing (SPEC 6.5).
    let judged = matches!(r.outcome, Ok(_) | Err(RedeemRefusal::WrongCode { .. }));
    assert_eq!(r.write.is_some(), judged, "a write exactly when the code was judged");
    if let Some(next) = &r.write {
        assert!(
            next.locked_until().is_none_or(|t| t <= next.end())
                || next.locked_until() == record.locked_until(),
            "the crate never sets a lock past the end"
        );
        assert_eq!(next.id(), record.id());
        assert!(
            next.last_failure() >= record.last_failure(),
            "failure times never move back"
        );
    }
    let none = redeem(
        &RedeemContext::new(&policy, &key, &user, None, sign_in).lockout(lockout),
        &typed,
        now,
    );
    assert!(none.outcome.is_err() && none.write.is_none());
});
