//! The Dockerfile builder: parse (BuildKit's syntax and rules), plan stages and steps, compute
//! image configs and cache keys, produce file layers, and drive execution through the narrow
//! [`exec::Executor`] seam that the runtime and the image store implement.
//!
//! Follows moby/buildkit's `frontend/dockerfile` (parser, instructions, shell lexer,
//! dockerfile2llb) and moby/patternmatcher for `.dockerignore`.

pub mod config;
pub mod context;
pub mod copy;
pub mod dockerignore;
pub mod exec;
pub mod gofmt;
pub mod gomatch;
pub mod instructions;
pub mod layer;
pub mod parser;
pub mod plan;
pub mod shell;
pub mod suggest;
