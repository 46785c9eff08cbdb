//! Microsoft Entra access tokens as the service's authenticator: a bearer JWT, signed RS256 or
//! ES256 by a key of the issuer's JWKS (read from a file, or fetched from a URL and cached,
//! with key rotation), its `iss`, `aud`, `exp` and `nbf` checked, the caller read from its
//! claims: the user from `oid`, their object id (never from `upn` or `preferred_username`,
//! names that change and can be reused: SPEC 3.6), the tenant from `tid` (it must be the
//! issuer's), the directory roles from `wids` (role template ids), the groups from `groups`, a
//! guest from `acct` = 1, and the delegated scopes from `scp`.
//!
//! An application's own token (client credentials, SPEC 3.7) is one whose `idtyp` says `app`,
//! or, without `idtyp`, one that carries no `scp`: the application is its app id (`azp`, or
//! `appid` in a v1 token), its service principal the `oid`, and its permissions the `roles`.
//! Its `wids` are not read: an application acts by its permissions alone.
//!
//! Validation is `jsonwebtoken`'s, on its `RustCrypto` backend; the service adds the choice of
//! key by `kid`, the algorithms it accepts, and the mapping of claims. Fetched keys are kept
//! by [`keys`], so that a slow or failing issuer never stalls a request whose key is known.

pub mod keys;

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use temporary_access_pass::grant::{Grant, Permissions};
use temporary_access_pass::{AppId, DirectoryRole, GroupId, Principal, UserId};

use crate::identity::{Authenticator, Unauthenticated, bearer};
use keys::{KeyTimes, Lookup, RemoteKeys};

/// The algorithms a token may be signed with: Entra signs with RS256; ES256 for issuers that
/// use elliptic curves. Never `none`, never a shared secret.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// How far `exp` and `nbf` may be off, for clocks that disagree.
pub const LEEWAY: Duration = Duration::from_secs(60);

/// Why the keys could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The JWKS could not be fetched.
    #[error("fetching {url}: {error}")]
    Fetch {
        /// Where from.
        url: String,
        /// Why.
        error: String,
    },
    /// The document is not a JWKS.
    #[error("not a JSON Web Key Set: {0}")]
    Document(#[from] serde_json::Error),
    /// The URL may not serve keys.
    #[error("{url}: {why}")]
    Url {
        /// The URL.
        url: String,
        /// Why not.
        why: String,
    },
}

/// What a role template id in `wids` stands for.
enum Wid {
    Role(DirectoryRole),
    /// The default role every member holds: nothing to add.
    Member,
    /// A guest's default role.
    Guest,
}

/// Entra's built-in role template ids (the `wids` claim), for the roles this service knows.
/// An id not listed is an administrator role the crate does not know: it grants nothing, and
/// its holder counts as an administrator (fails closed).
fn wid(template: &str) -> Option<Wid> {
    Some(match template {
        "62e90394-69f5-4237-9190-012177145e10" => Wid::Role(DirectoryRole::GlobalAdministrator),
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13" => {
            Wid::Role(DirectoryRole::PrivilegedAuthenticationAdministrator)
        }
        "c4e39bd9-1100-46d3-8c65-fb160da0071f" => {
            Wid::Role(DirectoryRole::AuthenticationAdministrator)
        }
        "0526716b-113d-4c15-b2c8-68e3c22b9f80" => {
            Wid::Role(DirectoryRole::AuthenticationPolicyAdministrator)
        }
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451" => Wid::Role(DirectoryRole::GlobalReader),
        "88d8e3e3-8f55-4a1e-953a-9b9898b8876b" => Wid::Role(DirectoryRole::DirectoryReaders),
        "95e79109-95c0-4d8e-aee3-d01accf2d47b" => Wid::Role(DirectoryRole::GuestInviter),
        "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b" => Wid::Role(DirectoryRole::MessageCenterReader),
        "966707d0-3269-4727-9be2-8c3a10f19b9d" => Wid::Role(DirectoryRole::PasswordAdministrator),
        "4a5d8f65-41da-4de4-8968-e035b65339cf" => Wid::Role(DirectoryRole::ReportsReader),
        "27460883-1df1-4691-b032-3b79643e5e63" => {
            Wid::Role(DirectoryRole::UserExperienceSuccessManager)
        }
        "75934031-6c7e-415a-99d7-48dbd49e875e" => {
            Wid::Role(DirectoryRole::UsageSummaryReportsReader)
        }
        "5d6b6bb7-de71-4623-b4af-96380a352509" => Wid::Role(DirectoryRole::SecurityReader),
        "194ae4cb-b126-40b2-bd5b-6091b380977d" => Wid::Role(DirectoryRole::SecurityAdministrator),
        "b79fbf4d-3ef9-4689-8143-76b194e85509" => Wid::Member,
        "10dae51f-b6af-4016-8d66-8c2a99b929b3" | "2af84b1e-32c8-42b7-82bc-daa82404023b" => {
            Wid::Guest
        }
        _ => return None,
    })
}

