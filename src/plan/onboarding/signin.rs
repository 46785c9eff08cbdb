//! The plans of a passkey sign-in (SPEC 8.6): the user's methods read, the challenge's state
//! kept and taken once, the method's use recorded only at the version the host verified, and a
//! possible clone blocked.

use super::{
    Ceremony, CeremonyId, Change, Decided, Duration, Event, Infallible, Loaded, MethodId,
    PasskeyError, Plan, Read, Refused, RegisteredMethod, UserId, UtcDateTime, Vec, Version,
    Versioned, ceremony_of, methods_of, o, version_of,
};

/// A user's methods that may sign them in with a passkey: read only, no caller to judge (the
/// sign-in's options).
pub(crate) struct Passkeys<'a> {
    pub(crate) user: &'a UserId,
}

impl Plan for Passkeys<'_> {
    type Output = Vec<Versioned<RegisteredMethod>>;
    type Rejection = Infallible;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.user.clone()).methods())
    }

    fn decide(
        &mut self,
        read: Loaded,
        _: UtcDateTime,
    ) -> Result<Decided<Self::Output>, Refused<Infallible>> {
        let usable = read
            .methods
            .into_iter()
            .filter(|m| m.value.blocked().is_none())
            .collect();
        Ok(Decided::read_only(usable))
    }

    fn events(_: &Self::Output) -> Vec<Event> {
        Vec::new()
    }
}

/// Starts a passkey sign-in (SPEC 8.6).
pub(crate) struct BeginSignIn<'a> {
    pub(crate) user: &'a UserId,
    pub(crate) id: &'a CeremonyId,
    pub(crate) state: &'a [u8],
    pub(crate) window: Duration,
    pub(crate) per_user: u32,
}

/// It reads nothing of the store's but the policy, which it does not judge either: the options
/// were built from the user's methods already, and the ceremony's own write bounds the user's
/// open ones.
impl Plan for BeginSignIn<'_> {
    type Output = Ceremony;
    type Rejection = PasskeyError;

    fn decide(
        &mut self,
        _: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Ceremony>, Refused<PasskeyError>> {
        let ceremony = o::begin_sign_in(
            self.user,
            self.id.clone(),
            self.state.to_vec(),
            self.window,
            now,
        )
        .map_err(Refused::Rejected)?;
        Ok(Decided {
            change: Some(Change::OpenCeremony {
                ceremony: ceremony.clone(),
                held: None,
                per_user: self.per_user,
            }),
            output: ceremony,
        })
    }

    fn events(_: &Ceremony) -> Vec<Event> {
        Vec::new()
    }
}

/// Takes a passkey sign-in's state, whole (SPEC 8.6).
pub(crate) struct TakeSignIn<'a> {
    pub(crate) user: &'a UserId,
    pub(crate) id: &'a CeremonyId,
}

impl Plan for TakeSignIn<'_> {
    type Output = Vec<u8>;
    type Rejection = PasskeyError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.user.clone()).ceremony(self.id.clone()))
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Vec<u8>>, Refused<PasskeyError>> {
        let stored = ceremony_of(&read);
        let state =
            o::take_sign_in(self.user, stored.map(|c| &c.value), now).map_err(Refused::Rejected)?;
        let stored = stored.ok_or(Refused::Rejected(PasskeyError::NoSignIn))?;
        Ok(Decided {
            change: Some(Change::RemoveCeremony {
                user: self.user.clone(),
                id: self.id.clone(),
                expected: stored.version,
            }),
            output: state,
        })
    }

    fn events(_: &Vec<u8>) -> Vec<Event> {
        Vec::new()
    }
}

/// Records a method's use at the version the host verified (SPEC 8.6).
pub(crate) struct UseMethod<'a> {
    pub(crate) user: &'a UserId,
    pub(crate) id: &'a MethodId,
    pub(crate) verified: Version,
    pub(crate) credential: &'a [u8],
}

impl Plan for UseMethod<'_> {
    type Output = RegisteredMethod;
    type Rejection = PasskeyError;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.user.clone()).methods())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<RegisteredMethod>, Refused<PasskeyError>> {
        let method = o::use_method(&methods_of(&read), self.id, self.credential.to_vec(), now)
            .map_err(Refused::Rejected)?;
        // Verified against this version, or refused: a sign-in that landed meanwhile moved the
        // counter past what this answer was checked against.
        let expected = version_of(&read, self.id)
            .filter(|v| *v == self.verified)
            .ok_or(Refused::Rejected(PasskeyError::Raced))?;
        Ok(Decided {
            change: Some(Change::UpdateMethod {
                user: self.user.clone(),
                expected,
                method: method.clone(),
            }),
            output: method,
        })
    }

    fn events(_: &RegisteredMethod) -> Vec<Event> {
        Vec::new()
    }
}

/// Blocks a method refused as a possible clone (SPEC 8.6).
pub(crate) struct BlockMethod<'a> {
    pub(crate) user: &'a UserId,
    pub(crate) id: &'a MethodId,
}

impl Plan for BlockMethod<'_> {
    type Output = Option<RegisteredMethod>;
    type Rejection = Infallible;

    fn read(&self) -> Option<Read> {
        Some(Read::user(self.user.clone()).methods())
    }

    fn decide(
        &mut self,
        read: Loaded,
        now: UtcDateTime,
    ) -> Result<Decided<Option<RegisteredMethod>>, Refused<Infallible>> {
        let blocked =
            o::block_method(&methods_of(&read), self.id, now).zip(version_of(&read, self.id));
        Ok(match blocked {
            Some((method, expected)) => Decided {
                change: Some(Change::UpdateMethod {
                    user: self.user.clone(),
                    expected,
                    method: method.clone(),
                }),
                output: Some(method),
            },
            None => Decided::read_only(None),
        })
    }

    fn events(blocked: &Option<RegisteredMethod>) -> Vec<Event> {
        blocked
            .as_ref()
            .map_or_else(Vec::new, RegisteredMethod::block_events)
    }
}
