//! From a parsed Dockerfile to a build plan: stages and their dependencies, the steps that
//! produce layers (RUN, COPY, ADD, WORKDIR) with everything substituted, and the image config
//! each stage ends with. Follows BuildKit's `dockerfile2llb` dispatch rules (ARG/ENV scoping,
//! history strings, CMD reset by ENTRYPOINT, ONBUILD triggers, PATH default).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::config::{Empty, HealthConfig, History, ImageConfig, Platform};
use super::gofmt;
use super::instructions::{
    self, ArgDef, CmdLine, CopyFlags, Dockerfile, Instruction, Kind, MountSpec, SourceContent,
    SourcesAndDest,
};
use super::parser::{self, Span};
use super::shell::{Env, Lex};

pub const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";
const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--build-arg KEY=VALUE` (a key without value takes it from the environment before this).
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    /// Target platform (default: this machine's).
    pub platform: Option<Platform>,
    /// Labels added to the final image (compose `build.labels`).
    pub labels: BTreeMap<String, String>,
    /// Default network mode for RUN (compose `build.network`).
    pub network: Option<String>,
}

/// A base image's resolution: its config and an identity for cache keys.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// Normalised reference (`docker.io/library/busybox:latest`).
    pub reference: String,
    /// Stable identity of the image (config or manifest digest).
    pub digest: String,
    pub config: ImageConfig,
}

/// Looks up base images (FROM, COPY --from=<image>). The image store implements it.
pub trait ImageResolver {
    fn resolve(&self, reference: &str, platform: &Platform) -> Result<ResolvedImage, String>;
}

/// A planning error, located in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    pub message: String,
    pub span: Span,
}

impl PlanError {
    fn at(span: Span, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span,
        }
    }
}

impl PlanError {
    /// `Dockerfile:12: unknown instruction: FORM (did you mean FROM?)`.
    pub fn render(&self, file: &str) -> String {
        if self.span.start == 0 {
            return self.message.clone();
        }
        format!("{file}:{}: {}", self.span.start, self.message)
    }

    /// The lines around the error, marked as BuildKit prints them.
    pub fn snippet(&self, file: &str, text: &str) -> String {
        if self.span.start == 0 {
            return String::new();
        }
        let lines: Vec<&str> = text.lines().collect();
        let first = self.span.start.saturating_sub(2).max(1);
        let last = (self.span.end.max(self.span.start) + 1).min(lines.len());
        let mut out = format!("{file}:{}\n--------------------\n", self.span.start);
        for n in first..=last {
            let mark = if n >= self.span.start && n <= self.span.end.max(self.span.start) {
                ">>>"
            } else {
                "   "
            };
            out.push_str(&format!(
                " {n:>3} | {mark} {}\n",
                lines.get(n - 1).unwrap_or(&"")
            ));
        }
        out.push_str("--------------------\n");
        out
    }
}

impl From<parser::SyntaxError> for PlanError {
    fn from(e: parser::SyntaxError) -> Self {
        Self {
            message: e.message,
            span: e.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    Image { reference: String, digest: String },
    Stage(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyFrom {
    Context,
    Stage(usize),
    Image { reference: String, digest: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOp {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub network: String,
    pub security: String,
    pub mounts: Vec<MountSpec>,
    /// Where each mount's `from=` points (aligned with `mounts`; `None`: the context).
    pub mount_from: Vec<Option<CopyFrom>>,
    /// Heredoc scripts with a shebang, mounted read-only at `/dev/pipes/<name>` (mode 0755).
    pub inline_files: Vec<(String, String)>,
    /// Proxy build args: given to the command, kept out of history and cache keys.
    pub proxy_env: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOp {
    pub is_add: bool,
    pub from: CopyFrom,
    /// Source paths (context- or stage-root relative, cleaned, wildcards allowed) or URLs.
    pub sources: Vec<String>,
    /// Heredoc files (name, content after substitution).
    pub contents: Vec<(String, String)>,
    /// Absolute destination; a trailing `/` means "into this directory".
    pub dest: String,
    pub chown: String,
    pub chmod: Option<u32>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub checksum: String,
    pub keep_git_dir: bool,
    pub unpack: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Run(RunOp),
    Copy(CopyOp),
    /// WORKDIR creating its directory.
    Mkdir {
        path: String,
        user: String,
    },
}

impl Op {
    /// The canonical description that enters the cache key.
    pub fn describe(&self) -> String {
        match self {
            Op::Run(r) => format!(
                "run args={:?} env={:?} cwd={:?} user={:?} network={} security={} mounts={:?} files={:?}",
                r.args, r.env, r.cwd, r.user, r.network, r.security, r.mounts, r.inline_files
            ),
            Op::Copy(c) => format!(
                "{} from={:?} src={:?} contents={:?} dest={:?} chown={:?} chmod={:?} link={} parents={} exclude={:?} checksum={:?} unpack={:?}",
                if c.is_add { "add" } else { "copy" },
                c.from,
                c.sources,
                c.contents,
                c.dest,
                c.chown,
                c.chmod,
                c.link,
                c.parents,
                c.excludes,
                c.checksum,
                c.unpack
            ),
            Op::Mkdir { path, user } => format!("mkdir {path:?} user={user:?}"),
        }
    }
}

/// A step that produces a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub line: usize,
    /// Shown in progress: `RUN echo hi` (with ONBUILD prefix for triggers).
    pub name: String,
    /// Index of its history entry in the stage's image config.
    pub history_index: usize,
    pub op: Op,
}

#[derive(Debug, Clone)]
pub struct StagePlan {
    pub index: usize,
    /// Lowercased name, empty if unnamed.
    pub name: String,
    pub base: Base,
    pub platform: Platform,
    pub steps: Vec<Step>,
    /// The config the stage ends with (history without timestamps, no diff_ids yet beyond
    /// the base image's).
    pub image: ImageConfig,
    /// Stages this one needs (base and COPY/RUN --mount sources), sorted.
    pub deps: Vec<usize>,
    pub span: Span,
}

impl StagePlan {
    /// `builder` or `stage-2`, as BuildKit names stages in progress output.
    pub fn display_name(&self) -> String {
        if self.name.is_empty() {
            format!("stage-{}", self.index)
        } else {
            self.name.clone()
        }
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Planned stages (only those the target needs), by Dockerfile index.
    pub stages: BTreeMap<usize, StagePlan>,
    pub target: usize,
    /// Groups of stages that can run in parallel, in order.
    pub waves: Vec<Vec<usize>>,
    pub warnings: Vec<String>,
    pub escape: char,
}

impl Plan {
    pub fn target_stage(&self) -> &StagePlan {
        &self.stages[&self.target]
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waves: Vec<String> = self
            .waves
            .iter()
            .map(|w| {
                w.iter()
                    .map(|i| format!("#{i}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        writeln!(
            f,
            "target #{} {}; order: {}",
            self.target,
            self.target_stage().display_name(),
            waves.join(" | ")
        )?;
        for st in self.stages.values() {
            let base = match &st.base {
                Base::Scratch => "scratch".to_string(),
                Base::Image { reference, .. } => reference.clone(),
                Base::Stage(i) => format!("#{i}"),
            };
            let deps: Vec<String> = st.deps.iter().map(|d| format!("#{d}")).collect();
            write!(
                f,
                "#{} {} FROM {} ({})",
                st.index,
                st.display_name(),
                base,
                st.platform
            )?;
            if !deps.is_empty() {
                write!(f, " needs {}", deps.join(" "))?;
            }
            writeln!(f)?;
            for s in &st.steps {
                let extra = match &s.op {
                    Op::Run(r) => {
                        let mut x =
                            format!("cwd={} user={:?} network={}", r.cwd, r.user, r.network);
                        for m in &r.mounts {
                            x.push_str(&format!(" mount={}:{}", m.kind, m.target));
                        }
                        x
                    }
                    Op::Copy(c) => {
                        let from = match &c.from {
                            CopyFrom::Context => "context".to_string(),
                            CopyFrom::Stage(i) => format!("#{i}"),
                            CopyFrom::Image { reference, .. } => reference.clone(),
                        };
                        let mut x = format!("from={from} dest={}", c.dest);
                        if !c.chown.is_empty() {
                            x.push_str(&format!(" chown={}", c.chown));
                        }
                        if let Some(m) = c.chmod {
                            x.push_str(&format!(" chmod={m:o}"));
                        }
                        if c.link {
                            x.push_str(" link");
                        }
                        x
                    }
                    Op::Mkdir { path, user } => format!("mkdir={path} user={user:?}"),
                };
                writeln!(f, "  {:>3}: {}  [{}]", s.line, s.name, extra)?;
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// Per-stage dispatch state.
#[derive(Debug, Clone)]
struct State {
    image: ImageConfig,
    env: Env,
    build_args: Vec<ArgDef>,
    cmd_set: bool,
}

struct StageInfo {
    base: Base,
    platform: Platform,
    triggers: Vec<Instruction>,
    deps: BTreeSet<usize>,
}

/// Plan a build of `dockerfile` (its text).
pub fn plan(
    text: &str,
    opts: &BuildOptions,
    resolver: &dyn ImageResolver,
) -> Result<Plan, PlanError> {
    let ast = parser::parse(text)?;
    let df = instructions::from_ast(&ast)?;
    let mut plan = Planner::new(&df, opts, resolver).run()?;
    for d in &ast.directives {
        if d.name == "syntax"
            && !d.value.starts_with("docker/dockerfile")
            && !d.value.starts_with("docker.io/docker/dockerfile")
        {
            plan.warnings.push(format!(
                "line {}: syntax `{}` ignored: rcompose builds with its own Dockerfile frontend",
                d.line, d.value
            ));
        }
    }
    Ok(plan)
}

struct Planner<'a> {
    df: &'a Dockerfile,
    opts: &'a BuildOptions,
    resolver: &'a dyn ImageResolver,
    lex: Lex,
    global: Env,
    consumed: BTreeSet<String>,
    warnings: Vec<String>,
    images: BTreeMap<(String, String), ResolvedImage>,
    target_platform: Platform,
}

impl<'a> Planner<'a> {
    fn new(df: &'a Dockerfile, opts: &'a BuildOptions, resolver: &'a dyn ImageResolver) -> Self {
        Self {
            df,
            opts,
            resolver,
            lex: Lex::new(df.escape),
            global: Env::default(),
            consumed: BTreeSet::new(),
            warnings: df
                .warnings
                .iter()
                .map(|w| format!("line {}: {}", w.line, w.message))
                .collect(),
            images: BTreeMap::new(),
            target_platform: opts.platform.clone().unwrap_or_else(Platform::host),
        }
    }

    fn resolve_image(
        &mut self,
        reference: &str,
        platform: &Platform,
        span: Span,
    ) -> Result<ResolvedImage, PlanError> {
        let key = (reference.to_string(), platform.to_string());
        if let Some(r) = self.images.get(&key) {
            return Ok(r.clone());
        }
        let r = self
            .resolver
            .resolve(reference, platform)
            .map_err(|e| PlanError::at(span, e))?;
        self.images.insert(key, r.clone());
        Ok(r)
    }

    fn run(mut self) -> Result<Plan, PlanError> {
        let df = self.df;
        let build = Platform::host();
        let tp = self.target_platform.clone();
        let target_name = self
            .opts
            .target
            .clone()
            .unwrap_or_else(|| df.stages.last().map(|s| s.name.clone()).unwrap_or_default());
        // BuildKit's defaultArgs, overridable by build args.
        for (k, v) in [
            ("BUILDPLATFORM", build.to_string()),
            ("BUILDOS", build.os.clone()),
            ("BUILDOSVERSION", String::new()),
            ("BUILDARCH", build.architecture.clone()),
            ("BUILDVARIANT", build.variant.clone()),
            ("TARGETPLATFORM", tp.to_string()),
            ("TARGETOS", tp.os.clone()),
            ("TARGETOSVERSION", String::new()),
            ("TARGETARCH", tp.architecture.clone()),
            ("TARGETVARIANT", tp.variant.clone()),
            ("TARGETSTAGE", target_name),
        ] {
            let v = self.opts.build_args.get(k).cloned().unwrap_or(v);
            self.global.set(k, &v);
        }
        for (defs, span) in &df.meta_args {
            for a in defs {
                self.consumed.insert(a.key.clone());
                let value = match self.opts.build_args.get(&a.key) {
                    Some(v) => Some(v.clone()),
                    None => match &a.value {
                        Some(d) => Some(
                            self.lex
                                .process_word(d, &self.global)
                                .map_err(|e| PlanError::at(*span, e.to_string()))?,
                        ),
                        None => None,
                    },
                };
                if let Some(v) = value {
                    self.global.set(&a.key, &v);
                }
            }
        }

        // Bases and platforms.
        let mut infos: Vec<StageInfo> = Vec::new();
        for (i, st) in df.stages.iter().enumerate() {
            let base = self
                .lex
                .process_word(&st.base, &self.global)
                .map_err(|e| PlanError::at(st.span, e.to_string()))?;
            if base.is_empty() {
                return Err(PlanError::at(
                    st.span,
                    format!("base name ({}) should not be blank", st.base),
                ));
            }
            let platform = if st.platform.is_empty() {
                tp.clone()
            } else {
                let p = self
                    .lex
                    .process_word(&st.platform, &self.global)
                    .map_err(|e| {
                        PlanError::at(
                            st.span,
                            format!(
                                "failed to process arguments for platform {}: {e}",
                                st.platform
                            ),
                        )
                    })?;
                if p.is_empty() {
                    return Err(PlanError::at(
                        st.span,
                        format!("empty platform value from expression {}", st.platform),
                    ));
                }
                Platform::parse(&p).map_err(|e| {
                    PlanError::at(
                        st.span,
                        format!("failed to parse platform {}: {e}", st.platform),
                    )
                })?
            };
            let base = if let Some(j) = df.stages[..i]
                .iter()
                .rposition(|s| !s.name.is_empty() && s.name == base)
            {
                Base::Stage(j)
            } else if base.eq_ignore_ascii_case("scratch") {
                Base::Scratch
            } else {
                Base::Image {
                    reference: base,
                    digest: String::new(),
                }
            };
            let mut deps = BTreeSet::new();
            if let Base::Stage(j) = base {
                deps.insert(j);
            }
            for ins in &st.instructions {
                self.instruction_deps(ins, i, &mut deps)?;
            }
            infos.push(StageInfo {
                base,
                platform,
                triggers: Vec::new(),
                deps,
            });
        }

        let target = match &self.opts.target {
            None => df.stages.len() - 1,
            Some(t) => df
                .stages
                .iter()
                .position(|s| s.name.eq_ignore_ascii_case(t))
                .ok_or_else(|| {
                    PlanError::at(
                        Span::default(),
                        format!("target stage {} could not be found", gofmt::quote(t)),
                    )
                })?,
        };

        // Resolve reachable bases; ONBUILD triggers may add dependencies, so repeat.
        let mut triggered: BTreeSet<usize> = BTreeSet::new();
        loop {
            let reach = reachable(&infos, target);
            let mut changed = false;
            for &i in &reach {
                if triggered.contains(&i) {
                    continue;
                }
                triggered.insert(i);
                let span = df.stages[i].span;
                let exprs: Vec<String> = match infos[i].base.clone() {
                    Base::Image { reference, .. } => {
                        let r = self.resolve_image(&reference, &infos[i].platform.clone(), span)?;
                        infos[i].base = Base::Image {
                            reference: r.reference.clone(),
                            digest: r.digest.clone(),
                        };
                        r.config.config.on_build.clone()
                    }
                    Base::Stage(j) => df.stages[j]
                        .instructions
                        .iter()
                        .filter_map(|ins| match &ins.kind {
                            Kind::Onbuild(e) => Some(e.clone()),
                            _ => None,
                        })
                        .collect(),
                    Base::Scratch => Vec::new(),
                };
                for e in exprs {
                    let ins = parse_trigger(&e, span)?;
                    let mut deps = BTreeSet::new();
                    self.instruction_deps(&ins, i, &mut deps)?;
                    for d in deps {
                        changed |= infos[i].deps.insert(d);
                    }
                    infos[i].triggers.push(ins);
                }
            }
            if !changed {
                break;
            }
        }
        check_cycles(&infos, df)?;
        let reach = reachable(&infos, target);

        let mut stages: BTreeMap<usize, StagePlan> = BTreeMap::new();
        let mut finals: BTreeMap<usize, State> = BTreeMap::new();
        for &i in &reach {
            let (sp, state) = self.dispatch_stage(i, &infos, &stages, &finals)?;
            stages.insert(i, sp);
            finals.insert(i, state);
        }
        if !self.opts.labels.is_empty() {
            let t = stages.get_mut(&target).expect("target planned");
            let labels = t.image.config.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in &self.opts.labels {
                labels.insert(k.clone(), v.clone());
            }
        }
        let unused: Vec<&String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| {
                !self.consumed.contains(*k)
                    && !PROXY_ARGS.contains(&k.as_str())
                    && self.global_default(k).is_none()
            })
            .collect();
        if !unused.is_empty() {
            let names: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
            self.warnings.push(format!(
                "One or more build-args [{}] were not consumed",
                names.join(" ")
            ));
        }

        // Waves: a stage runs after all its dependencies.
        let mut level: BTreeMap<usize, usize> = BTreeMap::new();
        for &i in &reach {
            let l = infos[i]
                .deps
                .iter()
                .map(|d| level.get(d).map_or(0, |l| l + 1))
                .max()
                .unwrap_or(0);
            level.insert(i, l);
        }
        let max = level.values().copied().max().unwrap_or(0);
        let waves = (0..=max)
            .map(|l| {
                level
                    .iter()
                    .filter(|(_, v)| **v == l)
                    .map(|(k, _)| *k)
                    .collect()
            })
            .collect();
        Ok(Plan {
            stages,
            target,
            waves,
            warnings: self.warnings,
            escape: df.escape,
        })
    }

    fn global_default(&self, k: &str) -> Option<()> {
        matches!(
            k,
            "BUILDPLATFORM"
                | "BUILDOS"
                | "BUILDOSVERSION"
                | "BUILDARCH"
                | "BUILDVARIANT"
                | "TARGETPLATFORM"
                | "TARGETOS"
                | "TARGETOSVERSION"
                | "TARGETARCH"
                | "TARGETVARIANT"
                | "TARGETSTAGE"
        )
        .then_some(())
    }

    /// Stage references of COPY --from and RUN --mount from=.
    fn instruction_deps(
        &self,
        ins: &Instruction,
        current: usize,
        deps: &mut BTreeSet<usize>,
    ) -> Result<(), PlanError> {
        let mut refs = Vec::new();
        match &ins.kind {
            Kind::Copy { flags, .. } if !flags.from.is_empty() => refs.push(flags.from.clone()),
            Kind::Run { mounts, .. } => {
                for m in mounts {
                    if let Ok(spec) =
                        instructions::parse_mount(m, Some(&|s: &str| Ok(s.to_string())))
                        && !spec.from.is_empty()
                    {
                        refs.push(spec.from);
                    }
                }
            }
            _ => {}
        }
        for r in refs {
            let r = self.lex.process_word(&r, &self.global).unwrap_or(r);
            if let Some(j) = self.stage_ref(&r, ins.span)? {
                if j >= current {
                    let from = &self.df.stages[current];
                    let name = if from.name.is_empty() {
                        format!("stage-{current}")
                    } else {
                        from.name.clone()
                    };
                    if j == current {
                        return Err(PlanError::at(
                            ins.span,
                            format!("circular dependency detected on stage: {name}"),
                        ));
                    }
                    return Err(PlanError::at(
                        ins.span,
                        format!(
                            "cannot copy from stage {}, it needs to be defined before current stage {}",
                            gofmt::quote(&r),
                            gofmt::quote(&name)
                        ),
                    ));
                }
                deps.insert(j);
            }
        }
        Ok(())
    }

    /// A stage named or numbered `r`, if it is one.
    fn stage_ref(&self, r: &str, span: Span) -> Result<Option<usize>, PlanError> {
        if let Ok(n) = r.parse::<i64>() {
            if n < 0 || n as usize >= self.df.stages.len() {
                return Err(PlanError::at(span, format!("invalid stage index {n}")));
            }
            return Ok(Some(n as usize));
        }
        Ok(self
            .df
            .stages
            .iter()
            .position(|s| !s.name.is_empty() && s.name.eq_ignore_ascii_case(r)))
    }

    fn dispatch_stage(
        &mut self,
        i: usize,
        infos: &[StageInfo],
        stages: &BTreeMap<usize, StagePlan>,
        finals: &BTreeMap<usize, State>,
    ) -> Result<(StagePlan, State), PlanError> {
        let st = &self.df.stages[i];
        let info = &infos[i];
        let mut state = match &info.base {
            Base::Stage(j) => finals[j].clone(),
            Base::Scratch => State {
                image: ImageConfig::scratch(&info.platform),
                env: Env::default(),
                build_args: Vec::new(),
                cmd_set: false,
            },
            Base::Image { reference, .. } => {
                let r = self.resolve_image(reference, &info.platform, st.span)?;
                let mut image = r.config.clone();
                image.created = None;
                State {
                    image,
                    env: Env::default(),
                    build_args: Vec::new(),
                    cmd_set: false,
                }
            }
        };
        state.cmd_set = false;
        if !matches!(info.base, Base::Stage(_)) {
            if !state
                .image
                .config
                .env
                .iter()
                .any(|e| e.split('=').next() == Some("PATH"))
            {
                state
                    .image
                    .config
                    .env
                    .push(format!("PATH={}", super::config::DEFAULT_PATH));
            }
            state.env = Env::from_list(&state.image.config.env);
            let wd = state.image.config.working_dir.clone();
            if !wd.is_empty() {
                state.image.config.working_dir = normalize_workdir("/", &wd);
            }
        }
        // Triggers run once; the result does not carry them on.
        if !info.triggers.is_empty() {
            state.image.config.on_build.clear();
        }
        let mut steps = Vec::new();
        let triggers = info.triggers.clone();
        for ins in triggers.iter() {
            self.dispatch(&mut state, ins, i, stages, &mut steps, true)?;
        }
        for ins in &st.instructions {
            self.dispatch(&mut state, ins, i, stages, &mut steps, false)?;
        }
        let sp = StagePlan {
            index: i,
            name: st.name.clone(),
            base: info.base.clone(),
            platform: info.platform.clone(),
            steps,
            image: state.image.clone(),
            deps: info.deps.iter().copied().collect(),
            span: st.span,
        };
        Ok((sp, state))
    }

    fn expand(&self, state: &State, word: &str, span: Span) -> Result<String, PlanError> {
        self.lex
            .process_word(word, &state.env)
            .map_err(|e| PlanError::at(span, e.to_string()))
    }

    fn commit(state: &mut State, created_by: String, layer: bool) -> usize {
        state.image.history.push(History {
            created: None,
            created_by,
            author: String::new(),
            comment: HISTORY_COMMENT.into(),
            empty_layer: !layer,
        });
        state.image.history.len() - 1
    }

    #[allow(clippy::too_many_lines)]
    fn dispatch(
        &mut self,
        state: &mut State,
        ins: &Instruction,
        stage: usize,
        stages: &BTreeMap<usize, StagePlan>,
        steps: &mut Vec<Step>,
        onbuild: bool,
    ) -> Result<(), PlanError> {
        let span = ins.span;
        let prefix = if onbuild { "ONBUILD " } else { "" };
        let step_name = |code: String| format!("{prefix}{code}");
        match &ins.kind {
            Kind::Env(kvs) => {
                // Every word is substituted with the environment from before this ENV
                // (`ENV A=2 B=$A` gives B the old A), as BuildKit expands before dispatch.
                let mut pairs = Vec::new();
                for kv in kvs {
                    pairs.push((
                        self.expand(state, &kv.key, span)?,
                        self.expand(state, &kv.value, span)?,
                    ));
                }
                let mut msg = String::from("ENV");
                for (k, v) in pairs {
                    msg.push_str(&format!(" {k}={v}"));
                    state.env.set(&k, &v);
                    add_env(&mut state.image.config.env, &k, &v);
                }
                Self::commit(state, msg, false);
            }
            Kind::Maintainer(m) => {
                state.image.author = m.clone();
                Self::commit(state, format!("MAINTAINER {m}"), false);
            }
            Kind::Label(kvs) => {
                let mut msg = String::from("LABEL");
                let mut pairs = Vec::new();
                for kv in kvs {
                    let k = self.expand(state, &kv.key, span)?;
                    let v = self.expand(state, &kv.value, span)?;
                    msg.push_str(&format!(" {k}={v}"));
                    pairs.push((k, v));
                }
                let labels = state.image.config.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(pairs);
                Self::commit(state, msg, false);
            }
            Kind::Add { sd, flags } | Kind::Copy { sd, flags } => {
                let is_add = matches!(ins.kind, Kind::Add { .. });
                let (op, msg) =
                    self.dispatch_copy(state, sd, flags, is_add, stage, stages, span)?;
                let h = Self::commit(state, format!("{msg} # buildkit"), true);
                steps.push(Step {
                    line: span.start,
                    name: step_name(self.display(state, &ins.code)),
                    history_index: h,
                    op: Op::Copy(op),
                });
            }
            Kind::Onbuild(expr) => state.image.config.on_build.push(expr.clone()),
            Kind::Workdir(p) => {
                let p = self.expand(state, p, span)?;
                if p.is_empty() {
                    return Err(PlanError::at(
                        span,
                        "normalizing workdir: cannot normalize nothing",
                    ));
                }
                let wd = normalize_workdir(&state.image.config.working_dir, &p);
                state.image.config.working_dir = wd.clone();
                let layer = wd != "/";
                let h = Self::commit(state, format!("WORKDIR {wd}"), layer);
                if layer {
                    let user = state.image.config.user.clone();
                    steps.push(Step {
                        line: span.start,
                        name: step_name(self.display(state, &ins.code)),
                        history_index: h,
                        op: Op::Mkdir { path: wd, user },
                    });
                }
            }
            Kind::Run {
                cmd,
                mounts,
                network,
                security,
            } => {
                let (args, inline_files) =
                    run_args(&state.image, cmd).map_err(|e| PlanError::at(span, e))?;
                let mut specs = Vec::new();
                let mut mount_from = Vec::new();
                for m in mounts {
                    let env = state.env.clone();
                    let lex = self.lex.clone();
                    let expand =
                        move |s: &str| lex.process_word(s, &env).map_err(|e| e.to_string());
                    let mut spec = instructions::parse_mount(m, Some(&expand))
                        .map_err(|e| PlanError::at(span, e))?;
                    if !spec.target.is_empty() && !spec.target.starts_with('/') {
                        spec.target =
                            super::gomatch::clean(&format!("{}/{}", cwd(state), spec.target));
                    }
                    if spec.target.is_empty() && spec.kind != "secret" && spec.kind != "ssh" {
                        return Err(PlanError::at(span, "mount target must be specified"));
                    }
                    mount_from.push(if spec.from.is_empty() {
                        None
                    } else {
                        Some(match self.stage_ref(&spec.from, span)? {
                            Some(j) if j < stage => CopyFrom::Stage(j),
                            Some(_) => unreachable!("dependencies are checked before dispatch"),
                            None => {
                                let r =
                                    self.resolve_image(&spec.from, &state_platform(state), span)?;
                                CopyFrom::Image {
                                    reference: r.reference,
                                    digest: r.digest,
                                }
                            }
                        })
                    });
                    specs.push(spec);
                }
                let network = if network == "default" {
                    self.opts
                        .network
                        .clone()
                        .unwrap_or_else(|| "default".into())
                } else {
                    network.clone()
                };
                let proxy_env: Vec<String> = PROXY_ARGS
                    .iter()
                    .filter_map(|k| self.opts.build_args.get(*k).map(|v| format!("{k}={v}")))
                    .collect();
                let created = format!(
                    "RUN {} # buildkit",
                    run_command_string(&args, &state.build_args, &state.env)
                );
                let op = RunOp {
                    args,
                    env: state.env.to_list(),
                    cwd: cwd(state),
                    user: state.image.config.user.clone(),
                    network,
                    security: security.clone(),
                    mounts: specs,
                    mount_from,
                    inline_files,
                    proxy_env,
                };
                let h = Self::commit(state, created, true);
                let mut name = self.display(state, &ins.code);
                if let Some(f) = cmd.files.first()
                    && cmd.files.len() == 1
                    && parser::parse_heredoc(&cmd.args[0]).ok().flatten().is_some()
                {
                    name.push_str(&format!(" ({})", summarize_heredoc(&f.content)));
                }
                steps.push(Step {
                    line: span.start,
                    name: step_name(name),
                    history_index: h,
                    op: Op::Run(op),
                });
            }
            Kind::Cmd(c) => {
                let args = shell_args(&state.image, c);
                Self::commit(state, format!("CMD {}", gofmt::quote_list(&args)), false);
                state.image.config.cmd = Some(args);
                state.image.config.args_escaped = true;
                state.cmd_set = true;
            }
            Kind::Entrypoint(c) => {
                let args = shell_args(&state.image, c);
                Self::commit(
                    state,
                    format!("ENTRYPOINT {}", gofmt::quote_list(&args)),
                    false,
                );
                // As BuildKit: an ENTRYPOINT resets a CMD inherited from the base image; a CMD
                // set earlier in this stage stays.
                state.image.config.entrypoint = if args.is_empty() { None } else { Some(args) };
                if !state.cmd_set {
                    state.image.config.cmd = None;
                }
            }
            Kind::Healthcheck(h) => {
                let hc = HealthConfig {
                    test: h.test.clone(),
                    interval: h.interval,
                    timeout: h.timeout,
                    start_period: h.start_period,
                    start_interval: h.start_interval,
                    retries: h.retries,
                };
                let msg = format!(
                    "HEALTHCHECK &{{{} {} {} {} {} {}}}",
                    gofmt::quote_list(&hc.test),
                    gofmt::quote(&gofmt::duration_string(hc.interval)),
                    gofmt::quote(&gofmt::duration_string(hc.timeout)),
                    gofmt::quote(&gofmt::duration_string(hc.start_period)),
                    gofmt::quote(&gofmt::duration_string(hc.start_interval)),
                    gofmt::quote_rune(hc.retries)
                );
                state.image.config.healthcheck = Some(hc);
                Self::commit(state, msg, false);
            }
            Kind::Expose(ports) => {
                let mut all = BTreeSet::new();
                for p in ports {
                    let words = self
                        .lex
                        .process_words(p, &state.env)
                        .map_err(|e| PlanError::at(span, e.to_string()))?;
                    for w in words {
                        for port in parse_port_spec(&w).map_err(|e| PlanError::at(span, e))? {
                            all.insert(port);
                        }
                    }
                }
                let exposed = state
                    .image
                    .config
                    .exposed_ports
                    .get_or_insert_with(BTreeMap::new);
                for p in &all {
                    exposed.insert(p.clone(), Empty {});
                }
                let shown: Vec<String> = all.iter().map(|p| format!("{p}:{{}}")).collect();
                Self::commit(state, format!("EXPOSE map[{}]", shown.join(" ")), false);
            }
            Kind::User(u) => {
                let u = self.expand(state, u, span)?;
                state.image.config.user = u.clone();
                Self::commit(state, format!("USER {u}"), false);
            }
            Kind::Volume(vols) => {
                let mut vs = Vec::new();
                for v in vols {
                    let v = self.expand(state, v, span)?;
                    if v.is_empty() {
                        return Err(PlanError::at(
                            span,
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    vs.push(v);
                }
                let volumes = state.image.config.volumes.get_or_insert_with(BTreeMap::new);
                for v in &vs {
                    volumes.insert(v.clone(), Empty {});
                }
                Self::commit(state, format!("VOLUME {}", gofmt::plain_list(&vs)), false);
            }
            Kind::StopSignal(s) => {
                let s = self.expand(state, s, span)?;
                parse_signal(&s).map_err(|e| PlanError::at(span, e))?;
                state.image.config.stop_signal = s.clone();
                Self::commit(state, format!("STOPSIGNAL {s}"), false);
            }
            Kind::Shell(sh) => {
                state.image.config.shell = sh.clone();
                Self::commit(state, format!("SHELL {}", gofmt::plain_list(sh)), false);
            }
            Kind::Arg(defs) => {
                let mut parts = Vec::new();
                for a in defs {
                    self.consumed.insert(a.key.clone());
                    let given = self.opts.build_args.get(&a.key).cloned();
                    let value = if let Some(v) = given {
                        Some(v)
                    } else if let Some(d) = &a.value {
                        Some(self.expand(state, d, span)?)
                    } else {
                        self.global.get(&a.key).map(String::from)
                    };
                    if let Some(v) = &value {
                        state.env.set(&a.key, v);
                    }
                    parts.push(match &value {
                        Some(v) => format!("{}={v}", a.key),
                        None => a.key.clone(),
                    });
                    state.build_args.push(ArgDef {
                        key: a.key.clone(),
                        value,
                    });
                }
                Self::commit(state, format!("ARG {}", parts.join(" ")), false);
            }
        }
        Ok(())
    }

    /// The instruction as progress shows it: keyword uppercased, variables substituted.
    fn display(&self, state: &State, code: &str) -> String {
        let mut lex = self.lex.clone();
        lex.raw_quotes = true;
        lex.skip_unset_env = true;
        let s = lex
            .process_word(code, &state.env)
            .unwrap_or_else(|_| code.to_string());
        match s.split_once(' ') {
            Some((a, b)) => format!("{} {b}", a.to_uppercase()),
            None => s.to_uppercase(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch_copy(
        &mut self,
        state: &State,
        sd: &SourcesAndDest,
        flags: &CopyFlags,
        is_add: bool,
        stage: usize,
        stages: &BTreeMap<usize, StagePlan>,
        span: Span,
    ) -> Result<(CopyOp, String), PlanError> {
        let cmd = if is_add { "ADD" } else { "COPY" };
        let chown = self.expand(state, &flags.chown, span)?;
        let chmod_s = self.expand(state, &flags.chmod, span)?;
        let checksum = self.expand(state, &flags.checksum, span)?;
        let mut sources = Vec::new();
        for s in &sd.sources {
            sources.push(self.expand(state, s, span)?);
        }
        let dest_raw = self.expand(state, &sd.dest, span)?;
        let mut excludes = Vec::new();
        for e in &flags.excludes {
            excludes.push(self.expand(state, e, span)?);
        }
        let mut contents = Vec::new();
        for SourceContent { path, data, expand } in &sd.contents {
            // As BuildKit's ExpandRaw: only variables, quotes are part of the file.
            let d = if *expand {
                let mut raw = Lex::new('\\');
                raw.skip_process_quotes = true;
                raw.process_word(data, &state.env)
                    .map_err(|e| PlanError::at(span, e.to_string()))?
            } else {
                data.clone()
            };
            contents.push((path.clone(), d));
        }
        let chmod = if chmod_s.is_empty() {
            None
        } else {
            match u32::from_str_radix(&chmod_s, 8) {
                Ok(m) if m <= 0o7777 => Some(m),
                _ => {
                    return Err(PlanError::at(
                        span,
                        format!(
                            "invalid chmod parameter: '{chmod_s}'. it should be octal string and between 0 and 07777"
                        ),
                    ));
                }
            }
        };
        if !checksum.is_empty() {
            if !is_add {
                return Err(PlanError::at(span, "checksum can't be specified for COPY"));
            }
            if sources.len() != 1 {
                return Err(PlanError::at(
                    span,
                    "checksum can't be specified for multiple sources",
                ));
            }
            if !is_url(&sources[0]) {
                return Err(PlanError::at(
                    span,
                    "checksum can't be specified for non-HTTP(S) sources",
                ));
            }
        }
        for s in &sources {
            if is_git(s) {
                let msg = if is_add {
                    format!("ADD of a git repository (`{s}`) is not supported")
                } else {
                    "source can't be a git ref for COPY".into()
                };
                return Err(PlanError::at(span, msg));
            }
            if is_url(s) && !is_add {
                return Err(PlanError::at(span, "source can't be a URL for COPY"));
            }
        }
        let from = if flags.from.is_empty() {
            CopyFrom::Context
        } else {
            let f = self
                .lex
                .process_word(&flags.from, &self.global)
                .unwrap_or_else(|_| flags.from.clone());
            match self.stage_ref(&f, span)? {
                Some(j) if j < stage && stages.contains_key(&j) => CopyFrom::Stage(j),
                Some(_) => unreachable!("dependencies are checked before dispatch"),
                None => {
                    let r = self.resolve_image(&f, &state_platform(state), span)?;
                    CopyFrom::Image {
                        reference: r.reference,
                        digest: r.digest,
                    }
                }
            }
        };
        let mut msg = String::from(cmd);
        if flags.parents {
            msg.push_str(" --parents");
        }
        if !chown.is_empty() {
            msg.push_str(&format!(" --chown={chown}"));
        }
        if !chmod_s.is_empty() {
            msg.push_str(&format!(" --chmod={chmod_s}"));
        }
        for s in &sources {
            msg.push_str(&format!(" {s}"));
        }
        for (p, _) in &contents {
            msg.push_str(&format!(" <<{p}"));
        }
        msg.push_str(&format!(" {dest_raw}"));
        let dest = dest_path(&cwd(state), &dest_raw);
        let nsrc = sources.len() + contents.len();
        if nsrc > 1 && !dest.ends_with('/') {
            self.warnings.push(format!(
                "line {}: {cmd} with more than one source and a destination without a trailing `/`: each source overwrites `{dest_raw}`",
                span.start
            ));
        }
        let norm_sources = sources
            .iter()
            .map(|s| {
                if is_url(s) {
                    s.clone()
                } else {
                    super::gomatch::clean(&format!("/{s}"))
                }
            })
            .collect();
        let op = CopyOp {
            is_add,
            from,
            sources: norm_sources,
            contents,
            dest,
            chown,
            chmod,
            link: flags.link,
            parents: flags.parents,
            excludes,
            checksum,
            keep_git_dir: flags.keep_git_dir,
            unpack: flags.unpack,
        };
        Ok((op, msg))
    }
}

fn state_platform(state: &State) -> Platform {
    Platform {
        os: state.image.os.clone(),
        architecture: state.image.architecture.clone(),
        variant: state.image.variant.clone(),
    }
}

fn cwd(state: &State) -> String {
    let wd = &state.image.config.working_dir;
    if wd.is_empty() {
        "/".into()
    } else {
        wd.clone()
    }
}

fn parse_trigger(expr: &str, span: Span) -> Result<Instruction, PlanError> {
    let ast = parser::parse(expr).map_err(|e| PlanError::at(span, e.message))?;
    if ast.nodes.len() != 1 {
        return Err(PlanError::at(
            span,
            "onbuild trigger should be a single expression",
        ));
    }
    let mut ins =
        instructions::parse_instruction(&ast.nodes[0]).map_err(|e| PlanError::at(span, e))?;
    ins.span = span;
    Ok(ins)
}

fn reachable(infos: &[StageInfo], target: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if seen.insert(i) {
            todo.extend(infos[i].deps.iter().copied());
        }
    }
    seen
}

fn check_cycles(infos: &[StageInfo], df: &Dockerfile) -> Result<(), PlanError> {
    // Dependencies always point to earlier stages (checked when collected); a self reference
    // through an ONBUILD trigger is the only way to loop.
    for (i, info) in infos.iter().enumerate() {
        if info.deps.iter().any(|d| *d >= i) {
            let st = &df.stages[i];
            let name = if st.name.is_empty() {
                format!("stage-{i}")
            } else {
                st.name.clone()
            };
            return Err(PlanError::at(
                st.span,
                format!("circular dependency detected on stage: {name}"),
            ));
        }
    }
    Ok(())
}

/// BuildKit's `withShell`: the stage's SHELL (default `/bin/sh -c`) and the joined words.
fn with_shell(image: &ImageConfig, args: &[String]) -> Vec<String> {
    let mut v = if image.config.shell.is_empty() {
        vec!["/bin/sh".to_string(), "-c".to_string()]
    } else {
        image.config.shell.clone()
    };
    v.push(args.join(" "));
    v
}

fn shell_args(image: &ImageConfig, c: &CmdLine) -> Vec<String> {
    if c.prepend_shell {
        with_shell(image, &c.args)
    } else {
        c.args.clone()
    }
}

/// RUN arguments, with BuildKit's heredoc handling.
type RunArgs = (Vec<String>, Vec<(String, String)>);

fn run_args(image: &ImageConfig, cmd: &CmdLine) -> Result<RunArgs, String> {
    let mut args = cmd.args.clone();
    let mut files = Vec::new();
    if !cmd.files.is_empty() {
        if args.len() != 1 || !cmd.prepend_shell {
            return Err(format!(
                "parsing produced an invalid run command: {}",
                gofmt::plain_list(&args)
            ));
        }
        if parser::parse_heredoc(&args[0]).ok().flatten().is_some() {
            let f = &cmd.files[0];
            if f.content.starts_with("#!") {
                files.push((f.name.clone(), f.data()));
                args = vec![format!("/dev/pipes/{}", f.name)];
            } else {
                args = vec![f.data()];
            }
        } else {
            let mut full = args[0].clone();
            for f in &cmd.files {
                full.push('\n');
                full.push_str(&f.content);
                full.push_str(&f.name);
            }
            args = vec![full];
        }
    }
    if cmd.prepend_shell {
        args = with_shell(image, &args);
    }
    Ok((args, files))
}

fn summarize_heredoc(doc: &str) -> String {
    let doc = doc.trim();
    let mut lines = doc.split('\n');
    let first = lines
        .next()
        .unwrap_or("")
        .trim_end_matches('\r')
        .to_string();
    if lines.next().is_some() {
        format!("{first}...")
    } else {
        first
    }
}

/// `|2 A=1 B=2 /bin/sh -c ...` as in BuildKit's history.
fn run_command_string(args: &[String], build_args: &[ArgDef], env: &Env) -> String {
    let mut tmp: Vec<(String, String)> = Vec::new();
    for a in build_args {
        let v = env
            .get(&a.key)
            .map(String::from)
            .or_else(|| a.value.clone())
            .unwrap_or_default();
        match tmp.iter_mut().find(|(k, _)| *k == a.key) {
            Some(e) => e.1 = v,
            None => tmp.push((a.key.clone(), v)),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    if !tmp.is_empty() {
        parts.push(format!("|{}", tmp.len()));
        parts.extend(tmp.into_iter().map(|(k, v)| format!("{k}={v}")));
    }
    parts.extend(args.iter().cloned());
    parts.join(" ")
}

fn add_env(env: &mut Vec<String>, k: &str, v: &str) {
    let kv = format!("{k}={v}");
    match env.iter_mut().find(|e| e.split('=').next() == Some(k)) {
        Some(e) => *e = kv,
        None => env.push(kv),
    }
}

/// WORKDIR relative to the current one, cleaned.
pub fn normalize_workdir(current: &str, requested: &str) -> String {
    if requested.starts_with('/') {
        super::gomatch::clean(requested)
    } else {
        super::gomatch::clean(&format!("/{current}/{requested}"))
    }
}

/// A COPY destination relative to the working directory, keeping a trailing slash.
pub fn dest_path(cwd: &str, dest: &str) -> String {
    let dest = if dest.is_empty() || dest == "." {
        "./"
    } else {
        dest
    };
    let joined = if dest.starts_with('/') {
        dest.to_string()
    } else {
        format!("{cwd}/{dest}")
    };
    let mut p = super::gomatch::clean(&joined);
    if (dest.ends_with('/') || dest.ends_with("/.") || dest == "./") && !p.ends_with('/') {
        p.push('/');
    }
    p
}

pub fn is_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://")) && !is_git(s)
}

fn is_git(s: &str) -> bool {
    s.starts_with("git@")
        || s.starts_with("git://")
        || s.starts_with("ssh://")
        || ((s.starts_with("http://") || s.starts_with("https://"))
            && (s.ends_with(".git") || s.contains(".git#")))
}

/// `nat.ParsePortSpecs` for EXPOSE: `[ip:][hostPort:]port[-end][/proto]` → `port/proto` keys.
fn parse_port_spec(spec: &str) -> Result<Vec<String>, String> {
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let container = rest.rsplit(':').next().unwrap_or(rest);
    let bad = || format!("invalid containerPort: {container}");
    let (start, end) = match container.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = container.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if end < start {
        return Err(bad());
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// moby/sys/signal's `ParseSignal` for Linux.
pub fn parse_signal(s: &str) -> Result<i32, String> {
    if let Ok(n) = s.parse::<i32>() {
        if n == 0 {
            return Err(format!("invalid signal: {s}"));
        }
        return Ok(n);
    }
    let up = s.to_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let table: &[(&str, i32)] = &[
        ("ABRT", 6),
        ("ALRM", 14),
        ("BUS", 7),
        ("CHLD", 17),
        ("CLD", 17),
        ("CONT", 18),
        ("FPE", 8),
        ("HUP", 1),
        ("ILL", 4),
        ("INT", 2),
        ("IO", 29),
        ("IOT", 6),
        ("KILL", 9),
        ("PIPE", 13),
        ("POLL", 29),
        ("PROF", 27),
        ("PWR", 30),
        ("QUIT", 3),
        ("SEGV", 11),
        ("STKFLT", 16),
        ("STOP", 19),
        ("SYS", 31),
        ("TERM", 15),
        ("TRAP", 5),
        ("TSTP", 20),
        ("TTIN", 21),
        ("TTOU", 22),
        ("URG", 23),
        ("USR1", 10),
        ("USR2", 12),
        ("VTALRM", 26),
        ("WINCH", 28),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("RTMIN", 34),
        ("RTMAX", 64),
    ];
    if let Some((_, n)) = table.iter().find(|(k, _)| *k == name) {
        return Ok(*n);
    }
    if let Some(off) = name
        .strip_prefix("RTMIN+")
        .and_then(|o| o.parse::<i32>().ok())
        && (1..=15).contains(&off)
    {
        return Ok(34 + off);
    }
    if let Some(off) = name
        .strip_prefix("RTMAX-")
        .and_then(|o| o.parse::<i32>().ok())
        && (1..=14).contains(&off)
    {
        return Ok(64 - off);
    }
    Err(format!("invalid signal: {s}"))
}
