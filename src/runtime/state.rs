//! `state.json`: the container's lifecycle state, written atomically; liveness from `/proc`.
//!
//! The shim is the only writer while it is alive; the CLI writes only when no shim is (at
//! `create`, and when it repairs after a dead shim), always under the container's lock.
//! Nothing is trusted from the file alone: a pid counts only if `/proc/<pid>/stat` shows the
//! same start time (so a recycled pid is never mistaken for the shim or the container).

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Lifecycle status, Docker's words. Serialized as `"running"` or `{"exited":{"code":0}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, never started (or start failed before the process ran).
    Created,
    Running,
    Paused,
    /// Exited; the shim is waiting out the restart back-off.
    Restarting,
    Exited {
        code: i32,
    },
    /// Unrecoverable (e.g. removal failed half-way).
    Dead,
}

impl Status {
    /// Docker's `State.Status` word.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited { .. } => "exited",
            Status::Dead => "dead",
        }
    }
    /// A shim should be alive in these states.
    pub fn is_active(&self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
    pub fn can_start(&self) -> bool {
        matches!(self, Status::Created | Status::Exited { .. })
    }
    pub fn can_exec(&self) -> bool {
        matches!(self, Status::Running)
    }
}

/// Docker's health states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One healthcheck probe (Docker's `HealthcheckResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// 0 healthy; anything else a failure; -1 a timeout or a probe that could not run.
    pub exit_code: i32,
    /// Combined stdout+stderr, at most 4096 bytes (Docker's limit).
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    /// The last five probes, oldest first.
    pub log: Vec<ProbeResult>,
}

/// The content of `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub status: Status,
    /// Host pid of the container's init while it runs.
    pub pid: Option<i32>,
    /// Its start time (clock ticks since boot, `/proc/<pid>/stat` field 22).
    pub pid_start: Option<u64>,
    pub shim_pid: Option<i32>,
    pub shim_start: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The last exit code (also in `Status::Exited`).
    pub exit_code: Option<i32>,
    pub oom_killed: bool,
    pub restart_count: u32,
    /// Stopped by `stop`/`kill`: no restart until the next explicit start.
    pub manually_stopped: bool,
    pub health: Option<Health>,
    /// Why the last start failed or how the container died, for `inspect` and errors.
    pub error: Option<String>,
}

impl State {
    pub fn new_created() -> Self {
        State {
            status: Status::Created,
            pid: None,
            pid_start: None,
            shim_pid: None,
            shim_start: None,
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            exit_code: None,
            oom_killed: false,
            restart_count: 0,
            manually_stopped: false,
            health: None,
            error: None,
        }
    }

    pub fn load(path: &Path) -> std::io::Result<State> {
        let bytes = fs_err::read(path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(path, &bytes)
    }

    /// Whether the recorded shim process is alive (same pid and start time).
    pub fn shim_alive(&self) -> bool {
        match (self.shim_pid, self.shim_start) {
            (Some(pid), Some(start)) => super::proc::is_alive(pid, start),
            _ => false,
        }
    }

    /// Whether the recorded container init is alive.
    pub fn init_alive(&self) -> bool {
        match (self.pid, self.pid_start) {
            (Some(pid), Some(start)) => super::proc::is_alive(pid, start),
            _ => false,
        }
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, then
/// `rename(2)`. A process killed at any point leaves either the old or the new content,
/// never a torn file. No fsync: this is for state that is rewritten often and can be
/// re-derived (liveness comes from `/proc`); see [`write_durable`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_impl(path, bytes, false)
}

/// [`write_atomic`] plus `fsync` of the file before the rename (as moby's atomic writer),
/// for data that cannot be re-derived (`container.json`).
pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_impl(path, bytes, true)
}

fn write_impl(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = fs_err::File::create(&tmp)?;
    f.write_all(bytes)?;
    if durable {
        f.sync_all()?;
    }
    drop(f);
    fs_err::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_status_serializes_readably() {
        let mut s = State::new_created();
        s.status = Status::Exited { code: 3 };
        let j = serde_json::to_value(&s).unwrap();
        assert_eq!(j["status"], serde_json::json!({"exited": {"code": 3}}));
        let back: State = serde_json::from_value(j).unwrap();
        assert_eq!(back, s);
        s.status = Status::Running;
        assert_eq!(serde_json::to_value(&s).unwrap()["status"], "running");
    }

    #[test]
    fn atomic_write_replaces_content() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
