//! Volumes: named and anonymous volumes in Docker's local-driver layout
//! (`<root>/volumes/<name>/_data`), bind mounts, tmpfs, `volumes_from`, `subpath`, copy-up from
//! the image; the output is the list of mounts the runtime puts in the OCI spec.
//!
//! The engine's view (see [`Volumes`]):
//! - create the project's volumes ([`Volumes::create`], `external` ones: [`Volumes::external`]);
//! - per container, [`Volumes::prepare_mounts`] turns the service's `volumes:`/`tmpfs:` (and
//!   the image's `VOLUME`s as anonymous volume mounts) into [`ResolvedMount`]s: volumes are
//!   created on first use, filled from the image when empty, marked in use by the container,
//!   and `driver_opts` mounts are made; [`Volumes::volumes_from`] adds another container's;
//! - on container removal, [`Volumes::release`] (with `remove_anonymous` for `down -v`/`rm
//!   -v`); `down -v` then [`Volumes::remove`]s the project's named volumes.
//!
//! "In use" means referenced by an existing container, running or not (Docker's rule for
//! `volume rm`). References are files `<root>/volumes/<name>/refs/<container id>`; one whose
//! container directory (`<root>/containers/<id>`) has been gone for a minute is stale and
//! dropped, so a crash between removing a container and releasing its volumes heals itself.

mod error;
pub mod fsutil;
pub mod local;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

pub use error::VolumeError;

use crate::paths::Paths;

pub type Result<T> = std::result::Result<T, VolumeError>;

/// The label Docker puts on anonymous volumes.
pub const LABEL_ANONYMOUS: &str = "com.docker.volume.anonymous";
pub const LABEL_PROJECT: &str = "com.docker.compose.project";

/// A volume's metadata (`<root>/volumes/<name>/volume.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    pub driver: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `driver_opts` (Docker's `Options`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// RFC 3339, seconds, UTC (Docker's `CreatedAt`).
    pub created_at: String,
    /// `<root>/volumes/<name>/_data`.
    #[serde(skip)]
    pub mountpoint: PathBuf,
}

impl Volume {
    pub fn is_anonymous(&self) -> bool {
        self.labels.contains_key(LABEL_ANONYMOUS)
    }
}

/// A volume to create (top-level `volumes.<v>` with the project-prefixed name and Compose's
/// labels applied by the engine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    /// `None` or `local`.
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// `type:` of a service mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Bind,
    Volume,
    Tmpfs,
    Npipe,
    Cluster,
    Image,
}

/// One entry of a service's `volumes:` in long syntax (the model normalises the short one:
/// `./x:/y:ro` is a bind with `create_host_path: true`; `/y` alone is an anonymous volume),
/// or a `tmpfs:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceMount {
    #[serde(rename = "type")]
    pub kind: MountType,
    /// Bind: absolute host path. Volume: the volume's full name (`<project>_<name>` or the
    /// external name); `None` = anonymous.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub bind: BindOptions,
    pub volume: VolumeOptions,
    pub tmpfs: TmpfsOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindOptions {
    /// private, rprivate (default), shared, rshared, slave, rslave.
    pub propagation: Option<String>,
    pub create_host_path: bool,
    /// `z`/`Z`: ignored (no SELinux relabelling here).
    pub selinux: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeOptions {
    pub nocopy: bool,
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmpfsOptions {
    /// Bytes.
    pub size: Option<u64>,
    /// Permission bits, e.g. 0o1777.
    pub mode: Option<u32>,
}

/// A mount for the runtime's OCI spec, in the order to mount (parents first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedMount {
    pub destination: String,
    /// `bind` or `tmpfs` (a volume is bind-mounted).
    #[serde(rename = "type")]
    pub kind: String,
    /// A host path, or `tmpfs`.
    pub source: PathBuf,
    pub options: Vec<String>,
    /// The volume behind a bind, if any (for `volumes_from` and `ps`/`inspect`).
    pub volume: Option<String>,
    /// An anonymous volume (removed with the container by `rm -v` / `down -v`).
    pub anonymous: bool,
    pub read_only: bool,
    /// Binds and volumes: the propagation mode in `options` (`rprivate` by default).
    pub propagation: Option<String>,
    /// Tmpfs: size and mode (also in `options`).
    pub tmpfs: Option<TmpfsOptions>,
}

impl ResolvedMount {
    /// The OCI runtime-spec mount.
    pub fn to_oci(&self) -> oci_spec::runtime::Mount {
        oci_spec::runtime::MountBuilder::default()
            .destination(&self.destination)
            .typ(self.kind.clone())
            .source(self.source.clone())
            .options(self.options.clone())
            .build()
            .expect("every field is set")
    }
}

/// What [`Volumes::prepare_mounts`] needs besides the mounts.
#[derive(Debug, Clone, Default)]
pub struct MountContext<'a> {
    pub container_id: &'a str,
    /// The image's root filesystem (merged), for copy-up; `None` skips copy-up.
    pub image_rootfs: Option<&'a Path>,
    /// Project volumes by full name: how to create one on first use. A volume not listed is
    /// created with defaults, as `docker run -v name:/x` does.
    pub volumes: Option<&'a BTreeMap<String, VolumeSpec>>,
    /// Labels for anonymous volumes (Compose's project labels); `com.docker.volume.anonymous`
    /// is always added.
    pub anonymous_labels: BTreeMap<String, String>,
}

