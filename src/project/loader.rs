//! The loading pipeline, stage by stage as compose-go's `loader` package:
//! per file (and per YAML document): parse, `!reset`/`!override`, interpolate, `extends`,
//! `include`, merge into the model, de-duplicate, validate against the schema, canonical
//! syntax; then defaults, extra checks, relative paths, environment; then normalization.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::canonical;
use super::dotenv;
use super::error::LoadError;
use super::interpolate::{self, Env};
use super::merge;
use super::node::{Map, Node, Pos, Tag, Value};
use super::normalize;
use super::paths;
use super::schema;
use super::yaml;

/// What a load skips or does (compose-go `loader.Options`).
#[derive(Clone, Debug)]
pub struct Opts {
    pub skip_validation: bool,
    pub skip_interpolation: bool,
    pub skip_normalization: bool,
    pub resolve_paths: bool,
    pub skip_extends: bool,
    pub skip_include: bool,
    pub skip_default_values: bool,
    /// Folder relative paths in loaded files are resolved against (compose-go's
    /// `localResourceLoader.WorkingDir`).
    pub local_dir: PathBuf,
}

/// A file to load: its path (for messages and relative paths) and content.
pub struct Source {
    pub path: PathBuf,
    pub content: Option<String>,
}

/// Reset paths recorded from `!reset` / `!override` tags of one document.
#[derive(Default, Clone, Debug)]
pub struct Resets {
    paths: Vec<Vec<String>>,
}

impl Resets {
    /// Remove from `target` every value at a recorded path.
    pub fn apply(&self, target: &mut Node) {
        if self.paths.is_empty() {
            return;
        }
        let mut p = Vec::new();
        self.apply_at(target, &mut p);
    }

    fn apply_at(&self, n: &mut Node, p: &mut Vec<String>) {
        if let Value::Map(m) = &mut n.v {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                p.push(k.clone());
                if self.paths.iter().any(|rp| rp == p) {
                    m.shift_remove(&k);
                } else if let Some(child) = m.get_mut(&k) {
                    self.apply_at(child, p);
                }
                p.pop();
            }
        }
        // compose-go never matches sequence items (it records `0`, looks for `[0]`).
    }
}

