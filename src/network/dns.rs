//! Service discovery, as Docker's embedded DNS server at 127.0.0.11: the decision part, pure.
//!
//! A [`DnsView`] is built from the networks' and sandboxes' state files; [`DnsView::answer`]
//! turns one query from one container into either a reply or "forward upstream". The helper
//! process (`helper.rs`) owns the sockets.
//!
//! What resolves, for a container (as libnetwork's `Sandbox.ResolveName`):
//! - on every network the container is attached to, each endpoint's names: container name,
//!   short id, hostname and aliases (the engine passes the service name as an alias), all
//!   replicas of a name, rotated on every answer (round robin, Docker shuffles);
//! - `<name>.<network>` looks only at that network;
//! - `links:` aliases of the asking container, resolved as their target;
//! - PTR for those addresses gives `<container name>.<network>`;
//! - AAAA for a known name: an empty answer (NOERROR), as Docker for IPv4-only endpoints;
//! - anything else is forwarded to the upstream resolvers, unless every network of the
//!   container is `internal` (Docker does not forward for internal networks either): SERVFAIL.
//!
//! Parsing and building messages uses `hickory-proto` (the protocol crate of Hickory DNS,
//! well kept, no runtime dependency): hand-rolled parsers are where DNS servers get their
//! bugs (compression loops, label lengths), and we only need its message types.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::state::{Endpoint, Network};

/// Docker's TTL for embedded DNS answers.
pub const TTL: u32 = 600;

#[derive(Debug, Clone)]
struct EndpointView {
    container_name: String,
    names: Vec<String>,
    ip: Ipv4Addr,
}

#[derive(Debug, Clone, Default)]
struct NetworkView {
    internal: bool,
    endpoints: Vec<EndpointView>,
}

#[derive(Debug, Clone, Default)]
struct SandboxView {
    networks: Vec<String>,
    links: BTreeMap<String, String>,
    upstream: Vec<SocketAddr>,
}

/// Everything the DNS server knows, rebuilt from disk on every change.
#[derive(Debug, Default)]
pub struct DnsView {
    networks: HashMap<String, NetworkView>,
    sandboxes: HashMap<String, SandboxView>,
    rotation: AtomicUsize,
}

