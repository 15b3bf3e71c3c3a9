//! Errors of the network layer. Variants name the network, container, port or path.

use std::net::IpAddr;
use std::path::PathBuf;

use super::netlink::NetlinkError;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error(transparent)]
    Netlink(#[from] NetlinkError),

    #[error("invalid network name `{0}`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),

    #[error("invalid container id `{0}`")]
    InvalidContainerId(String),

    #[error("network {0} not found")]
    NotFound(String),

    #[error("network with name {0} already exists")]
    AlreadyExists(String),

    #[error("network {name} declared as external, but could not be found")]
    ExternalNotFound { name: String },

    #[error("network `{name}`: driver `{driver}` is not supported (only `bridge`)")]
    UnsupportedDriver { name: String, driver: String },

    #[error("network `{name}`: {what} is not supported yet")]
    Unsupported { name: String, what: String },

    #[error("network `{name}`: invalid {field} `{value}`: {reason}")]
    InvalidConfig {
        name: String,
        field: String,
        value: String,
        reason: String,
    },

    #[error("network `{name}`: subnet {subnet} overlaps with {other}")]
    SubnetOverlap {
        name: String,
        subnet: String,
        other: String,
    },

    #[error(
        "network `{name}`: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )]
    PoolExhausted { name: String },

    #[error("network `{network}`: no available IPv4 addresses in {subnet}")]
    AddressesExhausted { network: String, subnet: String },

    #[error("network `{network}`: address {address} is already in use")]
    AddressInUse { network: String, address: IpAddr },

    #[error("network `{network}`: address {address} is not in the network's subnet {subnet}")]
    AddressOutOfRange {
        network: String,
        address: IpAddr,
        subnet: String,
    },

    #[error(
        "network `{network}`: user specified IP address is supported only when connecting to networks with user configured subnets"
    )]
    StaticAddressNeedsSubnet { network: String },

    #[error("error while removing network: network {name} id {id} has active endpoints")]
    ActiveEndpoints { name: String, id: String },

    #[error("container `{container}` is already connected to network `{network}`")]
    AlreadyConnected { container: String, network: String },

    #[error("container `{container}` is not connected to network `{network}`")]
    NotConnected { container: String, network: String },

    #[error("container `{container}` has no network sandbox")]
    NoSandbox { container: String },

    #[error("interface name `{name}` is already used in container `{container}`")]
    InterfaceInUse { container: String, name: String },

    #[error("invalid MAC address `{0}`")]
    InvalidMac(String),

    #[error("cannot read state file `{path}`")]
    ReadState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("cannot create network namespace `{path}`")]
    CreateNetns {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot enter network namespace `{path}`")]
    EnterNetns {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("nftables: `nft` failed for table `{table}`: {stderr}")]
    Nft { table: String, stderr: String },

    #[error("cannot run `nft`")]
    NftSpawn(#[source] std::io::Error),

    #[error("Bind for {host_ip}:{port} failed: port is already allocated")]
    PortInUse { host_ip: IpAddr, port: String },

    #[error("cannot publish port {spec}: {reason}")]
    PortSpec { spec: String, reason: String },

    #[error("cannot bind {host_ip}:{port}/{protocol}")]
    PortBind {
        host_ip: IpAddr,
        port: u16,
        protocol: String,
        #[source]
        source: std::io::Error,
    },

    #[error("extra_hosts `{name}:{value}`: {reason}")]
    ExtraHost {
        name: String,
        value: String,
        reason: String,
    },

    #[error("the network helper (`{exe}`) did not start: {reason}")]
    HelperStart { exe: PathBuf, reason: String },

    #[error("the network helper failed: {0}")]
    Helper(String),
}
