//! [`Runtime`]: the lifecycle operations the engine calls. Synchronous and safe to call from
//! a multi-threaded process (the engine uses `spawn_blocking`): nothing here calls
//! libcontainer; work that needs it runs in the shim or a freshly exec'd helper.
//!
//! Every verb is *lock → refresh → guard → act → save*: a per-container `flock` serialises
//! lifecycle changes; `refresh` re-derives liveness from `/proc` and repairs a container
//! whose shim died (its processes are killed, its cgroup and mounts removed, and it is
//! recorded as exited with an error saying so).

use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use oci_spec::runtime::{Process, Spec};
use thiserror::Error;

use super::cgroups::{Cgroup, Stats};
use super::config::{ContainerConfig, MountKind, Rootfs};
use super::control::{Request, Response, ShimClient};
use super::layout::Layout;
use super::spec::{self, HostFacts, StartFacts};
use super::state::{State, Status};
use super::{launch, proc, rootfs, signals, user};
use crate::logs::LogOptions;
use crate::paths::Paths;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("container `{0}` already exists")]
    Exists(String),
    #[error("invalid container id `{0}`: expected 64 lowercase hex characters")]
    BadId(String),
    #[error("container `{id}` is not running")]
    NotRunning { id: String },
    #[error("container `{id}` is paused, unpause the container before {action}")]
    Paused { id: String, action: &'static str },
    #[error(
        "you cannot remove a running container `{id}`. Stop the container before attempting removal or force remove"
    )]
    RemoveRunning { id: String },
    #[error("invalid configuration of container `{id}`: {message}")]
    Invalid { id: String, message: String },
    #[error(
        "ulimit `{name}`: {which} limit {value} is above this host's hard limit {host} (rcompose has no CAP_SYS_RESOURCE to raise it)"
    )]
    UlimitAboveHost {
        name: String,
        which: &'static str,
        value: u64,
        host: u64,
    },
    #[error("cannot start container `{id}`: {message}")]
    StartFailed {
        id: String,
        message: String,
        /// Docker's exit code for it (127 not found, 126 not executable, 128 other).
        exit_code: i32,
    },
    #[error("the supervisor of container `{id}` did not respond: {message}")]
    Shim { id: String, message: String },
    #[error("{what} `{path}`")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

type Result<T> = std::result::Result<T, RuntimeError>;

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RuntimeError {
    let path = path.to_path_buf();
    move |source| RuntimeError::Io { what, path, source }
}

/// A fresh random container id (64 lowercase hex characters, like Docker's).
pub fn new_id() -> String {
    let mut b = [0u8; 32];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    hex::encode(b)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// Rename `dir` to a hidden name (so it vanishes from listings at once, even if the process
/// dies half-way), then delete it. Returns the hidden name if the deletion failed.
pub fn remove_dir_atomically(dir: &Path) -> Option<PathBuf> {
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let tmp = dir.with_file_name(format!(".{name}.removing"));
    if std::fs::rename(dir, &tmp).is_err() {
        let _ = std::fs::remove_dir_all(dir);
        return dir.exists().then(|| dir.to_path_buf());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    tmp.exists().then_some(tmp)
}

/// A container as `ps`/`inspect` see it.
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    pub config: ContainerConfig,
    pub state: State,
}

/// What `exec` runs.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    /// `-u`: `name|uid[:group|gid]`, resolved in the container.
    pub user: Option<String>,
    /// `-w`
    pub workdir: Option<String>,
    /// `-e KEY=VALUE` (a bare `KEY` takes the value from the caller's environment, as Docker)
    pub env: Vec<String>,
    /// `-t`
    pub tty: bool,
    /// `-i` (otherwise stdin is `/dev/null`)
    pub interactive: bool,
    /// `-d`
    pub detach: bool,
    /// `--privileged`
    pub privileged: bool,
    /// Capture stdout and stderr instead of inheriting the caller's.
    pub capture: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// `top`: Docker's titles and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// What `remove` removed.
#[derive(Debug, Clone, Default)]
pub struct Removed {
    /// Anonymous volumes of the container, for the caller to delete when asked
    /// (`rm -v`, `down -v`). The runtime does not own volumes.
    pub anonymous_volumes: Vec<String>,
}

/// A per-container lock (flock, released on drop).
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// The runtime's entry point for the engine.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub layout: Layout,
    /// The rcompose binary (re-executed as shim and exec helper).
    pub exe: PathBuf,
}

