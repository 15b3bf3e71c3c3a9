//! Canonical (long) syntax for every field with a short one, plus implicit defaults, on the
//! tree (compose-go `transform.Canonical`, `transform.SetDefaultValues`, `loader.OmitEmpty`).

use super::error::LoadError;
use super::node::{Map, Node, Pos, Value};
use super::volume_spec::{parse_ports, parse_volume};

/// Rewrite short syntaxes into long ones. With `ignore_parse_errors` (no interpolation), a
/// port or volume that does not parse is kept as written.
pub fn canonical(root: &mut Node, ignore_parse_errors: bool) -> Result<(), LoadError> {
    let Some(top) = root.as_map_mut() else {
        return Ok(());
    };
    let ctx = Ctx {
        ignore: ignore_parse_errors,
    };
    for (k, v) in top.iter_mut() {
        match k.as_str() {
            "services" => {
                if let Some(services) = v.as_map_mut() {
                    for (name, svc) in services.iter_mut() {
                        ctx.service(name, svc)?;
                    }
                }
            }
            "volumes" | "networks" | "secrets" | "configs" => {
                if let Some(m) = v.as_map_mut() {
                    for (name, r) in m.iter_mut() {
                        maybe_external(k, name, r)?;
                    }
                }
            }
            "include" => {
                if let Some(items) = v.as_seq_mut() {
                    for it in items.iter_mut() {
                        if let Value::Str(s) = &it.v {
                            let mut m = Map::default();
                            m.insert("path".into(), Node::str(s.clone(), it.pos));
                            it.v = Value::Map(m);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `services.<name>.<field>`, formatted only when an error needs it.
struct FieldPath<'a>(&'a str, &'a str);

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "services.{}.{}", self.0, self.1)
    }
}

/// `services.<name>.<field>[i]`, formatted only when an error needs it.
struct Indexed<'a>(&'a str, &'a str, usize);

impl std::fmt::Display for Indexed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "services.{}.{}[{}]", self.0, self.1, self.2)
    }
}

struct Ctx {
    ignore: bool,
}

fn string_or_list(n: &mut Node) {
    if let Value::Str(s) = &n.v {
        let item = Node::str(s.clone(), n.pos);
        n.v = Value::Seq(vec![item]);
    }
}

fn map_of(entries: Vec<(&str, Node)>, pos: Pos) -> Node {
    let mut m = Map::default();
    for (k, v) in entries {
        m.insert(k.to_string(), v);
    }
    Node::map(m, pos)
}

impl Ctx {
    fn service(&self, name: &str, svc: &mut Node) -> Result<(), LoadError> {
        let Some(m) = svc.as_map_mut() else {
            return Ok(());
        };
        for (k, v) in m.iter_mut() {
            match k.as_str() {
                "build" => match &mut v.v {
                    Value::Str(s) => {
                        let ctx = Node::str(s.clone(), v.pos);
                        v.v = Value::Map(Map::from_iter([("context".to_string(), ctx)]));
                    }
                    Value::Map(b) => {
                        for (bk, bv) in b.iter_mut() {
                            match bk.as_str() {
                                "secrets" => {
                                    if let Some(items) = bv.as_seq_mut() {
                                        for it in items.iter_mut() {
                                            file_mount(it, &FieldPath(name, "build.secrets"))?;
                                        }
                                    }
                                }
                                "additional_contexts" => {
                                    key_value(bv, &FieldPath(name, "build.additional_contexts"))?
                                }
                                "ssh" => ssh(bv, &FieldPath(name, "build.ssh"))?,
                                "ulimits" => {
                                    if let Some(u) = bv.as_map() {
                                        check_ulimits(u, &FieldPath(name, "build.ulimits"))?;
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {
                        return Err(LoadError::at(
                            v.pos,
                            FieldPath(name, "build").to_string(),
                            "invalid type for build",
                        ));
                    }
                },
                "depends_on" => depends_on(v, &FieldPath(name, "depends_on"))?,
                "env_file" => env_file(v, &FieldPath(name, "env_file"))?,
                "label_file" | "dns" => string_or_list(v),
                "extends" => {
                    if let Value::Str(s) = &v.v {
                        let n = Node::str(s.clone(), v.pos);
                        v.v = Value::Map(Map::from_iter([("service".to_string(), n)]));
                    }
                }
                "gpus" => {
                    if let Value::Str(_) = &v.v {
                        let item = map_of(vec![("count", Node::str("all", v.pos))], v.pos);
                        v.v = Value::Seq(vec![item]);
                    }
                }
                "networks" => {
                    if let Value::Seq(items) = &v.v {
                        let mut m = Map::default();
                        for it in items {
                            let mut n = Node::null(it.pos);
                            n.kpos = it.pos;
                            m.insert(it.go_string(), n);
                        }
                        v.v = Value::Map(m);
                    }
                }
                "volumes" => {
                    if let Some(items) = v.as_seq_mut() {
                        for (i, it) in items.iter_mut().enumerate() {
                            self.volume_mount(it, &Indexed(name, "volumes", i))?;
                        }
                    }
                }
                "devices" => {
                    if let Some(items) = v.as_seq_mut() {
                        for it in items.iter_mut() {
                            self.device(it, &FieldPath(name, "devices"))?;
                        }
                    }
                }
                "secrets" | "configs" => {
                    if let Some(items) = v.as_seq_mut() {
                        for it in items.iter_mut() {
                            file_mount(it, &FieldPath(name, k))?;
                        }
                    }
                }
                "ports" => self.ports(v, &FieldPath(name, "ports"))?,
                "ulimits" => {
                    if let Some(u) = v.as_map() {
                        check_ulimits(u, &FieldPath(name, "ulimits"))?;
                    }
                }
                "develop" => {
                    if let Some(watch) = v.get_mut("watch").and_then(Node::as_seq_mut) {
                        for w in watch.iter_mut() {
                            if let Some(wm) = w.as_map_mut() {
                                for key in ["ignore", "include"] {
                                    if let Some(x) = wm.get_mut(key) {
                                        string_or_list(x);
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn volume_mount(&self, it: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
        match &it.v {
            Value::Map(_) => Ok(()),
            Value::Str(s) => {
                let spec = match parse_volume(s) {
                    Ok(v) => v,
                    Err(e) => {
                        if self.ignore {
                            return Ok(());
                        }
                        return Err(LoadError::at(it.pos, path.to_string(), e));
                    }
                };
                let pos = it.pos;
                let mut m = Map::default();
                m.insert("type".into(), Node::str(spec.kind, pos));
                if let Some(s) = spec.source {
                    m.insert("source".into(), Node::str(s, pos));
                }
                if let Some(t) = spec.target {
                    let t = if t.is_empty() {
                        t
                    } else {
                        super::paths::clean_unix(&t)
                    };
                    m.insert("target".into(), Node::str(t, pos));
                }
                if spec.read_only {
                    m.insert("read_only".into(), Node::bool(true, pos));
                }
                if let Some((selinux, propagation, create)) = spec.bind {
                    let mut b = Map::default();
                    if let Some(s) = selinux {
                        b.insert("selinux".into(), Node::str(s, pos));
                    }
                    if let Some(p) = propagation {
                        b.insert("propagation".into(), Node::str(p, pos));
                    }
                    if create {
                        b.insert("create_host_path".into(), Node::bool(true, pos));
                    }
                    m.insert("bind".into(), Node::map(b, pos));
                }
                if let Some(nocopy) = spec.volume {
                    let mut vm = Map::default();
                    if nocopy {
                        vm.insert("nocopy".into(), Node::bool(true, pos));
                    }
                    m.insert("volume".into(), Node::map(vm, pos));
                }
                it.v = Value::Map(m);
                Ok(())
            }
            _ => Err(LoadError::at(
                it.pos,
                path.to_string(),
                format!("invalid type {} for service volume mount", it.kind_name()),
            )),
        }
    }

    fn device(&self, it: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
        let Value::Str(s) = &it.v else {
            return Ok(());
        };
        let arr: Vec<&str> = s.split(':').collect();
        let (src, mut dst, perms) = match arr.len() {
            3 => (arr[0], arr[1], arr[2]),
            2 => (arr[0], arr[1], "rwm"),
            1 => (arr[0], "", "rwm"),
            _ => {
                if !self.ignore {
                    return Err(LoadError::at(
                        it.pos,
                        path.to_string(),
                        format!("confusing device mapping, please use long syntax: {s}"),
                    ));
                }
                ("", "", "rwm")
            }
        };
        if dst.is_empty() {
            dst = src;
        }
        let pos = it.pos;
        *it = map_of(
            vec![
                ("source", Node::str(src, pos)),
                ("target", Node::str(dst, pos)),
                ("permissions", Node::str(perms, pos)),
            ],
            pos,
        );
        Ok(())
    }

    fn ports(&self, v: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
        let Value::Seq(items) = &v.v else {
            return Err(LoadError::at(
                v.pos,
                path.to_string(),
                "invalid type for ports",
            ));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            match &it.v {
                Value::Int(_) => out.push(map_of(vec![("target", it.clone())], it.pos)),
                Value::Str(s) => {
                    let parsed = match parse_ports(s) {
                        Ok(p) => p,
                        Err(e) => {
                            if self.ignore {
                                return Ok(());
                            }
                            return Err(LoadError::at(it.pos, format!("{path}[{i}]"), e)
                                .with_hint("ports are `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, with ports between 0 and 65535"));
                        }
                    };
                    for p in parsed {
                        let pos = it.pos;
                        let mut m = Map::default();
                        m.insert("mode".into(), Node::str("ingress", pos));
                        if !p.host_ip.is_empty() {
                            m.insert("host_ip".into(), Node::str(p.host_ip, pos));
                        }
                        m.insert("target".into(), Node::int(p.target as i64, pos));
                        if !p.published.is_empty() {
                            m.insert("published".into(), Node::str(p.published, pos));
                        }
                        m.insert("protocol".into(), Node::str(p.protocol, pos));
                        out.push(Node::map(m, pos));
                    }
                }
                Value::Map(_) => out.push(it.clone()),
                _ => {
                    return Err(LoadError::at(
                        it.pos,
                        format!("{path}[{i}]"),
                        format!("invalid type {} for port", it.kind_name()),
                    ));
                }
            }
        }
        v.v = Value::Seq(out);
        Ok(())
    }
}

fn file_mount(it: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
    match &it.v {
        Value::Map(_) => Ok(()),
        Value::Str(s) => {
            let n = Node::str(s.clone(), it.pos);
            it.v = Value::Map(Map::from_iter([("source".to_string(), n)]));
            Ok(())
        }
        _ => Err(LoadError::at(
            it.pos,
            path.to_string(),
            format!("unsupported type {}", it.kind_name()),
        )),
    }
}

fn key_value(v: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
    match &v.v {
        Value::Map(_) => Ok(()),
        Value::Seq(items) => {
            let mut m = Map::default();
            for it in items {
                let s = it.go_string();
                let Some((k, val)) = s.split_once('=') else {
                    return Err(LoadError::at(
                        it.pos,
                        path.to_string(),
                        format!("invalid value {s}, expected key=value"),
                    ));
                };
                let mut n = Node::str(val, it.pos);
                n.kpos = it.pos;
                m.insert(k.to_string(), n);
            }
            v.v = Value::Map(m);
            Ok(())
        }
        _ => Err(LoadError::at(
            v.pos,
            path.to_string(),
            format!("invalid type {}", v.kind_name()),
        )),
    }
}

fn ssh(v: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
    match &v.v {
        Value::Map(_) => Ok(()),
        Value::Seq(items) => {
            let mut m = Map::default();
            for it in items {
                let Some(s) = it.as_str() else {
                    return Err(LoadError::at(
                        it.pos,
                        path.to_string(),
                        format!("invalid ssh key type {}", it.kind_name()),
                    ));
                };
                match s.split_once('=') {
                    None => {
                        if s != "default" {
                            return Err(LoadError::at(
                                it.pos,
                                path.to_string(),
                                format!("invalid ssh key {s:?}"),
                            ));
                        }
                        m.insert(s.to_string(), Node::null(it.pos));
                    }
                    Some((id, p)) => {
                        m.insert(id.to_string(), Node::str(p, it.pos));
                    }
                }
            }
            v.v = Value::Map(m);
            Ok(())
        }
        _ => Err(LoadError::at(
            v.pos,
            path.to_string(),
            format!("invalid type {} for ssh", v.kind_name()),
        )),
    }
}

fn check_ulimits(u: &Map, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
    for (k, v) in u {
        match &v.v {
            Value::Map(_) | Value::Int(_) => {}
            _ => {
                return Err(LoadError::at(
                    v.pos,
                    format!("{path}.{k}"),
                    format!("invalid type {} for ulimits", v.kind_name()),
                ));
            }
        }
    }
    Ok(())
}

fn depends_on(v: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
    match &mut v.v {
        Value::Map(m) => {
            for (k, d) in m.iter_mut() {
                let dpos = d.pos;
                let Some(dm) = d.as_map_mut() else {
                    return Err(LoadError::at(
                        dpos,
                        format!("{path}.{k}"),
                        "unsupported value",
                    ));
                };
                if !dm.contains_key("condition") {
                    dm.insert("condition".into(), Node::str("service_started", dpos));
                }
                if !dm.contains_key("required") {
                    dm.insert("required".into(), Node::bool(true, dpos));
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            let mut m = Map::default();
            for it in items.iter() {
                let mut n = map_of(
                    vec![
                        ("condition", Node::str("service_started", it.pos)),
                        ("required", Node::bool(true, it.pos)),
                    ],
                    it.pos,
                );
                n.kpos = it.pos;
                m.insert(it.go_string(), n);
            }
            v.v = Value::Map(m);
            Ok(())
        }
        _ => Err(LoadError::at(
            v.pos,
            path.to_string(),
            format!("invalid type {} for depends_on", v.kind_name()),
        )),
    }
}

fn env_file(v: &mut Node, path: &dyn std::fmt::Display) -> Result<(), LoadError> {
    if let Value::Str(_) = &v.v {
        string_or_list(v);
    }
    let Some(items) = v.as_seq_mut() else {
        return Err(LoadError::at(
            v.pos,
            path.to_string(),
            format!("invalid type {} for env_file", v.kind_name()),
        ));
    };
    for (i, it) in items.iter_mut().enumerate() {
        match &mut it.v {
            Value::Str(s) => {
                let p = Node::str(s.clone(), it.pos);
                *it = map_of(
                    vec![("path", p), ("required", Node::bool(true, it.pos))],
                    it.pos,
                );
            }
            Value::Map(m) => {
                if !m.contains_key("required") {
                    m.insert("required".into(), Node::bool(true, it.pos));
                }
            }
            _ => {
                return Err(LoadError::at(
                    it.pos,
                    format!("{path}[{i}]"),
                    format!("invalid type {} for env_file", it.kind_name()),
                ));
            }
        }
    }
    Ok(())
}

fn maybe_external(kind: &str, name: &str, r: &mut Node) -> Result<(), LoadError> {
    let pos = r.pos;
    let Some(m) = r.as_map_mut() else {
        return Ok(());
    };
    let Some(ext) = m.get("external") else {
        return Ok(());
    };
    let Value::Map(em) = &ext.v else {
        return Ok(());
    };
    let ext_pos = ext.pos;
    let ext_kpos = ext.kpos;
    let extname = em.get("name").cloned();
    let mut t = Node::bool(true, ext_pos);
    t.kpos = ext_kpos;
    m.insert("external".into(), t);
    if let Some(extname) = extname {
        crate::project::warn(format!(
            "{kind}.{name}: external.name is deprecated. Please set name and external: true"
        ));
        match m.get("name") {
            Some(n) if n.v != extname.v => {
                return Err(LoadError::at(
                    pos,
                    format!("{kind}.{name}"),
                    "name and external.name conflict; only use name",
                ));
            }
            Some(_) => {}
            None => {
                m.insert("name".into(), extname);
            }
        }
    }
    Ok(())
}

/// Implicit defaults once all files are merged.
pub fn set_defaults(root: &mut Node) {
    let Some(services) = root.get_mut("services").and_then(Node::as_map_mut) else {
        return;
    };
    for (_, svc) in services.iter_mut() {
        let Some(s) = svc.as_map_mut() else { continue };
        if let Some(b) = s.get_mut("build") {
            let bpos = b.pos;
            if let Some(bm) = b.as_map_mut()
                && !bm.contains_key("context")
            {
                bm.insert("context".into(), Node::str(".", bpos));
            }
        }
        if let Some(items) = s.get_mut("secrets").and_then(Node::as_seq_mut) {
            for it in items.iter_mut() {
                let pos = it.pos;
                if let Some(m) = it.as_map_mut()
                    && !m.contains_key("target")
                {
                    let src = m
                        .get("source")
                        .map(|s| s.go_string())
                        .unwrap_or_else(|| "<nil>".into());
                    m.insert(
                        "target".into(),
                        Node::str(format!("/run/secrets/{src}"), pos),
                    );
                }
            }
        }
        if let Some(items) = s.get_mut("ports").and_then(Node::as_seq_mut) {
            for it in items.iter_mut() {
                let pos = it.pos;
                if let Some(m) = it.as_map_mut() {
                    if !m.contains_key("protocol") {
                        m.insert("protocol".into(), Node::str("tcp", pos));
                    }
                    if !m.contains_key("mode") {
                        m.insert("mode".into(), Node::str("ingress", pos));
                    }
                }
            }
        }
        let device_defaults = |items: &mut Vec<Node>| {
            for it in items.iter_mut() {
                let pos = it.pos;
                if let Some(m) = it.as_map_mut()
                    && !m.contains_key("count")
                    && !m.contains_key("device_ids")
                {
                    m.insert("count".into(), Node::str("all", pos));
                }
            }
        };
        if let Some(items) = s.get_mut("gpus").and_then(Node::as_seq_mut) {
            device_defaults(items);
        }
        if let Some(items) = s
            .get_mut("deploy")
            .and_then(|d| d.get_mut("resources"))
            .and_then(|r| r.get_mut("reservations"))
            .and_then(|r| r.get_mut("devices"))
            .and_then(Node::as_seq_mut)
        {
            device_defaults(items);
        }
    }
}

/// Drop empty entries that mean nothing (`dns: [""]`).
pub fn omit_empty(root: &mut Node) {
    let Some(services) = root.get_mut("services").and_then(Node::as_map_mut) else {
        return;
    };
    for (_, svc) in services.iter_mut() {
        if let Some(dns) = svc.get_mut("dns").and_then(Node::as_seq_mut) {
            dns.retain(|n| !(n.is_null() || n.as_str() == Some("")));
        }
    }
}
