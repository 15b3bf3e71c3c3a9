//! Container logs: the file format, size rotation, and readers (tail, since/until, follow).
//!
//! # Format
//! One JSON object per line, Docker's `json-file` shape:
//! `{"log":"hello\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}`.
//! `log` is one line of output including its `\n`; a line longer than 16 KiB is split into
//! several records, all but the last without `\n` (Docker's partial messages); output that
//! ends without a newline yields a last record without `\n`. Invalid UTF-8 is replaced
//! (U+FFFD). With a tty, everything is `stdout` and lines keep their `\r`.
//!
//! # Rotation
//! The shim writes `container.log`; when a record would take it past `max-size` it renames
//! `container.log.(N-1)` → `.N` ... `container.log` → `container.log.1` and starts a new
//! file, keeping `max-file` files in all (default 20 MB × 5, Docker's `local` driver).
//! `max-file: 1` truncates instead. Readers never see a torn record: each record is one
//! `write(2)` to a file opened `O_APPEND`.
//!
//! # Reading
//! [`read`] returns the records of all files, oldest first, filtered by
//! [`ReadOptions`] (`since`/`until` on the record time, then `tail`). [`Follower`] continues
//! from the end, across rotations, without blocking: call [`Follower::poll`] periodically.
//! [`merge`] interleaves several containers' records by time (stable).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Docker splits lines longer than this into partial records.
pub const MAX_RECORD: usize = 16 * 1024;
/// Docker's `local` driver defaults.
pub const DEFAULT_MAX_SIZE: u64 = 20 * 1024 * 1024;
pub const DEFAULT_MAX_FILE: u32 = 5;

#[derive(Debug, Error)]
pub enum LogError {
    #[error("invalid log option `{key}={value}`: {why}")]
    BadOption {
        key: String,
        value: String,
        why: String,
    },
    #[error("unsupported logging driver `{0}` (rcompose supports json-file, local and none)")]
    UnsupportedDriver(String),
    #[error("invalid time `{0}`: expected RFC 3339, a Unix timestamp, or a duration like `10m`")]
    BadTime(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub time: DateTime<Utc>,
    pub stream: Stream,
    /// The text, including its trailing `\n` unless partial.
    pub line: String,
}

impl LogEntry {
    pub fn is_partial(&self) -> bool {
        !self.line.ends_with('\n')
    }
}

#[derive(Serialize, Deserialize)]
struct Record<'a> {
    log: std::borrow::Cow<'a, str>,
    stream: Stream,
    time: DateTime<Utc>,
}

/// Encode one record as a JSON line (with its `\n`).
pub fn encode(stream: Stream, data: &[u8], time: DateTime<Utc>) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    // Hand-built so the time keeps Docker's fixed nanosecond precision.
    let mut out = Vec::with_capacity(data.len() + 80);
    out.extend_from_slice(b"{\"log\":");
    out.extend_from_slice(serde_json::to_string(&text).unwrap_or_default().as_bytes());
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes());
    out.extend_from_slice(b"\"}\n");
    out
}

/// Decode one JSON line; `None` for a torn or foreign line.
pub fn decode(line: &[u8]) -> Option<LogEntry> {
    let r: Record = serde_json::from_slice(line).ok()?;
    Some(LogEntry {
        time: r.time,
        stream: r.stream,
        line: r.log.into_owned(),
    })
}

/// Rotation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// `None`: never rotate.
    pub max_size: Option<u64>,
    pub max_file: u32,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_size: Some(DEFAULT_MAX_SIZE),
            max_file: DEFAULT_MAX_FILE,
        }
    }
}

