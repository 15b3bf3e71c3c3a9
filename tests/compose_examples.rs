//! `rcompose config` works on every example project in `compose-examples/`.

use std::path::Path;
use std::process::Command;

#[test]
fn config_renders_every_compose_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("compose-examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).expect("compose-examples exists") {
        let dir = entry.expect("dir entry").path();
        if !dir.join("compose.yaml").is_file() {
            continue;
        }
        seen += 1;
        // As a user runs it: in the project folder, no -f, a minimal environment.
        let out = Command::new(env!("CARGO_BIN_EXE_rcompose"))
            .args(["config", "--format", "json"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent-home")
            .output()
            .expect("rcompose runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{}: config failed: {stderr}",
            dir.display()
        );
        let model: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON model");
        let services = model["services"].as_object().expect("services");
        assert!(!services.is_empty(), "{}: no services", dir.display());
        for (name, s) in services {
            assert!(
                s.get("image").is_some() || s.get("build").is_some(),
                "{}: service {name} has no image",
                dir.display()
            );
        }
        assert!(
            !stderr.contains("variable is not set"),
            "{}: unset variables: {stderr}",
            dir.display()
        );
    }
    assert!(seen >= 5, "expected the example projects, found {seen}");
}
