//! The services table: one row per container.
//!
//! Columns are chosen by priority to fit the width (name, state, health, CPU and memory
//! first; ports, uptime, restarts, image as room allows), so 80 columns still show what
//! matters and a wide terminal shows everything.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::UnicodeWidthStr;

use crate::tui::format;
use crate::tui::model::{Column, Entry, Focus, Model};
use crate::tui::view::{ellipsize, panel, put, title};

const PRIORITY: [Column; 9] = [
    Column::Name,
    Column::State,
    Column::Health,
    Column::Cpu,
    Column::Mem,
    Column::Ports,
    Column::Uptime,
    Column::Restarts,
    Column::Image,
];
const SPACING: u16 = 2;

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let focused = model.focus == Focus::Services;
    let n = model.containers.len();
    let sort = model.containers.sort;
    let mut ttl = vec![
        title(t, "Services", focused),
        Span::styled(format!(" {n}"), t.dim()),
    ];
    // Rows that do not fit: say so in the title (the selection scrolls the table).
    let body_h = area.height.saturating_sub(2) as usize;
    let first = offset(model, body_h);
    let below = n.saturating_sub(first + body_h);
    if first > 0 {
        ttl.push(Span::styled(format!(" ↑{first}"), t.warn()));
    }
    if below > 0 && body_h > 0 {
        ttl.push(Span::styled(format!(" ↓{below}"), t.warn()));
    }
    let inner = panel(t, ttl, focused, false, area, buf);
    if inner.height == 0 {
        return;
    }
    let cols = columns(model, inner.width);
    // Column header.
    let mut x = inner.x;
    for &(c, w) in &cols {
        let mut s = c.title().to_owned();
        if c == sort.column {
            s.push(if sort.descending { '▼' } else { '▲' });
        }
        put(buf, x, inner.y, &s, w as usize, t.table_header());
        x += w + SPACING;
    }
    let body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    let rows = model.containers.sorted();
    if rows.is_empty() {
        if body.height > 0 {
            put(
                buf,
                body.x,
                body.y,
                "No containers yet",
                body.width as usize,
                t.dim(),
            );
        }
        return;
    }
    let sel = model.containers.selected_index();
    let offset = offset(model, body.height as usize);
    for (i, e) in rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(body.height as usize)
    {
        let y = body.y + (i - offset) as u16;
        let selected = Some(i) == sel;
        if selected {
            buf.set_style(
                Rect {
                    y,
                    height: 1,
                    ..body
                },
                t.selected_row(focused),
            );
        }
        let mut x = body.x;
        for &(c, w) in &cols {
            let (text, style) = cell(model, e, c);
            put(buf, x, y, &ellipsize(&text, w as usize), w as usize, style);
            if c == Column::Name && e.snap.drift.is_some() {
                let nw = e.snap.name.width() as u16;
                if nw + 2 <= w {
                    put(buf, x + nw + 1, y, "*", 1, t.drift());
                }
            }
            x += w + SPACING;
        }
        if selected {
            // Keep the row readable: the selection style wins over cell colours in
            // monochrome, where reverse video is the only marker.
            if !t.colour {
                buf.set_style(
                    Rect {
                        y,
                        height: 1,
                        ..body
                    },
                    t.selected_row(focused),
                );
            }
        }
    }
}

/// First row shown, so the selection is visible (shared with mouse hit tests).
pub fn offset(model: &Model, height: usize) -> usize {
    let sel = model.containers.selected_index().unwrap_or(0);
    if height == 0 {
        0
    } else {
        (sel + 1).saturating_sub(height)
    }
}

/// The column under `x`, for click-to-sort.
pub fn column_at(model: &Model, table: Rect, x: u16) -> Option<Column> {
    let mut cx = table.x;
    for (c, w) in columns(model, table.width) {
        if x >= cx && x < cx + w + SPACING {
            return Some(c);
        }
        cx += w + SPACING;
    }
    None
}

/// The columns that fit in `width`, in table order, with their widths.
pub fn columns(model: &Model, width: u16) -> Vec<(Column, u16)> {
    let entries = model.containers.sorted();
    let natural = |c: Column| -> u16 {
        let head = c.title().width() + 1;
        let cells = entries
            .iter()
            .map(|e| {
                cell(model, e, c).0.width()
                    + usize::from(c == Column::Name && e.snap.drift.is_some()) * 2
            })
            .max()
            .unwrap_or(0);
        head.max(cells) as u16
    };
    let min = |c: Column| -> u16 {
        match c {
            Column::Ports => 8.min(natural(c)),
            Column::Image => 10.min(natural(c)),
            _ => natural(c),
        }
    };
    let mut chosen = Vec::new();
    let mut used = 0u16;
    for c in PRIORITY {
        let need = min(c) + if chosen.is_empty() { 0 } else { SPACING };
        if used + need <= width {
            used += need;
            chosen.push(c);
        }
    }
    let mut widths: Vec<(Column, u16)> = Column::ALL
        .iter()
        .filter(|c| chosen.contains(c))
        .map(|&c| (c, min(c)))
        .collect();
    // Spare room goes to the flexible columns, up to their natural width.
    let mut spare = width.saturating_sub(used);
    for (c, w) in widths.iter_mut() {
        if matches!(c, Column::Ports | Column::Image) {
            let extra = natural(*c).saturating_sub(*w).min(spare);
            *w += extra;
            spare -= extra;
        }
    }
    widths
}

/// A cell's text and style.
fn cell(model: &Model, e: &Entry, c: Column) -> (String, Style) {
    let t = &model.theme;
    let none = || ("-".to_owned(), t.dim());
    match c {
        Column::Name => (e.snap.name.clone(), t.bold()),
        Column::State => (e.snap.state.label(), t.state(e.snap.state)),
        Column::Health => match &e.snap.health {
            Some(h) => (h.status.label().to_owned(), t.health(h.status)),
            None => none(),
        },
        Column::Uptime => match e.uptime(model.now) {
            Some(d) => (format::duration(d), Style::new()),
            None => none(),
        },
        Column::Restarts => {
            let n = e.snap.restart_count;
            (n.to_string(), if n > 0 { t.warn() } else { t.dim() })
        }
        Column::Cpu => match (&e.stats, e.snap.state.is_up()) {
            (Some(s), true) => (format!("{:.1}%", s.cpu_percent), Style::new()),
            _ => none(),
        },
        Column::Mem => match (&e.stats, e.snap.state.is_up()) {
            (Some(s), true) => {
                let used = format::bytes(s.mem_usage);
                let text = match s.mem_limit {
                    Some(l) => format!("{used} / {}", format::bytes(l)),
                    None => used,
                };
                let near = s.mem_limit.is_some_and(|l| s.mem_usage * 10 >= l * 9);
                (text, if near { t.warn() } else { Style::new() })
            }
            _ => none(),
        },
        Column::Ports => {
            if e.snap.ports.is_empty() {
                none()
            } else {
                (format::ports_short(&e.snap.ports), Style::new())
            }
        }
        Column::Image => (e.snap.image.clone(), t.dim()),
    }
}
