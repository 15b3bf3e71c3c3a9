//! Docker's security defaults: capabilities, masked and read-only paths, the device
//! allow-list, and `cap_add`/`cap_drop` semantics (moby `oci/caps`, `oci/defaults.go`).

use thiserror::Error;

/// Docker's 14 default capabilities (moby `oci/caps/defaults.go`).
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability by number (`include/uapi/linux/capability.h`).
pub const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Paths masked in every unprivileged container (moby `oci/defaults.go`, v28), plus the
/// per-CPU `thermal_throttle` directories moby masks when they exist.
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SecurityError {
    #[error("unknown capability: `{0}`")]
    UnknownCapability(String),
    #[error(
        "invalid device cgroup rule `{0}`: expected `<type> <major>:<minor> <access>`, e.g. `c 1:3 rwm`"
    )]
    BadDeviceRule(String),
    #[error("invalid security option `{0}`")]
    BadSecurityOpt(String),
}

/// The capabilities a container can have here: those the running kernel knows
/// (`/proc/sys/kernel/cap_last_cap`) that are also in our own bounding set (a privileged
/// container gets all of them; a capability we do not hold cannot be granted — on this
/// project's CI host root lacks `CAP_SYS_RESOURCE`).
pub fn host_caps() -> Vec<&'static str> {
    let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(ALL_CAPS.len() - 1);
    let bounding: u64 = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(u64::MAX);
    ALL_CAPS[..=last.min(ALL_CAPS.len() - 1)]
        .iter()
        .enumerate()
        .filter(|(i, _)| bounding & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect()
}

fn normalize(caps: &[String]) -> Result<Vec<String>, SecurityError> {
    caps.iter()
        .map(|c| {
            let up = c.trim().to_uppercase();
            if up == "ALL" {
                return Ok(up);
            }
            let name = if up.starts_with("CAP_") {
                up
            } else {
                format!("CAP_{up}")
            };
            if ALL_CAPS.contains(&name.as_str()) {
                Ok(name)
            } else {
                Err(SecurityError::UnknownCapability(c.clone()))
            }
        })
        .collect()
}

/// Docker's `TweakCapabilities`: privileged gets everything the kernel knows; `ALL` in
/// `cap_add` means all but the dropped ones; `ALL` in `cap_drop` means only the added ones.
pub fn effective_caps(
    cap_add: &[String],
    cap_drop: &[String],
    privileged: bool,
    host: &[&str],
) -> Result<Vec<String>, SecurityError> {
    let all: Vec<String> = host.iter().map(|s| s.to_string()).collect();
    if privileged {
        return Ok(all);
    }
    let add = normalize(cap_add)?;
    let drop = normalize(cap_drop)?;
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        all.into_iter().filter(|c| !drop.contains(c)).collect()
    } else if drop.iter().any(|c| c == "ALL") {
        add
    } else {
        let mut v: Vec<String> = DEFAULT_CAPS
            .iter()
            .map(|s| s.to_string())
            .filter(|c| !drop.contains(c))
            .collect();
        v.extend(add);
        v
    };
    let mut seen = std::collections::HashSet::new();
    caps.retain(|c| c != "ALL" && seen.insert(c.clone()));
    Ok(caps)
}

/// One device cgroup rule, OCI shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// `a`, `c` or `b`.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl DeviceRule {
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "allow": self.allow, "type": self.kind.to_string(), "access": self.access });
        if let Some(m) = self.major {
            v["major"] = m.into();
        }
        if let Some(m) = self.minor {
            v["minor"] = m.into();
        }
        v
    }
}

fn rule(kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> DeviceRule {
    DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.into(),
    }
}

/// Docker's default device allow-list: deny all, then runc's `AllowedDevices` (the standard
/// character devices, ptys, `mknod` of anything) — moby `oci/defaults.go` + `daemon/oci_linux.go`.
pub fn default_device_rules() -> Vec<DeviceRule> {
    vec![
        DeviceRule {
            allow: false,
            kind: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        },
        rule('c', None, None, "m"),
        rule('b', None, None, "m"),
        rule('c', Some(1), Some(3), "rwm"),    // /dev/null
        rule('c', Some(1), Some(8), "rwm"),    // /dev/random
        rule('c', Some(1), Some(7), "rwm"),    // /dev/full
        rule('c', Some(5), Some(0), "rwm"),    // /dev/tty
        rule('c', Some(1), Some(5), "rwm"),    // /dev/zero
        rule('c', Some(1), Some(9), "rwm"),    // /dev/urandom
        rule('c', Some(5), Some(1), "rwm"),    // /dev/console
        rule('c', Some(136), None, "rwm"),     // /dev/pts/*
        rule('c', Some(5), Some(2), "rwm"),    // /dev/ptmx
        rule('c', Some(10), Some(200), "rwm"), // /dev/net/tun
    ]
}

