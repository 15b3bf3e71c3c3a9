//! Typed instructions from parser nodes, with BuildKit's flag rules and error messages
//! (`frontend/dockerfile/instructions`).

use super::parser::{Ast, Heredoc, Node, Span, SyntaxError, parse_heredoc};
use super::{gofmt, suggest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    /// Written in the legacy `KEY value` form.
    pub no_delim: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    pub key: String,
    pub value: Option<String>,
}

/// A heredoc or a path given as a COPY/ADD source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContent {
    pub path: String,
    pub data: String,
    pub expand: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcesAndDest {
    pub dest: String,
    pub sources: Vec<String>,
    pub contents: Vec<SourceContent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyFlags {
    pub from: String,
    pub chown: String,
    pub chmod: String,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub checksum: String,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub kind: String,
    pub from: String,
    pub source: String,
    pub target: String,
    pub readonly: bool,
    pub id: String,
    pub sharing: String,
    pub required: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<String>,
    pub env: String,
}

/// A RUN/CMD/ENTRYPOINT command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdLine {
    pub args: Vec<String>,
    /// Shell form: the current SHELL is prepended.
    pub prepend_shell: bool,
    pub files: Vec<Heredoc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Env(Vec<KeyValue>),
    Maintainer(String),
    Label(Vec<KeyValue>),
    Add {
        sd: SourcesAndDest,
        flags: CopyFlags,
    },
    Copy {
        sd: SourcesAndDest,
        flags: CopyFlags,
    },
    Onbuild(String),
    Workdir(String),
    Run {
        cmd: CmdLine,
        mounts: Vec<String>,
        network: String,
        security: String,
    },
    Cmd(CmdLine),
    Entrypoint(CmdLine),
    Healthcheck(Health),
    Expose(Vec<String>),
    User(String),
    Volume(Vec<String>),
    StopSignal(String),
    Arg(Vec<ArgDef>),
    Shell(Vec<String>),
}

/// One instruction inside a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub kind: Kind,
    /// The keyword as written.
    pub name: String,
    /// The source text (trimmed, continuations joined).
    pub code: String,
    pub span: Span,
}

/// `FROM [--platform=p] base [AS name]` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub base: String,
    /// Lowercased stage name, empty if unnamed.
    pub name: String,
    pub platform: String,
    pub code: String,
    pub span: Span,
    pub instructions: Vec<Instruction>,
}

/// A Dockerfile as stages plus the ARGs before the first FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub meta_args: Vec<(Vec<ArgDef>, Span)>,
    pub stages: Vec<Stage>,
    pub escape: char,
    pub warnings: Vec<super::parser::Warning>,
}

const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// BuildKit's BFlags: `--name=value`, booleans without a value.
struct Flags {
    args: Vec<String>,
    defs: Vec<(&'static str, FlagType)>,
    values: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Copy, PartialEq)]
enum FlagType {
    Bool,
    Str,
    Strings,
}

impl Flags {
    fn new(args: &[String]) -> Self {
        Self {
            args: args.to_vec(),
            defs: Vec::new(),
            values: Vec::new(),
        }
    }
    fn def(&mut self, name: &'static str, t: FlagType) {
        self.defs.push((name, t));
    }
    fn parse(&mut self) -> Result<(), String> {
        for arg in self.args.clone() {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("Arg should start with -- : {arg}"));
            };
            if body.is_empty() {
                return Ok(());
            }
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(_, t)) = self.defs.iter().find(|(n, _)| *n == name) else {
                let names: Vec<String> = self.defs.iter().map(|(n, _)| n.to_string()).collect();
                return Err(suggest::wrap(
                    format!("unknown flag: {name}"),
                    name,
                    &names,
                    true,
                ));
            };
            if t != FlagType::Strings && self.values.iter().any(|(n, _)| n == name) {
                return Err(format!("Duplicate flag specified: {name}"));
            }
            let v = match t {
                FlagType::Bool => match value {
                    Some("") => return Err(format!("Missing a value on flag: {name}")),
                    None => "true".to_string(),
                    Some(v)
                        if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") =>
                    {
                        v.to_ascii_lowercase()
                    }
                    Some(v) => {
                        return Err(format!("Expecting boolean value for flag {name}, not: {v}"));
                    }
                },
                FlagType::Str | FlagType::Strings => match value {
                    Some(v) => v.to_string(),
                    None => return Err(format!("Missing a value on flag: {name}")),
                },
            };
            match self.values.iter_mut().find(|(n, _)| n == name) {
                Some((_, vs)) => vs.push(v),
                None => self.values.push((name.to_string(), vec![v])),
            }
        }
        Ok(())
    }
    fn used(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| n == name)
    }
    fn string(&self, name: &str) -> String {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.last().cloned())
            .unwrap_or_default()
    }
    fn strings(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
    fn bool(&self, name: &str) -> bool {
        self.string(name) == "true"
    }
}

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}
fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}
fn no_dest(cmd: &str) -> String {
    format!(
        "{cmd} requires at least two arguments, but only one was provided. Destination could not be determined"
    )
}

