//! Validation against the Compose JSON schema, bundled into the binary (the copy embedded in
//! compose-go v2.9.1, i.e. what Docker Compose v2.40 validates against). Errors are reported
//! at the position of the offending node, choosing the most specific failure as compose-go
//! does (deepest instance path; an unexpected property counts one level deeper).

use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};

use super::error::LoadError;
use super::node::{Node, Path, Seg, lookup};

pub const COMPOSE_SPEC: &str = include_str!("../../assets/compose-spec.json");

static VALIDATOR: LazyLock<Validator<Tree>> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(COMPOSE_SPEC).expect("bundled schema is JSON");
    jsonschema::options_for::<Tree>()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("bundled schema compiles")
});

/// Our tree as a JSON representation for the validator (no conversion to `serde_json`).
pub struct Tree;

mod repr {
    use std::borrow::Cow;

    use jsonschema::JsonType;
    use jsonschema::json::{Array, Json, JsonNumber, Node as JNode, NodeIdentity, Object};

    use super::super::node::{Map, Node, Value};
    use super::Tree;

    impl Json for Tree {
        type Node<'a> = &'a Node;
        type PreparedKey = String;
        type StringBuffer = ();
        const ACYCLIC: bool = true;

        fn prepare_key(key: &str) -> String {
            key.to_owned()
        }

        fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(&Node) -> T) -> T {
            let n = Node::str(string, Default::default());
            f(&n)
        }
    }

    #[derive(Clone, Copy)]
    pub struct Num(Value2);

    #[derive(Clone, Copy)]
    enum Value2 {
        Int(i64),
        Float(f64),
    }

    impl JsonNumber for Num {
        fn as_u64(&self) -> Option<u64> {
            match self.0 {
                Value2::Int(i) => u64::try_from(i).ok(),
                Value2::Float(_) => None,
            }
        }
        fn as_i64(&self) -> Option<i64> {
            match self.0 {
                Value2::Int(i) => Some(i),
                Value2::Float(_) => None,
            }
        }
        fn as_f64(&self) -> Option<f64> {
            Some(match self.0 {
                Value2::Int(i) => i as f64,
                Value2::Float(f) => f,
            })
        }
        fn as_str(&self) -> Cow<'_, str> {
            match self.0 {
                Value2::Int(i) => Cow::Owned(i.to_string()),
                Value2::Float(f) => Cow::Owned(f.to_string()),
            }
        }
        fn to_number(&self) -> Cow<'_, serde_json::Number> {
            Cow::Owned(match self.0 {
                Value2::Int(i) => serde_json::Number::from(i),
                Value2::Float(f) => {
                    serde_json::Number::from_f64(f).unwrap_or_else(|| serde_json::Number::from(0))
                }
            })
        }
        fn is_integer(&self) -> bool {
            match self.0 {
                Value2::Int(_) => true,
                Value2::Float(f) => f.fract() == 0.0 && f.is_finite(),
            }
        }
    }

    impl<'a> JNode<'a, Tree> for &'a Node {
        type Object = &'a Map;
        type Array = &'a [Node];
        type Number = Num;

        fn as_object(&self) -> Option<&'a Map> {
            match &self.v {
                Value::Map(m) => Some(m),
                _ => None,
            }
        }
        fn as_array(&self) -> Option<&'a [Node]> {
            match &self.v {
                Value::Seq(s) => Some(s),
                _ => None,
            }
        }
        fn as_string(&self) -> Option<Cow<'a, str>> {
            match &self.v {
                Value::Str(s) => Some(Cow::Borrowed(s)),
                _ => None,
            }
        }
        fn as_number(&self) -> Option<Num> {
            match &self.v {
                Value::Int(i) => Some(Num(Value2::Int(*i))),
                Value::Float(f) => Some(Num(Value2::Float(*f))),
                _ => None,
            }
        }
        fn as_boolean(&self) -> Option<bool> {
            match &self.v {
                Value::Bool(b) => Some(*b),
                _ => None,
            }
        }
        fn is_null(&self) -> bool {
            matches!(self.v, Value::Null)
        }
        fn json_type(&self) -> JsonType {
            match &self.v {
                Value::Null => JsonType::Null,
                Value::Bool(_) => JsonType::Boolean,
                Value::Int(_) | Value::Float(_) => JsonType::Number,
                Value::Str(_) => JsonType::String,
                Value::Seq(_) => JsonType::Array,
                Value::Map(_) => JsonType::Object,
            }
        }
        fn to_value(&self) -> Cow<'a, serde_json::Value> {
            Cow::Owned(Node::to_json(self))
        }
        fn identity(&self) -> Option<NodeIdentity> {
            Some(NodeIdentity::new(std::ptr::from_ref::<Node>(self) as usize))
        }
    }

    pub struct Members<'a>(indexmap::map::Iter<'a, String, Node>);

    impl<'a> Iterator for Members<'a> {
        type Item = (&'a str, &'a Node);
        fn next(&mut self) -> Option<Self::Item> {
            self.0.next().map(|(k, v)| (k.as_str(), v))
        }
    }

    impl<'a> Object<'a, Tree> for &'a Map {
        type Node = &'a Node;
        type MemberName = &'a str;
        type MembersIter = Members<'a>;
        fn len(&self) -> usize {
            Map::len(self)
        }
        fn get(&self, key: &String) -> Option<&'a Node> {
            Map::get(self, key.as_str())
        }
        fn members(&self) -> Members<'a> {
            Members(self.iter())
        }
    }

    impl<'a> Array<'a, Tree> for &'a [Node] {
        type Node = &'a Node;
        type ElementsIter = std::slice::Iter<'a, Node>;
        fn len(&self) -> usize {
            <[Node]>::len(self)
        }
        fn elements(&self) -> std::slice::Iter<'a, Node> {
            self.iter()
        }
    }
}

