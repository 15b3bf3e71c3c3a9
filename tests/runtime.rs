//! The runtime through its public API (`rcompose::runtime::Runtime`), as the engine uses it:
//! real containers on the real kernel (root), busybox rootfs, everything observed from
//! inside the container. Every test starts from a fresh state root and run dir and leaves
//! nothing behind (see `support::runtime_env`).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use rcompose::logs;
use rcompose::runtime::config::{ContainerConfig, LogConfig, RestartPolicy, Rootfs};
use rcompose::runtime::state::Status;
use rcompose::runtime::{ExecOptions, Runtime, RuntimeError, new_id};
use support::runtime_env::TestEnv;

const RCOMPOSE: &str = env!("CARGO_BIN_EXE_rcompose");

fn runtime(env: &TestEnv) -> Runtime {
    Runtime::with_exe(env.paths.clone(), RCOMPOSE)
}

fn config(env: &TestEnv, rootfs: &Path, script: &str) -> ContainerConfig {
    ContainerConfig {
        id: new_id(),
        name: format!("t-{}", &new_id()[..8]),
        rootfs: Rootfs::Dir(rootfs.to_path_buf()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script.into()]),
        cgroup_parent: Some(env.cgroup_parent.clone()),
        ..Default::default()
    }
}

fn log_text(rt: &Runtime, id: &str) -> String {
    logs::read(&rt.log_path(id), &Default::default())
        .unwrap()
        .into_iter()
        .map(|e| format!("{}: {}", e.stream.as_str(), e.line))
        .collect()
}

/// Poll `f` until it is true or `max` passes.
fn eventually(max: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < max {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

fn remove_all(rt: &Runtime) {
    for c in rt.list().unwrap() {
        rt.remove(&c.config.id, true).unwrap();
    }
}

#[test]
fn a_container_runs_logs_its_streams_and_reports_its_exit_code() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(
        &env,
        &rootfs,
        "echo out; echo err >&2; printf partial; exit 3",
    );
    rt.create(&c).unwrap();
    assert_eq!(rt.state(&c.id).unwrap().status, Status::Created);
    rt.start(&c.id).unwrap();
    assert_eq!(rt.wait(&c.id).unwrap(), 3);
    let st = rt.state(&c.id).unwrap();
    assert_eq!(st.status, Status::Exited { code: 3 });
    assert!(st.finished_at.unwrap() >= st.started_at.unwrap());
    assert!(!st.shim_alive());
    let logs = log_text(&rt, &c.id);
    assert!(logs.contains("stdout: out\n"), "{logs}");
    assert!(logs.contains("stderr: err\n"), "{logs}");
    let entries = logs::read(&rt.log_path(&c.id), &Default::default()).unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.line == "partial" && e.is_partial()),
        "output without a final newline is kept as a partial record: {logs}"
    );
    rt.remove(&c.id, false).unwrap();
    assert!(matches!(rt.state(&c.id), Err(RuntimeError::NotFound(_))));
    env.assert_clean();
}
