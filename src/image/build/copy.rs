//! COPY and ADD on the filesystem: sources from the build context (already filtered by
//! `.dockerignore`) or another stage's root, written into a destination root (the step's
//! merged rootfs, or an empty directory for `--link`). Every destination path is resolved
//! inside the root as if chrooted, so symlinks in the image cannot redirect writes outside it.
//!
//! Semantics follow BuildKit's file op (fsutil copy): directory sources copy their contents,
//! sources are followed if they are symlinks, wildcards may match nothing, files from the
//! context are owned by root unless `--chown`, modes and modification times are kept, created
//! parent directories are 0755. ADD unpacks local tar archives (plain, gzip, bzip2, xz, zstd)
//! and downloads URLs (mode 0600, not unpacked).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use super::context::{BuildContext, EntryKind, Lookup, resolve_in};
use super::dockerignore::PatternMatcher;
use super::gomatch;
use super::plan::{CopyOp, is_url};

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("\"{0}\": not found")]
    NotFound(String),
    #[error("cannot write `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
    #[error("invalid --exclude pattern")]
    Pattern(#[from] super::dockerignore::PatternError),
    #[error("failed to fetch `{url}`: {message}")]
    Fetch { url: String, message: String },
    #[error("checksum mismatch for `{url}`: expected {expected}, got {got}")]
    Checksum {
        url: String,
        expected: String,
        got: String,
    },
    #[error("cannot unpack `{path}`: {message}")]
    Archive { path: String, message: String },
}

fn ioerr(path: &Path) -> impl FnOnce(io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrcKind {
    File,
    Dir,
    Symlink,
}

#[derive(Debug, Clone)]
pub struct SrcMeta {
    pub kind: SrcKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_nsec: i64,
}

/// Where COPY reads from.
pub trait SourceFs {
    fn lstat(&self, rel: &str) -> Option<SrcMeta>;
    fn read_dir(&self, rel: &str) -> Vec<String>;
    fn open(&self, rel: &str) -> io::Result<Box<dyn Read>>;
    fn read_link(&self, rel: &str) -> Option<String>;
    fn resolve(&self, rel: &str, follow_last: bool) -> Option<String>;
}

/// The build context; its files are owned by root in the image (as BuildKit).
pub struct ContextFs<'a>(pub &'a BuildContext);

impl SourceFs for ContextFs<'_> {
    fn lstat(&self, rel: &str) -> Option<SrcMeta> {
        let e = self.0.entry(rel)?;
        let kind = match e.kind {
            EntryKind::File { .. } => SrcKind::File,
            EntryKind::Dir => SrcKind::Dir,
            EntryKind::Symlink { .. } => SrcKind::Symlink,
        };
        Some(SrcMeta {
            kind,
            mode: e.mode,
            uid: 0,
            gid: 0,
            mtime: e.mtime,
            mtime_nsec: e.mtime_nsec,
        })
    }
    fn read_dir(&self, rel: &str) -> Vec<String> {
        self.0.children(rel)
    }
    fn open(&self, rel: &str) -> io::Result<Box<dyn Read>> {
        Ok(Box::new(File::open(self.0.host_path(rel))?))
    }
    fn read_link(&self, rel: &str) -> Option<String> {
        match &self.0.entry(rel)?.kind {
            EntryKind::Symlink { target } => Some(target.clone()),
            _ => None,
        }
    }
    fn resolve(&self, rel: &str, follow_last: bool) -> Option<String> {
        self.0.resolve(rel, follow_last)
    }
}

/// A directory used as a root (another stage's filesystem); ownership is kept.
pub struct DirFs(pub PathBuf);

impl DirFs {
    fn host(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.0.clone()
        } else {
            self.0.join(rel)
        }
    }
}

