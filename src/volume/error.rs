//! Errors of the volume layer; the messages follow Docker's where users may grep for them.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error(
        "create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )]
    InvalidName(String),

    #[error("get {0}: no such volume")]
    NotFound(String),

    #[error("external volume \"{0}\" not found")]
    ExternalNotFound(String),

    #[error("volume driver `{driver}` of volume `{name}` is not supported (only `local`)")]
    UnsupportedDriver { name: String, driver: String },

    #[error("volume `{name}`: invalid option: \"{key}\"")]
    InvalidOption { name: String, key: String },

    #[error("volume `{name}`: {reason}")]
    InvalidDriverOpts { name: String, reason: String },

    #[error("volume `{name}` already exists with driver options {existing}, not {requested}")]
    Conflict {
        name: String,
        existing: String,
        requested: String,
    },

    #[error("remove {name}: volume is in use - [{}]", containers.join(", "))]
    InUse {
        name: String,
        containers: Vec<String>,
    },

    #[error("cannot mount volume `{name}` (`{device}` on `{path}`)")]
    Mount {
        name: String,
        device: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid mount config for type \"bind\": bind source path does not exist: {0}")]
    BindSourceMissing(PathBuf),

    #[error("invalid mount config for type \"{kind}\": {reason}")]
    InvalidMount { kind: String, reason: String },

    #[error("cannot access path {path}: {reason}")]
    Subpath { path: PathBuf, reason: String },

    #[error("cannot copy image content of `{target}` into volume `{name}`")]
    CopyUp {
        name: String,
        target: String,
        #[source]
        source: std::io::Error,
    },

    #[error("refusing to delete `{0}`: another filesystem is mounted inside it")]
    MountedInside(PathBuf),

    #[error("cannot read `{path}`")]
    ReadState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error("lock `{path}`: {errno}")]
    Lock {
        path: PathBuf,
        errno: nix::errno::Errno,
    },
}