/// Parse the nodes of a Dockerfile into stages.
pub fn from_ast(ast: &Ast) -> Result<Dockerfile, SyntaxError> {
    let mut df = Dockerfile {
        meta_args: Vec::new(),
        stages: Vec::new(),
        escape: ast.escape,
        warnings: ast.warnings.clone(),
    };
    for node in &ast.nodes {
        let err = |m: String| SyntaxError::new(m, node.span.start, node.span.end);
        if node.value.eq_ignore_ascii_case("from") {
            df.stages.push(parse_from(node).map_err(err)?);
            continue;
        }
        let ins = parse_instruction(node).map_err(err)?;
        match df.stages.last_mut() {
            Some(st) => st.instructions.push(ins),
            None => match ins.kind {
                Kind::Arg(a) => df.meta_args.push((a, node.span)),
                _ => return Err(err("no build stage in current context".to_string())),
            },
        }
    }
    if df.stages.is_empty() {
        return Err(SyntaxError::new(
            "dockerfile contains no stages to build",
            ast.nodes.last().map_or(1, |n| n.span.end),
            0,
        ));
    }
    Ok(df)
}

fn parse_from(node: &Node) -> Result<Stage, String> {
    let args = node.flat_args();
    let name = match args.len() {
        3 if args[1].eq_ignore_ascii_case("as") => {
            let n = args[2].to_lowercase();
            let valid = n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && n.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                });
            if !valid {
                return Err(format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    gofmt::quote(&args[2])
                ));
            }
            n
        }
        1 => String::new(),
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    let mut f = Flags::new(&node.flags);
    f.def("platform", FlagType::Str);
    f.parse()?;
    Ok(Stage {
        base: args[0].clone(),
        name,
        platform: f.string("platform"),
        code: node.original.trim().to_string(),
        span: node.span,
        instructions: Vec::new(),
    })
}

