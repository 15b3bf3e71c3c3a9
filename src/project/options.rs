//! From command-line options to what the loader needs, as Docker Compose's `ProjectOptions`:
//! compose file discovery, the project folder, the interpolation environment (process env,
//! `.env`, `--env-file`, `COMPOSE_ENV_FILES`), profiles, and the project name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::ProjectError;
use super::loader::read_env_files;
use super::paths;

/// Compose file names searched in the working directory and its parents, in order.
pub const DEFAULT_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
/// Override files looked for next to the file found.
pub const DEFAULT_OVERRIDE_FILE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// What to load. Everything the loader reads from the outside world is in here, so tests can
/// inject it (the process environment in particular).
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order; `-` is standard input. Empty: discovery (and `COMPOSE_FILE`).
    pub files: Vec<PathBuf>,
    /// Content for `-` (read from the process's stdin when `None`).
    pub stdin: Option<String>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--project-directory`.
    pub project_directory: Option<PathBuf>,
    /// `--profile` (empty: `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// `--env-file` (empty: `COMPOSE_ENV_FILES`, else `.env`).
    pub env_files: Vec<PathBuf>,
    /// The current directory.
    pub working_dir: PathBuf,
    /// The process environment.
    pub environment: BTreeMap<String, String>,
    /// Services named on the command line (their profiles get enabled).
    pub services: Vec<String>,
    pub skip_interpolation: bool,
    pub skip_normalization: bool,
    pub skip_path_resolution: bool,
    pub skip_consistency: bool,
    /// Don't fold `env_file`s into `environment`.
    pub skip_environment_resolution: bool,
    /// Keep networks/volumes/secrets/configs that no service uses (`--all-resources`).
    pub all_resources: bool,
}

impl LoadOptions {
    /// Options for the current process: its environment and directory.
    pub fn from_process() -> std::io::Result<LoadOptions> {
        Ok(LoadOptions {
            working_dir: std::env::current_dir()?,
            environment: std::env::vars().collect(),
            ..LoadOptions::default()
        })
    }
}

/// The resolved inputs of a load.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config_files: Vec<PathBuf>,
    pub working_dir: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
    /// `-p` or `COMPOSE_PROJECT_NAME` (must already be valid).
    pub imperative_name: Option<String>,
}

fn abs(cwd: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        PathBuf::from(paths::clean_unix(&p.display().to_string()))
    } else {
        PathBuf::from(paths::join(
            &cwd.display().to_string(),
            &p.display().to_string(),
        ))
    }
}

/// compose-go `NormalizeProjectName`: lower case, only `[a-z0-9_-]`, no leading `_`/`-`.
pub fn normalize_project_name(s: &str) -> String {
    let lower = s.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

pub fn invalid_project_name(name: &str) -> ProjectError {
    let fixed = normalize_project_name(name);
    ProjectError::Invalid(Box::new(super::error::Invalid {
        location: None,
        path: String::new(),
        message: format!(
            "invalid project name {name:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
        ),
        hint: (!fixed.is_empty()).then(|| format!("try `{fixed}`")),
    }))
}

struct State<'a> {
    opts: &'a LoadOptions,
    config_paths: Vec<PathBuf>,
    working_dir: Option<PathBuf>,
    environment: BTreeMap<String, String>,
    env_files: Vec<PathBuf>,
}

