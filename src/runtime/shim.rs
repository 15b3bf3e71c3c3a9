//! The per-container shim: `rcompose shim run --root R --run RUN --id ID`, started by
//! [`super::Runtime::start`], detached (double fork, `setsid`, child subreaper), single
//! threaded, holding only the descriptors it needs. Like conmon / containerd-shim it:
//!
//! - creates and starts the container through libcontainer (it is the init's parent);
//! - holds its stdio (pipes, or a pty master with a tty) and writes the log with rotation;
//! - records the exit code and time atomically in `state.json`;
//! - applies the restart policy with Docker's back-off;
//! - runs the healthcheck with `exec` inside the container;
//! - serves the control socket (`stop`, `kill`, `pause`, `wait`, `attach`, `resize`, ...);
//! - outlives the CLI that started it, and exits when the container is finally stopped.
//!
//! Readiness: the starter passes the write end of a pipe as fd 3; the shim writes one JSON
//! [`Response`] (`ok` with the init pid, or the start error) and closes it.
//!
//! Everything is one `poll(2)` loop: signals arrive through a signalfd (the executor resets
//! the mask in the container), outputs and sockets are non-blocking, timers are deadlines.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use chrono::Utc;
use nix::sys::signal::Signal;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::cgroups::Cgroup;
use super::config::ContainerConfig;
use super::control::{Request, Response, frame, short_socket_path};
use super::health::{self, Backoff, HealthConfig};
use super::launch::{self, LaunchError, RunIo};
use super::layout::Layout;
use super::spec::HostFacts;
use super::state::{Health, HealthStatus, ProbeResult, State, Status};
use super::{lc, proc, rootfs, signals, sys};
use crate::logs::{LineSplitter, LogOptions, LogWriter, Stream};
use crate::paths::Paths;

/// Arguments of `rcompose shim run`.
#[derive(Debug, Clone)]
pub struct ShimOptions {
    pub paths: Paths,
    pub id: String,
    /// Descriptor to report readiness on (3 when started by the runtime).
    pub ready_fd: Option<RawFd>,
    /// Create the container but wait for a `start` (attach before start).
    pub hold: bool,
}

const READ_CHUNK: usize = 64 * 1024;
/// Output queued for a slow attach client before it is dropped.
const MAX_CLIENT_BACKLOG: usize = 8 * 1024 * 1024;
/// How long to wait for the container's pipes to reach EOF after its init exited.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

fn errno_io(e: nix::errno::Errno) -> std::io::Error {
    std::io::Error::from(e)
}

/// Entry point. Returns the process exit code.
pub fn main(opts: ShimOptions) -> i32 {
    // Detach from the starter: it waits for this first process, which exits at once.
    // SAFETY: single-threaded here (fresh exec, no threads spawned); the child continues
    // normally.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => unsafe { libc::_exit(0) },
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(_) => return 1,
    }
    let _ = nix::unistd::setsid();
    let _ = sys::set_child_subreaper();
    let keep: Vec<RawFd> = opts.ready_fd.into_iter().collect();
    sys::close_fds_except(&keep);
    // SAFETY: the starter passed this descriptor to us; nothing else owns it.
    let ready = opts.ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let mut ready = Ready(ready);
    let layout = Layout::new(opts.paths.clone());
    let mut shim = match Shim::new(layout, &opts.id) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rcompose shim {}: {e}", opts.id);
            ready.send(&Response::err(e.to_string()));
            return 1;
        }
    };
    shim.run(ready, opts.hold)
}

struct Ready(Option<OwnedFd>);