/// Strip `!reset` nodes from the document and record the paths of `!reset`/`!override`.
fn resolve_resets(n: &mut Node, path: &mut Vec<String>, out: &mut Resets) {
    match &mut n.v {
        Value::Map(m) => {
            if m.values()
                .any(|c| matches!(c.tag, Some(Tag::Reset) | Some(Tag::Override)))
            {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    let tag = m.get(&k).and_then(|c| c.tag);
                    match tag {
                        Some(Tag::Reset) => {
                            path.push(k.clone());
                            out.paths.push(path.clone());
                            path.pop();
                            m.shift_remove(&k);
                        }
                        Some(Tag::Override) => {
                            path.push(k.clone());
                            out.paths.push(path.clone());
                            path.pop();
                        }
                        _ => {}
                    }
                }
            }
            for (k, c) in m.iter_mut() {
                if matches!(c.v, Value::Map(_) | Value::Seq(_)) && c.tag != Some(Tag::Override) {
                    path.push(k.clone());
                    resolve_resets(c, path, out);
                    path.pop();
                }
            }
        }
        Value::Seq(items) => {
            if items
                .iter()
                .any(|c| matches!(c.tag, Some(Tag::Reset) | Some(Tag::Override)))
            {
                let mut idx = 0;
                items.retain_mut(|c| {
                    let keep = match c.tag {
                        Some(Tag::Reset) => {
                            path.push(idx.to_string());
                            out.paths.push(path.clone());
                            path.pop();
                            false
                        }
                        Some(Tag::Override) => {
                            path.push(idx.to_string());
                            out.paths.push(path.clone());
                            path.pop();
                            true
                        }
                        _ => true,
                    };
                    idx += 1;
                    keep
                });
            }
            for (i, c) in items.iter_mut().enumerate() {
                if matches!(c.v, Value::Map(_) | Value::Seq(_)) && c.tag != Some(Tag::Override) {
                    path.push(i.to_string());
                    resolve_resets(c, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// Tracks `extends` chains to report cycles.
#[derive(Clone, Default)]
struct CycleTracker {
    loaded: Vec<(String, String)>,
}

impl CycleTracker {
    fn add(&self, file: &str, service: &str) -> Result<CycleTracker, LoadError> {
        let to_add = (file.to_string(), service.to_string());
        if self.loaded.contains(&to_add) {
            let mut lines = vec![
                "Circular reference:".to_string(),
                format!("  {} in {}", self.loaded[0].1, self.loaded[0].0),
            ];
            for (f, s) in self.loaded[1..].iter().chain(std::iter::once(&to_add)) {
                lines.push(format!("  extends {s} in {f}"));
            }
            return Err(LoadError::msg(lines.join("\n")));
        }
        let mut loaded = self.loaded.clone();
        loaded.push(to_add);
        Ok(CycleTracker { loaded })
    }
}

/// Loader state: the table of files (for positions) and caches.
pub struct Loader {
    pub files: Vec<PathBuf>,
    pub home: Option<String>,
    /// Parsed documents per file, so a file used by many `extends` is parsed once.
    parsed: HashMap<PathBuf, (u32, Vec<Node>)>,
    /// Documents parsed ahead (to find the project name), used once by the load.
    pub pending: HashMap<PathBuf, (u32, Vec<Node>)>,
}

impl Loader {
    pub fn new(home: Option<String>) -> Loader {
        Loader {
            files: Vec::new(),
            home,
            parsed: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    fn file_index(&mut self, p: &Path) -> u32 {
        if let Some(i) = self.files.iter().position(|f| f == p) {
            return i as u32;
        }
        self.files.push(p.to_path_buf());
        (self.files.len() - 1) as u32
    }

    fn parse(&mut self, src: &Source) -> Result<(u32, Vec<Node>), LoadError> {
        if let Some(p) = self.pending.remove(&src.path) {
            return Ok(p);
        }
        if src.content.is_none()
            && let Some(c) = self.parsed.get(&src.path)
        {
            return Ok(c.clone());
        }
        let idx = self.file_index(&src.path);
        let text = match &src.content {
            Some(c) => c.clone(),
            None => match fs_err::read_to_string(&src.path) {
                Ok(t) => t,
                Err(e) => return Err(LoadError::msg(e.to_string())),
            },
        };
        let docs = yaml::parse_documents(&text, idx).map_err(|e| {
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
        })?;
        if src.content.is_none() {
            self.parsed.insert(src.path.clone(), (idx, docs.clone()));
        }
        Ok((idx, docs))
    }

    /// compose-go `loadYamlFile`: load one file into `dict`.
    #[allow(clippy::too_many_arguments)]
    pub fn load_yaml_file(
        &mut self,
        src: &Source,
        opts: &Opts,
        working_dir: &str,
        env: &BTreeMap<String, String>,
        tracker: &CycleTrackerHandle,
        mut dict: Node,
        included: &[PathBuf],
    ) -> Result<(Node, Resets), LoadError> {
        let (idx, docs) = self.parse(src)?;
        let mut last_resets = Resets::default();
        for doc in docs {
            let mut doc = doc;
            let mut resets = Resets::default();
            if yaml::seen_reset_tag() {
                resolve_resets(&mut doc, &mut Vec::new(), &mut resets);
            }
            if !matches!(doc.v, Value::Map(_)) {
                return Err(LoadError::at(
                    if doc.pos.is_known() {
                        doc.pos
                    } else {
                        Pos {
                            file: idx,
                            line: 1,
                            col: 1,
                        }
                    },
                    "",
                    "top-level object must be a mapping",
                ));
            }
            if !opts.skip_interpolation {
                interpolate::interpolate(&mut doc, &Env { vars: env })?;
            }
            if !opts.skip_extends {
                self.apply_extends(&mut doc, src, opts, env, &tracker.0, &[resets.clone()])?;
            }
            resets.apply(&mut dict);
            if !opts.skip_include {
                let mut inc = included.to_vec();
                inc.push(src.path.clone());
                self.apply_include(&mut doc, working_dir, env, opts, &inc, &resets)?;
            }
            dict = merge::merge(dict, doc)?;
            merge::enforce_unicity(&mut dict)?;
            if !opts.skip_validation {
                schema::validate(&dict)?;
                if let Some(m) = dict.as_map_mut()
                    && m.shift_remove("version").is_some()
                {
                    super::warn(format!(
                        "{}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
                        src.path.display()
                    ));
                }
            }
            canonical::canonical(&mut dict, opts.skip_interpolation)?;
            canonical::omit_empty(&mut dict);
            merge::enforce_unicity(&mut dict)?;
            last_resets = resets;
        }
        Ok((dict, last_resets))
    }

    /// compose-go `loadYamlModel`: all files of a project, then defaults, checks, paths and
    /// environment.
    pub fn load_yaml_model(
        &mut self,
        files: &[Source],
        opts: &Opts,
        working_dir: &str,
        env: &BTreeMap<String, String>,
        included: &[PathBuf],
    ) -> Result<Node, LoadError> {
        let mut dict = Node::map(Map::default(), Pos::NONE);
        let tracker = CycleTrackerHandle(CycleTracker::default());
        for f in files {
            let (d, _) =
                self.load_yaml_file(f, opts, working_dir, env, &tracker, dict, included)?;
            dict = d;
        }
        if !opts.skip_default_values {
            canonical::set_defaults(&mut dict);
        }
        if !opts.skip_validation {
            extra_checks(&dict)?;
        }
        if opts.resolve_paths {
            paths::Resolver {
                base: working_dir,
                home: self.home.as_deref(),
            }
            .resolve(&mut dict)?;
        }
        resolve_environment(&mut dict, env);
        Ok(dict)
    }

    fn apply_extends(
        &mut self,
        doc: &mut Node,
        src: &Source,
        opts: &Opts,
        env: &BTreeMap<String, String>,
        tracker: &CycleTracker,
        post: &[Resets],
    ) -> Result<(), LoadError> {
        let Some(services) = doc.get_mut("services") else {
            return Ok(());
        };
        let Value::Map(_) = &services.v else {
            return Err(LoadError::at(services.pos, "services", "must be a mapping"));
        };
        // Only services that extend something change (and, through them, their bases).
        let names: Vec<String> = services
            .as_map()
            .map(|m| {
                m.iter()
                    .filter(|(_, s)| s.get("extends").is_some())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if names.is_empty() {
            return Ok(());
        }
        let filename = src.path.display().to_string();
        for name in names {
            let services = doc
                .get_mut("services")
                .and_then(Node::as_map_mut)
                .expect("services map");
            // The merged service is stored in `services` by the call.
            self.apply_service_extends(
                &name,
                services,
                &filename,
                opts,
                env,
                tracker,
                post.to_vec(),
            )?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_service_extends(
        &mut self,
        name: &str,
        services: &mut Map,
        filename: &str,
        opts: &Opts,
        env: &BTreeMap<String, String>,
        tracker: &CycleTracker,
        mut post: Vec<Resets>,
    ) -> Result<Option<Node>, LoadError> {
        let Some(s) = services.get(name) else {
            return Ok(None);
        };
        if s.is_null() {
            return Ok(None);
        }
        let Value::Map(sm) = &s.v else {
            return Err(LoadError::at(
                s.pos,
                format!("services.{name}"),
                "must be a mapping",
            ));
        };
        let Some(ext) = sm.get("extends") else {
            return Ok(Some(s.clone()));
        };
        let ext_pos = ext.pos;
        let (reference, file) = match &ext.v {
            Value::Str(r) => (r.clone(), None),
            Value::Map(m) => {
                let r = match m.get("service").map(|n| &n.v) {
                    Some(Value::Str(r)) => r.clone(),
                    _ => {
                        return Err(LoadError::at(
                            ext.pos,
                            format!("services.{name}.extends"),
                            "`service` is required",
                        ));
                    }
                };
                let f = match m.get("file").map(|n| &n.v) {
                    Some(Value::Str(f)) => Some(f.clone()),
                    _ => None,
                };
                (r, f)
            }
            _ => {
                return Err(LoadError::at(
                    ext.pos,
                    format!("services.{name}.extends"),
                    "must be a string or a mapping",
                ));
            }
        };
        let service = s.clone();
        let mut file_services: Option<Map> = None;
        let mut filename = filename.to_string();
        if let Some(f) = &file {
            let (svcs, resets) =
                self.extends_base_from_file(name, &reference, &filename, f, opts, env, ext_pos)?;
            post.push(resets);
            file_services = Some(svcs);
            filename = f.clone();
        } else if !services.contains_key(&reference) {
            return Err(LoadError::at(
                ext_pos,
                format!("services.{name}.extends"),
                format!(
                    "cannot extend service {name:?} in {filename}: service {reference:?} not found"
                ),
            ));
        }
        let tracker = tracker
            .add(&filename, name)
            .map_err(|e| LoadError { pos: ext_pos, ..e })?;
        let base = match &mut file_services {
            Some(svcs) => self.apply_service_extends(
                &reference,
                svcs,
                &filename,
                opts,
                env,
                &tracker,
                post.clone(),
            )?,
            None => self.apply_service_extends(
                &reference,
                services,
                &filename,
                opts,
                env,
                &tracker,
                post.clone(),
            )?,
        };
        let Some(base) = base else {
            return Ok(Some(service));
        };
        let mut wrapper = Node::map(Map::default(), Pos::NONE);
        let mut inner = Map::default();
        inner.insert(name.to_string(), base);
        wrapper
            .as_map_mut()
            .expect("map")
            .insert("services".into(), Node::map(inner, Pos::NONE));
        for p in &post {
            p.apply(&mut wrapper);
        }
        let source = wrapper
            .as_map_mut()
            .and_then(|m| m.shift_remove("services"))
            .and_then(|mut s| s.as_map_mut().and_then(|m| m.shift_remove(name)))
            .unwrap_or_else(|| Node::map(Map::default(), Pos::NONE));
        let kpos = service.kpos;
        let mut merged = merge::merge_at(source, service, &["services", "x"])?;
        merged.kpos = kpos;
        if let Some(m) = merged.as_map_mut() {
            m.shift_remove("extends");
        }
        services.insert(name.to_string(), merged.clone());
        Ok(Some(merged))
    }

    #[allow(clippy::too_many_arguments)]
    fn extends_base_from_file(
        &mut self,
        name: &str,
        reference: &str,
        path: &str,
        ref_path: &str,
        opts: &Opts,
        env: &BTreeMap<String, String>,
        pos: Pos,
    ) -> Result<(Map, Resets), LoadError> {
        let local_dir = opts.local_dir.display().to_string();
        let local = if ref_path.starts_with('/') {
            ref_path.to_string()
        } else {
            paths::join(&local_dir, ref_path)
        };
        let rel_working_dir = paths::rel_dir(&opts.local_dir, ref_path);
        let ext_opts = Opts {
            skip_validation: true,
            skip_interpolation: opts.skip_interpolation,
            skip_normalization: true,
            resolve_paths: false,
            skip_extends: true,
            skip_include: true,
            skip_default_values: true,
            local_dir: Path::new(&local)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        };
        let local_path = PathBuf::from(&local);
        if !local_path.exists() {
            return Err(LoadError::at(
                pos,
                format!("services.{name}.extends.file"),
                format!("cannot read {local}: no such file"),
            ));
        }
        let src = Source {
            path: local_path,
            content: None,
        };
        let tracker = CycleTrackerHandle(CycleTracker::default());
        let (mut source, resets) = self.load_yaml_file(
            &src,
            &ext_opts,
            &rel_working_dir,
            env,
            &tracker,
            Node::map(Map::default(), Pos::NONE),
            &[],
        )?;
        paths::Resolver {
            base: &rel_working_dir,
            home: self.home.as_deref(),
        }
        .resolve(&mut source)?;
        let services = match source.as_map_mut().and_then(|m| m.shift_remove("services")) {
            Some(s) => s,
            None => {
                return Err(LoadError::at(
                    pos,
                    format!("services.{name}.extends"),
                    format!("cannot extend service {name:?} in {local}: no services section"),
                ));
            }
        };
        let Value::Map(services) = services.v else {
            return Err(LoadError::at(
                pos,
                format!("services.{name}.extends"),
                format!("cannot extend service {name:?} in {local}: services must be a mapping"),
            ));
        };
        if !services.contains_key(reference) {
            return Err(LoadError::at(
                pos,
                format!("services.{name}.extends"),
                format!(
                    "cannot extend service {name:?} in {path}: service {reference:?} not found in {ref_path}"
                ),
            ));
        }
        Ok((services, resets))
    }

    fn apply_include(
        &mut self,
        doc: &mut Node,
        working_dir: &str,
        env: &BTreeMap<String, String>,
        opts: &Opts,
        included: &[PathBuf],
        resets: &Resets,
    ) -> Result<(), LoadError> {
        let Some(m) = doc.as_map_mut() else {
            return Ok(());
        };
        let Some(inc) = m.shift_remove("include") else {
            return Ok(());
        };
        if inc.is_null() {
            return Ok(());
        }
        let Value::Seq(items) = inc.v else {
            return Err(LoadError::at(
                inc.pos,
                "include",
                "`include` must be a list",
            ));
        };
        for (i, item) in items.into_iter().enumerate() {
            let ipath = format!("include[{i}]");
            let ipos = item.pos;
            let (mut paths_list, mut project_directory, mut env_files) =
                (Vec::new(), String::new(), Vec::new());
            match &item.v {
                Value::Str(s) => paths_list.push(s.clone()),
                Value::Map(im) => {
                    match im.get("path").map(|n| &n.v) {
                        Some(Value::Str(s)) => paths_list.push(s.clone()),
                        Some(Value::Seq(l)) => paths_list.extend(l.iter().map(Node::go_string)),
                        _ => {}
                    }
                    if let Some(Value::Str(s)) = im.get("project_directory").map(|n| &n.v) {
                        project_directory = s.clone();
                    }
                    match im.get("env_file").map(|n| &n.v) {
                        Some(Value::Str(s)) => env_files.push(s.clone()),
                        Some(Value::Seq(l)) => env_files.extend(l.iter().map(Node::go_string)),
                        _ => {}
                    }
                }
                _ => return Err(LoadError::at(ipos, ipath, "must be a string or a mapping")),
            }
            let local_dir = opts.local_dir.display().to_string();
            let mut rel_working_dir = String::new();
            let mut abs_paths = Vec::new();
            for (pi, p) in paths_list.iter().enumerate() {
                let p = paths::expand_user(p, self.home.as_deref());
                let abs = if p.starts_with('/') {
                    p.clone()
                } else {
                    paths::join(&local_dir, &p)
                };
                if pi == 0 {
                    if project_directory.is_empty() {
                        rel_working_dir = paths::rel_dir(&opts.local_dir, &abs);
                        project_directory = Path::new(&abs)
                            .parent()
                            .map(|x| x.display().to_string())
                            .unwrap_or_default();
                    } else if !project_directory.starts_with('/') {
                        rel_working_dir = paths::rel_dir(&opts.local_dir, &project_directory);
                        project_directory = paths::join(working_dir, &project_directory);
                        if !project_directory.starts_with('/') {
                            project_directory = paths::join(&local_dir, &project_directory);
                        }
                    } else {
                        rel_working_dir = project_directory.clone();
                    }
                    if included.iter().any(|f| f == Path::new(&abs)) {
                        let mut chain: Vec<String> =
                            included.iter().map(|p| p.display().to_string()).collect();
                        chain.push(abs.clone());
                        return Err(LoadError::at(
                            ipos,
                            ipath,
                            format!(
                                "include cycle detected:\n{}\n include {}",
                                chain[0],
                                chain[1..].join("\n include ")
                            ),
                        ));
                    }
                }
                abs_paths.push(abs);
            }
            // env files of the included project
            let mut files: Vec<PathBuf> = Vec::new();
            if env_files.is_empty() {
                let f = Path::new(&project_directory).join(".env");
                if f.is_file() {
                    files.push(f);
                }
            } else {
                for f in env_files {
                    if f == "/dev/null" {
                        continue;
                    }
                    let mut fp = f.clone();
                    if !fp.starts_with('/') {
                        fp = paths::join(working_dir, &fp);
                        if !fp.starts_with('/') {
                            fp = paths::join(&local_dir, &fp);
                        }
                        match std::fs::metadata(&fp) {
                            Err(e) => {
                                return Err(LoadError::at(
                                    ipos,
                                    ipath,
                                    format!("stat {fp}: {}", io_msg(&e)),
                                ));
                            }
                            Ok(md) if md.is_dir() => {
                                return Err(LoadError::at(
                                    ipos,
                                    ipath,
                                    format!("{fp} is not a file"),
                                ));
                            }
                            _ => {}
                        }
                    }
                    files.push(PathBuf::from(fp));
                }
            }
            let from_files =
                read_env_files(env, &files).map_err(|e| LoadError::at(ipos, ipath.clone(), e))?;
            let mut inc_env = env.clone();
            for (k, v) in from_files {
                inc_env.entry(k).or_insert(v);
            }
            let inc_opts = Opts {
                resolve_paths: true,
                skip_normalization: true,
                local_dir: PathBuf::from(&project_directory),
                ..opts.clone()
            };
            let sources: Vec<Source> = abs_paths
                .iter()
                .map(|p| Source {
                    path: PathBuf::from(p),
                    content: None,
                })
                .collect();
            for s in &sources {
                if !s.path.exists() {
                    return Err(LoadError::at(
                        ipos,
                        ipath,
                        format!("open {}: no such file or directory", s.path.display()),
                    ));
                }
            }
            let imported =
                self.load_yaml_model(&sources, &inc_opts, &rel_working_dir, &inc_env, included)?;
            import_resources(imported, doc, resets)?;
        }
        Ok(())
    }
}

fn io_msg(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// Wrapper to keep the tracker type private.
pub struct CycleTrackerHandle(CycleTracker);

fn import_resources(imported: Node, target: &mut Node, _resets: &Resets) -> Result<(), LoadError> {
    let Value::Map(mut src) = imported.v else {
        return Ok(());
    };
    let Some(tm) = target.as_map_mut() else {
        return Ok(());
    };
    for key in [
        "services", "volumes", "networks", "secrets", "configs", "models",
    ] {
        let Some(from) = src.shift_remove(key) else {
            continue;
        };
        let Value::Map(from) = from.v else { continue };
        let entry = tm
            .entry(key.to_string())
            .or_insert_with(|| Node::map(Map::default(), from_pos(&from)));
        if entry.is_null() {
            entry.v = Value::Map(Map::default());
        }
        let Some(to) = entry.as_map_mut() else {
            continue;
        };
        for (name, a) in from {
            match to.shift_remove(&name) {
                None => {
                    to.insert(name, a);
                }
                Some(conflict) => {
                    // Compose v2.40 (compose-go v2.9): an included resource may only be
                    // redefined identically.
                    if !super::node::same_value(&a, &conflict) {
                        return Err(LoadError::at(
                            conflict.entry_pos(),
                            format!("{key}.{name}"),
                            "conflicts with imported resource",
                        )
                        .with_hint(format!(
                            "`{name}` is also defined by an included file; rename one of them"
                        )));
                    }
                    to.insert(name, conflict);
                }
            }
        }
    }
    Ok(())
}

fn from_pos(m: &Map) -> Pos {
    m.values().next().map(|n| n.pos).unwrap_or_default()
}

/// compose-go `ResolveEnvironment`: `environment` list entries without `=` take their value
/// from the environment when set.
fn resolve_environment(dict: &mut Node, env: &BTreeMap<String, String>) {
    if let Some(services) = dict.get_mut("services").and_then(Node::as_map_mut) {
        for (_, svc) in services.iter_mut() {
            let Some(list) = svc.get_mut("environment").and_then(Node::as_seq_mut) else {
                continue;
            };
            let old = std::mem::take(list);
            for it in old {
                let Value::Str(s) = &it.v else { continue };
                match env.get(s) {
                    Some(v) => list.push(Node::str(format!("{s}={v}"), it.pos)),
                    None => list.push(it),
                }
            }
        }
    }
    for kind in ["secrets", "configs"] {
        if let Some(m) = dict.get_mut(kind).and_then(Node::as_map_mut) {
            for (_, r) in m.iter_mut() {
                let Some(var) = r.get_str("environment").map(str::to_string) else {
                    continue;
                };
                if let Some(val) = env.get(&var)
                    && let Some(rm) = r.as_map_mut()
                {
                    let key = if kind == "configs" {
                        "content"
                    } else {
                        "x-#value"
                    };
                    rm.insert(key.into(), Node::str(val.clone(), Pos::NONE));
                }
            }
        }
    }
}

/// compose-go `validation.Validate`: checks the schema cannot express.
fn extra_checks(dict: &Node) -> Result<(), LoadError> {
    let Some(top) = dict.as_map() else {
        return Ok(());
    };
    if let Some(vols) = top.get("volumes").and_then(Node::as_map) {
        for (name, v) in vols {
            let Some(m) = v.as_map() else { continue };
            if let Some(ext) = m.get("external")
                && ext.v == Value::Bool(true)
            {
                for k in m.keys() {
                    if k == "name" || k == "external" || k.starts_with("x-") {
                        continue;
                    }
                    return Err(LoadError::at(
                        m[k].entry_pos(),
                        format!("volumes.{name}"),
                        format!("conflicting parameters \"external\" and {k:?} specified"),
                    ));
                }
            }
        }
    }
    for (kind, keys) in [
        ("configs", &["file", "environment", "content"][..]),
        ("secrets", &["file", "environment"][..]),
    ] {
        if let Some(objs) = top.get(kind).and_then(Node::as_map) {
            for (name, o) in objs {
                let Some(m) = o.as_map() else { continue };
                let count = keys.iter().filter(|k| m.contains_key(**k)).count();
                if count > 1 {
                    return Err(LoadError::at(
                        o.entry_pos(),
                        format!("{kind}.{name}"),
                        format!("{} attributes are mutually exclusive", keys.join("|")),
                    ));
                }
                if count == 0 && !m.contains_key("driver") && !m.contains_key("external") {
                    return Err(LoadError::at(
                        o.entry_pos(),
                        format!("{kind}.{name}"),
                        format!("one of {} must be set", keys.join("|")),
                    ));
                }
            }
        }
    }
    if let Some(services) = top.get("services").and_then(Node::as_map) {
        for (name, s) in services {
            if let Some(watch) = s
                .get("develop")
                .and_then(|d| d.get("watch"))
                .and_then(Node::as_seq)
            {
                for (i, w) in watch.iter().enumerate() {
                    if let Some(p) = w.get("path")
                        && p.as_str() == Some("")
                    {
                        return Err(LoadError::at(
                            p.pos,
                            format!("services.{name}.develop.watch[{i}].path"),
                            "value can't be blank",
                        ));
                    }
                }
            }
            let check = |items: Option<&Vec<Node>>, field: &str| -> Result<(), LoadError> {
                for (i, d) in items.into_iter().flatten().enumerate() {
                    if let Some(m) = d.as_map()
                        && m.contains_key("count")
                        && m.contains_key("device_ids")
                    {
                        return Err(LoadError::at(
                            d.pos,
                            format!("services.{name}.{field}[{i}]"),
                            "\"count\" and \"device_ids\" attributes are exclusive",
                        ));
                    }
                }
                Ok(())
            };
            check(s.get("gpus").and_then(Node::as_seq), "gpus")?;
            check(
                s.get("deploy")
                    .and_then(|d| d.get("resources"))
                    .and_then(|r| r.get("reservations"))
                    .and_then(|r| r.get("devices"))
                    .and_then(Node::as_seq),
                "deploy.resources.reservations.devices",
            )?;
        }
    }
    Ok(())
}

/// Read env files in order (later win), each interpolated with `current` then the variables
/// read so far (compose-go `dotenv.GetEnvFromFile`).
pub fn read_env_files(
    current: &BTreeMap<String, String>,
    files: &[PathBuf],
) -> Result<BTreeMap<String, String>, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for f in files {
        let md = match std::fs::metadata(f) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("couldn't find env file: {}", f.display()));
            }
            Err(e) => return Err(format!("{}: {e}", f.display())),
        };
        if md.is_dir() {
            return Err(format!("{} is a directory", f.display()));
        }
        let mut vars = indexmap::IndexMap::new();
        let lookup = |k: &str| current.get(k).cloned().or_else(|| out.get(k).cloned());
        dotenv::read_file(f, &mut vars, &lookup)?;
        for (k, v) in vars {
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// compose-go `load`: the whole model of a project, normalized.
pub fn load_model(
    loader: &mut Loader,
    files: &[Source],
    opts: &Opts,
    working_dir: &str,
    env: &BTreeMap<String, String>,
    project_name: &str,
) -> Result<Node, LoadError> {
    let mut dict = loader.load_yaml_model(files, opts, working_dir, env, &[])?;
    if dict.as_map().is_none_or(|m| m.is_empty()) {
        return Err(LoadError::msg("empty compose file")
            .with_hint("define at least one service under `services:`"));
    }
    if !opts.skip_validation && project_name.is_empty() {
        return Err(LoadError::msg("project name must not be empty")
            .with_hint("set one with `-p`, `COMPOSE_PROJECT_NAME` or a top-level `name:`"));
    }
    if !opts.skip_normalization {
        dict.as_map_mut()
            .expect("map")
            .insert("name".into(), Node::str(project_name, Pos::NONE));
        normalize::normalize(&mut dict, env);
    }
    Ok(dict)
}
