//! The network helper: one detached process per run dir (`rcompose __netd`) that serves the
//! embedded DNS at 127.0.0.11:53 inside every container's namespace and proxies published
//! ports. Compare Podman's `aardvark-dns` (one process for all networks, records from files,
//! reloaded on change, exits when unused) and Docker's `docker-proxy`.
//!
//! - Its records come from the networks' state files (`<root>/networks/*.json`);
//!   every command that changes them sends `sync` over `<run>/netd.sock` and waits for the
//!   answer, so when `connect` returns, the container's own DNS socket exists and every peer
//!   already resolves it (recreation and scaling are followed without restarting anything).
//! - DNS sockets are created inside each sandbox's namespace from a thread that joined it
//!   (`setns`); a socket keeps the namespace it was born in. They are closed on `sync` once the
//!   sandbox is gone, before the namespace is unmounted, so nothing keeps a dead netns alive.
//! - Upstream queries leave from the host's namespace (so loopback resolvers work).
//! - It is started on demand (the first `connect` or `publish`), exits when no sandbox and no
//!   published port is left, is restarted by the next command if killed (it re-binds the
//!   ports recorded in `<run>/ports/` and re-creates the DNS sockets from the state files).
//!
//! One helper serves every project of a run dir (not one per project), because a network can
//! be shared by projects (`external: true`) and names resolve per network.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::{JoinHandle, JoinSet};

use super::dns::{self, DnsView, Reply};
use super::ports::{self, BindError, PortBinding, PortSpec};
use super::state::{self, Network};
use super::{NetworkError, netns};
use crate::paths::Paths;

/// The DNS address inside every container, as Docker's.
pub const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

fn socket_path(paths: &Paths) -> PathBuf {
    paths.run.join("netd.sock")
}
fn pid_path(paths: &Paths) -> PathBuf {
    paths.run.join("netd.pid")
}
fn lock_path(paths: &Paths) -> PathBuf {
    paths.locks().join("netd.lock")
}
pub(crate) fn ports_dir(paths: &Paths) -> PathBuf {
    paths.run.join("ports")
}

/// A port to publish, with the container address resolved by the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PublishPort {
    pub spec: PortSpec,
    pub container_ip: Ipv4Addr,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    Ping,
    /// Re-read the state. With `container`: fail if that container has no DNS socket.
    Sync {
        #[serde(default)]
        container: Option<String>,
    },
    Publish {
        container_id: String,
        ports: Vec<PublishPort>,
    },
    Unpublish {
        container_id: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum Response {
    Ok,
    Published { bindings: Vec<PortBinding> },
    PortInUse { host_ip: IpAddr, port: String },
    Error { message: String },
}

// ---------------------------------------------------------------------------------------------
// client

/// Talks to the helper of one run dir, starting it when asked to.
pub(crate) struct Client<'a> {
    pub paths: &'a Paths,
    pub exe: &'a Path,
    pub resolv_conf: &'a Path,
}