impl Ready {
    fn send(&mut self, r: &Response) {
        if let Some(fd) = self.0.take() {
            let mut f = std::fs::File::from(fd);
            let mut line = serde_json::to_vec(r).unwrap_or_default();
            line.push(b'\n');
            let _ = f.write_all(&line);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Waiting for the request line.
    Reading,
    /// Answered; close once the output is flushed.
    Closing,
    /// Waiting for the container to exit (stop, wait).
    AwaitExit,
    Attached {
        stdout: bool,
        stderr: bool,
        stdin: bool,
        close_stdin_on_eof: bool,
    },
}

struct Conn {
    stream: UnixStream,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    mode: Mode,
    dead: bool,
    /// The client half-closed: do not poll its input any more.
    read_closed: bool,
}

impl Conn {
    fn queue(&mut self, data: &[u8]) {
        self.outbuf.extend_from_slice(data);
        if self.outbuf.len() > MAX_CLIENT_BACKLOG {
            self.dead = true;
        }
    }
    fn respond(&mut self, r: &Response) {
        let mut line = serde_json::to_vec(r).unwrap_or_default();
        line.push(b'\n');
        self.queue(&line);
    }
    fn flush(&mut self) {
        while !self.outbuf.is_empty() {
            match self.stream.write(&self.outbuf) {
                Ok(0) => {
                    self.dead = true;
                    return;
                }
                Ok(n) => {
                    self.outbuf.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.dead = true;
                    return;
                }
            }
        }
        if self.mode == Mode::Closing {
            self.dead = true;
        }
    }
}

/// The current run of the container.
struct Run {
    pid: i32,
    started: Instant,
    io: RunIo,
    out_split: LineSplitter,
    err_split: LineSplitter,
    stdin_pending: Vec<u8>,
    exited: Option<(i32, Instant)>,
    seccomp: Option<(Vec<u8>, u64)>,
    spec: oci_spec::runtime::Spec,
    held: bool,
}

struct Probe {
    pid: i32,
    start: chrono::DateTime<Utc>,
    deadline: Instant,
    out: Option<OwnedFd>,
    buf: Vec<u8>,
    exit: Option<i32>,
}

struct Shim {
    layout: Layout,
    id: String,
    config: ContainerConfig,
    state: State,
    host: HostFacts,
    cgroup: Cgroup,
    sigfd: SignalFd,
    listener: UnixListener,
    _sock_dir: OwnedFd,
    conns: Vec<Conn>,
    log: Option<LogWriter>,
    run: Option<Run>,
    stop_deadline: Option<Instant>,
    stopping: bool,
    restart_at: Option<Instant>,
    backoff: Backoff,
    health_cfg: Option<HealthConfig>,
    next_probe: Option<Instant>,
    probe: Option<Probe>,
    done: bool,
}

#[derive(Debug, thiserror::Error)]
enum ShimError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn ioe(what: &str) -> impl FnOnce(std::io::Error) -> ShimError + '_ {
    move |source| ShimError::Io {
        what: what.into(),
        source,
    }
}

impl Shim {
    fn new(layout: Layout, id: &str) -> Result<Shim, ShimError> {
        let config: ContainerConfig = serde_json::from_slice(
            &fs_err::read(layout.config(id)).map_err(ioe("read container.json"))?,
        )
        .map_err(|e| ShimError::Io {
            what: "parse container.json".into(),
            source: std::io::Error::other(e),
        })?;
        let mut state = State::load(&layout.state(id)).unwrap_or_else(|_| State::new_created());
        state.shim_pid = Some(std::process::id() as i32);
        state.shim_start = proc::start_time(std::process::id() as i32);
        let mask = sys::block_signals(&[
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
        ])
        .map_err(|e| ShimError::Io {
            what: "block signals".into(),
            source: errno_io(e),
        })?;
        let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| ShimError::Io {
                what: "signalfd".into(),
                source: errno_io(e),
            })?;
        fs_err::create_dir_all(layout.shim_sockets()).map_err(ioe("socket dir"))?;
        let name = Layout::socket_name(id);
        let _ = std::fs::remove_file(layout.shim_sockets().join(&name));
        let (sock_dir, short) =
            short_socket_path(&layout.shim_sockets(), &name).map_err(ioe("socket dir"))?;
        let listener = UnixListener::bind(&short).map_err(ioe("bind the control socket"))?;
        listener
            .set_nonblocking(true)
            .map_err(ioe("control socket"))?;
        let log = match LogOptions::from_config(&config.logging.driver, &config.logging.options) {
            Ok(Some(o)) => Some(LogWriter::open(&layout.log(id), o).map_err(ioe("open the log"))?),
            Ok(None) => None,
            Err(e) => {
                return Err(ShimError::Io {
                    what: "logging".into(),
                    source: std::io::Error::other(e),
                });
            }
        };
        let health_cfg = health::resolve(&config);
        Ok(Shim {
            cgroup: Cgroup::open(&config.cgroups_path()),
            layout,
            id: id.to_string(),
            config,
            state,
            host: HostFacts::detect(),
            sigfd,
            listener,
            _sock_dir: sock_dir,
            conns: Vec::new(),
            log,
            run: None,
            stop_deadline: None,
            stopping: false,
            restart_at: None,
            backoff: Backoff::default(),
            health_cfg,
            next_probe: None,
            probe: None,
            done: false,
        })
    }

    fn save(&mut self) {
        if let Err(e) = self.state.save(&self.layout.state(&self.id)) {
            eprintln!("rcompose shim {}: cannot save state: {e}", self.id);
        }
    }

    /// Create (and unless held, start) one run. On error the state records why.
    fn launch(&mut self, hold: bool) -> Result<i32, LaunchError> {
        let created = launch::create(&self.layout, &self.config, &self.host);
        let created = match created {
            Ok(c) => c,
            Err(e) => {
                launch::cleanup_run(&self.layout, &self.id);
                return Err(e);
            }
        };
        for fd in [
            &created.io.stdout,
            &created.io.stderr,
            &created.io.stdin,
            &created.io.pty,
        ]
        .into_iter()
        .flatten()
        {
            let _ = sys::set_nonblocking(fd.as_raw_fd());
        }
        let pid = created.pid;
        self.run = Some(Run {
            pid,
            started: Instant::now(),
            io: created.io,
            out_split: LineSplitter::default(),
            err_split: LineSplitter::default(),
            stdin_pending: Vec::new(),
            exited: None,
            seccomp: created.seccomp,
            spec: created.spec,
            held: hold,
        });
        self.state.pid = Some(pid);
        self.state.pid_start = Some(created.pid_start);
        self.state.error = None;
        if hold {
            self.state.status = Status::Created;
            self.save();
            return Ok(pid);
        }
        self.start_created().map(|_| pid)
    }

