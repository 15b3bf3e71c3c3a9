//! The typed Compose model, as Docker Compose v2 (compose-go `types`) exposes it.
//!
//! Field order, names and "omit when empty" rules mirror compose-go's Go structs and their JSON
//! tags, so that serializing a [`Project`] gives exactly `docker compose config`'s model.
//! Deserialization (from the loader's normalized tree) follows compose-go's decoding rules:
//! short syntaxes were already expanded by the loader; what remains are the conversions
//! compose-go does at decode time (`command` strings are shell-split, `environment` lists
//! become maps, sizes and durations are parsed...).

use std::collections::BTreeMap;
use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::units;

pub type Extensions = IndexMap<String, serde_json::Value>;

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}
fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

thread_local! {
    static YAML_MODE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` with YAML rendering rules (extensions kept, Go field names lower-cased...).
pub fn with_yaml_mode<T>(f: impl FnOnce() -> T) -> T {
    YAML_MODE.with(|m| m.set(true));
    let r = f();
    YAML_MODE.with(|m| m.set(false));
    r
}

fn yaml_mode() -> bool {
    YAML_MODE.with(|m| m.get())
}

/// Go's `omitempty` on a `ShellCommand` differs: JSON renders `null`, YAML omits it.
fn none_in_yaml<T>(v: &Option<T>) -> bool {
    v.is_none() && yaml_mode()
}

/// Go's JSON `omitempty` never omits a struct; yaml.v3's omits an all-zero one.
fn empty_in_yaml<T: Default + PartialEq>(v: &T) -> bool {
    yaml_mode() && *v == T::default()
}

/// `x-*` extensions: rendered in YAML, dropped in JSON (as compose-go's `json:"-"`).
fn ser_extensions<S: Serializer>(ext: &Extensions, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(None)?;
    if yaml_mode() {
        for (k, v) in ext {
            m.serialize_entry(k, v)?;
        }
    }
    m.end()
}

// ------------------------------------------------------------------ project --

/// A loaded Compose project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    pub name: String,
    /// The project folder (relative paths are resolved against it).
    pub working_dir: std::path::PathBuf,
    /// Active services (inactive profiles removed), sorted by name.
    pub services: IndexMap<String, Service>,
    pub networks: IndexMap<String, Network>,
    pub volumes: IndexMap<String, Volume>,
    pub secrets: IndexMap<String, Secret>,
    pub configs: IndexMap<String, Config>,
    /// Top-level `models` (only rendered in YAML, as Compose does).
    pub models: IndexMap<String, Model>,
    /// Top-level `x-*` extensions.
    pub extensions: Extensions,
    /// Compose files the project was loaded from, in order.
    pub compose_files: Vec<std::path::PathBuf>,
    /// The environment used for interpolation (process env + `.env` / `--env-file`).
    pub environment: BTreeMap<String, String>,
    /// Services disabled because their profiles are not active.
    pub disabled_services: IndexMap<String, Service>,
    /// Active profiles.
    pub profiles: Vec<String>,
}

impl Serialize for Project {
    /// JSON as Compose's `Project.MarshalJSON` (a Go map: keys sorted, no `models`), YAML as
    /// its struct (declaration order, `models` included).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if yaml_mode() {
            m.serialize_entry("name", &self.name)?;
            m.serialize_entry("services", &self.services)?;
            if !self.networks.is_empty() {
                m.serialize_entry("networks", &self.networks)?;
            }
            if !self.volumes.is_empty() {
                m.serialize_entry("volumes", &self.volumes)?;
            }
            if !self.secrets.is_empty() {
                m.serialize_entry("secrets", &self.secrets)?;
            }
            if !self.configs.is_empty() {
                m.serialize_entry("configs", &self.configs)?;
            }
            if !self.models.is_empty() {
                m.serialize_entry("models", &self.models)?;
            }
        } else {
            if !self.configs.is_empty() {
                m.serialize_entry("configs", &self.configs)?;
            }
            m.serialize_entry("name", &self.name)?;
            if !self.networks.is_empty() {
                m.serialize_entry("networks", &self.networks)?;
            }
            if !self.secrets.is_empty() {
                m.serialize_entry("secrets", &self.secrets)?;
            }
            m.serialize_entry("services", &self.services)?;
            if !self.volumes.is_empty() {
                m.serialize_entry("volumes", &self.volumes)?;
            }
        }
        // extension keys (`x-...`) sort after every model key
        for (k, v) in &self.extensions {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Project {
    /// Names of the active services, sorted.
    pub fn service_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.services.keys().cloned().collect();
        v.sort();
        v
    }
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }
}

// ------------------------------------------------------------------ service --

/// One service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub develop: Option<Develop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_config: Option<BlkioConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroup_parent: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroup: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cpu_count: i64,
    #[serde(skip_serializing_if = "is_zero_f64", deserialize_with = "de_float32")]
    pub cpu_percent: f64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cpu_period: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cpu_quota: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cpu_rt_period: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cpu_rt_runtime: i64,
    /// CPU limit (float32 in Compose).
    #[serde(skip_serializing_if = "is_zero_f64", deserialize_with = "de_float32")]
    pub cpus: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cpuset: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub cpu_shares: i64,
    /// `None`: use the image's; `Some([])`: explicitly cleared.
    #[serde(deserialize_with = "de_command", skip_serializing_if = "none_in_yaml")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileReference>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub container_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_spec: Option<CredentialSpec>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, ServiceDependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceMapping>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dockerfile: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domainname: String,
    #[serde(deserialize_with = "de_command", skip_serializing_if = "none_in_yaml")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Values are `None` for variables declared without a value and not found anywhere.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping_with_equals"
    )]
    pub environment: BTreeMap<String, Option<String>>,
    /// Env files (folded into `environment` by the loader; kept for tools that need them).
    #[serde(skip_serializing_if = "skip_env_files")]
    pub env_file: Vec<EnvFile>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_or_number_list"
    )]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<Extends>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_hosts_list"
    )]
    pub extra_hosts: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_or_number_list"
    )]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<DeviceRequest>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ipc: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub isolation: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        skip_serializing_if = "skip_label_files",
        deserialize_with = "de_string_list"
    )]
    pub label_file: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub log_driver: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub log_opt: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub mem_limit: Bytes,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub mem_reservation: Bytes,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub memswap_limit: Bytes,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub mem_swappiness: Bytes,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_models"
    )]
    pub models: BTreeMap<String, Option<ServiceModel>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub net: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub network_mode: String,
    /// Networks the service joins; `None` value: no per-network options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    #[serde(skip_serializing_if = "is_false")]
    pub oom_kill_disable: bool,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub oom_score_adj: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pid: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub pids_limit: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub platform: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pull_policy: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub restart: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub runtime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub shm_size: Bytes,
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub storage_opt: BTreeMap<String, String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub sysctls: BTreeMap<String, String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "is_false")]
    pub use_api_socket: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub userns_mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uts: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub volume_driver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<ServiceVolume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<ServiceHook>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<ServiceHook>,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
    /// Whether `env_file` / `label_file` were folded into `environment` / `labels` (the
    /// files are then not rendered, as Compose's `config` does).
    #[serde(skip)]
    pub env_files_discarded: bool,
}

fn skip_env_files(v: &[EnvFile]) -> bool {
    v.is_empty()
}

fn skip_label_files(v: &[String]) -> bool {
    v.is_empty()
}

impl Service {
    /// The number of containers to run (`scale`, else `deploy.replicas`, else 1).
    pub fn replicas(&self) -> i64 {
        if let Some(s) = self.scale {
            return s;
        }
        if let Some(d) = &self.deploy
            && let Some(r) = d.replicas
        {
            return r;
        }
        1
    }
    /// Names of the services this one depends on, sorted.
    pub fn dependencies(&self) -> Vec<String> {
        self.depends_on.keys().cloned().collect()
    }
    /// Networks in the order Compose connects them: by `priority` (highest first), then name.
    pub fn networks_by_priority(&self) -> Vec<String> {
        let mut v: Vec<(i64, String)> = self
            .networks
            .iter()
            .map(|(k, n)| (n.as_ref().map(|n| n.priority).unwrap_or(0), k.clone()))
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().map(|(_, k)| k).collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provider {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_multi_options"
    )]
    pub options: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceModel {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint_var: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model_var: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Model {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub context_size: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runtime_flags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Build {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dockerfile: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dockerfile_inline: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping_with_equals"
    )]
    pub args: BTreeMap<String, Option<String>>,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "de_stringish"
    )]
    pub provenance: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "de_stringish"
    )]
    pub sbom: String,
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "de_ssh")]
    pub ssh: Vec<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub cache_from: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub cache_to: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub no_cache: bool,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub additional_contexts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub pull: bool,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_hosts_list"
    )]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub isolation: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub network: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileReference>,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub shm_size: Bytes,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Develop {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchRule {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// Always rendered in JSON (a Go struct value, `command: null` when unset).
    #[serde(skip_serializing_if = "empty_in_yaml")]
    pub exec: ServiceHook,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub include: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_string_list"
    )]
    pub ignore: Vec<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub initial_sync: bool,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceHook {
    #[serde(deserialize_with = "de_command", skip_serializing_if = "none_in_yaml")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping_with_equals"
    )]
    pub environment: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioConfig {
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub weight: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_bps: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_read_iops: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_bps: Vec<ThrottleDevice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_write_iops: Vec<ThrottleDevice>,
}

/// Go has no JSON tags on these: `Path`/`Weight` in JSON, `path`/`weight` in YAML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WeightDevice {
    pub path: String,
    pub weight: u32,
}

impl Serialize for WeightDevice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        let y = yaml_mode();
        m.serialize_entry(if y { "path" } else { "Path" }, &self.path)?;
        m.serialize_entry(if y { "weight" } else { "Weight" }, &self.weight)?;
        m.end()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ThrottleDevice {
    pub path: String,
    pub rate: Bytes,
}

impl Serialize for ThrottleDevice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        let y = yaml_mode();
        m.serialize_entry(if y { "path" } else { "Path" }, &self.path)?;
        m.serialize_entry(if y { "rate" } else { "Rate" }, &self.rate)?;
        m.end()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileReference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "de_stringish"
    )]
    pub uid: String,
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "de_stringish"
    )]
    pub gid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<FileMode>,
}

/// A file mode, rendered in octal (`"0440"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileMode(pub i64);

impl Serialize for FileMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0{:o}", self.0))
    }
}

