//! A focused client for the OCI distribution API, on `ureq` (blocking, rustls with `ring`).
//!
//! Why not `oci-client`: it buffers whole layers in memory and returns them out of order,
//! re-serialises manifests on push (changing digests), swallows token errors, knows nothing of
//! `config.json` or layouts, and with TLS pulls in aws-lc-sys (~190 crates, minutes of build).
//! What we need is small: manifests with the right `Accept`, blobs as streams, uploads that
//! always follow the latest `Location`, and the three auth modes.
//! Blocking I/O suits us: each layer streams through its own thread (download → sha256 →
//! inflate → untar), so there is no async runtime in the hot path.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use ureq::Agent;
use ureq::http::Response;
use ureq::tls::TlsConfig;

use super::config::Config;
use super::credentials::{self, Credentials};
use super::digest::Digest;
use super::reference::Reference;
use super::spec;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
const MAX_MANIFEST: u64 = 4 << 20;
const MAX_CONFIG: u64 = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot reach registry `{registry}` at {url}: {source}")]
    Unreachable {
        registry: String,
        url: String,
        #[source]
        source: ureq::Error,
    },
    #[error("{registry}: unauthorized: {message}")]
    Unauthorized { registry: String, message: String },
    #[error("{reference}: not found: {message}")]
    NotFound { reference: String, message: String },
    #[error("{method} {url}: registry answered {status}: {body}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    #[error("cannot get a token from `{realm}`: {message}")]
    Token { realm: String, message: String },
    #[error("{url}: {message}")]
    Protocol { url: String, message: String },
    #[error(
        "{0}: schema 1 manifests are not supported (deprecated since 2017); push the image again with a current client"
    )]
    Schema1(String),
}

/// Builds a request given the `Authorization` value to send (rebuilt after a challenge).
type BuildRequest<'a> =
    &'a dyn Fn(&Agent, Option<&str>) -> Result<Response<ureq::Body>, ureq::Error>;

/// One registry, or a mirror of one: where to send requests.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The registry name as in references (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// `https://registry-1.docker.io`, `http://127.0.0.1:5000`.
    pub base: String,
    pub mirror: bool,
}

/// A pulled manifest: its exact bytes (digests are over bytes), media type and digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

/// The registry client. Cheap to share between threads.
pub struct Client {
    agent: Agent,
    insecure_agent: Agent,
    custom: Mutex<HashMap<String, Agent>>,
    pub config: Config,
    /// Credentials given explicitly (tests, `login`), before `config.json`.
    explicit: Mutex<HashMap<String, Credentials>>,
    tokens: Mutex<HashMap<(String, String), String>>,
    schemes: Mutex<HashMap<String, String>>,
}

fn build_agent(tls: TlsConfig) -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .user_agent(concat!("rcompose/", env!("CARGO_PKG_VERSION")))
        .max_idle_connections_per_host(8)
        .tls_config(tls)
        .build()
        .into()
}

/// Directories holding extra CA certificates for one registry, as Docker's
/// `/etc/docker/certs.d/<host[:port]>/*.crt`; `RCOMPOSE_CERTS_D` replaces the default roots.
fn certs_dirs(registry: &str) -> Vec<std::path::PathBuf> {
    let roots: Vec<std::path::PathBuf> = match std::env::var_os("RCOMPOSE_CERTS_D") {
        Some(d) => vec![d.into()],
        None => vec!["/etc/rcompose/certs.d".into(), "/etc/docker/certs.d".into()],
    };
    roots
        .into_iter()
        .map(|r| r.join(registry))
        .filter(|d| d.is_dir())
        .collect()
}

/// The system's CA bundle plus the `*.crt` files of `dirs`.
fn roots_with(dirs: &[std::path::PathBuf]) -> Vec<ureq::tls::Certificate<'static>> {
    let mut pems: Vec<Vec<u8>> = Vec::new();
    for bundle in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ] {
        if let Ok(b) = std::fs::read(bundle) {
            pems.push(b);
            break;
        }
    }
    for d in dirs {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "crt")
                    && let Ok(b) = std::fs::read(e.path())
                {
                    pems.push(b);
                }
            }
        }
    }
    let mut out = Vec::new();
    for pem in &pems {
        for item in ureq::tls::parse_pem(pem).flatten() {
            if let ureq::tls::PemItem::Certificate(c) = item {
                out.push(c.to_owned());
            }
        }
    }
    out
}

