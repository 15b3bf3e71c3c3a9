//! Real-kernel fixtures for the network layer: a fresh state root and run dir, a unique
//! nftables table, unique names; "containers" are network namespaces with busybox (or
//! python3) processes started inside them, in a private mount namespace where the
//! container's `resolv.conf` and `hosts` are bind-mounted, as the runtime will do.
//!
//! Everything is torn down on drop, pass or fail: processes, sandboxes, networks, the nft
//! table, the helper. [`NetFixture::finish`] also checks that nothing survived.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::CString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rcompose::network::{
    AddressPool, Attachment, ConnectOptions, DnsConfig, HostsConfig, NetConfig, Network,
    NetworkSpec, Networks, ResolverMode, Sandbox, SandboxOptions, files, netns,
};
use rcompose::paths::Paths;

pub const BUSYBOX: &str = "/bin/busybox";

pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    getrandom::fill(&mut b).unwrap();
    let mut s = hex::encode(b);
    s.truncate(n);
    s
}

/// A "container": a sandbox plus the files the runtime would bind-mount.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub sandbox: Sandbox,
    pub attachments: Vec<Attachment>,
    pub resolv_conf: PathBuf,
    pub hosts: PathBuf,
}

impl Container {
    pub fn ip(&self) -> Ipv4Addr {
        self.attachments[0].ipv4
    }
}

pub struct NetFixture {
    pub dir: tempfile::TempDir,
    pub nets: Networks,
    pub tag: String,
    children: Mutex<Vec<Child>>,
    containers: Mutex<Vec<String>>,
    networks: Mutex<Vec<String>>,
    veths: Mutex<Vec<String>>,
    bridges: Mutex<Vec<String>>,
}

impl NetFixture {
    pub fn new() -> Self {
        Self::with_ip_forward(false)
    }

    /// `manage`: let rcompose manage `net.ipv4.ip_forward` (as in production).
    pub fn with_ip_forward(manage: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rcompose-net-")
            .tempdir()
            .unwrap();
        let tag = random_hex(6);
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        let host_resolv = dir.path().join("host-resolv.conf");
        // Loopback only: tests never send traffic off the machine. Nothing listens on
        // 127.0.0.1:53, so forwarded names fail fast (SERVFAIL).
        std::fs::write(&host_resolv, "search test.invalid\nnameserver 127.0.0.1\n").unwrap();
        let mut config = NetConfig::from_env();
        config.nft_table = format!("rct_{tag}");
        config.helper_exe = PathBuf::from(env!("CARGO_BIN_EXE_rcompose"));
        // Tests leave host-wide sysctls alone (traffic stays between containers and host),
        // except the one test of that behaviour.
        config.manage_ip_forward = manage;
        config.pools = vec![AddressPool::parse("10.123.0.0/16:24").unwrap()];
        config.host_resolv_conf = host_resolv;
        Self {
            nets: Networks::with_config(paths, config),
            dir,
            tag,
            children: Mutex::new(Vec::new()),
            containers: Mutex::new(Vec::new()),
            networks: Mutex::new(Vec::new()),
            veths: Mutex::new(Vec::new()),
            bridges: Mutex::new(Vec::new()),
        }
    }

    pub fn table(&self) -> &str {
        &self.nets.config().nft_table
    }

    /// A unique network name for this test.
    pub fn net_name(&self, n: &str) -> String {
        format!("t{}_{n}", self.tag)
    }

    pub fn network(&self, n: &str, internal: bool) -> Network {
        self.network_spec(NetworkSpec {
            name: self.net_name(n),
            internal,
            ..Default::default()
        })
    }

    pub fn network_spec(&self, spec: NetworkSpec) -> Network {
        self.networks.lock().unwrap().push(spec.name.clone());
        let net = self.nets.create(&spec).expect("create network");
        self.bridges.lock().unwrap().push(net.bridge.clone());
        net
    }

    /// Create a container sandbox and connect it to `networks` (full names) with options.
    pub fn container(
        &self,
        service: &str,
        number: u32,
        networks: &[(&str, ConnectOptions)],
    ) -> Container {
        self.container_with(service, number, networks, SandboxOptions::default())
    }