    fn start_created(&mut self) -> Result<(), LaunchError> {
        if let Err(e) = launch::start(&self.layout, &self.id) {
            if let Some(run) = &self.run {
                let _ = nix::sys::signal::kill(Pid::from_raw(run.pid), Signal::SIGKILL);
            }
            return Err(e);
        }
        if let Some(run) = &mut self.run {
            run.held = false;
            run.started = Instant::now();
        }
        self.state.status = Status::Running;
        self.state.started_at = Some(Utc::now());
        self.state.finished_at = None;
        self.state.oom_killed = false;
        self.state.health = self.health_cfg.as_ref().map(|_| Health {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: Vec::new(),
        });
        if let Some(cfg) = &self.health_cfg {
            let first = if cfg.start_period.is_zero() {
                cfg.interval
            } else {
                cfg.start_interval
            };
            self.next_probe = Some(Instant::now() + first.min(cfg.interval));
        }
        self.save();
        Ok(())
    }

    fn run(&mut self, mut ready: Ready, hold: bool) -> i32 {
        self.state.manually_stopped = false;
        match self.launch(hold) {
            Ok(pid) => {
                ready.send(&Response {
                    ok: true,
                    pid: Some(pid),
                    ..Default::default()
                });
            }
            Err(e) => {
                let code = e.exit_code();
                self.record_start_failure(&e, code);
                ready.send(&Response {
                    ok: false,
                    error: Some(e.to_string()),
                    exit_code: Some(code),
                    ..Default::default()
                });
                self.finish_stopped();
                return 0;
            }
        }
        while !self.done {
            if let Err(e) = self.turn() {
                eprintln!("rcompose shim {}: {e}", self.id);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.linger();
        0
    }

    fn record_start_failure(&mut self, e: &LaunchError, code: i32) {
        let _ = rootfs::unmount(&self.layout, &self.id);
        self.run = None;
        self.state.status = Status::Exited { code };
        self.state.exit_code = Some(code);
        self.state.pid = None;
        self.state.pid_start = None;
        self.state.finished_at = Some(Utc::now());
        self.state.error = Some(e.to_string());
        if let Some(log) = &mut self.log {
            let _ = log.write(
                Stream::Stderr,
                format!("rcompose: {e}\n").as_bytes(),
                Utc::now(),
            );
        }
        self.save();
    }

    /// One iteration of the event loop.
    fn turn(&mut self) -> std::io::Result<()> {
        #[derive(Clone, Copy)]
        enum Tok {
            Sig,
            Listen,
            Out,
            Err,
            Pty,
            Stdin,
            Probe,
            Conn(usize),
        }
        let mut toks = Vec::new();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut add = |t: Tok, fd: RawFd, ev: i16| {
            toks.push(t);
            fds.push(libc::pollfd {
                fd,
                events: ev,
                revents: 0,
            });
        };
        add(Tok::Sig, self.sigfd.as_raw_fd(), libc::POLLIN);
        add(Tok::Listen, self.listener.as_raw_fd(), libc::POLLIN);
        if let Some(run) = &self.run {
            if let Some(fd) = &run.io.stdout {
                add(Tok::Out, fd.as_raw_fd(), libc::POLLIN);
            }
            if let Some(fd) = &run.io.stderr {
                add(Tok::Err, fd.as_raw_fd(), libc::POLLIN);
            }
            if let Some(fd) = &run.io.pty {
                let ev = if run.stdin_pending.is_empty() {
                    libc::POLLIN
                } else {
                    libc::POLLIN | libc::POLLOUT
                };
                add(Tok::Pty, fd.as_raw_fd(), ev);
            }
            if let Some(fd) = &run.io.stdin
                && !run.stdin_pending.is_empty()
            {
                add(Tok::Stdin, fd.as_raw_fd(), libc::POLLOUT);
            }
        }
        if let Some(p) = &self.probe
            && let Some(fd) = &p.out
        {
            add(Tok::Probe, fd.as_raw_fd(), libc::POLLIN);
        }
        for (i, c) in self.conns.iter().enumerate() {
            let mut ev = 0;
            if !matches!(c.mode, Mode::Closing) && !c.read_closed {
                ev |= libc::POLLIN;
            }
            if !c.outbuf.is_empty() {
                ev |= libc::POLLOUT;
            }
            add(Tok::Conn(i), c.stream.as_raw_fd(), ev);
        }
        let timeout = self.next_deadline().map(|d| {
            let now = Instant::now();
            if d <= now {
                0
            } else {
                (d - now).as_millis().min(i32::MAX as u128) as i32 + 1
            }
        });
        sys::poll(&mut fds, timeout.unwrap_or(-1)).map_err(errno_io)?;
        for (t, p) in toks.iter().zip(&fds) {
            let r = p.revents;
            if r == 0 {
                continue;
            }
            match *t {
                Tok::Sig => self.on_signals(),
                Tok::Listen => self.on_accept(),
                Tok::Out => self.on_output(Stream::Stdout, OutSrc::Stdout),
                Tok::Err => self.on_output(Stream::Stderr, OutSrc::Stderr),
                Tok::Pty => {
                    if r & libc::POLLOUT != 0 {
                        self.flush_stdin();
                    }
                    if r & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                        self.on_output(Stream::Stdout, OutSrc::Pty);
                    }
                }
                Tok::Stdin => self.flush_stdin(),
                Tok::Probe => self.on_probe_output(),
                Tok::Conn(i) => {
                    if r & libc::POLLOUT != 0 {
                        self.conns[i].flush();
                    }
                    if r & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                        self.on_conn_readable(i);
                    }
                }
            }
        }
        self.on_timers();
        self.maybe_finish_exit();
        self.conns.retain(|c| !c.dead);
        Ok(())
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut d: Vec<Instant> = Vec::new();
        d.extend(self.stop_deadline);
        d.extend(self.restart_at);
        if self.probe.is_none() {
            d.extend(self.next_probe);
        }
        d.extend(self.probe.as_ref().map(|p| p.deadline));
        if let Some(run) = &self.run
            && let Some((_, at)) = run.exited
        {
            d.push(at + DRAIN_AFTER_EXIT);
        }
        d.into_iter().min()
    }