/// The claims the service reads; the others are left alone.
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    /// The delegated scopes, space-separated.
    #[serde(default)]
    scp: Option<String>,
    #[serde(default)]
    wids: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    /// 0 a member, 1 a guest (Entra's optional `acct` claim).
    #[serde(default)]
    acct: Option<u8>,
    /// `app` or `user` (Entra's optional `idtyp` claim).
    #[serde(default)]
    idtyp: Option<String>,
    /// The client's app id (v2 tokens).
    #[serde(default)]
    azp: Option<String>,
    /// The client's app id (v1 tokens).
    #[serde(default)]
    appid: Option<String>,
    /// An application's permissions (app roles), in an app-only token.
    #[serde(default)]
    roles: Vec<String>,
}

/// The application an app-only token names: its app id (`azp`, or `appid`; both, they must
/// agree), its service principal (`oid`) and its permissions (`roles`).
fn application(claims: Claims) -> Result<Principal, Unauthenticated> {
    if claims.scp.is_some() {
        return Err(Unauthenticated::invalid(
            "an application's own token carries no delegated scope (scp)",
        ));
    }
    let app = match (claims.azp, claims.appid) {
        (Some(azp), Some(appid)) if azp != appid => {
            return Err(Unauthenticated::invalid(
                "the token's azp and appid name different applications",
            ));
        }
        (Some(app), _) | (None, Some(app)) => app,
        (None, None) => {
            return Err(Unauthenticated::invalid(
                "the application's token names no app id (azp or appid)",
            ));
        }
    };
    let app = AppId::new(&app)
        .map_err(|e| Unauthenticated::invalid(format!("the token's application: {e}")))?;
    let id = claims.oid.ok_or_else(|| {
        Unauthenticated::invalid("the token names no service principal object id (oid)")
    })?;
    let id = UserId::new(&id)
        .map_err(|e| Unauthenticated::invalid(format!("the token's service principal: {e}")))?;
    let permissions = Permissions::from_names(claims.roles.iter().map(String::as_str));
    Ok(Principal::application(id, app, permissions))
}

/// The tenant an Entra issuer names: the path segment of `https://login.microsoftonline.com/{tenant}/v2.0`
/// (or `https://sts.windows.net/{tenant}/`) that is a GUID, lowercased; `None` for an issuer
/// that names none.
fn issuer_tenant(issuer: &str) -> Option<String> {
    issuer.split('/').find_map(|segment| {
        let bytes = segment.as_bytes();
        let guid = bytes.len() == 36
            && bytes.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        guid.then(|| segment.to_ascii_lowercase())
    })
}

fn principal(claims: Claims, tenant: Option<&str>) -> Result<Principal, Unauthenticated> {
    if let Some(tenant) = tenant {
        match claims.tid.as_deref() {
            Some(tid) if tid.eq_ignore_ascii_case(tenant) => {}
            Some(_) => {
                return Err(Unauthenticated::invalid(
                    "the token's tenant (tid) is not the issuer's",
                ));
            }
            None => return Err(Unauthenticated::invalid("the token names no tenant (tid)")),
        }
    }
    // A delegated token carries its scopes; an application's own token (client credentials)
    // has none, and says so in `idtyp` when the optional claim is configured (SPEC 3.7).
    let app_only = match claims.idtyp.as_deref() {
        Some("app") => true,
        Some("user") => false,
        Some(_) => {
            return Err(Unauthenticated::invalid(
                "the token's idtyp is neither app nor user",
            ));
        }
        None => claims.scp.is_none(),
    };
    if app_only {
        return application(claims);
    }
    let scopes = claims.scp.as_deref().ok_or_else(|| {
        Unauthenticated::invalid("the user's token carries no delegated scope (scp)")
    })?;
    let grant = Grant::Delegated(Permissions::from_names(scopes.split(' ')));
    let id = claims
        .oid
        .ok_or_else(|| Unauthenticated::invalid("the token names no user object id (oid)"))?;
    let id =
        UserId::new(&id).map_err(|e| Unauthenticated::invalid(format!("the token's user: {e}")))?;
    let mut guest = claims.acct == Some(1);
    let mut roles = Vec::new();
    for template in &claims.wids {
        match wid(template) {
            Some(Wid::Role(role)) => roles.push(role),
            Some(Wid::Member) => {}
            Some(Wid::Guest) => guest = true,
            None => roles.push(DirectoryRole::OtherAdministrator),
        }
    }
    let mut principal = if guest {
        Principal::guest(id)
    } else {
        Principal::member(id)
    };
    for role in roles {
        principal = principal.role(role);
    }
    for group in &claims.groups {
        let group = GroupId::new(group)
            .map_err(|e| Unauthenticated::invalid(format!("the token's groups: {e}")))?;
        principal = principal.group(group);
    }
    Ok(principal.under(grant))
}

