//! Making new images from layer tars: the Dockerfile builder, `commit`, `import` and `load`
//! use this.
//!
//! ```no_run
//! # use rcompose::image::{ImageBuilder, Store, Reference};
//! # fn f(store: &Store, base: &rcompose::image::Image) -> Result<(), rcompose::image::Error> {
//! let mut b = ImageBuilder::new(store, Some(base))?;
//! b.add_layer_tar(std::path::Path::new("diff.tar"), "COPY . /app")?;
//! b.config_mut().config.cmd = Some(vec!["/app/run".into()]);
//! b.add_history("CMD [\"/app/run\"]", true);
//! let img = b.commit(Some(&Reference::parse("app:dev")?))?;
//! # Ok(()) }
//! ```

use std::path::Path;

use fs_err as fs;

use super::Error;
use super::digest::Digest;
use super::reference::Reference;
use super::spec::{self, Descriptor, History, ImageConfiguration, Manifest, Platform, RootFs};
use super::store::{Image, Lock, Store};

pub struct ImageBuilder<'a> {
    store: &'a Store,
    layers: Vec<Descriptor>,
    config: ImageConfiguration,
    _guard: Lock,
}

/// Now, as RFC 3339 (the `created` fields).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

impl<'a> ImageBuilder<'a> {
    /// Start from `base` (its layers and config) or from scratch (host platform, no layers).
    pub fn new(store: &'a Store, base: Option<&Image>) -> Result<Self, Error> {
        let guard = store.content_guard()?;
        let (layers, config) = match base {
            Some(b) => (b.manifest.layers.clone(), b.config.clone()),
            None => {
                let p = Platform::host();
                (
                    Vec::new(),
                    ImageConfiguration {
                        architecture: p.architecture,
                        os: p.os,
                        variant: p.variant,
                        rootfs: RootFs {
                            typ: "layers".into(),
                            diff_ids: Vec::new(),
                        },
                        ..Default::default()
                    },
                )
            }
        };
        Ok(ImageBuilder {
            store,
            layers,
            config,
            _guard: guard,
        })
    }

    pub fn config_mut(&mut self) -> &mut ImageConfiguration {
        &mut self.config
    }
    pub fn config(&self) -> &ImageConfiguration {
        &self.config
    }

    /// Add a layer from a tar file (plain, gzip or zstd; OCI whiteouts for deletions). The
    /// blob is stored as given and unpacked once. Returns the layer's diff_id.
    pub fn add_layer_tar(&mut self, tar: &Path, created_by: &str) -> Result<Digest, Error> {
        let f = fs::File::open(tar)?;
        let (blob, size) = self
            .store
            .write_blob_from(std::io::BufReader::new(f), None)?;
        self.add_layer_blob(&blob, size, Some(created_by))
    }

    /// Add a layer made from a directory of changes: an overlay upperdir (whiteouts and
    /// opaque dirs become OCI whiteouts) or any directory. Stored gzip-compressed (fast
    /// level), so a push sends it as is. Returns the layer's diff_id.
    pub fn add_layer_dir(&mut self, dir: &Path, created_by: &str) -> Result<Digest, Error> {
        let mut w = self.store.blob_writer()?;
        {
            let mut gz = flate2::write::GzEncoder::new(&mut w, flate2::Compression::fast());
            super::diff::tar_upperdir(dir, &mut gz)?;
            gz.finish()?;
        }
        let (blob, size) = w.commit(None)?;
        self.add_layer_blob(&blob, size, Some(created_by))
    }

    /// Add a layer whose blob is already in the store.
    pub fn add_layer_blob(
        &mut self,
        blob: &Digest,
        size: u64,
        created_by: Option<&str>,
    ) -> Result<Digest, Error> {
        let parent = super::digest::chain_ids(&self.config.rootfs.diff_ids).pop();
        let (diff_id, compression) = self.store.unpack_new_layer(blob, parent.as_ref())?;
        self.layers.push(Descriptor {
            media_type: compression.oci_media_type().into(),
            digest: blob.clone(),
            size,
            urls: None,
            annotations: None,
            platform: None,
        });
        self.config.rootfs.diff_ids.push(diff_id.clone());
        if let Some(by) = created_by {
            self.add_history(by, false);
        }
        Ok(diff_id)
    }

    /// Record a history entry (`empty_layer` for config-only steps like `ENV`).
    pub fn add_history(&mut self, created_by: &str, empty_layer: bool) {
        self.config.history.push(History {
            created: Some(now_rfc3339()),
            created_by: Some(created_by.into()),
            empty_layer,
            ..Default::default()
        });
    }

    /// Write config and manifest, and name the image `tag` (or leave it untagged).
    pub fn commit(mut self, tag: Option<&Reference>) -> Result<Image, Error> {
        if self.config.created.is_none() {
            self.config.created = Some(now_rfc3339());
        }
        self.commit_exact(tag)
    }

    /// As [`commit`](Self::commit) but without touching `created` (reproducible images).
    pub fn commit_exact(self, tag: Option<&Reference>) -> Result<Image, Error> {
        let config_bytes = serde_json::to_vec(&self.config).expect("serialize config");
        let config_digest = self.store.write_blob(&config_bytes, None)?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(spec::OCI_MANIFEST.into()),
            config: Descriptor {
                media_type: spec::OCI_CONFIG.into(),
                digest: config_digest,
                size: config_bytes.len() as u64,
                urls: None,
                annotations: None,
                platform: None,
            },
            layers: self.layers,
            annotations: None,
        };
        let bytes = serde_json::to_vec(&manifest).expect("serialize manifest");
        self.store.commit(&bytes, tag)
    }
}
