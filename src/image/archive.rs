//! Archives: `docker save` (both layouts), oci-archive, rootfs tarballs.
//!
//! `save` writes one tar that is at once a Docker 25+ `docker save` archive and an OCI image
//! layout (oci-archive): `oci-layout`, `index.json` (names in `io.containerd.image.name` and
//! `org.opencontainers.image.ref.name`), `blobs/sha256/…` holding the stored blobs unchanged
//! (so digests survive a round trip), and `manifest.json` for older loaders.
//! `load` reads that, the legacy layout (`manifest.json` + `<id>/layer.tar`), and plain
//! oci-archives (skopeo, buildah).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use fs_err as fs;
use serde::Deserialize;
use serde_json::json;

use super::Error;
use super::builder::ImageBuilder;
use super::digest::{Digest, chain_ids};
use super::pull::select_platform;
use super::reference::Reference;
use super::spec::{
    self, ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, Compression, Descriptor,
    ImageConfiguration, Index, Manifest, Platform,
};
use super::store::{Image, Store, remove_tree};
use super::unpack;

/// What `load` named (or, untagged, the ID of) each image it loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    Named(Reference),
    Id(Digest),
}

/// Write `images` (each with all its tags) as one archive.
pub fn save(store: &Store, images: &[Image], out: impl Write) -> Result<(), Error> {
    let mut tar = tar::Builder::new(out);
    let mut written = std::collections::HashSet::new();
    let add_file =
        |tar: &mut tar::Builder<_>, name: &str, data: &mut dyn Read, size: u64| -> io::Result<()> {
            let mut h = tar::Header::new_ustar();
            h.set_path(name)?;
            h.set_size(size);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            tar.append(&h, data)
        };
    let dir = |tar: &mut tar::Builder<_>, name: &str| -> io::Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_path(name)?;
        h.set_size(0);
        h.set_mode(0o755);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Directory);
        h.set_cksum();
        tar.append(&h, io::empty())
    };
    dir(&mut tar, "blobs/")?;
    dir(&mut tar, "blobs/sha256/")?;
    let mut index = Vec::new();
    let mut manifest_json = Vec::new();
    for img in images {
        let mut blobs = vec![
            img.manifest_digest.clone(),
            img.manifest.config.digest.clone(),
        ];
        blobs.extend(img.manifest.layers.iter().map(|l| l.digest.clone()));
        for b in &blobs {
            if written.insert(b.clone()) {
                let path = store.blob_path(b);
                let f = fs::File::open(&path).map_err(|_| Error::MissingBlob(b.clone()))?;
                let size = f.metadata()?.len();
                add_file(
                    &mut tar,
                    &format!("blobs/sha256/{}", b.hex()),
                    &mut io::BufReader::new(f),
                    size,
                )?;
            }
        }
        let desc = &img.manifest_descriptor;
        if img.repo_tags.is_empty() {
            index.push(
                json!({"mediaType": desc.media_type, "digest": desc.digest, "size": desc.size}),
            );
        }
        for t in &img.repo_tags {
            index.push(json!({
                "mediaType": desc.media_type, "digest": desc.digest, "size": desc.size,
                "annotations": {ANNOTATION_CONTAINERD_NAME: t.to_string(), ANNOTATION_REF_NAME: t.tag.clone().unwrap_or_default()},
            }));
        }
        manifest_json.push(json!({
            "Config": format!("blobs/sha256/{}", img.manifest.config.digest.hex()),
            "RepoTags": img.repo_tags.iter().map(|t| t.familiar()).collect::<Vec<_>>(),
            "Layers": img.manifest.layers.iter().map(|l| format!("blobs/sha256/{}", l.digest.hex())).collect::<Vec<_>>(),
        }));
    }
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    add_file(
        &mut tar,
        "oci-layout",
        &mut &layout[..],
        layout.len() as u64,
    )?;
    let idx = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": spec::OCI_INDEX, "manifests": index}),
    )
    .expect("json");
    add_file(&mut tar, "index.json", &mut &idx[..], idx.len() as u64)?;
    let mj = serde_json::to_vec(&manifest_json).expect("json");
    add_file(&mut tar, "manifest.json", &mut &mj[..], mj.len() as u64)?;
    tar.into_inner()?.flush()?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LegacyEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Load a `docker save` archive (either layout) or an oci-archive.
