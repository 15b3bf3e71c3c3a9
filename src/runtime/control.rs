//! The shim's control socket: `<run>/shim/<id>.sock`, one JSON request per connection
//! (a line), answered by one JSON line; `attach` then turns the connection into a stream.
//!
//! Attach streams use Docker's framing when there is no tty: an 8-byte header
//! `[stream, 0, 0, 0, len_be32]` (1 = stdout, 2 = stderr) before each chunk; with a tty the
//! bytes are raw. Bytes the client sends go to the container's stdin; the client's
//! half-close closes stdin when `close_stdin_on_eof` (Docker's `StdinOnce`).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::layout::Layout;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Liveness and the init pid.
    Status,
    /// Stop with `signal` (default: the stop signal), SIGKILL after `timeout_ms`
    /// (`None`: wait forever). Answered when the container has exited.
    Stop {
        timeout_ms: Option<u64>,
        signal: Option<i32>,
    },
    Kill {
        signal: i32,
    },
    Pause,
    Unpause,
    /// Answered when the container next exits (at once if it is not running).
    Wait,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
        close_stdin_on_eof: bool,
        /// Start a container the shim holds in `created` (see `start_attached`).
        start: bool,
    },
    Resize {
        rows: u16,
        cols: u16,
    },
    /// Start a held container.
    Start,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
}

impl Response {
    pub fn ok() -> Self {
        Response {
            ok: true,
            ..Default::default()
        }
    }
    pub fn err(msg: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(msg.into()),
            ..Default::default()
        }
    }
}

/// A path usable as `sun_path` whatever the length of `dir`: `/proc/self/fd/<n>/<name>`
/// where `n` is an `O_PATH` descriptor of `dir` (kept open by the returned `OwnedFd`).
pub fn short_socket_path(dir: &Path, name: &str) -> std::io::Result<(OwnedFd, String)> {
    let fd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    // SAFETY: open returned a fresh descriptor that we now own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let path = format!("/proc/self/fd/{}/{name}", fd.as_raw_fd());
    Ok((fd, path))
}

/// A client connection to one container's shim.
pub struct ShimClient {
    pub stream: UnixStream,
}

impl ShimClient {
    pub fn connect(layout: &Layout, id: &str) -> std::io::Result<ShimClient> {
        let (_dir, path) = short_socket_path(&layout.shim_sockets(), &Layout::socket_name(id))?;
        let stream = UnixStream::connect(path)?;
        Ok(ShimClient { stream })
    }

    /// Send a request; read one response line (waiting at most `timeout`, `None`: forever).
    pub fn call(&mut self, req: &Request, timeout: Option<Duration>) -> std::io::Result<Response> {
        let mut line = serde_json::to_vec(req).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.stream.write_all(&line)?;
        self.stream.set_read_timeout(timeout)?;
        // Byte by byte: after an `attach` answer the stream carries output, which a
        // buffered reader would swallow.
        let mut resp = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.stream.read(&mut byte) {
                Ok(0) => break,
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => resp.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.stream.set_read_timeout(None)?;
        if resp.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the shim closed the connection without answering",
            ));
        }
        serde_json::from_slice(&resp)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// Read one attach frame (non-tty): `Some((stream, data))`, `None` at end.
pub fn read_frame(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut hdr = [0u8; 8];
    match r.read_exact(&mut hdr) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
    let mut data = vec![0u8; len];
    r.read_exact(&mut data)?;
    Ok(Some((hdr[0], data)))
}

/// Frame `data` for stream `s` (1 stdout, 2 stderr).
pub fn frame(s: u8, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 8);
    v.extend_from_slice(&[s, 0, 0, 0]);
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(data);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json() {
        let r = Request::Stop {
            timeout_ms: Some(1500),
            signal: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"op":"stop","timeout_ms":1500,"signal":null}"#
        );
        let back: Request = serde_json::from_str(r#"{"op":"kill","signal":9}"#).unwrap();
        assert_eq!(back, Request::Kill { signal: 9 });
    }

    #[test]
    fn frames_round_trip() {
        let mut buf = frame(2, b"oops");
        buf.extend(frame(1, b""));
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap(), Some((2, b"oops".to_vec())));
        assert_eq!(read_frame(&mut r).unwrap(), Some((1, vec![])));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }
}
