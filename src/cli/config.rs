//! `rcompose config`: parse, resolve and render the Compose model, as `docker compose config`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use clap::Args;

use super::{CliError, GlobalArgs, UserError};
use crate::project::{self, LoadOptions, Project, render};

#[derive(Debug, Args, Default)]
pub struct ConfigArgs {
    /// Services to render (and what they depend on)
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// Format the output. Values: [yaml | json]
    #[arg(long, value_parser = ["yaml", "json"])]
    pub format: Option<String>,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
    /// Print the service names, one per line
    #[arg(long = "services", id = "list_services")]
    pub services_only: bool,
    /// Print the volume names, one per line
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line
    #[arg(long)]
    pub networks: bool,
    /// Print the profile names, one per line
    #[arg(long)]
    pub profiles: bool,
    /// Print the image names, one per line
    #[arg(long)]
    pub images: bool,
    /// Print the model names, one per line
    #[arg(long)]
    pub models: bool,
    /// Print the service config hash, one per line (`*` for all services)
    #[arg(long, value_name = "SERVICES")]
    pub hash: Option<String>,
    /// Print model variables and default values
    #[arg(long)]
    pub variables: bool,
    /// Print environment used for interpolation
    #[arg(long)]
    pub environment: bool,
    /// Don't interpolate environment variables
    #[arg(long)]
    pub no_interpolate: bool,
    /// Don't normalize compose model
    #[arg(long)]
    pub no_normalize: bool,
    /// Don't resolve file paths
    #[arg(long)]
    pub no_path_resolution: bool,
    /// Don't check model consistency - warning: may produce invalid Compose output
    #[arg(long)]
    pub no_consistency: bool,
    /// Don't resolve service env files
    #[arg(long)]
    pub no_env_resolution: bool,
    /// Save to file (default to stdout)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Pin image tags to digests (needs a registry)
    #[arg(long)]
    pub resolve_image_digests: bool,
    /// Produces an override file with image digests (needs a registry)
    #[arg(long)]
    pub lock_image_digests: bool,
}

/// Load options from the global flags and the process (environment, current directory).
pub fn load_options(global: &GlobalArgs) -> Result<LoadOptions, CliError> {
    let mut opts = LoadOptions::from_process()?;
    opts.files = global.file.clone();
    opts.project_name = global.project_name.clone();
    opts.project_directory = global.project_directory.clone();
    opts.profiles = global.profile.clone();
    opts.env_files = global.env_file.clone();
    opts.all_resources = global.all_resources;
    Ok(opts)
}

/// A project error as the user sees it (message, `hint:`), exit 1 as Compose.
pub fn user_error(e: project::ProjectError) -> CliError {
    let msg = match &e {
        project::ProjectError::Io { path, source } => {
            if source.kind() == std::io::ErrorKind::NotFound {
                format!("open {}: no such file or directory", path.display())
            } else {
                format!("{e}: {source}")
            }
        }
        _ => e.to_string(),
    };
    let mut u = UserError::new(msg);
    if let Some(h) = e.hint() {
        u = u.hint(h);
    }
    CliError::User(u)
}

/// Print warnings recorded while loading, as Compose's logrus lines.
pub fn print_warnings() {
    let warnings = project::take_warnings();
    if warnings.is_empty() {
        return;
    }
    use std::io::IsTerminal;
    let tty = std::io::stderr().is_terminal();
    let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut err = std::io::stderr().lock();
    for w in warnings {
        let _ = if tty {
            if color {
                writeln!(err, "\x1b[33mWARN\x1b[0m[0000] {w}")
            } else {
                writeln!(err, "WARN[0000] {w}")
            }
        } else {
            writeln!(err, "level=warning msg={}", go_quote(&w))
        };
    }
}

fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Load the project for a command, printing warnings either way.
pub fn load_project(opts: &LoadOptions) -> Result<Project, CliError> {
    let r = project::load(opts);
    print_warnings();
    r.map_err(user_error)
}