pub fn load(store: &Store, input: impl Read, platform: &Platform) -> Result<Vec<Loaded>, Error> {
    let _guard = store.content_guard()?;
    let tmp = store.tmp_dir().join(super::store::tmp_name("load"));
    let _ = remove_tree(&tmp);
    fs::create_dir_all(&tmp)?;
    // The archive is untrusted: extract it with the layer unpacker's safety rules.
    let result = unpack::unpack_layer(io::BufReader::new(input), &tmp, &store.limits)
        .map_err(|source| Error::Invalid(format!("cannot read the archive: {source}")))
        .and_then(|_| load_dir(store, &tmp, platform));
    let _ = remove_tree(&tmp);
    result
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let b = fs::read(path)?;
    serde_json::from_slice(&b).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn inside(dir: &Path, rel: &str) -> Result<PathBuf, Error> {
    if rel.split('/').any(|c| c == "..") || rel.starts_with('/') {
        return Err(Error::Invalid(format!(
            "archive path `{rel}` escapes the archive"
        )));
    }
    Ok(dir.join(rel))
}

fn load_dir(store: &Store, dir: &Path, platform: &Platform) -> Result<Vec<Loaded>, Error> {
    let has_index = dir.join("index.json").is_file();
    let has_manifest = dir.join("manifest.json").is_file();
    if has_index {
        // OCI layout (Docker 25+ save, oci-archive): keeps manifests byte for byte.
        let index: Index = read_json(&dir.join("index.json"))?;
        let mut out = Vec::new();
        for d in &index.manifests {
            let mut desc = d.clone();
            let names = name_of(d);
            for _ in 0..4 {
                if !spec::is_index(&desc.media_type) {
                    break;
                }
                let inner: Index = read_json(&blob_in(dir, &desc.digest)?)?;
                desc = select_platform(&inner, platform, "archive")?;
            }
            if !spec::is_image_manifest(&desc.media_type) {
                continue;
            }
            let img = import_manifest(store, dir, &desc, &|d| blob_in(dir, d))?;
            out.extend(name_image(store, &img, names)?);
        }
        if !out.is_empty() || !has_manifest {
            return Ok(out);
        }
    }
    if has_manifest {
        // Legacy `docker save`: build an OCI manifest over the stored files.
        let entries: Vec<LegacyEntry> = read_json(&dir.join("manifest.json"))?;
        let mut out = Vec::new();
        for e in entries {
            let config_bytes = fs::read(inside(dir, &e.config)?)?;
            let config: ImageConfiguration =
                serde_json::from_slice(&config_bytes).map_err(|source| Error::Json {
                    path: dir.join(&e.config),
                    source,
                })?;
            if config.rootfs.diff_ids.len() != e.layers.len() {
                return Err(Error::Invalid(format!(
                    "archive image `{}`: layers and diff_ids differ in number",
                    e.config
                )));
            }
            let config_digest = store.write_blob(&config_bytes, None)?;
            let mut layers = Vec::new();
            for l in &e.layers {
                let f = fs::File::open(inside(dir, l)?)?;
                let (d, size) = store.write_blob_from(io::BufReader::new(f), None)?;
                let mut head = [0u8; 4];
                let n = fs::File::open(store.blob_path(&d))?.read(&mut head)?;
                layers.push(Descriptor {
                    media_type: Compression::sniff(&head[..n]).oci_media_type().into(),
                    digest: d,
                    size,
                    urls: None,
                    annotations: None,
                    platform: None,
                });
            }
            for ((l, diff), chain) in layers
                .iter()
                .zip(&config.rootfs.diff_ids)
                .zip(chain_ids(&config.rootfs.diff_ids))
            {
                store.ensure_layer_from_blob(&chain, diff, &l.digest)?;
            }
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
                layers,
                annotations: None,
            };
            let bytes = serde_json::to_vec(&manifest).expect("json");
            let img = store.commit(&bytes, None)?;
            let names = e.repo_tags.unwrap_or_default();
            out.extend(name_image(store, &img, names)?);
        }
        return Ok(out);
    }
    Err(Error::Invalid(
        "not an image archive: neither `manifest.json` nor `index.json` found".into(),
    ))
}

