//! A test-only Executor that runs RUN steps with Debian's `runc` on an overlay of the step's
//! layers, and a busybox base image made from `busybox-static`. It stands in for the
//! embedded runtime until the builder is wired to it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use rcompose::image::build::config::{ContainerConfig, ImageConfig, Platform, RootFs};
use rcompose::image::build::copy::scoped_path;
use rcompose::image::build::exec::{ExecError, Executor, LayerRef, RunRequest};
use rcompose::image::build::layer::{OverlayMount, dir_to_tar};
use rcompose::image::build::plan::{ImageResolver, ResolvedImage};

pub struct RuncExecutor {
    pub dir: tempfile::TempDir,
    base: LayerRef,
    pub runs: Mutex<usize>,
    commits: Mutex<usize>,
}

impl RuncExecutor {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("busybox");
        for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", base.join("bin/busybox")).unwrap();
        let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", base.join("bin").join(applet));
            }
        }
        std::fs::write(
            base.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(base.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
        std::fs::write(base.join("etc/motd"), "welcome\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(base.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();
        let (_, diff_id, _) = dir_to_tar(&base, std::io::sink()).unwrap();
        Self {
            dir,
            base: LayerRef { diff_id, dir: base },
            runs: Mutex::new(0),
            commits: Mutex::new(0),
        }
    }

    pub fn run_count(&self) -> usize {
        *self.runs.lock().unwrap()
    }
}

impl ImageResolver for RuncExecutor {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<ResolvedImage, String> {
        let reference = super::build::normalize(reference);
        if reference != "docker.io/library/busybox:latest" {
            return Err(format!("{reference}: not found"));
        }
        let config = ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            config: ContainerConfig {
                env: vec![
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                ],
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            },
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![self.base.diff_id.clone()],
            },
            ..Default::default()
        };
        Ok(ResolvedImage {
            digest: self.base.diff_id.clone(),
            reference,
            config,
        })
    }
}

/// `user[:group]` in the rootfs's passwd/group.
fn ids(root: &Path, user: &str) -> (u32, u32) {
    let (u, g) = user
        .split_once(':')
        .map_or((user, None), |(u, g)| (u, Some(g)));
    let find = |file: &str, name: &str, field: usize| -> Option<u32> {
        let text = std::fs::read_to_string(scoped_path(root, file, true)).ok()?;
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name))
                .then(|| f.get(field)?.parse().ok())
                .flatten()
        })
    };
    if u.is_empty() {
        return (0, 0);
    }
    let uid = u
        .parse()
        .ok()
        .or_else(|| find("/etc/passwd", u, 2))
        .unwrap_or(0);
    let gid = match g {
        Some(g) => g
            .parse()
            .ok()
            .or_else(|| find("/etc/group", g, 2))
            .unwrap_or(0),
        None => find("/etc/passwd", u, 3).unwrap_or(uid),
    };
    (uid, gid)
}

impl Executor for RuncExecutor {
    fn image_layers(&self, _image: &ResolvedImage) -> Result<Vec<LayerRef>, ExecError> {
        Ok(vec![self.base.clone()])
    }

    fn run(&self, req: &RunRequest, log: &mut dyn Write) -> Result<(), ExecError> {
        let n = {
            let mut r = self.runs.lock().unwrap();
            *r += 1;
            *r
        };
        let step = req.upper.parent().unwrap().to_path_buf();
        let rootfs = step.join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        let mount = OverlayMount::mount(&req.lower, &req.upper, &req.work, &rootfs)
            .map_err(ExecError::Layer)?;
        let bundle = step.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        let out = Command::new("runc")
            .args(["spec", "--bundle"])
            .arg(&bundle)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mut spec: serde_json::Value =
            serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
        let (uid, gid) = ids(mount.path(), &req.op.user);
        let caps: Vec<&str> = vec![
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
        let mut env = req.op.env.clone();
        env.extend(req.op.proxy_env.iter().cloned());
        spec["process"] = serde_json::json!({
            "terminal": false,
            "user": {"uid": uid, "gid": gid},
            "args": req.op.args,
            "env": env,
            "cwd": req.op.cwd,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": false,
        });
        spec["root"] = serde_json::json!({"path": rootfs, "readonly": false});
        let mounts = spec["mounts"].as_array_mut().unwrap();
        if let Some(p) = &req.pipes {
            mounts.push(serde_json::json!({"destination": "/dev/pipes", "type": "bind", "source": p, "options": ["rbind", "ro"]}));
        }
        for (m, src) in req.op.mounts.iter().zip(&req.mount_sources) {
            match (m.kind.as_str(), src) {
                ("tmpfs", _) => mounts.push(serde_json::json!({"destination": m.target, "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]})),
                (_, Some(s)) => mounts.push(serde_json::json!({
                    "destination": m.target, "type": "bind", "source": s,
                    "options": ["rbind", if m.readonly { "ro" } else { "rw" }],
                })),
                _ => {}
            }
        }
        if req.op.network == "host" {
            let ns = spec["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "network");
        }
        std::fs::write(bundle.join("config.json"), spec.to_string()).unwrap();
        let root = self.dir.path().join("runc-state");
        let id = format!("rcompose-build-{}-{n}", std::process::id());
        let out = Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["run", "-b"])
            .arg(&bundle)
            .arg(&id)
            .output()
            .unwrap();
        let _ = Command::new("runc")
            .arg("--root")
            .arg(&root)
            .args(["delete", "--force", &id])
            .output();
        log.write_all(&out.stdout).unwrap();
        log.write_all(&out.stderr).unwrap();
        mount.unmount().map_err(ExecError::Layer)?;
        let _ = std::fs::remove_dir_all(&bundle);
        if !out.status.success() {
            return Err(ExecError::ExitCode {
                command: req.op.args.join(" "),
                code: out.status.code().unwrap_or(-1),
            });
        }
        Ok(())
    }

    fn commit_layer(&self, dir: &Path, _tar: &Path, diff_id: &str) -> Result<LayerRef, ExecError> {
        let mut c = self.commits.lock().unwrap();
        *c += 1;
        let dst: PathBuf = self.dir.path().join(format!("layer-{c}"));
        std::fs::rename(dir, &dst).unwrap();
        Ok(LayerRef {
            diff_id: diff_id.to_string(),
            dir: dst,
        })
    }
}
