//! The container's root filesystem on the host: the overlay mount, and file access inside
//! it that never follows a symlink out of it (`openat2` with `RESOLVE_IN_ROOT`: `..` and
//! absolute symlinks are resolved against the container's root, as the container sees them).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

use super::config::Rootfs;
use super::layout::Layout;
use super::sys;

/// Open `path` (interpreted inside `root`) with `flags`.
pub fn open_in_root(root: &Path, path: &Path, flags: OFlag, mode: u32) -> std::io::Result<OwnedFd> {
    let root_fd = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: open returned a fresh descriptor that we now own.
    let root_fd = unsafe { OwnedFd::from_raw_fd(root_fd) };
    open_at_root(&root_fd, path, flags, mode)
}

/// Like [`open_in_root`] with an already opened root directory.
pub fn open_at_root(
    root: &OwnedFd,
    path: &Path,
    flags: OFlag,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .mode(Mode::from_bits_truncate(mode))
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(root.as_raw_fd(), rel, how)?;
    // SAFETY: openat2 returned a fresh descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Read a small text file inside the container's root (`None` if missing or unreadable).
pub fn read_in_root(root: &Path, path: &str) -> Option<String> {
    let fd = open_in_root(
        root,
        Path::new(path),
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW,
        0,
    )
    .ok()?;
    let mut f = std::fs::File::from(fd);
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s).ok()?;
    Some(s)
}

/// `mkdir -p` inside the container's root; new directories get `uid:gid` (Docker creates
/// a missing working directory owned by the container's user).
pub fn mkdir_all_in_root(root: &Path, path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    let mut cur = PathBuf::from("/");
    for c in path.components() {
        let Component::Normal(name) = c else { continue };
        let parent = open_in_root(root, &cur, OFlag::O_PATH | OFlag::O_DIRECTORY, 0)?;
        let next = cur.join(name);
        match nix::sys::stat::mkdirat(
            Some(parent.as_raw_fd()),
            name,
            Mode::from_bits_truncate(0o755),
        ) {
            Ok(()) => {
                let fd = open_in_root(
                    root,
                    &next,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
                    0,
                )?;
                nix::unistd::fchown(
                    fd.as_raw_fd(),
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(gid)),
                )?;
            }
            Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
        cur = next;
    }
    Ok(())
}

/// Whether `path` is a mount point (per `/proc/self/mountinfo`).
pub fn is_mount_point(path: &Path) -> bool {
    let want = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(want.as_ref()))
}

/// The host directory the container's `/` is (mounting the overlay if needed).
pub fn ensure_mounted(layout: &Layout, id: &str, rootfs: &Rootfs) -> std::io::Result<PathBuf> {
    match rootfs {
        Rootfs::Dir(p) => Ok(p.clone()),
        Rootfs::Overlay { lowerdirs } => {
            let target = layout.rootfs(id);
            if is_mount_point(&target) {
                return Ok(target);
            }
            mount_overlay(layout, id, lowerdirs)?;
            Ok(target)
        }
    }
}

/// Mount the overlay at `containers/<id>/rootfs`. The lower directories are reached through
/// short symlinks `l/0`, `l/1`, ... and the mount runs in a child that `chdir`s there, so
/// the option string stays far below the kernel's one-page limit whatever the number of
/// layers and the length of their paths (Docker's overlay2 does the same).
pub fn mount_overlay(layout: &Layout, id: &str, lowerdirs: &[PathBuf]) -> std::io::Result<()> {
    if lowerdirs.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an overlay rootfs needs at least one layer",
        ));
    }
    let links = layout.layer_links(id);
    let _ = std::fs::remove_dir_all(&links);
    fs_err::create_dir_all(&links)?;
    // The topmost layer comes first in `lowerdir`.
    let mut names = Vec::new();
    for (i, dir) in lowerdirs.iter().rev().enumerate() {
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("layer directory `{}` does not exist", dir.display()),
            ));
        }
        fs_err::os::unix::fs::symlink(dir, links.join(i.to_string()))?;
        names.push(i.to_string());
    }
    for d in [layout.upper(id), layout.work(id), layout.rootfs(id)] {
        fs_err::create_dir_all(d)?;
    }
    let data = CString::new(format!(
        "lowerdir={},upperdir=../upper,workdir=../work",
        names.join(":")
    ))
    .map_err(std::io::Error::other)?;
    let dir = sys::cstring(&links);
    let target = sys::cstring(&layout.rootfs(id));
    let ovl = CString::new("overlay").map_err(std::io::Error::other)?;
    let code = sys::run_in_child(move || {
        // SAFETY: chdir and mount are async-signal-safe; all strings were built before fork.
        unsafe {
            if libc::chdir(dir.as_ptr()) != 0 {
                return 100;
            }
            if libc::mount(
                ovl.as_ptr(),
                target.as_ptr(),
                ovl.as_ptr(),
                0,
                data.as_ptr().cast(),
            ) != 0
            {
                return *libc::__errno_location();
            }
        }
        0
    })?;
    match code {
        0 => Ok(()),
        100 => Err(std::io::Error::other(format!(
            "cannot enter `{}`",
            links.display()
        ))),
        errno => Err(std::io::Error::new(
            std::io::Error::from_raw_os_error(errno).kind(),
            format!(
                "cannot mount the overlay rootfs at `{}`: {}",
                layout.rootfs(id).display(),
                std::io::Error::from_raw_os_error(errno)
            ),
        )),
    }
}

/// Unmount the overlay (if mounted). Lazy, so a racing reader cannot make it fail.
pub fn unmount(layout: &Layout, id: &str) -> std::io::Result<()> {
    let target = layout.rootfs(id);
    if is_mount_point(&target) {
        nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_mkdirs_never_leave_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), "inside").unwrap();
        std::fs::write(d.path().join("secret"), "outside").unwrap();
        // An absolute symlink and a `..` escape both resolve inside the root.
        std::os::unix::fs::symlink("/etc/passwd", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../secret", root.join("etc/rel")).unwrap();
        assert_eq!(
            read_in_root(&root, "/etc/passwd").as_deref(),
            Some("inside")
        );
        assert_eq!(
            read_in_root(&root, "/abs"),
            None,
            "final symlink not followed"
        );
        assert_eq!(read_in_root(&root, "/etc/rel"), None);
        std::os::unix::fs::symlink("/", root.join("up")).unwrap();
        assert_eq!(
            read_in_root(&root, "/up/etc/passwd").as_deref(),
            Some("inside")
        );
        assert_eq!(read_in_root(&root, "/up/../../secret"), None);
        // mkdir through a symlink pointing "outside" stays inside.
        let host = format!("/tmp/rcompose-escape-{}", std::process::id());
        std::fs::create_dir_all(root.join(host.trim_start_matches('/'))).unwrap();
        std::os::unix::fs::symlink(&host, root.join("w")).unwrap();
        mkdir_all_in_root(&root, Path::new("/w/x"), 0, 0).unwrap();
        assert!(root.join(host.trim_start_matches('/')).join("x").is_dir());
        assert!(!Path::new(&host).exists(), "created outside the root");
        // A dangling symlink is not created through.
        std::os::unix::fs::symlink("/nowhere", root.join("dangling")).unwrap();
        assert!(mkdir_all_in_root(&root, Path::new("/dangling/x"), 0, 0).is_err());
    }
}
