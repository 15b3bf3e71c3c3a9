//! Networks: Linux bridges with IPAM, container sandboxes (network namespaces joined by path),
//! outbound NAT in rcompose's own nftables table, published ports and the embedded DNS.
//!
//! The engine's view (see [`Networks`]):
//! 1. `ensure`/`create` each network of the project (`external` ones: [`Networks::external`],
//!    never created or removed by a project);
//! 2. per container: [`Networks::create_sandbox`] → a namespace path for the OCI spec
//!    (`linux.namespaces[{type: network, path}]`; the runtime joins it and must not create
//!    its own), [`Networks::connect`] to each network (service name in the aliases),
//!    [`Networks::publish`] its ports (when it starts; [`Networks::unpublish`] when it stops),
//!    and render `resolv.conf` / `hosts` ([`Networks::resolv_conf`], [`Networks::hosts`],
//!    [`files::write_file`]) into the container's directory for the runtime to bind-mount
//!    over `/etc/resolv.conf` and `/etc/hosts`;
//! 3. teardown: [`Networks::destroy_sandbox`] (the kernel removes the veths with the
//!    namespace), then [`Networks::remove`] the project's networks.
//!
//! `network_mode`: `host` = no sandbox (the runtime keeps the host's namespace; files from
//! [`ResolverMode::Host`] and `hosts(.., true)`); `none` = `create_sandbox` without `connect`
//! (only `lo`; [`ResolverMode::Isolated`]); `service:x` / `container:x` = x's sandbox path
//! ([`Networks::sandbox`]) and x's files.
//!
//! Processes: everything here runs in the caller except the network helper
//! ([`helper`]: embedded DNS and port proxies), which one `connect` or `publish` starts and
//! which exits when nothing is left to serve. State: `<root>/networks/<name>.json` (the
//! network and its endpoints), `<run>/netns/<container id>` (sandboxes),
//! `<run>/ports/<container id>.json` (published ports), `<run>/netd.{sock,pid,log}`.

pub mod dns;
pub mod error;
pub mod files;
pub mod helper;
pub mod ipam;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod ports;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::PathBuf;

use ipnet::Ipv4Net;

pub use error::NetworkError;
pub use files::{DnsConfig, HostsConfig, ResolverMode};
pub use ipam::AddressPool;
pub use ports::{PortBinding, PortRange, PortSpec, Protocol};
pub use state::{Endpoint, Network};

use crate::paths::Paths;
use netlink::{Netlink, VethPeer};

pub type Result<T> = std::result::Result<T, NetworkError>;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// An nftables update in flight (see [`nft::Pending`]).
struct NftJob {
    pending: nft::Pending,
    restore_forward: bool,
}

/// Docker's driver options we act on.
pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";
pub const OPT_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub const OPT_HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";

/// Host-level settings of the network layer.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Where subnets come from when `ipam.config` gives none (`RCOMPOSE_ADDRESS_POOLS`, e.g.
    /// `10.10.0.0/16:24,10.11.0.0/16`).
    pub pools: Vec<AddressPool>,
    /// rcompose's nftables table (`ip` family) (`RCOMPOSE_NFT_TABLE`, default `rcompose`).
    pub nft_table: String,
    /// The `rcompose` binary, to start the network helper (`__netd`).
    pub helper_exe: PathBuf,
    /// Turn `net.ipv4.ip_forward` on when a NAT network exists, as Docker does (and back off
    /// when the last network goes, if rcompose was the one to turn it on).
    /// `RCOMPOSE_IP_FORWARD=0` leaves the sysctl alone.
    pub manage_ip_forward: bool,
    pub host_resolv_conf: PathBuf,
    pub host_hosts: PathBuf,
    pub default_mtu: u32,
}

impl NetConfig {
    pub fn from_env() -> Self {
        let pools = std::env::var("RCOMPOSE_ADDRESS_POOLS")
            .ok()
            .and_then(|s| {
                s.split(',')
                    .map(|p| AddressPool::parse(p.trim()))
                    .collect::<Option<Vec<_>>>()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(AddressPool::docker_defaults);
        let nft_table = std::env::var("RCOMPOSE_NFT_TABLE")
            .ok()
            .filter(|t| nft::valid_table_name(t))
            .unwrap_or_else(|| "rcompose".into());
        let manage_ip_forward = std::env::var("RCOMPOSE_IP_FORWARD").map_or(true, |v| v != "0");
        Self {
            pools,
            nft_table,
            helper_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("rcompose")),
            manage_ip_forward,
            host_resolv_conf: PathBuf::from("/etc/resolv.conf"),
            host_hosts: PathBuf::from("/etc/hosts"),
            default_mtu: 1500,
        }
    }
}

/// A Compose network definition, as the engine derives it from `networks.<n>` (with the
/// project-prefixed name and Compose's labels already applied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    /// `None` or `bridge`.
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub ipam: IpamSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamSpec {
    pub driver: Option<String>,
    pub config: Vec<IpamPoolSpec>,
    pub options: BTreeMap<String, String>,
}

/// One `ipam.config` entry, as written by the user (parsed here, with errors naming it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamPoolSpec {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: BTreeMap<String, String>,
}

/// A container's network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub container_id: String,
    /// Bind-mounted namespace: give it to the runtime as the network namespace path.
    pub path: PathBuf,
    /// What DNS needs about the container; `connect` records it on each endpoint.
    pub options: SandboxOptions,
}

