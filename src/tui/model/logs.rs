//! The log store: one bounded ring per container, read as one stream merged in time order.
//!
//! Memory is bounded per container (lines and bytes), so a chatty service cannot push a
//! quiet one's lines out. Every line gets a unique, totally ordered [`LineKey`] (its time,
//! then its arrival number), so positions in the merged stream survive eviction and new
//! arrivals, and each ring is sorted by key, so any position is found by binary search and
//! the merge is walked lazily from there: a frame touches only the lines it shows.
//!
//! Lines are cleaned once on arrival ([`crate::tui::ansi::clean`]): rendering never
//! re-parses or re-measures them.

use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::tui::ansi::{self, StyledRange};
use crate::tui::msg::{LogLine, Stream};

/// A position in the merged stream: time (ns since the epoch), then arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineKey {
    pub ts: i64,
    pub seq: u64,
}

pub const FLAG_STDERR: u8 = 1;
pub const FLAG_MATCH: u8 = 2;
pub const FLAG_WIDE: u8 = 4;

/// One stored, cleaned line.
#[derive(Debug, Clone)]
pub struct StoredLine {
    pub key: LineKey,
    pub text: Box<str>,
    pub styles: Option<Box<[StyledRange]>>,
    /// Display width of `text` in cells.
    pub width: u32,
    pub flags: u8,
}

impl StoredLine {
    pub fn is_match(&self) -> bool {
        self.flags & FLAG_MATCH != 0
    }
    pub fn is_stderr(&self) -> bool {
        self.flags & FLAG_STDERR != 0
    }
    pub fn is_wide(&self) -> bool {
        self.flags & FLAG_WIDE != 0
    }
    fn cost(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.text.len()
            + self
                .styles
                .as_ref()
                .map_or(0, |s| std::mem::size_of_val(&**s))
    }
}

/// How much each container keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_lines: usize,
    /// Bytes of text plus per-line overhead.
    pub max_bytes: usize,
}

impl Default for Limits {
    /// 20,000 lines or 4 MiB per container, whichever comes first: hours of a normal
    /// service, a couple of seconds of one printing 10,000 lines a second. Everything is
    /// still in the shim's log file (`rcompose logs`).
    fn default() -> Self {
        Self {
            max_lines: 20_000,
            max_bytes: 4 << 20,
        }
    }
}

/// The lines of one container.
#[derive(Debug, Clone)]
pub struct Ring {
    /// Container name (`myapp-web-1`).
    pub name: String,
    pub service: String,
    /// The log prefix, as Compose prints it: `web-1`.
    pub label: String,
    /// Index into the prefix palette, in order of first appearance (as Compose).
    pub colour: usize,
    lines: VecDeque<StoredLine>,
    bytes: usize,
    matches: usize,
    /// Lines pushed out by the limits.
    pub evicted: u64,
    pub received: u64,
}

impl Ring {
    pub fn lines(&self) -> &VecDeque<StoredLine> {
        &self.lines
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }
    /// Lines with key `<= key`.
    fn count_le(&self, key: LineKey) -> usize {
        self.lines.partition_point(|l| l.key <= key)
    }
    /// Lines with key `< key`.
    fn count_lt(&self, key: LineKey) -> usize {
        self.lines.partition_point(|l| l.key < key)
    }
}

/// Which services' lines the merged view shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub hidden: BTreeSet<String>,
    /// When set, only this service is shown (hidden is then ignored).
    pub solo: Option<String>,
}

impl Filter {
    pub fn shows(&self, service: &str) -> bool {
        match &self.solo {
            Some(s) => s == service,
            None => !self.hidden.contains(service),
        }
    }
    pub fn is_all(&self) -> bool {
        self.solo.is_none() && self.hidden.is_empty()
    }
}

/// All log lines the dashboard holds.
#[derive(Debug, Clone, Default)]
pub struct LogStore {
    rings: Vec<Ring>,
    index: HashMap<String, usize>,
    next_seq: u64,
    pub limits: Limits,
    search: Option<Regex>,
}

/// The rings a view shows.
pub type Visible = Vec<usize>;

impl LogStore {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    pub fn rings(&self) -> &[Ring] {
        &self.rings
    }
    pub fn ring(&self, i: usize) -> &Ring {
        &self.rings[i]
    }
    pub fn ring_of(&self, container: &str) -> Option<usize> {
        self.index.get(container).copied()
    }

