//! The public loading API, as the engine uses it: `project::load` with an injected
//! environment, the typed model, located errors, the config hash and the dependency graph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rcompose::graph::ServiceGraph;
use rcompose::project::{self, LoadOptions, ProjectError};

struct TempProject {
    dir: tempfile::TempDir,
}

impl TempProject {
    fn new(files: &[(&str, &str)]) -> TempProject {
        let dir = tempfile::Builder::new()
            .prefix("rcompose-test")
            .tempdir()
            .expect("tempdir");
        for (name, content) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, content).expect("write");
        }
        TempProject { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn options(&self, env: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            working_dir: self.path().to_path_buf(),
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            ..LoadOptions::default()
        }
    }
}

fn err_text(e: &ProjectError) -> String {
    match e.hint() {
        Some(h) => format!("{e}\nhint: {h}"),
        None => e.to_string(),
    }
}

#[test]
fn load_uses_the_injected_environment_and_dotenv() {
    let p = TempProject::new(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: \"nginx:${TAG}\"\n    environment:\n      - FROM_ENV\n      - FROM_DOTENV\n    ports: [\"${PORT:-8080}:80\"]\n",
        ),
        (".env", "FROM_DOTENV=dot\nTAG=from-dotenv\n"),
    ]);
    let proj = project::load(&p.options(&[("TAG", "1.25"), ("FROM_ENV", "shell")])).expect("loads");
    let web = &proj.services["web"];
    assert_eq!(web.image, "nginx:1.25", "process env beats .env");
    assert_eq!(web.environment["FROM_ENV"].as_deref(), Some("shell"));
    assert_eq!(web.environment["FROM_DOTENV"].as_deref(), Some("dot"));
    assert_eq!(web.ports[0].target, 80);
    assert_eq!(web.ports[0].published, "8080");
    assert_eq!(web.ports[0].protocol, "tcp");
    assert_eq!(web.command, None);
    assert_eq!(
        proj.name,
        p.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase()
            .replace('.', "")
    );
    assert!(proj.networks.contains_key("default"));
}

#[test]
fn typed_model_exposes_normalized_fields() {
    let p = TempProject::new(&[(
        "compose.yaml",
        r#"
name: demo
services:
  web:
    image: web
    command: echo "hello world"
    entrypoint: []
    volumes: ["./data:/data:ro", "cache:/cache"]
    depends_on:
      db: {condition: service_healthy}
    healthcheck:
      test: curl -f localhost
      interval: 90s
    stop_grace_period: 1m
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    deploy:
      resources:
        limits: {memory: 1g, cpus: "0.5"}
  db:
    image: postgres
    networks:
      back:
        aliases: [database]
        ipv4_address: 10.5.0.5
volumes:
  cache: {}
networks:
  back: {}
"#,
    )]);
    let proj = project::load(&p.options(&[])).expect("loads");
    let web = &proj.services["web"];
    assert_eq!(
        web.command.as_deref(),
        Some(&["echo".to_string(), "hello world".to_string()][..])
    );
    assert_eq!(
        web.entrypoint.as_deref(),
        Some(&[][..]),
        "explicit [] is kept"
    );
    assert_eq!(web.volumes[0].kind, "bind");
    assert_eq!(PathBuf::from(&web.volumes[0].source), p.path().join("data"));
    assert!(web.volumes[0].read_only);
    assert_eq!(web.volumes[1].kind, "volume");
    assert_eq!(web.depends_on["db"].condition, "service_healthy");
    let hc = web.healthcheck.as_ref().unwrap();
    assert_eq!(hc.test, ["CMD-SHELL", "curl -f localhost"]);
    assert_eq!(hc.interval.unwrap().0, std::time::Duration::from_secs(90));
    assert_eq!(web.stop_grace_period.unwrap().to_string(), "1m0s");
    assert_eq!(web.ulimits["nofile"].limits(), (1024, 2048));
    let limits = web
        .deploy
        .as_ref()
        .unwrap()
        .resources
        .limits
        .as_ref()
        .unwrap();
    assert_eq!(limits.memory.0, 1 << 30);
    assert_eq!(limits.cpus, 0.5);
    let db = &proj.services["db"];
    let net = db.networks["back"].as_ref().unwrap();
    assert_eq!(net.aliases, ["database"]);
    assert_eq!(net.ipv4_address, "10.5.0.5");
    assert_eq!(proj.volumes["cache"].name, "demo_cache");
    assert_eq!(proj.networks["back"].name, "demo_back");
}

