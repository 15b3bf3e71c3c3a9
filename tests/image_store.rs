//! The store API other modules use: building images from layers (builder, commit), names,
//! resolution, overlay lowerdirs.

mod support;

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rcompose::image::{ImageBuilder, Reference, Store};
use support::images;
use support::registry::TempRoot;

fn ls(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn builder_commits_an_upperdir_as_a_layer_that_overlay_reads_back() {
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let base_tar = tmp.path().join("base.tar");
    std::fs::write(
        &base_tar,
        images::tar_of(&images::busybox_rootfs(images::busybox_binary())),
    )
    .unwrap();
    let mut b = ImageBuilder::new(&store, None).unwrap();
    b.add_layer_tar(&base_tar, "ADD base.tar /").unwrap();
    b.config_mut().config.cmd = Some(vec!["sh".into()]);
    let base = b
        .commit(Some(&Reference::parse("base:1").unwrap()))
        .unwrap();

    // A container's upperdir: a new file, `bin/ls` deleted, `etc` replaced (opaque).
    let upper = tmp.path().join("upper");
    std::fs::create_dir_all(upper.join("app")).unwrap();
    std::fs::write(upper.join("app/run"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::create_dir_all(upper.join("bin")).unwrap();
    nix::sys::stat::mknod(
        &upper.join("bin/ls"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::empty(),
        0,
    )
    .unwrap();
    std::fs::create_dir_all(upper.join("etc")).unwrap();
    std::fs::write(upper.join("etc/only"), b"new\n").unwrap();
    let p = std::ffi::CString::new(upper.join("etc").as_os_str().as_bytes()).unwrap();
    assert_eq!(
        unsafe {
            libc::lsetxattr(
                p.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        },
        0
    );

    let mut b = ImageBuilder::new(&store, Some(&base)).unwrap();
    b.add_layer_dir(&upper, "RUN make app").unwrap();
    b.config_mut().config.entrypoint = Some(vec!["/app/run".into()]);
    b.add_history("ENTRYPOINT [\"/app/run\"]", true);
    let app = b
        .commit(Some(&Reference::parse("app:dev").unwrap()))
        .unwrap();

    assert_eq!(app.layer_dirs().len(), 2);
    assert_eq!(
        app.layer_dirs()[0],
        base.layer_dirs()[0],
        "the base layer is shared, not unpacked twice"
    );
    assert_eq!(app.config.config.cmd, Some(vec!["sh".to_string()]));
    assert_eq!(store.resolve("app:dev").unwrap().unwrap().id, app.id);
    assert_eq!(
        store
            .resolve("docker.io/library/app:dev")
            .unwrap()
            .unwrap()
            .id,
        app.id
    );
    assert_eq!(app.config.history.len(), 3);

    let mnt = images::OverlayMount::new(&app.layer_dirs());
    let bin_has_ls = mnt.path().join("bin/ls").exists();
    let etc = ls(&mnt.path().join("etc"));
    let run = std::fs::read(mnt.path().join("app/run")).ok();
    let sh = mnt.path().join("bin/sh").exists();
    drop(mnt);
    assert!(!bin_has_ls);
    assert_eq!(etc, vec!["only"]);
    assert_eq!(run.as_deref(), Some(&b"#!/bin/sh\necho hi\n"[..]));
    assert!(sh);

    // Untagging the base keeps its layer (the app uses it); removing the app then frees all.
    store.remove("base:1", false, &HashSet::new()).unwrap();
    store.gc().unwrap();
    assert!(app.layer_dirs()[0].is_dir());
    store.remove("app:dev", false, &HashSet::new()).unwrap();
    let gc = store.gc().unwrap();
    assert_eq!(gc.layers, 2);
    assert!(!app.layer_dirs()[0].exists());
}

#[test]
fn tags_move_like_docker_and_old_images_become_dangling() {
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mk = |content: &[u8]| {
        let t = tmp.path().join("l.tar");
        std::fs::write(&t, images::tar_of(&[images::file("f", content)])).unwrap();
        let mut b = ImageBuilder::new(&store, None).unwrap();
        b.add_layer_tar(&t, "x").unwrap();
        b.commit_exact(None).unwrap()
    };
    let one = mk(b"1");
    let two = mk(b"2");
    let r = Reference::parse("thing:latest").unwrap();
    store.tag(&one.manifest_descriptor, &r).unwrap();
    store.tag(&two.manifest_descriptor, &r).unwrap();
    let list = store.list().unwrap();
    assert_eq!(list.len(), 2);
    let old = list.iter().find(|i| i.id == one.id).unwrap();
    assert!(old.is_dangling());
    assert_eq!(store.get("thing").unwrap().id, two.id);
    // Prefix resolution, and ambiguity is an error.
    assert_eq!(store.get(&two.id.hex()[..10]).unwrap().id, two.id);
    assert!(store.get("no-such-image").is_err());
    // rm by ID of an image with tags in two repositories needs force.
    store
        .tag(
            &two.manifest_descriptor,
            &Reference::parse("other:1").unwrap(),
        )
        .unwrap();
    let err = store
        .remove(two.id.as_str(), false, &HashSet::new())
        .unwrap_err();
    assert!(err.to_string().contains("must be forced"), "{err}");
    // In use: refused without force, untagged only with it.
    let in_use: HashSet<_> = [two.id.clone()].into();
    assert!(
        store.remove("thing", false, &in_use).is_ok(),
        "one of several tags just untags"
    );
    let err = store.remove("other:1", false, &in_use).unwrap_err();
    assert!(err.to_string().contains("being used"), "{err}");
    store.remove("other:1", true, &in_use).unwrap();
    assert!(
        store.list().unwrap().iter().any(|i| i.id == two.id),
        "kept, dangling, for its container"
    );
    let (removed, _) = store.prune(false, &in_use).unwrap();
    assert!(removed.contains(&rcompose::image::Removed::Deleted(one.id.clone())));
    assert!(!removed.contains(&rcompose::image::Removed::Deleted(two.id.clone())));
}

#[test]
fn ensure_image_repairs_a_missing_layer_dir_from_its_blob() {
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("l.tar");
    std::fs::write(
        &t,
        images::tar_of(&images::busybox_rootfs(images::busybox_binary())),
    )
    .unwrap();
    let mut b = ImageBuilder::new(&store, None).unwrap();
    b.add_layer_tar(&t, "x").unwrap();
    let img = b
        .commit(Some(&Reference::parse("repair:1").unwrap()))
        .unwrap();
    std::fs::remove_dir_all(&img.layer_dirs()[0]).unwrap();
    let again = rcompose::image::ensure_image(
        &store,
        &Reference::parse("repair:1").unwrap(),
        rcompose::image::PullPolicy::Never,
        &rcompose::image::Platform::host(),
        &rcompose::image::NoReporter,
    )
    .unwrap();
    assert!(again.layer_dirs()[0].join("bin/busybox").is_file());
}

#[test]
fn a_damaged_index_entry_is_skipped_and_gc_repairs_the_index() {
    let root = TempRoot::new();
    let store = Store::open(&root.paths).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mk = |content: &[u8], tag: &str| {
        let t = tmp.path().join("l.tar");
        std::fs::write(&t, images::tar_of(&[images::file("f", content)])).unwrap();
        let mut b = ImageBuilder::new(&store, None).unwrap();
        b.add_layer_tar(&t, "x").unwrap();
        b.commit(Some(&Reference::parse(tag).unwrap())).unwrap()
    };
    let good = mk(b"good", "good:1");
    let bad = mk(b"bad", "bad:1");
    // As if a crash lost the config blob of `bad`.
    std::fs::remove_file(store.blob_path(&bad.id)).unwrap();
    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, good.id);
    store.gc().unwrap();
    let index = std::fs::read_to_string(root.paths.images().join("index.json")).unwrap();
    assert!(!index.contains(bad.manifest_digest.as_str()), "{index}");
    assert!(!bad.layer_dirs()[0].exists());
    assert!(good.layer_dirs()[0].exists());
}
