//! `rcompose image …` (as `docker image …`), `rcompose login`, `rcompose logout`.

use std::collections::HashSet;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;

use super::{CliError, GlobalArgs, UserError};
use crate::image::{
    self, Client, Config, Digest, Event, Image, LayerStatus, Platform, Reference, Removed,
    Reporter, Store,
};
use crate::paths::Paths;

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag { source: String, target: String },
    /// Remove one or more images
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Filter output based on conditions provided (`dangling=true|false`, `reference=PATTERN`)
    // No `-f`: rcompose's global `-f` is the Compose file.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Format output: `table` or `json`
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only images of this repository (and tag)
    pub repository: Option<String>,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force removal of the image (no `-f`: that is the global Compose-file option)
    #[arg(long)]
    pub force: bool,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation (no `-f`: that is the global Compose-file option)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template (`json`, or a Go template such as `{{.Id}}`)
    #[arg(long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    pub image: String,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
    /// Platform to load from a multi-platform archive
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Set commit message for imported image
    #[arg(short, long)]
    pub message: Option<String>,
    /// Apply Dockerfile instruction to the created image (`CMD`, `ENTRYPOINT`, `ENV`, `WORKDIR`, `USER`, `LABEL`, `EXPOSE`)
    #[arg(short, long)]
    pub change: Vec<String>,
    /// File (or `-` for STDIN)
    #[arg(value_name = "FILE")]
    pub source: String,
    /// `REPOSITORY[:TAG]`
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (no `-p`: that is the global project-name option)
    #[arg(long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Registry (default: Docker Hub)
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    pub server: Option<String>,
}

fn user_err(e: image::Error) -> CliError {
    use image::Error as E;
    match e {
        E::NotFound(_)
        | E::Ambiguous(_)
        | E::Conflict(_)
        | E::Reference(_)
        | E::NoMatchingPlatform { .. }
        | E::NeverPull(_)
        | E::Config(_)
        | E::Credentials(_)
        | E::Invalid(_) => UserError::new(format!("Error response from daemon: {e}").replace(
            "Error response from daemon: No such image",
            "Error: No such image",
        ))
        .into(),
        E::Registry(r) => {
            let msg = r.to_string();
            let (main, hint) = match msg.split_once("\n\nhint: ") {
                Some((m, h)) => (m.to_string(), Some(h.to_string())),
                None => (msg, None),
            };
            let mut u = UserError::new(format!("Error response from daemon: {main}"));
            if let image::RegistryError::Unreachable { registry, .. } = &r {
                u = u.hint(format!("is the registry `{registry}` running and reachable? For a plain-HTTP registry that is not on loopback, list it in `insecure-registries` in {}", Config::path().display()));
            }
            if let Some(h) = hint {
                u = u.hint(h);
            }
            u.into()
        }
        other => CliError::Internal(anyhow::Error::new(other)),
    }
}

fn store(global: &GlobalArgs) -> Result<Store, CliError> {
    let paths = Paths::from_env(global.root.clone());
    Store::open(&paths).map_err(|e| {
        CliError::Internal(anyhow::Error::new(e).context(format!(
            "cannot open the image store under `{}`",
            paths.root.display()
        )))
    })
}

fn parse_ref(s: &str) -> Result<Reference, CliError> {
    Reference::parse(s).map_err(|e| UserError::new(e.to_string()).into())
}

fn platform(p: &Option<String>) -> Result<Platform, CliError> {
    match p {
        Some(s) => Platform::parse(s).map_err(|e| UserError::new(e).into()),
        None => Ok(Platform::host()),
    }
}

/// The images containers still use. The engine owns container state; until it provides
/// this, no container is known and nothing is protected.
pub fn images_in_use(_paths: &Paths) -> HashSet<Digest> {
    HashSet::new()
}