/// Parse one non-FROM node (also used for ONBUILD triggers).
pub fn parse_instruction(node: &Node) -> Result<Instruction, String> {
    let args = node.flat_args();
    let mut f = Flags::new(&node.flags);
    let lower = node.value.to_ascii_lowercase();
    let kind = match lower.as_str() {
        "env" | "label" => {
            f.parse()?;
            let cmd = lower.to_uppercase();
            if args.is_empty() {
                return Err(at_least_one(&cmd));
            }
            if !args.len().is_multiple_of(3) {
                return Err(format!("Bad input to {cmd}, too many arguments"));
            }
            let mut kvs = Vec::new();
            for c in args.chunks(3) {
                if c[0].is_empty() {
                    return Err(format!("{cmd} names can not be blank"));
                }
                kvs.push(KeyValue {
                    key: c[0].clone(),
                    value: c[1].clone(),
                    no_delim: c[2].is_empty(),
                });
            }
            if lower == "env" {
                Kind::Env(kvs)
            } else {
                Kind::Label(kvs)
            }
        }
        "maintainer" => {
            if args.len() != 1 {
                return Err(exactly_one("MAINTAINER"));
            }
            f.parse()?;
            Kind::Maintainer(args[0].clone())
        }
        "add" | "copy" => {
            let cmd = lower.to_uppercase();
            if args.len() < 2 {
                return Err(no_dest(&cmd));
            }
            f.def("exclude", FlagType::Strings);
            f.def("chown", FlagType::Str);
            f.def("chmod", FlagType::Str);
            f.def("link", FlagType::Bool);
            if lower == "add" {
                f.def("keep-git-dir", FlagType::Bool);
                f.def("checksum", FlagType::Str);
                f.def("unpack", FlagType::Bool);
            } else {
                f.def("parents", FlagType::Bool);
                f.def("from", FlagType::Str);
            }
            f.parse()?;
            let sd = sources_and_dest(node, &args, &cmd)?;
            let flags = CopyFlags {
                from: f.string("from"),
                chown: f.string("chown"),
                chmod: f.string("chmod"),
                link: f.bool("link"),
                parents: f.bool("parents"),
                excludes: f.strings("exclude"),
                checksum: f.string("checksum"),
                keep_git_dir: f.bool("keep-git-dir"),
                unpack: f.used("unpack").then(|| f.bool("unpack")),
            };
            if lower == "add" {
                Kind::Add { sd, flags }
            } else {
                Kind::Copy { sd, flags }
            }
        }
        "onbuild" => {
            if args.is_empty() {
                return Err(at_least_one("ONBUILD"));
            }
            f.parse()?;
            let trigger = args[0].trim().to_uppercase();
            match trigger.as_str() {
                "ONBUILD" => {
                    return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into());
                }
                "MAINTAINER" | "FROM" => {
                    return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"));
                }
                _ => {}
            }
            let orig = node.original.trim_start();
            let mut expr = orig[orig.find(char::is_whitespace).unwrap_or(orig.len())..]
                .trim_start()
                .to_string();
            for h in &node.heredocs {
                expr.push('\n');
                expr.push_str(&h.content);
                expr.push_str(&h.name);
            }
            Kind::Onbuild(expr)
        }
        "workdir" => {
            if args.len() != 1 {
                return Err(exactly_one("WORKDIR"));
            }
            f.parse()?;
            Kind::Workdir(args[0].clone())
        }
        "run" => {
            f.def("mount", FlagType::Strings);
            f.def("network", FlagType::Str);
            f.def("security", FlagType::Str);
            f.parse()?;
            let mounts = f.strings("mount");
            for m in &mounts {
                parse_mount(m, None)?;
            }
            let network = if f.used("network") {
                f.string("network")
            } else {
                "default".to_string()
            };
            if !matches!(network.as_str(), "default" | "none" | "host") {
                return Err(format!(
                    "network mode {} not supported",
                    gofmt::quote(&network)
                ));
            }
            let security = if f.used("security") {
                f.string("security")
            } else {
                "sandbox".to_string()
            };
            if !matches!(security.as_str(), "sandbox" | "insecure") {
                return Err(format!("security {} is not valid", gofmt::quote(&security)));
            }
            Kind::Run {
                cmd: cmd_line(node, &args, false),
                mounts,
                network,
                security,
            }
        }
        "cmd" => {
            f.parse()?;
            Kind::Cmd(cmd_line(node, &args, false))
        }
        "entrypoint" => {
            f.parse()?;
            Kind::Entrypoint(cmd_line(node, &args, true))
        }
        "healthcheck" => Kind::Healthcheck(parse_healthcheck(node, &args, &mut f)?),
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            f.parse()?;
            let mut ports = args.clone();
            ports.sort();
            Kind::Expose(ports)
        }
        "user" => {
            if args.len() != 1 {
                return Err(exactly_one("USER"));
            }
            f.parse()?;
            Kind::User(args[0].clone())
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            f.parse()?;
            let mut vols = Vec::new();
            for v in &args {
                let v = v.trim();
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                vols.push(v.to_string());
            }
            Kind::Volume(vols)
        }
        "stopsignal" => {
            if args.len() != 1 {
                return Err(exactly_one("STOPSIGNAL"));
            }
            Kind::StopSignal(args[0].clone())
        }
        "arg" => {
            if args.is_empty() {
                return Err(at_least_one("ARG"));
            }
            f.parse()?;
            let mut defs = Vec::new();
            for a in &args {
                match a.split_once('=') {
                    Some(("", _)) => return Err("ARG names can not be blank".into()),
                    Some((k, v)) => defs.push(ArgDef {
                        key: k.to_string(),
                        value: Some(v.to_string()),
                    }),
                    None => defs.push(ArgDef {
                        key: a.clone(),
                        value: None,
                    }),
                }
            }
            Kind::Arg(defs)
        }
        "shell" => {
            f.parse()?;
            if args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Kind::Shell(args.clone())
        }
        _ => {
            let names: Vec<String> = INSTRUCTIONS.iter().map(|s| s.to_string()).collect();
            return Err(suggest::wrap(
                format!("unknown instruction: {}", node.value),
                &node.value,
                &names,
                false,
            ));
        }
    };
    Ok(Instruction {
        kind,
        name: node.value.clone(),
        code: node.original.trim().to_string(),
        span: node.span,
    })
}

