//! `rcompose volume ls|create|inspect|rm|prune`, mirroring `docker volume` (formats, `-q`,
//! `--format json|table|TEMPLATE`, filters), and the small table/template renderer that
//! `rcompose network` shares.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use clap::{Args, Subcommand};
use indexmap::IndexMap;

use super::{CliError, GlobalArgs, UserError};
use crate::paths::Paths;
use crate::volume::{Volume, VolumeFilter, VolumeSpec, Volumes};

#[derive(Debug, Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    pub command: VolumeCommand,
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Remove all unused local volumes
    Prune(PruneArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(RmArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Volume name (a random one if omitted)
    pub name: Option<String>,
    /// Specify volume driver name
    #[arg(short = 'd', long, default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub volumes: Vec<String>,
    /// Format output using a custom template: 'json' or a Go-style template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output: 'table', 'json' or a Go-style template
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=KEY=VALUE")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Do not prompt for confirmation (`-f` is the global `--file` here)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub volumes: Vec<String>,
    /// Do not fail when a volume does not exist (`-f` is the global `--file` here)
    #[arg(long)]
    pub force: bool,
}

fn volumes(global: &GlobalArgs) -> Volumes {
    Volumes::new(Paths::from_env(global.root.clone()))
}

pub fn run(global: &GlobalArgs, args: VolumeArgs) -> Result<i32, CliError> {
    let vols = volumes(global);
    let out = &mut std::io::stdout().lock();
    match args.command {
        VolumeCommand::Create(a) => create(&vols, a, out),
        VolumeCommand::Inspect(a) => inspect(&vols, a, out),
        VolumeCommand::Ls(a) => ls(&vols, a, out),
        VolumeCommand::Prune(a) => prune(&vols, a, out),
        VolumeCommand::Rm(a) => rm(&vols, a, out),
    }
}

fn key_values(list: &[String], what: &str) -> Result<BTreeMap<String, String>, UserError> {
    list.iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            None if !kv.is_empty() && what == "label" => Ok((kv.clone(), String::new())),
            _ => Err(UserError::new(format!(
                "invalid {what} `{kv}`: expected KEY=VALUE"
            ))),
        })
        .collect()
}

fn create(vols: &Volumes, a: CreateArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let labels = key_values(&a.labels, "label")?;
    let driver_opts = key_values(&a.opts, "option")?;
    let v = match a.name {
        Some(name) => vols.create(&VolumeSpec {
            name,
            driver: Some(a.driver),
            driver_opts,
            labels,
        }),
        None if driver_opts.is_empty() && a.driver == "local" => vols.create_anonymous(&labels),
        None => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
            vols.create(&VolumeSpec {
                name: hex::encode(bytes),
                driver: Some(a.driver),
                driver_opts,
                labels,
            })
        }
    }
    .map_err(user)?;
    writeln!(out, "{}", v.name)?;
    Ok(0)
}

fn user(e: impl std::fmt::Display) -> UserError {
    UserError::new(e.to_string())
}

/// `docker volume inspect`'s JSON for one volume.
pub fn inspect_json(v: &Volume) -> serde_json::Value {
    let map_or_null = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::to_value(m).unwrap_or_default()
        }
    };
    serde_json::json!({
        "CreatedAt": v.created_at,
        "Driver": v.driver,
        "Labels": map_or_null(&v.labels),
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": map_or_null(&v.options),
        "Scope": "local",
    })
}

