//! Seccomp: Docker's default profile, profile → OCI conversion, BPF compilation and caching.
//!
//! - [`DEFAULT_PROFILE`] is moby's `profiles/seccomp/default.json`, vendored in `assets/`.
//! - [`to_oci`] applies a Docker-format profile to one container exactly as moby's
//!   `setupSeccomp` does (arch map, `includes`/`excludes` by capability, arch, kernel).
//! - [`compile_cached`] turns the OCI section into a BPF program with libseccomp once per
//!   distinct filter and keeps it under `<root>/seccomp/<sha256>.bpf`; every later container
//!   with the same filter loads the file instead of recompiling (compiling the default
//!   profile costs milliseconds per start).
//! - The program is loaded by our libcontainer executor (see `executor.rs`) just before the
//!   workload's `execve`, for the container's init and for every exec'd process alike
//!   (libcontainer 0.7 drops the seccomp section for `exec`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// moby's default profile (Docker format).
pub const DEFAULT_PROFILE: &str = include_str!("../../assets/seccomp/default.json");

#[derive(Debug, Error)]
pub enum SeccompError {
    #[error("invalid seccomp profile `{source_name}`")]
    Parse {
        source_name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid seccomp profile: {0}")]
    Invalid(String),
    #[error("cannot compile the seccomp filter")]
    Compile(#[source] libseccomp::error::SeccompError),
    #[error("seccomp action SCMP_ACT_NOTIFY is not supported by rcompose")]
    NotifyUnsupported,
    #[error("cannot write the seccomp cache `{path}`")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A Docker-format seccomp profile (`docker run --security-opt seccomp=<file>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Profile {
    pub default_action: String,
    pub default_errno_ret: Option<u32>,
    pub architectures: Vec<String>,
    pub arch_map: Vec<ArchMap>,
    pub syscalls: Vec<Rule>,
    pub flags: Vec<String>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArchMap {
    pub architecture: String,
    pub sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rule {
    pub name: Option<String>,
    pub names: Vec<String>,
    pub action: String,
    pub errno_ret: Option<u32>,
    pub args: Vec<serde_json::Value>,
    pub includes: Option<Filter>,
    pub excludes: Option<Filter>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Filter {
    pub caps: Vec<String>,
    pub arches: Vec<String>,
    pub min_kernel: Option<String>,
}

/// The host facts the conversion depends on.
#[derive(Debug, Clone)]
pub struct Target {
    /// Go's name for the architecture (`amd64`), used by `includes.arches`.
    pub go_arch: String,
    /// libseccomp's name (`SCMP_ARCH_X86_64`), used by `archMap`.
    pub native_arch: String,
    /// Running kernel (major, minor).
    pub kernel: (u32, u32),
}

impl Target {
    pub fn host() -> Self {
        let (go_arch, native_arch) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", "SCMP_ARCH_X86_64"),
            "aarch64" => ("arm64", "SCMP_ARCH_AARCH64"),
            "x86" => ("386", "SCMP_ARCH_X86"),
            "arm" => ("arm", "SCMP_ARCH_ARM"),
            "s390x" => ("s390x", "SCMP_ARCH_S390X"),
            "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
            "powerpc64" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
            "mips64" => ("mips64", "SCMP_ARCH_MIPS64"),
            other => (other, "SCMP_ARCH_NATIVE"),
        };
        Target {
            go_arch: go_arch.into(),
            native_arch: native_arch.into(),
            kernel: kernel_version(),
        }
    }
}

/// (major, minor) of the running kernel, from `uname`.
pub fn kernel_version() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_kernel(&release).unwrap_or((0, 0))
}

fn parse_kernel(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

pub fn parse_profile(text: &str, source_name: &str) -> Result<Profile, SeccompError> {
    serde_json::from_str(text).map_err(|source| SeccompError::Parse {
        source_name: source_name.into(),
        source,
    })
}

/// Apply a Docker-format profile to a container whose bounding capability set is `caps`
/// (`CAP_*` names), as moby's `setupSeccomp`. Returns `None` for an empty profile.
pub fn to_oci(
    profile: &Profile,
    caps: &[String],
    target: &Target,
) -> Result<Option<LinuxSeccomp>, SeccompError> {
    if profile.default_action.is_empty() && profile.syscalls.is_empty() {
        return Ok(None);
    }
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(SeccompError::Invalid(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
        ));
    }
    let mut arches = profile.architectures.clone();
    for a in &profile.arch_map {
        if a.architecture == target.native_arch {
            arches.push(a.architecture.clone());
            arches.extend(a.sub_architectures.clone().unwrap_or_default());
        }
    }
    let kernel_ge = |v: &str| -> Result<bool, SeccompError> {
        let want = parse_kernel(v)
            .ok_or_else(|| SeccompError::Invalid(format!("invalid minKernel `{v}`")))?;
        Ok(target.kernel >= want)
    };
    let has_cap = |c: &String| caps.iter().any(|x| x == c);
    let mut syscalls = Vec::new();
    'rules: for rule in &profile.syscalls {
        let mut names = rule.names.clone();
        if let Some(n) = &rule.name {
            if !names.is_empty() {
                return Err(SeccompError::Invalid("use either 'name' or 'names'".into()));
            }
            names = vec![n.clone()];
        }
        if let Some(ex) = &rule.excludes {
            if ex.arches.contains(&target.go_arch) || ex.caps.iter().any(has_cap) {
                continue 'rules;
            }
            if let Some(k) = &ex.min_kernel
                && kernel_ge(k)?
            {
                continue 'rules;
            }
        }
        if let Some(inc) = &rule.includes {
            if !inc.arches.is_empty() && !inc.arches.contains(&target.go_arch) {
                continue 'rules;
            }
            if !inc.caps.iter().all(has_cap) {
                continue 'rules;
            }
            if let Some(k) = &inc.min_kernel
                && !kernel_ge(k)?
            {
                continue 'rules;
            }
        }
        let mut call = serde_json::json!({ "names": names, "action": rule.action });
        if let Some(e) = rule.errno_ret {
            call["errnoRet"] = e.into();
        }
        if !rule.args.is_empty() {
            call["args"] = rule.args.clone().into();
        }
        syscalls.push(call);
    }
    let mut doc = serde_json::json!({
        "defaultAction": profile.default_action,
        "syscalls": syscalls,
    });
    if let Some(e) = profile.default_errno_ret {
        doc["defaultErrnoRet"] = e.into();
    }
    if !arches.is_empty() {
        doc["architectures"] = arches.into();
    }
    if !profile.flags.is_empty() {
        doc["flags"] = profile.flags.clone().into();
    }
    serde_json::from_value(doc)
        .map(Some)
        .map_err(|e| SeccompError::Invalid(e.to_string()))
}

fn translate_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

fn translate_action(
    action: LinuxSeccompAction,
    errno: Option<u32>,
) -> Result<ScmpAction, SeccompError> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => return Err(SeccompError::NotifyUnsupported),
    })
}

