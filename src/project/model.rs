//! From the normalized tree to the typed [`Project`], then Compose's project-level steps:
//! profiles, consistency checks, `env_file` / `label_file` folding, service selection and the
//! dropping of unused resources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::de;
use super::error::{LoadError, ProjectError};
use super::loader::{self, Loader, Opts, Source};
use super::node::{Node, Pos, Value};
use super::options::{self, LoadOptions, Resolved};
use super::types::*;

fn read_sources(opts: &LoadOptions, r: &Resolved) -> Result<Vec<Source>, ProjectError> {
    let mut out = Vec::new();
    for f in &r.config_files {
        if f.as_os_str() == "-" {
            let content = match &opts.stdin {
                Some(c) => c.clone(),
                None => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                        ProjectError::Io {
                            path: PathBuf::from("-"),
                            source: e,
                        }
                    })?;
                    s
                }
            };
            // Compose names stdin content after the working folder.
            out.push(Source {
                path: r.working_dir.join("-"),
                content: Some(content),
            });
        } else {
            let content = std::fs::read_to_string(f).map_err(|e| ProjectError::Io {
                path: f.clone(),
                source: e,
            })?;
            out.push(Source {
                path: f.clone(),
                content: Some(content),
            });
        }
    }
    Ok(out)
}

struct Prepared {
    resolved: Resolved,
    sources: Vec<Source>,
    name: String,
    env: BTreeMap<String, String>,
    loader: Loader,
    opts: Opts,
}

fn prepare(opts: &LoadOptions) -> Result<Prepared, ProjectError> {
    let resolved = options::resolve(opts)?;
    let sources = read_sources(opts, &resolved)?;
    let mut loader = Loader::new(
        resolved
            .environment
            .get("HOME")
            .cloned()
            .or_else(|| opts.environment.get("HOME").cloned()),
    );
    // Parse once up front to find a top-level `name:` (and report YAML errors located).
    let mut names: Vec<(String, Pos)> = Vec::new();
    for s in &sources {
        let idx = loader.files.len() as u32;
        loader.files.push(s.path.clone());
        let docs =
            super::yaml::parse_documents(s.content.as_deref().unwrap_or(""), idx).map_err(|e| {
                let pos = if e.pos.is_known() {
                    e.pos
                } else {
                    Pos {
                        file: idx,
                        line: 0,
                        col: 0,
                    }
                };
                LoadError::at(pos, "", e.message)
                    .into_project_error(&loader.files, &opts.working_dir)
            })?;
        for d in &docs {
            if let Some(n) = d.get("name")
                && let Value::Str(s) = &n.v
                && !s.is_empty()
            {
                names.push((s.clone(), n.pos));
            }
        }
        loader.pending.insert(s.path.clone(), (idx, docs));
    }
    let mut env = resolved.environment.clone();
    let mut name = String::new();
    if let Some(n) = &resolved.imperative_name {
        name = n.clone();
    } else {
        if names.is_empty() {
            let dirname = resolved
                .working_dir
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if let Ok(real) = std::fs::canonicalize(&resolved.working_dir)
                && real.file_name().map(|s| s.to_string_lossy().to_string())
                    != Some(dirname.clone())
            {
                super::warn(format!(
                    "project has been loaded without an explicit name from a symlink. Using name {dirname:?}"
                ));
            }
            name = options::normalize_project_name(&dirname);
        }
        if let Some((raw, pos)) = names.last() {
            let mut from_file = raw.clone();
            if !opts.skip_interpolation {
                from_file = super::interpolate::interpolate_str(
                    raw,
                    &super::interpolate::Env { vars: &env },
                    "name",
                    *pos,
                )
                .map_err(|e| e.into_project_error(&loader.files, &opts.working_dir))?;
            }
            let from_file = options::normalize_project_name(&from_file);
            if !from_file.is_empty() {
                name = from_file;
            }
        }
    }
    env.insert("COMPOSE_PROJECT_NAME".into(), name.clone());
    let lopts = Opts {
        skip_validation: false,
        skip_interpolation: opts.skip_interpolation,
        skip_normalization: opts.skip_normalization,
        resolve_paths: !opts.skip_path_resolution,
        skip_extends: false,
        skip_include: false,
        skip_default_values: false,
        local_dir: resolved.working_dir.clone(),
    };
    Ok(Prepared {
        resolved,
        sources,
        name,
        env,
        loader,
        opts: lopts,
    })
}

