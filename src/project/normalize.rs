//! Normalization of the merged model (compose-go `loader.Normalize`): implicit default
//! network, build defaults, environment resolution, implicit dependencies (links, shared
//! namespaces, `volumes_from`), clean mount targets, resource names.

use std::collections::BTreeMap;

use super::node::{Map, Node, Pos, Value};
use super::paths::clean_unix;

pub fn normalize(dict: &mut Node, env: &BTreeMap<String, String>) {
    normalize_networks(dict);
    let lookup = |k: &str| env.get(k).cloned();
    if let Some(services) = dict.get_mut("services").and_then(Node::as_map_mut) {
        for (_, svc) in services.iter_mut() {
            let spos = svc.pos;
            let Some(s) = svc.as_map_mut() else { continue };
            if s.get("pull_policy").and_then(Node::as_str) == Some("if_not_present") {
                let p = s["pull_policy"].pos;
                s.insert("pull_policy".into(), Node::str("missing", p));
            }
            if let Some(b) = s.get_mut("build") {
                let bpos = b.pos;
                if let Some(bm) = b.as_map_mut() {
                    if bm.get("context").is_none_or(Node::is_null) {
                        bm.insert("context".into(), Node::str(".", bpos));
                    }
                    if bm.get("dockerfile").is_none_or(Node::is_null)
                        && bm.get("dockerfile_inline").is_none_or(Node::is_null)
                    {
                        bm.insert("dockerfile".into(), Node::str("Dockerfile", bpos));
                    }
                    if let Some(a) = bm.get_mut("args") {
                        resolve(a, &lookup, false);
                    }
                }
            }
            if let Some(e) = s.get_mut("environment") {
                resolve(e, &lookup, true);
            }
            let mut depends_on: Map = match s.shift_remove("depends_on") {
                Some(Node {
                    v: Value::Map(m), ..
                }) => m,
                _ => Map::default(),
            };
            let implicit = |restart: bool, pos: Pos| {
                let mut m = Map::default();
                m.insert("condition".into(), Node::str("service_started", pos));
                m.insert("restart".into(), Node::bool(restart, pos));
                m.insert("required".into(), Node::bool(true, pos));
                Node::map(m, pos)
            };
            if let Some(links) = s.get("links").and_then(Node::as_seq) {
                for l in links {
                    let link = l.go_string();
                    let parts: Vec<&str> = link.split(':').collect();
                    let name = if parts.len() == 2 {
                        parts[0]
                    } else {
                        link.as_str()
                    };
                    if !depends_on.contains_key(name) {
                        depends_on.insert(name.to_string(), implicit(true, l.pos));
                    }
                }
            }
            for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
                if let Some(n) = s.get(ns)
                    && let Some(r) = n.as_str()
                    && let Some(shared) = r.strip_prefix("service:")
                    && !depends_on.contains_key(shared)
                {
                    depends_on.insert(shared.to_string(), implicit(true, n.pos));
                }
            }
            if let Some(vols) = s.get_mut("volumes").and_then(Node::as_seq_mut) {
                for v in vols.iter_mut() {
                    if let Some(t) = v.get_mut("target")
                        && let Value::Str(ts) = &t.v
                    {
                        let c = clean_unix(ts);
                        t.v = Value::Str(c);
                    }
                }
            }
            if let Some(vf) = s.get("volumes_from").and_then(Node::as_seq) {
                for v in vf {
                    let vol = v.go_string();
                    if !vol.starts_with("container:") {
                        let name = vol.split(':').next().unwrap_or("").to_string();
                        if !depends_on.contains_key(&name) {
                            depends_on.insert(name, implicit(false, v.pos));
                        }
                    }
                }
            }
            if !depends_on.is_empty() {
                s.insert("depends_on".into(), Node::map(depends_on, spos));
            }
        }
    }
    set_name_from_key(dict);
}

fn normalize_networks(dict: &mut Node) {
    let mut uses_default = false;
    if let Some(services) = dict.get_mut("services").and_then(Node::as_map_mut) {
        for (_, svc) in services.iter_mut() {
            let pos = svc.pos;
            let Some(s) = svc.as_map_mut() else { continue };
            if s.contains_key("network_mode") || s.contains_key("provider") {
                continue;
            }
            let default_net = || {
                let mut m = Map::default();
                m.insert("default".into(), Node::null(pos));
                Node::map(m, pos)
            };
            match s.get("networks") {
                None => {
                    s.insert("networks".into(), default_net());
                    uses_default = true;
                }
                Some(n) => match &n.v {
                    Value::Map(m) if m.is_empty() => {
                        s.insert("networks".into(), default_net());
                        uses_default = true;
                    }
                    Value::Map(m) if m.contains_key("default") => {
                        uses_default = true;
                    }
                    Value::Null => {
                        s.insert("networks".into(), default_net());
                        uses_default = true;
                    }
                    _ => {}
                },
            }
        }
    }
    let Some(top) = dict.as_map_mut() else { return };
    let has_default = top
        .get("networks")
        .and_then(Node::as_map)
        .is_some_and(|m| m.contains_key("default"));
    if uses_default && !has_default {
        let nets = top
            .entry("networks".to_string())
            .or_insert_with(|| Node::map(Map::default(), Pos::NONE));
        if nets.is_null() {
            nets.v = Value::Map(Map::default());
        }
        if let Some(m) = nets.as_map_mut() {
            m.insert("default".into(), Node::null(Pos::NONE));
        }
    }
}

/// compose-go `resolve`: variables declared without a value take it from the environment;
/// with `keep_empty` false, unresolved ones are dropped.
fn resolve(n: &mut Node, lookup: &dyn Fn(&str) -> Option<String>, keep_empty: bool) {
    match &mut n.v {
        Value::Seq(items) => {
            let old = std::mem::take(items);
            for it in old {
                match &it.v {
                    Value::Str(s) if !s.contains('=') => {
                        if let Some(v) = lookup(s) {
                            items.push(Node::str(format!("{s}={v}"), it.pos));
                        } else if keep_empty {
                            items.push(it);
                        }
                    }
                    Value::Str(_) => items.push(it),
                    _ => {}
                }
            }
        }
        Value::Map(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if !m[&k].is_null() {
                    continue;
                }
                if let Some(v) = lookup(&k) {
                    let pos = m[&k].pos;
                    let kpos = m[&k].kpos;
                    let mut nv = Node::str(v, pos);
                    nv.kpos = kpos;
                    m.insert(k, nv);
                } else if !keep_empty {
                    m.shift_remove(&k);
                }
            }
        }
        _ => {}
    }
}

fn set_name_from_key(dict: &mut Node) {
    let project = dict.get_str("name").unwrap_or("").to_string();
    let Some(top) = dict.as_map_mut() else { return };
    for kind in ["networks", "volumes", "configs", "secrets"] {
        let Some(m) = top.get_mut(kind).and_then(Node::as_map_mut) else {
            continue;
        };
        for (key, r) in m.iter_mut() {
            if r.is_null() {
                r.v = Value::Map(Map::default());
            }
            let Some(rm) = r.as_map_mut() else { continue };
            if rm.get("name").is_none_or(Node::is_null) {
                let external = rm
                    .get("external")
                    .is_some_and(|x| matches!(x.v, Value::Bool(true)))
                    || rm
                        .get("external")
                        .is_some_and(|x| x.as_str().is_some_and(|s| s == "true" || s == "1"));
                let name = if external {
                    key.clone()
                } else {
                    format!("{project}_{key}")
                };
                rm.insert("name".into(), Node::str(name, Pos::NONE));
            }
        }
    }
}