impl Client<'_> {
    /// Send `req`. If no helper runs: with `start`, start one; without, there is nothing to
    /// tell (`Ok`).
    pub fn request(&self, req: &Request, start: bool) -> Result<Response, NetworkError> {
        let mut last = String::new();
        // A helper that is just exiting (it found nothing left to serve) may close our
        // connection: start a new one and try again.
        for _ in 0..3 {
            match UnixStream::connect(socket_path(self.paths)) {
                Ok(stream) => match exchange(stream, req) {
                    Ok(resp) => return Ok(resp),
                    Err(e) => last = e.to_string(),
                },
                Err(e) => {
                    if !start {
                        return Ok(Response::Ok);
                    }
                    last = e.to_string();
                    self.spawn()?;
                }
            }
        }
        Err(NetworkError::Helper(format!(
            "no answer on `{}`: {last}",
            socket_path(self.paths).display()
        )))
    }

    fn spawn(&self) -> Result<(), NetworkError> {
        let start_err = |reason: String| NetworkError::HelperStart {
            exe: self.exe.to_path_buf(),
            reason,
        };
        fs_err::create_dir_all(&self.paths.run)?;
        let log = fs_err::File::options()
            .create(true)
            .append(true)
            .open(self.paths.run.join("netd.log"))?;
        // The helper forks and its parent exits at once: waiting here reaps it, and the
        // daemon is re-parented to init, so no zombie is left in long-lived callers.
        let status = Command::new(self.exe)
            .arg("__netd")
            .arg("--root")
            .arg(&self.paths.root)
            .arg("--resolv-conf")
            .arg(self.resolv_conf)
            .env("RCOMPOSE_RUN", &self.paths.run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log.into_parts().0))
            .status()
            .map_err(|e| start_err(e.to_string()))?;
        if !status.success() {
            return Err(start_err(format!("exited with {status}")));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut delay = Duration::from_micros(500);
        while Instant::now() < deadline {
            if UnixStream::connect(socket_path(self.paths)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(50));
        }
        Err(start_err(format!(
            "no socket at `{}` after 10 s (see `{}`)",
            socket_path(self.paths).display(),
            self.paths.run.join("netd.log").display()
        )))
    }
}

fn exchange(mut stream: UnixStream, req: &Request) -> std::io::Result<Response> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut line = serde_json::to_vec(req).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut out = String::new();
    BufReader::new(stream).read_line(&mut out)?;
    if out.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the helper closed the connection",
        ));
    }
    serde_json::from_str(&out).map_err(std::io::Error::other)
}

/// The pid of the running helper, if any (for tests and diagnostics).
pub fn running_pid(paths: &Paths) -> Option<i32> {
    let pid: i32 = fs_err::read_to_string(pid_path(paths))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok();
    alive.then_some(pid)
}

// ---------------------------------------------------------------------------------------------
// server

/// Entry point of `rcompose __netd`: daemonize, then serve until nothing is left. Must be
/// called while the process is still single-threaded (it forks).
pub fn main(paths: Paths, resolv_conf: PathBuf) -> i32 {
    // SAFETY: called from the CLI dispatch before any thread or runtime exists; the child
    // only continues ordinary Rust code, which is fine in a single-threaded process.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(e) => {
            eprintln!("rcompose __netd: fork: {e}");
            return 1;
        }
    }
    let _ = nix::unistd::setsid();
    // Do not pin the caller's working directory (it may be a mount someone unmounts later).
    let _ = std::env::set_current_dir("/");
    // One helper per run dir: wait for a previous one that is exiting.
    let _lock = match state::lock(&lock_path(&paths)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rcompose __netd: {e}");
            return 1;
        }
    };
    if UnixStream::connect(socket_path(&paths)).is_ok() {
        return 0; // another helper is serving
    }
    let _ = fs_err::remove_file(socket_path(&paths));
    let listener = match std::os::unix::net::UnixListener::bind(socket_path(&paths)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "rcompose __netd: cannot listen on `{}`: {e}",
                socket_path(&paths).display()
            );
            return 1;
        }
    };
    // Only root may talk to the helper (it binds ports and answers for every container).
    let _ = std::fs::set_permissions(
        socket_path(&paths),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    );
    let _ = fs_err::write(pid_path(&paths), format!("{}\n", std::process::id()));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rcompose __netd: {e}");
            return 1;
        }
    };
    let pid_file = pid_path(&paths);
    let code = rt.block_on(async move {
        let _ = listener.set_nonblocking(true);
        let listener = match tokio::net::UnixListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("rcompose __netd: {e}");
                return 1;
            }
        };
        let mut server = Server::new(paths.clone(), resolv_conf);
        server.restore_ports();
        let _ = server.sync();
        server.serve(listener).await;
        0
    });
    let _ = fs_err::remove_file(pid_file);
    code
}

struct Published {
    bindings: Vec<PortBinding>,
    tasks: JoinSet<()>,
}