    pub fn container_with(
        &self,
        service: &str,
        number: u32,
        networks: &[(&str, ConnectOptions)],
        mut opts: SandboxOptions,
    ) -> Container {
        let id = random_hex(64);
        let name = format!("t{}-{service}-{number}", self.tag);
        if opts.container_name.is_empty() {
            opts.container_name = name.clone();
        }
        self.containers.lock().unwrap().push(id.clone());
        let sandbox = self
            .nets
            .create_sandbox(&id, &opts)
            .expect("create sandbox");
        let mut attachments = Vec::new();
        for (net, c) in networks {
            let mut c = c.clone();
            if !c.aliases.iter().any(|a| a == service) {
                c.aliases.insert(0, service.to_string());
            }
            let a = self.nets.connect(&sandbox, net, &c).expect("connect");
            attachments.push(a);
        }
        self.record_veths();
        let cdir = self.dir.path().join("containers").join(&id);
        std::fs::create_dir_all(&cdir).unwrap();
        let mode = if networks.is_empty() {
            ResolverMode::Isolated
        } else {
            ResolverMode::Embedded
        };
        let resolv_conf = cdir.join("resolv.conf");
        files::write_file(
            &resolv_conf,
            &self.nets.resolv_conf(mode, &DnsConfig::default()).unwrap(),
        )
        .unwrap();
        let hosts = cdir.join("hosts");
        let hcfg = HostsConfig {
            hostname: id[..12].to_string(),
            addresses: attachments.iter().map(|a| IpAddr::V4(a.ipv4)).collect(),
            host_gateway: attachments.first().map(|a| IpAddr::V4(a.gateway)),
            ..Default::default()
        };
        files::write_file(&hosts, &self.nets.hosts(&hcfg, false).unwrap()).unwrap();
        Container {
            id,
            name,
            sandbox,
            attachments,
            resolv_conf,
            hosts,
        }
    }

    fn record_veths(&self) {
        let mut v = self.veths.lock().unwrap();
        for n in self.nets.list().unwrap() {
            for e in n.endpoints.values() {
                if !v.contains(&e.host_veth) {
                    v.push(e.host_veth.clone());
                }
            }
        }
    }

    /// A command that runs inside the container: its network namespace, a private mount
    /// namespace with the container's resolv.conf and hosts bind-mounted.
    pub fn command(&self, c: &Container, args: &[&str]) -> Command {
        let ns: OwnedFd = std::fs::File::open(&c.sandbox.path).unwrap().into();
        let resolv = CString::new(c.resolv_conf.to_str().unwrap()).unwrap();
        let hosts = CString::new(c.hosts.to_str().unwrap()).unwrap();
        let mut cmd = Command::new(args[0]);
        cmd.args(&args[1..]);
        cmd.stdin(Stdio::null());
        // SAFETY: only async-signal-safe syscalls between fork and exec; every string was
        // allocated before the fork.
        unsafe {
            cmd.pre_exec(move || {
                fn check(r: libc::c_int) -> std::io::Result<()> {
                    if r != 0 {
                        Err(std::io::Error::last_os_error())
                    } else {
                        Ok(())
                    }
                }
                check(libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET))?;
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    resolv.as_ptr(),
                    c"/etc/resolv.conf".as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    hosts.as_ptr(),
                    c"/etc/hosts".as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ))?;
                Ok(())
            });
        }
        cmd
    }

    /// Start a long-running process in the container (killed at teardown).
    pub fn spawn(&self, c: &Container, args: &[&str]) {
        let child = self
            .command(c, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn in container");
        self.children.lock().unwrap().push(child);
    }

    /// Run a command in the container to completion (killed after 20 s).
    pub fn exec(&self, c: &Container, args: &[&str]) -> Output {
        let child = self
            .command(c, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("exec in container");
        wait_output(child, Duration::from_secs(20))
    }

    /// Like [`exec`], retrying until it succeeds (servers take a moment to listen).
    pub fn exec_until_ok(&self, c: &Container, args: &[&str]) -> Output {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.exec(c, args);
            if out.status.success() || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// busybox httpd serving `body` on `port` inside the container.
    pub fn serve_http(&self, c: &Container, port: u16, body: &str) {
        let www = self.dir.path().join("www").join(&c.id);
        std::fs::create_dir_all(&www).unwrap();
        std::fs::write(www.join("index.html"), body).unwrap();
        let port = format!("{port}");
        self.spawn(
            c,
            &[
                BUSYBOX,
                "httpd",
                "-f",
                "-p",
                &port,
                "-h",
                www.to_str().unwrap(),
            ],
        );
    }

    /// A UDP echo server (python3) inside the container: replies `echo:` + payload.
    pub fn serve_udp_echo(&self, c: &Container, port: u16) {
        let code = format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',{port}))\nwhile True:\n d,a=s.recvfrom(2048)\n s.sendto(b'echo:'+d,a)\n"
        );
        self.spawn(c, &["python3", "-c", &code]);
    }

    /// Tear everything down and check that nothing survived.
    pub fn finish(self) {
        let veths = self.veths.lock().unwrap().clone();
        let bridges = self.bridges.lock().unwrap().clone();
        let root = self.dir.path().to_path_buf();
        let table = self.table().to_string();
        let helper = self.nets.helper_pid();
        self.teardown();
        assert_nothing_left(&root, &table, &bridges, &veths, helper);
    }

    fn teardown(&self) {
        for mut c in self.children.lock().unwrap().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        for id in self.containers.lock().unwrap().drain(..) {
            if let Err(e) = self.nets.destroy_sandbox(&id) {
                eprintln!("teardown: destroy sandbox {id}: {e}");
            }
        }
        let names: Vec<String> = self.networks.lock().unwrap().drain(..).collect();
        for n in names {
            match self.nets.remove(&n) {
                Ok(()) | Err(rcompose::network::NetworkError::NotFound(_)) => {}
                Err(e) => eprintln!("teardown: remove network {n}: {e}"),
            }
        }
        // Belt and braces, whatever failed above.
        if let Some(pid) = self.nets.helper_pid() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while self.nets.helper_pid().is_some() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.nets.helper_pid().is_some() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        let netns_dir = self.nets.paths().run.join("netns");
        if let Ok(entries) = std::fs::read_dir(&netns_dir) {
            for e in entries.flatten() {
                let _ = netns::remove(&e.path());
            }
        }
        for b in self.bridges.lock().unwrap().iter() {
            let _ = Command::new("ip")
                .args(["link", "del", b])
                .stderr(Stdio::null())
                .status();
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", self.table()])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for NetFixture {
    fn drop(&mut self) {
        self.teardown();
    }
}

pub fn wait_output(mut child: Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

pub fn nft_table(table: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "ip", table])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn mounts_under(dir: &Path) -> Vec<String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_str().unwrap();
    mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| m.starts_with(dir))
        .map(str::to_string)
        .collect()
}

/// Nothing of a test may survive: mounts, links, the nft table, the helper.
pub fn assert_nothing_left(
    root: &Path,
    table: &str,
    bridges: &[String],
    veths: &[String],
    helper: Option<i32>,
) {
    assert_eq!(mounts_under(root), Vec::<String>::new(), "mounts left");
    // A destroyed namespace takes its veths with it asynchronously (the kernel's cleanup_net
    // work): give it a moment before calling one a leak.
    let deadline = Instant::now() + Duration::from_secs(5);
    let left = |names: &[String]| -> Vec<String> {
        names.iter().filter(|n| link_exists(n)).cloned().collect()
    };
    while !left(veths).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(left(veths), Vec::<String>::new(), "veths left");
    assert_eq!(left(bridges), Vec::<String>::new(), "bridges left");
    assert!(nft_table(table).is_none(), "nft table {table} left");
    if let Some(pid) = helper {
        let deadline = Instant::now() + Duration::from_secs(5);
        let alive = || {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ")
        };
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(), "network helper {pid} still running");
    }
}

