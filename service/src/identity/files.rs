//! The directory and the bearer tokens read from the demonstration's JSON files, and the
//! tests' authenticator: a [`Directory`] and [`Authenticator`]s a host can start with.

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use temporary_access_pass::grant::{Grant, Permissions};
use temporary_access_pass::{AppId, DirectoryRole, GroupId, Principal, UserId};

use super::{Authenticator, Directory, KnownApplication, Unauthenticated, bearer};

/// A user principal name as the directory compares it: without regard to case.
fn folded(name: &str) -> String {
    name.to_lowercase()
}

/// A principal as the demonstration's JSON files write it:
/// `{"id": "2c0e6b1a-…", "userPrincipalName": "chris@contoso.com", "userType": "member",
/// "roles": [], "groups": ["onboarding"]}`.
/// Roles are named as the product shows them ("Global Administrator"); a name this service
/// does not know counts as an unknown administrator role, which grants nothing (fails closed).
///
/// An application: `{"id": "<its service principal's object id>", "appId": "…",
/// "displayName": "Joiner workflow", "permissions": ["UserAuthMethod-TAP.ReadWrite.All"]}`,
/// with no roles, groups or user type. `permissions` is the grant (SPEC 3.7): an application's
/// application permissions, or a user's delegated scopes (absent: the roles alone decide). A
/// directory file refuses it: the grant comes with the credential.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrincipalDocument {
    /// The user's object id in the directory; in a tokens file or a test header, their object
    /// id or user principal name, which the directory resolves.
    pub id: String,
    /// The user principal name: an alias of `id` in a directory file, matched without regard
    /// to case.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// `member` (the default) or `guest`.
    #[serde(default)]
    pub user_type: UserTypeDocument,
    /// Directory roles, by their display names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Group ids.
    #[serde(default)]
    pub groups: Vec<String>,
    /// An application's app id: this entry is then an application, `id` its service
    /// principal's object id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// An application's display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The grant, by Graph's permission names: an application's permissions, or a user's
    /// delegated scopes.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// A user's type in the JSON files.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum UserTypeDocument {
    /// A member of the tenant.
    #[default]
    Member,
    /// A guest (B2B) user.
    Guest,
}

impl PrincipalDocument {
    /// The principal it describes.
    ///
    /// # Errors
    ///
    /// [`FileError::Id`] for an id or a group id refused by the crate's rules;
    /// [`FileError::Application`] for an application given roles, groups, a user type or a user
    /// principal name; [`FileError::UserDisplayName`] for a user given a display name.
    pub fn principal(&self) -> Result<Principal, FileError> {
        let id = UserId::new(&self.id)?;
        let permissions = self
            .permissions
            .as_ref()
            .map(|names| Permissions::from_names(names.iter().map(String::as_str)));
        if let Some(app) = &self.app_id {
            if !self.roles.is_empty()
                || !self.groups.is_empty()
                || self.user_principal_name.is_some()
                || !matches!(self.user_type, UserTypeDocument::Member)
            {
                return Err(FileError::Application(self.id.clone()));
            }
            let app = AppId::new(app)?;
            return Ok(Principal::application(
                id,
                app,
                permissions.unwrap_or_default(),
            ));
        }
        if self.display_name.is_some() {
            return Err(FileError::UserDisplayName(self.id.clone()));
        }
        let mut principal = match self.user_type {
            UserTypeDocument::Member => Principal::member(id),
            UserTypeDocument::Guest => Principal::guest(id),
        };
        for name in &self.roles {
            let role = DirectoryRole::from_name(name).unwrap_or(DirectoryRole::OtherAdministrator);
            principal = principal.role(role);
        }
        for group in &self.groups {
            principal = principal.group(GroupId::new(group)?);
        }
        Ok(match permissions {
            Some(scopes) => principal.under(Grant::Delegated(scopes)),
            None => principal,
        })
    }
}

/// Why a JSON file of principals or tokens was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Not the expected JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// An id the crate refuses.
    #[error("{0}")]
    Id(#[from] temporary_access_pass::error::IdError),
    /// A token digest that is not 64 lowercase hex digits.
    #[error("token digest {0:?} is not a SHA-256 in lowercase hex")]
    Digest(String),
    /// Two users of a directory file share an object id or a user principal name (compared
    /// without regard to case), or one's name is another's id: a name must lead to one user.
    #[error("{0:?} names more than one user: object ids and user principal names must be unique")]
    Duplicate(String),
    /// An application entry with what only a user has.
    #[error(
        "application {0:?}: an application has no roles, groups, user type or user principal name"
    )]
    Application(String),
    /// A directory entry with `permissions`: a grant comes with the caller's credential (a
    /// token's `scp` or `roles`, a tokens file's entry), never from the directory.
    #[error("{0:?}: permissions are the credential's (scp or roles), not the directory's")]
    PermissionsInDirectory(String),
    /// A user entry with a display name, which only an application's entry has.
    #[error("user {0:?}: displayName is read for applications only (give appId)")]
    UserDisplayName(String),
}

/// A directory read once from a JSON list of [`PrincipalDocument`]s, each user by object id
/// with an optional `userPrincipalName`.
#[derive(Debug, Default)]
pub struct StaticDirectory {
    /// By object id: the principal and its user principal name.
    users: HashMap<String, (Principal, Option<String>)>,
    /// Folded user principal name to object id.
    names: HashMap<String, String>,
    /// Applications by app id.
    applications: HashMap<String, KnownApplication>,
}