pub fn run(global: &GlobalArgs, args: ImageArgs) -> Result<i32, CliError> {
    match args.command {
        ImageCommand::Ls(a) => ls(global, a),
        ImageCommand::Pull(a) => pull(global, a),
        ImageCommand::Push(a) => push(global, a),
        ImageCommand::Tag { source, target } => {
            let st = store(global)?;
            let img = st.get(&source).map_err(user_err)?;
            st.tag(&img.manifest_descriptor, &parse_ref(&target)?)
                .map_err(user_err)?;
            Ok(0)
        }
        ImageCommand::Rm(a) => rm(global, a),
        ImageCommand::Prune(a) => prune(global, a),
        ImageCommand::Inspect(a) => inspect(global, a),
        ImageCommand::History(a) => history(global, a),
        ImageCommand::Load(a) => load(global, a),
        ImageCommand::Save(a) => save(global, a),
        ImageCommand::Import(a) => import(global, a),
    }
}

/// Docker's sizes: decimal units, 3 significant digits (`4.26MB`), like go-units
/// `HumanSizeWithPrecision(size, 3)`.
pub fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    // %.3g: three significant digits, trailing zeros dropped.
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", units[i])
}

/// `2 days ago`, as Docker's `CreatedSince` (go-units `HumanDuration`).
pub fn since(created: Option<&str>) -> String {
    let Some(t) = created.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()) else {
        return "N/A".into();
    };
    let s = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let h = s / 3600;
    let d = match s {
        s if s < 1 => "Less than a second".to_string(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s / 60 == 1 => "About a minute".into(),
        s if s / 60 < 60 => format!("{} minutes", s / 60),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if h < 24 * 7 * 2 => format!("{} days", h / 24),
        _ if h < 24 * 30 * 2 => format!("{} weeks", h / 24 / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", h / 24 / 30),
        _ => format!("{} years", h / 24 / 365),
    };
    format!("{d} ago")
}

struct Row {
    repo: String,
    tag: String,
    digest: String,
    img: Image,
}

fn ls(global: &GlobalArgs, a: LsArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let mut dangling: Option<bool> = None;
    let mut reference: Vec<String> = Vec::new();
    for f in &a.filter {
        match f.split_once('=') {
            Some(("dangling", v)) => {
                dangling = Some(match v {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(UserError::new(format!("invalid filter 'dangling={v}'")).into());
                    }
                })
            }
            Some(("reference", v)) => reference.push(v.to_string()),
            _ => return Err(UserError::new(format!("invalid filter '{f}'")).into()),
        }
    }
    if let Some(r) = &a.repository {
        reference.push(r.clone());
    }
    let mut images = st.list().map_err(user_err)?;
    // As Docker: newest first.
    images.sort_by(|a, b| b.config.created.cmp(&a.config.created));
    let mut rows = Vec::new();
    for img in images {
        if let Some(d) = dangling
            && d != img.is_dangling()
        {
            continue;
        }
        if img.repo_tags.is_empty() {
            let (repo, digest) = match img.repo_digests.first() {
                Some(r) => (
                    r.familiar_name(),
                    r.digest.as_ref().map(|d| d.to_string()).unwrap_or_default(),
                ),
                None => ("<none>".into(), "<none>".into()),
            };
            if reference.is_empty() {
                rows.push(Row {
                    repo,
                    tag: "<none>".into(),
                    digest,
                    img: img.clone(),
                });
            }
            continue;
        }
        for t in &img.repo_tags {
            let name = t.familiar_name();
            let tag = t.tag.clone().unwrap_or_default();
            if !reference.is_empty() && !reference.iter().any(|p| ref_matches(p, &name, &tag)) {
                continue;
            }
            let digest = img
                .repo_digests
                .iter()
                .find(|d| d.name() == t.name())
                .and_then(|d| d.digest.as_ref().map(|x| x.to_string()))
                .unwrap_or_else(|| "<none>".into());
            rows.push(Row {
                repo: name,
                tag,
                digest,
                img: img.clone(),
            });
        }
    }
    let id_of = |img: &Image| {
        if a.no_trunc {
            img.id.to_string()
        } else {
            img.id.short().to_string()
        }
    };
    let mut out = std::io::stdout().lock();
    if a.quiet {
        let mut seen = HashSet::new();
        for r in &rows {
            if seen.insert(r.img.id.clone()) {
                writeln!(out, "{}", id_of(&r.img))?;
            }
        }
        return Ok(0);
    }
    if a.format == "json" || a.format == "{{json .}}" {
        for r in &rows {
            let size = human_size(r.img.size());
            let created_at = r
                .img
                .config
                .created
                .as_deref()
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .format("%Y-%m-%d %H:%M:%S +0000 UTC")
                        .to_string()
                })
                .unwrap_or_default();
            let v = json!({
                "Containers": "N/A", "CreatedAt": created_at, "CreatedSince": since(r.img.config.created.as_deref()),
                "Digest": r.digest, "ID": id_of(&r.img), "Repository": r.repo, "SharedSize": "N/A",
                "Size": size, "Tag": r.tag, "UniqueSize": "N/A", "VirtualSize": size,
            });
            writeln!(out, "{v}")?;
        }
        return Ok(0);
    }
    if a.format != "table" {
        for r in &rows {
            let v = json!({
                "ID": id_of(&r.img), "Repository": r.repo, "Tag": r.tag, "Digest": r.digest,
                "CreatedSince": since(r.img.config.created.as_deref()), "CreatedAt": r.img.config.created,
                "Size": human_size(r.img.size()),
            });
            writeln!(out, "{}", render_template(&a.format, &v)?)?;
        }
        return Ok(0);
    }
    let mut table: Vec<Vec<String>> = vec![];
    let mut head = vec!["REPOSITORY", "TAG"];
    if a.digests {
        head.push("DIGEST");
    }
    head.extend(["IMAGE ID", "CREATED", "SIZE"]);
    table.push(head.iter().map(|s| s.to_string()).collect());
    for r in &rows {
        let mut row = vec![r.repo.clone(), r.tag.clone()];
        if a.digests {
            row.push(r.digest.clone());
        }
        row.extend([
            id_of(&r.img),
            since(r.img.config.created.as_deref()),
            human_size(r.img.size()),
        ]);
        table.push(row);
    }
    print_table(&mut out, &table)?;
    Ok(0)
}