fn translate_op(op: LinuxSeccompOperator, datum_b: Option<u64>) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(datum_b.unwrap_or(0)),
    }
}

/// The `seccomp(2)` flags the OCI section asks for (applied at load time).
pub fn filter_flags(seccomp: &LinuxSeccomp) -> libc::c_ulong {
    let mut flags = 0;
    for f in seccomp.flags().iter().flatten() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            // TSYNC is moot (the process is single-threaded); WAIT_KILLABLE_RECV only
            // matters with NOTIFY, which is refused.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync
            | LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    flags
}

/// Build the libseccomp filter for an OCI section, with libcontainer's (= runc's) rules:
/// unknown syscall names are skipped, rules equal to the default action are skipped, and
/// several conditions on one argument become separate rules.
fn build_filter(seccomp: &LinuxSeccomp) -> Result<ScmpFilterContext, SeccompError> {
    let default_action = translate_action(seccomp.default_action(), seccomp.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default_action).map_err(SeccompError::Compile)?;
    for &arch in seccomp.architectures().iter().flatten() {
        ctx.add_arch(translate_arch(arch))
            .map_err(SeccompError::Compile)?;
    }
    ctx.set_ctl_nnp(false).map_err(SeccompError::Compile)?;
    for syscall in seccomp.syscalls().iter().flatten() {
        let action = translate_action(syscall.action(), syscall.errno_ret())?;
        if action == default_action {
            continue;
        }
        for name in syscall.names() {
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            match syscall.args() {
                Some(args) if !args.is_empty() => {
                    let cmps: Vec<ScmpArgCompare> = args
                        .iter()
                        .map(|a| {
                            ScmpArgCompare::new(
                                a.index() as u32,
                                translate_op(a.op(), a.value_two()),
                                a.value(),
                            )
                        })
                        .collect();
                    let mut seen = std::collections::HashSet::new();
                    let dup = args.iter().any(|a| !seen.insert(a.index()));
                    if dup {
                        for c in &cmps {
                            ctx.add_rule_conditional(action, sc, std::slice::from_ref(c))
                                .map_err(SeccompError::Compile)?;
                        }
                    } else {
                        ctx.add_rule_conditional(action, sc, &cmps)
                            .map_err(SeccompError::Compile)?;
                    }
                }
                _ => {
                    ctx.add_rule(action, sc).map_err(SeccompError::Compile)?;
                }
            }
        }
    }
    Ok(ctx)
}

