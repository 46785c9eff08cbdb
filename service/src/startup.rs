//! Building the service from its [`Config`]: its files read, its authenticator, its TLS
//! acceptor, its store (PostgreSQL with its pool and timeouts, or SQLite), its passkey relying
//! party; then serving it ([`crate::server`]) until a signal, and closing the store's pool.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use temporary_access_pass::store::AsyncStore;
use temporary_access_pass::{AsyncEngine, EngineConfig, Pepper};
use temporary_access_pass_postgres::{PgStore, migrate};
use temporary_access_pass_sqlite::{SqliteOptions, SqliteStore};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::app::App;
use crate::blocking::Blocking;
use crate::clock::system_clock;
use crate::config::{AuthSettings, Config, JwksSource, StartError};
use crate::housekeeping::forget_finished_ceremonies;
use crate::identity::{
    Authenticator, BearerTokens, Directory, FileError, StaticDirectory, Unauthenticated,
};
use crate::jwt::JwtAuthenticator;
use crate::jwt::keys::KeyTimes;
use crate::passkeys::{Onboarding, RelyingPartyKey, WebauthnSettings, roots_from_json};
use crate::server::{serve_with_ops, shutdown_signal};
use webauthn_rs::prelude::AttestationCaList;

mod postgres;

pub use postgres::{postgres_config, postgres_pool, postgres_target, server_timeouts};

fn read(path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|error| StartError::Read {
        path: path.to_owned(),
        error,
    })
}

/// The pepper's key, from its file's bytes (wiped by the caller once the key is made). A
/// pepper written as text, every byte printable ASCII before one final line ending (`\n` or
/// `\r\n`), is the text without the line ending: a file written with `echo` and one written
/// without a newline are the same key, and the newline does not count toward the 32 bytes.
/// Any other file is the key byte for byte, so random bytes that happen to end in `0x0A` keep
/// every byte.
fn pepper_key(file: &[u8]) -> &[u8] {
    let text = file
        .strip_suffix(b"\r\n")
        .or_else(|| file.strip_suffix(b"\n"));
    match text {
        Some(text) if text.iter().all(|b| (0x20..0x7f).contains(b)) => text,
        _ => file,
    }
}

fn read_json<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, FileError>,
) -> Result<T, StartError> {
    let text = String::from_utf8(read(path)?).map_err(|_| StartError::Read {
        path: path.to_owned(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
    })?;
    parse(&text).map_err(|error| StartError::File {
        path: path.to_owned(),
        error,
    })
}

/// The authenticator the settings name.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyAuthenticator {
    /// Entra access tokens.
    Jwt(Box<JwtAuthenticator>),
    /// The demonstration's static tokens.
    BearerTokens(BearerTokens),
}

impl Authenticator for AnyAuthenticator {
    async fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<temporary_access_pass::Principal, Unauthenticated> {
        match self {
            Self::Jwt(a) => a.authenticate(headers).await,
            Self::BearerTokens(a) => a.authenticate(headers).await,
        }
    }
}

/// The authenticator of `settings`: for JWTs, with its keys read or fetched now.
///
/// # Errors
///
/// [`StartError::Keys`] when the keys can't be had; [`StartError::Read`] and
/// [`StartError::File`] for the files.
pub async fn authenticator(settings: &AuthSettings) -> Result<AnyAuthenticator, StartError> {
    Ok(match settings {
        AuthSettings::Jwt {
            issuer,
            audience,
            keys,
            refresh,
            max_age,
        } => AnyAuthenticator::Jwt(Box::new(match keys {
            JwksSource::File(path) => {
                let set = serde_json::from_slice(&read(path)?)
                    .map_err(|e| StartError::Keys(format!("{}: {e}", path.display())))?;
                JwtAuthenticator::new(issuer, audience, set)
            }
            JwksSource::Url(url) => {
                let mut times = KeyTimes::new(*refresh);
                times.max_age = *max_age;
                JwtAuthenticator::fetching(issuer, audience, url, times)
                    .await
                    .map_err(|e| StartError::Keys(e.to_string()))?
            }
        })),
        AuthSettings::BearerTokens(path) => {
            AnyAuthenticator::BearerTokens(read_json(path, BearerTokens::from_json)?)
        }
    })
}