/// What to do with a query.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Send these bytes back.
    Answer(Vec<u8>),
    /// Ask these resolvers, in order, and relay the first answer; SERVFAIL if none answers.
    Forward(Vec<SocketAddr>),
    /// Not a query we can answer at all (unparseable): drop it, as Docker does.
    Drop,
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsView {
    /// `host_upstream`: the host's resolvers, for containers without `dns:`.
    pub fn build(networks: &[Network], host_upstream: &[SocketAddr]) -> Self {
        let mut view = DnsView::default();
        // A container's networks, in connection order, from its endpoints.
        let mut per_container: HashMap<&str, Vec<(u128, &str, &Endpoint)>> = HashMap::new();
        for n in networks {
            let endpoints = n
                .endpoints
                .values()
                .map(|e| EndpointView {
                    container_name: e.container_name.clone(),
                    names: e.dns_names.iter().map(|s| normalise(s)).collect(),
                    ip: e.ipv4,
                })
                .collect();
            view.networks.insert(
                n.name.clone(),
                NetworkView {
                    internal: n.internal,
                    endpoints,
                },
            );
            for e in n.endpoints.values() {
                per_container
                    .entry(&e.container_id)
                    .or_default()
                    .push((e.order, &n.name, e));
            }
        }
        for (id, mut eps) in per_container {
            eps.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
            let first = eps[0].2;
            let upstream = if first.dns_servers.is_empty() {
                host_upstream.to_vec()
            } else {
                first.dns_servers.clone()
            };
            view.sandboxes.insert(
                id.to_string(),
                SandboxView {
                    networks: eps.iter().map(|(_, n, _)| n.to_string()).collect(),
                    links: first
                        .links
                        .iter()
                        .map(|(k, v)| (normalise(k), normalise(v)))
                        .collect(),
                    upstream,
                },
            );
        }
        view
    }

    /// The containers that have at least one endpoint (they get a DNS socket).
    pub fn containers(&self) -> impl Iterator<Item = &str> {
        self.sandboxes.keys().map(String::as_str)
    }

    /// The addresses `name` has for the container `sandbox`, or `None` if the name is not
    /// ours (then it is forwarded).
    pub fn lookup(&self, sandbox: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let sb = self.sandboxes.get(sandbox)?;
        let mut name = normalise(name);
        if let Some(target) = sb.links.get(&name) {
            name = target.clone();
        }
        let found = self.lookup_on(sb, &name, None);
        if !found.is_empty() {
            return Some(found);
        }
        // `<name>.<network>`: only that network.
        if let Some((short, net)) = name.rsplit_once('.')
            && sb.networks.iter().any(|n| n.eq_ignore_ascii_case(net))
        {
            let net = sb
                .networks
                .iter()
                .find(|n| n.eq_ignore_ascii_case(net))
                .cloned();
            let short = sb.links.get(short).cloned().unwrap_or(short.to_string());
            let found = self.lookup_on(sb, &short, net.as_deref());
            if !found.is_empty() {
                return Some(found);
            }
        }
        None
    }

    fn lookup_on(&self, sb: &SandboxView, name: &str, only: Option<&str>) -> Vec<Ipv4Addr> {
        let mut out = Vec::new();
        for net in &sb.networks {
            if only.is_some_and(|o| o != net) {
                continue;
            }
            let Some(view) = self.networks.get(net) else {
                continue;
            };
            for e in &view.endpoints {
                if e.names.iter().any(|n| n == name) && !out.contains(&e.ip) {
                    out.push(e.ip);
                }
            }
        }
        out
    }

    /// `<container name>.<network>` for an address on one of the container's networks.
    pub fn reverse(&self, sandbox: &str, ip: Ipv4Addr) -> Option<String> {
        let sb = self.sandboxes.get(sandbox)?;
        for net in &sb.networks {
            let Some(view) = self.networks.get(net) else {
                continue;
            };
            if let Some(e) = view.endpoints.iter().find(|e| e.ip == ip) {
                return Some(format!("{}.{}", e.container_name, net));
            }
        }
        None
    }

    /// Where to forward names we do not know; empty when every network is internal.
    pub fn upstream(&self, sandbox: &str) -> Vec<SocketAddr> {
        let Some(sb) = self.sandboxes.get(sandbox) else {
            return Vec::new();
        };
        let external = sb
            .networks
            .iter()
            .any(|n| self.networks.get(n).is_some_and(|v| !v.internal));
        if external {
            sb.upstream.clone()
        } else {
            Vec::new()
        }
    }

    /// Answer one DNS message from `sandbox`. `max_len`: the size limit of the transport (512
    /// or the EDNS payload for UDP, 65535 for TCP).
    pub fn answer(&self, sandbox: &str, packet: &[u8], udp: bool) -> Reply {
        let Ok(query) = Message::from_vec(packet) else {
            return Reply::Drop;
        };
        if query.metadata.message_type != MessageType::Query {
            return Reply::Drop;
        }
        let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
        resp.metadata.recursion_desired = query.metadata.recursion_desired;
        resp.metadata.recursion_available = true;
        resp.add_queries(query.queries.iter().cloned());
        if let Some(edns) = &query.edns {
            let mut e = Edns::new();
            e.set_max_payload(edns.max_payload().max(512));
            resp.set_edns(e);
        }
        if query.metadata.op_code != OpCode::Query || query.queries.len() != 1 {
            resp.metadata.response_code = ResponseCode::NotImp;
            return encode(resp, query.edns.as_ref(), udp);
        }
        let q = &query.queries[0];
        if q.query_class() != DNSClass::IN {
            return self.forward_or_fail(sandbox, resp, query.edns.as_ref(), udp);
        }
        let qname = q.name().to_ascii();
        match q.query_type() {
            RecordType::A | RecordType::AAAA => match self.lookup(sandbox, &qname) {
                Some(mut ips) => {
                    resp.metadata.authoritative = true;
                    if q.query_type() == RecordType::A {
                        let n = self.rotation.fetch_add(1, Ordering::Relaxed);
                        let len = ips.len();
                        ips.rotate_left(n % len);
                        for ip in ips {
                            resp.add_answer(Record::from_rdata(
                                q.name().clone(),
                                TTL,
                                RData::A(A(ip)),
                            ));
                        }
                    }
                    encode(resp, query.edns.as_ref(), udp)
                }
                None => self.forward_or_fail(sandbox, resp, query.edns.as_ref(), udp),
            },
            RecordType::PTR => {
                let ip = q.name().parse_arpa_name().ok().and_then(|net| match net {
                    ipnet::IpNet::V4(n) if n.prefix_len() == 32 => Some(n.addr()),
                    _ => None,
                });
                match ip.and_then(|ip| self.reverse(sandbox, ip)) {
                    Some(target) => match Name::from_ascii(format!("{target}.")) {
                        Ok(target) => {
                            resp.metadata.authoritative = true;
                            resp.add_answer(Record::from_rdata(
                                q.name().clone(),
                                TTL,
                                RData::PTR(PTR(target)),
                            ));
                            encode(resp, query.edns.as_ref(), udp)
                        }
                        Err(_) => self.forward_or_fail(sandbox, resp, query.edns.as_ref(), udp),
                    },
                    None => self.forward_or_fail(sandbox, resp, query.edns.as_ref(), udp),
                }
            }
            _ => self.forward_or_fail(sandbox, resp, query.edns.as_ref(), udp),
        }
    }

    fn forward_or_fail(
        &self,
        sandbox: &str,
        mut resp: Message,
        edns: Option<&Edns>,
        udp: bool,
    ) -> Reply {
        let upstream = self.upstream(sandbox);
        if upstream.is_empty() {
            resp.metadata.response_code = ResponseCode::ServFail;
            return encode(resp, edns, udp);
        }
        Reply::Forward(upstream)
    }
}

