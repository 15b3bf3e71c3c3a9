//! Relative paths made absolute against the folder of the file that declared them
//! (compose-go `paths.ResolveRelativePaths`), `~` expansion and Go's `path.Clean`.

use std::path::Path;

use super::error::LoadError;
use super::node::{Node, Value};

/// Go's `path.Clean` for slash-separated paths.
pub fn clean_unix(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if let Some(last) = parts.last() {
                    if *last == ".." {
                        parts.push("..");
                    } else {
                        parts.pop();
                    }
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// Go's `filepath.Join` (cleans the result; empty elements are skipped).
pub fn join(base: &str, p: &str) -> String {
    if base.is_empty() {
        if p.is_empty() {
            return String::new();
        }
        return clean_unix(p);
    }
    if p.is_empty() {
        return clean_unix(base);
    }
    clean_unix(&format!("{base}/{p}"))
}

/// `~` and `~/x` become `$HOME/...` (compose-go `paths.ExpandUser`).
pub fn expand_user(p: &str, home: Option<&str>) -> String {
    if let Some(rest) = p.strip_prefix('~')
        && let Some(home) = home
    {
        return join(home, rest);
    }
    p.to_string()
}

fn is_windows_abs(p: &str) -> bool {
    let b = p.as_bytes();
    (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || p.starts_with("\\\\")
}

pub fn is_remote_context(s: &str) -> bool {
    [
        "https://",
        "http://",
        "git://",
        "ssh://",
        "github.com/",
        "git@",
    ]
    .iter()
    .any(|p| s.starts_with(p))
}

pub struct Resolver<'a> {
    pub base: &'a str,
    pub home: Option<&'a str>,
}

impl Resolver<'_> {
    fn abs(&self, v: &str) -> String {
        let v = expand_user(v, self.home);
        if v.starts_with('/') {
            return v;
        }
        if !v.is_empty() {
            return join(self.base, &v);
        }
        v
    }

    fn maybe_unix(&self, v: &str) -> String {
        let p = expand_user(v, self.home);
        if !p.starts_with('/') && !is_windows_abs(&p) {
            return join(self.base, &p);
        }
        p
    }

    fn context(&self, v: &str) -> String {
        if v.contains("://") || v.starts_with("service:") || is_remote_context(v) {
            return v.to_string();
        }
        self.abs(v)
    }

    fn set(n: &mut Node, f: impl FnOnce(&str) -> String) {
        if let Value::Str(s) = &n.v {
            let new = f(s);
            n.v = Value::Str(new);
        }
    }

    /// Resolve every path of the model.
    pub fn resolve(&self, root: &mut Node) -> Result<(), LoadError> {
        let Some(top) = root.as_map_mut() else {
            return Ok(());
        };
        if let Some(services) = top.get_mut("services").and_then(Node::as_map_mut) {
            for (name, svc) in services.iter_mut() {
                self.service(name, svc)?;
            }
        }
        for kind in ["configs", "secrets"] {
            if let Some(m) = top.get_mut(kind).and_then(Node::as_map_mut) {
                for (_, r) in m.iter_mut() {
                    if let Some(f) = r.get_mut("file") {
                        Self::set(f, |s| self.maybe_unix(s));
                    }
                }
            }
        }
        if let Some(m) = top.get_mut("volumes").and_then(Node::as_map_mut) {
            for (_, vol) in m.iter_mut() {
                if vol.get_str("driver") != Some("local") {
                    continue;
                }
                if let Some(opts) = vol.get_mut("driver_opts").and_then(Node::as_map_mut)
                    && opts.get("o").and_then(Node::as_str) == Some("bind")
                    && let Some(dev) = opts.get_mut("device")
                {
                    Self::set(dev, |s| self.maybe_unix(s));
                }
            }
        }
        Ok(())
    }

    fn service(&self, name: &str, svc: &mut Node) -> Result<(), LoadError> {
        let Some(s) = svc.as_map_mut() else {
            return Ok(());
        };
        if let Some(b) = s.get_mut("build").and_then(Node::as_map_mut) {
            if let Some(c) = b.get_mut("context") {
                Self::set(c, |s| self.context(s));
            }
            if let Some(ac) = b.get_mut("additional_contexts").and_then(Node::as_map_mut) {
                for (_, c) in ac.iter_mut() {
                    Self::set(c, |s| self.context(s));
                }
            }
            if let Some(ssh) = b.get_mut("ssh").and_then(Node::as_map_mut) {
                for (_, c) in ssh.iter_mut() {
                    Self::set(c, |s| self.maybe_unix(s));
                }
            }
        }
        if let Some(items) = s.get_mut("env_file").and_then(Node::as_seq_mut) {
            for it in items.iter_mut() {
                if let Some(p) = it.get_mut("path") {
                    Self::set(p, |s| self.abs(s));
                }
            }
        }
        if let Some(items) = s.get_mut("label_file").and_then(Node::as_seq_mut) {
            for it in items.iter_mut() {
                Self::set(it, |s| self.abs(s));
            }
        }
        if let Some(f) = s.get_mut("extends").and_then(|e| e.get_mut("file")) {
            Self::set(f, |s| self.abs(s));
        }
        if let Some(watch) = s
            .get_mut("develop")
            .and_then(|d| d.get_mut("watch"))
            .and_then(Node::as_seq_mut)
        {
            for w in watch.iter_mut() {
                if let Some(p) = w.get_mut("path") {
                    Self::set(p, |s| {
                        let a = self.abs(s);
                        resolve_symlink(&a)
                    });
                }
            }
        }
        if let Some(vols) = s.get_mut("volumes").and_then(Node::as_seq_mut) {
            for (i, v) in vols.iter_mut().enumerate() {
                let pos = v.pos;
                let Some(m) = v.as_map_mut() else { continue };
                if m.get("type").and_then(Node::as_str) != Some("bind") {
                    continue;
                }
                match m.get_mut("source") {
                    Some(src) => Self::set(src, |s| self.maybe_unix(s)),
                    None => {
                        return Err(LoadError::at(
                            pos,
                            format!("services.{name}.volumes[{i}]"),
                            "invalid mount config for type \"bind\": field Source must not be empty",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn resolve_symlink(p: &str) -> String {
    match std::fs::symlink_metadata(p) {
        Ok(md) if md.file_type().is_symlink() => std::fs::canonicalize(p)
            .map(|c| c.display().to_string())
            .unwrap_or_else(|_| p.to_string()),
        _ => p.to_string(),
    }
}

/// Relative folder of `path` (a file or folder) from `working_dir`, as compose-go's
/// `localResourceLoader.Dir`.
pub fn rel_dir(working_dir: &Path, original: &str) -> String {
    let abs = |p: &str| -> String {
        if p.starts_with('/') {
            p.to_string()
        } else {
            join(&working_dir.display().to_string(), p)
        }
    };
    let mut path = abs(original);
    if !Path::new(&path).is_dir() {
        let parent = Path::new(original)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        path = abs(if parent.is_empty() { "." } else { &parent });
    }
    relative(&working_dir.display().to_string(), &path).unwrap_or(path)
}

/// Go's `filepath.Rel` for absolute, clean paths.
pub fn relative(base: &str, target: &str) -> Option<String> {
    let base = clean_unix(base);
    let target = clean_unix(target);
    if base.starts_with('/') != target.starts_with('/') {
        return None;
    }
    let b: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let t: Vec<&str> = target.split('/').filter(|s| !s.is_empty()).collect();
    let common = b.iter().zip(t.iter()).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; b.len() - common];
    parts.extend(&t[common..]);
    if parts.is_empty() {
        Some(".".into())
    } else {
        Some(parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        assert_eq!(clean_unix("/a/./b/../c/"), "/a/c");
        assert_eq!(clean_unix("../a/.."), "..");
        assert_eq!(clean_unix("/.."), "/");
        assert_eq!(join("/p", "./x/../y"), "/p/y");
        assert_eq!(join("/p", "."), "/p");
        assert_eq!(expand_user("~/c", Some("/root")), "/root/c");
        assert_eq!(relative("/a/b", "/a/c/d").as_deref(), Some("../c/d"));
        assert_eq!(relative("/a/b", "/a/b").as_deref(), Some("."));
    }
}
