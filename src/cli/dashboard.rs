//! `rcompose dashboard`: open the live dashboard on a running project.
//!
//! Until the engine feeds it, only the hidden `--demo` mode has data: a fake project with
//! synthetic containers, stats and logs that answers actions, for developing and testing
//! the UI (`rcompose dashboard --demo`).

use std::io::IsTerminal;

use anyhow::Context as _;
use clap::Args;

use super::{Ansi, CliError, GlobalArgs, UserError};
use crate::tui::app::{self, LoopOptions};
use crate::tui::model::{Limits, Model, Options};
use crate::tui::terminal::CrosstermScreen;
use crate::tui::theme::Theme;
use crate::tui::{Exit, demo};

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Draw without colours (also: `NO_COLOR`, `--ansi never`)
    #[arg(long)]
    pub no_color: bool,
    /// Start with mouse capture off (toggle with `m`)
    #[arg(long)]
    pub no_mouse: bool,
    /// Feed the dashboard a synthetic project instead of a real one
    #[arg(long, hide = true)]
    pub demo: bool,
    /// Demo: lines per second printed by the `worker` service
    #[arg(long, hide = true, default_value_t = 5.0, value_name = "N")]
    pub demo_rate: f64,
    /// Demo: panic on the first action (to test terminal restoration)
    #[arg(long, hide = true)]
    pub demo_panic_on_action: bool,
    /// Demo: random seed
    #[arg(long, hide = true, default_value_t = 42)]
    pub demo_seed: u64,
}

pub fn run(global: &GlobalArgs, args: DashboardArgs) -> Result<i32, CliError> {
    if !args.demo {
        return Err(UserError::new("`rcompose dashboard` cannot attach to a project yet")
            .hint("the engine does not feed the dashboard yet; `rcompose dashboard --demo` shows it on a synthetic project")
            .into());
    }
    if !std::io::stdout().is_terminal() {
        return Err(UserError::new("the dashboard needs a terminal")
            .hint("run it in a terminal, or use `rcompose logs -f` to stream logs")
            .into());
    }
    let theme = Theme::from_env(args.no_color || global.ansi == Ansi::Never);
    let (w, h) = crossterm::terminal::size().unwrap_or((80, 24));
    let mut model = Model::new(Options {
        now: chrono::Utc::now(),
        tz: *chrono::Local::now().offset(),
        theme,
        limits: Limits::default(),
        mouse: !args.no_mouse,
        size: (w, h),
    });
    let (feed, inbox) = app::channel();
    let mut actions = demo::start(feed.clone(), args.demo_seed, args.demo_rate);
    actions.panic_on_action = args.demo_panic_on_action;
    let report = {
        let mut screen = CrosstermScreen::enter(inbox.feed(), !args.no_mouse)
            .context("cannot set up the terminal for the dashboard")?;
        app::run(
            &mut screen,
            &mut model,
            &inbox,
            &mut actions,
            &LoopOptions::default(),
        )
        .context("the dashboard lost its terminal")?
        // The screen is dropped here: the terminal is restored before anything is printed.
    };
    drop(inbox);
    if let Some(path) = std::env::var_os("RCOMPOSE_TUI_FRAME_STATS") {
        fs_err::write(&path, report.stats.summary_json() + "\n")
            .context("cannot write the frame statistics")?;
    }
    match report.exit {
        Exit::Detached => {
            eprintln!("Detached: the project keeps running. `rcompose down` stops it.");
            Ok(0)
        }
        Exit::Shutdown => Ok(0),
        Exit::Abandoned => {
            eprintln!("Left without waiting for the project to stop.");
            Ok(130)
        }
    }
}
