//! `rcompose completion SHELL` and the hidden `rcompose man`: generated from the clap definitions.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, CliError};

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to generate completions for
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the man page into this directory instead of standard output
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

pub fn run(args: CompletionArgs) -> Result<i32, CliError> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "rcompose", &mut std::io::stdout());
    Ok(0)
}

pub fn man(args: ManArgs) -> Result<i32, CliError> {
    let cmd = Cli::command();
    match args.out_dir {
        Some(dir) => {
            clap_mangen::generate_to(cmd, &dir)?;
        }
        None => {
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
        }
    }
    Ok(0)
}