pub fn run(global: &GlobalArgs, args: ConfigArgs) -> Result<i32, CliError> {
    let mut opts = load_options(global)?;
    opts.services = args.services.clone();
    opts.skip_interpolation = args.no_interpolate;
    opts.skip_normalization = args.no_normalize || global.compatibility;
    opts.skip_path_resolution = args.no_path_resolution;
    opts.skip_consistency = args.no_consistency;
    opts.skip_environment_resolution = args.no_env_resolution;

    if args.resolve_image_digests || args.lock_image_digests {
        return Err(UserError::new("resolving image digests needs a registry; `--resolve-image-digests` is not supported yet")
            .hint("run `rcompose config` without `--resolve-image-digests`")
            .into());
    }

    let format = args.format.clone().unwrap_or_else(|| "yaml".into());

    if args.variables {
        opts.skip_interpolation = true;
        opts.skip_environment_resolution = true;
        let tree = project::load_tree(&opts);
        print_warnings();
        let tree = tree.map_err(user_error)?;
        let mut vars = BTreeMap::new();
        collect_variables(&tree, &mut vars);
        return emit(&args, &render_variables(&vars, args.format.as_deref()));
    }

    if args.services_only {
        opts.skip_environment_resolution = true;
        let p = load_project(&opts)?;
        let mut out = String::new();
        for name in services_in_dependency_order(&p) {
            out.push_str(&name);
            out.push('\n');
        }
        return emit(&args, &out);
    }
    if args.volumes || args.networks || args.models {
        opts.skip_environment_resolution = true;
        let p = load_project(&opts)?;
        let mut names: Vec<&String> = if args.volumes {
            p.volumes.keys().collect()
        } else if args.networks {
            p.networks.keys().collect()
        } else {
            p.models.keys().collect()
        };
        names.sort();
        let out: String = names.iter().map(|n| format!("{n}\n")).collect();
        return emit(&args, &out);
    }
    if let Some(h) = &args.hash {
        opts.skip_environment_resolution = true;
        let p = load_project(&opts)?;
        let mut names: Vec<String> = if h == "*" {
            p.service_names()
        } else {
            h.split(',').map(str::to_string).collect()
        };
        names.sort();
        let mut out = String::new();
        for n in names {
            let Some(s) = p.services.get(&n) else {
                return Err(UserError::new(format!("no such service: {n}")).into());
            };
            out.push_str(&format!("{n} {}\n", project::hash::hash_service(s)));
        }
        return emit(&args, &out);
    }
    if args.profiles {
        opts.skip_environment_resolution = true;
        let p = load_project(&opts)?;
        let set: BTreeSet<&String> = p
            .services
            .values()
            .chain(p.disabled_services.values())
            .flat_map(|s| s.profiles.iter())
            .collect();
        let out: String = set.iter().map(|n| format!("{n}\n")).collect();
        return emit(&args, &out);
    }
    if args.images {
        opts.skip_environment_resolution = true;
        let p = load_project(&opts)?;
        let mut out = String::new();
        for (name, s) in &p.services {
            let img = if s.image.is_empty() {
                format!("{}-{}", p.name, name)
            } else {
                s.image.clone()
            };
            out.push_str(&img);
            out.push('\n');
        }
        return emit(&args, &out);
    }
    if args.environment {
        let p = load_project(&opts)?;
        let out: String = p
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        return emit(&args, &out);
    }

    let content = if args.no_interpolate || args.no_normalize || global.compatibility {
        let tree = project::load_tree(&opts);
        print_warnings();
        let tree = tree.map_err(user_error)?;
        if format == "json" {
            render::pretty_json(&sorted(&tree))
        } else {
            render::to_yaml(&sorted(&tree))
        }
    } else {
        let p = load_project(&opts)?;
        let c = if format == "json" {
            render::project_json(&p)
        } else {
            render::project_yaml(&p)
        };
        // The process ends right after printing: skip freeing the model.
        std::mem::forget(p);
        render::escape_dollars(&c)
    };
    if args.quiet {
        return Ok(0);
    }
    emit(&args, &content)
}

fn emit(args: &ConfigArgs, content: &str) -> Result<i32, CliError> {
    if args.quiet {
        return Ok(0);
    }
    if let Some(path) = &args.output {
        if !content.is_empty() {
            fs_err::write(path, content)?;
        }
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(content.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// Maps sorted by key (Go marshals maps sorted).
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// As `ForEachService(ServiceNames())`: every service after its dependencies.
fn services_in_dependency_order(p: &Project) -> Vec<String> {
    fn visit(p: &Project, name: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
        if !seen.insert(name.to_string()) {
            return;
        }
        if let Some(s) = p.services.get(name) {
            for d in s.depends_on.keys() {
                visit(p, d, seen, out);
            }
            out.push(name.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for n in p.service_names() {
        visit(p, &n, &mut seen, &mut out);
    }
    out
}

fn collect_variables(
    v: &serde_json::Value,
    out: &mut BTreeMap<String, project::template::Variable>,
) {
    match v {
        serde_json::Value::String(s) => project::template::extract_variables(s, out),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_variables(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_variables(x, out)),
        _ => {}
    }
}

fn render_variables(
    vars: &BTreeMap<String, project::template::Variable>,
    format: Option<&str>,
) -> String {
    match format {
        Some("json") => {
            let v = serde_json::to_value(vars).unwrap_or_default();
            render::compact_json(&v) + "\n"
        }
        Some("yaml") => {
            let v: serde_json::Value = vars
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::json!({
                            "name": v.name, "defaultvalue": v.default_value,
                            "presencevalue": v.presence_value, "required": v.required
                        }),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into();
            render::to_yaml(&v)
        }
        _ => {
            let mut rows = vec![[
                "NAME".to_string(),
                "REQUIRED".to_string(),
                "DEFAULT VALUE".to_string(),
                "ALTERNATE VALUE".to_string(),
            ]];
            for v in vars.values() {
                rows.push([
                    v.name.clone(),
                    v.required.to_string(),
                    v.default_value.clone(),
                    v.presence_value.clone(),
                ]);
            }
            let widths: Vec<usize> = (0..4)
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
                .collect();
            let mut out = String::new();
            for r in rows {
                let line: Vec<String> = (0..4)
                    .map(|i| format!("{:w$}", r[i], w = widths[i]))
                    .collect();
                out.push_str(line.join("   ").trim_end());
                out.push('\n');
            }
            out
        }
    }
}
