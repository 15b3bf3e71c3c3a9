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

/// Start, and on failure show the shim's own log (with `RCOMPOSE_SHIM_LOG=libcontainer=debug`
/// it has libcontainer's trace).
fn start(rt: &Runtime, id: &str) {
    if let Err(e) = rt.start(id) {
        let log = std::fs::read_to_string(rt.layout.shim_log(id)).unwrap_or_default();
        let out = std::fs::read_to_string(rt.log_path(id)).unwrap_or_default();
        panic!("start {id}: {e}\nshim.log:\n{log}\ncontainer log:\n{out}");
    }
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
    assert!(
        eventually(Duration::from_secs(5), || !st.shim_alive()),
        "the shim exits with its container"
    );
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

fn status_line<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim())
        .unwrap_or("")
}

#[test]
fn docker_security_defaults_are_observed_from_inside() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "sleep 1000");
    c.resources.memory = Some(48 << 20);
    c.resources.pids_limit = Some(64);
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    let sh = |script: &str| {
        let o = rt
            .exec(
                &c.id,
                &ExecOptions {
                    cmd: vec!["/bin/sh".into(), "-c".into(), script.into()],
                    capture: true,
                    ..Default::default()
                },
            )
            .unwrap();
        (
            o.exit_code,
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let (_, status) = sh("cat /proc/self/status");
    // Docker's 14 capabilities: chown dac_override fowner fsetid kill setgid setuid setpcap
    // net_bind_service net_raw sys_chroot mknod audit_write setfcap.
    assert_eq!(status_line(&status, "CapBnd:"), "00000000a80425fb");
    assert_eq!(status_line(&status, "CapEff:"), "00000000a80425fb");
    assert_eq!(status_line(&status, "CapInh:"), "0000000000000000");
    assert_eq!(
        status_line(&status, "Seccomp:"),
        "2",
        "exec'd processes are confined too"
    );
    assert_eq!(status_line(&status, "NoNewPrivs:"), "0");
    // The container's init as well.
    let (_, init_status) = sh("cat /proc/1/status");
    assert_eq!(status_line(&init_status, "Seccomp:"), "2");
    assert_eq!(status_line(&init_status, "CapBnd:"), "00000000a80425fb");
    // Masked and read-only paths.
    let (_, out) = sh("cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; \
        (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo writable || echo read-only");
    assert_eq!(
        out, "0\n0\nread-only\n",
        "/proc/timer_list, /sys/firmware masked; /proc/sys read-only"
    );
    // Limits are set in the container's cgroup, and the container cannot raise them.
    let (_, out) =
        sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max");
    assert_eq!(out, "50331648\n64\n");
    let (code, out) = sh("echo 999999999 > /sys/fs/cgroup/memory/memory.limit_in_bytes");
    assert_ne!(code, 0);
    assert!(out.contains("Read-only file system"), "{out}");
    let host = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory{}/memory.limit_in_bytes",
        c.cgroups_path()
    ))
    .unwrap();
    assert_eq!(host.trim(), "50331648");
    // Seccomp refuses what Docker refuses; devices are Docker's.
    let (_, out) = sh(
        "unshare -n true 2>&1; mount -t tmpfs none /mnt 2>&1; mknod /tmp/sda b 8 0 && head -c1 /tmp/sda 2>&1; ls /dev",
    );
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(
        out.contains("head: /tmp/sda: Operation not permitted"),
        "block devices are not allowed: {out}"
    );
    for d in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue",
    ] {
        assert!(
            out.split_whitespace().any(|w| w == d),
            "/dev/{d} missing: {out}"
        );
    }
    // Loopback is up in the container's own network namespace.
    let (_, out) = sh("cat /sys/class/net/lo/operstate /sys/class/net/lo/flags; ls /sys/class/net");
    assert!(out.starts_with("unknown\n0x9\n"), "{out}");
    assert_eq!(out.lines().nth(2), Some("lo"));
    rt.stop(&c.id, Some(Duration::from_secs(1))).unwrap();
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn user_groups_workdir_and_environment_follow_docker() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(
        &env,
        &rootfs,
        "id; pwd; ls -ld /srv/work | awk '{print $3\":\"$4}'; env | sort",
    );
    c.user = Some("app".into());
    c.group_add = vec!["wheel".into(), "4242".into()];
    c.working_dir = Some("/srv/work".into());
    c.image.env = Some(vec![
        "PATH=/bin:/usr/bin".into(),
        "FROM_IMAGE=1".into(),
        "OVERRIDDEN=image".into(),
    ]);
    c.env = vec![
        "OVERRIDDEN=file".into(),
        "ONLY_FILE=1".into(),
        "OVERRIDDEN=env".into(),
    ];
    c.hostname = Some("myhost".into());
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert_eq!(rt.wait(&c.id).unwrap(), 0);
    let out = log_text(&rt, &c.id).replace("stdout: ", "");
    assert!(
        out.contains("uid=1000(app) gid=1000(app) groups=10(wheel),50(staff),4242"),
        "{out}"
    );
    assert!(
        out.contains("/srv/work\napp:app\n"),
        "missing working dir created for the user: {out}"
    );
    for want in [
        "FROM_IMAGE=1",
        "OVERRIDDEN=env",
        "ONLY_FILE=1",
        "HOME=/home/app",
        "HOSTNAME=myhost",
        "PATH=/bin:/usr/bin",
    ] {
        assert!(out.lines().any(|l| l == want), "missing {want}: {out}");
    }
    rt.remove(&c.id, false).unwrap();
    env.assert_clean();
}

