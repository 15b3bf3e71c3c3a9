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
fn copy_and_add_flags_are_planned() {
    check("copy-add-flags");
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

#[test]
fn copy_heredocs_expand_unless_the_delimiter_is_quoted() {
    use rcompose::image::build::plan::Op;
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build/heredocs/Dockerfile"),
    )
    .unwrap();
    let p = plan(&text, &BuildOptions::default(), &FakeResolver).unwrap();
    let copies: Vec<_> = p
        .target_stage()
        .steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::Copy(c) => Some(c.contents.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        copies[0],
        vec![
            ("conf.txt".to_string(), "name=world\n".to_string()),
            ("raw.txt".to_string(), "name=$NAME\n".to_string())
        ]
    );
    assert_eq!(copies[1], vec![("EOF".to_string(), "single\n".to_string())]);
    let runs: Vec<_> = p
        .target_stage()
        .steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::Run(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(runs[2].args, vec!["/bin/sh", "-c", "/dev/pipes/EOT"]);
    assert_eq!(
        runs[2].inline_files,
        vec![(
            "EOT".to_string(),
            "#!/bin/sh -e\necho script $NAME\n".to_string()
        )]
    );
}

#[test]
fn proxy_build_args_reach_run_but_not_history_or_cache_key() {
    use rcompose::image::build::plan::Op;
    let mut opts =
        options(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build/args-scoping"));
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build/args-scoping/Dockerfile"),
    )
    .unwrap();
    let with = plan(&text, &opts, &FakeResolver).unwrap();
    opts.build_args.remove("HTTP_PROXY");
    let without = plan(&text, &opts, &FakeResolver).unwrap();
    let Op::Run(r) = &with.target_stage().steps[0].op else {
        panic!()
    };
    assert_eq!(r.proxy_env, vec!["HTTP_PROXY=http://proxy:3128"]);
    assert!(!r.env.iter().any(|e| e.contains("proxy")));
    let d = |p: &rcompose::image::build::plan::Plan| {
        p.target_stage()
            .steps
            .iter()
            .map(|s| s.op.describe())
            .collect::<Vec<_>>()
    };
    assert_eq!(d(&with), d(&without));
    assert_eq!(with.target_stage().image, without.target_stage().image);
}

#[test]
fn onbuild_in_a_stage_triggers_in_stages_built_from_it() {
    let df = "FROM busybox AS base\nONBUILD RUN echo child-only\nRUN echo base\nFROM base\nRUN echo child\n";
    let p = plan(df, &BuildOptions::default(), &FakeResolver).unwrap();
    let names: Vec<&str> = p
        .target_stage()
        .steps
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, vec!["ONBUILD RUN echo child-only", "RUN echo child"]);
    assert!(p.target_stage().image.config.on_build.is_empty());
    assert_eq!(
        p.stages[&0].image.config.on_build,
        vec!["RUN echo child-only"]
    );
}

#[test]
fn from_platform_uses_build_and_target_platform_args() {
    let df = "FROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETPLATFORM\nRUN echo $TARGETPLATFORM\nFROM --platform=linux/arm64 busybox\n";
    let opts = BuildOptions {
        platform: Some(Platform::parse("linux/arm/v7").unwrap()),
        ..Default::default()
    };
    let p = plan(df, &opts, &FakeResolver).unwrap();
    // Only the target stage (last) is needed.
    assert_eq!(p.stages.keys().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!(p.target_stage().platform.to_string(), "linux/arm64");
    let opts = BuildOptions {
        platform: Some(Platform::parse("linux/arm/v7").unwrap()),
        target: Some("build".into()),
        ..Default::default()
    };
    let p = plan(df, &opts, &FakeResolver).unwrap();
    assert_eq!(p.target_stage().platform, Platform::host());
    assert_eq!(p.target_stage().steps[0].name, "RUN echo linux/arm/v7");
}

#[test]
fn errors_render_with_file_line_and_snippet() {
    let text = "FROM busybox\nRUN true\nFORM x\nRUN false\n";
    let e = plan(text, &BuildOptions::default(), &FakeResolver).unwrap_err();
    assert_eq!(
        e.render("Dockerfile"),
        "Dockerfile:3: unknown instruction: FORM (did you mean FROM?)"
    );
    assert_eq!(
        e.snippet("Dockerfile", text),
        "Dockerfile:3\n--------------------\n   1 |     FROM busybox\n   2 |     RUN true\n   3 | >>> FORM x\n   4 |     RUN false\n--------------------\n"
    );
}

/// BuildKit's `Node.Dump` for a parsed file. These result files predate the separator node
/// BuildKit now adds to legacy `ENV k v` / `LABEL k v` pairs, so an empty separator is left out.
fn dump(text: &str) -> String {
    use rcompose::image::build::gofmt::{quote, quote_list};
    use rcompose::image::build::parser::{Node, parse};
    fn one(n: &Node) -> String {
        let mut s = n.value.to_lowercase();
        if !n.flags.is_empty() {
            s.push_str(&format!(" {}", quote_list(&n.flags)));
        }
        let lower = n.value.to_lowercase();
        let legacy_kv =
            (lower == "env" || lower == "label") && n.args.len() == 3 && n.args[2].is_empty();
        for (i, a) in n.args.iter().enumerate() {
            if legacy_kv && i == 2 {
                continue;
            }
            s.push_str(&format!(" {}", quote(a)));
        }
        if let Some(c) = &n.child {
            s.push_str(&format!(" ({})", one(c)));
        }
        s
    }
    parse(text)
        .unwrap()
        .nodes
        .iter()
        .map(|n| format!("({})\n", one(n)))
        .collect()
}

#[test]
fn buildkit_parser_testfiles_dump_identically() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build/buildkit-parser");
    for case in ["docker", "health", "influxdb"] {
        let df = std::fs::read_to_string(base.join(case).join("Dockerfile")).unwrap();
        let want = std::fs::read_to_string(base.join(case).join("result")).unwrap();
        assert_eq!(dump(&df), want, "testfile {case}");
    }
}

#[test]
fn copy_heredoc_expansion_keeps_quotes_and_backslashes() {
    use rcompose::image::build::plan::Op;
    let df = "FROM busybox\nENV N=x\nCOPY <<EOF /f\necho \"$N\" 'q' \\$N\nEOF\n";
    let p = plan(df, &BuildOptions::default(), &FakeResolver).unwrap();
    let Op::Copy(c) = &p.target_stage().steps[0].op else {
        panic!()
    };
    assert_eq!(c.contents[0].1, "echo \"x\" 'q' $N\n");
}

#[test]
fn env_words_see_the_environment_from_before_the_instruction() {
    let df = "FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n";
    let p = plan(df, &BuildOptions::default(), &FakeResolver).unwrap();
    let env = &p.target_stage().image.config.env;
    assert_eq!(&env[1..], &["abc=bye", "def=hello", "ghi=bye"]);
}