/// Load the typed project.
pub fn load_project(opts: &LoadOptions) -> Result<Project, ProjectError> {
    let mut p = prepare(opts)?;
    let working_dir = p.resolved.working_dir.display().to_string();
    let dict = loader::load_model(
        &mut p.loader,
        &p.sources,
        &p.opts,
        &working_dir,
        &p.env,
        &p.name,
    )
    .map_err(|e| e.into_project_error(&p.loader.files, &opts.working_dir))?;
    let files = p.loader.files.clone();
    let err = |e: LoadError| e.into_project_error(&files, &opts.working_dir);
    let mut project =
        to_project(&dict, &p.name, &p.resolved.working_dir, p.env.clone()).map_err(err)?;
    let loc = Locator(Some(&dict));
    project.compose_files = p.resolved.config_files.clone();
    project = with_profiles(project, &p.resolved.profiles);
    if !opts.skip_consistency {
        check_consistency(&project, &loc).map_err(err)?;
        // compose-go copies `scale` into `deploy.replicas` while checking.
        for s in project.services.values_mut() {
            if let (Some(scale), Some(d)) = (s.scale, s.deploy.as_mut()) {
                d.replicas = Some(scale);
            }
        }
    }
    if !opts.skip_environment_resolution {
        resolve_services_environment(&mut project, &loc).map_err(err)?;
    }
    resolve_services_labels(&mut project, &loc).map_err(err)?;
    if project.name.is_empty() {
        return Err(ProjectError::invalid(
            "project name can't be empty. Use `--project-name` to set a valid name",
        ));
    }
    // Services named on the command line are enabled with their profiles.
    if !opts.services.is_empty() {
        let mut profiles = project.profiles.clone();
        for n in &opts.services {
            if !project.services.contains_key(n)
                && let Some(s) = project.disabled_services.get(n)
            {
                profiles.extend(s.profiles.iter().cloned());
            }
        }
        project = with_profiles(project, &profiles);
        project = with_selected_services(project, &opts.services)?;
    }
    if !opts.all_resources {
        without_unnecessary_resources(&mut project);
    }
    if !opts.skip_consistency {
        check_container_names(&project, &loc).map_err(err)?;
    }
    drop_later(dict);
    Ok(project)
}

/// Free a large tree on another thread, so the caller goes on (rendering, planning) while
/// the allocator works.
fn drop_later(n: Node) {
    let big = n
        .get("services")
        .and_then(Node::as_map)
        .is_some_and(|m| m.len() > 64);
    if big {
        let _ = std::thread::Builder::new()
            .name("drop-tree".into())
            .spawn(move || drop(n));
    }
}

/// Load the model as a tree (no typed decoding), for `--no-interpolate` / `--no-normalize`.
pub fn load_tree(opts: &LoadOptions) -> Result<serde_json::Value, ProjectError> {
    let mut p = prepare(opts)?;
    let working_dir = p.resolved.working_dir.display().to_string();
    let dict = loader::load_model(
        &mut p.loader,
        &p.sources,
        &p.opts,
        &working_dir,
        &p.env,
        &p.name,
    )
    .map_err(|e| e.into_project_error(&p.loader.files, &opts.working_dir))?;
    Ok(dict.to_json())
}

/// `x-*` keys of a mapping (left in place), sorted.
fn peek_extensions(n: Option<&Node>) -> Extensions {
    let mut ext = Extensions::new();
    if let Some(m) = n.and_then(Node::as_map) {
        for (k, v) in m {
            if k.starts_with("x-") && k != "x-#value" {
                ext.insert(k.clone(), v.to_json_sorted());
            }
        }
    }
    ext.sort_keys();
    ext
}

