//! The Dockerfile builder.
//!
//! Pipeline (each step is its own module, tested on its own):
//!
//! ```text
//! Dockerfile text ─ parser ─► Ast (nodes, directives, heredocs)
//!                 ─ instructions ─► Dockerfile (stages, typed instructions, flags)
//!                 ─ plan(opts, &dyn ImageResolver) ─► Plan (needed stages, waves, steps,
//!                                                     final image config per stage)
//! context dir ─ context::ignore_patterns + BuildContext::load ─► filtered tree + hashes
//! exec::execute(plan, context, &dyn Executor, cache) ─► StageResult (layers, config, key)
//!                    COPY/ADD/WORKDIR: copy + layer (overlay on the stage's layers)
//!                    RUN: Executor::run (runtime), layer from the upper dir
//! ```
//!
//! Everything follows moby/buildkit's `frontend/dockerfile` (parser, instructions, shell
//! lexer, dockerfile2llb dispatch) and moby/patternmatcher for `.dockerignore`; where rcompose
//! departs from it, the code says why.
//!
//! The seam to the rest of rcompose is [`exec::Executor`] (base images and their layers,
//! RUN in a container, storing layers); [`plan::ImageResolver`] is its lookup half.

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

pub use config::{ImageConfig, Platform};
pub use context::{BuildContext, ignore_patterns};
pub use exec::{
    BuildCache, Event, ExecError, ExecOptions, Executor, LayerRef, Reporter, RunRequest,
    StageResult, execute,
};
pub use plan::{BuildOptions, ImageResolver, Plan, PlanError, ResolvedImage, plan};
