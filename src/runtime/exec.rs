//! `exec`: run a process inside a running container.
//!
//! The CLI side ([`super::Runtime::exec`]) builds the OCI `Process` (the container's, with
//! the command, `-u`, `-w`, `-e` applied) and spawns `rcompose shim exec`, a single-threaded
//! helper that inherits the caller's stdio and calls libcontainer. With a tty the helper
//! receives the pty master from inside the container (console socket), puts the caller's
//! terminal in raw mode, relays both ways, follows window size changes, and restores the
//! terminal. It exits with the process's exit code.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::Path;

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use oci_spec::runtime::{Process, Spec};

use super::control::short_socket_path;
use super::layout::Layout;
use super::lc::{self, Stdio};
use super::state::State;
use super::{executor, launch, seccomp, sys};
use crate::paths::Paths;

fn fail(msg: impl std::fmt::Display, code: i32) -> i32 {
    eprintln!("rcompose exec: {msg}");
    code
}

/// The helper process (`rcompose shim exec`). Returns the exit code.
pub fn helper_main(paths: Paths, id: &str, process_file: &Path, detach: bool) -> i32 {
    let layout = Layout::new(paths);
    let bytes = match std::fs::read(process_file) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: {e}", process_file.display()), 126),
    };
    let _ = std::fs::remove_file(process_file);
    let mut process: Process = match serde_json::from_slice(&bytes) {
        Ok(p) => p,
        Err(e) => return fail(format!("invalid process: {e}"), 126),
    };
    match State::load(&layout.state(id)) {
        Ok(st) if st.init_alive() => {}
        _ => return fail(format!("container {id} is not running"), 126),
    }
    // The container's filter (compiled once, cached) applies to exec'd processes too.
    let bpf = Spec::load(layout.spec(id))
        .ok()
        .and_then(|s| s.linux().as_ref().and_then(|l| l.seccomp().clone()))
        .and_then(|sc| {
            let flags = seccomp::filter_flags(&sc);
            seccomp::compile_cached(&layout.seccomp_cache(), &sc)
                .ok()
                .map(|b| (b, flags))
        });
    let mut plan = executor::prepare_process(&mut process, bpf);
    let tty = process.terminal().unwrap_or(false);
    if tty {
        plan.console_size = sys::get_winsize(0);
    }
    let dir = layout.exec_dir();
    if let Err(e) = fs_err::create_dir_all(&dir) {
        return fail(e, 126);
    }
    let me = std::process::id();
    let file = dir.join(format!("{id}-{me}.json"));
    if let Err(e) =
        super::state::write_atomic(&file, &serde_json::to_vec(&process).unwrap_or_default())
    {
        return fail(e, 126);
    }
    sys::close_fds_except(&[]);
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
    let set = match sys::block_signals(&forwarded) {
        Ok(s) => s,
        Err(e) => return fail(e, 126),
    };
    let dup = |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().ok();
    let mut console: Option<(UnixListener, std::path::PathBuf, OwnedFd)> = None;
    let stdio = if detach && !tty {
        let null = |w: bool| {
            std::fs::OpenOptions::new()
                .read(!w)
                .write(w)
                .open("/dev/null")
                .ok()
                .map(OwnedFd::from)
        };
        Stdio {
            stdin: null(false),
            stdout: null(true),
            stderr: null(true),
        }
    } else if tty {
        let name = format!("exec-{me}.tty");
        let full = dir.join(&name);
        match short_socket_path(&dir, &name)
            .and_then(|(d, short)| Ok((UnixListener::bind(short)?, d)))
        {
            Ok((l, d)) => console = Some((l, full, d)),
            Err(e) => return fail(format!("console socket: {e}"), 126),
        }
        Stdio::default()
    } else {
        Stdio {
            stdin: dup(std::io::stdin().as_fd()),
            stdout: dup(std::io::stdout().as_fd()),
            stderr: dup(std::io::stderr().as_fd()),
        }
    };
    let result = lc::exec(lc::ExecOptions {
        id,
        lc_root: &layout.lc_root(),
        process_file: &file,
        plan,
        stdio,
        console_socket: console.as_ref().map(|(_, p, _)| p.as_path()),
        pid_file: None,
        detach: detach || tty,
        preserve_fds: 0,
    });
    let _ = std::fs::remove_file(&file);
    let pid = match result {
        Ok(p) => p,
        Err(e) => {
            let msg = e.to_string();
            return fail(&msg, executor::start_error_exit_code(&msg));
        }
    };
    let master = match console {
        Some((l, full, _d)) => {
            let _ = std::fs::remove_file(&full);
            match l.accept().and_then(|(c, _)| launch::recv_fd(&c)) {
                Ok(m) => Some(m),
                Err(e) => return fail(format!("pty: {e}"), 126),
            }
        }
        None => None,
    };
    if detach {
        // The process runs on (reparented); with a tty nobody reads it: keep it alive by
        // leaving the master open in a detached child is not possible — drop it, as Docker
        // does for `exec -d -t` (output is discarded).
        drop(master);
        return 0;
    }
    match master {
        Some(m) => relay_tty(pid, m, &set),
        None => wait_forwarding(pid, &set),
    }
}

