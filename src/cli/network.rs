//! `rcompose network ...` and the hidden `__netd` helper entry point.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::paths::Paths;

/// Arguments of the hidden network helper (`rcompose __netd`), started on demand by the
/// network layer; never run by hand.
#[derive(Debug, Args)]
pub struct NetdArgs {
    /// The host resolv.conf whose nameservers are the default upstream
    #[arg(long, default_value = "/etc/resolv.conf")]
    pub resolv_conf: PathBuf,
}

pub fn netd(global: &GlobalArgs, args: NetdArgs) -> Result<i32, CliError> {
    let paths = Paths::from_env(global.root.clone());
    Ok(crate::network::helper::main(paths, args.resolv_conf))
}
