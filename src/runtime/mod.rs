//! The embedded container runtime (documentation of the public contract: see the end of
//! this module once it is complete).

pub mod cgroups;
pub mod config;
pub mod executor;
pub mod init;
pub mod layout;
pub mod lc;
pub mod oci;
pub mod proc;
pub mod seccomp;
pub mod security;
pub mod signals;
pub mod spec;
pub mod state;
pub mod sys;
pub mod user;
