//! A corpus of malicious layers: nothing may be written or linked outside the layer root.

mod support;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use rcompose::image::unpack::{Limits, UnpackError, unpack_layer};
use support::images::{E, file, gzip, tar_of};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("layer")).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/victim"), b"original").unwrap();
        Sandbox { dir }
    }
    fn layer(&self) -> std::path::PathBuf {
        self.dir.path().join("layer")
    }
    fn unpack(&self, entries: &[E]) -> Result<rcompose::image::unpack::Unpacked, UnpackError> {
        unpack_layer(&tar_of(entries)[..], &self.layer(), &Limits::default())
    }
    /// Everything outside `layer/` is as it was.
    fn assert_outside_untouched(&self) {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["layer", "outside"]);
        let mut out: Vec<String> = std::fs::read_dir(self.dir.path().join("outside"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        assert_eq!(out, vec!["victim"]);
        assert_eq!(
            std::fs::read(self.dir.path().join("outside/victim")).unwrap(),
            b"original"
        );
        assert!(!Path::new("/tmp/rcompose-escape-canary").exists());
    }
}

#[test]
fn absolute_paths_land_inside_the_layer() {
    let s = Sandbox::new();
    s.unpack(&[
        file("/tmp/rcompose-escape-canary", b"x"),
        file("//etc/abs", b"y"),
    ])
    .unwrap();
    assert_eq!(
        std::fs::read(s.layer().join("tmp/rcompose-escape-canary")).unwrap(),
        b"x"
    );
    assert_eq!(std::fs::read(s.layer().join("etc/abs")).unwrap(), b"y");
    s.assert_outside_untouched();
}

#[test]
fn dot_dot_climbing_out_of_the_root_is_refused() {
    let s = Sandbox::new();
    let err = s
        .unpack(&[file("../outside/victim", b"pwned")])
        .unwrap_err();
    assert!(matches!(err, UnpackError::Escape { .. }), "{err}");
    let err = s
        .unpack(&[file("a/../../outside/victim", b"pwned")])
        .unwrap_err();
    assert!(matches!(err, UnpackError::Escape { .. }), "{err}");
    s.assert_outside_untouched();
    // `..` that stays inside is fine.
    s.unpack(&[file("a/b/../c", b"ok")]).unwrap();
    assert_eq!(std::fs::read(s.layer().join("a/c")).unwrap(), b"ok");
}

#[test]
fn writes_through_symlinked_dirs_stay_inside() {
    let s = Sandbox::new();
    let outside = s.dir.path().join("outside");
    // Targets that do not exist inside the root: the write fails, nothing leaks.
    assert!(
        s.unpack(&[
            E::Symlink("abs".into(), outside.display().to_string()),
            file("abs/victim", b"pwned")
        ])
        .is_err()
    );
    s.assert_outside_untouched();
    // Targets that exist inside the root (as if the layer were `/`) receive the write.
    s.unpack(&[
        E::Dir("outside/"),
        E::Dir("tmp/"),
        E::Symlink("rel".into(), "../../../../../../outside".into()),
        E::Symlink("root".into(), "/".into()),
        file("rel/victim", b"pwned"),
        file("root/tmp/rcompose-escape-canary", b"pwned"),
    ])
    .unwrap();
    s.assert_outside_untouched();
    assert_eq!(
        std::fs::read(s.layer().join("outside/victim")).unwrap(),
        b"pwned"
    );
    assert_eq!(
        std::fs::read(s.layer().join("tmp/rcompose-escape-canary")).unwrap(),
        b"pwned"
    );
}

#[test]
fn a_file_over_a_symlink_replaces_the_symlink() {
    let s = Sandbox::new();
    let victim = s.dir.path().join("outside/victim");
    s.unpack(&[
        E::Symlink("link".into(), victim.display().to_string()),
        file("link", b"pwned"),
    ])
    .unwrap();
    s.assert_outside_untouched();
    assert!(
        std::fs::symlink_metadata(s.layer().join("link"))
            .unwrap()
            .is_file()
    );
}

#[test]
fn hardlinks_cannot_reach_outside_files() {
    let s = Sandbox::new();
    let victim = s.dir.path().join("outside/victim");
    // Absolute target: resolved inside the root, where it does not exist.
    let err = s
        .unpack(&[E::Hardlink("h".into(), victim.display().to_string())])
        .unwrap_err();
    assert!(matches!(err, UnpackError::HardlinkMissing { .. }), "{err}");
    let err = s
        .unpack(&[E::Hardlink("h2".into(), "../outside/victim".into())])
        .unwrap_err();
    assert!(matches!(err, UnpackError::HardlinkEscape { .. }), "{err}");
    // Through a symlinked parent.
    let err = s
        .unpack(&[
            E::Symlink("up".into(), "../outside".into()),
            E::Hardlink("h3".into(), "up/victim".into()),
        ])
        .unwrap_err();
    assert!(matches!(err, UnpackError::HardlinkMissing { .. }), "{err}");
    // To a symlink pointing out: links the symlink itself; writing the link is contained.
    s.unpack(&[
        E::Symlink("sl".into(), victim.display().to_string()),
        E::Hardlink("h4".into(), "sl".into()),
        file("h4", b"pwned"),
    ])
    .unwrap();
    s.assert_outside_untouched();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(victim).unwrap().nlink(), 1);
}

