//! Executing a plan. The builder does the file work itself (COPY, ADD, WORKDIR, layer tars)
//! and reaches the rest of rcompose through one narrow trait, [`Executor`]: base images and
//! their unpacked layers (image store), RUN in a container (runtime), and storing finished
//! layers (image store). Steps are cached by key: parent key + the step's canonical
//! description + the content digest of what it reads.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::config::ImageConfig;
use super::context::BuildContext;
use super::copy::{self, ContextFs, CopySettings, DirFs, SourceFs};
use super::layer::{self, OverlayMount};
use super::plan::{
    Base, CopyFrom, CopyOp, ImageResolver, Op, Plan, ResolvedImage, RunOp, StagePlan, is_url,
};

/// A layer the store holds: its unpacked directory and diff_id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerRef {
    pub diff_id: String,
    pub dir: PathBuf,
}

/// A RUN to execute: a container whose rootfs is an overlay of `lower` (top first) with
/// `upper`/`work` as the writable part. The runtime mounts it, runs, unmounts; `upper`
/// then holds the changes.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub op: RunOp,
    /// Directory holding heredoc scripts to mount read-only at `/dev/pipes` (if any).
    pub pipes: Option<PathBuf>,
    /// Bind sources for `--mount=type=bind|cache` already resolved to host directories,
    /// in the order of `op.mounts` (`None` for tmpfs/secret/ssh).
    pub mount_sources: Vec<Option<PathBuf>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("{0}")]
    Failed(String),
    #[error("process \"{command}\" did not complete successfully: exit code: {code}")]
    ExitCode { command: String, code: i32 },
    #[error(transparent)]
    Copy(#[from] copy::CopyError),
    #[error(transparent)]
    Layer(#[from] layer::LayerError),
    #[error(transparent)]
    Context(#[from] super::context::ContextError),
    #[error("cannot use build directory `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn ioerr(path: &Path) -> impl FnOnce(std::io::Error) -> ExecError + '_ {
    move |source| ExecError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the builder needs from the runtime and the image store.
pub trait Executor: ImageResolver + Sync {
    /// Unpacked layers of a resolved image, bottom first (pulled if needed).
    fn image_layers(&self, image: &ResolvedImage) -> Result<Vec<LayerRef>, ExecError>;
    /// Run a RUN step; its output goes to `log`.
    fn run(&self, req: &RunRequest, log: &mut dyn Write) -> Result<(), ExecError>;
    /// Take ownership of a finished layer directory (and its uncompressed tar) and return
    /// where it now lives.
    fn commit_layer(&self, dir: &Path, tar: &Path, diff_id: &str) -> Result<LayerRef, ExecError>;
}

/// The step cache: key → layer, in `<root>/builds/cache/<key>.json`.
pub struct BuildCache {
    dir: PathBuf,
}

impl BuildCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
    pub fn get(&self, key: &str) -> Option<LayerRef> {
        let text = std::fs::read_to_string(self.dir.join(format!("{key}.json"))).ok()?;
        let l: LayerRef = serde_json::from_str(&text).ok()?;
        l.dir.is_dir().then_some(l)
    }
    /// A persistent directory for `RUN --mount=type=cache,id=...`.
    pub fn mount_dir(&self, id: &str) -> PathBuf {
        self.dir.join("mounts").join(&key_of(&[id])[..32])
    }

    pub fn put(&self, key: &str, layer: &LayerRef) -> Result<(), ExecError> {
        fs_err::create_dir_all(&self.dir).map_err(|e| ExecError::Io {
            path: self.dir.clone(),
            source: e,
        })?;
        let tmp = self.dir.join(format!(".{key}.tmp"));
        fs_err::write(&tmp, serde_json::to_vec(layer).unwrap_or_default()).map_err(|e| {
            ExecError::Io {
                path: tmp.clone(),
                source: e,
            }
        })?;
        let dst = self.dir.join(format!("{key}.json"));
        fs_err::rename(&tmp, &dst).map_err(|e| ExecError::Io {
            path: dst,
            source: e,
        })
    }
}

/// Progress events (the CLI draws them; `--progress=plain` prints them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    StepStarted {
        stage: String,
        index: usize,
        total: usize,
        name: String,
    },
    StepCached {
        stage: String,
        index: usize,
        total: usize,
        name: String,
    },
    StepDone {
        stage: String,
        index: usize,
        name: String,
        millis: u128,
    },
}

