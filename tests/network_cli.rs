//! `rcompose volume ...` and `rcompose network ...` as a user runs them (the built binary),
//! compared with `docker volume` / `docker network` output formats.

mod support;

use std::path::Path;
use std::process::Output;

use support::net::{link_exists, nft_table, random_hex};

struct Env {
    dir: tempfile::TempDir,
    table: String,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("rcompose-cli-")
                .tempdir()
                .unwrap(),
            table: format!("rct_{}", random_hex(6)),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_rcompose"))
            .args(args)
            .env("RCOMPOSE_ROOT", self.dir.path().join("root"))
            .env("RCOMPOSE_RUN", self.dir.path().join("run"))
            .env("RCOMPOSE_NFT_TABLE", &self.table)
            .env("RCOMPOSE_IP_FORWARD", "0")
            .env("RCOMPOSE_ADDRESS_POOLS", "10.128.0.0/16:24")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "rcompose {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Whatever a failed test left: networks (bridges) and the table.
        let nets = self.run(&["network", "ls", "-q", "--no-trunc"]);
        for id in String::from_utf8_lossy(&nets.stdout).lines() {
            let _ = self.run(&["network", "rm", id]);
        }
        let _ = std::process::Command::new("nft")
            .args(["delete", "table", "ip", &self.table])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn volume_commands_behave_like_docker_volume() {
    let env = Env::new();
    assert_eq!(
        env.ok(&["volume", "create", "--label", "tier=db", "app_db"]),
        "app_db\n"
    );
    assert_eq!(
        env.ok(&[
            "volume",
            "create",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "scratch"
        ]),
        "scratch\n"
    );
    let anon = env.ok(&["volume", "create"]);
    assert_eq!(anon.trim().len(), 64);

    let table = env.ok(&["volume", "ls"]);
    assert!(table.starts_with("DRIVER    VOLUME NAME\n"), "{table}");
    assert!(table.contains("local     app_db\n"), "{table}");
    assert_eq!(
        env.ok(&["volume", "ls", "-q", "--filter", "label=tier=db"]),
        "app_db\n"
    );
    assert_eq!(
        env.ok(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}}",
            "--filter",
            "name=scr"
        ]),
        "scratch local\n"
    );
    let json = env.ok(&[
        "volume",
        "ls",
        "--format",
        "json",
        "--filter",
        "name=app_db",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Name"], "app_db");
    assert_eq!(v["Labels"], "tier=db");
    assert_eq!(v["Scope"], "local");

    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["volume", "inspect", "app_db"])).unwrap();
    assert_eq!(inspect[0]["Driver"], "local");
    assert_eq!(inspect[0]["Labels"]["tier"], "db");
    assert_eq!(
        inspect[0]["Mountpoint"],
        env.root()
            .join("root/volumes/app_db/_data")
            .to_str()
            .unwrap()
    );
    assert_eq!(
        env.ok(&[
            "volume",
            "inspect",
            "--format",
            "{{.Name}}:{{.Scope}}",
            "scratch"
        ]),
        "scratch:local\n"
    );

    let missing = env.run(&["volume", "inspect", "app_db", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("get nope: no such volume"));

    // Prune without --all keeps named volumes; the anonymous one goes.
    let pruned = env.ok(&["volume", "prune", "--force"]);
    assert_eq!(
        pruned,
        format!(
            "Deleted Volumes:\n{}\n\nTotal reclaimed space: 0B\n",
            anon.trim()
        )
    );
    assert_eq!(
        env.ok(&["volume", "rm", "app_db", "scratch"]),
        "app_db\nscratch\n"
    );
    assert_eq!(env.ok(&["volume", "ls", "-q"]), "");
    let rm = env.run(&["volume", "rm", "app_db"]);
    assert_eq!(rm.status.code(), Some(1));
    assert!(
        env.run(&["volume", "rm", "--force", "app_db"])
            .status
            .success()
    );
    let bad = env.run(&["volume", "create", "../escape"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("includes invalid characters"));
}

#[test]
fn network_commands_behave_like_docker_network() {
    let env = Env::new();
    let name = format!("cli{}", random_hex(6));
    let id = env.ok(&["network", "create", "--label", "team=a", &name]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let internal = format!("{name}_int");
    env.ok(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        "10.129.7.0/24",
        "--gateway",
        "10.129.7.254",
        &internal,
    ]);

    let table = env.ok(&["network", "ls"]);
    assert!(table.starts_with("NETWORK ID     NAME"), "{table}");
    assert!(
        table.contains(&format!("{}   {name}", &id[..12])),
        "{table}"
    );
    assert_eq!(
        env.ok(&[
            "network",
            "ls",
            "-q",
            "--filter",
            "label=team=a",
            "--no-trunc"
        ]),
        format!("{id}\n")
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["network", "inspect", &internal])).unwrap();
    assert_eq!(inspect[0]["Internal"], true);
    assert_eq!(inspect[0]["IPAM"]["Config"][0]["Subnet"], "10.129.7.0/24");
    assert_eq!(inspect[0]["IPAM"]["Config"][0]["Gateway"], "10.129.7.254");
    let bridge = format!("br-{}", &id[..12]);
    assert!(link_exists(&bridge));
    assert!(nft_table(&env.table).is_some());

    let dup = env.run(&["network", "create", &name]);
    assert_eq!(dup.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&dup.stderr)
            .contains(&format!("network with name {name} already exists"))
    );
    let overlap = env.run(&["network", "create", "--subnet", "10.129.7.0/25", "x1"]);
    assert_eq!(overlap.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&overlap.stderr).contains("overlaps"));

    // Both are unused; removed in `ls` order (by name).
    let mut names = [internal.clone(), name.clone()];
    names.sort();
    assert_eq!(
        env.ok(&["network", "prune", "--force"]),
        format!("Deleted Networks:\n{}\n{}\n", names[0], names[1])
    );
    assert!(!link_exists(&bridge));
    assert!(nft_table(&env.table).is_none(), "table left");
    let rm = env.run(&["network", "rm", &name]);
    assert_eq!(rm.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&rm.stderr).contains(&format!("network {name} not found")));
}
