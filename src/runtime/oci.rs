//! `rcompose oci`: a runc-compatible command line over the same machinery as the shim, so
//! OCI bundles can be run by rcompose and compared with `runc` (same flags, same state
//! JSON, same exit behaviour: `run` returns the container's exit code).
//!
//! State lives under the `--root` directory (default `<run>/oci`): libcontainer's own
//! `<root>/<id>/` plus ours in `<root>/.rcompose/<id>/` (the bundle path the user gave, the
//! spec as handed to libcontainer, and the executor plan for `exec`).
//!
//! Every function here calls libcontainer: single-threaded processes only.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use libcontainer::container::{Container, ContainerStatus};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use oci_spec::runtime::{Process, Spec};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::executor;
use super::lc::{self, LcError, Stdio};
use super::sys;

#[derive(Debug, Error)]
pub enum OciError {
    #[error("cannot read the bundle spec `{path}`")]
    Spec {
        path: PathBuf,
        #[source]
        source: oci_spec::OciSpecError,
    },
    #[error("container `{0}` does not exist")]
    NotFound(String),
    #[error("container `{0}` already exists")]
    Exists(String),
    #[error("cannot delete container `{id}` that is not stopped: {status}")]
    NotStopped { id: String, status: String },
    #[error("container `{id}` is not running ({status})")]
    NotRunning { id: String, status: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Seccomp(#[from] super::seccomp::SeccompError),
    #[error(transparent)]
    Lc(#[from] LcError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What we keep next to libcontainer's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: DateTime<Utc>,
    /// The container's compiled seccomp program (in the cache) and its flags, for `exec`.
    pub seccomp_bpf_file: Option<PathBuf>,
    pub seccomp_flags: u64,
    pub annotations: std::collections::HashMap<String, String>,
}

/// Directories of one `--root`.
pub struct OciRoot {
    pub root: PathBuf,
}

impl OciRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OciRoot { root: root.into() }
    }
    fn ours(&self, id: &str) -> PathBuf {
        self.root.join(".rcompose").join(id)
    }
    fn seccomp_cache(&self) -> PathBuf {
        self.root.join(".rcompose").join("seccomp")
    }
    fn load_meta(&self, id: &str) -> Result<Meta, OciError> {
        let p = self.ours(id).join("meta.json");
        let bytes = std::fs::read(&p).map_err(|_| OciError::NotFound(id.into()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| OciError::Invalid(format!("{}: {e}", p.display())))
    }
    fn container(&self, id: &str) -> Result<Container, OciError> {
        if !self.root.join(id).join("state.json").exists() {
            return Err(OciError::NotFound(id.into()));
        }
        Container::load(self.root.join(id))
            .map_err(|e| OciError::Lc(LcError::Libcontainer(e.to_string())))
    }
}

/// Options of `create` / `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateArgs {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: i32,
    pub detach: bool,
}

fn status_word(s: ContainerStatus) -> &'static str {
    match s {
        ContainerStatus::Creating => "creating",
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Stopped => "stopped",
        ContainerStatus::Paused => "paused",
    }
}

fn has_new_netns(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter().any(|n| {
                n.typ() == oci_spec::runtime::LinuxNamespaceType::Network && n.path().is_none()
            })
        })
}

