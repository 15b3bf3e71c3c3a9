//! Volumes on the real kernel (root): named and anonymous volumes, copy-up, binds, tmpfs,
//! driver_opts mounts, in-use rules; mounts are checked inside real runc containers. Each
//! test uses a fresh state root and leaves no mount behind.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcompose::paths::Paths;
use rcompose::volume::{
    BindOptions, LABEL_ANONYMOUS, MountContext, MountType, ServiceMount, TmpfsOptions, VolumeError,
    VolumeFilter, VolumeOptions, VolumeSpec, Volumes,
};
use support::mounts as runc;
use support::net::{mounts_under, random_hex};

struct Fixture {
    dir: tempfile::TempDir,
    vols: Volumes,
    paths: Paths,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("rcompose-vol-")
            .tempdir()
            .unwrap();
        let paths = Paths::new(dir.path().join("root"), dir.path().join("run"));
        Self {
            vols: Volumes::new(paths.clone()),
            paths,
            dir,
        }
    }

    /// A container id whose state directory exists (what makes a volume "in use").
    fn container(&self) -> String {
        let id = random_hex(64);
        std::fs::create_dir_all(self.paths.containers().join(&id)).unwrap();
        id
    }

    fn remove_container(&self, id: &str, remove_anonymous: bool) -> Vec<String> {
        std::fs::remove_dir_all(self.paths.containers().join(id)).unwrap();
        self.vols.release(id, remove_anonymous).unwrap()
    }

    fn ctx<'a>(&self, id: &'a str, rootfs: Option<&'a Path>) -> MountContext<'a> {
        MountContext {
            container_id: id,
            image_rootfs: rootfs,
            volumes: None,
            anonymous_labels: BTreeMap::new(),
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Unmount anything a failed test left (driver_opts volumes), then check.
        for m in mounts_under(self.dir.path()).iter().rev() {
            let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn volume(source: Option<&str>, target: &str) -> ServiceMount {
    ServiceMount {
        kind: MountType::Volume,
        source: source.map(str::to_string),
        target: target.into(),
        read_only: false,
        bind: BindOptions::default(),
        volume: VolumeOptions::default(),
        tmpfs: TmpfsOptions::default(),
    }
}

fn bind(source: &Path, target: &str, read_only: bool, create: bool) -> ServiceMount {
    ServiceMount {
        kind: MountType::Bind,
        source: Some(source.to_str().unwrap().to_string()),
        read_only,
        bind: BindOptions {
            create_host_path: create,
            ..Default::default()
        },
        ..volume(None, target)
    }
}

fn spec(name: &str, opts: &[(&str, &str)]) -> VolumeSpec {
    VolumeSpec {
        name: name.into(),
        driver: None,
        driver_opts: opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        labels: [("com.docker.compose.project".to_string(), "app".to_string())].into(),
    }
}

#[test]
fn named_volumes_keep_data_across_recreation_and_vanish_on_removal() {
    let f = Fixture::new();
    let v = f.vols.create(&spec("app_data", &[])).unwrap();
    assert_eq!(v.mountpoint, f.paths.volumes().join("app_data/_data"));
    assert!(v.created_at.ends_with('Z'));

    let first = f.container();
    let mounts = f
        .vols
        .prepare_mounts(&[volume(Some("app_data"), "/data")], &f.ctx(&first, None))
        .unwrap();
    assert_eq!(mounts[0].source, v.mountpoint);
    let out = runc::run(&mounts, "echo kept > /data/file && cat /data/file");
    assert!(out.status.success(), "{}", runc::text(&out));
    f.remove_container(&first, true);

    // The recreated container sees the data (named volumes survive `rm -v`).
    let second = f.container();
    let mounts = f
        .vols
        .prepare_mounts(&[volume(Some("app_data"), "/data")], &f.ctx(&second, None))
        .unwrap();
    let out = runc::run(&mounts, "cat /data/file");
    assert_eq!(runc::text(&out).trim(), "kept");

    let err = f.vols.remove("app_data").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("remove app_data: volume is in use - [{second}]")
    );
    f.remove_container(&second, true);
    f.vols.remove("app_data").unwrap();
    assert!(!f.paths.volumes().join("app_data").exists());
    assert!(matches!(
        f.vols.get("app_data"),
        Err(VolumeError::NotFound(_))
    ));
    assert_eq!(
        f.vols.get("app_data").unwrap_err().to_string(),
        "get app_data: no such volume"
    );
}

#[test]
fn copy_up_fills_an_empty_volume_from_the_image_once() {
    let f = Fixture::new();
    let rootfs = f.dir.path().join("image");
    std::fs::create_dir_all(rootfs.join("var/lib/app/sub")).unwrap();
    std::fs::write(rootfs.join("var/lib/app/seed.txt"), "from the image").unwrap();
    std::fs::write(rootfs.join("var/lib/app/sub/deep"), "deep").unwrap();
    std::os::unix::fs::chown(rootfs.join("var/lib/app"), Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(
        rootfs.join("var/lib/app"),
        std::fs::Permissions::from_mode(0o705),
    )
    .unwrap();
    // The mount point is reached through an absolute symlink inside the image.
    std::os::unix::fs::symlink("/var/lib/app", rootfs.join("data")).unwrap();

    let c = f.container();
    let mounts = f
        .vols
        .prepare_mounts(
            &[volume(Some("app_seeded"), "/data")],
            &f.ctx(&c, Some(&rootfs)),
        )
        .unwrap();
    let data = f.vols.data_dir("app_seeded");
    assert_eq!(
        std::fs::read_to_string(data.join("seed.txt")).unwrap(),
        "from the image"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("sub/deep")).unwrap(),
        "deep"
    );
    let meta = std::fs::metadata(&data).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (1000, 1000, 0o705)
    );
    let out = runc::run(&mounts, "cat /data/seed.txt");
    assert_eq!(runc::text(&out).trim(), "from the image");

    // Not empty any more: no second copy over the container's changes.
    std::fs::write(data.join("seed.txt"), "changed").unwrap();
    let c2 = f.container();
    f.vols
        .prepare_mounts(
            &[volume(Some("app_seeded"), "/data")],
            &f.ctx(&c2, Some(&rootfs)),
        )
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(data.join("seed.txt")).unwrap(),
        "changed"
    );

    // `nocopy` leaves a new volume empty.
    let mut m = volume(Some("app_nocopy"), "/data");
    m.volume.nocopy = true;
    f.vols
        .prepare_mounts(&[m], &f.ctx(&c2, Some(&rootfs)))
        .unwrap();
    assert!(rcompose::volume::fsutil::is_empty_dir(&f.vols.data_dir("app_nocopy")).unwrap());
}