/// `20m`, `1g`, `512k`, `100` (bytes); `-1` unlimited.
pub fn parse_size(s: &str) -> Option<Option<u64>> {
    let t = s.trim().to_lowercase();
    if t == "-1" {
        return Some(None);
    }
    let (num, mult) = match t.trim_end_matches('b').chars().last()? {
        'k' => (&t[..t.trim_end_matches('b').len() - 1], 1024u64),
        'm' => (&t[..t.trim_end_matches('b').len() - 1], 1024 * 1024),
        'g' => (&t[..t.trim_end_matches('b').len() - 1], 1024 * 1024 * 1024),
        _ => (t.trim_end_matches('b'), 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    if n < 0.0 {
        return None;
    }
    Some(Some((n * mult as f64) as u64))
}

impl LogOptions {
    /// From a container's `logging:` (driver and options). `Ok(None)`: driver `none`.
    pub fn from_config(
        driver: &str,
        options: &indexmap::IndexMap<String, String>,
    ) -> Result<Option<LogOptions>, LogError> {
        match driver {
            "" | "json-file" | "local" => {}
            "none" => return Ok(None),
            other => return Err(LogError::UnsupportedDriver(other.into())),
        }
        let mut o = LogOptions::default();
        for (k, v) in options {
            let bad = |why: &str| LogError::BadOption {
                key: k.clone(),
                value: v.clone(),
                why: why.into(),
            };
            match k.as_str() {
                "max-size" => {
                    o.max_size = parse_size(v).ok_or_else(|| bad("expected a size like `20m`"))?
                }
                "max-file" => {
                    o.max_file = v
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| bad("expected a number of files, at least 1"))?
                }
                // Accepted and ignored as harmless for our format.
                "compress" | "mode" | "max-buffer-size" | "labels" | "labels-regex" | "env"
                | "env-regex" | "tag" => {}
                _ => return Err(bad("unknown option for this driver")),
            }
        }
        Ok(Some(o))
    }
}

/// The writer the shim uses: appends records, rotates by size.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    size: u64,
    opts: LogOptions,
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// The file holding generation `n` (0 = current).
pub fn generation(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        path.to_path_buf()
    } else {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }
}

impl LogWriter {
    pub fn open(path: &Path, opts: LogOptions) -> std::io::Result<LogWriter> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            size,
            opts,
        })
    }

    /// Append one record (the caller splits lines; see [`LineSplitter`]).
    pub fn write(
        &mut self,
        stream: Stream,
        data: &[u8],
        time: DateTime<Utc>,
    ) -> std::io::Result<()> {
        let rec = encode(stream, data, time);
        if let Some(max) = self.opts.max_size
            && self.size > 0
            && self.size + rec.len() as u64 > max
        {
            self.rotate()?;
        }
        self.file.write_all(&rec)?;
        self.size += rec.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.opts.max_file <= 1 {
            self.file.set_len(0)?;
            self.file.seek(SeekFrom::Start(0))?;
            self.size = 0;
            return Ok(());
        }
        let last = self.opts.max_file - 1;
        let _ = std::fs::remove_file(generation(&self.path, last));
        for n in (1..last).rev() {
            let from = generation(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, generation(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, generation(&self.path, 1))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// Splits a stream's bytes into records: complete lines, 16 KiB partials, and a final
/// partial at end of stream.
#[derive(Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Feed bytes; returns the complete records now available.
    pub fn push(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            match self.buf.iter().position(|b| *b == b'\n') {
                Some(i) if i < MAX_RECORD => {
                    let rest = self.buf.split_off(i + 1);
                    out.push(std::mem::replace(&mut self.buf, rest));
                }
                _ if self.buf.len() >= MAX_RECORD => {
                    let rest = self.buf.split_off(MAX_RECORD);
                    out.push(std::mem::replace(&mut self.buf, rest));
                }
                _ => break,
            }
        }
        out
    }

    /// End of stream: whatever is left, as one partial record.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf))
    }
}

/// Filters for [`read`] and [`Follower`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Only the last `n` records (after since/until).
    pub tail: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl ReadOptions {
    fn keep(&self, e: &LogEntry) -> bool {
        self.since.is_none_or(|s| e.time >= s) && self.until.is_none_or(|u| e.time <= u)
    }
}

fn read_file(path: &Path, opts: &ReadOptions, out: &mut Vec<LogEntry>) -> std::io::Result<()> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for line in BufReader::new(f).split(b'\n') {
        if let Some(e) = decode(&line?)
            && opts.keep(&e)
        {
            out.push(e);
        }
    }
    Ok(())
}

/// All files of a log, oldest first.
pub fn files(path: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut n = 1;
    while generation(path, n).exists() {
        v.push(generation(path, n));
        n += 1;
    }
    v.reverse();
    v.push(path.to_path_buf());
    v
}

