//! Pull and push against a real registry (Debian's `docker-registry` on loopback).

mod support;

use std::collections::HashSet;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use rcompose::image::{
    self, Client, Config, Digest, Platform, Reference, Store, credentials::Credentials,
    reporter::Recorder,
};
use support::images::{self, Layout};
use support::registry::{Auth, PASSWORD, Registry, TempRoot, USER};

fn client() -> Client {
    Client::new(Config::default())
}

fn pushed(
    reg: &Registry,
    build: impl FnOnce(&mut Layout) -> images::Fixture,
    tag: &str,
    dest: &str,
) -> images::Fixture {
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
    assert_eq!(
        img.config.config.cmd.as_deref(),
        Some(&["sh".to_string()][..])
    );
    let dirs = img.layer_dirs();
    assert_eq!(dirs.len(), 1);
    assert_eq!(
        std::fs::read(dirs[0].join("bin/busybox")).unwrap(),
        images::busybox_binary()
    );
    assert_eq!(
        std::fs::read_link(dirs[0].join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
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
    assert!(events.iter().any(|e| matches!(
        e,
        image::Event::Layer {
            status: image::LayerStatus::AlreadyExists,
            ..
        }
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, image::Event::Pulled { updated: false, .. }))
    );
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
    let mnt = images::OverlayMount::new(&dirs);
    let listing = |p: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(mnt.path().join(p))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let data = listing("data");
    let opq = listing("opq");
    let bb = std::fs::read(mnt.path().join("bin/busybox")).is_ok();
    drop(mnt);
    assert_eq!(data, vec!["kept"]);
    assert_eq!(opq, vec!["z"]);
    assert!(bb);
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 64];
    let r = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            n.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if r < 0 {
        return None;
    }
    buf.truncate(r as usize);
    Some(buf)
}

fn creds() -> Credentials {
    Credentials {
        username: USER.into(),
        password: PASSWORD.into(),
    }
}

#[test]
fn pull_with_basic_auth_needs_the_credentials() {
    let reg = Registry::start(Auth::Basic);
    let fx = pushed(&reg, images::single, "single", "private/bb:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/private/bb:1", reg.host())).unwrap();
    let c = client();
    // No config.json credentials for this random port: refused, with a hint.
    let err = image::pull(&store, &c, &r, &Platform::host(), &image::NoReporter).unwrap_err();
    assert!(err.to_string().contains("unauthorized"), "{err}");
    c.set_credentials(&reg.host(), creds());
    let img = image::pull(&store, &c, &r, &Platform::host(), &image::NoReporter).unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
    let bad = client();
    bad.set_credentials(
        &reg.host(),
        Credentials {
            username: USER.into(),
            password: "wrong".into(),
        },
    );
    let root2 = TempRoot::new();
    let err = image::pull(
        &Store::open(&root2.paths).unwrap(),
        &bad,
        &r,
        &Platform::host(),
        &image::NoReporter,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unauthorized"), "{err}");
}

#[test]
fn pull_and_push_with_bearer_tokens() {
    let reg = Registry::start(Auth::Token);
    let fx = pushed(&reg, images::multi, "multi", "team/app:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/team/app:1", reg.host())).unwrap();
    let c = client();
    let err = image::pull(&store, &c, &r, &Platform::host(), &image::NoReporter).unwrap_err();
    assert!(err.to_string().contains("token server refused"), "{err}");
    c.set_credentials(&reg.host(), creds());
    let img = image::pull(&store, &c, &r, &Platform::host(), &image::NoReporter).unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
    // Push under another name: blobs are mounted from `team/app`, the manifest digest stays.
    let target = Reference::parse(&format!("{}/team/copy:2", reg.host())).unwrap();
    store.tag(&img.manifest_descriptor, &target).unwrap();
    let rec = Recorder::default();
    let d = image::push(&store, &c, &target, &rec).unwrap();
    assert_eq!(d, fx.manifest);
    let events = rec.0.lock().unwrap();
    assert!(
        events.iter().any(|e| matches!(
            e,
            image::Event::Layer {
                status: image::LayerStatus::Mounted { .. },
                ..
            }
        )),
        "{events:?}"
    );
}

