//! Unpack one layer tar into its own directory, ready to be an overlay lowerdir.
//!
//! Safety: every path is resolved with `openat2(RESOLVE_IN_ROOT)` from the layer root, so
//! absolute paths, `..` and symlinks (in the name or in any parent) are resolved as if the
//! layer root were `/`, like Docker's chrooted extraction; the final component is never
//! followed (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, replace-not-follow). Lexical `..` that would
//! climb above the root is an error. Hardlink targets are resolved the same way, so a link can
//! only point at a file inside this layer. Device nodes are not created (counted and skipped):
//! a container's `/dev` is a tmpfs anyway, and a device node elsewhere in an image is an
//! escape hatch. Only `user.*` and `security.capability` xattrs are applied, so a layer cannot
//! forge `trusted.overlay.*` metadata.
//!
//! Whiteouts become overlayfs's representation: `.wh.<name>` → a 0/0 character device
//! `<name>`, `.wh..wh..opq` → xattr `trusted.overlay.opaque=y` on the directory. Both need
//! root (CAP_MKNOD, CAP_SYS_ADMIN), which rcompose runs as.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{Mode, SFlag, mkdirat, mknodat};
use nix::sys::time::TimeSpec;

use super::digest::{Digest, HashingReader};
use super::spec::Compression;

/// Limits against tar bombs. Counted on the decompressed stream.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum decompressed size of one layer.
    pub max_bytes: u64,
    /// Maximum number of tar entries in one layer.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 << 30,
            max_entries: 4_000_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("layer entry `{entry}` escapes the layer root")]
    Escape { entry: String },
    #[error("layer entry `{entry}`: hardlink target `{target}` escapes the layer root")]
    HardlinkEscape { entry: String, target: String },
    #[error("layer entry `{entry}`: hardlink target `{target}` does not exist in the layer")]
    HardlinkMissing { entry: String, target: String },
    #[error("layer is larger than the limit of {limit} bytes uncompressed")]
    TooLarge { limit: u64 },
    #[error("layer has more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("corrupt layer archive")]
    Corrupt(#[source] io::Error),
    #[error("cannot write layer entry `{entry}`")]
    Write {
        entry: String,
        #[source]
        source: io::Error,
    },
}

/// What unpacking a layer found.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    /// Size of the uncompressed tar stream.
    pub size: u64,
    pub entries: u64,
    /// Device nodes that were not created.
    pub skipped_devices: u64,
    pub compression: Compression,
}

/// Read the first bytes to sniff the compression, then give them back.
pub fn sniff<R: Read>(mut r: R) -> io::Result<(Compression, impl Read)> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        let k = r.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let c = Compression::sniff(&head[..n]);
    Ok((c, io::Cursor::new(head[..n].to_vec()).chain(r)))
}

/// A decompressing reader for a layer blob, whatever its compression.
pub fn decompress<'a, R: Read + 'a>(r: R) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let (c, r) = sniff(r)?;
    let out: Box<dyn Read> = match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 << 10, r),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
    };
    Ok((c, out))
}

struct LimitReader<R> {
    inner: R,
    left: u64,
    limit: u64,
    hit: Arc<AtomicBool>,
}