impl Client {
    pub fn new(config: Config) -> Client {
        Client {
            agent: build_agent(TlsConfig::default()),
            // As Docker: an insecure registry's TLS certificate is not verified.
            insecure_agent: build_agent(TlsConfig::builder().disable_verification(true).build()),
            custom: Mutex::new(HashMap::new()),
            config,
            explicit: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
        }
    }

    /// The HTTP agent for a registry: unverified TLS for insecure registries, extra CAs from
    /// `certs.d`, else the Mozilla roots.
    fn agent_for(&self, registry: &str) -> Agent {
        if self.config.is_insecure(registry) {
            return self.insecure_agent.clone();
        }
        let mut custom = self.custom.lock().expect("lock");
        if let Some(a) = custom.get(registry) {
            return a.clone();
        }
        let dirs = certs_dirs(registry);
        let agent = if dirs.is_empty() {
            self.agent.clone()
        } else {
            let roots = roots_with(&dirs);
            build_agent(
                TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
                    .build(),
            )
        };
        custom.insert(registry.to_string(), agent.clone());
        agent
    }

    /// Use these credentials for `registry` instead of `config.json`.
    pub fn set_credentials(&self, registry: &str, creds: Credentials) {
        self.explicit
            .lock()
            .expect("lock")
            .insert(registry.to_string(), creds);
    }

