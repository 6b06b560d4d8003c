//! The caller's address (`RequestContext::client_addr`): the peer of the connection, or, when
//! that peer is a trusted proxy, the address the proxies recorded in `X-Forwarded-For`. The header is never believed from
//! anyone else: any client can send one.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses addresses and CIDR ranges (`10.0.0.0/8`, `::1`); the first that does not parse is
    /// the error.
    pub(crate) fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let nets = entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("`{entry}` is not an IP address or CIDR range (10.0.0.0/8)")
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets })
    }

    pub(crate) fn trusts(&self, addr: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(&addr))
    }

    /// The client's address. From the right of `X-Forwarded-For` (each proxy appends the
    /// address it saw), trusted proxies are skipped; the first other address is the client.
    /// `None` when the peer is unknown, or the header holds something that is not an address.
    pub(crate) fn client_addr(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        // Walked from the right without collecting: no allocation per request.
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            for hop in value.to_str().ok()?.rsplit(',') {
                let hop = hop.trim().parse::<IpAddr>().ok()?;
                if !self.trusts(hop) {
                    return Some(hop);
                }
            }
        }
        Some(peer)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let spoofed = forwarded("1.2.3.4");
        assert_eq!(
            none.client_addr(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        assert_eq!(
            proxies.client_addr(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        assert_eq!(proxies.client_addr(None, &spoofed), None);
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.1"]).unwrap();
        // The client forged the first entry; the proxies appended the rest.
        let headers = forwarded("6.6.6.6, 198.51.100.7, 192.0.2.1");
        assert_eq!(
            proxies.client_addr(ip("10.1.2.3"), &headers),
            ip("198.51.100.7")
        );
        let garbage = forwarded("not-an-address");
        assert_eq!(proxies.client_addr(ip("10.1.2.3"), &garbage), None);
        assert_eq!(
            proxies.client_addr(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
        assert!(TrustedProxies::parse(&["::1", "fd00::/8"]).is_ok());
    }
}
