//! The image config as Docker (BuildKit) writes it: the OCI config with Docker's extra fields
//! (`Healthcheck`, `OnBuild`, `Shell`), field order and omissions as Go's encoder produces
//! them. Top-level keys are sorted because BuildKit's exporter re-marshals them through a map.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{}` in `ExposedPorts` and `Volumes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    #[serde(rename = "Test", default, skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(rename = "Interval", default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    #[serde(rename = "Timeout", default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    #[serde(rename = "StartPeriod", default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    #[serde(rename = "StartInterval", default, skip_serializing_if = "is_zero")]
    pub start_interval: i64,
    #[serde(rename = "Retries", default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}

/// `config` of an image (ocispec.ImageConfig + Docker's extension), in Go's field order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "User", default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(
        rename = "ExposedPorts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    #[serde(rename = "Env", default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    #[serde(rename = "ArgsEscaped", default, skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    #[serde(
        rename = "Healthcheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub healthcheck: Option<HealthConfig>,
    #[serde(rename = "OnBuild", default, skip_serializing_if = "Vec::is_empty")]
    pub on_build: Vec<String>,
    #[serde(rename = "Shell", default, skip_serializing_if = "Vec::is_empty")]
    pub shell: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub empty_layer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> Self {
        Self {
            kind: "layers".into(),
            diff_ids: Vec::new(),
        }
    }
}

/// An image config. Serialises with sorted top-level keys, as BuildKit's exporter writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    #[serde(default)]
    pub config: ContainerConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

impl ImageConfig {
    /// BuildKit's `emptyImage` for `FROM scratch`.
    pub fn scratch(platform: &Platform) -> Self {
        Self {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: platform.variant.clone(),
            config: ContainerConfig {
                working_dir: "/".into(),
                env: vec![format!("PATH={DEFAULT_PATH}")],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The JSON Docker writes (sorted top-level keys, Go field order inside).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// An OCI platform (`linux/amd64`, `linux/arm/v7`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

impl Platform {
    /// The platform of this machine.
    pub fn host() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        let variant = if arch == "arm" { "v7" } else { "" };
        Self {
            os: "linux".into(),
            architecture: arch.into(),
            variant: variant.into(),
        }
    }

    /// Parse `os[/arch[/variant]]` or `arch` as containerd's `platforms.Parse` (normalised).
    pub fn parse(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
            return Err(format!("\"{s}\": invalid platform specifier"));
        }
        let (os, arch, variant) = match parts.as_slice() {
            [one]
                if *one == "linux"
                    || *one == "windows"
                    || *one == "darwin"
                    || *one == "freebsd" =>
            {
                let h = Platform::host();
                (one.to_string(), h.architecture, h.variant)
            }
            [one] => ("linux".to_string(), one.to_string(), String::new()),
            [os, arch] => (os.to_string(), arch.to_string(), String::new()),
            [os, arch, v] => (os.to_string(), arch.to_string(), v.to_string()),
            _ => unreachable!(),
        };
        let (arch, variant) = match (arch.as_str(), variant.as_str()) {
            ("x86_64" | "x86-64", v) => ("amd64".to_string(), v.to_string()),
            ("aarch64" | "arm64", "" | "8" | "v8") => ("arm64".to_string(), String::new()),
            ("armhf", _) => ("arm".to_string(), "v7".to_string()),
            ("armel", _) => ("arm".to_string(), "v6".to_string()),
            ("arm", "") => ("arm".to_string(), "v7".to_string()),
            ("arm", v) if !v.starts_with('v') => ("arm".to_string(), format!("v{v}")),
            ("i386" | "i686" | "x86", v) => ("386".to_string(), v.to_string()),
            (a, v) => (a.to_string(), v.to_string()),
        };
        Ok(Self {
            os,
            architecture: arch,
            variant,
        })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}
