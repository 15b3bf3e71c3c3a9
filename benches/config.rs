//! `project::load` + JSON rendering on a generated 1000-service Compose file
//! (`scripts/gen-services`). Run: `cargo bench --bench config`.

use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use rcompose::project::{self, LoadOptions, render};

fn generated_project() -> (tempfile::TempDir, LoadOptions) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("scripts/gen-services"))
        .arg("1000")
        .output()
        .expect("python3 runs scripts/gen-services");
    assert!(out.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), &out.stdout).expect("write compose.yaml");
    let opts = LoadOptions {
        working_dir: dir.path().to_path_buf(),
        environment: [("HOME".to_string(), "/root".to_string())]
            .into_iter()
            .collect(),
        ..LoadOptions::default()
    };
    (dir, opts)
}

fn bench_config(c: &mut Criterion) {
    let (_dir, opts) = generated_project();
    let mut g = c.benchmark_group("config-1000-services");
    g.sample_size(20);
    g.bench_function("load", |b| b.iter(|| project::load(&opts).expect("loads")));
    g.bench_function("load+render-json", |b| {
        b.iter(|| {
            let p = project::load(&opts).expect("loads");
            render::escape_dollars(&render::project_json(&p))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_config);
criterion_main!(benches);
