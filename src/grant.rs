//! What an OAuth grant lets a caller do (SPEC 3.7): Microsoft Graph's permission names for
//! authentication methods, the policy and the audit trail, and the grant a [`Principal`]
//! acts under.
//!
//! A delegated caller needs both its directory roles (SPEC 3.2-3.4) and a granted scope that
//! allows the operation. A scope without `.All` reaches only the signed-in user's own methods;
//! one with `.All` reaches any user's, within what the roles allow. `Read` scopes allow viewing,
//! `ReadWrite` scopes viewing, creating and deleting. `UserAuthenticationMethod.*` covers
//! passes and passkeys, `UserAuthMethod-TAP.*` passes only, `UserAuthMethod-Passkey.*`
//! passkeys only.
//!
//! An application acting as itself (app-only, client credentials) has no roles and no self:
//! its application permissions alone decide, and only those that reach every user (`.All`)
//! allow anything. Changes it makes are initiated by the application ([`Initiator`]).
//!
//! [`Principal`]: crate::Principal

use core::fmt;

use crate::ids::{AppId, UserId};

/// One of Graph's permissions that matters here, by its Graph name ([`Permission::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// `UserAuthenticationMethod.Read`: one's own methods, read.
    UserAuthenticationMethodRead,
    /// `UserAuthenticationMethod.ReadWrite`: one's own methods, read and write.
    UserAuthenticationMethodReadWrite,
    /// `UserAuthenticationMethod.Read.All`: any user's methods, read.
    UserAuthenticationMethodReadAll,
    /// `UserAuthenticationMethod.ReadWrite.All`: any user's methods, read and write.
    UserAuthenticationMethodReadWriteAll,
    /// `UserAuthMethod-TAP.Read`: one's own passes, read.
    TapRead,
    /// `UserAuthMethod-TAP.ReadWrite`: one's own passes, read and write.
    TapReadWrite,
    /// `UserAuthMethod-TAP.Read.All`: any user's passes, read.
    TapReadAll,
    /// `UserAuthMethod-TAP.ReadWrite.All`: any user's passes, read and write.
    TapReadWriteAll,
    /// `UserAuthMethod-Passkey.Read`: one's own passkeys, read.
    PasskeyRead,
    /// `UserAuthMethod-Passkey.ReadWrite`: one's own passkeys, read and write.
    PasskeyReadWrite,
    /// `UserAuthMethod-Passkey.Read.All`: any user's passkeys, read.
    PasskeyReadAll,
    /// `UserAuthMethod-Passkey.ReadWrite.All`: any user's passkeys, read and write.
    PasskeyReadWriteAll,
    /// `Policy.Read.All`: the policy, read.
    PolicyReadAll,
    /// `Policy.ReadWrite.AuthenticationMethod`: the authentication methods policy, read and
    /// write.
    PolicyReadWriteAuthenticationMethod,
    /// `AuditLog.Read.All`: the audit trail, read.
    AuditLogReadAll,
}

/// What a permission covers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    /// Passes and passkeys.
    Methods,
    /// Passes.
    Passes,
    /// Passkeys.
    Passkeys,
    /// The policy.
    Policy,
    /// The audit trail.
    Audit,
}

impl Permission {
    /// Every permission, in the order of the enum.
    pub const ALL: [Self; 15] = [
        Self::UserAuthenticationMethodRead,
        Self::UserAuthenticationMethodReadWrite,
        Self::UserAuthenticationMethodReadAll,
        Self::UserAuthenticationMethodReadWriteAll,
        Self::TapRead,
        Self::TapReadWrite,
        Self::TapReadAll,
        Self::TapReadWriteAll,
        Self::PasskeyRead,
        Self::PasskeyReadWrite,
        Self::PasskeyReadAll,
        Self::PasskeyReadWriteAll,
        Self::PolicyReadAll,
        Self::PolicyReadWriteAuthenticationMethod,
        Self::AuditLogReadAll,
    ];