fn blob_in(dir: &Path, d: &Digest) -> Result<PathBuf, Error> {
    let p = dir.join("blobs/sha256").join(d.hex());
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::MissingBlob(d.clone()))
    }
}

/// Names an OCI index entry carries: containerd's full name, else `ref.name` when it is a
/// reference rather than a bare tag.
fn name_of(d: &Descriptor) -> Vec<String> {
    let a = d.annotations.clone().unwrap_or_default();
    if let Some(n) = a.get(ANNOTATION_CONTAINERD_NAME) {
        return vec![n.clone()];
    }
    match a.get(ANNOTATION_REF_NAME) {
        Some(n) if n.contains('/') || n.contains(':') => vec![n.clone()],
        _ => Vec::new(),
    }
}

fn name_image(store: &Store, img: &Image, names: Vec<String>) -> Result<Vec<Loaded>, Error> {
    if names.is_empty() {
        return Ok(vec![Loaded::Id(img.id.clone())]);
    }
    let mut out = Vec::new();
    for n in names {
        let r = Reference::parse(&n)?;
        store.tag(&img.manifest_descriptor, &r)?;
        out.push(Loaded::Named(r));
    }
    Ok(out)
}

/// Copy a manifest, its config and layers from `blob(digest)` files into the store, verifying
/// each digest and each layer's diff_id, and record the image untagged.
fn import_manifest(
    store: &Store,
    _dir: &Path,
    desc: &Descriptor,
    blob: &dyn Fn(&Digest) -> Result<PathBuf, Error>,
) -> Result<Image, Error> {
    let mbytes = fs::read(blob(&desc.digest)?)?;
    if Digest::of(&mbytes) != desc.digest {
        return Err(Error::DigestMismatch {
            what: "manifest".into(),
            expected: desc.digest.clone(),
            actual: Digest::of(&mbytes),
        });
    }
    let m: Manifest = serde_json::from_slice(&mbytes).map_err(|source| Error::Json {
        path: PathBuf::from(desc.digest.to_string()),
        source,
    })?;
    let copy = |d: &Digest| -> Result<(), Error> {
        if !store.has_blob(d) {
            let f = fs::File::open(blob(d)?)?;
            store.write_blob_from(io::BufReader::new(f), Some(d))?;
        }
        Ok(())
    };
    copy(&m.config.digest)?;
    let config: ImageConfiguration = serde_json::from_slice(&store.read_blob(&m.config.digest)?)
        .map_err(|source| Error::Json {
            path: store.blob_path(&m.config.digest),
            source,
        })?;
    if config.rootfs.diff_ids.len() != m.layers.len() {
        return Err(Error::Invalid(format!(
            "image {}: layers and diff_ids differ in number",
            desc.digest
        )));
    }
    for ((l, diff), chain) in m
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .zip(chain_ids(&config.rootfs.diff_ids))
    {
        copy(&l.digest)?;
        store.ensure_layer_from_blob(&chain, diff, &l.digest)?;
    }
    store.commit(&mbytes, None)
}

/// `docker import`: a rootfs tarball (plain, gzip or zstd) becomes a one-layer image.
pub fn import(
    store: &Store,
    input: impl Read,
    tag: Option<&Reference>,
    message: Option<&str>,
    changes: impl FnOnce(&mut ImageConfiguration),
) -> Result<Image, Error> {
    // The builder holds the content guard, so GC cannot take the blob before it is named.
    let mut b = ImageBuilder::new(store, None)?;
    let (blob, size) = store.write_blob_from(io::BufReader::new(input), None)?;
    b.add_layer_blob(&blob, size, None)?;
    let cfg = b.config_mut();
    cfg.history.push(spec::History {
        created: Some(super::builder::now_rfc3339()),
        comment: Some(message.unwrap_or("Imported from -").to_string()),
        ..Default::default()
    });
    changes(cfg);
    b.commit(tag)
}