/// Validate the whole model.
pub fn validate(root: &Node) -> Result<(), LoadError> {
    if super::yaml::seen_timestamp()
        && let Some((path, pos)) = find_timestamp(root, &mut Vec::new())
    {
        return Err(
            LoadError::at(pos, Path(path).to_string(), "invalid jsonType time.Time")
                .with_hint("quote the value: unquoted dates are read as timestamps"),
        );
    }
    let v = &*VALIDATOR;
    if v.is_valid(root) {
        return Ok(());
    }
    let mut best: Option<(usize, Candidate)> = None;
    for err in v.iter_errors(root) {
        let c = most_specific(&err);
        let s = c.specificity();
        match &best {
            Some((bs, _)) if *bs >= s => {}
            _ => best = Some((s, c)),
        }
    }
    let Some((_, c)) = best else {
        return Ok(());
    };
    Err(c.into_error(root))
}

fn find_timestamp(n: &Node, path: &mut Vec<Seg>) -> Option<(Vec<Seg>, super::node::Pos)> {
    if n.tag == Some(super::node::Tag::Timestamp) {
        return Some((path.clone(), n.pos));
    }
    match &n.v {
        super::node::Value::Map(m) => {
            for (k, v) in m {
                path.push(Seg::Key(k.clone()));
                let r = find_timestamp(v, path);
                path.pop();
                if r.is_some() {
                    return r;
                }
            }
            None
        }
        super::node::Value::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                path.push(Seg::Index(i));
                let r = find_timestamp(v, path);
                path.pop();
                if r.is_some() {
                    return r;
                }
            }
            None
        }
        _ => None,
    }
}

struct Candidate {
    path: Vec<Seg>,
    kind: Kind,
}

enum Kind {
    Additional(Vec<String>),
    Type(String),
    Other(String),
}

impl Candidate {
    fn specificity(&self) -> usize {
        match self.kind {
            Kind::Additional(_) => self.path.len() + 1,
            _ => self.path.len(),
        }
    }

    fn into_error(self, root: &Node) -> LoadError {
        let path = Path(self.path.clone());
        let node = lookup(root, &self.path);
        match self.kind {
            Kind::Additional(props) => {
                let first = props.first().cloned().unwrap_or_default();
                let pos = node
                    .and_then(|n| n.get(&first))
                    .map(|n| n.entry_pos())
                    .or_else(|| node.map(Node::entry_pos))
                    .unwrap_or_default();
                let list = props
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let noun = if props.len() > 1 {
                    "properties"
                } else {
                    "property"
                };
                let mut e = LoadError::at(
                    pos,
                    path.to_string(),
                    format!("additional {noun} {list} not allowed"),
                );
                if let Some(h) = hint_for_unknown(&self.path, &first) {
                    e = e.with_hint(h);
                }
                e
            }
            Kind::Type(want) => {
                let pos = node.map(|n| n.pos).unwrap_or_default();
                let article = if want.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                LoadError::at(pos, path.to_string(), format!("must be {article} {want}"))
            }
            Kind::Other(msg) => {
                let pos = node.map(|n| n.pos).unwrap_or_default();
                LoadError::at(pos, path.to_string(), msg)
            }
        }
    }
}

fn to_path(err: &ValidationError<'_>) -> Vec<Seg> {
    err.instance_path()
        .iter()
        .map(|s| match s {
            LocationSegment::Property(p) => Seg::Key(p.to_string()),
            LocationSegment::Index(i) => Seg::Index(i),
        })
        .collect()
}