fn ref_matches(pattern: &str, name: &str, tag: &str) -> bool {
    let (p_name, p_tag) = match pattern.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t)),
        _ => (pattern, None),
    };
    glob(p_name, name) && p_tag.is_none_or(|t| glob(t, tag))
}

fn glob(p: &str, s: &str) -> bool {
    match p.split_once('*') {
        None => p == s,
        Some((pre, rest)) => {
            s.starts_with(pre) && (0..=s.len() - pre.len()).any(|i| glob(rest, &s[pre.len() + i..]))
        }
    }
}

fn print_table(out: &mut impl Write, rows: &[Vec<String>]) -> std::io::Result<()> {
    let cols = rows.first().map(|r| r.len()).unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   ", w = widths[c]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `docker pull`-style progress on stderr: one line per layer, redrawn in place on a
/// terminal, plain lines otherwise. Respects `NO_COLOR` (no colours are used anyway).
pub struct PullProgress {
    multi: Option<MultiProgress>,
    bars: Mutex<Vec<(Digest, ProgressBar)>>,
    plain_seen: Mutex<HashSet<(Digest, String)>>,
    quiet: bool,
}

impl PullProgress {
    pub fn new(global: &GlobalArgs, quiet: bool) -> PullProgress {
        use super::Progress;
        let tty = std::io::stderr().is_terminal();
        let fancy = !quiet && matches!(global.progress, Progress::Tty)
            || (matches!(global.progress, Progress::Auto) && tty && !quiet);
        let quiet = quiet || matches!(global.progress, Progress::Quiet);
        PullProgress {
            multi: fancy.then(MultiProgress::new),
            bars: Mutex::new(Vec::new()),
            plain_seen: Mutex::new(HashSet::new()),
            quiet,
        }
    }

    fn line(&self, s: String) {
        if self.quiet {
            return;
        }
        // Once the layer lines are final, later lines go below them.
        let finished = self
            .bars
            .lock()
            .expect("lock")
            .iter()
            .all(|(_, b)| b.is_finished());
        match &self.multi {
            Some(_) if finished && !self.bars.lock().expect("lock").is_empty() => eprintln!("{s}"),
            Some(m) => {
                let _ = m.println(s);
            }
            None => eprintln!("{s}"),
        }
    }

    fn layer(&self, d: &Digest, text: String, progress: Option<(u64, u64)>) {
        if self.quiet {
            return;
        }
        let Some(m) = &self.multi else {
            let key = text.split(' ').next().unwrap_or("").to_string();
            if progress.is_none()
                && self
                    .plain_seen
                    .lock()
                    .expect("lock")
                    .insert((d.clone(), key))
            {
                eprintln!("{}: {text}", d.short());
            }
            return;
        };
        let mut bars = self.bars.lock().expect("lock");
        let bar = match bars.iter().find(|(k, _)| k == d) {
            Some((_, b)) => b.clone(),
            None => {
                let b = m.add(ProgressBar::new(0));
                b.set_style(ProgressStyle::with_template("{prefix}: {msg}").expect("template"));
                b.set_prefix(d.short().to_string());
                bars.push((d.clone(), b.clone()));
                b
            }
        };
        match progress {
            Some((cur, total)) => {
                let width = 50usize;
                let filled = if total == 0 {
                    0
                } else {
                    (cur.min(total) as f64 / total as f64 * width as f64) as usize
                };
                let arrow = if filled < width {
                    format!("{}>{}", "=".repeat(filled), " ".repeat(width - filled - 1))
                } else {
                    "=".repeat(width)
                };
                bar.set_message(format!(
                    "{text} [{arrow}]  {}/{}",
                    human_size(cur),
                    human_size(total)
                ));
            }
            None => bar.set_message(text),
        }
        bar.tick();
    }

    pub fn finish(&self) {
        for (_, b) in self.bars.lock().expect("lock").iter() {
            b.finish();
        }
        // Freeze the last frame: nothing redraws (or duplicates) the layer lines after this.
        if let Some(m) = &self.multi {
            m.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
    }
}

impl Reporter for PullProgress {
    fn event(&self, event: Event) {
        match event {
            Event::Pulling { reference } => {
                let tag = reference.tag.clone().unwrap_or_else(|| {
                    reference
                        .digest
                        .as_ref()
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                });
                let repo = if reference.registry == "docker.io" {
                    reference.repository.clone()
                } else {
                    reference.name()
                };
                self.line(format!("{tag}: Pulling from {repo}"));
            }
            Event::Layer { layer, status } => {
                let (text, p) = match status {
                    LayerStatus::Waiting => ("Waiting".to_string(), None),
                    LayerStatus::AlreadyExists => ("Already exists".into(), None),
                    LayerStatus::Downloading { current, total } => {
                        ("Downloading".into(), Some((current, total)))
                    }
                    LayerStatus::PullComplete => ("Pull complete".into(), None),
                    LayerStatus::Preparing => ("Preparing".into(), None),
                    LayerStatus::Pushing { current, total } => {
                        ("Pushing".into(), Some((current, total)))
                    }
                    LayerStatus::Pushed => ("Pushed".into(), None),
                    LayerStatus::LayerAlreadyExists => ("Layer already exists".into(), None),
                    LayerStatus::Mounted { from } => (format!("Mounted from {from}"), None),
                };
                self.layer(&layer, text, p);
            }
            Event::Pulled {
                reference,
                digest,
                updated,
            } => {
                self.finish();
                self.line(format!("Digest: {digest}"));
                let status = if updated {
                    "Downloaded newer image for"
                } else {
                    "Image is up to date for"
                };
                self.line(format!("Status: {status} {}", reference.familiar()));
            }
            Event::Pushing { reference } => self.line(format!(
                "The push refers to repository [{}]",
                reference.name()
            )),
            Event::Pushed {
                reference,
                digest,
                size,
            } => {
                self.finish();
                let tag = reference.tag.clone().unwrap_or_default();
                self.line(format!("{tag}: digest: {digest} size: {size}"));
            }
        }
    }
}

fn client() -> Result<Client, CliError> {
    let cfg = Config::load().map_err(|e| UserError::new(e.to_string()))?;
    Ok(Client::new(cfg))
}

fn pull(global: &GlobalArgs, a: PullArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let r = parse_ref(&a.name)?;
    let p = platform(&a.platform)?;
    let progress = PullProgress::new(global, a.quiet);
    image::pull(&st, &client()?, &r, &p, &progress).map_err(user_err)?;
    progress.finish();
    println!("{r}");
    Ok(0)
}

fn push(global: &GlobalArgs, a: PushArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let r = parse_ref(&a.name)?;
    let progress = PullProgress::new(global, a.quiet);
    let d = image::push(&st, &client()?, &r, &progress).map_err(user_err)?;
    if a.quiet {
        println!("{}", r.with_digest(d).familiar());
    }
    Ok(0)
}

fn rm(global: &GlobalArgs, a: RmArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let in_use = images_in_use(&Paths::from_env(global.root.clone()));
    let mut code = 0;
    let mut any_deleted = false;
    for i in &a.images {
        match st.remove(i, a.force, &in_use) {
            Ok(actions) => {
                for act in actions {
                    match act {
                        Removed::Untagged(n) => println!("Untagged: {n}"),
                        Removed::Deleted(d) => {
                            any_deleted = true;
                            println!("Deleted: {d}")
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("Error response from daemon: {e}");
                code = 1;
            }
        }
    }
    if any_deleted {
        st.gc().map_err(user_err)?;
    }
    Ok(code)
}

fn prune(global: &GlobalArgs, a: PruneArgs) -> Result<i32, CliError> {
    if !a.force {
        let what = if a.all {
            "all images without at least one container associated to them"
        } else {
            "all dangling images"
        };
        eprint!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    let st = store(global)?;
    let in_use = images_in_use(&Paths::from_env(global.root.clone()));
    let (removed, gc) = st.prune(a.all, &in_use).map_err(user_err)?;
    if !removed.is_empty() {
        println!("Deleted Images:");
        for r in &removed {
            match r {
                Removed::Untagged(n) => println!("untagged: {n}"),
                Removed::Deleted(d) => println!("deleted: {d}"),
            }
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(gc.bytes));
    Ok(0)
}

/// The JSON `docker image inspect` prints for one image.
pub fn inspect_json(img: &Image) -> serde_json::Value {
    let dirs: Vec<String> = img
        .layer_dirs()
        .iter()
        .rev()
        .map(|d| d.display().to_string())
        .collect();
    json!({
        "Id": img.id,
        "RepoTags": img.repo_tags.iter().map(|r| r.familiar()).collect::<Vec<_>>(),
        "RepoDigests": img.repo_digests.iter().map(|r| format!("{}@{}", r.familiar_name(), r.digest.as_ref().map(|d| d.to_string()).unwrap_or_default())).collect::<Vec<_>>(),
        "Parent": "",
        "Comment": img.config.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
        "Created": img.config.created.clone().unwrap_or_default(),
        "DockerVersion": "",
        "Author": img.config.author.clone().unwrap_or_default(),
        "Config": img.config.config,
        "Architecture": img.config.architecture,
        "Variant": img.config.variant,
        "Os": img.config.os,
        "Size": img.size(),
        "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": dirs.join(":")}},
        "RootFS": {"Type": img.config.rootfs.typ, "Layers": img.config.rootfs.diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        "Descriptor": img.manifest_descriptor,
    })
}

fn inspect(global: &GlobalArgs, a: InspectArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let mut out = Vec::new();
    let mut code = 0;
    for i in &a.images {
        match st.resolve(i).map_err(user_err)? {
            Some(img) => out.push(inspect_json(&img)),
            None => {
                eprintln!("Error: No such image: {i}");
                code = 1;
            }
        }
    }
    match a.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&out).expect("json")),
        Some(tpl) => {
            for v in &out {
                println!("{}", render_template(tpl, v)?);
            }
        }
    }
    Ok(code)
}

fn history(global: &GlobalArgs, a: HistoryArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let img = st.get(&a.image).map_err(user_err)?;
    let mut layer_sizes = img.layer_dirs().into_iter().map(|d| {
        let meta = d.with_extension("json");
        std::fs::read(meta)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["size"].as_u64())
            .unwrap_or(0)
    });
    let mut rows = vec![vec![
        "IMAGE".to_string(),
        "CREATED".into(),
        "CREATED BY".into(),
        "SIZE".into(),
        "COMMENT".into(),
    ]];
    let n = img.config.history.len();
    let mut hist_rows = Vec::new();
    for (i, h) in img.config.history.iter().enumerate() {
        let size = if h.empty_layer {
            0
        } else {
            layer_sizes.next().unwrap_or(0)
        };
        let id = if i + 1 == n {
            if a.no_trunc {
                img.id.to_string()
            } else {
                img.id.short().to_string()
            }
        } else {
            "<missing>".into()
        };
        let mut by = h.created_by.clone().unwrap_or_default();
        if !a.no_trunc && by.chars().count() > 45 {
            by = format!("{}…", by.chars().take(44).collect::<String>());
        }
        hist_rows.push(vec![
            id,
            since(h.created.as_deref()),
            by,
            human_size(size),
            h.comment.clone().unwrap_or_default(),
        ]);
    }
    hist_rows.reverse();
    if a.quiet {
        for r in hist_rows {
            println!("{}", r[0]);
        }
        return Ok(0);
    }
    rows.extend(hist_rows);
    print_table(&mut std::io::stdout().lock(), &rows)?;
    Ok(0)
}

fn load(global: &GlobalArgs, a: LoadArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let p = platform(&a.platform)?;
    let loaded = match &a.input {
        Some(path) => {
            let f = fs_err::File::open(path).map_err(|e| UserError::new(e.to_string()))?;
            image::archive::load(&st, f, &p)
        }
        None => {
            if std::io::stdin().is_terminal() {
                return Err(UserError::new("requested load from stdin, but stdin is empty").into());
            }
            image::archive::load(&st, std::io::stdin().lock(), &p)
        }
    }
    .map_err(user_err)?;
    if !a.quiet {
        for l in loaded {
            match l {
                image::archive::Loaded::Named(r) => println!("Loaded image: {}", r.familiar()),
                image::archive::Loaded::Id(d) => println!("Loaded image ID: {d}"),
            }
        }
    }
    Ok(0)
}

fn save(global: &GlobalArgs, a: SaveArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let mut images: Vec<Image> = Vec::new();
    for i in &a.images {
        let img = st.get(i).map_err(user_err)?;
        if !images
            .iter()
            .any(|x| x.manifest_digest == img.manifest_digest)
        {
            images.push(img);
        }
    }
    match &a.output {
        Some(path) => {
            let tmp = path.with_extension("rcompose-partial");
            let f = fs_err::File::create(&tmp)?;
            image::archive::save(&st, &images, std::io::BufWriter::new(f)).map_err(user_err)?;
            fs_err::rename(&tmp, path)?;
        }
        None => {
            if std::io::stdout().is_terminal() {
                return Err(UserError::new(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                )
                .into());
            }
            image::archive::save(
                &st,
                &images,
                std::io::BufWriter::new(std::io::stdout().lock()),
            )
            .map_err(user_err)?;
        }
    }
    Ok(0)
}

fn import(global: &GlobalArgs, a: ImportArgs) -> Result<i32, CliError> {
    let st = store(global)?;
    let tag = a.reference.as_deref().map(parse_ref).transpose()?;
    let mut changes = Vec::new();
    for c in &a.change {
        let (instr, rest) = c
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((c.trim(), ""));
        changes.push((instr.to_ascii_uppercase(), rest.trim().to_string()));
    }
    for (i, _) in &changes {
        if ![
            "CMD",
            "ENTRYPOINT",
            "ENV",
            "WORKDIR",
            "USER",
            "LABEL",
            "EXPOSE",
            "STOPSIGNAL",
            "VOLUME",
        ]
        .contains(&i.as_str())
        {
            return Err(UserError::new(format!("{i} is not a valid change command")).into());
        }
    }
    let apply = |cfg: &mut image::ImageConfiguration| {
        let c = &mut cfg.config;
        let list = |s: &str| -> Vec<String> {
            serde_json::from_str::<Vec<String>>(s)
                .unwrap_or_else(|_| vec!["/bin/sh".into(), "-c".into(), s.to_string()])
        };
        for (i, v) in changes {
            match i.as_str() {
                "CMD" => c.cmd = Some(list(&v)),
                "ENTRYPOINT" => c.entrypoint = Some(list(&v)),
                "ENV" => c.env.get_or_insert_with(Vec::new).push(v.replacen(
                    ' ',
                    "=",
                    if v.contains('=') { 0 } else { 1 },
                )),
                "WORKDIR" => c.working_dir = Some(v),
                "USER" => c.user = Some(v),
                "STOPSIGNAL" => c.stop_signal = Some(v),
                "LABEL" => {
                    if let Some((k, val)) = v.split_once('=') {
                        c.labels
                            .get_or_insert_with(Default::default)
                            .insert(k.into(), val.trim_matches('"').into());
                    }
                }
                "EXPOSE" => {
                    for p in v.split_whitespace() {
                        let p = if p.contains('/') {
                            p.to_string()
                        } else {
                            format!("{p}/tcp")
                        };
                        c.exposed_ports
                            .get_or_insert_with(Default::default)
                            .insert(p, json!({}));
                    }
                }
                "VOLUME" => {
                    for p in list(&v).into_iter().filter(|p| p != "/bin/sh" && p != "-c") {
                        c.volumes
                            .get_or_insert_with(Default::default)
                            .insert(p, json!({}));
                    }
                }
                _ => {}
            }
        }
    };
    let img = if a.source == "-" {
        image::archive::import(
            &st,
            std::io::stdin().lock(),
            tag.as_ref(),
            a.message.as_deref(),
            apply,
        )
    } else {
        let f = fs_err::File::open(&a.source).map_err(|e| UserError::new(e.to_string()))?;
        image::archive::import(&st, f, tag.as_ref(), a.message.as_deref(), apply)
    }
    .map_err(user_err)?;
    println!("{}", img.id);
    Ok(0)
}

fn registry_of(server: Option<&str>) -> String {
    match server {
        None => "docker.io".into(),
        Some(s) => {
            let s = s
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let host = s.split('/').next().unwrap_or(s);
            if host == "index.docker.io" || host == "registry-1.docker.io" {
                "docker.io".into()
            } else {
                host.to_string()
            }
        }
    }
}

pub fn login(_global: &GlobalArgs, a: LoginArgs) -> Result<i32, CliError> {
    let registry = registry_of(a.server.as_deref());
    let username = match a.username {
        Some(u) => u,
        None => {
            if !std::io::stdin().is_terminal() {
                return Err(UserError::new(
                    "Cannot perform an interactive login from a non TTY device",
                )
                .into());
            }
            eprint!("Username: ");
            let mut u = String::new();
            std::io::stdin().read_line(&mut u)?;
            u.trim().to_string()
        }
    };
    let password = if a.password_stdin {
        if a.password.is_some() {
            return Err(
                UserError::new("--password and --password-stdin are mutually exclusive").into(),
            );
        }
        let mut p = String::new();
        std::io::stdin().read_to_string(&mut p)?;
        p.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = a.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else {
        return Err(UserError::new("Must provide --password or --password-stdin").into());
    };
    if username.is_empty() || password.is_empty() {
        return Err(UserError::new("Error: Username and password are required").into());
    }
    let creds = image::credentials::Credentials { username, password };
    client()?
        .login(&registry, &creds)
        .map_err(|e| user_err(e.into()))?;
    let path = image::credentials::store(&registry, &creds).map_err(user_err)?;
    eprintln!(
        "WARNING! Your password will be stored unencrypted in {}.",
        path.display()
    );
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(_global: &GlobalArgs, a: LogoutArgs) -> Result<i32, CliError> {
    let registry = registry_of(a.server.as_deref());
    let key = image::credentials::server_key(&registry);
    if image::credentials::erase(&registry).map_err(user_err)? {
        println!("Removing login credentials for {key}");
    } else {
        println!("Not logged in to {key}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_261_281), "4.26MB");
        assert_eq!(human_size(12_500_000), "12.5MB");
        assert_eq!(human_size(123_400_000), "123MB");
        assert_eq!(human_size(4_000_000), "4MB");
    }
}

/// A small subset of Go templates, enough for the `--format` strings people script with:
/// `{{.Id}}`, `{{.Config.Env}}`, `{{json .Config}}`, `{{index .Config.Labels "k"}}`,
/// `{{join .RepoTags ","}}`, literal text around them.
pub fn render_template(tpl: &str, v: &serde_json::Value) -> Result<String, UserError> {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| {
            UserError::new(format!(
                "template parsing error: unclosed action in `{tpl}`"
            ))
        })?;
        let action = after[..end]
            .trim()
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        out.push_str(&eval_action(action, v, tpl)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out.replace("\\n", "\n").replace("\\t", "\t"))
}

fn lookup<'a>(path: &str, v: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
    if path == "." {
        return Some(v);
    }
    let mut cur = v;
    for part in path.trim_start_matches('.').split('.') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

fn go_fmt(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "<no value>".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => {
            format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" "))
        }
        serde_json::Value::Object(m) => {
            let mut items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect();
            items.sort();
            format!("map[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

fn eval_action(action: &str, v: &serde_json::Value, tpl: &str) -> Result<String, UserError> {
    let words = shell_words::split(action)
        .map_err(|_| UserError::new(format!("template parsing error in `{tpl}`")))?;
    let bad = || {
        UserError::new(format!(
            "template: unsupported action `{{{{{action}}}}}` in `{tpl}`"
        ))
    };
    let arg = |i: usize| -> Result<&serde_json::Value, UserError> {
        let p = words.get(i).ok_or_else(bad)?;
        if !p.starts_with('.') {
            return Err(bad());
        }
        Ok(lookup(p, v).unwrap_or(&serde_json::Value::Null))
    };
    match words.first().map(String::as_str) {
        Some(p) if p.starts_with('.') && words.len() == 1 => {
            Ok(go_fmt(lookup(p, v).unwrap_or(&serde_json::Value::Null)))
        }
        Some("json") if words.len() == 2 => Ok(serde_json::to_string(arg(1)?).unwrap_or_default()),
        Some("index") if words.len() == 3 => Ok(go_fmt(
            arg(1)?.get(&words[2]).unwrap_or(&serde_json::Value::Null),
        )),
        Some("join") if words.len() == 3 => Ok(arg(1)?
            .as_array()
            .map(|a| a.iter().map(go_fmt).collect::<Vec<_>>().join(&words[2]))
            .unwrap_or_default()),
        Some("upper") if words.len() == 2 => Ok(go_fmt(arg(1)?).to_uppercase()),
        Some("lower") if words.len() == 2 => Ok(go_fmt(arg(1)?).to_lowercase()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod template_tests {
    use super::render_template;

    #[test]
    fn go_template_subset_renders_like_docker() {
        let v = serde_json::json!({"Id": "sha256:ab", "RepoTags": ["a:1", "b:2"], "Config": {"Labels": {"k": "v"}, "Env": ["A=1"], "Cmd": null}});
        assert_eq!(render_template("{{.Id}}", &v).unwrap(), "sha256:ab");
        assert_eq!(render_template("{{ .Config.Env }}", &v).unwrap(), "[A=1]");
        assert_eq!(
            render_template("{{json .Config.Labels}}", &v).unwrap(),
            r#"{"k":"v"}"#
        );
        assert_eq!(
            render_template(r#"{{index .Config.Labels "k"}}"#, &v).unwrap(),
            "v"
        );
        assert_eq!(
            render_template(r#"{{join .RepoTags ","}}"#, &v).unwrap(),
            "a:1,b:2"
        );
        assert_eq!(
            render_template("id={{.Id}} cmd={{.Config.Cmd}}", &v).unwrap(),
            "id=sha256:ab cmd=<no value>"
        );
        assert!(render_template("{{range .RepoTags}}", &v).is_err());
        assert!(render_template("{{.Id", &v).is_err());
    }
}
