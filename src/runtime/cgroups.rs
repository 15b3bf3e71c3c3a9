//! The container's cgroup, read and written through the cgroup filesystem directly (no
//! libcontainer: these run in the multi-threaded CLI): processes, freezer, kill, stats,
//! OOM, cleanup. cgroup v1 (legacy and hybrid layouts) and v2.
//!
//! libcontainer creates the cgroup `<cgroupsPath>` in every v1 hierarchy it manages (or the
//! one v2 directory) when the container starts and removes it on delete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// True when `/sys/fs/cgroup` is a cgroup2 mount (unified mode).
pub fn is_unified() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// v1 controller name → mount point, from `/proc/self/mountinfo`.
pub fn v1_mounts() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return out;
    };
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split_whitespace();
        if post.next() != Some("cgroup") {
            continue;
        }
        let super_opts = post.nth(1).unwrap_or_default();
        let Some(mount_point) = pre.split_whitespace().nth(4) else {
            continue;
        };
        for opt in super_opts.split(',') {
            let name = opt.strip_prefix("name=").unwrap_or(opt);
            if matches!(
                name,
                "cpu"
                    | "cpuacct"
                    | "cpuset"
                    | "memory"
                    | "devices"
                    | "freezer"
                    | "blkio"
                    | "pids"
                    | "hugetlb"
                    | "perf_event"
                    | "net_cls"
                    | "net_prio"
                    | "rdma"
                    | "misc"
                    | "systemd"
            ) {
                out.insert(name.to_string(), PathBuf::from(mount_point));
            }
        }
    }
    out
}

/// The directories of one cgroup path (`/rcompose/<id>`).
#[derive(Debug, Clone)]
pub enum Cgroup {
    V2(PathBuf),
    V1 {
        /// controller → directory
        dirs: BTreeMap<String, PathBuf>,
    },
}

/// Usage figures for `stats` and the dashboard. Counters are cumulative.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Total CPU time used by the container, nanoseconds.
    pub cpu_usage_ns: u64,
    /// Host CPU time (all CPUs) in nanoseconds, from `/proc/stat`, for percentages.
    pub system_cpu_ns: u64,
    pub online_cpus: u32,
    pub cpu_throttled_periods: u64,
    /// Bytes in use, as `docker stats` counts it: usage minus inactive file cache.
    pub memory_usage: u64,
    /// Raw usage including all page cache.
    pub memory_usage_raw: u64,
    /// The limit (the host's RAM when unlimited, as Docker shows).
    pub memory_limit: u64,
    pub pids_current: u64,
    /// `None`: unlimited.
    pub pids_limit: Option<u64>,
    pub blkio_read_bytes: u64,
    pub blkio_write_bytes: u64,
    /// Network counters of the container's namespace (all interfaces but `lo`).
    pub net_rx_bytes: u64,
    pub net_tx_bytes: u64,
}

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

fn read_kv(p: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Total host CPU time in ns and the number of online CPUs, from `/proc/stat`.
pub fn system_cpu() -> (u64, u32) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let mut total = 0;
    let mut cpus = 0;
    for l in s.lines() {
        if let Some(rest) = l.strip_prefix("cpu ") {
            total = rest
                .split_whitespace()
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum::<u64>()
                * (1_000_000_000 / tck);
        } else if l.starts_with("cpu") {
            cpus += 1;
        }
    }
    (total, cpus)
}

