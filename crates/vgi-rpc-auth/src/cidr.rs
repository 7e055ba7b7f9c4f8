//! A tiny IPv4/IPv6 CIDR matcher ([`IpNet`]) for trusted-proxy lists.
//! IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`) match IPv4 networks.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a network could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The address part is not an IP address.
    #[error("invalid IP address in network {0:?}")]
    Address(String),
    /// The prefix is not a number within the address family's width.
    #[error("invalid prefix length in network {0:?}")]
    Prefix(String),
}

impl IpNet {
    /// A network; `None` when `prefix` exceeds the family's width (32 / 128).
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        (prefix <= max_prefix(addr)).then_some(Self { addr: canonical(addr), prefix })
    }

    /// A single host (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Self {
        let addr = canonical(addr);
        Self { addr, prefix: max_prefix(addr) }
    }

    /// Parse `a.b.c.d/n`, `x::y/n`, or a bare address (a single host).
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let text = text.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| CidrError::Address(text.to_string()))?;
        match prefix_text {
            None => Ok(Self::host(addr)),
            Some(p) => {
                let all_digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
                let prefix: u8 = if all_digits { p.parse().ok() } else { None }
                    .ok_or_else(|| CidrError::Prefix(text.to_string()))?;
                // A v4-mapped v6 network keeps its meaning as a v4 network.
                let (addr, prefix) = match addr {
                    IpAddr::V6(v6) if prefix >= 96 && v6.to_ipv4_mapped().is_some() => (canonical(addr), prefix - 96),
                    _ => (addr, prefix),
                };
                Self::new(addr, prefix).ok_or_else(|| CidrError::Prefix(text.to_string()))
            }
        }
    }

    /// The network address as given.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn canonical(addr: IpAddr) -> IpAddr {
    addr.to_canonical()
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_networks() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.0.1")));
        assert!(net.contains(ip("10.1.255.255")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(!net.contains(ip("::1")));
        // Host bits in the configured address are ignored.
        assert!(IpNet::parse("192.168.1.77/24").unwrap().contains(ip("192.168.1.3")));
        let any = IpNet::parse("0.0.0.0/0").unwrap();
        assert!(any.contains(ip("203.0.113.9")));
        assert!(!any.contains(ip("2001:db8::1")));
        let host = IpNet::parse("127.0.0.1").unwrap();
        assert_eq!(host.prefix(), 32);
        assert!(host.contains(ip("127.0.0.1")) && !host.contains(ip("127.0.0.2")));
        assert_eq!(host.to_string(), "127.0.0.1/32");
    }

    #[test]
    fn v6_networks() {
        let net: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(net.contains(ip("2001:db8:1::5")));
        assert!(!net.contains(ip("2001:db9::5")));
        assert!(!net.contains(ip("10.0.0.1")));
        let host = IpNet::parse("::1").unwrap();
        assert_eq!(host.prefix(), 128);
        assert!(host.contains(ip("::1")) && !host.contains(ip("::2")));
        assert!(IpNet::parse("::/0").unwrap().contains(ip("fe80::1")));
        assert!(IpNet::parse("fd00::/8").unwrap().contains(ip("fdff:1::1")));
    }

    #[test]
    fn v4_mapped_peers_match_v4_networks() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("::ffff:10.9.8.7")));
        assert!(!net.contains(ip("::ffff:11.9.8.7")));
        let mapped = IpNet::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(mapped.to_string(), "10.0.0.0/8");
        assert!(mapped.contains(ip("10.1.2.3")));
    }

    #[test]
    fn bad_networks() {
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/x", "host/8"] {
            assert!(IpNet::parse(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(IpNet::parse("nope"), Err(CidrError::Address(_))));
        assert!(matches!(IpNet::parse("1.2.3.4/40"), Err(CidrError::Prefix(_))));
        assert_eq!(IpNet::new(ip("1.2.3.4"), 33), None);
    }
}
