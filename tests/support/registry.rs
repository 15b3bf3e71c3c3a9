//! A real registry for tests: Debian's `docker-registry` (distribution 2.8) on a free loopback
//! port with a temporary config and storage, anonymous, with htpasswd basic auth, or with
//! bearer tokens from a small token server run by the test. Killed and removed on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;

pub const USER: &str = "tester";
pub const PASSWORD: &str = "s3cret-pw";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Basic,
    /// Bearer tokens; the token server requires `USER`/`PASSWORD` for every token.
    Token,
}

pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    token: Option<TokenServer>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        Self::start_inner(auth, false)
    }

    /// Anonymous, serving HTTPS only (a self-signed certificate for 127.0.0.1).
    pub fn start_tls() -> Registry {
        Self::start_inner(Auth::Anonymous, true)
    }

    fn start_inner(auth: Auth, tls: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut auth_yaml = String::new();
        let mut token = None;
        match auth {
            Auth::Anonymous => {}
            Auth::Basic => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", USER, PASSWORD])
                    .output()
                    .unwrap();
                assert!(out.status.success());
                std::fs::write(dir.path().join("htpasswd"), &out.stdout).unwrap();
                auth_yaml = format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    dir.path().join("htpasswd").display()
                );
            }
            Auth::Token => {
                let t = TokenServer::start(dir.path());
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    t.port,
                    dir.path().join("token.crt").display()
                );
                token = Some(t);
            }
        }
        let mut tls_yaml = String::new();
        if tls {
            let ok = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(dir.path().join("tls.key"))
                .arg("-out")
                .arg(dir.path().join("tls.crt"))
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(ok.success());
            tls_yaml = format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("tls.crt").display(),
                dir.path().join("tls.key").display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{tls_yaml}{auth_yaml}",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (apt install docker-registry)");
        let reg = Registry {
            child,
            port,
            dir,
            token,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        reg
    }

    /// `127.0.0.1:<port>`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Copy an image from an OCI layout into this registry with skopeo (an independent
    /// client), keeping its digests.
    pub fn skopeo_push(&self, layout: &Path, tag: &str, dest: &str) {
        self.skopeo_push_with(layout, tag, dest, &["--preserve-digests"]);
    }

    /// As `skopeo_push`, with extra `skopeo copy` options (`--format v2s2`).
    pub fn skopeo_push_with(&self, layout: &Path, tag: &str, dest: &str, extra: &[&str]) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--quiet", "--all", "--dest-tls-verify=false"])
            .args(extra);
        if self.token.is_some() || self.dir.path().join("htpasswd").exists() {
            cmd.arg(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        let out = cmd
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{dest}", self.host()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// skopeo copy from this registry into an OCI layout directory.
    pub fn skopeo_pull(&self, src: &str, layout: &Path, tag: &str) {
        let mut cmd = Command::new("skopeo");
        cmd.args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
        ]);
        if self.token.is_some() || self.dir.path().join("htpasswd").exists() {
            cmd.arg(format!("--src-creds={USER}:{PASSWORD}"));
        }
        let out = cmd
            .arg(format!("docker://{}/{src}", self.host()))
            .arg(format!("oci:{}:{tag}", layout.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal token server (`GET /token?service=…&scope=…` with Basic auth) issuing ES256 JWTs
/// that distribution verifies against `token.crt` (the signing certificate itself, sent in
/// the `x5c` header).
pub struct TokenServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    fn start(dir: &Path) -> TokenServer {
        let key_pem = dir.join("token.key");
        let crt = dir.join("token.crt");
        let ok = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=rcompose-test-token",
            ])
            .arg("-keyout")
            .arg(&key_pem)
            .arg("-out")
            .arg(&crt)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let der = Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
            .arg(&key_pem)
            .output()
            .unwrap();
        assert!(der.status.success());
        let crt_der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&crt)
            .output()
            .unwrap();
        assert!(crt_der.status.success());
        let pkcs8 = der.stdout;
        let x5c = base64::engine::general_purpose::STANDARD.encode(&crt_der.stdout);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let pkcs8 = Arc::new(pkcs8);
        let x5c = Arc::new(x5c);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(c) = conn {
                    // One thread per connection: an idle connection must not hold up others.
                    let (pkcs8, x5c) = (pkcs8.clone(), x5c.clone());
                    std::thread::spawn(move || {
                        let _ = serve_token(c, &pkcs8, &x5c);
                    });
                }
            }
        });
        TokenServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve_token(mut c: TcpStream, pkcs8: &[u8], x5c: &str) -> std::io::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(c.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorized = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h
            .strip_prefix("Authorization: ")
            .or_else(|| h.strip_prefix("authorization: "))
        {
            let want =
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
            authorized = v.trim() == format!("Basic {want}");
        }
    }
    if !authorized {
        let body = r#"{"details":"invalid username or password"}"#;
        write!(
            c,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return Ok(());
    }
    let query = target.split_once('?').map(|x| x.1).unwrap_or("");
    let mut access = Vec::new();
    for kv in query.split('&') {
        if let Some(v) = kv.strip_prefix("scope=") {
            let v = url_decode(v);
            let parts: Vec<&str> = v.split(':').collect();
            if parts.len() == 3 {
                access.push(serde_json::json!({"type": parts[0], "name": parts[1], "actions": parts[2].split(',').collect::<Vec<_>>()}));
            }
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": "test-issuer", "sub": USER, "aud": "test-registry",
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", access.len()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let rng = ring::rand::SystemRandom::new();
    let key = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8,
        &rng,
    )
    .unwrap();
    let sig = key.sign(&rng, signing_input.as_bytes()).unwrap();
    let jwt = format!("{signing_input}.{}", b64(sig.as_ref()));
    let body = serde_json::json!({"token": jwt, "expires_in": 300}).to_string();
    write!(
        c,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    Ok(())
}

/// A fresh state root and run dir, removed on drop.
pub struct TempRoot {
    pub dir: tempfile::TempDir,
    pub paths: rcompose::paths::Paths,
}

impl TempRoot {
    pub fn new() -> TempRoot {
        let dir = tempfile::tempdir().unwrap();
        let paths = rcompose::paths::Paths::new(dir.path().join("root"), dir.path().join("run"));
        TempRoot { dir, paths }
    }
    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}
