//! `rcompose oci` against `runc` on the same bundle: the container must see the same world.
//! Root, real kernel, a busybox rootfs from Debian's busybox-static.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use rcompose::runtime::config::{ContainerConfig, Resources, Rootfs, Ulimit};
use rcompose::runtime::spec::{self, HostFacts, StartFacts};
use support::runtime_env::TestEnv;

const RCOMPOSE: &str = env!("CARGO_BIN_EXE_rcompose");

/// What the container reports about itself. Each line is one fact.
const PROBE: &str = r#"
echo "id: $(id)"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|Seccomp|NoNewPrivs|Groups):' /proc/self/status
echo "cwd: $(pwd)"
echo "hostname: $(hostname)"
echo "nofile: $(ulimit -Sn) $(ulimit -Hn)"
env | grep -v '^SHLVL=\|^_=\|^PWD=\|^OLDPWD=' | sort | sed 's/^/env: /'
echo "memory.limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
echo "pids.max: $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
sed 's/^/cgroup: /' /proc/self/cgroup | sort
ls -ln /dev | awk 'NR>1 {print "dev: " $1 " " $3 " " $4 " " $5 " " $6 " " $NF}' | sed 's/,//' | sort
awk '{print "mount: " $5 " " $6 " " $(NF-2)}' /proc/self/mountinfo | sort
echo "masked timer_list: $(cat /proc/timer_list 2>&1 | wc -c)"
echo "masked interrupts: $(cat /proc/interrupts 2>&1 | wc -c)"
echo "firmware: $(ls /sys/firmware 2>&1 | wc -l)"
echo "sysrq: $( (echo h > /proc/sysrq-trigger) 2>/dev/null && echo writable || echo denied)"
echo "raise-limit: $( (echo 999999999 > /sys/fs/cgroup/memory/memory.limit_in_bytes) 2>&1)"
echo "lo: $(cat /sys/class/net/lo/operstate) $(cat /sys/class/net/lo/flags)"
echo "ip_forward: $(cat /proc/sys/net/ipv4/ip_forward)"
echo "umask: $(umask)"
echo "mknod: $(mknod /tmp/null c 1 3 2>&1 && echo ok)"
echo "mount-syscall: $(mount -t tmpfs none /mnt 2>&1 | sed 's/.*: //')"
echo "shm: $(df -k /dev/shm | awk 'NR==2 {print $2}')"
exit 7
"#;

fn config(env: &TestEnv, rootfs: &Path) -> ContainerConfig {
    ContainerConfig {
        id: "d1ff".repeat(16),
        name: "difftest".into(),
        rootfs: Rootfs::Dir(rootfs.to_path_buf()),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        command: Some(vec![PROBE.into()]),
        env: vec!["FOO=bar".into()],
        user: Some("app".into()),
        group_add: vec!["wheel".into()],
        working_dir: Some("/home/app".into()),
        hostname: Some("difftest".into()),
        ulimits: vec![Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048,
        }],
        cap_add: vec!["NET_ADMIN".into()],
        resources: Resources {
            memory: Some(64 << 20),
            pids_limit: Some(50),
            ..Default::default()
        },
        cgroup_parent: Some(env.cgroup_parent.clone()),
        ..Default::default()
    }
}

fn bundle(env: &TestEnv, name: &str, rootfs: &Path) -> PathBuf {
    let cfg = config(env, rootfs);
    let facts = StartFacts {
        rootfs: rootfs.to_path_buf(),
        passwd: std::fs::read_to_string(rootfs.join("etc/passwd")).ok(),
        group: std::fs::read_to_string(rootfs.join("etc/group")).ok(),
        ..Default::default()
    };
    let mut s = spec::build(&cfg, &facts, &HostFacts::detect()).unwrap();
    // Distinct cgroups so the two runtimes never share one.
    if let Some(l) = s.linux_mut() {
        l.set_cgroups_path(Some(format!("{}/{name}", env.cgroup_parent).into()));
    }
    let dir = env.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    s.save(dir.join("config.json")).unwrap();
    dir
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn oci_run_matches_runc_run_from_inside_the_container() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let b1 = bundle(&env, "b-rcompose", &rootfs);
    let b2 = bundle(&env, "b-runc", &rootfs);

    let (code_r, out_r, err_r) = run(Command::new(RCOMPOSE)
        .args(["oci", "--root"])
        .arg(env.path().join("oci-state"))
        .args(["run", "-b"])
        .arg(&b1)
        .arg("diff-rcompose"));
    let _ = std::fs::remove_file(rootfs.join("tmp/null"));
    let (code_c, out_c, err_c) = run(Command::new("runc")
        .arg("--root")
        .arg(env.path().join("runc-state"))
        .args(["run", "-b"])
        .arg(&b2)
        .arg("diff-runc"));

    assert_eq!(code_c, 7, "runc failed: {err_c}\n{out_c}");
    assert_eq!(code_r, 7, "rcompose oci run failed: {err_r}\n{out_r}");
    // One deliberate difference: with a cgroup namespace, runc 1.1 leaves the tmpfs under
    // the (read-only) cgroup hierarchies writable; we make it read-only too, as runc does
    // without a cgroup namespace and as Docker shows on cgroup v1 hosts.
    let out_c_adj = out_c.replace(
        "mount: /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime tmpfs",
        "mount: /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime tmpfs",
    );
    let a: Vec<&str> = out_r.lines().collect();
    let b: Vec<&str> = out_c_adj.lines().collect();
    let only_r: Vec<&&str> = a.iter().filter(|l| !b.contains(l)).collect();
    let only_c: Vec<&&str> = b.iter().filter(|l| !a.contains(l)).collect();
    assert!(
        only_r.is_empty() && only_c.is_empty(),
        "views differ\nonly under rcompose:\n{only_r:#?}\nonly under runc:\n{only_c:#?}\n\nfull rcompose output:\n{out_r}"
    );
    // And the view is Docker's: spot-check the facts that matter.
    assert!(
        out_r.contains("id: uid=1000(app) gid=1000(app) groups=10(wheel),50(staff)"),
        "{out_r}"
    );
    assert!(out_r.contains("Seccomp:\t2"), "{out_r}");
    assert!(out_r.contains("memory.limit: 67108864"), "{out_r}");
    assert!(out_r.contains("pids.max: 50"), "{out_r}");
    assert!(out_r.contains("raise-limit: /bin/sh: can't create /sys/fs/cgroup/memory/memory.limit_in_bytes: Read-only file system"), "{out_r}");
    assert!(out_r.contains("masked timer_list: 0"), "{out_r}");
    assert!(out_r.contains("masked interrupts: 0"), "{out_r}");
    assert!(out_r.contains("nofile: 1024 2048"), "{out_r}");
    drop(env);
}

