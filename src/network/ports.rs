//! Published ports: types, binding (with Docker's errors), and the userland proxy.
//!
//! Decision: a userland proxy only (as `docker-proxy`, one task per port in the network helper),
//! no DNAT. It answers on 127.0.0.1 (which DNAT cannot reach without `route_localnet`), on
//! the host's addresses, and from other containers through the host (their traffic to a host
//! address is local delivery, so it needs neither `ip_forward` nor an exception to the
//! isolation between networks); binding the socket is what detects "port is already
//! allocated" and picks a random port; and a container start costs no `nft` run. The price
//! is throughput and the client's source address (the container sees its gateway), as with
//! Docker's proxy for loopback; `scripts/bench-network` measures the proxy.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// Host ports to try: one, or a range (the first free one is taken, as Docker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    /// `8080` or `8080-8090` (the `published` field of Compose's long syntax).
    pub fn parse(s: &str) -> Option<PortRange> {
        let s = s.trim();
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let start: u16 = a.trim().parse().ok()?;
        let end: u16 = b.trim().parse().ok()?;
        (start <= end).then_some(PortRange { start, end })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One entry of a service's `ports:` (long syntax; the model expands target ranges into one
/// entry each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub target: u16,
    /// `None`: a random host port (from the kernel's ephemeral range, as Docker).
    pub published: Option<PortRange>,
    /// `None`: every address (0.0.0.0 and `[::]`), or the network's
    /// `com.docker.network.bridge.host_binding_ipv4`.
    pub host_ip: Option<IpAddr>,
    pub protocol: Protocol,
}

/// A published port as bound: what `rcompose port` and `ps` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortBinding {
    pub protocol: Protocol,
    pub target: u16,
    pub container_ip: Ipv4Addr,
    pub host_ip: IpAddr,
    pub host_port: u16,
}

impl fmt::Display for PortBinding {
    /// Docker's `0.0.0.0:8080->80/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match self.host_ip {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        write!(
            f,
            "{host}:{}->{}/{}",
            self.host_port, self.target, self.protocol
        )
    }
}

/// Why a port could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindError {
    InUse { host_ip: IpAddr, port: String },
    Other { message: String },
}

/// A bound socket, ready to be proxied.
pub enum BoundSocket {
    Tcp(std::net::TcpListener),
    Udp(std::net::UdpSocket),
}

fn new_socket(ip: IpAddr, protocol: Protocol) -> std::io::Result<Socket> {
    let domain = if ip.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = match protocol {
        Protocol::Tcp => {
            let s = Socket::new(domain, Type::STREAM, None)?;
            // As Go's net.Listen (docker-proxy): rebinding right after a close must work
            // despite TIME_WAIT; for TCP this never lets two listeners share a port.
            s.set_reuse_address(true)?;
            s
        }
        // Never SO_REUSEADDR for UDP: it would let two sockets share the port.
        Protocol::Udp => Socket::new(domain, Type::DGRAM, None)?,
    };
    if ip.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    Ok(s)
}

fn bind_one(ip: IpAddr, port: u16, protocol: Protocol) -> std::io::Result<(BoundSocket, u16)> {
    let s = new_socket(ip, protocol)?;
    s.bind(&SocketAddr::new(ip, port).into())?;
    let port = s
        .local_addr()?
        .as_socket()
        .map(|a| a.port())
        .unwrap_or(port);
    Ok(match protocol {
        Protocol::Tcp => {
            s.listen(1024)?;
            (BoundSocket::Tcp(s.into()), port)
        }
        Protocol::Udp => (BoundSocket::Udp(s.into()), port),
    })
}

fn is_in_use(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EADDRINUSE)
}

fn v6_unavailable(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EADDRNOTAVAIL) | Some(libc::EAFNOSUPPORT)
    )
}

/// Bind the host side of one port: on `host_ip`, or on 0.0.0.0 and `[::]` (same port, as
/// Docker; `[::]` is skipped if the host has no IPv6). A range takes its first free port; no
/// port takes a random one.
pub fn bind(
    spec: &PortSpec,
    container_ip: Ipv4Addr,
) -> Result<Vec<(PortBinding, BoundSocket)>, BindError> {
    let (primary, dual) = match spec.host_ip {
        Some(ip) => (ip, false),
        None => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), true),
    };
    let candidates: Vec<u16> = match spec.published {
        None => vec![0; 8],
        Some(r) => (r.start..=r.end).collect(),
    };
    let in_use = || BindError::InUse {
        host_ip: primary,
        port: spec
            .published
            .map(|r| r.to_string())
            .unwrap_or_else(|| "0".into()),
    };
    let mut last_err = None;
    for port in candidates {
        let (sock, port) = match bind_one(primary, port, spec.protocol) {
            Ok(x) => x,
            Err(e) if is_in_use(&e) => {
                last_err = Some(in_use());
                continue;
            }
            Err(e) => {
                return Err(BindError::Other {
                    message: format!("cannot bind {primary}:{port}/{}: {e}", spec.protocol),
                });
            }
        };
        let binding = |host_ip| PortBinding {
            protocol: spec.protocol,
            target: spec.target,
            container_ip,
            host_ip,
            host_port: port,
        };
        let mut out = vec![(binding(primary), sock)];
        if dual {
            let v6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
            match bind_one(v6, port, spec.protocol) {
                Ok((s6, _)) => out.push((binding(v6), s6)),
                Err(e) if v6_unavailable(&e) => {}
                Err(e) if is_in_use(&e) => {
                    last_err = Some(in_use());
                    continue;
                }
                Err(e) => {
                    return Err(BindError::Other {
                        message: format!("cannot bind [::]:{port}/{}: {e}", spec.protocol),
                    });
                }
            }
        }
        return Ok(out);
    }
    Err(last_err.unwrap_or_else(in_use))
}