impl State<'_> {
    fn get_working_dir(&self) -> PathBuf {
        if let Some(w) = &self.working_dir {
            return w.clone();
        }
        for p in &self.config_paths {
            if p.as_os_str() != "-" {
                let a = abs(&self.opts.working_dir, p);
                return a.parent().map(Path::to_path_buf).unwrap_or(a);
            }
        }
        self.opts.working_dir.clone()
    }

    fn with_env_files(&mut self, files: &[PathBuf]) -> Result<(), ProjectError> {
        if !files.is_empty() {
            self.env_files = files.to_vec();
            return Ok(());
        }
        if let Some(v) = self.opts.environment.get("COMPOSE_DISABLE_ENV_FILE") {
            match parse_go_bool(v) {
                Some(true) => return Ok(()),
                Some(false) => {}
                None => {
                    return Err(ProjectError::invalid(format!(
                        "strconv.ParseBool: parsing {v:?}: invalid syntax"
                    )));
                }
            }
        }
        let f = self.get_working_dir().join(".env");
        if f.is_file() {
            self.env_files = vec![f];
        }
        Ok(())
    }

    fn with_dot_env(&mut self) -> Result<(), ProjectError> {
        let vars =
            read_env_files(&self.environment, &self.env_files).map_err(ProjectError::invalid)?;
        for (k, v) in vars {
            self.environment.entry(k).or_insert(v);
        }
        Ok(())
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Resolve files, folder, environment, profiles and imperative name.
pub fn resolve(opts: &LoadOptions) -> Result<Resolved, ProjectError> {
    // --env-file defaults to COMPOSE_ENV_FILES (comma separated); relative to the cwd.
    let mut env_files: Vec<PathBuf> = opts.env_files.clone();
    if env_files.is_empty()
        && let Some(v) = opts.environment.get("COMPOSE_ENV_FILES")
    {
        env_files = v
            .split(',')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    let env_files: Vec<PathBuf> = env_files
        .iter()
        .map(|f| abs(&opts.working_dir, f))
        .collect();
    let project_dir = opts
        .project_directory
        .as_ref()
        .map(|d| abs(&opts.working_dir, d));

    // Docker Compose first loads the `.env` of the working folder into its own process
    // environment (variables not already set), ignoring errors.
    let mut process_env = opts.environment.clone();
    {
        let mut pre = State {
            opts,
            config_paths: opts.files.clone(),
            working_dir: project_dir.clone(),
            environment: opts.environment.clone(),
            env_files: Vec::new(),
        };
        if pre.with_env_files(&env_files).is_ok()
            && let Ok(vars) = read_env_files(&opts.environment, &pre.env_files)
        {
            for (k, v) in vars {
                process_env.entry(k).or_insert(v);
            }
        }
        pre.environment.clear();
    }

    let mut st = State {
        opts,
        config_paths: opts.files.clone(),
        working_dir: project_dir,
        environment: process_env,
        env_files: Vec::new(),
    };
    st.with_env_files(&env_files)?;
    st.with_dot_env()?;
    // COMPOSE_FILE
    if st.config_paths.is_empty()
        && let Some(f) = st.environment.get("COMPOSE_FILE").cloned()
    {
        let sep = st
            .environment
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| ":".to_string());
        st.config_paths = f
            .split(sep.as_str())
            .map(|p| abs(&opts.working_dir, Path::new(p)))
            .collect();
    }
    // discovery, from the working folder upwards
    if st.config_paths.is_empty() {
        let mut dir = st.get_working_dir();
        loop {
            let found: Vec<PathBuf> = DEFAULT_FILE_NAMES
                .iter()
                .map(|n| dir.join(n))
                .filter(|p| p.is_file())
                .collect();
            if let Some(winner) = found.first() {
                if found.len() > 1 {
                    super::warn(format!(
                        "Found multiple config files with supported names: {}",
                        found
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    super::warn(format!("Using {}", winner.display()));
                }
                st.config_paths.push(winner.clone());
                let overrides: Vec<PathBuf> = DEFAULT_OVERRIDE_FILE_NAMES
                    .iter()
                    .map(|n| dir.join(n))
                    .filter(|p| p.is_file())
                    .collect();
                if let Some(o) = overrides.first() {
                    if overrides.len() > 1 {
                        super::warn(format!(
                            "Found multiple override files with supported names: {}",
                            overrides
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        super::warn(format!("Using {}", o.display()));
                    }
                    st.config_paths.push(o.clone());
                }
                break;
            }
            match dir.parent() {
                Some(p) if p != dir => dir = p.to_path_buf(),
                _ => break,
            }
        }
    }
    // .env of the project folder (now that it is known)
    st.with_env_files(&env_files)?;
    st.with_dot_env()?;

    let mut profiles = opts.profiles.clone();
    if profiles.is_empty() {
        let p = st
            .environment
            .get("COMPOSE_PROFILES")
            .cloned()
            .unwrap_or_default();
        profiles = p.split(',').map(|s| s.trim().to_string()).collect();
    }

    if let Some(name) = &opts.project_name
        && !name.is_empty()
        && normalize_project_name(name) != *name
    {
        return Err(invalid_project_name(name));
    }

    if st.config_paths.is_empty() {
        return Err(ProjectError::NoConfigFile {
            searched_from: st.get_working_dir(),
        });
    }

    let imperative_name = match &opts.project_name {
        Some(n) if !n.is_empty() => Some(n.clone()),
        _ => st
            .environment
            .get("COMPOSE_PROJECT_NAME")
            .filter(|s| !s.is_empty())
            .cloned(),
    };
    if let Some(n) = &imperative_name
        && normalize_project_name(n) != *n
    {
        return Err(invalid_project_name(n));
    }

    let working_dir = st.get_working_dir();
    let config_files = st
        .config_paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                p.clone()
            } else {
                abs(&opts.working_dir, p)
            }
        })
        .collect();
    Ok(Resolved {
        config_files,
        working_dir,
        environment: st.environment,
        env_files: st.env_files,
        profiles,
        imperative_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_normalize_like_compose() {
        assert_eq!(normalize_project_name("My App.v2"), "myappv2");
        assert_eq!(normalize_project_name("_x-Y"), "x-y");
        assert_eq!(normalize_project_name("été"), "t");
    }
}
