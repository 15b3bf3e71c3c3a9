//! Where a container's files live.
//!
//! ```text
//! <root>/containers/<id>/
//!     container.json     ContainerConfig (written at create, never changed)
//!     config.json        the OCI spec of the current/last start (as generated, with seccomp)
//!     state.json         State (atomic writes)
//!     container.log      JSON-lines log, rotated to container.log.1 .. .N
//!     rootfs/ upper/ work/   overlay mount point and layers (Rootfs::Overlay)
//!     l/                 short symlinks to the lowerdirs (long layer lists)
//!     files/             injected files (hosts, resolv.conf, hostname)
//! <root>/seccomp/<sha256>.bpf   compiled seccomp filters (cache)
//! <root>/bin/rcompose-init-<hash>  the init reaper
//! <run>/shim/<id>.sock     the shim's control socket
//! <run>/shim/<id>.log      the shim's own diagnostics
//! <run>/bundles/<id>/config.json  the spec as handed to libcontainer
//! <run>/lc/<id>/          libcontainer's own state
//! <run>/locks/<id>.lock   serialises lifecycle operations on one container
//! ```

use std::path::PathBuf;

use crate::paths::Paths;

/// Paths of the runtime's files.
#[derive(Debug, Clone)]
pub struct Layout {
    pub paths: Paths,
}

impl Layout {
    pub fn new(paths: Paths) -> Self {
        Layout { paths }
    }
    pub fn containers(&self) -> PathBuf {
        self.paths.containers()
    }
    pub fn dir(&self, id: &str) -> PathBuf {
        self.paths.containers().join(id)
    }
    pub fn config(&self, id: &str) -> PathBuf {
        self.dir(id).join("container.json")
    }
    pub fn spec(&self, id: &str) -> PathBuf {
        self.dir(id).join("config.json")
    }
    pub fn state(&self, id: &str) -> PathBuf {
        self.dir(id).join("state.json")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.dir(id).join("container.log")
    }
    /// The shim's own diagnostics (in the run dir: rewritten at every start, volatile).
    pub fn shim_log(&self, id: &str) -> PathBuf {
        self.shim_sockets().join(format!("{id}.log"))
    }
    pub fn rootfs(&self, id: &str) -> PathBuf {
        self.dir(id).join("rootfs")
    }
    pub fn upper(&self, id: &str) -> PathBuf {
        self.dir(id).join("upper")
    }
    pub fn work(&self, id: &str) -> PathBuf {
        self.dir(id).join("work")
    }
    pub fn layer_links(&self, id: &str) -> PathBuf {
        self.dir(id).join("l")
    }
    pub fn files(&self, id: &str) -> PathBuf {
        self.dir(id).join("files")
    }
    pub fn seccomp_cache(&self) -> PathBuf {
        self.paths.root.join("seccomp")
    }
    pub fn bin(&self) -> PathBuf {
        self.paths.root.join("bin")
    }
    pub fn shim_sockets(&self) -> PathBuf {
        self.paths.run.join("shim")
    }
    pub fn socket_name(id: &str) -> String {
        format!("{id}.sock")
    }
    pub fn bundle(&self, id: &str) -> PathBuf {
        self.paths.run.join("bundles").join(id)
    }
    pub fn lc_root(&self) -> PathBuf {
        self.paths.run.join("lc")
    }
    pub fn lock(&self, id: &str) -> PathBuf {
        self.paths.locks().join(format!("{id}.lock"))
    }
    pub fn exec_dir(&self) -> PathBuf {
        self.paths.run.join("exec")
    }
}
