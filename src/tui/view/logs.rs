//! The merged log: `web-1  | text` lines from every shown container in time order, as
//! `docker compose up` prints them, plus follow state, filter, search and hard wrapping.
//!
//! Only the window's lines are touched: the window is found by walking the merged stream
//! back from its bottom line, and each shown line's styles (its ANSI colours, search matches)
//! are resolved while drawing it.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::UnicodeWidthChar;

use crate::tui::format;
use crate::tui::model::logs::{StoredLine, from_nanos};
use crate::tui::model::{Focus, Model};
use crate::tui::view::layout::log_prefix_width;
use crate::tui::view::{panel, put, title};
use crate::tui::wrap;

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let t = &model.theme;
    let focused = model.focus == Focus::Logs;
    let vis = model.visible();
    let inner = panel(
        t,
        title_spans(model, &vis, focused),
        focused,
        false,
        area,
        buf,
    );
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    if model.logs.is_empty(&vis) {
        let msg = if model.logs.rings().is_empty() || model.view.filter.is_all() {
            "Waiting for log lines…"
        } else {
            "Every service with logs is hidden: press `a` to show all"
        };
        put(buf, inner.x, inner.y, msg, inner.width as usize, t.dim());
        return;
    }
    let prefix_w = log_prefix_width(model, &vis);
    let ts_w = if model.view.timestamps { 13 } else { 0 };
    let label_w = prefix_w - 3 - ts_w;
    let cols = (inner.width as usize).saturating_sub(prefix_w).max(1);
    let win = model
        .view
        .window(&model.logs, &vis, inner.height as usize, cols);
    let current = model.view.search.as_ref().and_then(|s| s.current);
    let mut skip = win.skip_rows;
    let mut y = inner.y;
    'lines: for (ring, line) in win.lines {
        let r = model.logs.ring(ring);
        let colour = t.container(r.colour);
        let segments = segments(model, line, Some(line.key) == current);
        for (i, row) in rows(model, line, cols).into_iter().enumerate() {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if y >= inner.bottom() {
                break 'lines;
            }
            let mut x = inner.x;
            if i == 0 {
                put(buf, x, y, &r.label, label_w, colour);
                x += label_w as u16;
                x += put(buf, x, y, " | ", 3, colour) as u16;
                if ts_w > 0 {
                    let ts = format::clock_millis(from_nanos(line.key.ts), model.tz);
                    x += put(buf, x, y, &ts, ts_w, t.dim()) as u16 + 1;
                }
            } else {
                x += label_w as u16;
                put(buf, x, y, " ┆ ", 3, t.dim());
                x += 3 + ts_w as u16;
            }
            draw_row(buf, x, y, &line.text, row, &segments, cols);
            y += 1;
        }
    }
}

fn title_spans<'a>(model: &'a Model, vis: &[usize], focused: bool) -> Vec<Span<'a>> {
    let t = &model.theme;
    let sep = || Span::styled(" · ", t.dim());
    let mut v = vec![title(t, "Logs", focused), sep()];
    if model.view.follow {
        v.push(Span::styled("following", t.ok()));
    } else {
        v.push(Span::styled("paused", t.warn()));
        if let Some(a) = model.view.anchor {
            let newer = model.logs.count_gt(vis, a);
            if newer > 0 {
                v.push(Span::styled(
                    format!(" ↓{} newer", format::thousands(newer as u64)),
                    t.warn(),
                ));
            }
        }
    }
    let f = &model.view.filter;
    if let Some(s) = &f.solo {
        v.push(sep());
        v.push(Span::styled(format!("only {s}"), t.warn()));
    } else if !f.hidden.is_empty() {
        v.push(sep());
        let names: Vec<&str> = f.hidden.iter().map(String::as_str).collect();
        v.push(Span::styled(
            format!("hiding {}", names.join(",")),
            t.warn(),
        ));
    }
    if let Some(s) = &model.view.search {
        v.push(sep());
        let n = model.logs.matches(vis);
        let count = match (n, s.current) {
            (0, _) => "no match".to_owned(),
            (n, Some(c))
                if model
                    .logs
                    .forward(vis, Some(c))
                    .next()
                    .is_some_and(|(_, l)| l.key == c) =>
            {
                format!(
                    "{} of {}",
                    model.logs.matches_le(vis, c),
                    format::thousands(n as u64)
                )
            }
            (n, _) => format!("{} matches", format::thousands(n as u64)),
        };
        v.push(Span::styled(format!("/{}/ {count}", s.pattern), t.key()));
    }
    if !model.view.wrap {
        v.push(sep());
        v.push(Span::styled("no wrap", t.dim()));
        if model.view.hscroll > 0 {
            v.push(Span::styled(format!(" →{}", model.view.hscroll), t.dim()));
        }
    }
    v
}

