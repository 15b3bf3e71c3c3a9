//! Image references as Docker reads them.
//!
//! `busybox` means `docker.io/library/busybox:latest`; `host:port/repo:tag@sha256:...` is the
//! full form. Grammar and normalisation follow `github.com/distribution/reference`
//! (`normalize.go`): the first path component is a registry only if it contains `.` or `:`
//! or is `localhost`.

use std::fmt;
use std::str::FromStr;

use super::digest::Digest;

pub const DEFAULT_REGISTRY: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";

/// A normalised image reference. `tag` is `None` only when a digest is given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `docker.io`, `localhost:5000`, `ghcr.io`, ...
    pub registry: String,
    /// `library/busybox`, `org/app`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference format: `{0}` is empty")]
    Empty(String),
    #[error("invalid reference format: repository name `{0}` must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: `{0}`")]
    Invalid(String),
    #[error(
        "invalid reference format: tag `{tag}` in `{input}` (at most 128 of [A-Za-z0-9_.-], not starting with `.` or `-`)"
    )]
    InvalidTag { input: String, tag: String },
    #[error("invalid reference format: `{input}`: {source}")]
    InvalidDigest {
        input: String,
        #[source]
        source: super::digest::InvalidDigest,
    },
    #[error("invalid reference format: repository name `{0}` is longer than 255 characters")]
    TooLong(String),
    #[error("invalid repository name `{0}`: cannot specify 64-byte hexadecimal strings")]
    HexName(String),
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_domain(d: &str) -> bool {
    // host[:port], host = components of [A-Za-z0-9-] separated by `.`, or an [IPv6] literal.
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => {
                if !h
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
                {
                    return false;
                }
                let port = match p.strip_prefix(':') {
                    Some(port) => Some(port),
                    None if p.is_empty() => None,
                    None => return false,
                };
                (None, port)
            }
            None => return false,
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    match host {
        None => true,
        Some(h) => {
            !h.is_empty()
                && h.split('.').all(|part| {
                    !part.is_empty()
                        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !part.starts_with('-')
                        && !part.ends_with('-')
                })
        }
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || x == b'-')
}

impl Reference {
    /// Parse and normalise, as `docker pull` does.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty(input.to_string()));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                let digest =
                    d.parse::<Digest>()
                        .map_err(|source| ReferenceError::InvalidDigest {
                            input: input.to_string(),
                            source,
                        })?;
                (r, Some(digest))
            }
            None => (input, None),
        };
        // A tag is after the last `:` that follows the last `/` (a port is before a `/`).
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(ReferenceError::InvalidTag {
                        input: input.to_string(),
                        tag: tag.to_string(),
                    });
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::Invalid(input.to_string()));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.')
                    || first.contains(':')
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                if !valid_domain(first) {
                    return Err(ReferenceError::Invalid(input.to_string()));
                }
                (first.to_string(), path.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
            DEFAULT_REGISTRY.to_string()
        } else {
            registry
        };
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(path));
        }
        if !path.split('/').all(valid_component) {
            return Err(ReferenceError::Invalid(input.to_string()));
        }
        if path.len() == 64
            && path.bytes().all(|b| b.is_ascii_hexdigit())
            && registry == DEFAULT_REGISTRY
        {
            return Err(ReferenceError::HexName(path));
        }
        let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if registry.len() + 1 + repository.len() > 255 {
            return Err(ReferenceError::TooLong(repository));
        }
        let tag = match (&tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            _ => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `docker.io/library/busybox` (no tag, no digest).
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository with a digest and no tag.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The short form Docker prints: `busybox:latest`, `localhost:5000/app:1`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
    }

    /// `busybox`, `org/app`, `localhost:5000/app`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix("library/")
                .filter(|r| !r.contains('/'))
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.name()
        }
    }

    /// The tag, or the digest, as the registry's `manifests/<reference>` path wants it.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, ReferenceError> {
        Reference::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn short_names_normalise_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("org/app"), "docker.io/org/app:latest");
        assert_eq!(
            full("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/a/b:v1"), "localhost:5000/a/b:v1");
        assert_eq!(full("127.0.0.1:5000/app"), "127.0.0.1:5000/app:latest");
        assert_eq!(full("[::1]:5000/app:t"), "[::1]:5000/app:t");
        assert_eq!(full("ghcr.io/o/r"), "ghcr.io/o/r:latest");
    }

    #[test]
    fn digests_and_tags_combine() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("localhost:5000/app@{d}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.manifest_reference(), d);
        let r = Reference::parse(&format!("app:v1@{d}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(r.familiar(), format!("app:v1@{d}"));
    }

    #[test]
    fn familiar_form_drops_defaults() {
        assert_eq!(
            Reference::parse("busybox").unwrap().familiar(),
            "busybox:latest"
        );
        assert_eq!(
            Reference::parse("docker.io/org/app:1").unwrap().familiar(),
            "org/app:1"
        );
        assert_eq!(
            Reference::parse("localhost:5000/app").unwrap().familiar(),
            "localhost:5000/app:latest"
        );
    }

    #[test]
    fn bad_references_are_refused_with_the_reason() {
        assert!(matches!(
            Reference::parse("Busybox"),
            Err(ReferenceError::Uppercase(_))
        ));
        assert!(matches!(
            Reference::parse("busybox:"),
            Err(ReferenceError::InvalidTag { .. })
        ));
        assert!(matches!(
            Reference::parse("busybox:-x"),
            Err(ReferenceError::InvalidTag { .. })
        ));
        assert!(matches!(
            Reference::parse("a@sha256:12"),
            Err(ReferenceError::InvalidDigest { .. })
        ));
        assert!(matches!(
            Reference::parse(""),
            Err(ReferenceError::Empty(_))
        ));
        assert!(Reference::parse("a//b").is_err());
        assert!(Reference::parse("a/-b").is_err());
        assert!(Reference::parse("host:port/a").is_err());
        assert!(matches!(
            Reference::parse(&"a".repeat(64)),
            Err(ReferenceError::HexName(_))
        ));
        let msg = Reference::parse("Foo/Bar").unwrap_err().to_string();
        assert!(msg.contains("must be lowercase"), "{msg}");
    }
}