#[test]
fn push_round_trips_digest_for_digest_and_skips_existing_blobs() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::multi, "multi", "src:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let c = client();
    let src = Reference::parse(&format!("{}/src:1", reg.host())).unwrap();
    let img = image::pull(&store, &c, &src, &Platform::host(), &image::NoReporter).unwrap();
    let dst = Reference::parse(&format!("{}/elsewhere/dst:v2", reg.host())).unwrap();
    store.tag(&img.manifest_descriptor, &dst).unwrap();
    // Forget the source repository so no mount is possible: a real upload.
    store
        .remove(&src.to_string(), false, &HashSet::new())
        .unwrap();
    store
        .remove(
            &src.with_digest(fx.manifest.clone()).to_string(),
            false,
            &HashSet::new(),
        )
        .unwrap();
    let rec = Recorder::default();
    let d = image::push(&store, &c, &dst, &rec).unwrap();
    assert_eq!(d, fx.manifest);
    assert!(rec.0.lock().unwrap().iter().any(|e| matches!(
        e,
        image::Event::Layer {
            status: image::LayerStatus::Pushed,
            ..
        }
    )));
    // skopeo reads back the same manifest and blobs.
    let out = tempfile::tempdir().unwrap();
    reg.skopeo_pull("elsewhere/dst:v2", &out.path().join("oci"), "x");
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("oci/index.json")).unwrap()).unwrap();
    assert_eq!(idx["manifests"][0]["digest"], fx.manifest.to_string());
    for l in &fx.layers {
        assert!(out.path().join("oci/blobs/sha256").join(l.hex()).exists());
    }
    // Pushing again finds every blob there.
    let rec = Recorder::default();
    image::push(&store, &c, &dst, &rec).unwrap();
    let ev = rec.0.lock().unwrap();
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(
                e,
                image::Event::Layer {
                    status: image::LayerStatus::LayerAlreadyExists,
                    ..
                }
            ))
            .count(),
        3
    );
}

#[test]
fn multi_arch_index_selects_the_requested_platform() {
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    let (idx, amd, arm) = images::multi_arch(&mut l);
    reg.skopeo_push(&l.dir, "multiarch", "ma:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/ma:1", reg.host())).unwrap();
    let img = image::pull(
        &store,
        &client(),
        &r,
        &Platform::parse("linux/amd64").unwrap(),
        &image::NoReporter,
    )
    .unwrap();
    assert_eq!(img.manifest_digest, amd.manifest);
    assert_eq!(img.repo_digests, vec![r.with_digest(idx.clone())]);
    let root2 = TempRoot::new();
    let store2 = Store::open(&root2.paths).unwrap();
    let img = image::pull(
        &store2,
        &client(),
        &r,
        &Platform::parse("linux/arm64").unwrap(),
        &image::NoReporter,
    )
    .unwrap();
    assert_eq!(img.manifest_digest, arm.manifest);
    assert_eq!(img.config.architecture, "arm64");
    let bin = std::fs::read(img.layer_dirs()[0].join("bin/busybox")).unwrap();
    assert_eq!(
        u16::from_le_bytes([bin[18], bin[19]]),
        183,
        "an aarch64 ELF (e_machine 183)"
    );
    let err = image::pull(
        &store2,
        &client(),
        &r,
        &Platform::parse("linux/s390x").unwrap(),
        &image::NoReporter,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("linux/s390x") && msg.contains("linux/arm64"),
        "{msg}"
    );
}