/// The byte ranges of the rows a line is drawn in.
fn rows(model: &Model, line: &StoredLine, cols: usize) -> Vec<Range<usize>> {
    if model.view.wrap {
        return wrap::rows(&line.text, line.is_wide(), cols);
    }
    // Not wrapping: one row, starting `hscroll` cells in.
    let text = &line.text;
    let skip = model.view.hscroll;
    let start = if !line.is_wide() {
        skip.min(text.len())
    } else {
        let mut w = 0;
        text.char_indices()
            .find(|(_, c)| {
                let hit = w >= skip;
                w += c.width().unwrap_or(0);
                hit
            })
            .map_or(text.len(), |(i, _)| i)
    };
    std::iter::once(start..text.len()).collect()
}

/// Styled ranges of a line: its own ANSI colours (when in colour), then search matches.
fn segments(model: &Model, line: &StoredLine, current: bool) -> Vec<(Range<usize>, Style)> {
    let t = &model.theme;
    let mut out: Vec<(Range<usize>, Style)> = Vec::new();
    if t.colour
        && let Some(styles) = &line.styles
    {
        out.extend(
            styles
                .iter()
                .map(|s| (s.start as usize..s.end as usize, s.style)),
        );
    }
    if line.is_match()
        && let Some(re) = model.logs.search()
    {
        let style = if current {
            t.current_match()
        } else {
            t.search_match()
        };
        // Matches override colours: split existing ranges around each match.
        for m in re.find_iter(&line.text).filter(|m| !m.is_empty()) {
            let r = m.range();
            let mut next = Vec::with_capacity(out.len() + 2);
            for (s, st) in out.drain(..) {
                if s.end <= r.start || s.start >= r.end {
                    next.push((s, st));
                    continue;
                }
                if s.start < r.start {
                    next.push((s.start..r.start, st));
                }
                if s.end > r.end {
                    next.push((r.end..s.end, st));
                }
            }
            next.push((r, style));
            out = next;
        }
        out.sort_by_key(|(r, _)| r.start);
    }
    out
}

/// Draw `text[row]` at (x, y) in at most `cols` cells, applying `segments`.
fn draw_row(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    text: &str,
    row: Range<usize>,
    segments: &[(Range<usize>, Style)],
    cols: usize,
) {
    let mut x = x;
    let mut left = cols;
    let mut pos = row.start;
    let mut emit = |from: usize, to: usize, style: Style, x: &mut u16, left: &mut usize| {
        if from < to && *left > 0 {
            let used = put(buf, *x, y, &text[from..to], *left, style);
            *x += used as u16;
            *left -= used;
        }
    };
    for (r, style) in segments {
        if r.end <= pos || r.start >= row.end {
            continue;
        }
        let s = r.start.max(pos);
        emit(pos, s, Style::new(), &mut x, &mut left);
        let e = r.end.min(row.end);
        emit(s, e, *style, &mut x, &mut left);
        pos = e;
    }
    emit(pos, row.end, Style::new(), &mut x, &mut left);
}

/// The shown stream (current filter, whole scrollback) as text, as `docker compose logs`
/// prints it (`-t` adds RFC 3339 timestamps). Returns the text and the line count.
pub fn export(model: &Model) -> (String, usize) {
    let vis = model.visible();
    let width = vis
        .iter()
        .map(|&i| model.logs.ring(i).label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut n = 0;
    for (ring, line) in model.logs.forward(&vis, None) {
        let label = &model.logs.ring(ring).label;
        out.push_str(&format!("{label:<width$} | "));
        if model.view.timestamps {
            let ts = from_nanos(line.key.ts).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
            out.push_str(&ts);
            out.push(' ');
        }
        out.push_str(&line.text);
        out.push('\n');
        n += 1;
    }
    (out, n)
}
