//! Where rcompose keeps its state.
//!
//! State root: `--root`, else `RCOMPOSE_ROOT`, else `/var/lib/rcompose`.
//! Run dir (sockets, locks): `RCOMPOSE_RUN`, else `/run/rcompose`.
//! Tests always set both to fresh temporary directories.

use std::path::PathBuf;

pub const DEFAULT_ROOT: &str = "/var/lib/rcompose";
pub const DEFAULT_RUN: &str = "/run/rcompose";

/// The on-disk locations of one rcompose installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Persistent state: images, layers, containers, volumes, networks.
    pub root: PathBuf,
    /// Volatile state: sockets, locks, netns mounts.
    pub run: PathBuf,
}

impl Paths {
    pub fn new(root: impl Into<PathBuf>, run: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            run: run.into(),
        }
    }

    /// Resolve from an explicit `--root` (if any) and the environment.
    pub fn from_env(root: Option<PathBuf>) -> Self {
        let root = root
            .or_else(|| std::env::var_os("RCOMPOSE_ROOT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        let run = std::env::var_os("RCOMPOSE_RUN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN));
        Self { root, run }
    }

    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }
    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }
    pub fn volumes(&self) -> PathBuf {
        self.root.join("volumes")
    }
    pub fn networks(&self) -> PathBuf {
        self.root.join("networks")
    }
    pub fn builds(&self) -> PathBuf {
        self.root.join("builds")
    }
    pub fn locks(&self) -> PathBuf {
        self.run.join("locks")
    }
}
