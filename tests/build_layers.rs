//! File layers without a container: COPY/ADD into a merged overlay view, and the overlay upper
//! directory converted to an OCI layer tar with whiteouts. Needs root (overlay mounts); every
//! mount is undone by a guard, pass or fail.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcompose::image::build::context::{BuildContext, ignore_patterns};
use rcompose::image::build::copy::{self, ContextFs, DirFs};
use rcompose::image::build::layer::{OverlayMount, dir_to_tar};
use rcompose::image::build::plan::{CopyFrom, CopyOp};

fn op(sources: &[&str], dest: &str) -> CopyOp {
    CopyOp {
        is_add: false,
        from: CopyFrom::Context,
        sources: sources.iter().map(|s| s.to_string()).collect(),
        contents: Vec::new(),
        dest: dest.to_string(),
        chown: String::new(),
        chmod: None,
        link: false,
        parents: false,
        excludes: Vec::new(),
        checksum: String::new(),
        keep_git_dir: false,
        unpack: None,
    }
}

fn write(p: &Path, data: &str, mode: u32) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Tar entries as `name type mode uid:gid` lines.
fn tar_listing(data: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(data);
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let t = match h.entry_type() {
                tar::EntryType::Directory => "dir",
                tar::EntryType::Symlink => "link",
                tar::EntryType::Link => "hardlink",
                _ => "file",
            };
            format!(
                "{} {t} {:o} {}:{}",
                e.path().unwrap().display(),
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap()
            )
        })
        .collect()
}

struct Overlay {
    _tmp: tempfile::TempDir,
    lower: PathBuf,
    upper: PathBuf,
    work: PathBuf,
    merged: PathBuf,
}

fn overlay_dirs() -> Overlay {
    let tmp = tempfile::tempdir().unwrap();
    let d = |n: &str| {
        let p = tmp.path().join(n);
        std::fs::create_dir(&p).unwrap();
        p
    };
    Overlay {
        lower: d("lower"),
        upper: d("upper"),
        work: d("work"),
        merged: d("merged"),
        _tmp: tmp,
    }
}

#[test]
fn overlay_upper_becomes_layer_tar_with_whiteouts() {
    let o = overlay_dirs();
    write(&o.lower.join("gone.txt"), "x", 0o644);
    write(&o.lower.join("keep.txt"), "k", 0o644);
    write(&o.lower.join("dir/old.txt"), "o", 0o644);
    write(&o.lower.join("dir2/a.txt"), "a", 0o644);
    let m =
        OverlayMount::mount(std::slice::from_ref(&o.lower), &o.upper, &o.work, &o.merged).unwrap();
    std::fs::remove_file(m.path().join("gone.txt")).unwrap();
    std::fs::remove_dir_all(m.path().join("dir")).unwrap();
    std::fs::create_dir(m.path().join("dir")).unwrap();
    write(&m.path().join("dir/new.txt"), "n", 0o600);
    std::fs::remove_file(m.path().join("dir2/a.txt")).unwrap();
    write(&m.path().join("added.sh"), "#!/bin/sh\n", 0o755);
    std::fs::hard_link(m.path().join("added.sh"), m.path().join("hard.sh")).unwrap();
    std::os::unix::fs::symlink("keep.txt", m.path().join("ln")).unwrap();
    m.unmount().unwrap();

    let (buf, diff_id, size) = dir_to_tar(&o.upper, Vec::new()).unwrap();
    assert_eq!(size as usize, buf.len());
    assert!(diff_id.starts_with("sha256:"));
    assert_eq!(
        tar_listing(&buf),
        vec![
            "added.sh file 755 0:0",
            "dir/ dir 755 0:0",
            "dir/.wh..wh..opq file 755 0:0",
            "dir/new.txt file 600 0:0",
            "dir2/ dir 755 0:0",
            "dir2/.wh.a.txt file 0 0:0",
            ".wh.gone.txt file 0 0:0",
            "hard.sh hardlink 755 0:0",
            "ln link 777 0:0",
        ]
    );
    // Nothing stays mounted.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(o.merged.to_str().unwrap()));
}