#[test]
fn unreachable_registry_is_a_clear_error() {
    let port = support::registry::free_port();
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("127.0.0.1:{port}/nothing:1")).unwrap();
    let err =
        image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("cannot reach registry `127.0.0.1:{port}`")),
        "{msg}"
    );
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn concurrent_pulls_of_one_image_unpack_each_layer_once() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::multi, "multi", "conc:1");
    let root = TempRoot::new();
    let r = Reference::parse(&format!("{}/conc:1", reg.host())).unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let store = Store::open(&root.paths).unwrap();
                    image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter)
                        .map(|i| i.manifest_digest)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for res in results {
        assert_eq!(res.unwrap(), fx.manifest);
    }
    let store = Store::open(&root.paths).unwrap();
    assert_eq!(store.list().unwrap().len(), 1);
    let layers: Vec<_> = std::fs::read_dir(root.paths.layers())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.ends_with(".json"))
        .collect();
    assert_eq!(layers.len(), 3);
    assert_eq!(
        std::fs::read_dir(root.paths.layers().join(".tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn save_then_load_round_trips_and_rm_prune_collect_garbage() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::multi, "multi", "rt:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/rt:1", reg.host())).unwrap();
    let img = image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter).unwrap();
    let archive = root.path().join("saved.tar");
    image::archive::save(
        &store,
        std::slice::from_ref(&img),
        std::fs::File::create(&archive).unwrap(),
    )
    .unwrap();
    // Into a fresh store: same manifest, config and layers.
    let root2 = TempRoot::new();
    let store2 = Store::open(&root2.paths).unwrap();
    let loaded = image::archive::load(
        &store2,
        std::fs::File::open(&archive).unwrap(),
        &Platform::host(),
    )
    .unwrap();
    assert_eq!(loaded, vec![image::archive::Loaded::Named(r.clone())]);
    let back = store2.get(&r.to_string()).unwrap();
    assert_eq!(back.manifest_digest, fx.manifest);
    assert_eq!(back.id, fx.config);
    assert_eq!(
        back.layer_dirs()
            .iter()
            .map(|d| d.file_name().unwrap().to_owned())
            .collect::<Vec<_>>(),
        img.layer_dirs()
            .iter()
            .map(|d| d.file_name().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    // skopeo reads our archive as an oci-archive and as a docker-archive.
    for (transport, tagged) in [
        ("oci-archive", format!("{}", archive.display())),
        ("docker-archive", format!("{}", archive.display())),
    ] {
        let out = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("{transport}:{tagged}"))
            .arg(format!("oci:{}:x", out.path().join("o").display()))
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{transport}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
    // An oci-archive written by skopeo loads with its manifest unchanged.
    let oci_archive = root.path().join("skopeo-oci.tar");
    let st = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{r}"))
        .arg(format!(
            "oci-archive:{}:skopeo/app:7",
            oci_archive.display()
        ))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let root4 = TempRoot::new();
    let store4 = Store::open(&root4.paths).unwrap();
    let loaded = image::archive::load(
        &store4,
        std::fs::File::open(&oci_archive).unwrap(),
        &Platform::host(),
    )
    .unwrap();
    assert_eq!(
        loaded,
        vec![image::archive::Loaded::Named(
            Reference::parse("skopeo/app:7").unwrap()
        )]
    );
    // skopeo may rewrite the manifest (layer media types); the image ID (config) is stable.
    assert_eq!(store4.get("skopeo/app:7").unwrap().id, fx.config);
    // A legacy docker-archive written by skopeo loads too (uncompressed layers, same diff_ids).
    // (skopeo cannot write zstd images as docker-archive: use the gzip fixture.)
    let single = pushed(&reg, images::single, "single", "single:1");
    let legacy = root.path().join("legacy.tar");
    let st = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{}/single:1", reg.host()))
        .arg(format!("docker-archive:{}:legacy/app:3", legacy.display()))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let root3 = TempRoot::new();
    let store3 = Store::open(&root3.paths).unwrap();
    let loaded = image::archive::load(
        &store3,
        std::fs::File::open(&legacy).unwrap(),
        &Platform::host(),
    )
    .unwrap();
    assert_eq!(
        loaded,
        vec![image::archive::Loaded::Named(
            Reference::parse("legacy/app:3").unwrap()
        )]
    );
    let l = store3.get("legacy/app:3").unwrap();
    assert_eq!(l.id, single.config, "same config, same image ID");
    assert_eq!(l.config.rootfs.diff_ids, single.diff_ids);
    assert!(l.layer_dirs()[0].join("bin/busybox").is_file());
    // rm deletes, gc frees every blob and layer.
    let removed = store2
        .remove(&r.to_string(), false, &HashSet::new())
        .unwrap();
    assert!(
        removed.contains(&image::Removed::Deleted(fx.config.clone())),
        "{removed:?}"
    );
    let gc = store2.gc().unwrap();
    assert_eq!(gc.layers, 3);
    assert_eq!(
        std::fs::read_dir(root2.paths.images().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
    // prune -a with the image in use keeps it.
    let in_use: HashSet<Digest> = [l.id.clone()].into();
    let (removed, _) = store3.prune(true, &in_use).unwrap();
    assert!(removed.is_empty());
    let (removed, _) = store3.prune(true, &HashSet::new()).unwrap();
    assert!(removed.contains(&image::Removed::Deleted(l.id.clone())));
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_leaves_nothing_behind() {
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    let tar = images::tar_of(&images::busybox_rootfs(images::busybox_binary()));
    // The config claims another diff_id than the layer has.
    let liar = l.image_with_diff_ids(
        &[(tar, images::Comp::Gzip)],
        &[Digest::of(b"not this layer")],
    );
    l.tag(&liar, "liar");
    reg.skopeo_push(&l.dir, "liar", "liar:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/liar:1", reg.host())).unwrap();
    let err =
        image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter).unwrap_err();
    assert!(err.to_string().contains("diff_id digest mismatch"), "{err}");
    assert!(store.list().unwrap().is_empty());
    let layer_dirs: Vec<_> = std::fs::read_dir(root.paths.layers())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(layer_dirs.is_empty(), "{layer_dirs:?}");
    assert_eq!(
        std::fs::read_dir(root.paths.layers().join(".tmp"))
            .unwrap()
            .count(),
        0
    );
    // GC removes the verified-but-unreferenced blobs.
    store.gc().unwrap();
    assert_eq!(
        std::fs::read_dir(root.paths.images().join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn ensure_image_follows_the_pull_policy() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::single, "single", "pol:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/pol:1", reg.host())).unwrap();
    let p = Platform::host();
    let err = image::ensure_image(&store, &r, image::PullPolicy::Never, &p, &image::NoReporter)
        .unwrap_err();
    assert!(matches!(err, image::Error::NeverPull(_)), "{err}");
    let img = image::ensure_image(
        &store,
        &r,
        image::PullPolicy::Missing,
        &p,
        &image::NoReporter,
    )
    .unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
    let port = reg.port;
    drop(reg);
    // The registry is gone: `missing` and `never` use the local image, `always` must fail.
    for policy in [
        image::PullPolicy::Missing,
        image::PullPolicy::Never,
        image::PullPolicy::Every(std::time::Duration::from_secs(3600)),
    ] {
        assert_eq!(
            image::ensure_image(&store, &r, policy, &p, &image::NoReporter)
                .unwrap()
                .id,
            fx.config
        );
    }
    let err = image::ensure_image(
        &store,
        &r,
        image::PullPolicy::Always,
        &p,
        &image::NoReporter,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    // A local image for another platform does not satisfy the request.
    let err = image::ensure_image(
        &store,
        &r,
        image::PullPolicy::Never,
        &Platform::parse("linux/arm64").unwrap(),
        &image::NoReporter,
    )
    .unwrap_err();
    assert!(matches!(err, image::Error::NeverPull(_)), "{err}");
}

#[test]
fn docker_hub_names_are_pulled_through_a_configured_mirror() {
    let reg = Registry::start(Auth::Anonymous);
    let fx = pushed(&reg, images::single, "single", "library/bb:mirror");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let cfg = Config {
        registry_mirrors: vec![format!("http://{}", reg.host())],
        ..Config::default()
    };
    let r = Reference::parse("bb:mirror").unwrap();
    let img = image::pull(
        &store,
        &Client::new(cfg),
        &r,
        &Platform::host(),
        &image::NoReporter,
    )
    .unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
    assert_eq!(
        img.repo_tags,
        vec![Reference::parse("docker.io/library/bb:mirror").unwrap()]
    );
    assert_eq!(store.resolve("bb:mirror").unwrap().unwrap().id, fx.config);
}

#[test]
fn docker_v2s2_manifests_and_manifest_lists_pull() {
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    let (_, amd, _) = images::multi_arch(&mut l);
    // skopeo converts the OCI index and manifests to Docker's v2s2 formats.
    reg.skopeo_push_with(&l.dir, "multiarch", "v2s2:1", &["--format", "v2s2"]);
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/v2s2:1", reg.host())).unwrap();
    let img = image::pull(
        &store,
        &client(),
        &r,
        &Platform::parse("linux/arm64").unwrap(),
        &image::NoReporter,
    )
    .unwrap();
    assert_eq!(
        img.manifest_descriptor.media_type,
        image::spec::DOCKER_MANIFEST
    );
    assert_eq!(img.config.architecture, "arm64");
    let img = image::pull(
        &store,
        &client(),
        &r,
        &Platform::parse("linux/amd64").unwrap(),
        &image::NoReporter,
    )
    .unwrap();
    assert_eq!(
        img.config.rootfs.diff_ids, amd.diff_ids,
        "same layers whatever the manifest format"
    );
    assert!(img.layer_dirs()[0].join("bin/busybox").is_file());
}

#[test]
fn pull_over_tls_from_a_loopback_registry_with_a_self_signed_certificate() {
    let reg = Registry::start_tls();
    let fx = pushed(&reg, images::single, "single", "tls:1");
    // The registry refuses plain HTTP, so a successful pull went over TLS (rustls + ring).
    let plain = std::process::Command::new("python3")
        .args(["-c", &format!("import urllib.request,sys\ntry:\n urllib.request.urlopen('http://{}/v2/')\nexcept urllib.error.HTTPError as e:\n sys.exit(0 if e.code == 400 else 1)\nsys.exit(1)", reg.host())])
        .status()
        .unwrap();
    assert!(plain.success(), "the TLS registry should refuse plain HTTP");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/tls:1", reg.host())).unwrap();
    let img = image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter).unwrap();
    assert_eq!(img.manifest_digest, fx.manifest);
}

#[test]
fn a_malicious_layer_fails_the_pull_with_the_reason_and_leaves_nothing() {
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    let mut seed = 3u64;
    let noise: Vec<u8> = (0..(8 << 20))
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    // The escape comes first, then enough data that the download is still running.
    let tar = images::tar_of(&[
        images::file("../../escape", b"x"),
        images::E::File("noise".into(), noise, 0o644),
    ]);
    let f = l.image(&[(tar, images::Comp::Gzip)], "amd64", None, &["sh"]);
    l.tag(&f, "evil");
    reg.skopeo_push(&l.dir, "evil", "evil:1");
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let r = Reference::parse(&format!("{}/evil:1", reg.host())).unwrap();
    let err =
        image::pull(&store, &client(), &r, &Platform::host(), &image::NoReporter).unwrap_err();
    let chain: Vec<String> = {
        let mut v = vec![err.to_string()];
        let mut src = std::error::Error::source(&err);
        while let Some(s) = src {
            v.push(s.to_string());
            src = s.source();
        }
        v
    };
    assert!(
        chain.iter().any(|m| m.contains("escapes the layer root")),
        "{chain:?}"
    );
    assert!(store.list().unwrap().is_empty());
    let _ = &f;
    assert!(!root.path().join("escape").exists() && !root.paths.root.join("escape").exists());
}