pub trait Reporter: Sync {
    fn event(&self, e: Event);
    /// Output lines of a RUN.
    fn output(&self, _stage: &str, _line: &[u8]) {}
}

/// Discards events.
pub struct Silent;
impl Reporter for Silent {
    fn event(&self, _e: Event) {}
}

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub no_cache: bool,
    /// Seconds since the epoch for history `created` and generated files.
    pub now: Option<i64>,
}

/// A built stage.
#[derive(Debug, Clone)]
pub struct StageResult {
    pub key: String,
    pub layers: Vec<LayerRef>,
    pub image: ImageConfig,
    /// Steps served from the cache.
    pub cached: usize,
    /// Steps executed.
    pub executed: usize,
}

/// Build every stage of `plan` (independent stages in parallel) and return the target's
/// result.
pub fn execute(
    plan: &Plan,
    context: &BuildContext,
    exec: &dyn Executor,
    cache: &BuildCache,
    work: &Path,
    opts: &ExecOptions,
    reporter: &dyn Reporter,
) -> Result<BTreeMap<usize, StageResult>, ExecError> {
    let results: Mutex<BTreeMap<usize, StageResult>> = Mutex::new(BTreeMap::new());
    for wave in &plan.waves {
        let outcome: Vec<Result<(usize, StageResult), ExecError>> = std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .iter()
                .map(|&i| {
                    let results = &results;
                    s.spawn(move || {
                        let done = results.lock().map(|r| r.clone()).unwrap_or_default();
                        let st = &plan.stages[&i];
                        build_stage(
                            st,
                            &done,
                            context,
                            exec,
                            cache,
                            &work.join(format!("stage-{i}")),
                            opts,
                            reporter,
                        )
                        .map(|r| (i, r))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(ExecError::Failed("build thread panicked".into())))
                })
                .collect()
        });
        for o in outcome {
            let (i, r) = o?;
            results
                .lock()
                .map_err(|_| ExecError::Failed("lock poisoned".into()))?
                .insert(i, r);
        }
    }
    results
        .into_inner()
        .map_err(|_| ExecError::Failed("lock poisoned".into()))
}

fn now_secs(opts: &ExecOptions) -> i64 {
    opts.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    })
}