/// rx/tx bytes of `/proc/<pid>/net/dev`, without `lo`.
pub fn net_bytes(pid: i32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    let mut rx = 0;
    let mut tx = 0;
    for l in s.lines().skip(2) {
        let Some((iface, rest)) = l.split_once(':') else {
            continue;
        };
        if iface.trim() == "lo" {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        rx += v.first().copied().unwrap_or(0);
        tx += v.get(8).copied().unwrap_or(0);
    }
    (rx, tx)
}

impl Cgroup {
    /// The cgroup at `path` (absolute cgroup path such as `/rcompose/<id>`).
    pub fn open(path: &str) -> Cgroup {
        let rel = path.trim_start_matches('/');
        if is_unified() {
            Cgroup::V2(Path::new("/sys/fs/cgroup").join(rel))
        } else {
            Cgroup::V1 {
                dirs: v1_mounts()
                    .into_iter()
                    .filter(|(c, _)| c != "systemd")
                    .map(|(c, m)| (c, m.join(rel)))
                    .collect(),
            }
        }
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        match self {
            Cgroup::V2(p) => Some(p),
            Cgroup::V1 { dirs } => dirs.get(controller).map(PathBuf::as_path),
        }
    }

    /// Every directory of this cgroup that exists.
    pub fn existing_dirs(&self) -> Vec<PathBuf> {
        match self {
            Cgroup::V2(p) => vec![p.clone()].into_iter().filter(|p| p.exists()).collect(),
            Cgroup::V1 { dirs } => dirs.values().filter(|p| p.exists()).cloned().collect(),
        }
    }

    pub fn exists(&self) -> bool {
        !self.existing_dirs().is_empty()
    }

    /// Pids in the cgroup (host pid namespace).
    pub fn procs(&self) -> Vec<i32> {
        let dir = match self {
            Cgroup::V2(p) => Some(p.as_path()),
            Cgroup::V1 { .. } => self
                .dir("pids")
                .or_else(|| self.dir("memory"))
                .or_else(|| self.dir("freezer")),
        };
        let Some(dir) = dir else { return Vec::new() };
        let mut v: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        v.sort_unstable();
        v
    }

    /// Freeze (`true`) or thaw the cgroup and wait until the kernel reports it done.
    pub fn set_frozen(&self, frozen: bool) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        match self {
            Cgroup::V2(p) => {
                fs_err::write(p.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
                let want = if frozen { "frozen 1" } else { "frozen 0" };
                while Instant::now() < deadline {
                    let ev = std::fs::read_to_string(p.join("cgroup.events")).unwrap_or_default();
                    if ev.lines().any(|l| l == want) {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            Cgroup::V1 { .. } => {
                let dir = self.dir("freezer").ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no freezer cgroup")
                })?;
                let want = if frozen { "FROZEN" } else { "THAWED" };
                while Instant::now() < deadline {
                    fs_err::write(dir.join("freezer.state"), want)?;
                    let st = std::fs::read_to_string(dir.join("freezer.state")).unwrap_or_default();
                    if st.trim() == want {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the cgroup freezer did not settle within 10 s",
        ))
    }

    pub fn is_frozen(&self) -> bool {
        match self {
            Cgroup::V2(p) => std::fs::read_to_string(p.join("cgroup.events"))
                .unwrap_or_default()
                .lines()
                .any(|l| l == "frozen 1"),
            Cgroup::V1 { .. } => self
                .dir("freezer")
                .and_then(|d| std::fs::read_to_string(d.join("freezer.state")).ok())
                .is_some_and(|s| s.trim() == "FROZEN"),
        }
    }

    /// SIGKILL every process in the cgroup (thawing it first) and wait up to `timeout`
    /// for it to empty. Returns whether it is empty.
    pub fn kill_all(&self, timeout: Duration) -> bool {
        if self.is_frozen() {
            let _ = self.set_frozen(false);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let procs = self.procs();
            if procs.is_empty() {
                return true;
            }
            for pid in procs {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if Instant::now() >= deadline {
                return self.procs().is_empty();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Remove the cgroup's directories (children first). Processes must be gone.
    pub fn remove(&self) -> std::io::Result<()> {
        for d in self.existing_dirs() {
            remove_tree(&d)?;
        }
        Ok(())
    }

    /// Whether the kernel's OOM killer has killed a process of this cgroup.
    pub fn oom_killed(&self) -> bool {
        match self {
            Cgroup::V2(p) => read_kv(&p.join("memory.events"))
                .get("oom_kill")
                .is_some_and(|n| *n > 0),
            Cgroup::V1 { .. } => self
                .dir("memory")
                .map(|d| read_kv(&d.join("memory.oom_control")))
                .and_then(|kv| kv.get("oom_kill").copied())
                .is_some_and(|n| n > 0),
        }
    }

    /// Read usage figures. `pid` (the init) gives the network namespace's counters.
    pub fn stats(&self, pid: Option<i32>) -> Stats {
        let mut s = Stats::default();
        (s.system_cpu_ns, s.online_cpus) = system_cpu();
        let host_mem = host_memory();
        match self {
            Cgroup::V2(p) => {
                let cpu = read_kv(&p.join("cpu.stat"));
                s.cpu_usage_ns = cpu.get("usage_usec").copied().unwrap_or(0) * 1000;
                s.cpu_throttled_periods = cpu.get("nr_throttled").copied().unwrap_or(0);
                s.memory_usage_raw = read_u64(&p.join("memory.current")).unwrap_or(0);
                let inactive = read_kv(&p.join("memory.stat"))
                    .get("inactive_file")
                    .copied()
                    .unwrap_or(0);
                s.memory_usage = s.memory_usage_raw.saturating_sub(inactive);
                s.memory_limit = read_u64(&p.join("memory.max"))
                    .unwrap_or(host_mem)
                    .min(host_mem);
                s.pids_current = read_u64(&p.join("pids.current")).unwrap_or(0);
                s.pids_limit = read_u64(&p.join("pids.max"));
                for l in std::fs::read_to_string(p.join("io.stat"))
                    .unwrap_or_default()
                    .lines()
                {
                    for kv in l.split_whitespace().skip(1) {
                        if let Some((k, v)) = kv.split_once('=') {
                            let v: u64 = v.parse().unwrap_or(0);
                            match k {
                                "rbytes" => s.blkio_read_bytes += v,
                                "wbytes" => s.blkio_write_bytes += v,
                                _ => {}
                            }
                        }
                    }
                }
            }
            Cgroup::V1 { .. } => {
                if let Some(d) = self.dir("cpuacct") {
                    s.cpu_usage_ns = read_u64(&d.join("cpuacct.usage")).unwrap_or(0);
                }
                if let Some(d) = self.dir("cpu") {
                    s.cpu_throttled_periods = read_kv(&d.join("cpu.stat"))
                        .get("nr_throttled")
                        .copied()
                        .unwrap_or(0);
                }
                if let Some(d) = self.dir("memory") {
                    s.memory_usage_raw = read_u64(&d.join("memory.usage_in_bytes")).unwrap_or(0);
                    let inactive = read_kv(&d.join("memory.stat"))
                        .get("total_inactive_file")
                        .copied()
                        .unwrap_or(0);
                    s.memory_usage = s.memory_usage_raw.saturating_sub(inactive);
                    s.memory_limit = read_u64(&d.join("memory.limit_in_bytes"))
                        .unwrap_or(host_mem)
                        .min(host_mem);
                }
                if let Some(d) = self.dir("pids") {
                    s.pids_current = read_u64(&d.join("pids.current")).unwrap_or(0);
                    s.pids_limit = read_u64(&d.join("pids.max"));
                }
                if let Some(d) = self.dir("blkio") {
                    let text = std::fs::read_to_string(
                        d.join("blkio.throttle.io_service_bytes_recursive"),
                    )
                    .unwrap_or_default();
                    for l in text.lines() {
                        let f: Vec<&str> = l.split_whitespace().collect();
                        if let [_, op, v] = f.as_slice() {
                            let v: u64 = v.parse().unwrap_or(0);
                            match *op {
                                "Read" => s.blkio_read_bytes += v,
                                "Write" => s.blkio_write_bytes += v,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        if s.memory_limit == 0 {
            s.memory_limit = host_mem;
        }
        if let Some(pid) = pid {
            (s.net_rx_bytes, s.net_tx_bytes) = net_bytes(pid);
        }
        s
    }
}

/// `rmdir` a cgroup directory and its child cgroups, deepest first.
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&e.path())?;
            }
        }
    }
    // The kernel may need a moment after the last process exits.
    let mut last = Ok(());
    for _ in 0..200 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Err(e),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    last.map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
}

/// Remove `parent` (e.g. `/rcompose-test-x`) in every hierarchy if it has no children left.
pub fn remove_parent_if_empty(parent: &str) {
    let cg = Cgroup::open(parent);
    for d in cg.existing_dirs() {
        let _ = std::fs::remove_dir(&d);
    }
}
