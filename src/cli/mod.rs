//! The command line: clap definitions, one file per command (thin glue).
//!
//! `main` parses the arguments, dispatches, renders errors and returns the exit code.
//! Hidden subcommands that run libcontainer (the shim, `oci`) are dispatched *before* any
//! tokio runtime exists: libcontainer must only ever run in a single-threaded process
//! (see `shared/notes/libcontainer.md`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod completion;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod image;
pub mod network;
pub mod oci;
pub mod shim;
pub mod volume;

pub use error::{CliError, UserError};

/// Define and run multi-container applications, without a daemon.
#[derive(Debug, Parser)]
#[command(
    name = "rcompose",
    version,
    about = "Define and run multi-container applications with Compose files, without a daemon",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Docker Compose's global options, plus rcompose's own (`--root`).
#[derive(Debug, Clone, Args, Default)]
pub struct GlobalArgs {
    /// Compose configuration files (`-` reads standard input)
    // `-f` and `-p` are accepted before the subcommand only: after it, Compose's commands use
    // them for themselves (`rm -f` = --force, `run -p` = --publish). Cobra lets a local flag
    // shadow a persistent one; clap cannot, so these two are not global.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the first Compose file)
    #[arg(long = "project-directory", global = true, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// Specify a profile to enable
    #[arg(long = "profile", global = true, value_name = "PROFILE")]
    pub profile: Vec<String>,
    /// Specify an alternate environment file
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Control when to print ANSI control characters
    #[arg(long, global = true, value_enum, default_value_t = Ansi::Auto)]
    pub ansi: Ansi,
    /// Set type of progress output
    #[arg(long, global = true, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Control max parallelism, -1 for unlimited
    #[arg(long, global = true, allow_negative_numbers = true, value_name = "N")]
    pub parallel: Option<i64>,
    /// Execute command in dry run mode
    #[arg(long = "dry-run", global = true)]
    pub dry_run: bool,
    /// Run compose in backward compatibility mode
    #[arg(long, global = true, hide = true)]
    pub compatibility: bool,
    /// Include all resources, even those not used by services
    #[arg(long = "all-resources", global = true, hide = true)]
    pub all_resources: bool,
    /// State directory (default: $RCOMPOSE_ROOT or /var/lib/rcompose)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Ansi {
    Never,
    Always,
    #[default]
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Progress {
    #[default]
    Auto,
    Tty,
    Plain,
    Json,
    Quiet,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, resolve and render the Compose file in canonical format
    Config(config::ConfigArgs),
    /// Manage images
    Image(image::ImageArgs),
    /// Log in to a registry
    Login(image::LoginArgs),
    /// Log out from a registry
    Logout(image::LogoutArgs),
    /// Open the live dashboard on a running project
    Dashboard(dashboard::DashboardArgs),
    /// Generate shell completions
    Completion(completion::CompletionArgs),
    /// Generate the man page
    #[command(hide = true)]
    Man(completion::ManArgs),
    /// Manage networks
    Network(network::NetworkArgs),
    /// Manage volumes
    Volume(volume::VolumeArgs),
    /// The network helper (DNS, port proxies); started by rcompose itself
    #[command(name = "__netd", hide = true)]
    Netd(network::NetdArgs),
}

/// Entry point used by `src/main.rs`: returns the process exit code.
pub fn main() -> i32 {
    main_from(std::env::args_os())
}

pub fn main_from<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Hidden low-level commands have their own parsers (runc's flags clash with Compose's
    // globals, e.g. `-f`) and must run before any tokio runtime exists.
    if let Some(code) = hidden_command(&args) {
        return code;
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 2 for usage errors; Compose (cobra) exits 1 on a bad flag. Help and
            // version still exit 0.
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    init_tracing();
    let result = run(cli);
    match result {
        Ok(code) => code,
        Err(err) => error::report(&err),
    }
}

fn hidden_command(args: &[OsString]) -> Option<i32> {
    let name = args.get(1)?.to_str()?;
    let rest = args[1..].to_vec();
    let result = match name {
        "oci" => match oci::OciCli::try_parse_from(rest) {
            Ok(cli) => {
                init_tracing();
                oci::run(cli)
            }
            Err(e) => {
                let _ = e.print();
                return Some(if e.use_stderr() { 1 } else { 0 });
            }
        },
        "shim" => match shim::ShimCli::try_parse_from(rest) {
            Ok(cli) => {
                init_tracing();
                shim::run(cli)
            }
            Err(e) => {
                let _ = e.print();
                return Some(if e.use_stderr() { 1 } else { 0 });
            }
        },
        _ => return None,
    };
    Some(match result {
        Ok(code) => code,
        Err(err) => error::report(&err),
    })
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RCOMPOSE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,libcontainer=off,libcgroups=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Dispatch. Commands that need async run on a tokio runtime built here, after any
/// single-threaded hidden command has had its chance.
fn run(cli: Cli) -> Result<i32, CliError> {
    let Cli { global, command } = cli;
    match command {
        Command::Config(args) => config::run(&global, args),
        Command::Image(args) => image::run(&global, args),
        Command::Login(args) => image::login(&global, args),
        Command::Logout(args) => image::logout(&global, args),
        Command::Dashboard(args) => dashboard::run(&global, args),
        Command::Completion(args) => completion::run(args),
        Command::Man(args) => completion::man(args),
        Command::Netd(args) => network::netd(&global, args),
        Command::Network(args) => network::run(&global, args),
        Command::Volume(args) => volume::run(&global, args),
    }
}

/// Build the multi-threaded tokio runtime used by async commands.
pub fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