impl SourceFs for DirFs {
    fn lstat(&self, rel: &str) -> Option<SrcMeta> {
        let m = std::fs::symlink_metadata(self.host(rel)).ok()?;
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            SrcKind::Dir
        } else if ft.is_symlink() {
            SrcKind::Symlink
        } else if ft.is_file() {
            SrcKind::File
        } else {
            return None;
        };
        Some(SrcMeta {
            kind,
            mode: m.mode() & 0o7777,
            uid: m.uid(),
            gid: m.gid(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        })
    }
    fn read_dir(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.host(rel))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    fn open(&self, rel: &str) -> io::Result<Box<dyn Read>> {
        Ok(Box::new(File::open(self.host(rel))?))
    }
    fn read_link(&self, rel: &str) -> Option<String> {
        std::fs::read_link(self.host(rel))
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }
    fn resolve(&self, rel: &str, follow_last: bool) -> Option<String> {
        resolve_in(rel, follow_last, |p| host_lookup(&self.0, p))
    }
}

fn host_lookup(root: &Path, rel: &str) -> Lookup {
    match std::fs::symlink_metadata(root.join(rel)) {
        Err(_) => Lookup::Missing,
        Ok(m) if m.file_type().is_symlink() => Lookup::Link(
            std::fs::read_link(root.join(rel))
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
        Ok(m) if m.is_dir() => Lookup::Dir,
        Ok(_) => Lookup::File,
    }
}

/// Resolve `abs` (an absolute in-image path) inside `root`, following symlinks in its parents
/// within the root, not the last component.
pub fn scoped_path(root: &Path, abs: &str, follow_last: bool) -> PathBuf {
    let rel = resolve_in(abs, follow_last, |p| host_lookup(root, p)).unwrap_or_default();
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    }
}

/// Ownership and timestamps for created files.
#[derive(Debug, Clone, Copy)]
pub struct CopySettings {
    /// `--chown` resolved to ids.
    pub owner: Option<(u32, u32)>,
    pub chmod: Option<u32>,
    /// Modification time for generated files and created directories (seconds).
    pub now: i64,
}

/// Resolve a `--chown` value (`user[:group]`, names or ids) against the destination's
/// `/etc/passwd` and `/etc/group`. A user alone gives the same numeric group id, as Docker.
pub fn resolve_chown(root: &Path, chown: &str) -> Result<Option<(u32, u32)>, CopyError> {
    if chown.is_empty() {
        return Ok(None);
    }
    let (user, group) = match chown.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (chown, None),
    };
    let lookup = |file: &str, name: &str| -> Option<u32> {
        let text = std::fs::read_to_string(scoped_path(root, file, true)).ok()?;
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[0] == name)
                .then(|| f[2].parse().ok())
                .flatten()
        })
    };
    let uid = match user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => lookup("/etc/passwd", user).ok_or_else(|| CopyError::NoUser(user.to_string()))?,
    };
    let gid = match group {
        None => uid,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup("/etc/group", g).ok_or_else(|| CopyError::NoGroup(g.to_string()))?,
        },
    };
    Ok(Some((uid, gid)))
}