fn most_specific(err: &ValidationError<'_>) -> Candidate {
    match err.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let mut best: Option<Candidate> = None;
            for branch in context {
                for e in branch {
                    let c = most_specific(e);
                    if best
                        .as_ref()
                        .is_none_or(|b| c.specificity() > b.specificity())
                    {
                        best = Some(c);
                    }
                }
            }
            if let Some(b) = best {
                // A type mismatch on the very node that has alternatives: list them all.
                if let Kind::Type(_) = b.kind
                    && b.path == to_path(err)
                {
                    let mut wants: Vec<String> = Vec::new();
                    for branch in context {
                        for e in branch {
                            if let ValidationErrorKind::Type { kind } = e.kind() {
                                for w in type_names(kind) {
                                    if !wants.contains(&w) {
                                        wants.push(w);
                                    }
                                }
                            }
                        }
                    }
                    if wants.len() > 1 {
                        wants.sort();
                        let last = wants.pop().unwrap_or_default();
                        return Candidate {
                            path: b.path,
                            kind: Kind::Type(format!("{} or {last}", wants.join(", "))),
                        };
                    }
                }
                return b;
            }
            Candidate {
                path: to_path(err),
                kind: Kind::Other(err.to_string()),
            }
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => Candidate {
            path: to_path(err),
            kind: Kind::Additional(unexpected.clone()),
        },
        ValidationErrorKind::Type { kind } => {
            let mut names = type_names(kind);
            let want = if names.len() == 1 {
                names.remove(0)
            } else {
                names.sort();
                let last = names.pop().unwrap_or_default();
                format!("{} or {last}", names.join(", "))
            };
            Candidate {
                path: to_path(err),
                kind: Kind::Type(want),
            }
        }
        ValidationErrorKind::Pattern { pattern } => Candidate {
            path: to_path(err),
            kind: Kind::Other(format!(
                "{} does not match pattern '{pattern}'",
                quote_instance(err)
            )),
        },
        ValidationErrorKind::Enum { options } => Candidate {
            path: to_path(err),
            kind: Kind::Other(format!(
                "value must be one of {}",
                options
                    .as_array()
                    .map(|a| a
                        .iter()
                        .map(|v| format!(
                            "'{}'",
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string())
                        ))
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_else(|| options.to_string())
            )),
        },
        ValidationErrorKind::Required { property } => Candidate {
            path: to_path(err),
            kind: Kind::Other(format!(
                "missing property {}",
                property
                    .as_str()
                    .map(|s| format!("'{s}'"))
                    .unwrap_or_else(|| property.to_string())
            )),
        },
        ValidationErrorKind::Minimum { limit } => Candidate {
            path: to_path(err),
            kind: Kind::Other(format!("must be greater than or equal to {limit}")),
        },
        ValidationErrorKind::Maximum { limit } => Candidate {
            path: to_path(err),
            kind: Kind::Other(format!("must be less than or equal to {limit}")),
        },
        ValidationErrorKind::UniqueItems => Candidate {
            path: to_path(err),
            kind: Kind::Other("items must be unique".into()),
        },
        _ => Candidate {
            path: to_path(err),
            kind: Kind::Other(err.to_string()),
        },
    }
}

fn quote_instance(err: &ValidationError<'_>) -> String {
    match err.instance().as_ref() {
        serde_json::Value::String(s) => format!("'{s}'"),
        v => v.to_string(),
    }
}

fn type_names(kind: &TypeKind) -> Vec<String> {
    let name = |t: jsonschema::JsonType| -> String {
        match t.as_str() {
            "object" => "mapping".to_string(),
            "array" => "list".to_string(),
            other => other.to_string(),
        }
    };
    match kind {
        TypeKind::Single(t) => vec![name(*t)],
        TypeKind::Multiple(set) => set.iter().map(name).collect(),
    }
}

/// Suggest the closest known key for a misspelled one.
fn hint_for_unknown(path: &[Seg], key: &str) -> Option<String> {
    let known: &[&str] = match path {
        [Seg::Key(s), Seg::Key(_)] if s == "services" => &SERVICE_KEYS,
        [] => &[
            "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
            "models",
        ],
        _ => return None,
    };
    let best = known
        .iter()
        .map(|k| (strsim_distance(k, key), *k))
        .min()
        .filter(|(d, _)| *d <= 3)?;
    Some(format!("did you mean `{}`?", best.1))
}

fn strsim_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

const SERVICE_KEYS: [&str; 95] = [
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
    "net",
    "volume_driver",
    "log_driver",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::yaml::parse_documents;

    fn check(src: &str) -> Result<(), LoadError> {
        validate(&parse_documents(src, 0).unwrap().remove(0))
    }

    #[test]
    fn unknown_service_key_is_located_with_a_hint() {
        let e = check("services:\n  web:\n    image: x\n    imagee: y\n").unwrap_err();
        assert_eq!(e.path, "services.web");
        assert_eq!(e.message, "additional property 'imagee' not allowed");
        assert_eq!((e.pos.line, e.pos.col), (4, 5));
        assert_eq!(e.hint.as_deref(), Some("did you mean `image`?"));
    }

    #[test]
    fn wrong_type_names_the_expected_type() {
        let e = check("services:\n  web:\n    image: x\n    stop_grace_period: 10\n").unwrap_err();
        assert_eq!(e.path, "services.web.stop_grace_period");
        assert_eq!(e.message, "must be a string");
        let e = check("services:\n  web: 3\n").unwrap_err();
        assert_eq!(e.message, "must be a mapping");
    }

    #[test]
    fn valid_file_passes() {
        check("services:\n  web:\n    image: x\n    ports: ['80:80']\n    environment: {A: 1}\n")
            .unwrap();
    }
}