impl StaticDirectory {
    /// Reads the list.
    ///
    /// # Errors
    ///
    /// [`FileError`], [`FileError::Duplicate`] when a name could lead to two users.
    pub fn from_json(text: &str) -> Result<Self, FileError> {
        let documents: Vec<PrincipalDocument> = serde_json::from_str(text)?;
        let mut directory = Self::default();
        let mut objects = std::collections::HashSet::new();
        for document in documents {
            // What a caller may do comes with its credential, never from the directory.
            if document.permissions.is_some() {
                return Err(FileError::PermissionsInDirectory(document.id));
            }
            let principal = document.principal()?;
            let id = principal.id().as_str().to_owned();
            // Users and service principals share one space of object ids.
            if !objects.insert(id.clone()) {
                return Err(FileError::Duplicate(id));
            }
            if let Some(app) = principal.app() {
                let known = KnownApplication::new(principal.id().clone(), document.display_name);
                if directory
                    .applications
                    .insert(app.as_str().to_owned(), known)
                    .is_some()
                {
                    return Err(FileError::Duplicate(app.as_str().to_owned()));
                }
                continue;
            }
            if let Some(name) = &document.user_principal_name
                && directory.names.insert(folded(name), id.clone()).is_some()
            {
                return Err(FileError::Duplicate(name.clone()));
            }
            let entry = (principal, document.user_principal_name);
            if directory.users.insert(id.clone(), entry).is_some() {
                return Err(FileError::Duplicate(id));
            }
        }
        // Object ids are looked up first: a name that is another user's id, in any case, would
        // be shadowed by it, or lead to it when spelt as the id is.
        for id in directory.users.keys() {
            if let Some(owner) = directory.names.get(&folded(id))
                && owner != id
            {
                return Err(FileError::Duplicate(id.clone()));
            }
        }
        Ok(directory)
    }

    fn entry(&self, name: &str) -> Option<&(Principal, Option<String>)> {
        self.users.get(name).or_else(|| {
            self.names
                .get(&folded(name))
                .and_then(|id| self.users.get(id))
        })
    }
}

impl Directory for StaticDirectory {
    async fn user(&self, name: &str) -> Option<Principal> {
        self.entry(name).map(|(principal, _)| principal.clone())
    }

    async fn principal_name(&self, id: &UserId) -> Option<String> {
        self.users
            .get(id.as_str())
            .and_then(|(_, name)| name.clone())
    }

    async fn application(&self, app: &AppId) -> Option<KnownApplication> {
        self.applications.get(app.as_str()).cloned()
    }
}

/// One entry of the tokens file: the SHA-256 of a bearer token, in hex, and whose it is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenDocument {
    sha256: String,
    principal: PrincipalDocument,
}

/// Bearer tokens known in advance, kept as SHA-256 digests and compared in constant time: the
/// demonstration's authenticator (`Authorization: Bearer <token>`). The file is a JSON list of
/// `{"sha256": "<hex of the token's SHA-256>", "principal": {...}}`.
#[derive(Debug, Default)]
pub struct BearerTokens {
    tokens: Vec<([u8; 32], Principal)>,
}

impl BearerTokens {
    /// Reads the list.
    ///
    /// # Errors
    ///
    /// [`FileError`].
    pub fn from_json(text: &str) -> Result<Self, FileError> {
        let documents: Vec<TokenDocument> = serde_json::from_str(text)?;
        let mut tokens = Vec::new();
        for document in documents {
            let digest = parse_digest(&document.sha256)
                .ok_or_else(|| FileError::Digest(document.sha256.clone()))?;
            tokens.push((digest, document.principal.principal()?));
        }
        Ok(Self { tokens })
    }
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let mut digest = [0_u8; 32];
    let decoded = base16ct::lower::decode(hex, &mut digest).ok()?;
    (decoded.len() == 32).then_some(digest)
}

impl Authenticator for BearerTokens {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Unauthenticated> {
        let token = bearer(headers)?.ok_or_else(|| {
            Unauthenticated::missing("an Authorization: Bearer token is required")
        })?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Every entry is compared, whichever matches.
        let mut found = None;
        for (known, principal) in &self.tokens {
            if bool::from(known.ct_eq(&digest)) {
                found = Some(principal);
            }
        }
        found
            .cloned()
            .ok_or_else(|| Unauthenticated::invalid("the bearer token is not valid"))
    }
}

/// The header [`TestHeaders`] reads: a [`PrincipalDocument`] in JSON.
#[cfg(feature = "test-authenticator")]
pub const TEST_PRINCIPAL_HEADER: &str = "x-test-principal";

/// Believes the caller the request names in [`TEST_PRINCIPAL_HEADER`]. For tests only: the
/// service refuses to start with it, and it exists only with the feature `test-authenticator`.
#[cfg(feature = "test-authenticator")]
#[derive(Debug, Default)]
pub struct TestHeaders;

#[cfg(feature = "test-authenticator")]
impl Authenticator for TestHeaders {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Unauthenticated> {
        let text = headers
            .get(TEST_PRINCIPAL_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Unauthenticated::missing("no x-test-principal header"))?;
        let document: PrincipalDocument = serde_json::from_str(text).map_err(|_| {
            Unauthenticated::invalid("x-test-principal is not a principal document")
        })?;
        document
            .principal()
            .map_err(|_| Unauthenticated::invalid("x-test-principal names an invalid id"))
    }

    fn trusts_the_request(&self) -> bool {
        true
    }
}
