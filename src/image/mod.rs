//! Images: references, the content-addressed store, layer unpacking, the registry client,
//! archives (`docker save` layouts, oci-archive, rootfs tarballs).
//!
//! # Public API for other modules
//!
//! ```no_run
//! use rcompose::image::{self, Store, Reference, PullPolicy, Platform, NoReporter};
//! # fn f(paths: &rcompose::paths::Paths) -> Result<(), image::Error> {
//! let store = Store::open(paths)?;
//! let r = Reference::parse("busybox")?;                       // docker.io/library/busybox:latest
//! let img = image::ensure_image(&store, &r, PullPolicy::Missing, &Platform::host(), &NoReporter)?;
//! let lowers = img.layer_dirs();                              // bottom → top; reverse for lowerdir=
//! let cmd = &img.config.config.cmd;                           // Env, Entrypoint, User, Healthcheck, …
//! let same = store.resolve("busybox")?;                       // Option<Image>, by name or ID
//! # Ok(()) }
//! ```
//!
//! Creating images (the Dockerfile builder, `commit`): [`ImageBuilder`] starts from a base
//! image (or scratch), adds layer tars, edits the config and commits under a name.
//! Garbage collection: [`Store::prune`] / [`Store::remove`] take the set of image IDs that
//! containers still use; [`Store::gc`] frees unreferenced blobs and layers.

pub mod archive;
pub mod builder;
pub mod config;
pub mod credentials;
pub mod diff;
pub mod digest;
pub mod pull;
pub mod push;
pub mod reference;
pub mod registry;
pub mod reporter;
pub mod spec;
pub mod store;
pub mod unpack;

use std::path::PathBuf;

pub use builder::ImageBuilder;
pub use config::Config;
pub use digest::Digest;
pub use pull::{PullPolicy, ensure_image, pull};
pub use push::push;
pub use reference::{Reference, ReferenceError};
pub use registry::{Client, RegistryError};
pub use reporter::{Event, LayerStatus, NoReporter, Reporter};
pub use spec::{ContainerConfig, Healthcheck, ImageConfiguration, Platform};
pub use store::{GcReport, Image, Removed, Store};
pub use unpack::{Limits, UnpackError};

/// Errors of the image module. Variants name the thing (image, blob, path) involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("invalid JSON in `{path}`")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot lock `{path}`")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("No such image: {0}")]
    NotFound(String),
    #[error("image reference `{0}` is ambiguous: more than one image ID starts with it")]
    Ambiguous(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{what} digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("blob {0} is missing from the image store")]
    MissingBlob(Digest),
    #[error("cannot unpack layer {layer}")]
    Unpack {
        layer: Digest,
        #[source]
        source: UnpackError,
    },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{reference}: no image for platform {platform} (the index has: {available})")]
    NoMatchingPlatform {
        reference: String,
        platform: String,
        available: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("image `{0}` is not in the store and pull_policy is `never`")]
    NeverPull(String),
}
