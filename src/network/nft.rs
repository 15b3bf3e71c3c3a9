//! rcompose's own nftables table (`table ip rcompose`, configurable): outbound NAT and the
//! isolation rules of Docker's bridge driver, and nothing else.
//!
//! The whole table is rendered from the networks' state and replaced in one `nft -f -`
//! transaction (`add table; delete table; table { ... }`), so it is always exactly what the
//! state says: no rule handles to track, no drift after a crash, idempotent. With no networks
//! left the table is deleted. Tables, chains and policies of anyone else are never touched; a
//! `drop` in our chain can only make the host stricter, never looser.
//!
//! Rules (compare Docker's iptables `POSTROUTING MASQUERADE` and `DOCKER-ISOLATION-STAGE-*`):
//! - masquerade traffic from a NAT-enabled subnet leaving through a non-rcompose interface;
//! - drop routed traffic from or to an `internal` bridge (it stays on its own bridge);
//! - drop routed traffic between two different rcompose bridges (networks are isolated);
//! - when rcompose itself turned `net.ipv4.ip_forward` on, drop routed traffic that touches no
//!   rcompose bridge, so the host does not start routing between its other interfaces (Docker
//!   sets the iptables `FORWARD` policy to `DROP` for the same reason; we do not touch
//!   policies, so we do it in our own chain).
//!
//! `nft` is forked here (a few ms) rather than speaking nfnetlink: it runs only when a network
//! is created or removed, never per container.

use std::io::Write;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use super::NetworkError;

/// What the table needs to know about one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftNetwork {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub internal: bool,
    pub masquerade: bool,
}

pub fn valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// The `nft -f` script that makes `table ip <table>` match `networks` exactly.
pub fn render(table: &str, networks: &[NftNetwork], forward_guard: bool) -> String {
    let mut s = format!("add table ip {table}\ndelete table ip {table}\n");
    if networks.is_empty() {
        return s;
    }
    let quote = |n: &str| format!("\"{n}\"");
    let bridges: Vec<String> = networks.iter().map(|n| quote(&n.bridge)).collect();
    let internal: Vec<String> = networks
        .iter()
        .filter(|n| n.internal)
        .map(|n| quote(&n.bridge))
        .collect();
    let pairs: Vec<String> = networks
        .iter()
        .map(|n| format!("{b} . {b}", b = quote(&n.bridge)))
        .collect();
    let nat: Vec<String> = networks
        .iter()
        .filter(|n| n.masquerade && !n.internal)
        .map(|n| n.subnet.to_string())
        .collect();
    let elements = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" elements = {{ {} }};", v.join(", "))
        }
    };
    s.push_str(&format!("table ip {table} {{\n"));
    s.push_str(&format!(
        "  set bridges {{ type ifname;{} }}\n",
        elements(&bridges)
    ));
    s.push_str(&format!(
        "  set internal {{ type ifname;{} }}\n",
        elements(&internal)
    ));
    s.push_str(&format!(
        "  set same_bridge {{ type ifname . ifname;{} }}\n",
        elements(&pairs)
    ));
    s.push_str(&format!(
        "  set nat_subnets {{ type ipv4_addr; flags interval;{} }}\n",
        elements(&nat)
    ));
    s.push_str(
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n    ip saddr @nat_subnets oifname != @bridges masquerade\n  }\n",
    );
    s.push_str("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
    s.push_str("    iifname . oifname @same_bridge accept\n");
    s.push_str("    iifname @internal drop\n");
    s.push_str("    oifname @internal drop\n");
    s.push_str("    iifname @bridges oifname @bridges drop\n");
    if forward_guard {
        s.push_str("    iifname != @bridges oifname != @bridges drop\n");
    }
    s.push_str("  }\n}\n");
    s
}

/// Run `nft -f -` with `script` and wait.
pub fn apply(table: &str, script: &str) -> Result<(), NetworkError> {
    spawn(table, script)?.wait()
}

/// An `nft` run in progress: the kernel's commit of a table with base chains waits for an RCU
/// grace period (milliseconds), so callers overlap it with their own netlink work.
pub struct Pending {
    table: String,
    child: std::process::Child,
}

/// Start `nft -f -` with `script`.
pub fn spawn(table: &str, script: &str) -> Result<Pending, NetworkError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(NetworkError::NftSpawn)?;
    let written = child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes());
    if let Err(e) = written {
        let _ = child.kill();
        let _ = child.wait();
        return Err(NetworkError::NftSpawn(e));
    }
    Ok(Pending {
        table: table.to_string(),
        child,
    })
}

impl Pending {
    pub fn wait(self) -> Result<(), NetworkError> {
        let out = self
            .child
            .wait_with_output()
            .map_err(NetworkError::NftSpawn)?;
        if !out.status.success() {
            return Err(NetworkError::Nft {
                table: self.table,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(())
    }
}

/// Whether `table ip <table>` exists.
pub fn table_exists(table: &str) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", table])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(bridge: &str, subnet: &str, internal: bool, masquerade: bool) -> NftNetwork {
        NftNetwork {
            bridge: bridge.into(),
            subnet: subnet.parse().unwrap(),
            internal,
            masquerade,
        }
    }

    #[test]
    fn no_networks_deletes_the_table() {
        assert_eq!(
            render("rcompose", &[], false),
            "add table ip rcompose\ndelete table ip rcompose\n"
        );
    }

    #[test]
    fn internal_networks_are_isolated_and_not_masqueraded() {
        let s = render(
            "rcompose",
            &[
                net("br-aaa", "172.17.0.0/16", false, true),
                net("br-bbb", "172.18.0.0/16", true, true),
                net("br-ccc", "172.19.0.0/16", false, false),
            ],
            false,
        );
        assert_eq!(
            s,
            r#"add table ip rcompose
delete table ip rcompose
table ip rcompose {
  set bridges { type ifname; elements = { "br-aaa", "br-bbb", "br-ccc" }; }
  set internal { type ifname; elements = { "br-bbb" }; }
  set same_bridge { type ifname . ifname; elements = { "br-aaa" . "br-aaa", "br-bbb" . "br-bbb", "br-ccc" . "br-ccc" }; }
  set nat_subnets { type ipv4_addr; flags interval; elements = { 172.17.0.0/16 }; }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr @nat_subnets oifname != @bridges masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname . oifname @same_bridge accept
    iifname @internal drop
    oifname @internal drop
    iifname @bridges oifname @bridges drop
  }
}
"#
        );
    }

    #[test]
    fn the_forward_guard_is_only_rendered_when_asked() {
        let nets = [net("br-aaa", "172.17.0.0/16", false, true)];
        assert!(!render("t", &nets, false).contains("!= @bridges oifname != @bridges"));
        assert!(render("t", &nets, true).contains("iifname != @bridges oifname != @bridges drop"));
    }

    #[test]
    fn table_names_are_checked() {
        assert!(valid_table_name("rcompose"));
        assert!(valid_table_name("rc_test-1"));
        assert!(!valid_table_name("1abc"));
        assert!(!valid_table_name("a b"));
        assert!(!valid_table_name("a;flush ruleset"));
    }
}
