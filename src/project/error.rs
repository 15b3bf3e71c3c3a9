//! Errors of the Compose model. Every user-facing error names the file, line and column when
//! the problem comes from a compose file, the field path, and a hint where one helps:
//! `compose.yaml:12:7: services.web.ports[0]: invalid port "80800:80"`.

use std::fmt;
use std::path::PathBuf;

use super::node::Pos;

/// A source location, resolved to a file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Absolute path of the file.
    pub file: PathBuf,
    /// The file as shown to the user (relative to the working directory when below it).
    pub shown: String,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.shown, self.line, self.col)
    }
}

/// Show a path relative to `cwd` when it is below it.
pub fn relative_to(p: &std::path::Path, cwd: &std::path::Path) -> String {
    if let Ok(rel) = p.strip_prefix(cwd)
        && !rel.as_os_str().is_empty()
    {
        return rel.display().to_string();
    }
    p.display().to_string()
}

fn display_path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Errors from loading a Compose project.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The model is invalid: bad syntax, schema violation, failed reference...
    #[error("{0}")]
    Invalid(Box<Invalid>),
    /// No compose file was given and none was found.
    #[error("no configuration file provided: not found")]
    NoConfigFile { searched_from: PathBuf },
    /// A file could not be read.
    #[error("cannot read `{}`", display_path(path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Details of an invalid model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub location: Option<Location>,
    /// Field path, e.g. `services.web.ports[0]` (may be empty).
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(self.location.as_ref(), &self.path, &self.message))
    }
}

fn render(location: Option<&Location>, path: &str, message: &str) -> String {
    let mut s = String::new();
    if let Some(l) = location {
        s.push_str(&l.to_string());
        s.push_str(": ");
    }
    if !path.is_empty() {
        s.push_str(path);
        s.push_str(": ");
    }
    s.push_str(message);
    s
}

impl ProjectError {
    pub fn invalid(message: impl Into<String>) -> ProjectError {
        ProjectError::Invalid(Box::new(Invalid {
            location: None,
            path: String::new(),
            message: message.into(),
            hint: None,
        }))
    }
    pub fn hint(&self) -> Option<&str> {
        match self {
            ProjectError::Invalid(i) => i.hint.as_deref(),
            ProjectError::NoConfigFile { .. } => Some(
                "run in a folder with a `compose.yaml` (or a parent of it), or name the file with `-f`",
            ),
            ProjectError::Io { .. } => None,
        }
    }
    pub fn location(&self) -> Option<&Location> {
        match self {
            ProjectError::Invalid(i) => i.location.as_ref(),
            _ => None,
        }
    }
}

/// Loader-internal error: a position in the file table instead of a path.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl LoadError {
    pub fn at(pos: Pos, path: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError {
            pos,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }
    pub fn msg(message: impl Into<String>) -> LoadError {
        LoadError::at(Pos::NONE, "", message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> LoadError {
        self.hint = Some(hint.into());
        self
    }
    /// Resolve the position against the loader's file table.
    pub fn into_project_error(self, files: &[PathBuf], cwd: &std::path::Path) -> ProjectError {
        let location = if self.pos.is_known() {
            files.get(self.pos.file as usize).map(|f| Location {
                file: f.clone(),
                shown: relative_to(f, cwd),
                line: self.pos.line,
                col: self.pos.col,
            })
        } else {
            None
        };
        ProjectError::Invalid(Box::new(Invalid {
            location,
            path: self.path,
            message: self.message,
            hint: self.hint,
        }))
    }
}
