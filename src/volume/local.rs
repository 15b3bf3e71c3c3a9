//! Docker's `local` volume driver options: `type`, `device`, `o` become a `mount(2)` of
//! `device` on the volume's `_data` when a container first uses it (and an unmount when the
//! last one is done), as `mount -t <type> -o <o> <device> <_data>` would.

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use super::VolumeError;

/// Options the local driver accepts (Docker: `type`, `device`, `o`, `size`).
const KNOWN: [&str; 4] = ["type", "device", "o", "size"];

/// A parsed `driver_opts`, ready to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMount {
    pub fstype: Option<String>,
    pub device: String,
    pub flags: MsFlags,
    pub data: String,
}

/// Validate `driver_opts`; `None` when the volume is a plain directory.
pub fn parse(
    name: &str,
    opts: &BTreeMap<String, String>,
) -> Result<Option<LocalMount>, VolumeError> {
    if let Some(k) = opts.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(VolumeError::InvalidOption {
            name: name.to_string(),
            key: k.clone(),
        });
    }
    if opts.contains_key("size") {
        return Err(VolumeError::InvalidDriverOpts {
            name: name.to_string(),
            reason: "quota size requested but no quota support".into(),
        });
    }
    let fstype = opts.get("type").filter(|t| !t.is_empty()).cloned();
    let o = opts.get("o").cloned().unwrap_or_default();
    let Some(device) = opts.get("device").filter(|d| !d.is_empty()).cloned() else {
        if fstype.is_some() || !o.is_empty() {
            return Err(VolumeError::InvalidDriverOpts {
                name: name.to_string(),
                reason: "missing required option: \"device\"".into(),
            });
        }
        return Ok(None);
    };
    let (flags, data) = parse_o(&o);
    if fstype.is_none() && !flags.contains(MsFlags::MS_BIND) {
        return Err(VolumeError::InvalidDriverOpts {
            name: name.to_string(),
            reason: "missing required option: \"type\"".into(),
        });
    }
    Ok(Some(LocalMount {
        fstype,
        device,
        flags,
        data,
    }))
}

/// Split mount(8) options into flags and the filesystem's data string.
pub fn parse_o(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match opt {
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => flags.remove(MsFlags::MS_RDONLY),
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "suid" => flags.remove(MsFlags::MS_NOSUID),
            "nodev" => flags |= MsFlags::MS_NODEV,
            "dev" => flags.remove(MsFlags::MS_NODEV),
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "exec" => flags.remove(MsFlags::MS_NOEXEC),
            "sync" => flags |= MsFlags::MS_SYNCHRONOUS,
            "async" => flags.remove(MsFlags::MS_SYNCHRONOUS),
            "dirsync" => flags |= MsFlags::MS_DIRSYNC,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            "atime" => flags.remove(MsFlags::MS_NOATIME),
            "nodiratime" => flags |= MsFlags::MS_NODIRATIME,
            "relatime" => flags |= MsFlags::MS_RELATIME,
            "strictatime" => flags |= MsFlags::MS_STRICTATIME,
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "defaults" => {}
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

/// Mount `m` on `target`. A read-only bind needs a second remount, as mount(8) does.
pub fn mount(name: &str, m: &LocalMount, target: &Path) -> Result<(), VolumeError> {
    let err = |source: nix::errno::Errno| VolumeError::Mount {
        name: name.to_string(),
        device: m.device.clone(),
        path: target.to_path_buf(),
        source: source.into(),
    };
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    nix::mount::mount(
        Some(m.device.as_str()),
        target,
        m.fstype.as_deref(),
        m.flags,
        data,
    )
    .map_err(err)?;
    if m.flags.contains(MsFlags::MS_BIND) && m.flags.contains(MsFlags::MS_RDONLY) {
        let remount = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        if let Err(e) = nix::mount::mount(None::<&str>, target, None::<&str>, remount, None::<&str>)
        {
            let _ = nix::mount::umount2(target, MntFlags::MNT_DETACH);
            return Err(err(e));
        }
    }
    Ok(())
}

pub fn unmount(target: &Path) -> std::io::Result<()> {
    match nix::mount::umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tmpfs_and_bind_options_parse_like_mount() {
        let m = parse(
            "v",
            &opts(&[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=10m,uid=1000,noexec"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.fstype.as_deref(), Some("tmpfs"));
        assert_eq!(m.flags, MsFlags::MS_NOEXEC);
        assert_eq!(m.data, "size=10m,uid=1000");
        let m = parse(
            "v",
            &opts(&[("type", "none"), ("device", "/srv/x"), ("o", "bind,ro")]),
        )
        .unwrap()
        .unwrap();
        assert!(m.flags.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY));
        assert_eq!(parse("v", &BTreeMap::new()).unwrap(), None);
    }

    #[test]
    fn bad_driver_opts_are_refused_like_docker() {
        let e = parse("v", &opts(&[("colour", "red")])).unwrap_err();
        assert_eq!(e.to_string(), "volume `v`: invalid option: \"colour\"");
        let e = parse("v", &opts(&[("type", "tmpfs")])).unwrap_err();
        assert!(
            e.to_string()
                .contains("missing required option: \"device\""),
            "{e}"
        );
        let e = parse("v", &opts(&[("device", "/x")])).unwrap_err();
        assert!(e.to_string().contains("\"type\""), "{e}");
    }
}
