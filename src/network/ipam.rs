//! IPv4 address management, pure: choose a subnet from the address pools, pick addresses.
//!
//! As Docker's default IPAM: subnets come from the default address pools in order (172.17/16
//! through 172.31/16, then 192.168.0.0/16 in /20s), skipping any that overlaps a route on the
//! host, a subnet of another network, or a host nameserver; the gateway is the first address;
//! containers get the lowest free address of the subnet (or of `ip_range`).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// A pool of subnets: `base` split into subnets of prefix length `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPool {
    pub base: Ipv4Net,
    pub size: u8,
}

impl AddressPool {
    pub fn new(base: Ipv4Net, size: u8) -> Self {
        Self { base, size }
    }

    /// Docker's `default-address-pools`.
    pub fn docker_defaults() -> Vec<AddressPool> {
        vec![
            AddressPool::new("172.17.0.0/16".parse().unwrap(), 16),
            AddressPool::new("172.18.0.0/16".parse().unwrap(), 16),
            AddressPool::new("172.19.0.0/16".parse().unwrap(), 16),
            AddressPool::new("172.20.0.0/14".parse().unwrap(), 16),
            AddressPool::new("172.24.0.0/14".parse().unwrap(), 16),
            AddressPool::new("172.28.0.0/14".parse().unwrap(), 16),
            AddressPool::new("192.168.0.0/16".parse().unwrap(), 20),
        ]
    }

    /// Parse `BASE/LEN:SIZE` or `BASE/LEN` (size = LEN), as in `RCOMPOSE_ADDRESS_POOLS`.
    pub fn parse(s: &str) -> Option<AddressPool> {
        let (base, size) = match s.split_once(':') {
            Some((b, sz)) => (b.parse::<Ipv4Net>().ok()?, sz.parse::<u8>().ok()?),
            None => {
                let b = s.parse::<Ipv4Net>().ok()?;
                (b, b.prefix_len())
            }
        };
        if size < base.prefix_len() || size > 30 {
            return None;
        }
        Some(AddressPool::new(base.trunc(), size))
    }

