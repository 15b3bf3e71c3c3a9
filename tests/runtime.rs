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