struct Server {
    paths: Paths,
    resolv_conf: PathBuf,
    view: Arc<RwLock<DnsView>>,
    dns: HashMap<String, JoinHandle<()>>,
    ports: HashMap<String, Published>,
    /// Containers with at least one endpoint.
    containers: HashSet<String>,
}

impl Server {
    fn new(paths: Paths, resolv_conf: PathBuf) -> Self {
        Self {
            paths,
            resolv_conf,
            view: Arc::new(RwLock::new(DnsView::default())),
            dns: HashMap::new(),
            ports: HashMap::new(),
            containers: HashSet::new(),
        }
    }

    async fn serve(&mut self, listener: tokio::net::UnixListener) {
        loop {
            let accepted = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await;
            let mut stream = match accepted {
                Ok(Ok((s, _))) => s,
                Ok(Err(_)) => continue,
                Err(_) => {
                    // Idle for 30 s: re-check, so a helper whose last user died quietly exits.
                    let _ = self.sync();
                    if self.idle() {
                        break;
                    }
                    continue;
                }
            };
            let mut line = Vec::new();
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                let mut reader = tokio::io::BufReader::new(&mut stream);
                tokio::io::AsyncBufReadExt::read_until(&mut reader, b'\n', &mut line).await
            })
            .await;
            if !matches!(read, Ok(Ok(n)) if n > 0) {
                continue;
            }
            let resp = match serde_json::from_slice::<Request>(&line) {
                Ok(req) => self.handle(req),
                Err(e) => Response::Error {
                    message: format!("bad request: {e}"),
                },
            };
            let exiting = self.idle();
            if exiting {
                // Stop accepting before answering, so a client that comes after us starts a
                // new helper instead of talking to one that is going away.
                let _ = fs_err::remove_file(socket_path(&self.paths));
            }
            let mut out = serde_json::to_vec(&resp).unwrap_or_default();
            out.push(b'\n');
            let _ = stream.write_all(&out).await;
            let _ = stream.shutdown().await;
            if exiting {
                break;
            }
        }
        let _ = fs_err::remove_file(socket_path(&self.paths));
    }

    fn idle(&self) -> bool {
        self.containers.is_empty() && self.ports.is_empty()
    }

    fn handle(&mut self, req: Request) -> Response {
        match req {
            Request::Ping => Response::Ok,
            Request::Sync { container } => {
                let failed = self.sync();
                match container.and_then(|c| failed.get(&c).cloned()) {
                    Some(message) => Response::Error { message },
                    None => Response::Ok,
                }
            }
            Request::Publish {
                container_id,
                ports,
            } => self.publish(container_id, ports),
            Request::Unpublish { container_id } => {
                self.unpublish(&container_id);
                Response::Ok
            }
        }
    }

    /// Re-read the networks' state; open DNS sockets for containers that got an endpoint,
    /// close those of containers that have none left, drop their ports. Returns the
    /// containers whose DNS socket could not be opened, with why.
    fn sync(&mut self) -> HashMap<String, String> {
        let mut failed = HashMap::new();
        let networks = read_dir_json::<Network>(&self.paths.networks());
        let host = fs_err::read_to_string(&self.resolv_conf).unwrap_or_default();
        let host_upstream = dns::nameservers(&host);
        let view = DnsView::build(&networks, &host_upstream);
        let wanted: HashSet<String> = view.containers().map(str::to_string).collect();
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = view;

        self.dns.retain(|id, task| {
            let keep = wanted.contains(id);
            if !keep {
                task.abort();
            }
            keep
        });
        for id in &wanted {
            if self.dns.contains_key(id) {
                continue;
            }
            let netns = self.paths.run.join("netns").join(id);
            match open_dns_sockets(&netns) {
                Ok((udp, tcp)) => {
                    let task = tokio::spawn(serve_dns(udp, tcp, id.clone(), self.view.clone()));
                    self.dns.insert(id.clone(), task);
                }
                Err(e) => {
                    let message = format!(
                        "cannot serve DNS on {DNS_ADDR}:53 in container {id}: {}",
                        error_chain(&e)
                    );
                    tracing::warn!("{message}");
                    failed.insert(id.clone(), message);
                }
            }
        }
        let gone: Vec<String> = self
            .ports
            .keys()
            .filter(|id| !wanted.contains(*id))
            .cloned()
            .collect();
        for id in gone {
            self.unpublish(&id);
        }
        self.containers = wanted;
        failed
    }

    fn publish(&mut self, container_id: String, ports: Vec<PublishPort>) -> Response {
        // Publishing replaces the container's previous ports.
        self.unpublish(&container_id);
        let mut bound = Vec::new();
        for p in &ports {
            match ports::bind(&p.spec, p.container_ip) {
                Ok(b) => bound.extend(b),
                Err(BindError::InUse { host_ip, port }) => {
                    return Response::PortInUse { host_ip, port };
                }
                Err(BindError::Other { message }) => return Response::Error { message },
            }
        }
        let bindings: Vec<PortBinding> = bound.iter().map(|(b, _)| b.clone()).collect();
        if let Err(e) = state::write_json(
            &ports_dir(&self.paths).join(format!("{container_id}.json")),
            &bindings,
        ) {
            return Response::Error {
                message: e.to_string(),
            };
        }
        let mut tasks = JoinSet::new();
        for (b, sock) in bound {
            tasks.spawn(ports::proxy(
                sock,
                SocketAddr::new(IpAddr::V4(b.container_ip), b.target),
            ));
        }
        self.ports.insert(
            container_id,
            Published {
                bindings: bindings.clone(),
                tasks,
            },
        );
        Response::Published { bindings }
    }

    fn unpublish(&mut self, container_id: &str) {
        if let Some(mut p) = self.ports.remove(container_id) {
            p.tasks.abort_all();
            drop(p.bindings);
        }
        let _ = state::remove_file(&ports_dir(&self.paths).join(format!("{container_id}.json")));
    }

    /// After a restart: bind again what the previous helper had published.
    fn restore_ports(&mut self) {
        let Ok(dir) = fs_err::read_dir(ports_dir(&self.paths)) else {
            return;
        };
        for entry in dir.flatten() {
            let path = entry.path();
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let Ok(Some(bindings)) = state::read_json::<Vec<PortBinding>>(&path) else {
                continue;
            };
            let mut tasks = JoinSet::new();
            for b in &bindings {
                match ports::rebind(b) {
                    Ok(sock) => {
                        tasks.spawn(ports::proxy(
                            sock,
                            SocketAddr::new(IpAddr::V4(b.container_ip), b.target),
                        ));
                    }
                    Err(e) => tracing::warn!("container {id}: cannot re-bind {b}: {e}"),
                }
            }
            self.ports
                .insert(id.to_string(), Published { bindings, tasks });
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

fn read_dir_json<T: for<'de> Deserialize<'de>>(dir: &Path) -> Vec<T> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json")
            && let Ok(Some(v)) = state::read_json::<T>(&p)
        {
            out.push(v);
        }
    }
    out
}