#[test]
fn copy_from_context_honours_dockerignore_chown_chmod_and_dest_rules() {
    let ctx = tempfile::tempdir().unwrap();
    write(&ctx.path().join("app/main.sh"), "echo main\n", 0o755);
    write(&ctx.path().join("app/notes.md"), "notes\n", 0o644);
    write(&ctx.path().join("app/secret.key"), "k\n", 0o600);
    write(&ctx.path().join("app/keep/secret.key"), "kept\n", 0o600);
    write(&ctx.path().join("one.txt"), "1\n", 0o640);
    write(
        &ctx.path().join(".dockerignore"),
        "**/*.key\n!app/keep/*.key\n*.md\napp/*.md\n",
        0o644,
    );
    std::os::unix::fs::symlink("/etc/passwd", ctx.path().join("escape")).unwrap();
    let patterns = ignore_patterns(ctx.path(), None).unwrap();
    let bc = BuildContext::load(ctx.path(), &patterns).unwrap();
    let paths: Vec<&str> = bc.paths().collect();
    assert_eq!(
        paths,
        vec![
            "",
            ".dockerignore",
            "app",
            "app/keep",
            "app/keep/secret.key",
            "app/main.sh",
            "escape",
            "one.txt"
        ]
    );

    let root = tempfile::tempdir().unwrap();
    write(
        &root.path().join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
        0o644,
    );
    write(
        &root.path().join("etc/group"),
        "root:x:0:\nstaff:x:50:\n",
        0o644,
    );
    std::os::unix::fs::symlink("/opt", root.path().join("linkdir")).unwrap();
    std::fs::create_dir(root.path().join("opt")).unwrap();

    let src = ContextFs(&bc);
    // Directory source: its contents land in dest, created parents are 0755.
    let mut o = op(&["/app"], "/srv/app/");
    o.chown = "app:staff".into();
    copy::apply(&o, &src, root.path(), 1_700_000_000).unwrap();
    let main = std::fs::metadata(root.path().join("srv/app/main.sh")).unwrap();
    assert_eq!(
        (main.uid(), main.gid(), main.mode() & 0o7777),
        (1000, 50, 0o755)
    );
    let src_mtime = std::fs::metadata(ctx.path().join("app/main.sh"))
        .unwrap()
        .mtime();
    assert_eq!(main.mtime(), src_mtime, "COPY keeps modification times");
    // The directory created for dest gets the source directory's metadata, owned by --chown.
    let app = std::fs::metadata(root.path().join("srv/app")).unwrap();
    assert_eq!((app.uid(), app.gid()), (1000, 50));
    assert!(!root.path().join("srv/app/notes.md").exists());
    assert!(!root.path().join("srv/app/secret.key").exists());
    assert_eq!(
        std::fs::read_to_string(root.path().join("srv/app/keep/secret.key")).unwrap(),
        "kept\n"
    );
    // A file to a path without a slash is renamed; --chmod applies; owner defaults to root.
    let mut o = op(&["/one.txt"], "/linkdir/renamed.txt");
    o.chmod = Some(0o600);
    copy::apply(&o, &src, root.path(), 0).unwrap();
    let f = std::fs::metadata(root.path().join("opt/renamed.txt")).unwrap();
    assert_eq!((f.uid(), f.mode() & 0o7777), (0, 0o600));
    // Wildcards that match nothing are fine; a missing plain source is an error.
    copy::apply(&op(&["/*.none"], "/x/"), &src, root.path(), 0).unwrap();
    let err = copy::apply(&op(&["/missing"], "/x/"), &src, root.path(), 0).unwrap_err();
    assert_eq!(err.to_string(), "\"/missing\": not found");
    // A symlink pointing outside the context resolves inside it (and is not found there).
    assert!(copy::apply(&op(&["/escape"], "/e"), &src, root.path(), 0).is_err());
    // User alone: the gid is the uid, as Docker.
    assert_eq!(
        copy::resolve_chown(root.path(), "app").unwrap(),
        Some((1000, 1000))
    );
    assert!(copy::resolve_chown(root.path(), "nobody").is_err());
}

