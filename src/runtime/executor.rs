//! Our libcontainer `Executor`: the last steps in the container's init (and in every exec'd
//! process) before `execve`, where libcontainer 0.7 falls short of runc/Docker.
//!
//! [`prepare`] rewrites the spec libcontainer sees and returns an [`ExecPlan`]:
//! - the seccomp section is removed and compiled to BPF once (cached, see `seccomp.rs`);
//!   the executor loads it — for exec'd processes too, which libcontainer would leave
//!   unconfined;
//! - when the spec mounts the cgroup tree read-only, the executor remounts it read-only
//!   (libcontainer's v1 code ignores `ro`);
//! - loading a filter without `no_new_privs` and remounting need `CAP_SYS_ADMIN`, so
//!   `CAP_SYS_ADMIN` and `CAP_SETPCAP` are added to the sets libcontainer applies and the
//!   executor drops them again (bounding set first, then capset) right before `execve`.
//!   The workload never runs with them unless the container asked for them;
//! - the signal mask and dispositions are reset (the shim blocks signals for its signalfd;
//!   Rust ignores SIGPIPE), as runc does.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::{Path, PathBuf};

use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use oci_spec::runtime::{LinuxCapabilities, Process, Spec};
use serde::{Deserialize, Serialize};

use super::seccomp::{self, SeccompError};
use super::sys;

const EXTRA_CAPS: [&str; 2] = ["CAP_SYS_ADMIN", "CAP_SETPCAP"];

/// What the executor does before `execve`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExecPlan {
    /// Raw BPF program to load.
    pub seccomp_bpf: Option<Vec<u8>>,
    pub seccomp_flags: u64,
    pub remount_cgroups_ro: bool,
    /// The capability sets the workload must end with, when we raised extra ones.
    pub final_caps: Option<FinalCaps>,
    /// Window size to give the terminal on stdin before `execve` (exec with a tty: the
    /// caller's size, so the first thing the process reads is right).
    #[serde(default)]
    pub console_size: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FinalCaps {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
}

fn cap_names(set: &Option<HashSet<oci_spec::runtime::Capability>>) -> Vec<String> {
    let mut v: Vec<String> = set
        .iter()
        .flatten()
        .map(|c| format!("CAP_{}", c.to_string().trim_start_matches("CAP_")))
        .collect();
    v.sort();
    v
}

/// Raise the extra capabilities in `caps` (if needed) and return the sets to restore.
fn raise_caps(caps: &mut LinuxCapabilities) -> Result<Option<FinalCaps>, String> {
    let fin = FinalCaps {
        bounding: cap_names(caps.bounding()),
        effective: cap_names(caps.effective()),
        permitted: cap_names(caps.permitted()),
        inheritable: cap_names(caps.inheritable()),
    };
    let missing = EXTRA_CAPS.iter().any(|c| {
        let c = c.to_string();
        !fin.bounding.contains(&c) || !fin.effective.contains(&c) || !fin.permitted.contains(&c)
    });
    if !missing {
        return Ok(None);
    }
    let add = |set: &Option<HashSet<oci_spec::runtime::Capability>>| -> Result<HashSet<oci_spec::runtime::Capability>, String> {
        let mut s = set.clone().unwrap_or_default();
        for c in EXTRA_CAPS {
            s.insert(serde_json::from_value(serde_json::json!(c)).map_err(|e| format!("{c}: {e}"))?);
        }
        Ok(s)
    };
    let b = add(caps.bounding())?;
    let e = add(caps.effective())?;
    let p = add(caps.permitted())?;
    caps.set_bounding(Some(b));
    caps.set_effective(Some(e));
    caps.set_permitted(Some(p));
    Ok(Some(fin))
}

/// Rewrite a container's spec for libcontainer and plan the executor's work.
pub fn prepare(spec: &Spec, seccomp_cache: &Path) -> Result<(Spec, ExecPlan), SeccompError> {
    let mut out = spec.clone();
    let mut plan = ExecPlan::default();
    if let Some(linux) = out.linux_mut()
        && let Some(sc) = linux.seccomp().clone()
    {
        plan.seccomp_flags = seccomp::filter_flags(&sc);
        plan.seccomp_bpf = Some(seccomp::compile_cached(seccomp_cache, &sc)?);
        linux.set_seccomp(None);
    }
    plan.remount_cgroups_ro = out.mounts().iter().flatten().any(|m| {
        m.destination() == Path::new("/sys/fs/cgroup")
            && m.options().iter().flatten().any(|o| o == "ro")
    });
    if (plan.seccomp_bpf.is_some() || plan.remount_cgroups_ro)
        && let Some(process) = out.process_mut()
    {
        let mut caps = process.capabilities().clone().unwrap_or_default();
        plan.final_caps = raise_caps(&mut caps).map_err(SeccompError::Invalid)?;
        process.set_capabilities(Some(caps));
    }
    Ok((out, plan))
}

