//! The services table: one entry per container, its latest stats and their history, its
//! details, the sort order and the selection (kept by name, so it survives re-sorting).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::tui::msg::{ContainerSnapshot, Details, StatsSample};

/// Samples kept for the sparklines (two minutes at Docker's one a second).
pub const HISTORY: usize = 120;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub snap: ContainerSnapshot,
    pub stats: Option<StatsSample>,
    /// CPU % and memory bytes, oldest first.
    pub history: VecDeque<(f64, u64)>,
    pub details: Option<Details>,
}

impl Entry {
    pub fn uptime(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        if !self.snap.state.is_up() {
            return None;
        }
        self.snap
            .started_at
            .map(|s| (now - s).max(chrono::Duration::zero()))
    }
}

/// Sortable columns, in table order (keys `1`..`9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    State,
    Health,
    Uptime,
    Restarts,
    Cpu,
    Mem,
    Ports,
    Image,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Name,
        Column::State,
        Column::Health,
        Column::Uptime,
        Column::Restarts,
        Column::Cpu,
        Column::Mem,
        Column::Ports,
        Column::Image,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Health => "HEALTH",
            Column::Uptime => "UP",
            Column::Restarts => "RST",
            Column::Cpu => "CPU",
            Column::Mem => "MEM / LIMIT",
            Column::Ports => "PORTS",
            Column::Image => "IMAGE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            column: Column::Name,
            descending: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Containers {
    entries: Vec<Entry>,
    pub sort: Sort,
    /// The selected container's name.
    pub selected: Option<String>,
}

impl Containers {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.snap.name == name)
    }
    fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.snap.name == name)
    }

    /// Insert or replace a container's snapshot. The first container becomes selected.
    pub fn upsert(&mut self, snap: ContainerSnapshot) {
        if let Some(e) = self.get_mut(&snap.name) {
            e.snap = snap;
        } else {
            if self.selected.is_none() {
                self.selected = Some(snap.name.clone());
            }
            self.entries.push(Entry {
                snap,
                stats: None,
                history: VecDeque::new(),
                details: None,
            });
        }
    }

    /// Remove a container; the selection moves to its neighbour in the current order.
    pub fn remove(&mut self, name: &str) {
        if self.selected.as_deref() == Some(name) {
            let order = self.sorted_names();
            let pos = order.iter().position(|n| n == name).unwrap_or(0);
            self.selected = order
                .get(pos + 1)
                .or_else(|| pos.checked_sub(1).and_then(|p| order.get(p)))
                .cloned();
        }
        self.entries.retain(|e| e.snap.name != name);
    }

    pub fn record_stats(&mut self, sample: StatsSample) {
        if let Some(e) = self.get_mut(&sample.container) {
            if e.history.len() == HISTORY {
                e.history.pop_front();
            }
            e.history.push_back((sample.cpu_percent, sample.mem_usage));
            e.stats = Some(sample);
        }
    }

    pub fn set_details(&mut self, details: Details) {
        if let Some(e) = self.get_mut(&details.container) {
            e.details = Some(details);
        }
    }

    /// Entries in display order.
    pub fn sorted(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().collect();
        let Sort { column, descending } = self.sort;
        v.sort_by(|a, b| {
            let o = compare(column, a, b).then_with(|| natural(&a.snap.name, &b.snap.name));
            if descending { o.reverse() } else { o }
        });
        v
    }

    pub fn sorted_names(&self) -> Vec<String> {
        self.sorted()
            .into_iter()
            .map(|e| e.snap.name.clone())
            .collect()
    }

    pub fn selected(&self) -> Option<&Entry> {
        self.selected.as_deref().and_then(|n| self.get(n))
    }

    /// Index of the selection in display order.
    pub fn selected_index(&self) -> Option<usize> {
        let sel = self.selected.as_deref()?;
        self.sorted().iter().position(|e| e.snap.name == sel)
    }

    /// Move the selection by `delta` rows (clamped).
    pub fn move_selection(&mut self, delta: isize) {
        let names = self.sorted_names();
        if names.is_empty() {
            return;
        }
        let cur = self.selected_index().unwrap_or(0) as isize;
        let next = (cur + delta).clamp(0, names.len() as isize - 1) as usize;
        self.selected = Some(names[next].clone());
    }

    pub fn select_index(&mut self, i: usize) {
        if let Some(n) = self.sorted_names().get(i) {
            self.selected = Some(n.clone());
        }
    }

    /// Sort by `column`; choosing the current column again flips the direction.
    pub fn sort_by(&mut self, column: Column) {
        if self.sort.column == column {
            self.sort.descending = !self.sort.descending;
        } else {
            // Numbers read best biggest-first.
            let descending = matches!(
                column,
                Column::Cpu | Column::Mem | Column::Restarts | Column::Uptime
            );
            self.sort = Sort { column, descending };
        }
    }

    /// Replicas of a service currently known.
    pub fn replicas(&self, service: &str) -> u32 {
        self.entries
            .iter()
            .filter(|e| e.snap.service == service)
            .count() as u32
    }
}

fn compare(column: Column, a: &Entry, b: &Entry) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let f = |x: Option<f64>, y: Option<f64>| x.unwrap_or(-1.0).total_cmp(&y.unwrap_or(-1.0));
    match column {
        Column::Name => Ordering::Equal,
        Column::State => a.snap.state.rank().cmp(&b.snap.state.rank()),
        Column::Health => health_rank(a).cmp(&health_rank(b)),
        Column::Uptime => {
            // Longest running = earliest start; not running sorts as shortest.
            let key = |e: &Entry| {
                e.snap
                    .state
                    .is_up()
                    .then_some(e.snap.started_at)
                    .flatten()
                    .map_or(i64::MIN, |t| -t.timestamp_millis())
            };
            key(a).cmp(&key(b))
        }
        Column::Restarts => a.snap.restart_count.cmp(&b.snap.restart_count),
        Column::Cpu => f(
            a.stats.as_ref().map(|s| s.cpu_percent),
            b.stats.as_ref().map(|s| s.cpu_percent),
        ),
        Column::Mem => {
            let m = |e: &Entry| e.stats.as_ref().map(|s| s.mem_usage);
            m(a).cmp(&m(b))
        }
        Column::Ports => first_port(a).cmp(&first_port(b)),
        Column::Image => a.snap.image.cmp(&b.snap.image),
    }
}

fn health_rank(e: &Entry) -> u8 {
    use crate::tui::msg::HealthStatus::*;
    match e.snap.health.as_ref().map(|h| h.status) {
        Some(Unhealthy) => 0,
        Some(Starting) => 1,
        Some(Healthy) => 2,
        None => 3,
    }
}

fn first_port(e: &Entry) -> Option<u16> {
    e.snap.ports.iter().filter_map(|p| p.host_port).min()
}

/// Name order where `web-10` follows `web-9`.
pub fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| -> (String, u64) {
        match s.rsplit_once('-') {
            Some((h, n)) if n.bytes().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                (h.to_owned(), n.parse().unwrap_or(0))
            }
            _ => (s.to_owned(), 0),
        }
    };
    split(a).cmp(&split(b))
}
