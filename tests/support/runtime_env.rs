//! A fresh state root and run dir per test, and a Drop guard that leaves nothing behind:
//! processes started under them are killed, mounts under them unmounted, the test's cgroup
//! parent (`/rcompose-test-<random>`) removed in every hierarchy, the directories deleted.
//! [`TestEnv::leaks`] lists what would survive, for tests to assert on.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcompose::paths::Paths;

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub paths: Paths,
    /// A cgroup parent unique to this test: `/rcompose-test-<hex>`.
    pub cgroup_parent: String,
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let f = std::fs::File::open("/dev/urandom").unwrap();
    std::io::Read::read_exact(&mut &f, &mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rct")
            .tempdir_in("/tmp")
            .unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        std::fs::create_dir_all(&paths.root).unwrap();
        std::fs::create_dir_all(&paths.run).unwrap();
        TestEnv {
            dir,
            paths,
            cgroup_parent: format!("/rcompose-test-{}", random_hex(4)),
        }
    }

    /// A busybox rootfs under the test directory.
    pub fn rootfs(&self, name: &str) -> PathBuf {
        super::rootfs::build(&self.dir.path().join(name))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let rel = self.cgroup_parent.trim_start_matches('/');
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for e in rd.flatten() {
                let p = e.path().join(rel);
                if p.exists() {
                    out.push(p);
                }
            }
        }
        let p = Path::new("/sys/fs/cgroup").join(rel);
        if p.join("cgroup.procs").exists() && !out.contains(&p) {
            out.push(p);
        }
        out
    }

    fn procs_under(dir: &Path) -> Vec<i32> {
        let mut v = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            if let Ok(s) = std::fs::read_to_string(d.join("cgroup.procs")) {
                v.extend(s.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
            }
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        stack.push(e.path());
                    }
                }
            }
        }
        v
    }

    /// Processes whose command line mentions this test's directory (shims, helpers).
    fn our_processes(&self) -> Vec<i32> {
        let needle = self.dir.path().to_string_lossy().into_owned();
        let me = std::process::id() as i32;
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                if pid == me {
                    continue;
                }
                if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline"))
                    && String::from_utf8_lossy(&c).contains(&needle)
                {
                    out.push(pid);
                }
            }
        }
        out
    }

    fn mounts_under(&self) -> Vec<String> {
        let needle = self.dir.path().to_string_lossy().into_owned();
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut v: Vec<String> = info
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4).map(String::from))
            .filter(|m| m.starts_with(&needle))
            .collect();
        v.sort_by_key(|m| std::cmp::Reverse(m.len()));
        v
    }

    /// Everything this test left behind (empty when clean).
    pub fn leaks(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in self.mounts_under() {
            out.push(format!("mount {m}"));
        }
        // The test's parent cgroup is the harness's (removed on drop); a container's cgroup
        // below it is a leak.
        for d in self.cgroup_dirs() {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        out.push(format!("cgroup {}", e.path().display()));
                    }
                }
            }
        }
        for p in self.our_processes() {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            out.push(format!(
                "process {p} {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
        out
    }

    pub fn assert_clean(&self) {
        let l = self.leaks();
        assert!(l.is_empty(), "left behind: {l:#?}");
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        for _ in 0..3 {
            for p in self.our_processes() {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            for d in self.cgroup_dirs() {
                // Thaw a frozen cgroup so SIGKILL can land.
                let _ = std::fs::write(d.join("freezer.state"), "THAWED");
                let _ = std::fs::write(d.join("cgroup.freeze"), "0");
                for p in Self::procs_under(&d) {
                    let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for m in self.mounts_under() {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
        for d in self.cgroup_dirs() {
            let mut dirs = vec![];
            let mut stack = vec![d.clone()];
            while let Some(x) = stack.pop() {
                dirs.push(x.clone());
                if let Ok(rd) = std::fs::read_dir(&x) {
                    for e in rd.flatten() {
                        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                            stack.push(e.path());
                        }
                    }
                }
            }
            dirs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
            for x in dirs {
                for _ in 0..50 {
                    if std::fs::remove_dir(&x).is_ok() || !x.exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}
