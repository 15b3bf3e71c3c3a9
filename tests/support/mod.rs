//! Shared test helpers, one file per topic.
#![allow(dead_code)]

pub mod build;
pub mod mounts;
pub mod net;
pub mod runc;
pub mod tmux;
pub mod tui;