/// Bind exactly `b` again (after a helper restart).
pub fn rebind(b: &PortBinding) -> std::io::Result<BoundSocket> {
    bind_one(b.host_ip, b.host_port, b.protocol).map(|(s, _)| s)
}

/// Per-direction copy buffer of the TCP proxy: 64 KiB (tokio's default is 8 KiB) cuts the
/// syscalls per byte; measured by `scripts/bench-network`.
const PROXY_BUFFER: usize = 64 * 1024;

/// How long a UDP flow without traffic is kept (docker-proxy's `UDPConnTrackTimeout`).
const UDP_FLOW_TIMEOUT: Duration = Duration::from_secs(90);

/// Proxy a bound socket to `target` until the task is aborted. Connections and flows live in
/// a `JoinSet` owned by the task, so aborting it closes every socket at once.
pub async fn proxy(sock: BoundSocket, target: SocketAddr) {
    match sock {
        BoundSocket::Tcp(l) => match TcpListener::from_std(l) {
            Ok(l) => tcp_proxy(l, target).await,
            Err(e) => tracing::warn!("proxy for {target}: {e}"),
        },
        BoundSocket::Udp(s) => match UdpSocket::from_std(s) {
            Ok(s) => udp_proxy(s, target).await,
            Err(e) => tracing::warn!("proxy for {target}: {e}"),
        },
    }
}

async fn tcp_proxy(listener: TcpListener, target: SocketAddr) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else { continue };
                conns.spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional_with_sizes(
                        &mut inbound,
                        &mut outbound,
                        PROXY_BUFFER,
                        PROXY_BUFFER,
                    )
                    .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

struct Flow {
    upstream: Arc<UdpSocket>,
    closed: Arc<AtomicBool>,
}

async fn udp_proxy(sock: UdpSocket, target: SocketAddr) {
    let sock = Arc::new(sock);
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let mut replies = JoinSet::new();
    let mut buf = vec![0u8; 65536];
    loop {
        tokio::select! {
            received = sock.recv_from(&mut buf) => {
                let Ok((n, client)) = received else { continue };
                flows.retain(|_, f| !f.closed.load(Ordering::Relaxed));
                if let std::collections::hash_map::Entry::Vacant(slot) = flows.entry(client) {
                    let bind: SocketAddr = (Ipv4Addr::UNSPECIFIED, 0).into();
                    let Ok(up) = UdpSocket::bind(bind).await else { continue };
                    if up.connect(target).await.is_err() {
                        continue;
                    }
                    let up = Arc::new(up);
                    let closed = Arc::new(AtomicBool::new(false));
                    let (up2, closed2, sock2) = (up.clone(), closed.clone(), sock.clone());
                    replies.spawn(async move {
                        let mut buf = vec![0u8; 65536];
                        while let Ok(Ok(n)) =
                            tokio::time::timeout(UDP_FLOW_TIMEOUT, up2.recv(&mut buf)).await
                        {
                            let _ = sock2.send_to(&buf[..n], client).await;
                        }
                        closed2.store(true, Ordering::Relaxed);
                    });
                    slot.insert(Flow { upstream: up, closed });
                }
                if let Some(f) = flows.get(&client) {
                    let _ = f.upstream.send(&buf[..n]).await;
                }
            }
            Some(_) = replies.join_next(), if !replies.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_ranges_parse() {
        assert_eq!(
            PortRange::parse("8080"),
            Some(PortRange {
                start: 8080,
                end: 8080
            })
        );
        assert_eq!(
            PortRange::parse("8000-8010"),
            Some(PortRange {
                start: 8000,
                end: 8010
            })
        );
        assert_eq!(PortRange::parse("8010-8000"), None);
        assert_eq!(PortRange::parse("x"), None);
        assert_eq!(PortRange::parse("70000"), None);
    }

    #[test]
    fn bindings_display_as_docker_does() {
        let b = PortBinding {
            protocol: Protocol::Udp,
            target: 53,
            container_ip: Ipv4Addr::new(172, 18, 0, 2),
            host_ip: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            host_port: 5353,
        };
        assert_eq!(b.to_string(), "[::]:5353->53/udp");
    }

    #[test]
    fn a_taken_port_is_reported_as_already_allocated() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let spec = PortSpec {
            target: 80,
            published: Some(PortRange {
                start: port,
                end: port,
            }),
            host_ip: Some("127.0.0.1".parse().unwrap()),
            protocol: Protocol::Tcp,
        };
        match bind(&spec, Ipv4Addr::LOCALHOST) {
            Err(BindError::InUse { host_ip, port: p }) => {
                assert_eq!(host_ip.to_string(), "127.0.0.1");
                assert_eq!(p, port.to_string());
            }
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => panic!("binding a taken port succeeded"),
        }
    }

    #[test]
    fn a_range_takes_its_first_free_port_and_no_port_takes_a_random_one() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let spec = PortSpec {
            target: 53,
            published: Some(PortRange {
                start: port,
                end: port.saturating_add(20),
            }),
            host_ip: Some(ip),
            protocol: Protocol::Udp,
        };
        let bound = bind(&spec, Ipv4Addr::LOCALHOST).unwrap();
        assert_eq!(bound.len(), 1);
        assert!(bound[0].0.host_port > port);
        let random = PortSpec {
            published: None,
            ..spec
        };
        let bound = bind(&random, Ipv4Addr::LOCALHOST).unwrap();
        assert_ne!(bound[0].0.host_port, 0);
    }
}
