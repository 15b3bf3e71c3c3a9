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
//! Feeding it: get a [`app::Feed`] from [`app::channel`], hand clones to whatever produces
//! messages (log tailers, stats samplers, the engine's reporter), and run [`app::run`].

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
