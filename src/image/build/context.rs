//! The build context: the directory tree filtered by `.dockerignore`, with content hashes for
//! cache keys. Symlinks are recorded, never followed while walking; when COPY resolves a
//! source through a symlink, the link is resolved inside the context (as if it were `/`),
//! so nothing outside the context can be read.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::dockerignore::{MatchInfo, PatternError, PatternMatcher, read_patterns};

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read build context `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid pattern in `{path}`")]
    Pattern {
        path: PathBuf,
        #[source]
        source: PatternError,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ContextError + '_ {
    move |source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File { size: u64 },
    Dir,
    Symlink { target: String },
}

#[derive(Debug)]
pub struct Entry {
    pub kind: EntryKind,
    /// Permission bits (with setuid/setgid/sticky).
    pub mode: u32,
    pub mtime: i64,
    pub mtime_nsec: i64,
    digest: OnceLock<String>,
}

/// A filtered snapshot of the context directory's metadata.
#[derive(Debug)]
pub struct BuildContext {
    root: PathBuf,
    /// Relative slash-separated paths (no leading `./`); `""` is the root.
    entries: BTreeMap<String, Entry>,
}

/// The `.dockerignore` patterns for a build: `<Dockerfile>.dockerignore` next to the
/// Dockerfile wins over `<context>/.dockerignore`, as BuildKit.
pub fn ignore_patterns(
    context: &Path,
    dockerfile: Option<&Path>,
) -> Result<Vec<String>, ContextError> {
    let mut candidates = Vec::new();
    if let Some(df) = dockerfile {
        let mut p = df.as_os_str().to_owned();
        p.push(".dockerignore");
        candidates.push(PathBuf::from(p));
    }
    candidates.push(context.join(".dockerignore"));
    for c in candidates {
        match fs_err::read_to_string(&c) {
            Ok(text) => return Ok(read_patterns(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ContextError::Io { path: c, source: e }),
        }
    }
    Ok(Vec::new())
}

impl BuildContext {
    /// Walk `root` with the given `.dockerignore` patterns.
    pub fn load(root: &Path, patterns: &[String]) -> Result<Self, ContextError> {
        let pm = PatternMatcher::new(patterns).map_err(|source| ContextError::Pattern {
            path: root.join(".dockerignore"),
            source,
        })?;
        let root = root.to_path_buf();
        let meta = std::fs::metadata(&root).map_err(io(&root))?;
        let mut entries = BTreeMap::new();
        entries.insert(String::new(), entry_from(&meta, EntryKind::Dir));
        let only_prefix_exceptions = pm
            .patterns()
            .iter()
            .filter(|p| p.exclusion())
            .all(|p| !super::gomatch::has_meta(p.text()));
        let mut included = Vec::new();
        walk(
            &root,
            "",
            &pm,
            &MatchInfo::default(),
            only_prefix_exceptions,
            &mut entries,
            &mut included,
        )?;
        Ok(Self { root, entries })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn entry(&self, rel: &str) -> Option<&Entry> {
        self.entries.get(rel)
    }

    /// All included paths (sorted; `""` is the root).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Direct children of a directory (names).
    pub fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, _)| {
                let rest = &k[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }

    pub fn host_path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// Resolve `path` (relative to the context root, `/`-separated) following symlinks inside
    /// the context only. With `follow_last` false the final component is not followed.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Option<String> {
        resolve_in(path, follow_last, |p| match self.entries.get(p) {
            None => Lookup::Missing,
            Some(e) => match &e.kind {
                EntryKind::Symlink { target } => Lookup::Link(target.clone()),
                EntryKind::Dir => Lookup::Dir,
                EntryKind::File { .. } => Lookup::File,
            },
        })
    }

    /// Content digest of one entry (files: sha256 of content; symlinks: of the target).
    pub fn digest(&self, rel: &str) -> Result<String, ContextError> {
        let Some(e) = self.entries.get(rel) else {
            return Ok(String::new());
        };
        if let Some(d) = e.digest.get() {
            return Ok(d.clone());
        }
        let d = match &e.kind {
            EntryKind::File { .. } => {
                let p = self.host_path(rel);
                let mut f = std::fs::File::open(&p).map_err(io(&p))?;
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = f.read(&mut buf).map_err(io(&p))?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                hex::encode(h.finalize())
            }
            EntryKind::Symlink { target } => hex::encode(Sha256::digest(target.as_bytes())),
            EntryKind::Dir => String::new(),
        };
        let _ = e.digest.set(d.clone());
        Ok(d)
    }

    /// A digest of a whole subtree (names, types, modes, contents) for cache keys. Timestamps
    /// and ownership do not count, as BuildKit's content checksums.
    pub fn tree_digest(&self, rel: &str) -> Result<String, ContextError> {
        let mut h = Sha256::new();
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        let items: Vec<&String> = self
            .entries
            .keys()
            .filter(|k| *k == rel || k.starts_with(&prefix) || rel.is_empty())
            .collect();
        for k in items {
            let e = &self.entries[k];
            let name = if rel.is_empty() {
                k.as_str()
            } else {
                k.strip_prefix(&prefix).unwrap_or("")
            };
            let kind = match &e.kind {
                EntryKind::File { .. } => "f",
                EntryKind::Dir => "d",
                EntryKind::Symlink { .. } => "l",
            };
            h.update(format!("{name}\0{kind}\0{:o}\0{}\n", e.mode, self.digest(k)?).as_bytes());
        }
        Ok(hex::encode(h.finalize()))
    }
}

fn entry_from(meta: &std::fs::Metadata, kind: EntryKind) -> Entry {
    Entry {
        kind,
        mode: meta.permissions().mode() & 0o7777,
        mtime: meta.mtime(),
        mtime_nsec: meta.mtime_nsec(),
        digest: OnceLock::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn walk(
    root: &Path,
    rel: &str,
    pm: &PatternMatcher,
    parent_info: &MatchInfo,
    only_prefix_exceptions: bool,
    entries: &mut BTreeMap<String, Entry>,
    pending_dirs: &mut Vec<(String, Entry)>,
) -> Result<(), ContextError> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&dir)
        .map_err(io(&dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(io(&dir))?;
    names.sort();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let host = root.join(&path);
        let meta = std::fs::symlink_metadata(&host).map_err(io(&host))?;
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() {
            let t = std::fs::read_link(&host).map_err(io(&host))?;
            EntryKind::Symlink {
                target: t.to_string_lossy().into_owned(),
            }
        } else if ft.is_file() {
            EntryKind::File { size: meta.len() }
        } else {
            continue; // sockets, devices, fifos are not part of a context
        };
        let (excluded, info) = if pm.is_empty() {
            (false, MatchInfo::default())
        } else {
            pm.matches_using_parent_results(&path, parent_info)
        };
        let is_dir = kind == EntryKind::Dir;
        if excluded {
            if !is_dir {
                continue;
            }
            // As fsutil: descend into an excluded directory only if an exception could
            // re-include something below it.
            let descend = pm.exclusions()
                && (!only_prefix_exceptions
                    || pm
                        .patterns()
                        .iter()
                        .filter(|p| p.exclusion())
                        .any(|p| format!("{}/", p.text()).starts_with(&format!("{path}/"))));
            if descend {
                pending_dirs.push((path.clone(), entry_from(&meta, EntryKind::Dir)));
                walk(
                    root,
                    &path,
                    pm,
                    &info,
                    only_prefix_exceptions,
                    entries,
                    pending_dirs,
                )?;
                if pending_dirs.last().is_some_and(|(p, _)| *p == path) {
                    pending_dirs.pop();
                }
            }
            continue;
        }
        // An included entry brings its excluded parent directories along.
        for (p, e) in pending_dirs.drain(..) {
            entries.insert(p, e);
        }
        entries.insert(path.clone(), entry_from(&meta, kind));
        if is_dir {
            walk(
                root,
                &path,
                pm,
                &info,
                only_prefix_exceptions,
                entries,
                pending_dirs,
            )?;
        }
    }
    Ok(())
}

pub(crate) enum Lookup {
    Missing,
    Dir,
    File,
    Link(String),
}

/// Resolve a path component by component inside a virtual root, following symlinks as if the
/// root were `/` (absolute targets restart at the root, `..` stops at it). At most 255 links.
pub(crate) fn resolve_in(
    path: &str,
    follow_last: bool,
    lookup: impl Fn(&str) -> Lookup,
) -> Option<String> {
    let mut pending: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    pending.reverse();
    let mut cur: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        cur.push(comp);
        let joined = cur.join("/");
        let last = pending.is_empty();
        match lookup(&joined) {
            Lookup::Link(target) if !last || follow_last => {
                links += 1;
                if links > 255 {
                    return None;
                }
                cur.pop();
                if target.starts_with('/') {
                    cur.clear();
                }
                let mut parts: Vec<String> = target
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                parts.reverse();
                pending.extend(parts);
            }
            Lookup::Missing if !last => return None,
            Lookup::File if !last => return None,
            _ => {}
        }
    }
    Some(cur.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_stays_inside_the_root() {
        let look = |p: &str| match p {
            "up" => Lookup::Link("../../etc".into()),
            "abs" => Lookup::Link("/etc/passwd".into()),
            "etc" => Lookup::Dir,
            "etc/passwd" => Lookup::File,
            _ => Lookup::Missing,
        };
        assert_eq!(
            resolve_in("up/passwd", true, look).as_deref(),
            Some("etc/passwd")
        );
        assert_eq!(resolve_in("abs", true, look).as_deref(), Some("etc/passwd"));
        assert_eq!(resolve_in("abs", false, look).as_deref(), Some("abs"));
        assert_eq!(resolve_in("../../x", true, look).as_deref(), Some("x"));
    }
}
