//! [`ContainerConfig`]: the fully resolved description of one container, independent of Compose.
//!
//! It plays the part of Docker's container `Config` + `HostConfig`: the engine fills it from a
//! service (after interpolation, merging and path resolution) and the image's configuration,
//! and [`super::spec::build`] turns it into an OCI runtime spec at every (re)start. It is saved
//! as `containers/<id>/container.json` and never changes after `create`.
//!
//! Conventions:
//! - `None` means "not set, use the image's value or Docker's default"; an empty list set on
//!   purpose (`Some(vec![])`) is kept distinct where Docker distinguishes it (`entrypoint`).
//! - Host paths (bind sources, volume directories, layer directories) are absolute and already
//!   resolved by the caller; the runtime never interprets Compose syntax.
//! - Durations serialize as `{"secs":..,"nanos":..}` (serde's default).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Everything needed to run one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerConfig {
    /// 64 lowercase hex characters (see [`super::new_id`]).
    pub id: String,
    /// Unique name, e.g. `myproj-web-1`.
    pub name: String,
    /// Labels (`com.docker.compose.*` and the user's), merged with the image's by the caller.
    pub labels: IndexMap<String, String>,
    /// The root filesystem.
    pub rootfs: Rootfs,
    /// The image's configuration (`config` object of the OCI/Docker image config).
    pub image: ImageConfig,
    /// The image reference as the user wrote it, for display (`busybox:latest`).
    pub image_ref: Option<String>,
    /// The image id (`sha256:...`), for display.
    pub image_id: Option<String>,

    /// Overrides the image's ENTRYPOINT. `Some(vec![])` clears it (Docker's `--entrypoint ""`).
    pub entrypoint: Option<Vec<String>>,
    /// Overrides the image's CMD. An empty list behaves like `None` (Docker's merge rule).
    pub command: Option<Vec<String>>,
    /// `KEY=VALUE` entries: `env_file` entries first, then `environment` (later wins). A bare
    /// `KEY` unsets `KEY`. Merged over the image's `Env` like Docker.
    pub env: Vec<String>,
    /// `name | uid | uid:gid | name:group`, resolved in the container's `/etc/passwd` and
    /// `/etc/group` at start. `None`: the image's `User`, else root.
    pub user: Option<String>,
    /// Extra groups, names (resolved in the container's `/etc/group`) or numbers.
    pub group_add: Vec<String>,
    /// `None`: the image's `WorkingDir`, else `/`. Created if missing, as Docker does.
    pub working_dir: Option<String>,
    pub tty: bool,
    pub stdin_open: bool,
    /// Run a tiny reaper (rcompose's embedded `docker-init`) as PID 1.
    pub init: bool,
    /// `SIGTERM`, `TERM`, `15`... `None`: the image's `StopSignal`, else `SIGTERM`.
    pub stop_signal: Option<String>,
    /// `None`: 10 s, as Docker.
    pub stop_grace_period: Option<Duration>,
    pub read_only: bool,
    pub tmpfs: Vec<TmpfsMount>,
    pub mounts: Vec<Mount>,
    /// Small files the runtime writes into the container directory and binds in
    /// (`/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`).
    pub files: Vec<InjectedFile>,
    pub ulimits: Vec<Ulimit>,
    pub sysctls: IndexMap<String, String>,
    pub privileged: bool,
    /// `NET_ADMIN` or `CAP_NET_ADMIN`; `ALL` allowed.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `seccomp=unconfined|<file>`, `no-new-privileges[:true|false]`, `apparmor=...`,
    /// `label=...` (the last two are accepted and ignored on this host, as Docker without them).
    pub security_opt: Vec<String>,
    pub devices: Vec<DeviceMapping>,
    /// `c 1:3 rwm` style rules added to the device allow-list.
    pub device_cgroup_rules: Vec<String>,
    pub oom_score_adj: Option<i32>,
    pub oom_kill_disable: bool,
    pub resources: Resources,
    /// `None`: the first 12 characters of the id (Docker's default).
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// Size of `/dev/shm` in bytes; `None`: 64 MiB.
    pub shm_size: Option<u64>,
    pub restart: RestartPolicy,
    /// Overrides (field by field, like Docker) the image's `Healthcheck`.
    pub healthcheck: Option<Healthcheck>,
    pub logging: LogConfig,
    pub network: NetworkMode,
    pub ipc: IpcMode,
    pub pid: PidMode,
    /// Parent cgroup path (default `/rcompose`); the container's is `<parent>/<id>`.
    pub cgroup_parent: Option<String>,
    /// Remove the container (directory, state) as soon as it exits (`run --rm`).
    pub auto_remove: bool,
}