/// Plan for an exec'd process: the container's seccomp filter, the process's own caps.
pub fn prepare_process(process: &mut Process, container_bpf: Option<(Vec<u8>, u64)>) -> ExecPlan {
    let mut plan = ExecPlan::default();
    if let Some((bpf, flags)) = container_bpf {
        plan.seccomp_bpf = Some(bpf);
        plan.seccomp_flags = flags;
        let mut caps = process.capabilities().clone().unwrap_or_default();
        plan.final_caps = raise_caps(&mut caps).ok().flatten();
        process.set_capabilities(Some(caps));
    }
    plan
}

#[derive(Clone)]
pub struct RcExecutor {
    pub plan: ExecPlan,
}

fn to_caps_set(names: &[String]) -> caps::CapsHashSet {
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

/// Find `name` like `execvp` would, with runc's error words.
fn lookup(name: &str, env: &[String]) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let check = |p: &Path| -> Result<PathBuf, String> {
        let md = std::fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "exec: \"{name}\": stat {}: no such file or directory",
                p.display()
            ),
            _ => format!("exec: \"{name}\": {e}"),
        })?;
        if md.is_dir() {
            return Err(format!(
                "exec: \"{name}\": is a directory: permission denied"
            ));
        }
        if md.permissions().mode() & 0o111 == 0 {
            return Err(format!("exec: \"{name}\": permission denied"));
        }
        Ok(p.to_path_buf())
    };
    if name.contains('/') {
        return check(Path::new(name));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(super::spec::DEFAULT_PATH);
    let mut denied = None;
    for dir in path.split(':') {
        let p = Path::new(if dir.is_empty() { "." } else { dir }).join(name);
        if p.exists() {
            match check(&p) {
                Ok(p) => return Ok(p),
                Err(e) => denied = Some(e),
            }
        }
    }
    Err(denied.unwrap_or_else(|| format!("exec: \"{name}\": executable file not found in $PATH")))
}

impl Executor for RcExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let args = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().clone())
            .ok_or(ExecutorError::InvalidArg)?;
        let fail = |msg: String, code: i32| -> ! {
            // The container's stderr: the message reaches its log, like runc's errors.
            eprintln!("rcompose: {msg}");
            // SAFETY: terminating this (single-threaded) process without unwinding.
            unsafe { libc::_exit(code) }
        };
        if self.plan.remount_cgroups_ro
            && let Err(e) = sys::remount_cgroups_readonly()
        {
            fail(e, 126);
        }
        sys::reset_signals();
        if let Some((rows, cols)) = self.plan.console_size {
            let _ = sys::set_winsize(0, rows, cols);
        }
        if let Some(bpf) = &self.plan.seccomp_bpf
            && let Err(e) = sys::load_seccomp(bpf, self.plan.seccomp_flags as libc::c_ulong)
        {
            fail(format!("cannot load the seccomp filter: {e}"), 126);
        }
        if let Some(fc) = &self.plan.final_caps {
            let keep = to_caps_set(&fc.bounding);
            let r = caps::read(None, caps::CapSet::Bounding)
                .and_then(|now| {
                    now.difference(&keep)
                        .try_for_each(|c| caps::drop(None, caps::CapSet::Bounding, *c))
                })
                .and_then(|_| {
                    let inh = to_caps_set(&fc.inheritable);
                    caps::set(None, caps::CapSet::Inheritable, &inh)
                })
                .and_then(|_| caps::set(None, caps::CapSet::Effective, &to_caps_set(&fc.effective)))
                .and_then(|_| {
                    caps::set(None, caps::CapSet::Permitted, &to_caps_set(&fc.permitted))
                });
            if let Err(e) = r {
                fail(format!("cannot drop capabilities: {e}"), 126);
            }
        }
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_bytes()).unwrap_or_default())
            .collect();
        let Some(prog) = cargs.first() else {
            return Err(ExecutorError::InvalidArg);
        };
        let err = nix::unistd::execvp(prog, &cargs).unwrap_err();
        let code = if err == nix::errno::Errno::ENOENT {
            127
        } else {
            126
        };
        fail(format!("exec {}: {err}", args[0]), code)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        let process = spec.process().as_ref().ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("spec did not contain process".into())
        })?;
        let args = process.args().clone().unwrap_or_default();
        let first = args.first().ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("no command specified".into())
        })?;
        let env = process.env().clone().unwrap_or_default();
        lookup(first, &env)
            .map(drop)
            .map_err(ExecutorValidationError::ArgValidationError)
    }
}

/// Map a libcontainer start error to Docker's exit code: 127 not found, 126 not runnable.
pub fn start_error_exit_code(message: &str) -> i32 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
    {
        127
    } else if message.contains("permission denied") {
        126
    } else {
        128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_and_refuses_like_runc() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(lookup("sh", &env).is_ok());
        let e = lookup("no-such-binary-x", &env).unwrap_err();
        assert!(e.contains("executable file not found in $PATH"), "{e}");
        assert_eq!(start_error_exit_code(&e), 127);
        let e = lookup("/etc/passwd", &env).unwrap_err();
        assert!(e.contains("permission denied"), "{e}");
        assert_eq!(start_error_exit_code(&e), 126);
        assert!(lookup("/etc", &env).is_err());
    }
}