#[test]
fn stop_uses_the_stop_signal_and_sigkill_after_the_grace_period() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    // Trapping TERM: stops gracefully with its own code.
    let graceful = config(
        &env,
        &rootfs,
        "trap 'echo got TERM; exit 42' TERM; while true; do sleep 0.05; done",
    );
    // Ignoring TERM: killed after the grace period.
    let stubborn = config(
        &env,
        &rootfs,
        "trap '' TERM; while true; do sleep 0.05; done",
    );
    // A custom stop signal.
    let mut custom = config(
        &env,
        &rootfs,
        "trap 'exit 12' USR1; while true; do sleep 0.05; done",
    );
    custom.stop_signal = Some("SIGUSR1".into());
    for c in [&graceful, &stubborn, &custom] {
        rt.create(c).unwrap();
        rt.start(&c.id).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        rt.stop(&graceful.id, Some(Duration::from_secs(10)))
            .unwrap(),
        Some(42)
    );
    assert!(log_text(&rt, &graceful.id).contains("got TERM"));
    let t = Instant::now();
    assert_eq!(
        rt.stop(&stubborn.id, Some(Duration::from_millis(700)))
            .unwrap(),
        Some(137)
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(rt.stop(&custom.id, None).unwrap(), Some(12));
    // Stopping a stopped container is a no-op.
    assert_eq!(rt.stop(&custom.id, None).unwrap(), None);
    for c in [&graceful, &stubborn, &custom] {
        assert!(rt.state(&c.id).unwrap().manually_stopped);
    }
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn kill_delivers_signals_and_remove_refuses_a_running_container() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(
        &env,
        &rootfs,
        "trap 'echo hup' HUP; while true; do sleep 0.05; done",
    );
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    rt.kill(&c.id, "HUP").unwrap();
    assert!(eventually(Duration::from_secs(5), || log_text(&rt, &c.id)
        .contains("hup")));
    assert_eq!(rt.state(&c.id).unwrap().status, Status::Running);
    assert!(matches!(
        rt.remove(&c.id, false),
        Err(RuntimeError::RemoveRunning { .. })
    ));
    rt.kill(&c.id, "SIGKILL").unwrap();
    assert_eq!(rt.wait(&c.id).unwrap(), 137);
    assert!(matches!(
        rt.kill(&c.id, "TERM"),
        Err(RuntimeError::NotRunning { .. })
    ));
    assert!(rt.kill(&c.id, "SIGNOPE").is_err());
    // Force removal of a running one.
    let d = config(&env, &rootfs, "sleep 1000");
    rt.create(&d).unwrap();
    rt.start(&d.id).unwrap();
    rt.remove(&d.id, true).unwrap();
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn exec_honours_user_workdir_env_and_exit_codes() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "sleep 1000");
    c.env = vec!["BASE=1".into()];
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    let run = |o: ExecOptions| rt.exec(&c.id, &ExecOptions { capture: true, ..o }).unwrap();
    let o = run(ExecOptions {
        cmd: vec![
            "/bin/sh".into(),
            "-c".into(),
            "id -u; id -g; pwd; echo $BASE $EXTRA; exit 5".into(),
        ],
        user: Some("app".into()),
        workdir: Some("/tmp".into()),
        env: vec!["EXTRA=2".into()],
        ..Default::default()
    });
    assert_eq!(o.exit_code, 5);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "1000\n1000\n/tmp\n1 2\n"
    );
    let o = run(ExecOptions {
        cmd: vec!["no-such-binary".into()],
        ..Default::default()
    });
    assert_eq!(o.exit_code, 127, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("executable file not found"));
    let o = run(ExecOptions {
        cmd: vec!["/etc/passwd".into()],
        ..Default::default()
    });
    assert_eq!(o.exit_code, 126);
    // Detached exec returns at once; its process runs in the container.
    let o = run(ExecOptions {
        cmd: vec![
            "/bin/sh".into(),
            "-c".into(),
            "sleep 0.3; echo late > /tmp/detached".into(),
        ],
        detach: true,
        ..Default::default()
    });
    assert_eq!(o.exit_code, 0);
    assert!(eventually(Duration::from_secs(5), || {
        run(ExecOptions {
            cmd: vec!["cat".into(), "/tmp/detached".into()],
            ..Default::default()
        })
        .stdout
            == b"late\n"
    }));
    rt.stop(&c.id, Some(Duration::from_secs(1))).unwrap();
    assert!(matches!(
        rt.exec(
            &c.id,
            &ExecOptions {
                cmd: vec!["true".into()],
                ..Default::default()
            }
        ),
        Err(RuntimeError::NotRunning { .. })
    ));
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn restart_policy_backs_off_like_docker_and_gives_up_at_the_limit() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "echo run; exit 3");
    c.restart = RestartPolicy::OnFailure {
        max_retries: Some(4),
    };
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert!(eventually(Duration::from_secs(20), || {
        rt.state(&c.id).unwrap().status == Status::Exited { code: 3 }
    }));
    let st = rt.state(&c.id).unwrap();
    assert_eq!(st.restart_count, 4);
    let runs: Vec<_> = logs::read(&rt.log_path(&c.id), &Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.line == "run\n")
        .map(|e| e.time)
        .collect();
    assert_eq!(runs.len(), 5, "the first run and 4 restarts");
    // Back-off: 100 ms, 200 ms, 400 ms, 800 ms between runs (plus start time).
    let gaps: Vec<i64> = runs
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect();
    for (gap, min) in gaps.iter().zip([100, 200, 400, 800]) {
        assert!(*gap >= min && *gap < min + 1000, "gaps {gaps:?}");
    }
    // Each gap is the back-off plus a constant start cost, so gap 4 - gap 1 ≈ 800 - 100.
    assert!(gaps[3] - gaps[0] >= 600, "doubling: {gaps:?}");

    // `always` keeps restarting until stopped; a stop is final.
    let mut a = config(&env, &rootfs, "exit 0");
    a.restart = RestartPolicy::Always;
    rt.create(&a).unwrap();
    rt.start(&a.id).unwrap();
    assert!(eventually(Duration::from_secs(10), || rt
        .state(&a.id)
        .unwrap()
        .restart_count
        >= 2));
    rt.stop(&a.id, Some(Duration::from_secs(1))).unwrap();
    let st = rt.state(&a.id).unwrap();
    assert!(matches!(st.status, Status::Exited { .. }), "{st:?}");
    let n = st.restart_count;
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rt.state(&a.id).unwrap().restart_count, n);
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn healthcheck_moves_between_starting_healthy_and_unhealthy() {
    use rcompose::runtime::config::Healthcheck;
    use rcompose::runtime::state::HealthStatus;
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "sleep 1000");
    c.healthcheck = Some(Healthcheck {
        test: vec!["CMD-SHELL".into(), "echo probing; test -f /tmp/ok".into()],
        interval: Some(Duration::from_millis(150)),
        timeout: Some(Duration::from_secs(2)),
        retries: Some(2),
        ..Default::default()
    });
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    let health = || rt.state(&c.id).unwrap().health.unwrap();
    assert_eq!(health().status, HealthStatus::Starting);
    assert!(eventually(Duration::from_secs(10), || health().status
        == HealthStatus::Unhealthy));
    let h = health();
    assert!(h.failing_streak >= 2);
    let last = h.log.last().unwrap();
    assert_eq!(last.exit_code, 1);
    assert_eq!(last.output, "probing\n");
    let touch = ExecOptions {
        cmd: vec!["touch".into(), "/tmp/ok".into()],
        capture: true,
        ..Default::default()
    };
    assert_eq!(rt.exec(&c.id, &touch).unwrap().exit_code, 0);
    assert!(eventually(Duration::from_secs(10), || health().status
        == HealthStatus::Healthy));
    assert_eq!(health().failing_streak, 0);
    assert!(
        eventually(Duration::from_secs(10), || health().log.len() == 5),
        "keeps the last five"
    );
    rt.stop(&c.id, Some(Duration::from_secs(1))).unwrap();

    // A probe that outlives its timeout is killed and recorded as -1.
    let mut s = config(&env, &rootfs, "sleep 1000");
    s.healthcheck = Some(Healthcheck {
        test: vec!["CMD".into(), "sleep".into(), "10".into()],
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        retries: Some(1),
        ..Default::default()
    });
    rt.create(&s).unwrap();
    rt.start(&s.id).unwrap();
    let h = || rt.state(&s.id).unwrap().health.unwrap();
    assert!(eventually(Duration::from_secs(10), || h().status
        == HealthStatus::Unhealthy));
    let last = h().log.last().unwrap().clone();
    assert_eq!(last.exit_code, -1);
    assert_eq!(last.output, "Health check exceeded timeout (300ms)");
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn logs_rotate_by_size_and_count() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(
        &env,
        &rootfs,
        "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done",
    );
    let mut opts = indexmap::IndexMap::new();
    opts.insert("max-size".to_string(), "8k".to_string());
    opts.insert("max-file".to_string(), "3".to_string());
    c.logging = LogConfig {
        driver: "json-file".into(),
        options: opts,
    };
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert_eq!(rt.wait(&c.id).unwrap(), 0);
    let files = logs::files(&rt.log_path(&c.id));
    assert_eq!(files.len(), 3, "{files:?}");
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 8 * 1024, "{f:?}");
    }
    let all = logs::read(&rt.log_path(&c.id), &Default::default()).unwrap();
    assert_eq!(all.last().unwrap().line, "line 1999\n");
    let n = all.len();
    assert!(n > 100 && n < 2000, "older files were dropped: {n}");
    let tail = logs::read(
        &rt.log_path(&c.id),
        &logs::ReadOptions {
            tail: Some(5),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        tail.iter().map(|e| e.line.as_str()).collect::<String>(),
        "line 1995\nline 1996\nline 1997\nline 1998\nline 1999\n"
    );
    // driver `none` writes nothing.
    let mut quiet = config(&env, &rootfs, "echo hi");
    quiet.logging.driver = "none".into();
    rt.create(&quiet).unwrap();
    rt.start(&quiet.id).unwrap();
    rt.wait(&quiet.id).unwrap();
    assert!(!rt.log_path(&quiet.id).exists());
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(
        &env,
        &rootfs,
        "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done",
    );
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    rt.pause(&c.id).unwrap();
    assert_eq!(rt.state(&c.id).unwrap().status, Status::Paused);
    let counter = rootfs.join("tmp/n");
    let a = std::fs::read_to_string(&counter).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), a, "frozen");
    assert!(matches!(
        rt.exec(
            &c.id,
            &ExecOptions {
                cmd: vec!["true".into()],
                ..Default::default()
            }
        ),
        Err(RuntimeError::Paused { .. })
    ));
    assert!(rt.pause(&c.id).is_err(), "already paused");
    rt.unpause(&c.id).unwrap();
    assert_eq!(rt.state(&c.id).unwrap().status, Status::Running);
    assert!(eventually(
        Duration::from_secs(5),
        || std::fs::read_to_string(&counter).unwrap() != a
    ));
    // A paused container can still be stopped (the shell as PID 1 ignores SIGTERM, as in
    // Docker, so it takes the SIGKILL).
    rt.pause(&c.id).unwrap();
    assert_eq!(
        rt.stop(&c.id, Some(Duration::from_millis(500))).unwrap(),
        Some(137)
    );
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn init_reaps_zombies_and_forwards_signals() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    // The subshell exits at once, orphaning its `sleep`, which then exits: a zombie unless
    // PID 1 reaps it.
    let script = "(sleep 0.2 &); trap 'exit 7' TERM; while true; do sleep 0.05; done";
    let mut with_init = config(&env, &rootfs, script);
    with_init.init = true;
    rt.create(&with_init).unwrap();
    rt.start(&with_init.id).unwrap();
    let ps = |id: &str| {
        let o = rt
            .exec(
                id,
                &ExecOptions {
                    cmd: vec!["ps".into(), "-o".into(), "pid,stat,comm".into()],
                    capture: true,
                    ..Default::default()
                },
            )
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    std::thread::sleep(Duration::from_millis(800));
    let out = ps(&with_init.id);
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("docker-init")),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l
            .split_whitespace()
            .nth(1)
            .is_some_and(|s| s.starts_with('Z'))),
        "zombie left: {out}"
    );
    // The stop signal goes to init, which forwards it to the shell.
    assert_eq!(
        rt.stop(&with_init.id, Some(Duration::from_secs(5)))
            .unwrap(),
        Some(7)
    );
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn ulimits_apply_and_limits_above_the_host_fail_at_create_naming_the_limit() {
    use rcompose::runtime::config::Ulimit;
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "ulimit -Sn; ulimit -Hn");
    c.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 1000,
        hard: 1500,
    }];
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    rt.wait(&c.id).unwrap();
    assert_eq!(log_text(&rt, &c.id), "stdout: 1000\nstdout: 1500\n");
    let (_, host_hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let mut big = config(&env, &rootfs, "true");
    big.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 1024,
        hard: host_hard + 1,
    }];
    let err = rt.create(&big).unwrap_err();
    assert!(matches!(err, RuntimeError::UlimitAboveHost { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`nofile`") && msg.contains(&(host_hard + 1).to_string()),
        "{msg}"
    );
    assert!(rt.state(&big.id).is_err(), "nothing was created");
    remove_all(&rt);
    env.assert_clean();
}

/// Not a test on its own: the "CLI" process that `a_container_survives_kill_9_of_the_cli`
/// runs and kills. Does nothing unless started by that test.
#[test]
fn cli_helper_starts_a_container_and_hangs() {
    let Ok(spec) = std::env::var("RCOMPOSE_TEST_CLI_HELPER") else {
        return;
    };
    let (root, run, config_path): (String, String, String) = serde_json::from_str(&spec).unwrap();
    let rt = Runtime::with_exe(rcompose::paths::Paths::new(root, run), RCOMPOSE);
    let c: ContainerConfig = serde_json::from_slice(&std::fs::read(config_path).unwrap()).unwrap();
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    println!("STARTED");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(3600));
}