/// The container's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rootfs {
    /// An overlay of unpacked image layers, listed bottom → top, with a per-container upper
    /// and work dir in the container directory, mounted at `containers/<id>/rootfs`.
    Overlay { lowerdirs: Vec<PathBuf> },
    /// A plain directory used as-is (tests, OCI bundles): the container writes into it.
    Dir(PathBuf),
}

impl Default for Rootfs {
    fn default() -> Self {
        Rootfs::Dir(PathBuf::new())
    }
}

/// The parts of an image's configuration the runtime uses. Field names follow the image
/// config JSON (`config` object), so the image store can deserialize into it directly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageConfig {
    pub user: Option<String>,
    pub env: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub stop_signal: Option<String>,
    pub labels: Option<IndexMap<String, String>>,
    pub healthcheck: Option<ImageHealthcheck>,
    /// Docker's `SHELL` (default `["/bin/sh", "-c"]`), used for `CMD-SHELL` healthchecks.
    pub shell: Option<Vec<String>>,
    pub exposed_ports: Option<IndexMap<String, serde_json::Value>>,
    pub volumes: Option<IndexMap<String, serde_json::Value>>,
}

/// The image config's `Healthcheck` (durations in nanoseconds, as Docker writes them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ImageHealthcheck {
    pub test: Option<Vec<String>>,
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub start_period: Option<u64>,
    pub start_interval: Option<u64>,
    pub retries: Option<u32>,
}

/// A Compose healthcheck. `test` is `["CMD", args..]`, `["CMD-SHELL", "cmd"]` or `["NONE"]`;
/// empty inherits the image's test. Unset durations inherit the image's, then Docker's
/// defaults (interval 30 s, timeout 30 s, start_period 0, start_interval 5 s, retries 3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
    /// `disable: true` (same as `test: ["NONE"]`).
    pub disable: bool,
}

/// A bind mount or a volume, with its host path already resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mount {
    pub kind: MountKind,
    /// Host path: the bind source, or the volume's data directory.
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: String,
    pub read_only: bool,
    /// `rprivate` (default), `private`, `rshared`, `shared`, `rslave`, `slave`.
    pub propagation: Option<String>,
    /// For volumes: the volume's name (for `remove --volumes` and display).
    pub volume_name: Option<String>,
    /// An anonymous volume, removed with the container when asked.
    pub anonymous: bool,
    /// Extra mount options (`nosuid`, `noexec`, `nodev`...).
    pub options: Vec<String>,
}

impl Default for Mount {
    fn default() -> Self {
        Mount {
            kind: MountKind::Bind,
            source: PathBuf::new(),
            destination: String::new(),
            read_only: false,
            propagation: None,
            volume_name: None,
            anonymous: false,
            options: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    Bind,
    Volume,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TmpfsMount {
    pub destination: String,
    /// Bytes; `None`: the kernel's default (half of RAM).
    pub size: Option<u64>,
    /// Octal permission bits, e.g. `0o1777`.
    pub mode: Option<u32>,
    /// Extra options; Docker's defaults `noexec,nosuid,nodev` apply unless overridden
    /// (`exec`, `suid`, `dev`).
    pub options: Vec<String>,
}

/// A file written by the runtime into the container directory and bound into the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InjectedFile {
    /// Absolute path in the container, e.g. `/etc/hosts`.
    pub destination: String,
    pub contents: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceMapping {
    pub host_path: PathBuf,
    /// Defaults to `host_path`.
    pub container_path: Option<String>,
    /// `rwm` (default) or a subset.
    pub permissions: Option<String>,
}

/// `ulimits:` entry, e.g. `nofile` soft 1024 hard 2048. A single value sets both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Resource limits (`cpus`, `mem_limit`, ..., `deploy.resources.limits` already merged).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// Number of CPUs (`cpus: 1.5`): CFS quota = cpus × period.
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Bytes.
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    /// Memory + swap in bytes, `-1` unlimited. Docker's default when only `memory` is set:
    /// twice `memory` (when the host accounts swap).
    pub memory_swap: Option<i64>,
    pub memory_swappiness: Option<u64>,
    /// `0` or `-1`: unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
}

/// Docker's log drivers as far as rcompose supports them: `json-file` and `local` both
/// write rcompose's JSON-lines file; `none` writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    pub driver: String,
    /// `max-size` (`20m`), `max-file` (`5`).
    pub options: IndexMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            driver: "json-file".into(),
            options: IndexMap::new(),
        }
    }
}

