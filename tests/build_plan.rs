//! Dockerfiles from `tests/fixtures/build/` parsed and planned; the plan's text form and the
//! target image config are compared with `expected.txt` next to each Dockerfile.
//! `UPDATE_EXPECT=1` rewrites the expectations (review the diff before committing).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use rcompose::image::build::config::Platform;
use rcompose::image::build::plan::{BuildOptions, plan};
use support::build::FakeResolver;

fn options(dir: &Path) -> BuildOptions {
    let mut opts = BuildOptions {
        platform: Some(Platform::parse("linux/amd64").unwrap()),
        ..Default::default()
    };
    if let Ok(text) = std::fs::read_to_string(dir.join("args")) {
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line.split_once('=').unwrap();
            if k == "TARGET" {
                opts.target = Some(v.to_string());
            } else {
                opts.build_args.insert(k.to_string(), v.to_string());
            }
        }
    }
    opts
}

fn render(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    match plan(&text, &options(dir), &FakeResolver) {
        Ok(p) => format!("{p}\n{}\n", p.target_stage().image.to_json_pretty()),
        Err(e) => format!("Dockerfile:{}: {}\n", e.span.start, e.message),
    }
}

fn check(case: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/build")
        .join(case);
    let got = render(&dir);
    let expected_path = dir.join("expected.txt");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &got).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(
        got, expected,
        "fixture {case} (UPDATE_EXPECT=1 regenerates)"
    );
}

#[test]
fn multistage_plan_resolves_stages_by_name_index_and_image() {
    check("multistage");
}

#[test]
fn arg_and_env_scoping_follow_buildkit() {
    check("args-scoping");
}

#[test]
fn heredocs_become_scripts_and_files() {
    check("heredocs");
}

#[test]
fn metadata_instructions_build_the_image_config() {
    check("metadata");
}

#[test]
fn onbuild_triggers_run_first_and_entrypoint_resets_inherited_cmd() {
    check("onbuild");
}

#[test]
fn backtick_escape_directive() {
    check("escape-backtick");
}

#[test]
fn target_builds_only_the_stages_it_needs() {
    check("target-subset");
}

/// `errors/cases.txt`: `=== expected error` then the Dockerfile, repeated.
#[test]
fn bad_dockerfiles_report_line_and_hint() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build/errors/cases.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for case in text.split("=== ").skip(1) {
        let (expected, df) = case.split_once('\n').unwrap();
        let mut opts = BuildOptions {
            platform: Some(Platform::parse("linux/amd64").unwrap()),
            ..Default::default()
        };
        if df.starts_with("# target=") {
            opts.target = Some(df.lines().next().unwrap()[9..].to_string());
        }
        let got = match plan(df, &opts, &FakeResolver) {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("Dockerfile:{}: {}", e.span.start, e.message),
        };
        count += 1;
        if got != expected {
            failures.push(format!("expected: {expected}\n     got: {got}\n{df}"));
        }
    }
    assert!(count >= 20, "only {count} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn build_args_only_reach_declared_args() {
    let df = "FROM busybox\nRUN echo $SECRET\nARG SECRET\nRUN echo $SECRET\n";
    let opts = BuildOptions {
        build_args: BTreeMap::from([("SECRET".to_string(), "s3".to_string())]),
        ..Default::default()
    };
    let p = plan(df, &opts, &FakeResolver).unwrap();
    let h: Vec<&str> = p
        .target_stage()
        .image
        .history
        .iter()
        .map(|h| h.created_by.as_str())
        .collect();
    assert_eq!(h[1], "RUN /bin/sh -c echo $SECRET # buildkit");
    assert_eq!(h[3], "RUN |1 SECRET=s3 /bin/sh -c echo $SECRET # buildkit");
}