fn decode_map<T: for<'a> serde::Deserialize<'a> + Default>(
    n: Option<&Node>,
    kind: &str,
    mut post: impl FnMut(&mut T, Extensions, &Node),
) -> Result<IndexMap<String, T>, LoadError> {
    let mut out = IndexMap::new();
    let Some(n) = n else { return Ok(out) };
    let Value::Map(m) = &n.v else { return Ok(out) };
    let mut entries: Vec<(&String, &Node)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in entries {
        let ext = peek_extensions(Some(v));
        let path = format!("{kind}.{k}");
        let mut t: T = if v.is_null() {
            T::default()
        } else {
            de::from_node(v, &path).map_err(de_err)?
        };
        post(&mut t, ext, v);
        out.insert(k.clone(), t);
    }
    Ok(out)
}

fn de_err(e: de::DeError) -> LoadError {
    LoadError::at(e.pos, e.path, e.message)
}

/// Decode the normalized tree.
pub fn to_project(
    dict: &Node,
    name: &str,
    working_dir: &Path,
    environment: BTreeMap<String, String>,
) -> Result<Project, LoadError> {
    let mut project = Project {
        name: name.to_string(),
        working_dir: working_dir.to_path_buf(),
        environment,
        ..Project::default()
    };
    let Some(top) = dict.as_map() else {
        return Ok(project);
    };
    project.extensions = peek_extensions(Some(dict));
    let services = top.get("services");
    project.services = decode_map::<Service>(services, "services", |s, e, node| {
        s.extensions = e;
        // nested extensions (rendered in YAML only); serde skips them
        if let Some(b) = &mut s.build {
            b.extensions = peek_extensions(node.get("build"));
        }
        if let Some(d) = &mut s.deploy {
            d.extensions = peek_extensions(node.get("deploy"));
        }
        if let Some(dev) = &mut s.develop
            && let Some(rules) = node
                .get("develop")
                .and_then(|d| d.get("watch"))
                .and_then(Node::as_seq)
        {
            for (w, n) in dev.watch.iter_mut().zip(rules) {
                w.extensions = peek_extensions(Some(n));
            }
        }
    })?;
    for (name, s) in project.services.iter_mut() {
        s.name = name.clone();
    }
    project.networks =
        decode_map::<Network>(top.get("networks"), "networks", |n, e, _| n.extensions = e)?;
    project.volumes =
        decode_map::<Volume>(top.get("volumes"), "volumes", |n, e, _| n.extensions = e)?;
    project.secrets =
        decode_map::<Secret>(top.get("secrets"), "secrets", |n, e, _| n.extensions = e)?;
    project.configs =
        decode_map::<Config>(top.get("configs"), "configs", |n, e, _| n.extensions = e)?;
    project.models = decode_map::<Model>(top.get("models"), "models", |_, _, _| {})?;
    for (_, s) in project.secrets.iter_mut() {
        // secret content is never rendered
        s.content.clear();
    }
    for (_, c) in project.configs.iter_mut() {
        if !c.environment.is_empty() {
            c.content.clear();
        }
    }
    Ok(project)
}

/// compose-go `WithProfiles`: services without profiles, or with an active one (`*` = all).
pub fn with_profiles(mut p: Project, profiles: &[String]) -> Project {
    let mut all: Vec<(String, Service)> = p
        .services
        .drain(..)
        .chain(p.disabled_services.drain(..))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, s) in all {
        let on = s.profiles.is_empty()
            || profiles
                .iter()
                .any(|pr| pr == "*" || s.profiles.contains(pr));
        if on {
            p.services.insert(name, s);
        } else {
            p.disabled_services.insert(name, s);
        }
    }
    p.profiles = profiles.to_vec();
    p
}

/// Finds source positions in the normalized tree for errors found on the typed model.
pub struct Locator<'a>(pub Option<&'a Node>);

