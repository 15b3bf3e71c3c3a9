//! Fixture images built offline from Debian's `busybox-static`, with fixed timestamps so
//! their digests are stable. Written as OCI layouts (then pushed with skopeo by the tests).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use rcompose::image::Digest;
use serde_json::json;

/// 2024-01-01T00:00:00Z
pub const MTIME: u64 = 1_704_067_200;
pub const CREATED: &str = "2024-01-01T00:00:00Z";

/// One tar entry, possibly hostile (names are written raw, `..` and all).
#[derive(Debug, Clone)]
pub enum E {
    Dir(&'static str),
    File(String, Vec<u8>, u32),
    Symlink(String, String),
    Hardlink(String, String),
    Char(String, u32, u32),
    Fifo(String),
}

pub fn file(p: &str, content: &[u8]) -> E {
    E::File(p.into(), content.to_vec(), 0o644)
}

fn raw_header(path: &[u8], kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    let name = &mut h.as_gnu_mut().unwrap().name;
    assert!(path.len() < name.len(), "fixture path too long");
    name[..path.len()].copy_from_slice(path);
    h
}

fn set_link(h: &mut tar::Header, target: &[u8]) {
    let l = &mut h.as_gnu_mut().unwrap().linkname;
    l[..target.len()].copy_from_slice(target);
}

/// A tar (uncompressed) of these entries, in order.
pub fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::Dir(p) => {
                let mut h = raw_header(p.as_bytes(), tar::EntryType::Directory, 0, 0o755);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::File(p, data, mode) => {
                let mut h = raw_header(
                    p.as_bytes(),
                    tar::EntryType::Regular,
                    data.len() as u64,
                    *mode,
                );
                h.set_cksum();
                b.append(&h, &data[..]).unwrap();
            }
            E::Symlink(p, t) | E::Hardlink(p, t) => {
                let kind = if matches!(e, E::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = raw_header(p.as_bytes(), kind, 0, 0o777);
                set_link(&mut h, t.as_bytes());
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::Char(p, maj, min) => {
                let mut h = raw_header(p.as_bytes(), tar::EntryType::Char, 0, 0o666);
                h.set_device_major(*maj).unwrap();
                h.set_device_minor(*min).unwrap();
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::Fifo(p) => {
                let mut h = raw_header(p.as_bytes(), tar::EntryType::Fifo, 0, 0o644);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

pub fn busybox_binary() -> Vec<u8> {
    std::fs::read("/bin/busybox").expect("/bin/busybox (apt install busybox-static)")
}

/// A minimal busybox root filesystem: `/bin/busybox`, applet links, `/etc/passwd`, `/etc/group`.
pub fn busybox_rootfs(busybox: Vec<u8>) -> Vec<E> {
    let mut v = vec![
        E::Dir("bin/"),
        E::File("bin/busybox".into(), busybox, 0o755),
        E::Dir("etc/"),
        file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        file("etc/group", b"root:x:0:\nnogroup:x:65534:\n"),
        E::Dir("root/"),
        E::Dir("tmp/"),
    ];
    for applet in [
        "sh", "ls", "cat", "echo", "true", "false", "sleep", "env", "id", "test", "mkdir", "rm",
        "touch", "stat", "wget",
    ] {
        v.push(E::Symlink(format!("bin/{applet}"), "busybox".into()));
    }
    v
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

/// An image written to an OCI layout.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub manifest: Digest,
    pub manifest_bytes: Vec<u8>,
    pub config: Digest,
    pub diff_ids: Vec<Digest>,
    pub layers: Vec<Digest>,
}

pub struct Layout {
    pub dir: PathBuf,
    index: Vec<serde_json::Value>,
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let mut l = Layout {
            dir: dir.to_path_buf(),
            index: Vec::new(),
        };
        l.flush();
        l
    }

    pub fn blob(&self, bytes: &[u8]) -> Digest {
        let d = Digest::of(bytes);
        std::fs::write(self.dir.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        d
    }

    /// Write an image (layers as uncompressed tars with their compression) and return it.
    pub fn image(
        &mut self,
        layers: &[(Vec<u8>, Comp)],
        arch: &str,
        variant: Option<&str>,
        cmd: &[&str],
    ) -> Fixture {
        self.image_inner(layers, arch, variant, cmd, None)
    }

    /// An amd64 image whose config lists these diff_ids (whatever the layers really are).
    pub fn image_with_diff_ids(
        &mut self,
        layers: &[(Vec<u8>, Comp)],
        diff_ids: &[Digest],
    ) -> Fixture {
        self.image_inner(layers, "amd64", None, &["sh"], Some(diff_ids))
    }

    fn image_inner(
        &mut self,
        layers: &[(Vec<u8>, Comp)],
        arch: &str,
        variant: Option<&str>,
        cmd: &[&str],
        fake: Option<&[Digest]>,
    ) -> Fixture {
        let mut descs = Vec::new();
        let mut diff_ids = Vec::new();
        let mut digests = Vec::new();
        for (tar, comp) in layers {
            diff_ids.push(Digest::of(tar));
            let (bytes, mt) = match comp {
                Comp::None => (tar.clone(), "application/vnd.oci.image.layer.v1.tar"),
                Comp::Gzip => (gzip(tar), "application/vnd.oci.image.layer.v1.tar+gzip"),
                Comp::Zstd => (zstd(tar), "application/vnd.oci.image.layer.v1.tar+zstd"),
            };
            let d = self.blob(&bytes);
            digests.push(d.clone());
            descs.push(json!({"mediaType": mt, "digest": d.to_string(), "size": bytes.len()}));
        }
        if let Some(f) = fake {
            diff_ids = f.to_vec();
        }
        let mut config = json!({
            "created": CREATED,
            "architecture": arch,
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd, "Labels": {"org.rcompose.fixture": "1"}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
            "history": layers.iter().map(|_| json!({"created": CREATED, "created_by": "fixture"})).collect::<Vec<_>>(),
        });
        if let Some(v) = variant {
            config["variant"] = json!(v);
        }
        let config_bytes = serde_json::to_vec(&config).unwrap();
        let config_digest = self.blob(&config_bytes);
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config_bytes.len()},
            "layers": descs,
        });
        let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
        let manifest_digest = self.blob(&manifest_bytes);
        Fixture {
            manifest: manifest_digest,
            manifest_bytes,
            config: config_digest,
            diff_ids,
            layers: digests,
        }
    }

    /// Name an image in `index.json`.
    pub fn tag(&mut self, f: &Fixture, tag: &str) {
        self.index.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f.manifest.to_string(), "size": f.manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        self.flush();
    }

    /// Write a multi-platform index of `(image, arch, variant)` and name it `tag`.
    pub fn index(&mut self, images: &[(&Fixture, &str, Option<&str>)], tag: &str) -> Digest {
        let manifests: Vec<_> = images
            .iter()
            .map(|(f, arch, variant)| {
                let mut p = json!({"architecture": arch, "os": "linux"});
                if let Some(v) = variant {
                    p["variant"] = json!(v);
                }
                json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f.manifest.to_string(), "size": f.manifest_bytes.len(), "platform": p})
            })
            .collect();
        let idx = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})).unwrap();
        let d = self.blob(&idx);
        self.index.push(json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": d.to_string(), "size": idx.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        self.flush();
        d
    }

    fn flush(&mut self) {
        let idx = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.index});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&idx).unwrap(),
        )
        .unwrap();
    }
}

