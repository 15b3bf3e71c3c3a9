//! `rcompose config`: parse, resolve and render the Compose model.

use clap::Args;

use super::{CliError, GlobalArgs, UserError};

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Format the output
    #[arg(long, value_parser = ["yaml", "json"], default_value = "yaml")]
    pub format: String,
}

pub fn run(_global: &GlobalArgs, _args: ConfigArgs) -> Result<i32, CliError> {
    Err(UserError::new("`rcompose config` is not implemented yet").into())
}
