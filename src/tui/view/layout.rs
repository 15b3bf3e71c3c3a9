//! Where each panel goes for a given terminal size. Pure, and shared with `update` (page
//! sizes, mouse hit tests) so the two always agree.
//!
//! ```text
//!  header                                   1 row
//!  ─ Services ──────────                    title rule + column header + rows (≤ 40%)
//!  ─ Logs ──────────────  │ ─ Details ──    the rest; details beside the logs when the
//!                         │                 terminal is wide, instead of them when not
//!  status line / prompt                     1 row
//!  footer (keys)                            1 row
//! ```

use ratatui::layout::{Constraint, Layout, Rect};

use crate::tui::model::Model;

/// Details go beside the logs from this width on.
pub const SIDE_BY_SIDE_MIN_WIDTH: u16 = 140;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The services panel, title rule included.
    pub table: Rect,
    pub logs: Option<Rect>,
    pub details: Option<Rect>,
    pub status: Rect,
    pub footer: Rect,
}

impl Areas {
    /// The logs' text rows (below the title rule).
    pub fn logs_body(&self) -> Option<Rect> {
        self.logs.map(body)
    }
    /// The table's data rows (below the title rule and the column header).
    pub fn table_body(&self) -> Rect {
        let b = body(self.table);
        Rect {
            y: b.y.saturating_add(1).min(b.bottom()),
            height: b.height.saturating_sub(1),
            ..b
        }
    }
}

/// An area minus its title rule.
pub fn body(r: Rect) -> Rect {
    Rect {
        y: r.y.saturating_add(1).min(r.bottom()),
        height: r.height.saturating_sub(1),
        ..r
    }
}

pub fn areas(model: &Model, area: Rect) -> Areas {
    let [header, middle, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    // Title rule + column header + one row per container, at most 40% of the middle, and
    // always room for the title, the header and one row.
    let rows = model.containers.len().max(1) as u16;
    let want = rows + 2;
    let cap = (middle.height * 2 / 5).max(3);
    let table_h = want.min(cap).min(middle.height);
    let [table, main] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Fill(1)]).areas(middle);

    let (logs, details) = if !model.details.open {
        (Some(main), None)
    } else if main.width >= SIDE_BY_SIDE_MIN_WIDTH {
        let [l, d] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(main);
        (Some(l), Some(d))
    } else {
        (None, Some(main))
    };

    Areas {
        header,
        table,
        logs,
        details,
        status,
        footer,
    }
}

/// Text columns a log line gets at `width` with the current prefix and timestamp settings.
pub fn log_prefix_width(model: &Model, vis: &[usize]) -> usize {
    let label = vis
        .iter()
        .map(|&i| model.logs.ring(i).label.chars().count())
        .max()
        .unwrap_or(0);
    let ts = if model.view.timestamps { 13 } else { 0 };
    label + 3 + ts
}

/// The logs window's height and text width, if the logs are on screen.
pub fn log_geometry(model: &Model, vis: &[usize]) -> Option<(usize, usize)> {
    let (w, h) = model.size;
    let body = areas(model, Rect::new(0, 0, w, h)).logs_body()?;
    let cols = (body.width as usize).saturating_sub(log_prefix_width(model, vis));
    Some((body.height as usize, cols.max(1)))
}