fn wait_forwarding(pid: i32, set: &nix::sys::signal::SigSet) -> i32 {
    let p = Pid::from_raw(pid);
    loop {
        match waitpid(p, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Err(nix::errno::Errno::ECHILD) => return 255,
            _ => {}
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) | Ok(Signal::SIGWINCH) => {}
            Ok(sig) => {
                let _ = nix::sys::signal::kill(p, sig);
            }
            Err(_) => {}
        }
    }
}

/// Relay between our terminal and the pty master until the process exits.
fn relay_tty(pid: i32, master: OwnedFd, set: &nix::sys::signal::SigSet) -> i32 {
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = tcgetattr(stdin.as_fd()).ok();
    if let Some(t) = &saved {
        let mut raw = t.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
    }
    if let Some((r, c)) = sys::get_winsize(0) {
        let _ = sys::set_winsize(master.as_raw_fd(), r, c);
    }
    let sigfd =
        nix::sys::signalfd::SignalFd::with_flags(set, nix::sys::signalfd::SfdFlags::SFD_NONBLOCK)
            .ok();
    let _ = sys::set_nonblocking(master.as_raw_fd());
    let p = Pid::from_raw(pid);
    let mut code: Option<i32> = None;
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = vec![0u8; 32 * 1024];
    let mut out = std::io::stdout();
    loop {
        let mut fds = vec![libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if stdin_open {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(s) = &sigfd {
            fds.push(libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let timeout = if code.is_some() { 100 } else { -1 };
        let n = sys::poll(&mut fds, timeout).unwrap_or(0);
        if n == 0 && code.is_some() {
            break;
        }
        for f in &fds {
            if f.revents == 0 {
                continue;
            }
            if f.fd == master.as_raw_fd() {
                match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                    Ok(0) | Err(nix::errno::Errno::EIO) => master_open = false,
                    Ok(k) => {
                        let _ = out.write_all(&buf[..k]);
                        let _ = out.flush();
                    }
                    Err(_) => {}
                }
            } else if f.fd == 0 {
                match nix::unistd::read(0, &mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(k) => {
                        let _ = nix::unistd::write(&master, &buf[..k]);
                    }
                }
            } else if let Some(s) = &sigfd {
                while let Ok(Some(info)) = s.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        Ok(Signal::SIGWINCH) => {
                            if let Some((r, c)) = sys::get_winsize(0) {
                                let _ = sys::set_winsize(master.as_raw_fd(), r, c);
                            }
                        }
                        Ok(Signal::SIGCHLD) => {}
                        Ok(sig) => {
                            let _ = nix::sys::signal::kill(p, sig);
                        }
                        Err(_) => {}
                    }
                }
            }
        }
        if code.is_none() {
            match waitpid(p, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, c)) => code = Some(c),
                Ok(WaitStatus::Signaled(_, s, _)) => code = Some(128 + s as i32),
                Err(_) => code = Some(255),
                _ => {}
            }
        }
        if code.is_some() && !master_open {
            break;
        }
    }
    if let Some(t) = &saved {
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, t);
    }
    code.unwrap_or(255)
}