impl<'de> Deserialize<'de> for FileMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Int(i) => Ok(FileMode(i)),
            Scalar::Str(s) => i64::from_str_radix(&s, 8).map(FileMode).map_err(|_| {
                de::Error::custom(format!("strconv.ParseInt: parsing {s:?}: invalid syntax"))
            }),
            other => Err(de::Error::custom(format!(
                "unexpected value type {} for mode",
                other.type_name()
            ))),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialSpec {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub config: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub registry: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceDependency {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(skip_serializing_if = "is_false")]
    pub restart: bool,
    pub required: bool,
}

impl Default for ServiceDependency {
    fn default() -> Self {
        ServiceDependency {
            condition: "service_started".into(),
            restart: false,
            required: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Deploy {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdateConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_config: Option<UpdateConfig>,
    #[serde(skip_serializing_if = "empty_in_yaml")]
    pub resources: Resources,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "empty_in_yaml")]
    pub placement: Placement,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint_mode: String,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u64>,
    #[serde(skip_serializing_if = "Duration::is_zero")]
    pub delay: Duration,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub failure_action: String,
    #[serde(skip_serializing_if = "Duration::is_zero")]
    pub monitor: Duration,
    #[serde(skip_serializing_if = "is_zero_f64", deserialize_with = "de_float32")]
    pub max_failure_ratio: f64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub order: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Resource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<Resource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resource {
    /// CPUs (float32 in Compose).
    #[serde(skip_serializing_if = "is_zero_f64", deserialize_with = "de_float32")]
    pub cpus: f64,
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub memory: Bytes,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub pids: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRequest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub generic_resources: Vec<GenericResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// `-1` means all.
    #[serde(
        skip_serializing_if = "is_zero_i64",
        deserialize_with = "de_device_count"
    )]
    pub count: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_ids: Vec<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenericResource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discrete_resource_spec: Option<DiscreteResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscreteResource {
    pub kind: String,
    pub value: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Placement {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preferences: Vec<PlacementPreference>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub max_replicas_per_node: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlacementPreference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub spread: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceMapping {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub permissions: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvFile {
    pub path: String,
    /// An "opt-out" flag in Compose: rendered only when false.
    #[serde(skip_serializing_if = "is_true")]
    pub required: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub format: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Extends {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_healthcheck_test"
    )]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<Duration>,
    #[serde(skip_serializing_if = "is_false")]
    pub disable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Logging {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub gw_priority: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub interface_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ipv4_address: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ipv6_address: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub priority: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Port {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host_ip: String,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub target: u32,
    /// Host port or range (`"8080"`, `"8000-8010"`); empty: any free port.
    #[serde(
        skip_serializing_if = "String::is_empty",
        deserialize_with = "de_stringish"
    )]
    pub published: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub app_protocol: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceVolume {
    /// `bind`, `volume`, `tmpfs`, `npipe`, `cluster`, `image`.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<VolumeBind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<VolumeTmpfs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<VolumeImage>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeBind {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub selinux: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(skip_serializing_if = "is_false")]
    pub create_host_path: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub recursive: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeVolume {
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeTmpfs {
    #[serde(skip_serializing_if = "Bytes::is_zero")]
    pub size: Bytes,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeImage {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// `nofile: 1024` (single) or `nofile: {soft: 1024, hard: 2048}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ulimit {
    pub single: i64,
    pub soft: i64,
    pub hard: i64,
}

impl Ulimit {
    /// (soft, hard) as the runtime applies them.
    pub fn limits(&self) -> (i64, i64) {
        if self.single != 0 {
            (self.single, self.single)
        } else {
            (self.soft, self.hard)
        }
    }
}

impl Serialize for Ulimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.single != 0 {
            return s.serialize_i64(self.single);
        }
        let mut m = s.serialize_map(None)?;
        if self.soft != 0 || yaml_mode() {
            m.serialize_entry("soft", &self.soft)?;
        }
        if self.hard != 0 || yaml_mode() {
            m.serialize_entry("hard", &self.hard)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Ulimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct SoftHard {
            soft: i64,
            hard: i64,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum U {
            Single(i64),
            Pair(SoftHard),
        }
        Ok(match U::deserialize(d)? {
            U::Single(i) => Ulimit {
                single: i,
                soft: 0,
                hard: 0,
            },
            U::Pair(p) => Ulimit {
                single: 0,
                soft: p.soft,
                hard: p.hard,
            },
        })
    }
}

// ---------------------------------------------------------- top level types --

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "empty_in_yaml")]
    pub ipam: Ipam,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv4: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipam {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub aux_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
}

/// A secret or config definition (same shape in Compose).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileObject {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub environment: String,
    /// Never rendered for secrets; rendered for configs unless it came from `environment`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de_mapping"
    )]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template_driver: String,
    #[serde(skip_deserializing, flatten, serialize_with = "ser_extensions")]
    pub extensions: Extensions,
}

pub type Secret = FileObject;
pub type Config = FileObject;

// ------------------------------------------------------------ value types --

/// A duration (Compose accepts Go syntax plus `d`/`w`; renders as Go's `1m30s`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
    pub fn from_nanos(ns: i128) -> Duration {
        Duration(units::duration_from_ns(ns))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&units::format_duration(self.0.as_nanos() as i128))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?.go_string();
        units::parse_duration(&s)
            .map(Duration::from_nanos)
            .map_err(de::Error::custom)
    }
}

