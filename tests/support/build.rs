//! Build-test helpers: a fake image resolver with fixture base images.

use rcompose::image::build::config::{ContainerConfig, History, ImageConfig, Platform, RootFs};
use rcompose::image::build::plan::{ImageResolver, ResolvedImage};

/// Knows `busybox` and `onbuild-base`, as the busybox fixture image would look.
pub struct FakeResolver;

pub fn normalize(reference: &str) -> String {
    let mut r = reference.to_string();
    if !r.contains(':') && !r.contains('@') {
        r.push_str(":latest");
    }
    if !r.contains('/') {
        r = format!("docker.io/library/{r}");
    }
    r
}

impl ImageResolver for FakeResolver {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<ResolvedImage, String> {
        let reference = normalize(reference);
        let mut config = ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            config: ContainerConfig {
                env: vec![
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                ],
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            },
            created: Some("2024-01-01T00:00:00Z".into()),
            history: vec![History {
                created: Some("2024-01-01T00:00:00Z".into()),
                created_by: "BusyBox 1.36.1 (fixture)".into(),
                ..Default::default()
            }],
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![format!("sha256:{}", "1".repeat(64))],
            },
            ..Default::default()
        };
        match reference.as_str() {
            "docker.io/library/busybox:latest" => {}
            "docker.io/library/onbuild-base:latest" => {
                config.config.on_build =
                    vec!["RUN echo from-trigger".into(), "LABEL triggered=yes".into()];
                config.config.cmd = Some(vec!["base-cmd".into()]);
                config.config.working_dir = "/app".into();
                config.config.user = "1000".into();
            }
            _ => return Err(format!("{reference}: not found")),
        }
        Ok(ResolvedImage {
            digest: format!("sha256:fake-{reference}"),
            reference,
            config,
        })
    }
}

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rcompose::image::build::exec::{ExecError, Executor, LayerRef, RunRequest};
use rcompose::image::build::plan::RunOp;

/// Records RUN requests instead of running containers: each RUN writes `ran.txt` (its
/// arguments) into its upper directory, `exit N` in the command fails with code N. Layers
/// are kept in a temporary directory.
pub struct FakeExecutor {
    pub dir: tempfile::TempDir,
    pub runs: Mutex<Vec<RunOp>>,
    pub commits: Mutex<usize>,
    /// For each RUN, the sorted entries visible at each mount source while it ran.
    pub mount_listings: Mutex<Vec<Vec<Vec<String>>>>,
}

impl FakeExecutor {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::create_dir_all(base.join("bin")).unwrap();
        std::fs::create_dir_all(base.join("run")).unwrap();
        std::fs::create_dir_all(base.join("var")).unwrap();
        std::os::unix::fs::symlink("/run", base.join("var/run")).unwrap();
        std::fs::write(
            base.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(base.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
        std::fs::write(base.join("bin/busybox"), "fake busybox").unwrap();
        Self {
            dir,
            runs: Mutex::new(Vec::new()),
            commits: Mutex::new(0),
            mount_listings: Mutex::new(Vec::new()),
        }
    }
    pub fn run_count(&self) -> usize {
        self.runs.lock().unwrap().len()
    }
}

impl rcompose::image::build::plan::ImageResolver for FakeExecutor {
    fn resolve(
        &self,
        reference: &str,
        platform: &rcompose::image::build::config::Platform,
    ) -> Result<rcompose::image::build::plan::ResolvedImage, String> {
        FakeResolver.resolve(reference, platform)
    }
}

impl Executor for FakeExecutor {
    fn image_layers(
        &self,
        _image: &rcompose::image::build::plan::ResolvedImage,
    ) -> Result<Vec<LayerRef>, ExecError> {
        Ok(vec![LayerRef {
            diff_id: format!("sha256:{}", "1".repeat(64)),
            dir: self.dir.path().join("base"),
        }])
    }
    fn run(&self, req: &RunRequest, log: &mut dyn Write) -> Result<(), ExecError> {
        let mut runs = self.runs.lock().unwrap();
        let n = runs.len();
        runs.push(req.op.clone());
        let listing = req
            .mount_sources
            .iter()
            .map(|src| {
                let mut v: Vec<String> = src
                    .as_ref()
                    .and_then(|p| std::fs::read_dir(p).ok())
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                v.sort();
                v
            })
            .collect();
        self.mount_listings.lock().unwrap().push(listing);
        let cmd = req.op.args.join(" ");
        writeln!(log, "running {cmd}").unwrap();
        if let Some(code) = cmd
            .split("exit ")
            .nth(1)
            .and_then(|c| c.trim().parse::<i32>().ok())
            .filter(|c| *c != 0)
        {
            return Err(ExecError::ExitCode { command: cmd, code });
        }
        let _ = n;
        std::fs::write(req.upper.join("ran.txt"), &cmd).unwrap();
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
