//! The ceremonies' cookies: read one from a request, and set one `HttpOnly`,
//! `SameSite=Strict`, for the root path. When the page's origin is HTTPS, a cookie is `Secure`
//! and its name carries the `__Host-` prefix: a browser then keeps it only as set by this very
//! host, with no `Domain`, so a sibling subdomain cannot plant one; and the unprefixed name is
//! not read at all. Over plain HTTP (a developer's `localhost`) browsers refuse the prefix, and
//! the name is bare.

use std::borrow::Cow;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

/// The prefix of a cookie bound to its host (RFC 6265bis, "Cookie Name Prefixes").
pub const HOST_PREFIX: &str = "__Host-";

/// The name cookie `name` is sent under: with [`HOST_PREFIX`] when `secure`.
#[must_use]
pub fn cookie_name(name: &str, secure: bool) -> Cow<'_, str> {
    if secure {
        Cow::Owned(format!("{HOST_PREFIX}{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// The value of cookie `name` in `headers`, under its `__Host-` name when `secure`.
#[must_use]
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str, secure: bool) -> Option<&'h str> {
    let named = |n: &str| {
        if secure {
            n.strip_prefix(HOST_PREFIX) == Some(name)
        } else {
            n == name
        }
    };
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(n, v)| named(n).then_some(v))
}

/// A `Set-Cookie` value for `name`: `HttpOnly`, `SameSite=Strict`, `Path=/`, for `seconds`
/// (none when negative); `Secure` and `__Host-` named when `secure`. `None` when `value` can't
/// be a header's.
#[must_use]
pub fn set_cookie(name: &str, value: &str, seconds: i64, secure: bool) -> Option<HeaderValue> {
    let attribute = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{attribute}",
        cookie_name(name, secure),
        seconds.max(0)
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::{cookie, set_cookie};

    #[test]
    fn under_https_a_cookie_is_host_bound_and_the_bare_name_is_not_read() {
        let set = set_cookie("tap_registration", "abc", 600, true).unwrap();
        assert_eq!(
            set.to_str().unwrap(),
            "__Host-tap_registration=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=600; Secure"
        );
        let plain = set_cookie("tap_registration", "abc", -5, false).unwrap();
        assert_eq!(
            plain.to_str().unwrap(),
            "tap_registration=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "cookie",
            HeaderValue::from_static("tap_registration=planted; __Host-tap_registration=ours"),
        );
        assert_eq!(cookie(&headers, "tap_registration", true), Some("ours"));
        assert_eq!(cookie(&headers, "tap_registration", false), Some("planted"));
        let mut planted_only = HeaderMap::new();
        planted_only.insert(
            "cookie",
            HeaderValue::from_static("tap_registration=planted"),
        );
        assert_eq!(cookie(&planted_only, "tap_registration", true), None);
    }
}