/// The TLS acceptor of a PEM certificate chain and key (rustls, TLS 1.2 and 1.3, HTTP/1.1).
///
/// # Errors
///
/// [`StartError::Tls`], naming the file and what is wrong with it.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, StartError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| StartError::Tls(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(StartError::Tls(format!(
            "{}: no PEM certificate",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| StartError::Tls(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Reads the configuration's files, builds the store it names, and serves until SIGTERM or
/// SIGINT; then shuts down gracefully (see the module).
///
/// # Errors
///
/// [`StartError`]: a file that can't be read or is refused, keys that can't be had, a store
/// that does not open, an address that can't be bound.
pub async fn run(config: Config) -> Result<(), StartError> {
    let address = config.listen_address().await?;
    let authenticator = authenticator(&config.auth).await?;
    let directory = read_json(&config.directory_file, StaticDirectory::from_json)?;
    let pepper_file = zeroize::Zeroizing::new(read(&config.pepper_file)?);
    let engine = EngineConfig::new(Pepper::new(pepper_key(&pepper_file))?);
    let relying_party_key = RelyingPartyKey::from_pepper(pepper_key(&pepper_file));
    drop(pepper_file);
    let tls = config
        .tls
        .as_ref()
        .map(|(cert, key)| tls_acceptor(cert, key))
        .transpose()?;
    let limits = config.limits;
    // Bound first: the public URL and the WebAuthn origin default to the bound port.
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local}"));
    let webauthn = webauthn_settings(&config, scheme, local)?;
    let roots = config
        .attestation_roots_file
        .as_ref()
        .map(|path| {
            let text = String::from_utf8(read(path)?).map_err(|_| StartError::Read {
                path: path.clone(),
                error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"),
            })?;
            roots_from_json(&text).map_err(|e| {
                StartError::Environment(format!(
                    "TAP_ATTESTATION_ROOTS_FILE {}: {e}",
                    path.display()
                ))
            })
        })
        .transpose()?;
    tracing::info!(origin = %webauthn.origin, rp_id = %webauthn.rp_id, attestation_roots = roots.as_ref().map_or(0, AttestationCaList::len), "passkeys");
    let onboarding = Onboarding::new(webauthn, roots)
        .map_err(StartError::Environment)?
        .with_key(relying_party_key);
    let ops = match config.ops_address().await? {
        Some(address) => Some(TcpListener::bind(address).await?),
        None => None,
    };
    let listening = Listening {
        listener,
        ops,
        tls,
        public_url,
    };
    if let Some(url) = &config.database_url {
        let pg = postgres_config(url, limits.store_timeout)?;
        tracing::info!(store = "postgresql", target = %postgres_target(&pg, &config.tenant), "the store");
        let pool = postgres_pool(pg, config.database_pool, limits.store_timeout)?;
        migrate(&pool).await?;
        let store = PgStore::new(pool.clone(), &config.tenant)?;
        let app = App::new(
            AsyncEngine::new(system_clock(), store, engine),
            authenticator,
            directory,
        )
        .limits(limits)
        .onboarding(onboarding);
        serve_until_signalled(listening, app).await?;
        pool.close();
        tracing::info!("the PostgreSQL pool is closed");
    } else {
        tracing::info!(store = "sqlite", path = %config.sqlite_path.display(), busy_timeout_ms = limits.store_timeout.as_millis(), "the store");
        let store = SqliteStore::open_with(
            &config.sqlite_path,
            SqliteOptions::default().busy_timeout(limits.store_timeout),
        )?;
        let app = App::new(
            AsyncEngine::new(system_clock(), Blocking::new(store), engine),
            authenticator,
            directory,
        )
        .limits(limits)
        .onboarding(onboarding);
        serve_until_signalled(listening, app).await?;
        tracing::info!("the SQLite store is closed");
    }
    Ok(())
}

/// The WebAuthn relying party of `config`: `TAP_WEBAUTHN_ORIGIN` (by default the bound
/// address, as `localhost` when it is a loopback address: browsers refuse IP addresses as RP
/// IDs), its host the RP ID unless `TAP_WEBAUTHN_RP_ID` says otherwise.
fn webauthn_settings(
    config: &Config,
    scheme: &str,
    local: SocketAddr,
) -> Result<WebauthnSettings, StartError> {
    let origin = config.webauthn_origin.clone().unwrap_or_else(|| {
        if local.ip().is_loopback() {
            format!("{scheme}://localhost:{}", local.port())
        } else {
            format!("{scheme}://{local}")
        }
    });
    let mut settings = WebauthnSettings::for_origin(&origin)
        .map_err(|e| StartError::Environment(format!("TAP_WEBAUTHN_ORIGIN={e}")))?;
    if let Some(rp_id) = &config.webauthn_rp_id {
        settings.rp_id.clone_from(rp_id);
    }
    Ok(settings)
}

/// A bound listener, with what serving on it needs.
struct Listening {
    listener: TcpListener,
    ops: Option<TcpListener>,
    tls: Option<TlsAcceptor>,
    public_url: String,
}

async fn serve_until_signalled<S, A, D>(
    listening: Listening,
    app: App<S, A, D>,
) -> Result<(), StartError>
where
    S: AsyncStore + 'static,
    A: Authenticator,
    D: Directory,
{
    let Listening {
        listener,
        ops,
        tls,
        public_url,
    } = listening;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let app = Arc::new(app.public_url(public_url));
    // Listening for signals before saying so: a SIGTERM right after the line still counts.
    let stop = shutdown_signal()?;
    let housekeeping = tokio::spawn(forget_finished_ceremonies(
        app.clone(),
        app.limits.prune_interval,
    ));
    if let Some(ops) = &ops {
        tracing::info!(address = %ops.local_addr()?, "operations listening");
    }
    tracing::info!(address = %local, scheme, "listening");
    let served = serve_with_ops(listener, ops, app, tls, stop).await;
    housekeeping.abort();
    served?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::pepper_key;

    #[test]
    fn a_text_pepper_loses_its_line_ending_and_a_binary_one_keeps_every_byte() {
        let line = "correct horse battery staple 0123";
        assert_eq!(pepper_key(format!("{line}\n").as_bytes()), line.as_bytes());
        assert_eq!(
            pepper_key(format!("{line}\r\n").as_bytes()),
            line.as_bytes()
        );
        assert_eq!(pepper_key(line.as_bytes()), line.as_bytes());
        assert_eq!(
            pepper_key(b"\n"),
            b"",
            "an empty line is an empty key, refused"
        );
        let two_lines = format!("{line}\n\n");
        assert_eq!(pepper_key(two_lines.as_bytes()), two_lines.as_bytes());
        let mut random = [0x8f_u8; 32];
        random[31] = b'\n';
        assert_eq!(
            pepper_key(&random),
            &random,
            "a binary key ending in 0x0A keeps it"
        );
        let text_with_a_binary_byte = b"abc\x00def\n";
        assert_eq!(pepper_key(text_with_a_binary_byte), text_with_a_binary_byte);
    }
}