#[test]
fn a_container_survives_kill_9_of_the_cli_that_started_it() {
    use std::io::BufRead;
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(
        &env,
        &rootfs,
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done",
    );
    let cfg_path = env.path().join("helper-config.json");
    std::fs::write(&cfg_path, serde_json::to_vec(&c).unwrap()).unwrap();
    let spec = serde_json::to_string(&(
        env.paths.root.to_string_lossy(),
        env.paths.run.to_string_lossy(),
        cfg_path.to_string_lossy(),
    ))
    .unwrap();
    let mut cli = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cli_helper_starts_a_container_and_hangs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RCOMPOSE_TEST_CLI_HELPER", spec)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(cli.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.unwrap().contains("STARTED")));
    cli.kill().unwrap(); // SIGKILL
    cli.wait().unwrap();
    let st = rt.state(&c.id).unwrap();
    assert_eq!(st.status, Status::Running);
    assert!(st.shim_alive() && st.init_alive());
    let before = logs::read(&rt.log_path(&c.id), &Default::default())
        .unwrap()
        .len();
    assert!(
        eventually(Duration::from_secs(5), || {
            logs::read(&rt.log_path(&c.id), &Default::default())
                .unwrap()
                .len()
                > before + 5
        }),
        "the shim keeps logging"
    );
    assert_eq!(
        rt.stop(&c.id, Some(Duration::from_millis(300))).unwrap(),
        Some(137)
    );
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn a_dead_shim_is_noticed_and_its_container_stopped_cleanly() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(&env, &rootfs, "sleep 1000");
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    let raw = rcompose::runtime::state::State::load(
        &env.paths.containers().join(&c.id).join("state.json"),
    )
    .unwrap();
    let (shim, init) = (raw.shim_pid.unwrap(), raw.pid.unwrap());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(5), || !raw.shim_alive()));
    // The next command notices: the container is stopped, nothing is orphaned.
    let st = rt.state(&c.id).unwrap();
    assert_eq!(st.status, Status::Exited { code: 137 });
    assert!(st.error.as_deref().unwrap_or("").contains("shim"), "{st:?}");
    assert!(!raw.init_alive(), "container init {init} was stopped");
    assert!(!rcompose::runtime::cgroups::Cgroup::open(&c.cgroups_path()).exists());
    // And it can be started again.
    rt.start(&c.id).unwrap();
    assert_eq!(rt.state(&c.id).unwrap().status, Status::Running);
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn overlay_rootfs_keeps_image_layers_untouched() {
    let env = TestEnv::new();
    let base = env.rootfs("layer0");
    let top = env.path().join("layer1");
    std::fs::create_dir_all(top.join("etc")).unwrap();
    std::fs::write(top.join("etc/motd"), "from layer1\n").unwrap();
    let rt = runtime(&env);
    let mut c = config(
        &env,
        &base,
        "cat /etc/motd; echo changed > /etc/motd; rm /bin/ls; echo new > /created",
    );
    c.rootfs = Rootfs::Overlay {
        lowerdirs: vec![base.clone(), top.clone()],
    };
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert_eq!(rt.wait(&c.id).unwrap(), 0, "{}", log_text(&rt, &c.id));
    assert_eq!(log_text(&rt, &c.id), "stdout: from layer1\n");
    assert_eq!(
        std::fs::read_to_string(top.join("etc/motd")).unwrap(),
        "from layer1\n"
    );
    assert!(base.join("bin/ls").symlink_metadata().is_ok());
    let upper = env.paths.containers().join(&c.id).join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("created")).unwrap(),
        "new\n"
    );
    // Not mounted while stopped; mounted again on the next start, with the changes.
    assert!(!rcompose::runtime::rootfs::is_mount_point(
        &env.paths.containers().join(&c.id).join("rootfs")
    ));
    rt.start(&c.id).unwrap();
    rt.wait(&c.id).unwrap();
    let logs = log_text(&rt, &c.id);
    assert!(logs.contains("stdout: changed\n"), "{logs}");
    assert!(
        logs.contains("stderr: rm: can't remove '/bin/ls'"),
        "deleted in the upper layer: {logs}"
    );
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn read_only_rootfs_tmpfs_binds_and_injected_files() {
    use rcompose::runtime::config::{InjectedFile, Mount, MountKind, TmpfsMount};
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let data = env.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("in"), "host data\n").unwrap();
    let rt = runtime(&env);
    let mut c = config(
        &env,
        &rootfs,
        "touch /x 2>&1 | grep -c Read-only; echo ok > /scratch/f && cat /scratch/f; cat /data/in; \
         echo out > /data/out; cat /etc/hosts; hostname; df -k /scratch | awk 'NR==2{print $2}'; \
         touch /ro/y 2>&1 | grep -c Read-only",
    );
    c.read_only = true;
    c.hostname = Some("web".into());
    c.tmpfs = vec![TmpfsMount {
        destination: "/scratch".into(),
        size: Some(1 << 20),
        ..Default::default()
    }];
    c.mounts = vec![
        Mount {
            kind: MountKind::Bind,
            source: data.clone(),
            destination: "/data".into(),
            ..Default::default()
        },
        Mount {
            kind: MountKind::Bind,
            source: data.clone(),
            destination: "/ro".into(),
            read_only: true,
            ..Default::default()
        },
    ];
    c.files = vec![InjectedFile {
        destination: "/etc/hosts".into(),
        contents: "127.0.0.1 localhost\n10.0.0.2 web\n".into(),
        read_only: false,
    }];
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert_eq!(rt.wait(&c.id).unwrap(), 0, "{}", log_text(&rt, &c.id));
    assert_eq!(
        log_text(&rt, &c.id).replace("stdout: ", ""),
        "1\nok\nhost data\n127.0.0.1 localhost\n10.0.0.2 web\nweb\n1024\n1\n"
    );
    assert_eq!(std::fs::read_to_string(data.join("out")).unwrap(), "out\n");
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn top_and_stats_read_the_containers_cgroup() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(
        &env,
        &rootfs,
        "sleep 1000 & i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; wait",
    );
    c.resources.memory = Some(100 << 20);
    c.resources.pids_limit = Some(30);
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let top = rt.top(&c.id).unwrap();
    assert_eq!(
        top.titles,
        vec!["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    assert!(
        top.processes.iter().any(|p| p[7] == "sleep 1000"),
        "{top:?}"
    );
    assert!(
        top.processes.iter().any(|p| p[7].starts_with("/bin/sh -c")),
        "{top:?}"
    );
    let s = rt.stats(&c.id).unwrap();
    assert!(s.cpu_usage_ns > 0);
    assert_eq!(s.memory_limit, 100 << 20);
    assert!(s.memory_usage_raw > 0);
    assert_eq!(s.pids_current, 2);
    assert_eq!(s.pids_limit, Some(30));
    rt.stop(&c.id, Some(Duration::from_millis(200))).unwrap();
    assert!(matches!(
        rt.top(&c.id),
        Err(RuntimeError::NotRunning { .. })
    ));
    remove_all(&rt);
    env.assert_clean();
}