/// The container's network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// A new namespace with only `lo` (up).
    #[default]
    None,
    /// The host's namespace (and UTS namespace, as Docker).
    Host,
    /// Join a namespace prepared by the network module (a bind-mounted nsfs file, with its
    /// veth and addresses already configured). `lo` is brought up if it is not.
    Path(PathBuf),
    /// Share the network namespace of another (running) container, by id.
    Container(String),
}

/// The IPC namespace (`ipc:`). Docker's default is `private`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpcMode {
    #[default]
    Private,
    Shareable,
    Host,
    Container(String),
}

/// The PID namespace (`pid:`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PidMode {
    #[default]
    Private,
    Host,
    Container(String),
}

/// `restart:` as Docker: `no`, `always`, `on-failure[:N]`, `unless-stopped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    OnFailure {
        /// `None` or `Some(0)`: no maximum.
        max_retries: Option<u32>,
    },
    UnlessStopped,
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::OnFailure { max_retries: None } => f.write_str("on-failure"),
            RestartPolicy::OnFailure {
                max_retries: Some(n),
            } => write!(f, "on-failure:{n}"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl FromStr for RestartPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "no" => Ok(RestartPolicy::No),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            "on-failure" => Ok(RestartPolicy::OnFailure { max_retries: None }),
            _ => {
                if let Some(n) = s.strip_prefix("on-failure:") {
                    let n: u32 = n
                        .parse()
                        .map_err(|_| format!("invalid restart policy `{s}`: bad retry count"))?;
                    Ok(RestartPolicy::OnFailure {
                        max_retries: Some(n),
                    })
                } else {
                    Err(format!(
                        "invalid restart policy `{s}`: expected `no`, `always`, `on-failure[:N]` or `unless-stopped`"
                    ))
                }
            }
        }
    }
}

impl Serialize for RestartPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl ContainerConfig {
    /// The hostname the container gets: the configured one, else the short id.
    pub fn effective_hostname(&self) -> String {
        match &self.hostname {
            Some(h) if !h.is_empty() => h.clone(),
            _ => self.id.chars().take(12).collect(),
        }
    }

    /// The grace period between the stop signal and SIGKILL (default 10 s).
    pub fn effective_stop_grace_period(&self) -> Duration {
        self.stop_grace_period.unwrap_or(Duration::from_secs(10))
    }

    /// The stop signal's name as configured (container, then image), default `SIGTERM`.
    pub fn effective_stop_signal(&self) -> String {
        self.stop_signal
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.image.stop_signal.clone().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "SIGTERM".into())
    }

    /// The container's cgroup path, `<cgroup_parent or /rcompose>/<id>`.
    pub fn cgroups_path(&self) -> String {
        let parent = self
            .cgroup_parent
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/rcompose".into());
        format!("/{}/{}", parent.trim_matches('/'), self.id)
    }

    /// Names of the anonymous volumes mounted in this container.
    pub fn anonymous_volumes(&self) -> Vec<String> {
        self.mounts
            .iter()
            .filter(|m| m.kind == MountKind::Volume && m.anonymous)
            .filter_map(|m| m.volume_name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policy_round_trips_docker_spellings() {
        for s in [
            "no",
            "always",
            "on-failure",
            "on-failure:3",
            "unless-stopped",
        ] {
            let p: RestartPolicy = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
    }

    #[test]
    fn container_config_deserializes_from_a_sparse_document() {
        let c: ContainerConfig = serde_json::from_str(
            r#"{"id":"abc","name":"p-web-1","rootfs":{"dir":"/r"},"restart":"on-failure:2",
                "network":{"path":"/run/ns"},"image":{"Env":["A=1"],"Cmd":["sh"]}}"#,
        )
        .unwrap();
        assert_eq!(c.rootfs, Rootfs::Dir("/r".into()));
        assert_eq!(
            c.restart,
            RestartPolicy::OnFailure {
                max_retries: Some(2)
            }
        );
        assert_eq!(c.network, NetworkMode::Path("/run/ns".into()));
        assert_eq!(c.image.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.logging.driver, "json-file");
        assert_eq!(c.effective_hostname(), "abc");
    }
}
