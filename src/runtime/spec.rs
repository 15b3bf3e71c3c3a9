//! The OCI runtime spec of a container, built by a pure function from its
//! [`ContainerConfig`] and the few facts read at start time ([`StartFacts`], [`HostFacts`]).
//!
//! Docker's rules, with the moby source each follows:
//! - command: `daemon/commit.go merge` — a non-empty `entrypoint` override drops the image's
//!   CMD; `entrypoint: []` clears the image's ENTRYPOINT; an empty `command` keeps the image's.
//! - environment: `merge` (the user's entries, then the image's entries the user did not
//!   set) then `CreateDaemonEnvironment` (`PATH`, `HOSTNAME`, `TERM` with a tty, replaced or
//!   appended by the container's entries; a bare `KEY` unsets).
//! - user: runc's `GetExecUser` ([`super::user`]); `HOME` from passwd when unset.
//! - mounts: `oci/defaults.go` defaults, `/dev/shm` of `shm_size` (64 MiB), user mounts
//!   sorted by depth, replacing a default mount at the same destination.
//! - security: 14 default capabilities, the default seccomp profile filtered for them,
//!   masked and read-only paths, the device allow-list; `privileged` lifts all of it.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{Value, json};
use thiserror::Error;

use super::config::{ContainerConfig, IpcMode, NetworkMode, PidMode};
use super::seccomp::{self, SeccompError, Target};
use super::security::{self, SecurityError};
use super::user::{self, UserError};

/// Where the init binary is mounted in the container (as Docker's `docker-init`).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Docker's default `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("no command specified")]
    NoCommand,
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Security(#[from] SecurityError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error("the working directory `{0}` is invalid, it needs to be an absolute path")]
    RelativeWorkdir(String),
    #[error("invalid mount destination `{0}`: it must be an absolute path")]
    RelativeMount(String),
    #[error("unknown ulimit `{0}`")]
    UnknownUlimit(String),
    #[error("ulimit `{name}`: soft limit {soft} is greater than hard limit {hard}")]
    UlimitSoftAboveHard { name: String, soft: u64, hard: u64 },
    #[error(
        "sysctl `{0}` is not allowed: it is not namespaced (or not in a namespace this container owns)"
    )]
    Sysctl(String),
    #[error("capability `{0}` is not available on this host (rcompose does not hold it)")]
    CapNotAvailable(String),
    #[error("invalid stop signal: {0}")]
    StopSignal(String),
    #[error("invalid OCI spec: {0}")]
    Oci(String),
}

/// Facts about the host that change the spec (read once per process).
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// cgroup v2 only (unified); false on v1 and hybrid hosts.
    pub cgroup_v2: bool,
    /// Swap limits can be set (`memory.memsw.*` on v1, `memory.swap.max` on v2).
    pub swap_accounting: bool,
    /// The kernel has cgroup namespaces.
    pub cgroupns: bool,
    pub seccomp_target: Target,
    /// Capabilities the kernel knows.
    pub caps: Vec<&'static str>,
    /// Extra paths to mask when they exist (`/sys/devices/system/cpu/cpu*/thermal_throttle`).
    pub extra_masked_paths: Vec<String>,
}

impl HostFacts {
    /// The facts of this host, read once per process.
    pub fn cached() -> &'static HostFacts {
        static FACTS: std::sync::OnceLock<HostFacts> = std::sync::OnceLock::new();
        FACTS.get_or_init(HostFacts::detect)
    }

    pub fn detect() -> Self {
        let cgroup_v2 = super::cgroups::is_unified();
        let swap_accounting = if cgroup_v2 {
            true
        } else {
            Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        };
        let mut extra_masked_paths = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/sys/devices/system/cpu") {
            let mut v: Vec<String> = rd
                .flatten()
                .map(|e| e.path().join("thermal_throttle"))
                .filter(|p| p.exists())
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            v.sort();
            extra_masked_paths = v;
        }
        HostFacts {
            cgroup_v2,
            swap_accounting,
            cgroupns: Path::new("/proc/self/ns/cgroup").exists(),
            seccomp_target: Target::host(),
            caps: security::host_caps(),
            extra_masked_paths,
        }
    }
}