    /// The ring of a container, created on first sight.
    pub fn ensure_ring(&mut self, container: &str, service: &str) -> usize {
        if let Some(&i) = self.index.get(container) {
            return i;
        }
        let i = self.rings.len();
        self.rings.push(Ring {
            name: container.to_owned(),
            service: service.to_owned(),
            label: label(container, service),
            colour: i,
            lines: VecDeque::new(),
            bytes: 0,
            matches: 0,
            evicted: 0,
            received: 0,
        });
        self.index.insert(container.to_owned(), i);
        i
    }

    /// Append lines of one container (oldest first). Returns how many were added.
    pub fn push(&mut self, container: &str, service: &str, lines: &[LogLine]) -> usize {
        let r = self.ensure_ring(container, service);
        for line in lines {
            let seq = self.next_seq;
            self.next_seq += 1;
            let cleaned = ansi::clean(&line.text);
            let ring = &mut self.rings[r];
            // A ring stays sorted: a line stamped before its predecessor (clock step,
            // stderr/stdout race) is placed right after it.
            let ts = nanos(line.time).max(ring.lines.back().map_or(i64::MIN, |l| l.key.ts));
            let mut flags = 0;
            if line.stream == Stream::Stderr {
                flags |= FLAG_STDERR;
            }
            if cleaned.wide {
                flags |= FLAG_WIDE;
            }
            if self
                .search
                .as_ref()
                .is_some_and(|re| re.is_match(&cleaned.text))
            {
                flags |= FLAG_MATCH;
                ring.matches += 1;
            }
            let stored = StoredLine {
                key: LineKey { ts, seq },
                text: cleaned.text.into_boxed_str(),
                styles: (!cleaned.styles.is_empty()).then(|| cleaned.styles.into_boxed_slice()),
                width: cleaned.width as u32,
                flags,
            };
            ring.bytes += stored.cost();
            ring.received += 1;
            ring.lines.push_back(stored);
            while ring.lines.len() > 1
                && (ring.lines.len() > self.limits.max_lines || ring.bytes > self.limits.max_bytes)
            {
                let old = ring.lines.pop_front().expect("non-empty");
                ring.bytes -= old.cost();
                ring.evicted += 1;
                if old.is_match() {
                    ring.matches -= 1;
                }
            }
        }
        lines.len()
    }

    /// Set (or clear) the search; flags every stored line once.
    pub fn set_search(&mut self, re: Option<Regex>) {
        for ring in &mut self.rings {
            ring.matches = 0;
            for l in &mut ring.lines {
                let m = re.as_ref().is_some_and(|re| re.is_match(&l.text));
                if m {
                    l.flags |= FLAG_MATCH;
                    ring.matches += 1;
                } else {
                    l.flags &= !FLAG_MATCH;
                }
            }
        }
        self.search = re;
    }

    pub fn search(&self) -> Option<&Regex> {
        self.search.as_ref()
    }

    /// The rings the filter shows.
    pub fn visible(&self, filter: &Filter) -> Visible {
        (0..self.rings.len())
            .filter(|&i| filter.shows(&self.rings[i].service))
            .collect()
    }

    pub fn len(&self, vis: &[usize]) -> usize {
        vis.iter().map(|&i| self.rings[i].lines.len()).sum()
    }
    pub fn is_empty(&self, vis: &[usize]) -> bool {
        self.len(vis) == 0
    }
    pub fn matches(&self, vis: &[usize]) -> usize {
        vis.iter().map(|&i| self.rings[i].matches).sum()
    }
    /// Bytes held by all rings.
    pub fn bytes(&self) -> usize {
        self.rings.iter().map(|r| r.bytes).sum()
    }

    /// Lines with key `<= key`: the 1-based position of `key` in the merged stream.
    pub fn count_le(&self, vis: &[usize], key: LineKey) -> usize {
        vis.iter().map(|&i| self.rings[i].count_le(key)).sum()
    }
    /// Lines after `key`.
    pub fn count_gt(&self, vis: &[usize], key: LineKey) -> usize {
        self.len(vis) - self.count_le(vis, key)
    }
    /// Matching lines with key `<= key`.
    pub fn matches_le(&self, vis: &[usize], key: LineKey) -> usize {
        vis.iter()
            .map(|&i| {
                let ring = &self.rings[i];
                let n = ring.count_le(key);
                ring.lines.range(..n).filter(|l| l.is_match()).count()
            })
            .sum()
    }

