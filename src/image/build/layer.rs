//! Layers from directories: an overlayfs upper directory (or a plain directory of new files)
//! becomes an OCI layer tar. Overlay whiteouts (a 0/0 character device) become `.wh.<name>`
//! files and opaque directories (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry, as
//! containerd's and Docker's differs write them. Also a small overlay mount guard, so COPY and
//! the tests can work on a merged view.

use std::collections::HashMap;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot mount overlay at `{path}`")]
    Mount {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

fn ioerr(path: &Path) -> impl FnOnce(io::Error) -> LayerError + '_ {
    move |source| LayerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes its input through and computes its sha256 (the diff_id of an uncompressed layer).
pub struct DigestWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    pub size: u64,
}

impl<W: Write> DigestWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }
    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.size,
        )
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Write `dir` as an uncompressed OCI layer tar to `out`; returns the diff_id and size.
/// Entries are sorted, named without a leading `./`, directories end in `/`.
pub fn dir_to_tar<W: Write>(dir: &Path, out: W) -> Result<(W, String, u64), LayerError> {
    let mut b = tar::Builder::new(DigestWriter::new(out));
    b.mode(tar::HeaderMode::Complete);
    b.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    add_dir(&mut b, dir, "", &mut links)?;
    let w = b.into_inner().map_err(ioerr(dir))?;
    Ok(w.finish())
}

fn add_dir<W: Write>(
    b: &mut tar::Builder<W>,
    root: &Path,
    rel: &str,
    links: &mut HashMap<(u64, u64), String>,
) -> Result<(), LayerError> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&dir)
        .map_err(ioerr(&dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(ioerr(&dir))?;
    names.sort();
    for name in names {
        let name_s = name.to_string_lossy().into_owned();
        let path = dir.join(&name);
        let entry_rel = if rel.is_empty() {
            name_s.clone()
        } else {
            format!("{rel}/{name_s}")
        };
        let meta = std::fs::symlink_metadata(&path).map_err(ioerr(&path))?;
        let ft = meta.file_type();
        if ft.is_char_device() && meta.rdev() == 0 {
            // overlay whiteout → .wh.<name>
            let wh = if rel.is_empty() {
                format!(".wh.{name_s}")
            } else {
                format!("{rel}/.wh.{name_s}")
            };
            let mut h = header_from(&meta, tar::EntryType::Regular);
            h.set_size(0);
            b.append_data(&mut h, &wh, io::empty())
                .map_err(ioerr(&path))?;
            continue;
        }
        if ft.is_dir() {
            let mut h = header_from(&meta, tar::EntryType::Directory);
            h.set_size(0);
            add_xattrs(b, &path)?;
            b.append_data(&mut h, format!("{entry_rel}/"), io::empty())
                .map_err(ioerr(&path))?;
            if xattr::get(&path, "trusted.overlay.opaque")
                .ok()
                .flatten()
                .as_deref()
                == Some(b"y")
            {
                let mut oh = header_from(&meta, tar::EntryType::Regular);
                oh.set_size(0);
                b.append_data(&mut oh, format!("{entry_rel}/.wh..wh..opq"), io::empty())
                    .map_err(ioerr(&path))?;
            }
            add_dir(b, root, &entry_rel, links)?;
            continue;
        }
        if !ft.is_symlink() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = links.get(&key) {
                let mut h = header_from(&meta, tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, &entry_rel, first)
                    .map_err(ioerr(&path))?;
                continue;
            }
            links.insert(key, entry_rel.clone());
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(ioerr(&path))?;
            let mut h = header_from(&meta, tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, &entry_rel, &target)
                .map_err(ioerr(&path))?;
        } else if ft.is_file() {
            let mut h = header_from(&meta, tar::EntryType::Regular);
            h.set_size(meta.len());
            add_xattrs(b, &path)?;
            let f = std::fs::File::open(&path).map_err(ioerr(&path))?;
            b.append_data(&mut h, &entry_rel, f).map_err(ioerr(&path))?;
        } else {
            let kind = if ft.is_fifo() {
                tar::EntryType::Fifo
            } else if ft.is_block_device() {
                tar::EntryType::Block
            } else if ft.is_char_device() {
                tar::EntryType::Char
            } else {
                continue; // sockets are not part of layers
            };
            let mut h = header_from(&meta, kind);
            h.set_size(0);
            let rdev = meta.rdev();
            let _ = h.set_device_major(nix::sys::stat::major(rdev) as u32);
            let _ = h.set_device_minor(nix::sys::stat::minor(rdev) as u32);
            b.append_data(&mut h, &entry_rel, io::empty())
                .map_err(ioerr(&path))?;
        }
    }
    Ok(())
}

fn header_from(meta: &std::fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(u64::from(meta.uid()));
    h.set_gid(u64::from(meta.gid()));
    h.set_mtime(meta.mtime().max(0) as u64);
    h
}

/// Extended attributes other than overlay's own, as PAX records before the entry.
fn add_xattrs<W: Write>(b: &mut tar::Builder<W>, path: &Path) -> Result<(), LayerError> {
    let Ok(names) = xattr::list(path) else {
        return Ok(());
    };
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    for n in names {
        let n = n.to_string_lossy().into_owned();
        if n.starts_with("trusted.overlay.") || n.starts_with("user.overlay.") {
            continue;
        }
        if let Ok(Some(v)) = xattr::get(path, &n) {
            records.push((format!("SCHILY.xattr.{n}"), v));
        }
    }
    if !records.is_empty() {
        b.append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .map_err(ioerr(path))?;
    }
    Ok(())
}

/// An overlayfs mount, unmounted on drop.
pub struct OverlayMount {
    target: PathBuf,
    mounted: bool,
}

impl OverlayMount {
    /// Mount `lower` (top first; at least one) with `upper`/`work` on `target`. Redirects and
    /// metacopy are off so the upper directory holds whole files and directories.
    pub fn mount(
        lower: &[PathBuf],
        upper: &Path,
        work: &Path,
        target: &Path,
    ) -> Result<Self, LayerError> {
        let lowers: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
        let base = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            upper.display(),
            work.display()
        );
        let attempt = |opts: &str| {
            nix::mount::mount(
                Some("overlay"),
                target,
                Some("overlay"),
                nix::mount::MsFlags::empty(),
                Some(opts),
            )
        };
        attempt(&format!("{base},redirect_dir=off,metacopy=off,index=off"))
            .or_else(|_| attempt(&base))
            .map_err(|source| LayerError::Mount {
                path: target.to_path_buf(),
                source,
            })?;
        Ok(Self {
            target: target.to_path_buf(),
            mounted: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.target
    }

    pub fn unmount(mut self) -> Result<(), LayerError> {
        self.mounted = false;
        nix::mount::umount2(&self.target, nix::mount::MntFlags::empty()).map_err(|source| {
            LayerError::Mount {
                path: self.target.clone(),
                source,
            }
        })
    }
}

impl Drop for OverlayMount {
    fn drop(&mut self) {
        if self.mounted {
            let _ = nix::mount::umount2(&self.target, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}