#[test]
fn binds_are_read_only_when_asked_and_short_syntax_creates_the_host_dir() {
    let f = Fixture::new();
    let c = f.container();
    let host = f.dir.path().join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("config"), "cfg").unwrap();
    let created = f.dir.path().join("made/by/short/syntax");
    let mounts = f
        .vols
        .prepare_mounts(
            &[
                bind(&host, "/etc/app", true, false),
                bind(&created, "/scratch", false, true),
            ],
            &f.ctx(&c, None),
        )
        .unwrap();
    assert!(created.is_dir());
    let ro = mounts.iter().find(|m| m.destination == "/etc/app").unwrap();
    assert_eq!(ro.options, ["rbind", "ro", "rprivate"]);
    let out = runc::run(
        &mounts,
        "cat /etc/app/config; touch /etc/app/new 2>&1; echo written > /scratch/out",
    );
    let text = runc::text(&out);
    assert!(text.contains("cfg"), "{text}");
    assert!(text.contains("Read-only file system"), "{text}");
    assert!(!host.join("new").exists());
    assert_eq!(
        std::fs::read_to_string(created.join("out")).unwrap(),
        "written\n"
    );

    // Long syntax without create_host_path: Docker's error, nothing created.
    let missing = f.dir.path().join("missing");
    let err = f
        .vols
        .prepare_mounts(&[bind(&missing, "/x", false, false)], &f.ctx(&c, None))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            missing.display()
        )
    );
    assert!(!missing.exists());
}

