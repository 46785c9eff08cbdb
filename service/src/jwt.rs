//! Microsoft Entra access tokens as the service's authenticator: a bearer JWT, signed RS256 or
//! ES256 by a key of the issuer's JWKS (read from a file, or fetched from a URL and cached,
//! with key rotation), its `iss`, `aud`, `exp` and `nbf` checked, the caller read from its
//! claims: the user from `upn` (or `preferred_username`, or `oid`), the directory roles from
//! `wids` (role template ids), the groups from `groups`, a guest from `acct` = 1.
//!
//! Validation is `jsonwebtoken`'s, on its `RustCrypto` backend; the service adds the choice of
//! key by `kid`, the algorithms it accepts, and the mapping of claims.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use temporary_access_pass::{DirectoryRole, GroupId, Principal, UserId};
use tokio::sync::RwLock;

use crate::clock::now;
use crate::identity::{Authenticator, Unauthenticated, bearer};

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
    upn: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    wids: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    /// 0 a member, 1 a guest (Entra's optional `acct` claim).
    #[serde(default)]
    acct: Option<u8>,
}

fn principal(claims: Claims) -> Result<Principal, Unauthenticated> {
    let id = claims
        .upn
        .or(claims.preferred_username)
        .or(claims.oid)
        .ok_or_else(|| {
            Unauthenticated::invalid("the token names no user (upn, preferred_username or oid)")
        })?;
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
    Ok(principal)
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

/// Keys fetched from a URL: the set, when it was fetched, and when an unknown `kid` last
/// caused a fetch.
struct Fetched {
    set: JwkSet,
    at: Instant,
    miss_at: Option<Instant>,
}

enum Keys {
    Fixed(JwkSet),
    Remote {
        url: String,
        client: reqwest::Client,
        refresh: Duration,
        min_refetch: Duration,
        state: RwLock<Fetched>,
    },
}

/// Checks Entra access tokens (see the module).
pub struct JwtAuthenticator {
    validation: Validation,
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

async fn fetch(client: &reqwest::Client, url: &str) -> Result<JwkSet, KeysError> {
    let failed = |error: String| KeysError::Fetch {
        url: url.to_owned(),
        error,
    };
    let response = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| failed(e.to_string()))?;
    let bytes = response.bytes().await.map_err(|e| failed(e.to_string()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

impl JwtAuthenticator {
    /// Tokens of `issuer` for `audience`, verified with the keys of `set`.
    #[must_use]
    pub fn new(issuer: &str, audience: &str, set: JwkSet) -> Self {
        Self {
            validation: validation(issuer, audience),
            keys: Keys::Fixed(set),
        }
    }

    /// Tokens of `issuer` for `audience`, verified with the keys at `url`: fetched now, again
    /// every `refresh`, and again when a token names a key the set lacks (a rotation), at most
    /// once a minute.
    ///
    /// # Errors
    ///
    /// [`KeysError`] when the first fetch fails: the service does not start without keys.
    pub async fn fetching(
        issuer: &str,
        audience: &str,
        url: &str,
        refresh: Duration,
    ) -> Result<Self, KeysError> {
        // The HTTPS client's crypto: rustls on ring, set once for the process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| KeysError::Fetch {
                url: url.to_owned(),
                error: e.to_string(),
            })?;
        let set = fetch(&client, url).await?;
        Ok(Self {
            validation: validation(issuer, audience),
            keys: Keys::Remote {
                url: url.to_owned(),
                client,
                refresh,
                min_refetch: Duration::from_secs(60),
                state: RwLock::new(Fetched {
                    set,
                    at: now(),
                    miss_at: None,
                }),
            },
        })
    }

    /// Sets how soon after one fetch for an unknown key another may follow (a minute by
    /// default): a stream of tokens naming made-up keys costs the issuer at most one fetch
    /// per interval.
    #[must_use]
    pub fn min_refetch(mut self, interval: Duration) -> Self {
        if let Keys::Remote { min_refetch, .. } = &mut self.keys {
            *min_refetch = interval;
        }
        self
    }

    /// The key named `kid`, refreshing the fetched set when it is old, or when it lacks `kid`
    /// and no such refetch happened within the interval.
    async fn key(&self, kid: &str) -> Option<Jwk> {
        let (url, client, refresh, min_refetch, state) = match &self.keys {
            Keys::Fixed(set) => return set.find(kid).cloned(),
            Keys::Remote {
                url,
                client,
                refresh,
                min_refetch,
                state,
            } => (url, client, *refresh, *min_refetch, state),
        };
        {
            let fetched = state.read().await;
            let fresh = fetched.at.elapsed() < refresh;
            if let (true, Some(key)) = (fresh, fetched.set.find(kid)) {
                return Some(key.clone());
            }
        }
        let mut fetched = state.write().await;
        let stale = fetched.at.elapsed() >= refresh;
        let found = fetched.set.find(kid).is_some();
        let may_refetch = fetched.miss_at.is_none_or(|at| at.elapsed() >= min_refetch);
        if stale || (!found && may_refetch) {
            if !found {
                fetched.miss_at = Some(now());
            }
            match fetch(client, url).await {
                Ok(set) => {
                    tracing::info!(keys = set.keys.len(), "the token signing keys were fetched");
                    fetched.set = set;
                    fetched.at = now();
                }
                Err(error) => {
                    tracing::warn!(%error, "the token signing keys could not be fetched; the old ones stay");
                }
            }
        }
        fetched.set.find(kid).cloned()
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
        let jwk = self.key(&kid).await.ok_or_else(|| {
            Unauthenticated::invalid("the token's signing key is not the issuer's")
        })?;
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
        principal(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::{Wid, wid};

    #[test]
    fn every_role_the_crate_knows_has_its_template_id_and_unknown_ids_fail_closed() {
        use temporary_access_pass::DirectoryRole;
        let mapped: Vec<DirectoryRole> = [
            "62e90394-69f5-4237-9190-012177145e10",
            "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
            "0526716b-113d-4c15-b2c8-68e3c22b9f80",
            "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
            "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
            "95e79109-95c0-4d8e-aee3-d01accf2d47b",
            "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",
            "966707d0-3269-4727-9be2-8c3a10f19b9d",
            "4a5d8f65-41da-4de4-8968-e035b65339cf",
            "27460883-1df1-4691-b032-3b79643e5e63",
            "75934031-6c7e-415a-99d7-48dbd49e875e",
            "5d6b6bb7-de71-4623-b4af-96380a352509",
            "194ae4cb-b126-40b2-bd5b-6091b380977d",
        ]
        .iter()
        .filter_map(|t| match wid(t) {
            Some(Wid::Role(role)) => Some(role),
            _ => None,
        })
        .collect();
        let known: Vec<DirectoryRole> = DirectoryRole::ALL
            .into_iter()
            .filter(|r| *r != DirectoryRole::OtherAdministrator)
            .collect();
        assert_eq!(
            mapped, known,
            "one template id per role, in the crate's order"
        );
        assert!(
            wid("e8611ab8-c189-46e8-94e1-60213ab1f814").is_none(),
            "Privileged Role Administrator is not known here"
        );
    }
}