    /// Graph's name of the permission, as a token's `scp` or `roles` carries it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::UserAuthenticationMethodRead => "UserAuthenticationMethod.Read",
            Self::UserAuthenticationMethodReadWrite => "UserAuthenticationMethod.ReadWrite",
            Self::UserAuthenticationMethodReadAll => "UserAuthenticationMethod.Read.All",
            Self::UserAuthenticationMethodReadWriteAll => "UserAuthenticationMethod.ReadWrite.All",
            Self::TapRead => "UserAuthMethod-TAP.Read",
            Self::TapReadWrite => "UserAuthMethod-TAP.ReadWrite",
            Self::TapReadAll => "UserAuthMethod-TAP.Read.All",
            Self::TapReadWriteAll => "UserAuthMethod-TAP.ReadWrite.All",
            Self::PasskeyRead => "UserAuthMethod-Passkey.Read",
            Self::PasskeyReadWrite => "UserAuthMethod-Passkey.ReadWrite",
            Self::PasskeyReadAll => "UserAuthMethod-Passkey.Read.All",
            Self::PasskeyReadWriteAll => "UserAuthMethod-Passkey.ReadWrite.All",
            Self::PolicyReadAll => "Policy.Read.All",
            Self::PolicyReadWriteAuthenticationMethod => "Policy.ReadWrite.AuthenticationMethod",
            Self::AuditLogReadAll => "AuditLog.Read.All",
        }
    }

    /// The permission Graph names `name` (compared exactly, as Entra writes them); `None` for
    /// any other, which grants nothing here.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    const fn area(self) -> Area {
        match self {
            Self::UserAuthenticationMethodRead
            | Self::UserAuthenticationMethodReadWrite
            | Self::UserAuthenticationMethodReadAll
            | Self::UserAuthenticationMethodReadWriteAll => Area::Methods,
            Self::TapRead | Self::TapReadWrite | Self::TapReadAll | Self::TapReadWriteAll => {
                Area::Passes
            }
            Self::PasskeyRead
            | Self::PasskeyReadWrite
            | Self::PasskeyReadAll
            | Self::PasskeyReadWriteAll => Area::Passkeys,
            Self::PolicyReadAll | Self::PolicyReadWriteAuthenticationMethod => Area::Policy,
            Self::AuditLogReadAll => Area::Audit,
        }
    }

    /// Whether it writes as well as reads.
    const fn writes(self) -> bool {
        matches!(
            self,
            Self::UserAuthenticationMethodReadWrite
                | Self::UserAuthenticationMethodReadWriteAll
                | Self::TapReadWrite
                | Self::TapReadWriteAll
                | Self::PasskeyReadWrite
                | Self::PasskeyReadWriteAll
                | Self::PolicyReadWriteAuthenticationMethod
        )
    }

    /// Whether it reaches every user's methods, not only one's own.
    const fn reaches_all(self) -> bool {
        matches!(
            self,
            Self::UserAuthenticationMethodReadAll
                | Self::UserAuthenticationMethodReadWriteAll
                | Self::TapReadAll
                | Self::TapReadWriteAll
                | Self::PasskeyReadAll
                | Self::PasskeyReadWriteAll
        )
    }

    /// Whether it allows `action` on a `subject`, the actor's own (`own`) or another user's.
    #[must_use]
    pub fn allows(self, action: Action, subject: Subject, own: bool) -> bool {
        let area = match (self.area(), subject) {
            (Area::Methods, _)
            | (Area::Passes, Subject::Pass)
            | (Area::Passkeys, Subject::Method) => true,
            (Area::Passes | Area::Passkeys | Area::Policy | Area::Audit, _) => false,
        };
        let level = match action {
            Action::View => true,
            Action::Create | Action::Delete => self.writes(),
        };
        area && level && (own || self.reaches_all())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Permission`]s.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Permissions(u16);

impl Permissions {
    /// No permission.
    pub const NONE: Self = Self(0);

    const fn bit(permission: Permission) -> u16 {
        // Fifteen permissions: each index is below 16, so the shift never overflows.
        match 1_u16.checked_shl(permission as u32) {
            Some(bit) => bit,
            None => 0,
        }
    }

    /// The set with `permission` added.
    #[must_use]
    pub const fn with(self, permission: Permission) -> Self {
        Self(self.0 | Self::bit(permission))
    }

    /// The permissions a space-separated list of Graph names grants (a token's `scp`); names
    /// this crate does not know grant nothing.
    #[must_use]
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        names
            .into_iter()
            .filter_map(Permission::from_name)
            .collect()
    }

    /// Whether `permission` is in the set.
    #[must_use]
    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & Self::bit(permission) != 0
    }

    /// The permissions in the set, in the order of [`Permission::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// Whether one of them allows `action` on `subject` (see [`Permission::allows`]).
    #[must_use]
    pub fn allow(self, action: Action, subject: Subject, own: bool) -> bool {
        self.iter().any(|p| p.allows(action, subject, own))
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::name))
            .finish()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter().fold(Self::NONE, Self::with)
    }
}

