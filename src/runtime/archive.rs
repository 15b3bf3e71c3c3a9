//! `cp` in both directions and `export`, as tar streams, never following a symlink out of
//! the container: every lookup goes through `openat2(RESOLVE_IN_ROOT)` or `openat` with
//! `O_NOFOLLOW` on descriptors, so a container swapping a directory for a symlink while
//! we walk cannot make us read or write host files.
//!
//! Paths are resolved as the container sees them: for a running container through
//! `/proc/<pid>/root` (its mounts included: volumes, tmpfs); for a stopped one in its root
//! filesystem, with paths under a bind/volume destination mapped to the mount's source.

use std::ffi::{CString, OsStr};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag, fstatat};

use super::ops::{Runtime, RuntimeError};
use super::rootfs::open_in_root;
use super::state::Status;

type Result<T> = std::result::Result<T, RuntimeError>;

fn other(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Other(e.to_string())
}

/// Where a container path lives on the host: a root directory and the path inside it.
struct Located {
    root: PathBuf,
    path: PathBuf,
    _access: Option<super::ops::RootfsAccess>,
}

fn normalize(p: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

fn locate(rt: &Runtime, id: &str, path: &str) -> Result<Located> {
    let st = rt.state(id)?;
    let path = normalize(path);
    if matches!(st.status, Status::Running | Status::Paused)
        && let Some(pid) = st.pid
    {
        return Ok(Located {
            root: super::proc::root_of(pid),
            path,
            _access: None,
        });
    }
    let access = rt.rootfs_access(id)?;
    // The longest bind/volume destination containing the path wins.
    let mut best: Option<(&super::config::Mount, PathBuf)> = None;
    for m in &access.config.mounts {
        let dest = normalize(&m.destination);
        if let Ok(rest) = path.strip_prefix(&dest)
            && best.as_ref().is_none_or(|(b, _)| {
                normalize(&b.destination).as_os_str().len() < dest.as_os_str().len()
            })
        {
            best = Some((m, Path::new("/").join(rest)));
        }
    }
    if let Some((m, rest)) = best {
        let root = m.source.clone();
        return Ok(Located {
            root,
            path: rest,
            _access: Some(access),
        });
    }
    Ok(Located {
        root: access.path.clone(),
        path,
        _access: Some(access),
    })
}

fn cstr(name: &OsStr) -> CString {
    CString::new(name.as_bytes()).unwrap_or_default()
}

fn open_at(dir: &OwnedFd, name: &OsStr, flags: OFlag, mode: u32) -> std::io::Result<OwnedFd> {
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        cstr(name).as_c_str(),
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )?;
    // SAFETY: openat returned a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The names in a directory (sorted, without `.` and `..`).
fn list_dir(dir: &OwnedFd) -> std::io::Result<Vec<std::ffi::OsString>> {
    let mut d = nix::dir::Dir::from_fd(dir.try_clone()?.into_raw_fd())?;
    let mut names: Vec<std::ffi::OsString> = d
        .iter()
        .flatten()
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    Ok(names)
}

fn header_for(st: &FileStat, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid as u64);
    h.set_gid(st.st_gid as u64);
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

/// Append `name` (an entry of `dir`) and, for directories, everything below, to `tar`.
fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    dir: &OwnedFd,
    name: &OsStr,
    tar_name: &Path,
) -> std::io::Result<()> {
    let st = fstatat(
        Some(dir.as_raw_fd()),
        cstr(name).as_c_str(),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    if kind == SFlag::S_IFDIR {
        let mut h = header_for(&st, tar::EntryType::Directory);
        tar.append_data(&mut h, tar_name, std::io::empty())?;
        let sub = open_at(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)?;
        for n in list_dir(&sub)? {
            append_entry(tar, &sub, &n, &tar_name.join(&n))?;
        }
    } else if kind == SFlag::S_IFREG {
        let f = open_at(dir, name, OFlag::O_RDONLY, 0)?;
        let mut h = header_for(&st, tar::EntryType::Regular);
        h.set_size(st.st_size as u64);
        let file = std::fs::File::from(f);
        tar.append_data(&mut h, tar_name, file.take(st.st_size as u64))?;
    } else if kind == SFlag::S_IFLNK {
        let target = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), cstr(name).as_c_str())?;
        let mut h = header_for(&st, tar::EntryType::Symlink);
        tar.append_link(&mut h, tar_name, Path::new(&target))?;
    } else if kind == SFlag::S_IFCHR || kind == SFlag::S_IFBLK || kind == SFlag::S_IFIFO {
        let t = if kind == SFlag::S_IFCHR {
            tar::EntryType::Char
        } else if kind == SFlag::S_IFBLK {
            tar::EntryType::Block
        } else {
            tar::EntryType::Fifo
        };
        let mut h = header_for(&st, t);
        let _ = h.set_device_major(nix::sys::stat::major(st.st_rdev) as u32);
        let _ = h.set_device_minor(nix::sys::stat::minor(st.st_rdev) as u32);
        tar.append_data(&mut h, tar_name, std::io::empty())?;
    }
    // Sockets are skipped, as Docker does.
    Ok(())
}

