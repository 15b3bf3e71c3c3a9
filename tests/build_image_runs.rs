//! A FROM-scratch image built from COPY/WORKDIR steps is a real image: its layer tars and
//! config, written as an OCI layout, unpack with umoci and run under runc. Needs root,
//! `busybox-static`, `umoci` and `runc`; cleans up its container, mounts and directories.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use rcompose::image::build::Platform;
use rcompose::image::build::context::BuildContext;
use rcompose::image::build::exec::{
    BuildCache, ExecError, ExecOptions, Executor, LayerRef, RunRequest, Silent, execute,
};
use rcompose::image::build::plan::{BuildOptions, ImageResolver, ResolvedImage, plan};
use sha2::Digest;

/// Stores each committed layer tar as an OCI blob; no base images, no RUN.
struct BlobStore {
    layout: PathBuf,
    inner: support::build::FakeExecutor,
}

impl ImageResolver for BlobStore {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<ResolvedImage, String> {
        self.inner.resolve(reference, platform)
    }
}

impl Executor for BlobStore {
    fn image_layers(&self, image: &ResolvedImage) -> Result<Vec<LayerRef>, ExecError> {
        self.inner.image_layers(image)
    }
    fn run(&self, req: &RunRequest, log: &mut dyn std::io::Write) -> Result<(), ExecError> {
        self.inner.run(req, log)
    }
    fn commit_layer(&self, dir: &Path, tar: &Path, diff_id: &str) -> Result<LayerRef, ExecError> {
        let hex = diff_id.trim_start_matches("sha256:");
        std::fs::copy(tar, self.layout.join("blobs/sha256").join(hex)).unwrap();
        self.inner.commit_layer(dir, tar, diff_id)
    }
}

fn put_blob(layout: &Path, data: &[u8]) -> (String, usize) {
    let hex = hex::encode(sha2::Sha256::digest(data));
    std::fs::write(layout.join("blobs/sha256").join(&hex), data).unwrap();
    (format!("sha256:{hex}"), data.len())
}

/// Deletes the runc container, pass or fail.
struct Container {
    root: PathBuf,
    id: String,
}
impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .arg("--root")
            .arg(&self.root)
            .args(["delete", "--force", &self.id])
            .output();
    }
}

#[test]
fn scratch_image_from_copy_steps_unpacks_and_runs_under_runc() {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::create_dir(ctx.path().join("bin")).unwrap();
    std::fs::copy("/bin/busybox", ctx.path().join("bin/busybox")).unwrap();
    std::fs::write(
        ctx.path().join("hello.sh"),
        "echo \"hello from $GREETING in $(pwd) as $(id -u)\"\n",
    )
    .unwrap();
    let df = "FROM scratch\nCOPY bin/ /bin/\nCOPY --chmod=755 hello.sh /\nENV GREETING=rcompose\nWORKDIR /data\n\
              CMD [\"/bin/busybox\", \"sh\", \"/hello.sh\"]\n";
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let store = BlobStore {
        layout: layout.clone(),
        inner: support::build::FakeExecutor::new(),
    };
    let p = plan(df, &BuildOptions::default(), &store).unwrap();
    let bc = BuildContext::load(ctx.path(), &[]).unwrap();
    let results = execute(
        &p,
        &bc,
        &store,
        &BuildCache::new(tmp.path().join("cache")),
        &tmp.path().join("work"),
        &ExecOptions::default(),
        &Silent,
    )
    .unwrap();
    let image = &results[&p.target].image;
    assert_eq!(image.rootfs.diff_ids.len(), 3);

    let (config_digest, config_size) = put_blob(&layout, image.to_json().as_bytes());
    let layers: Vec<serde_json::Value> = image
        .rootfs
        .diff_ids
        .iter()
        .map(|d| {
            let size = std::fs::metadata(layout.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap().len();
            serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": size})
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": layers,
    });
    let (m_digest, m_size) = put_blob(&layout, manifest.to_string().as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_digest, "size": m_size,
                       "annotations": {"org.opencontainers.image.ref.name": "test"}}],
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();

    let bundle = tmp.path().join("bundle");
    let out = Command::new("umoci")
        .args([
            "unpack",
            "--image",
            &format!("{}:test", layout.display()),
            bundle.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "umoci: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Run without a terminal and without a network namespace setup beyond runc's defaults.
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let id = format!("rcompose-build-test-{}", std::process::id());
    let _guard = Container {
        root: tmp.path().join("runc"),
        id: id.clone(),
    };
    let out = Command::new("runc")
        .args([
            "--root",
            tmp.path().join("runc").to_str().unwrap(),
            "run",
            "-b",
            bundle.to_str().unwrap(),
            &id,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "runc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from rcompose in /data as 0\n"
    );
}