fn inspect(vols: &Volumes, a: InspectArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.volumes {
        match vols.get(name) {
            Ok(v) => found.push(v),
            Err(e) => errors.push(e.to_string()),
        }
    }
    match a.format.as_deref() {
        None | Some("") | Some("json") => {
            let items: Vec<serde_json::Value> = found.iter().map(inspect_json).collect();
            writeln!(out, "{}", json_indent4(&serde_json::Value::Array(items)))?;
        }
        Some(tmpl) => {
            for v in &found {
                let json = inspect_json(v);
                let line = render_template(tmpl, &flatten(&json), &v.labels, &json)
                    .map_err(UserError::new)?;
                writeln!(out, "{line}")?;
            }
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(UserError::new(errors.join("\n")).into())
    }
}

/// The fields `ls` templates see, in Docker's order.
fn ls_fields(v: &Volume) -> IndexMap<String, String> {
    let mut m = IndexMap::new();
    m.insert("Availability".into(), "N/A".into());
    m.insert("Driver".into(), v.driver.clone());
    m.insert("Group".into(), "N/A".into());
    m.insert("Labels".into(), join_labels(&v.labels));
    m.insert("Links".into(), "N/A".into());
    m.insert("Mountpoint".into(), v.mountpoint.display().to_string());
    m.insert("Name".into(), v.name.clone());
    m.insert("Scope".into(), "local".into());
    m.insert("Size".into(), "N/A".into());
    m.insert("Status".into(), "N/A".into());
    m
}

pub fn join_labels(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

const VOLUME_HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Size", "SIZE"),
    ("Links", "LINKS"),
    ("Availability", "AVAILABILITY"),
    ("Group", "GROUP"),
    ("Status", "STATUS"),
];

fn parse_filters(list: &[String]) -> Result<VolumeFilter, UserError> {
    let mut f = VolumeFilter::default();
    for s in list {
        f.add(s).map_err(UserError::new)?;
    }
    Ok(f)
}

/// List volumes as `docker volume ls` does (`rcompose volumes` reuses it).
pub fn print_volume_list(
    list: Vec<Volume>,
    quiet: bool,
    format: Option<&str>,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let rows: Vec<(IndexMap<String, String>, &Volume)> =
        list.iter().map(|v| (ls_fields(v), v)).collect();
    if quiet {
        for (_, v) in &rows {
            writeln!(out, "{}", v.name)?;
        }
        return Ok(());
    }
    match format {
        Some("json") => {
            for (fields, _) in &rows {
                writeln!(out, "{}", serde_json::to_string(fields).unwrap_or_default())?;
            }
        }
        None | Some("") | Some("table") => {
            let mut table = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
            for (f, _) in &rows {
                table.push(vec![f["Driver"].clone(), f["Name"].clone()]);
            }
            write!(out, "{}", tabulate(&table))?;
        }
        Some(tmpl) => {
            let text = render_rows(
                tmpl,
                VOLUME_HEADERS,
                rows.iter().map(|(f, v)| {
                    let json = serde_json::to_value(f).unwrap_or_default();
                    (f.clone(), v.labels.clone(), json)
                }),
            )
            .map_err(UserError::new)?;
            write!(out, "{text}")?;
        }
    }
    Ok(())
}

fn ls(vols: &Volumes, a: LsArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let filter = parse_filters(&a.filters)?;
    let mut list = Vec::new();
    for v in vols.list().map_err(user)? {
        let in_use = !vols.users(&v.name).map_err(user)?.is_empty();
        if filter.matches(&v, in_use) {
            list.push(v);
        }
    }
    print_volume_list(list, a.quiet, a.format.as_deref(), out)?;
    Ok(0)
}

/// Ask `[y/N]` on stderr, read stdin.
pub fn confirm(warning: &str) -> bool {
    eprint!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn prune(vols: &Volumes, a: PruneArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let mut filter = parse_filters(&a.filters)?;
    filter.all |= a.all;
    let warning = if filter.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !a.force && !confirm(warning) {
        return Ok(0);
    }
    let report = vols.prune(&filter).map_err(user)?;
    if !report.removed.is_empty() {
        writeln!(out, "Deleted Volumes:")?;
        for n in &report.removed {
            writeln!(out, "{n}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Total reclaimed space: {}",
        human_size(report.reclaimed_bytes)
    )?;
    Ok(0)
}

fn rm(vols: &Volumes, a: RmArgs, out: &mut impl Write) -> Result<i32, CliError> {
    let mut errors = Vec::new();
    for name in &a.volumes {
        match vols.remove(name) {
            Ok(()) => writeln!(out, "{name}")?,
            Err(crate::volume::VolumeError::NotFound(_)) if a.force => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(UserError::new(errors.join("\n")).into())
    }
}

// ---- shared rendering -----------------------------------------------------------------------

/// Go's `tabwriter` as the Docker CLI configures it (min width 10, padding 3, spaces): every
/// column but the last is padded to its widest cell + 3.
pub fn tabulate(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let w = (widths[i] + 3).max(10);
                line.push_str(&format!("{c:<w$}"));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// Docker's `units.HumanSize`: decimal units, 4 significant digits.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i + 1 < units.len() {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", format_g4(size), units[i])
}

/// `%.4g`: 4 significant digits, no trailing zeros.
fn format_g4(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let digits = x.abs().log10().floor() as i32 + 1;
    let decimals = (4 - digits).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `json.MarshalIndent(v, "", "    ")`, as `docker inspect` prints.
pub fn json_indent4(v: &serde_json::Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser).expect("JSON values serialize");
    String::from_utf8(buf).expect("JSON is UTF-8")
}

/// Top-level fields of a JSON object as strings, for templates over inspect output.
pub fn flatten(json: &serde_json::Value) -> IndexMap<String, String> {
    let mut m = IndexMap::new();
    if let Some(obj) = json.as_object() {
        for (k, v) in obj {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                serde_json::Value::Object(o) => {
                    let inner: Vec<String> = o
                        .iter()
                        .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or(&v.to_string())))
                        .collect();
                    format!("map[{}]", inner.join(" "))
                }
                other => other.to_string(),
            };
            m.insert(k.clone(), s);
        }
    }
    m
}

/// Render rows with a `--format` template; `table ...` adds a header and aligns columns.
pub fn render_rows(
    tmpl: &str,
    headers: &[(&str, &str)],
    rows: impl Iterator<
        Item = (
            IndexMap<String, String>,
            BTreeMap<String, String>,
            serde_json::Value,
        ),
    >,
) -> Result<String, String> {
    let (table, body) = match tmpl.strip_prefix("table") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, tmpl),
    };
    let mut lines = Vec::new();
    if table {
        let header_fields: IndexMap<String, String> = headers
            .iter()
            .map(|(k, h)| (k.to_string(), h.to_string()))
            .collect();
        lines.push(render_template(
            body,
            &header_fields,
            &BTreeMap::new(),
            &serde_json::Value::Null,
        )?);
    }
    for (fields, labels, json) in rows {
        lines.push(render_template(body, &fields, &labels, &json)?);
    }
    if table {
        let cells: Vec<Vec<String>> = lines
            .iter()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        Ok(tabulate(&cells))
    } else {
        Ok(lines.iter().map(|l| format!("{l}\n")).collect())
    }
}

