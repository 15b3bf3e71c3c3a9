//! `rcompose shim ...` (hidden): the per-container supervisor and its helpers, re-executed
//! from the rcompose binary by the runtime. Never run by users. Runs before (and without)
//! any tokio runtime: it calls libcontainer, which needs a single-threaded process.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::CliError;
use crate::paths::Paths;
use crate::runtime::shim::{self, ShimOptions};

#[derive(Debug, Parser)]
#[command(
    name = "rcompose shim",
    bin_name = "rcompose shim",
    disable_help_subcommand = true
)]
pub struct ShimCli {
    #[command(subcommand)]
    pub command: ShimCommand,
}

#[derive(Debug, Subcommand)]
pub enum ShimCommand {
    /// Supervise one container (started by the runtime; reports readiness on fd 3)
    Run {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        run: PathBuf,
        #[arg(long)]
        id: String,
        /// Create the container but start it only when asked (attach before start)
        #[arg(long)]
        hold: bool,
        /// Readiness descriptor
        #[arg(long, default_value_t = 3)]
        ready_fd: i32,
    },
    /// Run a process in a running container (`exec`), with this process's stdio
    Exec {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        run: PathBuf,
        #[arg(long)]
        id: String,
        /// The OCI process description (JSON file, removed once read)
        #[arg(long)]
        process: PathBuf,
        /// Return once started; the process's output is discarded
        #[arg(long)]
        detach: bool,
    },
}

pub fn run(cli: ShimCli) -> Result<i32, CliError> {
    match cli.command {
        ShimCommand::Run {
            root,
            run,
            id,
            hold,
            ready_fd,
        } => Ok(shim::main(ShimOptions {
            paths: Paths::new(root, run),
            id,
            ready_fd: (ready_fd >= 0).then_some(ready_fd),
            hold,
        })),
        ShimCommand::Exec {
            root,
            run,
            id,
            process,
            detach,
        } => Ok(crate::runtime::exec::helper_main(
            Paths::new(root, run),
            &id,
            &process,
            detach,
        )),
    }
}