/// `docker volume ls`/`prune` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeFilter {
    pub dangling: Option<bool>,
    /// (key, value, negated): `label=k`, `label=k=v`, `label!=k`, `label!=k=v`.
    pub labels: Vec<(String, Option<String>, bool)>,
    /// Substrings of the name (any matches).
    pub names: Vec<String>,
    pub drivers: Vec<String>,
    /// `prune --filter all=true`.
    pub all: bool,
}

impl VolumeFilter {
    /// Add one `--filter key=value`.
    pub fn add(&mut self, filter: &str) -> std::result::Result<(), String> {
        let (key, value, negated) = match filter.split_once("!=") {
            Some((k, v)) if !k.contains('=') => (k, v, true),
            _ => match filter.split_once('=') {
                Some((k, v)) => (k, v, false),
                None => {
                    return Err(format!(
                        "bad format of filter (expected name=value): {filter}"
                    ));
                }
            },
        };
        match (key, negated) {
            ("dangling", false) => {
                self.dangling = Some(match value.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(format!("invalid filter 'dangling={value}'")),
                })
            }
            ("label", neg) => {
                let (k, v) = match value.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (value.to_string(), None),
                };
                self.labels.push((k, v, neg));
            }
            ("name", false) => self.names.push(value.to_string()),
            ("driver", false) => self.drivers.push(value.to_string()),
            ("all", false) => self.all = matches!(value, "true" | "1"),
            _ => return Err(format!("invalid filter '{key}'")),
        }
        Ok(())
    }

    pub fn matches(&self, v: &Volume, in_use: bool) -> bool {
        if self.dangling.is_some_and(|d| d == in_use) {
            return false;
        }
        if !self.names.is_empty() && !self.names.iter().any(|n| v.name.contains(n.as_str())) {
            return false;
        }
        if !self.drivers.is_empty() && !self.drivers.iter().any(|d| d == &v.driver) {
            return false;
        }
        self.labels.iter().all(|(k, val, neg)| {
            let hit = match val {
                Some(val) => v.labels.get(k) == Some(val),
                None => v.labels.contains_key(k),
            };
            hit != *neg
        })
    }
}

/// What `prune` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: Vec<String>,
    pub reclaimed_bytes: u64,
}

pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && name.len() <= 255
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A held per-volume lock (see `network::state::lock` for the pattern).
struct Lock(#[allow(dead_code)] Flock<File>);

/// The volume layer of one rcompose installation.
#[derive(Debug, Clone)]
pub struct Volumes {
    paths: Paths,
}

impl Volumes {
    pub fn new(paths: Paths) -> Self {
        Self { paths }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.paths.volumes().join(name)
    }
    fn meta_path(&self, name: &str) -> PathBuf {
        self.dir(name).join("volume.json")
    }
    fn refs_dir(&self, name: &str) -> PathBuf {
        self.dir(name).join("refs")
    }
    /// `<root>/volumes/<name>/_data`.
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir(name).join("_data")
    }

    fn lock(&self, name: &str) -> Result<Lock> {
        let path = self.paths.locks().join(format!("volume-{name}.lock"));
        fs_err::create_dir_all(self.paths.locks())?;
        let file = fs_err::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?
            .into_parts()
            .0;
        Flock::lock(file, FlockArg::LockExclusive)
            .map(Lock)
            .map_err(|(_, errno)| VolumeError::Lock { path, errno })
    }

    fn read_meta(&self, name: &str) -> Result<Option<Volume>> {
        let path = self.meta_path(name);
        match fs_err::read(&path) {
            Ok(bytes) => {
                let mut v: Volume = serde_json::from_slice(&bytes)
                    .map_err(|source| VolumeError::ReadState { path, source })?;
                v.mountpoint = self.data_dir(name);
                Ok(Some(v))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write_meta(&self, v: &Volume) -> Result<()> {
        use std::io::Write;
        let dir = self.dir(&v.name);
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        let mut bytes = serde_json::to_vec_pretty(v).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        tmp.write_all(&bytes)?;
        tmp.persist(self.meta_path(&v.name)).map_err(|e| e.error)?;
        Ok(())
    }

    /// A volume, if it exists.
    pub fn find(&self, name: &str) -> Result<Option<Volume>> {
        if !valid_name(name) {
            return Ok(None);
        }
        self.read_meta(name)
    }

    pub fn get(&self, name: &str) -> Result<Volume> {
        self.find(name)?
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))
    }

    /// An `external: true` volume: it must exist.
    pub fn external(&self, name: &str) -> Result<Volume> {
        self.find(name)?
            .ok_or_else(|| VolumeError::ExternalNotFound(name.to_string()))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let entries = match fs_err::read_dir(self.paths.volumes()) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e?;
            if let Some(name) = e.file_name().to_str()
                && valid_name(name)
                && let Some(v) = self.read_meta(name)?
            {
                out.push(v);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The volumes labelled with `com.docker.compose.project=<project>` (`rcompose volumes`).
    pub fn project_volumes(&self, project: &str) -> Result<Vec<Volume>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|v| v.labels.get(LABEL_PROJECT).map(String::as_str) == Some(project))
            .collect())
    }

    /// Create a volume (`docker volume create`): an existing one with the same driver and
    /// options is returned as is; with different ones it is an error.
    pub fn create(&self, spec: &VolumeSpec) -> Result<Volume> {
        self.ensure(spec).map(|(v, _)| v)
    }

    /// Like [`create`](Self::create), also telling whether it was created now.
    pub fn ensure(&self, spec: &VolumeSpec) -> Result<(Volume, bool)> {
        let name = &spec.name;
        if !valid_name(name) {
            return Err(VolumeError::InvalidName(name.clone()));
        }
        let driver = spec.driver.clone().unwrap_or_else(|| "local".into());
        if driver != "local" {
            return Err(VolumeError::UnsupportedDriver {
                name: name.clone(),
                driver,
            });
        }
        local::parse(name, &spec.driver_opts)?;
        let _lock = self.lock(name)?;
        if let Some(v) = self.read_meta(name)? {
            if v.options != spec.driver_opts {
                return Err(VolumeError::Conflict {
                    name: name.clone(),
                    existing: format!("{:?}", v.options),
                    requested: format!("{:?}", spec.driver_opts),
                });
            }
            return Ok((v, false));
        }
        let dir = self.dir(name);
        fs_err::create_dir_all(self.data_dir(name))?;
        let v = Volume {
            name: name.clone(),
            driver,
            labels: spec.labels.clone(),
            options: spec.driver_opts.clone(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            mountpoint: self.data_dir(name),
        };
        // The metadata file is the commit point: a crash before it leaves a directory that
        // `list` ignores and the next create reuses.
        if let Err(e) = self.write_meta(&v) {
            let _ = fs_err::remove_dir_all(&dir);
            return Err(e);
        }
        Ok((v, true))
    }

    /// A new anonymous volume (64 random hex digits, labelled `com.docker.volume.anonymous`).
    pub fn create_anonymous(&self, labels: &BTreeMap<String, String>) -> Result<Volume> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut labels = labels.clone();
        labels.insert(LABEL_ANONYMOUS.into(), String::new());
        self.create(&VolumeSpec {
            name: hex::encode(bytes),
            labels,
            ..Default::default()
        })
    }

    /// The containers using a volume (stale references dropped).
    pub fn users(&self, name: &str) -> Result<Vec<String>> {
        let dir = self.refs_dir(name);
        let entries = match fs_err::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e?;
            let Some(id) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if self.paths.containers().join(&id).exists() {
                out.push(id);
                continue;
            }
            let age = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            if age > Duration::from_secs(60) {
                let _ = fs_err::remove_file(e.path());
            } else {
                out.push(id); // a container being created right now
            }
        }
        out.sort();
        Ok(out)
    }

    /// Mark a volume as used by a container and mount its `driver_opts` if needed. Returns
    /// the `_data` path.
    pub fn acquire(&self, name: &str, container_id: &str) -> Result<PathBuf> {
        if !valid_name(container_id) {
            return Err(VolumeError::InvalidMount {
                kind: "volume".into(),
                reason: format!("invalid container id `{container_id}`"),
            });
        }
        let _lock = self.lock(name)?;
        let v = self.get(name)?;
        fs_err::create_dir_all(self.refs_dir(name))?;
        fs_err::write(self.refs_dir(name).join(container_id), b"")?;
        let data = self.data_dir(name);
        if let Some(m) = local::parse(name, &v.options)?
            && !fsutil::is_mountpoint(&data)
            && let Err(e) = local::mount(name, &m, &data)
        {
            let _ = fs_err::remove_file(self.refs_dir(name).join(container_id));
            return Err(e);
        }
        Ok(data)
    }

    /// A container is gone: drop its references; unmount `driver_opts` volumes nobody uses
    /// any more; with `remove_anonymous` (`rm -v`, `down -v`) delete its anonymous volumes
    /// that nobody else uses. Returns the volumes removed.
    pub fn release(&self, container_id: &str, remove_anonymous: bool) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for v in self.list()? {
            let r = self.refs_dir(&v.name).join(container_id);
            if !r.exists() {
                continue;
            }
            {
                let _lock = self.lock(&v.name)?;
                let _ = fs_err::remove_file(&r);
            }
            if self.users(&v.name)?.is_empty() {
                if !v.options.is_empty() {
                    local::unmount(&self.data_dir(&v.name))?;
                }
                if remove_anonymous && v.is_anonymous() {
                    self.remove(&v.name)?;
                    removed.push(v.name.clone());
                }
            }
        }
        Ok(removed)
    }

    /// Delete a volume and its data (`docker volume rm`). Refused while a container uses it.
    /// Never deletes into another filesystem mounted inside it.
    pub fn remove(&self, name: &str) -> Result<()> {
        let _lock = self.lock(name)?;
        self.get(name)?;
        let users = self.users(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: users,
            });
        }
        let data = self.data_dir(name);
        local::unmount(&data)?;
        // Metadata first: if we die half-way the volume is gone from `ls` and its leftovers
        // are only a directory.
        fs_err::remove_file(self.meta_path(name))?;
        match fsutil::remove_tree_same_fs(&self.dir(name))? {
            Ok(()) => Ok(()),
            Err(p) => Err(VolumeError::MountedInside(p)),
        }
    }

    /// Remove unused volumes (`docker volume prune`): only anonymous ones unless `all`.
    pub fn prune(&self, filter: &VolumeFilter) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        for v in self.list()? {
            if !filter.all && !v.is_anonymous() {
                continue;
            }
            if !self.users(&v.name)?.is_empty() || !filter.matches(&v, false) {
                continue;
            }
            let size = fsutil::disk_usage(&self.data_dir(&v.name));
            match self.remove(&v.name) {
                Ok(()) => {
                    report.removed.push(v.name.clone());
                    report.reclaimed_bytes += size;
                }
                Err(VolumeError::InUse { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Size of a volume's data in bytes.
    pub fn size(&self, name: &str) -> u64 {
        fsutil::disk_usage(&self.data_dir(name))
    }

    /// Docker's copy-up: when the volume is empty and the image has content at `target`,
    /// copy it in (with owners, modes, times, links). Returns whether it copied.
    pub fn copy_up(&self, name: &str, image_rootfs: &Path, target: &str) -> Result<bool> {
        let _lock = self.lock(name)?;
        let data = self.data_dir(name);
        if !fsutil::is_empty_dir(&data)? {
            return Ok(false);
        }
        let copy_err = |source| VolumeError::CopyUp {
            name: name.to_string(),
            target: target.to_string(),
            source,
        };
        let src = fsutil::resolve_in_root(image_rootfs, target).map_err(copy_err)?;
        match std::fs::symlink_metadata(&src) {
            Ok(m) if m.is_dir() => {}
            _ => return Ok(false),
        }
        fsutil::copy_dir_contents(&src, &data).map_err(copy_err)?;
        Ok(true)
    }

    /// Resolve a service's mounts into mounts for the OCI spec: create volumes on first use
    /// (anonymous ones too), mark them used by the container, copy image content into empty
    /// ones (unless `nocopy`), create missing bind sources when allowed. Parents come before
    /// children in the result.
    pub fn prepare_mounts(
        &self,
        mounts: &[ServiceMount],
        ctx: &MountContext<'_>,
    ) -> Result<Vec<ResolvedMount>> {
        let mut out = Vec::new();
        for m in mounts {
            if !m.target.starts_with('/') {
                return Err(VolumeError::InvalidMount {
                    kind: kind_name(m.kind).into(),
                    reason: format!("mount path must be absolute: {}", m.target),
                });
            }
            match m.kind {
                MountType::Volume => out.push(self.prepare_volume(m, ctx)?),
                MountType::Bind => out.push(prepare_bind(m)?),
                MountType::Tmpfs => out.push(prepare_tmpfs(m)?),
                other => {
                    return Err(VolumeError::InvalidMount {
                        kind: kind_name(other).into(),
                        reason: "mount type not supported on this platform".into(),
                    });
                }
            }
        }
        Ok(sort_mounts(out))
    }

    fn prepare_volume(&self, m: &ServiceMount, ctx: &MountContext<'_>) -> Result<ResolvedMount> {
        let anonymous = m.source.is_none();
        let name = match &m.source {
            Some(name) => {
                if self.find(name)?.is_none() {
                    let spec = ctx
                        .volumes
                        .and_then(|v| v.get(name))
                        .cloned()
                        .unwrap_or_else(|| VolumeSpec {
                            name: name.clone(),
                            ..Default::default()
                        });
                    self.ensure(&spec)?;
                }
                name.clone()
            }
            None => self.create_anonymous(&ctx.anonymous_labels)?.name,
        };
        let data = self.acquire(&name, ctx.container_id)?;
        if !m.volume.nocopy
            && m.volume.subpath.is_none()
            && let Some(rootfs) = ctx.image_rootfs
        {
            self.copy_up(&name, rootfs, &m.target)?;
        }
        let source = match &m.volume.subpath {
            Some(sub) => resolve_subpath(&data, sub)?,
            None => data,
        };
        let mut options = vec!["rbind".to_string()];
        if m.read_only {
            options.push("ro".into());
        }
        options.push("rprivate".into());
        Ok(ResolvedMount {
            destination: m.target.clone(),
            kind: "bind".into(),
            source,
            options,
            volume: Some(name),
            anonymous,
            read_only: m.read_only,
            propagation: Some("rprivate".into()),
            tmpfs: None,
        })
    }

    /// `volumes_from`: the other container's volume and bind mounts (not its tmpfs), read-only
    /// if asked (`:ro`), otherwise as they were; its volumes become used by this container too.
    pub fn volumes_from(
        &self,
        container_id: &str,
        from: &[ResolvedMount],
        read_only: Option<bool>,
    ) -> Result<Vec<ResolvedMount>> {
        let mut out = Vec::new();
        for m in from.iter().filter(|m| m.kind == "bind") {
            if let Some(v) = &m.volume {
                self.acquire(v, container_id)?;
            }
            let mut m = m.clone();
            if let Some(ro) = read_only {
                m.read_only = ro;
                m.options.retain(|o| o != "ro" && o != "rw");
                if ro {
                    m.options.insert(1, "ro".into());
                }
            }
            out.push(m);
        }
        Ok(out)
    }
}

fn kind_name(k: MountType) -> &'static str {
    match k {
        MountType::Bind => "bind",
        MountType::Volume => "volume",
        MountType::Tmpfs => "tmpfs",
        MountType::Npipe => "npipe",
        MountType::Cluster => "cluster",
        MountType::Image => "image",
    }
}

fn prepare_bind(m: &ServiceMount) -> Result<ResolvedMount> {
    let Some(src) = &m.source else {
        return Err(VolumeError::InvalidMount {
            kind: "bind".into(),
            reason: "field Source must not be empty".into(),
        });
    };
    let src = PathBuf::from(src);
    if !src.is_absolute() {
        return Err(VolumeError::InvalidMount {
            kind: "bind".into(),
            reason: format!(
                "invalid mount path: '{}' mount path must be absolute",
                src.display()
            ),
        });
    }
    if std::fs::symlink_metadata(&src).is_err() {
        if m.bind.create_host_path {
            fs_err::create_dir_all(&src)?;
        } else {
            return Err(VolumeError::BindSourceMissing(src));
        }
    }
    let propagation = match m.bind.propagation.as_deref() {
        None | Some("") => "rprivate",
        Some(p @ ("private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave")) => p,
        Some(p) => {
            return Err(VolumeError::InvalidMount {
                kind: "bind".into(),
                reason: format!("invalid propagation mode: {p}"),
            });
        }
    };
    let mut options = vec!["rbind".to_string()];
    if m.read_only {
        options.push("ro".into());
    }
    options.push(propagation.into());
    Ok(ResolvedMount {
        destination: m.target.clone(),
        kind: "bind".into(),
        source: src,
        options,
        volume: None,
        anonymous: false,
        read_only: m.read_only,
        propagation: Some(propagation.to_string()),
        tmpfs: None,
    })
}

fn prepare_tmpfs(m: &ServiceMount) -> Result<ResolvedMount> {
    // As Docker's daemon/oci_linux.go for tmpfs mounts.
    let mut options = vec!["nosuid".to_string(), "nodev".into(), "noexec".into()];
    if m.read_only {
        options.push("ro".into());
    }
    if let Some(size) = m.tmpfs.size {
        options.push(format!("size={size}"));
    }
    if let Some(mode) = m.tmpfs.mode {
        if mode > 0o7777 {
            return Err(VolumeError::InvalidMount {
                kind: "tmpfs".into(),
                reason: format!("invalid tmpfs mode {mode:o}"),
            });
        }
        options.push(format!("mode={mode:o}"));
    }
    Ok(ResolvedMount {
        destination: m.target.clone(),
        kind: "tmpfs".into(),
        source: PathBuf::from("tmpfs"),
        options,
        volume: None,
        anonymous: false,
        read_only: m.read_only,
        propagation: None,
        tmpfs: Some(m.tmpfs.clone()),
    })
}

/// `subpath` inside a volume: relative, existing, and with no symlink on the way (a link
/// could point the mount anywhere on the host).
fn resolve_subpath(data: &Path, sub: &str) -> Result<PathBuf> {
    let full = data.join(sub);
    let err = |reason: &str| VolumeError::Subpath {
        path: full.clone(),
        reason: reason.to_string(),
    };
    if !fsutil::is_plain_relative(sub) {
        return Err(err("subpath must be a relative path within the volume"));
    }
    let mut p = data.to_path_buf();
    for c in Path::new(sub).components() {
        p.push(c);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(err("subpath must not contain symbolic links"));
            }
            Ok(_) => {}
            Err(e) => return Err(err(&e.to_string())),
        }
    }
    Ok(p)
}