#[test]
fn tmpfs_mounts_have_their_size_and_mode() {
    let f = Fixture::new();
    let c = f.container();
    let m = ServiceMount {
        kind: MountType::Tmpfs,
        tmpfs: TmpfsOptions {
            size: Some(4 << 20),
            mode: Some(0o1770),
        },
        ..volume(None, "/cache")
    };
    let mounts = f.vols.prepare_mounts(&[m], &f.ctx(&c, None)).unwrap();
    let out = runc::run(&mounts, "stat -c %a /cache; df -k /cache | tail -1");
    let text = runc::text(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("1770"), "{text}");
    let size_kb: u64 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert_eq!(size_kb, 4096, "{text}");
}

#[test]
fn anonymous_volumes_are_labelled_and_go_with_their_container() {
    let f = Fixture::new();
    let c = f.container();
    let mut ctx = f.ctx(&c, None);
    ctx.anonymous_labels = [("com.docker.compose.project".into(), "app".into())].into();
    let mounts = f
        .vols
        .prepare_mounts(&[volume(None, "/anon")], &ctx)
        .unwrap();
    let name = mounts[0].volume.clone().unwrap();
    assert!(mounts[0].anonymous);
    assert_eq!(name.len(), 64);
    assert!(name.chars().all(|c| c.is_ascii_hexdigit()));
    let v = f.vols.get(&name).unwrap();
    assert!(v.labels.contains_key(LABEL_ANONYMOUS));
    assert_eq!(v.labels["com.docker.compose.project"], "app");
    assert_eq!(f.vols.project_volumes("app").unwrap().len(), 1);

    // A named volume used by the same container stays.
    let named_user = f.container();
    f.vols
        .prepare_mounts(
            &[volume(Some("app_keep"), "/keep")],
            &f.ctx(&named_user, None),
        )
        .unwrap();
    let removed = f.remove_container(&c, true);
    assert_eq!(removed, vec![name.clone()]);
    assert!(f.vols.find(&name).unwrap().is_none());
    f.remove_container(&named_user, true);
    assert!(f.vols.find("app_keep").unwrap().is_some());
}

#[test]
fn prune_removes_unused_anonymous_volumes_unless_all_is_asked() {
    let f = Fixture::new();
    let unused_anon = f.vols.create_anonymous(&BTreeMap::new()).unwrap();
    let used_anon = f.vols.create_anonymous(&BTreeMap::new()).unwrap();
    let c = f.container();
    f.vols.acquire(&used_anon.name, &c).unwrap();
    f.vols.create(&spec("app_named", &[])).unwrap();
    std::fs::write(
        f.vols.data_dir(&unused_anon.name).join("blob"),
        vec![0u8; 3000],
    )
    .unwrap();

    let report = f.vols.prune(&VolumeFilter::default()).unwrap();
    assert_eq!(report.removed, vec![unused_anon.name.clone()]);
    assert_eq!(report.reclaimed_bytes, 3000);
    assert!(f.vols.find("app_named").unwrap().is_some());

    let mut all = VolumeFilter {
        all: true,
        ..Default::default()
    };
    all.add("label=com.docker.compose.project=other").unwrap();
    assert!(f.vols.prune(&all).unwrap().removed.is_empty());
    let all = VolumeFilter {
        all: true,
        ..Default::default()
    };
    let report = f.vols.prune(&all).unwrap();
    assert_eq!(report.removed, vec!["app_named".to_string()]);
    assert!(f.vols.find(&used_anon.name).unwrap().is_some(), "in use");
}

