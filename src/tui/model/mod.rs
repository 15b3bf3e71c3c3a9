//! The dashboard's one state. Owned by the loop; changed only by `update`; read by `view`.

pub mod containers;
pub mod logs;
pub mod logview;
pub mod status;

use chrono::{DateTime, FixedOffset, Utc};

use crate::tui::command::Action;
use crate::tui::msg::ProjectInfo;
use crate::tui::theme::Theme;

pub use containers::{Column, Containers, Entry, Sort};
pub use logs::{Filter, Limits, LineKey, LogStore};
pub use logview::{LogView, Search};
pub use status::{Level, Note, Status};

/// The panel keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Services,
    Logs,
    Details,
}

/// Tabs of the details panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Overview,
    Config,
    Env,
    Mounts,
    Networks,
    Health,
    Processes,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Overview,
        Tab::Config,
        Tab::Env,
        Tab::Mounts,
        Tab::Networks,
        Tab::Health,
        Tab::Processes,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Config => "Config",
            Tab::Env => "Env",
            Tab::Mounts => "Mounts",
            Tab::Networks => "Networks",
            Tab::Health => "Health",
            Tab::Processes => "Top",
        }
    }
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
    pub fn cycle(self, delta: isize) -> Tab {
        let n = Tab::ALL.len() as isize;
        Tab::ALL[(self.index() as isize + delta).rem_euclid(n) as usize]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailsPane {
    pub open: bool,
    pub tab: Tab,
    pub scroll: usize,
}

/// What a text prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: a regex, applied as you type.
    Search,
    /// `S`: where to save the shown lines.
    SavePath,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
    /// Why the input is not usable yet (an invalid regex).
    pub error: Option<String>,
    /// For search: what to go back to on `Esc`.
    pub previous: Option<String>,
}

/// A modal layer over the panels; takes the keys while open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overlay {
    #[default]
    None,
    Help,
    /// `E`: the status line's history.
    Events,
    /// "Stop `myapp-web-1`? (y/n)"
    Confirm(Action),
    /// `q`: stop, kill or detach?
    Quit,
    Prompt(Prompt),
}

/// Where the project is in Compose's Ctrl-C contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shutdown {
    #[default]
    Running,
    /// First Ctrl-C (or `q` → stop): graceful stop asked for.
    Stopping,
    /// Second Ctrl-C: kill asked for.
    Killing,
}

/// Arrival rate of log lines, measured per second of the model's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rate {
    second: i64,
    count: u64,
    /// Lines in the last complete second.
    pub per_sec: u64,
}

impl Rate {
    pub fn add(&mut self, n: usize, now: DateTime<Utc>) {
        self.roll(now);
        self.count += n as u64;
    }
    pub fn roll(&mut self, now: DateTime<Utc>) {
        let s = now.timestamp();
        if s != self.second {
            self.per_sec = if s == self.second + 1 { self.count } else { 0 };
            self.second = s;
            self.count = 0;
        }
    }
}

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub struct Options {
    pub now: DateTime<Utc>,
    /// The zone log timestamps are shown in.
    pub tz: FixedOffset,
    pub theme: Theme,
    pub limits: Limits,
    pub mouse: bool,
    /// Terminal size at start.
    pub size: (u16, u16),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            now: DateTime::<Utc>::UNIX_EPOCH,
            tz: FixedOffset::east_opt(0).expect("valid offset"),
            theme: Theme::default(),
            limits: Limits::default(),
            mouse: true,
            size: (80, 24),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub now: DateTime<Utc>,
    pub tz: FixedOffset,
    pub theme: Theme,
    /// Terminal size (for layout-aware keys and mouse hit tests).
    pub size: (u16, u16),
    pub project: ProjectInfo,
    pub containers: Containers,
    pub logs: LogStore,
    pub view: LogView,
    pub focus: Focus,
    pub details: DetailsPane,
    pub overlay: Overlay,
    pub status: Status,
    pub shutdown: Shutdown,
    pub mouse: bool,
    pub rate: Rate,
    /// The container details were last asked for (so `watch_details` is sent on change only).
    pub watching: Option<String>,
}

impl Model {
    pub fn new(opts: Options) -> Self {
        Self {
            now: opts.now,
            tz: opts.tz,
            theme: opts.theme,
            size: opts.size,
            project: ProjectInfo::default(),
            containers: Containers::default(),
            logs: LogStore::new(opts.limits),
            view: LogView::default(),
            focus: Focus::default(),
            details: DetailsPane::default(),
            overlay: Overlay::None,
            status: Status::default(),
            shutdown: Shutdown::Running,
            mouse: opts.mouse,
            rate: Rate::default(),
            watching: None,
        }
    }

    /// The rings the current filter shows.
    pub fn visible(&self) -> logs::Visible {
        self.logs.visible(&self.view.filter)
    }
}