/// UDP and TCP sockets on 127.0.0.11:53 inside the namespace at `netns`.
fn open_dns_sockets(
    netns: &Path,
) -> Result<(std::net::UdpSocket, std::net::TcpListener), NetworkError> {
    let fd = netns::open(netns)?;
    let addr = SocketAddr::new(IpAddr::V4(DNS_ADDR), 53);
    let made = netns::run_in(fd.as_fd(), || -> std::io::Result<_> {
        let udp = std::net::UdpSocket::bind(addr)?;
        let tcp = std::net::TcpListener::bind(addr)?;
        Ok((udp, tcp))
    })
    .map_err(|source| NetworkError::EnterNetns {
        path: netns.to_path_buf(),
        source,
    })?;
    let (udp, tcp) = made?;
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    Ok((udp, tcp))
}

/// Serve one container's DNS until aborted; in-flight forwards live in the task's `JoinSet`
/// and die with it.
async fn serve_dns(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    sandbox: String,
    view: Arc<RwLock<DnsView>>,
) {
    let (Ok(udp), Ok(tcp)) = (
        tokio::net::UdpSocket::from_std(udp),
        tokio::net::TcpListener::from_std(tcp),
    ) else {
        return;
    };
    let udp = Arc::new(udp);
    let sandbox: Arc<str> = sandbox.into();
    let mut inflight = JoinSet::new();
    let mut buf = vec![0u8; 4096];
    loop {
        tokio::select! {
            received = udp.recv_from(&mut buf) => {
                let Ok((n, peer)) = received else { continue };
                let packet = buf[..n].to_vec();
                let reply = view.read().unwrap_or_else(|e| e.into_inner()).answer(&sandbox, &packet, true);
                match reply {
                    Reply::Answer(bytes) => { let _ = udp.send_to(&bytes, peer).await; }
                    Reply::Forward(upstream) => {
                        let udp = udp.clone();
                        inflight.spawn(async move {
                            let reply = match forward_udp(&packet, &upstream).await {
                                Some(r) => Some(r),
                                None => dns::servfail(&packet),
                            };
                            if let Some(r) = reply {
                                let _ = udp.send_to(&r, peer).await;
                            }
                        });
                    }
                    Reply::Drop => {}
                }
            }
            accepted = tcp.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                inflight.spawn(serve_dns_tcp(stream, sandbox.clone(), view.clone()));
            }
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
        }
    }
}

