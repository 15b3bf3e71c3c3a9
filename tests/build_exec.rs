//! Executing plans through the Executor seam with a recording fake (no containers): layers,
//! cache hits and misses, parallel stages, the final config. Needs root (overlay mounts for
//! COPY and WORKDIR).

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rcompose::image::build::config::Platform;
use rcompose::image::build::context::{BuildContext, ignore_patterns};
use rcompose::image::build::exec::{BuildCache, ExecOptions, Silent, execute};
use rcompose::image::build::plan::{BuildOptions, plan};
use support::build::FakeExecutor;

const DOCKERFILE: &str = r#"
FROM busybox AS build
WORKDIR /src
COPY . .
RUN make
RUN exit 0

FROM busybox AS docs
RUN echo docs

FROM busybox
COPY --from=build /src/app.txt /app/
COPY --from=docs /ran.txt /docs/
USER app
WORKDIR /home/app
CMD ["/app/app.txt"]
"#;

struct Project {
    ctx: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Project {
    fn new() -> Self {
        let ctx = tempfile::tempdir().unwrap();
        std::fs::write(ctx.path().join("app.txt"), "v1").unwrap();
        std::fs::write(ctx.path().join("ignored.log"), "noise").unwrap();
        std::fs::write(ctx.path().join(".dockerignore"), "*.log\n").unwrap();
        Self {
            ctx,
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn build(
        &self,
        exec: &FakeExecutor,
        no_cache: bool,
    ) -> rcompose::image::build::exec::StageResult {
        let opts = BuildOptions {
            platform: Some(Platform::parse("linux/amd64").unwrap()),
            ..Default::default()
        };
        let p = plan(DOCKERFILE, &opts, exec).unwrap();
        let patterns = ignore_patterns(self.ctx.path(), None).unwrap();
        let bc = BuildContext::load(self.ctx.path(), &patterns).unwrap();
        let cache = BuildCache::new(self.state.path().join("cache"));
        let eo = ExecOptions {
            no_cache,
            now: Some(1_700_000_000),
        };
        let mut r = execute(
            &p,
            &bc,
            exec,
            &cache,
            &self.state.path().join("work"),
            &eo,
            &Silent,
        )
        .unwrap();
        r.remove(&p.target).unwrap()
    }
}

fn layer_has(r: &rcompose::image::build::exec::StageResult, path: &str) -> bool {
    r.layers.iter().any(|l| l.dir.join(path).exists())
}

#[test]
fn build_runs_steps_then_reuses_them_from_cache() {
    let exec = FakeExecutor::new();
    let p = Project::new();
    let first = p.build(&exec, false);
    assert_eq!((first.executed, first.cached), (3, 0));
    assert_eq!(exec.run_count(), 3);
    assert!(layer_has(&first, "app/app.txt"));
    let docs = first
        .layers
        .iter()
        .map(|l| l.dir.join("docs/ran.txt"))
        .find(|p| p.exists())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(docs).unwrap(),
        "/bin/sh -c echo docs"
    );
    // Base layer + COPY, COPY, WORKDIR.
    assert_eq!(first.image.rootfs.diff_ids.len(), 4);
    assert!(first.image.history.iter().all(|h| h.created.is_some()));
    assert_eq!(
        first.image.config.cmd.as_deref(),
        Some(&["/app/app.txt".to_string()][..])
    );
    // WORKDIR after USER creates the directory owned by that user.
    let home = first
        .layers
        .iter()
        .map(|l| l.dir.join("home/app"))
        .find(|p| p.exists())
        .unwrap();
    assert_eq!(std::fs::metadata(home).unwrap().uid(), 1000);

    let second = p.build(&exec, false);
    assert_eq!((second.executed, second.cached), (0, 3));
    assert_eq!(exec.run_count(), 3, "nothing re-ran");
    assert_eq!(second.key, first.key);
    assert_eq!(second.image.rootfs.diff_ids, first.image.rootfs.diff_ids);
}

#[test]
fn changed_context_file_invalidates_copy_and_later_steps_only() {
    let exec = FakeExecutor::new();
    let p = Project::new();
    let first = p.build(&exec, false);
    // An ignored file does not count.
    std::fs::write(p.ctx.path().join("ignored.log"), "more noise").unwrap();
    let again = p.build(&exec, false);
    assert_eq!(again.key, first.key);
    assert_eq!(exec.run_count(), 3);
    // A copied file does: COPY . . and both RUNs of `build` rerun, `docs` stays cached.
    std::fs::write(p.ctx.path().join("app.txt"), "v2").unwrap();
    let changed = p.build(&exec, false);
    assert_ne!(changed.key, first.key);
    assert_eq!(exec.run_count(), 5);
    let app = changed
        .layers
        .iter()
        .map(|l| l.dir.join("app/app.txt"))
        .find(|p| p.exists())
        .unwrap();
    assert_eq!(std::fs::read_to_string(app).unwrap(), "v2");
}

#[test]
fn no_cache_executes_every_step() {
    let exec = FakeExecutor::new();
    let p = Project::new();
    p.build(&exec, false);
    let r = p.build(&exec, true);
    assert_eq!((r.executed, r.cached), (3, 0));
    assert_eq!(exec.run_count(), 6);
}

#[test]
fn failing_run_reports_its_exit_code() {
    let exec = FakeExecutor::new();
    let ctx = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let p = plan(
        "FROM busybox\nRUN exit 3\n",
        &BuildOptions::default(),
        &exec,
    )
    .unwrap();
    let bc = BuildContext::load(ctx.path(), &[]).unwrap();
    let err = execute(
        &p,
        &bc,
        &exec,
        &BuildCache::new(state.path().join("c")),
        state.path(),
        &ExecOptions::default(),
        &Silent,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3"
    );
    assert!(!Path::new(&state.path().join("c")).join("x").exists());
}

#[test]
fn run_mounts_see_stage_and_context_files_and_bind_content_enters_the_key() {
    let exec = FakeExecutor::new();
    let ctx = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::create_dir(ctx.path().join("src")).unwrap();
    std::fs::write(ctx.path().join("src/main.c"), "int main(){}").unwrap();
    std::fs::write(ctx.path().join("src/main.o"), "object").unwrap();
    std::fs::write(ctx.path().join(".dockerignore"), "**/*.o\n").unwrap();
    let df = "FROM busybox AS tools\nRUN make-tools\nFROM busybox\n\
              RUN --mount=type=bind,from=tools,target=/tools --mount=type=bind,source=src,target=/src \
              --mount=type=cache,target=/root/.cache,id=cc --mount=type=tmpfs,target=/tmp build\n";
    let build = || {
        let p = plan(df, &BuildOptions::default(), &exec).unwrap();
        let bc =
            BuildContext::load(ctx.path(), &ignore_patterns(ctx.path(), None).unwrap()).unwrap();
        let cache = BuildCache::new(state.path().join("cache"));
        execute(
            &p,
            &bc,
            &exec,
            &cache,
            &state.path().join("w"),
            &ExecOptions::default(),
            &Silent,
        )
        .unwrap()
    };
    build();
    assert_eq!(exec.run_count(), 2);
    let listings = exec.mount_listings.lock().unwrap().clone();
    let last = listings.last().unwrap();
    assert!(
        last[0].contains(&"ran.txt".to_string()) && last[0].contains(&"etc".to_string()),
        "{last:?}"
    );
    assert_eq!(
        last[1],
        vec!["main.c"],
        "the bind-mounted context honours .dockerignore"
    );
    assert_eq!(last[2], Vec::<String>::new());
    assert_eq!(last[3], Vec::<String>::new());
    // Cached when nothing changed; a bind-mounted context file is an input of the RUN.
    build();
    assert_eq!(exec.run_count(), 2);
    std::fs::write(ctx.path().join("src/main.c"), "int main(){return 1;}").unwrap();
    build();
    assert_eq!(
        exec.run_count(),
        3,
        "only the RUN with the bind mount reran"
    );
    assert!(
        state
            .path()
            .join("cache/mounts")
            .read_dir()
            .unwrap()
            .count()
            == 1
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(state.path().to_str().unwrap()),
        "no mount left behind"
    );
}

#[test]
fn a_mount_left_by_an_interrupted_build_is_cleaned_up() {
    use rcompose::image::build::layer::OverlayMount;
    let exec = FakeExecutor::new();
    let p = Project::new();
    // Simulate a build killed while its first step had the merged view mounted.
    let step = p.state.path().join("work/stage-0/step-0");
    for d in ["upper", "work", "merged", "lower"] {
        std::fs::create_dir_all(step.join(d)).unwrap();
    }
    let m = OverlayMount::mount(
        &[step.join("lower")],
        &step.join("upper"),
        &step.join("work"),
        &step.join("merged"),
    )
    .unwrap();
    std::mem::forget(m);
    let r = p.build(&exec, false);
    assert_eq!(r.executed, 3);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(p.state.path().to_str().unwrap()),
        "stale mount removed"
    );
}
