//! `/proc` readers: process start times (liveness without trusting pids), and the process
//! table rows `top` shows.

use std::path::Path;

/// Fields of `/proc/<pid>/stat` after the command name.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command is in parentheses and may contain spaces and ')'.
    let end = s.rfind(')')?;
    Some(s[end + 2..].split_whitespace().map(String::from).collect())
}

/// The process's start time in clock ticks since boot (field 22), if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// True if `pid` exists, is not a zombie, and started at `start` (so it is the same process).
pub fn is_alive(pid: i32, start: u64) -> bool {
    match stat_fields(pid) {
        Some(f) => {
            f.first().map(String::as_str) != Some("Z") && f.get(19) == Some(&start.to_string())
        }
        None => false,
    }
}

/// One row of `top` (Docker's `ps -ef` columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRow {
    pub uid: u32,
    pub user: String,
    pub pid: i32,
    pub ppid: i32,
    /// CPU utilisation, percent of the process lifetime (ps's `C`).
    pub c: u64,
    pub stime: String,
    pub tty: String,
    pub time: String,
    pub cmd: String,
}

fn clk_tck() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

fn boot_time() -> Option<i64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn uptime_secs() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.get(2)? == &uid.to_string()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

fn tty_name(nr: i64) -> String {
    if nr == 0 {
        return "?".into();
    }
    let major = (nr >> 8) & 0xfff;
    let minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// A `ps -ef` row for `pid`, as seen from the host (host pids, host user names), which is what
/// `docker top` prints.
pub fn process_row(pid: i32) -> Option<ProcessRow> {
    let f = stat_fields(pid)?;
    let ppid: i32 = f.get(1)?.parse().ok()?;
    let tty: i64 = f.get(4)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let start: u64 = f.get(19)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmd = if cmdline.is_empty() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        format!("[{}]", comm.trim())
    } else {
        cmdline
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let tck = clk_tck();
    let total = (utime + stime) / tck;
    let age = (uptime_secs() - start as f64 / tck as f64).max(0.0);
    let c = if age > 0.0 {
        (((utime + stime) as f64 / tck as f64) * 100.0 / age) as u64
    } else {
        0
    };
    let started = boot_time().unwrap_or(0) + (start / tck) as i64;
    let stime_s = chrono::DateTime::from_timestamp(started, 0)
        .map(|t| {
            let t = t.with_timezone(&chrono::Local);
            if chrono::Local::now().date_naive() == t.date_naive() {
                t.format("%H:%M").to_string()
            } else {
                t.format("%b%d").to_string()
            }
        })
        .unwrap_or_default();
    Some(ProcessRow {
        uid,
        user: user_name(uid),
        pid,
        ppid,
        c,
        stime: stime_s,
        tty: tty_name(tty),
        time: format!(
            "{:02}:{:02}:{:02}",
            total / 3600,
            total / 60 % 60,
            total % 60
        ),
        cmd,
    })
}

/// `/proc/<pid>/root`: the container's root as its processes see it (with its mounts).
pub fn root_of(pid: i32) -> std::path::PathBuf {
    Path::new("/proc").join(pid.to_string()).join("root")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id() as i32;
        let st = start_time(me).unwrap();
        assert!(is_alive(me, st));
        assert!(!is_alive(me, st + 1));
        assert!(process_row(me).is_some());
    }
}
