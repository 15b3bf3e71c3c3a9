//! Variable substitution in strings: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nesting, and `$$` escapes.
//!
//! This follows compose-go's `template` package step by step (same pattern, same quirks:
//! e.g. the modifier with the left-most operator wins, the default is substituted even when
//! unused, the first error is reported but substitution goes on).

use std::sync::LazyLock;

use regex::Regex;

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|\{(?:(?P<braced>[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))",
    )
    .expect("valid pattern")
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `${` not followed by a valid expression.
    Invalid { template: String },
    /// `${VAR:?msg}` / `${VAR?msg}` with the variable missing.
    MissingRequired { variable: String, reason: String },
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Invalid { template } => write!(f, "Invalid template: {template:?}"),
            TemplateError::MissingRequired { variable, reason } => {
                if reason.is_empty() {
                    write!(f, "required variable {variable} is missing a value")
                } else {
                    write!(
                        f,
                        "required variable {variable} is missing a value: {reason}"
                    )
                }
            }
        }
    }
}

/// Looks a variable up; `None` when unset.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<String>;
    /// Called for every unset variable replaced by an empty string.
    fn unset(&self, _name: &str) {}
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn lookup(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Quick check: strings without `$` are returned unchanged by [`substitute`].
pub fn has_dollar(s: &str) -> bool {
    s.as_bytes().contains(&b'$')
}

/// Substitute variables in `template`.
pub fn substitute(template: &str, lookup: &dyn Lookup) -> Result<String, TemplateError> {
    if !has_dollar(template) {
        return Ok(template.to_string());
    }
    let mut first_err: Option<TemplateError> = None;
    let mut out = String::with_capacity(template.len());
    let mut last = 0;
    for m in PATTERN.find_iter(template) {
        out.push_str(&template[last..m.start()]);
        match replacement(m.as_str(), lookup) {
            Ok(v) => out.push_str(&v),
            Err(mut e) => {
                if let TemplateError::Invalid { template: t } = &mut e
                    && t.is_empty()
                {
                    *t = template.to_string();
                }
                if first_err.is_none() {
                    first_err = Some(e);
                }
            }
        }
        last = m.end();
    }
    out.push_str(&template[last..]);
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn replacement(substring: &str, lookup: &dyn Lookup) -> Result<String, TemplateError> {
    let op = first_operator(substring);
    let mut sub = substring;
    let mut rest = "";
    if let Some(idx) = first_brace_closing_index(substring) {
        rest = &substring[idx + 1..];
        sub = &substring[..=idx];
    }
    let caps = PATTERN.captures(sub).ok_or(TemplateError::Invalid {
        template: String::new(),
    })?;
    if caps.name("escaped").is_some() {
        return Ok("$".to_string());
    }
    let (name, braced) = match (caps.name("named"), caps.name("braced")) {
        (Some(n), _) if !n.as_str().is_empty() => (n.as_str(), false),
        (_, Some(b)) if !b.as_str().is_empty() => (b.as_str(), true),
        _ => {
            return Err(TemplateError::Invalid {
                template: String::new(),
            });
        }
    };
    if braced
        && let Some(op) = op
        && let Some(value) = apply_operator(op, name, lookup)?
    {
        let nested = substitute(rest, lookup)?;
        return Ok(value + &nested);
    }
    match lookup.lookup(name) {
        Some(v) => Ok(v),
        None => {
            lookup.unset(name);
            Ok(String::new())
        }
    }
}

/// The modifier whose operator appears first in the template (compose-go sorts its table by
/// index of the operator in the whole matched substring).
fn first_operator(template: &str) -> Option<&'static str> {
    const OPS: [&str; 6] = [":?", "?", ":-", "-", ":+", "+"];
    let mut best: Option<(usize, usize)> = None;
    for (i, op) in OPS.iter().enumerate() {
        if let Some(idx) = template.find(op) {
            match best {
                Some((bidx, _)) if bidx <= idx => {}
                _ => best = Some((idx, i)),
            }
        }
    }
    best.map(|(_, i)| OPS[i])
}

fn first_brace_closing_index(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut open = 0i32;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'}' {
            open -= 1;
            if open == 0 {
                return Some(i);
            }
        }
        if b[i] == b'{' {
            open += 1;
            i += 1;
        }
        i += 1;
    }
    None
}