/// Mount parents before children (by path depth, stable), as Docker sorts mounts.
fn sort_mounts(mut mounts: Vec<ResolvedMount>) -> Vec<ResolvedMount> {
    mounts.sort_by_key(|m| {
        Path::new(&m.destination)
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .count()
    });
    mounts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(name: &str, labels: &[(&str, &str)]) -> Volume {
        Volume {
            name: name.into(),
            driver: "local".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            options: BTreeMap::new(),
            created_at: String::new(),
            mountpoint: PathBuf::new(),
        }
    }

    #[test]
    fn filters_combine_like_docker() {
        let mut f = VolumeFilter::default();
        f.add("label=com.docker.compose.project=app").unwrap();
        f.add("dangling=true").unwrap();
        let app = vol("app_data", &[("com.docker.compose.project", "app")]);
        let other = vol("other", &[("com.docker.compose.project", "x")]);
        assert!(f.matches(&app, false));
        assert!(!f.matches(&app, true));
        assert!(!f.matches(&other, false));
        let mut f = VolumeFilter::default();
        f.add("label!=com.docker.compose.project").unwrap();
        f.add("name=oth").unwrap();
        assert!(!f.matches(&other, false));
        assert!(f.matches(&vol("other2", &[]), false));
        assert!(!f.matches(&vol("nope", &[]), false));
        assert!(VolumeFilter::default().add("bogus=1").is_err());
        assert!(VolumeFilter::default().add("dangling=maybe").is_err());
    }

    #[test]
    fn volume_names_follow_docker() {
        assert!(valid_name("app_data"));
        assert!(valid_name("a.b-c"));
        assert!(!valid_name("a"));
        assert!(!valid_name("../etc"));
        assert!(!valid_name("/abs"));
        assert!(!valid_name("_x"));
    }

    #[test]
    fn tmpfs_mounts_get_dockers_options() {
        let m = ServiceMount {
            kind: MountType::Tmpfs,
            source: None,
            target: "/run/cache".into(),
            read_only: false,
            bind: Default::default(),
            volume: Default::default(),
            tmpfs: TmpfsOptions {
                size: Some(1 << 20),
                mode: Some(0o1777),
            },
        };
        let r = prepare_tmpfs(&m).unwrap();
        assert_eq!(
            r.options,
            ["nosuid", "nodev", "noexec", "size=1048576", "mode=1777"]
        );
        let oci = r.to_oci();
        assert_eq!(oci.typ().as_deref(), Some("tmpfs"));
    }

    #[test]
    fn mounts_are_sorted_parents_first() {
        let mk = |d: &str| ResolvedMount {
            destination: d.into(),
            kind: "bind".into(),
            source: PathBuf::from("/x"),
            options: vec![],
            volume: None,
            anonymous: false,
            read_only: false,
            propagation: None,
            tmpfs: None,
        };
        let sorted = sort_mounts(vec![mk("/a/b/c"), mk("/a"), mk("/z/y"), mk("/a/b")]);
        let d: Vec<&str> = sorted.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(d, ["/a", "/z/y", "/a/b", "/a/b/c"]);
    }
}
