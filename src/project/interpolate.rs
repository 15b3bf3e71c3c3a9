//! Interpolation of a whole tree: every string value (never a key) goes through
//! [`template::substitute`]; values of typed fields are then cast (`"true"` -> `true`,
//! `"3"` -> `3`) as compose-go's `interpolateTypeCastMapping` does.

use std::collections::BTreeMap;

use super::error::LoadError;
use super::node::{Node, Value};
use super::template::{self, Lookup, TemplateError};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cast {
    Int,
    Float,
    Float32,
    Bool,
}

/// The variable environment used for interpolation.
pub struct Env<'a> {
    pub vars: &'a BTreeMap<String, String>,
}

impl Lookup for Env<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn unset(&self, name: &str) {
        super::warn(format!(
            "The {name:?} variable is not set. Defaulting to a blank string."
        ));
    }
}

fn cast_for(p: &[&str]) -> Option<Cast> {
    use Cast::*;
    match p {
        ["services", _, rest @ ..] => match rest {
            [
                "cpu_count" | "cpu_period" | "cpu_quota" | "cpu_rt_period" | "cpu_rt_runtime"
                | "cpu_shares" | "oom_score_adj" | "pids_limit" | "scale",
            ] => Some(Int),
            ["cpu_percent"] => Some(Float),
            ["cpus"] => Some(Float32),
            ["init" | "oom_kill_disable" | "privileged" | "read_only" | "stdin_open" | "tty"] => {
                Some(Bool)
            }
            ["deploy", "replicas"] => Some(Int),
            ["deploy", "update_config" | "rollback_config", "parallelism"] => Some(Int),
            [
                "deploy",
                "update_config" | "rollback_config",
                "max_failure_ratio",
            ] => Some(Float),
            ["deploy", "restart_policy", "max_attempts"] => Some(Int),
            ["deploy", "placement", "max_replicas_per_node"] => Some(Int),
            ["healthcheck", "retries"] => Some(Int),
            ["healthcheck", "disable"] => Some(Bool),
            ["ports", "[]", "target"] => Some(Int),
            ["ulimits", _] | ["ulimits", _, "hard" | "soft"] => Some(Int),
            ["volumes", "[]", "read_only"] | ["volumes", "[]", "volume", "nocopy"] => Some(Bool),
            _ => None,
        },
        [
            "networks",
            _,
            "external" | "internal" | "attachable" | "enable_ipv4" | "enable_ipv6",
        ] => Some(Bool),
        ["volumes" | "secrets" | "configs", _, "external"] => Some(Bool),
        _ => None,
    }
}

/// Display form of a cast path (`[]` items shown as such, like compose-go).
fn display(path: &[String]) -> String {
    let mut s = String::new();
    for (i, p) in path.iter().enumerate() {
        if p.starts_with('[') {
            s.push_str(p);
        } else {
            if i > 0 {
                s.push('.');
            }
            s.push_str(p);
        }
    }
    s
}

/// A path as a linked list on the stack: no allocation per visited key.
#[derive(Clone, Copy)]
struct PathNode<'a> {
    seg: Seg<'a>,
    parent: Option<&'a PathNode<'a>>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl PathNode<'_> {
    fn to_vec(self) -> Vec<String> {
        let mut v = Vec::new();
        let mut cur = Some(&self);
        while let Some(n) = cur {
            v.push(match n.seg {
                Seg::Key(k) => k.to_string(),
                Seg::Index(i) => format!("[{i}]"),
            });
            cur = n.parent;
        }
        v.reverse();
        v
    }

    /// Segments with list indexes as `[]`, if the path is short enough to have a cast.
    fn cast(&self, depth: usize) -> Option<Cast> {
        // every cast path is 3 to 6 segments long
        if !(3..=6).contains(&depth) {
            return None;
        }
        let mut segs: [&str; 8] = [""; 8];
        let mut n = 0;
        let mut cur = Some(self);
        while let Some(x) = cur {
            if n == 8 {
                return None;
            }
            segs[n] = match x.seg {
                Seg::Key(k) => k,
                Seg::Index(_) => "[]",
            };
            n += 1;
            cur = x.parent;
        }
        segs[..n].reverse();
        cast_for(&segs[..n])
    }
}