/// `docker cp CONTAINER:SRC -`: a tar of `src` (named by its last component) inside the
/// container. A trailing `/.` archives the directory's contents instead.
pub fn copy_from(rt: &Runtime, id: &str, src: &str, out: impl Write) -> Result<()> {
    let loc = locate(rt, id, src)?;
    let contents_only = src.ends_with("/.");
    let parent = loc.path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = loc.path.file_name().map(|n| n.to_owned());
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let not_found = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RuntimeError::Other(format!("could not find the file {src} in container {id}"))
        } else {
            other(format!("{src}: {e}"))
        }
    };
    match name {
        Some(name) if !contents_only => {
            let dir = open_in_root(&loc.root, &parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)
                .map_err(not_found)?;
            append_entry(&mut tar, &dir, &name, Path::new(&name)).map_err(not_found)?;
        }
        _ => {
            let dir = open_in_root(
                &loc.root,
                &loc.path,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                0,
            )
            .map_err(not_found)?;
            for n in list_dir(&dir).map_err(not_found)? {
                append_entry(&mut tar, &dir, &n, Path::new(&n)).map_err(not_found)?;
            }
        }
    }
    tar.finish().map_err(other)?;
    Ok(())
}

/// Reject absolute paths and `..` in archive entries.
fn safe_rel(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// `docker cp - CONTAINER:DEST`: extract a tar into the directory `dest` inside the
/// container (which must exist). Entries with `..` or absolute names are refused; every
/// path is resolved inside the container's root.
pub fn copy_to(rt: &Runtime, id: &str, dest: &str, input: impl Read) -> Result<()> {
    let loc = locate(rt, id, dest)?;
    let root = loc.root.clone();
    let base = loc.path.clone();
    let d = open_in_root(&root, &base, OFlag::O_PATH | OFlag::O_DIRECTORY, 0).map_err(|e| {
        other(format!(
            "destination directory {dest} in container {id}: {e}"
        ))
    })?;
    drop(d);
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(other)? {
        let mut entry = entry.map_err(other)?;
        let raw = entry.path().map_err(other)?.into_owned();
        let rel = safe_rel(&raw)
            .ok_or_else(|| other(format!("refusing archive entry `{}`", raw.display())))?;
        let Some(name) = rel.file_name().map(|n| n.to_owned()) else {
            continue;
        };
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let parent_path = base.join(parent_rel);
        super::rootfs::mkdir_all_in_root(&root, &parent_path, 0, 0).map_err(other)?;
        let parent = open_in_root(&root, &parent_path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)
            .map_err(other)?;
        let h = entry.header().clone();
        let mode = h.mode().unwrap_or(0o644) & 0o7777;
        let uid = h.uid().unwrap_or(0) as u32;
        let gid = h.gid().unwrap_or(0) as u32;
        let cname = cstr(&name);
        match h.entry_type() {
            tar::EntryType::Directory => {
                match nix::sys::stat::mkdirat(
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                    Mode::from_bits_truncate(mode),
                ) {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => return Err(other(e)),
                }
                let fd = open_at(&parent, &name, OFlag::O_RDONLY | OFlag::O_DIRECTORY, 0)
                    .map_err(other)?;
                let _ = nix::unistd::fchown(fd.as_raw_fd(), Some(uid.into()), Some(gid.into()));
                let _ = nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(mode));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                // Replace whatever is there (a symlink is removed, not followed).
                let _ = nix::unistd::unlinkat(
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                );
                let fd = open_at(
                    &parent,
                    &name,
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
                    mode,
                )
                .map_err(other)?;
                let mut f = std::fs::File::from(fd);
                std::io::copy(&mut entry, &mut f).map_err(other)?;
                let _ = nix::unistd::fchown(f.as_raw_fd(), Some(uid.into()), Some(gid.into()));
                let _ = nix::sys::stat::fchmod(f.as_raw_fd(), Mode::from_bits_truncate(mode));
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(other)?
                    .unwrap_or_default()
                    .into_owned();
                let _ = nix::unistd::unlinkat(
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                );
                nix::unistd::symlinkat(
                    target.as_os_str(),
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                )
                .map_err(other)?;
                let _ = nix::unistd::fchownat(
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                    Some(uid.into()),
                    Some(gid.into()),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                );
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(other)?
                    .unwrap_or_default()
                    .into_owned();
                let trel = safe_rel(&target).ok_or_else(|| {
                    other(format!("refusing hard link to `{}`", target.display()))
                })?;
                let src = open_in_root(
                    &root,
                    &base.join(&trel),
                    OFlag::O_PATH | OFlag::O_NOFOLLOW,
                    0,
                )
                .map_err(other)?;
                let _ = nix::unistd::unlinkat(
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                );
                nix::unistd::linkat(
                    Some(src.as_raw_fd()),
                    c"",
                    Some(parent.as_raw_fd()),
                    cname.as_c_str(),
                    AtFlags::AT_SYMLINK_FOLLOW,
                )
                .or_else(|_| {
                    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; fall back to /proc.
                    let p = CString::new(format!("/proc/self/fd/{}", src.as_raw_fd()))
                        .unwrap_or_default();
                    nix::unistd::linkat(
                        None,
                        p.as_c_str(),
                        Some(parent.as_raw_fd()),
                        cname.as_c_str(),
                        AtFlags::AT_SYMLINK_FOLLOW,
                    )
                })
                .map_err(other)?;
            }
            // Devices and fifos are not copied into containers (Docker neither).
            _ => {}
        }
    }
    Ok(())
}