#[test]
fn driver_opts_mount_on_first_use_and_unmount_when_the_last_user_goes() {
    let f = Fixture::new();
    f.vols
        .create(&spec(
            "app_tmp",
            &[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=2m,mode=0750"),
            ],
        ))
        .unwrap();
    let data = f.vols.data_dir("app_tmp");
    assert!(!rcompose::volume::fsutil::is_mountpoint(&data));
    let a = f.container();
    let b = f.container();
    f.vols.acquire("app_tmp", &a).unwrap();
    f.vols.acquire("app_tmp", &b).unwrap();
    assert!(rcompose::volume::fsutil::is_mountpoint(&data));
    assert_eq!(mounts_under(&data).len(), 1, "mounted once");
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o777, 0o750);
    f.remove_container(&a, false);
    assert!(
        rcompose::volume::fsutil::is_mountpoint(&data),
        "b still uses it"
    );
    f.remove_container(&b, false);
    assert!(!rcompose::volume::fsutil::is_mountpoint(&data));

    // o=bind: a host directory as a volume; removing the volume never deletes its content.
    let outside = f.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious"), "keep me").unwrap();
    f.vols
        .create(&spec(
            "app_bound",
            &[
                ("type", "none"),
                ("device", outside.to_str().unwrap()),
                ("o", "bind"),
            ],
        ))
        .unwrap();
    let c = f.container();
    let mounts = f
        .vols
        .prepare_mounts(&[volume(Some("app_bound"), "/b")], &f.ctx(&c, None))
        .unwrap();
    let out = runc::run(&mounts, "cat /b/precious");
    assert_eq!(runc::text(&out).trim(), "keep me");
    f.remove_container(&c, true);
    f.vols.remove("app_bound").unwrap();
    assert_eq!(
        std::fs::read_to_string(outside.join("precious")).unwrap(),
        "keep me"
    );
    assert!(mounts_under(f.dir.path()).is_empty());

    let err = f
        .vols
        .create(&spec("app_bad", &[("type", "tmpfs")]))
        .unwrap_err();
    assert!(err.to_string().contains("missing required option"), "{err}");
}

#[test]
fn subpath_mounts_a_directory_inside_the_volume_and_refuses_links() {
    let f = Fixture::new();
    f.vols.create(&spec("app_sub", &[])).unwrap();
    let data = f.vols.data_dir("app_sub");
    std::fs::create_dir_all(data.join("site/html")).unwrap();
    std::fs::write(data.join("site/html/index.html"), "sub").unwrap();
    std::os::unix::fs::symlink("/etc", data.join("escape")).unwrap();
    let c = f.container();
    let mut m = volume(Some("app_sub"), "/usr/share/html");
    m.volume.subpath = Some("site/html".into());
    let mounts = f
        .vols
        .prepare_mounts(&[m.clone()], &f.ctx(&c, None))
        .unwrap();
    assert_eq!(mounts[0].source, data.join("site/html"));
    let out = runc::run(&mounts, "cat /usr/share/html/index.html");
    assert_eq!(runc::text(&out).trim(), "sub");
    for bad in ["escape", "../app_sub", "missing/dir", "/abs"] {
        m.volume.subpath = Some(bad.into());
        let err = f.vols.prepare_mounts(&[m.clone()], &f.ctx(&c, None));
        assert!(err.is_err(), "subpath {bad} accepted");
    }
}

#[test]
fn volumes_from_shares_the_mounts_read_only_when_asked() {
    let f = Fixture::new();
    let src = f.container();
    let host = f.dir.path().join("shared");
    let mounts = f
        .vols
        .prepare_mounts(
            &[
                volume(Some("app_shared"), "/shared"),
                bind(&host, "/host", false, true),
                ServiceMount {
                    kind: MountType::Tmpfs,
                    ..volume(None, "/tmp/private")
                },
            ],
            &f.ctx(&src, None),
        )
        .unwrap();
    let reader = f.container();
    let from = f.vols.volumes_from(&reader, &mounts, Some(true)).unwrap();
    assert_eq!(from.len(), 2, "tmpfs is not shared");
    assert!(from.iter().all(|m| m.options.contains(&"ro".to_string())));
    assert_eq!(f.vols.users("app_shared").unwrap().len(), 2);
    let out = runc::run(&from, "touch /shared/x 2>&1; echo done");
    assert!(runc::text(&out).contains("Read-only file system"));
    let writer = f.container();
    let rw = f.vols.volumes_from(&writer, &mounts, None).unwrap();
    let out = runc::run(&rw, "echo hi > /shared/x && cat /shared/x");
    assert_eq!(runc::text(&out).trim(), "hi");
    let _: PathBuf = host;
}
