//! Network namespaces kept alive by a bind mount, as `ip netns add` does, so that the runtime
//! can join one by path (OCI `linux.namespaces[].path`) and we can tear it down by unmounting.
//!
//! The network namespace is per thread, so entering a sandbox switches only the calling thread,
//! and an [`Entered`] guard switches it back on every path out (return, error, panic). This
//! costs two `setns` calls; a helper thread per entry cost more and, on a loaded machine, a
//! trip through the scheduler.

use std::fs::File;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use super::NetworkError;
use super::netlink::Netlink;

/// Create a new network namespace with `lo` up and bind-mount it at `path`.
/// An existing namespace at `path` is an error; a stale plain file is replaced.
pub fn create(path: &Path) -> Result<(), NetworkError> {
    let create_err = |source: io::Error| NetworkError::CreateNetns {
        path: path.to_path_buf(),
        source,
    };
    if is_netns(path) {
        return Err(create_err(io::Error::from_raw_os_error(libc::EEXIST)));
    }
    // The mount point must exist as a file; O_EXCL is not used so that a file left by a crash
    // between create and mount is simply reused.
    File::options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(create_err)?;
    let result = (|| -> Result<(), NetworkError> {
        let _back = Entered::unshare().map_err(create_err)?;
        // `lo` is index 1 in every namespace; Docker (and runc) bring it up, libcontainer
        // does not, and 127.0.0.11 (our DNS) needs it.
        let mut nl = Netlink::open()?;
        nl.set_up(1)?;
        nix::mount::mount(
            Some("/proc/thread-self/ns/net"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| create_err(e.into()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Unmount and delete the namespace file. The namespace (and every veth inside it, whose peers
/// go with them) is destroyed by the kernel once nothing else holds it. Missing is fine.
pub fn remove(path: &Path) -> Result<(), NetworkError> {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => {
            return Err(NetworkError::Io(io::Error::other(format!(
                "cannot unmount network namespace `{}`: {e}",
                path.display()
            ))));
        }
    }
    // Unlinking also detaches copies of the mount that other mount namespaces may hold
    // (Linux >= 3.18), so a container's mount namespace cannot keep the netns alive.
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetworkError::Io(io::Error::new(
            e.kind(),
            format!("cannot remove `{}`: {e}", path.display()),
        ))),
    }
}

/// Whether `path` is a mounted namespace file (`nsfs`, the filesystem of `/proc/*/ns/*`).
pub fn is_netns(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
        .unwrap_or(false)
}

/// Open a namespace file (for `setns` or `IFLA_NET_NS_FD`).
pub fn open(path: &Path) -> Result<OwnedFd, NetworkError> {
    if !is_netns(path) {
        return Err(NetworkError::EnterNetns {
            path: path.to_path_buf(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        });
    }
    File::open(path)
        .map(OwnedFd::from)
        .map_err(|source| NetworkError::EnterNetns {
            path: path.to_path_buf(),
            source,
        })
}

/// The calling thread is in another network namespace until this is dropped.
pub struct Entered {
    original: OwnedFd,
}

impl Entered {
    /// Join `ns`.
    pub fn enter(ns: BorrowedFd<'_>) -> io::Result<Self> {
        let original = OwnedFd::from(File::open("/proc/thread-self/ns/net")?);
        nix::sched::setns(ns, CloneFlags::CLONE_NEWNET)?;
        Ok(Self { original })
    }

    /// Move to a brand-new namespace.
    pub fn unshare() -> io::Result<Self> {
        let original = OwnedFd::from(File::open("/proc/thread-self/ns/net")?);
        nix::sched::unshare(CloneFlags::CLONE_NEWNET)?;
        Ok(Self { original })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        if nix::sched::setns(&self.original, CloneFlags::CLONE_NEWNET).is_err() {
            // A thread left in a container's namespace would open later sockets there:
            // nothing sane can continue. (setns back to a namespace we hold open does not
            // fail in practice.)
            std::process::abort();
        }
    }
}

/// Run `f` with the calling thread in the namespace `ns`. Sockets created by `f` stay in
/// that namespace.
pub fn run_in<T>(ns: BorrowedFd<'_>, f: impl FnOnce() -> T) -> Result<T, io::Error> {
    let _back = Entered::enter(ns)?;
    Ok(f())
}

/// A netlink client inside the namespace `ns`.
pub fn netlink_in(ns: BorrowedFd<'_>, path: &Path) -> Result<Netlink, NetworkError> {
    run_in(ns, Netlink::open)
        .map_err(|source| NetworkError::EnterNetns {
            path: path.to_path_buf(),
            source,
        })?
        .map_err(NetworkError::from)
}
