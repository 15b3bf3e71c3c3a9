//! The live dashboard (`rcompose up` on a terminal, `rcompose dashboard`).
//!
//! Built as the Elm architecture, like gitui and bottom (see `STYLE.md`):
//! - [`model::Model`] is the one state, owned by the loop in [`app`];
//! - [`msg::Msg`] is everything that can happen: keys, mouse, resize, the clock, and the
//!   data the engine feeds in (containers, stats, log lines, progress, details);
//! - [`update::update`] applies one message, purely, and returns [`command::Command`]s;
//! - [`view::render`] draws the model, purely, one file per panel;
//! - [`command::Actions`] is the seam the engine implements for lifecycle actions.
//!
//! # Feeding it (the engine's side)
//!
//! ```text
//! let (feed, inbox) = tui::app::channel();          // Feed: Clone + Send, never blocks
//! feed.send(Msg::Project(ProjectInfo { .. }));     // once, first
//! feed.send(Msg::Container(Box::new(snapshot)));   // on start and on every change
//! feed.send(Msg::Logs(LogBatch { .. }));           // per container, what a tail read gave
//! feed.send(Msg::Stats(sample));                   // per container, once a second
//! feed.send(Msg::Progress(progress));              // pulls, creates, actions' outcomes
//! feed.send(Msg::Details(Box::new(details)));      // for the container `watch_details` names
//! feed.send(Msg::ContainerRemoved { name });       // after scale down / down
//! feed.send(Msg::ShutdownComplete);                // after StopProject/KillProject finished
//!
//! let mut screen = tui::terminal::CrosstermScreen::enter(inbox.feed(), true)?;
//! let report = tui::app::run(&mut screen, &mut model, &inbox, &mut engine_actions, &opts)?;
//! drop(screen);                                    // terminal restored here
//! match report.exit { Exit::Detached => .., Exit::Shutdown => .., Exit::Abandoned => .. }
//! ```
//!
//! `Feed::send` returning `false` means the dashboard has exited: stop producing. Actions
//! arrive on the loop's thread through [`command::Actions`]; they must start work and return
//! (report through the feed). Nothing here reads files, cgroups or the clock: the feed is
//! the only input, which is what makes every panel snapshot-testable.

pub mod ansi;
pub mod app;
pub mod command;
pub mod demo;
pub mod format;
pub mod keys;
pub mod model;
pub mod msg;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;
pub mod wrap;

pub use command::{Action, Actions, Command, Exit, RecordingActions, Target};
pub use model::{Model, Options};
pub use msg::Msg;