/// Run one COPY/ADD into `root`. `src` is the context or the source stage's root.
pub fn apply(op: &CopyOp, src: &dyn SourceFs, root: &Path, now: i64) -> Result<(), CopyError> {
    let settings = CopySettings {
        owner: resolve_chown(root, &op.chown)?,
        chmod: op.chmod,
        now,
    };
    let excludes = PatternMatcher::new(&op.excludes)?;
    for source in &op.sources {
        if op.is_add && is_url(source) {
            add_url(op, source, root, &settings)?;
            continue;
        }
        let rel = source.trim_start_matches('/').to_string();
        let (pivot, matches) = if op.parents {
            let (parent, pattern) = match source.split_once("/./") {
                Some((p, pat)) => (p.trim_start_matches('/').to_string(), pat.to_string()),
                None => (String::new(), rel.clone()),
            };
            let full = if parent.is_empty() {
                pattern.clone()
            } else {
                format!("{parent}/{pattern}")
            };
            (Some(parent), expand_wildcards(src, &full))
        } else if gomatch::has_meta(&rel) {
            (None, expand_wildcards(src, &rel))
        } else {
            (None, vec![rel.clone()])
        };
        if matches.is_empty() && !gomatch::has_meta(&rel) {
            return Err(CopyError::NotFound(source.clone()));
        }
        for m in matches {
            let resolved = src
                .resolve(&m, true)
                .ok_or_else(|| CopyError::NotFound(format!("/{m}")))?;
            let meta = src
                .lstat(&resolved)
                .ok_or_else(|| CopyError::NotFound(format!("/{m}")))?;
            let base = m.rsplit('/').next().unwrap_or(&m).to_string();
            if let Some(pivot) = &pivot {
                let under = m
                    .strip_prefix(pivot.as_str())
                    .unwrap_or(&m)
                    .trim_start_matches('/');
                let target = format!("{}/{under}", op.dest.trim_end_matches('/'));
                copy_tree(
                    src, &resolved, meta.kind, root, &target, &settings, &excludes, "", true,
                )?;
                continue;
            }
            if meta.kind == SrcKind::Dir {
                let target = op.dest.trim_end_matches('/').to_string();
                let target = if target.is_empty() {
                    "/".to_string()
                } else {
                    target
                };
                copy_tree(
                    src,
                    &resolved,
                    SrcKind::Dir,
                    root,
                    &target,
                    &settings,
                    &excludes,
                    "",
                    false,
                )?;
                continue;
            }
            if !op.excludes.is_empty() && excludes.matches_or_parent_matches(&base) {
                continue;
            }
            if op.is_add
                && op.unpack != Some(false)
                && meta.kind == SrcKind::File
                && let Some(comp) = archive_kind(src, &resolved)
            {
                let dir = op.dest.trim_end_matches('/');
                let dir = if dir.is_empty() { "/" } else { dir };
                ensure_dir(root, dir, &settings)?;
                unpack(
                    src.open(&resolved).map_err(ioerr(Path::new(&m)))?,
                    comp,
                    root,
                    dir,
                    &m,
                )?;
                continue;
            }
            let target = file_target(root, &op.dest, &base);
            copy_tree(
                src, &resolved, meta.kind, root, &target, &settings, &excludes, "", true,
            )?;
        }
    }
    for (name, data) in &op.contents {
        let target = file_target(root, &op.dest, name);
        let mode = settings.chmod.unwrap_or(0o644);
        write_file(
            root,
            &target,
            &mut data.as_bytes(),
            mode,
            settings.owner.unwrap_or((0, 0)),
            settings.now,
            0,
            &settings,
        )?;
    }
    Ok(())
}

/// A file source's destination: inside `dest` if it ends with `/` or is an existing
/// directory, else `dest` itself.
fn file_target(root: &Path, dest: &str, base: &str) -> String {
    let d = dest.trim_end_matches('/');
    if dest.ends_with('/') || scoped_path(root, dest, true).is_dir() {
        format!("{d}/{base}")
    } else {
        dest.to_string()
    }
}

/// Expand a wildcard path component by component (Go's filepath.Match per component).
fn expand_wildcards(src: &dyn SourceFs, pattern: &str) -> Vec<String> {
    let mut current = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            if gomatch::has_meta(comp) {
                let dir = src.resolve(base, true).unwrap_or_default();
                for name in src.read_dir(&dir) {
                    if gomatch::matches(comp, &name).unwrap_or(false) {
                        next.push(if base.is_empty() {
                            name
                        } else {
                            format!("{base}/{name}")
                        });
                    }
                }
            } else {
                let p = if base.is_empty() {
                    comp.to_string()
                } else {
                    format!("{base}/{comp}")
                };
                if src.resolve(&p, false).and_then(|r| src.lstat(&r)).is_some() {
                    next.push(p);
                }
            }
        }
        current = next;
    }
    current.sort();
    current.dedup();
    current
}

