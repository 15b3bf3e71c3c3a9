//! The embedded container runtime (documentation of the public contract: see the end of
//! this module once it is complete).

pub mod cgroups;
pub mod config;
pub mod control;
pub mod exec;
pub mod executor;
pub mod health;
pub mod init;
pub mod launch;
pub mod layout;
pub mod lc;
pub mod oci;
pub mod ops;
pub mod proc;
pub mod rootfs;
pub mod seccomp;
pub mod security;
pub mod shim;
pub mod signals;
pub mod spec;
pub mod state;
pub mod sys;
pub mod user;

pub use ops::{
    ContainerInfo, ExecOptions, ExecOutput, Removed, Runtime, RuntimeError, Top, new_id,
};
pub mod archive;
pub mod attach;
