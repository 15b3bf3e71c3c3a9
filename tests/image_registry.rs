//! Pull and push against a real registry (Debian's `docker-registry` on loopback).

mod support;

use std::collections::HashSet;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use rcompose::image::{self, Client, Config, Digest, Platform, Reference, Store, credentials::Credentials, reporter::Recorder};
use support::images::{self, Layout};
use support::registry::{Auth, PASSWORD, Registry, TempRoot, USER};

fn client() -> Client {
    Client::new(Config::default())
}

fn pushed(reg: &Registry, build: impl FnOnce(&mut Layout) -> images::Fixture, tag: &str, dest: &str) -> images::Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    let f = build(&mut l);
    reg.skopeo_push(&l.dir, tag, dest);
    f
}

#[test]
fn pull_single_layer_image_matches_the_registry_digest_for_digest() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::single, "single", "bb:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/bb:1", reg.host())).unwrap();
    let rec = Recorder::default();
    let img = image::pull(&store, &client(), &r, &Platform::host(), &rec).unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
    assert_eq!(img.id, fx.config);
    assert_eq!(img.config.rootfs.diff_ids, fx.diff_ids);
    assert_eq!(img.config.config.cmd.as_deref(), Some(&["sh".to_string()][..]));
    let dirs = img.layer_dirs();
    assert_eq!(dirs.len(), 1);
    assert_eq!(std::fs::read(dirs[0].join("bin/busybox")).unwrap(), images::busybox_binary());
    assert_eq!(std::fs::read_link(dirs[0].join("bin/sh")).unwrap(), Path::new("busybox"));
    for l in &fx.layers {
        assert!(store.has_blob(l), "layer blob {l} kept for push/save");
    }
    assert_eq!(img.repo_tags, vec![r.clone()]);
    assert_eq!(img.repo_digests, vec![r.with_digest(fx.manifest.clone())]);
    // By name, by short and full ID.
    assert_eq!(store.resolve(&r.to_string()).unwrap().unwrap().id, img.id);
    assert_eq!(store.resolve(img.id.short()).unwrap().unwrap().id, img.id);
    assert_eq!(store.resolve(img.id.as_str()).unwrap().unwrap().id, img.id);
    // A second pull reuses everything.
    let rec2 = Recorder::default();
    image::pull(&store, &client(), &r, &Platform::host(), &rec2).unwrap();
    let events = rec2.0.lock().unwrap();
    assert!(events.iter().any(|e| matches!(e, image::Event::Layer { status: image::LayerStatus::AlreadyExists, .. })));
    assert!(events.iter().any(|e| matches!(e, image::Event::Pulled { updated: false, .. })));
}

#[test]
fn pull_applies_whiteouts_and_opaque_dirs_as_overlay_sees_them() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::multi, "multi", "multi:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/multi:1", reg.host())).unwrap();
    let img = image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter).unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
    let dirs = img.layer_dirs();
    assert_eq!(dirs.len(), 3);
    // The top layer has overlay's whiteout (char 0/0) and opaque xattr.
    let wh = std::fs::symlink_metadata(dirs[2].join("data/gone")).unwrap();
    assert!(wh.file_type().is_char_device());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(wh.rdev(), 0);
    let opaque = xattr(&dirs[2].join("opq"), "trusted.overlay.opaque");
    assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
    // Mounted as overlay, the deletions are visible.
    let mnt = tempfile::tempdir().unwrap();
    let lower: Vec<String> = dirs.iter().rev().map(|d| d.display().to_string()).collect();
    let opts = format!("lowerdir={}", lower.join(":"));
    let st = std::process::Command::new("mount").args(["-t", "overlay", "overlay", "-o", &opts]).arg(mnt.path()).status().unwrap();
    assert!(st.success());
    let listing = |p: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(mnt.path().join(p)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    let data = listing("data");
    let opq = listing("opq");
    let bb = std::fs::read(mnt.path().join("bin/busybox")).is_ok();
    let _ = std::process::Command::new("umount").arg(mnt.path()).status();
    assert_eq!(data, vec!["kept"]);
    assert_eq!(opq, vec!["z"]);
    assert!(bb);
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 64];
    let r = unsafe { libc::lgetxattr(path.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r < 0 {
        return None;
    }
    buf.truncate(r as usize);
    Some(buf)
}