/// `docker export`: the container's filesystem (without its volumes) as a tar.
pub fn export(rt: &Runtime, id: &str, out: impl Write) -> Result<()> {
    let access = rt.rootfs_access(id)?;
    let root = open_in_root(
        &access.path,
        Path::new("/"),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        0,
    )
    .map_err(other)?;
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    for n in list_dir(&root).map_err(other)? {
        append_entry(&mut tar, &root, &n, Path::new(&n)).map_err(other)?;
    }
    tar.finish().map_err(other)?;
    Ok(())
}

/// Move `src` to `dst`, merging into existing directories.
fn merge_move(src: &Path, dst: &Path) -> std::io::Result<()> {
    let smd = std::fs::symlink_metadata(src)?;
    match std::fs::symlink_metadata(dst) {
        Ok(dmd) if smd.is_dir() && dmd.is_dir() => {
            for e in std::fs::read_dir(src)? {
                let e = e?;
                merge_move(&e.path(), &dst.join(e.file_name()))?;
            }
            Ok(())
        }
        Ok(dmd) => {
            if dmd.is_dir() {
                std::fs::remove_dir_all(dst)?;
            } else {
                std::fs::remove_file(dst)?;
            }
            std::fs::rename(src, dst)
        }
        Err(_) => std::fs::rename(src, dst),
    }
}

