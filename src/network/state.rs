//! On-disk state: one JSON file per network (`<root>/networks/<name>.json`, with its endpoints),
//! written atomically (temp file + rename) so readers (the DNS helper, `network inspect`) never
//! see a torn file, and guarded by `flock` on lock files under `<run>/locks` for
//! read-modify-write. A sandbox is only its bind-mounted namespace (`<run>/netns/<id>`); what
//! DNS needs about a container lives on its endpoints.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::NetworkError;

/// A network as rcompose created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits, random, as Docker's network ids.
    pub id: String,
    /// RFC 3339.
    pub created: String,
    pub driver: String,
    /// The Linux bridge: `br-<first 12 hex of id>` unless `com.docker.network.bridge.name`.
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<Ipv4Net>,
    /// Whether the subnet came from the user's `ipam.config` (static addresses need it).
    pub ipam_configured: bool,
    #[serde(default)]
    pub aux_addresses: BTreeMap<String, Ipv4Addr>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub mtu: u32,
    /// Outbound NAT (`com.docker.network.bridge.enable_ip_masquerade`, default true).
    pub masquerade: bool,
    /// Default host address for published ports (`com.docker.network.bridge.host_binding_ipv4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_binding_ipv4: Option<IpAddr>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_driver: Option<String>,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    /// Connected containers, by container id.
    #[serde(default)]
    pub endpoints: BTreeMap<String, Endpoint>,
}

/// A container's attachment to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub container_id: String,
    pub container_name: String,
    /// Interface inside the container (`eth0`, ...).
    pub interface: String,
    /// Host end of the veth pair, on the bridge.
    pub host_veth: String,
    pub ipv4: Ipv4Addr,
    pub mac: String,
    /// Every name that resolves to this endpoint on this network (lower case): container
    /// name, short id, hostname, aliases (the engine includes the service name).
    pub dns_names: Vec<String>,
    /// Compose `gw_priority`: the highest one among non-internal networks gives the default
    /// route (ties: the earliest connected).
    #[serde(default)]
    pub gw_priority: i32,
    /// When it was connected (ns since the epoch): orders a container's networks.
    #[serde(default)]
    pub order: u128,
    /// Container-wide facts, repeated on each of its endpoints so that the network files
    /// alone describe everything DNS needs (one state write per attach).
    #[serde(default)]
    pub hostname: Option<String>,
    /// `links:` of the container, alias → target name.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// `dns:` of the container (upstream resolvers); empty = the host's.
    #[serde(default)]
    pub dns_servers: Vec<SocketAddr>,
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, NetworkError> {
    match fs_err::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| NetworkError::ReadState {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Write atomically: a crash leaves the old file or the new one, never half of one. No fsync:
/// this state is rebuilt or garbage-collected from the kernel's view after a power loss
/// (namespaces and bridges do not survive a reboot either), and an fsync per container attach
/// would cost more than the attach itself.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), NetworkError> {
    let dir = path.parent().expect("state files live in a directory");
    fs_err::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create a file in `{}`: {e}", dir.display()),
        )
    })?;
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    tmp.write_all(&bytes)?;
    tmp.persist(path).map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("cannot write `{}`: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

pub fn remove_file(path: &Path) -> Result<(), NetworkError> {
    match fs_err::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An exclusive `flock` held until dropped. The kernel releases it if the process dies, so a
/// killed command never leaves a lock behind.
pub struct Lock(#[allow(dead_code)] Flock<File>);

pub fn lock(path: &Path) -> Result<Lock, NetworkError> {
    use std::os::unix::fs::MetadataExt;
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir)?;
    }
    loop {
        let file = fs_err::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?
            .into_parts()
            .0;
        let locked = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| {
            NetworkError::Io(std::io::Error::other(format!(
                "cannot lock `{}`: {errno}",
                path.display()
            )))
        })?;
        // Lock files are deleted with what they guard: if ours was unlinked while we waited,
        // the lock is on a dead inode; take the current file instead.
        let held = locked.metadata()?;
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                return Ok(Lock(locked));
            }
            _ => continue,
        }
    }
}

/// Delete a lock file while holding its lock (see [`lock`]).
pub fn remove_lock(path: &Path, lock: Lock) {
    let _ = std::fs::remove_file(path);
    drop(lock);
}

/// The host-wide lock serialising subnet choice and nftables changes across every rcompose
/// root on the machine (parallel tests each have their own root but share the kernel's
/// routes).
pub fn host_lock() -> Result<Lock, NetworkError> {
    let dir = if Path::new("/run/lock").is_dir() {
        PathBuf::from("/run/lock")
    } else {
        std::env::temp_dir()
    };
    lock(&dir.join("rcompose-network.lock"))
}

/// A new random 64-hex id, as Docker's.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the kernel's random source works");
    hex::encode(bytes)
}

pub fn random_hex(n: usize) -> String {
    let mut s = random_id();
    s.truncate(n);
    s
}