/// Read the last `n` records of one file cheaply, from its end.
fn tail_file(path: &Path, n: usize, opts: &ReadOptions) -> std::io::Result<Vec<LogEntry>> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let mut pos = len;
    let mut carry: Vec<u8> = Vec::new();
    let mut out: Vec<LogEntry> = Vec::new();
    const CHUNK: u64 = 64 * 1024;
    while pos > 0 && out.len() < n {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0u8; (pos - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf)?;
        buf.extend_from_slice(&carry);
        pos = start;
        // Keep the first (possibly cut) line for the next round unless at the start.
        let mut lines: Vec<&[u8]> = buf.split(|b| *b == b'\n').collect();
        carry = if pos > 0 {
            lines.remove(0).to_vec()
        } else {
            Vec::new()
        };
        for l in lines.iter().rev() {
            if let Some(e) = decode(l)
                && opts.keep(&e)
            {
                out.push(e);
                if out.len() >= n {
                    break;
                }
            }
        }
    }
    out.reverse();
    Ok(out)
}

/// Read a container's log (all rotated files), filtered.
pub fn read(path: &Path, opts: &ReadOptions) -> std::io::Result<Vec<LogEntry>> {
    if let Some(n) = opts.tail {
        let mut acc: Vec<LogEntry> = Vec::new();
        for f in files(path).iter().rev() {
            let need = n - acc.len();
            if need == 0 {
                break;
            }
            let mut part = tail_file(f, need, opts)?;
            part.append(&mut acc);
            acc = part;
        }
        return Ok(acc);
    }
    let mut out = Vec::new();
    for f in files(path) {
        read_file(&f, opts, &mut out)?;
    }
    Ok(out)
}

/// Continues reading a log as it grows and rotates. Non-blocking: [`Follower::poll`]
/// returns what was written since the last call.
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    ino: u64,
    offset: u64,
    pending: Vec<u8>,
    until: Option<DateTime<Utc>>,
}

impl Follower {
    /// Start at the current end of the log (after reading the initial records with
    /// [`read`]).
    pub fn from_end(path: &Path, opts: &ReadOptions) -> std::io::Result<Follower> {
        let mut f = Follower {
            path: path.to_path_buf(),
            file: None,
            ino: 0,
            offset: 0,
            pending: Vec::new(),
            until: opts.until,
        };
        if let Ok(file) = File::open(path) {
            let md = file.metadata()?;
            f.ino = md.ino();
            f.offset = md.len();
            f.file = Some(file);
        }
        Ok(f)
    }

    /// Read the records from the initial position (filtered, tailed) and a follower that
    /// continues right after them.
    pub fn open(path: &Path, opts: &ReadOptions) -> std::io::Result<(Vec<LogEntry>, Follower)> {
        let follower = Follower::from_end(path, opts)?;
        // Read up to the follower's snapshot only.
        let mut initial = read(path, opts)?;
        // Records written between `from_end` and `read` would be duplicated; drop any that
        // lie beyond the snapshot offset by re-reading the current file's prefix length.
        let snapshot = follower.offset;
        if let Ok(md) = std::fs::metadata(path)
            && md.ino() == follower.ino
            && md.len() > snapshot
        {
            let extra = count_records(path, snapshot)?;
            let keep = initial.len().saturating_sub(extra);
            initial.truncate(keep);
        }
        Ok((initial, follower))
    }

    fn read_new(&mut self, out: &mut Vec<LogEntry>) -> std::io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.pending.extend_from_slice(&buf);
        while let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
            let rest = self.pending.split_off(i + 1);
            let line = std::mem::replace(&mut self.pending, rest);
            if let Some(e) = decode(&line[..line.len() - 1])
                && self.until.is_none_or(|u| e.time <= u)
            {
                out.push(e);
            }
        }
        Ok(())
    }

    /// New records since the last call, across rotations.
    pub fn poll(&mut self) -> std::io::Result<Vec<LogEntry>> {
        let mut out = Vec::new();
        self.read_new(&mut out)?;
        let current = std::fs::metadata(&self.path).ok().map(|m| m.ino());
        if current.is_some() && current != Some(self.ino) {
            // Rotated (possibly several times): find where our file went, read the newer
            // generations in order, then switch to the current file.
            let mut gens = Vec::new();
            let mut n = 1;
            while generation(&self.path, n).exists() {
                let ino = std::fs::metadata(generation(&self.path, n))
                    .map(|m| m.ino())
                    .unwrap_or(0);
                if ino == self.ino {
                    break;
                }
                gens.push(generation(&self.path, n));
                n += 1;
            }
            if self.file.is_none() {
                gens.clear();
            }
            for g in gens.iter().rev() {
                read_file(
                    g,
                    &ReadOptions {
                        until: self.until,
                        ..Default::default()
                    },
                    &mut out,
                )?;
            }
            self.file = File::open(&self.path).ok();
            self.ino = current.unwrap_or(0);
            self.offset = 0;
            self.pending.clear();
            self.read_new(&mut out)?;
        }
        Ok(out)
    }
}

