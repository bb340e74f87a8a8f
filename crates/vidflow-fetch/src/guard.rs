//! The SSRF guard: which addresses vidflow may connect to, enforced after DNS resolution.
//!
//! A page URL comes from the user (or from a page's redirect), and vidflow may run as a
//! service next to databases, metadata endpoints and admin panels. So by default it only
//! talks to globally routable addresses. The rule is applied where it cannot be dodged:
//! inside the DNS resolver the HTTP client uses (so `localhost`, or a public name that
//! resolves to `10.0.0.1`, is refused, and the connection goes to exactly the addresses
//! that were checked), and before connecting to IP-literal hosts, which the client never
//! hands to a resolver.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The hint every refusal carries, so a user who meant to fetch a local page knows the way out.
pub(crate) const ALLOW_HINT: &str =
    "pass --allow-private-network to fetch from private or local addresses";

/// True when vidflow must not connect to `ip` unless private networks are allowed.
///
/// Refused: loopback (127/8, `::1`), private (10/8, 172.16/12, 192.168/16), link-local
/// (169.254/16, `fe80::/10`), carrier-grade NAT (100.64/10), multicast (224/4, `ff00::/8`),
/// unspecified (`0.0.0.0`, `::`) and the rest of 0/8, broadcast and the reserved 240/4,
/// IETF protocol assignments (192.0.0/24), benchmarking (198.18/15), documentation ranges,
/// IPv6 unique-local (`fc00::/7`), the deprecated site-local `fec0::/10`, the discard
/// prefix `100::/64`, Teredo `2001::/32` and local-use NAT64 `64:ff9b:1::/48`. IPv6 addresses that carry an IPv4 address (IPv4-mapped
/// `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
/// are judged by the IPv4 address inside, because that is where the packets end up.
///
/// ```
/// use std::net::IpAddr;
/// use vidflow_fetch::is_forbidden_ip;
/// assert!(is_forbidden_ip("127.0.0.1".parse::<IpAddr>().unwrap()));
/// assert!(is_forbidden_ip("::ffff:10.1.2.3".parse::<IpAddr>().unwrap()));
/// assert!(!is_forbidden_ip("93.184.216.34".parse::<IpAddr>().unwrap()));
/// ```
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_some()
}

/// Why `ip` is refused ("loopback", "private", ...), or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "\"this network\" (0.0.0.0/8)",
        (10, _, _) => "private",
        (100, 64..=127, _) => "carrier-grade NAT",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local",
        (172, 16..=31, _) => "private",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 168, _) => "private",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // Addresses that embed an IPv4 address reach that IPv4 host; judge them by it.
    if let Some(v4) = embedded_ipv4(ip) {
        return v4_reason(v4);
    }
    let s = ip.segments();
    let reason = match s[0] {
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xfc00..=0xfdff => "unique local",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        // Teredo tunnels the packets to an IPv4 host named (obfuscated) inside the
        // address; nothing a page needs, so the whole 2001::/32 is refused.
        0x2001 if s[1] == 0 => "Teredo",
        // Local-use NAT64 (RFC 8215): translated by the operator's own gateway, possibly
        // into its private networks.
        0x0064 if s[1] == 0xff9b && s[2] == 1 => "local-use NAT64",
        0x0100 if s[1] == 0 && s[2] == 0 && s[3] == 0 => "discard-only",
        _ => return None,
    };
    Some(reason)
}

/// The IPv4 address an IPv6 address stands for, when it is one of the embedding forms.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it)
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        // NAT64 well-known prefix 64:ff9b::/96
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 6to4 2002:AABB:CCDD::/48 carries a.b.c.d in its second and third segments
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// A connection refused by the guard: the host and the addresses it stands for.
#[derive(Debug, Clone)]
pub struct ForbiddenAddress {
    /// The host as written in the URL.
    pub host: String,
    /// The refused addresses (for an IP-literal host, just that address).
    pub addresses: Vec<IpAddr>,
}

impl fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let described = self
            .addresses
            .iter()
            .map(|ip| match forbidden_reason(*ip) {
                Some(reason) => format!("{ip} ({reason})"),
                None => ip.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let single_literal =
            self.addresses.len() == 1 && self.addresses[0].to_string() == self.host;
        if single_literal {
            write!(f, "{described} is not a public address; {ALLOW_HINT}")
        } else {
            write!(
                f,
                "host {} resolves only to non-public addresses: {described}; {ALLOW_HINT}",
                self.host
            )
        }
    }
}

impl std::error::Error for ForbiddenAddress {}

