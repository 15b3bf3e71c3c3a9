//! Shared test helpers, one file per topic.

pub mod net;
pub mod runc;