/// Apply `${name<op>arg}`; `Ok(None)` when the operator is not in `substitution`.
fn apply_operator(
    op: &str,
    substitution: &str,
    lookup: &dyn Lookup,
) -> Result<Option<String>, TemplateError> {
    let Some((name, arg)) = substitution.split_once(op) else {
        return Ok(None);
    };
    match op {
        ":-" | "-" => {
            let default = substitute(arg, lookup)?;
            let value = lookup.lookup(name);
            Ok(Some(match value {
                None => default,
                Some(v) if op == ":-" && v.is_empty() => default,
                Some(v) => v,
            }))
        }
        ":+" | "+" => {
            let alt = substitute(arg, lookup)?;
            let value = lookup.lookup(name);
            Ok(Some(match value {
                Some(v) if op == "+" || !v.is_empty() => {
                    let _ = v;
                    alt
                }
                Some(v) => v,
                None => String::new(),
            }))
        }
        ":?" | "?" => {
            let reason = substitute(arg, lookup)?;
            match lookup.lookup(name) {
                Some(v) if op == "?" || !v.is_empty() => Ok(Some(v)),
                _ => Err(TemplateError::MissingRequired {
                    variable: name.to_string(),
                    reason,
                }),
            }
        }
        _ => Ok(None),
    }
}

/// A variable used by a template, for `config --variables`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Variable {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "DefaultValue")]
    pub default_value: String,
    #[serde(rename = "PresenceValue")]
    pub presence_value: String,
    #[serde(rename = "Required")]
    pub required: bool,
}

/// Extract the variables referenced by a string (compose-go `template.ExtractVariables`).
pub fn extract_variables(s: &str, out: &mut std::collections::BTreeMap<String, Variable>) {
    if !has_dollar(s) {
        return;
    }
    for caps in PATTERN.captures_iter(s) {
        if caps.name("escaped").is_some() {
            continue;
        }
        let raw = match (caps.name("named"), caps.name("braced")) {
            (Some(n), _) if !n.as_str().is_empty() => n.as_str().to_string(),
            (_, Some(b)) if !b.as_str().is_empty() => b.as_str().to_string(),
            _ => continue,
        };
        let mut v = Variable::default();
        let mut name = raw.clone();
        for op in [":-", "-", ":+", "+", ":?", "?"] {
            if let Some((n, arg)) = raw.split_once(op) {
                name = n.to_string();
                match op {
                    ":-" | "-" => {
                        v.default_value = arg.to_string();
                        extract_variables(arg, out);
                    }
                    ":+" | "+" => {
                        v.presence_value = arg.to_string();
                        extract_variables(arg, out);
                    }
                    _ => v.required = true,
                }
                break;
            }
        }
        v.name = name.clone();
        out.entry(name).or_insert(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sub(t: &str, e: &HashMap<String, String>) -> Result<String, TemplateError> {
        let f = |k: &str| e.get(k).cloned();
        substitute(t, &f)
    }

    #[test]
    fn all_modifiers() {
        let e = env(&[("SET", "v"), ("EMPTY", "")]);
        assert_eq!(sub("$SET ${SET}", &e).unwrap(), "v v");
        assert_eq!(
            sub("${UNSET:-d} ${EMPTY:-d} ${SET:-d}", &e).unwrap(),
            "d d v"
        );
        assert_eq!(sub("${UNSET-d} ${EMPTY-d} ${SET-d}", &e).unwrap(), "d  v");
        assert_eq!(sub("${UNSET:+a} ${EMPTY:+a} ${SET:+a}", &e).unwrap(), "  a");
        assert_eq!(sub("${UNSET+a} ${EMPTY+a} ${SET+a}", &e).unwrap(), " a a");
        assert_eq!(sub("${SET:?boom}", &e).unwrap(), "v");
        assert_eq!(sub("${EMPTY?boom}", &e).unwrap(), "");
        assert_eq!(
            sub("${EMPTY:?boom}", &e).unwrap_err().to_string(),
            "required variable EMPTY is missing a value: boom"
        );
        assert_eq!(
            sub("${UNSET?}", &e).unwrap_err().to_string(),
            "required variable UNSET is missing a value"
        );
    }

    #[test]
    fn escapes_nesting_and_literals() {
        let e = env(&[("A", "a"), ("B", "b")]);
        assert_eq!(sub("$$A", &e).unwrap(), "$A");
        assert_eq!(sub("${UNSET:-${B}}", &e).unwrap(), "b");
        assert_eq!(sub("${UNSET:-x${B}y} and ${A}", &e).unwrap(), "xby and a");
        assert_eq!(sub("price: 5$ $1", &e).unwrap(), "price: 5$ $1");
        assert_eq!(sub("${A}${B}", &e).unwrap(), "ab");
    }

    #[test]
    fn invalid_templates() {
        let e = env(&[]);
        assert_eq!(
            sub("x ${A:b}", &e).unwrap_err(),
            TemplateError::Invalid {
                template: "x ${A:b}".into()
            }
        );
        assert!(sub("${}", &e).is_err());
        assert!(sub("${1}", &e).is_err());
    }
}