/// A host name that could not be resolved.
#[derive(Debug)]
pub struct LookupFailure {
    /// The host name.
    pub host: String,
    /// What the system resolver said.
    pub source: std::io::Error,
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot resolve host {}: {}", self.host, self.source)
    }
}

impl std::error::Error for LookupFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Decides, address by address, whether a connection may go ahead.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressGuard {
    /// Lifts the rule entirely (`--allow-private-network`).
    pub(crate) allow_private_network: bool,
    /// IP-literal hosts allowed despite the rule (names are still judged strictly). Always
    /// empty outside this crate's own tests, which use it to let a loopback test server in
    /// by its address while proving that every other local address, and every name that
    /// resolves to one, is refused on a redirect hop.
    pub(crate) exempt_literals: Arc<[IpAddr]>,
}

impl AddressGuard {
    pub(crate) fn new(allow_private_network: bool) -> Self {
        Self {
            allow_private_network,
            exempt_literals: Arc::from(Vec::new()),
        }
    }

    /// True when a connection to `ip`, found by resolving a name, may go ahead.
    pub(crate) fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private_network || !is_forbidden_ip(ip)
    }

    /// True when a connection to `ip`, written as the URL's host, may go ahead.
    pub(crate) fn permits_literal(&self, ip: IpAddr) -> bool {
        self.permits(ip) || self.exempt_literals.contains(&ip)
    }

    /// Checks an IP-literal host before connecting (the client never resolves those).
    pub(crate) fn check_literal(&self, host: &str, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        if self.permits_literal(ip) {
            Ok(())
        } else {
            Err(ForbiddenAddress {
                host: host.to_owned(),
                addresses: vec![ip],
            })
        }
    }

    /// Keeps the resolved addresses that may be used, or refuses the host when none may.
    pub(crate) fn filter(
        &self,
        host: &str,
        resolved: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, ForbiddenAddress> {
        let (allowed, refused): (Vec<_>, Vec<_>) =
            resolved.into_iter().partition(|a| self.permits(a.ip()));
        if allowed.is_empty() {
            let mut addresses: Vec<IpAddr> = refused.iter().map(|a| a.ip()).collect();
            addresses.dedup();
            Err(ForbiddenAddress {
                host: host.to_owned(),
                addresses,
            })
        } else {
            Ok(allowed)
        }
    }
}

/// A DNS resolver for reqwest that applies the SSRF rule to every address it returns.
///
/// Resolution uses the system resolver (`getaddrinfo` on a blocking thread). Addresses the
/// rule forbids are dropped; if none remain, resolution fails with a [`ForbiddenAddress`]
/// error, which `reqwest` keeps in the error's source chain. Because the client connects
/// only to addresses this resolver returned, a name cannot pass the check and then be
/// re-resolved to a private address (DNS rebinding).
///
/// ```
/// use vidflow_fetch::GuardedResolver;
/// let client = reqwest::Client::builder()
///     .dns_resolver(GuardedResolver::new(false))
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    guard: AddressGuard,
}

impl GuardedResolver {
    /// A resolver that refuses non-public addresses unless `allow_private_network` is set.
    pub fn new(allow_private_network: bool) -> Self {
        Self {
            guard: AddressGuard::new(allow_private_network),
        }
    }

    pub(crate) fn with_guard(guard: AddressGuard) -> Self {
        Self { guard }
    }

    /// Resolves `host` and applies the rule; what [`Resolve::resolve`] does, with plain types.
    pub async fn resolve_host(
        &self,
        host: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        resolve_checked(self.guard.clone(), host.to_owned()).await
    }
}

