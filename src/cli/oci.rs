//! `rcompose oci ...` (hidden): a runc-compatible command line over the embedded runtime.
//!
//! Same subcommands and flags as runc for what OCI tooling uses (`create`, `start`, `run`,
//! `state`, `kill`, `delete`, `exec`, `list`, `pause`, `resume`); the state directory is the
//! global `--root` (default `$RCOMPOSE_RUN/oci`). Runs without any tokio runtime: it calls
//! libcontainer, which must only run in a single-threaded process.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{CliError, UserError};
use crate::paths::Paths;
use crate::runtime::oci::{self, CreateArgs, ExecArgs, OciRoot};

/// `rcompose oci`: runc-compatible low-level runtime commands.
#[derive(Debug, Parser)]
#[command(
    name = "rcompose oci",
    bin_name = "rcompose oci",
    disable_help_subcommand = true
)]
pub struct OciCli {
    /// Root directory for container state (runc's `--root`; default `$RCOMPOSE_RUN/oci`)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Log file (runc's `--log`); errors are also written there
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Log format: text or json (runc's `--log-format`)
    #[arg(long = "log-format", default_value = "text")]
    pub log_format: String,
    /// Accepted for runc compatibility
    #[arg(long, hide = true)]
    pub debug: bool,
    /// Accepted for runc compatibility (cgroups are always managed through cgroupfs)
    #[arg(long = "systemd-cgroup", hide = true)]
    pub systemd_cgroup: bool,
    #[command(subcommand)]
    pub command: OciCommand,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// Path to the root of the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// Path to an AF_UNIX socket which will receive the pty master
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// File to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Pass N additional file descriptors to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    /// Accepted for runc compatibility
    #[arg(long = "no-pivot", hide = true)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility
    #[arg(long = "no-new-keyring", hide = true)]
    pub no_new_keyring: bool,
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum OciCommand {
    /// Create a container
    Create(BundleArgs),
    /// Start a created container
    Start { id: String },
    /// Create and run a container; exits with its exit code
    Run {
        #[command(flatten)]
        bundle: BundleArgs,
        /// Detach from the container's process
        #[arg(short = 'd', long)]
        detach: bool,
        /// Do not delete the container after it exits
        #[arg(long)]
        keep: bool,
    },
    /// Output the state of a container
    State { id: String },
    /// Send a signal to the container's init process (default SIGTERM)
    Kill {
        /// Send the signal to all processes in the container
        #[arg(short = 'a', long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Delete a container
    Delete {
        /// Forcibly delete a running container (SIGKILL)
        #[arg(short = 'f', long)]
        force: bool,
        id: String,
    },
    /// Execute a new process inside the container
    Exec {
        #[arg(long = "console-socket")]
        console_socket: Option<PathBuf>,
        /// Current working directory in the container
        #[arg(long)]
        cwd: Option<String>,
        /// Set environment variables
        #[arg(short = 'e', long = "env")]
        env: Vec<String>,
        /// Allocate a pseudo-TTY
        #[arg(short = 't', long)]
        tty: bool,
        /// UID (format: `<uid>[:<gid>]`)
        #[arg(short = 'u', long)]
        user: Option<String>,
        /// Additional gids
        #[arg(short = 'g', long = "additional-gids")]
        additional_gids: Vec<u32>,
        /// Path to the process.json
        #[arg(short = 'p', long)]
        process: Option<PathBuf>,
        /// Detach from the process
        #[arg(short = 'd', long)]
        detach: bool,
        #[arg(long = "pid-file")]
        pid_file: Option<PathBuf>,
        /// Add a capability to the bounding set
        #[arg(short = 'c', long = "cap")]
        cap: Vec<String>,
        /// Set the no new privileges value for the process
        #[arg(long = "no-new-privs")]
        no_new_privs: bool,
        #[arg(long = "preserve-fds", default_value_t = 0)]
        preserve_fds: i32,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// List containers
    List {
        /// Output format: table or json
        #[arg(short = 'f', long, default_value = "table")]
        format: String,
        /// Display only container ids
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Write a `config.json` for a bundle (like `runc spec`), with Docker's defaults:
    /// capabilities, seccomp profile, masked paths, device allow-list
    Spec {
        /// Bundle directory to write `config.json` into
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// Root filesystem path, relative to the bundle
        #[arg(long, default_value = "rootfs")]
        rootfs: PathBuf,
        /// The process to run (default: `sh`)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Suspend all processes of a container
    Pause { id: String },
    /// Resume a paused container
    Resume { id: String },
}

fn user_err(e: impl std::fmt::Display) -> CliError {
    CliError::User(UserError::new(format!("rcompose oci: {e}")))
}

pub fn run(args: OciCli) -> Result<i32, CliError> {
    let root = args
        .root
        .clone()
        .unwrap_or_else(|| Paths::from_env(None).run.join("oci"));
    let root = OciRoot::new(root);
    let result = dispatch(&root, args.command);
    if let (Err(e), Some(log)) = (&result, &args.log) {
        let msg = match e {
            CliError::User(u) => u.message.clone(),
            CliError::Internal(e) => format!("{e:#}"),
        };
        let line = if args.log_format == "json" {
            serde_json::json!({"level": "error", "msg": msg, "time": chrono::Utc::now().to_rfc3339()})
                .to_string()
        } else {
            format!("level=error msg={msg:?}")
        };
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{line}");
        }
    }
    result
}

fn dispatch(root: &OciRoot, cmd: OciCommand) -> Result<i32, CliError> {
    match cmd {
        OciCommand::Create(b) => {
            oci::create(root, &create_args(b, true)).map_err(user_err)?;
            Ok(0)
        }
        OciCommand::Start { id } => {
            oci::start(root, &id).map_err(user_err)?;
            Ok(0)
        }
        OciCommand::Run {
            bundle,
            detach,
            keep,
        } => {
            let _ = keep;
            oci::run(root, &create_args(bundle, detach)).map_err(user_err)
        }
        OciCommand::State { id } => {
            let s = oci::state(root, &id).map_err(user_err)?;
            println!("{}", serde_json::to_string_pretty(&s).map_err(user_err)?);
            Ok(0)
        }
        OciCommand::Kill { all, id, signal } => {
            let sig = crate::runtime::signals::parse(signal.as_deref().unwrap_or("SIGTERM"))
                .map_err(user_err)?;
            oci::kill(root, &id, sig, all).map_err(user_err)?;
            Ok(0)
        }
        OciCommand::Delete { force, id } => {
            oci::delete(root, &id, force).map_err(user_err)?;
            Ok(0)
        }
        OciCommand::Exec {
            console_socket,
            cwd,
            env,
            tty,
            user,
            additional_gids,
            process,
            detach,
            pid_file,
            cap,
            no_new_privs,
            preserve_fds,
            id,
            command,
        } => {
            let user = match user {
                None => None,
                Some(u) => {
                    let (uid, gid) = u.split_once(':').unwrap_or((&u, "0"));
                    Some((
                        uid.parse()
                            .map_err(|_| user_err(format!("invalid uid `{uid}`")))?,
                        gid.parse()
                            .map_err(|_| user_err(format!("invalid gid `{gid}`")))?,
                    ))
                }
            };
            oci::exec(
                root,
                &ExecArgs {
                    id,
                    process,
                    args: command,
                    env,
                    cwd,
                    tty,
                    user,
                    additional_gids,
                    caps: cap,
                    no_new_privs,
                    console_socket,
                    pid_file,
                    detach,
                    preserve_fds,
                },
            )
            .map_err(user_err)
        }
        OciCommand::List { format, quiet } => {
            let all = oci::list(root).map_err(user_err)?;
            if quiet {
                for s in &all {
                    println!("{}", s.id);
                }
            } else if format == "json" {
                println!("{}", serde_json::to_string(&all).map_err(user_err)?);
            } else {
                println!(
                    "{:<24}{:<10}{:<12}{:<50}{:<32}OWNER",
                    "ID", "PID", "STATUS", "BUNDLE", "CREATED"
                );
                for s in &all {
                    println!(
                        "{:<24}{:<10}{:<12}{:<50}{:<32}{}",
                        s.id,
                        s.pid,
                        s.status,
                        s.bundle.display(),
                        s.created.to_rfc3339(),
                        if s.owner.is_empty() { "root" } else { &s.owner }
                    );
                }
            }
            Ok(0)
        }
        OciCommand::Spec {
            bundle,
            rootfs,
            args,
        } => {
            let abs = bundle.join(&rootfs);
            let config = crate::runtime::config::ContainerConfig {
                id: "0".repeat(64),
                command: Some(if args.is_empty() {
                    vec!["sh".into()]
                } else {
                    args
                }),
                ..Default::default()
            };
            let facts = crate::runtime::spec::StartFacts {
                rootfs: rootfs.clone(),
                passwd: crate::runtime::rootfs::read_in_root(&abs, "/etc/passwd"),
                group: crate::runtime::rootfs::read_in_root(&abs, "/etc/group"),
                ..Default::default()
            };
            let mut spec = crate::runtime::spec::build(
                &config,
                &facts,
                &crate::runtime::spec::HostFacts::detect(),
            )
            .map_err(user_err)?;
            // Like `runc spec`: no cgroup path of ours; the runtime picks one per container.
            if let Some(l) = spec.linux_mut() {
                l.set_cgroups_path(None);
            }
            spec.set_hostname(Some("rcompose".into()));
            spec.save(bundle.join("config.json")).map_err(user_err)?;
            Ok(0)
        }
        OciCommand::Pause { id } => {
            oci::pause(root, &id).map_err(user_err)?;
            Ok(0)
        }
        OciCommand::Resume { id } => {
            oci::resume(root, &id).map_err(user_err)?;
            Ok(0)
        }
    }
}

fn create_args(b: BundleArgs, detach: bool) -> CreateArgs {
    CreateArgs {
        id: b.id,
        bundle: b.bundle,
        console_socket: b.console_socket,
        pid_file: b.pid_file,
        preserve_fds: b.preserve_fds,
        detach,
    }
}