/// Container-wide facts the DNS needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxOptions {
    /// Compose's container name (`<project>-<service>-<n>`): resolvable, and the PTR answer.
    pub container_name: String,
    /// `hostname:`, resolvable on every network.
    pub hostname: Option<String>,
    /// `links:` as (alias, target service or container name).
    pub links: BTreeMap<String, String>,
    /// `dns:` servers: the embedded DNS forwards to them instead of the host's.
    pub dns_servers: Vec<SocketAddr>,
}

/// Per-network attachment options (`services.<s>.networks.<n>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub ipv4_address: Option<Ipv4Addr>,
    pub mac_address: Option<String>,
    /// DNS aliases on this network; the engine passes the service name here, plus
    /// `aliases:`.
    pub aliases: Vec<String>,
    pub mtu: Option<u32>,
    /// `interface_name`; default the next free `ethN`.
    pub interface_name: Option<String>,
    /// `gw_priority`: the highest among non-internal networks gives the default route.
    pub gw_priority: i32,
}

/// The result of [`Networks::connect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub network: String,
    pub interface: String,
    pub ipv4: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
    pub internal: bool,
}

/// The network layer of one rcompose installation (state root + run dir).
#[derive(Debug, Clone)]
pub struct Networks {
    paths: Paths,
    config: NetConfig,
}

pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 255
}

fn check_container_id(id: &str) -> Result<()> {
    if valid_name(id) && id.len() <= 128 {
        Ok(())
    } else {
        Err(NetworkError::InvalidContainerId(id.to_string()))
    }
}

impl Networks {
    pub fn new(paths: Paths) -> Self {
        Self::with_config(paths, NetConfig::from_env())
    }

