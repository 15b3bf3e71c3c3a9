//! Real builds: RUN steps execute in containers (Debian's runc standing in for the embedded
//! runtime) on a busybox base made from `busybox-static`. Covers heredoc RUN (shell and
//! shebang), ARG/ENV in RUN, USER and WORKDIR effects, deletions becoming whiteouts, cache
//! hits on a rebuild and misses on a changed file. Needs root; leaves no mount behind.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use rcompose::image::build::context::{BuildContext, ignore_patterns};
use rcompose::image::build::exec::{BuildCache, ExecOptions, Silent, StageResult, execute};
use rcompose::image::build::layer::dir_to_tar;
use rcompose::image::build::plan::{BuildOptions, plan};
use support::runc::RuncExecutor;

const DOCKERFILE: &str = r#"FROM busybox AS build
ARG GREETING=hello
ENV TARGET=world
WORKDIR /src
COPY . .
RUN <<EOF
set -e
echo "$GREETING $TARGET from $(pwd): $(cat input.txt)" > out.txt
rm /etc/motd
EOF
RUN <<SCRIPT
#!/bin/sh
echo "shebang as $(id -u)" > /src/script.txt
SCRIPT

FROM busybox
COPY --from=build /src/out.txt /src/script.txt /app/
COPY --link --chown=app input.txt /linked.txt
USER app
WORKDIR /home/app
RUN id -u > whoami.txt && pwd >> whoami.txt && ls /etc/motd
"#;

fn find(r: &StageResult, path: &str) -> Option<std::path::PathBuf> {
    r.layers
        .iter()
        .rev()
        .map(|l| l.dir.join(path))
        .find(|p| p.exists())
}

fn build(
    exec: &RuncExecutor,
    ctx: &std::path::Path,
    state: &std::path::Path,
    args: &[(&str, &str)],
) -> BTreeMap<usize, StageResult> {
    let opts = BuildOptions {
        build_args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let p = plan(DOCKERFILE, &opts, exec).unwrap();
    let bc = BuildContext::load(ctx, &ignore_patterns(ctx, None).unwrap()).unwrap();
    let cache = BuildCache::new(state.join("cache"));
    execute(
        &p,
        &bc,
        exec,
        &cache,
        &state.join("work"),
        &ExecOptions::default(),
        &Silent,
    )
    .unwrap()
}

#[test]
fn dockerfile_builds_with_real_run_steps_and_rebuilds_from_cache() {
    let exec = RuncExecutor::new();
    let ctx = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("input.txt"), "v1").unwrap();
    std::fs::write(ctx.path().join("notes.log"), "ignored").unwrap();
    std::fs::write(ctx.path().join(".dockerignore"), "*.log\n").unwrap();

    let r = build(&exec, ctx.path(), state.path(), &[("GREETING", "hi")]);
    assert_eq!(exec.run_count(), 3);
    let target = &r[&1];
    let out = std::fs::read_to_string(find(target, "app/out.txt").unwrap()).unwrap();
    assert_eq!(out, "hi world from /src: v1\n");
    let script = std::fs::read_to_string(find(target, "app/script.txt").unwrap()).unwrap();
    assert_eq!(script, "shebang as 0\n");
    let who = find(target, "home/app/whoami.txt").unwrap();
    assert_eq!(std::fs::read_to_string(&who).unwrap(), "1000\n/home/app\n");
    assert_eq!(std::fs::metadata(&who).unwrap().uid(), 1000);
    // --link --chown=<name> resolves the name in the image below.
    let linked = std::fs::metadata(find(target, "linked.txt").unwrap()).unwrap();
    assert_eq!((linked.uid(), linked.gid()), (1000, 1000));
    // The deletion in the first RUN is a whiteout in its layer tar.
    let build_stage = &r[&0];
    let run_layer = &build_stage.layers[build_stage.layers.len() - 2];
    let (tar, _, _) = dir_to_tar(&run_layer.dir, Vec::new()).unwrap();
    let names: Vec<String> = tar::Archive::new(&tar[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"etc/.wh.motd".to_string()), "{names:?}");
    assert!(names.contains(&"src/out.txt".to_string()));
    assert!(!names.iter().any(|n| n.ends_with("notes.log")));

    // Rebuild: every step cached, nothing runs.
    let again = build(&exec, ctx.path(), state.path(), &[("GREETING", "hi")]);
    assert_eq!(exec.run_count(), 3);
    assert_eq!(again[&1].key, target.key);
    assert_eq!(
        again[&1].image.rootfs.diff_ids,
        target.image.rootfs.diff_ids
    );

    // A changed build arg reruns the RUNs that see it.
    build(&exec, ctx.path(), state.path(), &[("GREETING", "hey")]);
    assert_eq!(exec.run_count(), 6);
    // A changed input file reruns from its COPY on.
    std::fs::write(ctx.path().join("input.txt"), "v2").unwrap();
    let changed = build(&exec, ctx.path(), state.path(), &[("GREETING", "hi")]);
    assert_eq!(exec.run_count(), 9);
    let out = std::fs::read_to_string(find(&changed[&1], "app/out.txt").unwrap()).unwrap();
    assert_eq!(out, "hi world from /src: v2\n");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(state.path().to_str().unwrap()));
}

/// Timings for the report (not an assertion): first build vs fully cached rebuild.
/// `cargo test --release --test build_runc -- --ignored --nocapture`
#[test]
#[ignore]
fn measure_first_build_and_cached_rebuild() {
    let exec = RuncExecutor::new();
    let ctx = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("input.txt"), "v1").unwrap();
    for i in 0..200 {
        std::fs::write(
            ctx.path().join(format!("file-{i}.txt")),
            format!("content {i}\n").repeat(50),
        )
        .unwrap();
    }
    let t = std::time::Instant::now();
    build(&exec, ctx.path(), state.path(), &[]);
    let first = t.elapsed();
    let mut cached = Vec::new();
    for _ in 0..5 {
        let t = std::time::Instant::now();
        build(&exec, ctx.path(), state.path(), &[]);
        cached.push(t.elapsed());
    }
    cached.sort();
    eprintln!(
        "first build: {first:?}; cached rebuild median of 5: {:?}",
        cached[2]
    );
}
