//! Images: references, the content-addressed store, layer unpacking, the registry client,
//! archives (`docker save` layouts, oci-archive, rootfs tarballs).
//!
//! # Public API for other modules
//!
//! ```no_run
//! use rcompose::image::{self, NoReporter, Platform, PullPolicy, Reference, Store};
//! # fn f(paths: &rcompose::paths::Paths) -> Result<(), image::Error> {
//! let store = Store::open(paths)?;
//! let r = Reference::parse("busybox")?; // docker.io/library/busybox:latest
//! let img = image::ensure_image(&store, &r, PullPolicy::Missing, &Platform::host(), &NoReporter)?;
//! let lowers = img.layer_dirs(); // bottom → top; reverse for overlay's `lowerdir=`
//! let cmd = &img.config.config.cmd; // Env, Entrypoint, User, WorkingDir, Healthcheck, …
//! let same = store.resolve("busybox")?; // Option<Image>, by name, ID or ID prefix
//! # Ok(()) }
//! ```
//!
//! - [`Store::open`], [`Store::resolve`] / [`Store::get`], [`Store::list`], [`Store::tag`],
//!   [`Store::remove`] and [`Store::prune`] (both take the IDs of images containers still use:
//!   the engine's hook), [`Store::gc`], [`Store::ensure_layers`].
//! - [`Image`]: `id` (config digest), `repo_tags`, `repo_digests`, `config`
//!   ([`ImageConfiguration`], Docker's extensions included), `manifest`, `layer_dirs()`,
//!   `size()`.
//! - [`ensure_image`] (Compose's `pull_policy`, [`PullPolicy::parse`]), [`pull()`], [`push()`]
//!   with a [`Client`] (`Client::new(Config::load()?)`), progress through [`Reporter`].
//! - New images (Dockerfile builder, `commit`): [`ImageBuilder`] — from a base or scratch,
//!   `add_layer_tar`, `add_layer_dir` (an overlay upperdir: whiteouts handled),
//!   `config_mut`, `add_history`, `commit(Some(&reference))`.
//! - Archives: [`archive::load`], [`archive::save`], [`archive::import`].
//!
//! Concurrency: every operation is safe across processes (see [`store`]). Do not call
//! [`Store::gc`] (or `prune`/`remove`+`gc`) while holding an [`ImageBuilder`] in the same
//! process: the builder holds the content lock GC waits for.

pub mod archive;
pub mod build;
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
