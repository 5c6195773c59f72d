//! IP address and CIDR matching. Every `ip` rule, IP list and ACM `ipSubnetworks`
//! compiles into a [`CidrSet`]: sorted, merged address ranges searched by binary
//! search, so a list of 10,000 ranges costs ~14 comparisons per request.

use std::net::IpAddr;

use ipnet::IpNet;

/// Why an address or CIDR was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("{0:?} is not an IP address or CIDR")]
    Malformed(String),
    #[error("{0:?} is not truncated: the host bits of the address must be zero (use {1:?})")]
    NotTruncated(String, String),
}

/// Parses a CIDR or a bare address (a host route). Returns the network exactly as
/// written; the caller keeps the original text for round trips.
pub fn parse_cidr_or_ip(text: &str) -> Result<IpNet, CidrError> {
    let trimmed = text.trim();
    if trimmed != text || text.is_empty() {
        return Err(CidrError::Malformed(text.to_string()));
    }
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| CidrError::Malformed(text.to_string()))
}

/// Parses a CIDR whose host bits are zero, as Google ACM requires for
/// `ipSubnetworks` ("192.0.2.0/24" is accepted, "192.0.2.1/24" is not).
pub fn parse_truncated_cidr(text: &str) -> Result<IpNet, CidrError> {
    let net = text
        .parse::<IpNet>()
        .map_err(|_| CidrError::Malformed(text.to_string()))?;
    if net.trunc() != net {
        return Err(CidrError::NotTruncated(
            text.to_string(),
            net.trunc().to_string(),
        ));
    }
    Ok(net)
}

/// A set of address ranges, IPv4 and IPv6 kept apart, in one allocation (16
/// bytes inline, so a rule holding one stays small):
/// `[n, v4 ranges (n words), v6 ranges (4 words each)]`. An IPv4 range is one
/// word, start in the high half and end in the low half, so sorting the words
/// sorts by start; an IPv6 range is start high, start low, end high, end low.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrSet {
    words: Box<[u64]>,
}

impl Default for CidrSet {
    fn default() -> Self {
        CidrSet::from_nets([])
    }
}

impl CidrSet {
    pub fn from_nets<I: IntoIterator<Item = IpNet>>(nets: I) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in nets {
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        let (v4, v6) = (merge_ranges(v4), merge_ranges(v6));
        let mut words = Vec::with_capacity(1 + v4.len() + 4 * v6.len());
        words.push(v4.len() as u64);
        words.extend(v4.iter().map(|&(s, e)| (u64::from(s) << 32) | u64::from(e)));
        for (s, e) in v6 {
            words.extend([(s >> 64) as u64, s as u64, (e >> 64) as u64, e as u64]);
        }
        CidrSet {
            words: words.into_boxed_slice(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.words.len() <= 1
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.contains_v4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                // An IPv4-mapped IPv6 address is the IPv4 address it carries.
                Some(v4) => self.contains_v4(u32::from(v4)),
                None => self.contains_v6(u128::from(a)),
            },
        }
    }

    fn split(&self) -> (&[u64], &[u64]) {
        let n = self.words.first().map_or(0, |&n| n as usize);
        self.words.get(1..).unwrap_or_default().split_at(n)
    }

    fn contains_v4(&self, addr: u32) -> bool {
        let (v4, _) = self.split();
        // The last range starting at or before `addr` is the only candidate.
        let idx = v4.partition_point(|&w| (w >> 32) as u32 <= addr);
        idx > 0 && addr <= v4[idx - 1] as u32
    }

    fn contains_v6(&self, addr: u128) -> bool {
        let (_, v6) = self.split();
        let range = |i: usize| {
            let w = &v6[4 * i..4 * i + 4];
            let join = |hi: u64, lo: u64| (u128::from(hi) << 64) | u128::from(lo);
            (join(w[0], w[1]), join(w[2], w[3]))
        };
        // Binary search for the last range starting at or before `addr`.
        let (mut lo, mut hi) = (0, v6.len() / 4);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if range(mid).0 <= addr {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo > 0 && addr <= range(lo - 1).1
    }
}

fn merge_ranges<T: Ord + Copy + num_like::Successor>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        if let Some(last) = merged.last_mut() {
            if start <= last.1.successor_or_max() {
                if end > last.1 {
                    last.1 = end;
                }
                continue;
            }
        }
        merged.push((start, end));
    }
    merged
}

mod num_like {
    pub trait Successor {
        fn successor_or_max(self) -> Self;
    }
    impl Successor for u32 {
        fn successor_or_max(self) -> Self {
            self.saturating_add(1)
        }
    }
    impl Successor for u128 {
        fn successor_or_max(self) -> Self {
            self.saturating_add(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> CidrSet {
        CidrSet::from_nets(items.iter().map(|s| parse_cidr_or_ip(s).unwrap()))
    }

    #[test]
    fn matches_cidrs_and_bare_addresses() {
        let s = set(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]);
        assert!(s.contains("10.255.0.1".parse().unwrap()));
        assert!(s.contains("192.0.2.7".parse().unwrap()));
        assert!(!s.contains("192.0.2.8".parse().unwrap()));
        assert!(s.contains("2001:db8::1".parse().unwrap()));
        assert!(!s.contains("2001:db9::1".parse().unwrap()));
        assert!(s.contains("::ffff:10.1.1.1".parse().unwrap()));
    }

    #[test]
    fn merges_adjacent_and_overlapping_ranges() {
        let s = set(&["10.0.0.0/25", "10.0.0.128/25", "10.0.0.5/32", "0.0.0.0/0"]);
        assert_eq!(&*s.words, &[1, u64::from(u32::MAX)]);
    }

    #[test]
    fn ipv6_ranges_never_cover_ipv4_clients() {
        let s = set(&["2001:db8:0:1::/64", "::/0", "2001:db8::/32"]);
        assert!(s.contains("2001:db8::1".parse().unwrap()));
        assert!(s.contains("::1".parse().unwrap()));
        assert!(!s.contains("10.0.0.1".parse().unwrap()));
        assert!(!s.contains("::ffff:10.0.0.1".parse().unwrap()));
        let s = set(&["0.0.0.0/0", "fe80::/10", "2001:db8::/32", "2001:db8::/48"]);
        assert!(s.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(s.contains("fe80::1".parse().unwrap()));
        assert!(!s.contains("2001:db9::1".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
        assert!(s.contains("::ffff:192.0.2.1".parse().unwrap()));
        assert!(CidrSet::default().is_empty());
        assert!(!CidrSet::default().contains("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn refuses_garbage_and_untruncated_acm_cidrs() {
        assert!(parse_cidr_or_ip("10.0.0.300/8").is_err());
        assert!(parse_cidr_or_ip(" 10.0.0.1").is_err());
        assert!(parse_truncated_cidr("192.0.2.1/24").is_err());
        assert!(parse_truncated_cidr("192.0.2.0/24").is_ok());
        assert!(parse_truncated_cidr("2001:db8::1/32").is_err());
    }
}
