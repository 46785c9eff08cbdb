//! The in-memory store's methods and ceremonies (SPEC 8.4): kept in the shard of their user,
//! so each change is decided under that one lock, as a record change is.

use alloc::vec::Vec;

use super::Shard;
use crate::ceremony::{Ceremony, CeremonyId, CeremonyKind};
use crate::ids::{PassId, UserId};
use crate::method::{MethodId, RegisteredMethod};
use crate::store::{Change, Version, Versioned, Write};

impl Shard {
    /// Forgets `user`'s registration sessions of any pass but `kept` (SPEC 8.4): deleting or
    /// replacing a pass ends its sessions in the same write.
    pub(super) fn end_sessions(&mut self, user: &UserId, kept: Option<PassId>) {
        if let Some(ceremonies) = self.ceremonies.get_mut(user) {
            ceremonies.retain(|c| match c.value.kind() {
                CeremonyKind::Registration { pass, .. } => Some(*pass) == kept,
                CeremonyKind::Provisioning { .. } | CeremonyKind::SignIn => true,
            });
            if ceremonies.is_empty() {
                self.ceremonies.remove(user);
            }
        }
    }

    fn holds(&self, user: &UserId, pass: Option<PassId>) -> bool {
        pass.is_none_or(|pass| self.passes.get(user).is_some_and(|e| *e.pass.id() == pass))
    }

    /// A method or ceremony change, under this shard's lock (see [`Change`]).
    pub(super) fn apply_onboarding(&mut self, change: &Change) -> Write {
        match change {
            Change::AddMethod {
                user,
                held,
                method,
                cap,
            } => self.add_method(user, *held, method, *cap),
            Change::UpdateMethod {
                user,
                expected,
                method,
            } => self.update_method(user, *expected, method),
            Change::RemoveMethod { user, id } => self.remove_method(user, id),
            Change::OpenCeremony {
                ceremony,
                held,
                per_user,
            } => self.open_ceremony(ceremony, *held, *per_user),
            Change::UpdateCeremony { expected, ceremony } => {
                self.update_ceremony(*expected, ceremony)
            }
            Change::RemoveCeremony { user, id, expected } => {
                self.remove_ceremony(user, id, *expected)
            }
            Change::Put { .. }
            | Change::Remove { .. }
            | Change::Keep { .. }
            | Change::Policy { .. } => Write::Conflict,
        }
    }

    fn add_method(
        &mut self,
        user: &UserId,
        held: Option<PassId>,
        method: &RegisteredMethod,
        cap: u32,
    ) -> Write {
        let theirs = self.methods.get(user).map_or(0, Vec::len);
        let duplicate = self
            .methods
            .get(user)
            .is_some_and(|ms| ms.iter().any(|m| m.value.id() == method.id()));
        if method.user() != user
            || !self.holds(user, held)
            || duplicate
            || u32::try_from(theirs).map_or(true, |n| n >= cap)
        {
            return Write::Conflict;
        }
        self.methods
            .entry(user.clone())
            .or_default()
            .push(Versioned::new(Version::FIRST, method.clone()));
        Write::Written(Version::FIRST)
    }

    fn update_method(
        &mut self,
        user: &UserId,
        expected: Version,
        method: &RegisteredMethod,
    ) -> Write {
        let stored = self.methods.get_mut(user).and_then(|ms| {
            ms.iter_mut()
                .find(|m| m.value.id() == method.id() && m.version == expected)
        });
        match stored {
            Some(stored) if method.user() == user && expected.next() != expected => {
                *stored = Versioned::new(expected.next(), method.clone());
                Write::Written(expected.next())
            }
            Some(_) | None => Write::Conflict,
        }
    }

    fn remove_method(&mut self, user: &UserId, id: &MethodId) -> Write {
        let Some(methods) = self.methods.get_mut(user) else {
            return Write::Conflict;
        };
        let Some(at) = methods.iter().position(|m| m.value.id() == id) else {
            return Write::Conflict;
        };
        let removed = methods.remove(at);
        if methods.is_empty() {
            self.methods.remove(user);
        }
        Write::Written(removed.version)
    }

