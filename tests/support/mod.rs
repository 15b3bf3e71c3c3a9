//! Shared test helpers, one file per topic.
#![allow(dead_code)]

pub mod build;
pub mod images;
pub mod mounts;
pub mod net;
pub mod registry;
pub mod rootfs;
pub mod runc;
pub mod runtime_env;
pub mod tmux;
pub mod tui;
