//! `rcompose image …`, `login`, `logout` as a user runs them.

mod support;

use assert_cmd::Command;
use support::images::{self, Layout};
use support::registry::{Auth, PASSWORD, Registry, TempRoot, USER};

fn rc(root: &TempRoot, home: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("rcompose").unwrap();
    c.env("RCOMPOSE_ROOT", root.paths.root.as_os_str())
        .env("RCOMPOSE_RUN", root.paths.run.as_os_str())
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("RCOMPOSE_CONFIG", home.join("none.toml"))
        .env("NO_COLOR", "1");
    c
}

fn stdout(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        c,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn image_commands_behave_like_docker_image() {
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    let fx = images::single(&mut l);
    reg.skopeo_push(&l.dir, "single", "bb:1");
    let root = TempRoot::new();
    let home = tmp.path();
    let name = format!("{}/bb:1", reg.host());

    let out = rc(&root, home)
        .args(["image", "pull", &name])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{name}\n"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("1: Pulling from {}/bb", reg.host())),
        "{err}"
    );
    assert!(
        err.contains("Pull complete") && err.contains(&format!("Digest: {}", fx.manifest)),
        "{err}"
    );
    assert!(
        err.contains(&format!("Status: Downloaded newer image for {name}")),
        "{err}"
    );

    let ls = stdout(rc(&root, home).args(["image", "ls"]));
    let lines: Vec<&str> = ls.lines().collect();
    assert!(
        lines[0].starts_with("REPOSITORY") && lines[0].contains("IMAGE ID"),
        "{ls}"
    );
    assert!(
        lines[1].contains(&format!("{}/bb", reg.host())) && lines[1].contains(fx.config.short()),
        "{ls}"
    );
    assert_eq!(
        stdout(rc(&root, home).args(["image", "ls", "-q"])),
        format!("{}\n", fx.config.short())
    );
    let json: serde_json::Value = serde_json::from_str(
        stdout(rc(&root, home).args(["image", "ls", "--format", "json"]))
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["Tag"], "1");
    assert_eq!(json["Digest"], fx.manifest.to_string());

    // tag, then rm of one tag only untags.
    stdout(rc(&root, home).args(["image", "tag", &name, "local/other:x"]));
    assert_eq!(
        stdout(rc(&root, home).args(["image", "rm", "local/other:x"])),
        "Untagged: local/other:x\n"
    );

    let inspect: serde_json::Value =
        serde_json::from_str(&stdout(rc(&root, home).args(["image", "inspect", &name]))).unwrap();
    assert_eq!(inspect[0]["Id"], fx.config.to_string());
    assert_eq!(inspect[0]["Config"]["Cmd"][0], "sh");
    assert_eq!(
        inspect[0]["RootFS"]["Layers"][0],
        fx.diff_ids[0].to_string()
    );
    assert_eq!(
        stdout(rc(&root, home).args([
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{index .Config.Labels \"org.rcompose.fixture\"}}",
            &name
        ])),
        format!("{} 1\n", fx.config)
    );
    assert_eq!(
        stdout(rc(&root, home).args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])),
        format!("{name}\n")
    );
    let hist = stdout(rc(&root, home).args(["image", "history", &name]));
    assert!(
        hist.starts_with("IMAGE") && hist.contains("fixture"),
        "{hist}"
    );

    // save -o, rm, load -i.
    let archive = tmp.path().join("bb.tar");
    stdout(
        rc(&root, home)
            .args(["image", "save", "-o"])
            .arg(&archive)
            .arg(&name),
    );
    let rm = stdout(rc(&root, home).args(["image", "rm", &name]));
    assert!(
        rm.contains(&format!("Untagged: {name}"))
            && rm.contains(&format!("Deleted: {}", fx.config)),
        "{rm}"
    );
    assert_eq!(stdout(rc(&root, home).args(["image", "ls", "-q"])), "");
    assert_eq!(
        stdout(rc(&root, home).args(["image", "load", "-i"]).arg(&archive)),
        format!("Loaded image: {name}\n")
    );

    // import a rootfs tarball; it is untagged → dangling until tagged.
    let rootfs = tmp.path().join("rootfs.tar");
    std::fs::write(
        &rootfs,
        images::tar_of(&images::busybox_rootfs(images::busybox_binary())),
    )
    .unwrap();
    let id = stdout(
        rc(&root, home)
            .args(["image", "import", "-c", "CMD [\"sh\"]"])
            .arg(&rootfs),
    );
    assert!(id.starts_with("sha256:"));
    let dangling = stdout(rc(&root, home).args(["image", "ls", "-q", "--filter", "dangling=true"]));
    assert_eq!(dangling.trim(), &id.trim()[7..19]);
    let pruned = stdout(rc(&root, home).args(["image", "prune", "--force"]));
    assert!(
        pruned.contains(&format!("deleted: {}", id.trim())),
        "{pruned}"
    );
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    assert_eq!(
        stdout(rc(&root, home).args(["image", "ls", "-q", "--filter", "dangling=true"])),
        ""
    );

    // Errors: unknown image, bad reference.
    let out = rc(&root, home)
        .args(["image", "inspect", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: nope"));
    let out = rc(&root, home)
        .args(["image", "pull", "Bad/Name"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be lowercase"));
}

#[test]
fn login_writes_docker_config_and_pull_uses_it() {
    let reg = Registry::start(Auth::Basic);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    images::single(&mut l);
    reg.skopeo_push(&l.dir, "single", "priv:1");
    let root = TempRoot::new();
    let home = tmp.path();
    let name = format!("{}/priv:1", reg.host());
    let out = rc(&root, home)
        .args(["image", "pull", "-q", &name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rcompose login"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = rc(&root, home)
        .args(["login", "-u", USER, "--password-stdin", &reg.host()])
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!home.join(".docker/config.json").exists());
    let ok = stdout(
        rc(&root, home)
            .args(["login", "-u", USER, "--password-stdin", &reg.host()])
            .write_stdin(format!("{PASSWORD}\n")),
    );
    assert_eq!(ok, "Login Succeeded\n");
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join(".docker/config.json")).unwrap()).unwrap();
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    assert_eq!(cfg["auths"][reg.host()]["auth"], auth);
    stdout(rc(&root, home).args(["image", "pull", "-q", &name]));
    assert_eq!(
        stdout(rc(&root, home).args(["logout", &reg.host()])),
        format!("Removing login credentials for {}\n", reg.host())
    );
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join(".docker/config.json")).unwrap()).unwrap();
    assert!(cfg["auths"].get(reg.host()).is_none());
}