/// What a refused token is told: which check failed, never the token.
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    match error.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "the token is for another audience".into(),
        ErrorKind::InvalidIssuer => "the token is from another issuer".into(),
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("the token's {claim} claim is malformed"),
        _ => "the token is not valid".into(),
    }
}

/// Whether `jwk` may verify a token signed with `alg`: an RSA key for RS256, a P-256 key for
/// ES256, and the key's own `alg` and `use`, when it states them, agreeing.
fn suits(jwk: &Jwk, alg: Algorithm) -> bool {
    let kind = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    };
    let stated = jwk.common.key_algorithm.is_none_or(|k| {
        matches!(
            (k, alg),
            (KeyAlgorithm::RS256, Algorithm::RS256) | (KeyAlgorithm::ES256, Algorithm::ES256)
        )
    });
    let usable = !matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    );
    kind && stated && usable
}

enum Keys {
    Fixed(JwkSet),
    Remote(Arc<RemoteKeys>),
}

/// Checks Entra access tokens (see the module).
pub struct JwtAuthenticator {
    validation: Validation,
    /// The tenant the issuer names, which `tid` must repeat.
    tenant: Option<String>,
    keys: Keys,
}

impl std::fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.algorithms = ALGORITHMS.to_vec();
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = LEEWAY.as_secs();
    validation
}

impl JwtAuthenticator {
    /// Tokens of `issuer` for `audience`, verified with the keys of `set`.
    #[must_use]
    pub fn new(issuer: &str, audience: &str, set: JwkSet) -> Self {
        Self {
            validation: validation(issuer, audience),
            tenant: issuer_tenant(issuer),
            keys: Keys::Fixed(set),
        }
    }

    /// Tokens of `issuer` for `audience`, verified with the keys at `url`: fetched now, then
    /// kept as `times` says ([`keys`]: refreshed in the background, refetched for a key the set
    /// lacks, no longer trusted past their maximum age).
    ///
    /// # Errors
    ///
    /// [`KeysError`] when the URL is refused or the first fetch fails: the service does not
    /// start without keys.
    pub async fn fetching(
        issuer: &str,
        audience: &str,
        url: &str,
        times: KeyTimes,
    ) -> Result<Self, KeysError> {
        Ok(Self {
            validation: validation(issuer, audience),
            tenant: issuer_tenant(issuer),
            keys: Keys::Remote(Arc::new(RemoteKeys::fetch_first(url, times).await?)),
        })
    }

    /// The key named `kid`: 401 when the issuer has none such, 503 when its keys are too old
    /// to trust.
    async fn key(&self, kid: &str) -> Result<Jwk, Unauthenticated> {
        let lookup = match &self.keys {
            Keys::Fixed(set) => set
                .find(kid)
                .map_or(Lookup::Unknown, |key| Lookup::Found(Box::new(key.clone()))),
            Keys::Remote(remote) => remote.key(kid).await,
        };
        match lookup {
            Lookup::Found(jwk) => Ok(*jwk),
            Lookup::Unknown => Err(Unauthenticated::invalid(
                "the token's signing key is not the issuer's",
            )),
            Lookup::Stale(age) => Err(Unauthenticated::unavailable(format!(
                "the issuer's signing keys are {} s old and could not be fetched again: no token \
                 can be checked until they are",
                age.as_secs()
            ))),
        }
    }
}

impl Authenticator for JwtAuthenticator {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Unauthenticated> {
        let token = bearer(headers)?.ok_or_else(|| {
            Unauthenticated::missing("an Authorization: Bearer access token is required")
        })?;
        let header = decode_header(token).map_err(|_| {
            Unauthenticated::invalid("the token is not a signed JWT of RS256 or ES256")
        })?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Unauthenticated::invalid(format!(
                "the token's algorithm {:?} is not accepted: RS256 or ES256",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| Unauthenticated::invalid("the token names no signing key (kid)"))?;
        let jwk = self.key(&kid).await?;
        if !suits(&jwk, header.alg) {
            return Err(Unauthenticated::invalid(
                "the token's algorithm does not match its key",
            ));
        }
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| Unauthenticated::invalid("the issuer's key is not usable"))?;
        // `jsonwebtoken` wants every algorithm it is told to accept to suit the key: the one
        // the header names, checked above against the list and the key.
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let data = decode::<Claims>(token, &key, &validation)
            .map_err(|e| Unauthenticated::invalid(describe(&e)))?;
        principal(data.claims, self.tenant.as_deref())
    }
}

#[cfg(test)]
mod tests;
