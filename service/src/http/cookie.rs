//! The ceremonies' cookies: read one from a request, and set one `HttpOnly`,
//! `SameSite=Strict`, for the root path, `Secure` when the page's origin is HTTPS.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

/// The value of cookie `name` in `headers`.
#[must_use]
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(n, v)| (n == name).then_some(v))
}

/// A `Set-Cookie` value for `name`: `HttpOnly`, `SameSite=Strict`, for `seconds` (none when
/// negative); `Secure` when `secure`. `None` when `value` can't be a header's.
#[must_use]
pub fn set_cookie(name: &str, value: &str, seconds: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        seconds.max(0)
    ))
    .ok()
}
