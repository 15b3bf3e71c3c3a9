//! `rcompose network ls|create|inspect|rm|prune` (as `docker network`) and the hidden `__netd`
//! helper entry point.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::volume::{
    confirm, flatten, join_labels, json_indent4, render_rows, render_template, tabulate,
};
use super::{CliError, GlobalArgs, UserError};
use crate::network::{IpamPoolSpec, IpamSpec, Network, NetworkError, NetworkSpec, Networks};
use crate::paths::Paths;

/// Arguments of the hidden network helper (`rcompose __netd`), started on demand by the
/// network layer; never run by hand.
#[derive(Debug, Args)]
pub struct NetdArgs {
    /// The host resolv.conf whose nameservers are the default upstream
    #[arg(long, default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,
}

pub fn netd(global: &GlobalArgs, args: NetdArgs) -> Result<i32, CliError> {
    let paths = Paths::from_env(global.root.clone());
    Ok(crate::network::helper::main(paths, args.resolv_conf))
}

#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub name: String,
    /// Driver to manage the Network
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Enable manual container attachment
    #[arg(long)]
    pub attachable: bool,
    /// Enable or disable IPv6 networking
    #[arg(long)]
    pub ipv6: bool,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    pub subnet: Vec<String>,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    pub ip_range: Vec<String>,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "NAME=IP")]
    pub aux_address: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver")]
    pub ipam_driver: Option<String>,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "KEY=VALUE")]
    pub ipam_opt: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
    /// Set metadata on a network
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub networks: Vec<String>,
    /// Format output using a custom template: 'json' or a Go-style template
    #[arg(long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output: 'table', 'json' or a Go-style template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Provide filter values (e.g. "label=KEY=VALUE")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Do not prompt for confirmation (`-f` is the global `--file` here)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub networks: Vec<String>,
    /// Do not error if the network does not exist (`-f` is the global `--file` here)
    #[arg(long)]
    pub force: bool,
}

pub fn run(global: &GlobalArgs, args: NetworkArgs) -> Result<i32, CliError> {
    let nets = Networks::new(Paths::from_env(global.root.clone()));
    let out = &mut std::io::stdout().lock();
    match args.command {
        NetworkCommand::Create(a) => create(&nets, a, out),
        NetworkCommand::Inspect(a) => inspect(&nets, a, out),
        NetworkCommand::Ls(a) => ls(&nets, a, out),
        NetworkCommand::Prune(a) => prune(&nets, a, out),
        NetworkCommand::Rm(a) => rm(&nets, a, out),
    }
}

fn user(e: impl std::fmt::Display) -> UserError {
    UserError::new(e.to_string())
}

fn key_values(list: &[String], what: &str) -> Result<BTreeMap<String, String>, UserError> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            None if !kv.is_empty() && what == "label" => Ok((kv.clone(), String::new())),
            _ => Err(UserError::new(format!(
                "invalid {what} `{kv}`: expected KEY=VALUE"
            ))),
        })
        .collect()
}

fn create(nets: &Networks, a: CreateArgs, out: &mut impl Write) -> Result<i32, CliError> {
    if a.subnet.len() > 1 || a.gateway.len() > a.subnet.len().max(1) {
        return Err(UserError::new("only one --subnet (with one --gateway) is supported").into());
    }
    if (!a.gateway.is_empty() || !a.ip_range.is_empty() || !a.aux_address.is_empty())
        && a.subnet.is_empty()
    {
        return Err(
            UserError::new("--gateway, --ip-range and --aux-address need a --subnet").into(),
        );
    }
    let config = if a.subnet.is_empty() {
        Vec::new()
    } else {
        vec![IpamPoolSpec {
            subnet: a.subnet.first().cloned(),
            ip_range: a.ip_range.first().cloned(),
            gateway: a.gateway.first().cloned(),
            aux_addresses: key_values(&a.aux_address, "aux-address")?,
        }]
    };
    let spec = NetworkSpec {
        name: a.name,
        driver: Some(a.driver),
        driver_opts: key_values(&a.opts, "option")?,
        labels: key_values(&a.labels, "label")?,
        internal: a.internal,
        attachable: a.attachable,
        enable_ipv6: a.ipv6,
        ipam: IpamSpec {
            driver: a.ipam_driver,
            config,
            options: key_values(&a.ipam_opt, "ipam-opt")?,
        },
    };
    let n = nets.create(&spec).map_err(user)?;
    writeln!(out, "{}", n.id)?;
    Ok(0)
}