    fn open_ceremony(&mut self, ceremony: &Ceremony, held: Option<PassId>, per_user: u32) -> Write {
        let user = ceremony.user();
        if !self.holds(user, held) {
            return Write::Conflict;
        }
        let theirs = self.ceremonies.entry(user.clone()).or_default();
        if theirs.iter().any(|c| c.value.id() == ceremony.id()) {
            return Write::Conflict;
        }
        let now = ceremony.opened();
        let kind = ceremony.kind().name();
        theirs.retain(|c| c.value.kind().name() != kind || c.value.is_open(now));
        let limit = usize::try_from(per_user).unwrap_or(usize::MAX).max(1);
        while theirs
            .iter()
            .filter(|c| c.value.kind().name() == kind)
            .count()
            >= limit
        {
            // The oldest of this kind: the first in the list, which is in opening order.
            match theirs.iter().position(|c| c.value.kind().name() == kind) {
                Some(oldest) => {
                    theirs.remove(oldest);
                }
                None => break,
            }
        }
        theirs.push(Versioned::new(Version::FIRST, ceremony.clone()));
        Write::Written(Version::FIRST)
    }

    fn update_ceremony(&mut self, expected: Version, ceremony: &Ceremony) -> Write {
        let stored = self.ceremonies.get_mut(ceremony.user()).and_then(|cs| {
            cs.iter_mut()
                .find(|c| c.value.id() == ceremony.id() && c.version == expected)
        });
        match stored {
            Some(stored) if expected.next() != expected => {
                *stored = Versioned::new(expected.next(), ceremony.clone());
                Write::Written(expected.next())
            }
            Some(_) | None => Write::Conflict,
        }
    }

    fn remove_ceremony(&mut self, user: &UserId, id: &CeremonyId, expected: Version) -> Write {
        let Some(theirs) = self.ceremonies.get_mut(user) else {
            return Write::Conflict;
        };
        let Some(at) = theirs
            .iter()
            .position(|c| c.value.id() == id && c.version == expected)
        else {
            return Write::Conflict;
        };
        theirs.remove(at);
        if theirs.is_empty() {
            self.ceremonies.remove(user);
        }
        Write::Written(expected)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use time::UtcDateTime;

    use super::Shard;
    use crate::ceremony::{Ceremony, CeremonyId, CeremonyKind};
    use crate::ids::UserId;
    use crate::method::{MethodId, MethodName, MethodOrigin, NewMethod, RegisteredMethod};
    use crate::store::{Version, Versioned, Write};

    /// A version has no successor at `u64::MAX` (`next` saturates): a method or ceremony
    /// stored there is never written again, since its next version would repeat it and a
    /// reader holding it could not tell the two apart. No store reaches it by counting, so
    /// only a shard built here can show it.
    #[test]
    fn a_version_at_its_end_is_never_written_again() {
        let user = UserId::new("chris@contoso.com").unwrap();
        let at = UtcDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let last = Version::new(u64::MAX);
        let method = RegisteredMethod::new(
            NewMethod::new(
                MethodId::new("key-at-the-end").unwrap(),
                MethodName::new("key").unwrap(),
                b"credential".to_vec(),
            ),
            user.clone(),
            MethodOrigin::ByAdministrator(user.clone().into()),
            at,
        )
        .unwrap();
        let ceremony = Ceremony::new(
            CeremonyId::new("ceremony-at-the-end-of-its-versions").unwrap(),
            user.clone(),
            CeremonyKind::SignIn,
            at,
            at.checked_add(time::Duration::minutes(5)).unwrap(),
        )
        .unwrap();
        let mut shard = Shard::default();
        shard
            .methods
            .insert(user.clone(), vec![Versioned::new(last, method.clone())]);
        shard
            .ceremonies
            .insert(user.clone(), vec![Versioned::new(last, ceremony.clone())]);
        assert_eq!(shard.update_method(&user, last, &method), Write::Conflict);
        assert_eq!(shard.update_ceremony(last, &ceremony), Write::Conflict);
        // One version earlier, both are written, at the last version.
        let before = Version::new(u64::MAX - 1);
        shard
            .methods
            .insert(user.clone(), vec![Versioned::new(before, method.clone())]);
        shard
            .ceremonies
            .insert(user.clone(), vec![Versioned::new(before, ceremony.clone())]);
        assert_eq!(
            shard.update_method(&user, before, &method),
            Write::Written(last)
        );
        assert_eq!(
            shard.update_ceremony(before, &ceremony),
            Write::Written(last)
        );
    }
}