    fn on_signals(&mut self) {
        while let Ok(Some(info)) = self.sigfd.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => self.reap(),
                Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => {
                    // Being asked to go away: stop the container gracefully first.
                    let grace = self.config.effective_stop_grace_period();
                    self.begin_stop(Some(grace), None);
                }
                _ => {}
            }
        }
        // SIGCHLD may coalesce; reap anyway.
        self.reap();
    }

    fn reap(&mut self) {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => self.on_child_exit(pid.as_raw(), code),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.on_child_exit(pid.as_raw(), 128 + sig as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    }

    fn on_child_exit(&mut self, pid: i32, code: i32) {
        if let Some(run) = &mut self.run
            && run.pid == pid
            && run.exited.is_none()
        {
            run.exited = Some((code, Instant::now()));
            return;
        }
        if let Some(p) = &mut self.probe
            && p.pid == pid
        {
            p.exit = Some(code);
            self.on_probe_output();
            self.finish_probe(None);
        }
    }

    fn on_accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let _ = stream.set_nonblocking(true);
                    self.conns.push(Conn {
                        stream,
                        inbuf: Vec::new(),
                        outbuf: Vec::new(),
                        mode: Mode::Reading,
                        dead: false,
                        read_closed: false,
                    });
                }
                Err(_) => return,
            }
        }
    }

    fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let tty = self.config.tty;
        for c in &mut self.conns {
            if let Mode::Attached { stdout, stderr, .. } = c.mode {
                let want = match stream {
                    Stream::Stdout => stdout,
                    Stream::Stderr => stderr,
                };
                if want {
                    if tty {
                        c.queue(data);
                    } else {
                        c.queue(&frame(if stream == Stream::Stdout { 1 } else { 2 }, data));
                    }
                    c.flush();
                }
            }
        }
    }

    fn write_log(&mut self, stream: Stream, records: Vec<Vec<u8>>) {
        if let Some(log) = &mut self.log {
            let now = Utc::now();
            for r in records {
                if let Err(e) = log.write(stream, &r, now) {
                    eprintln!("rcompose shim: log write failed: {e}");
                }
            }
        }
    }

    fn on_output(&mut self, stream: Stream, src: OutSrc) {
        let mut buf = vec![0u8; READ_CHUNK];
        for _ in 0..16 {
            let Some(run) = &mut self.run else { return };
            let fd = match src {
                OutSrc::Stdout => run.io.stdout.as_ref(),
                OutSrc::Stderr => run.io.stderr.as_ref(),
                OutSrc::Pty => run.io.pty.as_ref(),
            };
            let Some(fd) = fd else { return };
            match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(0) | Err(nix::errno::Errno::EIO) => {
                    self.close_output(src);
                    return;
                }
                Ok(n) => {
                    let data = buf[..n].to_vec();
                    let split = match src {
                        OutSrc::Stderr => &mut run.err_split,
                        _ => &mut run.out_split,
                    };
                    let records = split.push(&data);
                    self.write_log(stream, records);
                    self.broadcast(stream, &data);
                }
                Err(nix::errno::Errno::EAGAIN) => return,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => {
                    self.close_output(src);
                    return;
                }
            }
        }
    }

    fn close_output(&mut self, src: OutSrc) {
        let Some(run) = &mut self.run else { return };
        let (rest, stream) = match src {
            OutSrc::Stdout => {
                run.io.stdout = None;
                (run.out_split.finish(), Stream::Stdout)
            }
            OutSrc::Stderr => {
                run.io.stderr = None;
                (run.err_split.finish(), Stream::Stderr)
            }
            OutSrc::Pty => {
                // Keep the master until the run ends (stdin may still target it), but stop
                // polling it: the slave side is gone.
                run.io.pty = None;
                run.io.stdin = None;
                (run.out_split.finish(), Stream::Stdout)
            }
        };
        if let Some(r) = rest {
            self.write_log(stream, vec![r]);
        }
    }

    fn stdin_fd(&self) -> Option<RawFd> {
        let run = self.run.as_ref()?;
        run.io
            .pty
            .as_ref()
            .or(run.io.stdin.as_ref())
            .map(|f| f.as_raw_fd())
    }

    fn flush_stdin(&mut self) {
        let Some(fd) = self.stdin_fd() else {
            if let Some(run) = &mut self.run {
                run.stdin_pending.clear();
            }
            return;
        };
        let Some(run) = &mut self.run else { return };
        while !run.stdin_pending.is_empty() {
            // SAFETY: fd stays open while `run` holds it.
            let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            match nix::unistd::write(bfd, &run.stdin_pending) {
                Ok(n) => {
                    run.stdin_pending.drain(..n);
                }
                Err(nix::errno::Errno::EAGAIN) => return,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => {
                    run.stdin_pending.clear();
                    run.io.stdin = None;
                    return;
                }
            }
        }
    }

    fn on_conn_readable(&mut self, i: usize) {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let c = &mut self.conns[i];
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    self.on_conn_eof(i);
                    return;
                }
                Ok(n) => {
                    let data = buf[..n].to_vec();
                    match self.conns[i].mode {
                        Mode::Attached { stdin: true, .. } => {
                            if let Some(run) = &mut self.run {
                                run.stdin_pending.extend_from_slice(&data);
                            }
                            self.flush_stdin();
                        }
                        Mode::Reading => {
                            self.conns[i].inbuf.extend_from_slice(&data);
                            if let Some(pos) = self.conns[i].inbuf.iter().position(|b| *b == b'\n')
                            {
                                let line: Vec<u8> = self.conns[i].inbuf.drain(..=pos).collect();
                                let rest = std::mem::take(&mut self.conns[i].inbuf);
                                match serde_json::from_slice::<Request>(&line) {
                                    Ok(req) => self.handle(i, req),
                                    Err(e) => {
                                        let c = &mut self.conns[i];
                                        c.mode = Mode::Closing;
                                        c.respond(&Response::err(format!("bad request: {e}")));
                                    }
                                }
                                // Bytes after an attach request are stdin.
                                if !rest.is_empty()
                                    && matches!(
                                        self.conns[i].mode,
                                        Mode::Attached { stdin: true, .. }
                                    )
                                    && let Some(run) = &mut self.run
                                {
                                    run.stdin_pending.extend_from_slice(&rest);
                                    self.flush_stdin();
                                }
                                self.conns[i].flush();
                            }
                        }
                        _ => {}
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.conns[i].dead = true;
                    return;
                }
            }
        }
    }

    fn on_conn_eof(&mut self, i: usize) {
        match self.conns[i].mode {
            Mode::Attached {
                close_stdin_on_eof,
                stdout,
                stderr,
                ..
            } => {
                if close_stdin_on_eof {
                    self.close_container_stdin();
                }
                let c = &mut self.conns[i];
                c.mode = Mode::Attached {
                    stdin: false,
                    close_stdin_on_eof: false,
                    stdout,
                    stderr,
                };
                // A half-closed client still receives output; stop polling its input.
                c.read_closed = true;
                if !stdout && !stderr {
                    c.dead = true;
                }
            }
            _ => self.conns[i].dead = true,
        }
    }

    /// The attached client is done sending: close the container's stdin (Docker's
    /// `StdinOnce`); on a terminal, send end-of-file (^D).
    fn close_container_stdin(&mut self) {
        if let Some(run) = &mut self.run
            && run.io.pty.is_some()
        {
            run.stdin_pending.push(4);
        }
        self.flush_stdin();
        if let Some(run) = &mut self.run {
            run.io.stdin = None;
        }
    }

    fn running(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|r| r.exited.is_none() && !r.held)
    }

    fn handle(&mut self, i: usize, req: Request) {
        match req {
            Request::Status => {
                let pid = self
                    .run
                    .as_ref()
                    .filter(|r| r.exited.is_none())
                    .map(|r| r.pid);
                let c = &mut self.conns[i];
                c.mode = Mode::Closing;
                c.respond(&Response {
                    ok: true,
                    pid,
                    ..Default::default()
                });
            }
            Request::Wait => {
                if self.run.is_some() || self.restart_at.is_some() {
                    self.conns[i].mode = Mode::AwaitExit;
                } else {
                    let code = self.state.exit_code;
                    let c = &mut self.conns[i];
                    c.mode = Mode::Closing;
                    c.respond(&Response {
                        ok: true,
                        exit_code: code,
                        ..Default::default()
                    });
                }
            }
            Request::Stop { timeout_ms, signal } => {
                self.conns[i].mode = Mode::AwaitExit;
                self.begin_stop(timeout_ms.map(Duration::from_millis), signal);
            }
            Request::Kill { signal } => {
                let r = self.kill(signal);
                let c = &mut self.conns[i];
                c.mode = Mode::Closing;
                c.respond(&r);
            }
            Request::Pause => {
                let r = self.set_paused(true);
                let c = &mut self.conns[i];
                c.mode = Mode::Closing;
                c.respond(&r);
            }
            Request::Unpause => {
                let r = self.set_paused(false);
                let c = &mut self.conns[i];
                c.mode = Mode::Closing;
                c.respond(&r);
            }
            Request::Resize { rows, cols } => {
                let r = match self.run.as_ref().and_then(|r| r.io.pty.as_ref()) {
                    Some(fd) => match sys::set_winsize(fd.as_raw_fd(), rows, cols) {
                        Ok(()) => Response::ok(),
                        Err(e) => Response::err(format!("resize: {e}")),
                    },
                    None => Response::err("the container has no tty"),
                };
                let c = &mut self.conns[i];
                c.mode = Mode::Closing;
                c.respond(&r);
            }
            Request::Start => {
                let r = self.start_held();
                let c = &mut self.conns[i];
                c.mode = Mode::Closing;
                c.respond(&r);
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
                close_stdin_on_eof,
                start,
            } => {
                if self.run.as_ref().is_none_or(|r| r.exited.is_some()) {
                    let c = &mut self.conns[i];
                    c.mode = Mode::Closing;
                    c.respond(&Response::err(
                        "you cannot attach to a stopped container, start it first",
                    ));
                    return;
                }
                let tty = self.config.tty;
                let stdin = stdin && (self.config.stdin_open || tty);
                let c = &mut self.conns[i];
                c.mode = Mode::Attached {
                    stdin,
                    stdout,
                    stderr,
                    close_stdin_on_eof,
                };
                c.respond(&Response {
                    ok: true,
                    tty: Some(tty),
                    ..Default::default()
                });
                c.flush();
                if start {
                    let r = self.start_held();
                    if !r.ok {
                        let c = &mut self.conns[i];
                        c.mode = Mode::Closing;
                        c.respond(&r);
                    }
                }
            }
        }
    }

    fn start_held(&mut self) -> Response {
        match &self.run {
            Some(r) if r.held => match self.start_created() {
                Ok(()) => Response::ok(),
                Err(e) => {
                    let code = e.exit_code();
                    self.record_start_failure(&e, code);
                    self.finish_stopped();
                    Response {
                        ok: false,
                        error: Some(e.to_string()),
                        exit_code: Some(code),
                        ..Default::default()
                    }
                }
            },
            _ => Response::ok(),
        }
    }

    fn stop_signal(&self) -> i32 {
        signals::parse(&self.config.effective_stop_signal()).unwrap_or(libc::SIGTERM)
    }

    fn kill(&mut self, sig: i32) -> Response {
        let Some(run) = &self.run else {
            return Response::err(format!("container {} is not running", self.id));
        };
        if run.exited.is_some() {
            return Response::err(format!("container {} is not running", self.id));
        }
        let pid = run.pid;
        // As Docker: killing with SIGKILL or the stop signal is a deliberate stop.
        if sig == libc::SIGKILL || sig == self.stop_signal() {
            self.state.manually_stopped = true;
            self.save();
        }
        let Ok(signal) = Signal::try_from(sig) else {
            // Real-time signals: nix has no variant; use libc.
            // SAFETY: kill(2) with a pid we own as parent.
            let r = unsafe { libc::kill(pid, sig) };
            return if r == 0 {
                Response::ok()
            } else {
                Response::err(std::io::Error::last_os_error().to_string())
            };
        };
        let r = match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
            Ok(()) => Response::ok(),
            Err(e) => Response::err(format!("kill: {e}")),
        };
        if self.state.manually_stopped && self.state.status == Status::Paused {
            let _ = self.set_paused(false);
        }
        r
    }

    fn set_paused(&mut self, pause: bool) -> Response {
        if !self.running() {
            return Response::err(format!("container {} is not running", self.id));
        }
        match (pause, self.state.status) {
            (true, Status::Paused) => {
                return Response::err(format!("container {} is already paused", self.id));
            }
            (false, Status::Running) => {
                return Response::err(format!("container {} is not paused", self.id));
            }
            _ => {}
        }
        match self.cgroup.set_frozen(pause) {
            Ok(()) => {
                self.state.status = if pause {
                    Status::Paused
                } else {
                    Status::Running
                };
                self.save();
                Response::ok()
            }
            Err(e) => Response::err(format!("freezer: {e}")),
        }
    }

    fn begin_stop(&mut self, timeout: Option<Duration>, signal: Option<i32>) {
        self.state.manually_stopped = true;
        self.stopping = true;
        if self.restart_at.take().is_some() || self.run.is_none() {
            // Nothing runs (waiting out a back-off): just settle as exited.
            self.save();
            self.finish_stopped();
            return;
        }
        self.save();
        let sig = signal.unwrap_or_else(|| self.stop_signal());
        let Some(run) = &self.run else { return };
        if run.exited.is_some() {
            return;
        }
        let pid = run.pid;
        if run.held {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            return;
        }
        // SAFETY: kill(2) of our own child.
        unsafe { libc::kill(pid, sig) };
        if self.state.status == Status::Paused {
            let _ = self.cgroup.set_frozen(false);
        }
        self.stop_deadline = timeout.map(|t| Instant::now() + t);
        if timeout == Some(Duration::ZERO) {
            self.cgroup.kill_all(Duration::ZERO);
        }
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if let Some(d) = self.stop_deadline
            && now >= d
        {
            self.stop_deadline = None;
            if self.run.as_ref().is_some_and(|r| r.exited.is_none()) {
                // Grace period over: SIGKILL everything in the container.
                if let Some(run) = &self.run {
                    let _ = nix::sys::signal::kill(Pid::from_raw(run.pid), Signal::SIGKILL);
                }
                self.cgroup.kill_all(Duration::ZERO);
            }
        }
        if let Some(d) = self.restart_at
            && now >= d
        {
            self.restart_at = None;
            self.state.restart_count += 1;
            match self.launch(false) {
                Ok(_) => {}
                Err(e) => {
                    let code = e.exit_code();
                    self.record_start_failure(&e, code);
                    self.after_exit(code, Duration::ZERO);
                }
            }
        }
        if let Some(p) = &self.probe
            && now >= p.deadline
            && p.exit.is_none()
        {
            let pid = p.pid;
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            let timeout = self
                .health_cfg
                .as_ref()
                .map(|c| c.timeout)
                .unwrap_or_default();
            self.finish_probe(Some(format!(
                "Health check exceeded timeout ({})",
                fmt_duration(timeout)
            )));
        }
        if self.probe.is_none()
            && let Some(d) = self.next_probe
            && now >= d
        {
            self.next_probe = None;
            self.start_probe();
        }
    }

    fn start_probe(&mut self) {
        let Some(cfg) = self.health_cfg.clone() else {
            return;
        };
        if !self.running() || self.stopping {
            return;
        }
        if self.state.status == Status::Paused {
            self.next_probe = Some(Instant::now() + cfg.interval);
            return;
        }
        let started_at = Instant::now();
        let start = Utc::now();
        match self.spawn_probe(&cfg) {
            Ok((pid, out)) => {
                self.probe = Some(Probe {
                    pid,
                    start,
                    deadline: started_at + cfg.timeout,
                    out: Some(out),
                    buf: Vec::new(),
                    exit: None,
                });
            }
            Err(e) => {
                // Docker records a probe that could not run as a failure (exit -1).
                let result = ProbeResult {
                    start,
                    end: Utc::now(),
                    exit_code: -1,
                    output: e,
                };
                self.apply_probe(result);
            }
        }
    }

    fn spawn_probe(&mut self, cfg: &HealthConfig) -> Result<(i32, OwnedFd), String> {
        let run = self.run.as_ref().ok_or("not running")?;
        let mut process = run.spec.process().clone().ok_or("no process in spec")?;
        process.set_args(Some(cfg.argv.clone()));
        process.set_terminal(Some(false));
        process.set_oom_score_adj(None);
        let plan = super::executor::prepare_process(&mut process, run.seccomp.clone());
        let dir = self.layout.exec_dir();
        fs_err::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let file = dir.join(format!("{}-health.json", self.id));
        super::state::write_atomic(
            &file,
            &serde_json::to_vec(&process).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
        let w2 = w.try_clone().map_err(|e| e.to_string())?;
        let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
        let pid = lc::exec(lc::ExecOptions {
            id: &self.id,
            lc_root: &self.layout.lc_root(),
            process_file: &file,
            plan,
            stdio: lc::Stdio {
                stdin: Some(null.into()),
                stdout: Some(w),
                stderr: Some(w2),
            },
            console_socket: None,
            pid_file: None,
            detach: true,
            preserve_fds: 0,
        })
        .map_err(|e| e.to_string());
        let _ = std::fs::remove_file(&file);
        let pid = pid?;
        let _ = sys::set_nonblocking(r.as_raw_fd());
        Ok((pid, r))
    }

    fn on_probe_output(&mut self) {
        let Some(p) = &mut self.probe else { return };
        let Some(fd) = &p.out else { return };
        let mut buf = [0u8; 8192];
        loop {
            match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(0) => {
                    p.out = None;
                    return;
                }
                Ok(n) => {
                    if p.buf.len() < health::MAX_OUTPUT {
                        p.buf.extend_from_slice(&buf[..n]);
                    }
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
        }
    }

    /// A probe finished (its exit was reaped) or timed out (`timeout_msg`).
    fn finish_probe(&mut self, timeout_msg: Option<String>) {
        let Some(p) = self.probe.take() else { return };
        let (code, output) = match timeout_msg {
            Some(m) => (-1, m),
            None => (p.exit.unwrap_or(-1), health::cap_output(&p.buf)),
        };
        let result = ProbeResult {
            start: p.start,
            end: Utc::now(),
            exit_code: code,
            output,
        };
        self.apply_probe(result);
    }

    fn apply_probe(&mut self, result: ProbeResult) {
        let Some(cfg) = self.health_cfg.clone() else {
            return;
        };
        if !self.running() {
            return;
        }
        let started_at = self.state.started_at.unwrap_or_else(Utc::now);
        let health = self.state.health.get_or_insert(Health {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: Vec::new(),
        });
        health::record(health, &cfg, result, started_at);
        let since = self
            .run
            .as_ref()
            .map(|r| r.started.elapsed())
            .unwrap_or_default();
        let next = health::next_interval(&cfg, health, since);
        self.next_probe = Some(Instant::now() + next);
        self.save();
    }

    fn maybe_finish_exit(&mut self) {
        let Some(run) = &self.run else { return };
        let Some((code, at)) = run.exited else { return };
        let drained = run.io.stdout.is_none() && run.io.stderr.is_none() && run.io.pty.is_none();
        if !drained && at.elapsed() < DRAIN_AFTER_EXIT {
            return;
        }
        let ran_for = run.started.elapsed();
        // Flush what remains buffered.
        for src in [OutSrc::Stdout, OutSrc::Stderr, OutSrc::Pty] {
            self.close_output(src);
        }
        self.state.oom_killed = self.cgroup.oom_killed();
        launch::cleanup_run(&self.layout, &self.id);
        if let Some(p) = self.probe.take() {
            let _ = nix::sys::signal::kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
        self.next_probe = None;
        self.stop_deadline = None;
        self.run = None;
        self.state.pid = None;
        self.state.pid_start = None;
        self.state.exit_code = Some(code);
        self.state.finished_at = Some(Utc::now());
        self.after_exit(code, ran_for);
    }

    /// Decide what follows an exit (or a failed restart).
    fn after_exit(&mut self, code: i32, ran_for: Duration) {
        let delay = self.backoff.next(
            self.config.restart,
            code,
            self.state.manually_stopped,
            self.state.restart_count,
            ran_for,
        );
        // Record the outcome (and clean up) before anyone waiting hears about it.
        match delay {
            Some(d) => {
                self.state.status = Status::Restarting;
                self.state.health = None;
                self.restart_at = Some(Instant::now() + d);
                self.save();
            }
            None => {
                self.state.status = Status::Exited { code };
                // Answers the waiters itself, after the final cleanup.
                self.finish_stopped();
                return;
            }
        }
        // Answer waiters and end the attach streams of this run.
        for c in &mut self.conns {
            match c.mode {
                Mode::AwaitExit => {
                    c.mode = Mode::Closing;
                    c.respond(&Response {
                        ok: true,
                        exit_code: Some(code),
                        ..Default::default()
                    });
                    c.flush();
                }
                Mode::Attached { .. } => {
                    c.mode = Mode::Closing;
                    c.flush();
                }
                _ => {}
            }
        }
    }

    /// Final cleanup: the container is stopped for good; the shim exits.
    fn finish_stopped(&mut self) {
        if let Some(run) = self.run.take() {
            let _ = nix::sys::signal::kill(Pid::from_raw(run.pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(run.pid), None);
            launch::cleanup_run(&self.layout, &self.id);
        }
        if let Status::Restarting | Status::Running | Status::Paused = self.state.status {
            let code = self.state.exit_code.unwrap_or(0);
            self.state.status = Status::Exited { code };
        }
        let _ = rootfs::unmount(&self.layout, &self.id);
        // The shim pid stays recorded: liveness is read from /proc, and `remove` waits for
        // this process to be gone.
        self.state.health = self.state.health.take().map(|mut h| {
            if h.status == HealthStatus::Starting {
                h.status = HealthStatus::Unhealthy;
            }
            h
        });
        let _ = std::fs::remove_file(
            self.layout
                .shim_sockets()
                .join(Layout::socket_name(&self.id)),
        );
        if self.config.auto_remove {
            super::ops::remove_dir_atomically(&self.layout.dir(&self.id));
            let _ = std::fs::remove_file(self.layout.shim_log(&self.id));
            let _ = std::fs::remove_file(self.layout.lock(&self.id));
        } else {
            self.save();
        }
        for c in &mut self.conns {
            if matches!(c.mode, Mode::AwaitExit) {
                c.mode = Mode::Closing;
                c.respond(&Response {
                    ok: true,
                    exit_code: self.state.exit_code,
                    ..Default::default()
                });
            }
            if matches!(c.mode, Mode::Attached { .. }) {
                c.mode = Mode::Closing;
            }
            c.flush();
        }
        self.done = true;
    }

    /// Give clients a moment to read their last bytes.
    fn linger(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            self.conns.retain(|c| !c.dead && !c.outbuf.is_empty());
            if self.conns.is_empty() {
                return;
            }
            let mut fds: Vec<libc::pollfd> = self
                .conns
                .iter()
                .map(|c| libc::pollfd {
                    fd: c.stream.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                })
                .collect();
            let _ = sys::poll(&mut fds, 50);
            for c in &mut self.conns {
                c.flush();
            }
        }
    }
}

#[derive(Clone, Copy)]
enum OutSrc {
    Stdout,
    Stderr,
    Pty,
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if s >= 1.0 {
        format!("{s}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}