fn endpoint_id(container: &str, network: &Network) -> String {
    hex::encode(Sha256::digest(format!("{}/{container}", network.id)))
}

/// `docker network inspect`'s JSON for one network.
pub fn inspect_json(n: &Network) -> serde_json::Value {
    let mut ipam_config = serde_json::Map::new();
    ipam_config.insert("Subnet".into(), n.subnet.to_string().into());
    if let Some(r) = n.ip_range {
        ipam_config.insert("IPRange".into(), r.to_string().into());
    }
    ipam_config.insert("Gateway".into(), n.gateway.to_string().into());
    if !n.aux_addresses.is_empty() {
        ipam_config.insert(
            "AuxiliaryAddresses".into(),
            serde_json::to_value(&n.aux_addresses).unwrap_or_default(),
        );
    }
    let containers: serde_json::Map<String, serde_json::Value> = n
        .endpoints
        .values()
        .map(|e| {
            (
                e.container_id.clone(),
                serde_json::json!({
                    "Name": e.container_name,
                    "EndpointID": endpoint_id(&e.container_id, n),
                    "MacAddress": e.mac,
                    "IPv4Address": format!("{}/{}", e.ipv4, n.subnet.prefix_len()),
                    "IPv6Address": "",
                }),
            )
        })
        .collect();
    serde_json::json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv4": true,
        "EnableIPv6": n.enable_ipv6,
        "IPAM": {
            "Driver": n.ipam_driver.clone().unwrap_or_else(|| "default".into()),
            "Options": n.ipam_options,
            "Config": [serde_json::Value::Object(ipam_config)],
        },
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.driver_opts,
        "Labels": n.labels,
    })
}

