//! rcompose: a daemonless, Compose-compatible multi-container orchestrator.
//!
//! Layering (imports point one way): presentation (`cli`, `output`, `tui`) → `engine` →
//! (`runtime`, `image`, `network`, `volume`, `logs`) → (`project`, `graph`).
//! See `DESIGN.md` for the process model and on-disk layout.

pub mod cli;
pub mod engine;
pub mod graph;
pub mod image;
pub mod logs;
pub mod network;
pub mod output;
pub mod paths;
pub mod project;
pub mod runtime;
pub mod tui;
pub mod volume;
pub mod watch;