impl Runtime {
    /// Use the running binary as the shim (the normal case).
    pub fn new(paths: Paths) -> Self {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        Runtime {
            layout: Layout::new(paths),
            exe,
        }
    }

    /// Use `exe` as the shim binary (tests run from a test harness binary).
    pub fn with_exe(paths: Paths, exe: impl Into<PathBuf>) -> Self {
        Runtime {
            layout: Layout::new(paths),
            exe: exe.into(),
        }
    }

    /// Take the container's lifecycle lock (blocking).
    pub fn lock(&self, id: &str) -> Result<Lock> {
        let dir = self.layout.paths.locks();
        fs_err::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let path = self.layout.lock(id);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open the lock", &path))?;
        loop {
            // SAFETY: flock(2) on a descriptor we own; released when the File is closed.
            let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                return Ok(Lock(f));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(RuntimeError::Io {
                    what: "lock",
                    path,
                    source: e,
                });
            }
        }
    }

    /// Check a configuration without touching anything.
    pub fn validate(&self, config: &ContainerConfig) -> Result<()> {
        let invalid = |message: String| RuntimeError::Invalid {
            id: config.id.clone(),
            message,
        };
        if !valid_id(&config.id) {
            return Err(RuntimeError::BadId(config.id.clone()));
        }
        LogOptions::from_config(&config.logging.driver, &config.logging.options)
            .map_err(|e| invalid(e.to_string()))?;
        // Everything the spec checks, except what needs the image's files.
        let mut dry = config.clone();
        dry.user = None;
        dry.image.user = None;
        dry.group_add.clear();
        let facts = StartFacts {
            rootfs: PathBuf::from("/"),
            ..Default::default()
        };
        spec::build(&dry, &facts, HostFacts::cached()).map_err(|e| invalid(e.to_string()))?;
        if matches!(&config.rootfs, Rootfs::Dir(p) if !p.is_dir()) {
            return Err(invalid("its root directory does not exist".into()));
        }
        if let Rootfs::Overlay { lowerdirs } = &config.rootfs {
            if lowerdirs.is_empty() {
                return Err(invalid("an overlay rootfs needs at least one layer".into()));
            }
            if let Some(l) = lowerdirs.iter().find(|l| !l.is_dir()) {
                return Err(invalid(format!(
                    "layer directory `{}` does not exist",
                    l.display()
                )));
            }
        }
        for m in &config.mounts {
            if m.kind == MountKind::Bind && !m.source.exists() {
                return Err(invalid(format!(
                    "bind source `{}` does not exist",
                    m.source.display()
                )));
            }
        }
        for d in &config.devices {
            if !d.host_path.exists() {
                return Err(invalid(format!(
                    "device `{}` does not exist",
                    d.host_path.display()
                )));
            }
        }
        // Limits above the host's hard limit cannot be set without CAP_SYS_RESOURCE.
        if !super::sys::has_cap_sys_resource() {
            for u in &config.ulimits {
                if let Some(res) = spec::rlimit_resource(&u.name)
                    && let Ok((_, hard)) = nix::sys::resource::getrlimit(res)
                {
                    for (which, value) in [("hard", u.hard), ("soft", u.soft)] {
                        if hard != libc::RLIM_INFINITY && value > hard {
                            return Err(RuntimeError::UlimitAboveHost {
                                name: u.name.clone(),
                                which,
                                value,
                                host: hard,
                            });
                        }
                    }
                }
            }
            if let Some(adj) = config.oom_score_adj {
                let own: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
                if adj < own {
                    return Err(invalid(format!(
                        "oom_score_adj {adj} is below this process's ({own}) and rcompose has no CAP_SYS_RESOURCE to lower it"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Create the container: its directory, `container.json`, `state.json` (created), the
    /// injected files. Nothing runs until [`Runtime::start`].
    pub fn create(&self, config: &ContainerConfig) -> Result<()> {
        self.validate(config)?;
        let id = &config.id;
        let _lock = self.lock(id)?;
        let dir = self.layout.dir(id);
        if dir.join("container.json").exists() {
            return Err(RuntimeError::Exists(id.clone()));
        }
        let result = (|| {
            fs_err::create_dir_all(&dir).map_err(io_err("create", &dir))?;
            if !config.files.is_empty() {
                fs_err::create_dir_all(self.layout.files(id))
                    .map_err(io_err("create", &self.layout.files(id)))?;
            }
            for (i, f) in config.files.iter().enumerate() {
                let p = launch::injected_file_path(&self.layout, id, i, &f.destination);
                fs_err::write(&p, &f.contents).map_err(io_err("write", &p))?;
            }
            State::new_created()
                .save(&self.layout.state(id))
                .map_err(io_err("write", &self.layout.state(id)))?;
            let bytes = serde_json::to_vec_pretty(config)
                .map_err(|e| RuntimeError::Other(e.to_string()))?;
            super::state::write_durable(&self.layout.config(id), &bytes)
                .map_err(io_err("write", &self.layout.config(id)))
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        result
    }

    fn load_config(&self, id: &str) -> Result<ContainerConfig> {
        let p = self.layout.config(id);
        let bytes = std::fs::read(&p).map_err(|_| RuntimeError::NotFound(id.to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| RuntimeError::Other(format!("{}: {e}", p.display())))
    }

    fn load_state(&self, id: &str) -> Result<State> {
        State::load(&self.layout.state(id)).map_err(|_| RuntimeError::NotFound(id.to_string()))
    }

    /// The container's state with liveness re-derived from `/proc`; repairs a container
    /// whose shim died.
    pub fn state(&self, id: &str) -> Result<State> {
        let st = self.load_state(id)?;
        if st.status.is_active() && !st.shim_alive() {
            let _lock = self.lock(id)?;
            let st = self.load_state(id)?;
            if st.status.is_active() && !st.shim_alive() {
                return self.repair(id, st);
            }
            return Ok(st);
        }
        Ok(st)
    }

    /// The shim died: stop what is left of the container and record it.
    fn repair(&self, id: &str, mut st: State) -> Result<State> {
        let config = self.load_config(id)?;
        let cg = Cgroup::open(&config.cgroups_path());
        let had_procs = !cg.procs().is_empty() || st.init_alive();
        cg.kill_all(Duration::from_secs(5));
        let _ = cg.remove();
        let _ = std::fs::remove_dir_all(self.layout.lc_root().join(id));
        let _ = std::fs::remove_dir_all(self.layout.bundle(id));
        let _ = std::fs::remove_file(self.layout.shim_sockets().join(Layout::socket_name(id)));
        let _ = rootfs::unmount(&self.layout, id);
        let code = if had_procs {
            137
        } else {
            st.exit_code.unwrap_or(255)
        };
        st.status = Status::Exited { code };
        st.exit_code = Some(code);
        st.pid = None;
        st.pid_start = None;
        st.shim_pid = None;
        st.shim_start = None;
        st.finished_at = Some(Utc::now());
        st.error = Some(
            "the container's supervisor (shim) died unexpectedly; the container was stopped".into(),
        );
        st.save(&self.layout.state(id))
            .map_err(io_err("write", &self.layout.state(id)))?;
        Ok(st)
    }

    pub fn inspect(&self, id: &str) -> Result<ContainerInfo> {
        Ok(ContainerInfo {
            config: self.load_config(id)?,
            state: self.state(id)?,
        })
    }

    /// All containers under the state root (refreshed).
    pub fn list(&self) -> Result<Vec<ContainerInfo>> {
        let dir = self.layout.containers();
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if !valid_id(&id) {
                continue;
            }
            if let Ok(info) = self.inspect(&id) {
                out.push(info);
            }
        }
        out.sort_by_key(|a| a.state.created_at);
        Ok(out)
    }

    /// Find a container by full id, unique id prefix, or name.
    pub fn find(&self, key: &str) -> Result<String> {
        if valid_id(key) && self.layout.config(key).exists() {
            return Ok(key.to_string());
        }
        let all = self.list()?;
        if let Some(c) = all.iter().find(|c| c.config.name == key) {
            return Ok(c.config.id.clone());
        }
        let matches: Vec<&ContainerInfo> = all
            .iter()
            .filter(|c| c.config.id.starts_with(key))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.config.id.clone()),
            _ => Err(RuntimeError::NotFound(key.to_string())),
        }
    }

    fn client(&self, id: &str) -> Result<ShimClient> {
        ShimClient::connect(&self.layout, id).map_err(|e| RuntimeError::Shim {
            id: id.to_string(),
            message: e.to_string(),
        })
    }

    fn call(&self, id: &str, req: &Request, timeout: Option<Duration>) -> Result<Response> {
        let mut c = self.client(id)?;
        c.call(req, timeout).map_err(|e| RuntimeError::Shim {
            id: id.to_string(),
            message: e.to_string(),
        })
    }

    /// Start a created or exited container (no-op if running). Returns once its process
    /// runs, or with [`RuntimeError::StartFailed`].
    pub fn start(&self, id: &str) -> Result<()> {
        self.start_inner(id, false)
    }

    /// Start with the shim holding the container until an `attach` with `start: true`
    /// (so an attached client sees the first byte of output). Used by [`Runtime::attach`].
    pub fn start_held(&self, id: &str) -> Result<()> {
        self.start_inner(id, true)
    }

    fn start_inner(&self, id: &str, hold: bool) -> Result<()> {
        let _lock = self.lock(id)?;
        let st = self.load_state(id)?;
        let st = if st.status.is_active() && !st.shim_alive() {
            self.repair(id, st)?
        } else {
            st
        };
        if st.status == Status::Created && st.shim_alive() {
            // Held by `start_held` and never attached: let it go.
            let r = self.call(id, &Request::Start, Some(Duration::from_secs(30)))?;
            return if r.ok {
                Ok(())
            } else {
                Err(RuntimeError::StartFailed {
                    id: id.into(),
                    message: r.error.unwrap_or_default(),
                    exit_code: r.exit_code.unwrap_or(128),
                })
            };
        }
        match st.status {
            Status::Running | Status::Restarting => return Ok(()),
            Status::Paused => {
                return Err(RuntimeError::Paused {
                    id: id.into(),
                    action: "starting it",
                });
            }
            Status::Dead => {
                return Err(RuntimeError::Other(format!("container `{id}` is dead")));
            }
            _ => {}
        }
        self.spawn_shim(id, hold)
    }

    fn spawn_shim(&self, id: &str, hold: bool) -> Result<()> {
        let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| RuntimeError::Other(e.to_string()))?;
        let log_path = self.layout.shim_log(id);
        fs_err::create_dir_all(self.layout.shim_sockets())
            .map_err(io_err("create", &self.layout.shim_sockets()))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&log_path)
            .map_err(io_err("open", &log_path))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("shim")
            .arg("run")
            .arg("--root")
            .arg(&self.layout.paths.root)
            .arg("--run")
            .arg(&self.layout.paths.run)
            .arg("--id")
            .arg(id)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_err("open", &log_path))?)
            .stderr(log)
            .env_remove("RCOMPOSE_LOG");
        // `RCOMPOSE_SHIM_LOG=libcontainer=debug` puts libcontainer's tracing in shim.log.
        if let Ok(filter) = std::env::var("RCOMPOSE_SHIM_LOG") {
            cmd.env("RCOMPOSE_LOG", filter);
        }
        if hold {
            cmd.arg("--hold");
        }
        let wfd = w.as_raw_fd();
        // SAFETY: the closure only calls dup2/fcntl, async-signal-safe, on fds we own.
        unsafe {
            cmd.pre_exec(move || {
                if wfd == 3 {
                    let flags = libc::fcntl(3, libc::F_GETFD);
                    libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                } else if libc::dup2(wfd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(io_err("run", &self.exe))?;
        drop(w);
        // The first shim process forks the real one and exits at once.
        let _ = child.wait();
        let mut reader = BufReader::new(std::fs::File::from(r));
        let mut line = Vec::new();
        let _ = reader.read_until(b'\n', &mut line);
        let resp: Option<Response> = serde_json::from_slice(&line).ok();
        match resp {
            Some(r) if r.ok => Ok(()),
            Some(r) => Err(RuntimeError::StartFailed {
                id: id.into(),
                message: r.error.unwrap_or_default(),
                exit_code: r.exit_code.unwrap_or(128),
            }),
            None => {
                let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
                let last: Vec<&str> = tail.lines().rev().take(5).collect();
                Err(RuntimeError::StartFailed {
                    id: id.into(),
                    message: format!(
                        "the supervisor exited without reporting ({})",
                        last.into_iter().rev().collect::<Vec<_>>().join("; ")
                    ),
                    exit_code: 128,
                })
            }
        }
    }

    /// Stop: the stop signal, then SIGKILL after `timeout` (default: the container's grace
    /// period; `Some(None)`... see [`Runtime::stop_with`]). Returns the exit code, or `None`
    /// if it was not running.
    pub fn stop(&self, id: &str, timeout: Option<Duration>) -> Result<Option<i32>> {
        self.stop_with(id, timeout, None)
    }

    /// [`Runtime::stop`] with an explicit signal.
    pub fn stop_with(
        &self,
        id: &str,
        timeout: Option<Duration>,
        signal: Option<&str>,
    ) -> Result<Option<i32>> {
        let config = self.load_config(id)?;
        let st = self.state(id)?;
        if !st.status.is_active() && !st.shim_alive() {
            return Ok(None);
        }
        let timeout = timeout.unwrap_or_else(|| config.effective_stop_grace_period());
        let signal = match signal {
            Some(s) => Some(signals::parse(s).map_err(RuntimeError::Other)?),
            None => None,
        };
        let req = Request::Stop {
            timeout_ms: Some(timeout.as_millis() as u64),
            signal,
        };
        match self.call(id, &req, Some(timeout + Duration::from_secs(30))) {
            Ok(r) if r.ok => {
                self.wait_shim_gone(id, Duration::from_secs(10));
                Ok(r.exit_code)
            }
            Ok(r) => Err(RuntimeError::Other(r.error.unwrap_or_default())),
            Err(_) => {
                // The shim vanished meanwhile: refresh repairs.
                let st = self.state(id)?;
                Ok(st.exit_code)
            }
        }
    }

    fn wait_shim_gone(&self, id: &str, max: Duration) {
        let t = Instant::now();
        while t.elapsed() < max {
            match self.load_state(id) {
                Ok(st) if st.shim_pid.is_some() && st.shim_alive() => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                _ => return,
            }
        }
    }

    /// Send a signal (`SIGKILL`, `TERM`, `9`...) to the container's init.
    pub fn kill(&self, id: &str, signal: &str) -> Result<()> {
        let sig = signals::parse(signal).map_err(RuntimeError::Other)?;
        let st = self.state(id)?;
        if !matches!(st.status, Status::Running | Status::Paused) {
            return Err(RuntimeError::NotRunning { id: id.into() });
        }
        let r = self.call(
            id,
            &Request::Kill { signal: sig },
            Some(Duration::from_secs(10)),
        )?;
        if r.ok {
            Ok(())
        } else {
            Err(RuntimeError::Other(r.error.unwrap_or_default()))
        }
    }

    pub fn pause(&self, id: &str) -> Result<()> {
        let r = self.call(id, &Request::Pause, Some(Duration::from_secs(15)))?;
        if r.ok {
            Ok(())
        } else {
            Err(RuntimeError::Other(r.error.unwrap_or_default()))
        }
    }

    pub fn unpause(&self, id: &str) -> Result<()> {
        let r = self.call(id, &Request::Unpause, Some(Duration::from_secs(15)))?;
        if r.ok {
            Ok(())
        } else {
            Err(RuntimeError::Other(r.error.unwrap_or_default()))
        }
    }

    /// Stop (if running) and start again.
    pub fn restart(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        self.stop(id, timeout)?;
        self.start(id)
    }

    /// Block until the container is not running; its exit code.
    pub fn wait(&self, id: &str) -> Result<i32> {
        loop {
            let st = self.state(id)?;
            if !st.status.is_active() {
                return Ok(st.exit_code.unwrap_or(0));
            }
            match self.call(id, &Request::Wait, None) {
                Ok(r) if r.ok => {
                    if let Some(c) = r.exit_code {
                        return Ok(c);
                    }
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Remove the container: refuses a running one unless `force` (which kills it).
    pub fn remove(&self, id: &str, force: bool) -> Result<Removed> {
        let config = self.load_config(id)?;
        let st = self.state(id)?;
        if st.status.is_active() && !force {
            return Err(RuntimeError::RemoveRunning { id: id.into() });
        }
        if st.status.is_active() || st.shim_alive() {
            let _ = self.stop_with(id, Some(Duration::ZERO), Some("SIGKILL"));
        }
        // A shim that just stopped its container exits within moments.
        self.wait_shim_gone(id, Duration::from_secs(5));
        let _lock = self.lock(id)?;
        let st = self.load_state(id)?;
        if st.shim_alive() {
            return Err(RuntimeError::RemoveRunning { id: id.into() });
        }
        // Leftovers of a crash.
        let cg = Cgroup::open(&config.cgroups_path());
        cg.kill_all(Duration::from_secs(5));
        let _ = cg.remove();
        let _ = std::fs::remove_dir_all(self.layout.lc_root().join(id));
        let _ = std::fs::remove_dir_all(self.layout.bundle(id));
        rootfs::unmount(&self.layout, id).map_err(io_err("unmount", &self.layout.rootfs(id)))?;
        let _ = std::fs::remove_file(self.layout.shim_log(id));
        let dir = self.layout.dir(id);
        let tmp = remove_dir_atomically(&dir);
        if let Some(t) = tmp.filter(|t| t.exists()) {
            fs_err::remove_dir_all(&t).map_err(io_err("remove", &t))?;
        }
        let _ = std::fs::remove_file(self.layout.lock(id));
        Ok(Removed {
            anonymous_volumes: config.anonymous_volumes(),
        })
    }

    /// Processes in the container, as `docker top` shows them.
    pub fn top(&self, id: &str) -> Result<Top> {
        let config = self.load_config(id)?;
        let st = self.state(id)?;
        if !matches!(st.status, Status::Running | Status::Paused) {
            return Err(RuntimeError::NotRunning { id: id.into() });
        }
        let titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let processes = Cgroup::open(&config.cgroups_path())
            .procs()
            .into_iter()
            .filter_map(proc::process_row)
            .map(|r| {
                vec![
                    r.user,
                    r.pid.to_string(),
                    r.ppid.to_string(),
                    r.c.to_string(),
                    r.stime,
                    r.tty,
                    r.time,
                    r.cmd,
                ]
            })
            .collect();
        Ok(Top { titles, processes })
    }

    /// Resource usage from the cgroup files.
    pub fn stats(&self, id: &str) -> Result<Stats> {
        let config = self.load_config(id)?;
        let st = self.state(id)?;
        Ok(Cgroup::open(&config.cgroups_path()).stats(st.pid))
    }

    /// Path of the container's log file (rotated files are `<path>.1`, `.2`, ...).
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.layout.log(id)
    }

    /// Run a process in the running container. Returns its exit code (and output when
    /// `capture`). With `tty` and a terminal on stdin, the caller's terminal is used raw.
    pub fn exec(&self, id: &str, o: &ExecOptions) -> Result<ExecOutput> {
        let st = self.state(id)?;
        match st.status {
            Status::Running => {}
            Status::Paused => {
                return Err(RuntimeError::Paused {
                    id: id.into(),
                    action: "exec",
                });
            }
            _ => return Err(RuntimeError::NotRunning { id: id.into() }),
        }
        if o.cmd.is_empty() {
            return Err(RuntimeError::Other("exec: no command given".into()));
        }
        let config = self.load_config(id)?;
        let spec = Spec::load(self.layout.spec(id))
            .map_err(|e| RuntimeError::Other(format!("{}: {e}", self.layout.spec(id).display())))?;
        let mut process: Process = spec.process().clone().unwrap_or_default();
        process.set_args(Some(o.cmd.clone()));
        process.set_terminal(Some(o.tty));
        process.set_oom_score_adj(None);
        let env_overrides: Vec<String> = o
            .env
            .iter()
            .map(|e| {
                if e.contains('=') {
                    e.clone()
                } else {
                    std::env::var(e)
                        .map(|v| format!("{e}={v}"))
                        .unwrap_or_else(|_| e.clone())
                }
            })
            .collect();
        let env =
            spec::replace_or_append_env(process.env().clone().unwrap_or_default(), &env_overrides);
        process.set_env(Some(env));
        if let Some(w) = o.workdir.as_ref().filter(|w| !w.is_empty()) {
            if !w.starts_with('/') {
                return Err(RuntimeError::Other(format!(
                    "the working directory `{w}` is invalid, it needs to be an absolute path"
                )));
            }
            process.set_cwd(w.into());
        }
        if let Some(u) = o.user.as_ref().filter(|u| !u.is_empty()) {
            let root = proc::root_of(st.pid.unwrap_or(0));
            let passwd = rootfs::read_in_root(&root, "/etc/passwd");
            let group = rootfs::read_in_root(&root, "/etc/group");
            let eu = user::resolve(u, &[], passwd.as_deref(), group.as_deref())
                .map_err(|e| RuntimeError::Other(e.to_string()))?;
            let mut pu = process.user().clone();
            pu.set_uid(eu.uid);
            pu.set_gid(eu.gid);
            pu.set_additional_gids(Some(eu.additional_gids));
            process.set_user(pu);
            let mut env = process.env().clone().unwrap_or_default();
            env = spec::replace_or_append_env(env, &[format!("HOME={}", eu.home)]);
            process.set_env(Some(env));
        }
        if o.privileged && !config.privileged {
            let all = super::security::host_caps();
            let caps: std::collections::HashSet<oci_spec::runtime::Capability> = all
                .iter()
                .filter_map(|c| serde_json::from_value(serde_json::json!(c)).ok())
                .collect();
            let mut c = process.capabilities().clone().unwrap_or_default();
            c.set_bounding(Some(caps.clone()));
            c.set_effective(Some(caps.clone()));
            c.set_permitted(Some(caps));
            process.set_capabilities(Some(c));
        }
        let dir = self.layout.exec_dir();
        fs_err::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let file = dir.join(format!("{id}-req-{}.json", new_id()));
        super::state::write_atomic(&file, &serde_json::to_vec(&process).unwrap_or_default())
            .map_err(io_err("write", &file))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("shim")
            .arg("exec")
            .arg("--root")
            .arg(&self.layout.paths.root)
            .arg("--run")
            .arg(&self.layout.paths.run)
            .arg("--id")
            .arg(id)
            .arg("--process")
            .arg(&file)
            .env_remove("RCOMPOSE_LOG");
        if o.detach {
            cmd.arg("--detach");
        }
        if !o.interactive && !o.tty {
            cmd.stdin(Stdio::null());
        }
        let out = if o.capture && !o.tty {
            let out = cmd
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
                .map_err(io_err("run", &self.exe))?;
            ExecOutput {
                exit_code: out.status.code().unwrap_or(255),
                stdout: out.stdout,
                stderr: out.stderr,
            }
        } else {
            let status = cmd.status().map_err(io_err("run", &self.exe))?;
            ExecOutput {
                exit_code: status.code().unwrap_or(255),
                ..Default::default()
            }
        };
        let _ = std::fs::remove_file(&file);
        Ok(out)
    }

    /// The host directory holding the container's root filesystem, mounting the overlay
    /// if the container is not running. Returned guard unmounts what it mounted.
    pub fn rootfs_access(&self, id: &str) -> Result<RootfsAccess> {
        let config = self.load_config(id)?;
        let _lock = self.lock(id)?;
        let was_mounted = match &config.rootfs {
            Rootfs::Dir(_) => true,
            Rootfs::Overlay { .. } => rootfs::is_mount_point(&self.layout.rootfs(id)),
        };
        let path = rootfs::ensure_mounted(&self.layout, id, &config.rootfs)
            .map_err(io_err("mount", &self.layout.rootfs(id)))?;
        Ok(RootfsAccess {
            path,
            unmount: (!was_mounted).then(|| (self.layout.clone(), id.to_string())),
            config,
        })
    }
}

/// Access to a container's root filesystem (see [`Runtime::rootfs_access`]).
pub struct RootfsAccess {
    pub path: PathBuf,
    pub config: ContainerConfig,
    unmount: Option<(Layout, String)>,
}

impl Drop for RootfsAccess {
    fn drop(&mut self) {
        if let Some((layout, id)) = self.unmount.take() {
            // Only if no shim started the container meanwhile.
            let running = State::load(&layout.state(&id))
                .map(|s| s.shim_alive())
                .unwrap_or(false);
            if !running {
                let _ = rootfs::unmount(&layout, &id);
            }
        }
    }
}
