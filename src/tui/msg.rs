//! Everything `update` consumes: terminal input, the clock, and the data the engine feeds in.
//!
//! The engine (and its log tailers and stats samplers) only ever *send* these; the dashboard's
//! loop owns the model and applies them one by one (see `STYLE.md`, "one writer plus a pure
//! view"). Every type here is plain data so a feed can be recorded and replayed in tests.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};

/// One message for [`crate::tui::update::update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    // ── from the terminal (the loop's input thread) ──
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal's new size in cells.
    Resize {
        width: u16,
        height: u16,
    },
    /// The clock: the loop sends the current time before every frame. The model never reads
    /// the system clock itself, so snapshots are deterministic.
    Tick(DateTime<Utc>),
    /// SIGINT or SIGTERM from outside (`kill`): handled like Ctrl-C, as Compose does.
    Interrupt,
    /// SIGHUP: the terminal went away. Detach, leaving the project running.
    Hangup,

    // ── from the engine ──
    /// The project as a whole; sent once at start and again when the compose file changes.
    Project(ProjectInfo),
    /// The full current state of one container (sent on every change; replaces the last one).
    Container(Box<ContainerSnapshot>),
    /// A container no longer exists (removed by `down`, scale down or recreate).
    ContainerRemoved {
        name: String,
    },
    /// One resource sample (Docker samples once a second).
    Stats(StatsSample),
    /// New log lines of one container, oldest first. Send lines in batches (everything a tail
    /// read returned) rather than one message per line.
    Logs(LogBatch),
    /// Progress of engine work (pull, create, start, an action the user asked for), modelled
    /// on Compose's progress events.
    Progress(Progress),
    /// Details of one container: the answer to [`crate::tui::command::Actions::watch_details`],
    /// re-sent whenever they change (e.g. the process list every few seconds).
    Details(Box<Details>),
    /// The stop or kill the user asked for (or one the engine decided) has finished: the
    /// loop exits.
    ShutdownComplete,

    // ── from the loop itself ──
    /// An interactive command run by [`crate::tui::command::Command::Exec`] has returned.
    ExecFinished {
        container: String,
        result: Result<i32, String>,
    },
    /// [`crate::tui::command::Command::SaveLogs`] finished.
    LogsSaved {
        path: String,
        lines: usize,
        result: Result<(), String>,
    },
}

/// The project the dashboard shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectInfo {
    /// Compose project name (`-p`, `name:` or the folder).
    pub name: String,
    /// Services in compose-file order, including those scaled to zero.
    pub services: Vec<String>,
}

/// A container's lifecycle state, as `docker ps` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    Created,
    Running,
    Restarting,
    Paused,
    Exited { code: i32 },
    Dead,
}

impl ContainerState {
    /// Running or paused: it has processes, so it can be stopped or killed.
    pub fn is_up(self) -> bool {
        matches!(self, Self::Running | Self::Paused | Self::Restarting)
    }
    /// `docker start` applies.
    pub fn can_start(self) -> bool {
        matches!(self, Self::Created | Self::Exited { .. } | Self::Dead)
    }
    /// A short word for tables: `running`, `exited (137)`, ...
    pub fn label(self) -> String {
        match self {
            Self::Created => "created".into(),
            Self::Running => "running".into(),
            Self::Restarting => "restarting".into(),
            Self::Paused => "paused".into(),
            Self::Exited { code } => format!("exited ({code})"),
            Self::Dead => "dead".into(),
        }
    }
    /// Sort rank: the states that need attention first when sorting by state.
    pub fn rank(self) -> u8 {
        match self {
            Self::Dead => 0,
            Self::Exited { code } if code != 0 => 1,
            Self::Restarting => 2,
            Self::Paused => 3,
            Self::Created => 4,
            Self::Exited { .. } => 5,
            Self::Running => 6,
        }
    }
}

/// Healthcheck status, as in `docker inspect` `State.Health.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// One healthcheck run, as in `State.Health.Log[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub exit_code: i32,
    pub output: String,
}

/// Health of a container with a healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    /// The most recent probes, oldest first (Docker keeps 5).
    pub probes: Vec<Probe>,
}

/// A published port, as in `docker ps` (`0.0.0.0:8080->80/tcp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub host_ip: Option<String>,
    /// `None` when the port is exposed but not published.
    pub host_port: Option<u16>,
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// The state of one container. Sent whole on every change.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSnapshot {
    /// The runtime's container id (hex).
    pub id: String,
    /// `<project>-<service>-<number>`: the key the dashboard uses for the container.
    pub name: String,
    pub service: String,
    /// The replica number (`com.docker.compose.container-number`).
    pub number: u32,
    pub state: ContainerState,
    /// `None` when the service has no healthcheck.
    pub health: Option<Health>,
    /// When the current run started (for uptime); `None` if it never ran.
    pub started_at: Option<DateTime<Utc>>,
    /// When the last run ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Restarts by the restart policy (`RestartCount`).
    pub restart_count: u32,
    /// The image reference as written in the compose file (`nginx:1.27`).
    pub image: String,
    pub ports: Vec<Port>,
    /// Why the running container no longer matches the compose file (the reconcile cause,
    /// e.g. "config changed"), or `None` when it matches.
    pub drift: Option<String>,
}

/// One resource sample of one container (what `docker stats` shows).
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSample {
    pub container: String,
    pub time: DateTime<Utc>,
    /// Percent of one CPU (Docker's convention: 200% = two cores busy).
    pub cpu_percent: f64,
    pub mem_usage: u64,
    /// The cgroup limit, `None` when unlimited.
    pub mem_limit: Option<u64>,
    pub pids: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line a container printed (without its newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the shim read it (the time `docker logs -t` shows).
    pub time: DateTime<Utc>,
    pub stream: Stream,
    /// The raw text; may contain ANSI colour codes (kept) and other control characters
    /// (replaced on arrival).
    pub text: String,
}

/// Lines of one container, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    pub container: String,
    /// The container's service (so a container's lines can arrive before its snapshot).
    pub service: String,
    pub lines: Vec<LogLine>,
}

/// Status of a progress item; the same four as Compose's progress events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgressStatus {
    Working,
    Done,
    Warning,
    Error,
}

/// One progress event: `Container myapp-web-1  Restarting`, `Image nginx:1.27  Pulling 45%`.
/// An item is identified by `id`; a later event with the same `id` replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The thing worked on, with its kind: `Container myapp-web-1`, `Network myapp_default`.
    pub id: String,
    pub status: ProgressStatus,
    /// What is happening or happened: `Pulling`, `Started`, `Error`.
    pub text: String,
    /// More detail (an error message, `12.3MB/45.6MB`).
    pub detail: Option<String>,
    /// 0..=100 when known.
    pub percent: Option<u8>,
}

/// A mount of a container, as in `docker inspect` `Mounts[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// A network the container is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAttachment {
    pub network: String,
    pub ip: Option<String>,
    pub aliases: Vec<String>,
}

/// The processes of a container, as `docker top` returns them (titles and rows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processes {
    pub titles: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What the details panel shows about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub container: String,
    /// The service's effective configuration, as `rcompose config` prints it (YAML).
    pub config_yaml: String,
    /// The container's environment, in order.
    pub env: Vec<(String, String)>,
    pub mounts: Vec<Mount>,
    pub networks: Vec<NetworkAttachment>,
    pub processes: Processes,
}