    fn subnets(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        self.base.subnets(self.size).into_iter().flatten()
    }
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first subnet of the pools that overlaps nothing in `taken` and contains no address of
/// `avoid_addrs`.
pub fn choose_subnet(
    pools: &[AddressPool],
    taken: &[Ipv4Net],
    avoid_addrs: &[Ipv4Addr],
) -> Option<Ipv4Net> {
    pools.iter().flat_map(|p| p.subnets()).find(|candidate| {
        !taken.iter().any(|t| overlaps(candidate, t))
            && !avoid_addrs.iter().any(|a| candidate.contains(a))
    })
}

/// The default gateway of a subnet: its first host address.
pub fn default_gateway(subnet: &Ipv4Net) -> Option<Ipv4Addr> {
    if subnet.prefix_len() >= 31 {
        return None;
    }
    Some(Ipv4Addr::from(u32::from(subnet.network()) + 1))
}

/// The lowest address of `range` (default: the whole subnet) that is a host address of
/// `subnet` and not in `used`.
pub fn allocate(
    subnet: &Ipv4Net,
    range: Option<&Ipv4Net>,
    used: &BTreeSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let range = range.unwrap_or(subnet);
    let first = u32::from(range.network()).max(u32::from(subnet.network()) + 1);
    let last = u32::from(range.broadcast()).min(u32::from(subnet.broadcast()) - 1);
    (first..=last)
        .map(Ipv4Addr::from)
        .find(|a| !used.contains(a))
}

/// Whether `addr` may be given to a container on `subnet` (not the network or broadcast
/// address).
pub fn is_host_address(subnet: &Ipv4Net, addr: Ipv4Addr) -> bool {
    subnet.contains(&addr) && addr != subnet.network() && addr != subnet.broadcast()
}

/// Docker's MAC for an address before v25: `02:42` followed by the four address bytes. Being a
/// function of the address, a recreated container that gets the same address keeps the same
/// MAC, so peers' ARP caches stay right.
pub fn mac_for(addr: Ipv4Addr) -> [u8; 6] {
    let o = addr.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, p) in parts.iter().enumerate() {
        if p.len() != 2 {
            return None;
        }
        mac[i] = u8::from_str_radix(p, 16).ok()?;
    }
    // A multicast MAC (low bit of the first byte) cannot be an interface address.
    if mac[0] & 1 == 1 {
        return None;
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn the_first_default_subnet_is_172_17() {
        let s = choose_subnet(&AddressPool::docker_defaults(), &[], &[]).unwrap();
        assert_eq!(s, net("172.17.0.0/16"));
    }

    #[test]
    fn subnets_overlapping_routes_or_other_networks_are_skipped() {
        let taken = [
            net("172.17.0.0/16"),
            net("172.18.5.0/24"),
            net("172.16.0.0/12"),
        ];
        // 172.16/12 covers every 172.x pool: the next is 192.168.0.0/20.
        let s = choose_subnet(&AddressPool::docker_defaults(), &taken, &[]).unwrap();
        assert_eq!(s, net("192.168.0.0/20"));
        let s = choose_subnet(&AddressPool::docker_defaults(), &taken[..2], &[]).unwrap();
        assert_eq!(s, net("172.19.0.0/16"));
    }

    #[test]
    fn a_subnet_holding_a_host_nameserver_is_skipped() {
        let s = choose_subnet(
            &AddressPool::docker_defaults(),
            &[],
            &["172.17.0.53".parse().unwrap()],
        )
        .unwrap();
        assert_eq!(s, net("172.18.0.0/16"));
    }

    #[test]
    fn the_20_bit_pool_is_walked_in_order() {
        let pools = [AddressPool::new(net("192.168.0.0/16"), 20)];
        let taken = [net("192.168.0.0/20")];
        assert_eq!(
            choose_subnet(&pools, &taken, &[]),
            Some(net("192.168.16.0/20"))
        );
        let all: Vec<_> = pools[0].subnets().collect();
        assert_eq!(all.len(), 16);
        assert_eq!(choose_subnet(&pools, &[net("192.168.0.0/16")], &[]), None);
    }

    #[test]
    fn allocation_takes_the_lowest_free_host_address() {
        let subnet = net("172.18.0.0/16");
        let mut used = BTreeSet::new();
        used.insert(Ipv4Addr::new(172, 18, 0, 1));
        assert_eq!(
            allocate(&subnet, None, &used),
            Some(Ipv4Addr::new(172, 18, 0, 2))
        );
        used.insert(Ipv4Addr::new(172, 18, 0, 2));
        used.insert(Ipv4Addr::new(172, 18, 0, 4));
        assert_eq!(
            allocate(&subnet, None, &used),
            Some(Ipv4Addr::new(172, 18, 0, 3))
        );
    }

    #[test]
    fn allocation_honours_ip_range_and_never_gives_network_or_broadcast() {
        let subnet = net("10.5.0.0/24");
        let range = net("10.5.0.128/25");
        let used = BTreeSet::new();
        assert_eq!(
            allocate(&subnet, Some(&range), &used),
            Some(Ipv4Addr::new(10, 5, 0, 128))
        );
        let tiny = net("10.6.0.0/30");
        let mut used = BTreeSet::new();
        used.insert(Ipv4Addr::new(10, 6, 0, 1));
        assert_eq!(
            allocate(&tiny, None, &used),
            Some(Ipv4Addr::new(10, 6, 0, 2))
        );
        used.insert(Ipv4Addr::new(10, 6, 0, 2));
        assert_eq!(allocate(&tiny, None, &used), None);
    }

    #[test]
    fn pools_parse_from_the_environment_syntax() {
        assert_eq!(
            AddressPool::parse("10.200.0.0/16:24"),
            Some(AddressPool::new(net("10.200.0.0/16"), 24))
        );
        assert_eq!(
            AddressPool::parse("10.201.0.0/24"),
            Some(AddressPool::new(net("10.201.0.0/24"), 24))
        );
        assert_eq!(AddressPool::parse("10.200.0.0/16:8"), None);
        assert_eq!(AddressPool::parse("nonsense"), None);
    }

    #[test]
    fn macs_follow_the_address_and_parse_back() {
        let mac = mac_for(Ipv4Addr::new(172, 18, 0, 2));
        assert_eq!(format_mac(&mac), "02:42:ac:12:00:02");
        assert_eq!(parse_mac("02:42:ac:12:00:02"), Some(mac));
        assert_eq!(parse_mac("03:42:ac:12:00:02"), None);
        assert_eq!(parse_mac("02:42:ac:12:00"), None);
    }
}
