//! Filesystem helpers for volumes: resolving a path inside an image root without ever leaving
//! it, copying an image directory into a volume (copy-up, as Docker: content, ownership,
//! modes, times, links, special files, xattrs), and deleting a tree without crossing into
//! another mounted filesystem.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Resolve `path` (absolute, as seen inside the container) under `root`, following symlinks
/// as if `root` were `/`: `..` and absolute link targets never escape. Returns the host path
/// (which may not exist). At most 40 links, as the kernel.
pub fn resolve_in_root(root: &Path, path: &str) -> io::Result<PathBuf> {
    let mut pending: Vec<PathBuf> = Path::new(path)
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(PathBuf::from(n)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .collect();
    let mut resolved: Vec<PathBuf> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part.as_os_str() == ".." {
            resolved.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&resolved);
        candidate.push(&part);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push(PathBuf::from(n)),
                        Component::ParentDir => pending.push(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            Ok(_) => resolved.push(part),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // The rest cannot be links: keep it literally.
                resolved.push(part);
                while let Some(p) = pending.pop() {
                    if p.as_os_str() == ".." {
                        resolved.pop();
                    } else {
                        resolved.push(p);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(resolved);
    Ok(out)
}

/// Whether a directory is empty (a missing one counts as empty).
pub fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn lchown(p: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid))
}

/// Set atime/mtime without following a final symlink.
fn set_times(p: &Path, m: &fs::Metadata) -> io::Result<()> {
    let c = cstr(p)?;
    let times = [
        libc::timespec {
            tv_sec: m.atime(),
            tv_nsec: m.atime_nsec(),
        },
        libc::timespec {
            tv_sec: m.mtime(),
            tv_nsec: m.mtime_nsec(),
        },
    ];
    // SAFETY: valid C string and a two-element timespec array, as utimensat(2) requires.
    check(unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

fn copy_xattrs(src: &Path, dst: &Path) -> io::Result<()> {
    let (s, d) = (cstr(src)?, cstr(dst)?);
    let mut names = vec![0u8; 4096];
    // SAFETY: buffers are valid for the lengths passed.
    let n = unsafe { libc::llistxattr(s.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Ok(()); // none, or not supported: nothing to copy
    }
    names.truncate(n as usize);
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = CString::new(name) else {
            continue;
        };
        let mut value = vec![0u8; 65536];
        // SAFETY: as above.
        let len = unsafe {
            libc::lgetxattr(
                s.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            continue;
        }
        // SAFETY: as above.
        let r = unsafe {
            libc::lsetxattr(
                d.as_ptr(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                len as usize,
                0,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // Filesystems without user xattrs (tmpfs) or overlay's private ones: skip.
            if !matches!(e.raw_os_error(), Some(libc::ENOTSUP) | Some(libc::EPERM)) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Copy the contents of `src` into the existing directory `dst` (Docker's copy-up), and give
/// `dst` the owner and mode of `src`. Never follows symlinks; hard links stay hard links.
pub fn copy_dir_contents(src: &Path, dst: &Path) -> io::Result<()> {
    let mut inodes: HashMap<(u64, u64), PathBuf> = HashMap::new();
    copy_children(src, dst, &mut inodes)?;
    let m = fs::symlink_metadata(src)?;
    lchown(dst, m.uid(), m.gid())?;
    fs::set_permissions(dst, fs::Permissions::from_mode(m.mode() & 0o7777))?;
    copy_xattrs(src, dst)?;
    set_times(dst, &m)
}

fn copy_children(
    src: &Path,
    dst: &Path,
    inodes: &mut HashMap<(u64, u64), PathBuf>,
) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let m = fs::symlink_metadata(&from)?;
        let ft = m.file_type();
        if !ft.is_dir() && m.nlink() > 1 {
            if let Some(first) = inodes.get(&(m.dev(), m.ino())) {
                fs::hard_link(first, &to)?;
                continue;
            }
            inodes.insert((m.dev(), m.ino()), to.clone());
        }
        if ft.is_dir() {
            fs::create_dir(&to)?;
            copy_children(&from, &to, inodes)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if ft.is_file() {
            copy_file(&from, &to)?;
        } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() || ft.is_socket() {
            let c = cstr(&to)?;
            // SAFETY: valid C string; mode and dev come from lstat of the source.
            check(unsafe { libc::mknod(c.as_ptr(), m.mode() as libc::mode_t, m.rdev()) })?;
        } else {
            continue;
        }
        lchown(&to, m.uid(), m.gid())?;
        if !ft.is_symlink() {
            // After chown: chown clears set-id bits.
            fs::set_permissions(&to, fs::Permissions::from_mode(m.mode() & 0o7777))?;
        }
        copy_xattrs(&from, &to)?;
        set_times(&to, &m)?;
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut r = fs::File::open(from)?;
    let mut w = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    // std::io::copy uses copy_file_range/sendfile where it can (reflinks on CoW filesystems).
    io::copy(&mut r, &mut w)?;
    Ok(())
}

/// Delete `path` and everything under it, refusing to descend into another filesystem (a
/// mount inside a volume must never have its content deleted). Missing is fine.
pub fn remove_tree_same_fs(path: &Path) -> io::Result<Result<(), PathBuf>> {
    let m = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(())),
        Err(e) => return Err(e),
    };
    if let Err(p) = check_same_fs(path, m.dev())? {
        return Ok(Err(p));
    }
    if m.is_dir() {
        fs::remove_dir_all(path)?;
    } else {
        fs::remove_file(path)?;
    }
    Ok(Ok(()))
}

fn check_same_fs(path: &Path, dev: u64) -> io::Result<Result<(), PathBuf>> {
    let m = fs::symlink_metadata(path)?;
    if m.dev() != dev {
        return Ok(Err(path.to_path_buf()));
    }
    if m.is_dir() {
        for e in fs::read_dir(path)? {
            let e = e?;
            if let Err(p) = check_same_fs(&e.path(), dev)? {
                return Ok(Err(p));
            }
        }
    }
    Ok(Ok(()))
}

/// Total size in bytes of the regular files under `path` (hard links counted once).
pub fn disk_usage(path: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        let Ok(m) = fs::symlink_metadata(p) else {
            return 0;
        };
        if m.is_dir() {
            fs::read_dir(p)
                .map(|it| it.flatten().map(|e| walk(&e.path(), seen)).sum())
                .unwrap_or(0)
        } else if m.is_file() && seen.insert((m.dev(), m.ino())) {
            m.len()
        } else {
            0
        }
    }
    walk(path, &mut Default::default())
}

/// Whether `path` is a mount point (per /proc/self/mountinfo).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.as_os_str().as_bytes();
    info.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|m| unescape_mountinfo(m).as_slice() == want)
    })
}

fn unescape_mountinfo(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A relative path with only normal components (for `subpath`).
pub fn is_plain_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path.is_relative()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_in_a_root_never_escapes_it() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("real/data")).unwrap();
        std::os::unix::fs::symlink("/real", r.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", r.join("real/up")).unwrap();
        std::os::unix::fs::symlink("data", r.join("real/rel")).unwrap();
        assert_eq!(
            resolve_in_root(r, "/abs/data").unwrap(),
            r.join("real/data")
        );
        assert_eq!(
            resolve_in_root(r, "/real/rel").unwrap(),
            r.join("real/data")
        );
        assert_eq!(
            resolve_in_root(r, "/real/up/passwd").unwrap(),
            r.join("etc/passwd")
        );
        assert_eq!(resolve_in_root(r, "/../../x").unwrap(), r.join("x"));
        assert_eq!(
            resolve_in_root(r, "/missing/a/../b").unwrap(),
            r.join("missing/b")
        );
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert!(resolve_in_root(r, "/loop").is_err());
    }

    #[test]
    fn copy_up_keeps_modes_links_and_times() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir(s.join("sub")).unwrap();
        fs::write(s.join("sub/file"), b"content").unwrap();
        fs::set_permissions(s.join("sub/file"), fs::Permissions::from_mode(0o4751)).unwrap();
        fs::hard_link(s.join("sub/file"), s.join("hard")).unwrap();
        std::os::unix::fs::symlink("sub/file", s.join("link")).unwrap();
        fs::set_permissions(s, fs::Permissions::from_mode(0o750)).unwrap();
        copy_dir_contents(s, dst.path()).unwrap();
        let d = dst.path();
        assert_eq!(fs::read(d.join("sub/file")).unwrap(), b"content");
        assert_eq!(
            fs::metadata(d.join("sub/file")).unwrap().mode() & 0o7777,
            0o4751
        );
        assert_eq!(
            fs::metadata(d.join("hard")).unwrap().ino(),
            fs::metadata(d.join("sub/file")).unwrap().ino()
        );
        assert_eq!(
            fs::read_link(d.join("link")).unwrap(),
            PathBuf::from("sub/file")
        );
        assert_eq!(fs::metadata(d).unwrap().mode() & 0o7777, 0o750);
        assert_eq!(
            fs::metadata(d.join("sub/file")).unwrap().mtime(),
            fs::metadata(s.join("sub/file")).unwrap().mtime()
        );
    }

    #[test]
    fn subpaths_must_be_plain_relative_paths() {
        assert!(is_plain_relative("a/b"));
        assert!(is_plain_relative("./a"));
        assert!(!is_plain_relative("../a"));
        assert!(!is_plain_relative("a/../../b"));
        assert!(!is_plain_relative("/a"));
        assert!(!is_plain_relative(""));
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/a\040b"), b"/a b".to_vec());
    }
}