fn cmd_line(node: &Node, args: &[String], empty_as_none: bool) -> CmdLine {
    let args = if args.is_empty() || node.json {
        args.to_vec()
    } else {
        vec![args.join(" ")]
    };
    let _ = empty_as_none;
    CmdLine {
        args,
        prepend_shell: !node.json,
        files: node.heredocs.clone(),
    }
}

fn sources_and_dest(node: &Node, args: &[String], cmd: &str) -> Result<SourcesAndDest, String> {
    let (srcs, dest) = args.split_at(args.len() - 1);
    if parse_heredoc(&dest[0])?.is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let mut sources = Vec::new();
    let mut contents = Vec::new();
    for s in srcs {
        match parse_heredoc(s)? {
            Some(h) if !node.json => {
                let doc = node.heredocs.iter().find(|d| d.name == h.name);
                let mut data = doc.map(|d| d.content.clone()).unwrap_or_default();
                if h.chomp {
                    data = super::parser::chomp_heredoc(&data);
                }
                contents.push(SourceContent {
                    path: h.name,
                    data,
                    expand: h.expand,
                });
            }
            _ => sources.push(s.clone()),
        }
    }
    Ok(SourcesAndDest {
        dest: dest[0].clone(),
        sources,
        contents,
    })
}

fn parse_healthcheck(node: &Node, args: &[String], f: &mut Flags) -> Result<Health, String> {
    if args.is_empty() {
        return Err(at_least_one("HEALTHCHECK"));
    }
    let typ = args[0].to_uppercase();
    let rest = &args[1..];
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(Health {
            test: vec![typ],
            interval: 0,
            timeout: 0,
            start_period: 0,
            start_interval: 0,
            retries: 0,
        });
    }
    for n in [
        "interval",
        "timeout",
        "start-period",
        "start-interval",
        "retries",
    ] {
        f.def(n, FlagType::Str);
    }
    f.parse()?;
    if typ != "CMD" {
        return Err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            gofmt::quote(&typ)
        ));
    }
    let cmd = if node.json {
        rest.to_vec()
    } else if rest.is_empty() {
        vec![]
    } else {
        vec![rest.join(" ")]
    };
    if cmd.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let mut test = vec![if node.json {
        "CMD".to_string()
    } else {
        "CMD-SHELL".to_string()
    }];
    test.extend(cmd);
    let dur = |name: &str| -> Result<i64, String> {
        let v = f.string(name);
        if v.is_empty() {
            return Ok(0);
        }
        let d = gofmt::parse_duration(&v)?;
        if d == 0 {
            return Ok(0);
        }
        if d < 1_000_000 {
            return Err(format!(
                "Interval {} cannot be less than 1ms",
                gofmt::quote(name)
            ));
        }
        Ok(d)
    };
    let retries = match f.string("retries") {
        r if r.is_empty() => 0,
        r => {
            let n: i64 = r.parse().map_err(|_| {
                format!(
                    "strconv.ParseInt: parsing {}: invalid syntax",
                    gofmt::quote(&r)
                )
            })?;
            if n < 0 {
                return Err(format!("--retries cannot be negative ({n})"));
            }
            n
        }
    };
    Ok(Health {
        test,
        interval: dur("interval")?,
        timeout: dur("timeout")?,
        start_period: dur("start-period")?,
        start_interval: dur("start-interval")?,
        retries,
    })
}

