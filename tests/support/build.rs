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
                env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            },
            created: Some("2024-01-01T00:00:00Z".into()),
            history: vec![History {
                created: Some("2024-01-01T00:00:00Z".into()),
                created_by: "BusyBox 1.36.1 (fixture)".into(),
                ..Default::default()
            }],
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![format!("sha256:{}", "1".repeat(64))] },
            ..Default::default()
        };
        match reference.as_str() {
            "docker.io/library/busybox:latest" => {}
            "docker.io/library/onbuild-base:latest" => {
                config.config.on_build = vec!["RUN echo from-trigger".into(), "LABEL triggered=yes".into()];
                config.config.cmd = Some(vec!["base-cmd".into()]);
                config.config.working_dir = "/app".into();
                config.config.user = "1000".into();
            }
            _ => return Err(format!("{reference}: not found")),
        }
        Ok(ResolvedImage { digest: format!("sha256:fake-{reference}"), reference, config })
    }
}