/// A host device resolved for `devices:` (or, privileged, every host device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDevice {
    pub container_path: String,
    /// `c`, `b`, `p` (fifo).
    pub kind: char,
    pub major: i64,
    pub minor: i64,
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub permissions: String,
}

/// What the runtime read at start, for this start.
#[derive(Debug, Clone, Default)]
pub struct StartFacts {
    /// The container's root directory on the host (overlay merged dir or plain dir).
    pub rootfs: PathBuf,
    /// The contents of the container's `/etc/passwd` and `/etc/group`, if present.
    pub passwd: Option<String>,
    pub group: Option<String>,
    pub devices: Vec<ResolvedDevice>,
    /// Host paths of the injected files, in `config.files` order.
    pub files: Vec<PathBuf>,
    /// Host path of the init binary, when `config.init`.
    pub init_binary: Option<PathBuf>,
    /// A custom seccomp profile's text (`security_opt: seccomp=<file>`).
    pub seccomp_profile: Option<String>,
    /// Namespace paths for `container:<id>` modes, resolved from the other container's pid.
    pub netns_path: Option<PathBuf>,
    pub ipcns_path: Option<PathBuf>,
    pub pidns_path: Option<PathBuf>,
    /// Host path of the shared container's `/dev/shm` (ipc `container:<id>` or `host`).
    pub shm_source: Option<PathBuf>,
}

/// Docker's `ReplaceOrAppendEnvValues`.
pub fn replace_or_append_env(mut defaults: Vec<String>, overrides: &[String]) -> Vec<String> {
    let mut cache = std::collections::HashMap::new();
    for (i, e) in defaults.iter().enumerate() {
        let key = e.split_once('=').map(|(k, _)| k).unwrap_or(e);
        cache.insert(key.to_string(), i);
    }
    let mut removed = vec![false; defaults.len()];
    for value in overrides {
        match value.split_once('=') {
            None => {
                if let Some(&i) = cache.get(value.as_str()) {
                    removed[i] = true;
                }
            }
            Some((k, _)) => match cache.get(k) {
                Some(&i) => {
                    defaults[i] = value.clone();
                    removed[i] = false;
                }
                None => {
                    defaults.push(value.clone());
                    removed.push(false);
                }
            },
        }
    }
    defaults
        .into_iter()
        .zip(removed)
        .filter(|(_, r)| !r)
        .map(|(e, _)| e)
        .collect()
}

fn env_key(e: &str) -> &str {
    e.split_once('=').map(|(k, _)| k).unwrap_or(e)
}

