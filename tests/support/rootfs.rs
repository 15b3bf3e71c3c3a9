//! A busybox root filesystem built offline from Debian's `busybox-static`.
//!
//! `/bin/busybox` plus one symlink per applet, `/etc/passwd`, `/etc/group`, and fixed
//! timestamps (2024-01-01) so anything hashed from it is stable. The applet links are made
//! from `busybox --list` and point at `busybox` relatively: `busybox --install -s DIR`
//! would point them at the host's `/proc/self/exe` target (`/usr/bin/busybox`), which does
//! not exist inside the container.

#![allow(dead_code)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Host path of the static busybox (Debian's `busybox-static`).
pub const BUSYBOX: &str = "/bin/busybox";

/// 2024-01-01T00:00:00Z
pub const FIXED_MTIME: i64 = 1_704_067_200;

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
app:x:1000:1000:app:/home/app:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

pub const GROUP: &str = "root:x:0:\n\
daemon:x:1:\n\
wheel:x:10:root\n\
staff:x:50:app\n\
app:x:1000:\n\
nogroup:x:65534:\n";

/// Build a busybox rootfs in `dir` (created if needed) and return it.
pub fn build(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in [
        "etc", "root", "home/app", "tmp", "proc", "sys", "dev", "usr/bin", "sbin", "var",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::chown(dir.join("home/app"), Some(1000), Some(1000)).unwrap();
    std::fs::copy(BUSYBOX, bin.join("busybox"))
        .unwrap_or_else(|e| panic!("copy {BUSYBOX} (install Debian's busybox-static): {e}"));
    let list = Command::new(BUSYBOX).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.is_empty() {
            let _ = symlink("busybox", bin.join(applet));
        }
    }
    std::fs::write(dir.join("etc/passwd"), PASSWD).unwrap();
    std::fs::write(dir.join("etc/group"), GROUP).unwrap();
    fix_times(dir);
    dir.to_path_buf()
}

/// Set every entry's mtime/atime to [`FIXED_MTIME`] without following symlinks.
pub fn fix_times(dir: &Path) {
    use nix::sys::stat::{UtimensatFlags, utimensat};
    use nix::sys::time::TimeSpec;
    let t = TimeSpec::new(FIXED_MTIME, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&p) {
            for e in rd.flatten() {
                let path = e.path();
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(path.clone());
                }
                let _ = utimensat(None, &path, &t, &t, UtimensatFlags::NoFollowSymlink);
            }
        }
    }
    let _ = utimensat(None, dir, &t, &t, UtimensatFlags::NoFollowSymlink);
}