/// `create`: set the container up, init waiting for `start`. Returns the init pid.
pub fn create(root: &OciRoot, a: &CreateArgs) -> Result<i32, OciError> {
    let bundle = std::fs::canonicalize(&a.bundle)
        .map_err(|e| OciError::Invalid(format!("bundle `{}`: {e}", a.bundle.display())))?;
    let spec_path = bundle.join("config.json");
    let mut spec = Spec::load(&spec_path).map_err(|source| OciError::Spec {
        path: spec_path.clone(),
        source,
    })?;
    if root.root.join(&a.id).exists() || root.ours(&a.id).exists() {
        return Err(OciError::Exists(a.id.clone()));
    }
    let rootfs_rel = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .ok_or_else(|| OciError::Invalid("the spec has no root".into()))?;
    let rootfs = if rootfs_rel.is_absolute() {
        rootfs_rel
    } else {
        bundle.join(rootfs_rel)
    };
    if let Some(r) = spec.root_mut() {
        r.set_path(rootfs.clone());
    }
    fs_err::create_dir_all(&root.root)?;
    let (runtime_spec, plan) = executor::prepare(&spec, &root.seccomp_cache())?;
    let ours = root.ours(&a.id);
    fs_err::create_dir_all(&ours)?;
    let cleanup = |e: OciError| {
        let _ = std::fs::remove_dir_all(root.ours(&a.id));
        e
    };
    runtime_spec
        .save(ours.join("config.json"))
        .map_err(|e| cleanup(OciError::Invalid(e.to_string())))?;
    let meta = Meta {
        bundle: bundle.clone(),
        rootfs,
        created: Utc::now(),
        seccomp_bpf_file: spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().as_ref())
            .map(|sc| {
                root.seccomp_cache()
                    .join(format!("{}.bpf", super::seccomp::cache_key(sc)))
            }),
        seccomp_flags: plan.seccomp_flags,
        annotations: spec.annotations().clone().unwrap_or_default(),
    };
    super::state::write_atomic(
        &ours.join("meta.json"),
        &serde_json::to_vec(&meta).map_err(std::io::Error::other)?,
    )
    .map_err(|e| cleanup(e.into()))?;
    sys::close_fds_except(&keep_fds(a.preserve_fds, a.console_socket.is_some()));
    let pid = lc::create(lc::CreateOptions {
        id: &a.id,
        lc_root: &root.root,
        bundle: &ours,
        plan,
        stdio: Stdio::default(),
        console_socket: a.console_socket.as_deref(),
        pid_file: a.pid_file.as_deref(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
    })
    .map_err(|e| cleanup(e.into()))?;
    if has_new_netns(&spec) {
        // runc brings loopback up in a new network namespace; libcontainer does not.
        sys::bring_lo_up_in(pid)
            .map_err(|e| OciError::Invalid(format!("cannot bring lo up: {e}")))?;
    }
    Ok(pid)
}

fn keep_fds(preserve: i32, _console: bool) -> Vec<i32> {
    (3..3 + preserve.max(0)).collect()
}

/// `start`.
pub fn start(root: &OciRoot, id: &str) -> Result<(), OciError> {
    root.container(id)?;
    lc::start(id, &root.root)?;
    Ok(())
}

/// `run`: create, start, wait (forwarding signals), delete; returns the exit code. With
/// `detach`, returns 0 once started.
pub fn run(root: &OciRoot, a: &CreateArgs) -> Result<i32, OciError> {
    // Block the signals we forward before anything forks; our executor resets the mask in
    // the container.
    let forwarded = [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
        Signal::SIGCHLD,
    ];
    let set = if a.detach {
        None
    } else {
        Some(sys::block_signals(&forwarded).map_err(std::io::Error::from)?)
    };
    let pid = create(root, a)?;
    if let Err(e) = start(root, &a.id) {
        let _ = lc::delete(&a.id, &root.root, true);
        let _ = std::fs::remove_dir_all(root.ours(&a.id));
        return Err(e);
    }
    let Some(set) = set else { return Ok(0) };
    let code = wait_forwarding(pid, &set);
    let _ = lc::delete(&a.id, &root.root, true);
    let _ = std::fs::remove_dir_all(root.ours(&a.id));
    Ok(code)
}

fn wait_forwarding(pid: i32, set: &SigSet) -> i32 {
    let pid = Pid::from_raw(pid);
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Err(nix::errno::Errno::ECHILD) => return 255,
            _ => {}
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => {}
            Ok(sig) => {
                let _ = nix::sys::signal::kill(pid, sig);
            }
            Err(_) => {}
        }
    }
}