    fn credentials(&self, registry: &str) -> Option<Credentials> {
        if let Some(c) = self.explicit.lock().expect("lock").get(registry) {
            return Some(c.clone());
        }
        match credentials::lookup(registry) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("ignoring credentials for `{registry}`: {e}");
                None
            }
        }
    }

    /// Endpoints to pull from: mirrors first, then the registry.
    pub fn pull_endpoints(&self, registry: &str) -> Vec<Endpoint> {
        let mut out: Vec<Endpoint> = self
            .config
            .mirrors_for(registry)
            .into_iter()
            .map(|m| Endpoint {
                registry: registry.to_string(),
                base: m.trim_end_matches('/').to_string(),
                mirror: true,
            })
            .collect();
        out.push(self.endpoint(registry));
        out
    }

    /// The registry itself (pushes never go to mirrors).
    pub fn endpoint(&self, registry: &str) -> Endpoint {
        let host = if registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            registry
        };
        Endpoint {
            registry: registry.to_string(),
            base: format!("https://{host}"),
            mirror: false,
        }
    }

    /// Resolve the scheme: HTTPS, or plain HTTP for loopback and insecure registries when
    /// HTTPS fails (as Docker: try TLS first, fall back).
    fn base(&self, ep: &Endpoint) -> Result<String, RegistryError> {
        if ep.mirror || !ep.base.starts_with("https://") {
            return Ok(ep.base.clone());
        }
        if let Some(b) = self.schemes.lock().expect("lock").get(&ep.base) {
            return Ok(b.clone());
        }
        let chosen = if self.config.is_insecure(&ep.registry) {
            let url = format!("{}/v2/", ep.base);
            match self.agent_for(&ep.registry).get(&url).call() {
                Ok(_) => ep.base.clone(),
                Err(e) if is_connect_refused(&e) => {
                    return Err(RegistryError::Unreachable {
                        registry: ep.registry.clone(),
                        url,
                        source: e,
                    });
                }
                Err(_) => ep.base.replacen("https://", "http://", 1),
            }
        } else {
            ep.base.clone()
        };
        self.schemes
            .lock()
            .expect("lock")
            .insert(ep.base.clone(), chosen.clone());
        Ok(chosen)
    }

    /// Send a request built by `build` (called again after an auth challenge), with the
    /// token/credentials for `scopes`.
    fn send(
        &self,
        ep: &Endpoint,
        scopes: &[String],
        method: &'static str,
        url: &str,
        build: BuildRequest<'_>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let key = (ep.base.clone(), scopes.join(" "));
        let cached = self.tokens.lock().expect("lock").get(&key).cloned();
        let unreachable = |e: ureq::Error| RegistryError::Unreachable {
            registry: ep.registry.clone(),
            url: url.to_string(),
            source: e,
        };
        let agent = self.agent_for(&ep.registry);
        let resp = build(&agent, cached.as_deref()).map_err(unreachable)?;
        if resp.status() != 401 {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let creds = self.credentials(&ep.registry);
        let auth = if challenge.to_ascii_lowercase().starts_with("bearer") {
            let params = parse_challenge(&challenge);
            let token = self.fetch_token(ep, &params, scopes, creds.as_ref())?;
            format!("Bearer {token}")
        } else if challenge.to_ascii_lowercase().starts_with("basic") {
            let Some(c) = creds else {
                return Err(RegistryError::Unauthorized {
                    registry: ep.registry.clone(),
                    message: format!(
                        "authentication required\n\nhint: run `rcompose login {}`",
                        ep.registry
                    ),
                });
            };
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            format!("Basic {b}")
        } else {
            return Err(RegistryError::Unauthorized {
                registry: ep.registry.clone(),
                message: error_message(resp),
            });
        };
        self.tokens.lock().expect("lock").insert(key, auth.clone());
        let resp = build(&agent, Some(&auth)).map_err(unreachable)?;
        if resp.status() == 401 || resp.status() == 403 {
            let hint = if self.credentials(&ep.registry).is_some() {
                "check the credentials saved by `rcompose login`"
            } else {
                "log in with `rcompose login`"
            };
            let _ = method;
            return Err(RegistryError::Unauthorized {
                registry: ep.registry.clone(),
                message: format!("{}\n\nhint: {hint} {}", error_message(resp), ep.registry),
            });
        }
        Ok(resp)
    }

    fn fetch_token(
        &self,
        ep: &Endpoint,
        params: &HashMap<String, String>,
        scopes: &[String],
        creds: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let realm = params.get("realm").cloned().unwrap_or_default();
        if realm.is_empty() {
            return Err(RegistryError::Token {
                realm,
                message: "the challenge has no realm".into(),
            });
        }
        let mut req = self.agent.get(&realm);
        if let Some(s) = params.get("service") {
            req = req.query("service", s);
        }
        let mut scope_list: Vec<String> = scopes.to_vec();
        if let Some(s) = params.get("scope")
            && !scope_list.contains(s)
        {
            scope_list.push(s.clone());
        }
        for s in &scope_list {
            req = req.query("scope", s);
        }
        if let Some(c) = creds {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            req = req.header("Authorization", format!("Basic {b}"));
        }
        let mut resp = req.call().map_err(|e| RegistryError::Token {
            realm: realm.clone(),
            message: e.to_string(),
        })?;
        if resp.status() != 200 {
            let status = resp.status().as_u16();
            let unauthorized = status == 401 || status == 403;
            let msg = format!("{status} {}", error_message(resp));
            return Err(if unauthorized {
                RegistryError::Unauthorized {
                    registry: ep.registry.clone(),
                    message: format!("token server refused: {msg}"),
                }
            } else {
                RegistryError::Token {
                    realm,
                    message: msg,
                }
            });
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| RegistryError::Token {
                realm: realm.clone(),
                message: e.to_string(),
            })?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Token {
                realm: realm.clone(),
                message: e.to_string(),
            })?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or(RegistryError::Token {
                realm,
                message: "the answer has no token".into(),
            })
    }

    /// Check credentials against a registry (`rcompose login`).
    pub fn login(&self, registry: &str, creds: &Credentials) -> Result<(), RegistryError> {
        self.set_credentials(registry, creds.clone());
        let ep = self.endpoint(registry);
        let base = self.base(&ep)?;
        let url = format!("{base}/v2/");
        let resp = self.send(&ep, &[], "GET", &url, &|a, auth| {
            with_auth(a.get(&url), auth).call()
        })?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(status_error("GET", &url, resp))
        }
    }

    /// GET a manifest by tag or digest, verifying the digest.
    pub fn manifest(
        &self,
        ep: &Endpoint,
        reference: &Reference,
        target: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let base = self.base(ep)?;
        let url = format!("{base}/v2/{}/manifests/{target}", reference.repository);
        let scopes = [format!("repository:{}:pull", reference.repository)];
        let mut resp = self.send(ep, &scopes, "GET", &url, &|a, auth| {
            with_auth(a.get(&url), auth)
                .header("Accept", MANIFEST_ACCEPT)
                .call()
        })?;
        if resp.status() == 404 {
            return Err(RegistryError::NotFound {
                reference: reference.familiar(),
                message: error_message(resp),
            });
        }
        if !resp.status().is_success() {
            return Err(status_error("GET", &url, resp));
        }
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<Digest>().ok());
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| RegistryError::Protocol {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let digest = Digest::of(&bytes);
        let expected = target.parse::<Digest>().ok().or(header_digest);
        if let Some(e) = expected
            && e != digest
        {
            return Err(RegistryError::Protocol {
                url,
                message: format!("manifest digest mismatch: expected {e}, got {digest}"),
            });
        }
        let body_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("mediaType")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
            });
        let media_type = match (ctype, body_type) {
            (Some(c), _) if spec::is_index(&c) || spec::is_image_manifest(&c) => c,
            (_, Some(b)) => b,
            (Some(c), None) => c,
            (None, None) => String::new(),
        };
        if media_type.starts_with("application/vnd.docker.distribution.manifest.v1")
            || media_type == "application/json" && bytes.windows(9).any(|w| w == b"fsLayers\"")
        {
            return Err(RegistryError::Schema1(reference.familiar()));
        }
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// GET a blob as a stream (the caller verifies its digest).
    pub fn blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
    ) -> Result<(Option<u64>, Box<dyn Read + Send>), RegistryError> {
        let base = self.base(ep)?;
        let url = format!("{base}/v2/{repository}/blobs/{digest}");
        let scopes = [format!("repository:{repository}:pull")];
        let resp = self.send(ep, &scopes, "GET", &url, &|a, auth| {
            with_auth(a.get(&url), auth).call()
        })?;
        if resp.status() == 404 {
            return Err(RegistryError::NotFound {
                reference: format!("{repository}@{digest}"),
                message: error_message(resp),
            });
        }
        if !resp.status().is_success() {
            return Err(status_error("GET", &url, resp));
        }
        let len = resp.body().content_length();
        Ok((len, Box::new(resp.into_body().into_reader())))
    }

    /// Read a small blob (a config) fully, verifying its digest.
    pub fn blob_bytes(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        let (_, r) = self.blob(ep, repository, digest)?;
        let mut buf = Vec::new();
        r.take(MAX_CONFIG)
            .read_to_end(&mut buf)
            .map_err(|e| RegistryError::Protocol {
                url: format!("{repository}@{digest}"),
                message: e.to_string(),
            })?;
        let got = Digest::of(&buf);
        if got != *digest {
            return Err(RegistryError::Protocol {
                url: format!("{repository}@{digest}"),
                message: format!("blob digest mismatch: got {got}"),
            });
        }
        Ok(buf)
    }

    /// Does the registry have this blob in this repository?
    pub fn has_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let base = self.base(ep)?;
        let url = format!("{base}/v2/{repository}/blobs/{digest}");
        let scopes = [format!("repository:{repository}:pull,push")];
        let resp = self.send(ep, &scopes, "HEAD", &url, &|a, auth| {
            with_auth(a.head(&url), auth).call()
        })?;
        Ok(resp.status().is_success())
    }

    /// Try a cross-repository mount; `true` if the registry mounted it.
    pub fn mount_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let base = self.base(ep)?;
        let url = format!("{base}/v2/{repository}/blobs/uploads/?mount={digest}&from={from}");
        let scopes = [
            format!("repository:{repository}:pull,push"),
            format!("repository:{from}:pull"),
        ];
        let resp = self.send(ep, &scopes, "POST", &url, &|a, auth| {
            with_auth(a.post(&url), auth).send_empty()
        })?;
        Ok(resp.status() == 201)
    }

    /// Upload a blob monolithically: POST for a session, then PUT to the latest `Location`
    /// with `?digest=` (a POST with `?digest=` alone does not upload on distribution 2.8).
    pub fn upload_blob(
        &self,
        ep: &Endpoint,
        repository: &str,
        digest: &Digest,
        size: u64,
        open: &dyn Fn() -> std::io::Result<Box<dyn Read + Send>>,
    ) -> Result<(), RegistryError> {
        let base = self.base(ep)?;
        let url = format!("{base}/v2/{repository}/blobs/uploads/");
        let scopes = [format!("repository:{repository}:pull,push")];
        let resp = self.send(ep, &scopes, "POST", &url, &|a, auth| {
            with_auth(a.post(&url), auth).send_empty()
        })?;
        if resp.status() != 202 {
            return Err(status_error("POST", &url, resp));
        }
        let location = location(&base, &resp).ok_or_else(|| RegistryError::Protocol {
            url: url.clone(),
            message: "upload session without a Location".into(),
        })?;
        let sep = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{sep}digest={digest}");
        let resp = self.send(ep, &scopes, "PUT", &put_url, &|a, auth| {
            let reader = open().map_err(ureq::Error::Io)?;
            with_auth(a.put(&put_url), auth)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", size.to_string())
                .send(ureq::SendBody::from_owned_reader(reader))
        })?;
        if resp.status() != 201 {
            return Err(status_error("PUT", &put_url, resp));
        }
        Ok(())
    }

    /// PUT a manifest's exact bytes under a tag or digest; returns the registry's digest.
    pub fn put_manifest(
        &self,
        ep: &Endpoint,
        repository: &str,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let base = self.base(ep)?;
        let url = format!("{base}/v2/{repository}/manifests/{target}");
        let scopes = [format!("repository:{repository}:pull,push")];
        let resp = self.send(ep, &scopes, "PUT", &url, &|a, auth| {
            with_auth(a.put(&url), auth)
                .header("Content-Type", media_type)
                .send(bytes)
        })?;
        if resp.status() != 201 && resp.status() != 200 {
            return Err(status_error("PUT", &url, resp));
        }
        Ok(Digest::of(bytes))
    }
}