/// Send one DNS query for `name` to 127.0.0.11 from inside `c` and return the A records (in
/// the order given) and the response code.
pub fn query_a(c: &Container, name: &str) -> (Vec<Ipv4Addr>, String) {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RData, RecordType};
    let ns: OwnedFd = std::fs::File::open(&c.sandbox.path).unwrap().into();
    let sock = netns::run_in(std::os::fd::AsFd::as_fd(&ns), || {
        std::net::UdpSocket::bind("127.0.0.1:0")
    })
    .unwrap()
    .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    sock.send_to(&m.to_vec().unwrap(), "127.0.0.11:53").unwrap();
    let mut buf = [0u8; 4096];
    let n = loop {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("no answer from 127.0.0.11 in {}: {e}", c.name),
        }
    };
    let resp = Message::from_vec(&buf[..n]).unwrap();
    let ips = resp
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    (ips, resp.metadata.response_code.to_string())
}

/// A tiny upstream DNS server on 127.0.0.1 (host namespace): answers `name` with `ip`,
/// NXDOMAIN otherwise. Runs until the process ends.
pub fn fake_upstream(name: &'static str, ip: Ipv4Addr) -> SocketAddr {
    use hickory_proto::op::{Message, ResponseCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record, RecordType};
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, peer)) = sock.recv_from(&mut buf) {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut r = Message::response(q.metadata.id, q.metadata.op_code);
            r.add_queries(q.queries.iter().cloned());
            match q.queries.first() {
                Some(query)
                    if query.name().to_ascii().trim_end_matches('.') == name
                        && query.query_type() == RecordType::A =>
                {
                    r.add_answer(Record::from_rdata(
                        query.name().clone(),
                        60,
                        RData::A(A(ip)),
                    ));
                }
                Some(query) if query.name().to_ascii().trim_end_matches('.') == name => {}
                _ => r.metadata.response_code = ResponseCode::NXDomain,
            }
            let _ = sock.send_to(&r.to_vec().unwrap(), peer);
        }
    });
    addr
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The same query over TCP (length-prefixed), from inside `c`.
pub fn query_a_tcp(c: &Container, name: &str) -> Vec<Ipv4Addr> {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RData, RecordType};
    use std::io::{Read, Write};
    let ns: OwnedFd = std::fs::File::open(&c.sandbox.path).unwrap().into();
    let mut s = netns::run_in(std::os::fd::AsFd::as_fd(&ns), || {
        std::net::TcpStream::connect("127.0.0.11:53")
    })
    .unwrap()
    .expect("TCP DNS on 127.0.0.11:53");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut m = Message::query();
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let q = m.to_vec().unwrap();
    s.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
    s.write_all(&q).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).unwrap();
    Message::from_vec(&buf)
        .unwrap()
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}
