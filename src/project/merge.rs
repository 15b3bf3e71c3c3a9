//! Merging Compose trees (several `-f` files, `extends`, `include` conflicts) and removing
//! duplicates from sequences afterwards, with compose-go's rules per field
//! (`override/merge.go`, `override/uncity.go`).
//!
//! Rules in short: mappings merge key by key, the later file wins for scalars; sequences are
//! appended (then de-duplicated by a per-field key: a port's `ip:published:target/proto`, a
//! mount's target, an environment variable's name...); `command`, `entrypoint` and
//! `healthcheck.test` are replaced; `environment`, `labels`, `sysctls`... are merged as
//! `KEY=VALUE` lists whatever their syntax; `depends_on` and `networks` merge as mappings
//! whatever their syntax; `logging` options merge only when the driver is the same.

use super::error::LoadError;
use super::node::{Map, Node, Value};
use super::volume_spec;

/// Merge `over` into `base` (`base` is the accumulated model, `over` the newer file).
pub fn merge(base: Node, over: Node) -> Result<Node, LoadError> {
    merge_yaml(base, over, &mut Vec::new())
}

/// Merge with a starting path (e.g. `services.x` for `extends`, `services.web` for includes).
pub fn merge_at(base: Node, over: Node, path: &[&str]) -> Result<Node, LoadError> {
    let mut p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    merge_yaml(base, over, &mut p)
}

#[derive(Clone, Copy)]
enum Special {
    Ipam,
    ToSequence,
    Build,
    Override,
    DependsOn,
    ExtraHosts,
    Logging,
    Networks,
    Ulimit,
}

fn special(p: &[String]) -> Option<Special> {
    use Special::*;
    let s: Vec<&str> = p.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["networks", _, "ipam", "config"] => Some(Ipam),
        ["networks", _, "labels"] | ["volumes", _, "labels"] => Some(ToSequence),
        ["services", _, f] => match *f {
            "annotations" | "dns" | "dns_opt" | "dns_search" | "env_file" | "label_file"
            | "environment" | "labels" | "sysctls" | "tmpfs" => Some(ToSequence),
            "build" => Some(Build),
            "command" | "entrypoint" => Some(Override),
            "depends_on" => Some(DependsOn),
            "extra_hosts" => Some(ExtraHosts),
            "logging" => Some(Logging),
            "networks" => Some(Networks),
            _ => None,
        },
        ["services", _, "build", f] => match *f {
            "args" | "additional_contexts" | "labels" => Some(ToSequence),
            "extra_hosts" => Some(ExtraHosts),
            _ => None,
        },
        ["services", _, "deploy", "labels"] => Some(ToSequence),
        ["services", _, "healthcheck", "test"] => Some(Override),
        ["services", _, "ulimits", _] => Some(Ulimit),
        _ => None,
    }
}

fn merge_yaml(e: Node, o: Node, p: &mut Vec<String>) -> Result<Node, LoadError> {
    if let Some(sp) = special(p) {
        return apply_special(sp, e, o, p);
    }
    if o.is_null() {
        return Ok(e);
    }
    match e.v {
        Value::Map(m) => {
            let pos = e.pos;
            let kpos = e.kpos;
            let Value::Map(other) = o.v else {
                return Err(LoadError::at(o.pos, path_str(p), "cannot override"));
            };
            let mut n = Node::map(merge_mappings(m, other, p)?, pos);
            n.kpos = kpos;
            Ok(n)
        }
        Value::Seq(mut s) => {
            let Value::Seq(other) = o.v else {
                return Err(LoadError::at(o.pos, path_str(p), "cannot override"));
            };
            s.extend(other);
            Ok(Node {
                v: Value::Seq(s),
                ..e
            })
        }
        _ => Ok(keep_kpos(o, e.kpos)),
    }
}

fn keep_kpos(mut n: Node, kpos: super::node::Pos) -> Node {
    if !n.kpos.is_known() {
        n.kpos = kpos;
    }
    n
}

fn path_str(p: &[String]) -> String {
    p.join(".")
}

fn merge_mappings(mut mapping: Map, other: Map, p: &mut Vec<String>) -> Result<Map, LoadError> {
    for (k, v) in other {
        let existing = mapping.get_mut(&k);
        match existing {
            Some(e) if !k.starts_with("x-") => {
                let base = std::mem::replace(e, Node::null(e.pos));
                p.push(k.clone());
                let merged = merge_yaml(base, v, p);
                p.pop();
                *mapping.get_mut(&k).expect("present") = merged?;
            }
            _ => {
                mapping.insert(k, v);
            }
        }
    }
    Ok(mapping)
}

