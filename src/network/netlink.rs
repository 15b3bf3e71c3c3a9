//! A small synchronous rtnetlink client: exactly the link, address and route operations the
//! bridge driver needs, one request and one ACK each, no forking of `ip`.
//!
//! Messages come from `netlink-packet-route` (already pulled in by libcontainer); the socket
//! is `netlink-sys`. A socket stays bound to the network namespace it was created in, so a
//! client for a container's namespace is opened by a thread while it has entered that namespace
//! ([`super::netns::netlink_in`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// A failed netlink request: what was asked, and the kernel's answer.
#[derive(Debug, thiserror::Error)]
#[error("netlink: cannot {op}")]
pub struct NetlinkError {
    pub op: String,
    #[source]
    pub source: io::Error,
}

impl NetlinkError {
    /// The errno the kernel answered with, if any.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

type Result<T> = std::result::Result<T, NetlinkError>;

fn err(op: impl Into<String>, source: io::Error) -> NetlinkError {
    NetlinkError {
        op: op.into(),
        source,
    }
}

/// One rtnetlink socket, bound to the namespace it was opened in.
pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// A link as the kernel reports it (only what we use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub master: Option<u32>,
    pub kind: Option<String>,
    pub up: bool,
}

/// An IPv4 route of the main table (only what we use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route4 {
    pub dst: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
}

