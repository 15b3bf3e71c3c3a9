//! The status line's state: engine work in progress and the last outcome.
//!
//! Errors stay until dismissed (`Esc`) or replaced; successes fade after a few seconds;
//! work in progress shows while it lasts. A recent history is kept for the events overlay.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use crate::tui::msg::{Progress, ProgressStatus};

/// How long a success stays on the status line.
pub const DONE_SHOWN_FOR: Duration = Duration::seconds(5);
const HISTORY: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Work in progress, oldest first.
    pub working: Vec<Progress>,
    /// The last outcome or message.
    pub note: Option<Note>,
    /// Past notes, oldest first.
    pub history: VecDeque<Note>,
}

impl Status {
    pub fn progress(&mut self, p: Progress, now: DateTime<Utc>) {
        self.working.retain(|w| w.id != p.id);
        match p.status {
            ProgressStatus::Working => self.working.push(p),
            ProgressStatus::Done => self.set(Level::Ok, describe(&p), now),
            ProgressStatus::Warning => self.set(Level::Warn, describe(&p), now),
            ProgressStatus::Error => self.set(Level::Error, describe(&p), now),
        }
    }

    pub fn set(&mut self, level: Level, text: impl Into<String>, now: DateTime<Utc>) {
        let note = Note {
            level,
            text: text.into(),
            at: now,
        };
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(note.clone());
        self.note = Some(note);
    }

    /// Drop faded successes.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        if let Some(n) = &self.note
            && matches!(n.level, Level::Ok | Level::Info)
            && now - n.at > DONE_SHOWN_FOR
        {
            self.note = None;
        }
    }

    pub fn dismiss(&mut self) -> bool {
        self.note.take().is_some()
    }
}

/// `Container myapp-web-1 Restarted`, `Image nginx Pulling 45%`, `... Error: reason`.
pub fn describe(p: &Progress) -> String {
    let mut s = format!("{} {}", p.id, p.text);
    if let Some(pct) = p.percent {
        s.push_str(&format!(" {pct}%"));
    }
    if let Some(d) = &p.detail {
        s.push_str(": ");
        s.push_str(d);
    }
    s
}