fn apply_special(sp: Special, c: Node, o: Node, p: &mut Vec<String>) -> Result<Node, LoadError> {
    match sp {
        Special::Override => Ok(keep_kpos(o, c.kpos)),
        Special::ToSequence => {
            let pos = c.pos;
            let kpos = c.kpos;
            let mut right = into_sequence(c);
            right.extend(into_sequence(o));
            let mut n = Node::seq(right, pos);
            n.kpos = kpos;
            Ok(n)
        }
        Special::ExtraHosts => {
            let pos = c.pos;
            let kpos = c.kpos;
            let mut right = into_sequence(c);
            let left = into_sequence(o);
            let extra: Vec<Node> = left
                .into_iter()
                .filter(|v| !right.iter().any(|r| r.v == v.v))
                .collect();
            right.extend(extra);
            let mut n = Node::seq(right, pos);
            n.kpos = kpos;
            Ok(n)
        }
        Special::Build => {
            let pos = c.pos;
            let kpos = c.kpos;
            let to_build = |n: Node| -> Option<Map> {
                match n.v {
                    Value::Str(s) => {
                        let mut m = Map::default();
                        m.insert("context".into(), Node::str(s, n.pos));
                        Some(m)
                    }
                    Value::Map(m) => Some(m),
                    _ => None,
                }
            };
            let base = to_build(c).unwrap_or_default();
            let over = to_build(o).unwrap_or_default();
            let mut n = Node::map(merge_mappings(base, over, p)?, pos);
            n.kpos = kpos;
            Ok(n)
        }
        Special::DependsOn => {
            let pos = c.pos;
            let kpos = c.kpos;
            let right = into_mapping(c, true);
            let left = into_mapping(o, true);
            let mut n = Node::map(merge_mappings(right, left, p)?, pos);
            n.kpos = kpos;
            Ok(n)
        }
        Special::Networks => {
            let pos = c.pos;
            let kpos = c.kpos;
            let right = into_mapping(c, false);
            let left = into_mapping(o, false);
            let mut n = Node::map(merge_mappings(right, left, p)?, pos);
            n.kpos = kpos;
            Ok(n)
        }
        Special::Logging => {
            let (Value::Map(config), Value::Map(other)) = (&c.v, &o.v) else {
                return Ok(if o.is_null() { c } else { o });
            };
            let d = other.get("driver").map(|n| &n.v);
            let od = config.get("driver").map(|n| &n.v);
            if d.is_none() || od.is_none() || d == od {
                let pos = c.pos;
                let kpos = c.kpos;
                let Value::Map(config) = c.v else {
                    unreachable!()
                };
                let Value::Map(other) = o.v else {
                    unreachable!()
                };
                let mut n = Node::map(merge_mappings(config, other, p)?, pos);
                n.kpos = kpos;
                Ok(n)
            } else {
                Ok(keep_kpos(o, c.kpos))
            }
        }
        Special::Ulimit => {
            // compose-go merges the override with itself: the override wins whole.
            Ok(keep_kpos(o, c.kpos))
        }
        Special::Ipam => merge_ipam_config(c, o, p),
    }
}