/// A size in bytes (Compose accepts `1g`, `512m`...; renders as a string of bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub i64);

impl Bytes {
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Int(i) => Ok(Bytes(i)),
            Scalar::Str(s) => units::ram_in_bytes(&s)
                .map(Bytes)
                .map_err(de::Error::custom),
            Scalar::Float(f) => Ok(Bytes(f as i64)),
            _ => Ok(Bytes(0)),
        }
    }
}

// ---------------------------------------------------------------- decoding --

/// Any scalar, for the lenient conversions compose-go's decoder does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Scalar {
    pub(crate) fn go_string(&self) -> String {
        match self {
            Scalar::Null => "<nil>".into(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => units::go_float(*f, 64),
            Scalar::Str(s) => s.clone(),
        }
    }
    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Null => "<nil>",
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float64",
            Scalar::Str(_) => "string",
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v as i64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar or a list of them, or a mapping of scalars (or of lists).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Loose {
    Scalar(Scalar),
    List(Vec<Loose>),
    Map(Vec<(String, Loose)>),
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_unit<E>(self) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Null))
            }
            fn visit_none<E>(self) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Int(v as i64)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Str(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Loose, E> {
                Ok(Loose::Scalar(Scalar::Str(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Loose, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element::<Loose>()? {
                    v.push(x);
                }
                Ok(Loose::List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Loose, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, Loose>()? {
                    v.push((k, x));
                }
                Ok(Loose::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Loose {
    fn go_string(&self) -> String {
        match self {
            Loose::Scalar(s) => s.go_string(),
            Loose::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Loose::go_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Loose::Map(m) => {
                let mut parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.go_string()))
                    .collect();
                parts.sort();
                format!("map[{}]", parts.join(" "))
            }
        }
    }
}

fn de_command<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Loose::deserialize(d)? {
        Loose::Scalar(Scalar::Null) => Ok(None),
        Loose::Scalar(Scalar::Str(s)) => super::shellwords::split(&s)
            .map(Some)
            .map_err(de::Error::custom),
        Loose::List(items) => Ok(Some(items.iter().map(Loose::go_string).collect())),
        other => Ok(Some(vec![other.go_string()])),
    }
}

fn de_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Loose::deserialize(d)? {
        Loose::Scalar(Scalar::Null) => Ok(Vec::new()),
        Loose::Scalar(s) => Ok(vec![s.go_string()]),
        Loose::List(items) => Ok(items.iter().map(Loose::go_string).collect()),
        Loose::Map(_) => Err(de::Error::custom("expected a string or a list of strings")),
    }
}

fn de_string_or_number_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    de_string_list(d)
}

fn de_stringish<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Null => Ok(String::new()),
        s => Ok(s.go_string()),
    }
}