/// `docker cp CONTAINER:SRC HOST_DEST` with Docker's naming rules: into an existing
/// directory the source keeps its name; otherwise `HOST_DEST` is the new name; `SRC/.`
/// copies the contents. The archive is unpacked with the tar crate's `unpack_in`, which
/// refuses entries that would land outside the destination (a hostile container's
/// symlinks cannot redirect writes on the host).
pub fn copy_out_to_host(rt: &Runtime, id: &str, src: &str, host_dest: &Path) -> Result<()> {
    let mut buf = Vec::new();
    copy_from(rt, id, src, &mut buf)?;
    let into_dir = host_dest.is_dir();
    let parent = if into_dir {
        host_dest.to_path_buf()
    } else {
        host_dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    };
    if !parent.is_dir() {
        return Err(other(format!(
            "destination directory `{}` does not exist",
            parent.display()
        )));
    }
    let tmp = tempfile::Builder::new()
        .prefix(".rcompose-cp-")
        .tempdir_in(&parent)
        .map_err(other)?;
    let mut ar = tar::Archive::new(&buf[..]);
    ar.set_preserve_permissions(true);
    for e in ar.entries().map_err(other)? {
        let mut e = e.map_err(other)?;
        e.unpack_in(tmp.path()).map_err(other)?;
    }
    if src.ends_with("/.") {
        if !host_dest.exists() {
            fs_err::create_dir_all(host_dest).map_err(other)?;
        }
        for e in std::fs::read_dir(tmp.path()).map_err(other)? {
            let e = e.map_err(other)?;
            merge_move(&e.path(), &host_dest.join(e.file_name())).map_err(other)?;
        }
    } else {
        let name = normalize(src)
            .file_name()
            .map(|n| n.to_owned())
            .unwrap_or_default();
        let target = if into_dir {
            host_dest.join(&name)
        } else {
            host_dest.to_path_buf()
        };
        merge_move(&tmp.path().join(&name), &target).map_err(other)?;
    }
    Ok(())
}

/// `docker cp HOST_SRC CONTAINER:DEST`.
pub fn copy_in_from_host(rt: &Runtime, id: &str, host_src: &Path, dest: &str) -> Result<()> {
    let md = std::fs::symlink_metadata(host_src)
        .map_err(|e| other(format!("{}: {e}", host_src.display())))?;
    let contents_only = host_src.to_string_lossy().ends_with("/.");
    // Does DEST exist as a directory in the container?
    let dest_is_dir = {
        let loc = locate(rt, id, dest)?;
        open_in_root(&loc.root, &loc.path, OFlag::O_PATH | OFlag::O_DIRECTORY, 0).is_ok()
    };
    let (dest_dir, name): (String, std::ffi::OsString) = if dest_is_dir {
        (
            dest.to_string(),
            host_src
                .file_name()
                .map(|n| n.to_owned())
                .unwrap_or_default(),
        )
    } else {
        let d = normalize(dest);
        (
            d.parent()
                .unwrap_or(Path::new("/"))
                .to_string_lossy()
                .into_owned(),
            d.file_name().map(|n| n.to_owned()).unwrap_or_default(),
        )
    };
    let mut buf = Vec::new();
    {
        let mut tar = tar::Builder::new(&mut buf);
        tar.follow_symlinks(false);
        if md.is_dir() && contents_only {
            tar.append_dir_all(
                if dest_is_dir {
                    Path::new(".")
                } else {
                    Path::new(&name)
                },
                host_src,
            )
            .map_err(other)?;
        } else if md.is_dir() {
            tar.append_dir_all(Path::new(&name), host_src)
                .map_err(other)?;
        } else {
            tar.append_path_with_name(host_src, Path::new(&name))
                .map_err(other)?;
        }
        tar.finish().map_err(other)?;
    }
    copy_to(rt, id, &dest_dir, &buf[..])
}