/// The container's environment as Docker computes it.
pub fn environment(config: &ContainerConfig, home: &str) -> Vec<String> {
    // The user's list: env_file then environment, later wins (first position kept).
    let mut user: Vec<String> = Vec::new();
    for e in &config.env {
        match user.iter().position(|u| env_key(u) == env_key(e)) {
            Some(i) => user[i] = e.clone(),
            None => user.push(e.clone()),
        }
    }
    // moby `merge`: user entries, then image entries whose key the user did not set.
    let image = config.image.env.clone().unwrap_or_default();
    let mut merged = user.clone();
    if user.is_empty() {
        merged = image;
    } else {
        for ie in image {
            if !user.iter().any(|u| env_key(u) == env_key(&ie)) {
                merged.push(ie);
            }
        }
    }
    let mut daemon = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={}", config.effective_hostname()),
    ];
    if config.tty {
        daemon.push("TERM=xterm".into());
    }
    let mut env = replace_or_append_env(daemon, &merged);
    if !env.iter().any(|e| env_key(e) == "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

/// The process arguments (entrypoint ++ cmd), by moby's merge rule.
pub fn command(config: &ContainerConfig) -> Result<Vec<String>, SpecError> {
    let user_ep = config.entrypoint.as_ref();
    let user_cmd = config.command.clone().unwrap_or_default();
    let (entrypoint, cmd) = if user_ep.is_none_or(|e| e.is_empty()) {
        let cmd = if user_cmd.is_empty() {
            config.image.cmd.clone().unwrap_or_default()
        } else {
            user_cmd
        };
        let ep = match user_ep {
            None => config.image.entrypoint.clone().unwrap_or_default(),
            Some(_) => Vec::new(),
        };
        (ep, cmd)
    } else {
        (user_ep.cloned().unwrap_or_default(), user_cmd)
    };
    // `entrypoint: [""]` is how Docker spells "no entrypoint" on the command line.
    let entrypoint: Vec<String> = if entrypoint.len() == 1 && entrypoint[0].is_empty() {
        Vec::new()
    } else {
        entrypoint
    };
    let mut args = entrypoint;
    args.extend(cmd);
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(args)
}

fn rlimit_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "as" => "RLIMIT_AS",
        "core" => "RLIMIT_CORE",
        "cpu" => "RLIMIT_CPU",
        "data" => "RLIMIT_DATA",
        "fsize" => "RLIMIT_FSIZE",
        "locks" => "RLIMIT_LOCKS",
        "memlock" => "RLIMIT_MEMLOCK",
        "msgqueue" => "RLIMIT_MSGQUEUE",
        "nice" => "RLIMIT_NICE",
        "nofile" => "RLIMIT_NOFILE",
        "nproc" => "RLIMIT_NPROC",
        "rss" => "RLIMIT_RSS",
        "rtprio" => "RLIMIT_RTPRIO",
        "rttime" => "RLIMIT_RTTIME",
        "sigpending" => "RLIMIT_SIGPENDING",
        "stack" => "RLIMIT_STACK",
        _ => return None,
    })
}

/// The `RLIMIT_*` resource of a Docker ulimit name.
pub fn rlimit_resource(name: &str) -> Option<nix::sys::resource::Resource> {
    use nix::sys::resource::Resource as R;
    Some(match name {
        "as" => R::RLIMIT_AS,
        "core" => R::RLIMIT_CORE,
        "cpu" => R::RLIMIT_CPU,
        "data" => R::RLIMIT_DATA,
        "fsize" => R::RLIMIT_FSIZE,
        "locks" => R::RLIMIT_LOCKS,
        "memlock" => R::RLIMIT_MEMLOCK,
        "msgqueue" => R::RLIMIT_MSGQUEUE,
        "nice" => R::RLIMIT_NICE,
        "nofile" => R::RLIMIT_NOFILE,
        "nproc" => R::RLIMIT_NPROC,
        "rss" => R::RLIMIT_RSS,
        "rtprio" => R::RLIMIT_RTPRIO,
        "rttime" => R::RLIMIT_RTTIME,
        "sigpending" => R::RLIMIT_SIGPENDING,
        "stack" => R::RLIMIT_STACK,
        _ => return None,
    })
}

/// runc's `validateSysctl`: only sysctls of namespaces the container owns.
fn check_sysctl(name: &str, config: &ContainerConfig) -> Result<(), SpecError> {
    const IPC: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let own_ipc = matches!(config.ipc, IpcMode::Private | IpcMode::Shareable);
    let own_net = !matches!(config.network, NetworkMode::Host);
    let ok = ((IPC.contains(&name) || name.starts_with("fs.mqueue.")) && own_ipc)
        || (name.starts_with("net.") && own_net)
        || ((name == "kernel.domainname" || name == "kernel.hostname") && own_net);
    if ok {
        Ok(())
    } else {
        Err(SpecError::Sysctl(name.to_string()))
    }
}

fn sort_depth(dest: &str) -> usize {
    Path::new(dest).components().count()
}

