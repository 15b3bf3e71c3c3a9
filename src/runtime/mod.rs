//! The embedded container runtime: youki's `libcontainer` driven from a per-container shim.
//!
//! # Contract for the engine, network and image modules
//!
//! ## 1. Describe a container: [`config::ContainerConfig`]
//! The fully resolved description of one container, independent of Compose (Docker's
//! `Config` + `HostConfig`). The engine fills it from a service and the image:
//! - `id` from [`new_id`] (64 hex), `name`, `labels` (`com.docker.compose.*`);
//! - `rootfs`: [`config::Rootfs::Overlay`] `{ lowerdirs }` (unpacked layers, **bottom →
//!   top**, from the image store) or [`config::Rootfs::Dir`] (tests, OCI bundles);
//! - `image`: the image config's `config` object as-is ([`config::ImageConfig`]
//!   deserializes it: `Entrypoint`, `Cmd`, `Env`, `User`, `WorkingDir`, `StopSignal`,
//!   `Healthcheck`, `Shell`); the runtime applies Docker's merge rules itself;
//! - overrides as Compose gives them: `entrypoint`/`command` (`None` = unset,
//!   `Some(vec![])` = explicitly empty), `env` (env_file entries then `environment`,
//!   `KEY=VALUE`, bare `KEY` unsets), `user`, `group_add`, `working_dir`, `tty`,
//!   `stdin_open`, `init`, `stop_signal`, `stop_grace_period`, `read_only`, `tmpfs`,
//!   `ulimits`, `sysctls`, `privileged`, `cap_add`/`cap_drop`, `security_opt`, `devices`,
//!   `device_cgroup_rules`, `oom_score_adj`, `resources`, `hostname`, `domainname`,
//!   `shm_size`, `restart`, `healthcheck`, `logging`, `cgroup_parent`, `auto_remove`;
//! - `mounts`: binds and volumes with **host paths already resolved** (the volume module
//!   gives the volume's data directory; `anonymous` volumes are reported back by `remove`);
//! - `files`: small files the runtime writes into the container directory and binds in:
//!   the network module's `/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`;
//! - `network`: [`config::NetworkMode`] — `None` (own namespace, only `lo`, brought up),
//!   `Host`, `Path(p)` (a namespace the network module created and bind-mounted at `p`
//!   with its veth and addresses configured; the container joins it, `lo` is brought up),
//!   `Container(id)` (share another running container's); `ipc` and `pid` likewise.
//!
//! The OCI spec is built at every (re)start by the pure [`spec::build`] from the config,
//! the [`spec::StartFacts`] read then (the rootfs's `/etc/passwd` and `/etc/group`,
//! devices, ...) and [`spec::HostFacts`]. It is Docker's: 14 default capabilities, moby's
//! seccomp profile (vendored in `assets/seccomp/`, compiled once per distinct filter and
//! cached under `<root>/seccomp/`), masked and read-only paths, the device allow-list,
//! `/dev/shm` of 64 MiB, cgroup tree read-only, cgroup path `/rcompose/<id>`.
//!
//! ## 2. On disk ([`layout::Layout`])
//! `<root>/containers/<id>/`: `container.json` (the config, written once, fsync'ed),
//! `config.json` (the OCI spec of the current/last run), `state.json` ([`state::State`],
//! atomic rename), `container.log` (+ `.1` … rotated, see [`crate::logs`]), `rootfs/`
//! `upper/` `work/` `l/` (overlay), `files/`. `<run>/shim/<id>.sock` is the shim's control
//! socket (`<id>.log` its diagnostics), `<run>/lc/<id>/` libcontainer's state, `<run>/locks/<id>.lock`
//! the lifecycle lock. Liveness is never trusted from `state.json` alone: a pid counts
//! only if `/proc/<pid>/stat` shows the recorded start time.
//!
//! ## 3. Operate: [`Runtime`]
//! Synchronous; call from `spawn_blocking`. Nothing here runs libcontainer in the calling
//! process (it deadlocks in multi-threaded processes): the per-container shim
//! (`rcompose shim run`, [`shim`]) and the exec helper (`rcompose shim exec`) do.
//!
//! | call | does |
//! |---|---|
//! | `create(&config)` | validate (caps, signals, sysctls, ulimits vs the host's hard limits, log options, paths), write the directory; nothing runs |
//! | `start(id)` | spawn the shim, which mounts the rootfs, builds the spec, creates and starts the container; returns once it runs, or `StartFailed { exit_code: 126/127/128 }` |
//! | `start_attached(id, opts, io)` | start with the caller attached from the first byte (`run`, `start -a`) |
//! | `stop(id, timeout)` / `stop_with(.., signal)` | stop signal, SIGKILL after the timeout; returns the exit code |
//! | `kill(id, "SIGHUP")`, `pause`, `unpause`, `restart` | as Docker |
//! | `wait(id)` | blocks until it is not running; its exit code |
//! | `remove(id, force)` | refuses a running one unless `force`; returns the anonymous volumes |
//! | `exec(id, &ExecOptions)` | `-u -w -e -t -i -d --privileged`, or `capture` to collect output |
//! | `attach(id, opts, io)`, `resize(id, rows, cols)` | attach to a running container |
//! | `state(id)`, `inspect(id)`, `list()`, `find(name or id prefix)` | refreshed from `/proc`; a container whose shim died is stopped and recorded as exited (137) with an error |
//! | `top(id)`, `stats(id)` | from the container's cgroup (v1 and v2) |
//! | `log_path(id)` | for [`crate::logs::read`] / [`crate::logs::Follower`] |
//! | [`archive::copy_from`], [`archive::copy_to`], [`archive::copy_out_to_host`], [`archive::copy_in_from_host`], [`archive::export`] | `cp` and `export`, resolved inside the container, never following a symlink out |
//!
//! The shim records exit codes and times, applies the restart policy (moby's back-off),
//! runs the healthcheck (status and the last five probes in `state.health`), writes the
//! rotated log, and survives the CLI (kill -9 included).
//!
//! `rcompose oci ...` ([`oci`]) is a runc-compatible command line over the same pieces.

pub mod archive;
pub mod attach;
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
    ContainerInfo, ExecOptions, ExecOutput, Removed, RootfsAccess, Runtime, RuntimeError, Top,
    new_id,
};