#[test]
fn add_unpacks_local_archives_in_every_compression() {
    let ctx = tempfile::tempdir().unwrap();
    let mut tarball = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o640);
    h.set_uid(7);
    h.set_gid(8);
    h.set_mtime(1_600_000_000);
    tarball
        .append_data(&mut h, "pkg/hello.txt", &b"hello"[..])
        .unwrap();
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    tarball
        .append_link(&mut l, "pkg/up", "../../../../etc")
        .unwrap();
    let raw = tarball.into_inner().unwrap();
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut e, &raw).unwrap();
        e.finish().unwrap()
    };
    let zst = zstd::encode_all(&raw[..], 3).unwrap();
    let bz = {
        let mut out = Vec::new();
        std::io::copy(
            &mut bzip2::read::BzEncoder::new(&raw[..], bzip2::Compression::default()),
            &mut out,
        )
        .unwrap();
        out
    };
    let xz = {
        let mut out = Vec::new();
        lzma_rs::xz_compress(&mut &raw[..], &mut out).unwrap();
        out
    };
    let files = BTreeMap::from([
        ("a.tar", raw),
        ("b.tar.gz", gz),
        ("c.tar.zst", zst),
        ("d.tar.bz2", bz),
        ("e.tar.xz", xz),
    ]);
    for (name, data) in &files {
        std::fs::write(ctx.path().join(name), data).unwrap();
    }
    std::fs::write(ctx.path().join("plain.gz.txt"), "not an archive").unwrap();
    let bc = BuildContext::load(ctx.path(), &[]).unwrap();
    for name in files.keys() {
        let root = tempfile::tempdir().unwrap();
        let mut o = op(&[&format!("/{name}")], "/dest");
        o.is_add = true;
        copy::apply(&o, &ContextFs(&bc), root.path(), 0).unwrap();
        let f = root.path().join("dest/pkg/hello.txt");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "hello", "{name}");
        let m = std::fs::metadata(&f).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o777, m.mtime()),
            (7, 8, 0o640, 1_600_000_000),
            "{name}"
        );
        assert_eq!(
            std::fs::read_link(root.path().join("dest/pkg/up")).unwrap(),
            PathBuf::from("../../../../etc")
        );
        // COPY does not unpack.
        let root2 = tempfile::tempdir().unwrap();
        copy::apply(
            &op(&[&format!("/{name}")], "/dest/"),
            &ContextFs(&bc),
            root2.path(),
            0,
        )
        .unwrap();
        assert!(root2.path().join("dest").join(name).is_file());
    }
    let root = tempfile::tempdir().unwrap();
    let mut o = op(&["/plain.gz.txt"], "/d/");
    o.is_add = true;
    copy::apply(&o, &ContextFs(&bc), root.path(), 0).unwrap();
    assert!(root.path().join("d/plain.gz.txt").is_file());
}

#[test]
fn add_of_an_unreachable_url_fails_clearly() {
    let root = tempfile::tempdir().unwrap();
    let bc_dir = tempfile::tempdir().unwrap();
    let bc = BuildContext::load(bc_dir.path(), &[]).unwrap();
    let mut o = op(&["http://127.0.0.1:9/file.txt"], "/d/");
    o.is_add = true;
    let err = copy::apply(&o, &ContextFs(&bc), root.path(), 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("failed to fetch `http://127.0.0.1:9/file.txt`: "),
        "{err}"
    );
}

#[test]
fn add_downloads_a_url_served_on_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = std::io::Read::read(&mut s, &mut buf);
        let body = "remote data";
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        std::io::Write::write_all(&mut s, resp.as_bytes()).unwrap();
    });
    let root = tempfile::tempdir().unwrap();
    let bc_dir = tempfile::tempdir().unwrap();
    let bc = BuildContext::load(bc_dir.path(), &[]).unwrap();
    let mut o = op(
        &[&format!("http://127.0.0.1:{port}/dl/data.txt?x=1")],
        "/d/",
    );
    o.is_add = true;
    copy::apply(&o, &ContextFs(&bc), root.path(), 0).unwrap();
    server.join().unwrap();
    let p = root.path().join("d/data.txt");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "remote data");
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!((m.mode() & 0o777, m.mtime()), (0o600, 1_445_412_480));
}

