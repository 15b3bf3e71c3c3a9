//! One run of a container, as the shim performs it: read the start-time facts, build the
//! spec, hand it to libcontainer with our stdio, bring `lo` up, start. Single-threaded
//! processes only (it calls libcontainer).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use oci_spec::runtime::Spec;
use thiserror::Error;

use super::config::{ContainerConfig, IpcMode, NetworkMode, PidMode};
use super::control::short_socket_path;
use super::executor;
use super::layout::Layout;
use super::lc::{self, Stdio};
use super::spec::{self, HostFacts, ResolvedDevice, StartFacts};
use super::state::State;
use super::{proc, rootfs, sys};

#[derive(Debug, Error)]
pub enum LaunchError {
    #[error("{0}")]
    Spec(#[from] spec::SpecError),
    #[error("{0}")]
    Lc(#[from] lc::LcError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

impl LaunchError {
    /// Docker's exit code for a container that could not start.
    pub fn exit_code(&self) -> i32 {
        executor::start_error_exit_code(&self.to_string())
    }
}

/// The descriptors the shim holds for a running container.
#[derive(Default)]
pub struct RunIo {
    /// Read ends of the container's stdout and stderr (no tty).
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Write end of the container's stdin (`stdin_open`, no tty).
    pub stdin: Option<OwnedFd>,
    /// The pty master (tty): output and input.
    pub pty: Option<OwnedFd>,
}

/// A created (not yet started) container run.
pub struct Created {
    pub pid: i32,
    pub pid_start: u64,
    pub io: RunIo,
    pub spec: Spec,
    /// The container's seccomp program, for exec'd processes.
    pub seccomp: Option<(Vec<u8>, u64)>,
}

/// Where the injected file number `i` lives on the host.
pub fn injected_file_path(layout: &Layout, id: &str, i: usize, destination: &str) -> PathBuf {
    let base = Path::new(destination)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    layout.files(id).join(format!("{i}-{base}"))
}

fn resolve_device(
    host_path: &Path,
    container_path: &str,
    perms: &str,
) -> Result<ResolvedDevice, LaunchError> {
    let md =
        std::fs::metadata(host_path).map_err(io(format!("device `{}`", host_path.display())))?;
    let ft = md.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else if ft.is_fifo() {
        'p'
    } else {
        return Err(LaunchError::Other(format!(
            "`{}` is not a device",
            host_path.display()
        )));
    };
    let rdev = md.rdev();
    Ok(ResolvedDevice {
        container_path: container_path.to_string(),
        kind,
        major: nix::sys::stat::major(rdev) as i64,
        minor: nix::sys::stat::minor(rdev) as i64,
        file_mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        permissions: perms.to_string(),
    })
}

/// Every device node under the host's `/dev` (privileged containers), as runc's
/// `HostDevices`.
fn host_devices() -> Vec<ResolvedDevice> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::from("/dev")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                let name = e.file_name();
                if !matches!(
                    name.to_str(),
                    Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")
                ) {
                    stack.push(p);
                }
            } else if (ft.is_char_device() || ft.is_block_device())
                && p != Path::new("/dev/console")
                && let Ok(dev) = resolve_device(&p, &p.to_string_lossy(), "rwm")
            {
                out.push(dev);
            }
        }
    }
    out.sort_by(|a, b| a.container_path.cmp(&b.container_path));
    out
}

/// The init pid of another container (for `container:<id>` modes).
fn other_container_pid(layout: &Layout, other: &str) -> Result<i32, LaunchError> {
    let st = State::load(&layout.state(other))
        .map_err(|_| LaunchError::Other(format!("container `{other}` does not exist")))?;
    if st.init_alive() {
        Ok(st.pid.unwrap_or(0))
    } else {
        Err(LaunchError::Other(format!(
            "container `{other}` is not running"
        )))
    }
}

/// Gather the facts of this start (reads the rootfs and the host).
pub fn start_facts(layout: &Layout, config: &ContainerConfig) -> Result<StartFacts, LaunchError> {
    let root = rootfs::ensure_mounted(layout, &config.id, &config.rootfs).map_err(io("rootfs"))?;
    let mut facts = StartFacts {
        passwd: rootfs::read_in_root(&root, "/etc/passwd"),
        group: rootfs::read_in_root(&root, "/etc/group"),
        rootfs: root,
        ..Default::default()
    };
    for d in &config.devices {
        let cpath = d
            .container_path
            .clone()
            .unwrap_or_else(|| d.host_path.to_string_lossy().into_owned());
        facts.devices.push(resolve_device(
            &d.host_path,
            &cpath,
            d.permissions.as_deref().unwrap_or("rwm"),
        )?);
    }
    if config.privileged {
        let mine: Vec<String> = facts
            .devices
            .iter()
            .map(|d| d.container_path.clone())
            .collect();
        facts.devices.extend(
            host_devices()
                .into_iter()
                .filter(|d| !mine.contains(&d.container_path)),
        );
    }
    facts.files = config
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| injected_file_path(layout, &config.id, i, &f.destination))
        .collect();
    if config.init {
        facts.init_binary =
            Some(super::init::install(&layout.bin()).map_err(io("install the init binary"))?);
    }
    let sec = super::security::parse_security_opts(&config.security_opt)
        .map_err(spec::SpecError::from)?;
    if let Some(Some(path)) = &sec.seccomp {
        facts.seccomp_profile =
            Some(std::fs::read_to_string(path).map_err(io(format!("seccomp profile `{path}`")))?);
    }
    if let NetworkMode::Container(other) = &config.network {
        let pid = other_container_pid(layout, other)?;
        facts.netns_path = Some(format!("/proc/{pid}/ns/net").into());
    }
    match &config.ipc {
        IpcMode::Container(other) => {
            let pid = other_container_pid(layout, other)?;
            facts.ipcns_path = Some(format!("/proc/{pid}/ns/ipc").into());
            facts.shm_source = Some(proc::root_of(pid).join("dev/shm"));
        }
        IpcMode::Host => facts.shm_source = Some("/dev/shm".into()),
        _ => {}
    }
    if let PidMode::Container(other) = &config.pid {
        let pid = other_container_pid(layout, other)?;
        facts.pidns_path = Some(format!("/proc/{pid}/ns/pid").into());
    }
    Ok(facts)
}