#[test]
fn pull_from_a_closed_port_says_the_registry_cannot_be_reached() {
    let tmp = tempfile::tempdir().unwrap();
    let root = TempRoot::new();
    let port = support::registry::free_port();
    let out = rc(&root, tmp.path())
        .args(["image", "pull", &format!("127.0.0.1:{port}/x:1")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot reach registry `127.0.0.1:{port}`")),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn a_pull_killed_midway_leaves_nothing_that_looks_complete() {
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    // 48 MiB of incompressible data: the pull takes long enough to be killed in the middle.
    let mut seed = 7u64;
    let big: Vec<u8> = (0..48 << 20)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    let tar = images::tar_of(&[images::E::File("big".into(), big, 0o644)]);
    let f = l.image(&[(tar, images::Comp::Gzip)], "amd64", None, &["sh"]);
    l.tag(&f, "big");
    reg.skopeo_push(&l.dir, "big", "big:1");
    let root = TempRoot::new();
    let home = tmp.path();
    let name = format!("{}/big:1", reg.host());
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rcompose"))
        .args(["image", "pull", "-q", &name])
        .env("RCOMPOSE_ROOT", root.paths.root.as_os_str())
        .env("RCOMPOSE_RUN", root.paths.run.as_os_str())
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("RCOMPOSE_CONFIG", home.join("none.toml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tmp_layers = root.paths.layers().join(".tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut killed_midway = false;
    while std::time::Instant::now() < deadline {
        if std::fs::read_dir(&tmp_layers)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
        {
            child.kill().unwrap();
            killed_midway = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(killed_midway, "the pull finished before it could be killed");
    // Nothing named, no layer in place, no blob that failed verification.
    assert_eq!(stdout(rc(&root, home).args(["image", "ls", "-q"])), "");
    let layers: Vec<_> = std::fs::read_dir(root.paths.layers())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(layers.is_empty(), "{layers:?}");
    assert!(
        !root
            .paths
            .images()
            .join("blobs/sha256")
            .join(f.layers[0].hex())
            .exists()
    );
    // The next pull repairs everything; prune's GC removes the debris.
    stdout(rc(&root, home).args(["image", "pull", "-q", &name]));
    assert_eq!(
        stdout(rc(&root, home).args(["image", "ls", "-q"])),
        format!("{}\n", f.config.short())
    );
    stdout(rc(&root, home).args(["image", "prune", "--force"]));
    assert_eq!(std::fs::read_dir(&tmp_layers).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(root.paths.images().join("tmp"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn credential_helpers_from_config_json_are_used() {
    let reg = Registry::start(Auth::Token);
    let tmp = tempfile::tempdir().unwrap();
    let mut l = Layout::new(&tmp.path().join("layout"));
    images::single(&mut l);
    reg.skopeo_push(&l.dir, "single", "helped:1");
    let root = TempRoot::new();
    let home = tmp.path();
    // A credential helper that knows only this registry, and logs what it was asked.
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-fake");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\necho \"$1 $server\" >> {log}\nif [ \"$server\" = \"{host}\" ]; then echo '{{\"ServerURL\":\"{host}\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
            log = home.join("helper.log").display(),
            host = reg.host()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    std::fs::write(
        home.join(".docker/config.json"),
        r#"{"credsStore": "fake"}"#,
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    stdout(rc(&root, home).env("PATH", &path).args([
        "image",
        "pull",
        "-q",
        &format!("{}/helped:1", reg.host()),
    ]));
    let log = std::fs::read_to_string(home.join("helper.log")).unwrap();
    assert!(log.contains(&format!("get {}", reg.host())), "{log}");
}