/// Go's `encoding/csv` for one record (quotes, doubled quotes).
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    loop {
        let mut field = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(
                            "failed to parse csv mounts: extraneous or missing \" in quoted-field"
                                .into(),
                        );
                    }
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        field.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            match chars.get(i) {
                None | Some(',') => {}
                _ => {
                    return Err(
                        "failed to parse csv mounts: extraneous or missing \" in quoted-field"
                            .into(),
                    );
                }
            }
        } else {
            while let Some(&c) = chars.get(i) {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err("failed to parse csv mounts: bare \" in non-quoted-field".into());
                }
                field.push(c);
                i += 1;
            }
        }
        fields.push(field);
        if i >= chars.len() {
            break;
        }
        i += 1; // comma
    }
    Ok(fields)
}

/// Substitutes variables in one word.
pub type Expander<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Parse a `--mount` value. `expand` substitutes variables (at dispatch time); without it,
/// only the syntax is checked (as BuildKit's parse-time hook).
pub fn parse_mount(value: &str, expand: Option<Expander<'_>>) -> Result<MountSpec, String> {
    let mut m = MountSpec {
        kind: "bind".into(),
        from: String::new(),
        source: String::new(),
        target: String::new(),
        readonly: false,
        id: String::new(),
        sharing: String::new(),
        required: false,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        env: String::new(),
    };
    let mut ro_auto = true;
    let parse_bool = |k: &str, v: &str| -> Result<bool, String> {
        match v.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => Ok(true),
            "0" | "f" | "false" => Ok(false),
            _ => Err(format!("invalid value for {k}: {v}")),
        }
    };
    for field in csv_fields(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_string())),
            None => (field.to_ascii_lowercase(), None),
        };
        let Some(mut val) = val else {
            match key.as_str() {
                "readonly" | "ro" => {
                    m.readonly = true;
                    ro_auto = false;
                    continue;
                }
                "readwrite" | "rw" => {
                    m.readonly = false;
                    ro_auto = false;
                    continue;
                }
                "required" if m.kind == "secret" || m.kind == "ssh" => {
                    m.required = true;
                    continue;
                }
                "required" => {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.kind
                    ));
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
        };
        match expand {
            Some(e) => val = e(&val)?,
            None if key == "from" && val.contains('$') && val.len() > 1 => {
                return Err(format!(
                    "'{key}' doesn't support variable expansion, define alias stage instead"
                ));
            }
            None if key != "type" => continue,
            None => {}
        }
        match key.as_str() {
            "type" => {
                let t = val.to_ascii_lowercase();
                let types = ["bind", "cache", "tmpfs", "secret", "ssh"];
                if !types.contains(&t.as_str()) {
                    let opts: Vec<String> = types.iter().map(|s| s.to_string()).collect();
                    return Err(suggest::wrap(
                        format!("unsupported mount type {}", gofmt::quote(&val)),
                        &val,
                        &opts,
                        true,
                    ));
                }
                m.kind = t;
            }
            "from" => m.from = val,
            "source" | "src" => m.source = val,
            "target" | "dst" | "destination" => m.target = val,
            "readonly" | "ro" => {
                m.readonly = parse_bool(&key, &val)?;
                ro_auto = false;
            }
            "readwrite" | "rw" => {
                m.readonly = !parse_bool(&key, &val)?;
                ro_auto = false;
            }
            "required" => {
                if m.kind != "secret" && m.kind != "ssh" {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.kind
                    ));
                }
                m.required = parse_bool(&key, &val)?;
            }
            "id" => m.id = val,
            "sharing" => {
                let s = val.to_ascii_lowercase();
                if !matches!(s.as_str(), "shared" | "private" | "locked") {
                    return Err(format!("unsupported sharing value {}", gofmt::quote(&val)));
                }
                m.sharing = s;
            }
            "mode" => {
                m.mode = Some(
                    u32::from_str_radix(&val, 8)
                        .map_err(|_| format!("invalid value {val} for mode"))?,
                )
            }
            "uid" => {
                m.uid = Some(
                    val.parse()
                        .map_err(|_| format!("invalid value {val} for uid"))?,
                )
            }
            "gid" => {
                m.gid = Some(
                    val.parse()
                        .map_err(|_| format!("invalid value {val} for gid"))?,
                )
            }
            "size" if m.kind == "tmpfs" => m.size = Some(val),
            "env" if m.kind == "secret" => m.env = val,
            _ => {
                let keys = [
                    "type",
                    "from",
                    "source",
                    "target",
                    "readonly",
                    "id",
                    "sharing",
                    "required",
                    "mode",
                    "uid",
                    "gid",
                    "src",
                    "dst",
                    "destination",
                    "ro",
                    "rw",
                    "readwrite",
                    "size",
                    "env",
                ];
                let opts: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
                return Err(suggest::wrap(
                    format!("unexpected key '{key}' in '{field}'"),
                    &key,
                    &opts,
                    true,
                ));
            }
        }
    }
    let file_info_ok = matches!(m.kind.as_str(), "secret" | "ssh" | "cache");
    for (set, what) in [
        (m.mode.is_some(), "mode"),
        (m.uid.is_some(), "uid"),
        (m.gid.is_some(), "gid"),
    ] {
        if set && !file_info_ok {
            return Err(format!(
                "{what} not allowed for {} type mounts",
                gofmt::quote(&m.kind)
            ));
        }
    }
    if ro_auto {
        m.readonly = !matches!(m.kind.as_str(), "cache" | "tmpfs");
    }
    if !m.sharing.is_empty() && m.kind != "cache" {
        return Err(format!("invalid cache sharing set for {} mount", m.kind));
    }
    if m.kind == "cache" && m.sharing.is_empty() {
        m.sharing = "shared".into();
    }
    if m.kind == "secret" {
        if !m.from.is_empty() {
            return Err("secret mount should not have a from".into());
        }
        if expand.is_some() && m.source.is_empty() && m.target.is_empty() && m.id.is_empty() {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if !m.source.is_empty() && !m.id.is_empty() {
            return Err("both source and id can't be set".into());
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    fn err(df: &str) -> String {
        from_ast(&parse(df).unwrap()).unwrap_err().to_string()
    }

    #[test]
    fn unknown_instruction_suggests() {
        assert_eq!(
            err("FORM busybox\n"),
            "unknown instruction: FORM (did you mean FROM?)"
        );
        assert_eq!(
            err("FROM a\nrun2 x\n"),
            "unknown instruction: run2 (did you mean run?)"
        );
    }

    #[test]
    fn flag_errors() {
        assert_eq!(
            err("FROM a\nCOPY --chwon=1 a b\n"),
            "unknown flag: chwon (did you mean chown?)"
        );
        assert_eq!(
            err("FROM a\nCOPY --from a b\n"),
            "Missing a value on flag: from"
        );
        assert_eq!(
            err("FROM a\nCOPY --link=maybe a b\n"),
            "Expecting boolean value for flag link, not: maybe"
        );
        assert_eq!(
            err("FROM a\nRUN --network=bridge x\n"),
            "network mode \"bridge\" not supported"
        );
        assert_eq!(
            err("FROM a\nRUN --mount=type=cahce x\n"),
            "unsupported mount type \"cahce\" (did you mean cache?)"
        );
    }

    #[test]
    fn mount_defaults() {
        let m = parse_mount(
            "type=cache,target=/root/.cache",
            Some(&|s: &str| Ok(s.to_string())),
        )
        .unwrap();
        assert_eq!(
            (m.kind.as_str(), m.readonly, m.sharing.as_str()),
            ("cache", false, "shared")
        );
        let b = parse_mount("target=/src,from=build", Some(&|s: &str| Ok(s.to_string()))).unwrap();
        assert!(b.readonly);
    }
}