impl Locator<'_> {
    /// Position of the deepest existing node along `path` (keys; `#N` for list indexes).
    pub fn at(&self, path: &[&str]) -> Pos {
        let Some(mut cur) = self.0 else {
            return Pos::NONE;
        };
        let mut best = Pos::NONE;
        for seg in path {
            let next = if let Some(i) = seg.strip_prefix('#') {
                i.parse::<usize>()
                    .ok()
                    .and_then(|i| cur.as_seq().and_then(|s| s.get(i)))
            } else {
                cur.get(seg)
            };
            match next {
                Some(n) => {
                    cur = n;
                    let p = n.entry_pos();
                    if p.is_known() {
                        best = p;
                    }
                }
                None => break,
            }
        }
        best
    }

    /// An error at `path`, shown as `services.web.networks.x`.
    pub fn err(&self, path: &[&str], message: impl Into<String>) -> LoadError {
        let shown = path
            .iter()
            .map(|s| match s.strip_prefix('#') {
                Some(i) => format!("[{i}]"),
                None => format!(".{s}"),
            })
            .collect::<String>();
        LoadError::at(
            self.at(path),
            shown.trim_start_matches('.').to_string(),
            message,
        )
    }

    fn invalid(&self, path: &[&str], message: String) -> LoadError {
        self.err(path, format!("{message}: invalid compose project"))
    }
}