#[test]
fn device_nodes_are_not_created() {
    let s = Sandbox::new();
    let u = s
        .unpack(&[
            E::Char("dev/sda".into(), 8, 0),
            E::Char("mem".into(), 1, 1),
            E::Fifo("fifo".into()),
        ])
        .unwrap();
    assert_eq!(u.skipped_devices, 2);
    assert!(!s.layer().join("dev/sda").exists());
    assert!(!s.layer().join("mem").exists());
    assert!(
        std::fs::symlink_metadata(s.layer().join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn tar_bombs_hit_the_limits() {
    let s = Sandbox::new();
    // 64 MiB of zeros gzip to ~64 KiB.
    let tar = tar_of(&[E::File("zeros".into(), vec![0u8; 64 << 20], 0o644)]);
    let gz = gzip(&tar);
    assert!(gz.len() < 1 << 20);
    let limits = Limits {
        max_bytes: 8 << 20,
        max_entries: 1000,
    };
    let err = unpack_layer(&gz[..], &s.layer(), &limits).unwrap_err();
    assert!(matches!(err, UnpackError::TooLarge { .. }), "{err}");
    let many: Vec<E> = (0..50).map(|i| file(&format!("f{i}"), b"")).collect();
    let limits = Limits {
        max_bytes: 1 << 30,
        max_entries: 10,
    };
    let err = unpack_layer(&tar_of(&many)[..], &s.layer(), &limits).unwrap_err();
    assert!(matches!(err, UnpackError::TooManyEntries { .. }), "{err}");
}

#[test]
fn whiteout_tricks_stay_inside() {
    let s = Sandbox::new();
    s.unpack(&[file("../.wh.outside", b"")]).unwrap_err();
    s.unpack(&[
        file(".wh...", b""),
        file("x/.wh..wh..opq", b""),
        file(".wh.victim", b""),
    ])
    .unwrap();
    s.assert_outside_untouched();
    assert!(
        std::fs::symlink_metadata(s.layer().join("victim"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn diff_id_is_the_sha256_of_the_uncompressed_stream() {
    let s = Sandbox::new();
    let tar = tar_of(&[file("a", b"hello")]);
    let u = unpack_layer(&gzip(&tar)[..], &s.layer(), &Limits::default()).unwrap();
    assert_eq!(u.diff_id, rcompose::image::Digest::of(&tar));
    assert_eq!(u.size, tar.len() as u64);
}

#[test]
fn truncated_or_corrupt_compressed_layers_are_errors() {
    use rcompose::image::unpack::unpack_layer_threaded;
    let tar = tar_of(&[file("a", &vec![b'x'; 3 << 20]), file("b", b"y")]);
    let gz = gzip(&tar);
    let zst = support::images::zstd(&tar);
    for blob in [&gz[..gz.len() / 2], &zst[..zst.len() / 2]] {
        let s = Sandbox::new();
        assert!(unpack_layer(blob, &s.layer(), &Limits::default()).is_err());
        let s = Sandbox::new();
        assert!(unpack_layer_threaded(blob, &s.layer(), &Limits::default()).is_err());
    }
    let mut bad = gz.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    let s = Sandbox::new();
    assert!(unpack_layer_threaded(&bad[..], &s.layer(), &Limits::default()).is_err());
    // Intact, both agree on the diff_id.
    let s = Sandbox::new();
    let a = unpack_layer_threaded(&zst[..], &s.layer(), &Limits::default()).unwrap();
    assert_eq!(a.diff_id, rcompose::image::Digest::of(&tar));
}

fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // " " "=" "\n"
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

#[test]
fn layer_xattrs_cannot_forge_overlay_metadata() {
    let s = Sandbox::new();
    let mut b = tar::Builder::new(Vec::new());
    let mut pax = pax_record("SCHILY.xattr.trusted.overlay.opaque", b"y");
    pax.extend(pax_record("SCHILY.xattr.trusted.overlay.redirect", b"/etc"));
    pax.extend(pax_record("SCHILY.xattr.user.note", b"kept"));
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(pax.len() as u64);
    h.set_path("PaxHeaders/d").unwrap();
    h.set_cksum();
    b.append(&h, &pax[..]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_path("d/").unwrap();
    h.set_mode(0o755);
    h.set_size(0);
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
    let tar = b.into_inner().unwrap();
    unpack_layer(&tar[..], &s.layer(), &Limits::default()).unwrap();
    let get = |name: &str| {
        let p = std::ffi::CString::new(s.layer().join("d").as_os_str().as_encoded_bytes()).unwrap();
        let n = std::ffi::CString::new(name).unwrap();
        let mut buf = [0u8; 64];
        let r =
            unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        (r >= 0).then(|| buf[..r as usize].to_vec())
    };
    assert_eq!(get("trusted.overlay.opaque"), None);
    assert_eq!(get("trusted.overlay.redirect"), None);
    assert_eq!(get("user.note"), Some(b"kept".to_vec()));
}