async fn serve_dns_tcp(
    mut stream: tokio::net::TcpStream,
    sandbox: Arc<str>,
    view: Arc<RwLock<DnsView>>,
) {
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(Duration::from_secs(10), stream.read_u16()).await
        else {
            return;
        };
        let mut packet = vec![0u8; usize::from(len)];
        if stream.read_exact(&mut packet).await.is_err() {
            return;
        }
        let reply = view
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .answer(&sandbox, &packet, false);
        let bytes = match reply {
            Reply::Answer(b) => b,
            Reply::Forward(upstream) => match forward_tcp(&packet, &upstream).await {
                Some(b) => b,
                None => match dns::servfail(&packet) {
                    Some(b) => b,
                    None => return,
                },
            },
            Reply::Drop => return,
        };
        let Ok(len) = u16::try_from(bytes.len()) else {
            return;
        };
        if stream.write_u16(len).await.is_err() || stream.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// Per-upstream timeout (glibc's resolver waits 5 s per try; answer before it gives up).
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

async fn forward_udp(packet: &[u8], upstream: &[SocketAddr]) -> Option<Vec<u8>> {
    let id = dns::message_id(packet)?;
    for server in upstream {
        let bind: SocketAddr = if server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let Ok(sock) = tokio::net::UdpSocket::bind(bind).await else {
            continue;
        };
        if sock.connect(server).await.is_err() || sock.send(packet).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; 65535];
        let deadline = tokio::time::Instant::now() + UPSTREAM_TIMEOUT;
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            if dns::message_id(&buf[..n]) == Some(id) {
                buf.truncate(n);
                return Some(buf);
            }
        }
    }
    None
}

async fn forward_tcp(packet: &[u8], upstream: &[SocketAddr]) -> Option<Vec<u8>> {
    for server in upstream {
        let attempt = async {
            let mut s = tokio::net::TcpStream::connect(server).await.ok()?;
            s.write_u16(u16::try_from(packet.len()).ok()?).await.ok()?;
            s.write_all(packet).await.ok()?;
            let len = s.read_u16().await.ok()?;
            let mut buf = vec![0u8; usize::from(len)];
            s.read_exact(&mut buf).await.ok()?;
            Some(buf)
        };
        if let Ok(Some(b)) = tokio::time::timeout(UPSTREAM_TIMEOUT, attempt).await {
            return Some(b);
        }
    }
    None
}
