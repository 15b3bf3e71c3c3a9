//! What `update` asks the outside world to do, and the seam the engine implements.
//!
//! `update` never performs effects: it returns [`Command`]s. The loop carries out the
//! terminal-side ones itself (exec with the terminal suspended, saving a file, mouse capture,
//! exiting) and hands the rest to an [`Actions`] implementation: the engine in `up` and
//! `dashboard`, [`RecordingActions`] in tests, the demo world in `--demo`.

use std::path::PathBuf;

/// The container an action applies to (and its service, for service-wide actions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub service: String,
    /// `<project>-<service>-<number>`.
    pub container: String,
}

/// A lifecycle action the user asked for. All are fire-and-forget: the engine reports
/// progress and errors back as [`crate::tui::msg::Msg::Progress`] and the resulting state as
/// container snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `docker restart` on the container.
    Restart(Target),
    /// `docker stop` (SIGTERM, then SIGKILL after the service's `stop_grace_period`).
    Stop(Target),
    Start(Target),
    /// SIGKILL now, as `docker kill`.
    Kill(Target),
    /// Recreate the service's containers from the current compose file (`up --force-recreate
    /// <service>` for this service only; applies drift).
    Recreate(Target),
    Pause(Target),
    Unpause(Target),
    /// `up --scale <service>=<replicas> --no-recreate`, for this service only.
    Scale {
        service: String,
        replicas: u32,
    },
    /// Compose's first Ctrl-C: stop every container of the project gracefully, then send
    /// [`crate::tui::msg::Msg::ShutdownComplete`].
    StopProject,
    /// The second Ctrl-C: kill every container, then send `ShutdownComplete`.
    KillProject,
}

impl Action {
    /// The past-tense-free verb shown in confirmations and the status line.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Restart(_) => "Restart",
            Action::Stop(_) => "Stop",
            Action::Start(_) => "Start",
            Action::Kill(_) => "Kill",
            Action::Recreate(_) => "Recreate",
            Action::Pause(_) => "Pause",
            Action::Unpause(_) => "Unpause",
            Action::Scale { .. } => "Scale",
            Action::StopProject => "Stop project",
            Action::KillProject => "Kill project",
        }
    }

    /// `Stop `myapp-web-1``, `Scale `web` to 3`.
    pub fn describe(&self) -> String {
        match self {
            Action::Restart(t)
            | Action::Stop(t)
            | Action::Start(t)
            | Action::Kill(t)
            | Action::Pause(t)
            | Action::Unpause(t) => format!("{} `{}`", self.verb(), t.container),
            Action::Recreate(t) => format!("Recreate service `{}`", t.service),
            Action::Scale { service, replicas } => format!("Scale `{service}` to {replicas}"),
            Action::StopProject | Action::KillProject => self.verb().to_owned(),
        }
    }

    /// Whether the action interrupts or removes a running workload, so the dashboard asks
    /// before doing it (as lazydocker does for stop and remove).
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Action::Stop(_) | Action::Kill(_) | Action::Recreate(_) | Action::Scale { .. }
        )
    }
}

/// How the dashboard ended; the caller decides what to print and the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `d`: everything keeps running.
    Detached,
    /// The project was stopped (or killed) and the engine reported `ShutdownComplete`.
    Shutdown,
    /// A third Ctrl-C while a stop or kill was still running: the dashboard gave up waiting.
    Abandoned,
}

/// An effect `update` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Hand to [`Actions::perform`].
    Act(Action),
    /// Suspend the dashboard, run [`Actions::exec_command`] for the target in the terminal,
    /// resume, then send [`crate::tui::msg::Msg::ExecFinished`].
    Exec(Target),
    /// Write `contents` to `path`, then send [`crate::tui::msg::Msg::LogsSaved`].
    SaveLogs {
        path: PathBuf,
        contents: String,
        lines: usize,
    },
    /// Tell the engine which container's details to send (and keep fresh), or none.
    WatchDetails(Option<String>),
    /// Turn the terminal's mouse capture on or off.
    SetMouseCapture(bool),
    /// Leave the loop.
    Exit(Exit),
}

/// What the engine implements for the dashboard. Calls come from the dashboard's loop
/// thread and must not block: start the work (e.g. spawn a task) and report through the
/// feed.
pub trait Actions {
    /// Start a lifecycle action.
    fn perform(&mut self, action: Action);
    /// The interactive command that opens a shell in the container (e.g. `rcompose exec`
    /// re-executed with the right project). The loop runs it with the terminal's stdio while
    /// the dashboard is suspended.
    fn exec_command(&mut self, target: &Target) -> Result<std::process::Command, String>;
    /// Start sending [`crate::tui::msg::Msg::Details`] for this container (and stop for the
    /// previous one), or stop sending any.
    fn watch_details(&mut self, container: Option<&str>);
}

/// A recording fake for tests: remembers every call; exec runs `true`.
#[derive(Debug, Default)]
pub struct RecordingActions {
    pub performed: Vec<Action>,
    pub execs: Vec<Target>,
    pub watched: Vec<Option<String>>,
}

impl Actions for RecordingActions {
    fn perform(&mut self, action: Action) {
        self.performed.push(action);
    }
    fn exec_command(&mut self, target: &Target) -> Result<std::process::Command, String> {
        self.execs.push(target.clone());
        Ok(std::process::Command::new("true"))
    }
    fn watch_details(&mut self, container: Option<&str>) {
        self.watched.push(container.map(str::to_owned));
    }
}