#[test]
fn oci_lifecycle_create_start_state_kill_delete() {
    let env = TestEnv::new();
    let rootfs = env.rootfs("rootfs");
    let mut cfg = config(&env, &rootfs);
    cfg.command = Some(vec![
        "trap 'exit 42' TERM; while true; do sleep 0.05; done".into(),
    ]);
    cfg.user = None;
    let facts = StartFacts {
        rootfs: rootfs.clone(),
        passwd: Some(support::rootfs::PASSWD.into()),
        group: Some(support::rootfs::GROUP.into()),
        ..Default::default()
    };
    let s = spec::build(&cfg, &facts, &HostFacts::detect()).unwrap();
    let b = env.path().join("bundle");
    std::fs::create_dir_all(&b).unwrap();
    s.save(b.join("config.json")).unwrap();
    let state_root = env.path().join("oci-state");
    // `create` hands its stdio to the container (as runc does): give it files, not pipes
    // the test would wait on.
    let out_file = env.path().join("container.out");
    let oci = |args: &[&str]| {
        let mut cmd = Command::new(RCOMPOSE);
        cmd.arg("oci").arg("--root").arg(&state_root).args(args);
        cmd.stdin(std::process::Stdio::null());
        if args[0] == "create" {
            let f = std::fs::File::create(&out_file).unwrap();
            cmd.stdout(f.try_clone().unwrap()).stderr(f);
            let st = cmd.status().unwrap();
            return (
                st.code().unwrap_or(-1),
                String::new(),
                std::fs::read_to_string(&out_file).unwrap(),
            );
        }
        run(&mut cmd)
    };
    let state = |id: &str| -> serde_json::Value {
        let (c, o, e) = oci(&["state", id]);
        assert_eq!(c, 0, "{e}");
        serde_json::from_str(&o).unwrap()
    };
    let (c, _, e) = oci(&["create", "-b", b.to_str().unwrap(), "life"]);
    assert_eq!(c, 0, "{e}");
    assert_eq!(state("life")["status"], "created");
    assert_eq!(state("life")["bundle"], b.to_str().unwrap());
    let (c, _, e) = oci(&["start", "life"]);
    assert_eq!(c, 0, "{e}");
    assert_eq!(state("life")["status"], "running");
    let pid = state("life")["pid"].as_i64().unwrap();
    assert!(pid > 0);
    // exec: the container's seccomp filter and capabilities apply to the new process.
    let (c, o, e) = oci(&[
        "exec",
        "life",
        "/bin/sh",
        "-c",
        "grep -E '^(Seccomp|CapBnd):' /proc/self/status; exit 3",
    ]);
    assert_eq!(c, 3, "{e}");
    assert_eq!(o, "CapBnd:\t00000000a80435fb\nSeccomp:\t2\n", "{o}");
    let (c, o, _) = oci(&[
        "exec",
        "--user",
        "1000:1000",
        "--cwd",
        "/tmp",
        "-e",
        "X=1",
        "life",
        "/bin/sh",
        "-c",
        "echo $(id -u) $(pwd) $X",
    ]);
    assert_eq!((c, o.as_str()), (0, "1000 /tmp 1\n"));
    // Deleting a running container without --force is refused, like runc.
    let (c, _, e) = oci(&["delete", "life"]);
    assert_eq!(c, 1);
    assert!(e.contains("not stopped"), "{e}");
    // start twice is refused.
    let (c, _, _) = oci(&["start", "life"]);
    assert_eq!(c, 1);
    let (c, _, e) = oci(&["kill", "life", "TERM"]);
    assert_eq!(c, 0, "{e}");
    let t = std::time::Instant::now();
    while state("life")["status"] != "stopped" {
        assert!(t.elapsed().as_secs() < 10, "did not stop");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (c, _, e) = oci(&["delete", "life"]);
    assert_eq!(c, 0, "{e}");
    let (c, _, e) = oci(&["state", "life"]);
    assert_eq!(c, 1);
    assert!(e.contains("does not exist"), "{e}");
    // Reap the init, which was our grandchild and is now a zombie of init(1) or ours.
    env.assert_clean();
}