#[test]
fn add_url_checksum_mismatch_is_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut s, &mut buf);
            std::io::Write::write_all(
                &mut s,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            )
            .unwrap();
        }
    });
    let bc_dir = tempfile::tempdir().unwrap();
    let bc = BuildContext::load(bc_dir.path(), &[]).unwrap();
    let url = format!("http://127.0.0.1:{port}/f");
    // sha256("hi")
    let good = "sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";
    for (checksum, ok) in [
        (good, true),
        (
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            false,
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        let mut o = op(&[&url], "/d/");
        o.is_add = true;
        o.checksum = checksum.to_string();
        let r = copy::apply(&o, &ContextFs(&bc), root.path(), 0);
        assert_eq!(r.is_ok(), ok, "{r:?}");
        assert_eq!(root.path().join("d/f").exists(), ok);
    }
    server.join().unwrap();
}

#[test]
fn copy_into_overlay_follows_image_symlinks_and_layer_holds_only_changes() {
    let o = overlay_dirs();
    write(
        &o.lower.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\n",
        0o644,
    );
    std::fs::create_dir_all(o.lower.join("run")).unwrap();
    std::fs::create_dir_all(o.lower.join("var")).unwrap();
    std::os::unix::fs::symlink("/run", o.lower.join("var/run")).unwrap();
    let stage = tempfile::tempdir().unwrap();
    write(&stage.path().join("out/bin/tool"), "#!/bin/sh\n", 0o755);
    std::os::unix::fs::lchown(stage.path().join("out/bin/tool"), Some(42), Some(43)).unwrap();
    let m =
        OverlayMount::mount(std::slice::from_ref(&o.lower), &o.upper, &o.work, &o.merged).unwrap();
    let mut c = op(&["/out/bin"], "/var/run/tools/");
    c.from = CopyFrom::Stage(0);
    copy::apply(&c, &DirFs(stage.path().to_path_buf()), m.path(), 0).unwrap();
    m.unmount().unwrap();
    let (buf, _, _) = dir_to_tar(&o.upper, Vec::new()).unwrap();
    // Written through the image's /var/run -> /run symlink; ownership from the stage kept.
    assert_eq!(
        tar_listing(&buf),
        vec![
            "run/ dir 755 0:0",
            "run/tools/ dir 755 0:0",
            "run/tools/tool file 755 42:43"
        ]
    );
}

#[test]
fn copy_parents_and_exclude() {
    let ctx = tempfile::tempdir().unwrap();
    write(&ctx.path().join("pkgs/a/go.mod"), "a", 0o644);
    write(&ctx.path().join("pkgs/b/go.mod"), "b", 0o644);
    write(&ctx.path().join("pkgs/b/main.go"), "m", 0o644);
    write(&ctx.path().join("src/x/keep.txt"), "k", 0o644);
    write(&ctx.path().join("src/x/skip.tmp"), "s", 0o644);
    let bc = BuildContext::load(ctx.path(), &[]).unwrap();
    let root = tempfile::tempdir().unwrap();
    // --parents keeps the matched path (below the `/./` pivot, if any).
    let mut o = op(&["/pkgs/*/go.mod"], "/app/");
    o.parents = true;
    copy::apply(&o, &ContextFs(&bc), root.path(), 0).unwrap();
    assert!(root.path().join("app/pkgs/a/go.mod").is_file());
    assert!(root.path().join("app/pkgs/b/go.mod").is_file());
    assert!(!root.path().join("app/pkgs/b/main.go").exists());
    let mut o = op(&["/pkgs/./b/go.mod"], "/pivot/");
    o.parents = true;
    copy::apply(&o, &ContextFs(&bc), root.path(), 0).unwrap();
    assert!(root.path().join("pivot/b/go.mod").is_file());
    // --exclude patterns apply below the copied directory.
    let mut o = op(&["/src"], "/s/");
    o.excludes = vec!["**/*.tmp".into()];
    copy::apply(&o, &ContextFs(&bc), root.path(), 0).unwrap();
    assert!(root.path().join("s/x/keep.txt").is_file());
    assert!(!root.path().join("s/x/skip.tmp").exists());
}
