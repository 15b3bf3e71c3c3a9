//! The `init: true` reaper: a static C program (`init/reaper.c`, built by `build.rs`)
//! embedded in rcompose and installed once under `<root>/bin/`, then bind-mounted read-only
//! at `/sbin/docker-init` in containers that ask for it (Docker's docker-init/tini model).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The static reaper's bytes.
pub const INIT_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rcompose-init"));

/// Install the reaper under `bin_dir` (content-addressed, atomic) and return its path.
pub fn install(bin_dir: &Path) -> std::io::Result<PathBuf> {
    let hash = hex::encode(&Sha256::digest(INIT_BINARY)[..8]);
    let path = bin_dir.join(format!("rcompose-init-{hash}"));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == INIT_BINARY.len() as u64) {
        return Ok(path);
    }
    fs_err::create_dir_all(bin_dir)?;
    let tmp = bin_dir.join(format!(".rcompose-init.{}", std::process::id()));
    fs_err::write(&tmp, INIT_BINARY)?;
    fs_err::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    fs_err::rename(&tmp, &path)?;
    Ok(path)
}
