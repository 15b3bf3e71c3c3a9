//! Compose conformance: `rcompose config --format json` must equal Docker Compose v2.40.3's
//! model for every case of the vendored corpus (`tests/conformance`, a copy of the shared
//! corpus with its NOTICE) and of our own edge cases (`tests/conformance-extra`, recorded with
//! the same reference). Cases listed in `tests/conformance/known-failures.txt` may fail (the
//! list can only shrink: a listed case that passes fails the test too, so it gets removed).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn run_checker(cases: &Path) -> (BTreeSet<String>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_rcompose");
    let out = Command::new("python3")
        .arg(root.join("tests/conformance/check"))
        .arg("--cmd")
        .arg(format!(
            "{bin} -f {{files}} -p {{project}} config --format json"
        ))
        .arg("--cases")
        .arg(cases)
        .output()
        .expect("python3 runs the conformance checker");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let failed: BTreeSet<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .map(|l| l.split(':').next().unwrap_or(l).trim().to_string())
        .collect();
    let summary = stdout.lines().last().unwrap_or("").to_string();
    assert!(
        summary.ends_with("failed"),
        "checker did not finish: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (failed, stdout)
}

fn known_failures() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("tests/conformance/known-failures.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn check(cases: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (failed, output) = run_checker(&root.join(cases));
    let known = known_failures();
    let new: Vec<&String> = failed.difference(&known).collect();
    assert!(
        new.is_empty(),
        "conformance regressions in {cases}: {new:?}\n{output}"
    );
    let fixed: Vec<&String> = known
        .iter()
        .filter(|k| !failed.contains(*k) && root.join(cases).join(k).is_dir())
        .collect();
    assert!(
        fixed.is_empty(),
        "cases listed in known-failures.txt now pass, remove them: {fixed:?}"
    );
}

#[test]
fn config_matches_docker_compose_on_the_shared_corpus() {
    check("tests/conformance/cases");
}

#[test]
fn config_matches_docker_compose_on_the_extra_edge_cases() {
    check("tests/conformance-extra/cases");
}