    pub fn first_key(&self, vis: &[usize]) -> Option<LineKey> {
        vis.iter()
            .filter_map(|&i| self.rings[i].lines.front().map(|l| l.key))
            .min()
    }
    pub fn last_key(&self, vis: &[usize]) -> Option<LineKey> {
        vis.iter()
            .filter_map(|&i| self.rings[i].lines.back().map(|l| l.key))
            .max()
    }

    /// The merged stream from `key` (inclusive; `None` = the newest line) going back in time.
    pub fn backward(&self, vis: &[usize], key: Option<LineKey>) -> Backward<'_> {
        let heads = vis
            .iter()
            .map(|&i| {
                let ring = &self.rings[i];
                (i, key.map_or(ring.lines.len(), |k| ring.count_le(k)))
            })
            .collect();
        Backward { store: self, heads }
    }

    /// The merged stream strictly after `key` (which may have been evicted).
    pub fn after(&self, vis: &[usize], key: LineKey) -> Forward<'_> {
        let heads = vis
            .iter()
            .map(|&i| (i, self.rings[i].count_le(key)))
            .collect();
        Forward { store: self, heads }
    }

    /// The merged stream strictly before `key`, going back in time.
    pub fn before(&self, vis: &[usize], key: LineKey) -> Backward<'_> {
        let heads = vis
            .iter()
            .map(|&i| (i, self.rings[i].count_lt(key)))
            .collect();
        Backward { store: self, heads }
    }

    /// The merged stream from `key` (inclusive; `None` = the oldest line) going forward.
    pub fn forward(&self, vis: &[usize], key: Option<LineKey>) -> Forward<'_> {
        let heads = vis
            .iter()
            .map(|&i| (i, key.map_or(0, |k| self.rings[i].count_lt(k))))
            .collect();
        Forward { store: self, heads }
    }
}

/// A line of the merged stream: its ring and the line.
pub type Item<'a> = (usize, &'a StoredLine);

/// Newest-first walk over the merged stream.
pub struct Backward<'a> {
    store: &'a LogStore,
    /// (ring, number of lines of that ring not yet returned).
    heads: Vec<(usize, usize)>,
}

impl<'a> Iterator for Backward<'a> {
    type Item = Item<'a>;
    fn next(&mut self) -> Option<Item<'a>> {
        let rings = &self.store.rings;
        let best = self
            .heads
            .iter_mut()
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(r, n)| rings[*r].lines[*n - 1].key)?;
        best.1 -= 1;
        Some((best.0, &rings[best.0].lines[best.1]))
    }
}

/// Oldest-first walk over the merged stream.
pub struct Forward<'a> {
    store: &'a LogStore,
    /// (ring, index of the next line of that ring).
    heads: Vec<(usize, usize)>,
}

impl<'a> Iterator for Forward<'a> {
    type Item = Item<'a>;
    fn next(&mut self) -> Option<Item<'a>> {
        let rings = &self.store.rings;
        let best = self
            .heads
            .iter_mut()
            .filter(|(r, n)| *n < rings[*r].lines.len())
            .min_by_key(|(r, n)| rings[*r].lines[*n].key)?;
        best.1 += 1;
        Some((best.0, &rings[best.0].lines[best.1 - 1]))
    }
}

/// Compose's log prefix: `web-1` for container `myapp-web-1` of service `web`.
pub fn label(container: &str, service: &str) -> String {
    match container.rsplit_once('-') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            if head.ends_with(service) {
                format!("{service}-{n}")
            } else {
                container.to_owned()
            }
        }
        _ => container.to_owned(),
    }
}

pub fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