/// Remove a step's scratch directory, first detaching mounts a killed build may have left
/// under it (so the next build repairs what an interrupted one left).
fn clean_step_dir(dir: &Path) {
    if let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") {
        let prefix = format!("{}/", dir.display());
        let mut points: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&prefix))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = nix::mount::umount2(p, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Now (or the fixed build time) as Go's RFC 3339 with nanoseconds.
fn stamp(opts: &ExecOptions) -> String {
    let t = match opts.now {
        Some(s) => chrono::DateTime::from_timestamp(s, 0).unwrap_or_default(),
        None => chrono::Utc::now(),
    };
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn key_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The digest of everything a step reads beyond its parent.
pub fn inputs_digest(
    op: &Op,
    context: &BuildContext,
    done: &BTreeMap<usize, StageResult>,
) -> Result<String, ExecError> {
    if let Op::Run(r) = op {
        // Bind mounts read their source: its content is part of the key (cache mounts are not).
        let mut parts = Vec::new();
        for (n, m) in r.mounts.iter().enumerate() {
            if m.kind != "bind" {
                continue;
            }
            match r.mount_from.get(n).and_then(|f| f.as_ref()) {
                None => {
                    let fs = ContextFs(context);
                    let resolved = fs
                        .resolve(m.source.trim_start_matches('/'), true)
                        .unwrap_or_default();
                    parts.push(format!("{n} ctx {}", context.tree_digest(&resolved)?));
                }
                Some(CopyFrom::Stage(j)) => parts.push(format!(
                    "{n} stage {}",
                    done.get(j).map(|r| r.key.as_str()).unwrap_or("")
                )),
                Some(CopyFrom::Image { digest, .. }) => parts.push(format!("{n} image {digest}")),
                Some(CopyFrom::Context) => {}
            }
        }
        return Ok(key_of(
            &parts.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
    }
    let Op::Copy(c) = op else {
        return Ok(String::new());
    };
    let mut parts = Vec::new();
    match &c.from {
        CopyFrom::Context => {
            let fs = ContextFs(context);
            for s in &c.sources {
                if is_url(s) {
                    parts.push(format!("url {s} {}", c.checksum));
                    continue;
                }
                let rel = s.trim_start_matches('/');
                let matches = if super::gomatch::has_meta(rel) {
                    expand(&fs, rel)
                } else {
                    vec![rel.to_string()]
                };
                for m in matches {
                    let resolved = fs.resolve(&m, true).unwrap_or_default();
                    parts.push(format!("{m} {}", context.tree_digest(&resolved)?));
                }
            }
        }
        CopyFrom::Stage(j) => parts.push(format!(
            "stage {}",
            done.get(j).map(|r| r.key.as_str()).unwrap_or("")
        )),
        CopyFrom::Image { digest, .. } => parts.push(format!("image {digest}")),
    }
    Ok(key_of(
        &parts.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
}

fn expand(fs: &dyn SourceFs, pattern: &str) -> Vec<String> {
    let mut current = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            let dir = fs.resolve(base, true).unwrap_or_default();
            for name in fs.read_dir(&dir) {
                if super::gomatch::matches(comp, &name).unwrap_or(false) {
                    next.push(if base.is_empty() {
                        name
                    } else {
                        format!("{base}/{name}")
                    });
                }
            }
        }
        current = next;
    }
    current
}

#[allow(clippy::too_many_arguments)]
fn build_stage(
    st: &StagePlan,
    done: &BTreeMap<usize, StageResult>,
    context: &BuildContext,
    exec: &dyn Executor,
    cache: &BuildCache,
    work: &Path,
    opts: &ExecOptions,
    reporter: &dyn Reporter,
) -> Result<StageResult, ExecError> {
    let (mut key, mut layers, base_image) = match &st.base {
        Base::Scratch => ("scratch".to_string(), Vec::new(), None),
        Base::Image { reference, digest } => {
            let r = exec
                .resolve(reference, &st.platform)
                .map_err(ExecError::Failed)?;
            (format!("image {digest}"), exec.image_layers(&r)?, Some(r))
        }
        Base::Stage(j) => {
            let r = done
                .get(j)
                .ok_or_else(|| ExecError::Failed(format!("stage #{j} was not built")))?;
            (r.key.clone(), r.layers.clone(), None)
        }
    };
    let _ = base_image;
    let base_diffs: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let stage_name = st.display_name();
    let total = st.steps.len();
    let now = now_secs(opts);
    let mut image = st.image.clone();
    let mut cached = 0;
    let mut executed = 0;
    let mut step_layers: BTreeMap<usize, LayerRef> = BTreeMap::new();
    let mut step_times: BTreeMap<usize, String> = BTreeMap::new();
    fs_err::create_dir_all(work).map_err(|e| ExecError::Io {
        path: work.to_path_buf(),
        source: e,
    })?;
    for (n, step) in st.steps.iter().enumerate() {
        let inputs = inputs_digest(&step.op, context, done)?;
        key = key_of(&[&key, &step.op.describe(), &inputs]);
        if !opts.no_cache
            && let Some(l) = cache.get(&key)
        {
            reporter.event(Event::StepCached {
                stage: stage_name.clone(),
                index: n + 1,
                total,
                name: step.name.clone(),
            });
            layers.push(l.clone());
            step_layers.insert(step.history_index, l);
            step_times.insert(step.history_index, stamp(opts));
            cached += 1;
            continue;
        }
        reporter.event(Event::StepStarted {
            stage: stage_name.clone(),
            index: n + 1,
            total,
            name: step.name.clone(),
        });
        let t0 = std::time::Instant::now();
        let dir = work.join(format!("step-{n}"));
        clean_step_dir(&dir);
        let upper = dir.join("upper");
        let wdir = dir.join("work");
        for d in [&upper, &wdir] {
            fs_err::create_dir_all(d).map_err(|e| ExecError::Io {
                path: d.to_path_buf(),
                source: e,
            })?;
        }
        let lower: Vec<PathBuf> = layers.iter().rev().map(|l| l.dir.clone()).collect();
        match &step.op {
            Op::Run(r) => {
                let pipes = if r.inline_files.is_empty() {
                    None
                } else {
                    let p = dir.join("pipes");
                    fs_err::create_dir_all(&p).map_err(|e| ExecError::Io {
                        path: p.clone(),
                        source: e,
                    })?;
                    for (name, data) in &r.inline_files {
                        copy::write_bytes(&p.join(name), data.as_bytes(), 0o755)
                            .map_err(ioerr(&p))?;
                    }
                    Some(p)
                };
                let req = RunRequest {
                    lower,
                    upper: upper.clone(),
                    work: wdir.clone(),
                    op: r.clone(),
                    pipes,
                    mount_sources: Vec::new(),
                };
                let mut views = Vec::new();
                let req = RunRequest {
                    mount_sources: mount_sources(
                        r, &dir, context, done, exec, st, cache, &mut views,
                    )?,
                    ..req
                };
                let mut log = ReporterWriter {
                    reporter,
                    stage: &stage_name,
                    buf: Vec::new(),
                };
                exec.run(&req, &mut log)?;
                drop(views);
                log.flush_rest();
            }
            Op::Copy(c) => copy_step(c, &lower, &upper, &wdir, &dir, context, done, exec, st, now)?,
            Op::Mkdir { path, user } => with_merged(&lower, &upper, &wdir, &dir, |root| {
                let owner = user_ids(root, user)?;
                copy::ensure_dir(
                    root,
                    path,
                    &CopySettings {
                        owner,
                        chmod: None,
                        now,
                    },
                )?;
                Ok(())
            })?,
        }
        let tar_path = dir.join("layer.tar");
        let f = fs_err::File::create(&tar_path).map_err(|e| ExecError::Io {
            path: tar_path.clone(),
            source: e,
        })?;
        let (_, diff_id, _) = layer::dir_to_tar(&upper, f)?;
        let l = exec.commit_layer(&upper, &tar_path, &diff_id)?;
        cache.put(&key, &l)?;
        clean_step_dir(&dir);
        layers.push(l.clone());
        step_layers.insert(step.history_index, l);
        executed += 1;
        reporter.event(Event::StepDone {
            stage: stage_name.clone(),
            index: n + 1,
            name: step.name.clone(),
            millis: t0.elapsed().as_millis(),
        });
    }
    // History timestamps as BuildKit's exporter fills them: a layer entry gets the time its
    // layer was made, a metadata entry the time of the layer before it (or of the first new
    // layer when none precedes it).
    let first = step_times
        .values()
        .next()
        .cloned()
        .unwrap_or_else(|| stamp(opts));
    let mut last = first.clone();
    for (i, h) in image.history.iter_mut().enumerate() {
        if let Some(t) = step_times.get(&i) {
            last = t.clone();
        }
        if h.created.is_none() {
            h.created = Some(step_times.get(&i).cloned().unwrap_or_else(|| last.clone()));
        }
    }
    image.created = Some(last);
    image.rootfs.diff_ids = base_diffs;
    for (_, l) in step_layers {
        image.rootfs.diff_ids.push(l.diff_id);
    }
    Ok(StageResult {
        key,
        layers,
        image,
        cached,
        executed,
    })
}

struct ReporterWriter<'a> {
    reporter: &'a dyn Reporter,
    stage: &'a str,
    buf: Vec<u8>,
}

impl ReporterWriter<'_> {
    fn flush_rest(&mut self) {
        if !self.buf.is_empty() {
            self.reporter.output(self.stage, &self.buf);
            self.buf.clear();
        }
    }
}

impl Write for ReporterWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            self.reporter.output(self.stage, &line[..line.len() - 1]);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Mount the stage's layers with `upper` on a temporary merged dir and run `f` on it.
fn with_merged<T>(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    dir: &Path,
    f: impl FnOnce(&Path) -> Result<T, ExecError>,
) -> Result<T, ExecError> {
    let merged = dir.join("merged");
    let empty = dir.join("empty");
    for d in [&merged, &empty] {
        fs_err::create_dir_all(d).map_err(|e| ExecError::Io {
            path: d.to_path_buf(),
            source: e,
        })?;
    }
    let lower = if lower.is_empty() {
        vec![empty]
    } else {
        lower.to_vec()
    };
    let m = OverlayMount::mount(&lower, upper, work, &merged)?;
    let r = f(m.path());
    m.unmount()?;
    r
}

/// A read-only view of a stage's or image's layers (an overlay when there are several),
/// unmounted on drop.
pub struct ReadonlyView {
    path: PathBuf,
    mounted: bool,
}

impl ReadonlyView {
    pub fn new(layers: &[LayerRef], target: &Path) -> Result<Self, ExecError> {
        match layers.len() {
            0 => {
                fs_err::create_dir_all(target).map_err(|e| ExecError::Io {
                    path: target.to_path_buf(),
                    source: e,
                })?;
                Ok(Self {
                    path: target.to_path_buf(),
                    mounted: false,
                })
            }
            1 => Ok(Self {
                path: layers[0].dir.clone(),
                mounted: false,
            }),
            _ => {
                fs_err::create_dir_all(target).map_err(|e| ExecError::Io {
                    path: target.to_path_buf(),
                    source: e,
                })?;
                let lowers: Vec<String> = layers
                    .iter()
                    .rev()
                    .map(|l| l.dir.display().to_string())
                    .collect();
                nix::mount::mount(
                    Some("overlay"),
                    target,
                    Some("overlay"),
                    nix::mount::MsFlags::MS_RDONLY,
                    Some(format!("lowerdir={}", lowers.join(":")).as_str()),
                )
                .map_err(|e| {
                    ExecError::Failed(format!(
                        "cannot mount source layers at `{}`: {e}",
                        target.display()
                    ))
                })?;
                Ok(Self {
                    path: target.to_path_buf(),
                    mounted: true,
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ReadonlyView {
    fn drop(&mut self) {
        if self.mounted {
            let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn with_readonly<T>(
    layers: &[LayerRef],
    dir: &Path,
    f: impl FnOnce(&Path) -> Result<T, ExecError>,
) -> Result<T, ExecError> {
    let view = ReadonlyView::new(layers, &dir.join("from"))?;
    f(view.path())
}

/// Host directories for a RUN's `--mount`s: bind sources from the context, a stage or an
/// image; persistent cache directories; `None` for tmpfs and for absent optional secrets.
#[allow(clippy::too_many_arguments)]
fn mount_sources(
    op: &RunOp,
    dir: &Path,
    context: &BuildContext,
    done: &BTreeMap<usize, StageResult>,
    exec: &dyn Executor,
    st: &StagePlan,
    cache: &BuildCache,
    views: &mut Vec<ReadonlyView>,
) -> Result<Vec<Option<PathBuf>>, ExecError> {
    let mut out = Vec::new();
    for (n, m) in op.mounts.iter().enumerate() {
        let source = m.source.trim_start_matches('/').to_string();
        let from_root = |views: &mut Vec<ReadonlyView>| -> Result<PathBuf, ExecError> {
            if m.from.is_empty() {
                return Ok(context.root().to_path_buf());
            }
            let layers = match op.mount_from.get(n).and_then(|f| f.as_ref()) {
                Some(CopyFrom::Stage(j)) => {
                    done.get(j).map(|r| r.layers.clone()).unwrap_or_default()
                }
                Some(CopyFrom::Image { reference, .. }) => {
                    let r = exec
                        .resolve(reference, &st.platform)
                        .map_err(ExecError::Failed)?;
                    exec.image_layers(&r)?
                }
                _ => Vec::new(),
            };
            let view = ReadonlyView::new(&layers, &dir.join(format!("mount-{n}")))?;
            let p = view.path().to_path_buf();
            views.push(view);
            Ok(p)
        };
        out.push(match m.kind.as_str() {
            "bind" if m.from.is_empty() => {
                // The context as COPY sees it (.dockerignore applied), copied so a writable
                // mount cannot change the user's files.
                let target = dir.join(format!("mount-{n}"));
                fs_err::create_dir_all(&target).map_err(|e| ExecError::Io {
                    path: target.clone(),
                    source: e,
                })?;
                let fs = ContextFs(context);
                let resolved = fs
                    .resolve(&source, true)
                    .ok_or_else(|| copy::CopyError::NotFound(format!("/{source}")))?;
                let is_dir = fs
                    .lstat(&resolved)
                    .is_some_and(|m| m.kind == copy::SrcKind::Dir);
                let op = CopyOp {
                    is_add: false,
                    from: CopyFrom::Context,
                    sources: vec![format!("/{resolved}")],
                    contents: Vec::new(),
                    dest: "/".into(),
                    chown: String::new(),
                    chmod: None,
                    link: true,
                    parents: false,
                    excludes: Vec::new(),
                    checksum: String::new(),
                    keep_git_dir: false,
                    unpack: Some(false),
                };
                copy::apply(&op, &fs, &target, 0)?;
                Some(if is_dir {
                    target
                } else {
                    target.join(resolved.rsplit('/').next().unwrap_or(""))
                })
            }
            "bind" => {
                let root = from_root(views)?;
                Some(copy::scoped_path(&root, &format!("/{source}"), true))
            }
            "cache" => {
                let id = if m.id.is_empty() {
                    m.target.clone()
                } else {
                    m.id.clone()
                };
                let p = cache.mount_dir(&id);
                if !p.exists() {
                    fs_err::create_dir_all(&p).map_err(|e| ExecError::Io {
                        path: p.clone(),
                        source: e,
                    })?;
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(
                        &p,
                        std::fs::Permissions::from_mode(m.mode.unwrap_or(0o755)),
                    );
                    let _ = std::os::unix::fs::chown(
                        &p,
                        Some(m.uid.unwrap_or(0)),
                        Some(m.gid.unwrap_or(0)),
                    );
                }
                Some(p)
            }
            "secret" | "ssh" if m.required => {
                return Err(ExecError::Failed(format!(
                    "{} mounts are not supported: no {} was provided",
                    m.kind, m.kind
                )));
            }
            _ => None,
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn copy_step(
    c: &CopyOp,
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    dir: &Path,
    context: &BuildContext,
    done: &BTreeMap<usize, StageResult>,
    exec: &dyn Executor,
    st: &StagePlan,
    now: i64,
) -> Result<(), ExecError> {
    // --link copies onto nothing, so `--chown` names are looked up in the stage's layers first.
    let linked;
    let c = if c.link && !c.chown.is_empty() {
        let lowers: Vec<LayerRef> = lower
            .iter()
            .rev()
            .map(|d| LayerRef {
                diff_id: String::new(),
                dir: d.clone(),
            })
            .collect();
        let ids = with_readonly(&lowers, &dir.join("users"), |root| {
            Ok(copy::resolve_chown(root, &c.chown)?)
        })?;
        linked = CopyOp {
            chown: ids.map(|(u, g)| format!("{u}:{g}")).unwrap_or_default(),
            ..c.clone()
        };
        &linked
    } else {
        c
    };
    let run_copy = |src: &dyn SourceFs| -> Result<(), ExecError> {
        if c.link {
            // --link: the layer is just the copied files, independent of what is below.
            copy::apply(c, src, upper, now)?;
            Ok(())
        } else {
            with_merged(lower, upper, work, dir, |root| {
                Ok(copy::apply(c, src, root, now)?)
            })
        }
    };
    match &c.from {
        CopyFrom::Context => run_copy(&ContextFs(context)),
        CopyFrom::Stage(j) => {
            let layers = &done
                .get(j)
                .ok_or_else(|| ExecError::Failed(format!("stage #{j} was not built")))?
                .layers;
            with_readonly(layers, dir, |p| run_copy(&DirFs(p.to_path_buf())))
        }
        CopyFrom::Image { reference, .. } => {
            let r = exec
                .resolve(reference, &st.platform)
                .map_err(ExecError::Failed)?;
            let layers = exec.image_layers(&r)?;
            with_readonly(&layers, dir, |p| run_copy(&DirFs(p.to_path_buf())))
        }
    }
}

/// `user[:group]` to ids through the rootfs's passwd/group (empty: root).
fn user_ids(root: &Path, user: &str) -> Result<Option<(u32, u32)>, ExecError> {
    if user.is_empty() {
        return Ok(None);
    }
    // USER without a group uses the user's primary group, unlike --chown.
    if !user.contains(':') && user.parse::<u32>().is_err() {
        let text = std::fs::read_to_string(copy::scoped_path(root, "/etc/passwd", true))
            .unwrap_or_default();
        for l in text.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() > 3
                && f[0] == user
                && let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse())
            {
                return Ok(Some((u, g)));
            }
        }
    }
    Ok(copy::resolve_chown(root, user)?)
}
