//! rcompose's own configuration file, for registry settings.
//!
//! Read from `$RCOMPOSE_CONFIG`, else `/etc/rcompose/config.toml`; a missing file means the
//! defaults. Key names follow Docker's `daemon.json`:
//!
//! ```toml
//! # Registries reached over plain HTTP (after trying HTTPS), as Docker's insecure-registries:
//! # `host[:port]` or a CIDR. Loopback registries are always allowed plain HTTP.
//! insecure-registries = ["registry.lan:5000", "10.1.0.0/16"]
//! # Mirrors tried before Docker Hub, in order.
//! registry-mirrors = ["https://mirror.example.com"]
//! # At most this many layers are downloaded at once (Docker: 3).
//! max-concurrent-downloads = 3
//! # Mirrors for other registries.
//! [mirrors]
//! "ghcr.io" = ["http://127.0.0.1:5001"]
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

pub const DEFAULT_CONFIG: &str = "/etc/rcompose/config.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    #[serde(default)]
    pub registry_mirrors: Vec<String>,
    #[serde(default = "default_downloads")]
    pub max_concurrent_downloads: usize,
    #[serde(default)]
    pub mirrors: BTreeMap<String, Vec<String>>,
}

fn default_downloads() -> usize {
    3
}

impl Default for Config {
    fn default() -> Self {
        Config {
            insecure_registries: Vec::new(),
            registry_mirrors: Vec::new(),
            max_concurrent_downloads: default_downloads(),
            mirrors: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read rcompose config `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid rcompose config `{path}`: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Config {
    pub fn path() -> PathBuf {
        std::env::var_os("RCOMPOSE_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }

    /// Load from [`Config::path`]; defaults if the file does not exist.
    pub fn load() -> Result<Config, ConfigError> {
        let path = Self::path();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path,
                message: e.to_string().trim_end().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// May `registry` (`host[:port]`) be spoken to over plain HTTP?
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure_registries.iter().any(|entry| {
            if entry == registry || entry == host {
                return true;
            }
            match (entry.split_once('/'), host.parse::<IpAddr>()) {
                (Some((net, bits)), Ok(ip)) => in_cidr(ip, net, bits),
                _ => false,
            }
        })
    }

    /// Mirror base URLs to try before `registry` itself.
    pub fn mirrors_for(&self, registry: &str) -> Vec<String> {
        let mut out = Vec::new();
        if registry == super::reference::DEFAULT_REGISTRY {
            out.extend(self.registry_mirrors.iter().cloned());
        }
        if let Some(m) = self.mirrors.get(registry) {
            out.extend(m.iter().cloned());
        }
        out
    }
}

/// `host` of `host[:port]` / `[v6]:port`.
pub fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => registry,
    }
}

fn in_cidr(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let c: Config = toml::from_str(
            r#"insecure-registries = ["reg.lan:5000", "10.1.0.0/16"]
registry-mirrors = ["http://127.0.0.1:1"]
[mirrors]
"ghcr.io" = ["http://127.0.0.1:2"]"#,
        )
        .unwrap();
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(c.is_insecure("reg.lan:5000"));
        assert!(c.is_insecure("10.1.2.3:443"));
        assert!(!c.is_insecure("10.2.0.1"));
        assert!(!c.is_insecure("ghcr.io"));
        assert_eq!(c.mirrors_for("docker.io"), vec!["http://127.0.0.1:1"]);
        assert_eq!(c.mirrors_for("ghcr.io"), vec!["http://127.0.0.1:2"]);
        assert_eq!(c.max_concurrent_downloads, 3);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("insecure = true").is_err());
    }
}
