//! Registry credentials in Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`): `auths.<server>.auth` = base64(`user:password`), credential
//! helpers (`credsStore`, `credHelpers`: `docker-credential-<name> get|store|erase`).
//! `rcompose login`/`logout` write the same file, so Docker and rcompose share logins.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use fs_err as fs;
use serde_json::{Map, Value};

use super::Error;

/// Docker Hub's key in `auths`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The key `auths` uses for a registry (`docker.io` is Docker Hub's legacy URL).
pub fn server_key(registry: &str) -> String {
    if registry == "docker.io" {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

pub fn config_path() -> PathBuf {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".docker")
        });
    dir.join("config.json")
}

fn read_config() -> Result<Map<String, Value>, Error> {
    let path = config_path();
    match std::fs::read(&path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(b) => serde_json::from_slice(&b).map_err(|source| Error::Json { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(fs::read(&path)
            .map(|_| ())
            .err()
            .map(Error::from)
            .unwrap_or_else(|| e.into())),
    }
}

fn write_config(cfg: &Map<String, Value>) -> Result<(), Error> {
    let path = config_path();
    let dir = path.parent().expect("config path has a parent");
    fs::create_dir_all(dir)?;
    let mut bytes = serde_json::to_vec_pretty(cfg).expect("serialize");
    bytes.push(b'\n');
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)?;
        use std::os::unix::fs::PermissionsExt;
        f.file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(&bytes)?;
    }
    fs::rename(&tmp, &path)?;
    Ok(())
}

fn helper_for(cfg: &Map<String, Value>, registry: &str) -> Option<String> {
    let key = server_key(registry);
    cfg.get("credHelpers")
        .and_then(|h| h.get(registry).or_else(|| h.get(&key)))
        .and_then(Value::as_str)
        .or_else(|| cfg.get("credsStore").and_then(Value::as_str))
        .map(str::to_string)
}

/// Credentials for `registry` (`docker.io`, `localhost:5000`), if any are configured.
pub fn lookup(registry: &str) -> Result<Option<Credentials>, Error> {
    let cfg = read_config()?;
    let key = server_key(registry);
    if let Some(helper) = helper_for(&cfg, registry) {
        return helper_get(&helper, &key);
    }
    let Some(auths) = cfg.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let entry = auths.get(&key).or_else(|| {
        auths.iter().find_map(|(k, v)| {
            let bare = k
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let bare = bare.split('/').next().unwrap_or(bare);
            (bare == registry).then_some(v)
        })
    });
    let Some(entry) = entry else { return Ok(None) };
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| {
                Error::Credentials(format!(
                    "`{}`: invalid base64 in auths.{key}.auth: {e}",
                    config_path().display()
                ))
            })?;
        let text = String::from_utf8_lossy(&decoded);
        let (u, p) = text.split_once(':').ok_or_else(|| {
            Error::Credentials(format!(
                "`{}`: auths.{key}.auth is not `user:password`",
                config_path().display()
            ))
        })?;
        return Ok(Some(Credentials {
            username: u.into(),
            password: p.into(),
        }));
    }
    match (
        entry.get("username").and_then(Value::as_str),
        entry.get("password").and_then(Value::as_str),
    ) {
        (Some(u), Some(p)) => Ok(Some(Credentials {
            username: u.into(),
            password: p.into(),
        })),
        _ => Ok(None),
    }
}

fn helper_get(helper: &str, server: &str) -> Result<Option<Credentials>, Error> {
    let out = run_helper(helper, "get", server.as_bytes())?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout);
        if msg.contains("credentials not found") {
            return Ok(None);
        }
        return Err(Error::Credentials(format!(
            "`docker-credential-{helper} get` failed: {}",
            msg.trim()
        )));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::Credentials(format!(
            "`docker-credential-{helper} get` printed invalid JSON: {e}"
        ))
    })?;
    let u = v
        .get("Username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let s = v.get("Secret").and_then(Value::as_str).unwrap_or_default();
    if s.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: u.into(),
        password: s.into(),
    }))
}

fn run_helper(helper: &str, verb: &str, input: &[u8]) -> Result<std::process::Output, Error> {
    let prog = format!("docker-credential-{helper}");
    let mut child = Command::new(&prog)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Credentials(format!("cannot run credential helper `{prog}`: {e}")))?;
    child.stdin.take().expect("piped").write_all(input).ok();
    child
        .wait_with_output()
        .map_err(|e| Error::Credentials(format!("credential helper `{prog}`: {e}")))
}

/// Save credentials as `docker login` does (helper if configured, else base64 in `auths`).
pub fn store(registry: &str, creds: &Credentials) -> Result<PathBuf, Error> {
    let mut cfg = read_config()?;
    let key = server_key(registry);
    if let Some(helper) = helper_for(&cfg, registry) {
        let input = serde_json::json!({"ServerURL": key, "Username": creds.username, "Secret": creds.password});
        let out = run_helper(&helper, "store", input.to_string().as_bytes())?;
        if !out.status.success() {
            return Err(Error::Credentials(format!(
                "`docker-credential-{helper} store` failed: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            )));
        }
        return Ok(config_path());
    }
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.username, creds.password));
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    auths
        .as_object_mut()
        .expect("object")
        .insert(key, serde_json::json!({ "auth": auth }));
    write_config(&cfg)?;
    Ok(config_path())
}

/// Forget credentials as `docker logout` does. Returns whether any were stored.
pub fn erase(registry: &str) -> Result<bool, Error> {
    let mut cfg = read_config()?;
    let key = server_key(registry);
    if let Some(helper) = helper_for(&cfg, registry) {
        let out = run_helper(&helper, "erase", key.as_bytes())?;
        return Ok(out.status.success());
    }
    let removed = cfg
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .map(|a| a.remove(&key).is_some())
        .unwrap_or(false);
    if removed {
        write_config(&cfg)?;
    }
    Ok(removed)
}