/// The container end of a veth pair, created directly inside the sandbox namespace.
pub struct VethPeer<'a> {
    pub name: &'a str,
    pub netns: BorrowedFd<'a>,
    pub mac: Option<[u8; 6]>,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| err("open a socket", e))?;
        socket.bind_auto().map_err(|e| err("bind the socket", e))?;
        // Ask for extended ACKs so EINVAL and friends come with the kernel's reason in dmesg
        // terms; harmless if unsupported.
        let _ = socket.set_ext_ack(true);
        Ok(Self {
            socket,
            seq: 0,
            buf: vec![0; 64 * 1024],
        })
    }

    fn request(&mut self, op: &str, msg: RouteNetlinkMessage, flags: u16) -> Result<()> {
        self.send(op, msg, flags | NLM_F_REQUEST | NLM_F_ACK)?;
        loop {
            let (n, _) = self.recv(op)?;
            let mut offset = 0;
            while offset < n {
                let packet =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[offset..n])
                        .map_err(|e| err(op, io::Error::other(e.to_string())))?;
                let len = packet.header.length as usize;
                if packet.header.sequence_number == self.seq
                    && let NetlinkPayload::Error(e) = packet.payload
                {
                    return match e.code {
                        None => Ok(()),
                        Some(code) => Err(err(op, io::Error::from_raw_os_error(-code.get()))),
                    };
                }
                if len == 0 {
                    break;
                }
                offset += len;
            }
        }
    }

    fn dump(&mut self, op: &str, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>> {
        self.send(op, msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        let mut out = Vec::new();
        loop {
            let (n, _) = self.recv(op)?;
            let mut offset = 0;
            while offset < n {
                let packet =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[offset..n])
                        .map_err(|e| err(op, io::Error::other(e.to_string())))?;
                let len = packet.header.length as usize;
                if packet.header.sequence_number == self.seq {
                    match packet.payload {
                        NetlinkPayload::Done(_) => return Ok(out),
                        NetlinkPayload::Error(e) => {
                            if let Some(code) = e.code {
                                return Err(err(op, io::Error::from_raw_os_error(-code.get())));
                            }
                        }
                        NetlinkPayload::InnerMessage(m) => out.push(m),
                        _ => {}
                    }
                }
                if len == 0 {
                    break;
                }
                offset += len;
            }
        }
    }

    fn send(&mut self, op: &str, msg: RouteNetlinkMessage, flags: u16) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let mut packet = NetlinkMessage::from(msg);
        packet.header.flags = flags;
        packet.header.sequence_number = self.seq;
        packet.finalize();
        let mut out = vec![0; packet.header.length as usize];
        packet.serialize(&mut out);
        let kernel = SocketAddr::new(0, 0);
        self.socket
            .send_to(&out, &kernel, 0)
            .map_err(|e| err(op, e))?;
        Ok(())
    }

    fn recv(&mut self, op: &str) -> Result<(usize, SocketAddr)> {
        loop {
            match self.socket.recv_from(&mut &mut self.buf[..], 0) {
                Ok(r) => return Ok(r),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err(op, e)),
            }
        }
    }

    // ---- links ----

    /// All links of this namespace.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let msgs = self.dump(
            "list links",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(&l)),
                _ => None,
            })
            .collect())
    }

    /// The link called `name`, if it exists.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let op = format!("look up link `{name}`");
        self.send(&op, RouteNetlinkMessage::GetLink(msg), NLM_F_REQUEST)?;
        loop {
            let (n, _) = self.recv(&op)?;
            let packet = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&self.buf[..n])
                .map_err(|e| err(&op, io::Error::other(e.to_string())))?;
            if packet.header.sequence_number != self.seq {
                continue;
            }
            return match packet.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                    Ok(Some(link_from(&l)))
                }
                NetlinkPayload::Error(e) => match e.code {
                    Some(code) if -code.get() == libc::ENODEV => Ok(None),
                    Some(code) => Err(err(&op, io::Error::from_raw_os_error(-code.get()))),
                    None => Ok(None),
                },
                _ => Ok(None),
            };
        }
    }

    /// Create a bridge, up, with the given MTU.
    pub fn add_bridge(&mut self, name: &str, mtu: Option<u32>) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.request(
            &format!("create bridge `{name}`"),
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Create a veth pair: `host` in this namespace (enslaved to `master`, up) and its peer
    /// directly inside another namespace (down), in one request. Saves the move-and-rename
    /// round trips of the usual create-then-`ip link set netns`.
    pub fn add_veth(
        &mut self,
        host: &str,
        master: u32,
        mtu: u32,
        peer: &VethPeer<'_>,
    ) -> Result<()> {
        // The peer cannot be created up: veth_open() fails with ENOTCONN until both ends are
        // registered. The caller sets it up from inside the namespace.
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.name.to_string()));
        peer_msg
            .attributes
            .push(LinkAttribute::NetNsFd(peer.netns.as_raw_fd()));
        peer_msg.attributes.push(LinkAttribute::Mtu(mtu));
        if let Some(mac) = peer.mac {
            peer_msg
                .attributes
                .push(LinkAttribute::Address(mac.to_vec()));
        }

        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfName(host.to_string()));
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        msg.attributes.push(LinkAttribute::Controller(master));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            &format!("create veth pair `{host}`/`{}`", peer.name),
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Set a link up.
    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(
            &format!("set link {index} up"),
            RouteNetlinkMessage::SetLink(msg),
            0,
        )
    }

    /// Delete a link by name. A missing link is not an error (deletion is idempotent).
    pub fn del_link(&mut self, name: &str) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(
            &format!("delete link `{name}`"),
            RouteNetlinkMessage::DelLink(msg),
            0,
        ) {
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
            r => r,
        }
    }

    // ---- addresses ----

    /// Add an IPv4 address to a link.
    pub fn add_addr4(&mut self, index: u32, addr: Ipv4Addr, prefix_len: u8) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix_len;
        msg.header.index = index;
        msg.attributes
            .push(AddressAttribute::Local(IpAddr::V4(addr)));
        msg.attributes
            .push(AddressAttribute::Address(IpAddr::V4(addr)));
        let bcast = broadcast(addr, prefix_len);
        msg.attributes.push(AddressAttribute::Broadcast(bcast));
        self.request(
            &format!("add address {addr}/{prefix_len} to link {index}"),
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    // ---- routes ----

    /// Add the IPv4 default route via `gateway`.
    pub fn add_default_route4(&mut self, gateway: Ipv4Addr, oif: u32) -> Result<()> {
        let msg = default_route_msg(gateway, oif);
        self.request(
            &format!("add default route via {gateway}"),
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Delete the IPv4 default route (missing is fine).
    pub fn del_default_route4(&mut self) -> Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.scope = RouteScope::NoWhere;
        match self.request(
            "delete the default route",
            RouteNetlinkMessage::DelRoute(msg),
            0,
        ) {
            Err(e) if e.errno() == Some(libc::ESRCH) => Ok(()),
            r => r,
        }
    }

    /// The IPv4 routes of the main table.
    pub fn routes4(&mut self) -> Result<Vec<Route4>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        let msgs = self.dump("list routes", RouteNetlinkMessage::GetRoute(msg))?;
        let mut out = Vec::new();
        for m in msgs {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                continue;
            };
            if r.header.address_family != AddressFamily::Inet {
                continue;
            }
            let mut table = u32::from(r.header.table);
            let mut route = Route4 {
                dst: Ipv4Addr::UNSPECIFIED,
                prefix_len: r.header.destination_prefix_length,
                gateway: None,
                oif: None,
            };
            for a in &r.attributes {
                match a {
                    RouteAttribute::Destination(RouteAddress::Inet(d)) => route.dst = *d,
                    RouteAttribute::Gateway(RouteAddress::Inet(g)) => route.gateway = Some(*g),
                    RouteAttribute::Oif(i) => route.oif = Some(*i),
                    RouteAttribute::Table(t) => table = *t,
                    _ => {}
                }
            }
            if table == u32::from(RouteHeader::RT_TABLE_MAIN) {
                out.push(route);
            }
        }
        Ok(out)
    }
}

fn default_route_msg(gateway: Ipv4Addr, oif: u32) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = AddressFamily::Inet;
    msg.header.destination_prefix_length = 0;
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.protocol = RouteProtocol::Boot;
    msg.header.scope = RouteScope::Universe;
    msg.header.kind = RouteType::Unicast;
    msg.attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    msg.attributes.push(RouteAttribute::Oif(oif));
    msg
}

fn link_from(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        master: None,
        kind: None,
        up: l.header.flags.contains(LinkFlags::Up),
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Controller(m) => link.master = Some(*m),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        link.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn broadcast(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    let host_mask = if prefix_len >= 32 {
        0
    } else {
        u32::MAX >> prefix_len
    };
    Ipv4Addr::from(u32::from(addr) | host_mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_of_a_slash_16_sets_the_host_bits() {
        assert_eq!(
            broadcast(Ipv4Addr::new(172, 18, 0, 1), 16),
            Ipv4Addr::new(172, 18, 255, 255)
        );
        assert_eq!(
            broadcast(Ipv4Addr::new(10, 0, 0, 1), 32),
            Ipv4Addr::new(10, 0, 0, 1)
        );
    }
}
