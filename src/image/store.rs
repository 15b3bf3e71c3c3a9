//! The content-addressed image store.
//!
//! ```text
//! <root>/images/oci-layout, index.json   OCI image layout; index entries carry the image name in
//!                                        `org.opencontainers.image.ref.name` (full form); an
//!                                        entry without a name is a dangling image
//! <root>/images/blobs/sha256/<hex>       manifests, configs, layer blobs (verified on write)
//! <root>/images/tmp/                     partial downloads (same filesystem: atomic rename)
//! <root>/images/index.lock, gc.lock      flock(2) files
//! <root>/layers/<chain-hex>/             one unpacked layer, an overlay lowerdir
//! <root>/layers/<chain-hex>.json         its diff_id and size (written before the dir appears)
//! <root>/layers/.tmp/, .locks/           layers being unpacked; one lock per chain id
//! ```
//!
//! Concurrency: writers of `index.json` hold `index.lock` and replace the file by rename, so
//! readers never lock. Anything that adds content (pull, load, build) holds `gc.lock` shared;
//! garbage collection holds it exclusive, so it never deletes a blob a pull has written but
//! not yet named. A layer is unpacked under its chain-id lock into `.tmp/` and renamed into
//! place, so a crash leaves nothing that looks complete; the next GC removes the debris.
//! Lock files live beside the data they guard (not in the run dir) so two state roots never
//! share, and two run dirs never split, a lock.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use fs_err as fs;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::Error;
use super::digest::{Digest, HashingWriter, chain_ids};
use super::reference::Reference;
use super::spec::{self, ANNOTATION_REF_NAME, Descriptor, ImageConfiguration, Index, Manifest};
use super::unpack::{self, Limits, Unpacked};
use crate::paths::Paths;

/// One image in the store: a manifest, its config and its layers.
#[derive(Debug, Clone)]
pub struct Image {
    /// The image ID, as Docker shows it: the config digest.
    pub id: Digest,
    pub manifest_digest: Digest,
    /// Media type and size of the manifest blob.
    pub manifest_descriptor: Descriptor,
    pub manifest: Manifest,
    pub config: ImageConfiguration,
    /// Names pointing at this image (`docker.io/library/busybox:latest`).
    pub repo_tags: Vec<Reference>,
    /// Digest references it was pulled or pushed by (`docker.io/library/busybox@sha256:…`).
    pub repo_digests: Vec<Reference>,
    /// Chain ids of the layers, bottom to top.
    pub chain_ids: Vec<Digest>,
    layers_root: PathBuf,
}

impl Image {
    /// The unpacked layer directories, bottom → top, ready as overlay lowerdirs (overlay's
    /// `lowerdir=` option wants them top first: reverse this list).
    pub fn layer_dirs(&self) -> Vec<PathBuf> {
        self.chain_ids
            .iter()
            .map(|c| self.layers_root.join(c.hex()))
            .collect()
    }

    /// Uncompressed size of all layers, as `docker image ls` shows it.
    pub fn size(&self) -> u64 {
        self.chain_ids
            .iter()
            .filter_map(|c| read_layer_meta(&self.layers_root, c))
            .map(|m| m.size)
            .sum()
    }

    /// Docker's "dangling": no tag.
    pub fn is_dangling(&self) -> bool {
        self.repo_tags.is_empty()
    }