fn de_float32<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let f = match Scalar::deserialize(d)? {
        Scalar::Int(i) => i as f64,
        Scalar::Float(f) => f,
        Scalar::Str(s) => units::go_parse_float(&s).ok_or_else(|| {
            de::Error::custom(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
        })?,
        Scalar::Null => 0.0,
        Scalar::Bool(_) => return Err(de::Error::custom("expected a number")),
    };
    Ok(round_f32(f))
}

/// A float32 value widened to f64 with the float32's shortest decimal digits (so that it
/// renders as Go renders the float32: `0.1`, not `0.10000000149011612`).
pub fn round_f32(f: f64) -> f64 {
    let s = format!("{}", f as f32);
    s.parse().unwrap_or(f)
}

fn de_device_count<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Scalar::deserialize(d)? {
        Scalar::Int(i) => Ok(i),
        Scalar::Str(s) if s.eq_ignore_ascii_case("all") => Ok(-1),
        Scalar::Str(s) => s.parse::<i64>().map_err(|_| {
            de::Error::custom(format!(
                "invalid value {s:?}, the only value allowed is 'all' or a number"
            ))
        }),
        Scalar::Null => Ok(0),
        other => Err(de::Error::custom(format!(
            "invalid type {} for device count",
            other.type_name()
        ))),
    }
}

