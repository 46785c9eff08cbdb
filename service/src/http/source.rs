//! Where a request comes from: the unit sign-ins are limited by. An IPv4 peer is its address;
//! an IPv6 peer is its /64, the block one subscriber or host is given, so that the 2^64
//! addresses it holds count as one source (and an IPv4-mapped address as its IPv4). A service
//! behind a proxy sees the proxy's address and limits it as a whole (the README says how to
//! deploy it).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// The source of a request (see the module): `0.0.0.0` when the server recorded no peer, as
/// in a test that calls the router directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source(pub IpAddr);

impl Source {
    /// The source `peer` counts as.
    #[must_use]
    pub fn of(peer: IpAddr) -> Self {
        Self(match peer {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(
                || IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
                IpAddr::V4,
            ),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::Source;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source_and_ipv4_is_its_address() {
        assert_eq!(
            Source::of(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            Source::of(ip("2001:db8:1:2::1"))
        );
        assert_eq!(Source::of(ip("2001:db8:1:2::1")).0, ip("2001:db8:1:2::"));
        assert_ne!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:3::1")),
            "the next /64 is another source"
        );
        assert_eq!(Source::of(ip("192.0.2.7")).0, ip("192.0.2.7"));
        assert_ne!(Source::of(ip("192.0.2.7")), Source::of(ip("192.0.2.8")));
        assert_eq!(
            Source::of(ip("::ffff:192.0.2.7")).0,
            ip("192.0.2.7"),
            "an IPv4-mapped address is its IPv4"
        );
    }
}
