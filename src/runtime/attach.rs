//! `attach` (and `start --attach` / `run` without `-d`): connect the caller's streams to a
//! container through its shim. CLI side only (plain sockets and threads, no libcontainer).

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use super::control::{Request, ShimClient, read_frame};
use super::ops::{Runtime, RuntimeError};

type Result<T> = std::result::Result<T, RuntimeError>;

/// Docker's default detach sequence: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [0x10, 0x11];

#[derive(Debug, Clone)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Close the container's stdin when our stdin ends (Docker's `StdinOnce`, `run -i`).
    pub close_stdin_on_eof: bool,
    /// Byte sequence that detaches (`None`: never; only checked on stdin).
    pub detach_keys: Option<Vec<u8>>,
}

impl Default for AttachOptions {
    fn default() -> Self {
        AttachOptions {
            stdin: false,
            stdout: true,
            stderr: true,
            close_stdin_on_eof: false,
            detach_keys: Some(DEFAULT_DETACH_KEYS.to_vec()),
        }
    }
}

/// How an attach ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachEnd {
    /// The container exited with this code.
    Exited(i32),
    /// The user typed the detach keys; the container runs on.
    Detached,
}

/// The caller's streams. `stdin` is read on a separate thread.
pub struct AttachIo {
    pub stdin: Option<Box<dyn Read + Send>>,
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
}

impl AttachIo {
    /// The process's own stdin/stdout/stderr.
    pub fn std(stdin: bool) -> AttachIo {
        AttachIo {
            stdin: stdin.then(|| Box::new(std::io::stdin()) as Box<dyn Read + Send>),
            stdout: Box::new(std::io::stdout()),
            stderr: Box::new(std::io::stderr()),
        }
    }
}

impl Runtime {
    /// Resize the container's tty.
    pub fn resize(&self, id: &str, rows: u16, cols: u16) -> Result<()> {
        let mut c = ShimClient::connect(&self.layout, id).map_err(|e| RuntimeError::Shim {
            id: id.into(),
            message: e.to_string(),
        })?;
        let r = c
            .call(
                &Request::Resize { rows, cols },
                Some(Duration::from_secs(5)),
            )
            .map_err(|e| RuntimeError::Shim {
                id: id.into(),
                message: e.to_string(),
            })?;
        if r.ok {
            Ok(())
        } else {
            Err(RuntimeError::Other(r.error.unwrap_or_default()))
        }
    }

    /// Attach to a running container until it exits or the user detaches.
    pub fn attach(&self, id: &str, opts: &AttachOptions, io: AttachIo) -> Result<AttachEnd> {
        self.attach_inner(id, opts, io, false)
    }

    /// Attach to a container started with [`Runtime::start_held`], starting it.
    pub fn attach_started(
        &self,
        id: &str,
        opts: &AttachOptions,
        io: AttachIo,
    ) -> Result<AttachEnd> {
        self.attach_inner(id, opts, io, true)
    }

    /// Start a created/exited container with the streams attached from its first byte
    /// (`docker start -a`, `compose run`).
    pub fn start_attached(
        &self,
        id: &str,
        opts: &AttachOptions,
        io: AttachIo,
    ) -> Result<AttachEnd> {
        self.start_held(id)?;
        self.attach_inner(id, opts, io, true)
    }

    fn attach_inner(
        &self,
        id: &str,
        opts: &AttachOptions,
        io: AttachIo,
        start: bool,
    ) -> Result<AttachEnd> {
        let shim_err = |e: std::io::Error| RuntimeError::Shim {
            id: id.into(),
            message: e.to_string(),
        };
        let mut client = ShimClient::connect(&self.layout, id)
            .map_err(|_| RuntimeError::NotRunning { id: id.into() })?;
        let r = client
            .call(
                &Request::Attach {
                    stdin: opts.stdin,
                    stdout: opts.stdout,
                    stderr: opts.stderr,
                    close_stdin_on_eof: opts.close_stdin_on_eof,
                    start,
                },
                Some(Duration::from_secs(30)),
            )
            .map_err(shim_err)?;
        if !r.ok {
            return Err(RuntimeError::Other(r.error.unwrap_or_default()));
        }
        let tty = r.tty.unwrap_or(false);
        let stream = client.stream;
        let detached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut pump = None;
        if let (true, Some(mut input)) = (opts.stdin, io.stdin) {
            let mut w = stream.try_clone().map_err(shim_err)?;
            let keys = opts.detach_keys.clone().filter(|k| !k.is_empty());
            let detached = detached.clone();
            pump = Some(std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut matched = 0usize;
                loop {
                    let n = match input.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut out = Vec::with_capacity(n);
                    for &b in &buf[..n] {
                        if let Some(k) = &keys {
                            if b == k[matched] {
                                matched += 1;
                                if matched == k.len() {
                                    detached.store(true, std::sync::atomic::Ordering::SeqCst);
                                    let _ = w.shutdown(Shutdown::Both);
                                    return;
                                }
                                continue;
                            }
                            out.extend_from_slice(&k[..matched]);
                            matched = 0;
                        }
                        out.push(b);
                    }
                    if w.write_all(&out).is_err() {
                        return;
                    }
                }
                let _ = w.shutdown(Shutdown::Write);
            }));
        }
        let mut stdout = io.stdout;
        let mut stderr = io.stderr;
        let mut reader = stream;
        if tty {
            let mut buf = [0u8; 32 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let _ = stdout.write_all(&buf[..n]);
                        let _ = stdout.flush();
                    }
                }
            }
        } else {
            while let Ok(Some((s, data))) = read_frame(&mut reader) {
                let w: &mut dyn Write = if s == 2 { &mut *stderr } else { &mut *stdout };
                let _ = w.write_all(&data);
                let _ = w.flush();
            }
        }
        let _ = reader.shutdown(Shutdown::Both);
        if detached.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(AttachEnd::Detached);
        }
        // The stdin thread may be blocked reading our stdin; it is left to finish on its
        // own (the process is about to report and exit), never joined while blocked.
        if let Some(p) = pump
            && p.is_finished()
        {
            let _ = p.join();
        }
        Ok(AttachEnd::Exited(self.wait(id)?))
    }
}