/// The single-layer busybox image (gzip).
pub fn single(l: &mut Layout) -> Fixture {
    let f = l.image(
        &[(tar_of(&busybox_rootfs(busybox_binary())), Comp::Gzip)],
        "amd64",
        None,
        &["sh"],
    );
    l.tag(&f, "single");
    f
}

/// Busybox plus a layer of data (zstd) and a layer deleting part of it: `/data/gone`
/// whited out, `/opq` made opaque (its old `x`, `y` hidden, new `z` shown).
pub fn multi(l: &mut Layout) -> Fixture {
    let base = tar_of(&busybox_rootfs(busybox_binary()));
    let data = tar_of(&[
        E::Dir("data/"),
        file("data/gone", b"deleted later\n"),
        file("data/kept", b"kept\n"),
        E::Dir("opq/"),
        file("opq/x", b"x\n"),
        file("opq/y", b"y\n"),
    ]);
    let deletes = tar_of(&[
        E::Dir("data/"),
        file("data/.wh.gone", b""),
        E::Dir("opq/"),
        file("opq/.wh..wh..opq", b""),
        file("opq/z", b"z\n"),
    ]);
    let f = l.image(
        &[
            (base, Comp::Gzip),
            (data, Comp::Zstd),
            (deletes, Comp::None),
        ],
        "amd64",
        None,
        &["sh"],
    );
    l.tag(&f, "multi");
    f
}

/// The arm64 `busybox-static` binary, fetched once with mmdebstrap and cached.
pub fn arm64_busybox() -> Vec<u8> {
    let cache = PathBuf::from("/var/tmp/rcompose-test-cache/busybox-arm64");
    if let Ok(b) = std::fs::read(&cache) {
        return b;
    }
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rootfs");
    let status = Command::new("mmdebstrap")
        .args([
            "--quiet",
            "--variant=extract",
            "--architectures=arm64",
            "--include=busybox-static",
            "bookworm",
        ])
        .arg(&out)
        .status()
        .expect("mmdebstrap");
    assert!(status.success(), "mmdebstrap for arm64 busybox failed");
    let b = std::fs::read(out.join("bin/busybox")).unwrap();
    let part = cache.with_extension("part");
    std::fs::write(&part, &b).unwrap();
    std::fs::rename(&part, &cache).unwrap();
    b
}

/// An index of the amd64 busybox and an arm64 busybox (real foreign binary).
pub fn multi_arch(l: &mut Layout) -> (Digest, Fixture, Fixture) {
    let amd = l.image(
        &[(tar_of(&busybox_rootfs(busybox_binary())), Comp::Gzip)],
        "amd64",
        None,
        &["sh"],
    );
    let arm = l.image(
        &[(tar_of(&busybox_rootfs(arm64_busybox())), Comp::Gzip)],
        "arm64",
        Some("v8"),
        &["sh"],
    );
    let idx = l.index(
        &[(&amd, "amd64", None), (&arm, "arm64", Some("v8"))],
        "multiarch",
    );
    (idx, amd, arm)
}

/// An overlay mount of layer dirs (bottom → top), unmounted on drop, pass or fail.
pub struct OverlayMount {
    pub dir: tempfile::TempDir,
}

impl OverlayMount {
    pub fn new(layers: &[PathBuf]) -> OverlayMount {
        let dir = tempfile::tempdir().unwrap();
        let lower: Vec<String> = layers
            .iter()
            .rev()
            .map(|d| d.display().to_string())
            .collect();
        let ok = Command::new("mount")
            .args([
                "-t",
                "overlay",
                "overlay",
                "-o",
                &format!("lowerdir={}", lower.join(":")),
            ])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(ok.success(), "mount overlay");
        OverlayMount { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for OverlayMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
