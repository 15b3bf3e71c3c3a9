//! Layer tars from directories: an overlay upperdir (a container's changes, a build step's
//! `RUN`) becomes an OCI layer, with overlay's deletions turned back into OCI whiteouts
//! (0/0 character device → `.wh.<name>`, `trusted.overlay.opaque=y` → `.wh..wh..opq`).

use std::ffi::CString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use fs_err as fs;

/// Write `dir` (an overlay upperdir, or any directory) as a layer tar to `out`, entries in
/// sorted order with their numeric owner, mode, mtime and `user.*`/`security.capability`
/// xattrs. Hardlinks inside `dir` are kept as hardlinks.
pub fn tar_upperdir(dir: &Path, out: impl Write) -> io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    let mut links: std::collections::HashMap<(u64, u64), String> = std::collections::HashMap::new();
    walk(dir, "", &mut b, &mut links)?;
    b.into_inner()?.flush()
}

fn header(meta: &std::fs::Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(meta.uid() as u64);
    h.set_gid(meta.gid() as u64);
    h.set_mtime(meta.mtime().max(0) as u64);
    h
}

fn walk<W: Write>(
    dir: &Path,
    rel: &str,
    b: &mut tar::Builder<W>,
    links: &mut std::collections::HashMap<(u64, u64), String>,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let ft = meta.file_type();
        let entry = format!("{rel}{name}");
        if ft.is_char_device() && meta.rdev() == 0 {
            // Overlay whiteout → OCI whiteout.
            let mut h = header(&meta, tar::EntryType::Regular, 0);
            h.set_mode(0o600);
            b.append_data(&mut h, format!("{rel}.wh.{name}"), io::empty())?;
        } else if ft.is_dir() {
            let mut h = header(&meta, tar::EntryType::Directory, 0);
            b.append_data(&mut h, format!("{entry}/"), io::empty())?;
            if opaque(&path) {
                let mut h = header(&meta, tar::EntryType::Regular, 0);
                h.set_mode(0o600);
                b.append_data(&mut h, format!("{entry}/.wh..wh..opq"), io::empty())?;
            }
            walk(&path, &format!("{entry}/"), b, links)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path)?;
            let mut h = header(&meta, tar::EntryType::Symlink, 0);
            b.append_link(&mut h, &entry, target)?;
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            if meta.nlink() > 1 {
                if let Some(first) = links.get(&key) {
                    let mut h = header(&meta, tar::EntryType::Link, 0);
                    b.append_link(&mut h, &entry, first)?;
                    continue;
                }
                links.insert(key, entry.clone());
            }
            let mut h = header(&meta, tar::EntryType::Regular, meta.len());
            let f = fs::File::open(&path)?;
            b.append_data(&mut h, &entry, f)?;
        } else if ft.is_fifo() {
            let mut h = header(&meta, tar::EntryType::Fifo, 0);
            b.append_data(&mut h, &entry, io::empty())?;
        }
        // Other device nodes and sockets are not image content (as the unpacker refuses them).
    }
    Ok(())
}

fn opaque(path: &Path) -> bool {
    let Ok(p) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut v = [0u8; 4];
    // SAFETY: NUL-terminated path and name, buffer of the given length.
    let n = unsafe {
        libc::lgetxattr(
            p.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            v.as_mut_ptr().cast(),
            v.len(),
        )
    };
    n == 1 && v[0] == b'y'
}