/// Under what grant a principal acts (SPEC 3.7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// No OAuth grant is modelled: the principal's roles alone decide (a host's own console, a
    /// target user, the tests).
    #[default]
    Roles,
    /// For a user, delegated: the roles decide, and one of the granted scopes must allow the
    /// operation as well.
    Delegated(Permissions),
    /// An application acting as itself (app-only): its application permissions alone decide,
    /// always as on another user's methods (an application has none of its own).
    Application(Permissions),
}

impl Grant {
    /// Whether the grant lets `action` on `subject` go on to the roles' judgement.
    #[must_use]
    pub fn allows(self, action: Action, subject: Subject, own: bool) -> bool {
        match self {
            Self::Roles => true,
            Self::Delegated(scopes) => scopes.allow(action, subject, own),
            Self::Application(permissions) => permissions.allow(action, subject, false),
        }
    }

    /// The permissions granted, or `None` under [`Grant::Roles`].
    #[must_use]
    pub const fn permissions(self) -> Option<Permissions> {
        match self {
            Self::Roles => None,
            Self::Delegated(p) | Self::Application(p) => Some(p),
        }
    }

    /// True for [`Grant::Application`]: the roles and the rules about oneself do not apply.
    #[must_use]
    pub const fn is_application(self) -> bool {
        matches!(self, Self::Application(_))
    }

    /// Whether the grant lets the policy be read (`Policy.Read.All` or
    /// `Policy.ReadWrite.AuthenticationMethod`).
    #[must_use]
    pub const fn allows_reading_the_policy(self) -> bool {
        match self.permissions() {
            None => true,
            Some(p) => {
                p.contains(Permission::PolicyReadAll)
                    || p.contains(Permission::PolicyReadWriteAuthenticationMethod)
            }
        }
    }

    /// Whether the grant lets the policy be changed (`Policy.ReadWrite.AuthenticationMethod`).
    #[must_use]
    pub const fn allows_changing_the_policy(self) -> bool {
        match self.permissions() {
            None => true,
            Some(p) => p.contains(Permission::PolicyReadWriteAuthenticationMethod),
        }
    }

    /// Whether the grant lets the audit trail be read (`AuditLog.Read.All`).
    #[must_use]
    pub const fn allows_reading_audit_logs(self) -> bool {
        match self.permissions() {
            None => true,
            Some(p) => p.contains(Permission::AuditLogReadAll),
        }
    }
}

/// Who initiated a change, as the audit trail names it (SPEC 3.7, 7.4): a user (for
/// themselves, as an administrator, or through a delegated grant), or an application acting
/// as itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Initiator {
    /// A user, by object id.
    User(UserId),
    /// An application, by its app id.
    Application(AppId),
}

impl Initiator {
    /// The user, when a user initiated it.
    #[must_use]
    pub const fn user(&self) -> Option<&UserId> {
        match self {
            Self::User(user) => Some(user),
            Self::Application(_) => None,
        }
    }

    /// The application, when an application initiated it.
    #[must_use]
    pub const fn application(&self) -> Option<&AppId> {
        match self {
            Self::User(_) => None,
            Self::Application(app) => Some(app),
        }
    }

    /// True when `user` initiated it themselves.
    #[must_use]
    pub fn is(&self, user: &UserId) -> bool {
        self.user() == Some(user)
    }
}

impl From<UserId> for Initiator {
    fn from(user: UserId) -> Self {
        Self::User(user)
    }
}

impl From<AppId> for Initiator {
    fn from(app: AppId) -> Self {
        Self::Application(app)
    }
}

/// A user as their id; an application as `application <app id>`.
impl fmt::Display for Initiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(user) => write!(f, "{user}"),
            Self::Application(app) => write!(f, "application {app}"),
        }
    }
}

/// What an administrator, or a user, wants to do with a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Create a pass (and see its code, once).
    Create,
    /// View a pass's details (never its code).
    View,
    /// Delete a pass.
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "create",
            Self::View => "view",
            Self::Delete => "delete",
        })
    }
}

/// What an action is taken on: a pass, or a registered passwordless method, which follows the
/// same matrix (SPEC 8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// A Temporary Access Pass.
    Pass,
    /// A registered passwordless method (a FIDO2 key or passkey).
    Method,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Method => "passwordless method",
        })
    }
}
