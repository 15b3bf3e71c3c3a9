//! The Compose model: load Compose files exactly as Docker Compose v2 does.
//!
//! ```text
//! files ─ yaml (positions) ─ !reset ─ interpolate ─ extends ─ include ─ merge ─ schema ─ canonical
//!       ─ defaults ─ paths ─ normalize ─ decode (typed) ─ profiles ─ consistency ─ env_file
//! ```
//! The stages work on a position-annotated tree ([`node::Node`]) so every error names the
//! file, line and column. The result is a typed [`Project`].
//!
//! Entry points: [`load`] (the typed project) and [`load_tree`] (the un-decoded model, for
//! `config --no-interpolate`).

pub mod canonical;
pub mod de;
pub mod dotenv;
pub mod error;
pub mod hash;
pub mod interpolate;
pub mod loader;
pub mod merge;
pub mod model;
pub mod node;
pub mod normalize;
pub mod options;
pub mod paths;
pub mod render;
pub mod schema;
pub mod shellwords;
pub mod template;
pub mod types;
pub mod units;
pub mod volume_spec;
pub mod yaml;

use std::cell::RefCell;

pub use error::{Location, ProjectError};
pub use options::LoadOptions;
pub use types::*;

thread_local! {
    static WARNINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Record a warning (shown by the CLI on stderr, as Compose's `WARN` lines).
pub fn warn(msg: impl Into<String>) {
    WARNINGS.with(|w| w.borrow_mut().push(msg.into()));
}

/// Take the warnings recorded by the current thread so far.
pub fn take_warnings() -> Vec<String> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Load a project: discovery, environment, interpolation, merge, normalization, validation.
pub fn load(opts: &LoadOptions) -> Result<Project, ProjectError> {
    model::load_project(opts)
}

/// Load the model as a tree without decoding it into types (what `config --no-interpolate`
/// and `config --no-normalize` print).
pub fn load_tree(opts: &LoadOptions) -> Result<serde_json::Value, ProjectError> {
    model::load_tree(opts)
}
