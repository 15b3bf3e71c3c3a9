//! Shared test helpers, one file per topic.
#![allow(dead_code)]

pub mod rootfs;
pub mod runtime_env;
