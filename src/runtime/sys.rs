//! The fenced `unsafe`: raw syscalls the runtime needs that nix does not wrap, and process
//! set-up for the single-threaded shim and helpers. Each block states its invariant.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

/// Close every file descriptor above 2 except those in `keep`.
pub fn close_fds_except(keep: &[RawFd]) {
    let mut fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    fds.sort_unstable();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            // SAFETY: closing a descriptor we own; the directory iterator's own fd is
            // already closed (read_dir finished) or gets EBADF harmlessly.
            unsafe { libc::close(fd) };
        }
    }
}

/// Become a child subreaper: orphaned descendants are reparented to us, so we reap them.
pub fn set_child_subreaper() -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// Block `signals` for this (single) thread so they can be read from a signalfd.
pub fn block_signals(signals: &[Signal]) -> Result<SigSet, Errno> {
    let mut set = SigSet::empty();
    for s in signals {
        set.add(*s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    Ok(set)
}

/// Unblock all signals and restore every disposition to its default. Run in a process that
/// is about to exec a workload, so it does not inherit our mask (the shim blocks SIGCHLD
/// and friends for its signalfd) or Rust's ignored SIGPIPE.
pub fn reset_signals() {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL is always valid; invalid numbers return EINVAL.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// Load a raw BPF program (`struct sock_filter` array) as this process's seccomp filter.
pub fn load_seccomp(bpf: &[u8], flags: libc::c_ulong) -> Result<(), Errno> {
    if bpf.is_empty()
        || !bpf
            .len()
            .is_multiple_of(std::mem::size_of::<libc::sock_filter>())
    {
        return Err(Errno::EINVAL);
    }
    let prog = libc::sock_fprog {
        len: (bpf.len() / std::mem::size_of::<libc::sock_filter>()) as u16,
        filter: bpf.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points into `bpf`, which outlives the call; the kernel copies it.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    })
    .map(drop)
}

/// Bring the loopback interface of the current network namespace up.
fn lo_up_here() -> Result<(), Errno> {
    // SAFETY: a plain socket(2); the fd is wrapped in OwnedFd immediately.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let sock = unsafe { OwnedFd::from_raw_fd(Errno::result(sock)?) };
    // SAFETY: ifreq is plain old data; zeroed is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, b) in b"lo\0".iter().enumerate() {
        ifr.ifr_name[i] = *b as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr))?;
        let flags = ifr.ifr_ifru.ifru_flags;
        if flags & libc::IFF_UP as i16 == 0 {
            ifr.ifr_ifru.ifru_flags = flags | libc::IFF_UP as i16;
            Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr))?;
        }
    }
    Ok(())
}

/// Bring `lo` up in the network namespace of `pid` (libcontainer leaves it down; runc does
/// not). Enters the namespace and comes back: only call from a single-threaded process.
pub fn bring_lo_up_in(pid: i32) -> Result<(), Errno> {
    use nix::sched::{CloneFlags, setns};
    let own = std::fs::File::open("/proc/thread-self/ns/net").map_err(|_| Errno::EIO)?;
    let target = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|_| Errno::ESRCH)?;
    setns(&target, CloneFlags::CLONE_NEWNET)?;
    let r = lo_up_here();
    setns(&own, CloneFlags::CLONE_NEWNET)?;
    r
}

/// Remount every mount at or below `/sys/fs/cgroup` read-only (per-mount flag, other flags
/// kept). Runs inside the container's mount namespace, before the workload starts:
/// libcontainer 0.7 mounts the v1 cgroup hierarchies read-write even when the spec says
/// `ro`, which would let a container raise its own limits (runc mounts them read-only).
pub fn remount_cgroups_readonly() -> Result<(), String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("read /proc/self/mountinfo: {e}"))?;
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(unescape_mount_path))
        .filter(|p| p == "/sys/fs/cgroup" || p.starts_with("/sys/fs/cgroup/"))
        .collect();
    points.dedup();
    // Children first: remounting the parent tmpfs read-only does not affect them anyway.
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let st =
            nix::sys::statvfs::statvfs(Path::new(&p)).map_err(|e| format!("statvfs {p}: {e}"))?;
        let f = st.flags();
        use nix::mount::MsFlags;
        use nix::sys::statvfs::FsFlags;
        let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
        for (fs, ms) in [
            (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
            (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
        ] {
            if f.contains(fs) {
                flags |= ms;
            }
        }
        nix::mount::mount(
            None::<&str>,
            Path::new(&p),
            None::<&str>,
            flags,
            None::<&str>,
        )
        .map_err(|e| format!("remount {p} read-only: {e}"))?;
    }
    Ok(())
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The capabilities of this process's effective set include `CAP_SYS_RESOURCE`.
pub fn has_cap_sys_resource() -> bool {
    caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false)
}

/// `fork()` a child that runs `child` (which must only make async-signal-safe calls, since
/// the caller may be multi-threaded) and wait for it. Returns the child's exit status.
///
/// Used for the few operations that need a different cwd (relative overlay `lowerdir`s):
/// `chdir` is process-wide, so it must not run in the multi-threaded CLI itself.
pub fn run_in_child(child: impl FnOnce() -> i32) -> Result<i32, Errno> {
    // SAFETY: after fork only `child` runs, and it is required to call only
    // async-signal-safe functions (chdir, mount, _exit) on data prepared before the fork.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            let code = child();
            // SAFETY: _exit skips atexit handlers and destructors, as required after fork.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => loop {
            match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => return Ok(code),
                Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                Ok(_) => continue,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        },
    }
}

/// A C string for use after fork (prepared before).
pub fn cstring(p: &Path) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

/// `poll(2)` over raw descriptors; `timeout_ms < 0` waits forever. EINTR counts as 0 ready.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<usize, Errno> {
    // SAFETY: `fds` is a valid, exclusively borrowed array of pollfd for the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    match Errno::result(n) {
        Ok(n) => Ok(n as usize),
        Err(Errno::EINTR) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Make a descriptor non-blocking.
pub fn set_nonblocking(fd: RawFd) -> Result<(), Errno> {
    use nix::fcntl::{F_GETFL, F_SETFL, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(fd, F_GETFL)?);
    fcntl(fd, F_SETFL(flags | OFlag::O_NONBLOCK)).map(drop)
}

/// Set a pty's window size.
pub fn set_winsize(fd: RawFd, rows: u16, cols: u16) -> Result<(), Errno> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize we pass.
    Errno::result(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) }).map(drop)
}

/// The window size of a terminal.
pub fn get_winsize(fd: RawFd) -> Option<(u16, u16)> {
    // SAFETY: winsize is plain data; TIOCGWINSZ writes into it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape_mount_path("/a\\040b"), "/a b");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }
}
