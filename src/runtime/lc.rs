//! The only code that calls libcontainer. Every function here forks (raw `clone3`, no
//! fork handlers) and runs Rust code in the child, so it may only be called from a
//! single-threaded process — the shim, `rcompose oci`, or a freshly exec'd helper — never
//! from the CLI's tokio process (allocator locks held by other threads deadlock the child;
//! see `shared/notes/libcontainer.md`). [`ensure_single_threaded`] enforces it.
//!
//! Side effects libcontainer has on its caller, and how they are contained:
//! - it writes the spec's `oomScoreAdj` into the caller's `/proc/self/oom_score_adj`:
//!   [`create`] restores the caller's value afterwards;
//! - it `chdir`s around its notify socket and makes the caller non-dumpable: harmless in a
//!   dedicated process;
//! - init inherits the caller's open files until `execve` (close-on-exec only): the shim
//!   closes every descriptor it does not pass before calling in.

use std::os::fd::OwnedFd;
use std::path::Path;

use libcontainer::container::Container;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::signal::Signal;
use thiserror::Error;

use super::executor::{ExecPlan, RcExecutor};

#[derive(Debug, Error)]
pub enum LcError {
    #[error("libcontainer must run in a single-threaded process (this one has {0} threads)")]
    NotSingleThreaded(usize),
    #[error("{0}")]
    Libcontainer(String),
}

fn lc(e: impl std::error::Error) -> LcError {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg.push_str(": ");
            msg.push_str(&m);
        }
        src = s.source();
    }
    LcError::Libcontainer(msg)
}

/// Refuse to go on in a multi-threaded process.
pub fn ensure_single_threaded() -> Result<(), LcError> {
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
        })
        .unwrap_or(1);
    if threads > 1 {
        return Err(LcError::NotSingleThreaded(threads));
    }
    Ok(())
}

/// Standard streams handed to the container's process.
#[derive(Default)]
pub struct Stdio {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

fn read_oom_score_adj() -> Option<String> {
    std::fs::read_to_string("/proc/self/oom_score_adj").ok()
}

fn restore_oom_score_adj(saved: Option<String>) {
    if let Some(v) = saved {
        let _ = std::fs::write("/proc/self/oom_score_adj", v.trim());
    }
}

fn builder(
    id: &str,
    lc_root: &Path,
    plan: ExecPlan,
    stdio: Stdio,
) -> Result<ContainerBuilder, LcError> {
    let mut b = ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_root_path(lc_root)
        .map_err(lc)?
        .with_executor(RcExecutor { plan });
    if let Some(fd) = stdio.stdin {
        b = b.with_stdin(fd);
    }
    if let Some(fd) = stdio.stdout {
        b = b.with_stdout(fd);
    }
    if let Some(fd) = stdio.stderr {
        b = b.with_stderr(fd);
    }
    Ok(b)
}

/// Options of [`create`].
pub struct CreateOptions<'a> {
    pub id: &'a str,
    pub lc_root: &'a Path,
    /// A directory holding the `config.json` libcontainer runs (see `executor::prepare`).
    pub bundle: &'a Path,
    pub plan: ExecPlan,
    pub stdio: Stdio,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    /// Detached: init is not tied to the caller's terminal (always, except `oci run`).
    pub detach: bool,
    /// Preserve this many fds after stdio (`--preserve-fds`).
    pub preserve_fds: i32,
}

/// Create the container: namespaces, cgroup, mounts, init waiting for [`start`].
/// Returns the init's host pid (a child of the caller).
pub fn create(o: CreateOptions<'_>) -> Result<i32, LcError> {
    ensure_single_threaded()?;
    let saved = read_oom_score_adj();
    let result = (|| {
        let container = builder(o.id, o.lc_root, o.plan, o.stdio)?
            .with_console_socket(o.console_socket)
            .with_pid_file(o.pid_file)
            .map_err(lc)?
            .with_preserved_fds(o.preserve_fds)
            .validate_id()
            .map_err(lc)?
            .as_init(o.bundle)
            .with_systemd(false)
            .with_detach(o.detach)
            .build()
            .map_err(lc)?;
        container
            .pid()
            .map(|p| p.as_raw())
            .ok_or_else(|| LcError::Libcontainer("libcontainer returned no init pid".into()))
    })();
    restore_oom_score_adj(saved);
    result
}

fn load(id: &str, lc_root: &Path) -> Result<Container, LcError> {
    Container::load(lc_root.join(id)).map_err(lc)
}

/// Let the created container's init exec the workload.
pub fn start(id: &str, lc_root: &Path) -> Result<(), LcError> {
    ensure_single_threaded()?;
    load(id, lc_root)?.start().map_err(lc)
}

/// Send a signal to the init (or to all processes).
pub fn kill(id: &str, lc_root: &Path, sig: Signal, all: bool) -> Result<(), LcError> {
    load(id, lc_root)?.kill(sig, all).map_err(lc)
}

/// Delete libcontainer's state and the cgroup (killing what is left when `force`).
pub fn delete(id: &str, lc_root: &Path, force: bool) -> Result<(), LcError> {
    ensure_single_threaded()?;
    match Container::load(lc_root.join(id)) {
        Ok(mut c) => c.delete(force).map_err(lc),
        Err(_) if !lc_root.join(id).exists() => Ok(()),
        Err(e) => Err(lc(e)),
    }
}

/// Options of [`exec`].
pub struct ExecOptions<'a> {
    pub id: &'a str,
    pub lc_root: &'a Path,
    /// A `process.json` (OCI `Process`) describing the new process.
    pub process_file: &'a Path,
    pub plan: ExecPlan,
    pub stdio: Stdio,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub detach: bool,
    pub preserve_fds: i32,
}

/// Start a process in the running container's namespaces and cgroup. Returns its host pid
/// (a child of the caller).
pub fn exec(o: ExecOptions<'_>) -> Result<i32, LcError> {
    ensure_single_threaded()?;
    let saved = read_oom_score_adj();
    let result = builder(o.id, o.lc_root, o.plan, o.stdio).and_then(|b| {
        b.with_console_socket(o.console_socket)
            .with_pid_file(o.pid_file)
            .map_err(lc)?
            .with_preserved_fds(o.preserve_fds)
            .as_tenant()
            .with_process(Some(o.process_file))
            .with_detach(o.detach)
            .build()
            .map(|p| p.as_raw())
            .map_err(lc)
    });
    restore_oom_score_adj(saved);
    result
}