#[allow(clippy::too_many_arguments)]
fn copy_tree(
    src: &dyn SourceFs,
    rel: &str,
    kind: SrcKind,
    root: &Path,
    target: &str,
    s: &CopySettings,
    excludes: &PatternMatcher,
    exclude_rel: &str,
    overwrite_meta: bool,
) -> Result<(), CopyError> {
    let meta = src
        .lstat(rel)
        .ok_or_else(|| CopyError::NotFound(rel.to_string()))?;
    let owner = s.owner.unwrap_or((meta.uid, meta.gid));
    match kind {
        SrcKind::File => {
            let mut r = src.open(rel).map_err(ioerr(Path::new(rel)))?;
            let mode = s.chmod.unwrap_or(meta.mode);
            write_file(
                root,
                target,
                &mut r,
                mode,
                owner,
                meta.mtime,
                meta.mtime_nsec,
                s,
            )
        }
        SrcKind::Symlink => {
            let link = src.read_link(rel).unwrap_or_default();
            let path = prepare_target(root, target, s)?;
            symlink(&link, &path).map_err(ioerr(&path))?;
            lchown(&path, owner)?;
            set_mtime(&path, meta.mtime, meta.mtime_nsec, false)
        }
        SrcKind::Dir => {
            let path = scoped_path(root, target, false);
            let created = match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => false,
                Ok(_) => {
                    std::fs::remove_file(&path).map_err(ioerr(&path))?;
                    prepare_target(root, target, s)?;
                    make_dir(root, target, s)?;
                    true
                }
                Err(_) => {
                    prepare_target(root, target, s)?;
                    make_dir(root, target, s)?;
                    true
                }
            };
            for child in src.read_dir(rel) {
                let child_rel = if rel.is_empty() {
                    child.clone()
                } else {
                    format!("{rel}/{child}")
                };
                let ex_rel = if exclude_rel.is_empty() {
                    child.clone()
                } else {
                    format!("{exclude_rel}/{child}")
                };
                if !excludes.is_empty() && excludes.matches_or_parent_matches(&ex_rel) {
                    continue;
                }
                let Some(cm) = src.lstat(&child_rel) else {
                    continue;
                };
                copy_tree(
                    src,
                    &child_rel,
                    cm.kind,
                    root,
                    &format!("{}/{child}", target.trim_end_matches('/')),
                    s,
                    excludes,
                    &ex_rel,
                    true,
                )?;
            }
            // As fsutil: the top directory keeps its metadata if it existed.
            if !created && !overwrite_meta {
                return Ok(());
            }
            let path = scoped_path(root, target, false);
            std::fs::set_permissions(
                &path,
                std::fs::Permissions::from_mode(s.chmod.unwrap_or(meta.mode)),
            )
            .map_err(ioerr(&path))?;
            lchown(&path, owner)?;
            set_mtime(&path, meta.mtime, meta.mtime_nsec, true)
        }
    }
}

/// Create the parents of `target` and remove whatever non-directory is at it.
fn prepare_target(root: &Path, target: &str, s: &CopySettings) -> Result<PathBuf, CopyError> {
    let parent = match target.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => target[..i].to_string(),
    };
    ensure_dir(root, &parent, s)?;
    let path = scoped_path(root, target, false);
    if let Ok(m) = std::fs::symlink_metadata(&path) {
        if m.is_dir() {
            std::fs::remove_dir_all(&path).map_err(ioerr(&path))?;
        } else {
            std::fs::remove_file(&path).map_err(ioerr(&path))?;
        }
    }
    Ok(path)
}

#[allow(clippy::too_many_arguments)]
fn write_file(
    root: &Path,
    target: &str,
    r: &mut dyn Read,
    mode: u32,
    owner: (u32, u32),
    mtime: i64,
    nsec: i64,
    s: &CopySettings,
) -> Result<(), CopyError> {
    let path = prepare_target(root, target, s)?;
    let mut f = File::create(&path).map_err(ioerr(&path))?;
    io::copy(r, &mut f).map_err(ioerr(&path))?;
    drop(f);
    lchown(&path, owner)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(ioerr(&path))?;
    set_mtime(&path, mtime, nsec, false)
}