    pub fn with_config(paths: Paths, config: NetConfig) -> Self {
        Self { paths, config }
    }

    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    fn network_path(&self, name: &str) -> PathBuf {
        self.paths.networks().join(format!("{name}.json"))
    }
    fn network_lock(&self, name: &str) -> PathBuf {
        self.paths.locks().join(format!("network-{name}.lock"))
    }
    /// Where a container's namespace is mounted.
    pub fn netns_path(&self, container_id: &str) -> PathBuf {
        self.paths.run.join("netns").join(container_id)
    }
    fn forward_marker(&self) -> PathBuf {
        self.paths.run.join("ip_forward.enabled-by-rcompose")
    }
    fn helper(&self) -> helper::Client<'_> {
        helper::Client {
            paths: &self.paths,
            exe: &self.config.helper_exe,
            resolv_conf: &self.config.host_resolv_conf,
        }
    }

    // ---- networks ---------------------------------------------------------------------------

    /// All networks, by name.
    pub fn list(&self) -> Result<Vec<Network>> {
        let dir = self.paths.networks();
        let entries = match fs_err::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for e in entries {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "json")
                && let Some(n) = state::read_json::<Network>(&p)?
            {
                out.push(n);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A network by name, or by full or unique partial id (as `docker network inspect`).
    pub fn find(&self, name_or_id: &str) -> Result<Option<Network>> {
        if valid_name(name_or_id)
            && let Some(n) = state::read_json::<Network>(&self.network_path(name_or_id))?
        {
            return Ok(Some(n));
        }
        let matches: Vec<Network> = self
            .list()?
            .into_iter()
            .filter(|n| n.id.starts_with(name_or_id) && !name_or_id.is_empty())
            .collect();
        Ok(if matches.len() == 1 {
            matches.into_iter().next()
        } else {
            None
        })
    }

    pub fn get(&self, name: &str) -> Result<Network> {
        self.find(name)?
            .ok_or_else(|| NetworkError::NotFound(name.to_string()))
    }

    /// An `external: true` network: it must exist; it is never created or removed by a
    /// project.
    pub fn external(&self, name: &str) -> Result<Network> {
        self.find(name)?
            .ok_or_else(|| NetworkError::ExternalNotFound {
                name: name.to_string(),
            })
    }

    /// Create the network if missing (returns it and whether it was created). An existing one
    /// is repaired (bridge and NAT re-created after a reboot) but not reconfigured.
    pub fn ensure(&self, spec: &NetworkSpec) -> Result<(Network, bool)> {
        match self.find(&spec.name)? {
            Some(n) if n.name == spec.name => {
                let mut nl = Netlink::open()?;
                self.ensure_bridge(&mut nl, &n)?;
                Ok((n, false))
            }
            _ => match self.create(spec) {
                Ok(n) => Ok((n, true)),
                Err(NetworkError::AlreadyExists(_)) => Ok((self.get(&spec.name)?, false)),
                Err(e) => Err(e),
            },
        }
    }

    /// Create a bridge network. Fails if it exists.
    pub fn create(&self, spec: &NetworkSpec) -> Result<Network> {
        let name = &spec.name;
        if !valid_name(name) {
            return Err(NetworkError::InvalidName(name.clone()));
        }
        let driver = spec.driver.clone().unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(NetworkError::UnsupportedDriver {
                name: name.clone(),
                driver,
            });
        }
        if spec.enable_ipv6 {
            return Err(NetworkError::Unsupported {
                name: name.clone(),
                what: "`enable_ipv6`".into(),
            });
        }
        if let Some(d) = spec.ipam.driver.as_deref().filter(|d| *d != "default") {
            return Err(NetworkError::Unsupported {
                name: name.clone(),
                what: format!("IPAM driver `{d}`"),
            });
        }
        let parsed = parse_ipam(name, &spec.ipam)?;
        let mtu = match spec.driver_opts.get(OPT_MTU) {
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|m| (68..=65535).contains(m))
                .ok_or_else(|| invalid(name, &format!("driver_opts.{OPT_MTU}"), v, "not an MTU"))?,
            None => self.config.default_mtu,
        };
        let masquerade = match spec.driver_opts.get(OPT_MASQUERADE).map(String::as_str) {
            None | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(v) => {
                return Err(invalid(
                    name,
                    &format!("driver_opts.{OPT_MASQUERADE}"),
                    v,
                    "expected true or false",
                ));
            }
        };
        let host_binding_ipv4 = match spec.driver_opts.get(OPT_HOST_BINDING) {
            Some(v) => Some(v.parse::<IpAddr>().map_err(|_| {
                invalid(
                    name,
                    &format!("driver_opts.{OPT_HOST_BINDING}"),
                    v,
                    "not an IP address",
                )
            })?),
            None => None,
        };

        let _host = state::host_lock()?;
        if self.find(name)?.is_some_and(|n| &n.name == name) {
            return Err(NetworkError::AlreadyExists(name.clone()));
        }
        let mut nl = Netlink::open()?;
        let existing = self.list()?;
        let mut taken: Vec<Ipv4Net> = nl
            .routes4()?
            .into_iter()
            .filter(|r| r.prefix_len > 0)
            .filter_map(|r| Ipv4Net::new(r.dst, r.prefix_len).ok())
            .collect();
        taken.extend(existing.iter().map(|n| n.subnet));
        let subnet = match parsed.subnet {
            Some(s) => {
                if let Some(other) = taken.iter().find(|t| ipam::overlaps(&s, t)) {
                    return Err(NetworkError::SubnetOverlap {
                        name: name.clone(),
                        subnet: s.to_string(),
                        other: existing
                            .iter()
                            .find(|n| n.subnet == *other)
                            .map(|n| format!("network `{}` ({other})", n.name))
                            .unwrap_or_else(|| format!("a route on the host ({other})")),
                    });
                }
                s
            }
            None => {
                let resolv =
                    fs_err::read_to_string(&self.config.host_resolv_conf).unwrap_or_default();
                let avoid: Vec<Ipv4Addr> = dns::nameservers(&resolv)
                    .into_iter()
                    .filter_map(|a| match a.ip() {
                        IpAddr::V4(ip) if !ip.is_loopback() => Some(ip),
                        _ => None,
                    })
                    .collect();
                ipam::choose_subnet(&self.config.pools, &taken, &avoid)
                    .ok_or_else(|| NetworkError::PoolExhausted { name: name.clone() })?
            }
        };
        let gateway = match parsed.gateway {
            Some(g) => g,
            None => ipam::default_gateway(&subnet).ok_or_else(|| {
                invalid(name, "ipam.config.subnet", &subnet.to_string(), "too small")
            })?,
        };
        let id = state::random_id();
        let bridge = match spec.driver_opts.get(OPT_BRIDGE_NAME) {
            Some(b) => {
                if b.is_empty() || b.len() > 15 || b.contains(['/', ' ', ':']) {
                    return Err(invalid(
                        name,
                        &format!("driver_opts.{OPT_BRIDGE_NAME}"),
                        b,
                        "not an interface name (at most 15 characters)",
                    ));
                }
                b.clone()
            }
            None => format!("br-{}", &id[..12]),
        };
        if nl.link_by_name(&bridge)?.is_some() {
            return Err(invalid(
                name,
                &format!("driver_opts.{OPT_BRIDGE_NAME}"),
                &bridge,
                "an interface with this name already exists",
            ));
        }
        let net = Network {
            name: name.clone(),
            id,
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            driver,
            bridge,
            subnet,
            gateway,
            ip_range: parsed.ip_range,
            ipam_configured: parsed.subnet.is_some(),
            aux_addresses: parsed.aux,
            internal: spec.internal,
            attachable: spec.attachable,
            enable_ipv6: spec.enable_ipv6,
            mtu,
            masquerade,
            host_binding_ipv4,
            labels: spec.labels.clone(),
            driver_opts: spec.driver_opts.clone(),
            ipam_driver: spec.ipam.driver.clone(),
            ipam_options: spec.ipam.options.clone(),
            endpoints: BTreeMap::new(),
        };
        // State first: a crash after this leaves a network whose bridge the next command
        // re-creates, never a bridge nobody knows about.
        state::write_json(&self.network_path(name), &net)?;
        let mut all = existing.clone();
        all.push(net.clone());
        let made = self.start_nft(&all).and_then(|job| {
            let bridge = self.make_bridge(&mut nl, &net);
            let applied = self.finish_nft(job);
            bridge.and(applied)
        });
        if let Err(e) = made {
            let _ = nl.del_link(&net.bridge);
            let _ = state::remove_file(&self.network_path(name));
            let _ = self.apply_nft(&existing);
            return Err(e);
        }
        Ok(net)
    }

    fn make_bridge(&self, nl: &mut Netlink, net: &Network) -> Result<u32> {
        nl.add_bridge(&net.bridge, Some(net.mtu))?;
        let link = nl
            .link_by_name(&net.bridge)?
            .ok_or_else(|| NetworkError::NotFound(net.bridge.clone()))?;
        nl.add_addr4(link.index, net.gateway, net.subnet.prefix_len())?;
        Ok(link.index)
    }

    /// The bridge's index; re-creates bridge and NAT rules if they are gone (reboot).
    fn ensure_bridge(&self, nl: &mut Netlink, net: &Network) -> Result<u32> {
        if let Some(l) = nl.link_by_name(&net.bridge)? {
            return Ok(l.index);
        }
        let _host = state::host_lock()?;
        if let Some(l) = nl.link_by_name(&net.bridge)? {
            return Ok(l.index);
        }
        tracing::info!(
            "network `{}`: re-creating bridge `{}`",
            net.name,
            net.bridge
        );
        let index = self.make_bridge(nl, net)?;
        self.apply_nft(&self.list()?)?;
        Ok(index)
    }

    /// Make our nftables table match `networks` (the host lock must be held).
    fn apply_nft(&self, networks: &[Network]) -> Result<()> {
        let job = self.start_nft(networks)?;
        self.finish_nft(job)
    }

    /// Start making our table match `networks`; [`finish_nft`](Self::finish_nft) waits.
    fn start_nft(&self, networks: &[Network]) -> Result<NftJob> {
        let table = &self.config.nft_table;
        let nft_nets: Vec<nft::NftNetwork> = networks
            .iter()
            .map(|n| nft::NftNetwork {
                bridge: n.bridge.clone(),
                subnet: n.subnet,
                internal: n.internal,
                masquerade: n.masquerade,
            })
            .collect();
        let marker = self.forward_marker();
        let wants_forward =
            self.config.manage_ip_forward && networks.iter().any(|n| n.masquerade && !n.internal);
        if wants_forward && fs_err::read_to_string(IP_FORWARD)?.trim() == "0" {
            // As Docker: NAT needs forwarding. We remember that it was us, to add the guard
            // rule and to turn it off again with the last network.
            fs_err::create_dir_all(&self.paths.run)?;
            fs_err::write(&marker, "1\n")?;
            fs_err::write(IP_FORWARD, "1\n")?;
            tracing::info!("enabled net.ipv4.ip_forward");
        }
        let guard = marker.exists();
        Ok(NftJob {
            pending: nft::spawn(table, &nft::render(table, &nft_nets, guard))?,
            restore_forward: networks.is_empty() && guard,
        })
    }

    fn finish_nft(&self, job: NftJob) -> Result<()> {
        job.pending.wait()?;
        if job.restore_forward {
            fs_err::write(IP_FORWARD, "0\n")?;
            state::remove_file(&self.forward_marker())?;
            tracing::info!("disabled net.ipv4.ip_forward again");
        }
        Ok(())
    }

    /// Remove a network: its bridge, its NAT rules, its state. Refused while containers are
    /// attached (as Docker).
    pub fn remove(&self, name: &str) -> Result<()> {
        let _host = state::host_lock()?;
        let net = self.get(name)?;
        let lock_path = self.network_lock(&net.name);
        let lock = state::lock(&lock_path)?;
        let Some(mut net) = state::read_json::<Network>(&self.network_path(&net.name))? else {
            return Err(NetworkError::NotFound(name.to_string()));
        };
        if self.gc_endpoints(&mut net) {
            state::write_json(&self.network_path(&net.name), &net)?;
        }
        if !net.endpoints.is_empty() {
            return Err(NetworkError::ActiveEndpoints {
                name: net.name,
                id: net.id,
            });
        }
        let remaining: Vec<Network> = self
            .list()?
            .into_iter()
            .filter(|n| n.name != net.name)
            .collect();
        // Both the rule change and the bridge deletion wait for RCU grace periods in the
        // kernel: overlap them.
        let job = self.start_nft(&remaining)?;
        let mut nl = Netlink::open()?;
        let deleted = nl.del_link(&net.bridge);
        let applied = self.finish_nft(job);
        deleted?;
        applied?;
        state::remove_file(&self.network_path(&net.name))?;
        state::remove_lock(&lock_path, lock);
        Ok(())
    }

    /// Drop endpoints whose sandbox no longer exists (crash, reboot). Returns whether any was
    /// dropped.
    fn gc_endpoints(&self, net: &mut Network) -> bool {
        let before = net.endpoints.len();
        net.endpoints
            .retain(|id, _| netns::is_netns(&self.netns_path(id)));
        net.endpoints.len() != before
    }

    // ---- sandboxes --------------------------------------------------------------------------

    /// Create the container's network namespace (`lo` up). Nothing else is written: the
    /// namespace is the sandbox, and `connect` records the options on each endpoint. Calling
    /// it again for an existing sandbox returns the same path.
    pub fn create_sandbox(&self, container_id: &str, opts: &SandboxOptions) -> Result<Sandbox> {
        check_container_id(container_id)?;
        let path = self.netns_path(container_id);
        if !netns::is_netns(&path) {
            fs_err::create_dir_all(path.parent().expect("netns dir"))?;
            netns::create(&path)?;
        }
        Ok(Sandbox {
            container_id: container_id.to_string(),
            path,
            options: opts.clone(),
        })
    }

    /// An existing sandbox (for `network_mode: service:x` / `container:x`), with the options
    /// recorded on its endpoints.
    pub fn sandbox(&self, container_id: &str) -> Result<Option<Sandbox>> {
        check_container_id(container_id)?;
        let path = self.netns_path(container_id);
        if !netns::is_netns(&path) {
            return Ok(None);
        }
        let options = self
            .endpoints_of(container_id)?
            .into_iter()
            .next()
            .map(|(_, e)| SandboxOptions {
                container_name: e.container_name,
                hostname: e.hostname,
                links: e.links,
                dns_servers: e.dns_servers,
            })
            .unwrap_or_default();
        Ok(Some(Sandbox {
            container_id: container_id.to_string(),
            path,
            options,
        }))
    }

    /// Serialise changes to one sandbox: `flock` on its namespace file (which goes away with
    /// it, so no lock file is left behind).
    fn lock_sandbox(&self, sandbox: &Sandbox) -> Result<nix::fcntl::Flock<std::fs::File>> {
        let file = std::fs::File::open(&sandbox.path)
            .ok()
            .filter(|_| netns::is_netns(&sandbox.path))
            .ok_or_else(|| NetworkError::NoSandbox {
                container: sandbox.container_id.clone(),
            })?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| {
            NetworkError::Io(std::io::Error::other(format!(
                "cannot lock `{}`: {e}",
                sandbox.path.display()
            )))
        })
    }

    /// A container's endpoints with their networks, in connection order.
    fn endpoints_of(&self, container_id: &str) -> Result<Vec<(Network, Endpoint)>> {
        let mut out: Vec<(Network, Endpoint)> = self
            .list()?
            .into_iter()
            .filter_map(|n| {
                let e = n.endpoints.get(container_id).cloned()?;
                Some((n, e))
            })
            .collect();
        out.sort_by(|a, b| a.1.order.cmp(&b.1.order).then(a.0.name.cmp(&b.0.name)));
        Ok(out)
    }

    /// Attach a sandbox to a network: a veth pair (host end on the bridge, the other end
    /// created inside the namespace as `ethN`), an address from the network's IPAM, the
    /// default route via the gateway (unless internal), and DNS records. Returns the address.
    pub fn connect(
        &self,
        sandbox: &Sandbox,
        network: &str,
        opts: &ConnectOptions,
    ) -> Result<Attachment> {
        let id = &sandbox.container_id;
        check_container_id(id)?;
        let _lock = self.lock_sandbox(sandbox)?;
        let current = self.get(network)?;
        let existing = self.endpoints_of(id)?;
        if existing.iter().any(|(n, _)| n.name == current.name) {
            return Err(NetworkError::AlreadyConnected {
                container: id.clone(),
                network: current.name,
            });
        }
        let interface = match &opts.interface_name {
            Some(name) => {
                if existing.iter().any(|(_, e)| &e.interface == name) || name == "lo" {
                    return Err(NetworkError::InterfaceInUse {
                        container: id.clone(),
                        name: name.clone(),
                    });
                }
                name.clone()
            }
            None => (0..)
                .map(|i| format!("eth{i}"))
                .find(|n| !existing.iter().any(|(_, e)| &e.interface == n))
                .expect("an unused ethN exists"),
        };
        let mac = match &opts.mac_address {
            Some(m) => Some(ipam::parse_mac(m).ok_or_else(|| NetworkError::InvalidMac(m.clone()))?),
            None => None,
        };

        let mut nl = Netlink::open()?;
        let bridge_index = self.ensure_bridge(&mut nl, &current)?;
        let (net, endpoint) = self.allocate(&current.name, sandbox, &interface, mac, opts)?;

        let plumbed = (|| -> Result<()> {
            let ns = netns::open(&sandbox.path)?;
            nl.add_veth(
                &endpoint.host_veth,
                bridge_index,
                opts.mtu.unwrap_or(net.mtu),
                &VethPeer {
                    name: &interface,
                    netns: ns.as_fd(),
                    mac: ipam::parse_mac(&endpoint.mac),
                },
            )?;
            let mut inner = netns::netlink_in(ns.as_fd(), &sandbox.path)?;
            let index = inner
                .link_by_name(&interface)?
                .ok_or_else(|| NetworkError::NotFound(interface.clone()))?
                .index;
            inner.add_addr4(index, endpoint.ipv4, net.subnet.prefix_len())?;
            inner.set_up(index)?;
            let holder = gateway_holder(&existing).map(|i| &existing[i].1);
            if !net.internal && holder.is_none_or(|h| opts.gw_priority > h.gw_priority) {
                if holder.is_some() {
                    inner.del_default_route4()?;
                }
                inner.add_default_route4(net.gateway, index)?;
            }
            Ok(())
        })();
        let synced = plumbed.and_then(|_| self.sync_helper_for(Some(id), true));
        if let Err(e) = synced {
            let _ = nl.del_link(&endpoint.host_veth);
            let _ = self.release(&net.name, id);
            let _ = self.sync_helper(false);
            return Err(e);
        }
        Ok(Attachment {
            network: net.name.clone(),
            interface,
            ipv4: endpoint.ipv4,
            prefix_len: net.subnet.prefix_len(),
            gateway: net.gateway,
            mac: endpoint.mac,
            internal: net.internal,
        })
    }

    /// Reserve an address and record the endpoint (under the network's lock).
    fn allocate(
        &self,
        network: &str,
        sandbox: &Sandbox,
        interface: &str,
        mac: Option<[u8; 6]>,
        opts: &ConnectOptions,
    ) -> Result<(Network, Endpoint)> {
        let id = &sandbox.container_id;
        let _lock = state::lock(&self.network_lock(network))?;
        let path = self.network_path(network);
        let mut net = state::read_json::<Network>(&path)?
            .ok_or_else(|| NetworkError::NotFound(network.to_string()))?;
        self.gc_endpoints(&mut net);
        if net.endpoints.contains_key(id) {
            return Err(NetworkError::AlreadyConnected {
                container: id.clone(),
                network: network.to_string(),
            });
        }
        let mut used: BTreeSet<Ipv4Addr> = net.endpoints.values().map(|e| e.ipv4).collect();
        used.insert(net.gateway);
        used.extend(net.aux_addresses.values().copied());
        let ipv4 = match opts.ipv4_address {
            Some(addr) => {
                if !net.ipam_configured {
                    return Err(NetworkError::StaticAddressNeedsSubnet {
                        network: network.to_string(),
                    });
                }
                if !ipam::is_host_address(&net.subnet, addr) {
                    return Err(NetworkError::AddressOutOfRange {
                        network: network.to_string(),
                        address: IpAddr::V4(addr),
                        subnet: net.subnet.to_string(),
                    });
                }
                if used.contains(&addr) {
                    return Err(NetworkError::AddressInUse {
                        network: network.to_string(),
                        address: IpAddr::V4(addr),
                    });
                }
                addr
            }
            None => ipam::allocate(&net.subnet, net.ip_range.as_ref(), &used).ok_or_else(|| {
                NetworkError::AddressesExhausted {
                    network: network.to_string(),
                    subnet: net.subnet.to_string(),
                }
            })?,
        };
        let mac = mac.unwrap_or_else(|| ipam::mac_for(ipv4));
        let o = &sandbox.options;
        let mut dns_names = Vec::new();
        let mut add = |n: &str| {
            let n = n.to_ascii_lowercase();
            if !n.is_empty() && !dns_names.contains(&n) {
                dns_names.push(n);
            }
        };
        add(&o.container_name);
        add(&id[..id.len().min(12)]);
        if let Some(h) = &o.hostname {
            add(h);
        }
        for a in &opts.aliases {
            add(a);
        }
        let order = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let endpoint = Endpoint {
            container_id: id.clone(),
            container_name: o.container_name.clone(),
            interface: interface.to_string(),
            host_veth: format!("veth{}", state::random_hex(7)),
            ipv4,
            mac: ipam::format_mac(&mac),
            dns_names,
            gw_priority: opts.gw_priority,
            order,
            hostname: o.hostname.clone(),
            links: o.links.clone(),
            dns_servers: o.dns_servers.clone(),
        };
        net.endpoints.insert(id.clone(), endpoint.clone());
        state::write_json(&path, &net)?;
        Ok((net, endpoint))
    }

    /// Forget a container's endpoint on a network (its address becomes free).
    fn release(&self, network: &str, container_id: &str) -> Result<Option<Endpoint>> {
        let _lock = state::lock(&self.network_lock(network))?;
        let path = self.network_path(network);
        let Some(mut net) = state::read_json::<Network>(&path)? else {
            return Ok(None);
        };
        let removed = net.endpoints.remove(container_id);
        if removed.is_some() {
            state::write_json(&path, &net)?;
        }
        Ok(removed)
    }

    /// Detach a sandbox from a network (`docker network disconnect`). If that network gave
    /// the default route, the best remaining one takes over.
    pub fn disconnect(&self, sandbox: &Sandbox, network: &str) -> Result<()> {
        let id = &sandbox.container_id;
        check_container_id(id)?;
        let _lock = self.lock_sandbox(sandbox)?;
        let mut existing = self.endpoints_of(id)?;
        let name = self
            .get(network)
            .map(|n| n.name)
            .unwrap_or(network.to_string());
        let Some(pos) = existing.iter().position(|(n, _)| n.name == name) else {
            return Err(NetworkError::NotConnected {
                container: id.clone(),
                network: name,
            });
        };
        let held_route = gateway_holder(&existing) == Some(pos);
        let (_, endpoint) = existing.remove(pos);
        self.release(&name, id)?;
        let mut nl = Netlink::open()?;
        nl.del_link(&endpoint.host_veth)?;
        if held_route && let Some(next) = gateway_holder(&existing) {
            let (n, e) = &existing[next];
            let ns = netns::open(&sandbox.path)?;
            let mut inner = netns::netlink_in(ns.as_fd(), &sandbox.path)?;
            if let Some(link) = inner.link_by_name(&e.interface)? {
                inner.add_default_route4(n.gateway, link.index)?;
            }
        }
        self.sync_helper(false)
    }

    /// Delete the sandbox: release every address, stop its DNS and ports, unmount the
    /// namespace (the kernel then destroys it with its veths, and their bridge ends). Safe to
    /// call again or on a half-made sandbox.
    pub fn destroy_sandbox(&self, container_id: &str) -> Result<()> {
        check_container_id(container_id)?;
        let path = self.netns_path(container_id);
        let sandbox = Sandbox {
            container_id: container_id.to_string(),
            path: path.clone(),
            options: SandboxOptions::default(),
        };
        let lock = self.lock_sandbox(&sandbox).ok();
        for net in self.list()? {
            if net.endpoints.contains_key(container_id) {
                self.release(&net.name, container_id)?;
            }
        }
        // The helper closes the DNS sockets it holds inside the namespace (they would keep it
        // alive) and the container's port proxies.
        self.sync_helper(false)?;
        state::remove_file(&helper::ports_dir(&self.paths).join(format!("{container_id}.json")))?;
        drop(lock);
        netns::remove(&path)
    }

    /// The container's attachments, in connection order.
    pub fn attachments(&self, container_id: &str) -> Result<Vec<Attachment>> {
        Ok(self
            .endpoints_of(container_id)?
            .into_iter()
            .map(|(n, e)| Attachment {
                network: n.name.clone(),
                interface: e.interface,
                ipv4: e.ipv4,
                prefix_len: n.subnet.prefix_len(),
                gateway: n.gateway,
                mac: e.mac,
                internal: n.internal,
            })
            .collect())
    }

    fn sync_helper(&self, start: bool) -> Result<()> {
        self.sync_helper_for(None, start)
    }

    /// Tell the helper to re-read the state; with `container`, fail if that container could
    /// not get its DNS socket.
    fn sync_helper_for(&self, container: Option<&str>, start: bool) -> Result<()> {
        let req = helper::Request::Sync {
            container: container.map(str::to_string),
        };
        match self.helper().request(&req, start)? {
            helper::Response::Error { message } => Err(NetworkError::Helper(message)),
            _ => Ok(()),
        }
    }

    // ---- ports ------------------------------------------------------------------------------

    /// Publish ports of a connected container (replacing any it had). The proxy targets the
    /// container's address on its first non-internal network. A port in use fails with
    /// Docker's "Bind for 0.0.0.0:8080 failed: port is already allocated" and binds nothing.
    pub fn publish(&self, sandbox: &Sandbox, specs: &[PortSpec]) -> Result<Vec<PortBinding>> {
        let id = &sandbox.container_id;
        let existing = self.endpoints_of(id)?;
        let Some((net, endpoint)) = existing
            .iter()
            .find(|(n, _)| !n.internal)
            .or(existing.first())
        else {
            return Err(NetworkError::PortSpec {
                spec: specs
                    .iter()
                    .map(|s| format!("{}/{}", s.target, s.protocol))
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: format!("container `{id}` is not connected to any network"),
            });
        };
        let container_ip = endpoint.ipv4;
        let ports = specs
            .iter()
            .map(|s| helper::PublishPort {
                spec: PortSpec {
                    host_ip: s.host_ip.or(net.host_binding_ipv4),
                    ..s.clone()
                },
                container_ip,
            })
            .collect();
        let req = helper::Request::Publish {
            container_id: id.clone(),
            ports,
        };
        match self.helper().request(&req, true)? {
            helper::Response::Published { bindings } => Ok(bindings),
            helper::Response::PortInUse { host_ip, port } => {
                Err(NetworkError::PortInUse { host_ip, port })
            }
            helper::Response::Error { message } => Err(NetworkError::Helper(message)),
            helper::Response::Ok => Err(NetworkError::Helper("unexpected answer".into())),
        }
    }

    /// Close a container's published ports (e.g. when it stops).
    pub fn unpublish(&self, container_id: &str) -> Result<()> {
        check_container_id(container_id)?;
        let req = helper::Request::Unpublish {
            container_id: container_id.to_string(),
        };
        self.helper().request(&req, false)?;
        state::remove_file(&helper::ports_dir(&self.paths).join(format!("{container_id}.json")))
    }

    /// The ports a container has published (what `rcompose port` reports).
    pub fn ports(&self, container_id: &str) -> Result<Vec<PortBinding>> {
        check_container_id(container_id)?;
        Ok(state::read_json::<Vec<PortBinding>>(
            &helper::ports_dir(&self.paths).join(format!("{container_id}.json")),
        )?
        .unwrap_or_default())
    }

    // ---- container files --------------------------------------------------------------------

    /// Render `resolv.conf` for a container from the host's file.
    pub fn resolv_conf(&self, mode: ResolverMode, dns: &DnsConfig) -> Result<String> {
        let host = match fs_err::read_to_string(&self.config.host_resolv_conf) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(files::render_resolv_conf(&host, mode, dns))
    }

    /// Render `/etc/hosts`; for `network_mode: host` pass `host_mode` to start from the
    /// host's file.
    pub fn hosts(&self, cfg: &HostsConfig, host_mode: bool) -> Result<String> {
        if host_mode {
            let host = fs_err::read_to_string(&self.config.host_hosts).unwrap_or_default();
            files::render_host_mode_hosts(&host, cfg)
        } else {
            files::render_hosts(cfg)
        }
    }

    /// The helper's pid, if one runs (tests use it to check nothing survives).
    pub fn helper_pid(&self) -> Option<i32> {
        helper::running_pid(&self.paths)
    }
}