fn count_records(path: &Path, from: u64) -> std::io::Result<usize> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    Ok(buf.iter().filter(|b| **b == b'\n').count())
}

/// Interleave several logs by time; ties keep input order. Each input must be sorted.
pub fn merge<K: Clone>(inputs: Vec<(K, Vec<LogEntry>)>) -> Vec<(K, LogEntry)> {
    let mut iters: Vec<(K, std::iter::Peekable<std::vec::IntoIter<LogEntry>>)> = inputs
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().peekable()))
        .collect();
    let mut out = Vec::new();
    loop {
        let mut pick: Option<(usize, DateTime<Utc>)> = None;
        for (i, (_, it)) in iters.iter_mut().enumerate() {
            if let Some(e) = it.peek()
                && pick.is_none_or(|(_, t)| e.time < t)
            {
                pick = Some((i, e.time));
            }
        }
        let Some((i, _)) = pick else { return out };
        let (k, it) = &mut iters[i];
        if let Some(e) = it.next() {
            out.push((k.clone(), e));
        }
    }
}

/// Parse Docker's `--since`/`--until`: RFC 3339 (`2024-01-02T13:23:37Z`), a Unix time
/// (`1700000000`, `1700000000.5`), or a duration before `now` (`10m`, `1h30m`, `45s`).
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, LogError> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Ok(d.and_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(f) = t.parse::<f64>() {
        let secs = f.trunc() as i64;
        let nanos = ((f - f.trunc()) * 1e9) as u32;
        return DateTime::from_timestamp(secs, nanos).ok_or_else(|| LogError::BadTime(s.into()));
    }
    // Durations: sequences of <number><unit>.
    let mut total = chrono::Duration::zero();
    let mut num = String::new();
    let mut any = false;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push('s');
            chars.next();
        }
        let n: f64 = num.parse().map_err(|_| LogError::BadTime(s.into()))?;
        num.clear();
        let ms = match unit.as_str() {
            "h" => n * 3_600_000.0,
            "m" => n * 60_000.0,
            "s" => n * 1000.0,
            "ms" => n,
            _ => return Err(LogError::BadTime(s.into())),
        };
        total += chrono::Duration::milliseconds(ms as i64);
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(LogError::BadTime(s.into()));
    }
    Ok(now - total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn records_are_docker_json_file_lines() {
        let r = encode(Stream::Stderr, b"h\xffi\n", t(0));
        let s = String::from_utf8(r.clone()).unwrap();
        assert_eq!(
            s,
            "{\"log\":\"h\u{fffd}i\\n\",\"stream\":\"stderr\",\"time\":\"2023-11-14T22:13:20.000000000Z\"}\n"
        );
        let e = decode(&r[..r.len() - 1]).unwrap();
        assert_eq!(
            (e.stream, e.line.as_str()),
            (Stream::Stderr, "h\u{fffd}i\n")
        );
    }

    #[test]
    fn splitter_makes_lines_and_16k_partials() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\nb"), vec![b"a\n".to_vec()]);
        assert_eq!(s.push(b"c\n\n"), vec![b"bc\n".to_vec(), b"\n".to_vec()]);
        let big = vec![b'x'; MAX_RECORD + 10];
        let out = s.push(&big);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_RECORD);
        assert_eq!(s.finish(), Some(vec![b'x'; 10]));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("20m"), Some(Some(20 << 20)));
        assert_eq!(parse_size("1k"), Some(Some(1024)));
        assert_eq!(parse_size("10"), Some(Some(10)));
        assert_eq!(parse_size("-1"), Some(None));
        assert_eq!(parse_size("x"), None);
        let mut o = indexmap::IndexMap::new();
        o.insert("max-size".to_string(), "1k".to_string());
        o.insert("max-file".to_string(), "3".to_string());
        assert_eq!(
            LogOptions::from_config("local", &o).unwrap(),
            Some(LogOptions {
                max_size: Some(1024),
                max_file: 3
            })
        );
        assert!(LogOptions::from_config("syslog", &o).is_err());
        o.insert("max-file".to_string(), "0".to_string());
        assert!(LogOptions::from_config("json-file", &o).is_err());
        assert_eq!(
            LogOptions::from_config("none", &Default::default()).unwrap(),
            None
        );
    }

    fn write_n(w: &mut LogWriter, from: usize, n: usize) {
        for i in from..from + n {
            w.write(
                Stream::Stdout,
                format!("line {i:04}\n").as_bytes(),
                t(i as i64),
            )
            .unwrap();
        }
    }

    #[test]
    fn rotation_keeps_max_file_files_and_readers_see_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.log");
        let opts = LogOptions {
            max_size: Some(1000),
            max_file: 3,
        };
        let mut w = LogWriter::open(&p, opts).unwrap();
        write_n(&mut w, 0, 100);
        assert!(p.exists() && generation(&p, 1).exists() && generation(&p, 2).exists());
        assert!(!generation(&p, 3).exists());
        for f in files(&p) {
            assert!(std::fs::metadata(&f).unwrap().len() <= 1000);
        }
        let all = read(&p, &ReadOptions::default()).unwrap();
        assert!(all.len() < 100 && all.len() > 20);
        assert_eq!(all.last().unwrap().line, "line 0099\n");
        let nums: Vec<usize> = all.iter().map(|e| e.line[5..9].parse().unwrap()).collect();
        assert!(
            nums.windows(2).all(|w| w[1] == w[0] + 1),
            "contiguous and ordered"
        );
        let tail = read(
            &p,
            &ReadOptions {
                tail: Some(20),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            tail,
            all[all.len() - 20..].to_vec(),
            "tail spans rotated files"
        );
        let window = read(
            &p,
            &ReadOptions {
                since: Some(t(90)),
                until: Some(t(92)),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(window.len(), 3);
    }

    #[test]
    fn max_file_one_truncates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.log");
        let mut w = LogWriter::open(
            &p,
            LogOptions {
                max_size: Some(200),
                max_file: 1,
            },
        )
        .unwrap();
        write_n(&mut w, 0, 50);
        assert!(!generation(&p, 1).exists());
        assert!(std::fs::metadata(&p).unwrap().len() <= 200);
    }

    #[test]
    fn follower_continues_across_rotations() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.log");
        let mut w = LogWriter::open(
            &p,
            LogOptions {
                max_size: Some(500),
                max_file: 20,
            },
        )
        .unwrap();
        write_n(&mut w, 0, 3);
        let (initial, mut f) = Follower::open(
            &p,
            &ReadOptions {
                tail: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(initial.len(), 2);
        assert_eq!(initial[1].line, "line 0002\n");
        assert!(f.poll().unwrap().is_empty());
        write_n(&mut w, 3, 40); // several rotations between polls
        let got = f.poll().unwrap();
        let nums: Vec<usize> = got.iter().map(|e| e.line[5..9].parse().unwrap()).collect();
        assert_eq!(nums, (3..43).collect::<Vec<_>>());
        write_n(&mut w, 43, 1);
        assert_eq!(f.poll().unwrap().len(), 1);
    }

    #[test]
    fn merge_orders_by_time_stably() {
        let e = |s: i64, l: &str| LogEntry {
            time: t(s),
            stream: Stream::Stdout,
            line: l.into(),
        };
        let m = merge(vec![
            ("a", vec![e(1, "a1"), e(3, "a3")]),
            ("b", vec![e(1, "b1"), e(2, "b2")]),
        ]);
        let order: Vec<&str> = m.iter().map(|(_, e)| e.line.as_str()).collect();
        assert_eq!(order, vec!["a1", "b1", "b2", "a3"]);
    }

    #[test]
    fn docker_time_specs_parse() {
        let now = t(1000);
        assert_eq!(parse_time("10s", now).unwrap(), t(990));
        assert_eq!(parse_time("1m30s", now).unwrap(), t(910));
        assert_eq!(parse_time("1700000005", now).unwrap(), t(5));
        assert_eq!(parse_time("2023-11-14T22:13:20Z", now).unwrap(), t(0));
        assert!(parse_time("soon", now).is_err());
    }
}