/// Build the OCI spec. Pure: everything read from the filesystem is in `facts` / `host`.
pub fn build(
    config: &ContainerConfig,
    facts: &StartFacts,
    host: &HostFacts,
) -> Result<Spec, SpecError> {
    let sec = security::parse_security_opts(&config.security_opt)?;
    let user_spec = config
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| config.image.user.clone())
        .unwrap_or_default();
    let exec_user = user::resolve(
        &user_spec,
        &config.group_add,
        facts.passwd.as_deref(),
        facts.group.as_deref(),
    )?;

    let mut args = command(config)?;
    if config.init {
        let mut v = vec![INIT_PATH.to_string(), "--".to_string()];
        v.append(&mut args);
        args = v;
    }
    let cwd = config
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .or_else(|| config.image.working_dir.clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        return Err(SpecError::RelativeWorkdir(cwd));
    }
    super::signals::parse(&config.effective_stop_signal()).map_err(SpecError::StopSignal)?;

    let caps = security::effective_caps(
        &config.cap_add,
        &config.cap_drop,
        config.privileged,
        &host.caps,
    )?;

    if let Some(missing) = caps.iter().find(|c| !host.caps.contains(&c.as_str())) {
        return Err(SpecError::CapNotAvailable(missing.clone()));
    }

    let mut rlimits = Vec::new();
    for u in &config.ulimits {
        let name = rlimit_name(&u.name).ok_or_else(|| SpecError::UnknownUlimit(u.name.clone()))?;
        if u.soft > u.hard {
            return Err(SpecError::UlimitSoftAboveHard {
                name: u.name.clone(),
                soft: u.soft,
                hard: u.hard,
            });
        }
        rlimits.push(json!({ "type": name, "soft": u.soft, "hard": u.hard }));
    }

    let mut process = json!({
        "terminal": config.tty,
        "user": {
            "uid": exec_user.uid,
            "gid": exec_user.gid,
            "additionalGids": exec_user.additional_gids,
        },
        "args": args,
        "env": environment(config, &exec_user.home),
        "cwd": cwd,
        "capabilities": {
            "bounding": caps, "effective": caps, "permitted": caps,
        },
        "noNewPrivileges": sec.no_new_privileges,
        "oomScoreAdj": config.oom_score_adj.unwrap_or(0),
    });
    if !rlimits.is_empty() {
        process["rlimits"] = rlimits.into();
    }

    // Namespaces.
    let mut namespaces = vec![json!({"type": "mount"})];
    match &config.pid {
        PidMode::Private => namespaces.push(json!({"type": "pid"})),
        PidMode::Host => {}
        PidMode::Container(_) => {
            namespaces.push(json!({"type": "pid", "path": facts.pidns_path}));
        }
    }
    match &config.ipc {
        IpcMode::Private | IpcMode::Shareable => namespaces.push(json!({"type": "ipc"})),
        IpcMode::Host => {}
        IpcMode::Container(_) => {
            namespaces.push(json!({"type": "ipc", "path": facts.ipcns_path}));
        }
    }
    let host_net = matches!(config.network, NetworkMode::Host);
    match &config.network {
        NetworkMode::None => namespaces.push(json!({"type": "network"})),
        NetworkMode::Host => {}
        NetworkMode::Path(p) => namespaces.push(json!({"type": "network", "path": p})),
        NetworkMode::Container(_) => {
            namespaces.push(json!({"type": "network", "path": facts.netns_path}))
        }
    }
    // As Docker: with the host's network the container also keeps the host's hostname.
    if !host_net {
        namespaces.push(json!({"type": "uts"}));
    }
    if host.cgroupns && !config.privileged {
        namespaces.push(json!({"type": "cgroup"}));
    }

    // Mounts.
    let shm_size = config.shm_size.unwrap_or(64 * 1024 * 1024);
    let mut defaults: Vec<Value> = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", if config.privileged { "rw" } else { "ro" }]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", if config.privileged { "rw" } else { "ro" }]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
    ];
    match &facts.shm_source {
        Some(src) => defaults.push(json!({"destination": "/dev/shm", "type": "bind",
            "source": src, "options": ["rbind", "nosuid", "noexec", "nodev"]})),
        None => defaults.push(
            json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm_size}")]}),
        ),
    }
    let mut user_mounts: Vec<(String, Value)> = Vec::new();
    for m in &config.mounts {
        if !m.destination.starts_with('/') {
            return Err(SpecError::RelativeMount(m.destination.clone()));
        }
        let mut options = vec!["rbind".to_string()];
        options.push(if m.read_only { "ro" } else { "rw" }.into());
        options.push(m.propagation.clone().unwrap_or_else(|| "rprivate".into()));
        options.extend(m.options.iter().cloned());
        user_mounts.push((
            m.destination.clone(),
            json!({"destination": m.destination, "type": "bind", "source": m.source, "options": options}),
        ));
    }
    for t in &config.tmpfs {
        if !t.destination.starts_with('/') {
            return Err(SpecError::RelativeMount(t.destination.clone()));
        }
        let mut options: Vec<String> = Vec::new();
        for (def, neg) in [("noexec", "exec"), ("nosuid", "suid"), ("nodev", "dev")] {
            if !t.options.iter().any(|o| o == neg || o == def) {
                options.push(def.into());
            }
        }
        options.extend(t.options.iter().cloned());
        if let Some(size) = t.size {
            options.push(format!("size={size}"));
        }
        if let Some(mode) = t.mode {
            options.push(format!("mode={mode:o}"));
        }
        user_mounts.push((
            t.destination.clone(),
            json!({"destination": t.destination, "type": "tmpfs", "source": "tmpfs", "options": options}),
        ));
    }
    for (f, src) in config.files.iter().zip(&facts.files) {
        let options = vec!["rbind", "rprivate", if f.read_only { "ro" } else { "rw" }];
        user_mounts.push((
            f.destination.clone(),
            json!({"destination": f.destination, "type": "bind", "source": src, "options": options}),
        ));
    }
    if let Some(init) = &facts.init_binary
        && config.init
    {
        user_mounts.push((
            INIT_PATH.into(),
            json!({"destination": INIT_PATH, "type": "bind", "source": init,
                   "options": ["bind", "ro", "nosuid", "nodev"]}),
        ));
    }
    // A user mount replaces a default one at the same destination (moby `WithMounts`).
    defaults.retain(|d| {
        let dest = d["destination"].as_str().unwrap_or_default();
        !user_mounts
            .iter()
            .any(|(u, _)| u.trim_end_matches('/') == dest)
    });
    user_mounts.sort_by_key(|(d, _)| sort_depth(d));
    let mut mounts = defaults;
    mounts.extend(user_mounts.into_iter().map(|(_, v)| v));

    // Devices and their cgroup rules.
    let mut device_rules: Vec<Value> = if config.privileged {
        vec![json!({"allow": true, "access": "rwm"})]
    } else {
        security::default_device_rules()
            .iter()
            .map(|r| r.to_json())
            .collect()
    };
    let mut devices = Vec::new();
    for d in &facts.devices {
        devices.push(json!({
            "path": d.container_path, "type": d.kind.to_string(), "major": d.major,
            "minor": d.minor, "fileMode": d.file_mode, "uid": d.uid, "gid": d.gid,
        }));
        if !config.privileged {
            device_rules.push(json!({"allow": true, "type": d.kind.to_string(),
                "major": d.major, "minor": d.minor, "access": d.permissions}));
        }
    }
    if !config.privileged {
        for r in &config.device_cgroup_rules {
            device_rules.push(security::parse_device_rule(r)?.to_json());
        }
    }

    // Resources.
    let r = &config.resources;
    let mut resources = json!({ "devices": device_rules });
    let mut memory = serde_json::Map::new();
    if let Some(m) = r.memory.filter(|m| *m > 0) {
        memory.insert("limit".into(), m.into());
        if host.swap_accounting {
            match r.memory_swap {
                Some(s) if s != 0 => {
                    memory.insert("swap".into(), s.into());
                }
                // Docker: memory alone allows as much swap again.
                _ => {
                    memory.insert("swap".into(), (m * 2).into());
                }
            }
        }
    } else if let Some(s) = r.memory_swap.filter(|s| *s != 0)
        && host.swap_accounting
    {
        memory.insert("swap".into(), s.into());
    }
    if let Some(m) = r.memory_reservation.filter(|m| *m > 0) {
        memory.insert("reservation".into(), m.into());
    }
    if let Some(s) = r.memory_swappiness {
        memory.insert("swappiness".into(), s.into());
    }
    if config.oom_kill_disable {
        memory.insert("disableOOMKiller".into(), true.into());
    }
    if !memory.is_empty() {
        resources["memory"] = memory.into();
    }
    let mut cpu = serde_json::Map::new();
    if let Some(s) = r.cpu_shares.filter(|s| *s > 0) {
        cpu.insert("shares".into(), s.into());
    }
    if let Some(cpus) = r.cpus.filter(|c| *c > 0.0) {
        let period: u64 = 100_000;
        cpu.insert("period".into(), period.into());
        cpu.insert(
            "quota".into(),
            ((cpus * period as f64).round() as i64).into(),
        );
    } else {
        if let Some(p) = r.cpu_period.filter(|p| *p > 0) {
            cpu.insert("period".into(), p.into());
        }
        if let Some(q) = r.cpu_quota.filter(|q| *q != 0) {
            cpu.insert("quota".into(), q.into());
        }
    }
    if let Some(c) = r.cpuset_cpus.clone().filter(|c| !c.is_empty()) {
        cpu.insert("cpus".into(), c.into());
    }
    if let Some(m) = r.cpuset_mems.clone().filter(|c| !c.is_empty()) {
        cpu.insert("mems".into(), m.into());
    }
    if !cpu.is_empty() {
        resources["cpu"] = cpu.into();
    }
    if let Some(p) = r.pids_limit.filter(|p| *p > 0) {
        resources["pids"] = json!({ "limit": p });
    }
    if let Some(w) = r.blkio_weight.filter(|w| *w > 0) {
        resources["blockIO"] = json!({ "weight": w });
    }

    for k in config.sysctls.keys() {
        check_sysctl(k, config)?;
    }

    let cgroups_path = config.cgroups_path();

    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": cgroups_path,
        "resources": resources,
        "devices": devices,
        "sysctl": config.sysctls,
    });
    if !config.privileged {
        let mut masked: Vec<String> = security::MASKED_PATHS
            .iter()
            .map(|s| s.to_string())
            .collect();
        masked.extend(host.extra_masked_paths.iter().cloned());
        linux["maskedPaths"] = masked.into();
        linux["readonlyPaths"] = security::READONLY_PATHS.to_vec().into();
        let profile = match &sec.seccomp {
            Some(None) => None,
            Some(Some(_)) => Some(seccomp::parse_profile(
                facts.seccomp_profile.as_deref().unwrap_or("{}"),
                "security_opt seccomp",
            )?),
            None => Some(seccomp::parse_profile(seccomp::DEFAULT_PROFILE, "default")?),
        };
        if let Some(profile) = profile
            && let Some(s) = seccomp::to_oci(&profile, &caps, &host.seccomp_target)?
        {
            linux["seccomp"] =
                serde_json::to_value(s).map_err(|e| SpecError::Oci(e.to_string()))?;
        }
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": { "path": facts.rootfs, "readonly": config.read_only },
        "mounts": mounts,
        "linux": linux,
        "annotations": {},
    });
    if !host_net {
        spec["hostname"] = config.effective_hostname().into();
        if let Some(d) = config.domainname.clone().filter(|d| !d.is_empty()) {
            spec["domainname"] = d.into();
        }
    }
    serde_json::from_value(spec).map_err(|e| SpecError::Oci(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::config::*;

    fn host() -> HostFacts {
        HostFacts {
            cgroup_v2: false,
            swap_accounting: true,
            cgroupns: true,
            seccomp_target: Target {
                go_arch: "amd64".into(),
                native_arch: "SCMP_ARCH_X86_64".into(),
                kernel: (6, 1),
            },
            caps: security::ALL_CAPS.to_vec(),
            extra_masked_paths: vec![],
        }
    }

    fn base() -> ContainerConfig {
        ContainerConfig {
            id: "0123456789abcdef".repeat(4),
            name: "p-web-1".into(),
            rootfs: Rootfs::Dir("/r".into()),
            image: ImageConfig {
                env: Some(vec!["PATH=/bin".into(), "A=image".into(), "B=image".into()]),
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn facts() -> StartFacts {
        StartFacts {
            rootfs: "/r".into(),
            passwd: Some(
                "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n".into(),
            ),
            group: Some("root:x:0:\nwheel:x:10:root\n".into()),
            ..Default::default()
        }
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn cmd(
        ep: Option<&[&str]>,
        c: Option<&[&str]>,
        iep: Option<&[&str]>,
        icmd: Option<&[&str]>,
    ) -> Result<Vec<String>, SpecError> {
        let mut cfg = base();
        cfg.entrypoint = ep.map(v);
        cfg.command = c.map(v);
        cfg.image.entrypoint = iep.map(v);
        cfg.image.cmd = icmd.map(v);
        command(&cfg)
    }

    #[test]
    fn entrypoint_and_command_follow_docker_merge() {
        let ie = Some(&["/entry"][..]);
        let ic = Some(&["default"][..]);
        assert_eq!(cmd(None, None, ie, ic).unwrap(), v(&["/entry", "default"]));
        assert_eq!(
            cmd(None, Some(&["x"]), ie, ic).unwrap(),
            v(&["/entry", "x"])
        );
        // An empty command keeps the image's CMD.
        assert_eq!(
            cmd(None, Some(&[]), ie, ic).unwrap(),
            v(&["/entry", "default"])
        );
        // A new entrypoint drops the image's CMD.
        assert_eq!(cmd(Some(&["/new"]), None, ie, ic).unwrap(), v(&["/new"]));
        assert_eq!(
            cmd(Some(&["/new"]), Some(&["a"]), ie, ic).unwrap(),
            v(&["/new", "a"])
        );
        // `entrypoint: []` clears the image's entrypoint but keeps its CMD.
        assert_eq!(cmd(Some(&[]), None, ie, ic).unwrap(), v(&["default"]));
        assert_eq!(cmd(Some(&[""]), Some(&["ls"]), ie, ic).unwrap(), v(&["ls"]));
        assert!(matches!(
            cmd(Some(&[]), None, ie, None),
            Err(SpecError::NoCommand)
        ));
    }

    #[test]
    fn environment_is_merged_like_docker() {
        let mut c = base();
        c.env = v(&["B=file", "C=file", "B=env", "A"]);
        c.tty = true;
        let env = environment(&c, "/root");
        assert_eq!(
            env,
            v(&[
                "PATH=/bin",
                &format!("HOSTNAME={}", &c.id[..12]),
                "TERM=xterm",
                "B=env",
                "C=file",
                "HOME=/root"
            ])
        );
    }

    #[test]
    fn defaults_match_docker() {
        let spec = build(&base(), &facts(), &host()).unwrap();
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.args().as_ref().unwrap(), &v(&["sh"]));
        assert_eq!(p.cwd(), Path::new("/"));
        assert_eq!(p.user().uid(), 0);
        assert_eq!(p.user().additional_gids().as_ref().unwrap(), &vec![10]);
        let caps = p.capabilities().as_ref().unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
        assert!(caps.inheritable().as_ref().is_none_or(|i| i.is_empty()));
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(
            linux.cgroups_path().as_ref().unwrap(),
            Path::new(&format!("/rcompose/{}", base().id))
        );
        assert_eq!(linux.masked_paths().as_ref().unwrap().len(), 12);
        assert!(linux.seccomp().is_some());
        let mounts = spec.mounts().as_ref().unwrap();
        let shm = mounts
            .iter()
            .find(|m| m.destination() == Path::new("/dev/shm"))
            .unwrap();
        assert!(
            shm.options()
                .as_ref()
                .unwrap()
                .contains(&"size=67108864".to_string())
        );
        assert_eq!(spec.hostname().as_deref(), Some(&base().id[..12]));
    }

    #[test]
    fn privileged_lifts_confinement() {
        let mut c = base();
        c.privileged = true;
        let spec = build(&c, &facts(), &host()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.seccomp().is_none());
        assert!(linux.masked_paths().is_none());
        assert_eq!(
            spec.process()
                .as_ref()
                .unwrap()
                .capabilities()
                .as_ref()
                .unwrap()
                .bounding()
                .as_ref()
                .unwrap()
                .len(),
            security::ALL_CAPS.len()
        );
    }

    #[test]
    fn resources_map_to_oci() {
        let mut c = base();
        c.resources.cpus = Some(1.5);
        c.resources.memory = Some(64 << 20);
        c.resources.pids_limit = Some(20);
        let spec = build(&c, &facts(), &host()).unwrap();
        let res = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        let cpu = res.cpu().as_ref().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
        let mem = res.memory().as_ref().unwrap();
        assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(128 << 20)));
        assert_eq!(res.pids().as_ref().unwrap().limit(), 20);
    }

    #[test]
    fn user_mounts_replace_defaults_and_sort_by_depth() {
        let mut c = base();
        c.tmpfs = vec![TmpfsMount {
            destination: "/dev/shm".into(),
            size: Some(1024),
            ..Default::default()
        }];
        c.mounts = vec![
            Mount {
                source: "/h/a/b".into(),
                destination: "/data/sub".into(),
                ..Default::default()
            },
            Mount {
                source: "/h/a".into(),
                destination: "/data".into(),
                read_only: true,
                ..Default::default()
            },
        ];
        let spec = build(&c, &facts(), &host()).unwrap();
        let dests: Vec<_> = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect();
        assert_eq!(dests.iter().filter(|d| *d == "/dev/shm").count(), 1);
        let i = dests.iter().position(|d| d == "/data").unwrap();
        let j = dests.iter().position(|d| d == "/data/sub").unwrap();
        assert!(i < j);
    }

    #[test]
    fn bad_input_is_refused_with_the_thing_named() {
        let mut c = base();
        c.user = Some("ghost".into());
        assert!(
            build(&c, &facts(), &host())
                .unwrap_err()
                .to_string()
                .contains("ghost")
        );
        let mut c = base();
        c.working_dir = Some("rel".into());
        assert!(matches!(
            build(&c, &facts(), &host()),
            Err(SpecError::RelativeWorkdir(_))
        ));
        let mut c = base();
        c.sysctls.insert("kernel.panic".into(), "1".into());
        assert!(matches!(
            build(&c, &facts(), &host()),
            Err(SpecError::Sysctl(_))
        ));
        let mut c = base();
        c.network = NetworkMode::Host;
        c.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        assert!(matches!(
            build(&c, &facts(), &host()),
            Err(SpecError::Sysctl(_))
        ));
        let mut c = base();
        c.ulimits = vec![Ulimit {
            name: "nofiles".into(),
            soft: 1,
            hard: 1,
        }];
        assert!(matches!(
            build(&c, &facts(), &host()),
            Err(SpecError::UnknownUlimit(_))
        ));
        let mut c = base();
        c.stop_signal = Some("SIGWHAT".into());
        assert!(matches!(
            build(&c, &facts(), &host()),
            Err(SpecError::StopSignal(_))
        ));
    }
}