/// The OCI state document, as `runc state` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: DateTime<Utc>,
    pub owner: String,
    #[serde(skip_serializing_if = "std::collections::HashMap::is_empty", default)]
    pub annotations: std::collections::HashMap<String, String>,
}

pub fn state(root: &OciRoot, id: &str) -> Result<OciState, OciError> {
    let c = root.container(id)?;
    let meta = root.load_meta(id)?;
    let status = c.status();
    Ok(OciState {
        oci_version: "1.0.2".into(),
        id: id.into(),
        pid: if status == ContainerStatus::Stopped {
            0
        } else {
            c.pid().map(|p| p.as_raw()).unwrap_or(0)
        },
        status: status_word(status).into(),
        bundle: meta.bundle,
        rootfs: meta.rootfs,
        created: c.created().unwrap_or(meta.created),
        owner: String::new(),
        annotations: meta.annotations,
    })
}

/// All containers under the root.
pub fn list(root: &OciRoot) -> Result<Vec<OciState>, OciError> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&root.root) else {
        return Ok(out);
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if let Ok(s) = state(root, &name) {
            out.push(s);
        }
    }
    out.sort_by_key(|a| a.created);
    Ok(out)
}

/// `kill [--all] ID SIGNAL`.
pub fn kill(root: &OciRoot, id: &str, sig: i32, all: bool) -> Result<(), OciError> {
    let c = root.container(id)?;
    if !c.can_kill() {
        return Err(OciError::NotRunning {
            id: id.into(),
            status: status_word(c.status()).into(),
        });
    }
    let sig =
        Signal::try_from(sig).map_err(|_| OciError::Invalid(format!("invalid signal {sig}")))?;
    lc::kill(id, &root.root, sig, all)?;
    Ok(())
}