/// Which of a container's endpoints gives the default route: the non-internal one with the
/// highest `gw_priority`, the earliest connected on a tie.
fn gateway_holder(endpoints: &[(Network, Endpoint)]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, (n, e)) in endpoints.iter().enumerate() {
        if n.internal {
            continue;
        }
        if best.is_none_or(|b| e.gw_priority > endpoints[b].1.gw_priority) {
            best = Some(i);
        }
    }
    best
}

fn invalid(name: &str, field: &str, value: &str, reason: &str) -> NetworkError {
    NetworkError::InvalidConfig {
        name: name.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

struct ParsedIpam {
    subnet: Option<Ipv4Net>,
    ip_range: Option<Ipv4Net>,
    gateway: Option<Ipv4Addr>,
    aux: BTreeMap<String, Ipv4Addr>,
}

fn parse_ipam(name: &str, ipam: &IpamSpec) -> Result<ParsedIpam> {
    let mut out = ParsedIpam {
        subnet: None,
        ip_range: None,
        gateway: None,
        aux: BTreeMap::new(),
    };
    let v4: Vec<&IpamPoolSpec> = ipam
        .config
        .iter()
        .filter(|c| !c.subnet.as_deref().is_some_and(|s| s.contains(':')))
        .collect();
    if v4.len() != ipam.config.len() {
        return Err(NetworkError::Unsupported {
            name: name.to_string(),
            what: "an IPv6 subnet in `ipam.config`".into(),
        });
    }
    if v4.len() > 1 {
        return Err(NetworkError::Unsupported {
            name: name.to_string(),
            what: "more than one IPv4 `ipam.config` entry".into(),
        });
    }
    let Some(c) = v4.first() else {
        return Ok(out);
    };
    let net = |field: &str, v: &str| -> Result<Ipv4Net> {
        let n: Ipv4Net = v
            .parse()
            .map_err(|_| invalid(name, field, v, "not an IPv4 CIDR"))?;
        Ok(n)
    };
    let subnet = match &c.subnet {
        Some(s) => {
            let n = net("ipam.config.subnet", s)?;
            if n.trunc() != n {
                return Err(invalid(
                    name,
                    "ipam.config.subnet",
                    s,
                    &format!("host bits are set (did you mean {}?)", n.trunc()),
                ));
            }
            if n.prefix_len() > 30 {
                return Err(invalid(name, "ipam.config.subnet", s, "too small"));
            }
            Some(n)
        }
        None => None,
    };
    if let Some(r) = &c.ip_range {
        let r = net("ipam.config.ip_range", r)?;
        match subnet {
            Some(s) if s.contains(&r) => out.ip_range = Some(r.trunc()),
            _ => {
                return Err(invalid(
                    name,
                    "ipam.config.ip_range",
                    &r.to_string(),
                    "must lie inside `subnet`",
                ));
            }
        }
    }
    if let Some(g) = &c.gateway {
        let g: Ipv4Addr = g
            .parse()
            .map_err(|_| invalid(name, "ipam.config.gateway", g, "not an IPv4 address"))?;
        match subnet {
            Some(s) if ipam::is_host_address(&s, g) => out.gateway = Some(g),
            _ => {
                return Err(invalid(
                    name,
                    "ipam.config.gateway",
                    &g.to_string(),
                    "must be a host address of `subnet`",
                ));
            }
        }
    }
    for (host, a) in &c.aux_addresses {
        let ip: Ipv4Addr = a.parse().map_err(|_| {
            invalid(
                name,
                &format!("ipam.config.aux_addresses.{host}"),
                a,
                "not an IPv4 address",
            )
        })?;
        if !subnet.is_some_and(|s| s.contains(&ip)) {
            return Err(invalid(
                name,
                &format!("ipam.config.aux_addresses.{host}"),
                a,
                "must lie inside `subnet`",
            ));
        }
        out.aux.insert(host.clone(), ip);
    }
    out.subnet = subnet;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(subnet: &str) -> IpamPoolSpec {
        IpamPoolSpec {
            subnet: Some(subnet.into()),
            ..Default::default()
        }
    }

    fn ipam(config: Vec<IpamPoolSpec>) -> IpamSpec {
        IpamSpec {
            config,
            ..Default::default()
        }
    }

    #[test]
    fn ipam_config_is_parsed_and_checked() {
        let mut c = pool("10.20.0.0/16");
        c.ip_range = Some("10.20.5.0/24".into());
        c.gateway = Some("10.20.0.254".into());
        c.aux_addresses.insert("router".into(), "10.20.0.2".into());
        let p = parse_ipam("n", &ipam(vec![c])).unwrap();
        assert_eq!(p.subnet, Some("10.20.0.0/16".parse().unwrap()));
        assert_eq!(p.ip_range, Some("10.20.5.0/24".parse().unwrap()));
        assert_eq!(p.gateway, Some(Ipv4Addr::new(10, 20, 0, 254)));
        assert_eq!(p.aux["router"], Ipv4Addr::new(10, 20, 0, 2));
    }

    #[test]
    fn bad_ipam_config_names_the_field() {
        let e = parse_ipam("n", &ipam(vec![pool("10.20.0.1/16")]))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(
            e,
            "network `n`: invalid ipam.config.subnet `10.20.0.1/16`: host bits are set (did you mean 10.20.0.0/16?)"
        );
        let mut c = pool("10.20.0.0/16");
        c.gateway = Some("10.21.0.1".into());
        let e = parse_ipam("n", &ipam(vec![c])).err().unwrap().to_string();
        assert!(e.contains("ipam.config.gateway"), "{e}");
        let e = parse_ipam("n", &ipam(vec![pool("nonsense")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("not an IPv4 CIDR"), "{e}");
        let e = parse_ipam("n", &ipam(vec![pool("fd00::/64")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("IPv6"), "{e}");
    }

    #[test]
    fn names_are_checked_like_docker() {
        assert!(valid_name("myproj_default"));
        assert!(valid_name("a.b-c_d"));
        assert!(!valid_name("_x"));
        assert!(!valid_name("../x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(""));
    }
}