/// `convertIntoSequence`: a mapping becomes sorted `KEY=VALUE` strings (Go `%v` formatting),
/// a string a one-element list.
pub fn into_sequence(n: Node) -> Vec<Node> {
    match n.v {
        Value::Map(m) => {
            let mut seq: Vec<Node> = Vec::with_capacity(m.len());
            for (k, v) in m {
                match &v.v {
                    Value::Null => seq.push(Node::str(k, v.entry_pos())),
                    Value::Seq(items) => {
                        for it in items {
                            seq.push(Node::str(format!("{k}={}", it.go_string()), it.pos));
                        }
                    }
                    _ => seq.push(Node::str(format!("{k}={}", v.go_string()), v.entry_pos())),
                }
            }
            seq.sort_by(|a, b| a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")));
            seq
        }
        Value::Seq(s) => s,
        Value::Str(_) => vec![n],
        _ => Vec::new(),
    }
}

fn into_mapping(n: Node, depends_on_defaults: bool) -> Map {
    match n.v {
        Value::Map(m) => m,
        Value::Seq(s) => {
            let mut out = Map::default();
            for item in s {
                let key = match &item.v {
                    Value::Str(s) => s.clone(),
                    _ => item.go_string(),
                };
                let v = if depends_on_defaults {
                    let mut d = Map::default();
                    d.insert("condition".into(), Node::str("service_started", item.pos));
                    d.insert("required".into(), Node::bool(true, item.pos));
                    Node::map(d, item.pos)
                } else {
                    Node::null(item.pos)
                };
                let mut v = v;
                v.kpos = item.pos;
                out.insert(key, v);
            }
            out
        }
        _ => Map::default(),
    }
}

fn merge_ipam_config(c: Node, o: Node, p: &mut Vec<String>) -> Result<Node, LoadError> {
    let pos = c.pos;
    let kpos = c.kpos;
    let originals = match c.v {
        Value::Seq(s) => s,
        _ => Vec::new(),
    };
    let overrides = match o.v {
        Value::Seq(s) => s,
        _ => Vec::new(),
    };
    let subnet = |m: &Map| m.get("subnet").map(|n| n.v.clone());
    let mut configs: Vec<Map> = Vec::new();
    for original in originals {
        let right = into_mapping(original, false);
        for ov in &overrides {
            let left = into_mapping(ov.clone(), false);
            if subnet(&left) != subnet(&right)
                && !configs.iter().any(|a| subnet(a) == subnet(&left))
            {
                configs.push(left);
                continue;
            }
            let merged = merge_mappings(right.clone(), left, p)?;
            match configs.iter().position(|a| subnet(a) == subnet(&merged)) {
                Some(i) => configs[i] = merged,
                None => configs.push(merged),
            }
        }
    }
    let mut n = Node::seq(
        configs.into_iter().map(|m| Node::map(m, pos)).collect(),
        pos,
    );
    n.kpos = kpos;
    Ok(n)
}

// ---------------------------------------------------------------- unicity --

#[derive(Clone, Copy)]
enum Indexer {
    KeyValue,
    Volume,
    Device,
    Expose,
    Mount(&'static str),
    Port,
    EnvFile,
}

fn unique(p: &[String]) -> Option<Indexer> {
    use Indexer::*;
    let s: Vec<&str> = p.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["networks", _, "labels"] | ["networks", _, "ipam", "options"] => Some(KeyValue),
        ["services", _, f] => match *f {
            "annotations" | "cap_add" | "cap_drop" | "dns" | "dns_opt" | "dns_search"
            | "environment" | "labels" | "links" | "profiles" | "sysctls" | "tmpfs" => {
                Some(KeyValue)
            }
            "devices" => Some(Device),
            "configs" => Some(Mount("")),
            "secrets" => Some(Mount("/run/secrets")),
            "env_file" => Some(EnvFile),
            "expose" => Some(Expose),
            "ports" => Some(Port),
            "volumes" => Some(Volume),
            _ => None,
        },
        [
            "services",
            _,
            "build",
            "args" | "additional_contexts" | "platform" | "tags" | "labels",
        ] => Some(KeyValue),
        ["services", _, "deploy", "labels"] => Some(KeyValue),
        ["services", _, "networks", _, "aliases" | "link_local_ips"] => Some(KeyValue),
        _ => None,
    }
}

/// Remove redefinitions of elements in sequences: the later definition replaces the earlier
/// one, at the earlier one's place. Only the fields listed in [`unique`] are concerned, so
/// only their parents are visited.
pub fn enforce_unicity(n: &mut Node) -> Result<(), LoadError> {
    let Some(top) = n.as_map_mut() else {
        return Ok(());
    };
    for (kind, items) in top.iter_mut() {
        if kind != "networks" && kind != "services" {
            continue;
        }
        let Some(items) = items.as_map_mut() else {
            continue;
        };
        for (name, item) in items.iter_mut() {
            let path = [kind.as_str(), name.as_str(), "", "", "", ""];
            unicity(item, path, 2, 3)?;
        }
    }
    Ok(())
}

/// Visit `n` (at `path[..len]`) down to `depth` more levels, de-duplicating listed sequences.
fn unicity(n: &mut Node, path: [&str; 6], len: usize, depth: usize) -> Result<(), LoadError> {
    match &mut n.v {
        Value::Map(m) => {
            if depth == 0 || len == path.len() {
                return Ok(());
            }
            for (k, v) in m.iter_mut() {
                if !matches!(v.v, Value::Map(_) | Value::Seq(_)) {
                    continue;
                }
                let mut p = path;
                p[len] = k.as_str();
                unicity(v, p, len + 1, depth - 1)?;
            }
        }
        Value::Seq(items) => {
            if items.len() < 2 {
                return Ok(());
            }
            let owned: Vec<String> = path[..len].iter().map(|s| s.to_string()).collect();
            if let Some(ix) = unique(&owned) {
                let old = std::mem::take(items);
                let mut seq: Vec<Node> = Vec::with_capacity(old.len());
                let mut keys: std::collections::HashMap<String, usize> =
                    std::collections::HashMap::with_capacity(old.len());
                for (i, entry) in old.into_iter().enumerate() {
                    let key = index_key(ix, &entry, &owned, i)?;
                    if let Some(&j) = keys.get(&key) {
                        seq[j] = entry;
                    } else {
                        keys.insert(key, seq.len());
                        seq.push(entry);
                    }
                }
                *items = seq;
            }
        }
        _ => {}
    }
    Ok(())
}

fn go_verb(n: Option<&Node>, verb: char) -> String {
    match n.map(|n| &n.v) {
        None | Some(Value::Null) => format!("%!{verb}(<nil>)"),
        Some(Value::Str(s)) => {
            if verb == 's' {
                s.clone()
            } else {
                format!("%!{verb}(string={s})")
            }
        }
        Some(Value::Int(i)) => {
            if verb == 'd' {
                i.to_string()
            } else {
                format!("%!{verb}(int={i})")
            }
        }
        Some(Value::Bool(b)) => format!("%!{verb}(bool={b})"),
        Some(Value::Float(f)) => format!("%!{verb}(float64={})", super::units::go_float(*f, 64)),
        Some(other) => format!(
            "%!{verb}({})",
            Node::new(other.clone(), Default::default()).go_string()
        ),
    }
}

fn index_key(ix: Indexer, entry: &Node, p: &[String], i: usize) -> Result<String, LoadError> {
    let here = || format!("{}[{i}]", p.join("."));
    match ix {
        Indexer::KeyValue => match &entry.v {
            Value::Str(s) => Ok(s.split_once('=').map(|(k, _)| k).unwrap_or(s).to_string()),
            _ => Err(LoadError::at(
                entry.pos,
                here(),
                format!("unexpected type {}", go_type_name(entry)),
            )),
        },
        Indexer::Volume => match &entry.v {
            Value::Map(m) => match m.get("target").and_then(Node::as_str) {
                Some(t) => Ok(t.to_string()),
                None => Err(LoadError::at(
                    entry.pos,
                    here(),
                    "service volume is missing a mount target",
                )),
            },
            Value::Str(s) => volume_spec::parse_volume(s)
                .map(|v| v.target.unwrap_or_default())
                .map_err(|e| LoadError::at(entry.pos, here(), e)),
            _ => Ok(String::new()),
        },
        Indexer::Device => match &entry.v {
            Value::Map(m) => match m.get("target").and_then(Node::as_str) {
                Some(t) => Ok(t.to_string()),
                None => Err(LoadError::at(
                    entry.pos,
                    here(),
                    "service device is missing a mount target",
                )),
            },
            Value::Str(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                Ok(if parts.len() == 1 { parts[0] } else { parts[1] }.to_string())
            }
            _ => Ok(String::new()),
        },
        Indexer::Expose => match &entry.v {
            Value::Str(s) => Ok(s.clone()),
            Value::Int(i) => Ok(i.to_string()),
            _ => Err(LoadError::at(
                entry.pos,
                here(),
                format!("unsupported expose value {}", entry.go_string()),
            )),
        },
        Indexer::Mount(default) => match &entry.v {
            Value::Str(s) => Ok(format!("{default}/{s}")),
            Value::Map(m) => match m.get("target") {
                Some(t) => Ok(t.go_string()),
                None => Ok(format!("{default}/{}", go_verb(m.get("source"), 's'))),
            },
            _ => Err(LoadError::at(
                entry.pos,
                here(),
                format!("unsupported value {}", entry.go_string()),
            )),
        },
        Indexer::Port => match &entry.v {
            Value::Int(i) => Ok(i.to_string()),
            Value::Str(s) => Ok(s.clone()),
            Value::Map(m) => {
                let Some(target) = m.get("target") else {
                    return Err(LoadError::at(
                        entry.pos,
                        here(),
                        "service port is missing a target port",
                    ));
                };
                let host = m
                    .get("host_ip")
                    .map(|h| go_verb(Some(h), 's'))
                    .unwrap_or_else(|| "0.0.0.0".into());
                let proto = m
                    .get("protocol")
                    .map(|h| go_verb(Some(h), 's'))
                    .unwrap_or_else(|| "tcp".into());
                Ok(format!(
                    "{}:{}:{}/{}",
                    host,
                    go_verb(m.get("published"), 's'),
                    go_verb(Some(target), 'd'),
                    proto
                ))
            }
            _ => Ok(String::new()),
        },
        Indexer::EnvFile => match &entry.v {
            Value::Str(s) => Ok(s.clone()),
            Value::Map(m) => match m.get("path") {
                Some(p) => Ok(p.go_string()),
                None => Err(LoadError::at(
                    entry.pos,
                    here(),
                    "environment path attribute is missing",
                )),
            },
            _ => Ok(String::new()),
        },
    }
}

fn go_type_name(n: &Node) -> &'static str {
    match &n.v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::Seq(_) => "[]interface {}",
        Value::Map(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::yaml::parse_documents;

    fn doc(s: &str) -> Node {
        parse_documents(s, 0).unwrap().remove(0)
    }

    fn merged(a: &str, b: &str) -> serde_json::Value {
        let mut n = merge(doc(a), doc(b)).unwrap();
        enforce_unicity(&mut n).unwrap();
        n.to_json()
    }

    #[test]
    fn environment_merges_as_key_value_list() {
        let j = merged(
            "services: {a: {environment: {A: 1, B: x}}}",
            "services: {a: {environment: [B=y, C]}}",
        );
        assert_eq!(
            j["services"]["a"]["environment"],
            serde_json::json!(["A=1", "B=y", "C"])
        );
    }

    #[test]
    fn ports_append_and_deduplicate() {
        let j = merged(
            "services: {a: {ports: ['80:80', '81:81']}}",
            "services: {a: {ports: ['80:80', '82:82']}}",
        );
        assert_eq!(
            j["services"]["a"]["ports"],
            serde_json::json!(["80:80", "81:81", "82:82"])
        );
    }

    #[test]
    fn command_is_replaced_and_null_keeps_scalars() {
        let j = merged(
            "services: {a: {command: [a, b], image: x}}",
            "services: {a: {command: [c], image: null}}",
        );
        assert_eq!(j["services"]["a"]["command"], serde_json::json!(["c"]));
        assert_eq!(j["services"]["a"]["image"], serde_json::json!("x"));
    }

    #[test]
    fn depends_on_list_and_map_merge() {
        let j = merged(
            "services: {a: {depends_on: [db]}}",
            "services: {a: {depends_on: {cache: {condition: service_healthy}}}}",
        );
        assert_eq!(
            j["services"]["a"]["depends_on"],
            serde_json::json!({"db": {"condition": "service_started", "required": true}, "cache": {"condition": "service_healthy"}})
        );
    }

    #[test]
    fn logging_options_merge_only_for_same_driver() {
        let j = merged(
            "services: {a: {logging: {driver: syslog, options: {a: 1}}}}",
            "services: {a: {logging: {driver: json-file, options: {b: 2}}}}",
        );
        assert_eq!(
            j["services"]["a"]["logging"],
            serde_json::json!({"driver": "json-file", "options": {"b": 2}})
        );
        let j = merged(
            "services: {a: {logging: {driver: syslog, options: {a: 1}}}}",
            "services: {a: {logging: {options: {b: 2}}}}",
        );
        assert_eq!(
            j["services"]["a"]["logging"],
            serde_json::json!({"driver": "syslog", "options": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn volumes_deduplicate_by_target() {
        let j = merged(
            "services: {a: {volumes: ['./a:/data', 'b:/other']}}",
            "services: {a: {volumes: [{type: volume, source: c, target: /data}]}}",
        );
        assert_eq!(
            j["services"]["a"]["volumes"],
            serde_json::json!([{"type": "volume", "source": "c", "target": "/data"}, "b:/other"])
        );
    }
}