#[test]
fn unknown_field_error_names_file_line_column_and_path() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    imagee: y\n",
    )]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert_eq!(
        err_text(&e),
        "compose.yaml:4:5: services.web: additional property 'imagee' not allowed\nhint: did you mean `image`?"
    );
}

#[test]
fn undefined_network_error_is_located_at_the_reference() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    networks: [front]\n",
    )]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "compose.yaml:4:16: services.web.networks.front: service \"web\" refers to undefined network front: invalid compose project"
    );
}

#[test]
fn dependency_cycle_is_reported_as_the_cycle() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: y\n    depends_on: [web]\n",
    )]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "compose.yaml:7:18: services.db.depends_on.web: dependency cycle detected: db -> web -> db"
    );
}

#[test]
fn invalid_port_is_located() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    ports: [\"80800:80\"]\n",
    )]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "compose.yaml:4:13: services.web.ports[0]: invalid hostPort: 80800"
    );
}

#[test]
fn required_variable_error_is_located() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: ${IMAGE:?set IMAGE}\n",
    )]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "compose.yaml:3:12: services.web.image: required variable IMAGE is missing a value: set IMAGE"
    );
}

#[test]
fn yaml_syntax_error_is_located() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n   bad: [\n",
    )]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert!(e.to_string().starts_with("compose.yaml:"), "{e}");
    assert!(e.location().is_some());
}

#[test]
fn missing_compose_file_is_a_clear_error() {
    let p = TempProject::new(&[("README", "nothing here")]);
    let e = project::load(&p.options(&[])).unwrap_err();
    assert!(matches!(e, ProjectError::NoConfigFile { .. }), "{e}");
}

#[test]
fn discovery_walks_up_and_reads_the_override_file() {
    let p = TempProject::new(&[
        ("compose.yaml", "services:\n  web:\n    image: base\n"),
        (
            "compose.override.yaml",
            "services:\n  web:\n    image: overridden\n",
        ),
        ("sub/dir/.keep", ""),
    ]);
    let mut opts = p.options(&[]);
    opts.working_dir = p.path().join("sub/dir");
    let proj = project::load(&opts).expect("found upward");
    assert_eq!(proj.services["web"].image, "overridden");
    assert_eq!(proj.working_dir, p.path());
    assert_eq!(proj.compose_files.len(), 2);
}

#[test]
fn profiles_select_services_and_named_services_enable_theirs() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  app: {image: a}\n  debug: {image: d, profiles: [debug]}\n  tools: {image: t, profiles: [tools], depends_on: [app]}\n",
    )]);
    let proj = project::load(&p.options(&[])).unwrap();
    assert_eq!(proj.service_names(), ["app"]);
    let proj = project::load(&p.options(&[("COMPOSE_PROFILES", "debug")])).unwrap();
    assert_eq!(proj.service_names(), ["app", "debug"]);
    let mut opts = p.options(&[]);
    opts.services = vec!["tools".into()];
    let proj = project::load(&opts).unwrap();
    assert_eq!(proj.service_names(), ["app", "tools"]);
}

#[test]
fn config_hash_ignores_scale_but_not_image() {
    let p = TempProject::new(&[("compose.yaml", "services:\n  web: {image: a, scale: 2}\n")]);
    let q = TempProject::new(&[("compose.yaml", "services:\n  web: {image: a, scale: 5}\n")]);
    let r = TempProject::new(&[("compose.yaml", "services:\n  web: {image: b, scale: 2}\n")]);
    let h = |t: &TempProject| {
        let mut o = t.options(&[]);
        o.project_name = Some("same".into());
        let proj = project::load(&o).unwrap();
        project::hash::service_config_hash(&proj, "web").unwrap()
    };
    assert_eq!(h(&p), h(&q));
    assert_ne!(h(&p), h(&r));
}

#[test]
fn graph_orders_services_for_up_and_down() {
    let p = TempProject::new(&[(
        "compose.yaml",
        "services:\n  web: {image: w, depends_on: [api]}\n  api: {image: a, links: [db]}\n  db: {image: d}\n  other: {image: o}\n",
    )]);
    let proj = project::load(&p.options(&[])).unwrap();
    let g = ServiceGraph::new(&proj);
    assert_eq!(g.start_order().unwrap(), ["db", "api", "other", "web"]);
    assert_eq!(g.stop_order().unwrap(), ["other", "web", "api", "db"]);
    assert_eq!(
        g.with_dependencies(&["web".into()]).unwrap(),
        ["api", "db", "web"]
    );
}