    /// `sha256:…`, for display.
    pub fn short_id(&self) -> &str {
        self.id.short()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LayerMeta {
    pub diff_id: Digest,
    pub size: u64,
}

fn read_layer_meta(layers: &Path, chain: &Digest) -> Option<LayerMeta> {
    let bytes = std::fs::read(layers.join(format!("{}.json", chain.hex()))).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What happened to a name or an image in `remove`/`prune`, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    Untagged(String),
    Deleted(Digest),
}

/// What `gc` freed.
#[derive(Debug, Default, Clone)]
pub struct GcReport {
    pub blobs: usize,
    pub layers: usize,
    pub bytes: u64,
}

/// An entry of `index.json`.
#[derive(Debug, Clone)]
struct Entry {
    manifest: Descriptor,
    name: Option<String>,
}

/// The image store under a state root.
#[derive(Debug, Clone)]
pub struct Store {
    images: PathBuf,
    layers: PathBuf,
    pub limits: Limits,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn tmp_name(prefix: &str) -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{t}", std::process::id())
}

/// A held flock; released on drop.
pub struct Lock(#[allow(dead_code)] Flock<File>);

fn lock(path: &Path, exclusive: bool) -> Result<Lock, Error> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let arg = if exclusive {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    Flock::lock(f.into_parts().0, arg)
        .map(Lock)
        .map_err(|(_, e)| Error::Lock {
            path: path.to_path_buf(),
            source: e.into(),
        })
}

impl Store {
    /// Open (creating if needed) the store under `paths.root`.
    pub fn open(paths: &Paths) -> Result<Store, Error> {
        let store = Store {
            images: paths.images(),
            layers: paths.layers(),
            limits: Limits::default(),
        };
        for d in [
            store.images.join("blobs/sha256"),
            store.images.join("tmp"),
            store.layers.join(".tmp"),
            store.layers.join(".locks"),
        ] {
            fs::create_dir_all(&d)?;
        }
        let layout = store.images.join("oci-layout");
        if !layout.exists() {
            write_atomic(
                &store.images.join("tmp"),
                &layout,
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
        }
        if !store.images.join("index.json").exists() {
            let _g = lock(&store.images.join("index.lock"), true)?;
            if !store.images.join("index.json").exists() {
                store.write_index(&[])?;
            }
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.images
    }

    // ---- blobs ----

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.images.join("blobs/sha256").join(d.hex())
    }
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).exists()
    }
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, Error> {
        fs::read(self.blob_path(d)).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::MissingBlob(d.clone())
            } else {
                e.into()
            }
        })
    }
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.images.join("tmp")
    }

    /// Store bytes as a blob, verifying them against `expected` if given.
    pub fn write_blob(&self, bytes: &[u8], expected: Option<&Digest>) -> Result<Digest, Error> {
        let d = Digest::of(bytes);
        if let Some(e) = expected
            && *e != d
        {
            return Err(Error::DigestMismatch {
                what: "blob".into(),
                expected: e.clone(),
                actual: d,
            });
        }
        if !self.has_blob(&d) {
            write_atomic(&self.tmp_dir(), &self.blob_path(&d), bytes)?;
        }
        Ok(d)
    }

    /// Start writing a blob whose digest is checked when it is committed.
    pub fn blob_writer(&self) -> Result<BlobWriter, Error> {
        let path = self.tmp_dir().join(tmp_name("blob"));
        let file = fs::File::create(&path)?;
        Ok(BlobWriter {
            w: Some(HashingWriter::new(io::BufWriter::with_capacity(
                256 << 10,
                file,
            ))),
            path,
            store_blobs: self.images.join("blobs/sha256"),
        })
    }

    /// Copy a reader into a blob.
    pub fn write_blob_from(
        &self,
        mut r: impl Read,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), Error> {
        let mut w = self.blob_writer()?;
        io::copy(&mut r, &mut w)?;
        w.commit(expected)
    }

    // ---- layers ----

    pub fn layers_root(&self) -> &Path {
        &self.layers
    }
    pub fn layer_dir(&self, chain: &Digest) -> PathBuf {
        self.layers.join(chain.hex())
    }
    pub fn has_layer(&self, chain: &Digest) -> bool {
        self.layer_dir(chain).is_dir()
    }

    /// Make sure the layer `chain` is unpacked, calling `unpack(tmp_dir)` to produce it if it is
    /// not (under the chain's lock, so concurrent pulls unpack it once). Returns `false` if it
    /// already existed.
    pub fn ensure_layer(
        &self,
        chain: &Digest,
        expected_diff_id: &Digest,
        unpack: impl FnOnce(&Path) -> Result<Unpacked, Error>,
    ) -> Result<bool, Error> {
        if self.has_layer(chain) {
            return Ok(false);
        }
        let _l = lock(&self.layers.join(".locks").join(chain.hex()), true)?;
        if self.has_layer(chain) {
            return Ok(false);
        }
        let tmp = self.layers.join(".tmp").join(tmp_name(chain.short()));
        fs::create_dir(&tmp)?;
        let result = unpack(&tmp).and_then(|u| {
            if u.diff_id != *expected_diff_id {
                return Err(Error::DigestMismatch {
                    what: "layer diff_id".into(),
                    expected: expected_diff_id.clone(),
                    actual: u.diff_id,
                });
            }
            let meta = serde_json::to_vec(&LayerMeta {
                diff_id: u.diff_id,
                size: u.size,
            })
            .expect("serialize");
            write_atomic(
                &self.layers.join(".tmp"),
                &self.layers.join(format!("{}.json", chain.hex())),
                &meta,
            )?;
            fs::rename(&tmp, self.layer_dir(chain))?;
            Ok(())
        });
        if result.is_err() {
            let _ = remove_tree(&tmp);
        }
        result.map(|()| true)
    }

    /// Make sure every layer of `image` is unpacked (re-creating any that went missing from
    /// their blobs), so `image.layer_dirs()` can be mounted.
    pub fn ensure_layers(&self, image: &Image) -> Result<(), Error> {
        for ((l, diff), chain) in image
            .manifest
            .layers
            .iter()
            .zip(&image.config.rootfs.diff_ids)
            .zip(&image.chain_ids)
        {
            if !self.has_layer(chain) {
                let _g = self.content_guard()?;
                self.ensure_layer_from_blob(chain, diff, &l.digest)?;
            }
        }
        Ok(())
    }

    /// Unpack a stored layer blob (no-op if its layer is there).
    pub fn ensure_layer_from_blob(
        &self,
        chain: &Digest,
        diff_id: &Digest,
        blob: &Digest,
    ) -> Result<bool, Error> {
        let path = self.blob_path(blob);
        let limits = self.limits;
        self.ensure_layer(chain, diff_id, |dir| {
            let f = fs::File::open(&path)?;
            unpack::unpack_layer_threaded(io::BufReader::with_capacity(256 << 10, f), dir, &limits)
                .map_err(|source| Error::Unpack {
                    layer: blob.clone(),
                    source,
                })
        })
    }

    // ---- index ----

    fn read_index(&self) -> Result<Vec<Entry>, Error> {
        let path = self.images.join("index.json");
        let bytes = fs::read(&path)?;
        let index: Index =
            serde_json::from_slice(&bytes).map_err(|source| Error::Json { path, source })?;
        Ok(index
            .manifests
            .into_iter()
            .map(|mut d| {
                let name = d
                    .annotations
                    .as_mut()
                    .and_then(|a| a.remove(ANNOTATION_REF_NAME));
                if d.annotations.as_ref().is_some_and(|a| a.is_empty()) {
                    d.annotations = None;
                }
                Entry { manifest: d, name }
            })
            .collect())
    }

    fn write_index(&self, entries: &[Entry]) -> Result<(), Error> {
        let manifests = entries
            .iter()
            .map(|e| {
                let mut d = e.manifest.clone();
                if let Some(n) = &e.name {
                    d.annotations
                        .get_or_insert_with(BTreeMap::new)
                        .insert(ANNOTATION_REF_NAME.into(), n.clone());
                }
                d
            })
            .collect();
        let index = Index {
            schema_version: 2,
            media_type: Some(spec::OCI_INDEX.into()),
            manifests,
            annotations: None,
        };
        let bytes = serde_json::to_vec_pretty(&index).expect("serialize index");
        write_atomic(&self.tmp_dir(), &self.images.join("index.json"), &bytes)
    }

    /// Read-modify-write `index.json` under its lock.
    fn update_index<T>(
        &self,
        f: impl FnOnce(&mut Vec<Entry>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _g = lock(&self.images.join("index.lock"), true)?;
        let mut entries = self.read_index()?;
        let out = f(&mut entries)?;
        self.write_index(&entries)?;
        Ok(out)
    }

    /// Hold while adding content that is not yet named in the index.
    pub fn content_guard(&self) -> Result<Lock, Error> {
        lock(&self.images.join("gc.lock"), false)
    }

    fn load_image(&self, manifest: &Descriptor, names: &[String]) -> Result<Image, Error> {
        let mbytes = self.read_blob(&manifest.digest)?;
        let m: Manifest = serde_json::from_slice(&mbytes).map_err(|source| Error::Json {
            path: self.blob_path(&manifest.digest),
            source,
        })?;
        let cbytes = self.read_blob(&m.config.digest)?;
        let config: ImageConfiguration =
            serde_json::from_slice(&cbytes).map_err(|source| Error::Json {
                path: self.blob_path(&m.config.digest),
                source,
            })?;
        let mut repo_tags = Vec::new();
        let mut repo_digests = Vec::new();
        for n in names {
            if let Ok(r) = Reference::parse(n) {
                if r.digest.is_some() {
                    repo_digests.push(r);
                } else {
                    repo_tags.push(r);
                }
            }
        }
        Ok(Image {
            id: m.config.digest.clone(),
            manifest_digest: manifest.digest.clone(),
            manifest_descriptor: Descriptor {
                media_type: m
                    .media_type
                    .clone()
                    .unwrap_or_else(|| manifest.media_type.clone()),
                digest: manifest.digest.clone(),
                size: mbytes.len() as u64,
                urls: None,
                annotations: None,
                platform: None,
            },
            chain_ids: chain_ids(&config.rootfs.diff_ids),
            manifest: m,
            config,
            repo_tags,
            repo_digests,
            layers_root: self.layers.clone(),
        })
    }

    /// Every image, one per manifest, in index order.
    pub fn list(&self) -> Result<Vec<Image>, Error> {
        let entries = self.read_index()?;
        let mut order: Vec<Descriptor> = Vec::new();
        let mut names: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
        for e in entries {
            let v = names.entry(e.manifest.digest.clone()).or_default();
            if v.is_empty() && !order.iter().any(|d| d.digest == e.manifest.digest) {
                order.push(e.manifest.clone());
            }
            if let Some(n) = e.name {
                v.push(n);
            }
        }
        let mut out = Vec::new();
        for d in &order {
            match self.load_image(d, &names[&d.digest]) {
                Ok(img) => out.push(img),
                // A damaged entry (blob lost to a crash or a hand edit) must not make every
                // command fail: skip it; `gc` drops it from the index.
                Err(e) => tracing::warn!("skipping image {}: {e}", d.digest),
            }
        }
        Ok(out)
    }

    /// Find an image by name (`busybox`, `busybox:1`, `repo@sha256:…`), by ID (`sha256:…`) or
    /// by a unique ID prefix, in Docker's order: names first, then IDs.
    pub fn resolve(&self, s: &str) -> Result<Option<Image>, Error> {
        let images = self.list()?;
        if let Ok(r) = Reference::parse(s) {
            let hit = images.iter().find(|i| {
                i.repo_tags.contains(&r)
                    || i.repo_digests.contains(&r)
                    || (r.digest.as_ref() == Some(&i.manifest_digest)
                        && i.repo_tags
                            .iter()
                            .chain(&i.repo_digests)
                            .any(|t| t.name() == r.name()))
            });
            if let Some(i) = hit {
                return Ok(Some(i.clone()));
            }
        }
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut hits: Vec<&Image> = images
            .iter()
            .filter(|i| i.id.hex().starts_with(hex))
            .collect();
        hits.dedup_by(|a, b| a.id == b.id);
        match hits.len() {
            0 => Ok(None),
            1 => Ok(Some(hits[0].clone())),
            _ => Err(Error::Ambiguous(s.to_string())),
        }
    }

    /// Like [`Store::resolve`], but a missing image is an error naming it.
    pub fn get(&self, s: &str) -> Result<Image, Error> {
        self.resolve(s)?
            .ok_or_else(|| Error::NotFound(s.to_string()))
    }

    /// Point `name` at the image with `manifest`. The image a tag moves away from stays as a
    /// dangling image if nothing else names it, as Docker does.
    pub fn tag(&self, manifest: &Descriptor, name: &Reference) -> Result<(), Error> {
        let name = name.to_string();
        let mut desc = manifest.clone();
        desc.annotations = None;
        desc.platform = None;
        self.update_index(|entries| {
            if let Some(old) = entries
                .iter()
                .position(|e| e.name.as_deref() == Some(&name))
            {
                let old = entries.remove(old);
                if old.manifest.digest != desc.digest
                    && !entries
                        .iter()
                        .any(|e| e.manifest.digest == old.manifest.digest)
                {
                    entries.push(Entry {
                        manifest: old.manifest,
                        name: None,
                    });
                }
            }
            entries.retain(|e| !(e.name.is_none() && e.manifest.digest == desc.digest));
            entries.push(Entry {
                manifest: desc,
                name: Some(name),
            });
            Ok(())
        })
    }

    /// Record an image without a name (`load` of an untagged image, `build` without `-t`).
    pub fn add_untagged(&self, manifest: &Descriptor) -> Result<(), Error> {
        let mut desc = manifest.clone();
        desc.annotations = None;
        desc.platform = None;
        self.update_index(|entries| {
            if !entries.iter().any(|e| e.manifest.digest == desc.digest) {
                entries.push(Entry {
                    manifest: desc,
                    name: None,
                });
            }
            Ok(())
        })
    }

    /// `docker rmi`: untag a name, and delete the image when its last tag goes (or when named
    /// by ID). Images in `in_use` (the engine's containers) are never deleted: without `force`
    /// that is an error, with it they are only untagged.
    pub fn remove(
        &self,
        s: &str,
        force: bool,
        in_use: &HashSet<Digest>,
    ) -> Result<Vec<Removed>, Error> {
        let image = self.get(s)?;
        let by_name = Reference::parse(s)
            .ok()
            .filter(|r| image.repo_tags.contains(r) || image.repo_digests.contains(r));
        let used = in_use.contains(&image.id);
        let mut out = Vec::new();
        self.update_index(|entries| {
            let names_of = |entries: &Vec<Entry>| -> Vec<String> {
                entries
                    .iter()
                    .filter(|e| e.manifest.digest == image.manifest_digest)
                    .filter_map(|e| e.name.clone())
                    .collect()
            };
            let tags: Vec<String> = names_of(entries)
                .into_iter()
                .filter(|n| Reference::parse(n).is_ok_and(|r| r.digest.is_none()))
                .collect();
            if let Some(r) = &by_name
                && (tags.len() > 1 || r.digest.is_some() && !tags.is_empty())
            {
                // Only this name goes.
                let n = r.to_string();
                entries.retain(|e| e.name.as_deref() != Some(&n));
                out.push(Removed::Untagged(r.familiar()));
                return Ok(());
            }
            let repos: HashSet<String> = tags
                .iter()
                .filter_map(|t| Reference::parse(t).ok().map(|r| r.name()))
                .collect();
            if by_name.is_none() && repos.len() > 1 && !force {
                return Err(Error::Conflict(format!(
                    "unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    image.short_id()
                )));
            }
            if used && !force {
                return Err(Error::Conflict(format!(
                    "unable to remove image {} (must force) - image is being used by a container",
                    image.short_id()
                )));
            }
            for n in names_of(entries) {
                if let Ok(r) = Reference::parse(&n) {
                    out.push(Removed::Untagged(r.familiar()));
                }
            }
            entries.retain(|e| e.manifest.digest != image.manifest_digest);
            if used {
                entries.push(Entry { manifest: without_annotations(&image), name: None });
            } else {
                out.push(Removed::Deleted(image.id.clone()));
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// `docker image prune`: delete dangling images (`all`: every image not in `in_use`), then
    /// collect garbage.
    pub fn prune(
        &self,
        all: bool,
        in_use: &HashSet<Digest>,
    ) -> Result<(Vec<Removed>, GcReport), Error> {
        let images = self.list()?;
        let doomed: Vec<&Image> = images
            .iter()
            .filter(|i| !in_use.contains(&i.id) && (all || i.is_dangling()))
            .collect();
        let mut out = Vec::new();
        let doomed_digests: HashSet<&Digest> = doomed.iter().map(|i| &i.manifest_digest).collect();
        self.update_index(|entries| {
            entries.retain(|e| !doomed_digests.contains(&e.manifest.digest));
            Ok(())
        })?;
        for i in doomed {
            for t in i.repo_tags.iter().chain(&i.repo_digests) {
                out.push(Removed::Untagged(t.familiar()));
            }
            out.push(Removed::Deleted(i.id.clone()));
        }
        let gc = self.gc()?;
        Ok((out, gc))
    }

    /// Delete blobs and layers no image in the index refers to, and debris of interrupted
    /// pulls. Waits for running pulls (they hold the content guard).
    pub fn gc(&self) -> Result<GcReport, Error> {
        let _gc = lock(&self.images.join("gc.lock"), true)?;
        let _ix = lock(&self.images.join("index.lock"), true)?;
        let mut keep_blobs: HashSet<String> = HashSet::new();
        let mut keep_layers: HashSet<String> = HashSet::new();
        let mut entries = self.read_index()?;
        let before = entries.len();
        entries.retain(|e| {
            let ok = self.load_image(&e.manifest, &[]).is_ok();
            if !ok {
                tracing::warn!(
                    "dropping damaged image {} from the index",
                    e.manifest.digest
                );
            }
            ok
        });
        if entries.len() != before {
            self.write_index(&entries)?;
        }
        for e in entries {
            keep_blobs.insert(e.manifest.digest.hex().to_string());
            let Ok(mbytes) = self.read_blob(&e.manifest.digest) else {
                continue;
            };
            let Ok(m) = serde_json::from_slice::<Manifest>(&mbytes) else {
                continue;
            };
            keep_blobs.insert(m.config.digest.hex().to_string());
            for l in &m.layers {
                keep_blobs.insert(l.digest.hex().to_string());
            }
            if let Ok(cbytes) = self.read_blob(&m.config.digest)
                && let Ok(c) = serde_json::from_slice::<ImageConfiguration>(&cbytes)
            {
                for ch in chain_ids(&c.rootfs.diff_ids) {
                    keep_layers.insert(ch.hex().to_string());
                }
            }
        }
        let mut report = GcReport::default();
        for ent in fs::read_dir(self.images.join("blobs/sha256"))? {
            let ent = ent?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if !keep_blobs.contains(&name) {
                report.bytes += ent.metadata().map(|m| m.len()).unwrap_or(0);
                fs::remove_file(ent.path())?;
                report.blobs += 1;
            }
        }
        for ent in fs::read_dir(self.tmp_dir())? {
            let _ = remove_tree(&ent?.path());
        }
        for ent in fs::read_dir(self.layers.join(".tmp"))? {
            let _ = remove_tree(&ent?.path());
        }
        for ent in fs::read_dir(self.layers.join(".locks"))? {
            let ent = ent?;
            if !keep_layers.contains(&*ent.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(ent.path());
            }
        }
        for ent in fs::read_dir(&self.layers)? {
            let ent = ent?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let hex = name.strip_suffix(".json").unwrap_or(&name).to_string();
            if keep_layers.contains(&hex) {
                continue;
            }
            if name.ends_with(".json") {
                if let Ok(m) = serde_json::from_slice::<LayerMeta>(
                    &std::fs::read(ent.path()).unwrap_or_default(),
                ) {
                    report.bytes += m.size;
                }
                fs::remove_file(ent.path())?;
                let _ = std::fs::remove_file(self.layers.join(".locks").join(&hex));
            } else {
                // Move aside first: a half-deleted layer must never look complete.
                let aside = self
                    .layers
                    .join(".tmp")
                    .join(tmp_name(&hex[..12.min(hex.len())]));
                fs::rename(ent.path(), &aside)?;
                remove_tree(&aside)?;
                report.layers += 1;
            }
        }
        Ok(report)
    }

    /// Create an image from its parts; the blobs and layers must already be stored. Names it
    /// `tag` if given, otherwise records it untagged.
    pub fn commit(&self, manifest_bytes: &[u8], tag: Option<&Reference>) -> Result<Image, Error> {
        let m: Manifest = serde_json::from_slice(manifest_bytes).map_err(|source| Error::Json {
            path: PathBuf::from("<manifest>"),
            source,
        })?;
        let digest = self.write_blob(manifest_bytes, None)?;
        let desc = Descriptor {
            media_type: m
                .media_type
                .clone()
                .unwrap_or_else(|| spec::OCI_MANIFEST.into()),
            digest,
            size: manifest_bytes.len() as u64,
            urls: None,
            annotations: None,
            platform: None,
        };
        match tag {
            Some(t) => self.tag(&desc, t)?,
            None => self.add_untagged(&desc)?,
        }
        self.load_image(&desc, &tag.map(|t| vec![t.to_string()]).unwrap_or_default())
    }

    /// The descriptor of an image's manifest (for tagging).
    pub fn manifest_descriptor(&self, image: &Image) -> Descriptor {
        without_annotations(image)
    }
}

fn without_annotations(image: &Image) -> Descriptor {
    image.manifest_descriptor.clone()
}

/// A blob being written; `commit` verifies its digest and moves it into place.
pub struct BlobWriter {
    w: Option<HashingWriter<io::BufWriter<fs::File>>>,
    path: PathBuf,
    store_blobs: PathBuf,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.as_mut().expect("not committed").flush()
    }
}

impl BlobWriter {
    pub fn commit(mut self, expected: Option<&Digest>) -> Result<(Digest, u64), Error> {
        let (digest, size, buf) = self.w.take().expect("not committed").finish();
        let file = buf.into_inner().map_err(|e| e.into_error())?;
        drop(file);
        if let Some(e) = expected
            && *e != digest
        {
            let _ = std::fs::remove_file(&self.path);
            return Err(Error::DigestMismatch {
                what: "blob".into(),
                expected: e.clone(),
                actual: digest,
            });
        }
        fs::rename(&self.path, self.store_blobs.join(digest.hex()))?;
        Ok((digest, size))
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After a commit the temp file is gone and this is a no-op.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Write a file by temp + rename, so readers see the old or the new content, never a part.
pub(crate) fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = tmp_dir.join(tmp_name("w"));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dest)?;
    Ok(())
}

/// Remove a directory tree that may contain read-only directories or immutable-looking modes.
pub(crate) fn remove_tree(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Store {
    /// Unpack a stored blob as a new layer on top of `parent` (a chain id) when its diff_id
    /// is not known yet: unpack to a temp dir, then move it into place under the chain lock
    /// (or drop it if another process got there first).
    pub fn unpack_new_layer(
        &self,
        blob: &Digest,
        parent: Option<&Digest>,
    ) -> Result<(Digest, spec::Compression), Error> {
        let tmp = self.layers.join(".tmp").join(tmp_name("new"));
        fs::create_dir(&tmp)?;
        let result = (|| {
            let f = fs::File::open(self.blob_path(blob))?;
            let u = unpack::unpack_layer(
                io::BufReader::with_capacity(256 << 10, f),
                &tmp,
                &self.limits,
            )
            .map_err(|source| Error::Unpack {
                layer: blob.clone(),
                source,
            })?;
            let chain = match parent {
                None => u.diff_id.clone(),
                Some(p) => Digest::of(format!("{p} {}", u.diff_id).as_bytes()),
            };
            let _l = lock(&self.layers.join(".locks").join(chain.hex()), true)?;
            if !self.has_layer(&chain) {
                let meta = serde_json::to_vec(&LayerMeta {
                    diff_id: u.diff_id.clone(),
                    size: u.size,
                })
                .expect("serialize");
                write_atomic(
                    &self.layers.join(".tmp"),
                    &self.layers.join(format!("{}.json", chain.hex())),
                    &meta,
                )?;
                fs::rename(&tmp, self.layer_dir(&chain))?;
            }
            Ok((u.diff_id, u.compression))
        })();
        let _ = remove_tree(&tmp);
        result
    }
}