fn pipe() -> Result<(OwnedFd, OwnedFd), LaunchError> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| io("pipe")(e.into()))
}

/// Receive one file descriptor sent with SCM_RIGHTS.
pub fn recv_fd(sock: &impl AsRawFd) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut buf = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = c
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel installed this descriptor for us.
            return Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(*fd) });
        }
    }
    Err(std::io::Error::other("no file descriptor received"))
}

/// Build everything and create the container (init waiting for [`start`]).
pub fn create(
    layout: &Layout,
    config: &ContainerConfig,
    host: &HostFacts,
) -> Result<Created, LaunchError> {
    let id = &config.id;
    let facts = start_facts(layout, config)?;
    let spec = spec::build(config, &facts, host)?;
    spec.save(layout.spec(id))
        .map_err(|e| LaunchError::Other(format!("write {}: {e}", layout.spec(id).display())))?;
    if let Some(p) = spec.process()
        && !config.read_only
    {
        rootfs::mkdir_all_in_root(&facts.rootfs, p.cwd(), p.user().uid(), p.user().gid()).map_err(
            io(format!(
                "create the working directory `{}`",
                p.cwd().display()
            )),
        )?;
    }
    let (runtime_spec, plan) = executor::prepare(&spec, &layout.seccomp_cache())
        .map_err(|e| LaunchError::Other(e.to_string()))?;
    let bundle = layout.bundle(id);
    fs_err::create_dir_all(&bundle).map_err(io("bundle"))?;
    runtime_spec
        .save(bundle.join("config.json"))
        .map_err(|e| LaunchError::Other(format!("write the runtime spec: {e}")))?;
    let seccomp = plan.seccomp_bpf.clone().map(|b| (b, plan.seccomp_flags));
    fs_err::create_dir_all(layout.lc_root()).map_err(io("libcontainer root"))?;
    // A previous run that was not cleaned up (crash) would make libcontainer refuse.
    let _ = lc::delete(id, &layout.lc_root(), true);

    let mut rio = RunIo::default();
    let mut stdio = Stdio::default();
    let mut console: Option<(UnixListener, PathBuf, OwnedFd)> = None;
    if config.tty {
        fs_err::create_dir_all(layout.shim_sockets()).map_err(io("socket dir"))?;
        let name = format!("{id}.tty");
        let full = layout.shim_sockets().join(&name);
        let _ = std::fs::remove_file(&full);
        let (dirfd, short) =
            short_socket_path(&layout.shim_sockets(), &name).map_err(io("console socket"))?;
        let l = UnixListener::bind(&short).map_err(io("console socket"))?;
        console = Some((l, full, dirfd));
    } else {
        let (r, w) = pipe()?;
        rio.stdout = Some(r);
        stdio.stdout = Some(w);
        let (r, w) = pipe()?;
        rio.stderr = Some(r);
        stdio.stderr = Some(w);
    }
    if config.stdin_open && !config.tty {
        let (r, w) = pipe()?;
        rio.stdin = Some(w);
        stdio.stdin = Some(r);
    } else if !config.tty {
        let null = std::fs::File::open("/dev/null").map_err(io("/dev/null"))?;
        stdio.stdin = Some(null.into());
    }
    let pid = lc::create(lc::CreateOptions {
        id,
        lc_root: &layout.lc_root(),
        bundle: &bundle,
        plan,
        stdio,
        console_socket: console.as_ref().map(|(_, p, _)| p.as_path()),
        pid_file: None,
        detach: true,
        preserve_fds: 0,
    })?;
    if let Some((listener, full, _dirfd)) = console {
        let (conn, _) = listener.accept().map_err(io("console socket"))?;
        let master = recv_fd(&conn).map_err(io("receive the pty master"))?;
        let _ = std::fs::remove_file(full);
        rio.pty = Some(master);
    }
    if matches!(config.network, NetworkMode::None | NetworkMode::Path(_)) {
        // libcontainer leaves loopback down in a new namespace; runc brings it up.
        sys::bring_lo_up_in(pid)
            .map_err(|e| LaunchError::Other(format!("cannot bring lo up: {e}")))?;
    }
    let pid_start = proc::start_time(pid).unwrap_or(0);
    Ok(Created {
        pid,
        pid_start,
        io: rio,
        spec,
        seccomp,
    })
}

/// Let the created container run its workload.
pub fn start(layout: &Layout, id: &str) -> Result<(), LaunchError> {
    lc::start(id, &layout.lc_root())?;
    Ok(())
}

/// Delete libcontainer's state and the cgroup after the container exited.
pub fn cleanup_run(layout: &Layout, id: &str) {
    let _ = lc::delete(id, &layout.lc_root(), true);
    let _ = std::fs::remove_dir_all(layout.bundle(id));
}