/// Interpolate all string values of `root`.
pub fn interpolate(root: &mut Node, env: &Env<'_>) -> Result<(), LoadError> {
    match &mut root.v {
        Value::Map(m) => {
            for (k, v) in m.iter_mut() {
                walk(
                    v,
                    &PathNode {
                        seg: Seg::Key(k),
                        parent: None,
                    },
                    1,
                    env,
                )?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn walk(n: &mut Node, path: &PathNode<'_>, depth: usize, env: &Env<'_>) -> Result<(), LoadError> {
    match &mut n.v {
        Value::Str(s) => {
            if template::has_dollar(s) {
                match template::substitute(s, env) {
                    Ok(v) => *s = v,
                    Err(e) => return Err(template_error(e, n.pos, &path.to_vec())),
                }
            }
            // casts only exist two to five levels deep
            if let Some(c) = path.cast(depth) {
                let value = std::mem::take(s);
                n.v = cast(c, &value).map_err(|e| {
                    LoadError::at(
                        n.pos,
                        display(&path.to_vec()),
                        format!("failed to cast to expected type: {e}"),
                    )
                })?;
            }
            Ok(())
        }
        Value::Map(m) => {
            for (k, v) in m.iter_mut() {
                if matches!(v.v, Value::Str(_) | Value::Map(_) | Value::Seq(_)) {
                    walk(
                        v,
                        &PathNode {
                            seg: Seg::Key(k),
                            parent: Some(path),
                        },
                        depth + 1,
                        env,
                    )?;
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                if matches!(v.v, Value::Str(_) | Value::Map(_) | Value::Seq(_)) {
                    walk(
                        v,
                        &PathNode {
                            seg: Seg::Index(i),
                            parent: Some(path),
                        },
                        depth + 1,
                        env,
                    )?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn template_error(e: TemplateError, pos: super::node::Pos, path: &[String]) -> LoadError {
    match e {
        TemplateError::Invalid { template } => LoadError::at(
            pos,
            display(path),
            format!("invalid interpolation format: {template:?}"),
        )
        .with_hint("escape any `$` that is not a variable as `$$`"),
        e @ TemplateError::MissingRequired { .. } => {
            LoadError::at(pos, display(path), e.to_string())
                .with_hint("set the variable in the environment or in the `.env` file")
        }
    }
}

fn cast(c: Cast, s: &str) -> Result<Value, String> {
    match c {
        Cast::Int => {
            let t = s.strip_prefix('+').unwrap_or(s);
            t.parse::<i64>()
                .map(Value::Int)
                .map_err(|_| format!("strconv.Atoi: parsing {s:?}: invalid syntax"))
        }
        Cast::Float => super::units::go_parse_float(s)
            .map(Value::Float)
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        Cast::Float32 => super::units::go_parse_float(s)
            .map(|f| Value::Float(super::types::round_f32(f)))
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        Cast::Bool => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            "y" | "yes" | "on" => {
                super::warn(format!(
                    "{s:?} for boolean is not supported by YAML 1.2, please use `true`"
                ));
                Ok(Value::Bool(true))
            }
            "n" | "no" | "off" => {
                super::warn(format!(
                    "{s:?} for boolean is not supported by YAML 1.2, please use `false`"
                ));
                Ok(Value::Bool(false))
            }
            _ => Err(format!("invalid boolean: {s}")),
        },
    }
}

/// Interpolate one string (e.g. the top-level `name`).
pub fn interpolate_str(
    s: &str,
    env: &Env<'_>,
    path: &str,
    pos: super::node::Pos,
) -> Result<String, LoadError> {
    template::substitute(s, env).map_err(|e| template_error(e, pos, &[path.to_string()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::yaml::parse_documents;

    fn run(src: &str, vars: &[(&str, &str)]) -> Result<serde_json::Value, LoadError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut n = parse_documents(src, 0).unwrap().remove(0);
        interpolate(&mut n, &Env { vars: &vars })?;
        Ok(n.to_json())
    }

    #[test]
    fn values_are_substituted_and_cast() {
        let j = run(
            "services:\n  web:\n    image: \"${IMG}:${TAG:-latest}\"\n    privileged: \"${P}\"\n    ports: [{target: \"${PORT}\"}]\n",
            &[("IMG", "nginx"), ("P", "true"), ("PORT", "80")],
        )
        .unwrap();
        assert_eq!(j["services"]["web"]["image"], "nginx:latest");
        assert_eq!(j["services"]["web"]["privileged"], true);
        assert_eq!(j["services"]["web"]["ports"][0]["target"], 80);
    }

    #[test]
    fn cast_failure_is_located() {
        let e = run(
            "services:\n  foo:\n    privileged: \"${P}\"\n",
            &[("P", "1")],
        )
        .unwrap_err();
        assert_eq!(e.path, "services.foo.privileged");
        assert_eq!(
            e.message,
            "failed to cast to expected type: invalid boolean: 1"
        );
        assert_eq!((e.pos.line, e.pos.col), (3, 17));
    }

    #[test]
    fn required_variable_error() {
        let e = run(
            "services:\n  test:\n    image: ${ID:?ID variable must be set}\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.path, "services.test.image");
        assert_eq!(
            e.message,
            "required variable ID is missing a value: ID variable must be set"
        );
    }
}