/// compose-go `checkConsistency`; errors are located with `loc`.
pub fn check_consistency(p: &Project, loc: &Locator<'_>) -> Result<(), LoadError> {
    for (name, s) in &p.services {
        let name = name.as_str();
        if s.build.is_none() && s.image.is_empty() && s.provider.is_none() {
            return Err(loc
                .invalid(
                    &["services", name],
                    format!("service {name:?} has neither an image nor a build context specified"),
                )
                .with_hint("add `image:` or `build:` to the service"));
        }
        if let Some(b) = &s.build {
            if !b.dockerfile_inline.is_empty() && !b.dockerfile.is_empty() {
                return Err(loc.invalid(
                    &["services", name, "build", "dockerfile_inline"],
                    format!("service {name:?} declares mutualy exclusive dockerfile and dockerfile_inline"),
                ));
            }
            for (add, c) in &b.additional_contexts {
                if let Some(target) = c.strip_prefix("service:") {
                    let path = [
                        "services",
                        name,
                        "build",
                        "additional_contexts",
                        add.as_str(),
                    ];
                    match p.services.get(target) {
                        None => {
                            return Err(loc.err(
                                &path,
                                format!("service {name:?} declares unknown service {target:?} as additional contexts {add}"),
                            ));
                        }
                        Some(t) if t.build.is_none() => {
                            return Err(loc.err(
                                &path,
                                format!("service {name:?} declares non-buildable service {target:?} as additional contexts {add}"),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            if !b.platforms.is_empty()
                && !s.platform.is_empty()
                && !b.platforms.contains(&s.platform)
            {
                return Err(loc.invalid(
                    &["services", name, "platform"],
                    format!(
                        "service.build.platforms MUST include service.platform {:?}",
                        s.platform
                    ),
                ));
            }
        }
        if !s.network_mode.is_empty() && !s.networks.is_empty() {
            return Err(loc
                .invalid(
                    &["services", name, "networks"],
                    format!(
                        "service {name} declares mutually exclusive `network_mode` and `networks`"
                    ),
                )
                .with_hint("remove either `network_mode` or `networks`"));
        }
        for net in s.networks.keys() {
            if !p.networks.contains_key(net) {
                return Err(loc
                    .invalid(&["services", name, "networks", net], format!("service {name:?} refers to undefined network {net}"))
                    .with_hint(format!("declare it under the top-level `networks:` key, e.g. `networks: {{{net}: {{}}}}`")));
            }
        }
        if let Some(h) = &s.healthcheck
            && let Some(first) = h.test.first()
            && !matches!(first.as_str(), "CMD" | "CMD-SHELL" | "NONE")
        {
            return Err(loc.err(
                &["services", name, "healthcheck", "test"],
                "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\"",
            ));
        }
        for (dep, cfg) in &s.depends_on {
            if !p.services.contains_key(dep) {
                if p.disabled_services.contains_key(dep) && !cfg.required {
                    continue;
                }
                let mut e = loc.invalid(
                    &["services", name, "depends_on", dep],
                    format!("service {name:?} depends on undefined service {dep:?}"),
                );
                if let Some(d) = p.disabled_services.get(dep) {
                    e = e.with_hint(format!(
                        "`{dep}` is only enabled with profile {}: activate it with `--profile`, or mark the dependency `required: false`",
                        d.profiles.iter().map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ")
                    ));
                }
                return Err(e);
            }
        }
        if let Some(target) = s.network_mode.strip_prefix("service:")
            && !p.services.contains_key(target)
        {
            return Err(loc.err(
                &["services", name, "network_mode"],
                format!("service {target:?} not found for network_mode 'service:{target}'"),
            ));
        }
        for (i, v) in s.volumes.iter().enumerate() {
            if v.kind == "volume" && !v.source.is_empty() && !p.volumes.contains_key(&v.source) {
                let idx = format!("#{i}");
                return Err(loc
                    .invalid(&["services", name, "volumes", &idx], format!("service {name:?} refers to undefined volume {}", v.source))
                    .with_hint(format!("declare it under the top-level `volumes:` key, e.g. `volumes: {{{}: {{}}}}`", v.source)));
            }
        }
        if let Some(b) = &s.build {
            for (i, sec) in b.secrets.iter().enumerate() {
                if !p.secrets.contains_key(&sec.source) {
                    let idx = format!("#{i}");
                    return Err(loc.invalid(
                        &["services", name, "build", "secrets", &idx],
                        format!(
                            "service {name:?} refers to undefined build secret {}",
                            sec.source
                        ),
                    ));
                }
            }
        }
        for (i, c) in s.configs.iter().enumerate() {
            if !p.configs.contains_key(&c.source) {
                let idx = format!("#{i}");
                return Err(loc
                    .invalid(
                        &["services", name, "configs", &idx],
                        format!("service {name:?} refers to undefined config {}", c.source),
                    )
                    .with_hint("declare it under the top-level `configs:` key".to_string()));
            }
        }
        for (i, sec) in s.secrets.iter().enumerate() {
            if !p.secrets.contains_key(&sec.source) {
                let idx = format!("#{i}");
                return Err(loc
                    .invalid(
                        &["services", name, "secrets", &idx],
                        format!("service {name:?} refers to undefined secret {}", sec.source),
                    )
                    .with_hint("declare it under the top-level `secrets:` key".to_string()));
            }
        }
        if let (Some(scale), Some(d)) = (s.scale, &s.deploy)
            && let Some(r) = d.replicas
            && r != scale
        {
            return Err(loc.invalid(
                &["services", name, "scale"],
                format!(
                    "services.{name}: can't set distinct values on 'scale' and 'deploy.replicas'"
                ),
            ));
        }
        if let Some(d) = &s.deploy {
            let limits = d.resources.limits.as_ref();
            let reservations = d.resources.reservations.as_ref();
            if s.cpus != 0.0 && limits.is_some_and(|l| l.cpus != s.cpus) {
                return Err(loc.invalid(
                    &["services", name, "cpus"],
                    format!("services.{name}: can't set distinct values on 'cpus' and 'deploy.resources.limits.cpus'"),
                ));
            }
            if s.mem_limit.0 != 0 && limits.is_some_and(|l| l.memory != s.mem_limit) {
                return Err(loc.invalid(
                    &["services", name, "mem_limit"],
                    format!("services.{name}: can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'"),
                ));
            }
            if s.mem_reservation.0 != 0
                && reservations.is_some_and(|l| l.memory != s.mem_reservation)
            {
                return Err(loc.invalid(
                    &["services", name, "mem_reservation"],
                    format!(
                        "services.{name}: can't set distinct values on 'mem_reservation' and 'deploy.resources.reservations.memory'"
                    ),
                ));
            }
            if s.pids_limit != 0 && limits.is_some_and(|l| l.pids != s.pids_limit) {
                return Err(loc.invalid(
                    &["services", name, "pids_limit"],
                    format!("services.{name}: can't set distinct values on 'pids_limit' and 'deploy.resources.limits.pids'"),
                ));
            }
        }
        if s.replicas() > 1 && !s.container_name.is_empty() {
            let attr = if s.scale.is_none() {
                "deploy.replicas"
            } else {
                "scale"
            };
            return Err(loc
                .invalid(
                    &["services", name, "container_name"],
                    format!("services.{attr}: can't set container_name and {name} as container name must be unique"),
                )
                .with_hint("remove `container_name`, or run a single replica"));
        }
        if let Some(dev) = &s.develop {
            for (i, w) in dev.watch.iter().enumerate() {
                if w.target.is_empty() && w.action != "rebuild" && w.action != "restart" {
                    let idx = format!("#{i}");
                    return Err(loc.invalid(
                        &["services", name, "develop", "watch", &idx],
                        format!("services.{name}.develop.watch: target is required for non-rebuild actions"),
                    ));
                }
            }
        }
    }
    for (name, sec) in &p.secrets {
        if sec.external {
            continue;
        }
        if sec.file.is_empty() && sec.environment.is_empty() {
            return Err(loc.invalid(
                &["secrets", name],
                format!("secret {name:?} must declare either `file` or `environment`"),
            ));
        }
    }
    if let Err(crate::graph::GraphError::Cycle(c)) = crate::graph::check_cycle(p) {
        let path: Vec<&str> = if c.len() >= 2 {
            vec!["services", &c[0], "depends_on", &c[1]]
        } else {
            vec!["services"]
        };
        return Err(loc
            .err(&path, format!("dependency cycle detected: {}", c.join(" -> ")))
            .with_hint("remove one of the `depends_on` (or `links`, `volumes_from`, `network_mode: service:`) along the cycle"));
    }
    Ok(())
}

/// compose-go `WithServicesEnvironmentResolved(true)`: unresolved variables take values
/// from the project environment, `env_file`s are folded in (explicit `environment` wins).
pub fn resolve_services_environment(p: &mut Project, loc: &Locator<'_>) -> Result<(), LoadError> {
    let project_env = p.environment.clone();
    for (name, s) in p.services.iter_mut() {
        for (k, v) in s.environment.iter_mut() {
            if v.is_none()
                && let Some(val) = project_env.get(k)
            {
                *v = Some(val.clone());
            }
        }
        let mut environment: indexmap::IndexMap<String, String> = s
            .environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.clone(), v.clone())))
            .collect();
        for (i, ef) in s.env_file.iter().enumerate() {
            let path = Path::new(&ef.path);
            let idx = format!("#{i}");
            let here = ["services", name.as_str(), "env_file", idx.as_str()];
            if !path.exists() {
                if ef.required {
                    return Err(loc
                        .err(
                            &here,
                            format!(
                                "env file {} not found: stat {}: no such file or directory",
                                ef.path, ef.path
                            ),
                        )
                        .with_hint("create the file, or mark it optional with `required: false`"));
                }
                continue;
            }
            let svc_env = s.environment.clone();
            let lookup = |k: &str| -> Option<String> {
                if let Some(v) = project_env.get(k) {
                    return Some(v.clone());
                }
                svc_env.get(k).map(|v| v.clone().unwrap_or_default())
            };
            match ef.format.as_str() {
                "" | ".env" => {
                    super::dotenv::read_file(path, &mut environment, &lookup)
                        .map_err(|e| loc.err(&here, e))?;
                }
                "raw" => {
                    let text =
                        fs_err::read_to_string(path).map_err(|e| LoadError::msg(e.to_string()))?;
                    for line in text.lines() {
                        if line.trim().is_empty() || line.trim_start().starts_with('#') {
                            continue;
                        }
                        match line.split_once('=') {
                            Some((k, v)) => environment.insert(k.to_string(), v.to_string()),
                            None => environment.insert(line.to_string(), String::new()),
                        };
                    }
                }
                other => {
                    return Err(loc.err(&here, format!("unsupported env_file format {other:?}")));
                }
            }
        }
        let mut merged: BTreeMap<String, Option<String>> =
            environment.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for (k, v) in &s.environment {
            merged.insert(k.clone(), v.clone());
        }
        s.environment = merged;
        s.env_file.clear();
        s.env_files_discarded = true;
    }
    Ok(())
}

/// compose-go `WithServicesLabelsResolved(true)`.
pub fn resolve_services_labels(p: &mut Project, loc: &Locator<'_>) -> Result<(), LoadError> {
    for (name, s) in p.services.iter_mut() {
        let mut labels: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
        for (i, lf) in s.label_file.iter().enumerate() {
            let path = Path::new(lf);
            let idx = format!("#{i}");
            let here = ["services", name.as_str(), "label_file", idx.as_str()];
            if !path.exists() {
                return Err(loc.err(
                    &here,
                    format!("label file {lf} not found: stat {lf}: no such file or directory"),
                ));
            }
            let mut vars = indexmap::IndexMap::new();
            let snapshot = labels.clone();
            let lookup = |k: &str| snapshot.get(k).cloned();
            super::dotenv::read_file(path, &mut vars, &lookup).map_err(|e| loc.err(&here, e))?;
            for (k, v) in vars {
                labels.insert(k, v);
            }
        }
        for (k, v) in &s.labels {
            labels.insert(k.clone(), v.clone());
        }
        s.labels = labels.into_iter().collect();
        s.label_file.clear();
    }
    Ok(())
}

/// compose-go `WithSelectedServices`: keep the named services and what they depend on.
pub fn with_selected_services(mut p: Project, names: &[String]) -> Result<Project, ProjectError> {
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<(String, bool)> = names.iter().map(|n| (n.clone(), true)).collect();
    while let Some((n, required)) = stack.pop() {
        if set.contains(&n) {
            continue;
        }
        let Some(s) = p.services.get(&n) else {
            if required {
                return Err(ProjectError::invalid(format!("no such service: {n}")));
            }
            continue;
        };
        set.insert(n.clone());
        for (d, cfg) in &s.depends_on {
            stack.push((d.clone(), cfg.required));
        }
    }
    let all: Vec<String> = p.services.keys().cloned().collect();
    for n in all {
        if !set.contains(&n) {
            if let Some(s) = p.services.shift_remove(&n) {
                p.disabled_services.insert(n.clone(), s);
            }
            for s in p.services.values_mut() {
                s.depends_on.remove(&n);
            }
        }
    }
    Ok(p)
}

/// compose-go `WithoutUnnecessaryResources`.
pub fn without_unnecessary_resources(p: &mut Project) {
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    let mut secs = BTreeSet::new();
    let mut cfgs = BTreeSet::new();
    for s in p.services.values() {
        nets.extend(s.networks.keys().cloned());
        for v in &s.volumes {
            if v.kind == "volume" && !v.source.is_empty() {
                vols.insert(v.source.clone());
            }
        }
        secs.extend(s.secrets.iter().map(|x| x.source.clone()));
        if let Some(b) = &s.build {
            secs.extend(b.secrets.iter().map(|x| x.source.clone()));
        }
        cfgs.extend(s.configs.iter().map(|x| x.source.clone()));
    }
    p.networks.retain(|k, _| nets.contains(k));
    p.volumes.retain(|k, _| vols.contains(k));
    p.secrets.retain(|k, _| secs.contains(k));
    p.configs.retain(|k, _| cfgs.contains(k));
}

/// Two services cannot have the same `container_name`.
pub fn check_container_names(p: &Project, loc: &Locator<'_>) -> Result<(), LoadError> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, s) in &p.services {
        if s.container_name.is_empty() {
            continue;
        }
        if let Some(other) = seen.get(s.container_name.as_str()) {
            return Err(loc
                .err(
                    &["services", name, "container_name"],
                    format!(
                        "container name {:?} is already in use by service {other}",
                        s.container_name
                    ),
                )
                .with_hint(
                    "container names must be unique: change or remove one `container_name`",
                ));
        }
        seen.insert(&s.container_name, name);
    }
    Ok(())
}