fn encode(resp: Message, edns: Option<&Edns>, udp: bool) -> Reply {
    let limit = if udp {
        edns.map(|e| usize::from(e.max_payload().max(512)))
            .unwrap_or(512)
    } else {
        usize::from(u16::MAX)
    };
    match resp.to_vec() {
        Ok(bytes) if bytes.len() <= limit => Reply::Answer(bytes),
        Ok(_) => match resp.truncate().to_vec() {
            Ok(bytes) => Reply::Answer(bytes),
            Err(_) => Reply::Drop,
        },
        Err(_) => Reply::Drop,
    }
}

/// A SERVFAIL for `packet` (when no upstream answered).
pub fn servfail(packet: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(packet).ok()?;
    let mut resp = Message::error_msg(
        query.metadata.id,
        query.metadata.op_code,
        ResponseCode::ServFail,
    );
    resp.metadata.recursion_desired = query.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    resp.add_queries(query.queries.iter().cloned());
    resp.to_vec().ok()
}

/// The id of a DNS message (first two bytes).
pub fn message_id(packet: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*packet.first()?, *packet.get(1)?]))
}

/// Nameservers of a resolv.conf, as socket addresses on port 53. The helper forwards from the
/// host's namespace, so loopback resolvers (systemd-resolved's 127.0.0.53) work too, as with
/// Docker >= 26 which forwards to them "from the host's network namespace".
pub fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next()? == "nameserver").then_some(())?;
            let addr = it.next()?;
            // Drop an IPv6 zone (`fe80::1%eth0`): std cannot parse it.
            let addr = addr.split('%').next()?;
            addr.parse::<std::net::IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, 53))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    fn endpoint(id: &str, name: &str, ip: [u8; 4], aliases: &[&str]) -> Endpoint {
        let mut dns_names = vec![name.to_string(), id[..12.min(id.len())].to_string()];
        dns_names.extend(aliases.iter().map(|s| s.to_string()));
        Endpoint {
            container_id: id.into(),
            container_name: name.into(),
            interface: "eth0".into(),
            host_veth: format!("veth{id}"),
            ipv4: Ipv4Addr::from(ip),
            mac: String::new(),
            dns_names,
            gw_priority: 0,
            order: u128::from(ip[2]),
            hostname: None,
            links: BTreeMap::new(),
            dns_servers: Vec::new(),
        }
    }

    fn network(name: &str, internal: bool, eps: Vec<Endpoint>) -> Network {
        let mut n: Network = serde_json::from_value(serde_json::json!({
            "name": name, "id": "0".repeat(64), "created": "", "driver": "bridge",
            "bridge": "br-x", "subnet": "172.30.0.0/16", "gateway": "172.30.0.1",
            "ipam_configured": false, "internal": internal, "attachable": false,
            "enable_ipv6": false, "mtu": 1500, "masquerade": true
        }))
        .unwrap();
        for e in eps {
            n.endpoints.insert(e.container_id.clone(), e);
        }
        n
    }

    fn linked(mut e: Endpoint, links: &[(&str, &str)]) -> Endpoint {
        e.links = links
            .iter()
            .map(|(a, t)| (a.to_string(), t.to_string()))
            .collect();
        e
    }

    fn upstream() -> Vec<SocketAddr> {
        vec!["192.0.2.53:53".parse().unwrap()]
    }

    /// web-1, web-2 (service `web`) and db-1 on `front`; db-1 and cache-1 on `back`; web-1
    /// links `sql` to `db`.
    fn view() -> DnsView {
        let front = network(
            "p_front",
            false,
            vec![
                linked(
                    endpoint("aaaaaaaaaaaa01", "p-web-1", [172, 30, 0, 2], &["web"]),
                    &[("sql", "db")],
                ),
                endpoint("aaaaaaaaaaaa02", "p-web-2", [172, 30, 0, 3], &["web"]),
                endpoint(
                    "bbbbbbbbbbbb01",
                    "p-db-1",
                    [172, 30, 0, 4],
                    &["db", "database"],
                ),
            ],
        );
        let back = network(
            "p_back",
            true,
            vec![
                endpoint("bbbbbbbbbbbb01", "p-db-1", [172, 31, 1, 2], &["db"]),
                endpoint("cccccccccccc01", "p-cache-1", [172, 31, 1, 3], &["cache"]),
            ],
        );
        DnsView::build(&[front, back], &upstream())
    }

    #[test]
    fn service_names_resolve_to_every_replica_on_shared_networks() {
        let v = view();
        let mut ips = v.lookup("bbbbbbbbbbbb01", "web").unwrap();
        ips.sort();
        assert_eq!(
            ips,
            vec![Ipv4Addr::new(172, 30, 0, 2), Ipv4Addr::new(172, 30, 0, 3)]
        );
        assert_eq!(
            v.lookup("aaaaaaaaaaaa01", "P-DB-1."),
            Some(vec![Ipv4Addr::new(172, 30, 0, 4)])
        );
        assert_eq!(
            v.lookup("aaaaaaaaaaaa01", "database"),
            Some(vec![Ipv4Addr::new(172, 30, 0, 4)])
        );
        assert_eq!(
            v.lookup("aaaaaaaaaaaa01", "bbbbbbbbbbbb"),
            Some(vec![Ipv4Addr::new(172, 30, 0, 4)])
        );
    }

    #[test]
    fn names_on_networks_the_container_is_not_on_do_not_resolve() {
        let v = view();
        assert_eq!(v.lookup("aaaaaaaaaaaa01", "cache"), None);
        assert_eq!(v.lookup("cccccccccccc01", "web"), None);
        // db is on both networks: from `back` only its `back` address.
        assert_eq!(
            v.lookup("cccccccccccc01", "db"),
            Some(vec![Ipv4Addr::new(172, 31, 1, 2)])
        );
    }

    #[test]
    fn name_dot_network_looks_only_at_that_network() {
        let v = view();
        assert_eq!(
            v.lookup("bbbbbbbbbbbb01", "cache.p_back"),
            Some(vec![Ipv4Addr::new(172, 31, 1, 3)])
        );
        assert_eq!(
            v.lookup("bbbbbbbbbbbb01", "db.p_back"),
            Some(vec![Ipv4Addr::new(172, 31, 1, 2)])
        );
        assert_eq!(v.lookup("bbbbbbbbbbbb01", "cache.p_front"), None);
    }

    #[test]
    fn links_are_aliases_of_the_linking_container_only() {
        let v = view();
        assert_eq!(
            v.lookup("aaaaaaaaaaaa01", "sql"),
            Some(vec![Ipv4Addr::new(172, 30, 0, 4)])
        );
        assert_eq!(v.lookup("bbbbbbbbbbbb01", "sql"), None);
    }

    #[test]
    fn reverse_lookup_names_the_container_and_network() {
        let v = view();
        assert_eq!(
            v.reverse("aaaaaaaaaaaa01", Ipv4Addr::new(172, 30, 0, 3)),
            Some("p-web-2.p_front".into())
        );
        assert_eq!(
            v.reverse("aaaaaaaaaaaa01", Ipv4Addr::new(172, 31, 1, 3)),
            None
        );
    }

    #[test]
    fn only_containers_with_a_non_internal_network_forward() {
        let v = view();
        assert_eq!(v.upstream("aaaaaaaaaaaa01"), upstream());
        assert_eq!(v.upstream("cccccccccccc01"), Vec::<SocketAddr>::new());
        assert_eq!(v.upstream("unknown"), Vec::<SocketAddr>::new());
    }

    fn query(name: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 4242;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        m.to_vec().unwrap()
    }

    fn parse(r: Reply) -> Message {
        match r {
            Reply::Answer(b) => Message::from_vec(&b).unwrap(),
            other => panic!("expected an answer, got {other:?}"),
        }
    }

    #[test]
    fn a_queries_rotate_through_the_replicas() {
        let v = view();
        let first = |m: Message| match &m.answers[0].data {
            RData::A(a) => a.0,
            _ => panic!(),
        };
        let a = parse(v.answer("bbbbbbbbbbbb01", &query("web.", RecordType::A), true));
        assert_eq!(a.metadata.id, 4242);
        assert_eq!(a.answers.len(), 2);
        assert_eq!(a.metadata.response_code, ResponseCode::NoError);
        let b = parse(v.answer("bbbbbbbbbbbb01", &query("web.", RecordType::A), true));
        assert_ne!(first(a), first(b));
    }

    #[test]
    fn aaaa_for_a_known_name_is_empty_and_unknown_names_are_forwarded() {
        let v = view();
        let m = parse(v.answer("aaaaaaaaaaaa01", &query("web.", RecordType::AAAA), true));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty());
        assert_eq!(
            v.answer(
                "aaaaaaaaaaaa01",
                &query("example.org.", RecordType::A),
                true
            ),
            Reply::Forward(upstream())
        );
        let m = parse(v.answer(
            "cccccccccccc01",
            &query("example.org.", RecordType::A),
            true,
        ));
        assert_eq!(m.metadata.response_code, ResponseCode::ServFail);
    }

    #[test]
    fn ptr_queries_answer_for_known_addresses() {
        let v = view();
        let m = parse(v.answer(
            "aaaaaaaaaaaa01",
            &query("4.0.30.172.in-addr.arpa.", RecordType::PTR),
            true,
        ));
        match &m.answers[0].data {
            RData::PTR(p) => assert_eq!(p.0.to_ascii(), "p-db-1.p_front."),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_dropped() {
        assert_eq!(
            view().answer("aaaaaaaaaaaa01", &[1, 2, 3], true),
            Reply::Drop
        );
    }

    #[test]
    fn resolv_conf_nameservers_are_parsed() {
        let conf = "# c\nsearch example.com\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver bad\noptions ndots:2\n";
        assert_eq!(
            nameservers(conf),
            vec![
                "10.0.0.1:53".parse::<SocketAddr>().unwrap(),
                "[fe80::1]:53".parse().unwrap()
            ]
        );
    }
}
