//! Run a busybox container with runc (Debian's, a reference OCI runtime) to check that mounts
//! we hand to a runtime behave as promised inside a real container.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use rcompose::volume::ResolvedMount;

/// Run `script` with busybox `sh` in a fresh container with `mounts`; the container is
/// deleted afterwards whatever happens.
pub fn run(mounts: &[ResolvedMount], script: &str) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("rcompose-runc-")
        .tempdir()
        .unwrap();
    let rootfs = dir.path().join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    let spec = Command::new("runc")
        .arg("spec")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(spec.success());
    let cfg_path = dir.path().join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["process"]["terminal"] = false.into();
    cfg["process"]["args"] = serde_json::json!(["/bin/busybox", "sh", "-c", script]);
    cfg["process"]["env"] = serde_json::json!(["PATH=/bin"]);
    cfg["root"]["readonly"] = false.into();
    let extra: Vec<serde_json::Value> = mounts
        .iter()
        .map(|m| serde_json::to_value(m.to_oci()).unwrap())
        .collect();
    cfg["mounts"].as_array_mut().unwrap().extend(extra);
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let id = format!("rct-{}", super::net::random_hex(12));
    let _guard = Delete(id.clone());
    Command::new("runc")
        .args(["run", "--bundle"])
        .arg(dir.path())
        .arg(&id)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

struct Delete(String);

impl Drop for Delete {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}
