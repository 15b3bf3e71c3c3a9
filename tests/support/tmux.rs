//! Driving the real binary in a detached tmux session: `send-keys`, `capture-pane`.
//!
//! Each session runs on its own tmux server socket, killed in `Drop` (pass or fail), which
//! hangs up on everything still running in it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    /// The server's socket, in a temporary directory removed with the guard.
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Start `command` (a shell command line) in a `width` x `height` session. When it
    /// exits, the pane prints `EXIT=<code>` and stays open.
    pub fn start(width: u16, height: u16, env: &[(&str, &str)], command: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let t = Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        };
        let exports: String = env
            .iter()
            .map(|(k, v)| format!("export {k}='{v}'; "))
            .collect();
        let script = format!("{exports}{command}; echo EXIT=$?; sleep 600");
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &script,
        ]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Send keys as `tmux send-keys` names them (`Enter`, `C-c`, `Up`), or literal text.
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Type text literally.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Resize the window (the program gets SIGWINCH).
    pub fn resize(&self, width: u16, height: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    pub fn capture(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// With escape sequences for colours and attributes.
    pub fn capture_styled(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", "t"])
    }

    /// Whether the pane shows the alternate screen (a full-screen program is running).
    pub fn alternate_on(&self) -> bool {
        self.tmux(&["display-message", "-p", "-t", "t", "#{alternate_on}"])
            .trim()
            == "1"
    }

    pub fn pane_pid(&self) -> u32 {
        self.tmux(&["display-message", "-p", "-t", "t", "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid")
    }

    /// Wait until the screen satisfies `pred` (polling; generous timeout for a loaded
    /// machine). Panics with the last screen on timeout.
    pub fn wait_until(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("`{text}`"), |s| s.contains(text))
    }

    pub fn wait_gone(&self, text: &str) -> String {
        self.wait_until(&format!("`{text}` to go"), |s| !s.contains(text))
    }
}

impl Tmux {
    /// Pids of the processes the pane's shell started (the program under test, `sleep`).
    pub fn children(&self) -> Vec<u32> {
        let out = Command::new("pgrep")
            .args(["-P", &self.pane_pid().to_string()])
            .output()
            .expect("run pgrep");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Close the session as a closed terminal window would (its programs get SIGHUP).
    pub fn kill_server(&self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Whatever the test left running in the pane goes first, so a hung program under
        // test never outlives the test; then the server.
        if let Ok(out) = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["display-message", "-p", "-t", "t", "#{pane_pid}"])
            .output()
        {
            let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if !pid.is_empty() {
                let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
            }
        }
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}