/// Compile to a raw BPF program (`struct sock_filter[]` bytes).
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Vec<u8>, SeccompError> {
    let ctx = build_filter(seccomp)?;
    let tmp = tempfile::tempfile().map_err(|source| SeccompError::Cache {
        path: std::env::temp_dir(),
        source,
    })?;
    // libseccomp 2.5 (Debian 12) has no export_bpf_mem: export to a file.
    ctx.export_bpf(&tmp).map_err(SeccompError::Compile)?;
    let mut f = tmp;
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(0))
        .and_then(|_| f.read_to_end(&mut buf))
        .map_err(|source| SeccompError::Cache {
            path: std::env::temp_dir(),
            source,
        })?;
    Ok(buf)
}

/// The cache key of an OCI seccomp section.
pub fn cache_key(seccomp: &LinuxSeccomp) -> String {
    let bytes = serde_json::to_vec(seccomp).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// Return the BPF program for `seccomp`, compiling it only if `<cache_dir>/<key>.bpf` does
/// not exist yet. The file is written atomically, so concurrent starts are safe.
pub fn compile_cached(cache_dir: &Path, seccomp: &LinuxSeccomp) -> Result<Vec<u8>, SeccompError> {
    let path = cache_dir.join(format!("{}.bpf", cache_key(seccomp)));
    if let Ok(bytes) = std::fs::read(&path)
        && !bytes.is_empty()
        && bytes.len() % 8 == 0
    {
        return Ok(bytes);
    }
    let bpf = compile(seccomp)?;
    let io = |source| SeccompError::Cache {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(cache_dir).map_err(io)?;
    super::state::write_atomic(&path, &bpf).map_err(io)?;
    Ok(bpf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            go_arch: "amd64".into(),
            native_arch: "SCMP_ARCH_X86_64".into(),
            kernel: (6, 1),
        }
    }

    fn names(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|c| c.action() == LinuxSeccompAction::ScmpActAllow && c.args().is_none())
            .flat_map(|c| c.names().clone())
            .collect()
    }

    #[test]
    fn default_profile_follows_moby_rules_for_default_caps() {
        let p = parse_profile(DEFAULT_PROFILE, "default").unwrap();
        let caps: Vec<String> = super::super::security::DEFAULT_CAPS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = to_oci(&p, &caps, &target()).unwrap().unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(1));
        assert_eq!(
            s.architectures().as_ref().unwrap(),
            &vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        let n = names(&s);
        assert!(n.contains(&"read".to_string()));
        assert!(
            n.contains(&"arch_prctl".to_string()),
            "amd64-only rule kept"
        );
        assert!(
            n.contains(&"chroot".to_string()),
            "CAP_SYS_CHROOT is a default cap"
        );
        assert!(n.contains(&"ptrace".to_string()), "minKernel 4.8 satisfied");
        assert!(!n.contains(&"mount".to_string()), "needs CAP_SYS_ADMIN");
        assert!(!n.contains(&"cacheflush".to_string()), "arm only");
        assert!(!n.contains(&"reboot".to_string()));
        // clone3 answers ENOSYS without CAP_SYS_ADMIN.
        assert!(
            s.syscalls()
                .iter()
                .flatten()
                .any(|c| c.names() == &["clone3"]
                    && c.action() == LinuxSeccompAction::ScmpActErrno
                    && c.errno_ret() == Some(38))
        );
    }

    #[test]
    fn sys_admin_unlocks_mount_and_drops_the_clone_restriction() {
        let p = parse_profile(DEFAULT_PROFILE, "default").unwrap();
        let s = to_oci(&p, &["CAP_SYS_ADMIN".into()], &target())
            .unwrap()
            .unwrap();
        let n = names(&s);
        assert!(n.contains(&"mount".to_string()));
        assert!(n.contains(&"clone3".to_string()));
        assert!(
            !s.syscalls()
                .iter()
                .flatten()
                .any(|c| c.names() == &["clone"] && c.args().is_some())
        );
    }

    #[test]
    fn old_kernels_lose_min_kernel_rules() {
        let p = parse_profile(DEFAULT_PROFILE, "default").unwrap();
        let mut t = target();
        t.kernel = (4, 4);
        let s = to_oci(&p, &[], &t).unwrap().unwrap();
        assert!(!names(&s).contains(&"ptrace".to_string()));
    }

    #[test]
    fn the_default_profile_compiles_to_bpf() {
        let p = parse_profile(DEFAULT_PROFILE, "default").unwrap();
        let s = to_oci(&p, &[], &target()).unwrap().unwrap();
        let bpf = compile(&s).unwrap();
        assert!(bpf.len() > 8 * 100 && bpf.len().is_multiple_of(8));
        let dir = tempfile::tempdir().unwrap();
        let a = compile_cached(dir.path(), &s).unwrap();
        assert_eq!(a, bpf);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_profiles_are_refused() {
        assert!(parse_profile("{", "x.json").is_err());
        let p = Profile {
            default_action: "SCMP_ACT_ERRNO".into(),
            architectures: vec!["SCMP_ARCH_X86_64".into()],
            arch_map: vec![ArchMap::default()],
            ..Default::default()
        };
        assert!(to_oci(&p, &[], &target()).is_err());
    }
}