fn with_auth<B>(req: ureq::RequestBuilder<B>, auth: Option<&str>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(a) => req.header("Authorization", a),
        None => req,
    }
}

fn is_connect_refused(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable
        ),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => true,
        _ => false,
    }
}

/// The upload `Location`, made absolute against `base`. Distribution returns an absolute URL
/// with a signed `_state`; always follow the latest one.
fn location(base: &str, resp: &Response<ureq::Body>) -> Option<String> {
    let loc = resp.headers().get("location")?.to_str().ok()?;
    if loc.starts_with("http://") || loc.starts_with("https://") {
        Some(loc.to_string())
    } else if loc.starts_with('/') {
        Some(format!("{base}{loc}"))
    } else {
        Some(format!("{base}/{loc}"))
    }
}

fn status_error(method: &'static str, url: &str, resp: Response<ureq::Body>) -> RegistryError {
    let status = resp.status().as_u16();
    RegistryError::Status {
        method,
        url: url.to_string(),
        status,
        body: error_message(resp),
    }
}

/// The registry's error message (`{"errors":[{"code","message"}]}`) or the body text.
fn error_message(mut resp: Response<ureq::Body>) -> String {
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 10)
        .read_to_string()
        .unwrap_or_default();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(errs) = v.get("errors").and_then(|e| e.as_array())
    {
        let msgs: Vec<String> = errs
            .iter()
            .map(|e| {
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                format!("{code}: {msg}")
                    .trim_matches([' ', ':'])
                    .to_string()
            })
            .collect();
        if !msgs.is_empty() {
            return msgs.join("; ");
        }
    }
    let t = text.trim();
    if t.is_empty() {
        resp.status().to_string()
    } else {
        t.chars().take(300).collect()
    }
}

/// Parse `Bearer realm="…",service="…",scope="…"`.
fn parse_challenge(h: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let rest = h.split_once(' ').map(|x| x.1).unwrap_or("");
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n)
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                val.push(*c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), val);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse() {
        let p = parse_challenge(
            r#"Bearer realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(p["realm"], "http://127.0.0.1:1/token");
        assert_eq!(p["service"], "reg");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
    }
}