/// Parse a `device_cgroup_rules` entry (`c 1:3 rwm`, `a *:* rwm`, `b 8:* r`).
pub fn parse_device_rule(s: &str) -> Result<DeviceRule, SecurityError> {
    let bad = || SecurityError::BadDeviceRule(s.to_string());
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [kind, nums, access] = parts.as_slice() else {
        return Err(bad());
    };
    let kind = match *kind {
        "a" | "c" | "b" => kind.chars().next().unwrap_or('a'),
        _ => return Err(bad()),
    };
    let (maj, min) = nums.split_once(':').ok_or_else(bad)?;
    let num = |x: &str| -> Result<Option<i64>, SecurityError> {
        if x == "*" {
            Ok(None)
        } else {
            x.parse().map(Some).map_err(|_| bad())
        }
    };
    if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(DeviceRule {
        allow: true,
        kind,
        major: num(maj)?,
        minor: num(min)?,
        access: access.to_string(),
    })
}

/// What `security_opt` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOpts {
    pub no_new_privileges: bool,
    /// `Some(None)`: unconfined; `Some(Some(path))`: a profile file; `None`: the default.
    pub seccomp: Option<Option<String>>,
}

pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts, SecurityError> {
    let mut out = SecurityOpts::default();
    for o in opts {
        let (k, v) = match o.split_once(['=', ':']) {
            Some((k, v)) => (k, Some(v)),
            None => (o.as_str(), None),
        };
        match (k, v) {
            ("no-new-privileges", None) => out.no_new_privileges = true,
            ("no-new-privileges", Some(v)) => {
                out.no_new_privileges = v
                    .parse()
                    .map_err(|_| SecurityError::BadSecurityOpt(o.clone()))?
            }
            ("seccomp", Some("unconfined")) => out.seccomp = Some(None),
            ("seccomp", Some(path)) if !path.is_empty() => {
                out.seccomp = Some(Some(path.to_string()))
            }
            // AppArmor and SELinux are not enabled on the hosts rcompose targets; Docker
            // ignores these options when the LSM is absent.
            ("apparmor", Some(_)) | ("label", Some(_)) | ("systempaths", Some("unconfined")) => {}
            _ => return Err(SecurityError::BadSecurityOpt(o.clone())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cap_add_and_drop_follow_docker() {
        let host = host_caps();
        let c =
            effective_caps(&s(&["net_admin"]), &s(&["CAP_CHOWN", "kill"]), false, &host).unwrap();
        assert!(c.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!c.contains(&"CAP_CHOWN".to_string()));
        assert!(!c.contains(&"CAP_KILL".to_string()));
        assert_eq!(c.len(), 13);
        assert_eq!(
            effective_caps(&s(&["NET_RAW"]), &s(&["ALL"]), false, &host).unwrap(),
            s(&["CAP_NET_RAW"])
        );
        let all_but = effective_caps(&s(&["ALL"]), &s(&["SYS_ADMIN"]), false, &host).unwrap();
        assert_eq!(all_but.len(), host.len() - 1);
        assert_eq!(
            effective_caps(&[], &[], true, &host).unwrap().len(),
            host.len()
        );
        assert_eq!(
            effective_caps(&s(&["CAP_BOGUS"]), &[], false, &host).unwrap_err(),
            SecurityError::UnknownCapability("CAP_BOGUS".into())
        );
    }

    #[test]
    fn device_rules_parse() {
        assert_eq!(
            parse_device_rule("c 1:3 rwm").unwrap(),
            rule('c', Some(1), Some(3), "rwm")
        );
        assert_eq!(
            parse_device_rule("a *:* r").unwrap(),
            rule('a', None, None, "r")
        );
        assert!(parse_device_rule("x 1:3 rwm").is_err());
        assert!(parse_device_rule("c 1 rwm").is_err());
        assert!(parse_device_rule("c 1:3 rwx").is_err());
    }

    #[test]
    fn security_opts_parse() {
        let o = parse_security_opts(&s(&["no-new-privileges:true", "seccomp=unconfined"])).unwrap();
        assert!(o.no_new_privileges);
        assert_eq!(o.seccomp, Some(None));
        let o = parse_security_opts(&s(&["seccomp:/x.json", "apparmor=unconfined"])).unwrap();
        assert_eq!(o.seccomp, Some(Some("/x.json".into())));
        assert!(parse_security_opts(&s(&["bogus"])).is_err());
    }
}