/// `KEY: value` mapping or `KEY=value` list; `KEY` alone / null values give `None`.
fn de_mapping_with_equals<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Option<String>>, D::Error> {
    let mut out = BTreeMap::new();
    match Loose::deserialize(d)? {
        Loose::Map(m) => {
            for (k, v) in m {
                let v = match v {
                    Loose::Scalar(Scalar::Null) => None,
                    other => Some(other.go_string()),
                };
                out.insert(k, v);
            }
        }
        Loose::List(items) => {
            for it in items {
                let s = it.go_string();
                let (k, v) = match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (s.clone(), None),
                };
                if k.chars().last().is_some_and(char::is_whitespace) {
                    return Err(de::Error::custom(format!(
                        "environment variable {k} is declared with a trailing space"
                    )));
                }
                out.insert(k, v);
            }
        }
        Loose::Scalar(Scalar::Null) => {}
        Loose::Scalar(_) => return Err(de::Error::custom("unexpected value type for mapping")),
    }
    Ok(out)
}

/// `KEY: value` mapping or `KEY=value` list; missing values are `""`.
fn de_mapping<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let mut out = BTreeMap::new();
    match Loose::deserialize(d)? {
        Loose::Map(m) => {
            for (k, v) in m {
                let v = match v {
                    Loose::Scalar(Scalar::Null) => String::new(),
                    other => other.go_string(),
                };
                out.insert(k, v);
            }
        }
        Loose::List(items) => {
            for it in items {
                let s = it.go_string();
                match s.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), v.to_string()),
                    None => out.insert(s, String::new()),
                };
            }
        }
        Loose::Scalar(Scalar::Null) => {}
        Loose::Scalar(_) => return Err(de::Error::custom("unexpected value type for mapping")),
    }
    Ok(out)
}