fn make_dir(root: &Path, target: &str, s: &CopySettings) -> Result<(), CopyError> {
    let path = scoped_path(root, target, false);
    std::fs::create_dir(&path).map_err(ioerr(&path))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(ioerr(&path))?;
    lchown(&path, s.owner.unwrap_or((0, 0)))?;
    set_mtime(&path, s.now, 0, true)
}

/// MkdirAll inside the root: missing directories are 0755, owned by `--chown` (or root).
pub fn ensure_dir(root: &Path, abs: &str, s: &CopySettings) -> Result<(), CopyError> {
    let mut cur = String::new();
    for comp in abs.split('/').filter(|c| !c.is_empty()) {
        cur.push('/');
        cur.push_str(comp);
        let path = scoped_path(root, &cur, true);
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => {
                return Err(CopyError::Io {
                    path,
                    source: io::Error::new(io::ErrorKind::AlreadyExists, "not a directory"),
                });
            }
            Err(_) => {
                let p = scoped_path(root, &cur, false);
                if std::fs::symlink_metadata(&p).is_ok() {
                    std::fs::remove_file(&p).map_err(ioerr(&p))?;
                }
                make_dir(root, &cur, s)?;
            }
        }
    }
    Ok(())
}

fn lchown(path: &Path, (uid, gid): (u32, u32)) -> Result<(), CopyError> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(ioerr(path))
}

fn set_mtime(path: &Path, secs: i64, nsec: i64, _dir: bool) -> Result<(), CopyError> {
    let t = filetime::FileTime::from_unix_time(secs, nsec as u32);
    filetime::set_symlink_file_times(path, t, t).map_err(ioerr(path))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

/// Detect compression from magic bytes.
pub fn detect_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

fn decompress(r: Box<dyn Read>, c: Compression) -> io::Result<Box<dyn Read>> {
    let mut r = BufReader::new(r);
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
        Compression::Xz => {
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut r, &mut out)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            Box::new(io::Cursor::new(out))
        }
    })
}

/// A local file ADD unpacks: a tar (possibly compressed) whose first header checks out.
fn archive_kind(src: &dyn SourceFs, rel: &str) -> Option<Compression> {
    let mut head = [0u8; 8];
    let n = src.open(rel).ok()?.read(&mut head).ok()?;
    let comp = detect_compression(&head[..n]);
    let mut r = decompress(src.open(rel).ok()?, comp).ok()?;
    let mut block = [0u8; 512];
    r.read_exact(&mut block).ok()?;
    let stored = std::str::from_utf8(&block[148..156])
        .ok()?
        .trim_matches(|c: char| c == '\0' || c == ' ');
    let stored = u32::from_str_radix(stored, 8).ok()?;
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    (sum == stored).then_some(comp)
}