impl<R: Read> Read for LimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.hit.store(true, Ordering::Relaxed);
            return Err(io::Error::other(format!(
                "layer exceeds {} bytes",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Unpack a (possibly compressed) layer stream into `dest`, an existing empty directory.
pub fn unpack_layer<R: Read>(
    blob: R,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, UnpackError> {
    let (compression, reader) = decompress(blob).map_err(UnpackError::Corrupt)?;
    unpack_tar(reader, compression, dest, limits)
}

/// As [`unpack_layer`], but inflating on a second thread while this one writes files: the
/// two halves take about the same time, so a pull is nearly twice as fast on two cores.
pub fn unpack_layer_threaded<R: Read + Send>(
    blob: R,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, UnpackError> {
    let (compression, raw) = sniff(blob).map_err(UnpackError::Corrupt)?;
    if compression == Compression::None {
        return unpack_tar(raw, compression, dest, limits);
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let inflater = s.spawn(move || -> io::Result<()> {
            let mut dec: Box<dyn Read> = match compression {
                Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
                    io::BufReader::with_capacity(256 << 10, raw),
                )),
                _ => Box::new(zstd::stream::read::Decoder::new(raw)?),
            };
            loop {
                let mut buf = vec![0u8; 1 << 20];
                let mut n = 0;
                while n < buf.len() {
                    match dec.read(&mut buf[n..]) {
                        Ok(0) => break,
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                if n == 0 {
                    return Ok(());
                }
                buf.truncate(n);
                if tx.send(buf).is_err() {
                    // The unpacker stopped; its error is the one to report.
                    return Ok(());
                }
            }
        });
        let mut reader = ChannelReader::new(rx);
        let result = unpack_tar(&mut reader, compression, dest, limits);
        drop(reader);
        let inflated = inflater
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("inflate thread panicked")));
        // A decompression error explains (and must not be hidden by) a short tar stream.
        inflated.map_err(UnpackError::Corrupt)?;
        result
    })
}

/// A `Read` over chunks received from a channel; EOF when the sender is gone.
pub(crate) struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    pub(crate) fn new(rx: std::sync::mpsc::Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(v) => {
                    self.cur = v;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Unpack an already decompressed tar stream.
fn unpack_tar<R: Read>(
    reader: R,
    compression: Compression,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked, UnpackError> {
    let hit = Arc::new(AtomicBool::new(false));
    let limited = LimitReader {
        inner: reader,
        left: limits.max_bytes,
        limit: limits.max_bytes,
        hit: hit.clone(),
    };
    let hashing = HashingReader::new(limited);
    let root =
        open_dir(libc::AT_FDCWD, dest.as_os_str(), false).map_err(|e| UnpackError::Write {
            entry: dest.display().to_string(),
            source: e.into(),
        })?;
    let mut u = Unpacker {
        root,
        parent_cache: None,
        stale: false,
        dir_times: Vec::new(),
        buf: vec![0u8; 256 << 10],
        skipped_devices: 0,
    };
    let mut archive = tar::Archive::new(hashing);
    let mut entries = 0u64;
    let too_large = |e: io::Error| {
        if hit.load(Ordering::Relaxed) {
            UnpackError::TooLarge {
                limit: limits.max_bytes,
            }
        } else {
            UnpackError::Corrupt(e)
        }
    };
    for entry in archive.entries().map_err(too_large)? {
        let mut entry = entry.map_err(too_large)?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(UnpackError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        match u.entry(&mut entry) {
            Ok(()) => {}
            Err(UnpackError::Write { entry, source }) if hit.load(Ordering::Relaxed) => {
                let _ = (entry, source);
                return Err(UnpackError::TooLarge {
                    limit: limits.max_bytes,
                });
            }
            Err(UnpackError::Write { entry, source })
                if source.kind() == io::ErrorKind::UnexpectedEof =>
            {
                let _ = entry;
                return Err(UnpackError::Corrupt(source));
            }
            Err(e) => return Err(e),
        }
    }
    let mut hashing = archive.into_inner();
    // The diff_id covers the whole stream, including padding after the end-of-archive blocks.
    io::copy(&mut hashing, &mut io::sink()).map_err(too_large)?;
    let (diff_id, size, _) = hashing.finish();
    u.finish_dir_times();
    Ok(Unpacked {
        diff_id,
        size,
        entries,
        skipped_devices: u.skipped_devices,
        compression,
    })
}

struct Unpacker {
    root: OwnedFd,
    /// The last parent directory opened (entries come grouped by directory).
    parent_cache: Option<(Vec<u8>, OwnedFd)>,
    stale: bool,
    dir_times: Vec<(Vec<u8>, i64)>,
    buf: Vec<u8>,
    skipped_devices: u64,
}

fn open_dir(dirfd: RawFd, path: &OsStr, in_root: bool) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let how = if in_root {
        OpenHow::new()
            .flags(flags)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS)
    } else {
        OpenHow::new().flags(flags)
    };
    let path = if path.is_empty() {
        OsStr::new(".")
    } else {
        path
    };
    let fd = openat2(dirfd, path, how)?;
    // SAFETY: openat2 returned a new, owned descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Lexically clean a tar path: drop `/`, `.` and empty parts, apply `..`. `None` if it climbs
/// above the root.
fn clean(path: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out)
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&b'/')
}

fn cstr(b: &[u8]) -> CString {
    CString::new(b).unwrap_or_default()
}

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

impl Unpacker {
    fn err(entry: &[u8], e: impl Into<io::Error>) -> UnpackError {
        UnpackError::Write {
            entry: String::from_utf8_lossy(entry).into_owned(),
            source: e.into(),
        }
    }

    /// Open (creating with 0755 as needed) the directory `parts` inside the root.
    fn parent(&mut self, parts: &[&[u8]]) -> Result<RawFd, UnpackError> {
        let key = join(parts);
        if std::mem::take(&mut self.stale) {
            self.parent_cache = None;
        }
        if let Some((k, fd)) = &self.parent_cache
            && *k == key
        {
            return Ok(fd.as_raw_fd());
        }
        let fd = match open_dir(self.root.as_raw_fd(), OsStr::from_bytes(&key), true) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                // Create missing directories one by one, each resolved from the root.
                let mut fd = open_dir(self.root.as_raw_fd(), OsStr::new(""), true)
                    .map_err(|e| Self::err(&key, e))?;
                for i in 0..parts.len() {
                    let prefix = join(&parts[..=i]);
                    match open_dir(self.root.as_raw_fd(), OsStr::from_bytes(&prefix), true) {
                        Ok(next) => fd = next,
                        Err(Errno::ENOENT) => {
                            match mkdirat(
                                Some(fd.as_raw_fd()),
                                OsStr::from_bytes(parts[i]),
                                Mode::from_bits_truncate(0o755),
                            ) {
                                Ok(()) | Err(Errno::EEXIST) => {}
                                Err(e) => return Err(Self::err(&prefix, e)),
                            }
                            fd = open_dir(self.root.as_raw_fd(), OsStr::from_bytes(&prefix), true)
                                .map_err(|e| Self::err(&prefix, e))?;
                        }
                        Err(e) => return Err(Self::err(&prefix, e)),
                    }
                }
                fd
            }
            Err(e) => return Err(Self::err(&key, e)),
        };
        let raw = fd.as_raw_fd();
        self.parent_cache = Some((key, fd));
        Ok(raw)
    }

    /// Remove whatever is at `name` unless it is a directory and `keep_dir`. Returns whether a
    /// directory was kept.
    fn clear(
        &mut self,
        parent: RawFd,
        name: &CString,
        keep_dir: bool,
        entry: &[u8],
    ) -> Result<bool, UnpackError> {
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd, NUL-terminated name, out-pointer to a zeroed stat.
        let r = unsafe { libc::fstatat(parent, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOENT) {
                return Ok(false);
            }
            return Err(Self::err(entry, e));
        }
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir && keep_dir {
            return Ok(true);
        }
        // Removing a directory or symlink can change how cached parents resolve. The cached
        // fd stays open until the next `parent()` call (the caller still uses it).
        self.stale = true;
        if is_dir {
            // std's remove_dir_all works with *at calls and never follows symlinks.
            let p = PathBuf::from(format!("/proc/self/fd/{parent}"))
                .join(OsStr::from_bytes(name.as_bytes()));
            std::fs::remove_dir_all(&p).map_err(|e| Self::err(entry, e))?;
        } else {
            // SAFETY: valid fd and name.
            if unsafe { libc::unlinkat(parent, name.as_ptr(), 0) } != 0 {
                return Err(Self::err(entry, io::Error::last_os_error()));
            }
        }
        Ok(false)
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<(), UnpackError> {
        let raw_path = entry.path_bytes().into_owned();
        let header = entry.header().clone();
        let kind = header.entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader
                | tar::EntryType::XHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let parts = clean(&raw_path).ok_or_else(|| UnpackError::Escape {
            entry: String::from_utf8_lossy(&raw_path).into_owned(),
        })?;
        let uid = header.uid().unwrap_or(0) as u32;
        let gid = header.gid().unwrap_or(0) as u32;
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let mtime = header.mtime().unwrap_or(0) as i64;

        let Some((&base, dir_parts)) = parts.split_last() else {
            // The layer root itself (`./`): apply its metadata.
            if kind.is_dir() {
                let fd = self.root.as_raw_fd();
                chown_mode(fd, None, uid, gid, Some(mode)).map_err(|e| Self::err(&raw_path, e))?;
                self.dir_times.push((Vec::new(), mtime));
            }
            return Ok(());
        };

        // Whiteouts.
        if base == OPAQUE {
            let fd = self.parent(dir_parts)?;
            set_xattr(fd, None, "trusted.overlay.opaque", b"y")
                .map_err(|e| Self::err(&raw_path, e))?;
            return Ok(());
        }
        if let Some(hidden) = base.strip_prefix(WHITEOUT_PREFIX) {
            if hidden.starts_with(WHITEOUT_PREFIX)
                || hidden.is_empty()
                || hidden == b"."
                || hidden == b".."
            {
                // Other aufs metadata (`.wh..wh.plnk`, ...): not content.
                return Ok(());
            }
            let fd = self.parent(dir_parts)?;
            let name = cstr(hidden);
            self.clear(fd, &name, false, &raw_path)?;
            mknodat(Some(fd), name.as_c_str(), SFlag::S_IFCHR, Mode::empty(), 0)
                .map_err(|e| Self::err(&raw_path, e))?;
            return Ok(());
        }

        let name = cstr(base);
        match kind {
            tar::EntryType::Directory => {
                let fd = self.parent(dir_parts)?;
                let kept = self.clear(fd, &name, true, &raw_path)?;
                if !kept {
                    mkdirat(Some(fd), name.as_c_str(), Mode::from_bits_truncate(0o700))
                        .map_err(|e| Self::err(&raw_path, e))?;
                }
                let dfd = open_dir(fd, OsStr::from_bytes(base), true)
                    .map_err(|e| Self::err(&raw_path, e))?;
                chown_mode(dfd.as_raw_fd(), None, uid, gid, Some(mode))
                    .map_err(|e| Self::err(&raw_path, e))?;
                self.xattrs(entry, dfd.as_raw_fd(), &raw_path)?;
                self.dir_times.push((join(&parts), mtime));
                // The cached parent may be this very path, replaced.
                if kept {
                    return Ok(());
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = self.parent(dir_parts)?;
                self.clear(fd, &name, false, &raw_path)?;
                // SAFETY: valid dirfd and name; O_NOFOLLOW|O_EXCL never follows or reuses.
                let ffd = unsafe {
                    libc::openat(
                        fd,
                        name.as_ptr(),
                        libc::O_WRONLY
                            | libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC,
                        0o600,
                    )
                };
                if ffd < 0 {
                    return Err(Self::err(&raw_path, io::Error::last_os_error()));
                }
                // SAFETY: openat returned a new, owned descriptor.
                let mut file = unsafe { File::from_raw_fd(ffd) };
                loop {
                    let n = entry
                        .read(&mut self.buf)
                        .map_err(|e| Self::err(&raw_path, e))?;
                    if n == 0 {
                        break;
                    }
                    file.write_all(&self.buf[..n])
                        .map_err(|e| Self::err(&raw_path, e))?;
                }
                chown_mode(file.as_raw_fd(), None, uid, gid, Some(mode))
                    .map_err(|e| Self::err(&raw_path, e))?;
                self.xattrs(entry, file.as_raw_fd(), &raw_path)?;
                set_times(file.as_raw_fd(), None, mtime).map_err(|e| Self::err(&raw_path, e))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let fd = self.parent(dir_parts)?;
                self.clear(fd, &name, false, &raw_path)?;
                nix::unistd::symlinkat(OsStr::from_bytes(&target), Some(fd), name.as_c_str())
                    .map_err(|e| Self::err(&raw_path, e))?;
                chown_mode(fd, Some(&name), uid, gid, None).map_err(|e| Self::err(&raw_path, e))?;
                set_times(fd, Some(&name), mtime).map_err(|e| Self::err(&raw_path, e))?;
                // A new symlink can change how later parents resolve.
                self.stale = true;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                let tparts = clean(&target).ok_or_else(|| UnpackError::HardlinkEscape {
                    entry: String::from_utf8_lossy(&raw_path).into_owned(),
                    target: String::from_utf8_lossy(&target).into_owned(),
                })?;
                let missing = || UnpackError::HardlinkMissing {
                    entry: String::from_utf8_lossy(&raw_path).into_owned(),
                    target: String::from_utf8_lossy(&target).into_owned(),
                };
                let Some((&tbase, tdir)) = tparts.split_last() else {
                    return Err(missing());
                };
                let tfd = open_dir(self.root.as_raw_fd(), OsStr::from_bytes(&join(tdir)), true)
                    .map_err(|_| missing())?;
                let fd = self.parent(dir_parts)?;
                if join(&tparts) == join(&parts) {
                    return Ok(());
                }
                self.clear(fd, &name, false, &raw_path)?;
                let tname = cstr(tbase);
                // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
                // SAFETY: valid fds and names.
                if unsafe { libc::linkat(tfd.as_raw_fd(), tname.as_ptr(), fd, name.as_ptr(), 0) }
                    != 0
                {
                    let e = io::Error::last_os_error();
                    return Err(if e.raw_os_error() == Some(libc::ENOENT) {
                        missing()
                    } else {
                        Self::err(&raw_path, e)
                    });
                }
            }
            tar::EntryType::Fifo => {
                let fd = self.parent(dir_parts)?;
                self.clear(fd, &name, false, &raw_path)?;
                mknodat(
                    Some(fd),
                    name.as_c_str(),
                    SFlag::S_IFIFO,
                    Mode::from_bits_truncate(mode),
                    0,
                )
                .map_err(|e| Self::err(&raw_path, e))?;
                chown_mode(fd, Some(&name), uid, gid, Some(mode))
                    .map_err(|e| Self::err(&raw_path, e))?;
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                tracing::debug!(entry = %String::from_utf8_lossy(&raw_path), "skipping device node in layer");
                self.skipped_devices += 1;
            }
            other => {
                tracing::debug!(entry = %String::from_utf8_lossy(&raw_path), kind = ?other, "skipping unsupported tar entry");
            }
        }
        Ok(())
    }

    fn xattrs<R: Read>(
        &self,
        entry: &mut tar::Entry<R>,
        fd: RawFd,
        raw_path: &[u8],
    ) -> Result<(), UnpackError> {
        let Ok(Some(exts)) = entry.pax_extensions() else {
            return Ok(());
        };
        for ext in exts.flatten() {
            let Ok(key) = ext.key() else { continue };
            let Some(attr) = key.strip_prefix("SCHILY.xattr.") else {
                continue;
            };
            if attr.starts_with("user.") || attr == "security.capability" {
                set_xattr(fd, None, attr, ext.value_bytes()).map_err(|e| Self::err(raw_path, e))?;
            } else {
                tracing::debug!(entry = %String::from_utf8_lossy(raw_path), attr, "ignoring xattr");
            }
        }
        Ok(())
    }

    fn finish_dir_times(&mut self) {
        // Deepest first does not matter for mtimes of distinct dirs; set them after all
        // children exist so creating children does not bump them.
        for (path, mtime) in std::mem::take(&mut self.dir_times) {
            if let Ok(fd) = open_dir(self.root.as_raw_fd(), OsStr::from_bytes(&path), true) {
                let _ = set_times(fd.as_raw_fd(), None, mtime);
            }
        }
    }
}

/// Set owner (never following a symlink), then mode (chown clears set-id bits).
fn chown_mode(
    fd: RawFd,
    name: Option<&CString>,
    uid: u32,
    gid: u32,
    mode: Option<u32>,
) -> io::Result<()> {
    let empty = CString::default();
    let (n, flags) = match name {
        Some(n) => (n, libc::AT_SYMLINK_NOFOLLOW),
        None => (&empty, libc::AT_EMPTY_PATH),
    };
    // SAFETY: valid fd and NUL-terminated name.
    if unsafe { libc::fchownat(fd, n.as_ptr(), uid, gid, flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if let Some(mode) = mode {
        let r = match name {
            // SAFETY: as above; the name was just created by us and is not a symlink.
            Some(n) => unsafe { libc::fchmodat(fd, n.as_ptr(), mode, 0) },
            // SAFETY: valid fd.
            None => unsafe { libc::fchmod(fd, mode) },
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn set_times(fd: RawFd, name: Option<&CString>, mtime: i64) -> io::Result<()> {
    let ts = TimeSpec::new(mtime, 0);
    let times = [*ts.as_ref(), *ts.as_ref()];
    let r = match name {
        // SAFETY: valid fd, NUL-terminated name and a two-element timespec array.
        Some(n) => unsafe {
            libc::utimensat(fd, n.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
        },
        // SAFETY: valid fd and a two-element timespec array.
        None => unsafe { libc::futimens(fd, times.as_ptr()) },
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_xattr(fd: RawFd, _name: Option<&CString>, attr: &str, value: &[u8]) -> io::Result<()> {
    let a = CString::new(attr).map_err(io::Error::other)?;
    // SAFETY: valid fd (opened O_RDONLY, not O_PATH), NUL-terminated name, value slice.
    let r = unsafe { libc::fsetxattr(fd, a.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