fn de_multi_options<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let mut out = BTreeMap::new();
    if let Loose::Map(m) = Loose::deserialize(d)? {
        for (k, v) in m {
            let vals = match v {
                Loose::List(items) => items.iter().map(Loose::go_string).collect(),
                Loose::Scalar(Scalar::Null) => Vec::new(),
                other => vec![other.go_string()],
            };
            out.insert(k, vals);
        }
    }
    Ok(out)
}

fn de_models<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Option<ServiceModel>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum M {
        List(Vec<String>),
        Map(BTreeMap<String, Option<ServiceModel>>),
    }
    Ok(match M::deserialize(d)? {
        M::List(l) => l.into_iter().map(|k| (k, None)).collect(),
        M::Map(m) => m,
    })
}

/// `extra_hosts`: `host:ip`, `host=ip` or a mapping (several IPs per host allowed); rendered
/// `host=ip`, sorted.
fn de_hosts_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let mut out: Vec<String> = Vec::new();
    match Loose::deserialize(d)? {
        Loose::Map(m) => {
            for (k, v) in m {
                match v {
                    Loose::List(items) => {
                        for it in items {
                            out.push(format!("{k}={}", it.go_string()));
                        }
                    }
                    Loose::Scalar(Scalar::Null) => out.push(k),
                    other => out.push(format!("{k}={}", other.go_string())),
                }
            }
        }
        Loose::List(items) => {
            for it in items {
                let s = it.go_string();
                if let Some((h, ip)) = s.split_once('=') {
                    out.push(format!("{h}={ip}"));
                } else if let Some((h, ip)) = s.split_once(':') {
                    out.push(format!("{h}={ip}"));
                } else {
                    out.push(s);
                }
            }
        }
        Loose::Scalar(Scalar::Null) => {}
        Loose::Scalar(s) => out.push(s.go_string()),
    }
    out.sort();
    Ok(out)
}

/// `ssh`: mapping `{id: path|null}` (the loader's canonical form) to `id=path` / `id`.
fn de_ssh<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let mut out = Vec::new();
    match Loose::deserialize(d)? {
        Loose::Map(m) => {
            for (k, v) in m {
                match v {
                    Loose::Scalar(Scalar::Null) => out.push(k),
                    other => out.push(format!("{k}={}", other.go_string())),
                }
            }
        }
        Loose::List(items) => out.extend(items.iter().map(Loose::go_string)),
        Loose::Scalar(Scalar::Null) => {}
        Loose::Scalar(s) => out.push(s.go_string()),
    }
    out.sort();
    Ok(out)
}

/// `test: "cmd"` is `["CMD-SHELL", "cmd"]`.
fn de_healthcheck_test<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Loose::deserialize(d)? {
        Loose::Scalar(Scalar::Null) => Ok(Vec::new()),
        Loose::Scalar(s) => Ok(vec!["CMD-SHELL".into(), s.go_string()]),
        Loose::List(items) => Ok(items.iter().map(Loose::go_string).collect()),
        Loose::Map(_) => Err(de::Error::custom("expected a string or a list")),
    }
}