/// Extract a tar into `dir` (in-image path) inside `root`: entry paths are cleaned and kept
/// under `dir`, links resolve inside the root, ownership and modes are kept.
fn unpack(
    r: Box<dyn Read>,
    comp: Compression,
    root: &Path,
    dir: &str,
    name: &str,
) -> Result<(), CopyError> {
    let err = |m: String| CopyError::Archive {
        path: name.to_string(),
        message: m,
    };
    let mut ar = tar::Archive::new(decompress(r, comp).map_err(|e| err(e.to_string()))?);
    let mut dirs: Vec<(PathBuf, i64)> = Vec::new();
    for entry in ar.entries().map_err(|e| err(e.to_string()))? {
        let mut entry = entry.map_err(|e| err(e.to_string()))?;
        let raw = entry.path_bytes();
        let rel = gomatch::clean(&format!("/{}", String::from_utf8_lossy(&raw)));
        if rel == "/" {
            continue;
        }
        let target = format!("{}{rel}", dir.trim_end_matches('/'));
        let h = entry.header().clone();
        let mode = h.mode().unwrap_or(0o644) & 0o7777;
        let owner = (h.uid().unwrap_or(0) as u32, h.gid().unwrap_or(0) as u32);
        let mtime = h.mtime().unwrap_or(0) as i64;
        let s = CopySettings {
            owner: Some((0, 0)),
            chmod: None,
            now: mtime,
        };
        let kind = h.entry_type();
        if kind.is_dir() {
            ensure_dir(root, &target, &s)?;
            let path = scoped_path(root, &target, true);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(ioerr(&path))?;
            lchown(&path, owner)?;
            dirs.push((path, mtime));
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            write_file(root, &target, &mut entry, mode, owner, mtime, 0, &s)?;
        } else if kind.is_symlink() {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let path = prepare_target(root, &target, &s)?;
            symlink(&link, &path).map_err(ioerr(&path))?;
            lchown(&path, owner)?;
            set_mtime(&path, mtime, 0, false)?;
        } else if kind.is_hard_link() {
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let from = scoped_path(
                root,
                &format!(
                    "{}{}",
                    dir.trim_end_matches('/'),
                    gomatch::clean(&format!("/{link}"))
                ),
                false,
            );
            let path = prepare_target(root, &target, &s)?;
            std::fs::hard_link(&from, &path).map_err(ioerr(&path))?;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            let path = prepare_target(root, &target, &s)?;
            let t = if kind.is_fifo() {
                nix::sys::stat::SFlag::S_IFIFO
            } else if kind.is_block_special() {
                nix::sys::stat::SFlag::S_IFBLK
            } else {
                nix::sys::stat::SFlag::S_IFCHR
            };
            let dev = nix::sys::stat::makedev(
                u64::from(h.device_major().ok().flatten().unwrap_or(0)),
                u64::from(h.device_minor().ok().flatten().unwrap_or(0)),
            );
            nix::sys::stat::mknod(
                &path,
                t,
                nix::sys::stat::Mode::from_bits_truncate(mode),
                dev,
            )
            .map_err(|e| ioerr(&path)(io::Error::from(e)))?;
            lchown(&path, owner)?;
        }
    }
    for (path, mtime) in dirs.into_iter().rev() {
        set_mtime(&path, mtime, 0, true)?;
    }
    Ok(())
}

/// ADD <url>: download (a clear error when unreachable), verify `--checksum`, write as 0600.
fn add_url(op: &CopyOp, url: &str, root: &Path, s: &CopySettings) -> Result<(), CopyError> {
    let fetch_err = |m: String| CopyError::Fetch {
        url: url.to_string(),
        message: m,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .timeout_connect(Some(std::time::Duration::from_secs(15)))
        .build()
        .into();
    let resp = agent
        .get(url)
        .call()
        .map_err(|e| fetch_err(e.to_string()))?;
    let mtime = resp
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.timestamp())
        .unwrap_or(s.now);
    let mut body = Vec::new();
    resp.into_body()
        .into_reader()
        .read_to_end(&mut body)
        .map_err(|e| fetch_err(e.to_string()))?;
    if !op.checksum.is_empty() {
        use sha2::Digest;
        let got = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body)));
        if got != op.checksum {
            return Err(CopyError::Checksum {
                url: url.to_string(),
                expected: op.checksum.clone(),
                got,
            });
        }
    }
    let path_part = url.split(['?', '#']).next().unwrap_or(url);
    let after_host = path_part.splitn(4, '/').nth(3).unwrap_or("");
    let base = after_host
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty() && *b != ".")
        .unwrap_or("__unnamed__");
    let target = file_target(root, &op.dest, base);
    let mode = s.chmod.unwrap_or(0o600);
    write_file(
        root,
        &target,
        &mut body.as_slice(),
        mode,
        s.owner.unwrap_or((0, 0)),
        mtime,
        0,
        s,
    )
}

/// Write `data` as a regular file (used by tests and heredoc scripts).
pub fn write_bytes(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