fn inspect(nets: &Networks, a: InspectArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.networks {
        match nets.get(name) {
            Ok(n) => found.push(n),
            Err(e) => errors.push(e.to_string()),
        }
    }
    match a.format.as_deref() {
        None | Some("") | Some("json") => {
            let items: Vec<serde_json::Value> = found.iter().map(inspect_json).collect();
            writeln!(out, "{}", json_indent4(&serde_json::Value::Array(items)))?;
        }
        Some(tmpl) => {
            for n in &found {
                let json = inspect_json(n);
                let line = render_template(tmpl, &flatten(&json), &n.labels, &json)
                    .map_err(UserError::new)?;
                writeln!(out, "{line}")?;
            }
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(UserError::new(errors.join("\n")).into())
    }
}

/// Go's `time.Time.String()` of an RFC 3339 time, as `docker network ls` shows `CreatedAt`.
fn go_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

fn ls_fields(n: &Network, no_trunc: bool) -> IndexMap<String, String> {
    let mut m = IndexMap::new();
    m.insert("CreatedAt".into(), go_time(&n.created));
    m.insert("Driver".into(), n.driver.clone());
    m.insert(
        "ID".into(),
        if no_trunc {
            n.id.clone()
        } else {
            n.id[..12.min(n.id.len())].to_string()
        },
    );
    m.insert("IPv4".into(), "true".into());
    m.insert("IPv6".into(), n.enable_ipv6.to_string());
    m.insert("Internal".into(), n.internal.to_string());
    m.insert("Labels".into(), join_labels(&n.labels));
    m.insert("Name".into(), n.name.clone());
    m.insert("Scope".into(), "local".into());
    m
}

const NETWORK_HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// `docker network ls` filters: driver, id, label, name, scope, type, dangling.
#[derive(Debug, Default)]
struct Filter {
    drivers: Vec<String>,
    ids: Vec<String>,
    names: Vec<String>,
    labels: Vec<(String, Option<String>, bool)>,
    dangling: Option<bool>,
    builtin: Option<bool>,
}

impl Filter {
    fn parse(list: &[String]) -> Result<Self, UserError> {
        let mut f = Filter::default();
        for s in list {
            let (key, value, neg) = match s.split_once("!=") {
                Some((k, v)) if !k.contains('=') => (k, v, true),
                _ => match s.split_once('=') {
                    Some((k, v)) => (k, v, false),
                    None => {
                        return Err(UserError::new(format!(
                            "bad format of filter (expected name=value): {s}"
                        )));
                    }
                },
            };
            match (key, neg) {
                ("driver", false) => f.drivers.push(value.into()),
                ("id", false) => f.ids.push(value.into()),
                ("name", false) => f.names.push(value.into()),
                ("scope", false) if value == "local" => {}
                ("scope", false) => f.ids.push("\0none".into()),
                ("type", false) => f.builtin = Some(value == "builtin"),
                ("dangling", false) => f.dangling = Some(matches!(value, "true" | "1")),
                ("label", neg) => {
                    let (k, v) = match value.split_once('=') {
                        Some((k, v)) => (k.to_string(), Some(v.to_string())),
                        None => (value.to_string(), None),
                    };
                    f.labels.push((k, v, neg));
                }
                _ => return Err(UserError::new(format!("invalid filter '{key}'"))),
            }
        }
        Ok(f)
    }

    fn matches(&self, n: &Network) -> bool {
        (self.drivers.is_empty() || self.drivers.contains(&n.driver))
            && (self.ids.is_empty() || self.ids.iter().any(|i| n.id.starts_with(i.as_str())))
            && (self.names.is_empty() || self.names.iter().any(|x| n.name.contains(x.as_str())))
            && self.dangling.is_none_or(|d| d == n.endpoints.is_empty())
            // rcompose has no predefined (builtin) networks.
            && self.builtin != Some(true)
            && self.labels.iter().all(|(k, v, neg)| {
                let hit = match v {
                    Some(v) => n.labels.get(k) == Some(v),
                    None => n.labels.contains_key(k),
                };
                hit != *neg
            })
    }
}

fn ls(nets: &Networks, a: LsArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let filter = Filter::parse(&a.filters)?;
    let list: Vec<Network> = nets
        .list()
        .map_err(user)?
        .into_iter()
        .filter(|n| filter.matches(n))
        .collect();
    if a.quiet {
        for n in &list {
            writeln!(out, "{}", ls_fields(n, a.no_trunc)["ID"])?;
        }
        return Ok(0);
    }
    match a.format.as_deref() {
        Some("json") => {
            for n in &list {
                let f = ls_fields(n, a.no_trunc);
                writeln!(out, "{}", serde_json::to_string(&f).unwrap_or_default())?;
            }
        }
        None | Some("") | Some("table") => {
            let mut rows = vec![vec![
                "NETWORK ID".to_string(),
                "NAME".into(),
                "DRIVER".into(),
                "SCOPE".into(),
            ]];
            for n in &list {
                let f = ls_fields(n, a.no_trunc);
                rows.push(vec![
                    f["ID"].clone(),
                    f["Name"].clone(),
                    f["Driver"].clone(),
                    f["Scope"].clone(),
                ]);
            }
            write!(out, "{}", tabulate(&rows))?;
        }
        Some(tmpl) => {
            let text = render_rows(
                tmpl,
                NETWORK_HEADERS,
                list.iter().map(|n| {
                    let f = ls_fields(n, a.no_trunc);
                    let json = serde_json::to_value(&f).unwrap_or_default();
                    (f, n.labels.clone(), json)
                }),
            )
            .map_err(UserError::new)?;
            write!(out, "{text}")?;
        }
    }
    Ok(0)
}

fn rm(nets: &Networks, a: RmArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let mut errors = Vec::new();
    for name in &a.networks {
        match nets.remove(name) {
            Ok(()) => writeln!(out, "{name}")?,
            Err(NetworkError::NotFound(_)) if a.force => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(UserError::new(errors.join("\n")).into())
    }
}

fn prune(nets: &Networks, a: PruneArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let mut filter = Filter::parse(&a.filters)?;
    filter.dangling = Some(true);
    if !a.force
        && !confirm(
            "WARNING! This will remove all custom networks not used by at least one container.",
        )
    {
        return Ok(0);
    }
    let mut removed = Vec::new();
    for n in nets.list().map_err(user)? {
        if !filter.matches(&n) {
            continue;
        }
        match nets.remove(&n.name) {
            Ok(()) => removed.push(n.name),
            Err(NetworkError::ActiveEndpoints { .. }) => {}
            Err(e) => return Err(user(e).into()),
        }
    }
    if !removed.is_empty() {
        writeln!(out, "Deleted Networks:")?;
        for n in removed {
            writeln!(out, "{n}")?;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_is_shown_as_go_prints_times() {
        assert_eq!(
            go_time("2024-05-01T10:20:30.123456789Z"),
            "2024-05-01 10:20:30.123456789 +0000 UTC"
        );
    }
}