/// A `Write` that appends to a shared buffer.
#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn start_attached_streams_stdin_and_both_outputs_from_the_first_byte() {
    use rcompose::runtime::attach::{AttachEnd, AttachIo, AttachOptions};
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "echo first; cat; echo err >&2; exit 4");
    c.stdin_open = true;
    rt.create(&c).unwrap();
    let (out, err) = (Sink::default(), Sink::default());
    let io = AttachIo {
        stdin: Some(Box::new(std::io::Cursor::new(b"hello\nworld\n".to_vec()))),
        stdout: Box::new(out.clone()),
        stderr: Box::new(err.clone()),
    };
    let opts = AttachOptions {
        stdin: true,
        close_stdin_on_eof: true,
        ..Default::default()
    };
    let end = rt.start_attached(&c.id, &opts, io).unwrap();
    assert_eq!(end, AttachEnd::Exited(4));
    assert_eq!(out.text(), "first\nhello\nworld\n");
    assert_eq!(err.text(), "err\n");
    // The same went to the log.
    assert!(log_text(&rt, &c.id).contains("stdout: hello\n"));
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn a_tty_container_gets_a_terminal_and_can_be_resized() {
    use rcompose::runtime::attach::{AttachEnd, AttachIo, AttachOptions};
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "tty; read line; echo got:$line; stty size");
    c.tty = true;
    c.stdin_open = true;
    rt.create(&c).unwrap();
    rt.start_held(&c.id).unwrap();
    rt.resize(&c.id, 33, 101).unwrap();
    let out = Sink::default();
    let io = AttachIo {
        stdin: Some(Box::new(std::io::Cursor::new(b"abc\r".to_vec()))),
        stdout: Box::new(out.clone()),
        stderr: Box::new(Sink::default()),
    };
    let end = rt
        .attach_started(
            &c.id,
            &AttachOptions {
                stdin: true,
                ..Default::default()
            },
            io,
        )
        .unwrap();
    assert_eq!(end, AttachEnd::Exited(0));
    let text = out.text();
    assert!(text.contains("/dev/pts/0"), "{text:?}");
    assert!(text.contains("got:abc"), "{text:?}");
    assert!(text.contains("33 101"), "{text:?}");
    // A tty container's log is one stream, with the terminal's line endings.
    assert!(log_text(&rt, &c.id).contains("stdout: got:abc\r\n"));
    // exec with a tty inside it.
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn cp_both_ways_and_export_never_leave_the_container() {
    use rcompose::runtime::archive;
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(
        &env,
        &rootfs,
        "mkdir -p /data/sub && echo inner > /data/sub/f && ln -s /etc/shadow-host /data/evil && sleep 1000",
    );
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert!(eventually(Duration::from_secs(5), || rootfs
        .join("data/sub/f")
        .exists()));
    // Out: a directory, under its own name, into an existing host directory.
    let host = env.path().join("host");
    std::fs::create_dir_all(&host).unwrap();
    archive::copy_out_to_host(&rt, &c.id, "/data", &host).unwrap();
    assert_eq!(
        std::fs::read_to_string(host.join("data/sub/f")).unwrap(),
        "inner\n"
    );
    // The symlink is copied as a symlink, not followed.
    assert_eq!(
        std::fs::read_link(host.join("data/evil")).unwrap(),
        Path::new("/etc/shadow-host")
    );
    // A file to a new name.
    archive::copy_out_to_host(&rt, &c.id, "/data/sub/f", &host.join("renamed")).unwrap();
    assert_eq!(
        std::fs::read_to_string(host.join("renamed")).unwrap(),
        "inner\n"
    );
    // A symlink pointing out of the container resolves inside it.
    std::fs::write(env.path().join("secret"), "host secret").unwrap();
    let outside = env.path().join("secret");
    std::os::unix::fs::symlink(&outside, rootfs.join("link-out")).unwrap();
    std::os::unix::fs::symlink(env.path(), rootfs.join("dir-out")).unwrap();
    let err =
        archive::copy_out_to_host(&rt, &c.id, "/dir-out/secret", &host.join("stolen")).unwrap_err();
    assert!(err.to_string().contains("could not find the file"), "{err}");
    assert!(!host.join("stolen").exists());
    let mut tarball = Vec::new();
    archive::copy_from(&rt, &c.id, "/link-out", &mut tarball).unwrap();
    let mut ar = tar::Archive::new(&tarball[..]);
    let entries: Vec<_> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().header().entry_type())
        .collect();
    assert_eq!(entries, vec![tar::EntryType::Symlink]);
    // In: a host file into a container directory, through a symlink that points "out".
    std::os::unix::fs::symlink("/", rootfs.join("data/up")).unwrap();
    let src = env.path().join("upload.txt");
    std::fs::write(&src, "uploaded").unwrap();
    archive::copy_in_from_host(&rt, &c.id, &src, "/data/up/tmp").unwrap();
    assert_eq!(
        std::fs::read_to_string(rootfs.join("tmp/upload.txt")).unwrap(),
        "uploaded"
    );
    assert!(
        !Path::new("/tmp/upload.txt").exists(),
        "written outside the container"
    );
    // A hostile archive is refused.
    let mut evil = Vec::new();
    {
        let mut b = tar::Builder::new(&mut evil);
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        let name = b"../../escaped";
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        b.finish().unwrap();
    }
    assert!(archive::copy_to(&rt, &c.id, "/tmp", &evil[..]).is_err());
    // Export after stop: the whole filesystem.
    rt.stop(&c.id, Some(Duration::from_millis(200))).unwrap();
    let mut exported = Vec::new();
    archive::export(&rt, &c.id, &mut exported).unwrap();
    let mut ar = tar::Archive::new(&exported[..]);
    let names: Vec<String> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "bin/busybox"));
    assert!(names.iter().any(|n| n == "data/sub/f"));
    assert!(names.iter().any(|n| n == "tmp/upload.txt"));
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn network_ipc_and_pid_namespaces_can_be_joined() {
    use rcompose::runtime::config::{IpcMode, NetworkMode, PidMode};
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    // A namespace prepared the way the network module does: bind-mounted to a file.
    let nsfile = env.path().join("netns");
    std::fs::write(&nsfile, "").unwrap();
    let st = std::process::Command::new("unshare")
        .arg(format!("--net={}", nsfile.display()))
        .arg("true")
        .status()
        .unwrap();
    assert!(st.success());
    use std::os::unix::fs::MetadataExt;
    let ns_ino = std::fs::metadata(&nsfile).unwrap().ino();
    let mut a = config(&env, &rootfs, "sleep 1000");
    a.network = NetworkMode::Path(nsfile.clone());
    a.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
    rt.create(&a).unwrap();
    rt.start(&a.id).unwrap();
    let sh = |id: &str, s: &str| {
        let o = rt
            .exec(
                id,
                &ExecOptions {
                    cmd: vec!["/bin/sh".into(), "-c".into(), s.into()],
                    capture: true,
                    ..Default::default()
                },
            )
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    assert_eq!(
        sh(&a.id, "readlink /proc/self/ns/net"),
        format!("net:[{ns_ino}]\n")
    );
    assert_eq!(
        sh(
            &a.id,
            "cat /proc/sys/net/ipv4/ip_forward /sys/class/net/lo/flags"
        ),
        "1\n0x9\n"
    );
    // Another container shares a's network, IPC and PID namespaces.
    let mut b = config(&env, &rootfs, "sleep 1000");
    b.network = NetworkMode::Container(a.id.clone());
    b.ipc = IpcMode::Container(a.id.clone());
    b.pid = PidMode::Container(a.id.clone());
    rt.create(&b).unwrap();
    rt.start(&b.id).unwrap();
    assert_eq!(
        sh(&b.id, "readlink /proc/self/ns/net"),
        format!("net:[{ns_ino}]\n")
    );
    assert_eq!(
        sh(&b.id, "readlink /proc/self/ns/ipc"),
        sh(&a.id, "readlink /proc/self/ns/ipc")
    );
    assert_eq!(
        sh(&b.id, "readlink /proc/self/ns/pid"),
        sh(&a.id, "readlink /proc/self/ns/pid")
    );
    assert!(
        sh(&b.id, "ps -o comm").matches("sleep").count() >= 2,
        "sees a's processes"
    );
    // Joining a container that is not running fails clearly.
    let mut c = config(&env, &rootfs, "true");
    c.network = NetworkMode::Container(new_id());
    rt.create(&c).unwrap();
    let err = rt.start(&c.id).unwrap_err().to_string();
    assert!(err.contains("does not exist"), "{err}");
    for id in [&b.id, &a.id] {
        rt.stop(id, Some(Duration::from_millis(200))).unwrap();
    }
    remove_all(&rt);
    nix::mount::umount2(&nsfile, nix::mount::MntFlags::MNT_DETACH).unwrap();
    env.assert_clean();
}

#[test]
fn devices_capabilities_and_security_options_apply() {
    use rcompose::runtime::config::DeviceMapping;
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let probe = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; head -c 4 /dev/myzero | od -An -tx1; \
                 df -k /dev/shm | awk 'NR==2{print $2}'";
    let probe = format!("{probe}; cat /proc/self/oom_score_adj");
    let mut a = config(&env, &rootfs, &probe);
    a.oom_score_adj = Some(500);
    a.devices = vec![DeviceMapping {
        host_path: "/dev/zero".into(),
        container_path: Some("/dev/myzero".into()),
        permissions: None,
    }];
    a.cap_drop = vec!["ALL".into()];
    a.cap_add = vec!["CHOWN".into()];
    a.security_opt = vec!["no-new-privileges:true".into(), "seccomp=unconfined".into()];
    a.shm_size = Some(8 << 20);
    rt.create(&a).unwrap();
    rt.start(&a.id).unwrap();
    assert_eq!(rt.wait(&a.id).unwrap(), 0, "{}", log_text(&rt, &a.id));
    assert_eq!(
        log_text(&rt, &a.id).replace("stdout: ", ""),
        "CapEff:\t0000000000000001\nNoNewPrivs:\t1\nSeccomp:\t0\n 00 00 00 00\n8192\n500\n"
    );
    let mut p = config(
        &env,
        &rootfs,
        "grep -E '^(CapEff|Seccomp):' /proc/self/status; ls /dev | grep -c '^loop'; \
                                        echo 1 > /proc/sys/kernel/domainname && echo rw",
    );
    p.privileged = true;
    rt.create(&p).unwrap();
    start(&rt, &p.id);
    assert_eq!(rt.wait(&p.id).unwrap(), 0, "{}", log_text(&rt, &p.id));
    let out = log_text(&rt, &p.id).replace("stdout: ", "");
    let lines: Vec<&str> = out.lines().collect();
    // Every capability we hold ourselves.
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    assert_eq!(
        lines[0],
        format!("CapEff:\t{}", status_line(&own, "CapBnd:"))
    );
    assert_eq!(lines[1], "Seccomp:\t0");
    assert_eq!(lines[3], "rw");
    // A custom seccomp profile from a file.
    let profile = env.path().join("deny-mkdir.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
    let mut s = config(
        &env,
        &rootfs,
        "mkdir /tmp/x 2>&1; grep Seccomp: /proc/self/status",
    );
    s.security_opt = vec![format!("seccomp={}", profile.display())];
    rt.create(&s).unwrap();
    rt.start(&s.id).unwrap();
    rt.wait(&s.id).unwrap();
    let out = log_text(&rt, &s.id);
    assert!(
        out.contains("Operation not permitted") && out.contains("Seccomp:\t2"),
        "{out}"
    );
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn auto_remove_deletes_the_container_when_it_exits() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let mut c = config(&env, &rootfs, "exit 0");
    c.auto_remove = true;
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    assert!(eventually(Duration::from_secs(5), || matches!(
        rt.state(&c.id),
        Err(RuntimeError::NotFound(_))
    )));
    assert!(!env.paths.containers().join(&c.id).exists());
    // The shim exits right after removing the container.
    assert!(
        eventually(Duration::from_secs(5), || env.leaks().is_empty()),
        "{:?}",
        env.leaks()
    );
}

#[test]
fn bad_configurations_are_refused_at_create_and_change_nothing() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let cases: Vec<(ContainerConfig, &str)> = vec![
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.cap_add = vec!["CAP_WIZARD".into()];
                c
            },
            "CAP_WIZARD",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.stop_signal = Some("SIGNOPE".into());
                c
            },
            "SIGNOPE",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.working_dir = Some("relative".into());
                c
            },
            "relative",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.sysctls.insert("kernel.panic".into(), "1".into());
                c
            },
            "kernel.panic",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.rootfs = Rootfs::Dir("/nonexistent".into());
                c
            },
            "root directory",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.logging.driver = "syslog".into();
                c
            },
            "syslog",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.id = "NOT-HEX".into();
                c
            },
            "NOT-HEX",
        ),
        (
            {
                let mut c = config(&env, &rootfs, "x");
                c.command = Some(vec![]);
                c.entrypoint = Some(vec![]);
                c
            },
            "no command",
        ),
    ];
    for (c, needle) in cases {
        let err = rt.create(&c).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(rt.list().unwrap().is_empty());
    // A user missing from the image fails at start, with Docker's message and code.
    let mut c = config(&env, &rootfs, "true");
    c.user = Some("ghost".into());
    rt.create(&c).unwrap();
    match rt.start(&c.id).unwrap_err() {
        RuntimeError::StartFailed { message, .. } => {
            assert!(message.contains("unable to find user ghost"), "{message}")
        }
        e => panic!("{e}"),
    }
    let mut c = config(&env, &rootfs, "true");
    c.command = Some(vec!["not-there".into()]);
    rt.create(&c).unwrap();
    match rt.start(&c.id).unwrap_err() {
        RuntimeError::StartFailed {
            exit_code, message, ..
        } => {
            assert_eq!(exit_code, 127, "{message}");
            assert_eq!(
                rt.state(&c.id).unwrap().status,
                Status::Exited { code: 127 }
            );
        }
        e => panic!("{e}"),
    }
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn exec_with_a_tty_relays_a_real_terminal() {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let c = config(&env, &rootfs, "sleep 1000");
    rt.create(&c).unwrap();
    rt.start(&c.id).unwrap();
    // What `Runtime::exec` hands the helper, with a terminal on its stdio.
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rt.layout.spec(&c.id)).unwrap()).unwrap();
    let mut process = spec["process"].clone();
    process["args"] = serde_json::json!([
        "/bin/sh",
        "-c",
        "tty; stty size; read x; echo got:$x; exit 9"
    ]);
    process["terminal"] = serde_json::json!(true);
    let pf = env.path().join("process.json");
    std::fs::write(&pf, serde_json::to_vec(&process).unwrap()).unwrap();
    let pty = nix::pty::openpty(
        Some(&nix::pty::Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }),
        None,
    )
    .unwrap();
    let slave = std::fs::File::from(pty.slave);
    let mut child = std::process::Command::new(RCOMPOSE)
        .args(["shim", "exec", "--root"])
        .arg(&env.paths.root)
        .arg("--run")
        .arg(&env.paths.run)
        .args(["--id", &c.id, "--process"])
        .arg(&pf)
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    let mut master = std::fs::File::from(pty.master);
    std::thread::sleep(Duration::from_millis(500));
    master.write_all(b"hello\r").unwrap();
    let fd = master.as_raw_fd();
    let mut out = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10)
        && !String::from_utf8_lossy(&out).contains("got:hello")
    {
        let mut p = [libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: a valid pollfd array for the call.
        if unsafe { libc::poll(p.as_mut_ptr(), 1, 200) } > 0 {
            let mut b = [0u8; 4096];
            match master.read(&mut b) {
                Ok(n) if n > 0 => out.extend_from_slice(&b[..n]),
                _ => break,
            }
        }
    }
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(
        text.contains("40 120"),
        "window size follows the caller's terminal: {text:?}"
    );
    assert!(text.contains("got:hello"), "{text:?}");
    assert_eq!(status.code(), Some(9));
    rt.stop(&c.id, Some(Duration::from_millis(200))).unwrap();
    remove_all(&rt);
    env.assert_clean();
}

#[test]
fn a_held_container_can_be_started_or_removed_without_attaching() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let rt = runtime(&env);
    let a = config(&env, &rootfs, "echo ran");
    rt.create(&a).unwrap();
    rt.start_held(&a.id).unwrap();
    assert_eq!(rt.state(&a.id).unwrap().status, Status::Created);
    rt.start(&a.id).unwrap();
    assert_eq!(rt.wait(&a.id).unwrap(), 0);
    assert_eq!(log_text(&rt, &a.id), "stdout: ran\n");
    let b = config(&env, &rootfs, "echo never");
    rt.create(&b).unwrap();
    rt.start_held(&b.id).unwrap();
    rt.remove(&b.id, false).unwrap();
    remove_all(&rt);
    env.assert_clean();
}