pub fn from_nanos(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }
    fn line(s: i64, text: &str) -> LogLine {
        LogLine {
            time: at(s),
            stream: Stream::Stdout,
            text: text.into(),
        }
    }
    fn texts<'a>(it: impl Iterator<Item = Item<'a>>) -> Vec<&'a str> {
        it.map(|(_, l)| &*l.text).collect()
    }

    fn two() -> LogStore {
        let mut s = LogStore::new(Limits::default());
        s.push(
            "p-web-1",
            "web",
            &[line(1, "w1"), line(3, "w3"), line(5, "w5")],
        );
        s.push("p-db-1", "db", &[line(2, "d2"), line(4, "d4")]);
        s
    }

    #[test]
    fn merged_stream_is_in_time_order_both_ways() {
        let s = two();
        let vis = s.visible(&Filter::default());
        assert_eq!(texts(s.forward(&vis, None)), ["w1", "d2", "w3", "d4", "w5"]);
        assert_eq!(
            texts(s.backward(&vis, None)),
            ["w5", "d4", "w3", "d2", "w1"]
        );
    }

    #[test]
    fn walks_start_at_a_key_inclusively() {
        let s = two();
        let vis = s.visible(&Filter::default());
        let k = s.forward(&vis, None).nth(2).unwrap().1.key; // w3
        assert_eq!(texts(s.forward(&vis, Some(k))), ["w3", "d4", "w5"]);
        assert_eq!(texts(s.backward(&vis, Some(k))), ["w3", "d2", "w1"]);
        assert_eq!(s.count_le(&vis, k), 3);
        assert_eq!(s.count_gt(&vis, k), 2);
    }

    #[test]
    fn after_and_before_exclude_the_key_even_once_it_was_evicted() {
        let mut s = LogStore::new(Limits {
            max_lines: 3,
            max_bytes: usize::MAX,
        });
        s.push(
            "p-web-1",
            "web",
            &[line(1, "a"), line(2, "b"), line(3, "c")],
        );
        let vis = s.visible(&Filter::default());
        let b = s.forward(&vis, None).nth(1).unwrap().1.key;
        assert_eq!(texts(s.after(&vis, b)), ["c"]);
        assert_eq!(texts(s.before(&vis, b)), ["a"]);
        s.push("p-web-1", "web", &[line(4, "d"), line(5, "e")]); // evicts a, b
        assert_eq!(texts(s.after(&vis, b)), ["c", "d", "e"]);
        assert_eq!(texts(s.before(&vis, b)), Vec::<&str>::new());
    }

    #[test]
    fn filter_hides_and_solos_services() {
        let s = two();
        let mut f = Filter::default();
        f.hidden.insert("db".into());
        assert_eq!(texts(s.forward(&s.visible(&f), None)), ["w1", "w3", "w5"]);
        f.solo = Some("db".into());
        assert_eq!(texts(s.forward(&s.visible(&f), None)), ["d2", "d4"]);
    }

    #[test]
    fn each_ring_is_bounded_and_a_chatty_container_keeps_a_quiet_ones_lines() {
        let mut s = LogStore::new(Limits {
            max_lines: 100,
            max_bytes: usize::MAX,
        });
        s.push("p-db-1", "db", &[line(0, "ready")]);
        for i in 0..10_000 {
            s.push("p-web-1", "web", &[line(i, "GET / 200")]);
        }
        let web = s.ring(s.ring_of("p-web-1").unwrap());
        assert_eq!(web.lines().len(), 100);
        assert_eq!(web.evicted, 9_900);
        assert_eq!(s.ring(s.ring_of("p-db-1").unwrap()).lines().len(), 1);
    }

    #[test]
    fn byte_limit_bounds_memory_with_long_lines() {
        let mut s = LogStore::new(Limits {
            max_lines: usize::MAX,
            max_bytes: 64 * 1024,
        });
        let long = "x".repeat(1000);
        for i in 0..1000 {
            s.push("p-web-1", "web", &[line(i, &long)]);
        }
        assert!(s.bytes() <= 64 * 1024);
        assert!(s.ring(0).lines().len() > 50);
    }

    #[test]
    fn out_of_order_lines_of_one_container_keep_the_ring_sorted() {
        let mut s = LogStore::new(Limits::default());
        s.push("p-web-1", "web", &[line(5, "a"), line(3, "b")]);
        let vis = s.visible(&Filter::default());
        assert_eq!(texts(s.forward(&vis, None)), ["a", "b"]);
    }

    #[test]
    fn search_flags_old_and_new_lines_and_counts_survive_eviction() {
        let mut s = LogStore::new(Limits {
            max_lines: 3,
            max_bytes: usize::MAX,
        });
        s.push("p-web-1", "web", &[line(1, "error 1"), line(2, "ok")]);
        s.set_search(Some(Regex::new("error").unwrap()));
        let vis = s.visible(&Filter::default());
        assert_eq!(s.matches(&vis), 1);
        s.push("p-web-1", "web", &[line(3, "error 2")]);
        assert_eq!(s.matches(&vis), 2);
        s.push("p-web-1", "web", &[line(4, "ok")]); // evicts "error 1"
        assert_eq!(s.matches(&vis), 1);
        s.set_search(None);
        assert_eq!(s.matches(&vis), 0);
    }

    #[test]
    fn labels_follow_compose() {
        assert_eq!(label("myapp-web-1", "web"), "web-1");
        assert_eq!(label("my-app-api-gw-12", "api-gw"), "api-gw-12");
        assert_eq!(label("custom_name", "web"), "custom_name");
    }
}