/// `delete [--force] ID`.
pub fn delete(root: &OciRoot, id: &str, force: bool) -> Result<(), OciError> {
    let c = match root.container(id) {
        Ok(c) => c,
        Err(OciError::NotFound(_)) if root.ours(id).exists() => {
            let _ = std::fs::remove_dir_all(root.ours(id));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if !force
        && !matches!(
            c.status(),
            ContainerStatus::Stopped | ContainerStatus::Created
        )
    {
        return Err(OciError::NotStopped {
            id: id.into(),
            status: status_word(c.status()).into(),
        });
    }
    // runc deletes a created (never started) container by killing its init.
    lc::delete(id, &root.root, true)?;
    let _ = std::fs::remove_dir_all(root.ours(id));
    Ok(())
}

pub fn pause(root: &OciRoot, id: &str) -> Result<(), OciError> {
    let mut c = root.container(id)?;
    c.pause()
        .map_err(|e| OciError::Lc(LcError::Libcontainer(e.to_string())))
}

pub fn resume(root: &OciRoot, id: &str) -> Result<(), OciError> {
    let mut c = root.container(id)?;
    c.resume()
        .map_err(|e| OciError::Lc(LcError::Libcontainer(e.to_string())))
}

/// Options of `exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecArgs {
    pub id: String,
    /// `--process` file; otherwise built from the other fields and the container's spec.
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub tty: bool,
    pub user: Option<(u32, u32)>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: i32,
}

/// `exec`: run a process in the container. Returns its exit code (0 when detached).
pub fn exec(root: &OciRoot, a: &ExecArgs) -> Result<i32, OciError> {
    let c = root.container(&a.id)?;
    if c.status() != ContainerStatus::Running {
        return Err(OciError::NotRunning {
            id: a.id.clone(),
            status: status_word(c.status()).into(),
        });
    }
    let meta = root.load_meta(&a.id)?;
    let spec = Spec::load(meta.bundle.join("config.json")).map_err(|source| OciError::Spec {
        path: meta.bundle.join("config.json"),
        source,
    })?;
    let mut process: Process = match &a.process {
        Some(p) => {
            let bytes = fs_err::read(p)?;
            serde_json::from_slice(&bytes)
                .map_err(|e| OciError::Invalid(format!("{}: {e}", p.display())))?
        }
        None => {
            let base = spec.process().clone().unwrap_or_default();
            let mut p = base.clone();
            if a.args.is_empty() {
                return Err(OciError::Invalid("exec: no command given".into()));
            }
            p.set_args(Some(a.args.clone()));
            let mut env = base.env().clone().unwrap_or_default();
            env = super::spec::replace_or_append_env(env, &a.env);
            p.set_env(Some(env));
            if let Some(cwd) = &a.cwd {
                p.set_cwd(cwd.into());
            }
            p.set_terminal(Some(a.tty));
            if let Some((uid, gid)) = a.user {
                let mut u = p.user().clone();
                u.set_uid(uid);
                u.set_gid(gid);
                p.set_user(u);
            }
            if !a.additional_gids.is_empty() {
                let mut u = p.user().clone();
                u.set_additional_gids(Some(a.additional_gids.clone()));
                p.set_user(u);
            }
            if a.no_new_privs {
                p.set_no_new_privileges(Some(true));
            }
            if !a.caps.is_empty() {
                let mut caps = p.capabilities().clone().unwrap_or_default();
                for name in &a.caps {
                    let cap: oci_spec::runtime::Capability =
                        serde_json::from_value(serde_json::json!(name)).map_err(|_| {
                            OciError::Invalid(format!("unknown capability `{name}`"))
                        })?;
                    let mut b = caps.bounding().clone().unwrap_or_default();
                    b.insert(cap);
                    caps.set_bounding(Some(b));
                    let mut e = caps.effective().clone().unwrap_or_default();
                    e.insert(cap);
                    caps.set_effective(Some(e));
                    let mut pm = caps.permitted().clone().unwrap_or_default();
                    pm.insert(cap);
                    caps.set_permitted(Some(pm));
                }
                p.set_capabilities(Some(caps));
            }
            p
        }
    };
    let container_bpf = match &meta.seccomp_bpf_file {
        Some(f) => Some((fs_err::read(f)?, meta.seccomp_flags)),
        None => None,
    };
    let plan = executor::prepare_process(&mut process, container_bpf);
    let tty = process.terminal().unwrap_or(false);
    let exec_dir = root.ours(&a.id);
    let process_file = exec_dir.join(format!("process-{}.json", std::process::id()));
    super::state::write_atomic(
        &process_file,
        &serde_json::to_vec(&process).map_err(std::io::Error::other)?,
    )?;
    let set = if a.detach {
        None
    } else {
        Some(
            sys::block_signals(&[
                Signal::SIGINT,
                Signal::SIGTERM,
                Signal::SIGHUP,
                Signal::SIGQUIT,
                Signal::SIGUSR1,
                Signal::SIGUSR2,
                Signal::SIGCHLD,
            ])
            .map_err(std::io::Error::from)?,
        )
    };
    let r = lc::exec(lc::ExecOptions {
        id: &a.id,
        lc_root: &root.root,
        process_file: &process_file,
        plan,
        stdio: Stdio::default(),
        console_socket: if tty && a.detach {
            a.console_socket.as_deref()
        } else {
            None
        },
        pid_file: a.pid_file.as_deref(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
    });
    let _ = std::fs::remove_file(&process_file);
    let pid = r?;
    match set {
        None => Ok(0),
        Some(set) => Ok(wait_forwarding(pid, &set)),
    }
}

/// The file descriptor of stdin, for callers that check for a terminal.
pub fn stdin_is_tty() -> bool {
    nix::unistd::isatty(std::io::stdin().as_raw_fd()).unwrap_or(false)
}

/// Resolve `Path` relative to the bundle like runc does for `root.path`.
pub fn bundle_rootfs(bundle: &Path, spec: &Spec) -> PathBuf {
    let p = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    if p.is_absolute() { p } else { bundle.join(p) }
}