/// A small subset of Go templates, enough for Docker's documented `--format` uses:
/// `{{.Field}}`, `{{json .}}`, `{{json .Field}}`, `{{.Label "key"}}`, `\t` and `\n`.
pub fn render_template(
    tmpl: &str,
    fields: &IndexMap<String, String>,
    labels: &BTreeMap<String, String>,
    json: &serde_json::Value,
) -> Result<String, String> {
    let tmpl = tmpl.replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = tmpl.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("template: unclosed action in `{tmpl}`"))?;
        let action = after[..end].trim();
        out.push_str(&eval(action, fields, labels, json)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn eval(
    action: &str,
    fields: &IndexMap<String, String>,
    labels: &BTreeMap<String, String>,
    json: &serde_json::Value,
) -> Result<String, String> {
    if action == "json ." {
        return Ok(if json.is_null() {
            serde_json::to_string(fields).unwrap_or_default()
        } else {
            serde_json::to_string(json).unwrap_or_default()
        });
    }
    if let Some(field) = action.strip_prefix("json .") {
        return match json.get(field) {
            Some(v) => Ok(serde_json::to_string(v).unwrap_or_default()),
            None => fields
                .get(field)
                .map(|v| serde_json::to_string(v).unwrap_or_default())
                .ok_or_else(|| format!("template: can't evaluate field {field}")),
        };
    }
    if let Some(key) = action.strip_prefix(".Label ") {
        let key = key.trim().trim_matches('"');
        return Ok(labels.get(key).cloned().unwrap_or_default());
    }
    if let Some(field) = action.strip_prefix('.')
        && field.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return fields
            .get(field)
            .cloned()
            .ok_or_else(|| format!("template: can't evaluate field {field}"));
    }
    Err(format!("template: unsupported action `{{{{{action}}}}}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_like_docker() {
        let t = tabulate(&[
            vec!["DRIVER".into(), "VOLUME NAME".into()],
            vec!["local".into(), "app_data".into()],
        ]);
        assert_eq!(t, "DRIVER    VOLUME NAME\nlocal     app_data\n");
    }

    #[test]
    fn sizes_are_human_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(3000), "3kB");
        assert_eq!(human_size(1536), "1.536kB");
        assert_eq!(human_size(12_345_678), "12.35MB");
    }

    #[test]
    fn templates_render_fields_labels_and_json() {
        let mut f = IndexMap::new();
        f.insert("Name".to_string(), "v".to_string());
        f.insert("Driver".to_string(), "local".to_string());
        let labels: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
        assert_eq!(
            render_template(
                "{{.Name}}\\t{{.Label \"a\"}}",
                &f,
                &labels,
                &serde_json::Value::Null
            )
            .unwrap(),
            "v\t1"
        );
        assert_eq!(
            render_template("{{json .Name}}", &f, &labels, &serde_json::Value::Null).unwrap(),
            "\"v\""
        );
        assert!(render_template("{{.Nope}}", &f, &labels, &serde_json::Value::Null).is_err());
        assert!(render_template("{{range .}}", &f, &labels, &serde_json::Value::Null).is_err());
        let t = render_rows(
            "table {{.Name}}\t{{.Driver}}",
            VOLUME_HEADERS,
            std::iter::once((f.clone(), labels.clone(), serde_json::Value::Null)),
        )
        .unwrap();
        assert_eq!(t, "VOLUME NAME   DRIVER\nv             local\n");
    }
}