async fn resolve_checked(
    guard: AddressGuard,
    host: String,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let looked_up = tokio::net::lookup_host((host.as_str(), 0))
        .await
        .map(|addrs| addrs.collect::<Vec<SocketAddr>>());
    let resolved = match looked_up {
        Ok(resolved) => resolved,
        Err(source) => return Err(Box::new(LookupFailure { host, source })),
    };
    if resolved.is_empty() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses found");
        return Err(Box::new(LookupFailure { host, source }));
    }
    guard
        .filter(&host, resolved)
        .map_err(|refused| Box::new(refused) as Box<dyn std::error::Error + Send + Sync>)
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(guard, host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn refuses_every_non_public_ipv4_range() {
        let cases = [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "\"this network\" (0.0.0.0/8)"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF protocol assignment"),
            ("192.0.2.1", "documentation"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
        ];
        for (addr, reason) in cases {
            assert!(is_forbidden_ip(ip(addr)), "{addr} must be refused");
            assert_eq!(forbidden_reason(ip(addr)), Some(reason), "{addr}");
        }
    }

    #[test]
    fn range_edges_are_exact() {
        // Just outside each private range: public.
        for addr in [
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(!is_forbidden_ip(ip(addr)), "{addr} is public");
        }
    }

    #[test]
    fn refuses_every_non_public_ipv6_range() {
        let cases = [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("febf:ffff::1", "link-local"),
            ("fec0::1", "site-local"),
            ("fc00::1", "unique local"),
            ("fd12:3456:789a::1", "unique local"),
            ("ff02::1", "multicast"),
            ("ff05::1:3", "multicast"),
            ("2001:db8::1", "documentation"),
            ("100::1", "discard-only"),
            ("2001::1", "Teredo"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
            ("64:ff9b:1::a00:1", "local-use NAT64"),
            ("64:ff9b:1:ffff::1", "local-use NAT64"),
        ];
        for (addr, reason) in cases {
            assert_eq!(forbidden_reason(ip(addr)), Some(reason), "{addr}");
        }
    }

    #[test]
    fn ipv6_with_embedded_ipv4_is_judged_by_the_ipv4() {
        for (addr, reason) in [
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:7f00:1", Some("loopback")),
            ("::ffff:10.1.2.3", Some("private")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:192.168.0.1", Some("private")),
            ("::ffff:0.0.0.0", Some("unspecified")),
            ("::127.0.0.1", Some("loopback")),
            ("::10.0.0.1", Some("private")),
            ("64:ff9b::127.0.0.1", Some("loopback")),
            ("64:ff9b::a00:1", Some("private")),
            ("2002:7f00:1::", Some("loopback")),
            ("2002:c0a8:101::1", Some("private")),
            ("::ffff:8.8.8.8", None),
            ("::ffff:93.184.216.34", None),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
        ] {
            assert_eq!(forbidden_reason(ip(addr)), reason, "{addr}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "151.101.1.69",
            "172.217.16.142",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:82b::200e",
        ] {
            assert!(!is_forbidden_ip(ip(addr)), "{addr} is public");
        }
    }

    #[test]
    fn guard_filters_resolved_addresses_and_names_the_host() {
        let guard = AddressGuard::new(false);
        let mixed = vec![
            SocketAddr::new(ip("127.0.0.1"), 0),
            SocketAddr::new(ip("93.184.216.34"), 0),
        ];
        let kept = guard.filter("mixed.example", mixed).unwrap();
        assert_eq!(kept, vec![SocketAddr::new(ip("93.184.216.34"), 0)]);

        let local = vec![
            SocketAddr::new(ip("127.0.0.1"), 0),
            SocketAddr::new(ip("::1"), 0),
        ];
        let refused = guard.filter("local.example", local).unwrap_err();
        let msg = refused.to_string();
        assert!(msg.contains("host local.example"), "{msg}");
        assert!(msg.contains("127.0.0.1 (loopback)"), "{msg}");
        assert!(msg.contains("::1 (loopback)"), "{msg}");
        assert!(msg.contains("--allow-private-network"), "{msg}");

        let open = AddressGuard::new(true);
        assert!(
            open.filter("local.example", vec![SocketAddr::new(ip("10.0.0.1"), 0)])
                .is_ok()
        );
    }

    #[test]
    fn literal_refusal_names_the_address() {
        let err = AddressGuard::new(false)
            .check_literal("169.254.169.254", ip("169.254.169.254"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("169.254.169.254 (link-local) is not a public address;"),
            "{msg}"
        );
        assert!(msg.contains("--allow-private-network"), "{msg}");
        assert!(
            AddressGuard::new(false)
                .check_literal("8.8.8.8", ip("8.8.8.8"))
                .is_ok()
        );
    }

    #[tokio::test]
    async fn resolver_refuses_localhost_by_default() {
        let err = GuardedResolver::new(false)
            .resolve_host("localhost")
            .await
            .unwrap_err();
        let refused = err
            .downcast_ref::<ForbiddenAddress>()
            .unwrap_or_else(|| panic!("expected a refusal, got: {err}"));
        assert_eq!(refused.host, "localhost");
        assert!(refused.addresses.iter().all(|a| a.is_loopback()));
        assert!(err.to_string().contains("--allow-private-network"));
    }

    #[tokio::test]
    async fn resolver_passes_localhost_when_private_networks_are_allowed() {
        let addrs = GuardedResolver::new(true)
            .resolve_host("localhost")
            .await
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[tokio::test]
    async fn resolver_through_the_reqwest_trait_refuses_localhost() {
        let name: Name = "localhost".parse().unwrap();
        let result = GuardedResolver::new(false).resolve(name).await;
        let err = match result {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(e) => e,
        };
        assert!(err.downcast_ref::<ForbiddenAddress>().is_some(), "{err}");
    }
}
